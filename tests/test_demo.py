"""`scanner demo`: the whole flow against local stand-ins, as a new user runs it."""

from __future__ import annotations

import json

import pytest


def test_demo_registers_one_service_per_platform(run_cli):
    result = run_cli("demo", "--output", "json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)  # with --output json, stdout is only the report
    by = {t["service_name"]: t for t in report["targets"]}
    assert sorted(by) == ["custom_demo", "domo_demo", "grafana_demo", "lightdash_demo_jaffle_shop_finance",
                          "lightdash_demo_jaffle_shop_marketing", "looker_demo", "metabase_demo", "mode_demo",
                          "powerbi_demo", "qlikcloud_demo", "qliksense_demo", "redash_demo", "superset_demo",
                          "tableau_demo"]
    assert {t["status"] for t in by.values()} == {"ok"}
    assert {t["taken"] for t in by.values()} == {"created"}
    assert by["looker_demo"]["details"]["dashboards"] == 12
    assert by["tableau_demo"]["details"]["workbooks"] == 8
    assert by["metabase_demo"]["details"]["dashboards"] == 6 and by["redash_demo"]["details"]["dashboards"] == 4
    assert by["grafana_demo"]["details"]["dashboards"] == 7
    assert by["lightdash_demo_jaffle_shop_marketing"]["details"]["dashboards"] == 3
    assert "holds 14 dashboard service(s)" in result.stderr
    assert "LOOKERSDK_CLIENT_SECRET__DEMO=*********" in result.stderr
    assert "127.0.0.1" in result.stderr and "Traceback" not in result.stderr


def test_demo_with_failures_shows_them_and_registers_only_the_good(run_cli):
    result = run_cli("demo", "--with-failures")
    assert result.code == 1, result.stderr
    assert "looker_wrong_secret" in result.stdout and "auth_failed" in result.stdout
    assert "superset_not_superset" in result.stdout and "not_detected" in result.stdout
    assert "redash_not_redash" in result.stdout  # a Metabase given as REDASH_URL
    assert "holds 14 dashboard service(s)" in result.stdout


SERVICE_TYPES = {"superset": "Superset", "looker": "Looker", "tableau": "Tableau", "metabase": "Metabase",
                 "redash": "Redash", "lightdash": "Lightdash", "grafana": "Grafana", "custom": "CustomDashboard",
                 "powerbi": "PowerBI", "mode": "Mode", "domo": "DomoDashboard", "qlikcloud": "QlikCloud",
                 "qliksense": "QlikSense"}


@pytest.mark.parametrize("platform", sorted(SERVICE_TYPES))
def test_each_dashboard_service_type_has_a_one_command_demo(platform, run_cli):
    result = run_cli("demo", "--platform", platform, "--output", "json")
    assert result.code == 0, result.stderr
    targets = json.loads(result.stdout)["targets"]
    assert targets and {t["platform"] for t in targets} == {platform}
    assert {(t["status"], t["taken"]) for t in targets} == {("ok", "created")}
    assert f" {SERVICE_TYPES[platform]} " in result.stderr  # the stand-in catalog holds it with that type


def test_an_unknown_demo_platform_is_one_line_naming_the_choices(run_cli):
    result = run_cli("demo", "--platform", "nosuch")
    assert result.code == 2
    [line] = result.stderr.strip().splitlines()
    assert "nosuch" in line and "superset" in line and "grafana" in line


def test_demo_ingest_gives_each_service_a_deployed_pipeline_and_the_catalogs_test(run_cli):
    import json

    result = run_cli("demo", "--ingest", "--output", "json", "--platform", "superset", "--platform", "custom")
    assert result.code == 0, result.stderr
    by = {t["service_name"]: t for t in json.loads(result.stdout)["targets"]}
    assert by["superset_demo"]["ingestion"]["deployed"] is True
    assert by["superset_demo"]["catalog_test"]["status"] == "success"
    assert by["custom_demo"]["catalog_test"]["status"] == "unsupported"  # OpenMetadata has none for custom types
    assert "and 2 ingestion pipeline(s):" in result.stderr
