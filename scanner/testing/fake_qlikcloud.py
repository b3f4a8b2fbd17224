"""A loopback fake of one Qlik Cloud tenant's REST API (``https://<tenant>.<region>.qlikcloud.com``), for scanner's
Qlik Cloud probe and for OpenMetadata's own Qlik Cloud connector (``metadata/ingestion/source/dashboard/qlikcloud/
client.py``, openmetadata-ingestion 2.0.7.0).

Serves, on `RestFake` (shared/contracts/bi-platforms-more.md section 9 and its Corrections; Qlik's OpenAPI
definitions of the users, items, spaces and apps APIs):

* ``Authorization: Bearer <API key>`` (`QlikUser`); OpenMetadata's REST helper also sends ``Content-type:
  application/json`` on GET, which is ignored.
* ``GET /api/v1/users/me`` -> **301** to ``/api/v1/users/<id>`` (``text/html``), as Qlik's definition says
  ("Redirects to retrieve the user resource associated with the JWT claims"); ``me="direct"`` answers the user with
  200 instead, ``me="relative"`` gives a relative ``Location``. ``GET /api/v1/users/<id>`` -> the user (``id``,
  ``tenantId``, ``subject``, ``name``, ``email``, ``status``, ``links.self``); another user's id -> 404.
* ``GET /api/v1/items`` -> ``{"data": [...], "links": {"self", "next"?}}``: filter ``resourceType`` (a comma list;
  ``app[qvd,]`` sub-type brackets are dropped), ``limit`` 1..100 (default 10; else 400), an opaque cursor ``next``
  (an unknown cursor -> 400). ``links.*.href`` are absolute and start with the tenant URL (``link_base`` changes
  that origin, as a tenant reached through another hostname would answer; ``""`` makes them relative). Apps carry
  ``id`` (the item's), ``resourceId`` (the app's), ``spaceId`` (``""`` in the personal space), ``name``,
  ``description``, ``resourceAttributes.published``; ``other_items`` non-app items (datasets) show that the filter
  matters.
* ``GET /api/v1/spaces`` -> ``{"data": [...], "meta": {"count"}, "links": {"self", "next"?}}``, ``type`` in lower
  case (``shared``, ``managed``, ``data``), cursor paging as above (default limit 10, at most 100).
* ``GET /api/v1/apps/<appId>`` -> ``{"attributes": {id, name, description, published, spaceId, ...},
  "privileges": [...]}``; an app the user cannot see -> 404.
* ``GET /api/v1/data-files`` -> ``{"data": [{id, name, folder, ...}], "links": {"self"}}`` (``includeAllSpaces``).
* errors: Qlik's ``{"errors": [{"title", "code", "status"[, "detail"]}], "traceId"}`` JSON: no key -> 401
  ``Not logged in`` (``LOGIN-1``); an unknown key -> 401 ``Unauthorized``; a ``forbidden`` user -> 403 on items,
  spaces, apps and data files (its ``/users/me`` works); an unknown ``/api/`` path -> 404; an injected fault
  (``inject(429, headers={"Retry-After": "1"})``) -> that status in the same shape. ``tenant_exists=False`` answers
  every request as a hostname with no tenant: 401 ``No authentication configured for this hostname``
  (``LOGIN-2``).
* other paths: an anonymous caller is redirected (302) to ``/login?returnto=<the URL>``; ``/login`` is a small page;
  a caller with a valid key gets the hub's page.

[inferred] (not checked against a running tenant): the exact 401 titles and codes for a missing or unknown key (the
``{"errors":[{title, code, status}]}`` shape and ``LOGIN-2`` are Qlik's, seen in Qlik's support articles); the 403
body (the contract's "Insufficient access"); that ``/users/me`` answers an absolute ``Location``; the cursor's form;
the personal space's ``spaceId`` being ``""`` (OpenMetadata's connector treats a missing one the same); the pages
outside ``/api``; the sample fields beyond the ones OpenMetadata and scanner read.

Not served: the Engine's WebSocket (``wss://<host>/app/<appId>``), where OpenMetadata reads sheets (charts), data
models and load scripts.

``requests`` logs method, path as received, status and whose valid key it carried (the user's name; None for no key
or an unknown one); ``credentialed`` lists the requests that carried a credential header, valid or not, never its
value.

    python -m scanner.testing.fake_qlikcloud --port 8443 --api-key qlik-demo-key-0001
"""

from __future__ import annotations

import argparse
import base64
import ssl
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlencode

from scanner.testing.rest_fake import RestFake, Route, bearer, html_page, route
from scanner.testing.server import Request, Response

TENANT_ID = "xqGQ0k66vSR8f9G7J-vYtHZQkiYrCpct"
_CREATED = "2025-03-01T10:00:00.000Z"
_UPDATED = "2025-06-02T08:30:00.000Z"
_ITEMS_MAX = 100


@dataclass(frozen=True)
class QlikUser:
    """A tenant user and one of their API keys. ``apps``: how many of the tenant's apps the user sees (None: all);
    ``forbidden``: the key may not list anything (403 on items, spaces, apps, data files)."""

    api_key: str
    name: str = "Scanner Bot"
    email: str = "scanner@example.com"
    user_id: str = "64f1c2d3e4a5b6c7d8e9f001"
    apps: int | None = None
    forbidden: bool = False
    status: str = "active"

    @property
    def subject(self) -> str:
        return f"auth0|{self.user_id}"


def _error(status: int, title: str, code: str, detail: str | None = None,
           headers: dict[str, str] | None = None) -> Response:
    entry: dict[str, Any] = {"title": title, "code": code, "status": str(status)}
    if detail:
        entry["detail"] = detail
    return Response.json({"errors": [entry], "traceId": "4c6d1e0f9a8b7c6d5e4f3a2b1c0d9e8f"}, status, headers)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    head, _, number = text.partition(":")
    return int(number) if head == "o" and number.isdigit() else None


class FakeQlikCloud(RestFake):
    name = "fake-qlikcloud"

    def __init__(
        self,
        *,
        users: list[QlikUser] | None = None,
        apps: int = 3,
        spaces: dict[str, int] | None = None,
        other_items: int = 2,
        data_files: int = 2,
        tenant_id: str = TENANT_ID,
        me: str = "redirect",
        link_base: str | None = None,
        tenant_exists: bool = True,
        tls: ssl.SSLContext | None = None,
        latency: float = 0.0,
        port: int = 0,
    ) -> None:
        if me not in ("redirect", "relative", "direct"):
            raise ValueError("me must be redirect, relative or direct")
        self.users = list(users if users is not None else [QlikUser("qlik-fake-api-key-0001")])
        self.app_count = apps
        self.space_types = dict(spaces if spaces is not None else {"shared": 1, "managed": 1})
        self.other_items = other_items
        self.data_file_count = data_files
        self.tenant_id = tenant_id
        self.me = me
        self.link_base = link_base
        self.tenant_exists = tenant_exists
        super().__init__(tls=tls, latency=latency, port=port)

    # -- what the tests read --------------------------------------------------------------------------------------

    @property
    def spaces(self) -> list[dict[str, Any]]:
        """The tenant's spaces (shared/managed/data), in listing order."""
        out = []
        for kind, count in self.space_types.items():
            for n in range(count):
                index = len(out)
                out.append({"id": f"64f0a1b2c3d4e5f6a7b8{index:04x}", "name": f"{kind.capitalize()} space {n + 1}",
                            "type": kind})
        return out

    @property
    def space_count(self) -> int:
        return len(self.spaces)

    def app_space(self, index: int) -> str:
        """The spaceId of app `index` (1-based): round robin over the spaces and the personal space (``""``)."""
        ids = [s["id"] for s in self.spaces] + [""]
        return ids[index % len(ids)]

    # -- RestFake -------------------------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        return [
            route("GET", "/", self._home, auth=False),
            route("GET", "/login", self._login, auth=False),
            route("GET", "/api/v1/users/me", self._me),
            route("GET", "/api/v1/users/(?P<id>[^/]+)", self._user),
            route("GET", "/api/v1/items/?", self._items),
            route("GET", "/api/v1/spaces/?", self._spaces),
            route("GET", "/api/v1/apps/(?P<id>[^/]+)", self._app_detail),
            route("GET", "/api/v1/data-files/?", self._data_files),
        ]

    def _route(self, request: Request) -> tuple[Response, Any]:
        if not self.tenant_exists:
            return _error(401, "No authentication configured for this hostname", "LOGIN-2"), None
        return super()._route(request)

    def authenticate(self, request: Request) -> QlikUser | None:
        key = bearer(request)
        return next((u for u in self.users if key and u.api_key == key), None)

    def unauthenticated(self, request: Request) -> Response:
        if request.header("Authorization"):
            return _error(401, "Unauthorized", "HTTP-401", "invalid token")
        return _error(401, "Not logged in", "LOGIN-1")

    def not_found(self, request: Request) -> Response:
        if request.path.startswith("/api/"):
            return _error(404, "Not Found", "HTTP-404")
        return self._page_or_login(request)

    def error_response(self, status: int) -> Response:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return _error(status, phrase, f"HTTP-{status}")

    # -- pages ----------------------------------------------------------------------------------------------------

    def _page_or_login(self, request: Request) -> Response:
        if self.authenticate(request) is not None:
            return html_page("Qlik Cloud Analytics", '<div id="hub-root"></div>')
        returnto = quote(self.url + request.target, safe="")
        return Response(302, b"", {"Location": f"/login?returnto={returnto}"})

    def _home(self, request: Request, match: Any, principal: Any) -> Response:
        return self._page_or_login(request)

    def _login(self, request: Request, match: Any, principal: Any) -> Response:
        return html_page("Qlik Cloud", "<p>Sign in to Qlik Cloud</p>")

    # -- API ------------------------------------------------------------------------------------------------------

    @property
    def _links(self) -> str:
        return self.url if self.link_base is None else self.link_base.rstrip("/")

    def _user_body(self, user: QlikUser) -> dict[str, Any]:
        return {"id": user.user_id, "tenantId": self.tenant_id, "subject": user.subject, "name": user.name,
                "email": user.email, "status": user.status, "locale": "en", "zoneinfo": "Europe/Stockholm",
                "createdAt": _CREATED, "lastUpdatedAt": _UPDATED,
                "assignedRoles": [{"id": "63b6a0f2b4a3c1d2e3f40501", "name": "Steward", "type": "default",
                                   "level": "user"}],
                "links": {"self": {"href": f"{self._links}/api/v1/users/{user.user_id}"}}}

    def _me(self, request: Request, match: Any, user: QlikUser) -> Response:
        if self.me == "direct":
            return Response.json(self._user_body(user))
        path = f"/api/v1/users/{user.user_id}"
        location = path if self.me == "relative" else self.url + path
        return Response(301, f'<a href="{location}">Moved Permanently</a>.'.encode(),
                        {"Content-Type": "text/html; charset=utf-8", "Location": location})

    def _user(self, request: Request, match: Any, user: QlikUser) -> Response:
        if match.group("id") != user.user_id:
            return _error(404, "User not found", "USERS-4")
        return Response.json(self._user_body(user))

    def _forbidden(self) -> Response:
        return _error(403, "Forbidden", "HTTP-403", "Insufficient access")

    def _visible_apps(self, user: QlikUser) -> list[int]:
        count = self.app_count if user.apps is None else min(user.apps, self.app_count)
        return list(range(1, count + 1))

    def _app_ids(self, index: int) -> tuple[str, str]:
        return f"65a1b2c3d4e5f6a7b8c9{index:04x}", f"1c2f3e4d-5a6b-4c7d-8e9f-{index:012x}"

    def _app_item(self, index: int, user: QlikUser) -> dict[str, Any]:
        item_id, app_id = self._app_ids(index)
        space = self.app_space(index)
        attributes = {"id": app_id, "name": f"App {index}", "description": f"Fake app {index}",
                      "published": bool(space), "spaceId": space, "owner": user.subject, "ownerId": user.user_id,
                      "createdDate": _CREATED, "modifiedDate": _UPDATED, "lastReloadTime": _UPDATED,
                      "usage": "ANALYTICS", "hasSectionAccess": False, "_resourcetype": "app"}
        return {"id": item_id, "name": f"App {index}", "description": f"Fake app {index}", "resourceType": "app",
                "resourceSubType": "", "resourceId": app_id, "spaceId": space, "ownerId": user.user_id,
                "creatorId": user.user_id, "updaterId": user.user_id, "tenantId": self.tenant_id,
                "createdAt": _CREATED, "updatedAt": _UPDATED, "resourceCreatedAt": _CREATED,
                "resourceUpdatedAt": _UPDATED, "isFavorited": False, "collectionIds": [], "actions": ["read"],
                "meta": {"isFavorited": False, "actions": ["read"], "tags": [], "collections": []},
                "resourceAttributes": attributes, "resourceCustomAttributes": {},
                "links": {"self": {"href": f"{self._links}/api/v1/items/{item_id}"},
                          "open": {"href": f"{self._links}/sense/app/{app_id}"}}}

    def _other_item(self, n: int, user: QlikUser) -> dict[str, Any]:
        item_id = f"66b1c2d3e4f5a6b7c8d9{n:04x}"
        return {"id": item_id, "name": f"Dataset {n}.qvd", "resourceType": "dataset", "resourceSubType": "qix-df",
                "resourceId": f"66b1c2d3e4f5a6b7c8e0{n:04x}", "spaceId": "", "ownerId": user.user_id,
                "tenantId": self.tenant_id, "createdAt": _CREATED, "updatedAt": _UPDATED, "isFavorited": False,
                "collectionIds": [], "actions": ["read"], "resourceAttributes": {}, "resourceCustomAttributes": {},
                "meta": {"isFavorited": False, "actions": ["read"], "tags": [], "collections": []},
                "links": {"self": {"href": f"{self._links}/api/v1/items/{item_id}"}}}

    def _paged(self, request: Request, path: str, rows: list[Any], *, default: int,
              maximum: int | None) -> dict[str, Any] | Response:
        """One cursor page of `rows` as Qlik lists them: ``data`` and ``links`` (``self``, ``next`` when more)."""
        raw = request.query.get("limit", "")
        try:
            limit = int(raw) if raw else default
        except ValueError:
            return _error(400, "Bad Request", "HTTP-400", "limit must be an integer")
        if limit < 1 or (maximum is not None and limit > maximum):
            return _error(400, "Bad Request", "HTTP-400", f"limit must be between 1 and {maximum or 'more'}")
        start = 0
        if "next" in request.query:
            offset = _offset(request.query["next"])
            if offset is None:
                return _error(400, "Bad Request", "HTTP-400", "invalid next cursor")
            start = offset
        keep = [(k, v) for k, v in request.query_list if k not in ("next", "prev")]
        body: dict[str, Any] = {"data": rows[start:start + limit],
                                "links": {"self": {"href": f"{self._links}{path}?{urlencode(request.query_list)}"}}}
        if start + limit < len(rows):
            body["links"]["next"] = {"href": f"{self._links}{path}?"
                                             f"{urlencode([*keep, ('next', _cursor(start + limit))])}"}
        return body

    def _items(self, request: Request, match: Any, user: QlikUser) -> Response:
        if user.forbidden:
            return self._forbidden()
        kinds = {k.split("[", 1)[0].strip() for k in request.query.get("resourceType", "").split(",") if k.strip()}
        rows = [self._app_item(i, user) for i in self._visible_apps(user)] if not kinds or "app" in kinds else []
        if not kinds or "dataset" in kinds:
            rows += [self._other_item(n, user) for n in range(1, self.other_items + 1)]
        page = self._paged(request, "/api/v1/items", rows, default=10, maximum=_ITEMS_MAX)
        return page if isinstance(page, Response) else Response.json(page)

    def _space_body(self, space: dict[str, Any], user: QlikUser) -> dict[str, Any]:
        href = f"{self._links}/api/v1/spaces/{space['id']}"
        return {**space, "description": f"The {space['name']}", "tenantId": self.tenant_id,
                "ownerId": user.user_id, "createdBy": user.user_id, "createdAt": _CREATED, "updatedAt": _UPDATED,
                "meta": {"roles": ["consumer"], "actions": ["read"], "assignableRoles": []},
                "links": {"self": {"href": href}, "assignments": {"href": href + "/assignments"}}}

    def _spaces(self, request: Request, match: Any, user: QlikUser) -> Response:
        if user.forbidden:
            return self._forbidden()
        rows = [self._space_body(s, user) for s in self.spaces]
        page = self._paged(request, "/api/v1/spaces", rows, default=10, maximum=100)
        if isinstance(page, Response):
            return page
        page["meta"] = {"count": len(rows)}
        return Response.json(page)

    def _app_detail(self, request: Request, match: Any, user: QlikUser) -> Response:
        if user.forbidden:
            return self._forbidden()
        for index in self._visible_apps(user):
            if self._app_ids(index)[1] == match.group("id"):
                attributes = self._app_item(index, user)["resourceAttributes"]
                return Response.json({"attributes": {k: v for k, v in attributes.items() if k != "_resourcetype"},
                                      "privileges": ["read", "exportappdata"], "create": []})
        return _error(404, "Not Found", "APP-404", "App not found")

    def _data_files(self, request: Request, match: Any, user: QlikUser) -> Response:
        if user.forbidden:
            return self._forbidden()
        files = [{"id": f"67c1d2e3f4a5b6c7d8e9{n:04x}", "name": f"sales_{n}.csv", "folder": False, "size": 1024 * n,
                  "ownerId": user.user_id, "spaceId": "", "createdDate": _CREATED, "modifiedDate": _UPDATED}
                 for n in range(1, self.data_file_count + 1)]
        page = self._paged(request, "/api/v1/data-files", files, default=20, maximum=100)
        return page if isinstance(page, Response) else Response.json(page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.testing.fake_qlikcloud",
                                     description="Run a fake Qlik Cloud tenant on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=8443, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--api-key", default="qlik-fake-api-key-0001", help="the user's API key")
    parser.add_argument("--apps", type=int, default=3)
    parser.add_argument("--shared-spaces", type=int, default=1)
    parser.add_argument("--managed-spaces", type=int, default=1)
    args = parser.parse_args(argv)
    fake = FakeQlikCloud(users=[QlikUser(args.api_key)], apps=args.apps,
                         spaces={"shared": args.shared_spaces, "managed": args.managed_spaces}, port=args.port)
    fake.start()
    fake.serve_until_interrupted([
        f"Fake Qlik Cloud tenant at {fake.url}  ({fake.app_count} apps, {fake.space_count} spaces)",
        f"QCS_SERVER={fake.url}  QCS_API_KEY=<--api-key>. Ctrl-C stops.",
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
