"""Hostile and broken servers, through the real ``scanner scan --output json`` CLI.

1. A login that redirects (301/302/307/308) to another port: the credentials never reach the second
   server (it records everything it gets), the target ends ``error`` and nothing is registered.
2. Broken or hostile answers (far too large, dripping, silent, cut short, garbage, the wrong content
   type) end with a clear status within the target deadline, as one readable line.
3. A server of another platform, or a plain web server: ``not_detected``, never ``ok``.

A hostile "front" delegates to a platform fake (so the fingerprint works) except for the requests it
is told to spoil, which it answers with a `Response` or a raw behaviour written straight to the socket.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

import pytest
from conftest import catalog_env

from scanner.http import DEFAULT_MAX_BODY
from scanner.testing.fake_looker import FakeLooker, LookerApiUser
from scanner.testing.fake_superset import FakeSuperset, FakeUser
from scanner.testing.fake_tableau import FakeTableau
from scanner.testing.server import LocalServer, Request, Response

DEADLINE = 3.0  # --target-deadline
TIMEOUT = 2.0  # --timeout (read timeout per request)
DRIP_PERIOD = 1.0  # seconds between two bytes of a dripping body
DRIP_BYTES = 8  # then the dripping server hangs up: a client that ignores its deadline ends after ~8 s
# A target may overrun its deadline by one drip period at most (a read that started before the deadline
# returns with the next byte), plus scheduling noise.
TARGET_LIMIT = DEADLINE + DRIP_PERIOD + 0.5
RUN_LIMIT = TARGET_LIMIT + 2.0  # the whole CLI run: interpreter start-up and report included

USER, CLIENT_ID, TOKEN_NAME = "scanner-user", "scanner-client", "scanner-pat"
SECRET = {platform: f"{platform}-secret-{secrets.token_hex(8)}" for platform in ("superset", "looker", "tableau")}


# -------------------------------------------------------------------------------------------------
# servers


class Front:
    """A server on 127.0.0.1 answering ``answer(request)``: a `Response`, or a `Raw` behaviour.

    ``seen`` lists (method, path) of every request; ``sent`` counts the bytes raw behaviours wrote;
    ``stop`` ends every raw behaviour at teardown."""

    def __init__(self, answer: Answer):
        self.stop = threading.Event()
        self.seen: list[tuple[str, str]] = []
        self.sent = 0
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):
                pass

            def _dispatch(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                parts = urlsplit(self.path)
                pairs = parse_qsl(parts.query, keep_blank_values=True)
                request = Request(self.command, self.path, parts.path, dict(pairs), pairs, self.headers, body,
                                  self.client_address)
                front.seen.append((self.command, parts.path))
                reply = answer(request)
                if isinstance(reply, Response):
                    _write(self, reply)
                    return
                self.close_connection = True
                with contextlib.suppress(OSError):  # the client gave up: that is the point
                    reply(Wire(self, front))

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

        self.server = LocalServer(Handler, name="hostile-front")

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> Front:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.stop()


@dataclass
class Wire:
    """What a raw behaviour gets: ``write`` (counted in ``front.sent``) and ``stop`` (set at teardown)."""

    handler: BaseHTTPRequestHandler
    front: Front

    def write(self, data: bytes) -> None:
        self.handler.wfile.write(data)
        self.front.sent += len(data)

    @property
    def stop(self) -> threading.Event:
        return self.front.stop


Raw = Callable[[Wire], None]
Answer = Callable[[Request], "Response | Raw"]


def _write(handler: BaseHTTPRequestHandler, response: Response) -> None:
    if response.reset:
        handler.close_connection = True
        return
    payload = response.encoded_body()
    handler.send_response(response.status)
    for name, value in response.headers.items():
        if name.lower() not in ("content-length", "transfer-encoding"):
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(payload)


@dataclass
class Seen:
    """One request the recorder got, whole."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def haystack(self) -> str:
        """Everything it carried, raw and URL-decoded, for a substring search."""
        raw = " ".join([self.method, self.target, *(f"{k}: {v}" for k, v in self.headers),
                        self.body.decode("latin-1")])
        return "\n".join([raw, unquote(raw), unquote_plus(raw)])


@contextmanager
def recorder() -> Iterator[tuple[LocalServer, list[Seen]]]:
    """The "other host": records every request it receives, answers a harmless 200."""
    seen: list[Seen] = []

    def app(request: Request) -> Response:
        seen.append(Seen(request.method, request.target, list(request.headers.items()), request.body))
        return Response.json({"access_token": "recorder-token"})

    with LocalServer(app, name="recorder") as server:
        yield server, seen


@contextmanager
def never_accepting() -> Iterator[str]:
    """A port that listens (connections complete in the kernel backlog) but never accepts nor answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


# -- raw behaviours ---------------------------------------------------------------------------------

HUGE = 64 * 1024 * 1024  # far past the 5 MiB cap
assert HUGE > 10 * DEFAULT_MAX_BODY
OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
REDIRECT_HEAD = b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\n"


def huge_declared(head: bytes = OK_HEAD) -> Raw:
    """Content-Length of 64 MiB, and the bytes to match for as long as the client reads."""

    def run(wire: Wire) -> None:
        wire.write(head + b"Content-Length: %d\r\n\r\n" % HUGE)
        chunk = b" " * 65536
        for _ in range(HUGE // len(chunk)):
            if wire.stop.is_set():
                return
            wire.write(chunk)

    return run


def huge_streamed(wire: Wire) -> None:
    """64 MiB of chunked JSON whitespace: no length is declared, the cap must cut the stream."""
    wire.write(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b" " * 65536
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    for _ in range(HUGE // len(chunk)):
        if wire.stop.is_set():
            return
        wire.write(frame)
    wire.write(b"0\r\n\r\n")


def drip(head: bytes = OK_HEAD) -> Raw:
    """Headers at once, then a 1000-byte body one byte a second; hangs up after DRIP_BYTES bytes."""

    def run(wire: Wire) -> None:
        wire.write(head + b"Content-Length: 1000\r\n\r\n")
        for _ in range(DRIP_BYTES):
            wire.write(b" ")
            if wire.stop.wait(DRIP_PERIOD):
                return

    return run


def silent(wire: Wire) -> None:
    """Reads the request, never answers (until teardown)."""
    wire.stop.wait(60)


def cut_short(wire: Wire) -> None:
    """Headers promising 5000 bytes, 24 of them, then the connection closes (FIN)."""
    wire.write(OK_HEAD + b'Content-Length: 5000\r\n\r\n{"access_token": "abcdef')


def garbage(wire: Wire) -> None:
    """Not HTTP at all: an SSH-like banner and binary noise, then close."""
    wire.write(b"SSH-2.0-OpenSSH_9.6\r\n\x00\x17\xfe\xff\x16\x03\x01 not http \xc3\x28\r\n\r\n")


def raw(behaviour: Raw) -> Answer:
    return lambda request: behaviour


def html_page(request: Request) -> Response:
    return Response(200, b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>portal</body></html>",
                    {"Content-Type": "text/html; charset=utf-8"})


def json_doc(request: Request) -> Response:
    return Response.json({"status": "ok", "items": []})


def html_as_json(request: Request) -> Response:
    return Response(200, b"<html><body>not json</body></html>", {"Content-Type": "application/json"})


# -------------------------------------------------------------------------------------------------
# platforms


def is_superset_login(r: Request) -> bool:
    return r.method == "POST" and r.path == "/api/v1/security/login"


def is_looker_login(r: Request) -> bool:
    return r.method == "POST" and r.path == "/api/4.0/login"


def is_tableau_signin(r: Request) -> bool:
    return r.method == "POST" and r.path.endswith("/auth/signin")


def is_looker_versions(r: Request) -> bool:
    return r.path == "/versions"


def is_tableau_server_info(r: Request) -> bool:
    return r.path.lower().endswith("/serverinfo")


def nothing(r: Request) -> bool:
    return False


LOGIN_OF = {"superset": is_superset_login, "looker": is_looker_login, "tableau": is_tableau_signin}


def make_fake(platform: str, secret: str):
    if platform == "superset":
        return FakeSuperset(users={USER: FakeUser(secret)})
    if platform == "looker":
        return FakeLooker(clients={CLIENT_ID: LookerApiUser(secret)})
    return FakeTableau(users={}, tokens={TOKEN_NAME: secret})


def credential_attempts(fake) -> int:
    """Logins/sign-ins the fake itself received, successful or not."""
    if isinstance(fake, FakeSuperset):
        return len(fake.login_attempts)
    if isinstance(fake, FakeLooker):
        return fake.logins + fake.failed_logins
    return fake.sign_ins + fake.failed_sign_ins


def target_env(platform: str, suffix: str, url: str, secret: str) -> dict[str, str]:
    suffix = suffix.upper()
    if platform == "superset":
        return {f"SUPERSET_URL__{suffix}": url, f"SUPERSET_USERNAME__{suffix}": USER,
                f"SUPERSET_PASSWORD__{suffix}": secret}
    if platform == "looker":
        return {f"LOOKERSDK_BASE_URL__{suffix}": url, f"LOOKERSDK_CLIENT_ID__{suffix}": CLIENT_ID,
                f"LOOKERSDK_CLIENT_SECRET__{suffix}": secret}
    return {f"TABLEAU_URL__{suffix}": url, f"TABLEAU_TOKEN_NAME__{suffix}": TOKEN_NAME,
            f"TABLEAU_TOKEN_SECRET__{suffix}": secret}


def fronted(stack: ExitStack, platform: str, secret: str, spoil: Callable[[Request], bool],
            answer: Answer) -> tuple[Front, object]:
    """A fake of `platform` behind a front that answers `answer` to the requests `spoil` picks."""
    fake = stack.enter_context(make_fake(platform, secret))

    def route(request: Request) -> Response | Raw:
        return answer(request) if spoil(request) else fake._app(request)

    front = stack.enter_context(Front(route))
    if isinstance(fake, FakeLooker):
        fake.api_server_url = front.url  # /versions names the front, so the SDK keeps talking to it
    return front, fake


# -------------------------------------------------------------------------------------------------
# running


def clean_env(state: Path, extra: dict[str, str]) -> dict[str, str]:
    """What conftest's `run_cli` gives the CLI: a clean environment, the inventory in the test's folder."""
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "VIRTUAL_ENV")}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb", "XDG_STATE_HOME": str(state)})
    env.update(extra)
    return env


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    wall: float
    by: dict[str, dict]


def scan(run_cli, env: dict[str, str], *args: str) -> Run:
    started = time.monotonic()
    result = run_cli("scan", "--output", "json", "--target-deadline", f"{DEADLINE:g}", "--timeout", f"{TIMEOUT:g}",
                     *args, env=env, timeout=60)
    wall = time.monotonic() - started
    assert result.stdout, result.stderr
    by = {t["instance"]: t for t in json.loads(result.stdout)["targets"]}
    return Run(result.code, result.stdout, result.stderr, wall, by)


def assert_readable(target: dict) -> None:
    message = target["message"]
    assert message and message.isprintable(), message  # one line: no newline, no control characters
    assert "Traceback" not in message and len(message) < 400, message
    for step in target["steps"]:
        assert (step["message"] or "").isprintable(), step


def failed_step(target: dict) -> str:
    failed = [s["name"] for s in target["steps"] if s["status"] == "failed"]
    assert failed, target
    return failed[0]


class Misreported(AssertionError):
    """A target ended with the wrong status or message."""


# -------------------------------------------------------------------------------------------------
# 1. a redirected login never carries the credentials elsewhere

@pytest.mark.parametrize("code", [301, 302, 307, 308])
@pytest.mark.parametrize("platform", ["superset", "looker", "tableau"])
def test_redirected_login_never_sends_the_credentials_elsewhere(run_cli, catalog, platform, code):
    secret = f"{platform}-secret-{secrets.token_hex(8)}"
    password = f"tableau-password-{secrets.token_hex(8)}"
    with ExitStack() as stack:
        other, received = stack.enter_context(recorder())
        other_url = other.url

        def redirect(request: Request) -> Response:
            return Response(code, b"", {"Location": other_url + request.target})

        front, fake = fronted(stack, platform, secret, LOGIN_OF[platform], redirect)
        env = {**catalog_env(catalog), **target_env(platform, "hostile", front.url, secret)}
        if platform == "tableau":  # the username/password sign-in too
            env.update({"TABLEAU_URL__BASIC": front.url, "TABLEAU_USERNAME__BASIC": "analyst",
                        "TABLEAU_PASSWORD__BASIC": password})
        run = scan(run_cli, env)
        logins_at_front = [s for s in front.seen if s[0] == "POST" and s[1].endswith(("/login", "/signin"))]

    # what must hold whatever the status: nothing reached the other server, nothing was registered
    for request in received:  # belt and braces: even if something arrived, no secret in any of it
        for value in (secret, password):
            assert value not in request.haystack(), request
    assert received == [], f"the other server received {[(r.method, r.target) for r in received]}"
    assert credential_attempts(fake) == 0  # the front answered the login itself: the harness works
    assert len(logins_at_front) == len(run.by), front.seen  # one login per target, no retry elsewhere
    assert run.code == 1, run.stderr
    assert run.wall < RUN_LIMIT, f"the run took {run.wall:.2f}s"
    assert catalog.services == {} and catalog.calls("PUT") == [] and catalog.calls("POST") == []
    assert secret not in run.stdout + run.stderr and password not in run.stdout + run.stderr
    for target in run.by.values():
        assert target["status"] != "ok" and target["taken"] == "skipped", target
        assert failed_step(target) == "CheckAccess"
        assert_readable(target)

    # and the target says what happened
    for target in run.by.values():
        message = target["message"]
        if target["status"] != "error" or "not followed because the request carries credentials" not in message:
            raise Misreported(f"{target['instance']}: {target['status']}: {message}")
        assert f"-> {code} redirect to {other_url}" in message, message
        assert target["hint"] == "point the URL at the final address, so no redirect is needed"


def test_the_recorder_catches_what_a_naive_client_leaks():
    """The harness can fail: a client that follows a 307 hands the recorder the whole login body."""
    import requests

    with ExitStack() as stack:
        other, received = stack.enter_context(recorder())
        other_url = other.url
        front, _ = fronted(stack, "superset", "unused-secret", is_superset_login,
                           lambda r: Response(307, b"", {"Location": other_url + r.target}))
        answer = requests.post(front.url + "/api/v1/security/login", json={"password": "leak-me-4242"}, timeout=5)
    assert answer.history[0].status_code == 307
    assert [(r.method, r.target) for r in received] == [("POST", "/api/v1/security/login")]
    assert "leak-me-4242" in received[0].haystack()


# -------------------------------------------------------------------------------------------------
# 2. broken or hostile answers end with a clear status within the deadline


@dataclass(frozen=True)
class Case:
    platform: str
    name: str
    spoil: Callable[[Request], bool] | None
    """Which requests the front spoils (the others reach the fake); None: the whole URL is `answer`."""
    answer: Answer | None
    """What the spoiled requests get; None (with spoil None): a port that never accepts."""
    status: str
    step: str
    """The step that fails (the earlier ones pass)."""
    says: str
    """A fragment of the target's message."""
    capped: bool = False
    """The answer is far past the body cap: the client must stop reading it early."""

    @property
    def group(self) -> str:  # one scan per platform
        return self.platform




CAP = f"{DEFAULT_MAX_BODY}-byte cap"
LATE = "body still arriving at the deadline"
NO_ANSWER = "no answer within"
BROKE = "connection broke mid-response"
NOT_HTTP = "answered with something that is not HTTP"

CASES = [
    # Garbage (not HTTP at all) is an error saying so, on every path.
    # -- Superset (scanner's own HTTP client all the way) --
    Case("superset", "control", nothing, html_page, "ok", "", ""),  # nothing spoiled: the harness works
    # the whole URL is hostile: the first request (Reach) meets it
    Case("superset", "all_huge_declared", None, raw(huge_declared()), "error", "Reach", CAP, capped=True),
    Case("superset", "all_huge_streamed", None, raw(huge_streamed), "error", "Reach", CAP, capped=True),
    Case("superset", "all_drip", None, raw(drip()), "unreachable", "Reach", LATE),
    Case("superset", "all_silent", None, raw(silent), "unreachable", "Reach", NO_ANSWER),
    Case("superset", "never_accepts", None, None, "unreachable", "Reach", NO_ANSWER),
    Case("superset", "all_cut_short", None, raw(cut_short), "unreachable", "Reach", BROKE),
    Case("superset", "all_garbage", None, raw(garbage), "error", "Reach", NOT_HTTP),
    Case("superset", "all_json", None, json_doc, "not_detected", "Fingerprint", "no Superset here"),
    # a working fingerprint, then a hostile login
    Case("superset", "login_huge_declared", is_superset_login, raw(huge_declared()), "error", "CheckAccess", CAP,
         capped=True),
    Case("superset", "login_huge_streamed", is_superset_login, raw(huge_streamed), "error", "CheckAccess", CAP,
         capped=True),
    Case("superset", "login_drip", is_superset_login, raw(drip()), "unreachable", "CheckAccess", LATE),
    Case("superset", "login_silent", is_superset_login, raw(silent), "unreachable", "CheckAccess", NO_ANSWER),
    Case("superset", "login_cut_short", is_superset_login, raw(cut_short), "unreachable", "CheckAccess", BROKE),
    Case("superset", "login_garbage", is_superset_login, raw(garbage), "error", "CheckAccess", NOT_HTTP),
    Case("superset", "login_html", is_superset_login, html_page, "error", "CheckAccess", "without an access_token"),
    Case("superset", "login_html_as_json", is_superset_login, html_as_json, "error", "CheckAccess",
         "expected JSON, got application/json"),
    Case("superset", "login_redirect_drip", is_superset_login, raw(drip(REDIRECT_HEAD)), "unreachable", "CheckAccess",
         LATE),
    Case("superset", "login_redirect_huge", is_superset_login, raw(huge_declared(REDIRECT_HEAD)), "error",
         "CheckAccess", CAP, capped=True),
    # -- Looker (looker-sdk over GuardedSession for the login) --
    Case("looker", "control", nothing, html_page, "ok", "", ""),  # nothing spoiled: the harness works
    Case("looker", "versions_html", is_looker_versions, html_page, "not_detected", "Fingerprint", "no Looker API here"),
    Case("looker", "login_huge_declared", is_looker_login, raw(huge_declared()), "error", "CheckAccess", CAP,
         capped=True),
    Case("looker", "login_huge_streamed", is_looker_login, raw(huge_streamed), "error", "CheckAccess", CAP,
         capped=True),
    Case("looker", "login_drip", is_looker_login, raw(drip()), "unreachable", "CheckAccess", LATE),
    Case("looker", "login_silent", is_looker_login, raw(silent), "unreachable", "CheckAccess", NO_ANSWER),
    Case("looker", "login_cut_short", is_looker_login, raw(cut_short), "unreachable", "CheckAccess", BROKE),
    Case("looker", "login_garbage", is_looker_login, raw(garbage), "error", "CheckAccess", NOT_HTTP),
    Case("looker", "login_html", is_looker_login, html_page, "error", "CheckAccess", "not Looker's JSON"),
    Case("looker", "login_redirect_drip", is_looker_login, raw(drip(REDIRECT_HEAD)), "error", "CheckAccess",
         "not followed"),
    Case("looker", "login_redirect_huge", is_looker_login, raw(huge_declared(REDIRECT_HEAD)), "error", "CheckAccess",
         "not followed", capped=True),
    # -- Tableau (tableauserverclient over GuardedSession from serverInfo on) --
    Case("tableau", "control", nothing, html_page, "ok", "", ""),  # nothing spoiled: the harness works
    Case("tableau", "serverinfo_json", is_tableau_server_info, json_doc, "not_detected", "ServerInfo",
         "no Tableau here"),
    Case("tableau", "serverinfo_drip", is_tableau_server_info, raw(drip()), "unreachable", "ServerInfo", LATE),
    Case("tableau", "serverinfo_garbage", is_tableau_server_info, raw(garbage), "error", "ServerInfo", NOT_HTTP),
    Case("tableau", "signin_huge_declared", is_tableau_signin, raw(huge_declared()), "error", "CheckAccess", CAP,
         capped=True),
    Case("tableau", "signin_huge_streamed", is_tableau_signin, raw(huge_streamed), "error", "CheckAccess", CAP,
         capped=True),
    Case("tableau", "signin_drip", is_tableau_signin, raw(drip()), "unreachable", "CheckAccess", LATE),
    Case("tableau", "signin_silent", is_tableau_signin, raw(silent), "unreachable", "CheckAccess", NO_ANSWER),
    Case("tableau", "signin_cut_short", is_tableau_signin, raw(cut_short), "unreachable", "CheckAccess", BROKE),
    Case("tableau", "signin_garbage", is_tableau_signin, raw(garbage), "error", "CheckAccess", NOT_HTTP),
    Case("tableau", "signin_json", is_tableau_signin, json_doc, "error", "CheckAccess", "not Tableau's XML"),
    Case("tableau", "signin_redirect_drip", is_tableau_signin, raw(drip(REDIRECT_HEAD)), "error", "CheckAccess",
         "not followed"),
    Case("tableau", "signin_redirect_huge", is_tableau_signin, raw(huge_declared(REDIRECT_HEAD)), "error",
         "CheckAccess", "not followed", capped=True),
]


@dataclass
class GroupRun:
    run: Run
    fronts: dict[str, Front]
    """By case name (the never-accepting port has none)."""


def run_group(group: str, state: Path) -> GroupRun:
    """One scan of every case of `group` at once: one target per case, each on its own front and fake."""
    cases = [c for c in CASES if c.group == group]
    env: dict[str, str] = {}
    fronts: dict[str, Front] = {}
    with ExitStack() as stack:
        for case in cases:
            secret = SECRET[case.platform]
            if case.spoil is None and case.answer is None:
                url = stack.enter_context(never_accepting())
            elif case.spoil is None:
                front = fronts[case.name] = stack.enter_context(Front(case.answer))
                url = front.url
            else:
                assert case.answer is not None
                front, _ = fronted(stack, case.platform, secret, case.spoil, case.answer)
                fronts[case.name] = front
                url = front.url
            env.update(target_env(case.platform, case.name, url, secret))
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "scanner", "scan", "--output", "json", "--target-deadline", f"{DEADLINE:g}",
             "--timeout", f"{TIMEOUT:g}"],
            env=clean_env(state, env), capture_output=True, text=True, timeout=60, cwd=state,
        )
        wall = time.monotonic() - started
    by = {t["instance"]: t for t in json.loads(proc.stdout)["targets"]} if proc.stdout else {}
    return GroupRun(Run(proc.returncode, proc.stdout, proc.stderr, wall, by), fronts)


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory) -> Callable[[str], GroupRun]:
    """Runs each group's scan once, on first use, and keeps its result for the group's cases."""
    done: dict[str, GroupRun] = {}

    def get(group: str) -> GroupRun:
        if group not in done:
            done[group] = run_group(group, tmp_path_factory.mktemp(group))
        return done[group]

    return get


def _param(case: Case):
    return pytest.param(case, id=f"{case.platform}-{case.name}")


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_hostile_answer_ends_clearly_within_the_deadline(hostile_runs, case):
    group = hostile_runs(case.group)
    run = group.run
    assert case.name in run.by, run.stderr
    target = run.by[case.name]
    seconds = target["duration_ms"] / 1000
    front = group.fronts.get(case.name)
    print(f"{case.platform}/{case.name}: {target['status']} in {seconds:.2f}s: {target['message']}"
          f" (sent {front.sent if front else '-'} bytes)")
    assert "Traceback" not in run.stderr, run.stderr
    assert SECRET[case.platform] not in run.stdout + run.stderr

    if case.status == "ok":  # the control: the front and the fake work, the credentials are right
        assert target["status"] == "ok", target["message"]
        return
    problems = []
    if target["status"] != case.status:
        problems.append(f"status {target['status']}, expected {case.status}")
    if case.says not in target["message"]:
        problems.append(f"message lacks {case.says!r}")
    if seconds > TARGET_LIMIT:
        problems.append(f"took {seconds:.2f}s, past the {DEADLINE:g}s deadline (limit {TARGET_LIMIT:g}s)")
    if case.capped and front is not None and front.sent > HUGE // 2:  # cap + kernel buffers is ~10 MiB
        problems.append(f"the client read {front.sent} bytes of a {HUGE}-byte answer, far past the body cap")
    if case.says in (NO_ANSWER, LATE) and "did not answer in time" not in (target["hint"] or ""):
        problems.append(f"hint {target['hint']!r} does not say the host did not answer in time")
    if "bug in the plugin" in (target["hint"] or ""):
        problems.append(f"hint {target['hint']!r}: a hostile server is not a plugin bug")
    if problems:
        raise Misreported(f"{case.name}: " + "; ".join(problems) + f" ({target['status']}: {target['message']})")
    assert failed_step(target) == case.step, target["steps"]
    assert target["message"].startswith(f"{case.step}: "), target["message"]
    assert_readable(target)
    assert target["taken"] == "skipped"


@pytest.mark.parametrize("group", sorted({c.group for c in CASES}))
def test_a_scan_of_hostile_targets_ends_within_the_deadline(hostile_runs, group):
    run = hostile_runs(group).run
    print(f"{group}: exit {run.code} in {run.wall:.2f}s")
    assert run.code == 1, run.stderr
    assert run.wall < RUN_LIMIT, f"the run took {run.wall:.2f}s"
    assert sorted(run.by) == sorted(c.name for c in CASES if c.group == group)



# -------------------------------------------------------------------------------------------------
# 3. another platform, or a plain web server: not_detected, never ok

PLATFORMS = ("superset", "looker", "tableau")
FINGERPRINT_STEP = {"superset": "Fingerprint", "looker": "Fingerprint", "tableau": "ServerInfo"}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_another_platform_or_a_plain_web_server_is_not_detected(run_cli, catalog, web, platform):
    secret = SECRET[platform]
    with ExitStack() as stack:
        others = {name: stack.enter_context(make_fake(name, f"{name}-own-secret")) for name in PLATFORMS
                  if name != platform}
        env = dict(catalog_env(catalog))
        for name, fake in others.items():
            env.update(target_env(platform, name, fake.url, secret))
        env.update(target_env(platform, "web", web.url, secret))
        run = scan(run_cli, env)
        attempts = {name: credential_attempts(fake) for name, fake in others.items()}

    assert {name: t["status"] for name, t in run.by.items()} == {name: "not_detected" for name in [*others, "web"]}
    assert attempts == {name: 0 for name in others}  # no credential was offered to the wrong platform
    for target in run.by.values():
        assert failed_step(target) == FINGERPRINT_STEP[platform], target["steps"]
        steps = [s["status"] for s in target["steps"]]
        assert steps[-1] == "skipped" and "passed" not in steps[steps.index("failed"):], steps
        assert target["hint"] and target["taken"] == "skipped"
        assert_readable(target)
    assert run.code == 1, run.stderr
    assert run.wall < RUN_LIMIT, f"the run took {run.wall:.2f}s"
    assert catalog.services == {} and catalog.calls("PUT") == []
    assert secret not in run.stdout + run.stderr
