"""The dashboard metadata pipeline scanner keeps for a service: its name, its body, and the plan for it.

One pipeline per service, named ``<service>_metadata_scanner`` (special characters as ``_``, the rule of
OpenMetadata's UI), so a re-run finds it by name and a PUT of it is idempotent. A metadata pipeline of any
other name (made by a person, or by AutoPilot as "Metadata Agent") means the service is looked after
already: scanner leaves it and creates none.

What scanner owns in its pipeline: the schedule, the ``sourceConfig.config`` keys set in ``[ingestion]
source_config`` and the logger level. Everything else a person changes in the catalog (a pause, retries,
a start date, more filters) is sent back as the catalog holds it, as for connection configs.
"""

from __future__ import annotations

import copy
import enum
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from importlib import resources
from typing import Any

from scanner.openmetadata.schema import SCHEMA_PACKAGE

PIPELINE_SCHEMA = "DashboardServiceMetadataPipeline.json"
CONFIG_TYPE = "DashboardMetadata"
SUFFIX = "_metadata_scanner"
CREATE_KEYS = ("name", "displayName", "description", "pipelineType", "sourceConfig", "airflowConfig", "loggerLevel",
               "raiseOnError", "service", "owners", "provider", "domains", "processingEngine", "enableStreamableLogs")
"""Top-level keys of CreateIngestionPipelineRequest (``additionalProperties: false``)."""
_SPECIAL = re.compile(r"""[&/\\#, +()$~%.'":*?<>{}]""")


@cache
def _schema() -> dict[str, Any]:
    return json.loads(resources.files(SCHEMA_PACKAGE).joinpath(PIPELINE_SCHEMA).read_text("utf-8"))


def source_config_errors(values: dict[str, Any]) -> list[str]:
    """How `values` (``[ingestion] source_config``) breaks OpenMetadata's DashboardServiceMetadataPipeline."""
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(_schema()).iter_errors({"type": CONFIG_TYPE, **values}),
                    key=lambda e: list(map(str, e.absolute_path)))
    out = []
    for error in errors:
        where = ".".join(map(str, error.absolute_path)) or "(source_config)"
        message = error.message.replace("Additional properties are not allowed", "unknown key")
        out.append(f"{where}: {message[:200]}")
    return out


def with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """A ``sourceConfig.config`` with the schema's top-level defaults filled (how a reader sees it)."""
    filled = copy.deepcopy(config)
    for key, prop in _schema().get("properties", {}).items():
        if key not in filled and prop.get("default") is not None:
            filled[key] = copy.deepcopy(prop["default"])
    return {k: v for k, v in filled.items() if v is not None}


def pipeline_name(service_name: str) -> str:
    """``my.superset`` -> ``my_superset_metadata_scanner`` (at most 256 characters)."""
    base = _SPECIAL.sub("_", service_name)
    return base[: 256 - len(SUFFIX)] + SUFFIX


def pipeline_fqn(service_fqn: str, name: str) -> str:
    return f"{service_fqn}.{_quote(name)}"


def _quote(name: str) -> str:
    return f'"{name}"' if "." in name else name


def create_body(service_name: str, service_id: str | None, settings, *, now: datetime | None = None) -> dict[str, Any]:
    """The CreateIngestionPipelineRequest of a new pipeline. `settings`: ``[ingestion]``. The start date is
    yesterday 00:00 UTC, as OpenMetadata's UI sets it (a schedule of a day or more needs one to run)."""
    now = now or datetime.now(timezone.utc)
    start = (now - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    airflow: dict[str, Any] = {"startDate": start.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    if settings.schedule:
        airflow["scheduleInterval"] = settings.schedule
    return {
        "name": pipeline_name(service_name),
        "displayName": f"{service_name} metadata (scanner)",
        "description": f"Dashboard metadata of {service_name}, created by scanner.",
        "pipelineType": "metadata",
        # the type is explicit: {} would read back as a database pipeline's config (contract 1.2)
        "sourceConfig": {"config": {"type": CONFIG_TYPE, **copy.deepcopy(settings.source_config)}},
        "airflowConfig": airflow,
        "loggerLevel": settings.logger_level,
        "service": {"id": service_id or "<the service's id once registered>", "type": "dashboardService"},
    }


def update_body(stored: dict[str, Any], settings) -> tuple[dict[str, Any], list[str]]:
    """The request that brings scanner's own pipeline to `settings`, keeping everything else as stored;
    and the names of the owned fields that differ (empty: nothing to send)."""
    body = {k: copy.deepcopy(v) for k, v in stored.items() if k in CREATE_KEYS and v is not None}
    body["service"] = {"id": (stored.get("service") or {}).get("id"), "type": "dashboardService"}
    body.pop("owners", None)  # inherited from the service (2.x): not ours to send
    changes = []
    airflow = dict(body.get("airflowConfig") or {})
    if airflow.get("scheduleInterval") != settings.schedule:
        changes.append("schedule")
        if settings.schedule:
            airflow["scheduleInterval"] = settings.schedule
        else:
            airflow.pop("scheduleInterval", None)
    body["airflowConfig"] = airflow
    config = dict(((body.get("sourceConfig") or {}).get("config")) or {})
    wanted = {**config, "type": CONFIG_TYPE, **settings.source_config}
    if with_defaults(wanted) != with_defaults(config):
        changes.append("sourceConfig")
    body["sourceConfig"] = {"config": wanted}
    if (stored.get("loggerLevel") or "INFO") != settings.logger_level:
        changes.append("loggerLevel")
    body["loggerLevel"] = settings.logger_level
    return body, changes


class PipelineAction(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    LEAVE = "leave"          # the service has a metadata pipeline scanner did not make
    AUTOPILOT = "autopilot"  # AutoPilot will make it
    SKIP = "skip"            # not a service scanner manages, or no catalog


@dataclass
class PipelinePlan:
    """What the run does about one service's ingestion (planned with the service, carried out after it)."""

    action: PipelineAction
    name: str | None = None
    fqn: str | None = None
    reason: str = ""
    changes: list[str] = field(default_factory=list)
    body: dict[str, Any] | None = None       # what a create or update sends (no secret in it)
    stored: dict[str, Any] | None = None     # the pipeline as the catalog holds it, when it exists
    # what the hand-off did (filled after registration)
    taken: str | None = None                 # created | updated | unchanged | left | triggered | failed | skipped
    deployed: bool | None = None
    runner: str | None = None                # the runner's platform, or why there is none
    trigger: dict[str, Any] | None = None    # {"at", "run_id", "state"}
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action.value, "name": self.name, "fqn": self.fqn, "reason": self.reason or None,
                "changes": self.changes, "taken": self.taken, "deployed": self.deployed, "runner": self.runner,
                "trigger": self.trigger, "error": self.error, "notes": self.notes}


def decide(service_name: str, service_fqn: str, existing: list[dict[str, Any]] | None, settings,
           *, new_service: bool, service_id: str | None = None) -> PipelinePlan:
    """The plan for one managed service. `existing`: its metadata pipelines as listed (None: the service is
    new, so it has none)."""
    name = pipeline_name(service_name)
    fqn = pipeline_fqn(service_fqn, name)
    others = [p for p in existing or [] if p.get("name") != name and not p.get("deleted")]
    if settings.autopilot:
        if others or any(p.get("name") == name for p in existing or []):
            made = _who(others[0]) if others else "scanner"
            return PipelinePlan(PipelineAction.LEAVE, others[0].get("name") if others else name,
                                reason=f"already has a metadata pipeline ({made}): AutoPilot not triggered")
        why = "new service" if new_service else "no metadata pipeline yet"
        return PipelinePlan(PipelineAction.AUTOPILOT, reason=f"{why}: OpenMetadata's AutoPilot sets up ingestion")
    if others:
        first = others[0]
        return PipelinePlan(PipelineAction.LEAVE, first.get("name"), first.get("fullyQualifiedName"),
                            reason=f"already has a metadata pipeline {first.get('name')} ({_who(first)}): left as "
                                   "it is, none added")
    mine = next((p for p in existing or [] if p.get("name") == name), None)
    if mine is None:
        return PipelinePlan(PipelineAction.CREATE, name, fqn, body=create_body(service_name, service_id, settings))
    body, changes = update_body(mine, settings)
    action = PipelineAction.UPDATE if changes else PipelineAction.UNCHANGED
    return PipelinePlan(action, name, mine.get("fullyQualifiedName") or fqn, reason=", ".join(changes),
                        changes=changes, body=body if changes else None, stored=mine)


def _who(pipeline: dict[str, Any]) -> str:
    if pipeline.get("provider") == "automation" or pipeline.get("displayName") == "Metadata Agent":
        return "made by AutoPilot"
    by = pipeline.get("updatedBy")
    return f"made by {by}" if by else "made in the catalog"


FIRST_RUN_GRACE = timedelta(hours=1)
"""How long a first run scanner triggered may go unseen in the catalog before it counts as never started: an
Airflow trigger records no status (the run writes its own when it starts), and 2.x hides a ``queued`` status
after ``queuedStatusTimeoutSeconds`` (3600)."""


def catalog_runs(pipeline: dict[str, Any] | None) -> bool | None:
    """Whether the catalog shows a run of `pipeline` (as listed with ``fields=pipelineStatuses``): a 2.x list of
    its last runs, a 1.x object of its last one; None when the listing does not say (the key absent or null,
    which a 1.x server also answers for a pipeline that never ran)."""
    statuses = (pipeline or {}).get("pipelineStatuses")
    if isinstance(statuses, list):
        return any(isinstance(s, dict) for s in statuses)
    if isinstance(statuses, dict):
        return bool(statuses)
    return None


def first_run(runs: bool | None, record: dict[str, Any] | None, name: str | None,
              now: datetime | None = None) -> tuple[str, str]:
    """Whether scanner's own, deployed pipeline `name` still needs its first run, and why:

    * ``ran``: the catalog shows a run of it (any state): left alone;
    * ``due``: it never got one (the catalog shows none, or, when the catalog cannot say, the inventory
      records no trigger of it): start it now;
    * ``started``: the catalog shows none yet, but scanner triggered it within `FIRST_RUN_GRACE`, or the catalog
      cannot say and the inventory records a trigger: on its way, not started again;
    * ``unknown``: neither the catalog nor the inventory can say: left as it is.

    `runs`: what the catalog says (`catalog_runs`, or its status listing); `record`: the inventory's record of
    the service's pipeline as the last run left it (``targets.pipeline``)."""
    if runs:
        return "ran", "the catalog shows a run of it"
    mine = record if record and record.get("name") == name and record.get("made_by", "scanner") == "scanner" else None
    triggered = _when((mine or {}).get("last_trigger_at"))
    if runs is False:
        now = now or datetime.now(timezone.utc)
        if triggered is not None and now - triggered < FIRST_RUN_GRACE:
            return "started", (f"first run triggered {mine['last_trigger_at']}; the catalog shows no run of it yet")
        return "due", "the catalog shows no run of it"
    if mine is None:
        return "unknown", "neither the catalog nor the inventory says whether it ever ran"
    if triggered is not None:
        return "started", f"the inventory records its first run triggered {mine['last_trigger_at']}"
    return "due", "the inventory records no trigger of it"


def _when(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def paused(pipeline: dict[str, Any] | None) -> bool:
    """A person paused or disabled the pipeline in the catalog."""
    pipeline = pipeline or {}
    return pipeline.get("enabled") is False or bool((pipeline.get("airflowConfig") or {}).get("pausePipeline"))
