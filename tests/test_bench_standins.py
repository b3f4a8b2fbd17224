"""bench/standins.py: the stand-in farm of issue 17, checked over real sockets on loopback addresses."""

from __future__ import annotations

import http.client
import json
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scanner.testing.fake_superset import FakeSuperset, FakeUser

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from standins import BEHAVIOURS, FarmStats, StandinFarm  # noqa: E402

import bench  # noqa: E402

LATENCY = 0.05


@pytest.fixture(scope="module")
def farm():
    with StandinFarm(len(BEHAVIOURS) + 1, LATENCY, behaviours=[*BEHAVIOURS, "ok"], procs=2,
                     username="bench", password="bench-pw") as f:
        yield f


def connect(url: str, timeout: float = 5) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


def call(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None,
         headers: dict | None = None) -> tuple[int, dict, bytes]:
    payload = json.dumps(body).encode() if body is not None else None
    sent = {**(headers or {}), **({"Content-Type": "application/json"} if payload else {})}
    conn.request(method, path, body=payload, headers=sent)
    resp = conn.getresponse()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def by_behaviour(farm: StandinFarm, behaviour: str) -> str:
    return farm.urls[farm.behaviours.index(behaviour)]


def test_stand_ins_listen_on_several_loopback_addresses_over_their_processes(farm):
    hosts = [urlsplit(u).hostname for u in farm.urls]
    assert hosts == [f"127.0.0.{i % 8 + 1}" for i in range(len(farm.urls))]
    assert len(set(farm.urls)) == len(farm.urls) and len(farm.pids) == 2


def test_an_ok_stand_in_answers_what_the_fake_superset_answers(farm):
    """Same status, content type and body as FakeSuperset served by its own LocalServer (tokens aside)."""
    pages = [("GET", "/health"), ("GET", "/healthcheck"), ("GET", "/version"), ("GET", "/login/"), ("GET", "/"),
             ("GET", "/superset/welcome/"), ("GET", "/nowhere"), ("GET", "/api/v1/security/login"),
             ("GET", "/api/v1/dashboard/")]
    logins = [{"username": "bench", "password": "bench-pw", "provider": "db"},
              {"username": "bench", "password": "wrong", "provider": "db"},
              {"username": "bench", "password": "bench-pw", "provider": "ldap"}, {"username": "bench"}]
    with FakeSuperset(users={"bench": FakeUser("bench-pw")}) as reference:
        ours, theirs = connect(farm.urls[0]), connect(reference.url)
        for method, path in pages:
            a, b = call(ours, method, path), call(theirs, method, path)
            assert (a[0], a[1].get("content-type"), a[1].get("location"), a[2]) == \
                   (b[0], b[1].get("content-type"), b[1].get("location"), b[2]), path
        for body in logins:
            a, b = call(ours, "POST", "/api/v1/security/login", body), call(theirs, "POST", "/api/v1/security/login", body)
            assert a[0] == b[0] and set(json.loads(a[2])) == set(json.loads(b[2])), body
        token = json.loads(call(ours, "POST", "/api/v1/security/login", logins[0])[2])["access_token"]
        for kind in ("dashboard", "chart"):
            status, _, body = call(ours, "GET", f"/api/v1/{kind}/?q=(columns:!(id),page_size:1)",
                                   headers={"Authorization": f"Bearer {token}"})
            assert status == 200 and json.loads(body)["count"] == (2 if kind == "dashboard" else 3)
        assert call(ours, "GET", "/api/v1/chart/", headers={"Authorization": "Bearer not-ours"})[0] == 422


def test_answers_keep_alive_after_the_injected_latency(farm):
    conn = connect(farm.urls[-1])
    started = time.monotonic()
    for _ in range(4):  # one connection, four requests
        status, headers, body = call(conn, "GET", "/health")
        assert (status, body) == (200, b"OK") and headers["content-length"] == "2"
        assert "connection" not in headers
    assert time.monotonic() - started >= 4 * LATENCY
    conn.close()


def test_faults_per_stand_in(farm):
    login = {"username": "bench", "password": "bench-pw", "provider": "db"}
    assert call(connect(by_behaviour(farm, "wrong_password")), "POST", "/api/v1/security/login", login)[0] == 401
    conn = connect(by_behaviour(farm, "forbidden"))
    token = json.loads(call(conn, "POST", "/api/v1/security/login", login)[2])["access_token"]
    assert call(conn, "GET", "/api/v1/dashboard/", headers={"Authorization": f"Bearer {token}"})[0] == 403
    conn = connect(by_behaviour(farm, "error"))
    assert call(conn, "GET", "/health")[0] == 200
    assert call(conn, "POST", "/api/v1/security/login", login)[0] == 500
    hung = connect(by_behaviour(farm, "hang"), timeout=3 * LATENCY)
    with pytest.raises(TimeoutError):
        call(hung, "GET", "/health")


def raw_exchange(url: str, data: bytes) -> bytes:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_requests_are_parsed_minimally_but_correctly(farm):
    url = farm.urls[-1]
    login = b'{"username": "bench", "password": "bench-pw", "provider": "db"}'
    chunked = (b"POST /api/v1/security/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n" + f"{10:x}\r\n".encode() + login[:10] + b"\r\n"
               + f"{len(login) - 10:x}\r\n".encode() + login[10:] + b"\r\n0\r\n\r\n")
    answer = raw_exchange(url, chunked)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"access_token" in answer and b"Connection: close" in answer
    # two pipelined requests, the second one's body in Content-Length, answered in order; HTTP/1.0 closes
    two = (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nPOST /api/v1/security/login HTTP/1.0\r\nContent-Length: "
           + str(len(login)).encode() + b"\r\n\r\n" + login)
    answer = raw_exchange(url, two)
    assert answer.index(b"\r\n\r\nOK") < answer.index(b"access_token")
    assert raw_exchange(url, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw_exchange(url, b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n").startswith(b"HTTP/1.1 400 ")


def test_the_farm_reports_requests_per_stand_in_answer_times_and_cpu(farm):
    farm.reset()
    conn = connect(farm.urls[1])
    for _ in range(3):
        call(conn, "GET", "/version")
    stats = farm.stats()
    assert stats.served[1] == 3 and stats.requests == 3 and stats.answers == 3
    assert LATENCY <= stats.answer_mean_s < 2 * LATENCY and stats.answer_max_s >= stats.answer_p50_s
    assert len(stats.cpu_by_proc) == 2 and stats.cpu_s > 0 and all(m > 0 for m in stats.max_rss_mb)


def test_scanner_sees_each_stand_in_as_its_behaviour_says(farm, run_cli, tmp_path):
    bench.superset_config(farm.urls, tmp_path / "config.toml")
    result = run_cli("scan", "--output", "json", "--no-inventory", "--timeout", "1", "--target-deadline", "5",
                     env={"BENCH_PW": "bench-pw"})
    statuses = [t["status"] for t in json.loads(result.stdout)["targets"]]
    assert dict(zip(farm.behaviours[:-1], statuses, strict=False)) == {
        "ok": "ok", "wrong_password": "auth_failed", "forbidden": "forbidden", "error": "error",
        "hang": "unreachable"}, result.stderr
    ok = json.loads(result.stdout)["targets"][0]
    assert ok["version"] == "6.1.0" and ok["details"] == {"dashboards": 2, "charts": 3}


def test_only_loopback_addresses_and_known_behaviours():
    with pytest.raises(ValueError, match="loopback"):
        StandinFarm(1, addresses=["10.1.2.3"])
    with pytest.raises(ValueError, match="behaviour"):
        StandinFarm(2, behaviours=["ok", "teapot"])


def stats(cpu: list[float], mean: float | None) -> FarmStats:
    return FarmStats(served=[7], cpu_s=sum(cpu), cpu_by_proc=cpu, answers=1, answer_mean_s=mean, answer_p50_s=mean,
                     answer_p95_s=mean, answer_p99_s=mean, answer_max_s=mean, max_rss_mb=[30.0] * len(cpu))


def test_a_run_where_the_harness_may_set_the_pace_says_so():
    before = stats([1.0, 1.0], None)
    fine = bench.harness_verdict(before, stats([3.0, 2.0], 0.101), catalog_cpu_s=1.0, wall=10.0, latency=0.1)
    assert fine.bound_by == [] and fine.cpu_s == pytest.approx(4.0)
    busy = bench.harness_verdict(before, stats([10.0, 2.0], 0.101), catalog_cpu_s=9.0, wall=10.0, latency=0.1)
    assert busy.bound_by == ["farm process 0 used 0.90 of a core", "the catalog stand-in used 0.90 of a core"]
    late = bench.harness_verdict(before, stats([2.0, 2.0], 0.125), catalog_cpu_s=0.0, wall=10.0, latency=0.1)
    assert late.bound_by == ["the farm answered in 125 ms on average for 100 ms injected"]
