"""Smoke tests of tests/superset_server.py against the real Superset it starts."""

import pytest
import requests

pytestmark = pytest.mark.superset


@pytest.fixture()
def http():
    s = requests.Session()
    s.trust_env = False  # loopback only, never through a proxy
    yield s
    s.close()


def _bearer(server, user):
    return {"Authorization": f"Bearer {server.token(user)}"}


def test_health_and_unauthenticated_version(real_superset, http):
    assert real_superset.url.startswith("http://127.0.0.1:")
    r = http.get(f"{real_superset.url}/health", timeout=10)
    assert (r.status_code, r.text) == (200, "OK")
    r = http.get(f"{real_superset.url}/version", timeout=10)
    assert r.status_code == 200
    assert r.json()["version_string"] == real_superset.version == "6.1.0"


def test_admin_sees_seeded_dashboards_and_charts(real_superset, http):
    h = _bearer(real_superset, "admin")
    r = http.get(
        f"{real_superset.url}/api/v1/dashboard/", headers=h, params={"q": "(page_size:100)"}, timeout=30
    )
    assert r.status_code == 200
    assert r.json()["count"] == real_superset.dashboard_count == 2
    r = http.get(f"{real_superset.url}/api/v1/chart/", headers=h, params={"q": "(page_size:100)"}, timeout=30)
    assert r.status_code == 200
    assert r.json()["count"] == real_superset.chart_count >= 1
    # The chart's dataset is a real SQLite table, so its data query works (also after a seed-cache copy).
    chart_id = r.json()["ids"][0]
    r = http.get(f"{real_superset.url}/api/v1/chart/{chart_id}/data/", headers=h, timeout=60)
    assert r.status_code == 200
    assert r.json()["result"][0]["rowcount"] == 4


def test_gamma_sees_no_dashboards_and_public_is_forbidden(real_superset, http):
    r = http.get(
        f"{real_superset.url}/api/v1/dashboard/", headers=_bearer(real_superset, "gamma"), timeout=30
    )
    assert r.status_code == 200
    assert r.json()["count"] == 0
    pub = _bearer(real_superset, "public_user")  # login itself succeeds (200 + token)
    for path in ("/api/v1/dashboard/", "/api/v1/chart/", "/api/v1/me/"):
        r = http.get(f"{real_superset.url}{path}", headers=pub, timeout=30)
        assert r.status_code == 403, path
        assert r.json() == {"message": "Forbidden"}


def test_wrong_password_is_401(real_superset):
    r = real_superset.login("admin", "not-the-password")
    assert r.status_code == 401
    assert r.json() == {"message": "Not authorized"}
    assert "access_token" not in r.text
