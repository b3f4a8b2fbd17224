"""Fault injection shared by the fakes: "the next N requests matching X get this answer instead"."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    status: int
    times: int | None
    method: str | None
    path_prefix: str
    headers: dict[str, str]
    body: Any
    reset: bool

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return path.startswith(self.path_prefix)


class Faults:
    """A thread-safe list of pending faults; the first matching one is taken."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        status: int = 503,
        times: int | None = 1,
        method: str | None = None,
        path_prefix: str = "/",
        headers: dict[str, str] | None = None,
        body: Any = None,
        *,
        reset: bool = False,
    ) -> None:
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        with self._lock:
            self._faults.append(Fault(status, times, method, path_prefix, dict(headers or {}), body, reset))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None
