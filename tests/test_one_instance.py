"""One instance, one service: a Superset page URL (with its query) is cut to the instance's base before naming;
targets whose probes prove one address (localhost / 127.0.0.1 / ::1, IPv6 spellings, env and TOML) are one
instance, the first declared kept and the others reported as skipped duplicates; a Superset served under a
path prefix keeps it; a URL that is no Superset says which bases were tried. Over the real CLI and sockets."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import catalog_env

from scanner.plan import Action, PlanItem
from scanner.plugin import ProbeResult, Status, Target, TargetSettings
from scanner.testing.fake_superset import FakeSuperset, FakeUser

PASSWORD = "one-instance-pw-5e1d"


def creds(suffix: str = "") -> dict[str, str]:
    return {f"SUPERSET_USERNAME{suffix}": "scanner", f"SUPERSET_PASSWORD{suffix}": PASSWORD}


def scan(run_cli, env, *args):
    result = run_cli("scan", "--output", "json", *args, env=env)
    assert result.stdout, result.stderr
    return result, {t["service_name"]: t for t in json.loads(result.stdout)["targets"]}


def toml_target(url: str, name: str | None = None) -> str:
    named = f'name = "{name}"\n' if name else ""
    return (f'[[targets]]\nplatform = "superset"\n{named}url = "{url}"\nusername = "scanner"\n'
            f'password = "${{SUPERSET_PASSWORD}}"\n')


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.fixture
def fake():
    with FakeSuperset(users={"scanner": FakeUser(PASSWORD)}) as server:
        yield server


def test_a_page_url_with_a_query_string_is_one_service_named_from_the_base(run_cli, catalog, fake):
    page = fake.url + "/superset/dashboard/1/?native_filters_key=Xy3_secretish&standalone=1"
    result, by_name = scan(run_cli, {**catalog_env(catalog), "SUPERSET_URL": page, **creds()})
    assert result.code == 0, result.stdout + result.stderr
    name = f"superset_127_0_0_1_{port_of(fake.url)}"
    assert list(by_name) == [name]
    entry = by_name[name]
    assert (entry["url"], entry["canonical_url"], entry["taken"]) == (fake.url, fake.url, "created")
    assert list(catalog.services) == [name]
    assert catalog.services[name]["connection"]["config"]["hostPort"] == fake.url
    assert "Xy3_secretish" not in result.stdout + result.stderr


def test_localhost_127_and_env_and_toml_for_one_server_are_one_service(run_cli, catalog, fake, tmp_path: Path):
    port = port_of(fake.url)
    (tmp_path / "config.toml").write_text(toml_target(f"http://127.0.0.1:{port}/", name="superset_main"))
    env = {**catalog_env(catalog), **creds(), **creds("__AGAIN"), **creds("__LOOP"),
           "SUPERSET_URL": f"http://localhost:{port}/superset/welcome/",       # another spelling, a page URL
           "SUPERSET_URL__AGAIN": f"http://127.0.0.1:{port}/login/?next=%2F",  # the TOML's base, as a page URL
           "SUPERSET_URL__LOOP": f"HTTP://LocalHost:{port}//"}
    for args in (("--dry-run",), ()):
        result, by_name = scan(run_cli, env, *args)
        assert result.code == 0, result.stdout + result.stderr
        kept = by_name["superset_main"]
        assert kept["plan"]["action"] == "create" and kept["origin"] == "config.toml:[[targets]]#1"
        duplicates = {n: t for n, t in by_name.items() if n != "superset_main"}
        # SUPERSET_URL__AGAIN cut to the TOML's own base is that TOML target (the TOML one wins, as before)
        assert set(duplicates) == {f"superset_localhost_{port}", "superset_loop"}, by_name
        for entry in duplicates.values():
            assert (entry["plan"]["action"], entry["taken"]) == ("skip", "skipped"), entry
            assert "duplicate of superset_main (config.toml:[[targets]]#1)" in entry["plan"]["reason"]
    assert list(catalog.services) == ["superset_main"]
    assert catalog.services["superset_main"]["connection"]["config"]["hostPort"] == f"http://127.0.0.1:{port}"
    assert [c for c in catalog.calls("PUT")], "the kept one was written"
    table = run_cli("scan", env=env)
    assert table.code == 0, table.stdout + table.stderr
    assert list(catalog.services) == ["superset_main"]


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


class _Forward:
    """[::1]:port -> 127.0.0.1:port, byte for byte: one server reached over IPv6 and IPv4 at the same port."""

    def __init__(self, port: int, delay: float = 0.0):
        self.port, self.delay = port, delay
        self.sock = socket.socket(socket.AF_INET6)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("::1", port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        time.sleep(self.delay)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        except OSError:
            client.close()
            return
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_two_ipv6_spellings_and_ipv4_are_one_service(run_cli, catalog, fake, tmp_path: Path):
    port = port_of(fake.url)
    try:
        forward = _Forward(port, delay=0.3)  # the first declared answers last: it is still the one kept
    except OSError as exc:
        pytest.skip(f"[::1]:{port} is taken: {exc}")
    try:
        (tmp_path / "config.toml").write_text(toml_target(f"http://[::1]:{port}/superset/welcome/"))
        env = {**catalog_env(catalog), **creds(), **creds("__LONG"),
               "SUPERSET_URL": fake.url + "/dashboard/list/",
               "SUPERSET_URL__LONG": f"http://[0:0:0:0:0:0:0:1]:{port}"}
        result, by_name = scan(run_cli, env)
    finally:
        forward.close()
    assert result.code == 0, result.stdout + result.stderr
    name = f"superset_1_{port}"
    assert list(catalog.services) == [name]
    assert by_name[name]["taken"] == "created" and by_name[name]["origin"] == "config.toml:[[targets]]#1"
    others = [t for n, t in by_name.items() if n != name]
    assert len(others) == 2 and all(t["taken"] == "skipped" for t in others)
    assert all(f"duplicate of {name}" in t["plan"]["reason"] for t in others)


@pytest.mark.parametrize("page", ["/bi/superset/superset/dashboard/1/?native_filters_key=k9",
                                  "/bi/superset/dashboard/list/?_flt_0_owners=1", "/bi/superset/superset/welcome/",
                                  "/bi/superset/"])
def test_a_superset_under_a_path_prefix_keeps_it(run_cli, catalog, page):
    with FakeSuperset(users={"scanner": FakeUser(PASSWORD)}, prefix="/bi/superset") as fake:
        url, base = fake.url, fake.base_url
        result, by_name = scan(run_cli, {**catalog_env(catalog), "SUPERSET_URL": url + page, **creds()})
    assert result.code == 0, result.stdout + result.stderr
    name = f"superset_127_0_0_1_{port_of(url)}_bi_superset"
    assert list(by_name) == [name] and list(catalog.services) == [name]
    assert by_name[name]["canonical_url"] == base == url + "/bi/superset"
    assert catalog.services[name]["connection"]["config"]["hostPort"] == base


def test_no_superset_names_the_bases_tried(run_cli, web):
    result, by_name = scan(run_cli, {"SUPERSET_URL": web.url + "/bi/superset/", **creds()})
    [entry] = by_name.values()
    assert entry["status"] == "not_detected"
    assert f"no Superset here (tried {web.url}/bi/superset, {web.url}/bi)" in entry["message"], entry["message"]


def _item(n: int, url: str, canonical: str, ok: bool = True) -> PlanItem:
    target = Target(platform="superset", instance=f"i{n}", service_name=f"superset_i{n}",
                    settings=TargetSettings(url=url), sources={}, origin=f"config.toml:[[targets]]#{n}")
    probe = ProbeResult(status=Status.OK if ok else Status.AUTH_FAILED, steps=[], canonical_url=canonical)
    return PlanItem(target, probe, Action.CREATE if ok else Action.SKIP)


def test_the_first_declared_is_kept_whichever_probe_finishes_first():
    from scanner.one_instance import OneInstance

    first = _item(1, "http://localhost:8088", "http://localhost:8088")
    second = _item(2, "http://127.0.0.1:8088/superset", "http://127.0.0.1:8088/")  # proved the root
    other = _item(3, "http://bi.example.com", "http://bi.example.com")
    failed = _item(4, "http://127.0.0.1:8088", "http://127.0.0.1:8088", ok=False)
    instances = OneInstance([first.target, second.target, other.target, failed.target])
    assert instances.finished(second.target, [second]) == []            # waits: an earlier target on that host is still probed
    assert instances.finished(other.target, [other]) == [other]        # another host goes on at once
    assert instances.finished(failed.target, [failed]) == [failed]      # a failed probe proved nothing: never waits
    kept, duplicate = instances.finished(first.target, [first])
    assert kept is first and duplicate.target is second.target
    assert (duplicate.action, duplicate.taken, duplicate.request) == (Action.SKIP, "skipped", None)
    assert "duplicate of superset_i1 (config.toml:[[targets]]#1)" in duplicate.reason
    assert instances.rest() == []


def test_a_duplicate_is_named_in_the_table_and_kept_out_of_the_inventory(run_cli, catalog, tmp_path):
    from scanner.testing.fake_superset import FakeSuperset, FakeUser

    with FakeSuperset(users={"dup": FakeUser("dup-pw-0c3")}) as fake:
        env = {**catalog_env(catalog), "SUPERSET_URL__ONE": fake.url, "SUPERSET_USERNAME__ONE": "dup",
               "SUPERSET_PASSWORD__ONE": "dup-pw-0c3", "SUPERSET_URL__TWO": fake.url.replace("127.0.0.1", "localhost"),
               "SUPERSET_USERNAME__TWO": "dup", "SUPERSET_PASSWORD__TWO": "dup-pw-0c3"}
        table = run_cli("scan", "--inventory", str(tmp_path / "inv.sqlite3"), env=env)
    assert table.code == 0, table.stderr
    assert "superset_two: duplicate of superset_one" in table.stdout
    listed = json.loads(run_cli("inventory", "--inventory", str(tmp_path / "inv.sqlite3"), "--output", "json").stdout)
    assert [t["service_name"] for t in listed["targets"]] == ["superset_one"]
