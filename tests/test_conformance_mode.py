"""Conformance for Mode: OpenMetadata's own Mode connector (openmetadata-ingestion 2.0.7.0, plain requests through
its REST helper) judges the config scanner registers for the Mode fake, over every TLS shape of
``tests/conformance.py`` (rules in ``tests/test_conformance.py``'s docstring).

``MODE_URL`` points at the fake, so ``hostPort`` is registered (it is left out only for Mode's own
``https://app.mode.com``). The listing (``tests/om_listing_mode.py``) is what ``ModeSource`` ingests: data sources,
every report of every collection (paged until a page brings nothing new), each report's queries and their charts,
the creators' emails; the test connection is ``CheckDashboards`` (``GET /api/{workspace}``). The fake's report
pages are small (2 a page, an empty page past the last) so the connector's paging is exercised; a second case
serves the last page again past the end, the other reading of what Mode answers there.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

import pytest
from conformance import SHAPES, SUFFIX, Served, conform

from scanner.testing.fake_mode import FakeMode, ModeToken, ModeWorkspace

pytestmark = pytest.mark.conformance

TOKEN, SECRET = "conf-mode-token-3c9e1a", "conf-mode-secret-8d27f4b1"
WORKSPACE = ModeWorkspace("acme", spaces=2, private_spaces=1, reports=3, queries=2, charts=2, data_sources=2,
                          members=("ana", "bo"))


@contextlib.contextmanager
def mode_target(tls: ssl.SSLContext | None, *, past_last: str = "empty") -> Iterator[Served]:
    with FakeMode(workspaces=[WORKSPACE], tokens=[ModeToken(TOKEN, SECRET, "acme", "conf")], page_size=2,
                  past_last=past_last, tls=tls) as fake:
        reports = WORKSPACE.report_count
        yield Served(
            url=fake.url,
            env={f"MODE_URL__{SUFFIX}": fake.url, f"MODE_WORKSPACE__{SUFFIX}": "acme",
                 f"MODE_API_TOKEN__{SUFFIX}": TOKEN, f"MODE_API_SECRET__{SUFFIX}": SECRET},
            expected={"workspace_ok": True, "data_sources_listed": WORKSPACE.data_sources,
                      "dashboards_listed": reports, "distinct_dashboards": reports, "share_links": reports,
                      "queries_listed": reports * WORKSPACE.queries,
                      "charts_listed": reports * WORKSPACE.queries * WORKSPACE.charts,
                      "creator_emails": len(WORKSPACE.members)},
            secrets=(TOKEN, SECRET),
        )


@pytest.mark.parametrize("shape", SHAPES)
def test_mode_config_is_usable_by_openmetadatas_connector(
    shape, om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    conform("mode", shape, mode_target, om_ingestion=om_ingestion, run_cli=run_cli, catalog=catalog,
            server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)


def test_mode_with_the_last_report_page_served_again_is_usable_by_openmetadatas_connector(
    om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    """Mode documents no empty page past the last: a server that clamps the page gives the same counts."""
    conform("mode", "http", lambda tls: mode_target(tls, past_last="clamp"), om_ingestion=om_ingestion,
            run_cli=run_cli, catalog=catalog, server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)
