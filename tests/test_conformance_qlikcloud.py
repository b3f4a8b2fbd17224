"""Conformance for Qlik Cloud: OpenMetadata's own Qlik Cloud connector (openmetadata-ingestion 2.0.7.0) judges the
config scanner registers for the Qlik Cloud fake, over every TLS shape of ``tests/conformance.py`` (rules in
``tests/test_conformance.py``'s docstring).

What runs is the connector's REST part: its model, ``get_connection``, its test connection (``GetDashboards`` =
``GET /api/v1/items?resourceType=app``) and its REST listing (``tests/om_listing_qlikcloud.py``: spaces, apps paged
through ``links.next.href``, each app's details, data files). The fake holds more apps than one page of the
connector's (100), so its cursor paging, which cuts ``<hostPort>api`` out of the absolute next link, is exercised.
Not run: sheets (charts), data models and load scripts, which the connector reads over the Engine's WebSocket at
``wss://<host>:443/app/<appId>`` (scheme and port fixed), where no loopback stand-in can answer.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

import pytest
from conformance import SHAPES, SUFFIX, Served, conform, judge_env, run_judge

from scanner.testing.fake_qlikcloud import FakeQlikCloud, QlikUser

pytestmark = pytest.mark.conformance

API_KEY = "eyJhbGciOiJFUzM4NCJ9.conf-qlikcloud-key.5e1f0c7b9d"
APPS, SPACES, DATA_FILES = 105, {"shared": 2, "managed": 1, "data": 1}, 3


@contextlib.contextmanager
def qlikcloud_target(tls: ssl.SSLContext | None) -> Iterator[Served]:
    with FakeQlikCloud(users=[QlikUser(API_KEY)], apps=APPS, spaces=SPACES, data_files=DATA_FILES, tls=tls) as fake:
        env = {f"QCS_SERVER__{SUFFIX}": fake.url, f"QCS_API_KEY__{SUFFIX}": API_KEY}
        yield Served(
            url=fake.url,
            env=env,
            expected={"spaces_listed": fake.space_count, "apps_listed": APPS, "apps_placed": APPS,
                      "app_details": APPS, "data_files_listed": DATA_FILES},
            secrets=(API_KEY,),
        )


@pytest.mark.parametrize("shape", SHAPES)
def test_qlikcloud_config_is_usable_by_openmetadatas_connector(
    shape, om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    conform("qlikcloud", shape, qlikcloud_target, om_ingestion=om_ingestion, run_cli=run_cli, catalog=catalog,
            server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)


def test_openmetadatas_own_test_passes_a_refused_key_and_its_listing_never_ends(om_ingestion, catalog, tmp_path):
    """The contract's Correction, observed: for Qlik's 401 body OpenMetadata's REST helper returns None, so the
    connector's own ``GetDashboards`` step passes with a wrong key and its paging repeats the refused request (the
    listing is cut by om_listing_qlikcloud's time limit). Hence scanner judges the answers itself."""
    with FakeQlikCloud(users=[QlikUser(API_KEY)], apps=3) as fake:
        config = {"type": "QlikCloud", "hostPort": fake.url, "token": "not-the-key"}
        env = {**judge_env("http", tmp_path, tmp_path), "SCANNER_QLIKCLOUD_LISTING_LIMIT_S": "3"}
        verdict = run_judge(om_ingestion, config, catalog, env, tmp_path, (API_KEY,))
        refused = [r for r in fake.requests if r.status == 401]
    stages = verdict["stages"]
    assert stages["model"]["ok"] and stages["get_connection"]["ok"]
    assert stages["listing"]["ok"] is False and "did not end" in stages["listing"]["error"]["message"]
    assert stages["test_connection"]["ok"] is True
    assert [(s["name"], s["passed"]) for s in stages["test_connection"]["steps"]] == [("GetDashboards", True)]
    assert verdict["passed"] is False
    assert len(refused) > 10  # the same refused request, again and again
