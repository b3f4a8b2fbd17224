"""TLS with a self-signed certificate (a throwaway CA made here with trustme), for every BI platform.

Rejected by default as ``tls_error`` with a hint and before any credential is sent; accepted with the
target's CA bundle; accepted with verification off only for the target that says so, and then the
registered connection says so too. Also: LocalServer's own TLS (keep-alive, quiet failed handshakes,
fast stop) that the fakes rely on.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from conftest import catalog_env
from schemas import validate

from scanner.testing.fake_looker import FakeLooker, LookerApiUser
from scanner.testing.fake_superset import FakeSuperset, FakeUser
from scanner.testing.fake_tableau import FakeTableau
from scanner.testing.server import LocalServer, Request, Response

SECRET = "tls-secret-6a1f0c"  # the probing target's password / client secret / PAT secret
STRICT_SECRET = "strict-secret-2d9e47"  # the other target's


# -- the three platforms, described once -------------------------------------------------------------


@dataclass(frozen=True)
class Platform:
    name: str
    prefix: str  # of *_VERIFY_SSL / *_CA_BUNDLE
    schema: str
    fake: Callable[[ssl.SSLContext | None], Any]
    env: Callable[[str, str, str, str], dict[str, str]]  # (suffix, url, principal, secret) -> env
    principal: str  # who the probing target logs in as
    strict_principal: str  # who the strictly verifying target would log in as
    logins: Callable[[Any], list[str]]  # principals that reached the fake's login
    served: Callable[[Any], int]  # requests that reached the fake's app
    ssl_part: Callable[[dict], dict] | None  # where verifySSL/sslConfig live in the registered config


SUPERSET = Platform(
    name="superset", prefix="SUPERSET", schema="SupersetConnection.json",
    fake=lambda tls: FakeSuperset(users={"scanner": FakeUser(SECRET), "strict": FakeUser(STRICT_SECRET)}, tls=tls),
    env=lambda sfx, url, who, secret: {f"SUPERSET_URL__{sfx}": url, f"SUPERSET_USERNAME__{sfx}": who,
                                       f"SUPERSET_PASSWORD__{sfx}": secret},
    principal="scanner", strict_principal="strict",
    logins=lambda fake: [attempt["username"] for attempt in fake.login_attempts],
    served=lambda fake: fake.served,
    ssl_part=lambda config: config["connection"],
)
LOOKER = Platform(
    name="looker", prefix="LOOKERSDK", schema="LookerConnection.json",
    fake=lambda tls: FakeLooker(clients={"scanner-id": LookerApiUser(SECRET),
                                         "strict-id": LookerApiUser(STRICT_SECRET)}, tls=tls),
    env=lambda sfx, url, who, secret: {f"LOOKERSDK_BASE_URL__{sfx}": url, f"LOOKERSDK_CLIENT_ID__{sfx}": who,
                                       f"LOOKERSDK_CLIENT_SECRET__{sfx}": secret},
    principal="scanner-id", strict_principal="strict-id",
    logins=lambda fake: [r.client_id for r in fake.requests if r.path.endswith("/login")],
    served=lambda fake: len(fake.requests),
    ssl_part=None,  # LookerConnection has no SSL fields
)
TABLEAU = Platform(
    name="tableau", prefix="TABLEAU", schema="TableauConnection.json",
    fake=lambda tls: FakeTableau(tokens={"scanner-pat": SECRET, "strict-pat": STRICT_SECRET}, tls=tls),
    env=lambda sfx, url, who, secret: {f"TABLEAU_URL__{sfx}": url, f"TABLEAU_TOKEN_NAME__{sfx}": who,
                                       f"TABLEAU_TOKEN_SECRET__{sfx}": secret},
    principal="scanner-pat", strict_principal="strict-pat",
    logins=lambda fake: [r.principal for r in fake.requests if r.path.endswith("/auth/signin")],
    served=lambda fake: len(fake.requests),
    ssl_part=lambda config: config,
)
PLATFORMS = [pytest.param(p, id=p.name) for p in (SUPERSET, LOOKER, TABLEAU)]


def target_env(platform: Platform, suffix: str, url: str, *, strict: bool = False, **tls: str) -> dict[str, str]:
    """Env for one target; ``tls`` keys are VERIFY_SSL / CA_BUNDLE."""
    who, secret = (platform.strict_principal, STRICT_SECRET) if strict else (platform.principal, SECRET)
    env = platform.env(suffix, url, who, secret)
    env.update({f"{platform.prefix}_{key}__{suffix}": value for key, value in tls.items()})
    return env


def scan(run_cli, env: dict[str, str]):
    result = run_cli("scan", "--output", "json", env=env)
    assert result.stdout, result.stderr
    return result, {t["instance"]: t for t in json.loads(result.stdout)["targets"]}


def registered(catalog, service: str) -> dict:
    """The one PUT that registered ``service``, checked against the schemas; its connection config."""
    [put] = [c for c in catalog.calls("PUT") if isinstance(c.json, dict) and c.json["name"] == service]
    validate(put.json)
    return put.json["connection"]["config"]


def assert_rejected_certificate(entry: dict, platform: Platform) -> None:
    assert entry["status"] == "tls_error", entry
    assert "certificate" in entry["message"], entry["message"]
    # the hint names this platform's own variables
    assert f"{platform.prefix}_CA_BUNDLE=" in entry["hint"] and f"{platform.prefix}_VERIFY_SSL" in entry["hint"], entry
    assert "(_ssl.c" not in entry["message"] and entry["message"].count("(") == entry["message"].count(")")
    steps = entry["steps"]
    assert steps[0]["name"] == "Reach" and steps[0]["status"] == "failed"
    assert {s["status"] for s in steps[1:]} == {"skipped"}  # nothing after the handshake ran


# -- a. rejected by default ---------------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_self_signed_certificate_is_rejected_by_default_before_any_credential(
    platform, server_tls, run_cli, catalog, capfd
):
    with platform.fake(server_tls) as fake:
        assert fake.url.startswith("https://127.0.0.1:")
        result, by = scan(run_cli, {**catalog_env(catalog), **target_env(platform, "A", fake.url)})
        assert platform.served(fake) == 0  # no request (so no credential) crossed the unverified channel
        assert platform.logins(fake) == []
    assert result.code == 1, result.stderr
    assert list(by) == ["a"]
    assert_rejected_certificate(by["a"], platform)
    assert catalog.services == {} and catalog.calls("PUT") == []
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in capfd.readouterr().err  # the fake dropped the rejecting client quietly


# -- b. accepted with the target's CA bundle ----------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_targets_ca_bundle_is_trusted_and_registered(platform, server_tls, ca_pem, run_cli, catalog):
    with platform.fake(server_tls) as fake:
        url = fake.url
        env = {**catalog_env(catalog), **target_env(platform, "TRUSTED", url, CA_BUNDLE=str(ca_pem)),
               **target_env(platform, "STRICT", url, strict=True)}  # same server, no bundle
        result, by = scan(run_cli, env)
        logins = platform.logins(fake)
    assert result.code == 1, result.stderr  # STRICT failed
    assert by["trusted"]["status"] == "ok", by["trusted"]
    assert_rejected_certificate(by["strict"], platform)  # one target's bundle is not another's
    assert platform.strict_principal not in logins and platform.principal in logins

    assert sorted(catalog.services) == [f"{platform.name}_trusted"]
    config = registered(catalog, f"{platform.name}_trusted")
    validate(config, platform.schema)
    assert config["hostPort"] == url and url.startswith("https://")
    if platform.ssl_part is None:
        assert config == {"type": "Looker", "hostPort": url, "clientId": "scanner-id", "clientSecret": SECRET}
        assert any("ingestion host must trust this CA" in w for w in by["trusted"]["warnings"])
    elif platform.name == "tableau":  # its connector writes the PEM text to a file: the CA goes in the config
        part = platform.ssl_part(config)
        assert part["verifySSL"] == "validate"
        assert part["sslConfig"] == {"caCertificate": ca_pem.read_text()}
    else:  # Superset's connector reads caCertificate as a path on the ingestion host: no CA text, a warning
        part = platform.ssl_part(config)
        assert part["verifySSL"] == "no-ssl" and "sslConfig" not in part
        assert any("SUPERSET_INGESTION_CA_PATH" in w and "ingestion host" in w for w in by["trusted"]["warnings"])
    assert SECRET not in result.stdout + result.stderr


# -- c + d. verification off, for one target only -----------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_verification_off_is_accepted_only_for_the_target_that_says_so(platform, server_tls, run_cli, catalog):
    with platform.fake(server_tls) as fake:
        url = fake.url
        env = {**catalog_env(catalog), **target_env(platform, "OFF", url, VERIFY_SSL="false"),
               **target_env(platform, "STRICT", url, strict=True)}  # same server, verification on
        result, by = scan(run_cli, env)
        logins = platform.logins(fake)
    assert result.code == 1, result.stderr
    assert by["off"]["status"] == "ok", by["off"]
    assert_rejected_certificate(by["strict"], platform)  # "off" did not leak to the other target
    assert logins == [platform.principal]  # exactly one login, the OFF target's

    assert sorted(catalog.services) == [f"{platform.name}_off"]
    config = registered(catalog, f"{platform.name}_off")
    validate(config, platform.schema)
    assert config["hostPort"] == url
    if platform.ssl_part is None:
        assert config == {"type": "Looker", "hostPort": url, "clientId": "scanner-id", "clientSecret": SECRET}
    else:
        part = platform.ssl_part(config)
        assert part["verifySSL"] == "ignore"
        assert "sslConfig" not in part
    assert SECRET not in result.stdout + result.stderr and STRICT_SECRET not in result.stdout + result.stderr


# -- scheme mismatches --------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_https_url_on_a_plain_http_server_is_a_tls_error_saying_so(platform, run_cli):
    with platform.fake(None) as fake:
        url = fake.url.replace("http://", "https://")
        result, by = scan(run_cli, target_env(platform, "A", url))
        assert platform.logins(fake) == []
    assert by["a"]["status"] == "tls_error", by["a"]
    assert "does not speak TLS" in by["a"]["message"] and "http://" in by["a"]["message"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_http_url_on_a_tls_server_fails_without_sending_credentials(platform, server_tls, run_cli, catalog):
    with platform.fake(server_tls) as fake:
        url = fake.url.replace("https://", "http://")
        result, by = scan(run_cli, {**catalog_env(catalog), **target_env(platform, "A", url)})
        assert platform.served(fake) == 0 and platform.logins(fake) == []
    entry = by["a"]
    assert entry["status"] in ("tls_error", "unreachable"), entry
    assert url.removeprefix("http://") in entry["message"]  # names the address it tried
    assert catalog.services == {}
    assert SECRET not in result.stdout + result.stderr


def test_http_url_on_a_tls_server_suggests_https(server_tls, run_cli):
    with SUPERSET.fake(server_tls) as fake:
        _, by = scan(run_cli, target_env(SUPERSET, "A", fake.url.replace("https://", "http://")))
    assert "https://" in by["a"]["message"] + by["a"]["hint"]


# -- the fakes and LocalServer ------------------------------------------------------------------------


def test_fake_looker_reports_https_addresses_under_tls(server_tls, ca_pem):
    with FakeLooker(tls=server_tls) as fake:
        url = fake.url
        assert url == f"https://127.0.0.1:{fake.port}"
        versions = requests.get(url + "/versions", verify=str(ca_pem), timeout=10).json()
    assert versions["api_server_url"] == versions["web_server_url"] == url
    assert versions["current_version"]["swagger_url"].startswith(url + "/api/")


@pytest.mark.parametrize("make", [FakeSuperset, FakeLooker, FakeTableau], ids=["superset", "looker", "tableau"])
def test_fakes_stay_plain_http_without_tls(make):
    with make() as fake:
        assert fake.url.startswith("http://127.0.0.1:")


def _echo(request: Request) -> Response:
    if request.path == "/reset":
        return Response(reset=True)
    return Response.json({"path": request.path, "body": request.body.decode(), "port": request.client_address[1]})


def test_local_server_speaks_tls_with_keep_alive(server_tls, ca_pem):
    with LocalServer(_echo, ssl_context=server_tls) as server, requests.Session() as session:
        assert server.url == f"https://127.0.0.1:{server.port}" and server.scheme == "https"
        first = session.post(server.url + "/a", data=b"hello", verify=str(ca_pem), timeout=10).json()
        second = session.get(server.url + "/b", verify=str(ca_pem), timeout=10).json()
    assert first["path"] == "/a" and first["body"] == "hello" and second["path"] == "/b"
    assert first["port"] == second["port"]  # one connection, one handshake


def test_local_server_drops_rejecting_and_plain_clients_quietly(server_tls, ca_pem, capfd):
    with LocalServer(_echo, ssl_context=server_tls) as server:
        with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            requests.get(server.url + "/x", timeout=10)  # certifi does not know the throwaway CA
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(server.url.replace("https://", "http://") + "/x", timeout=10)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(server.url + "/reset", verify=str(ca_pem), timeout=10)  # Response(reset=True) still works
        assert requests.get(server.url + "/ok", verify=str(ca_pem), timeout=10).json()["path"] == "/ok"
    err = capfd.readouterr().err
    assert "Traceback" not in err and "SSLError" not in err and "ssl" not in err.lower(), err


def test_a_silent_client_blocks_neither_other_clients_nor_stop(server_tls, ca_pem):
    server = LocalServer(_echo, ssl_context=server_tls).start()
    try:
        silent = socket.create_connection(("127.0.0.1", server.port))  # connects, never says hello
        started = time.monotonic()
        assert requests.get(server.url + "/x", verify=str(ca_pem), timeout=5).status_code == 200
        assert time.monotonic() - started < 2
    finally:
        started = time.monotonic()
        server.stop()
        stopped_in = time.monotonic() - started
    silent.close()
    assert stopped_in < 2
    assert not server.running


def test_local_server_rejects_a_non_context():
    with pytest.raises(TypeError, match="SSLContext"):
        LocalServer(_echo, ssl_context="cert.pem")  # type: ignore[arg-type]


def test_superset_registers_the_ca_path_the_ingestion_host_has(server_tls, ca_pem, run_cli, catalog):
    """OpenMetadata's Superset connector reads sslConfig.caCertificate as a file path: given one, scanner
    registers it (and no warning), while its own probe still trusts the PEM file it was given."""
    with SUPERSET.fake(server_tls) as fake:
        env = {**catalog_env(catalog), **target_env(SUPERSET, "PATH", fake.url, CA_BUNDLE=str(ca_pem),
                                                    INGESTION_CA_PATH="/opt/ingestion/certs/private-ca.pem")}
        result, by = scan(run_cli, env)
    assert result.code == 0, result.stderr
    assert by["path"]["warnings"] == []
    part = registered(catalog, "superset_path")["connection"]
    assert part["verifySSL"] == "validate"
    assert part["sslConfig"] == {"caCertificate": "/opt/ingestion/certs/private-ca.pem"}
