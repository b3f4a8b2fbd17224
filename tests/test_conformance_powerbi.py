"""Conformance for Power BI: OpenMetadata's own Power BI connector (openmetadata-ingestion 2.0.7.0, MSAL 1.39 in its
venv) judges the config scanner registers for the Power BI fake (``scanner.testing.fake_powerbi``: Entra and the REST
API on one loopback server), over every TLS shape of ``tests/conformance.py`` (rules in ``tests/test_conformance.py``'s
docstring).

MSAL refuses any authority that is not https, in scanner and in OpenMetadata's connector alike, so:

* ``http``: no Power BI config over plain http exists. scanner refuses ``POWERBI_AUTHORITY_URL=http://...`` when it
  reads the settings (nothing is sent, nothing registered), and the judge, given the config that would have been
  registered, shows OpenMetadata's connector refusing it too (MSAL's "should consist of an https url").
* ``https-public``: the fake's CA is the default trust store on both sides: the config must pass the judge outright
  (MSAL's discovery and token request, both listing paths, the test connection's CheckAccess and GetDashboards).
* ``https-private``: the CA is scanner's only (``POWERBI_CA_BUNDLE``); OpenMetadata's connector has no TLS setting,
  so the judge fails, and scanner's report must carry the warning naming the ingestion host.

The one harness change (``tests/om_listing_powerbi.py``'s ``prepare``): MSAL's instance discovery is off, as it would
otherwise ask ``login.microsoftonline.com`` about the loopback authority. The listing counts must equal what the fake
holds; a second case runs the admin path (``useAdminApis`` true: the workspace scan API).
"""

from __future__ import annotations

import contextlib
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from conformance import SHAPES, SUFFIX, Served, conform, judge_env, run_judge

from scanner.testing.fake_powerbi import FakePowerBI, ServicePrincipal, Workspace

pytestmark = pytest.mark.conformance

TENANT = "3c1e5f7a-9b2d-4c6e-8f0a-1b3d5e7f9a2c"
CLIENT = "8e6c4a2b-0d1f-4e3a-9c5b-7d9f1b3e5a6c"
SECRET = "Zq7~conf.PowerBi-Secret_4b9e2d71c0a6f3e8"
WORKSPACES = (Workspace("Sales", dashboards=2, reports=3, datasets=1), Workspace("Finance", dashboards=1, reports=2,
                                                                                   datasets=2))
TILES, PAGES, TABLES = 2, 3, 1


def _expected(fake: FakePowerBI, admin: bool) -> dict:
    spaces = fake.workspaces
    dashboards = sum(w.dashboards for w in spaces)
    common = {"token_ok": True, "admin_path": admin, "workspaces_listed": len(spaces), "dashboards_listed": dashboards,
              "tiles_listed": dashboards * TILES, "reports_listed": sum(w.reports for w in spaces),
              "datasets_listed": sum(w.datasets for w in spaces),
              "tables_listed": sum(w.datasets for w in spaces) * TABLES}
    if admin:
        return {**common, "workspaces_scanned": len(spaces)}
    return {**common, "report_pages_listed": sum(w.reports for w in spaces) * PAGES}


@contextlib.contextmanager
def powerbi_target(tls: ssl.SSLContext | None, *, admin: bool = False) -> Iterator[Served]:
    principal = ServicePrincipal(SECRET, tenant=TENANT, name="conf", admin_apis=admin)
    with FakePowerBI(principals={CLIENT: principal}, workspaces=WORKSPACES, tiles=TILES, pages=PAGES, tables=TABLES,
                     tls=tls) as fake:
        yield Served(
            url=fake.url,
            env={f"AZURE_TENANT_ID__{SUFFIX}": TENANT, f"AZURE_CLIENT_ID__{SUFFIX}": CLIENT,
                 f"AZURE_CLIENT_SECRET__{SUFFIX}": SECRET, f"POWERBI_AUTHORITY_URL__{SUFFIX}": fake.url + "/",
                 f"POWERBI_API_URL__{SUFFIX}": fake.url},
            expected=_expected(fake, admin),
            secrets=(SECRET,),
        )


def _http_is_refused_on_both_sides(om_ingestion: Path, run_cli, catalog, tmp_path: Path) -> None:
    from conftest import catalog_env

    with powerbi_target(None) as served:
        result = run_cli("scan", "--output", "json", env={**catalog_env(catalog), **served.env})
        [target] = json.loads(result.stdout)["targets"]
        assert target["status"] == "error" and target["steps"] == [] and target["taken"] == "skipped", target
        assert "authorityURI" in target["message"] and "must be https" in target["message"], target
        assert "MSAL" in target["message"] and f"POWERBI_AUTHORITY_URL__{SUFFIX}" in target["message"]
        assert served.env and not catalog.services and served.secrets[0] not in result.stdout + result.stderr
        # what would have been registered: OpenMetadata's own connector refuses it as well
        config = {"type": "PowerBI", "clientId": CLIENT, "clientSecret": SECRET, "tenantId": TENANT,
                  "useAdminApis": False, "authorityURI": served.url + "/", "apiURL": served.url}
        verdict = run_judge(om_ingestion, config, catalog, judge_env("http", tmp_path, tmp_path), tmp_path,
                            served.secrets)
    print(json.dumps({"case": "powerbi-http", "scanner": target["message"],
                      "judge": verdict["stages"].get("get_connection")}, default=str))
    assert verdict["passed"] is False and verdict["stages"]["model"]["ok"]
    assert verdict.get("harness_changes"), verdict
    error = verdict["stages"]["get_connection"]["error"]
    assert "should consist of an https url" in error["message"], error


@pytest.mark.parametrize("shape", SHAPES)
def test_powerbi_config_is_usable_by_openmetadatas_connector(
    shape, om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    if shape == "http":
        _http_is_refused_on_both_sides(om_ingestion, run_cli, catalog, tmp_path)
        return
    conform("powerbi", shape, powerbi_target, om_ingestion=om_ingestion, run_cli=run_cli, catalog=catalog,
            server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)


def test_powerbi_admin_config_is_usable_by_openmetadatas_connector(
    om_ingestion, run_cli, catalog, server_tls, ca_pem, tmp_path
):
    """A principal allowed the read-only admin APIs: registered ``useAdminApis: true``, ingested through the
    workspace scan API (``getInfo``, ``scanStatus``, ``scanResult``)."""
    conform("powerbi", "https-public", lambda tls: powerbi_target(tls, admin=True), om_ingestion=om_ingestion,
            run_cli=run_cli, catalog=catalog, server_tls=server_tls, ca_pem=ca_pem, tmp_path=tmp_path)
