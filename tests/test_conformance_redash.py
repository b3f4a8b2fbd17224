"""Conformance for Redash: OpenMetadata's own Redash connector judges the config scanner registers (the rules and
the TLS shapes are in tests/test_conformance.py's docstring).

The fake holds more dashboards than one page of the connector's (25), so its paging is exercised; the judge's
listing (tests/om_listing_redash.py) must find every dashboard once and every widget as a chart.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

import pytest
from conformance import SHAPES, SUFFIX, Served, conform

from scanner.testing.fake_redash import FakeRedash, RedashUser

pytestmark = pytest.mark.conformance

REDASH_KEY = "conf-redash-user-key-6d19e4"
DASHBOARDS, WIDGETS, QUERIES = 27, 2, 5


@contextlib.contextmanager
def redash_target(tls: ssl.SSLContext | None) -> Iterator[Served]:
    user = RedashUser(REDASH_KEY, "scanner@example.com", dashboards=DASHBOARDS, widgets=WIDGETS, queries=QUERIES)
    with FakeRedash(users=[user], tls=tls) as fake:
        yield Served(
            url=fake.url,
            env={f"REDASH_URL__{SUFFIX}": fake.url, f"REDASH_API_KEY__{SUFFIX}": REDASH_KEY},
            expected={"dashboard_count": DASHBOARDS, "dashboards_listed": DASHBOARDS,
                      "distinct_dashboards": DASHBOARDS, "charts_listed": DASHBOARDS * WIDGETS},
            secrets=(REDASH_KEY,),
        )


@pytest.mark.parametrize("shape", SHAPES)
def test_redash_config_is_usable_by_openmetadatas_connector(
    shape, om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    conform("redash", shape, redash_target, om_ingestion=om_ingestion, run_cli=run_cli, catalog=catalog,
            server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)
