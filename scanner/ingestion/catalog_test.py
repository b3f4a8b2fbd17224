"""The catalog's own test connection: OpenMetadata's TEST_CONNECTION automations workflow, as its UI runs it.

Create the workflow for the registered service (secrets sent as the mask: the server fills them from the
stored service named in the request), trigger it on the catalog's runner, poll every ``poll_interval``
until it is finished or ``verify_timeout`` passes, read the steps, and hard-delete the workflow, whatever
happened. The verdict follows the UI: every mandatory step passed and ``response.status`` Successful is
``success``; mandatory steps passed but an optional one failed is ``warning``; anything else ``failed``.
A catalog with no usable runner gives ``unavailable``: a fact about the catalog, not about the service.
"""

from __future__ import annotations

import logging
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

from scanner.errors import CatalogError
from scanner.openmetadata.ingestion_api import IngestionApi
from scanner.secrets import clip

log = logging.getLogger(__name__)
FINISHED = ("Successful", "Failed")


@dataclass
class CatalogTest:
    status: str                  # success | warning | failed | unavailable | unsupported | timeout | error
    message: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)  # {name, mandatory, passed, message}
    workflow: str | None = None  # the workflow's name (deleted afterwards)
    deleted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message or None, "steps": self.steps,
                "workflow": self.workflow, "deleted": self.deleted}


def workflow_body(service_name: str, service_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """A CreateWorkflowRequest of type TEST_CONNECTION, named as the UI names it."""
    suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(8))
    return {
        "name": f"test-connection-{service_type}-{suffix}",
        "workflowType": "TEST_CONNECTION",
        "request": {
            "connection": {"config": config},
            "serviceType": "Dashboard",
            "connectionType": service_type,
            "serviceName": service_name,
        },
    }


def run_catalog_test(api: IngestionApi, service_name: str, service_type: str, masked_config: dict[str, Any], *,
                     timeout: float, poll_interval: float, deadline: float | None = None) -> CatalogTest:
    """Run the catalog's test connection for one registered service (whose runner is known to be usable).
    `masked_config`: the config as registered, secrets as the mask (or their ``secret:`` references)."""
    body = workflow_body(service_name, service_type, masked_config)
    try:
        workflow = api.create_workflow(body)
    except CatalogError as exc:
        return CatalogTest("error", f"could not create the test-connection workflow: {exc}")
    result = CatalogTest("error", workflow=body["name"])
    try:
        _run(api, workflow["id"], result, timeout, poll_interval, deadline)
    finally:
        try:
            api.delete_workflow(workflow["id"])
            result.deleted = True
        except CatalogError as exc:
            note = f"; the workflow {body['name']} could not be deleted: {exc}"
            result.message = (result.message + note) if result.message else note[2:]
    return result


def _run(api: IngestionApi, workflow_id: str, result: CatalogTest, timeout: float, poll_interval: float,
         deadline: float | None) -> None:
    try:
        answer = api.trigger_workflow(workflow_id)
    except CatalogError as exc:
        if exc.status == 500:  # 2.0 with the runner disabled: no client, a server error (contract 3.2)
            result.status, result.message = "unavailable", f"the catalog could not run its test connection: {exc}"
        else:
            result.message = f"the catalog could not start its test connection: {exc}"
        return
    if not answer.ok:
        result.status, result.message = "unavailable", answer.why_not()
        return
    end = time.monotonic() + timeout
    if deadline is not None:
        end = min(end, deadline)
    while True:
        try:
            workflow = api.workflow(workflow_id)
        except CatalogError as exc:
            result.message = f"could not read the test-connection workflow: {exc}"
            return
        if workflow.get("status") in FINISHED:
            _verdict(workflow, result)
            return
        if time.monotonic() + poll_interval > end:
            result.status = "timeout"
            result.message = (f"the catalog's test connection did not finish within {timeout:g}s "
                              f"(workflow status {workflow.get('status')})")
            _read_steps(workflow, result)
            return
        time.sleep(poll_interval)


def _read_steps(workflow: dict[str, Any], result: CatalogTest) -> None:
    response = workflow.get("response") if isinstance(workflow.get("response"), dict) else {}
    steps = response.get("steps") if isinstance(response.get("steps"), list) else []
    result.steps = [{"name": str(s.get("name")), "mandatory": bool(s.get("mandatory", True)),
                     "passed": bool(s.get("passed")), "message": clip(str(s.get("message") or ""), 300) or None,
                     "error": clip(str(s.get("errorLog") or ""), 300) or None}
                    for s in steps if isinstance(s, dict)]


def _verdict(workflow: dict[str, Any], result: CatalogTest) -> None:
    _read_steps(workflow, result)
    response = workflow.get("response") if isinstance(workflow.get("response"), dict) else {}
    failed = [s for s in result.steps if not s["passed"]]
    mandatory_failed = [s for s in failed if s["mandatory"]]
    if workflow.get("status") == "Failed" and not result.steps:
        result.status, result.message = "failed", "the catalog's runner failed before any step"
    elif mandatory_failed or (response.get("status") != "Successful" and not failed):
        result.status = "failed"
        first = (mandatory_failed or failed or [None])[0]
        result.message = (f"step {first['name']} failed: {first['message'] or first['error'] or 'no message'}"
                          if first else f"the catalog's test connection ended {response.get('status')}")
    elif failed:
        result.status = "warning"
        result.message = "optional step(s) failed: " + ", ".join(s["name"] for s in failed)
    else:
        result.status = "success"
        result.message = f"{len(result.steps)} step(s) passed"

