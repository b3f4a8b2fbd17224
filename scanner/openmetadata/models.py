"""Pydantic models of the OpenMetadata requests scanner sends (openmetadata-ingestion 2.0.7).

`CreateDashboardService` follows ``CreateDashboardServiceRequest.json``; its connection config is a
`ConnectionConfig` whose shape, defaults and secret fields come from OpenMetadata's own schema
(`scanner.openmetadata.schema`). Secrets dump as the mask ``*********`` unless the dump is asked to
reveal them, which only the PUT to the catalog does.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    field_validator,
    model_serializer,
)

from scanner.openmetadata.schema import ConnectionSchema, service_types
from scanner.secrets import MASK, register

DASHBOARD_SERVICE_TYPES = service_types()
"""DashboardServiceType values of the shipped schemas (22 in 2.0.7)."""


class ConnectionConfig(BaseModel):
    """A dashboard connection config (``DashboardConnection.config``), shaped by OpenMetadata's own schema.

    ``values`` is the JSON object the catalog gets, with secrets held as `SecretStr`: every
    ``format: password`` field of the schema (and anything a plugin passed as `SecretStr`). It dumps
    with secrets masked unless the dump is asked to reveal them, which only the PUT to the catalog does.
    ``warnings`` are notes for the report about what the ingestion side needs; they are not sent.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    service_type: str
    values: dict[str, Any]
    warnings: tuple[str, ...] = ()

    @classmethod
    def build(cls, service_type: str, *, warnings: tuple[str, ...] = (), **values: Any) -> ConnectionConfig:
        """The config a plugin registers: ``type`` set, ``None`` values dropped, checked against the schema.

        Raises `ValueError` naming each key the schema refuses (unknown, missing, wrong type or value).
        """
        values = _drop_none({"type": service_type, **values})
        schema = ConnectionSchema.of(service_type)
        errors = schema.errors(_reveal(values))
        if errors:
            raise ValueError(f"{service_type} connection config does not match OpenMetadata's schema: "
                             + "; ".join(errors))
        return cls(service_type=service_type, values=_wrap_secrets(values, schema), warnings=warnings)

    @classmethod
    def from_catalog(cls, service_type: str, config: dict[str, Any]) -> ConnectionConfig:
        """A config as the catalog holds it (not validated: a newer server may know more keys)."""
        return cls(service_type=service_type, values=_wrap_secrets(copy.deepcopy(config),
                                                                  ConnectionSchema.of(service_type)))

    def dump(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        return _reveal(self.values) if reveal_secrets else _mask(self.values)

    @model_serializer(mode="plain")
    def _serialize(self, info: SerializationInfo) -> dict[str, Any]:
        reveal = isinstance(info.context, dict) and bool(info.context.get("reveal_secrets"))
        return self.dump(reveal_secrets=reveal)

    def __repr__(self) -> str:
        return f"ConnectionConfig({self.service_type!r}, {self.dump()!r})"

    __str__ = __repr__


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _walk(value: Any, leaf) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, leaf) for v in value]
    return leaf(value)


def _reveal(values: dict[str, Any]) -> dict[str, Any]:
    return _walk(values, lambda v: v.get_secret_value() if isinstance(v, SecretStr) else v)


def _mask(values: dict[str, Any]) -> dict[str, Any]:
    return _walk(values, lambda v: MASK if isinstance(v, SecretStr) else v)


def _wrap_secrets(values: dict[str, Any], schema: ConnectionSchema) -> dict[str, Any]:
    """Hold every ``format: password`` value of `values` as a `SecretStr` (registered for redaction)."""
    for path in schema.secret_paths(_reveal(values)):
        parent = values
        for key in path[:-1]:
            parent = parent[key]
        value = parent[path[-1]]
        if isinstance(value, str):
            if value != MASK:
                register(value)
            parent[path[-1]] = SecretStr(value)
    return values


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

    config: ConnectionConfig


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
