"""Domo plugin over real sockets against the loopback fake (scanner/testing/fake_domo.py: the API host over https
with the test CA, and the instance) and the fake catalog.

Every request goes to 127.0.0.1: the API host (``DOMO_API_HOST``) and the instance (``DOMO_INSTANCE``) are always
pointed at the fake. Whole runs go through ``scanner scan --output json``; the step-level cases call scanner's own
probe runner on a target built as the settings loader builds it.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from conftest import catalog_env
from pydantic import SecretStr
from scan_helpers import put_config, scan

from scanner.http import HttpClient
from scanner.plugin import ProbeContext, ProbeResult, Status, Target
from scanner.probe import run_probe
from scanner.secrets import register
from scanner.testing.fake_domo import DomoApiClient, FakeDomo
from scanner.testing.server import LocalServer, Request, Response
from scanner_domo import DomoSettings, api_host, check_access, instance_label, plugin

ADMIN_ID, ADMIN_SECRET = "admin-client-0c6e", "dm-admin-secret-5c1e9a77f0"
VIEW_ID, VIEW_SECRET = "viewer-client-7a21", "dm-viewer-secret-2d8b4c61aa"
EMPTY_ID, EMPTY_SECRET = "empty-client-3f90", "dm-empty-secret-0b4f2d11c3"
NOSCOPE_ID, NOSCOPE_SECRET = "noscope-client-51d2", "dm-noscope-secret-9e3a6c55d4"
WRONG_SECRET = "dm-wrong-secret-3f6b1a90e5"
DEV_TOKEN = "dm-devtoken-71d08b3e2fa94c"
WRONG_DEV_TOKEN = "dm-devtoken-wrong-44aa0912"
SECRETS = (ADMIN_SECRET, VIEW_SECRET, EMPTY_SECRET, NOSCOPE_SECRET, WRONG_SECRET, DEV_TOKEN, WRONG_DEV_TOKEN)
PAGES, CARDS = 4, 3
STEPS = ["Reach", "CheckAccess", "GetDashboards", "GetCharts"]
CA_WARNING = "the ingestion host must trust this CA"


def clients() -> dict[str, DomoApiClient]:
    return {ADMIN_ID: DomoApiClient(ADMIN_SECRET, "admin"), VIEW_ID: DomoApiClient(VIEW_SECRET, "viewer", "Participant"),
            EMPTY_ID: DomoApiClient(EMPTY_SECRET, "empty", pages=0),
            NOSCOPE_ID: DomoApiClient(NOSCOPE_SECRET, "noscope", scope="data user")}


@pytest.fixture
def domo(server_tls):
    with FakeDomo(clients=clients(), developer_tokens={DEV_TOKEN: "dev"}, pages=PAGES, cards_per_page=CARDS,
                  tls=server_tls) as fake:
        yield fake


def domo_env(name: str, fake: FakeDomo, client_id: str, secret: str, ca_pem=None, dev: str | None = None,
             **extra: str) -> dict[str, str]:
    env = {f"DOMO_INSTANCE__{name}": fake.instance_url, f"DOMO_API_HOST__{name}": fake.api_host,
           f"DOMO_CLIENT_ID__{name}": client_id, f"DOMO_CLIENT_SECRET__{name}": secret}
    if ca_pem is not None:
        env[f"DOMO_CA_BUNDLE__{name}"] = str(ca_pem)
    if dev is not None:
        env[f"DOMO_ACCESS_TOKEN__{name}"] = dev
    env.update({f"DOMO_{k}__{name}": v for k, v in extra.items()})
    return env


def no_secret_in(result) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr


def probe(fake: FakeDomo, ca_pem, client_id: str = ADMIN_ID, secret: str = ADMIN_SECRET, *, url: str | None = None,
          dev: str | None = DEV_TOKEN, deadline_s: float = 20):
    for value in (secret, dev):
        register(value)  # as the settings loader does for every secret it reads
    settings = DomoSettings(url=url or fake.instance_url, apiHost=fake.api_host, clientId=client_id,
                            secretToken=SecretStr(secret), accessToken=SecretStr(dev) if dev else None,
                            ca_bundle=str(ca_pem))
    target = Target("domo", "t", "domo_t", settings, {}, "test")
    return target, run_probe(plugin, target, deadline_s=deadline_s)


# -- whole runs through the scanner command -------------------------------------------------------------------


def test_env_instances_end_to_end(run_cli, domo, catalog, ca_pem, closed_port):
    env = {
        **catalog_env(catalog),
        **domo_env("ADMIN", domo, ADMIN_ID, ADMIN_SECRET, ca_pem, dev=DEV_TOKEN),
        **domo_env("NODEV", domo, VIEW_ID, VIEW_SECRET, ca_pem),
        **domo_env("EMPTY", domo, EMPTY_ID, EMPTY_SECRET, ca_pem),
        **domo_env("NOSCOPE", domo, NOSCOPE_ID, NOSCOPE_SECRET, ca_pem),
        **domo_env("WRONG", domo, ADMIN_ID, WRONG_SECRET, ca_pem),
        **domo_env("BADDEV", domo, ADMIN_ID, ADMIN_SECRET, ca_pem, dev=WRONG_DEV_TOKEN),
        **domo_env("CLOSED", domo, ADMIN_ID, ADMIN_SECRET, ca_pem, API_HOST=f"127.0.0.1:{closed_port}"),
    }
    result, by = scan(run_cli, env)
    assert result.code == 1, result.stderr
    assert {k: v["status"] for k, v in by.items()} == {
        "admin": "ok", "nodev": "ok", "empty": "ok", "noscope": "forbidden", "wrong": "auth_failed",
        "baddev": "auth_failed", "closed": "unreachable",
    }
    admin = by["admin"]
    assert admin["details"] == {"customer": "acmecompany", "role": "Admin", "scope": "dashboard data user",
                                "dashboards": PAGES, "charts": PAGES * CARDS}
    assert [s["name"] for s in admin["steps"]] == STEPS
    assert admin["warnings"] == [w for w in admin["warnings"] if CA_WARNING in w] and len(admin["warnings"]) == 1
    assert "customer 'acmecompany'" in admin["steps"][1]["message"]
    assert admin["steps"][2]["message"] == f"{PAGES} pages (dashboards) (and 1 subpage below them, which " \
                                           "OpenMetadata does not ingest)"
    assert admin["steps"][3]["message"] == f"developer token accepted by the instance; {PAGES * CARDS} charts"

    nodev = by["nodev"]
    assert nodev["details"] == {"customer": "acmecompany", "role": "Participant", "scope": "dashboard data user",
                                "dashboards": PAGES}
    [charts_warning] = [w for w in nodev["warnings"] if CA_WARNING not in w]
    assert "DOMO_ACCESS_TOKEN__NODEV" in charts_warning and "without their charts" in charts_warning
    assert [w for w in by["empty"]["warnings"] if CA_WARNING not in w][0].startswith("0 pages visible")

    noscope = by["noscope"]
    assert "403" in noscope["message"] and "no dashboard scope" in noscope["message"]
    assert "dashboard scope" in noscope["hint"] and "DOMO_CLIENT_ID__NOSCOPE" in noscope["hint"]
    wrong = by["wrong"]
    assert wrong["message"] == ("CheckAccess: Domo did not accept the API client (POST /oauth/token answered 401: "
                                "unauthorized: Bad credentials)")
    assert "DOMO_CLIENT_ID__WRONG" in wrong["hint"] and "DOMO_CLIENT_SECRET__WRONG" in wrong["hint"]
    assert [s["status"] for s in wrong["steps"]] == ["passed", "failed", "skipped", "skipped"]
    baddev = by["baddev"]
    assert "GetCharts" in baddev["message"] and "401" in baddev["message"]
    assert "DOMO_ACCESS_TOKEN__BADDEV" in baddev["hint"] and "developer token" in baddev["hint"]
    closed = by["closed"]
    assert closed["steps"][1]["status"] == "failed" and "DOMO_API_HOST__CLOSED" in closed["hint"]

    assert sorted(catalog.services) == ["domo_admin", "domo_empty", "domo_nodev"]
    assert put_config(catalog, "domo_admin") == {
        "type": "DomoDashboard", "clientId": ADMIN_ID, "secretToken": ADMIN_SECRET, "accessToken": DEV_TOKEN,
        "instanceDomain": domo.instance_url, "apiHost": domo.api_host}
    assert put_config(catalog, "domo_nodev") == {
        "type": "DomoDashboard", "clientId": VIEW_ID, "secretToken": VIEW_SECRET,
        "instanceDomain": domo.instance_url, "apiHost": domo.api_host}
    no_secret_in(result)

    # second run: nothing to write, even through a person's token that sees masked secrets
    catalog.reset_log()
    again, by = scan(run_cli, {**env, "OPENMETADATA_JWT_TOKEN": "user-token-2b8e41"}, "--platform", "domo")
    assert by["admin"]["plan"]["action"] == "unchanged" and by["nodev"]["plan"]["action"] == "unchanged"
    assert catalog.calls("PUT") == []
    no_secret_in(again)


def test_each_credential_goes_only_to_its_own_host(run_cli, domo, ca_pem):
    result, by = scan(run_cli, domo_env("ONE", domo, ADMIN_ID, ADMIN_SECRET, ca_pem, dev=DEV_TOKEN))
    assert by["one"]["status"] == "ok", result.stdout
    page_ids = [FakeDomo.page_id(i) for i in range(1, PAGES + 1)]
    assert domo.credential_headers == [
        ("POST", "/oauth/token", ("authorization",)), *[("GET", "/v1/pages", ("authorization",))] * 2,
        *[("GET", f"/v1/pages/{p}", ("authorization",)) for p in page_ids],
    ]
    assert [r.principal for r in domo.requests] == [None] + ["admin"] * (2 + PAGES)
    # the instance: nothing but the developer token, once; Reach carried nothing
    assert domo.instance.credential_headers == [("GET", "/api/content/v1/cards", ("x-domo-developer-token",))]
    assert [(r.path, r.principal) for r in domo.instance.requests] == [("/", None),
                                                                      ("/api/content/v1/cards", "dev")]
    no_secret_in(result)


def _recording(app):
    seen: list[tuple[str, str, tuple[str, ...]]] = []

    def wrapped(request: Request) -> Response:
        names = tuple(sorted(n.lower() for n in request.headers if n.lower() in ("authorization",
                                                                                   "x-domo-developer-token")))
        seen.append((request.method, request.path, names))
        return app(request)

    return wrapped, seen


def _web_page(request: Request) -> Response:  # any web server: 200 with a page, whatever the path or method
    return Response(200, b"<html><head><title>Welcome</title></head></html>", {"Content-Type": "text/html"})


def _json_api(request: Request) -> Response:  # a JSON API that is not Domo's OAuth endpoint
    return Response.json({"status": "ok", "version": "1.2.3"})


@pytest.mark.parametrize("app", [_web_page, _json_api], ids=["web-page", "json-api"])
def test_an_api_host_that_is_not_domo_is_not_detected(run_cli, domo, server_tls, ca_pem, app):
    """No fingerprint is possible on a fixed vendor host: the client secret goes to the configured API host only
    (its token endpoint), nothing more follows, and the developer token never goes out."""
    wrapped, seen = _recording(app)
    with LocalServer(wrapped, ssl_context=server_tls) as other:
        env = domo_env("X", domo, ADMIN_ID, ADMIN_SECRET, ca_pem, dev=DEV_TOKEN,
                       API_HOST=other.url.removeprefix("https://"))
        result, by = scan(run_cli, env)
    entry = by["x"]
    assert entry["status"] == "not_detected", entry
    assert "not an OAuth access token" in entry["message"] and "DOMO_API_HOST__X" in entry["hint"]
    assert seen == [("POST", "/oauth/token", ("authorization",))]
    assert domo.credential_headers == [] and domo.instance.credential_headers == []
    no_secret_in(result)


def test_an_instance_that_is_not_domo_is_not_detected(run_cli, domo, web, ca_pem):
    wrapped, seen = _recording(_web_page)
    with LocalServer(wrapped) as other:
        env = domo_env("X", domo, ADMIN_ID, ADMIN_SECRET, ca_pem, dev=DEV_TOKEN, INSTANCE=other.url)
        result, by = scan(run_cli, env)
    entry = by["x"]
    assert entry["status"] == "not_detected", entry
    assert "no Domo card API at the instance" in entry["message"] and "DOMO_INSTANCE__X" in entry["hint"]
    # the client secret and its token went to the API host only
    assert [names for _, _, names in seen if names] == [("x-domo-developer-token",)]
    assert {names for _, _, names in domo.credential_headers} == {("authorization",)}
    no_secret_in(result)


def test_https_with_a_private_ca(run_cli, domo, catalog, ca_pem):
    env = {**catalog_env(catalog), **domo_env("CA", domo, ADMIN_ID, ADMIN_SECRET, ca_pem, dev=DEV_TOKEN),
           **domo_env("NOCA", domo, VIEW_ID, VIEW_SECRET),
           **domo_env("OFF", domo, EMPTY_ID, EMPTY_SECRET, VERIFY_SSL="false")}
    result, by = scan(run_cli, env)
    assert {k: v["status"] for k, v in by.items()} == {"ca": "ok", "noca": "tls_error", "off": "ok"}
    assert domo.instance_url.startswith("https://")
    [warning] = by["ca"]["warnings"]
    assert "ingestion host" in warning and "REQUESTS_CA_BUNDLE" in warning
    assert "DOMO_CA_BUNDLE" in by["noca"]["hint"] and "DOMO_VERIFY_SSL" in by["noca"]["hint"]
    off = [w for w in by["off"]["warnings"] if "TLS verification is off" in w]
    assert len(off) == 1 and "ingestion host" in off[0]
    assert put_config(catalog, "domo_ca")["instanceDomain"] == domo.instance_url
    no_secret_in(result)


def test_an_api_host_speaking_plain_http_is_a_tls_error_naming_the_variable(run_cli, ca_pem):
    with FakeDomo(clients=clients(), tls=None) as fake:
        result, by = scan(run_cli, domo_env("PLAIN", fake, ADMIN_ID, ADMIN_SECRET, ca_pem))
        assert fake.requests == []  # the TLS handshake failed: no request was ever read
    entry = by["plain"]
    assert entry["status"] == "tls_error", entry
    assert "https only" in entry["hint"] and "DOMO_API_HOST__PLAIN" in entry["hint"]


def test_an_http_api_host_is_a_config_error(run_cli, domo):
    env = domo_env("H", domo, ADMIN_ID, ADMIN_SECRET, API_HOST="http://" + domo.api_host)
    result = run_cli("scan", env=env)
    assert result.code == 1
    assert "env:DOMO_API_HOST__H" in result.stdout and "https only" in result.stdout
    assert domo.requests == [] and domo.instance.requests == []


def test_429_is_retried_after_retry_after(domo, ca_pem):
    domo.inject(429, times=1, method="GET", path_prefix="/v1/pages", headers={"Retry-After": "1"})
    t0 = time.monotonic()
    _, result = probe(domo, ca_pem)
    assert time.monotonic() - t0 >= 1.0
    assert result.status is Status.OK, result
    assert result.details["dashboards"] == PAGES
    assert [r.status for r in domo.requests if r.path == "/v1/pages"] == [429, 200, 200]


def test_429_on_the_token_is_retried_too(domo, ca_pem):
    domo.inject(429, times=1, method="POST", path_prefix="/oauth/token", headers={"Retry-After": "1"})
    _, result = probe(domo, ca_pem)
    assert result.status is Status.OK, result
    assert [r.status for r in domo.requests if r.path == "/oauth/token"] == [429, 200]


def test_429_beyond_the_deadline_is_an_error_with_a_hint(domo, ca_pem):
    domo.inject(429, times=None, method="GET", path_prefix="/v1/pages", headers={"Retry-After": "30"})
    t0 = time.monotonic()
    _, result = probe(domo, ca_pem, deadline_s=5)
    assert time.monotonic() - t0 < 5
    assert result.status is Status.ERROR
    assert "429" in result.message and "rate limiting" in result.hint
    assert [r.status for r in domo.requests if r.path == "/v1/pages"] == [429]


def test_a_redirect_of_the_token_request_is_not_followed(domo, ca_pem):
    wrapped, seen = _recording(lambda request: Response(200, b"got you"))
    with LocalServer(wrapped) as elsewhere:
        domo.inject(302, times=None, method="POST", path_prefix="/oauth/token",
                    headers={"Location": elsewhere.url + "/steal"}, body="")
        _, result = probe(domo, ca_pem)
    assert result.status is Status.ERROR and "not followed" in result.message
    assert seen == []


def test_paging_until_an_empty_page(server_tls, ca_pem):
    with FakeDomo(clients=clients(), pages=120, subpages=0, cards_per_page=1, tls=server_tls) as fake:
        _, result = probe(fake, ca_pem, dev=None)
        offsets = [r for r in fake.requests if r.path == "/v1/pages"]
    assert result.status is Status.OK
    assert result.details["dashboards"] == 120
    assert len(offsets) == 4  # 50 + 50 + 20 + the empty page pydomo stops at
    assert [s.message for s in result.steps][-1].startswith("no developer token (DOMO_ACCESS_TOKEN)")


def test_a_client_of_another_customer_is_a_warning(domo, ca_pem):
    """The token names its customer (the instance's first label); a client of another instance is suspicious."""
    settings = DomoSettings(url="https://globex.domo.com", apiHost=domo.api_host, clientId=ADMIN_ID,
                            secretToken=SecretStr(ADMIN_SECRET), ca_bundle=str(ca_pem))
    target = Target("domo", "t", "domo_t", settings, {}, "test")
    with HttpClient(verify=str(ca_pem)) as http:  # one step alone: Reach would go to the vendor host
        ctx = ProbeContext(target=target, http=http, deadline=time.monotonic() + 20)
        message = check_access(ctx)
    assert "acmecompany" in message
    [warning] = ctx.warnings
    assert "customer 'acmecompany'" in warning and "'globex'" in warning and "DOMO_INSTANCE" in warning


def test_an_instance_of_domo_is_named_after_it_and_nothing_leaves_loopback(run_cli, domo):
    env = {"DOMO_INSTANCE": "https://acmecompany.domo.com/page/1682608001?x=1", "DOMO_API_HOST": domo.api_host,
           "DOMO_CLIENT_ID": ADMIN_ID, "DOMO_CLIENT_SECRET": ADMIN_SECRET}
    result, by = scan(run_cli, env, "--dry-run")
    [entry] = by.values()
    assert entry["service_name"] == "domo_acmecompany"
    assert entry["url"] == "https://acmecompany.domo.com"
    assert entry["status"] == "unreachable"  # run_cli sends the vendor host to a dead loopback proxy
    assert domo.requests == []  # Reach is a gate: no credential went anywhere
    no_secret_in(result)


def test_toml_target_uses_openmetadatas_key_names(run_cli, domo, ca_pem, tmp_path):
    (tmp_path / "config.toml").write_text(
        f'[[targets]]\nplatform = "domo"\ninstance = "toml"\nurl = "{domo.instance_url}"\n'
        f'apiHost = "https://{domo.api_host}/"\nclientId = "{ADMIN_ID}"\nsecretToken = "${{MY_SECRET}}"\n'
        f'accessToken = "${{MY_DEV}}"\nca_bundle = "{ca_pem}"\n'
    )
    result, by = scan(run_cli, {"MY_SECRET": ADMIN_SECRET, "MY_DEV": DEV_TOKEN}, "--config",
                      str(tmp_path / "config.toml"), "--dry-run")
    entry = by["toml"]
    assert entry["status"] == "ok", result.stdout + result.stderr
    assert entry["payload"]["connection"]["config"] == {
        "type": "DomoDashboard", "clientId": ADMIN_ID, "secretToken": "*********", "accessToken": "*********",
        "instanceDomain": domo.instance_url, "apiHost": domo.api_host}  # the https:// typed is dropped
    no_secret_in(result)


def test_an_empty_secret_is_a_config_error(run_cli):
    result = run_cli("scan", env={"DOMO_INSTANCE": "http://127.0.0.1:1", "DOMO_CLIENT_ID": "x",
                                  "DOMO_CLIENT_SECRET": "  ", "DOMO_API_HOST": "127.0.0.1:1"})
    assert result.code == 1
    assert "secretToken" in result.stdout and "empty" in result.stdout


def test_an_empty_developer_token_is_no_developer_token(domo, ca_pem):
    settings = DomoSettings(url=domo.instance_url, apiHost=domo.api_host, clientId=ADMIN_ID,
                            secretToken=SecretStr(ADMIN_SECRET), accessToken=SecretStr("  "), ca_bundle=str(ca_pem))
    assert settings.accessToken is None
    assert "accessToken" not in plugin.connection_config(
        Target("domo", "t", "domo_t", settings, {}, "test"),
        probe(domo, ca_pem, dev=None)[1]).dump()


# -- units ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://acmecompany.domo.com", "https://acmecompany.domo.com"),
        ("https://acmecompany.domo.com/page/1682608001/kpis/details/400001001?x=1", "https://acmecompany.domo.com"),
        ("acmecompany.domo.com", "https://acmecompany.domo.com"),
        ("acmecompany.domo.com/page/12", "https://acmecompany.domo.com"),
        ("http://127.0.0.1:8080/page/12", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/domo/auth/index", "http://127.0.0.1:8080/domo"),
        ("acmecompany", "acmecompany"),  # left for validation to report
    ],
)
def test_base_url(url, base):
    assert plugin.base_url(url) == base


@pytest.mark.parametrize(
    ("value", "expected"),
    [("api.domo.com", "api.domo.com"), ("https://API.domo.com:443/", "api.domo.com"),
     ("127.0.0.1:8443", "127.0.0.1:8443"), (" api.eu.domo.com ", "api.eu.domo.com")],
)
def test_api_host(value, expected):
    assert api_host(value) == expected


@pytest.mark.parametrize("value", ["http://api.domo.com", "api.domo.com/v1", "", "user@api.domo.com"])
def test_api_host_refused(value):
    with pytest.raises(ValueError, match="apiHost"):
        api_host(value)


def test_instance_label():
    assert instance_label("https://acmecompany.domo.com") == "acmecompany"
    assert instance_label("https://a.b.domo.com") is None
    assert instance_label("https://127.0.0.1:9") is None


def test_the_default_api_host_is_not_registered():
    settings = DomoSettings(url="https://acmecompany.domo.com", clientId="c", secretToken=SecretStr("s"))
    assert settings.apiHost == "api.domo.com"
    config = plugin.connection_config(Target("domo", "t", "domo_t", settings, {}, "test"),
                                      ProbeResult(status=Status.OK, steps=[]))
    assert config.dump() == {"type": "DomoDashboard", "clientId": "c", "secretToken": "*********",
                             "instanceDomain": "https://acmecompany.domo.com"}


# -- the fake answers as Domo (and as pydomo expects) ------------------------------------------------------------


def _session(ca_pem) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca_pem)
    return session


def test_the_fake_token_is_jwt_shaped_with_an_expiry(domo, ca_pem):
    import base64

    s = _session(ca_pem)
    resp = s.post(f"https://{domo.api_host}/oauth/token", data={"grant_type": "client_credentials"},
                  auth=(ADMIN_ID, ADMIN_SECRET), timeout=10)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "customer", "expires_in", "jti", "role", "scope", "token_type", "userId"}
    payload = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[1] + "=="))
    assert payload["exp"] > time.time() + 3000
    got = s.get(f"https://{domo.api_host}/oauth/token", params={"grant_type": "client_credentials", "scope": "data"},
                auth=(ADMIN_ID, ADMIN_SECRET), timeout=10)
    assert got.status_code == 200 and got.json()["scope"] == "data"
    assert s.get(f"https://{domo.api_host}/oauth/token", params={"grant_type": "client_credentials",
                                                                 "scope": "audit"},
                 auth=(ADMIN_ID, ADMIN_SECRET), timeout=10).json()["error"] == "invalid_scope"
    bad = s.post(f"https://{domo.api_host}/oauth/token", data={"grant_type": "client_credentials"},
                 auth=(ADMIN_ID, WRONG_SECRET), timeout=10)
    assert bad.status_code == 401 and bad.json()["error"] == "unauthorized"


def test_the_fake_pages_and_cards(domo, ca_pem):
    s = _session(ca_pem)
    token = s.post(f"https://{domo.api_host}/oauth/token", data={"grant_type": "client_credentials"},
                   auth=(ADMIN_ID, ADMIN_SECRET), timeout=10).json()["access_token"]
    auth = {"Authorization": f"bearer {token}"}
    pages = s.get(f"https://{domo.api_host}/v1/pages", params={"limit": 2, "offset": 2}, headers=auth, timeout=10)
    assert [p["name"] for p in pages.json()] == ["Page 3", "Page 4"]
    assert s.get(f"https://{domo.api_host}/v1/pages", params={"limit": 50, "offset": 50}, headers=auth,
                 timeout=10).json() == []
    assert s.get(f"https://{domo.api_host}/v1/pages", params={"limit": 51}, headers=auth, timeout=10).status_code == 400
    page = s.get(f"https://{domo.api_host}/v1/pages/{FakeDomo.page_id(1)}", headers=auth, timeout=10).json()
    assert page["cardIds"] == domo.card_ids(1) and page["collectionIds"] == []
    anonymous = s.get(f"https://{domo.api_host}/v1/pages", timeout=10)
    assert anonymous.status_code == 401 and "Full authentication" in anonymous.json()["message"]
    assert s.get(f"https://{domo.api_host}/v1/pages", headers={"Authorization": "bearer nope"},
                 timeout=10).json()["error"] == "invalid_token"

    cards = f"{domo.instance_url}/api/content/v1/cards"
    dev = {"X-DOMO-Developer-Token": DEV_TOKEN, "Authorization": "Bearer no_token"}  # as OpenMetadata sends it
    assert s.get(cards, headers=dev, timeout=10).json() == []
    [card] = s.get(cards, params={"urns": domo.card_ids(2)[0], "parts": "metadata"}, headers=dev, timeout=10).json()
    assert card["title"] and card["metadata"]["chartType"]
    refused = s.get(cards, headers={"X-DOMO-Developer-Token": WRONG_DEV_TOKEN}, timeout=10)
    assert refused.status_code == 401 and "code" not in refused.text  # OpenMetadata's REST client raises on it
