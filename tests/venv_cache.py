"""What the test harnesses that install a program into a cached venv of its own share (tests/superset_server.py,
tests/om_ingestion.py): where the cache lives, a venv path that stays outside the repo, a file lock, a log tail,
a cleaned subprocess environment, a logged step, and the install recipe itself (:func:`ensure_venv`), so each
harness keeps only what is particular to it: its pins, its import check, the variables it strips."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Protocol

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


def clean_env(drop: Iterable[str] = (), extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without what would leak the dev venv into a child (and without `drop`),
    unbuffered, plus `extra`."""
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", *drop):
        env.pop(key, None)
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


def run_logged(
    cmd: list[str],
    out: IO[str],
    log: Path,
    what: str,
    *,
    env: dict[str, str],
    error: type[Exception],
    cwd: Path | None = None,
    timeout: float = 1800,
) -> None:
    """Run `cmd` with its output appended to `out` (the open `log`); raise `error` naming `what` and the log's
    tail if it fails or outlives `timeout` seconds."""
    out.write(f"\n$ {' '.join(cmd)}\n")
    out.flush()
    try:
        rc: int | str = subprocess.run(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd, timeout=timeout
        ).returncode
    except subprocess.TimeoutExpired:
        rc = "timeout"
    out.flush()
    if rc != 0:
        raise error(f"{what} failed (exit {rc}); log {log}; last lines:\n{tail(log)}")


class Run(Protocol):
    """What :func:`ensure_venv` hands its `install` step: run one logged command in the cleaned environment."""

    def __call__(self, cmd: list[str], what: str, *, env_extra: dict[str, str] | None = None) -> None: ...


def _marker_ok(venv: Path, marker_name: str, spec: dict, needs: Iterable[str]) -> bool:
    try:
        data = json.loads((venv / marker_name).read_text())
    except (OSError, ValueError):
        return False
    return all(data.get(k) == v for k, v in spec.items()) and all((venv / p).exists() for p in ("bin/python", *needs))


def ensure_venv(
    venv: Path,
    *,
    marker_name: str,
    spec: dict,
    python_env_var: str,
    install: Callable[[Path, Run], None],
    error: type[Exception],
    drop_env: Iterable[str] = (),
    needs: Iterable[str] = (),
) -> Path:
    """Create or reuse `venv` and return it; both harnesses install their program this one way.

    The venv is reused when its marker file `marker_name` holds every item of `spec` (the JSON-able pins) and
    ``bin/python`` and the `needs` paths exist. Otherwise, under a file lock next to the venv (concurrent
    callers, e.g. pytest-xdist workers, wait and then find the marker): the marker is removed, the venv is
    (re)created from ``$python_env_var`` or the running python when its own python is missing or older than
    3.10, `install(python, run)` runs the pip steps and the import check into ``<venv>.install.log``, and only
    then is the marker written (atomically), so an interrupted install is redone on the next call.
    """
    drop = tuple(drop_env)
    if _marker_ok(venv, marker_name, spec, needs):
        return venv
    with file_lock(venv.parent / f"{venv.name}.lock"):
        if _marker_ok(venv, marker_name, spec, needs):
            return venv
        (venv / marker_name).unlink(missing_ok=True)
        log = venv.parent / f"{venv.name}.install.log"
        py = venv / "bin" / "python"
        version_check = "import sys; assert sys.version_info >= (3, 10), sys.version"
        usable = py.exists() and subprocess.run(
            [str(py), "-c", version_check], capture_output=True, env=clean_env(drop)
        ).returncode == 0
        t0 = time.monotonic()
        with open(log, "w") as out:

            def run(cmd: list[str], what: str, *, env_extra: dict[str, str] | None = None) -> None:
                run_logged(cmd, out, log, what, env=clean_env(drop, env_extra), error=error)

            if not usable:
                if venv.exists():
                    shutil.rmtree(venv)
                base = os.environ.get(python_env_var) or sys.executable
                run([base, "-c", version_check], f"check Python >= 3.10 (set {python_env_var})")
                run([base, "-m", "venv", str(venv)], "create venv")
            install(py, run)
        marker = {
            **spec,
            "python": subprocess.run(
                [str(py), "-c", "import sys; print(sys.version.split()[0])"],
                capture_output=True, text=True, env=clean_env(drop),
            ).stdout.strip(),
            "installed_at": time.time(),
            "install_seconds": round(time.monotonic() - t0, 1),
        }
        tmp = venv / (marker_name + ".tmp")
        tmp.write_text(json.dumps(marker, indent=1))
        tmp.replace(venv / marker_name)
    return venv
