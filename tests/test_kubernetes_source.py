"""Kubernetes discovery (issue 15) through the official ``kubernetes`` client against the loopback stand-in of the API
server (scanner.testing.fake_kubernetes): real sockets on 127.0.0.1, a kubeconfig (or in-cluster files) pointing at
it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from scanner.discovery import Candidate, Problem
from scanner.discovery.kubernetes import kubernetes_candidates
from scanner.errors import ConfigError, ExitCode
from scanner.testing.fake_kubernetes import (
    ALL,
    Account,
    FakeKubernetes,
    ingress,
    ingress_path,
    parse_selector,
    selector_matches,
    service,
    service_port,
    write_kubeconfig,
)
from scanner.testing.server import LocalServer, Response

HINTS = {"superset": ("superset",), "metabase": ("metabase",), "grafana": ("grafana",), "redash": ("redash",),
         "lightdash": ("lightdash",), "tableau": ("tableau",), "looker": ("looker",)}
ADMIN = "admin-token-4f1c"
SCOPED = "scoped-token-9a2e"   # bound in analytics and monitoring only (RoleBindings), nothing cluster-wide
NS_READER = "nsreader-token-77b0"  # may list namespaces cluster-wide, services/ingresses in analytics only
SCOPED_USER = "system:serviceaccount:scanner:discovery"


@pytest.fixture(autouse=True)
def _no_proxy_no_cluster(monkeypatch):
    """The client reads proxy variables and the in-cluster variables from the environment: neither may leak in."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                 "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)


def cluster_objects() -> list[dict]:
    """Services and Ingresses of several platforms in several namespaces, plus things that are no candidate."""
    return [
        # analytics: Superset behind an Ingress with TLS (the Service port by number); its Postgres is not HTTP
        service("superset", "analytics", [service_port(8088, "http")], cluster_ip="10.96.0.12",
                labels={"app.kubernetes.io/name": "superset", "tier": "bi"}),
        ingress("superset", "analytics", [("superset.example.com", [ingress_path("superset", 8088)])],
                tls=[["superset.example.com"]], labels={"app.kubernetes.io/name": "superset", "tier": "bi"}),
        service("superset-postgresql", "analytics", [service_port(5432, "tcp-postgresql")], cluster_ip="10.96.0.13",
                labels={"app.kubernetes.io/name": "postgresql"}),
        # finance: Metabase on a LoadBalancer (label "app"), a headless Service and an ExternalName one (skipped)
        service("metabase", "finance", [service_port(3000, "http")], cluster_ip="10.96.1.20", type="LoadBalancer",
                labels={"app": "metabase", "tier": "bi"}, load_balancer=[{"ip": "203.0.113.7"}]),
        service("metabase-headless", "finance", [service_port(3000, "http")], cluster_ip="None",
                labels={"app": "metabase"}),
        service("warehouse", "finance", [service_port(443, "https")], type="ExternalName",
                external_name="warehouse.example.net"),
        # monitoring: Grafana on a ClusterIP, port named "service" as its Helm chart names it; a DNS port on UDP
        service("grafana", "monitoring", [service_port(80, "service", target_port=3000)], cluster_ip="10.96.2.30",
                labels={"app.kubernetes.io/name": "grafana"}),
        service("dns", "monitoring", [service_port(53, "dns", protocol="UDP")], cluster_ip="10.96.2.10"),
        # bi: Redash behind a plain-http Ingress (the port by name); Lightdash under a path with a wildcard TLS
        # host; a Tableau NodePort with an https port 8443 and an http one; a Service named after Looker, no labels
        service("redash", "bi", [service_port(5000, "http"), service_port(9090, "metrics")], cluster_ip="10.96.3.40",
                labels={"app.kubernetes.io/name": "redash"}),
        ingress("redash", "bi", [("redash.internal", [ingress_path("redash", "http")])]),
        service("lightdash", "bi", [service_port(8080, "http")], cluster_ip="10.96.3.41"),
        ingress("tools", "bi", [("tools.corp.example", [ingress_path("lightdash", 8080, "/lightdash/")])],
                tls=[["*.corp.example"]], labels={"app.kubernetes.io/name": "lightdash"}),
        service("tableau", "bi", [service_port(8443, "https", node_port=30443), service_port(8080, "http",
                                                                                              node_port=30080)],
                cluster_ip="10.96.3.42", type="NodePort", labels={"app": "tableau-server"}),
        service("looker", "bi", [service_port(9999, "api")], cluster_ip="10.96.3.43"),
    ]


def tokens() -> dict[str, Account]:
    return {ADMIN: Account("kubernetes-admin"),
            SCOPED: Account.per_namespace(SCOPED_USER, ["analytics", "monitoring"]),
            NS_READER: Account(SCOPED_USER, frozenset({"namespaces"}),
                               {"analytics": frozenset({"services", "ingresses"})})}


@pytest.fixture
def k8s():
    with FakeKubernetes(tokens=tokens()) as fake:
        fake.add(*cluster_objects())
        yield fake


def discover(kubeconfig: Path | None, *, context: str | None = None, namespaces: list[str] | None = None,
             label_selector: str | None = None, deadline_s: float = 20.0) -> tuple[list[Candidate], list[Problem]]:
    return kubernetes_candidates(kubeconfig=None if kubeconfig is None else str(kubeconfig), context=context,
                                 namespaces=namespaces, label_selector=label_selector, platform_hints=HINTS,
                                 deadline=time.monotonic() + deadline_s)


def triples(candidates: list[Candidate]) -> list[tuple[str, str, str | None]]:
    return [(c.url, c.origin, c.platform_hint) for c in candidates]


EVERYTHING = [
    ("https://superset.example.com", "kubernetes:fake/analytics/ingress/superset/superset.example.com", "superset"),
    ("http://redash.internal", "kubernetes:fake/bi/ingress/redash/redash.internal", "redash"),
    ("https://tools.corp.example/lightdash", "kubernetes:fake/bi/ingress/tools/tools.corp.example/lightdash",
     "lightdash"),
    ("http://10.96.3.43:9999", "kubernetes:fake/bi/service/looker:9999", "looker"),
    ("http://10.96.3.40:9090", "kubernetes:fake/bi/service/redash:9090", "redash"),
    ("https://10.96.3.42:8443", "kubernetes:fake/bi/service/tableau:8443", "tableau"),
    ("http://10.96.3.42:8080", "kubernetes:fake/bi/service/tableau:8080", "tableau"),
    ("http://203.0.113.7:3000", "kubernetes:fake/finance/service/metabase:3000", "metabase"),
    ("http://10.96.2.30", "kubernetes:fake/monitoring/service/grafana:80", "grafana"),
]


def test_services_and_ingresses_of_several_platforms_give_the_right_candidates(k8s, tmp_path):
    candidates, problems = discover(k8s.kubeconfig(tmp_path / "kubeconfig", ADMIN))
    assert problems == []
    assert triples(candidates) == EVERYTHING
    notes = {c.origin.split("/", 1)[1]: c.note for c in candidates}
    assert notes["analytics/ingress/superset/superset.example.com"] == (
        "Ingress host superset.example.com, over ClusterIP 10.96.0.12:8088 of service superset:8088; "
        "hint from label app.kubernetes.io/name=superset")
    assert notes["finance/service/metabase:3000"] == (
        "LoadBalancer 203.0.113.7:3000, over ClusterIP 10.96.1.20:3000; hint from label app=metabase")
    assert notes["bi/service/tableau:8443"] == ("ClusterIP 10.96.3.42:8443 (also NodePort 30443 on every node); "
                                               "hint from label app=tableau-server")
    assert notes["bi/service/looker:9999"] == "ClusterIP 10.96.3.43:9999; hint from service name looker"
    # cluster-wide lists, one page each: no namespace-by-namespace fallback was needed
    assert [(r.path, r.status) for r in k8s.requests] == [("/api/v1/services", 200),
                                                          ("/apis/networking.k8s.io/v1/ingresses", 200)]


def test_the_ingress_host_is_preferred_over_the_service_address_it_routes_to(k8s, tmp_path):
    candidates, _ = discover(k8s.kubeconfig(tmp_path / "kubeconfig", ADMIN))
    urls = [c.url for c in candidates]
    # the routed Service ports give no candidate of their own ...
    assert "http://10.96.0.12:8088" not in urls        # superset, routed by port number
    assert "http://10.96.3.40:5000" not in urls        # redash, routed by port name "http"
    assert "http://10.96.3.41:8080" not in urls        # lightdash, routed under /lightdash/
    # ... while a port of the same Service that no Ingress routes to still does
    assert "http://10.96.3.40:9090" in urls
    redash = next(c for c in candidates if c.url == "http://redash.internal")
    assert redash.note.startswith("Ingress host redash.internal, over ClusterIP 10.96.3.40:5000 of service redash:http")


def test_an_ingress_over_a_load_balancer_says_so_and_an_unlisted_backend_is_still_a_candidate(tmp_path):
    with FakeKubernetes(tokens=tokens()) as fake:
        fake.add(service("metabase", "finance", [service_port(3000, "http")], cluster_ip="10.96.1.20",
                         type="LoadBalancer", load_balancer=[{"hostname": "lb-1.elb.example.com"}]),
                 ingress("bi", "finance", [("metabase.example.com", [ingress_path("metabase", 3000)]),
                                           ("gone.example.com", [ingress_path("deleted-svc", 80)]),
                                           ("odd.example.com", [ingress_path("metabase", 8080)]),
                                           (None, [ingress_path("metabase", 3000, "/mb")])],
                         load_balancer=[{"ip": "198.51.100.9"}]))
        candidates, problems = discover(fake.kubeconfig(tmp_path / "kubeconfig", ADMIN))
    assert problems == []
    assert [(c.url, c.note) for c in candidates] == [
        ("http://metabase.example.com", "Ingress host metabase.example.com, over LoadBalancer "
                                        "lb-1.elb.example.com:3000 of service metabase:3000; hint from service name "
                                        "metabase"),
        ("http://gone.example.com", "Ingress host gone.example.com, routes to service deleted-svc:80 (not listed)"),
        ("http://odd.example.com", "Ingress host odd.example.com, routes to service metabase:8080 (no such port on "
                                   "it); hint from service name metabase"),
        ("http://198.51.100.9/mb", "Ingress load balancer 198.51.100.9/mb, over LoadBalancer lb-1.elb.example.com:3000"
                                   " of service metabase:3000; hint from service name metabase"),
    ]


@pytest.mark.parametrize(("selector", "expected"), [
    ("app.kubernetes.io/name in (superset,grafana)", ["superset", "grafana"]),
    ("tier=bi", ["superset", "metabase"]),
    ("app", ["metabase", "tableau"]),
    ("app.kubernetes.io/name,app.kubernetes.io/name notin (superset,postgresql,grafana),tier!=bi", ["lightdash", "redash"]),
])
def test_the_label_selector_goes_to_the_api_server(k8s, tmp_path, selector, expected):
    candidates, problems = discover(k8s.kubeconfig(tmp_path / "kubeconfig", ADMIN), label_selector=selector)
    assert problems == []
    assert sorted({c.platform_hint for c in candidates}) == sorted(expected)


def test_a_label_selector_the_api_server_rejects_is_a_config_error(k8s, tmp_path):
    with pytest.raises(ConfigError) as caught:
        discover(k8s.kubeconfig(tmp_path / "kubeconfig", ADMIN), label_selector="app in superset")
    assert "label_selector 'app in superset'" in str(caught.value) and "\n" not in str(caught.value)


def test_a_forbidden_namespace_is_reported_and_the_others_are_listed(k8s, tmp_path):
    candidates, problems = discover(k8s.kubeconfig(tmp_path / "kubeconfig", SCOPED),
                                    namespaces=["analytics", "finance", "monitoring"])
    assert triples(candidates) == [EVERYTHING[0], EVERYTHING[-1]]  # superset's Ingress, grafana's Service
    assert [(p.origin, p.message) for p in problems] == [
        ("kubernetes:fake/finance", f'services is forbidden: User "{SCOPED_USER}" cannot list resource "services" '
                                    'in API group "" in the namespace "finance"'),
        ("kubernetes:fake/finance", f'ingresses.networking.k8s.io is forbidden: User "{SCOPED_USER}" cannot list '
                                    'resource "ingresses" in API group "networking.k8s.io" in the namespace "finance"'),
    ]
    assert problems[0].hint.startswith('grant the verb "list" on "services" (API group "") in namespace finance')
    assert 'on "ingresses" (API group "networking.k8s.io")' in problems[1].hint


def test_with_namespaces_given_a_cluster_wide_forbidden_account_works(k8s, tmp_path):
    candidates, problems = discover(k8s.kubeconfig(tmp_path / "kubeconfig", SCOPED),
                                    namespaces=["monitoring", "analytics", "monitoring"])
    assert problems == []
    assert triples(candidates) == [EVERYTHING[0], EVERYTHING[-1]]
    # only the namespaces' own lists were asked for (each once), never a cluster-wide one
    assert [(r.path, r.status) for r in k8s.requests] == [
        ("/api/v1/namespaces/monitoring/services", 200),
        ("/apis/networking.k8s.io/v1/namespaces/monitoring/ingresses", 200),
        ("/api/v1/namespaces/analytics/services", 200),
        ("/apis/networking.k8s.io/v1/namespaces/analytics/ingresses", 200),
    ]


def test_without_namespaces_a_per_namespace_account_gets_a_problem_saying_to_set_them(k8s, tmp_path):
    candidates, problems = discover(k8s.kubeconfig(tmp_path / "kubeconfig", SCOPED))
    assert candidates == []
    assert len(problems) == 1 and problems[0].origin == "kubernetes:fake"
    assert "at the cluster scope" in problems[0].message and 'cannot list resource "namespaces"' in problems[0].message
    assert "set [discovery.kubernetes] namespaces" in problems[0].hint


def test_without_namespaces_a_cluster_wide_forbidden_list_falls_back_to_each_namespace(k8s, tmp_path):
    candidates, problems = discover(k8s.kubeconfig(tmp_path / "kubeconfig", NS_READER))
    assert triples(candidates) == [EVERYTHING[0]]
    assert [(p.origin, p.message) for p in problems] == [
        ("kubernetes:fake", "services cannot be listed cluster-wide nor in 3 of 4 namespaces: bi, finance, monitoring"),
        ("kubernetes:fake", "ingresses.networking.k8s.io cannot be listed cluster-wide nor in 3 of 4 namespaces: bi, "
                            "finance, monitoring"),
    ]


def test_a_wrong_token_is_a_one_line_config_error_without_the_token(k8s, tmp_path):
    with pytest.raises(ConfigError) as caught:
        discover(k8s.kubeconfig(tmp_path / "kubeconfig", "wrong-token-5d1e"))
    text = str(caught.value)
    assert text.startswith("[discovery.kubernetes]: the Kubernetes API server http://127.0.0.1:")
    assert "refused the credentials of context 'fake' (401 Unauthorized)" in text
    assert "\n" not in text and "wrong-token-5d1e" not in text and caught.value.exit_code == ExitCode.USAGE
    assert [r.status for r in k8s.requests] == [401]  # one call, not retried


def test_an_unreachable_api_server_is_a_one_line_config_error(tmp_path, closed_port):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server=f"http://127.0.0.1:{closed_port}", token=ADMIN)
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        discover(kubeconfig)
    assert str(caught.value) == (f"[discovery.kubernetes]: cannot reach the Kubernetes API server "
                                 f"http://127.0.0.1:{closed_port} (context 'fake'): Connection refused")
    assert time.monotonic() - started < 5


def test_an_https_api_server_is_trusted_through_the_kubeconfig_ca(tmp_path, server_tls, ca_pem):
    with FakeKubernetes(tokens=tokens(), tls=server_tls) as fake:
        fake.add(*cluster_objects())
        assert fake.url.startswith("https://127.0.0.1:")
        candidates, problems = discover(fake.kubeconfig(tmp_path / "kubeconfig", ADMIN, ca_pem=ca_pem))
        assert problems == [] and triples(candidates) == EVERYTHING
        url = fake.url
        with pytest.raises(ConfigError) as caught:  # the same server, no CA in the kubeconfig: not trusted
            discover(fake.kubeconfig(tmp_path / "no-ca", ADMIN))
    assert str(caught.value).startswith(f"[discovery.kubernetes]: TLS to the Kubernetes API server {url} "
                                        "failed: certificate verify failed")
    assert "\n" not in str(caught.value)


def test_in_a_pod_the_service_account_is_used(tmp_path, server_tls, ca_pem, monkeypatch):
    import kubernetes.config.incluster_config as incluster

    token = tmp_path / "token"
    token.write_text(SCOPED)
    with FakeKubernetes(tokens=tokens(), tls=server_tls) as fake:
        fake.add(*cluster_objects())
        monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(token))
        monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", str(ca_pem))
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(fake._server.port))
        candidates, problems = discover(None, namespaces=["monitoring"])
        principals = {r.principal for r in fake.requests}
    assert problems == [] and principals == {SCOPED_USER}
    assert [c.origin for c in candidates] == ["kubernetes:in-cluster/monitoring/service/grafana:80"]


def test_the_default_kubeconfig_and_the_chosen_context_are_used(k8s, tmp_path, closed_port, monkeypatch):
    elsewhere = f"http://127.0.0.1:{closed_port}"
    kubeconfig = write_kubeconfig(tmp_path / "config", server=k8s.url, token=ADMIN, context="prod",
                                  more_contexts={"dead": elsewhere})
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    candidates, _ = discover(None, namespaces=["monitoring"])  # $KUBECONFIG, its current context
    assert [c.origin for c in candidates] == ["kubernetes:prod/monitoring/service/grafana:80"]
    with pytest.raises(ConfigError, match="cannot reach the Kubernetes API server"):
        discover(None, context="dead", namespaces=["monitoring"])
    with pytest.raises(ConfigError, match="kubeconfig .*config: .*nope"):
        discover(kubeconfig, context="nope")
    with pytest.raises(ConfigError, match=r"kubeconfig .*missing\.yaml not found"):
        discover(tmp_path / "missing.yaml")


def test_long_lists_are_read_page_by_page(tmp_path):
    with FakeKubernetes(tokens=tokens()) as fake:
        fake.add(*[service(f"svc-{n:04d}", "big", [service_port(8080, "http")],
                           cluster_ip=f"10.97.{n // 250}.{n % 250 + 1}") for n in range(1203)])
        candidates, problems = discover(fake.kubeconfig(tmp_path / "kubeconfig", ADMIN), namespaces=["big"])
        paths = [r.path for r in fake.requests]
    assert problems == [] and len(candidates) == 1203 and len({c.url for c in candidates}) == 1203
    assert paths.count("/api/v1/namespaces/big/services") == 3  # 500 + 500 + 203


def test_the_deadline_bounds_the_listing(tmp_path):
    with FakeKubernetes(tokens=tokens(), latency=3.0) as fake:
        fake.add(*cluster_objects())
        started = time.monotonic()
        candidates, problems = discover(fake.kubeconfig(tmp_path / "kubeconfig", ADMIN), deadline_s=0.6)
        elapsed = time.monotonic() - started
    assert candidates == [] and elapsed < 1.5
    assert [p.message for p in problems] == ["deadline reached while listing services cluster-wide; the candidates "
                                             "listed before it are kept"]


def test_a_redirect_is_not_followed_with_the_token(k8s, tmp_path):
    received = []
    with LocalServer(lambda r: received.append(r.path) or Response.json({"kind": "ServiceList", "items": []})) as other:
        k8s.inject(307, times=None, path_prefix="/api/v1/services", headers={"Location": other.url + "/api/v1/x"},
                   body=b"")
        candidates, problems = discover(k8s.kubeconfig(tmp_path / "kubeconfig", ADMIN))
    assert received == []
    assert [p.message for p in problems] == ["GET /api/v1/services answered 307 Temporary Redirect"]
    assert {c.origin.split("/")[2] for c in candidates} == {"ingress"}  # the Ingress list still went on


def test_a_server_error_on_one_list_is_a_problem_and_the_rest_goes_on(k8s, tmp_path):
    k8s.inject(503, times=None, path_prefix="/api/v1/namespaces/finance/")
    candidates, problems = discover(k8s.kubeconfig(tmp_path / "kubeconfig", ADMIN),
                                    namespaces=["finance", "monitoring"])
    assert [c.origin for c in candidates] == ["kubernetes:fake/monitoring/service/grafana:80"]
    assert [(p.origin, p.message) for p in problems] == [
        ("kubernetes:fake/finance", "GET /api/v1/namespaces/finance/services answered 503 ServiceUnavailable: "
                                    "service unavailable")]


# -- the stand-in itself ---------------------------------------------------------------------------------------------

def _get(url: str, token: str | None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - loopback only
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_stand_in_answers_the_api_servers_status_bodies(k8s):
    assert _get(k8s.url + "/api/v1/services", "nope") == (401, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
        "reason": "Unauthorized", "code": 401})
    assert _get(k8s.url + "/api/v1/namespaces/finance/services", SCOPED) == (403, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'services is forbidden: User "{SCOPED_USER}" cannot list resource "services" in API group "" in '
                   'the namespace "finance"',
        "reason": "Forbidden", "details": {"kind": "services"}, "code": 403})
    status, body = _get(k8s.url + "/apis/networking.k8s.io/v1/ingresses", SCOPED)
    assert status == 403 and body["details"] == {"group": "networking.k8s.io", "kind": "ingresses"}
    assert body["message"].endswith('in API group "networking.k8s.io" at the cluster scope')
    status, body = _get(k8s.url + "/api/v1/namespaces/nowhere/services", ADMIN)  # no such namespace: empty list
    assert status == 200 and body["kind"] == "ServiceList" and body["apiVersion"] == "v1" and body["items"] == []
    assert body["metadata"]["resourceVersion"].isdigit()
    status, body = _get(k8s.url + "/apis/networking.k8s.io/v1/namespaces/bi/ingresses", ADMIN)
    assert status == 200 and (body["kind"], body["apiVersion"]) == ("IngressList", "networking.k8s.io/v1")
    item = body["items"][0]
    assert "kind" not in item and set(item) == {"metadata", "spec", "status"}
    assert {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"} <= set(item["metadata"])


def test_the_stand_ins_objects_are_what_the_clients_models_accept(k8s, tmp_path):
    from kubernetes import client, config

    api = config.new_client_from_config(str(k8s.kubeconfig(tmp_path / "kubeconfig", ADMIN)), persist_config=False)
    with api:
        services = client.CoreV1Api(api).list_service_for_all_namespaces()
        ingresses = client.NetworkingV1Api(api).list_ingress_for_all_namespaces()
        namespaces = client.CoreV1Api(api).list_namespace()
    assert isinstance(services, client.V1ServiceList) and len(services.items) == 11
    metabase = next(s for s in services.items if s.metadata.name == "metabase")
    assert metabase.status.load_balancer.ingress[0].ip == "203.0.113.7" and metabase.spec.ports[0].port == 3000
    tools = next(i for i in ingresses.items if i.metadata.name == "tools")
    assert tools.spec.rules[0].http.paths[0].backend.service.port.number == 8080
    assert tools.spec.tls[0].hosts == ["*.corp.example"]
    assert sorted(n.metadata.name for n in namespaces.items) == ["analytics", "bi", "finance", "monitoring"]


@pytest.mark.parametrize(("selector", "labels", "matches"), [
    ("a=b", {"a": "b"}, True), ("a==b", {"a": "c"}, False), ("a!=b", {}, True), ("a!=b", {"a": "b"}, False),
    ("a in (x, y)", {"a": "y"}, True), ("a in (x,y)", {}, False), ("a notin (x,y)", {}, True),
    ("a", {"a": ""}, True), ("!a", {"a": "1"}, False), ("a=b,c", {"a": "b"}, False), ("", {"z": "1"}, True),
])
def test_the_stand_ins_label_selectors(selector, labels, matches):
    assert selector_matches(parse_selector(selector), labels) is matches


def test_an_account_bound_per_namespace_may_list_nothing_cluster_wide():
    account = Account.per_namespace("sa", ["a"])
    assert account.may_list("services", "a") and not account.may_list("services", "b")
    assert not account.may_list("services", None) and not account.may_list("namespaces", None)
    assert Account("admin").cluster == ALL
