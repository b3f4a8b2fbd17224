"""Ctrl-C and SIGTERM during a one-shot scan: stop soon, lose nothing, say what was done.

The first signal sets an event the scan loop watches: no new probe starts, the probes in flight are
left behind (their targets are reported as interrupted), the catalog writes already sent finish and
are recorded, and the partial report is printed, all within a couple of seconds. A second signal
exits at once. Every write that succeeded is already in the inventory by then (see
``Inventory.record_write``), so even ``kill -9`` leaves the services scanner created known as its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from scanner.errors import ExitCode

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def graceful_stop() -> Iterator[threading.Event]:
    """Install the two-step handlers for the duration of a run; yields the event the first signal sets.
    Outside the main thread (signals cannot be caught there) the event is simply never set."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_signal(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            sys.stderr.write(f"scanner: {name} again: exiting now; writes already made are recorded\n")
            sys.stderr.flush()
            os._exit(int(ExitCode.INTERRUPTED))
        stop.set()
        sys.stderr.write(f"scanner: {name}: stopping: no new probes, writes in flight finish, then the partial "
                         "report (again to exit at once)\n")
        sys.stderr.flush()

    previous = {sig: signal.signal(sig, on_signal) for sig in SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def leave_now(code: int) -> None:
    """End the process without waiting for the probe threads an interrupt left behind (they hold nothing
    to save: the report is printed and the writes are recorded)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
