"""Plan decisions and what is carried over from the catalog's current entity."""

from __future__ import annotations

from pydantic import SecretStr

from scanner.openmetadata.models import ConnectionConfig, CreateDashboardService, DashboardConnection, Secret
from scanner.plan import carry_over_curated, diff, same_config
from scanner.secrets import MASK


class DemoConnection(ConnectionConfig):
    type: str = "Metabase"
    hostPort: str
    username: str | None = None
    password: Secret | None = None
    supportsMetadataExtraction: bool = True


def request(**config) -> CreateDashboardService:
    return CreateDashboardService(
        name="metabase_x", serviceType="Metabase", description="scanner's text",
        connection=DashboardConnection(config=DemoConnection(**config)),
    )


def test_masked_secret_counts_as_equal_but_is_flagged():
    want = DemoConnection(hostPort="http://h", username="u", password=SecretStr("pw-1"))
    assert same_config(want, {"type": "Metabase", "hostPort": "http://h", "username": "u", "password": MASK}) == (True, True)
    assert same_config(want, {"type": "Metabase", "hostPort": "http://h", "username": "u", "password": "pw-1"}) == (True, False)
    assert same_config(want, {"type": "Metabase", "hostPort": "http://h", "username": "u", "password": "old"}) == (False, False)
    # defaults filled on both sides: a catalog that echoes defaults is not a change
    assert same_config(want, {"type": "Metabase", "hostPort": "http://h", "username": "u", "password": "pw-1",
                              "supportsMetadataExtraction": True})[0]
    assert not same_config(want, {"type": "Metabase", "hostPort": "http://other", "username": "u"})[0]
    assert not same_config(want, {"type": "Metabase", "hostPort": "http://h", "bogus": 1})[0]


def test_curated_fields_are_carried_over_and_only_empty_ones_filled():
    current = {
        "serviceType": "Metabase", "description": "A person wrote this", "displayName": "Finance BI",
        "owners": [{"id": "11111111-1111-1111-1111-111111111111", "type": "team", "name": "fin"}],
        "tags": [{"tagFQN": "PII.Sensitive", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}],
        "domains": [{"id": "d", "type": "domain", "fullyQualifiedName": "Finance"}],
        "connection": {"config": {"type": "Metabase", "hostPort": "http://h"}},
    }
    req = request(hostPort="http://h").model_copy(update={"domains": ["Marketing"]})
    merged = carry_over_curated(req, current)
    assert merged.description == "A person wrote this" and merged.displayName == "Finance BI"
    assert [o.id for o in merged.owners] == ["11111111-1111-1111-1111-111111111111"]
    assert [t.tagFQN for t in merged.tags] == ["PII.Sensitive"]
    assert merged.domains == ["Finance"]
    assert diff(merged, current) == ([], False)
    assert diff(carry_over_curated(request(hostPort="http://new"), current), current)[0] == ["connection"]
    assert "restore (soft-deleted)" in diff(merged, {**current, "deleted": True})[0]


def test_payload_masks_unless_revealed():
    req = request(hostPort="http://h", password=SecretStr("pw-reveal-me"))
    assert req.payload()["connection"]["config"]["password"] == MASK
    assert req.payload(reveal_secrets=True)["connection"]["config"]["password"] == "pw-reveal-me"
    assert "pw-reveal-me" not in repr(req)
