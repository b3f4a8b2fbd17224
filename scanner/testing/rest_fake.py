"""What the REST platform fakes share: routes, credentials, faults, latency, a request log that holds no secret.

A fake subclasses `RestFake`, declares its routes in ``_routes()`` and answers what is particular to its
platform: how a request authenticates (`RestFake.authenticate`), what an unauthenticated API call gets
(`RestFake.unauthenticated`, e.g. Metabase's 401 ``Unauthenticated``, Redash's 404 JSON), what an unknown path
gets (`RestFake.not_found`, e.g. a single-page app's HTML with 200), and its error body for an injected fault
(`RestFake.error_response`).

    class FakeThing(RestFake):
        name = "fake-thing"

        def _routes(self):
            return [
                route("GET", "/api/health", self._health, auth=False),
                route("GET", r"/api/item/(?P<id>\\d+)", self._item),  # handler(request, match, principal)
            ]

Routes are regular expressions matched against the whole path (no query). ``auth=True`` routes call
``authenticate(request)``; None means ``unauthenticated(request)`` is answered. A fault injected with
``inject()`` is taken before routing and authentication. ``requests`` is the log: method, path, status and
the principal's name only (never a header value, a query value or a body).
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scanner.testing.faults import Fault, Faults
from scanner.testing.server import LocalServer, Request, Response, ServedFake

Handler = Callable[[Request, "re.Match[str]", Any], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: bool = True


def route(method: str, path: str, handler: Handler, *, auth: bool = True) -> Route:
    """A route: `method` and a regular expression for the whole path."""
    return Route(method.upper(), re.compile(path), handler, auth)


@dataclass(frozen=True)
class Logged:
    """One request the fake received. Never holds a secret."""

    method: str
    path: str
    status: int
    principal: str | None  # the name of who authenticated, None when nobody did


def bearer(request: Request, scheme: str = "Bearer") -> str | None:
    """The credential in ``Authorization: <scheme> <value>`` (scheme case-insensitive), else None."""
    value = request.header("Authorization") or ""
    head, _, rest = value.strip().partition(" ")
    return (rest.strip() or None) if head.lower() == scheme.lower() else None


def html_page(title: str, body: str = "", status: int = 200) -> Response:
    return Response(status, f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"
                    .encode(), {"Content-Type": "text/html; charset=utf-8"})


def text(status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, body.encode(), {"Content-Type": content_type})


class RestFake(ServedFake):
    """A platform fake over `LocalServer`: see the module docstring."""

    name = "fake"

    def __init__(self, *, tls: ssl.SSLContext | None = None, latency: float = 0.0) -> None:
        self.latency = latency  # seconds slept before every answer (benchmarks)
        self._lock = threading.Lock()
        self._log: list[Logged] = []
        self._faults = Faults()
        self._table = self._routes()
        self._server = LocalServer(self._app, name=self.name, ssl_context=tls)

    # -- what a platform declares ----------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        raise NotImplementedError

    def authenticate(self, request: Request) -> Any:
        """Who the request is (any object; its ``name`` attribute, or itself as text, goes to the log), or None."""
        return None

    def unauthenticated(self, request: Request) -> Response:
        return Response.json({"message": "Unauthorized"}, 401)

    def not_found(self, request: Request) -> Response:
        return Response.json({"message": "Not found"}, 404)

    def error_response(self, status: int) -> Response:
        """The platform's error answer for `status` (an injected fault without a body)."""
        return Response.json({"message": f"error {status}"}, status)

    # -- the machinery -----------------------------------------------------------------------------------------

    def _app(self, request: Request) -> Response:
        if self.latency:
            time.sleep(self.latency)
        principal = None
        fault = self._faults.take(request.method, request.path)
        if fault is not None:
            resp = self._fault_response(fault)
        else:
            resp, principal = self._route(request)
        name = None if principal is None else str(getattr(principal, "name", principal))
        with self._lock:
            self._log.append(Logged(request.method, request.path, 0 if resp.reset else resp.status, name))
        return resp

    def _route(self, request: Request) -> tuple[Response, Any]:
        allowed = False
        for entry in self._table:
            match = entry.pattern.fullmatch(request.path)
            if match is None:
                continue
            if entry.method != request.method:
                allowed = True
                continue
            principal = None
            if entry.auth:
                principal = self.authenticate(request)
                if principal is None:
                    return self.unauthenticated(request), None
            return entry.handler(request, match, principal), principal
        if allowed:
            return self.error_response(405), None
        return self.not_found(request), None

    def _fault_response(self, fault: Fault) -> Response:
        if fault.reset:
            return Response(0, b"", reset=True)
        if fault.body is None:
            resp = self.error_response(fault.status)
            resp.headers.update(fault.headers)
            return resp
        if isinstance(fault.body, (bytes, str)):
            body = fault.body.encode() if isinstance(fault.body, str) else fault.body
            return Response(fault.status, body, {"Content-Type": "text/plain", **fault.headers})
        return Response.json(fault.body, fault.status, dict(fault.headers))


__all__ = ["Handler", "Logged", "RestFake", "Route", "bearer", "html_page", "route", "text"]
