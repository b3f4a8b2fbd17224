"""A loopback fake of Power BI's two cloud hosts: Microsoft Entra's token service (``login.microsoftonline.com``) and
the Power BI REST API (``api.powerbi.com``), for scanner's Power BI probe and for OpenMetadata's own Power BI connector
(``metadata/ingestion/source/dashboard/powerbi/client.py``, 2.0.7, which gets its token through MSAL).

One server answers both (their paths do not meet): point ``POWERBI_AUTHORITY_URL`` at ``<url>/`` and
``POWERBI_API_URL`` at ``<url>``, or run two fakes to keep the hosts apart. MSAL needs https: give ``tls=`` (a
server-side ``ssl.SSLContext``) for anything that goes through MSAL. Serves
(shared/contracts/bi-platforms-more.md section 7 and its Corrections):

Entra (no credentials needed to ask):

* ``GET /{tenant}/v2.0/.well-known/openid-configuration``: the tenant's OpenID configuration (``issuer``,
  ``authorization_endpoint``, ``token_endpoint`` on this server); an unknown tenant gets 400 ``invalid_tenant``
  AADSTS90002.
* ``POST /{tenant}/oauth2/v2.0/token``, ``grant_type=client_credentials``: the client's secret is taken from the form
  body (``client_secret``, what MSAL 1.39 sends) **or** ``Authorization: Basic`` (``quote_plus``-encoded id and secret,
  as RFC 6749 and older MSAL send it); ``scope`` must be Power BI's ``.default`` scope. Answers
  ``{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": ...}``, or Entra's error JSON
  (``error``, ``error_description`` "AADSTSnnnn: ...\\r\\nTrace ID: ...", ``error_codes``, ``timestamp``,
  ``trace_id``, ``correlation_id``, ``error_uri``): unknown tenant 400 ``invalid_request`` AADSTS90002; a client id
  not registered in that tenant 400 ``unauthorized_client`` AADSTS700016; a wrong secret 401 ``invalid_client``
  AADSTS7000215; no secret 401 ``invalid_client`` AADSTS7000218; another scope 400 ``invalid_scope`` AADSTS1002012;
  another grant 400 ``unsupported_grant_type`` AADSTS70003.

Power BI REST (``Authorization: Bearer <a token this fake issued>``):

* ``GET /v1.0/myorg/groups`` (``$top``, ``$skip``, ``$filter``): the workspaces the service principal is a member
  of, exactly ``{"@odata.context", "@odata.count", "value"}`` (OpenMetadata rejects any other key count);
  ``$filter`` understands what OpenMetadata's ``create_filter_query`` writes: ``contains``/``startswith``/
  ``endswith(name, '...')``, ``trim(name) eq '...'``, ``not(...)``, ``and``, ``or``.
* ``GET /v1.0/myorg/groups/{id}/dashboards|reports|datasets``, ``.../dashboards/{id}/tiles``,
  ``.../reports/{id}/pages``, ``.../reports/{id}/datasources``, ``.../datasets/{id}/tables``: ``{"@odata.context",
  "value"}``; a workspace the principal is not a member of answers 403, an unknown one 404.
* Admin APIs (only for a principal with ``admin_apis=True``, the tenant setting "service principals can access
  read-only admin APIs"): ``GET /v1.0/myorg/admin/groups`` (``$top`` required, at most 5000: every workspace of
  the tenant, same three keys), ``GET /v1.0/myorg/admin/dashboards`` and ``/admin/reports`` (``$top``/``$skip``),
  and the scanner API OpenMetadata ingests with: ``POST /v1.0/myorg/admin/workspaces/getInfo`` (202 with the scan),
  ``GET .../workspaces/scanStatus/{id}`` (``Succeeded`` at once), ``GET .../workspaces/scanResult/{id}``
  (``workspaces`` with their dashboards and tiles, reports, datasets and tables).
* A principal the tenant does not allow to use Power BI's APIs (``api_access=False``, the ``forbidden`` one) gets
  **401** ``{"error": {"code": "PowerBINotAuthorizedException", "pbi.error": {...}}}`` on every call; so does a
  principal without ``admin_apis`` on ``/admin/`` paths. No token, or one this fake did not issue: 403 with an empty
  body and ``WWW-Authenticate: Bearer ... error="invalid_token"``.
* Unknown paths: 404 (``{"error": {"code": "PowerBIEntityNotFound"...}}`` below ``/v1.0/``, a plain page elsewhere);
  ``GET /`` answers 404 too, as the real API host does for its root [inferred].

[inferred] (not checked against the real services): the 400 status of AADSTS700016/90002 (the contract marks
them so), the discovery answer for an unknown tenant, the exact error descriptions, the 403 of a missing or foreign
token (Power BI answers 403 for an invalid token in practice, but its headers vary), the 403 body of a workspace
the principal is not a member of, the ``$top`` error of the admin groups call, the shape of the scan result beyond
what OpenMetadata's models read, and the sample fields of workspaces, dashboards, reports, tiles and pages.

Options: ``principals`` (client id -> `ServicePrincipal`), ``workspaces`` (a count or `Workspace` s), ``tiles``
per dashboard, ``pages`` per report, ``tables`` per dataset, ``tenants`` (more known tenant ids), ``tls``,
``latency``, ``port``, fault injection (``inject``). ``requests`` logs
method, path, status and the principal's name, never a secret; ``credentialed`` lists every request that carried a
credential (a bearer token, a Basic header or a ``client_secret`` in the body).

    python -m scanner.testing.fake_powerbi --port 8443 --tls
"""

from __future__ import annotations

import argparse
import base64
import itertools
import re
import secrets
import ssl
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from scanner.testing.rest_fake import RestFake, Route, bearer, route, text
from scanner.testing.server import Request, Response

SCOPE = "https://analysis.windows.net/powerbi/api/.default"
TENANT = "5b2f8c3e-1d4a-4e6f-9a7b-2c8d0e1f3a4b"
CLIENT_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
CLIENT_SECRET = "Qx8~fakePowerBiSecret.0123456789abcdefABCD"
TIMESTAMP = "2025-06-02 10:11:12Z"
_TOKEN_PATH = re.compile(r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token")
_GUID = "[0-9a-fA-F-]{36}"


@dataclass(frozen=True)
class ServicePrincipal:
    """An app registration's service principal in a tenant. ``workspaces``: the names of the workspaces it is a
    member of (None: every one). ``api_access``: the tenant lets it use Power BI's APIs (False: the ``forbidden``
    one). ``admin_apis``: it may use the read-only admin APIs."""

    secret: str
    tenant: str = TENANT
    name: str = "scanner-reader"
    workspaces: tuple[str, ...] | None = None
    api_access: bool = True
    admin_apis: bool = False


@dataclass(frozen=True)
class Workspace:
    name: str
    dashboards: int = 2
    reports: int = 3
    datasets: int = 1
    state: str = "Active"
    id: str = field(default="")

    def with_id(self, index: int) -> Workspace:
        if self.id:
            return self
        return Workspace(self.name, self.dashboards, self.reports, self.datasets, self.state, _guid("ws", index))


def _guid(kind: str, *numbers: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-powerbi/{kind}/{'/'.join(map(str, numbers))}"))


def _pbi_error(code: str, status: int, message: str | None = None) -> Response:
    error: dict[str, Any] = {"code": code}
    if message:
        error["message"] = message
    error["pbi.error"] = {"code": code, "parameters": {}, "details": [], "exceptionCulprit": 1}
    return Response.json({"error": error}, status, {"RequestId": str(uuid.uuid4())})


class FakePowerBI(RestFake):
    name = "fake-powerbi"

    def __init__(
        self,
        *,
        principals: dict[str, ServicePrincipal] | None = None,
        workspaces: int | Sequence[Workspace] = 2,
        tiles: int = 2,
        pages: int = 2,
        tables: int = 1,
        tenants: Sequence[str] = (),
        tls: ssl.SSLContext | None = None,
        latency: float = 0.0,
        port: int = 0,
    ) -> None:
        self.principals = dict(principals if principals is not None else
                               {CLIENT_ID: ServicePrincipal(CLIENT_SECRET, admin_apis=True)})
        if isinstance(workspaces, int):
            workspaces = [Workspace(f"Workspace {i}") for i in range(1, workspaces + 1)]
        self.workspaces = [w.with_id(i) for i, w in enumerate(workspaces, 1)]
        self.tiles = tiles
        self.pages = pages
        self.tables = tables
        self.tenants = {TENANT, *tenants, *(p.tenant for p in self.principals.values())}
        self._tokens: dict[str, str] = {}  # access token -> client id
        self._scans: dict[str, list[str]] = {}
        self._ids = itertools.count(1)
        self._state_lock = threading.Lock()
        super().__init__(tls=tls, latency=latency, port=port)

    # -- what the tests read ----------------------------------------------------------------------------------

    def visible(self, client_id: str) -> list[Workspace]:
        """The workspaces `client_id`'s principal is a member of."""
        member = self.principals[client_id].workspaces
        return [w for w in self.workspaces if member is None or w.name in member]

    def dashboard_count(self, client_id: str | None = None) -> int:
        spaces = self.workspaces if client_id is None else self.visible(client_id)
        return sum(w.dashboards for w in spaces)

    def report_count(self, client_id: str | None = None) -> int:
        spaces = self.workspaces if client_id is None else self.visible(client_id)
        return sum(w.reports for w in spaces)

    @property
    def tokens_issued(self) -> int:
        with self._state_lock:
            return len(self._tokens)

    # -- RestFake -------------------------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        ws = r"/v1.0/myorg/groups/(?P<ws>[^/]+)"
        return [
            route("GET", r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration", self._discovery, auth=False),
            route("POST", _TOKEN_PATH.pattern, self._token, auth=False),
            route("GET", r"/v1\.0/myorg/groups/?", self._groups),
            route("GET", rf"{ws}/dashboards/?", self._dashboards),
            route("GET", rf"{ws}/dashboards/(?P<item>[^/]+)/tiles/?", self._tiles),
            route("GET", rf"{ws}/reports/?", self._reports),
            route("GET", rf"{ws}/reports/(?P<item>[^/]+)/pages/?", self._pages),
            route("GET", rf"{ws}/reports/(?P<item>[^/]+)/datasources/?", self._datasources),
            route("GET", rf"{ws}/datasets/?", self._datasets),
            route("GET", rf"{ws}/datasets/(?P<item>[^/]+)/tables/?", self._tables),
            route("GET", r"/v1\.0/myorg/admin/groups/?", self._admin_groups),
            route("GET", r"/v1\.0/myorg/admin/dashboards/?", self._admin_items),
            route("GET", r"/v1\.0/myorg/admin/reports/?", self._admin_items),
            route("POST", r"/v1\.0/myorg/admin/workspaces/getInfo/?", self._scan_start),
            route("GET", rf"/v1\.0/myorg/admin/workspaces/scanStatus/(?P<scan>{_GUID})", self._scan_status),
            route("GET", rf"/v1\.0/myorg/admin/workspaces/scanResult/(?P<scan>{_GUID})", self._scan_result),
        ]

    def authenticate(self, request: Request) -> ServicePrincipal | None:
        token = bearer(request)
        with self._state_lock:
            client_id = self._tokens.get(token) if token else None
        return self.principals.get(client_id) if client_id else None

    def unauthenticated(self, request: Request) -> Response:
        return Response(403, b"", {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/'
                                   'common/oauth2/authorize", error="invalid_token"'})

    def not_found(self, request: Request) -> Response:
        if request.path.startswith("/v1.0/"):
            return _pbi_error("PowerBIEntityNotFound", 404)
        return text(404, "<html><head><title>404 - Not Found</title></head><body>Not Found</body></html>",
                    "text/html; charset=utf-8")

    def error_response(self, status: int) -> Response:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return Response.json({"error": {"code": phrase.replace(" ", ""), "message": phrase}}, status)

    def carries_credential(self, request: Request) -> bool:
        if super().carries_credential(request):
            return True
        return request.method == "POST" and b"client_secret" in request.body

    # -- Entra ------------------------------------------------------------------------------------------------

    def _entra_error(self, status: int, error: str, code: int, text_: str) -> Response:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        return Response.json({
            "error": error,
            "error_description": f"AADSTS{code}: {text_}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\n"
                                 f"Timestamp: {TIMESTAMP}",
            "error_codes": [code], "timestamp": TIMESTAMP, "trace_id": trace, "correlation_id": correlation,
            "error_uri": f"{self.url}/error?code={code}",
        }, status)

    def _unknown_tenant(self, tenant: str, error: str) -> Response:
        return self._entra_error(400, error, 90002, f"Tenant '{tenant}' not found. Check to make sure you have the "
                                 "correct tenant ID and are signing into the correct cloud.")

    def _discovery(self, request: Request, match: Any, principal: Any) -> Response:
        tenant = match.group("tenant")
        if tenant not in self.tenants:
            return self._unknown_tenant(tenant, "invalid_tenant")
        base = f"{self.url}/{tenant}"
        return Response.json({
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        })

    def _token(self, request: Request, match: Any, principal: Any) -> Response:
        tenant = match.group("tenant")
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = bearer(request, "Basic")
        if basic:
            try:
                user, _, password = base64.b64decode(basic).decode("utf-8").partition(":")
            except ValueError:
                return self._entra_error(401, "invalid_client", 7000216, "'client_assertion', 'client_secret' or "
                                         "'request' is required for the 'client_credentials' grant type.")
            client_id, secret = client_id or unquote_plus(user), secret or unquote_plus(password)
        if tenant not in self.tenants:
            return self._unknown_tenant(tenant, "invalid_request")
        if form.get("grant_type") != "client_credentials":
            return self._entra_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant "
                                     f"type '{form.get('grant_type', '')}'.")
        found = self.principals.get(client_id or "")
        if found is None or found.tenant != tenant:
            return self._entra_error(400, "unauthorized_client", 700016, f"Application with identifier "
                                     f"'{client_id}' was not found in the directory '{tenant}'. This can happen if "
                                     "the application has not been installed by the administrator of the tenant "
                                     "or consented to by any user in the tenant. You may have sent your "
                                     "authentication request to the wrong tenant.")
        if not secret:
            return self._entra_error(401, "invalid_client", 7000218, "The request body must contain the following "
                                     "parameter: 'client_assertion' or 'client_secret'.")
        if not secrets.compare_digest(secret.encode(), found.secret.encode()):
            return self._entra_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the "
                                     "secret being sent in the request is the client secret value, not the client "
                                     f"secret ID, for a secret added to app '{client_id}'.")
        if form.get("scope", "").split() != [SCOPE]:
            return self._entra_error(400, "invalid_scope", 1002012, f"The provided value for scope "
                                     f"{form.get('scope', '')} is not valid. Client credential flows must have a "
                                     "scope value with /.default suffixed to the resource identifier "
                                     "(application ID URI).")
        token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-pbi." + secrets.token_urlsafe(24)
        with self._state_lock:
            self._tokens[token] = client_id  # type: ignore[assignment]
        return Response.json({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                              "access_token": token})

    # -- Power BI REST ----------------------------------------------------------------------------------------

    def _context(self, what: str) -> str:
        return f"{self.url}/v1.0/myorg/$metadata#{what}"

    @staticmethod
    def _not_allowed() -> Response:
        return _pbi_error("PowerBINotAuthorizedException", 401)

    def _member(self, principal: ServicePrincipal, workspace: Workspace) -> bool:
        return principal.workspaces is None or workspace.name in principal.workspaces

    @staticmethod
    def _window(request: Request, *, required: bool = False, maximum: int | None = None) -> tuple[int, int] | Response:
        top_text, skip_text = request.query.get("$top"), request.query.get("$skip", "0")
        if top_text is None and required:
            return Response.json({"error": {"code": "InvalidRequest", "message": "The '$top' query parameter is "
                                            "required"}}, 400)
        try:
            top = int(top_text) if top_text is not None else None
            skip = int(skip_text or 0)
        except ValueError:
            return Response.json({"error": {"code": "InvalidRequest", "message": "Invalid $top or $skip"}}, 400)
        if top is not None and (top < 1 or (maximum is not None and top > maximum)):
            return Response.json({"error": {"code": "InvalidRequest", "message": f"$top must be between 1 and "
                                            f"{maximum or 'the maximum'}"}}, 400)
        return skip, (top if top is not None else 1 << 30)

    def _group(self, workspace: Workspace, admin: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"id": workspace.id, "isReadOnly": False, "isOnDedicatedCapacity": False,
                                "type": "Workspace", "name": workspace.name}
        if admin:
            item.update(state=workspace.state, hasWorkspaceLevelSettings=False)
        return item

    def _group_list(self, request: Request, spaces: list[Workspace], admin: bool) -> Response:
        window = self._window(request, required=admin, maximum=5000 if admin else None)
        if isinstance(window, Response):
            return window
        skip, top = window
        query = request.query.get("$filter")
        if query:
            try:
                spaces = [w for w in spaces if _odata_match(query, w.name)]
            except ValueError as exc:
                return Response.json({"error": {"code": "InvalidRequest", "message": f"Invalid $filter: {exc}"}},
                                     400)
        page = spaces[skip: skip + top]
        return Response.json({"@odata.context": self._context("groups"), "@odata.count": len(spaces),
                              "value": [self._group(w, admin) for w in page]})

    def _groups(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        if not principal.api_access:
            return self._not_allowed()
        return self._group_list(request, [w for w in self.workspaces if self._member(principal, w)], admin=False)

    def _workspace(self, match: Any, principal: ServicePrincipal) -> Workspace | Response:
        if not principal.api_access:
            return self._not_allowed()
        workspace = next((w for w in self.workspaces if w.id == match.group("ws")), None)
        if workspace is None:
            return _pbi_error("PowerBIEntityNotFound", 404)
        if not self._member(principal, workspace):
            return _pbi_error("PowerBINotAuthorizedException", 403, "The service principal is not a member of "
                              "this workspace")
        return workspace

    def _dashboard(self, workspace: Workspace, index: int) -> dict[str, Any]:
        did = _guid("dashboard", self.workspaces.index(workspace), index)
        return {"id": did, "displayName": f"{workspace.name} dashboard {index}", "isReadOnly": False,
                "webUrl": f"https://app.powerbi.com/groups/{workspace.id}/dashboards/{did}",
                "embedUrl": f"https://app.powerbi.com/dashboardEmbed?dashboardId={did}&groupId={workspace.id}",
                "users": [], "subscriptions": []}

    def _report(self, workspace: Workspace, index: int) -> dict[str, Any]:
        rid = _guid("report", self.workspaces.index(workspace), index)
        return {"id": rid, "reportType": "PowerBIReport", "name": f"{workspace.name} report {index}",
                "webUrl": f"https://app.powerbi.com/groups/{workspace.id}/reports/{rid}",
                "embedUrl": f"https://app.powerbi.com/reportEmbed?reportId={rid}&groupId={workspace.id}",
                "isFromPbix": True, "isOwnedByMe": False,
                "datasetId": self._dataset(workspace, 1)["id"] if workspace.datasets else None,
                "datasetWorkspaceId": workspace.id, "users": [], "subscriptions": []}

    def _dataset(self, workspace: Workspace, index: int) -> dict[str, Any]:
        return {"id": _guid("dataset", self.workspaces.index(workspace), index),
                "name": f"{workspace.name} dataset {index}", "configuredBy": "owner@example.com",
                "isRefreshable": True, "isEffectiveIdentityRequired": False, "targetStorageMode": "Abf",
                "webUrl": f"https://app.powerbi.com/groups/{workspace.id}/datasets/"
                          f"{_guid('dataset', self.workspaces.index(workspace), index)}"}

    def _table_item(self, index: int) -> dict[str, Any]:
        return {"name": f"sales_{index}", "columns": [{"name": "id", "dataType": "Int64"},
                                                      {"name": "amount", "dataType": "Double"}],
                "measures": [], "source": [{"expression": 'let Source = Sql.Database("db.example.com", "sales") '
                                                          "in Source"}]}

    def _dashboards_of(self, w: Workspace) -> list[dict[str, Any]]:
        return [self._dashboard(w, i) for i in range(1, w.dashboards + 1)]

    def _reports_of(self, w: Workspace) -> list[dict[str, Any]]:
        return [self._report(w, i) for i in range(1, w.reports + 1)]

    def _datasets_of(self, w: Workspace) -> list[dict[str, Any]]:
        return [self._dataset(w, i) for i in range(1, w.datasets + 1)]

    def _listing(self, what: str, values: list[dict[str, Any]]) -> Response:
        return Response.json({"@odata.context": self._context(what), "value": values})

    def _in_workspace(self, match: Any, principal: ServicePrincipal, what: str, items) -> Response:
        workspace = self._workspace(match, principal)
        if isinstance(workspace, Response):
            return workspace
        return self._listing(what, items(workspace))

    def _dashboards(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        return self._in_workspace(match, principal, "dashboards", self._dashboards_of)

    def _reports(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        return self._in_workspace(match, principal, "reports", self._reports_of)

    def _datasets(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        return self._in_workspace(match, principal, "datasets", self._datasets_of)

    def _child(self, match: Any, principal: ServicePrincipal, parents, what: str, make) -> Response:
        workspace = self._workspace(match, principal)
        if isinstance(workspace, Response):
            return workspace
        if match.group("item") not in {p["id"] for p in parents(workspace)}:
            return _pbi_error("PowerBIEntityNotFound", 404)
        return self._listing(what, make(workspace, match.group("item")))

    def _tiles_of(self, workspace: Workspace, dashboard_id: str) -> list[dict[str, Any]]:
        report = self._report(workspace, 1) if workspace.reports else None
        return [{"id": _guid("tile", dashboard_id, i), "title": f"Tile {i}", "subTitle": "",
                 "embedUrl": f"https://app.powerbi.com/embed?dashboardId={dashboard_id}&tileId=t{i}",
                 "rowSpan": 0, "colSpan": 0, "reportId": report["id"] if report else None,
                 "datasetId": report["datasetId"] if report else None} for i in range(1, self.tiles + 1)]

    def _tiles(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        return self._child(match, principal, self._dashboards_of, "tiles", self._tiles_of)

    def _pages(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        return self._child(match, principal, self._reports_of, "pages", lambda w, rid: [
            {"name": f"ReportSection{i}", "displayName": f"Page {i}", "order": i - 1}
            for i in range(1, self.pages + 1)])

    def _datasources(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        return self._child(match, principal, self._reports_of, "datasources", lambda w, rid: [
            {"datasourceType": "Sql", "connectionDetails": {"server": "db.example.com", "database": "sales"},
             "datasourceId": _guid("datasource", rid), "gatewayId": _guid("gateway", 1)}])

    def _tables(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        return self._child(match, principal, self._datasets_of, "tables",
                           lambda w, did: [self._table_item(i) for i in range(1, self.tables + 1)])

    # -- admin APIs -----------------------------------------------------------------------------------------------

    def _admin(self, principal: ServicePrincipal) -> Response | None:
        return None if principal.api_access and principal.admin_apis else self._not_allowed()

    def _admin_groups(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        return self._admin(principal) or self._group_list(request, self.workspaces, admin=True)

    def _admin_items(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        refused = self._admin(principal)
        if refused:
            return refused
        window = self._window(request)
        if isinstance(window, Response):
            return window
        skip, top = window
        kind = "dashboards" if request.path.rstrip("/").endswith("dashboards") else "reports"
        items: list[dict[str, Any]] = []
        for w in self.workspaces:
            for item in (self._dashboards_of(w) if kind == "dashboards" else self._reports_of(w)):
                items.append({**item, "workspaceId": w.id})
        return self._listing(kind, items[skip: skip + top])

    def _scan_start(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        refused = self._admin(principal)
        if refused:
            return refused
        try:
            wanted = request.json()["workspaces"]
            assert isinstance(wanted, list) and all(isinstance(w, str) for w in wanted)
        except (ValueError, KeyError, TypeError, AssertionError):
            return Response.json({"error": {"code": "InvalidRequest", "message": "workspaces is required"}}, 400)
        if not wanted or len(wanted) > 100:
            return Response.json({"error": {"code": "InvalidRequest", "message": "1 to 100 workspaces"}}, 400)
        scan = _guid("scan", next(self._ids), id(self))
        with self._state_lock:
            self._scans[scan] = wanted
        return Response.json({"id": scan, "createdDateTime": "2025-06-02T10:11:12.123", "status": "NotStarted"},
                             202)

    def _scan_status(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        refused = self._admin(principal)
        if refused:
            return refused
        with self._state_lock:
            known = match.group("scan") in self._scans
        if not known:
            return _pbi_error("PowerBIEntityNotFound", 404)
        return Response.json({"id": match.group("scan"), "createdDateTime": "2025-06-02T10:11:12.123",
                              "status": "Succeeded"})

    def _scan_result(self, request: Request, match: Any, principal: ServicePrincipal) -> Response:
        refused = self._admin(principal)
        if refused:
            return refused
        with self._state_lock:
            wanted = self._scans.get(match.group("scan"))
        if wanted is None:
            return _pbi_error("PowerBIEntityNotFound", 404)
        out = []
        for w in self.workspaces:
            if w.id not in wanted:
                continue
            dashboards = [{**d, "tiles": self._tiles_of(w, d["id"])} for d in self._dashboards_of(w)]
            datasets = [{**d, "tables": [self._table_item(i) for i in range(1, self.tables + 1)], "expressions": [],
                         "upstreamDataflows": [], "upstreamDatasets": []} for d in self._datasets_of(w)]
            out.append({"id": w.id, "name": w.name, "type": "Workspace", "state": w.state,
                        "isOnDedicatedCapacity": False, "reports": self._reports_of(w), "dashboards": dashboards,
                        "datasets": datasets, "dataflows": [], "datamarts": []})
        return Response.json({"workspaces": out, "datasourceInstances": []})


# -- $filter, as OpenMetadata's create_filter_query writes it ------------------------------------------------------

_CONDITION = re.compile(r"^(?:(contains|startswith|endswith)\(name,\s*'(.*)'\)|trim\(name\) eq '(.*)')$")


def _odata_match(query: str, name: str) -> bool:
    """``or`` binds looser than ``and``; ``not(...)`` negates one condition."""
    return any(all(_condition(part.strip(), name) for part in _split(alt, " and ")) for alt in _split(query, " or "))


def _split(text_: str, word: str) -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text_):
        ch = text_[i]
        if ch == "'":
            end = text_.find("'", i + 1)
            i = end if end != -1 else len(text_)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and text_.startswith(word, i):
            parts.append(text_[start:i])
            start = i + len(word)
            i = start
            continue
        i += 1
    parts.append(text_[start:])
    return parts


def _condition(cond: str, name: str) -> bool:
    if cond.startswith("not(") and cond.endswith(")"):
        return not _condition(cond[4:-1].strip(), name)
    found = _CONDITION.match(cond)
    if not found:
        raise ValueError(f"unsupported condition {cond!r}")
    func, literal, exact = found.groups()
    if exact is not None:
        return name.strip() == exact
    return {"contains": literal in name, "startswith": name.startswith(literal),
            "endswith": name.endswith(literal)}[func]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.testing.fake_powerbi",
                                     description="Run the fake Entra + Power BI API on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=8443, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--client-id", default=CLIENT_ID)
    parser.add_argument("--client-secret", default=CLIENT_SECRET)
    parser.add_argument("--tenant", default=TENANT)
    parser.add_argument("--workspaces", type=int, default=2)
    parser.add_argument("--no-admin", action="store_true", help="the principal may not use the admin APIs")
    parser.add_argument("--tls", action="store_true",
                        help="serve https with a throw-away CA (trustme), written to ./fake-powerbi-ca.pem; MSAL "
                             "needs https")
    args = parser.parse_args(argv)
    context = None
    if args.tls:
        from scanner.testing.throwaway_ca import server_context

        context = server_context("fake-powerbi-ca.pem")
    principal = ServicePrincipal(args.client_secret, tenant=args.tenant, admin_apis=not args.no_admin)
    fake = FakePowerBI(principals={args.client_id: principal}, workspaces=args.workspaces, tls=context,
                       port=args.port)
    fake.start()
    ca_line = ["POWERBI_CA_BUNDLE=fake-powerbi-ca.pem"] if args.tls else []
    fake.serve_until_interrupted([
        f"Fake Entra + Power BI at {fake.url} ({len(fake.workspaces)} workspaces, "
        f"{fake.dashboard_count()} dashboards, {fake.report_count()} reports)",
        f"AZURE_TENANT_ID={args.tenant} AZURE_CLIENT_ID={args.client_id} AZURE_CLIENT_SECRET=<--client-secret>",
        f"POWERBI_AUTHORITY_URL={fake.url}/ POWERBI_API_URL={fake.url} {' '.join(ca_line)}",
        "Ctrl-C stops.",
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
