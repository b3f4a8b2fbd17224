"""``SupersetConnection.json`` (openmetadata-ingestion 2.0.7), API variant of ``connection``."""

from __future__ import annotations

from typing import Literal

from scanner.openmetadata.models import ConnectionConfig, Secret


class SslConfig(ConnectionConfig):
    caCertificate: Secret | None = None


class SupersetApiConnection(ConnectionConfig):
    provider: Literal["db", "ldap"]
    username: str
    password: Secret
    verifySSL: Literal["no-ssl", "ignore", "validate"] | None = "no-ssl"
    sslConfig: SslConfig | None = None


class SupersetConnection(ConnectionConfig):
    type: Literal["Superset"] = "Superset"
    hostPort: str
    connection: SupersetApiConnection
