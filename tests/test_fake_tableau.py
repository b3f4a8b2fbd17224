"""Tests of the fake Tableau Server REST API, driven through the real tableauserverclient 0.42 (and looker-sdk,
requests) over real sockets on 127.0.0.1. Nothing is mocked."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import looker_sdk
import pytest
import requests
import tableauserverclient as TSC
from defusedxml.ElementTree import fromstring
from looker_sdk.rtl import api_settings
from tableauserverclient.server.endpoint.exceptions import InternalServerError, NonXMLResponseError
from tableauserverclient.server.exceptions import ServerInfoEndpointNotFoundError
from tableauserverclient.server.request_factory import RequestFactory

from scanner.testing.fake_tableau import NAMESPACE, FakeTableau, TableauSite

NS = {"t": NAMESPACE}
PAT, PAT_SECRET = "scanner-pat", "pat-secret-value"
USER, PASSWORD = "admin", "admin-password"
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "contracts" / "fixtures" / "tableau"


@pytest.fixture
def fake():
    with FakeTableau() as server:
        yield server


def tsc(fake: FakeTableau) -> TSC.Server:
    return TSC.Server(fake.url, http_options={"timeout": 5})


def signed_in(fake: FakeTableau, auth) -> TSC.Server:
    """The portable pattern (same requests on TSC 0.40-0.42): explicit use_server_version, then sign_in."""
    server = tsc(fake)
    server.use_server_version()
    server.auth.sign_in(auth)
    return server


def pat_auth(site: str = "Samples", secret: str = PAT_SECRET) -> TSC.PersonalAccessTokenAuth:
    return TSC.PersonalAccessTokenAuth(PAT, secret, site_id=site)


def error_of(resp: requests.Response) -> tuple[str, str, str]:
    """(code, summary, detail) of a Tableau error body; fails unless it is one, in the right namespace."""
    assert resp.headers["Content-Type"].startswith("application/xml")
    error = fromstring(resp.content).find("t:error", NS)
    assert error is not None, resp.text
    return error.get("code"), error.find("t:summary", NS).text, error.find("t:detail", NS).text


def calls(fake: FakeTableau) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in fake.requests]


# -- server info ---------------------------------------------------------------------------------------


def test_server_info_is_unauthenticated_and_reports_the_configured_versions():
    with FakeTableau(product_version="2023.3.7", build="20233.24.0514.1218", rest_api_version="3.21") as fake:
        info = tsc(fake).server_info.get()

        assert (info.product_version, info.build_number, info.rest_api_version) == (
            "2023.3.7", "20233.24.0514.1218", "3.21",
        )  # fmt: skip
        [req] = fake.requests
        assert (req.method, req.path, req.status, req.principal, req.site) == (
            "GET", "/api/2.4/serverInfo", 200, None, None,
        )  # fmt: skip
        # the docs write "serverinfo": the segment is case-insensitive
        resp = requests.get(fake.url + "/api/3.21/serverinfo", timeout=5)
        assert resp.status_code == 200
        assert fromstring(resp.content).find("t:serverInfo/t:restApiVersion", NS).text == "3.21"


def _shape(element) -> tuple:
    attrs = tuple(sorted(k for k in element.attrib if not k.startswith("{")))
    return element.tag, attrs, tuple(_shape(child) for child in element)


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared contract fixtures not present")
def test_bodies_have_the_shape_of_the_tsc_test_assets(fake):
    def fixture(name: str):
        return fromstring((FIXTURES / name).read_bytes())

    info = requests.get(fake.url + "/api/2.4/serverInfo", timeout=5)
    assert _shape(fromstring(info.content)) == _shape(fixture("tsc_server_info_get.xml"))
    signin = RequestFactory.Auth.signin_req(pat_auth())
    ok = requests.post(fake.url + "/api/3.23/auth/signin", data=signin, timeout=5)
    assert _shape(fromstring(ok.content)) == _shape(fixture("tsc_auth_sign_in.xml"))
    bad = requests.post(fake.url + "/api/3.23/auth/signin", data=RequestFactory.Auth.signin_req(
        pat_auth(secret="nope")), timeout=5)
    assert bad.status_code == 401
    assert _shape(fromstring(bad.content)) == _shape(fixture("tsc_auth_sign_in_error.xml"))
    assert error_of(bad) == ("401001", "Signin Error", "Error signing in to Tableau Server")
    missing = requests.get(fake.url + "/api/2.4/serverInfoX", timeout=5)
    expected = fixture("tsc_server_info_404.xml").find("t:error", NS)
    assert missing.status_code == 404
    assert error_of(missing) == ("404003", expected.find("t:summary", NS).text,
                                 "Unknown resource '/2.4/serverInfoX' specified in URI.")


# -- sign in / sign out --------------------------------------------------------------------------------


def test_pat_sign_in_lists_workbooks_and_views_then_signs_out(fake):
    samples = fake.sites["Samples"]
    samples.workbooks, samples.views = 4, 7

    server = signed_in(fake, pat_auth())

    assert server.site_url == "Samples"
    assert server.site_id == samples.id
    assert server.version == "3.23"
    assert fake.active_sessions == 1
    workbooks, page = server.workbooks.get()
    assert (page.total_available, page.page_number, page.page_size) == (4, 1, 100)
    assert [w.name for w in workbooks] == ["Workbook 1", "Workbook 2", "Workbook 3", "Workbook 4"]
    assert all(w.project_name == "Default" and w.owner_id for w in workbooks)
    views, page = server.views.get()
    assert page.total_available == 7 and len(views) == 7
    assert {v.workbook_id for v in views} == {w.id for w in workbooks}
    # TSC's Pager walks the pages using pagination.totalAvailable
    paged = list(TSC.Pager(server.workbooks, TSC.RequestOptions(pagesize=3)))
    assert [w.id for w in paged] == [w.id for w in workbooks]
    assert server.sites.get_by_id(samples.id).name == "Samples"
    token = server.auth_token

    server.auth.sign_out()

    assert not server.is_signed_in()
    assert (fake.sign_ins, fake.sign_outs, fake.failed_sign_ins, fake.active_sessions) == (1, 1, 0, 0)
    site_path = f"/api/3.23/sites/{samples.id}"
    assert calls(fake) == [
        ("GET", "/api/2.4/serverInfo", 200),
        ("POST", "/api/3.23/auth/signin", 200),
        ("GET", site_path + "/workbooks", 200),
        ("GET", site_path + "/views", 200),
        ("GET", site_path + "/workbooks", 200),
        ("GET", site_path + "/workbooks", 200),
        ("GET", site_path, 200),
        ("POST", "/api/3.23/auth/signout", 204),
    ]
    assert [r.query for r in fake.requests][4:6] == [{"pageNumber": "1", "pageSize": "3"},
                                                     {"pageNumber": "2", "pageSize": "3"}]
    assert {(r.principal, r.site) for r in fake.requests[1:]} == {(PAT, "Samples")}
    # the token is dead after sign-out
    resp = requests.get(fake.url + site_path + "/workbooks", headers={"X-Tableau-Auth": token}, timeout=5)
    assert resp.status_code == 401 and error_of(resp)[0] == "401002"


def test_password_sign_in_on_the_default_site(fake):
    fake.sites[""].workbooks, fake.sites[""].views = 2, 0

    server = signed_in(fake, TSC.TableauAuth(USER, PASSWORD))  # site_id None -> "" = Default

    assert server.site_url == ""
    assert server.site_id == fake.sites[""].id
    assert server.sites.get_by_id(server.site_id).name == "Default"
    assert server.workbooks.get()[1].total_available == 2
    views, page = server.views.get()
    assert (views, page.total_available) == ([], 0)
    assert fake.requests[1].principal == USER and fake.requests[1].site == ""
    server.auth.sign_out()
    assert fake.sign_outs == 1


def test_wrong_pat_secret_is_a_failed_sign_in_not_a_server_response_error(fake):
    server = tsc(fake)
    server.use_server_version()

    with pytest.raises(TSC.FailedSignInError) as info:
        server.auth.sign_in(pat_auth(secret="wrong"))

    assert not isinstance(info.value, TSC.ServerResponseError)
    assert (info.value.code, info.value.summary) == ("401001", "Signin Error")
    assert not server.is_signed_in()
    assert (fake.sign_ins, fake.failed_sign_ins, fake.active_sessions) == (0, 1, 0)
    assert fake.requests[-1].status == 401 and fake.requests[-1].principal == PAT


def test_unknown_site_and_non_member_and_jwt_fail_with_401001(fake):
    fake.sites["Finance"] = TableauSite("Finance", members={USER})
    server = tsc(fake)
    server.use_server_version()

    for auth in (pat_auth(site="nope"), pat_auth(site="Finance"), TSC.JWTAuth("a.b.c", site_id="Samples")):
        with pytest.raises(TSC.FailedSignInError) as info:
            server.auth.sign_in(auth)
        assert info.value.code == "401001"
    assert fake.failed_sign_ins == 3

    server.auth.sign_in(TSC.TableauAuth(USER, PASSWORD, site_id="Finance"))  # a member
    assert server.site_url == "Finance" and fake.sign_ins == 1


def test_a_second_pat_sign_in_revokes_the_first_session(fake):
    first = signed_in(fake, pat_auth())
    assert first.workbooks.get()[1].total_available == 3

    second = signed_in(fake, pat_auth(site=""))

    with pytest.raises(TSC.FailedSignInError) as info:  # TSC maps every 401 to FailedSignInError
        first.workbooks.get()
    assert info.value.code == "401002"
    assert second.workbooks.get()[1].total_available == 3
    assert (fake.sign_ins, fake.revoked_sessions, fake.active_sessions) == (2, 1, 1)
    assert fake.requests[-2].principal is None  # an unknown token is not attributed to anyone
    # password sessions are not limited
    a = signed_in(fake, TSC.TableauAuth(USER, PASSWORD))
    b = signed_in(fake, TSC.TableauAuth(USER, PASSWORD))
    assert a.views.get()[1].total_available == b.views.get()[1].total_available == 5
    assert fake.active_sessions == 3


def test_sign_out_and_calls_without_or_with_an_unknown_token(fake):
    for headers, code in (({}, "401000"), ({"X-Tableau-Auth": "not-a-token"}, "401002")):
        resp = requests.post(fake.url + "/api/3.23/auth/signout", headers=headers, timeout=5)
        assert resp.status_code == 401 and error_of(resp)[0] == code
        resp = requests.get(f"{fake.url}/api/3.23/sites/{fake.sites[''].id}/workbooks", headers=headers, timeout=5)
        assert resp.status_code == 401 and error_of(resp)[0] == code
    server = signed_in(fake, pat_auth())
    token = server.auth_token
    server.auth.sign_out()
    resp = requests.post(fake.url + "/api/3.23/auth/signout", headers={"X-Tableau-Auth": token}, timeout=5)
    assert resp.status_code == 401 and error_of(resp)[0] == "401002"
    assert fake.sign_outs == 1


def test_a_site_id_other_than_the_sessions_is_forbidden(fake):
    server = signed_in(fake, pat_auth())
    headers = {"X-Tableau-Auth": server.auth_token}
    other = fake.sites[""].id

    for path in (f"/api/3.23/sites/{other}", f"/api/3.23/sites/{other}/workbooks", f"/api/3.23/sites/{other}/views"):
        resp = requests.get(fake.url + path, headers=headers, timeout=5)
        assert resp.status_code == 403 and error_of(resp)[0] == "403000"
    resp = requests.get(fake.url + "/api/3.23/sites/Samples?key=contentUrl", headers=headers, timeout=5)
    assert resp.status_code == 200
    assert fromstring(resp.content).find("t:site", NS).get("id") == fake.sites["Samples"].id


def test_forbidden_principal_signs_in_but_cannot_list(fake):
    fake.forbidden = {PAT}
    server = signed_in(fake, pat_auth())

    for endpoint in (server.workbooks, server.views):
        with pytest.raises(TSC.ServerResponseError) as info:
            endpoint.get()
        assert info.value.code == "403000" and info.value.summary == "Forbidden"
    assert server.sites.get_by_id(server.site_id).name == "Samples"  # only content listing is refused
    other = signed_in(fake, TSC.TableauAuth(USER, PASSWORD, site_id="Samples"))
    assert other.workbooks.get()[1].total_available == 3


def test_pagination_parameters_are_validated(fake):
    server = signed_in(fake, pat_auth())
    url = f"{fake.url}/api/3.23/sites/{server.site_id}/workbooks"
    headers = {"X-Tableau-Auth": server.auth_token}

    for query, code in (("pageSize=0", "400007"), ("pageSize=1001", "400007"), ("pageNumber=abc", "400006")):
        resp = requests.get(f"{url}?{query}", headers=headers, timeout=5)
        assert resp.status_code == 400 and error_of(resp)[0] == code, query
    resp = requests.get(f"{url}?pageSize=2&pageNumber=2", headers=headers, timeout=5)
    root = fromstring(resp.content)
    assert root.find("t:pagination", NS).attrib == {"pageNumber": "2", "pageSize": "2", "totalAvailable": "3"}
    assert [w.get("name") for w in root.findall("t:workbooks/t:workbook", NS)] == ["Workbook 3"]


# -- versions ------------------------------------------------------------------------------------------


def test_an_older_server_reports_its_rest_version_and_is_used_at_it():
    with FakeTableau(product_version="2019.4.0", rest_api_version="3.4") as fake:
        server = tsc(fake)
        assert server.server_info.get().rest_api_version == "3.4"

        server.use_server_version()
        server.auth.sign_in(TSC.TableauAuth(USER, PASSWORD, site_id="Samples"))

        assert server.version == "3.4"
        assert server.workbooks.get()[1].total_available == 3
        assert ("POST", "/api/3.4/auth/signin", 200) in calls(fake)
        resp = requests.get(fake.url + "/api/3.23/serverInfo", timeout=5)  # newer than the server
        assert resp.status_code == 404
        assert error_of(resp) == ("404003", "Resource Not Found", "Unknown resource '/3.23/serverInfo' specified in URI.")


def test_unknown_versions_and_resources_are_404003(fake):
    server = tsc(fake)
    server.version = "3.99"
    with pytest.raises(ServerInfoEndpointNotFoundError):
        server.server_info.get()

    for path in ("/api/2.3/serverInfo", "/api/exp/serverInfo", "/api/3.23/nothing", "/api/3.23/sites", "/api"):
        resp = requests.get(fake.url + path, timeout=5)
        assert resp.status_code == 404 and error_of(resp)[0] == "404003", path
    resp = requests.get(fake.url + "/api/3.99/serverInfo", timeout=5)
    assert error_of(resp)[2] == "Unknown resource '/3.99/serverInfo' specified in URI."
    resp = requests.get(fake.url + "/api/3.23/auth/signin", timeout=5)
    assert resp.status_code == 405 and error_of(resp)[0] == "405000"
    # the legacy pre-10.1 endpoint is not served, and its 404 is not XML
    resp = requests.get(fake.url + "/auth?format=xml", timeout=5)
    assert resp.status_code == 404 and resp.headers["Content-Type"].startswith("text/html")


def test_api_versions_below_the_minimum_are_refused():
    with FakeTableau(min_api_version="3.0") as fake:
        server = tsc(fake)
        server.use_server_version()  # /api/2.4/serverInfo 404003 -> legacy /auth?format=xml 404 -> keeps 2.4
        assert server.version == "2.4"
        assert calls(fake) == [("GET", "/api/2.4/serverInfo", 404), ("GET", "/auth", 404)]

        with pytest.raises(TSC.ServerResponseError) as info:
            server.auth.sign_in(pat_auth())
        assert info.value.code == "404003"

        server.version = "3.0"
        server.auth.sign_in(pat_auth())
        assert server.site_url == "Samples"


# -- faults, latency -----------------------------------------------------------------------------------


def test_injected_429_is_a_server_response_error_with_the_retry_after_header(fake):
    server = signed_in(fake, pat_auth())
    fake.inject(429, headers={"Retry-After": "1"}, path_prefix="/api/3.23/sites/")

    with pytest.raises(TSC.ServerResponseError) as info:
        server.workbooks.get()

    assert type(info.value) is TSC.ServerResponseError
    assert (info.value.code, info.value.summary) == ("429000", "Too Many Requests")
    assert server.workbooks.get()[1].total_available == 3  # times=1: the next call is served
    assert [r.status for r in fake.requests][-2:] == [429, 200]
    assert fake.requests[-2].principal == PAT
    fake.inject(429, headers={"Retry-After": "7"})
    resp = requests.get(fake.url + "/api/2.4/serverInfo", timeout=5)
    assert (resp.status_code, resp.headers["Retry-After"]) == (429, "7")
    assert error_of(resp)[0] == "429000"


def test_injected_5xx_reset_and_non_xml_bodies(fake):
    server = tsc(fake)
    fake.inject(503, method="POST", path_prefix="/api/2.4/auth/signin")
    with pytest.raises(InternalServerError) as info:
        server.auth.sign_in(pat_auth())
    assert info.value.code == 503

    fake.inject(404, body='{"message": "Not found"}', headers={"Content-Type": "application/json"})
    with pytest.raises(NonXMLResponseError):
        server.server_info.get()

    fake.inject(reset=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        server.server_info.get()
    assert fake.requests[-1].status == 0

    fake.inject(500, times=None)
    for _ in range(2):
        assert requests.get(fake.url + "/", timeout=5).status_code == 500
    fake.clear_faults()
    assert requests.get(fake.url + "/", timeout=5).status_code == 200


def test_latency_makes_tsc_time_out():
    with FakeTableau(latency=0.6) as fake:
        server = TSC.Server(fake.url, http_options={"timeout": 0.2})
        with pytest.raises(requests.exceptions.ReadTimeout):
            server.server_info.get()


# -- fingerprints, log hygiene, cross-platform ---------------------------------------------------------


def test_landing_page_has_the_nuclei_markers(fake):
    resp = requests.get(fake.url + "/", timeout=5)

    assert resp.status_code == 200
    assert resp.headers["X-Tableau"] == "Tableau Server"
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "vizportal" in resp.text and "SYNTHETIC" in resp.text
    assert 'data-buildId="20242_24_0611_1200"' in resp.text


def test_the_request_log_never_holds_a_password_secret_or_token(fake):
    fake.users["analyst"] = "an4lyst-Pa55word"
    fake.tokens[PAT] = "pat-S3CRET-xyz"
    seen_tokens = []
    for auth in (pat_auth(secret="pat-S3CRET-xyz"), TSC.TableauAuth("analyst", "an4lyst-Pa55word", site_id="Samples")):
        server = signed_in(fake, auth)
        seen_tokens.append(server.auth_token)
        server.workbooks.get()
        server.auth.sign_out()
    with pytest.raises(TSC.FailedSignInError):
        signed_in(fake, pat_auth(secret="pat-S3CRET-wrong"))

    log = repr(fake.requests)
    for secret in ("an4lyst-Pa55word", "pat-S3CRET-xyz", "pat-S3CRET-wrong", *seen_tokens):
        assert secret not in log
    assert {r.principal for r in fake.requests} == {None, PAT, "analyst"}
    assert len(fake.requests) == 10  # 2 x (serverInfo, signin, workbooks, signout) + (serverInfo, signin)
    assert "S3CRET" not in repr(fake) and "Pa55word" not in repr(fake)
    fake.reset_log()
    assert fake.requests == []


def test_concurrent_sign_ins_are_all_counted(fake):
    errors: list[BaseException] = []

    def sign_in() -> None:
        try:
            server = tsc(fake)
            server.version = "3.23"
            server.auth.sign_in(TSC.TableauAuth(USER, PASSWORD, site_id="Samples"))
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=sign_in) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert (fake.sign_ins, fake.active_sessions) == (12, 12)


class _ExplicitLookerSettings(api_settings.ApiSettings):
    """Contract §2.2: explicit values, no looker.ini, no LOOKERSDK_* environment."""

    def __init__(self, base_url: str, client_id: str, client_secret: str):
        self._cfg = {"base_url": base_url, "client_id": client_id, "client_secret": client_secret,
                     "verify_ssl": "True", "timeout": "5"}
        super().__init__(env_prefix=None, sdk_version=looker_sdk.sdk.constants.sdk_version)

    def read_config(self):
        return dict(self._cfg)


def test_looker_clients_against_the_tableau_fake_fail(fake):
    resp = requests.get(fake.url + "/versions", timeout=5)
    assert resp.status_code == 404
    with pytest.raises(ValueError):
        resp.json()

    sdk = looker_sdk.init40(config_settings=_ExplicitLookerSettings(fake.url, "lk_client_id", "lk_secret"))
    with pytest.raises(looker_sdk.error.SDKError) as info:
        sdk.me()

    assert "404003" in info.value.message  # the SDK's message is the raw body of the failed login
    assert ("POST", "/api/4.0/login", 404) in calls(fake)
    assert "lk_secret" not in repr(fake.requests)
    assert fake.sign_ins == fake.failed_sign_ins == 0


def test_main_serves_until_interrupted():
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner.testing.fake_tableau", "--port", "0", "--rest-api-version", "3.22",
         "--pat", "ci-pat:ci-secret", "--site", "Ops"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        banner = proc.stdout.readline()
        assert "ci-pat" in banner and "ci-secret" not in banner
        server = TSC.Server(url, http_options={"timeout": 5})
        server.use_server_version()
        server.auth.sign_in(TSC.PersonalAccessTokenAuth("ci-pat", "ci-secret", site_id="Ops"))
        assert (server.version, server.site_url) == ("3.22", "Ops")
        server.auth.sign_out()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
