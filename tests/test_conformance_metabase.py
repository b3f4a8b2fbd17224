"""Conformance for Metabase: OpenMetadata's own connector (openmetadata-ingestion 2.0.7.0) judges the config that
``scanner scan`` registers for the Metabase fake (see ``tests/conformance.py`` and ``tests/test_conformance.py``
for the harness and its rules; ``tests/om_listing_metabase.py`` for the connector's listing calls).

Every TLS shape runs with each credential form: the API key (the connector sends ``X-API-KEY`` on each call) and a
username/password (the connector logs in first, at ``f"{hostPort}api/session/"``). An instance served under a
path prefix is judged too: that login URL is where a prefix registered without its trailing slash breaks.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

import pytest
from conformance import SHAPES, SUFFIX, Served, conform

from scanner.testing.fake_metabase import FakeMetabase, MetabaseAccount

pytestmark = pytest.mark.conformance

EMAIL = "conf.bot@example.com"
PASSWORD = "conf-metabase-pw-3d91f0"
API_KEY = "mb_conf_key_7be2c4a9"
COLLECTIONS, DASHBOARDS, CARDS = 2, 4, 6


def metabase_target(auth: str, prefix: str = ""):
    @contextlib.contextmanager
    def start(tls: ssl.SSLContext | None) -> Iterator[Served]:
        account = MetabaseAccount(EMAIL, password=PASSWORD, api_key=API_KEY)
        with FakeMetabase(accounts=[account], collections=COLLECTIONS, dashboards=DASHBOARDS, cards=CARDS,
                          prefix=prefix, tls=tls) as fake:
            credentials = ({f"METABASE_API_KEY__{SUFFIX}": API_KEY} if auth == "apiKey" else
                           {f"METABASE_USERNAME__{SUFFIX}": EMAIL, f"METABASE_PASSWORD__{SUFFIX}": PASSWORD})
            yield Served(
                url=fake.base_url,
                env={f"METABASE_URL__{SUFFIX}": fake.base_url, **credentials},
                expected={"collections_listed": fake.collection_count, "dashboards_listed": DASHBOARDS,
                          "charts_listed": CARDS, "dashboard_details": DASHBOARDS,
                          "dashboard_chart_links": fake.dashcard_count},
                secrets=(API_KEY, PASSWORD),
            )

    return start


def test_the_fake_holds_what_the_expectations_say():
    with FakeMetabase(collections=COLLECTIONS, dashboards=DASHBOARDS, cards=CARDS) as fake:
        assert (fake.collection_count, fake.dashboard_count, fake.card_count, fake.dashcard_count) == (3, 4, 6, 4)


@pytest.mark.parametrize("auth", ("apiKey", "session"))
@pytest.mark.parametrize("shape", SHAPES)
def test_metabase_config_is_usable_by_openmetadatas_connector(
    shape, auth, om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    conform("metabase", shape, metabase_target(auth), om_ingestion=om_ingestion, run_cli=run_cli, catalog=catalog,
            server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)


@pytest.mark.parametrize("auth", ("apiKey", "session"))
def test_metabase_under_a_path_prefix_is_usable_by_openmetadatas_connector(
    auth, om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    conform("metabase", "http", metabase_target(auth, prefix="/tools/metabase"), om_ingestion=om_ingestion,
            run_cli=run_cli, catalog=catalog, server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)


def test_a_prefix_registered_without_its_trailing_slash_breaks_the_connectors_login(om_ingestion, catalog, tmp_path):
    """Why scanner registers ``https://h/prefix/``: OpenMetadata's connector logs in at ``f"{hostPort}api/session/"``
    (``.../tools/metabaseapi/session/`` without the slash), while its API calls would work either way."""
    from conformance import judge_env, run_judge

    with metabase_target("session", prefix="/tools/metabase")(None) as served:
        config = {"type": "Metabase", "hostPort": served.url, "username": EMAIL, "password": PASSWORD}
        broken = run_judge(om_ingestion, config, catalog, judge_env("http", tmp_path, tmp_path), tmp_path,
                           served.secrets)
        fixed = run_judge(om_ingestion, {**config, "hostPort": served.url + "/"}, catalog,
                          judge_env("http", tmp_path, tmp_path), tmp_path, served.secrets)
    assert broken["passed"] is False and broken["stages"]["model"]["ok"]
    assert broken["stages"]["get_connection"]["ok"] is False
    # the login went to .../tools/metabaseapi/session/, outside the instance: a 404 page, not JSON
    assert "Unknown error in connection" in broken["stages"]["get_connection"]["error"]["message"]
    assert fixed["passed"] is True, fixed
