"""Conformance: OpenMetadata's own connector code judges every config scanner registers.

Each test runs the real ``scanner scan --output json`` against one platform (the real Apache Superset, the
Looker and Tableau fakes) and the fake catalog, reads the stored service back over HTTP with the BOT token
(``GET /api/v1/services/dashboardServices/name/{name}``), and hands its ``connection.config`` to
``tests/om_judge.py`` running in a venv of ``openmetadata-ingestion[superset,looker,tableau]==2.0.7.0``
(``tests/om_ingestion.py``): OpenMetadata's generated model, ``get_connection``, the connector's own listing
calls and its test-connection steps (issue 11).

The rule: a registered config passes the judge (every stage, every MANDATORY test-connection step, and the
listing counts match what the platform holds: several of the connector's listing calls swallow errors and
answer empty), or scanner's report for that target carries a warning that names the "ingestion host" (a config
no ingestion host can use without extra setup, and scanner said so).

TLS shapes, per platform:

* ``http``: plain http.
* ``https-public``: a certificate from a CA both sides trust *by default*. The ingestion side gets the CA as
  its default trust store (``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE`` in the judge's environment: requests and
  OpenSSL read them). scanner reads neither (its HTTP stack verifies against ``certifi.where()``, with
  ``trust_env`` off), so its default store is simulated by a ``sitecustomize`` put on its ``PYTHONPATH`` that
  points ``certifi.where()`` at the CA; scanner is given no CA setting, exactly as for a public certificate.
* ``https-private``: a private CA given to scanner only (``<PREFIX>_CA_BUNDLE``); the judge does not trust it.
* ``https-private-path`` (Superset): the same, plus ``SUPERSET_INGESTION_CA_PATH``, the CA file's path on the
  ingestion host (here the same machine), which OpenMetadata's Superset connector reads as a file.

``http``, ``https-public`` and ``https-private-path`` must pass the judge outright; only ``https-private``
may instead be flagged by a warning.

The real Superset speaks plain http; its https shapes put a small TLS-terminating TCP proxy on 127.0.0.1 in
front of it. Skipped only with ``SCANNER_SKIP_CONFORMANCE=1`` (the Superset cases also with
``SCANNER_SKIP_SUPERSET=1``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import BOT_TOKEN, catalog_env

from scanner.testing.fake_looker import FakeLooker, LookerApiUser
from scanner.testing.fake_tableau import FakeTableau

pytestmark = pytest.mark.conformance

TESTS = Path(__file__).resolve().parent
JUDGE = TESTS / "om_judge.py"
JUDGE_TIMEOUT = 300  # s; the connector's own per-step budget is 3 min, a loopback run takes a few seconds
SUFFIX = "CONF"  # the instance every test registers: <platform>_conf

LOOKER_SECRET = "conf-looker-secret-81c2d4"
TABLEAU_SECRET = "conf-tableau-pat-5e07b9"
LOOKER_DASHBOARDS, LOOKER_MODELS = 4, 2
TABLEAU_WORKBOOKS, TABLEAU_VIEWS = 3, 5
SHAPES = ("http", "https-public", "https-private")
STRICT_SHAPES = ("http", "https-public", "https-private-path")  # must pass the judge, no warning allowed


# -- fixtures -------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def om_ingestion() -> Path:
    """The python of the openmetadata-ingestion 2.0.7.0 venv (installed on first use, cached)."""
    if os.environ.get("SCANNER_SKIP_CONFORMANCE") == "1":
        pytest.skip("SCANNER_SKIP_CONFORMANCE=1: conformance tests against openmetadata-ingestion disabled")
    from om_ingestion import ensure_ingestion_venv, venv_python

    return venv_python(ensure_ingestion_venv())


# -- a TLS-terminating proxy for the real Superset -------------------------------------------------------


class TlsProxy:
    """Accept TLS on 127.0.0.1:<port> and pipe the plain bytes to 127.0.0.1:<upstream>. One thread per
    direction per connection; ``stop()`` closes the listener and every open connection."""

    def __init__(self, upstream_port: int, context: ssl.SSLContext):
        self.upstream_port = upstream_port
        self.context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tls-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> TlsProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in list(self._open):
                self._close(sock)
        self._thread.join(timeout=5)

    def _close(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()
        self._open.discard(sock)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(raw,), daemon=True).start()

    def _handle(self, raw: socket.socket) -> None:
        raw.settimeout(30)
        try:
            client = self.context.wrap_socket(raw, server_side=True)  # the handshake, in this thread
        except (ssl.SSLError, OSError):  # e.g. a client that rejects the certificate
            with contextlib.suppress(OSError):
                raw.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        except OSError:
            client.close()
            return
        client.settimeout(None)
        upstream.settimeout(None)
        with self._lock:
            self._open.update((client, upstream))
        done = threading.Event()

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                done.set()

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        done.wait()
        with self._lock:
            self._close(client)
            self._close(upstream)


# -- how each platform is run -----------------------------------------------------------------------------


@dataclass
class Served:
    """One running platform for one test: its URL, scanner's env for it, and what its connector must list."""

    url: str
    env: dict[str, str]
    expected: dict[str, int]  # listing key -> count the judge must report
    secrets: tuple[str, ...]


@contextlib.contextmanager
def superset_target(real_superset, tls: ssl.SSLContext | None) -> Iterator[Served]:
    user = "admin"
    password = real_superset.users[user][0]

    def served(url: str) -> Served:
        return Served(
            url=url,
            env={f"SUPERSET_URL__{SUFFIX}": url, f"SUPERSET_USERNAME__{SUFFIX}": user,
                 f"SUPERSET_PASSWORD__{SUFFIX}": password},
            expected={"dashboard_count": real_superset.dashboard_count, "chart_count": real_superset.chart_count,
                      "dashboards_listed": real_superset.dashboard_count,
                      "charts_listed": real_superset.chart_count},
            secrets=(password,),
        )

    if tls is None:
        yield served(real_superset.url)
        return
    with TlsProxy(real_superset.port, tls) as proxy:
        yield served(proxy.url)


@contextlib.contextmanager
def looker_target(tls: ssl.SSLContext | None) -> Iterator[Served]:
    clients = {"conf-id": LookerApiUser(LOOKER_SECRET, dashboards=LOOKER_DASHBOARDS, lookml_models=LOOKER_MODELS)}
    with FakeLooker(clients=clients, tls=tls) as fake:
        yield Served(
            url=fake.url,
            env={f"LOOKERSDK_BASE_URL__{SUFFIX}": fake.url, f"LOOKERSDK_CLIENT_ID__{SUFFIX}": "conf-id",
                 f"LOOKERSDK_CLIENT_SECRET__{SUFFIX}": LOOKER_SECRET},
            expected={"dashboards_listed": LOOKER_DASHBOARDS, "lookml_models_listed": LOOKER_MODELS},
            secrets=(LOOKER_SECRET,),
        )


@contextlib.contextmanager
def tableau_target(tls: ssl.SSLContext | None) -> Iterator[Served]:
    from scanner.testing.fake_tableau import TableauSite

    sites = {"": TableauSite("", workbooks=TABLEAU_WORKBOOKS, views=TABLEAU_VIEWS)}
    with FakeTableau(sites=sites, tokens={"conf-pat": TABLEAU_SECRET}, tls=tls) as fake:
        yield Served(
            url=fake.url,
            env={f"TABLEAU_URL__{SUFFIX}": fake.url, f"TABLEAU_TOKEN_NAME__{SUFFIX}": "conf-pat",
                 f"TABLEAU_TOKEN_SECRET__{SUFFIX}": TABLEAU_SECRET},
            expected={"workbook_count": TABLEAU_WORKBOOKS, "workbooks_listed": TABLEAU_WORKBOOKS,
                      "charts_listed": TABLEAU_VIEWS},
            secrets=(TABLEAU_SECRET,),
        )


CA_BUNDLE_VAR = {"superset": "SUPERSET_CA_BUNDLE", "looker": "LOOKERSDK_CA_BUNDLE", "tableau": "TABLEAU_CA_BUNDLE"}

_SITECUSTOMIZE = '''\
"""Test-only (tests/test_conformance.py): make certifi's bundle, the default trust store of scanner's HTTP
stack, the file named by SCANNER_TEST_DEFAULT_CA_BUNDLE: a CA "trusted by default" on this host."""
import os

_bundle = os.environ.get("SCANNER_TEST_DEFAULT_CA_BUNDLE")
if _bundle:
    import certifi
    import certifi.core

    def _where(_bundle=_bundle):
        return _bundle

    certifi.where = certifi.core.where = _where
'''


def scanner_trust_env(shape: str, platform: str, ca_pem: Path, tmp_path: Path) -> dict[str, str]:
    if shape == "https-private":
        return {f"{CA_BUNDLE_VAR[platform]}__{SUFFIX}": str(ca_pem)}
    if shape == "https-private-path":  # the user also says where the CA file is on the ingestion host
        return {f"{CA_BUNDLE_VAR[platform]}__{SUFFIX}": str(ca_pem),
                f"SUPERSET_INGESTION_CA_PATH__{SUFFIX}": str(ca_pem)}
    if shape == "https-public":
        site = tmp_path / "default-trust"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
        return {"PYTHONPATH": str(site), "SCANNER_TEST_DEFAULT_CA_BUNDLE": str(ca_pem),
                "SSL_CERT_FILE": str(ca_pem), "REQUESTS_CA_BUNDLE": str(ca_pem)}
    return {}


def judge_env(shape: str, ca_pem: Path, tmp_path: Path) -> dict[str, str]:
    """Only what the judge needs; the CA only when the ingestion host trusts it by default."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    env.update({"HOME": str(tmp_path / "judge-home"), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    (tmp_path / "judge-home").mkdir(exist_ok=True)
    if shape == "https-public":
        env.update({"REQUESTS_CA_BUNDLE": str(ca_pem), "SSL_CERT_FILE": str(ca_pem)})
    return env


# -- the judge --------------------------------------------------------------------------------------------


def mask(text: Any, secrets: tuple[str, ...]) -> str:
    out = text if isinstance(text, str) else json.dumps(text, indent=1, sort_keys=True, default=str)
    for secret in (*secrets, BOT_TOKEN):
        if secret:
            out = out.replace(secret, "***")
    return out


def stored_config(catalog, service_name: str) -> dict:
    """The service as the catalog holds it, read back over HTTP with the bot token (secrets in clear)."""
    session = requests.Session()
    session.trust_env = False
    resp = session.get(
        f"{catalog.api_url}/v1/services/dashboardServices/name/{service_name}",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        timeout=30,
    )
    assert resp.status_code == 200, f"GET {service_name} -> {resp.status_code} {resp.text[:300]}"
    return resp.json()["connection"]["config"]


def run_judge(python: Path, config: dict, catalog, env: dict[str, str], tmp_path: Path, secrets) -> dict:
    doc = {"config": config, "catalog": {"host": catalog.api_url, "token": BOT_TOKEN}}
    path = tmp_path / "judge-input.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(doc))
    try:
        proc = subprocess.run(
            [str(python), str(JUDGE), str(path)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=JUDGE_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    finally:
        path.unlink(missing_ok=True)  # it holds the platform's secret in clear
    (tmp_path / "judge-stderr.log").write_text(mask(proc.stderr, secrets))
    try:
        return json.loads(proc.stdout)
    except ValueError:
        tail = "\n".join(mask(proc.stderr, secrets).splitlines()[-30:])
        pytest.fail(f"om_judge.py wrote no JSON (exit {proc.returncode}); stderr tail:\n{tail}")


def tls_summary(config: dict) -> dict:
    """verifySSL/sslConfig as registered, without secrets (the CA's text is not secret, but it is long)."""
    part = config.get("connection") if config.get("type") == "Superset" else config
    if not isinstance(part, dict):
        return {}
    out: dict[str, Any] = {"verifySSL": part.get("verifySSL", "<absent>")}
    ssl_config = part.get("sslConfig")
    if isinstance(ssl_config, dict):
        ca_value = ssl_config.get("caCertificate")
        kind = None if ca_value is None else ("PEM text" if "BEGIN CERTIFICATE" in str(ca_value) else "path")
        out["sslConfig"] = {"caCertificate": kind, **{k: "set" for k in ssl_config if k != "caCertificate"}}
    elif "sslConfig" in part:
        out["sslConfig"] = ssl_config
    return out


def failures(verdict: dict, expected: dict[str, int]) -> list[str]:
    """What kept the config from passing: failed stages (with the judge's exact error), failed mandatory
    steps, listing counts that differ from what the platform holds."""
    out = []
    if verdict.get("judge_error"):
        out.append(f"judge: {verdict['judge_error']['type']}: {verdict['judge_error']['message']}")
    for name, stage in verdict.get("stages", {}).items():
        if not stage.get("ok"):
            err = stage.get("error") or {}
            out.append(f"{name}: {err.get('type')}: {err.get('message')}")
        for step in stage.get("steps", []):
            if not step.get("passed"):
                tag = "mandatory" if step.get("mandatory") else "optional"
                out.append(f"  step {step['name']} ({tag}) {step.get('status')}: {step.get('errorLog')}")
    listing = verdict.get("stages", {}).get("listing")
    if listing and listing.get("ok"):
        for key, want in expected.items():
            if listing.get(key) != want:
                out.append(f"listing: {key} = {listing.get(key)!r}, the platform holds {want}")
    return out


def judged(verdict: dict, expected: dict[str, int]) -> bool:
    listing = verdict.get("stages", {}).get("listing") or {}
    return bool(verdict.get("passed")) and all(listing.get(k) == v for k, v in expected.items())


# -- the matrix -------------------------------------------------------------------------------------------


def conform(
    platform: str,
    shape: str,
    start: Callable[[ssl.SSLContext | None], contextlib.AbstractContextManager[Served]],
    *,
    om_ingestion: Path,
    run_cli,
    catalog,
    server_tls: ssl.SSLContext,
    ca_pem: Path,
    tmp_path: Path,
) -> None:
    tls = None if shape == "http" else server_tls
    with start(tls) as served:
        env = {**catalog_env(catalog), **served.env, **scanner_trust_env(shape, platform, ca_pem, tmp_path)}
        t0 = time.monotonic()
        result = run_cli("scan", "--output", "json", env=env, timeout=180)
        scan_s = time.monotonic() - t0
        assert result.stdout, mask(result.stderr[-3000:], served.secrets)
        report = json.loads(result.stdout)
        [target] = [t for t in report["targets"] if t["platform"] == platform]
        summary = mask({k: target.get(k) for k in ("status", "message", "hint", "warnings", "taken", "error")},
                       served.secrets)
        assert target["status"] == "ok" and target["taken"] in ("created", "updated"), summary
        config = stored_config(catalog, target["service_name"])
        t0 = time.monotonic()
        verdict = run_judge(om_ingestion, config, catalog, judge_env(shape, ca_pem, tmp_path), tmp_path,
                            served.secrets)
        judge_s = time.monotonic() - t0
    passed = judged(verdict, served.expected)
    why = failures(verdict, served.expected)
    record = {
        "case": f"{platform}-{shape}", "passed_judge": passed, "warnings": target["warnings"],
        "tls": tls_summary(config), "failures": why, "scan_s": round(scan_s, 2), "judge_s": round(judge_s, 2),
        "listing": verdict.get("stages", {}).get("listing"),
        "steps": [{k: s.get(k) for k in ("name", "mandatory", "passed", "status")}
                  for s in verdict.get("stages", {}).get("test_connection", {}).get("steps", [])],
    }
    print(mask(record, served.secrets))  # shown with -s / on failure; never a secret
    _append_summary(mask(record, served.secrets))
    message = (
        f"{platform} over {shape}: OpenMetadata's connector cannot use the registered config, and scanner's "
        f"report has no warning naming the ingestion host.\n  registered TLS: {tls_summary(config)}\n"
        f"  judge: " + mask("\n  ".join(why) or "(no failure recorded)", served.secrets)
        + f"\n  warnings: {mask(target['warnings'], served.secrets)}"
    )
    if shape in STRICT_SHAPES:  # nothing on the ingestion side to set up: the config must simply work
        assert passed, message.replace(", and scanner's report has no warning naming the ingestion host", "")
        assert not any("ingestion host" in w for w in target["warnings"]), target["warnings"]
    assert passed or any("ingestion host" in w for w in target["warnings"]), message


def _append_summary(line: str) -> None:
    """Optional: SCANNER_CONFORMANCE_SUMMARY=<file> collects one JSON record per case (for reports)."""
    path = os.environ.get("SCANNER_CONFORMANCE_SUMMARY")
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps(json.loads(line)) + "\n")


@pytest.mark.superset
@pytest.mark.parametrize("shape", (*SHAPES, "https-private-path"))
def test_superset_config_is_usable_by_openmetadatas_connector(
    shape, om_ingestion, real_superset, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    conform("superset", shape, lambda tls: superset_target(real_superset, tls), om_ingestion=om_ingestion,
            run_cli=run_cli, catalog=catalog, server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)


@pytest.mark.parametrize("shape", SHAPES)
def test_looker_config_is_usable_by_openmetadatas_connector(
    shape, om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    conform("looker", shape, looker_target, om_ingestion=om_ingestion, run_cli=run_cli, catalog=catalog,
            server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)


@pytest.mark.parametrize("shape", SHAPES)
def test_tableau_config_is_usable_by_openmetadatas_connector(
    shape, om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    conform("tableau", shape, tableau_target, om_ingestion=om_ingestion, run_cli=run_cli, catalog=catalog,
            server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)


# -- the harness itself -------------------------------------------------------------------------------------


def test_the_judge_fails_a_config_the_connector_cannot_use(om_ingestion, catalog, tmp_path):
    """A wrong secret must not pass: the judge is not a rubber stamp (and it reports, never crashes)."""
    with looker_target(None) as served:
        config = {"type": "Looker", "hostPort": served.url, "clientId": "conf-id", "clientSecret": "wrong-secret"}
        verdict = run_judge(om_ingestion, config, catalog, judge_env("http", tmp_path, tmp_path), tmp_path,
                            served.secrets)
    assert verdict["passed"] is False
    assert verdict["stages"]["model"]["ok"] and verdict["stages"]["catalog_client"]["ok"]
    steps = verdict["stages"]["test_connection"]["steps"]
    assert [(s["name"], s["mandatory"], s["passed"]) for s in steps] == [("CheckAccess", True, False)]


def test_the_judge_reports_a_config_its_model_rejects(om_ingestion, catalog, tmp_path):
    config = {"type": "Tableau", "hostPort": "http://127.0.0.1:9", "notAField": 1}
    verdict = run_judge(om_ingestion, config, catalog, judge_env("http", tmp_path, tmp_path), tmp_path, ())
    assert verdict["passed"] is False
    assert verdict["stages"]["model"]["ok"] is False
    assert "ValidationError" in verdict["stages"]["model"]["error"]["type"]


def test_the_fake_catalog_serves_the_test_connection_definitions(catalog):
    """What OpenMetadata's test-connection code reads first (openmetadata.md §8); unknown ones are a 404."""
    session = requests.Session()
    session.trust_env = False
    base = f"{catalog.api_url}/v1/services/testConnectionDefinitions/name"
    auth = {"Authorization": f"Bearer {BOT_TOKEN}"}
    steps = {}
    for service_type in ("Superset", "Looker", "Tableau"):
        resp = session.get(f"{base}/{service_type}.testConnectionDefinition", headers=auth, timeout=10)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["name"] == service_type and body["fullyQualifiedName"] == f"{service_type}.testConnectionDefinition"
        steps[service_type] = [(s["name"], s["mandatory"]) for s in body["steps"]]
    assert steps == {
        "Superset": [("CheckAccess", True), ("GetDashboards", True), ("GetCharts", True)],
        "Looker": [("CheckAccess", True)],
        "Tableau": [("ServerInfo", True), ("GetWorkbooks", True), ("GetViews", False)],
    }
    missing = session.get(f"{base}/Metabase.testConnectionDefinition", headers=auth, timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"code": 404, "message": "testConnectionDefinition instance for "
                                                      "Metabase.testConnectionDefinition not found"}
    assert session.get(f"{base}/Superset.testConnectionDefinition", timeout=10).status_code == 401


def test_the_fake_tableau_serves_a_workbooks_views_with_usage():
    """``populate_views(usage=True)``, which OpenMetadata's GetWorkbooks step calls (TSC, as in the connector)."""
    import tableauserverclient as TSC
    from tableauserverclient.models.exceptions import UnpopulatedPropertyError

    with FakeTableau(tokens={"conf-pat": TABLEAU_SECRET}) as fake:
        server = TSC.Server(fake.url)
        server.use_server_version()
        with server.auth.sign_in(TSC.PersonalAccessTokenAuth("conf-pat", TABLEAU_SECRET, site_id="")):
            workbooks = list(TSC.Pager(server.workbooks))
            for workbook in workbooks:
                server.workbooks.populate_views(workbook, usage=True)
            views = [view for workbook in workbooks for view in workbook.views]
            assert len(views) == 5 and all(view.total_views > 0 for view in views)
            assert {view.id for view in views} == {view.id for view in TSC.Pager(server.views)}
            server.workbooks.populate_views(workbooks[0])
            with pytest.raises(UnpopulatedPropertyError):
                _ = workbooks[0].views[0].total_views
            workbooks[0]._id = "00000000-0000-0000-0000-000000000000"
            server.workbooks.populate_views(workbooks[0])
            with pytest.raises(TSC.ServerResponseError) as err:
                _ = workbooks[0].views  # TSC fetches lazily
            assert err.value.code == "404006"


# -- the catalog's defaults, as OpenMetadata's own models fill them ------------------------------------------

DEFAULTS_CORPUS = [
    {"type": "Superset", "hostPort": "http://h:8088", "connection": {"provider": "db", "username": "u", "password": "p"}},
    {"type": "Superset", "hostPort": "https://h", "connection": {"provider": "ldap", "username": "u", "password": "p",
                                                                  "verifySSL": "validate",
                                                                  "sslConfig": {"caCertificate": "/ca.pem"}}},
    {"type": "Looker", "hostPort": "https://l", "clientId": "a", "clientSecret": "b"},
    {"type": "Looker", "hostPort": "https://l", "clientId": "a", "clientSecret": "b",
     "gitCredentials": {"type": "GitHub", "repositoryOwner": "o", "repositoryName": "r", "token": "t"},
     "dashboardFilterPattern": {"includes": ["x"]}, "supportsMetadataExtraction": False},
    {"type": "Tableau", "hostPort": "https://t", "authType": {"username": "u", "password": "p"}},
    {"type": "Tableau", "hostPort": "https://t", "verifySSL": "validate", "sslConfig": {"caCertificate": "PEM"},
     "authType": {"personalAccessTokenName": "n", "personalAccessTokenSecret": "s"}, "paginationLimit": 25},
    {"type": "CustomDashboard", "hostPort": "http://c", "connectionOptions": {"a": "b"}},
    {"type": "Metabase", "hostPort": "http://m", "username": "u", "password": "p"},
    {"type": "Redash", "hostPort": "http://r", "username": "u", "apiKey": "k"},
    {"type": "PowerBI", "clientId": "a", "clientSecret": "b", "tenantId": "t"},
    {"type": "Mode", "accessToken": "a", "accessTokenPassword": "b", "workspaceName": "w"},
    {"type": "QlikCloud", "hostPort": "https://q", "token": "t"},
    {"type": "Lightdash", "hostPort": "https://l", "apiKey": "k", "projectUUID": "p", "spaceUUID": "s"},
    {"type": "DomoDashboard", "clientId": "a", "secretToken": "b", "instanceDomain": "https://acme.domo.com"},
    {"type": "Grafana", "hostPort": "https://g", "apiKey": "k"},
]


def _no_trailing_slash(value: Any) -> Any:
    """pydantic's AnyUrl adds a slash to a bare host (openmetadata.md §2.6); the server stores the text sent."""
    if isinstance(value, dict):
        return {k: _no_trailing_slash(v) for k, v in value.items()}
    if isinstance(value, str) and value.startswith(("http://", "https://")) and value.endswith("/"):
        return value.rstrip("/")
    return value


def test_schema_defaults_are_the_ones_openmetadatas_models_fill(om_ingestion, tmp_path):
    """The plan compares configs after filling the schema's defaults; OpenMetadata's own models are the judge
    of what those defaults are, for every platform in the corpus (nested ones included)."""
    from scanner.openmetadata.schema import ConnectionSchema

    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps(DEFAULTS_CORPUS))
    proc = subprocess.run([str(om_ingestion), str(TESTS / "om_defaults.py"), str(corpus)], capture_output=True,
                          text=True, timeout=JUDGE_TIMEOUT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    theirs = json.loads(proc.stdout)
    for config, their in zip(DEFAULTS_CORPUS, theirs, strict=True):
        ours = ConnectionSchema.of(config["type"]).with_defaults(config)
        assert _no_trailing_slash(ours) == _no_trailing_slash(their), config["type"]
        assert ours != config  # every config gains at least one default (supportsMetadataExtraction at least)
