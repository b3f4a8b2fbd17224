"""Identify a candidate address without credentials: which platform answers there, and its version.

A plugin is identifiable when its steps have a ``Fingerprint`` (or ``ServerInfo``) step: identification runs its
steps up to that one (``Reach`` and the fingerprint, which send no credential) through scanner's own probe runner,
on a target that holds only the URL. Plugins are tried in this order: the source's hint, then the plugins that list
the candidate's port in `Plugin.ports`, then the others; the first whose fingerprint passes names the address.

TLS certificates are not verified during identification (nothing secret is sent, and an internal instance's
private CA is the rule rather than the exception); the later probe, which sends the credential, verifies as the
target's settings say. A candidate given as ``http://host:port`` is tried over https as well when the plain http
connection was closed without an answer (what a TLS port does); a port that accepts and never answers, or refuses,
is given up at once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from scanner.discovery import Candidate
from scanner.plugin import Plugin, ProbeResult, Step, Target, TargetSettings
from scanner.probe import run_probe

IDENTIFYING_STEPS = ("Fingerprint", "ServerInfo")
_NOTHING_MORE = ("no answer within", "timed out", "refused")  # Reach failures after which no scheme does better


@dataclass(frozen=True)
class Identified:
    """A candidate that a platform's fingerprint recognised."""

    candidate: Candidate
    platform: str
    url: str               # the base URL the fingerprint proved (a path prefix included)
    version: str | None
    message: str           # the fingerprint's own line, e.g. "Superset 6.1.0 at http://... (/health OK, /version)"


def identification_steps(plugin: Plugin, target: Target) -> list[Step]:
    """The plugin's steps up to and including its first identifying step; empty when it has none."""
    steps = list(plugin.steps(target))
    for n, step in enumerate(steps):
        if step.name in IDENTIFYING_STEPS:
            return steps[: n + 1]
    return []


def identifiable(plugins: Mapping[str, Plugin]) -> dict[str, Plugin]:
    """The plugins that can identify an address without credentials."""
    return {name: p for name, p in plugins.items() if identification_steps(p, _bare_target(p, "http://127.0.0.1"))}


class _Identification(Plugin):
    """A view of a plugin that runs only its identification steps (no credential ever goes out)."""

    def __init__(self, plugin: Plugin):
        self._plugin = plugin
        self.name, self.title, self.service_type = plugin.name, plugin.title, plugin.service_type

    def steps(self, target: Target) -> Sequence[Step]:
        return identification_steps(self._plugin, target)

    def connection_config(self, target, result):  # pragma: no cover - identification registers nothing
        raise NotImplementedError


def _bare_target(plugin: Plugin, url: str, origin: str = "discovery") -> Target:
    """A target with the URL and the settings' defaults only: no credential, TLS not verified."""
    model = plugin.settings_model if issubclass(plugin.settings_model, TargetSettings) else TargetSettings
    settings = model.model_construct(url=url, verify_ssl=False)
    return Target(platform=plugin.name, instance="discovered", service_name=f"{plugin.name}_discovered",
                  settings=settings, sources={}, origin=origin)


def _urls(candidate: Candidate) -> list[str]:
    parts = urlsplit(candidate.url)
    other = "https" if parts.scheme == "http" else "http"
    return [candidate.url, candidate.url.replace(f"{parts.scheme}://", f"{other}://", 1)]


def _order(candidate: Candidate, plugins: Mapping[str, Plugin]) -> list[Plugin]:
    port = urlsplit(candidate.url).port
    ranked = sorted(plugins.values(), key=lambda p: (p.name != candidate.platform_hint, port not in p.ports, p.name))
    return ranked


def identify(candidate: Candidate, plugins: Mapping[str, Plugin], *, connect_timeout: float = 2.0,
             read_timeout: float = 5.0, deadline_s: float = 20.0) -> Identified | None:
    """The platform at `candidate` (None: none of `plugins` recognised it within `deadline_s`)."""
    end = time.monotonic() + deadline_s
    for url in _urls(candidate):
        for plugin in _order(candidate, plugins):
            left = end - time.monotonic()
            if left <= 0:
                return None
            result: ProbeResult = run_probe(_Identification(plugin), _bare_target(plugin, url, candidate.origin),
                                            connect_timeout=connect_timeout, read_timeout=read_timeout,
                                            deadline_s=left, deadline_name="identification deadline")
            if result.ok:
                message = result.steps[-1].message if result.steps else ""
                return Identified(candidate, plugin.name, result.canonical_url or url, result.version, message)
            reach = result.steps[0] if result.steps and result.steps[0].name == "Reach" else None
            if reach is not None and reach.status.value != "passed":
                if any(words in reach.message for words in _NOTHING_MORE):
                    return None  # accepts and never answers, or nothing listens: no scheme will do better
                break  # nothing answers over this scheme (a TLS port closes on plain http): try the other one
    return None
