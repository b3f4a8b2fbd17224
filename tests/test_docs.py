"""docs/plugins.md stays true (issue 12: its imports failed).

Its Python blocks are compiled, then executed in order as one module, as a plugin author would paste
them into ``scanner_acme/__init__.py``. The plugin they define is probed over a real socket against a
local Acme stand-in, through scanner's own runner, and its connection config is built as a scan would
build it. Every ``scanner.…`` name the page mentions must exist.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
from pathlib import Path

import pytest

from scanner.plan import build_request
from scanner.plugin import Plugin, ProbeResult, Status, Target
from scanner.probe import run_probe
from scanner.secrets import MASK, register
from scanner.testing.server import LocalServer, Request, Response

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
KEY = "acme-docs-key-4f7a21"


def _blocks(language: str) -> list[tuple[int, str]]:
    """The fenced blocks of `language`, with the line each starts at."""
    text = DOC.read_text()
    return [(text.count("\n", 0, m.start()) + 2, m.group(1))
            for m in re.finditer(rf"^```{language}\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)]


def test_every_python_block_compiles():
    blocks = _blocks("python")
    assert len(blocks) >= 3
    for line, code in blocks:
        compile(code, f"{DOC}:{line}", "exec")


@pytest.fixture(scope="module")
def acme() -> types.ModuleType:
    """The Python blocks run in order as one module, the way the page builds it up."""
    module = types.ModuleType("scanner_acme")
    sys.modules[module.__name__] = module
    try:
        for line, code in _blocks("python"):
            exec(compile(code, f"{DOC}:{line}", "exec"), module.__dict__)  # noqa: S102 - our own docs
        yield module
    finally:
        sys.modules.pop(module.__name__, None)


def test_the_entry_point_names_the_plugin(acme):
    plugin = acme.plugin
    assert isinstance(plugin, Plugin)
    declared = [m.groups() for _, code in _blocks("toml")
                for m in re.finditer(r'^(\w+) = "([\w.]+):(\w+)"', code, re.MULTILINE)]
    assert declared == [(plugin.name, "scanner_acme", "plugin")]
    assert {v.field for v in plugin.env_vars} <= set(plugin.settings_model.model_fields)


def _acme_app(request: Request) -> Response:
    given = request.headers.get("x-api-key")
    if request.path == "/api/health":
        return Response.json({"status": "Acme OK", "version": "3.1"})
    if request.path.startswith("/api/") and given != KEY:
        return Response(401, f"invalid API key {given!r}", {"Content-Type": "text/plain"})  # echoes the key
    if request.path == "/api/me":
        return Response.json({"name": "scanner"})
    if request.path == "/api/dashboards":
        return Response.json([{"id": 1}, {"id": 2}, {"id": 3}])
    return Response(200, b"<html>Acme</html>", {"Content-Type": "text/html"})


def _target(plugin: Plugin, url: str, key: str) -> Target:
    register(key)  # as the settings loader does for every secret it reads
    settings = plugin.settings_model(url=url, apiKey=key)
    return Target(platform=plugin.name, instance="docs", service_name=f"{plugin.name}_docs", settings=settings,
                  sources={"url": "env:ACME_URL__DOCS"}, origin="env:ACME_URL__DOCS")


def test_the_plugin_proves_an_instance_and_builds_its_config(acme):
    plugin = acme.plugin
    with LocalServer(_acme_app) as server:
        url = server.url
        target = _target(plugin, url, KEY)
        probe = run_probe(plugin, target, deadline_s=10)
    assert probe.status is Status.OK, (probe.message, [(s.name, s.status, s.message) for s in probe.steps])
    assert [s.name for s in probe.steps] == ["Reach", "Fingerprint", "CheckAccess", "GetDashboards"]
    assert (probe.version, probe.canonical_url, probe.details) == ("3.1", url, {"dashboards": 3})
    request = build_request(plugin, target, probe)  # also checks that every key it sets is in config_keys
    assert request.payload(reveal_secrets=False)["connection"]["config"] == {
        "type": "Metabase", "hostPort": url, "apiKey": MASK}
    fake = ProbeResult(status=Status.OK, steps=[], canonical_url="https://acme.example.com")
    config = plugin.connection_config(target, fake)
    assert config.dump(reveal_secrets=True) == {"type": "Metabase", "hostPort": "https://acme.example.com",
                                                "apiKey": KEY}


def test_a_refused_key_is_auth_failed_and_the_echoed_key_is_masked(acme):
    wrong = "acme-wrong-key-9c3e55"
    with LocalServer(_acme_app) as server:
        probe = run_probe(acme.plugin, _target(acme.plugin, server.url, wrong), deadline_s=10)
    assert probe.status is Status.AUTH_FAILED and "API key refused" in probe.message, probe.message
    assert wrong not in probe.message and MASK in probe.message


def test_the_standalone_build_example_gives_what_its_comment_says(acme):
    assert acme.config.dump() == {"type": "Metabase", "hostPort": "https://acme.example.com", "apiKey": MASK}
    assert "config.dump()   # {'type': 'Metabase', 'hostPort': 'https://acme.example.com', 'apiKey': '*********'}" \
        in DOC.read_text()


def test_every_scanner_name_the_page_mentions_exists():
    names = set(re.findall(r"`[^`\n]*?\b(scanner(?:\.\w+)+)", DOC.read_text())) - {"scanner.plugins", "scanner.sources"}
    assert names, "the page names scanner's modules"
    for name in sorted(names):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attr in parts[cut:]:
                assert hasattr(obj, attr), f"docs/plugins.md names {name}, which does not exist"
                obj = getattr(obj, attr)
            break
        else:  # pragma: no cover - `scanner` itself always imports
            pytest.fail(f"docs/plugins.md names {name}, which cannot be imported")
