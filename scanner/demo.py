"""``scanner demo``: the whole flow in one command, against local stand-ins on 127.0.0.1.

Starts a stand-in of OpenMetadata and of each BI platform (the fakes in `scanner.testing`, built from the
platforms' HTTP contracts), writes the environment a user would set for them, and runs the real ``scanner scan``
in a child process with only that environment, in an empty directory (so no ``config.toml`` or ``.env`` of yours
is read). Then it lists what the stand-in catalog now holds and stops everything. Nothing leaves this machine.
``--platform NAME`` (repeatable) limits it to those platforms: one command per dashboard service type.

Each platform is one `StandIn`: how to start its fake, and the variables a user would set for it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from scanner.secrets import MASK

DEMO_SUFFIX = "DEMO"  # env names get __DEMO: stable service names (looker_demo...) whatever the ports


@dataclass(frozen=True)
class StandIn:
    title: str
    start: Callable[[str, Path], Any]         # (secret, the run's folder for TLS material) -> a fake with ``url``
    env: Callable[[Any, str, str, Path], dict]  # (fake, secret, suffix, folder) -> the variables a user would set
    secret: Callable[[], str] = lambda: secrets.token_urlsafe(18)
    toml: Callable[[Any], str] | None = None  # a [[targets]] table, for a platform declared only in the TOML


def _superset(secret: str, _: Path):
    from scanner.testing.fake_superset import FakeSuperset, FakeUser

    return FakeSuperset(users={"demo": FakeUser(secret, dashboards=5, charts=17)})


def _looker(secret: str, _: Path):
    from scanner.testing.fake_looker import FakeLooker, LookerApiUser

    return FakeLooker(clients={"demo-client-id": LookerApiUser(secret, dashboards=12, lookml_models=3)})


def _tableau(secret: str, _: Path):
    from scanner.testing.fake_tableau import FakeTableau, TableauSite

    return FakeTableau(sites={"": TableauSite(""), "Sales": TableauSite("Sales", workbooks=8, views=31)},
                       users={}, tokens={"scanner-demo": secret})


def _metabase(secret: str, _: Path):
    from scanner.testing.fake_metabase import FakeMetabase, MetabaseAccount

    return FakeMetabase(accounts=[MetabaseAccount("demo@example.com", api_key=secret)], dashboards=6)


def _redash(secret: str, _: Path):
    from scanner.testing.fake_redash import FakeRedash, RedashUser

    return FakeRedash(users=[RedashUser(secret, "demo@example.com", dashboards=4, queries=9)])


def _lightdash(secret: str, _: Path):
    from scanner.testing.fake_lightdash import FakeLightdash, FakeProject, FakeSpace, FakeUser

    return FakeLightdash(projects=[FakeProject("Jaffle shop", spaces=[FakeSpace("Marketing", dashboards=3),
                                                                      FakeSpace("Finance", dashboards=2)])],
                         users={"demo": FakeUser(secret)})


def _grafana(secret: str, _: Path):
    from scanner.testing.fake_grafana import FakeGrafana, ServiceAccount

    return FakeGrafana(tokens={secret: ServiceAccount("demo", "Viewer")}, dashboards=7)


def _custom(secret: str, _: Path):
    from scanner.testing.server import LocalServer, Response

    return LocalServer(lambda request: Response(200, b"<html><title>Ops portal</title></html>",
                                                {"Content-Type": "text/html"}), name="demo-custom")


_POWERBI_TENANT = "0b7e6d6c-5f8a-4c3e-9d21-4a6f3e2b1c0d"
_POWERBI_CLIENT = "6f1c2d3e-4b5a-4968-8776-5a4b3c2d1e0f"


def _powerbi(secret: str, folder: Path):
    from scanner.testing.fake_powerbi import FakePowerBI, ServicePrincipal
    from scanner.testing.throwaway_ca import server_context

    # MSAL, as OpenMetadata's connector uses it, insists on an https authority
    return FakePowerBI(principals={_POWERBI_CLIENT: ServicePrincipal(secret, tenant=_POWERBI_TENANT)}, workspaces=3,
                       tls=server_context(folder / "powerbi-ca.pem"))


def _mode(secret: str, _: Path):
    from scanner.testing.fake_mode import FakeMode, ModeToken, ModeWorkspace

    return FakeMode(workspaces=[ModeWorkspace("acme", spaces=2, reports=3)],
                    tokens=[ModeToken("demo-token", secret, "acme")])


def _domo(secret: str, folder: Path):
    from scanner.testing.fake_domo import DomoApiClient, FakeDomo
    from scanner.testing.throwaway_ca import server_context

    # pydomo, as OpenMetadata's connector uses it, calls the API host over https only
    return FakeDomo(clients={"demo-client": DomoApiClient(secret)}, pages=4,
                    tls=server_context(folder / "domo-ca.pem"), instance_tls=None)


def _qlikcloud(secret: str, _: Path):
    from scanner.testing.fake_qlikcloud import FakeQlikCloud, QlikUser

    return FakeQlikCloud(users=[QlikUser(secret)], apps=5)


def _qliksense(secret: str, folder: Path):
    from scanner.testing.fake_qliksense import FakeQlikSense, QlikUser

    fake = FakeQlikSense(users=[QlikUser("INTERNAL", "sa_engine")], apps=4)
    fake.certificates.export(folder / "qlik-certs")  # the QMC export: client.pem, client_key.pem, root.pem
    return fake


_CUSTOM_TOML = """[[targets]]
platform = "custom"
instance = "demo"
url = "{url}"
sourcePythonClass = "my_company.ingestion.OpsPortalSource"
"""

STAND_INS: dict[str, StandIn] = {
    "looker": StandIn("Looker", _looker, lambda f, s, x, _: {
        f"LOOKERSDK_BASE_URL{x}": f.url, f"LOOKERSDK_CLIENT_ID{x}": "demo-client-id",
        f"LOOKERSDK_CLIENT_SECRET{x}": s}),
    "tableau": StandIn("Tableau", _tableau, lambda f, s, x, _: {
        f"TABLEAU_URL{x}": f.url, f"TABLEAU_SITE{x}": "Sales", f"TABLEAU_TOKEN_NAME{x}": "scanner-demo",
        f"TABLEAU_TOKEN_SECRET{x}": s}),
    "superset": StandIn("Superset", _superset, lambda f, s, x, _: {
        f"SUPERSET_URL{x}": f.url, f"SUPERSET_USERNAME{x}": "demo", f"SUPERSET_PASSWORD{x}": s}),
    "metabase": StandIn("Metabase", _metabase, lambda f, s, x, _: {
        f"METABASE_URL{x}": f.url, f"METABASE_API_KEY{x}": s}),
    "redash": StandIn("Redash", _redash, lambda f, s, x, _: {f"REDASH_URL{x}": f.url, f"REDASH_API_KEY{x}": s}),
    "lightdash": StandIn("Lightdash", _lightdash, lambda f, s, x, _: {
        f"LIGHTDASH_URL{x}": f.url, f"LIGHTDASH_API_KEY{x}": s}),
    "grafana": StandIn("Grafana", _grafana, lambda f, s, x, _: {
        f"GRAFANA_URL{x}": f.url, f"GRAFANA_SERVICE_ACCOUNT_TOKEN{x}": s},
        secret=lambda: "glsa_" + secrets.token_urlsafe(24)),
    "powerbi": StandIn("Power BI (Entra + API)", _powerbi, lambda f, s, x, d: {
        f"AZURE_TENANT_ID{x}": _POWERBI_TENANT, f"AZURE_CLIENT_ID{x}": _POWERBI_CLIENT, f"AZURE_CLIENT_SECRET{x}": s,
        f"POWERBI_AUTHORITY_URL{x}": f.url + "/", f"POWERBI_API_URL{x}": f.url,
        f"POWERBI_CA_BUNDLE{x}": str(d / "powerbi-ca.pem")}),
    "mode": StandIn("Mode", _mode, lambda f, s, x, _: {
        f"MODE_URL{x}": f.url, f"MODE_WORKSPACE{x}": "acme", f"MODE_API_TOKEN{x}": "demo-token",
        f"MODE_API_SECRET{x}": s}),
    "domo": StandIn("Domo (API + instance)", _domo, lambda f, s, x, d: {
        f"DOMO_INSTANCE{x}": f.instance_url, f"DOMO_API_HOST{x}": f.api_host, f"DOMO_CLIENT_ID{x}": "demo-client",
        f"DOMO_CLIENT_SECRET{x}": s, f"DOMO_CA_BUNDLE{x}": str(d / "domo-ca.pem")}),
    "qlikcloud": StandIn("Qlik Cloud", _qlikcloud, lambda f, s, x, _: {f"QCS_SERVER{x}": f.url, f"QCS_API_KEY{x}": s}),
    "qliksense": StandIn("Qlik Sense (hub)", _qliksense, lambda f, s, x, d: f.env(d / "qlik-certs", x.lstrip("_"))),
    "custom": StandIn("Custom (TOML)", _custom, lambda f, s, x, _: {}, toml=lambda f: _CUSTOM_TOML.format(url=f.url)),
}


def _failures(fakes: dict[str, Any], secret_of: dict[str, str]) -> dict[str, str]:
    """Targets that must fail (--with-failures): a wrong secret, and one platform's URL given to another."""
    env: dict[str, str] = {}
    if "looker" in fakes:
        env.update(STAND_INS["looker"].env(fakes["looker"], "not-the-secret", "__WRONG_SECRET", Path()))
    if "superset" in fakes and "tableau" in fakes:
        env.update(STAND_INS["superset"].env(fakes["tableau"], secret_of["superset"], "__NOT_SUPERSET", Path()))
    if "redash" in fakes and "metabase" in fakes:
        env.update(STAND_INS["redash"].env(fakes["metabase"], secret_of["redash"], "__NOT_REDASH", Path()))
    return env


def run_demo(scan_args: Sequence[str], with_failures: bool, out: TextIO = sys.stdout,
             platforms: Sequence[str] | None = None) -> int:
    from scanner.testing.fake_openmetadata import FakeOpenMetadata

    chosen = list(platforms or STAND_INS)
    catalog_token = secrets.token_urlsafe(18)
    secret_of = {name: STAND_INS[name].secret() for name in chosen}
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scanner-demo-tls-")))
        catalog = stack.enter_context(FakeOpenMetadata(bot_token=catalog_token))
        fakes = {name: stack.enter_context(STAND_INS[name].start(secret_of[name], folder)) for name in chosen}
        env = {"OPENMETADATA_HOST": catalog.url, "OPENMETADATA_JWT_TOKEN": catalog_token}
        for name, fake in fakes.items():
            env.update(STAND_INS[name].env(fake, secret_of[name], f"__{DEMO_SUFFIX}", folder))
        if with_failures:
            env.update(_failures(fakes, secret_of))
        hidden = {catalog_token, *secret_of.values()}
        out.write("scanner demo: stand-ins running on 127.0.0.1 (nothing leaves this machine)\n")
        out.write(f"  {'OpenMetadata stand-in':<22} {catalog.url}\n")
        for name, fake in fakes.items():
            out.write(f"  {STAND_INS[name].title + ' stand-in':<22} {fake.url}\n")
        out.write("\nThe environment you would set (secrets masked):\n")
        for name, value in env.items():
            out.write(f"  {name}={MASK if value in hidden else value}\n")
        toml = "\n".join(STAND_INS[name].toml(fake) for name, fake in fakes.items() if STAND_INS[name].toml)
        if toml:
            out.write("\nand in config.toml:\n" + "".join(f"  {line}\n" for line in toml.splitlines()))
        command = ["scanner", "scan", *scan_args]
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        code = _run_scan(env, scan_args, toml)
        services = catalog.services
        out.write(f"\nThe stand-in catalog now holds {len(services)} dashboard service(s):\n")
        width = max((len(name) for name in services), default=0)
        for name, entity in sorted(services.items()):
            config = entity.get("connection", {}).get("config", {})
            where = config.get("hostPort") or config.get("instanceDomain") or ""
            if config.get("type") == "PowerBI":
                where = config.get("apiURL") or "https://api.powerbi.com"
            out.write(f"  {name:<{width}}  {entity.get('serviceType', '?'):<15} {where}\n")
        pipelines = catalog.pipelines
        if pipelines:
            out.write(f"and {len(pipelines)} ingestion pipeline(s):\n")
            for fqn, pipeline in sorted(pipelines.items()):
                state = "deployed" if pipeline.get("deployed") else "not deployed"
                out.write(f"  {fqn}  ({state}, schedule {pipeline['airflowConfig'].get('scheduleInterval')})\n")
        out.write(f"\n`scanner scan` exited {code}. Stand-ins stopped. Try it on your own instances: "
                  "set the variables above to real values and run `scanner scan --dry-run`.\n")
    return code


def _run_scan(env: dict[str, str], scan_args: Sequence[str], toml: str = "") -> int:
    base = {k: v for k, v in os.environ.items()
            if k in ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "NO_COLOR", "COLUMNS", "SYSTEMROOT", "TMPDIR")}
    with tempfile.TemporaryDirectory(prefix="scanner-demo-") as cwd:
        if toml:
            with open(os.path.join(cwd, "config.toml"), "w") as fh:
                fh.write(toml)
        # the demo's inventory lives and dies with the demo: yours is never touched
        env = {**base, **env, "SCANNER_INVENTORY": os.path.join(cwd, "inventory.sqlite3")}
        proc = subprocess.run([sys.executable, "-m", "scanner", "scan", *scan_args], env=env, cwd=cwd, check=False)
    return proc.returncode
