"""One instance, one service: targets whose probes proved the same address are one instance.

Addresses are compared in one spelling (`scanner.naming.canonical_address`: case, default port, IPv6
forms, localhost = 127.0.0.1 = ::1). The first declared target keeps the instance; the others are
reported as skipped duplicates naming it, and never written.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
from urllib.parse import urlsplit

from pydantic import SecretStr

from scanner.naming import canonical_address
from scanner.plan import Action, PlanItem
from scanner.plugin import Target


class OneInstance:
    """Targets whose probes proved one address (platform + canonical URL, spelled one way: `canonical_address`) with
    the same settings (`_login`: the same user) are one instance: the first declared keeps it, each other one is a
    skipped duplicate naming it, never written.

    A finished probe whose target has an earlier-declared target of its platform on the same host still being
    probed waits for it, so the first declared wins whichever finishes first; the others go on at once, so
    registration still overlaps probing. Costs O(1) per target (amortised)."""

    def __init__(self, targets: list[Target]):
        self._rank = {id(t): n for n, t in enumerate(targets)}
        self._lanes: dict[tuple[str, str], list[int]] = {}  # host key -> ranks in declaration order
        self._head: dict[tuple[str, str], int] = {}          # host key -> index of its first unfinished rank
        self._done: set[int] = set()
        self._parked: dict[tuple[str, str], list[tuple[int, int, PlanItem]]] = {}  # heaps by rank
        self._claims: dict[tuple[str, str], PlanItem] = {}
        self._seq = itertools.count()
        self._keys: dict[int, tuple[str, str]] = {}  # id of a declared target -> its host key, made once
        for n, target in enumerate(targets):
            key = self._keys[id(target)] = _host_key(target)
            self._lanes.setdefault(key, []).append(n)

    def finished(self, target: Target, items: list[PlanItem]) -> list[PlanItem]:
        """`target` is probed and planned as `items` (one, or one per part of the instance): the items decided
        now (they, and those that waited on the target), in order."""
        key = self._keys.get(id(target)) or _host_key(target)
        rank = self._rank.get(id(target), -1)
        self._done.add(rank)
        lane, head = self._lanes.get(key, []), self._head.get(key, 0)
        while head < len(lane) and lane[head] in self._done:
            head += 1
        self._head[key] = head
        first_unfinished = lane[head] if head < len(lane) else None
        decided = []
        heap = self._parked.setdefault(key, [])
        for item in items:
            if item.probe.ok:  # a failed probe proved nothing: it never waits
                heapq.heappush(heap, (rank, next(self._seq), item))
            else:
                decided.append(item)
        while heap and (first_unfinished is None or heap[0][0] < first_unfinished):
            decided.append(self._decide(heapq.heappop(heap)[2]))
        return decided

    def rest(self) -> list[PlanItem]:
        """What still waits (the run was interrupted before an earlier target finished), decided now."""
        waiting = sorted(entry for heap in self._parked.values() for entry in heap)
        self._parked.clear()
        return [self._decide(item) for _, _, item in waiting]

    def _decide(self, item: PlanItem) -> PlanItem:
        if not item.probe.ok:
            return item
        address = canonical_address(item.probe.canonical_url or item.target.url)
        kept = self._claims.setdefault((item.target.platform, address, _login(item.target)), item)
        if kept is item:
            return item
        theirs = kept.target
        reason = (f"duplicate of {theirs.service_name} ({theirs.origin}): both reach {address} with the same "
                  f"settings, one instance, so only {theirs.service_name} is registered. Fix: remove this target "
                  f"({item.target.origin})")
        return PlanItem(item.target, item.probe, Action.SKIP, reason=reason, taken="skipped",
                        duplicate_of=theirs.service_name)


def _login(target: Target) -> str:
    """What a target connects as: its settings but the URL and TLS options (secrets as digests). Two logins to one
    address (a Tableau PAT and a password, an admin and a Gamma user) are kept apart: each sees its own content."""
    values = target.settings.model_dump(exclude={"url", "verify_ssl", "ca_bundle"})
    return json.dumps(values, sort_keys=True, default=lambda v: hashlib.sha256(
        v.get_secret_value().encode()).hexdigest() if isinstance(v, SecretStr) else str(v))


def _host_key(target: Target) -> tuple[str, str]:
    """Platform and host (one spelling, any port): the targets that may prove one address."""
    return target.platform, urlsplit(canonical_address(target.url)).hostname or ""
