"""``scanner inventory`` and ``scanner history <service>``: read-only views of the inventory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from scanner.errors import ConfigError, ExitCode
from scanner.inventory.store import Inventory

FORMAT_VERSION = 1


def _when(iso: str | None) -> str:
    """``2026-11-28T13:22:09+00:00`` -> ``2026-11-28 13:22:09Z`` (tables only; JSON keeps ISO 8601)."""
    return iso.replace("T", " ").replace("+00:00", "Z") if iso else "never"


def _pipeline(pipeline: dict | None) -> str:
    """``x_metadata_scanner (scanner, deployed), last trigger 2026-12-01 10:00:00Z: success`` or ``-``."""
    if not pipeline:
        return "-"
    name = pipeline.get("name") or "AutoPilot's"
    text = f"{name} ({pipeline.get('made_by')}" + (", deployed" if pipeline.get("deployed") else "") + ")"
    if pipeline.get("last_trigger_at"):
        text += f", last trigger {_when(pipeline['last_trigger_at'])}: {pipeline.get('last_state') or 'triggered'}"
    return text


def show_inventory(path: Path, output: str, out: TextIO) -> int:
    inventory = Inventory(path, read_only=True)
    try:
        targets, runs = inventory.targets(), inventory.runs(limit=1)
    finally:
        inventory.close()
    for row in targets:
        row.pop("config_hash", None)  # a keyed hash: meaningless to a reader
    if output == "json":
        json.dump({"format_version": FORMAT_VERSION, "inventory": str(path), "last_run": runs[0] if runs else None,
                   "targets": targets}, out, indent=2)
        out.write("\n")
        return int(ExitCode.OK)
    from rich.console import Console

    from scanner.report import escape, write_rows

    console = Console(file=out, highlight=False)
    rows = []
    for t in targets:
        state = t["state"] + (f" (missing {t['missing_runs']})" if t["missing_runs"] and t["state"] != "gone" else "")
        if t["pruned_at"]:
            state += ", pruned"
        rows.append((t["service_name"], t["platform"], state, t["status"], t["version"] or "-", t["url"] or "-",
                     _when(t["last_seen_at"]), _when(t["last_ok_at"]), t["registered_in"] or "-",
                     _pipeline(t.get("pipeline"))))
    if rows:  # every value is escaped there; a table only when every cell fits the width, else one block per target
        write_rows(console, ("service", "platform", "state", "status", "version", "url", "last seen", "last ok",
                             "registered", "pipeline"), rows, title=f"inventory {path}")
    else:
        console.print("The inventory has no target yet.")
    if runs:
        last = runs[0]
        console.print(escape(f"Last run #{last['id']}: {last['state']}, started {_when(last['started_at'])}"
                             + (f", error: {last['error']}" if last.get("error") else "")), soft_wrap=True)
    return int(ExitCode.OK)


def show_history(path: Path, service: str, output: str, out: TextIO) -> int:
    from scanner.report import describe_event

    inventory = Inventory(path, read_only=True)
    try:
        timeline = inventory.history(service)
        known = [t["service_name"] for t in inventory.targets()]
    finally:
        inventory.close()
    if not timeline:
        import difflib

        close = difflib.get_close_matches(service, known, n=1)
        raise ConfigError(f"no service {service!r} in the inventory", where=str(path),
                          hint=f"did you mean {close[0]!r}?" if close else "see `scanner inventory`")
    for entry in timeline:
        entry.pop("config_hash", None)
    if output == "json":
        json.dump({"format_version": FORMAT_VERSION, "service_name": service, "timeline": timeline}, out, indent=2)
        out.write("\n")
        return int(ExitCode.OK)
    from rich.console import Console

    from scanner.report import write_rows

    rows = []
    for e in timeline:
        events = "; ".join(describe_event(ev["kind"], ev["detail"]) for ev in e["events"]) or "-"
        if not e["seen"]:
            rows.append((f"#{e['run_id']}", _when(e.get("started_at")), "(not found)", "-", "-", "-", "-", events))
            continue
        rows.append((f"#{e['run_id']}", _when(e["started_at"]), e["status"], e["version"] or "-", e["url"] or "-",
                     e["action"] or "-", (e["taken"] or "-") + (" (dry run)" if e.get("dry_run") else ""), events))
    write_rows(Console(file=out, highlight=False), ("run", "started", "status", "version", "url", "plan", "result",
                                                    "events"), rows, title=f"history of {service}")
    return int(ExitCode.OK)
