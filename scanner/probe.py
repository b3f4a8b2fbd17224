"""The probe runner: runs a plugin's steps for one target and decides its single status.

- Steps run in order. A failed *gate* step skips every later step.
- The first failed *mandatory* step decides the status; a failed optional step is a warning.
- Every step message is scrubbed of registered secrets before it is kept.
- The target's deadline bounds the whole probe: the HTTP client never waits past it, and a step
  that would start after it is failed as ``error`` naming the deadline.
"""

from __future__ import annotations

import logging
import time

from scanner.http import (
    BadResponse,
    BodyTooLarge,
    ConnectFailed,
    HttpClient,
    HttpError,
    RedirectRefused,
    TimedOut,
    TlsFailed,
)
from scanner.plugin import (
    Plugin,
    ProbeContext,
    ProbeResult,
    Status,
    StepFailed,
    StepResult,
    StepStatus,
    Target,
)
from scanner.secrets import redact

MESSAGE_LIMIT = 1000  # characters of a step's message or hint (the URL itself stays whole in the report's url)

log = logging.getLogger(__name__)

_HTTP_STATUS: list[tuple[type[HttpError], Status, str]] = [
    (TlsFailed, Status.TLS_ERROR,
     "give the target a CA bundle (ca_bundle / *_VERIFY_SSL) or fix the server's certificate"),
    (TimedOut, Status.UNREACHABLE, "the host accepted but did not answer in time; check it is healthy"),
    (ConnectFailed, Status.UNREACHABLE, "check the URL, the port, and that this machine can reach the host"),
    (RedirectRefused, Status.ERROR, "point the URL at the final address, so no redirect is needed"),
    (BodyTooLarge, Status.ERROR, "the URL may point at something else than the platform's API"),
    (BadResponse, Status.ERROR, "the URL may point at something else than the platform's API"),
]


def classify(exc: BaseException) -> tuple[Status, str, str]:
    """Status, message and hint for an exception raised inside a step."""
    if isinstance(exc, StepFailed):
        return exc.status, exc.message, exc.hint
    for kind, status, hint in _HTTP_STATUS:
        if isinstance(exc, kind):
            return status, str(exc), hint
    if isinstance(exc, HttpError):
        return Status.ERROR, str(exc), ""
    return Status.ERROR, f"{type(exc).__name__}: {exc}", "this looks like a bug in the plugin"


def tls_hint(plugin: Plugin, message: str) -> str:
    """A TLS fix hint naming this platform's own variables."""
    if "does not speak TLS" in message:
        return "this port serves plain HTTP: use an http:// URL"
    names = {v.field: v.name for v in plugin.env_vars}
    bundle = names.get("ca_bundle", "the target's ca_bundle")
    verify = names.get("verify_ssl", "the target's verify_ssl")
    return (f"give the CA that signed the server's certificate ({bundle}=/path/ca.pem, or ca_bundle in the TOML), "
            f"or fix the certificate; {verify}=false only for a test instance")


def run_probe(
    plugin: Plugin,
    target: Target,
    *,
    connect_timeout: float = 5.0,
    read_timeout: float = 10.0,
    deadline_s: float = 60.0,
    deadline_name: str = "target deadline",
) -> ProbeResult:
    """Probe one target. Never raises: every failure ends in the returned result."""
    started = time.monotonic()
    deadline = started + deadline_s
    http = HttpClient(
        verify=target.settings.verify, connect_timeout=connect_timeout,
        read_timeout=read_timeout, deadline=deadline,
    )
    http.deadline_name = f"the {deadline_name}"
    ctx = ProbeContext(target=target, http=http, deadline=deadline, read_timeout=read_timeout)
    results: list[StepResult] = []
    status, message, hint = Status.OK, "", ""
    try:
        try:
            steps = list(plugin.steps(target))
        except Exception as exc:  # a plugin bug must not crash the run
            status, message, hint = Status.ERROR, f"plugin could not list its steps: {exc}", ""
            steps = []
        blocked_by: str | None = None
        for step in steps:
            if blocked_by is not None:
                results.append(StepResult(step.name, StepStatus.SKIPPED, step.mandatory, 0.0,
                                          f"skipped: {blocked_by} failed"))
                continue
            if ctx.remaining() <= 0:
                failure = (Status.ERROR, f"{deadline_name} of {deadline_s:.3g}s reached before this step",
                           "raise --target-deadline (or --run-deadline), or check why the host is slow")
                results.append(_failed(step, 0.0, *failure[1:]))
                if step.mandatory and status is Status.OK:
                    status, message, hint = failure
                blocked_by = step.name
                continue
            ctx.warnings.clear()
            t0 = time.monotonic()
            try:
                text = step.run(ctx) or "passed"
            except Exception as exc:
                step_status, text, step_hint = classify(exc)
                if step_status is Status.TLS_ERROR and not isinstance(exc, StepFailed):
                    step_hint = tls_hint(plugin, text)
                text, step_hint = _outside(text), _outside(step_hint or step.hint)
                results.append(_failed(step, time.monotonic() - t0, text, step_hint))
                if step.mandatory and status is Status.OK:
                    status, message, hint = step_status, f"{step.name}: {text}", step_hint
                if step.gate:
                    blocked_by = step.name
                continue
            warning = bool(ctx.warnings)
            if warning:
                text = "; ".join(ctx.warnings)
            results.append(StepResult(step.name, StepStatus.PASSED, step.mandatory,
                                      (time.monotonic() - t0) * 1000, _outside(text), "", warning))
    finally:
        try:
            plugin.finish(ctx)
        except Exception as exc:
            log.debug("%s: finish() failed: %s", target.service_name, redact(str(exc)))
        http.close()
    return ProbeResult(
        status=status, steps=results, version=ctx.version,
        canonical_url=ctx.canonical_url or target.url, message=message, hint=hint,
        duration_ms=(time.monotonic() - started) * 1000, details=dict(ctx.details),
    )


def _outside(text: str) -> str:
    """A step's text for the report: secrets masked first, then cut, so one huge URL or body stays one line."""
    text = redact(text)
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 1] + "…"


def _failed(step, seconds: float, message: str, hint: str) -> StepResult:
    return StepResult(step.name, StepStatus.FAILED, step.mandatory, seconds * 1000, message, hint)
