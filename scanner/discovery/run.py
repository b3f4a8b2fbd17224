"""``scanner discover``: what is there, from every configured source, identified without sending any credential.

Candidates come from the sources (the targets declared in the environment and the TOML; a host sweep when
``[discovery] hosts`` is set; Kubernetes when ``[discovery.kubernetes]`` is there). Each is identified by the
platforms' own fingerprints (`scanner.discovery.identify`), and the credential that would apply is named
(`scanner.discovery.credentials`), never sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from scanner.discovery import Candidate, Problem
from scanner.discovery.credentials import CredentialSet, from_environment, from_toml, match, what_to_set
from scanner.discovery.identify import Identified, identifiable, identify
from scanner.discovery.source import FunctionSource, Source
from scanner.errors import ConfigError
from scanner.naming import canonical_address, service_name
from scanner.plan import Action, PlanItem
from scanner.plugin import Plugin, ProbeResult, Status, Target, TargetSettings
from scanner.registry import PluginEntry
from scanner.settings import Settings, validate_model

log = logging.getLogger(__name__)

SourceFn = Callable[[Settings, Mapping[str, Plugin], float], tuple[list[Candidate], list[Problem]]]


@dataclass
class Found:
    """One candidate after identification: what answers there (None: no platform), and the credential that
    would apply (None: found, not registered; `hint` says what to set)."""

    candidate: Candidate
    identified: Identified | None
    credential: str | None = None  # where the credential is set (never its value)
    hint: str = ""


@dataclass
class Discovery:
    found: list[Found] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    elapsed_s: float = 0.0
    credentials: dict[str, CredentialSet] = field(default_factory=dict)  # origin -> the set (values: secrets)


def declared_candidates(settings: Settings, plugins: Mapping[str, Plugin],
                        deadline: float) -> tuple[list[Candidate], list[Problem]]:
    """The targets declared in the environment and the TOML, as candidates (their platform as the hint)."""
    from scanner.targets import Rejected, collect

    candidates, problems = [], []
    for target in collect(settings, [PluginEntry(n, "", p) for n, p in plugins.items()]):
        if isinstance(target, Rejected):
            error = target.error
            message = error.message if isinstance(error, ConfigError) else str(error)
            hint = (error.hint or "") if isinstance(error, ConfigError) else ""
            where = error.where if isinstance(error, ConfigError) and error.where else target.origin
            problems.append(Problem(where, message, hint, in_settings=True))
        elif target.url:
            candidates.append(Candidate(target.url, target.origin, platform_hint=target.platform, note=DECLARED))
    return candidates, problems


class KubernetesSettings(BaseModel):
    """``[discovery.kubernetes]`` (the table alone turns the source on)."""

    model_config = ConfigDict(extra="forbid")

    kubeconfig: str | None = None
    context: str | None = None
    namespaces: list[str] | None = None  # given: each is listed (a per-namespace service account); else the cluster
    label_selector: str | None = None


def kubernetes_source(settings: Settings, plugins: Mapping[str, Plugin],
                      deadline: float) -> tuple[list[Candidate], list[Problem]]:
    table = settings.discovery.get("kubernetes")
    if table is None:
        return [], []
    if not isinstance(table, dict):
        raise ConfigError("[discovery.kubernetes] must be a table", where=settings.config_name)
    k8s = validate_model(KubernetesSettings, table,
                         lambda loc: f"{settings.config_name}:[discovery.kubernetes].{loc[0]}")
    from scanner.discovery.kubernetes import kubernetes_candidates

    hints = {name: (name, plugin.title.lower().replace(" ", "-")) for name, plugin in plugins.items()}
    return kubernetes_candidates(kubeconfig=k8s.kubeconfig, context=k8s.context, namespaces=k8s.namespaces,
                                 label_selector=k8s.label_selector, platform_hints=hints, deadline=deadline)


SWEEP_KEYS = ("hosts", "exclude", "ports", "max_candidates", "rate")


def sweep_source(settings: Settings, plugins: Mapping[str, Plugin],
                 deadline: float) -> tuple[list[Candidate], list[Problem]]:
    """``[discovery] hosts``: a connect scan of the hosts x ports (default: the plugins' ports), then the open ones
    as candidates (identification tries http, then https)."""
    table = {k: v for k, v in settings.discovery.items() if k != "kubernetes"}
    where = f"{settings.config_name}:[discovery]"
    unknown = [k for k in table if k not in SWEEP_KEYS]
    if unknown:
        from scanner.settings import _did_you_mean

        raise ConfigError(f"unknown key {unknown[0]!r}", where=where, hint=_did_you_mean(unknown[0], SWEEP_KEYS))
    if "hosts" not in table:
        return [], []
    from scanner.discovery.hosts import plan_sweep
    from scanner.discovery.sweep import sweep

    default_ports = sorted({port for plugin in plugins.values() for port in plugin.ports})
    plan = plan_sweep(table, where=where, default_ports=default_ports)
    result = sweep(plan.pairs(), rate=plan.rate, deadline=max(0.1, deadline - time.monotonic()))
    candidates = []
    for address, port in result.open:
        host = f"[{address}]" if ":" in address else address
        entry = plan.addresses.origin_of(address) or address
        candidates.append(Candidate(f"http://{host}:{port}", f"sweep:{entry}:{port}"))
    return candidates, []


DECLARED = "declared with its credentials"
# the built-in sources, registered in pyproject.toml (entry-point group scanner.sources) like a third party's
declared = FunctionSource("declared", "targets declared in the environment and the TOML", declared_candidates)
host_sweep = FunctionSource("sweep", "host sweep ([discovery] hosts)", sweep_source)
kubernetes = FunctionSource("kubernetes", "Kubernetes Services and Ingresses ([discovery.kubernetes])",
                            kubernetes_source)


def discover_instances(settings: Settings, entries: list[PluginEntry], *,
                       sources: Mapping[str, Source] | None = None) -> Discovery:
    """Every candidate of every source, identified (bounded by the run deadline), with its credential named."""
    started = time.monotonic()
    deadline = started + (settings.scan.run_deadline or 600)
    plugins = {e.name: e.plugin for e in entries if e.plugin is not None}
    result = Discovery()
    candidates: list[Candidate] = []
    if sources is None:
        from scanner.registry import discover_sources

        sources = {}
        for entry in discover_sources():
            if entry.enabled:
                sources[entry.name] = entry.source
            else:
                result.problems.append(Problem(f"source {entry.name}", f"disabled: {entry.error}", entry.hint or ""))
    for name, source in sources.items():
        try:
            found, problems = source.candidates(settings, plugins, deadline)
        except ConfigError:
            raise  # bad settings, or a source that cannot be used at all: one line, exit 2
        except Exception as exc:  # a broken source is reported, the others go on
            result.problems.append(Problem(f"source {name}", f"{type(exc).__name__}: {exc}"))
            continue
        candidates.extend(found)
        result.problems.extend(problems)
        log.info("source %s: %d candidate(s) in %.2fs", name, len(found), time.monotonic() - started)
    toml_sets, errors = from_toml(settings.credentials, plugins)
    result.problems.extend(Problem(e.where or "[[credentials]]", e.message, e.hint or "", in_settings=True)
                           for e in errors)
    sets: list[CredentialSet] = [*toml_sets, *from_environment(plugins, settings.env, settings.env_source)]
    result.credentials = {s.origin: s for s in sets}
    can_identify = identifiable(plugins)
    by_address: dict[str, Candidate] = {}
    for candidate in candidates:  # one per address; a declared target wins over a source that found it too
        key = canonical_address(candidate.url)
        if key not in by_address or (candidate.note == DECLARED and by_address[key].note != DECLARED):
            by_address[key] = candidate
    unique = list(by_address.values())

    def one(candidate: Candidate) -> Found:
        left = max(0.1, deadline - time.monotonic())
        seen = identify(candidate, can_identify, connect_timeout=settings.scan.connect_timeout,
                        read_timeout=settings.scan.timeout, deadline_s=min(left, settings.scan.target_deadline))
        if seen is None:
            return Found(candidate, None)
        if candidate.note == DECLARED:
            return Found(candidate, seen, candidate.origin)
        credential = match(seen.platform, seen.url, sets)
        if credential is not None:
            return Found(candidate, seen, credential.origin)
        return Found(candidate, seen, None, what_to_set(plugins[seen.platform], seen.url))

    with ThreadPoolExecutor(max_workers=max(1, min(settings.scan.concurrency, len(unique) or 1))) as pool:
        result.found = list(pool.map(one, unique))
    log.info("%d candidate(s) identified in %.2fs", len(unique), time.monotonic() - started)
    result.elapsed_s = time.monotonic() - started
    return result


def discovery_configured(settings: Settings) -> bool:
    """Whether the TOML asks for more than the declared targets ([discovery] hosts, Kubernetes, a source's table)."""
    return bool(settings.discovery)


def discovered_targets(settings: Settings, entries: list[PluginEntry],
                       declared: list[Target]) -> tuple[list[Target], list[PlanItem]]:
    """What the sources beyond the declared targets found, for `scanner scan`: a `Target` for each identified
    instance a credential applies to (probed, planned and registered like a declared one), and a report entry
    ``no_credentials`` (found, not registered; never written) for each other one. An address a declared target
    already names is left to that target."""
    from scanner.registry import discover_sources

    sources = {e.name: e.source for e in discover_sources() if e.enabled and e.name != "declared"}
    result = discover_instances(settings, entries, sources=sources)
    for problem in result.problems:
        log.warning("%s: %s%s", problem.origin, problem.message, f" ({problem.hint})" if problem.hint else "")
    plugins = {e.name: e.plugin for e in entries if e.plugin is not None}
    known = {canonical_address(t.url) for t in declared}
    targets: list[Target] = []
    unregistered: list[PlanItem] = []
    for found in result.found:
        seen = found.identified
        if seen is None or canonical_address(seen.url) in known:
            continue
        known.add(canonical_address(seen.url))
        plugin = plugins[seen.platform]
        if found.credential is None:
            unregistered.append(_unregistered(plugin, found))
            continue
        target = _target(settings, plugin, found, result.credentials[found.credential])
        if isinstance(target, PlanItem):
            unregistered.append(target)
        else:
            targets.append(target)
    return targets, unregistered


def _target(settings: Settings, plugin: Plugin, found: Found, credential: CredentialSet) -> Target | PlanItem:
    from scanner.targets import _register_secrets, default_instance

    seen = found.identified
    assert seen is not None
    values = {**credential.values, "url": seen.url}
    try:
        model = validate_model(plugin.settings_model, values,
                               lambda loc: credential.sources.get(str(loc[0]), credential.origin))
    except ConfigError as exc:
        item = _unregistered(plugin, found)
        item.probe.message = f"found, but its credential ({credential.origin}) is not usable: {exc.message}"
        item.probe.status = Status.ERROR
        return item
    _register_secrets(model)
    instance = default_instance(plugin, model)
    return Target(platform=plugin.name, instance=instance, service_name=service_name(plugin.name, instance),
                  settings=model, sources={**credential.sources, "url": found.candidate.origin},
                  origin=found.candidate.origin)


def _unregistered(plugin: Plugin, found: Found) -> PlanItem:
    seen = found.identified
    assert seen is not None
    from scanner.targets import default_instance

    bare = TargetSettings.model_construct(url=seen.url)
    instance = default_instance(plugin, bare)
    target = Target(platform=plugin.name, instance=instance, service_name=service_name(plugin.name, instance),
                    settings=bare, sources={"url": found.candidate.origin}, origin=found.candidate.origin)
    probe = ProbeResult(status=Status.NO_CREDENTIALS, steps=[], version=seen.version, canonical_url=seen.url,
                        message=f"found, not registered: no credential applies to this {plugin.title}",
                        hint=found.hint)
    return PlanItem(target, probe, Action.SKIP, reason="no credentials", taken="skipped")
