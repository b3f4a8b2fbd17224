"""OpenMetadata's own JSON schemas of the dashboard connection configs, read at run time.

The schema set shipped in ``scanner/openmetadata/schemas/`` is the one ``openmetadata-ingestion``
generates its pydantic models from (``DashboardConnection.model_json_schema()``; its version is in
``SOURCE.json``; ``python -m scanner.openmetadata.schemas.refresh`` regenerates it). Everything scanner
needs to know about a connection's shape comes from there, for every dashboard service type:

* which keys exist and which are forbidden (``additionalProperties``), checked with ``jsonschema``;
* the defaults the server fills in when it stores a config (`with_defaults`), so a plan compares
  what the catalog really holds;
* which fields are secrets (``format: password``), so they are masked wherever scanner shows them.

Why read the schema instead of generating classes from it: the schema file *is* the model, so a new
OpenMetadata version is a file copy with no generated code to review, and a new platform costs no
schema work at all. The price is that a config is a dict, not a typed class; `ConnectionConfig.build`
makes up for it by validating every config against the schema the moment a plugin builds it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from scanner.secrets import clip

SCHEMA_PACKAGE = "scanner.openmetadata.schemas"
CONNECTIONS_FILE = "DashboardConnection.json"
SOURCE_FILE = "SOURCE.json"


@cache
def _document() -> dict[str, Any]:
    return json.loads(resources.files(SCHEMA_PACKAGE).joinpath(CONNECTIONS_FILE).read_text("utf-8"))


@cache
def source() -> dict[str, Any]:
    """Where the shipped schemas came from: ``openmetadata-ingestion`` version and the server versions covered."""
    return json.loads(resources.files(SCHEMA_PACKAGE).joinpath(SOURCE_FILE).read_text("utf-8"))


def covered_server_versions() -> tuple[str, ...]:
    """The ``major.minor`` server versions the shipped schemas describe (e.g. ``("2.0",)``)."""
    return tuple(source()["server_versions"])


@cache
def _service_types() -> dict[str, str]:
    """serviceType -> name of its connection definition, read from each definition's ``type`` enum."""
    defs = _document()["$defs"]
    found: dict[str, str] = {}
    for option in _document()["properties"]["config"]["anyOf"]:
        ref = option.get("$ref")
        if not ref:
            continue
        name = ref.rsplit("/", 1)[-1]
        type_schema = _resolve(defs[name]["properties"]["type"])
        for value in type_schema.get("enum", ()):
            found[value] = name
    return found


def service_types() -> tuple[str, ...]:
    """Every dashboard service type the shipped schemas define."""
    return tuple(_service_types())


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` (merging sibling keys) and collapse ``anyOf [X, null]`` to ``X``."""
    defs = _document()["$defs"]
    while True:
        if "$ref" in schema:
            target = defs[schema["$ref"].rsplit("/", 1)[-1]]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            continue
        options = [o for o in schema.get("anyOf", ()) if o.get("type") != "null"]
        if "anyOf" in schema and len(options) == 1:
            schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **options[0]}
            continue
        return schema


class ConnectionSchema:
    """The schema of one service type's connection config (e.g. ``SupersetConnection``)."""

    def __init__(self, service_type: str):
        names = _service_types()
        if service_type not in names:
            raise KeyError(f"OpenMetadata {source()['openmetadata-ingestion']} has no dashboard type {service_type!r}")
        self.service_type = service_type
        self.definition = names[service_type]
        self.schema = _document()["$defs"][self.definition]

    @classmethod
    @cache
    def of(cls, service_type: str) -> ConnectionSchema:
        return cls(service_type)

    def __repr__(self) -> str:
        return f"ConnectionSchema({self.service_type!r})"

    # -- validation ---------------------------------------------------------------------------------

    def errors(self, config: dict[str, Any], *, lenient: bool = False) -> list[str]:
        """Every way `config` breaks the schema, one readable line each (``key.path: what``).

        `lenient` skips missing required keys, as the server's conversion does."""
        out = []
        for error in sorted(_validator(self.definition).iter_errors(config), key=lambda e: list(map(str, e.path))):
            for leaf in _closest(error):
                if lenient and leaf.validator == "required":
                    continue
                where = ".".join(map(str, leaf.absolute_path)) or "(config)"
                out.append(f"{where}: {_short(leaf)}")
        return out

    def matches(self, schema: dict[str, Any], value: Any) -> bool:
        return _validator_for(json.dumps(schema, sort_keys=True)).is_valid(value)

    # -- defaults -----------------------------------------------------------------------------------

    def with_defaults(self, config: dict[str, Any]) -> dict[str, Any]:
        """`config` as the server stores it: every absent property with a schema default gets it, at
        every level that is present. Unknown keys (a newer server's) are kept as they are."""
        return self._fill(copy.deepcopy(config), self.schema)

    def _fill(self, value: Any, schema: dict[str, Any]) -> Any:
        schema = self._branch(_resolve(schema), value)
        if isinstance(value, dict):
            for key, prop in schema.get("properties", {}).items():
                if key not in value:
                    if prop.get("default") is not None:
                        value[key] = copy.deepcopy(prop["default"])
                elif value[key] is not None:
                    value[key] = self._fill(value[key], prop)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            return [self._fill(item, schema["items"]) for item in value]
        return value

    def default(self, key: str) -> Any:
        """The schema default of a top-level key (None when it has none)."""
        return self.schema.get("properties", {}).get(key, {}).get("default")

    # -- secrets ------------------------------------------------------------------------------------

    def secret_paths(self, config: dict[str, Any]) -> list[tuple[str, ...]]:
        """Paths of the ``format: password`` values present in `config` (the ones the catalog masks)."""
        return list(self._secrets(config, self.schema, ()))

    def _secrets(self, value: Any, schema: dict[str, Any], path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        schema = self._branch(_resolve(schema), value)
        if schema.get("format") == "password" and value is not None:
            yield path
        elif isinstance(value, dict):
            for key, prop in schema.get("properties", {}).items():
                if key in value:
                    yield from self._secrets(value[key], prop, (*path, key))

    # -- unions -------------------------------------------------------------------------------------

    def _branch(self, schema: dict[str, Any], value: Any) -> dict[str, Any]:
        """The ``anyOf`` option `value` is an instance of: the first that validates, else the one whose
        properties share most keys with it (a masked or newer-server value may validate against none)."""
        options = [o for o in schema.get("anyOf", ()) if o.get("type") != "null"]
        if not options:
            return schema
        resolved = [_resolve(o) for o in options]
        for option, full in zip(options, resolved, strict=True):
            if self.matches(option, value):
                return full
        if isinstance(value, dict):
            return max(resolved, key=lambda s: len(set(s.get("properties", {})) & set(value)))
        return resolved[0]


def _closest(error: Any) -> list[Any]:
    """For a value that fits no ``anyOf`` shape, the complaints of the shape it comes closest to
    (fewest errors); else the error itself."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    by_branch: dict[Any, list[Any]] = {}
    for sub in error.context:
        by_branch.setdefault(sub.schema_path[0], []).append(sub)
    nearest = min(by_branch.values(), key=len)
    return [leaf for sub in nearest for leaf in _closest(sub)]


def _short(error: Any) -> str:
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown key")
    if error.validator in ("anyOf", "oneOf"):
        return "matches none of the shapes the schema allows"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    return clip(error.message, 200)


def _validator(definition: str):
    return _validator_for(json.dumps({"$ref": f"#/$defs/{definition}"}))


@cache
def _validator_for(schema_json: str):
    from jsonschema import Draft202012Validator  # lazy: only needed once a config is built or compared

    schema = {**json.loads(schema_json), "$defs": _document()["$defs"]}
    return Draft202012Validator(schema)
