"""OpenMetadata's Qlik Sense connector lists what it ingests (run by ``tests/om_judge.py`` in the openmetadata-ingestion
venv; never imports scanner).

``client`` is the ``QlikSenseClient`` that ``get_connection`` returned: a WebSocket client of the Engine JSON API
(``wss://<hostPort>/app/``) with the registered certificates (``certificates.sslConfig``: OpenMetadata writes the three
PEM values to temporary files and hands them to ``websocket-client``) and ``X-Qlik-User``. The calls are the ones
``QliksenseSource`` makes (``metadata/ingestion/source/dashboard/qliksense/metadata.py``, 2.0.7): ``get_dashboards_list``
(``GetDocList``), then per app ``connect_websocket(<qDocId>)`` (a socket on ``/app/<qDocId>``, which repeats
``GetDocList``), ``get_dashboard_charts`` (``OpenDoc``, ``CreateSessionObject`` of a ``SheetList``, ``GetLayout``: the
sheets, ingested as charts), ``get_dashboard_models`` (``GetTablesAndKeys``: data models) and ``get_script_tables``
(``GetScript``: the load script's source tables, for lineage). Each of them logs and swallows errors (a refused
certificate, a closed socket) and answers an empty list, so the counts are what the judge compares with what the
platform holds. Nothing here is changed before ``get_connection`` (no ``prepare``).
"""

from __future__ import annotations


def listing(client) -> dict:
    dashboards = client.get_dashboards_list()
    charts = models = script_tables = 0
    for dashboard in dashboards:
        client.connect_websocket(dashboard.qDocId)
        charts += len(client.get_dashboard_charts(dashboard.qDocId))
        models += len(client.get_dashboard_models())
        script_tables += len(client.get_script_tables())
    return {
        "dashboards_listed": len(dashboards),
        "published": sum(1 for d in dashboards if d.qMeta and d.qMeta.published),
        "charts_listed": charts,
        "datamodels_listed": models,
        "script_tables": script_tables,
    }


def release(client) -> None:
    client.close_websocket()
