"""What the test harnesses that install a program into a cached venv of its own share (tests/superset_server.py,
tests/om_ingestion.py): where the cache lives, a venv path that stays outside the repo, a file lock, a log tail."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scanner-tests"


def venv_path(path: str | os.PathLike | None, env_var: str, default_name: str, error: type[Exception]) -> Path:
    """`path`, else ``$env_var``, else the cache dir's `default_name`; absolute and never inside the repo."""
    chosen = path or os.environ.get(env_var)
    venv = (Path(chosen).expanduser() if chosen else default_cache_dir() / default_name).absolute()
    try:
        venv.resolve().relative_to(REPO_ROOT)
    except ValueError:
        return venv
    raise error(f"the venv must live outside the repo ({REPO_ROOT}), got {venv}")


@contextlib.contextmanager
def file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])
