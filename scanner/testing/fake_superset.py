"""A small fake of Apache Superset's unauthenticated pages and REST API (6.1.0 behaviour).

Serves what scanner's Superset probe touches, as the real server answers it
(shared/contracts/superset-real-server.md): ``/health`` ``OK``, ``/version``, the ``/login/`` page
with its bootstrap data, ``POST /api/v1/security/login`` (200 / 401 / 400 for a provider the server
does not allow), and ``/api/v1/dashboard/`` and ``/api/v1/chart/`` counts (401 without a token,
422 for a token it did not issue, 403 for a user without permissions). Most tests use this; the
integration tests use a real Superset.
"""

from __future__ import annotations

import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from html import escape

from scanner.testing.server import LocalServer, Request, Response, ServedFake


@dataclass
class FakeUser:
    password: str
    dashboards: int = 2
    charts: int = 3
    forbidden: bool = False  # Public role: login works, every list call is 403


@dataclass
class FakeSuperset(ServedFake):
    version: str = "6.1.0"
    users: dict[str, FakeUser] = field(default_factory=lambda: {"admin": FakeUser("admin")})
    providers: tuple[str, ...] = ("db",)
    latency: float = 0.0  # seconds slept before every answer (benchmarks)
    tls: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    """A server-side SSLContext: serve HTTPS (``url`` is then ``https://127.0.0.1:<port>``)."""
    prefix: str = ""
    """A path prefix Superset is served under (its ``APPLICATION_ROOT``), e.g. ``/bi/superset``: every page and
    API is below it (``base_url`` includes it) and anything else answers 404."""

    def __post_init__(self) -> None:
        self.served = 0  # requests answered
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self.login_attempts: list[dict] = []
        self._server = LocalServer(self._app, name="fake-superset", ssl_context=self.tls)

    @property
    def base_url(self) -> str:
        """The instance's base URL: `url` plus `prefix`."""
        return self.url + self.prefix

    def _login_page(self) -> bytes:
        bootstrap = {"common": {"menu_data": {"brand": {"alt": "Superset"},
                                              "navbar_right": {"version_string": self.version}}}}
        data = escape(json.dumps(bootstrap), quote=True).replace("&quot;", "&#34;")
        return (f'<!DOCTYPE html><html><head><title>Superset</title></head><body>'
                f'<div id="app" data-bootstrap="{data}"></div></body></html>').encode()

    def _app(self, request: Request) -> Response:
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            self.served += 1
        path = request.path
        if self.prefix:
            if path != self.prefix and not path.startswith(self.prefix + "/"):
                return Response(404, b"<html><title>404</title></html>", {"Content-Type": "text/html"})
            path = path[len(self.prefix):] or "/"
        if request.method == "GET" and path in ("/health", "/healthcheck", "/ping"):
            return Response(200, b"OK", {"Content-Type": "text/html; charset=utf-8"})
        if request.method == "GET" and path == "/version":
            return Response.json({"build_number": None, "version_sha": "", "version_string": self.version})
        if request.method == "GET" and path == "/login/":
            return Response(200, self._login_page(), {"Content-Type": "text/html; charset=utf-8"})
        if request.method == "GET" and path == "/":
            return Response(302, b"", {"Location": f"{self.prefix}/superset/welcome/"})
        if request.method == "GET" and path == "/superset/welcome/":
            return Response(302, b"", {"Location": f"{self.prefix}/login/?next=%2Fsuperset%2Fwelcome%2F"})
        if path == "/api/v1/security/login":
            if request.method != "POST":
                return Response.json({"errors": [{"message": "405 Method Not Allowed"}]}, 405)
            return self._login(request)
        if request.method == "GET" and path in ("/api/v1/dashboard/", "/api/v1/chart/"):
            return self._list(request, "dashboards" if "dashboard" in path else "charts")
        return Response(404, b"<html><title>404</title></html>", {"Content-Type": "text/html"})

    def _login(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            return Response.json({"message": "Request payload is not JSON"}, 400)
        self.login_attempts.append({"username": body.get("username"), "provider": body.get("provider")})
        if "password" not in body:
            return Response.json({"message": {"password": ["Missing data for required field."]}}, 400)
        if body.get("provider") not in self.providers:
            return Response.json({"message": {"provider": ["Alternative authentication provider is not allowed"]}}, 400)
        user = self.users.get(str(body.get("username")))
        if user is None or user.password != body.get("password"):
            return Response.json({"message": "Not authorized"}, 401)
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = str(body["username"])
        return Response.json({"access_token": token})

    def _list(self, request: Request, kind: str) -> Response:
        auth = request.header("Authorization") or ""
        if not auth.startswith("Bearer "):
            return Response.json({"msg": "Missing Authorization Header"}, 401)
        with self._lock:
            name = self._tokens.get(auth[len("Bearer "):])
        if name is None:
            return Response.json({"msg": "Signature verification failed"}, 422)
        user = self.users[name]
        if user.forbidden:
            return Response.json({"message": "Forbidden"}, 403)
        count = getattr(user, kind)
        return Response.json({"count": count, "ids": list(range(1, min(count, 1) + 1)), "result": []})
