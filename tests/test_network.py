"""Corporate networks: HTTPS_PROXY / HTTP_PROXY / NO_PROXY and the trust store, over real sockets on 127.0.0.1.

A small forward proxy written here (CONNECT tunnels and absolute-URI requests, with a request log) stands
between scanner and the fakes. Targets (Superset through scanner's own client, Tableau through the SDK
session) and the catalog are reached through it; credentials never cross it in clear text; NO_PROXY is
honoured; connection failures name the proxy without its userinfo. REQUESTS_CA_BUNDLE / SSL_CERT_FILE (and
OpenSSL's default paths, SSL_CERT_DIR) make an https target verify without its own *_CA_BUNDLE.
"""

from __future__ import annotations

import http.client
import json
import select
import shutil
import socket
import subprocess
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import pytest
from conftest import BOT_TOKEN

from scanner import network
from scanner.testing.fake_superset import FakeSuperset, FakeUser
from scanner.testing.fake_tableau import FakeTableau
from scanner.testing.server import LocalServer

SECRET = "net-secret-5c2e91"
PROXY_PASSWORD = "proxy-pw-8d41b7"
LOOPBACK = {"127.0.0.1", "localhost"}


# -- a loopback forward proxy, and a TLS front for the (plain-http) fake catalog ----------------------------


@dataclass
class Seen:
    method: str
    target: str  # "127.0.0.1:443" for CONNECT, the absolute URI otherwise
    headers: dict[str, str]  # names in lower case
    body: bytes


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while True:
            ready, _, _ = select.select([a, b], [], [], 5)
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()


def _forward(handler: BaseHTTPRequestHandler, host: str, port: int, path: str) -> bytes:
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    drop = {"proxy-authorization", "proxy-connection", "connection", "keep-alive", "host"}
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in drop}
    upstream = http.client.HTTPConnection(host, port, timeout=10)
    try:
        upstream.request(handler.command, path, body=body or None, headers=headers)
        resp = upstream.getresponse()
        data = resp.read()
    finally:
        upstream.close()
    handler.send_response(resp.status, resp.reason)
    skip = {"transfer-encoding", "connection", "content-length", "keep-alive", "server", "date"}
    for key, value in resp.getheaders():
        if key.lower() not in skip:
            handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(data)
    return body


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _refuse(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


def proxy_server() -> tuple[LocalServer, list[Seen]]:
    """A forward proxy on 127.0.0.1 that only ever connects to loopback, and its request log."""
    log: list[Seen] = []

    class Proxy(_Quiet):
        def do_CONNECT(self) -> None:  # noqa: N802
            log.append(Seen("CONNECT", self.path, {k.lower(): v for k, v in self.headers.items()}, b""))
            host, _, port = self.path.rpartition(":")
            if host.strip("[]") not in LOOPBACK:
                return self._refuse(403)
            try:
                upstream = socket.create_connection((host, int(port)), timeout=5)
            except OSError:
                return self._refuse(502)
            self.send_response(200, "Connection established")
            self.end_headers()
            self.close_connection = True
            _pipe(self.connection, upstream)

        def _absolute(self) -> None:
            seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, b"")
            log.append(seen)
            parts = urlsplit(self.path)
            if parts.scheme != "http" or parts.hostname not in LOOPBACK:
                return self._refuse(403)
            seen.body = _forward(self, parts.hostname, parts.port or 80,
                                 (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _absolute  # noqa: N815

    return LocalServer(Proxy, name="test-proxy"), log


def tls_front(port: int, server_tls) -> LocalServer:
    """https://127.0.0.1:<port> in front of a plain-http loopback server (the fake catalog)."""

    class Front(_Quiet):
        def _any(self) -> None:
            _forward(self, "127.0.0.1", port, self.path)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any  # noqa: N815

    return LocalServer(Front, name="tls-front", ssl_context=server_tls)


@pytest.fixture
def proxy():
    server, log = proxy_server()
    with server:
        yield server, log


def superset(tls=None) -> FakeSuperset:
    return FakeSuperset(users={"scanner": FakeUser(SECRET)}, tls=tls)


def superset_env(url: str, **extra: str) -> dict[str, str]:
    return {"SUPERSET_URL__A": url, "SUPERSET_USERNAME__A": "scanner", "SUPERSET_PASSWORD__A": SECRET, **extra}


def scan(run_cli, env: dict[str, str]):
    result = run_cli("scan", "--output", "json", env=env)
    assert result.stdout, result.stderr
    return result, {t["instance"]: t for t in json.loads(result.stdout)["targets"]}


def authority(url: str) -> str:
    return urlsplit(url).netloc


# -- through the proxy --------------------------------------------------------------------------------------


def test_https_targets_and_catalog_go_through_the_proxy(proxy, server_tls, ca_pem, run_cli, catalog):
    server, log = proxy
    proxy_url = f"http://scanner:{PROXY_PASSWORD}@127.0.0.1:{server.port}"
    with superset(server_tls) as sup, FakeTableau(tokens={"scanner-pat": SECRET}, tls=server_tls) as tab, \
            tls_front(catalog.port, server_tls) as front:
        env = {
            "HTTPS_PROXY": proxy_url, "NO_PROXY": "example.com,.corp",  # loopback not listed
            "OPENMETADATA_HOST": front.url + "/api", "OPENMETADATA_JWT_TOKEN": BOT_TOKEN,
            "OPENMETADATA_CA_BUNDLE": str(ca_pem),
            **superset_env(sup.url, SUPERSET_CA_BUNDLE__A=str(ca_pem)),
            "TABLEAU_URL__T": tab.url, "TABLEAU_TOKEN_NAME__T": "scanner-pat", "TABLEAU_TOKEN_SECRET__T": SECRET,
            "TABLEAU_CA_BUNDLE__T": str(ca_pem),
        }
        result, by = scan(run_cli, env)
        logins = [a["username"] for a in sup.login_attempts]
        addresses = {authority(sup.url), authority(tab.url), authority(front.url)}
    assert result.code == 0, result.stdout + result.stderr
    assert by["a"]["status"] == "ok" and by["t"]["status"] == "ok", by
    assert logins == ["scanner"]
    tunnels = {s.target for s in log if s.method == "CONNECT"}
    # scanner's own client (Superset), the SDK session (Tableau) and the catalog client all tunnelled
    assert addresses <= tunnels, tunnels
    assert all(s.method == "CONNECT" for s in log)  # nothing sent in clear through the proxy
    # the proxy's userinfo became Proxy-Authorization on every tunnel
    assert all(s.headers.get("proxy-authorization", "").startswith("Basic ") for s in log), [
        (s.target, sorted(s.headers)) for s in log]
    assert sorted(catalog.services) == ["superset_a", "tableau_t"]
    assert PROXY_PASSWORD not in result.stdout + result.stderr


def test_plain_http_target_gets_no_credentials_through_a_proxy(proxy, run_cli):
    server, log = proxy
    with superset() as sup:
        result, by = scan(run_cli, superset_env(sup.url, HTTP_PROXY=f"http://127.0.0.1:{server.port}"))
        attempts, sup_url = list(sup.login_attempts), sup.url
    entry = by["a"]
    assert result.code == 1, result.stdout + result.stderr
    assert entry["status"] != "ok" and attempts == []
    assert "not sent" in entry["message"] and "NO_PROXY" in entry["message"], entry
    assert f"via proxy http://127.0.0.1:{server.port}" in entry["message"]
    # the unauthenticated fingerprint did go through the proxy; no credential did
    assert any(s.method == "GET" and s.target.startswith(sup_url + "/") for s in log), log
    assert all(SECRET.encode() not in s.body and s.method == "GET" for s in log), log
    assert SECRET not in result.stdout + result.stderr


def test_plain_http_catalog_gets_no_token_through_a_proxy(proxy, run_cli, catalog):
    server, log = proxy
    env = {"HTTP_PROXY": f"http://127.0.0.1:{server.port}", "OPENMETADATA_HOST": catalog.api_url,
           "OPENMETADATA_JWT_TOKEN": BOT_TOKEN}
    result = run_cli("scan", "--output", "json", env=env)
    out = result.stdout + result.stderr
    assert result.code != 0, out
    assert "the token for http://127.0.0.1" in out and "not sent" in out and "NO_PROXY" in out, out
    assert catalog.calls(path_prefix="") == [] and log == []
    assert BOT_TOKEN not in out


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "127.0.0.0/8", "*"])
def test_no_proxy_is_honoured(no_proxy, proxy, run_cli, catalog):
    server, log = proxy
    proxy_url = f"http://127.0.0.1:{server.port}"
    with superset() as sup:
        env = {"HTTP_PROXY": proxy_url, "HTTPS_PROXY": proxy_url, "no_proxy": no_proxy,
               "OPENMETADATA_HOST": catalog.api_url, "OPENMETADATA_JWT_TOKEN": BOT_TOKEN, **superset_env(sup.url)}
        result, by = scan(run_cli, env)
    assert result.code == 0, result.stdout + result.stderr
    assert by["a"]["status"] == "ok", by["a"]
    assert log == []
    assert sorted(catalog.services) == ["superset_a"]


def test_a_proxy_that_cannot_be_reached_is_named_without_its_password(closed_port, server_tls, ca_pem, run_cli):
    with superset(server_tls) as sup:
        env = superset_env(sup.url, SUPERSET_CA_BUNDLE__A=str(ca_pem),
                           HTTPS_PROXY=f"http://scanner:{PROXY_PASSWORD}@127.0.0.1:{closed_port}")
        result, by = scan(run_cli, env)
        served = sup.served
    entry = by["a"]
    assert entry["status"] == "unreachable", entry
    assert f"via proxy http://*********@127.0.0.1:{closed_port}" in entry["message"], entry
    assert served == 0
    assert PROXY_PASSWORD not in result.stdout + result.stderr


def test_a_result_says_it_went_through_a_proxy(proxy, server_tls, ca_pem, run_cli):
    server, _ = proxy
    with superset(server_tls) as sup:
        env = superset_env(sup.url, SUPERSET_CA_BUNDLE__A=str(ca_pem),
                           HTTPS_PROXY=f"http://scanner:{PROXY_PASSWORD}@127.0.0.1:{server.port}")
        result, by = scan(run_cli, env)
    entry = by["a"]
    assert entry["status"] == "ok", entry
    reach = next(s for s in entry["steps"] if s["name"] == "Reach")
    assert reach["message"].endswith(f" via proxy http://*********@127.0.0.1:{server.port}"), reach
    assert entry["details"]["proxy"] == f"http://*********@127.0.0.1:{server.port}"
    assert PROXY_PASSWORD not in result.stdout + result.stderr


def network_toml(tmp_path, body: str) -> str:
    path = tmp_path / "network.toml"
    path.write_text(body)
    return str(path)


def test_the_toml_network_proxy_replaces_the_environment(proxy, server_tls, ca_pem, run_cli, catalog, tmp_path):
    """[network] proxy carries targets and the catalog, and wins over the variables (here a proxy that is down)."""
    server, log = proxy
    config = network_toml(tmp_path, f'[network]\nproxy = "http://scanner:{PROXY_PASSWORD}@127.0.0.1:{server.port}"\n'
                                    'no_proxy = ["example.com", ".corp"]\n')
    with superset(server_tls) as sup, tls_front(catalog.port, server_tls) as front:
        env = {"HTTPS_PROXY": "http://127.0.0.1:9", "SCANNER_CONFIG": config,
               "OPENMETADATA_HOST": front.url + "/api", "OPENMETADATA_JWT_TOKEN": BOT_TOKEN,
               "OPENMETADATA_CA_BUNDLE": str(ca_pem), **superset_env(sup.url, SUPERSET_CA_BUNDLE__A=str(ca_pem))}
        result, by = scan(run_cli, env)
        addresses = {authority(sup.url), authority(front.url)}
    assert result.code == 0, result.stdout + result.stderr
    assert by["a"]["status"] == "ok" and by["a"]["taken"] == "created", by["a"]
    assert addresses <= {s.target for s in log if s.method == "CONNECT"}, log
    assert all(s.headers.get("proxy-authorization", "").startswith("Basic ") for s in log)
    assert PROXY_PASSWORD not in result.stdout + result.stderr
    shown = run_cli("config", env={"SCANNER_CONFIG": config})
    assert f"http://*********@127.0.0.1:{server.port}" in shown.stdout and PROXY_PASSWORD not in shown.stdout


def test_the_toml_no_proxy_and_plain_http_refusal_name_the_toml(proxy, run_cli, tmp_path):
    server, log = proxy
    with superset() as sup:
        direct = network_toml(tmp_path, f'[network]\nproxy = "http://127.0.0.1:{server.port}"\n'
                                        'no_proxy = "localhost, 127.0.0.0/8"\n')
        result, by = scan(run_cli, {"SCANNER_CONFIG": direct, **superset_env(sup.url)})
        assert by["a"]["status"] == "ok" and log == [], (by["a"], log)
        through = network_toml(tmp_path, f'[network]\nproxy = "http://127.0.0.1:{server.port}"\n')
        result, by = scan(run_cli, {"SCANNER_CONFIG": through, **superset_env(sup.url)})
        attempts = list(sup.login_attempts)
    assert by["a"]["status"] != "ok" and len(attempts) == 1  # only the first (direct) run logged in
    assert "[network] proxy" in by["a"]["message"] and "[network] no_proxy" in by["a"]["message"], by["a"]
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("value", ['"socks5://127.0.0.1:1080"', '"proxy.corp:3128"', "3128"])
def test_a_bad_toml_proxy_is_a_config_error(value, run_cli, tmp_path):
    config = network_toml(tmp_path, f"[network]\nproxy = {value}\n")
    result = run_cli("scan", env={"SCANNER_CONFIG": config})
    assert result.code == 2, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "proxy" in line and "network.toml" in line and "Traceback" not in result.stderr, line


# -- trust: REQUESTS_CA_BUNDLE / SSL_CERT_FILE / the system store --------------------------------------------


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_a_ca_bundle_from_the_environment_is_trusted(variable, server_tls, ca_pem, run_cli, catalog):
    with superset(server_tls) as sup, tls_front(catalog.port, server_tls) as front:
        env = {variable: str(ca_pem), "OPENMETADATA_HOST": front.url + "/api",
               "OPENMETADATA_JWT_TOKEN": BOT_TOKEN, **superset_env(sup.url)}  # no *_CA_BUNDLE anywhere
        result, by = scan(run_cli, env)
    assert result.code == 0, result.stdout + result.stderr
    assert by["a"]["status"] == "ok", by["a"]
    assert sorted(catalog.services) == ["superset_a"]


def test_an_unreadable_ca_bundle_from_the_environment_is_named(server_tls, tmp_path, run_cli):
    missing = tmp_path / "nowhere.pem"
    with superset(server_tls) as sup:
        result, by = scan(run_cli, superset_env(sup.url, REQUESTS_CA_BUNDLE=str(missing)))
        served = sup.served
    entry = by["a"]
    assert entry["status"] == "tls_error", entry
    assert f"REQUESTS_CA_BUNDLE={missing}" in entry["message"], entry
    assert served == 0


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to hash a CA directory")
def test_the_system_store_is_trusted(server_tls, ca_pem, tmp_path, run_cli):
    """OpenSSL's default verify paths (here SSL_CERT_DIR, as a distribution's /etc/ssl/certs) are trusted too."""
    store = tmp_path / "certs"
    store.mkdir()
    digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(ca_pem)], capture_output=True,
                            text=True, check=True).stdout.strip()
    shutil.copy(ca_pem, store / f"{digest}.0")
    with superset(server_tls) as sup:
        result, by = scan(run_cli, superset_env(sup.url, SSL_CERT_DIR=str(store)))
    assert by["a"]["status"] == "ok", by["a"]


def test_a_targets_own_ca_bundle_wins_over_the_environment(server_tls, ca_pem, tmp_path, run_cli):
    import trustme

    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with superset(server_tls) as sup:
        result, by = scan(run_cli, superset_env(sup.url, REQUESTS_CA_BUNDLE=str(ca_pem),
                                                SUPERSET_CA_BUNDLE__A=str(other)))
    assert by["a"]["status"] == "tls_error", by["a"]


# -- the rules, in-process ----------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    network.reset()
    yield monkeypatch
    network.reset()


def test_proxy_selection_rules(clean_env):
    clean_env.setenv("HTTPS_PROXY", "proxy.corp:3128")
    clean_env.setenv("HTTP_PROXY", "http://u:p@proxy.corp:3128")
    clean_env.setenv("NO_PROXY", "internal.corp, .svc,10.0.0.0/8,::1,db:8080")
    network.reset()
    assert network.proxy_for("https://bi.example.com") == "http://proxy.corp:3128"
    assert network.proxy_for("http://bi.example.com") == "http://u:p@proxy.corp:3128"
    for direct in ("https://internal.corp", "https://a.internal.corp", "http://x.svc", "https://10.2.3.4:8443",
                   "http://[::1]:80", "http://db:8080"):
        assert network.proxy_for(direct) is None, direct
    assert network.proxy_for("http://db:9090") == "http://u:p@proxy.corp:3128"
    assert network.via("http://u:p@proxy.corp:3128") == " via proxy http://*********@proxy.corp:3128"
    assert network.cleartext_refusal("https://bi.example.com", "http://proxy.corp:3128") is None
    assert network.cleartext_refusal("http://bi.example.com", None) is None
    line = network.cleartext_refusal("http://bi.example.com", "http://u:p@proxy.corp:3128")
    assert line and "u:p" not in line and "NO_PROXY" in line


def test_the_refusal_names_the_variable_that_set_the_proxy(clean_env):
    clean_env.setenv("ALL_PROXY", "http://proxy.corp:3128")
    network.reset()
    line = network.cleartext_refusal("http://bi.example.com", network.proxy_for("http://bi.example.com"))
    assert line and "(ALL_PROXY)" in line and "HTTP_PROXY" not in line
    clean_env.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    network.reset()
    assert "(HTTP_PROXY)" in network.cleartext_refusal("http://bi.example.com", "http://proxy.corp:3128")


def test_no_proxy_variables_means_direct(clean_env):
    assert network.proxy_for("https://bi.example.com") is None
    assert network.requests_proxies("https://bi.example.com") == {}


def test_trust_context_uses_the_environment_bundle_alone(clean_env, ca_pem):
    clean_env.setenv("REQUESTS_CA_BUNDLE", str(ca_pem))
    network.reset()
    assert network.trust_context().cert_store_stats()["x509_ca"] == 1
    assert network.trust_source() == f"REQUESTS_CA_BUNDLE={ca_pem}"


def test_trust_context_without_a_bundle_is_certifi_and_more(clean_env):
    import ssl

    import certifi

    clean_env.delenv("REQUESTS_CA_BUNDLE", raising=False)
    clean_env.delenv("SSL_CERT_FILE", raising=False)
    network.reset()
    alone = ssl.create_default_context(cafile=certifi.where()).cert_store_stats()["x509_ca"]
    assert network.trust_context().cert_store_stats()["x509_ca"] >= alone


def test_the_test_proxy_stays_on_loopback(proxy):
    """The test proxy refuses anything but loopback (these tests talk to 127.0.0.1 only)."""
    server, log = proxy
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "http://192.0.2.1/")
    assert conn.getresponse().status == 403
    conn.close()
    assert [s.target for s in log] == ["http://192.0.2.1/"]


def test_the_test_harness_keeps_every_run_on_loopback(run_cli):
    """run_cli's guard: a host that is not loopback (a cloud default a test forgot to override) is sent to a closed
    loopback proxy, so the request fails on this machine instead of going out."""
    env = {"SUPERSET_URL__OUT": "https://superset.example.com", "SUPERSET_USERNAME__OUT": "u",
           "SUPERSET_PASSWORD__OUT": SECRET}
    result, by = scan(run_cli, env)
    assert by["out"]["status"] == "unreachable", by["out"]
    assert "via proxy http://127.0.0.1:9" in by["out"]["message"], by["out"]


def test_the_trust_context_is_built_once_however_many_clients_start_at_once(clean_env, monkeypatch):
    """Every worker thread asks for it at the start of a scan: one build, not one per thread (issue 17)."""
    import threading

    from scanner.http import HttpClient

    built = []
    real = network._build_trust_context

    def counting():
        built.append(1)
        return real()

    monkeypatch.setattr(network, "_build_trust_context", counting)
    network.reset()
    start = threading.Barrier(32)

    def client() -> None:
        start.wait()
        HttpClient().close()

    threads = [threading.Thread(target=client) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    network.reset()
