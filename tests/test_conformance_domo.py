"""Conformance for Domo: OpenMetadata's own DomoDashboard connector (openmetadata-ingestion 2.0.7.0, pydomo 0.3)
judges the config scanner registers for the Domo fake (rules in ``tests/test_conformance.py``'s docstring).

Domo has two hosts: the API host (``apiHost``, no scheme) and the instance (``instanceDomain``). pydomo always calls
``https://<apiHost>`` (OpenMetadata passes no ``use_https``), so the fake's API host is TLS in every shape, with the
test CA; the instance follows the shape. The listing (``tests/om_listing_domodashboard.py``) runs ``DomodashboardSource``'s
own listing methods: pages, each page's cards read from the instance with the developer token, the owners, and the
connector's ``GetCharts`` check.

* ``https-public``: both hosts https with a CA both sides trust by default: must pass outright.
* ``https-private``: both https, the CA given to scanner only (``DOMO_CA_BUNDLE``): OpenMetadata's connector has
  no CA setting, so pydomo fails verifying the API host and scanner's report must say the ingestion host has to
  trust the CA.
* ``http``: there is no plain-http Domo: the instance is http, but the API host cannot be (pydomo speaks https
  only), so scanner needs ``DOMO_CA_BUNDLE`` for it and the judge, which trusts nothing extra in this shape, fails
  verifying it. The harness's rule for ``http`` (pass outright) cannot hold; the test checks exactly that failure
  and that scanner's report names the ingestion host.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from conformance import SHAPES, SUFFIX, Served, conform

from scanner.testing.fake_domo import DomoApiClient, FakeDomo

pytestmark = pytest.mark.conformance

CLIENT_ID = "conf-domo-client-4e1b"
SECRET = "conf-domo-secret-7c52a9e0d1"
DEVELOPER_TOKEN = "conf-domo-devtoken-93b7f2a6"
PAGES, SUBPAGES, CARDS_PER_PAGE = 4, 1, 3


def domo_target(server_tls: ssl.SSLContext, ca_pem: Path):
    @contextlib.contextmanager
    def start(tls: ssl.SSLContext | None) -> Iterator[Served]:
        # the API host is https in every shape (pydomo); the instance is what the shape says
        with FakeDomo(clients={CLIENT_ID: DomoApiClient(SECRET, "conf")},
                      developer_tokens={DEVELOPER_TOKEN: "conf"}, pages=PAGES, subpages=SUBPAGES,
                      cards_per_page=CARDS_PER_PAGE, tls=server_tls, instance_tls=tls) as fake:
            env = {f"DOMO_INSTANCE__{SUFFIX}": fake.instance_url, f"DOMO_API_HOST__{SUFFIX}": fake.api_host,
                   f"DOMO_CLIENT_ID__{SUFFIX}": CLIENT_ID, f"DOMO_CLIENT_SECRET__{SUFFIX}": SECRET,
                   f"DOMO_ACCESS_TOKEN__{SUFFIX}": DEVELOPER_TOKEN}
            if tls is None:  # http: scanner still has to trust the API host's certificate
                env[f"DOMO_CA_BUNDLE__{SUFFIX}"] = str(ca_pem)
            yield Served(
                url=fake.instance_url,
                env=env,
                expected={"dashboards_listed": PAGES, "charts_listed": fake.chart_count,
                          "distinct_charts": fake.chart_count, "owner_emails": 1, "cards_check_ok": True},
                secrets=(SECRET, DEVELOPER_TOKEN),
            )

    return start


@pytest.mark.parametrize("shape", SHAPES)
def test_domo_config_is_usable_by_openmetadatas_connector(
    shape, om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    def run() -> None:
        conform("domo", shape, domo_target(server_tls, ca_pem), om_ingestion=om_ingestion, run_cli=run_cli,
                catalog=catalog, server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)

    if shape != "http":
        run()
        return
    with pytest.raises(AssertionError) as failed:
        run()
    text = str(failed.value)
    assert "get_connection" in text and "CERTIFICATE_VERIFY_FAILED" in text, text
    assert "ingestion host" in text and "REQUESTS_CA_BUNDLE" in text, text
