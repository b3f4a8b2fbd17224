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
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from queue import Empty, SimpleQueue

from scanner.inventory.drift import Observation
from scanner.inventory.store import Inventory, TargetRecord
from scanner.plan import Ownership, PlanItem
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
    config_hash = None  # None keeps the last one: a config that did not reach the catalog is not "in place"
    if item.derived is not None and item.taken not in ("failed", "conflict"):
        # the config as derived from the instance, not as merged with what the catalog holds (its defaults and a
        # person's keys would make a create and the identical scan after it differ); a dump of the config alone,
        # since the whole request's model_dump costs 3x more
        config_hash = inventory.config_hash(item.derived.dump(reveal_secrets=True))
    probe = item.probe
    observation = Observation(
        service_name=item.target.service_name, platform=item.target.platform,
        url=probe.canonical_url or item.target.url, status=probe.status.value, version=probe.version,
        config_hash=config_hash,
    )
    return TargetRecord(
        observation=observation, instance=item.target.instance,
        steps=[(s.name, s.status.value) for s in probe.steps], message=probe.message,
        action=item.action.value, taken=item.taken, registered=registered, origin=item.target.origin,
        pipeline=pipeline_record(item.ingestion),
    )


def pipeline_record(plan) -> dict | None:
    """What the inventory keeps of a service's pipeline after the hand-off (None: nothing was looked at)."""
    if plan is None or plan.taken in (None, "planned", "skipped") or plan.action.value == "skip":
        return None
    made_by = {"leave": "autopilot" if "AutoPilot" in plan.reason else "person",
               "autopilot": "autopilot"}.get(plan.action.value, "scanner")
    trigger = plan.trigger or {}
    return {"name": plan.name, "fqn": plan.fqn, "made_by": made_by, "taken": plan.taken, "deployed": plan.deployed,
            "last_trigger_at": trigger.get("at"), "last_run_id": trigger.get("run_id"),
            "last_state": trigger.get("state"), "error": plan.error}


class _WriteJournal:
    """Each catalog write goes into the inventory the moment it succeeds, through one writer thread: the
    registration threads hand it over and go on with the next write, and writes that arrive together are
    committed in one transaction (a commit each, waited for by each thread, cost a quarter of the registration
    throughput at catalog concurrency 32: issue 17). Writes the inventory cannot take (a locked or damaged
    database) wait in memory, and go to a journal file beside it if the run's end cannot record either; the
    next run that opens the inventory records them. `flush()` waits until every write handed over is recorded
    or kept."""

    def __init__(self, inventory: Inventory, run_id: int, catalog_host: str | None):
        self.inventory, self.run_id, self.catalog_host = inventory, run_id, catalog_host
        self.unrecorded: list[dict] = []
        self._lock = threading.Lock()
        self._queue: SimpleQueue[tuple | None] = SimpleQueue()
        self._writer = threading.Thread(target=self._drain, name="inventory-writes", daemon=True)
        self._writer.start()
        try:
            taken = inventory.take_pending()
        except (sqlite3.Error, OSError) as exc:
            log.warning("the inventory's pending writes could not be recorded yet: %s", exc)
        else:
            if taken:
                log.info("recorded %d catalog write(s) left pending by an earlier run", taken)

    def owned(self) -> Ownership | None:
        if not self.catalog_host:
            return None
        try:
            names = self.inventory.registered(self.catalog_host)
            pruned = self.inventory.pruned(self.catalog_host)
            rows = self.inventory.targets()
        except sqlite3.Error as exc:
            log.warning("the inventory could not say which services scanner registered: %s", exc)
            return Ownership()
        hashes = {t["service_name"]: t["config_hash"] for t in rows if t.get("config_hash")}
        pipelines = {t["service_name"]: t["pipeline"] for t in rows if t.get("pipeline") and t["service_name"] in names}
        return Ownership(frozenset(names | {w["service_name"] for w in self.unrecorded}), frozenset(pruned - names),
                         hashes, self.inventory.config_hash, pipelines)

    def record(self, item: PlanItem) -> None:
        """Called from a registration thread as a write succeeds: handed to the writer, never waited for."""
        if not self.catalog_host or item.taken not in ("created", "updated"):
            return
        self._queue.put((self.run_id, item.target.service_name, self.catalog_host, item.taken,
                         datetime.now(timezone.utc).isoformat(timespec="seconds")))

    def _drain(self) -> None:
        while True:
            rows, last = [self._queue.get()], False
            while True:
                try:
                    rows.append(self._queue.get_nowait())
                except Empty:
                    break
            if None in rows:
                rows, last = [r for r in rows if r is not None], True
            if rows:
                try:
                    self.inventory.record_writes(rows)
                except sqlite3.Error:
                    with self._lock:
                        self.unrecorded += [{"run_id": r[0], "service_name": r[1], "catalog_host": r[2],
                                             "taken": r[3], "at": r[4]} for r in rows]
            if last:
                return

    def flush(self) -> None:
        """Wait until every write handed over is recorded (or kept in memory); the writer then stops."""
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()

    def failed(self, exc: BaseException) -> str:
        """Keep what the inventory could not take, and say what happened and what to do."""
        where = f"the inventory {self.inventory.path} could not record this run ({exc})"
        if not self.unrecorded:
            return f"{where}: the report above is complete; check that no other scanner holds it and that it is " \
                   "not damaged (move it aside to start afresh)"
        try:
            journal = self.inventory.keep_pending(self.unrecorded)
        except OSError as io_error:
            names = ", ".join(w["service_name"] for w in self.unrecorded)
            return f"{where}, nor keep its catalog writes ({io_error}): scanner wrote {names}"
        return (f"{where}: the report above is complete, and its {len(self.unrecorded)} catalog write(s) are kept "
                f"in {journal} and recorded by the next run; check that no other scanner holds the inventory "
                "and that it is not damaged")


def run_once(settings: Settings, entries: list[PluginEntry], *, prune: bool = False,
             on_start: Callable[[int], None] | None = None,
             on_item: Callable[[PlanItem], None] | None = None,
             stop: threading.Event | None = None) -> RunResult:
    """Scan, record and prune. Raises what `run_scan` raises (the run is then recorded as failed).
    A run that `stop` interrupted keeps its writes (recorded as they happened) but no drift and no prune:
    its view is incomplete."""
    from scanner.discovery.run import discovered_targets, discovery_configured
    from scanner.targets import Rejected, collect, with_rejected

    found = collect(settings, entries)  # a run that cannot start fails here, before the inventory is touched
    if settings.credentials:  # a typo there would leave found instances unregistered without a word: exit 2
        from scanner.discovery.credentials import from_toml

        _, bad = from_toml(settings.credentials, {e.name: e.plugin for e in entries if e.plugin is not None})
        if bad:
            raise bad[0]
    targets = [t for t in found if not isinstance(t, Rejected)]  # an invalid target is reported, never probed
    unregistered: list[PlanItem] = []
    if settings.inventory.enabled:  # refuse a file that is not scanner's inventory before a sweep probes anything
        from scanner.inventory.store import check_usable

        check_usable(settings.inventory.resolved_path(settings.env))
    if discovery_configured(settings):  # instances nobody declared: identified, then probed when a credential applies
        extra, unregistered = discovered_targets(settings, entries, targets)
        targets = [*targets, *extra]
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
            journal = _WriteJournal(inventory, run_id, settings.catalog.host) if inventory is not None else None
            try:
                result = run_scan(settings, entries, targets=targets, on_start=on_start, on_item=on_item,
                                  owned=journal.owned() if journal else None,
                                  on_written=journal.record if journal else None, stop=stop)
            finally:
                if journal is not None:
                    journal.flush()
        except BaseException as exc:
            if inventory is not None and run_id is not None:
                inventory.fail_run(run_id, redact(str(exc)) or type(exc).__name__)
            raise
        result.items.extend(unregistered)
        rejected = with_rejected(result, found)
        if inventory is None:
            return result
        result.inventory = {"path": str(inventory.path), "run_id": run_id}
        wrote = not result.dry_run and result.catalog is not None
        records = [_record(i, inventory, wrote and i.taken in ("created", "updated")) for i in result.items
                   if id(i) not in rejected and i.duplicate_of is None]  # a duplicate is its original
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

        try:
            if result.interrupted:
                if journal is not None and journal.unrecorded:
                    inventory.keep_pending(journal.unrecorded)
                inventory.end_run(run_id, "interrupted", int(result.exit_code), totals)
            elif result.dry_run:  # show the drift and prune it would cause, keep none of it
                with inventory.rehearsal():
                    record()
                inventory.end_run(run_id, "finished", int(result.exit_code), totals)
            else:
                record()
        except (sqlite3.Error, OSError) as exc:  # the catalog was written: keep the report and the writes
            result.inventory["error"] = journal.failed(exc) if journal else str(exc)
            log.warning("%s", result.inventory["error"])
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
