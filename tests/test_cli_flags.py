"""Flags checked when they are parsed, `--quiet` under `--every`, `discover`'s exit code, and the help texts that
name a default (QA: input F2 and F7.6, docs 10 and 12)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from test_watch import finished_runs, start, wait_for

from scanner.cli import MAX_EVERY_S, _duration, _jitter
from scanner.testing.server import LocalServer, Request, Response


@pytest.mark.parametrize(("flags", "flag"), [
    (("--every", "99999999999h"), "--every"),  # ended in OverflowError after a full run
    (("--every", "8761h"), "--every"),
    (("--every", "9" * 400), "--every"),
    (("--every", "²"), "--every"),
    (("--every", "1m", "--jitter", "nan"), "--jitter"),  # ended in ValueError after a full run
    (("--every", "1m", "--jitter", "inf"), "--jitter"),
    (("--every", "1m", "--jitter", "2"), "--jitter"),  # was clamped to 0.5 without a word
    (("--every", "1m", "--jitter", "-0.5"), "--jitter"),
    (("--every", "1m", "--jitter", "0.5000001"), "--jitter"),
    (("--every", "1m", "--jitter", "a lot"), "--jitter"),
    (("--jitter", "0.2"), "--jitter"),  # without --every: was ignored, and the scan ran once
])
def test_a_bad_every_or_jitter_is_a_usage_error_before_any_run(run_cli, tmp_path: Path, web, flags, flag):
    (tmp_path / "config.toml").write_text(f'[[targets]]\nplatform = "custom"\ninstance = "a"\nurl = "{web.url}"\n')
    result = run_cli("scan", "-q", *flags, timeout=30)
    assert result.code == 2, (result.stdout, result.stderr)
    assert result.stdout == "" and not (tmp_path / "state").exists()  # nothing ran, nothing was recorded
    [line] = result.stderr.splitlines()
    assert line.startswith(f"scanner: error: argument {flag}: ") and len(line) < 200, line
    if flags[0] == "--jitter":
        assert "only with --every" in line


def test_the_limits_themselves_are_accepted():
    assert _duration("8760h") == MAX_EVERY_S == 365 * 24 * 3600 and _duration(str(MAX_EVERY_S)) == MAX_EVERY_S
    assert _duration("1s") == 1 and _duration("1h30m") == 5400 and _duration("2.5") == 2.5
    assert _jitter("0") == 0 and _jitter("0.5") == 0.5 and _jitter("1e-3") == 0.001


def test_run_every_refuses_what_the_parser_refuses():
    from scanner.watch import run_every

    for interval, jitter in ((60, float("nan")), (60, 2.0), (float("inf"), 0.1), (0, 0.1)):
        with pytest.raises(ValueError):
            run_every(interval, jitter, lambda _: 0, first_settings=None, reload=lambda: None)


def test_help_states_the_ranges_and_the_exit_code_of_the_loop(run_cli):
    text = " ".join(run_cli("scan", "--help").stdout.split())
    assert "1s to 365 days" in text and "from 0 to 0.5 (default 0.1)" in text and "with --every" in text
    assert "then exit 0" in text


def test_quiet_under_every_prints_nothing_on_stderr_when_all_goes_well(tmp_path: Path, web):
    inv = tmp_path / "inv.sqlite3"
    proc = start(tmp_path, web.url, "-q", "--every", "1s", "--jitter", "0")
    try:
        wait_for(lambda: finished_runs(inv).count("finished") >= 2)
        time.sleep(0.3)  # between runs
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0 and err == ""  # was "next run at ..." per run, then "stopped"
    assert out.count("1 target(s): ok 1") == len(finished_runs(inv)) >= 2


def test_quiet_under_every_still_shows_errors(tmp_path: Path, web, closed_port):
    inv = tmp_path / "inv.sqlite3"
    (tmp_path / ".env").write_text(f"OPENMETADATA_HOST=http://127.0.0.1:{closed_port}\nOPENMETADATA_JWT_TOKEN=t-1\n")
    proc = start(tmp_path, web.url, "-q", "--every", "1s", "--jitter", "0")
    try:
        wait_for(lambda: finished_runs(inv).count("failed") >= 2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert err.count("run failed") >= 2 and "next run at" not in err and "stopped" not in err


def test_quiet_under_every_does_not_narrate_a_signal_during_a_run(tmp_path: Path):
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response(200, b"ok")

    inv = tmp_path / "inv.sqlite3"
    with LocalServer(slow) as server:
        proc = start(tmp_path, server.url, "-q", "--every", "30s")
        try:
            wait_for(lambda: finished_runs(inv) == ["running"])
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=15)
        finally:
            proc.kill()
    assert proc.returncode == 0 and err == "", err  # the run was let finish, without "stopping after ..."
    assert finished_runs(inv) == ["finished"] and "1 target(s): ok 1" in out


BAD_INPUT = [
    ({"config.toml": '[[targets]]\nplatform = "supersett"\nurl = "http://127.0.0.1:9"\n'}, {},
     "config.toml:[[targets]]#1.platform"),
    ({}, {"SUPERSET_URL__B": "nope"}, "env:SUPERSET_URL__B"),
    ({"config.toml": '[[credentials]]\nplatform = "grafna"\nhosts = ["127.0.0.1"]\n'}, {},
     "config.toml:[[credentials]]#1.platform"),
]


@pytest.mark.parametrize(("files", "env", "origin"), BAD_INPUT)
def test_discover_exits_1_when_it_lists_a_problem_in_the_users_settings(run_cli, tmp_path: Path, files, env, origin):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    found = run_cli("discover", "--output", "json", env=env)
    assert found.code == 1, found.stderr  # was 0
    assert [p["origin"] for p in json.loads(found.stdout)["problems"]] == [origin]
    table = run_cli("discover", env=env)
    assert table.code == 1 and f"! {origin}" in table.stdout, table.stdout
    if "[[credentials]]" not in origin:  # the same input fails scan too (a bad [[credentials]] table stops it: 2)
        assert run_cli("scan", "--dry-run", env=env).code == 1


def test_discover_exits_0_when_nothing_listed_comes_from_the_users_settings(run_cli, tmp_path: Path, web):
    """A valid declared target, and a third-party source that cannot load (listed as a problem: an install
    matter, not the user's settings; `scan` does not fail for it either)."""
    site = tmp_path / "site"
    info = site / "acme_broken-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "acme_broken.py").write_text("import no_such_dependency_xyz\n")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme_broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[scanner.sources]\nbroken = acme_broken:source\n")
    (tmp_path / "config.toml").write_text(f'[[targets]]\nplatform = "custom"\ninstance = "a"\nurl = "{web.url}"\n')
    result = run_cli("discover", "--output", "json", env={"PYTHONPATH": str(site)})
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [p["origin"] for p in doc["problems"]] == ["source broken"]
    assert [c["origin"] for c in doc["candidates"]] == ["config.toml:[[targets]]#1"]


def test_discover_help_lists_its_exit_codes(run_cli):
    text = " ".join(run_cli("discover", "--help").stdout.split())
    assert "exit codes:" in text and "1 a problem in your own settings is listed" in text
    assert "[[credentials]] table that cannot be used" in text


def test_help_texts_name_the_real_defaults(run_cli):
    demo = " ".join(run_cli("demo", "--help").stdout.split())
    assert "Superset URL that is really Tableau" in demo and "Redash URL that is really Metabase" in demo
    for args in (("--help",), ("scan", "--help")):
        text = run_cli(*args).stdout
        assert "$XDG_STATE_HOME/scanner/inventory.sqlite3" in text and "~/.local/state/scanner/inventory" not in text
