"""OpenMetadata's Mode connector lists what it ingests (run by ``tests/om_judge.py`` in the openmetadata-ingestion venv;
never imports scanner).

``client`` is the ``ModeApiClient`` that ``get_connection`` returned; it keeps the connection config as ``client.config``
(the workspace name comes from there, as ``ModeSource`` reads it). The calls are the ones ``ModeSource`` makes
(``metadata/ingestion/source/dashboard/mode/metadata.py``, 2.0.7): ``get_all_data_sources`` (its ``__init__``),
``fetch_all_reports(workspace, filterQueryParam or "all")`` (the dashboard list: every space, every report page until
a page brings nothing new), ``get_all_queries`` per report (data models, and the queries whose ``get_all_charts``
become charts), ``get_user_email`` of each report's creator (owners), plus the test connection's ``get_workspace``.
``get_all_queries``, ``get_all_charts``, ``get_all_data_sources`` and ``get_user_email`` swallow every error and answer
None, so the counts are what the judge compares with what the platform holds.
"""

from __future__ import annotations


def listing(client) -> dict:
    config = client.config
    workspace = config.workspaceName
    info = client.get_workspace(workspace)
    sources = client.get_all_data_sources(workspace) or {}
    reports = client.fetch_all_reports(workspace, config.filterQueryParam or "all")
    queries = charts = 0
    for report in reports:
        response = client.get_all_queries(workspace_name=workspace, report_token=report["token"])
        found = (response or {}).get("_embedded", {}).get("queries", [])
        queries += len(found)
        for query in found:
            chart_response = client.get_all_charts(workspace_name=workspace, report_token=report["token"],
                                                   query_token=query["token"])
            charts += len((chart_response or {}).get("_embedded", {}).get("charts", []))
    creators = {str(r["_links"]["creator"]["href"]).rstrip("/").rsplit("/", 1)[-1] for r in reports}
    emails = [client.get_user_email(username) for username in sorted(creators)]
    return {
        "workspace_ok": isinstance(info, dict) and bool(info.get("username")),
        "data_sources_listed": len(sources),
        "dashboards_listed": len(reports),
        "distinct_dashboards": len({r["token"] for r in reports}),
        "share_links": sum(1 for r in reports if r["_links"]["share"]["href"]),
        "queries_listed": queries,
        "charts_listed": charts,
        "creator_emails": sum(1 for email in emails if email),
    }
