"""Mode (cloud, ``https://app.mode.com``): found from ``MODE_WORKSPACE`` with ``MODE_API_TOKEN`` and
``MODE_API_SECRET``, proven through Mode's REST API (HTTP Basic ``token:secret``).

Steps (OpenMetadata's names where they mean the same):

``Reach``          something answers HTTP at ``MODE_URL`` (default ``https://app.mode.com``; tests point it at a fake)
``CheckAccess``    ``GET /api/{workspace}`` with the token, the call OpenMetadata's own test connection makes
                   (its step ``CheckDashboards``): the answer must be Mode's HAL workspace object (JSON with
                   ``_links`` and the workspace's ``username``), which is how the platform is proven; the workspace's
                   ``username`` and display ``name`` go to the report. 401 ``auth_failed``; Mode's 404 ``not_found``
                   (no such workspace, or not one these credentials belong to) ``auth_failed`` naming
                   ``MODE_WORKSPACE``, with the account ``GET /api/account`` says the token belongs to when it answers;
                   403 ``forbidden``
``GetSpaces``      ``GET /api/{workspace}/spaces?filter=all`` (``_embedded.spaces``), the first call of OpenMetadata's
                   ingestion; 403 ``forbidden``; 0 is a warning
``GetDashboards``  reports (OpenMetadata's dashboards) of every space, ``GET /api/{workspace}/spaces/{space}/reports
                   ?page=N`` as OpenMetadata pages them: until a page brings no report not seen before; 0 is a warning

Quirks:

* No fingerprint: Mode is a cloud service on a fixed host, and ``/api/...`` answers nothing without credentials, so
  the token goes to ``MODE_URL`` with the first API call. That call is the proof: a server that is not Mode (another
  tool's JSON, a single-page app, a 404 that is not Mode's ``{"id", "message"}`` error) is ``not_detected``, never
  ``ok``. The token is sent only in the ``Authorization`` header, and a request carrying it never follows a
  redirect (the legacy ``modeanalytics.com`` host redirects to ``app.mode.com``: set ``MODE_URL`` to the new host).
* Errors are ``{"id": "unauthorized"|"forbidden"|"not_found"|..., "message": ...}``. A 401 is judged as Mode's when
  it carries that body or an HTTP Basic challenge (Mode's 401 body is documented, not seen here).
* Mode documents no report page size and no empty page past the last one: like OpenMetadata's client, counting
  stops at the first page that brings no unseen report token, so a page clamped to the last one, or a ``page``
  parameter ignored, ends the count as it ends OpenMetadata's listing. At most ``MAX_PAGES`` pages per space and
  ``MAX_SPACES`` spaces are read (more: a warning, and the count is a lower bound).
* ``workspaceName`` is registered in the spelling Mode answers with (``/api/Acme`` may answer ``username: acme``).
  The instance is named after the workspace (``mode_acme``) unless a ``__<INSTANCE>`` suffix names it.
* ``hostPort`` is registered only when ``MODE_URL`` is not Mode's own ``https://app.mode.com`` (the schema's
  default). OpenMetadata's Mode connector has no TLS setting: it verifies against the ingestion host's trust store
  (``REQUESTS_CA_BUNDLE``), so ``MODE_CA_BUNDLE`` or ``MODE_VERIFY_SSL=false`` get a warning naming the ingestion host.
* ``filterQueryParam`` (``all`` when unset, as OpenMetadata defaults it) is the catalog's: scanner never sets it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator

from scanner.http import HttpError, Response
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
from scanner.probe_kit import api_call, count_distinct, count_step, error_message, json_body, refused, setting_name
from scanner.urls import connector_host_port

TITLE = "Mode"
DEFAULT_URL = "https://app.mode.com"  # ModeConnection.hostPort's default in OpenMetadata's schema
VENDOR_HOSTS = ("app.mode.com", "modeanalytics.com", "app.modeanalytics.com")
MAX_PAGES = 100    # report pages read per space
MAX_SPACES = 500   # spaces whose reports are counted
_WORKSPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_NOT_FOUND_IDS = ("not_found", "notFound")  # the API reference's id, and the spelling of Mode's other error page


class ModeSettings(TargetSettings):
    url: str = DEFAULT_URL
    workspaceName: str  # noqa: N815 - OpenMetadata's key names
    accessToken: SecretStr  # noqa: N815
    accessTokenPassword: SecretStr  # noqa: N815

    @field_validator("workspaceName")
    @classmethod
    def _workspace(cls, value: str) -> str:
        value = value.strip()
        if not _WORKSPACE.match(value):
            raise ValueError(f"workspaceName {value!r} is not a Mode workspace name: use the workspace's username as "
                             "in its URLs (https://app.mode.com/<workspace>/...), letters, digits, '_', '-', '.'")
        return value

    @field_validator("accessToken", "accessTokenPassword")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()  # a trailing newline from `$(cat file)`
        if not text:
            raise ValueError("is empty")
        return SecretStr(text)


# -- names in hints ------------------------------------------------------------------------------------------


def _names(ctx: ProbeContext) -> dict[str, str]:
    target = ctx.target
    return {"workspace": setting_name(target, "workspaceName", "MODE_WORKSPACE"),
            "token": setting_name(target, "accessToken", "MODE_API_TOKEN"),
            "secret": setting_name(target, "accessTokenPassword", "MODE_API_SECRET"),
            "url": setting_name(target, "url", "MODE_URL")}


def _credentials(ctx: ProbeContext) -> str:
    n = _names(ctx)
    return (f"{n['token']} and {n['secret']}: an API token of the workspace in {n['workspace']} and its secret "
            "(Workspace Settings > API Keys; a Workspace API token, as Mode no longer issues personal ones)")


def _rights(ctx: ProbeContext) -> str:
    n = _names(ctx)
    return (f"use a Workspace API token for {n['token']} (Mode gives it admin-like read access to every collection), "
            "or give the token's member access to the workspace's collections")


# -- the API -------------------------------------------------------------------------------------------------


def _get(ctx: ProbeContext, path: str, params: dict[str, Any] | None = None) -> Response:
    settings: ModeSettings = ctx.target.settings  # type: ignore[assignment]
    pair = f"{settings.accessToken.get_secret_value()}:{settings.accessTokenPassword.get_secret_value()}"
    basic = base64.b64encode(pair.encode()).decode()
    return api_call(ctx, "GET", ctx.target.url.rstrip("/") + path, params=params,
                    headers={"Authorization": f"Basic {basic}", "Accept": "application/hal+json"})


def _mode_error(resp: Response) -> str | None:
    """Mode's error ``id`` when the answer is Mode's error shape ``{"id": ..., "message": ...}``, else None."""
    if "json" not in resp.content_type:
        return None
    try:
        body = resp.json()
    except HttpError:
        return None
    if isinstance(body, dict) and isinstance(body.get("id"), str) and "message" in body:
        return body["id"]
    return None


def _not_mode(ctx: ProbeContext, what: str, resp: Response, why: str) -> StepFailed:
    n = _names(ctx)
    return StepFailed(Status.NOT_DETECTED,
                      f"no Mode API at {ctx.target.url}: {what} answered {resp.status} "
                      f"{resp.content_type or 'without a content-type'}, {why}",
                      f"check {n['url']}: leave it unset for Mode's own https://app.mode.com (it is only for a "
                      "proxy or a test stand-in)")


def _basic_challenge(resp: Response) -> bool:
    return resp.headers.get("www-authenticate", "").strip().lower().startswith("basic")


def _failed(ctx: ProbeContext, resp: Response, what: str) -> StepFailed:
    """A failed API answer: Mode's own errors by status, anything else that is not Mode's shape ``not_detected``."""
    mode_error = _mode_error(resp)
    if resp.status in (401, 403, 404) and mode_error is None and not (resp.status == 401 and _basic_challenge(resp)):
        return _not_mode(ctx, what, resp, "not Mode's error {\"id\", \"message\"}")
    return refused(resp, what, credentials=_credentials(ctx), rights=_rights(ctx))


def _body(ctx: ProbeContext, resp: Response, what: str) -> Any:
    if "json" not in resp.content_type:
        raise _not_mode(ctx, what, resp, "not JSON")
    return json_body(resp, what)


def _embedded(ctx: ProbeContext, resp: Response, what: str, key: str) -> list[dict[str, Any]]:
    body = _body(ctx, resp, what)
    items = body.get("_embedded", {}).get(key) if isinstance(body, dict) and isinstance(body.get("_embedded"),
                                                                                        dict) else None
    if not isinstance(items, list):
        raise _not_mode(ctx, what, resp, f"without Mode's HAL list _embedded.{key}")
    return [item for item in items if isinstance(item, dict)]


# -- CheckAccess ---------------------------------------------------------------------------------------------


def check_access(ctx: ProbeContext) -> str:
    settings: ModeSettings = ctx.target.settings  # type: ignore[assignment]
    asked = settings.workspaceName
    what = f"GET /api/{asked}"
    resp = _get(ctx, f"/api/{asked}")
    if resp.status == 404 and _mode_error(resp) in _NOT_FOUND_IDS:
        raise _unknown_workspace(ctx, resp, what)
    if resp.status != 200:
        raise _failed(ctx, resp, what)
    body = _body(ctx, resp, what)
    username = body.get("username") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("_links"), dict) or not isinstance(username, str):
        raise _not_mode(ctx, what, resp, "not Mode's workspace object (HAL JSON with _links and username)")
    if username.lower() != asked.lower():
        raise _not_mode(ctx, what, resp, f"the account of {username!r}, not the workspace asked for")
    if username != asked:
        ctx.warn(f"Mode spells the workspace {username!r} ({_names(ctx)['workspace']} is {asked!r}): "
                 "workspaceName is registered as Mode spells it")
    name = body.get("name") if isinstance(body.get("name"), str) else None
    ctx.details["workspace"] = username
    if name:
        ctx.details["workspace_name"] = name
    ctx.canonical_url = ctx.target.url
    return f"workspace {username!r}" + (f" ({name})" if name and name != username else "")


def _unknown_workspace(ctx: ProbeContext, resp: Response, what: str) -> StepFailed:
    """Mode's 404 for the workspace: it does not exist, or these credentials are not one of its tokens. Mode's
    ``/api/account`` says whose the credentials are, when it answers."""
    n = _names(ctx)
    asked = ctx.target.settings.workspaceName  # type: ignore[attr-defined]
    owner = None
    try:
        account = _get(ctx, "/api/account")
        if account.status == 200 and "json" in account.content_type:
            body = account.json()
            owner = body.get("username") if isinstance(body, dict) else None
    except (HttpError, StepFailed):
        owner = None
    owner_text = f"; these credentials belong to {owner!r}" if isinstance(owner, str) and owner else ""
    return StepFailed(
        Status.AUTH_FAILED,
        f"Mode has no workspace {asked!r} for these credentials ({what} answered 404: "
        f"{error_message(resp)}){owner_text}",
        f"set {n['workspace']} to the workspace's name as in its URLs (https://app.mode.com/<workspace>/...), and "
        f"check {n['token']} / {n['secret']} are an API token of that workspace",
    )


# -- the counts ----------------------------------------------------------------------------------------------


def _spaces(ctx: ProbeContext) -> int:
    workspace = ctx.details.get("workspace") or ctx.target.settings.workspaceName  # type: ignore[attr-defined]
    what = f"GET /api/{workspace}/spaces?filter=all"
    resp = _get(ctx, f"/api/{workspace}/spaces", {"filter": "all"})
    if resp.status != 200:
        raise _failed(ctx, resp, what)
    spaces = _embedded(ctx, resp, what, "spaces")
    ctx.facts["spaces"] = [s["token"] for s in spaces if isinstance(s.get("token"), str) and s["token"]]
    return len(spaces)


def _reports(ctx: ProbeContext) -> int:
    workspace = ctx.details.get("workspace") or ctx.target.settings.workspaceName  # type: ignore[attr-defined]
    spaces: list[str] = ctx.facts.get("spaces", [])
    total = 0
    for space in spaces[:MAX_SPACES]:
        path = f"/api/{workspace}/spaces/{space}/reports"

        def page(n: int, path: str = path) -> list[dict[str, Any]]:
            resp = _get(ctx, path, {"page": n})
            what = f"GET {path}?page={n}"
            if resp.status != 200:
                raise _failed(ctx, resp, what)
            return _embedded(ctx, resp, what, "reports")

        total += count_distinct(page, key=_report_key, max_pages=MAX_PAGES)
    if len(spaces) > MAX_SPACES:
        ctx.warn(f"reports counted in the first {MAX_SPACES} of {len(spaces)} collections only: the count is a "
                 "lower bound")
    return total


def _report_key(report: dict[str, Any]) -> str:
    token = report.get("token")
    return str(token) if token else repr(sorted(report.items()))


# -- the plugin ----------------------------------------------------------------------------------------------


class ModePlugin(Plugin):
    name = "mode"
    title = TITLE
    service_type = "Mode"
    settings_model = ModeSettings
    env_vars = (
        EnvVar("MODE_WORKSPACE", "workspaceName", anchor=True,
               help="the workspace's name as in its URLs (https://app.mode.com/<workspace>/...)"),
        EnvVar("MODE_API_TOKEN", "accessToken", secret=True, help="API token (Workspace Settings > API Keys)"),
        EnvVar("MODE_API_SECRET", "accessTokenPassword", secret=True, help="the API token's secret"),
        EnvVar("MODE_URL", "url", help=f"Mode's address; default {DEFAULT_URL}"),
        *tls_env_vars("MODE"),
    )
    config_keys = ("hostPort", "accessToken", "accessTokenPassword", "workspaceName")

    def instance_name(self, settings: TargetSettings) -> str | None:
        return getattr(settings, "workspaceName", None)

    def base_url(self, url: str) -> str:
        """A page of Mode's own site (``https://app.mode.com/acme/reports/...``) is cut to the host; any other host
        (a proxy, a stand-in) is kept as typed."""
        parts = urlsplit(url.strip())
        if parts.scheme.lower() in ("http", "https") and (parts.hostname or "").lower() in VENDOR_HOSTS \
                and not parts.username and not parts.password:
            return f"{parts.scheme}://{parts.netloc}"
        return url

    def steps(self, target: Target) -> Sequence[Step]:
        return [
            reach_step(),
            Step("CheckAccess", check_access, gate=True,
                 description="GET /api/{workspace} with the API token answers Mode's workspace object"),
            Step("GetSpaces", count_step("spaces", _spaces, empty="0 collections visible to these credentials: "
                                         "OpenMetadata would ingest no report"), gate=True,
                 description="list the workspace's collections (spaces?filter=all)"),
            Step("GetDashboards", count_step("dashboards", _reports),
                 description="count the reports of every collection, paged as OpenMetadata pages them"),
        ]

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        settings: ModeSettings = target.settings  # type: ignore[assignment]
        base = result.canonical_url or target.url
        host_port = connector_host_port(base)
        warnings = no_tls_field_warnings(base, settings, title=self.title, env_prefix="MODE")
        return ConnectionConfig.build(
            self.service_type, warnings=warnings,
            hostPort=None if host_port == DEFAULT_URL else host_port,
            accessToken=settings.accessToken, accessTokenPassword=settings.accessTokenPassword,
            workspaceName=result.details.get("workspace") or settings.workspaceName,
        )


plugin = ModePlugin()
