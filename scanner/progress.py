"""Live progress on a terminal: a bar on stderr, and a line per target as soon as it is done.

Only used when stderr is a TTY (and not with ``-q``); pipes and CI logs get the final report only,
plus one log line per target with ``-v``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, TextIO

from scanner.plugin import Status

_MARK = {Status.OK: "[green]✓[/]", Status.NOT_DETECTED: "[yellow]?[/]"}


class LiveProgress:
    def __init__(self, stream: TextIO, *, force_terminal: bool | None = None):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(file=stream, force_terminal=force_terminal, highlight=False)
        self.progress = Progress(
            TextColumn("probing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[summary]}"),
            TimeElapsedColumn(), console=self.console, transient=True,
        )
        self.counts: Counter[str] = Counter()
        self.task: Any = None
        self.total = self.done = 0

    def start(self, total: int) -> None:
        self.total, self.done = total, 0
        self.progress.start()
        self.task = self.progress.add_task("probe", total=total, summary="")

    def item(self, item: Any) -> None:
        """One finished target (a `scanner.plan.PlanItem`)."""
        from rich.markup import escape

        probe = item.probe
        self.counts[probe.status.value] += 1
        mark = _MARK.get(probe.status, "[red]✗[/]")
        version = f" {escape(probe.version)}" if probe.version else ""
        why = f": {escape(probe.message)}" if not probe.ok and probe.message else ""
        self.progress.console.print(
            f"{mark} {escape(item.target.service_name)} {probe.status.value}{version} "
            f"({probe.duration_ms / 1000:.1f}s){why}", soft_wrap=True)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        self.done += 1
        if self.done > self.total:  # an instance registered as several services (Plugin.parts) adds items
            self.total = self.done
        self.progress.update(self.task, advance=1, total=self.total, summary=summary)

    def stop(self) -> None:
        self.progress.stop()
