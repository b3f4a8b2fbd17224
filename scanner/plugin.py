"""The plugin contract: everything a probe for one BI platform declares and implements.

A plugin is an instance of a `Plugin` subclass exposed through the entry-point group
``scanner.plugins`` (``[project.entry-points."scanner.plugins"] myplatform = "my_pkg:plugin"``).
The built-in probes use exactly this door. A plugin declares:

=====================  ==================================================================
``name``               platform key used in ``--platform``, TOML ``platform = ...`` and
                       service names (``[a-z0-9_]+``)
``title``              human name, e.g. ``"Apache Superset"``
``service_type``       OpenMetadata ``DashboardServiceType`` value, e.g. ``"Superset"``
``settings_model``     a `TargetSettings` subclass: the keys one target accepts (TOML keys
                       and the fields env variables fill). Unknown keys are errors.
``env_vars``           the `EnvVar` s it reads; the core finds instances from them, with
                       ``__<INSTANCE>`` suffixes for more than one instance (``tls_env_vars(PREFIX)``
                       gives the ``<PREFIX>_VERIFY_SSL`` / ``<PREFIX>_CA_BUNDLE`` pair)
``steps(target)``      the ordered probe `Step` s (start with `reach_step`)
``connection_config``  the OpenMetadata connection config built from a passed probe:
                       ``ConnectionConfig.build(service_type, key=value, ...)``, checked against
                       OpenMetadata's own schema of that type (``scanner.openmetadata.schema``)
``config_keys``        the config keys the plugin derives from the instance (address,
                       credentials, site, API version, TLS...), dotted for nested keys. On
                       update every *other* key of the stored config (filter patterns,
                       ``supportsMetadataExtraction``, anything a person set in the catalog's
                       UI, keys a newer server added) is sent back as the catalog holds it
``finish(ctx)``        optional clean-up run after the steps, pass or fail (log out, sign out)
``ports``              the ports it usually serves on (discovery sweeps them; its ``Fingerprint``
                       step, which sends no credential, identifies a found address)
``instance_name(s)``   optional: the default instance name from the settings (a cloud tenant or
                       workspace), when the URL's host is a vendor's shared one
``base_url(url)``      optional: the instance's base URL from a URL as a user typed it (a page
                       copied from the browser), before it is validated and named; default as typed
``parts(target, r)``   optional: when one instance is registered as several services (Lightdash:
                       one per project and space), the `Part` s a passed probe found; each becomes
                       its own service ``<service>_<part.key>`` with ``part.settings`` applied to the
                       target's settings before ``connection_config``. Default: one service
=====================  ==================================================================

Rules for plugin code:
- Import the platform SDK inside ``steps``/``connection_config``/step functions, never at module
  import time, so ``scanner --help`` and ``scanner plugins`` stay instant.
- Talk HTTP through ``ctx.http`` (timeouts, TLS, redirect and body-size rules are enforced there).
  An SDK with its own transport gets a ``scanner.sdk_http.GuardedSession`` (the same rules for the
  SDK's requests; see the Looker and Tableau plugins), or at least ``ctx.timeout()`` and
  ``ctx.target.settings.verify``.
- A step returns a one-line message on success, or raises `StepFailed` with the outcome
  `Status`, a message and a fix hint. Any other exception fails the step as ``error``.
- Secrets are ``SecretStr``; never put one in a message, a fact or an exception.
"""

from __future__ import annotations

import enum
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ConfigDict, field_validator

from scanner.tls import TlsSettings
from scanner.urls import display_url, normalize_base_url

if TYPE_CHECKING:
    from scanner.http import HttpClient
    from scanner.openmetadata.models import ConnectionConfig


class Status(str, enum.Enum):
    """The one outcome of probing a target."""

    OK = "ok"
    UNREACHABLE = "unreachable"    # nothing answered in time
    TLS_ERROR = "tls_error"        # TLS handshake or certificate verification failed
    NOT_DETECTED = "not_detected"  # something answered, but not this platform
    AUTH_FAILED = "auth_failed"    # the platform refused the credentials
    FORBIDDEN = "forbidden"        # logged in, but may not list what ingestion needs
    ERROR = "error"                # anything else (bad response, deadline, plugin bug)
    NO_CREDENTIALS = "no_credentials"  # discovery identified it, no credential applies: found, not registered


class StepStatus(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class EnvVar:
    """An environment variable a plugin reads, and the settings field it fills.

    The variable whose field is ``url`` anchors an instance: ``SUPERSET_URL__FINANCE`` declares
    instance ``finance``, and ``SUPERSET_PASSWORD__FINANCE`` belongs to it. A cloud platform whose URL is a
    fixed vendor host with a default marks another variable ``anchor=True`` (Power BI: ``AZURE_TENANT_ID``).
    """

    name: str
    field: str
    secret: bool = False
    help: str = ""
    anchor: bool = False


def tls_env_vars(prefix: str) -> tuple[EnvVar, EnvVar]:
    """``<PREFIX>_VERIFY_SSL`` and ``<PREFIX>_CA_BUNDLE``, which every platform takes (`TlsSettings`' fields)."""
    return (EnvVar(f"{prefix}_VERIFY_SSL", "verify_ssl", help="true (default) or false"),
            EnvVar(f"{prefix}_CA_BUNDLE", "ca_bundle", help="PEM file of a private CA (scanner's own trust)"))


class TargetSettings(TlsSettings):
    """Settings of one target. Plugins subclass it to add their own fields.

    Field names of plugin-specific options follow OpenMetadata's connection field names
    (``sourcePythonClass``, ``siteName``...), so a TOML target reads like the config it produces.
    """

    model_config = ConfigDict(extra="forbid")

    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return normalize_base_url(value)


@dataclass(frozen=True)
class ServiceMeta:
    """What the registered service carries besides its connection (from the TOML)."""

    display_name: str | None = None
    description: str | None = None
    owners: tuple[str, ...] = ()   # "user:alice" / "team:data-platform"
    tags: tuple[str, ...] = ()     # tag FQNs, e.g. "Tier.Tier1"
    domains: tuple[str, ...] = ()  # domain FQNs


@dataclass(frozen=True)
class Target:
    """One instance to probe, built by the core from env variables or a TOML table."""

    platform: str
    instance: str
    service_name: str
    settings: TargetSettings
    sources: Mapping[str, str]  # field -> where it came from, e.g. "env:SUPERSET_URL__FINANCE"
    origin: str                 # where the target was declared, e.g. "config.toml:[[targets]]#2"
    service: ServiceMeta = ServiceMeta()

    @property
    def url(self) -> str:
        return self.settings.url


class StepFailed(Exception):
    """Raised by a step function: the outcome, a one-line message, and how to fix it."""

    def __init__(self, status: Status, message: str, hint: str = ""):
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint


@dataclass
class ProbeContext:
    """What a step function gets: the target, the shared HTTP client and a scratch space."""

    target: Target
    http: HttpClient
    deadline: float                                      # time.monotonic() value
    read_timeout: float = 10.0
    facts: dict[str, Any] = field(default_factory=dict)  # state passed between steps (may hold tokens)
    details: dict[str, Any] = field(default_factory=dict)  # public, secret-free facts for the report
    version: str | None = None                           # detected platform version
    canonical_url: str | None = None                     # the URL to register, once known
    warnings: list[str] = field(default_factory=list)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def timeout(self) -> float:
        """A read timeout for SDK calls that never outlives the target's deadline."""
        return max(0.1, min(self.read_timeout, self.remaining()))

    def warn(self, message: str) -> None:
        """Record a warning on the current step (it still passes)."""
        self.warnings.append(message)


StepFunction = Callable[[ProbeContext], "str | None"]


@dataclass(frozen=True)
class Step:
    """One named probe step. Use OpenMetadata's test-connection names where the meaning matches."""

    name: str
    run: StepFunction
    mandatory: bool = True  # a failure decides the target's status (else it is only a warning)
    gate: bool = False      # a failure skips every later step (OpenMetadata's shortCircuit)
    hint: str = ""          # fix hint used when the failure does not bring its own
    description: str = ""


@dataclass
class StepResult:
    name: str
    status: StepStatus
    mandatory: bool
    duration_ms: float
    message: str = ""
    hint: str = ""
    warning: bool = False


@dataclass
class ProbeResult:
    """The outcome of probing one target."""

    status: Status
    steps: list[StepResult]
    version: str | None = None
    canonical_url: str | None = None
    message: str = ""  # the deciding failure, or "" when ok
    hint: str = ""
    duration_ms: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @property
    def warnings(self) -> list[str]:
        return [s.message for s in self.steps if s.warning]


@dataclass(frozen=True)
class Part:
    """One of several services an instance is registered as (e.g. one Lightdash project and space).

    ``key`` is appended to the target's service name (``lightdash_prod`` -> ``lightdash_prod_<key>``) and must
    be stable across runs (renaming it makes a new service); ``settings`` are target settings fields that
    select the part (given to ``connection_config`` through the target); ``label`` is what a person reads;
    ``details`` are this part's report facts (counts), added to the probe's."""

    key: str
    settings: Mapping[str, Any]
    label: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


class Plugin(ABC):
    """Base class of every probe plugin. See the module docstring for the contract."""

    name: ClassVar[str]
    title: ClassVar[str]
    service_type: ClassVar[str]
    settings_model: ClassVar[type[TargetSettings]] = TargetSettings
    env_vars: ClassVar[tuple[EnvVar, ...]] = ()
    config_keys: ClassVar[tuple[str, ...]] = ("hostPort",)
    ports: ClassVar[tuple[int, ...]] = ()
    """The ports the platform usually serves on: a host sweep tries these (their union over the plugins) and, on an
    open port, identifies the plugins that list it first. A plugin can be identified when its steps have a
    ``Fingerprint`` (or ``ServerInfo``) step that needs no credentials (`scanner.discovery.identify`)."""

    @abstractmethod
    def steps(self, target: Target) -> Sequence[Step]:
        """The ordered probe steps for this target."""

    @abstractmethod
    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        """The OpenMetadata connection config (``config`` of ``DashboardConnection``); every key it sets
        must be in `config_keys`."""

    def finish(self, ctx: ProbeContext) -> None:  # noqa: B027 - optional hook
        """Clean up after the steps (log out, sign out). Runs whether they passed or not."""

    def parts(self, target: Target, result: ProbeResult) -> Sequence[Part]:
        """The services a passed probe of `target` is registered as, when more than one (see `Part`); the
        probe's steps find them (keep them in ``ctx.details``, which ``result.details`` holds). Empty (the
        default): the target is one service."""
        return ()

    def instance_name(self, settings: TargetSettings) -> str | None:
        """The default instance name (``<platform>_<instance>`` names the service) for a target declared without
        one (no ``__<INSTANCE>`` suffix, no TOML ``instance``). None (the default): made from the URL's host, port
        and path. A cloud platform on a shared vendor host names it from its tenant or workspace instead."""
        return None

    def base_url(self, url: str) -> str:
        """The instance's base URL from `url` as a user typed it (TOML ``url`` or the env variable), e.g. a
        page URL copied from the browser with its query: cut what is a page of this platform, never what
        could be the instance's own path prefix. Runs before the URL is validated and the default service
        name is made from it, with no network; keep the scheme and userinfo as typed (userinfo is refused
        afterwards); return `url` unchanged when unsure (the probe may still try other bases and register
        the one it proves). Default: `url` unchanged."""
        return url


def reach_step(path: str = "/") -> Step:
    """scanner's own first step: does anything answer HTTP at the target URL (no credentials)?"""

    def run(ctx: ProbeContext) -> str:
        from scanner import network

        # Any answer proves the host is there, a redirect included: the next steps follow it if they need to.
        url = ctx.target.url.rstrip("/") + path
        resp = ctx.http.get(url, follow_redirects=False)
        proxy = network.proxy_for(url)
        if proxy:
            ctx.details["proxy"] = display_url(proxy)
        return f"HTTP {resp.status} in {resp.elapsed * 1000:.0f} ms{network.via(proxy)}"

    return Step(
        name="Reach",
        run=run,
        gate=True,
        hint="check the URL, the port, and that this machine can reach the host",
        description="An HTTP server answers at the target URL",
    )
