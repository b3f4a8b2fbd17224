"""A small client for OpenMetadata's dashboard-service API.

- Base URL from ``OPENMETADATA_HOST`` with or without ``/api``; ``Authorization: Bearer <jwt>``.
- Retries with backoff for 429/502/503/504 and connection errors, honouring ``Retry-After``
  (urllib3's `Retry`, capped so a hostile header cannot stall the run). PUT is an upsert, so a
  retried PUT cannot create a duplicate.
- Every error becomes one `CatalogError` line with the method, path, status and the server's
  own ``message``. No token, no body with secrets, ever appears in it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from scanner.errors import CatalogAuthError, CatalogError
from scanner.http import USER_AGENT
from scanner.secrets import redact
from scanner.settings import CatalogSettings

log = logging.getLogger(__name__)

SERVICES = "/services/dashboardServices"
RETRY_STATUSES = (429, 502, 503, 504)
MAX_RETRY_AFTER = 60.0
LIST_PAGE = 500


class _CappedRetry(Retry):
    """urllib3 Retry whose Retry-After wait is capped."""

    def get_retry_after(self, response):  # type: ignore[override]
        value = super().get_retry_after(response)
        return None if value is None else min(value, MAX_RETRY_AFTER)


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


class CatalogClient:
    def __init__(self, settings: CatalogSettings):
        if not settings.host or not settings.jwt_token:
            raise ValueError("CatalogClient needs a host and a token")
        self.host = settings.host
        self.api = settings.host + "/api/v1"
        self.timeout = (min(10.0, settings.timeout), settings.timeout)
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = settings.verify
        self.session.headers.update({
            "Authorization": f"Bearer {settings.jwt_token.get_secret_value()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        })
        retry = _CappedRetry(
            total=settings.retries, connect=settings.retries, read=settings.retries,
            status=settings.retries, other=0, status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "PUT", "DELETE"}), backoff_factor=0.5,
            backoff_max=10.0, respect_retry_after_header=True, raise_on_status=False,
            raise_on_redirect=False, redirect=0,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=max(4, settings.concurrency))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._refs: dict[str, dict[str, str]] = {}
        self._refs_lock = threading.Lock()
        self.bulk_supported: bool | None = None

    def close(self) -> None:
        self.session.close()

    # -- plumbing -------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kw: Any) -> requests.Response:
        url = self.api + path
        shown = "/api/v1" + path.split("?")[0]
        try:
            resp = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kw)
        except requests.exceptions.SSLError:
            raise CatalogError(f"catalog {self.host}: TLS verification failed "
                               "(set OPENMETADATA_CA_BUNDLE, or OPENMETADATA_VERIFY_SSL=false)") from None
        except requests.exceptions.RetryError as exc:
            raise CatalogError(f"catalog {method} {shown}: gave up after retries ({_short(exc)})") from None
        except requests.exceptions.Timeout:
            raise CatalogError(f"catalog {method} {shown}: no answer within {self.timeout[1]:g}s") from None
        except requests.exceptions.ConnectionError as exc:
            raise CatalogError(f"catalog {self.host} unreachable: {_short(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise CatalogError(f"catalog {method} {shown}: {_short(exc)}") from None
        if resp.status_code in ok:
            return resp
        message = _server_message(resp)
        line = f"catalog {method} {shown} -> {resp.status_code}: {message}"
        retried = len(getattr(getattr(resp.raw, "retries", None), "history", ()) or ())
        if retried:
            line += f" (after {retried} retries)"
        if resp.status_code in (401, 403):
            raise CatalogAuthError(line + " (check OPENMETADATA_JWT_TOKEN and its roles)", status=resp.status_code)
        raise CatalogError(line, status=resp.status_code)

    # -- API ------------------------------------------------------------------------------------
    def server_version(self) -> str:
        body = self._call("GET", "/system/version").json()
        return str(body.get("version", "unknown"))

    def get_service(self, name: str) -> dict[str, Any] | None:
        """The service named `name` (soft-deleted included), or None."""
        path = f"{SERVICES}/name/{quote(quote_name(name), safe='')}?fields=owners,tags,domains&include=all"
        resp = self._call("GET", path, ok=(200, 404))
        if resp.status_code == 404:
            return None
        return resp.json()

    def count_services(self) -> int:
        """How many dashboard services the catalog holds (soft-deleted included)."""
        body = self._call("GET", f"{SERVICES}?limit=1&include=all").json()
        return int((body.get("paging") or {}).get("total") or 0)

    def list_services(self, page_size: int = LIST_PAGE) -> dict[str, dict[str, Any]]:
        """Every dashboard service (soft-deleted included) by name, with the fields a plan needs."""
        services: dict[str, dict[str, Any]] = {}
        after: str | None = None
        while True:
            query = f"?fields=owners,tags,domains&include=all&limit={page_size}"
            if after:
                query += f"&after={quote(after, safe='')}"
            body = self._call("GET", SERVICES + query).json()
            for entity in body.get("data") or []:
                services[entity["name"]] = entity
            after = (body.get("paging") or {}).get("after")
            if not after:
                return services

    def put_service(self, payload: dict[str, Any]) -> PutResult:
        resp = self._call("PUT", SERVICES, ok=(200, 201), json=payload)
        change = resp.headers.get("X-OpenMetadata-Change", "entityCreated" if resp.status_code == 201 else "")
        return PutResult(resp.status_code, change, resp.json())

    def put_bulk(self, payloads: list[dict[str, Any]]) -> dict[str, Any] | None:
        """PUT ``/bulk``; None when the server has no such route (404/405): then use per-item PUT."""
        if self.bulk_supported is False:
            return None
        resp = self._call("PUT", f"{SERVICES}/bulk?async=false", ok=(200, 404, 405), json=payloads)
        if resp.status_code in (404, 405):
            self.bulk_supported = False
            return None
        self.bulk_supported = True
        return resp.json()

    def soft_delete_service(self, name: str) -> bool:
        """Soft-delete (restorable: ``PUT .../restore`` or a new PUT) the service and its children.
        False when there is nothing to delete (unknown, or already deleted)."""
        path = f"{SERVICES}/name/{quote(quote_name(name), safe='')}?hardDelete=false&recursive=true"
        resp = self._call("DELETE", path, ok=(200, 404))
        return resp.status_code == 200

    def resolve_owner(self, owner: str) -> dict[str, str]:
        """``user:alice`` / ``team:data`` -> an EntityReference ``{"id", "type"}``."""
        with self._refs_lock:
            if owner in self._refs:
                return self._refs[owner]
        kind, _, name = owner.partition(":")
        resp = self._call("GET", f"/{kind}s/name/{quote(name, safe='')}", ok=(200, 404))
        if resp.status_code == 404:
            raise CatalogError(f"owner {owner!r} does not exist in the catalog")
        ref = {"id": resp.json()["id"], "type": kind}
        with self._refs_lock:
            self._refs[owner] = ref
        return ref


def _server_message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return redact(str(body["message"]).replace("\n", " ")[:300])
    reason = resp.reason or "error"
    return f"{reason} (non-JSON body)" if resp.content else reason


def _short(exc: BaseException) -> str:
    text = str(exc)
    if "Caused by" in text:
        text = text.split("Caused by", 1)[1]
    if "Connection refused" in text:
        return "connection refused"
    if "too many" in text.lower() and "error responses" in text.lower():
        return "too many error responses"
    return redact(text.strip(" ()'\"").replace("\n", " ")[:200])
