"""Run a REAL Apache Superset on 127.0.0.1 for scanner's integration tests.

Plain module (stdlib + ``requests``), imported by the pytest fixture ``real_superset``.

* :func:`ensure_superset_venv` creates (or reuses) a venv OUTSIDE the repo with the known-good pins
  (``apache-superset==6.1.0 'flask-caching<2.5' rich cachetools``; see
  shared/contracts/superset-real-server.md for why each extra pin is needed).
* :func:`start_superset` sets up a SQLite metadata DB in a work dir, seeds it (3 users, 2 dashboards,
  1 chart) and starts ``superset run`` on 127.0.0.1 in its own process group. The seeded DB is cached
  next to the venv, keyed by Superset version + seed spec, so later starts only copy it.
* :class:`SupersetServer` describes the running server; ``stop()`` leaves no process behind.

CLI::

    python tests/superset_server.py install        # just ensure the venv (prints timing)
    python tests/superset_server.py run [--port N] [--workdir DIR] [--no-cache]

Environment knobs: ``SCANNER_SUPERSET_VENV`` (venv path, default
``~/.cache/scanner-tests/superset-6.1.0-venv``), ``SCANNER_SUPERSET_PYTHON`` (interpreter used to
create the venv, default: the running one; needs >= 3.10).

Only ever binds / contacts 127.0.0.1.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import html
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from venv_cache import Run, clean_env, ensure_venv, file_lock, run_logged, tail, venv_path

SUPERSET_VERSION = "6.1.0"
PINS: tuple[str, ...] = (f"apache-superset=={SUPERSET_VERSION}", "flask-caching<2.5", "rich", "cachetools")
SECRET_KEY = "scanner-tests-only-superset-secret-key-not-for-production"
HOST = "127.0.0.1"
MARKER_NAME = ".scanner-superset-installed.json"

# Seed spec. Changing anything here (or SEED_FORMAT) changes the cache key, so a new seed DB is built.
SEED_FORMAT = 2
# name -> (password, role).  Observed on 6.1.0: Admin sees everything; Gamma logs in and gets 200 with
# count 0 on /api/v1/dashboard/; Public (no permissions, PUBLIC_ROLE_LIKE=None) logs in (200, token)
# but gets 403 {"message":"Forbidden"} on the dashboard/chart APIs and even on /api/v1/me/.
SEED_USERS: dict[str, tuple[str, str]] = {
    "admin": ("admin-pw", "Admin"),
    "gamma": ("gamma-pw", "Gamma"),
    "public_user": ("public-pw", "Public"),
}
ADMIN_USER = "admin"
SEED_DASHBOARDS: tuple[dict, ...] = (
    {"dashboard_title": "Scanner Test Published", "slug": "scanner-published", "published": True},
    {"dashboard_title": "Scanner Test Draft", "slug": "scanner-draft", "published": False},
)
EXAMPLES_DB_NAME = "scanner_examples"  # a tiny SQLite DB the chart's dataset points at
EXAMPLES_TABLE = "scanner_sales"
# Each chart is attached to SEED_DASHBOARDS[on_dashboard].
SEED_CHARTS: tuple[dict, ...] = (
    {"slice_name": "Scanner Test Chart", "viz_type": "table", "on_dashboard": 0},
)
SEED_TABLE = "scanner_test_seed"  # extra table in the metadata DB recording what was seeded


class SupersetHarnessError(RuntimeError):
    """Setup, start or seeding of the test Superset failed."""


# --------------------------------------------------------------------------------------------- paths


def _resolve_venv(path: str | os.PathLike | None) -> Path:
    return venv_path(path, "SCANNER_SUPERSET_VENV", f"superset-{SUPERSET_VERSION}-venv", SupersetHarnessError)


# ---------------------------------------------------------------------------------------------- venv


# Superset's own settings a developer's shell may carry; the harness sets what it needs explicitly.
_DROP_ENV = (
    "SUPERSET_ENV",
    "FLASK_DEBUG",
    "FLASK_ENV",
    "FLASK_RUN_HOST",
    "FLASK_RUN_PORT",
    "SUPERSET_CONFIG",
    "SUPERSET_CONFIG_PATH",
    "SUPERSET_HOME",
)


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return clean_env(_DROP_ENV, extra)


def ensure_superset_venv(path: str | os.PathLike | None = None) -> Path:
    """Create or reuse the Superset venv (outside the repo) and return its path.

    Idempotent and safe after an interrupted install (see :func:`venv_cache.ensure_venv`): the marker file
    is written only after pip succeeded and ``import superset`` worked.
    """

    def install(py: Path, run: Run) -> None:
        run([str(py), "-m", "pip", "install", "--disable-pip-version-check", *PINS], "pip install " + " ".join(PINS))
        with tempfile.TemporaryDirectory(prefix="superset-import-check-") as home:
            run(
                [str(py), "-c", "import superset, sys; print('import superset OK', superset.__file__)"],
                "import check",
                env_extra={"SUPERSET_HOME": home},
            )

    return ensure_venv(
        _resolve_venv(path),
        marker_name=MARKER_NAME,
        spec={"pins": list(PINS)},
        python_env_var="SCANNER_SUPERSET_PYTHON",
        install=install,
        error=SupersetHarnessError,
        drop_env=_DROP_ENV,
        needs=("bin/superset",),
    )


def _run_logged(
    cmd: list[str],
    out,
    log: Path,
    what: str,
    env_extra: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1800,
) -> None:
    run_logged(cmd, out, log, what, env=_clean_env(env_extra), error=SupersetHarnessError, cwd=cwd, timeout=timeout)


# -------------------------------------------------------------------------------------------- server


@dataclass
class SupersetServer:
    url: str
    port: int
    pid: int
    workdir: Path
    version: str
    users: dict[str, tuple[str, str]]  # name -> (password, role)
    dashboard_count: int
    chart_count: int
    venv: Path | None = None
    log_path: Path | None = None
    from_cache: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    _proc: subprocess.Popen | None = field(default=None, repr=False, compare=False)

    def login(self, username: str, password: str | None = None) -> requests.Response:
        """POST /api/v1/security/login (password defaults to the seeded one)."""
        if password is None:
            password = self.users[username][0]
        return _session().post(
            f"{self.url}/api/v1/security/login",
            timeout=30,
            json={"username": username, "password": password, "provider": "db", "refresh": True},
        )

    def token(self, username: str) -> str:
        resp = self.login(username)
        if resp.status_code != 200:
            raise SupersetHarnessError(f"login {username} -> {resp.status_code} {resp.text[:200]}")
        return resp.json()["access_token"]

    def rss_bytes(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the server's process group, SIGKILL after ``grace`` s. Idempotent."""
        _stop_group(self.pid, self._proc, grace)
        self._proc = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_group(pgid: int, proc: subprocess.Popen | None, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _group_alive(pgid) or (proc is not None and proc.poll() is None):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    end = time.monotonic() + 10
    while _group_alive(pgid) and time.monotonic() < end:
        time.sleep(0.1)


def _session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # never go through a proxy: the server is on loopback
    return s


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _write_config(workdir: Path) -> Path:
    cfg = workdir / "superset_config.py"
    lines = [
        "# Written by tests/superset_server.py - test-only settings, never for production.",
        f"SECRET_KEY = {SECRET_KEY!r}",
        f"SQLALCHEMY_DATABASE_URI = {'sqlite:///' + str(workdir / 'superset.db')!r}",
        "WTF_CSRF_ENABLED = False",
        "TALISMAN_ENABLED = False",
        "CONTENT_SECURITY_POLICY_WARNING = False",
        "RATELIMIT_ENABLED = False",
        "AUTH_RATE_LIMITED = False",
        # The seeded chart's dataset lives in a small SQLite file; SQLite DBs are refused otherwise.
        "PREVENT_UNSAFE_DB_CONNECTIONS = False",
    ]
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def _seed_spec() -> dict:
    return {
        "format": SEED_FORMAT,
        "superset": SUPERSET_VERSION,
        "pins": list(PINS),
        "secret_key_sha": hashlib.sha256(SECRET_KEY.encode()).hexdigest()[:16],
        "users": {k: list(v) for k, v in SEED_USERS.items()},
        "dashboards": list(SEED_DASHBOARDS),
        "charts": list(SEED_CHARTS),
        "examples": [EXAMPLES_DB_NAME, EXAMPLES_TABLE],
    }


def seed_key() -> str:
    blob = json.dumps(_seed_spec(), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _seed_cache_paths(venv: Path) -> tuple[Path, Path]:
    stem = venv.parent / f"superset-{SUPERSET_VERSION}-seed-{seed_key()}"
    return Path(f"{stem}.sqlite"), Path(f"{stem}-examples.sqlite")


def _read_seed_record(db: Path) -> dict | None:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            row = con.execute(f"SELECT key, spec, dashboard_count, chart_count FROM {SEED_TABLE}").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    if not row or row[0] != seed_key():
        return None
    return {"key": row[0], "spec": json.loads(row[1]), "dashboard_count": row[2], "chart_count": row[3]}


def _make_examples_db(path: Path) -> None:
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute(f"CREATE TABLE {EXAMPLES_TABLE} (day TEXT, region TEXT, amount REAL)")
        con.executemany(
            f"INSERT INTO {EXAMPLES_TABLE} VALUES (?, ?, ?)",
            [
                ("2026-01-01", "north", 10.5),
                ("2026-01-01", "south", 7.0),
                ("2026-01-02", "north", 12.25),
                ("2026-01-02", "south", 3.5),
            ],
        )
        con.commit()
    finally:
        con.close()


def _examples_uri(path: Path) -> str:
    return f"sqlite:///{path}"


def _repoint_examples(metadata_db: Path, examples_db: Path) -> None:
    con = sqlite3.connect(metadata_db, timeout=30)
    try:
        con.execute(
            "UPDATE dbs SET sqlalchemy_uri = ? WHERE database_name = ?",
            (_examples_uri(examples_db), EXAMPLES_DB_NAME),
        )
        con.commit()
    finally:
        con.close()


def _setup_metadata_db(venv: Path, workdir: Path, env_extra: dict[str, str], timings: dict) -> None:
    sup = str(venv / "bin" / "superset")
    admin_pw, _ = SEED_USERS[ADMIN_USER]
    steps: list[tuple[str, list[str]]] = [
        ("db-upgrade", [sup, "db", "upgrade"]),
        (
            "create-admin",
            [
                sup,
                "fab",
                "create-admin",
                "--username",
                ADMIN_USER,
                "--firstname",
                "Admin",
                "--lastname",
                "User",
                "--email",
                f"{ADMIN_USER}@example.invalid",
                "--password",
                admin_pw,
            ],
        ),
        ("init", [sup, "init"]),
    ]
    for name, (pw, role) in SEED_USERS.items():
        if name == ADMIN_USER:
            continue
        steps.append(
            (
                f"create-user-{name}",
                [
                    sup,
                    "fab",
                    "create-user",
                    "--role",
                    role,
                    "--username",
                    name,
                    "--firstname",
                    name,
                    "--lastname",
                    "User",
                    "--email",
                    f"{name}@example.invalid",
                    "--password",
                    pw,
                ],
            )
        )
    for name, cmd in steps:
        log = workdir / "logs" / f"{name}.log"
        t0 = time.monotonic()
        with open(log, "w") as out:
            _run_logged(
                cmd, out, log, f"superset setup step {name!r}", env_extra=env_extra, cwd=workdir, timeout=600
            )
        timings[name] = round(time.monotonic() - t0, 2)


def _api(sess: requests.Session, method: str, url: str, token: str, expect: int, **kw) -> dict:
    resp = sess.request(method, url, headers={"Authorization": f"Bearer {token}"}, timeout=60, **kw)
    if resp.status_code != expect:
        raise SupersetHarnessError(
            f"{method} {url} -> {resp.status_code} (expected {expect}): {resp.text[:500]}"
        )
    return resp.json()


def _seed_via_api(url: str, examples_db: Path) -> tuple[int, int]:
    """Create the example database, dataset, dashboards and charts as admin through the REST API."""
    sess = _session()
    resp = sess.post(
        f"{url}/api/v1/security/login",
        timeout=60,
        json={
            "username": ADMIN_USER,
            "password": SEED_USERS[ADMIN_USER][0],
            "provider": "db",
            "refresh": True,
        },
    )
    if resp.status_code != 200:
        raise SupersetHarnessError(f"admin login failed while seeding: {resp.status_code} {resp.text[:300]}")
    tok = resp.json()["access_token"]
    db_id = _api(
        sess,
        "POST",
        f"{url}/api/v1/database/",
        tok,
        201,
        json={"database_name": EXAMPLES_DB_NAME, "sqlalchemy_uri": _examples_uri(examples_db)},
    )["id"]
    ds_id = _api(
        sess,
        "POST",
        f"{url}/api/v1/dataset/",
        tok,
        201,
        json={"database": db_id, "table_name": EXAMPLES_TABLE},
    )["id"]
    dash_ids = [
        _api(sess, "POST", f"{url}/api/v1/dashboard/", tok, 201, json=d)["id"] for d in SEED_DASHBOARDS
    ]
    for c in SEED_CHARTS:
        params = {
            "viz_type": c["viz_type"],
            "datasource": f"{ds_id}__table",
            "query_mode": "raw",
            "all_columns": ["day", "region", "amount"],
            "row_limit": 100,
        }
        # A saved query_context makes GET /api/v1/chart/<id>/data/ answer 200 with rows.
        query_context = {
            "datasource": {"id": ds_id, "type": "table"},
            "force": False,
            "form_data": params,
            "queries": [
                {
                    "columns": params["all_columns"],
                    "metrics": [],
                    "orderby": [],
                    "row_limit": 100,
                    "filters": [],
                    "extras": {},
                }
            ],
            "result_format": "json",
            "result_type": "full",
        }
        _api(
            sess,
            "POST",
            f"{url}/api/v1/chart/",
            tok,
            201,
            json={
                "slice_name": c["slice_name"],
                "viz_type": c["viz_type"],
                "datasource_id": ds_id,
                "datasource_type": "table",
                "params": json.dumps(params),
                "query_context": json.dumps(query_context),
                "dashboards": [dash_ids[c["on_dashboard"]]],
            },
        )
    q = {"params": {"q": "(page_size:100)"}}
    n_dash = _api(sess, "GET", f"{url}/api/v1/dashboard/", tok, 200, **q)["count"]
    n_chart = _api(sess, "GET", f"{url}/api/v1/chart/", tok, 200, **q)["count"]
    if n_dash != len(SEED_DASHBOARDS) or n_chart != len(SEED_CHARTS):
        raise SupersetHarnessError(
            f"seeding left {n_dash} dashboards / {n_chart} charts, expected "
            f"{len(SEED_DASHBOARDS)} / {len(SEED_CHARTS)}"
        )
    return n_dash, n_chart


def _store_seed_cache(
    live_db: Path, examples_db: Path, cache_db: Path, cache_examples: Path, n_dash: int, n_chart: int
) -> None:
    """Snapshot the live metadata DB (sqlite backup API, safe while the server runs) into the cache."""
    with file_lock(Path(f"{cache_db}.lock")):
        tmp = Path(f"{cache_db}.tmp.{os.getpid()}")
        tmp_ex = Path(f"{cache_examples}.tmp.{os.getpid()}")
        tmp.unlink(missing_ok=True)
        src = sqlite3.connect(live_db, timeout=30)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
            dst.execute(
                f"CREATE TABLE {SEED_TABLE} (key TEXT PRIMARY KEY, spec TEXT NOT NULL, "
                "dashboard_count INTEGER NOT NULL, chart_count INTEGER NOT NULL, created_at REAL)"
            )
            dst.execute(
                f"INSERT INTO {SEED_TABLE} VALUES (?, ?, ?, ?, ?)",
                (seed_key(), json.dumps(_seed_spec(), sort_keys=True), n_dash, n_chart, time.time()),
            )
            dst.commit()
        finally:
            dst.close()
            src.close()
        shutil.copyfile(examples_db, tmp_ex)
        tmp_ex.replace(cache_examples)  # examples first: a cache DB never exists without its examples file
        tmp.replace(cache_db)


def _wait_healthy(proc: subprocess.Popen, url: str, log: Path, timeout: float) -> None:
    sess = _session()
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SupersetHarnessError(
                f"Superset (pid {proc.pid}) exited with {proc.returncode} before /health answered; "
                f"log {log}; last lines:\n{tail(log)}"
            )
        with contextlib.suppress(requests.RequestException):
            r = sess.get(f"{url}/health", timeout=3)
            if r.status_code == 200 and r.text.strip() == "OK":
                return
        if time.monotonic() > deadline:
            raise SupersetHarnessError(
                f"Superset (pid {proc.pid}) did not answer /health with 200 OK within {timeout:.0f}s; "
                f"log {log}; last lines:\n{tail(log)}"
            )
        time.sleep(0.3)


def read_version(url: str) -> str:
    """Version as the server reports it WITHOUT credentials.

    On 6.1.0 ``GET /version`` answers 200 ``{"version_string": "6.1.0", ...}`` (``/api/v1/version`` is a
    404). Fallback: the SPA bootstrap JSON of ``GET /login/``
    (``common.menu_data.navbar_right.version_string``).
    """
    sess = _session()
    with contextlib.suppress(requests.RequestException, ValueError):
        r = sess.get(f"{url}/version", timeout=30)
        if r.status_code == 200 and r.json().get("version_string"):
            return r.json()["version_string"]
    r = sess.get(f"{url}/login/", timeout=60)
    m = re.search(r'data-bootstrap="([^"]*)"', r.text)
    if r.status_code == 200 and m:
        boot = json.loads(html.unescape(m.group(1)))
        v = boot.get("common", {}).get("menu_data", {}).get("navbar_right", {}).get("version_string")
        if v:
            return v
    raise SupersetHarnessError(
        f"could not read the Superset version unauthenticated (/login/ -> {r.status_code})"
    )


def _spawn(venv: Path, workdir: Path, port: int, env_extra: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [str(venv / "bin" / "superset"), "run", "-h", HOST, "-p", str(port), "--with-threads"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env=_clean_env(env_extra),
            start_new_session=True,
        )


def start_superset(
    workdir: str | os.PathLike,
    port: int | None = None,
    *,
    venv: str | os.PathLike | None = None,
    timeout: float = 180.0,
    use_seed_cache: bool = True,
) -> SupersetServer:
    """Set up (or copy the cached seeded DB), start Superset on 127.0.0.1 and wait for /health.

    Raises :class:`SupersetHarnessError` with the log tail if a step fails, the server dies or it is
    not healthy within ``timeout`` seconds. The caller must call ``stop()`` (also registered atexit).
    """
    t_start = time.monotonic()
    timings: dict[str, float] = {}
    venv = ensure_superset_venv(venv)
    workdir = Path(workdir).absolute()
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    (workdir / "home").mkdir(exist_ok=True)
    for stale in ("superset.db", "examples.db"):
        (workdir / stale).unlink(missing_ok=True)
    cfg = _write_config(workdir)
    env_extra = {
        "SUPERSET_CONFIG_PATH": str(cfg),
        "SUPERSET_HOME": str(workdir / "home"),
        "FLASK_APP": "superset",
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
    }
    live_db, examples_db = workdir / "superset.db", workdir / "examples.db"
    cache_db, cache_examples = _seed_cache_paths(venv)

    record = _read_seed_record(cache_db) if use_seed_cache and cache_examples.exists() else None
    if record:
        t0 = time.monotonic()
        shutil.copyfile(cache_db, live_db)
        shutil.copyfile(cache_examples, examples_db)
        _repoint_examples(live_db, examples_db)
        timings["seed-copy"] = round(time.monotonic() - t0, 2)
    else:
        _setup_metadata_db(venv, workdir, env_extra, timings)
        _make_examples_db(examples_db)

    log = workdir / "logs" / "server.log"
    proc = None
    for attempt in range(3):
        the_port = port if port is not None else free_port()
        url = f"http://{HOST}:{the_port}"
        t0 = time.monotonic()
        proc = _spawn(venv, workdir, the_port, env_extra, log)
        try:
            _wait_healthy(proc, url, log, timeout)
            break
        except SupersetHarnessError:
            _stop_group(proc.pid, proc, 5)
            if port is None and attempt < 2 and "Address already in use" in tail(log, 15):
                continue
            raise
    timings["start-to-healthy"] = round(time.monotonic() - t0, 2)

    server = SupersetServer(
        url=url,
        port=the_port,
        pid=proc.pid,
        workdir=workdir,
        version="",
        users=dict(SEED_USERS),
        dashboard_count=0,
        chart_count=0,
        venv=venv,
        log_path=log,
        from_cache=bool(record),
        timings=timings,
        _proc=proc,
    )
    atexit.register(server.stop)
    try:
        if record:
            server.dashboard_count, server.chart_count = record["dashboard_count"], record["chart_count"]
        else:
            t0 = time.monotonic()
            server.dashboard_count, server.chart_count = _seed_via_api(url, examples_db)
            timings["seed-api"] = round(time.monotonic() - t0, 2)
            if use_seed_cache:
                _store_seed_cache(
                    live_db, examples_db, cache_db, cache_examples, server.dashboard_count, server.chart_count
                )
        server.version = read_version(url)
    except BaseException:
        server.stop()
        raise
    timings["total"] = round(time.monotonic() - t_start, 2)
    return server


# ----------------------------------------------------------------------------------------------- CLI


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_inst = sub.add_parser("install", help="create/reuse the Superset venv")
    p_inst.add_argument("--venv")
    p_run = sub.add_parser("run", help="start Superset and wait for Ctrl-C")
    p_run.add_argument("--venv")
    p_run.add_argument("--port", type=int)
    p_run.add_argument("--workdir", help="default: a new temp dir, removed at exit")
    p_run.add_argument(
        "--no-cache", action="store_true", help="do a full setup, do not use/write the seed cache"
    )
    args = ap.parse_args(argv)

    t0 = time.monotonic()
    venv = ensure_superset_venv(args.venv)
    print(f"venv {venv} ready in {time.monotonic() - t0:.1f}s", flush=True)
    if args.cmd == "install":
        return 0

    tmp = None
    workdir = args.workdir
    if not workdir:
        tmp = tempfile.mkdtemp(prefix="scanner-superset-")
        workdir = tmp

    def _interrupt(*_):
        raise KeyboardInterrupt

    # Also when started in the background (SIGINT is then inherited as ignored) or stopped by `kill`.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    server = start_superset(workdir, args.port, venv=venv, use_seed_cache=not args.no_cache)
    try:
        rss = server.rss_bytes()
        print(f"Superset {server.version} at {server.url} (pid {server.pid}, workdir {server.workdir})")
        print(f"  from seed cache: {server.from_cache}; timings: {server.timings}")
        print(f"  RSS: {rss / 2**20:.0f} MiB" if rss else "  RSS: ?")
        print(f"  dashboards: {server.dashboard_count}, charts: {server.chart_count}")
        for name, (pw, role) in server.users.items():
            print(f"  user {name!r} password {pw!r} role {role}")
        print("Ctrl-C to stop.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("stopped", flush=True)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
