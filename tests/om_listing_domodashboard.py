"""OpenMetadata's DomoDashboard connector lists what it ingests (``tests/om_judge.py`` stage 3; runs in the
openmetadata-ingestion 2.0.7.0 venv, never imports scanner).

``client`` is the ``OMPyDomoClient`` that ``get_connection`` built: ``client.domo`` is pydomo's ``Domo`` (its
constructor already fetched the OAuth token from ``https://<apiHost>/oauth/token``), ``client.custom`` the
``DomoClient`` on the instance. The listing runs ``DomodashboardSource``'s own methods
(``metadata/ingestion/source/dashboard/domodashboard/metadata.py``) on that client: ``get_dashboards_list``
(``page_list`` = ``GET /v1/pages`` until empty, then ``get_page_details`` = ``GET /v1/pages/<id>`` per page), the
chart ids ``yield_dashboard_chart`` reads (``cardIds`` plus ``get_chart_ids(collectionIds)``),
``DomoClient.get_chart_details`` per card (``GET <instance>/api/content/v1/cards?urns=<id>&parts=...`` with the
developer token; it swallows errors and answers None), ``get_owner_ref``'s ``users_get``, and the connector's
``GetCharts`` check ``test_list_cards`` (raises on a refused developer token). Nothing is changed before
``get_connection`` (no ``prepare``).

The judge imports this module as ``om_listing_domodashboard`` (``om_listing_<type lower>``): that file re-exports it.
"""

from __future__ import annotations

from types import SimpleNamespace


def _source(client):
    from metadata.ingestion.source.dashboard.domodashboard.metadata import DomodashboardSource

    class Source:  # the listing methods of OpenMetadata's source, on the client get_connection returned
        get_dashboards_list = DomodashboardSource.get_dashboards_list
        get_page_details = DomodashboardSource.get_page_details
        get_owners = DomodashboardSource.get_owners
        get_chart_ids = DomodashboardSource.get_chart_ids

        def __init__(self):
            self.client = client
            self.source_config = SimpleNamespace(includeOwners=True)

    return Source()


def listing(client) -> dict:
    source = _source(client)
    dashboards = source.get_dashboards_list() or []
    chart_ids: list = []
    for dashboard in dashboards:
        chart_ids.extend([*(dashboard.cardIds or []), *source.get_chart_ids(dashboard.collectionIds)])
    charts = [client.custom.get_chart_details(page_id=chart_id) for chart_id in chart_ids]
    owners = {owner.id for dashboard in dashboards for owner in dashboard.owners or []}
    emails = [client.domo.users_get(owner_id).get("email") for owner_id in sorted(owners)]
    client.custom.test_list_cards()  # the connector's GetCharts step: raises when the developer token is refused
    return {
        "dashboards_listed": len(dashboards),
        "charts_listed": sum(1 for chart in charts if chart is not None and chart.name),
        "distinct_charts": len({str(chart_id) for chart_id in chart_ids}),
        "owner_emails": sum(1 for email in emails if email),
        "cards_check_ok": True,
    }
