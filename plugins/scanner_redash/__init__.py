"""Redash: found from ``REDASH_URL`` and ``REDASH_API_KEY``, proven through its REST API.

Steps (OpenMetadata's names where they mean the same):

``Reach``          something answers HTTP at the URL
``Fingerprint``    two of three signs, read without credentials: ``/ping`` answers ``PONG.``, ``/api/config`` is
                   JSON with ``client_config``, ``/login`` is titled ``Login to Redash`` (or ``Login | Redash``).
                   A fresh install (``/login`` redirects to ``/setup``) fails here: it has no user, so no key
                   can work. The version is not given to anonymous callers
``CheckAccess``    ``GET /api/session`` with ``Authorization: Key <key>``: the user's email (registered as
                   ``username``, which OpenMetadata's schema requires and its connector never uses) and
                   ``client_config.version`` (Redash gives it to a *user* key only)
``GetDashboards``  ``count`` of ``/api/dashboards?page=1&page_size=1``, the call OpenMetadata's test connection
                   and ingestion page through; 403 = ``forbidden``; 0 = warning
``GetCharts``      ``count`` of ``/api/queries?page=1&page_size=1``: Redash charts (visualizations) hang off
                   queries, and dashboards show them as widgets, which is what OpenMetadata ingests as charts.
                   OpenMetadata never lists queries, so this step only warns

Quirks:

* A wrong, revoked or missing key answers **404** ``{"message": "Couldn't find resource. Please login and try
  again."}`` on every ``/api/`` path, not 401: after the fingerprint, that is ``auth_failed``.
* Key kinds: a user's key (profile page) logs in as that user. A query's key only opens that query's results
  (404 elsewhere, so ``auth_failed``). A key of Redash's ``ApiKey`` model (a shared dashboard's) logs in as an
  "API user" whose session has no email and no version and whose only permission is ``view_query``: it gets 403 on
  ``/api/dashboards``, the call OpenMetadata's connector cannot do without, so it fails ``CheckAccess`` as
  ``forbidden`` naming the key to use instead. Redash echoes such a key in the session (``user.apiKey``); scanner
  never repeats it.
* ``page_size`` must be 1..250 (else 400). ``redashVersion`` only changes the dashboard URLs OpenMetadata builds
  (``/dashboards/{id}`` above 8.0.0, ``/dashboards/{slug}`` up to it); when the version is unknown (or not a
  version ``packaging`` reads, which OpenMetadata's connector would choke on) the schema's default ``10.0.0`` is
  kept, with a warning.
* Unknown non-API paths redirect anonymous callers to ``/login?next=...`` (and are the app's page for a logged-in
  one), so no sign is judged by its status alone.
* OpenMetadata's Redash connector has no TLS setting: it verifies against the ingestion host's trust store
  (``REQUESTS_CA_BUNDLE``), so a private CA or ``REDASH_VERIFY_SSL=false`` gets a warning naming the ingestion host.
* Multi-org Redash (``REDASH_MULTI_ORG``, ``/<org>/api/...``) is not handled: ``/ping`` and ``/api/config`` live at
  the root while the API is below the org's slug.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator

from scanner.http import Response
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
from scanner.probe_kit import Signal, api_call, count_step, error_message, json_at, json_body, refused, text_is
from scanner.probe_kit import fingerprint as fingerprint_step
from scanner.urls import connector_host_port, page_base

TITLE = "Redash"
CREDENTIALS = "REDASH_API_KEY (a user's API key, from the user's profile page in Redash) and REDASH_URL"
_LOGIN_TITLES = ("<title>Login to Redash</title>", "<title>Login | Redash</title>")
_REDIRECTS = (301, 302, 303, 307, 308)
# The first path segment of Redash's own pages (a page URL copied from the browser is cut there):
_PAGE_ROOTS = frozenset({"dashboards", "dashboard", "queries", "alerts", "data_sources", "destinations", "users",
                         "groups", "settings", "query_snippets", "login", "logout", "setup", "public", "embed",
                         "api", "ping", "admin", "static", "forgot", "invite", "reset", "verify"})
_DEFAULT_VERSION = "10.0.0"  # RedashConnection.redashVersion's default in OpenMetadata's schema


class RedashSettings(TargetSettings):
    apiKey: SecretStr  # noqa: N815 - OpenMetadata's key name

    @field_validator("apiKey")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("apiKey is empty")
        return value


# -- Fingerprint ---------------------------------------------------------------------------------------------


def _login_page(resp: Response) -> bool:
    return resp.status == 200 and any(title in resp.text for title in _LOGIN_TITLES)


def _goes_to_setup(resp: Response) -> bool:
    return resp.status in _REDIRECTS and urlsplit(resp.headers.get("location", "")).path.rstrip("/").endswith("/setup")


def fingerprint(ctx: ProbeContext) -> str:
    """probe_kit's fingerprint over Redash's three signs, plus the fresh install that redirects to ``/setup``."""
    seen: dict[str, bool] = {}

    def ping(resp: Response) -> bool:
        seen["ping"] = text_is("PONG.")(resp)
        return seen["ping"]

    def login(resp: Response) -> bool:
        seen["setup"] = _goes_to_setup(resp)
        return _login_page(resp)

    signals = [Signal("/ping PONG.", "/ping", ping),
               Signal("/api/config client_config", "/api/config", json_at("client_config")),
               Signal("login page", "/login", login)]
    try:
        return fingerprint_step(TITLE, signals, need=2, hint="check that REDASH_URL is the Redash web address "
                                "(not a proxy page or another tool)")(ctx)
    except StepFailed:
        if seen.get("ping") and seen.get("setup"):  # no organisation yet: /api/config fails too
            raise _not_set_up(ctx) from None
        raise


def _not_set_up(ctx: ProbeContext) -> StepFailed:
    base = ctx.target.url.rstrip("/")
    return StepFailed(Status.ERROR, f"Redash at {base} is not set up yet: /login redirects to /setup, so it has no "
                      "user and no API key can work",
                      f"finish Redash's setup at {base}/setup (organisation and admin user), then set REDASH_API_KEY "
                      "to a user's API key from the profile page")


# -- CheckAccess and the counts --------------------------------------------------------------------------------


def _api(ctx: ProbeContext, path: str, params: dict[str, Any] | None = None) -> Response:
    settings: RedashSettings = ctx.target.settings  # type: ignore[assignment]
    base = ctx.canonical_url or ctx.target.url
    return api_call(ctx, "GET", base + path, params=params,
                    headers={"Authorization": f"Key {settings.apiKey.get_secret_value()}"})


def _failed(resp: Response, what: str, rights: str) -> StepFailed:
    if resp.status == 404 and "json" in resp.content_type:
        return StepFailed(Status.AUTH_FAILED, f"Redash did not accept the API key ({what} answered 404: "
                          f"{error_message(resp)})",
                          f"check {CREDENTIALS}; a query's API key only opens that query's results")
    return refused(resp, what, credentials=CREDENTIALS, rights=rights)


def check_access(ctx: ProbeContext) -> str:
    resp = _api(ctx, "/api/session")
    if resp.status != 200:
        raise _failed(resp, "/api/session", "check the user behind REDASH_API_KEY is active")
    body = json_body(resp, "/api/session")
    user = body.get("user") if isinstance(body, dict) else None
    if not isinstance(user, dict):
        raise StepFailed(Status.ERROR, "/api/session answered JSON without a user",
                         "check that REDASH_URL is the Redash web address")
    email = user.get("email")
    if not isinstance(email, str) or not email.strip():
        raise StepFailed(
            Status.FORBIDDEN,
            "REDASH_API_KEY is not a user's API key: Redash logs it in as an API user (the key of a shared "
            "dashboard or an organisation key), with no user and no right to list dashboards",
            "set REDASH_API_KEY to a user's API key (the user's profile page in Redash): OpenMetadata's Redash "
            "connector pages through /api/dashboards, which needs a user with the list_dashboards permission",
        )
    ctx.details["user"] = email.strip()
    config = body.get("client_config")
    version = config.get("version") if isinstance(config, dict) else None
    if isinstance(version, str) and version.strip():
        ctx.version = version.strip()
    else:
        ctx.warn(f"Redash did not give its version to this key: redashVersion is registered as OpenMetadata's "
                 f"default {_DEFAULT_VERSION} (it only shapes dashboard URLs: /dashboards/<id> above 8.0.0)")
    return f"key of {email.strip()} accepted (Redash {ctx.version or 'version not given'})"


def _counter(path: str, label: str, rights: str):
    def count(ctx: ProbeContext) -> int:
        resp = _api(ctx, path, {"page": 1, "page_size": 1})
        if resp.status != 200:
            raise _failed(resp, path, rights)
        body = json_body(resp, path)
        value = body.get("count") if isinstance(body, dict) else None
        if not isinstance(value, int) or isinstance(value, bool):
            raise StepFailed(Status.ERROR, f"{path} answered JSON without a count",
                             "check that REDASH_URL is the Redash web address")
        return value

    return count


# -- the plugin --------------------------------------------------------------------------------------------


def _readable_version(value: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        Version(value)
    except InvalidVersion:
        return False
    return True


class RedashPlugin(Plugin):
    name = "redash"
    title = TITLE
    service_type = "Redash"
    settings_model = RedashSettings
    env_vars = (
        EnvVar("REDASH_URL", "url", help="base URL, e.g. https://redash.example.com"),
        EnvVar("REDASH_API_KEY", "apiKey", secret=True, help="a user's API key (the user's profile page)"),
        *tls_env_vars("REDASH"),
    )
    config_keys = ("hostPort", "apiKey", "username", "redashVersion")
    ports = (5000,)

    def base_url(self, url: str) -> str:
        return page_base(url, {root: 0 for root in _PAGE_ROOTS})

    def steps(self, target: Target) -> Sequence[Step]:
        return [
            reach_step(),
            Step("Fingerprint", fingerprint, gate=True,
                 description="/ping, /api/config and the login page say Redash (no credentials)"),
            Step("CheckAccess", check_access, gate=True, description="the API key opens /api/session as a user"),
            Step("GetDashboards", count_step("dashboards", _counter(
                "/api/dashboards", "dashboards",
                "give the user behind REDASH_API_KEY a group with the list_dashboards permission (e.g. default)")),
                 description="count dashboards"),
            Step("GetCharts", count_step("queries", _counter(
                "/api/queries", "queries",
                "give the user behind REDASH_API_KEY a group with the view_query permission (e.g. default)"),
                empty="0 queries visible to this key: the dashboards' widgets show no query's chart"),
                 mandatory=False, description="count queries (charts hang off queries)"),
        ]

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        settings: RedashSettings = target.settings  # type: ignore[assignment]
        base = result.canonical_url or target.url
        warnings = list(no_tls_field_warnings(base, settings, title=self.title, env_prefix="REDASH"))
        version = result.version
        if version is not None and not _readable_version(version):
            warnings.append(f"Redash reported the version {version!r}, which OpenMetadata's connector cannot "
                            f"compare: redashVersion is registered as the default {_DEFAULT_VERSION}")
            version = None
        return ConnectionConfig.build(
            self.service_type, warnings=tuple(warnings), hostPort=connector_host_port(base), apiKey=settings.apiKey,
            username=result.details.get("user"), redashVersion=version,
        )


plugin = RedashPlugin()
