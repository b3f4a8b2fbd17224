"""The probe runner: gates, mandatory vs optional steps, classification, secrets scrubbed."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import SecretStr

from scanner import secrets
from scanner.openmetadata.models import ConnectionConfig
from scanner.plugin import (
    Plugin,
    ProbeResult,
    Status,
    Step,
    StepFailed,
    StepStatus,
    Target,
    TargetSettings,
    reach_step,
)
from scanner.probe import run_probe


class DemoSettings(TargetSettings):
    password: SecretStr | None = None


class DemoPlugin(Plugin):
    name = "demo"
    title = "Demo"
    service_type = "CustomDashboard"
    settings_model = DemoSettings

    def __init__(self, steps: list[Step]):
        self._steps = steps
        self.finished = False

    def steps(self, target: Target) -> Sequence[Step]:
        return self._steps

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        return ConnectionConfig.build("CustomDashboard")

    def finish(self, ctx) -> None:
        self.finished = True


def target(url: str, password: str = "pw-never-shown-1") -> Target:
    settings = DemoSettings(url=url, password=SecretStr(password))
    secrets.register(settings.password)
    return Target("demo", "x", "demo_x", settings, {}, "test")


def fail(status: Status, message: str, hint: str = ""):
    def run(ctx):
        raise StepFailed(status, message, hint)
    return run


def test_gate_failure_skips_the_rest_and_decides_status(web):
    plugin = DemoPlugin([
        reach_step(),
        Step("Fingerprint", fail(Status.NOT_DETECTED, "no /health"), gate=True),
        Step("CheckAccess", lambda ctx: "fine"),
    ])
    result = run_probe(plugin, target(web.url))
    assert result.status is Status.NOT_DETECTED
    assert [s.status for s in result.steps] == [StepStatus.PASSED, StepStatus.FAILED, StepStatus.SKIPPED]
    assert result.steps[2].message == "skipped: Fingerprint failed"
    assert result.message == "Fingerprint: no /health"
    assert plugin.finished


def test_optional_failure_is_a_warning_and_mandatory_non_gate_continues(web):
    def warns(ctx):
        ctx.warn("0 dashboards visible")
        return "counted"

    plugin = DemoPlugin([
        reach_step(),
        Step("GetViews", fail(Status.FORBIDDEN, "403"), mandatory=False),
        Step("GetDashboards", warns),
        Step("GetCharts", fail(Status.FORBIDDEN, "charts 403", "grant can_read on Chart")),
        Step("Last", lambda ctx: None),
    ])
    result = run_probe(plugin, target(web.url))
    assert result.status is Status.FORBIDDEN
    assert result.hint == "grant can_read on Chart"
    assert [s.status.value for s in result.steps] == ["passed", "failed", "passed", "failed", "passed"]
    assert result.steps[2].warning and result.warnings == ["0 dashboards visible"]


def test_unreachable_and_plugin_bug_and_secret_scrubbing(closed_port, web):
    result = run_probe(DemoPlugin([reach_step()]), target(f"http://127.0.0.1:{closed_port}"))
    assert result.status is Status.UNREACHABLE and "connection refused" in result.message
    assert result.steps[0].hint

    def leaky(ctx):
        raise RuntimeError(f"login with {ctx.target.settings.password.get_secret_value()} failed")

    result = run_probe(DemoPlugin([reach_step(), Step("CheckAccess", leaky)]), target(web.url))
    assert result.status is Status.ERROR
    assert "pw-never-shown-1" not in result.message and "*********" in result.message
    assert "RuntimeError" in result.message


def test_deadline_stops_later_steps(web):
    import time

    plugin = DemoPlugin([reach_step(), Step("Slow", lambda ctx: time.sleep(0.6) or "slept"),
                         Step("After", lambda ctx: "never")])
    result = run_probe(plugin, target(web.url), deadline_s=0.5)
    assert result.status is Status.ERROR
    assert "deadline of 0.5s" in result.steps[2].message
