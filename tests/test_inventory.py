"""The inventory end to end, through the `scanner` command: drift over runs, concurrency, secrets."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import catalog_env

from scanner.testing.fake_looker import FakeLooker, LookerApiUser
from scanner.testing.fake_superset import FakeSuperset, FakeUser
from scanner.testing.fake_tableau import FakeTableau
from scanner.testing.server import LocalServer, Request, Response


def custom_targets(path: Path, urls: dict[str, str]) -> Path:
    blocks = [f'[[targets]]\nplatform = "custom"\ninstance = "{name}"\nurl = "{url}"\n' for name, url in urls.items()]
    path.write_text("\n".join(blocks))
    return path


def scan(run_cli, inv: Path, *args: str, env: dict | None = None):
    result = run_cli("scan", "--output", "json", "--inventory", str(inv), *args, env=env)
    report = json.loads(result.stdout) if result.stdout.strip() else None
    return result, report


def drift(report) -> list[tuple[str, str]]:
    return [(d["service_name"], d["kind"]) for d in report["drift"]]


def db_rows(inv: Path, query: str) -> list[tuple]:
    with sqlite3.connect(inv) as db:
        return db.execute(query).fetchall()


def test_a_target_that_disappears_is_gone_after_three_runs_and_recovered_when_back(run_cli, tmp_path, web):
    inv = tmp_path / "inv.sqlite3"
    both = {"a": web.url, "b": web.url + "/b"}
    custom_targets(tmp_path / "config.toml", both)
    _, report = scan(run_cli, inv)
    assert sorted(drift(report)) == [("custom_a", "new"), ("custom_b", "new")]

    custom_targets(tmp_path / "config.toml", {"a": web.url})
    for expected in ([], [], [("custom_b", "gone")], []):
        result, report = scan(run_cli, inv)
        assert result.code == 0, result.stderr
        assert drift(report) == expected

    custom_targets(tmp_path / "config.toml", both)
    result, report = scan(run_cli, inv)
    assert drift(report) == [("custom_b", "recovered")]
    table = run_cli("scan", "--inventory", str(inv))
    assert "No change since the last run" in table.stdout, table.stderr

    listing = json.loads(run_cli("inventory", "--inventory", str(inv), "--output", "json").stdout)
    assert {t["service_name"]: t["state"] for t in listing["targets"]} == {"custom_a": "present", "custom_b": "present"}
    history = json.loads(run_cli("history", "custom_b", "--inventory", str(inv), "--output", "json").stdout)
    kinds = [[e["kind"] for e in entry["events"]] for entry in history["timeline"]]
    assert kinds == [["new"], [], [], ["gone"], [], ["recovered"], []]
    assert [entry["seen"] for entry in history["timeline"]] == [True, False, False, False, False, True, True]


def test_a_version_change_is_reported_as_changed(run_cli, tmp_path):
    inv = tmp_path / "inv.sqlite3"
    with FakeSuperset(version="6.0.0", users={"admin": FakeUser("pw-0a1b2c")}) as superset:
        env = {"SUPERSET_URL": superset.url, "SUPERSET_USERNAME": "admin", "SUPERSET_PASSWORD": "pw-0a1b2c"}
        scan(run_cli, inv, env=env)
        superset.version = "6.1.0"
        result, report = scan(run_cli, inv, env=env)
    assert result.code == 0, result.stderr
    [event] = report["drift"]
    assert event["kind"] == "changed" and event["detail"] == {"version": ["6.0.0", "6.1.0"]}
    table = run_cli("history", event["service_name"], "--inventory", str(inv)).stdout
    assert "version 6.0.0 → 6.1.0" in table


def test_a_changed_secret_is_a_config_change_without_the_secret_being_stored(run_cli, tmp_path):
    inv = tmp_path / "inv.sqlite3"
    users = {"admin": FakeUser("first-pw-77aa"), "other": FakeUser("second-pw-88bb")}
    with FakeSuperset(users=users) as superset:
        env = {"SUPERSET_URL": superset.url, "SUPERSET_USERNAME": "admin", "SUPERSET_PASSWORD": "first-pw-77aa"}
        scan(run_cli, inv, env=env)
        superset.users["admin"] = FakeUser("rotated-pw-99cc")
        _, report = scan(run_cli, inv, env={**env, "SUPERSET_PASSWORD": "rotated-pw-99cc"})
    assert report["drift"] == [{"service_name": report["targets"][0]["service_name"], "kind": "changed",
                                "detail": {"config": True}}]


def test_two_concurrent_runs_are_both_recorded(tmp_path):
    def slow(request: Request) -> Response:
        time.sleep(0.6)
        return Response(200, b"ok")

    inv = tmp_path / "inv.sqlite3"
    with LocalServer(slow) as server:
        custom_targets(tmp_path / "config.toml", {f"t{i}": f"{server.url}/{i}" for i in range(4)})
        env = {"PATH": "", "NO_COLOR": "1", "XDG_STATE_HOME": str(tmp_path / "state")}
        cmd = [sys.executable, "-m", "scanner", "scan", "--output", "json", "--inventory", str(inv)]
        procs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outputs]
    runs = db_rows(inv, "SELECT id, state, started_at, finished_at FROM runs ORDER BY id")
    assert [r[1] for r in runs] == ["finished", "finished"]
    assert db_rows(inv, "SELECT run_id, COUNT(*) FROM observations GROUP BY run_id ORDER BY run_id") == [
        (runs[0][0], 4), (runs[1][0], 4)]
    reports = [json.loads(o[0]) for o in outputs]
    news = sorted(len([d for d in r["drift"] if d["kind"] == "new"]) for r in reports)
    assert news == [0, 4]  # serialised: the second run saw the first one's targets
    assert db_rows(inv, "SELECT COUNT(*) FROM events") == [(4,)]
    assert db_rows(inv, "PRAGMA integrity_check") == [("ok",)]


def test_runs_starting_together_share_one_whole_key(tmp_path):
    """The key is made by whichever run starts first; a run starting in the same instant must read the whole
    key, never an empty or half-written file (a race CI once lost)."""
    inv = tmp_path / "inv.sqlite3"
    code = ("import sys, time; from pathlib import Path; from scanner.inventory.store import Inventory\n"
            "while time.time() < float(sys.argv[2]): pass\n"  # all imported, then all at once
            "print(Inventory._load_key(Path(sys.argv[1])).hex())")
    start = str(time.time() + 3)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(inv), start], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(12)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 12, [o[1] for o in outputs]
    keys = {o[0].strip() for o in outputs}
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inv.sqlite3.key"]  # no temporary file left behind


def test_the_inventory_holds_no_secret(run_cli, tmp_path, catalog):
    inv = tmp_path / "inv.sqlite3"
    secrets = {"superset": "canary-superset-41f0", "looker": "canary-looker-9d2e", "tableau": "canary-tableau-6b7c",
               "wrong": "canary-wrong-3a5d"}
    with FakeSuperset(users={"admin": FakeUser(secrets["superset"])}) as superset, \
            FakeLooker(clients={"cid": LookerApiUser(secrets["looker"])}) as looker, \
            FakeTableau(tokens={"pat": secrets["tableau"]}) as tableau:
        env = {
            **catalog_env(catalog),
            "SUPERSET_URL": superset.url, "SUPERSET_USERNAME": "admin", "SUPERSET_PASSWORD": secrets["superset"],
            "LOOKERSDK_BASE_URL": looker.url, "LOOKERSDK_CLIENT_ID": "cid", "LOOKERSDK_CLIENT_SECRET": secrets["looker"],
            "LOOKERSDK_BASE_URL__BAD": looker.url, "LOOKERSDK_CLIENT_ID__BAD": "cid",
            "LOOKERSDK_CLIENT_SECRET__BAD": secrets["wrong"],
            "TABLEAU_URL": tableau.url, "TABLEAU_TOKEN_NAME": "pat", "TABLEAU_TOKEN_SECRET": secrets["tableau"],
        }
        for _ in range(2):
            result, report = scan(run_cli, inv, env=env)
    assert result.code == 1  # the wrong secret fails; the others are registered
    assert sorted(name.split("_")[0] for name in catalog.services) == ["looker", "superset", "tableau"]
    files = [p for p in tmp_path.iterdir() if p.name.startswith("inv.sqlite3")]
    assert {p.name for p in files} >= {"inv.sqlite3", "inv.sqlite3.key"}
    blob = b"".join(p.read_bytes() for p in files)
    assert len(blob) > 10_000
    for value in [*secrets.values(), "bot-token-7f3a9c"]:
        assert value.encode() not in blob, value
    assert (tmp_path / "inv.sqlite3.key").stat().st_mode & 0o077 == 0


def test_a_failed_run_is_recorded_and_keeps_the_last_good_state(run_cli, tmp_path, web, closed_port):
    inv = tmp_path / "inv.sqlite3"
    custom_targets(tmp_path / "config.toml", {"a": web.url})
    scan(run_cli, inv)
    env = {"OPENMETADATA_HOST": f"http://127.0.0.1:{closed_port}", "OPENMETADATA_JWT_TOKEN": "t-0000"}
    result = run_cli("scan", "--inventory", str(inv), env=env)
    assert result.code == 1 and "unreachable" in result.stderr and "Traceback" not in result.stderr
    assert db_rows(inv, "SELECT state FROM runs ORDER BY id") == [("finished",), ("failed",)]
    assert "unreachable" in db_rows(inv, "SELECT error FROM runs WHERE state='failed'")[0][0]
    assert db_rows(inv, "SELECT service_name, last_seen_run, missing_runs FROM targets") == [("custom_a", 1, 0)]


def test_inventory_commands_explain_a_missing_inventory_or_service(run_cli, tmp_path, web):
    inv = tmp_path / "inv.sqlite3"
    result = run_cli("inventory", "--inventory", str(inv))
    assert result.code == 2 and "no inventory yet" in result.stderr
    custom_targets(tmp_path / "config.toml", {"a": web.url})
    scan(run_cli, inv)
    result = run_cli("history", "custom_b", "--inventory", str(inv))
    assert result.code == 2 and "did you mean 'custom_a'?" in result.stderr


def test_default_inventory_follows_xdg_state_home(run_cli, tmp_path, web):
    custom_targets(tmp_path / "config.toml", {"a": web.url})
    result = run_cli("scan", "--output", "json")
    assert result.code == 0, result.stderr
    expected = tmp_path / "state" / "scanner" / "inventory.sqlite3"  # run_cli sets XDG_STATE_HOME
    assert json.loads(result.stdout)["inventory"]["path"] == str(expected) and expected.is_file()
    assert run_cli("scan", "--no-inventory", "--output", "json").stdout.count('"inventory": null') == 1


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_bad_gone_after_is_a_config_error(run_cli, value):
    result = run_cli("scan", env={"SCANNER_GONE_AFTER": value})
    assert result.code == 2 and "SCANNER_GONE_AFTER" in result.stderr


def test_an_inventory_of_schema_1_gains_the_origin_column(tmp_path):
    """Inventories written before discovery (schema 1) open as they are: the origin and pipeline columns are added,
    nothing lost."""
    from scanner.inventory.store import _SCHEMA, Inventory

    path = tmp_path / "old.sqlite3"
    old = _SCHEMA.replace("    pruned_at TEXT,\n    pipeline TEXT ", "    pruned_at TEXT ")
    assert old != _SCHEMA
    with sqlite3.connect(path) as db:
        for statement in old.split(";"):
            line = "\n".join(x for x in statement.splitlines() if "origin TEXT" not in x)
            if line.strip():
                db.execute(line)
        db.execute("INSERT INTO runs (started_at, state, settings_fingerprint, platforms, dry_run) "
                   "VALUES ('2026-11-01T00:00:00+00:00', 'finished', 'x', '[]', 0)")
        db.execute("PRAGMA user_version=1")
    assert "origin" not in {r[1] for r in db_rows(path, "PRAGMA table_info(observations)")}
    assert "pipeline" not in {r[1] for r in db_rows(path, "PRAGMA table_info(targets)")}
    Inventory.open(path).close()
    assert "origin" in {r[1] for r in db_rows(path, "PRAGMA table_info(observations)")}
    assert "pipeline" in {r[1] for r in db_rows(path, "PRAGMA table_info(targets)")}
    assert db_rows(path, "PRAGMA user_version") == [(3,)] and db_rows(path, "SELECT COUNT(*) FROM runs") == [(1,)]
