"""Tests of the fake catalog's ingestion API (scanner/testing/fake_om_ingestion.py), over real sockets on 127.0.0.1.

Per shared/contracts/openmetadata-ingestion.md §7: the runner's health, pipelines (create/update/list/delete,
deploy, trigger, runs), test-connection workflows, AutoPilot, managed ``secret:`` references and permissions.
Every entity the fake answers is validated against the shared JSON schemas (tests/schemas.py); the ``conformance``
test at the end parses the answers with openmetadata-ingestion 2.0.7.0's own models.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import subprocess
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
import requests
from schemas import errors

import scanner.testing.fake_om_ingestion as ingestion_module
from scanner.testing.fake_om_ingestion import PIPELINES_PATH, WORKFLOWS_PATH, secret_id
from scanner.testing.fake_openmetadata import MASK, FakeOpenMetadata

BOT = {"Authorization": "Bearer bot-token"}
USER = {"Authorization": "Bearer user-token"}
API = "/api/v1"
PIPELINES = "/services/ingestionPipelines"
WORKFLOWS = "/automations/workflows"
NAME = "superset_prod_metadata_Ab12Cd34"


# ------------------------------------------------------------------------------------------------ helpers


@pytest.fixture
def make_fake():
    """Start a FakeOpenMetadata with the given modes (stopped at the end of the test)."""
    with contextlib.ExitStack() as stack:

        def make(**kwargs) -> FakeOpenMetadata:
            kwargs.setdefault("bot_token", "bot-token")
            kwargs.setdefault("user_token", "user-token")
            return stack.enter_context(FakeOpenMetadata(**kwargs))

        yield make


@pytest.fixture
def fake(make_fake):
    return make_fake()


def api(fake, method, path, headers=BOT, **kw):
    return requests.request(method, fake.url + API + path, headers=headers, timeout=15, **kw)


def assert_error(resp, status, message=None):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == status
    if message is not None:
        assert body["message"] == message
    return body["message"]


def check(entity, schema):
    """Validate against a shared schema. jsonschema checks ``multipleOf: 0.1`` by float division (0.3 / 0.1 is
    2.9999999999999996), so versions are checked here to be tenths and replaced by 0.1 before validating."""
    payload = copy.deepcopy(entity)

    def tenths(obj):
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key in ("version", "previousVersion", "currentVersion") and isinstance(value, float):
                    assert abs(value * 10 - round(value * 10)) < 1e-9 and value >= 0.1, (key, value)
                    obj[key] = 0.1
                else:
                    tenths(value)
        elif isinstance(obj, list):
            for item in obj:
                tenths(item)

    tenths(payload)
    assert errors(payload, schema) == [], json.dumps(entity)[:2000]


def superset_service(name="superset_prod", host_port="http://127.0.0.1:9/", password="s3cret", **config):
    return {
        "name": name,
        "serviceType": "Superset",
        "connection": {
            "config": {
                "type": "Superset",
                "hostPort": host_port,
                "connection": {"provider": "db", "username": "admin", "password": password},
                **config,
            }
        },
    }


def make_service(fake, name="superset_prod", **kw) -> dict:
    resp = api(fake, "PUT", "/services/dashboardServices", json=superset_service(name, **kw))
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


def pipeline_body(service, name=NAME, **extra):
    body = {
        "name": name,
        "pipelineType": "metadata",
        "sourceConfig": {"config": {"type": "DashboardMetadata"}},
        "airflowConfig": {"scheduleInterval": "0 */6 * * *"},
        "service": {"id": service["id"], "type": "dashboardService"},
    }
    body.update(extra)
    return body


def create_pipeline(fake, service, name=NAME, headers=BOT, **extra) -> dict:
    resp = api(fake, "PUT", PIPELINES, headers=headers, json=pipeline_body(service, name, **extra))
    assert resp.status_code == 201, resp.text
    return resp.json()


def deploy(fake, pipeline, headers=BOT):
    return api(fake, "POST", f"{PIPELINES}/deploy/{pipeline['id']}", headers=headers)


def trigger(fake, pipeline, headers=BOT):
    return api(fake, "POST", f"{PIPELINES}/trigger/{pipeline['id']}", headers=headers)


def statuses(fake, fqn, headers=BOT, **params):
    resp = api(fake, "GET", f"{PIPELINES}/{quote(fqn, safe='')}/pipelineStatus", headers=headers, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def get_pipeline(fake, fqn, headers=BOT, **params):
    return api(fake, "GET", f"{PIPELINES}/name/{quote(fqn, safe='')}", headers=headers, params=params)


def wait_for(predicate, timeout=10.0, interval=0.03):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


def tc_request(connection_type="Superset", service_name="superset_prod", name=None, **config):
    config = {"type": connection_type, **config}
    return {
        "name": name or f"test-connection-{connection_type}-Ab12Cd34",
        "workflowType": "TEST_CONNECTION",
        "request": {
            "connection": {"config": config},
            "serviceType": "Dashboard",
            "connectionType": connection_type,
            "serviceName": service_name,
        },
    }


def superset_test(host_port, password="s3cret", **kw):
    return tc_request(
        "Superset", hostPort=host_port, connection={"provider": "db", "username": "admin", "password": password}, **kw
    )


def post_workflow(fake, body, headers=BOT) -> dict:
    resp = api(fake, "POST", WORKFLOWS, headers=headers, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def trigger_workflow(fake, workflow, headers=BOT):
    return api(fake, "POST", f"{WORKFLOWS}/trigger/{workflow['id']}", headers=headers)


def get_workflow(fake, workflow, headers=BOT) -> dict:
    resp = api(fake, "GET", f"{WORKFLOWS}/{workflow['id']}", headers=headers)
    assert resp.status_code == 200, resp.text
    check(resp.json(), "Workflow.json")
    return resp.json()


@pytest.fixture
def listening_port():
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


# ------------------------------------------------------------------------------------------- runner health


@pytest.mark.parametrize(
    ("runner", "expected"),
    [
        ("airflow", {"code": 200, "version": "2.0.7", "platform": "Airflow"}),
        ("k8s", {"code": 200, "version": "2.0.7", "platform": "Kubernetes"}),
        ("disabled", {"code": 200, "reason": "Pipeline Client Disabled"}),
        (
            "down",
            {
                "code": 500,
                "reason": "Failed to get Airflow status due to [Connection refused]. Follow [this guide]"
                "(https://docs.open-metadata.org/deployment/ingestion/openmetadata) for further details.",
                "platform": "Airflow",
            },
        ),
    ],
)
def test_runner_status_per_mode(make_fake, runner, expected):
    fake = make_fake(runner=runner)
    resp = api(fake, "GET", PIPELINES + "/status")
    assert resp.status_code == 200
    assert resp.json() == expected
    if runner != "disabled":
        check(resp.json(), "PipelineServiceClientResponse.json")
    else:
        assert errors(resp.json(), "PipelineServiceClientResponse.json")  # no platform: the 2.0.7 model refuses it


def test_runner_mode_changes_at_run_time_and_bad_modes_are_refused(make_fake):
    fake = make_fake()
    fake.runner = "k8s"
    assert api(fake, "GET", PIPELINES + "/status").json()["platform"] == "Kubernetes"
    fake.runner = "nonsense"
    assert api(fake, "GET", PIPELINES + "/status").status_code == 500
    for kwargs in ({"runner": "argo"}, {"secrets_manager": "vault"}, {"autopilot": "on"}, {"gen": "3.0"},
                   {"run_seconds": -1}):
        with pytest.raises(ValueError):
            FakeOpenMetadata(**kwargs)
    with pytest.raises(ValueError):
        fake.add_token("t", "someone", False, permissions={"Create", "Fly"})


# ------------------------------------------------------------------------------------------ create / update


def test_put_creates_a_pipeline_with_the_server_defaults(fake):
    service = make_service(fake)
    resp = api(fake, "PUT", PIPELINES, json=pipeline_body(service))
    assert resp.status_code == 201
    assert resp.headers["X-OpenMetadata-Change"] == "entityCreated"
    created = resp.json()
    check(created, "IngestionPipeline.json")
    assert created["fullyQualifiedName"] == f"superset_prod.{NAME}"
    assert created["sourceConfig"] == {"config": {"type": "DashboardMetadata"}}
    assert created["airflowConfig"] == {"scheduleInterval": "0 */6 * * *", "pausePipeline": False, "concurrency": 1,
                                        "pipelineTimezone": "UTC", "retries": 0, "retryDelay": 300,
                                        "maxActiveRuns": 1}
    assert created["service"] == {"id": service["id"], "type": "dashboardService", "name": "superset_prod",
                                  "fullyQualifiedName": "superset_prod", "deleted": False}
    for key, value in {"deployed": False, "enabled": True, "loggerLevel": "INFO", "raiseOnError": True,
                       "provider": "user", "enableStreamableLogs": False, "version": 0.1, "deleted": False,
                       "updatedBy": "ingestion-bot", "pipelineType": "metadata"}.items():
        assert created[key] == value, key
    assert "openMetadataServerConnection" not in created
    assert created["href"] == f"{fake.url}{PIPELINES_PATH}/{created['id']}"
    stored = fake.pipelines[created["fullyQualifiedName"]]
    assert stored["id"] == created["id"]


def test_identical_put_is_no_change_and_a_real_change_bumps_the_version(fake):
    service = make_service(fake)
    created = create_pipeline(fake, service)
    again = api(fake, "PUT", PIPELINES, json=pipeline_body(service))
    assert again.status_code == 200
    assert again.headers["X-OpenMetadata-Change"] == "entityNoChange"
    assert again.json()["version"] == 0.1
    assert again.json()["updatedAt"] == created["updatedAt"]

    changed = api(fake, "PUT", PIPELINES, json=pipeline_body(service, airflowConfig={"scheduleInterval": "0 * * * *"},
                                                               loggerLevel="DEBUG"))
    assert changed.status_code == 200
    assert changed.headers["X-OpenMetadata-Change"] == "entityUpdated"
    body = changed.json()
    check(body, "IngestionPipeline.json")
    assert body["version"] == 0.2
    assert body["airflowConfig"]["scheduleInterval"] == "0 * * * *"
    assert body["loggerLevel"] == "DEBUG"
    assert body["id"] == created["id"]
    names = [c["name"] for c in body["changeDescription"]["fieldsUpdated"]]
    assert names == ["airflowConfig", "loggerLevel"]

    source = api(fake, "PUT", PIPELINES, json=pipeline_body(
        service, airflowConfig={"scheduleInterval": "0 * * * *"}, loggerLevel="DEBUG",
        sourceConfig={"config": {"type": "DashboardMetadata", "includeOwners": True}}))
    assert source.json()["version"] == 0.3
    assert source.json()["changeDescription"]["fieldsUpdated"] == [
        {"name": "sourceConfig", "oldValue": "old-encrypted-value", "newValue": "new-encrypted-value"}]
    check(source.json(), "IngestionPipeline.json")


def test_post_creates_and_a_duplicate_post_is_409(fake):
    service = make_service(fake)
    resp = api(fake, "POST", PIPELINES, json=pipeline_body(service))
    assert resp.status_code == 201
    check(resp.json(), "IngestionPipeline.json")
    assert resp.headers["Location"].endswith(resp.json()["id"])
    assert_error(api(fake, "POST", PIPELINES, json=pipeline_body(service)), 409, "Entity already exists")


def test_fqn_quotes_dotted_names(fake):
    service = make_service(fake, name="my.superset")
    plain = create_pipeline(fake, service, name="my_superset_metadata_Ab12Cd34")
    assert plain["fullyQualifiedName"] == '"my.superset".my_superset_metadata_Ab12Cd34'
    dotted = create_pipeline(fake, service, name="weird.name")
    assert dotted["fullyQualifiedName"] == '"my.superset"."weird.name"'
    assert get_pipeline(fake, '"my.superset"."weird.name"').json()["id"] == dotted["id"]


def test_empty_source_config_is_stored_verbatim(fake):
    service = make_service(fake)
    created = create_pipeline(fake, service, sourceConfig={"config": {}}, airflowConfig={})
    assert created["sourceConfig"] == {"config": {}}
    assert created["airflowConfig"] == {"pausePipeline": False, "concurrency": 1, "pipelineTimezone": "UTC",
                                        "retries": 0, "retryDelay": 300, "maxActiveRuns": 1}
    check(created, "IngestionPipeline.json")


def test_create_validation_errors(fake):
    service = make_service(fake)
    put = lambda body: api(fake, "PUT", PIPELINES, json=body)  # noqa: E731
    assert_error(put({**pipeline_body(service), "enabled": True}), 400,
                 'Unrecognized field "enabled" (class org.openmetadata.schema.api.services.ingestionPipelines.'
                 'CreateIngestionPipeline), not marked as ignorable')
    body = pipeline_body(service)
    del body["airflowConfig"], body["sourceConfig"]
    assert_error(put(body), 400, "[sourceConfig must not be null, airflowConfig must not be null]")
    assert_error(put({"pipelineType": "metadata"}), 400,
                 "[name must not be null, sourceConfig must not be null, airflowConfig must not be null, "
                 "service must not be null]")
    assert_error(put(pipeline_body(service, name="a::b")), 400, '[name must match "^((?!::)[^>"\\x00-\\x1f])*$"]')
    assert_error(put(pipeline_body(service, name="a>b")), 400, '[name must match "^((?!::)[^>"\\x00-\\x1f])*$"]')
    assert_error(put(pipeline_body(service, name="tab\there")), 400)
    assert_error(put(pipeline_body(service, name="x" * 257)), 400, "[name size must be between 1 and 256]")
    assert_error(put(pipeline_body(service, pipelineType="ingest")), 400)
    assert_error(put(pipeline_body(service, loggerLevel="TRACE")), 400)
    assert_error(put(pipeline_body(service, airflowConfig={"cron": "x"})), 400,
                 'Unrecognized field "cron" (class org.openmetadata.schema.entity.services.ingestionPipelines.'
                 'AirflowConfig), not marked as ignorable')
    assert_error(put(pipeline_body(service, sourceConfig={"config": {"type": "DashboardMetadata", "bogus": 1}})),
                 400, 'Unrecognized field "bogus" (class org.openmetadata.schema.metadataIngestion.'
                 'DashboardServiceMetadataPipeline), not marked as ignorable')
    assert_error(put(pipeline_body(service, sourceConfig={"config": {"type": "DashboardMetadata",
                                                                     "includeTags": "yes"}})), 400)
    assert_error(put(pipeline_body(service, sourceConfig={"cfg": {}})), 400)
    missing = "3f2c1e4a-0000-4000-8000-000000000001"
    assert_error(put({**pipeline_body(service), "service": {"id": missing, "type": "dashboardService"}}), 404,
                 f"dashboardService instance for {missing} not found")
    assert_error(put({**pipeline_body(service), "service": {"id": service["id"], "type": "databaseService"}}), 404,
                 f"databaseService instance for {service['id']} not found")
    assert_error(put({**pipeline_body(service), "service": {"id": service["id"]}}), 400,
                 "[service.type must not be null]")
    assert_error(put({**pipeline_body(service), "service": {"id": "nope", "type": "dashboardService"}}), 400)
    assert fake.pipelines == {}


def test_a_deleted_service_is_404(fake):
    service = make_service(fake)
    api(fake, "DELETE", f"/services/dashboardServices/{service['id']}")
    assert_error(api(fake, "PUT", PIPELINES, json=pipeline_body(service)), 404,
                 f"dashboardService instance for {service['id']} not found")


def test_gen_1_13_name_rule_allows_angle_brackets(make_fake):
    fake = make_fake(gen="1.13")
    service = make_service(fake)
    assert api(fake, "PUT", PIPELINES, json=pipeline_body(service, name="a>b")).status_code == 201
    assert_error(api(fake, "PUT", PIPELINES, json=pipeline_body(service, name="a::b")), 400,
                 '[name must match "^((?!::).)*$"]')


# ------------------------------------------------------------------------------------------- read / list


def test_get_by_name_and_id_and_404s(fake):
    service = make_service(fake)
    created = create_pipeline(fake, service)
    by_name = get_pipeline(fake, created["fullyQualifiedName"])
    assert by_name.status_code == 200
    check(by_name.json(), "IngestionPipeline.json")
    by_id = api(fake, "GET", f"{PIPELINES}/{created['id']}")
    assert by_id.json()["fullyQualifiedName"] == created["fullyQualifiedName"]
    assert_error(get_pipeline(fake, "superset_prod.nothing"), 404,
                 "ingestionPipeline instance for superset_prod.nothing not found")
    ghost = "00000000-0000-0000-0000-000000000000"
    assert_error(api(fake, "GET", f"{PIPELINES}/{ghost}"), 404, f"ingestionPipeline instance for {ghost} not found")
    assert_error(get_pipeline(fake, created["fullyQualifiedName"], fields="tags"), 400, "Invalid field name tags")


def test_list_filters_and_pages(fake):
    prod = make_service(fake, name="superset_prod")
    other = make_service(fake, name="superset_prod2")
    dotted = make_service(fake, name="my.superset")
    for i in range(3):
        create_pipeline(fake, prod, name=f"prod_{i}")
    create_pipeline(fake, prod, name="prod_usage", pipelineType="usage")
    create_pipeline(fake, other, name="other_0")
    create_pipeline(fake, dotted, name="dotted_0")
    fake.add_pipeline("superset_prod", "agent", provider="automation", display_name="Metadata Agent")

    def names(**params):
        body = api(fake, "GET", PIPELINES, params=params).json()
        for item in body["data"]:
            check(item, "IngestionPipeline.json")
        return [p["name"] for p in body["data"]], body["paging"]

    got, paging = names(service="superset_prod", limit=100)
    assert got == ["agent", "prod_0", "prod_1", "prod_2", "prod_usage"]
    assert paging == {"total": 5}
    assert names(service="my.superset")[0] == ["dotted_0"]
    assert names(service="superset_prod", pipelineType="usage,lineage")[0] == ["prod_usage"]
    assert names(service="superset_prod", provider="automation")[0] == ["agent"]
    assert names(serviceType="dashboardService", limit=100)[1]["total"] == 7
    assert names(serviceType="databaseService")[1]["total"] == 0
    assert len(names()[0]) == 7  # default limit 10
    first, paging = names(limit=3)
    assert len(first) == 3 and paging["total"] == 7 and "after" in paging
    second, paging2 = names(limit=3, after=paging["after"])
    assert len(second) == 3 and not set(first) & set(second) and "before" in paging2


def test_fields_pipeline_statuses_is_a_list_in_2_0_and_one_object_in_1_13(make_fake):
    for gen in ("2.0", "1.13"):
        fake = make_fake(gen=gen, run_seconds=0)
        service = make_service(fake)
        created = create_pipeline(fake, service)
        assert deploy(fake, created).status_code == 200
        for _ in range(7):
            assert trigger(fake, created).status_code == 200
            time.sleep(0.002)
        got = get_pipeline(fake, created["fullyQualifiedName"], fields="pipelineStatuses,owners,followers").json()
        listed = api(fake, "GET", PIPELINES, params={"fields": "pipelineStatuses"}).json()["data"][0]
        if gen == "2.0":
            check(got, "IngestionPipeline.json")
            assert len(got["pipelineStatuses"]) == 5
            stamps = [s["timestamp"] for s in got["pipelineStatuses"]]
            assert stamps == sorted(stamps, reverse=True)
            assert listed["pipelineStatuses"] == got["pipelineStatuses"]
        else:
            assert isinstance(got["pipelineStatuses"], dict)
            assert got["pipelineStatuses"]["pipelineState"] == "success"
            assert errors(got, "IngestionPipeline.json")  # the 2.0.7 model refuses a single object
        assert got["owners"] == [] and got["followers"] == []


def test_owners_are_inherited_from_the_service(fake):
    team = fake.add_team("bi-team")
    resp = api(fake, "PUT", "/services/dashboardServices",
               json={**superset_service(), "owners": [{"id": team["id"], "type": "team"}]})
    service = resp.json()
    created = create_pipeline(fake, service)
    assert [(o["name"], o["inherited"]) for o in created["owners"]] == [("bi-team", True)]
    check(created, "IngestionPipeline.json")


# ------------------------------------------------------------------------------------------------ delete


def test_hard_delete_then_404_and_runner_down_needs_force(make_fake):
    fake = make_fake()
    service = make_service(fake)
    created = create_pipeline(fake, service)
    fake.runner = "down"
    path = f"{PIPELINES}/{created['id']}"
    assert_error(api(fake, "DELETE", path, params={"hardDelete": "true"}), 400,
                 f"Failed to delete pipeline [{NAME}] due to [Connection refused].")
    resp = api(fake, "DELETE", path, params={"hardDelete": "true", "force": "true"})
    assert resp.status_code == 200
    assert resp.headers["X-OpenMetadata-Change"] == "entityDeleted"
    check(resp.json(), "IngestionPipeline.json")
    assert_error(api(fake, "GET", path), 404)
    assert fake.pipelines == {}


def test_soft_delete_hides_and_put_restores(fake):
    service = make_service(fake)
    created = create_pipeline(fake, service)
    resp = api(fake, "DELETE", f"{PIPELINES}/{created['id']}")
    assert resp.status_code == 200 and resp.json()["deleted"] is True
    assert_error(get_pipeline(fake, created["fullyQualifiedName"]), 404)
    assert get_pipeline(fake, created["fullyQualifiedName"], include="all").json()["deleted"] is True
    restored = api(fake, "PUT", PIPELINES, json=pipeline_body(service))
    assert restored.status_code == 200 and restored.json()["deleted"] is False
    assert restored.json()["version"] == 0.3


# ------------------------------------------------------------------------------------------------ deploy


@pytest.mark.parametrize("runner", ["airflow", "k8s"])
def test_deploy_marks_deployed(make_fake, runner):
    fake = make_fake(runner=runner)
    created = create_pipeline(fake, make_service(fake))
    resp = deploy(fake, created)
    assert resp.status_code == 200
    platform = {"airflow": "Airflow", "k8s": "Kubernetes"}[runner]
    assert resp.json() == {"code": 200, "reason": f'{{"message": "Workflow [{NAME}] has been created"}}',
                           "platform": platform}
    check(resp.json(), "PipelineServiceClientResponse.json")
    got = get_pipeline(fake, created["fullyQualifiedName"]).json()
    assert got["deployed"] is True
    assert got["version"] == 0.2
    again = deploy(fake, created)
    assert again.status_code == 200
    assert get_pipeline(fake, created["fullyQualifiedName"]).json()["version"] == 0.2  # no change, no bump


def test_deploy_disabled_and_down(make_fake):
    fake = make_fake(runner="disabled")
    created = create_pipeline(fake, make_service(fake))
    resp = deploy(fake, created)
    assert resp.status_code == 200
    assert resp.json() == {"code": 200, "reason": "Pipeline Client Disabled"}
    assert fake.pipelines[created["fullyQualifiedName"]]["deployed"] is False
    fake.runner = "down"
    assert_error(deploy(fake, created), 400, f"Failed to deploy pipeline [{NAME}] due to [Connection refused].")
    assert fake.pipelines[created["fullyQualifiedName"]]["deployed"] is False
    fake.runner = "airflow"
    assert_error(api(fake, "POST", f"{PIPELINES}/deploy/00000000-0000-0000-0000-000000000000"), 404)


def test_deploy_and_trigger_permissions(fake):
    created = create_pipeline(fake, make_service(fake))
    fake.add_token("viewer", "viewer", False, permissions={"ViewAll"})
    fake.add_token("deployer", "deployer", False, permissions={"Deploy"})
    fake.add_token("editor", "editor", True, permissions={"EditAll"})
    fake.add_token("runner", "runner", True, permissions={"Trigger"})
    viewer, deployer = {"Authorization": "Bearer viewer"}, {"Authorization": "Bearer deployer"}
    editor, runner = {"Authorization": "Bearer editor"}, {"Authorization": "Bearer runner"}
    assert_error(deploy(fake, created, viewer), 403,
                 "Principal: CatalogPrincipal{name='viewer'} operations [Deploy] not allowed")
    assert deploy(fake, created, deployer).status_code == 200
    assert deploy(fake, created, editor).status_code == 200
    assert_error(trigger(fake, created, editor), 403,
                 "Principal: CatalogPrincipal{name='editor'} operations [Trigger] not allowed")
    assert trigger(fake, created, runner).status_code == 200


# ----------------------------------------------------------------------------------------------- trigger


def test_trigger_needs_a_deployed_pipeline(fake):
    created = create_pipeline(fake, make_service(fake))
    assert_error(trigger(fake, created), 400,
                 f"Failed to deploy pipeline [{NAME}] due to [Failed to trigger IngestionPipeline].")
    assert fake.pipeline_statuses == {}


def test_trigger_airflow_runs_then_succeeds(make_fake):
    fake = make_fake(run_seconds=0.6)
    created = create_pipeline(fake, make_service(fake))
    deploy(fake, created)
    before = int(time.time() * 1000)
    resp = trigger(fake, created)
    assert resp.status_code == 200
    assert resp.json() == {"code": 200, "reason": f'{{"message": "Workflow [{NAME}] has been triggered"}}',
                           "platform": "Airflow"}
    check(resp.json(), "PipelineServiceClientResponse.json")
    fqn = created["fullyQualifiedName"]
    first = statuses(fake, fqn)["data"]
    assert len(first) == 1 and first[0]["pipelineState"] == "running" and "endDate" not in first[0]
    assert first[0]["startDate"] >= before
    done = wait_for(lambda: [s for s in statuses(fake, fqn)["data"] if s["pipelineState"] == "success"])
    assert done[0]["endDate"] == done[0]["startDate"] + 600
    check({"name": "x", "pipelineType": "metadata", "sourceConfig": {}, "airflowConfig": {},
           "pipelineStatuses": done}, "IngestionPipeline.json")


def test_trigger_k8s_returns_a_run_id_and_goes_queued_running_done(make_fake):
    fake = make_fake(runner="k8s", run_seconds=2.0)
    created = create_pipeline(fake, make_service(fake))
    deploy(fake, created)
    resp = trigger(fake, created)
    body = resp.json()
    assert resp.status_code == 200
    assert body["platform"] == "Kubernetes" and body["code"] == 200
    assert body["reason"] == f'{{"message": "Workflow [{NAME}] has been triggered"}}'
    check(body, "PipelineServiceClientResponse.json")
    fqn = created["fullyQualifiedName"]
    seen = [statuses(fake, fqn)["data"][0]]
    assert seen[0]["runId"] == body["runId"] and seen[0]["pipelineState"] == "queued"

    def state(wanted):
        current = statuses(fake, fqn)["data"][0]
        seen.append(current)
        return current["pipelineState"] == wanted

    wait_for(lambda: state("running"))
    wait_for(lambda: state("success"))
    order = ["queued", "running", "success"]
    ranks = [order.index(s["pipelineState"]) for s in seen]
    assert ranks == sorted(ranks)
    assert seen[-1]["endDate"] == seen[-1]["startDate"] + 2000
    one = api(fake, "GET", f"{PIPELINES}/{quote(fqn, safe='')}/pipelineStatus/{body['runId']}")
    assert one.json()["pipelineState"] == "success"


def test_trigger_disabled_and_down(make_fake):
    fake = make_fake()
    created = create_pipeline(fake, make_service(fake))
    deploy(fake, created)
    fake.runner = "disabled"
    resp = trigger(fake, created)
    assert resp.status_code == 200 and resp.json() == {"code": 200, "reason": "Pipeline Client Disabled"}
    fake.runner = "down"
    assert_error(trigger(fake, created), 400,
                 f"Failed to deploy pipeline [{NAME}] due to [Failed to trigger IngestionPipeline].")
    assert fake.pipeline_statuses == {}


def test_run_outcomes_by_service_name_and_by_pipeline_fqn(make_fake):
    fake = make_fake(run_seconds=0)
    service = make_service(fake)
    failing = create_pipeline(fake, service, name="a")
    partial = create_pipeline(fake, service, name="b")
    fake.run_outcomes["superset_prod"] = "failed"
    fake.run_outcomes[partial["fullyQualifiedName"]] = "partialSuccess"
    for pipeline in (failing, partial):
        deploy(fake, pipeline)
        trigger(fake, pipeline)
    assert statuses(fake, failing["fullyQualifiedName"])["data"][0]["pipelineState"] == "failed"
    assert statuses(fake, partial["fullyQualifiedName"])["data"][0]["pipelineState"] == "partialSuccess"
    assert fake.pipeline_statuses[failing["fullyQualifiedName"]][0]["pipelineState"] == "failed"


# -------------------------------------------------------------------------------------------- statuses


def test_pipeline_status_window_order_paging_and_upsert(fake):
    created = create_pipeline(fake, make_service(fake))
    fqn = created["fullyQualifiedName"]
    path = f"{PIPELINES}/{quote(fqn, safe='')}/pipelineStatus"
    for i, state in enumerate(("success", "failed", "running")):
        resp = api(fake, "PUT", path, json={"runId": f"run-{i}", "pipelineState": state, "startDate": 1000 + i,
                                            "timestamp": 1000 + i})
        assert resp.status_code == 201
        assert resp.headers["X-OpenMetadata-Change"] == "entityFieldsChanged"
        event = resp.json()
        assert event["entityType"] == "ingestionPipeline" and event["entityId"] == created["id"]
        check(event["entity"], "IngestionPipeline.json")
    body = statuses(fake, fqn, startTs=1000, endTs=1001)
    assert [s["runId"] for s in body["data"]] == ["run-1", "run-0"]
    assert body["paging"] == {"before": "1000", "after": "1001", "total": 2}
    assert [s["runId"] for s in statuses(fake, fqn)["data"]] == ["run-2", "run-1", "run-0"]
    assert [s["runId"] for s in statuses(fake, fqn, startTs=0, endTs=5000, limit=1)["data"]] == ["run-2"]
    api(fake, "PUT", path, json={"runId": "run-2", "pipelineState": "success", "startDate": 1002,
                                 "timestamp": 1002, "endDate": 1500})
    latest = statuses(fake, fqn)["data"]
    assert len(latest) == 3 and latest[0]["pipelineState"] == "success" and latest[0]["endDate"] == 1500
    one = api(fake, "GET", f"{path}/run-1")
    assert one.status_code == 200 and one.json()["pipelineState"] == "failed"
    assert_error(api(fake, "GET", f"{path}/nope"), 404)
    assert_error(api(fake, "PUT", path, json={"runId": "x", "pipelineState": "done"}), 400)
    assert_error(api(fake, "PUT", path, json={"runId": "x", "state": "success"}), 400)
    fake.add_token("viewer", "viewer", False, permissions={"ViewAll"})
    assert_error(api(fake, "PUT", path, headers={"Authorization": "Bearer viewer"}, json={"runId": "y"}), 403)
    assert_error(api(fake, "GET", f"{PIPELINES}/{quote('superset_prod.nope', safe='')}/pipelineStatus"), 404)


def test_a_reported_status_replaces_the_simulation(make_fake):
    fake = make_fake(runner="k8s", run_seconds=30)
    created = create_pipeline(fake, make_service(fake))
    deploy(fake, created)
    run_id = trigger(fake, created).json()["runId"]
    fqn = created["fullyQualifiedName"]
    path = f"{PIPELINES}/{quote(fqn, safe='')}/pipelineStatus"
    api(fake, "PUT", path, json={"runId": run_id, "pipelineState": "failed", "timestamp": 1, "endDate": 2})
    assert [s["pipelineState"] for s in statuses(fake, fqn)["data"]] == ["failed"]


def test_gen_1_13_requires_both_timestamps(make_fake):
    fake = make_fake(gen="1.13")
    created = create_pipeline(fake, make_service(fake))
    path = f"{PIPELINES}/{quote(created['fullyQualifiedName'], safe='')}/pipelineStatus"
    assert_error(api(fake, "GET", path), 400,
                 "[query param startTs must not be null, query param endTs must not be null]")
    assert api(fake, "GET", path, params={"startTs": 0, "endTs": 1}).status_code == 200


# ------------------------------------------------------------------------------------------ redeploy rule


def test_redeploy_rule_for_a_deployed_pipeline(make_fake):
    fake = make_fake()
    service = make_service(fake)
    created = create_pipeline(fake, service)
    deploy(fake, created)
    fqn = created["fullyQualifiedName"]
    fake.runner = "down"
    hourly = pipeline_body(service, airflowConfig={"scheduleInterval": "0 * * * *"})
    assert_error(api(fake, "PUT", PIPELINES, json=hourly), 400,
                 "Deployment failed: runner unavailable. Changes not saved.")
    assert fake.pipelines[fqn]["airflowConfig"]["scheduleInterval"] == "0 */6 * * *"
    for field, value in (("loggerLevel", "DEBUG"),
                         ("sourceConfig", {"config": {"type": "DashboardMetadata", "includeTags": False}})):
        assert_error(api(fake, "PUT", PIPELINES, json=pipeline_body(service, **{field: value})), 400)
    same = api(fake, "PUT", PIPELINES, json=pipeline_body(service))
    assert same.status_code == 200 and same.headers["X-OpenMetadata-Change"] == "entityNoChange"
    described = api(fake, "PUT", PIPELINES, json=pipeline_body(service, description="no redeploy needed"))
    assert described.status_code == 200 and described.headers["X-OpenMetadata-Change"] == "entityUpdated"
    fake.runner = "disabled"
    assert api(fake, "PUT", PIPELINES, json=hourly).status_code == 200
    fake.runner = "airflow"
    daily = pipeline_body(service, airflowConfig={"scheduleInterval": "0 0 * * *"})
    resp = api(fake, "PUT", PIPELINES, json=daily)
    assert resp.status_code == 200 and resp.json()["airflowConfig"]["scheduleInterval"] == "0 0 * * *"
    assert resp.json()["deployed"] is True


def test_redeploy_rule_skips_undeployed_pipelines_and_1_13(make_fake):
    for gen, deployed in (("2.0", False), ("1.13", True)):
        fake = make_fake(gen=gen)
        service = make_service(fake)
        created = create_pipeline(fake, service)
        if deployed:
            deploy(fake, created)
        fake.runner = "down"
        resp = api(fake, "PUT", PIPELINES, json=pipeline_body(service, airflowConfig={"scheduleInterval": "@daily"}))
        assert resp.status_code == 200, (gen, resp.text)


# ------------------------------------------------------------------------------------------- permissions


def test_create_and_update_permissions_and_view_all(fake):
    service = make_service(fake)
    fake.add_token("viewer", "viewer", False, permissions=set())
    fake.add_token("creator", "creator", True, permissions={"Create", "ViewAll"})
    viewer, creator = {"Authorization": "Bearer viewer"}, {"Authorization": "Bearer creator"}
    assert_error(api(fake, "PUT", PIPELINES, headers=viewer, json=pipeline_body(service)), 403,
                 "Principal: CatalogPrincipal{name='viewer'} operations [Create] not allowed")
    assert_error(api(fake, "POST", PIPELINES, headers=viewer, json=pipeline_body(service)), 403)
    created = create_pipeline(fake, service, headers=creator)
    assert created["updatedBy"] == "creator"
    changed = pipeline_body(service, description="x")
    assert_error(api(fake, "PUT", PIPELINES, headers=creator, json=changed), 403,
                 "Principal: CatalogPrincipal{name='creator'} operations [EditAll] not allowed")
    hidden = get_pipeline(fake, created["fullyQualifiedName"], headers=viewer).json()
    assert hidden["sourceConfig"] == {"config": None}
    check(hidden, "IngestionPipeline.json")
    listed = api(fake, "GET", PIPELINES, headers=viewer).json()["data"][0]
    assert listed["sourceConfig"] == {"config": None}
    assert get_pipeline(fake, created["fullyQualifiedName"], headers=USER).json()["sourceConfig"]["config"]
    assert_error(api(fake, "DELETE", f"{PIPELINES}/{created['id']}", headers=creator), 403)


# ------------------------------------------------------------------------------------------- workflows


def test_workflow_create_validates_and_masks(fake):
    make_service(fake, password="stored-secret")
    body = superset_test("http://127.0.0.1:9/", password=MASK)
    resp = api(fake, "POST", WORKFLOWS, json=body)
    assert resp.status_code == 201
    created = resp.json()
    check(created, "Workflow.json")
    assert created["status"] == "Pending"
    assert created["fullyQualifiedName"] == created["name"] == body["name"]
    assert "response" not in created
    request = created["request"]
    assert request["secretsManagerProvider"] == "db"
    assert request["connection"]["config"]["connection"]["password"] == "stored-secret"  # bot: plaintext
    assert request["connection"]["config"]["connection"]["verifySSL"] == "no-ssl"  # converted: defaults in
    human = api(fake, "GET", f"{WORKFLOWS}/name/{body['name']}", headers=USER).json()
    assert human["request"]["connection"]["config"]["connection"]["password"] == MASK
    check(human, "Workflow.json")
    assert fake.workflows[created["id"]]["request"]["connection"]["config"]["connection"]["password"] == \
        "stored-secret"
    assert_error(api(fake, "POST", WORKFLOWS, json=body), 409, "Entity already exists")
    fake.add_token("viewer", "viewer", False, permissions={"Create"})
    hidden = api(fake, "GET", f"{WORKFLOWS}/{created['id']}", headers={"Authorization": "Bearer viewer"}).json()
    assert hidden["request"]["connection"] == {"config": None}
    check(hidden, "Workflow.json")


def test_workflow_create_errors(fake):
    post = lambda body: api(fake, "POST", WORKFLOWS, json=body)  # noqa: E731
    bad = tc_request("Looker", hostPort="https://looker.example.com/", clientId="c", clientSecret="s",
                       unknownKey=1)
    assert_error(post(bad), 400, "Failed to convert class instance of Looker")
    wrong_type = tc_request("Looker", hostPort="https://looker.example.com/")
    wrong_type["request"]["connection"]["config"]["type"] = "Tableau"
    assert_error(post(wrong_type), 400, "Failed to convert class instance of Looker")
    database = tc_request("Looker", hostPort="https://looker.example.com/")
    database["request"]["serviceType"] = "Database"
    assert_error(post(database), 400, "Failed to convert class instance of Looker")
    nonsense = tc_request("Looker", hostPort="https://looker.example.com/")
    nonsense["request"]["serviceType"] = "dashboardService"
    assert_error(post(nonsense), 400)
    assert_error(post({**tc_request(), "extra": 1}), 400,
                 'Unrecognized field "extra" (class org.openmetadata.schema.entity.automations.CreateWorkflow), '
                 "not marked as ignorable")
    assert_error(post({"name": "x", "workflowType": "TEST_CONNECTION"}), 400, "[request must not be null]")
    assert_error(post({**tc_request(), "workflowType": "SOMETHING"}), 400)
    fake.add_token("reader", "reader", False, permissions={"ViewAll"})
    assert_error(api(fake, "POST", WORKFLOWS, headers={"Authorization": "Bearer reader"}, json=tc_request()),
                 403, "Principal: CatalogPrincipal{name='reader'} operations [Create] not allowed")
    assert fake.workflows == {}


def test_workflow_put_upserts(fake):
    body = superset_test("http://127.0.0.1:9/")
    first = api(fake, "PUT", WORKFLOWS, json=body)
    assert first.status_code == 201 and first.headers["X-OpenMetadata-Change"] == "entityCreated"
    same = api(fake, "PUT", WORKFLOWS, json=body)
    assert same.status_code == 200 and same.headers["X-OpenMetadata-Change"] == "entityNoChange"
    changed = api(fake, "PUT", WORKFLOWS, json={**body, "description": "again"})
    assert changed.headers["X-OpenMetadata-Change"] == "entityUpdated"
    assert changed.json()["version"] == 0.2 and changed.json()["id"] == first.json()["id"]
    check(changed.json(), "Workflow.json")


def test_airflow_trigger_runs_the_test_synchronously(fake, listening_port, closed_port):
    ok = post_workflow(fake, superset_test(f"http://127.0.0.1:{listening_port}/", name="ok"))
    resp = trigger_workflow(fake, ok)
    assert resp.status_code == 200
    assert resp.json() == {"code": 200, "reason": '{"message": "Workflow [ok] has been triggered."}',
                           "platform": "Airflow"}
    check(resp.json(), "PipelineServiceClientResponse.json")
    done = get_workflow(fake, ok)
    assert done["status"] == "Successful"
    assert done["response"]["status"] == "Successful"
    assert [(s["name"], s["passed"], s["mandatory"]) for s in done["response"]["steps"]] == [
        ("CheckAccess", True, True), ("GetDashboards", True, True), ("GetCharts", True, True)]
    assert isinstance(done["response"]["lastUpdatedAt"], int)

    closed = post_workflow(fake, superset_test(f"http://127.0.0.1:{closed_port}/", name="closed"))
    trigger_workflow(fake, closed)
    failed = get_workflow(fake, closed)
    assert failed["status"] == "Successful"  # finished
    assert failed["response"]["status"] == "Failed"
    (step,) = failed["response"]["steps"]  # CheckAccess short-circuits Superset's test
    assert step["name"] == "CheckAccess" and step["passed"] is False
    assert step["message"] == "Failed to connect to superset, please validate the credentials"
    assert f"127.0.0.1:{closed_port}" in step["errorLog"]

    local = post_workflow(fake, tc_request("Looker", name="localhost", hostPort=f"http://localhost:{listening_port}",
                                             clientId="c", clientSecret="s"))
    trigger_workflow(fake, local)
    assert get_workflow(fake, local)["response"]["status"] == "Successful"


def test_a_non_loopback_host_fails_without_any_connection(fake, monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("the fake must not connect")

    monkeypatch.setattr(ingestion_module.socket, "create_connection", refuse)
    for host in ("https://looker.example.com:19999/", "http://10.1.2.3:8088", "192.0.2.7:443"):
        workflow = post_workflow(fake, tc_request("Looker", name=f"t-{len(attempts)}-{host[-4:]}", hostPort=host,
                                                    clientId="c", clientSecret="s"))
        started = time.monotonic()
        trigger_workflow(fake, workflow)
        assert time.monotonic() - started < 2
        (step,) = get_workflow(fake, workflow)["response"]["steps"]
        assert step["passed"] is False
        assert "not reachable from the catalog" in step["errorLog"]
    assert attempts == []


def test_k8s_trigger_answers_at_once_then_progresses_over_gets(make_fake, listening_port):
    fake = make_fake(runner="k8s")
    workflow = post_workflow(fake, tc_request("Tableau", hostPort=f"http://127.0.0.1:{listening_port}"))
    resp = trigger_workflow(fake, workflow)
    assert resp.status_code == 200
    assert resp.json() == {"code": 200, "reason": f'{{"message": "Workflow [{workflow["name"]}] has been triggered."}}',
                           "platform": "Kubernetes"}
    assert fake.workflows[workflow["id"]]["status"] == "Pending"
    first, second, third = (get_workflow(fake, workflow) for _ in range(3))
    assert first["status"] == "Pending" and "response" not in first
    assert second["status"] == "Running"
    assert second["response"]["status"] == "Running" and [s["name"] for s in second["response"]["steps"]] == [
        "ServerInfo"]
    assert third["status"] == "Successful" and third["response"]["status"] == "Successful"
    assert [s["name"] for s in third["response"]["steps"]] == ["ServerInfo", "GetWorkbooks", "GetViews"]
    assert third["version"] > second["version"]
    assert get_workflow(fake, workflow)["status"] == "Successful"


def test_workflow_trigger_disabled_and_down(make_fake):
    fake = make_fake(runner="disabled")
    workflow = post_workflow(fake, superset_test("http://127.0.0.1:9/"))
    message = assert_error(trigger_workflow(fake, workflow), 500)
    assert message.startswith("Cannot invoke ") and message.endswith('because "pipelineServiceClient" is null')
    fake.runner = "down"
    assert_error(trigger_workflow(fake, workflow), 400,
                 f"Failed to deploy pipeline [{workflow['name']}] due to [No response from the test connection. "
                 "Make sure your service is reachable and accepting connections].")
    assert get_workflow(fake, workflow)["status"] == "Pending"
    assert_error(api(fake, "POST", f"{WORKFLOWS}/trigger/00000000-0000-0000-0000-000000000000"), 404)


def test_overrides_replace_step_outcomes(fake, listening_port):
    fake.test_connection_overrides["superset_prod"] = {"GetCharts": (False, "403 Forbidden on /api/v1/chart")}
    workflow = post_workflow(fake, superset_test(f"http://127.0.0.1:{listening_port}/"))
    trigger_workflow(fake, workflow)
    steps = get_workflow(fake, workflow)["response"]
    assert steps["status"] == "Failed"
    assert [(s["name"], s["passed"]) for s in steps["steps"]] == [
        ("CheckAccess", True), ("GetDashboards", True), ("GetCharts", False)]
    assert steps["steps"][2]["errorLog"] == "403 Forbidden on /api/v1/chart"

    fake.test_connection_overrides["superset_prod"] = {"CheckAccess": (True, "")}
    far = post_workflow(fake, superset_test("https://superset.example.com/", name="far"))
    trigger_workflow(fake, far)
    assert get_workflow(fake, far)["response"]["status"] == "Successful"  # the override skips the TCP step


def test_types_without_host_port_pass_the_first_step(fake):
    workflow = post_workflow(fake, tc_request("PowerBI", clientId="c", clientSecret="s", tenantId="t"))
    trigger_workflow(fake, workflow)
    done = get_workflow(fake, workflow)
    assert done["response"]["status"] == "Successful"
    assert done["request"]["connection"]["config"]["hostPort"] == "https://app.powerbi.com"  # default filled in


def test_a_type_without_definition_fails_the_workflow(fake):
    workflow = post_workflow(fake, tc_request("CustomDashboard", sourcePythonClass="x.Y"))
    trigger_workflow(fake, workflow)
    assert get_workflow(fake, workflow)["status"] == "Failed"


def test_workflow_patch_get_by_name_and_hard_delete(fake):
    workflow = post_workflow(fake, superset_test("http://127.0.0.1:9/"))
    result = {"status": "Successful", "steps": [{"name": "CheckAccess", "mandatory": True, "passed": True}],
              "lastUpdatedAt": 1767225660000}
    patch = [{"path": "/response", "op": "add", "value": result}, {"path": "/status", "op": "add",
                                                                    "value": "Successful"}]
    resp = api(fake, "PATCH", f"{WORKFLOWS}/{workflow['id']}", data=json.dumps(patch),
               headers={**BOT, "Content-Type": "application/json-patch+json"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "Successful" and resp.json()["response"] == result
    assert resp.json()["version"] == 0.2
    bad = [{"path": "/status", "op": "replace", "value": "Done"}]
    assert_error(api(fake, "PATCH", f"{WORKFLOWS}/{workflow['id']}", data=json.dumps(bad),
                     headers={**BOT, "Content-Type": "application/json-patch+json"}), 400)
    by_name = api(fake, "GET", f"{WORKFLOWS}/name/{workflow['name']}")
    assert by_name.json()["id"] == workflow["id"]
    listed = api(fake, "GET", WORKFLOWS).json()
    assert listed["paging"]["total"] == 1
    deleted = api(fake, "DELETE", f"{WORKFLOWS}/{workflow['id']}", params={"hardDelete": "true"})
    assert deleted.status_code == 200 and deleted.json()["id"] == workflow["id"]
    check(deleted.json(), "Workflow.json")
    assert_error(api(fake, "GET", f"{WORKFLOWS}/{workflow['id']}"), 404,
                 f"workflow instance for {workflow['id']} not found")
    assert_error(api(fake, "GET", f"{WORKFLOWS}/name/{workflow['name']}"), 404)
    assert fake.deleted_workflows == [workflow["id"]]
    assert fake.workflows == {}


# ------------------------------------------------------------------------------------------------ AutoPilot


def trigger_autopilot(fake, fqn, headers=BOT):
    return api(fake, "POST", "/apps/trigger/AutoPilotApplication", headers=headers,
               json={"entityLink": f"<#E::dashboardService::{fqn}>"})


def test_autopilot_app_per_state(make_fake):
    fake = make_fake(autopilot="absent")
    assert_error(api(fake, "GET", "/apps/name/AutoPilotApplication"), 404,
                 "app instance for AutoPilotApplication not found")
    assert_error(trigger_autopilot(fake, "x"), 404)
    fake.autopilot = "inactive"
    app = api(fake, "GET", "/apps/name/AutoPilotApplication").json()
    assert app["name"] == "AutoPilotApplication"
    assert app["appConfiguration"] == {"type": "AutoPilotApplication", "active": False}
    assert_error(api(fake, "GET", "/apps/name/SearchIndexingApplication"), 404)


def test_autopilot_creates_deploys_runs_then_reuses(make_fake):
    fake = make_fake(run_seconds=0)
    service = make_service(fake, name="my.superset")
    resp = trigger_autopilot(fake, '"my.superset"')
    assert resp.status_code == 200 and resp.content == b""
    assert fake.autopilot_triggers == ['<#E::dashboardService::"my.superset">']
    listed = api(fake, "GET", PIPELINES, params={"service": "my.superset", "provider": "automation"}).json()["data"]
    assert len(listed) == 1
    agent = listed[0]
    check(agent, "IngestionPipeline.json")
    uuid_name = agent["name"]
    assert len(uuid_name) == 36 and agent["fullyQualifiedName"] == f'"my.superset".{uuid_name}'
    assert agent["displayName"] == "Metadata Agent" and agent["provider"] == "automation"
    assert agent["updatedBy"] == "governance-bot" and agent["deployed"] is True
    assert agent["service"]["id"] == service["id"]
    assert agent["airflowConfig"]["scheduleInterval"] == "0 0 * * 0"
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d")
    assert agent["airflowConfig"]["startDate"] == f"{yesterday}T00:00:00.000Z"
    assert agent["sourceConfig"]["config"]["type"] == "DashboardMetadata"
    assert [s["pipelineState"] for s in statuses(fake, agent["fullyQualifiedName"])["data"]] == ["success"]

    assert trigger_autopilot(fake, '"my.superset"').status_code == 200
    again = api(fake, "GET", PIPELINES, params={"service": "my.superset"}).json()["data"]
    assert [p["id"] for p in again] == [agent["id"]]
    assert len(statuses(fake, agent["fullyQualifiedName"])["data"]) == 2


def test_autopilot_reuses_a_metadata_agent_made_elsewhere(fake):
    make_service(fake)
    made = fake.add_pipeline("superset_prod", "agent", provider="automation", display_name="Metadata Agent",
                             deployed=True)
    assert made["updatedBy"] == "governance-bot" and made["deployed"] is True
    trigger_autopilot(fake, "superset_prod")
    assert list(fake.pipelines) == ["superset_prod.agent"]
    assert fake.pipeline_statuses["superset_prod.agent"]


def test_autopilot_does_nothing_when_inactive_or_unsupported_and_waits_for_a_runner(make_fake):
    fake = make_fake(autopilot="inactive")
    make_service(fake)
    make_service(fake, name="no_metadata", supportsMetadataExtraction=False)
    assert trigger_autopilot(fake, "superset_prod").status_code == 200
    assert fake.pipelines == {}
    fake.autopilot = "active"
    trigger_autopilot(fake, "no_metadata")
    trigger_autopilot(fake, "unknown_service")
    assert fake.pipelines == {}
    assert len(fake.autopilot_triggers) == 3
    fake.runner = "disabled"
    trigger_autopilot(fake, "superset_prod")
    (agent,) = fake.pipelines.values()
    assert agent["deployed"] is False and fake.pipeline_statuses == {}


def test_autopilot_patch_toggles_and_trigger_needs_permission(fake):
    patch = [{"op": "replace", "path": "/appConfiguration/active", "value": False}]
    resp = api(fake, "PATCH", "/apps/name/AutoPilotApplication", data=json.dumps(patch),
               headers={**USER, "Content-Type": "application/json-patch+json"})
    assert resp.status_code == 200 and resp.json()["appConfiguration"]["active"] is False
    assert resp.json()["version"] == 0.2
    assert fake.autopilot == "inactive"
    patch[0]["value"] = True
    api(fake, "PATCH", "/apps/name/AutoPilotApplication", data=json.dumps(patch),
        headers={**USER, "Content-Type": "application/json-patch+json"})
    assert fake.autopilot == "active"
    fake.add_token("viewer", "viewer", False, permissions={"ViewAll"})
    assert_error(trigger_autopilot(fake, "x", headers={"Authorization": "Bearer viewer"}), 403,
                 "Principal: CatalogPrincipal{name='viewer'} operations [Trigger] not allowed")


# -------------------------------------------------------------------------------------------- secrets


def test_managed_secrets_store_plaintext_and_keep_references(make_fake):
    fake = make_fake(secrets_manager="managed", bulk=True)
    created = api(fake, "PUT", "/services/dashboardServices", json=superset_service("My.Superset"))
    assert created.status_code == 201
    key = "/openmetadata/dashboard/my_superset/connection/password"
    assert secret_id("My.Superset", ["connection", "password"]) == key
    assert fake.secret_store == {key: "s3cret"}
    stored = fake.services['"My.Superset"']["connection"]["config"]["connection"]["password"]
    assert stored == "secret:" + key
    assert created.json()["connection"]["config"]["connection"]["password"] == "secret:" + key  # bot reads as stored
    human = api(fake, "GET", "/services/dashboardServices/name/My.Superset", headers=USER).json()
    assert human["connection"]["config"]["connection"]["password"] == MASK
    same = api(fake, "PUT", "/services/dashboardServices", json=superset_service("My.Superset"))
    assert same.headers["X-OpenMetadata-Change"] == "entityNoChange"

    referenced = api(fake, "POST", "/services/dashboardServices",
                     json=superset_service("ref", password="secret:/bi/superset/password"))
    assert referenced.json()["connection"]["config"]["connection"]["password"] == "secret:/bi/superset/password"
    assert "secret:/bi/superset/password" not in fake.secret_store.values()
    assert len(fake.secret_store) == 1

    bulk = api(fake, "PUT", "/services/dashboardServices/bulk", json=[superset_service("bulk_one", password="b1")])
    assert bulk.status_code == 200
    assert fake.secret_store["/openmetadata/dashboard/bulk_one/connection/password"] == "b1"


def test_db_secrets_keep_values_as_sent(fake):
    api(fake, "PUT", "/services/dashboardServices", json=superset_service("plain"))
    api(fake, "PUT", "/services/dashboardServices", json=superset_service("ref", password="secret:/x"))
    assert fake.services["plain"]["connection"]["config"]["connection"]["password"] == "s3cret"
    assert fake.services["ref"]["connection"]["config"]["connection"]["password"] == "secret:/x"
    assert fake.secret_store == {}


def test_managed_workflow_requests_name_the_provider(make_fake):
    fake = make_fake(secrets_manager="managed")
    workflow = post_workflow(fake, superset_test("http://127.0.0.1:9/"))
    assert workflow["request"]["secretsManagerProvider"] == "in-memory"


# ------------------------------------------------------------------------------------ log, faults, helpers


def test_new_routes_are_logged_without_tokens_and_faults_apply(fake):
    created = create_pipeline(fake, make_service(fake))
    fake.inject(503, method="POST", path_prefix=PIPELINES_PATH + "/deploy/")
    assert deploy(fake, created).status_code == 503
    assert fake.pipelines[created["fullyQualifiedName"]]["deployed"] is False
    assert deploy(fake, created).status_code == 200
    fake.inject(500, path_prefix=WORKFLOWS_PATH, body={"code": 500, "message": "boom"})
    assert_error(api(fake, "POST", WORKFLOWS, json=tc_request()), 500, "boom")
    logged = fake.calls(path_prefix=PIPELINES_PATH)
    assert [(r.method, r.status) for r in logged] == [("PUT", 201), ("POST", 503), ("POST", 200)]
    assert all(r.user == "ingestion-bot" for r in logged)
    assert fake.calls("POST", path_prefix=WORKFLOWS_PATH)[0].status == 500
    assert "bot-token" not in repr(fake.requests)


def test_add_pipeline_made_by_a_person(fake):
    make_service(fake)
    made = fake.add_pipeline("superset_prod", "by_hand", display_name="Hand made")
    assert made["provider"] == "user" and made["updatedBy"] == "admin" and made["deployed"] is False
    got = get_pipeline(fake, "superset_prod.by_hand").json()
    check(got, "IngestionPipeline.json")
    assert got["displayName"] == "Hand made"
    with pytest.raises(KeyError):
        fake.add_pipeline("nope", "x")
    with pytest.raises(ValueError):
        fake.add_pipeline("superset_prod", "by_hand")


def test_unauthenticated_ingestion_calls_are_401(fake):
    resp = requests.get(fake.url + API + PIPELINES + "/status", timeout=10)
    assert_error(resp, 401, "Not Authorized! Token not present")


# ------------------------------------------------------------------------------------------ conformance

JUDGE = r'''
import json, sys
from metadata.generated.schema.entity.automations.workflow import Workflow
from metadata.generated.schema.entity.services.ingestionPipelines.ingestionPipeline import (
    IngestionPipeline, PipelineStatus)
from metadata.generated.schema.entity.services.ingestionPipelines.pipelineServiceClientResponse import (
    PipelineServiceClientResponse)
from metadata.generated.schema.metadataIngestion.dashboardServiceMetadataPipeline import (
    DashboardServiceMetadataPipeline)
from metadata.ingestion.api.parser import parse_ingestion_pipeline_config_gracefully

MODELS = {"pipeline": IngestionPipeline, "status": PipelineStatus, "workflow": Workflow,
          "client": PipelineServiceClientResponse}
out = {}
for key, (kind, payload) in json.load(open(sys.argv[1])).items():
    try:
        if kind == "pipeline":
            parsed = parse_ingestion_pipeline_config_gracefully(payload)
            config = parsed.sourceConfig.config
            if payload["sourceConfig"]["config"] and payload["sourceConfig"]["config"].get("type") == "DashboardMetadata":
                assert isinstance(config, DashboardServiceMetadataPipeline), type(config).__name__
        else:
            MODELS[kind].model_validate(payload)
        out[key] = "ok"
    except Exception as exc:
        out[key] = f"{type(exc).__name__}: {str(exc)[:300]}"
print(json.dumps(out))
'''


@pytest.mark.conformance
def test_openmetadata_ingestion_parses_what_the_fake_answers(make_fake, om_ingestion, tmp_path, listening_port):
    docs: dict[str, tuple[str, object]] = {}
    for runner in ("airflow", "k8s"):
        fake = make_fake(runner=runner, run_seconds=0)
        service = make_service(fake, name=f"my.{runner}")
        created = create_pipeline(fake, service, displayName="Scanner", description="d", loggerLevel="DEBUG")
        docs[f"{runner}-created"] = ("pipeline", created)
        docs[f"{runner}-deploy"] = ("client", deploy(fake, created).json())
        docs[f"{runner}-trigger"] = ("client", trigger(fake, created).json())
        docs[f"{runner}-status"] = ("client", api(fake, "GET", PIPELINES + "/status").json())
        full = get_pipeline(fake, created["fullyQualifiedName"], fields="owners,followers,pipelineStatuses").json()
        docs[f"{runner}-full"] = ("pipeline", full)
        for i, status in enumerate(statuses(fake, created["fullyQualifiedName"])["data"]):
            docs[f"{runner}-run-{i}"] = ("status", status)
        for i, item in enumerate(api(fake, "GET", PIPELINES, params={"fields": "pipelineStatuses"}).json()["data"]):
            docs[f"{runner}-listed-{i}"] = ("pipeline", item)
        trigger_autopilot(fake, f'"my.{runner}"')
        agent = api(fake, "GET", PIPELINES, params={"provider": "automation"}).json()["data"][0]
        docs[f"{runner}-agent"] = ("pipeline", agent)
        workflow = post_workflow(fake, superset_test(f"http://127.0.0.1:{listening_port}/"))
        docs[f"{runner}-workflow-new"] = ("workflow", workflow)
        docs[f"{runner}-workflow-trigger"] = ("client", trigger_workflow(fake, workflow).json())
        for i in range(3):
            docs[f"{runner}-workflow-{i}"] = ("workflow", get_workflow(fake, workflow, headers=USER))
    empty = make_fake()
    docs["empty-config"] = ("pipeline", create_pipeline(empty, make_service(empty), sourceConfig={"config": {}}))
    # negative controls: what the contract says the 2.0.7 models refuse
    refused = {"disabled-body": ("client", {"code": 200, "reason": "Pipeline Client Disabled"})}
    old = make_fake(gen="1.13", run_seconds=0)
    pipeline = create_pipeline(old, make_service(old))
    deploy(old, pipeline)
    trigger(old, pipeline)
    refused["gen-1.13-statuses"] = ("pipeline", get_pipeline(old, pipeline["fullyQualifiedName"],
                                                             fields="pipelineStatuses").json())
    docs.update(refused)
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(docs))
    proc = subprocess.run([str(om_ingestion), "-c", JUDGE, str(path)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    verdicts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(verdicts) == set(docs)
    assert {k: v for k, v in verdicts.items() if v != "ok" and k not in refused} == {}
    assert all(verdicts[k] != "ok" for k in refused), verdicts
