"""A minimal RFC 6455 WebSocket server for fakes: the opening handshake, text frames both ways, ping/pong, close.

`websocket_handler(session)` gives a ``BaseHTTPRequestHandler`` class for `scanner.testing.server.LocalServer`
(which does TLS, a client certificate included, when it gets an ``ssl_context``). For every connection that
asks for an upgrade, ``session(request)`` is called with a `WsRequest` (path, headers, the client certificate
when one was presented) and returns either an HTTP answer ``(status, body)`` to refuse the upgrade, or a
`WsSession` whose ``opened()`` returns the messages pushed first and whose ``message(text)`` returns the
answers to one client message. What it does not do: extensions (no permessage-deflate), subprotocols, binary
messages (answered with close 1003), frames over 16 MiB.

    class Echo(WsSession):
        def message(self, text):
            return [text]

    with LocalServer(websocket_handler(lambda request: Echo()), ssl_context=ctx) as server:
        ...
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import ssl
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any

log = logging.getLogger(__name__)

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_FRAME = 16 * 1024 * 1024
TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


@dataclass
class WsRequest:
    """The upgrade request: path (with its query), headers, the client certificate (``getpeercert()``) if any."""

    path: str
    headers: Message
    peer_cert: dict[str, Any] | None = None


@dataclass
class WsSession:
    """One open WebSocket connection. Subclass and override `opened` and `message`."""

    log: list[str] = field(default_factory=list)

    def opened(self) -> list[str]:
        """Messages the server pushes as soon as the connection is open."""
        return []

    def message(self, text: str) -> list[str]:
        """The answers to one text message from the client."""
        return []

    def closed(self) -> None:
        """The connection ended (either side)."""


Session = Callable[[WsRequest], "WsSession | tuple[int, str]"]


def frame(opcode: int, payload: bytes, *, mask: bool = False) -> bytes:
    """One final frame (a client masks, a server does not)."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    bit = 0x80 if mask else 0
    if size < 126:
        head += bytes([bit | size])
    elif size < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", size)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def _read_exact(rfile, size: int) -> bytes:
    data = rfile.read(size)
    if data is None or len(data) < size:
        raise EOFError("connection closed mid-frame")
    return data


def read_frame(rfile) -> tuple[bool, int, bytes]:
    """(fin, opcode, payload) of the next frame, unmasked."""
    first, second = _read_exact(rfile, 2)
    size = second & 0x7F
    if size == 126:
        size = struct.unpack("!H", _read_exact(rfile, 2))[0]
    elif size == 127:
        size = struct.unpack("!Q", _read_exact(rfile, 8))[0]
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes")
    key = _read_exact(rfile, 4) if second & 0x80 else None
    payload = _read_exact(rfile, size)
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bool(first & 0x80), first & 0x0F, payload


def websocket_handler(session: Session) -> type[BaseHTTPRequestHandler]:
    """A handler class serving WebSocket upgrades through `session` (see the module docstring)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "LocalServer/1"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

        def _plain(self, status: int, body: str) -> None:
            payload = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            self.close_connection = True

        def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
            peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
            upgrade = (self.headers.get("Upgrade") or "").lower() == "websocket"
            key = self.headers.get("Sec-WebSocket-Key")
            if not upgrade or not key or self.headers.get("Sec-WebSocket-Version") != "13":
                self._plain(400, "Bad Request: a WebSocket upgrade was expected")
                return
            opened = session(WsRequest(self.path, self.headers, peer or None))
            if isinstance(opened, tuple):
                self._plain(*opened)
                return
            self.send_response(101, "Switching Protocols")
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept_key(key))
            self.end_headers()
            self.wfile.flush()
            self.close_connection = True
            try:
                self._serve(opened)
            except (EOFError, OSError, ValueError) as exc:
                log.debug("websocket ended: %s", exc)
            finally:
                opened.closed()

        def _send(self, opcode: int, payload: bytes) -> None:
            self.wfile.write(frame(opcode, payload))
            self.wfile.flush()

        def _serve(self, opened: WsSession) -> None:
            for text in opened.opened():
                self._send(TEXT, text.encode())
            parts: list[bytes] = []
            while True:
                fin, opcode, payload = read_frame(self.rfile)
                if opcode == PING:
                    self._send(PONG, payload)
                    continue
                if opcode == PONG:
                    continue
                if opcode == CLOSE:
                    self._send(CLOSE, payload[:2])
                    return
                if opcode == BINARY:
                    self._send(CLOSE, struct.pack("!H", 1003) + b"binary messages are not supported")
                    return
                parts.append(payload)
                if not fin:
                    continue
                text, parts = b"".join(parts).decode("utf-8"), []
                for answer in opened.message(text):
                    self._send(TEXT, answer.encode())

    return Handler


__all__ = ["WsRequest", "WsSession", "accept_key", "frame", "read_frame", "websocket_handler"]
