"""Connect-scan: which (address, port) pairs accept a TCP connection. Identification comes later, and only there.

One thread, non-blocking sockets and the platform's best selector (epoll, kqueue): at most `concurrency`
connections in flight, each given `connect_timeout` seconds, new ones started no faster than `rate` per second
(a token bucket), and nothing started or left open after `deadline` seconds. A pair is *open* when the TCP
handshake completes, even if the server then never says a word (identification deals with that, with its own
timeouts); *refused* when the host answers with a reset; *timed out* when nothing came back in time (a filtered
port, a host that is down); *failed* on any other error (no route, address not available), counted by errno name.

The engine connects only to the pairs it is given, and only to IP literals: a host name in the input is a
ValueError, so nothing is resolved here and no address can appear that the caller did not pass (host names are
resolved once, by `scanner.discovery.hosts`, while the settings are read). Nothing is sent on an open connection;
it is closed at once.

File descriptors: the soft RLIMIT_NOFILE is raised (up to the hard limit) to fit `concurrency`, and concurrency is
capped below what is left; if the process runs out anyway (EMFILE), the sweep waits for connections in flight to
finish and goes on with fewer.

    result = sweep(plan.pairs(), concurrency=512, connect_timeout=1.0, rate=2000, deadline=60)
    result.open          # (("127.0.0.5", 8088), ...), sorted
    result.stats         # attempted, open, refused, timed_out, failed, ..., elapsed_s, per_second
"""

from __future__ import annotations

import errno
import ipaddress
import math
import os
import selectors
import socket
import time
from collections import Counter, deque
from collections.abc import Iterable, Sized
from dataclasses import dataclass, field

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None  # type: ignore[assignment]

DEFAULT_CONCURRENCY = 512
DEFAULT_CONNECT_TIMEOUT = 1.0
FD_RESERVE = 64
"""File descriptors left to the rest of the process (logs, the inventory, identification's connections)."""

_OUT_OF_FDS = (errno.EMFILE, errno.ENFILE)
_IN_PROGRESS = {errno.EINPROGRESS, errno.EALREADY} | ({errno.EWOULDBLOCK} if os.name == "nt" else set())


@dataclass(frozen=True)
class SweepStats:
    candidates: int | None  # pairs given (None: an iterator of unknown length that the deadline cut short)
    attempted: int          # connections started
    open: int
    refused: int
    timed_out: int          # no answer within connect_timeout
    failed: int             # any other error (see SweepResult.errors)
    unfinished: int         # in flight when the deadline came (closed, counted in none of the above)
    not_attempted: int | None  # left when the deadline came (None: unknown, see `candidates`)
    elapsed_s: float
    concurrency: int        # the concurrency used (after the file-descriptor cap)
    rate: float | None
    deadline_reached: bool

    @property
    def per_second(self) -> float:
        """Candidates attempted per second of the sweep."""
        return self.attempted / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True)
class SweepResult:
    open: tuple[tuple[str, int], ...]
    stats: SweepStats
    errors: dict[str, int] = field(default_factory=dict)  # failed pairs by errno name, e.g. {"ENETUNREACH": 3}


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up (default: 20 ms worth, at least 1); starts with one."""

    def __init__(self, rate: float, *, burst: float | None = None, now: float | None = None):
        if not rate > 0:
            raise ValueError(f"rate must be positive, not {rate!r}")
        self.rate = float(rate)
        self.burst = max(1.0, burst if burst is not None else self.rate / 50)
        self.tokens = 1.0
        self.stamp = time.monotonic() if now is None else now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait(self, now: float) -> float:
        """Seconds until the next token."""
        self._refill(now)
        return max(0.0, (1.0 - self.tokens) / self.rate)


def usable_concurrency(wanted: int, *, reserve: int = FD_RESERVE) -> int:
    """`wanted`, raising the soft RLIMIT_NOFILE towards the hard limit to make room, and capped below what the
    process can still open (counting the descriptors it holds now, where the platform tells)."""
    wanted = max(1, int(wanted))
    if resource is None:  # pragma: no cover
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = _fds_in_use()
    need = wanted + reserve + in_use
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(hard, need)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - reserve - in_use))


def _fds_in_use() -> int:
    for path in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(path))
        except OSError:
            continue
    return 0


class _Conn:
    __slots__ = ("sock", "pair", "expires", "done")

    def __init__(self, sock: socket.socket, pair: tuple[str, int], expires: float):
        self.sock, self.pair, self.expires, self.done = sock, pair, expires, False


def _checked(pair: tuple[object, int]) -> tuple[int, tuple, tuple[str, int]]:
    """(family, socket address, (address text, port)) of one input pair; ValueError unless an IP literal and a
    port 1-65535."""
    address, port = pair
    ip = address if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address) else ipaddress.ip_address(
        address)  # a host name raises: nothing is resolved here
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be an integer 1-65535, not {port!r}")
    text = str(ip)
    if ip.version == 6:
        return socket.AF_INET6, (text, port, 0, 0), (text, port)
    return socket.AF_INET, (text, port), (text, port)


class _Sweep:
    def __init__(self, concurrency: int, connect_timeout: float, rate: float | None, deadline: float | None):
        self.started = time.monotonic()
        self.end = self.started + deadline if deadline is not None else math.inf
        self.timeout = connect_timeout
        self.concurrency = concurrency
        self.bucket = TokenBucket(rate, now=self.started) if rate else None
        self.selector = selectors.DefaultSelector()
        self.inflight: dict[int, _Conn] = {}
        self.by_age: deque[_Conn] = deque()  # in start order, so in expiry order (one timeout for all)
        self.open: list[tuple[str, int]] = []
        self.errors: Counter[str] = Counter()
        self.attempted = self.refused = self.timed_out = self.unfinished = 0
        self.retry: tuple | None = None  # a pair put back after EMFILE

    def _finish(self, conn: _Conn, err: int) -> None:
        conn.done = True
        if conn.sock.fileno() in self.inflight:
            del self.inflight[conn.sock.fileno()]
            self.selector.unregister(conn.sock)
        conn.sock.close()
        self._count(conn.pair, err)

    def _count(self, pair: tuple[str, int], err: int) -> None:
        if err == 0:
            self.open.append(pair)
        elif err == errno.ECONNREFUSED:
            self.refused += 1
        elif err == errno.ETIMEDOUT:
            self.timed_out += 1
        else:
            self.errors[errno.errorcode.get(err, str(err))] += 1

    def _start(self, item: tuple, now: float) -> bool:
        """Start one connection; False when the process is out of file descriptors (the item is kept)."""
        family, sockaddr, pair = item
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            if exc.errno in _OUT_OF_FDS:
                if not self.inflight:
                    raise  # nothing of ours to wait for: the rest of the process holds every descriptor
                self.retry = item
                self.concurrency = max(1, len(self.inflight))
                return False
            self.attempted += 1
            self._count(pair, exc.errno or errno.EIO)
            return True
        self.attempted += 1
        sock.setblocking(False)
        err = sock.connect_ex(sockaddr)
        if err in _IN_PROGRESS:
            conn = _Conn(sock, pair, now + self.timeout)
            self.inflight[sock.fileno()] = conn
            self.selector.register(sock, selectors.EVENT_WRITE, conn)
            self.by_age.append(conn)
        else:
            sock.close()
            self._count(pair, err)
        return True

    def run(self, pairs: Iterable[tuple[object, int]]) -> bool:
        """Sweep `pairs`; True when every pair was attempted."""
        source = iter(pairs)
        exhausted = False
        while True:
            now = time.monotonic()
            if now >= self.end:
                break
            while not exhausted and len(self.inflight) < self.concurrency:
                if self.bucket is not None and not self.bucket.take(now):
                    break
                if self.retry is not None:
                    item, self.retry = self.retry, None
                else:
                    try:
                        item = _checked(next(source))
                    except StopIteration:
                        exhausted = True
                        break
                if not self._start(item, now):
                    if self.bucket is not None:
                        self.bucket.tokens += 1.0  # the token was not spent
                    break
            if exhausted and not self.inflight:
                return True
            wait = self.end - now
            if self.by_age:
                wait = min(wait, self.by_age[0].expires - now)
            if not exhausted and len(self.inflight) < self.concurrency and self.bucket is not None:
                wait = min(wait, self.bucket.wait(now))
            if self.inflight:
                for key, _ in self.selector.select(max(0.0, wait)):
                    conn = key.data
                    self._finish(conn, conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
            elif wait > 0:
                time.sleep(wait)
            now = time.monotonic()
            while self.by_age and (self.by_age[0].done or self.by_age[0].expires <= now):
                conn = self.by_age.popleft()
                if not conn.done:
                    self._finish(conn, errno.ETIMEDOUT)
        for conn in list(self.inflight.values()):  # the deadline came: close what is still in flight
            conn.done = True
            self.selector.unregister(conn.sock)
            conn.sock.close()
            self.unfinished += 1
        self.inflight.clear()
        return False

    def close(self) -> None:
        for conn in self.inflight.values():
            conn.sock.close()
        self.selector.close()


def sweep(pairs: Iterable[tuple[object, int]], *, concurrency: int = DEFAULT_CONCURRENCY,
          connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, rate: float | None = None,
          deadline: float | None = None) -> SweepResult:
    """Connect to each (address, port) of `pairs` (IP literals only), and return those that accepted.

    `concurrency`: connections in flight at most (capped by the file-descriptor limit); `connect_timeout`: seconds
    each connection may take; `rate`: connections started per second at most (None: no limit); `deadline`:
    seconds the whole sweep may take, counted from this call (None: none). Pairs are consumed lazily, so an
    iterator over a big range costs no memory; a bad pair raises ValueError when reached, before it is used.
    """
    if not connect_timeout > 0:
        raise ValueError(f"connect_timeout must be positive, not {connect_timeout!r}")
    total = len(pairs) if isinstance(pairs, Sized) else None
    engine = _Sweep(usable_concurrency(concurrency), connect_timeout, rate, deadline)
    try:
        complete = engine.run(pairs)
    finally:
        engine.close()
    elapsed = time.monotonic() - engine.started
    attempted = engine.attempted
    failed = sum(engine.errors.values())
    if complete:
        total = attempted
    stats = SweepStats(
        candidates=total, attempted=attempted, open=len(engine.open), refused=engine.refused,
        timed_out=engine.timed_out, failed=failed, unfinished=engine.unfinished,
        not_attempted=None if total is None else total - attempted, elapsed_s=elapsed,
        concurrency=engine.concurrency, rate=rate, deadline_reached=not complete,
    )
    ordered = sorted(engine.open, key=lambda p: (ipaddress.ip_address(p[0]).version, int(ipaddress.ip_address(p[0])),
                                                 p[1]))
    return SweepResult(tuple(ordered), stats, dict(sorted(engine.errors.items())))
