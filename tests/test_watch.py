"""`scanner scan --every`: periodic runs, each recorded, and a clean stop on SIGTERM / SIGINT."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scanner.testing.server import LocalServer, Request, Response


def finished_runs(inv: Path) -> list[str]:
    if not inv.exists():
        return []
    try:
        with sqlite3.connect(inv) as db:
            return [row[0] for row in db.execute("SELECT state FROM runs ORDER BY id")]
    except sqlite3.OperationalError:  # created but its schema not written yet
        return []


def start(tmp_path: Path, url: str, *args: str) -> subprocess.Popen:
    (tmp_path / "config.toml").write_text(f'[[targets]]\nplatform = "custom"\ninstance = "a"\nurl = "{url}"\n')
    env = {"PATH": "", "NO_COLOR": "1", "XDG_STATE_HOME": str(tmp_path / "state")}
    cmd = [sys.executable, "-m", "scanner", "scan", "--inventory", str(tmp_path / "inv.sqlite3"), *args]
    return subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_runs_every_interval_and_stops_cleanly_between_runs(tmp_path, web, sig):
    inv = tmp_path / "inv.sqlite3"
    proc = start(tmp_path, web.url, "--every", "1s", "--jitter", "0")
    try:
        wait_for(lambda: finished_runs(inv).count("finished") >= 2)
        time.sleep(0.3)  # between runs now (a run takes a few ms, the wait is 1 s)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in err and "next run at" in err and "Traceback" not in err
    states = finished_runs(inv)
    assert len(states) >= 2 and set(states) == {"finished"}  # no run left half-done
    assert out.count("1 target(s): ok 1") == len(states)


def test_a_signal_during_a_run_lets_it_finish_first(tmp_path):
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response(200, b"ok")

    inv = tmp_path / "inv.sqlite3"
    with LocalServer(slow) as server:
        proc = start(tmp_path, server.url, "--every", "30s")
        try:
            wait_for(lambda: finished_runs(inv) == ["running"])
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=15)
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopping after the current run" in err
    assert finished_runs(inv) == ["finished"] and "1 target(s): ok 1" in out


def test_json_output_is_one_line_per_run(tmp_path, web):
    import json

    inv = tmp_path / "inv.sqlite3"
    proc = start(tmp_path, web.url, "--every", "1s", "--jitter", "0", "--output", "json")
    try:
        wait_for(lambda: finished_runs(inv).count("finished") >= 2)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    lines = out.splitlines()
    assert len(lines) == len(finished_runs(inv)) >= 2, err
    assert [json.loads(line)["inventory"]["run_id"] for line in lines] == list(range(1, len(lines) + 1))


def test_a_failing_run_does_not_stop_the_loop(tmp_path, web, closed_port):
    inv = tmp_path / "inv.sqlite3"
    (tmp_path / ".env").write_text(f"OPENMETADATA_HOST=http://127.0.0.1:{closed_port}\nOPENMETADATA_JWT_TOKEN=t-1\n")
    proc = start(tmp_path, web.url, "--every", "1s", "--jitter", "0")
    try:
        wait_for(lambda: finished_runs(inv).count("failed") >= 2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert err.count("run failed") >= 2 and "the last good state is kept" in err


@pytest.mark.parametrize("value", ["0s", "soon", "-5"])
def test_bad_interval_is_a_usage_error(run_cli, value):
    result = run_cli("scan", "--every", value)
    assert result.code == 2 and "--every" in result.stderr
