"""Command line: ``scanner scan | inventory | history | plugins | config | demo``.

Kept free of heavy imports: argparse builds the help, and each command imports what it needs, so
``scanner --help`` never loads a platform SDK (or even requests).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from scanner import __version__
from scanner.errors import ConfigError, ExitCode, ScannerError

EXIT_CODES = """\
exit codes:
  0    every target was probed fine and every registration succeeded
  1    some target failed its probe or has invalid settings (it is reported, the others
       are scanned), a registration or catalog call failed, or --prune was refused by a
       fail-safe or could not delete
  2    usage or configuration error that stops the run before it starts (bad flags, TOML
       syntax, an unknown section, bad [catalog]/[scan]/[service]/[inventory] settings):
       nothing was probed or written
  3    everything was registered, but the hand-off to ingestion asked for (--ingest,
       --autopilot, --verify-in-catalog, [ingestion]) did not complete: the catalog's
       pipeline runner is disabled or down, a pipeline could not be created, deployed
       or run, AutoPilot is missing or inactive, or the catalog's test connection could
       not run (a test connection that fails is 1)
  130  interrupted

environment:
  OPENMETADATA_HOST, OPENMETADATA_JWT_TOKEN, OPENMETADATA_VERIFY_SSL, OPENMETADATA_CA_BUNDLE
                       the catalog (without a host, nothing is registered)
  SCANNER_CONFIG       config file (default ./config.toml when present)
  SCANNER_INVENTORY    inventory file (default $XDG_STATE_HOME/scanner/inventory.sqlite3, with
                       ~/.local/state when XDG_STATE_HOME is unset or not absolute; macOS:
                       ~/Library/Application Support/scanner/, Windows: %LOCALAPPDATA%\\scanner\\)
  plugin variables     see `scanner plugins` (e.g. SUPERSET_URL, SUPERSET_URL__FINANCE)
  NO_COLOR             plain output
"""


DISCOVER_EXIT_CODES = """\
exit codes:
  0    everything listed is usable as it is; a problem that does not come from your
       settings (a third-party source that is disabled, a namespace the account may
       not list, a source that failed) is listed but does not change the code
  1    a problem in your own settings is listed: a declared target (TOML [[targets]]
       or environment) with invalid settings, or a [[credentials]] table that cannot
       be used; the rest is still identified and listed
  2    usage or configuration error that stops discovery before it starts (bad flags,
       TOML syntax, bad [discovery] or [discovery.kubernetes] settings)
  130  interrupted
"""

MAX_EVERY_S = 365 * 24 * 3600
"""The longest --every interval: a year. Longer is a typo (and beyond what the clock arithmetic handles)."""
MAX_JITTER = 0.5
DEFAULT_JITTER = 0.1


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML config (default: $SCANNER_CONFIG or ./config.toml)")
    parser.add_argument("--env-file", metavar="FILE", help="dotenv file (default: ./.env when present)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logs on stderr (-vv: debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (like every other scanner error) and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(int(ExitCode.USAGE), f"scanner: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="scanner",
        description="Find BI instances (Superset, Looker, Tableau, ...) from the credentials you already "
        "have, prove each one works, and register it as a dashboard service in OpenMetadata / Collate.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"scanner {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = sub.add_parser(
        "scan", help="discover, probe, plan and register", epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Discover targets from the config and the environment, probe each one, plan "
        "create/update/unchanged/skip against the catalog, and register (unless --dry-run).",
    )
    _common(scan)
    scan.add_argument("--platform", action="append", metavar="NAME",
                      help="only these platforms (repeat or comma-separate)")
    scan.add_argument("--output", choices=("table", "json", "jsonl"), default="table",
                      help="report format: table (default); json: one indented document (one line per run "
                      "with --every); jsonl: one line per run, to append to a .jsonl file")
    scan.add_argument("--dry-run", action="store_true", default=None,
                      help="show the plan and the exact payloads (secrets masked); write nothing")
    scan.add_argument("--concurrency", type=int, metavar="N", help="targets probed at once (default 32)")
    scan.add_argument("--timeout", type=float, metavar="SECONDS", help="read timeout per request (default 10)")
    scan.add_argument("--target-deadline", type=float, metavar="SECONDS",
                      help="time budget per target (default 60)")
    scan.add_argument("--run-deadline", type=float, metavar="SECONDS",
                      help="time budget for the whole run: targets not done by then end as error (default none)")
    scan.add_argument("--per-host", type=int, metavar="N",
                      help="targets probed at once on one host:port, to be polite (default 8)")
    scan.add_argument("--no-env-discovery", dest="env_discovery", action="store_false", default=None,
                      help="only targets declared in the config file")
    scan.add_argument("--print-config", action="store_true", help="show the effective settings and exit")
    _inventory_flags(scan)
    scan.add_argument("--gone-after", type=int, metavar="N",
                      help="a target missing from N consecutive runs is 'gone' (default 3)")
    scan.add_argument("--adopt", action="append", metavar="SERVICE",
                      help="take over this catalog service although scanner did not register it and it points "
                           "at another address (repeatable)")
    scan.add_argument("--prune", action="store_true",
                      help="soft-delete the catalog services scanner registered whose targets are gone "
                      "(refused when a probe errored, nothing was found, or more than 20%% would go)")
    handoff = scan.add_mutually_exclusive_group()
    handoff.add_argument("--ingest", action="store_true", default=None,
                         help="give each service scanner manages one dashboard metadata pipeline, deployed and "
                         "run once ([ingestion] in the TOML sets schedule, filters, wait)")
    handoff.add_argument("--autopilot", action="store_true", default=None,
                         help="instead of --ingest: trigger OpenMetadata's AutoPilot for each new service")
    scan.add_argument("--verify-in-catalog", action="store_true", default=None,
                      help="run the catalog's own test connection for each registered service and show its steps")
    scan.add_argument("--every", metavar="DURATION", type=_duration,
                      help="run again every DURATION (e.g. 15m, 1h, 90s; 1s to 365 days) until SIGTERM/SIGINT, "
                      "then exit 0 (each run's outcome is in its report); a second signal during a run: 130")
    scan.add_argument("--jitter", type=_jitter, metavar="FRACTION",
                      help=f"with --every: spread each wait by up to this fraction of the interval, from 0 to "
                      f"{MAX_JITTER:g} (default {DEFAULT_JITTER:g})")
    scan.set_defaults(usage_error=scan.error)  # for the checks that need more than one flag (main)

    plugins = sub.add_parser("plugins", help="list installed plugins and the variables they read")
    _common(plugins)
    plugins.add_argument("--output", choices=("table", "json"), default="table")

    inventory = sub.add_parser("inventory", help="what the inventory knows: each target, last seen, last status")
    _common(inventory)
    _inventory_flags(inventory, with_disable=False)
    inventory.add_argument("--output", choices=("table", "json"), default="table")

    history = sub.add_parser("history", help="one service's timeline, run by run")
    _common(history)
    _inventory_flags(history, with_disable=False)
    history.add_argument("service", help="service name, e.g. looker_emea")
    history.add_argument("--output", choices=("table", "json"), default="table")

    demo = sub.add_parser(
        "demo", help="see the whole flow against local stand-ins (no setup needed)",
        description="Start local stand-ins of OpenMetadata and of every BI platform on 127.0.0.1, set the "
        "environment for them, run `scanner scan` (registering into the stand-in catalog), print the report and "
        "what the catalog holds, then stop everything.",
    )
    demo.add_argument("--platform", action="append", metavar="NAME",
                      help="only this platform's stand-in (repeatable; default: all of them)")
    demo.add_argument("--with-failures", action="store_true",
                      help="add a Looker target with a wrong secret, a Superset URL that is really Tableau and a "
                      "Redash URL that is really Metabase (each when those stand-ins run)")
    demo.add_argument("--output", choices=("table", "json"), default="table", help="report format (default table)")
    demo.add_argument("--dry-run", action="store_true", help="plan only: register nothing")
    demo.add_argument("--ingest", action="store_true",
                      help="also give each service its metadata pipeline and run the catalog's test connection")
    demo.add_argument("-v", "--verbose", action="count", default=0, help="more logs on stderr")
    demo.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")

    found = sub.add_parser(
        "discover", help="list the BI instances the sources find, identified without sending any credential",
        epilog=DISCOVER_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Collect candidates from every configured source (the declared targets, [discovery] hosts, "
        "[discovery.kubernetes]), identify each with the platforms' own unauthenticated fingerprints, and say which "
        "credential would apply. No credential is sent and nothing is written to the catalog.",
    )
    _common(found)
    found.add_argument("--output", choices=("table", "json"), default="table")
    found.add_argument("--concurrency", type=int, metavar="N", help="candidates identified at once")
    found.add_argument("--run-deadline", type=float, metavar="SECONDS", help="bound the whole discovery")

    config = sub.add_parser("config", help="show the effective settings and where each comes from")
    _common(config)
    config.add_argument("--output", choices=("table", "json"), default="table")
    return parser


def _inventory_flags(parser: argparse.ArgumentParser, with_disable: bool = True) -> None:
    parser.add_argument("--inventory", metavar="FILE",
                        help="inventory file (default: $SCANNER_INVENTORY, else "
                        "$XDG_STATE_HOME/scanner/inventory.sqlite3, with ~/.local/state when XDG_STATE_HOME is unset)")
    if with_disable:
        parser.add_argument("--no-inventory", dest="inventory_enabled", action="store_false", default=None,
                            help="record nothing (no drift, no history, no prune)")


def _duration(text: str) -> float:
    """``90s``, ``15m``, ``1h30m``, ``2h`` or plain seconds -> seconds (1 s to `MAX_EVERY_S`)."""
    import re

    raw = text.strip().lower()
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", raw, re.ASCII)
    if re.fullmatch(r"\d+\.?\d*|\.\d+", raw, re.ASCII):
        seconds = float(raw)
    elif match and any(match.groups()):
        h, m, sec = (int(g) if g else 0 for g in match.groups())
        seconds = h * 3600 + m * 60 + sec
    else:
        raise argparse.ArgumentTypeError(f"{_cut(text)!r} is not a duration (e.g. 90s, 15m, 1h30m)")
    if seconds < 1:
        raise argparse.ArgumentTypeError("the interval must be at least 1s")
    if seconds > MAX_EVERY_S:
        raise argparse.ArgumentTypeError(f"{_cut(text)!r} is longer than the longest interval, 365 days "
                                         f"({MAX_EVERY_S // 3600}h)")
    return seconds


def _cut(text: str, limit: int = 40) -> str:
    """A flag's value as echoed in its error: cut, so a pasted wall of digits stays one short line."""
    return text if len(text) <= limit else text[:limit] + "..."


def _jitter(text: str) -> float:
    """A fraction from 0 to `MAX_JITTER` (a finite number: ``nan`` and ``inf`` are refused)."""
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_JITTER:  # NaN fails it too
        raise argparse.ArgumentTypeError(f"{_cut(text)!r} is not a number from 0 to {MAX_JITTER:g} "
                                         "(a fraction of the --every interval, e.g. 0.1)")
    return value


def _setup_logging(verbose: int, quiet: bool) -> None:
    from scanner.secrets import RedactingFilter

    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # urllib3 logs every retry as a warning; the final outcome is reported anyway.
    logging.getLogger("urllib3").setLevel(logging.DEBUG if verbose >= 3 else logging.ERROR)
    # The SDKs log every request at INFO, and TSC logs a traceback at ERROR when a non-Tableau server
    # answers serverInfo; the probe reports both outcomes in one line anyway.
    logging.getLogger("looker_sdk").setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
    logging.getLogger("TSC").setLevel(logging.DEBUG if verbose >= 3 else logging.CRITICAL)


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    platforms = None
    if getattr(args, "platform", None):
        platforms = [p.strip().lower() for value in args.platform for p in value.split(",") if p.strip()]
    return {
        "scan.platforms": platforms,
        "scan.concurrency": getattr(args, "concurrency", None),
        "scan.timeout": getattr(args, "timeout", None),
        "scan.target_deadline": getattr(args, "target_deadline", None),
        "scan.run_deadline": getattr(args, "run_deadline", None),
        "scan.per_host": getattr(args, "per_host", None),
        "scan.env_discovery": getattr(args, "env_discovery", None),
        "scan.dry_run": getattr(args, "dry_run", None),
        "scan.adopt": getattr(args, "adopt", None),
        "ingestion.pipeline": True if getattr(args, "ingest", None) else
        (False if getattr(args, "autopilot", None) else None),
        "ingestion.autopilot": True if getattr(args, "autopilot", None) else
        (False if getattr(args, "ingest", None) else None),
        "ingestion.verify_in_catalog": getattr(args, "verify_in_catalog", None),
        "inventory.path": getattr(args, "inventory", None),
        "inventory.enabled": getattr(args, "inventory_enabled", None),
        "inventory.gone_after": getattr(args, "gone_after", None),
    }


def _load(args: argparse.Namespace):
    from scanner.settings import load_settings

    return load_settings(config=args.config, env_file=args.env_file, flags=_flags(args))


def cmd_scan(args: argparse.Namespace) -> int:
    from scanner import registry
    from scanner.report import write_json, write_table
    from scanner.runner import run_once

    settings = _load(args)
    if args.print_config:
        return _print_config(settings, "json" if args.output == "jsonl" else args.output)
    if args.prune and not settings.inventory.enabled:
        raise ConfigError("--prune needs the inventory (it remembers what scanner registered)",
                          where="--no-inventory")
    entries = registry.discover()

    live = args.output == "table" and not args.quiet and sys.stderr.isatty()

    def once(current, stop=None) -> int:
        progress = None
        if live:
            from scanner.progress import LiveProgress

            progress = LiveProgress(sys.stderr)
        try:
            result = run_once(current, entries, prune=args.prune,
                              on_start=progress.start if progress else None,
                              on_item=progress.item if progress else None, stop=stop)
        finally:
            if progress is not None:
                progress.stop()
        if args.output in ("json", "jsonl"):
            write_json(result, sys.stdout, one_line=args.output == "jsonl" or args.every is not None)
            sys.stdout.flush()
        else:
            write_table(result, sys.stdout, show_payloads=current.scan.dry_run)
        if result.interrupted:  # the probes left behind hold nothing to save: do not wait for them
            from scanner.interrupt import leave_now

            leave_now(int(result.exit_code))
        return int(result.exit_code)

    if args.every is None:
        from scanner.interrupt import graceful_stop

        with graceful_stop() as stop:
            return once(settings, stop)
    from scanner.watch import run_every

    jitter = DEFAULT_JITTER if args.jitter is None else args.jitter
    return run_every(args.every, jitter, once, first_settings=settings, reload=lambda: _load(args), quiet=args.quiet)


def cmd_plugins(args: argparse.Namespace) -> int:
    import json

    from scanner import registry

    entries = registry.discover()
    rows = []
    for e in entries:
        plugin = e.plugin
        rows.append({
            "name": e.name,
            "status": "enabled" if e.enabled else "disabled",
            "title": plugin.title if plugin else None,
            "service_type": plugin.service_type if plugin else None,
            "env_vars": [v.name for v in plugin.env_vars] if plugin else [],
            "source": e.source,
            "error": e.error,
            "hint": e.hint,
        })
    sources = [{"name": e.name, "status": "enabled" if e.enabled else "disabled",
                "title": e.source.title if e.source else None, "source": e.origin, "error": e.error, "hint": e.hint}
               for e in registry.discover_sources()]
    if args.output == "json":
        json.dump({"format_version": 1, "plugins": rows, "sources": sources}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console

    from scanner.report import write_rows

    cells = []
    for row in rows:
        status = "enabled" if row["status"] == "enabled" else f"disabled: {row['error']}"
        if row["hint"]:
            status += f" (fix: {row['hint']})"
        cells.append((row["name"], row["service_type"] or "-", status,
                      "\n".join(row["env_vars"]) or "(TOML only)", str(row["source"])))
    write_rows(Console(highlight=False), ("name", "service type", "status", "env variables (also NAME__<INSTANCE>)",
                                          "source"), cells, styles={"status": {"enabled": "green", "disabled": "red"}})
    source_cells = [(row["name"], row["title"] or "-",
                     "enabled" if row["status"] == "enabled" else
                     f"disabled: {row['error']}" + (f" (fix: {row['hint']})" if row["hint"] else ""), row["source"])
                    for row in sources]
    write_rows(Console(highlight=False), ("name", "finds", "status", "source"), source_cells,
               title="discovery sources", styles={"status": {"enabled": "green", "disabled": "red"}})
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console

    from scanner import registry
    from scanner.discovery.run import discover_instances
    from scanner.report import write_rows

    result = discover_instances(_load(args), registry.discover())
    # exit 1 when a listed problem is in the user's own settings (an invalid target, a [[credentials]] table), as
    # `scan` fails for the same input; a disabled source or a namespace the account may not list leaves it at 0
    code = int(ExitCode.FAILURES) if any(p.in_settings for p in result.problems) else int(ExitCode.OK)
    rows = [{"url": f.candidate.url, "origin": f.candidate.origin, "note": f.candidate.note,
             "platform": f.identified.platform if f.identified else None,
             "base_url": f.identified.url if f.identified else None,
             "version": f.identified.version if f.identified else None,
             "credential": f.credential, "to_register": f.hint or None} for f in result.found]
    if args.output == "json":
        json.dump({"format_version": 1, "elapsed_s": round(result.elapsed_s, 3), "candidates": rows,
                   "problems": [{"origin": p.origin, "message": p.message, "hint": p.hint} for p in result.problems]},
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
        return code
    console = Console(highlight=False)
    identified = [r for r in rows if r["platform"]]
    write_rows(console, ("address", "platform", "version", "origin", "credential"),
               [(r["base_url"], r["platform"], r["version"] or "-", r["origin"],
                 r["credential"] or f"none: {r['to_register']}") for r in identified],
               title=f"{len(identified)} of {len(rows)} candidate(s) identified")
    for problem in result.problems:
        console.print(f"! {problem.origin}: {problem.message}" + (f" ({problem.hint})" if problem.hint else ""),
                      markup=False)
    return code


def cmd_config(args: argparse.Namespace) -> int:
    return _print_config(_load(args), args.output)


def _print_config(settings, output: str) -> int:
    import json

    from scanner import registry
    from scanner.settings import describe
    from scanner.targets import Rejected, collect

    rows = describe(settings)
    target_rows = [
        {"service_name": t.service_name, "platform": t.platform, "url": t.url, "origin": t.origin,
         "sources": {} if isinstance(t, Rejected) else dict(t.sources),
         "error": str(t.error) if isinstance(t, Rejected) else None}
        for t in collect(settings, registry.discover())
    ]
    invalid = int(ExitCode.FAILURES) if any(t["error"] for t in target_rows) else int(ExitCode.OK)
    rows += _discovery_rows(settings.discovery, f"{settings.config_name}:[discovery]", "discovery")
    credential_rows = [{"where": c.where, "platform": c.values.get("platform"), "hosts": c.values.get("hosts"),
                        "keys": sorted(k for k in c.values if k not in ("platform", "hosts"))}  # values may be secret
                       for c in settings.credentials]
    if output == "json":
        json.dump({
            "format_version": 1,
            "config_file": str(settings.config_path) if settings.config_path else None,
            "env_file": str(settings.env_file) if settings.env_file else None,
            "settings": [{"key": k, "value": v, "source": s} for k, v, s in rows],
            "targets": target_rows,
            "credentials": credential_rows,
        }, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return invalid
    from rich.console import Console

    from scanner.report import write_rows

    console = Console(highlight=False)
    write_rows(console, ("key", "value", "source"), rows, title="settings")
    shown = [(t["service_name"], t["platform"], (t["url"] or "-") + (f" invalid: {t['error']}" if t["error"] else ""),
              t["origin"]) for t in target_rows]
    write_rows(console, ("service", "platform", "url", "declared in"), shown, title="targets")
    if credential_rows:
        write_rows(console, ("platform", "hosts", "keys (values hidden)", "declared in"),
                   [(str(c["platform"]), ", ".join(map(str, c["hosts"] or [])), ", ".join(c["keys"]), c["where"])
                    for c in credential_rows], title="credentials")
    return invalid


def _discovery_rows(table: Any, source: str, prefix: str) -> list[tuple[str, str, str]]:
    """``[discovery]`` and its sub-tables as written, one row per key (``discovery.kubernetes.namespaces``)."""
    import json

    from scanner.secrets import redact

    rows: list[tuple[str, str, str]] = []
    for key, value in (table or {}).items():
        if isinstance(value, dict):
            rows += _discovery_rows(value, f"{source[:-1]}.{key}]", f"{prefix}.{key}")
        else:
            rows.append((f"{prefix}.{key}", redact(json.dumps(value) if not isinstance(value, str) else value),
                         f"{source}.{key}"))
    return rows


def cmd_demo(args: argparse.Namespace) -> int:
    from scanner.demo import run_demo

    scan_args = ["--output", args.output]
    if args.dry_run:
        scan_args.append("--dry-run")
    if args.ingest:
        scan_args += ["--ingest", "--verify-in-catalog"]
    if args.verbose:
        scan_args.append("-" + "v" * args.verbose)
    if args.quiet:
        scan_args.append("-q")
    # with --output json, stdout carries only the report; the narration goes to stderr
    narration = sys.stderr if args.output == "json" else sys.stdout
    from scanner.demo import STAND_INS

    unknown = [p for p in args.platform or () if p.lower() not in STAND_INS]
    if unknown:
        raise ConfigError(f"no demo stand-in for platform {unknown[0]!r}", where="--platform",
                          hint="one of: " + ", ".join(STAND_INS))
    platforms = [p.lower() for p in args.platform] if args.platform else None
    return run_demo(scan_args, with_failures=args.with_failures, out=narration, platforms=platforms)


def cmd_inventory(args: argparse.Namespace) -> int:
    from scanner.inventory.views import show_inventory

    return show_inventory(_inventory_path(args), args.output, sys.stdout)


def cmd_history(args: argparse.Namespace) -> int:
    from scanner.inventory.views import show_history

    return show_history(_inventory_path(args), args.service, args.output, sys.stdout)


def _inventory_path(args: argparse.Namespace):
    settings = _load(args)
    path = settings.inventory.resolved_path(settings.env)
    if not path.is_file():
        raise ConfigError("no inventory yet: run `scanner scan` first", where=str(path),
                          hint="or point --inventory / SCANNER_INVENTORY at an existing one")
    return path


COMMANDS = {"scan": cmd_scan, "plugins": cmd_plugins, "config": cmd_config, "demo": cmd_demo, "discover": cmd_discover,
            "inventory": cmd_inventory, "history": cmd_history}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return int(ExitCode.USAGE)
    if args.command == "scan" and args.jitter is not None and args.every is None:
        # a flag that only means something with another one is refused, as argparse refuses flags that
        # exclude each other: ignored, it would hide that the command runs once instead of looping
        args.usage_error("argument --jitter: only with --every (it spreads the wait between runs)")
    _setup_logging(args.verbose, args.quiet)
    try:
        return COMMANDS[args.command](args)
    except ScannerError as exc:
        from scanner.secrets import redact

        print(f"scanner: error: {redact(str(exc))}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("scanner: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as exc:  # last resort: one line, no traceback unless asked for
        from scanner.secrets import redact

        if args.verbose >= 2:
            raise
        print(f"scanner: internal error: {type(exc).__name__}: {redact(str(exc)).splitlines()[0][:300]} "
              "(run with -vv for the traceback)", file=sys.stderr)
        return int(ExitCode.FAILURES)
