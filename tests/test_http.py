"""The hardened HTTP client against real local servers: redirects, caps, timeouts, TLS failures."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from scanner.http import BadResponse, BodyTooLarge, ConnectFailed, HttpClient, RedirectRefused, TimedOut, TlsFailed
from scanner.testing.server import LocalServer, Request, Response


@pytest.fixture
def recorder():
    """A second host that records everything it receives."""
    seen: list[Request] = []

    def app(request: Request) -> Response:
        seen.append(request)
        return Response.json({"ok": True})

    with LocalServer(app) as server:
        server.seen = seen
        yield server


@pytest.fixture
def redirector(recorder):
    def app(request: Request) -> Response:
        return Response(307, b"", {"Location": recorder.url + "/stolen"})

    with LocalServer(app) as server:
        yield server


def test_credentials_never_follow_redirects(redirector, recorder):
    with HttpClient() as http:
        with pytest.raises(RedirectRefused, match="not followed because the request carries credentials"):
            http.post(redirector.url + "/login", json={"password": "hunter2-secret"}, credentials=True)
        with pytest.raises(RedirectRefused):
            http.get(redirector.url + "/api", headers={"Authorization": "Bearer tok-abc"})
    assert recorder.seen == []


def test_plain_requests_follow_redirects(redirector, recorder):
    with HttpClient() as http:
        resp = http.get(redirector.url + "/")
    assert resp.status == 200 and resp.history == [307]
    assert [r.path for r in recorder.seen] == ["/stolen"]


def test_body_cap_declared_and_streamed():
    big = b"x" * 50_000

    def app(request: Request) -> Response:
        return Response(200, big)

    with LocalServer(app) as server, HttpClient(max_body=10_000) as http, \
            pytest.raises(BodyTooLarge, match="exceeds the 10000-byte cap"):
        http.get(server.url)


def test_json_expected_but_html():
    with LocalServer(lambda r: Response(200, b"<html/>", {"Content-Type": "text/html"})) as server, \
            HttpClient() as http:
        resp = http.get(server.url)
    with pytest.raises(BadResponse, match="expected JSON, got text/html"):
        resp.json()


def test_connection_refused(closed_port):
    with HttpClient() as http, pytest.raises(ConnectFailed, match="connection refused"):
        http.get(f"http://127.0.0.1:{closed_port}/")


def _silent_server(stop: threading.Event, drip: bool = False) -> tuple[socket.socket, threading.Thread]:
    """Accepts connections; never answers (or drips a response one byte at a time)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    held = []

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)
            if drip:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                for _ in range(100):
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(b"x")
                    except OSError:
                        break
                    time.sleep(0.2)
        for c in held:
            c.close()
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize("drip", [False, True])
def test_hanging_or_dripping_server_is_bounded_by_the_deadline(drip):
    stop = threading.Event()
    listener, thread = _silent_server(stop, drip=drip)
    port = listener.getsockname()[1]
    started = time.monotonic()
    try:
        with HttpClient(read_timeout=5, deadline=time.monotonic() + 1.0) as http, pytest.raises(TimedOut):
            http.get(f"http://127.0.0.1:{port}/")
    finally:
        stop.set()
        thread.join(5)
    assert time.monotonic() - started < 2.5


def test_tls_to_plain_http_server_is_a_tls_error(web):
    https_url = web.url.replace("http://", "https://")
    with HttpClient() as http, pytest.raises(TlsFailed) as info:
        http.get(https_url)
    assert str(info.value).endswith("the server does not speak TLS on this port (try http://)")


def test_requests_of_one_client_reuse_one_connection():
    from scanner.http import HttpClient
    from scanner.testing.server import LocalServer, Response

    peers = []

    def app(request):
        peers.append(request.client_address)
        return Response(200, b"x" * 70_000)  # more than one read1() chunk

    with LocalServer(app) as server, HttpClient() as client:
        for _ in range(5):
            assert len(client.get(server.url + "/a").body) == 70_000
    assert len(peers) == 5 and len(set(peers)) == 1
