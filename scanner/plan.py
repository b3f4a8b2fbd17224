"""Plan: what registering each target would do to the catalog, Terraform-style.

``create``     the catalog has no such service
``update``     it has one, and the connection (or a field we fill) differs, or it is soft-deleted
``unchanged``  it has one, equal to what we would send: no PUT
``skip``       the probe failed (the reason is the deciding step), or the request could not be built
``conflict``   a service of that name exists, points at another address, and scanner did not register it:
               it is left alone (taken over only when the user says ``--adopt NAME``)

On update, what a person curated is carried over from the current entity (description,
displayName, owners, tags, domains): a PUT with a non-bot token would overwrite it otherwise. So is
every key of the stored connection config that the plugin does not own (``Plugin.config_keys``):
a PUT replaces the config whole, and filter patterns or a ``supportsMetadataExtraction: false`` set
in the catalog's UI would be lost. Configs are compared the way the server stores them: with
OpenMetadata's schema defaults filled on both sides.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scanner.openmetadata.models import (
    ConnectionConfig,
    CreateDashboardService,
    DashboardConnection,
    EntityReference,
    TagLabel,
)
from scanner.openmetadata.schema import ConnectionSchema
from scanner.plugin import Plugin, ProbeResult, Target
from scanner.secrets import MASK


@dataclass(frozen=True)
class Ownership:
    """Which catalog services are scanner's, by the inventory: those it registered in this catalog, and those its
    ``--prune`` soft-deleted there, while they are still deleted (so a returning target restores them; a service a
    person created under that name since is not scanner's)."""

    registered: frozenset[str] = frozenset()
    pruned: frozenset[str] = frozenset()
    hashes: Mapping[str, str] = field(default_factory=dict)  # service -> hash of the config last derived and in place
    hasher: Callable[[dict[str, Any]], str] | None = None     # the inventory's keyed hash of a config
    pipelines: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # service -> its pipeline record (trigger)

    def ours(self, name: str, current: dict[str, Any] | None) -> bool:
        return name in self.registered or (name in self.pruned and bool(current and current.get("deleted")))

    def changed(self, name: str, config: ConnectionConfig | None) -> bool:
        """Whether the config scanner derives now differs from the one in place after the last run (the inventory
        knows it even when the catalog masks secrets: a rotated password)."""
        held = self.hashes.get(name)
        if held is None or config is None or self.hasher is None:
            return False
        return self.hasher(config.dump(reveal_secrets=True)) != held


class Action(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    SKIP = "skip"
    CONFLICT = "conflict"


@dataclass
class PlanItem:
    target: Target
    probe: ProbeResult
    action: Action
    reason: str = ""
    changes: list[str] = field(default_factory=list)
    request: CreateDashboardService | None = None
    secrets_unverified: bool = False  # the catalog masked a secret, so it could not be compared
    carried: list[str] = field(default_factory=list)  # config keys kept as the catalog holds them
    duplicate_of: str | None = None   # the service of the target that proved the same instance first
    taken: str | None = None          # what apply did: created | updated | unchanged | skipped | failed | planned
    error: str | None = None
    ours: bool = False                # scanner registered this service in this catalog (the inventory says so)
    service_id: str | None = None     # the catalog's id of the service, once known
    service_fqn: str | None = None
    ingestion: Any = None             # scanner.ingestion.pipeline.PipelinePlan, with [ingestion] pipeline/autopilot
    catalog_test: Any = None          # scanner.ingestion.catalog_test.CatalogTest, with verify_in_catalog
    secret_refs: list[str] = field(default_factory=list)  # ids the registered config references ([secrets])
    derived: ConnectionConfig | None = None  # the config as the plugin derived it, before carry-over (inventory hash)

    @property
    def warnings(self) -> list[str]:
        """The probe's warnings, then what the registered config needs on the ingestion side."""
        config = self.request.connection.config.warnings if self.request and self.request.connection else ()
        return [*self.probe.warnings, *config]


def build_request(plugin: Plugin, target: Target, probe: ProbeResult,
                  owners: list[dict[str, str]] | None = None) -> CreateDashboardService:
    """The ``CreateDashboardService`` request for a target whose probe passed."""
    config = plugin.connection_config(target, probe)
    if config.service_type != plugin.service_type:
        raise ValueError(f"plugin {plugin.name!r} built a {config.service_type} config for a "
                         f"{plugin.service_type} service")
    stray = [k for k in _leaf_keys(config.values) if not _owned(k, plugin.config_keys)]
    if stray:
        raise ValueError(f"plugin {plugin.name!r} sets config keys it does not declare in config_keys: "
                         + ", ".join(stray))
    meta = target.service
    description = meta.description or (
        f"{plugin.title} at {probe.canonical_url or target.url}. Registered by scanner from {target.origin}."
    )
    return CreateDashboardService(
        name=target.service_name,
        serviceType=plugin.service_type,
        displayName=meta.display_name,
        description=description,
        connection=DashboardConnection(config=config),
        tags=[TagLabel(tagFQN=t) for t in meta.tags] or None,
        owners=[EntityReference(**o) for o in owners] if owners else None,
        domains=list(meta.domains) or None,
    )


def plan_item(target: Target, probe: ProbeResult, request: CreateDashboardService | None,
              current: dict[str, Any] | None, build_error: str | None = None,
              config_keys: tuple[str, ...] = ("hostPort",), *, ours: bool = False,
              adopt: bool = False, changed_since: bool = False) -> PlanItem:
    """Decide the action for one target given what the catalog holds (`current`, or None).

    `config_keys` are the config keys the plugin owns; every other stored key is carried over. `ours`: the
    inventory says scanner registered this service in this catalog; `adopt`: the user said to take it over;
    `changed_since`: the inventory says the derived config changed since the last run (seen even through masks).
    Without either, a service that points at another address is a conflict, never an update."""
    if not probe.ok:
        return PlanItem(target, probe, Action.SKIP, reason=f"probe {probe.status.value}: {probe.message}")
    if request is None:
        return PlanItem(target, probe, Action.SKIP, reason=build_error or "no request")
    if current is None:
        return PlanItem(target, probe, Action.CREATE, request=request, derived=_config(request))
    theirs = foreign_address(request, current)
    if theirs is not None and not ours and not adopt:
        name = target.service_name
        reason = (f"the catalog's service {name} points at {theirs}, not at {_host_port(request)} found here, and "
                  f"scanner did not register it, so it was left alone. Fix: give this target its own service name "
                  f"(TOML name = \"...\"), or take the service over with --adopt {name}")
        return PlanItem(target, probe, Action.CONFLICT, reason=reason, taken="conflict", error=reason)
    merged, carried = carry_over_config(carry_over_curated(request, current), current, config_keys)
    changes, unverified = diff(merged, current)
    if unverified and changed_since and (ours or adopt) and "connection" not in changes:
        # the catalog masks the secrets, but scanner knows its own changed since it last registered them
        changes.append("connection")
        unverified = False
    if changes and not ours and not adopt:
        # same address, but not scanner's: a person's service (their own account, a service they retired) is
        # never rewritten, restored or made scanner's without being asked
        name = target.service_name
        reason = (f"the catalog's service {name} points at this instance, but scanner did not register it (not in the "
                  f"inventory), and writing would change it ({', '.join(changes)}), so it was left alone. Fix: take "
                  f"it over with --adopt {name}, or give this target its own service name (TOML name = \"...\")")
        return PlanItem(target, probe, Action.CONFLICT, reason=reason, changes=changes, taken="conflict",
                        error=reason, secrets_unverified=unverified)
    action = Action.UPDATE if changes else Action.UNCHANGED
    return PlanItem(target, probe, action, reason=", ".join(changes), changes=changes,
                    request=merged, derived=_config(request), secrets_unverified=unverified, carried=carried,
                    ours=ours or adopt,
                    service_id=current.get("id") if isinstance(current.get("id"), str) else None,
                    service_fqn=current.get("fullyQualifiedName") if isinstance(current.get("fullyQualifiedName"),
                                                                                  str) else None)


def _config(request: CreateDashboardService) -> ConnectionConfig | None:
    return request.connection.config if request.connection is not None else None


def foreign_address(request: CreateDashboardService, current: dict[str, Any]) -> str | None:
    """The address the catalog's service points at when it is not the one scanner would register, else None
    (same address, or either side has none to compare)."""
    held = ((current.get("connection") or {}).get("config") or {}).get("hostPort")
    mine = _host_port(request)
    if not isinstance(held, str) or not held or mine is None:
        return None
    return None if _address(held) == _address(mine) else held


def _host_port(request: CreateDashboardService) -> str | None:
    if request.connection is None:
        return None
    value = request.connection.config.values.get("hostPort")
    return value if isinstance(value, str) else None


def _address(url: str) -> tuple[str, str, int | None, str]:
    """Scheme, host, port (default ports filled) and path of a URL, compared case-insensitively where the URL
    rules say so (``https://BI.example.com:443/`` and ``https://bi.example.com`` are one address)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port, parts.path.rstrip("/")


def carry_over_config(request: CreateDashboardService, current: dict[str, Any],
                      config_keys: tuple[str, ...]) -> tuple[CreateDashboardService, list[str]]:
    """The request with every stored config key the plugin does not own sent back as the catalog holds it
    (a masked secret goes back as the mask, which the server replaces by the stored value).

    Returns the request and the carried keys whose value is not the schema's default (what a person set)."""
    held = (current.get("connection") or {}).get("config")
    if request.connection is None or not isinstance(held, dict) or current.get("serviceType") != request.serviceType:
        return request, []
    mine = request.connection.config
    stored = ConnectionConfig.from_catalog(mine.service_type, held).values
    merged, carried = _merge(mine.values, stored, _ownership_tree(("type", *config_keys)), "")
    schema = ConnectionSchema.of(mine.service_type)
    noted = [k for k in carried if "." in k or stored.get(k) != schema.default(k)]
    config = ConnectionConfig(service_type=mine.service_type, values=merged, warnings=mine.warnings)
    return request.model_copy(update={"connection": DashboardConnection(config=config)}), noted


def _ownership_tree(keys: tuple[str, ...]) -> dict[str, Any]:
    """``("a", "b.c")`` -> ``{"a": True, "b": {"c": True}}``: True owns the whole value."""
    tree: dict[str, Any] = {}
    for key in keys:
        node = tree
        *parents, last = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if child is True:
                break
            node = child
        else:
            node[last] = True
    return tree


def _merge(mine: dict[str, Any], held: dict[str, Any], tree: dict[str, Any], prefix: str) -> tuple[dict, list[str]]:
    out: dict[str, Any] = {}
    carried: list[str] = []
    for key, value in held.items():
        if key not in tree:
            out[key] = value
            carried.append(prefix + key)
    for key, owned in tree.items():
        if owned is True:
            if key in mine:
                out[key] = mine[key]
        elif isinstance(mine.get(key), dict) and isinstance(held.get(key), dict):
            out[key], deeper = _merge(mine[key], held[key], owned, f"{prefix}{key}.")
            carried += deeper
        elif key in mine:
            out[key] = mine[key]
    return out, carried


def _leaf_keys(values: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in values.items():
        if isinstance(value, dict) and value:
            keys += _leaf_keys(value, f"{prefix}{key}.")
        else:
            keys.append(prefix + key)
    return keys


def _owned(key: str, config_keys: tuple[str, ...]) -> bool:
    return key == "type" or any(key == k or key.startswith(k + ".") for k in config_keys)


def carry_over_curated(request: CreateDashboardService, current: dict[str, Any]) -> CreateDashboardService:
    """Keep what a person set in the catalog; fill only what is empty there."""
    update: dict[str, Any] = {}
    if current.get("description"):
        update["description"] = current["description"]
    if current.get("displayName"):
        update["displayName"] = current["displayName"]
    current_owners = [EntityReference(id=o["id"], type=o["type"]) for o in current.get("owners") or []]
    if current_owners:
        update["owners"] = current_owners
    current_tags = [
        TagLabel(tagFQN=t["tagFQN"], source=t.get("source", "Classification"),
                 labelType=t.get("labelType", "Manual"), state=t.get("state", "Confirmed"))
        for t in current.get("tags") or []
    ]
    if current_tags:
        have = {t.tagFQN for t in current_tags}
        update["tags"] = current_tags + [t for t in request.tags or [] if t.tagFQN not in have]
    current_domains = [_domain_fqn(d) for d in current.get("domains") or []]
    if current_domains:
        update["domains"] = current_domains
    return request.model_copy(update=update)


def _domain_fqn(domain: Any) -> str:
    if isinstance(domain, dict):
        return str(domain.get("fullyQualifiedName") or domain.get("name"))
    return str(domain)


def diff(request: CreateDashboardService, current: dict[str, Any]) -> tuple[list[str], bool]:
    """Fields where `request` would change `current`, and whether a masked secret went uncompared."""
    changes: list[str] = []
    if current.get("deleted"):
        changes.append("restore (soft-deleted)")
    if current.get("serviceType") != request.serviceType:
        changes.append("serviceType")
    for key in ("description", "displayName"):
        if getattr(request, key) and getattr(request, key) != current.get(key):
            changes.append(key)
    if request.owners and not current.get("owners"):
        changes.append("owners")
    have_tags = {t.get("tagFQN") for t in current.get("tags") or []}
    if any(t.tagFQN not in have_tags for t in request.tags or []):
        changes.append("tags")
    if request.domains and not current.get("domains"):
        changes.append("domains")
    unverified = False
    if request.connection is not None:
        current_config = (current.get("connection") or {}).get("config")
        same, unverified = same_config(request.connection.config, current_config)
        if not same:
            changes.append("connection")
    return changes, unverified


def same_config(desired: ConnectionConfig, current: Any) -> tuple[bool, bool]:
    """Compare configs as the server stores them (OpenMetadata's schema defaults filled on both sides);
    a masked secret counts as equal, and is reported as unverified."""
    if not isinstance(current, dict):
        return False, False
    schema = ConnectionSchema.of(desired.service_type)
    want = schema.with_defaults(desired.dump(reveal_secrets=True))
    have = schema.with_defaults(current)
    masked: list[bool] = []
    return _equal(want, have, masked), bool(masked)


def _equal(want: Any, have: Any, masked: list[bool]) -> bool:
    if isinstance(want, dict) and isinstance(have, dict):
        if want.keys() != have.keys():
            return False
        return all(_equal(want[k], have[k], masked) for k in want)
    if isinstance(want, list) and isinstance(have, list):
        return len(want) == len(have) and all(_equal(a, b, masked) for a, b in zip(want, have, strict=True))
    if have == MASK and isinstance(want, str):
        if want != MASK:  # ours could not be compared; a mask we carried over is the catalog's own
            masked.append(True)
        return True
    return want == have
