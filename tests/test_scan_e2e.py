"""End to end: the `scanner` command against the fake catalog and real local servers."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import BOT_TOKEN, USER_TOKEN, catalog_env
from schemas import validate

from scanner.testing.fake_openmetadata import FakeOpenMetadata


def write_config(path: Path, url: str, **extra: str) -> Path:
    lines = ["[[targets]]", 'platform = "custom"', 'instance = "ops"', f'url = "{url}"',
             'sourcePythonClass = "acme.ingest.Source"']
    lines += [f"{k} = {v}" for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_registers_custom_target_then_reports_unchanged(tmp_path, run_cli, web, catalog):
    write_config(tmp_path / "config.toml", web.url, connectionOptions='{ org = "ops" }')
    env = catalog_env(catalog)

    first = run_cli("scan", "--output", "json", env=env)
    assert first.code == 0, first.stderr
    report = json.loads(first.stdout)
    [entry] = report["targets"]
    assert entry["service_name"] == "custom_ops"
    assert entry["status"] == "ok"
    assert [s["name"] for s in entry["steps"]] == ["Reach"]
    assert entry["plan"]["action"] == "create" and entry["taken"] == "created"
    assert report["catalog"]["version"] == "2.0.7"

    [put] = catalog.calls("PUT")
    assert put.status == 201
    validate(put.json)
    stored = catalog.services["custom_ops"]
    assert stored["serviceType"] == "CustomDashboard"
    assert stored["connection"]["config"] == {
        "type": "CustomDashboard", "sourcePythonClass": "acme.ingest.Source",
        "connectionOptions": {"org": "ops"}, "hostPort": web.url,
        "supportsMetadataExtraction": True,  # the server stores the config with its schema's defaults
    }

    catalog.reset_log()
    second = run_cli("scan", "--output", "json", env=env)
    assert second.code == 0, second.stderr
    [entry] = json.loads(second.stdout)["targets"]
    assert entry["plan"]["action"] == "unchanged" and entry["taken"] == "unchanged"
    assert catalog.calls("PUT") == []
    assert catalog.services["custom_ops"]["version"] == 0.1


def test_person_description_survives_changed_registration_with_person_token(tmp_path, run_cli, web, catalog):
    write_config(tmp_path / "config.toml", web.url)
    env = catalog_env(catalog, USER_TOKEN)  # a person's token: a plain PUT would overwrite curated fields
    assert run_cli("scan", env=env).code == 0
    service = catalog.services["custom_ops"]

    import requests

    patch = [{"op": "replace", "path": "/description", "value": "Owned by the ops team. Ask #ops."},
             {"op": "add", "path": "/displayName", "value": "Ops dashboards"}]
    resp = requests.patch(
        f"{catalog.url}/api/v1/services/dashboardServices/{service['id']}", json=patch, timeout=5,
        headers={"Authorization": f"Bearer {USER_TOKEN}", "Content-Type": "application/json-patch+json"},
    )
    assert resp.status_code == 200, resp.text

    write_config(tmp_path / "config.toml", web.url, connectionOptions='{ org = "ops2" }')
    result = run_cli("scan", "--output", "json", env=env)
    assert result.code == 0, result.stderr
    [entry] = json.loads(result.stdout)["targets"]
    assert entry["plan"]["action"] == "update"
    assert entry["plan"]["changes"] == ["connection"]
    assert entry["taken"] == "updated"
    stored = catalog.services["custom_ops"]
    assert stored["connection"]["config"]["connectionOptions"] == {"org": "ops2"}
    assert stored["description"] == "Owned by the ops team. Ask #ops."
    assert stored["displayName"] == "Ops dashboards"


def test_dry_run_json_plans_without_writing_or_leaking(tmp_path, run_cli, web, catalog):
    write_config(tmp_path / "config.toml", web.url)
    result = run_cli("scan", "--dry-run", "--output", "json", "-vv", env=catalog_env(catalog))
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["format_version"] == 1 and report["run"]["dry_run"] is True
    [entry] = report["targets"]
    assert entry["plan"]["action"] == "create" and entry["taken"] == "planned"
    validate(entry["payload"])
    assert catalog.calls("PUT") == [] and catalog.services == {}
    assert BOT_TOKEN not in result.stdout + result.stderr


def test_dry_run_table_shows_payload(tmp_path, run_cli, web, catalog):
    write_config(tmp_path / "config.toml", web.url)
    result = run_cli("scan", "--dry-run", env=catalog_env(catalog, with_api=False))
    assert result.code == 0, result.stderr
    assert "custom_ops" in result.stdout and "create" in result.stdout
    assert '"sourcePythonClass": "acme.ingest.Source"' in result.stdout
    assert "dry run: nothing written" in result.stdout
    assert catalog.calls("PUT") == []


def test_unreachable_target_is_skipped_and_exit_1(tmp_path, run_cli, closed_port, catalog):
    write_config(tmp_path / "config.toml", f"http://127.0.0.1:{closed_port}")
    result = run_cli("scan", "--output", "json", env=catalog_env(catalog))
    assert result.code == 1
    [entry] = json.loads(result.stdout)["targets"]
    assert entry["status"] == "unreachable"
    assert entry["plan"]["action"] == "skip" and "connection refused" in entry["plan"]["reason"]
    assert entry["hint"]
    assert catalog.calls("PUT") == []


def test_without_catalog_runs_and_registers_nothing(tmp_path, run_cli, web):
    write_config(tmp_path / "config.toml", web.url)
    result = run_cli("scan", "--output", "json")
    assert result.code == 0, result.stderr
    [entry] = json.loads(result.stdout)["targets"]
    assert entry["status"] == "ok" and entry["taken"] == "not registered (no catalog)"


def test_catalog_500_is_one_line_and_exit_1(tmp_path, run_cli, web, catalog):
    write_config(tmp_path / "config.toml", web.url)
    catalog.inject(status=500, times=None, method="PUT", body={"code": 500, "message": "database is on fire"})
    result = run_cli("scan", env=catalog_env(catalog))
    assert result.code == 1
    assert "catalog PUT /api/v1/services/dashboardServices -> 500: database is on fire" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_catalog_unreachable_is_one_line(tmp_path, run_cli, web, closed_port):
    write_config(tmp_path / "config.toml", web.url)
    env = {"OPENMETADATA_HOST": f"http://127.0.0.1:{closed_port}", "OPENMETADATA_JWT_TOKEN": "t0ken-xyz"}
    result = run_cli("scan", env=env)
    assert result.code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [f"scanner: error: catalog http://127.0.0.1:{closed_port} unreachable: connection refused"]


def test_bad_token_is_reported(tmp_path, run_cli, web, catalog):
    write_config(tmp_path / "config.toml", web.url)
    result = run_cli("scan", env=catalog_env(catalog, "not-a-token"))
    assert result.code == 1
    assert "401" in result.stderr and "not-a-token" not in result.stderr + result.stdout


def test_retries_503_with_retry_after_then_registers(tmp_path, run_cli, web, catalog):
    write_config(tmp_path / "config.toml", web.url)
    catalog.inject(status=503, times=2, method="PUT", headers={"Retry-After": "0"})
    result = run_cli("scan", "--output", "json", env=catalog_env(catalog))
    assert result.code == 0, result.stderr
    assert [c.status for c in catalog.calls("PUT")] == [503, 503, 201]
    assert len(catalog.services) == 1


def test_bulk_used_when_server_has_it(tmp_path, run_cli, web):
    lines = []
    for name in ("a", "b", "c"):
        lines += ["[[targets]]", 'platform = "custom"', f'instance = "{name}"', f'url = "{web.url}/{name}"']
    (tmp_path / "config.toml").write_text("\n".join(lines) + "\n")
    with FakeOpenMetadata(bot_token=BOT_TOKEN, bulk=True) as fake:
        result = run_cli("scan", "--output", "json", env=catalog_env(fake))
        assert result.code == 0, result.stderr
        # the first two writes ask /bulk (as a batch of 2); later ones go in batches of up to 100
        assert [(c.path, len(c.json)) for c in fake.calls("PUT")] == [
            ("/api/v1/services/dashboardServices/bulk", 2), ("/api/v1/services/dashboardServices/bulk", 1)]
        assert sorted(fake.services) == ["custom_a", "custom_b", "custom_c"]
    assert {e["taken"] for e in json.loads(result.stdout)["targets"]} == {"created"}


def test_bulk_absent_falls_back_to_one_put_each(tmp_path, run_cli, web, catalog):
    lines = []
    for name in ("a", "b"):
        lines += ["[[targets]]", 'platform = "custom"', f'instance = "{name}"', f'url = "{web.url}/{name}"']
    (tmp_path / "config.toml").write_text("\n".join(lines) + "\n")
    result = run_cli("scan", env=catalog_env(catalog))
    assert result.code == 0, result.stderr
    puts = catalog.calls("PUT")
    assert puts[0].path.endswith("/bulk") and puts[0].status == 405
    assert sorted(p.status for p in puts[1:]) == [201, 201]


def test_owners_and_tags_from_config_are_resolved(tmp_path, run_cli, web, catalog):
    catalog.add_team("data-platform")
    write_config(tmp_path / "config.toml", web.url, owners='["team:data-platform"]', tags='["Tier.Tier2"]')
    result = run_cli("scan", env=catalog_env(catalog))
    assert result.code == 0, result.stdout + result.stderr
    [put] = catalog.calls("PUT")
    validate(put.json)
    stored = catalog.services["custom_ops"]
    assert [o["name"] for o in stored["owners"]] == ["data-platform"]
    assert [t["tagFQN"] for t in stored["tags"]] == ["Tier.Tier2"]


def test_unknown_owner_fails_that_target_only(tmp_path, run_cli, web, catalog):
    write_config(tmp_path / "config.toml", web.url, owners='["user:nobody"]')
    result = run_cli("scan", "--output", "json", env=catalog_env(catalog))
    assert result.code == 1
    [entry] = json.loads(result.stdout)["targets"]
    assert entry["taken"] == "failed" and "owner 'user:nobody' does not exist" in entry["error"]
