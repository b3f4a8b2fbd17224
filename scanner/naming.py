"""Deterministic service names: ``<platform>_<instance>``, lower-case ``[a-z0-9_]``, at most 256.

No dots (they force FQN quoting, which some OpenMetadata features mishandle) and no ``::``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import urlsplit

MAX_LEN = 256
_VALID = re.compile(r"^[a-z0-9_]+$")


def slug(text: str) -> str:
    """Lower-case, runs of anything outside [a-z0-9] become one underscore, trimmed."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def instance_from_url(url: str) -> str:
    """An instance name from a URL's host, port and path: ``https://bi.corp:8088/x`` -> ``bi_corp_8088_x``."""
    parts = urlsplit(url)
    text = _ip_compressed(parts.hostname or "")  # [0:0:0:0:0:0:0:1] and [::1] name one instance
    if parts.port:
        text += f"_{parts.port}"
    text += parts.path
    return slug(text) or "default"


_LOOPBACK = frozenset({"localhost", "localhost.", "127.0.0.1", "::1", "::ffff:7f00:1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@functools.lru_cache(maxsize=4096)  # hosts repeat across targets; parsing an address is the dear part
def _ip_compressed(host: str) -> str:
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host


def canonical_address(url: str) -> str:
    """One spelling of the address a URL names, to tell whether two URLs reach one instance: scheme and host
    lower-case, IPv6 compressed, every loopback spelling (``localhost``, ``127.0.0.1``, ``::1``) as
    ``127.0.0.1``, the default port dropped, ``//`` and a trailing slash removed, query and fragment ignored."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = _ip_compressed((parts.hostname or "").lower())
    if host in _LOOPBACK:
        host = "127.0.0.1"
    netloc = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    return f"{scheme}://{netloc}" + re.sub(r"/{2,}", "/", parts.path).rstrip("/")


def service_name(platform: str, instance: str) -> str:
    """``<platform>_<instance>`` cut to the length limit."""
    return slug(f"{platform}_{instance}")[:MAX_LEN].rstrip("_")


def check_service_name(name: str) -> str | None:
    """Why `name` is not a valid service name, or None when it is."""
    if not name:
        return "service name is empty"
    if len(name) > MAX_LEN:
        return f"service name is {len(name)} characters long (at most {MAX_LEN})"
    if not _VALID.match(name):
        suggestion = slug(name)[:MAX_LEN] or "a name like superset_finance"
        return f"service name {name!r} may only use a-z, 0-9 and _ (try {suggestion!r})"
    return None
