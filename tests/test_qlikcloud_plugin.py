"""Qlik Cloud plugin over real sockets against the loopback fake tenant (scanner/testing/fake_qlikcloud.py) and the
fake catalog.

Every request goes to 127.0.0.1: the tenant URL (QCS_SERVER) of every target is a fake or a local server. Whole runs
go through ``scanner scan --output json``; the step-level cases call scanner's own probe runner on a target built as
the settings loader builds it.
"""

from __future__ import annotations

import time

import pytest
import requests
from conftest import catalog_env
from pydantic import SecretStr
from scan_helpers import put_config, scan

from scanner.plugin import ProbeResult, Status, Target
from scanner.probe import run_probe
from scanner.secrets import MASK, register
from scanner.testing.fake_qlikcloud import TENANT_ID, FakeQlikCloud, QlikUser
from scanner.testing.server import LocalServer, Request, Response
from scanner_qlikcloud import QlikCloudSettings, plugin

KEY = "eyJhbGciOiJFUzM4NCIsImtpZCI6ImQ1In0.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJlLWFuYS0xMjM0"
EMPTY_KEY = "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJldmUifQ.c2lnbmF0dXJlLWV2ZS01Njc4"
LOCKED_KEY = "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJsb3UifQ.c2lnbmF0dXJlLWxvdS05MDEy"
WRONG_KEY = "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ4eHgifQ.c2lnbmF0dXJlLXh4eC0zNDU2"
SECRETS = (KEY, EMPTY_KEY, LOCKED_KEY, WRONG_KEY)
STEPS = ["Reach", "Fingerprint", "CheckAccess", "GetDashboards", "GetSpaces"]
ANONYMOUS = {"/", "/api/v1/items", "/api/v1/users/me"}


def users() -> list[QlikUser]:
    return [QlikUser(KEY, "Ana Analyst", "ana@example.com", user_id="64f1c2d3e4a5b6c7d8e9f001"),
            QlikUser(EMPTY_KEY, "Eve Empty", "eve@example.com", user_id="64f1c2d3e4a5b6c7d8e9f002", apps=0),
            QlikUser(LOCKED_KEY, "Lou Locked", "lou@example.com", user_id="64f1c2d3e4a5b6c7d8e9f003",
                     forbidden=True)]


@pytest.fixture
def qlik():
    with FakeQlikCloud(users=users(), apps=5, spaces={"shared": 2, "managed": 1}) as fake:
        yield fake


def qcs_env(name: str, url: str, key: str, **extra: str) -> dict[str, str]:
    env = {f"QCS_SERVER__{name}": url, f"QCS_API_KEY__{name}": key}
    env.update({f"QCS_{k}__{name}": v for k, v in extra.items()})
    return env


def no_secret_in(result) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr


def probe(url: str, key: str = KEY, **tls) -> tuple[Target, ProbeResult]:
    register(key)  # as the settings loader does for every secret it reads
    target = Target("qlikcloud", "t", "qlikcloud_t", QlikCloudSettings(url=url, token=SecretStr(key), **tls), {},
                    "test")
    return target, run_probe(plugin, target, deadline_s=20)


def statuses(result: ProbeResult) -> list[str]:
    return [s.status.value for s in result.steps]


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # never a proxy from the environment: 127.0.0.1 only
    return session


# -- whole runs through the CLI ------------------------------------------------------------------------------


def test_env_instances_end_to_end(run_cli, qlik, catalog, web, closed_port):
    env = {
        **catalog_env(catalog),
        **qcs_env("ANA", qlik.url, KEY), **qcs_env("EVE", qlik.url + "/", EMPTY_KEY),
        **qcs_env("LOU", qlik.url, LOCKED_KEY), **qcs_env("WRONG", qlik.url, WRONG_KEY),
        **qcs_env("WEB", web.url, KEY), **qcs_env("CLOSED", f"http://127.0.0.1:{closed_port}", KEY),
    }
    result, by = scan(run_cli, env)
    assert result.code == 1, result.stderr
    assert {k: v["status"] for k, v in by.items()} == {
        "ana": "ok", "eve": "ok", "lou": "forbidden", "wrong": "auth_failed", "web": "not_detected",
        "closed": "unreachable",
    }
    ana = by["ana"]
    assert [s["name"] for s in ana["steps"]] == STEPS and ana["version"] is None
    assert ana["canonical_url"] == qlik.url
    assert ana["details"] == {"user": "ana@example.com", "tenantId": TENANT_ID, "apps": 5, "spaces": 3,
                              "engine_websocket": "wss://127.0.0.1/app/<appId> (not probed)"}
    [websocket] = ana["warnings"]  # the loopback fake is not on https:443: OpenMetadata's WebSocket part cannot work
    assert "wss://127.0.0.1/app/<appId>" in websocket and "port 443" in websocket
    assert "0 apps visible" in " ".join(by["eve"]["warnings"])
    assert by["eve"]["details"]["apps"] == 0

    wrong = by["wrong"]
    assert wrong["message"] == "CheckAccess: GET /api/v1/users/me answered 401: Unauthorized (HTTP-401): invalid token"
    assert "QCS_API_KEY__WRONG" in wrong["hint"] and "token" in wrong["hint"] and "QCS_SERVER__WRONG" in wrong["hint"]
    lou = by["lou"]
    assert lou["message"].startswith("GetDashboards: GET /api/v1/items?resourceType=app answered 403: Forbidden")
    assert "QCS_API_KEY__LOU" in lou["hint"]
    assert [s["status"] for s in by["web"]["steps"]] == ["passed", "failed", "skipped", "skipped", "skipped"]
    assert "0 of 2 signs" in by["web"]["message"] and "QCS_SERVER__WEB" in by["web"]["hint"]

    assert sorted(catalog.services) == ["qlikcloud_ana", "qlikcloud_eve"]
    assert put_config(catalog, "qlikcloud_ana") == {"type": "QlikCloud", "hostPort": qlik.url, "token": KEY}
    assert put_config(catalog, "qlikcloud_eve") == {"type": "QlikCloud", "hostPort": qlik.url, "token": EMPTY_KEY}
    no_secret_in(result)

    # second run: nothing to write, even through a person's token that sees masked secrets
    catalog.reset_log()
    again, by = scan(run_cli, {**env, "OPENMETADATA_JWT_TOKEN": "user-token-2b8e41"}, "--platform", "qlikcloud")
    assert by["ana"]["plan"]["action"] == "unchanged" and by["ana"]["plan"]["secrets_unverified"] is True
    assert catalog.calls("PUT") == []
    no_secret_in(again)


def test_the_key_goes_only_to_the_tenant_and_only_after_the_fingerprint(run_cli, qlik):
    result, by = scan(run_cli, qcs_env("ONE", qlik.url, KEY))
    assert by["one"]["status"] == "ok", result.stderr
    log = qlik.requests
    first = next(i for i, r in enumerate(log) if r.credential)
    assert {r.path for r in log[:first]} == ANONYMOUS and not any(r.credential for r in log[:first])
    assert [path for _, path in qlik.credentialed] == ["/api/v1/users/me", "/api/v1/users/64f1c2d3e4a5b6c7d8e9f001",
                                                        "/api/v1/items", "/api/v1/spaces"]
    assert {r.principal for r in log[first:]} == {"Ana Analyst"}
    no_secret_in(result)


def test_dry_run_masks_the_key_and_writes_nothing(run_cli, qlik, catalog):
    env = {**catalog_env(catalog), "QCS_SERVER": qlik.url, "QCS_API_KEY": KEY}
    result, by = scan(run_cli, env, "--dry-run")
    assert result.code == 0, result.stderr
    [entry] = by.values()
    assert entry["service_name"] == "qlikcloud_127_0_0_1_" + qlik.url.rsplit(":", 1)[1]
    assert entry["payload"]["connection"]["config"] == {"type": "QlikCloud", "hostPort": qlik.url, "token": MASK}
    assert catalog.calls("PUT") == []
    no_secret_in(result)


def test_toml_target_uses_openmetadatas_key_name(run_cli, qlik, tmp_path):
    (tmp_path / "config.toml").write_text(
        f'[[targets]]\nplatform = "qlikcloud"\ninstance = "toml"\nurl = "{qlik.url}"\ntoken = "${{MY_QLIK_KEY}}"\n'
    )
    result, by = scan(run_cli, {"MY_QLIK_KEY": KEY}, "--config", str(tmp_path / "config.toml"), "--dry-run")
    assert by["toml"]["status"] == "ok", result.stdout + result.stderr
    assert by["toml"]["payload"]["connection"]["config"]["token"] == MASK
    no_secret_in(result)


def test_an_empty_key_is_a_config_error(run_cli):
    result = run_cli("scan", env={"QCS_SERVER": "http://127.0.0.1:1", "QCS_API_KEY": "  "})
    assert result.code == 1
    assert "token" in result.stdout and "empty" in result.stdout


def test_https_with_a_private_ca(run_cli, catalog, server_tls, ca_pem):
    with FakeQlikCloud(users=users(), tls=server_tls) as fake:
        url = fake.url
        env = {**catalog_env(catalog), **qcs_env("CA", url, KEY, CA_BUNDLE=str(ca_pem)), **qcs_env("NOCA", url, KEY),
               **qcs_env("OFF", url, EMPTY_KEY, VERIFY_SSL="false")}  # another key: not a duplicate
        result, by = scan(run_cli, env)
        keyed = {r.principal for r in fake.requests if r.credential}
    assert url.startswith("https://")
    assert {k: v["status"] for k, v in by.items()} == {"ca": "ok", "noca": "tls_error", "off": "ok"}
    ca_warnings = " ".join(by["ca"]["warnings"])
    assert "ingestion host" in ca_warnings and "REQUESTS_CA_BUNDLE" in ca_warnings
    assert "ingestion host" in " ".join(by["off"]["warnings"])  # the connector always verifies
    assert "QCS_CA_BUNDLE" in by["noca"]["hint"] and "QCS_VERIFY_SSL" in by["noca"]["hint"]
    assert put_config(catalog, "qlikcloud_ca") == {"type": "QlikCloud", "hostPort": url, "token": KEY}
    assert keyed == {"Ana Analyst", "Eve Empty"}  # the refused handshake carried nothing
    no_secret_in(result)


# -- the fingerprint: no key for anything that is not Qlik Cloud ---------------------------------------------


def _recording(app):
    """Wrap `app` so every request's path is kept, with whether it carried an Authorization header."""
    seen: list[tuple[str, bool]] = []

    def wrapped(request: Request) -> Response:
        seen.append((request.path, request.header("Authorization") is not None))
        return app(request)

    return wrapped, seen


def _spa(request: Request) -> Response:  # a single-page app: 200 with its page for any path
    return Response(200, b"<!DOCTYPE html><html><head><title>Qlik Cloud</title></head><body>app</body></html>",
                    {"Content-Type": "text/html; charset=utf-8"})


def _open_json(request: Request) -> Response:  # a JSON API that asks for no key
    return Response.json({"data": [], "links": {}})


def _other_401(request: Request) -> Response:  # another API that wants a key, in its own shape
    return Response.json({"message": "Unauthorized"}, 401)


@pytest.mark.parametrize("app", [_spa, _open_json, _other_401], ids=["spa", "open-json", "other-401"])
def test_another_server_is_not_qlik_cloud_and_gets_no_key(run_cli, app):
    wrapped, seen = _recording(app)
    with LocalServer(wrapped) as server:
        result, by = scan(run_cli, qcs_env("X", server.url, KEY))
    [entry] = by.values()
    assert entry["status"] == "not_detected", entry
    assert "0 of 2 signs" in entry["message"] and "QCS_SERVER__X" in entry["hint"]
    assert seen and not any(auth for _, auth in seen)
    assert {path for path, _ in seen} <= ANONYMOUS
    no_secret_in(result)


def test_a_hostname_without_a_tenant_is_not_detected_and_gets_no_key(run_cli):
    with FakeQlikCloud(users=users(), tenant_exists=False) as fake:
        result, by = scan(run_cli, qcs_env("GONE", fake.url, KEY))
        credentialed = fake.credentialed
    [entry] = by.values()
    assert entry["status"] == "not_detected"
    assert "no Qlik Cloud tenant" in entry["message"] and "LOGIN-2" in entry["message"]
    assert "QCS_SERVER__GONE" in entry["hint"]
    assert credentialed == []


# -- CheckAccess: /users/me as Qlik answers it -----------------------------------------------------------------


@pytest.mark.parametrize("me", ["redirect", "relative", "direct"])
def test_users_me_redirected_or_answered(me):
    with FakeQlikCloud(users=users(), me=me) as fake:
        _, result = probe(fake.url)
        paths = [r.path for r in fake.requests if r.credential][:2]
    assert result.status is Status.OK, result.message
    assert result.details["user"] == "ana@example.com" and result.details["tenantId"] == TENANT_ID
    expected = ["/api/v1/users/me", "/api/v1/items"] if me == "direct" else ["/api/v1/users/me",
                                                                               "/api/v1/users/64f1c2d3e4a5b6c7d8e9f001"]
    assert paths == expected


def test_a_redirect_off_the_tenant_is_not_followed(qlik):
    wrapped, seen = _recording(lambda request: Response.json({"id": "x", "tenantId": "stolen"}))
    with LocalServer(wrapped) as elsewhere:
        qlik.inject(301, times=None, method="GET", path_prefix="/api/v1/users/me",
                    headers={"Location": elsewhere.url + "/api/v1/users/x"}, body="")
        _, result = probe(qlik.url)
    assert result.status is Status.ERROR
    assert "not this tenant" in result.message and "was not sent there" in result.message
    assert seen == []


def test_a_redirect_of_a_keyed_request_is_reported_not_followed(qlik):
    qlik.inject(302, times=None, method="GET", path_prefix="/api/v1/items",
                headers={"Location": "http://127.0.0.1:9/login?returnto=x"}, body="")
    _, result = probe(qlik.url)
    assert result.status is Status.ERROR and "not followed" in result.message
    assert statuses(result) == ["passed", "passed", "passed", "failed", "passed"]
    qlik.clear_faults()
    qlik.reset_log()
    qlik.inject(302, times=None, method="GET", path_prefix="/api/v1/spaces",
                headers={"Location": "http://127.0.0.1:9/login"}, body="")
    _, result = probe(qlik.url)
    assert result.status is Status.OK  # spaces are optional
    assert "not followed" in result.steps[-1].message


def test_a_user_that_is_not_active_is_a_warning():
    with FakeQlikCloud(users=[QlikUser(KEY, status="disabled")]) as fake:
        _, result = probe(fake.url)
    assert result.status is Status.OK
    assert result.steps[2].warning and "'disabled'" in result.steps[2].message


# -- the counts ------------------------------------------------------------------------------------------------


def test_apps_are_paged_by_cursor_past_openmetadatas_page_of_100():
    with FakeQlikCloud(users=users(), apps=234, spaces={}, other_items=7) as fake:
        _, result = probe(fake.url)
        pages = [r for r in fake.requests if r.path == "/api/v1/items" and r.credential]
    assert result.status is Status.OK
    assert result.details["apps"] == 234 and result.details["spaces"] == 0  # datasets are no apps
    assert len(pages) == 3
    assert not any(s.warning for s in result.steps if s.name == "GetSpaces")  # 0 spaces is normal


def test_a_long_listing_stops_before_the_deadline_with_a_lower_bound():
    with FakeQlikCloud(users=users(), apps=1000, latency=0.25) as fake:
        register(KEY)
        target = Target("qlikcloud", "t", "qlikcloud_t", QlikCloudSettings(url=fake.url, token=SecretStr(KEY)), {},
                        "test")
        result = run_probe(plugin, target, deadline_s=8)
    assert result.status is Status.OK, result.message
    assert 100 <= result.details["apps"] < 1000
    [step] = [s for s in result.steps if s.name == "GetDashboards"]
    assert step.warning and "lower bound" in step.message and "--target-deadline" in step.message


def test_next_links_on_another_host_are_not_followed():
    wrapped, seen = _recording(lambda request: Response.json({"data": [], "links": {}}))
    with LocalServer(wrapped) as elsewhere, FakeQlikCloud(users=users(), apps=150, link_base=elsewhere.url) as fake:
        _, result = probe(fake.url)
    assert result.status is Status.ERROR
    assert "links.next points at" in result.message and "was not sent there" in result.message
    assert seen == []


def test_relative_next_links_are_followed_with_a_warning_for_openmetadata():
    with FakeQlikCloud(users=users(), apps=150, link_base="") as fake:
        url = fake.url
        _, result = probe(url)
    assert result.status is Status.OK and result.details["apps"] == 150
    [step] = [s for s in result.steps if s.name == "GetDashboards"]
    assert step.warning and "OpenMetadata's connector pages by cutting" in step.message
    assert f"{url}/api" in step.message


def test_429_is_retried_after_retry_after(qlik):
    # the first 429 meets the Fingerprint's anonymous call (its other sign passes), the second the keyed listing
    qlik.inject(429, times=2, method="GET", path_prefix="/api/v1/items", headers={"Retry-After": "1"})
    started = time.monotonic()
    _, result = probe(qlik.url)
    took = time.monotonic() - started
    assert result.status is Status.OK and result.details["apps"] == 5
    assert [r.status for r in qlik.requests if r.path == "/api/v1/items" and r.credential] == [429, 200]
    assert took >= 1.0


def test_429_that_does_not_end_is_an_error_with_a_hint(qlik):
    qlik.inject(429, times=None, method="GET", path_prefix="/api/v1/users/me", headers={"Retry-After": "0"})
    _, result = probe(qlik.url)
    assert result.status is Status.ERROR and "429" in result.message and "rate limiting" in result.hint
    assert len([r for r in qlik.requests if r.path == "/api/v1/users/me" and r.credential]) == 3  # 1 try, 2 retries


def test_spaces_failing_is_only_a_warning(qlik):
    qlik.inject(403, times=None, method="GET", path_prefix="/api/v1/spaces")
    _, result = probe(qlik.url)
    assert result.status is Status.OK
    assert statuses(result) == ["passed"] * 4 + ["failed"]
    assert "403" in result.steps[-1].message and "skips every app whose space" in result.steps[-1].message


# -- naming, base URL and the registered config (no network) ----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "instance"),
    [("https://acme.eu.qlikcloud.com", "acme_eu"), ("https://Acme-Corp.us.qlikcloud.com", "acme_corp_us"),
     ("https://acme.qlikcloud.com", "acme"), ("https://gov1.us.qlikcloudgov.com", "gov1_us"),
     ("https://bi.acme.com", None), ("http://127.0.0.1:8443", None)],
)
def test_the_instance_is_named_after_the_tenant(url, instance):
    settings = QlikCloudSettings(url=url, token=SecretStr("k"))
    assert plugin.instance_name(settings) == instance


def test_a_tenant_from_the_environment_is_named_after_it():
    from scanner.registry import PluginEntry
    from scanner.settings import load_settings
    from scanner.targets import collect

    entry = PluginEntry(name="qlikcloud", plugin=plugin, source="test", error=None)
    env = {"QCS_SERVER": "https://acme.eu.qlikcloud.com/hub/spaces", "QCS_API_KEY": "k1",
           "QCS_SERVER__TEST": "http://127.0.0.1:9", "QCS_API_KEY__TEST": "k2"}
    found = {t.service_name: t for t in collect(load_settings(environ=env, config=None), [entry])}
    assert sorted(found) == ["qlikcloud_acme_eu", "qlikcloud_test"]
    assert found["qlikcloud_acme_eu"].url == "https://acme.eu.qlikcloud.com"


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://acme.eu.qlikcloud.com", "https://acme.eu.qlikcloud.com"),
        ("https://acme.eu.qlikcloud.com/hub/home", "https://acme.eu.qlikcloud.com"),
        ("https://acme.eu.qlikcloud.com/sense/app/1c2f3e4d-5a6b/overview?x=1#y", "https://acme.eu.qlikcloud.com"),
        ("https://acme.eu.qlikcloud.com/api/v1", "https://acme.eu.qlikcloud.com"),
        ("acme.eu.qlikcloud.com", "acme.eu.qlikcloud.com"),  # no scheme: left for validation to report
    ],
)
def test_page_base(url, base):
    assert plugin.base_url(url) == base


def _config(url: str, **tls):
    settings = QlikCloudSettings(url=url, token=SecretStr(KEY), **tls)
    target = Target("qlikcloud", "t", "qlikcloud_t", settings, {}, "test")
    return plugin.connection_config(target, ProbeResult(Status.OK, [], canonical_url=settings.url))


def test_a_real_tenant_url_is_registered_as_is_without_warnings(tmp_path):
    config = _config("https://acme.eu.qlikcloud.com/")
    assert config.dump(reveal_secrets=True) == {"type": "QlikCloud", "hostPort": "https://acme.eu.qlikcloud.com",
                                                "token": KEY}
    assert config.warnings == ()
    ca = tmp_path / "proxy-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    warnings = _config("https://acme.eu.qlikcloud.com", ca_bundle=str(ca)).warnings
    assert any("ingestion host" in w for w in warnings)
    assert any("WEBSOCKET_CLIENT_CA_BUNDLE" in w for w in warnings)


# -- the fake answers as Qlik Cloud does -----------------------------------------------------------------------


def test_the_fake_answers_as_qlik_cloud(qlik):
    s = _session()
    url = qlik.url
    anonymous = s.get(url + "/api/v1/users/me", timeout=5)
    assert anonymous.status_code == 401 and anonymous.json()["errors"][0]["code"] == "LOGIN-1"
    wrong = s.get(url + "/api/v1/items", headers={"Authorization": f"Bearer {WRONG_KEY}"}, timeout=5)
    assert wrong.status_code == 401 and wrong.json()["errors"][0]["title"] == "Unauthorized"
    auth = {"Authorization": f"Bearer {KEY}", "Content-type": "application/json"}  # as OpenMetadata's helper sends
    me = s.get(url + "/api/v1/users/me", headers=auth, allow_redirects=False, timeout=5)
    assert me.status_code == 301 and me.headers["Location"] == url + "/api/v1/users/64f1c2d3e4a5b6c7d8e9f001"
    user = s.get(me.headers["Location"], headers=auth, timeout=5).json()
    assert {k: user[k] for k in ("id", "tenantId", "name", "email")} == {
        "id": "64f1c2d3e4a5b6c7d8e9f001", "tenantId": TENANT_ID, "name": "Ana Analyst", "email": "ana@example.com"}
    assert s.get(url + "/api/v1/items?limit=101", headers=auth, timeout=5).status_code == 400
    assert s.get(url + "/api/v1/items?next=garbage!", headers=auth, timeout=5).status_code == 400
    page = s.get(url + "/api/v1/items?resourceType=app&limit=2", headers=auth, timeout=5).json()
    assert [a["resourceType"] for a in page["data"]] == ["app", "app"]
    assert page["links"]["next"]["href"].startswith(url + "/api/v1/items?resourceType=app&limit=2&next=")
    app_id = page["data"][0]["resourceId"]
    detail = s.get(f"{url}/api/v1/apps/{app_id}", headers=auth, timeout=5).json()
    assert detail["attributes"]["id"] == app_id
    spaces = s.get(url + "/api/v1/spaces?limit=100", headers=auth, timeout=5).json()
    assert spaces["meta"]["count"] == 3 and {sp["type"] for sp in spaces["data"]} == {"shared", "managed"}
    locked = s.get(url + "/api/v1/items", headers={"Authorization": f"Bearer {LOCKED_KEY}"}, timeout=5)
    assert locked.status_code == 403 and locked.json()["errors"][0]["detail"] == "Insufficient access"
    home = s.get(url + "/", allow_redirects=False, timeout=5)
    assert home.status_code == 302 and home.headers["Location"].startswith("/login?returnto=")
