"""`scanner discover` (issue 15): candidates from the configured sources, identified without any credential, with
the credential that would apply named (or what to set). Only loopback: the Kubernetes stand-in's Services carry
127.0.0.1 addresses, so every candidate it yields is on this machine."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from scanner.demo import STAND_INS
from scanner.testing.fake_kubernetes import FakeKubernetes, namespace, service, service_port


def test_discover_names_each_instance_and_its_credential_and_sends_none(run_cli, tmp_path: Path):
    with contextlib.ExitStack() as stack:
        superset = stack.enter_context(STAND_INS["superset"].start("disc-secret-1", tmp_path))
        grafana = stack.enter_context(STAND_INS["grafana"].start("glsa_disc_token", tmp_path))
        metabase = stack.enter_context(STAND_INS["metabase"].start("disc-key-1", tmp_path))
        cluster = stack.enter_context(FakeKubernetes())
        cluster.add(
            namespace("analytics"), namespace("ops"),
            service("superset", "analytics", [service_port(superset._server.port, "http")], cluster_ip="127.0.0.1",
                    labels={"app.kubernetes.io/name": "superset"}),
            service("grafana", "ops", [service_port(grafana._server.port, "http")], cluster_ip="127.0.0.1"),
            service("metabase", "analytics", [service_port(metabase._server.port, "http")], cluster_ip="127.0.0.1"),
        )
        kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig")
        (tmp_path / "config.toml").write_text(
            f'[discovery.kubernetes]\nkubeconfig = "{kubeconfig}"\n\n'
            '[[credentials]]\nplatform = "grafana"\nhosts = ["127.0.0.0/8"]\napiKey = "${GRAFANA_TOKEN}"\n')
        env = {"GRAFANA_TOKEN": "glsa_disc_token", "SUPERSET_USERNAME": "demo", "SUPERSET_PASSWORD": "disc-secret-1"}
        result = run_cli("discover", "--output", "json", env=env)
        sent = {"superset": list(superset.login_attempts), "grafana": grafana.credentialed,
                "metabase": metabase.credentialed}
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    by = {c["platform"]: c for c in doc["candidates"] if c["platform"]}
    assert sorted(by) == ["grafana", "metabase", "superset"], doc
    assert by["superset"]["credential"] == "env:SUPERSET_USERNAME" and by["superset"]["version"] == "6.1.0"
    assert by["grafana"]["credential"].endswith("config.toml:[[credentials]]#1")
    assert by["metabase"]["credential"] is None and "METABASE_API_KEY" in by["metabase"]["to_register"]
    assert all(c["origin"].startswith("kubernetes:") for c in by.values())
    assert sent == {"superset": [], "grafana": [], "metabase": []}  # identification sends no credential
    assert "disc-secret-1" not in result.stdout + result.stderr and "glsa_disc_token" not in result.stdout


def test_bad_kubernetes_settings_are_one_line_and_exit_2(run_cli, tmp_path: Path):
    (tmp_path / "config.toml").write_text('[discovery.kubernetes]\nnamespace = ["a"]\n')
    result = run_cli("discover")
    assert result.code == 2, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "namespace" in line and "[discovery.kubernetes]" in line and "namespaces" in line, line


def test_a_sweep_finds_and_identifies_what_listens_and_nothing_else(run_cli, tmp_path: Path):
    """[discovery] hosts over loopback addresses and the stand-ins' ports: every stand-in identified, a plain web
    server and a port that accepts and never answers are not, the closed addresses are nothing."""
    import socket

    from scanner.testing.server import LocalServer, Response

    page = LocalServer(lambda r: Response(200, b"<html><title>Intranet</title></html>", {"Content-Type": "text/html"}))
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)
    with contextlib.ExitStack() as stack:
        fakes = {name: stack.enter_context(STAND_INS[name].start(f"sweep-{name}-1", tmp_path))
                 for name in ("superset", "redash", "lightdash")}
        stack.enter_context(page)
        stack.enter_context(contextlib.closing(hung))
        ports = [f._server.port for f in fakes.values()] + [page.port, hung.getsockname()[1]]
        (tmp_path / "config.toml").write_text(
            f'[discovery]\nhosts = ["127.0.0.1", "127.0.0.2-127.0.0.4"]\nports = {json.dumps(ports)}\n'
            '[scan]\ntimeout = 1\ntarget_deadline = 10\n')
        result = run_cli("discover", "--output", "json", env={"REDASH_API_KEY": "sweep-redash-1"}, timeout=120)
        sent = {name: getattr(f, "credentialed", None) or getattr(f, "login_attempts", []) for name, f in fakes.items()}
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    identified = {c["platform"]: c for c in doc["candidates"] if c["platform"]}
    assert sorted(identified) == ["lightdash", "redash", "superset"], doc["candidates"]
    assert {c["url"] for c in doc["candidates"]} == {f"http://127.0.0.1:{p}" for p in ports}  # only what listens
    assert all(c["origin"].startswith("sweep:127.0.0.1:") for c in doc["candidates"])
    assert identified["redash"]["credential"] == "env:REDASH_API_KEY"
    assert identified["superset"]["credential"] is None and "SUPERSET_USERNAME" in identified["superset"]["to_register"]
    assert sent == {"superset": [], "redash": [], "lightdash": []}


def test_bad_sweep_settings_are_one_line_and_exit_2(run_cli, tmp_path: Path):
    for body, words in (('hosts = ["10.0.0.0/33"]', ("10.0.0.0/33",)),
                        ('hosts = ["127.0.0.0/8"]', ("max_candidates",)),
                        ('host = ["127.0.0.1"]', ("host", "hosts"))):
        (tmp_path / "config.toml").write_text(f"[discovery]\n{body}\n")
        result = run_cli("discover")
        assert result.code == 2, (body, result.stdout + result.stderr)
        [line] = result.stderr.strip().splitlines()
        assert all(w in line for w in words), (body, line)


def test_an_instance_declared_and_also_swept_is_listed_once_as_declared_with_its_credential(run_cli, tmp_path: Path):
    with STAND_INS["superset"].start("disc-secret-2", tmp_path) as superset:
        port = superset._server.port
        (tmp_path / "config.toml").write_text(f"[discovery]\nhosts = ['127.0.0.1']\nports = [{port}]\n")
        env = {"SUPERSET_URL": f"http://localhost:{port}/", "SUPERSET_USERNAME": "demo",
               "SUPERSET_PASSWORD": "disc-secret-2"}
        result = run_cli("discover", "--output", "json", env=env)
    assert result.code == 0, result.stderr
    [found] = json.loads(result.stdout)["candidates"]
    assert (found["platform"], found["origin"], found["credential"], found["to_register"]) == \
        ("superset", "env:SUPERSET_URL", "env:SUPERSET_URL", None)


BAD_CREDENTIALS = (
    ("platform = 'supreset'\nhosts = ['127.0.0.1']", "#1.platform", "did you mean 'superset'?"),
    ("hosts = ['127.0.0.1']", "#1.platform", "one of: custom"),
    ("platform = 'superset'\nhosts = ['10.0.0.0/77']", "#1.hosts", "'10.0.0.0/77' is not a CIDR range"),
    ("platform = 'superset'\nhosts = ['127.0.0.1']\nusrname = 'x'\npassword = 'y'", "#1.usrname",
     "unknown key 'usrname' (did you mean 'username'?)"),
    ("platform = 'superset'\nhosts = ['127.0.0.1']\nusername = 'x'\npassword = '${NOT_SET_ANYWHERE}'", "#1.password",
     "NOT_SET_ANYWHERE"),
)


def test_a_bad_credentials_table_is_a_problem_for_discover_and_stops_scan_with_one_line(run_cli, tmp_path: Path):
    """discover lists it with the others' results; scan stops before probing (exit 2): a credential with a typo would
    leave the instances it was meant for unregistered without a word."""
    for body, where, words in BAD_CREDENTIALS:
        (tmp_path / "config.toml").write_text(f"[discovery]\nhosts = ['127.0.0.1']\nports = [9]\n"
                                              f"[[credentials]]\n{body}\n")
        found = run_cli("discover", "--output", "json")
        assert found.code == 1, (body, found.stderr)  # the user's own settings are wrong, as for scan
        [problem] = json.loads(found.stdout)["problems"]
        assert problem["origin"].endswith(f"[[credentials]]{where}") and words in " ".join(
            (problem["message"], f"({problem['hint']})")), (body, problem)
        table = run_cli("discover")
        assert f"[[credentials]]{where}: " in table.stdout and words in table.stdout.replace("\n", " "), body

        scan = run_cli("scan", "--dry-run", "--output", "json")
        assert scan.code == 2 and scan.stdout == "", (body, scan.stdout, scan.stderr)
        [line] = scan.stderr.strip().splitlines()
        assert f"config.toml:[[credentials]]{where}" in line and words in line and "Traceback" not in line, line


def _installed_package(root: Path, name: str, module_text: str, entry: str) -> None:
    """A distribution as pip would leave it: the module and its dist-info with a scanner.sources entry point."""
    (root / f"{name}.py").write_text(module_text)
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[scanner.sources]\n{entry}\n")


def test_a_third_party_source_is_listed_and_used_and_a_broken_one_disabled(run_cli, tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    with STAND_INS["grafana"].start("glsa_cmdb_token", tmp_path) as grafana:
        _installed_package(site, "acme_cmdb", (
            "from scanner.discovery import Candidate\n"
            "from scanner.discovery.source import Source\n\n"
            "class Cmdb(Source):\n"
            "    name, title = 'cmdb', 'the ACME CMDB'\n\n"
            "    def candidates(self, settings, plugins, deadline):\n"
            f"        return [Candidate('{grafana.url}', 'cmdb:asset-4711')], []\n\n"
            "source = Cmdb()\n"), "cmdb = acme_cmdb:source")
        _installed_package(site, "acme_broken", "import no_such_dependency_xyz\n", "broken = acme_broken:source")
        env = {"PYTHONPATH": str(site)}
        listed = json.loads(run_cli("plugins", "--output", "json", env=env).stdout)["sources"]
        result = run_cli("discover", "--output", "json", env=env)
    by = {s["name"]: s for s in listed}
    assert by["cmdb"]["status"] == "enabled" and by["cmdb"]["title"] == "the ACME CMDB"
    assert by["broken"]["status"] == "disabled" and "no_such_dependency_xyz" in by["broken"]["error"]
    assert by["broken"]["hint"] == "pip install no_such_dependency_xyz"
    doc = json.loads(result.stdout)
    [found] = [c for c in doc["candidates"] if c["origin"] == "cmdb:asset-4711"]
    assert found["platform"] == "grafana"
    assert any(p["origin"] == "source broken" and "disabled" in p["message"] for p in doc["problems"])


def test_scan_registers_found_instances_with_a_credential_and_reports_the_others(run_cli, tmp_path: Path, catalog):
    """The issue's end to end: a sweep finds three stand-ins; the two a credential applies to are probed and
    registered like declared targets, the third is `no_credentials` (found, not registered, never written) with what
    to set, and recorded in the inventory; the run is not a failure (exit 0)."""
    from conftest import catalog_env

    with contextlib.ExitStack() as stack:
        fakes = {name: stack.enter_context(STAND_INS[name].start(f"scan-{name}-1", tmp_path))
                 for name in ("superset", "grafana", "redash")}
        ports = sorted(f._server.port for f in fakes.values())
        (tmp_path / "config.toml").write_text(
            f'[discovery]\nhosts = ["127.0.0.1"]\nports = {json.dumps(ports)}\n\n'
            '[[credentials]]\nplatform = "grafana"\nhosts = ["127.0.0.0/8"]\napiKey = "${GRAFANA_TOKEN}"\n')
        env = {**catalog_env(catalog), "GRAFANA_TOKEN": "scan-grafana-1", "SUPERSET_USERNAME": "demo",
               "SUPERSET_PASSWORD": "scan-superset-1"}
        inv = tmp_path / "inv.sqlite3"
        result = run_cli("scan", "--output", "json", "--inventory", str(inv), env=env, timeout=120)
        history = run_cli("inventory", "--output", "json", "--inventory", str(inv), env=env)
    assert result.code == 0, result.stdout[-2000:] + result.stderr
    by = {t["platform"]: t for t in json.loads(result.stdout)["targets"]}
    assert {p: (t["status"], t["taken"]) for p, t in by.items()} == {
        "superset": ("ok", "created"), "grafana": ("ok", "created"), "redash": ("no_credentials", "skipped")}
    assert by["redash"]["origin"].startswith("sweep:127.0.0.1:") and "REDASH_API_KEY" in by["redash"]["hint"]
    assert sorted(catalog.services) == sorted([by["superset"]["service_name"], by["grafana"]["service_name"]])
    assert "redash" in history.stdout and "no_credentials" in history.stdout
    import sqlite3

    with sqlite3.connect(inv) as db:
        origins = dict(db.execute("SELECT platform, origin FROM observations"))
    assert origins["redash"].startswith("sweep:127.0.0.1:") and origins["superset"].startswith("sweep:127.0.0.1:")
    assert "scan-superset-1" not in result.stdout + result.stderr


def test_a_sweep_over_a_loopback_range_identifies_every_identifiable_platform(run_cli, tmp_path: Path):
    """The issue's first "done when": stand-ins of every platform plugin with an identification, spread over
    127.0.0.0/28, among a plain web server and a port that accepts and never answers: each stand-in identified as its
    own platform at its own address, the other two as nothing, no credential sent anywhere."""
    import socket

    from scanner.testing.server import LocalServer, Response

    names = ["superset", "looker", "tableau", "metabase", "redash", "lightdash", "grafana", "qlikcloud"]
    with contextlib.ExitStack() as stack:
        fakes = {name: stack.enter_context(STAND_INS[name].start(f"range-{name}-1", tmp_path).at(f"127.0.0.{n}"))
                 for n, name in enumerate(names, start=2)}
        qlik = stack.enter_context(STAND_INS["qliksense"].start("unused", tmp_path))  # its three ports: 127.0.0.1
        page = stack.enter_context(LocalServer(lambda r: Response(200, b"<html><title>Wiki</title></html>",
                                                                  {"Content-Type": "text/html"}, ), host="127.0.0.12"))
        hung = stack.enter_context(contextlib.closing(socket.socket()))
        hung.bind(("127.0.0.13", 0))
        hung.listen(8)
        where = {name: f.url for name, f in fakes.items()} | {"qliksense": qlik.base_url}
        ports = sorted({int(u.rsplit(":", 1)[1].split("/")[0]) for u in where.values()}
                       | {page.port, hung.getsockname()[1]})
        (tmp_path / "config.toml").write_text(
            f'[discovery]\nhosts = ["127.0.0.0/28"]\nports = {json.dumps(ports)}\n[scan]\ntimeout = 1\n')
        result = run_cli("discover", "--output", "json", timeout=180)
        sent = {n: getattr(f, "credentialed", None) or getattr(f, "login_attempts", None) or [] for n, f in fakes.items()}
        nothing = {f"http://127.0.0.12:{page.port}", f"http://127.0.0.13:{hung.getsockname()[1]}"}
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    identified = {c["platform"]: c["base_url"] for c in doc["candidates"] if c["platform"]}
    assert identified.keys() == where.keys(), (identified, where)
    for name, url in where.items():
        assert identified[name].rstrip("/") == url.rstrip("/"), (name, identified[name], url)
    others = {c["url"] for c in doc["candidates"] if not c["platform"]}
    assert nothing <= others
    assert all(not v for v in sent.values()), sent
