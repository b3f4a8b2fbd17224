"""Where the inventory lives by default, following each platform's convention for state files."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

FILE_NAME = "inventory.sqlite3"


def default_inventory_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/scanner`` (Linux, default ``~/.local/state``), ``~/Library/Application
    Support/scanner`` (macOS), ``%LOCALAPPDATA%\\scanner`` (Windows)."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "win32":
        base = Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        state = env.get("XDG_STATE_HOME", "")
        base = Path(state) if os.path.isabs(state) else home / ".local" / "state"
    return base / "scanner" / FILE_NAME
