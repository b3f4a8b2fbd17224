"""Secrets canary: unique secret values through every path, and nowhere they must not be.

Paths: table and JSON reports, dry run with payloads, -vvv logs, error lines (a server that echoes the
password back, a wrong secret, a catalog error), `config`, `inventory`, `history`, the inventory files,
reprs of settings, targets and results, and the fake catalog's request log (only the PUT bodies may
carry the secrets: that is where OpenMetadata needs them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BOT_TOKEN, catalog_env

from scanner.testing.fake_looker import FakeLooker, LookerApiUser
from scanner.testing.fake_superset import FakeSuperset, FakeUser
from scanner.testing.fake_tableau import FakeTableau
from scanner.testing.server import LocalServer, Request, Response

CANARIES = {
    "superset": "canary-sup-5f1e9b7c",
    "echo": "canary-echo-03d8e2aa",
    "looker": "canary-lk-9a7c41d2",
    "looker_wrong": "canary-lkwrong-77e0",
    "tableau_pat": "canary-pat-2c6b90f1",
    "tableau_pw": "canary-tpw-e41d5a3b",
    "catalog": BOT_TOKEN,
}


@pytest.fixture
def stand_ins():
    echo_fake = FakeSuperset(users={"admin": FakeUser("unused")})

    def echo(request: Request) -> Response:  # a Superset that echoes the password in its error
        if request.path == "/api/v1/security/login":
            return Response.json({"message": f"password {request.json().get('password')} is not allowed"}, 400)
        return echo_fake._app(request)

    with FakeSuperset(users={"admin": FakeUser(CANARIES["superset"])}) as superset, \
            FakeLooker(clients={"cid": LookerApiUser(CANARIES["looker"])}) as looker, \
            FakeTableau(tokens={"pat": CANARIES["tableau_pat"]}, users={"analyst": CANARIES["tableau_pw"]}) as tableau, \
            LocalServer(echo) as echo_server:
        yield {"superset": superset, "looker": looker, "tableau": tableau, "echo": echo_server}


def canary_env(s: dict) -> dict[str, str]:
    return {
        "SUPERSET_URL__A": s["superset"].url, "SUPERSET_USERNAME__A": "admin", "SUPERSET_PASSWORD__A": CANARIES["superset"],
        "SUPERSET_URL__ECHO": s["echo"].url, "SUPERSET_USERNAME__ECHO": "admin",
        "SUPERSET_PASSWORD__ECHO": CANARIES["echo"],
        "LOOKERSDK_BASE_URL__A": s["looker"].url, "LOOKERSDK_CLIENT_ID__A": "cid",
        "LOOKERSDK_CLIENT_SECRET__A": CANARIES["looker"],
        "LOOKERSDK_BASE_URL__WRONG": s["looker"].url, "LOOKERSDK_CLIENT_ID__WRONG": "cid",
        "LOOKERSDK_CLIENT_SECRET__WRONG": CANARIES["looker_wrong"],
        "TABLEAU_URL__PAT": s["tableau"].url, "TABLEAU_TOKEN_NAME__PAT": "pat",
        "TABLEAU_TOKEN_SECRET__PAT": CANARIES["tableau_pat"],
        "TABLEAU_URL__PW": s["tableau"].url, "TABLEAU_USERNAME__PW": "analyst", "TABLEAU_PASSWORD__PW": CANARIES["tableau_pw"],
    }


def leaks(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [name for name, value in CANARIES.items() if value.encode() in data]


def test_no_secret_leaks_through_any_output(run_cli, tmp_path, stand_ins, catalog):
    env = {**catalog_env(catalog), **canary_env(stand_ins)}
    inv = tmp_path / "inv.sqlite3"
    outputs = {
        "dry-run table": run_cli("scan", "--dry-run", "-vvv", "--inventory", str(inv), env=env),
        "dry-run json": run_cli("scan", "--dry-run", "--output", "json", "--inventory", str(inv), env=env),
        "table": run_cli("scan", "-vvv", "--inventory", str(inv), env=env),
        "json": run_cli("scan", "--output", "json", "-vvv", "--inventory", str(inv), env=env),
        "config": run_cli("config", env=env),
        "config json": run_cli("config", "--output", "json", env=env),
        "inventory": run_cli("inventory", "--output", "json", "--inventory", str(inv), env=env),
        "history": run_cli("history", "superset_echo", "--inventory", str(inv), env=env),
    }
    # the run did what it should: good targets registered, the echoing and wrong ones failed
    report = {t["service_name"]: t for t in json.loads(outputs["json"].stdout)["targets"]}
    assert {k: v["status"] for k, v in report.items()} == {
        "superset_a": "ok", "superset_echo": "auth_failed", "looker_a": "ok", "looker_wrong": "auth_failed",
        "tableau_pat": "ok", "tableau_pw": "ok"}
    assert "password ********* is not allowed" in report["superset_echo"]["message"]  # the echo was masked
    assert "*********" in outputs["dry-run table"].stdout  # payloads shown, secrets masked
    for label, result in outputs.items():
        assert not leaks(result.stdout), (label, "stdout", leaks(result.stdout))
        assert not leaks(result.stderr), (label, "stderr", leaks(result.stderr))
        assert "Traceback" not in result.stderr, label
    assert "DEBUG" in outputs["table"].stderr  # -vvv did log

    files = [p for p in tmp_path.iterdir() if p.name.startswith("inv.sqlite3")]
    assert files and not any(leaks(p.read_bytes()) for p in files)

    # the catalog's log: secrets only in the PUT bodies, where OpenMetadata needs them
    carried = set()
    for call in catalog.requests:
        is_put = call.method == "PUT" and call.path.startswith("/api/v1/services/dashboardServices")
        found = leaks(call.body) + leaks(call.path) + leaks(json.dumps(call.query))
        if is_put:
            carried.update(found)
        else:
            assert not found, (call.method, call.path, found)
    assert carried == {"superset", "looker", "tableau_pat", "tableau_pw"}


def test_reprs_and_exceptions_never_show_secrets(stand_ins, tmp_path):
    from scanner import registry
    from scanner.runner import run_once
    from scanner.settings import load_settings
    from scanner.targets import collect_targets

    env = {**canary_env(stand_ins), "SCANNER_INVENTORY": str(tmp_path / "inv.sqlite3"), "HOME": str(tmp_path)}
    settings = load_settings(environ=env, flags={"scan.dry_run": True})
    entries = registry.discover()
    targets = collect_targets(settings, entries)
    result = run_once(settings, entries)
    texts = [repr(settings), str(settings), repr(targets), repr(result), repr(result.items)]
    texts += [repr(t.settings) + str(t.settings) + repr(t.settings.model_dump()) for t in targets]
    texts += [repr(i.probe) + repr(i.request) + str(i.error) for i in result.items]
    for item in result.items:
        if item.request is not None:
            texts.append(json.dumps(item.request.payload(reveal_secrets=False)))
    for text in texts:
        assert not leaks(text), leaks(text)
    revealed = [json.dumps(i.request.payload(reveal_secrets=True)) for i in result.items if i.request is not None]
    assert set().union(*(leaks(t) for t in revealed)) == {"superset", "looker", "tableau_pat", "tableau_pw"}


def test_errors_from_a_failing_catalog_do_not_echo_the_token(run_cli, tmp_path, stand_ins, catalog):
    catalog.inject(500, times=None, method="GET", body={"code": 500, "message": f"boom {BOT_TOKEN}"})
    env = {**catalog_env(catalog), **canary_env(stand_ins)}
    result = run_cli("scan", "--inventory", str(tmp_path / "inv.sqlite3"), env=env)
    assert result.code == 1 and "-> 500: boom *********" in result.stdout  # the catalog's echo, masked
    assert not leaks(result.stdout + result.stderr)
    assert not any(leaks(p.read_bytes()) for p in Path(tmp_path).iterdir() if p.name.startswith("inv.sqlite3"))


def test_no_secret_of_any_platform_leaks(run_cli, tmp_path, catalog):
    """Every platform's stand-in (the demo's), each with its own canary secret, through the table and JSON
    reports with -vvv, a dry run, `config`, `inventory` and the inventory files: the secrets reach the catalog's
    PUT bodies and nothing else. Wrong secrets for each platform too (their error paths)."""
    import contextlib

    from scanner.demo import STAND_INS

    canaries = {name: f"canary-{name}-7d1e{n:02d}" for n, name in enumerate(STAND_INS) if name != "custom"}
    # Qlik Sense's credential is its certificate folder (its private key never leaves that file): no wrong secret
    wrong = {name: f"canary-wrong-{name}-3b{n:02d}" for n, name in enumerate(canaries) if name != "qliksense"}
    everything = {**canaries, **wrong}
    inv = tmp_path / "inv.sqlite3"
    with contextlib.ExitStack() as stack:
        env = catalog_env(catalog)
        for name, secret in canaries.items():
            stand_in = STAND_INS[name]
            fake = stack.enter_context(stand_in.start(secret, tmp_path))
            env.update(stand_in.env(fake, secret, "__OK", tmp_path))
            if name in wrong:
                env.update(stand_in.env(fake, wrong[name], "__BAD", tmp_path))
        outputs = {
            "dry-run": run_cli("scan", "--dry-run", "-vvv", "--inventory", str(inv), env=env, timeout=180),
            "table": run_cli("scan", "-vvv", "--inventory", str(inv), env=env, timeout=180),
            "json": run_cli("scan", "--output", "json", "-vvv", "--inventory", str(inv), env=env, timeout=180),
            "config": run_cli("config", "--output", "json", env=env),
            "inventory": run_cli("inventory", "--output", "json", "--inventory", str(inv), env=env),
        }
    report = {t["service_name"]: t for t in json.loads(outputs["json"].stdout)["targets"]}
    statuses = {name: t["status"] for name, t in report.items()}
    assert {s for n, s in statuses.items() if "_ok" in n} == {"ok"}, statuses
    assert [n for n, s in statuses.items() if "_bad" in n and s == "ok"] == []
    for label, result in outputs.items():
        for stream in (result.stdout, result.stderr):
            found = [n for n, v in everything.items() if v in stream]
            assert not found, (label, found)
        assert "Traceback" not in result.stderr, label
    files = [p for p in tmp_path.iterdir() if p.name.startswith("inv.sqlite3")]
    assert files and not any(v.encode() in p.read_bytes() for p in files for v in everything.values())
    for call in catalog.requests:
        if call.method == "PUT" and call.path.startswith("/api/v1/services/dashboardServices"):
            continue
        blob = call.body + call.path.encode() + json.dumps(call.query).encode()
        assert not [n for n, v in everything.items() if v.encode() in blob], (call.method, call.path)
