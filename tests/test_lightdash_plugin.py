"""Lightdash plugin against the contract-faithful fake (scanner/testing/fake_lightdash.py), over real sockets on
127.0.0.1: whole ``scanner scan`` runs against the fake catalog, and single probes through scanner's own runner."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from conftest import USER_TOKEN, catalog_env
from pydantic import ValidationError
from schemas import validate

from scanner.plugin import Status, StepStatus, Target
from scanner.probe import run_probe
from scanner.testing.fake_lightdash import FakeLightdash, FakeProject, FakeSpace, FakeUser
from scanner.testing.server import LocalServer, Request, Response
from scanner.urls import connector_host_port as host_port
from scanner_lightdash import part_keys, plugin

page_base = plugin.base_url

ADMIN_KEY = "ld-pat-admin-7c41e9d2"
WRONG_KEY = "ld-pat-wrong-55aa10be"
VIEWER_KEY = "ld-pat-viewer-3b9e07"
NOSPACE_KEY = "ld-pat-nospace-81d4f2"
SERVICE_KEY = "ldsvc_5f0c2a9e7d614b38"
SECRETS = (ADMIN_KEY, WRONG_KEY, VIEWER_KEY, NOSPACE_KEY, SERVICE_KEY)


def three_spaces() -> list[FakeProject]:
    return [FakeProject("Analytics", [FakeSpace("Sales", dashboards=2, charts=3),
                                      FakeSpace("Marketing Team", dashboards=1, charts=2)]),
            FakeProject("Ops", [FakeSpace("Sales", dashboards=4, charts=1)])]


USERS = {"admin": FakeUser(ADMIN_KEY), "viewer": FakeUser(VIEWER_KEY, forbidden=True),
         "nospace": FakeUser(NOSPACE_KEY, spaces=frozenset()), "robot": FakeUser(SERVICE_KEY)}


@pytest.fixture
def lightdash():
    with FakeLightdash(projects=three_spaces(), users=USERS) as fake:
        yield fake


def uuids(fake: FakeLightdash) -> dict[str, tuple[str, str]]:
    """'Project/Space' -> (project UUID, space UUID)."""
    return {f"{p.name}/{s.name}": (p.uuid, s.uuid) for p in fake.projects for s in p.spaces}


def probe(url: str, key: str, **settings):
    target = Target(platform="lightdash", instance="t", service_name="lightdash_t",
                    settings=plugin.settings_model(url=url, apiKey=key, **settings), sources={}, origin="test")
    return target, run_probe(plugin, target, deadline_s=20)


def steps(result) -> dict[str, str]:
    return {s.name: s.status.value for s in result.steps}


def scan(run_cli, env, *args):
    result = run_cli("scan", "--output", "json", *args, env=env)
    assert result.stdout, result.stderr[-2000:]
    return result, json.loads(result.stdout)["targets"]


# -- whole runs -----------------------------------------------------------------------------------------------------


def test_two_projects_and_three_spaces_become_three_services(run_cli, lightdash, catalog):
    env = {**catalog_env(catalog), "LIGHTDASH_URL__PROD": lightdash.url, "LIGHTDASH_API_KEY__PROD": ADMIN_KEY}
    result, targets = scan(run_cli, env)
    assert result.code == 0, result.stderr[-2000:]
    ids = uuids(lightdash)
    by = {t["service_name"]: t for t in targets}
    assert list(by) == ["lightdash_prod_analytics_sales", "lightdash_prod_analytics_marketing_team",
                        "lightdash_prod_ops_sales"]
    assert {t["taken"] for t in targets} == {"created"} and {t["status"] for t in targets} == {"ok"}
    first = by["lightdash_prod_analytics_sales"]
    assert first["version"] == "0.2046.1" and first["canonical_url"] == lightdash.url
    assert [s["name"] for s in first["steps"]] == ["Reach", "Fingerprint", "CheckAccess", "GetSpaces",
                                                   "GetDashboards", "GetCharts"]
    assert first["steps"][3]["message"] == "3 space(s) in 2 project(s)"
    assert first["steps"][4]["message"] == "7 dashboards" and first["steps"][5]["message"] == "6 charts"
    counts = {n: (t["details"]["project"], t["details"]["space"], t["details"]["dashboards"], t["details"]["charts"],
                  t["details"]["spaces"]) for n, t in by.items()}
    assert counts == {"lightdash_prod_analytics_sales": ("Analytics", "Sales", 2, 3, 3),
                      "lightdash_prod_analytics_marketing_team": ("Analytics", "Marketing Team", 1, 2, 3),
                      "lightdash_prod_ops_sales": ("Ops", "Sales", 4, 1, 3)}
    assert first["warnings"] == []

    assert sorted(catalog.services) == sorted(by)
    wanted = {"lightdash_prod_analytics_sales": ids["Analytics/Sales"],
              "lightdash_prod_analytics_marketing_team": ids["Analytics/Marketing Team"],
              "lightdash_prod_ops_sales": ids["Ops/Sales"]}
    for name, (project_uuid, space_uuid) in wanted.items():
        [put] = [c for c in catalog.calls("PUT") if isinstance(c.json, dict) and c.json["name"] == name]
        validate(put.json)
        config = put.json["connection"]["config"]
        validate(config, "LightdashConnection.json")
        assert config == {"type": "Lightdash", "hostPort": lightdash.url, "apiKey": ADMIN_KEY,
                          "projectUUID": project_uuid, "spaceUUID": space_uuid}
        assert put.json["serviceType"] == "Lightdash"
    assert by["lightdash_prod_ops_sales"]["payload"]["displayName"] == "Lightdash prod: Ops / Sales"
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr

    # no credential left before the fingerprint had passed: every request before the first one with a key was
    # one of the fingerprint's (or Reach's), without an Authorization header
    log = lightdash.credential_log
    first_key = next(n for n, (_, _, has) in enumerate(log) if has)
    assert {path for _, path, _ in log[:first_key]} == {"/", "/api/v1/health"}
    assert log[first_key][1] == "/api/v1/org/projects"
    assert all(has for _, _, has in log[first_key:])

    # second run, through a person's token that sees masked secrets: nothing to write
    catalog.reset_log()
    again, targets = scan(run_cli, {**env, "OPENMETADATA_JWT_TOKEN": USER_TOKEN})
    assert again.code == 0, again.stderr[-2000:]
    assert [(t["service_name"], t["plan"]["action"]) for t in targets] == [(n, "unchanged") for n in by]
    assert catalog.calls("PUT") == []


def test_narrowed_targets(run_cli, lightdash, catalog, tmp_path):
    """Both UUIDs: exactly one service, named as the target. The project alone: its spaces."""
    ids = uuids(lightdash)
    project, space = ids["Analytics/Marketing Team"]
    env = {**catalog_env(catalog), "LIGHTDASH_URL__ONE": lightdash.url, "LIGHTDASH_API_KEY__ONE": ADMIN_KEY,
           "LIGHTDASH_PROJECT__ONE": project, "LIGHTDASH_SPACE__ONE": space,
           "LIGHTDASH_URL__PROJ": lightdash.url + "/projects/" + project + "/spaces/" + space + "?tab=x",
           "LIGHTDASH_API_KEY__PROJ": ADMIN_KEY, "LIGHTDASH_PROJECT__PROJ": project}
    result, targets = scan(run_cli, env)
    by = {t["service_name"]: t for t in targets}
    assert sorted(by) == ["lightdash_one", "lightdash_proj_analytics_marketing_team",
                          "lightdash_proj_analytics_sales"], result.stderr[-2000:]
    # lightdash_proj's Marketing Team space is lightdash_one's: the same service, registered once
    assert by["lightdash_proj_analytics_marketing_team"]["taken"] == "skipped"
    assert by["lightdash_proj_analytics_marketing_team"]["plan"]["reason"].startswith("duplicate of lightdash_one")
    assert by["lightdash_one"]["details"]["dashboards"] == 1
    assert by["lightdash_one"]["steps"][3]["message"] == "1 space(s) in 1 project(s)"
    assert by["lightdash_proj_analytics_sales"]["canonical_url"] == lightdash.url  # the page URL was cut
    services = catalog.services
    assert sorted(services) == ["lightdash_one", "lightdash_proj_analytics_sales"]
    config = services["lightdash_one"]["connection"]["config"]
    assert (config["projectUUID"], config["spaceUUID"], config["hostPort"]) == (project, space, lightdash.url)
    assert services["lightdash_proj_analytics_sales"]["connection"]["config"]["spaceUUID"] == ids["Analytics/Sales"][1]


def test_a_toml_target_with_openmetadatas_key_names(run_cli, lightdash, catalog, tmp_path):
    ids = uuids(lightdash)
    (tmp_path / "config.toml").write_text(
        '[[targets]]\nplatform = "lightdash"\ninstance = "toml"\nurl = "${LD_URL}"\napiKey = "${LD_KEY}"\n'
        f'projectUUID = "{ids["Ops/Sales"][0]}"\nspaceUUID = "{ids["Ops/Sales"][1].upper()}"\n')
    env = {**catalog_env(catalog), "LD_URL": lightdash.url, "LD_KEY": ADMIN_KEY}
    result, [entry] = scan(run_cli, env, "--config", str(tmp_path / "config.toml"))
    assert result.code == 0 and entry["service_name"] == "lightdash_toml", entry
    assert entry["sources"]["projectUUID"].startswith("config.toml")
    config = catalog.services["lightdash_toml"]["connection"]["config"]
    assert (config["projectUUID"], config["spaceUUID"]) == ids["Ops/Sales"]  # as Lightdash spells it
    assert ADMIN_KEY not in result.stdout + result.stderr


def test_https_with_a_private_ca(run_cli, server_tls, ca_pem, catalog):
    with FakeLightdash(projects=three_spaces()[1:], users=USERS, tls=server_tls) as fake:
        url = fake.url
        env = {**catalog_env(catalog), "LIGHTDASH_URL": fake.url, "LIGHTDASH_API_KEY": ADMIN_KEY}
        refused, [entry] = scan(run_cli, env)
        assert entry["status"] == "tls_error" and "LIGHTDASH_CA_BUNDLE" in entry["hint"]
        assert refused.code == 1
        assert not any(has for _, _, has in fake.credential_log)  # the handshake failed before any key went out
        result, [entry] = scan(run_cli, {**env, "LIGHTDASH_CA_BUNDLE": str(ca_pem)})
    assert result.code == 0 and entry["status"] == "ok", entry
    assert entry["payload"]["connection"]["config"]["hostPort"] == url and url.startswith("https://")
    [warning] = entry["warnings"]
    assert "ingestion host must trust this CA" in warning and "REQUESTS_CA_BUNDLE" in warning


def test_verification_off_is_registered_with_a_warning(server_tls):
    """OpenMetadata's Lightdash connector has no TLS setting: it always verifies, so turning it off is only scanner's."""
    with FakeLightdash(projects=three_spaces()[1:], users=USERS, tls=server_tls) as fake:
        target, result = probe(fake.url, ADMIN_KEY, verify_ssl=False)
    assert result.status is Status.OK
    [part] = plugin.parts(target, result)
    sub = dataclasses.replace(target, settings=target.settings.model_copy(update=dict(part.settings)))
    config = plugin.connection_config(sub, result)
    assert set(config.dump()) == {"type", "hostPort", "apiKey", "projectUUID", "spaceUUID"}  # no TLS key exists
    [warning] = config.warnings
    assert "TLS verification is off" in warning and "ingestion host" in warning


# -- failures ----------------------------------------------------------------------------------------------------


def test_a_wrong_key_is_auth_failed(lightdash):
    _, result = probe(lightdash.url, WRONG_KEY)
    assert result.status is Status.AUTH_FAILED
    assert steps(result) == {"Reach": "passed", "Fingerprint": "passed", "CheckAccess": "failed",
                             "GetSpaces": "skipped", "GetDashboards": "skipped", "GetCharts": "skipped"}
    assert result.message == ("CheckAccess: GET /api/v1/org/projects (AuthorizationError) answered 401: "
                              "Personal access token is not recognised")
    assert "LIGHTDASH_API_KEY" in result.hint and "proxy" not in result.hint
    assert WRONG_KEY not in result.message + result.hint


def test_a_401_that_is_not_lightdashs_names_a_proxy(lightdash):
    lightdash.inject(401, path_prefix="/api/v1/org/projects", body="Unauthorized")
    _, result = probe(lightdash.url, ADMIN_KEY)
    assert result.status is Status.AUTH_FAILED and "proxy" in result.hint and "LIGHTDASH_API_KEY" in result.hint


def test_a_forbidden_user(lightdash):
    _, result = probe(lightdash.url, VIEWER_KEY)
    assert result.status is Status.FORBIDDEN
    assert "(ForbiddenError) answered 403" in result.message
    assert "LIGHTDASH_API_KEY" in result.hint


def test_a_key_that_reads_no_space_is_forbidden(lightdash):
    _, result = probe(lightdash.url, NOSPACE_KEY)
    assert result.status is Status.FORBIDDEN
    assert steps(result)["CheckAccess"] == "passed" and steps(result)["GetSpaces"] == "failed"
    assert result.message == "GetSpaces: this key can read no space in 2 project(s)"
    assert "one space at a time" in result.hint and "LIGHTDASH_API_KEY" in result.hint


def test_narrowing_to_what_the_key_cannot_see_is_forbidden(lightdash):
    ids = uuids(lightdash)
    unknown = "0b0b0b0b-1111-4222-8333-444455556666"
    _, result = probe(lightdash.url, ADMIN_KEY, projectUUID=unknown)
    assert result.status is Status.FORBIDDEN and "LIGHTDASH_PROJECT" in result.hint
    assert result.message == f"GetSpaces: project {unknown} is not among the 2 project(s) this key can view"
    _, result = probe(lightdash.url, ADMIN_KEY, projectUUID=ids["Ops/Sales"][0], spaceUUID=ids["Analytics/Sales"][1])
    assert result.status is Status.FORBIDDEN and "LIGHTDASH_SPACE" in result.hint
    space_only = FakeUser("ld-pat-sales", spaces=frozenset({"Sales"}))
    with FakeLightdash(projects=three_spaces(), users={"s": space_only}) as fake:
        ids = uuids(fake)
        _, result = probe(fake.url, "ld-pat-sales", spaceUUID=ids["Analytics/Marketing Team"][1])
        assert result.status is Status.FORBIDDEN and "LIGHTDASH_SPACE" in result.hint
        target, result = probe(fake.url, "ld-pat-sales", spaceUUID=ids["Ops/Sales"][1])  # in whichever project
        assert result.status is Status.OK
        [part] = plugin.parts(target, result)
        assert (part.key, dict(part.settings)) == ("ops_sales", {"projectUUID": ids["Ops/Sales"][0],
                                                                "spaceUUID": ids["Ops/Sales"][1]})


def test_settings_refuse_what_is_not_a_uuid():
    with pytest.raises(ValidationError, match="is not a UUID"):
        plugin.settings_model(url="http://127.0.0.1:1", apiKey="k", projectUUID="Analytics")
    with pytest.raises(ValidationError, match="apiKey is empty"):
        plugin.settings_model(url="http://127.0.0.1:1", apiKey="  ")
    settings = plugin.settings_model(url="http://127.0.0.1:1", apiKey="k", spaceUUID=" ")
    assert settings.spaceUUID is None


def test_a_service_account_token_the_connector_cannot_send(lightdash):
    """Lightdash takes an ldsvc_ token as Bearer only; OpenMetadata's connector sends ApiKey: auth_failed, said so."""
    _, result = probe(lightdash.url, SERVICE_KEY)
    assert result.status is Status.AUTH_FAILED
    assert "accepted as 'Authorization: Bearer' only" in result.message and "(401 AuthorizationError)" in \
        result.message
    assert "personal access token" in result.hint
    assert [(r.path, r.status, r.principal) for r in lightdash.requests if r.path == "/api/v1/org/projects"] == [
        ("/api/v1/org/projects", 401, None), ("/api/v1/org/projects", 200, "robot")]
    with FakeLightdash(projects=three_spaces(), users=USERS, service_tokens_as_apikey=True) as fake:
        _, result = probe(fake.url, SERVICE_KEY)  # the other reading: a server that takes it as ApiKey too
    assert result.status is Status.OK


def test_zero_dashboards_is_a_warning():
    projects = [FakeProject("Empty", [FakeSpace("Nothing", dashboards=0, charts=0)])]
    with FakeLightdash(projects=projects, users=USERS) as fake:
        _, result = probe(fake.url, ADMIN_KEY)
    assert result.status is Status.OK
    assert result.warnings == ["0 dashboards visible to these credentials: OpenMetadata would ingest none",
                               "0 charts visible to these credentials: OpenMetadata would ingest none"]
    assert result.details["dashboards"] == 0


def test_empty_spaces_and_never_opened_dashboards_are_warnings():
    projects = [FakeProject("P", [FakeSpace("Full", dashboards=3, never_viewed=1), FakeSpace("Bare", dashboards=0)])]
    with FakeLightdash(projects=projects, users=USERS) as fake:
        _, result = probe(fake.url, ADMIN_KEY)
    assert result.status is Status.OK
    [warning] = result.warnings
    assert "dashboards without firstViewedAt (never opened) in 'P' / 'Full': 1 of 3" in warning
    assert "1 space(s) hold no dashboard, so their services ingest none: 'P' / 'Bare'" in warning


# -- is it Lightdash? (no credential before it is proven) ------------------------------------------------------------


class Recorder:
    """A web server that is not Lightdash; records whether any request carried an Authorization header."""

    def __init__(self, answer):
        self.answer = answer
        self.authorized: list[str] = []
        self.paths: list[str] = []

    def __call__(self, request: Request) -> Response:
        self.paths.append(request.path)
        if request.header("Authorization") is not None:
            self.authorized.append(request.path)
        return self.answer(request)


@pytest.mark.parametrize("answer", [
    pytest.param(lambda r: Response(200, b"<!doctype html><html><head><title>Grafana</title></head></html>",
                                    {"Content-Type": "text/html"}), id="another-spa-200-everywhere"),
    pytest.param(lambda r: Response.json({"status": "ok", "results": {"healthy": True}}), id="json-without-version"),
    pytest.param(lambda r: Response.json({"status": "ok", "results": {"version": "1.0"}}, 200,
                                         {"X-Powered-By": "Express"}), id="health-json-alone"),
    pytest.param(lambda r: Response(200, b"<html><title>Lightdash</title></html>", {"Content-Type": "text/html"}),
                 id="lookalike-page-alone"),
])
def test_a_server_that_is_not_lightdash_gets_no_credential(run_cli, answer):
    recorder = Recorder(answer)
    with LocalServer(recorder) as server:
        result, [entry] = scan(run_cli, {"LIGHTDASH_URL": server.url, "LIGHTDASH_API_KEY": ADMIN_KEY})
    assert entry["status"] == "not_detected", entry
    assert [s["status"] for s in entry["steps"]] == ["passed", "failed", "skipped", "skipped", "skipped", "skipped"]
    assert "no Lightdash here" in entry["message"]
    assert recorder.paths and recorder.authorized == []
    assert ADMIN_KEY not in result.stdout + result.stderr


def test_the_catch_all_page_is_not_an_api_answer(lightdash):
    """The fake answers any unmatched GET with the app page and 200 (the Corrections), with the version header."""
    import urllib.request

    with urllib.request.urlopen(lightdash.url + "/api/v1/no/such/thing") as resp:  # noqa: S310 - loopback
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/html")
        assert resp.headers["Lightdash-Version"] == lightdash.version
        assert b"<title>Lightdash</title>" in resp.read()


def test_a_guarded_health_still_fingerprints():
    """An older variant answers /api/v1/health with 401 AuthorizationError: its error and the header still say so."""
    with FakeLightdash(projects=three_spaces(), users=USERS, health_requires_auth=True) as fake:
        _, result = probe(fake.url, ADMIN_KEY)
        assert result.status is Status.OK and result.version == fake.version  # from the Lightdash-Version header
        assert result.steps[1].message == "Lightdash 0.2046.1 (/api/v1/health, Lightdash-Version header, app page)"
    with FakeLightdash(projects=three_spaces(), users=USERS, health_requires_auth=True, version_header=False) as fake:
        _, result = probe(fake.url, ADMIN_KEY)
    assert result.status is Status.OK and result.version is None


def test_429_with_retry_after_is_retried(lightdash):
    lightdash.inject(429, times=1, path_prefix="/api/v1/org/projects", headers={"Retry-After": "1"})
    t0 = time.monotonic()
    _, result = probe(lightdash.url, ADMIN_KEY)
    assert result.status is Status.OK, result.message
    assert time.monotonic() - t0 >= 1.0
    assert [(r.path, r.status) for r in lightdash.requests if r.path == "/api/v1/org/projects"] == [
        ("/api/v1/org/projects", 429), ("/api/v1/org/projects", 200)]


def test_preview_projects_are_left_out_unless_named():
    projects = [*three_spaces(), FakeProject("PR 1234", [FakeSpace("Sales")], type="PREVIEW")]
    with FakeLightdash(projects=projects, users=USERS) as fake:
        target, result = probe(fake.url, ADMIN_KEY)
        assert result.status is Status.OK
        assert [p.key for p in plugin.parts(target, result)] == ["analytics_sales", "analytics_marketing_team",
                                                                 "ops_sales"]
        assert result.steps[3].message == "3 space(s) in 2 project(s) (1 preview project(s) left out)"
        target, result = probe(fake.url, ADMIN_KEY, projectUUID=fake.projects[-1].uuid)
    assert [p.key for p in plugin.parts(target, result)] == ["pr_1234_sales"]


def test_a_space_without_queries_counts_charts_from_the_project():
    """The other reading of the space answer: no ``queries`` key; charts come from /api/v1/projects/{p}/charts."""
    with FakeLightdash(projects=three_spaces(), users=USERS, space_queries=False) as fake:
        _, result = probe(fake.url, ADMIN_KEY)
    assert result.status is Status.OK
    assert [(s["space"], s["charts"]) for s in result.details["spaces"]] == [
        ("Sales", 3), ("Marketing Team", 2), ("Sales", 1)]
    assert sum(1 for r in fake.requests if r.path.endswith("/charts")) == 2  # once per project


# -- names and URLs --------------------------------------------------------------------------------------------------


def _space(project: str, space: str, n: int) -> dict:
    return {"project": project, "projectUUID": f"{n:08x}-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "space": space,
            "spaceUUID": f"{n:08x}-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "dashboards": 1, "charts": 1}


def test_part_keys_are_readable_and_disambiguated_only_on_collision():
    spaces = [_space("Sales & Co", "Q1 / Q2", 1), _space("Sales & Co", "Q1 - Q2", 2), _space("Ops", "Shared", 3),
              _space("データ", "共有", 4)]
    assert part_keys(spaces) == ["sales_co_q1_q2_00000001", "sales_co_q1_q2_00000002", "ops_shared",
                                 "00000004_00000004"]
    assert part_keys(spaces[2:3]) == ["ops_shared"]


def test_the_instance_base_and_host_port():
    url = "https://ld.example.com/projects/3f6e/dashboards/9c1a/view?tab=1#x"
    assert page_base(url) == "https://ld.example.com"
    assert page_base("https://ex.com/bi/lightdash/projects/1/home") == "https://ex.com/bi/lightdash"
    assert page_base("not a url") == "not a url"
    assert host_port("https://ld.example.com") == "https://ld.example.com"
    assert host_port("https://ex.com/bi/lightdash") == "https://ex.com/bi/lightdash/"  # the connector joins paths


def test_connection_config_needs_one_project_and_one_space(lightdash):
    target, result = probe(lightdash.url, ADMIN_KEY)
    with pytest.raises(ValueError, match="projectUUID and spaceUUID"):
        plugin.connection_config(target, result)
    part = plugin.parts(target, result)[0]
    sub = dataclasses.replace(target, settings=target.settings.model_copy(update=dict(part.settings)))
    assert plugin.connection_config(sub, result).dump() == {
        "type": "Lightdash", "hostPort": lightdash.url, "apiKey": "*********", **part.settings}
    assert all(s.status is StepStatus.PASSED for s in result.steps)
