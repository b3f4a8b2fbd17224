"""A loopback stand-in of the Kubernetes API server, for scanner's Kubernetes discovery source (issue 15), that the
official ``kubernetes`` Python client accepts through a kubeconfig pointing at it (`write_kubeconfig`).

Serves, in the API's JSON shapes (``kind``/``apiVersion``/``metadata.resourceVersion``/``items``; each item with
``metadata`` name/namespace/uid/resourceVersion/creationTimestamp/labels/annotations, ``spec`` and ``status`` as the
client's models ``V1Service``/``V1Ingress``/``V1Namespace`` read them; list items carry no kind/apiVersion, as the
API server sends them):

* ``GET /api/v1/namespaces``                                     NamespaceList (cluster-scoped)
* ``GET /api/v1/services``, ``/api/v1/namespaces/{ns}/services``  ServiceList (v1)
* ``GET /apis/networking.k8s.io/v1/ingresses``,
  ``/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses``        IngressList (networking.k8s.io/v1)

Query: ``labelSelector`` (``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``, ``a``, ``!a``,
comma-separated; a selector it cannot parse is a 400 ``BadRequest`` Status), ``limit`` and ``continue`` (paged lists:
``metadata.continue`` and ``remainingItemCount`` while more items remain). Listing a namespace that does not exist
answers an empty list, as the API server does.

Authentication: ``Authorization: Bearer <token>``; a missing or unknown token gets the API server's 401 Status
(``{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",
"reason":"Unauthorized","code":401}``). Authorization is RBAC's outcome, per `Account`: a resource listed in
``cluster`` may be listed cluster-wide and in every namespace (a ClusterRoleBinding); ``namespaced`` maps a namespace
to the resources it may list there (a RoleBinding per namespace). Anything else gets the API server's 403 Status,
``reason: Forbidden``, ``details: {"kind": <resource>[, "group": <group>]}`` and the message
``services is forbidden: User "<account>" cannot list resource "services" in API group "" in the namespace "x"``
(``... at the cluster scope`` for a cluster-wide list; ``ingresses.networking.k8s.io is forbidden: ... in API group
"networking.k8s.io" ...`` for ingresses). An unknown path is the 404 Status ``the server could not find the requested
resource``.

Objects are built with `namespace`, `service`, `service_port` and `ingress` (plain dicts in the API's JSON, so a test
can change any field) and added with `FakeKubernetes.add`; the fake fills in uid, resourceVersion and
creationTimestamp. ``requests`` is the log (method, path, status, account name), as for every `RestFake`.

Shapes were checked against the client's models (kubernetes 37.0.2, pydantic, strict: ``V1ServicePort.port`` and
``V1HTTPIngressPath.pathType`` are required, ``V1IngressServiceBackend.name`` too) and the Status bodies against API
server answers quoted in public issue threads. [inferred]: the ``continue`` token's content (opaque; the API
server's is base64 JSON too, but not this one) and the exact text of a 400 for a bad selector.

    python -m scanner.testing.fake_kubernetes --kubeconfig /tmp/fake-kubeconfig
"""

from __future__ import annotations

import argparse
import base64
import copy
import itertools
import json
import re
import ssl
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from scanner.testing.rest_fake import RestFake, Route, bearer, route
from scanner.testing.server import Request, Response

CREATED = "2026-01-15T09:30:00Z"

# resource -> (API group, list kind, apiVersion of the list)
RESOURCES: dict[str, tuple[str, str, str]] = {
    "namespaces": ("", "NamespaceList", "v1"),
    "services": ("", "ServiceList", "v1"),
    "ingresses": ("networking.k8s.io", "IngressList", "networking.k8s.io/v1"),
}
ALL = frozenset(RESOURCES)


@dataclass(frozen=True)
class Account:
    """Who a token is, and what RBAC lets it list. ``cluster``: resources it may list cluster-wide (and so in every
    namespace); ``namespaced``: namespace -> resources it may list there only."""

    name: str = "system:serviceaccount:scanner:scanner"
    cluster: frozenset[str] = ALL
    namespaced: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def per_namespace(cls, name: str, namespaces: Iterable[str],
                      resources: Iterable[str] = ("services", "ingresses")) -> Account:
        """A service account bound (RoleBinding) in each of `namespaces` only: no cluster-wide list at all."""
        allowed = frozenset(resources)
        return cls(name, frozenset(), {ns: allowed for ns in namespaces})

    def may_list(self, resource: str, namespace: str | None) -> bool:
        if resource in self.cluster:
            return True
        return namespace is not None and resource in self.namespaced.get(namespace, frozenset())


# -- objects in the API's JSON -----------------------------------------------------------------------------------------

def _meta(name: str, namespace: str | None, labels: Mapping[str, str] | None,
          annotations: Mapping[str, str] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def namespace(name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A Namespace (the API server adds the ``kubernetes.io/metadata.name`` label itself)."""
    return {"metadata": _meta(name, None, {"kubernetes.io/metadata.name": name, **(labels or {})}, None),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def service_port(port: int, name: str | None = None, *, target_port: int | str | None = None,
                 app_protocol: str | None = None, node_port: int | None = None,
                 protocol: str = "TCP") -> dict[str, Any]:
    """One ``spec.ports[]`` entry of a Service (V1ServicePort)."""
    entry: dict[str, Any] = {"protocol": protocol, "port": port, "targetPort": port if target_port is None
                             else target_port}
    if name is not None:
        entry["name"] = name
    if app_protocol is not None:
        entry["appProtocol"] = app_protocol
    if node_port is not None:
        entry["nodePort"] = node_port
    return entry


def service(name: str, ns: str, ports: list[dict[str, Any]], *, cluster_ip: str | None = "10.96.0.10",
            type: str = "ClusterIP", labels: Mapping[str, str] | None = None,
            annotations: Mapping[str, str] | None = None, load_balancer: list[dict[str, Any]] | None = None,
            external_name: str | None = None) -> dict[str, Any]:
    """A Service (V1Service). ``cluster_ip``: an address, ``"None"`` for a headless one. ``load_balancer``: the
    ``status.loadBalancer.ingress`` entries of a LoadBalancer (``[{"ip": ...}]`` or ``[{"hostname": ...}]``)."""
    spec: dict[str, Any] = {"type": type, "ports": ports, "sessionAffinity": "None"}
    if type == "ExternalName":
        spec["externalName"] = external_name or f"{name}.example.com"
    else:
        spec.update({"selector": {"app.kubernetes.io/name": (labels or {}).get("app.kubernetes.io/name", name)},
                     "clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "ipFamilies": ["IPv4"],
                     "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"})
    if type in ("NodePort", "LoadBalancer"):
        spec["externalTrafficPolicy"] = "Cluster"
    status: dict[str, Any] = {"loadBalancer": {}}
    if load_balancer:
        status["loadBalancer"]["ingress"] = [dict(e, ipMode="VIP") if "ip" in e else dict(e) for e in load_balancer]
    return {"metadata": _meta(name, ns, labels, annotations), "spec": spec, "status": status}


def ingress_path(service_name: str, port: int | str, path: str = "/", path_type: str = "Prefix") -> dict[str, Any]:
    """One ``spec.rules[].http.paths[]`` entry (V1HTTPIngressPath) routing to a Service port (number or name)."""
    backend_port = {"number": port} if isinstance(port, int) else {"name": port}
    return {"path": path, "pathType": path_type, "backend": {"service": {"name": service_name, "port": backend_port}}}


def ingress(name: str, ns: str, rules: list[tuple[str | None, list[dict[str, Any]]]], *,
            tls: list[list[str]] | None = None, labels: Mapping[str, str] | None = None,
            annotations: Mapping[str, str] | None = None, class_name: str = "nginx",
            load_balancer: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An Ingress (networking.k8s.io/v1 V1Ingress). ``rules``: (host or None, paths from `ingress_path`); ``tls``:
    the host lists of ``spec.tls[]`` (each with its own secretName)."""
    spec: dict[str, Any] = {"ingressClassName": class_name, "rules": []}
    for host, paths in rules:
        rule: dict[str, Any] = {"http": {"paths": paths}}
        if host is not None:
            rule["host"] = host
        spec["rules"].append(rule)
    if tls:
        spec["tls"] = [{"hosts": hosts, "secretName": f"{name}-tls-{n}"} for n, hosts in enumerate(tls)]
    status: dict[str, Any] = {"loadBalancer": {}}
    if load_balancer:
        status["loadBalancer"]["ingress"] = [dict(e) for e in load_balancer]
    return {"metadata": _meta(name, ns, labels, annotations), "spec": spec, "status": status}


# -- label selectors ---------------------------------------------------------------------------------------------------

class SelectorError(ValueError):
    pass


_KEY = r"[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*")
_EQ = re.compile(rf"\s*(?P<key>{_KEY})\s*(?P<op>==|!=|=)\s*(?P<value>{_VALUE})\s*")
_EXISTS = re.compile(rf"\s*(?P<not>!?)\s*(?P<key>{_KEY})\s*")


def _split_top(selector: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_selector(selector: str) -> list[tuple[str, str, frozenset[str]]]:
    """``labelSelector`` -> [(key, op, values)], op in ``= != in notin exists !exists``; SelectorError if invalid."""
    requirements: list[tuple[str, str, frozenset[str]]] = []
    if not selector.strip():
        return requirements
    for part in _split_top(selector):
        if m := _SET.fullmatch(part):
            values = frozenset(v.strip() for v in m["values"].split(","))
            if not all(re.fullmatch(_VALUE, v) for v in values):
                raise SelectorError(f"unable to parse requirement: invalid value in {part.strip()!r}")
            requirements.append((m["key"], m["op"], values))
        elif m := _EQ.fullmatch(part):
            requirements.append((m["key"], "!=" if m["op"] == "!=" else "=", frozenset({m["value"]})))
        elif m := _EXISTS.fullmatch(part):
            requirements.append((m["key"], "!exists" if m["not"] else "exists", frozenset()))
        else:
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
    return requirements


def selector_matches(requirements: list[tuple[str, str, frozenset[str]]], labels: Mapping[str, str]) -> bool:
    for key, op, values in requirements:
        present = key in labels
        value = labels.get(key)
        ok = {"=": present and value in values, "in": present and value in values,
              "!=": not present or value not in values, "notin": not present or value not in values,
              "exists": present, "!exists": not present}[op]
        if not ok:
            return False
    return True


# -- the fake ----------------------------------------------------------------------------------------------------------

def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The API server's ``Status`` (meta/v1) for a failure."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


class FakeKubernetes(RestFake):
    name = "fake-kubernetes"
    _fault_prefix = "/"

    def __init__(self, *, tokens: Mapping[str, Account] | None = None, tls: ssl.SSLContext | None = None,
                 latency: float = 0.0, port: int = 0) -> None:
        self.tokens = dict(tokens if tokens is not None else {"fake-cluster-admin-token": Account("kubernetes-admin")})
        self._objects: dict[str, list[dict[str, Any]]] = {name: [] for name in RESOURCES}
        self._version = itertools.count(1000)
        self._store_lock = threading.Lock()
        super().__init__(tls=tls, latency=latency, port=port)

    # -- the cluster's content --------------------------------------------------------------------------------------

    def add(self, *objects: dict[str, Any]) -> FakeKubernetes:
        """Add Namespaces, Services and Ingresses (from `namespace`, `service`, `ingress`); a namespaced object's
        namespace is created too when missing."""
        with self._store_lock:
            for obj in objects:
                kind = self._kind_of(obj)
                stored = copy.deepcopy(obj)
                meta = stored["metadata"]
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", CREATED)
                meta["resourceVersion"] = str(next(self._version))
                self._objects[kind].append(stored)
                ns = meta.get("namespace")
                if ns and not any(n["metadata"]["name"] == ns for n in self._objects["namespaces"]):
                    made = namespace(ns)
                    made["metadata"].update(uid=str(uuid.uuid4()), creationTimestamp=CREATED,
                                            resourceVersion=str(next(self._version)))
                    self._objects["namespaces"].append(made)
        return self

    @staticmethod
    def _kind_of(obj: dict[str, Any]) -> str:
        if "namespace" not in obj["metadata"]:
            return "namespaces"
        spec = obj.get("spec") or {}
        return "services" if {"ports", "type", "clusterIP", "externalName"} & set(spec) else "ingresses"

    # -- RestFake ---------------------------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        ns = r"(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)"
        return [
            route("GET", "/api/v1/namespaces", lambda r, m, a: self._list(r, a, "namespaces", None)),
            route("GET", "/api/v1/services", lambda r, m, a: self._list(r, a, "services", None)),
            route("GET", f"/api/v1/namespaces/{ns}/services", lambda r, m, a: self._list(r, a, "services", m["ns"])),
            route("GET", "/apis/networking.k8s.io/v1/ingresses",
                  lambda r, m, a: self._list(r, a, "ingresses", None)),
            route("GET", f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
                  lambda r, m, a: self._list(r, a, "ingresses", m["ns"])),
        ]

    def authenticate(self, request: Request) -> Account | None:
        token = bearer(request)
        return self.tokens.get(token) if token else None

    def unauthenticated(self, request: Request) -> Response:
        return Response.json(status_body(401, "Unauthorized", "Unauthorized"), 401)

    def not_found(self, request: Request) -> Response:
        return Response.json(status_body(404, "NotFound", "the server could not find the requested resource", {}),
                             404)

    def error_response(self, status: int) -> Response:
        reasons = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                   405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 429: "TooManyRequests",
                   500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return Response.json(status_body(status, reasons.get(status, "Unknown"), phrase.lower(), {}), status)

    # -- lists ------------------------------------------------------------------------------------------------------

    @staticmethod
    def forbidden(account: Account, resource: str, ns: str | None) -> Response:
        group = RESOURCES[resource][0]
        qualified = f"{resource}.{group}" if group else resource
        where = f'in the namespace "{ns}"' if ns is not None else "at the cluster scope"
        message = (f'{qualified} is forbidden: User "{account.name}" cannot list resource "{resource}" in API group '
                   f'"{group}" {where}')
        details = {"group": group, "kind": resource} if group else {"kind": resource}
        return Response.json(status_body(403, "Forbidden", message, details), 403)

    def _list(self, request: Request, account: Account, resource: str, ns: str | None) -> Response:
        if not account.may_list(resource, ns):
            return self.forbidden(account, resource, ns)
        try:
            requirements = parse_selector(request.query.get("labelSelector", ""))
        except SelectorError as err:
            return Response.json(status_body(400, "BadRequest", str(err)), 400)
        with self._store_lock:
            items = [copy.deepcopy(o) for o in self._objects[resource]
                     if (ns is None or o["metadata"].get("namespace") == ns)
                     and selector_matches(requirements, o["metadata"].get("labels") or {})]
            version = str(next(self._version))
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        _group, kind, api_version = RESOURCES[resource]
        meta: dict[str, Any] = {"resourceVersion": version}
        start = 0
        if request.query.get("continue"):
            try:
                start = int(json.loads(base64.urlsafe_b64decode(request.query["continue"]))["start"])
            except (ValueError, KeyError, TypeError):
                return Response.json(status_body(400, "BadRequest", "continue key is not valid"), 400)
        try:
            limit = int(request.query.get("limit") or 0)
        except ValueError:
            return Response.json(status_body(400, "BadRequest", "limit must be an integer"), 400)
        if limit > 0 and start + limit < len(items):
            token = base64.urlsafe_b64encode(json.dumps({"start": start + limit}).encode()).decode()
            meta.update({"continue": token, "remainingItemCount": len(items) - start - limit})
            items = items[start:start + limit]
        else:
            items = items[start:]
        return Response.json({"kind": kind, "apiVersion": api_version, "metadata": meta, "items": items})

    # -- a kubeconfig pointing here ---------------------------------------------------------------------------------

    def kubeconfig(self, path: str | Path, token: str | None = None, *, context: str = "fake",
                   ca_pem: str | Path | None = None, namespace: str | None = None) -> Path:
        """Write a kubeconfig for this server (`write_kubeconfig`); ``token`` defaults to the first known one."""
        return write_kubeconfig(path, server=self.url, token=token if token is not None else next(iter(self.tokens)),
                                context=context, ca_pem=ca_pem, namespace=namespace)


def write_kubeconfig(path: str | Path, *, server: str, token: str, context: str = "fake",
                     ca_pem: str | Path | None = None, namespace: str | None = None,
                     more_contexts: Mapping[str, str] | None = None) -> Path:
    """Write a kubeconfig (JSON, which is YAML too) with one cluster (``server``; ``certificate-authority-data`` from
    ``ca_pem`` when given, for an https server), one user with a bearer ``token``, and the context ``context``
    (the current one). ``more_contexts``: extra context name -> server URL, same user, e.g. a context that points
    somewhere else to check that the chosen one is used."""
    cluster: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(Path(ca_pem).read_bytes()).decode()
    ctx: dict[str, Any] = {"cluster": context, "user": f"{context}-user"}
    if namespace:
        ctx["namespace"] = namespace
    config: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": f"{context}-user", "user": {"token": token}}],
        "contexts": [{"name": context, "context": ctx}],
        "current-context": context,
    }
    for name, url in (more_contexts or {}).items():
        config["clusters"].append({"name": name, "cluster": {"server": url}})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": f"{context}-user"}})
    path = Path(path)
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)
    return path


def demo_cluster(fake: FakeKubernetes) -> FakeKubernetes:
    """A small cluster: Superset behind an Ingress with TLS, Metabase with a LoadBalancer, Grafana on a ClusterIP."""
    return fake.add(
        service("superset", "analytics", [service_port(8088, "http")], cluster_ip="10.96.0.12",
                labels={"app.kubernetes.io/name": "superset"}),
        ingress("superset", "analytics", [("superset.example.com", [ingress_path("superset", 8088)])],
                tls=[["superset.example.com"]], labels={"app.kubernetes.io/name": "superset"}),
        service("metabase", "finance", [service_port(3000, "http")], cluster_ip="10.96.1.20", type="LoadBalancer",
                labels={"app": "metabase"}, load_balancer=[{"ip": "203.0.113.7"}]),
        service("grafana", "monitoring", [service_port(80, "service", target_port=3000)], cluster_ip="10.96.2.30",
                labels={"app.kubernetes.io/name": "grafana"}),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.testing.fake_kubernetes",
                                     description="Run the fake Kubernetes API on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--token", default="fake-cluster-admin-token", help="a cluster-admin bearer token")
    parser.add_argument("--kubeconfig", default="fake-kubeconfig", help="where to write a kubeconfig for it")
    args = parser.parse_args(argv)
    fake = demo_cluster(FakeKubernetes(tokens={args.token: Account("kubernetes-admin")}, port=args.port))
    fake.start()
    written = fake.kubeconfig(args.kubeconfig, args.token)
    fake.serve_until_interrupted([f"Fake Kubernetes API at {fake.url}; kubeconfig written to {written}",
                                  "[discovery.kubernetes] kubeconfig = \"<that file>\". Ctrl-C stops."])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
