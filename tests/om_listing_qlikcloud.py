"""OpenMetadata's Qlik Cloud connector lists what it ingests over REST (run by ``tests/om_judge.py`` in the
openmetadata-ingestion venv; never imports scanner).

``client`` is the ``QlikCloudClient`` that ``get_connection`` returned (``metadata/ingestion/source/dashboard/
qlikcloud/client.py``, 2.0.7). The calls are the REST ones ``QlikcloudSource`` makes, in its order: ``prepare``
lists the spaces (``get_projects_list``), ``get_dashboards_list`` pages through the apps (cursor in
``links.next.href``), ``get_dashboard_details`` reads each app (``/v1/apps/<appId>``), and ``get_data_files``
(``/v1/data-files``, part of its data models). ``apps_placed`` counts the apps the source would keep: those whose
``spaceId`` is a listed space or the personal space (``""``); the source filters the others out.

Not run, because they need the Engine's WebSocket (``wss://<host>/app/<appId>``, port 443 fixed), which no loopback
stand-in can serve at that address: ``get_dashboard_charts`` (sheets as charts), ``get_dashboard_models`` (the load
model) and ``get_script_tables`` (the load script).

Each call swallows its errors and answers empty, and on a 401/403 the app paging repeats the refused request
without end (OpenMetadata's REST helper returns None for Qlik's error body): the listing runs in a thread with a
time limit, so such a config fails here instead of hanging the judge.
"""

from __future__ import annotations

import os
import threading

LIMIT_S = float(os.environ.get("SCANNER_QLIKCLOUD_LISTING_LIMIT_S") or 60)  # a test of a refused key sets it lower


def _listing(client) -> dict:
    spaces = list(client.get_projects_list())
    apps = list(client.get_dashboards_list())
    space_ids = {space.id for space in spaces} | {""}
    details = [client.get_dashboard_details(app.app_id) for app in apps]
    data_files = client.get_data_files()
    return {
        "spaces_listed": len(spaces),
        "apps_listed": len(apps),
        "apps_placed": sum(1 for app in apps if (app.space_id or "") in space_ids),
        "app_details": sum(1 for detail in details if detail is not None),
        "data_files_listed": len(data_files or []),
    }


def listing(client) -> dict:
    out: dict = {}
    failed: list[BaseException] = []

    def run() -> None:
        try:
            out.update(_listing(client))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            failed.append(exc)

    worker = threading.Thread(target=run, name="qlikcloud-listing", daemon=True)
    worker.start()
    worker.join(LIMIT_S)
    if worker.is_alive():
        raise TimeoutError(f"the Qlik Cloud listing did not end within {LIMIT_S:.0f} s (OpenMetadata's app paging "
                           "repeats a refused request without end)")
    if failed:
        raise failed[0]
    return out
