"""A loopback fake of Redash (the self-hosted BI tool), as its Flask app answers (getredash/redash, 25.x).

Serves, on `RestFake` (shared/contracts/bi-platforms-more.md section 4 and its Corrections):

* ``GET /ping`` -> ``PONG.`` (``text/html``), no login.
* ``GET /login`` -> the login page, ``<title>Login to Redash</title>`` (``login_title`` gives the other reading,
  ``Login | Redash``); before setup (``set_up=False``) a 302 to ``/setup``, and ``/setup`` is the setup page.
* ``GET /api/config`` -> ``{"org_slug", "client_config"}``, no login needed; ``client_config.version`` only when a
  valid *user* key is sent (never anonymously, never for an API-user key); before setup a 500 page (there is no
  organisation yet: ``current_org.slug`` fails).
* ``GET /api/session`` (login required) -> ``{"user", "messages", "org_slug", "client_config"}``: a user key gets
  ``user.{id,name,email,groups,permissions}`` and ``client_config.version``; an API-user key (``api_keys``: what
  Redash's ``ApiKey`` model holds, e.g. a shared dashboard's key) gets ``{"permissions": [], "apiKey": <the key>}``
  and no version, exactly as Redash echoes it.
* ``GET /api/dashboards`` (``list_dashboards``) and ``GET /api/queries`` (``view_query``), paginated as
  ``redash.handlers.base.paginate``: ``page``/``page_size`` (defaults 1 and 25; text that is not an integer is the
  default, as Flask's ``type=int``), 400 ``Page must be positive integer.``, ``Page is out of range.`` (only when
  the count is not 0), ``Page size is out of range (1-250).``, checked in that order; the answer is
  ``{"count", "page", "page_size", "results"}`` with ``widgets: null`` in list items.
* ``GET /api/dashboards/<id>`` -> the dashboard with ``widgets[].visualization.{type, name, description,
  query{name, query}}``, ``tags`` and ``user.email`` (what OpenMetadata's connector reads); 404 for another id.
* A user key is ``Authorization: Key <key>`` (Redash strips the first ``"Key "``, so ``Bearer <key>`` is a wrong
  key) or ``?api_key=<key>``. A missing or wrong key on a login-required ``/api/`` path answers **404**
  ``{"message": "Couldn't find resource. Please login and try again."}``, never 401.
* A user without the permission (``forbidden=True``) and an API-user key on ``/api/dashboards`` get 403 with
  flask-restful's message; an API user has only ``view_query`` and sees no query (``count`` 0).
* Any other path is Redash's login-required catch-all: anonymous -> 404 JSON when the path contains ``/api/`` or
  the request is XHR (``X-Requested-With: XMLHttpRequest``), else a 302 to ``/login?next=<the URL>``; a caller with
  a valid key -> the single-page app's ``index.html`` with 200, whatever the path.

[inferred] (not checked against a running Redash): the exact 403 text (flask-restful's default for ``abort(403)``);
that an injected fault answers JSON ``{"message"}`` (a proxy in front may answer otherwise); the SPA page body;
the sample fields of dashboards, widgets and queries beyond the ones OpenMetadata reads.

``requests`` logs method, path, status and whose key the request carried, on every path (the user's email,
``api-key`` for an API user, ``(unknown key)`` for any other ``Authorization`` header or ``api_key``; None when it
carried none), never a key: the log shows whether a credential went out before the fingerprint passed.
Run it alone with ``python -m scanner.testing.fake_redash --port 5000``.
"""

from __future__ import annotations

import argparse
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from scanner.testing.rest_fake import RestFake, Route, html_page, route, text
from scanner.testing.server import LocalServer, Request, Response

NOT_LOGGED_IN = "Couldn't find resource. Please login and try again."
FORBIDDEN = ("You don't have the permission to access the requested resource. It is either read-protected or not "
             "readable by the server.")
NOT_FOUND = ("The requested URL was not found on the server. If you entered the URL manually please check your "
             "spelling and try again.")
UNKNOWN_KEY = "(unknown key)"
_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: FORBIDDEN, 404: NOT_FOUND,
            405: "The method is not allowed for the requested URL.", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
_PERMISSIONS = ["admin", "create_dashboard", "create_query", "edit_dashboard", "edit_query", "view_query",
                "view_source", "execute_query", "list_users", "schedule_query", "list_dashboards", "list_alerts",
                "list_data_sources"]
_CREATED = "2025-03-01T10:00:00.000000+00:00"


@dataclass
class RedashUser:
    """A Redash user and the API key on their profile page; counts are what they see."""

    api_key: str
    email: str
    full_name: str = "Scanner Bot"
    dashboards: int = 3
    queries: int = 4
    widgets: int = 2         # visualization widgets on each dashboard
    forbidden: bool = False  # in groups without list_dashboards/view_query: the list calls answer 403
    user_id: int = 1

    @property
    def name(self) -> str:  # what the request log shows
        return self.email


@dataclass(frozen=True)
class _ApiUser:
    """Who an ``ApiKey``-model key (a shared dashboard's key) logs in as: Redash's ``ApiUser``."""

    key: str
    name: str = "api-key"


class FakeRedash(RestFake):
    """See the module docstring."""

    name = "fake-redash"

    def __init__(self, *, users: dict[str, RedashUser] | list[RedashUser] | None = None,
                 api_keys: tuple[str, ...] = (), version: str | None = "25.8.0", set_up: bool = True,
                 login_title: str = "Login to Redash", tls: ssl.SSLContext | None = None, latency: float = 0.0,
                 port: int = 0) -> None:
        listed = list(users.values()) if isinstance(users, dict) else list(users or [])
        if users is None:
            listed = [RedashUser("redash-user-key-0001", "admin@example.com")]
        self.users = {u.api_key: u for u in listed}
        self.api_keys = tuple(api_keys)
        self.version = version      # None: a server whose session carries no version
        self.set_up = set_up        # False: a fresh install, no organisation yet
        self.login_title = login_title
        super().__init__(tls=tls, latency=latency)
        if port:
            self._server = LocalServer(self._app, name=self.name, port=port, ssl_context=tls)

    # -- the platform ------------------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        return [
            route("GET", "/ping", self._ping, auth=False),
            route("GET", "/login", self._login, auth=False),
            route("GET", "/setup", self._setup, auth=False),
            route("GET", "/api/config", self._config, auth=False),
            route("GET", "/api/session", self._session),
            route("GET", "/api/dashboards", self._dashboards),
            route("GET", r"/api/dashboards/(?P<id>\d+)", self._dashboard),
            route("GET", "/api/queries", self._queries),
        ]

    def authenticate(self, request: Request) -> Any:
        if not self.set_up:
            return None
        key = request.query.get("api_key")
        if key is None:
            header = request.header("Authorization")
            key = header.replace("Key ", "", 1) if header else None
        if not key:
            return None
        if key in self.users:
            return self.users[key]
        return _ApiUser(key) if key in self.api_keys else None

    def _route(self, request: Request) -> tuple[Response, Any]:
        """As `RestFake`, and the log names who a key belongs to on every path (``(unknown key)`` for a key that
        opens nothing), the ones that need no login included: a request without a key logs None."""
        resp, principal = super()._route(request)
        if principal is None and _carries_key(request):
            principal = self.authenticate(request) or UNKNOWN_KEY
        return resp, principal

    def unauthenticated(self, request: Request) -> Response:
        return Response.json({"message": NOT_LOGGED_IN}, 404)

    def not_found(self, request: Request) -> Response:
        """Redash's login-required catch-all ``/<path:path>``."""
        if self.authenticate(request) is not None:
            return html_page("Redash", '<div id="application-root"></div><script src="/static/app.js"></script>')
        if "/api/" in request.path or request.header("X-Requested-With") == "XMLHttpRequest":
            return Response.json({"message": NOT_LOGGED_IN}, 404)
        next_url = f"{self.url}{request.target}"
        return Response(302, b"", {"Location": "/login?next=" + quote(next_url, safe=""),
                                   "Content-Type": "text/html; charset=utf-8"})

    def error_response(self, status: int) -> Response:
        return Response.json({"message": _REASONS.get(status, f"error {status}")}, status)

    # -- handlers ---------------------------------------------------------------------------------------------

    def _ping(self, request: Request, match, principal) -> Response:
        return text(200, "PONG.", "text/html; charset=utf-8")

    def _login(self, request: Request, match, principal) -> Response:
        if not self.set_up:
            return Response(302, b"", {"Location": "/setup", "Content-Type": "text/html; charset=utf-8"})
        return html_page(self.login_title, '<form method="post"><input name="email"><input name="password">'
                                           '</form>')

    def _setup(self, request: Request, match, principal) -> Response:
        if self.set_up:
            return Response(302, b"", {"Location": "/", "Content-Type": "text/html; charset=utf-8"})
        return html_page("Redash Initial Setup", "<h1>Welcome to Redash!</h1>")

    def _client_config(self, principal: Any) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if isinstance(principal, RedashUser) and self.version is not None:
            config.update(newVersionAvailable=False, version=self.version)
        config.update({
            "allowScriptsInUserInput": False, "showPermissionsControl": False, "hidePlotlyModeBar": False,
            "disablePublicUrls": False, "multiByteSearchEnabled": False, "allowCustomJSVisualizations": False,
            "autoPublishNamedQueries": True, "extendedAlertOptions": False, "mailSettingsMissing": True,
            "dashboardRefreshIntervals": [60, 300, 600, 1800, 3600, 43200, 86400],
            "queryRefreshIntervals": [60, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 18000, 21600, 25200,
                                      28800, 32400, 36000, 39600, 43200, 86400, 604800, 1209600, 2592000],
            "googleLoginEnabled": False, "ldapLoginEnabled": False, "pageSize": 20,
            "pageSizeOptions": [5, 10, 20, 50, 100], "tableCellMaxJSONSize": 50000,
            "basePath": f"{self.url}/", "dateFormat": "DD/MM/YY",
            "dateFormatList": ["DD/MM/YY", "MM/DD/YY", "YYYY-MM-DD"],
            "timeFormatList": ["HH:mm", "HH:mm:ss", "HH:mm:ss.SSS"], "dateTimeFormat": "DD/MM/YY HH:mm",
            "integerFormat": "0,0", "floatFormat": "0,0.00", "thousandsSeparator": ",", "decimalSeparator": ".",
            "nullValue": "null",
        })
        return config

    def _config(self, request: Request, match, principal) -> Response:
        if not self.set_up:
            return Response(500, b"<!doctype html><title>500 Internal Server Error</title><h1>Internal Server "
                                 b"Error</h1>", {"Content-Type": "text/html; charset=utf-8"})
        return Response.json({"org_slug": "default", "client_config": self._client_config(self.authenticate(request))})

    def _session(self, request: Request, match, principal) -> Response:
        if isinstance(principal, RedashUser):
            user = {"profile_image_url": "https://www.gravatar.com/avatar/0?s=40&d=identicon", "id": principal.user_id,
                    "name": principal.full_name, "email": principal.email, "groups": [1, 2],
                    "permissions": [] if principal.forbidden else list(_PERMISSIONS)}
        else:
            user = {"permissions": [], "apiKey": principal.key}  # Redash echoes an API user's key
        return Response.json({"user": user, "messages": [], "org_slug": "default",
                              "client_config": self._client_config(principal)})

    def _dashboards(self, request: Request, match, principal) -> Response:
        if not isinstance(principal, RedashUser) or principal.forbidden:
            return Response.json({"message": FORBIDDEN}, 403)
        items = [self._dashboard_doc(principal, i) for i in range(1, principal.dashboards + 1)]
        return _paginate(request, items)

    def _dashboard(self, request: Request, match, principal) -> Response:
        if not isinstance(principal, RedashUser) or principal.forbidden:
            return Response.json({"message": FORBIDDEN}, 403)
        number = int(match.group("id"))
        if not 1 <= number <= principal.dashboards:
            return Response.json({"message": NOT_FOUND}, 404)
        return Response.json(self._dashboard_doc(principal, number, with_widgets=True))

    def _queries(self, request: Request, match, principal) -> Response:
        if isinstance(principal, RedashUser) and principal.forbidden:
            return Response.json({"message": FORBIDDEN}, 403)
        count = principal.queries if isinstance(principal, RedashUser) else 0
        return _paginate(request, [_query(principal, i) for i in range(1, count + 1)])

    # -- documents --------------------------------------------------------------------------------------------

    def _dashboard_doc(self, user: RedashUser, number: int, *, with_widgets: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": number, "slug": f"sales-{number}", "name": f"Sales {number}", "user_id": user.user_id,
            "user": _user_ref(user), "layout": [], "dashboard_filters_enabled": False, "widgets": None,
            "options": {}, "is_archived": False, "is_draft": False, "tags": [f"team-{number % 2}"],
            "updated_at": _CREATED, "created_at": _CREATED, "version": 1, "is_favorite": False,
        }
        if with_widgets:
            doc["widgets"] = [_widget(user, number, w) for w in range(1, user.widgets + 1)]
            doc["can_edit"] = True
        return doc


def _user_ref(user: RedashUser) -> dict[str, Any]:
    return {"id": user.user_id, "name": user.full_name, "email": user.email,
            "profile_image_url": "https://www.gravatar.com/avatar/0?s=40&d=identicon"}


def _query(user: Any, number: int) -> dict[str, Any]:
    owner = _user_ref(user) if isinstance(user, RedashUser) else {}
    return {"id": number, "latest_query_data_id": None, "name": f"Revenue {number}", "description": None,
            "query": f"SELECT region, sum(amount) FROM sales.orders_{number} GROUP BY region",
            "query_hash": f"{number:032x}", "schedule": None, "api_key": f"query-key-{number:04d}",
            "is_archived": False, "is_draft": False, "updated_at": _CREATED, "created_at": _CREATED,
            "data_source_id": 1, "options": {"parameters": []}, "version": 1, "tags": [], "is_safe": True,
            "user": owner, "last_modified_by": owner}


def _widget(user: RedashUser, dashboard: int, number: int) -> dict[str, Any]:
    widget_id = dashboard * 100 + number
    return {
        "id": widget_id, "width": 1, "options": {"position": {"col": 0, "row": 0, "sizeX": 3, "sizeY": 8}},
        "dashboard_id": dashboard, "text": "", "updated_at": _CREATED, "created_at": _CREATED,
        "visualization": {"id": widget_id, "type": "CHART", "name": "Chart", "description": "",
                          "options": {"globalSeriesType": "column"}, "updated_at": _CREATED, "created_at": _CREATED,
                          "query": _query(user, number)},
    }


def _carries_key(request: Request) -> bool:
    return "api_key" in request.query or bool(request.header("Authorization"))


def _int_arg(request: Request, name: str, default: int) -> int:
    """Flask's ``request.args.get(name, default, type=int)``: text that is not an integer gives the default."""
    try:
        return int(request.query[name])
    except (KeyError, ValueError):
        return default


def _paginate(request: Request, items: list[dict[str, Any]]) -> Response:
    """``redash.handlers.base.paginate``: its checks in its order, then one page."""
    page, page_size, count = _int_arg(request, "page", 1), _int_arg(request, "page_size", 25), len(items)
    if page < 1:
        return Response.json({"message": "Page must be positive integer."}, 400)
    if (page - 1) * page_size + 1 > count > 0:
        return Response.json({"message": "Page is out of range."}, 400)
    if page_size > 250 or page_size < 1:
        return Response.json({"message": "Page size is out of range (1-250)."}, 400)
    start = (page - 1) * page_size
    return Response.json({"count": count, "page": page, "page_size": page_size,
                          "results": items[start:start + page_size]})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Redash on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=5000, help="0: any free port")
    parser.add_argument("--api-key", default="redash-user-key-0001", help="the user's API key")
    parser.add_argument("--email", default="admin@example.com")
    parser.add_argument("--dashboards", type=int, default=3)
    parser.add_argument("--queries", type=int, default=4)
    parser.add_argument("--version", default="25.8.0")
    args = parser.parse_args(argv)
    user = RedashUser(args.api_key, args.email, dashboards=args.dashboards, queries=args.queries)
    fake = FakeRedash(users=[user], version=args.version, port=args.port)
    banner = (line() for line in (lambda: f"fake Redash {args.version} on {fake.url}",  # read once it listens
                                  lambda: f"REDASH_URL={fake.url} REDASH_API_KEY=<--api-key>",
                                  lambda: "Ctrl-C to stop"))
    fake.serve_until_interrupted(banner)

if __name__ == "__main__":
    main()
