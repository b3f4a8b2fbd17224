"""Base-URL normalisation: one canonical spelling for every instance URL.

``HTTPS://Superset.Example.com:443//`` and ``https://superset.example.com`` are the same instance;
the catalog should only ever see the second form. Credentials in the URL are refused (they would
end up in logs and in the catalog).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_RE = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$")


def normalize_base_url(raw: str) -> str:
    """Return the canonical base URL, or raise ValueError saying what is wrong with it."""
    text = (raw or "").strip()
    if not text:
        raise ValueError("URL is empty")
    if "://" not in text:
        raise ValueError(f"URL {text!r} has no scheme (did you mean {'https://' + text!r}?)")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"URL {text!r} must start with http:// or https://")
    if parts.username or parts.password:
        raise ValueError("URL must not contain credentials; set them in their own variables")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"URL {text!r} has no host")
    if not _is_valid_host(host):
        raise ValueError(f"URL {text!r} has an invalid host {host!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"URL {text!r} has an invalid port") from None
    if port == 0:
        raise ValueError(f"URL {text!r} has an invalid port")
    if parts.query or parts.fragment:
        raise ValueError(f"URL {text!r} must not have a query or fragment")
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
