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
``inject()`` is taken before routing and authentication. ``requests`` is the log: method, path as received,
status, the principal's name and whether a credential was carried (never a header value, a query value
or a body); ``credentialed`` lists the requests that carried one. ``prefix=`` serves the platform under a path,
``port=`` on a fixed port.
"""

from __future__ import annotations

import dataclasses
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
    credential: bool = False  # it carried a credential (valid or not): see `RestFake.carries_credential`


_CREDENTIAL_HEADER = re.compile(r"^(authorization|cookie)$|auth|token|session|key", re.IGNORECASE)


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

    def __init__(self, *, tls: ssl.SSLContext | None = None, latency: float = 0.0, port: int = 0,
                 prefix: str = "", host: str = "127.0.0.1") -> None:
        self.latency = latency  # seconds slept before every answer (benchmarks)
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        """A path the platform is served under (``/bi/metabase``): routes match below it, anything else is
        `outside_prefix`; ``base_url`` includes it."""
        self._lock = threading.Lock()
        self._log: list[Logged] = []
        self._faults = Faults()
        self._table = self._routes()
        self._server = LocalServer(self._app, name=self.name, ssl_context=tls, port=port, host=host)

    @property
    def base_url(self) -> str:
        """The instance's base URL: `url` plus `prefix`."""
        return self.url + self.prefix

    @property
    def credentialed(self) -> list[tuple[str, str]]:
        """(method, path) of every request that carried a credential, valid or not, in order."""
        with self._lock:
            return [(r.method, r.path) for r in self._log if r.credential]

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

    def outside_prefix(self, request: Request) -> Response:
        """A path outside `prefix` (the front server's own 404)."""
        return text(404, "Not Found")

    def carries_credential(self, request: Request) -> bool:
        """Whether the request carries a credential (for `credentialed`): a header that is or looks like one
        (Authorization, Cookie, ``*auth*``, ``*token*``, ``*session*``, ``*key*``). A fake whose login sends the
        secret in a body or a query adds that."""
        return any(_CREDENTIAL_HEADER.search(name) for name in request.headers)

    # -- the machinery -----------------------------------------------------------------------------------------

    def _app(self, request: Request) -> Response:
        if self.latency:
            time.sleep(self.latency)
        principal = None
        received = request.path
        credential = self.carries_credential(request)
        fault = self._faults.take(request.method, request.path)
        if fault is not None:
            resp = self._fault_response(fault)
        elif self.prefix and request.path != self.prefix and not request.path.startswith(self.prefix + "/"):
            resp = self.outside_prefix(request)
        else:
            if self.prefix:
                request = dataclasses.replace(request, path=request.path[len(self.prefix):] or "/")
            resp, principal = self._route(request)
        name = None if principal is None else str(getattr(principal, "name", principal))
        with self._lock:
            self._log.append(Logged(request.method, received, 0 if resp.reset else resp.status, name, credential))
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
