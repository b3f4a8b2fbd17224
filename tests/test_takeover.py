"""Never take over what is not scanner's: a service of the name scanner would choose that scanner did not register
(for another address, or for this instance with other settings, or retired by a person) is a conflict, left alone,
unless the user adopts it; scanner's own services follow their instance when it moves."""

from __future__ import annotations

import json

import requests
from conftest import USER_TOKEN, catalog_env

from scanner.testing.fake_superset import FakeSuperset, FakeUser

SERVICES = "/api/v1/services/dashboardServices"
PASSWORD = "takeover-pw-7c21"


def env_for(url: str) -> dict[str, str]:
    return {"SUPERSET_URL__PROD": url, "SUPERSET_USERNAME__PROD": "scanner", "SUPERSET_PASSWORD__PROD": PASSWORD}


def persons_service(catalog, host_port: str) -> None:
    body = {"name": "superset_prod", "serviceType": "Superset", "description": "Finance's Superset",
            "connection": {"config": {"type": "Superset", "hostPort": host_port,
                                      "connection": {"provider": "db", "username": "fin", "password": "fin-pw"}}}}
    resp = requests.put(catalog.url + SERVICES, json=body, headers={"Authorization": f"Bearer {USER_TOKEN}"},
                        timeout=10)
    assert resp.status_code == 201, resp.text


def scan(run_cli, env, *args):
    result = run_cli("scan", "--output", "json", *args, env=env)
    assert result.stdout, result.stderr
    return result, json.loads(result.stdout)["targets"]


def test_a_persons_service_at_another_address_is_a_conflict_left_alone(run_cli, catalog):
    persons_service(catalog, "http://superset.finance.example.com:8088")
    before = json.dumps(catalog.services, sort_keys=True)
    with FakeSuperset(users={"scanner": FakeUser(PASSWORD)}) as fake:
        url = fake.url
        env = {**catalog_env(catalog), **env_for(url)}
        catalog.reset_log()
        dry, [planned] = scan(run_cli, env, "--dry-run")
        result, [entry] = scan(run_cli, env)
        table = run_cli("scan", env=env)
    for run, item in ((dry, planned), (result, entry)):
        assert run.code == 1, run.stderr
        assert (item["plan"]["action"], item["taken"]) == ("conflict", "conflict")
        assert "http://superset.finance.example.com:8088" in item["error"] and url in item["error"]
        assert "--adopt superset_prod" in item["error"] and 'name = "..."' in item["error"]
    assert catalog.calls("PUT") == []
    assert json.dumps(catalog.services, sort_keys=True) == before  # neither address nor credentials changed
    assert "conflict" in table.stdout and "--adopt superset_prod" in table.stdout


def test_adopt_takes_the_service_over_and_keeps_what_the_person_curated(run_cli, catalog):
    persons_service(catalog, "http://superset.finance.example.com:8088")
    with FakeSuperset(users={"scanner": FakeUser(PASSWORD)}) as fake:
        env = {**catalog_env(catalog), **env_for(fake.url)}
        result, [entry] = scan(run_cli, env, "--adopt", "superset_prod")
        assert result.code == 0, result.stderr
        assert (entry["plan"]["action"], entry["taken"]) == ("update", "updated")
        stored = catalog.services["superset_prod"]
        assert stored["connection"]["config"]["hostPort"] == fake.url
        assert stored["description"] == "Finance's Superset"
        # adopted once, it is scanner's from now on (the inventory remembers): no flag needed any more
        result, [entry] = scan(run_cli, env)
    assert result.code == 0 and entry["taken"] == "unchanged"


def test_a_persons_service_at_the_same_address_is_left_alone_until_adopted(run_cli, catalog):
    """The same instance (its address spelled otherwise), registered by a person with their own account: scanner
    neither rewrites it nor counts it as its own; --adopt does both, keeping what the person curated."""
    with FakeSuperset(users={"scanner": FakeUser(PASSWORD)}) as fake:
        persons_service(catalog, fake.url.replace("http://", "HTTP://") + "/")
        before = json.dumps(catalog.services, sort_keys=True)
        env = {**catalog_env(catalog), **env_for(fake.url)}
        catalog.reset_log()
        result, [entry] = scan(run_cli, env)
        assert result.code == 1, result.stderr
        assert (entry["plan"]["action"], entry["taken"]) == ("conflict", "conflict")
        assert "points at this instance, but scanner did not register it" in entry["error"]
        assert "--adopt superset_prod" in entry["error"] and "connection" in entry["error"]
        assert catalog.calls("PUT") == [] and json.dumps(catalog.services, sort_keys=True) == before

        result, [entry] = scan(run_cli, env, "--adopt", "superset_prod")
        assert result.code == 0 and (entry["plan"]["action"], entry["taken"]) == ("update", "updated")
        assert catalog.services["superset_prod"]["description"] == "Finance's Superset"
        result, [entry] = scan(run_cli, env)
    assert result.code == 0 and entry["taken"] == "unchanged"  # adopted: scanner's from now on


def test_a_service_a_person_retired_is_not_brought_back(run_cli, catalog):
    with FakeSuperset(users={"scanner": FakeUser(PASSWORD)}) as fake:
        persons_service(catalog, fake.url)
        resp = requests.delete(f"{catalog.url}{SERVICES}/name/superset_prod?hardDelete=false&recursive=true",
                               headers={"Authorization": f"Bearer {USER_TOKEN}"}, timeout=10)
        assert resp.status_code == 200, resp.text
        catalog.reset_log()
        result, [entry] = scan(run_cli, {**catalog_env(catalog), **env_for(fake.url)})
    assert result.code == 1 and (entry["plan"]["action"], entry["taken"]) == ("conflict", "conflict")
    assert "restore (soft-deleted)" in entry["error"] and "--adopt superset_prod" in entry["error"]
    assert catalog.calls("PUT") == [] and catalog.services["superset_prod"]["deleted"] is True


def test_a_service_identical_to_scanners_is_unchanged_but_not_made_scanners(run_cli, catalog, tmp_path):
    """What scanner would register, already there (scanner's own, from an inventory that is gone): nothing to write,
    and without --adopt it stays outside scanner's care (no pipeline)."""
    with FakeSuperset(users={"scanner": FakeUser(PASSWORD)}) as fake:
        env = {**catalog_env(catalog), **env_for(fake.url)}
        first, _ = scan(run_cli, env)
        assert first.code == 0
        env["SCANNER_INVENTORY"] = str(tmp_path / "another-inventory.sqlite3")
        catalog.reset_log()
        result, [entry] = scan(run_cli, env, "--ingest")
    assert result.code == 0, result.stderr
    assert (entry["plan"]["action"], entry["taken"]) == ("unchanged", "unchanged")
    assert entry["ingestion"]["action"] == "skip" and "--adopt superset_prod" in entry["ingestion"]["reason"]
    assert catalog.calls("PUT") == []


def test_scanners_own_service_follows_its_instance_when_it_moves(run_cli, catalog):
    users = {"scanner": FakeUser(PASSWORD)}
    with FakeSuperset(users=users) as old:
        result, [entry] = scan(run_cli, {**catalog_env(catalog), **env_for(old.url)})
        assert entry["taken"] == "created"
    with FakeSuperset(users=users) as new:
        result, [entry] = scan(run_cli, {**catalog_env(catalog), **env_for(new.url)})
        assert result.code == 0, result.stderr
        assert (entry["plan"]["action"], entry["taken"]) == ("update", "updated")
        assert catalog.services["superset_prod"]["connection"]["config"]["hostPort"] == new.url
    # without the inventory's memory scanner cannot tell it is its own: the safe answer is a conflict
    with FakeSuperset(users=users) as third:
        result, [entry] = scan(run_cli, {**catalog_env(catalog), **env_for(third.url)}, "--no-inventory")
    assert (result.code, entry["taken"]) == (1, "conflict")
