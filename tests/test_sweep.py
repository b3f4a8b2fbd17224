"""The host sweep's engine: which addresses a `[discovery]` table names (scanner.discovery.hosts), and the
connect-scan over them (scanner.discovery.sweep). Real sockets on 127.0.0.0/8 only (Linux answers on every
127.x.y.z); host names go through a stand-in resolver, except `localhost`, which /etc/hosts answers."""

from __future__ import annotations

import errno
import ipaddress
import random
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.discovery.hosts import (
    DEFAULT_MAX_CANDIDATES,
    DEFAULT_RATE,
    HARD_LIMIT,
    check_guard,
    parse_hosts,
    plan_sweep,
)
from scanner.discovery.sweep import TokenBucket, sweep, usable_concurrency
from scanner.errors import ConfigError, ExitCode

REPO = Path(__file__).resolve().parents[1]
WHERE = "config.toml:[discovery]"
# a /16 of its own per test session, so that two sessions running these tests at once do not see each other's
# listeners
B = random.randint(100, 250)
NET = f"127.{B}"


# ---------------------------------------------------------------------------------------------------- helpers
class Listeners:
    """Listening sockets on 127.x addresses; `accepting` ones accept in a thread, hold the connection and never
    answer; the others are never accepted from (the kernel completes the handshake all the same). `accepted`
    counts what arrived at each accepting listener, and what it sent before closing."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.held: list[socket.socket] = []
        self.accepted: dict[tuple[str, int], list[bytes]] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def listen(self, address: str, port: int = 0, *, accepting: bool = False, backlog: int = 64) -> tuple[str, int]:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as exc:  # pragma: no cover - not Linux
            sock.close()
            if exc.errno == errno.EADDRNOTAVAIL:
                pytest.skip(f"cannot bind {address} (only Linux answers on all of 127.0.0.0/8)")
            raise
        sock.listen(backlog)
        self.sockets.append(sock)
        pair = (address, sock.getsockname()[1])
        if accepting:
            self.accepted[pair] = []
            thread = threading.Thread(target=self._accept, args=(sock, pair), daemon=True)
            thread.start()
            self._threads.append(thread)
        return pair

    def filtered(self, address: str) -> tuple[str, int]:
        """A port whose SYNs are dropped (its accept queue is full): a connect there times out, as at a firewall."""
        sock = socket.socket()
        sock.bind((address, 0))
        sock.listen(0)
        self.sockets.append(sock)
        pair = (address, sock.getsockname()[1])
        self.held.append(socket.create_connection(pair, timeout=2))  # fills the queue (backlog 0 holds one)
        probe = socket.socket()
        probe.settimeout(0.2)
        with pytest.raises(TimeoutError):
            probe.connect(pair)
        probe.close()
        return pair

    def _accept(self, sock: socket.socket, pair: tuple[str, int]) -> None:
        sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(2)
            try:
                data = conn.recv(100)  # b"": the sweeper closed without sending anything
            except OSError as exc:
                data = repr(exc).encode()
            self.accepted[pair].append(data)
            self.held.append(conn)  # never answered, never closed until the end

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(2)
        for sock in self.sockets + self.held:
            sock.close()


@pytest.fixture
def listeners() -> Iterator[Listeners]:
    group = Listeners()
    try:
        yield group
    finally:
        group.close()


def closed_port(address: str) -> int:
    """A port nothing listens on at `address` (bound, then released)."""
    sock = socket.socket()
    sock.bind((address, 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class FakeResolver:
    """`socket.getaddrinfo` for names of our own, counting look-ups; anything else does not resolve."""

    def __init__(self, names: dict[str, list[str]]):
        self.names = names
        self.calls: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 - getaddrinfo's own names
        self.calls.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        out = []
        for address in self.names[host]:
            if ":" in address:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, 0, 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0)))
        return out


def addresses(spec, **kwargs) -> list[str]:
    return [str(a) for a in parse_hosts(spec, where=WHERE, **kwargs)]


def config_error(excinfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text
    assert excinfo.value.exit_code == ExitCode.USAGE
    return text


# ---------------------------------------------------------------------------------------------------- hosts
def test_every_form_of_entry():
    resolver = FakeResolver({"bi.example.test": ["10.9.9.9", "10.9.9.8", "2001:db8::9"]})
    got = addresses(["10.0.0.0/30", "10.0.1.7", "10.0.2.1-10.0.2.3", "10.0.3.250-252", "bi.example.test",
                     "2001:db8::1", "[2001:db8::2]", "2001:db8::10-2001:db8::11", "2001:db8:1::/127"],
                    resolve=resolver)
    assert got == ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.7", "10.0.2.1", "10.0.2.2", "10.0.2.3",
                   "10.0.3.250", "10.0.3.251", "10.0.3.252", "10.9.9.8", "10.9.9.9",
                   "2001:db8::1", "2001:db8::2", "2001:db8::9", "2001:db8::10", "2001:db8::11",
                   "2001:db8:1::", "2001:db8:1::1"]


def test_sorted_and_without_duplicates():
    got = addresses(["10.0.0.5", "10.0.0.1-6", "10.0.0.0/29", "10.0.0.3", "::1", "10.0.0.9", "::1"])
    assert got == [f"10.0.0.{i}" for i in range(8)] + ["10.0.0.9", "::1"]


def test_a_host_name_with_a_hyphen_is_a_name_not_a_range():
    resolver = FakeResolver({"bi-01.example.test": ["10.1.1.1"]})
    assert addresses(["bi-01.example.test"], resolve=resolver) == ["10.1.1.1"]
    assert resolver.calls == ["bi-01.example.test"]


def test_host_names_resolve_once_and_only_to_their_own_addresses():
    resolver = FakeResolver({"bi.example.test": ["10.2.0.1", "10.2.0.2"], "db.example.test": ["10.2.0.2"]})
    hosts = parse_hosts(["bi.example.test", "10.3.0.0/31", "bi.example.test"], exclude=["db.example.test",
                        "bi.example.test"], where=WHERE, resolve=resolver)
    assert sorted(resolver.calls) == ["bi.example.test", "db.example.test"]  # once each, though named thrice
    assert [str(a) for a in hosts] == ["10.3.0.0", "10.3.0.1"]  # every address of the name excluded
    hosts = parse_hosts(["bi.example.test"], exclude=["db.example.test"], where=WHERE, resolve=resolver)
    assert [str(a) for a in hosts] == ["10.2.0.1"]


def test_localhost_through_the_real_resolver():
    got = parse_hosts(["localhost"], where=WHERE)
    assert "127.0.0.1" in [str(a) for a in got]
    assert all(a.is_loopback for a in got)


def test_excludes_of_every_form():
    resolver = FakeResolver({"gw.example.test": ["10.0.0.1"]})
    got = addresses(["10.0.0.0/28"], exclude=["gw.example.test", "10.0.0.4-6", "10.0.0.8/30", "10.0.0.15",
                                              "10.0.0.14-10.0.0.200", "192.168.0.0/16"], resolve=resolver)
    assert got == ["10.0.0.0", "10.0.0.2", "10.0.0.3", "10.0.0.7", "10.0.0.12", "10.0.0.13"]
    assert addresses(["10.0.0.0/30"], exclude=["10.0.0.0/24"]) == []


def test_where_each_address_came_from():
    hosts = parse_hosts(["10.0.0.0/30", "10.0.0.2-9", "::1"], where=WHERE)
    assert hosts.origin_of("10.0.0.1") == "10.0.0.0/30"
    assert hosts.origin_of("10.0.0.3") == "10.0.0.0/30"  # the first entry that holds it
    assert hosts.origin_of("10.0.0.9") == "10.0.0.2-9"
    assert hosts.origin_of("::1") == "::1"
    assert hosts.origin_of("10.0.0.10") is None
    assert "10.0.0.10" not in hosts and "10.0.0.9" in hosts


def test_an_ipv6_64_is_counted_never_expanded():
    started = time.monotonic()
    hosts = parse_hosts(["2001:db8::/64", "10.0.0.0/8"], where=WHERE)
    assert hosts.count == 2**64 + 2**24
    with pytest.raises(ConfigError) as excinfo:
        plan_sweep({"hosts": ["2001:db8::/64"], "max_candidates": HARD_LIMIT}, where=WHERE, default_ports=[443])
    assert time.monotonic() - started < 1
    text = config_error(excinfo)
    assert "18,446,744,073,709,551,616 addresses x 1 ports" in text
    assert f"above {HARD_LIMIT:,}, the most max_candidates may be" in text
    # the first addresses come out lazily all the same
    iterator = iter(hosts)
    assert [str(next(iterator)) for _ in range(2)] == ["10.0.0.0", "10.0.0.1"]


def test_the_guard_must_be_raised_explicitly():
    table = {"hosts": ["127.0.0.0/22"], "ports": [80, 443, 3000, 5000, 8080, 8088, 9999, 19999]}
    with pytest.raises(ConfigError) as excinfo:
        plan_sweep(table, where=WHERE, default_ports=[])
    assert config_error(excinfo) == (
        "config.toml:[discovery]: the sweep has 8,192 candidates (1,024 addresses x 8 ports), above "
        "max_candidates = 4,096 (raise [discovery].max_candidates to 8,192 or more to sweep them all)")
    plan = plan_sweep({**table, "max_candidates": 8192}, where=WHERE, default_ports=[])
    assert plan.candidates == 8192 == len(list(plan.pairs()))
    assert plan.rate == DEFAULT_RATE and plan.max_candidates == 8192
    # exactly at the default: fine; one more address: not
    assert check_guard(512, 8, DEFAULT_MAX_CANDIDATES, where=WHERE) == 4096
    with pytest.raises(ConfigError, match="4,104 candidates"):
        check_guard(513, 8, DEFAULT_MAX_CANDIDATES, where=WHERE)


def test_excluded_addresses_do_not_count_against_the_guard():
    plan = plan_sweep({"hosts": ["10.0.0.0/23"], "exclude": ["10.0.1.0/24"], "ports": [1, 2, 3, 4, 5, 6, 7, 8]},
                      where=WHERE, default_ports=[])
    assert plan.candidates == 2048 and plan.addresses.count == 256


def test_ports_default_to_the_plugins_and_take_ranges():
    plan = plan_sweep({"hosts": ["10.0.0.1"]}, where=WHERE, default_ports=[8088, 3000, 3000, 443])
    assert plan.ports == (443, 3000, 8088)
    plan = plan_sweep({"hosts": ["10.0.0.1"], "ports": [9000, "8000-8002", 8001, "22"]}, where=WHERE,
                      default_ports=[1])
    assert plan.ports == (22, 8000, 8001, 8002, 9000)
    assert list(plan.pairs()) == [("10.0.0.1", p) for p in (22, 8000, 8001, 8002, 9000)]


@pytest.mark.parametrize(("hosts", "message"), [
    (["10.0.0.0/24", "10.0.0.0/33"],
     "config.toml:[discovery].hosts[2]: '10.0.0.0/33' is not a valid CIDR ('10.0.0.0/33' does not appear to be an "
     "IPv4 or IPv6 network)"),
    (["10.0.0.1", "10.0.0.2", "10.0.0.9-10.0.0.3"],
     "config.toml:[discovery].hosts[3]: '10.0.0.9-10.0.0.3' is a reversed range (10.0.0.3 comes before 10.0.0.9)"),
    (["10.0.0.9-3"], "config.toml:[discovery].hosts[1]: '10.0.0.9-3' is a reversed range (10.0.0.3 comes before "
                     "10.0.0.9)"),
    (["10.0.0.1-256"], "config.toml:[discovery].hosts[1]: '10.0.0.1-256' is not a valid range (last octet 256 is "
                       "above 255)"),
    (["10.0.0.1-::1"], "config.toml:[discovery].hosts[1]: '10.0.0.1-::1' is not a valid range (it mixes IPv4 and "
                       "IPv6)"),
    (["nowhere.example.test"], "config.toml:[discovery].hosts[1]: host name 'nowhere.example.test' does not resolve "
                               "([Errno -2] Name or service not known)"),
    (["10.0.0.256"], "config.toml:[discovery].hosts[1]: '10.0.0.256' is not a valid IP address ('10.0.0.256' does "
                     "not appear to be an IPv4 or IPv6 address)"),
    (["10.0.0.300-5"], "config.toml:[discovery].hosts[1]: '10.0.0.300-5' is not a valid range ('10.0.0.300-5' does "
                       "not appear to be an IPv4 or IPv6 address)"),
    (["fe80::1%eth0"], "config.toml:[discovery].hosts[1]: 'fe80::1%eth0' is not a valid IP address (scoped IPv6 "
                       "addresses (with %zone) are not supported)"),
    (["bi host"], "config.toml:[discovery].hosts[1]: 'bi host' is neither a CIDR, an address, a range nor a valid "
                  "host name"),
    ([""], "config.toml:[discovery].hosts[1]: an empty entry (expected a CIDR, an address, a range or a host name)"),
    ([8088], "config.toml:[discovery].hosts[1]: 8088 must be a string (a CIDR, an address, a range or a host name)"),
    ("10.0.0.0/24", 'config.toml:[discovery].hosts: must be an array of strings, e.g. hosts = ["10.0.0.0/24"]'),
])
def test_each_bad_entry_is_one_line_naming_it(hosts, message):
    resolver = FakeResolver({})
    with pytest.raises(ConfigError) as excinfo:
        plan_sweep({"hosts": hosts, "max_candidates": HARD_LIMIT}, where=WHERE, default_ports=[80], resolve=resolver)
    assert config_error(excinfo) == message
    assert resolver.calls == (["nowhere.example.test"] if "nowhere" in str(hosts) else [])  # only names are looked up


@pytest.mark.parametrize(("table", "message"), [
    ({"exclude": ["10.0.0.1", "10.0.0.5-1"]},
     "config.toml:[discovery].exclude[2]: '10.0.0.5-1' is a reversed range (10.0.0.1 comes before 10.0.0.5)"),
    ({"ports": [80, 70000]}, "config.toml:[discovery].ports[2]: 70000 is out of range (ports are 1-65535)"),
    ({"ports": ["90-80"]}, "config.toml:[discovery].ports[1]: '90-80' is a reversed port range"),
    ({"ports": ["http"]}, "config.toml:[discovery].ports[1]: 'http' is not a port (an integer 1-65535 or "
                          "\"low-high\")"),
    ({"ports": []}, "config.toml:[discovery].ports: must be a non-empty array of ports, e.g. ports = [8088, 3000, "
                    "\"8000-8010\"]"),
    ({"max_candidates": 0}, "config.toml:[discovery].max_candidates: 0 must be a positive integer"),
    ({"max_candidates": HARD_LIMIT + 1},
     "config.toml:[discovery].max_candidates: 16,777,217 is above the most it may be raised to, 16,777,216 (sweep "
     "smaller ranges in separate runs)"),
    ({"rate": 0}, "config.toml:[discovery].rate: 0 must be a positive number (connections per second)"),
    ({"rate": "fast"}, "config.toml:[discovery].rate: 'fast' must be a positive number (connections per second)"),
])
def test_each_bad_setting_is_one_line_naming_it(table, message):
    with pytest.raises(ConfigError) as excinfo:
        plan_sweep({"hosts": ["10.0.0.0/30"], **table}, where=WHERE, default_ports=[80])
    assert config_error(excinfo) == message


# ---------------------------------------------------------------------------------------------------- sweep
def test_listeners_on_several_addresses_and_ports_are_found_exactly(listeners):
    first = listeners.listen(f"{NET}.0.2")
    second = listeners.listen(f"{NET}.1.9")
    third = listeners.listen(f"{NET}.3.200", accepting=True)
    fourth = listeners.listen(f"{NET}.3.201", first[1])  # the same port as the first, on another address
    expected = sorted([first, second, third, fourth], key=lambda p: (ipaddress.ip_address(p[0]), p[1]))
    ports = sorted({p for _, p in expected})
    plan = plan_sweep({"hosts": [f"{NET}.0.0/22"], "ports": ports, "max_candidates": 1024 * len(ports)},
                      where=WHERE, default_ports=[])
    result = sweep(plan.pairs(), concurrency=256, connect_timeout=1.0)
    assert list(result.open) == expected
    stats = result.stats
    assert (stats.attempted, stats.open, stats.refused) == (1024 * len(ports), 4, 1024 * len(ports) - 4)
    assert (stats.timed_out, stats.failed, stats.unfinished, stats.not_attempted) == (0, 0, 0, 0)
    assert stats.candidates == plan.candidates and not stats.deadline_reached
    assert stats.per_second == pytest.approx(stats.attempted / stats.elapsed_s)
    assert result.errors == {}


def test_refused_ports_are_not_reported(listeners):
    address = f"{NET}.4.1"
    port = closed_port(address)
    result = sweep([(address, port), (f"{NET}.4.2", port)], connect_timeout=1.0)
    assert result.open == ()
    assert (result.stats.refused, result.stats.open, result.stats.timed_out) == (2, 0, 0)
    assert result.stats.elapsed_s < 0.5  # a closed loopback port refuses at once


def test_a_listener_that_accepts_and_never_answers_is_open(listeners):
    silent = listeners.listen(f"{NET}.5.1", accepting=True)
    never_accepted = listeners.listen(f"{NET}.5.2")
    started = time.monotonic()
    result = sweep([silent, never_accepted], connect_timeout=3.0)
    assert time.monotonic() - started < 1  # no waiting for a word from either
    assert list(result.open) == [silent, never_accepted]
    deadline = time.monotonic() + 2
    while not listeners.accepted[silent] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert listeners.accepted[silent] == [b""]  # one real connection, closed without a byte sent


def test_a_port_that_drops_syns_times_out(listeners):
    dropped = listeners.filtered(f"{NET}.6.1")
    started = time.monotonic()
    result = sweep([dropped], connect_timeout=0.3)
    elapsed = time.monotonic() - started
    assert result.open == ()
    assert (result.stats.timed_out, result.stats.refused, result.stats.attempted) == (1, 0, 1)
    assert 0.28 <= elapsed < 1.0


def test_it_connects_to_nothing_outside_its_input(listeners):
    outside = listeners.listen(f"{NET}.7.2", accepting=True)
    inside = listeners.listen(f"{NET}.7.4", accepting=True)
    port = outside[1]
    pairs = [(f"{NET}.7.1", port), (f"{NET}.7.3", port), inside, (f"{NET}.7.2", port + 1 if port < 65535 else 1)]
    result = sweep(pairs, connect_timeout=1.0)
    assert list(result.open) == [inside]
    time.sleep(0.2)
    assert listeners.accepted[outside] == []
    assert len(listeners.accepted[inside]) == 1


@pytest.mark.parametrize("pair", [("localhost", 80), ("127.0.0.1", 0), ("127.0.0.1", "80"), ("127.0.0.1", 70000)])
def test_only_ip_literals_and_real_ports_are_accepted(pair):
    with pytest.raises(ValueError):
        sweep([pair])


def test_ipv6_loopback(listeners):
    sock = socket.socket(socket.AF_INET6)
    try:
        sock.bind(("::1", 0))
    except OSError:
        sock.close()
        pytest.skip("no IPv6 loopback here")
    sock.listen(8)
    listeners.sockets.append(sock)
    port = sock.getsockname()[1]
    result = sweep([("::1", port), ("::1", closed_port("127.0.0.1"))])
    assert list(result.open) == [("::1", port)]


def test_the_rate_limit_holds():
    address = f"{NET}.8.1"
    port = closed_port(address)
    pairs = [(f"{NET}.8.{i}", port) for i in range(1, 61)]
    fast = sweep(pairs)
    assert fast.stats.elapsed_s < 0.3  # unlimited, the same work takes a few milliseconds
    rate = 100.0
    limited = sweep(pairs, rate=rate)
    assert limited.stats.attempted == 60 and limited.stats.refused == 60
    assert limited.stats.elapsed_s >= (60 - 1) / rate * 0.97  # the first connection needs no wait
    assert limited.stats.elapsed_s < 60 / rate + 0.3
    assert limited.stats.rate == rate


def test_the_token_bucket():
    bucket = TokenBucket(10, now=0.0)
    assert bucket.take(0.0) and not bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(0.1)
    assert not bucket.take(0.05) and bucket.take(0.1)
    assert bucket.take(100.0) and not bucket.take(100.0)  # at most `burst` (here 1) saved up over a long pause
    big = TokenBucket(5000, now=0.0)
    assert sum(big.take(10.0) for _ in range(1000)) == 100  # 20 ms worth


def test_the_deadline_bounds_a_sweep_of_ports_that_never_answer(listeners):
    dropped = listeners.filtered(f"{NET}.9.1")
    started = time.monotonic()
    result = sweep([dropped] * 200, concurrency=10, connect_timeout=30.0, deadline=0.5)
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 0.9
    stats = result.stats
    assert stats.deadline_reached
    assert (stats.attempted, stats.unfinished, stats.not_attempted, stats.timed_out) == (10, 10, 190, 0)


def test_the_deadline_bounds_a_rate_limited_sweep():
    port = closed_port(f"{NET}.10.1")
    pairs = ((f"{NET}.10.{i % 250 + 1}", port) for i in range(10_000))  # an iterator: its length is unknown
    result = sweep(pairs, rate=100, deadline=0.3)
    assert result.stats.elapsed_s < 0.5
    assert result.stats.deadline_reached and 20 <= result.stats.attempted <= 40
    assert result.stats.candidates is None and result.stats.not_attempted is None


def test_concurrency_is_capped_below_the_descriptor_limit():
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert usable_concurrency(10) == 10
    if hard != resource.RLIM_INFINITY:
        assert usable_concurrency(hard * 2) < hard - 64


_LOW_LIMIT = textwrap.dedent("""
    import json, resource, socket, sys
    import scanner.discovery.sweep as engine
    resource.setrlimit(resource.RLIMIT_NOFILE, (150, 150))
    listener = socket.socket(); listener.bind((sys.argv[1], 0)); listener.listen(0)
    pair = listener.getsockname()
    filler = socket.create_connection(pair, timeout=2)
    if sys.argv[2] == "ignore-the-cap":
        engine.usable_concurrency = lambda wanted, **_: wanted  # as if the cap were wrong: EMFILE must be survived
    result = engine.sweep([pair] * 300, concurrency=1000, connect_timeout=0.3)
    print(json.dumps({"concurrency": result.stats.concurrency, "timed_out": result.stats.timed_out,
                      "attempted": result.stats.attempted, "errors": result.errors}))
""")


@pytest.mark.parametrize("mode", ["capped", "ignore-the-cap"])
def test_a_low_descriptor_limit_is_survived(mode):
    import json

    proc = subprocess.run([sys.executable, "-c", _LOW_LIMIT, f"{NET}.11.1", mode], capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads(proc.stdout)
    assert figures["attempted"] == 300 and figures["timed_out"] == 300 and figures["errors"] == {}
    assert 1 <= figures["concurrency"] < 150 - 64 + (0 if mode == "capped" else 64)


def test_a_plan_from_the_table_swept(listeners):
    found = [listeners.listen(f"{NET}.12.{i}") for i in (3, 17)]
    resolver = FakeResolver({"bi.example.test": [f"{NET}.12.17"]})
    ports = sorted({p for _, p in found})
    plan = plan_sweep({"hosts": [f"{NET}.12.1-10", "bi.example.test"], "exclude": [f"{NET}.12.5"], "ports": ports},
                      where=WHERE, default_ports=[], resolve=resolver)
    result = sweep(plan.pairs(), rate=plan.rate)
    assert list(result.open) == sorted(found, key=lambda p: (ipaddress.ip_address(p[0]), p[1]))
    assert result.stats.attempted == plan.candidates == 10 * len(ports)
    assert plan.addresses.origin_of(found[1][0]) == "bi.example.test"
