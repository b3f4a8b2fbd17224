"""Deterministic service names: ``<platform>_<instance>``, lower-case ``[a-z0-9_]``, at most 256.

No dots (they force FQN quoting, which some OpenMetadata features mishandle) and no ``::``.
"""

from __future__ import annotations

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
    text = parts.hostname or ""
    if parts.port:
        text += f"_{parts.port}"
    text += parts.path
    return slug(text) or "default"


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
