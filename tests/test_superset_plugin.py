"""Superset plugin against the small fake (fast); the real-server tests are in test_superset_real.py."""

from __future__ import annotations

import pytest
from conftest import catalog_env
from scan_helpers import scan
from schemas import validate

from scanner.testing.fake_superset import FakeSuperset, FakeUser
from scanner.testing.server import LocalServer, Response
from scanner_superset import candidate_bases


@pytest.fixture
def superset():
    users = {"admin": FakeUser("admin-pw-31337"), "gamma": FakeUser("gamma-pw", dashboards=0, charts=0),
             "pub": FakeUser("pub-pw", forbidden=True)}
    with FakeSuperset(users=users) as fake:
        yield fake


def test_env_instances_end_to_end(run_cli, superset, catalog, web, closed_port):
    env = {
        **catalog_env(catalog),
        "SUPERSET_URL__ADMIN": superset.url + "/superset/welcome/", "SUPERSET_USERNAME__ADMIN": "admin",
        "SUPERSET_PASSWORD__ADMIN": "admin-pw-31337",
        "SUPERSET_URL__WRONG": superset.url, "SUPERSET_USERNAME__WRONG": "admin", "SUPERSET_PASSWORD__WRONG": "nope-nope",
        "SUPERSET_URL__LDAP": superset.url, "SUPERSET_USERNAME__LDAP": "admin", "SUPERSET_PASSWORD__LDAP": "admin-pw-31337",
        "SUPERSET_PROVIDER__LDAP": "LDAP",
        "SUPERSET_URL__GAMMA": superset.url, "SUPERSET_USERNAME__GAMMA": "gamma", "SUPERSET_PASSWORD__GAMMA": "gamma-pw",
        "SUPERSET_URL__PUB": superset.url, "SUPERSET_USERNAME__PUB": "pub", "SUPERSET_PASSWORD__PUB": "pub-pw",
        "SUPERSET_URL__WEB": web.url, "SUPERSET_USERNAME__WEB": "admin", "SUPERSET_PASSWORD__WEB": "admin-pw-31337",
        "SUPERSET_URL__CLOSED": f"http://127.0.0.1:{closed_port}", "SUPERSET_USERNAME__CLOSED": "a",
        "SUPERSET_PASSWORD__CLOSED": "admin-pw-31337",
    }
    result, by = scan(run_cli, env)
    assert result.code == 1, result.stderr
    assert {k: v["status"] for k, v in by.items()} == {
        "admin": "ok", "wrong": "auth_failed", "ldap": "auth_failed", "gamma": "ok", "pub": "forbidden",
        "web": "not_detected", "closed": "unreachable",
    }
    admin = by["admin"]
    assert admin["version"] == "6.1.0" and admin["details"] == {"dashboards": 2, "charts": 3}
    assert admin["canonical_url"] == superset.url
    assert [s["name"] for s in admin["steps"]] == ["Reach", "Fingerprint", "CheckAccess", "GetDashboards", "GetCharts"]
    assert "Alternative authentication provider is not allowed" in by["ldap"]["message"]
    assert by["gamma"]["warnings"] == ["0 dashboards visible to this user: OpenMetadata would ingest none",
                                       "0 charts visible to this user: OpenMetadata would ingest none"]
    assert by["pub"]["hint"]
    assert [s["status"] for s in by["web"]["steps"]] == ["passed", "failed", "skipped", "skipped", "skipped"]

    assert sorted(catalog.services) == ["superset_admin", "superset_gamma"]
    [put] = [c for c in catalog.calls("PUT") if isinstance(c.json, dict) and c.json["name"] == "superset_admin"]
    validate(put.json)
    config = put.json["connection"]["config"]
    validate(config, "SupersetConnection.json")
    assert config == {"type": "Superset", "hostPort": superset.url,
                      "connection": {"provider": "db", "username": "admin", "password": "admin-pw-31337",
                                     "verifySSL": "no-ssl"}}
    assert "admin-pw-31337" not in result.stdout + result.stderr
    assert "nope-nope" not in result.stdout + result.stderr

    # second run: nothing to write, even through a person's token that sees masked secrets
    catalog.reset_log()
    again, by = scan(run_cli, {**env, "OPENMETADATA_JWT_TOKEN": "user-token-2b8e41"}, "--platform", "superset")
    assert by["admin"]["plan"]["action"] == "unchanged" and by["admin"]["plan"]["secrets_unverified"] is True
    assert catalog.calls("PUT") == []


def test_dry_run_masks_the_password(run_cli, superset, catalog):
    env = {**catalog_env(catalog), "SUPERSET_URL": superset.url, "SUPERSET_USERNAME": "admin",
           "SUPERSET_PASSWORD": "admin-pw-31337"}
    result, by = scan(run_cli, env, "--dry-run")
    assert result.code == 0, result.stderr
    [entry] = by.values()
    assert entry["service_name"] == "superset_127_0_0_1_" + superset.url.rsplit(":", 1)[1]
    assert entry["payload"]["connection"]["config"]["connection"]["password"] == "*********"
    assert "admin-pw-31337" not in result.stdout + result.stderr
    assert catalog.calls("PUT") == []


def test_health_ok_alone_is_not_superset(run_cli):
    def app(request):
        return Response(200, b"OK") if request.path == "/health" else Response(200, b"<html>hi</html>")

    with LocalServer(app) as server:
        result, by = scan(run_cli, {"SUPERSET_URL": server.url, "SUPERSET_USERNAME": "a", "SUPERSET_PASSWORD": "bbbb"})
    [entry] = by.values()
    assert entry["status"] == "not_detected"


def test_missing_username_is_a_config_error(run_cli):
    result = run_cli("scan", env={"SUPERSET_URL": "http://127.0.0.1:1", "SUPERSET_PASSWORD": "pw-pw"})
    assert result.code == 1  # the target is reported as failed; the run goes on
    assert "env:SUPERSET_URL: missing SUPERSET_USERNAME (TOML username)" in result.stdout


@pytest.mark.parametrize(
    ("url", "bases"),
    [
        ("https://bi.example.com", ["https://bi.example.com"]),
        ("https://bi.example.com/superset/welcome", ["https://bi.example.com/superset/welcome", "https://bi.example.com"]),
        ("https://x.example.com/bi/login", ["https://x.example.com/bi/login", "https://x.example.com/bi"]),
    ],
)
def test_candidate_bases(url, bases):
    assert candidate_bases(url) == bases
