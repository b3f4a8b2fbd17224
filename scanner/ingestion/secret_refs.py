"""``[secrets] style = "reference"``: registered configs carry ``secret:<id>`` instead of secret values.

The catalog keeps a ``secret:`` value of a password field verbatim, and the ingestion side resolves it
through the deployment's secrets manager (contract: openmetadata-ingestion.md section 4). Storing the secret
under that id is the operator's job; the report says which id each service expects. On OpenMetadata's
default secrets manager (``db``) a reference would silently become the password ``<id>``, so reference mode
is refused unless the operator names an external manager (`scanner.settings.SecretsSettings`).

Only the registered config changes: the probe still logs in with the real secret. The inventory hashes what
was sent (the references), so drift and plans work as with values.
"""

from __future__ import annotations

import re

from scanner.openmetadata.models import ConnectionConfig, _reveal
from scanner.openmetadata.schema import ConnectionSchema

PREFIX = "secret:"
K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def secret_id(template: str, manager: str | None, *, service: str, platform: str, instance: str,
              field: tuple[str, ...]) -> str:
    """The id a secret is referenced by. Kubernetes Secrets need a DNS name (lower case, ``-`` and ``.``,
    no ``/``); every other manager takes a path, with characters outside ``[A-Za-z0-9/_.-]`` as ``_``."""
    if manager == "kubernetes":
        raw = template.format(service=service, platform=platform, instance=instance, field="-".join(field))
        return re.sub(r"[^a-z0-9.-]", "-", raw.lower())
    raw = template.format(service=service, platform=platform, instance=instance, field="/".join(field))
    return re.sub(r"[^A-Za-z0-9/_.-]", "_", raw)


def template_problem(template: str, manager: str | None) -> str | None:
    """Why `template` cannot make valid ids for `manager`, or None."""
    if manager != "kubernetes":
        return None
    sample = secret_id(template, manager, service="svc", platform="superset", instance="prod", field=("password",))
    if len(sample) > 253 or not K8S_NAME.fullmatch(sample):
        return (f"gives {sample!r}, not a Kubernetes Secret name (lower case letters, digits, '-' and '.', starting "
                "and ending with a letter or digit): e.g. template = \"scanner-{service}-{field}\"")
    return None


def with_references(config: ConnectionConfig, settings, *, service: str, platform: str,
                    instance: str) -> tuple[ConnectionConfig, list[str]]:
    """`config` with each secret (``format: password``) replaced by its reference; and the ids used."""
    schema = ConnectionSchema.of(config.service_type)
    values = _reveal(config.values)  # a fresh copy
    ids: list[str] = []
    for path in schema.secret_paths(values):
        parent = values
        for key in path[:-1]:
            parent = parent[key]
        if not isinstance(parent[path[-1]], str) or parent[path[-1]].startswith(PREFIX):
            continue
        ref_id = secret_id(settings.template, settings.external_manager, service=service, platform=platform,
                           instance=instance, field=path)
        parent[path[-1]] = PREFIX + ref_id
        ids.append(ref_id)
    return ConnectionConfig(service_type=config.service_type, values=values, warnings=config.warnings), ids
