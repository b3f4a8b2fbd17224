"""Tableau plugin through the real tableauserverclient, against the contract-faithful fake on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from conftest import catalog_env
from schemas import validate

from scanner.testing.fake_looker import FakeLooker
from scanner.testing.fake_superset import FakeSuperset
from scanner.testing.fake_tableau import FakeTableau, TableauSite

PAT_SECRET = "pat-secret-91c4e0"
PASSWORD = "analyst-pw-3b7d"


@pytest.fixture
def tableau():
    sites = {"": TableauSite("", workbooks=2, views=4), "Sales": TableauSite("Sales", workbooks=6, views=9),
             "Empty": TableauSite("Empty", workbooks=0, views=0)}
    with FakeTableau(sites=sites, users={"analyst": PASSWORD},
                     tokens={"scanner-pat": PAT_SECRET, "viewer-pat": "viewer-secret"},
                     forbidden={"viewer-pat"}) as fake:
        yield fake


def pat_env(suffix: str, url: str, site: str = "", name: str = "scanner-pat", secret: str = PAT_SECRET) -> dict:
    env = {f"TABLEAU_URL__{suffix}": url, f"TABLEAU_TOKEN_NAME__{suffix}": name,
           f"TABLEAU_TOKEN_SECRET__{suffix}": secret}
    if site:
        env[f"TABLEAU_SITE__{suffix}"] = site
    return env


def scan(run_cli, env, *args):
    result = run_cli("scan", "--output", "json", *args, env=env)
    report = json.loads(result.stdout) if result.stdout else {"targets": []}
    return result, {t["instance"]: t for t in report["targets"]}


def test_env_only_scan_registers_tableau_and_rejects_the_rest(run_cli, tableau, catalog, web):
    with FakeLooker() as looker, FakeSuperset() as superset, FakeTableau(rest_api_version="3.4") as old:
        env = {
            **catalog_env(catalog),
            **pat_env("SALES", tableau.url, "Sales"),
            "TABLEAU_URL__DEFAULT": tableau.url + "/", "TABLEAU_USERNAME__DEFAULT": "analyst",
            "TABLEAU_PASSWORD__DEFAULT": PASSWORD,
            **pat_env("EMPTY", tableau.url, "Empty", name="viewer-pat", secret="viewer-secret"),
            **pat_env("WRONG", tableau.url, "Sales", secret="not-the-secret"),
            **pat_env("NOSITE", tableau.url, "Nowhere"),
            **pat_env("LOOKER", looker.url),
            **pat_env("SUPERSET", superset.url),
            **pat_env("WEB", web.url),
            **pat_env("OLD", old.url),
        }
        result, by = scan(run_cli, env)
        assert old.sign_ins == old.failed_sign_ins == 0  # no credential sent to an API that cannot take it
        assert looker.logins == 0 and not superset.login_attempts
    assert result.code == 1, result.stderr
    assert {k: v["status"] for k, v in by.items()} == {
        "sales": "ok", "default": "ok", "empty": "forbidden", "wrong": "auth_failed", "nosite": "auth_failed",
        "looker": "not_detected", "superset": "not_detected", "web": "not_detected", "old": "error",
    }
    sales = by["sales"]
    assert [s["name"] for s in sales["steps"]] == [
        "Reach", "ServerInfo", "ValidateApiVersion", "CheckAccess", "ValidateSiteUrl", "GetWorkbooks", "GetViews"]
    assert sales["version"] == "2024.2.0"
    assert sales["details"]["workbooks"] == 6 and sales["details"]["views"] == 9
    assert sales["details"]["rest_api_version"] == "3.23" and sales["details"]["site_url"] == "Sales"
    assert by["default"]["details"]["workbooks"] == 2
    assert "401001" in by["wrong"]["message"] and "TABLEAU_SITE" in by["wrong"]["hint"]
    assert "'Nowhere'" in by["nosite"]["message"]
    assert "403" in by["empty"]["message"] and "Viewer" in by["empty"]["hint"]
    assert "needs REST API 3.6" in by["old"]["message"] and "3.4" in by["old"]["message"]
    assert [s["status"] for s in by["looker"]["steps"]][:3] == ["passed", "failed", "skipped"]

    assert sorted(catalog.services) == ["tableau_default", "tableau_sales"]
    puts = {c.json["name"]: c.json for c in catalog.calls("PUT") if isinstance(c.json, dict)}
    for name in ("tableau_default", "tableau_sales"):
        validate(puts[name])
        validate(puts[name]["connection"]["config"], "TableauConnection.json")
    assert puts["tableau_sales"]["connection"]["config"] == {
        "type": "Tableau", "hostPort": tableau.url, "siteName": "Sales", "apiVersion": "3.23", "verifySSL": "no-ssl",
        "authType": {"personalAccessTokenName": "scanner-pat", "personalAccessTokenSecret": PAT_SECRET},
    }
    assert puts["tableau_default"]["connection"]["config"]["authType"] == {"username": "analyst", "password": PASSWORD}
    assert "siteName" not in puts["tableau_default"]["connection"]["config"]  # Default site: left blank
    assert tableau.sign_outs == tableau.sign_ins  # every session signed out
    assert PAT_SECRET not in result.stdout + result.stderr and PASSWORD not in result.stdout + result.stderr


def test_targets_sharing_a_token_take_turns_instead_of_ending_each_other(run_cli, tableau):
    env = {**pat_env("A", tableau.url, "Sales"), **pat_env("B", tableau.url, ""), **pat_env("C", tableau.url, "Empty")}
    result, by = scan(run_cli, env, "--dry-run", "--concurrency", "3")
    assert result.code == 0, result.stderr
    assert {k: v["status"] for k, v in by.items()} == {"a": "ok", "b": "ok", "c": "ok"}
    assert tableau.revoked_sessions == 0 and tableau.sign_ins == 3 and tableau.sign_outs == 3


def test_signs_in_once_on_the_servers_api_version(run_cli, tableau):
    result, _ = scan(run_cli, pat_env("A", tableau.url, "Sales"), "--dry-run")
    assert result.code == 0, result.stderr
    paths = [(r.method, r.path) for r in tableau.requests if r.path.startswith("/api/")]
    assert [p for p in paths if "auth" in p[1]] == [("POST", "/api/3.23/auth/signin"), ("POST", "/api/3.23/auth/signout")]


def test_rate_limited_sign_in_is_retried(run_cli, tableau):
    tableau.inject(429, times=1, method="POST", path_prefix="/api/3.23/auth/signin", headers={"Retry-After": "1"})
    result, by = scan(run_cli, pat_env("A", tableau.url, "Sales"), "--dry-run")
    assert result.code == 0, result.stderr
    assert [r.status for r in tableau.requests if r.path.endswith("/signin")] == [429, 200]


def test_persistent_rate_limit_is_an_error_with_a_hint(run_cli, tableau):
    tableau.inject(429, times=None, method="GET", path_prefix="/api/3.23/sites/", headers={"Retry-After": "0"})
    result, by = scan(run_cli, pat_env("A", tableau.url, "Sales"), "--dry-run")
    assert result.code == 1
    assert by["a"]["status"] == "error" and "429" in by["a"]["message"] and "later" in by["a"]["hint"]
    assert tableau.sign_outs == 1


@pytest.mark.parametrize(("env", "needle"), [
    ({"TABLEAU_TOKEN_NAME": "scanner-pat"}, "incomplete credentials"),
    ({"TABLEAU_TOKEN_NAME": "scanner-pat", "TABLEAU_TOKEN_SECRET": "x", "TABLEAU_USERNAME": "a",
      "TABLEAU_PASSWORD": "b"}, "not both"),
    ({}, "no credentials"),
    ({"TABLEAU_USERNAME": "a", "TABLEAU_PASSWORD": "b", "TABLEAU_VERIFY_SSL": "maybe"}, "TABLEAU_VERIFY_SSL"),
    ({"TABLEAU_TOKEN_NAME": "n", "TABLEAU_TOKEN_SECRET": ""}, "TABLEAU_TOKEN_SECRET"),
])
def test_bad_credentials_settings_are_one_line_config_errors(run_cli, tableau, env, needle):
    """Bad settings make that target a reported failure (one line naming the problem), not probed; exit 1."""
    result, by = scan(run_cli, {"TABLEAU_URL": tableau.url, **env})
    assert result.code == 1, result.stderr
    [entry] = by.values()
    assert entry["status"] == "error" and entry["steps"] == [] and "Traceback" not in result.stderr
    assert entry["message"].count("\n") == 0 and needle in entry["message"]
    assert tableau.requests == []


def test_a_url_pasted_from_the_browser_names_the_site(run_cli, tableau, catalog):
    env = {**catalog_env(catalog), "TABLEAU_URL__SALES": tableau.url + "/#/site/Sales/workbooks",
           "TABLEAU_TOKEN_NAME__SALES": "scanner-pat", "TABLEAU_TOKEN_SECRET__SALES": PAT_SECRET}
    result, by = scan(run_cli, env)
    assert result.code == 0, result.stderr
    assert by["sales"]["url"] == tableau.url and by["sales"]["details"]["site_url"] == "Sales"
    assert catalog.services["tableau_sales"]["connection"]["config"]["siteName"] == "Sales"
