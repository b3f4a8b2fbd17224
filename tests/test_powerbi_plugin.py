"""Power BI plugin against the Entra + Power BI fake, over real sockets on 127.0.0.1 (TLS: MSAL needs an https
authority), through the real ``scanner`` command. The host variables always point at a fake."""

from __future__ import annotations

import base64
import time
from urllib.parse import quote_plus

import pytest
import requests
from conftest import catalog_env
from scan_helpers import put_config, scan

from scanner.testing.fake_powerbi import SCOPE, FakePowerBI, ServicePrincipal, Workspace
from scanner.testing.server import LocalServer, Request, Response
from scanner_powerbi import plugin as powerbi

TENANT = "6a4c2e0b-8d1f-4b3a-a5c7-9e1d3f5b7a90"
UNKNOWN_TENANT = "00000000-1111-2222-3333-444444444444"
ADMIN_ID, READER_ID = "a1a1a1a1-0000-4000-8000-000000000001", "b2b2b2b2-0000-4000-8000-000000000002"
EMPTY_ID, NOAPI_ID = "c3c3c3c3-0000-4000-8000-000000000003", "d4d4d4d4-0000-4000-8000-000000000004"
UNKNOWN_ID = "e5e5e5e5-0000-4000-8000-000000000005"
ADMIN_SECRET = "Ad8~adminSecretValue.4f2c9e71b0d3a6e5c8"
READER_SECRET = "Rd3~readerSecretValue.9b1e4c7d2a0f6e3b5"
EMPTY_SECRET = "Em5~emptySecretValue.2c8f0a6d4e1b9c7a3"
NOAPI_SECRET = "Na9~noApiSecretValue.7e3b1d5f9a2c0e8b4"
WRONG_SECRET = "Wr0~wrongSecretValue.0000000000000000"
SECRETS = (ADMIN_SECRET, READER_SECRET, EMPTY_SECRET, NOAPI_SECRET, WRONG_SECRET)
WORKSPACES = (Workspace("Sales", dashboards=2, reports=3), Workspace("Finance", dashboards=1, reports=2),
              Workspace("HR", dashboards=0, reports=1))
STEPS = ["Reach", "CheckAccess", "CheckAdminApis", "GetDashboards"]


def principals() -> dict[str, ServicePrincipal]:
    return {
        ADMIN_ID: ServicePrincipal(ADMIN_SECRET, TENANT, "admin", admin_apis=True),
        READER_ID: ServicePrincipal(READER_SECRET, TENANT, "reader", workspaces=("Sales", "Finance")),
        EMPTY_ID: ServicePrincipal(EMPTY_SECRET, TENANT, "empty", workspaces=()),
        NOAPI_ID: ServicePrincipal(NOAPI_SECRET, TENANT, "noapi", api_access=False),
    }


@pytest.fixture
def fake(server_tls):
    with FakePowerBI(principals=principals(), workspaces=WORKSPACES, tls=server_tls) as served:
        yield served


def pbi_env(name: str, *, tenant: str = TENANT, client: str = ADMIN_ID, secret: str = ADMIN_SECRET,
            authority: str | None = None, api: str | None = None, ca: object = None, **extra: str) -> dict[str, str]:
    env = {f"AZURE_TENANT_ID__{name}": tenant, f"AZURE_CLIENT_ID__{name}": client,
           f"AZURE_CLIENT_SECRET__{name}": secret}
    if authority is not None:
        env[f"POWERBI_AUTHORITY_URL__{name}"] = authority
    if api is not None:
        env[f"POWERBI_API_URL__{name}"] = api
    if ca is not None:
        env[f"POWERBI_CA_BUNDLE__{name}"] = str(ca)
    env.update({f"POWERBI_{k}__{name}": v for k, v in extra.items()})
    return env


def on(fake: FakePowerBI, name: str, ca, **kw) -> dict[str, str]:
    """A target whose authority and API are both `fake`."""
    return pbi_env(name, authority=fake.url + "/", api=fake.url, ca=ca, **kw)


def no_secret_in(result) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr


def token_posts(fake: FakePowerBI) -> list[str]:
    return [r.path for r in fake.requests if r.method == "POST" and r.path.endswith("/oauth2/v2.0/token")]


def test_env_instances_end_to_end(run_cli, fake, catalog, ca_pem):
    env = {
        **catalog_env(catalog),
        **on(fake, "ADMIN", ca_pem), **on(fake, "READER", ca_pem, client=READER_ID, secret=READER_SECRET),
        **on(fake, "EMPTY", ca_pem, client=EMPTY_ID, secret=EMPTY_SECRET),
        **on(fake, "NOAPI", ca_pem, client=NOAPI_ID, secret=NOAPI_SECRET),
        **on(fake, "WRONG", ca_pem, secret=WRONG_SECRET), **on(fake, "NOAPP", ca_pem, client=UNKNOWN_ID),
        **on(fake, "NOTENANT", ca_pem, tenant=UNKNOWN_TENANT),
    }
    result, by = scan(run_cli, env)
    assert result.code == 1, result.stderr
    assert {k: v["status"] for k, v in by.items()} == {
        "admin": "ok", "reader": "ok", "empty": "ok", "noapi": "forbidden", "wrong": "auth_failed",
        "noapp": "auth_failed", "notenant": "auth_failed",
    }
    admin = by["admin"]
    assert [s["name"] for s in admin["steps"]] == STEPS and admin["version"] is None
    assert admin["details"] == {"tenant": TENANT, "workspaces": 3, "admin_apis": True, "tenant_workspaces": 3,
                                "dashboards": 3, "reports": 6}
    assert admin["steps"][1]["message"] == f"token for app {ADMIN_ID} in tenant {TENANT}; member of 3 workspaces"
    assert "useAdminApis true" in admin["steps"][2]["message"]
    reader = by["reader"]
    assert reader["details"] == {"tenant": TENANT, "workspaces": 2, "admin_apis": False, "dashboards": 3,
                                 "reports": 5}
    assert "useAdminApis false" in reader["steps"][2]["message"] and reader["steps"][2]["status"] == "passed"
    assert reader["steps"][3]["message"] == "3 dashboards and 5 reports in the member workspaces"
    [empty_warning] = [w for w in by["empty"]["warnings"] if "ingestion host" not in w]
    assert empty_warning.startswith("0 dashboards and 0 reports visible to this service principal")
    assert "AZURE_CLIENT_ID__EMPTY" in empty_warning and by["empty"]["details"]["workspaces"] == 0

    noapi = by["noapi"]
    assert "PowerBINotAuthorizedException" in noapi["message"] and "Power BI's APIs" in noapi["message"]
    assert "Service principals can use Fabric APIs" in noapi["hint"] and "AZURE_CLIENT_ID__NOAPI" in noapi["hint"]
    wrong = by["wrong"]
    assert "AADSTS7000215" in wrong["message"] and "invalid_client" in wrong["message"] and "401" in wrong["message"]
    assert "AZURE_CLIENT_SECRET__WRONG" in wrong["hint"] and "AZURE_CLIENT_ID__WRONG" in wrong["hint"]
    assert "AADSTS700016" in by["noapp"]["message"]
    assert "AZURE_CLIENT_ID__NOAPP" in by["noapp"]["hint"] and "AZURE_TENANT_ID__NOAPP" in by["noapp"]["hint"]
    notenant = by["notenant"]
    assert "AADSTS90002" in notenant["message"] and "AZURE_TENANT_ID__NOTENANT" in notenant["hint"]
    assert not any(UNKNOWN_TENANT in path for path in token_posts(fake))  # the discovery failed: no secret sent

    assert sorted(catalog.services) == ["powerbi_admin", "powerbi_empty", "powerbi_reader"]
    assert put_config(catalog, "powerbi_admin") == {
        "type": "PowerBI", "clientId": ADMIN_ID, "clientSecret": ADMIN_SECRET, "tenantId": TENANT,
        "useAdminApis": True, "authorityURI": fake.url + "/", "apiURL": fake.url}
    assert put_config(catalog, "powerbi_reader")["useAdminApis"] is False
    assert any("ingestion host" in w for w in admin["warnings"])  # the private CA: OpenMetadata has no CA setting
    no_secret_in(result)

    # second run: nothing to write
    catalog.reset_log()
    again, by = scan(run_cli, env, "--platform", "powerbi")
    assert {by[k]["plan"]["action"] for k in ("admin", "reader", "empty")} == {"unchanged"}
    assert catalog.calls("PUT") == []
    no_secret_in(again)


def test_what_goes_where(run_cli, server_tls, ca_pem):
    """The secret goes only to the authority's token endpoint, after its OpenID configuration answered; the token
    only to the API; nothing with a credential crosses to the other host."""
    with FakePowerBI(principals=principals(), workspaces=WORKSPACES, tls=server_tls) as login, \
            FakePowerBI(principals=principals(), workspaces=WORKSPACES, tls=server_tls) as api:
        result, by = scan(run_cli, pbi_env("SPLIT", authority=login.url + "/", api=api.url, ca=ca_pem,
                                           client=READER_ID, secret=READER_SECRET))
        assert by["split"]["status"] == "auth_failed", by["split"]  # the API host did not issue that token
        assert "did not accept the token" in by["split"]["message"]
        assert "POWERBI_API_URL__SPLIT" in by["split"]["hint"] and "POWERBI_AUTHORITY_URL__SPLIT" in by["split"]["hint"]
        assert [(r.method, r.path, r.credential) for r in login.requests] == [
            ("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration", False),
            ("POST", f"/{TENANT}/oauth2/v2.0/token", True)]
        assert [(r.method, r.path) for r in api.requests] == [("GET", "/"), ("GET", "/v1.0/myorg/groups")]
        assert api.credentialed == [("GET", "/v1.0/myorg/groups")]  # the bearer token, never the secret
    no_secret_in(result)


def test_the_admin_path_on_one_host(run_cli, fake, ca_pem):
    result, by = scan(run_cli, on(fake, "ONE", ca_pem))
    assert by["one"]["status"] == "ok", by["one"]
    assert [(r.method, r.path, r.principal) for r in fake.requests] == [
        ("GET", "/", None),
        ("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration", None),
        ("POST", f"/{TENANT}/oauth2/v2.0/token", None),
        ("GET", "/v1.0/myorg/groups", "admin"),
        ("GET", "/v1.0/myorg/admin/groups", "admin"),  # one admin groups call: the tenant's quota is 50 an hour
        ("GET", "/v1.0/myorg/admin/dashboards", "admin"),
        ("GET", "/v1.0/myorg/admin/reports", "admin"),
    ]


def _tls_app(app, server_tls):
    return LocalServer(app, ssl_context=server_tls)


def _recording(app):
    seen: list[tuple[str, str, bool]] = []

    def wrapped(request: Request) -> Response:
        carried = request.header("Authorization") is not None or b"client_secret" in request.body
        seen.append((request.method, request.path, carried))
        return app(request)

    return wrapped, seen


def _html(request: Request) -> Response:  # a web server, or a single-page app: 200 with its page for any path
    return Response(200, b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>app</body></html>",
                    {"Content-Type": "text/html; charset=utf-8"})


def _json_everywhere(request: Request) -> Response:  # a JSON API that is not Entra or Power BI
    return Response.json({"status": "ok", "value": []})


@pytest.mark.parametrize("app", [_html, _json_everywhere], ids=["html", "json"])
def test_an_authority_that_is_not_entra_is_not_detected_and_gets_no_secret(run_cli, fake, server_tls, ca_pem, app):
    wrapped, seen = _recording(app)
    with _tls_app(wrapped, server_tls) as other:
        result, by = scan(run_cli, pbi_env("X", authority=other.url + "/", api=fake.url, ca=ca_pem))
    entry = by["x"]
    assert entry["status"] == "not_detected", entry
    assert "no Microsoft Entra authority" in entry["message"] and "no secret was sent" in entry["message"]
    assert "POWERBI_AUTHORITY_URL__X" in entry["hint"] and "AZURE_TENANT_ID__X" in entry["hint"]
    assert seen == [("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration", False)]
    assert fake.credentialed == []
    no_secret_in(result)


@pytest.mark.parametrize("app", [_html, _json_everywhere], ids=["html", "json"])
def test_an_api_that_is_not_powerbi_is_not_detected(run_cli, fake, server_tls, ca_pem, app):
    wrapped, seen = _recording(app)
    with _tls_app(wrapped, server_tls) as other:
        result, by = scan(run_cli, pbi_env("X", authority=fake.url + "/", api=other.url, ca=ca_pem))
    entry = by["x"]
    assert entry["status"] == "not_detected", entry
    assert "no Power BI REST API" in entry["message"] and "POWERBI_API_URL__X" in entry["hint"]
    assert [path for _, path, _ in seen] == ["/", "/v1.0/myorg/groups"]  # only the token went there, once
    assert [(m, p) for m, p in fake.credentialed] == [("POST", f"/{TENANT}/oauth2/v2.0/token")]
    no_secret_in(result)


def test_a_token_endpoint_on_another_host_is_refused(run_cli, fake, server_tls, ca_pem):
    wrapped, seen = _recording(lambda request: Response.json({"access_token": "stolen"}))
    with _tls_app(wrapped, server_tls) as thief:
        def authority(request: Request) -> Response:
            return Response.json({"token_endpoint": f"{thief.url}/{TENANT}/oauth2/v2.0/token",
                                  "authorization_endpoint": f"{thief.url}/{TENANT}/oauth2/v2.0/authorize",
                                  "issuer": f"{thief.url}/{TENANT}/v2.0"})

        with _tls_app(authority, server_tls) as login:
            result, by = scan(run_cli, pbi_env("X", authority=login.url + "/", api=fake.url, ca=ca_pem))
    entry = by["x"]
    assert entry["status"] == "error", entry
    assert "not sent" in entry["message"] and "POWERBI_AUTHORITY_URL" in entry["message"]
    assert seen == []
    no_secret_in(result)


def test_an_unreachable_authority(run_cli, fake, ca_pem, closed_port):
    result, by = scan(run_cli, pbi_env("X", authority=f"https://127.0.0.1:{closed_port}/", api=fake.url, ca=ca_pem))
    entry = by["x"]
    assert entry["status"] == "unreachable", entry
    assert "POWERBI_AUTHORITY_URL__X" in entry["hint"]
    assert fake.credentialed == []


def test_https_with_a_private_ca(run_cli, fake, catalog, ca_pem):
    env = {**catalog_env(catalog), **on(fake, "CA", ca_pem), **on(fake, "NOCA", None),
           **on(fake, "OFF", None, client=READER_ID, secret=READER_SECRET, VERIFY_SSL="false")}
    result, by = scan(run_cli, env)
    assert {k: v["status"] for k, v in by.items()} == {"ca": "ok", "noca": "tls_error", "off": "ok"}
    [warning] = by["ca"]["warnings"]
    assert "ingestion host" in warning and "REQUESTS_CA_BUNDLE" in warning and "no CA setting" in warning
    assert "POWERBI_CA_BUNDLE" in by["noca"]["hint"] and "POWERBI_VERIFY_SSL" in by["noca"]["hint"]
    [off] = by["off"]["warnings"]
    assert "ingestion host" in off and "verification is off" in off
    assert put_config(catalog, "powerbi_ca")["authorityURI"] == fake.url + "/"
    assert sorted(catalog.services) == ["powerbi_ca", "powerbi_off"]
    no_secret_in(result)


def test_429_is_retried_after_retry_after(run_cli, fake, ca_pem):
    fake.inject(429, times=1, method="GET", path_prefix="/v1.0/myorg/groups", headers={"Retry-After": "1"})
    fake.inject(429, times=1, method="POST", path_prefix=f"/{TENANT}/oauth2", headers={"Retry-After": "1"})
    t0 = time.monotonic()
    result, by = scan(run_cli, on(fake, "BUSY", ca_pem, client=READER_ID, secret=READER_SECRET))
    assert time.monotonic() - t0 >= 2.0
    entry = by["busy"]
    assert entry["status"] == "ok", entry
    assert entry["details"]["dashboards"] == 3
    assert [r.status for r in fake.requests if r.method == "POST"] == [429, 200]
    assert [r.status for r in fake.requests if r.path == "/v1.0/myorg/groups"][:2] == [429, 200]


def test_429_that_does_not_end_is_an_error(run_cli, fake, ca_pem):
    fake.inject(429, times=None, method="GET", path_prefix="/v1.0/myorg/groups", headers={"Retry-After": "0"})
    result, by = scan(run_cli, on(fake, "BUSY", ca_pem))
    entry = by["busy"]
    assert entry["status"] == "error"
    assert "429" in entry["message"] and "rate limiting" in entry["hint"]
    assert [r.status for r in fake.requests if r.path == "/v1.0/myorg/groups"] == [429, 429, 429]


def test_a_rate_limited_admin_api_registers_false_with_a_warning(run_cli, fake, catalog, ca_pem):
    fake.inject(429, times=None, method="GET", path_prefix="/v1.0/myorg/admin/", headers={"Retry-After": "3600"})
    result, by = scan(run_cli, {**catalog_env(catalog), **on(fake, "ADM", ca_pem)})
    entry = by["adm"]
    assert entry["status"] == "ok", entry
    assert entry["details"]["admin_apis"] is False and entry["details"]["dashboards"] == 3
    assert any("rate limited" in w and "useAdminApis" in w for w in entry["warnings"])
    assert put_config(catalog, "powerbi_adm")["useAdminApis"] is False


def test_a_redirect_of_a_credentialed_request_is_not_followed(run_cli, fake, server_tls, ca_pem):
    wrapped, seen = _recording(lambda request: Response(200, b"got you"))
    with _tls_app(wrapped, server_tls) as elsewhere:
        fake.inject(302, times=None, method="GET", path_prefix="/v1.0/myorg/groups",
                    headers={"Location": elsewhere.url + "/steal"}, body="")
        result, by = scan(run_cli, on(fake, "API", ca_pem))
        fake.inject(307, times=None, method="POST", path_prefix=f"/{TENANT}/oauth2",
                    headers={"Location": elsewhere.url + "/steal"}, body="")
        result2, by2 = scan(run_cli, on(fake, "TOKEN", ca_pem))
    assert by["api"]["status"] == "error" and "not followed" in by["api"]["message"]
    assert by2["token"]["status"] == "error" and "not followed" in by2["token"]["message"]
    assert seen == []
    no_secret_in(result)
    no_secret_in(result2)


def test_counts_in_many_workspaces_are_bounded(run_cli, server_tls, ca_pem):
    spaces = [Workspace(f"W{i}", dashboards=1, reports=1) for i in range(60)]
    with FakePowerBI(principals={READER_ID: ServicePrincipal(READER_SECRET, TENANT)}, workspaces=spaces,
                     tls=server_tls) as big:
        result, by = scan(run_cli, on(big, "BIG", ca_pem, client=READER_ID, secret=READER_SECRET))
        calls = [r.path for r in big.requests if r.path.startswith("/v1.0/myorg/groups/")]
    entry = by["big"]
    assert entry["status"] == "ok", entry
    assert entry["details"] == {"tenant": TENANT, "workspaces": 60, "admin_apis": False, "counted_workspaces": 50,
                                "dashboards": 50, "reports": 50}
    assert entry["steps"][3]["message"] == ("at least 50 dashboards and at least 50 reports in 50 of 60 member "
                                            "workspaces")
    assert len(calls) == 100


def test_toml_target_uses_openmetadatas_key_names(run_cli, fake, ca_pem, tmp_path):
    (tmp_path / "config.toml").write_text(
        f'[[targets]]\nplatform = "powerbi"\ntenantId = "{TENANT}"\nclientId = "{READER_ID}"\n'
        f'clientSecret = "${{MY_SECRET}}"\nauthorityURI = "{fake.url}"\napiURL = "{fake.url}/v1.0/myorg/groups"\n'
        f'ca_bundle = "{ca_pem}"\n'
    )
    result, by = scan(run_cli, {"MY_SECRET": READER_SECRET}, "--config", str(tmp_path / "config.toml"), "--dry-run")
    [(instance, entry)] = by.items()
    assert instance == TENANT.replace("-", "_") and entry["service_name"] == f"powerbi_{instance}"
    assert entry["status"] == "ok", result.stdout + result.stderr
    config = entry["payload"]["connection"]["config"]
    assert config == {"type": "PowerBI", "clientId": READER_ID, "clientSecret": "*********", "tenantId": TENANT,
                      "useAdminApis": False, "authorityURI": fake.url + "/", "apiURL": fake.url}
    no_secret_in(result)


def test_an_http_authority_is_a_settings_error(run_cli):
    result, by = scan(run_cli, pbi_env("PLAIN", authority="http://127.0.0.1:9/", api="http://127.0.0.1:9"))
    entry = by["plain"]
    assert entry["status"] == "error" and entry["steps"] == []
    assert "POWERBI_AUTHORITY_URL__PLAIN" in entry["message"] and "must be https" in entry["message"]
    no_secret_in(result)


def test_an_empty_secret_is_a_settings_error(run_cli):
    result = run_cli("scan", env=pbi_env("E", secret="  ", authority="https://127.0.0.1:9/", api="https://127.0.0.1:9"))
    assert result.code == 1
    assert "clientSecret" in result.stdout and "empty" in result.stdout


def test_defaults_name_and_config_without_network():
    """Microsoft's hosts are the defaults (no request made here); the instance is named after the tenant; the
    registered config leaves the default hosts out and always says useAdminApis."""
    from scanner.plugin import ProbeResult, Status
    from scanner.registry import PluginEntry
    from scanner.settings import load_settings
    from scanner.targets import collect

    entry = PluginEntry(name="powerbi", plugin=powerbi, source="test", error=None)
    env = {"AZURE_TENANT_ID": "Contoso.onmicrosoft.com", "AZURE_CLIENT_ID": ADMIN_ID, "AZURE_CLIENT_SECRET": "s3cr3t-x",
           "AZURE_CLIENT_ID__ORPHAN": READER_ID, "AZURE_TENANT_ID__EU": TENANT, "AZURE_CLIENT_ID__EU": READER_ID,
           "AZURE_CLIENT_SECRET__EU": "s3cr3t-y"}
    found = {t.service_name: t for t in collect(load_settings(environ=env, config=None), [entry])}
    assert sorted(found) == ["powerbi_contoso_onmicrosoft_com", "powerbi_eu", "powerbi_orphan"]
    from scanner_powerbi import _names

    # hints name the variables with the instance's suffix, also the host variables left at Microsoft's defaults
    assert _names(found["powerbi_eu"]) == {"tenant": "AZURE_TENANT_ID__EU", "client": "AZURE_CLIENT_ID__EU",
                                           "secret": "AZURE_CLIENT_SECRET__EU", "authority": "POWERBI_AUTHORITY_URL__EU",
                                           "api": "POWERBI_API_URL__EU"}
    assert _names(found["powerbi_contoso_onmicrosoft_com"])["authority"] == "POWERBI_AUTHORITY_URL"
    target = found["powerbi_contoso_onmicrosoft_com"]
    assert target.url == "https://api.powerbi.com"
    assert target.settings.authorityURI == "https://login.microsoftonline.com/"
    assert "AZURE_TENANT_ID__ORPHAN" in str(found["powerbi_orphan"].error)
    for admin in (False, True):
        result = ProbeResult(Status.OK, [], details={"admin_apis": admin} if admin else {})
        config = powerbi.connection_config(target, result)
        assert config.dump() == {"type": "PowerBI", "clientId": ADMIN_ID, "clientSecret": "*********",
                                 "tenantId": "Contoso.onmicrosoft.com", "useAdminApis": admin}
        assert config.warnings == ()
        assert set(config.dump()) - {"type"} <= set(powerbi.config_keys)


@pytest.mark.parametrize(("url", "base"), [
    ("https://api.powerbi.com", "https://api.powerbi.com"),
    ("https://api.powerbi.com/v1.0/myorg/groups?$top=1", "https://api.powerbi.com"),
    ("https://api.powerbigov.us/v1.0/myorg", "https://api.powerbigov.us"),
    ("https://proxy.example.com/pbi", "https://proxy.example.com/pbi"),
])
def test_base_url(url, base):
    assert powerbi.base_url(url) == base


# -- the fake itself, where scanner's path does not reach ------------------------------------------------------


def _token_request(fake: FakePowerBI, *, basic: bool, secret: str = ADMIN_SECRET, scope: str = SCOPE):
    session = requests.Session()
    session.trust_env = False
    form = {"grant_type": "client_credentials", "scope": scope}
    headers = {}
    if basic:
        raw = f"{quote_plus(ADMIN_ID)}:{quote_plus(secret)}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
    else:
        form.update(client_id=ADMIN_ID, client_secret=secret)
    return session.post(f"{fake.url}/{TENANT}/oauth2/v2.0/token", data=form, headers=headers, timeout=10)


@pytest.mark.parametrize("basic", [False, True], ids=["form-body", "basic"])
def test_the_fake_takes_the_secret_in_the_body_or_as_basic(basic):
    with FakePowerBI(principals=principals()) as plain:
        ok = _token_request(plain, basic=basic)
        assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer" and ok.json()["expires_in"] == 3599
        bad = _token_request(plain, basic=basic, secret="nope")
        assert bad.status_code == 401 and bad.json()["error_codes"] == [7000215]
        assert bad.json()["error_description"].startswith("AADSTS7000215: ") and "\r\nTrace ID: " in bad.json()[
            "error_description"]
        scope = _token_request(plain, basic=basic, scope="https://graph.microsoft.com/.default")
        assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
        session = requests.Session()
        session.trust_env = False
        token = ok.json()["access_token"]
        groups = session.get(f"{plain.url}/v1.0/myorg/groups", params={"$top": "1"},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert list(groups.json()) == ["@odata.context", "@odata.count", "value"]
        filtered = session.get(f"{plain.url}/v1.0/myorg/groups",
                               params={"$filter": "contains(name, 'Work') and not(endswith(name, '2'))"},
                               headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert [g["name"] for g in filtered.json()["value"]] == ["Workspace 1"]
        admin = session.get(f"{plain.url}/v1.0/myorg/admin/groups", headers={"Authorization": f"Bearer {token}"},
                            timeout=10)
        assert admin.status_code == 400  # $top is required there
        anonymous = session.get(f"{plain.url}/v1.0/myorg/groups", timeout=10)
        assert anonymous.status_code == 403 and "invalid_token" in anonymous.headers["WWW-Authenticate"]
        assert plain.credentialed[0] == ("POST", f"/{TENANT}/oauth2/v2.0/token")


def test_msal_gets_a_token_from_the_tls_fake_and_refuses_http(server_tls, ca_pem):
    """MSAL itself (as OpenMetadata builds it, with instance discovery off) gets a token from the TLS fake; over
    plain http it refuses the authority before any request."""
    import msal

    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca_pem)
    with FakePowerBI(principals=principals(), tls=server_tls) as tls_fake:
        app = msal.ConfidentialClientApplication(ADMIN_ID, client_credential=ADMIN_SECRET,
                                                 authority=f"{tls_fake.url}/{TENANT}", http_client=session,
                                                 instance_discovery=False)
        assert "access_token" in app.acquire_token_for_client(scopes=[SCOPE])
        assert [r.method for r in tls_fake.requests] == ["GET", "POST"]
    with FakePowerBI(principals=principals()) as plain:
        with pytest.raises(ValueError, match="should consist of an https url"):
            msal.ConfidentialClientApplication(ADMIN_ID, client_credential=ADMIN_SECRET,
                                               authority=f"{plain.url}/{TENANT}", http_client=session,
                                               instance_discovery=False)
        assert plain.requests == []
