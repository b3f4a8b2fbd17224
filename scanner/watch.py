"""``scanner scan --every 15m``: periodic refresh until SIGTERM/SIGINT.

- Waits ``interval`` spread by ``±jitter`` between runs, so many scanners do not beat in step.
- The first SIGTERM or SIGINT lets the current run finish (its results are recorded), then stops;
  between runs it stops at once. A second signal during a run interrupts it (exit 130).
- A run that fails (the catalog down, a config file broken mid-way) is reported in one line and the
  loop goes on with the last good settings; the inventory keeps the last good state.
- Stopped by a signal (between runs, or after the current run finished), the loop exits 0 whatever the runs
  found: it did what it was asked. Each run's outcome is in its own report (``exit_code``) and in the inventory.
  A second signal during a run exits 130; bad settings at the first run exit 2.
- ``quiet``: only errors on stderr (a failed run, a broken config); no "next run at" nor "stopped".

The caller validates ``interval`` and ``jitter`` (``scanner.cli`` does, when the flags are parsed).
"""

from __future__ import annotations

import logging
import random
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from scanner.errors import ConfigError, ExitCode, ScannerError
from scanner.secrets import redact

log = logging.getLogger(__name__)


def run_every(
    interval: float,
    jitter: float,
    once: Callable[[Any], int],
    *,
    first_settings: Any,
    reload: Callable[[], Any],
    quiet: bool = False,
) -> int:
    if not (0 < interval < float("inf")) or not (0 <= jitter <= 0.5):  # NaN fails both comparisons
        raise ValueError(f"run_every: interval {interval!r} or jitter {jitter!r} out of range")

    def say(text: str) -> None:  # progress, not an error: silent under --quiet
        if not quiet:
            print(f"scanner: {text}", file=sys.stderr, flush=True)

    stop = threading.Event()
    running = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if stop.is_set() and running.is_set():
            raise KeyboardInterrupt
        stop.set()
        if running.is_set():
            say(f"{name}: stopping after the current run (again to interrupt it)")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    settings = first_settings
    first = True
    try:
        while not stop.is_set():
            running.set()
            try:
                once(settings)
            except ScannerError as exc:
                if first and isinstance(exc, ConfigError):  # bad input from the start: exit 2, not a loop
                    raise
                print(f"scanner: run failed: {redact(str(exc))} (the last good state is kept)", file=sys.stderr)
            finally:
                running.clear()
                first = False
            if stop.is_set():
                break
            delay = interval * (1 + random.uniform(-jitter, jitter))
            when = "%H:%M:%S" if delay < 86400 else "%Y-%m-%d %H:%M:%S"
            next_at = (datetime.now() + timedelta(seconds=delay)).strftime(when)
            say(f"next run at {next_at} (every {interval:.10g}s)")
            if stop.wait(delay):
                break
            try:
                settings = reload()
            except ConfigError as exc:
                print(f"scanner: config error, keeping the last good settings: {redact(str(exc))}", file=sys.stderr)
        say("stopped")
        return int(ExitCode.OK)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
