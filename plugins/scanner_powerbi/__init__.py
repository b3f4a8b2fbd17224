"""Power BI (Microsoft's cloud service): found from ``AZURE_TENANT_ID``, ``AZURE_CLIENT_ID`` and ``AZURE_CLIENT_SECRET``
(a service principal, Microsoft's own variable names), proven through Microsoft Entra and the Power BI REST API.

Steps (OpenMetadata's names where they mean the same):

``Reach``           something answers HTTP at the API URL (``POWERBI_API_URL``, default ``https://api.powerbi.com``)
``CheckAccess``     a token for the service principal from Entra, through MSAL as OpenMetadata's connector gets it
                    (``{authority}{tenant}``, client credentials, scope ``https://analysis.windows.net/powerbi/api/
                    .default``), then ``GET /v1.0/myorg/groups?$top=1``: ``@odata.count`` is the number of workspaces
                    the principal is a member of. Reports the tenant and that count
``CheckAdminApis``  ``GET /v1.0/myorg/admin/groups?$top=1``: whether the read-only admin APIs answer for this
                    principal (a fact, never a failure); ``useAdminApis`` is registered true only when they did
``GetDashboards``   what OpenMetadata ingests as dashboards (Power BI dashboards *and* reports): with the admin APIs
                    ``/admin/dashboards`` and ``/admin/reports`` (paged), else ``/groups/{id}/dashboards`` and
                    ``/reports`` of each member workspace (at most 50 workspaces, then the counts are a lower bound);
                    0 of both is a warning

Quirks:

* No fingerprint: the hosts are Microsoft's fixed cloud hosts, so identity is proven through the credential. The
  tenant's OpenID configuration (``{authority}{tenant}/v2.0/.well-known/openid-configuration``), which MSAL reads
  before it sends the secret, is the unauthenticated sign of an Entra authority: anything else there is
  ``not_detected`` and gets no secret. The secret goes only to the token endpoint on the authority's own host (scheme,
  host and port): a configuration pointing it elsewhere is refused before anything is sent.
* MSAL is built with ``instance_discovery=False``: for Microsoft's own authority hosts that changes nothing (MSAL
  knows them), for any other host it keeps MSAL from asking ``login.microsoftonline.com`` about it. MSAL insists on
  an https authority, as it does inside OpenMetadata's connector: ``POWERBI_AUTHORITY_URL`` must be https.
* ``AZURE_*`` are generic Azure credentials: their presence does not mean Power BI. Only the Power BI scope's token
  *and* the groups call prove it. Entra's errors name the culprit: AADSTS7000215 wrong secret, AADSTS7000222 expired
  secret, AADSTS700016 app not in this tenant, AADSTS90002 unknown tenant (all ``auth_failed``).
* A token Power BI refuses with 401 ``PowerBINotAuthorizedException`` means the tenant does not let this service
  principal use Power BI's APIs (Fabric admin portal setting): ``forbidden``. A principal that is a member of no
  workspace sees nothing: 0 counts, a warning.
* The admin APIs are rate limited per tenant (``GetGroupsAsAdmin``: 50 requests an hour), so the probe makes one
  admin groups call, and with them the two counts; a 429 there registers ``useAdminApis`` false with a warning.
* OpenMetadata's Power BI connector has no TLS setting: MSAL and its REST client verify against the ingestion
  host's trust store (``REQUESTS_CA_BUNDLE``), so a private CA or ``POWERBI_VERIFY_SSL=false`` gets a warning
  naming the ingestion host. ``authorityURI`` (kept with its trailing ``/``: OpenMetadata appends the tenant) and
  ``apiURL`` are registered only when they are not Microsoft's defaults; ``useAdminApis`` always (the schema's
  default is true).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator

from scanner.http import ConnectFailed, HttpError, Response, TimedOut
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
    reach_step,
    tls_env_vars,
)
from scanner.probe_kit import api_call, json_body, refused, setting_name
from scanner.secrets import clip, register
from scanner.urls import normalize_base_url, page_base

TITLE = "Power BI"
DEFAULT_API = "https://api.powerbi.com"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/"
SCOPE = "https://analysis.windows.net/powerbi/api/.default"
MAX_WORKSPACES = 50  # member workspaces whose dashboards and reports are counted (two calls each)
ADMIN_PAGE = 1000
ADMIN_MAX_PAGES = 10
NOT_AUTHORIZED = "PowerBINotAuthorizedException"
_API_PAGES = {"v1.0": 0}  # a request URL pasted whole: https://api.powerbi.com/v1.0/myorg/groups?...
API_ACCESS = ("in the Fabric admin portal (Tenant settings > Developer settings) enable 'Service principals can use "
              "Fabric APIs' (formerly 'Allow service principals to use Power BI APIs') for a security group that "
              "holds the app behind {client}, then add the app to the workspaces to ingest")


class PowerBISettings(TargetSettings):
    url: str = Field(DEFAULT_API, validation_alias=AliasChoices("apiURL", "url"))  # OpenMetadata's apiURL
    tenantId: str  # noqa: N815 - OpenMetadata's key names
    clientId: str  # noqa: N815
    clientSecret: SecretStr  # noqa: N815
    authorityURI: str = DEFAULT_AUTHORITY  # noqa: N815

    @field_validator("url", mode="before")
    @classmethod
    def _api_base(cls, value: Any) -> Any:
        return page_base(value, _API_PAGES) if isinstance(value, str) else value  # TOML apiURL, not cut by the core

    @field_validator("tenantId", "clientId")
    @classmethod
    def _name(cls, value: str, info: Any) -> str:
        value = value.strip()
        if not value:
            raise ValueError(f"{info.field_name} is empty")
        if any(c in value for c in "/?#\\ "):
            raise ValueError(f"{info.field_name} {value!r} is not an id (a GUID, or a domain for the tenant)")
        return value

    @field_validator("clientSecret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value().strip()  # a trailing newline from `$(cat secret-file)`
        if not secret:
            raise ValueError("clientSecret (AZURE_CLIENT_SECRET) is empty")
        return SecretStr(secret)

    @field_validator("authorityURI")
    @classmethod
    def _authority(cls, value: str) -> str:
        base = normalize_base_url(value)
        if not base.startswith("https://"):
            raise ValueError(f"{base!r} must be https: MSAL, which gets the token here and in "
                             "OpenMetadata's connector, refuses any other authority")
        return base + "/"  # OpenMetadata appends the tenant to it as text


# -- Entra: the token, through MSAL ------------------------------------------------------------------------------


class ForeignHost(HttpError):
    """MSAL was about to send a request outside the authority's host (a token endpoint elsewhere)."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


@functools.cache
def _entra_session_class() -> type:
    from scanner.sdk_http import GuardedSession

    class EntraSession(GuardedSession):
        """scanner's rules for MSAL's requests, pinned to the authority's host, keeping the last answer's text."""

        def __init__(self, authority: str, **kw: Any) -> None:
            super().__init__(**kw)
            self.pinned = _origin(authority)
            self.last_text = ""
            self.last_type = ""

        def send(self, request: Any, **kw: Any) -> Any:
            url = request.url or ""
            if _origin(url) != self.pinned:
                parts = urlsplit(url)
                raise ForeignHost(f"{request.method} {parts.scheme}://{parts.netloc}{parts.path} not sent: it is not "
                                  "on POWERBI_AUTHORITY_URL's host, and it would carry the client secret")
            self.last_text, self.last_type = "", ""
            resp = super().send(request, **kw)
            self.last_text = resp.text[:4000]
            self.last_type = resp.headers.get("content-type", "")
            return resp

    return EntraSession


def _var(target: Target, field: str, env_name: str) -> str:
    """The variable or TOML key a user set `field` with; for a field left at its default (Microsoft's hosts), the
    variable with the instance's suffix, taken from the anchor (``AZURE_TENANT_ID__<X>``)."""
    if field in target.sources:
        return setting_name(target, field, env_name)
    match = re.search(r"__([A-Za-z0-9_]+)$", target.sources.get("tenantId", ""))
    return env_name + (f"__{match.group(1)}" if match else "")


def _names(target: Target) -> dict[str, str]:
    return {"tenant": _var(target, "tenantId", "AZURE_TENANT_ID"),
            "client": _var(target, "clientId", "AZURE_CLIENT_ID"),
            "secret": _var(target, "clientSecret", "AZURE_CLIENT_SECRET"),
            "authority": _var(target, "authorityURI", "POWERBI_AUTHORITY_URL"),
            "api": _var(target, "apiURL" if "apiURL" in target.sources else "url", "POWERBI_API_URL")}


def _entra_failure(ctx: ProbeContext, error: dict[str, Any], status: int | None) -> StepFailed:
    """An Entra error (``error``, ``error_description``, ``error_codes``) as a status and a hint."""
    n = _names(ctx.target)
    codes = error.get("error_codes") or []
    lines = str(error.get("error_description") or "").splitlines()
    first = lines[0].split(". ", 1)[0].rstrip(".") + "." if lines else "no description"  # "AADSTSnnnn: <sentence>."
    what = clip(f"{error.get('error', 'error')}: {first}", 300)
    message = f"Microsoft Entra refused the token request (HTTP {status}, {what})"
    if status == 429 or error.get("error") == "temporarily_unavailable" or (status or 0) >= 500:
        return StepFailed(Status.ERROR, message, "Entra is throttling or unavailable: run again later")
    if 7000215 in codes or 7000222 in codes:
        return StepFailed(Status.AUTH_FAILED, message, f"check {n['secret']}: the client secret's *value* (not its "
                          "ID), not expired, of the app registration named by " + n["client"])
    if 700016 in codes:
        return StepFailed(Status.AUTH_FAILED, message, f"check {n['client']} and {n['tenant']} belong to the same "
                          "tenant, and that the app is installed (consented) there")
    if 90002 in codes:
        return StepFailed(Status.AUTH_FAILED, message, f"check {n['tenant']}: the directory (tenant) ID GUID or its "
                          f"domain, and that {n['authority']} is that tenant's cloud")
    if error.get("error") == "invalid_scope":
        return StepFailed(Status.ERROR, message, f"the Power BI scope {SCOPE} is not known at {n['authority']}: "
                          "check it is the authority of Power BI's cloud")
    return StepFailed(Status.AUTH_FAILED, message, f"check {n['tenant']}, {n['client']} and {n['secret']}")


def _entra_json(text: str) -> dict[str, Any] | None:
    import json

    try:
        body = json.loads(text)
    except ValueError:
        return None
    return body if isinstance(body, dict) and "error" in body else None


def _not_an_authority(ctx: ProbeContext, session: Any, cause: str) -> StepFailed:
    n = _names(ctx.target)
    settings: PowerBISettings = ctx.target.settings  # type: ignore[assignment]
    seen = (f"HTTP {session.last_status} {session.last_type or 'no content-type'}" if session.last_status
            else "no answer")
    return StepFailed(Status.NOT_DETECTED,
                      f"no Microsoft Entra authority at {settings.authorityURI}: the tenant's OpenID configuration "
                      f"({session.last_path or '?'}) answered {seen} ({clip(cause, 160)}); no secret was sent",
                      f"check {n['authority']} (default {DEFAULT_AUTHORITY}) and {n['tenant']}")


def acquire_token(ctx: ProbeContext) -> str:
    """The access token for Power BI's scope, through MSAL over a pinned `GuardedSession`."""
    try:
        import msal
    except ImportError:
        raise StepFailed(Status.ERROR, "the msal package is not installed: scanner gets Power BI's token through it",
                         "pip install msal (Microsoft's authentication library)") from None
    import requests

    settings: PowerBISettings = ctx.target.settings  # type: ignore[assignment]
    n = _names(ctx.target)
    session = _entra_session_class()(
        settings.authorityURI, verify=settings.verify, deadline=ctx.deadline, deadline_name=ctx.http.deadline_name,
        connect_timeout=ctx.http.connect_timeout, read_timeout=ctx.timeout())
    try:
        try:
            app = msal.ConfidentialClientApplication(
                settings.clientId, client_credential=settings.clientSecret.get_secret_value(),
                authority=settings.authorityURI + settings.tenantId, http_client=session, instance_discovery=False)
        except (ConnectFailed, TimedOut) as exc:
            raise StepFailed(Status.UNREACHABLE, f"the authority did not answer: {exc}",
                             f"check {n['authority']} and that this machine can reach it") from None
        except requests.HTTPError:
            raise StepFailed(Status.ERROR, f"the authority answered {session.last_status} to {session.last_path}",
                             "Microsoft Entra may be unavailable: run again later") from None
        except (ValueError, KeyError, TypeError) as exc:
            error = _entra_json(session.last_text)
            if error is not None and session.last_status and session.last_status >= 400:
                raise _entra_failure(ctx, error, session.last_status) from None
            raise _not_an_authority(ctx, session, f"{type(exc).__name__}: {exc}") from None
        try:
            result = app.acquire_token_for_client(scopes=[SCOPE])
        except ForeignHost as exc:
            raise StepFailed(Status.ERROR, str(exc), f"the authority's OpenID configuration points elsewhere: check "
                             f"{n['authority']}") from None
        except (ConnectFailed, TimedOut) as exc:
            raise StepFailed(Status.UNREACHABLE, f"the token endpoint did not answer: {exc}",
                             f"check {n['authority']} and that this machine can reach it") from None
        except (requests.HTTPError, ValueError) as exc:
            raise StepFailed(Status.ERROR, f"the token endpoint answered {session.last_status} "
                             f"{session.last_type or 'no content-type'} ({type(exc).__name__})",
                             "Microsoft Entra may be unavailable: run again later") from None
    finally:
        session.close()
    token = result.get("access_token") if isinstance(result, dict) else None
    if not isinstance(token, str) or not token:
        raise _entra_failure(ctx, result if isinstance(result, dict) else {}, session.last_status)
    register(token)
    return token


# -- Power BI REST ------------------------------------------------------------------------------------------------


def _get(ctx: ProbeContext, path: str, params: dict[str, Any] | None = None) -> Response:
    return api_call(ctx, "GET", ctx.target.url + path, params=params,
                    headers={"Authorization": f"Bearer {ctx.facts['token']}", "Accept": "application/json"})


def _pbi_code(resp: Response) -> str:
    """Power BI's error code: ``{"error": {"code": ...}}``."""
    try:
        body = resp.json()
    except HttpError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else ""


def _refused(ctx: ProbeContext, resp: Response, what: str) -> StepFailed:
    n = _names(ctx.target)
    code = _pbi_code(resp)
    message = f"{what} answered {resp.status}" + (f" {code}" if code else "")
    if resp.status == 401 and code == NOT_AUTHORIZED:
        return StepFailed(Status.FORBIDDEN, message + ": Entra issued the token, but the tenant does not let this "
                          "service principal use Power BI's APIs", API_ACCESS.format(client=n["client"]))
    if resp.status == 403 and code:
        return StepFailed(Status.FORBIDDEN, message, f"add the app behind {n['client']} to the workspace (Viewer at "
                          "least)")
    if resp.status in (401, 403):
        return StepFailed(Status.AUTH_FAILED, message + ": the API did not accept the token the authority issued",
                          f"check that {n['api']} and {n['authority']} are the same cloud's (defaults {DEFAULT_API} "
                          f"and {DEFAULT_AUTHORITY})")
    return refused(resp, what, credentials=f"{n['tenant']}, {n['client']} and {n['secret']}")


def _groups(ctx: ProbeContext, path: str, params: dict[str, Any],
            resp: Response | None = None) -> tuple[int, list[dict[str, Any]]]:
    """``@odata.count`` and ``value`` of a groups answer (`resp`, else a GET); anything else is not Power BI's API."""
    what = f"GET {path}"
    resp = resp or _get(ctx, path, params)
    if resp.status == 404 or (resp.status == 200 and "json" not in resp.content_type):
        raise _not_the_api(ctx, f"{what} answered {resp.status} {resp.content_type or 'no content-type'}")
    if resp.status != 200:
        raise _refused(ctx, resp, what)
    body = json_body(resp, what)
    count = body.get("@odata.count") if isinstance(body, dict) else None
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(count, int) or isinstance(count, bool) or not isinstance(value, list):
        if isinstance(body, dict) and "message" in body:
            raise StepFailed(Status.ERROR, f"{what} answered 200 with a message: {clip(str(body['message']), 200)}",
                             "Power BI answered an error in a success: run again later")
        raise _not_the_api(ctx, f"{what} answered JSON without @odata.count and value")
    return count, [v for v in value if isinstance(v, dict)]


def _not_the_api(ctx: ProbeContext, seen: str) -> StepFailed:
    n = _names(ctx.target)
    return StepFailed(Status.NOT_DETECTED, f"no Power BI REST API at {ctx.target.url}: {seen}",
                      f"check {n['api']} (default {DEFAULT_API})")


def check_access(ctx: ProbeContext) -> str:
    settings: PowerBISettings = ctx.target.settings  # type: ignore[assignment]
    ctx.facts["token"] = acquire_token(ctx)
    count, _ = _groups(ctx, "/v1.0/myorg/groups", {"$top": 1})
    ctx.details.update(tenant=settings.tenantId, workspaces=count)
    return f"token for app {settings.clientId} in tenant {settings.tenantId}; member of {count} workspaces"


def check_admin_apis(ctx: ProbeContext) -> str:
    ctx.details["admin_apis"] = False
    path = "/v1.0/myorg/admin/groups"
    resp = _get(ctx, path, {"$top": 1})
    if resp.status in (401, 403):
        code = _pbi_code(resp)
        return (f"admin APIs refused ({resp.status}{' ' + code if code else ''}): useAdminApis false, OpenMetadata "
                "reads the workspaces the principal is a member of")
    if resp.status == 429:
        ctx.warn("the admin APIs are rate limited right now (GET /v1.0/myorg/admin/groups answered 429): "
                 "useAdminApis is registered false; run again later to prove them")
        return "admin APIs rate limited: useAdminApis false"
    if resp.status != 200:
        raise _refused(ctx, resp, f"GET {path}")
    count, _ = _groups(ctx, path, {"$top": 1}, resp)
    ctx.details.update(admin_apis=True, tenant_workspaces=count)
    return f"admin APIs answer ({count} workspaces in the tenant): useAdminApis true"


def _listing(ctx: ProbeContext, path: str, params: dict[str, Any] | None = None) -> list[Any]:
    resp = _get(ctx, path, params)
    if resp.status != 200:
        raise _refused(ctx, resp, f"GET {path}")
    body = json_body(resp, f"GET {path}")
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(value, list):
        raise StepFailed(Status.ERROR, f"GET {path} answered JSON without a value list")
    return value


def _admin_count(ctx: ProbeContext, kind: str) -> tuple[int, bool]:
    total = 0
    for page in range(ADMIN_MAX_PAGES):
        items = _listing(ctx, f"/v1.0/myorg/admin/{kind}", {"$top": ADMIN_PAGE, "$skip": page * ADMIN_PAGE})
        total += len(items)
        if len(items) < ADMIN_PAGE:
            return total, False
    return total, True


def get_dashboards(ctx: ProbeContext) -> str:
    if ctx.details.get("admin_apis"):
        dashboards, more_d = _admin_count(ctx, "dashboards")
        reports, more_r = _admin_count(ctx, "reports")
        where = "in the tenant"
        lower = more_d or more_r
    else:
        total, spaces = _groups(ctx, "/v1.0/myorg/groups", {"$top": MAX_WORKSPACES, "$skip": 0})
        dashboards = reports = 0
        for space in spaces:
            wid = space.get("id")
            dashboards += len(_listing(ctx, f"/v1.0/myorg/groups/{wid}/dashboards"))
            reports += len(_listing(ctx, f"/v1.0/myorg/groups/{wid}/reports"))
        lower = total > len(spaces)
        where = f"in {len(spaces)} of {total} member workspaces" if lower else "in the member workspaces"
        if lower:
            ctx.details["counted_workspaces"] = len(spaces)
    ctx.details.update(dashboards=dashboards, reports=reports)
    if dashboards + reports == 0:
        n = _names(ctx.target)
        ctx.warn("0 dashboards and 0 reports visible to this service principal: OpenMetadata would ingest none "
                 f"(add the app behind {n['client']} to the workspaces to ingest)")
    at_least = "at least " if lower else ""
    return f"{at_least}{dashboards} dashboards and {at_least}{reports} reports {where}"


# -- the plugin --------------------------------------------------------------------------------------------


class PowerBIPlugin(Plugin):
    name = "powerbi"
    title = TITLE
    service_type = "PowerBI"
    settings_model = PowerBISettings
    env_vars = (
        EnvVar("AZURE_TENANT_ID", "tenantId", anchor=True, help="directory (tenant) ID, a GUID or the tenant's domain"),
        EnvVar("AZURE_CLIENT_ID", "clientId", help="application (client) ID of the app registration"),
        EnvVar("AZURE_CLIENT_SECRET", "clientSecret", secret=True, help="a client secret's value of that app"),
        EnvVar("POWERBI_AUTHORITY_URL", "authorityURI", help=f"Entra authority, default {DEFAULT_AUTHORITY}"),
        EnvVar("POWERBI_API_URL", "url", help=f"Power BI REST API, default {DEFAULT_API}"),
        *tls_env_vars("POWERBI"),
    )
    config_keys = ("clientId", "clientSecret", "tenantId", "useAdminApis", "authorityURI", "apiURL")

    def instance_name(self, settings: PowerBISettings) -> str | None:  # type: ignore[override]
        return settings.tenantId

    def base_url(self, url: str) -> str:
        return page_base(url, _API_PAGES)

    def steps(self, target: Target) -> Sequence[Step]:
        return [
            reach_step(),
            Step("CheckAccess", check_access, gate=True,
                 description="an Entra token for Power BI's scope opens /v1.0/myorg/groups"),
            Step("CheckAdminApis", check_admin_apis, mandatory=False,
                 description="whether the read-only admin APIs answer (useAdminApis)"),
            Step("GetDashboards", get_dashboards, description="count dashboards and reports"),
        ]

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        settings: PowerBISettings = target.settings  # type: ignore[assignment]
        warnings = dict.fromkeys(
            w for host in (settings.authorityURI, settings.url)
            for w in no_tls_field_warnings(host, settings, title=self.title, env_prefix="POWERBI"))
        return ConnectionConfig.build(
            self.service_type, warnings=tuple(warnings), clientId=settings.clientId,
            clientSecret=settings.clientSecret, tenantId=settings.tenantId,
            useAdminApis=bool(result.details.get("admin_apis")),
            authorityURI=None if settings.authorityURI == DEFAULT_AUTHORITY else settings.authorityURI,
            apiURL=None if settings.url == DEFAULT_API else settings.url,
        )


plugin = PowerBIPlugin()
