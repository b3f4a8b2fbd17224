"""The ingestion side of the fake OpenMetadata: pipelines, the runner, test-connection workflows, AutoPilot, secrets.

`FakeOpenMetadata` owns one `FakeIngestion` and hands it every request its own routing does not know
(``_match`` delegation); both share the fake's lock, its dashboard services and its users. Served, on 127.0.0.1
only, per shared/contracts/openmetadata-ingestion.md §7 (server 2.0.7, or ``gen="1.13"``):

* ``GET  /api/v1/services/ingestionPipelines/status``               the runner's health (always HTTP 200)
* ``PUT|POST|GET /api/v1/services/ingestionPipelines``              create-or-update / create / list
* ``GET|DELETE /api/v1/services/ingestionPipelines/{id}`` and ``.../name/{fqn}``
* ``POST /api/v1/services/ingestionPipelines/deploy/{id}`` and ``.../trigger/{id}``
* ``GET|PUT  /api/v1/services/ingestionPipelines/{fqn}/pipelineStatus`` and ``GET .../pipelineStatus/{runId}``
* ``POST|PUT|GET /api/v1/automations/workflows``, ``POST .../trigger/{id}``, ``GET|PATCH|DELETE .../{id}``,
  ``GET .../name/{name}``                                           server-side test connection
* ``GET|PATCH /api/v1/apps/name/AutoPilotApplication``, ``POST /api/v1/apps/trigger/AutoPilotApplication``

Modes (attributes of the `FakeOpenMetadata`, changeable at any time): ``runner`` airflow | k8s | disabled | down,
``secrets_manager`` db | managed, ``autopilot`` active | inactive | absent, ``run_seconds`` (how long a triggered
run lasts), ``gen`` "2.0" | "1.13". A token may carry a subset of the operations Create, EditAll, ViewAll, Delete,
Trigger, Deploy (``add_token(..., permissions=...)``; None = all): a caller without the one an endpoint needs gets
the server's 403.

A triggered run is simulated lazily (computed when read): airflow ``running`` until trigger time + run_seconds,
k8s ``queued`` for the first half of that and ``running`` for the second, then the outcome from ``run_outcomes``
(pipeline FQN, else service name, else ``success``) with ``endDate`` set. A test-connection workflow runs the steps
of its type's test-connection definition: the first step really opens a TCP connection to the config's
``hostPort`` when (and only when) that host is a loopback one, any other host fails without a connection attempt,
every other step passes; ``test_connection_overrides`` replaces any step's outcome.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import socket
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scanner.openmetadata.schema import ConnectionSchema
from scanner.testing.fake_openmetadata import (
    _MISSING,
    MASK,
    SERVICE_TYPES,
    _ApiError,
    _apply_patch_op,
    _bad,
    _bool_param,
    _get_path,
    _mask_connection,
    _next_version,
    _not_found,
    _now_ms,
    _secret_paths,
    _set_path,
    _test_connection_definition,
    _type_error,
    page_by_fqn,
    quote_name,
)
from scanner.testing.server import Request, Response

if TYPE_CHECKING:
    from scanner.testing.fake_openmetadata import FakeOpenMetadata

__all__ = [
    "APPS_PATH",
    "AUTOPILOT_APP",
    "AUTOPILOT_STATES",
    "GENERATIONS",
    "MANAGED_PROVIDER",
    "OPERATIONS",
    "PIPELINES_PATH",
    "RUNNERS",
    "RUN_OUTCOMES",
    "SECRETS_MANAGERS",
    "WORKFLOWS_PATH",
    "FakeIngestion",
    "secret_id",
]

API_PREFIX = "/api/v1"
PIPELINES_PATH = API_PREFIX + "/services/ingestionPipelines"
WORKFLOWS_PATH = API_PREFIX + "/automations/workflows"
APPS_PATH = API_PREFIX + "/apps"

RUNNERS = ("airflow", "k8s", "disabled", "down")
SECRETS_MANAGERS = ("db", "managed")
AUTOPILOT_STATES = ("active", "inactive", "absent")
GENERATIONS = ("2.0", "1.13")
OPERATIONS = frozenset({"Create", "EditAll", "ViewAll", "Delete", "Trigger", "Deploy"})
RUN_OUTCOMES = ("success", "failed", "partialSuccess")

AUTOPILOT_APP = "AutoPilotApplication"
METADATA_AGENT = "Metadata Agent"
GOVERNANCE_BOT = "governance-bot"
SECRET_PREFIX = "secret:"
MANAGED_PROVIDER = "in-memory"
"""``secretsManagerProvider`` a workflow request gets in managed mode (one of the managed providers, §4.1)."""

PLATFORMS = {"airflow": "Airflow", "k8s": "Kubernetes", "down": "Airflow"}
DISABLED_BODY = {"code": 200, "reason": "Pipeline Client Disabled"}
DOWN_STATUS_BODY = {
    "code": 500,
    "reason": "Failed to get Airflow status due to [Connection refused]. Follow [this guide]"
    "(https://docs.open-metadata.org/deployment/ingestion/openmetadata) for further details.",
    "platform": "Airflow",
}
RECENT_RUNS = 5
"""Statuses a 2.0 server returns without a time window, and the most ``fields=pipelineStatuses`` carries."""
QUEUED_TIMEOUT_MS = 3600 * 1000
"""2.x hides a ``queued`` status older than ``queuedStatusTimeoutSeconds`` (3600)."""
CONNECT_TIMEOUT = 3.0
"""Seconds the first test-connection step waits for a loopback TCP connection."""

_NAME_SIZE_MSG = "name size must be between 1 and 256"
_NAME_PATTERN_1_13 = 'name must match "^((?!::).)*$"'
_NAME_PATTERN_2_0 = 'name must match "^((?!::)[^>"\\x00-\\x1f])*$"'
_NAME_FORBIDDEN_2_0 = re.compile(r'[>"\x00-\x1f]')

_PIPELINE_CLASS = "org.openmetadata.schema.api.services.ingestionPipelines.CreateIngestionPipeline"
_SOURCE_CONFIG_CLASS = "org.openmetadata.schema.metadataIngestion.SourceConfig"
_DASHBOARD_METADATA_CLASS = "org.openmetadata.schema.metadataIngestion.DashboardServiceMetadataPipeline"
_AIRFLOW_CLASS = "org.openmetadata.schema.entity.services.ingestionPipelines.AirflowConfig"
_STATUS_CLASS = "org.openmetadata.schema.entity.services.ingestionPipelines.PipelineStatus"
_WORKFLOW_CLASS = "org.openmetadata.schema.entity.automations.CreateWorkflow"
_TEST_REQUEST_CLASS = "org.openmetadata.schema.entity.automations.TestServiceConnectionRequest"

PIPELINE_CREATE_FIELDS = frozenset(
    {"name", "displayName", "description", "pipelineType", "sourceConfig", "airflowConfig", "loggerLevel",
     "raiseOnError", "service", "owners", "provider", "domains", "processingEngine", "enableStreamableLogs"}
)  # fmt: skip
"""Top-level keys of CreateIngestionPipeline (additionalProperties: false)."""

PIPELINE_ENTITY_FIELDS = frozenset(
    {"id", "name", "displayName", "description", "pipelineType", "owners", "fullyQualifiedName", "sourceConfig",
     "airflowConfig", "service", "pipelineStatuses", "loggerLevel", "raiseOnError", "deployed", "enabled",
     "enableStreamableLogs", "href", "version", "updatedAt", "updatedBy", "impersonatedBy", "changeDescription",
     "incrementalChangeDescription", "followers", "deleted", "provider", "domains", "applicationType",
     "ingestionRunner", "processingEngine"}
)  # fmt: skip
"""Top-level keys of the IngestionPipeline entity the fake emits (never ``openMetadataServerConnection``)."""

PIPELINE_TYPES = ("metadata", "usage", "lineage", "profiler", "autoClassification", "TestSuite", "dataInsight",
                  "elasticSearchReindex", "dbt", "application", "policyAgent")
LOG_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")
PROVIDERS = ("system", "user", "automation")
PIPELINE_STATES = ("queued", "success", "failed", "running", "partialSuccess", "stopped")
PIPELINE_FIELDS = ("owners", "followers", "pipelineStatuses")
INCLUDE_VALUES = ("non-deleted", "deleted", "all")

_STR, _BOOL, _INT, _OBJ, _LIST, _PATTERN = "str", "bool", "int", "obj", "list", "pattern"
_JAVA = {_STR: "java.lang.String", _BOOL: "java.lang.Boolean", _INT: "java.lang.Integer", _OBJ: "java.lang.Object",
         _LIST: "java.util.List", _PATTERN: "org.openmetadata.schema.type.FilterPattern"}

AIRFLOW_FIELDS = {
    "pausePipeline": _BOOL, "concurrency": _INT, "startDate": _STR, "endDate": _STR, "pipelineTimezone": _STR,
    "retries": _INT, "retryDelay": _INT, "pipelineCatchup": _BOOL, "scheduleInterval": _STR, "maxActiveRuns": _INT,
    "workflowTimeout": _INT, "workflowDefaultView": _STR, "workflowDefaultViewOrientation": _STR, "email": _STR,
}  # fmt: skip
AIRFLOW_DEFAULTS = {"pausePipeline": False, "concurrency": 1, "pipelineTimezone": "UTC", "retries": 0,
                    "retryDelay": 300, "maxActiveRuns": 1}
"""What the stored airflowConfig gains when absent (the contract's §1.4 example)."""

DASHBOARD_METADATA_FIELDS = {
    "type": _STR, "lineageInformation": _OBJ, "dashboardFilterPattern": _PATTERN, "chartFilterPattern": _PATTERN,
    "dataModelFilterPattern": _PATTERN, "projectFilterPattern": _PATTERN, "queryParserConfig": _OBJ,
    "includeOwners": _BOOL, "markDeletedDashboards": _BOOL, "markDeletedDataModels": _BOOL,
    "markDeletedCharts": _BOOL, "includeTags": _BOOL, "includeDataModels": _BOOL, "includeDraftDashboard": _BOOL,
    "includeUsage": _BOOL, "overrideMetadata": _BOOL, "overrideLineage": _BOOL,
}  # fmt: skip
"""DashboardServiceMetadataPipeline's keys (2.0.7, additionalProperties: false) and their kinds."""
DASHBOARD_METADATA_DEFAULTS = {
    "type": "DashboardMetadata", "includeOwners": False, "markDeletedDashboards": True,
    "markDeletedDataModels": True, "markDeletedCharts": True, "includeTags": True, "includeDataModels": True,
    "includeDraftDashboard": True, "includeUsage": True, "overrideMetadata": False, "overrideLineage": False,
}  # fmt: skip
"""What the Java ``DashboardServiceMetadataPipeline`` AutoPilot builds serialises to (every default set)."""
_FILTER_PATTERNS = ("dashboardFilterPattern", "chartFilterPattern", "dataModelFilterPattern", "projectFilterPattern")

STATUS_FIELDS = frozenset({"runId", "pipelineState", "startDate", "timestamp", "endDate", "status", "config",
                           "metadata"})

WORKFLOW_CREATE_FIELDS = frozenset({"name", "displayName", "description", "workflowType", "request", "status",
                                    "response", "owners", "domains"})
WORKFLOW_TYPES = ("TEST_CONNECTION", "REVERSE_INGESTION", "QUERY_RUNNER", "TEST_SPARK_ENGINE_CONNECTION")
WORKFLOW_STATUSES = ("Pending", "Successful", "Failed", "Running")
TEST_REQUEST_FIELDS = frozenset({"connection", "serviceType", "connectionType", "serviceName",
                                 "secretsManagerProvider", "ingestionRunner"})
SERVICE_CATEGORIES = ("Dashboard", "Database", "Drive", "Messaging", "Metadata", "MlModel", "Pipeline", "Storage",
                      "Search", "Api", "Security", "LLM", "Mcp")
_WORKFLOW_PATCHABLE = ("response", "status", "displayName", "description")
_NPE_MESSAGE = (
    'Cannot invoke "org.openmetadata.sdk.PipelineServiceClientInterface.runAutomationsWorkflow('
    'org.openmetadata.schema.entity.automations.Workflow)" because "pipelineServiceClient" is null'
)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_ENTITY_LINK = re.compile(r"^<#E::dashboardService::(.+)>$", re.DOTALL)
_APP_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "openmetadata-app:" + AUTOPILOT_APP))


# ------------------------------------------------------------------------------------------------------
# small pure helpers


def secret_id(service_name: str, path: list[str] | tuple[str, ...]) -> str:
    """The id a managed secrets manager stores a service's password field under (§4.1):
    ``/openmetadata/dashboard/<service>/<field path>``, lower-cased, anything outside ``[A-Za-z0-9/_-]`` -> ``_``."""
    raw = "/openmetadata/dashboard/" + service_name + "/" + "/".join(path)
    return re.sub(r"[^A-Za-z0-9/_-]", "_", raw.lower())


def _enum_error(java_type: str, value: Any, accepted: tuple[str, ...]) -> _ApiError:
    return _bad(
        f'Cannot deserialize value of type `{java_type}` from String "{value}": '
        f"not one of the values accepted for Enum class: [{', '.join(accepted)}]"
    )


def _unknown_key(key: str, java_class: str) -> _ApiError:
    return _bad(f'Unrecognized field "{key}" (class {java_class}), not marked as ignorable')


def _check_kind(field: str, kind: str, value: Any) -> None:
    """Jackson's refusal of a value of the wrong JSON type (None is always fine: the field stays unset)."""
    if value is None:
        return
    ok = {
        _STR: isinstance(value, str),
        _BOOL: isinstance(value, bool),
        _INT: isinstance(value, int) and not isinstance(value, bool),
        _OBJ: isinstance(value, dict),
        _LIST: isinstance(value, list),
        _PATTERN: isinstance(value, dict),
    }[kind]
    if not ok:
        raise _type_error(field, _JAVA[kind], value)
    if kind == _PATTERN:
        for key, items in value.items():
            if key not in ("includes", "excludes"):
                raise _unknown_key(key, _JAVA[_PATTERN])
            if items is not None and (not isinstance(items, list) or not all(isinstance(i, str) for i in items)):
                raise _type_error(f"{field}.{key}", "java.util.List<java.lang.String>", items)


def _check_uuid(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _type_error(field, "java.util.UUID", value)
    try:
        return str(uuid.UUID(value))
    except ValueError as err:
        raise _bad(
            f'Cannot deserialize value of type `java.util.UUID` from String "{value}": '
            "UUID has to be represented by standard 36-char representation"
        ) from err


def _yesterday_iso() -> str:
    day = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    return day.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _is_loopback(host: str) -> str | None:
    """The address to connect to when `host` is a loopback host (127.0.0.0/8, ::1, localhost), else None."""
    if host.lower() == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return str(address) if address.is_loopback else None


def _host_port(value: str) -> tuple[str, int]:
    """``https://h:1/`` or ``h:1`` -> (h, 1); a URL without a port gets its scheme's default port."""
    text = value.strip()
    parts = urlsplit(text if "://" in text else "//" + text)
    host = parts.hostname
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    if not host or not port:
        raise ValueError(f"no host and port in {value!r}")
    return host, port


def _fields(request: Request, allowed: tuple[str, ...]) -> tuple[str, ...]:
    wanted: list[str] = []
    for item in (f.strip() for f in (request.query.get("fields") or "").split(",")):
        if not item:
            continue
        if item == "*":
            wanted.extend(allowed)
        elif item in allowed:
            wanted.append(item)
        else:
            raise _bad(f"Invalid field name {item}")
    return tuple(wanted)


def _include(request: Request) -> str:
    include = request.query.get("include") or "non-deleted"
    if include not in INCLUDE_VALUES:
        raise _bad(f"query param include must be one of {list(INCLUDE_VALUES)}")
    return include


def _visible(entity: dict, include: str) -> bool:
    return include == "all" or (include == "deleted") == bool(entity.get("deleted"))


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as err:
        raise _bad(f"query param {name} must be an integer") from err


def _client_body(reason_message: str, platform: str) -> dict[str, Any]:
    """A runner's PipelineServiceClientResponse; ``reason`` is the runner's own JSON, as Airflow's plugin writes it."""
    return {"code": 200, "reason": json.dumps({"message": reason_message}), "platform": platform}


def _change(name: str, old: Any, new: Any) -> dict[str, Any]:
    return {"name": name, "oldValue": old, "newValue": new}


# ------------------------------------------------------------------------------------------------------
# the ingestion side


class FakeIngestion:
    """State and endpoints of the ingestion API; owned by a `FakeOpenMetadata` (``fake._ingestion``).

    Every handler runs under the fake's lock (its ``_app`` takes it); the inspection helpers take it too.
    """

    def __init__(self, om: FakeOpenMetadata):
        self._om = om
        self.permissions: dict[str, frozenset[str] | None] = {}
        self.pipelines: dict[str, dict] = {}
        """fqn -> stored pipeline (plaintext, soft-deleted ones included)."""
        self.runs: dict[str, list[dict]] = {}
        """pipeline fqn -> [{"status": PipelineStatus, "sim": simulation state or None, "seq": n}]."""
        self.workflows: dict[str, dict] = {}
        """id -> stored workflow (soft-deleted ones included)."""
        self.deleted_workflows: list[str] = []
        self.run_outcomes: dict[str, str] = {}
        self.test_connection_overrides: dict[str, dict[str, tuple[bool, str]]] = {}
        self.autopilot_triggers: list[str] = []
        self.secret_store: dict[str, str] = {}
        self._sent_host_port: dict[str, Any] = {}  # workflow id -> hostPort as sent (before defaults)
        self._progress: dict[str, int] = {}  # workflow id -> GETs seen since a k8s trigger
        self._pending: dict[str, dict] = {}  # workflow id -> k8s result whose last steps the next GET reveals
        self._seq = 0
        self._app_version = 0.1
        self._app_updated_at = _now_ms()
        self._app_updated_by = "admin"
        self.check_modes()

    # -- modes ------------------------------------------------------------------------------------------
    def check_modes(self) -> None:
        om = self._om
        for name, value, allowed in (
            ("runner", om.runner, RUNNERS),
            ("secrets_manager", om.secrets_manager, SECRETS_MANAGERS),
            ("autopilot", om.autopilot, AUTOPILOT_STATES),
            ("gen", om.gen, GENERATIONS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        if not isinstance(om.run_seconds, int | float) or om.run_seconds < 0:
            raise ValueError(f"run_seconds must be a number >= 0, not {om.run_seconds!r}")

    def _runner(self) -> str:
        self.check_modes()
        return self._om.runner

    # -- permissions ------------------------------------------------------------------------------------
    def set_permissions(self, user_name: str, permissions: Any) -> None:
        if permissions is None:
            self.permissions[user_name] = None
            return
        granted = frozenset(permissions)
        unknown = granted - OPERATIONS
        if unknown:
            raise ValueError(f"unknown operations {sorted(unknown)}; known: {sorted(OPERATIONS)}")
        self.permissions[user_name] = granted

    def _can(self, caller: dict, operation: str) -> bool:
        granted = self.permissions.get(caller["name"])
        return granted is None or operation in granted

    def _require(self, caller: dict, *operations: str) -> None:
        """403 unless the caller holds one of `operations` (the first names the refusal)."""
        if any(self._can(caller, op) for op in operations):
            return
        raise _ApiError(
            403, f"Principal: CatalogPrincipal{{name='{caller['name']}'}} operations [{operations[0]}] not allowed"
        )

    # -- inspection (the FakeOpenMetadata properties) ---------------------------------------------------
    def snapshot_pipelines(self) -> dict[str, dict]:
        with self._om._lock:
            return copy.deepcopy(self.pipelines)

    def snapshot_statuses(self) -> dict[str, list[dict]]:
        with self._om._lock:
            now = _now_ms()
            return {fqn: [copy.deepcopy(r["status"]) for r in self._ordered(fqn, now)] for fqn in self.runs}

    def snapshot_workflows(self) -> dict[str, dict]:
        with self._om._lock:
            return {k: copy.deepcopy(v) for k, v in self.workflows.items() if not v.get("deleted")}

    def add_pipeline(
        self,
        service_name: str,
        name: str,
        *,
        provider: str = "user",
        display_name: str | None = None,
        deployed: bool = False,
        pipeline_type: str = "metadata",
    ) -> dict:
        """A pipeline made outside scanner: by a person (provider "user", updatedBy admin) or by AutoPilot
        (provider "automation", updatedBy governance-bot, AutoPilot's own sourceConfig and schedule)."""
        if provider not in PROVIDERS:
            raise ValueError(f"provider must be one of {PROVIDERS}")
        if pipeline_type not in PIPELINE_TYPES:
            raise ValueError(f"pipeline_type must be one of {PIPELINE_TYPES}")
        with self._om._lock:
            service = self._om._services.get(quote_name(service_name))
            if service is None or service.get("deleted"):
                raise KeyError(f"no dashboard service named {service_name!r}")
            fqn = f"{service['fullyQualifiedName']}.{quote_name(name)}"
            if fqn in self.pipelines:
                raise ValueError(f"pipeline {fqn} exists")
            if provider == "automation":
                create = self._autopilot_create(service, name=name, display_name=display_name)
                caller = self._governance_bot()
            else:
                create = {"name": name, "pipelineType": pipeline_type, "provider": provider,
                          "sourceConfig": {"config": {"type": "DashboardMetadata"}}, "airflowConfig": {}}
                if display_name is not None:
                    create["displayName"] = display_name
                caller = {"name": "admin", "isBot": False}
            create["pipelineType"] = pipeline_type
            entity = self._new_pipeline(create, service, fqn, caller)
            entity["deployed"] = bool(deployed)
            self.pipelines[fqn] = entity
            return copy.deepcopy(entity)

    # -- managed secrets (hook of the service PUT/POST/bulk) --------------------------------------------
    def store_service_secrets(self, create: dict) -> None:
        """Managed mode: each plaintext password field goes to `secret_store` and becomes ``secret:<id>``."""
        if self._om.secrets_manager != "managed":
            return
        config = (create.get("connection") or {}).get("config")
        if not isinstance(config, dict):
            return
        for parts in _secret_paths(create["serviceType"], config):
            value = _get_path(config, parts)
            if not isinstance(value, str) or value.startswith(SECRET_PREFIX) or value == MASK:
                continue
            key = secret_id(create["name"], parts)
            self.secret_store[key] = value
            _set_path(config, parts, SECRET_PREFIX + key)

    # -- routing ----------------------------------------------------------------------------------------
    def match(self, seg: list[str], method: str) -> dict[str, Any] | None:
        """The handlers of the ingestion routes (by method), or None when `seg` is none of them."""
        if seg[:2] == ["services", "ingestionPipelines"]:
            return self._match_pipelines(seg[2:])
        if seg[:2] == ["automations", "workflows"]:
            return self._match_workflows(seg[2:])
        if seg[:1] == ["apps"] and len(seg) == 3 and seg[1] in ("name", "trigger"):
            app = seg[2]
            if seg[1] == "name":
                return {"GET": lambda r, u: self._get_app(app), "PATCH": lambda r, u: self._patch_app(r, u, app)}
            return {"POST": lambda r, u: self._trigger_app(r, u, app)}
        return None

    def _match_pipelines(self, rest: list[str]) -> dict[str, Any] | None:
        if not rest:
            return {"GET": self._list_pipelines, "PUT": self._put_pipeline, "POST": self._post_pipeline}
        if rest == ["status"]:
            return {"GET": lambda r, u: Response.json(self._status_body())}
        if len(rest) == 2 and rest[0] in ("deploy", "trigger"):
            pid = rest[1]
            if rest[0] == "deploy":
                return {"POST": lambda r, u: self._deploy(u, pid)}
            return {"POST": lambda r, u: self._trigger(u, pid)}
        if len(rest) == 2 and rest[0] == "name":
            fqn = rest[1]
            return {
                "GET": lambda r, u: self._get_pipeline(r, u, by_name=fqn),
                "DELETE": lambda r, u: self._delete_pipeline(r, u, by_name=fqn),
            }
        if len(rest) == 2 and rest[1] == "pipelineStatus":
            fqn = rest[0]
            return {
                "GET": lambda r, u: self._list_statuses(r, fqn),
                "PUT": lambda r, u: self._put_status(r, u, fqn),
            }
        if len(rest) == 3 and rest[1] == "pipelineStatus":
            fqn, run_id = rest[0], rest[2]
            return {"GET": lambda r, u: self._get_status(fqn, run_id)}
        if len(rest) == 1:
            pid = rest[0]
            return {
                "GET": lambda r, u: self._get_pipeline(r, u, by_id=pid),
                "DELETE": lambda r, u: self._delete_pipeline(r, u, by_id=pid),
            }
        return None

    def _match_workflows(self, rest: list[str]) -> dict[str, Any] | None:
        if not rest:
            return {"GET": self._list_workflows, "POST": self._post_workflow, "PUT": self._put_workflow}
        if len(rest) == 2 and rest[0] == "trigger":
            wid = rest[1]
            return {"POST": lambda r, u: self._trigger_workflow(wid)}
        if len(rest) == 2 and rest[0] == "name":
            name = rest[1]
            return {"GET": lambda r, u: self._get_workflow(r, u, by_name=name)}
        if len(rest) == 1:
            wid = rest[0]
            return {
                "GET": lambda r, u: self._get_workflow(r, u, by_id=wid),
                "PATCH": lambda r, u: self._patch_workflow(r, u, wid),
                "DELETE": lambda r, u: self._delete_workflow(r, u, wid),
            }
        return None

    # ==================================================================================================
    # runner health

    def _status_body(self) -> dict[str, Any]:
        runner = self._runner()
        if runner == "disabled":
            return dict(DISABLED_BODY)
        if runner == "down":
            return dict(DOWN_STATUS_BODY)
        return {"code": 200, "version": self._om.version, "platform": PLATFORMS[runner]}

    # ==================================================================================================
    # pipelines: validation and storage

    def _name_violations(self, name: Any) -> list[str]:
        if name is None:
            return ["name must not be null"]
        out = []
        if not 1 <= len(name) <= 256:
            out.append(_NAME_SIZE_MSG)
        if self._om.gen == "1.13":
            if "::" in name:
                out.append(_NAME_PATTERN_1_13)
        elif "::" in name or _NAME_FORBIDDEN_2_0.search(name):
            out.append(_NAME_PATTERN_2_0)
        return out

    def _validate_pipeline(self, body: Any) -> tuple[dict, dict, str]:
        """Deserialisation + bean validation of a CreateIngestionPipeline; returns (cleaned, service, fqn)."""
        if not isinstance(body, dict):
            raise _type_error("<body>", "CreateIngestionPipeline", body)
        for key in body:
            if key not in PIPELINE_CREATE_FIELDS:
                raise _unknown_key(key, _PIPELINE_CLASS)
        kinds = {"name": _STR, "displayName": _STR, "description": _STR, "pipelineType": _STR,
                 "sourceConfig": _OBJ, "airflowConfig": _OBJ, "loggerLevel": _STR, "raiseOnError": _BOOL,
                 "service": _OBJ, "owners": _LIST, "provider": _STR, "domains": _LIST, "processingEngine": _OBJ,
                 "enableStreamableLogs": _BOOL}
        for key, kind in kinds.items():
            _check_kind(key, kind, body.get(key))
        for key, java_type, accepted in (("pipelineType", "PipelineType", PIPELINE_TYPES),
                                         ("loggerLevel", "LogLevels", LOG_LEVELS),
                                         ("provider", "ProviderType", PROVIDERS)):
            if body.get(key) is not None and body[key] not in accepted:
                raise _enum_error(java_type, body[key], accepted)
        for item in body.get("domains") or []:
            _check_kind("domains", _STR, item)

        service_ref = body.get("service")
        violations = self._name_violations(body.get("name"))
        for key in ("pipelineType", "sourceConfig", "airflowConfig", "service"):
            if body.get(key) is None:
                violations.append(f"{key} must not be null")
        if isinstance(service_ref, dict):
            for key in ("id", "type"):
                if service_ref.get(key) is None:
                    violations.append(f"service.{key} must not be null")
        if violations:
            raise _bad("[" + ", ".join(violations) + "]")

        source_config = self._check_source_config(body["sourceConfig"])
        airflow = self._check_airflow(body["airflowConfig"])
        service_id = _check_uuid("service.id", service_ref["id"])
        service_type = service_ref["type"]
        _check_kind("service.type", _STR, service_type)
        service = None
        if service_type == "dashboardService":
            service = next((s for s in self._om._services.values()
                            if s["id"] == service_id and not s.get("deleted")), None)
        if service is None:
            raise _not_found(service_type, service_id)
        try:
            fqn = f"{service['fullyQualifiedName']}.{quote_name(body['name'])}"
        except ValueError as err:
            raise _bad(str(err)) from err
        cleaned = copy.deepcopy(body)
        cleaned["sourceConfig"] = source_config
        cleaned["airflowConfig"] = airflow
        return cleaned, service, fqn

    @staticmethod
    def _check_source_config(source_config: dict) -> dict:
        for key in source_config:
            if key != "config":
                raise _unknown_key(key, _SOURCE_CONFIG_CLASS)
        config = source_config.get("config")
        _check_kind("sourceConfig.config", _OBJ, config)
        if isinstance(config, dict) and config.get("type") == "DashboardMetadata":
            for key, value in config.items():
                if key not in DASHBOARD_METADATA_FIELDS:
                    raise _unknown_key(key, _DASHBOARD_METADATA_CLASS)
                _check_kind(f"sourceConfig.config.{key}", DASHBOARD_METADATA_FIELDS[key], value)
        return copy.deepcopy(source_config)  # stored verbatim, like the server ({"config": {}} included)

    @staticmethod
    def _check_airflow(airflow: dict) -> dict:
        for key, value in airflow.items():
            if key not in AIRFLOW_FIELDS:
                raise _unknown_key(key, _AIRFLOW_CLASS)
            _check_kind(f"airflowConfig.{key}", AIRFLOW_FIELDS[key], value)
        stored = {k: copy.deepcopy(v) for k, v in airflow.items() if v is not None}
        for key, value in AIRFLOW_DEFAULTS.items():
            stored.setdefault(key, value)
        return stored

    def _governance_bot(self) -> dict:
        self._om.add_user(GOVERNANCE_BOT, is_bot=True)
        return {"name": GOVERNANCE_BOT, "isBot": True}

    @staticmethod
    def _service_ref(service: dict) -> dict:
        return {"id": service["id"], "type": "dashboardService", "name": service["name"],
                "fullyQualifiedName": service["fullyQualifiedName"], "deleted": False}

    def _desired(self, create: dict) -> dict:
        """The fields a create (or a PUT) sets, with the create's defaults (what the mapper produces)."""
        desired: dict[str, Any] = {
            "pipelineType": create["pipelineType"],
            "sourceConfig": copy.deepcopy(create["sourceConfig"]),
            "airflowConfig": copy.deepcopy(create["airflowConfig"]),
            "loggerLevel": create.get("loggerLevel") or "INFO",
            "raiseOnError": True if create.get("raiseOnError") is None else create["raiseOnError"],
            "provider": create.get("provider") or "user",
            "enableStreamableLogs": bool(create.get("enableStreamableLogs")),
        }
        for key in ("displayName", "description", "processingEngine"):
            if create.get(key) is not None:
                desired[key] = copy.deepcopy(create[key])
        return desired

    def _new_pipeline(self, create: dict, service: dict, fqn: str, caller: dict) -> dict:
        pid = str(uuid.uuid4())
        entity: dict[str, Any] = {"id": pid, "name": create["name"], "fullyQualifiedName": fqn}
        entity.update(self._desired(create))
        entity["service"] = self._service_ref(service)
        owners = self._om._resolve_owners(create.get("owners"))
        if owners:
            entity["owners"] = owners
        domains = self._om._resolve_domains(create.get("domains"))
        if domains:
            entity["domains"] = domains
        entity.update(
            deployed=False,
            enabled=True,
            followers=[],
            version=0.1,
            updatedAt=_now_ms(),
            updatedBy=caller["name"],
            deleted=False,
        )
        return entity

    @staticmethod
    def _bump(updated: dict, original: dict, caller: dict, changed: list[dict], added: list | None = None) -> None:
        updated["version"] = _next_version(original.get("version", 0.1))
        updated["updatedAt"] = max(_now_ms(), int(original.get("updatedAt") or 0) + 1)
        updated["updatedBy"] = caller["name"]
        updated["changeDescription"] = {
            "fieldsAdded": list(added or []),
            "fieldsUpdated": changed,
            "fieldsDeleted": [],
            "previousVersion": original.get("version", 0.1),
        }

    def _update_pipeline(self, original: dict, create: dict, caller: dict) -> tuple[dict, str]:
        """A PUT on an existing pipeline (the updater + 2.x ``deployIfRequired``)."""
        desired = self._desired(create)
        updated = copy.deepcopy(original)
        changed: list[dict] = []
        added: list[dict] = []
        if original.get("deleted"):
            updated["deleted"] = False
            changed.append(_change("deleted", True, False))
        bot = bool(caller.get("isBot"))
        for key in ("displayName", "description"):
            old, new = original.get(key), desired.get(key)
            if (bot and old) or new is None or old == new:
                continue  # a bot's PUT never overwrites a curated value; an absent value is not a removal
            (added if old is None else changed).append(_change(key, old, new))
            updated[key] = new
        if desired["sourceConfig"] != original.get("sourceConfig"):
            changed.append(_change("sourceConfig", "old-encrypted-value", "new-encrypted-value"))
            updated["sourceConfig"] = desired["sourceConfig"]
        for key in ("airflowConfig", "loggerLevel", "raiseOnError", "enableStreamableLogs", "processingEngine"):
            if key in desired and desired[key] != original.get(key):
                changed.append(_change(key, copy.deepcopy(original.get(key)), copy.deepcopy(desired[key])))
                updated[key] = desired[key]
        owners = self._om._resolve_owners(create.get("owners"))
        if owners and self._om._ids(owners) != self._om._ids(original.get("owners")):
            changed.append(_change("owners", json.dumps(original.get("owners") or []), json.dumps(owners)))
            updated["owners"] = owners
        domains = self._om._resolve_domains(create.get("domains"))
        if domains and self._om._ids(domains) != self._om._ids(original.get("domains")):
            changed.append(_change("domains", json.dumps(original.get("domains") or []), json.dumps(domains)))
            updated["domains"] = domains
        if not (changed or added):
            return original, "entityNoChange"
        self._redeploy_if_required(original, updated)
        self._bump(updated, original, caller, changed, added)
        self.pipelines[original["fullyQualifiedName"]] = updated
        return updated, "entityUpdated"

    def _redeploy_if_required(self, original: dict, updated: dict) -> None:
        """2.x: a deployed pipeline whose schedule, enabled flag, sourceConfig or log level changes is redeployed
        before the change is saved; a runner that cannot deploy refuses the PUT."""
        if self._om.gen == "1.13":
            return
        schedule = (original.get("airflowConfig") or {}).get("scheduleInterval")
        required = (
            schedule != (updated.get("airflowConfig") or {}).get("scheduleInterval")
            or original.get("enabled") != updated.get("enabled")
            or original.get("sourceConfig") != updated.get("sourceConfig")
            or original.get("loggerLevel") != updated.get("loggerLevel")
        )
        if not required or not original.get("deployed") or self._runner() == "disabled":
            return
        if self._runner() == "down":
            raise _bad("Deployment failed: runner unavailable. Changes not saved.")

    # -- pipelines: rendering and lookup ----------------------------------------------------------------
    def _effective_owners(self, entity: dict) -> list[dict]:
        if entity.get("owners"):
            return copy.deepcopy(entity["owners"])
        service = next((s for s in self._om._services.values() if s["id"] == entity["service"]["id"]), None)
        return [dict(copy.deepcopy(o), inherited=True) for o in (service or {}).get("owners") or []]

    def _render_pipeline(self, entity: dict, caller: dict, fields: tuple[str, ...] | None = None) -> dict:
        """The response body; ``fields`` None = a write response (owners when there are any)."""
        skip = ("owners", "followers", "pipelineStatuses")
        out = {k: copy.deepcopy(v) for k, v in entity.items() if k in PIPELINE_ENTITY_FIELDS and k not in skip}
        out["href"] = f"{self._om.url}{PIPELINES_PATH}/{entity['id']}"
        owners = self._effective_owners(entity)
        if fields is None:
            if owners:
                out["owners"] = owners
        else:
            if "owners" in fields:
                out["owners"] = owners
            if "followers" in fields:
                out["followers"] = copy.deepcopy(entity.get("followers") or [])
            if "pipelineStatuses" in fields:
                recent = [copy.deepcopy(r["status"]) for r in self._ordered(entity["fullyQualifiedName"])]
                if self._om.gen == "1.13":
                    if recent:
                        out["pipelineStatuses"] = recent[0]
                else:
                    out["pipelineStatuses"] = recent[:RECENT_RUNS]
        if not self._can(caller, "ViewAll"):
            out["sourceConfig"] = {"config": None}
        return out

    def _find_pipeline(self, include: str = "non-deleted", *, by_id: str | None = None,
                       by_name: str | None = None) -> dict:
        if by_name is not None:
            entity, shown = self.pipelines.get(by_name), by_name
        else:
            entity = next((e for e in self.pipelines.values() if e["id"] == by_id), None)
            shown = str(by_id)
        if entity is None or not _visible(entity, include):
            raise _not_found("ingestionPipeline", shown)
        return entity

    # -- pipelines: endpoints ---------------------------------------------------------------------------
    def _put_pipeline(self, request: Request, caller: dict) -> Response:
        create, service, fqn = self._validate_pipeline(self._om._json_body(request))
        original = self.pipelines.get(fqn)
        if original is None:
            self._require(caller, "Create")
            entity = self._new_pipeline(create, service, fqn, caller)
            self.pipelines[fqn] = entity
            return Response.json(self._render_pipeline(entity, caller), 201, {"X-OpenMetadata-Change": "entityCreated"})
        self._require(caller, "EditAll")
        entity, change = self._update_pipeline(original, create, caller)
        return Response.json(self._render_pipeline(entity, caller), 200, {"X-OpenMetadata-Change": change})

    def _post_pipeline(self, request: Request, caller: dict) -> Response:
        create, service, fqn = self._validate_pipeline(self._om._json_body(request))
        self._require(caller, "Create")
        if fqn in self.pipelines:
            raise _ApiError(409, "Entity already exists")
        entity = self._new_pipeline(create, service, fqn, caller)
        self.pipelines[fqn] = entity
        href = f"{self._om.url}{PIPELINES_PATH}/{entity['id']}"
        return Response.json(self._render_pipeline(entity, caller), 201, {"Location": href})

    def _get_pipeline(self, request: Request, caller: dict, **key: str) -> Response:
        fields = _fields(request, PIPELINE_FIELDS)
        entity = self._find_pipeline(_include(request), **key)
        return Response.json(self._render_pipeline(entity, caller, fields))

    def _list_pipelines(self, request: Request, caller: dict) -> Response:
        fields = _fields(request, PIPELINE_FIELDS)
        include = _include(request)
        limit = _int_param(request, "limit")
        limit = 10 if limit is None else limit
        if not 0 <= limit <= 1_000_000:
            raise _bad("[query param limit must be between 0 and 1000000]")
        items = [e for e in self.pipelines.values() if _visible(e, include)]
        service = request.query.get("service")
        if service:
            try:
                prefix = quote_name(service) + "."
            except ValueError as err:
                raise _bad(str(err)) from err
            items = [e for e in items if e["fullyQualifiedName"].startswith(prefix)]
        types = [t.strip() for t in (request.query.get("pipelineType") or "").split(",") if t.strip()]
        if types:
            items = [e for e in items if e["pipelineType"] in types]
        if request.query.get("serviceType"):
            items = [e for e in items if e["service"]["type"] == request.query["serviceType"]]
        if request.query.get("provider"):
            items = [e for e in items if e.get("provider") == request.query["provider"]]
        page, paging = page_by_fqn(items, limit, request.query.get("after"))
        return Response.json({"data": [self._render_pipeline(e, caller, fields) for e in page], "paging": paging})

    def _delete_pipeline(self, request: Request, caller: dict, **key: str) -> Response:
        hard = _bool_param(request.query.get("hardDelete"), False)
        entity = self._find_pipeline("all" if hard else "non-deleted", **key)
        self._require(caller, "Delete")
        fqn = entity["fullyQualifiedName"]
        if hard:
            if self._runner() == "down" and not _bool_param(request.query.get("force"), False):
                raise _bad(f"Failed to delete pipeline [{entity['name']}] due to [Connection refused].")
            del self.pipelines[fqn]
            self.runs.pop(fqn, None)
            return Response.json(self._render_pipeline(entity, caller), 200,
                                 {"X-OpenMetadata-Change": "entityDeleted"})
        return self._soft_delete(self.pipelines, fqn, entity, caller, self._render_pipeline)

    def _soft_delete(self, table: dict, key: str, entity: dict, caller: dict, render) -> Response:
        """Mark `entity` deleted (a new version), as a DELETE without ``hardDelete`` does."""
        updated = copy.deepcopy(entity)
        updated["deleted"] = True
        self._bump(updated, entity, caller, [_change("deleted", False, True)])
        table[key] = updated
        return Response.json(render(updated, caller), 200, {"X-OpenMetadata-Change": "entitySoftDeleted"})

    # -- deploy / trigger -------------------------------------------------------------------------------
    def _deploy(self, caller: dict, pid: str) -> Response:
        self._require(caller, "Deploy", "EditAll")
        if self._runner() == "disabled":
            return Response.json(dict(DISABLED_BODY))
        entity = self._find_pipeline(by_id=pid)
        return Response.json(self._deploy_entity(entity, caller))

    def _deploy_entity(self, entity: dict, caller: dict) -> dict[str, Any]:
        runner = self._runner()
        if runner == "down":
            raise _bad(f"Failed to deploy pipeline [{entity['name']}] due to [Connection refused].")
        if not entity.get("deployed"):
            updated = copy.deepcopy(entity)
            updated["deployed"] = True
            self._bump(updated, entity, caller, [_change("deployed", False, True)])
            self.pipelines[entity["fullyQualifiedName"]] = updated
        return _client_body(f"Workflow [{entity['name']}] has been created", PLATFORMS[runner])

    def _trigger(self, caller: dict, pid: str) -> Response:
        self._require(caller, "Trigger")
        if self._runner() == "disabled":
            return Response.json(dict(DISABLED_BODY))
        entity = self._find_pipeline(by_id=pid)
        return Response.json(self._trigger_entity(entity))

    def _trigger_entity(self, entity: dict) -> dict[str, Any]:
        runner = self._runner()
        if runner == "down" or not entity.get("deployed"):
            raise _bad(f"Failed to deploy pipeline [{entity['name']}] due to [Failed to trigger IngestionPipeline].")
        now = _now_ms()
        run_id = str(uuid.uuid4())
        end = now + int(round(float(self._om.run_seconds) * 1000))
        k8s = runner == "k8s"
        status = {"runId": run_id, "pipelineState": "queued" if k8s else "running", "startDate": now,
                  "timestamp": now}
        sim = {"queued_until": (now + (end - now) // 2) if k8s else now, "end": end}
        self._add_run(entity["fullyQualifiedName"], status, sim)
        body = _client_body(f"Workflow [{entity['name']}] has been triggered", PLATFORMS[runner])
        if k8s:
            body["runId"] = run_id
        return body

    # -- runs and statuses ------------------------------------------------------------------------------
    def _add_run(self, fqn: str, status: dict, sim: dict | None) -> None:
        self._seq += 1
        self.runs.setdefault(fqn, []).append({"status": status, "sim": sim, "seq": self._seq})

    def _outcome(self, fqn: str) -> str:
        entity = self.pipelines.get(fqn)
        service_name = entity["service"]["name"] if entity else None
        outcome = self.run_outcomes.get(fqn) or (self.run_outcomes.get(service_name) if service_name else None)
        outcome = outcome or "success"
        if outcome not in RUN_OUTCOMES:
            raise ValueError(f"run_outcomes[{fqn!r}] must be one of {RUN_OUTCOMES}, not {outcome!r}")
        return outcome

    def _advance(self, fqn: str, now: int) -> None:
        """Bring the simulated runs of one pipeline up to `now` (queued -> running -> outcome)."""
        for run in self.runs.get(fqn, []):
            sim = run["sim"]
            if sim is None:
                continue
            status = run["status"]
            if now >= sim["end"]:
                status["pipelineState"] = self._outcome(fqn)
                status["endDate"] = sim["end"]
                run["sim"] = None
            elif now >= sim["queued_until"]:
                status["pipelineState"] = "running"

    def _ordered(self, fqn: str, now: int | None = None) -> list[dict]:
        """The runs of a pipeline, newest first (by timestamp, nulls last), simulation brought up to date."""
        now = _now_ms() if now is None else now
        self._advance(fqn, now)
        def newest_first(run: dict) -> tuple[bool, int, int]:
            stamp = run["status"].get("timestamp")
            return stamp is None, -(stamp or 0), -run["seq"]

        return sorted(self.runs.get(fqn, []), key=newest_first)

    def _pipeline_for_status(self, fqn: str) -> dict:
        return self._find_pipeline(by_name=fqn)

    def _list_statuses(self, request: Request, fqn: str) -> Response:
        self._pipeline_for_status(fqn)
        start, end, limit = (_int_param(request, n) for n in ("startTs", "endTs", "limit"))
        if self._om.gen == "1.13":
            missing = [f"query param {n} must not be null" for n, v in (("startTs", start), ("endTs", end))
                       if v is None]
            if missing:
                raise _bad("[" + ", ".join(missing) + "]")
        if limit is None and start is None and end is None:
            limit = RECENT_RUNS
        now = _now_ms()
        low = start if start is not None else -(2**63)
        high = end if end is not None else 2**63
        statuses = []
        for run in self._ordered(fqn, now):
            status = run["status"]
            stamp = status.get("timestamp")
            if stamp is not None and not low <= stamp <= high:
                continue
            if status.get("pipelineState") == "queued" and stamp is not None and stamp < now - QUEUED_TIMEOUT_MS:
                continue
            statuses.append(copy.deepcopy(status))
        if limit is not None:
            statuses = statuses[: max(limit, 0)]
        paging: dict[str, Any] = {"total": len(statuses)}
        if start is not None:
            paging["before"] = str(start)
        if end is not None:
            paging["after"] = str(end)
        return Response.json({"data": statuses, "paging": paging})

    def _get_status(self, fqn: str, run_id: str) -> Response:
        self._pipeline_for_status(fqn)
        run = next((r for r in self._ordered(fqn) if r["status"].get("runId") == run_id), None)
        if run is None:
            raise _not_found("pipelineStatus", run_id)
        return Response.json(copy.deepcopy(run["status"]))

    def _put_status(self, request: Request, caller: dict, fqn: str) -> Response:
        body = self._om._json_body(request)
        entity = self._pipeline_for_status(fqn)
        if not caller.get("isBot"):
            self._require(caller, "EditAll")  # every bot may (DefaultBotPolicy); a person needs EditAll
        if not isinstance(body, dict):
            raise _type_error("<body>", "PipelineStatus", body)
        for key in body:
            if key not in STATUS_FIELDS:
                raise _unknown_key(key, _STATUS_CLASS)
        for key in ("startDate", "timestamp", "endDate"):
            _check_kind(key, _INT, body.get(key))
        for key, kind in (("runId", _STR), ("status", _LIST), ("config", _OBJ), ("metadata", _OBJ)):
            _check_kind(key, kind, body.get(key))
        if body.get("pipelineState") is not None and body["pipelineState"] not in PIPELINE_STATES:
            raise _enum_error("PipelineStatusType", body["pipelineState"], PIPELINE_STATES)
        status = {k: copy.deepcopy(v) for k, v in body.items() if v is not None}
        run_id = status.get("runId")
        existing = next((r for r in self.runs.get(fqn, []) if run_id is not None
                         and r["status"].get("runId") == run_id), None)
        old = copy.deepcopy(existing["status"]) if existing else None
        if existing is not None:
            existing["status"] = status
            existing["sim"] = None  # what the run itself reports wins over the simulation
        else:
            self._add_run(fqn, status, None)
        version = entity.get("version", 0.1)
        change = {"fieldsAdded": [], "fieldsUpdated": [_change("pipelineStatus", old, status)], "fieldsDeleted": [],
                  "previousVersion": version}
        event = {
            "id": str(uuid.uuid4()),
            "eventType": "entityUpdated",
            "entityType": "ingestionPipeline",
            "entityId": entity["id"],
            "entityFullyQualifiedName": fqn,
            "userName": entity.get("updatedBy"),
            "timestamp": _now_ms(),
            "currentVersion": version,
            "previousVersion": version,
            "changeDescription": change,
            "entity": self._render_pipeline(entity, caller),
        }
        return Response.json(event, 201, {"X-OpenMetadata-Change": "entityFieldsChanged"})

    # ==================================================================================================
    # automations workflows (server-side test connection)

    def _validate_workflow(self, body: Any) -> dict:
        if not isinstance(body, dict):
            raise _type_error("<body>", "CreateWorkflow", body)
        for key in body:
            if key not in WORKFLOW_CREATE_FIELDS:
                raise _unknown_key(key, _WORKFLOW_CLASS)
        for key, kind in (("name", _STR), ("displayName", _STR), ("description", _STR), ("workflowType", _STR),
                          ("request", _OBJ), ("status", _STR), ("response", _OBJ), ("owners", _LIST),
                          ("domains", _LIST)):
            _check_kind(key, kind, body.get(key))
        if body.get("workflowType") is not None and body["workflowType"] not in WORKFLOW_TYPES:
            raise _enum_error("WorkflowType", body["workflowType"], WORKFLOW_TYPES)
        if body.get("status") is not None and body["status"] not in WORKFLOW_STATUSES:
            raise _enum_error("WorkflowStatus", body["status"], WORKFLOW_STATUSES)
        violations = self._name_violations(body.get("name"))
        for key in ("workflowType", "request"):
            if body.get(key) is None:
                violations.append(f"{key} must not be null")
        if violations:
            raise _bad("[" + ", ".join(violations) + "]")
        if body["workflowType"] != "TEST_CONNECTION":
            raise _bad(f"The fake catalog runs TEST_CONNECTION workflows only, not {body['workflowType']}")
        cleaned = copy.deepcopy(body)
        cleaned["request"] = self._convert_test_request(body["request"])
        return cleaned

    def _convert_test_request(self, request: dict) -> dict:
        """TestServiceConnectionRequest: the connection converted by connectionType (``ClassConverter``), masked
        values filled from the service named `serviceName`, ``secretsManagerProvider`` set by the server."""
        for key in request:
            if key not in TEST_REQUEST_FIELDS:
                raise _unknown_key(key, _TEST_REQUEST_CLASS)
        for key, kind in (("connection", _OBJ), ("serviceType", _STR), ("connectionType", _STR),
                          ("serviceName", _STR), ("secretsManagerProvider", _STR), ("ingestionRunner", _STR)):
            _check_kind(f"request.{key}", kind, request.get(key))
        category = request.get("serviceType")
        if category is not None and category not in SERVICE_CATEGORIES:
            raise _enum_error("ServiceType", category, SERVICE_CATEGORIES)
        connection_type = request.get("connectionType")
        failed = _bad(f"Failed to convert class instance of {connection_type}")
        connection = request.get("connection")
        if category != "Dashboard" or connection_type not in SERVICE_TYPES or not isinstance(connection, dict):
            raise failed
        config = connection.get("config")
        if set(connection) - {"config"} or not isinstance(config, dict):
            raise failed
        if config.get("type") is not None and config["type"] != connection_type:
            raise failed
        config = copy.deepcopy({**config, "type": config.get("type") or connection_type})
        schema = ConnectionSchema.of(connection_type)
        if schema.errors(config, lenient=True):
            raise failed
        self._fill_masked(config, connection_type, request.get("serviceName"))
        out = {k: copy.deepcopy(v) for k, v in request.items() if v is not None}
        out["connection"] = {"config": schema.with_defaults(config)}
        out["secretsManagerProvider"] = MANAGED_PROVIDER if self._om.secrets_manager == "managed" else "db"
        out["_sentHostPort"] = config.get("hostPort")  # internal: removed before storing
        return out

    def _fill_masked(self, config: dict, connection_type: str, service_name: Any) -> None:
        if not isinstance(service_name, str):
            return
        try:
            service = self._om._services.get(quote_name(service_name))
        except ValueError:
            return
        if service is None or service.get("deleted"):
            return
        stored = (service.get("connection") or {}).get("config")
        for parts in _secret_paths(connection_type, config):
            if _get_path(config, parts) == MASK:
                value = _get_path(stored, parts)
                if value is not _MISSING:
                    _set_path(config, parts, copy.deepcopy(value))

    def _new_workflow(self, create: dict, caller: dict) -> dict:
        wid = str(uuid.uuid4())
        request = create["request"]
        self._sent_host_port[wid] = request.pop("_sentHostPort", None)
        entity: dict[str, Any] = {"id": wid, "name": create["name"], "fullyQualifiedName": create["name"]}
        for key in ("displayName", "description"):
            if create.get(key) is not None:
                entity[key] = create[key]
        entity.update(workflowType=create["workflowType"], status=create.get("status") or "Pending",
                      request=request)
        if create.get("response") is not None:
            entity["response"] = copy.deepcopy(create["response"])
        owners = self._om._resolve_owners(create.get("owners"))
        if owners:
            entity["owners"] = owners
        entity.update(version=0.1, updatedAt=_now_ms(), updatedBy=caller["name"], deleted=False)
        return entity

    def _render_workflow(self, entity: dict, caller: dict) -> dict:
        out = copy.deepcopy(entity)
        out["href"] = f"{self._om.url}{WORKFLOWS_PATH}/{entity['id']}"
        request = out.get("request") or {}
        if isinstance(request.get("connection"), dict):
            if not self._can(caller, "ViewAll"):
                request["connection"] = {"config": None}
            elif self._om.mask_passwords and not caller.get("isBot"):
                request["connection"] = _mask_connection(request["connection"], request.get("connectionType"))
        return out

    def _find_workflow(self, *, by_id: str | None = None, by_name: str | None = None) -> dict:
        if by_name is not None:
            entity = next((w for w in self.workflows.values() if w["name"] == by_name and not w.get("deleted")), None)
            shown = by_name
        else:
            entity = self.workflows.get(str(by_id))
            entity = None if entity is None or entity.get("deleted") else entity
            shown = str(by_id)
        if entity is None:
            raise _not_found("workflow", shown)
        return entity

    def _post_workflow(self, request: Request, caller: dict) -> Response:
        create = self._validate_workflow(self._om._json_body(request))
        self._require(caller, "Create")
        if any(w["name"] == create["name"] for w in self.workflows.values()):
            raise _ApiError(409, "Entity already exists")
        entity = self._new_workflow(create, caller)
        self.workflows[entity["id"]] = entity
        href = f"{self._om.url}{WORKFLOWS_PATH}/{entity['id']}"
        return Response.json(self._render_workflow(entity, caller), 201, {"Location": href})

    def _put_workflow(self, request: Request, caller: dict) -> Response:
        create = self._validate_workflow(self._om._json_body(request))
        original = next((w for w in self.workflows.values() if w["name"] == create["name"]), None)
        if original is None:
            self._require(caller, "Create")
            entity = self._new_workflow(create, caller)
            self.workflows[entity["id"]] = entity
            return Response.json(self._render_workflow(entity, caller), 201,
                                 {"X-OpenMetadata-Change": "entityCreated"})
        self._require(caller, "EditAll")
        self._sent_host_port[original["id"]] = create["request"].pop("_sentHostPort", None)
        updated = copy.deepcopy(original)
        changed: list[dict] = []
        if original.get("deleted"):
            updated["deleted"] = False
            changed.append(_change("deleted", True, False))
        for key in ("displayName", "description", "request", "status", "response"):
            new = create.get(key)
            if key == "status":
                new = new or "Pending"
            if new is not None and new != original.get(key):
                changed.append(_change(key, copy.deepcopy(original.get(key)), copy.deepcopy(new)))
                updated[key] = copy.deepcopy(new)
        if not changed:
            return Response.json(self._render_workflow(original, caller), 200,
                                 {"X-OpenMetadata-Change": "entityNoChange"})
        self._progress.pop(original["id"], None)
        self._pending.pop(original["id"], None)
        self._bump(updated, original, caller, changed)
        self.workflows[original["id"]] = updated
        return Response.json(self._render_workflow(updated, caller), 200, {"X-OpenMetadata-Change": "entityUpdated"})

    def _list_workflows(self, request: Request, caller: dict) -> Response:
        limit = _int_param(request, "limit")
        limit = 10 if limit is None else max(limit, 0)
        items = sorted((w for w in self.workflows.values() if not w.get("deleted")), key=lambda w: w["name"])
        if request.query.get("workflowType"):
            items = [w for w in items if w["workflowType"] == request.query["workflowType"]]
        if request.query.get("workflowStatus"):
            items = [w for w in items if w.get("status") == request.query["workflowStatus"]]
        data = [self._render_workflow(w, caller) for w in items[:limit]]
        return Response.json({"data": data, "paging": {"total": len(items)}})

    def _get_workflow(self, request: Request, caller: dict, **key: str) -> Response:
        entity = self._find_workflow(**key)
        entity = self._progress_workflow(entity)
        return Response.json(self._render_workflow(entity, caller))

    def _runner_writes(self, entity: dict, status: str, response: dict | None) -> dict:
        """What the runner's PATCH (as ingestion-bot) does: new status and response, version +0.1."""
        updated = copy.deepcopy(entity)
        changed = []
        if entity.get("status") != status:
            changed.append(_change("status", entity.get("status"), status))
            updated["status"] = status
        if response is not None and entity.get("response") != response:
            changed.append(_change("response", copy.deepcopy(entity.get("response")), copy.deepcopy(response)))
            updated["response"] = response
        if not changed:
            return entity
        self._bump(updated, entity, {"name": "ingestion-bot"}, changed)
        self.workflows[entity["id"]] = updated
        return updated

    def _progress_workflow(self, entity: dict) -> dict:
        """k8s: the GETs after a trigger see Pending, then Running (first step done), then Successful."""
        wid = entity["id"]
        if wid not in self._progress:
            return entity
        self._progress[wid] += 1
        seen = self._progress[wid]
        if seen == 1:
            return self._runner_writes(entity, "Pending", None)
        result = self._pending.pop(wid, None) if seen > 2 else self._run_test(entity)
        if result is None:
            del self._progress[wid]
            return self._runner_writes(entity, "Failed", None)
        if seen == 2:
            self._pending[wid] = result  # the job ran its first step; the rest is reported by the next GET
            partial = {"status": "Running", "steps": result["steps"][:1], "lastUpdatedAt": _now_ms()}
            return self._runner_writes(entity, "Running", partial)
        del self._progress[wid]
        return self._runner_writes(entity, "Successful", result)

    def _trigger_workflow(self, wid: str) -> Response:
        entity = self._find_workflow(by_id=wid)
        runner = self._runner()
        if runner == "disabled":
            raise _ApiError(500, _NPE_MESSAGE)
        if runner == "down":
            raise _bad(
                f"Failed to deploy pipeline [{entity['name']}] due to [No response from the test connection. "
                "Make sure your service is reachable and accepting connections]."
            )
        body = _client_body(f"Workflow [{entity['name']}] has been triggered.", PLATFORMS[runner])
        if runner == "k8s":
            self._progress[entity["id"]] = 0
            self._pending.pop(entity["id"], None)
            return Response.json(body)
        self._progress.pop(entity["id"], None)
        self._pending.pop(entity["id"], None)
        result = self._run_test(entity)
        if result is None:
            self._runner_writes(entity, "Failed", None)
        else:
            self._runner_writes(entity, "Successful", result)
        return Response.json(body)

    def _patch_workflow(self, request: Request, caller: dict, wid: str) -> Response:
        operations = self._om._json_body(request, patch=True)
        original = self._find_workflow(by_id=wid)
        self._require(caller, "EditAll")
        if not isinstance(operations, list):
            raise _bad("JSON patch must be an array of operations")
        doc = {k: copy.deepcopy(original[k]) for k in _WORKFLOW_PATCHABLE if k in original}
        for op in operations:
            _apply_patch_op(doc, op, _WORKFLOW_PATCHABLE)
        if doc.get("status") is not None and doc["status"] not in WORKFLOW_STATUSES:
            raise _enum_error("WorkflowStatus", doc["status"], WORKFLOW_STATUSES)
        for key, kind in (("response", _OBJ), ("displayName", _STR), ("description", _STR)):
            _check_kind(key, kind, doc.get(key))
        updated = copy.deepcopy(original)
        changed = []
        for key in _WORKFLOW_PATCHABLE:
            old, new = original.get(key), doc.get(key)
            if old != new:
                changed.append(_change(key, copy.deepcopy(old), copy.deepcopy(new)))
                if new is None:
                    updated.pop(key, None)
                else:
                    updated[key] = new
        if not changed:
            return Response.json(self._render_workflow(original, caller), 200,
                                 {"X-OpenMetadata-Change": "entityNoChange"})
        self._progress.pop(wid, None)  # a runner that reports itself ends the simulation
        self._pending.pop(wid, None)
        self._bump(updated, original, caller, changed)
        self.workflows[wid] = updated
        return Response.json(self._render_workflow(updated, caller), 200, {"X-OpenMetadata-Change": "entityUpdated"})

    def _delete_workflow(self, request: Request, caller: dict, wid: str) -> Response:
        hard = _bool_param(request.query.get("hardDelete"), False)
        entity = self.workflows.get(wid)
        if entity is None or (entity.get("deleted") and not hard):
            raise _not_found("workflow", wid)
        self._require(caller, "Delete")
        self._progress.pop(wid, None)
        self._pending.pop(wid, None)
        if hard:
            del self.workflows[wid]
            self._sent_host_port.pop(wid, None)
            self.deleted_workflows.append(wid)
            return Response.json(self._render_workflow(entity, caller), 200,
                                 {"X-OpenMetadata-Change": "entityDeleted"})
        return self._soft_delete(self.workflows, wid, entity, caller, self._render_workflow)

    # -- the test itself --------------------------------------------------------------------------------
    def _run_test(self, entity: dict) -> dict | None:
        """The TestConnectionResult of a workflow, or None when the runner would fail outright (no definition)."""
        request = entity["request"]
        connection_type = request.get("connectionType")
        try:
            definition = _test_connection_definition(f"{connection_type}.testConnectionDefinition")
        except _ApiError:
            return None
        overrides = self.test_connection_overrides.get(request.get("serviceName") or "", {})
        steps: list[dict] = []
        for index, step in enumerate(definition["steps"]):
            message: str | None = None
            if step["name"] in overrides:
                passed, text = overrides[step["name"]]
                passed = bool(passed)
                message, error_log = (text or None), (None if passed else text)
            elif index == 0:
                passed, error_log = self._reach(self._sent_host_port.get(entity["id"]))
                message = None if passed else step.get("errorMessage")
            else:
                passed, error_log = True, None
            result: dict[str, Any] = {"name": step["name"], "mandatory": bool(step.get("mandatory")),
                                      "passed": passed}
            if message:
                result["message"] = message
            if error_log and not passed:
                result["errorLog"] = error_log
            steps.append(result)
            if not passed and step.get("shortCircuit"):
                break
        status = "Failed" if any(not s["passed"] for s in steps) else "Successful"
        return {"status": status, "steps": steps, "lastUpdatedAt": _now_ms()}

    @staticmethod
    def _reach(host_port: Any) -> tuple[bool, str | None]:
        """The first step: a real TCP connection, to loopback hosts only; no hostPort passes."""
        if not host_port:
            return True, None
        try:
            host, port = _host_port(str(host_port))
        except ValueError as err:
            return False, f"Invalid hostPort {host_port!r}: {err}"
        address = _is_loopback(host)
        if address is None:
            return False, (f"{host}:{port} is not reachable from the catalog "
                           "(the fake catalog reaches loopback hosts only; no connection was attempted)")
        try:
            with socket.create_connection((address, port), timeout=CONNECT_TIMEOUT):
                pass
        except OSError as err:
            return False, f"Failed to connect to {host}:{port}: {err}"
        return True, None

    # ==================================================================================================
    # apps: AutoPilot

    def _app_entity(self) -> dict[str, Any]:
        return {
            "id": _APP_ID,
            "name": AUTOPILOT_APP,
            "fullyQualifiedName": AUTOPILOT_APP,
            "displayName": "AutoPilot",
            "description": "This workflow will take care of configuring and deploying any relevant pipelines to "
            "ingest the metadata with good default values.",
            "developer": "Collate Inc.",
            "className": "org.openmetadata.service.apps.bundles.autoPilot.AutoPilotApp",
            "appType": "internal",
            "scheduleType": "NoSchedule",
            "permission": "All",
            "runtime": {"enabled": True},
            "appConfiguration": {"type": AUTOPILOT_APP, "active": self._om.autopilot == "active"},
            "appSchedule": {"scheduleTimeline": "None"},
            "version": self._app_version,
            "updatedAt": self._app_updated_at,
            "updatedBy": self._app_updated_by,
            "deleted": False,
            "href": f"{self._om.url}{APPS_PATH}/{_APP_ID}",
        }

    def _installed_app(self, name: str) -> None:
        self.check_modes()
        if name != AUTOPILOT_APP or self._om.autopilot == "absent":
            raise _not_found("app", name)

    def _get_app(self, name: str) -> Response:
        self._installed_app(name)
        return Response.json(self._app_entity())

    def _patch_app(self, request: Request, caller: dict, name: str) -> Response:
        operations = self._om._json_body(request, patch=True)
        self._installed_app(name)
        self._require(caller, "EditAll")
        if not isinstance(operations, list):
            raise _bad("JSON patch must be an array of operations")
        before = self._app_entity()["appConfiguration"]
        doc = {"appConfiguration": copy.deepcopy(before)}
        for op in operations:
            _apply_patch_op(doc, op, ("appConfiguration",))
        config = doc.get("appConfiguration")
        if not isinstance(config, dict) or not isinstance(config.get("active"), bool):
            raise _type_error("appConfiguration.active", "java.lang.Boolean", (config or {}).get("active"))
        if config["active"] == before["active"]:
            return Response.json(self._app_entity(), 200, {"X-OpenMetadata-Change": "entityNoChange"})
        self._om.autopilot = "active" if config["active"] else "inactive"
        self._app_version = _next_version(self._app_version)
        self._app_updated_at = _now_ms()
        self._app_updated_by = caller["name"]
        return Response.json(self._app_entity(), 200, {"X-OpenMetadata-Change": "entityUpdated"})

    def _trigger_app(self, request: Request, caller: dict, name: str) -> Response:
        body = self._om._json_body(request) if request.body.strip() else {}
        self._installed_app(name)
        self._require(caller, "Trigger")
        if not isinstance(body, dict):
            raise _type_error("<body>", "java.util.Map", body)
        link = body.get("entityLink")
        if isinstance(link, str):
            self.autopilot_triggers.append(link)
        if self._om.autopilot == "active" and isinstance(link, str):
            self._autopilot(link)
        return Response(200, b"", {})

    def _autopilot(self, link: str) -> None:
        """AutoPilotWorkflow's RunMetadataIngestion: create (or reuse) the "Metadata Agent", deploy, run."""
        found = _ENTITY_LINK.match(link)
        if found is None:
            return
        fqn = found.group(1)
        service = self._om._services.get(fqn)
        if service is None:
            try:
                service = self._om._services.get(quote_name(fqn))
            except ValueError:
                service = None
        if service is None or service.get("deleted"):
            return
        config = (service.get("connection") or {}).get("config") or {}
        if config.get("supportsMetadataExtraction") is not True:
            return
        bot = self._governance_bot()
        agent = next((p for p in self.pipelines.values() if p["service"]["id"] == service["id"]
                      and p["pipelineType"] == "metadata" and p.get("displayName") == METADATA_AGENT
                      and not p.get("deleted")), None)
        if agent is None:
            create = self._autopilot_create(service, name=str(uuid.uuid4()))
            agent = self._new_pipeline(create, service, f"{service['fullyQualifiedName']}.{create['name']}", bot)
            self.pipelines[agent["fullyQualifiedName"]] = agent
        if self._runner() in ("disabled", "down"):
            return  # nothing deployed: the workflow fails on its own, the trigger already answered
        self._deploy_entity(agent, bot)
        self._trigger_entity(self.pipelines[agent["fullyQualifiedName"]])

    @staticmethod
    def _autopilot_create(service: dict, *, name: str, display_name: str | None = None) -> dict:
        config = (service.get("connection") or {}).get("config") or {}
        source = dict(DASHBOARD_METADATA_DEFAULTS)
        for key in _FILTER_PATTERNS:
            if config.get(key) is not None:
                source[key] = copy.deepcopy(config[key])
        return {
            "name": name,
            "displayName": display_name or METADATA_AGENT,
            "pipelineType": "metadata",
            "provider": "automation",
            "loggerLevel": "INFO",
            "sourceConfig": {"config": source},
            "airflowConfig": {**AIRFLOW_DEFAULTS, "scheduleInterval": "0 0 * * 0", "startDate": _yesterday_iso()},
            "owners": [{"id": o["id"], "type": o["type"]} for o in service.get("owners") or []],
        }
