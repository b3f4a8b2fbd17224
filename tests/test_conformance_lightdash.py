"""Conformance for Lightdash: OpenMetadata's own Lightdash connector (openmetadata-ingestion 2.0.7.0) judges the
services ``scanner scan`` registers against the fake Lightdash (rules: tests/test_conformance.py's docstring).

The connector's listing calls are in ``tests/om_listing_lightdash.py``. One Lightdash instance is several services
(one per project and space): the TLS matrix narrows the target to one space with ``LIGHTDASH_SPACE`` (one part,
``lightdash_conf_analytics_sales``, in a project of two spaces); the other tests judge every service of a whole
instance, and show what the plugin's warnings claim about OpenMetadata's connector.
"""

from __future__ import annotations

import contextlib
import json
import ssl
from collections.abc import Iterator

import pytest
from conformance import SHAPES, SUFFIX, Served, conform, judge_env, run_judge, stored_config
from conftest import catalog_env

from scanner.testing.fake_lightdash import FakeLightdash, FakeProject, FakeSpace, FakeUser

pytestmark = pytest.mark.conformance

KEY = "conf-lightdash-pat-6d20b4a1"
SERVICE_TOKEN = "ldsvc_conf4e81a7c2"


def projects() -> list[FakeProject]:
    return [FakeProject("Analytics", [FakeSpace("Sales", dashboards=3, charts=4),
                                      FakeSpace("Marketing", dashboards=1, charts=2)]),
            FakeProject("Ops", [FakeSpace("Incidents", dashboards=2, charts=1)])]


def fake(tls: ssl.SSLContext | None = None, **kw) -> FakeLightdash:
    return FakeLightdash(projects=kw.pop("projects", None) or projects(),
                         users={"scanner": FakeUser(KEY), "robot": FakeUser(SERVICE_TOKEN)}, tls=tls, **kw)


@contextlib.contextmanager
def lightdash_target(tls: ssl.SSLContext | None) -> Iterator[Served]:
    with fake(tls) as served:
        analytics = served.projects[0]
        sales = analytics.spaces[0]
        yield Served(
            url=served.url,
            env={f"LIGHTDASH_URL__{SUFFIX}": served.url, f"LIGHTDASH_API_KEY__{SUFFIX}": KEY,
                 f"LIGHTDASH_SPACE__{SUFFIX}": sales.uuid},
            # the space's dashboards, each showing one chart; the project's spaces and charts (prepare())
            expected={"dashboards_listed": sales.dashboards, "dashboard_charts_listed": sales.dashboards,
                      "spaces_listed": len(analytics.spaces), "charts_listed": sum(s.charts for s in analytics.spaces),
                      "project_named": 1},
            secrets=(KEY,),
        )


@pytest.mark.parametrize("shape", SHAPES)
def test_lightdash_config_is_usable_by_openmetadatas_connector(
    shape, om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    conform("lightdash", shape, lightdash_target, om_ingestion=om_ingestion, run_cli=run_cli, catalog=catalog,
            server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)


def _scan(run_cli, catalog, url: str, key: str = KEY) -> list[dict]:
    env = {**catalog_env(catalog), "LIGHTDASH_URL__ALL": url, "LIGHTDASH_API_KEY__ALL": key}
    result = run_cli("scan", "--output", "json", env=env, timeout=180)
    assert result.stdout, result.stderr[-2000:]
    assert key not in result.stdout + result.stderr
    return json.loads(result.stdout)["targets"]


def test_every_service_of_an_instance_lists_its_own_space(om_ingestion, run_cli, catalog, tmp_path):
    with fake() as served:
        targets = _scan(run_cli, catalog, served.url)
        assert [(t["service_name"], t["taken"]) for t in targets] == [
            ("lightdash_all_analytics_sales", "created"), ("lightdash_all_analytics_marketing", "created"),
            ("lightdash_all_ops_incidents", "created")]
        for target, (project, space) in zip(targets, [(p, s) for p in served.projects for s in p.spaces],
                                            strict=True):
            config = stored_config(catalog, target["service_name"])
            assert (config["projectUUID"], config["spaceUUID"]) == (project.uuid, space.uuid)
            verdict = run_judge(om_ingestion, config, catalog, judge_env("http", tmp_path, tmp_path), tmp_path, (KEY,))
            listing = verdict["stages"]["listing"]
            assert verdict["passed"], json.dumps(verdict, indent=1)[:3000]
            assert (listing["dashboards_listed"], listing["spaces_listed"], listing["charts_listed"]) == (
                space.dashboards, len(project.spaces), sum(s.charts for s in project.spaces)), target["service_name"]
            assert target["details"]["dashboards"] == space.dashboards


def test_a_never_opened_dashboard_empties_its_space_for_openmetadata(om_ingestion, run_cli, catalog, tmp_path):
    """What the warning says: one dashboard with firstViewedAt null, and the connector lists none of the space's."""
    with fake(projects=[FakeProject("P", [FakeSpace("Half seen", dashboards=3, charts=1, never_viewed=1)])]) as served:
        [target] = _scan(run_cli, catalog, served.url)
        assert target["status"] == "ok" and target["taken"] == "created"
        [warning] = target["warnings"]
        assert "without firstViewedAt (never opened) in 'P' / 'Half seen': 1 of 3" in warning
        config = stored_config(catalog, target["service_name"])
        verdict = run_judge(om_ingestion, config, catalog, judge_env("http", tmp_path, tmp_path), tmp_path, (KEY,))
    assert verdict["stages"]["listing"]["dashboards_listed"] == 0
    [step] = verdict["stages"]["test_connection"]["steps"]
    assert (step["name"], step["passed"]) == ("GetDashboards", False)
    assert "firstViewedAt" in step.get("errorLog", "") + step.get("message", "")


def test_openmetadatas_connector_cannot_send_a_service_account_token(om_ingestion, catalog, tmp_path):
    """Why scanner refuses an ldsvc_ token Lightdash takes as Bearer only: the connector sends it as ApiKey."""
    with fake() as served:
        project, space = served.projects[0], served.projects[0].spaces[0]
        config = {"type": "Lightdash", "hostPort": served.url, "apiKey": SERVICE_TOKEN, "projectUUID": project.uuid,
                  "spaceUUID": space.uuid}
        verdict = run_judge(om_ingestion, config, catalog, judge_env("http", tmp_path, tmp_path), tmp_path,
                            (SERVICE_TOKEN,))
        sent = [(path, status) for (_, path, _), status in zip(served.credential_log,
                                                                [r.status for r in served.requests], strict=True)]
    assert verdict["passed"] is False
    assert verdict["stages"]["listing"]["dashboards_listed"] == 0
    assert [(s["name"], s["passed"]) for s in verdict["stages"]["test_connection"]["steps"]] == [
        ("GetDashboards", False)]
    assert sent and all(status == 401 for _, status in sent)
