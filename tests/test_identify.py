"""Identification without credentials (issue 15): every identifiable platform's stand-in is named by its own
fingerprint, over http and https, and nothing else is named; no credential is sent."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import pytest

from scanner.demo import STAND_INS
from scanner.discovery import Candidate
from scanner.discovery.identify import identifiable, identify
from scanner.registry import discover
from scanner.testing.server import LocalServer, Response

PLUGINS = {e.name: e.plugin for e in discover() if e.plugin is not None}
IDENTIFIABLE = identifiable(PLUGINS)


def test_the_self_hosted_platforms_are_identifiable_and_the_cloud_ones_are_not():
    assert sorted(IDENTIFIABLE) == ["grafana", "lightdash", "looker", "metabase", "qlikcloud", "qliksense", "redash",
                                    "superset", "tableau"]


@pytest.mark.parametrize("platform", ["superset", "looker", "tableau", "metabase", "redash", "lightdash", "grafana",
                                      "qlikcloud"])
def test_each_stand_in_is_identified_as_its_platform_with_no_credential(platform, tmp_path: Path):
    with STAND_INS[platform].start("identify-secret-1", tmp_path) as fake:
        url = fake.url
        found = identify(Candidate(url, "test"), IDENTIFIABLE, deadline_s=30)
        received = getattr(fake, "credentialed", None)
        logins = getattr(fake, "login_attempts", None)
    assert found is not None and found.platform == platform, found
    assert found.url.rstrip("/") == url.rstrip("/")
    if received is not None:
        assert received == []
    if logins is not None:
        assert logins == []


def test_an_https_instance_with_a_private_certificate_is_identified(server_tls):
    from scanner.testing.fake_grafana import FakeGrafana

    with FakeGrafana(tls=server_tls) as fake:
        plain = fake.url.replace("https://", "http://")  # a sweep does not know the scheme: http is tried first
        found = identify(Candidate(plain, "sweep"), IDENTIFIABLE, deadline_s=30)
    assert found is not None and found.platform == "grafana" and found.url.startswith("https://"), found


def test_a_plain_web_server_and_a_hung_port_are_nothing():
    page = LocalServer(lambda r: Response(200, b"<html><title>Intranet</title></html>", {"Content-Type": "text/html"}))
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)  # accepts (the kernel does) and never answers
    with page, contextlib.closing(hung):
        assert identify(Candidate(page.url, "test"), IDENTIFIABLE, deadline_s=30) is None
        started = time.monotonic()
        assert identify(Candidate(f"http://127.0.0.1:{hung.getsockname()[1]}", "test"), IDENTIFIABLE,
                        read_timeout=0.5, deadline_s=3) is None
        assert time.monotonic() - started < 5
