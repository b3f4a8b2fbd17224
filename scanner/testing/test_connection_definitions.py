"""The test-connection definitions an OpenMetadata 2.0.7 server seeds, for the dashboard services scanner registers.

Served by ``FakeOpenMetadata`` at
``GET /api/v1/services/testConnectionDefinitions/name/<Type>.testConnectionDefinition``: that is where
OpenMetadata's ingestion code (``test_connection_steps`` and ``TestConnectionRunner``) reads which steps to run, in
order, and which are mandatory (shared/contracts/openmetadata.md §8). The step data is copied from the server's
seed files ``openmetadata-service/src/main/resources/json/data/testConnections/dashboard/<type>.json``
(open-metadata/OpenMetadata; Superset @1a80a125, Looker @1d658114, Tableau @0a91158d, Metabase @1a80a125,
Redash @18ef684a, Lightdash @0b24ab09, Grafana @0d4e8628 cut to 2.0.7's steps, PowerBI @1c84932b, Mode
@2c78edd8 and its step named as 2.0.7's connector names it, DomoDashboard @2db746bf, QlikCloud @4bf3ee1b, QlikSense
@4d497f44). The server names the entity
after the service type and derives its FQN as ``<name>.testConnectionDefinition``; shape per
shared/contracts/openmetadata-schemas/TestConnectionDefinition.json (no other keys: the client's model forbids them).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

__all__ = ["DEFINITIONS", "FQN_SUFFIX", "definition"]

FQN_SUFFIX = ".testConnectionDefinition"
_ID_NAMESPACE = uuid.UUID("0b5bd0f4-39a3-4c55-8f5e-6f0e9e2d7c21")
_UPDATED_AT = 1_735_689_600_000  # fixed: seed data does not change between reads

_DASHBOARDS = "List all the dashboards available to the user"


def _get_dashboards(*, short_circuit: bool) -> dict[str, Any]:
    return {"name": "GetDashboards", "description": _DASHBOARDS,
            "errorMessage": "Failed to fetch dashboards, please validate the credentials or validate if user has "
            "access to fetch dashboards", "shortCircuit": short_circuit, "mandatory": True}


_SEED: dict[str, dict[str, Any]] = {
    "Superset": {
        "displayName": "Superset Test Connection",
        "description": "This Test Connection validates the access against the server and basic metadata extraction "
        "of dashboards and charts.",
        "steps": [
            {
                "name": "CheckAccess",
                "description": "Validate that the API or DB is accessible with the given credentials",
                "errorMessage": "Failed to connect to superset, please validate the credentials",
                "shortCircuit": True,
                "mandatory": True,
            },
            {
                "name": "GetDashboards",
                "description": "List all the dashboards available to the user",
                "errorMessage": "Failed to fetch dashboards, please validate if user has access to fetch dashboards",
                "mandatory": True,
            },
            {
                "name": "GetCharts",
                "description": "List all the charts available to the user",
                "errorMessage": "Failed to fetch charts, please validate if user has access to fetch charts",
                "mandatory": True,
            },
        ],
    },
    "Looker": {
        "displayName": "Looker Test Connection",
        "description": "This Test Connection validates the access against the server and basic metadata extraction "
        "of dashboards and charts.",
        "steps": [
            {
                "name": "CheckAccess",
                "description": "Validate that the API is accessible with the given credentials",
                "mandatory": True,
            },
        ],
    },
    "Tableau": {
        "displayName": "Tableau Test Connection",
        "description": "This Test Connection validates the access against the server and basic metadata extraction "
        "of workbooks and views.",
        "steps": [
            {
                "name": "ServerInfo",
                "description": "Validate that the API can properly reach the server",
                "errorMessage": "Failed to connect to tableau, please validate the credentials",
                "shortCircuit": True,
                "mandatory": True,
            },
            {
                "name": "GetWorkbooks",
                "description": "List all the workbooks available to the user. We will ingest Workbooks as Dashboards.",
                "errorMessage": "Failed to fetch workbooks, please validate if user has access to fetch workbooks",
                "mandatory": True,
            },
            {
                "name": "GetViews",
                "description": "List the Views (charts) from a given Workbook.",
                "errorMessage": "Failed to fetch views(charts), please validate if user has access to fetch views",
                "mandatory": False,
            },
        ],
    },
    "Metabase": {
        "displayName": "Metabase Test Connection",
        "description": "This Test Connection validates the access against the server and basic metadata extraction "
        "of dashboards and charts.",
        "steps": [_get_dashboards(short_circuit=True)],
    },
    "Redash": {
        "displayName": "Redash Test Connection",
        "description": "This Test Connection validates the access against the server and basic metadata extraction "
        "of workbooks and views.",
        "steps": [{"name": "GetDashboards", "description": _DASHBOARDS, "mandatory": True}],
    },
    "Lightdash": {
        "displayName": "Lightdash Test Connection",
        "description": "This Test Connection validates the access against the server and basic metadata extraction "
        "of dashboards and charts.",
        "steps": [_get_dashboards(short_circuit=True)],
    },
    "PowerBI": {  # the seed file's step "category" is left out: 2.0.7's TestConnectionStep model has no such key
        "displayName": "PowerBI Test Connection",
        "description": "This Test Connection validates the access against the server and basic metadata extraction "
        "of dashboards and charts.",
        "steps": [
            {
                "name": "CheckAccess",
                "description": "Validate that we can acquire an OAuth token and authenticate against the PowerBI REST "
                "API with the given service principal credentials.",
                "errorMessage": "Failed to authenticate against PowerBI, please validate the Client ID, Client Secret "
                "and Tenant ID.",
                "mandatory": True,
                "shortCircuit": True,
            },
            _get_dashboards(short_circuit=True),
        ],
    },
    # The seed file read names the step CheckAccess; 2.0.7's Mode connector runs only "CheckDashboards" (its test_fn),
    # and a seeded step without a test_fn is a KeyError in its runner: served under 2.0.7's own name.
    "Mode": {
        "displayName": "Mode Test Connection",
        "description": "This Test Connection validates the access against the server and basic metadata extraction "
        "of dashboards and charts.",
        "steps": [{"name": "CheckDashboards", "description": "Validate that the API is accessible with the given "
                   "credentials", "errorMessage": "Failed to connect to mode, please validate the credentials",
                   "shortCircuit": True, "mandatory": True}],
    },
    "DomoDashboard": {  # the connector also has GetCharts, which the seed does not list (so it never runs)
        "displayName": "DomoDashboard Test Connection",
        "description": "This Test Connection validates the access against the server and basic metadata extraction "
        "of dashboards and charts.",
        "steps": [{"name": "GetDashboards", "description": _DASHBOARDS, "mandatory": True}],
    },
    "QlikCloud": {
        "displayName": "Qlik Cloud Test Connection",
        "description": "This Test Connection validates the access against the server and basic metadata extraction "
        "of dashboards and charts.",
        "steps": [_get_dashboards(short_circuit=True)],
    },
    "QlikSense": {
        "displayName": "QlikSense Test Connection",
        "description": "This Test Connection validates the access against the server and basic metadata extraction "
        "of dashboards and charts.",
        "steps": [_get_dashboards(short_circuit=True)],
    },
    # The server's seed file gained GetOrganizationInfo and GetFolders after 2.0.7; 2.0.7's Grafana connector has
    # only GetDashboards (its test_fn), and a seeded step without a test_fn is a KeyError in its runner.
    "Grafana": {
        "displayName": "Grafana Test Connection",
        "description": "This Test Connection validates the access against the Grafana server and basic metadata "
        "extraction of dashboards, folders, and organization information.",
        "steps": [{**_get_dashboards(short_circuit=False), "errorMessage": "Failed to fetch dashboards, please "
                   "validate the credentials or check if user has access to fetch dashboards"}],
    },
}


def _entity(name: str, seed: dict[str, Any]) -> dict[str, Any]:
    fqn = name + FQN_SUFFIX
    entity_id = str(uuid.uuid5(_ID_NAMESPACE, fqn))
    return {
        "id": entity_id,
        "name": name,
        "displayName": seed["displayName"],
        "description": seed["description"],
        "fullyQualifiedName": fqn,
        "steps": seed["steps"],
        "version": 0.1,
        "updatedAt": _UPDATED_AT,
        "updatedBy": "admin",
        "deleted": False,
    }


DEFINITIONS: dict[str, dict[str, Any]] = {name + FQN_SUFFIX: _entity(name, seed) for name, seed in _SEED.items()}
"""FQN (``<Type>.testConnectionDefinition``) -> the entity as the server answers it."""


def definition(fqn: str) -> dict[str, Any] | None:
    """The definition whose FQN is exactly ``fqn`` (a copy), or None."""
    found = DEFINITIONS.get(fqn)
    return copy.deepcopy(found) if found is not None else None
