"""Issue 16 end to end: `scanner scan` against the fake catalog, from registered to ingesting.

Every body scanner sends to the ingestion API is validated against OpenMetadata's own JSON schemas
(shared/contracts/openmetadata-schemas), and the fake answers as contract section 7 says the server does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BOT_TOKEN, catalog_env
from schemas import validate

from scanner.testing.fake_openmetadata import FakeOpenMetadata
from scanner.testing.fake_superset import FakeSuperset, FakeUser

PIPELINES = "/api/v1/services/ingestionPipelines"
WORKFLOWS = "/api/v1/automations/workflows"
PASSWORD = "s3cret-superset-pw-41"


def write_targets(path: Path, *urls: str, extra: str = "") -> None:
    blocks = [f'[[targets]]\nplatform = "custom"\ninstance = "ops{n}"\nurl = "{url}"\n'
              f'sourcePythonClass = "acme.ingest.Source"\n' for n, url in enumerate(urls)]
    (path / "config.toml").write_text(extra + "\n" + "\n".join(blocks))


def scan(run_cli, catalog, *args, token=BOT_TOKEN):
    result = run_cli("scan", "--output", "json", *args, env=catalog_env(catalog, token))
    report = json.loads(result.stdout) if result.stdout else None
    return result, report


def pipeline_calls(catalog, method=None):
    return [c for c in catalog.calls(method, PIPELINES)]


def test_ingest_creates_one_deployed_pipeline_and_a_second_run_changes_nothing(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="airflow") as catalog:
        write_targets(tmp_path, web.url)
        first, report = scan(run_cli, catalog, "--ingest")
        assert first.code == 0, first.stderr
        [entry] = report["targets"]
        ingestion = entry["ingestion"]
        assert entry["taken"] == "created"
        assert ingestion["action"] == "create" and ingestion["taken"] == "created"
        assert ingestion["name"] == "custom_ops0_metadata_scanner"
        assert ingestion["deployed"] is True and ingestion["runner"] == "Airflow"
        assert ingestion["trigger"]["state"] == "triggered" and ingestion["error"] is None
        [put] = pipeline_calls(catalog, "PUT")
        validate(put.json, "CreateIngestionPipelineRequest.json")
        assert put.json["sourceConfig"] == {"config": {"type": "DashboardMetadata"}}
        assert put.json["pipelineType"] == "metadata"
        assert put.json["airflowConfig"]["scheduleInterval"] == "0 */6 * * *"
        assert put.json["service"] == {"id": catalog.services["custom_ops0"]["id"], "type": "dashboardService"}
        [stored] = catalog.pipelines.values()
        assert stored["deployed"] is True and stored["fullyQualifiedName"] == "custom_ops0.custom_ops0_metadata_scanner"
        assert [c.path.rsplit("/", 2)[-2] for c in pipeline_calls(catalog, "POST")] == ["deploy", "trigger"]
        assert catalog.pipeline_statuses[stored["fullyQualifiedName"]]  # the first run exists

        catalog.reset_log()
        second, report = scan(run_cli, catalog, "--ingest")
        assert second.code == 0, second.stderr
        [entry] = report["targets"]
        assert entry["taken"] == "unchanged" and entry["ingestion"]["taken"] == "unchanged"
        assert entry["ingestion"]["trigger"] is None
        assert [c.method for c in pipeline_calls(catalog) if c.method != "GET"] == []  # no PUT, deploy or trigger
        assert len(catalog.pipelines) == 1

        shown = run_cli("inventory", "--output", "json")
        [target] = json.loads(shown.stdout)["targets"]
        assert target["pipeline"]["name"] == "custom_ops0_metadata_scanner"
        assert target["pipeline"]["made_by"] == "scanner" and target["pipeline"]["deployed"] is True
        assert target["pipeline"]["last_trigger_at"]  # kept from the first run
        table = run_cli("inventory")
        assert "custom_ops0_metadata_scanner (scanner, deployed), last trigger" in table.stdout


def test_a_service_with_a_persons_pipeline_gets_none_and_a_foreign_service_is_not_touched(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN) as catalog:
        write_targets(tmp_path, web.url, web.url + "/b")
        assert scan(run_cli, catalog)[0].code == 0  # registered by scanner, without pipelines
        catalog.add_pipeline("custom_ops0", "custom_ops0_metadata_Ab12Cd34")  # a person adds one in the UI
        catalog.reset_log()
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 0, result.stderr
        by_name = {t["service_name"]: t for t in report["targets"]}
        left = by_name["custom_ops0"]["ingestion"]
        assert left["action"] == "leave" and left["taken"] == "left"
        assert "custom_ops0_metadata_Ab12Cd34" in left["reason"]
        assert by_name["custom_ops1"]["ingestion"]["taken"] == "created"
        names = sorted(p["name"] for p in catalog.pipelines.values())
        assert names == ["custom_ops0_metadata_Ab12Cd34", "custom_ops1_metadata_scanner"]
        assert "left as it is" in run_cli("scan", "--ingest", env=catalog_env(catalog)).stdout


def test_a_service_scanner_did_not_register_gets_no_pipeline(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN) as catalog:
        write_targets(tmp_path, web.url)
        assert run_cli("scan", "--no-inventory", env=catalog_env(catalog)).code == 0  # no memory of writing it
        result, report = scan(run_cli, catalog, "--ingest")
        [entry] = report["targets"]
        assert entry["ingestion"]["action"] == "skip" and "--adopt custom_ops0" in entry["ingestion"]["reason"]
        assert catalog.pipelines == {} and result.code == 0
        result, report = scan(run_cli, catalog, "--ingest", "--adopt", "custom_ops0")
        assert report["targets"][0]["ingestion"]["taken"] == "created" and len(catalog.pipelines) == 1


def test_dry_run_plans_the_pipeline_and_shows_its_body_writing_nothing(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN) as catalog:
        write_targets(tmp_path, web.url)
        result, report = scan(run_cli, catalog, "--ingest", "--dry-run")
        assert result.code == 0, result.stderr
        [entry] = report["targets"]
        assert entry["ingestion"]["action"] == "create" and entry["ingestion"]["taken"] == "planned"
        body = entry["ingestion"]["payload"]
        assert body["name"] == "custom_ops0_metadata_scanner"
        assert body["sourceConfig"]["config"]["type"] == "DashboardMetadata"
        table = run_cli("scan", "--ingest", "--dry-run", env=catalog_env(catalog))
        assert "create, create pipeline" in table.stdout
        assert "create pipeline custom_ops0_metadata_scanner:" in table.stdout
        assert catalog.pipelines == {} and catalog.services == {}
        assert [c for c in catalog.calls(None, "/api/v1") if c.method != "GET"] == []


def test_a_disabled_runner_is_reported_per_service_with_exit_3_then_converges(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="disabled") as catalog:
        write_targets(tmp_path, web.url)
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 3, result.stderr
        [entry] = report["targets"]
        ingestion = entry["ingestion"]
        assert entry["taken"] == "created" and ingestion["taken"] == "created"
        assert ingestion["deployed"] is False and ingestion["trigger"] is None
        assert "Pipeline Client Disabled" in ingestion["error"]
        assert report["runner"]["usable"] is False and report["exit_code"] == 3
        assert [c for c in pipeline_calls(catalog, "POST")] == []  # no deploy, no trigger against a disabled runner
        table = run_cli("scan", "--ingest", env=catalog_env(catalog))
        assert table.code == 3 and "Pipeline Client Disabled" in table.stdout

        catalog.runner = "airflow"  # the catalog's admin turns the runner on: the next run deploys and runs it
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 0, result.stderr
        ingestion = report["targets"][0]["ingestion"]
        assert ingestion["taken"] == "unchanged" and ingestion["deployed"] is True
        assert ingestion["trigger"]["state"] == "triggered"
        assert len(catalog.pipelines) == 1


def test_a_runner_that_is_down_is_reported_with_its_reason(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="down") as catalog:
        write_targets(tmp_path, web.url)
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 3
        assert "Failed to get Airflow status" in report["targets"][0]["ingestion"]["error"]


@pytest.mark.parametrize("runner", ["airflow", "k8s"])
def test_waiting_for_the_first_run_reports_its_outcome(tmp_path, run_cli, web, runner):
    extra = "[ingestion]\nwait = true\npoll_interval = 0.1\n"
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner=runner, run_seconds=0.3) as catalog:
        write_targets(tmp_path, web.url, web.url + "/b", extra=extra)
        catalog.run_outcomes["custom_ops1"] = "failed"
        result, report = scan(run_cli, catalog, "--ingest")
        by_name = {t["service_name"]: t["ingestion"] for t in report["targets"]}
        assert by_name["custom_ops0"]["trigger"]["state"] == "success"
        assert by_name["custom_ops1"]["trigger"]["state"] == "failed"
        assert "the first run ended failed" in by_name["custom_ops1"]["error"]
        assert result.code == 3
        if runner == "k8s":
            assert by_name["custom_ops0"]["trigger"]["run_id"]


def test_a_bot_without_create_permission_gets_one_clear_line(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN) as catalog:
        catalog.add_token("limited-token", "limited-bot", True,
                          permissions={"ViewAll", "EditAll", "Create", "Delete"})  # no Trigger
        write_targets(tmp_path, web.url)
        result, report = scan(run_cli, catalog, "--ingest", token="limited-token")
        assert result.code == 3
        ingestion = report["targets"][0]["ingestion"]
        assert ingestion["taken"] == "created" and ingestion["deployed"] is True
        assert "403" in ingestion["error"] and "Trigger" in ingestion["error"]


def test_autopilot_is_triggered_once_for_a_new_service(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN, autopilot="active") as catalog:
        write_targets(tmp_path, web.url)
        result, report = scan(run_cli, catalog, "--autopilot")
        assert result.code == 0, result.stderr
        ingestion = report["targets"][0]["ingestion"]
        assert ingestion["action"] == "autopilot" and ingestion["taken"] == "triggered"
        assert catalog.autopilot_triggers == ["<#E::dashboardService::custom_ops0>"]
        [agent] = catalog.pipelines.values()
        assert agent["displayName"] == "Metadata Agent" and agent["provider"] == "automation"

        result, report = scan(run_cli, catalog, "--autopilot")
        ingestion = report["targets"][0]["ingestion"]
        assert ingestion["action"] == "leave" and "AutoPilot" in ingestion["reason"]
        assert len(catalog.autopilot_triggers) == 1 and len(catalog.pipelines) == 1
        assert result.code == 0
        # and an own pipeline is never added beside AutoPilot's
        result, report = scan(run_cli, catalog, "--ingest")
        assert report["targets"][0]["ingestion"]["action"] == "leave" and len(catalog.pipelines) == 1


@pytest.mark.parametrize(("mode", "said"), [("absent", "no AutoPilot application"), ("inactive", "not active")])
def test_autopilot_missing_or_inactive_is_said(tmp_path, run_cli, web, mode, said):
    with FakeOpenMetadata(bot_token=BOT_TOKEN, autopilot=mode) as catalog:
        write_targets(tmp_path, web.url)
        result, report = scan(run_cli, catalog, "--autopilot")
        assert result.code == 3
        assert said in report["targets"][0]["ingestion"]["error"]
        assert catalog.autopilot_triggers == []


def _superset_env(catalog, fake, token=BOT_TOKEN):
    return {**catalog_env(catalog, token), "SUPERSET_URL": fake.url, "SUPERSET_USERNAME": "admin",
            "SUPERSET_PASSWORD": PASSWORD}


@pytest.mark.parametrize("runner", ["airflow", "k8s"])
def test_the_catalogs_own_test_connection_shows_its_steps_and_is_deleted(tmp_path, run_cli, runner):
    (tmp_path / "config.toml").write_text("[ingestion]\npoll_interval = 0.1\n")
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner=runner) as catalog, \
            FakeSuperset(users={"admin": FakeUser(PASSWORD)}) as fake:
        result = run_cli("scan", "--output", "json", "--verify-in-catalog", env=_superset_env(catalog, fake))
        assert result.code == 0, result.stderr
        [entry] = json.loads(result.stdout)["targets"]
        test = entry["catalog_test"]
        assert test["status"] == "success" and test["deleted"] is True
        assert test["steps"] and all(s["passed"] for s in test["steps"])
        [create] = [c for c in catalog.calls("POST", WORKFLOWS) if c.path == WORKFLOWS]
        validate(create.json, "CreateWorkflowRequest.json")
        request = create.json["request"]
        assert request["serviceType"] == "Dashboard" and request["connectionType"] == "Superset"
        assert request["serviceName"] == entry["service_name"]
        assert request["connection"]["config"]["connection"]["password"] == "*********"  # filled by the catalog
        assert PASSWORD.encode() not in create.body
        assert catalog.workflows == {} and len(catalog.deleted_workflows) == 1
        table = run_cli("scan", "--verify-in-catalog", env=_superset_env(catalog, fake))
        assert "catalog test connection success" in table.stdout
        assert "    ✓ " in table.stdout  # each of the catalog's steps


def test_a_failing_catalog_test_is_exit_1_and_names_the_step(tmp_path, run_cli):
    (tmp_path / "config.toml").write_text("[ingestion]\npoll_interval = 0.1\n")
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="airflow") as catalog, \
            FakeSuperset(users={"admin": FakeUser(PASSWORD)}) as fake:
        first = run_cli("scan", "--output", "json", env=_superset_env(catalog, fake))
        name = json.loads(first.stdout)["targets"][0]["service_name"]
        catalog.test_connection_overrides[name] = {"CheckAccess": (False, "cannot reach it from the catalog")}
        result = run_cli("scan", "--output", "json", "--verify-in-catalog", env=_superset_env(catalog, fake))
        test = json.loads(result.stdout)["targets"][0]["catalog_test"]
        assert result.code == 1 and test["status"] == "failed"
        assert "CheckAccess" in test["message"]
        assert catalog.workflows == {}


def test_a_type_without_a_catalog_test_connection_is_said_and_not_a_failure(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN) as catalog:
        write_targets(tmp_path, web.url)
        result, report = scan(run_cli, catalog, "--verify-in-catalog")
        test = report["targets"][0]["catalog_test"]
        assert test["status"] == "unsupported" and "CustomDashboard" in test["message"]
        assert result.code == 0 and catalog.calls("POST", WORKFLOWS) == []


def test_a_catalog_without_a_runner_cannot_test_and_says_so(tmp_path, run_cli):
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="disabled") as catalog, \
            FakeSuperset(users={"admin": FakeUser(PASSWORD)}) as fake:
        result = run_cli("scan", "--output", "json", "--verify-in-catalog", env=_superset_env(catalog, fake))
        report = json.loads(result.stdout)
        test = report["targets"][0]["catalog_test"]
        assert test["status"] == "unavailable" and "Pipeline Client Disabled" in test["message"]
        assert result.code == 3 and report["targets"][0]["taken"] == "created"


# -- secret references --------------------------------------------------------------------------------

def test_reference_mode_is_refused_without_the_operators_statement(tmp_path, run_cli):
    (tmp_path / "config.toml").write_text('[secrets]\nstyle = "reference"\n')
    result = run_cli("scan", env={})
    assert result.code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "external_manager" in result.stderr and "literal password" in result.stderr


def test_reference_mode_sends_no_secret_value_and_settles(tmp_path, run_cli):
    (tmp_path / "config.toml").write_text('[secrets]\nstyle = "reference"\nexternal_manager = "managed-aws"\n')
    with FakeOpenMetadata(bot_token=BOT_TOKEN, secrets_manager="managed") as catalog, \
            FakeSuperset(users={"admin": FakeUser(PASSWORD)}) as fake:
        env = _superset_env(catalog, fake)
        first = run_cli("scan", "--output", "json", env=env)
        assert first.code == 0, first.stderr
        [entry] = json.loads(first.stdout)["targets"]
        ref = "/scanner/superset/superset_default/connection/password"
        assert entry["secret_refs"] == [ref] or entry["secret_refs"][0].endswith("password")
        stored = catalog.services[entry["service_name"]]["connection"]["config"]
        assert stored["connection"]["password"] == "secret:" + entry["secret_refs"][0]
        for call in catalog.calls(None, "/api/v1"):
            assert PASSWORD.encode() not in call.body
        assert PASSWORD not in first.stdout + first.stderr
        second = run_cli("scan", "--output", "json", env=env)
        assert json.loads(second.stdout)["targets"][0]["taken"] == "unchanged"
        assert "store them under" in run_cli("scan", env=env).stdout


def test_a_kubernetes_template_must_make_secret_names(tmp_path, run_cli):
    (tmp_path / "config.toml").write_text('[secrets]\nstyle = "reference"\nexternal_manager = "kubernetes"\n')
    result = run_cli("scan", env={})
    assert result.code == 2 and "Kubernetes Secret name" in result.stderr
    (tmp_path / "config.toml").write_text('[secrets]\nstyle = "reference"\nexternal_manager = "kubernetes"\n'
                                          'template = "scanner-{service}-{field}"\n')
    assert run_cli("config", env={}).code == 0


@pytest.mark.parametrize(("toml", "said"), [
    ("[ingestion]\npipeline = true\nautopilot = true\n", "exclusive"),
    ("[ingestion]\nschedule = \"every hour\"\n", "not a cron schedule"),
    ("[ingestion]\nsource_config = { includeOwnerz = true }\n", "includeOwnerz"),
    ("[ingestion]\npipelines = true\n", "did you mean 'pipeline'"),
])
def test_bad_ingestion_settings_are_one_line_and_exit_2(tmp_path, run_cli, toml, said):
    (tmp_path / "config.toml").write_text(toml)
    result = run_cli("scan", env={})
    assert result.code == 2 and said in result.stderr and len(result.stderr.strip().splitlines()) == 1


# -- OpenMetadata's own client is the judge of what scanner sends -------------------------------------

JUDGE = r'''
import json, sys
from metadata.generated.schema.api.automations.createWorkflow import CreateWorkflowRequest
from metadata.generated.schema.api.services.ingestionPipelines.createIngestionPipeline import (
    CreateIngestionPipelineRequest)
from metadata.generated.schema.metadataIngestion.dashboardServiceMetadataPipeline import (
    DashboardServiceMetadataPipeline)

out = []
for kind, body in json.load(open(sys.argv[1])):
    try:
        if kind == "pipeline":
            parsed = CreateIngestionPipelineRequest.model_validate(body)
            config = parsed.sourceConfig.config
            assert isinstance(config, DashboardServiceMetadataPipeline), type(config).__name__
        else:
            CreateWorkflowRequest.model_validate(body)
        out.append("ok")
    except Exception as exc:
        out.append(f"{kind}: {type(exc).__name__}: {str(exc)[:300]}")
print(json.dumps(out))
'''


@pytest.mark.conformance
def test_openmetadata_ingestion_accepts_every_body_scanner_sends(tmp_path, run_cli, om_ingestion):
    import subprocess

    (tmp_path / "config.toml").write_text('[ingestion]\npoll_interval = 0.1\nschedule = "0 3 * * *"\n'
                                          'source_config = { includeOwners = true, dashboardFilterPattern = '
                                          '{ excludes = ["^tmp"] } }\n')
    with FakeOpenMetadata(bot_token=BOT_TOKEN) as catalog, FakeSuperset(users={"admin": FakeUser(PASSWORD)}) as fake:
        result = run_cli("scan", "--ingest", "--verify-in-catalog", env=_superset_env(catalog, fake))
        assert result.code == 0, result.stdout + result.stderr
        (tmp_path / "config.toml").write_text('[ingestion]\nschedule = "0 4 * * *"\n')  # an update of its pipeline
        assert run_cli("scan", "--ingest", env=_superset_env(catalog, fake)).code == 0
        bodies = [("pipeline", c.json) for c in catalog.calls("PUT", PIPELINES) if c.path == PIPELINES]
        bodies += [("workflow", c.json) for c in catalog.calls("POST", WORKFLOWS) if c.path == WORKFLOWS]
    assert [k for k, _ in bodies] == ["pipeline", "pipeline", "workflow"]
    path = tmp_path / "bodies.json"
    path.write_text(json.dumps(bodies))
    proc = subprocess.run([str(om_ingestion), "-c", JUDGE, str(path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == ["ok"] * len(bodies)


def test_a_catalog_step_that_quotes_the_password_is_masked(tmp_path, run_cli):
    """The catalog's step messages are outside text: a password they quote never reaches the report."""
    (tmp_path / "config.toml").write_text("[ingestion]\npoll_interval = 0.1\n")
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="airflow") as catalog, \
            FakeSuperset(users={"admin": FakeUser(PASSWORD)}) as fake:
        first = run_cli("scan", "--output", "json", env=_superset_env(catalog, fake))
        name = json.loads(first.stdout)["targets"][0]["service_name"]
        catalog.test_connection_overrides[name] = {"CheckAccess": (False, f"login admin:{PASSWORD} refused")}
        for output in ("json", "table"):
            result = run_cli("scan", "--output", output, "--verify-in-catalog", env=_superset_env(catalog, fake))
            assert result.code == 1 and "CheckAccess" in result.stdout
            assert PASSWORD not in result.stdout + result.stderr
