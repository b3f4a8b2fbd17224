"""A fake of Lightdash's REST API: what scanner's probe and OpenMetadata's Lightdash connector (2.0.7) call.

Serves (shared/contracts/bi-platforms-more.md section 5 and its Corrections; Lightdash's own sources where read):

* ``GET /api/v1/health`` without credentials: ``{"status":"ok","results":{"healthy","mode","version",
  "isAuthenticated",...}}``; with a valid key ``isAuthenticated`` is true, with a bad one 401. ``health_requires_auth``
  serves the variant that guards it (401 ``AuthorizationError`` without credentials).
* ``GET /api/v1/user``, ``/api/v1/org``, ``/api/v1/org/projects`` (``projectUuid``, ``name``, ``type``),
  ``/api/v1/projects/{p}``, ``/api/v1/projects/{p}/spaces`` (``organizationUuid``, ``projectUuid``, ``uuid``,
  ``name``, ``isPrivate``, ``dashboardCount``, ``chartCount``...), ``/api/v1/projects/{p}/spaces/{s}`` (``name``,
  ``dashboards[]`` with every key OpenMetadata's ``LightdashDashboard`` model requires, ``queries[]``),
  ``/api/v1/projects/{p}/charts`` and ``/api/v1/dashboards/{uuid}`` (``tiles[]``: a ``saved_chart`` tile showing a
  chart of the space, and a ``markdown`` tile the connector must skip). A trailing slash is accepted (Express).
* Credentials: ``Authorization: ApiKey <personal access token>``; a service-account token (``ldsvc_...``) only as
  ``Authorization: Bearer`` (as Lightdash's ee middleware reads it), and as ``ApiKey`` too only with
  ``service_tokens_as_apikey``. Errors are Lightdash's envelope ``{"status":"error","error":{"name","statusCode",
  "message","data"}}``: no or bad credentials 401 ``AuthorizationError`` ("Failed to authorize user" / "Personal
  access token is not recognised"), a ``forbidden`` user 403 ``ForbiddenError`` on every content call, a project
  or space it may not view 403, an unknown one 404 ``NotFoundError``.
* Any other GET answers the app's HTML page with **200** (the single-page app's catch-all, ``/api/v1/...``
  included); every answer carries the ``Lightdash-Version`` header (off with ``version_header=False``).
* ``tls=`` (a server-side ``ssl.SSLContext``), ``latency``, faults through ``inject()``, a request log without
  secrets (``requests``) and ``credential_log``: (method, path, whether an Authorization header came), in order.

[inferred] (not checked against a running Lightdash): the exact keys of the space list and of a space beyond those
OpenMetadata's models read (``dashboardCount``, ``chartCount``, ``queries``; ``space_queries=False`` serves a space
without ``queries``), the body of the HTML page (its ``<title>Lightdash</title>``), the 404 name for an unknown
project or space, that a ``forbidden`` user is refused on ``/api/v1/org/projects`` itself, and the version number.

    python -m scanner.testing.fake_lightdash --port 8080 --key my-pat
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any

from scanner.testing.rest_fake import RestFake, Route, bearer, html_page, route
from scanner.testing.server import Request, Response

SERVICE_ACCOUNT_PREFIX = "ldsvc_"
_NS = uuid.UUID("5a1f3c6e-2b1d-4f43-9a51-7c0d1e6b8a20")


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "/".join(map(str, parts))))


@dataclass
class FakeSpace:
    name: str
    dashboards: int = 2
    charts: int = 3
    uuid: str = ""          # derived from the names when empty
    is_private: bool = False
    never_viewed: int = 0   # this many of its dashboards have ``firstViewedAt: null`` (never opened)


@dataclass
class FakeProject:
    name: str
    spaces: list[FakeSpace] = field(default_factory=lambda: [FakeSpace("Shared")])
    uuid: str = ""
    type: str = "DEFAULT"   # or "PREVIEW" (``lightdash preview``)


@dataclass
class FakeUser:
    key: str                                # a personal access token, or an ``ldsvc_`` service-account token
    email: str = "scanner@example.com"
    forbidden: bool = False                 # 403 ForbiddenError on every content call
    projects: frozenset[str] | None = None  # names or UUIDs of the projects it can view; None: all
    spaces: frozenset[str] | None = None    # names or UUIDs of the spaces it can view; None: all

    @property
    def service_account(self) -> bool:
        return self.key.startswith(SERVICE_ACCOUNT_PREFIX)


def _error(status: int, name: str, message: str) -> Response:
    return Response.json({"status": "error", "error": {"name": name, "statusCode": status, "message": message,
                                                       "data": {}}}, status)


def _ok(results: Any) -> Response:
    return Response.json({"status": "ok", "results": results})


_NAMES = {400: "ParameterError", 401: "AuthorizationError", 403: "ForbiddenError", 404: "NotFoundError",
          405: "NotFoundError", 429: "TooManyRequestsError", 500: "UnexpectedServerError",
          503: "UnexpectedServerError"}


class FakeLightdash(RestFake):
    """See the module docstring. ``projects`` default: one project with one space of 2 dashboards and 3 charts;
    ``users`` default: ``{"admin": FakeUser("ld-pat-admin")}``."""

    name = "fake-lightdash"

    def __init__(self, *, projects: list[FakeProject] | None = None, users: dict[str, FakeUser] | None = None,
                 version: str = "0.2046.1", health_requires_auth: bool = False, version_header: bool = True,
                 service_tokens_as_apikey: bool = False, space_queries: bool = True, organization: str = "Acme",
                 tls: ssl.SSLContext | None = None, latency: float = 0.0, port: int = 0) -> None:
        self.version = version
        self.health_requires_auth = health_requires_auth
        self.version_header = version_header
        self.service_tokens_as_apikey = service_tokens_as_apikey
        self.space_queries = space_queries  # a space's answer lists its charts in "queries" (off: the other reading)
        self.organization = organization
        self.organization_uuid = _uuid("org", organization)
        self.users = dict(users if users is not None else {"admin": FakeUser("ld-pat-admin")})
        self.projects = [self._named(n, p) for n, p in enumerate(projects if projects is not None
                                                                  else [FakeProject("Analytics")])]
        super().__init__(tls=tls, latency=latency, port=port)

    @staticmethod
    def _named(n: int, project: FakeProject) -> FakeProject:
        """A copy with every UUID set (derived from position and names when not given)."""
        p_uuid = project.uuid or _uuid("project", n, project.name)
        spaces = [dataclasses.replace(s, uuid=s.uuid or _uuid("space", p_uuid, m, s.name))
                  for m, s in enumerate(project.spaces)]
        return dataclasses.replace(project, uuid=p_uuid, spaces=spaces)

    # -- what a request gets -----------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        p, s = r"(?P<p>[^/]+)", r"(?P<s>[^/]+)"
        return [
            route("GET", r"/api/v1/health/?", self._health, auth=False),
            route("GET", r"/api/v1/user/?", self._user),
            route("GET", r"/api/v1/org/?", self._org),
            route("GET", r"/api/v1/org/projects/?", self._org_projects),
            route("GET", rf"/api/v1/projects/{p}/?", self._project),
            route("GET", rf"/api/v1/projects/{p}/spaces/?", self._spaces),
            route("GET", rf"/api/v1/projects/{p}/spaces/{s}/?", self._space),
            route("GET", rf"/api/v1/projects/{p}/charts/?", self._charts),
            route("GET", r"/api/v1/dashboards/(?P<d>[^/]+)/?", self._dashboard),
        ]

    def authenticate(self, request: Request) -> Any:
        api_key, token = bearer(request, "ApiKey"), bearer(request, "Bearer")
        for name, user in self.users.items():
            if api_key is not None and api_key == user.key and (not user.service_account
                                                                or self.service_tokens_as_apikey):
                return _Principal(name, user)
            if token is not None and token == user.key and user.service_account:
                return _Principal(name, user)
        return None

    def unauthenticated(self, request: Request) -> Response:
        if bearer(request, "ApiKey") is not None:
            return _error(401, "AuthorizationError", "Personal access token is not recognised")
        if bearer(request, "Bearer") is not None:
            return _error(401, "AuthorizationError", "Invalid service account token. Authentication failed.")
        return _error(401, "AuthorizationError", "Failed to authorize user")

    def not_found(self, request: Request) -> Response:
        if request.method in ("GET", "HEAD"):  # the single-page app's catch-all, /api/v1/... included
            return html_page("Lightdash", '<div id="root"></div><script type="module" src="/assets/index.js">'
                                          "</script>")
        return Response(404, f"<pre>Cannot {request.method} {request.path}</pre>".encode(),
                        {"Content-Type": "text/html; charset=utf-8"})

    def error_response(self, status: int) -> Response:
        return _error(status, _NAMES.get(status, "LightdashError"), f"error {status}")

    def _app(self, request: Request) -> Response:
        resp = super()._app(request)
        if self.version_header and not resp.reset:
            resp.headers.setdefault("Lightdash-Version", self.version)
        return resp

    @property
    def credential_log(self) -> list[tuple[str, str, bool]]:
        """(method, path, whether the request carried a credential header), in arrival order. No values."""
        return [(r.method, r.path, r.credential) for r in self.requests]

    # -- handlers ----------------------------------------------------------------------------------------------

    def _health(self, request: Request, match: re.Match[str], _: Any) -> Response:
        principal = self.authenticate(request) if request.header("Authorization") else None
        if request.header("Authorization") and principal is None:
            return self.unauthenticated(request)  # a key that is present is checked (and refused)
        if self.health_requires_auth and principal is None:
            return _error(401, "AuthorizationError", "Failed to authorize user")
        return _ok({"healthy": True, "mode": "default", "version": self.version,
                    "isAuthenticated": principal is not None, "requiresOrgRegistration": False,
                    "localDbtEnabled": False, "siteUrl": self.url, "staticIp": "",
                    "auth": {"disablePasswordAuthentication": False, "pat": {"enabled": True}},
                    "latest": {"version": self.version}})

    def _user(self, request: Request, match: re.Match[str], who: _Principal) -> Response:
        return _ok({"userUuid": _uuid("user", who.name), "email": who.user.email, "firstName": who.name,
                    "lastName": "", "organizationUuid": self.organization_uuid,
                    "organizationName": self.organization, "role": "viewer" if who.user.forbidden else "admin",
                    "isActive": True, "isSetupComplete": True})

    def _org(self, request: Request, match: re.Match[str], who: _Principal) -> Response:
        return _ok({"organizationUuid": self.organization_uuid, "name": self.organization})

    def _org_projects(self, request: Request, match: re.Match[str], who: _Principal) -> Response:
        if who.user.forbidden:
            return self._forbidden()
        return _ok([{"projectUuid": p.uuid, "name": p.name, "type": p.type, "createdByUserUuid": None,
                     "upstreamProjectUuid": None, "warehouseType": "postgres", "requireUserCredentials": False}
                    for p in self.projects if self._may_view_project(who.user, p)])

    def _project(self, request: Request, match: re.Match[str], who: _Principal) -> Response:
        project, refusal = self._project_for(who, match["p"])
        if refusal:
            return refusal
        return _ok({"projectUuid": project.uuid, "organizationUuid": self.organization_uuid, "name": project.name,
                    "type": project.type, "dbtVersion": "v1.8", "pinnedListUuid": None})

    def _spaces(self, request: Request, match: re.Match[str], who: _Principal) -> Response:
        project, refusal = self._project_for(who, match["p"])
        if refusal:
            return refusal
        return _ok([self._space_summary(project, s) for s in project.spaces if self._may_view_space(who.user, s)])

    def _space(self, request: Request, match: re.Match[str], who: _Principal) -> Response:
        project, refusal = self._project_for(who, match["p"])
        if refusal:
            return refusal
        space = next((s for s in project.spaces if s.uuid == match["s"]), None)
        if space is None:
            return _error(404, "NotFoundError", "Space not found")
        if not self._may_view_space(who.user, space):
            return self._forbidden()
        queries = {"queries": self._charts_of(project, space)} if self.space_queries else {}
        return _ok({**self._space_summary(project, space), **queries,
                    "dashboards": [self._dashboard_summary(project, space, i) for i in range(space.dashboards)],
                    "access": [], "groupsAccess": [], "childSpaces": [], "breadcrumbs": []})

    def _charts(self, request: Request, match: re.Match[str], who: _Principal) -> Response:
        project, refusal = self._project_for(who, match["p"])
        if refusal:
            return refusal
        return _ok([c for s in project.spaces if self._may_view_space(who.user, s)
                    for c in self._charts_of(project, s)])

    def _dashboard(self, request: Request, match: re.Match[str], who: _Principal) -> Response:
        if who.user.forbidden:
            return self._forbidden()
        for project in self.projects:
            for space in project.spaces:
                for i in range(space.dashboards):
                    if _uuid("dashboard", space.uuid, i) != match["d"]:
                        continue
                    if not (self._may_view_project(who.user, project) and self._may_view_space(who.user, space)):
                        return self._forbidden()
                    return _ok({**self._dashboard_summary(project, space, i), "spaceName": space.name,
                                "tiles": self._tiles(project, space, i), "filters": {"dimensions": [],
                                                                                      "metrics": []}})
        return _error(404, "NotFoundError", "Dashboard not found")

    # -- content -----------------------------------------------------------------------------------------------

    @staticmethod
    def _forbidden() -> Response:
        return _error(403, "ForbiddenError", "You don't have access to this resource or action")

    def _project_for(self, who: _Principal, p_uuid: str) -> tuple[FakeProject, Response | None]:
        project = next((p for p in self.projects if p.uuid == p_uuid), None)
        if project is None:
            return FakeProject(""), _error(404, "NotFoundError", "Project not found")
        if who.user.forbidden or not self._may_view_project(who.user, project):
            return project, self._forbidden()
        return project, None

    @staticmethod
    def _may_view_project(user: FakeUser, project: FakeProject) -> bool:
        return user.projects is None or bool({project.name, project.uuid} & user.projects)

    @staticmethod
    def _may_view_space(user: FakeUser, space: FakeSpace) -> bool:
        return user.spaces is None or bool({space.name, space.uuid} & user.spaces)

    def _space_summary(self, project: FakeProject, space: FakeSpace) -> dict[str, Any]:
        return {"organizationUuid": self.organization_uuid, "projectUuid": project.uuid, "uuid": space.uuid,
                "name": space.name, "isPrivate": space.is_private, "pinnedListUuid": None, "pinnedListOrder": None,
                "parentSpaceUuid": None, "path": _slug(space.name), "slug": _slug(space.name),
                "dashboardCount": space.dashboards, "chartCount": space.charts, "access": [],
                "userAccess": {"role": "viewer", "hasDirectAccess": True}}

    def _charts_of(self, project: FakeProject, space: FakeSpace) -> list[dict[str, Any]]:
        return [{"uuid": _uuid("chart", space.uuid, i), "name": f"{space.name} chart {i + 1}", "description": None,
                 "organizationUuid": self.organization_uuid, "projectUuid": project.uuid, "spaceUuid": space.uuid,
                 "spaceName": space.name, "pinnedListUuid": None, "dashboardUuid": None, "dashboardName": None,
                 "chartType": "cartesian", "chartKind": "vertical_bar", "updatedAt": "2025-03-02T10:00:00.000Z",
                 "views": 3} for i in range(space.charts)]

    def _dashboard_summary(self, project: FakeProject, space: FakeSpace, i: int) -> dict[str, Any]:
        return {"organizationUuid": self.organization_uuid, "name": f"{space.name} dashboard {i + 1}",
                "description": f"Dashboard {i + 1} of {space.name}", "uuid": _uuid("dashboard", space.uuid, i),
                "projectUuid": project.uuid, "spaceUuid": space.uuid, "updatedAt": "2025-03-01T09:30:00.000Z",
                "updatedByUser": {"userUuid": _uuid("user", "admin"), "firstName": "Ada", "lastName": "Admin"},
                "views": 10 + i, "firstViewedAt": None if i < space.never_viewed else "2025-01-15T08:00:00.000Z",
                "pinnedListUuid": None, "pinnedListOrder": None, "validationErrors": []}

    def _tiles(self, project: FakeProject, space: FakeSpace, i: int) -> list[dict[str, Any]]:
        tiles: list[dict[str, Any]] = [{"uuid": _uuid("tile", space.uuid, i, "md"), "type": "markdown", "x": 0,
                                        "y": 0, "h": 2, "w": 12,
                                        "properties": {"title": "Notes", "content": "Read me"}}]
        if space.charts:
            chart = i % space.charts
            tiles.append({"uuid": _uuid("tile", space.uuid, i, "chart"), "type": "saved_chart", "x": 0, "y": 2,
                          "h": 6, "w": 12,
                          "properties": {"savedChartUuid": _uuid("chart", space.uuid, chart),
                                         "chartName": f"{space.name} chart {chart + 1}", "belongsToDashboard": False,
                                         "lastVersionChartKind": "vertical_bar", "title": ""}})
        return tiles


@dataclass(frozen=True)
class _Principal:
    name: str
    user: FakeUser


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# -- command line --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.testing.fake_lightdash",
                                     description="Run the fake Lightdash API on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--key", default="ld-pat-admin", help="the personal access token it accepts")
    parser.add_argument("--projects", type=int, default=2, help="projects, each with --spaces spaces")
    parser.add_argument("--spaces", type=int, default=2)
    parser.add_argument("--dashboards", type=int, default=2, help="dashboards per space")
    parser.add_argument("--charts", type=int, default=3, help="charts per space")
    args = parser.parse_args(argv)
    projects = [FakeProject(f"Project {p + 1}", [FakeSpace(f"Space {s + 1}", args.dashboards, args.charts)
                                                 for s in range(args.spaces)]) for p in range(args.projects)]
    fake = FakeLightdash(projects=projects, users={"admin": FakeUser(args.key)}, port=args.port)
    banner = [f"Fake Lightdash {fake.version} at {{url}}  ({args.projects} project(s) x {args.spaces} space(s))",
              "key from --key (Authorization: ApiKey <key>). Ctrl-C stops."]
    fake.start()
    fake.serve_until_interrupted([line.replace("{url}", fake.url) for line in banner])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
