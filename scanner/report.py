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
        "warnings": item.warnings,
        "details": probe.details,
        "duration_ms": round(probe.duration_ms, 1),
        "steps": [_step(s) for s in probe.steps],
        "plan": {
            "action": item.action.value,
            "reason": item.reason or None,
            "changes": item.changes,
            "secrets_unverified": item.secrets_unverified,
            "carried_over": item.carried,
        },
        "taken": item.taken,
        "error": item.error,
    }
    if item.secret_refs:
        entry["secret_refs"] = item.secret_refs
    if item.ingestion is not None:
        entry["ingestion"] = item.ingestion.as_dict()
        if with_payload and item.ingestion.body is not None:
            entry["ingestion"]["payload"] = item.ingestion.body
    if item.catalog_test is not None:
        entry["catalog_test"] = item.catalog_test.as_dict()
    if with_payload and item.request is not None and item.action in (Action.CREATE, Action.UPDATE):
        entry["payload"] = item.request.payload(reveal_secrets=False)
    return entry


def document(result: RunResult, *, with_targets: bool = True) -> dict[str, Any]:
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
            "interrupted": result.interrupted,
        },
        "catalog": {"host": result.catalog.host, "version": result.catalog.version,
                    "warning": result.catalog.warning} if result.catalog else None,
        "targets": [target_entry(i, with_payload=True) for i in items] if with_targets else [],
        "totals": {
            "targets": len(items),
            "status": dict(Counter(i.probe.status.value for i in items)),
            "action": dict(Counter(i.action.value for i in items)),
            "taken": dict(Counter(i.taken or "none" for i in items)),
        },
        "inventory": result.inventory,
        "drift": [{"service_name": e.service_name, "kind": e.kind, "detail": e.detail} for e in result.drift],
        "prune": result.prune.as_dict() if result.prune is not None else None,
        "runner": result.runner,
        "exit_code": int(result.exit_code),
    }


PRETTY_TARGETS = 500
"""Up to this many targets each entry is indented; above, each is one line (json's C encoder: ~10x faster)."""


def write_json(result: RunResult, out: TextIO, *, one_line: bool = False) -> None:
    """The JSON report, indented; with `one_line` (``--output jsonl``, and ``json`` under ``--every``) the whole
    document on one line, so that runs appended to one file make a JSON Lines stream, one run per line.

    Streamed one target at a time (never the whole document in memory). Above `PRETTY_TARGETS` targets each
    target entry is written on its own line, compact, inside the indented document."""
    head = document(result, with_targets=False)
    compact = {"separators": (",", ":")} if one_line else {}
    pretty = not one_line and len(result.items) <= PRETTY_TARGETS
    for key, value in head.items():
        opening = "{" if key == "format_version" else ","
        out.write(opening + ("" if one_line else "\n  ") + json.dumps(key) + (":" if one_line else ": "))
        if key != "targets":
            text = json.dumps(value, **compact) if one_line else json.dumps(value, indent=2)
            out.write(text.replace("\n", "\n  ") if not one_line else text)
            continue
        out.write("[")
        for n, item in enumerate(result.items):
            entry = target_entry(item, with_payload=True)
            out.write(("," if n else "") + ("" if one_line else "\n    "))
            if pretty:
                out.write(json.dumps(entry, indent=2).replace("\n", "\n    "))
            else:
                out.write(json.dumps(entry, separators=(",", ":") if one_line else (", ", ": ")))
        out.write(("" if one_line or not result.items else "\n  ") + "]")
    out.write(("" if one_line else "\n") + "}\n")


_STATUS_STYLE = {"ok": "green", "unreachable": "red", "tls_error": "red", "not_detected": "yellow",
                 "no_credentials": "yellow",
                 "auth_failed": "red", "forbidden": "red", "error": "red"}
_TAKEN_STYLE = {"created": "green", "updated": "cyan", "unchanged": "dim", "failed": "bold red",
                "conflict": "bold red", "skipped": "yellow", "planned": "cyan"}


_DRIFT_MARK = {"new": "[green]+[/]", "changed": "[cyan]~[/]", "gone": "[red]-[/]", "recovered": "[green]↺[/]"}


def describe_event(kind: str, detail: dict[str, Any]) -> str:
    """One readable phrase for a drift event."""
    if kind == "changed":
        parts = [name if value is True else f"{name} {value[0]} → {value[1]}" for name, value in detail.items()]
        return "changed: " + ", ".join(parts)
    if kind in ("gone", "recovered") and "missing_runs" in detail:
        return f"{kind} (missing from {detail['missing_runs']} run(s))"
    if kind == "new":
        return f"new ({detail.get('status')}{', ' + detail['version'] if detail.get('version') else ''})"
    return kind


def _write_drift(result: RunResult, say) -> None:
    if result.inventory is None:
        return
    if not result.drift:
        say(f"\nNo change since the last run (inventory {escape(str(result.inventory['path']))}).")
        return
    say("\nSince the last run:")
    for event in result.drift:
        say(f"  {_DRIFT_MARK.get(event.kind, '?')} {escape(event.service_name)}: "
            f"{escape(describe_event(event.kind, event.detail))}", markup=True)


def _write_prune(result: RunResult, say) -> None:
    report = result.prune
    if report is None:
        return
    if report.refused:
        say(f"\n[red]✗[/] prune refused: {escape(report.refused)}", markup=True)
        return
    if not report.candidates:
        say("\nprune: no gone service that scanner registered here")
        return
    verb = "would soft-delete" if report.dry_run else "soft-deleted"
    shown = [n for n in report.candidates if n not in report.left] if report.dry_run else report.deleted
    if shown:
        say(f"\nprune: {verb} {escape(', '.join(shown))} (restorable)")
    if report.already_gone:
        say(f"prune: already deleted elsewhere: {escape(', '.join(report.already_gone))}")
    for name, why in report.left.items():
        say(f"prune: left {escape(name)}: {escape(why)}")
    for name, error in report.failed.items():
        say(f"[red]✗[/] prune {escape(name)}: {escape(error)}", markup=True)


_TEST_STYLE = {"success": "green", "warning": "yellow", "failed": "red", "unavailable": "red", "timeout": "red",
               "error": "red", "unsupported": "dim"}


def _write_handoff(item: PlanItem, name: str, say) -> None:
    """The hand-off lines of one service: its pipeline (or AutoPilot), its secret references, the catalog's test."""
    plan = item.ingestion
    if plan is not None:
        say(f"[cyan]⇢[/] {name}: {escape(describe_handoff(plan))}")
        for note in plan.notes:
            say(f"    [dim]{escape(note)}[/]")
        if plan.error:
            say(f"[red]✗[/] {name}: {escape(plan.error)}")
    if item.secret_refs:
        say(f"[dim]i {name}: secrets registered as references; store them under: "
            f"{escape(', '.join(item.secret_refs))}[/]")
    test = item.catalog_test
    if test is not None:
        style = _TEST_STYLE.get(test.status, "red")
        mark = {"success": "✓", "red": "✗", "dim": "i"}.get(test.status if test.status == "success" else style, "!")
        say(f"[{style}]{mark}[/] {name}: catalog test "
            f"connection {escape(test.status)}{': ' + escape(test.message) if test.message else ''}")
        for step in test.steps:
            mark = "[green]✓[/]" if step["passed"] else ("[red]✗[/]" if step["mandatory"] else "[yellow]![/]")
            text = step["message"] or step["error"] or ""
            say(f"    {mark} {escape(step['name'])}{' (optional)' if not step['mandatory'] else ''}"
                f"{': ' + escape(text) if text and not step['passed'] else ''}")


def describe_handoff(plan) -> str:
    """``pipeline x_metadata_scanner created, deployed on Airflow, first run success`` and the like."""
    action, taken = plan.action.value, plan.taken or "planned"
    if action == "skip":
        return f"no pipeline: {plan.reason}"
    if action == "leave":
        return f"pipeline left alone: {plan.reason}"
    if action == "autopilot":
        text = "AutoPilot " + ("triggered" if taken == "triggered" else f"{taken}" if taken != "planned"
                               else "would be triggered") + f" ({plan.reason})"
        if plan.name:
            text += f"; its pipeline {plan.name}"
    else:
        verb = {"planned": f"would be {action}d" if action != "unchanged" else "unchanged"}.get(taken, taken)
        text = f"pipeline {plan.name} {verb}"
        if plan.changes and taken in ("planned", "updated"):
            text += f" ({', '.join(plan.changes)})"
    if plan.deployed:
        text += ", deployed" + (f" on {plan.runner}" if plan.runner else "")
    elif plan.deployed is False and taken != "planned":
        text += ", not deployed"
    if plan.trigger:
        state = plan.trigger.get("state")
        text += f", first run {state}" if state and state != "triggered" else ", first run triggered"
    return text


def escape(text: object) -> str:
    """Any text that came from outside (names, URLs, messages, versions, the TOML) as literal rich text."""
    from rich.markup import escape as rich_escape

    return rich_escape(str(text))




def _styled(text: str, style: str | None) -> str:
    return f"[{style}]{escape(text)}[/]" if style else escape(text)


def _found(details: dict[str, Any]) -> str:
    """The counts a probe found (``{"dashboards": 12}`` -> ``12 dashboards``)."""
    counts = [f"{v} {k.replace('_', ' ')}" for k, v in details.items()
              if isinstance(v, int) and not isinstance(v, bool)]
    return ", ".join(counts) or "-"


_COLUMNS = ("service", "platform", "url", "status", "version", "found", "plan", "result")


def _row(item: PlanItem) -> tuple[str, ...]:
    """The plain (unescaped) text of one target's row."""
    plan = item.action.value + (f" ({', '.join(item.changes)})" if item.changes else "")
    pipeline = item.ingestion
    if pipeline is not None and pipeline.action.value in ("create", "update", "autopilot"):
        plan += f", {pipeline.action.value} pipeline" if pipeline.action.value != "autopilot" else ", autopilot"
    return (item.target.service_name, item.target.platform, item.probe.canonical_url or item.target.url or "-",
            item.probe.status.value, item.probe.version or "-", _found(item.probe.details), plan, item.taken or "-")


def _fits(rows: list[tuple[str, ...]], width: int) -> bool:
    """Whether the table shows every cell unfolded within `width` (else cells break mid-word: ``en/ab/le/d``)."""
    return _fits_columns(_COLUMNS, rows, width)


def _write_blocks(rows: list[tuple[str, ...]], say) -> None:
    """One block per target, for narrow terminals and pipes: whole values, one field per line, easy to grep."""
    for service, platform, url, status, version, found, plan, taken in rows:
        say(f"{escape(service)} ({escape(platform)}): {_styled(status, _STATUS_STYLE.get(status))}")
        say(f"    url: {escape(url)}")
        say(f"    version: {escape(version)}   found: {escape(found)}")
        say(f"    plan: {escape(plan)}   result: {_styled(taken, _TAKEN_STYLE.get(taken))}")


def write_table(result: RunResult, out: TextIO, *, show_payloads: bool = False) -> None:
    """The report for people: a table when it fits the terminal's width (``COLUMNS`` when piped, else 80),
    else one block per target. Every value from outside is escaped: it is never read as rich markup."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, highlight=False)
    say = functools.partial(console.print, soft_wrap=True)  # detail lines stay whole, for grep
    rows = [_row(item) for item in result.items]
    table = Table(title=None, show_lines=False, header_style="bold")
    for column in _COLUMNS:
        table.add_column(column, overflow="fold")
    for row in rows:
        status, taken = row[3], row[7]
        table.add_row(*(escape(v) for v in row[:3]), _styled(status, _STATUS_STYLE.get(status)),
                      *(escape(v) for v in row[4:7]), _styled(taken, _TAKEN_STYLE.get(taken)))
    if not result.items:
        console.print("No targets found: set a platform's variables (see `scanner plugins`, e.g. SUPERSET_URL) "
                      "or add [[targets]] to config.toml.", soft_wrap=True, markup=False)
    elif _fits(rows, console.width):
        console.print(table)
    else:
        _write_blocks(rows, say)
    for item in result.items:
        name = escape(item.target.service_name)
        if not item.probe.ok:
            mark = "[yellow]+[/]" if item.probe.status.value == "no_credentials" else "[red]✗[/]"
            say(f"{mark} {name}: {escape(item.probe.message)}", markup=True)
            if item.probe.hint:
                say(f"    fix: {escape(item.probe.hint)}")
        for warning in item.warnings:
            say(f"[yellow]![/] {name}: {escape(warning)}")
        if item.carried and item.action in (Action.UPDATE, Action.UNCHANGED):
            say(f"[dim]i {name}: kept as set in the catalog: {escape(', '.join(item.carried))}[/]")
        if item.duplicate_of:
            say(f"[yellow]![/] {name}: {escape(item.reason)}")
        if item.error:
            say(f"[red]✗[/] {name}: {escape(item.error)}")
        if item.secrets_unverified:
            say(f"[dim]i {name}: the catalog masks secrets, so they were not compared[/]")
        _write_handoff(item, name, say)
    if show_payloads:
        for item in result.items:
            if item.request is not None and item.action in (Action.CREATE, Action.UPDATE):
                console.print(f"\n[bold]{item.action.value}[/] {escape(item.target.service_name)}:")
                console.print_json(json.dumps(item.request.payload(reveal_secrets=False)))
            if item.ingestion is not None and item.ingestion.body is not None:
                console.print(f"\n[bold]{item.ingestion.action.value} pipeline[/] {escape(item.ingestion.name)}:")
                console.print_json(json.dumps(item.ingestion.body))
    _write_drift(result, say)
    _write_prune(result, say)
    doc = document(result)
    totals = doc["totals"]
    status = ", ".join(f"{k} {v}" for k, v in sorted(totals["status"].items())) or "no targets"
    taken = ", ".join(f"{k} {v}" for k, v in sorted(totals["taken"].items())) or "nothing to do"
    if result.inventory and result.inventory.get("error"):
        say(f"[red]✗[/] inventory: {escape(result.inventory['error'])}")
    if result.catalog and result.catalog.warning:
        say(f"[yellow]![/] catalog: {escape(result.catalog.warning)}")
    if result.runner is not None and not result.runner["usable"]:
        say(f"[red]✗[/] catalog: {escape(result.runner['reason'])}")
    where = (f"catalog {escape(result.catalog.host)} ({escape(result.catalog.version)})" if result.catalog
             else "no catalog")
    mode = " (dry run: nothing written)" if result.dry_run else ""
    say(f"\n{totals['targets']} target(s): {status}. {taken}. {where}{mode}.")


def write_rows(console: Any, columns: tuple[str, ...], rows: list[tuple[str, ...]], *, title: str | None = None,
               styles: dict[str, dict[str, str]] | None = None) -> None:
    """Rows of plain text (escaped here): a table when every cell fits the console's width, else one block per
    row (its first cell, then ``column: value`` lines) so that no value is cut into pieces on a narrow terminal
    or a pipe. `styles`: column -> value -> rich style (e.g. ``{"status": {"enabled": "green"}}``)."""
    from rich.table import Table

    styles = styles or {}

    def cell(column: str, text: str) -> str:
        style = styles.get(column, {}).get(text.split(":", 1)[0])
        return _styled(text, style)

    flat = [tuple(", ".join(v.splitlines()) for v in row) for row in rows]
    if _fits_columns(columns, rows, console.width):
        table = Table(header_style="bold", title=escape(title) if title else None)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(cell(c, v) for c, v in zip(columns, row, strict=True)))
        console.print(table)
        return
    if title:
        console.print(f"[bold]{escape(title)}[/]", soft_wrap=True)
    for row in flat:
        console.print(cell(columns[0], row[0]), soft_wrap=True)
        for column, value in zip(columns[1:], row[1:], strict=True):
            console.print(f"    {escape(column)}: {cell(column, value)}", soft_wrap=True)


def _fits_columns(columns: tuple[str, ...], rows: list[tuple[str, ...]], width: int) -> bool:
    from rich.cells import cell_len

    widths = [max([cell_len(h), *(cell_len(line) for r in rows for line in (r[n].splitlines() or [""]))])
              for n, h in enumerate(columns)]
    return sum(w + 3 for w in widths) + 1 <= width
