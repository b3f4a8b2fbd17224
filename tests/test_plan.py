"""Plan decisions and what is carried over from the catalog's current entity."""

from __future__ import annotations

from pydantic import SecretStr

from scanner.openmetadata.models import ConnectionConfig, CreateDashboardService, DashboardConnection
from scanner.plan import carry_over_config, carry_over_curated, diff, same_config
from scanner.secrets import MASK


def metabase(**config) -> ConnectionConfig:
    return ConnectionConfig.build("Metabase", **config)


def request(**config) -> CreateDashboardService:
    return CreateDashboardService(
        name="metabase_x", serviceType="Metabase", description="scanner's text",
        connection=DashboardConnection(config=metabase(**config)),
    )


def test_masked_secret_counts_as_equal_but_is_flagged():
    want = metabase(hostPort="http://h", username="u", password=SecretStr("pw-1"))
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


def test_a_password_given_as_plain_text_is_still_a_secret():
    """The schema says which fields are secrets, not the plugin's care: a plain str is held as SecretStr."""
    config = metabase(hostPort="http://h", username="u", password="plain-pw-1")
    assert config.dump()["password"] == MASK and "plain-pw-1" not in repr(config)
    assert config.dump(reveal_secrets=True)["password"] == "plain-pw-1"


def test_a_config_the_schema_refuses_names_the_key():
    for bad, where in ((dict(hostPort="http://h", bogus=1), "bogus"), (dict(username="u"), "hostPort"),
                       (dict(hostPort="http://h", supportsMetadataExtraction="yes"), "supportsMetadataExtraction")):
        try:
            metabase(**bad)
        except ValueError as exc:
            assert where in str(exc) and "OpenMetadata's schema" in str(exc)
        else:
            raise AssertionError(f"{bad} was accepted")


def test_server_defaults_and_a_newer_servers_keys_are_no_change():
    want = metabase(hostPort="http://h", username="u", password="pw-1")
    stored = {"type": "Metabase", "hostPort": "http://h", "username": "u", "password": "pw-1",
              "supportsMetadataExtraction": True, "featureOfOpenMetadata9": {"on": True}}
    merged, carried = carry_over_config(request(hostPort="http://h", username="u", password="pw-1"),
                                        {"serviceType": "Metabase", "connection": {"config": stored}},
                                        ("hostPort", "username", "password"))
    assert carried == ["featureOfOpenMetadata9"]  # a default (supportsMetadataExtraction: true) is not news
    assert same_config(merged.connection.config, stored) == (True, False)
    assert not same_config(want, stored)[0]  # without the carry-over the new key would look like a change


def test_config_keys_the_plugin_does_not_own_are_sent_back_as_held():
    stored = {"type": "Metabase", "hostPort": "http://h", "username": "u", "password": MASK, "apiKey": MASK,
              "supportsMetadataExtraction": False, "dashboardFilterPattern": {"includes": ["^fin"]}}
    current = {"serviceType": "Metabase", "connection": {"config": stored}}
    req = request(hostPort="http://h", username="u", password="rotated-pw")
    merged, carried = carry_over_config(req, current, ("hostPort", "username", "password"))
    sent = merged.payload(reveal_secrets=True)["connection"]["config"]
    assert sent["password"] == "rotated-pw"                      # owned: ours
    assert sent["apiKey"] == MASK                                 # not owned: the mask, which the server unmasks
    assert sent["supportsMetadataExtraction"] is False and sent["dashboardFilterPattern"] == {"includes": ["^fin"]}
    assert sorted(carried) == ["apiKey", "dashboardFilterPattern", "supportsMetadataExtraction"]
    assert merged.payload()["connection"]["config"]["apiKey"] == MASK
    changes, unverified = diff(merged, current)
    assert "connection" not in changes and unverified  # a masked password of ours is unverified, not a change


def test_nested_ownership_keeps_a_persons_nested_keys():
    stored = {"type": "Metabase", "hostPort": "http://h", "dashboardFilterPattern": {"includes": ["a"], "excludes": ["b"]}}
    req = request(hostPort="http://h2", dashboardFilterPattern={"includes": ["mine"]})
    merged, carried = carry_over_config(req, {"serviceType": "Metabase", "connection": {"config": stored}},
                                        ("hostPort", "dashboardFilterPattern.includes"))
    assert merged.connection.config.dump()["dashboardFilterPattern"] == {"includes": ["mine"], "excludes": ["b"]}
    assert carried == ["dashboardFilterPattern.excludes"]
