"""A loopback fake of Domo (cloud), its two hosts as scanner's Domo probe and OpenMetadata's own Domo connector
(openmetadata-ingestion 2.0.7: ``pydomo`` 0.3 for the API host, ``metadata/clients/domo_client.py`` for the
instance) call them.

`FakeDomo` is the **API host** (``api.domo.com``: OpenMetadata's ``apiHost``, a host[:port] without scheme);
``FakeDomo.instance`` (`FakeDomoInstance`) is the **instance** (``https://<name>.domo.com``: ``instanceDomain``), a
second server on its own port started and stopped with it. Both share one set of data (clients, developer tokens,
pages, cards). Per shared/contracts/bi-platforms-more.md section 10:

API host:

* ``POST /oauth/token`` (pydomo: HTTP Basic ``client_id:secret``, form ``grant_type=client_credentials``, ``scope``
  optional) and the documented ``GET /oauth/token?grant_type=client_credentials&scope=...``: 200
  ``{"access_token", "customer", "expires_in", "jti", "role", "scope", "token_type": "bearer", "userId"}``. The
  token is JWT-shaped with an ``exp`` (pydomo decodes it; without one it would fetch a new token before every
  request). A ``scope`` asking for more than the client holds: 400 ``invalid_scope``; another ``grant_type``: 400
  ``unsupported_grant_type``; a wrong or missing client/secret: 401 ``{"error": "unauthorized",
  "error_description": "Bad credentials"}``.
* with ``Authorization: bearer <token>`` (any case of ``bearer``): ``GET /v1/pages?limit=&offset=`` (top-level pages
  as ``{"id", "name", "children": [...]}``, subpages nested in ``children``; ``limit`` 1..50, default 50; past the
  end an empty list, which is where pydomo stops), ``GET /v1/pages/<id>`` (``cardIds``, ``collectionIds`` (empty),
  ``owners``, ``visibility``...), ``GET /v1/users/<id>``. A client without the ``dashboard`` scope (the
  ``forbidden`` one) gets 403 on the page paths. No token: the gateway's 401 ``{"status": 401, "statusReason":
  "Internal Server Error", "path", "message": "...UnauthorizedException: Full authentication is required to access
  this resource", "toe"}`` (sic: that status reason is what Domo was seen answering); an unknown or expired token:
  401 ``{"error": "invalid_token", "error_description": ...}``.

Instance:

* ``GET /api/content/v1/cards`` with ``X-DOMO-Developer-Token: <developer token>``; OpenMetadata's client also sends
  ``Authorization: Bearer no_token``, which is ignored. Without ``urns``: ``[]`` (what OpenMetadata's
  ``test_list_cards`` expects); with ``urns=<id>[,<id>...]`` (and ``parts``, ignored): the cards with
  ``id``, ``title``, ``description``, ``metadata.chartType``. A missing or wrong developer token: the gateway's 401.
* ``GET /`` (302 to ``/auth/index?redirectUrl=%2F``) and ``GET /auth/index`` (a page titled ``Domo``), so that
  something answers without credentials.

Options: ``clients`` (client id -> `DomoApiClient`: secret, role, scope, how many pages it sees), ``developer_tokens``
(token -> user name), ``pages``, ``subpages`` (children of the first page; OpenMetadata ingests top-level pages
only), ``cards_per_page``, ``customer``, ``tls`` (a server-side ``ssl.SSLContext`` for the API host; the instance
gets the same unless ``instance_tls`` says otherwise, ``None`` for plain http), ``latency``, ``port`` /
``instance_port``, fault injection on either server (``fake.inject``, ``fake.instance.inject``). ``requests`` /
``credentialed`` are each server's own log (never a secret), and ``credential_headers`` names the credential
headers (``authorization``, ``x-domo-developer-token``) each request carried: where each credential went.

[inferred] (not checked against a running Domo): the body of a bad client secret at ``/oauth/token`` (Spring
OAuth2's ``Bad credentials``), the 400 bodies, the 403 for a client without the ``dashboard`` scope and its body,
the 404 body, ``limit`` above 50 being a 400, the instance's ``/`` and login page, the 401 body of the instance for
a wrong developer token (taken to be the gateway's), and that ``cards`` without ``urns`` answers ``[]`` (what
OpenMetadata's code comment says it expects).

    python -m scanner.testing.fake_domo --port 8443 --instance-port 8080 --ca-out /tmp/domo-ca.pem
"""

from __future__ import annotations

import argparse
import base64
import json
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from scanner.testing.rest_fake import RestFake, Route, bearer, html_page, route
from scanner.testing.server import Request, Response

_CREDENTIAL_HEADERS = ("authorization", "x-domo-developer-token", "cookie")

ALL_SCOPES = "data user dashboard"
TOKEN_LIFETIME = 3600
PAGE_LIMIT = 50
FULL_AUTH = ("com.domo.bedrock.service.exception.UnauthorizedException: Full authentication is required to access "
             "this resource")
OWNER_ID = 27
_SAME = object()


@dataclass(frozen=True)
class DomoApiClient:
    """An API client (developer.domo.com > My Account > Manage clients). ``pages``: how many of the instance's
    top-level pages its user may see (None: all). ``scope``: space-separated; without ``dashboard`` the page API
    answers 403 (the ``forbidden`` client)."""

    secret: str
    name: str = "api-client"
    role: str = "Admin"
    scope: str = ALL_SCOPES
    pages: int | None = None
    user_id: int = 964382593


@dataclass(frozen=True)
class _Token:
    client: DomoApiClient
    scopes: frozenset[str]
    expires: float

    @property
    def name(self) -> str:
        return self.client.name


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _toe() -> str:
    return uuid.uuid4().hex[:10].upper() + "-" + uuid.uuid4().hex[:5].upper()


def gateway_error(status: int, path: str, message: str | None = None, reason: str | None = None) -> Response:
    """Domo's API gateway error body (domoinc/domo-java-sdk#14)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return Response.json({"status": status, "statusReason": reason or phrase, "path": path,
                          "message": message or phrase, "toe": _toe()}, status)


def oauth_error(status: int, error: str, description: str) -> Response:
    return Response.json({"error": error, "error_description": description}, status)


class _HeaderLog(RestFake):
    """Also logs which credential headers each request carried (names only, never a value)."""

    def _app(self, request: Request) -> Response:
        names = tuple(sorted({n.lower() for n in request.headers if n.lower() in _CREDENTIAL_HEADERS}))
        if names:
            with self._lock:
                self._sent.append((request.method, request.path, names))
        return super()._app(request)

    @property
    def credential_headers(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(method, path, names of the credential headers it carried) of every request that carried one."""
        with self._lock:
            return list(self._sent)

    def reset_log(self) -> None:
        with self._lock:
            self._sent.clear()
        super().reset_log()


class FakeDomo(_HeaderLog):
    """Domo's API host; ``instance`` is the instance (see the module docstring)."""

    name = "fake-domo-api"

    def __init__(
        self,
        *,
        clients: dict[str, DomoApiClient] | None = None,
        developer_tokens: dict[str, str] | None = None,
        pages: int = 3,
        subpages: int = 1,
        cards_per_page: int = 2,
        customer: str = "acmecompany",
        tls: ssl.SSLContext | None = None,
        instance_tls: Any = _SAME,
        latency: float = 0.0,
        port: int = 0,
        instance_port: int = 0,
    ) -> None:
        self.clients = dict(clients if clients is not None else {"fake-client-id": DomoApiClient("fake-client-secret")})
        self.developer_tokens = dict(developer_tokens or {})
        self.page_count = pages
        self.subpage_count = subpages
        self.cards_per_page = cards_per_page
        self.customer = customer
        self._tokens: dict[str, _Token] = {}
        self._token_lock = threading.Lock()
        self._sent: list[tuple[str, str, tuple[str, ...]]] = []
        super().__init__(tls=tls, latency=latency, port=port)
        self.instance = FakeDomoInstance(self, tls=tls if instance_tls is _SAME else instance_tls, latency=latency,
                                         port=instance_port)

    # -- lifecycle and addresses -------------------------------------------------------------------------------

    def _started(self) -> None:
        self.instance.start()

    def stop(self) -> None:
        try:
            self.instance.stop()
        finally:
            super().stop()

    @property
    def api_host(self) -> str:
        """``host:port`` of the API host, as OpenMetadata's ``apiHost`` (no scheme)."""
        return self.url.split("://", 1)[1]

    @property
    def instance_url(self) -> str:
        return self.instance.url

    # -- the data --------------------------------------------------------------------------------------------

    @staticmethod
    def page_id(i: int) -> int:
        return 1_682_608_000 + i

    @staticmethod
    def subpage_id(k: int) -> int:
        return 1_289_810_000 + k

    def card_ids(self, i: int) -> list[int]:
        """The cards on top-level page `i` (1-based); subpage `k` is page ``-k`` here."""
        base = 400_000_000 + (i if i > 0 else 10_000 - i) * 1000
        return [base + j for j in range(1, self.cards_per_page + 1)]

    def visible(self, client: DomoApiClient) -> list[int]:
        count = self.page_count if client.pages is None else min(client.pages, self.page_count)
        return list(range(1, count + 1))

    @property
    def chart_count(self) -> int:
        """Cards on the top-level pages: what OpenMetadata ingests as charts (subpages are not listed)."""
        return self.page_count * self.cards_per_page

    def _page_index(self, page_id: int) -> int | None:
        if 1 <= page_id - self.page_id(0) <= self.page_count:
            return page_id - self.page_id(0)
        if 1 <= page_id - self.subpage_id(0) <= self.subpage_count:
            return -(page_id - self.subpage_id(0))
        return None

    def card(self, card_id: int) -> dict[str, Any] | None:
        for i in [*range(1, self.page_count + 1), *range(-1, -self.subpage_count - 1, -1)]:
            if card_id in self.card_ids(i):
                return {"id": card_id, "urn": str(card_id), "title": f"Card {card_id}", "type": "kpi",
                        "description": f"Fake card {card_id}", "metadata": {"chartType": "badge_vert_bar"},
                        "owners": [{"id": str(OWNER_ID), "type": "USER", "displayName": "Fake Owner"}]}
        return None

    # -- RestFake ------------------------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        return [
            route("POST", "/oauth/token", self._token, auth=False),
            route("GET", "/oauth/token", self._token, auth=False),
            route("GET", "/v1/pages/?", self._pages),
            route("GET", r"/v1/pages/(?P<id>\d+)", self._page),
            route("GET", r"/v1/users/(?P<id>\d+)", self._user),
        ]

    def authenticate(self, request: Request) -> _Token | None:
        token = bearer(request, "bearer")
        if not token:
            return None
        with self._token_lock:
            entry = self._tokens.get(token)
        return entry if entry is not None and entry.expires > time.time() else None

    def unauthenticated(self, request: Request) -> Response:
        if bearer(request, "bearer"):
            return oauth_error(401, "invalid_token", "Cannot convert access token to JSON")
        return gateway_error(401, request.path, FULL_AUTH, reason="Internal Server Error")

    def not_found(self, request: Request) -> Response:
        return gateway_error(404, request.path, "Not Found")

    def error_response(self, status: int) -> Response:
        return gateway_error(status, "/")

    def carries_credential(self, request: Request) -> bool:
        return super().carries_credential(request) or "client_secret" in request.body.decode("latin-1", "replace")

    # -- the token -------------------------------------------------------------------------------------------

    def _client(self, request: Request) -> DomoApiClient | None:
        value = request.header("Authorization") or ""
        scheme, _, encoded = value.strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode("latin-1").partition(":")
        except ValueError:
            return None
        client = self.clients.get(client_id)
        return client if client is not None and client.secret == secret else None

    def _token(self, request: Request, match: Any, principal: Any) -> Response:
        params = dict(request.query)
        if request.method == "POST" and request.body:
            params.update(parse_qsl(request.body.decode("latin-1"), keep_blank_values=True))
        client = self._client(request)
        if client is None:
            return oauth_error(401, "unauthorized", "Bad credentials")
        if params.get("grant_type") != "client_credentials":
            return oauth_error(400, "unsupported_grant_type",
                               f"Unsupported grant type: {params.get('grant_type', '')}")
        held = set(client.scope.split())
        asked = set((params.get("scope") or "").replace(",", " ").split()) or held
        if not asked <= held:
            return oauth_error(400, "invalid_scope", f"Invalid scope: {' '.join(sorted(asked - held))}")
        now = time.time()
        jti = str(uuid.uuid4())
        payload = {"role": client.role, "customer": self.customer, "exp": int(now + TOKEN_LIFETIME), "userId":
                   client.user_id, "scope": sorted(asked), "jti": jti, "client_id": "fake"}
        token = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(payload)}.{uuid.uuid4().hex}"
        with self._token_lock:
            self._tokens[token] = _Token(client, frozenset(asked), now + TOKEN_LIFETIME)
        return Response.json({"access_token": token, "customer": self.customer, "expires_in": TOKEN_LIFETIME - 1,
                              "jti": jti, "role": client.role, "scope": " ".join(sorted(asked)),
                              "token_type": "bearer", "userId": client.user_id})

    # -- pages and users ---------------------------------------------------------------------------------------

    def _no_dashboard_scope(self, token: _Token, request: Request) -> Response | None:
        if "dashboard" in token.scopes:
            return None
        return gateway_error(403, request.path, "Forbidden: the client has no dashboard scope")

    def _pages(self, request: Request, match: Any, token: _Token) -> Response:
        refused = self._no_dashboard_scope(token, request)
        if refused is not None:
            return refused
        try:
            limit = int(request.query.get("limit", PAGE_LIMIT))
            offset = int(request.query.get("offset", 0))
        except ValueError:
            return gateway_error(400, request.path, "limit and offset must be integers")
        if not 1 <= limit <= PAGE_LIMIT or offset < 0:
            return gateway_error(400, request.path, f"limit must be between 1 and {PAGE_LIMIT}")
        children = [{"id": self.subpage_id(k), "name": f"Subpage {k}", "children": []}
                    for k in range(1, self.subpage_count + 1)]
        pages = [{"id": self.page_id(i), "name": f"Page {i}", "children": children if i == 1 else []}
                 for i in self.visible(token.client)]
        return Response.json(pages[offset: offset + limit])

    def _page(self, request: Request, match: Any, token: _Token) -> Response:
        refused = self._no_dashboard_scope(token, request)
        if refused is not None:
            return refused
        page_id = int(match.group("id"))
        index = self._page_index(page_id)
        if index is None or (index > 0 and index not in self.visible(token.client)) or (
                index < 0 and 1 not in self.visible(token.client)):
            return gateway_error(404, request.path, f"Page {page_id} not found")
        body: dict[str, Any] = {
            "id": page_id, "name": f"Page {index}" if index > 0 else f"Subpage {-index}", "locked": False,
            "ownerId": OWNER_ID, "collectionIds": [], "cardIds": self.card_ids(index),
            "visibility": {"userIds": [OWNER_ID], "groupIds": []},
            "owners": [{"id": OWNER_ID, "type": "USER", "displayName": "Fake Owner"}],
        }
        if index < 0:
            body["parentId"] = self.page_id(1)
        return Response.json(body)

    def _user(self, request: Request, match: Any, token: _Token) -> Response:
        user_id = int(match.group("id"))
        if user_id != OWNER_ID:
            return gateway_error(404, request.path, f"User {user_id} not found")
        return Response.json({"id": OWNER_ID, "name": "Fake Owner", "email": "owner@example.com", "role": "Admin",
                              "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-01-02T00:00:00Z"})


class FakeDomoInstance(_HeaderLog):
    """The instance (``https://<name>.domo.com``) of a `FakeDomo`: its cards API and a page."""

    name = "fake-domo-instance"

    def __init__(self, api: FakeDomo, *, tls: ssl.SSLContext | None, latency: float, port: int) -> None:
        self.api = api
        self._sent: list[tuple[str, str, tuple[str, ...]]] = []
        super().__init__(tls=tls, latency=latency, port=port)

    def _routes(self) -> list[Route]:
        return [
            route("GET", "/", lambda r, m, p: Response(302, b"", {"Location": "/auth/index?redirectUrl=%2F"}),
                  auth=False),
            route("GET", "/auth/index", lambda r, m, p: html_page("Domo", '<div id="root"></div>'), auth=False),
            route("GET", "/api/content/v1/cards/?", self._cards),
        ]

    def authenticate(self, request: Request) -> str | None:
        token = request.header("X-DOMO-Developer-Token")
        return self.api.developer_tokens.get(token.strip()) if token else None

    def unauthenticated(self, request: Request) -> Response:
        return gateway_error(401, request.path, FULL_AUTH, reason="Unauthorized")

    def not_found(self, request: Request) -> Response:
        if request.path.startswith("/api/"):
            return gateway_error(404, request.path, "Not Found")
        return html_page("Domo", "page not found", 404)

    def error_response(self, status: int) -> Response:
        return gateway_error(status, "/")

    def _cards(self, request: Request, match: Any, user: str) -> Response:
        urns = [u for u in (request.query.get("urns") or "").split(",") if u.strip()]
        cards = [self.api.card(int(u)) for u in urns if u.strip().isdigit()]
        return Response.json([c for c in cards if c is not None])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.testing.fake_domo",
                                     description="Run the fake Domo (API host over https, instance) on 127.0.0.1 "
                                                 "until Ctrl-C.")
    parser.add_argument("--port", type=int, default=8443, help="API host port (0: any free port)")
    parser.add_argument("--instance-port", type=int, default=8080, help="instance port (0: any free port)")
    parser.add_argument("--instance-tls", action="store_true", help="serve the instance over https too")
    parser.add_argument("--ca-out", default="domo-fake-ca.pem", help="where to write the test CA (PEM)")
    parser.add_argument("--client-id", default="fake-client-id")
    parser.add_argument("--client-secret", default="fake-client-secret")
    parser.add_argument("--developer-token", default="fake-developer-token")
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--cards-per-page", type=int, default=2)
    args = parser.parse_args(argv)
    from scanner.testing.throwaway_ca import server_context

    context = server_context(args.ca_out)  # the API host is https only, as Domo's
    fake = FakeDomo(clients={args.client_id: DomoApiClient(args.client_secret)},
                    developer_tokens={args.developer_token: "developer"}, pages=args.pages,
                    cards_per_page=args.cards_per_page, tls=context,
                    instance_tls=context if args.instance_tls else None, port=args.port,
                    instance_port=args.instance_port)
    fake.serve_until_interrupted([
        f"Fake Domo: API host {fake.api_host} (https), instance {fake.instance_url}  ({fake.page_count} pages, "
        f"{fake.chart_count} cards)",
        f"DOMO_API_HOST={fake.api_host} DOMO_INSTANCE={fake.instance_url} DOMO_CA_BUNDLE={args.ca_out} "
        "DOMO_CLIENT_ID=<--client-id> DOMO_CLIENT_SECRET=<--client-secret> DOMO_ACCESS_TOKEN=<--developer-token>. "
        "Ctrl-C stops.",
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
