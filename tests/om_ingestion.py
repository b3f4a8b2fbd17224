"""A venv with OpenMetadata's own ingestion code, the judge of what scanner registers.

Plain module (stdlib only), imported by the pytest fixture ``om_ingestion`` (tests/test_conformance.py).

* :func:`ensure_ingestion_venv` creates (or reuses) a venv OUTSIDE the repo and installs
  ``openmetadata-ingestion[superset,looker,tableau,redash,powerbi,domo,qliksense]==2.0.7.0`` into it, with the constraint
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

import os
import sys
import time
from pathlib import Path

from venv_cache import Run, ensure_venv, venv_path

OM_INGESTION_VERSION = "2.0.7.0"
EXTRAS = ("superset", "looker", "tableau", "redash", "powerbi", "domo", "qliksense")  # the others need no extra
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
    "import metadata.ingestion.source.dashboard.metabase.connection;"
    "import metadata.ingestion.source.dashboard.redash.connection;"
    "import metadata.ingestion.source.dashboard.lightdash.connection;"
    "import metadata.ingestion.source.dashboard.grafana.connection;"
    "import metadata.ingestion.source.dashboard.powerbi.connection;"
    "import metadata.ingestion.source.dashboard.mode.connection;"
    "import metadata.ingestion.source.dashboard.domodashboard.connection;"
    "import metadata.ingestion.source.dashboard.qlikcloud.connection;"
    "import metadata.ingestion.source.dashboard.qliksense.connection;"
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


def ensure_ingestion_venv(path: str | os.PathLike | None = None) -> Path:
    """Create or reuse the openmetadata-ingestion venv (outside the repo) and return its path.

    Idempotent and safe after an interrupted install (see :func:`venv_cache.ensure_venv`): the marker file
    is written only after pip succeeded and the import check passed.
    """
    venv = _resolve_venv(path)

    def install(py: Path, run: Run) -> None:
        constraints = venv.parent / f"{venv.name}.constraints.txt"
        constraints.write_text("".join(f"{c}\n" for c in CONSTRAINTS))
        pip = [str(py), "-m", "pip", "install", "--disable-pip-version-check"]
        run([*pip, "-q", "--upgrade", "pip"], "upgrade pip")
        run([*pip, "-c", str(constraints), REQUIREMENT], f"pip install {REQUIREMENT} -c {constraints}")
        run([str(py), "-c", IMPORT_CHECK], "import check")

    return ensure_venv(
        venv,
        marker_name=MARKER_NAME,
        spec={"spec": _spec()},
        python_env_var="SCANNER_OM_INGESTION_PYTHON",
        install=install,
        error=IngestionHarnessError,
    )


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
