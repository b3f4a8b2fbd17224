"""Redash plugin over real sockets against the loopback fake (scanner/testing/fake_redash.py) and the fake catalog.

Every request goes to 127.0.0.1. Whole runs go through ``scanner scan --output json``; the step-level cases call
scanner's own probe runner on a target built as the settings loader builds it.
"""

from __future__ import annotations

import time

import pytest
import requests
from conftest import catalog_env
from pydantic import SecretStr
from scan_helpers import scan
from schemas import validate

from scanner.plan import build_request
from scanner.plugin import ProbeResult, Status, Target
from scanner.probe import run_probe
from scanner.secrets import MASK, register
from scanner.testing.fake_redash import NOT_LOGGED_IN, UNKNOWN_KEY, FakeRedash, RedashUser
from scanner.testing.server import LocalServer, Request, Response
from scanner.urls import connector_host_port as host_port
from scanner_redash import RedashSettings, plugin

page_base = plugin.base_url

ADMIN_KEY = "rd-admin-key-5c1e9a77"
EMPTY_KEY = "rd-empty-key-0b4f2d11"
LOCKED_KEY = "rd-locked-key-9e3a6c55"
SHARE_KEY = "rd-share-key-71d08b3e"  # a shared dashboard's key: Redash logs it in as an API user and echoes it
WRONG_KEY = "rd-wrong-key-3f6b1a90"
FINGERPRINT_PATHS = {"/", "/ping", "/api/config", "/login"}


def users() -> list[RedashUser]:
    return [RedashUser(ADMIN_KEY, "ana@example.com", dashboards=3, queries=4, user_id=1),
            RedashUser(EMPTY_KEY, "eve@example.com", dashboards=0, queries=0, user_id=2),
            RedashUser(LOCKED_KEY, "lou@example.com", forbidden=True, user_id=3)]


@pytest.fixture
def redash():
    with FakeRedash(users=users(), api_keys=(SHARE_KEY,)) as fake:
        yield fake


def probe(url: str, key: str = ADMIN_KEY, **tls):
    register(key)  # as the settings loader does for every secret it reads
    target = Target("redash", "t", "redash_t", RedashSettings(url=url, apiKey=SecretStr(key), **tls), {}, "test")
    return target, run_probe(plugin, target, deadline_s=20)


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # never a proxy from the environment: 127.0.0.1 only
    return session


def statuses(result: ProbeResult) -> list[str]:
    return [s.status.value for s in result.steps]


# -- whole runs through the CLI ------------------------------------------------------------------------------


def test_env_instances_end_to_end(run_cli, redash, catalog, web, closed_port):
    env = {
        **catalog_env(catalog),
        "REDASH_URL__ADMIN": redash.url + "/dashboards/2-sales?p_region=eu", "REDASH_API_KEY__ADMIN": ADMIN_KEY,
        "REDASH_URL__WRONG": redash.url, "REDASH_API_KEY__WRONG": WRONG_KEY,
        "REDASH_URL__EMPTY": redash.url, "REDASH_API_KEY__EMPTY": EMPTY_KEY,
        "REDASH_URL__LOCKED": redash.url, "REDASH_API_KEY__LOCKED": LOCKED_KEY,
        "REDASH_URL__SHARE": redash.url, "REDASH_API_KEY__SHARE": SHARE_KEY,
        "REDASH_URL__WEB": web.url, "REDASH_API_KEY__WEB": ADMIN_KEY,
        "REDASH_URL__CLOSED": f"http://127.0.0.1:{closed_port}", "REDASH_API_KEY__CLOSED": ADMIN_KEY,
    }
    result, by = scan(run_cli, env)
    assert result.code == 1, result.stderr
    assert {k: v["status"] for k, v in by.items()} == {
        "admin": "ok", "wrong": "auth_failed", "empty": "ok", "locked": "forbidden", "share": "forbidden",
        "web": "not_detected", "closed": "unreachable",
    }
    admin = by["admin"]
    assert admin["version"] == "25.8.0" and admin["canonical_url"] == redash.url
    assert admin["details"] == {"user": "ana@example.com", "dashboards": 3, "queries": 4}
    assert [s["name"] for s in admin["steps"]] == ["Reach", "Fingerprint", "CheckAccess", "GetDashboards",
                                                  "GetCharts"]
    assert admin["warnings"] == []

    wrong = by["wrong"]
    assert [s["status"] for s in wrong["steps"]] == ["passed", "passed", "failed", "skipped", "skipped"]
    assert "404" in wrong["message"] and NOT_LOGGED_IN in wrong["message"]
    assert "REDASH_API_KEY" in wrong["hint"] and "REDASH_URL" in wrong["hint"]
    assert by["empty"]["warnings"] == [
        "0 dashboards visible to these credentials: OpenMetadata would ingest none",
        "0 queries visible to this key: the dashboards' widgets show no query's chart"]
    locked = by["locked"]
    assert locked["message"].startswith("GetDashboards: /api/dashboards answered 403")
    assert "list_dashboards" in locked["hint"] and "REDASH_API_KEY" in locked["hint"]
    share = by["share"]
    assert share["message"].startswith("CheckAccess: REDASH_API_KEY is not a user's API key")
    assert "REDASH_API_KEY" in share["hint"]
    assert [s["status"] for s in by["web"]["steps"]] == ["passed", "failed", "skipped", "skipped", "skipped"]

    # the registered config, as the catalog got it
    assert sorted(catalog.services) == ["redash_admin", "redash_empty"]
    [put] = [c for c in catalog.calls("PUT") if isinstance(c.json, dict) and c.json["name"] == "redash_admin"]
    validate(put.json)
    config = put.json["connection"]["config"]
    validate(config, "RedashConnection.json")
    assert config == {"type": "Redash", "hostPort": redash.url, "apiKey": ADMIN_KEY, "username": "ana@example.com",
                      "redashVersion": "25.8.0"}
    for secret in (ADMIN_KEY, WRONG_KEY, EMPTY_KEY, LOCKED_KEY, SHARE_KEY):
        assert secret not in result.stdout + result.stderr

    # no key went out before Redash was recognised, and none went to the web server at all
    keyed = [r for r in redash.requests if r.principal is not None]
    assert keyed and not [r for r in keyed if r.path in FINGERPRINT_PATHS]
    assert {r.principal for r in keyed} == {"ana@example.com", "eve@example.com", "lou@example.com", "api-key",
                                            UNKNOWN_KEY}

    # second run: nothing to write, even through a person's token that sees masked secrets
    catalog.reset_log()
    again, by = scan(run_cli, {**env, "OPENMETADATA_JWT_TOKEN": "user-token-2b8e41"}, "--platform", "redash")
    assert by["admin"]["plan"]["action"] == "unchanged" and by["admin"]["plan"]["secrets_unverified"] is True
    assert by["empty"]["plan"]["action"] == "unchanged"
    assert catalog.calls("PUT") == []
    assert ADMIN_KEY not in again.stdout + again.stderr


def test_dry_run_masks_the_key_and_writes_nothing(run_cli, redash, catalog):
    env = {**catalog_env(catalog), "REDASH_URL": redash.url, "REDASH_API_KEY": ADMIN_KEY}
    result, by = scan(run_cli, env, "--dry-run", "-v")
    assert result.code == 0, result.stderr
    [entry] = by.values()
    assert entry["service_name"] == "redash_127_0_0_1_" + redash.url.rsplit(":", 1)[1]
    assert entry["payload"]["connection"]["config"]["apiKey"] == MASK
    assert ADMIN_KEY not in result.stdout + result.stderr
    assert catalog.calls("PUT") == []


def test_https_with_a_private_ca(run_cli, catalog, server_tls, ca_pem):
    with FakeRedash(users=users(), tls=server_tls) as fake:
        url = fake.url
        assert url.startswith("https://")
        env = {**catalog_env(catalog), "REDASH_URL__PRIV": fake.url, "REDASH_API_KEY__PRIV": ADMIN_KEY,
               "REDASH_CA_BUNDLE__PRIV": str(ca_pem),
               "REDASH_URL__NOCA": fake.url, "REDASH_API_KEY__NOCA": ADMIN_KEY}
        result, by = scan(run_cli, env)
        keyed = [r for r in fake.requests if r.principal is not None]
    assert by["priv"]["status"] == "ok", by["priv"]
    assert by["priv"]["details"]["dashboards"] == 3
    # OpenMetadata's Redash connector has no CA setting: the report says what the ingestion host needs
    assert any("ingestion host" in w and "REQUESTS_CA_BUNDLE" in w for w in by["priv"]["warnings"])
    assert by["noca"]["status"] == "tls_error" and "REDASH_CA_BUNDLE" in by["noca"]["hint"]
    assert {r.principal for r in keyed} == {"ana@example.com"}  # the rejected handshake carried nothing
    [put] = [c for c in catalog.calls("PUT") if isinstance(c.json, dict)]
    assert put.json["connection"]["config"]["hostPort"] == url
    assert "verifySSL" not in put.json["connection"]["config"]


# -- fingerprint ----------------------------------------------------------------------------------------------


def _recording(app):
    """`app` on a LocalServer, recording whether each request carried a credential."""
    seen: list[tuple[str, bool]] = []

    def wrapped(request: Request) -> Response:
        seen.append((request.path, bool(request.header("Authorization")) or "api_key" in request.query))
        return app(request)

    return LocalServer(wrapped), seen


def _spa(request: Request) -> Response:  # another single-page app: 200 HTML for any path
    return Response(200, b"<!doctype html><html><head><title>Dash</title></head><body></body></html>",
                    {"Content-Type": "text/html; charset=utf-8"})


def _json_server(request: Request) -> Response:  # a JSON API without Redash's keys
    return Response.json({"status": "ok", "org_slug": "default", "path": request.path})


def _pong_only(request: Request) -> Response:  # one sign is not enough
    if request.path == "/ping":
        return Response(200, b"PONG.", {"Content-Type": "text/html"})
    return Response(404, b"not here", {"Content-Type": "text/plain"})


@pytest.mark.parametrize("app", [_spa, _json_server, _pong_only], ids=["spa", "json", "pong-only"])
def test_another_server_is_not_redash_and_gets_no_key(run_cli, app):
    server, seen = _recording(app)
    with server:
        result, by = scan(run_cli, {"REDASH_URL": server.url, "REDASH_API_KEY": ADMIN_KEY})
    [entry] = by.values()
    assert entry["status"] == "not_detected", entry
    assert "no Redash here" in entry["message"] and "REDASH_URL" in entry["hint"]
    assert {p for p, _ in seen} == {"/", "/ping", "/api/config", "/login"}
    assert not [p for p, keyed in seen if keyed]
    assert ADMIN_KEY not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("title", "broken", "found"),
    [
        ("Login to Redash", None, True),
        ("Login | Redash", "/api/config", True),   # the other login title, with /ping: two signs
        ("Login to Redash", "/ping", True),        # /api/config and the login page
        ("Login to Wiki", "/ping", False),         # /api/config alone
        ("Login to Wiki", "/api/config", False),   # /ping alone
    ],
)
def test_two_of_three_signs(title, broken, found):
    with FakeRedash(users=users(), login_title=title) as fake:
        if broken:
            fake.inject(502, times=None, path_prefix=broken)
        _, result = probe(fake.url)
        keyed = [r for r in fake.requests if r.principal is not None]
    assert (result.status is Status.OK) is found, (result.status, result.message)
    if not found:
        assert result.status is Status.NOT_DETECTED and statuses(result)[1:3] == ["failed", "skipped"]
        assert keyed == []


def test_a_fresh_install_is_not_set_up_and_gets_no_key():
    with FakeRedash(users=users(), set_up=False) as fake:
        _, result = probe(fake.url)
        log = fake.requests
    assert result.status is Status.ERROR
    assert "not set up" in result.message and "/setup" in result.hint and "REDASH_API_KEY" in result.hint
    assert statuses(result) == ["passed", "failed", "skipped", "skipped", "skipped"]
    assert [(r.path, r.status) for r in log if r.path == "/login"] == [("/login", 302)]
    assert all(r.principal is None for r in log)


# -- access, counts, retries -----------------------------------------------------------------------------------


def test_the_key_goes_in_the_authorization_header_only_after_the_fingerprint(redash):
    _, result = probe(redash.url)
    assert result.status is Status.OK
    assert [(r.path, r.principal) for r in redash.requests] == [
        ("/", None), ("/ping", None), ("/api/config", None), ("/login", None),
        ("/api/session", "ana@example.com"), ("/api/dashboards", "ana@example.com"),
        ("/api/queries", "ana@example.com")]


def test_unknown_version_keeps_the_schema_default_with_a_warning():
    with FakeRedash(users=users(), version=None) as fake:
        target, result = probe(fake.url)
    assert result.status is Status.OK and result.version is None
    assert any("redashVersion" in w and "10.0.0" in w for w in result.warnings)
    config = build_request(plugin, target, result).payload(reveal_secrets=False)["connection"]["config"]
    assert "redashVersion" not in config and config["username"] == "ana@example.com"


def test_a_version_openmetadata_cannot_compare_is_not_registered():
    with FakeRedash(users=users(), version="master-2f1c") as fake:
        target, result = probe(fake.url)
    assert result.status is Status.OK and result.version == "master-2f1c"
    config = plugin.connection_config(target, result)
    assert "redashVersion" not in config.dump()
    assert any("master-2f1c" in w for w in config.warnings)
    dev = plugin.connection_config(target, ProbeResult(Status.OK, [], version="26.08.0-dev",
                                                      details={"user": "ana@example.com"}))
    assert dev.dump()["redashVersion"] == "26.08.0-dev" and dev.warnings == ()


def test_429_is_retried_after_retry_after(redash):
    redash.inject(429, times=1, path_prefix="/api/dashboards", headers={"Retry-After": "1"})
    started = time.monotonic()
    _, result = probe(redash.url)
    took = time.monotonic() - started
    assert result.status is Status.OK and result.details["dashboards"] == 3
    assert [r.status for r in redash.requests if r.path == "/api/dashboards"] == [429, 200]
    assert took >= 1.0


def test_429_that_does_not_end_is_an_error_with_a_hint(redash):
    redash.inject(429, times=None, path_prefix="/api/session", headers={"Retry-After": "0"})
    _, result = probe(redash.url)
    assert result.status is Status.ERROR and "429" in result.message and "rate limiting" in result.hint
    assert len([r for r in redash.requests if r.path == "/api/session"]) == 3  # one try and two retries


def test_queries_failing_is_only_a_warning(redash):
    redash.inject(500, times=None, path_prefix="/api/queries")
    _, result = probe(redash.url)
    assert result.status is Status.OK
    assert statuses(result) == ["passed"] * 4 + ["failed"]
    assert "/api/queries answered 500" in result.steps[-1].message


def test_a_redirect_with_the_key_is_not_followed(redash):
    redash.inject(302, times=1, path_prefix="/api/session", headers={"Location": "http://127.0.0.1:9/steal"})
    _, result = probe(redash.url)
    assert result.status is Status.ERROR and "not followed" in result.message


# -- the registered address -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://redash.example.com", "https://redash.example.com"),
        ("https://redash.example.com/dashboards/5-sales?p_region=eu#x", "https://redash.example.com"),
        ("https://redash.example.com/queries/12/source", "https://redash.example.com"),
        ("https://bi.example.com/redash/dashboards/5", "https://bi.example.com/redash"),
        ("https://bi.example.com/redash", "https://bi.example.com/redash"),
    ],
)
def test_page_base(url, base):
    assert page_base(url) == base


def test_host_port_keeps_a_path_with_a_trailing_slash():
    assert host_port("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert host_port("https://bi.example.com/redash") == "https://bi.example.com/redash/"


# -- the fake answers as Redash does --------------------------------------------------------------------------


def test_the_fake_answers_as_redash(redash):
    s = _session()
    url = redash.url
    key = {"Authorization": f"Key {ADMIN_KEY}"}
    assert s.get(url + "/ping").text == "PONG."
    anon = s.get(url + "/api/config").json()
    assert anon["org_slug"] == "default" and "version" not in anon["client_config"]
    assert s.get(url + "/api/config", headers=key).json()["client_config"]["version"] == "25.8.0"
    assert "<title>Login to Redash</title>" in s.get(url + "/login").text
    # a missing, wrong or Bearer key: 404 JSON on any /api/ path
    for headers in ({}, {"Authorization": f"Key {WRONG_KEY}"}, {"Authorization": f"Bearer {ADMIN_KEY}"}):
        resp = s.get(url + "/api/dashboards", headers=headers)
        assert (resp.status_code, resp.json()) == (404, {"message": NOT_LOGGED_IN})
    assert s.get(url + "/api/nothing").status_code == 404
    # the catch-all: anonymous pages redirect to the login, a logged-in caller gets the app
    resp = s.get(url + "/queries/1", allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=http%3A%2F%2F127.0.0.1")
    assert s.get(url + "/queries/1", headers={"X-Requested-With": "XMLHttpRequest"}).status_code == 404
    assert s.get(url + "/api/nothing", headers=key).status_code == 200
    # ?api_key= works too; the session of a user and of an API user
    session = s.get(url + "/api/session", params={"api_key": ADMIN_KEY}).json()
    assert session["user"]["email"] == "ana@example.com" and session["client_config"]["version"] == "25.8.0"
    shared = s.get(url + "/api/session", headers={"Authorization": f"Key {SHARE_KEY}"}).json()
    assert shared["user"] == {"permissions": [], "apiKey": SHARE_KEY} and "version" not in shared["client_config"]
    assert s.get(url + "/api/dashboards", headers={"Authorization": f"Key {SHARE_KEY}"}).status_code == 403
    assert s.get(url + "/api/queries", headers={"Authorization": f"Key {SHARE_KEY}"}).json()["count"] == 0


@pytest.mark.parametrize(
    ("params", "status", "answer"),
    [
        ({}, 200, (3, 1, 25, 3)),
        ({"page": 2, "page_size": 2}, 200, (3, 2, 2, 1)),
        ({"page": "x", "page_size": "y"}, 200, (3, 1, 25, 3)),
        ({"page": 0}, 400, "Page must be positive integer."),
        ({"page": 3, "page_size": 2}, 400, "Page is out of range."),
        ({"page_size": 0}, 400, "Page size is out of range (1-250)."),
        ({"page_size": 251}, 400, "Page size is out of range (1-250)."),
    ],
)
def test_the_fake_paginates_as_redash(redash, params, status, answer):
    resp = _session().get(redash.url + "/api/dashboards", params=params, headers={"Authorization": f"Key {ADMIN_KEY}"},
                        timeout=10)
    assert resp.status_code == status
    body = resp.json()
    if status == 200:
        assert (body["count"], body["page"], body["page_size"], len(body["results"])) == answer
        assert all(d["widgets"] is None for d in body["results"])
    else:
        assert body == {"message": answer}


def test_the_fake_serves_a_dashboard_with_its_widgets(redash):
    auth = {"Authorization": f"Key {EMPTY_KEY}"}
    assert _session().get(redash.url + "/api/dashboards?page=2", headers=auth, timeout=10).status_code == 200  # count 0
    auth = {"Authorization": f"Key {ADMIN_KEY}"}
    doc = _session().get(redash.url + "/api/dashboards/2", headers=auth, timeout=10).json()
    assert doc["user"]["email"] == "ana@example.com" and doc["tags"]
    assert [w["visualization"]["query"]["name"] for w in doc["widgets"]] == ["Revenue 1", "Revenue 2"]
    assert _session().get(redash.url + "/api/dashboards/4", headers=auth, timeout=10).status_code == 404
