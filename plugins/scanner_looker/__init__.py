"""Looker: found from ``LOOKERSDK_*`` (the SDK's own variable names), proven through looker-sdk.

Steps (OpenMetadata's names where they mean the same):

``Reach``            something answers HTTP; with no port in the URL, ``:443`` then ``:19999``
                     (Looker on AWS before 07/2020 serves its API on 19999)
``Fingerprint``      unauthenticated ``GET /versions`` answers Looker's ApiVersion JSON; its
                     ``api_server_url`` becomes the registered address when it names the same host
``ValidateVersion``  the server offers API 4.0 (the only one looker-sdk and OpenMetadata speak).
                     Checked before any credential is sent: on a server without 4.0 the login
                     would 404, which Looker also answers for wrong credentials
``CheckAccess``      login + ``me()`` through looker-sdk. Looker answers a bad login with 404
                     ``Not found``: that is ``auth_failed``, not a wrong host, since /versions
                     already proved the host
``ListDashboards``   count of dashboards (403 = ``forbidden``, 0 = warning)
``ListLookMLModels`` count of LookML models (same)

The SDK is built from explicit settings (never ``looker.ini``, never the environment) and sends
through a `GuardedSession` (timeouts, TLS, no redirects, capped bodies). ``finish`` logs out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from scanner.http import HttpError
from scanner.openmetadata.connector_tls import no_tls_field_warnings
from scanner.openmetadata.models import ConnectionConfig
from scanner.plugin import (
    EnvVar,
    Plugin,
    ProbeContext,
    ProbeResult,
    Status,
    Step,
    StepFailed,
    Target,
    TargetSettings,
)
from scanner.secrets import clip
from scanner.urls import normalize_base_url

API_VERSION = "4.0"
LEGACY_API_PORT = 19999
LOGOUT_GRACE = 2.0  # seconds
CREDENTIALS_HINT = "check LOOKERSDK_CLIENT_ID / LOOKERSDK_CLIENT_SECRET: API3 keys of an active Looker user"


class LookerSettings(TargetSettings):
    clientId: str = Field(min_length=1)
    clientSecret: SecretStr
    timeout: int | None = Field(default=None, gt=0, le=600)  # per-request read timeout, seconds

    @field_validator("url")
    @classmethod
    def _api_root(cls, value: str) -> str:
        """Looker's API lives at the root: ``.../api/4.0`` or any other path is dropped."""
        parts = urlsplit(value)
        return normalize_base_url(f"{parts.scheme}://{parts.netloc}")

    @field_validator("clientSecret")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("client secret is empty")
        return value


def candidate_bases(url: str) -> list[str]:
    """The API bases to try: the URL as given; with no port, also ``:19999``."""
    parts = urlsplit(url)
    if parts.port is not None:
        return [url]
    return [url, normalize_base_url(f"{parts.scheme}://{parts.hostname}:{LEGACY_API_PORT}")]


def reach(ctx: ProbeContext) -> str:
    reachable: list[str] = []
    failure: HttpError | None = None
    for base in candidate_bases(ctx.target.url):
        try:
            resp = ctx.http.get(base + "/", follow_redirects=False)
        except HttpError as exc:
            failure = failure or exc
            continue
        reachable.append(base)
        note = f"{base}: HTTP {resp.status} in {resp.elapsed * 1000:.0f} ms"
        ctx.facts.setdefault("reach_notes", []).append(note)
    if not reachable:
        assert failure is not None
        raise failure
    ctx.facts["bases"] = reachable
    return "; ".join(ctx.facts["reach_notes"])


def fingerprint(ctx: ProbeContext) -> str:
    answers = []
    for base in ctx.facts["bases"]:
        resp = ctx.http.get(base + "/versions")
        body = _json(resp)
        if resp.status == 200 and isinstance(body, dict) and "looker_release_version" in body \
                and isinstance(body.get("supported_versions"), list):
            return _detected(ctx, base, body)
        if resp.status in (401, 403) and _is_looker_error(body):
            # An instance that hides /versions: still Looker by its error shape; versions unknown.
            ctx.canonical_url = base
            ctx.facts["api_versions"] = None
            ctx.warn(f"{base}/versions needs authentication; API versions are checked after login")
            return f"Looker at {base} (/versions answered {resp.status} with Looker's error shape)"
        answers.append(f"{base}/versions -> {resp.status} {resp.content_type or 'no content-type'}")
    raise StepFailed(
        Status.NOT_DETECTED, "no Looker API here: " + "; ".join(answers),
        "point LOOKERSDK_BASE_URL at the Looker API host (https://<instance>.cloud.looker.com, "
        "or :19999 for older AWS instances)",
    )


def _detected(ctx: ProbeContext, base: str, body: dict) -> str:
    ctx.version = str(body["looker_release_version"])
    versions = [str(v.get("version")) for v in body["supported_versions"] if isinstance(v, dict)]
    ctx.facts["api_versions"] = versions
    ctx.details["api_versions"] = versions
    ctx.canonical_url = base
    advertised = body.get("api_server_url")
    if isinstance(advertised, str) and advertised:
        ctx.canonical_url = _api_address(ctx, base, advertised)
    return f"Looker {ctx.version} at {ctx.canonical_url} (API {', '.join(versions) or 'none listed'})"


def _api_address(ctx: ProbeContext, base: str, advertised: str) -> str:
    """Where the credentials will go: the advertised ``api_server_url`` only when it is the same host, never a
    downgrade to plain http, and, on another port or scheme, only once it has itself answered as Looker
    (no credential has been sent yet). Else the probed base, with a warning."""
    try:
        api_url = normalize_base_url(advertised)
    except ValueError:
        api_url = None
    if api_url is None or api_url == base:
        return base
    here, there = urlsplit(base), urlsplit(api_url)
    if there.hostname != here.hostname:
        ctx.warn(f"api_server_url {advertised!r} names another host; registering {base} as probed")
        return base
    if here.scheme == "https" and there.scheme != "https":
        ctx.warn(f"api_server_url {advertised!r} is plain http; the credentials stay on {base} as probed")
        return base
    if (there.scheme, _port(there)) == (here.scheme, _port(here)):
        return api_url
    try:
        proof = ctx.http.get(api_url + "/versions")
        body = _json(proof)
    except HttpError:
        proof, body = None, None
    if proof is not None and proof.status == 200 and isinstance(body, dict) and "looker_release_version" in body:
        return api_url
    ctx.warn(f"api_server_url {advertised!r} did not answer as Looker; registering {base} as probed")
    return base


def _port(parts) -> int | None:
    return parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def validate_version(ctx: ProbeContext) -> str:
    versions = ctx.facts.get("api_versions")
    if versions is None:
        ctx.warn("API versions unknown before login; checked by CheckAccess")
        return "deferred"
    if API_VERSION not in versions:
        raise StepFailed(
            Status.ERROR, f"this Looker offers API {', '.join(versions) or 'none'}, not {API_VERSION}",
            "upgrade Looker (API 4.0 is served since release 7.x) or enable API 4.0",
        )
    return f"API {API_VERSION} offered"


def check_access(ctx: ProbeContext) -> str:
    from scanner.sdk_http import GuardedSession
    from scanner_looker.sdk import DeserializeError, SDKError, build_sdk

    settings: LookerSettings = ctx.target.settings  # type: ignore[assignment]
    session = GuardedSession(
        verify=settings.verify, deadline=ctx.deadline, deadline_name=ctx.http.deadline_name,
        connect_timeout=ctx.http.connect_timeout,
        read_timeout=float(settings.timeout or ctx.read_timeout),
    )
    base = ctx.canonical_url or ctx.target.url
    sdk = build_sdk(base, settings.clientId, settings.clientSecret.get_secret_value, session)
    ctx.facts.update(sdk=sdk, session=session)
    try:
        me = sdk.me(fields="id,display_name,is_disabled")
    except DeserializeError:
        raise _unreadable(session, "login") from None
    except SDKError as exc:
        path = session.last_path or ""
        status = session.last_status
        if path.endswith("/login") and status == 404:
            raise StepFailed(
                Status.AUTH_FAILED,
                f"Looker refused client id {settings.clientId!r} (login answered 404 {_message(exc)!r}, "
                "Looker's answer to unknown API keys)", CREDENTIALS_HINT,
            ) from None
        if status in (401, 403):
            raise StepFailed(Status.AUTH_FAILED, f"{path} answered {status}: {_message(exc)}",
                             CREDENTIALS_HINT) from None
        raise _failure(exc, session, "login") from None
    ctx.facts["logged_in"] = True
    if me.is_disabled:
        raise StepFailed(Status.AUTH_FAILED, f"the API user {me.display_name!r} is disabled",
                         "re-enable the user or use the API keys of an active one")
    if ctx.facts.get("api_versions") is None:
        versions = sdk.versions()
        ctx.version = versions.looker_release_version
        offered = [v.version for v in versions.supported_versions or []]
        if API_VERSION not in offered:
            raise StepFailed(Status.ERROR, f"this Looker offers API {', '.join(offered)}, not {API_VERSION}")
    return f"logged in as {me.display_name!r} (user {me.id})"


def _counter(method: str, label: str, fields: str, permission: str):
    def run(ctx: ProbeContext) -> str:
        from scanner_looker.sdk import DeserializeError, SDKError

        sdk, session = ctx.facts["sdk"], ctx.facts["session"]
        try:
            items = getattr(sdk, method)(fields=fields)
        except DeserializeError:
            raise _unreadable(session, f"listing {label}") from None
        except SDKError as exc:
            if session.last_status == 403:
                raise StepFailed(Status.FORBIDDEN, f"not allowed to list {label} (403: {_message(exc)})",
                                 f"give the API user a role with the {permission} permission") from None
            if session.last_status == 401:
                raise StepFailed(Status.AUTH_FAILED, f"the session was rejected listing {label} (401)",
                                 CREDENTIALS_HINT) from None
            raise _failure(exc, session, f"listing {label}") from None
        count = len(items)
        ctx.details[label] = count
        if count == 0:
            ctx.warn(f"0 {label} visible to this user: OpenMetadata would ingest none")
        return f"{count} {label}"

    return run


def _unreadable(session, doing: str) -> StepFailed:
    status = f"HTTP {session.last_status} " if session.last_status else ""
    return StepFailed(Status.ERROR, f"{doing}: {session.last_path} answered {status}with something that is not "
                      "Looker's JSON", "the URL may point at a proxy or another service rather than Looker's API")


def _failure(exc: Exception, session, doing: str) -> StepFailed:
    status = session.last_status
    if status == 429:
        return StepFailed(Status.ERROR, f"{doing}: Looker is rate limiting (429) and still was after retries",
                          "run again later, or lower --concurrency")
    shown = f"{status}: " if status else ""
    return StepFailed(Status.ERROR, f"{doing} failed ({shown}{_message(exc)})")


def _message(exc: Exception) -> str:
    """The ``message`` of Looker's error JSON, else the raw text, on one short line."""
    raw = str(getattr(exc, "message", "") or exc)
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return clip(body["message"], 200)
    return clip(" ".join(raw.split()), 200) or "(empty body)"


def _json(resp) -> object:
    if "json" not in resp.content_type:
        return None
    try:
        return resp.json()
    except HttpError:
        return None


def _is_looker_error(body: object) -> bool:
    return isinstance(body, dict) and isinstance(body.get("message"), str) and "documentation_url" in body


class LookerPlugin(Plugin):
    name = "looker"
    title = "Looker"
    service_type = "Looker"
    settings_model = LookerSettings
    env_vars = (
        EnvVar("LOOKERSDK_BASE_URL", "url", help="API base URL, e.g. https://acme.cloud.looker.com"),
        EnvVar("LOOKERSDK_CLIENT_ID", "clientId", help="API3 client id"),
        EnvVar("LOOKERSDK_CLIENT_SECRET", "clientSecret", secret=True, help="API3 client secret"),
        EnvVar("LOOKERSDK_VERIFY_SSL", "verify_ssl", help="true (default) or false"),
        EnvVar("LOOKERSDK_TIMEOUT", "timeout", help="per-request timeout in seconds"),
        EnvVar("LOOKERSDK_CA_BUNDLE", "ca_bundle", help="PEM file of a private CA (scanner's own)"),
    )
    config_keys = ("hostPort", "clientId", "clientSecret")
    ports = (19999, 9999, 443)

    def steps(self, target: Target) -> Sequence[Step]:
        return [
            Step("Reach", reach, gate=True, hint="check the URL, the port, and that this machine can reach the host",
                 description="An HTTP server answers (443, then 19999 when no port is given)"),
            Step("Fingerprint", fingerprint, gate=True, description="GET /versions answers Looker's ApiVersion"),
            Step("ValidateVersion", validate_version, gate=True, description=f"API {API_VERSION} is offered"),
            Step("CheckAccess", check_access, gate=True, description="log in with the API3 keys, then me()"),
            Step("ListDashboards", _counter("all_dashboards", "dashboards", "id", "see_user_dashboards")),
            Step("ListLookMLModels", _counter("all_lookml_models", "lookml_models", "name", "see_lookml")),
        ]

    def finish(self, ctx: ProbeContext) -> None:
        sdk, session = ctx.facts.get("sdk"), ctx.facts.get("session")
        if session is not None:  # logging out is worth a moment past the deadline
            session.deadline = max(session.deadline, time.monotonic() + LOGOUT_GRACE)
        try:
            if sdk is not None and ctx.facts.get("logged_in"):
                sdk.auth.logout()
        finally:
            if session is not None:
                session.close()

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        settings: LookerSettings = target.settings  # type: ignore[assignment]
        host = result.canonical_url or target.url
        return ConnectionConfig.build(
            self.service_type, hostPort=host, clientId=settings.clientId, clientSecret=settings.clientSecret,
            warnings=no_tls_field_warnings(host, settings, title=self.title, env_prefix="LOOKERSDK"),
        )


plugin = LookerPlugin()
