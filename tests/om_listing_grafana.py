"""OpenMetadata's Grafana connector lists what it ingests (run by ``tests/om_judge.py`` in the openmetadata-ingestion
venv; never imports scanner).

``client`` is the ``GrafanaApiClient`` that ``get_connection`` returned. The calls are the ones ``GrafanaSource``
makes (``metadata/ingestion/source/dashboard/grafana/metadata.py``, 2.0.7): ``get_datasources`` (prepare),
``search_dashboards`` (the dashboard list), ``get_dashboard(uid)`` per dashboard, whose panels become charts
(``row`` and ``text`` panels skipped, collapsed rows flattened), plus ``test_connection`` (``/api/org``) and
``get_folders``. Every one of them swallows errors (a 401, a TLS failure) and answers None, False or an empty
list, so the counts are what the judge compares with what the platform holds.
"""

from __future__ import annotations


def _charts(details) -> int:
    panels = []
    for panel in details.dashboard.panels or []:
        if panel.type == "row" and panel.collapsed and panel.panels:
            panels.extend(panel.panels)
        else:
            panels.append(panel)
    return sum(1 for panel in panels if panel.type not in ("row", "text"))


def listing(client) -> dict:
    org = client.test_connection()
    datasources = client.get_datasources() or []
    dashboards = client.search_dashboards() or []
    details = [client.get_dashboard(dashboard.uid) for dashboard in dashboards]
    folders = client.get_folders() or []
    return {
        "org_ok": bool(org),
        "datasources_listed": len(datasources),
        "dashboards_listed": len(dashboards),
        "dashboard_details": sum(1 for d in details if d is not None),
        "charts_listed": sum(_charts(d) for d in details if d is not None),
        "folders_listed": len(folders),
    }


def release(client) -> None:
    client.close()
