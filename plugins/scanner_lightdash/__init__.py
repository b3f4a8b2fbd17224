"""Lightdash: found from ``LIGHTDASH_URL`` & co., proven through its REST API, registered as one service per
(project, space) the key can read.

Steps (OpenMetadata's names where they mean the same):

``Reach``          something answers HTTP at the URL
``Fingerprint``    2 of 3 signs read without credentials: ``/api/v1/health`` JSON with ``results.version`` (or
                   the 401 ``AuthorizationError`` of the variant that guards it), the ``Lightdash-Version`` header
                   and the app page titled Lightdash (both on ``/``)
``CheckAccess``    ``GET /api/v1/org/projects`` with ``Authorization: ApiKey <key>``, as OpenMetadata's connector
                   sends it: 401 ``AuthorizationError`` = ``auth_failed``, 403 ``ForbiddenError`` = ``forbidden``
``GetSpaces``      ``/api/v1/projects/{p}/spaces``, then ``/api/v1/projects/{p}/spaces/{s}`` for each (the call
                   OpenMetadata's test connection makes): the (project, space) pairs this key can read, narrowed by
                   ``LIGHTDASH_PROJECT`` / ``LIGHTDASH_SPACE``; none = ``forbidden``
``GetDashboards``  dashboards of those spaces (total; per space in each service's details); 0 = warning
``GetCharts``      charts saved in those spaces (the space's ``queries``, else ``/api/v1/projects/{p}/charts``)

Quirks:

- One OpenMetadata Lightdash service is one project AND one space (``projectUUID``, ``spaceUUID``, both required), so
  an instance is registered as one service per readable (project, space) (`LightdashPlugin.parts`), named
  ``<service>_<project>_<space>``; with both UUIDs given the target is exactly that one service, named as the
  target. Preview projects (``type: PREVIEW``, made by ``lightdash preview`` and deleted after) are left out unless
  ``LIGHTDASH_PROJECT`` names one.
- The app answers 200 with its HTML page for ANY unmatched GET, ``/api/v1/...`` included: every answer is judged
  by its JSON content type and keys, never by the status alone.
- OpenMetadata's connector (2.0.7) sends every key as ``Authorization: ApiKey``, which Lightdash accepts for
  personal access tokens only; a service-account token (``ldsvc_...``) works only as ``Bearer``. Such a token is
  tried both ways: refused as ``ApiKey`` it is ``auth_failed`` (ingestion could not use it), with that said.
- The connector parses every dashboard of the space with ``firstViewedAt`` required: one never-opened dashboard
  (``firstViewedAt`` null) makes it list none of that space's dashboards. That is a warning.
- The connector has no TLS setting (it verifies against the ingestion host's trust store) and never reads
  ``proxyAuthentication``: neither is registered.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr, field_validator

from scanner.http import HttpError, Response
from scanner.naming import slug
from scanner.openmetadata.connector_tls import no_tls_field_warnings
from scanner.openmetadata.models import ConnectionConfig
from scanner.plugin import (
    EnvVar,
    Part,
    Plugin,
    ProbeContext,
    ProbeResult,
    Status,
    Step,
    StepFailed,
    Target,
    TargetSettings,
    reach_step,
    tls_env_vars,
)
from scanner.probe_kit import (
    Signal,
    api_call,
    count_step,
    fingerprint,
    header_is_set,
    items_of,
    json_at,
    json_body,
    page_has,
    refused,
    setting_name,
)
from scanner.urls import connector_host_port, page_base

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SERVICE_ACCOUNT_PREFIX = "ldsvc_"
_PAT = "a personal access token: Lightdash > Settings > Personal access tokens"
# The first path segment of the app's own pages (a URL copied from the browser is cut there).
_PAGE_ROOTS = frozenset({"projects", "login", "register", "generalSettings", "share", "invite", "api", "auth",
                         "createProject", "no-access", "minimal", "embed", "recover-password", "verify-email",
                         "join-organization", "reset-password"})
# What OpenMetadata's LightdashDashboard model requires of every dashboard of a space (models.py, 2.0.7).
_DASHBOARD_STRINGS = ("organizationUuid", "name", "uuid", "projectUuid", "updatedAt", "spaceUuid", "firstViewedAt")


class LightdashSettings(TargetSettings):
    apiKey: SecretStr
    projectUUID: str | None = None  # narrow to this project (OpenMetadata's key name)
    spaceUUID: str | None = None    # narrow to this space

    @field_validator("apiKey")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("apiKey is empty")
        return value

    @field_validator("projectUUID", "spaceUUID")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        text = value.strip().lower()
        if not _UUID.match(text):
            raise ValueError(f"{value.strip()!r} is not a UUID (copy it from the URL: /projects/<uuid>/spaces/<uuid>)")
        return text


# -- Fingerprint ---------------------------------------------------------------------------------------------


def _error_name(resp: Response) -> str | None:
    """The ``error.name`` of Lightdash's error envelope (``{"status":"error","error":{"name":...}}``), else None."""
    if "json" not in resp.content_type:
        return None
    try:
        body = resp.json()
    except HttpError:
        return None
    error = body.get("error") if isinstance(body, dict) and body.get("status") == "error" else None
    name = error.get("name") if isinstance(error, dict) else None
    return name if isinstance(name, str) and name else None


def _health(resp: Response) -> str | bool | None:
    """``/api/v1/health``: 200 JSON with ``results.version`` (the version), or the 401 ``AuthorizationError`` of the
    variant that guards it (Lightdash, version unknown)."""
    if resp.status == 401:
        return _error_name(resp) == "AuthorizationError" or None
    return json_at("results", "version", version=True)(resp)


SIGNALS = (
    Signal("/api/v1/health", "/api/v1/health", _health),
    Signal("Lightdash-Version header", "/", header_is_set("Lightdash-Version")),
    Signal("app page", "/", page_has("<title>Lightdash</title>")),
)


# -- authenticated calls ---------------------------------------------------------------------------------------


def _key(ctx: ProbeContext) -> str:
    settings: LightdashSettings = ctx.target.settings  # type: ignore[assignment]
    return settings.apiKey.get_secret_value().strip()


def _get(ctx: ProbeContext, path: str, scheme: str = "ApiKey") -> Response:
    base = ctx.canonical_url or ctx.target.url
    return api_call(ctx, "GET", base + path, headers={"Authorization": f"{scheme} {_key(ctx)}"})


def _name(ctx: ProbeContext, field: str, env_name: str) -> str:
    """A setting as the user gives it, for a hint: `setting_name` (the variable as set, ``LIGHTDASH_PROJECT__ONE``,
    or the TOML key and where), and for a key a TOML table does not have, that key in that table."""
    sources = ctx.target.sources
    if field not in sources and sources and not any(re.search(r":[A-Z][A-Z0-9_]*$", s) for s in sources.values()):
        return f"{field} in {next(iter(sources.values()))}"
    return setting_name(ctx.target, field, env_name)


def _key_name(ctx: ProbeContext) -> str:
    return _name(ctx, "apiKey", "LIGHTDASH_API_KEY")


def _rights(ctx: ProbeContext) -> str:
    return (f"give the user behind {_key_name(ctx)} view access to the projects and spaces to ingest (or set "
            f"{_name(ctx, 'projectUUID', 'LIGHTDASH_PROJECT')} / {_name(ctx, 'spaceUUID', 'LIGHTDASH_SPACE')} to "
            "ones it can view)")


def _refused(ctx: ProbeContext, resp: Response, what: str) -> StepFailed:
    """`refused` with Lightdash's error name in the message; a 401/403 without Lightdash's own envelope came from
    something in front of it, which the hint says."""
    name = _error_name(resp)
    failure = refused(resp, f"{what}" + (f" ({name})" if name else ""), credentials=f"{_key_name(ctx)} ({_PAT})",
                      rights=_rights(ctx))
    if resp.status in (401, 403) and name is None:
        failure.hint += ("; the answer is not Lightdash's own error: a proxy in front of it (e.g. Cloud IAP) may have "
                         "refused the request, and OpenMetadata's Lightdash connector sends no proxy credentials")
    return failure


def _results(resp: Response, what: str) -> Any:
    body = json_body(resp, what)
    if not isinstance(body, dict) or "results" not in body:
        raise StepFailed(Status.ERROR, f"{what} answered JSON without 'results'",
                         "the URL may point at a proxy or another tool instead of Lightdash's API")
    return body["results"]


def check_access(ctx: ProbeContext) -> str:
    what = "GET /api/v1/org/projects"
    resp = _get(ctx, "/api/v1/org/projects")
    if resp.status == 401 and _key(ctx).startswith(_SERVICE_ACCOUNT_PREFIX):
        as_bearer = _get(ctx, "/api/v1/org/projects", scheme="Bearer")
        if as_bearer.status == 200:
            answer = " ".join(filter(None, (str(resp.status), _error_name(resp))))
            raise StepFailed(
                Status.AUTH_FAILED,
                "this service-account token (ldsvc_...) is accepted as 'Authorization: Bearer' only, but "
                "OpenMetadata's Lightdash connector sends every key as 'Authorization: ApiKey', which Lightdash "
                f"refused ({answer}): ingestion could not use it",
                f"set {_key_name(ctx)} to a personal access token (Lightdash > Settings > Personal access tokens) "
                "of a user who can view the spaces to ingest",
            )
    if resp.status != 200:
        raise _refused(ctx, resp, what)
    projects = [p for p in items_of(_results(resp, what), what)
                if isinstance(p, dict) and isinstance(p.get("projectUuid"), str)]
    ctx.facts["projects"] = projects
    return f"key accepted: {len(projects)} project(s) visible"


def _in_scope(ctx: ProbeContext) -> tuple[list[dict], int]:
    """The projects to look into, and how many preview projects were left out."""
    settings: LightdashSettings = ctx.target.settings  # type: ignore[assignment]
    projects: list[dict] = ctx.facts["projects"]
    if settings.projectUUID:
        chosen = [p for p in projects if p["projectUuid"].lower() == settings.projectUUID]
        if not chosen:
            raise StepFailed(
                Status.FORBIDDEN,
                f"project {settings.projectUUID} is not among the {len(projects)} project(s) this key can view",
                f"check {_name(ctx, 'projectUUID', 'LIGHTDASH_PROJECT')} (the UUID in the project's URL: "
                f"/projects/<uuid>/...) or give the user behind {_key_name(ctx)} access to it",
            )
        return chosen, 0
    chosen = [p for p in projects if str(p.get("type", "")).upper() != "PREVIEW"]
    return chosen, len(projects) - len(chosen)


def get_spaces(ctx: ProbeContext) -> str:
    settings: LightdashSettings = ctx.target.settings  # type: ignore[assignment]
    projects, previews = _in_scope(ctx)
    found: list[dict[str, Any]] = []
    refusals: list[str] = []
    unusable: list[str] = []
    for project in projects:
        p_uuid, p_name = project["projectUuid"], str(project.get("name") or project["projectUuid"])
        what = f"GET /api/v1/projects/{p_uuid}/spaces"
        resp = _get(ctx, f"/api/v1/projects/{p_uuid}/spaces")
        if resp.status in (403, 404):
            refusals.append(f"project {p_name!r}: {resp.status} {_error_name(resp) or ''}".rstrip())
            continue
        if resp.status != 200:
            raise _refused(ctx, resp, what)
        for space in items_of(_results(resp, what), what):
            s_uuid = space.get("uuid") if isinstance(space, dict) else None
            if not isinstance(s_uuid, str) or (settings.spaceUUID and s_uuid.lower() != settings.spaceUUID):
                continue
            entry = _read_space(ctx, project, p_name, space, refusals, unusable)
            if entry is not None:
                found.append(entry)
    if not found:
        raise StepFailed(Status.FORBIDDEN, _none_found(settings, projects, previews, refusals), _none_hint(ctx))
    ctx.facts["unusable"] = unusable
    ctx.details["spaces"] = found
    projects_seen = len({f["projectUUID"] for f in found})
    notes = [f"{previews} preview project(s) left out"] if previews else []
    if refusals:
        notes.append("not readable: " + "; ".join(refusals[:5]) + ("; ..." if len(refusals) > 5 else ""))
    return f"{len(found)} space(s) in {projects_seen} project(s)" + (f" ({'; '.join(notes)})" if notes else "")


def _read_space(ctx: ProbeContext, project: dict, p_name: str, space: dict, refusals: list[str],
                unusable: list[str]) -> dict[str, Any] | None:
    """One space read as OpenMetadata's connector reads it (``/spaces/{s}``): its counts, or None when refused."""
    p_uuid, s_uuid = project["projectUuid"], space["uuid"]
    s_name = str(space.get("name") or s_uuid)
    what = f"GET /api/v1/projects/{p_uuid}/spaces/{s_uuid}"
    resp = _get(ctx, f"/api/v1/projects/{p_uuid}/spaces/{s_uuid}")
    if resp.status in (403, 404):
        refusals.append(f"space {p_name!r} / {s_name!r}: {resp.status} {_error_name(resp) or ''}".rstrip())
        return None
    if resp.status != 200:
        raise _refused(ctx, resp, what)
    results = _results(resp, what)
    if not isinstance(results, dict):
        raise StepFailed(Status.ERROR, f"{what} answered 'results' that is not an object")
    dashboards = items_of(results, what, "dashboards")
    bad = sum(1 for d in dashboards if not _ingestible(d))
    if bad:
        unusable.append(f"{p_name!r} / {s_name!r}: {bad} of {len(dashboards)}")
    queries = results.get("queries")
    charts = len(queries) if isinstance(queries, list) else _charts_in(ctx, p_uuid, s_uuid)
    return {"project": p_name, "projectUUID": p_uuid, "space": s_name, "spaceUUID": s_uuid,
            "dashboards": len(dashboards), "charts": charts}


def _ingestible(dashboard: Any) -> bool:
    """Whether OpenMetadata's LightdashDashboard model accepts this dashboard (else the whole space lists empty)."""
    return (isinstance(dashboard, dict) and all(isinstance(dashboard.get(k), str) for k in _DASHBOARD_STRINGS)
            and isinstance(dashboard.get("views"), (int, float)) and not isinstance(dashboard.get("views"), bool))


def _charts_in(ctx: ProbeContext, p_uuid: str, s_uuid: str) -> int:
    """Charts saved in a space from the project's chart list (read once per project), for a server whose space
    answer has no ``queries``."""
    cache: dict[str, list] = ctx.facts.setdefault("charts", {})
    if p_uuid not in cache:
        what = f"GET /api/v1/projects/{p_uuid}/charts"
        resp = _get(ctx, f"/api/v1/projects/{p_uuid}/charts")
        if resp.status != 200:
            raise _refused(ctx, resp, what)
        cache[p_uuid] = items_of(_results(resp, what), what)
    return sum(1 for c in cache[p_uuid] if isinstance(c, dict) and c.get("spaceUuid") == s_uuid)


def _none_found(settings: LightdashSettings, projects: list[dict], previews: int, refusals: list[str]) -> str:
    if settings.spaceUUID:
        where = f"project {settings.projectUUID}" if settings.projectUUID else f"the {len(projects)} project(s) it sees"
        text = f"space {settings.spaceUUID} is not readable with this key in {where}"
    elif not projects:
        text = "this key can view no project" + (f" ({previews} preview project(s) left out)" if previews else "")
    else:
        text = f"this key can read no space in {len(projects)} project(s)"
    return text + (f" ({'; '.join(refusals[:5])})" if refusals else "")


def _none_hint(ctx: ProbeContext) -> str:
    settings: LightdashSettings = ctx.target.settings  # type: ignore[assignment]
    if settings.spaceUUID:
        return (f"check {_name(ctx, 'spaceUUID', 'LIGHTDASH_SPACE')} (the UUID in the space's URL: "
                f"/projects/<uuid>/spaces/<uuid>) and {_name(ctx, 'projectUUID', 'LIGHTDASH_PROJECT')}, or give the "
                f"user behind {_key_name(ctx)} access to that space")
    return "OpenMetadata ingests Lightdash one space at a time: " + _rights(ctx)


def _total(key: str):
    return lambda ctx: sum(s[key] for s in ctx.details["spaces"])


def _dashboards(ctx: ProbeContext) -> int:
    unusable: list[str] = ctx.facts.get("unusable", [])
    if unusable:
        ctx.warn("dashboards without firstViewedAt (never opened) in " + "; ".join(unusable[:5])
                 + ("; ..." if len(unusable) > 5 else "") + ": OpenMetadata's Lightdash connector (2.0.7) requires it "
                 "and lists none of such a space's dashboards; open each of them once in Lightdash")
    empty = [f"{s['project']!r} / {s['space']!r}" for s in ctx.details["spaces"] if s["dashboards"] == 0]
    total = _total("dashboards")(ctx)
    if empty and total:
        ctx.warn(f"{len(empty)} space(s) hold no dashboard, so their services ingest none: " + "; ".join(empty[:5])
                 + ("; ..." if len(empty) > 5 else ""))
    return total


# -- parts and config --------------------------------------------------------------------------------------------


def part_keys(spaces: Sequence[dict[str, Any]]) -> list[str]:
    """A stable, readable key per (project, space): ``<project>_<space>`` slugs; where two would be equal, each of
    them gets the first 8 hex digits of its space UUID."""
    bases = [f"{slug(s['project']) or _short(s['projectUUID'])}_{slug(s['space']) or _short(s['spaceUUID'])}"
             for s in spaces]
    seen = Counter(bases)
    keys = [f"{b}_{_short(s['spaceUUID'])}" if seen[b] > 1 else b for b, s in zip(bases, spaces, strict=True)]
    again = Counter(keys)
    return [f"{k}_{slug(s['spaceUUID'])}" if again[k] > 1 else k for k, s in zip(keys, spaces, strict=True)]


def _short(uuid: str) -> str:
    return re.sub(r"[^0-9a-f]", "", uuid.lower())[:8] or "x"


class LightdashPlugin(Plugin):
    name = "lightdash"
    title = "Lightdash"
    service_type = "Lightdash"
    settings_model = LightdashSettings
    env_vars = (
        EnvVar("LIGHTDASH_URL", "url", help="base URL, e.g. https://app.lightdash.cloud"),
        EnvVar("LIGHTDASH_API_KEY", "apiKey", secret=True, help="personal access token"),
        EnvVar("LIGHTDASH_PROJECT", "projectUUID", help="project UUID: register only this project's spaces"),
        EnvVar("LIGHTDASH_SPACE", "spaceUUID", help="space UUID: register only this space"),
        *tls_env_vars("LIGHTDASH"),
    )
    config_keys = ("hostPort", "apiKey", "projectUUID", "spaceUUID")
    ports = (8080,)

    def base_url(self, url: str) -> str:
        return page_base(url, {root: 0 for root in _PAGE_ROOTS})

    def steps(self, target: Target) -> Sequence[Step]:
        return [
            reach_step(),
            Step("Fingerprint", fingerprint("Lightdash", SIGNALS, need=2), gate=True,
                 description="Lightdash's health API, version header and app page, without credentials"),
            Step("CheckAccess", check_access, gate=True, description="list the organization's projects with the key"),
            Step("GetSpaces", get_spaces, gate=True, description="the (project, space) pairs the key can read"),
            Step("GetDashboards", count_step("dashboards", _dashboards), description="dashboards of those spaces"),
            Step("GetCharts", count_step("charts", _total("charts")), description="charts saved in those spaces"),
        ]

    def parts(self, target: Target, result: ProbeResult) -> Sequence[Part]:
        settings: LightdashSettings = target.settings  # type: ignore[assignment]
        if settings.projectUUID and settings.spaceUUID:
            return ()  # exactly one (project, space): the target itself
        spaces = result.details.get("spaces") or []
        # each service's report gets its own counts; "spaces" (the whole list, in the probe's details) becomes how
        # many services the instance was split into, so a report does not grow with the square of the spaces
        return [
            Part(key, {"projectUUID": s["projectUUID"], "spaceUUID": s["spaceUUID"]},
                 label=f"{s['project']} / {s['space']}",
                 details={"project": s["project"], "space": s["space"], "dashboards": s["dashboards"],
                          "charts": s["charts"], "spaces": len(spaces)})
            for key, s in zip(part_keys(spaces), spaces, strict=True)
        ]

    def connection_config(self, target: Target, result: ProbeResult) -> ConnectionConfig:
        settings: LightdashSettings = target.settings  # type: ignore[assignment]
        if not (settings.projectUUID and settings.spaceUUID):
            raise ValueError("a Lightdash service is one project and one space: projectUUID and spaceUUID are needed")
        host = result.canonical_url or target.url
        return ConnectionConfig.build(
            self.service_type,
            warnings=no_tls_field_warnings(host, settings, title=self.title, env_prefix="LIGHTDASH"),
            hostPort=connector_host_port(host), apiKey=settings.apiKey, projectUUID=settings.projectUUID,
            spaceUUID=settings.spaceUUID,
        )


plugin = LightdashPlugin()

__all__ = ["LightdashPlugin", "LightdashSettings", "part_keys", "plugin"]
