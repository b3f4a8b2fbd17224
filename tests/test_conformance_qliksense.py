"""Conformance for Qlik Sense: OpenMetadata's own Qlik Sense connector (openmetadata-ingestion 2.0.7.0) judges the
config scanner registers for the Qlik Sense fake, over every TLS shape of ``tests/conformance.py`` (rules in
``tests/test_conformance.py``'s docstring).

What OpenMetadata's connector talks to is the engine: ``wss://host:<port>/app/`` with the client certificate, key and
root CA registered inline (``certificates.sslConfig``) and ``X-Qlik-User``; its test connection is ``GetDocList``
there, and its listing (``tests/om_listing_qliksense.py``) opens every app for its sheets, tables and script. The
engine and the QRS are TLS-only by design and use the site's own CA, whatever the shape: the CA is in the config
itself (``root.pem`` -> ``caCertificate``), so the ingestion host needs no trust of its own. The shapes therefore
vary only the hub (``QLIK_SENSE_URL``, scanner's ``Reach``/``Fingerprint`` and OpenMetadata's ``displayUrl``, which
its connector only uses to build links): ``http`` a plain-http hub, ``https-public`` a hub certificate from the CA both
sides trust by default, ``https-private`` one from a private CA given to scanner only (``QLIK_SENSE_CA_BUNDLE``).
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from conformance import SHAPES, SUFFIX, Served, conform

from scanner.testing.fake_qliksense import FakeQlikSense, QlikUser

pytestmark = pytest.mark.conformance

APPS, SHEETS, TABLES = 3, 2, 2


@contextlib.contextmanager
def qliksense_target(tls: ssl.SSLContext | None, tmp_path: Path) -> Iterator[Served]:
    with FakeQlikSense(users=[QlikUser("INTERNAL", "sa_engine")], apps=APPS, sheets=SHEETS, tables=TABLES,
                       hub_tls=tls) as fake:
        cert_dir = fake.certificates.export(tmp_path / "qlik-certs")
        key = (cert_dir / "client_key.pem").read_text().strip()
        yield Served(
            url=fake.base_url, env=fake.env(cert_dir, SUFFIX, trust_hub=False),
            expected={"dashboards_listed": APPS, "published": APPS, "charts_listed": APPS * SHEETS,
                      "datamodels_listed": APPS * TABLES, "script_tables": APPS * TABLES},
            secrets=(key,),
        )


@pytest.mark.parametrize("shape", SHAPES)
def test_qliksense_config_is_usable_by_openmetadatas_connector(
    shape, om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    conform("qliksense", shape, lambda tls: qliksense_target(tls, tmp_path),
            om_ingestion=om_ingestion, run_cli=run_cli, catalog=catalog, server_tls=server_tls, ca_pem=ca_pem,
            tmp_path=tmp_path)
