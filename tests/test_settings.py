"""Settings: precedence with sources, ${VAR} expansion, and one-line errors for bad input."""

from __future__ import annotations

import pytest

from scanner.errors import ConfigError, ExitCode
from scanner.settings import describe, load_settings


def load(tmp_path, toml: str | None = None, env: dict | None = None, dotenv: str | None = None, flags=None):
    config = None
    if toml is not None:
        config = tmp_path / "config.toml"
        config.write_text(toml)
    env_file = None
    if dotenv is not None:
        env_file = tmp_path / "my.env"
        env_file.write_text(dotenv)
    return load_settings(config=str(config) if config else None, env_file=str(env_file) if env_file else None,
                         flags=flags or {}, environ=env or {})


def test_precedence_defaults_toml_dotenv_env_flags(tmp_path):
    toml = "[scan]\nconcurrency = 3\ntimeout = 4\ntarget_deadline = 50\nconnect_timeout = 2\n"
    settings = load(tmp_path, toml, env={"SCANNER_TIMEOUT": "6", "SCANNER_TARGET_DEADLINE": "70"},
                    dotenv="SCANNER_TIMEOUT=5\nSCANNER_CONCURRENCY=9\n", flags={"scan.target_deadline": 80})
    assert settings.scan.concurrency == 9 and settings.sources["scan.concurrency"] == "my.env:SCANNER_CONCURRENCY"
    assert settings.scan.timeout == 6 and settings.sources["scan.timeout"] == "env:SCANNER_TIMEOUT"
    assert settings.scan.target_deadline == 80 and settings.sources["scan.target_deadline"] == "flag:--target-deadline"
    assert settings.scan.connect_timeout == 2 and settings.sources["scan.connect_timeout"] == "config.toml:[scan].connect_timeout"
    rows = {k: (v, s) for k, v, s in describe(settings)}
    assert rows["scan.env_discovery"] == ("True", "default")


def test_catalog_host_with_or_without_api_and_token_masked(tmp_path):
    for host in ("https://om.example.com/api", "https://om.example.com/api/", "https://om.example.com"):
        settings = load(tmp_path, env={"OPENMETADATA_HOST": host, "OPENMETADATA_JWT_TOKEN": "jwt-secret-1"})
        assert settings.catalog.host == "https://om.example.com"
    rows = {k: (v, s) for k, v, s in describe(settings)}
    assert rows["catalog.jwt_token"] == ("*********", "env:OPENMETADATA_JWT_TOKEN")
    assert "jwt-secret-1" not in repr(settings)


def test_var_expansion_from_dotenv_and_env(tmp_path):
    toml = '[catalog]\nhost = "${OM_HOST}"\njwt_token = "${OM_TOKEN}"\n[service]\ndescription = "costs $$5"\n'
    settings = load(tmp_path, toml, env={"OM_TOKEN": "tok-123456"}, dotenv="OM_HOST=http://127.0.0.1:8585\n")
    assert settings.catalog.host == "http://127.0.0.1:8585"
    assert settings.catalog.jwt_token.get_secret_value() == "tok-123456"
    assert settings.service.description == "costs $5"


@pytest.mark.parametrize(
    ("toml", "env", "expected"),
    [
        ('[catalog]\nhost = "${OM_HOST}"\n', {}, "config.toml:catalog.host: ${OM_HOST} is not set"),
        ("[scan]\nconcurency = 4\n", {}, "unknown key 'concurency' (did you mean 'concurrency'?)"),
        ("[scann]\n", {}, "config.toml: unknown section or key 'scann' (did you mean 'scan'?)"),
        ("[scan]\nconcurrency = 'many'\n", {}, "config.toml:[scan].concurrency: concurrency: Input should be a valid integer"),
        ("[scan]\nconcurrency = 0\n", {}, "greater than or equal to 1"),
        ("[scan\n", {}, "config.toml: invalid TOML"),
        ('[catalog]\nhost = "om.example.com"\n', {}, "has no scheme (did you mean 'https://om.example.com'?)"),
        ("", {"OPENMETADATA_HOST": "http://127.0.0.1:1"}, "a catalog host is set but no token"),
        ("", {"OPENMETADATA_VERIFY_SSL": "perhaps"}, "env:OPENMETADATA_VERIFY_SSL: verify_ssl: Input should be a valid boolean"),
        ("", {"SCANNER_CONCURRENCY": "-3"}, "env:SCANNER_CONCURRENCY"),
        ('[service]\nowners = ["alice"]\n', {}, "owner 'alice' must be 'user:<name>' or 'team:<name>'"),
        ("targets = 3\n", {}, "'targets' must be an array of tables"),
        ('[catalog]\nca_bundle = "/nonexistent/ca.pem"\n', {}, "is not a readable file"),
        ('[catalog]\nhost = "https://u:p@om.example.com"\n', {}, "must not contain credentials"),
    ],
)
def test_bad_settings_give_one_line_naming_where(tmp_path, toml, env, expected):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, toml, env=env)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert info.value.exit_code == ExitCode.USAGE


def test_missing_explicit_files_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="--config: file .* not found"):
        load_settings(config=str(tmp_path / "nope.toml"), environ={})
    with pytest.raises(ConfigError, match="--env-file: file .* not found"):
        load_settings(env_file=str(tmp_path / "nope.env"), environ={})


def test_example_config_is_valid(tmp_path):
    from conftest import REPO

    settings = load_settings(config=str(REPO / "config.example.toml"), environ={})
    assert settings.scan.concurrency == 32
    assert [t.values["platform"] for t in settings.targets] == ["custom"]


def test_example_config_commented_targets_are_valid_when_uncommented(tmp_path):
    import re

    from conftest import REPO

    from scanner import registry
    from scanner.targets import collect_targets

    text = (REPO / "config.example.toml").read_text()
    examples = text.split("# More examples", 1)[1].split("\n", 1)[1]
    uncommented = re.sub(r"^# ?(?!#)", "", examples, flags=re.MULTILINE)
    (tmp_path / "c.toml").write_text(uncommented)
    env = {"SUPERSET_FINANCE_PASSWORD": "a", "LOOKER_ACME_CLIENT_ID": "b", "LOOKER_ACME_CLIENT_SECRET": "c",
           "TABLEAU_SALES_TOKEN_SECRET": "d", "METABASE_OPS_API_KEY": "e", "REDASH_MAIN_API_KEY": "f",
           "LIGHTDASH_CLOUD_API_KEY": "g", "GRAFANA_OPS_TOKEN": "h", "POWERBI_CONTOSO_CLIENT_ID": "i",
           "POWERBI_CONTOSO_CLIENT_SECRET": "j", "MODE_ACME_API_TOKEN": "k", "MODE_ACME_API_SECRET": "l",
           "DOMO_ACME_CLIENT_ID": "m", "DOMO_ACME_CLIENT_SECRET": "n", "QLIKCLOUD_ACME_API_KEY": "o"}
    settings = load_settings(config=str(tmp_path / "c.toml"), environ=env)
    targets = collect_targets(settings, registry.discover())
    assert [t.service_name for t in targets] == ["superset_finance", "looker_acme_cloud_looker_com", "tableau_sales",
                                                 "metabase_ops", "redash_redash_example_com", "lightdash_cloud",
                                                 "grafana_ops", "powerbi_contoso", "mode_acme", "domo_acme",
                                                 "qlikcloud_acme_eu"]
