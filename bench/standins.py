"""Many target stand-ins at a small cost: a farm of event-loop processes (issue 17).

`bench.py probe` used to start one `FakeSuperset` per target, each a ThreadingHTTPServer polling in its own
thread: at 2,000 targets the stand-ins, not scanner, set the pace. Here `procs` child processes (one per core by
default) each run one asyncio event loop that listens on its share of the N ports, spread over several loopback
addresses (127.0.0.1 to 127.0.0.8 by default; Linux routes all of 127.0.0.0/8 to ``lo``), and answers HTTP/1.1
with keep-alive after the injected latency (a timer on the loop, never a blocking sleep).

What a Superset stand-in answers is exactly what `scanner.testing.fake_superset.FakeSuperset` answers: each stand-in
holds a FakeSuperset that is never started (its ``_app(Request) -> Response`` is a function of the request), and the
farm only does the transport. Per stand-in behaviour (`BEHAVIOURS`) lets a scenario mix faults in:

``ok``              a proper Superset 6.1.0 that knows the user and password
``wrong_password``  the login answers 401 (the stand-in's user has another password)
``forbidden``       login works, every list call is 403 (Superset's Public role)
``error``           every ``/api/`` call answers 500
``hang``            accepts and reads every request, never answers

    with StandinFarm(1000, latency=0.1) as farm:
        farm.urls[0]                 # http://127.0.0.1:43817
        ...                          # point scanner at farm.urls
        stats = farm.stats()         # requests served per stand-in, answer times, the farm's own CPU

Only ever binds loopback addresses (127.0.0.0/8). The child processes are this file run as a script
(``standins.py --child``), driven over their stdin and stdout: one JSON line of settings in, one JSON line of
bound ports out, then ``stats`` / ``reset`` commands, each answered by one JSON line; end of input stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import resource
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.client import HTTPMessage
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scanner.testing.fake_superset import FakeSuperset, FakeUser  # noqa: E402
from scanner.testing.server import Request, Response  # noqa: E402

DEFAULT_ADDRESSES = tuple(f"127.0.0.{i}" for i in range(1, 9))
DEFAULT_NICE = -10
"""The farm processes' nice value, when the system allows it. The scanner under test runs hundreds of threads and
the scheduler shares the cores fairly between threads: a farm process's one thread would wait behind them and answer
late (at 2,000 targets, a p99 answer time of 690 ms for 100 ms injected). Real targets run on other machines; here
they go first."""
BEHAVIOURS = ("ok", "wrong_password", "forbidden", "error", "hang")
KINDS = ("superset",)

MAX_HEAD = 64 * 1024          # request line and headers
MAX_BODY = 16 * 1024 * 1024   # a request body larger than this is refused (413)


def raise_fd_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit (children inherit it); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ------------------------------------------------------------------------------------------------
# Stand-in apps: what one target answers, a function of the request (built in the child process)

def superset_app(behaviour: str, username: str, password: str) -> Callable[[Request], Response] | None:
    """The app of one Superset stand-in: FakeSuperset's own (never started), or None for ``hang``."""
    if behaviour == "hang":
        return None
    user = {"ok": FakeUser(password), "error": FakeUser(password), "forbidden": FakeUser(password, forbidden=True),
            "wrong_password": FakeUser(password + "-not-this-one")}[behaviour]
    fake = FakeSuperset(users={username: user})
    if behaviour != "error":
        return fake._app

    def failing(request: Request) -> Response:
        if request.path.startswith("/api/"):
            return Response.json({"message": "Fatal error"}, 500)
        return fake._app(request)

    return failing


APPS = {"superset": superset_app}


# ------------------------------------------------------------------------------------------------
# The child: one asyncio loop, many listening sockets, minimal but correct HTTP/1.1

class _Child:
    """What one farm process holds: the stand-ins' apps, their request counts, answer-time samples."""

    def __init__(self, settings: dict) -> None:
        self.latency = float(settings["latency"])
        make = APPS[settings["kind"]]
        self.apps = [make(b, settings["username"], settings["password"]) for b in settings["behaviours"]]
        self.served = array("q", [0] * len(self.apps))  # complete requests received, per stand-in
        self.answer_s = array("d")  # per answer: seconds from request complete to answer written
        self._date = (0, "")

    def date(self) -> str:
        now = int(time.time())
        if now != self._date[0]:
            self._date = (now, formatdate(now, usegmt=True))
        return self._date[1]

    def stats(self) -> dict:
        samples = sorted(self.answer_s)
        times = os.times()

        def pct(p: float) -> float | None:
            return samples[min(len(samples) - 1, int(p * len(samples)))] if samples else None

        return {"served": list(self.served), "answers": len(samples), "cpu_s": times.user + times.system,
                "answer_mean_s": statistics.fmean(samples) if samples else None, "answer_p50_s": pct(0.5),
                "answer_p95_s": pct(0.95), "answer_p99_s": pct(0.99), "answer_max_s": samples[-1] if samples else None,
                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

    def reset(self) -> None:
        self.served = array("q", [0] * len(self.apps))
        self.answer_s = array("d")


class _Connection(asyncio.Protocol):
    """One client connection to one stand-in: requests are read in order, each answered after the latency."""

    def __init__(self, child: _Child, index: int) -> None:
        self.child = child
        self.index = index
        self.app = child.apps[index]
        self.loop = asyncio.get_running_loop()
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.pending: asyncio.TimerHandle | None = None  # the answer being waited for
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.pending is not None:
            self.pending.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.pending is None and not self.closing:
            self._next()

    # -- parsing ---------------------------------------------------------------------------------
    def _next(self) -> None:
        """Take one complete request off the buffer, if there is one, and schedule its answer."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                self._fail(431)
            return
        head = bytes(self.buffer[:end]).decode("iso-8859-1")
        lines = head.split("\r\n")
        while lines and not lines[0]:  # stray CRLFs before a request line are ignored (RFC 9112 2.2)
            lines.pop(0)
        parts = lines[0].split(" ") if lines else []
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self._fail(400)
            return
        method, target, version = parts
        headers = HTTPMessage()
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                self._fail(400)
                return
            headers[name] = value.strip()
        start = end + 4
        if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
            taken = _dechunk(self.buffer, start)
            if taken is None:
                if len(self.buffer) - start > MAX_BODY:
                    self._fail(413)
                return  # not all of it yet
            if taken is False:
                self._fail(400)
                return
            body, consumed = taken
        else:
            length = headers.get("Content-Length") or "0"
            if not length.strip().isdigit():
                self._fail(400)
                return
            size = int(length)
            if size > MAX_BODY:
                self._fail(413)
                return
            if len(self.buffer) - start < size:
                return  # not all of it yet
            body, consumed = bytes(self.buffer[start:start + size]), start + size
        del self.buffer[:consumed]
        connection = (headers.get("Connection") or "").lower()
        keep = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
        url = urlsplit(target)
        query = parse_qsl(url.query, keep_blank_values=True)
        peer = self.transport.get_extra_info("peername") if self.transport else ("", 0)
        request = Request(method=method, target=target, path=url.path, query=dict(query), query_list=query,
                          headers=headers, body=body, client_address=peer)
        self.child.served[self.index] += 1
        if self.app is None:  # hang: read and keep, never answer
            self.pending = self.loop.call_later(86400, lambda: None)
            return
        self.pending = self.loop.call_later(self.child.latency, self._answer, request, keep, self.loop.time())

    # -- answering -------------------------------------------------------------------------------
    def _answer(self, request: Request, keep: bool, received: float) -> None:
        self.pending = None
        if self.transport is None:
            return
        try:
            response = self.app(request)  # type: ignore[misc]
        except Exception as exc:  # a buggy app answers 500, as LocalServer does
            response = Response(500, f"Internal Server Error: {exc}".encode(), {"Content-Type": "text/plain"})
        if response.reset:
            self._reset()
            return
        self._send(request.method, response, keep)
        self.child.answer_s.append(self.loop.time() - received)
        if not keep:
            self.closing = True
            self.transport.close()
        elif self.buffer:
            self._next()

    def _send(self, method: str, response: Response, keep: bool) -> None:
        payload = response.encoded_body()
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = ""
        lines = [f"HTTP/1.1 {response.status} {phrase}", "Server: LocalServer/1", f"Date: {self.child.date()}"]
        has_type = False
        for name, value in response.headers.items():
            if name.lower() in ("content-length", "transfer-encoding"):
                continue
            has_type = has_type or name.lower() == "content-type"
            lines.append(f"{name}: {value}")
        if payload and not has_type:
            lines.append("Content-Type: application/octet-stream")
        lines.append(f"Content-Length: {len(payload)}")
        if not keep:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1")
        self.transport.write(head + payload if method != "HEAD" else head)  # type: ignore[union-attr]

    def _fail(self, status: int) -> None:
        """A request that cannot be read: answer `status` and close, as http.server does."""
        self.closing = True
        if self.transport is not None:
            self._send("GET", Response(status, b""), keep=False)
            self.transport.close()

    def _reset(self) -> None:
        self.closing = True
        sock = self.transport.get_extra_info("socket") if self.transport else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if self.transport is not None:
            self.transport.abort()


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes, int] | None | bool:
    """A chunked body from `start`: (body, end offset), None when incomplete, False when malformed."""
    chunks, pos = [], start
    while True:
        eol = buffer.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(bytes(buffer[pos:eol]).split(b";", 1)[0].strip() or b"x", 16)
        except ValueError:
            return False
        pos = eol + 2
        if size == 0:  # trailers, up to the blank line
            while True:
                eol = buffer.find(b"\r\n", pos)
                if eol < 0:
                    return None
                if eol == pos:
                    return b"".join(chunks), eol + 2
                pos = eol + 2
        if len(buffer) < pos + size + 2:
            return None
        chunks.append(bytes(buffer[pos:pos + size]))
        pos += size + 2


async def _serve(settings: dict) -> None:
    child = _Child(settings)
    loop = asyncio.get_running_loop()
    ports, servers = [], []
    for index, address in enumerate(settings["addresses"]):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, 0))
        sock.listen(128)
        sock.setblocking(False)
        servers.append(await loop.create_server(lambda i=index: _Connection(child, i), sock=sock))
        ports.append(sock.getsockname()[1])
    _reply({"ports": ports, "pid": os.getpid(), "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "nice": os.getpriority(os.PRIO_PROCESS, 0)})

    done = loop.create_future()
    pending = bytearray()
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)

    def command() -> None:
        try:
            data = os.read(stdin, 65536)
        except BlockingIOError:
            return
        if not data:  # the farm closed our input: stop
            if not done.done():
                done.set_result(None)
            return
        pending.extend(data)
        while b"\n" in pending:
            line, _, rest = bytes(pending).partition(b"\n")
            pending[:] = rest
            word = line.decode().strip()
            if word == "stats":
                _reply(child.stats())
            elif word == "reset":
                child.reset()
                _reply({"reset": True})

    loop.add_reader(stdin, command)
    await done
    loop.remove_reader(stdin)
    for server in servers:
        server.close()


def _reply(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _child_main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the farm, which stops its processes itself
    raise_fd_limit()
    settings = json.loads(sys.stdin.readline())
    if settings.get("nice") is not None:
        with contextlib.suppress(OSError):  # a nice value below the current one needs root (or CAP_SYS_NICE)
            os.setpriority(os.PRIO_PROCESS, 0, settings["nice"])
    for address in set(settings["addresses"]):
        if ipaddress.ip_address(address) not in ipaddress.ip_network("127.0.0.0/8"):
            raise SystemExit(f"stand-ins bind loopback addresses only, not {address!r}")
    asyncio.run(_serve(settings))
    return 0


# ------------------------------------------------------------------------------------------------
# The farm, as the benchmark sees it

@dataclass
class FarmStats:
    """What the farm did so far (since it started, or since `StandinFarm.reset`)."""

    served: list[int]  # complete requests received, per stand-in (in `StandinFarm.urls` order)
    cpu_s: float  # user + system CPU of the farm's processes since they started
    cpu_by_proc: list[float]
    answers: int  # requests answered
    answer_mean_s: float | None  # request complete -> answer written: the injected latency plus the farm's delay
    answer_p50_s: float | None
    answer_p95_s: float | None
    answer_p99_s: float | None
    answer_max_s: float | None
    max_rss_mb: list[float] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.served)


class StandinFarm:
    """N stand-ins served by `procs` event-loop processes; a context manager.

    `behaviours`: one name of `BEHAVIOURS` per stand-in (a sequence of N), or a function of the stand-in's
    index; default all ``ok``. Stand-in i is served by process ``i % procs`` on ``addresses[i % len(addresses)]``.
    `username` / `password` are what an ``ok`` stand-in accepts. `nice`: the farm processes' nice value where the
    system allows it (None: inherited).
    """

    def __init__(self, n: int, latency: float = 0.0, kind: str = "superset",  # noqa: PLR0913
                 addresses: Sequence[str] = DEFAULT_ADDRESSES, procs: int | None = None,
                 behaviours: Sequence[str] | Callable[[int], str] | None = None,
                 username: str = "bench", password: str = "bench-pw", nice: int | None = DEFAULT_NICE) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown stand-in kind {kind!r} (known: {', '.join(KINDS)})")
        for address in addresses:
            if ipaddress.ip_address(address) not in ipaddress.ip_network("127.0.0.0/8"):
                raise ValueError(f"stand-ins bind loopback addresses only (127.0.0.0/8), not {address!r}")
        if callable(behaviours):
            chosen = [behaviours(i) for i in range(n)]
        else:
            chosen = list(behaviours) if behaviours is not None else ["ok"] * n
        if len(chosen) != n:
            raise ValueError(f"{len(chosen)} behaviours for {n} stand-ins")
        unknown = set(chosen) - set(BEHAVIOURS)
        if unknown:
            raise ValueError(f"unknown behaviour(s) {sorted(unknown)} (known: {', '.join(BEHAVIOURS)})")
        self.n, self.latency, self.kind = n, latency, kind
        self.addresses = list(addresses)
        self.procs = max(1, min(procs or os.cpu_count() or 1, max(n, 1)))
        self.behaviours = chosen
        self.username, self.password, self.requested_nice = username, password, nice
        self.urls: list[str] = []
        self.pids: list[int] = []
        self.nice: list[int] = []  # each farm process's nice value (as asked when the system allowed it)
        self._children: list[subprocess.Popen] = []

    def _share(self, p: int) -> range:
        return range(p, self.n, self.procs)

    def start(self) -> StandinFarm:
        raise_fd_limit()
        try:
            for p in range(self.procs):
                share = self._share(p)
                child = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child"], cwd=REPO,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                self._children.append(child)
                settings = {"kind": self.kind, "latency": self.latency, "username": self.username,
                            "password": self.password, "nice": self.requested_nice,
                            "addresses": [self.addresses[i % len(self.addresses)] for i in share],
                            "behaviours": [self.behaviours[i] for i in share]}
                child.stdin.write(json.dumps(settings) + "\n")  # type: ignore[union-attr]
                child.stdin.flush()  # type: ignore[union-attr]
            urls: list[str] = [""] * self.n
            for p, child in enumerate(self._children):
                ready = self._read(child)
                self.pids.append(ready["pid"])
                self.nice.append(ready["nice"])
                for i, port in zip(self._share(p), ready["ports"], strict=True):
                    urls[i] = f"http://{self.addresses[i % len(self.addresses)]}:{port}"
            self.urls = urls
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _read(child: subprocess.Popen) -> dict:
        line = child.stdout.readline()  # type: ignore[union-attr]
        if not line:
            code = child.wait(5)
            raise RuntimeError(f"stand-in process {child.pid} ended (exit {code}) before answering")
        return json.loads(line)

    def _ask(self, word: str) -> list[dict]:
        for child in self._children:
            child.stdin.write(word + "\n")  # type: ignore[union-attr]
            child.stdin.flush()  # type: ignore[union-attr]
        return [self._read(child) for child in self._children]

    def stats(self) -> FarmStats:
        """Requests served per stand-in, answer times and CPU, asked of every farm process now."""
        replies = self._ask("stats")
        served = [0] * self.n
        for p, reply in enumerate(replies):
            for i, count in zip(self._share(p), reply["served"], strict=True):
                served[i] = count
        answers = sum(r["answers"] for r in replies)

        def worst(key: str) -> float | None:  # percentiles: the slowest process's (the farm is as slow as it)
            values = [r[key] for r in replies if r[key] is not None]
            return max(values) if values else None

        mean = sum(r["answer_mean_s"] * r["answers"] for r in replies if r["answers"]) / answers if answers else None
        return FarmStats(served=served, cpu_s=sum(r["cpu_s"] for r in replies),
                         cpu_by_proc=[r["cpu_s"] for r in replies], answers=answers, answer_mean_s=mean,
                         answer_p50_s=worst("answer_p50_s"), answer_p95_s=worst("answer_p95_s"),
                         answer_p99_s=worst("answer_p99_s"), answer_max_s=worst("answer_max_s"),
                         max_rss_mb=[r["max_rss_mb"] for r in replies])

    def reset(self) -> None:
        """Zero the request counts and answer-time samples (CPU keeps counting from the start)."""
        self._ask("reset")

    def stop(self) -> None:
        for child in self._children:
            with contextlib.suppress(OSError, ValueError):
                child.stdin.close()  # type: ignore[union-attr]
        for child in self._children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            with contextlib.suppress(OSError, ValueError):
                child.stdout.close()  # type: ignore[union-attr]
        self._children = []

    def __enter__(self) -> StandinFarm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", action="store_true", help="run as one farm process (settings on stdin)")
    parser.add_argument("-n", type=int, default=4, help="serve N Superset stand-ins until Ctrl-C (default 4)")
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)
    if args.child:
        return _child_main()
    with StandinFarm(args.n, args.latency) as farm:
        for url in farm.urls:
            print(url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
