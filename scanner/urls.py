"""Base-URL normalisation: one canonical spelling for every instance URL.

``HTTPS://Superset.Example.com:443//`` and ``https://superset.example.com`` are the same instance;
the catalog should only ever see the second form. Credentials in the URL are refused (they would
end up in logs and in the catalog).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_MASK = "*********"  # = scanner.secrets.MASK (not imported: scanner.secrets imports this module)
_URL_PARTS = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://|//)?(?P<authority>[^/?#]*)(?P<rest>.*)$", re.DOTALL)
_URL_IN_TEXT = re.compile(r"(?:\b[A-Za-z][A-Za-z0-9+.-]*://|(?<=with url: )/)[^\s'\"<>`]*")
_HOST_RE = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$")


def display_url(raw: str) -> str:
    """`raw` fit for a message, a report, a log or the inventory: userinfo, query values and fragment hidden.

    Works on a URL as typed, also without a scheme (`user:password@host`) and when it does not parse.
    """
    text = str(raw or "")
    match = _URL_PARTS.match(text)
    if match is None:  # pragma: no cover - the pattern matches any string
        return _MASK
    scheme, authority, rest = match.group("scheme") or "", match.group("authority"), match.group("rest")
    if "@" in authority:
        authority = _MASK + "@" + authority.rpartition("@")[2]
    rest, hash_, fragment = rest.partition("#")
    path, question, query = rest.partition("?")
    return scheme + authority + path + question + _mask_values(query) + hash_ + _mask_values(fragment)


def _mask_values(query: str) -> str:
    if not query:
        return query
    return "&".join(f"{p.split('=', 1)[0]}={_MASK}" if "=" in p else (_MASK if p else p) for p in query.split("&"))


def scrub_urls(text: str) -> str:
    """`text` with every URL in it passed through `display_url` (what `scanner.secrets.redact` applies)."""
    if "/" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        url = match.group(0)
        core = url.rstrip(".,;:)]}!")
        return display_url(core) + url[len(core):]

    return _URL_IN_TEXT.sub(one, text)


def normalize_base_url(raw: str) -> str:
    """Return the canonical base URL, or raise ValueError saying what is wrong with it."""
    text = (raw or "").strip()
    if not text:
        raise ValueError("URL is empty")
    shown = display_url(text)  # every message names the URL as typed, minus userinfo and query values
    if "://" not in text:
        raise ValueError(f"URL {shown!r} has no scheme (did you mean {'https://' + shown!r}?)")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"URL {shown!r} must start with http:// or https://")
    if parts.username or parts.password:
        raise ValueError("URL must not contain credentials; set them in their own variables")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"URL {shown!r} has no host")
    if not _is_valid_host(host):
        raise ValueError(f"URL {shown!r} has an invalid host {host!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"URL {shown!r} has an invalid port") from None
    if port == 0:
        raise ValueError(f"URL {shown!r} has an invalid port")
    if parts.query or parts.fragment:
        raise ValueError(f"URL {shown!r} must not have a query or fragment")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    return urlunsplit((scheme, netloc, path, "", ""))


def _is_valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOST_RE.match(host)) and len(host) <= 253


def host_port(url: str) -> tuple[str, int]:
    """Host and effective port of a normalised URL."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)


PagePaths = Mapping[str, int] | Callable[[list[str]], bool]
"""Which paths are a platform's own pages: the first segment of a page and how many segments must follow it
(``{"dashboard": 1, "login": 0}``), or a predicate over the path segments after a candidate base."""


def page_base(url: str, pages: PagePaths) -> str:
    """The instance's base from a URL copied from the browser (a plugin's ``base_url``): query and fragment
    dropped, the path cut where the platform's own page starts (the first place `pages` matches), any path
    before it kept as the prefix the instance is served under (``https://h/bi/metabase/dashboard/5?tab=1`` ->
    ``https://h/bi/metabase``). Text that is not an http(s) URL, or that has userinfo, is returned as typed,
    for validation to report."""
    text = url.strip()
    if not re.match(r"^https?://", text, re.IGNORECASE) or "@" in text:
        return url
    is_page = pages if callable(pages) else _page_rule(pages)
    text = text.split("#", 1)[0].split("?", 1)[0]
    scheme, _, rest = text.partition("://")
    authority, _, path = rest.partition("/")
    segments = [s for s in path.split("/") if s]
    for n in range(len(segments)):
        if is_page(segments[n:]):
            segments = segments[:n]
            break
    return f"{scheme}://{authority}" + "".join("/" + s for s in segments)


def _page_rule(pages: Mapping[str, int]) -> Callable[[list[str]], bool]:
    return lambda segments: bool(segments) and segments[0] in pages and len(segments) - 1 >= pages[segments[0]]


def connector_host_port(url: str) -> str:
    """``hostPort`` as OpenMetadata's REST connectors take it (bi-platforms-more.md 1.4): ``scheme://host[:port]``
    without a trailing slash, or, for an instance under a path, that path with a trailing ``/`` (their clients
    strip one ``/`` and append ``/api/...``; Metabase's login appends ``api/session/`` to the text as is)."""
    return url.rstrip("/") + "/" if urlsplit(url).path.strip("/") else url.rstrip("/")
