"""`scanner demo`: the whole flow against local stand-ins, as a new user runs it."""

from __future__ import annotations

import json


def test_demo_registers_one_service_per_platform(run_cli):
    result = run_cli("demo", "--output", "json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)  # with --output json, stdout is only the report
    by = {t["service_name"]: t for t in report["targets"]}
    assert sorted(by) == ["grafana_demo", "lightdash_demo_jaffle_shop_finance", "lightdash_demo_jaffle_shop_marketing",
                          "looker_demo", "metabase_demo", "redash_demo", "superset_demo", "tableau_demo"]
    assert {t["status"] for t in by.values()} == {"ok"}
    assert {t["taken"] for t in by.values()} == {"created"}
    assert by["looker_demo"]["details"]["dashboards"] == 12
    assert by["tableau_demo"]["details"]["workbooks"] == 8
    assert by["metabase_demo"]["details"]["dashboards"] == 6 and by["redash_demo"]["details"]["dashboards"] == 4
    assert by["grafana_demo"]["details"]["dashboards"] == 7
    assert by["lightdash_demo_jaffle_shop_marketing"]["details"]["dashboards"] == 3
    assert "holds 8 dashboard service(s)" in result.stderr
    assert "LOOKERSDK_CLIENT_SECRET__DEMO=*********" in result.stderr
    assert "127.0.0.1" in result.stderr and "Traceback" not in result.stderr


def test_demo_with_failures_shows_them_and_registers_only_the_good(run_cli):
    result = run_cli("demo", "--with-failures")
    assert result.code == 1, result.stderr
    assert "looker_wrong_secret" in result.stdout and "auth_failed" in result.stdout
    assert "superset_not_superset" in result.stdout and "not_detected" in result.stdout
    assert "redash_not_redash" in result.stdout  # a Metabase given as REDASH_URL
    assert "holds 8 dashboard service(s)" in result.stdout
