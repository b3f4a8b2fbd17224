"""Run a stdlib HTTP server on 127.0.0.1 in a background thread, for fakes and tests.

Two ways to plug behaviour in:

* a ``http.server.BaseHTTPRequestHandler`` subclass (full control), or
* a callable *app* ``app(request: Request) -> Response``: the helper reads the request
  (the whole body, ``Content-Length`` or chunked), calls the app and writes the response with a
  correct ``Content-Length`` over HTTP/1.1 keep-alive. ``Response(reset=True)`` closes the
  connection abruptly (TCP RST) without answering, to simulate a dropped connection.

    with LocalServer(app) as srv:
        requests.get(srv.url + "/ping")

Only ever binds loopback: 127.0.0.1, or another 127.x address (``host=``, ``move_to``). ``stop()`` is fast: it
ends the accept loop, closes the listening socket,
cuts the open keep-alive connections and joins the thread.

TLS: pass ``ssl_context=`` (a server-side ``ssl.SSLContext`` holding the certificate, e.g. from
``trustme``) and every connection speaks TLS; ``url`` is then ``https://127.0.0.1:<port>``. The
handshake runs in the connection's own thread (a slow or silent client never blocks the accept loop),
and a client that rejects the certificate, or speaks plain HTTP, is dropped quietly (debug log only).

    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    with LocalServer(app, ssl_context=server_ctx) as srv:
        requests.get(srv.url + "/ping", verify=ca_pem_path)
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

__all__ = ["HOST", "LocalServer", "Request", "Response", "App", "ServedFake"]

HOST = "127.0.0.1"
"""The only interface these servers bind."""

if TYPE_CHECKING:
    from scanner.testing.faults import Faults

log = logging.getLogger(__name__)


@dataclass
class Request:
    """One HTTP request as seen by an app."""

    method: str
    target: str
    """The raw request target, e.g. ``/api/v1/x?y=1`` (still percent-encoded)."""
    path: str
    """The path part of the target, still percent-encoded (split on ``/`` before decoding)."""
    query: dict[str, str]
    """Query parameters; the last value wins when a key repeats (see ``query_list``)."""
    query_list: list[tuple[str, str]]
    headers: Message
    """Case-insensitive: ``request.headers.get("content-type")``."""
    body: bytes
    client_address: tuple[str, int]

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` when it is not JSON)."""
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    """What an app answers. ``body`` may be bytes, str (UTF-8) or any JSON-serialisable value."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    """Close the connection without sending anything (TCP RST)."""

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json"}
        merged.update(headers or {})
        return cls(status=status, body=json.dumps(obj).encode("utf-8"), headers=merged)

    def encoded_body(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes | bytearray):
            return bytes(self.body)
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


App = Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    handshake_timeout = 10.0
    """Seconds a TLS client gets to complete its handshake (it only holds that connection's thread)."""

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        app: App | None,
        ssl_context: ssl.SSLContext | None = None,
    ):
        self.app = app
        self._live: set[socket.socket] = set()
        self._live_lock = threading.Lock()
        super().__init__(address, handler)
        if ssl_context is not None:
            try:
                # Accepted sockets inherit do_handshake_on_connect=False: accept() returns at once and
                # the handshake happens in finish_request, in the connection's thread.
                self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
            except BaseException:
                self.server_close()
                raise

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket) and not self._handshake(request, client_address):
            return  # shutdown_request (in process_request_thread) closes it
        super().finish_request(request, client_address)

    def _handshake(self, request: ssl.SSLSocket, client_address: Any) -> bool:
        previous = request.gettimeout()
        try:
            request.settimeout(self.handshake_timeout)
            request.do_handshake()
            request.settimeout(previous)
        except (ssl.SSLError, OSError, ValueError) as err:
            # e.g. the client rejected the certificate (alert unknown ca), spoke plain HTTP, timed out or left
            log.debug("TLS handshake with %s failed: %s", client_address, err)
            return False
        return True

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._live_lock:
            self._live.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._live_lock:
            self._live.discard(request)
        super().shutdown_request(request)

    def cut_live_connections(self) -> None:
        with self._live_lock:
            live = list(self._live)
        for sock in live:
            with contextlib.suppress(OSError):
                # socket.socket.shutdown on an SSLSocket too: SSLSocket.shutdown would drop its SSL
                # object under the thread still reading from it; this only wakes that thread up.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that vanish mid-request are normal in tests (timeouts, resets, TLS alerts): stay quiet.
        log.debug("error while serving %s", client_address, exc_info=True)


class _AppHandler(BaseHTTPRequestHandler):
    """Adapts a callable app to BaseHTTPRequestHandler (HTTP/1.1, keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "LocalServer/1"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers, up to the blank line
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)  # CRLF after the chunk
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.send_error(HTTPStatus.BAD_REQUEST, "Malformed request body")
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        query_list = parse_qsl(parts.query, keep_blank_values=True)
        request = Request(
            method=self.command,
            target=self.path,
            path=parts.path,
            query=dict(query_list),
            query_list=query_list,
            headers=self.headers,
            body=body,
            client_address=self.client_address,
        )
        try:
            response = self.server.app(request)  # type: ignore[misc]
        except Exception:  # the app is buggy: answer 500 rather than drop the connection
            log.exception("app raised on %s %s", self.command, self.path)
            response = Response(500, b"Internal Server Error", {"Content-Type": "text/plain"})
        if response.reset:
            self._reset_connection()
            return
        payload = response.encoded_body()
        self.send_response(response.status)
        has_type = False
        for name, value in response.headers.items():
            if name.lower() in ("content-length", "transfer-encoding"):
                continue
            has_type = has_type or name.lower() == "content-type"
            self.send_header(name, value)
        if payload and not has_type:
            self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)

    def _reset_connection(self) -> None:
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # the descriptor really closes (RST) once rfile/wfile are closed
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


def _is_handler_class(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseHTTPRequestHandler)


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 (ephemeral port by default) served from a daemon thread.

    ``handler`` is either a ``BaseHTTPRequestHandler`` subclass or a callable app
    ``app(Request) -> Response``. ``ssl_context`` (server side, with a certificate loaded) makes every
    connection TLS and ``url`` an ``https://`` one.
    """

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler] | App,
        *,
        port: int = 0,
        request_queue_size: int = 256,
        poll_interval: float = 0.05,
        name: str = "local-http-server",
        ssl_context: ssl.SSLContext | None = None,
        host: str = HOST,
    ):
        if not _is_loopback(host):
            raise ValueError(f"LocalServer binds loopback addresses only (127.0.0.0/8), not {host!r}")
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise TypeError("ssl_context must be an ssl.SSLContext (server side) or None")
        if _is_handler_class(handler):
            self._handler_class: type[BaseHTTPRequestHandler] = handler  # type: ignore[assignment]
            self._app: App | None = None
        elif callable(handler):
            self._handler_class = _AppHandler
            self._app = handler  # type: ignore[assignment]
        else:
            raise TypeError("handler must be a BaseHTTPRequestHandler subclass or a callable app")
        self._requested_port = port
        self._host = host
        self._queue_size = request_queue_size
        self._poll_interval = poll_interval
        self._name = name
        self._ssl_context = ssl_context
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def move_to(self, host: str, port: int | None = None) -> LocalServer:
        """Listen on another loopback address (and port) (before `start`), e.g. to spread stand-ins over
        127.0.0.0/22."""
        if not _is_loopback(host):
            raise ValueError(f"LocalServer binds loopback addresses only (127.0.0.0/8), not {host!r}")
        if self._server is not None:
            raise RuntimeError("move_to() before start()")
        self._host = host
        if port is not None:
            self._requested_port = port
        return self

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> LocalServer:
        with self._lock:
            if self._server is not None:
                return self
            server_class = type("_BoundServer", (_Server,), {"request_queue_size": self._queue_size})
            server = server_class((self._host, self._requested_port), self._handler_class, self._app,
                                  self._ssl_context)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": self._poll_interval},
                name=f"{self._name}:{server.server_address[1]}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        try:
            server.shutdown()
        finally:
            server.server_close()
            server.cut_live_connections()
            if thread is not None:
                thread.join(timeout)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_until_interrupted(self, banner: Iterable[str] = ()) -> None:
        """Foreground helper for ``python -m`` entry points: start, print, block until Ctrl-C, stop."""
        self.start()
        for line in banner:
            print(line, flush=True)
        try:
            while self.running:
                threading.Event().wait(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    # -- addresses ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def host(self) -> str:
        return self._host

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """The server-side TLS context, or None for plain HTTP."""
        return self._ssl_context

    @property
    def scheme(self) -> str:
        return "https" if self._ssl_context is not None else "http"

    @property
    def port(self) -> int:
        server = self._server
        if server is None:
            raise RuntimeError("server is not started")
        return int(server.server_address[1])

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self._host}:{self.port}"


def _is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        return False


_F = TypeVar("_F", bound="ServedFake")


class ServedFake:
    """What every fake shares: a `LocalServer` in ``self._server``, started and stopped with it (also as a
    context manager), its ``url``, and fault injection through ``self._faults`` (`scanner.testing.faults`).

    Each fake answers an injected fault in its platform's own error shape (its ``_fault_response``).
    """

    _server: LocalServer
    _faults: Faults
    _fault_prefix = "/"  # what `inject` matches when no path_prefix is given

    def at(self: _F, host: str, port: int | None = None) -> _F:
        """Serve on another loopback address (127.x) than 127.0.0.1 (and on `port`); call before `start`."""
        self._server.move_to(host, port)
        return self

    def start(self: _F) -> _F:
        self._server.start()
        self._started()
        return self

    def _started(self) -> None:
        """Hook run once the server listens (e.g. to record the bound port)."""

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self: _F) -> _F:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self._server.url

    def serve_until_interrupted(self, banner: Iterable[str] = ()) -> None:
        """For ``python -m`` entry points: serve (start first, to print the url) until Ctrl-C, then stop."""
        self.start()
        self._server.serve_until_interrupted(banner)

    # A fake that records what it received keeps it in ``self._log``, under ``self._lock``.
    @property
    def requests(self) -> list[Any]:
        with self._lock:  # type: ignore[attr-defined]
            return list(self._log)  # type: ignore[attr-defined]

    def reset_log(self) -> None:
        with self._lock:  # type: ignore[attr-defined]
            self._log.clear()  # type: ignore[attr-defined]

    def inject(
        self,
        status: int = 503,
        times: int | None = 1,
        method: str | None = None,
        path_prefix: str | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        *,
        reset: bool = False,
    ) -> None:
        """The next ``times`` requests matching ``method`` (None: any) and ``path_prefix`` (None: the fake's
        ``_fault_prefix``) get this answer
        instead of being served (``times=None``: until ``clear_faults()``). ``body`` None gives the
        platform's own error body for ``status``; bytes/str are sent as is, other values as JSON.
        ``reset=True`` closes the connection without answering. Faults apply before routing and
        authentication, e.g. ``inject(429, headers={"Retry-After": "1"})``."""
        prefix = self._fault_prefix if path_prefix is None else path_prefix
        self._faults.add(status, times, method, prefix, headers, body, reset=reset)

    def clear_faults(self) -> None:
        self._faults.clear()
