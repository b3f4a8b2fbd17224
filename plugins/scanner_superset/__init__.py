"""Apache Superset: found from ``SUPERSET_URL`` & co., proven through its REST API.

Steps (OpenMetadata's names where they mean the same):

``Reach``          something answers HTTP at the URL
``Fingerprint``    two independent signals: ``/health`` answers ``OK`` *and* the login page says
                   Superset or ``/version`` has a ``version_string`` (read without credentials)
``CheckAccess``    ``POST /api/v1/security/login``: 401 = wrong credentials; 400 = e.g. a provider
                   the server does not allow (both ``auth_failed``)
``GetDashboards``  count via ``/api/v1/dashboard/``; 403 = ``forbidden`` (Public role); 0 = warning
``GetCharts``      same for ``/api/v1/chart/``

A page URL copied from the browser (``/superset/dashboard/5/?native_filters_key=...``) is cut to the instance's
base before naming (`SupersetPlugin.base_url`), keeping a path prefix it is served under (``/bi/superset``);
``Fingerprint`` then tries that base and shorter ones, registers the one it proves, and names them all when none
is Superset.

Credentials are checked with the login call and the list calls, never with ``/api/v1/me/``: a
Public-role user gets 403 there although its login is valid. A token the server rejects answers 422.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import unescape
from typing import Literal

from pydantic import SecretStr, field_validator

from scanner import urls
from scanner.http import HttpError
from scanner.openmetadata.connector_tls import ssl_fields
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
from scanner.secrets import clip

# The first path segment of Superset's own pages and API (after the instance's base, which may be a prefix):
_PAGE_ROOTS = frozenset({"login", "logout", "superset", "dashboard", "chart", "explore", "sqllab", "api", "health",
                         "healthcheck", "ping", "tablemodelview", "databaseview", "savedqueryview", "dataset",
                         "annotationlayer", "csstemplatemodelview", "rowlevelsecurity", "alert", "report", "users",
                         "roles", "r", "static"})
_BARE_PAGES = frozenset({"login", "logout", "explore", "sqllab", "health", "healthcheck", "ping"})
_LOGIN_MARKERS = ("<title>Superset</title>", 'alt="Superset"')
_VERSION_IN_PAGE = re.compile(r"&#34;version_string&#34;:\s*&#34;([0-9A-Za-z.\-+]+)&#34;|"
                              r"&quot;version_string&quot;:\s*&quot;([0-9A-Za-z.\-+]+)&quot;")


class SupersetSettings(TargetSettings):
    username: str
    password: SecretStr
    provider: Literal["db", "ldap"] = "db"
    ingestion_ca_path: str | None = None  # the CA file's path on the ingestion host (see connector_tls)

    @field_validator("provider", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("ingestion_ca_path")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(/|[A-Za-z]:[\\/])[^\n]*$", value.strip()):
            raise ValueError("ingestion_ca_path must be an absolute path on the ingestion host")
        return value.strip() if value else None

    @field_validator("password")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("password is empty")
        return value


def _is_page(segments: list[str]) -> bool:
    """Whether `segments` (a path after a candidate base) name one of Superset's own pages or its API."""
    if not segments or segments[0] not in _PAGE_ROOTS:
        return False
    first, rest = segments[0], segments[1:]
    if first == "superset":  # /superset/welcome/, /superset/dashboard/5/; a prefix named superset is no page
        return bool(rest) and rest[0] != "superset" and not (len(rest) > 1 and rest[0] in _PAGE_ROOTS
                                                             and rest[1] == "list")
    return bool(rest) or first in _BARE_PAGES


def page_base(url: str) -> str:
    """The instance's base from a URL copied from the browser: query and fragment dropped, and a Superset page
    path cut (``/superset/dashboard/5/?native_filters_key=...`` -> the base), keeping a path prefix the
    instance is served under (``/bi/superset/superset/welcome/`` -> ``/bi/superset``). Text that is not an
    http(s) URL is returned as typed, for validation to report."""
    return urls.page_base(url, _is_page)


def candidate_bases(url: str) -> list[str]:
    """The URL as given, then shorter bases, each cut where a Superset UI/API path could start
    (``.../superset/welcome`` -> root; ``/bi/superset`` -> ``/bi/superset``, then ``/bi``)."""
    bases = [url]
    origin, segments = _split(url)
    for n in range(len(segments) - 1, -1, -1):
        if segments[n] in _PAGE_ROOTS:
            base = origin + "".join("/" + s for s in segments[:n])
            if base not in bases:
                bases.append(base)
    return bases


def _split(url: str) -> tuple[str, list[str]]:
    scheme, _, rest = url.partition("://")
    authority, _, path = rest.partition("/")
    return f"{scheme}://{authority}", [s for s in path.split("/") if s]


def fingerprint(ctx: ProbeContext) -> str:
    http = ctx.http
    for base in candidate_bases(ctx.target.url):
        health = http.get(base + "/health")
        if health.status != 200 or health.text.strip() != "OK":
            continue
        version = None
        signals = ["/health OK"]
        resp = http.get(base + "/version")
        if resp.status == 200 and "json" in resp.content_type:
            try:
                body = resp.json()
            except HttpError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("version_string"), str):
                version = body["version_string"] or None
                signals.append("/version")
        login = http.get(base + "/login/")
        if login.status == 200 and any(m in login.text for m in _LOGIN_MARKERS):
            signals.append("login page")
            match = _VERSION_IN_PAGE.search(login.text)
            if version is None and match:
                version = unescape(match.group(1) or match.group(2))
        if len(signals) >= 2:
            ctx.canonical_url = base
            ctx.version = version
            return f"Superset {version or '(version hidden)'} at {base} ({', '.join(signals)})"
    tried = candidate_bases(ctx.target.url)
    raise StepFailed(
        Status.NOT_DETECTED,
        f"no Superset here (tried {', '.join(tried)}): /health did not answer OK with a Superset login page or "
        "/version",
        "check that the URL is the Superset web address, with the path prefix it is served under if any "
        "(not a proxy page or another tool)",
    )


def check_access(ctx: ProbeContext) -> str:
    settings: SupersetSettings = ctx.target.settings  # type: ignore[assignment]
    base = ctx.canonical_url or ctx.target.url
    resp = ctx.http.post(
        base + "/api/v1/security/login", credentials=True,
        json={"username": settings.username, "password": settings.password.get_secret_value(),
              "provider": settings.provider, "refresh": False},
    )
    if resp.status == 200:
        token = resp.json().get("access_token") if "json" in resp.content_type else None
        if not token:
            raise StepFailed(Status.ERROR, "login answered 200 without an access_token")
        ctx.facts["token"] = token
        return f"logged in as {settings.username!r} (provider {settings.provider})"
    if resp.status == 401:
        raise StepFailed(Status.AUTH_FAILED, f"Superset refused the login of {settings.username!r} (401)",
                         "check SUPERSET_USERNAME / SUPERSET_PASSWORD")
    if resp.status == 400:
        reason = _message(resp)
        hint = ("set SUPERSET_PROVIDER to the provider this server allows (db or ldap)"
                if "provider" in reason.lower() else "check the login settings")
        raise StepFailed(Status.AUTH_FAILED, f"login refused (400): {reason}", hint)
    raise StepFailed(Status.ERROR, f"login answered {resp.status}: {_message(resp)}")


def _counter(resource: str, label: str):
    def run(ctx: ProbeContext) -> str:
        base = ctx.canonical_url or ctx.target.url
        resp = ctx.http.get(
            f"{base}/api/v1/{resource}/", params={"q": "(columns:!(id),page_size:1)"},
            headers={"Authorization": f"Bearer {ctx.facts['token']}"},
        )
        if resp.status == 403:
            raise StepFailed(Status.FORBIDDEN, f"not allowed to list {label} (403)",
                             f"give the user a role that can read {label} (e.g. Gamma plus dashboard access)")
        if resp.status in (401, 422):
            raise StepFailed(Status.AUTH_FAILED, f"the login token was rejected ({resp.status}: {_message(resp)})",
                             "check the user is active and the server's JWT settings")
        if resp.status != 200:
            raise StepFailed(Status.ERROR, f"listing {label} answered {resp.status}: {_message(resp)}")
        count = resp.json().get("count")
        if not isinstance(count, int):
            raise StepFailed(Status.ERROR, f"listing {label} gave no count")
        ctx.details[label] = count
        if count == 0:
            ctx.warn(f"0 {label} visible to this user: OpenMetadata would ingest none")
        return f"{count} {label}"

    return run


def _message(resp) -> str:
    try:
        body = resp.json()
    except HttpError:
        return clip(resp.text.strip(), 120).strip() or "(empty body)"
    if isinstance(body, dict):
        message = body.get("message") or body.get("msg") or body
        if isinstance(message, dict):
            message = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                                for k, v in message.items())
        return clip(message, 200)
    return clip(body, 200)


class SupersetPlugin(Plugin):
    name = "superset"
    title = "Apache Superset"
    service_type = "Superset"
    settings_model = SupersetSettings
    env_vars = (
        EnvVar("SUPERSET_URL", "url", help="base URL, e.g. https://superset.example.com"),
        EnvVar("SUPERSET_USERNAME", "username"),
        EnvVar("SUPERSET_PASSWORD", "password", secret=True),
        EnvVar("SUPERSET_PROVIDER", "provider", help="db (default) or ldap"),
        *tls_env_vars("SUPERSET"),
        EnvVar("SUPERSET_INGESTION_CA_PATH", "ingestion_ca_path",
               help="path of that CA file on the OpenMetadata ingestion host (registered as sslConfig)"),
    )
    config_keys = ("hostPort", "connection")
    ports = (8088,)

    def base_url(self, url: str) -> str:
        return page_base(url)

    def steps(self, target: Target) -> Sequence[Step]:
        return [
            reach_step(),
            Step("Fingerprint", fingerprint, gate=True, description="Superset answers /health and its login page"),
            Step("CheckAccess", check_access, gate=True, description="log in through the REST API"),
            Step("GetDashboards", _counter("dashboard", "dashboards"), description="list dashboards"),
            Step("GetCharts", _counter("chart", "charts"), description="list charts"),
        ]

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        settings: SupersetSettings = target.settings  # type: ignore[assignment]
        host = result.canonical_url or target.url
        tls, warnings = ssl_fields(host, settings, title=self.title, env_prefix="SUPERSET", ca_form="path",
                                   ingestion_ca_path=settings.ingestion_ca_path)
        return ConnectionConfig.build(
            self.service_type, warnings=warnings, hostPort=host,
            connection={"provider": settings.provider, "username": settings.username,
                        "password": settings.password, **tls},
        )


plugin = SupersetPlugin()
