"""What the REST-API probes share, so each plugin holds only what is particular to its platform.

- `Signal` and `fingerprint`: the unauthenticated ``Fingerprint`` step: N independent signals (a JSON document
  with given keys, an exact text, a page marker, a response header) read without credentials, the version
  from whichever carries it. A signal is judged by content type and content, never by status alone: the
  single-page apps of Metabase, Redash and Lightdash answer 200 with their HTML for any path.
- `api_call`: one API request with credentials; 429 and 503 are retried as ``Retry-After`` asks, within the
  target's deadline.
- `json_body` and `error_message`: a JSON answer or a one-line ``StepFailed``; the platform's own message
  (``message``, ``error.message``, ``errors``...) cut short.
- `refused`: the usual mapping of a failed API answer to a status and a fix hint naming the platform's
  variables (401 auth_failed, 403 forbidden, 429/5xx error), which a plugin overrides for its quirks (Redash's
  404 for a bad key).
- `setting_name`: the variable or TOML key a user set a field with, so a hint names what they typed.
- `count_step`: a ``GetDashboards``-style step from a function returning a count (0 is a warning, the count
  goes to the report's details); `paged_count` for list endpoints without a total,
  `count_distinct` for those without a page size or an end (a page that brings nothing new ends them).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.http import HttpError, Response
from scanner.plugin import ProbeContext, Status, StepFailed, StepFunction, Target
from scanner.secrets import clip

RETRY_STATUSES = (429, 503)
MAX_RETRIES = 2
MAX_RETRY_WAIT = 10.0  # s; never past the target's deadline either

# -- the unauthenticated fingerprint ---------------------------------------------------------------------------

Judge = Callable[[Response], "str | bool | None"]
"""Judges one answer: False/None = not this platform; True = yes; a str = yes, and this is the version."""


@dataclass(frozen=True)
class Signal:
    """One unauthenticated sign of a platform: ``GET <base><path>`` judged by `judge` (see `Judge`)."""

    name: str
    path: str
    judge: Judge


def json_at(*keys: str, equals: Any = None, version: bool = False) -> Judge:
    """A JSON answer (status 200, a JSON content type) holding ``keys`` (a path into nested objects). With
    `equals` the value must be that; with `version` the value (a non-empty string) is the version."""

    def judge(resp: Response) -> str | bool | None:
        value = _json_path(resp, keys)
        if value is _MISSING:
            return None
        if equals is not None:
            return value == equals
        if version:
            return value.strip() if isinstance(value, str) and value.strip() else True
        return True

    return judge


def text_is(text: str) -> Judge:
    """A 200 answer whose whole body is `text` (surrounding whitespace ignored)."""
    return lambda resp: resp.status == 200 and resp.text.strip() == text


def page_has(*markers: str, version_pattern: str | None = None) -> Judge:
    """A 200 HTML page holding every marker; `version_pattern` (one group) reads the version from it."""
    pattern = re.compile(version_pattern) if version_pattern else None

    def judge(resp: Response) -> str | bool | None:
        if resp.status != 200 or not all(m in resp.text for m in markers):
            return None
        match = pattern.search(resp.text) if pattern else None
        return match.group(1) if match else True

    return judge


def header_is_set(name: str) -> Judge:
    """Any answer carrying the header `name`; its value is the version."""
    return lambda resp: resp.headers.get(name.lower(), "").strip() or None


_MISSING = object()


def _json_path(resp: Response, keys: Sequence[str]) -> Any:
    if resp.status != 200 or "json" not in resp.content_type:
        return _MISSING
    try:
        value = resp.json()
    except HttpError:
        return _MISSING
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


@dataclass
class Signs:
    """What `read_signals` saw: the signals that said yes, why the others did not, the version, and the answer that
    gave it (a plugin may read more from it)."""

    seen: list[str]
    missed: list[str]
    version: str | None = None
    version_answer: Response | None = None


def read_signals(ctx: ProbeContext, signals: Sequence[Signal]) -> Signs:
    """Each of `signals` read without credentials at the target's URL (the first version found wins)."""
    base = ctx.target.url.rstrip("/")
    signs = Signs([], [])
    for signal in signals:
        try:
            resp = ctx.http.get(base + signal.path, follow_redirects=False)
        except HttpError as exc:
            signs.missed.append(f"{signal.name}: {exc}")
            continue
        verdict = signal.judge(resp)
        if verdict:
            signs.seen.append(signal.name)
            if isinstance(verdict, str) and signs.version is None:
                signs.version, signs.version_answer = verdict, resp
        else:
            signs.missed.append(f"{signal.name}: HTTP {resp.status} {resp.content_type or 'no content-type'}")
    return signs


def fingerprint(title: str, signals: Sequence[Signal], *, need: int = 2, hint: str = "") -> StepFunction:
    """The ``Fingerprint`` step: at least `need` of `signals` say `title`, read without credentials. Sets
    ``ctx.version`` and ``ctx.canonical_url`` (the target's URL); the failure names each signal's answer."""

    def run(ctx: ProbeContext) -> str:
        signs = read_signals(ctx, signals)
        if len(signs.seen) < need:
            raise StepFailed(
                Status.NOT_DETECTED,
                f"no {title} here: {len(signs.seen)} of {len(signals)} signs ({'; '.join(signs.missed) or 'none'})",
                hint or f"check that the URL is the {title} web address (not a proxy page or another tool)",
            )
        ctx.version = signs.version
        ctx.canonical_url = ctx.target.url.rstrip("/")
        return f"{title} {signs.version or '(version hidden)'} ({', '.join(signs.seen)})"

    return run


# -- authenticated calls -----------------------------------------------------------------------------------------


def api_call(ctx: ProbeContext, method: str, url: str, **kw: Any) -> Response:
    """One request through ``ctx.http``; 429/503 are retried (at most twice) after what ``Retry-After`` asks, as
    long as the target's deadline allows, else the answer is returned as it is."""
    for attempt in range(MAX_RETRIES + 1):
        resp = ctx.http.request(method, url, **kw)
        if resp.status not in RETRY_STATUSES or attempt == MAX_RETRIES:
            return resp
        wait = _retry_after(resp.headers.get("retry-after"), attempt)
        if wait is None or wait > min(MAX_RETRY_WAIT, ctx.remaining() - 1.0):
            return resp
        time.sleep(wait)
    return resp  # pragma: no cover - the loop always returns


def _retry_after(value: str | None, attempt: int) -> float | None:
    if value is None:
        return 0.5 * (attempt + 1)
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None  # an HTTP date: too far to be worth waiting for within a probe


def json_body(resp: Response, what: str) -> Any:
    """The JSON of a successful answer, or ``StepFailed(error)`` saying what came instead."""
    if "json" not in resp.content_type:
        raise StepFailed(Status.ERROR, f"{what} answered {resp.status} with {resp.content_type or 'no content-type'}, "
                         "not JSON", "the URL may point at a proxy or a login page instead of the API")
    try:
        return resp.json()
    except HttpError as exc:
        raise StepFailed(Status.ERROR, f"{what}: {exc}") from None


def error_message(resp: Response, limit: int = 200) -> str:
    """The platform's own error text: JSON ``message``/``error.message``/``errors``/``detail``, else the body."""
    try:
        body = resp.json()
    except HttpError:
        return clip(resp.text.strip(), limit).strip() or "(empty body)"
    return clip(_message_in(body), limit)


def _message_in(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "errors", "detail", "msg"):
            if key in body and body[key]:
                return _message_in(body[key])
        return str(body)
    if isinstance(body, list) and body:
        return "; ".join(_message_in(b) for b in body[:3])
    return str(body)


def refused(resp: Response, what: str, *, credentials: str, rights: str = "") -> StepFailed:
    """The usual failure for an API answer that is not a success: 401 ``auth_failed`` (check `credentials`),
    403 ``forbidden`` (grant `rights`), 429 and anything else ``error``."""
    message = f"{what} answered {resp.status}: {error_message(resp)}"
    if resp.status == 401:
        return StepFailed(Status.AUTH_FAILED, message, f"check {credentials}")
    if resp.status == 403:
        return StepFailed(Status.FORBIDDEN, message, rights or f"give the account behind {credentials} read access")
    if resp.status == 429:
        return StepFailed(Status.ERROR, message, "the server is rate limiting: run again later or lower --concurrency")
    return StepFailed(Status.ERROR, message, "check the server's health and logs")


def setting_name(target: Target, field: str, env_name: str) -> str:
    """How the user gave `field` for this target, for a hint: the variable as set (``METABASE_API_KEY__FINANCE``),
    or the TOML key and where (``apiKey in config.toml:[[targets]]#2``); for a field not given, `env_name` with the
    target's instance suffix."""
    source = target.sources.get(field)
    if source:
        tail = source.rsplit(":", 1)[-1]
        return tail if re.fullmatch(r"[A-Z][A-Z0-9_]*", tail) else f"{field} in {source}"
    # the instance's suffix, from whichever variable declared it (the URL's, or a cloud target's anchor)
    for declared in (target.sources.get("url", ""), *target.sources.values()):
        match = re.search(r":[A-Z][A-Z0-9_]*__([A-Za-z0-9_]+)$", declared)
        if match:
            return f"{env_name}__{match.group(1)}"
    return env_name


# -- counts ------------------------------------------------------------------------------------------------------


def count_step(label: str, counter: Callable[[ProbeContext], int], *, empty: str = "") -> StepFunction:
    """A step reporting ``<count> <label>`` from `counter`; the count goes to ``ctx.details[label]``, and 0 is a
    warning (`empty`, or "OpenMetadata would ingest none")."""

    def run(ctx: ProbeContext) -> str:
        count = counter(ctx)
        ctx.details[label] = count
        if count == 0:
            ctx.warn(empty or f"0 {label} visible to these credentials: OpenMetadata would ingest none")
        return f"{count} {label}"

    return run


def paged_count(fetch: Callable[[int], Sequence[Any]], *, page_size: int, max_pages: int = 1000,
                first_page: int = 1) -> int:
    """Items of a list endpoint without a total: `fetch(page)` returns one page (``first_page`` first) until a
    short page; at most `max_pages` pages (an endless listing is an error, not a hang)."""
    total = 0
    for page in range(first_page, first_page + max_pages):
        items = fetch(page)
        total += len(items)
        if len(items) < page_size:
            return total
    raise StepFailed(Status.ERROR, f"the listing did not end after {max_pages} pages of {page_size}",
                     "the server's paging looks broken")


def count_distinct(fetch: Callable[[int], Sequence[Any]], *, key: Callable[[Any], Any], max_pages: int,
                   first_page: int = 1) -> int:
    """Items of a paged listing with no documented page size or end (Mode's reports): `fetch(page)` until a page
    brings no item not seen before (an empty page, the last page again, or page one again when the server ignores
    the parameter), as OpenMetadata's own clients page such listings. More than `max_pages` pages is an error."""
    seen: set[Any] = set()
    for page in range(first_page, first_page + max_pages):
        fresh = {key(item) for item in fetch(page)} - seen
        if not fresh:
            return len(seen)
        seen |= fresh
    raise StepFailed(Status.ERROR, f"the listing did not end after {max_pages} pages",
                     "the server's paging looks broken")


def items_of(body: Any, what: str, key: str | None = None) -> list[Any]:
    """The list in a JSON answer (``body`` itself, or ``body[key]``), or ``StepFailed(error)``."""
    value = body.get(key) if key is not None and isinstance(body, dict) else body
    if not isinstance(value, list):
        raise StepFailed(Status.ERROR, f"{what} answered JSON without a list" + (f" in {key!r}" if key else ""))
    return value


__all__ = [
    "Judge", "Signal", "Signs", "api_call", "count_distinct", "count_step", "error_message", "fingerprint",
    "header_is_set", "items_of", "json_at", "json_body", "page_has", "paged_count", "read_signals", "refused",
    "setting_name", "text_is",
]
