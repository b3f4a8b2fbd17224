"""One error hierarchy and the exit codes, so every failure ends as one readable line.

    ScannerError                  base: `str(err)` is the one line shown to the user
    ├── ConfigError               bad settings, config file, env or flags      -> exit 2
    ├── PluginError               a plugin broke the contract                   -> exit 1
    └── CatalogError              OpenMetadata answered an error or not at all  -> exit 1
        └── CatalogAuthError      401/403 from the catalog

Messages never contain secrets: settings hold them as `SecretStr`, and the HTTP layers build
messages from method, URL path and the server's own error message only.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes (documented in README and `scanner --help`)."""

    OK = 0
    """Every target was probed fine and every registration succeeded."""
    FAILURES = 1
    """At least one target failed its probe, or a registration or catalog call failed."""
    USAGE = 2
    """Usage or configuration error: nothing was probed or written."""
    HANDOFF = 3
    """Every target was probed and registered, but the hand-off to ingestion asked for ([ingestion]) did not
    complete: the catalog's pipeline runner is disabled or unavailable, a pipeline could not be created,
    deployed or run, its first run failed, AutoPilot is missing or inactive, or the catalog's own test
    connection could not run."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C / SIGINT."""


class ScannerError(Exception):
    """Base class: the message is one line, safe to print."""

    exit_code: ExitCode = ExitCode.FAILURES


class ConfigError(ScannerError):
    """A problem in settings: says what is wrong and where (file and key, env variable or flag)."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        self.message = message  # what is wrong, without where and hint (str(self) has all three)
        self.where = where
        self.hint = hint
        text = f"{where}: {message}" if where else message
        if hint:
            text = f"{text} ({hint})"
        super().__init__(text)


class PluginError(ScannerError):
    """A plugin raised or returned something outside the contract."""


class CatalogError(ScannerError):
    """The catalog (OpenMetadata) refused a call or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None):
        self.status = status
        super().__init__(message)


class CatalogAuthError(CatalogError):
    """401 or 403 from the catalog: retrying will not help, so the run stops registering."""
