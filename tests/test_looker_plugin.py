"""Looker plugin through the real looker-sdk, against the contract-faithful fake on 127.0.0.1."""

from __future__ import annotations

import json
import socket

import pytest
from conftest import catalog_env
from schemas import validate

from scanner.testing.fake_looker import FakeLooker, LookerApiUser
from scanner.testing.fake_tableau import FakeTableau
from scanner_looker import candidate_bases

SECRET = "lk-secret-5d1e77"


@pytest.fixture
def looker():
    clients = {
        "good-id": LookerApiUser(SECRET, dashboards=4, lookml_models=2),
        "empty-id": LookerApiUser("empty-secret-value", dashboards=0, lookml_models=0),
        "viewer-id": LookerApiUser("viewer-secret-value", forbidden=True),
    }
    with FakeLooker(clients=clients) as fake:
        yield fake


def looker_env(suffix: str, url: str, client_id: str, secret: str, **extra: str) -> dict[str, str]:
    env = {f"LOOKERSDK_BASE_URL__{suffix}": url, f"LOOKERSDK_CLIENT_ID__{suffix}": client_id,
           f"LOOKERSDK_CLIENT_SECRET__{suffix}": secret}
    env.update({f"LOOKERSDK_{k}__{suffix}": v for k, v in extra.items()})
    return env


def scan(run_cli, env, *args):
    result = run_cli("scan", "--output", "json", *args, env=env)
    report = json.loads(result.stdout) if result.stdout else {"targets": []}
    return result, {t["instance"]: t for t in report["targets"]}


def test_env_only_scan_registers_looker_and_rejects_the_rest(run_cli, looker, catalog, closed_port):
    with FakeTableau() as tableau, FakeLooker(api_versions=("3.0", "3.1"), clients={"good-id": LookerApiUser(SECRET)}) \
            as old:
        env = {
            **catalog_env(catalog),
            **looker_env("GOOD", looker.url + "//api/4.0/", "good-id", SECRET),
            **looker_env("WRONG", looker.url, "good-id", "not-the-secret"),
            **looker_env("EMPTY", looker.url, "empty-id", "empty-secret-value"),
            **looker_env("VIEWER", looker.url, "viewer-id", "viewer-secret-value"),
            **looker_env("TABLEAU", tableau.url, "good-id", SECRET),
            **looker_env("OLD", old.url, "good-id", SECRET),
            **looker_env("CLOSED", f"http://127.0.0.1:{closed_port}", "good-id", SECRET),
        }
        result, by = scan(run_cli, env)
        assert old.logins == old.failed_logins == 0  # no credential sent to a server without API 4.0
        assert tableau.requests and all("login" not in r.path for r in tableau.requests)
    assert result.code == 1, result.stderr
    assert {k: v["status"] for k, v in by.items()} == {
        "good": "ok", "wrong": "auth_failed", "empty": "ok", "viewer": "forbidden",
        "tableau": "not_detected", "old": "error", "closed": "unreachable",
    }
    good = by["good"]
    assert [s["name"] for s in good["steps"]] == [
        "Reach", "Fingerprint", "ValidateVersion", "CheckAccess", "ListDashboards", "ListLookMLModels"]
    assert good["version"] == "25.20.11"
    assert good["details"] == {"api_versions": ["4.0"], "dashboards": 4, "lookml_models": 2}
    assert "404" in by["wrong"]["message"] and "LOOKERSDK_CLIENT_SECRET" in by["wrong"]["hint"]
    assert [s["status"] for s in by["wrong"]["steps"]][-3:] == ["failed", "skipped", "skipped"]
    assert by["empty"]["warnings"] == ["0 dashboards visible to this user: OpenMetadata would ingest none",
                                       "0 lookml_models visible to this user: OpenMetadata would ingest none"]
    assert "403" in by["viewer"]["message"]
    assert "offers API 3.0, 3.1, not 4.0" in by["old"]["message"]
    assert by["tableau"]["steps"][1]["status"] == "failed"

    assert sorted(catalog.services) == ["looker_empty", "looker_good"]  # wrong/forbidden/other: nothing
    [put] = [c for c in catalog.calls("PUT") if isinstance(c.json, dict) and c.json["name"] == "looker_good"]
    validate(put.json)
    config = put.json["connection"]["config"]
    validate(config, "LookerConnection.json")
    assert config == {"type": "Looker", "hostPort": looker.url, "clientId": "good-id", "clientSecret": SECRET}
    assert looker.logouts == looker.logins  # every session that logged in logged out
    assert SECRET not in result.stdout + result.stderr


def test_a_stray_looker_ini_and_sdk_variables_are_never_read(run_cli, looker, catalog, tmp_path):
    (tmp_path / "looker.ini").write_text("[Looker]\nbase_url=http://127.0.0.1:9\nclient_id=ini-id\n"
                                         "client_secret=ini-secret\nverify_ssl=maybe\n")
    env = {**catalog_env(catalog), **looker_env("A", looker.url, "good-id", SECRET)}
    result, by = scan(run_cli, env)
    assert result.code == 0, result.stderr
    assert by["a"]["status"] == "ok"
    assert [r.client_id for r in looker.requests if r.path.endswith("/login")] == ["good-id"]


@pytest.mark.parametrize(("var", "value", "needle"), [
    ("VERIFY_SSL", "maybe", "LOOKERSDK_VERIFY_SSL"),
    ("TIMEOUT", "ten", "LOOKERSDK_TIMEOUT"),
    ("TIMEOUT", "0", "LOOKERSDK_TIMEOUT"),
])
def test_bad_sdk_variables_are_one_line_config_errors(run_cli, looker, var, value, needle):
    """A bad variable makes that target a reported failure (one line naming it), not probed; exit 1."""
    env = {**looker_env("A", looker.url, "good-id", SECRET), f"LOOKERSDK_{var}__A": value}
    result, by = scan(run_cli, env)
    assert result.code == 1 and "Traceback" not in result.stderr
    message = by["a"]["message"]
    assert by["a"]["status"] == "error" and by["a"]["steps"] == [] and message.count("\n") == 0 and needle in message
    assert looker.requests == []


def test_missing_secret_names_the_variable(run_cli, looker):
    result = run_cli("scan", env={"LOOKERSDK_BASE_URL": looker.url, "LOOKERSDK_CLIENT_ID": "good-id"})
    assert result.code == 1 and "clientSecret" in result.stdout and "LOOKERSDK_BASE_URL" in result.stdout


def test_api_server_url_on_the_same_host_becomes_the_registered_address(run_cli, catalog):
    clients = {"good-id": LookerApiUser(SECRET)}
    with FakeLooker(clients=clients) as api, FakeLooker(clients=clients) as front:
        front.api_server_url = api.url  # the web front answers /versions pointing at the API port
        result, by = scan(run_cli, {**catalog_env(catalog), **looker_env("A", front.url, "good-id", SECRET)})
        assert result.code == 0, result.stderr
        assert front.logins == 0 and api.logins == 1 and api.logouts == 1
        assert by["a"]["canonical_url"] == api.url
        assert catalog.services["looker_a"]["connection"]["config"]["hostPort"] == api.url


def test_api_server_url_on_another_host_is_not_followed(run_cli, catalog):
    with FakeLooker(clients={"good-id": LookerApiUser(SECRET)}, api_server_url="https://looker-internal.example:19999") \
            as fake:
        result, by = scan(run_cli, {**catalog_env(catalog), **looker_env("A", fake.url, "good-id", SECRET)})
        assert fake.logins == 1
        assert by["a"]["canonical_url"] == fake.url
    assert result.code == 0, result.stderr
    assert any("names another host" in w for w in by["a"]["warnings"])


def test_versions_behind_authentication_still_detected_and_checked_after_login(run_cli, looker):
    looker.inject(401, times=None, method="GET", path_prefix="/versions")
    result, by = scan(run_cli, looker_env("A", looker.url, "good-id", SECRET), "--dry-run")
    assert result.code == 0, result.stderr
    assert by["a"]["status"] == "ok" and by["a"]["version"] == "25.20.11"
    assert any(r.path == "/api/4.0/versions" and r.status == 200 for r in looker.requests)


def test_rate_limited_login_is_retried_within_the_deadline(run_cli, looker):
    looker.inject(429, times=1, method="POST", path_prefix="/api/4.0/login", headers={"Retry-After": "1"})
    result, by = scan(run_cli, looker_env("A", looker.url, "good-id", SECRET), "--dry-run")
    assert result.code == 0, result.stderr
    assert by["a"]["status"] == "ok"
    assert [r.status for r in looker.requests if r.path == "/api/4.0/login"] == [429, 200]


def test_persistent_rate_limit_is_an_error_with_a_hint(run_cli, looker):
    looker.inject(429, times=None, method="POST", path_prefix="/api/4.0/login", headers={"Retry-After": "0"})
    result, by = scan(run_cli, looker_env("A", looker.url, "good-id", SECRET), "--dry-run")
    assert result.code == 1
    assert by["a"]["status"] == "error" and "429" in by["a"]["message"] and "later" in by["a"]["hint"]
    assert [r.status for r in looker.requests if r.path == "/api/4.0/login"] == [429, 429, 429]


def test_candidate_bases_try_19999_only_without_a_port():
    assert candidate_bases("https://acme.cloud.looker.com") == [
        "https://acme.cloud.looker.com", "https://acme.cloud.looker.com:19999"]
    assert candidate_bases("https://acme.cloud.looker.com:8443") == ["https://acme.cloud.looker.com:8443"]


def test_without_a_port_the_legacy_api_port_19999_is_tried(run_cli, catalog):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 19999))
        except OSError:
            pytest.skip("port 19999 is taken on this machine")
    with socket.socket() as port80:
        if port80.connect_ex(("127.0.0.1", 80)) == 0:
            pytest.skip("something listens on 127.0.0.1:80")
    with FakeLooker(clients={"good-id": LookerApiUser(SECRET)}, port=19999) as fake:
        result, by = scan(run_cli, {**catalog_env(catalog), **looker_env("A", "http://127.0.0.1", "good-id", SECRET)})
        assert fake.logins == 1
    assert result.code == 0, result.stderr
    assert by["a"]["canonical_url"] == "http://127.0.0.1:19999"
    assert catalog.services["looker_a"]["connection"]["config"]["hostPort"] == "http://127.0.0.1:19999"


def _recording_server():
    """A plain web server on 127.0.0.1 (not Looker) that records every request it gets."""
    from scanner.testing.server import LocalServer, Response

    seen = []

    def app(request):
        seen.append((request.method, request.path, request.body))
        return Response(200, b"<html>intranet</html>", {"Content-Type": "text/html"})

    return LocalServer(app), seen


def test_api_server_url_on_another_port_must_itself_answer_as_looker(run_cli, catalog):
    """The same host on another port gets no credential unless it proved to be Looker first."""
    other, seen = _recording_server()
    with other, FakeLooker(clients={"good-id": LookerApiUser(SECRET)}) as fake:
        fake.api_server_url = other.url
        url = fake.url
        result, by = scan(run_cli, {**catalog_env(catalog), **looker_env("A", url, "good-id", SECRET)})
        assert fake.logins == 1
    assert result.code == 0, result.stderr
    assert seen == [("GET", "/versions", b"")]  # only the unauthenticated proof, which failed
    assert by["a"]["canonical_url"] == url
    assert catalog.services["looker_a"]["connection"]["config"]["hostPort"] == url
    assert any("did not answer as Looker" in w for w in by["a"]["warnings"])


def test_api_server_url_never_downgrades_https_to_plain_http(run_cli, catalog, server_tls, ca_pem):
    other, seen = _recording_server()
    with other, FakeLooker(clients={"good-id": LookerApiUser(SECRET)}, tls=server_tls) as fake:
        fake.api_server_url = other.url  # http://127.0.0.1:<port>: same host, plain http
        url = fake.url
        env = {**catalog_env(catalog), **looker_env("A", url, "good-id", SECRET, CA_BUNDLE=str(ca_pem))}
        result, by = scan(run_cli, env)
        assert fake.logins == 1
    assert result.code == 0, result.stderr
    assert seen == []  # not even a probe goes to the plain-http address
    assert by["a"]["canonical_url"] == url and url.startswith("https://")
    assert any("plain http" in w for w in by["a"]["warnings"])
