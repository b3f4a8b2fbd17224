"""Register planned services: ``/bulk`` where the server has it, else one PUT per service, concurrently.

Unchanged and skipped items are never sent. A 401/403 from the catalog stops further writes (every
remaining item is reported failed with that line) instead of hammering it with a bad token.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from scanner.errors import CatalogAuthError, CatalogError
from scanner.openmetadata.client import CatalogClient, quote_name
from scanner.plan import Action, PlanItem

log = logging.getLogger(__name__)

BULK_BATCH = 100


def apply_plan(items: list[PlanItem], catalog: CatalogClient, *, concurrency: int = 8) -> None:
    """Carry out the plan; sets ``taken`` and ``error`` on every item."""
    for item in items:
        if item.taken is not None:  # already decided while planning (e.g. a failed look-up)
            continue
        if item.action is Action.UNCHANGED:
            item.taken = "unchanged"
        elif item.action is Action.SKIP:
            item.taken = "skipped"
    writes = [i for i in items if i.taken is None and i.action in (Action.CREATE, Action.UPDATE)]
    if not writes:
        return
    use_bulk = len(writes) > 1 and catalog.bulk_supported is not False
    remaining = _apply_bulk(writes, catalog) if use_bulk else writes
    if remaining:
        _apply_each(remaining, catalog, concurrency)


def _apply_bulk(writes: list[PlanItem], catalog: CatalogClient) -> list[PlanItem]:
    """Send in batches; returns the items still to send one by one (all of them if no /bulk)."""
    for start in range(0, len(writes), BULK_BATCH):
        batch = writes[start:start + BULK_BATCH]
        try:
            result = catalog.put_bulk([i.request.payload(reveal_secrets=True) for i in batch])  # type: ignore[union-attr]
        except CatalogError as exc:
            for item in batch:
                _fail(item, str(exc))
            if isinstance(exc, CatalogAuthError):
                for item in writes[start + BULK_BATCH:]:
                    _fail(item, str(exc))
                return []
            continue
        if result is None:
            return writes[start:]
        by_fqn = {quote_name(i.target.service_name): i for i in batch}
        for entry in result.get("successRequest") or []:
            item = by_fqn.pop(str(entry.get("request")), None)
            if item is not None:
                item.taken = "created" if item.action is Action.CREATE else "updated"
        for entry in result.get("failedRequest") or []:
            request = entry.get("request")
            fqn = request.get("name") if isinstance(request, dict) else str(request)
            item = by_fqn.pop(quote_name(str(fqn)), None)
            if item is not None:
                _fail(item, f"catalog PUT /bulk -> {entry.get('status')}: {entry.get('message', 'failed')}")
        for item in by_fqn.values():  # the server did not mention it: say so rather than guess
            _fail(item, "catalog /bulk result did not mention this service")
    return []


def _apply_each(writes: list[PlanItem], catalog: CatalogClient, concurrency: int) -> None:
    stop = threading.Event()
    stop_reason: list[str] = []

    def one(item: PlanItem) -> None:
        if stop.is_set():
            _fail(item, stop_reason[0])
            return
        try:
            result = catalog.put_service(item.request.payload(reveal_secrets=True))  # type: ignore[union-attr]
        except CatalogAuthError as exc:
            if not stop.is_set():
                stop_reason.append(str(exc))
                stop.set()
            _fail(item, str(exc))
            return
        except CatalogError as exc:
            _fail(item, str(exc))
            return
        if result.status == 201:
            item.taken = "created"
        elif result.change == "entityNoChange":
            item.taken = "unchanged"
        else:
            item.taken = "updated"

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(writes)))) as pool:
        list(pool.map(one, writes))


def _fail(item: PlanItem, message: str) -> None:
    item.taken = "failed"
    item.error = message
    log.debug("%s: %s", item.target.service_name, message)
