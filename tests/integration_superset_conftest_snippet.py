"""NOT a conftest: the text of the session-scoped ``real_superset`` fixture, to paste into tests/conftest.py.

It needs ``tests/`` importable (pytest's default rootdir-relative ``rootdir/tests`` insertion does this
when tests/ has no __init__.py; otherwise use ``from tests.superset_server import ...``).
The ``superset`` marker is already declared in pyproject.toml.
"""

# --- paste from here -----------------------------------------------------------------------------
import os

import pytest


@pytest.fixture(scope="session")
def real_superset(tmp_path_factory):
    """A real Apache Superset 6.1.0 on 127.0.0.1, shared by the whole session.

    Seeded: users admin/admin-pw (Admin), gamma/gamma-pw (Gamma: 0 dashboards), public_user/public-pw
    (Public: login 200 but 403 on the dashboard/chart APIs); 2 dashboards + 1 chart owned by admin.
    The first run on a machine installs the venv (~2 min) and builds the seed DB (~45 s); later ~4 s.
    """
    if os.environ.get("SCANNER_SKIP_SUPERSET") == "1":
        pytest.skip("SCANNER_SKIP_SUPERSET=1: real Superset integration tests disabled")
    from superset_server import ensure_superset_venv, start_superset

    venv = ensure_superset_venv()
    server = start_superset(tmp_path_factory.mktemp("superset"), venv=venv)
    try:
        yield server
    finally:
        server.stop()


# --- to here -------------------------------------------------------------------------------------
