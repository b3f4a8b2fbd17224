"""Catalog faults: each service ends registered exactly once or reported failed, and a re-run completes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from conftest import catalog_env

SERVICES = "/api/v1/services/dashboardServices"


def write_targets(path: Path, url: str, count: int, catalog_concurrency: int = 4) -> list[str]:
    blocks = [f"[catalog]\nconcurrency = {catalog_concurrency}\nretries = 3\n"]
    blocks += [f'[[targets]]\nplatform = "custom"\ninstance = "t{i}"\nurl = "{url}/{i}"\n' for i in range(count)]
    path.write_text("\n".join(blocks))
    return [f"custom_t{i}" for i in range(count)]


def scan(run_cli, catalog, *args: str):
    result = run_cli("scan", "--output", "json", "--no-inventory", *args, env=catalog_env(catalog))
    return result, {t["service_name"]: t for t in json.loads(result.stdout)["targets"]}


def assert_registered_once(catalog, names: list[str]) -> None:
    services = catalog.services
    assert sorted(services) == sorted(names)
    assert {name: services[name]["version"] for name in names} == dict.fromkeys(names, 0.1)  # created once


def test_429_503_and_resets_are_retried_and_nothing_is_duplicated(run_cli, tmp_path, web, catalog):
    names = write_targets(tmp_path / "config.toml", web.url, 8)
    catalog.inject(429, times=2, method="PUT", headers={"Retry-After": "0"})
    catalog.inject(503, times=2, method="PUT")
    catalog.inject(times=2, method="PUT", reset=True)
    result, by = scan(run_cli, catalog)
    statuses = [c.status for c in catalog.calls("PUT")]
    assert statuses.count(429) == 2 and statuses.count(503) == 2 and statuses.count(0) == 2  # 0: reset
    # each service is either registered once or reported failed, and the exit code says which
    assert {t["taken"] for t in by.values()} <= {"created", "failed"}
    failed = {n for n, t in by.items() if t["taken"] == "failed"}
    assert result.code == (1 if failed else 0), result.stderr
    assert sorted(catalog.services) == sorted(set(names) - failed)
    assert all(catalog.services[n]["version"] == 0.1 for n in catalog.services)
    # the faults are spent: a re-run completes what failed, and changes nothing else
    result, by = scan(run_cli, catalog)
    assert result.code == 0, result.stderr
    assert {n: t["taken"] for n, t in by.items()} == {n: "created" if n in failed else "unchanged" for n in names}
    assert_registered_once(catalog, names)


def test_slow_catalog_replies_still_register_everything(run_cli, tmp_path, web, catalog):
    names = write_targets(tmp_path / "config.toml", web.url, 6)
    catalog.latency = 0.4
    started = time.monotonic()
    result, _ = scan(run_cli, catalog)
    assert result.code == 0, result.stderr
    assert_registered_once(catalog, names)
    assert time.monotonic() - started < 15


def test_a_catalog_that_keeps_failing_is_reported_and_a_rerun_completes(run_cli, tmp_path, web, catalog):
    names = write_targets(tmp_path / "config.toml", web.url, 4, catalog_concurrency=2)
    catalog.inject(503, times=None, method="PUT", headers={"Retry-After": "0"})
    result, by = scan(run_cli, catalog)
    assert result.code == 1
    assert {t["status"] for t in by.values()} == {"ok"} and {t["taken"] for t in by.values()} == {"failed"}
    assert all("503" in t["error"] and "(after 3 retries)" in t["error"] for t in by.values()), by
    assert catalog.services == {}

    catalog.clear_faults()
    result, by = scan(run_cli, catalog)
    assert result.code == 0, result.stderr
    assert {t["taken"] for t in by.values()} == {"created"}
    assert_registered_once(catalog, names)


def test_401_mid_run_stops_further_writes_and_a_rerun_completes(run_cli, tmp_path, web, catalog):
    names = write_targets(tmp_path / "config.toml", web.url, 10, catalog_concurrency=1)
    catalog.latency = 0.05
    stop = threading.Event()

    def revoke_after_three_puts():
        while not stop.is_set():
            if len([c for c in catalog.calls("PUT") if c.status == 201]) >= 3:
                catalog.inject(401, times=None, method="PUT", body={"code": 401, "message": "Token expired"})
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=revoke_after_three_puts, daemon=True)
    watcher.start()
    result, by = scan(run_cli, catalog)
    stop.set()
    assert result.code == 1
    created = {n for n, t in by.items() if t["taken"] == "created"}
    failed = {n for n, t in by.items() if t["taken"] == "failed"}
    assert 3 <= len(created) < 10 and created | failed == set(names)
    assert all("401" in by[n]["error"] and "OPENMETADATA_JWT_TOKEN" in by[n]["error"] for n in failed)
    rejected = [c for c in catalog.calls("PUT") if c.status == 401]
    assert len(rejected) == 1  # the first 401 stops writing: the others are not even sent

    catalog.clear_faults()
    catalog.latency = 0
    result, by = scan(run_cli, catalog)
    assert result.code == 0, result.stderr
    assert {n for n, t in by.items() if t["taken"] == "created"} == failed
    assert_registered_once(catalog, names)
