"""The inventory is scanner's own file: a view never creates or changes anything, and `scan` refuses a file that is
not a scanner inventory (another application's SQLite database, a file that is not SQLite) instead of migrating it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from scanner.testing.server import LocalServer, Request, Response


def custom_target(config: Path, url: str) -> Path:
    config.write_text(f'[[targets]]\nplatform = "custom"\ninstance = "a"\nurl = "{url}"\n')
    return config


def foreign_db(path: Path, *, wal: bool = False, user_version: int = 0) -> Path:
    """Another application's database: its own table and row, maybe in WAL mode, maybe with its own user_version."""
    db = sqlite3.connect(path)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE app_users (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO app_users (name) VALUES ('ada')")
    if user_version:
        db.execute(f"PRAGMA user_version={user_version}")
    db.commit()
    db.close()
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def one_line_refusal(result, path: Path, what: str) -> None:
    assert result.code == 2, (result.code, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert str(path) in result.stderr and what in result.stderr, result.stderr
    assert result.stdout == ""


@pytest.fixture
def counted():
    """A plain web server that counts the requests it gets (none must arrive when scan refuses the inventory)."""
    hits: list[str] = []

    def app(request: Request) -> Response:
        hits.append(request.path)
        return Response(200, b"<html>ok</html>", {"Content-Type": "text/html"})

    with LocalServer(app) as server:
        server.hits = hits
        yield server


@pytest.mark.parametrize("wal", [False, True], ids=["rollback-journal", "wal"])
def test_viewing_another_applications_database_changes_nothing(run_cli, tmp_path, wal):
    folder = tmp_path / "app"
    folder.mkdir()
    other = foreign_db(folder / "app.sqlite3", wal=wal)
    before = snapshot(folder)
    for args in (["inventory", "--output", "json"], ["inventory"], ["history", "custom_a"]):
        result = run_cli(*args, "--inventory", str(other))
        one_line_refusal(result, other, "not a scanner inventory: it holds other tables ('app_users')")
    assert snapshot(folder) == before  # no scanner table, no migration, no .key beside it
    with sqlite3.connect(other) as db:
        assert db.execute("SELECT name FROM app_users").fetchall() == [("ada",)]
    db.close()


def test_a_database_with_another_applications_user_version_is_not_taken_for_an_inventory(run_cli, tmp_path, counted):
    folder = tmp_path / "app"
    folder.mkdir()
    other = foreign_db(folder / "app.sqlite3", user_version=2)  # user_version alone does not make it scanner's
    before = snapshot(folder)
    one_line_refusal(run_cli("inventory", "--inventory", str(other)), other, "not a scanner inventory")
    config = custom_target(tmp_path / "config.toml", counted.url)
    one_line_refusal(run_cli("scan", "--config", str(config), "--inventory", str(other)), other,
                     "not a scanner inventory")
    assert snapshot(folder) == before and counted.hits == []


@pytest.mark.parametrize("content, what", [(b"", "the file is empty"),
                                          (b"id,name\n1,ada\n", "it is not a SQLite database")],
                         ids=["empty", "not-sqlite"])
def test_viewing_a_file_that_holds_no_inventory_changes_nothing(run_cli, tmp_path, content, what):
    folder = tmp_path / "inv"
    folder.mkdir()
    path = folder / "inventory.sqlite3"
    path.write_bytes(content)
    for args in (["inventory", "--output", "json"], ["history", "custom_a"]):
        one_line_refusal(run_cli(*args, "--inventory", str(path)), path, f"not a scanner inventory: {what}")
    assert snapshot(folder) == {"inventory.sqlite3": content}


@pytest.mark.parametrize("dry_run", [False, True], ids=["scan", "dry-run"])
def test_scan_refuses_another_applications_database_before_probing(run_cli, tmp_path, counted, dry_run):
    folder = tmp_path / "app"
    folder.mkdir()
    other = foreign_db(folder / "app.sqlite3", wal=True)
    before = snapshot(folder)
    config = custom_target(tmp_path / "config.toml", counted.url)
    result = run_cli("scan", "--config", str(config), "--inventory", str(other), "--output", "json",
                     *(["--dry-run"] if dry_run else []))
    one_line_refusal(result, other, "not a scanner inventory: it holds other tables ('app_users') and no scanner schema")
    assert counted.hits == []  # nothing probed
    assert snapshot(folder) == before  # not migrated, no key, no pending journal


def test_scan_refuses_another_applications_database_before_a_sweep_probes(run_cli, tmp_path, counted):
    folder = tmp_path / "app"
    folder.mkdir()
    other = foreign_db(folder / "app.sqlite3")
    before = snapshot(folder)
    port = counted.url.rsplit(":", 1)[1]
    (tmp_path / "config.toml").write_text(f"[discovery]\nhosts = ['127.0.0.1']\nports = [{port}]\n")
    result = run_cli("scan", "--inventory", str(other), "--output", "json")
    one_line_refusal(result, other, "not a scanner inventory")
    assert counted.hits == [] and snapshot(folder) == before


def test_scan_refuses_a_file_that_is_not_sqlite(run_cli, tmp_path, counted):
    folder = tmp_path / "inv"
    folder.mkdir()
    path = folder / "notes.txt"
    path.write_text("my notes\n")
    config = custom_target(tmp_path / "config.toml", counted.url)
    result = run_cli("scan", "--config", str(config), "--inventory", str(path))
    one_line_refusal(result, path, "not a scanner inventory: it is not a SQLite database")
    assert counted.hits == [] and snapshot(folder) == {"notes.txt": b"my notes\n"}


def test_scan_starts_an_inventory_in_an_empty_file(run_cli, tmp_path, counted):
    path = tmp_path / "inventory.sqlite3"
    path.touch()
    config = custom_target(tmp_path / "config.toml", counted.url)
    result = run_cli("scan", "--config", str(config), "--inventory", str(path), "--output", "json")
    assert result.code == 0, result.stderr
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (3,)
    listed = run_cli("inventory", "--inventory", str(path), "--output", "json")
    assert listed.code == 0, listed.stderr
    assert [t["service_name"] for t in json.loads(listed.stdout)["targets"]] == ["custom_a"]


def test_viewing_an_inventory_makes_no_key_and_writes_nothing(run_cli, tmp_path, counted):
    folder = tmp_path / "state"
    path = folder / "inventory.sqlite3"
    config = custom_target(tmp_path / "config.toml", counted.url)
    assert run_cli("scan", "--config", str(config), "--inventory", str(path)).code == 0
    (folder / "inventory.sqlite3.key").unlink()  # e.g. a copy of the database alone, to look at
    before = snapshot(folder)
    listed = run_cli("inventory", "--inventory", str(path), "--output", "json")
    assert listed.code == 0, listed.stderr
    assert [t["service_name"] for t in json.loads(listed.stdout)["targets"]] == ["custom_a"]
    history = run_cli("history", "custom_a", "--inventory", str(path), "--output", "json")
    assert history.code == 0, history.stderr
    assert snapshot(folder) == before


def old_inventory(path: Path) -> Path:
    """An inventory of schema 1 (before observations.origin and targets.pipeline), with one run and one target."""
    from scanner.inventory.store import _SCHEMA

    old = _SCHEMA.replace("    pruned_at TEXT,\n    pipeline TEXT ", "    pruned_at TEXT ")
    assert old != _SCHEMA
    with sqlite3.connect(path) as db:
        for statement in old.split(";"):
            line = "\n".join(x for x in statement.splitlines() if "origin TEXT" not in x)
            if line.strip():
                db.execute(line)
        at = "2026-11-01T00:00:00+00:00"
        db.execute("INSERT INTO runs (started_at, finished_at, state, settings_fingerprint, platforms, dry_run) "
                   f"VALUES ('{at}', '{at}', 'finished', 'x', '[\"custom\"]', 0)")
        db.execute("INSERT INTO observations (run_id, service_name, platform, instance, url, status, steps, action) "
                   "VALUES (1, 'custom_a', 'custom', 'a', 'http://127.0.0.1:9', 'ok', '[]', 'create')")
        db.execute("INSERT INTO targets (service_name, platform, url, status, state, first_seen_at, last_seen_at, "
                   f"last_seen_run) VALUES ('custom_a', 'custom', 'http://127.0.0.1:9', 'ok', 'present', '{at}', "
                   f"'{at}', 1)")
        db.execute("PRAGMA user_version=1")
    db.close()
    return path


def test_viewing_an_older_inventory_does_not_migrate_it_and_a_scan_still_does(run_cli, tmp_path, counted):
    folder = tmp_path / "state"
    folder.mkdir()
    path = old_inventory(folder / "inventory.sqlite3")
    before = snapshot(folder)
    listed = run_cli("inventory", "--inventory", str(path), "--output", "json")
    assert listed.code == 0, listed.stderr
    assert [t["service_name"] for t in json.loads(listed.stdout)["targets"]] == ["custom_a"]
    history = run_cli("history", "custom_a", "--inventory", str(path))
    assert history.code == 0 and "custom_a" in history.stdout, history.stderr
    assert snapshot(folder) == before  # still schema 1: no column added, user_version untouched, no key

    config = custom_target(tmp_path / "config.toml", counted.url)
    assert run_cli("scan", "--config", str(config), "--inventory", str(path)).code == 0
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (3,)
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (2,)
    assert (folder / "inventory.sqlite3.key").is_file()


def test_an_inventory_from_a_newer_scanner_is_refused_and_left_alone(run_cli, tmp_path, counted):
    folder = tmp_path / "state"
    folder.mkdir()
    path = old_inventory(folder / "inventory.sqlite3")
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    db.close()
    before = snapshot(folder)
    one_line_refusal(run_cli("inventory", "--inventory", str(path)), path, "inventory schema 99 is newer")
    config = custom_target(tmp_path / "config.toml", counted.url)
    one_line_refusal(run_cli("scan", "--config", str(config), "--inventory", str(path)), path,
                     "inventory schema 99 is newer")
    assert snapshot(folder) == before and counted.hits == []


def test_a_view_opens_read_only_and_a_scan_in_an_empty_database_starts_there(tmp_path):
    """The API: `Inventory(path, read_only=True)` refuses a blank database that `Inventory.open` initialises."""
    from scanner.errors import ConfigError
    from scanner.inventory.store import Inventory

    path = tmp_path / "blank.sqlite3"
    blank = sqlite3.connect(path)
    blank.execute("PRAGMA journal_mode=WAL")  # a SQLite header, no table at all
    blank.close()
    with pytest.raises(ConfigError, match="not a scanner inventory: the database is empty"):
        Inventory(path, read_only=True)
    assert not (tmp_path / "blank.sqlite3.key").exists()
    Inventory.open(path).close()
    view = Inventory(path, read_only=True)
    try:
        assert view.targets() == [] and view.runs() == []
        with pytest.raises(RuntimeError):
            view.config_hash({"x": 1})
    finally:
        view.close()


def test_check_usable_refuses_what_a_scan_must_not_touch_and_changes_nothing(tmp_path):
    """`check_usable` is what a run can call before it probes anything (a discovery sweep included)."""
    from scanner.errors import ConfigError
    from scanner.inventory.store import Inventory, check_usable

    folder = tmp_path / "f"
    folder.mkdir()
    other = foreign_db(folder / "app.sqlite3")
    (folder / "notes.txt").write_text("notes")
    (folder / "empty.sqlite3").touch()
    Inventory.open(folder / "own.sqlite3").close()
    before = snapshot(folder)
    with pytest.raises(ConfigError, match="it holds other tables"):
        check_usable(other)
    with pytest.raises(ConfigError, match="not a SQLite database"):
        check_usable(folder / "notes.txt")
    for fine in ("missing.sqlite3", "empty.sqlite3", "own.sqlite3"):
        check_usable(folder / fine)
    assert snapshot(folder) == before
