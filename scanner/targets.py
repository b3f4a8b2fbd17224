"""Targets: turn settings (TOML ``[[targets]]`` and env variables) into `Target` s for the plugins.

Env variables use the vendor-native names a plugin declares; ``NAME__<INSTANCE>`` declares more
instances of one platform (``SUPERSET_URL__FINANCE`` + ``SUPERSET_PASSWORD__FINANCE``).

One target whose settings are invalid (a bad key or value in one ``[[targets]]`` entry or one env instance)
does not stop the run: `collect` returns it as a `Rejected` entry, reported as a failed target and never
probed or registered, while the others are scanned.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr, ValidationError

from scanner import secrets
from scanner.errors import ConfigError
from scanner.naming import check_service_name, instance_from_url, service_name, slug
from scanner.plugin import EnvVar, Plugin, ServiceMeta, Target
from scanner.registry import PluginEntry
from scanner.settings import ServiceDefaults, Settings, check_toml_bools, config_error_from, validate_model
from scanner.urls import normalize_base_url

if TYPE_CHECKING:
    from scanner.plan import PlanItem

log = logging.getLogger(__name__)

META_KEYS = ("platform", "instance", "name", "display_name", "description", "owners", "tags", "domains")
_SUFFIX_RE = re.compile(r"^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*$")


def select_plugins(entries: list[PluginEntry], wanted: list[str] | None,
                   where: str = "--platform") -> dict[str, Plugin]:
    """Enabled plugins, narrowed to `wanted` (``--platform``, ``SCANNER_PLATFORMS`` or ``[scan] platforms``, named
    by `where` in errors); unknown or disabled names are errors."""
    by_name = {e.name: e for e in entries}
    if not wanted:
        return {e.name: e.plugin for e in entries if e.plugin is not None}
    chosen: dict[str, Plugin] = {}
    for name in wanted:
        entry = by_name.get(name)
        if entry is None:
            raise ConfigError(f"unknown platform {name!r}", where=where, hint=_known(name, by_name))
        if entry.plugin is None:
            raise ConfigError(f"plugin {name!r} is disabled: {entry.error}", where=where, hint=entry.hint)
        chosen[name] = entry.plugin
    return chosen


def _known(name: str, names: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(names), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return "installed: " + (", ".join(sorted(names)) or "none")


@dataclass(frozen=True)
class Rejected:
    """A declared target whose settings are invalid: reported as a failed target, never probed or registered."""

    platform: str
    service_name: str  # the name it would have had, or its origin when that cannot be known
    origin: str        # "config.toml:[[targets]]#2", "env:SUPERSET_URL__FINANCE"
    error: ConfigError
    instance: str = ""
    url: str = ""


def collect_targets(settings: Settings, entries: list[PluginEntry]) -> list[Target]:
    """Every target to probe, from the TOML and the environment, in a stable order.
    Raises the first invalid target's ConfigError (`collect` reports it and keeps the others)."""
    found = collect(settings, entries)
    for entry in found:
        if isinstance(entry, Rejected):
            raise entry.error
    return [t for t in found if isinstance(t, Target)]


def collect(settings: Settings, entries: list[PluginEntry]) -> list[Target | Rejected]:
    """Every declared target, from the TOML and the environment, in a stable order; an invalid one is a
    `Rejected`. Raises ConfigError only for what stops the whole run (e.g. an unknown ``--platform``)."""
    plugins = select_plugins(entries, settings.scan.platforms, settings.where("scan.platforms", "--platform"))
    by_name = {e.name: e for e in entries}
    found: list[Target | Rejected] = []
    for raw in settings.targets:
        try:
            if raw.error is not None:
                raise raw.error
            target = _toml_target(raw.values, raw.where, plugins, by_name, settings.service, raw.templated)
        except ConfigError as exc:
            platform = raw.values.get("platform")
            if isinstance(platform, str) and platform.lower() in by_name and platform.lower() not in plugins \
                    and by_name[platform.lower()].plugin is not None:
                continue  # a platform not selected with --platform
            found.append(_rejected_toml(raw.values, raw.where, exc))
            continue
        if target is not None:
            found.append(target)
    if settings.scan.env_discovery:
        declared = {(t.platform, t.url) for t in found if isinstance(t, Target)}
        for plugin in plugins.values():
            for target in _env_targets(plugin, settings):
                if isinstance(target, Target) and (target.platform, target.url) in declared:
                    log.debug("%s: also declared in the TOML; the TOML target wins", target.origin)
                    continue
                found.append(target)
    found = _check_unique(found)
    _check_adopt(settings, found)
    return found


def _check_adopt(settings: Settings, found: list[Target | Rejected]) -> None:
    """A warning for each ``--adopt`` name that no declared target has (a typo would adopt nothing). With
    ``[discovery]`` the found instances' names are not known yet: not checked."""
    if not settings.scan.adopt or settings.discovery:
        return
    names = {entry.service_name for entry in found}
    where = settings.where("scan.adopt", "--adopt")
    for name in settings.scan.adopt:
        if name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1)
            log.warning("%s: %r is not the service name of any target of this run, so nothing is adopted under that "
                        "name%s", where, name, f" (did you mean {close[0]!r}?)" if close else "")


def rejected_item(rejected: Rejected) -> PlanItem:
    """The report entry of an invalid target: status error, its one-line message, not probed, not registered."""
    from scanner.plan import Action, PlanItem
    from scanner.plugin import ProbeResult, Status, TargetSettings

    target = Target(
        platform=rejected.platform, instance=rejected.instance, service_name=rejected.service_name,
        settings=TargetSettings.model_construct(url=rejected.url), sources={}, origin=rejected.origin,
    )
    message = f"invalid settings: {rejected.error}"
    probe = ProbeResult(status=Status.ERROR, steps=[], canonical_url=rejected.url or None, message=message,
                        hint="fix this target's settings (the other targets were scanned)")
    return PlanItem(target, probe, Action.SKIP, reason=f"not probed: {message}", taken="skipped")


def _rejected_toml(values: Mapping[str, Any], where: str, error: ConfigError) -> Rejected:
    """A `Rejected` for a ``[[targets]]`` entry, named as it would have been when that can still be told."""
    platform = values.get("platform")
    platform = platform.lower() if isinstance(platform, str) and platform.strip() else "?"
    url = _url_or_empty(values.get("url"))
    instance = values.get("instance")
    instance = slug(instance) if isinstance(instance, str) and slug(instance) else (
        instance_from_url(url) if url else "")
    name = values.get("name")
    if not (isinstance(name, str) and not check_service_name(name)):
        name = service_name(platform, instance) if platform != "?" and instance else where
    return Rejected(platform=platform, service_name=name, origin=where, error=error, instance=instance, url=url)


def _url_or_empty(value: Any) -> str:
    try:
        return normalize_base_url(value) if isinstance(value, str) else ""
    except ValueError:
        return ""


def _service_meta(values: Mapping[str, Any], defaults: ServiceDefaults, where: str) -> ServiceMeta:
    merged = validate_model(
        ServiceDefaults,
        {k: values.get(k, getattr(defaults, k)) for k in ("description", "owners", "tags", "domains")},
        lambda loc: f"{where}.{loc[0]}",
    )
    display = values.get("display_name")
    if display is not None and not isinstance(display, str):
        raise ConfigError("display_name must be a string", where=f"{where}.display_name")
    return ServiceMeta(
        display_name=display, description=merged.description,
        owners=tuple(merged.owners), tags=tuple(merged.tags), domains=tuple(merged.domains),
    )


def _toml_target(
    values: dict[str, Any], where: str, plugins: Mapping[str, Plugin],
    entries: Mapping[str, PluginEntry], defaults: ServiceDefaults, templated: frozenset[str] = frozenset(),
) -> Target | None:
    platform = values.get("platform")
    if not isinstance(platform, str) or not platform:
        raise ConfigError("missing 'platform' (e.g. platform = \"superset\")", where=where)
    platform = platform.lower()
    if platform not in entries:
        raise ConfigError(f"unknown platform {platform!r}", where=f"{where}.platform", hint=_known(platform, entries))
    if entries[platform].plugin is None:
        entry = entries[platform]
        raise ConfigError(f"plugin {platform!r} is disabled: {entry.error}", where=f"{where}.platform", hint=entry.hint)
    plugin = plugins.get(platform)
    if plugin is None:  # not selected with --platform
        return None
    fields = {k: v for k, v in values.items() if k not in META_KEYS}
    if "url" in fields:
        fields["url"] = typed_base(plugin, fields["url"])
    check_toml_bools(plugin.settings_model, {k: v for k, v in fields.items() if k not in templated},
                     lambda loc: f"{where}.{loc[0]}")
    settings = validate_model(plugin.settings_model, fields, lambda loc: f"{where}.{loc[0]}", known=META_KEYS)
    _register_secrets(settings)
    instance = values.get("instance")
    if instance is not None and (not isinstance(instance, str) or not slug(instance)):
        raise ConfigError("instance must be a non-empty name", where=f"{where}.instance")
    instance = slug(instance) if instance else default_instance(plugin, settings)
    name = values.get("name") or service_name(platform, instance)
    if not isinstance(name, str) or (problem := check_service_name(name)):
        raise ConfigError(problem or "name must be a string", where=f"{where}.name")
    return Target(
        platform=platform, instance=instance, service_name=name, settings=settings,
        sources={k: where for k in fields}, origin=where,
        service=_service_meta(values, defaults, where),
    )


def default_instance(plugin: Plugin, settings: Any) -> str:
    """The instance name of a target declared without one: the plugin's `Plugin.instance_name`, else the URL's."""
    try:
        named = plugin.instance_name(settings)
    except Exception as exc:  # a plugin bug must not stop the run: name it from the URL
        log.debug("%s: instance_name() failed: %s", plugin.name, type(exc).__name__)
        named = None
    return slug(named) if isinstance(named, str) and slug(named) else instance_from_url(settings.url)


def _env_targets(plugin: Plugin, settings: Settings) -> list[Target | Rejected]:
    anchor = (next((v for v in plugin.env_vars if v.anchor), None)
              or next((v for v in plugin.env_vars if v.field == "url"), None))
    if anchor is None:
        return []
    env = settings.env
    instances: dict[str, dict[str, tuple[EnvVar, str, str]]] = {}
    problems: dict[str, tuple[str, ConfigError]] = {}  # suffix -> (origin, what is wrong): that instance only
    blank: dict[str, dict[str, str]] = {}  # suffix -> field -> variable set to blank (named if the field is missing)
    pattern = re.compile(rf"^{re.escape(anchor.name)}(?:__(.*))?$")
    for key in sorted(env):
        match = pattern.match(key)
        if not match or not env[key].strip():
            continue
        suffix = match.group(1)
        if suffix is not None and not _SUFFIX_RE.match(suffix):
            problems[suffix] = (settings.env_source(key), ConfigError(
                f"bad instance suffix {suffix!r}", where=settings.env_source(key),
                hint="use letters, digits and single underscores, e.g. SUPERSET_URL__FINANCE",
            ))
            continue
        instances[suffix or ""] = {}
    for var in plugin.env_vars:
        pattern = re.compile(rf"^{re.escape(var.name)}(?:__(.*))?$")
        for key in sorted(env):
            match = pattern.match(key)
            if not match:
                continue
            suffix = match.group(1) or ""
            if suffix in problems:
                continue
            if suffix not in instances:
                if var is anchor:
                    continue  # set but empty: not an instance
                if not suffix:  # e.g. LOOKERSDK_CLIENT_ID kept for a TOML ${...} reference or another tool
                    _lone_variable(settings, key, anchor.name, plugin.name)
                    continue
                problems[suffix] = (settings.env_source(key), ConfigError(
                    f"{key} is set but {anchor.name}__{suffix} is not",
                    where=settings.env_source(key), hint=f"every instance needs its {anchor.name}",
                ))
                continue
            value = env[key]
            if value.strip() == "":
                if var.secret:  # a blank secret is a mistake, never "not set"
                    problems[suffix] = (settings.env_source(key), _set_but_empty(settings, key, var.field))
                else:
                    blank.setdefault(suffix, {})[var.field] = key
                continue
            instances[suffix][var.field] = (var, key, value if var.secret else value.strip())
    targets: list[Target | Rejected] = []
    for suffix in sorted({*instances, *problems}):
        found = instances.get(suffix, {})
        url = _url_or_empty(typed_base(plugin, found["url"][2])) if "url" in found else ""
        valid_suffix = bool(_SUFFIX_RE.match(suffix)) if suffix else True
        instance = slug(suffix) if suffix and valid_suffix else (instance_from_url(url) if url else "")
        if suffix in problems:
            origin, error = problems[suffix]
            name = service_name(plugin.name, instance) if instance else origin
            targets.append(Rejected(plugin.name, name, origin, error, instance=instance, url=url))
            continue
        values = {fld: value for fld, (_, _, value) in found.items()}
        if "url" in values:
            values["url"] = typed_base(plugin, values["url"])
        sources = {fld: settings.env_source(key) for fld, (_, key, _) in found.items()}
        where_url = sources.get("url") or sources[anchor.field]  # the anchor: where the instance was declared
        try:
            try:
                target_settings = plugin.settings_model.model_validate(values)
            except ValidationError as exc:
                raise _env_error(exc, plugin, suffix, sources, where_url, blank.get(suffix, {}), settings) from None
            instance = slug(suffix) if suffix else default_instance(plugin, target_settings)
            name = service_name(plugin.name, instance)
            if problem := check_service_name(name):
                raise ConfigError(problem, where=where_url)
        except ConfigError as exc:
            name = service_name(plugin.name, instance) if instance else where_url
            targets.append(Rejected(plugin.name, name, where_url, exc, instance=instance, url=url))
            continue
        _register_secrets(target_settings)
        targets.append(Target(
            platform=plugin.name, instance=instance, service_name=name, settings=target_settings,
            sources=sources, origin=where_url, service=_service_meta({}, settings.service, "[service]"),
        ))
    return targets


def _lone_variable(settings: Settings, key: str, anchor: str, platform: str) -> None:
    """A platform's variable set without the one that declares an instance: silent when the TOML names it as
    ``${VAR}`` (that is what it is for), info with ``[discovery]`` (a credential for the instances found), else a
    warning (a forgotten URL, or a typo in its name)."""
    if key in settings.toml_references:
        return
    if settings.discovery:
        log.info("%s is set without %s: used as a credential for the %s instances [discovery] finds",
                 key, anchor, platform)
        return
    log.warning("%s is set but %s is not: no %s target from the environment (with [discovery], it would be a "
                "credential for the instances found)", key, anchor, platform)


def _set_but_empty(settings: Settings, key: str, field: str) -> ConfigError:
    """``KEY is set but empty (TOML key)``, naming the ``${VAR}`` of the .env that made it so, if any."""
    message = f"{key} is set but empty (TOML {field})"
    unset = settings.env_unset.get(key)
    if unset:
        return ConfigError(f"{message}: its value ${{{unset[0]}}} is not set", where=settings.env_source(key),
                           hint="export it or add it to .env")
    return ConfigError(message, where=settings.env_source(key))


def _env_error(exc: ValidationError, plugin: Plugin, suffix: str, sources: Mapping[str, str], where_url: str,
               blank: Mapping[str, str], settings: Settings) -> ConfigError:
    """The ConfigError of an env instance's invalid settings, in the user's terms: a missing key is named as the
    variable to set (``SUPERSET_USERNAME__FINANCE``, the TOML key in parentheses), a variable set to blank as
    such, and a plugin's message that names its variables names them with this instance's suffix."""
    tail = f"__{suffix}" if suffix else ""
    variables = {v.field: v.name for v in plugin.env_vars}
    errors = exc.errors(include_url=False, include_input=False)
    missing = [str(e["loc"][0]) for e in errors if e.get("type") == "missing" and e.get("loc")]
    if errors and errors[0].get("type") == "missing" and all(f in variables for f in missing):
        empty = next((f for f in missing if f in blank), None)
        if empty:
            return _set_but_empty(settings, blank[empty], empty)
        names = [variables[f] + tail for f in missing]
        said = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        return ConfigError(f"missing {said} (TOML {', '.join(missing)})", where=where_url)
    error = config_error_from(exc, plugin.settings_model, lambda loc: sources.get(str(loc[0]), where_url))
    if not tail or not variables:
        return error
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, variables.values()), key=len, reverse=True)) +
                         r")\b")
    return ConfigError(pattern.sub(rf"\1{tail}", error.message), where=error.where,
                       hint=pattern.sub(rf"\1{tail}", error.hint) if error.hint else None)


def typed_base(plugin: Plugin, value: Any) -> Any:
    """The plugin's base URL for a URL as typed (`Plugin.base_url`: a page URL copied from the browser is cut to
    the instance's base), so the default name comes from the base; anything else, or a hook that fails, is
    left as typed for validation to report."""
    if not isinstance(value, str):
        return value
    try:
        base = plugin.base_url(value)
    except Exception as exc:  # a plugin bug must not stop the run: validate what was typed
        log.debug("%s: base_url() failed: %s", plugin.name, type(exc).__name__)
        return value
    return base if isinstance(base, str) and base.strip() else value


def _register_secrets(model: Any) -> None:
    for key in type(model).model_fields:
        value = getattr(model, key)
        if isinstance(value, SecretStr):
            secrets.register(value)


def _check_unique(found: list[Target | Rejected]) -> list[Target | Rejected]:
    """A service name used twice: the later target is rejected (the first keeps it)."""
    seen: dict[str, Target | Rejected] = {}
    out: list[Target | Rejected] = []
    for entry in found:
        other = seen.get(entry.service_name)
        if other is not None and isinstance(entry, Target):
            entry = Rejected(entry.platform, entry.service_name, entry.origin, ConfigError(
                f"service name {entry.service_name!r} is also used by {other.origin}",
                where=entry.origin, hint="give one of them its own 'name' or 'instance'",
            ), instance=entry.instance, url=entry.url)
        seen.setdefault(entry.service_name, entry)
        out.append(entry)
    return out


def with_rejected(result: Any, found: list[Target | Rejected]) -> set[int]:
    """Put a report entry for each rejected target into `result.items` (a RunResult), in declaration order;
    returns the ids of those entries (they are not observations of an instance: the inventory skips them)."""
    by_origin: dict[str, list[PlanItem]] = {}  # a target's items (several for an instance split in parts)
    for item in result.items:
        by_origin.setdefault(item.target.origin, []).append(item)
    items: list[PlanItem] = []
    added: set[int] = set()
    for entry in found:
        if isinstance(entry, Rejected):
            item = rejected_item(entry)
            added.add(id(item))
            items.append(item)
        else:
            items.extend(by_origin.pop(entry.origin, []))
    result.items[:] = [*items, *(i for rest in by_origin.values() for i in rest)]
    return added
