"""The catalog surprises the run: each ends as one readable line, per item or per run, never a crash.

Over real sockets: a 200 that is an SSO login page, JSON of the wrong shape, paging that never ends,
``OPENMETADATA_HOST`` with ``/api/v1``, an https URL on a plain-http port, a redirect. A run-level
failure is exit 1 with one ``scanner: error:`` line naming the real request and the fix; an item-level
one fails that item only (exit 1) and the others go on.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from pathlib import Path

import pytest
from conftest import BOT_TOKEN, catalog_env

from scanner.testing.server import LocalServer, Request, Response

SERVICES = "/api/v1/services/dashboardServices"
SSO_PAGE = (b"<!DOCTYPE html><html><head><title>Sign in - Acme SSO</title></head>"
            b"<body><form action='/login'><input name='user'></form></body></html>")
HTML = {"Content-Type": "text/html; charset=utf-8"}


def write_targets(tmp_path: Path, url: str, count: int) -> list[str]:
    blocks = ["[catalog]\nretries = 0\ntimeout = 5\n"]
    blocks += [f'[[targets]]\nplatform = "custom"\ninstance = "t{i}"\nurl = "{url}/{i}"\n' for i in range(count)]
    (tmp_path / "config.toml").write_text("\n".join(blocks))
    return [f"custom_t{i}" for i in range(count)]


def scan(run_cli, host: str, *args: str, timeout: float = 60):
    env = {"OPENMETADATA_HOST": host, "OPENMETADATA_JWT_TOKEN": BOT_TOKEN}
    return run_cli("scan", "--output", "json", "--no-inventory", *args, env=env, timeout=timeout)


def assert_clean(result) -> None:
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "internal error" not in text, text


def run_error(result) -> str:
    """The one ``scanner: error:`` line of a run that could not go on (exit 1)."""
    assert_clean(result)
    assert result.code == 1, (result.code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("scanner: error:")]
    assert len(lines) == 1, result.stderr
    assert BOT_TOKEN not in result.stdout + result.stderr
    return lines[0]


def by_service(result) -> dict[str, dict]:
    assert_clean(result)
    return {t["service_name"]: t for t in json.loads(result.stdout)["targets"]}


def version_ok(request: Request) -> Response | None:
    if request.path == "/api/v1/system/version":
        return Response.json({"version": "2.0.7"})
    return None


# -- run level: the first call already says what is in the way ------------------------------------------

def test_an_sso_login_page_at_200_is_named_not_a_json_error(run_cli, tmp_path, web):
    write_targets(tmp_path, web.url, 1)
    with LocalServer(lambda request: Response(200, SSO_PAGE, HTML)) as sso:
        line = run_error(scan(run_cli, sso.url))
    assert "GET /api/v1/system/version -> 200" in line, line
    assert "answered HTML ('Sign in - Acme SSO'), not JSON" in line and "SSO login page" in line, line
    assert "OPENMETADATA_HOST" in line, line


@pytest.mark.parametrize("body, says", [
    (["2.0.7"], "expected an object with a 'version', got a list"),
    ({"status": "ok"}, "'version' is missing"),
    ({"version": {"major": 2}}, "'version' is an object"),
    ("", "answered an empty body"),
    ("up", "answered a body that is not JSON (text/plain)"),
])
def test_a_version_answer_of_the_wrong_shape_is_one_line(run_cli, tmp_path, web, body, says):
    write_targets(tmp_path, web.url, 1)

    def app(request: Request) -> Response:
        if isinstance(body, str):
            return Response(200, body, {"Content-Type": "text/plain"})
        return Response.json(body)

    with LocalServer(app) as server:
        line = run_error(scan(run_cli, server.url))
    assert "catalog GET /api/v1/system/version -> 200" in line and says in line, line


@pytest.mark.parametrize("suffix", ["/api/v1", "/api/v1/", "/api/", "/API/V1", ""])
def test_openmetadata_host_with_api_or_api_v1_reaches_the_same_api(run_cli, tmp_path, web, catalog, suffix):
    write_targets(tmp_path, web.url, 1)
    result = scan(run_cli, catalog.url + suffix)
    assert_clean(result)
    assert result.code == 0, result.stderr
    assert sorted(catalog.services) == ["custom_t0"]
    paths = [c.path for c in catalog.calls(path_prefix="/")]
    assert paths and all(p.startswith("/api/v1/") and "/api/v1/api" not in p for p in paths), paths


def test_an_error_names_the_path_really_requested_and_what_the_host_should_be(run_cli, tmp_path, web):
    write_targets(tmp_path, web.url, 1)
    seen: list[str] = []

    def app(request: Request) -> Response:
        seen.append(request.path)
        return Response.json({"code": 404, "message": "HTTP 404 Not Found"}, 404)

    with LocalServer(app) as server:
        base = server.url
        line = run_error(scan(run_cli, base + "/om"))
    assert seen == ["/om/api/v1/system/version"]
    assert "catalog GET /om/api/v1/system/version -> 404: HTTP 404 Not Found" in line, line
    assert f"no OpenMetadata API at {base}/om/api/v1" in line and "OPENMETADATA_HOST" in line, line


def test_https_on_a_plain_http_port_says_use_http_not_verification_off(run_cli, tmp_path, web, catalog):
    write_targets(tmp_path, web.url, 1)
    line = run_error(scan(run_cli, f"https://127.0.0.1:{catalog.port}"))
    assert "plain HTTP" in line and f"OPENMETADATA_HOST=http://127.0.0.1:{catalog.port}" in line, line
    assert "VERIFY_SSL=false" not in line, line
    assert catalog.services == {}


@pytest.mark.parametrize("location, says", [
    ("https://catalog.example.test/api/v1/system/version", "set OPENMETADATA_HOST=https://catalog.example.test"),
    ("/sso/login?state=s3cr3t-state&next=/api", "an SSO login?"),
])
def test_a_redirect_is_named_with_its_target_and_not_followed(run_cli, tmp_path, web, location, says):
    write_targets(tmp_path, web.url, 1)
    calls: list[str] = []

    def app(request: Request) -> Response:
        calls.append(request.path)
        return Response(302, b"", {"Location": location})

    with LocalServer(app) as server:
        base = server.url
        line = run_error(scan(run_cli, base))
    assert calls == ["/api/v1/system/version"]  # not followed
    assert "catalog GET /api/v1/system/version -> 302 redirect to " in line and says in line, line
    shown = location.split("?")[0] if location.startswith("http") else base + "/sso/login"
    assert shown in line and "s3cr3t-state" not in line, line


# -- paging that never ends: bounded, and said -----------------------------------------------------------

def listing_catalog(mode: str):
    """A catalog that counts 25 services, then pages them in a way that never ends (or has the wrong shape)."""
    fresh = itertools.count()

    def entity(n: int) -> dict:
        return {"id": f"00000000-0000-0000-0000-{n:012d}", "name": f"other_{n}", "serviceType": "Superset"}

    def app(request: Request) -> Response:
        answer = version_ok(request)
        if answer is not None:
            return answer
        if request.path != SERVICES or request.method != "GET":
            return Response.json({"code": 404, "message": "not here"}, 404)
        if request.query.get("limit") == "1":
            return Response.json({"data": [entity(0)], "paging": {"total": 25}})
        n = next(fresh)
        cursor = base64.b64encode(f"c{n}".encode()).decode()
        if mode == "same_cursor":
            return Response.json({"data": [entity(n)], "paging": {"after": "c2FtZQ==", "total": 25}})
        if mode == "new_cursor_forever":
            return Response.json({"data": [entity(n)], "paging": {"after": cursor, "total": 25}})
        if mode == "empty_page_with_cursor":
            return Response.json({"data": [], "paging": {"after": cursor, "total": 25}})
        if mode == "same_page_forever":
            return Response.json({"data": [entity(0)], "paging": {"after": cursor, "total": 25}})
        if mode == "data_not_a_list":
            return Response.json({"data": {"other_1": entity(1)}, "paging": {"total": 25}})
        if mode == "entity_without_name":
            return Response.json({"data": [{"id": "x"}], "paging": {"total": 25}})
        if mode == "sso_page":
            return Response(200, SSO_PAGE, HTML)
        raise AssertionError(mode)

    return app


@pytest.mark.parametrize("mode, says", [
    ("same_cursor", "paging never ends: page 2 names a next page it named before"),
    ("new_cursor_forever", "paging never ends: 2 pages of 500 and still a next page, for a catalog that counts 25"),
    ("empty_page_with_cursor", "paging never ends: page 1 adds no service but names a next page"),
    ("same_page_forever", "paging never ends: page 2 adds no service but names a next page"),
    ("data_not_a_list", "answered JSON of the wrong shape ('data' is an object, not a list)"),
    ("entity_without_name", "answered JSON of the wrong shape (data[0] has no 'name' (got missing))"),
    ("sso_page", "answered HTML ('Sign in - Acme SSO'), not JSON"),
])
def test_a_listing_that_never_ends_or_has_the_wrong_shape_stops_with_one_line(run_cli, tmp_path, web, mode, says):
    write_targets(tmp_path, web.url, 20)  # enough targets that the plan lists the catalog's services
    started = time.monotonic()
    with LocalServer(listing_catalog(mode)) as server:
        line = run_error(scan(run_cli, server.url, timeout=60))
    assert time.monotonic() - started < 30
    assert f"catalog GET {SERVICES} -> 200" in line and says in line, line


def test_a_slow_listing_is_bounded_by_the_run_deadline(run_cli, tmp_path, web):
    write_targets(tmp_path, web.url, 20)

    def app(request: Request) -> Response:
        answer = version_ok(request)
        if answer is not None:
            return answer
        if request.query.get("limit") == "1":  # 18 pages of 500: cheaper than 20 look-ups, so it lists
            return Response.json({"data": [], "paging": {"total": 9000}})
        time.sleep(1.0)
        n = time.monotonic_ns()
        return Response.json({"data": [{"name": f"slow_{n}"}], "paging": {"after": f"c{n}", "total": 9000}})

    started = time.monotonic()
    with LocalServer(app) as server:
        line = run_error(scan(run_cli, server.url, "--run-deadline", "2", timeout=60))
    assert time.monotonic() - started < 20
    assert "listing the services ran past the run deadline" in line, line


# -- item level: one service's surprise fails that service only ------------------------------------------

def test_a_wrong_shaped_service_or_an_sso_page_on_put_fails_that_item_only(run_cli, tmp_path, web, catalog):
    names = write_targets(tmp_path, web.url, 3)
    catalog.inject(200, times=None, method="GET", path_prefix=f"{SERVICES}/name/custom_t0",
                   body=["not", "a", "service"])
    catalog.inject(200, times=None, method="GET", path_prefix=f"{SERVICES}/name/custom_t1",
                   body={"name": "custom_t1", "connection": "hostPort=elsewhere"})
    catalog.inject(200, times=None, method="PUT", body=SSO_PAGE, headers=HTML)  # the session expired mid-run
    result = run_cli("scan", "--output", "json", "--no-inventory", env=catalog_env(catalog))
    by = by_service(result)
    assert result.code == 1, result.stderr
    assert sorted(by) == names and {t["taken"] for t in by.values()} == {"failed"}, by
    assert "answered JSON of the wrong shape (the service is a list, not an object)" in by["custom_t0"]["error"]
    assert "'custom_t1' has 'connection' as a string" in by["custom_t1"]["error"]
    put = by["custom_t2"]["error"]
    assert f"catalog PUT {SERVICES} -> 200: answered HTML ('Sign in - Acme SSO'), not JSON" in put, put
    assert "whether it was written is unknown" in put, put


def test_a_bulk_answer_of_the_wrong_shape_fails_those_items_and_names_it(run_cli, tmp_path, web):
    from scanner.testing.fake_openmetadata import FakeOpenMetadata

    with FakeOpenMetadata(bot_token=BOT_TOKEN, bulk=True) as catalog:
        names = write_targets(tmp_path, web.url, 2)
        catalog.inject(200, times=None, method="PUT", path_prefix=f"{SERVICES}/bulk",
                       body={"successRequest": "all of them"})
        result = run_cli("scan", "--output", "json", "--no-inventory", env=catalog_env(catalog))
    by = by_service(result)
    assert result.code == 1, result.stderr
    assert sorted(by) == names and {t["taken"] for t in by.values()} == {"failed"}, by
    assert all("'successRequest' is not a list of results" in t["error"] for t in by.values()), by
