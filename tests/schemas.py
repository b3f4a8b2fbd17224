"""Validate payloads against OpenMetadata's JSON schemas in ../shared/contracts (read-only)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "contracts" / "openmetadata-schemas"


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate(payload: Any, schema: str = "CreateDashboardServiceRequest.json") -> None:
    """Raise jsonschema.ValidationError when `payload` does not match."""
    _validator(schema).validate(payload)


def errors(payload: Any, schema: str) -> list[str]:
    return [e.message for e in _validator(schema).iter_errors(payload)]
