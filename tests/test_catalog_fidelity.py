"""Against a catalog that stores configs the way OpenMetadata does (schema defaults filled, forbidden keys
refused): a second identical scan writes nothing, and a re-registration keeps what a person set in the
catalog's connection settings. For every platform, with a bot token and with a person's (masked) token.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from conftest import BOT_TOKEN, USER_TOKEN, catalog_env

from scanner.demo import STAND_INS
from scanner.openmetadata.schema import ConnectionSchema
from scanner.registry import discover
from scanner.secrets import MASK
from scanner.testing.fake_looker import FakeLooker, LookerApiUser
from scanner.testing.fake_superset import FakeSuperset, FakeUser
from scanner.testing.fake_tableau import FakeTableau

OLD = "fidelity-old-secret-41c2"
NEW = "fidelity-rotated-secret-9d07"
SERVICES = "/api/v1/services/dashboardServices"


@dataclass(frozen=True)
class Platform:
    name: str
    fake: Callable[[], Any]
    env: Callable[[str, str], dict[str, str]]       # (url, secret) -> env of instance FID
    rotate: Callable[[Any, str], None]              # give the principal a new secret on the fake
    secret_path: tuple[str, ...]                    # where the registered secret sits in the config
    persons: dict[str, Any]                         # what a person sets in the catalog's UI


COMMON = {
    "dashboardFilterPattern": {"includes": ["^Finance"], "excludes": ["draft"]},
    "chartFilterPattern": {"excludes": ["^tmp_"]},
    "dataModelFilterPattern": {"includes": ["sales"]},
    "projectFilterPattern": {"excludes": ["Sandbox"]},
    "supportsMetadataExtraction": False,
}

PLATFORMS = [pytest.param(p, id=p.name) for p in (
    Platform(
        "superset", lambda: FakeSuperset(users={"scanner": FakeUser(OLD, dashboards=3, charts=4)}),
        lambda url, secret: {"SUPERSET_URL__FID": url, "SUPERSET_USERNAME__FID": "scanner",
                             "SUPERSET_PASSWORD__FID": secret},
        lambda fake, secret: fake.users.__setitem__("scanner", FakeUser(secret, dashboards=3, charts=4)),
        ("connection", "password"),
        dict(COMMON),
    ),
    Platform(
        "looker", lambda: FakeLooker(clients={"scanner-id": LookerApiUser(OLD, dashboards=2, lookml_models=1)}),
        lambda url, secret: {"LOOKERSDK_BASE_URL__FID": url, "LOOKERSDK_CLIENT_ID__FID": "scanner-id",
                             "LOOKERSDK_CLIENT_SECRET__FID": secret},
        lambda fake, secret: fake.clients.__setitem__("scanner-id", LookerApiUser(secret, dashboards=2,
                                                                                 lookml_models=1)),
        ("clientSecret",),
        {**COMMON, "gitCredentials": {"type": "GitHub", "repositoryOwner": "acme", "repositoryName": "lookml",
                                      "token": "ghp-person-token-5e1"}},
    ),
    Platform(
        "tableau", lambda: FakeTableau(tokens={"scanner-pat": OLD}),
        lambda url, secret: {"TABLEAU_URL__FID": url, "TABLEAU_TOKEN_NAME__FID": "scanner-pat",
                             "TABLEAU_TOKEN_SECRET__FID": secret},
        lambda fake, secret: fake.tokens.__setitem__("scanner-pat", secret),
        ("authType", "personalAccessTokenSecret"),
        {**COMMON, "paginationLimit": 25, "proxyURL": "https://tableau-proxy.example.com"},
    ),
)]


def secret_of(platform: Platform, config: dict) -> str:
    for key in platform.secret_path:
        config = config[key]
    return config  # type: ignore[return-value]


def with_secret(platform: Platform, config: dict, secret: str) -> dict:
    config = copy.deepcopy(config)
    node = config
    for key in platform.secret_path[:-1]:
        node = node[key]
    node[platform.secret_path[-1]] = secret
    return config


def scan(run_cli, env: dict[str, str], *args: str) -> dict:
    result = run_cli("scan", "--output", "json", *args, env=env)
    assert result.code == 0, result.stderr
    assert OLD not in result.stdout + result.stderr and NEW not in result.stdout + result.stderr
    return json.loads(result.stdout)


def stored_config(catalog, name: str) -> dict:
    return catalog.services[name]["connection"]["config"]


def person_edits(catalog, name: str, keys: dict[str, Any]) -> None:
    """A person changes the connection in the catalog's UI: the UI PUTs the whole config back, secrets masked."""
    headers = {"Authorization": f"Bearer {USER_TOKEN}"}
    current = requests.get(f"{catalog.url}{SERVICES}/name/{name}", headers=headers, timeout=10).json()
    stored = stored_config(catalog, name)
    if ConnectionSchema.of(stored["type"]).secret_paths(stored):  # the person sees masked secrets
        assert current["connection"]["config"] != stored
    config = {**current["connection"]["config"], **keys}
    body = {"name": name, "serviceType": current["serviceType"], "description": current["description"],
            "connection": {"config": config}}
    if current.get("displayName"):
        body["displayName"] = current["displayName"]
    resp = requests.put(catalog.url + SERVICES, json=body, headers=headers, timeout=10)
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("token", [BOT_TOKEN, USER_TOKEN], ids=["bot", "person"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_second_identical_scan_writes_nothing(platform: Platform, token: str, run_cli, catalog):
    with platform.fake() as fake:
        env = {**catalog_env(catalog, token), **platform.env(fake.url, OLD)}
        first = scan(run_cli, env)
        name = f"{platform.name}_fid"
        assert [t["taken"] for t in first["targets"]] == ["created"]
        stored = stored_config(catalog, name)
        assert stored["supportsMetadataExtraction"] is True  # the catalog filled its schema's defaults in

        catalog.reset_log()
        dry = scan(run_cli, env, "--dry-run")
        again = scan(run_cli, env)
    assert [(t["plan"]["action"], t["plan"]["reason"]) for t in dry["targets"]] == [("unchanged", None)]
    assert [(t["plan"]["action"], t["taken"]) for t in again["targets"]] == [("unchanged", "unchanged")]
    assert catalog.calls("PUT") == []
    # a person's token sees secrets masked: they count as equal, and the report says they were not compared
    assert again["targets"][0]["plan"]["secrets_unverified"] is (token == USER_TOKEN)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_persons_connection_settings_survive_a_rotated_secret(platform: Platform, run_cli, catalog):
    """With the bot token (which reads secrets in clear), a rotated secret is a change to register."""
    token = BOT_TOKEN
    name = f"{platform.name}_fid"
    with platform.fake() as fake:
        scan(run_cli, {**catalog_env(catalog, token), **platform.env(fake.url, OLD)})
        person_edits(catalog, name, platform.persons)
        edited = stored_config(catalog, name)
        assert secret_of(platform, edited) == OLD  # the masked secret the UI sent back kept the stored one

        platform.rotate(fake, NEW)
        env = {**catalog_env(catalog, token), **platform.env(fake.url, NEW)}
        catalog.reset_log()
        report = scan(run_cli, env)
        [entry] = report["targets"]
        assert (entry["plan"]["action"], entry["taken"]) == ("update", "updated")
        assert entry["plan"]["changes"] == ["connection"]
        assert sorted(entry["plan"]["carried_over"]) == sorted(platform.persons)

        after = stored_config(catalog, name)
        assert after == with_secret(platform, edited, NEW)  # the new secret, and every key the person set
        [put] = catalog.calls("PUT")
        if "gitCredentials" in platform.persons:  # a secret scanner does not own went back as the catalog held it
            sent = put.json["connection"]["config"]["gitCredentials"]["token"]
            assert sent == platform.persons["gitCredentials"]["token"]

        catalog.reset_log()
        settled = scan(run_cli, env)
    assert [t["taken"] for t in settled["targets"]] == ["unchanged"]
    assert catalog.calls("PUT") == []


@pytest.mark.parametrize("platform", PLATFORMS)
def test_with_a_persons_token_masked_settings_go_back_masked_and_survive(platform: Platform, run_cli, catalog):
    """A person's token reads secrets masked (they are reported unverified), but a change scanner can see (here the
    address someone typed wrong in the UI) updates the service, and every key the person set survives, a secret among
    them (sent back masked; the server keeps the stored value). A rotated secret is seen through the inventory (its
    hash of the config scanner derived last time), so it is registered too."""
    name = f"{platform.name}_fid"
    with platform.fake() as fake:
        env = {**catalog_env(catalog, USER_TOKEN), **platform.env(fake.url, OLD)}
        scan(run_cli, env)
        person_edits(catalog, name, {**platform.persons, "hostPort": "http://typo.invalid:1"})
        edited = stored_config(catalog, name)

        catalog.reset_log()
        [entry] = scan(run_cli, env)["targets"]
        assert (entry["plan"]["action"], entry["taken"]) == ("update", "updated")
        assert sorted(entry["plan"]["carried_over"]) == sorted(platform.persons)
        after = stored_config(catalog, name)
        assert after == {**edited, "hostPort": fake.url}
        [put] = catalog.calls("PUT")
        if "gitCredentials" in platform.persons:
            assert put.json["connection"]["config"]["gitCredentials"]["token"] == MASK
            assert after["gitCredentials"]["token"] == platform.persons["gitCredentials"]["token"]

        # a rotated secret: the catalog shows it masked, but the inventory knows scanner's own config changed
        platform.rotate(fake, NEW)
        catalog.reset_log()
        rotated = {**env, **platform.env(fake.url, NEW)}
        [entry] = scan(run_cli, rotated)["targets"]
        assert (entry["plan"]["action"], entry["taken"], entry["plan"]["secrets_unverified"]) == ("update", "updated",
                                                                                                 False)
        assert secret_of(platform, stored_config(catalog, name)) == NEW
        assert sorted(entry["plan"]["carried_over"]) == sorted(platform.persons)
        catalog.reset_log()
        [entry] = scan(run_cli, rotated)["targets"]
    assert (entry["plan"]["action"], entry["plan"]["secrets_unverified"]) == ("unchanged", True)
    assert catalog.calls("PUT") == []


def test_a_newer_catalog_is_warned_about_once(run_cli, catalog, web, tmp_path):
    catalog.version = "2.3.1"
    config = tmp_path / "config.toml"
    config.write_text(f'[[targets]]\nplatform = "custom"\nname = "custom_new"\nurl = "{web.url}"\n')
    result = run_cli("scan", "--config", str(config), "--output", "json", env=catalog_env(catalog))
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert "2.3.1" in report["catalog"]["warning"] and "2.0" in report["catalog"]["warning"]
    assert result.stderr.count("scanner's connection schemas are those of") == 1
    assert [t["taken"] for t in report["targets"]] == ["created"]

    catalog.version = "2.0.12"
    result = run_cli("scan", "--config", str(config), "--output", "json", env=catalog_env(catalog))
    assert json.loads(result.stdout)["catalog"]["warning"] is None
    assert "connection schemas" not in result.stderr


# -- every platform: the demo's stand-ins, each registered as a user would ---------------------------------------------

EVERY = sorted(STAND_INS)


def installed_plugins() -> dict[str, Any]:
    return {entry.name: entry.plugin for entry in discover() if entry.enabled}


def test_every_installed_platform_is_in_the_every_platform_checks():
    assert sorted(installed_plugins()) == EVERY


@contextlib.contextmanager
def stand_in(platform: str, folder):
    """The platform's stand-in, its user's variables and (for a TOML-only platform) the config file."""
    kind = STAND_INS[platform]
    secret = kind.secret()
    with kind.start(secret, folder) as fake:
        env = kind.env(fake, secret, "__FID", folder)
        args: tuple[str, ...] = ()
        if kind.toml:
            config = folder / "config.toml"
            config.write_text(kind.toml(fake).replace('instance = "demo"', 'instance = "fid"'))
            args = ("--config", str(config))
        yield env, args, secret


def created_names(report: dict) -> list[str]:
    assert {(t["status"], t["taken"]) for t in report["targets"]} == {("ok", "created")}, report["targets"]
    return sorted(t["service_name"] for t in report["targets"])


def scan_every(run_cli, env: dict[str, str], args: tuple[str, ...], secret: str, *more: str) -> dict:
    result = run_cli("scan", "--output", "json", *args, *more, env=env)
    assert result.code == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("platform", EVERY)
def test_every_platform_settles_after_one_registration(platform, run_cli, catalog, tmp_path):
    """Registered once with the bot token; then a dry run and a scan, with the bot's token and with a person's
    (masked secrets), plan and take `unchanged`, send no PUT and report no drift."""
    with stand_in(platform, tmp_path) as (env, args, secret):
        names = created_names(scan_every(run_cli, {**catalog_env(catalog, BOT_TOKEN), **env}, args, secret))
        for name in names:  # the catalog filled its schema's defaults in, as OpenMetadata does
            assert stored_config(catalog, name)["supportsMetadataExtraction"] is True
        catalog.reset_log()
        for token in (BOT_TOKEN, USER_TOKEN):
            for more in (("--dry-run",), ()):
                report = scan_every(run_cli, {**catalog_env(catalog, token), **env}, args, secret, *more)
                assert {(t["service_name"], t["plan"]["action"], t["plan"]["reason"]) for t in report["targets"]} \
                    == {(name, "unchanged", None) for name in names}, (token, more)
                assert report["drift"] == [], (token, more)  # the inventory saw no change of the instances either
                if not more:
                    assert {t["taken"] for t in report["targets"]} == {"unchanged"}
    assert catalog.calls("PUT") == []


def mistyped(value: str) -> str:
    """A value a person could type by mistake for an owned key: another address, or the text with a typo."""
    return "http://typo.invalid:1" if value.startswith(("http://", "https://", "wss://")) else f"{value}-typo"


@pytest.mark.parametrize("platform", EVERY)
def test_every_platform_keeps_a_persons_settings_when_it_corrects_its_own_key(platform, run_cli, catalog, tmp_path):
    """A person sets filter patterns (those the platform's schema has) and turns metadata extraction off, and
    mistypes one key the plugin owns. The next scan corrects that key only: every key the person set is kept and
    named as carried over, and the scan after that writes nothing."""
    plugin = installed_plugins()[platform]
    with stand_in(platform, tmp_path) as (env, args, secret):
        env = {**catalog_env(catalog, USER_TOKEN), **env}
        names = created_names(scan_every(run_cli, env, args, secret))
        edits: dict[str, dict[str, Any]] = {}
        for name in names:
            stored = stored_config(catalog, name)
            schema = ConnectionSchema.of(stored["type"])
            persons = {k: v for k, v in COMMON.items() if k in schema.schema["properties"]}  # where the schema has it
            assert "supportsMetadataExtraction" in persons and len(persons) >= 2, sorted(persons)
            owned = next(k for k in plugin.config_keys if isinstance(stored.get(k), str)
                         and (k,) not in schema.secret_paths(stored))
            person_edits(catalog, name, {**persons, owned: mistyped(stored[owned])})
            edits[name] = {"persons": persons, "edited": stored_config(catalog, name), "owned": owned,
                           "right": stored[owned]}

        catalog.reset_log()
        report = scan_every(run_cli, env, args, secret)
        by = {t["service_name"]: t for t in report["targets"]}
        for name, edit in edits.items():
            entry = by[name]
            assert (entry["plan"]["action"], entry["taken"], entry["plan"]["changes"]) \
                == ("update", "updated", ["connection"]), entry["plan"]
            assert sorted(entry["plan"]["carried_over"]) == sorted(edit["persons"])
            assert stored_config(catalog, name) == {**edit["edited"], edit["owned"]: edit["right"]}
        # one write per corrected service (a catalog without /bulk answers 405 to the batch first)
        assert sorted(c.json["name"] for c in catalog.calls("PUT") if c.status == 200) == sorted(edits)

        catalog.reset_log()
        settled = scan_every(run_cli, env, args, secret)
    assert {t["taken"] for t in settled["targets"]} == {"unchanged"}
    assert catalog.calls("PUT") == []
