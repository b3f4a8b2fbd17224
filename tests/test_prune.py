"""--prune against the fake catalog (soft delete): what it deletes, and each fail-safe that refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from conftest import USER_TOKEN, catalog_env

from scanner.testing.server import LocalServer, Request, Response

NAMES = ["a", "b", "c", "d", "e"]


def write_targets(path: Path, urls: dict[str, str]) -> None:
    blocks = [f'[[targets]]\nplatform = "custom"\ninstance = "{n}"\nurl = "{u}"\n' for n, u in urls.items()]
    path.write_text("\n".join(blocks))


@pytest.fixture
def registered(tmp_path, run_cli, web, catalog):
    """Five custom services registered by scanner, plus one a person registered with the same naming."""
    inv = tmp_path / "inv.sqlite3"
    write_targets(tmp_path / "config.toml", {n: f"{web.url}/{n}" for n in NAMES})
    env = catalog_env(catalog)
    result = run_cli("scan", "--inventory", str(inv), env=env)
    assert result.code == 0, result.stderr
    person = {"name": "custom_manual", "serviceType": "CustomDashboard",
              "connection": {"config": {"type": "CustomDashboard"}}}
    resp = requests.put(catalog.api_url + "/v1/services/dashboardServices", json=person,
                        headers={"Authorization": f"Bearer {USER_TOKEN}"}, timeout=10)
    assert resp.status_code == 201

    def scan(urls: dict[str, str], *args: str):
        write_targets(tmp_path / "config.toml", urls)
        result = run_cli("scan", "--output", "json", "--inventory", str(inv), "--gone-after", "1", *args, env=env)
        return result, json.loads(result.stdout)

    return scan


def deleted(catalog) -> list[str]:
    return sorted(name for name, service in catalog.services.items() if service.get("deleted"))


def urls(web, names) -> dict[str, str]:
    return {n: f"{web.url}/{n}" for n in names}


def test_prune_soft_deletes_only_gone_services_scanner_registered(registered, catalog, web):
    result, report = registered(urls(web, NAMES[:4]) | {"x": web.url + "/x"}, "--prune")
    assert result.code == 0, result.stderr
    assert report["prune"]["deleted"] == ["custom_e"] and report["prune"]["refused"] is None
    assert deleted(catalog) == ["custom_e"]
    assert not catalog.services["custom_manual"].get("deleted")  # a person's service is never touched
    assert [c.query for c in catalog.calls("DELETE")] == [{"hardDelete": "false", "recursive": "true"}]

    # it is restorable: when the target comes back, the registration restores it
    result, report = registered(urls(web, NAMES) | {"x": web.url + "/x"}, "--prune")
    assert result.code == 0, result.stderr
    assert ("custom_e", "recovered") in [(d["service_name"], d["kind"]) for d in report["drift"]]
    assert deleted(catalog) == [] and report["prune"]["candidates"] == []


def test_without_prune_nothing_is_deleted(registered, catalog, web):
    result, report = registered(urls(web, NAMES[:2]))
    assert result.code == 0
    assert report["prune"] is None and catalog.calls("DELETE") == [] and deleted(catalog) == []
    assert {d["service_name"] for d in report["drift"] if d["kind"] == "gone"} == {"custom_c", "custom_d", "custom_e"}


def test_dry_run_lists_what_would_go(registered, catalog, web):
    result, report = registered(urls(web, NAMES[:4]), "--prune", "--dry-run")
    assert result.code == 0
    assert report["prune"]["candidates"] == ["custom_e"] and report["prune"]["deleted"] == []
    assert catalog.calls("DELETE") == []


def test_refused_when_more_than_the_share_would_go(registered, catalog, web):
    result, report = registered(urls(web, NAMES[:3]), "--prune")
    assert result.code == 1
    assert "2 of the 5 services" in report["prune"]["refused"] and "20%" in report["prune"]["refused"]
    assert catalog.calls("DELETE") == [] and deleted(catalog) == []


def test_refused_when_a_probe_errored(registered, catalog, web):
    def huge(request: Request) -> Response:  # a body over the 5 MiB cap: the probe ends as "error"
        return Response(200, b"x" * (6 * 1024 * 1024))

    with LocalServer(huge) as server:
        result, report = registered(urls(web, NAMES[:4]) | {"huge": server.url}, "--prune")
    assert result.code == 1
    assert [t["status"] for t in report["targets"] if t["service_name"] == "custom_huge"] == ["error"]
    assert "custom_huge" in report["prune"]["refused"] and catalog.calls("DELETE") == []


def test_refused_when_the_run_found_nothing(registered, catalog, tmp_path, run_cli):
    result, report = registered({}, "--prune")
    assert result.code == 1
    assert "found no target" in report["prune"]["refused"]
    assert catalog.calls("DELETE") == [] and deleted(catalog) == []
    table = run_cli("inventory", "--inventory", str(tmp_path / "inv.sqlite3")).stdout
    assert "gone" in table


def test_prune_needs_the_inventory(run_cli):
    result = run_cli("scan", "--prune", "--no-inventory")
    assert result.code == 2 and "--prune needs the inventory" in result.stderr


def test_a_gone_target_scanner_never_registered_is_left_alone(registered, catalog, web):
    person = {"name": "custom_f", "serviceType": "CustomDashboard",
              "connection": {"config": {"type": "CustomDashboard", "hostPort": "http://elsewhere.example.com"}}}
    resp = requests.put(catalog.api_url + "/v1/services/dashboardServices", json=person,
                        headers={"Authorization": f"Bearer {USER_TOKEN}"}, timeout=10)
    assert resp.status_code == 201
    result, report = registered(urls(web, [*NAMES, "f"]))  # seen by scanner, but not written by it: a conflict
    assert result.code == 1, result.stderr
    assert [t["taken"] for t in report["targets"] if t["service_name"] == "custom_f"] == ["conflict"]
    result, report = registered(urls(web, NAMES), "--prune")
    assert ("custom_f", "gone") in [(d["service_name"], d["kind"]) for d in report["drift"]]
    assert report["prune"]["candidates"] == [] and catalog.calls("DELETE") == [] and deleted(catalog) == []


def test_a_persons_new_service_under_a_gone_services_name_is_left_alone(registered, catalog, web):
    """The name alone is not proof: a person replaced scanner's gone custom_e with a service for another instance."""
    result, report = registered(urls(web, NAMES[:4]))
    assert result.code == 0 and report["prune"] is None
    headers = {"Authorization": f"Bearer {USER_TOKEN}"}
    services = catalog.api_url + "/v1/services/dashboardServices"
    resp = requests.delete(services + "/name/custom_e?hardDelete=true&recursive=true", headers=headers, timeout=10)
    assert resp.status_code == 200, resp.text
    body = {"name": "custom_e", "serviceType": "CustomDashboard", "description": "Bob's, another host",
            "connection": {"config": {"type": "CustomDashboard", "hostPort": "http://127.0.0.1:3/"}}}
    assert requests.put(services, json=body, headers=headers, timeout=10).status_code == 201

    catalog.reset_log()
    for args in (("--prune", "--dry-run"), ("--prune",)):
        result, report = registered(urls(web, NAMES[:4]), *args)
        assert result.code == 0, result.stderr
        assert report["prune"]["deleted"] == [] and "http://127.0.0.1:3/" in report["prune"]["left"]["custom_e"]
    assert catalog.calls("DELETE") == [] and deleted(catalog) == []
