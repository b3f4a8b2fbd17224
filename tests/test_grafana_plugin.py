"""Grafana plugin against the Grafana fake, over real sockets on 127.0.0.1, through the real ``scanner`` command."""

from __future__ import annotations

import time

import pytest
from conftest import catalog_env
from scan_helpers import put_config, scan

from scanner.testing.fake_grafana import FakeGrafana, ServiceAccount
from scanner.testing.server import LocalServer, Request, Response
from scanner.urls import connector_host_port as host_port
from scanner_grafana import plugin as grafana

page_base = grafana.base_url

ADMIN = "glsa_admin_7Qp2Vx9LmN4rT8sW_0c1d2e3f"
VIEWER = "glsa_viewer_3Hk8Zq1Jy6Bn5Mc2_4a5b6c7d"
EMPTY = "glsa_empty_9Fd4Ls7Pq2Wx8Rt3_8e9f0a1b"
NOROLE = "glsa_norole_2Gh6Kj9Nb4Vc1Xz7_2c3d4e5f"
LEGACY = "eyJrIjoiT0tTcG1pUlY2RnVKZTFVaDFsNFZXdE9ZWmNr"
WRONG = "glsa_wrong_5Tt5Tt5Tt5Tt5Tt5Tt5_00000000"
SECRETS = (ADMIN, VIEWER, EMPTY, NOROLE, LEGACY, WRONG)
STEPS = ["Reach", "Fingerprint", "CheckAccess", "GetDashboards", "GetFolders"]
UNAUTHENTICATED = {"/", "/api/health", "/login"}


@pytest.fixture
def grafana():
    tokens = {ADMIN: ServiceAccount("admin", "Admin"), VIEWER: ServiceAccount("viewer", "Viewer"),
              EMPTY: ServiceAccount("empty", "Viewer", dashboards=0), NOROLE: ServiceAccount("norole", "None"),
              LEGACY: ServiceAccount("legacy", "Viewer")}
    with FakeGrafana(tokens=tokens, dashboards=5, folders=2) as fake:
        yield fake


def grafana_env(name: str, url: str, token: str, **extra: str) -> dict[str, str]:
    env = {f"GRAFANA_URL__{name}": url, f"GRAFANA_SERVICE_ACCOUNT_TOKEN__{name}": token}
    env.update({f"GRAFANA_{k}__{name}": v for k, v in extra.items()})
    return env


def no_secret_in(result) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr


def test_env_instances_end_to_end(run_cli, grafana, catalog, web, closed_port):
    env = {
        **catalog_env(catalog),
        **grafana_env("ADMIN", grafana.url, ADMIN), **grafana_env("VIEWER", grafana.url + "/", VIEWER),
        **grafana_env("EMPTY", grafana.url, EMPTY), **grafana_env("NOROLE", grafana.url, NOROLE),
        **grafana_env("LEGACY", grafana.url, LEGACY), **grafana_env("WRONG", grafana.url, WRONG),
        **grafana_env("WEB", web.url, ADMIN), **grafana_env("CLOSED", f"http://127.0.0.1:{closed_port}", ADMIN),
    }
    result, by = scan(run_cli, env)
    assert result.code == 1, result.stderr
    assert {k: v["status"] for k, v in by.items()} == {
        "admin": "ok", "viewer": "ok", "empty": "ok", "legacy": "ok", "norole": "forbidden", "wrong": "auth_failed",
        "web": "not_detected", "closed": "unreachable",
    }
    admin = by["admin"]
    assert admin["version"] == "11.5.0" and admin["canonical_url"] == grafana.url
    assert admin["details"] == {"organization": "Main Org.", "dashboards": 5, "folders": 2}
    assert [s["name"] for s in admin["steps"]] == STEPS and admin["warnings"] == []
    assert by["viewer"]["details"]["dashboards"] == 5
    assert by["empty"]["warnings"] == ["0 dashboards visible to these credentials: OpenMetadata would ingest none"]
    assert "glsa_" in by["legacy"]["warnings"][0] and "GRAFANA_SERVICE_ACCOUNT_TOKEN" in by["legacy"]["warnings"][0]

    wrong = by["wrong"]
    assert wrong["message"] == "CheckAccess: GET /api/org answered 401: Invalid API key"
    assert "GRAFANA_SERVICE_ACCOUNT_TOKEN" in wrong["hint"] and "apiKey" in wrong["hint"]
    norole = by["norole"]
    assert "403" in norole["message"] and "orgs:read" in norole["message"]
    assert "GRAFANA_SERVICE_ACCOUNT_TOKEN" in norole["hint"] and "Viewer" in norole["hint"]
    assert [s["status"] for s in by["web"]["steps"]] == ["passed", "failed", "skipped", "skipped", "skipped"]
    assert "GRAFANA_URL" in by["web"]["hint"]

    assert sorted(catalog.services) == ["grafana_admin", "grafana_empty", "grafana_legacy", "grafana_viewer"]
    config = put_config(catalog, "grafana_admin")
    assert config == {"type": "Grafana", "hostPort": grafana.url, "apiKey": ADMIN, "verifySSL": True}
    assert put_config(catalog, "grafana_viewer")["hostPort"] == grafana.url  # the trailing slash typed is gone
    no_secret_in(result)

    # second run: nothing to write, even through a person's token that sees masked secrets
    catalog.reset_log()
    again, by = scan(run_cli, {**env, "OPENMETADATA_JWT_TOKEN": "user-token-2b8e41"}, "--platform", "grafana")
    assert by["admin"]["plan"]["action"] == "unchanged" and by["admin"]["plan"]["secrets_unverified"] is True
    assert catalog.calls("PUT") == []
    no_secret_in(again)


def test_the_token_goes_out_only_after_the_fingerprint(run_cli, grafana):
    result, by = scan(run_cli, grafana_env("ONE", grafana.url, ADMIN))
    assert by["one"]["status"] == "ok", result.stderr
    paths = [r.path for r in grafana.requests]
    first = paths.index("/api/org")
    assert set(paths[:first]) == UNAUTHENTICATED and {"/api/health", "/login"} <= set(paths[:first])
    assert [path for _, path in grafana.credentialed] == ["/api/org", "/api/search", "/api/folders"]
    assert [r.principal for r in grafana.requests[first:]] == ["admin"] * 3


def _recording(app):
    """Wrap `app` so every request's path is kept, with whether it carried an Authorization header."""
    seen: list[tuple[str, bool]] = []

    def wrapped(request: Request) -> Response:
        seen.append((request.path, request.header("Authorization") is not None))
        return app(request)

    return wrapped, seen


def _spa(request: Request) -> Response:  # another single-page app: 200 with its page for any path
    return Response(200, b"<!DOCTYPE html><html><head><title>Grafana</title></head><body>app</body></html>",
                    {"Content-Type": "text/html; charset=utf-8"})


def _json_everywhere(request: Request) -> Response:  # a JSON API that is not Grafana
    return Response.json({"status": "ok", "version": "1.2.3"})


def _health_alike(request: Request) -> Response:  # Grafana's /api/health shape, but no Grafana page
    if request.path == "/api/health":
        return Response.json({"database": "ok", "version": "11.5.0"})
    return Response(200, b"<html><head><title>Other tool</title></head></html>", {"Content-Type": "text/html"})


@pytest.mark.parametrize("app", [_spa, _json_everywhere, _health_alike], ids=["spa", "json", "health-alike"])
def test_not_grafana_is_not_detected_and_gets_no_token(run_cli, app):
    wrapped, seen = _recording(app)
    with LocalServer(wrapped) as server:
        result, by = scan(run_cli, grafana_env("X", server.url, ADMIN))
    [entry] = by.values()
    assert entry["status"] == "not_detected", entry
    assert "1 of 2 signs" in entry["message"] or "0 of 2 signs" in entry["message"]
    assert "GRAFANA_URL" in entry["hint"]
    assert seen and not any(auth for _, auth in seen)
    assert {path for path, _ in seen} <= UNAUTHENTICATED
    no_secret_in(result)


def test_an_unhealthy_grafana_says_so_and_gets_no_token(run_cli):
    with FakeGrafana(tokens={ADMIN: ServiceAccount("admin", "Admin")}, healthy=False) as fake:
        result, by = scan(run_cli, grafana_env("SICK", fake.url, ADMIN))
        assert fake.credentialed == []
    [entry] = by.values()
    assert entry["status"] == "error"
    assert "database: failing" in entry["message"] and "unhealthy" in entry["message"]
    assert "database" in entry["hint"]


def test_a_hidden_version_is_unknown_not_a_failure(run_cli):
    with FakeGrafana(tokens={ADMIN: ServiceAccount("admin", "Admin")}, hide_version=True) as fake:
        result, by = scan(run_cli, grafana_env("HID", fake.url, ADMIN))
    [entry] = by.values()
    assert entry["status"] == "ok", entry
    assert entry["version"] is None
    assert "version hidden" in entry["steps"][1]["message"]


def test_the_version_comes_from_the_login_page_when_health_has_none(run_cli):
    def app(request: Request) -> Response:
        if request.path == "/api/health":
            return Response.json({"database": "ok"})
        return Response(200, b'<html><head><title>Grafana</title></head><body><script>window.grafanaBootData = '
                             b'{"navTree":[{"id":"help","text":"Help","subTitle":"Grafana v10.4.2 (abc1234567)"}]}'
                             b'</script></body></html>', {"Content-Type": "text/html"})

    with LocalServer(app) as server:
        result, by = scan(run_cli, grafana_env("PAGE", server.url, WRONG))
    [entry] = by.values()
    assert entry["version"] == "10.4.2"
    assert entry["steps"][1]["status"] == "passed"


def test_https_with_a_private_ca(run_cli, catalog, server_tls, ca_pem):
    tokens = {ADMIN: ServiceAccount("admin", "Admin"), VIEWER: ServiceAccount("viewer")}
    with FakeGrafana(tokens=tokens, tls=server_tls) as fake:
        url = fake.url
        env = {**catalog_env(catalog), **grafana_env("CA", fake.url, ADMIN, CA_BUNDLE=str(ca_pem)),
               **grafana_env("NOCA", fake.url, ADMIN),
               **grafana_env("OFF", fake.url, VIEWER, VERIFY_SSL="false")}  # another login: not a duplicate
        result, by = scan(run_cli, env)
    assert {k: v["status"] for k, v in by.items()} == {"ca": "ok", "noca": "tls_error", "off": "ok"}
    assert url.startswith("https://")
    [warning] = by["ca"]["warnings"]
    assert "ingestion host" in warning and "REQUESTS_CA_BUNDLE" in warning
    assert put_config(catalog, "grafana_ca") == {"type": "Grafana", "hostPort": url, "apiKey": ADMIN,
                                                 "verifySSL": True}
    assert "GRAFANA_CA_BUNDLE" in by["noca"]["hint"] and "GRAFANA_VERIFY_SSL" in by["noca"]["hint"]
    assert by["off"]["warnings"] == []
    assert put_config(catalog, "grafana_off")["verifySSL"] is False
    no_secret_in(result)


def test_429_is_retried_after_retry_after(run_cli, grafana):
    grafana.inject(429, times=1, method="GET", path_prefix="/api/search", headers={"Retry-After": "1"})
    t0 = time.monotonic()
    result, by = scan(run_cli, grafana_env("BUSY", grafana.url, ADMIN))
    assert time.monotonic() - t0 >= 1.0
    [entry] = by.values()
    assert entry["status"] == "ok", entry
    assert entry["details"]["dashboards"] == 5
    assert [r.status for r in grafana.requests if r.path == "/api/search"] == [429, 200]


def test_429_that_does_not_end_is_an_error(run_cli, grafana):
    grafana.inject(429, times=None, method="GET", path_prefix="/api/org", headers={"Retry-After": "0"})
    result, by = scan(run_cli, grafana_env("BUSY", grafana.url, ADMIN))
    [entry] = by.values()
    assert entry["status"] == "error"
    assert "429" in entry["message"] and "rate limiting" in entry["hint"]
    assert [r.status for r in grafana.requests if r.path == "/api/org"] == [429, 429, 429]


def test_folders_are_optional(run_cli, grafana):
    grafana.inject(500, times=None, method="GET", path_prefix="/api/folders")
    result, by = scan(run_cli, grafana_env("NOFOLDERS", grafana.url, ADMIN))
    [entry] = by.values()
    assert entry["status"] == "ok"
    assert [(s["name"], s["status"]) for s in entry["steps"]][-2:] == [("GetDashboards", "passed"),
                                                                       ("GetFolders", "failed")]
    assert "500" in entry["steps"][-1]["message"]


def test_a_redirect_of_a_credentialed_request_is_not_followed(run_cli, grafana):
    wrapped, seen = _recording(lambda request: Response(200, b"got you"))
    with LocalServer(wrapped) as elsewhere:
        grafana.inject(302, times=None, method="GET", path_prefix="/api/org",
                       headers={"Location": elsewhere.url + "/steal"}, body="")
        result, by = scan(run_cli, grafana_env("REDIR", grafana.url, ADMIN))
    [entry] = by.values()
    assert entry["status"] == "error" and "not followed" in entry["message"]
    assert seen == []


def test_paging_until_a_short_page(run_cli):
    with FakeGrafana(tokens={ADMIN: ServiceAccount("admin", "Admin")}, dashboards=2345, folders=0) as fake:
        result, by = scan(run_cli, grafana_env("BIG", fake.url, ADMIN))
        searches = [r for r in fake.requests if r.path == "/api/search"]
    [entry] = by.values()
    assert entry["status"] == "ok"
    assert entry["details"] == {"organization": "Main Org.", "dashboards": 2345, "folders": 0}
    assert len(searches) == 3
    assert entry["warnings"] == []  # 0 folders is normal: dashboards may all sit in the General level


def test_a_sub_path_and_a_page_url_copied_from_the_browser(run_cli, catalog):
    with FakeGrafana(tokens={ADMIN: ServiceAccount("admin", "Admin")}, sub_path="/grafana") as fake:
        base = fake.base_url
        page = base + "/d/dash-1/dashboard-1?orgId=1&from=now-6h"
        result, by = scan(run_cli, {**catalog_env(catalog), **grafana_env("SUB", page, ADMIN)})
    [entry] = by.values()
    assert entry["status"] == "ok", entry
    assert entry["canonical_url"] == base and base.endswith("/grafana")
    config = put_config(catalog, "grafana_sub")
    assert config["hostPort"] == base + "/"


def test_toml_target_uses_openmetadatas_key_name(run_cli, grafana, tmp_path):
    (tmp_path / "config.toml").write_text(
        f'[[targets]]\nplatform = "grafana"\ninstance = "toml"\nurl = "{grafana.url}"\napiKey = "${{MY_TOKEN}}"\n'
    )
    result, by = scan(run_cli, {"MY_TOKEN": ADMIN}, "--config", str(tmp_path / "config.toml"), "--dry-run")
    assert by["toml"]["status"] == "ok", result.stdout + result.stderr
    assert by["toml"]["payload"]["connection"]["config"]["apiKey"] == "*********"
    no_secret_in(result)


def test_dry_run_masks_the_token(run_cli, grafana, catalog):
    env = {**catalog_env(catalog), "GRAFANA_URL": grafana.url, "GRAFANA_SERVICE_ACCOUNT_TOKEN": ADMIN}
    result, by = scan(run_cli, env, "--dry-run")
    assert result.code == 0, result.stderr
    [entry] = by.values()
    assert entry["service_name"] == "grafana_127_0_0_1_" + grafana.url.rsplit(":", 1)[1]
    assert entry["payload"]["connection"]["config"]["apiKey"] == "*********"
    assert catalog.calls("PUT") == []
    no_secret_in(result)


def test_an_empty_token_is_a_config_error(run_cli):
    result = run_cli("scan", env={"GRAFANA_URL": "http://127.0.0.1:1", "GRAFANA_SERVICE_ACCOUNT_TOKEN": "  "})
    assert result.code == 1
    assert "apiKey" in result.stdout and "empty" in result.stdout


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://g.example.com", "https://g.example.com"),
        ("https://g.example.com/d/abc123/sales?orgId=1&from=now-6h", "https://g.example.com"),
        ("https://x.example.com/grafana/d/abc123/sales", "https://x.example.com/grafana"),
        ("https://x.example.com/grafana/login", "https://x.example.com/grafana"),
        ("https://x.example.com/grafana/dashboards/f/abc/", "https://x.example.com/grafana"),
        ("https://x.example.com/d", "https://x.example.com/d"),  # a prefix named d, no dashboard uid after it
        ("https://acme.grafana.net/explore?left=%7B%7D", "https://acme.grafana.net"),
        ("grafana.example.com", "grafana.example.com"),  # no scheme: left for validation to report
    ],
)
def test_page_base(url, base):
    assert page_base(url) == base


@pytest.mark.parametrize(
    ("url", "expected"),
    [("http://h:3000", "http://h:3000"), ("https://h/grafana", "https://h/grafana/"), ("https://h/a/b/", "https://h/a/b/")],
)
def test_host_port(url, expected):
    assert host_port(url) == expected
