"""One complete run: scan, record it in the inventory (drift), then prune when asked.

A dry run computes its drift and prune candidates against the inventory and then drops them: it is
listed as a dry run, and the next real run still reports every change.

The inventory is the default sink: a run without a catalog still records everything. A run that
fails (the catalog is unusable, an interrupt) is recorded as ``failed`` and leaves the last good
state as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable

from scanner.inventory.drift import Observation
from scanner.inventory.store import Inventory, TargetRecord
from scanner.plan import PlanItem
from scanner.registry import PluginEntry
from scanner.scan import RunResult, run_scan
from scanner.secrets import redact
from scanner.settings import Settings, describe

log = logging.getLogger(__name__)


def settings_fingerprint(settings: Settings) -> str:
    """A short hash of the effective settings (secrets masked) and the declared targets' origins."""
    rows = [(key, value) for key, value, _ in describe(settings)]
    rows += [("target", raw.where) for raw in settings.targets]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def _record(item: PlanItem, inventory: Inventory, registered: bool) -> TargetRecord:
    config_hash = None
    if item.request is not None:
        config = item.request.payload(reveal_secrets=True)["connection"]["config"]
        config_hash = inventory.config_hash(config)
    probe = item.probe
    observation = Observation(
        service_name=item.target.service_name, platform=item.target.platform,
        url=probe.canonical_url or item.target.url, status=probe.status.value, version=probe.version,
        config_hash=config_hash,
    )
    return TargetRecord(
        observation=observation, instance=item.target.instance,
        steps=[(s.name, s.status.value) for s in probe.steps], message=probe.message,
        action=item.action.value, taken=item.taken, registered=registered,
    )


def run_once(settings: Settings, entries: list[PluginEntry], *, prune: bool = False,
             on_start: Callable[[int], None] | None = None,
             on_item: Callable[[PlanItem], None] | None = None) -> RunResult:
    """Scan, record and prune. Raises what `run_scan` raises (the run is then recorded as failed)."""
    from scanner.targets import collect_targets

    targets = collect_targets(settings, entries)  # bad input fails here, before the inventory is touched
    inv_settings = settings.inventory
    inventory = Inventory.open(inv_settings.resolved_path(settings.env)) if inv_settings.enabled else None
    try:
        run_id = None
        if inventory is not None:
            from scanner.targets import select_plugins

            run_id = inventory.begin_run(settings_fingerprint(settings),
                                         sorted(select_plugins(entries, settings.scan.platforms)),
                                         settings.scan.dry_run, settings.catalog.host)
        try:
            owned = {t["service_name"] for t in inventory.targets()
                     if t["registered_in"] == settings.catalog.host} if inventory is not None else None
            result = run_scan(settings, entries, targets=targets, on_start=on_start, on_item=on_item, owned=owned)
        except BaseException as exc:
            if inventory is not None and run_id is not None:
                inventory.fail_run(run_id, redact(str(exc)) or type(exc).__name__)
            raise
        if inventory is None:
            return result
        result.inventory = {"path": str(inventory.path), "run_id": run_id}
        wrote = not result.dry_run and result.catalog is not None
        records = [_record(i, inventory, wrote and i.taken in ("created", "updated")) for i in result.items]
        totals = {"status": dict(Counter(i.probe.status.value for i in result.items)),
                  "taken": dict(Counter(i.taken or "none" for i in result.items))}

        def record() -> None:
            result.drift = inventory.finish_run(
                run_id, records, platforms=result.platforms, gone_after=inv_settings.gone_after,
                exit_code=int(result.exit_code), totals=totals,
                catalog_host=settings.catalog.host if wrote else None,
            )
            if prune:
                result.prune = _prune(settings, result, inventory, run_id)

        if result.dry_run:  # show the drift and prune it would cause, keep none of it
            with inventory.rehearsal():
                record()
            inventory.finish_dry_run(run_id, int(result.exit_code), totals)
        else:
            record()
        return result
    finally:
        if inventory is not None:
            inventory.close()


def _prune(settings: Settings, result: RunResult, inventory: Inventory, run_id: int):
    from scanner.openmetadata.client import CatalogClient
    from scanner.prune import PruneReport, prune

    if not settings.catalog.host:
        return PruneReport(refused="no catalog is configured (OPENMETADATA_HOST)", dry_run=result.dry_run)
    catalog = CatalogClient(settings.catalog)
    try:
        report = prune(result.items, inventory.targets(), catalog, settings.catalog.host,
                       settings.inventory.prune_max_share, result.dry_run)
    finally:
        catalog.close()
    done = report.deleted + report.already_gone
    if done:
        inventory.mark_pruned(run_id, done)
    return report
