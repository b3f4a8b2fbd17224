"""Never lose a write: each catalog write is recorded as it happens, and an inventory that is locked or
damaged at the end of a run keeps neither the report nor the writes from the user."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

from conftest import catalog_env

from scanner.testing.server import LocalServer, Request, Response


def write_target(path, url: str) -> None:
    path.write_text(f'[[targets]]\nplatform = "custom"\nname = "custom_held"\nurl = "{url}"\n')


def test_a_locked_inventory_keeps_the_report_and_the_writes(tmp_path, run_cli, catalog):
    inventory = tmp_path / "inv.sqlite3"
    holder: dict[str, sqlite3.Connection] = {}
    lock = threading.Lock()

    def app(request: Request) -> Response:
        with lock:  # another process takes the inventory while this run probes, and holds it to the end
            if "db" not in holder:
                db = sqlite3.connect(inventory, isolation_level=None, check_same_thread=False)
                db.execute("BEGIN EXCLUSIVE")
                holder["db"] = db
        return Response(200, b"<html>ok</html>", {"Content-Type": "text/html"})

    config = tmp_path / "config.toml"
    env = {**catalog_env(catalog), "SCANNER_INVENTORY_BUSY_TIMEOUT": "0.3"}
    with LocalServer(app) as server:
        write_target(config, server.url)
        result = run_cli("scan", "--config", str(config), "--inventory", str(inventory), "--output", "json", env=env)
        holder["db"].execute("ROLLBACK")
        holder["db"].close()

        assert result.code == 1, result.stderr
        report = json.loads(result.stdout)  # the whole report, although the inventory refused the run
        assert [(t["service_name"], t["taken"]) for t in report["targets"]] == [("custom_held", "created")]
        assert "custom_held" in catalog.services
        error = report["inventory"]["error"]
        assert "could not record this run" in error and "database is locked" in error
        journal = tmp_path / "inv.sqlite3.pending.jsonl"
        assert str(journal) in error and "recorded by the next run" in error
        [kept] = [json.loads(line) for line in journal.read_text().splitlines()]
        assert (kept["service_name"], kept["taken"], kept["catalog_host"]) == ("custom_held", "created", catalog.url)
        table = run_cli("scan", "--config", str(config), "--inventory", str(inventory), "--dry-run", env=env)
        assert "Traceback" not in table.stderr

        # the inventory is free again: the next run records the kept write, and the service is scanner's
        again = run_cli("scan", "--config", str(config), "--inventory", str(inventory), "--output", "json", env=env)
    assert again.code == 0, again.stderr
    assert not journal.exists()
    listed = json.loads(run_cli("inventory", "--inventory", str(inventory), "--output", "json").stdout)
    [target] = [t for t in listed["targets"] if t["service_name"] == "custom_held"]
    assert target["registered_in"] == catalog.url


def test_a_write_before_kill_9_is_already_recorded(tmp_path, catalog, web, run_cli):
    """kill -9 after two services were written and while another target still hangs: the write is in the
    inventory, so the next run knows the service as scanner's."""
    inventory = tmp_path / "inv.sqlite3"
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(30)
        return Response(200, b"late", {"Content-Type": "text/html"})

    with LocalServer(hang) as slow:
        config = tmp_path / "config.toml"
        config.write_text("".join(f'[[targets]]\nplatform = "custom"\nname = "custom_{name}"\nurl = "{url}"\n'
                                  for name, url in (("fast", web.url), ("quick", web.url + "/q"),
                                                    ("slow", slow.url))))
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV")}
        env.update({**catalog_env(catalog), "NO_COLOR": "1"})
        proc = subprocess.Popen([sys.executable, "-m", "scanner", "scan", "--config", str(config), "--inventory",
                                 str(inventory), "--timeout", "30"], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while len(catalog.services) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sorted(catalog.services) == ["custom_fast", "custom_quick"]
            time.sleep(0.3)  # the write's answer is in; its record follows at once
        finally:
            proc.kill()
            proc.wait(10)
            release.set()
    db = sqlite3.connect(inventory)
    rows = db.execute("SELECT service_name, catalog_host, taken FROM writes ORDER BY service_name").fetchall()
    state = db.execute("SELECT state FROM runs").fetchall()
    db.close()
    assert rows == [("custom_fast", catalog.url, "created"), ("custom_quick", catalog.url, "created")]
    assert state == [("running",)]  # the run itself never got to record its end

    # so the next run knows them as scanner's: one that moved is updated, not a conflict
    config = tmp_path / "moved.toml"
    config.write_text(f'[[targets]]\nplatform = "custom"\nname = "custom_fast"\nurl = "{web.url}/moved"\n')
    result = run_cli("scan", "--config", str(config), "--inventory", str(inventory), "--output", "json",
                     env=catalog_env(catalog))
    assert result.code == 0, result.stderr
    assert [t["taken"] for t in json.loads(result.stdout)["targets"]] == ["updated"]


def test_writes_recorded_at_once_by_many_threads_are_all_committed_in_few_transactions(tmp_path):
    """The write journal: 64 registration threads hand their writes over at the same moment and go on; one
    writer commits them, several per transaction; after flush() every one is in the inventory."""
    import sqlite3
    import threading
    from types import SimpleNamespace

    from scanner.inventory.store import Inventory
    from scanner.runner import _WriteJournal

    inventory = Inventory.open(tmp_path / "inv.sqlite3")
    transactions = []
    real = inventory.record_writes

    def counting(rows):
        transactions.append(len(rows))
        return real(rows)

    inventory.record_writes = counting
    journal = _WriteJournal(inventory, 1, "http://catalog")
    start = threading.Barrier(64)

    def record(n: int) -> None:
        start.wait()
        journal.record(SimpleNamespace(taken="created", target=SimpleNamespace(service_name=f"svc_{n}")))

    threads = [threading.Thread(target=record, args=(n,)) for n in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.flush()
    inventory.close()
    with sqlite3.connect(tmp_path / "inv.sqlite3") as db:
        names = {row[0] for row in db.execute("SELECT service_name FROM writes")}
    assert names == {f"svc_{n}" for n in range(64)}
    assert sum(transactions) == 64 and len(transactions) < 64
    assert journal.unrecorded == []
