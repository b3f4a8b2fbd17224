"""Grafana (self-hosted and Grafana Cloud): found from ``GRAFANA_URL`` and ``GRAFANA_SERVICE_ACCOUNT_TOKEN``,
proven through its HTTP API.

Steps (OpenMetadata's names where they mean the same):

``Reach``          something answers HTTP at the URL
``Fingerprint``    two independent signals read without credentials: ``/api/health`` answers JSON with
                   ``database`` (and ``version``, unless the server hides it) *and* ``/login`` is Grafana's page
                   (``<title>Grafana</title>``; the version from ``"subTitle":"Grafana v..."`` when shown);
                   a 503 with ``database: failing`` is a Grafana that is unhealthy (``error``)
``CheckAccess``    ``GET /api/org`` with ``Authorization: Bearer <token>`` (OpenMetadata's own test call):
                   401 ``auth_failed``, 403 ``forbidden`` (a service account without a basic role)
``GetDashboards``  ``/api/search?type=dash-db&page=N&limit=1000`` paged until a short page, as OpenMetadata
                   lists them; 0 is a warning
``GetFolders``     ``/api/folders`` paged the same way (optional: folders are not needed to ingest)

Quirks:

- The token goes out only after the fingerprint passed, only in the ``Authorization`` header, and never
  follows a redirect. A token that does not start with ``glsa_`` (a legacy API key, which Grafana stopped
  supporting in January 2025) is a warning, as OpenMetadata's connector logs it; the server decides.
- ``[auth.anonymous] hide_version`` drops ``version``/``commit`` from ``/api/health`` and the login page: the
  version is then unknown, which is not a failure.
- A Grafana served under a sub-path (``root_url`` + ``serve_from_sub_path``) keeps it: ``hostPort`` is
  registered as ``https://host/grafana/`` (a path always ends in ``/``), which OpenMetadata's client joins with
  ``/api/...``. A page URL copied from the browser (``/d/<uid>/<slug>?orgId=1``) is cut to the base first.
- OpenMetadata's Grafana connector has ``verifySSL`` (a boolean) and no CA setting: a private CA has to be
  trusted by the ingestion host itself (``REQUESTS_CA_BUNDLE``); scanner registers ``verifySSL: true`` and
  says so in a warning. ``GRAFANA_VERIFY_SSL=false`` registers ``verifySSL: false``.
- OpenMetadata also reads ``/api/datasources`` (lineage only; errors there are swallowed): Grafana grants it
  to the Admin role, which this probe does not require.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr, field_validator

from scanner.http import HttpError, Response
from scanner.openmetadata.connector_tls import verify_flag
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
    fingerprint,
    items_of,
    json_body,
    page_has,
    paged_count,
    refused,
)
from scanner.urls import connector_host_port, page_base

PAGE_SIZE = 1000  # Grafana's own default search limit (its maximum is 5000)
MAX_PAGES = 200
TOKEN_VAR = "GRAFANA_SERVICE_ACCOUNT_TOKEN"
CREDENTIALS = f"{TOKEN_VAR} (TOML apiKey): a service account token of this Grafana, not expired or revoked"
RIGHTS = (f"give the service account behind {TOKEN_VAR} the Viewer role at least (Administration > Service "
          "accounts; Admin also lets OpenMetadata read data sources for lineage)")
_LOGIN = page_has("<title>Grafana</title>",
                  version_pattern=r'"(?:subTitle|versionString)":\s*"Grafana v([0-9][0-9A-Za-z.+\-]*)')
# The first path segment of Grafana's own pages (after the instance's base, which may be a sub-path), and how many
# segments must follow it for the path to be that page rather than part of a prefix.
_PAGES = {"d": 1, "d-solo": 1, "goto": 1, "a": 1, "dashboard": 1, "dashboards": 0, "login": 0, "explore": 0,
          "alerting": 0, "playlists": 0, "connections": 0, "admin": 0, "public-dashboards": 0, "datasources": 0}


class GrafanaSettings(TargetSettings):
    apiKey: SecretStr  # OpenMetadata's key name; filled from GRAFANA_SERVICE_ACCOUNT_TOKEN

    @field_validator("apiKey")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()  # a trailing newline from `$(cat token-file)`
        if not token:
            raise ValueError("apiKey (GRAFANA_SERVICE_ACCOUNT_TOKEN) is empty")
        return SecretStr(token)


def _health_judge(seen: dict[str, Any]):
    """``/api/health``: JSON with a ``database`` string; the version when shown. Notes what it saw in `seen`."""

    def judge(resp: Response) -> str | bool | None:
        if "json" not in resp.content_type:
            return None
        try:
            body = resp.json()
        except HttpError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("database"), str):
            return None
        seen.update(status=resp.status, database=body["database"])
        if resp.status != 200:
            return None
        version = body.get("version")
        return version.strip() if isinstance(version, str) and version.strip() else True

    return judge


def detect(ctx: ProbeContext) -> str:
    health: dict[str, Any] = {}
    run = fingerprint("Grafana", [Signal("/api/health", "/api/health", _health_judge(health)),
                                  Signal("login page", "/login", _LOGIN)],
                      hint="check that GRAFANA_URL is the Grafana web address, with the sub-path it is served "
                           "under if any (not a proxy page or another tool)")
    try:
        return run(ctx)
    except StepFailed:
        if health.get("status") == 503 and health.get("database") == "failing":
            raise StepFailed(Status.ERROR, "Grafana answers, but /api/health says database: failing (HTTP 503): "
                             "the server is unhealthy", "check the Grafana server's database and logs, then run "
                             "again") from None
        raise


def _get(ctx: ProbeContext, path: str, **params: Any) -> Response:
    settings: GrafanaSettings = ctx.target.settings  # type: ignore[assignment]
    base = ctx.canonical_url or ctx.target.url
    return api_call(ctx, "GET", base + path, params=params or None,
                    headers={"Authorization": f"Bearer {settings.apiKey.get_secret_value()}",
                             "Accept": "application/json"})


def _ok(resp: Response, what: str) -> Any:
    if resp.status != 200:
        raise refused(resp, what, credentials=CREDENTIALS, rights=RIGHTS)
    return json_body(resp, what)


def check_access(ctx: ProbeContext) -> str:
    body = _ok(_get(ctx, "/api/org"), "GET /api/org")
    if not isinstance(body, dict) or "id" not in body:
        raise StepFailed(Status.ERROR, "GET /api/org answered JSON without an organization",
                         "the URL may point at a proxy or another service rather than Grafana's API")
    name = body.get("name")
    ctx.details["organization"] = name
    settings: GrafanaSettings = ctx.target.settings  # type: ignore[assignment]
    if not settings.apiKey.get_secret_value().startswith("glsa_"):
        ctx.warn(f"{TOKEN_VAR} does not look like a service account token (glsa_...): Grafana dropped legacy API "
                 "keys in January 2025 and OpenMetadata's connector warns about it; create a service account token")
    return f"organization {name!r} (id {body['id']})"


def _lister(path: str, **params: Any):
    def count(ctx: ProbeContext) -> int:
        def page(n: int) -> list[Any]:
            return items_of(_ok(_get(ctx, path, **params, page=n, limit=PAGE_SIZE), f"GET {path}"), f"GET {path}")

        return paged_count(page, page_size=PAGE_SIZE, max_pages=MAX_PAGES)

    return count


def _folders(ctx: ProbeContext) -> str:
    count = _lister("/api/folders")(ctx)
    ctx.details["folders"] = count  # 0 is normal: every dashboard may sit in the General level
    return f"{count} folders"


class GrafanaPlugin(Plugin):
    name = "grafana"
    title = "Grafana"
    service_type = "Grafana"
    settings_model = GrafanaSettings
    env_vars = (
        EnvVar("GRAFANA_URL", "url", help="base URL, e.g. https://grafana.example.com or https://acme.grafana.net"),
        EnvVar(TOKEN_VAR, "apiKey", secret=True, help="service account token (glsa_...), Viewer role at least"),
        *tls_env_vars("GRAFANA"),
    )
    config_keys = ("hostPort", "apiKey", "verifySSL")
    ports = (3000,)

    def base_url(self, url: str) -> str:
        return page_base(url, _PAGES)

    def steps(self, target: Target) -> Sequence[Step]:
        return [
            reach_step(),
            Step("Fingerprint", detect, gate=True, description="Grafana answers /api/health and its login page"),
            Step("CheckAccess", check_access, gate=True, description="GET /api/org with the service account token"),
            Step("GetDashboards", count_step("dashboards", _lister("/api/search", type="dash-db")),
                 description="list dashboards as OpenMetadata does (/api/search?type=dash-db)"),
            Step("GetFolders", _folders, mandatory=False, description="list folders"),
        ]

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        settings: GrafanaSettings = target.settings  # type: ignore[assignment]
        host = result.canonical_url or target.url
        verify, warnings = verify_flag(host, settings, title=self.title, env_prefix="GRAFANA")
        return ConnectionConfig.build(self.service_type, warnings=warnings, hostPort=connector_host_port(host),
                                      apiKey=settings.apiKey, verifySSL=verify)


plugin = GrafanaPlugin()
