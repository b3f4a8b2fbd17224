"""What the platform plugin tests share: run `scanner scan --output json` and read its targets, and the config a
catalog PUT carried (checked against OpenMetadata's request schema)."""

from __future__ import annotations

import json

from schemas import validate


def scan(run_cli, env, *args):
    """`scanner scan --output json ARGS` with `env`: the run, and its report's targets by instance."""
    result = run_cli("scan", "--output", "json", *args, env=env)
    return result, {t["instance"]: t for t in json.loads(result.stdout)["targets"]} if result.stdout else {}


def put_config(catalog, service_name: str) -> dict:
    """The connection config of the one PUT that registered `service_name` (its body validated)."""
    [put] = [c for c in catalog.calls("PUT") if isinstance(c.json, dict) and c.json.get("name") == service_name]
    validate(put.json)
    return put.json["connection"]["config"]
