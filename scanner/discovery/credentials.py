"""Credentials for instances nobody declared: which credential applies to an identified instance.

Two kinds, per platform:

* ``[[credentials]]`` tables in the TOML: ``platform``, ``hosts`` (host-name patterns such as ``*.corp`` or
  ``bi-??.internal``, addresses, or CIDR ranges such as ``10.1.0.0/16``) and the platform's credential keys, as in
  a ``[[targets]]`` table without ``url`` (``${VAR}`` for secrets);
* a platform's variables set without its URL (``SUPERSET_USERNAME`` and ``SUPERSET_PASSWORD`` alone): they apply to
  every identified instance of that platform.

The first ``[[credentials]]`` table that matches wins, then the variables. An identified instance with none is
found, not registered; `what_to_set` says exactly what would register it.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scanner.errors import ConfigError
from scanner.plugin import Plugin
from scanner.settings import _did_you_mean

META = ("platform", "hosts")


@dataclass(frozen=True)
class CredentialSet:
    """Credential keys of one platform and the hosts they apply to."""

    platform: str
    hosts: tuple[str, ...]
    values: Mapping[str, Any] = field(repr=False)  # settings fields, secrets included: never show them
    origin: str = ""                                # "config.toml:[[credentials]]#1" or "env:SUPERSET_USERNAME"
    sources: Mapping[str, str] = field(default_factory=dict)  # field -> where it was set

    def covers(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(_host_matches(host, pattern) for pattern in self.hosts)


def _host_matches(host: str, pattern: str) -> bool:
    pattern = pattern.strip().lower()
    if "/" in pattern:
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            return False
    return fnmatch.fnmatchcase(host, pattern)


def from_toml(raw: Sequence[Any], plugins: Mapping[str, Plugin]) -> tuple[list[CredentialSet], list[ConfigError]]:
    """The usable ``[[credentials]]`` tables, and one error per unusable one (the others still apply)."""
    sets, errors = [], []
    for entry in raw:
        where = entry.where
        try:
            if entry.error is not None:
                raise entry.error
            values = dict(entry.values)
            platform = values.get("platform")
            if not isinstance(platform, str) or platform.lower() not in plugins:
                close = _did_you_mean(platform, plugins) if isinstance(platform, str) else None
                raise ConfigError(f"unknown or missing platform {platform!r}", where=f"{where}.platform",
                                  hint=close or "one of: " + ", ".join(sorted(plugins)))
            hosts = values.get("hosts")
            if isinstance(hosts, str):
                hosts = [hosts]
            if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) and h.strip() for h in hosts):
                raise ConfigError("hosts must be a list of host patterns or CIDR ranges", where=f"{where}.hosts",
                                  hint='e.g. hosts = ["*.corp.example.com", "10.1.0.0/16"]')
            for pattern in hosts:
                if "/" in pattern:
                    try:
                        ipaddress.ip_network(pattern.strip(), strict=False)
                    except ValueError:
                        raise ConfigError(f"{pattern!r} is not a CIDR range", where=f"{where}.hosts") from None
            keys = {k: v for k, v in values.items() if k not in META}
            if "url" in keys:
                raise ConfigError("a [[credentials]] table has no url: it applies to the hosts it names",
                                  where=f"{where}.url", hint="declare a fixed instance as a [[targets]] table instead")
            fields = [f for f in plugins[platform.lower()].settings_model.model_fields if f != "url"]
            unknown = [k for k in keys if k not in fields]
            if unknown:
                raise ConfigError(f"unknown key {unknown[0]!r}", where=f"{where}.{unknown[0]}",
                                  hint=_did_you_mean(unknown[0], [*META, *fields]))
            sets.append(CredentialSet(platform.lower(), tuple(h.strip() for h in hosts), keys, where,
                                      dict.fromkeys(keys, where)))
        except ConfigError as exc:
            errors.append(exc)
    return sets, errors


def from_environment(plugins: Mapping[str, Plugin], env: Mapping[str, str],
                     env_source: Any = lambda name: f"env:{name}") -> list[CredentialSet]:
    """Per platform, its variables set without the one that declares an instance (e.g. the URL): a credential for
    every identified instance of that platform."""
    sets = []
    for name, plugin in plugins.items():
        anchor = (next((v for v in plugin.env_vars if v.anchor), None)
                  or next((v for v in plugin.env_vars if v.field == "url"), None))
        if anchor is None or (env.get(anchor.name) or "").strip():
            continue  # no environment at all, or the variables belong to the declared instance
        values, sources = {}, {}
        for var in plugin.env_vars:
            if var is anchor or var.field == "url":
                continue
            value = env.get(var.name)
            if value is not None and value.strip():
                values[var.field] = value if var.secret else value.strip()
                sources[var.field] = env_source(var.name)
        if any(var.secret and var.field in values for var in plugin.env_vars):
            first = next(iter(sources.values()))
            sets.append(CredentialSet(name, ("*",), values, first, sources))
    return sets


def match(platform: str, url: str, sets: Sequence[CredentialSet]) -> CredentialSet | None:
    """The credential for an instance of `platform` at `url`: the first set of that platform covering its host."""
    return next((s for s in sets if s.platform == platform and s.covers(url)), None)


def what_to_set(plugin: Plugin, url: str) -> str:
    """The exact variables, or the TOML table, that would register an identified instance. A settings model with
    alternative credentials (``credential_forms``, e.g. Metabase's API key, or username and password) gets each
    form offered on its own, never a mix of them."""
    host = urlsplit(url).hostname or "*"
    fields = plugin.settings_model.model_fields
    forms = [tuple(form) for form in getattr(plugin.settings_model, "credential_forms", ()) if form]
    if not forms:
        forms = [tuple(f for f, info in fields.items() if info.is_required() and f != "url")
                 or tuple(v.field for v in plugin.env_vars if v.secret)]
    by_field = {v.field: v.name for v in plugin.env_vars}
    together = ", " if len(forms) == 1 else " + "
    variables = ", or ".join(together.join(by_field.get(f, f) for f in form) for form in forms)
    keys = ["; ".join(f'{f} = "${{{by_field.get(f, f.upper())}}}"' for f in form) for form in forms]
    lines = keys[0] + "".join(f" (or instead: {other})" for other in keys[1:])
    return (f"set {variables} (for every {plugin.title} found), or add [[credentials]] "
            f'platform = "{plugin.name}"; hosts = ["{host}"]; {lines}')
