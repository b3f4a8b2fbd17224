"""Tableau Server / Tableau Cloud: found from ``TABLEAU_*``, proven through tableauserverclient (TSC).

Steps (OpenMetadata's names where they mean the same):

``Reach``              something answers HTTP at the URL
``ServerInfo``         unauthenticated ``serverInfo``; TSC answers a non-Tableau server with None,
                       an "Unknown" item or a non-XML error: each is ``not_detected``
``ValidateApiVersion`` the REST API is recent enough for the credentials (a personal access token
                       needs 3.6); below 3.5 the Metadata API OpenMetadata uses for lineage is missing
``CheckAccess``        sign in once, on the server's own API version. A personal access token allows
                       one session: a second sign-in ends the first, so targets sharing a token on
                       one server take turns (a lock held from sign-in to sign-out)
``ValidateSiteUrl``    the site signed in to is the one asked for (its canonical content URL)
``GetWorkbooks``       count of workbooks on the site (403 = ``forbidden``, 0 = warning)
``GetViews``           count of views (optional: a failure is a warning)

TSC gets a `GuardedSession` (timeouts, TLS, no redirects: TSC would re-send the sign-in body to any
host, capped bodies). ``finish`` signs out.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from packaging.version import InvalidVersion, Version
from pydantic import SecretStr, model_validator

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

PAT_MIN_API = Version("3.6")       # personal access token sign-in (Tableau 2019.4)
METADATA_MIN_API = Version("3.5")  # Metadata API, used by OpenMetadata for lineage (Tableau 2019.3)
SIGN_OUT_GRACE = 2.0               # seconds past the deadline a sign-out may take
CREDENTIALS_HINT = ("check TABLEAU_TOKEN_NAME / TABLEAU_TOKEN_SECRET (or TABLEAU_USERNAME / TABLEAU_PASSWORD), "
                    "and that TABLEAU_SITE is the site's content URL (the part after /site/ in the browser; "
                    "empty for the Default site)")


_SITE_IN_FRAGMENT = re.compile(r"^/?site/([^/?#]+)")
_token_locks: dict[tuple[str, str], threading.Lock] = {}
_token_locks_guard = threading.Lock()


def _token_lock(url: str, token_name: str) -> threading.Lock:
    with _token_locks_guard:
        return _token_locks.setdefault((url, token_name), threading.Lock())


_TOKEN_PAIR = ("TABLEAU_TOKEN_NAME + TABLEAU_TOKEN_SECRET (TOML personalAccessTokenName + "
               "personalAccessTokenSecret)")
_BASIC_PAIR = "TABLEAU_USERNAME + TABLEAU_PASSWORD (TOML username + password)"


class TableauSettings(TargetSettings):
    credential_forms: ClassVar[tuple[tuple[str, ...], ...]] = (  # one of them
        ("personalAccessTokenName", "personalAccessTokenSecret"), ("username", "password"))

    siteName: str = ""  # the site's content URL; "" = the Default site (Tableau Server only)
    personalAccessTokenName: str | None = None
    personalAccessTokenSecret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _browser_url(cls, values: Any) -> Any:
        """Accept a URL pasted from the browser: ``https://host/#/site/Sales/home`` means site ``Sales``."""
        if not isinstance(values, dict) or not isinstance(values.get("url"), str) or "#" not in values["url"]:
            return values
        base, fragment = values["url"].split("#", 1)
        match = _SITE_IN_FRAGMENT.match(fragment)
        values = {**values, "url": base}
        if match:
            site = match.group(1)
            given = values.get("siteName")
            if given not in (None, "", site):
                raise ValueError(f"the URL names site {site!r} but the site setting says {given!r}")
            values["siteName"] = site
        return values

    @model_validator(mode="after")
    def _one_credential(self) -> TableauSettings:
        token = (self.personalAccessTokenName, self.personalAccessTokenSecret)
        basic = (self.username, self.password)
        has_token, has_basic = any(v is not None for v in token), any(v is not None for v in basic)
        if has_token and has_basic:
            if all(v is not None for v in token) or all(v is not None for v in basic):
                raise ValueError("give a personal access token or a username/password, not both")
            raise ValueError("incomplete credentials (part of a personal access token, part of a username/"
                             f"password): give one form whole: {_TOKEN_PAIR}, or {_BASIC_PAIR}")
        if not has_token and not has_basic:
            raise ValueError(f"no credentials: set {_TOKEN_PAIR}, or {_BASIC_PAIR}")
        pair = token if has_token else basic
        if any(v is None for v in pair) or any(isinstance(v, SecretStr) and not v.get_secret_value() for v in pair):
            which = ("TABLEAU_TOKEN_NAME and TABLEAU_TOKEN_SECRET (TOML personalAccessTokenName and "
                     "personalAccessTokenSecret)" if has_token
                     else "TABLEAU_USERNAME and TABLEAU_PASSWORD (TOML username and password)")
            raise ValueError(f"incomplete credentials: both {which} are needed")
        return self

    @property
    def uses_token(self) -> bool:
        return self.personalAccessTokenName is not None

    @property
    def principal(self) -> str:
        return f"token {self.personalAccessTokenName!r}" if self.uses_token else f"user {self.username!r}"


def _server(ctx: ProbeContext) -> Any:
    """One TSC Server per probe, over a GuardedSession, built on first use."""
    server = ctx.facts.get("server")
    if server is None:
        import tableauserverclient as TSC

        from scanner.sdk_http import GuardedSession

        session = GuardedSession(verify=ctx.target.settings.verify, deadline=ctx.deadline,
                                 deadline_name=ctx.http.deadline_name,
                                 connect_timeout=ctx.http.connect_timeout, read_timeout=ctx.read_timeout)
        server = TSC.Server(ctx.target.url, http_options={"timeout": ctx.read_timeout},
                            session_factory=lambda: session)
        ctx.facts.update(server=server, session=session)
    return server


def server_info(ctx: ProbeContext) -> str:
    from tableauserverclient.server.endpoint.exceptions import (
        InternalServerError,
        NonXMLResponseError,
        ServerResponseError,
    )
    from tableauserverclient.server.exceptions import EndpointUnavailableError, ServerInfoEndpointNotFoundError

    server = _server(ctx)
    not_here = "check that the URL is the Tableau Server (or Tableau Cloud pod) address, not another tool"
    try:
        info = server.server_info.get()
    except NonXMLResponseError:
        raise StepFailed(Status.NOT_DETECTED, f"no Tableau here: {_last(ctx)} answered without Tableau's XML",
                         not_here) from None
    except InternalServerError as exc:
        if b"tableau.com/api" in (exc.content or b""):
            raise StepFailed(Status.ERROR, f"Tableau answered serverInfo with {exc.code}") from None
        raise StepFailed(Status.NOT_DETECTED, f"no Tableau here: serverInfo answered {exc.code} without Tableau's XML",
                         not_here) from None
    except (ServerInfoEndpointNotFoundError, EndpointUnavailableError):
        raise StepFailed(Status.ERROR, "Tableau has no serverInfo endpoint (404003): older than Tableau 10.1",
                         "scanner and OpenMetadata need Tableau Server 2019.4 or later") from None
    except ServerResponseError as exc:
        if not exc.code:  # XML-ish (e.g. a tiny HTML page) without Tableau's <error code>
            raise StepFailed(Status.NOT_DETECTED, f"no Tableau here: {_last(ctx)} answered without Tableau's XML",
                             not_here) from None
        raise StepFailed(Status.ERROR, f"serverInfo answered {exc.code}: {exc.summary}") from None
    if info is None or "Unknown" in (info.product_version, info.rest_api_version) or not info.rest_api_version:
        raise StepFailed(Status.NOT_DETECTED, "no Tableau here: serverInfo did not answer Tableau's serverInfo XML",
                         not_here)
    ctx.version = info.product_version
    ctx.canonical_url = server.server_address.rstrip("/")
    ctx.facts["rest_api_version"] = info.rest_api_version
    ctx.details.update(build=info.build_number, rest_api_version=info.rest_api_version)
    return f"Tableau {info.product_version} (build {info.build_number}, REST API {info.rest_api_version})"


def validate_api_version(ctx: ProbeContext) -> str:
    settings: TableauSettings = ctx.target.settings  # type: ignore[assignment]
    raw = ctx.facts["rest_api_version"]
    try:
        version = Version(raw)
    except InvalidVersion:
        raise StepFailed(Status.ERROR, f"serverInfo gave an unreadable REST API version {raw!r}") from None
    if settings.uses_token and version < PAT_MIN_API:
        raise StepFailed(
            Status.ERROR,
            f"signing in with a personal access token needs REST API {PAT_MIN_API}; this server has {raw}",
            "use TABLEAU_USERNAME / TABLEAU_PASSWORD, or upgrade to Tableau Server 2019.4 or later",
        )
    if version < METADATA_MIN_API:
        ctx.warn(f"REST API {raw} < {METADATA_MIN_API}: no Metadata API, so OpenMetadata gets no lineage")
    return f"REST API {raw}"


def check_access(ctx: ProbeContext) -> str:
    import tableauserverclient as TSC

    settings: TableauSettings = ctx.target.settings  # type: ignore[assignment]
    server = _server(ctx)
    server.version = ctx.facts["rest_api_version"]  # sign in on the server's own version (TSC would use 2.4)
    if settings.uses_token:
        secret = settings.personalAccessTokenSecret.get_secret_value()  # type: ignore[union-attr]
        auth = TSC.PersonalAccessTokenAuth(settings.personalAccessTokenName, secret, site_id=settings.siteName)
    else:
        auth = TSC.TableauAuth(settings.username, settings.password.get_secret_value(),  # type: ignore[union-attr]
                               site_id=settings.siteName)
    site = repr(settings.siteName) if settings.siteName else "the Default site"
    if settings.uses_token:
        lock = _token_lock(ctx.target.url, settings.personalAccessTokenName or "")
        if not lock.acquire(timeout=max(0.0, ctx.remaining())):
            raise StepFailed(Status.ERROR, f"{settings.principal} stayed in use by another target until the deadline",
                             "give each target its own personal access token")
        ctx.facts["token_lock"] = lock
    try:
        server.auth.sign_in(auth)
    except TSC.FailedSignInError as exc:
        raise StepFailed(
            Status.AUTH_FAILED,
            f"Tableau refused the sign-in of {settings.principal} to {site} ({exc.code} {exc.summary}: "
            "wrong credentials, or no such site for them)", CREDENTIALS_HINT,
        ) from None
    except Exception as exc:
        raise _tableau_failure(exc, "sign-in") from None
    ctx.facts["signed_in"] = True
    return f"signed in as {settings.principal} to {site}"


def validate_site_url(ctx: ProbeContext) -> str:
    settings: TableauSettings = ctx.target.settings  # type: ignore[assignment]
    server = ctx.facts["server"]
    actual = server.site_url or ""
    if actual != settings.siteName:
        if actual.lower() != settings.siteName.lower():
            raise StepFailed(Status.ERROR, f"signed in to site {actual!r}, not the {settings.siteName!r} asked for",
                             "set TABLEAU_SITE to the site's content URL")
        ctx.warn(f"the site's content URL is spelled {actual!r}; registering that spelling")
    ctx.details.update(site_url=actual, site_id=server.site_id)
    return f"site {actual!r} (id {server.site_id})" if actual else f"Default site (id {server.site_id})"


def _counter(endpoint: str, label: str):
    def run(ctx: ProbeContext) -> str:
        import tableauserverclient as TSC

        server = ctx.facts["server"]
        try:
            _, pagination = getattr(server, endpoint).get(TSC.RequestOptions(pagesize=1))
        except Exception as exc:
            raise _tableau_failure(exc, f"listing {label}") from None
        count = int(pagination.total_available or 0)
        ctx.details[label] = count
        if count == 0:
            ctx.warn(f"0 {label} visible on this site: OpenMetadata would ingest none")
        return f"{count} {label}"

    return run


def _tableau_failure(exc: Exception, doing: str) -> Exception:
    """A StepFailed for a TSC exception; scanner's own HTTP errors pass through unchanged."""
    from xml.etree.ElementTree import ParseError

    import tableauserverclient as TSC
    from tableauserverclient.server.endpoint.exceptions import InternalServerError, NonXMLResponseError

    if isinstance(exc, TSC.FailedSignInError):  # any 401 after sign-in
        return StepFailed(
            Status.AUTH_FAILED, f"{doing}: the session was rejected ({exc.code} {exc.summary})",
            "a personal access token allows one session at a time: another sign-in with the same token "
            "(another scanner or an ingestion run) ends this one; give scanner its own token",
        )
    if isinstance(exc, TSC.ServerResponseError):
        code = str(exc.code or "")
        if code.startswith("403"):
            return StepFailed(Status.FORBIDDEN, f"{doing}: not allowed ({code} {exc.summary})",
                              "give the user at least the Viewer site role on this site")
        if code.startswith("429"):
            return StepFailed(Status.ERROR, f"{doing}: Tableau is rate limiting (429) and still was after retries",
                              "run again later, or lower --concurrency")
        return StepFailed(Status.ERROR, f"{doing} failed ({code} {exc.summary}: {exc.detail})")
    if isinstance(exc, InternalServerError):
        return StepFailed(Status.ERROR, f"{doing}: Tableau answered {exc.code}")
    unreadable = isinstance(exc, AttributeError) and "'NoneType'" in str(exc)  # XML without Tableau's elements
    if isinstance(exc, NonXMLResponseError | ParseError) or unreadable:
        # an answer TSC could not read
        return StepFailed(Status.ERROR, f"{doing}: the answer was not Tableau's XML",
                          "the URL may point at a proxy or another service rather than Tableau's REST API")
    return exc


def _last(ctx: ProbeContext) -> str:
    session = ctx.facts.get("session")
    status = getattr(session, "last_status", None)
    return f"serverInfo (HTTP {status})" if status else "serverInfo"


class TableauPlugin(Plugin):
    name = "tableau"
    title = "Tableau"
    service_type = "Tableau"
    settings_model = TableauSettings
    env_vars = (
        EnvVar("TABLEAU_URL", "url", help="server URL, e.g. https://tableau.example.com or https://10ay.online.tableau.com"),
        EnvVar("TABLEAU_SITE", "siteName", help="site content URL; empty = the Default site"),
        EnvVar("TABLEAU_TOKEN_NAME", "personalAccessTokenName", help="personal access token name"),
        EnvVar("TABLEAU_TOKEN_SECRET", "personalAccessTokenSecret", secret=True, help="personal access token secret"),
        EnvVar("TABLEAU_USERNAME", "username", help="instead of a token"),
        EnvVar("TABLEAU_PASSWORD", "password", secret=True, help="instead of a token"),
        *tls_env_vars("TABLEAU"),
    )
    config_keys = ("hostPort", "authType", "siteName", "apiVersion", "verifySSL", "sslConfig")
    ports = (443, 80)

    def steps(self, target: Target) -> Sequence[Step]:
        return [
            reach_step(),
            Step("ServerInfo", server_info, gate=True, description="unauthenticated serverInfo is Tableau's"),
            Step("ValidateApiVersion", validate_api_version, gate=True,
                 description="the REST API version suits the credentials"),
            Step("CheckAccess", check_access, gate=True, description="sign in (once) with the credentials"),
            Step("ValidateSiteUrl", validate_site_url, gate=True, description="signed in to the site asked for"),
            Step("GetWorkbooks", _counter("workbooks", "workbooks"), description="list the site's workbooks"),
            Step("GetViews", _counter("views", "views"), mandatory=False, description="list the site's views"),
        ]

    def finish(self, ctx: ProbeContext) -> None:
        server, session = ctx.facts.get("server"), ctx.facts.get("session")
        if server is None:
            return
        session.deadline = max(session.deadline, time.monotonic() + SIGN_OUT_GRACE)
        try:
            if ctx.facts.get("signed_in"):
                server.auth.sign_out()
        finally:
            server.close()
            session.close()
            lock = ctx.facts.pop("token_lock", None)
            if lock is not None:
                lock.release()

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        settings: TableauSettings = target.settings  # type: ignore[assignment]
        host = result.canonical_url or target.url
        if settings.uses_token:
            auth = {"personalAccessTokenName": settings.personalAccessTokenName,
                    "personalAccessTokenSecret": settings.personalAccessTokenSecret}
        else:
            auth = {"username": settings.username, "password": settings.password}
        tls, warnings = ssl_fields(host, settings, title=self.title, env_prefix="TABLEAU", ca_form="pem")
        return ConnectionConfig.build(
            self.service_type, warnings=warnings, hostPort=host, authType=auth,
            siteName=result.details.get("site_url", settings.siteName) or None,
            apiVersion=result.details.get("rest_api_version"), **tls,
        )


plugin = TableauPlugin()
