"""Mode plugin against the Mode fake, over real sockets on 127.0.0.1, through the real ``scanner`` command.

Mode is a cloud service: every test points ``MODE_URL`` at a loopback stand-in (the ``run_cli`` fixture also sends
anything else to a dead loopback proxy)."""

from __future__ import annotations

import base64
import time

import pytest
from conftest import USER_TOKEN, catalog_env
from scan_helpers import put_config, scan

from scanner.plugin import ProbeResult, Status, Target
from scanner.testing.fake_mode import FakeMode, ModeToken, ModeWorkspace
from scanner.testing.server import LocalServer, Request, Response
from scanner_mode import ModeSettings
from scanner_mode import plugin as mode

TOKEN, SECRET = "a1b2c3d4e5f6", "mode-secret-5Qw8Zr2Lx7Np"
FORBIDDEN, FORBIDDEN_SECRET = "f0f0f0f0f0f0", "mode-secret-forbid-9Tk3"
EMPTY, EMPTY_SECRET = "e0e0e0e0e0e0", "mode-secret-empty-4Hs6"
OTHER, OTHER_SECRET = "b0b0b0b0b0b0", "mode-secret-other-1Gv2"
WRONG_SECRET = "mode-secret-wrong-0000"
SECRETS = (SECRET, FORBIDDEN_SECRET, EMPTY_SECRET, OTHER_SECRET, WRONG_SECRET, TOKEN, FORBIDDEN, EMPTY, OTHER,
           *(base64.b64encode(f"{t}:{s}".encode()).decode() for t, s in
             ((TOKEN, SECRET), (TOKEN, WRONG_SECRET), (FORBIDDEN, FORBIDDEN_SECRET), (EMPTY, EMPTY_SECRET))))
STEPS = ["Reach", "CheckAccess", "GetSpaces", "GetDashboards"]
ACME = ModeWorkspace("acme", "Acme Inc.", spaces=2, private_spaces=1, reports=4)
GLOBEX = ModeWorkspace("globex", "Globex", spaces=1, private_spaces=0, reports=2, workspace_id=9)


@pytest.fixture
def fake():
    tokens = [ModeToken(TOKEN, SECRET, "acme", "bot"), ModeToken(FORBIDDEN, FORBIDDEN_SECRET, "acme", "viewer",
                                                                 forbidden=True),
              ModeToken(EMPTY, EMPTY_SECRET, "acme", "empty", spaces=0), ModeToken(OTHER, OTHER_SECRET, "globex", "g")]
    with FakeMode(workspaces=[ACME, GLOBEX], tokens=tokens, page_size=3) as server:
        yield server


def mode_env(name: str | None, url: str, workspace: str, token: str, secret: str, **extra: str) -> dict[str, str]:
    tail = f"__{name}" if name else ""
    env = {f"MODE_URL{tail}": url, f"MODE_WORKSPACE{tail}": workspace, f"MODE_API_TOKEN{tail}": token,
           f"MODE_API_SECRET{tail}": secret}
    env.update({f"MODE_{k}{tail}": v for k, v in extra.items()})
    return env


def no_secret_in(result) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr


def test_env_instances_end_to_end(run_cli, fake, catalog, web, closed_port):
    env = {
        **catalog_env(catalog),
        **mode_env(None, fake.url, "acme", TOKEN, SECRET),  # no suffix: named after the workspace
        **mode_env("GLOBEX", fake.url + "/", "globex", OTHER, OTHER_SECRET),
        **mode_env("VIEWER", fake.url, "acme", FORBIDDEN, FORBIDDEN_SECRET),
        **mode_env("EMPTY", fake.url, "acme", EMPTY, EMPTY_SECRET),
        **mode_env("WRONG", fake.url, "acme", TOKEN, WRONG_SECRET),
        **mode_env("ELSEWHERE", fake.url, "initech", TOKEN, SECRET),
        **mode_env("WEB", web.url, "acme", TOKEN, SECRET),
        **mode_env("CLOSED", f"http://127.0.0.1:{closed_port}", "acme", TOKEN, SECRET),
    }
    result, by = scan(run_cli, env)
    assert result.code == 1, result.stderr
    assert {k: v["status"] for k, v in by.items()} == {
        "acme": "ok", "globex": "ok", "empty": "ok", "viewer": "forbidden", "wrong": "auth_failed",
        "elsewhere": "auth_failed", "web": "not_detected", "closed": "unreachable",
    }
    acme = by["acme"]
    assert acme["service_name"] == "mode_acme" and acme["canonical_url"] == fake.url and acme["version"] is None
    assert acme["details"] == {"workspace": "acme", "workspace_name": "Acme Inc.", "spaces": 3, "dashboards": 12}
    assert [s["name"] for s in acme["steps"]] == STEPS and acme["warnings"] == []
    assert by["globex"]["details"] == {"workspace": "globex", "workspace_name": "Globex", "spaces": 1,
                                       "dashboards": 2}
    assert by["empty"]["details"]["spaces"] == 0 and by["empty"]["details"]["dashboards"] == 0
    assert by["empty"]["warnings"][0].startswith("0 collections visible to these credentials")

    wrong = by["wrong"]
    assert wrong["message"].startswith("CheckAccess: GET /api/acme answered 401: ")
    assert "MODE_API_TOKEN__WRONG" in wrong["hint"] and "MODE_API_SECRET__WRONG" in wrong["hint"]
    elsewhere = by["elsewhere"]
    assert "no workspace 'initech'" in elsewhere["message"] and "belong to 'acme'" in elsewhere["message"]
    assert "MODE_WORKSPACE__ELSEWHERE" in elsewhere["hint"]
    viewer = by["viewer"]
    assert "403" in viewer["message"] and "spaces" in viewer["message"] and "MODE_API_TOKEN__VIEWER" in viewer["hint"]
    assert viewer["details"] == {"workspace": "acme", "workspace_name": "Acme Inc."}
    assert [s["status"] for s in viewer["steps"]] == ["passed", "passed", "failed", "skipped"]
    assert "no Mode API" in by["web"]["message"] and "MODE_URL__WEB" in by["web"]["hint"]

    assert sorted(catalog.services) == ["mode_acme", "mode_empty", "mode_globex"]
    assert put_config(catalog, "mode_acme") == {"type": "Mode", "hostPort": fake.url, "accessToken": TOKEN,
                                                "accessTokenPassword": SECRET, "workspaceName": "acme"}
    assert put_config(catalog, "mode_globex")["hostPort"] == fake.url  # the trailing slash typed is gone
    no_secret_in(result)

    # second run: nothing to write, even through a person's token that sees the secrets masked
    catalog.reset_log()
    again, by = scan(run_cli, {**env, "OPENMETADATA_JWT_TOKEN": USER_TOKEN}, "--platform", "mode")
    assert by["acme"]["plan"]["action"] == "unchanged" and by["globex"]["plan"]["action"] == "unchanged"
    assert catalog.calls("PUT") == []
    no_secret_in(again)


def test_the_token_goes_only_to_the_api_in_basic_auth(run_cli, fake):
    result, by = scan(run_cli, mode_env("ONE", fake.url, "acme", TOKEN, SECRET))
    assert by["one"]["status"] == "ok", result.stderr
    assert [(r.path, r.credential) for r in fake.requests if not r.path.startswith("/api/")] == [("/", False)]
    paths = [path for _, path in fake.credentialed]
    assert paths[:2] == ["/api/acme", "/api/acme/spaces"]
    assert len(paths) == 2 + 3 * 3  # each of 3 collections: pages of 3 and 1 reports, then one that brings nothing
    assert {r.principal for r in fake.requests if r.credential} == {"bot"}


def _recording(app):
    """Wrap `app` so every request's path is kept, with its Authorization header's scheme (never its value)."""
    seen: list[tuple[str, str | None]] = []

    def wrapped(request: Request) -> Response:
        header = request.header("Authorization")
        seen.append((request.path, header.split(" ", 1)[0] if header else None))
        return app(request)

    return wrapped, seen


def _spa(request: Request) -> Response:  # a single-page app: 200 with its page for any path
    return Response(200, b"<!DOCTYPE html><html><head><title>Mode</title></head><body>app</body></html>",
                    {"Content-Type": "text/html; charset=utf-8"})


def _json_everywhere(request: Request) -> Response:  # a JSON API that is not Mode
    return Response.json({"status": "ok", "_links": {}})


def _not_found_json(request: Request) -> Response:  # another tool's API 404 (Redash, Grafana...)
    return Response.json({"message": "Not found"}, 404)


def _unauthorized_text(request: Request) -> Response:  # another tool's 401, with no Basic challenge
    return Response(401, b"Unauthenticated", {"Content-Type": "text/plain"})


def _other_account(request: Request) -> Response:  # HAL, but not the workspace asked for
    return Response.json({"username": "someone-else", "_links": {"self": {"href": "/api/someone-else"}}})


@pytest.mark.parametrize("app", [_spa, _json_everywhere, _not_found_json, _unauthorized_text, _other_account],
                         ids=["spa", "json", "404-json", "401-text", "other-account"])
def test_not_mode_is_not_detected_after_one_request(run_cli, app):
    """No fingerprint is possible (the API answers nothing without credentials), so the token goes to the URL the
    user gave, once, in the Authorization header; the answer decides, and it is never ``ok``."""
    wrapped, seen = _recording(app)
    with LocalServer(wrapped) as server:
        result, by = scan(run_cli, mode_env("X", server.url, "acme", TOKEN, SECRET))
    [entry] = by.values()
    assert entry["status"] == "not_detected", entry
    assert entry["message"].startswith("CheckAccess: no Mode API at ")
    assert "MODE_URL__X" in entry["hint"]
    assert [(path, scheme) for path, scheme in seen if scheme] == [("/api/acme", "Basic")]
    assert {path for path, scheme in seen if not scheme} == {"/"}
    no_secret_in(result)


def test_a_401_with_a_basic_challenge_and_no_json_is_auth_failed(run_cli):
    """The other reading of Mode's 401 (documented as JSON ``{"id":"unauthorized"}``): a Rails-style text answer
    with an HTTP Basic challenge is still the platform refusing the credentials."""
    def app(request: Request) -> Response:
        if request.path == "/":
            return Response(302, b"", {"Location": "/signin"})
        return Response(401, b"HTTP Basic: Access denied.\n", {"Content-Type": "text/html; charset=utf-8",
                                                                 "WWW-Authenticate": 'Basic realm="Application"'})

    with LocalServer(app) as server:
        result, by = scan(run_cli, mode_env("RAILS", server.url, "acme", TOKEN, WRONG_SECRET))
    [entry] = by.values()
    assert entry["status"] == "auth_failed", entry
    assert "Access denied" in entry["message"] and "MODE_API_SECRET__RAILS" in entry["hint"]


def test_a_workspace_spelled_otherwise_is_registered_as_mode_spells_it(run_cli, fake, catalog):
    result, by = scan(run_cli, {**catalog_env(catalog), **mode_env("CASE", fake.url, "ACME", TOKEN, SECRET)})
    [entry] = by.values()
    assert entry["status"] == "ok", entry
    assert entry["details"]["workspace"] == "acme"
    assert entry["warnings"] == ["Mode spells the workspace 'acme' (MODE_WORKSPACE__CASE is 'ACME'): workspaceName "
                                 "is registered as Mode spells it"]
    assert put_config(catalog, "mode_case")["workspaceName"] == "acme"


@pytest.mark.parametrize(("past_last", "expected"), [("empty", 3 * 7), ("clamp", 3 * 7), ("ignore", 3 * 3)])
def test_report_pages_are_read_as_openmetadata_reads_them(run_cli, past_last, expected):
    """Mode documents no page size and no end: counting stops at the first page with nothing new, whatever a page
    past the last answers. With ``page`` ignored only the first page exists, for OpenMetadata as for scanner."""
    workspace = ModeWorkspace("acme", spaces=2, private_spaces=1, reports=7)
    with FakeMode(workspaces=[workspace], tokens=[ModeToken(TOKEN, SECRET)], page_size=3,
                  past_last=past_last) as server:
        result, by = scan(run_cli, mode_env("PAGES", server.url, "acme", TOKEN, SECRET))
        pages = [r for r in server.requests if r.path.endswith("/reports")]
    [entry] = by.values()
    assert entry["status"] == "ok", entry
    assert entry["details"]["dashboards"] == expected
    assert len(pages) == 3 * (4 if past_last != "ignore" else 2)


def test_a_listing_that_never_ends_is_an_error(run_cli):
    pages = []

    def app(request: Request) -> Response:
        if request.path == "/api/acme":
            return Response.json({"username": "acme", "_links": {"self": {"href": "/api/acme"}}})
        if request.path == "/api/acme/spaces":
            return Response.json({"_embedded": {"spaces": [{"token": "s1"}]}})
        if request.path == "/api/acme/spaces/s1/reports":
            pages.append(request.query.get("page"))
            return Response.json({"_embedded": {"reports": [{"token": f"r{len(pages)}"}]}})
        return Response(302, b"", {"Location": "/signin"})

    with LocalServer(app) as server:
        result, by = scan(run_cli, mode_env("ENDLESS", server.url, "acme", TOKEN, SECRET))
    [entry] = by.values()
    assert entry["status"] == "error"
    assert "did not end after 100 pages" in entry["message"]
    assert len(pages) == 100 and pages[:3] == ["1", "2", "3"]


def test_429_is_retried_after_retry_after(run_cli, fake):
    fake.inject(429, times=1, method="GET", path_prefix="/api/acme/spaces", headers={"Retry-After": "1"})
    t0 = time.monotonic()
    result, by = scan(run_cli, mode_env("BUSY", fake.url, "acme", TOKEN, SECRET))
    assert time.monotonic() - t0 >= 1.0
    [entry] = by.values()
    assert entry["status"] == "ok", entry
    assert entry["details"]["dashboards"] == 12
    assert [r.status for r in fake.requests if r.path == "/api/acme/spaces"] == [429, 200]


def test_429_that_does_not_end_is_an_error(run_cli, fake):
    fake.inject(429, times=None, method="GET", path_prefix="/api/acme", headers={"Retry-After": "0"})
    result, by = scan(run_cli, mode_env("BUSY", fake.url, "acme", TOKEN, SECRET))
    [entry] = by.values()
    assert entry["status"] == "error"
    assert "429" in entry["message"] and "rate limiting" in entry["hint"]
    assert [r.status for r in fake.requests if r.path == "/api/acme"] == [429, 429, 429]


@pytest.mark.parametrize(("status", "expected"), [(403, "forbidden"), (500, "error"), (400, "error")])
def test_modes_own_errors_on_check_access(run_cli, fake, status, expected):
    fake.inject(status, times=None, method="GET", path_prefix="/api/acme")
    result, by = scan(run_cli, mode_env("ERR", fake.url, "acme", TOKEN, SECRET))
    [entry] = by.values()
    assert entry["status"] == expected, entry
    assert entry["message"].startswith(f"CheckAccess: GET /api/acme answered {status}: ")
    if status == 403:
        assert "MODE_API_TOKEN__ERR" in entry["hint"]


def test_a_redirect_of_a_credentialed_request_is_not_followed(run_cli, fake):
    wrapped, seen = _recording(lambda request: Response(200, b"got you"))
    with LocalServer(wrapped) as elsewhere:
        fake.inject(301, times=None, method="GET", path_prefix="/api/acme",
                    headers={"Location": elsewhere.url + "/api/acme"}, body="")
        result, by = scan(run_cli, mode_env("REDIR", fake.url, "acme", TOKEN, SECRET))
    [entry] = by.values()
    assert entry["status"] == "error" and "not followed" in entry["message"]
    assert seen == []


def test_https_with_a_private_ca(run_cli, catalog, server_tls, ca_pem):
    tokens = [ModeToken(TOKEN, SECRET), ModeToken(EMPTY, EMPTY_SECRET)]
    with FakeMode(workspaces=[ACME], tokens=tokens, tls=server_tls) as server:
        url = server.url
        env = {**catalog_env(catalog), **mode_env("CA", url, "acme", TOKEN, SECRET, CA_BUNDLE=str(ca_pem)),
               **mode_env("NOCA", url, "acme", TOKEN, SECRET),
               **mode_env("OFF", url, "acme", EMPTY, EMPTY_SECRET, VERIFY_SSL="false")}  # another token: no duplicate
        result, by = scan(run_cli, env)
        credentialed_noca = [r for r in server.requests if r.credential and r.principal is None]
    assert url.startswith("https://")
    assert {k: v["status"] for k, v in by.items()} == {"ca": "ok", "noca": "tls_error", "off": "ok"}
    [warning] = by["ca"]["warnings"]
    assert "ingestion host" in warning and "REQUESTS_CA_BUNDLE" in warning
    assert put_config(catalog, "mode_ca") == {"type": "Mode", "hostPort": url, "accessToken": TOKEN,
                                              "accessTokenPassword": SECRET, "workspaceName": "acme"}
    assert "MODE_CA_BUNDLE" in by["noca"]["hint"] and "MODE_VERIFY_SSL" in by["noca"]["hint"]
    assert [s["status"] for s in by["noca"]["steps"]] == ["failed", "skipped", "skipped", "skipped"]
    assert credentialed_noca == []
    assert any("ingestion host" in w for w in by["off"]["warnings"])
    no_secret_in(result)


def test_mode_url_defaults_to_mode_itself(run_cli):
    """Without MODE_URL the target is Mode's own https://app.mode.com (here a dead loopback proxy answers for it)."""
    result, by = scan(run_cli, {"MODE_WORKSPACE": "acme", "MODE_API_TOKEN": TOKEN, "MODE_API_SECRET": SECRET})
    [entry] = by.values()
    assert entry["service_name"] == "mode_acme" and entry["url"] == "https://app.mode.com"
    assert entry["status"] == "unreachable"
    no_secret_in(result)


def test_connection_config_leaves_the_default_host_out():
    settings = ModeSettings(workspaceName="acme", accessToken=TOKEN, accessTokenPassword=SECRET)
    target = Target("mode", "acme", "mode_acme", settings, {}, "test")
    result = ProbeResult(Status.OK, [], canonical_url="https://app.mode.com", details={"workspace": "acme"})
    config = mode.connection_config(target, result)
    assert config.dump(reveal_secrets=True) == {"type": "Mode", "accessToken": TOKEN, "accessTokenPassword": SECRET,
                                                "workspaceName": "acme"}
    assert set(config.dump(reveal_secrets=True)) <= {"type", *mode.config_keys}
    assert SECRET not in repr(config) and TOKEN not in repr(config)


def test_a_token_without_its_workspace_is_rejected_naming_it(run_cli):
    result, by = scan(run_cli, {"MODE_API_TOKEN__HR": TOKEN, "MODE_API_SECRET__HR": SECRET})
    assert result.code == 1
    [entry] = by.values()
    assert "MODE_API_TOKEN__HR is set but MODE_WORKSPACE__HR is not" in entry["message"]
    no_secret_in(result)


def test_toml_target_uses_openmetadatas_key_names(run_cli, fake, tmp_path):
    (tmp_path / "config.toml").write_text(
        f'[[targets]]\nplatform = "mode"\nurl = "{fake.url}"\nworkspaceName = "acme"\n'
        'accessToken = "${MY_TOKEN}"\naccessTokenPassword = "${MY_SECRET}"\n'
    )
    result, by = scan(run_cli, {"MY_TOKEN": TOKEN, "MY_SECRET": SECRET}, "--config", str(tmp_path / "config.toml"),
                      "--dry-run")
    [entry] = by.values()
    assert entry["status"] == "ok", result.stdout + result.stderr
    assert entry["service_name"] == "mode_acme"
    config = entry["payload"]["connection"]["config"]
    assert config == {"type": "Mode", "hostPort": fake.url, "accessToken": "*********",
                      "accessTokenPassword": "*********", "workspaceName": "acme"}
    no_secret_in(result)


@pytest.mark.parametrize(("env", "needle"), [
    ({"MODE_WORKSPACE": "acme", "MODE_API_TOKEN": TOKEN, "MODE_API_SECRET": "  "}, "accessTokenPassword"),
    ({"MODE_WORKSPACE": "acme/reports", "MODE_API_TOKEN": TOKEN, "MODE_API_SECRET": SECRET}, "workspace name"),
])
def test_bad_settings_are_config_errors(run_cli, env, needle):
    result = run_cli("scan", env={"MODE_URL": "http://127.0.0.1:1", **env})
    assert result.code == 1
    assert needle in result.stdout
    no_secret_in(result)


@pytest.mark.parametrize(("url", "base"), [
    ("https://app.mode.com/acme/reports/abc123?tab=1", "https://app.mode.com"),
    ("https://app.mode.com", "https://app.mode.com"),
    ("https://proxy.example.com/mode", "https://proxy.example.com/mode"),  # not Mode's host: kept as typed
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
])
def test_base_url(url, base):
    assert mode.base_url(url) == base
