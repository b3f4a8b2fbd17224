"""Domo (cloud): found from ``DOMO_INSTANCE``, ``DOMO_CLIENT_ID`` and ``DOMO_CLIENT_SECRET`` (optional
``DOMO_ACCESS_TOKEN``, API host ``DOMO_API_HOST``), proven through Domo's public API and the instance's card API,
as OpenMetadata's DomoDashboard connector uses them.

Steps (OpenMetadata's names where they mean the same):

``Reach``          something answers HTTP at the instance URL (``DOMO_INSTANCE``, no credentials)
``CheckAccess``    ``POST https://<DOMO_API_HOST>/oauth/token`` with HTTP Basic ``client id:secret`` and
                   ``grant_type=client_credentials``, exactly as pydomo (OpenMetadata's Domo library) asks for
                   its token: the answer names the **customer** (the instance the client belongs to), the
                   client's role and scopes (reported in the details). 401 = ``auth_failed``; an answer that is no
                   OAuth token (a 404, a web page) = ``not_detected``
``GetDashboards``  ``GET /v1/pages?limit=50&offset=N`` with the token, paged until an empty list as pydomo's
                   ``page_list`` (OpenMetadata's test step and dashboard list) does; the top-level pages are
                   OpenMetadata's dashboards. 403 (a client without the ``dashboard`` scope) = ``forbidden``;
                   0 = warning
``GetCharts``      with a developer token: ``GET <instance>/api/content/v1/cards`` with ``X-DOMO-Developer-Token``
                   (OpenMetadata's own ``GetCharts`` check: 401 = ``auth_failed``), then each listed page's
                   ``cardIds`` (``GET /v1/pages/<id>``, as OpenMetadata's source reads them): the charts it
                   would ingest. Without a developer token: a warning, as OpenMetadata reads every card's details
                   with one and ingests the pages without charts otherwise

No fingerprint: Domo is a cloud service with fixed vendor hosts (``api.domo.com`` and ``<name>.domo.com``) and
nothing to read anonymously that only Domo answers. Identity is proven through the credential: the token
endpoint's OAuth answer (with ``customer``) on the configured API host. The client secret goes only to
``https://<DOMO_API_HOST>/oauth/token``, the access token it yields only to that host, and the developer token
only to the instance; none follows a redirect.

Quirks:

* ``DOMO_API_HOST`` / ``apiHost`` is a host[:port] **without scheme**, as OpenMetadata registers it: pydomo
  prepends ``https://`` (``"https://api.domo.com"`` would become ``https://https://...``). So the probe always
  speaks https to it; an ``https://`` typed in front is dropped, ``http://`` is refused (pydomo cannot speak it).
  A test or demo points it at a loopback fake with TLS and ``DOMO_CA_BUNDLE``. ``apiHost`` is registered only when
  it is not OpenMetadata's default ``api.domo.com``.
* The instance's first label is Domo's instance name (``acmecompany.domo.com`` -> ``acmecompany``), which the token
  answer calls ``customer``: when the two differ, the client belongs to another instance (warning). The service is
  named after it (``domo_acmecompany``). A page URL copied from the browser (``/page/123``) is cut to the instance.
* OpenMetadata 2.0.7 ingests the top-level pages only (subpages, nested in ``children``, are counted in the
  step's message, not ingested), and a card once per page it sits on; scanner counts distinct cards.
* The server's test-connection definition lists only ``GetDashboards``: OpenMetadata's own test never checks the
  developer token; scanner does.
* OpenMetadata's Domo connector has no TLS setting: pydomo and its instance client verify against the ingestion
  host's trust store (``REQUESTS_CA_BUNDLE``), so a private CA or ``DOMO_VERIFY_SSL=false`` gets a warning naming
  the ingestion host. One ``DOMO_CA_BUNDLE`` / ``DOMO_VERIFY_SSL`` applies to both hosts.
* 429 is retried as ``Retry-After`` asks, within the target's deadline (pydomo itself raises on it).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator

from scanner.http import ConnectFailed, HttpError, Response, TimedOut, TlsFailed
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
from scanner.probe_kit import api_call, count_step, error_message, items_of, json_body, refused, setting_name
from scanner.secrets import clip, register
from scanner.urls import connector_host_port, normalize_base_url, page_base

TITLE = "Domo"
DEFAULT_API_HOST = "api.domo.com"  # DomoDashboardConnection.apiHost's default in OpenMetadata's schema
PAGE_SIZE = 50  # pydomo's page size (the API's maximum)
MAX_LIST_PAGES = 400  # 20,000 pages: an endless listing is an error, not a hang
MAX_PAGE_READS = 500  # pages whose cards are counted; past that the count is a lower bound
_DOMO_SUFFIX = ".domo.com"
# The first path segment of the instance's own pages (a page URL copied from the browser is cut there)
_PAGE_ROOTS = {"page": 0, "auth": 0, "kpis": 0, "datacenter": 0, "admin": 0, "home": 0, "api": 0, "cards": 0,
               "dataflows": 0, "workflows": 0, "appstore": 0, "social": 0, "profile": 0, "search": 0}


class DomoSettings(TargetSettings):
    """``url`` is the instance (``DOMO_INSTANCE``, OpenMetadata's ``instanceDomain``); the other keys are
    OpenMetadata's own."""

    clientId: str  # noqa: N815
    secretToken: SecretStr  # noqa: N815
    accessToken: SecretStr | None = None  # noqa: N815 - a developer token of the instance
    apiHost: str = DEFAULT_API_HOST  # noqa: N815 - host[:port], no scheme

    @field_validator("clientId")
    @classmethod
    def _client_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("clientId (DOMO_CLIENT_ID) is empty")
        return value.strip()

    @field_validator("secretToken")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("secretToken (DOMO_CLIENT_SECRET) is empty")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("accessToken")
    @classmethod
    def _developer_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # DOMO_ACCESS_TOKEN= (empty): no developer token
        return SecretStr(value.get_secret_value().strip())

    @field_validator("apiHost")
    @classmethod
    def _api_host(cls, value: str) -> str:
        return api_host(value)


def api_host(value: str) -> str:
    """``apiHost`` as OpenMetadata registers it: ``host[:port]`` (lower case, no scheme, no path, no :443); a
    leading ``https://`` and a trailing ``/`` are dropped, ``http://`` is refused. Raises ValueError."""
    text = value.strip()
    if re.match(r"(?i)^https://", text):
        text = text[len("https://"):]
    elif "://" in text:
        raise ValueError(f"{value.strip()!r}: Domo's API host (apiHost) is a host[:port] without scheme, spoken to "
                         "over https only (pydomo, which OpenMetadata uses, prepends https://)")
    text = text.rstrip("/")
    if not text or any(c in text for c in "/?#@ "):
        raise ValueError(f"{value.strip()!r}: Domo's API host (apiHost) is a host[:port] without scheme or path, "
                         f"e.g. {DEFAULT_API_HOST}")
    try:
        base = normalize_base_url("https://" + text)
    except ValueError as exc:
        raise ValueError(f"Domo's API host (apiHost): {exc}") from None
    return base[len("https://"):]


def instance_label(url: str) -> str | None:
    """Domo's instance name from an instance URL (``https://acmecompany.domo.com`` -> ``acmecompany``), or None for
    a host that is not ``<name>.domo.com``."""
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith(_DOMO_SUFFIX) and host.count(".") == 2:
        return host[: -len(_DOMO_SUFFIX)] or None
    return None


# -- names for hints ---------------------------------------------------------------------------------------


def _names(target: Target) -> dict[str, str]:
    return {"instance": setting_name(target, "url", "DOMO_INSTANCE"),
            "client": setting_name(target, "clientId", "DOMO_CLIENT_ID"),
            "secret": setting_name(target, "secretToken", "DOMO_CLIENT_SECRET"),
            "token": setting_name(target, "accessToken", "DOMO_ACCESS_TOKEN"),
            "api": setting_name(target, "apiHost", "DOMO_API_HOST")}


def _client_credentials(target: Target) -> str:
    n = _names(target)
    return (f"{n['client']} and {n['secret']} (TOML clientId/secretToken): an API client created at "
            f"developer.domo.com (My Account > Manage clients) by a user of the instance in {n['instance']}")


def _oauth_message(resp: Response) -> str:
    """An OAuth2 error (``error`` + ``error_description``), else the gateway's ``message``, cut short."""
    try:
        body = resp.json()
    except HttpError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body.get("error_description"):
        return clip(f"{body['error']}: {body['error_description']}", 200)
    return error_message(resp)


def _settings(ctx: ProbeContext) -> DomoSettings:
    return ctx.target.settings  # type: ignore[return-value]


# -- CheckAccess ----------------------------------------------------------------------------------------------


def _api_base(ctx: ProbeContext) -> str:
    return "https://" + _settings(ctx).apiHost


def _token_request(ctx: ProbeContext) -> Response:
    settings = _settings(ctx)
    pair = f"{settings.clientId}:{settings.secretToken.get_secret_value()}"
    try:
        raw = pair.encode("latin-1")  # as requests' HTTPBasicAuth (pydomo) encodes it
    except UnicodeEncodeError:
        raw = pair.encode("utf-8")
    basic = base64.b64encode(raw).decode("ascii")
    register(basic)
    names = _names(ctx.target)
    try:
        return api_call(ctx, "POST", _api_base(ctx) + "/oauth/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": f"Basic {basic}", "Accept": "application/json"})
    except TlsFailed as exc:
        if "does not speak TLS" in str(exc):
            raise StepFailed(Status.TLS_ERROR, f"{exc}: the Domo API host answers plain HTTP",
                             f"Domo's API is https only (pydomo, which OpenMetadata uses, prepends https://): point "
                             f"{names['api']} at the https API host (host[:port], no scheme)") from None
        raise
    except (ConnectFailed, TimedOut) as exc:
        raise StepFailed(Status.UNREACHABLE, f"Domo's API host {settings.apiHost}: {exc}",
                         f"check {names['api']} ({DEFAULT_API_HOST} unless Domo gave your instance another API "
                         "host; host[:port], no scheme) and that this machine can reach it") from None


def check_access(ctx: ProbeContext) -> str:
    settings = _settings(ctx)
    names = _names(ctx.target)
    resp = _token_request(ctx)
    what = "POST /oauth/token"
    if resp.status in (400, 401) and "json" in resp.content_type:
        raise StepFailed(Status.AUTH_FAILED, f"Domo did not accept the API client ({what} answered {resp.status}: "
                         f"{_oauth_message(resp)})", f"check {_client_credentials(ctx.target)}")
    if resp.status in (403, 429) or resp.status >= 500:
        raise refused(resp, what, credentials=_client_credentials(ctx.target))
    body: Any = None
    if resp.status == 200 and "json" in resp.content_type:
        try:
            body = resp.json()
        except HttpError:
            body = None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token.strip():
        raise StepFailed(Status.NOT_DETECTED, f"no Domo API at {settings.apiHost}: {what} answered {resp.status} "
                         f"{resp.content_type or 'without a content-type'}, not an OAuth access token",
                         f"check {names['api']}: Domo's API host ({DEFAULT_API_HOST}), host[:port] without scheme")
    register(token)
    ctx.facts["token"] = token
    customer = body.get("customer")
    role = body.get("role")
    scopes = body.get("scope") if isinstance(body.get("scope"), str) else ""
    ctx.facts["scopes"] = set(scopes.split())
    ctx.details.update(customer=customer, role=role, scope=scopes)
    expected = instance_label(ctx.target.url)
    if expected and isinstance(customer, str) and customer.lower() != expected:
        ctx.warn(f"the API client belongs to Domo customer {customer!r}, but {names['instance']} is the instance "
                 f"{expected!r}: OpenMetadata would list {customer!r}'s pages and read cards from {expected!r}; "
                 f"use a client of {expected!r} (or fix {names['instance']})")
    return f"client accepted by Domo for customer {customer!r} (role {role}, scopes: {scopes or 'none given'})"


# -- GetDashboards ---------------------------------------------------------------------------------------------


def _api(ctx: ProbeContext, path: str, params: dict[str, Any] | None = None) -> Response:
    return api_call(ctx, "GET", _api_base(ctx) + path, params=params,
                    headers={"Authorization": f"bearer {ctx.facts['token']}", "Accept": "application/json"})


def _page_refusal(ctx: ProbeContext, resp: Response, what: str) -> StepFailed:
    scopes = ctx.facts.get("scopes") or set()
    names = _names(ctx.target)
    rights = (f"give the API client behind {names['client']} the dashboard scope (developer.domo.com > My Account "
              "> Manage clients) and a user who may see the pages")
    if resp.status in (401, 403) and scopes and "dashboard" not in scopes:
        return StepFailed(Status.FORBIDDEN, f"{what} answered {resp.status}: {_oauth_message(resp)} (the client's "
                          f"scopes are {' '.join(sorted(scopes))}: no dashboard scope)", rights)
    if resp.status == 403:
        return StepFailed(Status.FORBIDDEN, f"{what} answered 403: {_oauth_message(resp)}", rights)
    return refused(resp, what, credentials=_client_credentials(ctx.target), rights=rights)


def count_pages(ctx: ProbeContext) -> int:
    ids: list[Any] = []
    subpages = 0
    for n in range(MAX_LIST_PAGES):
        resp = _api(ctx, "/v1/pages", {"limit": PAGE_SIZE, "offset": n * PAGE_SIZE})
        if resp.status != 200:
            raise _page_refusal(ctx, resp, "GET /v1/pages")
        items = items_of(json_body(resp, "GET /v1/pages"), "GET /v1/pages")
        if not items:
            ctx.facts["pages"] = ids
            ctx.facts["subpages"] = subpages
            return len(ids)
        for item in items:
            if isinstance(item, dict) and "id" in item:
                ids.append(item["id"])
                subpages += _nested(item)
    raise StepFailed(Status.ERROR, f"GET /v1/pages did not end after {MAX_LIST_PAGES} pages of {PAGE_SIZE}",
                     "the server's paging looks broken")


def _nested(page: dict[str, Any]) -> int:
    children = page.get("children")
    if not isinstance(children, list):
        return 0
    return sum(1 + _nested(c) for c in children if isinstance(c, dict))


def get_dashboards(ctx: ProbeContext) -> str:
    text = count_step("dashboards", count_pages, empty="0 pages visible to this API client: OpenMetadata would "
                      "ingest no dashboard (check the user behind the client may see pages)")(ctx)
    subpages = ctx.facts.get("subpages") or 0
    if subpages:
        plural = "s" if subpages != 1 else ""
        text += f" (and {subpages} subpage{plural} below them, which OpenMetadata does not ingest)"
    return text.replace("dashboards", "pages (dashboards)", 1)


# -- GetCharts -------------------------------------------------------------------------------------------------


def _check_developer_token(ctx: ProbeContext, token: SecretStr) -> None:
    names = _names(ctx.target)
    url = ctx.target.url.rstrip("/") + "/api/content/v1/cards"
    resp = api_call(ctx, "GET", url, headers={"X-DOMO-Developer-Token": token.get_secret_value(),
                                              "Accept": "application/json"})
    what = "GET <instance>/api/content/v1/cards"
    credentials = (f"{names['token']} (TOML accessToken): a developer token of the instance in {names['instance']} "
                   "(Admin > Authentication > Access tokens), not expired; or leave it unset (OpenMetadata then "
                   "ingests the pages without charts)")
    if resp.status in (401, 403, 429) or resp.status >= 500:
        raise refused(resp, what, credentials=credentials,
                      rights=f"give the user behind {names['token']} access to the cards")
    if resp.status != 200 or "json" not in resp.content_type:
        raise StepFailed(Status.NOT_DETECTED, f"{what} answered {resp.status} "
                         f"{resp.content_type or 'without a content-type'}: no Domo card API at the instance",
                         f"check {names['instance']} is the Domo instance's address, e.g. https://acmecompany.domo.com")


def count_cards(ctx: ProbeContext) -> int:
    pages = list(ctx.facts.get("pages") or [])
    cards: set[Any] = set()
    missing = 0
    for page_id in pages[:MAX_PAGE_READS]:
        what = f"GET /v1/pages/{page_id}"
        resp = _api(ctx, f"/v1/pages/{page_id}")
        if resp.status == 404:
            missing += 1
            continue
        if resp.status != 200:
            raise _page_refusal(ctx, resp, what)
        body = json_body(resp, what)
        card_ids = body.get("cardIds") if isinstance(body, dict) else None
        cards.update(c for c in card_ids or [] if isinstance(c, (int, str)))
    if missing:
        ctx.warn(f"{missing} listed pages answered 404 when read: OpenMetadata's connector fails on such a page")
    if len(pages) > MAX_PAGE_READS:
        ctx.warn(f"cards counted on the first {MAX_PAGE_READS} of {len(pages)} pages only: at least {len(cards)} "
                 "charts")
    return len(cards)


def get_charts(ctx: ProbeContext) -> str:
    token = _settings(ctx).accessToken
    if token is None:
        ctx.warn(f"no developer token ({_names(ctx.target)['token']}): OpenMetadata's Domo connector reads each "
                 "card from the instance with one, so it would ingest the pages without their charts (and its "
                 "GetCharts check fails)")
        return "no developer token"
    _check_developer_token(ctx, token)
    return "developer token accepted by the instance; " + count_step(
        "charts", count_cards, empty="0 cards on the listed pages: OpenMetadata would ingest no chart")(ctx)


# -- the plugin --------------------------------------------------------------------------------------------


class DomoPlugin(Plugin):
    name = "domo"
    title = TITLE
    service_type = "DomoDashboard"
    settings_model = DomoSettings
    env_vars = (
        EnvVar("DOMO_INSTANCE", "url", help="the instance URL, e.g. https://acmecompany.domo.com"),
        EnvVar("DOMO_CLIENT_ID", "clientId", help="API client id (developer.domo.com > My Account > Manage clients)"),
        EnvVar("DOMO_CLIENT_SECRET", "secretToken", secret=True, help="that API client's secret"),
        EnvVar("DOMO_ACCESS_TOKEN", "accessToken", secret=True,
               help="optional developer token of the instance (OpenMetadata reads the cards with it)"),
        EnvVar("DOMO_API_HOST", "apiHost", help=f"API host[:port], no scheme (default {DEFAULT_API_HOST})"),
        *tls_env_vars("DOMO"),
    )
    config_keys = ("clientId", "secretToken", "accessToken", "instanceDomain", "apiHost")

    def base_url(self, url: str) -> str:
        text = url.strip()
        if "://" not in text and re.match(r"^[A-Za-z0-9-]+\.domo\.com(?:[/?#]|$)", text, re.IGNORECASE):
            text = "https://" + text  # acmecompany.domo.com as typed: Domo's instances are https
        if "@" not in text and instance_label(text.split("?", 1)[0].split("#", 1)[0]):
            parts = urlsplit(text)
            return f"{parts.scheme}://{parts.netloc}"  # an instance has no path: any path is one of its pages
        return page_base(text, _PAGE_ROOTS)

    def instance_name(self, settings: TargetSettings) -> str | None:
        return instance_label(settings.url)

    def steps(self, target: Target) -> Sequence[Step]:
        return [
            reach_step(),
            Step("CheckAccess", check_access, gate=True,
                 description="the API client gets a token from https://<apiHost>/oauth/token"),
            Step("GetDashboards", get_dashboards, gate=True,
                 description="list pages (GET /v1/pages) as pydomo's page_list does"),
            Step("GetCharts", get_charts,
                 description="the developer token opens the instance's card API; count the pages' cards"),
        ]

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        settings: DomoSettings = target.settings  # type: ignore[assignment]
        instance = result.canonical_url or target.url
        warnings: list[str] = []
        for host in (instance, "https://" + settings.apiHost):
            for warning in no_tls_field_warnings(host, settings, title=self.title, env_prefix="DOMO"):
                if warning not in warnings:
                    warnings.append(warning)
        return ConnectionConfig.build(
            self.service_type, warnings=tuple(warnings), clientId=settings.clientId,
            secretToken=settings.secretToken, accessToken=settings.accessToken,
            instanceDomain=connector_host_port(instance),
            apiHost=None if settings.apiHost == DEFAULT_API_HOST else settings.apiHost,
        )


plugin = DomoPlugin()
