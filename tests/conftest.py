"""Shared fixtures: the fake catalog, plain web servers on 127.0.0.1, and a way to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scanner.testing.fake_openmetadata import FakeOpenMetadata
from scanner.testing.server import LocalServer, Request, Response

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BOT_TOKEN = "bot-token-7f3a9c"
USER_TOKEN = "user-token-2b8e41"


@pytest.fixture
def catalog() -> Iterator[FakeOpenMetadata]:
    with FakeOpenMetadata(bot_token=BOT_TOKEN, user_token=USER_TOKEN) as fake:
        yield fake


@pytest.fixture(scope="session")
def ca():
    """A throw-away certificate authority (trustme) for the TLS tests."""
    import trustme

    return trustme.CA()


@pytest.fixture(scope="session")
def server_tls(ca):
    """A server-side context holding a certificate for 127.0.0.1 (IP SAN) issued by `ca`."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def ca_pem(ca, tmp_path: Path) -> Path:
    """`ca`'s certificate as a PEM file."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def web() -> Iterator[LocalServer]:
    """A plain web server (not any BI platform) answering 200 with a small HTML page."""

    def app(request: Request) -> Response:
        return Response(200, b"<html><body>hello</body></html>", {"Content-Type": "text/html"})

    with LocalServer(app) as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


NOWHERE_PORT = 9  # discard: nothing listens on it here, so a connection there is refused at once


@pytest.fixture
def run_cli(tmp_path: Path):
    """Run the installed `scanner` command in `tmp_path` with a clean environment plus `env`."""

    def run(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
    ) -> Run:
        base = {
            k: v
            for k, v in os.environ.items()
            if k in ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "VIRTUAL_ENV")
        }
        base.update({"NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"})
        base["XDG_STATE_HOME"] = str(tmp_path / "state")  # the default inventory stays in the test's folder
        # Loopback only: anything else (a cloud platform's default host a test forgot to point at its fake) goes to
        # a proxy on a closed loopback port and fails there, never leaving the machine. A test that sets proxy
        # variables itself (tests/test_network.py) gets only its own.
        if not any(k.lower().endswith("_proxy") for k in env or {}):
            base.update({"ALL_PROXY": f"http://127.0.0.1:{NOWHERE_PORT}",
                         "NO_PROXY": "127.0.0.1,localhost,::1,127.0.0.0/8"})
        base.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "scanner", *args],
            cwd=cwd or tmp_path,
            env=base,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


def catalog_env(fake: FakeOpenMetadata, token: str = BOT_TOKEN, *, with_api: bool = True) -> dict[str, str]:
    return {"OPENMETADATA_HOST": fake.api_url if with_api else fake.url, "OPENMETADATA_JWT_TOKEN": token}


@pytest.fixture(scope="session")
def real_superset(tmp_path_factory):
    """A real Apache Superset 6.1.0 on 127.0.0.1, shared by the whole session (tests/superset_server.py).

    Seeded: admin/admin-pw (Admin), gamma/gamma-pw (Gamma: 0 dashboards), public_user/public-pw
    (Public: login 200, 403 on the dashboard/chart APIs); 2 dashboards and 1 chart owned by admin.
    First run on a machine: venv install (~2 min) and seed DB (~45 s); later starts take ~4 s.
    """
    if os.environ.get("SCANNER_SKIP_SUPERSET") == "1":
        pytest.skip("SCANNER_SKIP_SUPERSET=1: real Superset integration tests disabled")
    from superset_server import ensure_superset_venv, start_superset

    server = start_superset(tmp_path_factory.mktemp("superset"), venv=ensure_superset_venv())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def om_ingestion() -> Path:
    """The python of the openmetadata-ingestion 2.0.7.0 venv (installed on first use, cached)."""
    if os.environ.get("SCANNER_SKIP_CONFORMANCE") == "1":
        pytest.skip("SCANNER_SKIP_CONFORMANCE=1: conformance tests against openmetadata-ingestion disabled")
    from om_ingestion import ensure_ingestion_venv, venv_python

    return venv_python(ensure_ingestion_venv())
