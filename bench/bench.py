"""Benchmarks of scanner at scale. Everything runs on 127.0.0.1; the script prints figures.

    python bench/bench.py probe      # N Superset stand-ins with latency per request, one scan
    python bench/bench.py scale      # the probe scan at 1k, 2k, 5k and 10k targets: the scaling table (issue 17)
    python bench/bench.py hang       # N targets that accept a connection and never answer
    python bench/bench.py register   # N services registered into a catalog stand-in with latency
    python bench/bench.py startup    # `scanner --help` wall time, and peak RSS of a big scan
    python bench/bench.py mask       # masking N distinct secrets against one shared secret (issue 12)
    python bench/bench.py sweep      # host sweep of 127.0.0.0/22 x 8 ports, a few dozen listeners (issue 15)
    python bench/bench.py all        # the four, with the figures issue 6 asks for

The Superset stand-ins of `probe` and `scale` are a `standins.StandinFarm`: one event-loop process per core, each
listening on its share of the ports over 127.0.0.1-127.0.0.8, so thousands of them cost less CPU than the scanner
they measure; their CPU is reported beside scanner's, and a run where they (or the catalog stand-in, threads in
this process) may have set the pace prints "harness-bound: no figure" instead of a ratio. The other stand-ins run
in this process (threads). `scanner scan` runs as a child process, exactly as a user runs it, with only the
environment built here. Its peak RSS comes from wait4() on that child.
See docs/benchmarks.md for the figures measured on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import resource
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scanner.discovery.hosts import DEFAULT_RATE  # noqa: E402
from scanner.testing.fake_openmetadata import FakeOpenMetadata  # noqa: E402
from scanner.testing.server import LocalServer, Response  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from standins import DEFAULT_NICE, FarmStats, StandinFarm, raise_fd_limit  # noqa: E402

BOT_TOKEN = "bench-bot-token"


@dataclass
class Child:
    code: int
    wall: float
    max_rss_mb: float
    cpu_s: float
    stdout: str
    stderr: str


def run_scanner(args: list[str], env: dict[str, str], cwd: Path, profile: str | None = None) -> Child:
    """Run `python -m scanner ARGS` and measure its wall time and its own peak RSS. `profile`: a file to write a
    py-spy profile of it to (speedscope format, every thread, GIL holders only): the figures of such a run are
    py-spy's and its child's, not scanner's alone."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    base.update(NO_COLOR="1", SCANNER_INVENTORY=str(cwd / "inventory.sqlite3"))
    command = [sys.executable, "-m", "scanner", *args]
    if profile:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(spy).exists():
            sys.exit("--profile needs py-spy (python -m pip install py-spy)")
        command = [spy, "record", "--gil", "--nonblocking", "--threads", "--format", "speedscope", "--rate", "100",
                   "-o", str(Path(profile).resolve()), "--", *command]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        proc = subprocess.Popen(command, env={**base, **env}, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        if profile:  # py-spy's own lines come first on the same stdout
            stdout = "".join(line for line in stdout.splitlines(True) if not line.startswith("py-spy> "))
        return Child(proc.returncode, wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime,
                     stdout, err.read())


def report(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n== {title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


def check(child: Child) -> dict:
    try:
        return json.loads(child.stdout)
    except ValueError:
        sys.exit(f"scanner failed (exit {child.code}): {child.stderr.strip()[-500:]}")


# ------------------------------------------------------------------------------------------------
HARNESS_CPU_SHARE = 0.8   # a farm process (or the catalog's process) busier than this per wall-second is suspect
HARNESS_LATENCY_SLACK = 1.2  # answers slower than this times the injected latency: the farm is late


@dataclass
class Harness:
    """What the stand-ins cost during one scan, and whether they, not scanner, may have set the pace."""

    farm_cpu_s: float
    farm_cpu_by_proc: list[float]
    catalog_cpu_s: float  # this process's CPU during the scan: the catalog stand-in's threads
    answer_mean_s: float | None
    answer_p99_s: float | None
    farm_rss_mb: float
    bound_by: list[str]  # why the harness may be the bottleneck; empty when it is not

    @property
    def cpu_s(self) -> float:
        return self.farm_cpu_s + self.catalog_cpu_s


def harness_verdict(before: FarmStats, after: FarmStats, catalog_cpu_s: float, wall: float,
                    latency: float) -> Harness:
    """The harness is the bottleneck when a farm process or the catalog's process used more than
    `HARNESS_CPU_SHARE` of a core per wall-second, or when the farm's answers (request complete -> answer sent)
    took more than `HARNESS_LATENCY_SLACK` times the injected latency on average."""
    by_proc = [a - b for a, b in zip(after.cpu_by_proc, before.cpu_by_proc, strict=True)]
    bound = [f"farm process {p} used {cpu / wall:.2f} of a core" for p, cpu in enumerate(by_proc)
             if cpu / wall > HARNESS_CPU_SHARE]
    if catalog_cpu_s / wall > HARNESS_CPU_SHARE:
        bound.append(f"the catalog stand-in used {catalog_cpu_s / wall:.2f} of a core")
    mean = after.answer_mean_s
    if latency > 0 and mean is not None and mean > HARNESS_LATENCY_SLACK * latency:
        bound.append(f"the farm answered in {mean * 1000:.0f} ms on average for {latency * 1000:g} ms injected")
    return Harness(sum(by_proc), by_proc, catalog_cpu_s, mean, after.answer_p99_s, max(after.max_rss_mb), bound)


def superset_config(urls: list[str], path: Path) -> None:
    """A TOML declaring one Superset target per URL (the password from ${BENCH_PW})."""
    with open(path, "w") as fh:
        for i, url in enumerate(urls):
            fh.write(f'[[targets]]\nplatform = "superset"\ninstance = "t{i}"\nurl = "{url}"\nusername = "bench"\n'
                     'password = "${BENCH_PW}"\n\n')


def bench_probe(n: int, latency: float, concurrency: int, catalog: str = "put",  # noqa: PLR0913
                procs: int | None = None, profile: str | None = None, quiet: bool = False,
                nice: int | None = DEFAULT_NICE) -> dict:
    """N Superset stand-ins (a `StandinFarm`: one event-loop process per core) answering every request after
    `latency`; one full scan probes them and, unless `catalog` is "none", registers them in a catalog stand-in
    ("put": one PUT per service, "bulk": the catalog has /bulk)."""
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        farm = stack.enter_context(StandinFarm(n, latency, procs=procs, nice=nice))
        env = {"BENCH_PW": "bench-pw"}
        if catalog != "none":
            om = stack.enter_context(FakeOpenMetadata(bot_token=BOT_TOKEN, bulk=catalog == "bulk"))
            env.update(OPENMETADATA_HOST=om.url, OPENMETADATA_JWT_TOKEN=BOT_TOKEN)
        superset_config(farm.urls, Path(tmp) / "config.toml")
        before, self_before = farm.stats(), resource.getrusage(resource.RUSAGE_SELF)
        child = run_scanner(["scan", "--output", "json", "--concurrency", str(concurrency)], env, Path(tmp),
                            profile=profile)
        after, self_after = farm.stats(), resource.getrusage(resource.RUSAGE_SELF)
        doc = check(child)
        stored = len(om.services) if catalog != "none" else None
        farm_nice = sorted(set(farm.nice))
    catalog_cpu = (self_after.ru_utime + self_after.ru_stime) - (self_before.ru_utime + self_before.ru_stime)
    harness = harness_verdict(before, after, catalog_cpu, child.wall, latency)
    round_trips = statistics.median(after.served)
    ok = sum(1 for t in doc["targets"] if t["status"] == "ok" and (catalog == "none" or t["taken"] == "created"))
    ideal = latency * round_trips * math.ceil(n / concurrency)
    sequential = sum(t["duration_ms"] for t in doc["targets"]) / 1000
    run_s = doc["run"]["duration_ms"] / 1000
    ratio = None if harness.bound_by else round(child.wall / ideal, 2)
    figures = {"targets": n, "ok": ok, "catalog": catalog, "stored": stored, "latency_s": latency,
               "round_trips": round_trips, "concurrency": concurrency, "wall_s": round(child.wall, 2),
               "run_s": round(run_s, 2), "ideal_s": round(ideal, 2), "ratio": ratio,
               "sequential_s": round(sequential, 1), "speedup": round(sequential / child.wall, 1),
               "max_rss_mb": round(child.max_rss_mb, 1), "scanner_cpu_s": round(child.cpu_s, 2),
               "farm_procs": len(harness.farm_cpu_by_proc), "farm_cpu_s": round(harness.farm_cpu_s, 2),
               "catalog_cpu_s": round(harness.catalog_cpu_s, 2), "harness_cpu_s": round(harness.cpu_s, 2),
               "answer_mean_ms": harness.answer_mean_s and round(harness.answer_mean_s * 1000, 1),
               "answer_p99_ms": harness.answer_p99_s and round(harness.answer_p99_s * 1000, 1),
               "farm_rss_mb": round(harness.farm_rss_mb, 1), "farm_nice": farm_nice, "harness_bound": harness.bound_by,
               "profiled": bool(profile)}
    if quiet:
        return figures
    registered = {"none": "not registered (no catalog)", "put": "registered, one PUT each",
                  "bulk": "registered through /bulk"}[catalog]
    if stored is not None:
        registered += f", {stored} stored"
    report(f"probe: {n} Superset stand-ins, {latency * 1000:g} ms per request, concurrency {concurrency}", [
        ("probed ok" + ("" if catalog == "none" else " and registered"), f"{ok}/{n} ({registered})"),
        ("round trips per target", f"{round_trips:g} (requests one stand-in answered)"),
        ("wall (whole command)", f"{child.wall:.2f} s   (run itself: {run_s:.2f} s)"),
        ("ideal", f"{ideal:.2f} s = {latency:g} s x {round_trips:g} x ceil({n}/{concurrency})"),
        ("wall / ideal", (f"{child.wall / ideal:.2f}   (target <= 1.5)" if ratio is not None else
                          "harness-bound: no figure (" + "; ".join(harness.bound_by) + ")")),
        ("one at a time", f"{sequential:.1f} s (sum of the per-target probe times)"),
        ("speed-up", f"{sequential / child.wall:.1f}x   (target >= 20x)"),
        ("peak RSS of scanner", f"{child.max_rss_mb:.0f} MB" + ("   (py-spy's, profiled run)" if profile else "")),
        ("CPU of scanner", f"{child.cpu_s:.1f} s (user + system)"),
        ("CPU of the harness", f"{harness.cpu_s:.1f} s: farm {harness.farm_cpu_s:.1f} s over "
                               f"{len(harness.farm_cpu_by_proc)} process(es) "
                               f"({', '.join(f'{c / child.wall:.2f}' for c in harness.farm_cpu_by_proc)} of a core), "
                               f"catalog {harness.catalog_cpu_s:.1f} s"),
        ("farm answer time", f"mean {figures['answer_mean_ms']} ms, p99 {figures['answer_p99_ms']} ms "
                             f"(injected {latency * 1000:g} ms); farm nice {', '.join(map(str, farm_nice))}, "
                             f"peak RSS {harness.farm_rss_mb:.0f} MB per process"),
    ])
    return figures


SCALE_SIZES = (1000, 2000, 5000, 10_000)


def bench_scale(sizes: list[int], latency: float, concurrency: int, catalog: str,  # noqa: PLR0913
                procs: int | None, nice: int | None = DEFAULT_NICE) -> dict:
    """The probe scenario at each size, one after the other; prints the scaling table (markdown)."""
    rows = []
    for n in sizes:
        print(f"  ... {n} targets", file=sys.stderr, flush=True)
        rows.append(bench_probe(n, latency, concurrency, catalog, procs=procs, quiet=True, nice=nice))
    what = {"none": "probed only (no catalog)", "put": "probed and registered (catalog stand-in, one PUT each)",
            "bulk": "probed and registered (catalog stand-in with /bulk)"}[catalog]
    nice = sorted({v for r in rows for v in r["farm_nice"]})
    print(f"\n== scale: Superset stand-ins, {latency * 1000:g} ms per request, concurrency {concurrency}, {what}; "
          f"{rows[0]['farm_procs'] if rows else 0} farm processes (nice {', '.join(map(str, nice))})\n")
    print("| targets | ok | wall | ideal | wall / ideal | scanner CPU | harness CPU (farm + catalog) | "
          "farm answer (mean / p99) | scanner peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"**{r['ratio']:.2f}**" if r["ratio"] is not None else "harness-bound: no figure"
        print(f"| {r['targets']:,} | {r['ok']:,} | {r['wall_s']:.1f} s | {r['ideal_s']:.1f} s | {ratio} | "
              f"{r['scanner_cpu_s']:.1f} s | {r['harness_cpu_s']:.1f} s ({r['farm_cpu_s']:.1f} + "
              f"{r['catalog_cpu_s']:.1f}) | {r['answer_mean_ms']} / {r['answer_p99_ms']} ms | "
              f"{r['max_rss_mb']:.0f} MB |")
    for r in rows:
        if r["harness_bound"]:
            print(f"\n{r['targets']:,} targets: harness-bound: " + "; ".join(r["harness_bound"]))
    return {str(r["targets"]): r for r in rows}


def bench_hang(n: int, timeout: float, concurrency: int) -> dict:
    """N listening sockets that never accept: the kernel completes the handshake, nobody answers."""
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        urls = []
        for _ in range(n):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            sock.listen(8)
            urls.append(f"http://127.0.0.1:{sock.getsockname()[1]}")
        config = "\n".join(f'[[targets]]\nplatform = "custom"\ninstance = "h{i}"\nurl = "{u}"\n'
                           for i, u in enumerate(urls))
        (Path(tmp) / "config.toml").write_text(config)
        child = run_scanner(["scan", "--output", "json", "--concurrency", str(concurrency), "--timeout", str(timeout),
                             "--target-deadline", str(timeout)], {}, Path(tmp))
        doc = check(child)
    statuses = {t["status"] for t in doc["targets"]}
    bound = math.ceil(n / concurrency) * timeout + 2
    figures = {"targets": n, "timeout_s": timeout, "concurrency": concurrency, "statuses": sorted(statuses),
               "wall_s": round(child.wall, 2), "bound_s": bound, "max_rss_mb": round(child.max_rss_mb, 1)}
    report(f"hang: {n} targets that never answer, timeout {timeout:g} s, concurrency {concurrency}", [
        ("statuses", ", ".join(sorted(statuses))),
        ("wall (whole command)", f"{child.wall:.2f} s"),
        ("bound", f"{bound:g} s = ceil({n}/{concurrency}) x {timeout:g} s + 2 s"),
        ("within bound", "yes" if child.wall <= bound else "NO"),
    ])
    return figures


def bench_register(n: int, latency: float, catalog_concurrency: int, concurrency: int) -> dict:  # noqa: PLR0913
    """N custom targets (one request each, answered at once by a `StandinFarm`) registered into a catalog stand-in
    answering after `latency` (threads in this process: its CPU is reported as the harness's)."""
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        catalog = stack.enter_context(FakeOpenMetadata(bot_token=BOT_TOKEN, latency=latency))
        farm = stack.enter_context(StandinFarm(max(1, n // 25), 0.0))
        blocks = [f"[catalog]\nconcurrency = {catalog_concurrency}\n"]
        blocks += [f'[[targets]]\nplatform = "custom"\ninstance = "s{i}"\nurl = "{farm.urls[i % len(farm.urls)]}/{i}"\n'
                   for i in range(n)]
        (Path(tmp) / "config.toml").write_text("\n".join(blocks))
        env = {"OPENMETADATA_HOST": catalog.url, "OPENMETADATA_JWT_TOKEN": BOT_TOKEN}
        before, self_before = farm.stats(), resource.getrusage(resource.RUSAGE_SELF)
        child = run_scanner(["scan", "--output", "json", "--concurrency", str(concurrency)], env, Path(tmp))
        after, self_after = farm.stats(), resource.getrusage(resource.RUSAGE_SELF)
        doc = check(child)
        calls = {(r.method, r.path.split("/")[-1] if r.path.endswith("bulk") else "") for r in catalog.requests}
        puts = len([r for r in catalog.requests if r.method == "PUT" and not r.path.endswith("/bulk")])
        stored = len(catalog.services)
    catalog_cpu = (self_after.ru_utime + self_after.ru_stime) - (self_before.ru_utime + self_before.ru_stime)
    harness = harness_verdict(before, after, catalog_cpu, child.wall, 0.0)
    created = sum(1 for t in doc["targets"] if t["taken"] == "created")
    # sequential round trips: the version call, the look-ups (one count + list pages, or one GET per target
    # at scan concurrency), the one /bulk probe (405), then the PUTs at catalog concurrency
    lookups = len([r for r in catalog.requests if r.method == "GET" and "/dashboardServices" in r.path])
    lookup_rounds = lookups if lookups <= 1 + math.ceil(n / 500) else math.ceil(lookups / concurrency)
    ideal = latency * (1 + lookup_rounds + (1 if ("PUT", "bulk") in calls else 0) + math.ceil(n / catalog_concurrency))
    ratio = None if harness.bound_by else round(child.wall / ideal, 2)
    figures = {"services": n, "latency_s": latency, "catalog_concurrency": catalog_concurrency,
               "scan_concurrency": concurrency, "created": created, "puts": puts, "stored": stored,
               "wall_s": round(child.wall, 2), "ideal_s": round(ideal, 2), "ratio": ratio,
               "run_s": round(doc["run"]["duration_ms"] / 1000, 2), "scanner_cpu_s": round(child.cpu_s, 2),
               "catalog_cpu_s": round(catalog_cpu, 2), "farm_cpu_s": round(harness.farm_cpu_s, 2),
               "harness_bound": harness.bound_by}
    report(f"register: {n} services, catalog latency {latency * 1000:g} ms, catalog concurrency "
           f"{catalog_concurrency}", [
        ("created / PUTs sent / stored", f"{created} / {puts} / {stored}   (no duplicate: all three equal)"),
        ("wall (whole command)", f"{child.wall:.2f} s"),
        ("ideal", f"{ideal:.2f} s = {latency:g} s x (1 version + {lookup_rounds} look-up round(s) + 1 bulk probe "
                  f"+ ceil({n}/{catalog_concurrency}) PUTs)"),
        ("wall / ideal", (f"{child.wall / ideal:.2f}   (target <= 1.5)" if ratio is not None else
                          "harness-bound: no figure (" + "; ".join(harness.bound_by) + ")")),
        ("run itself", f"{doc['run']['duration_ms'] / 1000:.2f} s"),
        ("CPU of scanner", f"{child.cpu_s:.1f} s (user + system)"),
        ("CPU of the harness", f"catalog stand-in {catalog_cpu:.1f} s ({catalog_cpu / child.wall:.2f} of a core), "
                               f"target stand-ins {harness.farm_cpu_s:.1f} s"),
    ])
    return figures


def bench_startup(rss_targets: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        helps = sorted(run_scanner(["--help"], {}, Path(tmp)).wall for _ in range(7))
        plugins = sorted(run_scanner(["plugins"], {}, Path(tmp)).wall for _ in range(3))
    figures = {"help_median_s": round(statistics.median(helps), 3), "help_max_s": round(helps[-1], 3),
               "plugins_median_s": round(statistics.median(plugins), 3)}
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        catalog = stack.enter_context(FakeOpenMetadata(bot_token=BOT_TOKEN))
        servers = [stack.enter_context(LocalServer(lambda r: Response(200, b"ok" * 500))) for _ in range(40)]
        config = "\n".join(f'[[targets]]\nplatform = "custom"\ninstance = "r{i}"\nurl = "{servers[i % 40].url}/{i}"\n'
                           for i in range(rss_targets))
        (Path(tmp) / "config.toml").write_text(config)
        env = {"OPENMETADATA_HOST": catalog.url, "OPENMETADATA_JWT_TOKEN": BOT_TOKEN}
        child = run_scanner(["scan", "--output", "json", "--concurrency", "64"], env, Path(tmp))
        doc = check(child)
    figures.update(rss_targets=rss_targets, rss_mb=round(child.max_rss_mb, 1), rss_wall_s=round(child.wall, 2),
                   rss_created=sum(1 for t in doc["targets"] if t["taken"] == "created"))
    report("startup and memory", [
        ("scanner --help", f"median {figures['help_median_s']:.3f} s, max {figures['help_max_s']:.3f} s over 7 runs "
                           "(target < 0.3 s)"),
        ("scanner plugins", f"median {figures['plugins_median_s']:.3f} s over 3 runs"),
        (f"peak RSS, {rss_targets}-target scan", f"{child.max_rss_mb:.0f} MB (target < 200 MB); "
                                                 f"{figures['rss_created']} registered in {child.wall:.1f} s"),
    ])
    return figures


_MASK_CHILD = """
import json, sys, time
from scanner import secrets
n, shared = int(sys.argv[1]), sys.argv[2] == "shared"
values = [f"pw-{i:06d}-{i * 7919 % 100003:06d}" for i in range(n)]
for value in values:
    secrets.register(values[0] if shared else value)
texts = [f"superset_{i}: CheckAccess: login refused (400): password {values[i % n]} is not allowed, "
         f"{json.dumps(values[-1 - i % n])}" for i in range(5 * n)]
start = time.perf_counter()
for text in texts:
    secrets.redact(text)
print(time.perf_counter() - start)
"""


def bench_mask(n: int) -> dict:
    """Mask 5*N messages with N distinct registered secrets, and with one shared one (a child each: the
    registry of secrets is process-wide)."""
    figures = {}
    for kind in ("shared", "distinct"):
        proc = subprocess.run([sys.executable, "-c", _MASK_CHILD, str(n), kind], capture_output=True, text=True,
                              check=True, cwd=REPO)
        figures[f"{kind}_s"] = round(float(proc.stdout), 3)
    report(f"mask: {5 * n} messages, {n} secrets", [(k, f"{v:.3f} s") for k, v in figures.items()])
    return figures


def bench_toml(n: int) -> dict:
    """A TOML of N targets (about 147 bytes each, one ${VAR} secret each) through the real `scanner scan
    --output json`, with a run deadline that has passed before the first probe: the cost of reading, checking,
    planning and reporting N targets, and the memory they hold (each ends as a "run deadline reached" item)."""
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        with open(cwd / "config.toml", "w") as fh:
            for i in range(n):
                fh.write(f'[[targets]]\nplatform = "superset"\ninstance = "inst{i}"\n'
                         f'url = "http://127.0.0.1:{1024 + i % 60000}/path{i}"\nusername = "admin"\n'
                         'password = "${BENCH_PW}"\n\n')
        size_mb = (cwd / "config.toml").stat().st_size / 2**20
        child = run_scanner(["scan", "--config", "config.toml", "--output", "json", "--run-deadline", "0.001",
                             "--no-inventory", "--platform", "superset"], {"BENCH_PW": "bench-pw"}, cwd)
        doc = check(child)
    figures = {"targets": len(doc["targets"]), "toml_mb": round(size_mb, 1), "wall_s": round(child.wall, 2),
               "cpu_s": round(child.cpu_s, 2), "max_rss_mb": round(child.max_rss_mb, 1),
               "kb_per_target": round(child.max_rss_mb * 1024 / max(n, 1), 2)}
    report(f"toml: {n} targets from a {size_mb:.1f} MB TOML", [(k, str(v)) for k, v in figures.items()])
    return figures


# ------------------------------------------------------------------------------------------------
SWEEP_PORTS = (80, 443, 3000, 5000, 8080, 8088, 9999, 19999)  # the union of the built-in plugins' ports
_SWEEP_CHILD = """
import json, socket, sys, time
from scanner.discovery.hosts import plan_sweep
from scanner.discovery.sweep import sweep
args = json.loads(sys.argv[1])
started = time.monotonic()
plan = plan_sweep(args["table"], where="bench.toml:[discovery]", default_ports=[])
planned = time.monotonic() - started
if args["mode"] == "engine":  # at the table's rate (the default when it sets none), or with no limit at all
    result = sweep(plan.pairs(), concurrency=args["concurrency"], connect_timeout=args["timeout"],
                   rate=None if args["unlimited"] else plan.rate, deadline=args["deadline"])
    out = {"open": result.open, "stats": result.stats.__dict__, "errors": result.errors}
else:  # one blocking connect at a time, the same pairs
    counts = {"open": 0, "refused": 0, "timed_out": 0, "failed": 0}
    opened = []
    begun = time.monotonic()
    for address, port in plan.pairs():
        sock = socket.socket()
        sock.settimeout(args["timeout"])
        try:
            sock.connect((address, port))
            counts["open"] += 1
            opened.append((address, port))
        except ConnectionRefusedError:
            counts["refused"] += 1
        except TimeoutError:
            counts["timed_out"] += 1
        except OSError:
            counts["failed"] += 1
        finally:
            sock.close()
    elapsed = time.monotonic() - begun
    out = {"open": opened, "stats": {**counts, "attempted": sum(counts.values()), "elapsed_s": elapsed}}
out["plan_s"] = planned
try:  # this process's own high-water mark (wait4's ru_maxrss also counts the parent's image it was forked from)
    out["vm_hwm_mb"] = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
except (OSError, IndexError, ValueError):
    out["vm_hwm_mb"] = None
print(json.dumps(out))
"""


class SweepListeners:
    """Listeners on 127.x addresses, served by one selector thread: `answer` ones accept and send an HTTP answer,
    `silent` ones accept and never answer (holding the connection), `backlog` ones are never accepted from (the
    kernel completes the handshake), `filtered` ones have a full accept queue (their SYNs are dropped)."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.kinds: dict[tuple[str, int], str] = {}
        self.selector = selectors.DefaultSelector()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def add(self, address: str, port: int, kind: str) -> bool:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            sock.close()
            return False
        sock.listen(0 if kind == "filtered" else 128)
        self.sockets.append(sock)
        pair = (address, sock.getsockname()[1])
        self.kinds[pair] = kind
        if kind == "filtered":
            self.sockets.append(socket.create_connection(pair, timeout=2))  # fills the accept queue
        elif kind in ("answer", "silent"):
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ, kind)
        return True

    def _serve(self) -> None:
        while not self.stop.is_set():
            for key, _ in self.selector.select(0.05):
                try:
                    conn, _ = key.fileobj.accept()
                except OSError:
                    continue
                if key.data == "answer":
                    with contextlib.suppress(OSError):
                        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    conn.close()
                else:
                    self.sockets.append(conn)  # silent: held open, never answered

    def __enter__(self) -> SweepListeners:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(2)
        for sock in self.sockets:
            sock.close()
        self.selector.close()


def _sweep_child(mode: str, table: dict, **options) -> tuple[dict, Child]:
    args = json.dumps({"mode": mode, "table": table, **options})
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", _SWEEP_CHILD, args], cwd=REPO, stdout=out, stderr=err,
                                text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        child = Child(os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss / 1024,
                      usage.ru_utime + usage.ru_stime, out.read(), err.read())
    if child.code != 0:
        sys.exit(f"sweep child failed (exit {child.code}): {child.stderr.strip()[-800:]}")
    return json.loads(child.stdout), child


def bench_sweep(n_listeners: int, rate: float, concurrency: int, filtered: int) -> dict:  # noqa: PLR0915
    """127.0.0.0/22 x 8 ports swept by scanner's engine in a child process (its own peak RSS from wait4), with
    `n_listeners` listeners among them (a third answer, a third accept and never answer, a third are never
    accepted from); then the same pairs one blocking connect at a time; then `filtered` ports that drop SYNs,
    swept both ways, to show what concurrency buys when connects wait."""
    picker = random.Random(15)
    table = {"hosts": ["127.0.0.0/22"], "ports": list(SWEEP_PORTS), "max_candidates": 1024 * len(SWEEP_PORTS)}
    timeout = 1.0
    with SweepListeners() as listeners:
        kinds = ("answer", "silent", "backlog")
        while len(listeners.kinds) < n_listeners:
            address = f"127.0.{picker.randrange(4)}.{picker.randrange(2, 255)}"
            listeners.add(address, picker.choice(SWEEP_PORTS), kinds[len(listeners.kinds) % 3])
        ours = set(listeners.kinds)
        configs = [(f"rate {DEFAULT_RATE:,.0f}/s (the default)", "default", table, False)]
        if rate and rate != DEFAULT_RATE:
            configs.append((f"rate {rate:,.0f}/s", f"rate_{rate:.0f}", {**table, "rate": rate}, False))
        configs.append(("no rate limit", "no_rate_limit", table, True))
        runs = {}
        for label, key, run_table, unlimited in configs:
            runs[label] = (key, *_sweep_child("engine", run_table, concurrency=concurrency, timeout=timeout,
                                              unlimited=unlimited, deadline=60))
        sequential, seq_child = _sweep_child("sequential", table, timeout=timeout)
        filtered_figures = {}
        if filtered:
            for i in range(filtered):
                listeners.add(f"127.0.8.{i + 1}", 0, "filtered")
            hosts = [f"127.0.8.{i + 1}" for i in range(filtered)]
            ports = sorted({p for (a, p), k in listeners.kinds.items() if k == "filtered"})
            # each filtered listener's own port on its own address; the other (address, port) pairs refuse
            f_table = {"hosts": hosts, "ports": ports, "max_candidates": len(hosts) * len(ports)}
            f_timeout = 0.25
            f_engine, _ = _sweep_child("engine", f_table, concurrency=concurrency, timeout=f_timeout,
                                       unlimited=True, deadline=60)
            f_seq, _ = _sweep_child("sequential", f_table, timeout=f_timeout)
            filtered_figures = {
                "filtered_ports": filtered, "filtered_pairs": f_engine["stats"]["attempted"],
                "filtered_timeout_s": f_timeout,
                "filtered_engine_s": round(f_engine["stats"]["elapsed_s"], 3),
                "filtered_engine_timed_out": f_engine["stats"]["timed_out"],
                "filtered_sequential_s": round(f_seq["stats"]["elapsed_s"], 3),
                "filtered_sequential_timed_out": f_seq["stats"]["timed_out"],
            }

    figures: dict = {"candidates": 1024 * len(SWEEP_PORTS), "listeners": len(ours),
                     "listener_kinds": {k: sum(1 for v in listeners.kinds.values() if v == k) for k in kinds},
                     "concurrency": concurrency, "connect_timeout_s": timeout}
    rows: list[tuple[str, str]] = [
        ("candidates", f"{figures['candidates']:,} = 1,024 addresses (127.0.0.0/22) x {len(SWEEP_PORTS)} ports "
                       f"{SWEEP_PORTS}"),
        ("listeners", f"{len(ours)}: " + ", ".join(f"{v} {k}" for k, v in figures["listener_kinds"].items())
                      + " (answer / accept and never answer / never accepted from)"),
    ]
    for label, (key, doc, child) in runs.items():
        stats = doc["stats"]
        found = {tuple(p) for p in doc["open"]}
        closed = stats["refused"]
        figures[key] = {
            "open_found": len(found), "missed": len(ours - found), "not_ours": len(found - ours),
            "refused": closed, "timed_out": stats["timed_out"], "failed": stats["failed"],
            "sweep_s": round(stats["elapsed_s"], 3), "per_second": round(stats["attempted"] / stats["elapsed_s"]),
            "closed_per_second": round(closed / stats["elapsed_s"]), "plan_s": round(doc["plan_s"], 3),
            "child_wall_s": round(child.wall, 3), "cpu_s": round(child.cpu_s, 3),
            "max_rss_mb": round(child.max_rss_mb, 1), "vm_hwm_mb": doc["vm_hwm_mb"] and round(doc["vm_hwm_mb"], 1),
            "concurrency_used": stats["concurrency"],
        }
        f = figures[key]
        rows += [
            (f"[{label}] open found", f"{f['open_found']} (listeners {len(ours)}; missed {f['missed']}, not ours "
                                      f"{f['not_ours']}) {'OK' if f['missed'] == f['not_ours'] == 0 else 'MISMATCH'}"),
            (f"[{label}] closed / timed out / failed", f"{f['refused']:,} / {f['timed_out']} / {f['failed']}"),
            (f"[{label}] sweep", f"{f['sweep_s']:.3f} s; {f['per_second']:,} candidates/s, {f['closed_per_second']:,}"
                                 " closed/s (target >= 5,000; whole sweep <= 5 s)"),
            (f"[{label}] child", f"wall {f['child_wall_s']:.2f} s (start-up and plan included), CPU {f['cpu_s']:.2f} s,"
                                 f" peak RSS {f['max_rss_mb']:.0f} MB by wait4, {f['vm_hwm_mb']} MB by its own VmHWM "
                                 "(target < 150 MB)"),
        ]
    seq = sequential["stats"]
    seq_found = {tuple(p) for p in sequential["open"]}
    figures["sequential"] = {"open_found": len(seq_found), "missed": len(ours - seq_found),
                             "sweep_s": round(seq["elapsed_s"], 3),
                             "per_second": round(seq["attempted"] / seq["elapsed_s"]),
                             "cpu_s": round(seq_child.cpu_s, 3)}
    rows.append(("one at a time (blocking)", f"{seq['elapsed_s']:.3f} s for {seq['attempted']:,} "
                                             f"({figures['sequential']['per_second']:,}/s), open {len(seq_found)}"))
    if filtered_figures:
        figures.update(filtered_figures)
        ff = filtered_figures
        rows += [
            ("filtered ports (SYNs dropped)", f"{ff['filtered_pairs']} pairs ({filtered} of them drop SYNs), connect "
                                              f"timeout {ff['filtered_timeout_s']} s"),
            ("  engine", f"{ff['filtered_engine_s']:.2f} s ({ff['filtered_engine_timed_out']} timed out)"),
            ("  one at a time", f"{ff['filtered_sequential_s']:.2f} s ({ff['filtered_sequential_timed_out']} timed "
                                f"out) = {filtered} x {ff['filtered_timeout_s']} s"),
        ]
    report("sweep: 127.0.0.0/22 x 8 ports, scanner's connect-scan engine in a child process", rows)
    return figures


DISCOVER_PORTS = (18080, 18088, 13000, 15000, 19999, 18443, 12080, 14000)  # 8 ports, free of real services here


def bench_discover(per_platform: int, hung: int, rate: float) -> dict:
    """The issue's sweep: 127.0.0.0/22 x 8 ports through the real `scanner discover` (a child), with `per_platform`
    stand-ins of each identifiable platform (the demo's) and `hung` ports that accept and never answer, spread over
    the range. Every stand-in must be identified as its own platform, none missed, none misidentified."""
    import contextlib
    import socket

    from scanner.demo import STAND_INS

    platforms = ["superset", "looker", "tableau", "metabase", "redash", "lightdash", "grafana", "qlikcloud"]
    picker = random.Random(22)
    used: set[tuple[str, int]] = set()

    def spot() -> tuple[str, int]:
        while True:
            pair = (f"127.0.{picker.randrange(4)}.{picker.randrange(2, 255)}", picker.choice(DISCOVER_PORTS))
            if pair not in used:
                used.add(pair)
                return pair

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        cwd = Path(tmp)
        expected: dict[str, str] = {}
        for name in platforms:
            for _ in range(per_platform):
                address, port = spot()
                stack.enter_context(STAND_INS[name].start("bench-secret", cwd).at(address, port))
                expected[f"http://{address}:{port}"] = name
        silent = []
        for _ in range(hung):
            address, port = spot()
            sock = stack.enter_context(contextlib.closing(socket.socket()))
            sock.bind((address, port))
            sock.listen(64)
            silent.append(f"http://{address}:{port}")
        (cwd / "config.toml").write_text(
            '[discovery]\nhosts = ["127.0.0.0/22"]\n'
            f"ports = {list(DISCOVER_PORTS)}\nmax_candidates = {1024 * len(DISCOVER_PORTS)}\nrate = {rate}\n"
            "[scan]\ntimeout = 1\nconcurrency = 64\n")
        child = run_scanner(["discover", "--output", "json"], {}, cwd)
        doc = check(child)
        # the same candidates identified one at a time, for comparison (the connect scan is the same)
        (cwd / "config.toml").write_text((cwd / "config.toml").read_text().replace("concurrency = 64",
                                                                                    "concurrency = 1"))
        serial = run_scanner(["discover", "--output", "json"], {}, cwd)
    seen = {c["url"]: c["platform"] for c in doc["candidates"]}
    identified = {url: p for url, p in seen.items() if p}
    missed = sorted(set(expected) - set(identified))
    wrong = sorted(url for url, p in identified.items() if expected.get(url) != p)
    figures = {"candidates": 1024 * len(DISCOVER_PORTS), "stand_ins": len(expected), "hung": len(silent),
               "open_found": len(seen), "identified": len(identified), "missed": len(missed),
               "misidentified": len(wrong), "wall_s": round(child.wall, 2), "discovery_s": doc["elapsed_s"],
               "candidates_per_s": round(1024 * len(DISCOVER_PORTS) / child.wall),
               "cpu_s": round(child.cpu_s, 2), "max_rss_mb": round(child.max_rss_mb, 1),
               "one_at_a_time_wall_s": round(serial.wall, 2)}
    report(f"discover: 127.0.0.0/22 x {len(DISCOVER_PORTS)} ports, {len(expected)} stand-ins, {len(silent)} hung, "
           f"rate {rate:,.0f}/s", [(k, str(v)) for k, v in figures.items()])
    if missed or wrong:
        print(f"  missed: {missed[:5]}  misidentified: {wrong[:5]}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=("probe", "scale", "hang", "register", "startup", "mask", "toml",
                                             "sweep", "discover", "all"))
    parser.add_argument("-n", type=int, help="number of targets / services (default per scenario)")
    parser.add_argument("--latency", type=float, help="seconds per request of the stand-ins")
    parser.add_argument("--concurrency", type=int, help="scanner --concurrency")
    parser.add_argument("--catalog-concurrency", type=int, action="append",
                        help="register: catalog concurrency (repeat; default 8, the default setting, and 32)")
    parser.add_argument("--rate", type=float, default=20_000.0,
                        help="sweep: [discovery] rate of the second run (0: no limit); default 20000")
    parser.add_argument("--filtered", type=int, default=32,
                        help="sweep: ports that drop SYNs, swept by the engine and one at a time (default 32)")
    parser.add_argument("--sizes", default=",".join(map(str, SCALE_SIZES)),
                        help="scale: comma-separated numbers of targets (default 1000,2000,5000,10000)")
    parser.add_argument("--catalog", choices=("put", "bulk", "none"), default="put",
                        help="probe, scale: register into a catalog stand-in one PUT each (default), through /bulk, "
                             "or run without a catalog (probe only)")
    parser.add_argument("--procs", type=int, help="probe, scale: stand-in farm processes (default: one per CPU)")
    parser.add_argument("--farm-nice", type=int, default=DEFAULT_NICE,
                        help=f"probe, scale: the farm processes' nice value where allowed (default {DEFAULT_NICE}; "
                             "0: scanner's own)")
    parser.add_argument("--profile", metavar="FILE",
                        help="probe: profile the scanner child with py-spy into FILE (speedscope JSON)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    fd_limit = raise_fd_limit()  # the scanner child and the farm inherit it
    print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, open files limit {fd_limit}")
    figures: dict[str, dict] = {}
    if args.scenario in ("probe", "all"):
        figures["probe"] = bench_probe(args.n or 500, args.latency or 0.1, args.concurrency or 64, args.catalog,
                                       procs=args.procs, profile=args.profile, nice=args.farm_nice)
    if args.scenario == "scale":  # not in "all": minutes
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        figures["scale"] = bench_scale(sizes, args.latency or 0.1, args.concurrency or 256, args.catalog, args.procs,
                                       args.farm_nice)
    if args.scenario in ("hang", "all"):
        figures["hang"] = bench_hang(args.n or 200, 2.0, args.concurrency or 100)
    if args.scenario in ("register", "all"):
        for catalog_concurrency in args.catalog_concurrency or (8, 32):
            figures[f"register_c{catalog_concurrency}"] = bench_register(
                args.n or 1000, args.latency or 0.05, catalog_concurrency, args.concurrency or 64)
    if args.scenario in ("startup", "all"):
        figures["startup"] = bench_startup(args.n or 2000)
    if args.scenario in ("mask", "all"):
        figures["mask"] = bench_mask(args.n or 10_000)
    if args.scenario == "discover":  # not in "all": it binds 127.0.x.y addresses
        figures["discover"] = bench_discover(args.n or 3, 12, args.rate or 20000)
    if args.scenario == "sweep":  # not in "all": it binds 127.0.x.y on the plugins' ports (80 and 443 need root)
        figures["sweep"] = bench_sweep(args.n or 36, args.rate, args.concurrency or 512, args.filtered)
    if args.scenario == "toml":  # not in "all": minutes at the sizes that matter
        figures["toml"] = bench_toml(args.n or 50_000)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
