"""Tests of the fake OpenMetadata dashboard-service API, over real sockets on 127.0.0.1 (no mocking)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from scanner.testing.fake_openmetadata import MASK, SERVICE_TYPES, FakeOpenMetadata, quote_name
from scanner.testing.server import LocalServer, Request, Response

BOT = {"Authorization": "Bearer bot-token"}
USER = {"Authorization": "Bearer user-token"}
SERVICES = "/api/v1/services/dashboardServices"


@pytest.fixture
def fake():
    with FakeOpenMetadata(bot_token="bot-token", user_token="user-token") as server:
        yield server


def superset(name="superset_prod", password="s3cret", **extra):
    body = {
        "name": name,
        "serviceType": "Superset",
        "connection": {
            "config": {
                "type": "Superset",
                "hostPort": "http://superset:8088/",
                "connection": {"provider": "db", "username": "admin", "password": password},
            }
        },
    }
    body.update(extra)
    return body


def put(fake, body, headers=BOT, **kw):
    return requests.put(fake.url + SERVICES, json=body, headers=headers, timeout=10, **kw)


def get_name(fake, name, headers=BOT, **params):
    return requests.get(
        f"{fake.url}{SERVICES}/name/{quote(name, safe='')}", headers=headers, params=params, timeout=10
    )


def assert_error(resp, status, message=None):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == status
    if message is not None:
        assert body["message"] == message


# ---------------------------------------------------------------------------------------------- basics


def test_auth_required(fake):
    resp = requests.get(fake.url + "/api/v1/system/version", timeout=10)
    assert_error(resp, 401, "Not Authorized! Token not present")
    assert resp.headers["WWW-Authenticate"] == "om-auth"
    resp = put(fake, superset(), headers={"Authorization": "Bearer nope"})
    assert_error(resp, 401, "Not Authorized! Invalid token")
    assert resp.headers["WWW-Authenticate"] == "om-auth"
    resp = requests.get(fake.url + SERVICES, headers={"Authorization": "Basic abc"}, timeout=10)
    assert_error(resp, 401, "Not Authorized! Token not present")
    assert fake.services == {}


def test_version_endpoint():
    with FakeOpenMetadata(version="2.0.7") as fake:
        resp = requests.get(fake.url + "/api/v1/system/version", headers=USER, timeout=10)
        assert resp.status_code == 200
        body = resp.json()
        assert body["version"] == "2.0.7"
        assert body["revision"] == "fake"
        assert isinstance(body["timestamp"], int)
        assert fake.api_url == fake.url + "/api"
        assert fake.url.startswith("http://127.0.0.1:")


def test_unknown_route_and_wrong_method(fake):
    assert_error(
        requests.get(fake.url + "/api/v1/nothing", headers=BOT, timeout=10), 404, "HTTP 404 Not Found"
    )
    assert_error(
        requests.delete(fake.url + SERVICES, headers=BOT, timeout=10), 405, "HTTP 405 Method Not Allowed"
    )
    assert_error(
        requests.post(fake.url + "/api/v1/system/version", headers=BOT, json={}, timeout=10),
        405,
        "HTTP 405 Method Not Allowed",
    )


# ------------------------------------------------------------------------------------ create / update


def test_create_then_identical_put_is_no_change(fake):
    resp = put(fake, superset())
    assert resp.status_code == 201
    assert resp.headers["X-OpenMetadata-Change"] == "entityCreated"
    created = resp.json()
    assert created["version"] == 0.1
    assert created["fullyQualifiedName"] == "superset_prod"
    assert created["updatedBy"] == "ingestion-bot"
    assert created["deleted"] is False
    assert created["owners"] == [] and created["tags"] == [] and created["domains"] == []
    assert created["href"] == f"{fake.url}{SERVICES}/{created['id']}"

    time.sleep(0.01)
    resp = put(fake, superset(), headers=USER)  # another caller, same content
    assert resp.status_code == 200
    assert resp.headers["X-OpenMetadata-Change"] == "entityNoChange"
    again = resp.json()
    assert again["version"] == 0.1
    assert again["id"] == created["id"]
    assert again["updatedAt"] == created["updatedAt"]
    assert again["updatedBy"] == "ingestion-bot"
    assert list(fake.services) == ["superset_prod"]


def test_changed_put_bumps_version(fake):
    put(fake, superset())
    resp = put(fake, superset(password="rotated"))
    assert resp.status_code == 200
    assert resp.headers["X-OpenMetadata-Change"] == "entityUpdated"
    body = resp.json()
    assert body["version"] == 0.2
    change = body["changeDescription"]
    assert change["previousVersion"] == 0.1
    assert change["fieldsUpdated"] == [
        {"name": "connection", "oldValue": "old-encrypted-value", "newValue": "new-encrypted-value"}
    ]
    assert fake.services["superset_prod"]["connection"]["config"]["connection"]["password"] == "rotated"
    resp = put(fake, superset(password="rotated", description="d"))
    assert resp.json()["version"] == 0.3


def test_bot_keeps_curated_description_and_display_name(fake):
    put(fake, superset(description="from bot", displayName="Bot name"))
    # a person curates
    resp = put(fake, superset(description="curated", displayName="Curated"), headers=USER)
    assert resp.headers["X-OpenMetadata-Change"] == "entityUpdated"
    # the bot's next run must not overwrite (nor clear) them
    resp = put(fake, superset(description="from bot again", displayName="Bot again"))
    assert resp.headers["X-OpenMetadata-Change"] == "entityNoChange"
    resp = put(fake, superset())
    assert resp.headers["X-OpenMetadata-Change"] == "entityNoChange"
    stored = fake.services["superset_prod"]
    assert stored["description"] == "curated"
    assert stored["displayName"] == "Curated"


def test_person_overwrites_and_clears(fake):
    put(fake, superset(description="d1", displayName="n1"))
    resp = put(fake, superset(description="d2", displayName="n2"), headers=USER)
    assert resp.json()["description"] == "d2" and resp.json()["displayName"] == "n2"
    resp = put(fake, superset(), headers=USER)  # both absent -> cleared
    body = resp.json()
    assert resp.headers["X-OpenMetadata-Change"] == "entityUpdated"
    assert "description" not in body and "displayName" not in body
    deleted = {f["name"] for f in body["changeDescription"]["fieldsDeleted"]}
    assert deleted == {"description", "displayName"}


def test_bot_sets_description_when_empty(fake):
    put(fake, superset())
    resp = put(fake, superset(description="first"))
    assert resp.headers["X-OpenMetadata-Change"] == "entityUpdated"
    assert fake.services["superset_prod"]["description"] == "first"


def test_owners_never_removed_by_put(fake):
    alice = fake.add_user("alice")
    team = fake.add_team("bi-team")
    resp = put(fake, superset(owners=[{"id": alice["id"], "type": "user"}]))
    owners = resp.json()["owners"]
    assert owners[0]["name"] == "alice" and owners[0]["fullyQualifiedName"] == "alice"
    for headers in (BOT, USER):
        resp = put(fake, superset(owners=[]), headers=headers)
        assert resp.headers["X-OpenMetadata-Change"] == "entityNoChange"
        put(fake, superset(), headers=headers)
    assert [o["id"] for o in fake.services["superset_prod"]["owners"]] == [alice["id"]]
    # a non-empty list replaces them
    resp = put(fake, superset(owners=[{"id": team["id"], "type": "team"}]), headers=USER)
    assert [o["name"] for o in resp.json()["owners"]] == ["bi-team"]
    # unknown id -> 400
    resp = put(fake, superset(owners=[{"id": "00000000-0000-0000-0000-000000000000", "type": "user"}]))
    assert_error(resp, 400)


def test_tags_are_merged(fake):
    put(fake, superset(tags=[{"tagFQN": "PII.Sensitive"}]))
    resp = put(fake, superset(tags=[{"tagFQN": "Tier.Tier1"}]))
    assert resp.headers["X-OpenMetadata-Change"] == "entityUpdated"
    assert [t["tagFQN"] for t in resp.json()["tags"]] == ["PII.Sensitive", "Tier.Tier1"]
    resp = put(fake, superset(tags=[]), headers=USER)
    assert resp.headers["X-OpenMetadata-Change"] == "entityNoChange"
    assert len(fake.services["superset_prod"]["tags"]) == 2


def test_domains_bot_keeps_person_sets(fake):
    put(fake, superset(domains=["Marketing"]))
    resp = put(fake, superset(domains=["Finance"]))
    assert resp.headers["X-OpenMetadata-Change"] == "entityNoChange"
    resp = put(fake, superset(domains=["Finance"]), headers=USER)
    assert [d["fullyQualifiedName"] for d in resp.json()["domains"]] == ["Finance"]


# --------------------------------------------------------------------------------------------- secrets


def test_masking_for_person_plaintext_for_bot(fake):
    resp = put(fake, superset(), headers=USER)
    assert resp.json()["connection"]["config"]["connection"]["password"] == MASK
    assert resp.json()["connection"]["config"]["connection"]["username"] == "admin"
    assert (
        get_name(fake, "superset_prod", headers=USER).json()["connection"]["config"]["connection"]["password"]
        == MASK
    )
    assert (
        get_name(fake, "superset_prod", headers=BOT).json()["connection"]["config"]["connection"]["password"]
        == "s3cret"
    )
    listed = requests.get(fake.url + SERVICES, headers=USER, timeout=10).json()["data"][0]
    assert listed["connection"]["config"]["connection"]["password"] == MASK
    assert fake.services["superset_prod"]["connection"]["config"]["connection"]["password"] == "s3cret"


def test_no_masking_when_disabled():
    with FakeOpenMetadata(mask_passwords=False) as fake:
        resp = put(fake, superset(), headers=USER)
        assert resp.json()["connection"]["config"]["connection"]["password"] == "s3cret"


def test_mask_round_trip_keeps_secret(fake):
    put(fake, superset())
    masked = get_name(fake, "superset_prod", headers=USER).json()
    body = superset(password=masked["connection"]["config"]["connection"]["password"])
    assert body["connection"]["config"]["connection"]["password"] == MASK
    resp = put(fake, body, headers=USER)
    assert resp.headers["X-OpenMetadata-Change"] == "entityNoChange"
    assert fake.services["superset_prod"]["connection"]["config"]["connection"]["password"] == "s3cret"


def test_secret_paths_for_other_types(fake):
    looker = {
        "name": "looker",
        "serviceType": "Looker",
        "connection": {
            "config": {
                "type": "Looker",
                "clientId": "id",
                "clientSecret": "cs",
                "hostPort": "https://looker.example.com:19999/",
            }
        },
    }
    tableau = {
        "name": "tableau",
        "serviceType": "Tableau",
        "connection": {
            "config": {
                "hostPort": "https://tableau.example.com/",
                "authType": {"personalAccessTokenName": "n", "personalAccessTokenSecret": "pat"},
            }
        },
    }
    assert put(fake, looker, headers=USER).json()["connection"]["config"]["clientSecret"] == MASK
    config = put(fake, tableau, headers=USER).json()["connection"]["config"]
    assert config["authType"] == {"personalAccessTokenName": "n", "personalAccessTokenSecret": MASK}
    assert config["type"] == "Tableau"
    assert fake.services["tableau"]["connection"]["config"]["authType"]["personalAccessTokenSecret"] == "pat"


# ------------------------------------------------------------------------------------------ validation


def test_dotted_name_is_quoted_and_found_both_ways(fake):
    resp = put(fake, superset(name="my.superset"))
    assert resp.status_code == 201
    assert resp.json()["fullyQualifiedName"] == '"my.superset"'
    assert list(fake.services) == ['"my.superset"']
    for key in ("my.superset", '"my.superset"'):
        resp = get_name(fake, key)
        assert resp.status_code == 200, key
        assert resp.json()["name"] == "my.superset"
    assert quote_name('"plain"') == "plain"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a::b", '[name must match "^((?!::).)*$"]'),
        ("x" * 257, "[name size must be between 1 and 256]"),
        ("", "[name size must be between 1 and 256]"),
    ],
)
def test_bad_names(fake, name, message):
    assert_error(put(fake, superset(name=name)), 400, message)
    assert fake.services == {}


def test_name_256_is_fine(fake):
    assert put(fake, superset(name="x" * 256)).status_code == 201


def test_type_mismatch(fake):
    body = superset()
    body["serviceType"] = "Looker"
    assert_error(
        put(fake, body), 400, "Failed to convert [superset_prod] to type [Looker]. Review the connection."
    )


def test_other_validation_errors(fake):
    assert_error(put(fake, superset(foo=1)), 400)
    assert "foo" in put(fake, superset(foo=1)).json()["message"]
    assert_error(put(fake, {"name": "x", "serviceType": "Nope"}), 400)
    assert_error(put(fake, {"name": "x"}), 400, "[serviceType must not be null]")
    assert_error(put(fake, {"name": "x", "serviceType": "Looker", "connection": {}}), 400)
    resp = requests.put(
        fake.url + SERVICES,
        data=b"{not json",
        headers={**BOT, "Content-Type": "application/json"},
        timeout=10,
    )
    assert_error(resp, 400, "Unable to process JSON")
    assert fake.services == {}
    assert len(SERVICE_TYPES) == 22
    for service_type in SERVICE_TYPES:
        assert put(fake, {"name": f"svc-{service_type}", "serviceType": service_type}).status_code == 201


# ------------------------------------------------------------------------------------------------- GET


def test_get_fields_include_and_errors(fake):
    alice = fake.add_user("alice")
    created = put(
        fake, superset(owners=[{"id": alice["id"], "type": "user"}], tags=[{"tagFQN": "T.a"}])
    ).json()
    plain = get_name(fake, "superset_prod").json()
    assert "owners" not in plain and "tags" not in plain and "followers" not in plain
    full = get_name(fake, "superset_prod", fields="owners,tags,domains,followers").json()
    assert full["owners"][0]["id"] == alice["id"]
    assert [t["tagFQN"] for t in full["tags"]] == ["T.a"]
    assert full["domains"] == [] and full["followers"] == []
    assert "owners" in get_name(fake, "superset_prod", fields="*").json()
    assert_error(get_name(fake, "superset_prod", fields="owners,bogus"), 400, "Invalid field name bogus")
    assert_error(get_name(fake, "superset_prod", include="nope"), 400)
    by_id = requests.get(f"{fake.url}{SERVICES}/{created['id']}", headers=BOT, timeout=10)
    assert by_id.status_code == 200 and by_id.json()["name"] == "superset_prod"


def test_not_found_body(fake):
    resp = get_name(fake, "missing.one")
    assert_error(resp, 404, 'dashboardService instance for "missing.one" not found')
    resp = requests.get(f"{fake.url}{SERVICES}/00000000-0000-0000-0000-000000000000", headers=BOT, timeout=10)
    assert_error(resp, 404, "dashboardService instance for 00000000-0000-0000-0000-000000000000 not found")


def test_list_paging(fake):
    for i in range(5):
        put(fake, superset(name=f"s{i}"))
    first = requests.get(fake.url + SERVICES, headers=BOT, params={"limit": 2}, timeout=10).json()
    assert [e["name"] for e in first["data"]] == ["s0", "s1"]
    assert first["paging"]["total"] == 5
    second = requests.get(
        fake.url + SERVICES, headers=BOT, params={"limit": 10, "after": first["paging"]["after"]}, timeout=10
    ).json()
    assert [e["name"] for e in second["data"]] == ["s2", "s3", "s4"]
    assert "after" not in second["paging"]


def test_users_and_teams(fake):
    fake.add_team("bi-team")
    resp = requests.get(fake.url + "/api/v1/users/name/ingestion-bot", headers=USER, timeout=10)
    assert resp.status_code == 200
    assert resp.json()["isBot"] is True and resp.json()["type"] == "user"
    assert (
        requests.get(fake.url + "/api/v1/users/name/admin", headers=USER, timeout=10).json()["isBot"] is False
    )
    team = requests.get(fake.url + "/api/v1/teams/name/bi-team", headers=USER, timeout=10).json()
    assert team["type"] == "team" and team["name"] == "bi-team"
    resp = requests.get(fake.url + "/api/v1/users/name/ghost", headers=USER, timeout=10)
    assert_error(resp, 404, "user instance for ghost not found")
    me = requests.get(fake.url + "/api/v1/users/loggedInUser", headers=BOT, timeout=10).json()
    assert me["name"] == "ingestion-bot"
    fake.add_token("t2", "robot", True)
    assert put(fake, superset(), headers={"Authorization": "Bearer t2"}).json()["updatedBy"] == "robot"


# ------------------------------------------------------------------------------- POST / PATCH / DELETE


def test_post_then_duplicate_409(fake):
    resp = requests.post(fake.url + SERVICES, json=superset(), headers=USER, timeout=10)
    assert resp.status_code == 201
    assert resp.json()["version"] == 0.1
    resp = requests.post(fake.url + SERVICES, json=superset(), headers=USER, timeout=10)
    assert_error(resp, 409, "Entity already exists")


def test_patch_as_person_then_bot_put_keeps_it(fake):
    created = put(fake, superset(description="auto")).json()
    team = fake.add_team("bi-team")
    ops = [
        {"op": "replace", "path": "/description", "value": "Edited in the UI"},
        {"op": "add", "path": "/displayName", "value": "Prod Superset"},
        {"op": "add", "path": "/owners", "value": [{"id": team["id"], "type": "team"}]},
        {"op": "add", "path": "/tags/-", "value": {"tagFQN": "Tier.Tier1"}},
    ]
    resp = requests.patch(
        f"{fake.url}{SERVICES}/{created['id']}",
        json=ops,
        headers={**USER, "Content-Type": "application/json-patch+json"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["version"] == 0.2 and body["updatedBy"] == "admin"
    assert body["description"] == "Edited in the UI"
    assert body["connection"]["config"]["connection"]["password"] == MASK
    resp = put(fake, superset(description="auto"))
    assert resp.headers["X-OpenMetadata-Change"] == "entityNoChange"
    stored = fake.services["superset_prod"]
    assert stored["description"] == "Edited in the UI"
    assert stored["displayName"] == "Prod Superset"
    assert [o["name"] for o in stored["owners"]] == ["bi-team"]
    # PATCH can remove; wrong content type is refused
    resp = requests.patch(
        f"{fake.url}{SERVICES}/{created['id']}",
        json=[{"op": "remove", "path": "/owners"}],
        headers={**USER, "Content-Type": "application/json-patch+json"},
        timeout=10,
    )
    assert resp.json()["owners"] == [] and resp.json()["version"] == 0.3
    resp = requests.patch(f"{fake.url}{SERVICES}/{created['id']}", json=ops, headers=USER, timeout=10)
    assert_error(resp, 415)


def test_soft_delete_include_and_put_restores(fake):
    created = put(fake, superset()).json()
    resp = requests.delete(
        f"{fake.url}{SERVICES}/{created['id']}",
        params={"hardDelete": "false", "recursive": "true"},
        headers=BOT,
        timeout=10,
    )
    assert resp.status_code == 200 and resp.json()["deleted"] is True and resp.json()["version"] == 0.2
    assert_error(get_name(fake, "superset_prod"), 404)
    assert get_name(fake, "superset_prod", include="deleted").json()["deleted"] is True
    assert get_name(fake, "superset_prod", include="all").status_code == 200
    assert requests.get(fake.url + SERVICES, headers=BOT, timeout=10).json()["paging"]["total"] == 0
    resp = put(fake, superset())
    assert resp.status_code == 200
    assert resp.headers["X-OpenMetadata-Change"] == "entityUpdated"
    assert resp.json()["deleted"] is False and resp.json()["version"] == 0.3
    assert resp.json()["id"] == created["id"]
    assert get_name(fake, "superset_prod").status_code == 200


def test_restore_endpoint_and_hard_delete(fake):
    created = put(fake, superset()).json()
    requests.delete(f"{fake.url}{SERVICES}/{created['id']}", headers=BOT, timeout=10)
    resp = requests.put(f"{fake.url}{SERVICES}/restore", json={"id": created["id"]}, headers=BOT, timeout=10)
    assert resp.status_code == 200 and resp.json()["deleted"] is False
    resp = requests.delete(
        f"{fake.url}{SERVICES}/{created['id']}", params={"hardDelete": "true"}, headers=BOT, timeout=10
    )
    assert resp.status_code == 200
    assert fake.services == {}
    assert_error(get_name(fake, "superset_prod", include="all"), 404)


# ------------------------------------------------------------------------------------------------ bulk


@pytest.mark.parametrize("absent_status", [405, 404])
def test_bulk_absent(absent_status):
    with FakeOpenMetadata(bulk=False, bulk_absent_status=absent_status) as fake:
        resp = requests.put(
            f"{fake.url}{SERVICES}/bulk",
            params={"async": "false", "overrideMetadata": "false"},
            json=[superset()],
            headers=BOT,
            timeout=10,
        )
        assert_error(resp, absent_status)
        assert fake.services == {}


def test_bulk_present():
    with FakeOpenMetadata(bulk=True) as fake:
        put(fake, superset(name="existing", description="curated"), headers=USER)
        items = [superset(name="a"), superset(name="existing", description="bot"), superset(name="bad::name")]
        resp = requests.put(
            f"{fake.url}{SERVICES}/bulk",
            params={"async": "false", "overrideMetadata": "false"},
            json=items,
            headers=BOT,
            timeout=10,
        )
        assert resp.status_code == 200
        result = resp.json()
        assert result["status"] == "partialSuccess"
        assert result["numberOfRowsProcessed"] == 3
        assert result["numberOfRowsPassed"] == 2
        assert result["numberOfRowsFailed"] == 1
        assert result["successRequest"] == [
            {"request": "a", "status": 200},
            {"request": "existing", "status": 200},
        ]
        failed = result["failedRequest"][0]
        assert failed["status"] == 400 and failed["request"]["name"] == "bad::name"
        assert "name must match" in failed["message"]
        assert set(fake.services) == {"a", "existing"}
        assert fake.services["existing"]["description"] == "curated"
        resp = requests.put(f"{fake.url}{SERVICES}/bulk", json=[superset(name="a")], headers=BOT, timeout=10)
        assert resp.json()["status"] == "success"


# ------------------------------------------------------------------------------ faults, log, latency


def test_fault_injection_503_twice_then_success(fake):
    fake.inject(status=503, times=2, method="PUT", path_prefix=SERVICES, headers={"Retry-After": "1"})
    with requests.Session() as session:
        statuses = []
        for _ in range(3):
            resp = session.put(fake.url + SERVICES, json=superset(), headers=BOT, timeout=10)
            statuses.append(resp.status_code)
            if resp.status_code == 503:
                assert resp.headers["Retry-After"] == "1"
                assert resp.json() == {"code": 503, "message": "Service Unavailable"}
    assert statuses == [503, 503, 201]
    assert [c.status for c in fake.calls("PUT")] == [503, 503, 201]


def test_fault_injection_reset_and_custom_body(fake):
    fake.inject(reset=True, times=1, method="PUT")
    with pytest.raises(requests.exceptions.ConnectionError):
        put(fake, superset())
    assert put(fake, superset()).status_code == 201
    fake.inject(status=500, body={"code": 500, "message": "boom"}, method="GET", path_prefix="/api/v1/system")
    resp = requests.get(fake.url + "/api/v1/system/version", headers=BOT, timeout=10)
    assert_error(resp, 500, "boom")
    assert requests.get(fake.url + "/api/v1/system/version", headers=BOT, timeout=10).status_code == 200
    assert [r.status for r in fake.calls("PUT")] == [0, 201]


def test_request_log_has_users_not_tokens(fake):
    put(fake, superset(), params={"x": "1"})
    requests.get(fake.url + SERVICES, headers={"Authorization": "Bearer wrong"}, timeout=10)
    log = fake.requests
    assert [(r.method, r.status, r.user) for r in log] == [("PUT", 201, "ingestion-bot"), ("GET", 401, None)]
    assert log[0].query == {"x": "1"} and log[0].json["name"] == "superset_prod"
    assert log[0].path == SERVICES
    assert all("bot-token" not in repr(r) and "wrong" not in repr(r) for r in log)
    assert len(fake.calls("GET")) == 1 and fake.calls("GET", "/api/v1/system") == []
    fake.reset_log()
    assert fake.requests == []


def test_latency(fake):
    fake.latency = 0.2
    started = time.monotonic()
    requests.get(fake.url + "/api/v1/system/version", headers=BOT, timeout=10)
    assert time.monotonic() - started >= 0.2


def test_concurrent_puts(fake):
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        resp = put(fake, superset(name=f"svc_{i}"))
        with lock:
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [201] * 50
    assert len(fake.services) == 50
    assert len({e["id"] for e in fake.services.values()}) == 50


# ------------------------------------------------------------------------------------------ LocalServer


def test_local_server_app_keep_alive_and_fast_stop():
    seen: list[tuple] = []

    def app(request: Request) -> Response:
        seen.append(request.client_address)
        return Response.json({"path": request.path, "query": request.query, "len": len(request.body)})

    server = LocalServer(app).start()
    url = server.url
    assert url == f"http://127.0.0.1:{server.port}"
    with requests.Session() as session:
        for _ in range(3):
            body = session.post(url + "/x?a=1", data=b"z" * 1000, timeout=5).json()
            assert body == {"path": "/x", "query": {"a": "1"}, "len": 1000}
        assert len(set(seen)) == 1  # one keep-alive connection
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(url + "/x", timeout=5)


def test_local_server_handler_class():
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            payload = b"hello"
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    with LocalServer(Hello) as server:
        assert requests.get(server.url, timeout=5).text == "hello"
    with pytest.raises(RuntimeError):
        _ = server.url


# -------------------------------------------------------------------------------- schema conformance

SCHEMAS = Path("/work/shared/contracts/openmetadata-schemas")


def _validator(name: str):
    jsonschema = pytest.importorskip("jsonschema")
    if not (SCHEMAS / name).exists():
        pytest.skip("contract schemas not available")

    def multiple_of(validator, divisor, instance, schema):  # tolerate 0.3 / 0.1 float noise
        if validator.is_type(instance, "number"):
            quotient = instance / divisor
            if abs(quotient - round(quotient)) > 1e-9:
                yield jsonschema.ValidationError(f"{instance} is not a multiple of {divisor}")

    base = jsonschema.Draft202012Validator
    cls = jsonschema.validators.extend(base, {"multipleOf": multiple_of})
    return cls(json.loads((SCHEMAS / name).read_text()))


def test_responses_match_dashboard_service_schema(fake):
    validator = _validator("DashboardService.json")
    alice = fake.add_user("alice")
    body = superset(
        name="my.superset",
        description="d",
        displayName="D",
        owners=[{"id": alice["id"], "type": "user"}],
        tags=[{"tagFQN": "PII.Sensitive"}],
        domains=["Finance"],
    )
    bodies = [put(fake, body, headers=USER).json()]
    body["description"] = "e"
    bodies.append(put(fake, body, headers=USER).json())
    bodies.append(get_name(fake, "my.superset", fields="*").json())
    bodies.append(requests.delete(f"{fake.url}{SERVICES}/{bodies[0]['id']}", headers=BOT, timeout=10).json())
    bodies.extend(
        requests.get(
            fake.url + SERVICES, headers=USER, params={"include": "all", "fields": "*"}, timeout=10
        ).json()["data"]
    )
    for entity in bodies:
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(entity)]
        assert errors == []


def test_bulk_result_matches_schema():
    validator = _validator("BulkOperationResult.json")
    with FakeOpenMetadata(bulk=True) as fake:
        resp = requests.put(
            f"{fake.url}{SERVICES}/bulk", json=[superset(), {"name": "a::b"}], headers=BOT, timeout=10
        )
        assert list(validator.iter_errors(resp.json())) == []


# ------------------------------------------------------------------------------------------------- CLI


def test_command_line_runs_until_interrupted():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scanner.testing.fake_openmetadata",
            "--port",
            "0",
            "--bulk",
            "--bot-token",
            "B",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        resp = requests.get(url + "/api/v1/system/version", headers={"Authorization": "Bearer B"}, timeout=10)
        assert resp.json()["version"] == "2.0.7"
        resp = requests.put(
            url + SERVICES + "/bulk", json=[], headers={"Authorization": "Bearer B"}, timeout=10
        )
        assert resp.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_config_is_stored_converted_with_the_schemas_defaults(fake):
    """The server converts the config to its typed class: reads answer it with every schema default filled."""
    body = superset()
    resp = put(fake, body)
    assert resp.status_code == 201
    config = resp.json()["connection"]["config"]
    assert config["supportsMetadataExtraction"] is True
    assert config["connection"]["verifySSL"] == "no-ssl"  # SupersetApiConnection's own default
    assert get_name(fake, "superset_prod").json()["connection"]["config"] == config
    # the same body again (defaults absent) is no change: the stored form is compared, not the text sent
    assert put(fake, body).headers["X-OpenMetadata-Change"] == "entityNoChange"


def test_config_keys_the_schema_forbids_are_refused(fake):
    bad = superset()
    bad["connection"]["config"]["dashboardFilterPatern"] = {"includes": ["x"]}  # a typo of the UI's key
    resp = put(fake, bad)
    assert_error(resp, 400, None)
    assert "Failed to convert [superset_prod] to type [Superset]" in resp.json()["message"]
    assert "dashboardFilterPatern" in resp.json()["message"]
    wrong_type = superset()
    wrong_type["connection"]["config"]["connection"]["verifySSL"] = "sometimes"
    assert put(fake, wrong_type).status_code == 400
    assert fake.services == {}
    lenient = superset()
    del lenient["connection"]["config"]["connection"]["password"]  # the server does not enforce nested required
    assert put(fake, lenient).status_code == 201
