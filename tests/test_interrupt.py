"""Ctrl-C and SIGTERM during a one-shot scan: the partial report within a couple of seconds, the writes made
so far recorded, exit 130; a second signal exits at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from conftest import catalog_env

from scanner.testing.server import LocalServer, Request, Response


@pytest.fixture
def slow():
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(60)
        return Response(200, b"late", {"Content-Type": "text/html"})

    with LocalServer(hang) as server:
        yield server
        release.set()


def start(tmp_path, catalog, web, slow) -> subprocess.Popen:
    config = tmp_path / "config.toml"
    config.write_text("".join(f'[[targets]]\nplatform = "custom"\nname = "custom_{name}"\nurl = "{url}"\n'
                              for name, url in (("a", web.url + "/a"), ("b", web.url + "/b"), ("slow", slow.url))))
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV")}
    env.update({**catalog_env(catalog), "NO_COLOR": "1"})
    proc = subprocess.Popen([sys.executable, "-m", "scanner", "scan", "--config", str(config), "--inventory",
                             str(tmp_path / "inv.sqlite3"), "--timeout", "60", "--output", "json"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(catalog.services) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(catalog.services) == ["custom_a", "custom_b"]
    time.sleep(0.3)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_first_signal_prints_the_partial_report_and_keeps_the_writes(sig, tmp_path, catalog, web, slow):
    proc = start(tmp_path, catalog, web, slow)
    t0 = time.monotonic()
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    took = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert took < 3, f"took {took:.1f}s to stop"
    assert f"{sig.name}: stopping" in err and "Traceback" not in err
    report = json.loads(out)
    assert report["run"]["interrupted"] is True
    by = {t["service_name"]: t for t in report["targets"]}
    assert (by["custom_a"]["taken"], by["custom_b"]["taken"]) == ("created", "created")
    assert by["custom_slow"]["status"] == "error" and "interrupted" in by["custom_slow"]["message"]
    db = sqlite3.connect(tmp_path / "inv.sqlite3")
    writes = db.execute("SELECT service_name FROM writes ORDER BY service_name").fetchall()
    runs = db.execute("SELECT state, exit_code FROM runs").fetchall()
    db.close()
    assert writes == [("custom_a",), ("custom_b",)]
    assert runs == [("interrupted", 130)]


def test_a_second_signal_exits_at_once(tmp_path, catalog, web, slow):
    proc = start(tmp_path, catalog, web, slow)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "stopping" in err and "SIGINT again: exiting now" in err
