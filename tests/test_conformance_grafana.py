"""Conformance for Grafana: OpenMetadata's own Grafana connector (openmetadata-ingestion 2.0.7.0) judges the config
scanner registers for the Grafana fake, over every TLS shape of ``tests/conformance.py`` (rules in
``tests/test_conformance.py``'s docstring), and for a Grafana served under a sub-path.

The listing (``tests/om_listing_grafana.py``) is what ``GrafanaSource`` ingests: data sources, the dashboard search,
each dashboard's panels (charts), folders; the counts must equal what the fake holds (the connector's calls
swallow every error and answer empty). The token is an Admin's, as OpenMetadata's schema asks for full extraction
(data sources are the Admin's).
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

import pytest
from conformance import SHAPES, SUFFIX, Served, conform

from scanner.testing.fake_grafana import FakeGrafana, ServiceAccount

pytestmark = pytest.mark.conformance

TOKEN = "glsa_conf_grafana_9b1e7c44d2a0_5f3c"
DASHBOARDS, FOLDERS, PANELS, DATASOURCES = 4, 2, 3, 2


@contextlib.contextmanager
def grafana_target(tls: ssl.SSLContext | None, *, sub_path: str = "") -> Iterator[Served]:
    with FakeGrafana(tokens={TOKEN: ServiceAccount("conf", "Admin")}, dashboards=DASHBOARDS, folders=FOLDERS,
                     panels=PANELS, datasources=DATASOURCES, sub_path=sub_path, tls=tls) as fake:
        yield Served(
            url=fake.base_url,
            env={f"GRAFANA_URL__{SUFFIX}": fake.base_url, f"GRAFANA_SERVICE_ACCOUNT_TOKEN__{SUFFIX}": TOKEN},
            expected={"org_ok": True, "datasources_listed": DATASOURCES, "dashboards_listed": DASHBOARDS,
                      "dashboard_details": DASHBOARDS, "charts_listed": fake.chart_count, "folders_listed": FOLDERS},
            secrets=(TOKEN,),
        )


@pytest.mark.parametrize("shape", SHAPES)
def test_grafana_config_is_usable_by_openmetadatas_connector(
    shape, om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    conform("grafana", shape, grafana_target, om_ingestion=om_ingestion, run_cli=run_cli, catalog=catalog,
            server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)


def test_grafana_under_a_sub_path_is_usable_by_openmetadatas_connector(
    om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    """``root_url`` + ``serve_from_sub_path``: hostPort registered as ``http://host:port/grafana/``."""
    conform("grafana", "http", lambda tls: grafana_target(tls, sub_path="/grafana"), om_ingestion=om_ingestion,
            run_cli=run_cli, catalog=catalog, server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)
