"""OpenMetadata's own ingestion code judges one stored dashboard-service connection config.

Run with the python of the venv that ``tests/om_ingestion.py`` builds (``openmetadata-ingestion`` 2.0.7.0); it
never imports scanner. Usage::

    <ingestion-venv>/bin/python tests/om_judge.py INPUT.json

``INPUT.json``: ``{"config": <connection.config exactly as the catalog stored it, read back with a bot token>,
"catalog": {"host": "http://127.0.0.1:PORT/api", "token": "<bot JWT>"}}``.

Stages, in order, each ``{"ok": bool, ...}`` with ``"error": {"type", "message", "chain"}`` when it failed:

1. ``model``: ``DashboardConnection(config=...)`` (the union the ingestion workflow parses) and the specific
   class for ``config.type`` (``SupersetConnection``, ``MetabaseConnection``, ...); the union must resolve to that
   class.
2. ``get_connection``: ``metadata.ingestion.source.connections.get_connection(config)``, the client the
   connector ingests with.
3. ``listing``: the connector's own listing calls on that client, as its metadata source makes them
   (Superset: ``get_dashboard_count``/``get_chart_count`` and one page of ``fetch_dashboards``/``fetch_charts``;
   Looker: ``me``, ``all_dashboards(fields="id,title")``, ``all_lookml_models``; Tableau: ``server_info``,
   ``get_workbook_count``, ``get_workbooks``; any other type: ``listing(client)`` of ``tests/om_listing_<type>.py``,
   e.g. ``om_listing_metabase.py``). Counts are reported: several of these calls swallow errors and
   answer an empty result, so the caller must compare them with what the platform holds.
4. ``catalog_client``: ``OpenMetadata(OpenMetadataConnection(hostPort, authProvider=openmetadata,
   securityConfig=OpenMetadataJWTClientConfig(jwtToken)))`` (validates the server version).
5. ``test_connection``: the connector's test-connection steps through OpenMetadata's own path
   (``get_test_connection_fn(config)(metadata)``: the steps come from the catalog's
   ``<Type>.testConnectionDefinition``), then OpenMetadata's verdict ``raise_test_connection_exception``
   (the one ``test_connection_common`` applies): ``ok`` is false when a mandatory step failed. ``steps`` lists
   every step result (name, passed, mandatory, status, message, errorLog, ...).

Output: one JSON document on stdout, ``{"passed": bool, "type": ..., "stages": {...}}``; ``passed`` is every
stage ok. Exceptions are data: nothing but that document goes to stdout (logs go to stderr). Exit code 0
whenever the document was written, even when the config failed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import traceback
from typing import Any

MAX_MESSAGE = 2000


def _error(exc: BaseException) -> dict[str, Any]:
    chain: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(chain) < 6:
        seen.add(id(current))
        chain.append(f"{type(current).__module__}.{type(current).__qualname__}: {str(current)[:MAX_MESSAGE]}")
        current = current.__cause__ or current.__context__
    return {
        "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "message": str(exc)[:MAX_MESSAGE],
        "chain": chain,
    }


def _stage(stages: dict, name: str, fn) -> Any:
    """Run one stage; record ok/error (and whatever dict ``fn`` returns besides its value)."""
    try:
        value, extra = fn()
    except BaseException as exc:  # noqa: BLE001 - every failure is data, even SystemExit from a library
        if isinstance(exc, KeyboardInterrupt):
            raise
        logging.getLogger("om_judge").debug("stage %s failed", name, exc_info=True)
        print(f"[om_judge] stage {name} failed:\n{traceback.format_exc()}", file=sys.stderr)
        stages[name] = {"ok": False, "error": _error(exc)}
        return None
    stages[name] = {"ok": True, **(extra or {})}
    return value


# -- stage 1 ------------------------------------------------------------------------------------------


def specific_class(service_type: str) -> tuple[str, str]:
    """The generated module and class of one dashboard connection type (``Metabase`` ->
    ``...dashboard.metabaseConnection``, ``MetabaseConnection``)."""
    module = "metadata.generated.schema.entity.services.connections.dashboard."
    return module + service_type[0].lower() + service_type[1:] + "Connection", f"{service_type}Connection"


def _model(config: dict):
    import importlib

    from metadata.generated.schema.entity.services.dashboardService import DashboardConnection

    service_type = config.get("type")
    if not isinstance(service_type, str) or not service_type.isalnum():
        raise ValueError(f"config.type {service_type!r} is not a dashboard service type")
    module, cls_name = specific_class(service_type)
    specific_cls = getattr(importlib.import_module(module), cls_name)
    specific = specific_cls.model_validate(config)
    union = DashboardConnection.model_validate({"config": config}).config
    if type(union) is not specific_cls:
        raise TypeError(f"DashboardConnection parsed the config as {type(union).__name__}, not {cls_name}")
    if union != specific:
        raise ValueError(f"DashboardConnection and {cls_name} parsed the config differently")
    return union, {"class": f"{specific_cls.__module__}.{cls_name}"}


# -- stage 3 ------------------------------------------------------------------------------------------


def _listing_superset(client) -> dict:
    dashboards = client.get_dashboard_count()
    charts = client.get_chart_count()
    page_d = client.fetch_dashboards(0, 25)
    page_c = client.fetch_charts(0, 25)
    return {
        "dashboard_count": dashboards,
        "chart_count": charts,
        "dashboards_listed": len(page_d.result or []),
        "charts_listed": len(page_c.result or []),
    }


def _listing_looker(client) -> dict:
    me = client.me()
    dashboards = list(client.all_dashboards(fields="id,title"))
    models = list(client.all_lookml_models())
    return {"user_id": me.id, "dashboards_listed": len(dashboards), "lookml_models_listed": len(models)}


def _listing_tableau(client) -> dict:
    info = client.server_info()
    count = client.get_workbook_count()
    workbooks = list(client.get_workbooks(include_owners=False))
    return {
        "rest_api_version": getattr(info, "rest_api_version", None),
        "workbook_count": count,
        "workbooks_listed": len(workbooks),
        "charts_listed": sum(len(w.charts or []) for w in workbooks),
    }


LISTING = {"Superset": _listing_superset, "Looker": _listing_looker, "Tableau": _listing_tableau}


def _platform_module(service_type: str):
    """``tests/om_listing_<type>.py`` of a platform (``listing(client) -> dict``, optional ``release(client)``), so a
    new platform adds its own file and never edits this one."""
    import importlib

    return importlib.import_module(f"om_listing_{service_type.lower()}")


def _prepare(service_type: str) -> dict:
    """A platform module's optional ``prepare()``, run before ``get_connection``: what the harness must change so the
    connector can run offline against a loopback stand-in (e.g. MSAL's instance discovery, which would call
    login.microsoftonline.com). It returns what it changed, for the verdict; everything else is OpenMetadata's code."""
    if service_type in LISTING:
        return {}
    try:
        module = _platform_module(service_type)
    except ModuleNotFoundError:
        return {}
    prepare = getattr(module, "prepare", None)
    return dict(prepare() or {}) if prepare is not None else {}


def _listing(service_type: str, client) -> dict:
    if service_type in LISTING:
        return LISTING[service_type](client)
    return _platform_module(service_type).listing(client)


def _release(service_type: str, client) -> None:
    """End the listing client's session before the test connection opens its own (a Tableau PAT allows one)."""
    if service_type not in LISTING:
        release = getattr(_platform_module(service_type), "release", None)
        if release is not None:
            with contextlib.suppress(Exception):
                release(client)
        return
    if service_type == "Tableau":
        with contextlib.suppress(Exception):
            client.sign_out()
    elif service_type == "Looker":
        with contextlib.suppress(Exception):
            client.auth.logout()


# -- stages 4 and 5 -----------------------------------------------------------------------------------


def _catalog_client(catalog: dict):
    from metadata.generated.schema.entity.services.connections.metadata.openMetadataConnection import (
        OpenMetadataConnection,
    )
    from metadata.generated.schema.security.client.openMetadataJWTClientConfig import (
        OpenMetadataJWTClientConfig,
    )
    from metadata.ingestion.ometa.ometa_api import OpenMetadata

    metadata = OpenMetadata(
        OpenMetadataConnection(
            hostPort=catalog["host"],
            authProvider="openmetadata",
            securityConfig=OpenMetadataJWTClientConfig(jwtToken=catalog["token"]),
        )
    )
    return metadata, {"server_version": metadata.server_version}


def _step(result) -> dict:
    data = result.model_dump(mode="json", exclude_none=True)
    keep = ("name", "passed", "mandatory", "status", "skipReason", "message", "errorLog", "durationMs")
    out = {key: data[key] for key in keep if key in data}
    diagnosis = data.get("diagnosis")
    if isinstance(diagnosis, dict):
        out["diagnosis"] = {k: diagnosis[k] for k in ("title", "remediation") if k in diagnosis}
    return out


def _test_connection(stages: dict, metadata, connection) -> None:
    from metadata.ingestion.connections.test_connections import raise_test_connection_exception
    from metadata.ingestion.source.connections import get_test_connection_fn

    try:
        result = get_test_connection_fn(connection)(metadata)
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        print(f"[om_judge] test connection raised:\n{traceback.format_exc()}", file=sys.stderr)
        stages["test_connection"] = {"ok": False, "error": _error(exc), "steps": []}
        return
    steps = [_step(s) for s in result.steps or []]
    status = result.status.value if getattr(result, "status", None) is not None else None
    entry: dict[str, Any] = {"ok": True, "status": status, "steps": steps}
    try:
        raise_test_connection_exception(result)  # OpenMetadata's verdict: a failed mandatory step raises
    except Exception as exc:
        entry.update(ok=False, error=_error(exc))
    if not steps:
        entry.update(ok=False, error={"type": "om_judge.NoSteps", "message": "no test-connection step ran",
                                      "chain": []})
    stages["test_connection"] = entry


# -- main ---------------------------------------------------------------------------------------------


def judge(doc: dict) -> dict:
    config = doc["config"]
    catalog = doc["catalog"]
    service_type = config.get("type") if isinstance(config, dict) else None
    stages: dict[str, dict] = {}
    out: dict[str, Any] = {"type": service_type, "stages": stages}

    connection = _stage(stages, "model", lambda: _model(config))
    if connection is not None:
        changed = _prepare(service_type)
        if changed:
            out["harness_changes"] = changed
        from metadata.ingestion.source.connections import get_connection

        client = _stage(stages, "get_connection", lambda: (get_connection(connection), None))
        if client is not None:
            stages["get_connection"]["client"] = type(client).__name__
            _stage(stages, "listing", lambda: (None, _listing(service_type, client)))
            _release(service_type, client)
    metadata = _stage(stages, "catalog_client", lambda: _catalog_client(catalog))
    if connection is not None and metadata is not None:
        _test_connection(stages, metadata, connection)
    expected = ("model", "get_connection", "listing", "catalog_client", "test_connection")
    out["passed"] = all(stages.get(name, {}).get("ok") for name in expected)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: om_judge.py INPUT.json", file=sys.stderr)
        return 2
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    real_stdout = sys.stdout
    with open(argv[0]) as fh:
        doc = json.load(fh)
    with contextlib.redirect_stdout(sys.stderr):  # a library's print() must not corrupt the document
        try:
            out = judge(doc)
        except BaseException as exc:  # noqa: BLE001 - the harness itself failed; still answer in JSON
            if isinstance(exc, KeyboardInterrupt):
                raise
            print(traceback.format_exc(), file=sys.stderr)
            out = {"passed": False, "type": None, "stages": {}, "judge_error": _error(exc)}
    real_stdout.write(json.dumps(out, indent=1, sort_keys=True) + "\n")
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
