"""Plugin registry: finds plugins through the ``scanner.plugins`` entry-point group.

A plugin that fails to import, or that does not honour the contract, is listed as disabled with
the reason and a hint; it never crashes the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from scanner.plugin import Plugin
from scanner.secrets import clip

GROUP = "scanner.plugins"
SOURCES_GROUP = "scanner.sources"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class PluginEntry:
    name: str
    source: str                   # "scanner_custom:plugin (bi-scanner 0.1.0)"
    plugin: Plugin | None = None
    error: str | None = None      # why it is disabled
    hint: str | None = None

    @property
    def enabled(self) -> bool:
        return self.plugin is not None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return clip(lines[0], 200) if lines else type(exc).__name__


def _describe(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    owner = f" ({dist.name} {dist.version})" if dist is not None else ""
    return f"{ep.value}{owner}"


@dataclass
class SourceEntry:
    name: str
    origin: str                    # "scanner.discovery.run:sweep (bi-scanner 0.1.0)"
    source: Any = None             # a scanner.discovery.source.Source
    error: str | None = None
    hint: str | None = None

    @property
    def enabled(self) -> bool:
        return self.source is not None


def _instance(ep: EntryPoint, base: type, kind: str) -> tuple[Any, str | None, str | None]:
    """The object an entry point names, as an instance of `base` (a subclass is instantiated), or why not and a
    hint. A broken plugin or source must not take the run down: every failure is data."""
    try:
        obj = ep.load()
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        return None, f"import failed: {_first_line(exc)}", (f"pip install {missing}" if missing
                                                               else f"reinstall the {kind}'s package")
    except Exception as exc:
        return None, f"import failed: {type(exc).__name__}: {_first_line(exc)}", f"report this to the {kind}'s authors"
    if isinstance(obj, type) and issubclass(obj, base):
        try:
            obj = obj()
        except Exception as exc:
            return None, f"could not be created: {type(exc).__name__}: {_first_line(exc)}", None
    if not isinstance(obj, base):
        return (None, f"{ep.value} is a {type(obj).__name__}, not a {base.__module__}.{base.__qualname__}",
                f"the entry point must name a {base.__qualname__} instance or subclass")
    return obj, None, None


def _load_source(ep: EntryPoint) -> SourceEntry:
    """A discovery source from its entry point; one that fails to import or is no Source is disabled, with why."""
    from scanner.discovery.source import Source

    entry = SourceEntry(name=ep.name, origin=_describe(ep))
    obj, entry.error, entry.hint = _instance(ep, Source, "source")
    if obj is None:
        return entry
    if getattr(obj, "name", None) != ep.name or not _NAME_RE.match(ep.name):
        entry.error = f"source name {getattr(obj, 'name', None)!r} must match its entry point {ep.name!r}"
        return entry
    entry.source = obj
    return entry


def discover_sources() -> list[SourceEntry]:
    """Every installed discovery source, enabled or not, sorted by name (duplicates: first one wins)."""
    seen: dict[str, SourceEntry] = {}
    for ep in sorted(entry_points(group=SOURCES_GROUP), key=lambda e: e.name):
        seen.setdefault(ep.name, _load_source(ep))
    return list(seen.values())


def _load(ep: EntryPoint) -> PluginEntry:
    entry = PluginEntry(name=ep.name, source=_describe(ep))
    obj, entry.error, entry.hint = _instance(ep, Plugin, "plugin")
    if obj is None:
        return entry
    for attr in ("name", "title", "service_type"):
        if not isinstance(getattr(obj, attr, None), str):
            entry.error = f"plugin does not declare {attr!r}"
            return entry
    if obj.name != ep.name or not _NAME_RE.match(obj.name):
        entry.error = f"plugin name {obj.name!r} must match its entry point {ep.name!r} and be [a-z0-9_]"
        return entry
    entry.plugin = obj
    return entry


def discover() -> list[PluginEntry]:
    """Every installed plugin, enabled or not, sorted by name (duplicates: first one wins)."""
    seen: dict[str, PluginEntry] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if ep.name in seen:
            continue
        seen[ep.name] = _load(ep)
    return list(seen.values())
