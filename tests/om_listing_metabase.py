"""OpenMetadata's Metabase connector lists what its metadata source lists (``tests/om_judge.py`` stage 3).

Runs in the openmetadata-ingestion 2.0.7.0 venv, on the ``MetabaseClient`` that ``get_connection`` built (its
login, for a username/password config, already happened there). The calls are the ones ``MetabaseSource`` makes:
``prepare`` (``get_collections_list``, ``get_charts_dict``), ``get_dashboards_list`` (every collection's
``/items?models=dashboard``) and ``get_dashboard_details`` per dashboard. Each of them swallows its errors and
answers empty, so the counts are what the caller compares with what the platform holds.
"""

from __future__ import annotations


def listing(client) -> dict:
    collections = client.get_collections_list()
    charts = client.get_charts_dict()
    dashboards = client.get_dashboards_list(collections)
    details = [client.get_dashboard_details(d.id, charts, []) for d in dashboards]
    found = [d for d in details if d is not None]
    return {
        "collections_listed": len(collections),
        "dashboards_listed": len(dashboards),
        "charts_listed": len(charts),
        "dashboard_details": len(found),
        "dashboard_chart_links": sum(len(d.card_ids) for d in found),
    }
