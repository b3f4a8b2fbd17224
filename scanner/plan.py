"""Plan: what registering each target would do to the catalog, Terraform-style.

``create``     the catalog has no such service
``update``     it has one, and the connection (or a field we fill) differs, or it is soft-deleted
``unchanged``  it has one, equal to what we would send: no PUT
``skip``       the probe failed (the reason is the deciding step), or the request could not be built

On update, what a person curated is carried over from the current entity (description,
displayName, owners, tags, domains): a PUT with a non-bot token would overwrite it otherwise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from scanner.openmetadata.models import (
    ConnectionConfig,
    CreateDashboardService,
    DashboardConnection,
    EntityReference,
    TagLabel,
)
from scanner.plugin import Plugin, ProbeResult, Target
from scanner.secrets import MASK


class Action(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    SKIP = "skip"


@dataclass
class PlanItem:
    target: Target
    probe: ProbeResult
    action: Action
    reason: str = ""
    changes: list[str] = field(default_factory=list)
    request: CreateDashboardService | None = None
    secrets_unverified: bool = False  # the catalog masked a secret, so it could not be compared
    taken: str | None = None          # what apply did: created | updated | unchanged | skipped | failed | planned
    error: str | None = None


def build_request(plugin: Plugin, target: Target, probe: ProbeResult,
                  owners: list[dict[str, str]] | None = None) -> CreateDashboardService:
    """The ``CreateDashboardService`` request for a target whose probe passed."""
    config = plugin.connection_config(target, probe)
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
              current: dict[str, Any] | None, build_error: str | None = None) -> PlanItem:
    """Decide the action for one target given what the catalog holds (`current`, or None)."""
    if not probe.ok:
        return PlanItem(target, probe, Action.SKIP, reason=f"probe {probe.status.value}: {probe.message}")
    if request is None:
        return PlanItem(target, probe, Action.SKIP, reason=build_error or "no request")
    if current is None:
        return PlanItem(target, probe, Action.CREATE, request=request)
    merged = carry_over_curated(request, current)
    changes, unverified = diff(merged, current)
    action = Action.UPDATE if changes else Action.UNCHANGED
    return PlanItem(target, probe, action, reason=", ".join(changes), changes=changes,
                    request=merged, secrets_unverified=unverified)


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
    """Compare configs after filling both with the model's defaults; a masked secret counts as equal."""
    if not isinstance(current, dict):
        return False, False
    try:
        parsed = type(desired).model_validate(current)
    except ValidationError:
        return False, False
    context = {"reveal_secrets": True}
    want = desired.model_dump(mode="json", exclude_none=True, context=context)
    have = parsed.model_dump(mode="json", exclude_none=True, context=context)
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
        masked.append(True)
        return True
    return want == have
