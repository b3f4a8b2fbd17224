"""The text of input errors: each names the real source (the variable, the TOML key or the flag the user used) and
says what to set in the user's own terms; input that used to be accepted silently is refused in one line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from scanner import network, registry
from scanner.discovery.credentials import what_to_set
from scanner.errors import ConfigError
from scanner.plugin import Status, Target
from scanner.probe import run_probe
from scanner.settings import load_settings
from scanner.targets import Rejected, collect

ENTRIES = registry.discover()
PLUGINS = {e.name: e.plugin for e in ENTRIES if e.plugin is not None}


def _anchor(plugin):
    return (next((v for v in plugin.env_vars if v.anchor), None)
            or next((v for v in plugin.env_vars if v.field == "url"), None))


ENV_PLATFORMS = sorted(name for name, plugin in PLUGINS.items() if _anchor(plugin) is not None)


def _anchor_value(plugin) -> str:
    anchor = _anchor(plugin)
    if anchor.field == "url":
        return "https://bi.example.com"
    return {"tenantId": "0b0b0b0b-1111-4222-8333-444455556666", "workspaceName": "acme"}[anchor.field]


def _found(env: dict[str, str], toml: str = "", tmp_path: Path | None = None, env_file: str = ""):
    config = None
    if toml:
        config = tmp_path / "config.toml"
        config.write_text(toml)
    dotenv = None
    if env_file:
        dotenv = tmp_path / ".env"
        dotenv.write_text(env_file)
    settings = load_settings(config=str(config) if config else None, env_file=str(dotenv) if dotenv else None,
                             environ={"PATH": "/usr/bin", **env})
    return settings, collect(settings, ENTRIES)


def _errors(found) -> list[ConfigError]:
    return [entry.error for entry in found if isinstance(entry, Rejected)]


def _one_line_exit_2(result) -> str:
    assert result.code == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("scanner: error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    return lines[0]


# -- F7.1 / docs 11: the source of a bad value is the one the user used ------------------------------------------


@pytest.mark.parametrize(("toml", "env", "args", "expected"), [
    ("", {"SCANNER_PLATFORMS": "superset,lookr"}, [], "env:SCANNER_PLATFORMS: unknown platform 'lookr'"),
    ("[scan]\nplatforms = ['supreset']\n", {}, [], "config.toml:[scan].platforms: unknown platform 'supreset'"),
    ("[scan]\nplatforms = ['supreset']\n", {"SCANNER_PLATFORMS": "lookr"}, ["--platform", "grafan"],
     "scanner: error: --platform: unknown platform 'grafan'"),
    ("", {"SCANNER_CONFIG": "/nope-qa.toml"}, [], "env:SCANNER_CONFIG: file '/nope-qa.toml' not found"),
])
def test_a_bad_value_is_blamed_on_where_it_was_set(run_cli, tmp_path, toml, env, args, expected):
    if toml:
        (tmp_path / "config.toml").write_text(toml)
    line = _one_line_exit_2(run_cli("scan", "--dry-run", "--no-inventory", *args, env=env))
    assert expected in line, line
    if "--platform" not in args:
        assert "--platform" not in line and "--config" not in line, line


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["--config", "{dir}"], {}, "--config: '{dir}' is a directory, not a file"),
    (["--env-file", "{dir}"], {}, "--env-file: '{dir}' is a directory, not a file"),
    ([], {"SCANNER_CONFIG": "{dir}"}, "env:SCANNER_CONFIG: '{dir}' is a directory, not a file"),
])
def test_a_directory_is_not_called_missing(run_cli, tmp_path, args, env, expected):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    args = [a.format(dir=folder) for a in args]
    env = {k: v.format(dir=folder) for k, v in env.items()}
    line = _one_line_exit_2(run_cli("scan", "--dry-run", "--no-inventory", *args, env=env))
    assert expected.format(dir=folder) in line and "not found" not in line, line


# -- F7.3: an env target is told the variables to set ------------------------------------------------------------


def test_superset_url_alone_names_the_variables_to_set():
    _, found = _found({"SUPERSET_URL": "https://bi.example.com", "SUPERSET_URL__FIN": "https://fin.example.com"})
    assert sorted(str(e) for e in _errors(found)) == [
        "env:SUPERSET_URL: missing SUPERSET_USERNAME and SUPERSET_PASSWORD (TOML username, password)",
        "env:SUPERSET_URL__FIN: missing SUPERSET_USERNAME__FIN and SUPERSET_PASSWORD__FIN (TOML username, password)",
    ]


@pytest.mark.parametrize("platform", ENV_PLATFORMS)
def test_every_env_platform_names_its_variables_with_the_instance_suffix(platform):
    plugin = PLUGINS[platform]
    anchor = _anchor(plugin)
    _, found = _found({f"{anchor.name}__FIN": _anchor_value(plugin)})
    [error] = _errors(found)
    text = str(error)
    assert "missing required key" not in text and "(TOML " in text, text
    names = {v.name for v in plugin.env_vars if v is not anchor}
    named = [n for n in names if f"{n}__FIN" in text]
    assert named, text
    assert not [n for n in names if f"{n} " in text or f"{n}," in text or text.endswith(n)], text  # no bare name


def test_a_toml_target_still_gets_the_toml_key(tmp_path):
    _, found = _found({}, '[[targets]]\nplatform = "superset"\nurl = "https://bi.example.com"\npassword = "p"\n',
                      tmp_path)
    [error] = _errors(found)
    assert str(error) == "config.toml:[[targets]]#1.username: missing required key 'username'"


# -- docs 12: a blank value is "set but empty" on every platform -------------------------------------------------


@pytest.mark.parametrize("platform", ENV_PLATFORMS)
def test_a_blank_credential_is_set_but_empty_on_every_platform(platform):
    plugin = PLUGINS[platform]
    anchor = _anchor(plugin)
    required = [f for f, info in plugin.settings_model.model_fields.items() if info.is_required()]
    secret = next((v for v in plugin.env_vars if v.secret), None) or \
        next(v for v in plugin.env_vars if v.field in required and v is not anchor)  # Qlik Sense: its certificates
    _, found = _found({f"{anchor.name}__EMPTY": _anchor_value(plugin), f"{secret.name}__EMPTY": "  "})
    [error] = _errors(found)
    assert f"{secret.name}__EMPTY is set but empty" in str(error), str(error)


def test_a_blank_required_setting_is_set_but_empty_not_missing():
    _, found = _found({"SUPERSET_URL": "https://bi.example.com", "SUPERSET_USERNAME": " ", "SUPERSET_PASSWORD": "p"})
    assert [str(e) for e in _errors(found)] == ["env:SUPERSET_USERNAME: SUPERSET_USERNAME is set but empty (TOML "
                                                "username)"]


# -- F7.5: .env names the undefined variable behind an empty value -----------------------------------------------


def test_an_undefined_reference_in_dotenv_is_named(tmp_path):
    _, found = _found({}, env_file="SUPERSET_URL=https://bi.example.com\nSUPERSET_USERNAME=a\n"
                                   "SUPERSET_PASSWORD=${UNDEFINED_VAR_QA}\n", tmp_path=tmp_path)
    [error] = _errors(found)
    assert str(error) == (".env:SUPERSET_PASSWORD: SUPERSET_PASSWORD is set but empty (TOML password): its value "
                          "${UNDEFINED_VAR_QA} is not set (export it or add it to .env)")


def test_a_reference_the_environment_defines_is_no_problem(tmp_path):
    _, found = _found({"PW_QA": "p4ss-qa"}, env_file="SUPERSET_URL=https://bi.example.com\nSUPERSET_USERNAME=a\n"
                                                     "SUPERSET_PASSWORD=${PW_QA}\n", tmp_path=tmp_path)
    assert _errors(found) == [] and len(found) == 1


# -- F7.4: Tableau's half-declared credentials; a model-level rule is located at its table ------------------------


@pytest.mark.parametrize(("env", "expected"), [
    ({"TABLEAU_TOKEN_NAME": "n", "TABLEAU_PASSWORD": "p"}, "incomplete credentials (part of a personal access token"),
    ({"TABLEAU_USERNAME": "u", "TABLEAU_TOKEN_SECRET": "s"}, "incomplete credentials (part of a personal access token"),
    ({"TABLEAU_TOKEN_NAME": "n", "TABLEAU_TOKEN_SECRET": "s", "TABLEAU_USERNAME": "u", "TABLEAU_PASSWORD": "p"},
     "not both"),
])
def test_tableau_half_of_each_form_is_incomplete_not_both(env, expected):
    _, found = _found({"TABLEAU_URL": "https://t.example.com", **env})
    [error] = _errors(found)
    assert expected in str(error), str(error)


def test_a_model_level_rule_in_toml_is_located_at_the_table(tmp_path):
    _, found = _found({}, '[[targets]]\nplatform = "tableau"\nurl = "https://t.example.com"\n'
                          'personalAccessTokenName = "n"\npassword = "p"\n', tmp_path)
    [error] = _errors(found)
    assert error.where == "config.toml:[[targets]]#1" and ".?" not in str(error), str(error)


# -- F7.7: input that was accepted silently --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["scan", "discover"])
def test_a_bad_no_proxy_cidr_is_one_line(run_cli, tmp_path, command):
    (tmp_path / "config.toml").write_text("[network]\nproxy = 'http://127.0.0.1:9'\nno_proxy = ['10.0.0.0/99']\n")
    line = _one_line_exit_2(run_cli(command, env={}))
    assert "config.toml:[network].no_proxy" in line and "'10.0.0.0/99' is not a CIDR range" in line, line


def test_no_proxy_ranges_in_every_spelling_are_accepted_and_used(tmp_path):
    (tmp_path / "config.toml").write_text(
        "[network]\nproxy = 'http://127.0.0.1:9'\nno_proxy = '10.0.0.0/8, [fd00::]/8, ::1, [::2]'\n")
    try:
        load_settings(config=str(tmp_path / "config.toml"), environ={})
        assert network.proxy_for("http://10.1.2.3/") is None and network.proxy_for("http://[fd00::1]/") is None
        assert network.proxy_for("http://[::1]/") is None and network.proxy_for("http://[::2]/") is None
        assert network.proxy_for("http://11.0.0.1/") == "http://127.0.0.1:9"
    finally:
        network.reset()


@pytest.mark.parametrize("value", ["''", "','"])
def test_an_empty_platform_flag_is_a_usage_error(run_cli, value):
    line = _one_line_exit_2(run_cli("scan", "--dry-run", "--no-inventory", "--platform", value.strip("'"), env={}))
    assert line.startswith("scanner: error: --platform: ") and "empty platform name" in line, line


def test_an_empty_platform_name_in_toml_is_an_error(tmp_path):
    (tmp_path / "config.toml").write_text("[scan]\nplatforms = ['superset', '']\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config=str(tmp_path / "config.toml"), environ={})
    assert "config.toml:[scan].platforms" in str(info.value) and "empty platform name" in str(info.value)


def test_a_quoted_boolean_in_toml_is_refused(run_cli, tmp_path):
    (tmp_path / "config.toml").write_text("[scan]\ndry_run = 'yes'\n")
    line = _one_line_exit_2(run_cli("scan", "--no-inventory", env={}))
    assert "config.toml:[scan].dry_run" in line and "TOML boolean" in line, line


def test_booleans_from_variables_still_work(tmp_path):
    (tmp_path / "config.toml").write_text("[scan]\ndry_run = true\nenv_discovery = '${DISCOVER_QA}'\n"
                                          "[catalog]\nverify_ssl = false\n")
    settings = load_settings(config=str(tmp_path / "config.toml"),
                             environ={"DISCOVER_QA": "false", "OPENMETADATA_VERIFY_SSL": "true"})
    assert settings.scan.dry_run is True and settings.scan.env_discovery is False
    assert settings.catalog.verify_ssl is True and settings.sources["catalog.verify_ssl"] == "env:OPENMETADATA_VERIFY_SSL"
    _, found = _found({"SUPERSET_URL": "https://bi.example.com", "SUPERSET_USERNAME": "a", "SUPERSET_PASSWORD": "p",
                       "SUPERSET_VERIFY_SSL": "0"})
    assert [t.settings.verify_ssl for t in found] == [False]


def test_a_quoted_boolean_in_a_toml_target_fails_that_target(tmp_path):
    _, found = _found({}, '[[targets]]\nplatform = "custom"\nurl = "https://c.example.com"\nverify_ssl = "false"\n',
                      tmp_path)
    [error] = _errors(found)
    assert error.where == "config.toml:[[targets]]#1.verify_ssl" and "TOML boolean" in str(error), str(error)


def test_an_adopt_name_that_matches_no_target_is_a_warning(run_cli, tmp_path):
    (tmp_path / "config.toml").write_text('[[targets]]\nplatform = "custom"\ninstance = "good"\n'
                                          'url = "http://127.0.0.1:9"\n')
    result = run_cli("scan", "--dry-run", "--no-inventory", "--adopt", "custom_goood", "--adopt", "custom_good",
                     env={})
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "--adopt: 'custom_goood' is not the service name of any target" in warnings[0] \
        and "did you mean 'custom_good'?" in warnings[0], result.stderr


# -- docs 5: what to set offers each credential form on its own --------------------------------------------------


def test_what_to_set_offers_alternative_forms_not_a_mix():
    hint = what_to_set(PLUGINS["metabase"], "http://127.0.0.1:3000")
    assert hint.startswith("set METABASE_API_KEY, or METABASE_USERNAME + METABASE_PASSWORD (for every Metabase "
                           "found)"), hint
    assert 'apiKey = "${METABASE_API_KEY}" (or instead: username = "${METABASE_USERNAME}"; password = ' \
           '"${METABASE_PASSWORD}")' in hint
    tableau = what_to_set(PLUGINS["tableau"], "http://127.0.0.1:3000")
    assert "set TABLEAU_TOKEN_NAME + TABLEAU_TOKEN_SECRET, or TABLEAU_USERNAME + TABLEAU_PASSWORD" in tableau
    superset = what_to_set(PLUGINS["superset"], "http://127.0.0.1:3000")
    assert superset.startswith("set SUPERSET_USERNAME, SUPERSET_PASSWORD (for every Apache Superset found)")


# -- docs 12: Lightdash names the TOML keys of a TOML target ------------------------------------------------------


def test_lightdash_hint_names_the_toml_keys_of_a_toml_target():
    from scanner.testing.fake_lightdash import FakeLightdash, FakeProject, FakeSpace, FakeUser

    key = "ld-pat-admin-qa-7c41e9"
    where = "config.toml:[[targets]]#1"
    with FakeLightdash(projects=[FakeProject("Analytics", [FakeSpace("Sales", dashboards=1, charts=1)])],
                       users={"admin": FakeUser(key)}) as fake:
        plugin = PLUGINS["lightdash"]
        settings = plugin.settings_model(url=fake.url, apiKey=key, projectUUID="0b0b0b0b-1111-4222-8333-444455556666")
        target = Target(platform="lightdash", instance="t", service_name="lightdash_t", settings=settings,
                        sources={"url": where, "apiKey": where, "projectUUID": where}, origin=where)
        result = run_probe(plugin, target, deadline_s=20)
    assert result.status is Status.FORBIDDEN
    assert f"projectUUID in {where}" in result.hint and f"apiKey in {where}" in result.hint, result.hint
    assert "LIGHTDASH_" not in result.hint, result.hint


# -- docs 2: a platform variable kept for a TOML ${VAR}, or for [discovery], is no warning ----------------------------


def test_a_variable_the_toml_references_is_no_warning(tmp_path, caplog):
    toml = ('[[targets]]\nplatform = "grafana"\nurl = "http://127.0.0.1:9"\n'
            'apiKey = "${GRAFANA_SERVICE_ACCOUNT_TOKEN}"\n')
    with caplog.at_level(logging.INFO, logger="scanner.targets"):
        _found({"GRAFANA_SERVICE_ACCOUNT_TOKEN": "glsa_qa", "REDASH_API_KEY": "k-qa"}, toml, tmp_path)
    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [m for _, m in said if "GRAFANA" in m] == [], said
    assert [level for level, m in said if m.startswith("REDASH_API_KEY is set but REDASH_URL is not")] == ["WARNING"]


def test_with_discovery_a_lone_credential_is_info_saying_what_it_is_for(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="scanner.targets"):
        _found({"REDASH_API_KEY": "k-qa"}, '[discovery]\nhosts = ["127.0.0.1"]\nports = [9]\n', tmp_path)
    said = [(r.levelname, r.getMessage()) for r in caplog.records if "REDASH_API_KEY" in r.getMessage()]
    assert said == [("INFO", "REDASH_API_KEY is set without REDASH_URL: used as a credential for the redash "
                              "instances [discovery] finds")], said
