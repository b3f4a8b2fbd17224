"""Discovery: finding instances nobody declared (issue 15). Sources yield `Candidate` addresses with where they came
from; identification (each platform's unauthenticated fingerprint) decides what is there; credentials are matched to
what was identified. A source that cannot read part of its input reports a `Problem` and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """An address where a BI instance may be: a base URL to identify, and where it came from."""

    url: str                          # "http://127.0.0.5:8088", "https://superset.example.com"
    origin: str                       # "sweep:127.0.0.0/30", "kubernetes:analytics/service/superset:8088"
    platform_hint: str | None = None  # a source's guess (a Kubernetes label); identification still decides
    note: str = ""                    # e.g. "the Ingress host, over the Service's ClusterIP 10.0.0.5"


@dataclass(frozen=True)
class Problem:
    """Part of a source's input that could not be read (a forbidden namespace); the rest goes on."""

    origin: str
    message: str
    hint: str = ""
    in_settings: bool = False  # the user's own settings are wrong (an invalid target, a [[credentials]] table)
