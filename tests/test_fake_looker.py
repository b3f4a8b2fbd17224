"""Tests of the fake Looker API, driven through the real looker-sdk 26.22 over real sockets on 127.0.0.1."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time

import looker_sdk
import pytest
import requests
import tableauserverclient as TSC
from looker_sdk.error import SDKError
from looker_sdk.rtl import api_settings
from tableauserverclient.server.endpoint.exceptions import NonXMLResponseError

from scanner.testing.fake_looker import DOCUMENTATION_URL, FakeLooker, LookerApiUser

CLIENT_ID = "lk_client_id"
SECRET = "lk-client-secret"
NOT_FOUND = {"message": "Not found", "documentation_url": DOCUMENTATION_URL}
UNAUTHENTICATED = {"message": "Requires authentication.", "documentation_url": DOCUMENTATION_URL}


class ExplicitSettings(api_settings.ApiSettings):
    """Contract §2.2: settings from explicit values only (no looker.ini, no LOOKERSDK_* env)."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, timeout: int = 10):
        self._cfg = {
            "base_url": base_url,
            "client_id": client_id,
            "client_secret": client_secret,
            "verify_ssl": "True",
            "timeout": str(timeout),
        }
        super().__init__(env_prefix=None, sdk_version=looker_sdk.sdk.constants.sdk_version)

    def read_config(self):  # never call super(): it would read a stray ./looker.ini
        return dict(self._cfg)


def make_sdk(fake: FakeLooker, client_id: str = CLIENT_ID, secret: str = SECRET):
    return looker_sdk.init40(config_settings=ExplicitSettings(fake.url, client_id, secret))


def calls(fake: FakeLooker) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in fake.requests]


def login(fake: FakeLooker, version: str = "4.0", **params) -> requests.Response:
    data = {"client_id": CLIENT_ID, "client_secret": SECRET, **params}
    return requests.post(f"{fake.url}/api/{version}/login", data=data, timeout=10)


@pytest.fixture
def fake():
    with FakeLooker() as server:
        yield server


def test_sdk_login_me_versions_logout(fake):
    sdk = make_sdk(fake)
    me = sdk.me()
    assert (me.id, me.display_name, me.email, me.is_disabled) == ("42", "Api Robot", "api-robot@example.com", False)
    assert (me.first_name, me.last_name) == ("Api", "Robot")
    versions = sdk.versions()
    assert versions.looker_release_version == "25.20.11"
    assert versions.current_version.version == "4.0"
    assert versions.current_version.full_version == "4.0.25.20"
    assert versions.current_version.status == "current"
    assert versions.current_version.swagger_url == f"{fake.url}/api/4.0/swagger.json"
    assert [(v.version, v.status) for v in versions.supported_versions] == [("4.0", "current")]
    assert versions.api_server_url == fake.url
    assert versions.web_server_url == fake.url
    token = sdk.auth.token.access_token
    assert fake.active_tokens == 1
    sdk.auth.logout()

    assert calls(fake) == [
        ("POST", "/api/4.0/login", 200),
        ("GET", "/api/4.0/user", 200),
        ("GET", "/api/4.0/versions", 200),
        ("DELETE", "/api/logout", 204),
    ]
    assert [r.authenticated for r in fake.requests] == [False, True, True, True]
    assert {r.client_id for r in fake.requests} == {CLIENT_ID}
    assert (fake.logins, fake.failed_logins, fake.logouts, fake.active_tokens) == (1, 0, 1, 0)

    # the token is revoked: the same call with it is now 401, and a second logout too
    resp = requests.get(fake.url + "/api/4.0/user", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 401
    assert resp.json() == UNAUTHENTICATED
    resp = requests.delete(fake.url + "/api/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 401
    assert fake.logouts == 1


def test_sdk_logs_in_again_after_logout(fake):
    sdk = make_sdk(fake)
    sdk.me()
    sdk.auth.logout()
    assert sdk.me().id == "42"
    assert calls(fake)[-2:] == [("POST", "/api/4.0/login", 200), ("GET", "/api/4.0/user", 200)]
    assert (fake.logins, fake.logouts, fake.active_tokens) == (2, 1, 1)


def test_generated_logout_uses_versioned_path(fake):
    sdk = make_sdk(fake)
    sdk.me()
    assert sdk.logout() == ""
    assert calls(fake)[-1] == ("DELETE", "/api/4.0/logout", 204)
    assert (fake.logouts, fake.active_tokens) == (1, 0)


def test_unauthenticated_versions_with_requests(fake):
    resp = requests.get(fake.url + "/versions", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert body["looker_release_version"] == "25.20.11"
    assert [v["version"] for v in body["supported_versions"]] == ["4.0"]
    assert body["current_version"]["full_version"] == "4.0.25.20"
    assert body["api_server_url"] == body["web_server_url"] == fake.url
    # the versioned path answers without a token too
    assert requests.get(fake.url + "/api/4.0/versions", timeout=10).json() == body
    assert [(r.path, r.status, r.authenticated, r.client_id) for r in fake.requests] == [
        ("/versions", 200, False, None),
        ("/api/4.0/versions", 200, False, None),
    ]
    assert fake.logins == 0


def test_wrong_secret_is_404_not_found(fake):
    sdk = make_sdk(fake, secret="wrong-secret")
    with pytest.raises(SDKError) as excinfo:
        sdk.me()
    assert "Not found" in excinfo.value.message
    assert json.loads(excinfo.value.message) == NOT_FOUND  # AuthSession._ok: the raw body
    assert calls(fake) == [("POST", "/api/4.0/login", 404)]
    assert fake.requests[0].client_id == CLIENT_ID
    assert (fake.logins, fake.failed_logins, fake.active_tokens) == (0, 1, 0)


def test_unknown_client_and_missing_secret_are_404(fake):
    with pytest.raises(SDKError, match="Not found"):
        make_sdk(fake, client_id="nobody").me()
    resp = requests.post(fake.url + "/api/4.0/login", data={"client_id": CLIENT_ID}, timeout=10)
    assert resp.status_code == 404
    assert resp.json() == NOT_FOUND
    resp = requests.post(fake.url + "/api/4.0/login", timeout=10)
    assert resp.status_code == 404
    assert fake.failed_logins == 3
    assert fake.logins == 0


def test_missing_credentials_send_nothing(fake):
    with pytest.raises(SDKError, match="Required auth credentials not found."):
        make_sdk(fake, secret="").me()
    assert fake.requests == []


def test_login_answer_shape_and_query_params(fake):
    resp = login(fake)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert (body["token_type"], body["expires_in"], body["refresh_token"]) == ("Bearer", 3600, None)
    assert len(body["access_token"]) >= 32
    # login through query parameters (documented, to be deprecated) works as well
    resp = requests.post(
        fake.url + "/api/4.0/login", params={"client_id": CLIENT_ID, "client_secret": SECRET}, timeout=10
    )
    assert resp.status_code == 200
    assert resp.json()["access_token"] != body["access_token"]
    # login is POST only
    assert requests.get(fake.url + "/api/4.0/login", timeout=10).status_code == 404
    assert (fake.logins, fake.active_tokens) == (2, 2)


def test_token_schemes_and_bad_tokens(fake):
    token = login(fake).json()["access_token"]
    for header in (f"Bearer {token}", f"token {token}", f"bearer {token}"):
        resp = requests.get(fake.url + "/api/4.0/user", headers={"Authorization": header}, timeout=10)
        assert resp.status_code == 200, header
        assert resp.json()["id"] == "42"
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": token}):
        resp = requests.get(fake.url + "/api/4.0/dashboards", headers=headers, timeout=10)
        assert resp.status_code == 401, headers
        assert resp.json() == UNAUTHENTICATED
    assert requests.delete(fake.url + "/api/logout", timeout=10).status_code == 401
    assert fake.logouts == 0


def test_dashboard_and_model_counts():
    user = LookerApiUser(SECRET, dashboards=5, lookml_models=4)
    with FakeLooker(clients={CLIENT_ID: user}) as fake:
        sdk = make_sdk(fake)
        dashboards = sdk.all_dashboards(fields="id")
        assert [d.id for d in dashboards] == ["1", "2", "3", "4", "5"]
        assert dashboards[0].title is None  # fields=id keeps only id, like Looker
        assert [d.title for d in sdk.all_dashboards()] == [f"Dashboard {i}" for i in range(1, 6)]
        models = sdk.all_lookml_models(fields="name")
        assert [m.name for m in models] == ["model_1", "model_2", "model_3", "model_4"]
        assert models[0].label is None
        page = sdk.all_lookml_models(fields="name", limit=2, offset=1)
        assert [m.name for m in page] == ["model_2", "model_3"]
        assert sdk.all_lookml_models(fields="name", limit=10, offset=3)[0].name == "model_4"
        assert sdk.all_lookml_models(fields="name", limit=10, offset=4) == []
        assert fake.requests[-3].query == {"fields": "name", "limit": "2", "offset": "1"}
        assert fake.logins == 1
    with FakeLooker(clients={CLIENT_ID: LookerApiUser(SECRET, dashboards=0, lookml_models=0)}) as fake:
        sdk = make_sdk(fake)
        assert sdk.all_dashboards(fields="id") == []
        assert sdk.all_lookml_models(fields="name") == []


def test_bad_limit_is_400(fake):
    token = login(fake).json()["access_token"]
    resp = requests.get(
        fake.url + "/api/4.0/lookml_models",
        params={"limit": "many"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert resp.status_code == 400
    assert "limit" in resp.json()["message"]


def test_forbidden_user():
    with FakeLooker(clients={CLIENT_ID: LookerApiUser(SECRET, forbidden=True)}) as fake:
        sdk = make_sdk(fake)
        assert sdk.me().id == "42"
        with pytest.raises(SDKError) as excinfo:
            sdk.all_dashboards(fields="id")
        assert excinfo.value.message == "Forbidden"
        assert excinfo.value.documentation_url == DOCUMENTATION_URL
        with pytest.raises(SDKError, match="Forbidden"):
            sdk.all_lookml_models(fields="name", limit=100, offset=0)
        assert calls(fake) == [
            ("POST", "/api/4.0/login", 200),
            ("GET", "/api/4.0/user", 200),
            ("GET", "/api/4.0/dashboards", 403),
            ("GET", "/api/4.0/lookml_models", 403),
        ]


def test_several_clients_are_told_apart():
    clients = {
        CLIENT_ID: LookerApiUser(SECRET),
        "other_id": LookerApiUser("other-secret", user_id="7", display_name="Second Bot", dashboards=1),
    }
    with FakeLooker(clients=clients) as fake:
        assert make_sdk(fake, "other_id", "other-secret").me().display_name == "Second Bot"
        assert len(make_sdk(fake, "other_id", "other-secret").all_dashboards(fields="id")) == 1
        assert len(make_sdk(fake).all_dashboards(fields="id")) == 3
        with pytest.raises(SDKError, match="Not found"):
            make_sdk(fake, "other_id", SECRET).me()  # another client's secret
        assert [r.client_id for r in fake.requests if r.path.endswith("/dashboards")] == ["other_id", CLIENT_ID]
        # /users/<id> knows every user; unknown ids are 404
        sdk = make_sdk(fake)
        assert sdk.user("7").display_name == "Second Bot"
        with pytest.raises(SDKError) as excinfo:
            sdk.user("999")
        assert excinfo.value.message == "Not found"


def test_short_token_ttl_makes_the_sdk_log_in_before_every_call():
    with FakeLooker(token_ttl=5) as fake:
        sdk = make_sdk(fake)
        sdk.me()
        sdk.all_dashboards(fields="id")
        sdk.all_lookml_models(fields="name")
        assert fake.logins == 3
        assert [c[1] for c in calls(fake)] == [
            "/api/4.0/login",
            "/api/4.0/user",
            "/api/4.0/login",
            "/api/4.0/dashboards",
            "/api/4.0/login",
            "/api/4.0/lookml_models",
        ]
        assert fake.active_tokens == 3  # the fake still honours them for 5 s


def test_default_token_ttl_logs_in_once(fake):
    sdk = make_sdk(fake)
    sdk.me()
    sdk.all_dashboards(fields="id")
    sdk.all_lookml_models(fields="name")
    assert fake.logins == 1


def test_tokens_expire_after_ttl():
    with FakeLooker(token_ttl=1) as fake:
        body = login(fake).json()
        assert body["expires_in"] == 1
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        assert requests.get(fake.url + "/api/4.0/user", headers=headers, timeout=10).status_code == 200
        time.sleep(1.2)
        assert fake.active_tokens == 0
        resp = requests.get(fake.url + "/api/4.0/user", headers=headers, timeout=10)
        assert resp.status_code == 401
        assert resp.json() == UNAUTHENTICATED


def test_old_api_versions_only():
    with FakeLooker(api_versions=("3.0", "3.1")) as fake:
        body = requests.get(fake.url + "/versions", timeout=10).json()
        assert [(v["version"], v["status"]) for v in body["supported_versions"]] == [
            ("3.0", "legacy"),
            ("3.1", "current"),
        ]
        assert "4.0" not in json.dumps(body["supported_versions"])
        assert body["current_version"]["version"] == "3.1"
        assert body["current_version"]["full_version"] == "3.1.25.20"
        with pytest.raises(SDKError, match="Not found"):
            make_sdk(fake).me()
        assert calls(fake)[-1] == ("POST", "/api/4.0/login", 404)
        assert requests.get(fake.url + "/api/4.0/versions", timeout=10).status_code == 404
        # a served version takes the same credentials, and its token works there
        resp = login(fake, version="3.1")
        assert resp.status_code == 200
        headers = {"Authorization": f"Bearer {resp.json()['access_token']}"}
        assert requests.get(fake.url + "/api/3.1/user", headers=headers, timeout=10).status_code == 200
        assert requests.get(fake.url + "/api/4.0/user", headers=headers, timeout=10).status_code == 404
        assert (fake.logins, fake.failed_logins) == (1, 0)


def test_several_api_versions_statuses():
    with FakeLooker(api_versions=("4.0", "3.1", "5.0")) as fake:
        body = requests.get(fake.url + "/versions", timeout=10).json()
        assert [(v["version"], v["status"]) for v in body["supported_versions"]] == [
            ("3.1", "legacy"),
            ("4.0", "stable"),
            ("5.0", "current"),
        ]
        assert make_sdk(fake).me().id == "42"


def test_api_versions_must_not_be_empty():
    with pytest.raises(ValueError):
        FakeLooker(api_versions=())


def test_inject_429_fails_the_next_call(fake):
    sdk = make_sdk(fake)
    sdk.me()
    fake.inject(429, headers={"Retry-After": "1"})
    with pytest.raises(SDKError) as excinfo:
        sdk.all_dashboards(fields="id")
    assert excinfo.value.message == "Too Many Requests"
    assert calls(fake)[-1] == ("GET", "/api/4.0/dashboards", 429)
    assert len(sdk.all_dashboards(fields="id")) == 3  # only once
    # the header and body on the wire
    fake.inject(429, headers={"Retry-After": "1"}, path_prefix="/versions")
    resp = requests.get(fake.url + "/versions", timeout=10)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "1"
    assert resp.json() == {"message": "Too Many Requests", "documentation_url": DOCUMENTATION_URL}
    assert requests.get(fake.url + "/versions", timeout=10).status_code == 200


def test_inject_on_login_method_filter_body_and_clear(fake):
    fake.inject(503, times=None, method="POST", path_prefix="/api/4.0/login", body={"message": "down"})
    assert requests.get(fake.url + "/api/4.0/versions", timeout=10).status_code == 200
    with pytest.raises(SDKError, match="down"):
        make_sdk(fake).me()
    with pytest.raises(SDKError, match="down"):
        make_sdk(fake).me()
    assert fake.logins == 0 and fake.failed_logins == 0  # faults apply before routing
    fake.clear_faults()
    assert make_sdk(fake).me().id == "42"


def test_inject_reset_drops_the_connection(fake):
    sdk = make_sdk(fake)
    sdk.me()
    fake.inject(reset=True, path_prefix="/api/4.0/user")
    with pytest.raises(SDKError):
        sdk.me()
    assert calls(fake)[-1] == ("GET", "/api/4.0/user", 0)
    assert sdk.me().id == "42"


def test_api_server_url_override():
    with FakeLooker(api_server_url="https://acme.cloud.looker.com") as fake:
        body = requests.get(fake.url + "/versions", timeout=10).json()
        assert body["api_server_url"] == "https://acme.cloud.looker.com"
        assert body["current_version"]["swagger_url"] == "https://acme.cloud.looker.com/api/4.0/swagger.json"
        assert body["web_server_url"] == fake.url
        assert make_sdk(fake).versions().api_server_url == "https://acme.cloud.looker.com"


def test_release_is_configurable():
    with FakeLooker(release="24.6.3") as fake:
        versions = make_sdk(fake).versions()
        assert versions.looker_release_version == "24.6.3"
        assert versions.current_version.full_version == "4.0.24.6"


def test_log_never_holds_a_secret_or_a_token(fake):
    tokens = []
    sdk = make_sdk(fake)
    sdk.me()
    tokens.append(sdk.auth.token.access_token)
    sdk.all_dashboards(fields="id")
    sdk.auth.logout()
    with pytest.raises(SDKError):
        make_sdk(fake, secret="wrong-secret-value").me()
    resp = requests.post(
        fake.url + "/api/4.0/login", params={"client_id": CLIENT_ID, "client_secret": SECRET}, timeout=10
    )
    tokens.append(resp.json()["access_token"])
    requests.get(fake.url + "/api/4.0/user", params={"access_token": tokens[-1]}, timeout=10)
    requests.get(fake.url + "/api/4.0/user", headers={"Authorization": f"token {tokens[-1]}"}, timeout=10)
    requests.get(fake.url + "/versions", params={"x": SECRET}, timeout=10)
    requests.post(fake.url + "/api/4.0/login", params={"client_id": "x", "client_secret": "typo-secret"}, timeout=10)

    assert len(fake.requests) == 10
    logged = repr(fake.requests)
    for value in (SECRET, "wrong-secret-value", "typo-secret", *tokens):
        assert value not in logged
    assert "Authorization" not in logged and "Bearer" not in logged
    assert fake.requests[5].query == {"client_id": CLIENT_ID, "client_secret": "***"}
    assert fake.requests[6].query == {"access_token": "***"}
    assert fake.requests[-2].query == {"x": "***"}
    assert (fake.requests[-1].status, fake.requests[-1].query) == (404, {"client_id": "x", "client_secret": "***"})
    assert fake.requests[7].authenticated is True
    assert not hasattr(fake.requests[0], "body")


def test_reset_log(fake):
    requests.get(fake.url + "/versions", timeout=10)
    assert len(fake.requests) == 1
    snapshot = fake.requests
    fake.reset_log()
    assert fake.requests == []
    assert len(snapshot) == 1  # a copy


def test_unknown_paths_are_404(fake):
    token = login(fake).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for method, path in [
        ("GET", "/"),
        ("GET", "/api/versions"),
        ("GET", "/api/4.0/nothing_here"),
        ("GET", "/api/4.0"),
        ("POST", "/api/4.0/user"),
        ("GET", "/api/4.0/logout"),
        ("GET", "/api/2.4/serverInfo"),
        ("GET", "/api/9.9/versions"),
    ]:
        resp = requests.request(method, fake.url + path, headers=headers, timeout=10)
        assert resp.status_code == 404, (method, path)
        assert resp.json() == NOT_FOUND


def test_extras_alive_swagger_and_login_page(fake):
    resp = requests.get(fake.url + "/alive", timeout=10)
    assert (resp.status_code, resp.content) == (200, b"")
    swagger = requests.get(fake.url + "/api/4.0/swagger.json", timeout=10).json()
    assert swagger["basePath"] == "/api/4.0"
    assert swagger["info"]["version"] == "4.0.25.20"
    resp = requests.get(fake.url + "/login", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    # nuclei looker-panel: both words, and its extractor regex
    assert "lookerVersion" in resp.text and "lookerLocation.title" in resp.text
    assert re.search(r"lookerVersion: '([0-9.]+)',", resp.text).group(1) == "25.20.11"


def test_latency_delays_every_answer():
    with FakeLooker(latency=0.3) as fake:
        started = time.monotonic()
        assert requests.get(fake.url + "/versions", timeout=10).status_code == 200
        assert time.monotonic() - started >= 0.3


def test_concurrent_logins_are_counted_exactly(fake):
    errors = []

    def worker():
        try:
            for _ in range(5):
                assert login(fake).status_code == 200
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert (fake.logins, fake.active_tokens, len(fake.requests)) == (40, 40, 40)


def test_port_and_url_after_start():
    fake = FakeLooker()
    assert fake.port == 0
    with fake:
        assert fake.port > 0
        assert fake.url == f"http://127.0.0.1:{fake.port}"
        assert requests.get(fake.url + "/alive", timeout=10).status_code == 200


def test_tableau_client_against_the_fake_raises_non_xml(fake):
    server = TSC.Server(fake.url, http_options={"timeout": 10})
    with pytest.raises(NonXMLResponseError):
        server.server_info.get()
    assert calls(fake) == [("GET", "/api/2.4/serverInfo", 404)]


def test_command_line_runs_until_interrupted():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scanner.testing.fake_looker",
            "--port",
            "0",
            "--client-id",
            "cli_id",
            "--client-secret",
            "cli-secret",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        assert "cli-secret" not in line + proc.stdout.readline()
        assert requests.get(url + "/versions", timeout=10).json()["looker_release_version"] == "25.20.11"
        settings = ExplicitSettings(url, "cli_id", "cli-secret")
        assert looker_sdk.init40(config_settings=settings).me().id == "42"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
