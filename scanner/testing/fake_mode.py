"""A loopback fake of Mode's REST API (the cloud BI service at ``https://app.mode.com``), on `RestFake`.

What it serves (shared/contracts/bi-platforms-more.md section 6; Mode's API reference and error codes pages; the
calls of OpenMetadata's Mode connector, ``metadata/ingestion/source/dashboard/mode/client.py`` 2.0.7):

* Authentication: HTTP Basic ``token:secret`` of an API token (`ModeToken`); anything else on ``/api/...`` answers
  401 ``{"id": "unauthorized", "message": ...}``. Every JSON answer is ``application/hal+json``.
* ``GET /api/{workspace}`` -> the HAL workspace object (``token``, ``id``, ``username``, ``name``, ``user: false``,
  ``_links``): OpenMetadata's test connection (``CheckDashboards``). The name is matched case-insensitively and
  answered in the workspace's own spelling. A workspace that does not exist, or that the token does not belong
  to, answers 404 ``{"id": "not_found", ...}``. ``GET /api/{username}`` of a member -> the user (with ``email``), as
  OpenMetadata reads a report creator's email.
* ``GET /api/account`` -> the account the token belongs to (its workspace).
* ``GET /api/{workspace}/spaces?filter=all|custom`` -> ``_embedded.spaces``: ``all`` lists the shared (``custom``)
  collections and the personal (``private``) ones, ``custom`` or no filter the shared ones only; another value
  answers 400 ``bad_request``.
* ``GET /api/{workspace}/spaces/{space}/reports?page=N`` -> ``_embedded.reports``, `page_size` reports a page;
  past the last page (`past_last`): ``"empty"`` an empty list, ``"clamp"`` the last page again, ``"ignore"`` the
  ``page`` parameter is ignored (page one every time).
  A report has ``token``, ``name``, ``description``, ``space_token``, ``_links.share``/``creator``/``web``.
* ``GET /api/{workspace}/reports/{report}/queries`` -> ``_embedded.queries`` (``token``, ``name``, ``raw_query``,
  ``data_source_id``); ``.../queries/{query}/charts`` -> ``_embedded.charts`` (``token``, ``view_vegas.title``,
  ``_links.report_viz_web``); ``GET /api/{workspace}/data_sources`` -> ``_embedded.data_sources``.
* A token with ``forbidden=True`` sees the workspace but gets 403 ``{"id": "forbidden", ...}`` on everything in it;
  ``spaces=N`` limits the collections it sees (0: a token that sees none).
* ``/`` redirects to ``/signin`` (a page); other paths: 404 (JSON ``not_found`` under ``/api/``, else a page).
  An injected fault answers Mode's error JSON for its status.

[inferred] (not checked against Mode): the 401/403/404 message texts; that a workspace the token does not belong
to answers 404 rather than 403; what ``/api/account`` answers for a Workspace API token (here the workspace); the
meaning of ``filter`` (``all``/``custom``); the report page size (30 here; Mode documents none) and what a page past
the last answers (all three readings are served); the id of a 429's error; the site's own pages; sample fields
beyond those OpenMetadata reads.

The request log names the token's ``name`` (never a secret). Run it alone::

    python -m scanner.testing.fake_mode --port 8080 --workspace acme --token tok --secret sec
"""

from __future__ import annotations

import argparse
import base64
import binascii
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from scanner.testing.rest_fake import RestFake, Route, html_page, route
from scanner.testing.server import Request, Response

HAL = "application/hal+json; charset=utf-8"
PAST_LAST = ("empty", "clamp", "ignore")
_CREATED = "2025-03-01T10:00:00.000Z"
_MESSAGES = {400: ("bad_request", "Bad request"), 401: ("unauthorized", "Unauthorized"),
             403: ("forbidden", "Forbidden"), 404: ("not_found", "Not found"),
             405: ("method_not_allowed", "Method not allowed"), 429: ("too_many_requests", "Too many requests"),
             500: ("unknown", "Unexpected server error"), 502: ("unknown", "Bad gateway"),
             503: ("unknown", "Service unavailable"), 504: ("unknown", "Gateway timeout")}


@dataclass
class ModeWorkspace:
    """A Mode workspace and what it holds (each collection the same)."""

    username: str = "acme"
    name: str = "Acme Inc."
    spaces: int = 2          # shared ("custom") collections
    private_spaces: int = 1  # personal collections (listed with filter=all only)
    reports: int = 3         # reports in each collection
    queries: int = 2         # queries in each report
    charts: int = 1          # charts of each query
    data_sources: int = 1
    members: tuple[str, ...] = ("ana",)
    workspace_id: int = 7

    @property
    def space_count(self) -> int:
        return self.spaces + self.private_spaces

    @property
    def report_count(self) -> int:
        """What OpenMetadata ingests as dashboards with its default filter (all)."""
        return self.space_count * self.reports


@dataclass
class ModeToken:
    """An API token of `workspace` and its secret. ``forbidden``: 403 on everything in the workspace; ``spaces``:
    how many collections it sees (None: all)."""

    token: str
    password: str
    workspace: str = "acme"
    name: str = "api-token"
    forbidden: bool = False
    spaces: int | None = None


class FakeMode(RestFake):
    """See the module docstring."""

    name = "fake-mode"

    def __init__(self, *, workspaces: list[ModeWorkspace] | None = None, tokens: list[ModeToken] | None = None,
                 page_size: int = 30, past_last: str = "empty", tls: ssl.SSLContext | None = None,
                 latency: float = 0.0, port: int = 0) -> None:
        if past_last not in PAST_LAST:
            raise ValueError(f"past_last must be one of {PAST_LAST}")
        self.workspaces = {w.username.lower(): w for w in (workspaces or [ModeWorkspace()])}
        self.tokens = {t.token: t for t in (tokens or [ModeToken("mode-token-0001", "mode-secret-0001")])}
        self.page_size = page_size
        self.past_last = past_last
        super().__init__(tls=tls, latency=latency, port=port)

    # -- RestFake -------------------------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        ws = r"/api/(?P<ws>[^/]+)"
        return [
            route("GET", "/", self._home, auth=False),
            route("GET", "/signin", lambda r, m, p: html_page("Sign in | Mode", "<form></form>"), auth=False),
            route("GET", "/api/account/?", self._account),
            route("GET", ws + "/spaces/?", self._spaces),
            route("GET", ws + r"/spaces/(?P<space>[^/]+)/reports/?", self._reports),
            route("GET", ws + r"/reports/(?P<report>[^/]+)/queries/?", self._queries),
            route("GET", ws + r"/reports/(?P<report>[^/]+)/queries/(?P<query>[^/]+)/charts/?", self._charts),
            route("GET", ws + "/data_sources/?", self._data_sources),
            route("GET", ws + "/?", self._named),
        ]

    def authenticate(self, request: Request) -> ModeToken | None:
        header = (request.header("Authorization") or "").strip()
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic" or not value.strip():
            return None
        try:
            pair = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        token, sep, password = pair.partition(":")
        found = self.tokens.get(token)
        return found if sep and found is not None and found.password == password else None

    def unauthenticated(self, request: Request) -> Response:
        return _error(401, "You must be authenticated with a valid API token and secret")

    def not_found(self, request: Request) -> Response:
        if request.path.startswith("/api/"):
            return _error(404, "Not found")
        return html_page("Page not found | Mode", "<h1>404</h1>", 404)

    def error_response(self, status: int) -> Response:
        return _error(status, _MESSAGES.get(status, ("unknown", f"error {status}"))[1])

    # -- lookups --------------------------------------------------------------------------------------------------

    def _workspace(self, match: Any, token: ModeToken) -> ModeWorkspace | Response:
        name = unquote(match.group("ws"))
        workspace = self.workspaces.get(name.lower())
        if workspace is None or workspace.username.lower() != token.workspace.lower():
            return _error(404, f"Account {name} not found")
        return workspace

    def _inside(self, match: Any, token: ModeToken) -> ModeWorkspace | Response:
        """The workspace of a path below it, for a token allowed in."""
        workspace = self._workspace(match, token)
        if isinstance(workspace, ModeWorkspace) and token.forbidden:
            return _error(403, "You do not have permission to access this resource")
        return workspace

    def _visible_spaces(self, workspace: ModeWorkspace, token: ModeToken, kinds: tuple[str, ...]) -> list[dict]:
        spaces = [self._space(workspace, i, "custom") for i in range(workspace.spaces)]
        spaces += [self._space(workspace, workspace.spaces + i, "private") for i in range(workspace.private_spaces)]
        if token.spaces is not None:
            spaces = spaces[:token.spaces]
        return [s for s in spaces if s["space_type"] in kinds]

    # -- handlers -------------------------------------------------------------------------------------------------

    def _home(self, request: Request, match: Any, principal: Any) -> Response:
        return Response(302, b"", {"Location": "/signin", "Content-Type": "text/html; charset=utf-8"})

    def _account(self, request: Request, match: Any, token: ModeToken) -> Response:
        workspace = self.workspaces.get(token.workspace.lower())
        if workspace is None:
            return _error(404, "Account not found")
        return _hal(self._workspace_doc(workspace))

    def _named(self, request: Request, match: Any, token: ModeToken) -> Response:
        name = unquote(match.group("ws"))
        own = self.workspaces.get(token.workspace.lower())
        if own is not None and name.lower() in {m.lower() for m in own.members}:
            member = next(m for m in own.members if m.lower() == name.lower())
            return _hal(_user_doc(member))
        workspace = self._workspace(match, token)
        if isinstance(workspace, Response):
            return workspace
        return _hal(self._workspace_doc(workspace))

    def _spaces(self, request: Request, match: Any, token: ModeToken) -> Response:
        workspace = self._inside(match, token)
        if isinstance(workspace, Response):
            return workspace
        kind = request.query.get("filter", "")
        if kind not in ("", "all", "custom"):
            return _error(400, f"Invalid filter: {kind}")
        kinds = ("custom", "private") if kind == "all" else ("custom",)
        spaces = self._visible_spaces(workspace, token, kinds)
        return _hal({"_links": {"self": {"href": f"/api/{workspace.username}/spaces"}},
                     "_embedded": {"spaces": spaces}})

    def _reports(self, request: Request, match: Any, token: ModeToken) -> Response:
        workspace = self._inside(match, token)
        if isinstance(workspace, Response):
            return workspace
        space = match.group("space")
        visible = {s["token"] for s in self._visible_spaces(workspace, token, ("custom", "private"))}
        if space not in visible:
            return _error(404, f"Space {space} not found")
        index = int(space[-4:], 16)
        reports = [self._report(workspace, index, r) for r in range(workspace.reports)]
        try:
            page = int(request.query.get("page", "1"))
        except ValueError:
            page = 1
        pages = max(1, -(-len(reports) // self.page_size))
        if self.past_last == "ignore":
            page = 1
        elif self.past_last == "clamp":
            page = min(max(page, 1), pages)
        start = (max(page, 1) - 1) * self.page_size
        return _hal({"_links": {"self": {"href": f"/api/{workspace.username}/spaces/{space}/reports?page={page}"}},
                     "_embedded": {"reports": reports[start:start + self.page_size]}})

    def _report_index(self, workspace: ModeWorkspace, report: str) -> tuple[int, int] | None:
        if len(report) != 12 or not report.startswith("r"):
            return None
        try:
            space, number = int(report[1:7], 16), int(report[7:], 16)
        except ValueError:
            return None
        if space >= workspace.space_count or number >= workspace.reports:
            return None
        return space, number

    def _queries(self, request: Request, match: Any, token: ModeToken) -> Response:
        workspace = self._inside(match, token)
        if isinstance(workspace, Response):
            return workspace
        report = match.group("report")
        if self._report_index(workspace, report) is None:
            return _error(404, f"Report {report} not found")
        queries = [_query(workspace, report, q) for q in range(workspace.queries)]
        return _hal({"_links": {"self": {"href": f"/api/{workspace.username}/reports/{report}/queries"}},
                     "_embedded": {"queries": queries}})

    def _charts(self, request: Request, match: Any, token: ModeToken) -> Response:
        workspace = self._inside(match, token)
        if isinstance(workspace, Response):
            return workspace
        report, query = match.group("report"), match.group("query")
        if self._report_index(workspace, report) is None or not _is_query_of(workspace, report, query):
            return _error(404, f"Query {query} not found")
        charts = [_chart(workspace, report, query, c) for c in range(workspace.charts)]
        return _hal({"_links": {"self": {"href": f"/api/{workspace.username}/reports/{report}/queries/{query}/"
                                                 "charts"}},
                     "_embedded": {"charts": charts}})

    def _data_sources(self, request: Request, match: Any, token: ModeToken) -> Response:
        workspace = self._inside(match, token)
        if isinstance(workspace, Response):
            return workspace
        sources = [{"id": i + 1, "token": f"ds{i:010x}", "name": f"Warehouse {i + 1}", "database": "analytics",
                    "adapter": "jdbc:postgresql", "host": "db.internal", "port": 5432,
                    "_links": {"self": {"href": f"/api/{workspace.username}/data_sources/ds{i:010x}"}}}
                   for i in range(workspace.data_sources)]
        return _hal({"_links": {"self": {"href": f"/api/{workspace.username}/data_sources"}},
                     "_embedded": {"data_sources": sources}})

    # -- documents ------------------------------------------------------------------------------------------------

    @staticmethod
    def _workspace_doc(workspace: ModeWorkspace) -> dict[str, Any]:
        name = workspace.username
        return {"token": f"w{workspace.workspace_id:011x}", "id": workspace.workspace_id, "username": name,
                "name": workspace.name, "avatar_url": f"https://example.invalid/avatars/{name}.png", "user": False,
                "created_at": _CREATED,
                "_links": {"self": {"href": f"/api/{name}"}, "web": {"href": f"/{name}"},
                           "spaces": {"href": f"/api/{name}/spaces"},
                           "data_sources": {"href": f"/api/{name}/data_sources"}}}

    @staticmethod
    def _space(workspace: ModeWorkspace, index: int, kind: str) -> dict[str, Any]:
        token = f"s{workspace.workspace_id:07x}{index:04x}"
        name = f"Collection {index + 1}" if kind == "custom" else f"Personal {index + 1}"
        return {"token": token, "id": 1000 + index, "space_type": kind, "name": name, "description": "",
                "state": "active", "restricted": kind == "private", "free_default": False,
                "_links": {"self": {"href": f"/api/{workspace.username}/spaces/{token}"},
                           "reports": {"href": f"/api/{workspace.username}/spaces/{token}/reports"},
                           "web": {"href": f"/{workspace.username}/spaces/{token}"}}}

    @staticmethod
    def _report(workspace: ModeWorkspace, space: int, number: int) -> dict[str, Any]:
        token = f"r{space:06x}{number:05x}"
        ws = workspace.username
        creator = workspace.members[number % len(workspace.members)] if workspace.members else ws
        return {"token": token, "id": space * 100000 + number + 1, "name": f"Report {space + 1}.{number + 1}",
                "description": f"Fake report {number + 1}", "created_at": _CREATED, "updated_at": _CREATED,
                "archived": False, "space_token": f"s{workspace.workspace_id:07x}{space:04x}",
                "account_username": ws, "query_count": workspace.queries,
                "chart_count": workspace.queries * workspace.charts,
                "_links": {"self": {"href": f"/api/{ws}/reports/{token}"},
                           "share": {"href": f"/{ws}/reports/{token}"}, "web": {"href": f"/{ws}/reports/{token}"},
                           "creator": {"href": f"/api/{creator}"},
                           "queries": {"href": f"/api/{ws}/reports/{token}/queries"}}}


def _query(workspace: ModeWorkspace, report: str, number: int) -> dict[str, Any]:
    token = f"{report}q{number:x}"
    return {"token": token, "id": number + 1, "name": f"Query {number + 1}",
            "raw_query": f"SELECT region, sum(amount) AS total FROM sales.orders_{number} GROUP BY region",
            "data_source_id": 1 if workspace.data_sources else None, "created_at": _CREATED,
            "_links": {"self": {"href": f"/api/{workspace.username}/reports/{report}/queries/{token}"}}}


def _is_query_of(workspace: ModeWorkspace, report: str, query: str) -> bool:
    return query in {f"{report}q{n:x}" for n in range(workspace.queries)}


def _chart(workspace: ModeWorkspace, report: str, query: str, number: int) -> dict[str, Any]:
    token = f"{query}c{number:x}"
    ws = workspace.username
    return {"token": token, "view_vegas": {"title": f"Chart {number + 1}"}, "created_at": _CREATED,
            "_links": {"self": {"href": f"/api/{ws}/reports/{report}/queries/{query}/charts/{token}"},
                       "report_viz_web": {"href": f"/{ws}/reports/{report}/viz/{token}"}}}


def _user_doc(username: str) -> dict[str, Any]:
    return {"token": "u" + username.encode().hex()[:11].ljust(11, "0"), "id": 500, "username": username,
            "name": username.title(), "email": f"{username}@example.com", "user": True,
            "_links": {"self": {"href": f"/api/{username}"}}}


def _hal(body: dict[str, Any], status: int = 200) -> Response:
    resp = Response.json(body, status)
    resp.headers["Content-Type"] = HAL
    return resp


def _error(status: int, message: str) -> Response:
    return _hal({"id": _MESSAGES.get(status, ("unknown", ""))[0], "message": message}, status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.testing.fake_mode",
                                     description="Run the fake Mode API on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--workspace", default="acme")
    parser.add_argument("--token", default="mode-token-0001")
    parser.add_argument("--secret", default="mode-secret-0001")
    parser.add_argument("--spaces", type=int, default=2)
    parser.add_argument("--reports", type=int, default=3, help="reports in each collection")
    args = parser.parse_args(argv)
    fake = FakeMode(workspaces=[ModeWorkspace(args.workspace, spaces=args.spaces, reports=args.reports)],
                    tokens=[ModeToken(args.token, args.secret, args.workspace)], port=args.port)
    fake.start()
    fake.serve_until_interrupted([
        f"Fake Mode at {fake.url}  (workspace {args.workspace}: {args.spaces} shared + 1 personal collections, "
        f"{args.reports} reports each)",
        f"MODE_URL={fake.url} MODE_WORKSPACE={args.workspace} MODE_API_TOKEN=<--token> MODE_API_SECRET=<--secret>. "
        "Ctrl-C stops.",
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
