"""CustomDashboard: any dashboard tool OpenMetadata ingests through a custom Python source.

Targets come from the TOML only::

    [[targets]]
    platform = "custom"
    name = "custom_grafana_ops"                # optional; default custom_<instance>
    url = "https://grafana.example.com"
    sourcePythonClass = "my_company.ingestion.GrafanaSource"   # optional
    connectionOptions = { org = "ops" }                         # optional, string values

The probe checks reachability only (there is no platform to fingerprint). The registered config
is ``CustomDashboardConnection`` plus ``hostPort`` (the schema allows extra keys), so the URL the
instance was found at is kept in the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence

from scanner.openmetadata.models import ConnectionConfig
from scanner.plugin import Plugin, ProbeResult, Step, Target, TargetSettings, reach_step


class CustomSettings(TargetSettings):
    sourcePythonClass: str | None = None
    connectionOptions: dict[str, str] | None = None


class CustomDashboardPlugin(Plugin):
    name = "custom"
    title = "Custom dashboard"
    service_type = "CustomDashboard"
    settings_model = CustomSettings
    env_vars = ()
    config_keys = ("hostPort", "sourcePythonClass", "connectionOptions")

    def steps(self, target: Target) -> Sequence[Step]:
        return [reach_step()]

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        settings = target.settings
        assert isinstance(settings, CustomSettings)
        return ConnectionConfig.build(
            self.service_type, sourcePythonClass=settings.sourcePythonClass,
            connectionOptions=settings.connectionOptions, hostPort=result.canonical_url or target.url,
        )


plugin = CustomDashboardPlugin()
