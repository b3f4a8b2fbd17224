"""``scanner demo``: the whole flow in one command, against local stand-ins on 127.0.0.1.

Starts stand-ins of OpenMetadata, Looker, Tableau, Superset, Metabase, Redash, Lightdash and Grafana (the fakes
in `scanner.testing`,
built from the platforms' HTTP contracts), writes the environment a user would set for them, and
runs the real ``scanner scan`` in a child process with only that environment, in an empty
directory (so no ``config.toml`` or ``.env`` of yours is read). Then it lists what the stand-in
catalog now holds and stops everything. Nothing leaves this machine.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import TextIO

from scanner.secrets import MASK

DEMO_SUFFIX = "DEMO"  # env names get __DEMO: stable service names (looker_demo...) whatever the ports


def _environment(stand_ins: dict, creds: dict[str, str], with_failures: bool) -> dict[str, str]:
    s = f"__{DEMO_SUFFIX}"
    env = {
        "OPENMETADATA_HOST": stand_ins["catalog"].url,
        "OPENMETADATA_JWT_TOKEN": creds["catalog_token"],
        f"LOOKERSDK_BASE_URL{s}": stand_ins["looker"].url,
        f"LOOKERSDK_CLIENT_ID{s}": "demo-client-id",
        f"LOOKERSDK_CLIENT_SECRET{s}": creds["looker_secret"],
        f"TABLEAU_URL{s}": stand_ins["tableau"].url,
        f"TABLEAU_SITE{s}": "Sales",
        f"TABLEAU_TOKEN_NAME{s}": "scanner-demo",
        f"TABLEAU_TOKEN_SECRET{s}": creds["tableau_secret"],
        f"SUPERSET_URL{s}": stand_ins["superset"].url,
        f"SUPERSET_USERNAME{s}": "demo",
        f"SUPERSET_PASSWORD{s}": creds["superset_password"],
        f"METABASE_URL{s}": stand_ins["metabase"].url,
        f"METABASE_API_KEY{s}": creds["metabase_key"],
        f"REDASH_URL{s}": stand_ins["redash"].url,
        f"REDASH_API_KEY{s}": creds["redash_key"],
        f"LIGHTDASH_URL{s}": stand_ins["lightdash"].url,
        f"LIGHTDASH_API_KEY{s}": creds["lightdash_key"],
        f"GRAFANA_URL{s}": stand_ins["grafana"].url,
        f"GRAFANA_SERVICE_ACCOUNT_TOKEN{s}": creds["grafana_token"],
    }
    if with_failures:
        env.update({
            "LOOKERSDK_BASE_URL__WRONG_SECRET": stand_ins["looker"].url,
            "LOOKERSDK_CLIENT_ID__WRONG_SECRET": "demo-client-id",
            "LOOKERSDK_CLIENT_SECRET__WRONG_SECRET": "not-the-secret",
            "SUPERSET_URL__NOT_SUPERSET": stand_ins["tableau"].url,
            "SUPERSET_USERNAME__NOT_SUPERSET": "demo",
            "SUPERSET_PASSWORD__NOT_SUPERSET": creds["superset_password"],
            "REDASH_URL__NOT_REDASH": stand_ins["metabase"].url,
            "REDASH_API_KEY__NOT_REDASH": creds["redash_key"],
        })
    return env


def _start_stand_ins(stack: contextlib.ExitStack, creds: dict[str, str]) -> dict:
    from scanner.testing.fake_grafana import FakeGrafana, ServiceAccount
    from scanner.testing.fake_lightdash import FakeLightdash, FakeProject, FakeSpace
    from scanner.testing.fake_lightdash import FakeUser as LightdashUser
    from scanner.testing.fake_looker import FakeLooker, LookerApiUser
    from scanner.testing.fake_metabase import FakeMetabase, MetabaseAccount
    from scanner.testing.fake_openmetadata import FakeOpenMetadata
    from scanner.testing.fake_redash import FakeRedash, RedashUser
    from scanner.testing.fake_superset import FakeSuperset, FakeUser
    from scanner.testing.fake_tableau import FakeTableau, TableauSite

    return {
        "catalog": stack.enter_context(FakeOpenMetadata(bot_token=creds["catalog_token"])),
        "looker": stack.enter_context(FakeLooker(
            clients={"demo-client-id": LookerApiUser(creds["looker_secret"], dashboards=12, lookml_models=3)})),
        "tableau": stack.enter_context(FakeTableau(
            sites={"": TableauSite(""), "Sales": TableauSite("Sales", workbooks=8, views=31)},
            users={}, tokens={"scanner-demo": creds["tableau_secret"]})),
        "superset": stack.enter_context(FakeSuperset(
            users={"demo": FakeUser(creds["superset_password"], dashboards=5, charts=17)})),
        "metabase": stack.enter_context(FakeMetabase(
            accounts=[MetabaseAccount("demo@example.com", api_key=creds["metabase_key"])], dashboards=6)),
        "redash": stack.enter_context(FakeRedash(
            users=[RedashUser(creds["redash_key"], "demo@example.com", dashboards=4, queries=9)])),
        "lightdash": stack.enter_context(FakeLightdash(
            projects=[FakeProject("Jaffle shop", spaces=[FakeSpace("Marketing", dashboards=3),
                                                         FakeSpace("Finance", dashboards=2)])],
            users={"demo": LightdashUser(creds["lightdash_key"])})),
        "grafana": stack.enter_context(FakeGrafana(
            tokens={creds["grafana_token"]: ServiceAccount("demo", "Viewer")}, dashboards=7)),
    }


def run_demo(scan_args: Sequence[str], with_failures: bool, out: TextIO = sys.stdout) -> int:
    creds = {key: secrets.token_urlsafe(18) for key in
             ("catalog_token", "looker_secret", "tableau_secret", "superset_password", "metabase_key", "redash_key",
              "lightdash_key")}
    creds["grafana_token"] = "glsa_" + secrets.token_urlsafe(24)
    with contextlib.ExitStack() as stack:
        stand_ins = _start_stand_ins(stack, creds)
        env = _environment(stand_ins, creds, with_failures)
        hidden = set(creds.values())
        out.write("scanner demo: stand-ins running on 127.0.0.1 (nothing leaves this machine)\n")
        for label, key in (("OpenMetadata", "catalog"), ("Looker", "looker"), ("Tableau", "tableau"),
                           ("Superset", "superset"), ("Metabase", "metabase"), ("Redash", "redash"),
                           ("Lightdash", "lightdash"), ("Grafana", "grafana")):
            out.write(f"  {label + ' stand-in':<22} {stand_ins[key].url}\n")
        out.write("\nThe environment you would set (secrets masked):\n")
        for name, value in env.items():
            out.write(f"  {name}={MASK if value in hidden else value}\n")
        command = ["scanner", "scan", *scan_args]
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        code = _run_scan(env, scan_args)
        services = stand_ins["catalog"].services
        out.write(f"\nThe stand-in catalog now holds {len(services)} dashboard service(s):\n")
        width = max((len(name) for name in services), default=0)
        for name, entity in sorted(services.items()):
            config = entity.get("connection", {}).get("config", {})
            out.write(f"  {name:<{width}}  {entity.get('serviceType', '?'):<10} {config.get('hostPort', '')}\n")
        out.write(f"\n`scanner scan` exited {code}. Stand-ins stopped. Try it on your own instances: "
                  "set the variables above to real values and run `scanner scan --dry-run`.\n")
    return code


def _run_scan(env: dict[str, str], scan_args: Sequence[str]) -> int:
    base = {k: v for k, v in os.environ.items()
            if k in ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "NO_COLOR", "COLUMNS", "SYSTEMROOT", "TMPDIR")}
    with tempfile.TemporaryDirectory(prefix="scanner-demo-") as cwd:
        # the demo's inventory lives and dies with the demo: yours is never touched
        env = {**base, **env, "SCANNER_INVENTORY": os.path.join(cwd, "inventory.sqlite3")}
        proc = subprocess.run([sys.executable, "-m", "scanner", "scan", *scan_args], env=env, cwd=cwd, check=False)
    return proc.returncode
