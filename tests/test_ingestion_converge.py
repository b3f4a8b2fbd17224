"""The hand-off converges: scanner's own deployed pipeline that never got its first run (its trigger was refused
or failed) gets it on a later run, once, and until then each run says it is pending (exit 3). Runs the real
`scanner scan --ingest` against the fake catalog's ingestion side (QA finding F4)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import BOT_TOKEN, catalog_env
from test_ingestion_handoff import PIPELINES, pipeline_calls, scan, write_targets

from scanner.ingestion.pipeline import FIRST_RUN_GRACE, catalog_runs, first_run
from scanner.testing.fake_openmetadata import FakeOpenMetadata

WEAK = "weak-token-no-trigger"
FQN = "custom_ops0.custom_ops0_metadata_scanner"
NAME = "custom_ops0_metadata_scanner"


def weak_bot(catalog) -> None:
    catalog.add_token(WEAK, "weak-bot", True, permissions=["Create", "EditAll", "ViewAll"])  # no Trigger


def triggers(catalog) -> list:
    return [c for c in pipeline_calls(catalog, "POST") if "/trigger/" in c.path]


def refused_first_run(run_cli, catalog, tmp_path, web, *, extra: str = ""):
    """Run 1 with a token without Trigger: the pipeline is created and deployed, its first run refused (403)."""
    weak_bot(catalog)
    write_targets(tmp_path, web.url, extra=extra)
    result, report = scan(run_cli, catalog, "--ingest", token=WEAK)
    assert result.code == 3, result.stderr
    ingestion = report["targets"][0]["ingestion"]
    assert ingestion["taken"] == "created" and ingestion["deployed"] is True and ingestion["trigger"] is None
    assert "403" in ingestion["error"]
    assert catalog.pipeline_statuses == {}
    catalog.reset_log()


def test_a_refused_first_run_stays_pending_then_is_started_once(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="airflow") as catalog:
        refused_first_run(run_cli, catalog, tmp_path, web)

        # still without Trigger: the run says the first run is pending, exit 3, never "unchanged" and 0
        result, report = scan(run_cli, catalog, "--ingest", token=WEAK)
        assert result.code == 3, result.stderr
        ingestion = report["targets"][0]["ingestion"]
        assert ingestion["taken"] == "unchanged" and ingestion["trigger"] is None
        assert ingestion["error"].startswith("first run still pending (the catalog shows no run of it), not started")
        assert "403" in ingestion["error"] and WEAK not in ingestion["error"]
        table = run_cli("scan", "--ingest", env=catalog_env(catalog, WEAK))
        assert table.code == 3
        assert "✗ custom_ops0: first run still pending" in table.stdout
        assert catalog.pipeline_statuses == {}

        # the token gets Trigger: this run starts it, and says why
        catalog.reset_log()
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 0, result.stderr
        ingestion = report["targets"][0]["ingestion"]
        assert ingestion["taken"] == "unchanged" and ingestion["error"] is None
        assert ingestion["trigger"]["state"] == "triggered" and ingestion["runner"] == "Airflow"
        assert any("first run started now" in n for n in ingestion["notes"])
        assert len(triggers(catalog)) == 1 and len(catalog.pipeline_statuses[FQN]) == 1
        assert [c.method for c in pipeline_calls(catalog) if c.method == "PUT"] == []  # nothing else was written

        # and only once: the catalog now shows its run
        catalog.reset_log()
        again = run_cli("scan", "--ingest", env=catalog_env(catalog))
        assert again.code == 0, again.stderr
        assert "first run" not in again.stdout and "unchanged, deployed" in again.stdout
        assert triggers(catalog) == [] and len(catalog.pipeline_statuses[FQN]) == 1


def test_a_failed_trigger_and_a_runner_down_meanwhile_converge(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="airflow") as catalog:
        write_targets(tmp_path, web.url)
        catalog.inject(500, times=1, method="POST", path_prefix=PIPELINES + "/trigger/")
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 3
        assert report["targets"][0]["ingestion"]["error"].startswith("first run not started")
        assert catalog.pipeline_statuses == {}

        catalog.runner = "down"  # the runner is down at the next run: pending, said with the runner's reason
        catalog.reset_log()
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 3
        ingestion = report["targets"][0]["ingestion"]
        assert ingestion["error"].startswith("first run still pending") and "Failed to get Airflow status" in \
            ingestion["error"]
        assert triggers(catalog) == []  # not asked of a runner that is down

        catalog.runner = "airflow"
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 0, result.stderr
        assert report["targets"][0]["ingestion"]["trigger"]["state"] == "triggered"
        assert len(catalog.pipeline_statuses[FQN]) == 1


def test_a_pipeline_that_ran_and_failed_is_left_alone(tmp_path, run_cli, web):
    extra = "[ingestion]\nwait = true\npoll_interval = 0.1\n"
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="airflow", run_seconds=0.2) as catalog:
        write_targets(tmp_path, web.url, extra=extra)
        catalog.run_outcomes["custom_ops0"] = "failed"
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 3 and "the first run ended failed" in report["targets"][0]["ingestion"]["error"]
        catalog.reset_log()
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 0, result.stderr
        ingestion = report["targets"][0]["ingestion"]
        assert ingestion["trigger"] is None and ingestion["error"] is None and ingestion["notes"] == []
        assert triggers(catalog) == [] and len(catalog.pipeline_statuses[FQN]) == 1


def test_a_persons_deployed_pipeline_without_runs_is_not_triggered(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="airflow") as catalog:
        write_targets(tmp_path, web.url)
        assert scan(run_cli, catalog)[0].code == 0
        catalog.add_pipeline("custom_ops0", "custom_ops0_metadata_Ab12Cd34", deployed=True)
        catalog.reset_log()
        for _ in range(2):
            result, report = scan(run_cli, catalog, "--ingest")
            assert result.code == 0, result.stderr
            assert report["targets"][0]["ingestion"]["taken"] == "left"
        assert triggers(catalog) == [] and catalog.pipeline_statuses == {}


def test_run_false_and_a_paused_pipeline_start_nothing(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="airflow") as catalog:
        refused_first_run(run_cli, catalog, tmp_path, web)
        write_targets(tmp_path, web.url, extra="[ingestion]\nrun = false\n")
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 0, result.stderr
        assert report["targets"][0]["ingestion"]["trigger"] is None and triggers(catalog) == []

        write_targets(tmp_path, web.url)
        with catalog._lock:  # a person pauses it in the catalog
            catalog._ingestion.pipelines[FQN]["airflowConfig"]["pausePipeline"] = True
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 0, result.stderr
        ingestion = report["targets"][0]["ingestion"]
        assert ingestion["trigger"] is None and any("paused" in n for n in ingestion["notes"])
        assert triggers(catalog) == [] and catalog.pipeline_statuses == {}


def test_a_1_x_catalog_is_asked_for_the_runs(tmp_path, run_cli, web):
    """1.x lists no ``pipelineStatuses`` of a pipeline that never ran: its status listing says so."""
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="airflow", gen="1.13") as catalog:
        refused_first_run(run_cli, catalog, tmp_path, web)
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 0, result.stderr
        assert report["targets"][0]["ingestion"]["trigger"]["state"] == "triggered"
        asked = [c for c in pipeline_calls(catalog, "GET") if c.path.endswith("/pipelineStatus")]
        assert len(asked) == 1
        catalog.reset_log()
        assert scan(run_cli, catalog, "--ingest")[0].code == 0
        assert triggers(catalog) == [] and len(catalog.pipeline_statuses[FQN]) == 1


def test_runs_that_cannot_be_read_start_nothing_and_are_said(tmp_path, run_cli, web):
    with FakeOpenMetadata(bot_token=BOT_TOKEN, runner="airflow", gen="1.13") as catalog:
        write_targets(tmp_path, web.url)
        assert scan(run_cli, catalog, "--ingest")[0].code == 0  # triggered; the catalog shows its run
        with catalog._lock:  # the catalog lost its statuses, and cannot list them
            catalog._ingestion.runs.clear()
        catalog.inject(500, times=None, method="GET", path_prefix=f"{PIPELINES}/{FQN}/pipelineStatus")
        catalog.reset_log()
        result, report = scan(run_cli, catalog, "--ingest")
        assert result.code == 0, result.stderr
        ingestion = report["targets"][0]["ingestion"]
        assert ingestion["trigger"] is None and any("could not be read" in n for n in ingestion["notes"])
        assert triggers(catalog) == []


# -- the rule, as a function ------------------------------------------------------------------------------
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def record(**kw):
    return {"name": NAME, "made_by": "scanner", "deployed": True, "last_trigger_at": None, **kw}


@pytest.mark.parametrize("listed, said", [
    ({"pipelineStatuses": []}, False),
    ({"pipelineStatuses": [{"pipelineState": "failed"}]}, True),
    ({"pipelineStatuses": {"pipelineState": "queued"}}, True),  # 1.x: one object
    ({"pipelineStatuses": None}, None),
    ({}, None),
    (None, None),
])
def test_catalog_runs_reads_the_listing(listed, said):
    assert catalog_runs(listed) is said


def test_first_run_prefers_the_catalog_then_the_inventory():
    recent = (NOW - timedelta(minutes=5)).isoformat()
    old = (NOW - FIRST_RUN_GRACE - timedelta(minutes=1)).isoformat()
    # the catalog shows a run: left alone, whatever the inventory says
    assert first_run(True, record(), NAME, NOW)[0] == "ran"
    # the catalog shows none
    assert first_run(False, None, NAME, NOW)[0] == "due"
    assert first_run(False, record(), NAME, NOW)[0] == "due"
    assert first_run(False, record(last_trigger_at=recent), NAME, NOW)[0] == "started"  # not reported yet
    assert first_run(False, record(last_trigger_at=old), NAME, NOW)[0] == "due"
    assert first_run(False, record(name="other", last_trigger_at=recent), NAME, NOW)[0] == "due"
    # the catalog cannot say: the inventory's record decides
    assert first_run(None, record(), NAME, NOW) == ("due", "the inventory records no trigger of it")
    assert first_run(None, record(last_trigger_at=old), NAME, NOW)[0] == "started"
    assert first_run(None, None, NAME, NOW)[0] == "unknown"
    assert first_run(None, record(name="other"), NAME, NOW)[0] == "unknown"
    assert first_run(None, record(made_by="person"), NAME, NOW)[0] == "unknown"
    assert first_run(None, record(last_trigger_at="not a time"), NAME, NOW)[0] == "due"
