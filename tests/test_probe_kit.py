"""The shared probe helpers (scanner.probe_kit) and the one-instance-several-services hook (Plugin.parts), over
real sockets on 127.0.0.1."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr

from scanner.http import HttpClient
from scanner.plugin import Part, ProbeContext, ProbeResult, Status, StepFailed, Target, TargetSettings
from scanner.probe_kit import (
    Signal,
    api_call,
    count_step,
    error_message,
    fingerprint,
    header_is_set,
    json_at,
    page_has,
    paged_count,
    refused,
    text_is,
)
from scanner.scan import part_of
from scanner.testing.server import LocalServer, Request, Response


def ctx_for(url: str, http: HttpClient, deadline_s: float = 30.0) -> ProbeContext:
    target = Target("thing", "x", "thing_x", TargetSettings(url=url), {}, "test")
    return ProbeContext(target=target, http=http, deadline=time.monotonic() + deadline_s)


SIGNALS = [
    Signal("/health", "/health", json_at("status", equals="ok")),
    Signal("/version", "/version", json_at("build", "version", version=True)),
    Signal("/ping", "/ping", text_is("PONG.")),
    Signal("login page", "/login", page_has("<title>Thing</title>", version_pattern=r"Thing v([0-9.]+)")),
    Signal("header", "/", header_is_set("Thing-Version")),
]


def thing(request: Request) -> Response:
    if request.path == "/health":
        return Response.json({"status": "ok"})
    if request.path == "/version":
        return Response.json({"build": {"version": "3.2.1"}})
    if request.path == "/ping":
        return Response(200, b"PONG.\n", {"Content-Type": "text/plain"})
    if request.path == "/login":
        return Response(200, b"<html><title>Thing</title>Thing v3.2.1</html>", {"Content-Type": "text/html"})
    return Response(200, b"<html>app</html>", {"Content-Type": "text/html", "Thing-Version": "3.2.1"})


def single_page_app(request: Request) -> Response:
    """Answers 200 HTML for every path, as a single-page app's catch-all does."""
    return Response(200, b"<html><title>Other</title></html>", {"Content-Type": "text/html"})


def test_fingerprint_reads_every_signal_and_the_version():
    with LocalServer(thing) as server, HttpClient() as http:
        ctx = ctx_for(server.url, http)
        message = fingerprint("Thing", SIGNALS, need=5)(ctx)
        assert ctx.version == "3.2.1" and ctx.canonical_url == server.url
    assert message == "Thing 3.2.1 (/health, /version, /ping, login page, header)"


def test_a_single_page_app_answering_200_everywhere_is_not_the_platform():
    with LocalServer(single_page_app) as server, HttpClient() as http, pytest.raises(StepFailed) as failed:
        fingerprint("Thing", SIGNALS[:4])(ctx_for(server.url, http))
    assert failed.value.status is Status.NOT_DETECTED
    assert "0 of 4 signs" in failed.value.message and "/health: HTTP 200 text/html" in failed.value.message


def test_api_call_waits_what_retry_after_asks_then_gives_up_at_the_deadline():
    calls = []

    def limited(request: Request) -> Response:
        calls.append(time.monotonic())
        if len(calls) < 3:
            return Response.json({"message": "slow down"}, 429, {"Retry-After": "1"})
        return Response.json({"ok": True})

    with LocalServer(limited) as server, HttpClient() as http:
        resp = api_call(ctx_for(server.url, http), "GET", server.url + "/x")
        assert resp.status == 200 and len(calls) == 3
        assert calls[1] - calls[0] >= 0.95 and calls[2] - calls[1] >= 0.95
        calls.clear()
        short = api_call(ctx_for(server.url, http, deadline_s=1.5), "GET", server.url + "/x")
        assert short.status == 429 and len(calls) == 1  # waiting would outlive the deadline: the answer as it is


def test_refusals_name_the_status_the_platform_message_and_the_variables():
    with LocalServer(lambda r: Response.json({"error": {"message": "token revoked"}}, int(r.path[1:]))) as server, \
            HttpClient() as http:
        for status, outcome in ((401, Status.AUTH_FAILED), (403, Status.FORBIDDEN), (429, Status.ERROR),
                                (500, Status.ERROR)):
            resp = http.get(f"{server.url}/{status}")
            failure = refused(resp, "listing dashboards", credentials="THING_TOKEN")
            assert failure.status is outcome
            assert failure.message == f"listing dashboards answered {status}: token revoked"
        assert "THING_TOKEN" in refused(http.get(f"{server.url}/401"), "x", credentials="THING_TOKEN").hint
        assert error_message(http.get(f"{server.url}/500")) == "token revoked"


def test_counts_warn_at_zero_and_an_endless_listing_is_an_error():
    with LocalServer(thing) as server, HttpClient() as http:
        ctx = ctx_for(server.url, http)
        assert count_step("dashboards", lambda c: 0)(ctx) == "0 dashboards"
        assert ctx.details == {"dashboards": 0} and "OpenMetadata would ingest none" in ctx.warnings[0]
    assert paged_count(lambda page: [1] * (10 if page < 3 else 4), page_size=10) == 24
    with pytest.raises(StepFailed, match="did not end after 5 pages"):
        paged_count(lambda page: [1] * 10, page_size=10, max_pages=5)


class PartSettings(TargetSettings):
    apiKey: SecretStr
    space: str | None = None


def test_a_part_is_its_own_service_with_its_own_settings():
    target = Target("thing", "prod", "thing_prod", PartSettings(url="http://127.0.0.1:9", apiKey="k"), {},
                    "config.toml:[[targets]]#1")
    probe = ProbeResult(status=Status.OK, steps=[], details={"spaces": 2})

    class Plug:
        name, title = "thing", "Thing"

    sub, sub_probe = part_of(Plug(), target, probe, Part("Sales Space!", {"space": "u-1"}, "Sales", {"dashboards": 4}))
    assert (sub.service_name, sub.instance, sub.settings.space) == ("thing_prod_sales_space", "prod_sales_space", "u-1")
    assert sub.settings.apiKey.get_secret_value() == "k" and target.settings.space is None
    assert sub.service.display_name == "Thing prod: Sales"
    assert sub_probe.details == {"spaces": 2, "part": "Sales", "dashboards": 4} and probe.details == {"spaces": 2}
    with pytest.raises(ValueError, match="empty key"):
        part_of(Plug(), target, probe, Part("!!", {}))
