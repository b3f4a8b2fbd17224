"""The hand-off stage: after the services are registered, make each one ingest.

Runs once registration is done, for the items whose registration succeeded (created, updated or
unchanged), at catalog concurrency:

1. the catalog's pipeline runner is asked once (``GET .../ingestionPipelines/status``) when anything
   needs it; a disabled or unhealthy runner is reported per service as what it is, never as success;
2. the service's pipeline is created or updated as planned (`scanner.ingestion.pipeline`), or AutoPilot
   is triggered for it;
3. a pipeline that is not deployed is deployed, and one this run created or deployed gets its first run,
   whose outcome is awaited when ``[ingestion] wait`` says so (within ``wait_timeout`` and the run deadline);
   scanner's own deployed pipeline that never got its first run (an earlier trigger was refused or failed) gets
   it now: the catalog's run statuses say whether it ran, else the inventory's record of the last trigger
   (`scanner.ingestion.pipeline.first_run`); while it cannot be started the service says so (exit 3);
4. with ``verify_in_catalog``, the catalog's own test connection (`scanner.ingestion.catalog_test`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from scanner.errors import CatalogError
from scanner.ingestion.catalog_test import run_catalog_test
from scanner.ingestion.pipeline import PipelineAction, PipelinePlan, catalog_runs, first_run, paused
from scanner.openmetadata.client import CatalogClient, quote_name
from scanner.openmetadata.ingestion_api import IngestionApi, RunnerAnswer
from scanner.secrets import redact

log = logging.getLogger(__name__)

TERMINAL = ("success", "failed", "partialSuccess", "stopped")
REGISTERED = ("created", "updated", "unchanged")


class Handoff:
    def __init__(self, catalog: CatalogClient, settings, run_end: float | None = None,
                 stop: threading.Event | None = None, records: Mapping[str, dict[str, Any]] | None = None):
        """`records`: the inventory's pipeline record of each service (``targets.pipeline``) as the run began,
        by service name; None without an inventory."""
        self.api = IngestionApi(catalog)
        self.records = records or {}
        self.catalog = catalog
        self.settings = settings.ingestion
        self.concurrency = settings.catalog.concurrency
        self.run_end = run_end
        self.stop = stop
        self.runner: RunnerAnswer | None = None
        self.runner_error: str | None = None
        self._autopilot: tuple[dict | None, str | None] | None = None
        self._definitions: dict[str, bool | str] = {}
        self._lock = threading.Lock()

    # -- the stage ----------------------------------------------------------------------------------
    def run(self, items: list) -> RunnerAnswer | None:
        for item in items:
            if item.ingestion is not None and item.taken not in REGISTERED and item.ingestion.taken is None:
                item.ingestion.taken = "skipped"  # the service itself was not registered
        todo = [i for i in items
                if i.taken in REGISTERED and (i.ingestion is not None or self.settings.verify_in_catalog)]
        if not todo:
            return None
        if self._needs_runner(todo):
            try:
                self.runner = self.api.runner_status()
            except CatalogError as exc:
                self.runner_error = f"the catalog's pipeline runner status could not be read: {exc}"
        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(todo))),
                                thread_name_prefix="handoff") as pool:
            for future in [pool.submit(self._one, item) for item in todo]:
                future.result()
        return self.runner

    def _needs_runner(self, items: list) -> bool:
        s = self.settings
        if s.verify_in_catalog or s.autopilot:
            return True
        return (s.deploy or s.run) and any(
            i.ingestion is not None and i.ingestion.action in (PipelineAction.CREATE, PipelineAction.UPDATE,
                                                                PipelineAction.UNCHANGED) for i in items)

    def runner_problem(self, *, with_fix: bool = True) -> str | None:
        """Why the catalog's runner cannot be used (None: it can). Per service the line is short (`with_fix`
        False): the run's own line says what to do."""
        if self.runner_error:
            return self.runner_error
        if self.runner is not None and not self.runner.ok:
            return self.runner.why_not(with_fix=with_fix)
        return None

    def _one(self, item) -> None:
        try:
            if item.ingestion is not None:
                if item.ingestion.action is PipelineAction.AUTOPILOT:
                    self._autopilot_for(item)
                else:
                    self._pipeline_for(item)
            if self.settings.verify_in_catalog:
                self._verify(item)
        except Exception as exc:  # noqa: BLE001 - one service's hand-off must not stop the others'
            log.debug("hand-off of %s failed", item.target.service_name, exc_info=True)
            line = f"hand-off failed: {type(exc).__name__}: {redact(str(exc))[:300]}"
            plan = item.ingestion
            if plan is not None and plan.error is None:
                plan.error, plan.taken = line, "failed"
            elif self.settings.verify_in_catalog and item.catalog_test is None:
                from scanner.ingestion.catalog_test import CatalogTest

                item.catalog_test = CatalogTest("error", line)

    # -- pipeline -----------------------------------------------------------------------------------
    def _service_ref(self, item) -> tuple[str, str]:
        """The registered service's id and FQN (from the PUT's answer, else one GET)."""
        if item.service_id:
            return item.service_id, item.service_fqn or quote_name(item.target.service_name)
        entity = self.catalog.get_service(item.target.service_name)
        if entity is None or not entity.get("id"):
            raise CatalogError(f"the service {item.target.service_name} is not in the catalog after registration")
        item.service_id, item.service_fqn = entity["id"], entity.get("fullyQualifiedName")
        return item.service_id, item.service_fqn or quote_name(item.target.service_name)

    def _pipeline_for(self, item) -> None:
        plan: PipelinePlan = item.ingestion
        if plan.action is PipelineAction.SKIP:
            plan.taken = "skipped"
            return
        if plan.action is PipelineAction.LEAVE:
            plan.taken = "left"
            return
        entity = plan.stored
        fresh = False
        try:
            if plan.action in (PipelineAction.CREATE, PipelineAction.UPDATE):
                body = dict(plan.body or {})
                service_id, _ = self._service_ref(item)
                body["service"] = {"id": service_id, "type": "dashboardService"}
                result = self.api.put_pipeline(body)
                entity = result.entity
                fresh = result.status == 201
                plan.taken = ("created" if fresh else
                              "unchanged" if result.change == "entityNoChange" else "updated")
            else:
                plan.taken = "unchanged"
        except CatalogError as exc:
            plan.taken, plan.error = "failed", str(exc)
            return
        plan.fqn = entity.get("fullyQualifiedName") or plan.fqn
        plan.deployed = bool(entity.get("deployed"))
        deployed_now = False
        if self.settings.deploy and not plan.deployed:
            deployed_now = self._deploy(plan, entity)
        elif not self.settings.deploy and not plan.deployed:
            plan.notes.append("not deployed ([ingestion] deploy = false): deploy it from the catalog to schedule it")
        if self.settings.run and (fresh or deployed_now) and plan.deployed:
            self._trigger(plan, entity)
        elif self.settings.run and plan.deployed and plan.stored is not None:
            self._first_run_if_due(item, plan, entity)

    def _runner_usable(self, plan: PipelinePlan) -> bool:
        problem = self.runner_problem(with_fix=False)
        if problem:
            plan.runner = "unavailable"
            plan.error = f"not deployed: {problem}"
            return False
        if self.runner is not None:
            plan.runner = self.runner.platform
        return True

    def _deploy(self, plan: PipelinePlan, entity: dict[str, Any]) -> bool:
        if not self._runner_usable(plan):
            return False
        try:
            answer = self.api.deploy(entity["id"])
        except CatalogError as exc:
            plan.error = f"deploy failed: {exc}"
            return False
        if not answer.ok:
            plan.runner = "unavailable" if answer.disabled else plan.runner
            plan.error = f"not deployed: {answer.why_not()}"
            return False
        plan.deployed = True
        return True

    def _first_run_if_due(self, item, plan: PipelinePlan, entity: dict[str, Any]) -> None:
        """Scanner's existing, deployed pipeline: its first run, when it never got one (a pipeline that ran, in
        any state, is left alone; a person's pipeline never gets here)."""
        runs = catalog_runs(plan.stored)
        unread = None
        if runs is None and plan.fqn:  # the listing did not say (1.x: no key when it never ran): ask its runs
            try:
                runs = bool(self.api.statuses(plan.fqn, 0, int(time.time() * 1000) + 60_000, limit=1))
            except CatalogError as exc:
                unread = f"its runs could not be read: {exc}"
        state, why = first_run(runs, self.records.get(item.target.service_name), plan.name)
        if state == "ran":
            return
        if state != "due":  # on its way, or nobody can say: not started again
            plan.notes.append(f"{why}; {unread}" if unread else why)
            return
        if paused(plan.stored) or paused(entity):
            plan.notes.append(f"first run not started ({why}): the pipeline is paused or disabled in the catalog")
            return
        pending = f"first run still pending ({why}), not started"
        problem = self.runner_problem(with_fix=False)
        if problem:
            plan.runner, plan.error = "unavailable", f"{pending}: {problem}"
            return
        if self.runner is not None:
            plan.runner = self.runner.platform
        if self._trigger(plan, entity, failed=pending):
            plan.notes.append(f"first run started now: it was still pending ({why})")

    def _trigger(self, plan: PipelinePlan, entity: dict[str, Any], *, failed: str = "first run not started") -> bool:
        started = time.time()
        try:
            answer = self.api.trigger(entity["id"])
        except CatalogError as exc:
            plan.error = f"{failed}: {exc}"
            return False
        if not answer.ok:
            plan.error = f"{failed}: {answer.why_not()}"
            return False
        plan.trigger = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "run_id": answer.run_id,
                        "state": "triggered"}
        if self.settings.wait:
            self._wait_for_run(plan, started, answer.run_id)
        return True

    def _wait_for_run(self, plan: PipelinePlan, started: float, run_id: str | None) -> None:
        end = time.monotonic() + self.settings.wait_timeout
        if self.run_end is not None:
            end = min(end, self.run_end)
        since_ms = int((started - 60) * 1000)
        while True:
            try:
                statuses = self.api.statuses(plan.fqn, since_ms, int(time.time() * 1000) + 60_000)
            except CatalogError as exc:
                plan.notes.append(f"the first run's status could not be read: {exc}")
                return
            status = _this_run(statuses, run_id, started)
            if status is not None:
                plan.trigger["state"] = status.get("pipelineState") or "unknown"
                plan.trigger["run_id"] = plan.trigger["run_id"] or status.get("runId")
                if plan.trigger["state"] in TERMINAL:
                    if plan.trigger["state"] in ("failed", "stopped"):
                        plan.error = (f"the first run ended {plan.trigger['state']}: see the pipeline's logs in the "
                                      "catalog")
                    return
            if self._stopped() or time.monotonic() + self.settings.poll_interval > end:
                plan.notes.append(f"the first run was still {plan.trigger['state']} when the wait ended")
                return
            time.sleep(self.settings.poll_interval)

    def _stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    # -- AutoPilot ----------------------------------------------------------------------------------
    def _autopilot_app(self) -> tuple[dict | None, str | None]:
        with self._lock:
            if self._autopilot is None:
                try:
                    app = self.api.autopilot()
                except CatalogError as exc:
                    self._autopilot = (None, f"AutoPilot could not be read: {exc}")
                else:
                    if app is None:
                        self._autopilot = (None, "this catalog has no AutoPilot application (OpenMetadata 1.7 or "
                                                 "later has it): use [ingestion] pipeline = true instead")
                    elif not (app.get("appConfiguration") or {}).get("active", True):
                        self._autopilot = (app, "AutoPilot is installed but not active, so a trigger does nothing: "
                                                "turn it on in the catalog (Settings > Applications > AutoPilot)")
                    else:
                        self._autopilot = (app, None)
            return self._autopilot

    def _autopilot_for(self, item) -> None:
        plan: PipelinePlan = item.ingestion
        app, problem = self._autopilot_app()
        if problem is None:
            problem = self.runner_problem(with_fix=False)
        if problem:
            plan.taken, plan.error = "failed", problem
            return
        _, fqn = self._service_ref(item)
        try:
            self.api.trigger_autopilot(fqn)
        except CatalogError as exc:
            plan.taken, plan.error = "failed", f"AutoPilot not triggered: {exc}"
            return
        plan.taken = "triggered"
        plan.runner = self.runner.platform if self.runner else None
        plan.trigger = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "run_id": None,
                        "state": "triggered"}
        if self.settings.wait:
            self._wait_for_agent(plan, fqn)

    def _wait_for_agent(self, plan: PipelinePlan, service_fqn: str) -> None:
        """AutoPilot works in the background: wait for the pipeline it makes, and its first run."""
        end = time.monotonic() + self.settings.wait_timeout
        if self.run_end is not None:
            end = min(end, self.run_end)
        started = time.time()
        while True:
            try:
                agents = self.api.metadata_pipelines(service_fqn)
            except CatalogError as exc:
                plan.notes.append(f"AutoPilot's pipeline could not be read: {exc}")
                return
            if agents:
                agent = agents[0]
                plan.name, plan.fqn, plan.deployed = agent.get("name"), agent.get("fullyQualifiedName"), \
                    bool(agent.get("deployed"))
                self._wait_for_run(plan, started, None)
                return
            if self._stopped() or time.monotonic() + self.settings.poll_interval > end:
                plan.notes.append("AutoPilot had not made its pipeline when the wait ended")
                return
            time.sleep(self.settings.poll_interval)

    # -- the catalog's own test connection ----------------------------------------------------------
    def _has_test(self, service_type: str) -> bool | str:
        """Whether the catalog has a test connection for this type (asked once per type), or why it is unknown."""
        with self._lock:
            if service_type not in self._definitions:
                try:
                    self._definitions[service_type] = self.api.test_connection_definition(service_type) is not None
                except CatalogError as exc:
                    self._definitions[service_type] = str(exc)
            return self._definitions[service_type]

    def _verify(self, item) -> None:
        from scanner.ingestion.catalog_test import CatalogTest

        config = item.request.connection.config
        deadline = self.run_end
        problem = self.runner_problem(with_fix=False)
        if problem:
            item.catalog_test = CatalogTest("unavailable", f"cannot run: {problem}")
            return
        known = self._has_test(config.service_type)
        if known is False:
            item.catalog_test = CatalogTest("unsupported", f"OpenMetadata has no test connection for "
                                                           f"{config.service_type} services")
            return
        if isinstance(known, str):
            item.catalog_test = CatalogTest("error", f"the catalog's test-connection steps could not be read: {known}")
            return
        item.catalog_test = run_catalog_test(
            self.api, item.target.service_name, config.service_type, config.dump(reveal_secrets=False),
            timeout=self.settings.verify_timeout, poll_interval=self.settings.poll_interval, deadline=deadline)


def _this_run(statuses: list[dict[str, Any]], run_id: str | None, started: float) -> dict[str, Any] | None:
    """The status of the run this hand-off started: by run id, else the newest that began after the trigger."""
    if run_id:
        return next((s for s in statuses if s.get("runId") == run_id), None)
    after = (started - 5) * 1000
    recent = [s for s in statuses if isinstance(s.get("startDate") or s.get("timestamp"), int | float)
              and (s.get("startDate") or s.get("timestamp")) >= after]
    return max(recent, key=lambda s: s.get("startDate") or s.get("timestamp"), default=None)
