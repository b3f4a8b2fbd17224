"""Qlik Cloud (SaaS): found from ``QCS_SERVER`` (the tenant URL) and ``QCS_API_KEY``, proven through the tenant's
REST API.

Steps (OpenMetadata's names where they mean the same):

``Reach``          something answers HTTP at the tenant URL (an anonymous ``/`` redirects to the login)
``Fingerprint``    no credentials: ``GET /api/v1/items?resourceType=app&limit=1`` or ``GET /api/v1/users/me``
                   answers 401/403 with Qlik's error JSON (``{"errors": [{"title", "code", ...}]}``). Qlik Cloud
                   has no unauthenticated version or health document, so this only says "an API that refuses in
                   Qlik's shape"; ``LOGIN-2`` ("No authentication configured for this hostname": no tenant at that
                   host) fails here, and so does any other server, before the key is sent
``CheckAccess``    ``GET /api/v1/users/me`` with ``Authorization: Bearer <API key>``: Qlik answers 301 to
                   ``/api/v1/users/<id>``, which is followed by hand only on the tenant's own origin (a 200 with
                   the user is taken too); the user (``name``, ``email``) and ``tenantId`` go to the report.
                   401 ``auth_failed``, 403 ``forbidden``
``GetDashboards``  apps, as OpenMetadata lists them: ``GET /api/v1/items?resourceType=app&limit=100``, following
                   the cursor in ``links.next.href`` (absolute; followed only on the tenant's origin), at most
                   200 pages and not past the target's deadline (then a lower bound and a warning); 403
                   ``forbidden``, 0 apps a warning
``GetSpaces``      (optional) ``GET /api/v1/spaces?limit=100`` the same way: OpenMetadata places apps in their
                   space and skips an app whose space it could not list

Quirks:

* OpenMetadata's REST helper returns None for a 401/403 whose body is ``{"errors": [...]}`` (it looks for a
  top-level ``code``): its own ``GetDashboards`` test passes with a wrong key and its app paging then repeats the
  refused request without end. scanner judges every answer by its status and body instead.
* OpenMetadata pages by cutting ``<hostPort>api`` out of ``links.next.href``: a tenant that answers next links on
  another origin or relative ones (reached through another hostname than the one registered) would make it
  request a wrong URL, with the same endless loop; that is a warning.
* Charts (sheets), data models and load scripts are read over the Engine's WebSocket at
  ``wss://<host>/app/<appId>``: scheme and port 443 fixed, the path dropped, the certificate verified by the
  ingestion host. scanner does not open it (the report's ``details.engine_websocket`` names it); a tenant URL that
  is not ``https`` on port 443 without a path gets a warning, as that part cannot work there.
* The connector has no TLS setting: a private CA (``QCS_CA_BUNDLE``) or ``QCS_VERIFY_SSL=false`` is a warning
  naming the ingestion host (``REQUESTS_CA_BUNDLE`` for REST; the WebSocket uses OpenSSL's default store,
  ``SSL_CERT_FILE``, or ``WEBSOCKET_CLIENT_CA_BUNDLE``).
* The instance is named after the tenant: ``https://acme.eu.qlikcloud.com`` is ``qlikcloud_acme_eu``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

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
from scanner.probe_kit import Signal, api_call, count_step, error_message, fingerprint, items_of, json_body, refused
from scanner.probe_kit import setting_name as _setting
from scanner.urls import connector_host_port, display_url, page_base

TITLE = "Qlik Cloud"
PAGE_SIZE = 100  # the items API's maximum, and OpenMetadata's API_LIMIT
MAX_PAGES = 200
DEADLINE_RESERVE = 5.0  # s left for the next steps: a long listing stops there with a lower bound, not an error
_REDIRECTS = (301, 302, 303, 307, 308)
_TENANT_HOST = re.compile(r"^(?P<tenant>[a-z0-9-]+)(?:\.(?P<region>[a-z0-9-]+))?\.qlikcloud(?:gov)?\.com\.?$")
# The first path segment of Qlik Cloud's own pages (a page URL copied from the browser is cut there).
_PAGES = dict.fromkeys(("hub", "sense", "api", "console", "explore", "catalog", "analytics", "insights",
                        "automations", "login", "home", "dataloadeditor", "spaces", "qmc"), 0)


class QlikCloudSettings(TargetSettings):
    token: SecretStr  # OpenMetadata's key name; filled from QCS_API_KEY

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()  # a trailing newline from `$(cat key-file)`
        if not token:
            raise ValueError("token (QCS_API_KEY) is empty")
        return SecretStr(token)


def _key(ctx: ProbeContext) -> str:
    return _setting(ctx.target, "token", "QCS_API_KEY")


def _server(ctx: ProbeContext) -> str:
    return _setting(ctx.target, "url", "QCS_SERVER")


def _credentials(ctx: ProbeContext) -> str:
    return (f"{_key(ctx)} (TOML token): an API key generated in this tenant (profile > Settings > API keys), not "
            f"expired or revoked, for a user allowed to use API keys; and that {_server(ctx)} is that tenant's URL")


def _rights(ctx: ProbeContext) -> str:
    return (f"give the user behind {_key(ctx)} access to the apps to ingest (a member of their spaces, or a role "
            "that may read them); a tenant admin can check the user's roles in the Administration activity center")


# -- Qlik's error JSON -----------------------------------------------------------------------------------------


def _qlik_errors(resp: Response) -> list[dict[str, Any]] | None:
    """The ``errors`` of Qlik's error JSON (``{"errors": [{"title", "code", ...}]}``), else None."""
    if "json" not in resp.content_type:
        return None
    try:
        body = resp.json()
    except HttpError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors or not all(isinstance(e, dict) for e in errors):
        return None
    if not all(isinstance(e.get("code"), str) or isinstance(e.get("title"), str) for e in errors):
        return None
    return errors


def _qlik_message(resp: Response) -> str:
    """``title (code): detail`` of Qlik's first error, else probe_kit's reading of the body."""
    errors = _qlik_errors(resp)
    if not errors:
        return error_message(resp)
    first = errors[0]
    text = str(first.get("title") or "").strip() or "error"
    if first.get("code"):
        text += f" ({first['code']})"
    if first.get("detail"):
        text += f": {first['detail']}"
    return text[:200]


def _refused(ctx: ProbeContext, resp: Response, what: str) -> StepFailed:
    if resp.status in _REDIRECTS:
        location = urlsplit(urljoin(resp.url, resp.headers.get("location", "")))
        return StepFailed(Status.ERROR, f"{what} answered {resp.status}, a redirect to "
                          f"{display_url(f'{location.scheme}://{location.netloc}{location.path}')}: not followed, as "
                          "the request carries the API key", f"check that {_server(ctx)} is the tenant's own URL, "
                          "not a proxy or a login page in front of it")
    failed = refused(resp, what, credentials=_credentials(ctx), rights=_rights(ctx))
    return StepFailed(failed.status, f"{what} answered {resp.status}: {_qlik_message(resp)}", failed.hint)


# -- Fingerprint -----------------------------------------------------------------------------------------------


def _no_tenant(resp: Response) -> bool:
    errors = _qlik_errors(resp) or [{}]
    return resp.status == 401 and errors[0].get("code") == "LOGIN-2"


def _refuses_in_qlik_shape(resp: Response) -> bool:
    return resp.status in (401, 403) and _qlik_errors(resp) is not None and not _no_tenant(resp)


def detect(ctx: ProbeContext) -> str:
    no_tenant: list[Response] = []

    def judge(resp: Response) -> bool:
        if _no_tenant(resp):
            no_tenant.append(resp)
        return _refuses_in_qlik_shape(resp)

    run = fingerprint(TITLE, [Signal("/api/v1/items refuses in Qlik's shape", "/api/v1/items?resourceType=app&limit=1",
                                     judge),
                              Signal("/api/v1/users/me refuses in Qlik's shape", "/api/v1/users/me", judge)],
                      need=1, hint=f"check that {_server(ctx)} is the tenant URL, https://<tenant>.<region>."
                      "qlikcloud.com (or the tenant's custom domain), not a proxy page or another tool")
    try:
        message = run(ctx)
    except StepFailed:
        if no_tenant:
            raise StepFailed(Status.NOT_DETECTED, f"no Qlik Cloud tenant at {display_url(ctx.target.url)}: "
                             f"{_qlik_message(no_tenant[0])}",
                             f"check the tenant URL in {_server(ctx)} (Qlik Cloud's hub shows it under About), "
                             "e.g. https://<tenant>.<region>.qlikcloud.com") from None
        raise
    return message.replace(" (version hidden)", "")  # Qlik Cloud is continuously delivered: it has no version


# -- CheckAccess and the counts --------------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def _get(ctx: ProbeContext, url: str, params: dict[str, Any] | None = None) -> Response:
    settings: QlikCloudSettings = ctx.target.settings  # type: ignore[assignment]
    return api_call(ctx, "GET", url, params=params, follow_redirects=False,
                    headers={"Authorization": f"Bearer {settings.token.get_secret_value()}",
                             "Accept": "application/json"})


def _base(ctx: ProbeContext) -> str:
    return (ctx.canonical_url or ctx.target.url).rstrip("/")


def _on_tenant(ctx: ProbeContext, url: str, what: str) -> str:
    """`url` (absolute, or relative to the tenant) when it is on the tenant's own origin, else a StepFailed: the
    key goes nowhere else."""
    absolute = urljoin(_base(ctx) + "/", url)
    if _origin(absolute) != _origin(_base(ctx)):
        parts = urlsplit(absolute)
        raise StepFailed(Status.ERROR, f"{what} points at {display_url(f'{parts.scheme}://{parts.netloc}')}, "
                         "not this tenant: the API key was not sent there",
                         f"set {_server(ctx)} to the tenant's own URL (the host Qlik Cloud answers with)")
    return absolute


def check_access(ctx: ProbeContext) -> str:
    what = "GET /api/v1/users/me"
    resp = _get(ctx, _base(ctx) + "/api/v1/users/me")
    if resp.status in _REDIRECTS:  # Qlik's documented answer: 301 to the user resource
        location = resp.headers.get("location", "")
        if not location:
            raise StepFailed(Status.ERROR, f"{what} answered {resp.status} without a Location")
        resp = _get(ctx, _on_tenant(ctx, location, f"{what} redirect"))
        what = f"{what} -> {urlsplit(resp.url).path}"
    if resp.status != 200:
        raise _refused(ctx, resp, what)
    body = json_body(resp, what)
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not isinstance(body.get("tenantId"), str):
        raise StepFailed(Status.ERROR, f"{what} answered JSON without a user (id, tenantId)",
                         f"check that {_server(ctx)} is the tenant URL, not a proxy or another service")
    name = next((body[k].strip() for k in ("email", "name", "subject") if isinstance(body.get(k), str)
                 and body[k].strip()), body["id"])
    ctx.details["user"] = name
    ctx.details["tenantId"] = body["tenantId"]
    ctx.details["engine_websocket"] = f"wss://{urlsplit(_base(ctx)).hostname}/app/<appId> (not probed)"
    status = body.get("status")
    if isinstance(status, str) and status not in ("active", ""):
        ctx.warn(f"the user behind {_key(ctx)} is {status!r} in this tenant, not active")
    return f"key of {name} accepted (tenant {body['tenantId']})"


def _om_prefix(ctx: ProbeContext) -> str:
    """What OpenMetadata's connector cuts from ``links.next.href``: ``f"{hostPort}api"``, with ``hostPort`` as pydantic
    prints the registered ``AnyUrl`` (a slash after the host)."""
    return connector_host_port(_base(ctx)).rstrip("/") + "/api"


def _cursor_count(ctx: ProbeContext, path: str, params: dict[str, Any], what: str) -> int:
    """Items of a Qlik list endpoint, following ``links.next.href`` on the tenant's origin, at most `MAX_PAGES`."""
    url: str = _base(ctx) + path
    query: dict[str, Any] | None = params
    total, seen, warned = 0, set(), False
    for page in range(MAX_PAGES):
        if page and ctx.remaining() < DEADLINE_RESERVE:
            ctx.warn(f"{what}: stopped counting after {total} as the target's deadline is near: the count is a lower "
                     "bound (raise --target-deadline for the whole count)")
            return total
        resp = _get(ctx, url, query)
        if resp.status != 200:
            raise _refused(ctx, resp, what)
        body = json_body(resp, what)
        total += len(items_of(body, what, "data"))
        links = body.get("links") if isinstance(body, dict) else None
        nxt = links.get("next") if isinstance(links, dict) else None
        href = nxt.get("href") if isinstance(nxt, dict) else None
        if not isinstance(href, str) or not href.strip():
            return total
        if not href.startswith(_om_prefix(ctx)) and not warned:
            warned = True
            ctx.warn(f"{what}: the tenant's next-page links ({display_url(href.split('?', 1)[0])}) do not start with "
                     f"{_om_prefix(ctx)}: OpenMetadata's connector pages by cutting that text out, so past the first "
                     f"{PAGE_SIZE} it would request a wrong URL (and repeat it without end); register the hostname "
                     "the tenant answers with")
        url, query = _on_tenant(ctx, href, f"{what}: links.next"), None
        if url in seen:
            raise StepFailed(Status.ERROR, f"{what}: the next-page link repeats; the listing does not advance",
                             "the tenant's paging looks broken: run again later")
        seen.add(url)
    ctx.warn(f"{what}: stopped counting after {MAX_PAGES} pages of {PAGE_SIZE}: the count is a lower bound")
    return total


def _apps(ctx: ProbeContext) -> int:
    return _cursor_count(ctx, "/api/v1/items", {"resourceType": "app", "limit": PAGE_SIZE},
                         "GET /api/v1/items?resourceType=app")


def _spaces(ctx: ProbeContext) -> str:
    try:
        count = _cursor_count(ctx, "/api/v1/spaces", {"limit": PAGE_SIZE}, "GET /api/v1/spaces")
    except StepFailed as exc:
        raise StepFailed(exc.status, exc.message + ": OpenMetadata lists spaces to place apps, and skips every app "
                         "whose space it could not list (personal-space apps are still ingested)", exc.hint) from None
    ctx.details["spaces"] = count  # 0 is normal: every app may sit in personal spaces
    return f"{count} spaces"


# -- the plugin --------------------------------------------------------------------------------------------


class QlikCloudPlugin(Plugin):
    name = "qlikcloud"
    title = TITLE
    service_type = "QlikCloud"
    settings_model = QlikCloudSettings
    env_vars = (
        EnvVar("QCS_SERVER", "url", help="the tenant URL, e.g. https://acme.eu.qlikcloud.com"),
        EnvVar("QCS_API_KEY", "token", secret=True, help="an API key of a user of that tenant"),
        *tls_env_vars("QCS"),
    )
    config_keys = ("hostPort", "token")
    ports = (443,)

    def base_url(self, url: str) -> str:
        return page_base(url, _PAGES)

    def instance_name(self, settings: TargetSettings) -> str | None:
        match = _TENANT_HOST.match(urlsplit(settings.url).hostname or "")
        if match is None:
            return None
        return "_".join(p for p in (match.group("tenant"), match.group("region")) if p).replace("-", "_")

    def steps(self, target: Target) -> Sequence[Step]:
        return [
            reach_step(),
            Step("Fingerprint", detect, gate=True,
                 description="the tenant's API refuses an anonymous call in Qlik's error shape (no credentials)"),
            Step("CheckAccess", check_access, gate=True, description="GET /api/v1/users/me with the API key"),
            Step("GetDashboards", count_step("apps", _apps),
                 description="list apps as OpenMetadata does (/api/v1/items?resourceType=app)"),
            Step("GetSpaces", _spaces, mandatory=False, description="list spaces (OpenMetadata places apps in them)"),
        ]

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        settings: QlikCloudSettings = target.settings  # type: ignore[assignment]
        base = (result.canonical_url or target.url).rstrip("/")
        warnings = list(no_tls_field_warnings(base, settings, title=self.title, env_prefix="QCS"))
        parts = urlsplit(base)
        if parts.scheme != "https" or (parts.port or 443) != 443 or parts.path.strip("/"):
            warnings.append(
                f"OpenMetadata's Qlik Cloud connector reads charts (sheets) and data models over the Engine WebSocket "
                f"at wss://{parts.hostname}/app/<appId>, with the scheme and port 443 fixed and no path: with "
                f"{display_url(base)} that part cannot work (apps and spaces, read over REST, can)")
        elif warnings:
            warnings.append("the Engine WebSocket (charts, data models) verifies the certificate with OpenSSL's "
                            "default store on the ingestion host (SSL_CERT_FILE) or WEBSOCKET_CLIENT_CA_BUNDLE")
        return ConnectionConfig.build(self.service_type, warnings=tuple(warnings),
                                      hostPort=connector_host_port(base), token=settings.token)


plugin = QlikCloudPlugin()
