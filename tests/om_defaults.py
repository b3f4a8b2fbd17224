"""OpenMetadata's own models fill a config's defaults: what the server stores, as the ingestion code sees it.

Run with the python of the ``tests/om_ingestion.py`` venv (it never imports scanner)::

    <ingestion-venv>/bin/python tests/om_defaults.py CONFIGS.json

``CONFIGS.json`` is a list of connection configs; stdout is the list of each parsed by
``DashboardConnection`` and dumped with every default (pydantic's own dump: the package's ``BaseModel``
override leaves unset defaults out), ``None`` values dropped and secrets in clear.
"""

import json
import sys
import warnings
from pathlib import Path

import pydantic

warnings.simplefilter("ignore")
from metadata.generated.schema.entity.services.dashboardService import DashboardConnection  # noqa: E402

out = []
for config in json.loads(Path(sys.argv[1]).read_text()):
    model = DashboardConnection.model_validate({"config": config})
    dumped = pydantic.BaseModel.model_dump(model, mode="json", exclude_none=True, context={"mask_secrets": False})
    out.append(dumped["config"])
print(json.dumps(out))
