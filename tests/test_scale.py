"""Bounded time and politeness at scale: per-host cap, run deadline, hung targets, live progress."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from scanner.plugin import ProbeResult, ServiceMeta, Status, Target, TargetSettings
from scanner.progress import LiveProgress
from scanner.scan import interleave_by_host
from scanner.testing.server import LocalServer, Request, Response


def write_targets(path: Path, urls: list[str]) -> None:
    path.write_text("\n".join(f'[[targets]]\nplatform = "custom"\ninstance = "t{i}"\nurl = "{u}"\n'
                              for i, u in enumerate(urls)))


def by_name(stdout: str) -> dict[str, dict]:
    return {t["service_name"]: t for t in json.loads(stdout)["targets"]}


def test_per_host_cap_bounds_concurrent_probes_on_one_host(run_cli, tmp_path):
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def app(request: Request) -> Response:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.2)
        with lock:
            state["now"] -= 1
        return Response(200, b"ok")

    with LocalServer(app) as server:
        write_targets(tmp_path / "config.toml", [f"{server.url}/{i}" for i in range(12)])
        result = run_cli("scan", "--output", "json", "--no-inventory", "--concurrency", "12", "--per-host", "3")
    assert result.code == 0, result.stderr
    assert state["max"] == 3


def test_targets_are_queued_round_robin_across_hosts():
    def target(url: str) -> Target:
        return Target("custom", url, url, TargetSettings(url=url), {}, "test", ServiceMeta())

    urls = ["http://a:1/1", "http://a:1/2", "http://a:1/3", "http://b:1/1", "http://a:2/1", "http://b:1/2"]
    order = [t.url for t in interleave_by_host([target(u) for u in urls])]
    assert order == ["http://a:1/1", "http://b:1/1", "http://a:2/1", "http://a:1/2", "http://b:1/2", "http://a:1/3"]


def test_run_deadline_bounds_the_whole_run_and_is_named(run_cli, tmp_path):
    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response(200, b"ok")

    with LocalServer(slow) as server:
        write_targets(tmp_path / "config.toml", [f"{server.url}/{i}" for i in range(6)])
        started = time.monotonic()
        result = run_cli("scan", "--output", "json", "--no-inventory", "--concurrency", "2",
                         "--run-deadline", "1.5", "--target-deadline", "30")
        elapsed = time.monotonic() - started
    assert result.code == 1
    report = by_name(result.stdout)
    statuses = sorted(t["status"] for t in report.values())
    assert statuses == ["error", "error", "ok", "ok", "unreachable", "unreachable"]
    cut = [t["message"] for t in report.values() if t["status"] == "unreachable"]
    assert all("no answer within the run deadline (1.5s)" in m for m in cut), cut
    never = [t["message"] for t in report.values() if t["status"] == "error"]
    assert all("run deadline of 1.5s reached before this target was probed" in m for m in never), never
    assert report and json.loads(result.stdout)["run"]["duration_ms"] < 2500
    assert elapsed < 6


def test_hung_targets_end_unreachable_within_their_timeout(run_cli, tmp_path):
    with ExitStack() as stack:
        ports = []
        for _ in range(6):  # listening, never accepting: the kernel completes the handshake, nobody answers
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            sock.listen(16)
            ports.append(sock.getsockname()[1])
        write_targets(tmp_path / "config.toml", [f"http://127.0.0.1:{p}" for p in ports])
        result = run_cli("scan", "--output", "json", "--no-inventory", "--concurrency", "3", "--timeout", "1",
                         "--target-deadline", "1")
    report = json.loads(result.stdout)
    assert {t["status"] for t in report["targets"]} == {"unreachable"}
    assert all("no answer within" in t["message"] for t in report["targets"])
    assert report["run"]["duration_ms"] < 2 * 1000 + 2000  # ceil(6 / 3) x deadline + 2 s


def test_live_progress_streams_a_line_per_target():
    class Item:
        def __init__(self, name: str, status: Status, message: str = ""):
            self.target = Target("custom", name, name, TargetSettings(url="http://x"), {}, "t", ServiceMeta())
            self.probe = ProbeResult(status=status, steps=[], version="1.2" if status is Status.OK else None,
                                     message=message, duration_ms=1234)

    out = io.StringIO()
    progress = LiveProgress(out, force_terminal=True)
    progress.start(2)
    progress.item(Item("custom_a", Status.OK))
    progress.item(Item("custom_b", Status.AUTH_FAILED, "CheckAccess: refused [401]"))
    progress.stop()
    text = out.getvalue()
    assert "custom_a ok 1.2 (1.2s)" in text
    assert "custom_b auth_failed (1.2s): CheckAccess: refused [401]" in text
    assert "2/2" in text


def test_many_targets_are_planned_from_one_listing_not_one_get_each(run_cli, tmp_path, web, catalog):
    from conftest import catalog_env

    write_targets(tmp_path / "config.toml", [f"{web.url}/{i}" for i in range(25)])
    first = run_cli("scan", "--output", "json", "--no-inventory", env=catalog_env(catalog))
    assert first.code == 0, first.stderr
    catalog.reset_log()
    second = run_cli("scan", "--output", "json", "--no-inventory", env=catalog_env(catalog))
    assert second.code == 0, second.stderr
    assert {t["plan"]["action"] for t in json.loads(second.stdout)["targets"]} == {"unchanged"}
    gets = [c for c in catalog.calls("GET") if "dashboardServices" in c.path]
    assert len(gets) == 2 and all("/name/" not in c.path for c in gets)  # a count, then one page
    assert catalog.calls("PUT") == []
