"""Metabase: found from ``METABASE_URL`` & co., proven through its REST API.

Steps (OpenMetadata's names where they mean the same):

``Reach``          something answers HTTP at the URL
``Fingerprint``    two of three signs, read without credentials: ``/api/session/properties`` is JSON with
                   ``version.tag`` (the version), ``/api/health`` answers ``{"status":"ok"}``, the app page
                   (``/auth/login``) holds Metabase's bootstrap markers. A 503 ``initializing`` health answer is
                   reported as "still starting"; ``has-user-setup: false`` as "not set up yet"
``CheckAccess``    API key (``X-API-KEY``) or ``POST /api/session`` (username = the account's email), then
                   ``GET /api/user/current``: 401 = ``auth_failed``
``GetDashboards``  what OpenMetadata ingests: ``GET /api/collection``, then each collection's
                   ``/items?models=dashboard``; 403 = ``forbidden``; 0 = warning
``GetCharts``      ``GET /api/card`` (OpenMetadata's chart list); 0 = warning

Quirks:

* Dashboards are counted the way OpenMetadata's connector lists them (every collection's items), not with
  ``GET /api/dashboard/``: that endpoint is deprecated, and a dashboard it shows but no listed collection
  holds would never be ingested. One request per collection is the price.
* Both credential forms may be given: the API key is used (and registered), and the step says so.
* ``/api/session/properties`` publishes the ``setup-token`` before setup (and, before 0.46.6.1, after it:
  CVE-2023-38646); it is a secret and is never copied anywhere. ``has-user-setup`` says whether setup is done;
  a token still published after setup is a warning.
* The app answers 200 with its HTML page for any non-API path, so each sign checks content, never status alone.
* Versions: ``v0.x`` is the open-source edition, ``v1.x`` the Enterprise build of the same release (Metabase's
  convention; reported as ``details.edition``).
* OpenMetadata's connector logs in at ``f"{hostPort}api/session/"``: pydantic adds a slash to a bare host only,
  so an instance under a path prefix is registered with a trailing slash (``https://h/metabase/``), which
  keeps both that login URL and its API calls (``clean_uri(hostPort) + "/api/..."``) right. Its connector has
  no TLS setting: it verifies against the ingestion host's trust store (a private CA or ``VERIFY_SSL=false``
  is a warning).
* A page URL copied from the browser (``/dashboard/5-sales?tab=1``, ``/question/3``, ``/collection/root``,
  ``/auth/login``) is cut to the instance's base (`MetabasePlugin.base_url`), keeping a prefix it is served
  under (``/bi/metabase/dashboard/5`` -> ``/bi/metabase``).
* A session scanner opened is closed in ``finish`` (``DELETE /api/session``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import SecretStr, model_validator

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
from scanner.probe_kit import (
    Signal,
    api_call,
    count_step,
    error_message,
    fingerprint,
    items_of,
    json_at,
    json_body,
    page_has,
    refused,
    setting_name,
)
from scanner.secrets import clip, register
from scanner.urls import connector_host_port, page_base

TITLE = "Metabase"
SESSION_HEADER = "X-Metabase-Session"
API_KEY_HEADER = "X-API-KEY"

# First path segment of Metabase's own pages and API (after the instance's base, which may be a prefix)
_PAGE_ROOTS = frozenset({"dashboard", "question", "collection", "auth", "model", "metric", "browse", "admin", "api",
                         "setup", "search", "reference", "public", "embed", "account", "activity", "archive",
                         "trash", "pulse", "notifications", "getting-started"})
_BARE_PAGES = frozenset({"question", "search", "browse", "admin", "setup", "archive", "trash"})
_PAGES = {root: 0 if root in _BARE_PAGES else 1 for root in _PAGE_ROOTS}  # segments that must follow the root
_TAG_IN_PAGE = r'"tag"\s*:\s*"(v?\d+\.\d+[^"]*)"'


class MetabaseSettings(TargetSettings):
    credential_forms: ClassVar[tuple[tuple[str, ...], ...]] = (("apiKey",), ("username", "password"))  # one of them

    apiKey: SecretStr | None = None
    username: str | None = None  # the account's email address
    password: SecretStr | None = None

    @model_validator(mode="after")
    def _credentials(self) -> MetabaseSettings:
        if self.apiKey is not None and not self.apiKey.get_secret_value().strip():
            raise ValueError("the API key (METABASE_API_KEY, TOML apiKey) is empty")
        if self.apiKey is not None:
            return self
        user = (self.username or "").strip()
        password = self.password.get_secret_value() if self.password is not None else ""
        if user and password:
            return self
        if user or password:
            raise ValueError("incomplete credentials: METABASE_USERNAME and METABASE_PASSWORD (TOML username, "
                             "password) go together; or set METABASE_API_KEY (TOML apiKey)")
        raise ValueError("no credentials: set METABASE_API_KEY (TOML apiKey), or METABASE_USERNAME + "
                         "METABASE_PASSWORD (TOML username + password)")


# -- where the user set something (for hints) --------------------------------------------------------------------


def _credential_names(target: Target) -> str:
    settings: MetabaseSettings = target.settings  # type: ignore[assignment]
    if settings.apiKey is not None:
        return setting_name(target, "apiKey", "METABASE_API_KEY")
    return (f"{setting_name(target, 'username', 'METABASE_USERNAME')} / "
            f"{setting_name(target, 'password', 'METABASE_PASSWORD')} (the username is the account's email)")


# -- Fingerprint ---------------------------------------------------------------------------------------------------


def _json_dict(resp: Response) -> dict[str, Any] | None:
    if "json" not in resp.content_type:
        return None
    try:
        body = resp.json()
    except HttpError:
        return None
    return body if isinstance(body, dict) else None


def detect(ctx: ProbeContext) -> str:
    seen: dict[str, Any] = {}
    version_tag = json_at("version", "tag", version=True)
    health_ok = json_at("status", equals="ok")

    def properties(resp: Response) -> str | bool | None:
        verdict = version_tag(resp)
        if verdict:
            body = _json_dict(resp) or {}
            # only whether these are set: the setup token itself is a secret and is never kept
            seen["setup_done"] = body.get("has-user-setup")
            seen["setup_token"] = bool(body.get("setup-token"))
        return verdict

    def health(resp: Response) -> str | bool | None:
        body = _json_dict(resp)
        if body is not None and isinstance(body.get("status"), str):
            seen["health"] = (resp.status, body["status"], body.get("progress"))
        return health_ok(resp)

    signals = [
        Signal("/api/session/properties", "/api/session/properties", properties),
        Signal("/api/health", "/api/health", health),
        Signal("app page", "/auth/login", page_has('id="_metabaseBootstrap"', "window.MetabaseBootstrap",
                                                   version_pattern=_TAG_IN_PAGE)),
    ]
    hint = ("check that the URL is the Metabase web address (with the path prefix it is served under, if any; "
            f"not its /api), as set in {setting_name(ctx.target, 'url', 'METABASE_URL')}")
    try:
        message = fingerprint(TITLE, signals, hint=hint)(ctx)
    except StepFailed as failed:
        status, text, progress = seen.get("health", (None, None, None))
        if status == 503 and text == "initializing":
            share = f" ({progress:.0%} done)" if isinstance(progress, (int, float)) and 0 <= progress <= 1 else ""
            raise StepFailed(Status.ERROR, f"Metabase is still starting: /api/health answers 503 initializing{share}",
                             "wait until GET /api/health answers {\"status\":\"ok\"}, then run again") from None
        if status == 503 and text:
            raise StepFailed(Status.ERROR, f"Metabase is unhealthy: /api/health answers 503 {clip(text, 120)!r}",
                             "check Metabase's logs and its application database") from None
        raise failed
    edition = re.match(r"v?([01])\.\d+", ctx.version or "")
    if edition:
        ctx.details["edition"] = "enterprise" if edition.group(1) == "1" else "oss"
    setup_done = seen.get("setup_done")
    if setup_done is False or (setup_done is None and seen.get("setup_token")):
        label = f"Metabase {ctx.version}" if ctx.version else "Metabase"
        raise StepFailed(
            Status.ERROR, f"{label} answers, but it has not been set up yet (no account exists)",
            f"finish Metabase's setup in a browser ({ctx.canonical_url}/setup), create an API key or a user, then "
            "run again",
        )
    if seen.get("setup_token"):
        ctx.warn(f"{message}; this Metabase still publishes its setup token although it is set up (the flaw "
                 "behind CVE-2023-38646, fixed in 0.46.6.1 / 1.46.6.1): upgrade it")
    return message


# -- CheckAccess ---------------------------------------------------------------------------------------------------


def _headers(ctx: ProbeContext) -> dict[str, str]:
    return dict(ctx.facts["headers"])


def _base(ctx: ProbeContext) -> str:
    return ctx.canonical_url or ctx.target.url


def _login_error(resp: Response) -> str:
    """Metabase's ``{"errors": {"password": "did not match stored password"}}`` as one line."""
    body = _json_dict(resp)
    errors = body.get("errors") if body is not None else None
    if isinstance(errors, dict) and errors:
        return clip("; ".join(f"{k.lstrip('_') or 'error'}: {v}" for k, v in errors.items()), 200)
    return error_message(resp)


def check_access(ctx: ProbeContext) -> str:
    settings: MetabaseSettings = ctx.target.settings  # type: ignore[assignment]
    base = _base(ctx)
    names = _credential_names(ctx.target)
    if settings.apiKey is not None:
        ctx.facts["headers"] = {API_KEY_HEADER: settings.apiKey.get_secret_value()}
        how = f"API key ({setting_name(ctx.target, 'apiKey', 'METABASE_API_KEY')})"
        if settings.username or settings.password is not None:
            how += "; the username/password given too are not used"
    else:
        resp = api_call(ctx, "POST", base + "/api/session", credentials=True,
                        json={"username": settings.username, "password": settings.password.get_secret_value()})
        if resp.status in (400, 401):
            key_name = setting_name(ctx.target, "apiKey", "METABASE_API_KEY")
            raise StepFailed(Status.AUTH_FAILED, f"Metabase refused the login of {settings.username!r} "
                             f"({resp.status}: {_login_error(resp)})", f"check {names}, or use an API key ({key_name})")
        if resp.status != 200:
            raise refused(resp, "POST /api/session", credentials=names)
        body = json_body(resp, "POST /api/session")
        session = body.get("id") if isinstance(body, dict) else None
        if not isinstance(session, str) or not session:
            raise StepFailed(Status.ERROR, "POST /api/session answered 200 without a session id",
                             "the URL may point at a proxy or another tool")
        register(session)
        ctx.facts["session"] = session
        ctx.facts["headers"] = {SESSION_HEADER: session}
        how = f"session of {settings.username!r}"
    resp = api_call(ctx, "GET", base + "/api/user/current", headers=_headers(ctx), credentials=True)
    if resp.status != 200:
        raise refused(resp, "GET /api/user/current", credentials=names)
    me = json_body(resp, "GET /api/user/current")
    if not isinstance(me, dict) or "id" not in me:
        raise StepFailed(Status.ERROR, "GET /api/user/current answered JSON without a user id",
                         "the URL may point at a proxy or another tool")
    who = me.get("common_name") or me.get("email") or f"user {me['id']}"
    role = "admin" if me.get("is_superuser") else "not an admin"
    return f"signed in with the {how}: {clip(who, 80)} ({role})"


# -- counts --------------------------------------------------------------------------------------------------------


def _get(ctx: ProbeContext, path: str, what: str, **params: str) -> Any:
    resp = api_call(ctx, "GET", _base(ctx) + path, headers=_headers(ctx), credentials=True, params=params or None)
    if resp.status != 200:
        raise refused(resp, what, credentials=_credential_names(ctx.target),
                      rights="give the account (or the API key's group) view access to the collections to ingest")
    return json_body(resp, what)


def count_dashboards(ctx: ProbeContext) -> int:
    collections = items_of(_get(ctx, "/api/collection", "GET /api/collection"), "GET /api/collection")
    ids = [c["id"] for c in collections if isinstance(c, dict) and c.get("id") is not None]
    total = 0
    for collection_id in ids:
        what = f"GET /api/collection/{collection_id}/items"
        body = _get(ctx, f"/api/collection/{quote(str(collection_id), safe='')}/items", what, models="dashboard")
        total += sum(1 for item in items_of(body, what, key="data")
                     if isinstance(item, dict) and item.get("model", "dashboard") == "dashboard")
    ctx.details["collections"] = len(ids)
    return total


def count_charts(ctx: ProbeContext) -> int:
    return len(items_of(_get(ctx, "/api/card", "GET /api/card"), "GET /api/card"))


class MetabasePlugin(Plugin):
    name = "metabase"
    title = TITLE
    service_type = "Metabase"
    settings_model = MetabaseSettings
    env_vars = (
        EnvVar("METABASE_URL", "url", help="base URL, e.g. https://metabase.example.com (a page URL is cut to it)"),
        EnvVar("METABASE_API_KEY", "apiKey", secret=True, help="API key (Metabase 0.49+); preferred"),
        EnvVar("METABASE_USERNAME", "username", help="the account's email address (with METABASE_PASSWORD)"),
        EnvVar("METABASE_PASSWORD", "password", secret=True),
        *tls_env_vars("METABASE"),
    )
    config_keys = ("hostPort", "apiKey", "username", "password")
    ports = (3000,)

    def base_url(self, url: str) -> str:
        return page_base(url, _PAGES)

    def steps(self, target: Target) -> Sequence[Step]:
        return [
            reach_step(),
            Step("Fingerprint", detect, gate=True,
                 description="Metabase's public settings, health and app page, without credentials"),
            Step("CheckAccess", check_access, gate=True, description="the API key or a login, then the current user"),
            Step("GetDashboards", count_step("dashboards", count_dashboards),
                 description="dashboards in the collections, as OpenMetadata lists them"),
            Step("GetCharts", count_step("charts", count_charts), description="cards (questions)"),
        ]

    def finish(self, ctx: ProbeContext) -> None:
        session = ctx.facts.pop("session", None)
        if session:
            ctx.http.request("DELETE", _base(ctx) + "/api/session", headers={SESSION_HEADER: session},
                             credentials=True)

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        settings: MetabaseSettings = target.settings  # type: ignore[assignment]
        base = result.canonical_url or target.url
        credentials: dict[str, Any] = ({"apiKey": settings.apiKey} if settings.apiKey is not None
                                       else {"username": settings.username, "password": settings.password})
        return ConnectionConfig.build(
            self.service_type, warnings=no_tls_field_warnings(base, settings, title=TITLE, env_prefix="METABASE"),
            hostPort=connector_host_port(base), **credentials,
        )


plugin = MetabasePlugin()
