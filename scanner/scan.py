"""The scan pipeline: targets -> probe -> connection config -> plan -> register.

Probing and the catalog look-up of each target run together in a bounded thread pool; results
are handed to `on_item` as they finish (for streaming reports). Registration runs once the plan
is complete, so ``--dry-run`` and a real run plan exactly the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from scanner.apply import apply_plan
from scanner.errors import CatalogError, ExitCode
from scanner.openmetadata.client import CatalogClient
from scanner.plan import Action, PlanItem, build_request, plan_item
from scanner.plugin import Plugin, Target
from scanner.probe import run_probe
from scanner.registry import PluginEntry
from scanner.secrets import redact
from scanner.settings import Settings
from scanner.targets import collect_targets, select_plugins

log = logging.getLogger(__name__)


@dataclass
class CatalogInfo:
    host: str
    version: str


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

    @property
    def exit_code(self) -> ExitCode:
        failed = any(not i.probe.ok or i.taken == "failed" for i in self.items)
        if self.prune is not None and not self.prune.ok:
            failed = True
        return ExitCode.FAILURES if failed else ExitCode.OK


def run_scan(
    settings: Settings,
    entries: list[PluginEntry],
    *,
    on_item: Callable[[PlanItem], None] | None = None,
) -> RunResult:
    """Run one scan. Raises ConfigError (bad settings) or CatalogError (catalog unusable at start)."""
    result = RunResult(started_at=datetime.now(timezone.utc), dry_run=settings.scan.dry_run)
    targets = collect_targets(settings, entries)
    result.platforms = sorted(select_plugins(entries, settings.scan.platforms))
    plugins = {e.name: e.plugin for e in entries if e.plugin is not None}
    catalog = CatalogClient(settings.catalog) if settings.catalog.host else None
    try:
        if catalog is not None:
            result.catalog = CatalogInfo(catalog.host, catalog.server_version())
        scan = settings.scan

        def work(target: Target) -> PlanItem:
            return _probe_and_plan(plugins[target.platform], target, catalog, settings)

        with ThreadPoolExecutor(max_workers=max(1, min(scan.concurrency, len(targets) or 1))) as pool:
            futures = {pool.submit(work, t): t for t in targets}
            for future in as_completed(futures):
                item = future.result()
                result.items.append(item)
                if on_item is not None:
                    on_item(item)
        order = {t.service_name: n for n, t in enumerate(targets)}
        result.items.sort(key=lambda i: order[i.target.service_name])

        if catalog is None or scan.dry_run:
            not_written = "planned" if catalog is not None else "not registered (no catalog)"
            for item in result.items:
                if item.taken is None:
                    item.taken = "skipped" if item.action is Action.SKIP else not_written
        else:
            apply_plan(result.items, catalog, concurrency=settings.catalog.concurrency)
    finally:
        if catalog is not None:
            catalog.close()
    result.finished_at = datetime.now(timezone.utc)
    return result


def _probe_and_plan(plugin: Plugin, target: Target, catalog: CatalogClient | None, settings: Settings) -> PlanItem:
    scan = settings.scan
    t0 = time.monotonic()
    probe = run_probe(plugin, target, connect_timeout=scan.connect_timeout, read_timeout=scan.timeout,
                      deadline_s=scan.target_deadline)
    log.info("%s: %s in %.0f ms", target.service_name, probe.status.value, (time.monotonic() - t0) * 1000)
    if not probe.ok:
        return plan_item(target, probe, None, None)
    try:
        owners = [catalog.resolve_owner(o) for o in target.service.owners] if catalog else None
        request = build_request(plugin, target, probe, owners)
    except CatalogError as exc:
        return _failed_plan(target, probe, str(exc))
    except Exception as exc:  # plugin bug or a config the schema refuses: skip this target only
        return _failed_plan(target, probe, f"could not build the service request: {redact(str(exc))[:300]}")
    try:
        current = catalog.get_service(target.service_name) if catalog else None
    except CatalogError as exc:
        return _failed_plan(target, probe, str(exc))
    return plan_item(target, probe, request, current)


def _failed_plan(target: Target, probe, message: str) -> PlanItem:
    item = plan_item(target, probe, None, None, build_error=message)
    item.taken = "failed"
    item.error = message
    return item
