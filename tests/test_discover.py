"""`scanner discover` (issue 15): candidates from the configured sources, identified without any credential, with
the credential that would apply named (or what to set). Only loopback: the Kubernetes stand-in's Services carry
127.0.0.1 addresses, so every candidate it yields is on this machine."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from scanner.demo import STAND_INS
from scanner.testing.fake_kubernetes import FakeKubernetes, namespace, service, service_port


def test_discover_names_each_instance_and_its_credential_and_sends_none(run_cli, tmp_path: Path):
    with contextlib.ExitStack() as stack:
        superset = stack.enter_context(STAND_INS["superset"].start("disc-secret-1", tmp_path))
        grafana = stack.enter_context(STAND_INS["grafana"].start("glsa_disc_token", tmp_path))
        metabase = stack.enter_context(STAND_INS["metabase"].start("disc-key-1", tmp_path))
        cluster = stack.enter_context(FakeKubernetes())
        cluster.add(
            namespace("analytics"), namespace("ops"),
            service("superset", "analytics", [service_port(superset._server.port, "http")], cluster_ip="127.0.0.1",
                    labels={"app.kubernetes.io/name": "superset"}),
            service("grafana", "ops", [service_port(grafana._server.port, "http")], cluster_ip="127.0.0.1"),
            service("metabase", "analytics", [service_port(metabase._server.port, "http")], cluster_ip="127.0.0.1"),
        )
        kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig")
        (tmp_path / "config.toml").write_text(
            f'[discovery.kubernetes]\nkubeconfig = "{kubeconfig}"\n\n'
            '[[credentials]]\nplatform = "grafana"\nhosts = ["127.0.0.0/8"]\napiKey = "${GRAFANA_TOKEN}"\n')
        env = {"GRAFANA_TOKEN": "glsa_disc_token", "SUPERSET_USERNAME": "demo", "SUPERSET_PASSWORD": "disc-secret-1"}
        result = run_cli("discover", "--output", "json", env=env)
        sent = {"superset": list(superset.login_attempts), "grafana": grafana.credentialed,
                "metabase": metabase.credentialed}
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    by = {c["platform"]: c for c in doc["candidates"] if c["platform"]}
    assert sorted(by) == ["grafana", "metabase", "superset"], doc
    assert by["superset"]["credential"] == "env:SUPERSET_USERNAME" and by["superset"]["version"] == "6.1.0"
    assert by["grafana"]["credential"].endswith("config.toml:[[credentials]]#1")
    assert by["metabase"]["credential"] is None and "METABASE_API_KEY" in by["metabase"]["to_register"]
    assert all(c["origin"].startswith("kubernetes:") for c in by.values())
    assert sent == {"superset": [], "grafana": [], "metabase": []}  # identification sends no credential
    assert "disc-secret-1" not in result.stdout + result.stderr and "glsa_disc_token" not in result.stdout


def test_bad_kubernetes_settings_are_one_line_and_exit_2(run_cli, tmp_path: Path):
    (tmp_path / "config.toml").write_text('[discovery.kubernetes]\nnamespace = ["a"]\n')
    result = run_cli("discover")
    assert result.code == 2, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "namespace" in line and "[discovery.kubernetes]" in line and "namespaces" in line, line
