"""The scan pipeline: targets -> probe -> connection config -> plan -> register.

Probing and the catalog look-up of each target run together in a bounded thread pool; results
are handed to `on_item` as they finish (for streaming reports), and each planned write goes to the
`Registrar` at once, so registration overlaps the probes still running. A dry run plans exactly
the same way and writes nothing.

Time is bounded three ways: per request (connect/read timeouts), per target (``target_deadline``)
and per run (``run_deadline``: a target still waiting when it passes ends as ``error`` naming it,
and a running one gets only what is left). At most ``per_host`` targets are probed at once on one
``host:port``; targets are queued round-robin across hosts so a big host does not hold up the others.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from queue import Empty, SimpleQueue
from typing import Any

from scanner.apply import Registrar
from scanner.errors import CatalogError, ExitCode
from scanner.naming import MAX_LEN, check_service_name, slug
from scanner.one_instance import OneInstance
from scanner.openmetadata.client import LIST_PAGE, CatalogClient
from scanner.openmetadata.schema import covered_server_versions
from scanner.openmetadata.schema import source as schema_source
from scanner.plan import Action, Ownership, PlanItem, build_request, plan_item
from scanner.plugin import Part, Plugin, ProbeResult, Status, Target
from scanner.probe import run_probe
from scanner.registry import PluginEntry
from scanner.secrets import redact
from scanner.settings import Settings
from scanner.targets import collect_targets, select_plugins
from scanner.urls import host_port

log = logging.getLogger(__name__)

LIST_WHEN_TARGETS = 20  # from this many targets, list the catalog's services instead of one GET each
SWITCH_INTERVAL = 0.05
"""How long a thread may hold the GIL before it must offer it (Python's default: 5 ms). A scan's hundreds of
threads are I/O-bound and give the GIL up at every socket call anyway; the forced hand-overs only add contended
switches: at concurrency 256 they cost 14 to 22% of the scan's CPU (docs/benchmarks.md, issue 17)."""


@dataclass
class CatalogInfo:
    host: str
    version: str
    warning: str | None = None  # the shipped schemas do not describe this server's version


@dataclass
class RunResult:
    started_at: datetime
    finished_at: datetime | None = None
    items: list[PlanItem] = field(default_factory=list)
    catalog: CatalogInfo | None = None
    dry_run: bool = False
    platforms: list[str] = field(default_factory=list)  # the platforms this run covered
    inventory: dict[str, Any] | None = None             # {"path", "run_id"} when recorded
    drift: list[Any] = field(default_factory=list)      # scanner.inventory.drift.Event
    prune: Any = None                                   # scanner.prune.PruneReport when asked for
    interrupted: bool = False                           # a signal stopped the run before every target was done
    runner: dict[str, Any] | None = None                # the catalog's pipeline runner, when the hand-off asked it

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        # an instance found without a credential is news, not a failure
        failed = any((not i.probe.ok and i.probe.status is not Status.NO_CREDENTIALS)
                     or i.taken in ("failed", "conflict") for i in self.items)
        if self.prune is not None and not self.prune.ok:
            failed = True
        if self.inventory and self.inventory.get("error"):
            failed = True
        if any(i.catalog_test is not None and i.catalog_test.status == "failed" for i in self.items):
            failed = True  # the catalog itself says the registered connection does not work
        if failed:
            return ExitCode.FAILURES
        return ExitCode.HANDOFF if any(handoff_incomplete(i) for i in self.items) else ExitCode.OK


def handoff_incomplete(item: PlanItem) -> bool:
    """Registered, but the hand-off to ingestion asked for did not complete (exit code 3)."""
    plan = item.ingestion
    if plan is not None and (plan.error or plan.taken == "failed"):
        return True
    test = item.catalog_test
    return test is not None and test.status not in ("success", "warning", "unsupported")


class _HostGate:
    """At most `limit` probes at once per ``host:port``."""

    def __init__(self, limit: int):
        self._limit = limit
        self._gates: dict[str, threading.Semaphore] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str) -> threading.Semaphore:
        host, port = host_port(url)
        with self._lock:
            return self._gates.setdefault(f"{host}:{port}", threading.Semaphore(self._limit))


def interleave_by_host(targets: list[Target]) -> list[Target]:
    """Round-robin across hosts, keeping each host's own order: a.1, b.1, c.1, a.2, b.2, ..."""
    queues: dict[tuple[str, int], list[Target]] = {}
    for target in targets:
        queues.setdefault(host_port(target.url), []).append(target)
    ordered: list[Target] = []
    lanes = list(queues.values())
    for depth in range(max((len(q) for q in lanes), default=0)):
        ordered.extend(q[depth] for q in lanes if depth < len(q))
    return ordered


def run_scan(
    settings: Settings,
    entries: list[PluginEntry],
    *,
    targets: list[Target] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_item: Callable[[PlanItem], None] | None = None,
    owned: Ownership | None = None,
    on_written: Callable[[PlanItem], None] | None = None,
    stop: threading.Event | None = None,
) -> RunResult:
    """Run one scan. Raises ConfigError (bad settings) or CatalogError (catalog unusable at start).
    `targets` may be collected beforehand (`collect_targets`), so bad input fails before anything else.
    `owned`: the services that are scanner's in this catalog (the inventory's memory); a service that is not
    scanner's is never rewritten without --adopt (a conflict). `on_written` is called from a
    registration thread the moment each catalog write succeeds. Once `stop` is set no new probe starts and
    the targets not yet done are reported as interrupted (``result.interrupted``)."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(max(previous, SWITCH_INTERVAL))
    try:
        return _run_scan(settings, entries, targets=targets, on_start=on_start, on_item=on_item, owned=owned,
                         on_written=on_written, stop=stop)
    finally:
        sys.setswitchinterval(previous)


def _run_scan(settings: Settings, entries: list[PluginEntry], *, targets, on_start, on_item, owned, on_written,
              stop) -> RunResult:
    run_started = time.monotonic()
    result = RunResult(started_at=datetime.now(timezone.utc), dry_run=settings.scan.dry_run)
    if targets is None:
        targets = collect_targets(settings, entries)
    log.info("%d target(s) collected in %.2fs", len(targets), time.monotonic() - run_started)
    if on_start is not None:
        on_start(len(targets))
    result.platforms = sorted(select_plugins(entries, settings.scan.platforms))
    plugins = {e.name: e.plugin for e in entries if e.plugin is not None}
    run_end = run_started + settings.scan.run_deadline if settings.scan.run_deadline else None
    catalog = CatalogClient(settings.catalog, deadline=run_end) if settings.catalog.host else None
    try:
        if catalog is not None:
            version = catalog.server_version()
            result.catalog = CatalogInfo(catalog.host, version, schema_coverage_warning(version))
            if result.catalog.warning:
                log.warning("%s", result.catalog.warning)
        scan = settings.scan

        gate = _HostGate(scan.per_host)

        known = _known_services(catalog, len(targets), run_end) if catalog is not None else None

        parent: dict[int, int] = {}  # id of a part's target -> id of the declared target it came from

        def work(target: Target) -> list[PlanItem]:
            with gate(target.url):
                items = _probe_and_plan(plugins[target.platform], target, catalog, settings, run_end, known,
                                        owned or Ownership())
            for item in items:
                parent[id(item.target)] = id(target)
            return items

        # registration starts as soon as each target is planned, while the others are still probed
        registrar = (Registrar(catalog, settings.catalog.concurrency, on_written=on_written)
                     if catalog and not scan.dry_run else None)
        workers = max(1, min(scan.concurrency, len(targets) or 1))
        pool = ThreadPoolExecutor(max_workers=workers)
        instances = OneInstance(targets)

        def emit(item: PlanItem) -> None:
            result.items.append(item)
            if registrar is not None:
                registrar.submit(item)
            if on_item is not None:
                on_item(item)

        try:
            # At most `window` targets are queued in the pool at once: a future per target for the whole run would
            # cost memory per target (about 2 KB each) until the end.
            queue = iter(interleave_by_host(targets))
            window = max(64, 4 * workers)
            futures: dict[Future, Target] = {}
            finished: SimpleQueue[Future] = SimpleQueue()  # futures in the order they finish

            def stopped() -> bool:
                return stop is not None and stop.is_set()

            def fill() -> None:
                while len(futures) < window and not stopped():
                    target = next(queue, None)
                    if target is None:
                        return
                    future = pool.submit(work, target)
                    futures[future] = target
                    future.add_done_callback(finished.put)

            fill()
            while futures and not stopped():
                try:
                    future = finished.get(timeout=0.2)
                except Empty:
                    continue
                target = futures.pop(future)
                for item in instances.finished(target, future.result()):
                    emit(item)
                fill()
            for item in instances.rest():  # interrupted: what waited on an unfinished target is decided now
                emit(item)
            left = [*futures.values(), *queue]
            if left:  # interrupted: the probes in flight are left behind, the writes already sent finish
                result.interrupted = True
                for future in futures:
                    future.cancel()
                result.items.extend(_interrupted(target) for target in left)
            log.info("probing and planning done at %.2fs", time.monotonic() - run_started)
        finally:
            pool.shutdown(wait=not result.interrupted, cancel_futures=True)
            if registrar is not None:
                registrar.close()
                log.info("registration done at %.2fs", time.monotonic() - run_started)
        if registrar is not None and settings.ingestion.enabled and not result.interrupted:
            _hand_off(result, catalog, settings, run_end, stop, (owned or Ownership()).pipelines)
            log.info("hand-off to ingestion done at %.2fs", time.monotonic() - run_started)
        order = {id(t): n for n, t in enumerate(targets)}  # parts of one instance stay together, in their order
        result.items.sort(key=lambda i: order[parent.get(id(i.target), id(i.target))])
        if registrar is None:
            not_written = "planned" if catalog is not None else "not registered (no catalog)"
            for item in result.items:
                if item.taken is None:
                    item.taken = "skipped" if item.action is Action.SKIP else not_written
                if item.ingestion is not None and item.ingestion.taken is None:
                    item.ingestion.taken = "planned"
    finally:
        if catalog is not None:
            catalog.close()
    result.finished_at = datetime.now(timezone.utc)
    return result


def _hand_off(result: RunResult, catalog: CatalogClient, settings: Settings, run_end: float | None,
              stop: threading.Event | None, records: Mapping[str, dict[str, Any]]) -> None:
    from scanner.ingestion.handoff import Handoff

    handoff = Handoff(catalog, settings, run_end, stop, records=records)
    runner = handoff.run(result.items)
    problem = handoff.runner_problem()
    if runner is not None or problem:
        result.runner = {"usable": problem is None, "platform": runner.platform if runner else None,
                         "reason": problem}


def _plan_ingestion(item: PlanItem, catalog: CatalogClient | None, settings: Settings):
    """The pipeline plan of a service that will be registered (None when [ingestion] asks for no pipeline)."""
    from scanner.ingestion.pipeline import PipelineAction, PipelinePlan, decide
    from scanner.openmetadata.client import quote_name
    from scanner.openmetadata.ingestion_api import IngestionApi

    wanted = settings.ingestion.pipeline or settings.ingestion.autopilot
    if not wanted or item.action not in (Action.CREATE, Action.UPDATE, Action.UNCHANGED):
        return None
    if catalog is None:
        return PipelinePlan(PipelineAction.SKIP, reason="no catalog")
    name = item.target.service_name
    if item.action is not Action.CREATE and not item.ours:
        return PipelinePlan(PipelineAction.SKIP, reason=f"scanner did not register {name} (not in the inventory): "
                            f"no pipeline added; --adopt {name} makes it scanner's")
    fqn = item.service_fqn or quote_name(name)
    existing = None
    if item.action is not Action.CREATE:
        try:
            existing = IngestionApi(catalog).metadata_pipelines(fqn)
        except CatalogError as exc:
            plan = PipelinePlan(PipelineAction.SKIP, reason="its pipelines could not be listed")
            plan.taken, plan.error = "failed", str(exc)
            return plan
    return decide(name, fqn, existing, settings.ingestion, new_service=item.action is Action.CREATE,
                  service_id=item.service_id)


def _interrupted(target: Target) -> PlanItem:
    probe = ProbeResult(status=Status.ERROR, steps=[], canonical_url=target.url,
                        message="interrupted before this target's probe finished",
                        hint="run the scan again; nothing was written for this target")
    return PlanItem(target, probe, Action.SKIP, reason="interrupted", taken="skipped")


def schema_coverage_warning(version: str) -> str | None:
    """A warning when the catalog's major.minor is not one the shipped OpenMetadata schemas describe."""
    covered = covered_server_versions()
    if ".".join(version.split(".")[:2]) in covered:
        return None
    return (f"the catalog runs OpenMetadata {version}, but scanner's connection schemas are those of "
            f"{', '.join(covered)} (openmetadata-ingestion {schema_source()['openmetadata-ingestion']}): configs "
            "are checked and compared against those; keys the server adds are kept as it holds them")


def _known_services(catalog: CatalogClient, targets: int, run_end: float | None = None) -> dict[str, dict] | None:
    """All current services in a few paged requests, when that is cheaper than one GET per target."""
    if targets < LIST_WHEN_TARGETS:
        return None
    pages = -(-catalog.count_services() // LIST_PAGE)
    if pages >= targets:
        return None
    known = catalog.list_services(deadline=run_end)
    log.info("planning against %d catalog services listed in %d page(s)", len(known), max(1, pages))
    return known


def _probe_and_plan(plugin: Plugin, target: Target, catalog: CatalogClient | None, settings: Settings,
                    run_end: float | None, known: dict[str, dict] | None,
                    owned: Ownership) -> list[PlanItem]:
    scan = settings.scan
    t0 = time.monotonic()
    budget, which = scan.target_deadline, "target deadline"
    if run_end is not None and run_end - t0 < budget:
        budget, which = run_end - t0, f"run deadline ({scan.run_deadline:g}s)"
    if budget <= 0:
        probe = ProbeResult(
            status=Status.ERROR, steps=[], canonical_url=target.url,
            message=f"run deadline of {scan.run_deadline:g}s reached before this target was probed",
            hint="raise --run-deadline or --concurrency, or lower --target-deadline",
        )
        return [plan_item(target, probe, None, None)]
    probe = run_probe(plugin, target, connect_timeout=scan.connect_timeout, read_timeout=scan.timeout,
                      deadline_s=budget, deadline_name=which)
    log.info("%s: %s in %.0f ms", target.service_name, probe.status.value, (time.monotonic() - t0) * 1000)
    if not probe.ok:
        return [plan_item(target, probe, None, None)]
    try:
        parts = list(plugin.parts(target, probe))
    except Exception as exc:  # plugin bug: this target only
        return [_failed_plan(target, probe, f"could not list the services to register: {redact(str(exc))[:300]}")]
    if not parts:
        return [_plan_one(plugin, target, probe, catalog, settings, known, owned)]
    items = []
    for part in parts:
        try:
            part_target, part_probe = part_of(plugin, target, probe, part)
        except ValueError as exc:
            items.append(_failed_plan(target, probe, str(exc)))
            continue
        items.append(_plan_one(plugin, part_target, part_probe, catalog, settings, known, owned))
    return items


def part_of(plugin: Plugin, target: Target, probe: ProbeResult, part: Part) -> tuple[Target, ProbeResult]:
    """The target and probe result of one `Part` of an instance: its own service name, instance and settings."""
    key = slug(part.key)
    if not key:
        raise ValueError(f"plugin {plugin.name!r} gave a part with an empty key ({part.label or part.key!r})")
    name = f"{target.service_name}_{key}"[:MAX_LEN].rstrip("_")
    if problem := check_service_name(name):
        raise ValueError(f"part {part.label or key}: {problem}")
    try:
        settings = target.settings.model_copy(update=dict(part.settings))
    except Exception as exc:  # noqa: BLE001 - a plugin bug, reported on this target
        raise ValueError(f"part {part.label or key}: bad settings: {exc}") from None
    meta = target.service
    if part.label and not meta.display_name:
        meta = dataclasses.replace(meta, display_name=f"{plugin.title} {target.instance}: {part.label}")
    sub = dataclasses.replace(target, service_name=name, instance=f"{target.instance}_{key}", settings=settings,
                              service=meta)
    # the instance's scalar facts (version, totals) and the part's own; lists and tables describe the whole
    # instance (every space, say) and would repeat in each part's entry
    shared = {k: v for k, v in probe.details.items() if not isinstance(v, list | dict | tuple)}
    details = {**shared, "part": part.label or key, **dict(part.details)}
    return sub, dataclasses.replace(probe, details=details)


def _plan_one(plugin: Plugin, target: Target, probe: ProbeResult, catalog: CatalogClient | None,
              settings: Settings, known: dict[str, dict] | None, owned: Ownership) -> PlanItem:
    refs: list[str] = []
    try:
        owners = [catalog.resolve_owner(o) for o in target.service.owners] if catalog else None
        request = build_request(plugin, target, probe, owners)
        if settings.secrets.references and request.connection is not None:
            request, refs = _with_references(request, target, settings)
    except CatalogError as exc:
        return _failed_plan(target, probe, str(exc))
    except Exception as exc:  # plugin bug or a config the schema refuses: skip this target only
        return _failed_plan(target, probe, f"could not build the service request: {redact(str(exc))[:300]}")
    try:
        if known is not None:
            current = known.get(target.service_name)
        else:
            current = catalog.get_service(target.service_name) if catalog else None
    except CatalogError as exc:
        return _failed_plan(target, probe, str(exc))
    item = plan_item(target, probe, request, current, config_keys=plugin.config_keys,
                     ours=owned.ours(target.service_name, current), adopt=target.service_name in settings.scan.adopt,
                     changed_since=owned.changed(target.service_name,
                                                 request.connection.config if request.connection else None))
    item.secret_refs = refs
    item.ingestion = _plan_ingestion(item, catalog, settings)
    return item


def _with_references(request, target: Target, settings: Settings):
    """The request with its secrets as ``secret:`` references ([secrets] style = "reference")."""
    from scanner.ingestion.secret_refs import with_references
    from scanner.openmetadata.models import DashboardConnection

    config, ids = with_references(request.connection.config, settings.secrets, service=target.service_name,
                                  platform=target.platform, instance=target.instance)
    return request.model_copy(update={"connection": DashboardConnection(config=config)}), ids


def _failed_plan(target: Target, probe, message: str) -> PlanItem:
    item = plan_item(target, probe, None, None, build_error=message)
    item.taken = "failed"
    item.error = message
    return item
