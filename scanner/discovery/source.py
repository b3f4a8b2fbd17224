"""The discovery-source contract: the second plugin axis, beside the platform probes (``scanner.plugins``).

A source is a `Source` instance exposed through the entry-point group ``scanner.sources``
(``[project.entry-points."scanner.sources"] cmdb = "my_pkg.cmdb:source"``); the built-in ones (the declared
targets, the host sweep, Kubernetes) use the same door. A source reads its own settings from ``settings.discovery``
(the TOML's ``[discovery]`` table; a third-party source its own ``[discovery.<name>]`` table) and yields
`scanner.discovery.Candidate` addresses with where each came from. Identification (the platforms' fingerprints) and
credentials are the core's job, not the source's: a source never sends a credential.

Rules: return ``([], [])`` when the source is not configured; raise `scanner.errors.ConfigError` (one line) for
settings that stop the run (a bad CIDR, an unknown key, a cluster that cannot be reached); return a
`scanner.discovery.Problem` for a part it could not read (a forbidden namespace) and go on; stop at `deadline`
(a ``time.monotonic()`` value). A source that fails to import is listed as disabled by ``scanner plugins``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, ClassVar

from scanner.discovery import Candidate, Problem

if TYPE_CHECKING:
    from scanner.plugin import Plugin
    from scanner.settings import Settings

Found = tuple[list[Candidate], list[Problem]]


class Source(ABC):
    """A discovery source. See the module docstring for the contract."""

    name: ClassVar[str]
    title: ClassVar[str]

    @abstractmethod
    def candidates(self, settings: Settings, plugins: Mapping[str, Plugin], deadline: float) -> Found:
        """The candidate addresses this source finds, and the problems it met."""


class FunctionSource(Source):
    """A source made of one function (how the built-in sources are declared)."""

    def __init__(self, name: str, title: str, find: Callable[[Settings, Mapping[str, Plugin], float], Found]):
        self.name, self.title, self._find = name, title, find  # type: ignore[misc]

    def candidates(self, settings: Settings, plugins: Mapping[str, Plugin], deadline: float) -> Found:
        return self._find(settings, plugins, deadline)
