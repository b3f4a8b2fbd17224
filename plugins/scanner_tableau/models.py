"""``TableauConnection.json`` (openmetadata-ingestion 2.0.7): the keys scanner sets."""

from __future__ import annotations

from typing import Literal

from scanner.openmetadata.models import ConnectionConfig, Secret, SslConfig, VerifySSL


class BasicAuth(ConnectionConfig):
    username: str
    password: Secret


class AccessTokenAuth(ConnectionConfig):
    personalAccessTokenName: str
    personalAccessTokenSecret: Secret


class TableauConnection(ConnectionConfig):
    type: Literal["Tableau"] = "Tableau"
    hostPort: str
    authType: BasicAuth | AccessTokenAuth
    siteName: str | None = None
    apiVersion: str | None = None
    verifySSL: VerifySSL | None = "no-ssl"
    sslConfig: SslConfig | None = None
