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
import ssl
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conformance import JUDGE_TIMEOUT, SHAPES, SUFFIX, TESTS, Served, TlsProxy, conform, judge_env, run_judge
from conftest import BOT_TOKEN

from scanner.testing.fake_looker import FakeLooker, LookerApiUser
from scanner.testing.fake_tableau import FakeTableau

pytestmark = pytest.mark.conformance


LOOKER_SECRET = "conf-looker-secret-81c2d4"
TABLEAU_SECRET = "conf-tableau-pat-5e07b9"
LOOKER_DASHBOARDS, LOOKER_MODELS = 4, 2
TABLEAU_WORKBOOKS, TABLEAU_VIEWS = 3, 5


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
    for service_type in ("Superset", "Looker", "Tableau", "Metabase", "Redash", "Lightdash", "Grafana", "PowerBI",
                         "Mode", "DomoDashboard", "QlikCloud", "QlikSense"):
        resp = session.get(f"{base}/{service_type}.testConnectionDefinition", headers=auth, timeout=10)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["name"] == service_type and body["fullyQualifiedName"] == f"{service_type}.testConnectionDefinition"
        steps[service_type] = [(s["name"], s["mandatory"]) for s in body["steps"]]
    assert steps == {
        "Superset": [("CheckAccess", True), ("GetDashboards", True), ("GetCharts", True)],
        "Looker": [("CheckAccess", True)],
        "Tableau": [("ServerInfo", True), ("GetWorkbooks", True), ("GetViews", False)],
        **{t: [("GetDashboards", True)] for t in ("Metabase", "Redash", "Lightdash", "Grafana", "DomoDashboard",
                                                 "QlikCloud", "QlikSense")},
        "PowerBI": [("CheckAccess", True), ("GetDashboards", True)], "Mode": [("CheckDashboards", True)],
    }
    missing = session.get(f"{base}/Hex.testConnectionDefinition", headers=auth, timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"code": 404, "message": "testConnectionDefinition instance for "
                                                      "Hex.testConnectionDefinition not found"}
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
