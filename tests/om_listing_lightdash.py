"""OpenMetadata's Lightdash connector's own listing calls, for ``tests/om_judge.py`` (stage 3, run in the
openmetadata-ingestion venv; never imports scanner).

``client`` is what ``get_connection`` returns for a Lightdash config: ``LightdashApiClient``
(``metadata/ingestion/source/dashboard/lightdash/client.py``). The calls are the ones its metadata source makes, in
its order: ``prepare()`` lists the project's spaces and charts, ``get_dashboards_list()`` reads the configured space
(and each dashboard's tiles, to attach their charts), ``get_project_name()`` names the project. Every one of them
swallows its errors and answers empty, so the counts are what the caller compares with the platform.
"""

from __future__ import annotations


def listing(client) -> dict:
    spaces = client.get_spaces()
    charts = client.get_charts_list()
    dashboards = client.get_dashboards_list()
    project = client.get_project_name(client.config.projectUUID)
    return {
        "spaces_listed": len(spaces),
        "charts_listed": len(charts),
        "dashboards_listed": len(dashboards),
        "dashboard_charts_listed": sum(len(d.charts or []) for d in dashboards),
        "project_named": int(bool(project)),
    }
