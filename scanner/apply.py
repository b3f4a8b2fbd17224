"""Register planned services: ``/bulk`` where the server has it, else one PUT per service, concurrently,
as soon as each is planned.

Unchanged and skipped items are never sent. A 401/403 from the catalog stops further writes (every
remaining item is reported failed with that line) instead of hammering it with a bad token.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from scanner.errors import CatalogAuthError, CatalogError
from scanner.openmetadata.client import CatalogClient, quote_name
from scanner.plan import Action, PlanItem

log = logging.getLogger(__name__)

BULK_BATCH = 100


class Registrar:
    """Registers items as they are planned, so registration overlaps the probes still running.

    The first two writes ask ``/bulk`` once (as a batch); a 404/405 means one PUT per service from
    then on, sent by a pool of `concurrency` threads (a lone write is simply PUT). With ``/bulk``,
    writes go in batches of `BULK_BATCH`. `close()` sends what is left and waits; every item then
    has ``taken`` set.
    """

    def __init__(self, catalog: CatalogClient, concurrency: int = 8,
                 on_written: Callable[[PlanItem], None] | None = None):
        self.catalog = catalog
        self.on_written = on_written  # called (from a registration thread) as each write succeeds
        self.pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="register")
        self.futures: list[Future] = []
        self.buffer: list[PlanItem] = []
        self.stop = threading.Event()
        self.stop_reason: list[str] = []

    def submit(self, item: PlanItem) -> None:
        if item.taken is not None:  # already decided while planning (e.g. a failed look-up)
            return
        if item.action is Action.UNCHANGED:
            item.taken = "unchanged"
            return
        if item.action is Action.SKIP:
            item.taken = "skipped"
            return
        if self.stop.is_set():
            _fail(item, self.stop_reason[0])
        elif self.catalog.bulk_supported is False:
            self.futures.append(self.pool.submit(self._one, item))
        else:
            self.buffer.append(item)
            # /bulk unknown: ask once, with the first two writes; known: full batches
            if len(self.buffer) >= (2 if self.catalog.bulk_supported is None else BULK_BATCH):
                self._send_bulk(self.buffer)
                self.buffer = []

    def close(self) -> None:
        if len(self.buffer) == 1 and self.catalog.bulk_supported is None:  # one write: no need to ask
            self.futures.append(self.pool.submit(self._one, self.buffer[0]))
        elif self.buffer:
            self._send_bulk(self.buffer)
        self.buffer = []
        for future in self.futures:
            future.result()
        self.pool.shutdown()

    def _send_bulk(self, batch: list[PlanItem]) -> None:
        rest = _apply_bulk(batch, self.catalog, self._stop_with)  # what /bulk could not take
        for item in batch:
            if not any(item is r for r in rest):
                self._written(item)
        for item in rest:
            self.futures.append(self.pool.submit(self._one, item))

    def _stop_with(self, reason: str) -> None:
        if not self.stop.is_set():
            self.stop_reason.append(reason)
            self.stop.set()

    def _one(self, item: PlanItem) -> None:
        if self.stop.is_set():
            _fail(item, self.stop_reason[0])
            return
        try:
            result = self.catalog.put_service(item.request.payload(reveal_secrets=True))  # type: ignore[union-attr]
        except CatalogAuthError as exc:
            self._stop_with(str(exc))
            _fail(item, str(exc))
            return
        except CatalogError as exc:
            _fail(item, str(exc))
            return
        if isinstance(result.entity.get("id"), str):
            item.service_id = result.entity["id"]
            item.service_fqn = result.entity.get("fullyQualifiedName") or item.service_fqn
        if result.status == 201:
            item.taken = "created"
        elif result.change == "entityNoChange":
            item.taken = "unchanged"
        else:
            item.taken = "updated"
        self._written(item)

    def _written(self, item: PlanItem) -> None:
        if self.on_written is not None and item.taken in ("created", "updated"):
            try:
                self.on_written(item)
            except Exception as exc:  # recording must never undo or hide a write that happened
                log.warning("%s: the write succeeded but could not be recorded: %s", item.target.service_name, exc)


def _apply_bulk(writes: list[PlanItem], catalog: CatalogClient, stop_with) -> list[PlanItem]:
    """Send one batch; returns the items still to send one by one (all of them if there is no /bulk)."""
    try:
        result = catalog.put_bulk([i.request.payload(reveal_secrets=True) for i in writes])  # type: ignore[union-attr]
    except CatalogError as exc:
        for item in writes:
            _fail(item, str(exc))
        if isinstance(exc, CatalogAuthError):
            stop_with(str(exc))
        return []
    if result is None:
        return writes
    by_fqn = {quote_name(i.target.service_name): i for i in writes}
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


def _fail(item: PlanItem, message: str) -> None:
    item.taken = "failed"
    item.error = message
    log.debug("%s: %s", item.target.service_name, message)
