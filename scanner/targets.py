"""Targets: turn settings (TOML ``[[targets]]`` and env variables) into `Target` s for the plugins.

Env variables use the vendor-native names a plugin declares; ``NAME__<INSTANCE>`` declares more
instances of one platform (``SUPERSET_URL__FINANCE`` + ``SUPERSET_PASSWORD__FINANCE``).
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from scanner import secrets
from scanner.errors import ConfigError
from scanner.naming import check_service_name, instance_from_url, service_name, slug
from scanner.plugin import EnvVar, Plugin, ServiceMeta, Target
from scanner.registry import PluginEntry
from scanner.settings import ServiceDefaults, Settings, validate_model

log = logging.getLogger(__name__)

META_KEYS = ("platform", "instance", "name", "display_name", "description", "owners", "tags", "domains")
_SUFFIX_RE = re.compile(r"^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*$")


def select_plugins(entries: list[PluginEntry], wanted: list[str] | None) -> dict[str, Plugin]:
    """Enabled plugins, narrowed to `wanted` (``--platform``); unknown or disabled names are errors."""
    by_name = {e.name: e for e in entries}
    if not wanted:
        return {e.name: e.plugin for e in entries if e.plugin is not None}
    chosen: dict[str, Plugin] = {}
    for name in wanted:
        entry = by_name.get(name)
        if entry is None:
            raise ConfigError(f"unknown platform {name!r}", where="--platform", hint=_known(name, by_name))
        if entry.plugin is None:
            raise ConfigError(f"plugin {name!r} is disabled: {entry.error}", where="--platform", hint=entry.hint)
        chosen[name] = entry.plugin
    return chosen


def _known(name: str, names: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(names), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return "installed: " + (", ".join(sorted(names)) or "none")


def collect_targets(settings: Settings, entries: list[PluginEntry]) -> list[Target]:
    """Every target to probe, from the TOML and the environment, in a stable order."""
    plugins = select_plugins(entries, settings.scan.platforms)
    by_name = {e.name: e for e in entries}
    targets: list[Target] = []
    for raw in settings.targets:
        target = _toml_target(raw.values, raw.where, plugins, by_name, settings.service)
        if target is not None:
            targets.append(target)
    if settings.scan.env_discovery:
        declared = {(t.platform, t.url) for t in targets}
        for plugin in plugins.values():
            for target in _env_targets(plugin, settings):
                if (target.platform, target.url) in declared:
                    log.debug("%s: also declared in the TOML; the TOML target wins", target.origin)
                    continue
                targets.append(target)
    _check_unique(targets)
    return targets


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
    entries: Mapping[str, PluginEntry], defaults: ServiceDefaults,
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
    settings = validate_model(plugin.settings_model, fields, lambda loc: f"{where}.{loc[0]}")
    _register_secrets(settings)
    instance = values.get("instance")
    if instance is not None and (not isinstance(instance, str) or not slug(instance)):
        raise ConfigError("instance must be a non-empty name", where=f"{where}.instance")
    instance = slug(instance) if instance else instance_from_url(settings.url)
    name = values.get("name") or service_name(platform, instance)
    if not isinstance(name, str) or (problem := check_service_name(name)):
        raise ConfigError(problem or "name must be a string", where=f"{where}.name")
    return Target(
        platform=platform, instance=instance, service_name=name, settings=settings,
        sources={k: where for k in fields}, origin=where,
        service=_service_meta(values, defaults, where),
    )


def _env_targets(plugin: Plugin, settings: Settings) -> list[Target]:
    anchor = next((v for v in plugin.env_vars if v.field == "url"), None)
    if anchor is None:
        return []
    env = settings.env
    instances: dict[str, dict[str, tuple[EnvVar, str, str]]] = {}
    pattern = re.compile(rf"^{re.escape(anchor.name)}(?:__(.*))?$")
    for key in sorted(env):
        match = pattern.match(key)
        if not match or not env[key].strip():
            continue
        suffix = match.group(1)
        if suffix is not None and not _SUFFIX_RE.match(suffix):
            raise ConfigError(
                f"bad instance suffix {suffix!r}", where=settings.env_source(key),
                hint="use letters, digits and single underscores, e.g. SUPERSET_URL__FINANCE",
            )
        instances[suffix or ""] = {}
    for var in plugin.env_vars:
        pattern = re.compile(rf"^{re.escape(var.name)}(?:__(.*))?$")
        for key in env:
            match = pattern.match(key)
            if not match:
                continue
            suffix = match.group(1) or ""
            if suffix not in instances:
                if var is anchor:
                    continue  # set but empty: not an instance
                if not suffix:  # e.g. LOOKERSDK_CLIENT_ID kept for a TOML ${...} reference or another tool
                    log.warning("%s is set but %s is not: no %s target from the environment",
                                key, anchor.name, plugin.name)
                    continue
                raise ConfigError(
                    f"{key} is set but {anchor.name}{'__' + suffix if suffix else ''} is not",
                    where=settings.env_source(key), hint="every instance needs its URL",
                )
            value = env[key]
            if var.secret and value == "":
                raise ConfigError(f"{key} is set but empty", where=settings.env_source(key))
            if value.strip() == "":
                continue
            instances[suffix][var.field] = (var, key, value if var.secret else value.strip())
    targets = []
    for suffix, found in sorted(instances.items()):
        values = {fld: value for fld, (_, _, value) in found.items()}
        sources = {fld: settings.env_source(key) for fld, (_, key, _) in found.items()}
        where_url = sources["url"]
        target_settings = validate_model(
            plugin.settings_model, values,
            lambda loc, s=sources, w=where_url: s.get(str(loc[0]), w),
        )
        _register_secrets(target_settings)
        instance = slug(suffix) if suffix else instance_from_url(target_settings.url)
        name = service_name(plugin.name, instance)
        if problem := check_service_name(name):
            raise ConfigError(problem, where=where_url)
        targets.append(Target(
            platform=plugin.name, instance=instance, service_name=name, settings=target_settings,
            sources=sources, origin=where_url, service=_service_meta({}, settings.service, "[service]"),
        ))
    return targets


def _register_secrets(model: Any) -> None:
    for key in type(model).model_fields:
        value = getattr(model, key)
        if isinstance(value, SecretStr):
            secrets.register(value)


def _check_unique(targets: list[Target]) -> None:
    seen: dict[str, Target] = {}
    for target in targets:
        other = seen.get(target.service_name)
        if other is not None:
            raise ConfigError(
                f"service name {target.service_name!r} is also used by {other.origin}",
                where=target.origin, hint="give one of them its own 'name' or 'instance'",
            )
        seen[target.service_name] = target
