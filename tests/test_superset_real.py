"""The Superset plugin against a real Apache Superset 6.1.0 on 127.0.0.1 (see tests/superset_server.py)."""

from __future__ import annotations

import json

import pytest
from conftest import catalog_env
from schemas import validate

pytestmark = pytest.mark.superset


def instance_env(name: str, url: str, user: str, password: str) -> dict[str, str]:
    suffix = name.upper()
    return {f"SUPERSET_URL__{suffix}": url, f"SUPERSET_USERNAME__{suffix}": user,
            f"SUPERSET_PASSWORD__{suffix}": password}


def test_real_superset_outcomes(run_cli, real_superset, catalog, web, closed_port):
    url = real_superset.url
    env = {
        **catalog_env(catalog),
        **instance_env("admin", url + "/", "admin", "admin-pw"),
        **instance_env("wrong", url, "admin", "not-the-password"),
        **instance_env("gamma", url, "gamma", "gamma-pw"),
        **instance_env("public", url, "public_user", "public-pw"),
        **instance_env("other", web.url, "admin", "admin-pw"),
        **instance_env("closed", f"http://127.0.0.1:{closed_port}", "admin", "admin-pw"),
        **instance_env("ldap", url, "admin", "admin-pw"), "SUPERSET_PROVIDER__LDAP": "ldap",
    }
    result = run_cli("scan", "--output", "json", env=env, timeout=300)
    assert result.code == 1, result.stderr
    by = {t["instance"]: t for t in json.loads(result.stdout)["targets"]}
    assert {k: v["status"] for k, v in by.items()} == {
        "admin": "ok", "wrong": "auth_failed", "gamma": "ok", "public": "forbidden",
        "other": "not_detected", "closed": "unreachable", "ldap": "auth_failed",
    }

    admin = by["admin"]
    assert admin["version"] == real_superset.version == "6.1.0"
    assert admin["details"] == {"dashboards": real_superset.dashboard_count, "charts": real_superset.chart_count}
    assert admin["details"]["dashboards"] == 2
    assert admin["canonical_url"] == url
    assert admin["taken"] == "created"
    assert "(401)" in by["wrong"]["message"]
    assert "provider is not allowed" in by["ldap"]["message"]
    assert by["gamma"]["details"]["dashboards"] == 0
    assert "0 dashboards visible" in by["gamma"]["warnings"][0]
    assert by["public"]["message"] == "GetDashboards: not allowed to list dashboards (403)"

    # only the two that passed are registered, each with a schema-valid config
    assert sorted(catalog.services) == ["superset_admin", "superset_gamma"]
    stored = catalog.services["superset_admin"]
    validate(stored["connection"]["config"], "SupersetConnection.json")
    assert stored["connection"]["config"] == {
        "type": "Superset", "hostPort": url,
        "connection": {"provider": "db", "username": "admin", "password": "admin-pw", "verifySSL": "no-ssl"},
        "supportsMetadataExtraction": True,  # the catalog stores the config with its schema's defaults
    }
    for call in catalog.calls("PUT"):
        for request in call.json if isinstance(call.json, list) else [call.json]:
            validate(request)
    assert "not-the-password" not in result.stdout + result.stderr


def test_real_superset_second_scan_writes_nothing(run_cli, real_superset, catalog):
    """The catalog stores the config with its defaults filled: the plan must still settle on the real server."""
    env = {**catalog_env(catalog), **instance_env("again", real_superset.url, "admin", "admin-pw")}
    first = run_cli("scan", "--output", "json", env=env, timeout=300)
    assert first.code == 0, first.stderr
    catalog.reset_log()
    for args in (("--dry-run",), ()):
        result = run_cli("scan", "--output", "json", *args, env=env, timeout=300)
        assert result.code == 0, result.stderr
        [entry] = json.loads(result.stdout)["targets"]
        assert (entry["plan"]["action"], entry["taken"]) == ("unchanged", "unchanged" if not args else "planned")
    assert catalog.calls("PUT") == []
