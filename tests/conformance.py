"""The conformance harness: run ``scanner scan`` against one platform and the fake catalog, read the stored config
back with the bot token, and hand it to ``tests/om_judge.py`` in the openmetadata-ingestion venv. The rules (TLS
shapes, what must pass, what may be flagged by a warning) are in ``tests/test_conformance.py``'s docstring; each
platform's test file gives `conform` a context manager that starts the platform and says what its connector must
list (`Served`).
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import BOT_TOKEN, catalog_env

TESTS = Path(__file__).resolve().parent
JUDGE = TESTS / "om_judge.py"
JUDGE_TIMEOUT = 300  # s; the connector's own per-step budget is 3 min, a loopback run takes a few seconds
SUFFIX = "CONF"  # the instance every test registers: <platform>_conf

SHAPES = ("http", "https-public", "https-private")
STRICT_SHAPES = ("http", "https-public", "https-private-path")  # must pass the judge, no warning allowed


# -- a TLS-terminating proxy for the real Superset -------------------------------------------------------


class TlsProxy:
    """Accept TLS on 127.0.0.1:<port> and pipe the plain bytes to 127.0.0.1:<upstream>. One thread per
    direction per connection; ``stop()`` closes the listener and every open connection."""

    def __init__(self, upstream_port: int, context: ssl.SSLContext):
        self.upstream_port = upstream_port
        self.context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tls-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> TlsProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in list(self._open):
                self._close(sock)
        self._thread.join(timeout=5)

    def _close(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()
        self._open.discard(sock)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(raw,), daemon=True).start()

    def _handle(self, raw: socket.socket) -> None:
        raw.settimeout(30)
        try:
            client = self.context.wrap_socket(raw, server_side=True)  # the handshake, in this thread
        except (ssl.SSLError, OSError):  # e.g. a client that rejects the certificate
            with contextlib.suppress(OSError):
                raw.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        except OSError:
            client.close()
            return
        client.settimeout(None)
        upstream.settimeout(None)
        with self._lock:
            self._open.update((client, upstream))
        done = threading.Event()

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                done.set()

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        done.wait()
        with self._lock:
            self._close(client)
            self._close(upstream)


# -- how each platform is run -----------------------------------------------------------------------------


@dataclass
class Served:
    """One running platform for one test: its URL, scanner's env for it, and what its connector must list."""

    url: str
    env: dict[str, str]
    expected: dict[str, int]  # listing key -> count the judge must report
    secrets: tuple[str, ...]


CA_BUNDLE_VAR = {"superset": "SUPERSET_CA_BUNDLE", "looker": "LOOKERSDK_CA_BUNDLE", "tableau": "TABLEAU_CA_BUNDLE",
                 "qlikcloud": "QCS_CA_BUNDLE", "qliksense": "QLIK_SENSE_CA_BUNDLE"}

_SITECUSTOMIZE = '''\
"""Test-only (tests/test_conformance.py): make certifi's bundle, the default trust store of scanner's HTTP
stack, the file named by SCANNER_TEST_DEFAULT_CA_BUNDLE: a CA "trusted by default" on this host."""
import os

_bundle = os.environ.get("SCANNER_TEST_DEFAULT_CA_BUNDLE")
if _bundle:
    import certifi
    import certifi.core

    def _where(_bundle=_bundle):
        return _bundle

    certifi.where = certifi.core.where = _where
'''


def ca_bundle_var(platform: str) -> str:
    """The platform's CA-bundle variable: ``<PREFIX>_CA_BUNDLE`` (Looker's prefix is ``LOOKERSDK``)."""
    return CA_BUNDLE_VAR.get(platform, f"{platform.upper()}_CA_BUNDLE")


def scanner_trust_env(shape: str, platform: str, ca_pem: Path, tmp_path: Path) -> dict[str, str]:
    if shape == "https-private":
        return {f"{ca_bundle_var(platform)}__{SUFFIX}": str(ca_pem)}
    if shape == "https-private-path":  # the user also says where the CA file is on the ingestion host
        return {f"{ca_bundle_var(platform)}__{SUFFIX}": str(ca_pem),
                f"SUPERSET_INGESTION_CA_PATH__{SUFFIX}": str(ca_pem)}
    if shape == "https-public":
        site = tmp_path / "default-trust"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
        return {"PYTHONPATH": str(site), "SCANNER_TEST_DEFAULT_CA_BUNDLE": str(ca_pem),
                "SSL_CERT_FILE": str(ca_pem), "REQUESTS_CA_BUNDLE": str(ca_pem)}
    return {}


def judge_env(shape: str, ca_pem: Path, tmp_path: Path) -> dict[str, str]:
    """Only what the judge needs; the CA only when the ingestion host trusts it by default."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    env.update({"HOME": str(tmp_path / "judge-home"), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    (tmp_path / "judge-home").mkdir(exist_ok=True)
    if shape == "https-public":
        env.update({"REQUESTS_CA_BUNDLE": str(ca_pem), "SSL_CERT_FILE": str(ca_pem)})
    return env


# -- the judge --------------------------------------------------------------------------------------------


def mask(text: Any, secrets: tuple[str, ...]) -> str:
    out = text if isinstance(text, str) else json.dumps(text, indent=1, sort_keys=True, default=str)
    for secret in (*secrets, BOT_TOKEN):
        if secret:
            out = out.replace(secret, "***")
    return out


def stored_config(catalog, service_name: str) -> dict:
    """The service as the catalog holds it, read back over HTTP with the bot token (secrets in clear)."""
    session = requests.Session()
    session.trust_env = False
    resp = session.get(
        f"{catalog.api_url}/v1/services/dashboardServices/name/{service_name}",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        timeout=30,
    )
    assert resp.status_code == 200, f"GET {service_name} -> {resp.status_code} {resp.text[:300]}"
    return resp.json()["connection"]["config"]


def run_judge(python: Path, config: dict, catalog, env: dict[str, str], tmp_path: Path, secrets) -> dict:
    doc = {"config": config, "catalog": {"host": catalog.api_url, "token": BOT_TOKEN}}
    path = tmp_path / "judge-input.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(doc))
    try:
        proc = subprocess.run(
            [str(python), str(JUDGE), str(path)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=JUDGE_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    finally:
        path.unlink(missing_ok=True)  # it holds the platform's secret in clear
    (tmp_path / "judge-stderr.log").write_text(mask(proc.stderr, secrets))
    try:
        return json.loads(proc.stdout)
    except ValueError:
        tail = "\n".join(mask(proc.stderr, secrets).splitlines()[-30:])
        pytest.fail(f"om_judge.py wrote no JSON (exit {proc.returncode}); stderr tail:\n{tail}")


def tls_summary(config: dict) -> dict:
    """verifySSL/sslConfig as registered, without secrets (the CA's text is not secret, but it is long)."""
    part = config.get("connection") if config.get("type") == "Superset" else config
    if not isinstance(part, dict):
        return {}
    out: dict[str, Any] = {"verifySSL": part.get("verifySSL", "<absent>")}
    ssl_config = part.get("sslConfig")
    if isinstance(ssl_config, dict):
        ca_value = ssl_config.get("caCertificate")
        kind = None if ca_value is None else ("PEM text" if "BEGIN CERTIFICATE" in str(ca_value) else "path")
        out["sslConfig"] = {"caCertificate": kind, **{k: "set" for k in ssl_config if k != "caCertificate"}}
    elif "sslConfig" in part:
        out["sslConfig"] = ssl_config
    return out


def failures(verdict: dict, expected: dict[str, int]) -> list[str]:
    """What kept the config from passing: failed stages (with the judge's exact error), failed mandatory
    steps, listing counts that differ from what the platform holds."""
    out = []
    if verdict.get("judge_error"):
        out.append(f"judge: {verdict['judge_error']['type']}: {verdict['judge_error']['message']}")
    for name, stage in verdict.get("stages", {}).items():
        if not stage.get("ok"):
            err = stage.get("error") or {}
            out.append(f"{name}: {err.get('type')}: {err.get('message')}")
        for step in stage.get("steps", []):
            if not step.get("passed"):
                tag = "mandatory" if step.get("mandatory") else "optional"
                out.append(f"  step {step['name']} ({tag}) {step.get('status')}: {step.get('errorLog')}")
    listing = verdict.get("stages", {}).get("listing")
    if listing and listing.get("ok"):
        for key, want in expected.items():
            if listing.get(key) != want:
                out.append(f"listing: {key} = {listing.get(key)!r}, the platform holds {want}")
    return out


def judged(verdict: dict, expected: dict[str, int]) -> bool:
    listing = verdict.get("stages", {}).get("listing") or {}
    return bool(verdict.get("passed")) and all(listing.get(k) == v for k, v in expected.items())


# -- the matrix -------------------------------------------------------------------------------------------


def conform(
    platform: str,
    shape: str,
    start: Callable[[ssl.SSLContext | None], contextlib.AbstractContextManager[Served]],
    *,
    om_ingestion: Path,
    run_cli,
    catalog,
    server_tls: ssl.SSLContext,
    ca_pem: Path,
    tmp_path: Path,
) -> None:
    tls = None if shape == "http" else server_tls
    with start(tls) as served:
        env = {**catalog_env(catalog), **served.env, **scanner_trust_env(shape, platform, ca_pem, tmp_path)}
        t0 = time.monotonic()
        result = run_cli("scan", "--output", "json", env=env, timeout=180)
        scan_s = time.monotonic() - t0
        assert result.stdout, mask(result.stderr[-3000:], served.secrets)
        report = json.loads(result.stdout)
        [target] = [t for t in report["targets"] if t["platform"] == platform]
        summary = mask({k: target.get(k) for k in ("status", "message", "hint", "warnings", "taken", "error")},
                       served.secrets)
        assert target["status"] == "ok" and target["taken"] in ("created", "updated"), summary
        config = stored_config(catalog, target["service_name"])
        t0 = time.monotonic()
        verdict = run_judge(om_ingestion, config, catalog, judge_env(shape, ca_pem, tmp_path), tmp_path,
                            served.secrets)
        judge_s = time.monotonic() - t0
    passed = judged(verdict, served.expected)
    why = failures(verdict, served.expected)
    record = {
        "case": f"{platform}-{shape}", "passed_judge": passed, "warnings": target["warnings"],
        "tls": tls_summary(config), "failures": why, "scan_s": round(scan_s, 2), "judge_s": round(judge_s, 2),
        "listing": verdict.get("stages", {}).get("listing"),
        "steps": [{k: s.get(k) for k in ("name", "mandatory", "passed", "status")}
                  for s in verdict.get("stages", {}).get("test_connection", {}).get("steps", [])],
    }
    print(mask(record, served.secrets))  # shown with -s / on failure; never a secret
    _append_summary(mask(record, served.secrets))
    message = (
        f"{platform} over {shape}: OpenMetadata's connector cannot use the registered config, and scanner's "
        f"report has no warning naming the ingestion host.\n  registered TLS: {tls_summary(config)}\n"
        f"  judge: " + mask("\n  ".join(why) or "(no failure recorded)", served.secrets)
        + f"\n  warnings: {mask(target['warnings'], served.secrets)}"
    )
    if shape in STRICT_SHAPES:  # nothing on the ingestion side to set up: the config must simply work
        assert passed, message.replace(", and scanner's report has no warning naming the ingestion host", "")
        assert not any("ingestion host" in w for w in target["warnings"]), target["warnings"]
    assert passed or any("ingestion host" in w for w in target["warnings"]), message


def _append_summary(line: str) -> None:
    """Optional: SCANNER_CONFORMANCE_SUMMARY=<file> collects one JSON record per case (for reports)."""
    path = os.environ.get("SCANNER_CONFORMANCE_SUMMARY")
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps(json.loads(line)) + "\n")


