"""Drift: what changed since the last run, as events. Pure functions over plain records.

``new``        a target scanner had never seen
``changed``    a known target whose version, status, URL or connection config differs
``gone``       a known target missing from ``gone_after`` consecutive runs that covered its platform
``recovered``  a target that was ``gone`` and is found again

A target counts as *seen* when discovery finds it (its variables or its TOML entry), whatever its
probe status: an instance that stops answering stays known, with status ``unreachable``. Only runs
that covered a platform count towards the absence of that platform's targets (``--platform looker``
says nothing about Tableau).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COMPARED = ("version", "status", "url", "config")


@dataclass(frozen=True)
class Observation:
    """What one run saw of one target (no secret: the config is only a keyed hash)."""

    service_name: str
    platform: str
    url: str
    status: str
    version: str | None
    config_hash: str | None  # None when no config was built (the probe failed)


@dataclass
class Known:
    """The inventory's current view of a target."""

    service_name: str
    platform: str
    url: str
    status: str
    version: str | None
    config_hash: str | None
    state: str = "present"  # present | gone
    missing_runs: int = 0


@dataclass(frozen=True)
class Event:
    service_name: str
    kind: str  # new | changed | gone | recovered
    detail: dict[str, Any] = field(default_factory=dict)


def compare(known: Known, seen: Observation) -> dict[str, Any]:
    """Fields that differ, as ``{field: [old, new]}`` (``config: True``). A config not built this time
    (failed probe) is not a change, nor is a version the probe did not get to read."""
    pairs = {
        "version": (known.version, seen.version),
        "status": (known.status, seen.status),
        "url": (known.url, seen.url),
        "config": (known.config_hash, seen.config_hash),
    }
    changed: dict[str, Any] = {}
    for name, (old, new) in pairs.items():
        if name == "config" and (old is None or new is None):
            continue
        if name == "version" and new is None:  # a failed probe learns no version: not a change
            continue
        if old != new:
            changed[name] = True if name == "config" else [old, new]  # a hash says nothing to a reader
    return changed


def diff(
    known: dict[str, Known],
    observations: list[Observation],
    platforms_in_scope: set[str],
    gone_after: int,
) -> tuple[list[Event], dict[str, Known]]:
    """Events of this run, and the new known state (a copy; `known` is not modified)."""
    state = {name: Known(**vars(k)) for name, k in known.items()}
    events: list[Event] = []
    seen_names = set()
    for seen in observations:
        seen_names.add(seen.service_name)
        before = state.get(seen.service_name)
        if before is None:
            events.append(Event(seen.service_name, "new", {"status": seen.status, "version": seen.version}))
        elif before.state == "gone":
            events.append(Event(seen.service_name, "recovered", {"missing_runs": before.missing_runs}))
        else:
            changes = compare(before, seen)
            if changes:
                events.append(Event(seen.service_name, "changed", changes))
        config = seen.config_hash if seen.config_hash is not None else (before.config_hash if before else None)
        version = seen.version if seen.version is not None else (before.version if before else None)
        state[seen.service_name] = Known(
            seen.service_name, seen.platform, seen.url, seen.status, version, config, "present", 0,
        )
    for name, entry in state.items():
        if name in seen_names or entry.state == "gone" or entry.platform not in platforms_in_scope:
            continue
        entry.missing_runs += 1
        if entry.missing_runs >= gone_after:
            entry.state = "gone"
            events.append(Event(name, "gone", {"missing_runs": entry.missing_runs}))
    return events, state
