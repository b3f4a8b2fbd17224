"""A loopback fake of Metabase's REST API and app page, as scanner's probe and OpenMetadata's connector use them.

Serves (contract: shared/contracts/bi-platforms-more.md section 3; [inferred] marks what no source confirmed):

* ``GET /api/health``: ``{"status":"ok"}``; while ``initializing``: 503 ``{"status":"initializing","progress":..}``
  and every other path 503 with a small "starting" page [inferred: the page and its status].
* ``GET /api/session/properties`` (no auth): public settings with ``version`` (``tag``, ``date``, ``branch``,
  ``hash``), ``has-user-setup`` and ``setup-token`` (set before setup; with ``leak_setup_token`` also after it,
  as releases before 0.46.6.1 did, CVE-2023-38646).
* Any other non-API ``GET`` (``/``, ``/auth/login``, ``/dashboard/5``): the single-page app's HTML with 200: a
  ``<script type="application/json" id="_metabaseBootstrap">`` holding the same public settings, and the
  ``window.MetabaseBootstrap`` / ``window.MetabaseRoot`` script (markers from Metabase's ``index.html``). Unknown
  ``/api/`` paths: 404 text ``API endpoint does not exist.`` [inferred text].
* ``POST /api/session`` and ``/api/session/`` (OpenMetadata's connector adds the slash): JSON
  ``{"username": email, "password"}`` -> 200 ``{"id": "<uuid>"}`` plus a ``metabase.SESSION`` cookie; a wrong or
  unknown login 401 ``{"errors":{"password":"did not match stored password"}}``; a disabled account 401
  ``{"errors":{"_error":"Your account is disabled."}}``; no JSON / no username 400 ``{"errors":{...}}``
  [inferred wording]. ``DELETE /api/session`` ends the session: 204.
* Authentication by ``X-API-KEY`` (case-insensitive header name) or ``X-Metabase-Session``; the
  ``Authorization: Bearer no_token`` OpenMetadata's REST client also sends is ignored. Without a valid one: 401
  text ``Unauthenticated``.
* ``GET /api/user/current``; ``GET /api/collection`` (an array: ``{"id":"root","name":"Our analytics"}`` first
  [inferred], then the numbered collections); ``GET /api/collection/{id}/items`` (``{"data","total","models",
  "limit","offset"}``, honouring repeated ``models=`` and ``limit``/``offset``); ``GET /api/dashboard/``
  (deprecated list), ``GET /api/dashboard/{id}`` (``dashcards[].card``), ``GET /api/card`` and
  ``/api/card/{id}``.
* A ``forbidden`` account gets 403 text ``You don't have permissions to do that.`` on every listing [inferred:
  the real server mostly filters lists to what the account may read; the fake's ``sees_nothing`` account
  shows that: the root collection, empty, and no cards].
* ``prefix``: the instance served under a path (``/metabase``), as behind a reverse proxy; anything outside it
  answers 404 text.

Content: ``collections`` numbered collections below the root, ``dashboards`` dashboards spread over root and
them, ``cards`` cards; dashboard *i* shows card *i* (mod ``cards``), so with more cards than dashboards some
cards are on no dashboard (OpenMetadata gathers those into its default dashboard).

``requests`` logs method, path, status and the principal's email, never a secret; ``credentialed`` lists the
(method, path) of every request that carried a credential (an ``X-API-KEY`` or session header, or a login
body), valid or not, so a test can prove none went out before the fingerprint.

    python -m scanner.testing.fake_metabase --port 3000
"""

from __future__ import annotations

import argparse
import json
import ssl
import uuid
from dataclasses import dataclass
from html import escape
from typing import Any

from scanner.testing.rest_fake import RestFake, Route, route, text
from scanner.testing.server import Request, Response

UNAUTHENTICATED = "Unauthenticated"
NO_PERMISSION = "You don't have permissions to do that."
_WRONG_LOGIN = {"errors": {"password": "did not match stored password"}}


@dataclass
class MetabaseAccount:
    """One Metabase user; an API key is bound to one (in Metabase, to the group its key user belongs to)."""

    email: str
    password: str | None = None
    api_key: str | None = None
    superuser: bool = True
    forbidden: bool = False     # every listing answers 403
    sees_nothing: bool = False  # its groups may read no collection: lists come back empty
    active: bool = True         # False: the login answers 401 "Your account is disabled."

    @property
    def name(self) -> str:
        return self.email


def _default_accounts() -> list[MetabaseAccount]:
    return [MetabaseAccount("admin@example.com", password="admin-pw", api_key="mb_fake_admin_key")]


class FakeMetabase(RestFake):
    name = "fake-metabase"

    def __init__(
        self,
        *,
        accounts: list[MetabaseAccount] | None = None,
        collections: int = 1,
        dashboards: int = 3,
        cards: int = 5,
        version: str = "v0.50.7",
        prefix: str = "",
        setup_done: bool = True,
        leak_setup_token: bool = False,
        initializing: bool = False,
        tls: ssl.SSLContext | None = None,
        latency: float = 0.0,
        port: int = 0,
    ) -> None:
        self.accounts = list(_default_accounts() if accounts is None else accounts)
        self.version = version
        self.setup_done = setup_done
        self.setup_token = str(uuid.uuid4())
        self.leak_setup_token = leak_setup_token
        self.initializing = initializing
        self.sessions: dict[str, MetabaseAccount] = {}  # open sessions
        self.issued: list[str] = []  # every session id handed out (tests check none leaks)
        self._collections = [{"id": "root", "name": "Our analytics", "location": None}] + [
            {"id": n, "name": f"Collection {n}", "location": "/"} for n in range(1, collections + 1)]
        homes = [c["id"] for c in self._collections]
        last = collections or None  # even cards go to the last numbered collection, odd ones to the root
        self._cards = [{"id": n, "name": f"Question {n}", "collection_id": None if n % 2 else last}
                       for n in range(1, cards + 1)]
        self._dashboards = [{"id": n, "name": f"Dashboard {n}", "collection": homes[(n - 1) % len(homes)],
                             "cards": [((n - 1) % cards) + 1] if cards else []} for n in range(1, dashboards + 1)]
        super().__init__(tls=tls, latency=latency, port=port, prefix=prefix)

    # -- what tests read ---------------------------------------------------------------------------------------

    @property
    def dashboard_count(self) -> int:
        return len(self._dashboards)

    @property
    def card_count(self) -> int:
        return len(self._cards)

    @property
    def collection_count(self) -> int:
        """Collections ``GET /api/collection`` lists, the root included."""
        return len(self._collections)

    @property
    def dashcard_count(self) -> int:
        return sum(len(d["cards"]) for d in self._dashboards)

    # -- RestFake ------------------------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        return [
            route("GET", "/api/health", self._health, auth=False),
            route("GET", "/api/session/properties", self._properties, auth=False),
            route("POST", "/api/session/?", self._login, auth=False),
            route("DELETE", "/api/session/?", self._logout),
            route("GET", "/api/user/current", self._current_user),
            route("GET", "/api/collection/?", self._collection_list),
            route("GET", r"/api/collection/(?P<id>root|\d+)/items", self._collection_items),
            route("GET", "/api/dashboard/?", self._dashboard_list),
            route("GET", r"/api/dashboard/(?P<id>\d+)", self._dashboard),
            route("GET", "/api/card/?", self._card_list),
            route("GET", r"/api/card/(?P<id>\d+)", self._card),
        ]

    def carries_credential(self, request: Request) -> bool:
        path = request.path[len(self.prefix):] if self.prefix else request.path
        return super().carries_credential(request) or (request.method == "POST"
                                                       and path.rstrip("/") == "/api/session")

    def _route(self, request: Request) -> tuple[Response, Any]:
        if self.initializing and request.path != "/api/health":
            return Response(503, b"<!DOCTYPE html><html><head><title>Metabase</title></head><body>Metabase is "
                            b"starting up...</body></html>", {"Content-Type": "text/html; charset=utf-8"}), None
        return super()._route(request)

    def authenticate(self, request: Request) -> MetabaseAccount | None:
        if not self.setup_done:
            return None
        key = request.header(API_KEY)
        if key is not None:
            return next((a for a in self.accounts if a.api_key is not None and a.api_key == key and a.active), None)
        session = request.header(SESSION)
        if session is not None:
            with self._lock:
                return self.sessions.get(session)
        return None

    def unauthenticated(self, request: Request) -> Response:
        return text(401, UNAUTHENTICATED)

    def not_found(self, request: Request) -> Response:
        if request.path.startswith("/api/") or request.path == "/api":
            return text(404, "API endpoint does not exist.")
        if request.method == "GET":
            return self._app_page()
        return text(404, "Not found.")

    def error_response(self, status: int) -> Response:
        messages = {401: UNAUTHENTICATED, 403: NO_PERMISSION, 404: "Not found.", 405: "Method Not Allowed",
                    429: "Too many requests", 503: "Service Unavailable"}
        return text(status, messages.get(status, "Internal Server Error"))

    # -- unauthenticated ---------------------------------------------------------------------------------------

    def _public_settings(self) -> dict[str, Any]:
        major_minor = self.version.lstrip("v").split(".")
        branch = f"release-x.{major_minor[1]}.x" if len(major_minor) > 1 else "master"
        return {
            "version": {"tag": self.version, "date": "2024-07-30", "branch": branch, "hash": "7b4d1e2"},
            "has-user-setup": self.setup_done,
            "setup-token": self.setup_token if (not self.setup_done or self.leak_setup_token) else None,
            "site-name": "Acme Analytics",
            "site-url": None,
            "application-name": "Metabase",
            "enable-password-login": True,
            "anon-tracking-enabled": False,
            "engines": {"postgres": {"driver-name": "PostgreSQL", "superseded-by": None}},
            "available-locales": [["en", "English"]],
        }

    def _health(self, request: Request, match, principal) -> Response:
        if self.initializing:
            return Response.json({"status": "initializing", "progress": 0.4}, 503)
        return Response.json({"status": "ok"})

    def _properties(self, request: Request, match, principal) -> Response:
        return Response.json(self._public_settings())

    def _app_page(self) -> Response:
        root = (self.prefix or "") + "/"
        bootstrap = json.dumps(self._public_settings(), indent=1).replace("</", "<\\/")
        page = (
            '<!DOCTYPE html><html lang="en" translate="no"><head><meta charset="utf-8" />'
            f'<meta name="base-href" content="{escape(root)}" /><meta name="uri" content="/auth/login" />'
            "<title>Metabase</title>"
            f'<script type="application/json" id="_metabaseBootstrap">{bootstrap}</script>'
            "<script>(function() {\n"
            '  window.MetabaseBootstrap = JSON.parse(document.getElementById("_metabaseBootstrap").textContent);\n'
            "  var actualRoot = document.head.querySelector(\"meta[name='base-href']\").content;\n"
            "  window.MetabaseRoot = actualRoot;\n"
            '})();</script></head><body><div id="root"></div></body></html>'
        )
        return Response(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    # -- sessions ----------------------------------------------------------------------------------------------

    def _login(self, request: Request, match, principal) -> Response:
        try:
            body = request.json()
        except ValueError:
            return Response.json({"errors": {"username": "value must be a non-blank string."}}, 400)
        if not isinstance(body, dict) or not str(body.get("username") or "").strip():
            return Response.json({"errors": {"username": "value must be a non-blank string."}}, 400)
        if not str(body.get("password") or ""):
            return Response.json({"errors": {"password": "value must be a non-blank string."}}, 400)
        email = str(body["username"]).strip().lower()
        account = next((a for a in self.accounts if a.email.lower() == email), None) if self.setup_done else None
        if account is None or account.password is None or account.password != body["password"]:
            return Response.json(_WRONG_LOGIN, 401)
        if not account.active:
            return Response.json({"errors": {"_error": "Your account is disabled."}}, 401)
        session = str(uuid.uuid4())
        with self._lock:
            self.sessions[session] = account
            self.issued.append(session)
        return Response.json({"id": session}, 200, {
            "Set-Cookie": f"metabase.SESSION={session}; HttpOnly; Path=/; SameSite=Lax"})

    def _logout(self, request: Request, match, principal: MetabaseAccount) -> Response:
        session = request.header(SESSION)
        with self._lock:
            if session is not None:
                self.sessions.pop(session, None)
        return Response(204, b"")

    # -- the API -------------------------------------------------------------------------------------------------

    def _current_user(self, request: Request, match, account: MetabaseAccount) -> Response:
        index = self.accounts.index(account) + 1
        first, _, last = account.email.partition("@")[0].partition(".")
        return Response.json({
            "id": index, "email": account.email, "first_name": first.capitalize(), "last_name": last.capitalize(),
            "common_name": f"{first.capitalize()} {last.capitalize()}".strip(), "is_superuser": account.superuser,
            "is_active": account.active, "personal_collection_id": 100 + index,
        })

    def _visible_collections(self, account: MetabaseAccount) -> list[dict[str, Any]]:
        return self._collections[:1] if account.sees_nothing else self._collections

    def _collection_list(self, request: Request, match, account: MetabaseAccount) -> Response:
        if account.forbidden:
            return text(403, NO_PERMISSION)
        return Response.json([{"id": c["id"], "name": c["name"], "location": c["location"], "can_write": True,
                               "archived": False, "personal_owner_id": None}
                              for c in self._visible_collections(account)])

    def _collection_items(self, request: Request, match, account: MetabaseAccount) -> Response:
        if account.forbidden:
            return text(403, NO_PERMISSION)
        wanted = match.group("id")
        collection_id: Any = wanted if wanted == "root" else int(wanted)
        if collection_id not in {c["id"] for c in self._collections}:
            return text(404, "Not found.")
        models = [v for k, v in request.query_list if k == "models"] or ["collection", "dashboard", "card"]
        items: list[dict[str, Any]] = []
        if not account.sees_nothing:
            if "collection" in models and collection_id == "root":
                items += [{"id": c["id"], "name": c["name"], "model": "collection", "description": None}
                          for c in self._collections[1:]]
            if "dashboard" in models:
                items += [{"id": d["id"], "name": d["name"], "model": "dashboard", "description": None,
                           "collection_position": None, "entity_id": f"dash{d['id']:017d}"}
                          for d in self._dashboards if d["collection"] == collection_id]
            if "card" in models:
                home = None if collection_id == "root" else collection_id
                items += [{"id": c["id"], "name": c["name"], "model": "card", "description": None, "display": "table"}
                          for c in self._cards if c["collection_id"] == home]
        total = len(items)
        offset, limit = _int(request.query.get("offset")), _int(request.query.get("limit"))
        if offset is not None:
            items = items[offset:]
        if limit is not None:
            items = items[:limit]
        return Response.json({"total": total, "data": items, "models": sorted({i["model"] for i in items}),
                              "limit": limit, "offset": offset})

    def _card_body(self, card: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": card["id"], "name": card["name"], "description": None, "display": "table", "type": "question",
            "collection_id": card["collection_id"], "database_id": 1, "table_id": None, "archived": False,
            "dataset_query": {"type": "native", "database": 1, "native": {"query": f"SELECT {card['id']}"}},
        }

    def _dashboard_body(self, dashboard: dict[str, Any], with_cards: bool) -> dict[str, Any]:
        body = {"id": dashboard["id"], "name": dashboard["name"], "description": None, "creator_id": 1,
                "collection_id": None if dashboard["collection"] == "root" else dashboard["collection"],
                "archived": False}
        if with_cards:
            cards = {c["id"]: c for c in self._cards}
            body["dashcards"] = [{"id": 1000 * dashboard["id"] + n, "card_id": card_id,
                                  "card": self._card_body(cards[card_id])}
                                 for n, card_id in enumerate(dashboard["cards"]) if card_id in cards]
        return body

    def _dashboard_list(self, request: Request, match, account: MetabaseAccount) -> Response:
        if account.forbidden:
            return text(403, NO_PERMISSION)
        shown = [] if account.sees_nothing else self._dashboards
        return Response.json([self._dashboard_body(d, with_cards=False) for d in shown])

    def _dashboard(self, request: Request, match, account: MetabaseAccount) -> Response:
        dashboard = next((d for d in self._dashboards if d["id"] == int(match.group("id"))), None)
        if dashboard is None:
            return text(404, "Not found.")
        if account.forbidden or account.sees_nothing:
            return text(403, NO_PERMISSION)
        return Response.json(self._dashboard_body(dashboard, with_cards=True))

    def _card_list(self, request: Request, match, account: MetabaseAccount) -> Response:
        if account.forbidden:
            return text(403, NO_PERMISSION)
        return Response.json([] if account.sees_nothing else [self._card_body(c) for c in self._cards])

    def _card(self, request: Request, match, account: MetabaseAccount) -> Response:
        card = next((c for c in self._cards if c["id"] == int(match.group("id"))), None)
        if card is None:
            return text(404, "Not found.")
        if account.forbidden or account.sees_nothing:
            return text(403, NO_PERMISSION)
        return Response.json(self._card_body(card))


API_KEY = "X-API-KEY"
SESSION = "X-Metabase-Session"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.testing.fake_metabase",
                                     description="Run the fake Metabase on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=3000, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--email", default="admin@example.com", help="the account's email (login username)")
    parser.add_argument("--password", default="admin-pw", help="its password")
    parser.add_argument("--api-key", default="mb_fake_admin_key", help="an API key bound to it")
    parser.add_argument("--version", default="v0.50.7", help="version.tag reported")
    parser.add_argument("--prefix", default="", help="serve under this path, e.g. /metabase")
    parser.add_argument("--collections", type=int, default=1)
    parser.add_argument("--dashboards", type=int, default=3)
    parser.add_argument("--cards", type=int, default=5)
    args = parser.parse_args(argv)
    fake = FakeMetabase(accounts=[MetabaseAccount(args.email, password=args.password, api_key=args.api_key)],
                        collections=args.collections, dashboards=args.dashboards, cards=args.cards,
                        version=args.version, prefix=args.prefix, port=args.port)
    fake.serve_until_interrupted([
        f"Fake Metabase {fake.version} at {fake.base_url}",
        f"login {args.email!r} (password from --password), or header X-API-KEY (from --api-key). Ctrl-C stops.",
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
