"""Regenerate the shipped schemas from a given ``openmetadata-ingestion`` version.

    python -m scanner.openmetadata.schemas.refresh --version 2.0.7.0 [--server-versions 2.0]
    python -m scanner.openmetadata.schemas.refresh --python /path/to/venv/bin/python   # reuse an install

Without ``--python`` it installs ``openmetadata-ingestion==VERSION`` (no extras: the generated models
are in the base package) into a throw-away venv, with the constraint ``dbt-core<1.12`` (a newer
dbt-core's build step downloads from outside). It then writes ``DashboardConnection.model_json_schema()``
of that package, which holds every dashboard connection type, ``DashboardServiceMetadataPipeline`` (the
source config of a dashboard metadata pipeline), and ``SOURCE.json`` saying where they came from.
``--check`` compares instead of writing (exit 1 on a difference).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "metadata.generated.schema.entity.services.dashboardService.DashboardConnection"
PIPELINE_MODEL = ("metadata.generated.schema.metadataIngestion.dashboardServiceMetadataPipeline."
                  "DashboardServiceMetadataPipeline")
MODELS = {"DashboardConnection.json": MODEL, "DashboardServiceMetadataPipeline.json": PIPELINE_MODEL}
DUMP = f"""
import importlib, json, importlib.metadata as md, pydantic
models = {MODELS!r}
schemas = {{}}
for file, dotted in models.items():
    module, _, name = dotted.rpartition(".")
    schemas[file] = getattr(importlib.import_module(module), name).model_json_schema()
print(json.dumps({{"schemas": schemas, "ingestion": md.version("openmetadata-ingestion"),
                  "pydantic": pydantic.VERSION}}))
"""


def install(version: str, where: Path) -> Path:
    venv.create(where, with_pip=True)
    python = where / "bin" / "python"
    constraints = where / "constraints.txt"
    constraints.write_text("dbt-core<1.12\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"openmetadata-ingestion=={version}",
                    "-c", str(constraints)], check=True)
    return python


def dump(python: Path) -> dict:
    out = subprocess.run([str(python), "-c", DUMP], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", help="openmetadata-ingestion version to install, e.g. 2.0.7.0")
    parser.add_argument("--python", type=Path, help="an interpreter that already has openmetadata-ingestion")
    parser.add_argument("--server-versions", nargs="+",
                        help="server major.minor versions these schemas describe (default: from the version)")
    parser.add_argument("--check", action="store_true", help="compare with the shipped files, write nothing")
    args = parser.parse_args(argv)
    if not (args.version or args.python):
        parser.error("give --version or --python")
    with tempfile.TemporaryDirectory(prefix="om-schemas-") as tmp:
        found = dump(args.python or install(args.version, Path(tmp) / "venv"))
    version = found["ingestion"]
    source = {
        "openmetadata-ingestion": version,
        "model": MODEL,
        "models": MODELS,
        "made_with": f"<model>.model_json_schema() (pydantic {found['pydantic']})",
        "server_versions": args.server_versions or [".".join(version.split(".")[:2])],
    }
    files = {name: json.dumps(schema, indent=2) + "\n" for name, schema in found["schemas"].items()}
    files["SOURCE.json"] = json.dumps(source, indent=2) + "\n"
    if args.check:
        differ = [name for name, text in files.items()
                  if json.loads((HERE / name).read_text()) != json.loads(text)]
        print("differ: " + ", ".join(differ) if differ else f"up to date with openmetadata-ingestion {version}")
        return 1 if differ else 0
    for name, text in files.items():
        (HERE / name).write_text(text)
    print(f"wrote {', '.join(files)} from openmetadata-ingestion {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
