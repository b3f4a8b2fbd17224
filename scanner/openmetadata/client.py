"""A small client for OpenMetadata's dashboard-service API.

- Base URL from ``OPENMETADATA_HOST`` with or without ``/api``; ``Authorization: Bearer <jwt>``.
- Retries with backoff for 429/502/503/504 and connection errors, honouring ``Retry-After``
  (urllib3's `Retry`, capped so a hostile header cannot stall the run). PUT is an upsert, so a
  retried PUT cannot create a duplicate. With a run deadline, no wait goes past it, and once it has
  passed a call is not retried: the last answer (or failure) is reported, saying so.
- Every error becomes one `CatalogError` line with the method, the path really requested, the status
  and the server's own ``message``; a call that got no answer says what broke (refused, name not
  found, reset, closed, timed out...). No token, no body with secrets, ever appears in it.
- Surprises are named, never crashed on: a 200 that is HTML (an SSO login page), JSON of the wrong
  shape, a redirect (reported with its ``Location``, never followed: the token goes nowhere else),
  https on a port that speaks plain http, and paging that never ends (a repeated cursor, an empty
  page naming a next one, more pages than the catalog's own total, or the run deadline).
"""

from __future__ import annotations

import http.client
import json as jsonlib
import logging
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.util.retry import Retry

from scanner import network
from scanner.errors import CatalogAuthError, CatalogError
from scanner.http import USER_AGENT
from scanner.secrets import clip, redact
from scanner.settings import CatalogSettings

log = logging.getLogger(__name__)

SERVICES = "/services/dashboardServices"
RETRY_STATUSES = (429, 502, 503, 504)
MAX_RETRY_AFTER = 60.0
LIST_PAGE = 500
MAX_LIST_PAGES = 10_000  # a listing whose first page gives no total stops here
HOST_HINT = "check OPENMETADATA_HOST"


class DeadlineReached(urllib3.exceptions.MaxRetryError):
    """A retry was due, but the run deadline had passed; `reason` is the last failure."""


class _CappedRetry(Retry):
    """urllib3 Retry whose waits are capped: Retry-After at `MAX_RETRY_AFTER`, and every wait (Retry-After
    or backoff) at what is left before `deadline` (``time.monotonic()``, None: no deadline). Once the
    deadline has passed, a retry that is due is not made: urllib3 hands back the last answer (a retried
    status) or raises `DeadlineReached` (a failed connection). A retry budget that runs out sets
    ``retried`` on urllib3's `MaxRetryError`, for the message."""

    def __init__(self, *args: Any, deadline: float | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def new(self, **kw: Any) -> _CappedRetry:  # urllib3 makes a new Retry at every attempt
        kw.setdefault("deadline", self.deadline)
        return super().new(**kw)

    def left(self) -> float | None:
        """Seconds before the deadline (0 once passed), or None without one."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def _within(self, wait: float) -> float:
        left = self.left()
        return wait if left is None else min(wait, left)

    def get_retry_after(self, response):  # type: ignore[override]
        value = super().get_retry_after(response)
        return None if value is None else self._within(min(value, MAX_RETRY_AFTER))

    def get_backoff_time(self) -> float:
        return self._within(super().get_backoff_time())

    def increment(self, method=None, url=None, response=None, error=None, _pool=None,  # type: ignore[override]
                  _stacktrace=None):
        try:  # raises when no retry is due (retries spent, or a failure not worth retrying)
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except urllib3.exceptions.MaxRetryError as exc:
            exc.retried = len(self.history)  # type: ignore[attr-defined]
            raise
        if self.left() == 0:
            reason = error or urllib3.exceptions.ResponseError(
                urllib3.exceptions.ResponseError.SPECIFIC_ERROR.format(status_code=response.status) if response
                else urllib3.exceptions.ResponseError.GENERIC_ERROR)
            cut = DeadlineReached(_pool, url, reason)  # type: ignore[arg-type]
            cut.retried = len(self.history)  # type: ignore[attr-defined]
            raise cut
        return retry

    def stopped_by_deadline(self, method: str, raw: urllib3.BaseHTTPResponse) -> bool:
        """Whether urllib3 handed back `raw`, an answer it retries, only because the deadline had passed
        (rather than because the retries were spent)."""
        retried = len(getattr(raw.retries, "history", ()) or ())
        return (self.left() == 0 and isinstance(self.total, int) and retried < self.total
                and self.is_retry(method, raw.status, bool(raw.headers.get("Retry-After"))))


def _retries(count: int, *, deadline: bool = False) -> str:
    """`` (after 2 retries)``, ``(not retried: run deadline reached)``... for a message; "" when nothing to say."""
    done = f"after {count} retr{'y' if count == 1 else 'ies'}"
    if deadline:
        return f" ({done}; run deadline reached)" if count else " (not retried: run deadline reached)"
    return f" ({done})" if count else ""


def quote_name(name: str) -> str:
    """OpenMetadata's quoteName for a service FQN: wrap in quotes when it holds a dot."""
    if len(name) > 1 and name.startswith('"') and name.endswith('"'):
        inner = name[1:-1]
        return name if "." in inner else inner
    return f'"{name}"' if "." in name else name


@dataclass
class PutResult:
    status: int        # 201 created, 200 updated or unchanged
    change: str        # X-OpenMetadata-Change: entityCreated | entityUpdated | entityNoChange
    entity: dict[str, Any]


class Response:
    """What the catalog answered: status, headers, body (read whole), and the request it answers."""

    __slots__ = ("status_code", "headers", "content", "reason", "method", "url", "retried", "deadline_cut")

    def __init__(self, raw: urllib3.BaseHTTPResponse, method: str, url: str, retry: _CappedRetry | None = None):
        self.status_code = raw.status
        self.headers = raw.headers  # case-insensitive
        self.content = raw.data or b""
        self.reason = raw.reason or ""
        self.method, self.url = method, url
        self.retried = len(getattr(raw.retries, "history", ()) or ())
        self.deadline_cut = retry is not None and retry.stopped_by_deadline(method, raw)

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return jsonlib.loads(self.content)


class CatalogClient:
    """The catalog over urllib3: one pool (or one proxy's), JSON in and out, the token on every request.

    urllib3 rather than requests: a catalog call costs about half the CPU (0.25 ms against 0.55 ms for a
    PUT), and at catalog concurrency 32 a registration run is CPU-bound (issue 17)."""

    def __init__(self, settings: CatalogSettings, *, deadline: float | None = None):
        """`deadline`: the run's end (``time.monotonic()``); no retry waits past it, none is made after it."""
        if not settings.host or not settings.jwt_token:
            raise ValueError("CatalogClient needs a host and a token")
        self.host = api_base(settings.host)
        self.api = self.host + "/api/v1"
        self.timeout = (min(10.0, settings.timeout), settings.timeout)
        self.verify = settings.verify
        self.proxy = network.proxy_for(self.api)
        self.via = network.via(self.proxy)  # " via proxy http://proxy:3128" in connection messages, or ""
        # the token is in every request: never through a proxy in clear text
        self._refusal = network.cleartext_refusal(self.api, self.proxy)
        self.headers = {
            "Authorization": f"Bearer {settings.jwt_token.get_secret_value()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self.retry = _CappedRetry(
            total=settings.retries, connect=settings.retries, read=settings.retries,
            status=settings.retries, other=0, status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "PUT", "DELETE"}), backoff_factor=0.5,
            backoff_max=10.0, respect_retry_after_header=True, raise_on_status=False,
            raise_on_redirect=False, redirect=0, deadline=deadline,
        )
        self._pool_size = max(4, settings.concurrency)
        self._pool: urllib3.PoolManager | None = None
        self._pool_lock = threading.Lock()
        self._refs: dict[str, dict[str, str]] = {}
        self._refs_lock = threading.Lock()
        self.bulk_supported: bool | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()

    def _manager(self) -> urllib3.PoolManager:
        """The connection pool, built on first use (a TLS trust store is loaded only for an https catalog)."""
        with self._pool_lock:
            if self._pool is None:
                tls = _tls(self.verify) if self.api.startswith("https:") else {}
                options = {"num_pools": 2, "maxsize": self._pool_size, "retries": self.retry, **tls}
                if self.proxy:
                    self._pool = urllib3.ProxyManager(self.proxy, proxy_headers=network.proxy_headers(self.proxy),
                                                      **options)
                else:
                    self._pool = urllib3.PoolManager(**options)
            return self._pool

    # -- plumbing -------------------------------------------------------------------------------
    def call(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), json: Any = None) -> Response:
        """One request to the API (`path` below ``/api/v1``); any answer outside `ok` is a `CatalogError` line."""
        url = self.api + path
        shown = urlsplit(url).path  # the path really requested, whatever OPENMETADATA_HOST holds
        if self._refusal:
            raise CatalogError(f"catalog {method} {shown}: {self._refusal.replace('credentials', 'the token', 1)}")
        body = None if json is None else _dumps(json)
        try:
            raw = self._manager().request(method, url, body=body, headers=self.headers, redirect=False,
                                          timeout=urllib3.Timeout(connect=self.timeout[0], read=self.timeout[1]))
        except network.TrustError as exc:
            raise CatalogError(f"catalog {self.host}: {exc}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise CatalogError(self._transport_line(method, shown, exc)) from None
        resp = Response(raw, method, url, self.retry)
        if resp.status_code in ok:
            return resp
        if 300 <= resp.status_code < 400:
            raise CatalogError(_redirect_line(method, url, shown, resp, self.host), status=resp.status_code)
        message = _server_message(resp)
        line = f"catalog {method} {shown} -> {resp.status_code}: {message}" + _retries(resp.retried,
                                                                                    deadline=resp.deadline_cut)
        if resp.status_code in (401, 403):
            raise CatalogAuthError(line + " (check OPENMETADATA_JWT_TOKEN and its roles)", status=resp.status_code)
        if resp.status_code == 404 and path == "/system/version":
            line += (f" (no OpenMetadata API at {self.api}: OPENMETADATA_HOST should be the catalog's base URL, "
                     "e.g. http://host:8585, with or without /api)")
        raise CatalogError(line, status=resp.status_code)

    def _transport_line(self, method: str, shown: str, exc: BaseException) -> str:
        """One line for a request that got no HTTP answer (after urllib3's retries): what broke, from the
        exceptions' chain (not from their text, which urllib3 nests in reprs)."""
        chain = _chain(exc)
        u3 = urllib3.exceptions
        cut = isinstance(exc, DeadlineReached)
        note = _retries(getattr(exc, "retried", 0), deadline=cut)
        unreachable = f"catalog {self.host} unreachable{self.via}: "
        where = f"catalog {self.host}{self.via}: "
        request = f"{method} {shown}"
        proxy = _first(chain, u3.ProxyError)
        if proxy is not None:
            inner = _chain(proxy.original_error) if isinstance(proxy.original_error, BaseException) else []
            return unreachable + f"the proxy failed ({_connect_failure(inner) or _plain(inner or chain)})" + note
        if _first(chain, ssl.SSLEOFError) or any("EOF occurred" in str(e) or "UNEXPECTED_EOF" in str(e)
                                                 for e in chain if isinstance(e, ssl.SSLError | u3.SSLError)):
            return where + f"the server closed the connection during the TLS handshake for {request}" + note
        tls = _first(chain, u3.SSLError, ssl.SSLError, ssl.CertificateError)
        if tls is not None:
            return _tls_line(self.host, tls).replace(f"catalog {self.host}", f"catalog {self.host}{self.via}", 1)
        if isinstance(chain[-1], u3.ResponseError):  # too many error responses
            return f"catalog {request}: gave up after retries ({_short(chain[-1])})"
        # before a connection was made: the catalog is unreachable (the line a closed port has always given)
        failure = _connect_failure(chain)
        if failure:
            return unreachable + failure + (note if cut else "")
        if _first(chain, u3.ConnectTimeoutError):  # NewConnectionError is one too: _connect_failure came first
            return unreachable + f"no connection within {self.timeout[0]:g}s" + (note if cut else "")
        # after it: what broke, during which request
        if _first(chain, u3.ReadTimeoutError, TimeoutError):
            return f"catalog {request}: no answer within {self.timeout[1]:g}s" + note
        if _first(chain, http.client.RemoteDisconnected):  # a ConnectionResetError too: ask for it first
            hint = " (if that port speaks TLS, use https://)" if self.api.startswith("http:") else ""
            return where + f"the server closed the connection without answering {request}{hint}" + note
        if _first(chain, ConnectionResetError):
            return where + f"the connection was reset during {request}" + note
        if _first(chain, ConnectionAbortedError):
            return where + f"the connection was aborted during {request}" + note
        if _first(chain, BrokenPipeError):
            return where + f"the server closed the connection while {request} was being sent" + note
        if _first(chain, http.client.IncompleteRead, u3.IncompleteRead):
            return where + f"the connection closed before the whole answer to {request} arrived" + note
        if _first(chain, http.client.HTTPException):  # BadStatusLine, LineTooLong...
            return where + f"the answer to {request} is not HTTP; {HOST_HINT}" + note
        broken = _first(chain, OSError)
        if isinstance(broken, OSError) and broken.strerror:
            return where + f"{_lower(broken.strerror)} during {request}" + note
        return f"catalog {request}: {_short(chain[-1])}" + note

    @staticmethod
    def json_body(resp: Response) -> Any:
        """The body as JSON, or a CatalogError line saying what came instead (HTML, empty, text)."""
        try:
            return resp.json()
        except ValueError:
            raise CatalogError(f"{_where(resp)}: {_not_json(resp)}", status=resp.status_code) from None

    @staticmethod
    def shape_error(resp: Response, what: str) -> CatalogError:
        return CatalogError(f"{_where(resp)}: answered JSON of the wrong shape ({what}); is OPENMETADATA_HOST "
                            "an OpenMetadata server?", status=resp.status_code)

    # -- API ------------------------------------------------------------------------------------
    def server_version(self) -> str:
        resp = self.call("GET", "/system/version")
        body = self.json_body(resp)
        if not isinstance(body, dict):
            raise self.shape_error(resp, f"expected an object with a 'version', got {kind_of(body)}")
        version = body.get("version")
        if not isinstance(version, str) or not version.strip():
            raise self.shape_error(resp, f"'version' is {kind_of(version)}, not a version string")
        return version.strip()[:64]

    def get_service(self, name: str) -> dict[str, Any] | None:
        """The service named `name` (soft-deleted included), or None."""
        path = f"{SERVICES}/name/{quote(quote_name(name), safe='')}?fields=owners,tags,domains&include=all"
        resp = self.call("GET", path, ok=(200, 404))
        if resp.status_code == 404:
            return None
        entity = self.json_body(resp)
        problem = entity_problem(entity)
        if problem:
            raise self.shape_error(resp, f"the service {problem}")
        return entity

    def count_services(self) -> int:
        """How many dashboard services the catalog holds (soft-deleted included)."""
        resp = self.call("GET", f"{SERVICES}?limit=1&include=all")
        body = self.json_body(resp)
        paging = body.get("paging") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(paging, dict | None):
            raise self.shape_error(resp, f"expected a list page with 'paging', got {kind_of(body)}")
        total = (paging or {}).get("total") or 0
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise self.shape_error(resp, f"'paging.total' is {kind_of(total)}, not a count")
        return total

    def list_services(self, page_size: int = LIST_PAGE, *, deadline: float | None = None,
                      ) -> dict[str, dict[str, Any]]:
        """Every dashboard service (soft-deleted included) by name, with the fields a plan needs.

        Paging always ends: a cursor seen before, a page that adds no service but names a next one,
        more pages than the first page's ``total`` allows, or `deadline` (``time.monotonic()``) passed
        each end the listing with a CatalogError."""
        services: dict[str, dict[str, Any]] = {}
        after: str | None = None
        seen: set[str] = set()
        pages, max_pages = 0, MAX_LIST_PAGES
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise CatalogError(f"catalog GET {urlsplit(self.api + SERVICES).path}: listing the services ran "
                                   f"past the run deadline after {pages} page(s) ({len(services)} services)")
            query = f"?fields=owners,tags,domains&include=all&limit={page_size}"
            if after:
                query += f"&after={quote(after, safe='')}"
            resp = self.call("GET", SERVICES + query)
            data, after, total = self._page(resp)
            pages += 1
            if pages == 1 and total is not None:
                max_pages = min(MAX_LIST_PAGES, -(-total // page_size) + 1)
            added = 0
            for entity in data:
                added += entity["name"] not in services
                services[entity["name"]] = entity
            if not after:
                return services
            never_ends = f"{_where(resp)}: paging never ends: "
            if after in seen:
                raise CatalogError(never_ends + f"page {pages} names a next page it named before "
                                   f"({_cut(after)}); stopped with {len(services)} services")
            if not added:
                raise CatalogError(never_ends + f"page {pages} adds no service but names a next page "
                                   f"({_cut(after)}); stopped with {len(services)} services")
            if pages >= max_pages:
                raise CatalogError(never_ends + f"{pages} pages of {page_size} and still a next page, for a "
                                   f"catalog that counts {total if total is not None else 'no total'} services")
            seen.add(after)

    def _page(self, resp: Response) -> tuple[list[dict[str, Any]], str | None, int | None]:
        """A list page's ``data``, ``paging.after`` and ``paging.total``, each checked."""
        body = self.json_body(resp)
        if not isinstance(body, dict):
            raise self.shape_error(resp, f"expected a list page {{data, paging}}, got {kind_of(body)}")
        data = body.get("data")
        if not isinstance(data, list):
            raise self.shape_error(resp, f"'data' is {kind_of(data)}, not a list")
        for n, entity in enumerate(data):
            problem = entity_problem(entity)
            if problem:
                raise self.shape_error(resp, f"data[{n}] {problem}")
        paging = body.get("paging")
        if not isinstance(paging, dict | None):
            raise self.shape_error(resp, f"'paging' is {kind_of(paging)}, not an object")
        after = (paging or {}).get("after")
        if not isinstance(after, str | None):
            raise self.shape_error(resp, f"'paging.after' is {kind_of(after)}, not a cursor")
        total = (paging or {}).get("total")
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            total = None
        return data, after, total

    def put_service(self, payload: dict[str, Any]) -> PutResult:
        return self.put_entity(SERVICES, payload, "the service")

    def put_entity(self, path: str, payload: dict[str, Any], what: str) -> PutResult:
        """An upsert (``PUT``: 201 created, 200 updated or unchanged, ``X-OpenMetadata-Change`` says which) of
        an entity that answers with an ``id``."""
        resp = self.call("PUT", path, ok=(200, 201), json=payload)
        try:
            entity = self.json_body(resp)
        except CatalogError as exc:
            raise CatalogError(f"{exc} (whether it was written is unknown: a re-run will tell)",
                               status=resp.status_code) from None
        if not isinstance(entity, dict) or not isinstance(entity.get("id"), str):
            raise self.shape_error(resp, f"expected {what} with an 'id', got {kind_of(entity)}")
        change = resp.headers.get("X-OpenMetadata-Change", "entityCreated" if resp.status_code == 201 else "")
        return PutResult(resp.status_code, change, entity)

    def put_bulk(self, payloads: list[dict[str, Any]]) -> dict[str, Any] | None:
        """PUT ``/bulk``; None when the server has no such route (404/405): then use per-item PUT."""
        if self.bulk_supported is False:
            return None
        resp = self.call("PUT", f"{SERVICES}/bulk?async=false", ok=(200, 404, 405), json=payloads)
        if resp.status_code in (404, 405):
            self.bulk_supported = False
            return None
        body = self.json_body(resp)
        if not isinstance(body, dict):
            raise self.shape_error(resp, f"expected a bulk result, got {kind_of(body)}")
        for key in ("successRequest", "failedRequest"):
            entries = body.get(key)
            if not isinstance(entries, list | None) or any(not isinstance(e, dict) for e in entries or []):
                raise self.shape_error(resp, f"'{key}' is not a list of results")
        self.bulk_supported = True
        return body

    def soft_delete_service(self, name: str) -> bool:
        """Soft-delete (restorable: ``PUT .../restore`` or a new PUT) the service and its children.
        False when there is nothing to delete (unknown, or already deleted)."""
        path = f"{SERVICES}/name/{quote(quote_name(name), safe='')}?hardDelete=false&recursive=true"
        resp = self.call("DELETE", path, ok=(200, 404))
        return resp.status_code == 200

    def resolve_owner(self, owner: str) -> dict[str, str]:
        """``user:alice`` / ``team:data`` -> an EntityReference ``{"id", "type"}``."""
        with self._refs_lock:
            if owner in self._refs:
                return self._refs[owner]
        kind, _, name = owner.partition(":")
        resp = self.call("GET", f"/{kind}s/name/{quote(name, safe='')}", ok=(200, 404))
        if resp.status_code == 404:
            raise CatalogError(f"owner {owner!r} does not exist in the catalog")
        body = self.json_body(resp)
        if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
            raise self.shape_error(resp, f"expected the {kind} with an 'id', got {kind_of(body)}")
        ref = {"id": body["id"], "type": kind}
        with self._refs_lock:
            self._refs[owner] = ref
        return ref


def api_base(host: str) -> str:
    """The catalog's base URL: ``OPENMETADATA_HOST`` without a trailing ``/``, ``/api`` or ``/api/v1``."""
    return re.sub(r"(/api(/v1)?)?/*$", "", host.strip(), flags=re.IGNORECASE)


_OPTIONAL = {"connection": dict, "owners": list, "tags": list, "domains": list, "description": str,
             "displayName": str, "serviceType": str, "deleted": bool}


def entity_problem(entity: Any) -> str | None:
    """What is wrong with a service entity as the plan reads it, or None."""
    if not isinstance(entity, dict):
        return f"is {kind_of(entity)}, not an object"
    if not isinstance(entity.get("name"), str) or not entity["name"]:
        return f"has no 'name' (got {kind_of(entity.get('name'))})"
    for key, kind in _OPTIONAL.items():
        if entity.get(key) is not None and not isinstance(entity[key], kind):
            return f"{entity['name']!r} has '{key}' as {kind_of(entity[key])}"
    config = (entity.get("connection") or {}).get("config")
    if config is not None and not isinstance(config, dict):
        return f"{entity['name']!r} has 'connection.config' as {kind_of(config)}"
    for key in ("owners", "tags"):
        if any(not isinstance(x, dict) for x in entity.get(key) or []):
            return f"{entity['name']!r} has '{key}' entries that are not objects"
    if any(not isinstance(o.get("id"), str) or not isinstance(o.get("type"), str) for o in entity.get("owners") or []):
        return f"{entity['name']!r} has an owner without 'id' and 'type'"
    return None


def kind_of(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _cut(text: str, size: int = 40) -> str:
    text = redact(str(text))
    return repr(text if len(text) <= size else text[:size] + "...")


def _where(resp: Response) -> str:
    return f"catalog {resp.method} {urlsplit(resp.url).path} -> {resp.status_code}"


def _dumps(value: Any) -> bytes:
    return jsonlib.dumps(value, separators=(",", ":")).encode("utf-8")


def _tls(verify: bool | str) -> dict[str, Any]:
    """urllib3 pool options for `verify` (`TlsSettings.verify`): a CA bundle path, no verification, or the
    trust store every https client here uses (the system's and certifi's)."""
    if verify is False:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # OPENMETADATA_VERIFY_SSL=false
        return {"cert_reqs": "CERT_NONE"}
    if isinstance(verify, str):
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": verify}
    return {"cert_reqs": "CERT_REQUIRED", "ssl_context": network.trust_context()}


def _not_json(resp: Response, *, error: bool = False) -> str:
    """What a body that should have been JSON was instead, with the likely cause (`error`: the status
    already says it failed, so only name the page)."""
    ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    head = resp.content[:2048].lstrip().lower()
    if not resp.content:
        return "answered an empty body, not JSON (a proxy in the way? " + HOST_HINT + ")"
    if "html" in ctype or head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<?xml")):
        title = re.search(rb"<title[^>]*>(.*?)</title", resp.content[:65536], re.IGNORECASE | re.DOTALL)
        named = ""
        if title:
            text = clip(" ".join(title.group(1).decode("utf-8", "replace").split()), 80)
            named = f" ({text!r})" if text else ""
        if error:
            return f"answered HTML{named}, not OpenMetadata's JSON: a proxy in the way? {HOST_HINT}"
        return (f"answered HTML{named}, not JSON: an SSO login page or a proxy's page? {HOST_HINT}, and that the "
                "API answers the token alone")
    shown = ctype or "no Content-Type"
    return f"answered a body that is not JSON ({shown}); {HOST_HINT}"


def _redirect_line(method: str, url: str, shown: str, resp: Response, host: str) -> str:
    """A 3xx named with its target, and the OPENMETADATA_HOST that avoids it when the target is the same API."""
    location = resp.headers.get("Location")
    line = f"catalog {method} {shown} -> {resp.status_code} redirect"
    if not location:
        return line + f" without a Location; {HOST_HINT}"
    target = urlsplit(urljoin(url, location))
    line += f" to {_display_url(target.geturl())}, not followed (the token goes only to OPENMETADATA_HOST)"
    suffix = shown[len(urlsplit(host).path):]  # /api/v1/...
    if target.path.endswith(suffix):
        base = urlunsplit((target.scheme, target.netloc, target.path[: len(target.path) - len(suffix)], "", ""))
        if base != host:
            return line + f": set OPENMETADATA_HOST={_display_url(base)}"
    if re.search(r"login|signin|sign-in|sso|saml|oauth|auth", target.path + "?" + target.query, re.IGNORECASE):
        return line + f": an SSO login? the API must answer the token alone; {HOST_HINT}"
    return line + f"; {HOST_HINT}"


def _display_url(url: str) -> str:
    """A URL fit for a message: no userinfo, query values hidden."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    shown = redact(urlunsplit((parts.scheme, netloc, parts.path, "", "")))
    return shown + "?..." if parts.query else shown


_PLAIN_HTTP = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure", "http request",
               "packet length too long", "unknown protocol")


def _tls_line(host: str, exc: BaseException) -> str:
    text = str(exc)
    if any(marker in text for marker in _PLAIN_HTTP):
        parts = urlsplit(host)
        netloc = parts.hostname or ""
        netloc = f"[{netloc}]" if ":" in netloc else netloc
        plain = urlunsplit(("http", f"{netloc}:{parts.port or 443}", parts.path, "", ""))
        return (f"catalog {host}: that port speaks plain HTTP, not TLS: set OPENMETADATA_HOST={plain}, or the "
                "catalog's TLS port (turning verification off would not help)")
    detail = _short(exc)
    return (f"catalog {host}: TLS verification failed ({detail}): set OPENMETADATA_CA_BUNDLE to the CA that "
            "signed its certificate (OPENMETADATA_VERIFY_SSL=false only for a test catalog)")


def _server_message(resp: Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return clip(str(body["message"]).replace("\n", " "), 300)
    reason = resp.reason or "error"
    if not resp.content:
        return reason
    if isinstance(body, dict | list):
        return f"{reason} (no 'message' in the body)"
    return f"{reason}, {_not_json(resp, error=True)}"


def _chain(exc: BaseException | None) -> list[BaseException]:
    """`exc` then what caused it, outermost first: urllib3's wrappers (`MaxRetryError.reason`,
    ``ProtocolError("Connection aborted.", cause)``) and Python's ``__cause__``/``__context__``."""
    chain: list[BaseException] = []
    while exc is not None and len(chain) < 12 and all(exc is not seen for seen in chain):
        chain.append(exc)
        if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
            exc = exc.reason
        elif (isinstance(exc, urllib3.exceptions.ProtocolError) and len(exc.args) > 1
              and isinstance(exc.args[1], BaseException)):
            exc = exc.args[1]
        else:
            exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return chain


def _first(chain: list[BaseException], *kinds: type[BaseException]) -> BaseException | None:
    return next((e for e in chain if isinstance(e, kinds)), None)


def _connect_failure(chain: list[BaseException]) -> str | None:
    """Why no connection was made (the name not found, refused, no route...), or None when one was."""
    u3 = urllib3.exceptions
    if _first(chain, socket.gaierror, u3.NameResolutionError):
        named = _first(chain, u3.NameResolutionError)
        host = getattr(getattr(named, "conn", None), "host", None)
        return f"the host name {host + ' ' if host else ''}was not found (DNS); check OPENMETADATA_HOST"
    if _first(chain, ConnectionRefusedError):
        return "connection refused"
    if not _first(chain, u3.NewConnectionError):
        return None
    if _first(chain, TimeoutError):
        return None  # the caller names the connect timeout
    cause = _first(chain, OSError)
    if isinstance(cause, OSError) and cause.strerror:
        return _lower(cause.strerror)  # network is unreachable, no route to host...
    return _short(chain[-1])


def _plain(chain: list[BaseException]) -> str:
    """The innermost failure in its own words (an OS error's text), not a wrapper's repr."""
    last = chain[-1]
    text = last.strerror if isinstance(last, OSError) and last.strerror else str(last)
    return _lower(clip(" ".join(text.split()), 200)) or type(last).__name__


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _short(exc: BaseException) -> str:
    text = str(exc)
    if "Caused by" in text:
        text = text.split("Caused by", 1)[1]
    if "Connection refused" in text:
        return "connection refused"
    if "RemoteDisconnected" in text or "without response" in text:
        return "the server closed the connection without answering (if that port speaks TLS, use https://)"
    if "too many" in text.lower() and "error responses" in text.lower():
        return "too many error responses"
    return clip(text.strip(" ()'\"").replace("\n", " "), 200)
