"""``--prune``: soft-delete catalog services scanner registered whose targets are ``gone``.

Only what scanner itself created or updated in this catalog (the inventory remembers) is a
candidate, and the delete is soft (``hardDelete=false``): the service and its children can be
restored (``PUT .../restore``, or simply the next registration). Fail-safes, as DataHub's stateful
ingestion has them, refuse the whole prune when this run's view may be incomplete:

- a probe ended as ``error`` (the run may have missed something);
- the run found no target at all (a broken environment looks exactly like that);
- more than ``prune_max_share`` of the services scanner registered here would go (default 20%).

Without ``--prune`` nothing is ever deleted; a dry run only lists what would go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.errors import CatalogError
from scanner.naming import canonical_address
from scanner.plugin import Status


@dataclass
class PruneReport:
    candidates: list[str] = field(default_factory=list)
    refused: str | None = None
    deleted: list[str] = field(default_factory=list)
    already_gone: list[str] = field(default_factory=list)  # deleted elsewhere before us
    left: dict[str, str] = field(default_factory=dict)  # name -> why the catalog's service is no longer scanner's
    failed: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.refused is None and not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {"candidates": self.candidates, "refused": self.refused, "deleted": self.deleted,
                "already_gone": self.already_gone, "left": self.left, "failed": self.failed,
                "dry_run": self.dry_run}


def refusal(items: list, candidates: list[str], registered_total: int, max_share: float) -> str | None:
    """Why pruning must not happen now, or None."""
    errored = [i.target.service_name for i in items if i.probe.status is Status.ERROR]
    if errored:
        return (f"{len(errored)} probe(s) ended as error ({', '.join(errored[:5])}): this run may have missed "
                "targets, so nothing is deleted")
    if not items:
        return "this run found no target at all: that looks like a broken environment, so nothing is deleted"
    if candidates and len(candidates) > max_share * registered_total:
        return (f"{len(candidates)} of the {registered_total} services scanner registered here would go "
                f"({len(candidates) / registered_total:.0%}), above the {max_share:.0%} limit "
                "(inventory.prune_max_share)")
    return None


def prune(items: list, inventory_targets: list[dict[str, Any]], catalog: Any, catalog_host: str,
          max_share: float, dry_run: bool) -> PruneReport:
    """Decide and (unless `dry_run`) soft-delete. `catalog` is a CatalogClient."""
    mine = [t for t in inventory_targets if t["registered_in"] == catalog_host and not t["pruned_at"]]
    candidates = sorted(t["service_name"] for t in mine if t["state"] == "gone")
    report = PruneReport(candidates=candidates, dry_run=dry_run)
    report.refused = refusal(items, candidates, len(mine), max_share)
    if report.refused:
        return report
    urls = {t["service_name"]: t["url"] for t in mine}
    for name in candidates:
        try:
            why = _not_ours_any_more(catalog.get_service(name), urls[name])
            if why:
                report.left[name] = why
            elif dry_run:
                continue
            elif catalog.soft_delete_service(name):
                report.deleted.append(name)
            else:
                report.already_gone.append(name)
        except CatalogError as exc:
            report.failed[name] = str(exc)
    return report


def _not_ours_any_more(current: dict[str, Any] | None, url: str) -> str | None:
    """Why the catalog's service of that name is no longer the one scanner registered (a person replaced it with a
    service for another instance), or None. The name alone is not proof: a prune checks the address first."""
    if current is None or current.get("deleted"):
        return None
    held = ((current.get("connection") or {}).get("config") or {}).get("hostPort")
    if not isinstance(held, str) or not held or canonical_address(held) == canonical_address(url):
        return None
    return (f"the catalog's service now points at {held}, not at {url} that scanner registered: someone else's "
            "service, left alone")
