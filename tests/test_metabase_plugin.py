"""Metabase plugin: the real ``scanner`` command against the Metabase fake (real sockets on 127.0.0.1) and the fake
catalog. The connector-side judgement is in test_conformance_metabase.py."""

from __future__ import annotations

import pytest
from conftest import USER_TOKEN, catalog_env
from scan_helpers import scan
from schemas import validate

from scanner.testing.fake_metabase import FakeMetabase, MetabaseAccount
from scanner.testing.server import LocalServer, Request, Response
from scanner.urls import connector_host_port as host_port
from scanner_metabase import plugin as metabase

page_base = metabase.base_url

ADMIN_KEY, ADMIN_PW = "mb_admin_key_5f1c9e7a", "admin-pw-8c41d2"
EMPTY_KEY = "mb_empty_key_0b7d33e1"
BLOCKED_PW = "blocked-pw-61aa9f"
GONE_PW = "gone-pw-3e8d7c"
WRONG_KEY, WRONG_PW = "mb_wrong_key_9d02c4f6", "wrong-pw-44f1be"
SECRETS = (ADMIN_KEY, ADMIN_PW, EMPTY_KEY, BLOCKED_PW, GONE_PW, WRONG_KEY, WRONG_PW)
COLLECTIONS, DASHBOARDS, CARDS = 2, 4, 6


def accounts() -> list[MetabaseAccount]:
    return [
        MetabaseAccount("admin@example.com", password=ADMIN_PW, api_key=ADMIN_KEY),
        MetabaseAccount("empty@example.com", api_key=EMPTY_KEY, superuser=False, sees_nothing=True),
        MetabaseAccount("blocked@example.com", password=BLOCKED_PW, superuser=False, forbidden=True),
        MetabaseAccount("gone@example.com", password=GONE_PW, active=False),
    ]


@pytest.fixture
def metabase():
    with FakeMetabase(accounts=accounts(), collections=COLLECTIONS, dashboards=DASHBOARDS, cards=CARDS) as fake:
        yield fake


def leaked(result, *extra: str) -> list[str]:
    text = result.stdout + result.stderr
    return [s for s in (*SECRETS, *extra) if s and s in text]


class Recorder:
    """A server that is not Metabase, remembering what it was sent (header names, never values)."""

    def __init__(self, answer):
        self.answer = answer
        self.seen: list[tuple[str, str, frozenset[str]]] = []

    def __call__(self, request: Request) -> Response:
        self.seen.append((request.method, request.path, frozenset(k.lower() for k in request.headers)))
        return self.answer(request)

    def credentials_sent(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, names in self.seen
                if names & {"x-api-key", "x-metabase-session", "authorization", "cookie"} or m != "GET"]


def spa(request: Request) -> Response:  # another single-page app: 200 HTML for any path
    return Response(200, b"<!DOCTYPE html><html><head><title>Grafana</title></head><body></body></html>",
                    {"Content-Type": "text/html; charset=utf-8"})


def json_everywhere(request: Request) -> Response:  # a JSON API with a health-like answer everywhere
    return Response.json({"status": "ok", "service": "inventory-api"})


def test_env_instances_end_to_end(run_cli, metabase, catalog, closed_port):
    web, api = Recorder(spa), Recorder(json_everywhere)
    with LocalServer(web) as web_server, LocalServer(api) as api_server:
        env = {
            **catalog_env(catalog),
            "METABASE_URL__KEY": metabase.url + "/dashboard/2-sales?tab=1", "METABASE_API_KEY__KEY": ADMIN_KEY,
            "METABASE_URL__LOGIN": metabase.url + "/auth/login", "METABASE_USERNAME__LOGIN": "admin@example.com",
            "METABASE_PASSWORD__LOGIN": ADMIN_PW,
            "METABASE_URL__BOTH": metabase.url, "METABASE_API_KEY__BOTH": ADMIN_KEY,
            "METABASE_USERNAME__BOTH": "admin@example.com", "METABASE_PASSWORD__BOTH": WRONG_PW,
            "METABASE_URL__BADKEY": metabase.url, "METABASE_API_KEY__BADKEY": WRONG_KEY,
            "METABASE_URL__BADPW": metabase.url, "METABASE_USERNAME__BADPW": "admin@example.com",
            "METABASE_PASSWORD__BADPW": WRONG_PW,
            "METABASE_URL__GONE": metabase.url, "METABASE_USERNAME__GONE": "gone@example.com",
            "METABASE_PASSWORD__GONE": GONE_PW,
            "METABASE_URL__EMPTY": metabase.url, "METABASE_API_KEY__EMPTY": EMPTY_KEY,
            "METABASE_URL__BLOCKED": metabase.url, "METABASE_USERNAME__BLOCKED": "blocked@example.com",
            "METABASE_PASSWORD__BLOCKED": BLOCKED_PW,
            "METABASE_URL__WEB": web_server.url, "METABASE_API_KEY__WEB": ADMIN_KEY,
            "METABASE_URL__API": api_server.url, "METABASE_USERNAME__API": "admin@example.com",
            "METABASE_PASSWORD__API": ADMIN_PW,
            "METABASE_URL__CLOSED": f"http://127.0.0.1:{closed_port}", "METABASE_API_KEY__CLOSED": ADMIN_KEY,
        }
        result, by = scan(run_cli, env)
    assert result.code == 1, result.stderr
    assert {k: v["status"] for k, v in by.items()} == {
        "key": "ok", "login": "ok", "both": "ok", "badkey": "auth_failed", "badpw": "auth_failed",
        "gone": "auth_failed", "empty": "ok", "blocked": "forbidden", "web": "not_detected", "api": "not_detected",
        "closed": "unreachable",
    }
    key = by["key"]
    assert (key["version"], key["canonical_url"]) == ("v0.50.7", metabase.url)
    assert key["details"] == {"edition": "oss", "collections": COLLECTIONS + 1, "dashboards": DASHBOARDS,
                              "charts": CARDS}
    assert [s["name"] for s in key["steps"]] == ["Reach", "Fingerprint", "CheckAccess", "GetDashboards", "GetCharts"]
    assert "/api/session/properties, /api/health, app page" in key["steps"][1]["message"]
    assert "API key (METABASE_API_KEY__KEY)" in key["steps"][2]["message"]
    assert by["login"]["details"] == key["details"]
    assert "session of 'admin@example.com'" in by["login"]["steps"][2]["message"]
    both = by["both"]["steps"][2]["message"]
    assert "API key (METABASE_API_KEY__BOTH)" in both and "username/password given too are not used" in both

    assert "401" in by["badkey"]["message"] and "Unauthenticated" in by["badkey"]["message"]
    assert by["badkey"]["hint"] == "check METABASE_API_KEY__BADKEY"
    assert "did not match stored password" in by["badpw"]["message"]
    assert "METABASE_USERNAME__BADPW / METABASE_PASSWORD__BADPW" in by["badpw"]["hint"]
    assert "Your account is disabled." in by["gone"]["message"]
    assert by["empty"]["warnings"] == [
        "0 dashboards visible to these credentials: OpenMetadata would ingest none",
        "0 charts visible to these credentials: OpenMetadata would ingest none"]
    assert by["blocked"]["message"].startswith("GetDashboards: GET /api/collection answered 403")
    assert "You don't have permissions to do that." in by["blocked"]["message"]
    assert "collections" in by["blocked"]["hint"]
    for name in ("web", "api"):
        assert [s["status"] for s in by[name]["steps"]] == ["passed", "failed", "skipped", "skipped", "skipped"]
        assert "METABASE_URL__" + name.upper() in by[name]["hint"]
    assert web.credentials_sent() == [] and api.credentials_sent() == []  # not Metabase: no credential went out
    assert {p for _, p, _ in web.seen} == {"/", "/api/session/properties", "/api/health", "/auth/login"}

    # what was registered: OpenMetadata's own schema, the API key when one was given
    assert sorted(catalog.services) == ["metabase_both", "metabase_empty", "metabase_key", "metabase_login"]
    puts = {c.json["name"]: c.json for c in catalog.calls("PUT") if isinstance(c.json, dict)}
    for put in puts.values():
        validate(put)
        validate(put["connection"]["config"], "MetabaseConnection.json")
    assert puts["metabase_key"]["connection"]["config"] == {"type": "Metabase", "hostPort": metabase.url,
                                                            "apiKey": ADMIN_KEY}
    assert puts["metabase_both"]["connection"]["config"] == puts["metabase_key"]["connection"]["config"]
    assert puts["metabase_login"]["connection"]["config"] == {
        "type": "Metabase", "hostPort": metabase.url, "username": "admin@example.com", "password": ADMIN_PW}
    assert puts["metabase_key"]["serviceType"] == "Metabase"

    # sessions opened were closed; nothing secret in the output (session ids included)
    assert len(metabase.issued) == 2 and metabase.sessions == {}  # login and blocked (both used its API key)
    assert [r.status for r in metabase.requests if r.method == "DELETE"] == [204, 204]
    assert leaked(result, *metabase.issued) == []

    # second run: nothing to write, even through a person's token that sees masked secrets
    catalog.reset_log()
    again, by = scan(run_cli, {**env, "OPENMETADATA_JWT_TOKEN": USER_TOKEN}, "--platform", "metabase")
    for name in ("key", "login", "both", "empty"):
        assert by[name]["plan"]["action"] == "unchanged", (name, by[name]["plan"])
    assert catalog.calls("PUT") == []


@pytest.mark.parametrize("form", ("apiKey", "session"))
def test_credentials_go_out_only_after_the_fingerprint(run_cli, metabase, form):
    creds = ({"METABASE_API_KEY": ADMIN_KEY} if form == "apiKey"
             else {"METABASE_USERNAME": "admin@example.com", "METABASE_PASSWORD": ADMIN_PW})
    result, by = scan(run_cli, {"METABASE_URL": metabase.url, **creds}, "--dry-run")
    [entry] = by.values()
    assert entry["status"] == "ok", entry
    log = metabase.requests
    first = next(i for i, r in enumerate(log) if r.principal is not None or r.method == "POST")
    assert {r.path for r in log[:first]} == {"/", "/api/session/properties", "/api/health", "/auth/login"}
    assert len(metabase.credentialed) == len(log) - first  # from there on every request carries the credential
    assert log[first].path == ("/api/session" if form == "session" else "/api/user/current")


def test_an_instance_not_set_up_gets_no_credential_and_its_setup_token_stays_secret(run_cli):
    with FakeMetabase(accounts=accounts(), setup_done=False) as fake:
        url = fake.url
        result, by = scan(run_cli, {"METABASE_URL": url, "METABASE_API_KEY": ADMIN_KEY}, "-vv", "--dry-run")
    [entry] = by.values()
    assert entry["status"] == "error"
    assert "has not been set up yet" in entry["message"] and entry["version"] == "v0.50.7"
    assert f"{url}/setup" in entry["hint"]
    assert fake.credentialed == []
    assert leaked(result, fake.setup_token) == []


def test_a_setup_token_still_published_after_setup_is_a_warning(run_cli):
    with FakeMetabase(accounts=accounts(), version="v0.46.6", leak_setup_token=True) as fake:
        result, by = scan(run_cli, {"METABASE_URL": fake.url, "METABASE_API_KEY": ADMIN_KEY}, "-vv", "--dry-run")
    [entry] = by.values()
    assert entry["status"] == "ok"
    assert any("CVE-2023-38646" in w and "upgrade" in w for w in entry["warnings"]), entry["warnings"]
    assert leaked(result, fake.setup_token) == []


def test_a_starting_metabase_is_reported_as_starting(run_cli):
    with FakeMetabase(accounts=accounts(), initializing=True) as fake:
        result, by = scan(run_cli, {"METABASE_URL": fake.url, "METABASE_API_KEY": ADMIN_KEY})
    [entry] = by.values()
    assert entry["status"] == "error"
    assert "still starting" in entry["message"] and "40% done" in entry["message"]
    assert fake.credentialed == []


def test_enterprise_edition_from_the_version(run_cli):
    with FakeMetabase(accounts=accounts(), version="v1.52.3") as fake:
        _, by = scan(run_cli, {"METABASE_URL": fake.url, "METABASE_API_KEY": ADMIN_KEY}, "--dry-run")
    [entry] = by.values()
    assert (entry["status"], entry["version"], entry["details"]["edition"]) == ("ok", "v1.52.3", "enterprise")


def test_https_with_a_private_ca(run_cli, server_tls, ca_pem):
    with FakeMetabase(accounts=accounts(), tls=server_tls) as fake:
        url = fake.url
        assert url.startswith("https://")
        base = {"METABASE_URL": url, "METABASE_API_KEY": ADMIN_KEY}
        refused, by_refused = scan(run_cli, base, "--dry-run")
        assert fake.requests == []  # the handshake failed: nothing, credentials least of all, reached the server
        trusted, by_trusted = scan(run_cli, {**base, "METABASE_CA_BUNDLE": str(ca_pem)}, "--dry-run")
        unverified, by_unverified = scan(run_cli, {**base, "METABASE_VERIFY_SSL": "false"}, "--dry-run")
    [no_ca] = by_refused.values()
    assert no_ca["status"] == "tls_error" and "METABASE_CA_BUNDLE" in no_ca["hint"]
    [ok] = by_trusted.values()
    assert ok["status"] == "ok", ok
    assert ok["payload"]["connection"]["config"] == {"type": "Metabase", "hostPort": url, "apiKey": "*********"}
    assert any("private CA" in w and "ingestion host" in w for w in ok["warnings"]), ok["warnings"]
    [off] = by_unverified.values()
    assert off["status"] == "ok" and any("TLS verification is off" in w for w in off["warnings"])
    assert leaked(trusted) == [] and leaked(refused) == []


def test_429_is_retried_as_retry_after_asks(run_cli, metabase):
    metabase.inject(429, times=1, method="GET", path_prefix="/api/card", headers={"Retry-After": "1"})
    _, by = scan(run_cli, {"METABASE_URL": metabase.url, "METABASE_API_KEY": ADMIN_KEY}, "--dry-run")
    [entry] = by.values()
    assert entry["status"] == "ok" and entry["details"]["charts"] == CARDS
    assert [r.status for r in metabase.requests if r.path == "/api/card"] == [429, 200]
    charts = next(s for s in entry["steps"] if s["name"] == "GetCharts")
    assert charts["duration_ms"] >= 900


def test_a_server_that_keeps_rate_limiting_is_an_error(run_cli, metabase):
    metabase.inject(429, times=None, method="GET", path_prefix="/api/card", headers={"Retry-After": "0"})
    _, by = scan(run_cli, {"METABASE_URL": metabase.url, "METABASE_API_KEY": ADMIN_KEY}, "--dry-run")
    [entry] = by.values()
    assert entry["status"] == "error" and "429" in entry["message"] and "rate limiting" in entry["hint"]
    assert [r.status for r in metabase.requests if r.path == "/api/card"] == [429, 429, 429]


def test_an_instance_under_a_path_prefix_is_registered_with_a_trailing_slash(run_cli, catalog):
    with FakeMetabase(accounts=accounts(), prefix="/tools/metabase") as fake:
        base = fake.base_url
        env = {**catalog_env(catalog), "METABASE_URL__SUB": base + "/collection/root?x=1",
               "METABASE_USERNAME__SUB": "admin@example.com", "METABASE_PASSWORD__SUB": ADMIN_PW}
        result, by = scan(run_cli, env)
    assert result.code == 0, result.stderr
    entry = by["sub"]
    assert entry["status"] == "ok" and entry["canonical_url"] == base
    assert catalog.services["metabase_sub"]["connection"]["config"]["hostPort"] == base + "/"
    assert leaked(result, *fake.issued) == []


def test_a_toml_target_names_its_own_key_in_the_hint(run_cli, metabase, tmp_path):
    (tmp_path / "config.toml").write_text(
        f'[[targets]]\nplatform = "metabase"\ninstance = "toml"\nurl = "{metabase.url}"\napiKey = "${{MB_KEY}}"\n')
    result, by = scan(run_cli, {"MB_KEY": WRONG_KEY}, "--dry-run")
    entry = by["toml"]
    assert entry["status"] == "auth_failed"
    assert entry["hint"].startswith("check apiKey in config.toml"), entry["hint"]
    assert leaked(result) == []


@pytest.mark.parametrize(("env", "message"), [
    ({}, "no credentials: set METABASE_API_KEY"),
    ({"METABASE_USERNAME": "admin@example.com"}, "incomplete credentials"),
    ({"METABASE_PASSWORD": ADMIN_PW}, "incomplete credentials"),
])
def test_a_target_needs_one_credential_form(run_cli, env, message):
    result = run_cli("scan", env={"METABASE_URL": "http://127.0.0.1:1", **env})
    assert result.code == 1
    [line] = [ln for ln in result.stdout.splitlines() if message in ln]
    assert "env:METABASE_URL" in line
    assert leaked(result) == []


@pytest.mark.parametrize(("url", "base"), [
    ("https://mb.example.com", "https://mb.example.com"),
    ("https://mb.example.com/", "https://mb.example.com"),
    ("https://mb.example.com/dashboard/5-sales?tab=1", "https://mb.example.com"),
    ("https://mb.example.com/question/3-revenue", "https://mb.example.com"),
    ("https://mb.example.com/question#eyJkYXRhc2V0", "https://mb.example.com"),
    ("https://mb.example.com/collection/root", "https://mb.example.com"),
    ("https://mb.example.com/auth/login?redirect=%2F", "https://mb.example.com"),
    ("https://mb.example.com/bi/metabase/dashboard/5", "https://mb.example.com/bi/metabase"),
    ("https://mb.example.com/bi/metabase", "https://mb.example.com/bi/metabase"),
    ("https://mb.example.com/dashboard", "https://mb.example.com/dashboard"),  # could be a prefix: kept
    ("https://mb.example.com/api/session/properties", "https://mb.example.com"),
    ("mb.example.com/dashboard/1", "mb.example.com/dashboard/1"),  # not a URL: left for validation
])
def test_a_page_url_is_cut_to_the_instance_base(url, base):
    assert page_base(url) == base


@pytest.mark.parametrize(("base", "host"), [
    ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
    ("https://mb.example.com", "https://mb.example.com"),
    ("https://mb.example.com/bi/metabase", "https://mb.example.com/bi/metabase/"),
])
def test_host_port_keeps_a_prefix_with_its_trailing_slash(base, host):
    assert host_port(base) == host


def test_a_redirect_on_a_call_with_the_session_is_not_followed(run_cli, metabase):
    elsewhere = Recorder(json_everywhere)
    with LocalServer(elsewhere) as other:
        metabase.inject(302, times=1, method="GET", path_prefix="/api/collection",
                        headers={"Location": other.url + "/api/collection"})
        result, by = scan(run_cli, {"METABASE_URL": metabase.url, "METABASE_USERNAME": "admin@example.com",
                                    "METABASE_PASSWORD": ADMIN_PW}, "--dry-run")
    [entry] = by.values()
    assert entry["status"] == "error" and "not followed because the request carries credentials" in entry["message"]
    assert elsewhere.seen == []
    assert metabase.sessions == {}  # finish still closed the session
    assert leaked(result, *metabase.issued) == []


def test_an_unhealthy_metabase_says_what_its_health_says(run_cli):
    def app(request: Request) -> Response:
        if request.path == "/api/health":
            return Response.json({"status": "Unable to get app-db connection"}, 503)
        return Response(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})

    down = Recorder(app)
    with LocalServer(down) as server:
        _, by = scan(run_cli, {"METABASE_URL": server.url, "METABASE_API_KEY": ADMIN_KEY}, "--dry-run")
    [entry] = by.values()
    assert entry["status"] == "error" and "Unable to get app-db connection" in entry["message"], entry
    assert down.credentials_sent() == []
