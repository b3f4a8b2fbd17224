"""``verifySSL`` / ``sslConfig`` as OpenMetadata's own connectors use them (openmetadata-ingestion 2.0.7).

Read from the connectors' code (``superset/client.py``, ``tableau/connection.py``, ``utils/ssl_registry.py``):

* ``no-ssl``: the connector hands ``verify=None`` to requests, which then verifies the certificate
  against the ingestion host's default trust store (certifi, or ``REQUESTS_CA_BUNDLE``). Despite its
  name it is the value that works for https with a publicly trusted certificate (and for http).
* ``ignore``: ``verify=False``. Registered only when the target itself turned verification off.
* ``validate``: needs ``sslConfig``; without it both connectors raise before any request. Superset's
  client passes ``sslConfig.caCertificate`` to requests as a **file path on the ingestion host**;
  Tableau's writes the **PEM text** to a temporary file. So a private CA is registered as PEM text for
  Tableau, and for Superset only as a path the user names (``ingestion_ca_path``).
* Looker's connector has no TLS field and ignores ``LOOKERSDK_VERIFY_SSL``: it always verifies, against
  certifi's bundle or ``REQUESTS_CA_BUNDLE`` on the ingestion host.

Where no registered value can work by itself, the config gets a warning that says what the
ingestion host needs; verification is never turned off to make a config "work".
"""

from __future__ import annotations

from typing import Any, Literal

from scanner.tls import TlsSettings

CaForm = Literal["pem", "path"]


def ssl_fields(host: str, tls: TlsSettings, *, title: str, env_prefix: str, ca_form: CaForm,
               ingestion_ca_path: str | None = None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The ``verifySSL``/``sslConfig`` keys for a connector that reads the CA as `ca_form`, and warnings."""
    if not host.startswith("https://"):
        return {"verifySSL": "no-ssl"}, ()
    if not tls.verify_ssl:
        return {"verifySSL": "ignore"}, ()
    if ingestion_ca_path:
        return {"verifySSL": "validate", "sslConfig": {"caCertificate": ingestion_ca_path}}, ()
    if tls.ca_bundle is None:
        return {"verifySSL": "no-ssl"}, ()  # verified against the ingestion host's default trust store
    if ca_form == "pem":
        return {"verifySSL": "validate", "sslConfig": {"caCertificate": tls.ca_bundle.read_text()}}, ()
    return {"verifySSL": "no-ssl"}, (
        f"{title} uses a private CA ({tls.ca_bundle.name}), and OpenMetadata's {title} connector reads the "
        "CA as a file path on the ingestion host: registered to verify against the ingestion host's default "
        "trust store, so ingestion fails until the ingestion host trusts this CA (REQUESTS_CA_BUNDLE), or copy "
        f"the CA file there and set {env_prefix}_INGESTION_CA_PATH (TOML ingestion_ca_path) to its path there",
    )


def no_tls_field_warnings(host: str, tls: TlsSettings, *, title: str, env_prefix: str) -> tuple[str, ...]:
    """Warnings for a connector with no TLS setting (it verifies against the ingestion host's trust store)."""
    if not host.startswith("https://"):
        return ()
    if not tls.verify_ssl:
        return (f"TLS verification is off for this {title}, but OpenMetadata's {title} connector always verifies "
                f"and has no setting to skip it ({env_prefix}_VERIFY_SSL on the ingestion host is ignored): "
                "ingestion fails unless the ingestion host trusts the server's certificate (REQUESTS_CA_BUNDLE)",)
    if tls.ca_bundle is not None:
        return (f"{title} uses a private CA ({tls.ca_bundle.name}), and OpenMetadata's {title} connector has no "
                "CA setting: the ingestion host must trust this CA (REQUESTS_CA_BUNDLE pointing at it; without it "
                "the connector trusts certifi's bundle only)",)
    return ()


def verify_flag(host: str, tls: TlsSettings, *, title: str, env_prefix: str) -> tuple[bool, tuple[str, ...]]:
    """``verifySSL`` for a connector whose only TLS setting is a boolean handed to requests (Grafana), and the
    warnings: a private CA must be trusted by the ingestion host itself (REQUESTS_CA_BUNDLE), as the connector has
    no CA setting. Verification is off only where the target itself turned it off."""
    if host.startswith("https://") and tls.verify_ssl and tls.ca_bundle is not None:
        return True, no_tls_field_warnings(host, tls, title=title, env_prefix=env_prefix)
    return tls.verify_ssl, ()
