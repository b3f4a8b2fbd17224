"""A contract-faithful fake of Tableau Server's REST API, driven by the real ``tableauserverclient`` (TSC).

Serves, on 127.0.0.1 only, what TSC 0.40-0.42 sends for discovery (shared/contracts/bi-platforms.md §3, §5, §6):

* ``GET  /api/<v>/serverInfo``      unauthenticated; the ``serverInfo`` segment is case-insensitive
* ``POST /api/<v>/auth/signin``     password (``name``/``password``) or PAT
  (``personalAccessTokenName``/``personalAccessTokenSecret``) credentials for ``<site contentUrl=…/>``
* ``POST /api/<v>/auth/signout``    ``X-Tableau-Auth`` → 204
* ``GET  /api/<v>/sites/<site-id>`` the session's site (also ``?key=contentUrl`` / ``?key=name``)
* ``GET  /api/<v>/sites/<site-id>/workbooks`` and ``…/views``  paginated (``pageSize`` 1-1000, default 100)
* ``GET  /api/<v>/sites/<site-id>/workbooks/<workbook-id>/views``  the workbook's views, not paginated, with
  ``<usage totalViewCount>`` when ``includeUsageStatistics=true`` (TSC ``populate_views``, which OpenMetadata's
  connector calls); an unknown workbook → 404 ``404006``
* ``GET  /``                        SYNTHETIC HTML with the nuclei markers (``vizportal``, ``X-Tableau`` header)

Every body is XML in the namespace ``http://tableau.com/api`` (TSC only finds elements there), content type
``application/xml;charset=UTF-8``; errors are ``<tsResponse><error code=…><summary/><detail/></error>``.

Rules reproduced, with their provenance:

* sign-in: bad password/secret, unknown site, principal not a member of the site, or JWT credentials → 401
  ``401001`` "Signin Error" [source: TSC asset auth_sign_in_error.xml; unknown site and not-a-member: guess].
* a personal access token allows one concurrent session: signing in again with the same PAT revokes the
  earlier session's token [doc: Tableau "Personal Access Tokens" — concurrent sessions are not supported].
* no ``X-Tableau-Auth`` → 401 ``401000``; an unknown, signed-out or revoked token → 401 ``401002`` [doc codes;
  which one a revoked PAT session gets is a guess].
* ``<site-id>`` in the path is not the session's site → 403 ``403000`` [guess: real servers answer 401 or 403
  for a call "against a site other than the one the user signed in to" (Salesforce KB 001498381); the code is
  not documented]. A principal in ``forbidden`` gets 403 ``403000`` on workbooks and views [guess].
* ``/api/<v>/…`` with ``v`` outside ``[min_api_version, rest_api_version]`` or not a version, and unknown
  resources under ``/api`` → 404 ``404003`` "Unknown resource '/<v>/…' specified in URI." [source: TSC asset
  server_info_404.xml; the out-of-range rule is a guess]. A known resource with the wrong method → 405
  ``405000`` [guess]. A malformed sign-in body → 400 ``400000`` [guess]. A bad page number/size → 400
  ``400006``/``400007`` [guess from the REST reference; a page past the end is answered empty, not an error].
* paths outside ``/api`` (e.g. the legacy ``GET /auth?format=xml``, Looker's ``/versions``) → 404 with a small
  HTML page [guess: the real gateway's page is not known]. Not XML on purpose: TSC's legacy-version fallback
  then keeps its version instead of crashing on an ``<authinfo>``-less XML body.

Not modelled: switchSite, impersonation (``<user id>`` in credentials is ignored), JWT/connected apps,
session expiry, server-admin-only endpoints (``GET /sites``), content beyond counts (names and ids are
synthetic but stable for a given site id).

Test helpers: ``fake.requests`` (a log that never holds a password, PAT secret, auth token or request
body), counters ``sign_ins``/``failed_sign_ins``/``sign_outs``/``revoked_sessions``/``active_sessions``,
``fake.latency``, ``fake.inject()`` (fault injection, applied before routing and authentication) and
``tls=`` (a server-side ``ssl.SSLContext``: serve HTTPS).

    python -m scanner.testing.fake_tableau --port 8060
"""

from __future__ import annotations

import argparse
import re
import secrets
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from urllib.parse import unquote
from xml.sax.saxutils import escape, quoteattr

from defusedxml.ElementTree import fromstring

from scanner.testing.faults import Fault, Faults
from scanner.testing.server import LocalServer, Request, Response, ServedFake

__all__ = ["NAMESPACE", "FakeTableau", "RecordedRequest", "TableauSite", "main"]

NAMESPACE = "http://tableau.com/api"
XML_CONTENT_TYPE = "application/xml;charset=UTF-8"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_FIXED_TIME = "2024-06-11T12:00:00Z"
_VERSION_RE = re.compile(r"^\d+(\.\d+)*$")
_ID_NAMESPACE = uuid.UUID("6f1c1b0e-7a43-4f53-9d0e-2b7f5d3c8a11")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _stable_id(*parts: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, "/".join(parts)))


@dataclass
class TableauSite:
    """One site. ``content_url`` is what TSC's ``site_id`` / ``<site contentUrl>`` carries ("" = Default)."""

    content_url: str
    name: str = ""
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    workbooks: int = 3
    views: int = 5
    members: set[str] | None = None
    """User names / PAT names allowed to sign in here; None = everyone."""

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.content_url or "Default"
        if self.workbooks < 0 or self.views < 0:
            raise ValueError("workbooks and views must be >= 0")

    def admits(self, principal: str) -> bool:
        return self.members is None or principal in self.members


def _default_sites() -> dict[str, TableauSite]:
    return {"": TableauSite(""), "Samples": TableauSite("Samples")}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received. ``principal`` is a user or PAT name, never a secret or token."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    """HTTP status answered; 0 when the connection was reset without an answer."""
    principal: str | None
    site: str | None
    """The site's content URL: the one asked for at sign-in, else the session's; None when unknown."""


@dataclass
class _Session:
    principal: str
    kind: str  # "password" | "pat"
    site: TableauSite
    user_id: str


class _ApiError(Exception):
    def __init__(self, status: int, code: str, summary: str, detail: str):
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.summary = summary
        self.detail = detail


def _unauthenticated() -> _ApiError:
    return _ApiError(401, "401000", "Unauthorized Access", "No authentication credentials were provided.")


def _invalid_token() -> _ApiError:
    return _ApiError(401, "401002", "Unauthorized Access", "Invalid authorization credentials were provided.")


def _signin_error() -> _ApiError:
    return _ApiError(401, "401001", "Signin Error", "Error signing in to Tableau Server")


def _unknown_resource(rest: str) -> _ApiError:
    return _ApiError(404, "404003", "Resource Not Found", f"Unknown resource '{rest}' specified in URI.")


def _ts_response(inner: str, version: str | None = None) -> bytes:
    xsd = f"http://tableau.com/api/ts-api-{version}.xsd" if version else "http://tableau.com/api/ts-api.xsd"
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        f'<tsResponse xmlns="{NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{NAMESPACE} {xsd}">{inner}</tsResponse>'
    ).encode()


def _error_xml(code: str, summary: str, detail: str) -> bytes:
    return _ts_response(f'<error code="{escape(code)}"><summary>{escape(summary)}</summary>'
                        f"<detail>{escape(detail)}</detail></error>")


def _xml(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    merged = {"Content-Type": XML_CONTENT_TYPE}
    merged.update(headers or {})
    return Response(status, body, merged)


def _attrs(**values: str) -> str:
    return "".join(f" {name}={quoteattr(str(value))}" for name, value in values.items())


_LANDING_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Tableau Server</title>
<!-- SYNTHETIC page of scanner.testing.fake_tableau, not a copy of Tableau's -->
<script src="/vizportal/vizportal.js" data-buildId="{build_id}"></script></head>
<body><div id="app">vizportal</div><script>VizPortalRun();</script></body></html>
"""

_NOT_FOUND_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>404 Not Found</title></head>
<body><h1>Not Found</h1><p>The requested URL was not found on this server.<br></p></body></html>
"""


@dataclass
class FakeTableau(ServedFake):
    """In-memory Tableau Server REST API over real HTTP on 127.0.0.1.

    ``port`` is the port to bind (0: any free port); after ``start()`` it holds the bound port.
    """

    product_version: str = "2024.2.0"
    build: str = "20242.24.0611.1200"
    rest_api_version: str = "3.23"
    min_api_version: str = "2.4"
    sites: dict[str, TableauSite] = field(default_factory=_default_sites)
    users: dict[str, str] = field(default_factory=lambda: {"admin": "admin-password"}, repr=False)
    """User name -> password (kept out of ``repr()``, like ``tokens``)."""
    tokens: dict[str, str] = field(default_factory=lambda: {"scanner-pat": "pat-secret-value"}, repr=False)
    """PAT name -> secret."""
    forbidden: set[str] = field(default_factory=set)
    port: int = 0
    latency: float = 0.0
    tls: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    """A server-side SSLContext: serve HTTPS (``url`` is then ``https://127.0.0.1:<port>``)."""

    def __post_init__(self) -> None:
        for version in (self.rest_api_version, self.min_api_version):
            if not _VERSION_RE.match(version):
                raise ValueError(f"not a REST API version: {version!r}")
        if _version_key(self.min_api_version) > _version_key(self.rest_api_version):
            raise ValueError("min_api_version is above rest_api_version")
        for key, site in self.sites.items():
            if key != site.content_url:
                raise ValueError(f"sites must be keyed by content_url: {key!r} != {site.content_url!r}")
        self._lock = threading.RLock()
        self._sessions: dict[str, _Session] = {}
        self._user_ids: dict[str, str] = {}
        self._log: list[RecordedRequest] = []
        self._faults = Faults()
        self._server = LocalServer(self._app, port=self.port, name="fake-tableau", ssl_context=self.tls)
        self.sign_ins = 0
        self.failed_sign_ins = 0
        self.sign_outs = 0
        self.revoked_sessions = 0
        """Sessions ended because the same PAT signed in again."""

    def _started(self) -> None:
        self.port = self._server.port

    # -- inspection -----------------------------------------------------------------------------------


    @property
    def active_sessions(self) -> int:
        with self._lock:
            return len(self._sessions)


    # -- HTTP entry point -----------------------------------------------------------------------------
    def _app(self, request: Request) -> Response:
        if self.latency:
            time.sleep(self.latency)
        principal, site = self._identify(request)
        fault = self._faults.take(request.method, request.path)
        if fault is not None:
            response = self._fault_response(fault)
        else:
            try:
                response = self._route(request)
            except _ApiError as err:
                response = _xml(err.status, _error_xml(err.code, err.summary, err.detail))
            except Exception as err:  # a bug in the fake: still answer in the server's error shape
                response = _xml(500, _error_xml("500000", "Internal Server Error", f"Fake Tableau: {err!r}"))
        with self._lock:
            self._log.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    status=0 if response.reset else response.status,
                    principal=principal,
                    site=site,
                )
            )
        return response

    @staticmethod
    def _fault_response(fault: Fault) -> Response:
        if fault.reset:
            return Response(reset=True)
        headers = dict(fault.headers)
        if fault.body is None:
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Error"
            body = _error_xml(f"{fault.status}000", phrase, f"{phrase} (fault injected by the fake)")
            return _xml(fault.status, body, headers)
        if isinstance(fault.body, bytes | str):
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = XML_CONTENT_TYPE
            return Response(fault.status, fault.body, headers)
        return Response.json(fault.body, fault.status, headers)

    def _identify(self, request: Request) -> tuple[str | None, str | None]:
        """Who is calling, for the log: the session's principal, or the name a sign-in body claims."""
        token = request.header("X-Tableau-Auth")
        if token:
            with self._lock:
                session = self._sessions.get(token)
            if session is not None:
                return session.principal, session.site.content_url
            return None, None
        if request.method == "POST" and request.path.lower().endswith("/auth/signin"):
            try:
                credentials, site_url = self._parse_credentials(request.body)
            except _ApiError:
                return None, None
            name = credentials.get("name") or credentials.get("personalAccessTokenName")
            return name, site_url
        return None, None

    # -- routing --------------------------------------------------------------------------------------
    def _route(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        segments = [unquote(part) for part in request.path.split("/")[1:]]
        if segments == [""]:
            if method != "GET":
                return Response(405, b"", {"Allow": "GET, HEAD"})
            return self._landing()
        if not segments or segments[0] != "api":
            return Response(404, _NOT_FOUND_PAGE, {"Content-Type": "text/html;charset=UTF-8"})
        rest = "/" + "/".join(segments[1:])  # what Tableau's 404003 detail quotes: '/2.4/serverInfo'
        if len(segments) < 3 or not self._version_served(segments[1]):
            raise _unknown_resource(rest)
        version, resource = segments[1], segments[2:]

        route: tuple[str, Callable[[], Response]] | None = None
        if len(resource) == 1 and resource[0].lower() == "serverinfo":
            route = "GET", partial(self._server_info, version)
        elif resource == ["auth", "signin"]:
            route = "POST", partial(self._sign_in, request, version)
        elif resource == ["auth", "signout"]:
            route = "POST", partial(self._sign_out, request)
        elif len(resource) == 2 and resource[0] == "sites":
            route = "GET", partial(self._site, request, resource[1], version)
        elif len(resource) == 3 and resource[0] == "sites" and resource[2] in ("workbooks", "views"):
            route = "GET", partial(self._content, request, resource[1], resource[2], version)
        elif len(resource) == 5 and resource[0] == "sites" and resource[2] == "workbooks" and resource[4] == "views":
            route = "GET", partial(self._workbook_views, request, resource[1], resource[3], version)
        if route is None:
            raise _unknown_resource(rest)
        allowed, handler = route
        if method != allowed:
            raise _ApiError(405, "405000", "Method Not Allowed", f"Method '{request.method}' is not allowed.")
        return handler()

    def _version_served(self, version: str) -> bool:
        if not _VERSION_RE.match(version):
            return False
        key = _version_key(version)
        return _version_key(self.min_api_version) <= key <= _version_key(self.rest_api_version)

    def _landing(self) -> Response:
        page = _LANDING_PAGE.format(build_id=escape(self.build.replace(".", "_")))
        return Response(200, page, {"Content-Type": "text/html;charset=UTF-8", "X-Tableau": "Tableau Server"})

    def _server_info(self, version: str) -> Response:
        inner = (
            f"<serverInfo><productVersion{_attrs(build=self.build)}>{escape(self.product_version)}</productVersion>"
            f"<restApiVersion>{escape(self.rest_api_version)}</restApiVersion></serverInfo>"
        )
        return _xml(200, _ts_response(inner, version))

    # -- authentication -------------------------------------------------------------------------------
    @staticmethod
    def _parse_credentials(body: bytes) -> tuple[dict[str, str], str]:
        try:
            root = fromstring(body)
        except Exception as err:  # ParseError, or defusedxml refusing entities/DTDs
            raise _ApiError(400, "400000", "Bad Request", "The request body is not valid XML.") from err
        credentials = root.find("credentials") if root.tag == "tsRequest" else None
        if credentials is None:
            raise _ApiError(400, "400000", "Bad Request", "Missing element 'credentials' in the request body.")
        site = credentials.find("site")
        site_url = site.get("contentUrl", "") if site is not None else ""
        return dict(credentials.attrib), site_url

    def _sign_in(self, request: Request, version: str) -> Response:
        credentials, site_url = self._parse_credentials(request.body)
        with self._lock:
            principal, kind = self._check_credentials(credentials)
            site = self.sites.get(site_url)
            if principal is None or site is None or not site.admits(principal):
                self.failed_sign_ins += 1
                raise _signin_error()
            if kind == "pat":  # one concurrent session per PAT: the new sign-in ends the old one
                for token in [t for t, s in self._sessions.items() if s.kind == "pat" and s.principal == principal]:
                    del self._sessions[token]
                    self.revoked_sessions += 1
            user_id = self._user_ids.setdefault(self._user_key(principal, kind), str(uuid.uuid4()))
            token = secrets.token_urlsafe(24)
            self._sessions[token] = _Session(principal, kind, site, user_id)
            self.sign_ins += 1
        inner = (
            f"<credentials{_attrs(token=token)}><site{_attrs(id=site.id, contentUrl=site.content_url)} />"
            f"<user{_attrs(id=user_id)} /></credentials>"
        )
        return _xml(200, _ts_response(inner, version))

    def _check_credentials(self, credentials: dict[str, str]) -> tuple[str | None, str]:
        if "personalAccessTokenName" in credentials:
            name = credentials["personalAccessTokenName"]
            secret = self.tokens.get(name)
            ok = secret is not None and secrets.compare_digest(secret, credentials.get("personalAccessTokenSecret", ""))
            return (name if ok else None), "pat"
        if "name" in credentials:
            name = credentials["name"]
            password = self.users.get(name)
            ok = password is not None and secrets.compare_digest(password, credentials.get("password", ""))
            return (name if ok else None), "password"
        return None, "jwt"  # JWT / connected apps are not configured on this server

    def _user_key(self, principal: str, kind: str) -> str:
        # A PAT belongs to a user; the fake has no owner mapping, so a PAT is its own user.
        return f"{kind}:{principal}"

    def _session_for(self, request: Request) -> tuple[str, _Session]:
        token = request.header("X-Tableau-Auth")
        if not token:
            raise _unauthenticated()
        with self._lock:
            session = self._sessions.get(token)
        if session is None:
            raise _invalid_token()
        return token, session

    def _sign_out(self, request: Request) -> Response:
        token, _ = self._session_for(request)
        with self._lock:
            if self._sessions.pop(token, None) is None:  # a concurrent sign-out won
                raise _invalid_token()
            self.sign_outs += 1
        return Response(204, b"")

    # -- site content ---------------------------------------------------------------------------------
    def _site_of(self, request: Request, site_ref: str, key: str = "id") -> _Session:
        _, session = self._session_for(request)
        site = session.site
        expected = {"id": site.id, "contentUrl": site.content_url, "name": site.name}.get(key)
        if expected is None:
            raise _ApiError(400, "400000", "Bad Request", f"Invalid value '{key}' for parameter 'key'.")
        if site_ref != expected:
            raise _ApiError(
                403, "403000", "Forbidden",
                f"The site '{site_ref}' in the URI is not the site this session is signed in to.",
            )  # fmt: skip
        return session

    def _site(self, request: Request, site_ref: str, version: str) -> Response:
        site = self._site_of(request, site_ref, request.query.get("key", "id")).site
        inner = f"<site{_attrs(id=site.id, name=site.name, contentUrl=site.content_url, adminMode='ContentAndUsers', state='Active')} />"  # noqa: E501
        return _xml(200, _ts_response(inner, version))

    def _allowed(self, request: Request, site_ref: str, kind: str):
        """The session on the site, once it may query `kind` (a forbidden principal gets Tableau's 403000)."""
        session = self._site_of(request, site_ref)
        if session.principal in self.forbidden:
            raise _ApiError(
                403, "403000", "Forbidden",
                f"'{session.principal}' does not have permission to query {kind} on this site.",
            )  # fmt: skip
        return session

    def _content(self, request: Request, site_ref: str, kind: str, version: str) -> Response:
        session = self._allowed(request, site_ref, kind)
        page_number = self._positive_int(request, "pageNumber", 1, "400006", "Invalid page number")
        page_size = self._positive_int(request, "pageSize", DEFAULT_PAGE_SIZE, "400007", "Invalid page size")
        if page_size > MAX_PAGE_SIZE:
            raise _ApiError(400, "400007", "Bad Request", f"The page size must be at most {MAX_PAGE_SIZE}.")
        site = session.site
        total = site.workbooks if kind == "workbooks" else site.views
        start = (page_number - 1) * page_size
        indexes = range(start, min(start + page_size, total))
        render = self._workbook_xml if kind == "workbooks" else self._view_xml
        items = "".join(render(site, i) for i in indexes)
        pagination = f"<pagination{_attrs(pageNumber=str(page_number), pageSize=str(page_size), totalAvailable=str(total))} />"  # noqa: E501
        return _xml(200, _ts_response(f"{pagination}<{kind}>{items}</{kind}>", version))

    def _workbook_views(self, request: Request, site_ref: str, workbook_id: str, version: str) -> Response:
        """Query Views for Workbook: every view of one workbook, no pagination; ``<usage totalViewCount>`` per
        view only with ``includeUsageStatistics=true`` (what TSC's ``populate_views(usage=True)`` asks for)."""
        session = self._allowed(request, site_ref, "views")
        site = session.site
        numbers = [n for n in range(1, site.workbooks + 1) if _stable_id(site.id, "workbook", str(n)) == workbook_id]
        if not numbers:
            raise _ApiError(404, "404006", "Not Found", f"Workbook '{workbook_id}' could not be found.")
        usage = request.query.get("includeUsageStatistics", "").lower() == "true"
        items = "".join(
            self._view_xml(site, index, with_workbook=False, usage=usage)
            for index in range(site.views)
            if index % site.workbooks + 1 == numbers[0]
        )
        return _xml(200, _ts_response(f"<views>{items}</views>", version))

    @staticmethod
    def _positive_int(request: Request, name: str, default: int, code: str, summary: str) -> int:
        raw = request.query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise _ApiError(400, code, summary, f"The value '{raw}' for parameter '{name}' is not valid.")
        return value

    @staticmethod
    def _project_owner(site: TableauSite) -> tuple[str, str]:
        return _stable_id(site.id, "project", "default"), _stable_id(site.id, "owner")

    def _workbook_xml(self, site: TableauSite, index: int) -> str:
        project_id, owner_id = self._project_owner(site)
        number = index + 1
        attrs = _attrs(
            id=_stable_id(site.id, "workbook", str(number)),
            name=f"Workbook {number}",
            contentUrl=f"Workbook{number}",
            showTabs="false",
            size="1",
            createdAt=_FIXED_TIME,
            updatedAt=_FIXED_TIME,
        )
        return (
            f"<workbook{attrs}><project{_attrs(id=project_id, name='Default')} />"
            f"<owner{_attrs(id=owner_id)} /><tags /></workbook>"
        )

    def _view_xml(self, site: TableauSite, index: int, *, with_workbook: bool = True, usage: bool = False) -> str:
        project_id, owner_id = self._project_owner(site)
        number = index + 1
        attrs = {"id": _stable_id(site.id, "view", str(number)), "name": f"Sheet {number}",
                 "createdAt": _FIXED_TIME, "updatedAt": _FIXED_TIME}
        workbook = ""
        if site.workbooks:
            wb_number = index % site.workbooks + 1
            attrs["contentUrl"] = f"Workbook{wb_number}/sheets/Sheet{number}"
            attrs["viewUrlName"] = f"Sheet{number}"
            if with_workbook:
                workbook = f"<workbook{_attrs(id=_stable_id(site.id, 'workbook', str(wb_number)))} />"
        stats = f"<usage{_attrs(totalViewCount=str(number * 7))} />" if usage else ""
        return (
            f"<view{_attrs(**attrs)}>{workbook}<owner{_attrs(id=owner_id)} />"
            f"<project{_attrs(id=project_id)} />{stats}</view>"
        )


# ------------------------------------------------------------------------------------------------------
# command line


def _pair(text: str) -> tuple[str, str]:
    name, sep, secret = text.partition(":")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME:SECRET, got {text!r}")
    return name, secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scanner.testing.fake_tableau",
        description="Run the fake Tableau Server REST API on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=8060, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--product-version", default="2024.2.0")
    parser.add_argument("--build", default="20242.24.0611.1200")
    parser.add_argument("--rest-api-version", default="3.23")
    parser.add_argument("--min-api-version", default="2.4")
    parser.add_argument("--site", action="append", default=None, metavar="CONTENT_URL",
                        help='a site content URL ("" = Default; repeatable; default: "" and Samples)')
    parser.add_argument("--user", action="append", type=_pair, default=None, metavar="NAME:PASSWORD",
                        help="a user (repeatable; default admin:admin-password)")
    parser.add_argument("--pat", action="append", type=_pair, default=None, metavar="NAME:SECRET",
                        help="a personal access token (repeatable; default scanner-pat:pat-secret-value)")
    args = parser.parse_args(argv)
    fake = FakeTableau(
        product_version=args.product_version,
        build=args.build,
        rest_api_version=args.rest_api_version,
        min_api_version=args.min_api_version,
        port=args.port,
    )
    if args.site is not None:
        fake.sites = {url: TableauSite(url) for url in args.site}
    if args.user is not None:
        fake.users = dict(args.user)
    if args.pat is not None:
        fake.tokens = dict(args.pat)
    fake.start()
    sites = ", ".join(repr(url) for url in fake.sites)
    fake.serve_until_interrupted(
        [
            f"Fake Tableau Server {fake.product_version} (REST {fake.min_api_version}-{fake.rest_api_version}) "
            f"at {fake.url}",
            f"Sites: {sites}; users: {', '.join(fake.users)}; PATs: {', '.join(fake.tokens)}. Ctrl-C stops.",
        ]
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
