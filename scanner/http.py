"""The hardened HTTP client every probe shares.

What it guarantees, whatever the plugin asks:
- every request has a connect and a read timeout, and a wall-clock deadline that also bounds a
  body that drips in slowly;
- TLS is verified unless the target says otherwise; a CA bundle can be given per target;
- a request that carries credentials (an Authorization header, a cookie, or `credentials=True`
  for a login body) never follows a redirect: the 3xx comes back as `RedirectRefused`, so a
  password can only ever reach the host it was configured for;
- response bodies are capped (`max_body`), read as a stream, never buffered past the cap;
- HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured (`scanner.network`): an https target through a CONNECT
  tunnel; a request carrying credentials to a plain-http target through a proxy is refused
  (`ProxyRefused`); messages about a connection say "via proxy ..." when one was used;
- ``verify=True`` trusts what `scanner.network.trust_context` says (REQUESTS_CA_BUNDLE / SSL_CERT_FILE, or
  certifi plus the system store).

Failures are raised as `HttpError` subclasses, which the probe runner maps to a target status.
"""

from __future__ import annotations

import functools
import json as jsonlib
import re
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3

from scanner import __version__, network
from scanner.errors import ScannerError
from scanner.secrets import clip
from scanner.urls import display_url

DEFAULT_MAX_BODY = 5 * 1024 * 1024
USER_AGENT = f"scanner/{__version__} (+https://github.com/bi-scanner)"
_REDIRECTS = {301, 302, 303, 307, 308}
_SECRET_HEADER = re.compile(r"^(authorization|cookie)$|auth|token|session|key", re.IGNORECASE)


class HttpError(ScannerError):
    """A request did not produce a usable response. `str()` is one safe line."""


class ConnectFailed(HttpError):
    """Nothing answered: DNS, refused connection, reset before a response."""


class TlsFailed(HttpError):
    """The TLS handshake or certificate verification failed."""


class TimedOut(HttpError):
    """Connect or read timeout, or the request's deadline passed."""


class BodyTooLarge(HttpError):
    """The response body was larger than the cap."""


class RedirectRefused(HttpError):
    """A request carrying credentials was answered with a redirect; it was not followed."""

    def __init__(self, message: str, location: str):
        super().__init__(message)
        self.location = location


class ProxyRefused(HttpError):
    """Credentials would have crossed a proxy in clear text (a plain-http target behind HTTP_PROXY)."""


class BadResponse(HttpError):
    """The server answered, but not with what was expected (e.g. HTML where JSON was due)."""


@dataclass
class Response:
    """A fully read (capped) response."""

    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float
    history: list[int] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """Parse the body as JSON, or raise `BadResponse` naming what came instead."""
        try:
            return jsonlib.loads(self.body)
        except ValueError:
            kind = self.content_type or "no content-type"
            raise BadResponse(
                f"{self.method} {_path(self.url)} -> {self.status}: expected JSON, got {kind}"
            ) from None


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path or "/"


class HttpClient:
    """One per target: a urllib3 pool with the guarantees listed in the module docstring.

    urllib3 directly rather than requests: half the CPU per request, which is what bounds a scan of
    hundreds of targets (one core, the GIL). No cookie jar and no netrc; proxies from the environment
    as `scanner.network` reads them.
    """

    def __init__(
        self,
        *,
        verify: bool | str = True,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        max_body: int = DEFAULT_MAX_BODY,
        deadline: float | None = None,
        pool_size: int = 4,
        ssl_context: ssl.SSLContext | None = None,
    ):
        """`ssl_context`, when given, replaces what `verify` says: its trust, and a client certificate loaded in it
        (mutual TLS, e.g. Qlik Sense's Repository Service); its hostname checking decides whether names are
        checked."""
        self.verify = verify
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_body = max_body
        self.deadline = deadline  # time.monotonic() value after which nothing more is sent
        self.deadline_name = "the deadline"  # how errors name it ("the target deadline")
        self._trust_error: str | None = None
        try:
            self._tls = _tls_options(verify) if ssl_context is None else _context_options(ssl_context)
        except network.TrustError as exc:  # REQUESTS_CA_BUNDLE / SSL_CERT_FILE unreadable: each https request says so
            self._tls, self._trust_error = {"cert_reqs": "CERT_REQUIRED"}, str(exc)
        self._pool_size = pool_size
        self._pool = urllib3.PoolManager(num_pools=pool_size, maxsize=pool_size, retries=False, **self._tls)
        self._proxy_pools: dict[str, urllib3.ProxyManager] = {}
        self._origins: dict[str, urllib3.HTTPConnectionPool] = {}

    def _manager_for(self, url: str) -> tuple[urllib3.PoolManager, str | None]:
        """The pool a request to `url` goes through, and the proxy URL when there is one."""
        proxy = network.proxy_for(url)
        if proxy is None:
            return self._pool, None
        manager = self._proxy_pools.get(proxy)
        if manager is None:
            try:
                manager = urllib3.ProxyManager(
                    proxy, num_pools=self._pool_size, maxsize=self._pool_size, retries=False,
                    proxy_headers=network.proxy_headers(proxy), **self._tls,
                )
            except (urllib3.exceptions.ProxySchemeUnknown, ValueError):
                raise ConnectFailed(f"cannot connect to {urlsplit(url).netloc}{network.via(proxy)}: only http:// and "
                                    "https:// proxies are supported (not SOCKS)") from None
            self._proxy_pools[proxy] = manager
        return manager, proxy

    def close(self) -> None:
        self._origins.clear()
        self._pool.clear()
        for manager in self._proxy_pools.values():
            manager.clear()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    @staticmethod
    def _carries_credentials(headers: dict[str, str] | None, credentials: bool) -> bool:
        """Whether a request carries a secret: `credentials`, or a header that is (or looks like) one:
        Authorization, Cookie, and any ``*-auth*``, ``*token*``, ``*session*`` or ``*key*`` header
        (X-API-KEY, X-Tableau-Auth, X-Metabase-Session, X-DOMO-Developer-Token...)."""
        return credentials or any(_SECRET_HEADER.search(k) for k in headers or {})

    def request(
        self,
        method: str,
        url: str,
        *,
        credentials: bool = False,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        max_redirects: int = 5,
        follow_redirects: bool = True,
    ) -> Response:
        """Send one request and read its (capped) body.

        `credentials=True` marks a request whose body carries a secret (a login form): like one
        with an Authorization header or cookies, it never follows redirects.
        `follow_redirects=False` returns a 3xx as it is (for "does anything answer here?").
        """
        follow = not self._carries_credentials(headers, credentials)
        if not follow:  # credentials never cross a proxy in clear text (and never follow a redirect)
            refusal = network.cleartext_refusal(url, network.proxy_for(url))
            if refusal:
                raise ProxyRefused(f"{method} {_path(url)}: {refusal}")
        history: list[int] = []
        started = time.monotonic()
        current = url
        for _ in range(max_redirects + 1):
            resp = self._send_once(method, current, headers, params, json, data)
            if resp.status not in _REDIRECTS or not follow_redirects:
                resp.history = history
                resp.elapsed = time.monotonic() - started
                return resp
            location = resp.headers.get("location", "")
            if not follow:
                raise RedirectRefused(
                    f"{method} {_path(current)} -> {resp.status} redirect to {_origin_of(location, current)}; "
                    "not followed because the request carries credentials",
                    location,
                )
            history.append(resp.status)
            current = requests.compat.urljoin(current, location)
            if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                method, json, data = "GET", None, None
            params = None  # the Location already carries the query
        raise BadResponse(f"{method} {_path(url)}: more than {max_redirects} redirects")

    def get(self, url: str, **kw: Any) -> Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Response:
        return self.request("POST", url, **kw)

    def _opener(self, pool: urllib3.PoolManager, proxy: str | None, target: str):
        """How to send to `target`: its origin's connection pool and the request-URI, kept per origin (a probe
        sends several requests to one origin, and the pool manager's URL parsing and pool-key building cost about
        8% of a scan's CPU); the pool manager itself through a proxy, or for a URI it would have to re-encode."""
        if proxy is not None:
            return pool.urlopen, target
        slash = target.find("/", target.find("//") + 2)
        origin, uri = (target, "/") if slash < 0 else (target[:slash], target[slash:])
        if not _PLAIN_URI.fullmatch(uri):
            return pool.urlopen, target
        conn = self._origins.get(origin)
        if conn is None or conn.pool is None:  # new, or closed when the manager evicted it
            conn = self._origins[origin] = pool.connection_from_url(origin)
        return functools.partial(conn.urlopen, assert_same_host=False), uri

    def _send_once(self, method, url, headers, params, json, data) -> Response:
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            raise TimedOut(f"{method} {_path(url)}: deadline reached before the request was sent")
        connect = self.connect_timeout if remaining is None else min(self.connect_timeout, remaining)
        read = self.read_timeout if remaining is None else min(self.read_timeout, remaining)
        # The body must arrive within this wall-clock budget, whatever the per-read timeout.
        body_deadline = time.monotonic() + (read if remaining is None else remaining)
        target, body, sent_headers = _encode(url, headers, params, json, data)
        pool, proxy = self._manager_for(url)
        if self._trust_error and url.lower().startswith("https:"):
            raise TlsFailed(f"TLS to {urlsplit(url).netloc}{network.via(proxy)} not attempted: {self._trust_error}")
        try:
            opener, where = self._opener(pool, proxy, target)
            raw = opener(
                method, where, body=body, headers=sent_headers, timeout=urllib3.Timeout(connect=connect, read=read),
                redirect=False, retries=False, preload_content=False,
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            cut_by = self.deadline_name if remaining is not None and remaining < self.read_timeout else None
            raise translate_error(exc, method, url, connect, read, cut_by, proxy=proxy) from None
        try:
            body = read_capped(raw, method, url, self.max_body, body_deadline)
        except BaseException:
            raw.close()  # not read to the end: the connection cannot be reused
            raise
        raw.release_conn()  # read to the end: back to the pool (keep-alive, no new TCP/TLS handshake)
        return Response(
            method=method, url=url, status=raw.status,
            headers={k.lower(): v for k, v in raw.headers.items()}, body=body, elapsed=0.0,
        )


_PLAIN_URI = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")
"""A request-URI urllib3 would send as it is (nothing to percent-encode)."""
_DEFAULT_HEADERS = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "gzip, deflate"}


def _encode(url: str, headers, params, json, data) -> tuple[str, bytes | None, dict[str, str]]:
    """URL with its query, body bytes and headers, as requests would have built them."""
    sent = {**_DEFAULT_HEADERS, **(headers or {})}
    if params:
        url += ("&" if urlsplit(url).query else "?") + urlencode(params, doseq=True)
    body: bytes | None = None
    if json is not None:
        body = jsonlib.dumps(json).encode()
        sent.setdefault("Content-Type", "application/json")
    elif isinstance(data, dict):
        body = urlencode(data, doseq=True).encode()
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif data is not None:
        body = data.encode() if isinstance(data, str) else data
    return url, body, sent


def _context_options(context: ssl.SSLContext) -> dict[str, Any]:
    required = "CERT_NONE" if context.verify_mode == ssl.CERT_NONE else "CERT_REQUIRED"
    return {"ssl_context": context, "cert_reqs": required, "assert_hostname": None if context.check_hostname else False}


def _tls_options(verify: bool | str) -> dict[str, Any]:
    if verify is False:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the target asked for it
        return {"cert_reqs": "CERT_NONE"}
    if isinstance(verify, str):
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": verify}  # the target's own CA bundle wins
    return {"cert_reqs": "CERT_REQUIRED", "ssl_context": network.trust_context()}


def translate_error(exc: BaseException, method: str, url: str, connect: float, read: float,
                    cut_by: str | None = None, *, proxy: str | None = None) -> HttpError:
    """The `HttpError` (one safe line) for a requests or urllib3 exception raised while sending. `cut_by`
    names the deadline when it, not the configured timeout, set the wait (e.g. "the target deadline");
    `proxy`, the proxy the request went through ("host via proxy http://proxy:3128", userinfo hidden)."""
    host = urlsplit(url).netloc.rpartition("@")[2] + network.via(proxy)
    until = f"{cut_by} ({read:.3g}s left)" if cut_by else f"{read:g}s"
    u3 = urllib3.exceptions
    # requests wraps urllib3's MaxRetryError (raised when a Retry has no budget left) in a ConnectionError:
    # what happened is its reason (a read timeout, a refused connection...)
    inner = exc.args[0] if isinstance(exc, requests.RequestException) and exc.args else exc
    if isinstance(inner, u3.MaxRetryError) and inner.reason is not None:
        exc = inner.reason
    if isinstance(exc, u3.ProxyError):  # the proxy itself: unreachable, or it refused the tunnel
        cause = exc.original_error if isinstance(exc.original_error, BaseException) else exc
        return ConnectFailed(f"cannot connect to {host}: the proxy failed: {_reason(cause)}")
    if "BadStatusLine" in str(exc):
        return BadResponse(f"{method} {_path(url)} on {host}: the server answered with something that is not HTTP")
    if "IncompleteRead" in str(exc):
        return ConnectFailed(f"{method} {_path(url)} on {host}: the connection closed before the whole answer arrived")
    if isinstance(exc, requests.exceptions.SSLError | u3.SSLError):
        return TlsFailed(f"TLS to {host} failed: {_reason(exc)}")
    if isinstance(exc, u3.NewConnectionError):  # a subclass of ConnectTimeoutError in urllib3: test it first
        return ConnectFailed(f"cannot connect to {host}: {_reason(exc)}")
    if isinstance(exc, requests.exceptions.ConnectTimeout | u3.ConnectTimeoutError):
        return TimedOut(f"connecting to {host} timed out after {connect:.3g}s" + (f", at {cut_by}" if cut_by else ""))
    if isinstance(exc, requests.exceptions.ReadTimeout | u3.ReadTimeoutError | TimeoutError):
        return TimedOut(f"{method} {_path(url)} on {host}: no answer within {until}")
    if isinstance(exc, requests.exceptions.InvalidURL | u3.LocationParseError | u3.LocationValueError):
        return ConnectFailed(f"invalid URL {url!r}: {exc}")
    if isinstance(exc, requests.exceptions.ConnectionError | u3.NewConnectionError | u3.ProtocolError | OSError):
        return ConnectFailed(f"cannot connect to {host}: {_reason(exc)}")
    return HttpError(f"{method} {_path(url)} on {host}: {_reason(exc)}")


def read_capped(stream: urllib3.BaseHTTPResponse, method: str, url: str, max_body: int,
                body_deadline: float) -> bytes:
    """Read a streamed body, refusing more than `max_body` bytes or arrival past `body_deadline`."""
    declared = stream.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body:
        raise BodyTooLarge(f"{method} {_path(url)}: body of {declared} bytes exceeds the {max_body}-byte cap")
    chunks: list[bytes] = []
    size = 0
    try:  # read1() returns what has arrived, so a body that drips in byte by byte still meets the deadline

        while True:
            chunk = stream.read1(65536, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > max_body:
                raise BodyTooLarge(f"{method} {_path(url)}: body exceeds the {max_body}-byte cap")
            chunks.append(chunk)
            if time.monotonic() > body_deadline:
                raise TimedOut(f"{method} {_path(url)}: body still arriving at the deadline")
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
        raise TimedOut(f"{method} {_path(url)}: body stalled past the read timeout") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise ConnectFailed(f"{method} {_path(url)}: connection broke mid-response: {_reason(exc)}") from None
    return b"".join(chunks)


def read_whole(raw: requests.Response, method: str, url: str, max_body: int, body_deadline: float) -> bytes:
    """For a streamed requests response: `read_capped`, then hand the connection back to the pool (keep-
    alive); a connection whose body was not read to the end is closed instead."""
    try:
        body = read_capped(raw.raw, method, url, max_body, body_deadline)
    except BaseException:
        raw.close()
        raise
    raw._content = body
    raw._content_consumed = True
    raw.close()  # with the content consumed, this only releases the connection to the pool
    return body


def _origin_of(location: str, base: str) -> str:
    target = urlsplit(requests.compat.urljoin(base, location))
    if not target.netloc:
        return display_url(location) or "(no Location)"
    return display_url(f"{target.scheme}://{target.netloc}")


def _reason(exc: BaseException) -> str:
    """The innermost readable reason of a requests/urllib3 exception, on one line."""
    text = str(exc)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = re.sub(r"\s*\(_ssl\.c:\d+\)", "", text).strip("()'\" ").replace("\n", " ")
    if "CERTIFICATE_VERIFY_FAILED" in text:
        detail = text.split("certificate verify failed:", 1)[-1].split(")")[0].split("'")[0].strip(" '\"")
        return f"certificate verify failed ({detail})" if detail else "certificate verify failed"
    if "RemoteDisconnected" in text or "closed connection without response" in text:
        return "the server closed the connection without answering (if that port speaks TLS, use https://)"
    if "Connection reset by peer" in text or "ConnectionResetError" in text:
        return "the connection was reset by the server"
    ssl_error = re.search(r"\[SSL: ([A-Z_]+)\] ([^(']+)", text)
    if ssl_error:
        if ssl_error.group(1) == "WRONG_VERSION_NUMBER":
            return "the server does not speak TLS on this port (try http://)"
        return ssl_error.group(2).strip()
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "host name not found"
    return clip(text, 200)
