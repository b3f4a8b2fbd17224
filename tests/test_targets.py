"""Targets from env variables (with __INSTANCE suffixes) and the TOML; names; plugin registry."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import EntryPoint

import pytest
from pydantic import SecretStr

from scanner import secrets
from scanner.errors import ConfigError
from scanner.naming import check_service_name, instance_from_url, service_name
from scanner.openmetadata.models import ConnectionConfig
from scanner.plugin import EnvVar, Plugin, ProbeResult, Step, Target, TargetSettings
from scanner.registry import PluginEntry, _load, discover
from scanner.settings import load_settings
from scanner.targets import collect_targets


class EnvSettings(TargetSettings):
    username: str | None = None
    password: SecretStr | None = None


class EnvPlugin(Plugin):
    name = "envy"
    title = "Envy BI"
    service_type = "Metabase"
    settings_model = EnvSettings
    env_vars = (
        EnvVar("ENVY_URL", "url"),
        EnvVar("ENVY_USERNAME", "username"),
        EnvVar("ENVY_PASSWORD", "password", secret=True),
        EnvVar("ENVY_VERIFY_SSL", "verify_ssl"),
    )

    def steps(self, target: Target) -> Sequence[Step]:
        return []

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        return ConnectionConfig.build("CustomDashboard")


ENTRIES = [PluginEntry("envy", "test", EnvPlugin()), *discover()]


def targets(env: dict[str, str], toml: str = "", tmp_path=None):
    config = None
    if toml:
        config = tmp_path / "config.toml"
        config.write_text(toml)
    settings = load_settings(config=str(config) if config else None, environ=env)
    return collect_targets(settings, ENTRIES)


def test_env_instances_with_suffixes():
    found = targets({
        "ENVY_URL": "https://bi.example.com/", "ENVY_USERNAME": "admin", "ENVY_PASSWORD": "pw-main-123",
        "ENVY_URL__FINANCE": "http://127.0.0.1:8088", "ENVY_PASSWORD__FINANCE": "pw-fin-456",
        "ENVY_VERIFY_SSL__FINANCE": "false",
    })
    by_name = {t.service_name: t for t in found}
    assert sorted(by_name) == ["envy_bi_example_com", "envy_finance"]
    main, fin = by_name["envy_bi_example_com"], by_name["envy_finance"]
    assert main.url == "https://bi.example.com" and main.settings.username == "admin"
    assert fin.settings.verify_ssl is False and fin.settings.username is None
    assert fin.sources == {"url": "env:ENVY_URL__FINANCE", "password": "env:ENVY_PASSWORD__FINANCE",
                           "verify_ssl": "env:ENVY_VERIFY_SSL__FINANCE"}
    assert "pw-fin-456" not in repr(fin)
    assert secrets.redact("x pw-fin-456 y") == "x ********* y"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ENVY_PASSWORD__HR": "pw-hr-1234"}, "env:ENVY_PASSWORD__HR: ENVY_PASSWORD__HR is set but ENVY_URL__HR is not"),
        ({"ENVY_URL__fin-ance": "http://127.0.0.1:1"}, "bad instance suffix 'fin-ance'"),
        ({"ENVY_URL__": "http://127.0.0.1:1"}, "bad instance suffix ''"),
        ({"ENVY_URL": "http://127.0.0.1:1", "ENVY_VERIFY_SSL": "maybe"},
         "env:ENVY_VERIFY_SSL: verify_ssl: Input should be a valid boolean"),
        ({"ENVY_URL": "127.0.0.1:8088"}, "env:ENVY_URL: url: URL '127.0.0.1:8088' has no scheme"),
        ({"ENVY_URL": "http://127.0.0.1:1", "ENVY_PASSWORD": ""}, "ENVY_PASSWORD is set but empty"),
    ],
)
def test_bad_env_is_a_config_error(env, expected):
    with pytest.raises(ConfigError) as info:
        targets(env)
    assert expected in str(info.value)


def test_toml_target_wins_over_same_env_target(tmp_path):
    toml = '[[targets]]\nplatform = "envy"\ninstance = "main"\nurl = "${ENVY_URL}"\npassword = "${ENVY_PASSWORD}"\n'
    found = targets({"ENVY_URL": "http://127.0.0.1:5", "ENVY_PASSWORD": "pw-xyz-789"}, toml, tmp_path)
    assert [(t.service_name, t.origin) for t in found] == [("envy_main", "config.toml:[[targets]]#1")]


def test_platform_selection(tmp_path):
    env = {"ENVY_URL": "http://127.0.0.1:5"}
    toml = '[[targets]]\nplatform = "custom"\nurl = "http://127.0.0.1:6"\n'
    settings = load_settings(config=str(_write(tmp_path, toml)), environ={**env, "SCANNER_PLATFORMS": "custom"})
    assert [t.platform for t in collect_targets(settings, ENTRIES)] == ["custom"]


def _write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("url", "instance"),
    [("https://Superset.Example.com/", "superset_example_com"), ("http://127.0.0.1:8088/bi", "127_0_0_1_8088_bi")],
)
def test_instance_names(url, instance):
    assert instance_from_url(url) == instance


def test_service_name_rules():
    assert service_name("superset", "Finance-EU") == "superset_finance_eu"
    assert len(service_name("superset", "x" * 400)) == 256
    assert check_service_name("superset_ok") is None
    assert "may only use" in check_service_name("my.superset")
    assert "may only use" in check_service_name("a::b")


def test_broken_plugin_is_listed_disabled_with_hint():
    entry = _load(EntryPoint(name="broken", value="scanner_no_such_module:plugin", group="scanner.plugins"))
    assert not entry.enabled
    assert "No module named 'scanner_no_such_module'" in entry.error
    assert entry.hint == "pip install scanner_no_such_module"
    wrong = _load(EntryPoint(name="wrong", value="scanner.errors:ExitCode", group="scanner.plugins"))
    assert not wrong.enabled and "not a scanner.plugin.Plugin" in wrong.error
    renamed = _load(EntryPoint(name="other", value="scanner_custom:plugin", group="scanner.plugins"))
    assert not renamed.enabled and "must match its entry point" in renamed.error


def test_disabled_plugin_in_toml_is_a_config_error(tmp_path):
    broken = _load(EntryPoint(name="broken", value="scanner_no_such_module:plugin", group="scanner.plugins"))
    settings = load_settings(config=str(_write(tmp_path, '[[targets]]\nplatform = "broken"\nurl = "http://127.0.0.1:1"\n')),
                             environ={})
    with pytest.raises(ConfigError, match="plugin 'broken' is disabled: import failed"):
        collect_targets(settings, [broken, *ENTRIES])


def test_a_cloud_platform_is_anchored_by_its_tenant_and_named_after_it(tmp_path):
    """A platform whose URL is a vendor host with a default (Power BI's API) is declared by another variable
    (``anchor=True``), and named by `Plugin.instance_name` rather than by the shared host."""
    from pydantic import SecretStr  # noqa: F401 - the settings model below resolves it

    from scanner.plugin import EnvVar, Plugin, TargetSettings
    from scanner.registry import PluginEntry
    from scanner.settings import load_settings
    from scanner.targets import collect

    class CloudSettings(TargetSettings):
        url: str = "https://api.cloud.example.com"
        tenantId: str  # noqa: N815
        secret: SecretStr

    class Cloud(Plugin):
        name, title, service_type, settings_model = "cloud", "Cloud", "CustomDashboard", CloudSettings
        env_vars = (EnvVar("CLOUD_TENANT", "tenantId", anchor=True), EnvVar("CLOUD_SECRET", "secret", secret=True),
                    EnvVar("CLOUD_API_URL", "url"))

        def steps(self, target):
            return []

        def connection_config(self, target, result):
            raise NotImplementedError

        def instance_name(self, settings):
            return settings.tenantId

    entry = PluginEntry(name="cloud", plugin=Cloud(), source="test", error=None)
    env = {"CLOUD_TENANT": "Contoso-EU", "CLOUD_SECRET": "s1", "CLOUD_TENANT__TEST": "fabrikam",
           "CLOUD_SECRET__TEST": "s2", "CLOUD_API_URL__TEST": "http://127.0.0.1:9", "CLOUD_SECRET__ORPHAN": "s3"}
    found = collect(load_settings(environ=env, config=None), [entry])
    by = {t.service_name: t for t in found}
    assert sorted(by) == ["cloud_contoso_eu", "cloud_orphan", "cloud_test"]
    assert by["cloud_contoso_eu"].url == "https://api.cloud.example.com" and by["cloud_contoso_eu"].origin == "env:CLOUD_TENANT"
    assert by["cloud_test"].url == "http://127.0.0.1:9" and by["cloud_test"].settings.tenantId == "fabrikam"
    orphan = by["cloud_orphan"]
    assert "CLOUD_TENANT__ORPHAN is not" in str(orphan.error) and "CLOUD_TENANT" in orphan.error.hint
