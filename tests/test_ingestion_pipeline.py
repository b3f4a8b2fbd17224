"""The metadata pipeline scanner keeps per service: name, body, ownership of its fields, and the plan."""

from __future__ import annotations

from schemas import validate

from scanner.ingestion.pipeline import PipelineAction, create_body, decide, pipeline_name, update_body
from scanner.settings import IngestionSettings

SERVICE_ID = "3f2c1e4a-0000-4000-8000-000000000001"


def settings(**values) -> IngestionSettings:
    return IngestionSettings(pipeline=True, **values)


def test_the_name_replaces_what_the_catalogs_ui_replaces():
    assert pipeline_name("superset_prod") == "superset_prod_metadata_scanner"
    assert pipeline_name("my.superset (EU)") == "my_superset__EU__metadata_scanner"
    assert len(pipeline_name("x" * 300)) == 256


def test_the_create_body_matches_openmetadatas_schema_and_names_its_config_type():
    body = create_body("superset_prod", SERVICE_ID, settings(source_config={"includeOwners": True}))
    validate(body, "CreateIngestionPipelineRequest.json")
    assert body["sourceConfig"] == {"config": {"type": "DashboardMetadata", "includeOwners": True}}
    assert body["airflowConfig"]["scheduleInterval"] == "0 */6 * * *"
    assert body["airflowConfig"]["startDate"].endswith("T00:00:00.000Z")
    manual = create_body("superset_prod", SERVICE_ID, settings(schedule=""))
    assert "scheduleInterval" not in manual["airflowConfig"]


def stored(**airflow) -> dict:
    return {"id": "p1", "name": "s_metadata_scanner", "fullyQualifiedName": "s.s_metadata_scanner",
            "pipelineType": "metadata", "sourceConfig": {"config": {"type": "DashboardMetadata", "includeTags": False}},
            "airflowConfig": {"scheduleInterval": "0 */6 * * *", "pausePipeline": True, "retries": 3, **airflow},
            "service": {"id": SERVICE_ID, "type": "dashboardService", "name": "s"}, "loggerLevel": "INFO",
            "deployed": True, "owners": [{"id": "u", "type": "user", "inherited": True}], "version": 0.2}


def test_what_a_person_set_in_scanners_pipeline_is_kept_and_equal_settings_send_nothing():
    body, changes = update_body(stored(), settings())
    assert changes == []
    body, changes = update_body(stored(), settings(schedule="0 1 * * *"))
    assert changes == ["schedule"]
    assert body["airflowConfig"] == {"scheduleInterval": "0 1 * * *", "pausePipeline": True, "retries": 3}
    assert body["sourceConfig"]["config"]["includeTags"] is False  # a person's choice, not scanner's key
    assert "owners" not in body and "deployed" not in body
    validate(body, "CreateIngestionPipelineRequest.json")


def test_a_source_config_key_set_in_the_settings_is_owned_and_compared_with_defaults():
    _, changes = update_body(stored(), settings(source_config={"includeTags": True}))
    assert changes == ["sourceConfig"]
    # includeOwners defaults to false: saying it explicitly changes nothing
    _, changes = update_body(stored(), settings(source_config={"includeOwners": False}))
    assert changes == []


def test_decide():
    s = settings()
    assert decide("s", "s", None, s, new_service=True).action is PipelineAction.CREATE
    assert decide("s", "s", [], s, new_service=False).action is PipelineAction.CREATE
    mine = stored()
    assert decide("s", "s", [mine], s, new_service=False).action is PipelineAction.UNCHANGED
    person = {"name": "s_metadata_Ab12Cd34", "fullyQualifiedName": "s.s_metadata_Ab12Cd34", "updatedBy": "alice"}
    left = decide("s", "s", [person], s, new_service=False)
    assert left.action is PipelineAction.LEAVE and "made by alice" in left.reason
    agent = {"name": "0b3c", "displayName": "Metadata Agent", "provider": "automation"}
    assert "AutoPilot" in decide("s", "s", [agent, mine], s, new_service=False).reason
    auto = IngestionSettings(autopilot=True)
    assert decide("s", "s", None, auto, new_service=True).action is PipelineAction.AUTOPILOT
    assert decide("s", "s", [agent], auto, new_service=False).action is PipelineAction.LEAVE
