"""A requests session for platform SDKs that bring their own transport (looker-sdk, tableauserverclient).

An SDK sends our credentials over its own `requests.Session`; handing it a `GuardedSession` puts
those requests under the same rules as `scanner.http.HttpClient`, whatever the SDK asks for:

- timeouts clamped to the target's deadline (TSC sets none by default, looker-sdk waits 120 s);
- TLS verification from the target's settings (the SDK's own verify flag is ignored);
- no redirect is ever followed: SDK requests carry credentials (a login body, a bearer token), so a
  3xx raises `RedirectRefused` instead of re-sending them elsewhere (TSC would re-send its body and
  auth header to any host; requests would re-send a login body on 307/308);
- bodies are read as a capped stream, so a huge answer cannot exhaust memory;
- 429 and 503 are retried twice, honouring ``Retry-After`` only as far as the deadline allows;
- proxies as `scanner.network` reads them (never netrc): an https target through a CONNECT tunnel; a
  plain-http target through a proxy is refused (`ProxyRefused`), since every SDK request carries
  credentials; ``verify=True`` means `scanner.network.trust_context`.

Failures are raised as `scanner.http.HttpError` subclasses. They are not ``IOError``, so they pass
through looker-sdk's transport (which turns ``IOError`` into an opaque string) and through TSC
unchanged, and the probe runner classifies them like any other HTTP failure. ``last_status`` and
``last_path`` describe the latest request: looker-sdk does not expose the status on its errors.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.cookies import extract_cookies_to_jar
from urllib3.util.retry import Retry

from scanner import network
from scanner.http import (
    DEFAULT_MAX_BODY,
    ProxyRefused,
    RedirectRefused,
    TimedOut,
    TlsFailed,
    read_whole,
    translate_error,
)

RETRY_STATUSES = (429, 503)
MAX_RETRY_AFTER = 10.0
_REDIRECTS = {301, 302, 303, 307, 308}


def _deadline_retry(deadline: float, attempts: int) -> Retry:
    class DeadlineRetry(Retry):
        """Waits what ``Retry-After`` asks, but never past the target's deadline."""

        def get_retry_after(self, response):  # type: ignore[override]
            value = super().get_retry_after(response)
            if value is None:
                return None
            return max(0.0, min(value, MAX_RETRY_AFTER, deadline - time.monotonic() - 0.5))

    return DeadlineRetry(
        total=attempts, status=attempts, connect=0, read=0, other=0, redirect=0,
        status_forcelist=RETRY_STATUSES, allowed_methods=None, backoff_factor=0.3, backoff_max=2.0,
        respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False,
    )


class GuardedSession(requests.Session):
    def __init__(
        self,
        *,
        verify: bool | str,
        deadline: float,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        max_body: int = DEFAULT_MAX_BODY,
        retries: int = 2,
        deadline_name: str = "the deadline",
    ):
        super().__init__()
        self.trust_env = False  # no netrc credentials picked up behind our back; proxies come from scanner.network
        self.tls_verify = verify
        self.deadline = deadline
        self.deadline_name = deadline_name
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_body = max_body
        self.max_redirects = 0  # TSC walks redirects itself, up to this many hops
        self.last_status: int | None = None
        self.last_path: str | None = None
        adapter = network.TrustAdapter(max_retries=_deadline_retry(deadline, retries), pool_connections=2,
                                       pool_maxsize=2)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        method, url = request.method or "GET", request.url or ""
        path = urlsplit(url).path or "/"
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimedOut(f"{method} {path}: deadline reached before the request was sent")
        connect, read = min(self.connect_timeout, remaining), min(self.read_timeout, remaining)
        self.last_status, self.last_path = None, path
        proxies = network.requests_proxies(url)
        proxy = next(iter(proxies.values()), None)
        refusal = network.cleartext_refusal(url, proxy)  # every SDK request carries credentials
        if refusal:
            raise ProxyRefused(f"{method} {path}: {refusal}")
        if self.tls_verify is True and url.lower().startswith("https:"):
            try:
                network.trust_context()
            except network.TrustError as exc:
                raise TlsFailed(f"TLS to {urlsplit(url).netloc}{network.via(proxy)} not attempted: {exc}") from None
        try:
            # The adapter, not Session.send: requests' send() looks ahead at redirects (reading the whole 3xx
            # body, unbounded) even with allow_redirects=False. Here a 3xx comes back untouched.
            resp = self.get_adapter(url).send(request, stream=True, timeout=(connect, read), verify=self.tls_verify,
                                              cert=kwargs.get("cert"), proxies=proxies)
            extract_cookies_to_jar(self.cookies, request, resp.raw)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            cut_by = self.deadline_name if remaining < self.read_timeout else None
            raise translate_error(exc, method, url, connect, read, cut_by, proxy=proxy) from None
        self.last_status = resp.status_code
        if resp.status_code in _REDIRECTS:
            resp.close()
            location = resp.headers.get("location", "")
            target = urlsplit(urljoin(url, location))
            raise RedirectRefused(
                f"{method} {path} -> {resp.status_code} redirect to {target.scheme}://{target.netloc}; "
                "not followed because the request carries credentials",
                location,
            )
        read_whole(resp, method, url, self.max_body, self.deadline)
        return resp
