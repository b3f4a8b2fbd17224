"""Kubernetes discovery (issue 15): candidate addresses from the Services and Ingresses of a cluster, read with the
official ``kubernetes`` Python client (imported inside `kubernetes_candidates`, so scanner runs without it when no
``[discovery.kubernetes]`` is configured).

Where it connects: with no ``kubeconfig`` and no ``context`` inside a pod (``KUBERNETES_SERVICE_HOST`` set), the pod's
service account (in-cluster config); otherwise the kubeconfig file given, else ``$KUBECONFIG``, else
``~/.kube/config``, with ``context`` or the file's current context. Nothing is written back to the kubeconfig.

What it lists (verb ``list`` only): with ``namespaces`` given, ``services`` and ``ingresses`` in each of them (a service
account bound per namespace cannot list the cluster); else cluster-wide, and when a cluster-wide list is forbidden,
the ``namespaces`` and then each namespace. ``label_selector`` goes to the API server with every Service and Ingress
list. Lists are paged (``limit``/``continue``).

Candidates, per namespace:

* each Ingress rule host with an HTTP path to a Service: ``https://host[/path]`` when the host is in the Ingress's
  ``tls`` hosts, else ``http://``; a rule without a host uses the Ingress's load-balancer address. The backend Service
  port it routes to is noted, and that port yields no candidate of its own: the Ingress host is what the ingestion
  side would use (``note``: "Ingress host superset.example.com, over ClusterIP 10.96.0.12:8088");
* each other TCP port of a ClusterIP, NodePort or LoadBalancer Service: the load balancer's IP or hostname when one is
  provisioned, else the ClusterIP; ``https`` when the port's name or ``appProtocol`` says so or the port is 443/8443,
  else ``http``. Ports whose name or ``appProtocol`` names a non-HTTP protocol (``grpc``, ``postgres``, ...), headless
  and ExternalName Services are skipped.

``platform_hint``: the first platform whose names match, in this order, the ``app.kubernetes.io/name`` label, the
``app`` label, the port's name, then the object's own name (the Service's, or the first label of the Ingress host);
a name matches a value equal to it or one of the value's ``-``/``_``/``.`` separated words. Identification decides.

Failures: a 403 on a namespace (or on a resource in it) is a `Problem` naming the RBAC grant to add, and the rest goes
on; so is any other refusal of one list (a 5xx, a redirect, an answer the client's models reject) and a 404 on the
Ingress API (one Problem). A 401, an API server that cannot be reached or whose certificate is not trusted, a
kubeconfig or context that cannot be used, or a label selector the API server rejects (400) is a one-line
`ConfigError`. Every call's connect and read timeouts end at ``deadline`` (a ``time.monotonic()`` value); when the
deadline passes, what was listed so far is returned with a Problem saying what was not. No retries, no redirects
followed (the requests carry the bearer token). Messages carry the API server's own Status message, never a token.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scanner.discovery import Candidate, Problem
from scanner.errors import ConfigError

WHERE = "[discovery.kubernetes]"
CONNECT_TIMEOUT = 5.0   # s, per call, never past the deadline
READ_TIMEOUT = 30.0     # s, per call (a page of a list), never past the deadline
PAGE = 500              # items per list call, as kubectl pages
MIN_CALL_TIME = 0.05    # s; with less left before the deadline no call is started

HTTPS_PORTS = frozenset({443, 8443})
HTTPS_PROTOCOLS = frozenset({"https", "kubernetes.io/wss", "wss"})
HTTP_PROTOCOLS = frozenset({"http", "http2", "h2c", "kubernetes.io/h2c", "kubernetes.io/ws", "ws"}) | HTTPS_PROTOCOLS
NOT_HTTP = frozenset({"grpc", "grpc-web", "tcp", "udp", "tls", "mongo", "mongodb", "mysql", "postgres", "postgresql",
                      "redis", "amqp", "amqps", "kafka", "dns", "dns-tcp", "ldap", "ldaps", "smtp", "memcache",
                      "memcached", "zookeeper", "cassandra", "nats", "mqtt", "ssh", "sftp", "ftp"})
HINT_LABELS = ("app.kubernetes.io/name", "app")
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._~!$&'+,;=:@%/-]*")

# resource -> (API group, what to grant)
_RESOURCES = {"services": "", "ingresses": "networking.k8s.io", "namespaces": ""}


class _Forbidden(Exception):
    """403: RBAC does not allow this list; ``message`` is the API server's own."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _Failed(_Forbidden):
    """Any other refusal of one list (a 5xx, an answer the client's models reject): a Problem, the rest goes on."""


class _DeadlineReached(Exception):
    pass


class _NotServed(Exception):
    """404 on a list path: the API server does not serve that resource (e.g. networking.k8s.io/v1 before 1.19)."""


@dataclass
class _Listing:
    services: list[Any] = field(default_factory=list)
    ingresses: list[Any] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def kubernetes_candidates(
    *,
    kubeconfig: str | None,
    context: str | None,
    namespaces: list[str] | None,
    label_selector: str | None,
    platform_hints: Mapping[str, tuple[str, ...]],
    deadline: float,
) -> tuple[list[Candidate], list[Problem]]:
    """Candidates from the cluster's Services and Ingresses, and the Problems met (see the module docstring).

    Raises `ConfigError` (one line) when the cluster cannot be used at all: no usable kubeconfig or context, a 401,
    an unreachable API server, an untrusted certificate. ``deadline`` is a ``time.monotonic()`` value."""
    api_client, context_name, server = _connect(kubeconfig, context)
    with api_client:
        lister = _Lister(api_client, context_name, server, label_selector or None, deadline)
        listing = lister.collect(_unique(namespaces) if namespaces is not None else None)
    candidates = _candidates(listing, context_name, platform_hints)
    return candidates, listing.problems


# -- connecting --------------------------------------------------------------------------------------------------------

def _connect(kubeconfig: str | None, context: str | None) -> tuple[Any, str, str]:
    """(ApiClient, context name for origins, API server URL)."""
    import urllib3

    try:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException
    except ImportError as err:
        raise ConfigError(f"the Kubernetes source needs the kubernetes package ({_one_line(err)})", where=WHERE,
                          hint="pip install kubernetes") from None

    configuration = client.Configuration()
    if kubeconfig is None and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as err:
            raise ConfigError(f"in-cluster Kubernetes configuration: {_one_line(err)}", where=WHERE,
                              hint="set kubeconfig to use a kubeconfig file instead of the pod's service account"
                              ) from None
        name = "in-cluster"
    else:
        path = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        files = [os.path.expanduser(p) for p in path.split(os.pathsep) if p]
        if not any(os.path.isfile(f) for f in files):
            hint = ("set kubeconfig to a kubeconfig file" if kubeconfig is None
                    else "the file does not exist")
            raise ConfigError(f"no kubeconfig at {path} (and not running in a pod: KUBERNETES_SERVICE_HOST unset)"
                              if kubeconfig is None else f"kubeconfig {path} not found", where=WHERE, hint=hint)
        try:
            if context is None:
                _contexts, current = config.list_kube_config_contexts(config_file=path)
                name = str(current["name"])
            else:
                name = context
            config.load_kube_config(config_file=path, context=name, client_configuration=configuration,
                                    persist_config=False)
        except ConfigException as err:
            raise ConfigError(f"kubeconfig {path}: {_one_line(err)}", where=WHERE,
                              hint="check the context name and that it names a cluster and a user") from None
        except Exception as err:  # noqa: BLE001 - YAML errors, a malformed file: one line, never a traceback
            raise ConfigError(f"kubeconfig {path} cannot be read: {type(err).__name__}: {_one_line(err)}",
                              where=WHERE) from None
    # No retry and no redirect: the deadline bounds every call, and each request carries the bearer token.
    configuration.retries = urllib3.util.Retry(total=0, redirect=0, raise_on_redirect=False)
    server = str(configuration.host or "").rstrip("/")
    return client.ApiClient(configuration), name, server


def _unique(names: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(name, None)
    return list(seen)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


# -- listing -----------------------------------------------------------------------------------------------------------

class _Lister:
    def __init__(self, api_client: Any, context: str, server: str, label_selector: str | None, deadline: float):
        from kubernetes import client

        self.core = client.CoreV1Api(api_client)
        self.networking = client.NetworkingV1Api(api_client)
        self.context = context
        self.server = server
        self.selector = label_selector
        self.deadline = deadline
        self._unserved: set[str] = set()

    def collect(self, namespaces: list[str] | None) -> _Listing:
        listing = _Listing()
        try:
            if namespaces is not None:
                for ns in namespaces:
                    self._namespace(ns, listing, ("services", "ingresses"), report_each=True)
            else:
                self._cluster(listing)
        except _DeadlineReached as reached:
            listing.problems.append(Problem(f"kubernetes:{self.context}", f"deadline reached while listing {reached}"
                                            "; the candidates listed before it are kept",
                                            "raise the run deadline, or narrow the namespaces"))
        return listing

    def _cluster(self, listing: _Listing) -> None:
        fallback: list[str] = []
        messages: list[str] = []
        for resource in ("services", "ingresses"):
            try:
                getattr(listing, resource).extend(self._list(resource, None))
            except _Failed as failed:
                listing.problems.append(Problem(f"kubernetes:{self.context}", failed.message))
            except _Forbidden as forbidden:
                fallback.append(resource)
                messages.append(forbidden.message)
            except _NotServed:
                self._not_served(resource, listing)
        if not fallback:
            return
        # A cluster-wide list is forbidden: read namespace by namespace, as far as RBAC allows.
        try:
            names = [ns.metadata.name for ns in self._list("namespaces", None)]
        except _Forbidden as forbidden:
            listing.problems.append(Problem(
                f"kubernetes:{self.context}",
                f"{'; '.join(messages)}; and the namespaces cannot be listed either ({forbidden.message})",
                f"grant \"list\" on {_resources_text(fallback)} cluster-wide (a ClusterRole and ClusterRoleBinding), "
                f"or set {WHERE} namespaces to the namespaces this account may read"))
            return
        denied: dict[str, list[str]] = {}
        for ns in names:
            for resource in self._namespace(ns, listing, tuple(fallback), report_each=False):
                denied.setdefault(resource, []).append(ns)
        for resource, where in denied.items():
            shown = ", ".join(where[:10]) + (f" and {len(where) - 10} more" if len(where) > 10 else "")
            listing.problems.append(Problem(
                f"kubernetes:{self.context}",
                f"{_qualified(resource)} cannot be listed cluster-wide nor in {len(where)} of {len(names)} "
                f"namespaces: {shown}",
                _grant(resource, None)))

    def _namespace(self, ns: str, listing: _Listing, resources: tuple[str, ...], *, report_each: bool) -> list[str]:
        """List `resources` in `ns` into `listing`; the resources it was forbidden (reported when `report_each`)."""
        forbidden_here = []
        for resource in resources:
            try:
                getattr(listing, resource).extend(self._list(resource, ns))
            except _Failed as failed:
                listing.problems.append(Problem(f"kubernetes:{self.context}/{ns}", failed.message))
            except _Forbidden as forbidden:
                forbidden_here.append(resource)
                if report_each:
                    listing.problems.append(Problem(f"kubernetes:{self.context}/{ns}", forbidden.message,
                                                    _grant(resource, ns)))
            except _NotServed:
                self._not_served(resource, listing)
        return forbidden_here

    def _not_served(self, resource: str, listing: _Listing) -> None:
        """One Problem per resource the API server does not serve (not one per namespace)."""
        if resource in self._unserved:
            return
        self._unserved.add(resource)
        listing.problems.append(Problem(
            f"kubernetes:{self.context}", f"the API server does not serve {_qualified(resource)} (404 on "
                                          f"{_api_path(resource, None)} lists)",
            "Ingresses need networking.k8s.io/v1 (Kubernetes 1.19 or later)" if resource == "ingresses" else ""))

    def _list(self, resource: str, ns: str | None) -> list[Any]:
        """Every item of one list, page by page."""
        items: list[Any] = []
        token: str | None = None
        while True:
            page = self._call(resource, ns, token)
            items.extend(page.items or [])
            token = page.metadata.var_continue if page.metadata is not None else None
            if not token:
                return items

    def _call(self, resource: str, ns: str | None, token: str | None) -> Any:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        what = _qualified(resource) + (f" in namespace {ns}" if ns else " cluster-wide")
        remaining = self.deadline - time.monotonic()
        if remaining < MIN_CALL_TIME:
            raise _DeadlineReached(what)
        timeout = (min(CONNECT_TIMEOUT, remaining), min(READ_TIMEOUT, remaining))
        kwargs: dict[str, Any] = {"limit": PAGE, "_request_timeout": timeout}
        if token:
            kwargs["_continue"] = token
        if resource != "namespaces" and self.selector:
            kwargs["label_selector"] = self.selector
        try:
            if resource == "namespaces":
                return self.core.list_namespace(**kwargs)
            if resource == "services":
                return (self.core.list_namespaced_service(ns, **kwargs) if ns
                        else self.core.list_service_for_all_namespaces(**kwargs))
            return (self.networking.list_namespaced_ingress(ns, **kwargs) if ns
                    else self.networking.list_ingress_for_all_namespaces(**kwargs))
        except ApiException as err:
            raise self._api_error(err, resource, ns) from None
        except urllib3.exceptions.HTTPError as err:
            if self.deadline - time.monotonic() < MIN_CALL_TIME:
                raise _DeadlineReached(what) from None
            raise self._transport_error(err, timeout) from None
        except ValueError as err:  # the answer is not what the client's models accept (pydantic ValidationError)
            raise _Failed(f"GET {_api_path(resource, ns)} answered something that is not a {resource} list "
                          f"({_one_line(err)[:200]})") from None

    def _api_error(self, err: Any, resource: str, ns: str | None) -> Exception:
        status_message, reason = _status(err)
        path = _api_path(resource, ns)
        if err.status == 401:
            return ConfigError(f"the Kubernetes API server {self.server} refused the credentials of context "
                               f"{self.context!r} (401 {reason or 'Unauthorized'})", where=WHERE,
                               hint="the token or client certificate in the kubeconfig is wrong or expired")
        if err.status == 403:
            return _Forbidden(status_message or f"{_qualified(resource)} is forbidden")
        if err.status == 404:
            return _NotServed(path)
        if err.status == 400 and resource != "namespaces" and self.selector:
            return ConfigError(f"the Kubernetes API server rejected label_selector {self.selector!r}: "
                               f"{status_message or reason or 'Bad Request'}", where=WHERE,
                               hint="e.g. app.kubernetes.io/name in (superset,metabase)")
        detail = f": {status_message}" if status_message else ""
        return _Failed(f"GET {path} answered {err.status} {reason or err.reason or ''}".rstrip() + detail)

    def _transport_error(self, err: Exception, timeout: tuple[float, float]) -> ConfigError:
        import urllib3

        cause = getattr(err, "reason", None) or err
        if isinstance(cause, urllib3.exceptions.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(cause):
            return ConfigError(f"TLS to the Kubernetes API server {self.server} failed: {_tls_reason(cause)}",
                               where=WHERE, hint="give the cluster's CA as certificate-authority(-data) in the "
                                                 "kubeconfig")
        if isinstance(cause, urllib3.exceptions.ReadTimeoutError):
            return ConfigError(f"the Kubernetes API server {self.server} did not answer within {timeout[1]:.1f}s",
                               where=WHERE)
        if isinstance(cause, urllib3.exceptions.ConnectTimeoutError) and not isinstance(
                cause, urllib3.exceptions.NewConnectionError):
            return ConfigError(f"cannot reach the Kubernetes API server {self.server}: no connection within "
                               f"{timeout[0]:.1f}s", where=WHERE)
        return ConfigError(f"cannot reach the Kubernetes API server {self.server} (context {self.context!r}): "
                           f"{_connection_reason(cause)}", where=WHERE)


def _status(err: Any) -> tuple[str, str]:
    """(message, reason) of the API server's Status body, else ("", the HTTP reason)."""
    import json

    try:
        body = json.loads(err.body or "")
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        return " ".join(str(body.get("message") or "").split()), str(body.get("reason") or "")
    return "", str(err.reason or "")


def _tls_reason(cause: Any) -> str:
    text = str(cause)
    m = re.search(r"certificate verify failed: ([^(\]')\"]+)", text)
    if m:
        return f"certificate verify failed: {m.group(1).strip()}"
    return _one_line(cause)[:200]


def _connection_reason(cause: Any) -> str:
    text = str(cause)
    m = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    return m.group(1).strip() if m else _one_line(cause)[:200]


def _qualified(resource: str) -> str:
    group = _RESOURCES[resource]
    return f"{resource}.{group}" if group else resource


def _resources_text(resources: list[str]) -> str:
    return " and ".join(f'"{r}" (API group "{_RESOURCES[r]}")' for r in resources)


def _grant(resource: str, ns: str | None) -> str:
    what = f'grant the verb "list" on "{resource}" (API group "{_RESOURCES[resource]}")'
    if ns is not None:
        return f"{what} in namespace {ns}: a Role there and a RoleBinding to this account"
    return f"{what}: a ClusterRole and ClusterRoleBinding, or a Role and RoleBinding in each namespace to read"


def _api_path(resource: str, ns: str | None) -> str:
    base = "/apis/networking.k8s.io/v1" if resource == "ingresses" else "/api/v1"
    return f"{base}/namespaces/{ns}/{resource}" if ns and resource != "namespaces" else f"{base}/{resource}"


# -- candidates --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Address:
    url: str        # scheme://host[:port]
    described: str  # "ClusterIP 10.96.0.12:8088", "LoadBalancer 203.0.113.7:3000"


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _url(scheme: str, host: str, port: int | None = None) -> str:
    shown = f"[{host}]" if ":" in host else host
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


def _words(value: str) -> set[str]:
    return {w for w in re.split(r"[-_.]", value.lower()) if w}


def _match(value: str | None, platform_hints: Mapping[str, tuple[str, ...]]) -> str | None:
    if not value:
        return None
    low = value.lower()
    words = _words(low)
    for platform, names in platform_hints.items():
        for name in names:
            if low == name.lower() or name.lower() in words:
                return platform
    return None


def _hint(sources: list[tuple[str, str | None]], platform_hints: Mapping[str, tuple[str, ...]]
          ) -> tuple[str | None, str]:
    """The first (what, value) whose value names a platform: (platform, "label app=superset"), else (None, "")."""
    for what, value in sources:
        platform = _match(value, platform_hints)
        if platform is not None:
            return platform, f"{what}={value}" if what.startswith("label") else f"{what} {value}"
    return None, ""


def _labels(obj: Any) -> dict[str, str]:
    return dict((obj.metadata.labels if obj.metadata is not None else None) or {})


def _label_sources(obj: Any) -> list[tuple[str, str | None]]:
    labels = _labels(obj)
    return [(f"label {key}", labels.get(key)) for key in HINT_LABELS]


def _port_protocol(port: Any) -> str:
    """'https', 'http' or '' (not HTTP: skip) for a Service port."""
    if (port.protocol or "TCP").upper() != "TCP":
        return ""
    app = (port.app_protocol or "").lower()
    name = (port.name or "").lower()
    first = name.split("-", 1)[0]
    if app in HTTPS_PROTOCOLS or first == "https" or name == "https":
        return "https"
    if app and app not in HTTP_PROTOCOLS:
        return ""
    if not app and first in NOT_HTTP:
        return ""
    if port.port in HTTPS_PORTS and app not in ("http", "http2", "h2c", "kubernetes.io/h2c"):
        return "https"
    return "http"


def _service_address(svc: Any, port: Any, scheme: str) -> _Address | None:
    spec = svc.spec
    cluster_ip = spec.cluster_ip if spec.cluster_ip and spec.cluster_ip != "None" else None
    lb = None
    if spec.type == "LoadBalancer" and svc.status is not None and svc.status.load_balancer is not None:
        for entry in svc.status.load_balancer.ingress or []:
            if entry.ip or entry.hostname:
                lb = entry.ip or entry.hostname
                break
    if lb is not None:
        over = f", over ClusterIP {_host_port(cluster_ip, port.port)}" if cluster_ip else ""
        return _Address(_url(scheme, lb, port.port), f"LoadBalancer {_host_port(lb, port.port)}{over}")
    if cluster_ip is None:
        return None
    described = f"ClusterIP {_host_port(cluster_ip, port.port)}"
    if spec.type == "LoadBalancer":
        described += " (its load balancer has no address yet)"
    elif spec.type == "NodePort" and port.node_port:
        described += f" (also NodePort {port.node_port} on every node)"
    return _Address(_url(scheme, cluster_ip, port.port), described)


def _ingress_path(path: str | None) -> str:
    """The URL path an Ingress path routes ("" for the root, or for a regular expression it cannot be)."""
    if not path or path == "/" or not _PLAIN_PATH.fullmatch(path):
        return ""
    return path.rstrip("/")


def _tls_covers(ingress: Any, host: str) -> bool:
    for tls in ingress.spec.tls or []:
        if not tls.hosts:  # no hosts: the controller's default certificate, for every host
            return True
        for pattern in tls.hosts:
            if pattern == host or (pattern.startswith("*.") and host.split(".", 1)[-1] == pattern[2:]
                                   and "." in host):
                return True
    return False


def _ingress_lb(ingress: Any) -> str | None:
    status = ingress.status
    if status is None or status.load_balancer is None:
        return None
    for entry in status.load_balancer.ingress or []:
        if entry.ip or entry.hostname:
            return entry.ip or entry.hostname
    return None


def _find_port(svc: Any, backend_port: Any) -> Any:
    if backend_port is None:
        return None
    for port in svc.spec.ports or []:
        if (backend_port.number is not None and port.port == backend_port.number) or (
                backend_port.name and port.name == backend_port.name):
            return port
    return None


def _candidates(listing: _Listing, context: str, platform_hints: Mapping[str, tuple[str, ...]]) -> list[Candidate]:
    services: dict[tuple[str, str], Any] = {}
    for svc in listing.services:
        if svc.metadata is not None and svc.spec is not None:
            services.setdefault((svc.metadata.namespace or "", svc.metadata.name or ""), svc)
    by_ns: dict[str, list[Candidate]] = {}
    routed: set[tuple[str, str, int]] = set()  # Service ports an Ingress host stands for
    seen: set[str] = set()

    def add(ns: str, candidate: Candidate) -> None:
        if candidate.url not in seen:
            seen.add(candidate.url)
            by_ns.setdefault(ns, []).append(candidate)

    for ing in listing.ingresses:
        if ing.metadata is None or ing.spec is None:
            continue
        ns, name = ing.metadata.namespace or "", ing.metadata.name or ""
        for rule in ing.spec.rules or []:
            if rule.http is None:
                continue
            host = rule.host or _ingress_lb(ing)
            if not host or "*" in host:
                continue  # a wildcard host, or no host and no load-balancer address yet: no address to try
            scheme = "https" if _tls_covers(ing, host) else "http"
            for path in rule.http.paths or []:
                backend = path.backend.service if path.backend is not None else None
                if backend is None:
                    continue  # a resource backend (not a Service): nothing BI-like to identify
                url_path = _ingress_path(path.path)
                svc = services.get((ns, backend.name))
                port = _find_port(svc, backend.port) if svc is not None else None
                wanted = (backend.port.number if backend.port is not None and backend.port.number is not None
                          else backend.port.name if backend.port is not None else "?")
                kind = "Ingress host" if rule.host else "Ingress load balancer"
                if port is not None:
                    routed.add((ns, backend.name, port.port))
                    address = _service_address(svc, port, _port_protocol(port) or "http")
                    over = f", over {address.described.split(', over ')[0]} of" if address else ", to"
                    note = f"{kind} {host}{url_path}{over} service {backend.name}:{wanted}"
                else:
                    missing = "not listed" if svc is None else "no such port on it"
                    note = f"{kind} {host}{url_path}, routes to service {backend.name}:{wanted} ({missing})"
                sources = _label_sources(ing)
                if svc is not None:
                    sources += _label_sources(svc)
                if port is not None:
                    sources.append(("port name", port.name))
                sources += [("service name", backend.name), ("host", host.split(".", 1)[0])]
                platform, why = _hint(sources, platform_hints)
                if why:
                    note += f"; hint from {why}"
                add(ns, Candidate(url=_url(scheme, host) + url_path,
                                  origin=f"kubernetes:{context}/{ns}/ingress/{name}/{host}{url_path}",
                                  platform_hint=platform, note=note))

    for (ns, name), svc in services.items():
        if svc.spec.type == "ExternalName":
            continue
        for port in svc.spec.ports or []:
            if (ns, name, port.port) in routed:
                continue
            scheme = _port_protocol(port)
            if not scheme:
                continue
            address = _service_address(svc, port, scheme)
            if address is None:
                continue  # headless, and no load balancer
            platform, why = _hint(_label_sources(svc) + [("port name", port.name), ("service name", name)],
                                  platform_hints)
            note = address.described + (f"; hint from {why}" if why else "")
            add(ns, Candidate(url=address.url, origin=f"kubernetes:{context}/{ns}/service/{name}:{port.port}",
                              platform_hint=platform, note=note))

    return [c for ns in sorted(by_ns) for c in by_ns[ns]]


__all__ = ["kubernetes_candidates"]
