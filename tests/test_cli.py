"""The command line: help, plugins, config, and usage errors (exit 2, one line, no traceback)."""

from __future__ import annotations

import json

import pytest


def test_help_lists_exit_codes(run_cli):
    result = run_cli("--help")
    assert result.code == 0
    assert "exit codes:" in result.stdout and "2    usage or configuration error" in result.stdout
    assert "scan" in result.stdout and "plugins" in result.stdout


def test_help_imports_no_sdk_nor_requests():
    import subprocess
    import sys

    code = ("import sys; from scanner.cli import build_parser; build_parser();"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('requests','looker_sdk','tableauserverclient','pydantic','rich')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_plugins_lists_builtin_custom(run_cli):
    result = run_cli("plugins", "--output", "json")
    assert result.code == 0, result.stderr
    rows = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert rows["custom"]["status"] == "enabled"
    assert rows["custom"]["service_type"] == "CustomDashboard"
    assert {n: rows[n]["service_type"] for n in ("looker", "tableau", "superset")} == {
        "looker": "Looker", "tableau": "Tableau", "superset": "Superset"}
    assert "LOOKERSDK_VERIFY_SSL" in rows["looker"]["env_vars"] and "TABLEAU_SITE" in rows["tableau"]["env_vars"]


def test_listing_plugins_imports_no_platform_sdk():
    import subprocess
    import sys

    code = ("import sys; from scanner import registry; entries = registry.discover();"
            "assert all(e.plugin for e in entries), [e.error for e in entries];"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('looker_sdk', 'tableauserverclient')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_config_shows_sources_and_masks_secrets(tmp_path, run_cli):
    (tmp_path / ".env").write_text("OPENMETADATA_JWT_TOKEN=super-secret-token-42\n")
    (tmp_path / "config.toml").write_text(
        '[catalog]\nhost = "http://127.0.0.1:8585/api"\n[[targets]]\nplatform = "custom"\nurl = "http://127.0.0.1:9/x"\n'
    )
    result = run_cli("config", "--output", "json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    rows = {r["key"]: r for r in doc["settings"]}
    assert rows["catalog.jwt_token"] == {"key": "catalog.jwt_token", "value": "*********", "source": ".env:OPENMETADATA_JWT_TOKEN"}
    assert rows["catalog.host"]["source"] == "config.toml:[catalog].host"
    assert doc["targets"][0]["service_name"] == "custom_127_0_0_1_9_x"
    assert "super-secret-token-42" not in result.stdout + result.stderr
    assert run_cli("scan", "--print-config").code == 0


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[[targets]]\nplatform = "custom"\nurl = "http://127.0.0.1:9"\nsourcePythonClas = "x"\n',
         "config.toml:[[targets]]#1.sourcePythonClas: unknown key 'sourcePythonClas' (did you mean 'sourcePythonClass'?)"),
        ('[[targets]]\nplatform = "supersett"\nurl = "http://127.0.0.1:9"\n', "unknown platform 'supersett'"),
        ('[[targets]]\nurl = "http://127.0.0.1:9"\n', "config.toml:[[targets]]#1: missing 'platform'"),
        ('[[targets]]\nplatform = "custom"\n', "missing required key 'url'"),
        ('[[targets]]\nplatform = "custom"\nurl = "ftp://127.0.0.1"\n', "must start with http:// or https://"),
        ('[[targets]]\nplatform = "custom"\nurl = "http://127.0.0.1:9"\nname = "a::b"\n', "may only use a-z, 0-9 and _"),
        ('[[targets]]\nplatform = "custom"\nurl = "http://127.0.0.1:9"\nname = "' + "x" * 300 + '"\n',
         "300 characters long (at most 256)"),
        ('[[targets]]\nplatform = "custom"\nurl = "http://127.0.0.1:9"\n[[targets]]\nplatform = "custom"\n'
         'url = "http://127.0.0.1:9/"\n', "service name 'custom_127_0_0_1_9' is also used by"),
        ('[[targets]]\nplatform = "custom"\nurl = "http://127.0.0.1:9"\nconnectionOptions = { a = 1 }\n',
         "connectionOptions.a: Input should be a valid string"),
    ],
)
def test_bad_target_is_one_line_and_exit_1(tmp_path, run_cli, toml, expected):
    """One bad [[targets]] entry is reported as a failed target, on one line; the run goes on (exit 1)."""
    (tmp_path / "config.toml").write_text(toml)
    result = run_cli("scan")
    assert result.code == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "scanner: error" not in result.stderr
    lines = [line for line in result.stdout.splitlines() if "invalid settings: " in line]
    assert len(lines) == 1 and lines[0].startswith("✗ "), result.stdout
    assert expected in lines[0]


def test_unknown_platform_flag(run_cli):
    result = run_cli("scan", "--platform", "lookr")
    assert result.code == 2
    assert "unknown platform 'lookr'" in result.stderr


def test_argparse_usage_error_is_exit_2(run_cli):
    result = run_cli("scan", "--output", "xml")
    assert result.code == 2 and "invalid choice" in result.stderr


def test_no_targets_says_how_to_add_some(run_cli):
    result = run_cli("scan")
    assert result.code == 0
    assert "No targets found" in result.stdout and "[[targets]]" in result.stdout


def test_config_shows_discovery_and_credentials_without_their_secrets(run_cli, tmp_path):
    (tmp_path / "config.toml").write_text(
        "[discovery]\nhosts = ['127.0.0.1']\nports = [9]\n[discovery.kubernetes]\nnamespaces = ['bi']\n"
        "[[credentials]]\nplatform = 'superset'\nhosts = ['127.0.0.1']\nusername = 'x'\npassword = 'cfg-secret-31'\n")
    result = run_cli("config", "--output", "json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    rows = {r["key"]: (r["value"], r["source"]) for r in doc["settings"]}
    assert rows["discovery.hosts"] == ('["127.0.0.1"]', "config.toml:[discovery].hosts")
    assert rows["discovery.kubernetes.namespaces"] == ('["bi"]', "config.toml:[discovery.kubernetes].namespaces")
    assert doc["credentials"] == [{"where": "config.toml:[[credentials]]#1", "platform": "superset",
                                   "hosts": ["127.0.0.1"], "keys": ["password", "username"]}]
    table = run_cli("config", env={"COLUMNS": "200"})
    assert "discovery.ports" in table.stdout and "password, username" in table.stdout
    assert "cfg-secret-31" not in result.stdout + table.stdout + result.stderr + table.stderr
