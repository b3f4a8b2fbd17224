"""A contract-faithful fake of Looker's API, as the real looker-sdk 26.22 (``init40``) uses it.

Serves, on 127.0.0.1 only (shared/contracts/bi-platforms.md §2 and §6, wire-log-real-clients.txt):

* ``GET    /versions``                   ApiVersion JSON, no authentication (the fingerprint probe)
* ``GET    /api/<v>/versions``           ApiVersion JSON, with or without a token (the SDK sends one)
* ``POST   /api/<v>/login``              form body (or query) ``client_id`` + ``client_secret`` -> AccessToken
                                         JSON; wrong, missing or unknown credentials -> 404 ``Not found``
* ``GET    /api/<v>/user``               the API user (``sdk.me()``)
* ``GET    /api/<v>/users/<id>``         a known user, else 404
* ``GET    /api/<v>/dashboards``         N dashboards (``sdk.all_dashboards(fields="id")``); 403 for a forbidden user
* ``GET    /api/<v>/lookml_models``      N models, ``limit``/``offset`` honoured; 403 for a forbidden user
* ``DELETE /api/logout``                 (``sdk.auth.logout()``, no version segment) and ``/api/<v>/logout``
                                         (``sdk.logout()``) -> 204, the token is revoked
* extras: ``GET /alive`` (200, empty), ``GET /api/<v>/swagger.json`` (a stub), ``GET /login`` (SYNTHETIC
  HTML carrying the nuclei markers ``lookerVersion: '<release>',`` and ``lookerLocation.title``)
* anything else -> 404 ``{"message": "Not found", "documentation_url": "https://docs.looker.com/"}``

``<v>`` must be one of ``api_versions`` (default ``("4.0",)``); any other version is 404, login included.
Authenticated calls take ``Authorization: Bearer <token>`` (what the SDK sends) or ``token <token>`` (what
Looker's docs show); no, unknown, revoked or expired token -> 401 ``Requires authentication.``. Error bodies
are Looker's ``{"message", "documentation_url"}``; the doc URL is deliberately the plain
``https://docs.looker.com/``: an ``.../r/err/...`` URL makes the SDK fetch an index from the internet.
The ``fields`` query parameter is honoured at the top level (``fields=id`` keeps only ``id``).

What is [guess] (not verified against a real Looker, see the contract): the 401 status and message for a
missing/bad token on API calls (only the body is reported publicly), 404 (rather than 400) for *missing*
credentials at login, that ``/api/<v>/versions`` answers without a token, the 403 body ``Forbidden`` for a
user without permissions, the 400 body for a non-integer ``limit``/``offset``, the ``/alive`` body (empty),
the statuses in ``supported_versions`` beyond the highest one, that a token works on every served API
version, and the content of the swagger stub and of the ``/login`` page (both SYNTHETIC). The fake issues
tokens that really expire after ``token_ttl`` seconds; the SDK itself treats a token as expired 10 s early,
so a ``token_ttl`` of 10 or less makes it log in again before every call.

Test helpers: ``fake.requests`` (a log that never holds a client_secret nor a token: no bodies, no
Authorization values), counters ``logins``/``failed_logins``/``logouts``/``active_tokens``, ``latency``
and ``inject()`` (fault injection, applied before routing).

    python -m scanner.testing.fake_looker --port 19999 [--client-id X --client-secret Y]
"""

from __future__ import annotations

import argparse
import re
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

from scanner.testing.faults import Fault, Faults
from scanner.testing.server import LocalServer, Request, Response, ServedFake

__all__ = ["DOCUMENTATION_URL", "FakeLooker", "LookerApiUser", "RecordedRequest", "main"]

DOCUMENTATION_URL = "https://docs.looker.com/"
"""The doc URL put in every error body: plain, so the SDK's ErrorDocHelper makes no outbound request."""

_REDACTED = "***"
_SECRET_QUERY_KEYS = frozenset({"client_secret", "access_token", "token"})
_API_PATH = re.compile(r"^/api/(?P<version>[^/]+)(?P<rest>/.*)?$")
_TOKEN_HEADER = re.compile(r"^\s*(?:bearer|token)\s+(?P<token>\S+)\s*$", re.IGNORECASE)


@dataclass
class LookerApiUser:
    """One API3 client_id/client_secret pair and the Looker user behind it."""

    client_secret: str = field(repr=False)
    user_id: str = "42"
    display_name: str = "Api Robot"
    email: str = "api-robot@example.com"
    dashboards: int = 3
    lookml_models: int = 2
    forbidden: bool = False
    """Login and ``/user`` work; ``/dashboards`` and ``/lookml_models`` answer 403."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received. Never holds a client_secret nor a token."""

    method: str
    path: str
    query: dict[str, str]
    """Query parameters, with ``client_secret``/``token`` values (and any known secret) replaced by ``***``."""
    status: int
    """HTTP status answered; 0 when the connection was reset without an answer."""
    client_id: str | None
    """The client behind the token, or the client_id submitted to login; None otherwise."""
    authenticated: bool
    """A live token was presented."""


@dataclass
class _Token:
    client_id: str
    expires_at: float  # time.monotonic()


class _LookerError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _not_found() -> _LookerError:
    return _LookerError(404, "Not found")


def _version_key(version: str) -> tuple:
    parts = []
    for piece in version.split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)


def _select_fields(value: Any, fields: str | None) -> Any:
    """Looker's ``fields=a,b(c,d)``: keep the named top-level keys (nested selections are not applied)."""
    if not fields:
        return value
    names, depth, current = set(), 0, ""
    for char in fields:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            names.add(current.strip())
            current = ""
        elif depth == 0:
            current += char
    names.add(current.strip())
    names.discard("")
    if isinstance(value, list):
        return [_select_fields(item, fields) for item in value]
    if isinstance(value, dict):
        return {key: item for key, item in value.items() if key in names}
    return value


@dataclass(eq=False)
class FakeLooker(ServedFake):
    """In-memory Looker API over real HTTP on 127.0.0.1.

    ``port`` is the port to bind (0: any free one); after ``start()`` it holds the port actually bound.
    """

    clients: dict[str, LookerApiUser] = field(
        default_factory=lambda: {"lk_client_id": LookerApiUser("lk-client-secret")}
    )
    release: str = "25.20.11"
    """``looker_release_version``."""
    api_versions: tuple[str, ...] = ("4.0",)
    """API versions served; ``/api/<v>/...`` for any other ``v`` is 404 (login included)."""
    token_ttl: int = 3600
    """``expires_in`` of issued tokens, and their real lifetime in the fake."""
    api_server_url: str | None = None
    """What ``/versions`` reports as ``api_server_url``; None: the fake's own url."""
    port: int = 0
    latency: float = 0.0
    """Seconds slept before every answer."""
    tls: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    """A server-side SSLContext: serve HTTPS; ``url`` (and so the ``api_server_url``/``web_server_url``
    that ``/versions`` reports) is then ``https://127.0.0.1:<port>``."""

    def __post_init__(self) -> None:
        if isinstance(self.api_versions, str):
            self.api_versions = (self.api_versions,)
        if not self.api_versions:
            raise ValueError("api_versions must name at least one version")
        self._lock = threading.RLock()
        self._tokens: dict[str, _Token] = {}
        self._log: list[RecordedRequest] = []
        self._faults = Faults()
        self.logins = 0
        """Successful logins."""
        self.failed_logins = 0
        self.logouts = 0
        self._server = LocalServer(self._app, port=self.port, name="fake-looker", ssl_context=self.tls)

    def _started(self) -> None:
        self.port = self._server.port

    # -- inspection -----------------------------------------------------------------------------------


    @property
    def active_tokens(self) -> int:
        """Tokens issued and neither revoked nor expired."""
        now = time.monotonic()
        with self._lock:
            return sum(1 for token in self._tokens.values() if token.expires_at > now)

    # -- HTTP entry point -----------------------------------------------------------------------------
    def _app(self, request: Request) -> Response:
        if self.latency:
            time.sleep(self.latency)
        match = _TOKEN_HEADER.match(request.header("Authorization") or "")
        token = match.group("token") if match else None
        client_id = self._client_for(token)
        login_client: str | None = None
        fault = self._faults.take(request.method, request.path)
        if fault is not None:
            response = self._fault_response(fault)
        else:
            try:
                response, login_client = self._route(request, token, client_id)
            except _LookerError as err:
                response = self._error(err.status, err.message)
            except Exception as err:  # a bug in the fake: still answer in Looker's error shape
                response = self._error(500, f"Fake Looker internal error: {type(err).__name__}")
        self._record(request, 0 if response.reset else response.status, client_id or login_client, client_id)
        return response

    @staticmethod
    def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return Response.json({"message": message, "documentation_url": DOCUMENTATION_URL}, status, headers)

    def _fault_response(self, fault: Fault) -> Response:
        if fault.reset:
            return Response(reset=True)
        if fault.body is None:
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Error"
            return self._error(fault.status, phrase, fault.headers)
        headers = dict(fault.headers)
        if isinstance(fault.body, bytes | str):
            headers.setdefault("Content-Type", "application/json")
            return Response(fault.status, fault.body, headers)
        return Response.json(fault.body, fault.status, headers)

    def _record(self, request: Request, status: int, client_id: str | None, token_client: str | None) -> None:
        with self._lock:
            hidden = {user.client_secret for user in self.clients.values()} | set(self._tokens)
            hidden.discard("")
            query = {
                key: _REDACTED if key.lower() in _SECRET_QUERY_KEYS or value in hidden else value
                for key, value in request.query.items()
            }
            if client_id in hidden:
                client_id = _REDACTED
            self._log.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=query,
                    status=status,
                    client_id=client_id,
                    authenticated=token_client is not None,
                )
            )

    # -- authentication -------------------------------------------------------------------------------
    def _client_for(self, token: str | None) -> str | None:
        """The client_id behind ``token`` when it is live (and its client still configured), else None."""
        if token is None:
            return None
        now = time.monotonic()
        with self._lock:
            issued = self._tokens.get(token)
            if issued is None:
                return None
            if issued.expires_at <= now:
                del self._tokens[token]
                return None
            return issued.client_id if issued.client_id in self.clients else None

    def _require(self, client_id: str | None) -> LookerApiUser:
        if client_id is None:
            raise _LookerError(401, "Requires authentication.")
        with self._lock:
            return self.clients[client_id]

    def _login(self, request: Request) -> tuple[Response, str | None]:
        params = dict(request.query)
        content_type = (request.header("Content-Type") or "").lower()
        if request.body and "json" not in content_type:
            params.update(parse_qsl(request.body.decode("utf-8", errors="replace"), keep_blank_values=True))
        client_id = params.get("client_id") or None
        secret = params.get("client_secret")
        with self._lock:
            user = self.clients.get(client_id) if client_id else None
            if user is None or not secret or not secrets.compare_digest(user.client_secret.encode(), secret.encode()):
                self.failed_logins += 1
                return self._error(404, "Not found"), client_id
            token = secrets.token_urlsafe(30)
            self._tokens[token] = _Token(client_id, time.monotonic() + self.token_ttl)
            self.logins += 1
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl, "refresh_token": None}
        return Response.json(body), client_id

    def _logout(self, token: str | None, client_id: str | None) -> Response:
        self._require(client_id)
        with self._lock:
            if token is None or self._tokens.pop(token, None) is None:  # revoked concurrently
                raise _LookerError(401, "Requires authentication.")
            self.logouts += 1
        return Response(204)

    # -- routing --------------------------------------------------------------------------------------
    def _route(self, request: Request, token: str | None, client_id: str | None) -> tuple[Response, str | None]:
        method = "GET" if request.method == "HEAD" else request.method
        path = request.path
        if method == "GET" and path == "/versions":
            return self._json(self._versions(), request), None
        if method == "GET" and path == "/alive":
            return Response(200), None
        if method == "GET" and path == "/login":
            return Response(200, self._login_page(), {"Content-Type": "text/html; charset=utf-8"}), None
        if method == "DELETE" and path == "/api/logout":
            return self._logout(token, client_id), None
        match = _API_PATH.match(path)
        if match is None or match.group("version") not in self.api_versions:
            raise _not_found()
        version, rest = match.group("version"), match.group("rest") or ""
        if rest == "/login":
            if method != "POST":
                raise _not_found()
            return self._login(request)
        if method == "DELETE" and rest == "/logout":
            return self._logout(token, client_id), None
        if method != "GET":
            raise _not_found()
        if rest == "/versions":
            return self._json(self._versions(), request), None
        if rest == "/swagger.json":
            return Response.json(self._swagger(version)), None
        if rest == "/user":
            return self._json(self._user_json(self._require(client_id)), request), None
        if rest.startswith("/users/") and rest.count("/") == 2:
            self._require(client_id)
            wanted = unquote(rest[len("/users/") :])
            with self._lock:
                found = [user for user in self.clients.values() if user.user_id == wanted]
            if not found:
                raise _not_found()
            return self._json(self._user_json(found[0]), request), None
        if rest == "/dashboards":
            user = self._permitted(client_id)
            items = [self._dashboard(i) for i in range(1, user.dashboards + 1)]
            return self._json(items, request), None
        if rest == "/lookml_models":
            user = self._permitted(client_id)
            items = [self._model(i) for i in range(1, user.lookml_models + 1)]
            offset = self._int_param(request, "offset", 0)
            limit = self._int_param(request, "limit", None)
            items = items[offset:] if limit is None else items[offset : offset + limit]
            return self._json(items, request), None
        raise _not_found()

    def _permitted(self, client_id: str | None) -> LookerApiUser:
        user = self._require(client_id)
        if user.forbidden:
            raise _LookerError(403, "Forbidden")
        return user

    @staticmethod
    def _int_param(request: Request, name: str, default: int | None) -> Any:
        raw = request.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _LookerError(400, f"Invalid value for {name}: must be an integer") from None
        if value < 0:
            raise _LookerError(400, f"Invalid value for {name}: must be >= 0")
        return value

    @staticmethod
    def _json(value: Any, request: Request) -> Response:
        return Response.json(_select_fields(value, request.query.get("fields")))

    # -- payloads -------------------------------------------------------------------------------------
    def _full_version(self, version: str) -> str:
        return f"{version}.{'.'.join(self.release.split('.')[:2])}"

    def _version_element(self, version: str, status: str) -> dict:
        base = self.api_server_url or self.url
        return {
            "version": version,
            "full_version": self._full_version(version),
            "status": status,
            "swagger_url": f"{base.rstrip('/')}/api/{version}/swagger.json",
        }

    def _versions(self) -> dict:
        served = sorted(dict.fromkeys(self.api_versions), key=_version_key)
        newest = served[-1]
        elements = []
        for version in served:
            if version == newest:
                status = "current"
            elif _version_key(version) < _version_key("4.0"):
                status = "legacy"
            else:
                status = "stable"
            elements.append(self._version_element(version, status))
        return {
            "looker_release_version": self.release,
            "current_version": self._version_element(newest, "current"),
            "supported_versions": elements,
            "api_server_url": self.api_server_url or self.url,
            "web_server_url": self.url,
        }

    def _swagger(self, version: str) -> dict:
        return {  # SYNTHETIC stub: the real document describes every endpoint
            "swagger": "2.0",
            "info": {"version": self._full_version(version), "title": "Looker API " + version + " Reference"},
            "basePath": f"/api/{version}",
            "paths": {},
        }

    @staticmethod
    def _user_json(user: LookerApiUser) -> dict:
        first, _, last = user.display_name.partition(" ")
        return {
            "id": user.user_id,
            "display_name": user.display_name,
            "email": user.email,
            "first_name": first,
            "last_name": last,
            "is_disabled": False,
            "is_service_account": False,
            "locale": "en",
            "role_ids": [] if user.forbidden else ["2"],
            "group_ids": ["1"],
            "personal_folder_id": str(1000 + int(user.user_id)) if user.user_id.isdigit() else None,
            "url": None,
        }

    @staticmethod
    def _dashboard(index: int) -> dict:
        return {
            "id": str(index),
            "title": f"Dashboard {index}",
            "description": "",
            "folder": {"id": "1", "name": "Shared"},
            "hidden": False,
            "readonly": False,
            "user_id": "1",
        }

    @staticmethod
    def _model(index: int) -> dict:
        return {
            "name": f"model_{index}",
            "label": f"Model {index}",
            "project_name": f"project_{index}",
            "has_content": True,
            "explores": [],
            "allowed_db_connection_names": [],
            "unlimited_db_connections": True,
        }

    def _login_page(self) -> bytes:
        # SYNTHETIC: only carries what the nuclei looker-panel template matches on.
        release = self.release.replace("\\", "").replace("'", "")
        return (
            "<!DOCTYPE html><html><head><title>Looker</title>"
            "<script>var lookerMetadata = {lookerVersion: '" + release + "', lookerLocation: "
            "{title: 'Looker'}};\ndocument.title = lookerLocation.title;</script></head>"
            '<body><form action="/login" method="post">'
            '<input name="email"><input name="password" type="password"></form></body></html>'
        ).encode()


# ------------------------------------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scanner.testing.fake_looker",
        description="Run the fake Looker API on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=19999, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--client-id", default="lk_client_id", help="API3 client_id (default lk_client_id)")
    parser.add_argument(
        "--client-secret", default="lk-client-secret", help="API3 client_secret (default lk-client-secret)"
    )
    parser.add_argument("--release", default="25.20.11", help="looker_release_version reported")
    parser.add_argument(
        "--api-version", dest="api_versions", action="append", help="API version served (repeatable; default 4.0)"
    )
    parser.add_argument("--token-ttl", type=int, default=3600, help="expires_in of issued tokens, seconds")
    parser.add_argument("--dashboards", type=int, default=3)
    parser.add_argument("--lookml-models", type=int, default=2)
    args = parser.parse_args(argv)
    fake = FakeLooker(
        clients={
            args.client_id: LookerApiUser(
                args.client_secret, dashboards=args.dashboards, lookml_models=args.lookml_models
            )
        },
        release=args.release,
        api_versions=tuple(args.api_versions or ("4.0",)),
        token_ttl=args.token_ttl,
        port=args.port,
    )
    fake.start()
    fake.serve_until_interrupted([
        f"Fake Looker {fake.release} at {fake.url}  (API {', '.join(fake.api_versions)})",
        f"client_id {args.client_id!r} (secret from --client-secret). Ctrl-C stops.",
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
