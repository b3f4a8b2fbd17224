"""The addresses and ports a host sweep may connect to, from the TOML's ``[discovery]`` table.

    [discovery]
    hosts = ["10.0.0.0/24", "10.0.1.7", "10.0.2.1-10.0.2.40", "10.0.3.1-20", "bi.internal.example.com"]
    exclude = ["10.0.0.1", "10.0.0.250-255"]
    ports = [8088, 3000, "8000-8010"]       # default: the union of the platform plugins' ports
    max_candidates = 4096                   # addresses x ports; a bigger sweep must raise it explicitly
    rate = 2000                             # connections per second

Forms of a ``hosts`` or ``exclude`` entry: a CIDR (``127.0.0.0/22``; every address in it, network and broadcast
addresses included, as a connect scan does), a single address (IPv4 or IPv6, ``[::1]`` too), a range of
addresses (``127.0.1.1-127.0.1.20``, or ``127.0.1.1-20`` for the last IPv4 octet), or a host name. A host name is
resolved once, with `socket.getaddrinfo`, while the settings are read: every address a sweep probes comes from
the user's own entries, never from a later look-up.

Ranges are kept as intervals of integers until the guard has passed, so an IPv6 ``/64`` (2**64 addresses) is
counted, refused by the guard, and never expanded; `HARD_LIMIT` caps what ``max_candidates`` may be raised to.
The result is deterministic: IPv4 before IPv6, each in numeric order, no duplicates.

Every bad entry is a `ConfigError` of one line naming the entry and where it is, e.g.
``config.toml:[discovery].hosts[3]: '10.0.0.0/33' is not a valid CIDR (...)``. Indexes count from 1, as
``[[targets]]#1`` does elsewhere in scanner's messages.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from scanner.errors import ConfigError

DEFAULT_MAX_CANDIDATES = 4096
"""Addresses x ports a sweep may try unless ``max_candidates`` says more (a /24 on 16 ports)."""
HARD_LIMIT = 1 << 24
"""The most ``max_candidates`` can be raised to (a /8 on one port): beyond it no setting helps."""
DEFAULT_RATE = 2000.0
"""Connections per second unless ``rate`` says otherwise."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list]
"""`socket.getaddrinfo`'s signature; tests pass a stand-in so that no name ever reaches a DNS server."""

_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
                          r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")
_LOOKS_NUMERIC_RE = re.compile(r"^[0-9.-]+$")  # "10.0.0.300", "10.0.0.1-300": never a host name


@dataclass(frozen=True, order=True)
class Span:
    """Addresses ``first..last`` (inclusive) of one IP version, as integers."""

    version: int
    first: int
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _address(text: str) -> Address:
    """An IP literal (``[v6]`` brackets allowed); ValueError otherwise. Scoped IPv6 (``fe80::1%eth0``) is refused:
    a sweep cannot promise where a link-local address leads."""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if "%" in text:
        raise ValueError("scoped IPv6 addresses (with %zone) are not supported")
    return ipaddress.ip_address(text)


def _network_span(text: str, where: str) -> Span:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise ConfigError(f"{text!r} is not a valid CIDR ({_one_line(exc)})", where=where) from None
    return Span(network.version, int(network.network_address), int(network.broadcast_address))


def _range_span(text: str, first: Address, last_text: str, where: str) -> Span:
    if first.version == 4 and last_text.isdigit():  # the short form: 127.0.1.1-20, the last octet only
        octet = int(last_text)
        if octet > 255:
            raise ConfigError(f"{text!r} is not a valid range (last octet {octet} is above 255)", where=where)
        last: Address = ipaddress.IPv4Address((int(first) & ~0xFF) | octet)
    else:
        try:
            last = _address(last_text)
        except ValueError as exc:
            raise ConfigError(f"{text!r} is not a valid range ({_one_line(exc)})", where=where) from None
        if last.version != first.version:
            raise ConfigError(f"{text!r} is not a valid range (it mixes IPv4 and IPv6)", where=where)
    if int(last) < int(first):
        raise ConfigError(f"{text!r} is a reversed range ({last} comes before {first})", where=where)
    return Span(first.version, int(first), int(last))


def _resolved(name: str, where: str, resolve: Resolver, cache: dict[str, list[Address]]) -> list[Address]:
    if name not in cache:
        try:
            infos = resolve(name, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise ConfigError(f"host name {name!r} does not resolve ({_one_line(exc)})", where=where) from None
        found = set()
        for info in infos:
            sockaddr = info[4]
            try:
                found.add(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
            except ValueError:
                continue
        if not found:
            raise ConfigError(f"host name {name!r} does not resolve (no IPv4 or IPv6 address)", where=where)
        cache[name] = sorted(found, key=lambda a: (a.version, int(a)))
    return cache[name]


def parse_entry(entry: object, where: str, *, resolve: Resolver = socket.getaddrinfo,
                cache: dict[str, list[Address]] | None = None) -> list[Span]:
    """The addresses of one ``hosts`` or ``exclude`` entry, as spans (ConfigError naming `where` when invalid)."""
    if not isinstance(entry, str):
        raise ConfigError(f"{entry!r} must be a string (a CIDR, an address, a range or a host name)", where=where)
    text = entry.strip()
    if not text:
        raise ConfigError("an empty entry (expected a CIDR, an address, a range or a host name)", where=where)
    if "/" in text:
        return [_network_span(text, where)]
    if "-" in text:
        left, _, right = text.partition("-")
        try:
            first = _address(left.strip())
        except ValueError:
            first = None  # a host name with a hyphen ("bi-01.example.com")
        if first is not None:
            return [_range_span(text, first, right.strip(), where)]
    try:
        address = _address(text)
    except ValueError as exc:
        if ":" in text or "%" in text or _LOOKS_NUMERIC_RE.match(text):
            what = "range" if "-" in text else "IP address"
            raise ConfigError(f"{text!r} is not a valid {what} ({_one_line(exc)})", where=where) from None
    else:
        return [Span(address.version, int(address), int(address))]
    if not _HOSTNAME_RE.match(text):
        raise ConfigError(f"{text!r} is neither a CIDR, an address, a range nor a valid host name", where=where)
    return [Span(a.version, int(a), int(a)) for a in _resolved(text, where, resolve, {} if cache is None else cache)]


def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in sorted(spans):
        if merged and merged[-1].version == span.version and span.first <= merged[-1].last + 1:
            if span.last > merged[-1].last:
                merged[-1] = Span(span.version, merged[-1].first, span.last)
        else:
            merged.append(span)
    return merged


def _subtract(spans: list[Span], holes: list[Span]) -> list[Span]:
    """`spans` minus `holes` (both merged and sorted)."""
    out: list[Span] = []
    for span in spans:
        first = span.first
        for hole in holes:
            if hole.version != span.version or hole.last < first or hole.first > span.last:
                continue
            if hole.first > first:
                out.append(Span(span.version, first, hole.first - 1))
            first = hole.last + 1
            if first > span.last:
                break
        if first <= span.last:
            out.append(Span(span.version, first, span.last))
    return out


class HostSet:
    """The addresses of a sweep: the union of the ``hosts`` entries minus the ``exclude`` entries, as sorted spans.
    `count` is exact without expanding anything; iterating yields each address once, IPv4 first, in order."""

    def __init__(self, spans: Iterable[Span], entries: Sequence[tuple[str, list[Span]]] = ()):
        self.spans: list[Span] = _merge(spans)
        self._entries = list(entries)

    @property
    def count(self) -> int:
        return sum(s.count for s in self.spans)

    def __iter__(self) -> Iterator[Address]:
        for span in self.spans:
            make = ipaddress.IPv4Address if span.version == 4 else ipaddress.IPv6Address
            for value in range(span.first, span.last + 1):
                yield make(value)

    def __contains__(self, address: object) -> bool:
        try:
            ip = address if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address) else _address(
                str(address))
        except ValueError:
            return False
        return any(s.version == ip.version and s.first <= int(ip) <= s.last for s in self.spans)

    def origin_of(self, address: object) -> str | None:
        """The first ``hosts`` entry (as the user wrote it) that holds `address`; None when it is not in the set."""
        if address not in self:
            return None
        ip = _address(str(address))
        for text, spans in self._entries:
            if any(s.version == ip.version and s.first <= int(ip) <= s.last for s in spans):
                return text
        return None


def parse_hosts(hosts: object, *, where: str, exclude: object = (), resolve: Resolver = socket.getaddrinfo,
                cache: dict[str, list[Address]] | None = None) -> HostSet:
    """`hosts` minus `exclude` (lists of entries). `where` names the table, e.g. ``config.toml:[discovery]``; an
    entry's own place is ``{where}.hosts[i]`` / ``{where}.exclude[i]``. Each host name is resolved once."""
    cache = {} if cache is None else cache
    included: list[tuple[str, list[Span]]] = []
    holes: list[Span] = []
    for key, values in (("hosts", hosts), ("exclude", exclude)):
        if isinstance(values, str) or not isinstance(values, list | tuple):
            raise ConfigError(f"must be an array of strings, e.g. {key} = [\"10.0.0.0/24\"]", where=f"{where}.{key}")
        for i, entry in enumerate(values, 1):
            spans = parse_entry(entry, f"{where}.{key}[{i}]", resolve=resolve, cache=cache)
            if key == "hosts":
                included.append((str(entry).strip(), spans))
            else:
                holes.extend(spans)
    return HostSet(_subtract(_merge(s for _, spans in included for s in spans), _merge(holes)), included)


def parse_ports(ports: object, *, where: str) -> tuple[int, ...]:
    """``ports``: integers and ``"low-high"`` strings; sorted, no duplicates."""
    if isinstance(ports, str) or not isinstance(ports, list | tuple) or not ports:
        raise ConfigError("must be a non-empty array of ports, e.g. ports = [8088, 3000, \"8000-8010\"]",
                          where=f"{where}.ports")
    found: set[int] = set()
    for i, value in enumerate(ports, 1):
        here = f"{where}.ports[{i}]"
        if isinstance(value, int) and not isinstance(value, bool):
            low = high = value
        elif isinstance(value, str) and re.fullmatch(r"\s*\d+\s*-\s*\d+\s*", value):
            low, high = (int(v) for v in value.split("-"))
            if high < low:
                raise ConfigError(f"{value!r} is a reversed port range", where=here)
        elif isinstance(value, str) and value.strip().isdigit():
            low = high = int(value)
        else:
            raise ConfigError(f"{value!r} is not a port (an integer 1-65535 or \"low-high\")", where=here)
        if low < 1 or high > 65535:
            raise ConfigError(f"{value!r} is out of range (ports are 1-65535)", where=here)
        found.update(range(low, high + 1))
    return tuple(sorted(found))


def _positive_int(value: object, key: str, where: str, *, at_most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{value!r} must be a positive integer", where=f"{where}.{key}")
    if value > at_most:
        raise ConfigError(f"{value:,} is above the most it may be raised to, {at_most:,}", where=f"{where}.{key}",
                          hint="sweep smaller ranges in separate runs")
    return value


def check_guard(addresses: int, ports: int, max_candidates: int, *, where: str) -> int:
    """Addresses x ports, or a one-line ConfigError when that is above `max_candidates` (naming the count, the
    limit and the setting to raise)."""
    candidates = addresses * ports
    if candidates > max_candidates:
        raise ConfigError(
            f"the sweep has {candidates:,} candidates ({addresses:,} addresses x {ports} ports), above "
            f"max_candidates = {max_candidates:,}", where=where,
            hint=(f"raise [discovery].max_candidates to {candidates:,} or more to sweep them all"
                  if candidates <= HARD_LIMIT else
                  f"that is above {HARD_LIMIT:,}, the most max_candidates may be; sweep a smaller range"),
        )
    return candidates


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep may connect to (the guard has passed) and how fast."""

    addresses: HostSet
    ports: tuple[int, ...]
    candidates: int
    max_candidates: int
    rate: float

    def pairs(self) -> Iterator[tuple[str, int]]:
        """Every (address, port), address by address, in order."""
        for address in self.addresses:
            text = str(address)
            for port in self.ports:
                yield text, port


def plan_sweep(discovery: Mapping[str, object], *, where: str, default_ports: Iterable[int],
               resolve: Resolver = socket.getaddrinfo) -> SweepPlan:
    """The sweep a ``[discovery]`` table asks for (``hosts``, ``exclude``, ``ports``, ``max_candidates``, ``rate``;
    other keys are left to their readers). `where` names the table, e.g. ``config.toml:[discovery]``."""
    max_candidates = _positive_int(discovery.get("max_candidates", DEFAULT_MAX_CANDIDATES), "max_candidates", where,
                                   at_most=HARD_LIMIT)
    rate = discovery.get("rate", DEFAULT_RATE)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
        raise ConfigError(f"{rate!r} must be a positive number (connections per second)", where=f"{where}.rate")
    if "ports" in discovery:
        ports = parse_ports(discovery["ports"], where=where)
    else:
        ports = tuple(sorted(set(default_ports)))
        if not ports:
            raise ConfigError("no ports to sweep: no platform plugin declares any", where=f"{where}.ports",
                              hint="set ports = [...]")
    addresses = parse_hosts(discovery.get("hosts", []), where=where, exclude=discovery.get("exclude", []),
                            resolve=resolve)
    candidates = check_guard(addresses.count, len(ports), max_candidates, where=where)
    return SweepPlan(addresses, ports, candidates, max_candidates, float(rate))
