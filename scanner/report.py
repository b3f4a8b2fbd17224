"""Reports: a table for people, a versioned JSON document for machines.

The JSON document (``--output json``) is the only thing written to stdout in that mode; logs go to
stderr. Payloads are included for planned writes, always with secrets masked.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from typing import Any, TextIO

from scanner import __version__
from scanner.plan import Action, PlanItem
from scanner.scan import RunResult

FORMAT_VERSION = 1


def _step(step) -> dict[str, Any]:
    return {
        "name": step.name, "status": step.status.value, "mandatory": step.mandatory,
        "duration_ms": round(step.duration_ms, 1), "message": step.message, "hint": step.hint or None,
        "warning": step.warning,
    }


def target_entry(item: PlanItem, *, with_payload: bool) -> dict[str, Any]:
    target, probe = item.target, item.probe
    entry: dict[str, Any] = {
        "platform": target.platform,
        "instance": target.instance,
        "service_name": target.service_name,
        "url": target.url,
        "canonical_url": probe.canonical_url,
        "origin": target.origin,
        "sources": dict(target.sources),
        "status": probe.status.value,
        "version": probe.version,
        "message": probe.message or None,
        "hint": probe.hint or None,
        "warnings": probe.warnings,
        "details": probe.details,
        "duration_ms": round(probe.duration_ms, 1),
        "steps": [_step(s) for s in probe.steps],
        "plan": {
            "action": item.action.value,
            "reason": item.reason or None,
            "changes": item.changes,
            "secrets_unverified": item.secrets_unverified,
        },
        "taken": item.taken,
        "error": item.error,
    }
    if with_payload and item.request is not None and item.action in (Action.CREATE, Action.UPDATE):
        entry["payload"] = item.request.payload(reveal_secrets=False)
    return entry


def document(result: RunResult) -> dict[str, Any]:
    finished = result.finished_at or result.started_at
    items = result.items
    return {
        "format_version": FORMAT_VERSION,
        "scanner_version": __version__,
        "run": {
            "started_at": result.started_at.isoformat(),
            "finished_at": finished.isoformat(),
            "duration_ms": round((finished - result.started_at).total_seconds() * 1000, 1),
            "dry_run": result.dry_run,
        },
        "catalog": {"host": result.catalog.host, "version": result.catalog.version} if result.catalog else None,
        "targets": [target_entry(i, with_payload=True) for i in items],
        "totals": {
            "targets": len(items),
            "status": dict(Counter(i.probe.status.value for i in items)),
            "action": dict(Counter(i.action.value for i in items)),
            "taken": dict(Counter(i.taken or "none" for i in items)),
        },
        "exit_code": int(result.exit_code),
    }


def write_json(result: RunResult, out: TextIO) -> None:
    json.dump(document(result), out, indent=2, sort_keys=False)
    out.write("\n")


_STATUS_STYLE = {"ok": "green", "unreachable": "red", "tls_error": "red", "not_detected": "yellow",
                 "auth_failed": "red", "forbidden": "red", "error": "red"}
_TAKEN_STYLE = {"created": "green", "updated": "cyan", "unchanged": "dim", "failed": "bold red",
                "skipped": "yellow", "planned": "cyan"}


def _found(details: dict[str, Any]) -> str:
    """The counts a probe found (``{"dashboards": 12}`` -> ``12 dashboards``)."""
    counts = [f"{v} {k.replace('_', ' ')}" for k, v in details.items()
              if isinstance(v, int) and not isinstance(v, bool)]
    return ", ".join(counts) or "-"


def write_table(result: RunResult, out: TextIO, *, show_payloads: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, highlight=False)
    table = Table(title=None, show_lines=False, header_style="bold")
    for column in ("service", "platform", "url", "status", "version", "found", "plan", "result"):
        table.add_column(column, overflow="fold")
    for item in result.items:
        status = item.probe.status.value
        plan = item.action.value + (f" ({', '.join(item.changes)})" if item.changes else "")
        table.add_row(
            item.target.service_name, item.target.platform, item.probe.canonical_url or item.target.url,
            f"[{_STATUS_STYLE.get(status, '')}]{status}[/]", item.probe.version or "-",
            _found(item.probe.details), plan,
            f"[{_TAKEN_STYLE.get(item.taken or '', '')}]{item.taken or '-'}[/]",
        )
    if not result.items:
        console.print("No targets found: set a platform's variables (see `scanner plugins`, e.g. SUPERSET_URL) "
                      "or add [[targets]] to config.toml.", soft_wrap=True, markup=False)
    else:
        console.print(table)
    say = functools.partial(console.print, soft_wrap=True)  # detail lines stay whole, for grep
    for item in result.items:
        name = item.target.service_name
        if not item.probe.ok:
            say(f"[red]✗[/] {name}: {item.probe.message}", markup=True)
            if item.probe.hint:
                say(f"    fix: {item.probe.hint}")
        for warning in item.probe.warnings:
            say(f"[yellow]![/] {name}: {warning}")
        if item.error:
            say(f"[red]✗[/] {name}: {item.error}")
        if item.secrets_unverified:
            say(f"[dim]i {name}: the catalog masks secrets, so they were not compared[/]")
    if show_payloads:
        for item in result.items:
            if item.request is not None and item.action in (Action.CREATE, Action.UPDATE):
                console.print(f"\n[bold]{item.action.value}[/] {item.target.service_name}:")
                console.print_json(json.dumps(item.request.payload(reveal_secrets=False)))
    doc = document(result)
    totals = doc["totals"]
    status = ", ".join(f"{k} {v}" for k, v in sorted(totals["status"].items())) or "no targets"
    taken = ", ".join(f"{k} {v}" for k, v in sorted(totals["taken"].items())) or "nothing to do"
    where = f"catalog {result.catalog.host} ({result.catalog.version})" if result.catalog else "no catalog"
    mode = " (dry run: nothing written)" if result.dry_run else ""
    say(f"\n{totals['targets']} target(s): {status}. {taken}. {where}{mode}.")
