"""Every platform probe against every other platform's stand-in and a plain web server: ``not_detected``, never
registered as the wrong type, and no credential sent (issue 13's cross-platform rule); and every new platform
over https with a certificate nobody trusts: ``tls_error`` by default.

The platforms with a tenant or instance of their own to recognise (not Power BI, Mode or Domo, whose vendor hosts
are fixed and whose credential is the only proof). One `scanner scan` run holds all 8 x 8 wrong pairings (each plugin's variables pointed at each other stand-in
and at the plain server), so the matrix costs one process start."""

from __future__ import annotations

import contextlib
import json
import threading

import pytest
from conftest import catalog_env

from scanner.testing.fake_grafana import FakeGrafana, ServiceAccount
from scanner.testing.fake_lightdash import FakeLightdash
from scanner.testing.fake_lightdash import FakeUser as LightdashUser
from scanner.testing.fake_looker import FakeLooker, LookerApiUser
from scanner.testing.fake_metabase import FakeMetabase, MetabaseAccount
from scanner.testing.fake_qlikcloud import FakeQlikCloud
from scanner.testing.fake_qlikcloud import QlikUser as QlikCloudUser
from scanner.testing.fake_redash import FakeRedash, RedashUser
from scanner.testing.fake_superset import FakeSuperset, FakeUser
from scanner.testing.fake_tableau import FakeTableau
from scanner.testing.server import LocalServer, Request, Response

SECRET = "xplat-secret-7f3a9c"
GRAFANA_TOKEN = "glsa_xplat_token_7f3a9c"

# each plugin's variables, for a target named by `suffix` at `url`; every credential is the canary SECRET
CREDENTIALS = {
    "superset": lambda url, s: {f"SUPERSET_URL__{s}": url, f"SUPERSET_USERNAME__{s}": "admin",
                                f"SUPERSET_PASSWORD__{s}": SECRET},
    "looker": lambda url, s: {f"LOOKERSDK_BASE_URL__{s}": url, f"LOOKERSDK_CLIENT_ID__{s}": "cid",
                              f"LOOKERSDK_CLIENT_SECRET__{s}": SECRET},
    "tableau": lambda url, s: {f"TABLEAU_URL__{s}": url, f"TABLEAU_TOKEN_NAME__{s}": "pat",
                               f"TABLEAU_TOKEN_SECRET__{s}": SECRET},
    "metabase": lambda url, s: {f"METABASE_URL__{s}": url, f"METABASE_API_KEY__{s}": SECRET},
    "redash": lambda url, s: {f"REDASH_URL__{s}": url, f"REDASH_API_KEY__{s}": SECRET},
    "lightdash": lambda url, s: {f"LIGHTDASH_URL__{s}": url, f"LIGHTDASH_API_KEY__{s}": SECRET},
    "grafana": lambda url, s: {f"GRAFANA_URL__{s}": url, f"GRAFANA_SERVICE_ACCOUNT_TOKEN__{s}": GRAFANA_TOKEN},
    "qlikcloud": lambda url, s: {f"QCS_SERVER__{s}": url, f"QCS_API_KEY__{s}": SECRET},
}


def stand_ins(tls=None) -> dict:
    """One stand-in per platform, each accepting the canary credential of its own plugin."""
    return {
        "superset": FakeSuperset(users={"admin": FakeUser(SECRET)}, tls=tls),
        "looker": FakeLooker(clients={"cid": LookerApiUser(SECRET)}, tls=tls),
        "tableau": FakeTableau(tokens={"pat": SECRET}, tls=tls),
        "metabase": FakeMetabase(accounts=[MetabaseAccount("a@example.com", api_key=SECRET)], tls=tls),
        "redash": FakeRedash(users=[RedashUser(SECRET, "a@example.com")], tls=tls),
        "lightdash": FakeLightdash(users={"a": LightdashUser(SECRET)}, tls=tls),
        "grafana": FakeGrafana(tokens={GRAFANA_TOKEN: ServiceAccount("a")}, tls=tls),
        "qlikcloud": FakeQlikCloud(users=[QlikCloudUser(SECRET)], tls=tls),
    }


def credentials_received(name: str, fake) -> int:
    """How many requests brought a credential to this stand-in (login bodies and credential headers)."""
    if name == "superset":
        return len(fake.login_attempts)
    if name == "looker":
        return fake.logins + fake.failed_logins
    if name == "tableau":
        return fake.sign_ins + fake.failed_sign_ins
    return len(fake.credentialed)


@contextlib.contextmanager
def plain_web_server():
    """A web server that is no BI platform: 200 HTML for every path; it records every header name it gets."""
    seen: list[str] = []
    lock = threading.Lock()

    def app(request: Request) -> Response:
        with lock:
            seen.extend(k.lower() for k in request.headers)
            seen.extend(f"body:{SECRET}" for _ in [0] if SECRET.encode() in request.body)
        return Response(200, b"<!DOCTYPE html><html><head><title>Intranet</title></head><body>hi</body></html>",
                        {"Content-Type": "text/html"})

    with LocalServer(app) as server:
        yield server, seen


def test_every_probe_refuses_every_other_platform_and_sends_it_no_credential(run_cli, catalog):
    fakes = stand_ins()
    with contextlib.ExitStack() as stack:
        for fake in fakes.values():
            stack.enter_context(fake)
        plain, plain_seen = stack.enter_context(plain_web_server())
        env = catalog_env(catalog)
        expected = {}
        for plugin, variables in CREDENTIALS.items():
            for other, fake in [*fakes.items(), ("plain", plain)]:
                if other == plugin:
                    continue
                suffix = f"ON_{other.upper()}"
                env.update(variables(fake.url, suffix))
                expected[f"{plugin}_on_{other}"] = plugin
        result = run_cli("scan", "--output", "json", env=env, timeout=300)
        received = {name: credentials_received(name, fake) for name, fake in fakes.items()}
    assert result.stdout, result.stderr[-2000:]
    report = json.loads(result.stdout)
    by = {t["service_name"]: t for t in report["targets"]}
    assert sorted(by) == sorted(expected)
    wrong = {name: (t["status"], t["message"]) for name, t in by.items() if t["status"] != "not_detected"}
    assert wrong == {}
    assert catalog.services == {}  # nothing registered as the wrong type
    assert received == dict.fromkeys(fakes, 0)
    credential_headers = {h for h in plain_seen if h in ("authorization", "x-api-key", "x-metabase-session",
                                                         "x-tableau-auth", "cookie") or h.startswith("body:")}
    assert credential_headers == set()
    assert SECRET not in result.stdout + result.stderr and GRAFANA_TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("platform", ["metabase", "redash", "lightdash", "grafana", "qlikcloud"])
def test_a_certificate_nobody_trusts_is_a_tls_error_by_default(platform, server_tls, run_cli):
    fake = stand_ins(tls=server_tls)[platform]
    with fake:
        result = run_cli("scan", "--output", "json", env=CREDENTIALS[platform](fake.url, "SELF_SIGNED"))
        received = credentials_received(platform, fake)
    [target] = json.loads(result.stdout)["targets"]
    assert result.code == 1
    assert target["status"] == "tls_error", target
    assert "certificate" in target["message"].lower() and "CA" in target["hint"], target
    assert received == 0
