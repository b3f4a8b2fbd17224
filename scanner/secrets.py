"""Secret handling shared by every layer.

Settings hold secrets as pydantic `SecretStr` from the moment they are read. As each one is read it
is also *registered* here, so that any free text that leaves the process (log records, step
messages, error lines) can be scrubbed of it as a last line of defence.
"""

from __future__ import annotations

import logging
import threading

from pydantic import SecretStr

MASK = "*********"
"""OpenMetadata's password mask (nine asterisks); a PUT carrying it keeps the stored secret."""

_MIN_LEN = 4  # shorter values are too likely to appear by chance in ordinary text
_lock = threading.Lock()
_known: set[str] = set()


def register(value: SecretStr | str | None) -> None:
    """Remember a secret value so `redact` can scrub it from free text."""
    if value is None:
        return
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if raw and len(raw) >= _MIN_LEN:
        with _lock:
            _known.add(raw)


def redact(text: str) -> str:
    """Replace every registered secret value in `text` with the mask."""
    if not text:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for raw in known:
        if raw in text:
            text = text.replace(raw, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that scrubs registered secrets from every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
