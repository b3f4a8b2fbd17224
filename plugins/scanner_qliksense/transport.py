"""Mutual TLS to Qlik Sense's service ports (QRS 4242, engine 4747): the client certificate context, scanner's HTTP
client carrying it, a raw TLS socket (through an http:// proxy's CONNECT tunnel when one applies), a look at whether
a port demands a client certificate, and a minimal RFC 6455 WebSocket client for the engine.

`MutualTlsClient` is scanner's `HttpClient` given an ``ssl_context`` with the client certificate loaded, so it keeps
everything else the client guarantees (timeouts and the deadline, capped bodies, no redirect followed with
credentials, proxies).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3

from scanner import network
from scanner.http import ConnectFailed, HttpClient, HttpError, TimedOut, translate_error

CLIENT_CERT, CLIENT_KEY, ROOT_CERT = "client.pem", "client_key.pem", "root.pem"
MAX_MESSAGE = 5 * 1024 * 1024
MAX_HEAD = 64 * 1024
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# TLS alerts a server sends when it refuses the client certificate (OpenSSL's wording, lower case)
CERT_ALERTS = ("alert unknown ca", "alert bad certificate", "alert certificate unknown", "alert certificate required",
               "alert access denied", "alert certificate expired", "alert certificate revoked",
               "alert unsupported certificate", "alert handshake failure", "alert decrypt error")


class CertificateProblem(Exception):
    """The certificate files cannot be used (message safe to show: names files, never their content)."""


def client_context(cert_dir: Path, *, verify: bool, check_hostname: bool) -> ssl.SSLContext:
    """The context every connection to the service ports uses: the client certificate and key of `cert_dir`; the
    server verified against its ``root.pem`` (Qlik's own CA) unless `verify` is off; the host name checked only
    with `check_hostname` (OpenMetadata's ``validateHostName``, off by default)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = bool(verify and check_hostname)
    context.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    key_text = (cert_dir / CLIENT_KEY).read_text(errors="replace")
    if "ENCRYPTED" in key_text.split("\n", 1)[0] or "Proc-Type: 4,ENCRYPTED" in key_text:
        raise CertificateProblem(f"{CLIENT_KEY} is encrypted with a password, which neither scanner nor "
                                 "OpenMetadata's connector can give")
    if verify:
        try:
            context.load_verify_locations(cafile=str(cert_dir / ROOT_CERT))
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise CertificateProblem(f"{ROOT_CERT} is not a PEM certificate ({_ssl_reason(exc)})") from None
    try:  # a password callback, so an encrypted key fails here instead of prompting on the terminal
        context.load_cert_chain(str(cert_dir / CLIENT_CERT), str(cert_dir / CLIENT_KEY), password=lambda: b"")
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = _ssl_reason(exc)
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in reason:
            raise CertificateProblem(f"{CLIENT_KEY} is not the key of {CLIENT_CERT}") from None
        raise CertificateProblem(f"{CLIENT_CERT} / {CLIENT_KEY} cannot be loaded ({reason})") from None
    return context


def _ssl_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason).lower().replace("_", " ") if reason else type(exc).__name__


def refused_alert(exc: BaseException) -> str | None:
    """The TLS alert when the server refused the handshake over the client certificate, else None."""
    text = str(exc).lower().replace("_", " ")
    return next((alert.removeprefix("alert ") for alert in CERT_ALERTS if alert in text), None)


class MutualTlsClient(HttpClient):
    """scanner's `HttpClient` presenting the client certificate of `context` (see the module docstring)."""

    def __init__(self, context: ssl.SSLContext, *, root: Path, **kw: Any) -> None:
        super().__init__(verify=str(root), ssl_context=context, **kw)


# -- raw TLS sockets ---------------------------------------------------------------------------------------------


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _tcp(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to host:port, through the proxy scanner's settings give for ``https://host:port``."""
    proxy = network.proxy_for(f"https://{_netloc(host, port)}")
    if proxy is None:
        return socket.create_connection((host, port), timeout=timeout)
    parts = urlsplit(proxy)
    if parts.scheme != "http" or not parts.hostname:
        raise ConnectFailed(f"cannot connect to {_netloc(host, port)}{network.via(proxy)}: only an http:// proxy "
                            "can carry Qlik Sense's mutual TLS (a CONNECT tunnel)")
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
    try:
        target = _netloc(host, port)
        head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in network.proxy_headers(proxy).items())
        sock.sendall((head + "\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk or len(answer) > MAX_HEAD:
                break
            answer += chunk
        status = answer.split(b"\r\n", 1)[0].decode("latin-1")
        if not status.startswith("HTTP/") or status.split(" ")[1:2] != ["200"]:
            raise ConnectFailed(f"cannot connect to {target}{network.via(proxy)}: the proxy refused the tunnel "
                                f"({status.strip() or 'no answer'})")
    except BaseException:
        sock.close()
        raise
    return sock


def open_tls(host: str, port: int, context: ssl.SSLContext, *, timeout: float) -> ssl.SSLSocket:
    """A TLS connection (handshake done); failures raised as scanner's `HttpError` s."""
    url = f"https://{_netloc(host, port)}/"
    try:
        sock = _tcp(host, port, timeout)
    except HttpError:
        raise
    except OSError as exc:
        raise translate_error(exc, "GET", url, timeout, timeout) from None
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLError as exc:
        sock.close()
        raise translate_error(urllib3.exceptions.SSLError(exc), "GET", url, timeout, timeout) from None
    except OSError as exc:
        sock.close()
        raise translate_error(exc, "GET", url, timeout, timeout) from None


def demands_client_certificate(host: str, port: int, *, timeout: float) -> tuple[bool, str]:
    """Whether `port` refuses a TLS client that has no certificate (Qlik's QRS and engine ports do). Only looks:
    sends no certificate and no credential, verifies nothing (what answered is not trusted with anything)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        sock = _tcp(host, port, timeout)
    except HttpError as exc:
        return False, str(exc)
    except OSError as exc:
        return False, str(translate_error(exc, "GET", f"https://{_netloc(host, port)}/", timeout, timeout))
    try:
        with context.wrap_socket(sock, server_hostname=host) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {_netloc(host, port)}\r\nConnection: close\r\n\r\n".encode())
            data = tls.recv(16)
    except ssl.SSLError as exc:
        alert = refused_alert(exc)
        if alert:
            return True, f"refuses a client without a certificate (TLS alert: {alert})"
        if isinstance(exc, ssl.SSLEOFError):
            return True, "closes the TLS connection of a client without a certificate"
        return False, f"TLS failed: {_ssl_reason(exc)}"
    except (ConnectionResetError, BrokenPipeError):
        return True, "resets the TLS connection of a client without a certificate"
    except TimeoutError:
        return False, "no answer in time"
    except OSError as exc:
        return False, f"connection failed: {exc.strerror or type(exc).__name__}"
    finally:
        sock.close()
    if data:
        return False, "answers a client without a certificate"
    return True, "closes the connection of a client without a certificate"


# -- the engine's WebSocket ----------------------------------------------------------------------------------------


class WebSocketRefused(Exception):
    """The upgrade was answered with an HTTP status other than 101."""

    def __init__(self, status: int, reason: str, body: str) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status, self.reason, self.body = status, reason, body


class WebSocketClosed(Exception):
    """The server closed the WebSocket (code and reason)."""


class WebSocket:
    """A minimal RFC 6455 client over an open TLS socket: text messages only; every read bounded by `deadline`."""

    def __init__(self, tls: ssl.SSLSocket, deadline: float, read_timeout: float) -> None:
        self.tls, self.deadline, self.read_timeout = tls, deadline, read_timeout
        self._file = tls.makefile("rb")
        self._received = 0

    def _timeout(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimedOut("the engine's WebSocket: the target deadline passed")
        self.tls.settimeout(min(self.read_timeout, remaining))

    def _read(self, size: int) -> bytes:
        self._timeout()
        self._received += size
        if self._received > MAX_MESSAGE:
            raise HttpError(f"the engine sent more than {MAX_MESSAGE} bytes")
        data = self._file.read(size)
        if data is None or len(data) < size:
            raise WebSocketClosed("the engine closed the connection")
        return data

    def upgrade(self, host: str, port: int, path: str, headers: dict[str, str]) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {_netloc(host, port)}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
                 *(f"{k}: {v}" for k, v in headers.items())]
        self._timeout()
        self.tls.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head: list[str] = []
        while True:
            self._timeout()
            line = self._file.readline(8192)
            self._received += len(line)
            if not line:
                raise WebSocketClosed("the engine closed the connection during the upgrade")
            if line in (b"\r\n", b"\n") or self._received > MAX_HEAD:
                break
            head.append(line.decode("latin-1").rstrip("\r\n"))
        status_line = head[0] if head else ""
        parts = status_line.split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
        if status != 101:
            length = fields.get("content-length", "0")
            body = self._file.read(min(int(length), 2000)) if length.isdigit() and int(length) else b""
            raise WebSocketRefused(status, parts[2] if len(parts) > 2 else "", body.decode("utf-8", "replace"))
        expected = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        if fields.get("sec-websocket-accept") != expected:
            raise WebSocketRefused(status, "without a valid Sec-WebSocket-Accept", "")

    @staticmethod
    def _frame(opcode: int, payload: bytes) -> bytes:
        """One final frame, masked as a client's must be."""
        size = len(payload)
        head = bytes([0x80 | opcode]) + (bytes([0x80 | size]) if size < 126 else
                                         bytes([0x80 | 126]) + struct.pack("!H", size) if size < 65536 else
                                         bytes([0x80 | 127]) + struct.pack("!Q", size))
        mask = os.urandom(4)
        return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

    def send(self, message: dict[str, Any]) -> None:
        self._timeout()
        self.tls.sendall(self._frame(0x1, json.dumps(message).encode()))

    def receive(self) -> Any:
        """The next text message, parsed as JSON (pings answered, fragments joined)."""
        parts: list[bytes] = []
        while True:
            first, second = self._read(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", self._read(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else b""
            payload = self._read(size) if size else b""
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = first & 0x0F
            if opcode == 0x9:  # ping
                self.tls.sendall(self._frame(0xA, payload))
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                reason = payload[2:].decode("utf-8", "replace")
                raise WebSocketClosed(f"the engine closed the WebSocket (code {code}{': ' + reason if reason else ''})")
            parts.append(payload)
            if first & 0x80:
                try:
                    return json.loads(b"".join(parts))
                except ValueError:
                    raise HttpError("the engine sent a message that is not JSON") from None

    def close(self) -> None:
        try:
            self.tls.settimeout(1.0)
            self.tls.sendall(self._frame(0x8, struct.pack("!H", 1000)))
        except OSError:
            pass
        finally:
            self._file.close()
            self.tls.close()
