"""``scanner scan --every 15m``: periodic refresh until SIGTERM/SIGINT.

- Waits ``interval`` spread by ``±jitter`` between runs, so many scanners do not beat in step.
- The first SIGTERM or SIGINT lets the current run finish (its results are recorded), then stops;
  between runs it stops at once. A second signal during a run interrupts it (exit 130).
- A run that fails (the catalog down, a config file broken mid-way) is reported in one line and the
  loop goes on with the last good settings; the inventory keeps the last good state.
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
) -> int:
    stop = threading.Event()
    running = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if stop.is_set() and running.is_set():
            raise KeyboardInterrupt
        stop.set()
        if running.is_set():
            print(f"scanner: {name}: stopping after the current run (again to interrupt it)", file=sys.stderr)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    settings = first_settings
    jitter = min(max(jitter, 0.0), 0.5)
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
            next_at = (datetime.now() + timedelta(seconds=delay)).strftime("%H:%M:%S")
            print(f"scanner: next run at {next_at} (every {interval:g}s)", file=sys.stderr, flush=True)
            if stop.wait(delay):
                break
            try:
                settings = reload()
            except ConfigError as exc:
                print(f"scanner: config error, keeping the last good settings: {redact(str(exc))}", file=sys.stderr)
        print("scanner: stopped", file=sys.stderr)
        return int(ExitCode.OK)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
