"""Pydantic models of the OpenMetadata requests scanner sends, matching openmetadata-ingestion 2.0.7.

Field names, optionality and ``extra`` rules follow the JSON schemas in
``shared/contracts/openmetadata-schemas`` (tests validate every payload against them).
Secrets are `Secret`: dumped as the mask ``*********`` unless the dump is asked to reveal them,
which only the PUT to the catalog does.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    SerializationInfo,
    SerializeAsAny,
    field_validator,
)

from scanner.secrets import MASK
from scanner.tls import TlsSettings

DASHBOARD_SERVICE_TYPES = (
    "Superset", "Looker", "Tableau", "Redash", "Metabase", "PowerBI", "PowerBIReportServer", "Mode",
    "CustomDashboard", "DomoDashboard", "QuickSight", "QlikSense", "Lightdash", "MicroStrategy",
    "QlikCloud", "Sigma", "ThoughtSpot", "Grafana", "Hex", "Ssrs", "SapS4Hana", "Omni",
)


def _dump_secret(value: SecretStr, info: SerializationInfo) -> str:
    if isinstance(info.context, dict) and info.context.get("reveal_secrets"):
        return value.get_secret_value()
    return MASK


Secret = Annotated[SecretStr, PlainSerializer(_dump_secret, return_type=str, when_used="always")]
"""A `format: password` field: masked in every dump except the one sent to the catalog."""


class ConnectionConfig(BaseModel):
    """Base of every connection config: unknown fields are refused, like the schemas do."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


VerifySSL = Literal["no-ssl", "ignore", "validate"]


class SslConfig(ConnectionConfig):
    """``ValidateSslClientConfig``: the CA a connector trusts (PEM text, a secret-format field)."""

    caCertificate: Secret | None = None


def ssl_fields(host: str, tls: TlsSettings) -> tuple[VerifySSL, SslConfig | None]:
    """OpenMetadata's ``verifySSL`` / ``sslConfig`` pair for a target: ``no-ssl`` over http, ``validate``
    over https (with the target's CA bundle as ``caCertificate`` when it has one), ``ignore`` only when
    the target itself turned verification off."""
    if not host.startswith("https://"):
        return "no-ssl", None
    if not tls.verify_ssl:
        return "ignore", None
    pem = tls.ca_bundle.read_text() if tls.ca_bundle else None
    return "validate", SslConfig(caCertificate=SecretStr(pem)) if pem else None


class CustomDashboardConnection(ConnectionConfig):
    """``CustomDashboardConnection.json``: the only dashboard config that allows extra keys."""

    model_config = ConfigDict(extra="allow")

    type: Literal["CustomDashboard"] = "CustomDashboard"
    sourcePythonClass: str | None = None
    connectionOptions: dict[str, str] | None = None


class EntityReference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    type: str
    name: str | None = None
    fullyQualifiedName: str | None = None


class TagLabel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tagFQN: str
    source: Literal["Classification", "Glossary"] = "Classification"
    labelType: Literal["Manual", "Propagated", "Automated", "Derived", "Generated"] = "Manual"
    state: Literal["Suggested", "Confirmed"] = "Confirmed"


class DashboardConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: SerializeAsAny[ConnectionConfig]


class CreateDashboardService(BaseModel):
    """``CreateDashboardServiceRequest.json``."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=256)]
    serviceType: Literal[DASHBOARD_SERVICE_TYPES]  # type: ignore[valid-type]
    displayName: str | None = None
    description: str | None = None
    connection: DashboardConnection | None = None
    tags: list[TagLabel] | None = None
    owners: list[EntityReference] | None = None
    domains: list[str] | None = None

    @field_validator("name")
    @classmethod
    def _no_double_colon(cls, value: str) -> str:
        if "::" in value:  # the schema's pattern ^((?!::).)*$, which Rust regex cannot express
            raise ValueError("name must not contain '::'")
        return value

    def payload(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        """The JSON body; secrets are masked unless `reveal_secrets` (only for the catalog PUT)."""
        return self.model_dump(
            mode="json", by_alias=True, exclude_none=True, context={"reveal_secrets": reveal_secrets}
        )
