"""The schema layer: every dashboard type of the shipped OpenMetadata schemas, its secrets and defaults."""

from __future__ import annotations

import pytest

from scanner.openmetadata.schema import ConnectionSchema, covered_server_versions, service_types, source


def test_every_dashboard_type_of_the_schemas_has_a_connection_schema():
    types = service_types()
    assert len(types) == 22 and {"Superset", "Looker", "Tableau", "CustomDashboard", "Grafana"} <= set(types)
    for service_type in types:
        schema = ConnectionSchema.of(service_type)
        # every type defaults to itself, except CustomDashboard whose ``type`` is required instead
        assert schema.with_defaults({}).get("type") == (None if service_type == "CustomDashboard" else service_type)
        assert schema.default("supportsMetadataExtraction") is True
    assert source()["openmetadata-ingestion"] == "2.0.7.0" and covered_server_versions() == ("2.0",)
    with pytest.raises(KeyError, match="no dashboard type 'Nope'"):
        ConnectionSchema.of("Nope")


@pytest.mark.parametrize(("service_type", "config", "secrets"), [
    ("Looker", {"clientId": "a", "clientSecret": "b", "gitCredentials": {
        "type": "GitHub", "repositoryOwner": "o", "repositoryName": "r", "token": "t"}},
     [("clientSecret",), ("gitCredentials", "token")]),
    ("Tableau", {"hostPort": "h", "authType": {"username": "u", "password": "p"}}, [("authType", "password")]),
    ("Tableau", {"hostPort": "h", "authType": {"personalAccessTokenName": "n", "personalAccessTokenSecret": "s"},
                 "sslConfig": {"caCertificate": "pem"}},
     [("authType", "personalAccessTokenSecret"), ("sslConfig", "caCertificate")]),
    ("Superset", {"hostPort": "h", "connection": {"provider": "db", "username": "u", "password": "p"}},
     [("connection", "password")]),
    ("Lightdash", {"hostPort": "h", "apiKey": "k", "projectUUID": "p", "spaceUUID": "s", "proxyAuthentication": "x"},
     [("apiKey",), ("proxyAuthentication",)]),
    ("Mode", {"accessToken": "a", "accessTokenPassword": "b", "workspaceName": "w"}, [("accessTokenPassword",)]),
])
def test_secret_fields_come_from_the_schema(service_type, config, secrets):
    assert ConnectionSchema.of(service_type).secret_paths(config) == secrets


def test_defaults_fill_nested_objects_that_are_present_only():
    tableau = ConnectionSchema.of("Tableau")
    filled = tableau.with_defaults({"hostPort": "h", "dashboardFilterPattern": {"includes": ["x"]}})
    assert filled["paginationLimit"] == 10 and filled["verifySSL"] == "no-ssl"
    assert filled["dashboardFilterPattern"] == {"includes": ["x"]}  # no null defaults are invented
    assert "sslConfig" not in filled and "authType" not in filled
    looker = ConnectionSchema.of("Looker").with_defaults(
        {"gitCredentials": {"type": "GitHub", "repositoryOwner": "o", "repositoryName": "r"}})
    assert looker["gitCredentials"]["gitHostURL"] == "https://github.com"  # the GitHub shape's own default
    newer = ConnectionSchema.of("Looker").with_defaults({"keyOfANewerServer": {"x": 1}})
    assert newer["keyOfANewerServer"] == {"x": 1}
