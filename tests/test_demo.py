"""`scanner demo`: the whole flow against local stand-ins, as a new user runs it."""

from __future__ import annotations

import json


def test_demo_registers_one_service_per_platform(run_cli):
    result = run_cli("demo", "--output", "json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)  # with --output json, stdout is only the report
    by = {t["service_name"]: t for t in report["targets"]}
    assert sorted(by) == ["looker_demo", "superset_demo", "tableau_demo"]
    assert {t["status"] for t in by.values()} == {"ok"}
    assert {t["taken"] for t in by.values()} == {"created"}
    assert by["looker_demo"]["details"]["dashboards"] == 12
    assert by["tableau_demo"]["details"]["workbooks"] == 8
    assert "holds 3 dashboard service(s)" in result.stderr
    assert "LOOKERSDK_CLIENT_SECRET__DEMO=*********" in result.stderr
    assert "127.0.0.1" in result.stderr and "Traceback" not in result.stderr


def test_demo_with_failures_shows_them_and_registers_only_the_good(run_cli):
    result = run_cli("demo", "--with-failures")
    assert result.code == 1, result.stderr
    assert "looker_wrong_secret" in result.stdout and "auth_failed" in result.stdout
    assert "superset_not_superset" in result.stdout and "not_detected" in result.stdout
    assert "holds 3 dashboard service(s)" in result.stdout
