"""``LookerConnection.json`` (openmetadata-ingestion 2.0.7): the keys scanner sets."""

from __future__ import annotations

from typing import Literal

from scanner.openmetadata.models import ConnectionConfig, Secret


class LookerConnection(ConnectionConfig):
    type: Literal["Looker"] = "Looker"
    hostPort: str
    clientId: str
    clientSecret: Secret
