"""Settings: defaults < config.toml < .env < process env < CLI flags, each value with its source.

Every problem becomes a `ConfigError` naming the file and key, the variable or the flag:
malformed TOML, unknown keys (with a "did you mean"), wrong types, bad URLs, and ``${VAR}``
references to variables that are not set. Secrets become `SecretStr` as soon as they are read.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from scanner import network, secrets
from scanner.errors import ConfigError
from scanner.tls import TlsSettings
from scanner.urls import display_url, normalize_base_url

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

DEFAULT_CONFIG = "config.toml"
DEFAULT_ENV_FILE = ".env"


class CatalogSettings(TlsSettings):
    """[catalog]: the OpenMetadata / Collate server. Without a host, nothing is registered."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = None
    jwt_token: SecretStr | None = None
    timeout: float = Field(30.0, gt=0, le=600)
    concurrency: int = Field(8, ge=1, le=256)
    retries: int = Field(4, ge=0, le=10)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = normalize_base_url(value)
        return re.sub(r"/api(/v1)?$", "", url, flags=re.IGNORECASE)  # with or without /api or /api/v1


class ScanSettings(BaseModel):
    """[scan]: how targets are probed."""

    model_config = ConfigDict(extra="forbid")

    platforms: list[str] | None = None
    concurrency: int = Field(32, ge=1, le=1024)
    timeout: float = Field(10.0, gt=0, le=600)
    connect_timeout: float = Field(5.0, gt=0, le=120)
    target_deadline: float = Field(60.0, gt=0, le=3600)
    run_deadline: float | None = Field(None, gt=0, le=86400)  # whole run; None = no limit
    per_host: int = Field(8, ge=1, le=1024)                   # targets probed at once on one host:port
    env_discovery: bool = True
    dry_run: bool = False
    adopt: list[str] = Field(default_factory=list)  # services to take over although scanner did not register them

    @field_validator("platforms", mode="before")
    @classmethod
    def _platforms(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p.strip().lower() for p in value.split(",") if p.strip()] or None
        if isinstance(value, list):
            return [p.strip().lower() if isinstance(p, str) else p for p in value]
        return value

    @field_validator("platforms")
    @classmethod
    def _named(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or not all(value)):
            raise ValueError("an empty platform name (name one or more platforms, e.g. superset; leave the setting "
                             "out to scan every platform)")
        return value


_OWNER_RE = re.compile(r"^(user|team):\S+$")


class ServiceDefaults(BaseModel):
    """[service]: what every registered service carries besides its connection."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    owners: list[str] = []
    tags: list[str] = []
    domains: list[str] = []

    @field_validator("owners")
    @classmethod
    def _owners(cls, value: list[str]) -> list[str]:
        for owner in value:
            if not _OWNER_RE.match(owner):
                raise ValueError(f"owner {owner!r} must be 'user:<name>' or 'team:<name>'")
        return value


class InventorySettings(BaseModel):
    """[inventory]: the SQLite memory of past runs (drift, history, prune)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    path: Path | None = None  # default: platform state dir (see scanner.inventory.paths)
    gone_after: int = Field(3, ge=1, le=1000)
    prune_max_share: float = Field(0.2, gt=0, le=1)

    @field_validator("path", mode="before")
    @classmethod
    def _path(cls, value: Any) -> Any:
        if isinstance(value, str):
            return Path(value).expanduser() if value.strip() else None
        return value

    def resolved_path(self, environ: Mapping[str, str] | None = None) -> Path:
        from scanner.inventory.paths import default_inventory_path

        return self.path or default_inventory_path(environ)


CATALOG_ENV = {
    "OPENMETADATA_HOST": "host",
    "OPENMETADATA_JWT_TOKEN": "jwt_token",
    "OPENMETADATA_VERIFY_SSL": "verify_ssl",
    "OPENMETADATA_CA_BUNDLE": "ca_bundle",
    "OPENMETADATA_CLIENT_TIMEOUT": "timeout",
}
SCAN_ENV = {
    "SCANNER_PLATFORMS": "platforms",
    "SCANNER_CONCURRENCY": "concurrency",
    "SCANNER_TIMEOUT": "timeout",
    "SCANNER_TARGET_DEADLINE": "target_deadline",
    "SCANNER_RUN_DEADLINE": "run_deadline",
    "SCANNER_PER_HOST": "per_host",
}
INVENTORY_ENV = {
    "SCANNER_INVENTORY": "path",
    "SCANNER_GONE_AFTER": "gone_after",
}
FLAG_NAMES = {"ingestion.pipeline": "flag:--ingest/--autopilot", "ingestion.autopilot": "flag:--autopilot/--ingest",
              "scan.platforms": "flag:--platform", "scan.env_discovery": "flag:--no-env-discovery",
              "inventory.path": "flag:--inventory", "inventory.enabled": "flag:--no-inventory"}
"""Flags whose name is not their setting's."""


class NetworkSettings(BaseModel):
    """``[network]``: a proxy for every target and the catalog, instead of the ``HTTPS_PROXY``/``HTTP_PROXY``/
    ``NO_PROXY`` environment variables (which apply when it is not set)."""

    model_config = ConfigDict(extra="forbid")

    proxy: str | None = None          # http://proxy.corp:3128 (userinfo allowed: Proxy-Authorization)
    no_proxy: list[str] | None = None  # hosts, .domains, host:port, CIDRs or "*" reached directly

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("proxy must be an http:// or https:// URL, e.g. http://proxy.corp:3128")
        return value.strip()

    @field_validator("no_proxy", mode="before")
    @classmethod
    def _no_proxy(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("no_proxy")
    @classmethod
    def _cidrs(cls, value: list[str] | None) -> list[str] | None:
        for entry in value or ():
            if "/" in entry and network.cidr(entry) is None:
                raise ValueError(f"{entry!r} is not a CIDR range (e.g. 10.0.0.0/8)")
        return value


_CRON_FIELD = re.compile(r"^[0-9*/,\-A-Za-z?LW#]+$")
_CRON_ALIASES = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")


class IngestionSettings(BaseModel):
    """``[ingestion]``: what happens after a service is registered, so that it really ingests (all off by
    default). ``pipeline``: one dashboard metadata pipeline per service scanner manages; ``autopilot``: trigger
    OpenMetadata's AutoPilot for each new service instead; ``verify_in_catalog``: the catalog's own test
    connection for each registered service."""

    model_config = ConfigDict(extra="forbid")

    pipeline: bool = False
    autopilot: bool = False
    schedule: str | None = "0 */6 * * *"  # cron of the metadata pipeline; "" = run only when triggered
    deploy: bool = True        # deploy the pipeline on the catalog's runner
    run: bool = True           # trigger the first run of a pipeline this run created or deployed
    wait: bool = False         # wait for that first run's outcome (bounded by wait_timeout and the run deadline)
    wait_timeout: float = Field(900.0, gt=0, le=86400)
    verify_in_catalog: bool = False
    verify_timeout: float = Field(180.0, gt=0, le=3600)  # the catalog's test connection: the UI waits 2-3 min
    poll_interval: float = Field(2.0, ge=0.05, le=60)    # the UI polls every 2 s
    logger_level: str = "INFO"
    source_config: dict[str, Any] = Field(default_factory=dict)
    """Keys of OpenMetadata's DashboardServiceMetadataPipeline (e.g. ``includeOwners``, ``dashboardFilterPattern``),
    checked against its schema."""

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = " ".join(value.split())
        fields = value.split(" ")
        if value.lower() in _CRON_ALIASES or (len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields)):
            return value
        raise ValueError(f"{value!r} is not a cron schedule (five fields, e.g. '0 */6 * * *', or @daily)")

    @field_validator("logger_level")
    @classmethod
    def _logger_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARN", "ERROR"):
            raise ValueError("must be one of DEBUG, INFO, WARN, ERROR")
        return value.upper()

    @field_validator("source_config")
    @classmethod
    def _source_config(cls, value: dict[str, Any]) -> dict[str, Any]:
        from scanner.ingestion.pipeline import source_config_errors

        problems = source_config_errors(value)
        if problems:
            raise ValueError("does not match OpenMetadata's DashboardServiceMetadataPipeline: " + "; ".join(problems))
        return value

    @model_validator(mode="after")
    def _one_way(self) -> IngestionSettings:
        if self.pipeline and self.autopilot:
            raise ValueError("pipeline and autopilot are exclusive: AutoPilot creates its own metadata pipeline "
                             "(use one or the other)")
        return self

    @property
    def enabled(self) -> bool:
        return self.pipeline or self.autopilot or self.verify_in_catalog


SECRETS_MANAGERS = ("managed-aws", "aws", "managed-aws-ssm", "aws-ssm", "managed-azure-kv", "azure-kv", "gcp",
                    "kubernetes", "in-memory")
"""OpenMetadata's SecretsManagerProvider values other than ``db`` (whose references silently become wrong
passwords: the ingestion side reads ``secret:/x`` as the password ``/x``)."""


class SecretsSettings(BaseModel):
    """``[secrets]``: how the registered configs carry their secrets. ``value`` (default) sends them; ``reference``
    sends ``secret:<id>`` references (`template`) that the deployment's external secrets manager resolves."""

    model_config = ConfigDict(extra="forbid")

    style: str = "value"
    template: str = "/scanner/{platform}/{service}/{field}"
    external_manager: str | None = None  # the operator's statement: the catalog uses this secrets manager

    @field_validator("style")
    @classmethod
    def _style(cls, value: str) -> str:
        if value not in ("value", "reference"):
            raise ValueError("must be 'value' or 'reference'")
        return value

    @field_validator("template")
    @classmethod
    def _template(cls, value: str) -> str:
        import string

        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a template: {exc}") from None
        unknown = names - {"service", "platform", "instance", "field"}
        if unknown:
            raise ValueError(f"unknown placeholder {{{sorted(unknown)[0]}}}: use {{service}}, {{platform}}, "
                             "{instance} and {field}")
        if "field" not in names or not ({"service", "instance"} & names):
            raise ValueError("the template needs {field} and {service} (or {instance}), so that each secret has "
                             "its own id")
        return value

    @field_validator("external_manager")
    @classmethod
    def _manager(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().lower()
        if value == "db":
            raise ValueError("'db' is not an external secrets manager: with it, OpenMetadata stores secret:<id> as "
                             "the literal password")
        if value not in SECRETS_MANAGERS:
            raise ValueError(f"{value!r} is not one of OpenMetadata's secrets managers: {', '.join(SECRETS_MANAGERS)}")
        return value

    @model_validator(mode="after")
    def _statement(self) -> SecretsSettings:
        from scanner.ingestion.secret_refs import template_problem

        problem = template_problem(self.template, self.external_manager)
        if problem:
            raise ValueError(f"template {problem}")
        if self.style == "reference" and self.external_manager is None:
            raise ValueError(
                "style = \"reference\" needs external_manager = \"<the catalog's secrets manager>\" (e.g. "
                "\"managed-aws\", \"kubernetes\"): on OpenMetadata's default (db) a secret: reference is stored as "
                "the literal password, and ingestion would log in with the reference text")
        return self

    @property
    def references(self) -> bool:
        return self.style == "reference"


SECTIONS: dict[str, type[BaseModel]] = {
    "catalog": CatalogSettings,
    "scan": ScanSettings,
    "service": ServiceDefaults,
    "inventory": InventorySettings,
    "network": NetworkSettings,
    "ingestion": IngestionSettings,
    "secrets": SecretsSettings,
}


@dataclass(frozen=True)
class RawTarget:
    """A ``[[targets]]`` table before its plugin validates it."""

    index: int               # 1-based position in the file
    values: dict[str, Any] = field(repr=False)  # ${VAR} already expanded: may hold secrets
    where: str = ""                             # "config.toml:[[targets]]#2"
    error: ConfigError | None = None            # the entry cannot be used (e.g. an unset ${VAR}): a failed target
    templated: frozenset[str] = frozenset()     # keys whose value is (or holds) a ${VAR}: text, as a variable is


@dataclass
class Settings:
    catalog: CatalogSettings
    scan: ScanSettings
    service: ServiceDefaults
    inventory: InventorySettings
    targets: list[RawTarget]
    env: Mapping[str, str] = field(repr=False)          # .env merged under the process env (holds secrets)
    env_sources: Mapping[str, str]                      # variable -> "env" | ".env"
    sources: dict[str, str] = field(default_factory=dict)  # "scan.concurrency" -> source
    config_path: Path | None = None
    env_file: Path | None = None
    network: NetworkSettings = field(default_factory=lambda: NetworkSettings())
    ingestion: IngestionSettings = field(default_factory=lambda: IngestionSettings())
    secrets: SecretsSettings = field(default_factory=lambda: SecretsSettings())
    discovery: dict[str, Any] = field(default_factory=dict)  # the TOML's [discovery] as written (sources read it)
    credentials: list[RawTarget] = field(default_factory=list)  # [[credentials]] entries, ${VAR} expanded
    config_name: str = "config.toml"
    env_unset: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # .env key -> ${VAR}s it names, unset
    toml_references: frozenset[str] = frozenset()  # the variables the TOML names as ${VAR}

    def env_source(self, name: str) -> str:
        return f"{self.env_sources.get(name, 'env')}:{name}"

    def where(self, key: str, default: str) -> str:
        """Where a setting (``scan.platforms``) was given, for a message: ``config.toml:[scan].platforms``,
        ``env:SCANNER_PLATFORMS`` or ``--platform``; `default` when it was not given."""
        return where_of(self.sources.get(key)) or default


def where_of(source: str | None) -> str | None:
    """A source as `Settings.sources` records it, as a message names it: a flag by its name (``--platform``)."""
    return source[len("flag:"):] if source and source.startswith("flag:") else source


def load_settings(
    *,
    config: str | None = None,
    env_file: str | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read every layer, validate, and return the effective settings (or raise ConfigError)."""
    process_env = dict(os.environ if environ is None else environ)
    env_path = _pick_file(env_file, "--env-file", DEFAULT_ENV_FILE)
    env_unset: dict[str, tuple[str, ...]] = {}
    file_env = _read_env_file(env_path, process_env, env_unset) if env_path else {}
    env = {**file_env, **process_env}
    env_sources = {k: (env_path.name if env_path else ".env") for k in file_env}
    env_sources.update({k: "env" for k in process_env})

    config_path = _pick_file(config or process_env.get("SCANNER_CONFIG"),
                             "--config" if config else "env:SCANNER_CONFIG", DEFAULT_CONFIG)
    document = _read_toml(config_path) if config_path else {}
    cfg_name = config_path.name if config_path else DEFAULT_CONFIG
    toml_references = frozenset(_references(document))
    raw_document = document
    # ${VAR} in the sections now (a problem there stops the run); in each [[targets]] entry below (a problem
    # there fails that target only)
    document = {k: v if k in ("targets", "credentials") else _expand(v, env, cfg_name, k)
                for k, v in document.items()}

    known = (*SECTIONS, "targets", "discovery", "credentials")
    unknown = [k for k in document if k not in known]
    if unknown:
        raise ConfigError(
            f"unknown section or key {unknown[0]!r}", where=cfg_name,
            hint=_did_you_mean(unknown[0], list(known)),
        )

    layered: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    sources: dict[str, str] = {}
    for section in SECTIONS:
        table = document.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table", where=cfg_name)
        written = {k: v for k, v in raw_document.get(section, {}).items() if not templated(v)}
        check_toml_bools(SECTIONS[section], written, lambda loc, s=section: f"{cfg_name}:[{s}].{loc[0]}")
        for key, value in table.items():
            layered[section][key] = value
            sources[f"{section}.{key}"] = f"{cfg_name}:[{section}].{key}"
    for section, mapping in (("catalog", CATALOG_ENV), ("scan", SCAN_ENV), ("inventory", INVENTORY_ENV)):
        for var, key in mapping.items():
            value = env.get(var)
            if value is not None and value.strip() != "":
                layered[section][key] = value.strip()
                sources[f"{section}.{key}"] = f"{env_sources[var]}:{var}"
    for dotted, value in (flags or {}).items():
        if value is None:
            continue
        section, key = dotted.split(".", 1)
        layered[section][key] = value
        sources[dotted] = FLAG_NAMES.get(dotted, f"flag:--{key.replace('_', '-')}")

    models = {
        name: validate_model(model, layered[name],
                             lambda loc, s=name: where_of(sources.get(f"{s}.{loc[0]}")) or f"[{s}]")
        for name, model in SECTIONS.items()
    }
    network_settings: NetworkSettings = models["network"]  # type: ignore[assignment]
    network.configure(network_settings.proxy, network_settings.no_proxy)  # process-wide, like the variables
    catalog: CatalogSettings = models["catalog"]  # type: ignore[assignment]
    if catalog.jwt_token is not None:
        secrets.register(catalog.jwt_token)
    if catalog.host and not catalog.jwt_token:
        raise ConfigError(
            "a catalog host is set but no token",
            where=sources.get("catalog.host"),
            hint="set OPENMETADATA_JWT_TOKEN (Settings > Bots > ingestion-bot in OpenMetadata)",
        )

    raw_targets = document.get("targets", [])
    if not isinstance(raw_targets, list) or not all(isinstance(t, dict) for t in raw_targets):
        raise ConfigError("'targets' must be an array of tables: [[targets]]", where=cfg_name)
    targets = [_raw_target(i, t, env, cfg_name) for i, t in enumerate(raw_targets, 1)]
    discovery = document.get("discovery", {})
    if not isinstance(discovery, dict):
        raise ConfigError("[discovery] must be a table", where=cfg_name)
    raw_credentials = document.get("credentials", [])
    if not isinstance(raw_credentials, list) or not all(isinstance(c, dict) for c in raw_credentials):
        raise ConfigError("'credentials' must be an array of tables: [[credentials]]", where=cfg_name)
    credentials = [_raw_credentials(i, c, env, cfg_name) for i, c in enumerate(raw_credentials, 1)]

    return Settings(
        catalog=catalog, scan=models["scan"], service=models["service"],  # type: ignore[arg-type]
        inventory=models["inventory"],  # type: ignore[arg-type]
        network=network_settings,
        ingestion=models["ingestion"], secrets=models["secrets"],  # type: ignore[arg-type]
        targets=targets, env=env, env_sources=env_sources, sources=sources, discovery=discovery,
        credentials=credentials, config_name=cfg_name,
        config_path=config_path, env_file=env_path,
        env_unset={k: v for k, v in env_unset.items() if k not in process_env}, toml_references=toml_references,
    )


def _raw_credentials(index: int, values: dict[str, Any], env: Mapping[str, str], file: str) -> RawTarget:
    """A ``[[credentials]]`` table (platform, hosts, the platform's credential keys), ``${VAR}`` expanded; an unset
    variable makes this entry unusable (reported), not the run."""
    where = f"{file}:[[credentials]]#{index}"
    try:
        return RawTarget(index, _expand(values, env, file, where.split(":", 1)[1]), where)
    except ConfigError as exc:
        return RawTarget(index, {k: v for k, v in values.items() if k in ("platform", "hosts")}, where, exc)


def target_where(file: str, index: int) -> str:
    """The one way a ``[[targets]]`` entry is named in messages: ``config.toml:[[targets]]#2`` (1-based)."""
    return f"{file}:[[targets]]#{index}"


def _raw_target(index: int, values: dict[str, Any], env: Mapping[str, str], file: str) -> RawTarget:
    where = target_where(file, index)
    try:
        return RawTarget(index, _expand(values, env, file, where.split(":", 1)[1]), where,
                         templated=frozenset(k for k, v in values.items() if templated(v)))
    except ConfigError as exc:
        return RawTarget(index, {k: v for k, v in values.items() if k in ("platform", "instance", "name", "url")},
                         where, error=exc)


def validate_model(model: type[BaseModel], values: Mapping[str, Any], locate: Callable[[tuple], str],
                   known: Iterable[str] = ()) -> Any:
    """Validate `values` against `model`; the first problem becomes a ConfigError at `locate(loc)`.
    `known`: keys accepted besides the model's fields (offered in "did you mean" hints)."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise config_error_from(exc, model, locate, known) from None


def config_error_from(exc: ValidationError, model: type[BaseModel], locate: Callable[[tuple], str],
                      known: Iterable[str] = ()) -> ConfigError:
    errors = exc.errors(include_url=False, include_input=False)
    # a misspelt key is also reported as the real key missing: name the misspelling, which is the cause
    err = next((e for e in errors if e.get("type") == "extra_forbidden"), errors[0])
    whole = not err.get("loc")  # a model-level rule (e.g. "one of these pairs"): no key to name
    loc = tuple(err.get("loc") or ("?",))
    key = ".".join(str(p) for p in loc)
    message = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    hint = None
    if err.get("type") == "extra_forbidden":
        message = f"unknown key {key!r}"
        hint = _did_you_mean(str(loc[-1]), [*model.model_fields, *known])
    elif err.get("type") == "missing":
        message = f"missing required key {key!r}"
    elif not whole:
        message = f"{key}: {message}"
    where = locate(loc)
    if whole and where.endswith(".?"):  # a locator that appends the key: the table itself
        where = where[:-2]
    return ConfigError(message, where=where, hint=hint)


def check_toml_bools(model: type[BaseModel], values: Mapping[str, Any], locate: Callable[[tuple], str]) -> None:
    """A TOML value for a true/false setting must be a TOML boolean: ``dry_run = "yes"`` (or ``"false"``, which
    pydantic would read as false) is a ConfigError at `locate((key,))`. Variables stay text (``*_VERIFY_SSL=false``)
    and are validated by the model as before."""
    fields = model.model_fields
    for key, value in values.items():
        info = fields.get(key)
        if info is None or value is None or isinstance(value, bool):
            continue
        annotation = info.annotation
        if annotation is bool or (get_origin(annotation) in (Union, UnionType)
                                  and set(get_args(annotation)) <= {bool, type(None)}):
            raise ConfigError(f"{key}: must be true or false, a TOML boolean without quotes (got "
                              f"{_toml_type(value)})", where=locate((key,)))


def templated(value: Any) -> bool:
    """Whether a raw TOML value is text from a ``${VAR}`` reference (which is text, as the variable is)."""
    return isinstance(value, str) and "${" in value


def _toml_type(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    return "a list" if isinstance(value, list) else "a table" if isinstance(value, dict) else type(value).__name__


def _did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _pick_file(explicit: str | None, where: str, default: str) -> Path | None:
    """The file named by a flag or variable (`where`), or the default one when present."""
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_dir():
            raise ConfigError(f"{str(path)!r} is a directory, not a file", where=where)
        if not path.is_file():
            raise ConfigError(f"file {str(path)!r} not found", where=where)
        return path
    path = Path(default)
    return path if path.is_file() else None


# KEY='value' (optionally after `export`, the key optionally quoted): the value is taken literally
_SINGLE_QUOTED = re.compile(r"\s*(?:export[^\S\r\n]+)?(?:'[^']+'|[^=#\s]+)[^\S\r\n]*=[^\S\r\n]*'")


def _read_env_file(path: Path, environ: Mapping[str, str],
                   unset: dict[str, tuple[str, ...]] | None = None) -> dict[str, str]:
    """A dotenv file, parsed by python-dotenv. ``${VAR}`` (and ``${VAR:-default}``) is expanded in unquoted
    and double-quoted values, from the values above it and the environment, as python-dotenv does; a
    single-quoted value is literal, as in shells and Docker Compose (python-dotenv would expand it).
    `unset` gets, per key, the ``${VAR}``s (without a default) that were not set and so became empty."""
    from dotenv.parser import parse_stream
    from dotenv.variables import Variable, parse_variables

    try:
        with path.open(encoding="utf-8") as fh:
            bindings = list(parse_stream(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", where=str(path)) from None
    values: dict[str, str] = {}
    for binding in bindings:
        if binding.error:
            log.warning("%s: line %d is not KEY=value; ignored", path.name, binding.original.line)
            continue
        if binding.key is None or binding.value is None:
            continue
        if _SINGLE_QUOTED.match(binding.original.string):
            values[binding.key] = binding.value
        else:
            env = {**environ, **values}
            atoms = list(parse_variables(binding.value))
            values[binding.key] = "".join(atom.resolve(env) for atom in atoms)
            missing = tuple(a.name for a in atoms
                            if isinstance(a, Variable) and a.default is None and a.name not in env)
            if unset is not None:
                if missing:
                    unset[binding.key] = missing
                else:
                    unset.pop(binding.key, None)
    return values


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", where=path.name) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", where=path.name) from None


_VAR_RE = re.compile(r"\$\$|\$\{([^}]*)\}")


def _references(value: Any) -> set[str]:
    """The variables a TOML document names as ``${VAR}`` (``$$`` is no reference)."""
    if isinstance(value, dict):
        return set().union(*map(_references, value.values()))
    if isinstance(value, list):
        return set().union(*map(_references, value))
    return {m.group(1) for m in _VAR_RE.finditer(value) if m.group(1)} if isinstance(value, str) else set()


def _expand(value: Any, env: Mapping[str, str], file: str, key: str) -> Any:
    """Replace ``${VAR}`` in every string (``$$`` is a literal ``$``)."""
    if isinstance(value, dict):
        return {k: _expand(v, env, file, f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, file, f"{key}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"invalid variable reference ${{{name}}}", where=f"{file}:{key}")
        if name not in env:
            raise ConfigError(f"${{{name}}} is not set", where=f"{file}:{key}",
                              hint="export it or add it to .env")
        return env[name]

    return _VAR_RE.sub(sub, value)


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(key, value, source) rows of the effective settings, secrets masked."""
    rows: list[tuple[str, str, str]] = []
    for name in SECTIONS:
        model: BaseModel = getattr(settings, name)
        for key in type(model).model_fields:
            value = getattr(model, key)
            if isinstance(value, SecretStr):
                shown = secrets.MASK if value.get_secret_value() else "(empty)"
            elif (name, key) == ("network", "proxy") and value:
                shown = display_url(value)  # a proxy password stays hidden
            elif value is None and (name, key) == ("inventory", "path"):
                shown = f"{settings.inventory.resolved_path(settings.env)} (default)"
            elif value is None:
                shown = "(not set)"
            elif isinstance(value, list):
                shown = ", ".join(map(str, value)) or "(none)"
            else:
                shown = str(value)
            rows.append((f"{name}.{key}", shown, settings.sources.get(f"{name}.{key}", "default")))
    return rows
