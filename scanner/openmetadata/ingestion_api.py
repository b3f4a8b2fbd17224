"""OpenMetadata's ingestion API, as scanner uses it: pipelines, their runner, the automations workflows
(the catalog's own test connection) and the AutoPilot application (contract: openmetadata-ingestion.md).

Built on `CatalogClient`'s plumbing, so every failure is the same one `CatalogError` line. The runner's
answers are read with care: HTTP 200 does not mean success; ``body.code`` and ``body.platform`` say what
happened, and ``{"code": 200, "reason": "Pipeline Client Disabled"}`` means nothing was done (the 2.0.7
client's own model even refuses that body). Triggers are POSTs and never retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from scanner.errors import CatalogError
from scanner.openmetadata.client import CatalogClient, PutResult, kind_of
from scanner.secrets import clip

PIPELINES = "/services/ingestionPipelines"
WORKFLOWS = "/automations/workflows"
AUTOPILOT = "AutoPilotApplication"
DISABLED = "Pipeline Client Disabled"
PAGE = 100


@dataclass(frozen=True)
class RunnerAnswer:
    """A PipelineServiceClientResponse: what the catalog's pipeline runner said."""

    code: int | None
    platform: str | None
    reason: str | None
    run_id: str | None = None

    @property
    def disabled(self) -> bool:
        return self.reason == DISABLED or (self.platform or "").lower() == "disabled"

    @property
    def ok(self) -> bool:
        return self.code == 200 and bool(self.platform) and not self.disabled

    def why_not(self, *, with_fix: bool = True) -> str:
        """One line on why the runner did not do it (for a report); `with_fix` adds what to do."""
        if self.disabled:
            text = "the catalog's pipeline runner is disabled (Pipeline Client Disabled)"
            return text + (": nothing runs pipelines there; enable it (PIPELINE_SERVICE_CLIENT_ENABLED=true) or run "
                           "the ingestion elsewhere" if with_fix else "")
        reason = clip((self.reason or "no reason given").replace("\n", " "), 300)
        platform = f"{self.platform} " if self.platform else ""
        return f"the catalog's pipeline runner {platform}is not usable (code {self.code}): {reason}"


def _answer(body: Any) -> RunnerAnswer:
    if not isinstance(body, dict):
        return RunnerAnswer(None, None, f"the runner answered {kind_of(body)}, not a PipelineServiceClientResponse")
    code = body.get("code")
    return RunnerAnswer(code if isinstance(code, int) and not isinstance(code, bool) else None,
                        body.get("platform") if isinstance(body.get("platform"), str) else None,
                        str(body["reason"]) if body.get("reason") is not None else None,
                        body.get("runId") if isinstance(body.get("runId"), str) else None)


class IngestionApi:
    def __init__(self, client: CatalogClient):
        self.client = client

    # -- runner -------------------------------------------------------------------------------------
    def runner_status(self) -> RunnerAnswer:
        resp = self.client.call("GET", f"{PIPELINES}/status")
        return _answer(self.client.json_body(resp))

    # -- pipelines ----------------------------------------------------------------------------------
    def metadata_pipelines(self, service_fqn: str) -> list[dict[str, Any]]:
        """The service's metadata pipelines (the listing filter is an FQN prefix: keep only this service's), each
        with its recent runs (``pipelineStatuses``: a list on 2.x, one object on 1.x, absent when it has none)."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(1000):
            query = (f"?service={quote(service_fqn, safe='')}&pipelineType=metadata&serviceType=dashboardService"
                     f"&fields=pipelineStatuses&limit={PAGE}&include=non-deleted")
            if after:
                query += f"&after={quote(after, safe='')}"
            resp = self.client.call("GET", PIPELINES + query)
            body = self.client.json_body(resp)
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list) or any(not isinstance(p, dict) for p in data):
                raise self.client.shape_error(resp, "expected a list page of ingestion pipelines")
            found += [p for p in data if _service_fqn(p) == service_fqn]
            after = (body.get("paging") or {}).get("after")
            if not after or not data:
                return found
        raise CatalogError(f"catalog GET /api/v1{PIPELINES}: paging never ends for service {service_fqn}")

    def put_pipeline(self, body: dict[str, Any]) -> PutResult:
        return self.client.put_entity(PIPELINES, body, "the ingestion pipeline")

    def deploy(self, pipeline_id: str) -> RunnerAnswer:
        resp = self.client.call("POST", f"{PIPELINES}/deploy/{quote(pipeline_id, safe='')}")
        return _answer(self.client.json_body(resp))

    def trigger(self, pipeline_id: str) -> RunnerAnswer:
        resp = self.client.call("POST", f"{PIPELINES}/trigger/{quote(pipeline_id, safe='')}")
        return _answer(self.client.json_body(resp))

    def statuses(self, pipeline_fqn: str, start_ms: int, end_ms: int, *, limit: int | None = None
                 ) -> list[dict[str, Any]]:
        """The pipeline's run statuses between the two times, newest first (at most `limit`)."""
        path = f"{PIPELINES}/{quote(pipeline_fqn, safe='')}/pipelineStatus?startTs={start_ms}&endTs={end_ms}"
        if limit is not None:
            path += f"&limit={limit}"
        resp = self.client.call("GET", path)
        body = self.client.json_body(resp)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise self.client.shape_error(resp, "expected a list page of pipeline statuses")
        return [s for s in data if isinstance(s, dict)]

    # -- the catalog's test connection (automations workflow) ---------------------------------------
    def test_connection_definition(self, service_type: str) -> dict[str, Any] | None:
        """The steps the catalog's test connection runs for `service_type`, or None when it has none (e.g.
        CustomDashboard: its runner would fail before any step)."""
        name = quote(f"{service_type}.testConnectionDefinition", safe="")
        resp = self.client.call("GET", f"/services/testConnectionDefinitions/name/{name}", ok=(200, 404))
        if resp.status_code == 404:
            return None
        body = self.client.json_body(resp)
        return body if isinstance(body, dict) else None

    def create_workflow(self, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.client.call("POST", WORKFLOWS, ok=(200, 201), json=body)
        entity = self.client.json_body(resp)
        if not isinstance(entity, dict) or not isinstance(entity.get("id"), str):
            raise self.client.shape_error(resp, f"expected the workflow with an 'id', got {kind_of(entity)}")
        return entity

    def trigger_workflow(self, workflow_id: str) -> RunnerAnswer:
        resp = self.client.call("POST", f"{WORKFLOWS}/trigger/{quote(workflow_id, safe='')}")
        return _answer(self.client.json_body(resp))

    def workflow(self, workflow_id: str) -> dict[str, Any]:
        resp = self.client.call("GET", f"{WORKFLOWS}/{quote(workflow_id, safe='')}")
        entity = self.client.json_body(resp)
        if not isinstance(entity, dict):
            raise self.client.shape_error(resp, f"expected the workflow, got {kind_of(entity)}")
        return entity

    def delete_workflow(self, workflow_id: str) -> None:
        self.client.call("DELETE", f"{WORKFLOWS}/{quote(workflow_id, safe='')}?hardDelete=true", ok=(200, 404))

    # -- AutoPilot ----------------------------------------------------------------------------------
    def autopilot(self) -> dict[str, Any] | None:
        """The AutoPilot application as installed, or None when the catalog has none."""
        resp = self.client.call("GET", f"/apps/name/{AUTOPILOT}", ok=(200, 404))
        if resp.status_code == 404:
            return None
        app = self.client.json_body(resp)
        if not isinstance(app, dict):
            raise self.client.shape_error(resp, f"expected the application, got {kind_of(app)}")
        return app

    def trigger_autopilot(self, service_fqn: str) -> None:
        """What the catalog's UI does right after a service is added: AutoPilot for that service."""
        self.client.call("POST", f"/apps/trigger/{AUTOPILOT}",
                          json={"entityLink": f"<#E::dashboardService::{service_fqn}>"})


def _service_fqn(pipeline: dict[str, Any]) -> str | None:
    service = pipeline.get("service")
    if not isinstance(service, dict):
        return None
    return service.get("fullyQualifiedName") or service.get("name")
