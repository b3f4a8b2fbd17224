"""A small fake of Grafana's HTTP API and pages (Grafana 11 behaviour), for scanner's Grafana probe and for
OpenMetadata's own Grafana connector (``metadata/ingestion/source/dashboard/grafana/client.py``, 2.0.7).

Serves, as Grafana answers them (shared/contracts/bi-platforms-more.md section 11.1 and its Corrections):

* without credentials: ``GET /api/health`` (pretty-printed JSON ``database``/``version``/``commit``, content type
  ``application/json; charset=UTF-8``; ``version``/``commit`` left out with ``hide_version``, as
  ``[auth.anonymous] hide_version`` does; 503 with ``database: failing`` when ``healthy=False``), ``GET /healthz``
  (``Ok``), ``GET /login`` (the app page, ``<title>Grafana</title>``, boot data with ``buildInfo`` and the help
  node's ``"subTitle":"Grafana v<version> (<commit>)"``), ``GET /`` (302 to ``/login`` for an anonymous caller);
* with ``Authorization: Bearer <token>`` (a service account token, `ServiceAccount`): ``GET /api/org``,
  ``GET /api/search`` (``type``, ``page``, ``limit``, ``folderIds``; hits with the keys OpenMetadata's
  ``GrafanaSearchResult`` requires: ``uri``, ``isStarred``...), ``GET /api/folders`` (``page``, ``limit``),
  ``GET /api/dashboards/uid/<uid>`` (``dashboard`` with panels, one of them a ``text`` panel, and ``meta``),
  ``GET /api/datasources``;
* errors: no token: 401 ``{"message":"Unauthorized"}``; an unknown token: 401 ``{"message":"Invalid API key",
  "messageId":"api-key.invalid",...}``; a service account without a basic role (``role="None"``, the
  ``forbidden`` one): 403 ``Access denied`` on ``/api/org``, an empty search, 403 on ``/api/datasources``;
  an unknown ``/api/`` path: 404 ``{"message":"Not found"}``; any other unknown path: the app page with 404.

Options: ``sub_path`` (``root_url`` + ``serve_from_sub_path``: everything is served under it, ``base_url`` includes
it), ``tls`` (a server-side ``ssl.SSLContext``), ``latency``, fault injection (``inject``, from `RestFake`).
``requests`` is the log (method, path as received, status, service account name); ``credentialed`` lists
(method, path) of every request that came with a credential header (never its value): where a credential went.

[inferred] (not checked against a running Grafana): the exact 401 body for an unknown token (Grafana's errutil
public payload), the login page's boot data layout (only the title and the subTitle pattern matter), the 403 body
of the access-control middleware, that a Viewer gets 403 on ``/api/datasources`` (``datasources:read`` is the
Admin's), and that an anonymous ``/`` answers 302 (the Corrections say it redirects).

    python -m scanner.testing.fake_grafana --port 3000 --token glsa_demo_token_0000
"""

from __future__ import annotations

import argparse
import json
import ssl
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from scanner.testing.rest_fake import RestFake, Route, bearer, html_page, route
from scanner.testing.server import Request, Response

COMMIT = "83b9528bce"


@dataclass(frozen=True)
class ServiceAccount:
    """A service account a token belongs to. ``role``: Admin | Editor | Viewer | None (no basic role: the
    ``forbidden`` one). ``dashboards``: how many of the instance's dashboards it may see (None: all)."""

    name: str
    role: str = "Viewer"
    dashboards: int | None = None


class FakeGrafana(RestFake):
    name = "fake-grafana"

    def __init__(
        self,
        *,
        tokens: dict[str, ServiceAccount] | None = None,
        dashboards: int = 3,
        folders: int = 2,
        panels: int = 2,
        datasources: int = 1,
        version: str = "11.5.0",
        hide_version: bool = False,
        healthy: bool = True,
        sub_path: str = "",
        tls: ssl.SSLContext | None = None,
        latency: float = 0.0,
        port: int = 0,
    ) -> None:
        self.tokens = dict(tokens if tokens is not None else {"glsa_fake_admin_token_0001": ServiceAccount("admin",
                                                                                                         "Admin")})
        self.dashboard_count = dashboards
        self.folder_count = folders
        self.panels = panels  # chart panels per dashboard (each also has one text panel, which is no chart)
        self.datasource_count = datasources
        self.version = version
        self.hide_version = hide_version
        self.healthy = healthy
        super().__init__(tls=tls, latency=latency, port=port, prefix=sub_path)

    # -- what the tests read ------------------------------------------------------------------------------------

    @property
    def chart_count(self) -> int:
        """What OpenMetadata ingests as charts: every panel but ``row`` and ``text`` ones."""
        return self.dashboard_count * self.panels

    # -- RestFake -------------------------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        return [
            route("GET", "/api/health", self._health, auth=False),
            route("GET", "/healthz", lambda r, m, p: Response(200, b"Ok", {"Content-Type": "text/plain"}), auth=False),
            route("GET", "/login", self._login, auth=False),
            route("GET", "/", self._home, auth=False),
            route("GET", "/api/org/?", self._org),
            route("GET", "/api/search/?", self._search),
            route("GET", "/api/folders/?", self._folders),
            route("GET", "/api/dashboards/uid/(?P<uid>[^/]+)", self._dashboard),
            route("GET", "/api/datasources/?", self._datasources),
        ]

    def authenticate(self, request: Request) -> ServiceAccount | None:
        token = bearer(request)
        return self.tokens.get(token) if token else None

    def unauthenticated(self, request: Request) -> Response:
        if request.header("Authorization"):
            return Response.json({"message": "Invalid API key", "messageId": "api-key.invalid", "statusCode": 401,
                                  "traceID": ""}, 401)
        return Response.json({"message": "Unauthorized"}, 401)

    def not_found(self, request: Request) -> Response:
        if request.path.startswith("/api/"):
            return Response.json({"message": "Not found"}, 404)
        return self._page(404)

    def error_response(self, status: int) -> Response:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return Response.json({"message": phrase}, status)

    def outside_prefix(self, request: Request) -> Response:
        return Response(404, b"404 page not found\n", {"Content-Type": "text/plain; charset=utf-8"})

    # -- pages --------------------------------------------------------------------------------------------------

    def _boot_data(self) -> dict[str, Any]:
        shown = not self.hide_version
        build = {"hideVersion": not shown, "version": self.version if shown else "",
                 "versionString": f"Grafana v{self.version} ({COMMIT})" if shown else "Grafana",
                 "commit": COMMIT if shown else "", "edition": "Open Source", "env": "production"}
        help_node = {"id": "help", "text": "Help", "subTitle": build["versionString"], "icon": "question-circle",
                     "url": "#", "sortWeight": -1100}
        return {"user": {"isSignedIn": False, "id": 0, "login": "", "orgId": 1, "orgRole": ""},
                "settings": {"appUrl": "", "appSubUrl": self.prefix, "buildInfo": build},
                "navTree": [help_node]}

    def _page(self, status: int = 200) -> Response:
        head = (f'<base href="{self.prefix}/" /><link rel="stylesheet" '
                f'href="{self.prefix}/public/build/grafana.dark.0f1e2d3c.css" />')
        page = html_page("Grafana", f'<div id="reactRoot"></div><script nonce="">window.grafanaBootData = '
                                    f"{json.dumps(self._boot_data(), separators=(',', ':'))};</script>", status)
        page.body = page.body.replace(b"</title>", b"</title>" + head.encode(), 1)
        return page

    def _health(self, request: Request, match: Any, principal: Any) -> Response:
        body: dict[str, Any] = {"database": "ok" if self.healthy else "failing"}
        if not self.hide_version:
            body.update(version=self.version, commit=COMMIT)
        return Response(200 if self.healthy else 503, json.dumps(body, indent=2).encode(),
                        {"Content-Type": "application/json; charset=UTF-8"})

    def _login(self, request: Request, match: Any, principal: Any) -> Response:
        return self._page()

    def _home(self, request: Request, match: Any, principal: Any) -> Response:
        if self.authenticate(request) is not None:
            return self._page()
        return Response(302, b"", {"Location": f"{self.prefix}/login"})

    # -- API ----------------------------------------------------------------------------------------------------

    def _org(self, request: Request, match: Any, account: ServiceAccount) -> Response:
        if account.role == "None":
            return self._denied("orgs:read")
        return Response.json({"id": 1, "name": "Main Org.", "address": {"address1": "", "address2": "", "city": "",
                                                                         "zipCode": "", "state": "", "country": ""}})

    @staticmethod
    def _denied(permission: str) -> Response:
        return Response.json({"accessErrorId": "ACE2216407361", "message": "You'll need additional permissions to "
                              f"perform this action. Permissions needed: {permission}", "title": "Access denied"}, 403)

    @staticmethod
    def _paging(request: Request, default_limit: int) -> tuple[int, int] | Response:
        try:
            page = int(request.query.get("page", "1") or 1)
            limit = int(request.query.get("limit", str(default_limit)) or default_limit)
        except ValueError:
            return Response.json({"message": "bad request data"}, 400)
        return max(page, 1), (default_limit if limit < 1 else limit)

    def _folder(self, i: int) -> dict[str, Any]:
        return {"id": 100 + i, "uid": f"folder-{i}", "title": f"Folder {i}", "url": f"{self.prefix}/dashboards/f/"
                f"folder-{i}/folder-{i}", "version": 1}

    def _hit(self, i: int) -> dict[str, Any]:
        hit: dict[str, Any] = {"id": i, "uid": f"dash-{i}", "orgId": 1, "title": f"Dashboard {i}", "uri":
                               f"db/dashboard-{i}", "url": f"{self.prefix}/d/dash-{i}/dashboard-{i}",
                               "slug": "", "type": "dash-db", "tags": ["fake"], "isStarred": False, "sortMeta": 0}
        if self.folder_count:
            folder = self._folder(i % self.folder_count)
            hit.update(folderId=folder["id"], folderUid=folder["uid"], folderTitle=folder["title"],
                       folderUrl=folder["url"])
        return hit

    def _visible(self, account: ServiceAccount) -> list[int]:
        count = self.dashboard_count if account.dashboards is None else min(account.dashboards, self.dashboard_count)
        return list(range(1, count + 1)) if account.role != "None" or account.dashboards else []

    def _search(self, request: Request, match: Any, account: ServiceAccount) -> Response:
        paging = self._paging(request, 1000)
        if isinstance(paging, Response):
            return paging
        page, limit = paging
        if limit > 5000:
            return Response.json({"message": "Limit is above maximum allowed (5000), use page instead"}, 422)
        kind = request.query.get("type")
        hits = [self._hit(i) for i in self._visible(account)] if kind in (None, "", "dash-db") else []
        if kind in (None, "", "dash-folder"):
            hits = [{**self._folder(i), "type": "dash-folder", "uri": f"db/folder-{i}", "slug": "", "tags": [],
                     "isStarred": False} for i in range(self.folder_count)] + hits
        folder_ids = {v for k, v in request.query_list if k == "folderIds"}
        if folder_ids:
            hits = [h for h in hits if str(h.get("folderId", 0)) in folder_ids]
        return Response.json(hits[(page - 1) * limit: page * limit])

    def _folders(self, request: Request, match: Any, account: ServiceAccount) -> Response:
        paging = self._paging(request, 1000)
        if isinstance(paging, Response):
            return paging
        page, limit = paging
        folders = [self._folder(i) for i in range(self.folder_count)] if account.role != "None" else []
        return Response.json(folders[(page - 1) * limit: page * limit])

    def _dashboard(self, request: Request, match: Any, account: ServiceAccount) -> Response:
        uid = match.group("uid")
        index = int(uid[5:]) if uid.startswith("dash-") and uid[5:].isdigit() else 0
        if index not in self._visible(account):
            return Response.json({"message": "Dashboard not found"}, 404)
        hit = self._hit(index)
        datasource = {"type": "postgres", "uid": "ds-1"} if self.datasource_count else None
        panels: list[dict[str, Any]] = [
            {"id": p, "type": "timeseries", "title": f"Panel {p}", "datasource": datasource,
             "gridPos": {"h": 8, "w": 12, "x": 0, "y": 8 * p},
             "targets": [{"refId": "A", "datasource": datasource, "rawSql": "SELECT 1", "format": "table"}]}
            for p in range(1, self.panels + 1)
        ]
        panels.append({"id": self.panels + 1, "type": "text", "title": "Notes", "options": {"content": "hello"}})
        meta = {"type": "db", "canSave": account.role in ("Admin", "Editor"), "canEdit": account.role in ("Admin",
                "Editor"), "canAdmin": account.role == "Admin", "canStar": True, "canDelete": account.role == "Admin",
                "slug": f"dashboard-{index}", "url": hit["url"], "expires": "0001-01-01T00:00:00Z",
                "created": "2025-01-01T00:00:00Z", "updated": "2025-01-02T00:00:00Z", "updatedBy": "admin",
                "createdBy": "admin", "version": 1, "hasAcl": False, "isFolder": False,
                "folderId": hit.get("folderId", 0), "folderUid": hit.get("folderUid", ""),
                "folderTitle": hit.get("folderTitle", "General"), "folderUrl": hit.get("folderUrl", ""),
                "provisioned": False, "provisionedExternalId": ""}
        dashboard = {"id": index, "uid": uid, "title": hit["title"], "tags": hit["tags"], "timezone": "browser",
                     "editable": True, "panels": panels, "schemaVersion": 39, "version": 1,
                     "time": {"from": "now-6h", "to": "now"}, "refresh": "", "description": f"Fake dashboard {index}"}
        return Response.json({"meta": meta, "dashboard": dashboard})

    def _datasources(self, request: Request, match: Any, account: ServiceAccount) -> Response:
        if account.role != "Admin":
            return self._denied("datasources:read")
        return Response.json([{"id": i, "uid": f"ds-{i}", "orgId": 1, "name": f"Postgres {i}", "type": "postgres",
                               "typeName": "PostgreSQL", "access": "proxy", "url": "db.internal:5432",
                               "user": "grafana", "database": "sales", "basicAuth": False, "isDefault": i == 1,
                               "jsonData": {}, "readOnly": False} for i in range(1, self.datasource_count + 1)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.testing.fake_grafana",
                                     description="Run the fake Grafana on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=3000, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--token", default="glsa_fake_admin_token_0001", help="an Admin service account token")
    parser.add_argument("--viewer-token", help="also accept this token, for a Viewer service account")
    parser.add_argument("--dashboards", type=int, default=3)
    parser.add_argument("--folders", type=int, default=2)
    parser.add_argument("--panels", type=int, default=2, help="chart panels per dashboard")
    parser.add_argument("--version", default="11.5.0", help="version reported")
    parser.add_argument("--hide-version", action="store_true", help="as [auth.anonymous] hide_version")
    parser.add_argument("--sub-path", default="", help="serve under this path, e.g. /grafana")
    args = parser.parse_args(argv)
    tokens = {args.token: ServiceAccount("admin", "Admin")}
    if args.viewer_token:
        tokens[args.viewer_token] = ServiceAccount("viewer", "Viewer")
    fake = FakeGrafana(tokens=tokens, dashboards=args.dashboards, folders=args.folders, panels=args.panels,
                       version=args.version, hide_version=args.hide_version, sub_path=args.sub_path, port=args.port)
    fake.start()
    fake.serve_until_interrupted([
        f"Fake Grafana {fake.version} at {fake.base_url}  ({fake.dashboard_count} dashboards, "
        f"{fake.folder_count} folders)",
        f"GRAFANA_URL={fake.base_url}  GRAFANA_SERVICE_ACCOUNT_TOKEN=<--token>. Ctrl-C stops.",
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
