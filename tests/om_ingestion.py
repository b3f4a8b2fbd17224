"""A venv with OpenMetadata's own ingestion code, the judge of what scanner registers.

Plain module (stdlib only), imported by the pytest fixture ``om_ingestion`` (tests/test_conformance.py).

* :func:`ensure_ingestion_venv` creates (or reuses) a venv OUTSIDE the repo and installs
  ``openmetadata-ingestion[superset,looker,tableau]==2.0.7.0`` into it, with the constraint
  ``dbt-core<1.12`` (a newer dbt-core pulls ``dbt-core-experimental-parser``, whose build step downloads
  a wheel from github.com; see shared/contracts/openmetadata.md section 0).
* ``tests/om_judge.py`` runs with that venv's python and feeds a stored ``connection.config`` to
  OpenMetadata's generated model, ``get_connection``, the connector's listing calls and its
  test-connection steps.

CLI::

    python tests/om_ingestion.py install        # just ensure the venv (prints timing)

Environment knobs: ``SCANNER_OM_INGESTION_VENV`` (venv path, default
``~/.cache/scanner-tests/openmetadata-ingestion-2.0.7.0-venv``), ``SCANNER_OM_INGESTION_PYTHON``
(interpreter used to create the venv, default: the running one; needs >= 3.10).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from venv_cache import file_lock, tail, venv_path

OM_INGESTION_VERSION = "2.0.7.0"
EXTRAS = ("superset", "looker", "tableau")
REQUIREMENT = f"openmetadata-ingestion[{','.join(EXTRAS)}]=={OM_INGESTION_VERSION}"
CONSTRAINTS: tuple[str, ...] = ("dbt-core<1.12",)
MARKER_NAME = ".scanner-om-ingestion-installed.json"
JUDGE = Path(__file__).resolve().parent / "om_judge.py"
# What the import check loads: the modules om_judge.py needs, so a broken install shows up here.
IMPORT_CHECK = (
    "import metadata, sys;"
    "from metadata.generated.schema.entity.services.dashboardService import DashboardConnection;"
    "from metadata.ingestion.source.connections import get_connection, test_connection_common;"
    "import metadata.ingestion.source.dashboard.superset.connection;"
    "import metadata.ingestion.source.dashboard.looker.connection;"
    "import metadata.ingestion.source.dashboard.tableau.connection;"
    "print('import metadata OK', metadata.__file__)"
)


class IngestionHarnessError(RuntimeError):
    """Setting up the openmetadata-ingestion venv failed."""


def _resolve_venv(path: str | os.PathLike | None) -> Path:
    return venv_path(path, "SCANNER_OM_INGESTION_VENV", f"openmetadata-ingestion-{OM_INGESTION_VERSION}-venv", IngestionHarnessError)


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _spec() -> dict:
    return {"requirement": REQUIREMENT, "constraints": list(CONSTRAINTS)}


def _marker_ok(venv: Path) -> bool:
    try:
        data = json.loads((venv / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return False
    return data.get("spec") == _spec() and venv_python(venv).exists()


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(key, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_logged(cmd: list[str], out, log: Path, what: str, timeout: float = 1800) -> None:
    out.write(f"\n$ {' '.join(cmd)}\n")
    out.flush()
    try:
        rc = subprocess.run(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_clean_env(),
            timeout=timeout,
        ).returncode
    except subprocess.TimeoutExpired:
        rc = "timeout"
    out.flush()
    if rc != 0:
        raise IngestionHarnessError(f"{what} failed (exit {rc}); log {log}; last lines:\n{tail(log)}")


def ensure_ingestion_venv(path: str | os.PathLike | None = None) -> Path:
    """Create or reuse the openmetadata-ingestion venv (outside the repo) and return its path.

    Idempotent and safe after an interrupted install: the marker file is written only after pip
    succeeded and the import check passed. A file lock next to the venv serialises concurrent callers.
    """
    venv = _resolve_venv(path)
    if _marker_ok(venv):
        return venv
    with file_lock(venv.parent / f"{venv.name}.lock"):
        if _marker_ok(venv):
            return venv
        (venv / MARKER_NAME).unlink(missing_ok=True)
        log = venv.parent / f"{venv.name}.install.log"
        py = venv_python(venv)
        usable = (
            py.exists()
            and subprocess.run(
                [str(py), "-c", "import sys; assert sys.version_info >= (3, 10)"],
                capture_output=True,
                env=_clean_env(),
            ).returncode
            == 0
        )
        constraints = venv.parent / f"{venv.name}.constraints.txt"
        constraints.write_text("".join(f"{c}\n" for c in CONSTRAINTS))
        t0 = time.monotonic()
        with open(log, "w") as out:
            if not usable:
                if venv.exists():
                    shutil.rmtree(venv)
                base = os.environ.get("SCANNER_OM_INGESTION_PYTHON") or sys.executable
                _run_logged(
                    [base, "-c", "import sys; assert sys.version_info >= (3, 10), sys.version"],
                    out,
                    log,
                    "check Python >= 3.10 (set SCANNER_OM_INGESTION_PYTHON)",
                )
                _run_logged([base, "-m", "venv", str(venv)], out, log, "create venv")
            _run_logged(
                [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--upgrade", "pip"],
                out,
                log,
                "upgrade pip",
            )
            _run_logged(
                [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-c", str(constraints), REQUIREMENT],
                out,
                log,
                f"pip install {REQUIREMENT} -c {constraints}",
            )
            _run_logged([str(py), "-c", IMPORT_CHECK], out, log, "import check")
        marker = {
            "spec": _spec(),
            "python": subprocess.run(
                [str(py), "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True
            ).stdout.strip(),
            "installed_at": time.time(),
            "install_seconds": round(time.monotonic() - t0, 1),
        }
        tmp = venv / (MARKER_NAME + ".tmp")
        tmp.write_text(json.dumps(marker, indent=1))
        tmp.replace(venv / MARKER_NAME)
    return venv


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_inst = sub.add_parser("install", help="create/reuse the openmetadata-ingestion venv")
    p_inst.add_argument("--venv")
    args = ap.parse_args(argv)

    t0 = time.monotonic()
    venv = ensure_ingestion_venv(args.venv)
    print(f"venv {venv} ({REQUIREMENT}) ready in {time.monotonic() - t0:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
