"""The run deadline bounds the catalog's retries, and a catalog call that got no answer is one readable line.

- ``--run-deadline``: no retry wait (``Retry-After`` or backoff) goes past the run's end, and once it has
  passed a call is not retried: the catalog's last answer is reported, saying the deadline stopped it.
  Without a deadline, retries are what they always were.
- Transport failures (reset, closed, cut short, not HTTP, TLS handshake closed, name not found, no
  route, proxy down) each give one line naming what broke and during which request, never a nested
  Python repr.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import urllib3
from conftest import BOT_TOKEN, catalog_env
from pydantic import SecretStr
from test_catalog_faults import write_targets as write_retrying_targets
from test_catalog_surprises import assert_clean, by_service, version_ok
from test_catalog_surprises import scan as scan_host
from test_catalog_surprises import write_targets as write_single_try_targets
from test_hostile import Front, cut_short, garbage, raw

from scanner.errors import CatalogError
from scanner.openmetadata.client import CatalogClient
from scanner.settings import CatalogSettings
from scanner.testing.server import Request, Response

SERVICES = "/api/v1/services/dashboardServices"
PAYLOAD = {"name": "custom_x", "serviceType": "CustomDashboard"}
# What a line must never show: urllib3's and Python's reprs of nested exceptions.
REPR = re.compile(r"Error\(|\[Errno|Caused by|HTTPConnection|Max retries|object at 0x|Connection aborted\.'")


def client(host: str, *, retries: int = 4, timeout: float = 30.0, deadline: float | None = None) -> CatalogClient:
    settings = CatalogSettings(host=host, jwt_token=SecretStr(BOT_TOKEN), retries=retries, timeout=timeout)
    return CatalogClient(settings, deadline=deadline)


def failure(call) -> tuple[str, float]:
    """The CatalogError line `call` ends with, and how long it took."""
    started = time.monotonic()
    with pytest.raises(CatalogError) as caught:
        call()
    return str(caught.value), time.monotonic() - started


def assert_readable(line: str) -> None:
    assert "\n" not in line and not REPR.search(line), line
    assert line.count("'") % 2 == 0 and line.count("(") == line.count(")"), line
    assert BOT_TOKEN not in line


# -- F6: the run deadline bounds the catalog's retries ------------------------------------------------------

def test_a_retry_after_of_an_hour_ends_at_the_run_deadline_with_the_catalogs_answer(run_cli, tmp_path, web,
                                                                                    catalog):
    names = write_retrying_targets(tmp_path / "config.toml", web.url, 3)  # retries = 3: 3 x 60 s without a bound
    catalog.inject(429, times=None, method="PUT", headers={"Retry-After": "3600"})
    started = time.monotonic()
    result = run_cli("scan", "--output", "json", "--no-inventory", "--run-deadline", "4", env=catalog_env(catalog),
                     timeout=100)
    elapsed = time.monotonic() - started
    by = by_service(result)
    assert result.code == 1, result.stderr
    assert elapsed < 4 + 8, elapsed  # the deadline, plus start-up and a last try per call
    assert sorted(by) == names and {t["taken"] for t in by.values()} == {"failed"}, by
    for entry in by.values():
        assert re.fullmatch(rf"catalog PUT {SERVICES}(/bulk)?\S* -> 429: Too Many Requests "
                            r"\((after \d+ retr(y|ies); run deadline reached|not retried: run deadline reached)\)",
                            entry["error"]), entry["error"]
    assert catalog.services == {}


def test_a_wait_is_cut_at_the_deadline_and_the_call_then_tried_once_more(catalog):
    catalog.inject(429, times=None, method="PUT", headers={"Retry-After": "3600"})
    catalog.reset_log()
    line, took = failure(lambda: client(catalog.url, deadline=time.monotonic() + 1.5).put_service(PAYLOAD))
    assert 1.2 < took < 4, took
    assert line == f"catalog PUT {SERVICES} -> 429: Too Many Requests (after 1 retry; run deadline reached)"
    assert [c.status for c in catalog.calls("PUT")] == [429, 429]


def test_after_the_deadline_a_call_is_made_once_and_not_retried(catalog):
    catalog.inject(503, times=None, method="PUT")
    catalog.reset_log()
    line, took = failure(lambda: client(catalog.url, deadline=time.monotonic() - 1).put_service(PAYLOAD))
    assert took < 1, took
    assert line == f"catalog PUT {SERVICES} -> 503: Service Unavailable (not retried: run deadline reached)"
    assert len(catalog.calls("PUT")) == 1


def test_backoff_waits_are_cut_at_the_deadline_too(catalog):
    catalog.inject(503, times=None, method="PUT")  # no Retry-After: backoff 1, 2, 4, 8, 10... s
    line, took = failure(lambda: client(catalog.url, retries=10, deadline=time.monotonic() + 2).put_service(PAYLOAD))
    assert took < 4, took
    assert line.startswith(f"catalog PUT {SERVICES} -> 503: ") and line.endswith("; run deadline reached)"), line


def test_a_connection_that_keeps_failing_stops_being_retried_at_the_deadline(catalog):
    catalog.inject(times=None, method="PUT", reset=True)
    line, took = failure(lambda: client(catalog.url, retries=10, deadline=time.monotonic() + 2).put_service(PAYLOAD))
    assert took < 4, took
    assert re.fullmatch(rf"catalog {re.escape(catalog.url)}: the connection was reset during PUT {SERVICES} "
                        r"\(after \d+ retr(y|ies); run deadline reached\)", line), line


def test_without_a_run_deadline_retries_and_their_waits_are_unchanged(catalog):
    catalog.inject(429, times=2, method="PUT", headers={"Retry-After": "1"})
    started = time.monotonic()
    assert client(catalog.url).put_service(PAYLOAD).status == 201
    assert time.monotonic() - started >= 1.9  # both waits were honoured
    assert [c.status for c in catalog.calls("PUT")] == [429, 429, 201]
    catalog.inject(503, times=None, method="PUT", headers={"Retry-After": "0"})
    line, _ = failure(lambda: client(catalog.url, retries=2).put_service(PAYLOAD))
    assert line == f"catalog PUT {SERVICES} -> 503: Service Unavailable (after 2 retries)"


# -- F7: a call that got no answer is one readable line ----------------------------------------------------

def test_a_connection_reset_on_put_is_one_readable_line(run_cli, tmp_path, web, catalog):
    write_single_try_targets(tmp_path, web.url, 1)  # retries = 0
    catalog.inject(times=None, method="PUT", reset=True)
    result = run_cli("scan", "--output", "json", "--no-inventory", env=catalog_env(catalog))
    assert result.code == 1, result.stderr
    error = by_service(result)["custom_t0"]["error"]
    assert error == f"catalog {catalog.url}: the connection was reset during PUT {SERVICES}", error


def catalog_spoiling_put(answer):
    """A catalog whose version and look-ups answer, and whose PUTs get `answer`."""

    def app(request: Request):
        if request.method == "PUT":
            return answer
        if request.method == "GET" and request.path.startswith(SERVICES + "/name/"):
            return Response.json({"code": 404, "message": "not found"}, 404)
        return version_ok(request) or Response.json({"data": [], "paging": {"total": 0}})

    return app


@pytest.mark.parametrize("answer, says", [
    (Response(reset=True), "the server closed the connection without answering PUT {path} "
                           "(if that port speaks TLS, use https://)"),
    (raw(cut_short)(None), "the connection closed before the whole answer to PUT {path} arrived"),
    (raw(garbage)(None), "the answer to PUT {path} is not HTTP; check OPENMETADATA_HOST"),
])
def test_a_put_that_breaks_mid_answer_names_what_broke_and_the_request(run_cli, tmp_path, web, answer, says):
    write_single_try_targets(tmp_path, web.url, 1)
    with Front(catalog_spoiling_put(answer)) as front:
        url = front.url
        result = scan_host(run_cli, url)
    assert_clean(result)
    assert result.code == 1, result.stderr
    error = by_service(result)["custom_t0"]["error"]
    assert error == f"catalog {url}: " + says.format(path=SERVICES), error
    assert_readable(error)


@contextlib.contextmanager
def hanging_up_port() -> Iterator[int]:
    """A port that accepts, reads what arrives, and closes without a word (before any TLS)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.settimeout(2)
                conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()


def test_a_tls_handshake_the_server_hangs_up_on_is_not_called_a_verification_failure():
    with hanging_up_port() as port:
        host = f"https://127.0.0.1:{port}"
        line, _ = failure(lambda: client(host, retries=0).server_version())
    assert line == f"catalog {host}: the server closed the connection during the TLS handshake for GET " \
                   "/api/v1/system/version", line
    assert "verification" not in line


class _Raising:
    """A stand-in connection pool whose every request raises `exc` (as urllib3 does after its retries)."""

    def __init__(self, exc: BaseException):
        self.exc = exc

    def request(self, *args, **kwargs):
        raise self.exc

    def clear(self) -> None:
        pass


def _new_connection(cause: OSError) -> urllib3.exceptions.NewConnectionError:
    conn = urllib3.connection.HTTPConnection("catalog.internal", 8585)
    try:
        raise urllib3.exceptions.NewConnectionError(conn, f"Failed to establish a new connection: {cause}") \
            from cause
    except urllib3.exceptions.NewConnectionError as exc:
        return exc


def _name_not_found() -> urllib3.exceptions.NameResolutionError:
    conn = urllib3.connection.HTTPConnection("catalog.internal", 8585)
    cause = socket.gaierror(-2, "Name or service not known")
    try:
        raise urllib3.exceptions.NameResolutionError("catalog.internal", conn, cause) from cause
    except urllib3.exceptions.NameResolutionError as exc:
        return exc


def _max_retries(reason: BaseException) -> urllib3.exceptions.MaxRetryError:
    return urllib3.exceptions.MaxRetryError(None, "/api/v1/system/version", reason)  # type: ignore[arg-type]


@pytest.mark.parametrize("make, says", [
    (lambda: _max_retries(_name_not_found()),
     "catalog http://catalog.internal:8585 unreachable: the host name catalog.internal was not found (DNS); "
     "check OPENMETADATA_HOST"),
    (lambda: _max_retries(_new_connection(OSError(101, "Network is unreachable"))),
     "catalog http://catalog.internal:8585 unreachable: network is unreachable"),
    (lambda: _max_retries(_new_connection(ConnectionRefusedError(111, "Connection refused"))),
     "catalog http://catalog.internal:8585 unreachable: connection refused"),
    (lambda: _max_retries(urllib3.exceptions.ProxyError(
        "Unable to connect to proxy", _new_connection(ConnectionRefusedError(111, "Connection refused")))),
     "catalog http://catalog.internal:8585 unreachable: the proxy failed (connection refused)"),
    (lambda: _max_retries(urllib3.exceptions.ProxyError(
        "Unable to connect to proxy", OSError("Tunnel connection failed: 403 Forbidden"))),
     "catalog http://catalog.internal:8585 unreachable: the proxy failed (tunnel connection failed: 403 Forbidden)"),
    (lambda: _max_retries(urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionAbortedError(103, "Software caused connection abort"))),
     "catalog http://catalog.internal:8585: the connection was aborted during GET /api/v1/system/version"),
    (lambda: urllib3.exceptions.ProtocolError("Connection aborted.", BrokenPipeError(32, "Broken pipe")),
     "catalog http://catalog.internal:8585: the server closed the connection while GET /api/v1/system/version "
     "was being sent"),
    (lambda: _max_retries(urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))),
     "catalog http://catalog.internal:8585: the connection was reset during GET /api/v1/system/version"),
])
def test_every_transport_failure_is_one_line_saying_what_broke(make, says):
    catalog = client("http://catalog.internal:8585", retries=0)
    catalog._pool = _Raising(make())  # type: ignore[assignment]
    catalog._refusal, catalog.via = None, ""  # whatever proxy the environment running the tests sets
    line, _ = failure(catalog.server_version)
    assert line == says
    assert_readable(line)
