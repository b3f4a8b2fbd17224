"""A contract-faithful fake of OpenMetadata's dashboard-service API (server 2.0.7 behaviour).

Serves, on 127.0.0.1 only, what a client needs to register BI dashboard services:

* ``GET  /api/v1/system/version``
* ``PUT  /api/v1/services/dashboardServices``                 create-or-update (201 / 200)
* ``POST /api/v1/services/dashboardServices``                 create (409 when it exists)
* ``GET  /api/v1/services/dashboardServices``                 list (limit, after, include, fields)
* ``GET|PATCH|DELETE /api/v1/services/dashboardServices/{id}`` and ``.../name/{fqn}``
* ``PUT  /api/v1/services/dashboardServices/restore``         ``{"id": ...}``
* ``PUT  /api/v1/services/dashboardServices/bulk``            only with ``bulk=True`` (else 405 or 404)
* ``GET  /api/v1/users/name/{name}``, ``/api/v1/users/loggedInUser``, ``/api/v1/teams/name/{name}``
* ``GET  /api/v1/services/testConnectionDefinitions/name/{Type}.testConnectionDefinition`` (Superset,
  Looker, Tableau: what OpenMetadata's own test-connection code reads first)

Rules reproduced: bearer-token auth (401 ``WWW-Authenticate: om-auth``), ``{"code","message"}`` error
bodies, name/serviceType/unknown-key validation, FQN quoting, versions (+0.1 only on a real change),
``X-OpenMetadata-Change``, a connection config stored converted to its class (OpenMetadata's schema of
the type, shipped in ``scanner/openmetadata/schemas``: forbidden keys and wrong types are a 400 "Failed to
convert", defaults are filled in, nested required keys are not enforced), what a bot PUT may not
overwrite (description, displayName, domains), owners never removed by PUT, tags merged, soft delete
and restore, secret masking (``*********``) for non-bot callers and unmasking of masked values sent back.

The ingestion API (pipelines, deploy/trigger and runs, test-connection workflows, AutoPilot, managed
``secret:`` references) lives in ``scanner/testing/fake_om_ingestion.py``; its modes are constructor arguments
(``runner``, ``secrets_manager``, ``autopilot``, ``run_seconds``, ``gen``) and attributes of the same names.

Test helpers: ``fake.services`` (plaintext snapshot), ``fake.requests``/``fake.calls()`` (a log that
never holds the bearer token), ``fake.latency`` and ``fake.inject()`` (fault injection).

    python -m scanner.testing.fake_openmetadata --port 8585 [--bulk]
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from scanner.openmetadata.schema import ConnectionSchema, service_types
from scanner.testing.faults import Fault, Faults
from scanner.testing.server import LocalServer, Request, Response, ServedFake

__all__ = [
    "MASK",
    "SERVICE_TYPES",
    "CREATE_FIELDS",
    "ENTITY_FIELDS",
    "FakeOpenMetadata",
    "RecordedRequest",
    "quote_name",
    "main",
]

MASK = "*********"
"""The server's password mask: 9 asterisks (PasswordEntityMasker.PASSWORD_MASK)."""

API_PREFIX = "/api/v1"
SERVICES_PATH = "/api/v1/services/dashboardServices"

SERVICE_TYPES: tuple[str, ...] = service_types()
"""DashboardServiceType in OpenMetadata 2.0.7 (22 values), from its own schema."""

CREATE_FIELDS = frozenset(
    {"name", "displayName", "description", "serviceType", "connection", "tags", "style", "owners",
     "dataProducts", "domains", "ingestionRunner"}
)  # fmt: skip
"""Top-level keys of CreateDashboardService (additionalProperties: false)."""

ENTITY_FIELDS = frozenset(
    {"id", "name", "fullyQualifiedName", "displayName", "serviceType", "description", "connection",
     "pipelines", "testConnectionResult", "tags", "style", "owners", "version", "updatedAt", "updatedBy",
     "impersonatedBy", "href", "changeDescription", "incrementalChangeDescription", "deleted",
     "entityStatus", "dataProducts", "dataContract", "domains", "followers", "ingestionRunner"}
)  # fmt: skip
"""Top-level keys of the DashboardService entity: nothing else is ever emitted."""

ALLOWED_GET_FIELDS = (
    "owners",
    "tags",
    "domains",
    "followers",
    "dataProducts",
    "pipelines",
    "ingestionRunner",
)
_LIST_FIELDS = ("owners", "tags", "domains", "followers", "dataProducts", "pipelines")
INCLUDE_VALUES = ("non-deleted", "deleted", "all")

_NAME_PATTERN_MSG = 'name must match "^((?!::).)*$"'
_NAME_SIZE_MSG = "name size must be between 1 and 256"
_CREATE_CLASS = "org.openmetadata.schema.api.services.CreateDashboardService"
_MISSING = object()


# ------------------------------------------------------------------------------------------------------
# small pure helpers


def quote_name(name: str) -> str:
    """OpenMetadata's ``FullyQualifiedName.quoteName`` for one name.

    ``"a.b"`` stays quoted, ``"ab"`` is unquoted, ``a.b`` becomes ``"a.b"``, ``ab`` stays. A name holding
    a double quote anywhere else is rejected (``ValueError``), like the Python client and older servers.
    """
    if len(name) >= 2 and name.startswith('"') and name.endswith('"') and '"' not in name[1:-1]:
        inner = name[1:-1]
        return name if "." in inner else inner
    if '"' in name:
        raise ValueError(f"Invalid name {name}")
    return f'"{name}"' if "." in name else name


def _now_ms() -> int:
    return int(time.time() * 1000)


def _next_version(version: float) -> float:
    return round(float(version) + 0.1, 1)


def _get_path(obj: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def _set_path(obj: dict, parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        obj = obj[part]
    obj[parts[-1]] = value


def _secret_paths(service_type: str, config: Any) -> list[list[str]]:
    """The ``format: password`` fields present in `config`, per OpenMetadata's schema of the type."""
    if not isinstance(config, dict):
        return []
    return [list(p) for p in ConnectionSchema.of(service_type).secret_paths(config)]


def _mask_connection(connection: Any, service_type: str) -> Any:
    if not isinstance(connection, dict) or not isinstance(connection.get("config"), dict):
        return connection
    masked = copy.deepcopy(connection)
    for parts in _secret_paths(service_type, masked["config"]):
        value = _get_path(masked["config"], parts)
        if value is not _MISSING and value is not None:
            _set_path(masked["config"], parts, MASK)
    return masked


def _bool_param(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() == "true"


class _ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _bad(message: str) -> _ApiError:
    return _ApiError(400, message)


def _not_found(entity_type: str, key: str) -> _ApiError:
    return _ApiError(404, f"{entity_type} instance for {key} not found")


def _test_connection_definition(fqn: str) -> dict:
    """``GET /services/testConnectionDefinitions/name/{fqn}`` (Superset, Looker, Tableau; openmetadata.md §8)."""
    from scanner.testing.test_connection_definitions import definition

    found = definition(fqn)
    if found is None:
        raise _not_found("testConnectionDefinition", fqn)
    return found


def _type_error(field: str, expected: str, value: Any) -> _ApiError:
    got = {dict: "Object", list: "Array", str: "String", bool: "Boolean", int: "Integer", float: "Float"}
    kind = "Null" if value is None else got.get(type(value), type(value).__name__)
    return _bad(f'Cannot deserialize value of type `{expected}` from {kind} value (field "{field}")')


# ------------------------------------------------------------------------------------------------------
# records


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received. ``user`` is the resolved user name (never the token)."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    json: Any
    status: int
    """HTTP status answered; 0 when the connection was reset without an answer."""
    user: str | None


# ------------------------------------------------------------------------------------------------------
# the fake


class FakeOpenMetadata(ServedFake):
    _fault_prefix = SERVICES_PATH  # inject() hits the dashboard-service calls unless told otherwise
    """In-memory OpenMetadata dashboard-service API over real HTTP on 127.0.0.1."""

    def __init__(
        self,
        bot_token: str | None = "bot-token",
        user_token: str | None = "user-token",
        *,
        bulk: bool = False,
        bulk_absent_status: int = 405,
        mask_passwords: bool = True,
        version: str = "2.0.7",
        port: int = 0,
        latency: float = 0.0,
        runner: str = "airflow",
        secrets_manager: str = "db",
        autopilot: str = "active",
        run_seconds: float = 0.2,
        gen: str = "2.0",
    ):
        if bulk_absent_status not in (404, 405):
            raise ValueError("bulk_absent_status must be 404 or 405")
        self.bulk = bulk
        self.bulk_absent_status = bulk_absent_status
        self.mask_passwords = mask_passwords
        self.version = version
        self.latency = latency
        self._started_ms = _now_ms()
        self._lock = threading.RLock()
        self._tokens: dict[str, str] = {}
        self._users: dict[str, dict] = {}
        self._teams: dict[str, dict] = {}
        self._domains: dict[str, dict] = {}
        self._services: dict[str, dict] = {}
        self._log: list[RecordedRequest] = []
        self._faults = Faults()
        self._server = LocalServer(self._app, port=port, name="fake-openmetadata")
        # the ingestion side (scanner/testing/fake_om_ingestion.py): modes below may change at any time
        self.runner = runner  # airflow | k8s | disabled | down
        self.secrets_manager = secrets_manager  # db | managed
        self.autopilot = autopilot  # active | inactive | absent
        self.run_seconds = run_seconds
        self.gen = gen  # "2.0" | "1.13"
        from scanner.testing.fake_om_ingestion import FakeIngestion  # here: that module imports this one

        self._ingestion = FakeIngestion(self)
        if bot_token is not None:
            self.add_token(bot_token, "ingestion-bot", True)
        if user_token is not None:
            self.add_token(user_token, "admin", False)

    # -- addresses ------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.port

    @property
    def api_url(self) -> str:
        return self.url + "/api"

    # -- setup ----------------------------------------------------------------------------------------
    def add_user(self, name: str, is_bot: bool = False) -> dict:
        with self._lock:
            user = self._users.get(name)
            if user is None:
                user = {
                    "id": str(uuid.uuid4()),
                    "name": name,
                    "fullyQualifiedName": quote_name(name),
                    "type": "user",
                    "isBot": bool(is_bot),
                    "deleted": False,
                }
                self._users[name] = user
            return copy.deepcopy(user)

    def add_team(self, name: str) -> dict:
        with self._lock:
            team = self._teams.get(name)
            if team is None:
                team = {
                    "id": str(uuid.uuid4()),
                    "name": name,
                    "fullyQualifiedName": quote_name(name),
                    "type": "team",
                    "teamType": "Group",
                    "deleted": False,
                }
                self._teams[name] = team
            return copy.deepcopy(team)

    def add_domain(self, fqn: str) -> dict:
        """Register a domain (PUT/PATCH also auto-register unknown domain FQNs)."""
        with self._lock:
            return copy.deepcopy(self._domain_ref(fqn))

    def add_token(self, token: str, user_name: str, is_bot: bool, permissions: Iterable[str] | None = None) -> None:
        """`permissions`: the operations (Create, EditAll, ViewAll, Delete, Trigger, Deploy) the user holds on the
        ingestion endpoints; None = all of them (a bot with IngestionBotRole, an admin)."""
        with self._lock:
            self.add_user(user_name, is_bot)
            self._users[user_name]["isBot"] = bool(is_bot)
            self._tokens[token] = user_name
            self._ingestion.set_permissions(user_name, permissions)

    # -- inspection -----------------------------------------------------------------------------------
    @property
    def services(self) -> dict[str, dict]:
        """Snapshot ``fqn -> stored entity`` with plaintext secrets (soft-deleted ones included)."""
        with self._lock:
            return copy.deepcopy(self._services)

    # ingestion side (fake_om_ingestion.FakeIngestion): snapshots, and the live dicts a test scripts
    @property
    def pipelines(self) -> dict[str, dict]:
        """Snapshot ``fqn -> stored ingestion pipeline`` (plaintext, soft-deleted ones included)."""
        return self._ingestion.snapshot_pipelines()

    @property
    def pipeline_statuses(self) -> dict[str, list[dict]]:
        """Snapshot ``pipeline fqn -> [PipelineStatus, newest first]`` (simulated runs brought up to date)."""
        return self._ingestion.snapshot_statuses()

    @property
    def workflows(self) -> dict[str, dict]:
        """Snapshot ``id -> automations workflow`` of the live (not deleted) ones."""
        return self._ingestion.snapshot_workflows()

    @property
    def deleted_workflows(self) -> list[str]:
        """Ids of the workflows hard-deleted so far."""
        with self._lock:
            return list(self._ingestion.deleted_workflows)

    @property
    def run_outcomes(self) -> dict[str, str]:
        """Live: service name or pipeline fqn -> success | failed | partialSuccess (default success)."""
        return self._ingestion.run_outcomes

    @property
    def test_connection_overrides(self) -> dict[str, dict[str, tuple[bool, str]]]:
        """Live: serviceName -> {step name: (passed, message)}, replacing that step's outcome."""
        return self._ingestion.test_connection_overrides

    @property
    def autopilot_triggers(self) -> list[str]:
        """The entityLink strings AutoPilot was triggered with."""
        with self._lock:
            return list(self._ingestion.autopilot_triggers)

    @property
    def secret_store(self) -> dict[str, str]:
        """Snapshot of the managed secrets manager: secret id -> plaintext."""
        with self._lock:
            return dict(self._ingestion.secret_store)

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
        """A pipeline made outside scanner: by a person, or by AutoPilot (``provider="automation"``,
        ``display_name="Metadata Agent"``); returns the stored entity."""
        return self._ingestion.add_pipeline(service_name, name, provider=provider, display_name=display_name,
                                            deployed=deployed, pipeline_type=pipeline_type)

    def calls(self, method: str | None = None, path_prefix: str = SERVICES_PATH) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self._log
                if (method is None or r.method == method.upper()) and r.path.startswith(path_prefix)
            ]


    # -- HTTP entry point -----------------------------------------------------------------------------
    def _app(self, request: Request) -> Response:
        if self.latency:
            time.sleep(self.latency)
        user = self._user_for(request)
        fault = self._faults.take(request.method, request.path)
        if fault is not None:
            response = self._fault_response(fault)
        else:
            try:
                with self._lock:
                    response = self._route(request, user)
            except _ApiError as err:
                response = self._error(err.status, err.message, err.headers)
            except Exception as err:  # a bug in the fake: still answer in the server's error shape
                response = self._error(500, f"Fake OpenMetadata internal error: {err!r}")
        self._record(request, 0 if response.reset else response.status, user)
        return response

    def _fault_response(self, fault: Fault) -> Response:
        if fault.reset:
            return Response(reset=True)
        if fault.body is None:
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Error"
            return Response.json({"code": fault.status, "message": phrase}, fault.status, fault.headers)
        headers = dict(fault.headers)
        if isinstance(fault.body, bytes | str):
            headers.setdefault("Content-Type", "application/json")
            return Response(fault.status, fault.body, headers)
        return Response.json(fault.body, fault.status, headers)

    def _record(self, request: Request, status: int, user: dict | None) -> None:
        try:
            parsed = json.loads(request.body.decode("utf-8")) if request.body else None
        except ValueError:
            parsed = None
        entry = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            body=request.body,
            json=parsed,
            status=status,
            user=user["name"] if user else None,
        )
        with self._lock:
            self._log.append(entry)

    @staticmethod
    def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        merged = dict(headers or {})
        if status == 401:
            merged.setdefault("WWW-Authenticate", "om-auth")
        return Response.json({"code": status, "message": message}, status, merged)

    def _user_for(self, request: Request) -> dict | None:
        header = request.header("Authorization") or ""
        if not header.startswith("Bearer "):
            return None
        with self._lock:
            name = self._tokens.get(header[len("Bearer ") :].strip())
            return copy.deepcopy(self._users[name]) if name else None

    def _authenticate(self, request: Request, user: dict | None) -> dict:
        header = request.header("Authorization") or ""
        if not header.startswith("Bearer ") or not header[len("Bearer ") :].strip():
            raise _ApiError(401, "Not Authorized! Token not present")
        if user is None:
            raise _ApiError(401, "Not Authorized! Invalid token")
        return user

    # -- routing --------------------------------------------------------------------------------------
    def _route(self, request: Request, user: dict | None) -> Response:
        path = request.path
        if not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            raise _ApiError(404, "HTTP 404 Not Found")
        caller = self._authenticate(request, user)
        segments = [unquote(s) for s in path[len(API_PREFIX) + 1 :].split("/")]
        if len(segments) > 1 and segments[-1] == "":
            segments.pop()
        method = request.method.upper()
        routes = self._match(segments, method)
        if routes is None:
            raise _ApiError(404, "HTTP 404 Not Found")
        handler = routes.get(method)
        if handler is None:
            allow = ", ".join(sorted(routes))
            raise _ApiError(405, "HTTP 405 Method Not Allowed", {"Allow": allow})
        return handler(request, caller)

    def _match(self, seg: list[str], method: str) -> dict[str, Any] | None:
        ingestion = self._ingestion.match(seg, method)
        if ingestion is not None:
            return ingestion
        if seg == ["system", "version"]:
            return {"GET": lambda r, u: Response.json(self._version_body())}
        if seg[:1] == ["users"] and len(seg) == 2 and seg[1] == "loggedInUser":
            return {"GET": lambda r, u: Response.json(self._public_user(self._users[u["name"]]))}
        if seg[:2] == ["users", "name"] and len(seg) == 3:
            return {"GET": lambda r, u: Response.json(self._get_principal(self._users, "user", seg[2]))}
        if seg[:2] == ["teams", "name"] and len(seg) == 3:
            return {"GET": lambda r, u: Response.json(self._get_principal(self._teams, "team", seg[2]))}
        if seg[:3] == ["services", "testConnectionDefinitions", "name"] and len(seg) == 4:
            return {"GET": lambda r, u: Response.json(_test_connection_definition(seg[3]))}
        if seg[:2] != ["services", "dashboardServices"]:
            return None
        rest = seg[2:]
        if not rest:
            return {"GET": self._list, "PUT": self._put, "POST": self._post}
        if len(rest) == 1 and rest[0] == "bulk" and (self.bulk or method in ("PUT", "POST")):
            if not self.bulk:
                status = self.bulk_absent_status
                message = "HTTP 405 Method Not Allowed" if status == 405 else "HTTP 404 Not Found"
                raise _ApiError(status, message)
            return {"PUT": self._bulk}
        if len(rest) == 1 and rest[0] == "restore" and method == "PUT":
            return {"PUT": self._restore}
        if len(rest) == 2 and rest[0] == "name":
            fqn = rest[1]
            return {
                "GET": lambda r, u: self._get_one(r, u, by_name=fqn),
                "PATCH": lambda r, u: self._patch(r, u, by_name=fqn),
                "DELETE": lambda r, u: self._delete(r, u, by_name=fqn),
            }
        if len(rest) == 1:
            sid = rest[0]
            return {
                "GET": lambda r, u: self._get_one(r, u, by_id=sid),
                "PATCH": lambda r, u: self._patch(r, u, by_id=sid),
                "DELETE": lambda r, u: self._delete(r, u, by_id=sid),
            }
        return None

    # -- small endpoints ------------------------------------------------------------------------------
    def _version_body(self) -> dict:
        return {"version": self.version, "revision": "fake", "timestamp": self._started_ms}

    def _public_user(self, user: dict) -> dict:
        return dict(copy.deepcopy(user), href=f"{self.url}/api/v1/users/{user['id']}")

    def _get_principal(self, table: dict[str, dict], kind: str, name: str) -> dict:
        entity = table.get(name)
        if entity is None:
            raise _not_found(kind, name)
        return dict(copy.deepcopy(entity), href=f"{self.url}/api/v1/{kind}s/{entity['id']}")

    # -- request parsing ------------------------------------------------------------------------------
    @staticmethod
    def _json_body(request: Request, *, patch: bool = False) -> Any:
        ctype = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        wanted = "application/json-patch+json" if patch else "application/json"
        if ctype != wanted:
            raise _ApiError(415, "HTTP 415 Unsupported Media Type")
        if not request.body.strip():
            raise _bad("Unable to process JSON")
        try:
            return json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise _bad("Unable to process JSON") from err

    def _validate_create(self, body: Any) -> tuple[dict, str]:
        """Deserialisation + bean validation of a CreateDashboardService; returns (cleaned, fqn)."""
        if not isinstance(body, dict):
            raise _type_error("<body>", "CreateDashboardService", body)
        for key in body:
            if key not in CREATE_FIELDS:
                raise _bad(f'Unrecognized field "{key}" (class {_CREATE_CLASS}), not marked as ignorable')
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            raise _type_error("name", "java.lang.String", name)
        service_type = body.get("serviceType")
        if service_type is not None and service_type not in SERVICE_TYPES:
            accepted = ", ".join(SERVICE_TYPES)
            raise _bad(
                f'Cannot deserialize value of type `DashboardServiceType` from String "{service_type}": '
                f"not one of the values accepted for Enum class: [{accepted}]"
            )
        for key in ("displayName", "description"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise _type_error(key, "java.lang.String", body[key])
        for key in ("tags", "owners", "domains", "dataProducts"):
            if body.get(key) is not None and not isinstance(body[key], list):
                raise _type_error(key, "java.util.List", body[key])
        for key in ("domains", "dataProducts"):
            for item in body.get(key) or []:
                if not isinstance(item, str):
                    raise _type_error(key, "java.lang.String", item)
        for key in ("connection", "style", "ingestionRunner"):
            if body.get(key) is not None and not isinstance(body[key], dict):
                raise _type_error(key, "java.lang.Object", body[key])
        connection = body.get("connection")
        if connection is not None:
            for key in connection:
                if key != "config":
                    raise _bad(
                        f'Unrecognized field "{key}" (class org.openmetadata.schema.type.DashboardConnection)'
                        ", not marked as ignorable"
                    )
        violations = []
        if name is None:
            violations.append("name must not be null")
        else:
            if not 1 <= len(name) <= 256:
                violations.append(_NAME_SIZE_MSG)
            if "::" in name:
                violations.append(_NAME_PATTERN_MSG)
        if service_type is None:
            violations.append("serviceType must not be null")
        if violations:
            raise _bad("[" + ", ".join(violations) + "]")
        try:
            fqn = quote_name(name)
        except ValueError as err:
            raise _bad(str(err)) from err
        cleaned = copy.deepcopy(body)
        cleaned["tags"] = self._normalize_tags(body.get("tags"))
        if connection is not None:
            config = connection.get("config")
            failed = f"Failed to convert [{name}] to type [{service_type}]. Review the connection."
            if config is None:
                raise _bad("[connection.config must not be null]")
            if not isinstance(config, dict):
                raise _bad(failed)
            if config.get("type") is not None and config.get("type") != service_type:
                raise _bad(failed)
            cleaned["connection"]["config"] = self._convert_config(config, name, service_type)
        return cleaned, fqn

    @staticmethod
    def _convert_config(config: dict, name: str, service_type: str) -> dict:
        """What the server stores: the config converted to its typed class (``ClassConverter``), so a key
        the schema forbids or a value of the wrong type is a 400, and every schema default is filled in.
        Like the real server, a missing nested required key is not enforced."""
        schema = ConnectionSchema.of(service_type)
        config = {**config, "type": config.get("type") or service_type}
        refused = schema.errors(config, lenient=True)
        if refused:
            raise _bad(f"Failed to convert [{name}] to type [{service_type}]. Review the connection.\n"
                       + "; ".join(refused))
        return schema.with_defaults(config)

    @staticmethod
    def _normalize_tags(tags: Any) -> list[dict]:
        out: list[dict] = []
        seen: set[str] = set()
        for tag in tags or []:
            if not isinstance(tag, dict) or not isinstance(tag.get("tagFQN"), str):
                raise _bad("[tags tagFQN must not be null]")
            if tag["tagFQN"] in seen:
                continue
            seen.add(tag["tagFQN"])
            label = copy.deepcopy(tag)
            label.setdefault("source", "Classification")
            label.setdefault("labelType", "Manual")
            label.setdefault("state", "Confirmed")
            out.append(label)
        return out

    def _resolve_owners(self, owners: Any) -> list[dict]:
        refs = []
        for ref in owners or []:
            if not isinstance(ref, dict) or not ref.get("id") or not ref.get("type"):
                raise _bad("[owners must be entity references with id and type]")
            kind = ref["type"]
            if kind not in ("user", "team"):
                raise _bad(f"Invalid owner type {kind}: only user and team can own a dashboardService")
            table = self._users if kind == "user" else self._teams
            entity = next((e for e in table.values() if e["id"] == str(ref["id"])), None)
            if entity is None:
                raise _bad(f"{kind} instance for {ref['id']} not found")
            refs.append(
                {
                    "id": entity["id"],
                    "type": kind,
                    "name": entity["name"],
                    "fullyQualifiedName": entity["fullyQualifiedName"],
                    "deleted": False,
                }
            )
        return refs

    def _domain_ref(self, fqn: str) -> dict:
        ref = self._domains.get(fqn)
        if ref is None:
            ref = {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "openmetadata-domain:" + fqn)),
                "type": "domain",
                "name": fqn.rsplit(".", 1)[-1].strip('"'),
                "fullyQualifiedName": fqn,
                "deleted": False,
            }
            self._domains[fqn] = ref
        return ref

    def _resolve_domains(self, domains: Any) -> list[dict]:
        refs = []
        for item in domains or []:
            if isinstance(item, str):
                refs.append(copy.deepcopy(self._domain_ref(item)))
            elif isinstance(item, dict) and item.get("id"):
                ref = next((d for d in self._domains.values() if d["id"] == str(item["id"])), None)
                if ref is None:
                    raise _bad(f"domain instance for {item['id']} not found")
                refs.append(copy.deepcopy(ref))
            elif isinstance(item, dict) and (item.get("fullyQualifiedName") or item.get("name")):
                refs.append(copy.deepcopy(self._domain_ref(item.get("fullyQualifiedName") or item["name"])))
            else:
                raise _bad("[domains must be domain FQNs or entity references]")
        return refs

    @staticmethod
    def _ids(refs: list[dict] | None) -> list[str]:
        return sorted(r["id"] for r in refs or [])

    # -- rendering ------------------------------------------------------------------------------------
    def _render(self, entity: dict, caller: dict, fields: tuple[str, ...] | None = None) -> dict:
        """The response body: ``fields`` None = a write response (owners, tags, domains always there)."""
        out = {k: copy.deepcopy(v) for k, v in entity.items() if k in ENTITY_FIELDS}
        out["href"] = f"{self.url}{SERVICES_PATH}/{entity['id']}"
        wanted = ("owners", "tags", "domains") if fields is None else fields
        for key in _LIST_FIELDS:
            if key in wanted:
                out[key] = copy.deepcopy(entity.get(key) or [])
            else:
                out.pop(key, None)
        if "ingestionRunner" not in wanted and fields is not None:
            out.pop("ingestionRunner", None)
        if "connection" in out and self.mask_passwords and not caller.get("isBot"):
            out["connection"] = _mask_connection(out["connection"], entity["serviceType"])
        return out

    @staticmethod
    def _parse_fields(request: Request) -> tuple[str, ...]:
        raw = request.query.get("fields") or ""
        wanted: list[str] = []
        for item in (f.strip() for f in raw.split(",")):
            if not item:
                continue
            if item == "*":
                wanted.extend(ALLOWED_GET_FIELDS)
            elif item in ALLOWED_GET_FIELDS:
                wanted.append(item)
            else:
                raise _bad(f"Invalid field name {item}")
        return tuple(wanted)

    @staticmethod
    def _parse_include(request: Request) -> str:
        include = request.query.get("include") or "non-deleted"
        if include not in INCLUDE_VALUES:
            raise _bad(f"query param include must be one of {list(INCLUDE_VALUES)}")
        return include

    @staticmethod
    def _visible(entity: dict, include: str) -> bool:
        deleted = bool(entity.get("deleted"))
        return include == "all" or (include == "deleted") == deleted

    def _find(self, *, by_id: str | None = None, by_name: str | None = None) -> tuple[dict | None, str]:
        if by_name is not None:
            try:
                fqn = quote_name(by_name)
            except ValueError as err:
                raise _bad(str(err)) from err
            return self._services.get(fqn), fqn
        assert by_id is not None
        entity = next((e for e in self._services.values() if e["id"] == by_id), None)
        return entity, by_id

    def _find_visible(self, include: str, **key: str) -> dict:
        entity, shown = self._find(**key)
        if entity is None or not self._visible(entity, include):
            raise _not_found("dashboardService", shown)
        return entity

    # -- GET ------------------------------------------------------------------------------------------
    def _get_one(self, request: Request, caller: dict, **key: str) -> Response:
        fields = self._parse_fields(request)
        include = self._parse_include(request)
        entity = self._find_visible(include, **key)
        return Response.json(self._render(entity, caller, fields))

    def _list(self, request: Request, caller: dict) -> Response:
        fields = self._parse_fields(request)
        include = self._parse_include(request)
        try:
            limit = int(request.query.get("limit") or 10)
        except ValueError as err:
            raise _bad("query param limit must be an integer") from err
        if limit < 0:
            raise _bad("[query param limit must be greater than or equal to 0]")
        if limit > 1_000_000:
            raise _bad("[query param limit must be less than or equal to 1000000]")
        visible = [e for e in self._services.values() if self._visible(e, include)]
        page, paging = page_by_fqn(visible, limit, request.query.get("after"))
        data = [self._render(e, caller, fields) for e in page]
        return Response.json({"data": data, "paging": paging})

    # -- create / update ------------------------------------------------------------------------------
    def _new_entity(self, create: dict, fqn: str, caller: dict) -> dict:
        entity: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "name": create["name"],
            "fullyQualifiedName": fqn,
            "serviceType": create["serviceType"],
        }
        for key in ("displayName", "description", "connection", "style", "ingestionRunner"):
            if create.get(key) is not None:
                entity[key] = copy.deepcopy(create[key])
        entity["owners"] = self._resolve_owners(create.get("owners"))
        entity["tags"] = self._normalize_tags(create.get("tags"))
        entity["domains"] = self._resolve_domains(create.get("domains"))
        entity["followers"] = []
        if create.get("dataProducts"):
            entity["dataProducts"] = self._data_product_refs(create["dataProducts"])
        entity.update(
            version=0.1,
            updatedAt=_now_ms(),
            updatedBy=caller["name"],
            href=f"{self.url}{SERVICES_PATH}/{entity['id']}",
            deleted=False,
        )
        return entity

    @staticmethod
    def _data_product_refs(fqns: list[str]) -> list[dict]:
        return [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "openmetadata-dataProduct:" + f)),
                "type": "dataProduct",
                "name": f.rsplit(".", 1)[-1].strip('"'),
                "fullyQualifiedName": f,
            }
            for f in fqns
        ]

    def _unmask(self, create: dict, original: dict | None) -> None:
        """Replace every secret equal to MASK by the stored value (from a non-deleted original)."""
        config = (create.get("connection") or {}).get("config")
        if not isinstance(config, dict) or original is None or original.get("deleted"):
            return
        stored = (original.get("connection") or {}).get("config")
        for parts in _secret_paths(create["serviceType"], config):
            if _get_path(config, parts) == MASK:
                value = _get_path(stored, parts)
                if value is not _MISSING:
                    _set_path(config, parts, copy.deepcopy(value))

    def _create_or_update(
        self, create: dict, fqn: str, caller: dict, *, override_metadata: bool = False
    ) -> tuple[int, dict, str]:
        """Shared by PUT and bulk. Returns (status, stored entity, X-OpenMetadata-Change)."""
        original = self._services.get(fqn)
        self._unmask(create, original)
        self._ingestion.store_service_secrets(create)
        if original is None:
            entity = self._new_entity(create, fqn, caller)
            self._services[fqn] = entity
            return 201, entity, "entityCreated"

        bot = bool(caller.get("isBot")) and not override_metadata
        owners = self._resolve_owners(create.get("owners"))  # validate before changing anything
        domains = self._resolve_domains(create.get("domains"))
        updated = copy.deepcopy(original)
        added: list[dict] = []
        changed: list[dict] = []
        deleted: list[dict] = []

        def record(name: str, old: Any, new: Any) -> None:
            if old == new:
                return
            if old is None:
                added.append({"name": name, "newValue": new})
            elif new is None:
                deleted.append({"name": name, "oldValue": old})
            else:
                changed.append({"name": name, "oldValue": old, "newValue": new})

        if original.get("deleted"):
            updated["deleted"] = False
            changed.append({"name": "deleted", "oldValue": True, "newValue": False})

        for key in ("description", "displayName"):
            old = original.get(key)
            if bot and old:
                continue  # a bot's PUT never overwrites a curated value
            new = create.get(key)
            record(key, old, new)
            if new is None:
                updated.pop(key, None)
            else:
                updated[key] = new

        if create["serviceType"] != original["serviceType"]:
            record("serviceType", original["serviceType"], create["serviceType"])
            updated["serviceType"] = create["serviceType"]

        new_conn = create.get("connection")
        if new_conn is not None and new_conn != original.get("connection"):
            if original.get("connection") is None:
                added.append({"name": "connection", "newValue": "new-encrypted-value"})
            else:
                changed.append(
                    {
                        "name": "connection",
                        "oldValue": "old-encrypted-value",
                        "newValue": "new-encrypted-value",
                    }
                )
            updated["connection"] = copy.deepcopy(new_conn)

        if owners and self._ids(owners) != self._ids(original.get("owners")):
            record("owners", json.dumps(original.get("owners") or []), json.dumps(owners))
            updated["owners"] = owners

        existing_tags = {t["tagFQN"] for t in original.get("tags") or []}
        new_tags = [t for t in create.get("tags") or [] if t["tagFQN"] not in existing_tags]
        if new_tags:
            added.append({"name": "tags", "newValue": json.dumps(new_tags)})
            updated["tags"] = list(original.get("tags") or []) + new_tags

        keep_domains = bot and original.get("domains")
        if domains and not keep_domains and self._ids(domains) != self._ids(original.get("domains")):
            record("domains", json.dumps(original.get("domains") or []), json.dumps(domains))
            updated["domains"] = domains

        for key in ("style", "ingestionRunner"):
            if create.get(key) is not None and create[key] != original.get(key):
                record(
                    key, json.dumps(original.get(key)) if key in original else None, json.dumps(create[key])
                )
                updated[key] = copy.deepcopy(create[key])
        if create.get("dataProducts"):
            refs = self._data_product_refs(create["dataProducts"])
            if self._ids(refs) != self._ids(original.get("dataProducts")):
                record("dataProducts", json.dumps(original.get("dataProducts") or []), json.dumps(refs))
                updated["dataProducts"] = refs

        if not (added or changed or deleted):
            return 200, original, "entityNoChange"
        self._bump(updated, original, caller, added, changed, deleted)
        self._services[fqn] = updated
        return 200, updated, "entityUpdated"

    @staticmethod
    def _bump(updated: dict, original: dict, caller: dict, added: list, changed: list, deleted: list) -> None:
        updated["version"] = _next_version(original.get("version", 0.1))
        updated["updatedAt"] = max(_now_ms(), int(original.get("updatedAt") or 0) + 1)
        updated["updatedBy"] = caller["name"]
        updated["changeDescription"] = {
            "fieldsAdded": added,
            "fieldsUpdated": changed,
            "fieldsDeleted": deleted,
            "previousVersion": original.get("version", 0.1),
        }

    def _put(self, request: Request, caller: dict) -> Response:
        create, fqn = self._validate_create(self._json_body(request))
        override = _bool_param(request.query.get("overrideMetadata"), False)
        status, entity, change = self._create_or_update(create, fqn, caller, override_metadata=override)
        return Response.json(self._render(entity, caller), status, {"X-OpenMetadata-Change": change})

    def _post(self, request: Request, caller: dict) -> Response:
        create, fqn = self._validate_create(self._json_body(request))
        if fqn in self._services:
            raise _ApiError(409, "Entity already exists")
        self._ingestion.store_service_secrets(create)
        entity = self._new_entity(create, fqn, caller)
        self._services[fqn] = entity
        return Response.json(self._render(entity, caller), 201, {"Location": entity["href"]})

    # -- bulk -----------------------------------------------------------------------------------------
    def _bulk(self, request: Request, caller: dict) -> Response:
        items = self._json_body(request)
        if not isinstance(items, list):
            raise _type_error("<body>", "java.util.List<CreateDashboardService>", items)
        override = _bool_param(request.query.get("overrideMetadata"), False)
        run_async = _bool_param(request.query.get("async"), False)
        successes: list[dict] = []
        failures: list[dict] = []
        valid: list[tuple[dict, str]] = []
        for item in items:  # phase 1: validate everything
            try:
                create, fqn = self._validate_create(item)
                self._resolve_owners(create.get("owners"))
                valid.append((create, fqn))
            except _ApiError as err:
                failures.append({"request": item, "message": err.message, "status": err.status})
        for create, fqn in valid:  # phase 2: create or update, one by one
            try:
                self._create_or_update(create, fqn, caller, override_metadata=override)
                successes.append({"request": fqn, "status": 200})
            except _ApiError as err:
                failures.append({"request": fqn, "message": err.message, "status": err.status})
        if not failures:
            status = "success"
        elif not successes:
            status = "failure"
        else:
            status = "partialSuccess"
        result: dict[str, Any] = {
            "status": status,
            "numberOfRowsProcessed": len(items),
            "numberOfRowsPassed": len(successes),
            "numberOfRowsFailed": len(failures),
        }
        if run_async:
            result["numberOfRowsPassed"] = 0
            result["status"] = "partialSuccess" if failures else "success"
            if failures:
                result["failedRequest"] = failures
            return Response.json(result, 202)
        if successes:
            result["successRequest"] = successes
        if failures:
            result["failedRequest"] = failures
        return Response.json(result, 200)

    # -- PATCH ----------------------------------------------------------------------------------------
    _PATCHABLE = ("description", "displayName", "owners", "tags", "domains")

    def _patch(self, request: Request, caller: dict, **key: str) -> Response:
        operations = self._json_body(request, patch=True)
        original = self._find_visible("non-deleted", **key)
        if not isinstance(operations, list):
            raise _bad("JSON patch must be an array of operations")
        doc: dict[str, Any] = {k: copy.deepcopy(original[k]) for k in self._PATCHABLE if k in original}
        for op in operations:
            _apply_patch_op(doc, op, self._PATCHABLE)

        for k in ("description", "displayName"):
            if doc.get(k) is not None and not isinstance(doc[k], str):
                raise _type_error(k, "java.lang.String", doc[k])
        for k in ("owners", "tags", "domains"):
            if doc.get(k) is not None and not isinstance(doc[k], list):
                raise _type_error(k, "java.util.List", doc[k])
        owners = self._resolve_owners(doc.get("owners"))
        tags = self._normalize_tags(doc.get("tags"))
        domains = self._resolve_domains(doc.get("domains"))

        updated = copy.deepcopy(original)
        added: list[dict] = []
        changed: list[dict] = []
        deleted: list[dict] = []
        for k in ("description", "displayName"):
            old, new = original.get(k), doc.get(k)
            if old == new:
                continue
            if old is None:
                added.append({"name": k, "newValue": new})
            elif new is None:
                deleted.append({"name": k, "oldValue": old})
            else:
                changed.append({"name": k, "oldValue": old, "newValue": new})
            if new is None:
                updated.pop(k, None)
            else:
                updated[k] = new
        for k, new_list, same in (
            ("owners", owners, self._ids(owners) == self._ids(original.get("owners"))),
            ("tags", tags, [t["tagFQN"] for t in tags] == [t["tagFQN"] for t in original.get("tags") or []]),
            ("domains", domains, self._ids(domains) == self._ids(original.get("domains"))),
        ):
            if not same:
                changed.append(
                    {
                        "name": k,
                        "oldValue": json.dumps(original.get(k) or []),
                        "newValue": json.dumps(new_list),
                    }
                )
                updated[k] = new_list
        if not (added or changed or deleted):
            return Response.json(
                self._render(original, caller), 200, {"X-OpenMetadata-Change": "entityNoChange"}
            )
        self._bump(updated, original, caller, added, changed, deleted)
        self._services[original["fullyQualifiedName"]] = updated
        return Response.json(self._render(updated, caller), 200, {"X-OpenMetadata-Change": "entityUpdated"})

    # -- DELETE / restore -----------------------------------------------------------------------------
    def _delete(self, request: Request, caller: dict, **key: str) -> Response:
        hard = _bool_param(request.query.get("hardDelete"), False)
        entity = self._find_visible("all" if hard else "non-deleted", **key)
        fqn = entity["fullyQualifiedName"]
        if hard:
            del self._services[fqn]
            return Response.json(
                self._render(entity, caller), 200, {"X-OpenMetadata-Change": "entityDeleted"}
            )
        updated = copy.deepcopy(entity)
        updated["deleted"] = True
        self._bump(
            updated, entity, caller, [], [{"name": "deleted", "oldValue": False, "newValue": True}], []
        )
        self._services[fqn] = updated
        return Response.json(
            self._render(updated, caller), 200, {"X-OpenMetadata-Change": "entitySoftDeleted"}
        )

    def _restore(self, request: Request, caller: dict) -> Response:
        body = self._json_body(request)
        if not isinstance(body, dict) or not body.get("id"):
            raise _bad("[id must not be null]")
        entity = self._find_visible("all", by_id=str(body["id"]))
        if not entity.get("deleted"):
            return Response.json(
                self._render(entity, caller), 200, {"X-OpenMetadata-Change": "entityNoChange"}
            )
        updated = copy.deepcopy(entity)
        updated["deleted"] = False
        self._bump(
            updated, entity, caller, [], [{"name": "deleted", "oldValue": True, "newValue": False}], []
        )
        self._services[entity["fullyQualifiedName"]] = updated
        return Response.json(self._render(updated, caller), 200, {"X-OpenMetadata-Change": "entityRestored"})


# ------------------------------------------------------------------------------------------------------
# JSON Patch (RFC 6902 subset: add, remove, replace, test) restricted to some top-level members


def page_by_fqn(entities: list[dict], limit: int, after: str | None) -> tuple[list[dict], dict[str, Any]]:
    """One page of a listing ordered by FQN, and its ``paging`` (``total``, and the ``after`` / ``before`` cursors:
    the FQN of the last / first entity, base64 as the server's)."""
    items = sorted(entities, key=lambda e: e["fullyQualifiedName"])
    total = len(items)
    start = 0
    if after:
        try:
            cursor = base64.urlsafe_b64decode(after.encode()).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as err:
            raise _bad("Invalid after cursor") from err
        start = next((i for i, e in enumerate(items) if e["fullyQualifiedName"] > cursor), total)
    page = items[start : start + limit]
    paging: dict[str, Any] = {"total": total}
    if page and start + limit < total:
        paging["after"] = base64.urlsafe_b64encode(page[-1]["fullyQualifiedName"].encode()).decode()
    if page and start > 0:
        paging["before"] = base64.urlsafe_b64encode(page[0]["fullyQualifiedName"].encode()).decode()
    return page, paging


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or not path.startswith("/"):
        raise _bad(f"Invalid JSON patch path {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _apply_patch_op(doc: dict, op: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(op, dict) or op.get("op") not in ("add", "remove", "replace", "test"):
        raise _bad(f"Unsupported JSON patch operation {op!r}")
    parts = _pointer(op.get("path"))
    if parts[0] not in allowed:
        raise _bad(f"Patching {op.get('path')} is not supported by the fake (only {', '.join(allowed)})")
    kind = op["op"]
    if kind in ("add", "replace", "test") and "value" not in op:
        raise _bad(f"JSON patch {kind} needs a value")
    parent: Any = doc
    for part in parts[:-1]:
        if isinstance(parent, list):
            try:
                parent = parent[int(part)]
            except (ValueError, IndexError) as err:
                raise _bad(f"JSON patch path {op['path']} does not exist") from err
        elif isinstance(parent, dict) and part in parent:
            parent = parent[part]
        else:
            raise _bad(f"JSON patch path {op['path']} does not exist")
    last = parts[-1]
    value = copy.deepcopy(op.get("value"))
    if isinstance(parent, list):
        if last == "-" and kind == "add":
            parent.append(value)
            return
        try:
            index = int(last)
        except ValueError as err:
            raise _bad(f"JSON patch path {op['path']} does not exist") from err
        limit = len(parent) if kind == "add" else len(parent) - 1
        if not 0 <= index <= limit:
            raise _bad(f"JSON patch path {op['path']} does not exist")
        if kind == "add":
            parent.insert(index, value)
        elif kind == "remove":
            del parent[index]
        elif kind == "replace":
            parent[index] = value
        elif parent[index] != value:
            raise _bad(f"JSON patch test failed at {op['path']}")
        return
    if not isinstance(parent, dict):
        raise _bad(f"JSON patch path {op['path']} does not exist")
    top_level = len(parts) == 1
    if kind == "add" or (kind == "replace" and (last in parent or top_level)):
        parent[last] = value  # lenient: replace of an absent top-level member behaves like add
    elif kind == "remove" and last in parent:
        del parent[last]
    elif kind == "test" and parent.get(last, _MISSING) == value:
        pass
    elif kind == "test":
        raise _bad(f"JSON patch test failed at {op['path']}")
    else:
        raise _bad(f"JSON patch path {op['path']} does not exist")


# ------------------------------------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scanner.testing.fake_openmetadata",
        description="Run the fake OpenMetadata dashboard-service API on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=8585, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--bulk", action="store_true", help="serve PUT .../dashboardServices/bulk")
    parser.add_argument("--bulk-absent-status", type=int, choices=(404, 405), default=405)
    parser.add_argument("--bot-token", default="bot-token", help="token of user ingestion-bot (a bot)")
    parser.add_argument("--user-token", default="user-token", help="token of user admin (a person)")
    parser.add_argument("--no-mask", action="store_true", help="maskPasswordsAPI=false: never mask secrets")
    parser.add_argument(
        "--version", dest="om_version", default="2.0.7", help="version reported by the server"
    )
    parser.add_argument("--runner", choices=("airflow", "k8s", "disabled", "down"), default="airflow")
    parser.add_argument("--secrets-manager", choices=("db", "managed"), default="db")
    parser.add_argument("--autopilot", choices=("active", "inactive", "absent"), default="active")
    parser.add_argument("--gen", choices=("2.0", "1.13"), default="2.0", help="server generation emulated")
    args = parser.parse_args(argv)
    fake = FakeOpenMetadata(
        bot_token=args.bot_token,
        user_token=args.user_token,
        bulk=args.bulk,
        bulk_absent_status=args.bulk_absent_status,
        mask_passwords=not args.no_mask,
        version=args.om_version,
        port=args.port,
        runner=args.runner,
        secrets_manager=args.secrets_manager,
        autopilot=args.autopilot,
        gen=args.gen,
    )
    fake.start()
    fake.serve_until_interrupted([
        f"Fake OpenMetadata {args.om_version} at {fake.url}  (API: {fake.api_url})",
        "Tokens: bot 'ingestion-bot' and person 'admin' (see --bot-token/--user-token). Ctrl-C stops.",
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
