"""``SupersetConnection.json`` (openmetadata-ingestion 2.0.7), API variant of ``connection``."""

from __future__ import annotations

from typing import Literal

from scanner.openmetadata.models import ConnectionConfig, Secret, SslConfig, VerifySSL


class SupersetApiConnection(ConnectionConfig):
    provider: Literal["db", "ldap"]
    username: str
    password: Secret
    verifySSL: VerifySSL | None = "no-ssl"
    sslConfig: SslConfig | None = None


class SupersetConnection(ConnectionConfig):
    type: Literal["Superset"] = "Superset"
    hostPort: str
    connection: SupersetApiConnection
