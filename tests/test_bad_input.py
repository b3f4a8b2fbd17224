"""A corpus of bad configs, env values and flags, with a valid target beside every bad one.

A run that cannot start (bad flags, a config file that cannot be used as a whole, bad catalog or scan
settings) is one line naming the problem and where, exit 2, no traceback, and nothing probed or registered.
One bad target (a bad key or value in one ``[[targets]]`` entry or one env instance) is reported as a
failed target (status error, its one-line message, not probed, not registered) while the good one is
scanned and registered: exit 1.
"""

from __future__ import annotations

import json

import pytest
from conftest import catalog_env

GOOD_TARGET = '[[targets]]\nplatform = "custom"\ninstance = "good"\nurl = "{web}"\n'

# (id, config.toml text or None, env, extra args, substrings the one error line must contain)
CASES = [
    ("malformed-toml", "[[targets]\nplatform = ", {}, [], ["config.toml", "invalid TOML"]),
    ("unknown-key", "[scan]\nconcurency = 4\n", {}, [], ["unknown key 'concurency'", "did you mean 'concurrency'"]),
    ("unknown-section", "[scann]\nconcurrency = 4\n", {}, [], ["unknown section or key 'scann'", "config.toml"]),
    ("wrong-type", '[scan]\nconcurrency = "many"\n', {}, [], ["config.toml:[scan].concurrency", "valid integer"]),
    ("out-of-range", "[scan]\nconcurrency = 0\n", {}, [], ["[scan].concurrency", "greater than or equal to 1"]),
    ("unset-variable", '[catalog]\njwt_token = "${NOT_SET_ANYWHERE}"\n', {}, [], ["${NOT_SET_ANYWHERE} is not set"]),
    ("bad-owner", '[service]\nowners = ["alice"]\n', {}, [], ["owner 'alice' must be 'user:<name>' or 'team:<name>'"]),
    ("catalog-host-without-token", None, {"OPENMETADATA_HOST": "http://127.0.0.1:9", "OPENMETADATA_JWT_TOKEN": ""}, [],
     ["a catalog host is set but no token", "OPENMETADATA_JWT_TOKEN"]),
    ("catalog-host-bad-scheme", None, {"OPENMETADATA_HOST": "ftp://x", "OPENMETADATA_JWT_TOKEN": "t"}, [],
     ["env:OPENMETADATA_HOST", "must start with http:// or https://"]),
    ("gone-after-zero", None, {"SCANNER_GONE_AFTER": "0"}, [], ["env:SCANNER_GONE_AFTER"]),
    ("unknown-platform-flag", None, {}, ["--platform", "nosuchbi"], ["--platform", "unknown platform 'nosuchbi'"]),
    ("negative-concurrency", None, {}, ["--concurrency", "-1"], ["--concurrency"]),
    ("not-a-number", None, {}, ["--timeout", "soon"], ["--timeout", "invalid float value"]),
    ("missing-config-file", None, {}, ["--config", "nope.toml"], ["--config", "not found"]),
    ("bad-interval", None, {}, ["--every", "0s"], ["--every"]),
]

# (id, config.toml text or None, env, substrings the bad target's message must contain)
BAD_TARGETS = [
    ("target-without-platform", '[[targets]]\nurl = "http://127.0.0.1:9"\n', {},
     ["config.toml:[[targets]]#2", "missing 'platform'"]),
    ("unknown-platform", '[[targets]]\nplatform = "lookr"\nurl = "http://127.0.0.1:9"\n', {},
     ["unknown platform 'lookr'", "did you mean 'looker'"]),
    ("misspelt-target-key", '[[targets]]\nplatform = "looker"\nurl = "http://127.0.0.1:9"\nclient_id = "i"\n'
     'clientSecret = "s"\n', {},
     ["config.toml:[[targets]]#2.client_id", "unknown key 'client_id' (did you mean 'clientId'?)"]),
    ("unset-variable-in-target", '[[targets]]\nplatform = "superset"\nurl = "http://127.0.0.1:9"\nusername = "a"\n'
     'password = "${NOT_SET_ANYWHERE}"\n', {}, ["config.toml:[[targets]]#2.password", "${NOT_SET_ANYWHERE} is not set"]),
    ("name-with-colons", '[[targets]]\nplatform = "custom"\nname = "a::b"\nurl = "http://127.0.0.1:9"\n', {},
     ["'a::b' may only use a-z, 0-9 and _", ".name"]),
    ("name-300-chars", f'[[targets]]\nplatform = "custom"\nname = "{"n" * 300}"\nurl = "http://127.0.0.1:9"\n', {},
     ["300 characters long (at most 256)"]),
    ("duplicate-name", '[[targets]]\nplatform = "custom"\nname = "custom_good"\nurl = "http://127.0.0.1:9"\n', {},
     ["service name 'custom_good' is also used by config.toml:[[targets]]#1"]),
    ("url-no-scheme", None, {"SUPERSET_URL": "superset.example.com", "SUPERSET_USERNAME": "a",
                             "SUPERSET_PASSWORD": "b"}, ["env:SUPERSET_URL", "has no scheme"]),
    ("url-with-credentials", None, {"SUPERSET_URL": "https://u:p@superset.example.com", "SUPERSET_USERNAME": "a",
                                    "SUPERSET_PASSWORD": "b"}, ["env:SUPERSET_URL", "must not contain credentials"]),
    ("url-bad-port", None, {"SUPERSET_URL": "http://127.0.0.1:99999", "SUPERSET_USERNAME": "a",
                            "SUPERSET_PASSWORD": "b"}, ["env:SUPERSET_URL", "invalid port"]),
    ("empty-secret", None, {"SUPERSET_URL": "http://127.0.0.1:9", "SUPERSET_USERNAME": "a", "SUPERSET_PASSWORD": ""},
     ["SUPERSET_PASSWORD is set but empty"]),
    ("bad-suffix", None, {"SUPERSET_URL__FIN-ANCE": "http://127.0.0.1:9"}, ["bad instance suffix 'FIN-ANCE'"]),
    ("suffix-without-url", None, {"SUPERSET_PASSWORD__HR": "x"},
     ["SUPERSET_PASSWORD__HR is set but SUPERSET_URL__HR is not"]),
    ("looker-verify-ssl", None, {"LOOKERSDK_BASE_URL": "https://l.example.com", "LOOKERSDK_CLIENT_ID": "i",
                                 "LOOKERSDK_CLIENT_SECRET": "s", "LOOKERSDK_VERIFY_SSL": "maybe"},
     ["env:LOOKERSDK_VERIFY_SSL", "verify_ssl"]),
    ("tableau-two-credentials", None, {"TABLEAU_URL": "https://t.example.com", "TABLEAU_TOKEN_NAME": "n",
                                       "TABLEAU_TOKEN_SECRET": "s", "TABLEAU_USERNAME": "u", "TABLEAU_PASSWORD": "p"},
     ["not both"]),
    ("wrong-type-in-target", '[[targets]]\nplatform = "custom"\nurl = "http://127.0.0.1:9"\n'
     'connectionOptions = { a = 1 }\n', {}, ["connectionOptions.a: Input should be a valid string"]),
]


@pytest.mark.parametrize(("config", "env", "args", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_is_done(run_cli, tmp_path, web, catalog, config, env, args, needles):
    text = GOOD_TARGET.format(web=web.url) + (config or "")
    (tmp_path / "config.toml").write_text(text)
    full_env = {**catalog_env(catalog), **env}
    result = run_cli("scan", *args, env=full_env)
    assert result.code == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("scanner: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert catalog.calls("PUT") == [] and catalog.requests == []  # nothing registered, not even looked up
    assert not (tmp_path / "state").exists()  # no inventory written either


@pytest.mark.parametrize(("config", "env", "needles"), [c[1:] for c in BAD_TARGETS], ids=[c[0] for c in BAD_TARGETS])
def test_one_bad_target_is_reported_and_the_rest_scanned_exit_1(run_cli, tmp_path, web, catalog, config, env,
                                                                  needles):
    text = GOOD_TARGET.format(web=web.url) + (config or "")
    (tmp_path / "config.toml").write_text(text)
    result = run_cli("scan", "--output", "json", env={**catalog_env(catalog), **env})
    assert result.code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "error:" not in result.stderr
    doc = json.loads(result.stdout)
    good = [t for t in doc["targets"] if t["origin"] == "config.toml:[[targets]]#1"]
    bad = [t for t in doc["targets"] if t["origin"] != "config.toml:[[targets]]#1"]
    assert [(t["service_name"], t["status"], t["taken"]) for t in good] == [("custom_good", "ok", "created")]
    assert len(bad) == 1, doc["targets"]
    entry = bad[0]
    assert entry["status"] == "error" and entry["steps"] == [], entry  # reported, not probed
    assert entry["plan"]["action"] == "skip" and entry["taken"] == "skipped" and "payload" not in entry
    assert len(entry["message"].splitlines()) == 1
    for needle in needles:
        assert needle in entry["message"], entry["message"]
    assert [p.json["name"] for p in catalog.calls("PUT")] == ["custom_good"]  # only the good one registered
