# SPDX-License-Identifier: Apache-2.0
"""cfgwctl plan: offline compilation of manifests.

Runs bin/cfgwctl over the Gateway API v1.6.1 examples copied into
tests/data/gateway-api-examples and over tests/data/plan, and checks the
route table, tunnel ingress, DNS list and conditions.  Golden outputs live
in tests/data/plan/golden; regenerate them after an intended change with
CFGW_UPDATE_GOLDEN=1.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402

REPO = harness.REPO
EX = REPO / "tests" / "data" / "gateway-api-examples" / "standard"
PLAN = REPO / "tests" / "data" / "plan"
GOLDEN = PLAN / "golden"


def cfgwctl(*args, check=True):
    p = subprocess.run([str(harness.binpath("cfgwctl")), *map(str, args)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode >= 0, f"cfgwctl crashed: {p.returncode}\n{p.stderr}"
    if check:
        assert p.returncode == 0, p.stderr
    return p


def plan_json(*args):
    return json.loads(cfgwctl("plan", "-o", "json", *args).stdout)


def host(doc, name):
    for h in doc["table"]["hosts"]:
        if h["hostname"] == name:
            return h
    raise AssertionError(f"no host {name}: "
                         f"{[h['hostname'] for h in doc['table']['hosts']]}")


def entries(doc, name, kind="http"):
    return [f"{e['route']['name']}#{e['route']['rule']}.{e['route']['match']}"
            for e in host(doc, name)[kind]]


def conds(doc, ns, name, parent=0):
    for r in doc["status"]["routes"]:
        if r["namespace"] == ns and r["name"] == name:
            return {c["type"]: f"{c['status']}/{c['reason']}"
                    for c in r["parents"][parent]["conditions"]}
    raise AssertionError(f"no route {ns}/{name}")


def test_version_and_help():
    out = cfgwctl("version").stdout
    assert out.startswith("cfgwctl version ")
    assert "plan" in cfgwctl("--help").stdout
    assert "--gateway" in cfgwctl("plan", "--help").stdout
    p = cfgwctl("nosuchcommand", check=False)
    assert p.returncode == 2 and "unknown command" in p.stderr
    p = cfgwctl("plan", check=False)
    assert p.returncode == 2 and "-f" in p.stderr


def test_http_routing_example():
    d = plan_json("-f", EX / "http-routing")
    assert [h["hostname"] for h in d["table"]["hosts"]] == [
        "bar.example.com", "example.com", "foo.example.com", "*"]
    # The header match (canary) precedes the rule without matches.
    assert entries(d, "bar.example.com") == ["bar-route#0.0",
                                             "bar-route#1.0"]
    canary = host(d, "bar.example.com")["http"][0]
    assert canary["match"]["headers"] == [
        {"type": "Exact", "name": "env", "value": "canary"}]
    assert canary["backends"][0]["host"] == \
        "bar-svc-canary.default.svc.cluster.local"
    assert host(d, "foo.example.com")["http"][0]["match"]["path"] == {
        "type": "PathPrefix", "value": "/login"}
    assert [r["hostname"] for r in d["dns"]] == [
        "bar.example.com", "example.com", "foo.example.com"]
    assert d["dns"][0]["route"] == "HTTPRoute/default/bar-route"
    ing = d["tunnel"]["ingress"]
    assert [r.get("hostname") for r in ing] == [
        "bar.example.com", "example.com", "foo.example.com", None]
    assert all(r["service"] == "http://localhost:8080" for r in ing[:-1])
    assert ing[-1] == {"service": "http_status:404"}
    for r in d["status"]["routes"]:
        assert conds(d, r["namespace"], r["name"])["Accepted"] == \
            "True/Accepted"
    assert d["status"]["listeners"][0]["attachedRoutes"] == 3
    assert d["table"]["version"] == "1.0"
    assert len(d["table"]["generation"]) == 64


def test_grpc_routing_example():
    d = plan_json("-f", EX / "grpc-routing")
    for h in ("foo.example.com", "bar.example.com"):
        assert host(d, h)["http"] == []
        assert host(d, h)["grpc"], h
        assert all(b["protocol"] == "h2c"
                   for e in host(d, h)["grpc"] for b in e["backends"])
    for r in d["tunnel"]["ingress"][:-1]:
        assert r["service"] == "https://localhost:8443"
        assert r["originRequest"] == {"http2Origin": True,
                                      "noTLSVerify": True}


def test_cross_namespace_selector():
    d = plan_json("-f", EX / "cross-namespace-routing")
    # /login and /store tie on length: site-ns/login < store-ns/store.
    assert entries(d, "foo.example.com") == ["login#0.0", "store#0.0",
                                             "home#0.0"]
    login = host(d, "foo.example.com")["http"][0]
    assert [(b["name"], b["weight"]) for b in login["backends"]] == [
        ("login-v1", 90), ("login-v2", 10)]
    # Without the Namespace objects the selector's labels are unknown.
    d = plan_json("-f", EX / "cross-namespace-routing" / "gateway.yaml",
                  "-f", EX / "cross-namespace-routing" / "site-route.yaml")
    assert conds(d, "site-ns", "home")["Accepted"] == \
        "False/NotAllowedByListeners"
    assert host(d, "foo.example.com")["http"] == []
    assert d["dns"] == []


def test_http_and_https_listeners_share_hosts():
    d = plan_json("-f", EX / "simple-http-https")
    bar = host(d, "bar.example.com")
    assert bar["listeners"] == ["http", "https"]
    assert [(e["route"]["name"], e["schemes"]) for e in bar["http"]] == [
        ("bar", ["https"]), ("tls-redirect", ["http"])]
    assert host(d, "*.foo.com")["http"] == []


def test_features():
    d = plan_json("-f", PLAN / "features.yaml", "--cluster-name", "prod")
    assert d["tunnel_name"] == ("cloudflare-gateway-controller.io/clusters/"
                                "prod/namespaces/infra/gateways/edge")
    assert entries(d, "shop.example.com") == [
        "shop#1.1",      # Exact /cart
        "shop#2.0",      # RegularExpression
        "shop#1.0",      # PathPrefix /cart + POST
        "legacy#0.0",    # PathPrefix /cart + query
        "shop#4.0",      # /live
        "shop#0.0",      # / + header
        "shop#5.0"]      # /
    legacy = host(d, "shop.example.com")["http"][3]
    assert legacy["filters"][0]["unsupported"] is True
    assert [b["invalid"] for b in legacy["backends"]] == [
        None, "RefNotPermitted"]
    live = host(d, "shop.example.com")["http"][4]
    assert live["backends"][0]["protocol"] == "ws"
    cart = host(d, "shop.example.com")["http"][0]
    assert cart["timeouts"] == {"request_ms": 10000,
                                "backend_request_ms": 2000}
    assert cart["route"]["rule_name"] is None
    assert host(d, "shop.example.com")["http"][5]["route"]["rule_name"] \
        == "canary"
    c = conds(d, "shop", "shop")
    assert c["Accepted"] == "True/Accepted"
    assert c["PartiallyInvalid"] == "True/UnsupportedValue"
    assert conds(d, "shop", "legacy")["ResolvedRefs"] == \
        "False/RefNotPermitted"
    assert conds(d, "nobody", "intruder")["Accepted"] == \
        "False/NotAllowedByListeners"
    assert conds(d, "infra", "admin", 1)["Accepted"] == \
        "False/NoMatchingParent"
    assert conds(d, "infra", "admin")["ResolvedRefs"] == \
        "False/BackendNotFound"
    # elsewhere.org does not intersect *.example.com.
    assert "elsewhere.org" not in [h["hostname"]
                                   for h in d["table"]["hosts"]]
    assert host(d, "*.example.com")["http"] == []
    assert {r["hostname"]: r["route"] for r in d["dns"]} == {
        "*.shop.example.com": "HTTPRoute/shop/shop",
        "admin.example.com": "HTTPRoute/infra/admin",
        "api.example.com": "GRPCRoute/api/greeter",
        "shop.example.com": "HTTPRoute/shop/legacy",
        "status.example.net": "HTTPRoute/shop/status-page"}
    raw = [l for l in d["status"]["listeners"] if l["name"] == "raw"][0]
    assert raw["conditions"][0]["reason"] == "UnsupportedProtocol"
    assert raw["supportedKinds"] == []


def test_human_outputs():
    out = cfgwctl("plan", "-f", PLAN / "features.yaml", "-o", "dns").stdout
    assert ("CNAME shop.example.com -> <tunnel-id>.cfargotunnel.com "
            "proxied  # HTTPRoute/shop/legacy") in out
    out = cfgwctl("plan", "-f", PLAN / "features.yaml", "-o",
                  "status").stdout
    assert "HTTPRoute shop/shop" in out
    assert "PartiallyInvalid=True UnsupportedValue: Dropped Rule 3" in out
    # a rule kept in the table with a filter the proxy lacks is not dropped
    assert ("failing rule 0: UnsupportedValue: Rule 0: unsupported filter "
            "ExternalAuth") in out
    assert "dropped rule 3: UnsupportedValue: Dropped Rule 3" in out
    assert "listener raw: attachedRoutes=0" in out
    out = cfgwctl("plan", "-f", PLAN / "features.yaml").stdout
    for section in ("# Route table", "# Tunnel ingress", "# DNS records",
                    "# Status"):
        assert section in out
    table = cfgwctl("plan", "-f", PLAN / "features.yaml", "-o",
                    "table").stdout
    assert json.loads(table)["gateway"] == {"namespace": "infra",
                                            "name": "edge"}
    tunnel = json.loads(cfgwctl("plan", "-f", PLAN / "features.yaml", "-o",
                                "tunnel").stdout)
    assert tunnel["ingress"][-1] == {"service": "http_status:404"}


FILTERS_YAML = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: cf
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [app.example.com]
  rules:
  - filters:
    - {type: URLRewrite, urlRewrite: {hostname: internal.example.com}}
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-A, value: "1"}]}
    - {type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}}}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {remove: [Access-Control-Allow-Origin]}
    - {type: CORS, cors: {allowOrigins: ["https://a.example.com"]}}
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {value: /old}}]
    filters:
    - {type: RequestRedirect, requestRedirect: {hostname: new.example.com}}
    - {type: URLRewrite, urlRewrite: {hostname: other.example.com}}
  - matches: [{path: {type: Exact, value: /x}}]
    filters:
    - type: RequestRedirect
      requestRedirect:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /y}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: twice, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [twice.example.com]
  rules:
  - filters:
    - {type: CORS, cors: {allowOrigins: ["*"]}}
    - {type: CORS, cors: {allowOrigins: ["*"]}}
    backendRefs: [{name: web, port: 80}]
"""


def test_filters_order_and_rejections(tmp_path):
    """The table keeps the filters in the order listed (the proxy applies
    them so); rules the proxy could only answer with 500 are dropped and
    the status says why."""
    f = tmp_path / "filters.yaml"
    f.write_text(FILTERS_YAML)
    d = plan_json("-f", f)
    e = host(d, "app.example.com")["http"]
    assert [x["route"]["rule"] for x in e] == [0]
    assert [x["type"] for x in e[0]["filters"]] == [
        "URLRewrite", "RequestHeaderModifier", "RequestMirror",
        "ResponseHeaderModifier", "CORS"]
    assert conds(d, "default", "web") == {
        "Accepted": "True/Accepted", "ResolvedRefs": "True/ResolvedRefs",
        "PartiallyInvalid": "True/UnsupportedValue"}
    drops = {x["rule"]: (x["reason"], x["message"]) for r in
             d["status"]["routes"] if r["name"] == "web"
             for x in r["dropped"]}
    assert drops == {
        1: ("IncompatibleFilters", "Dropped Rule 1: filters: "
            "RequestRedirect and URLRewrite cannot be combined"),
        2: ("UnsupportedValue", "Dropped Rule 2: filters: "
            "ReplacePrefixMatch needs PathPrefix matches")}
    assert conds(d, "default", "twice")["Accepted"] == \
        "False/IncompatibleFilters"
    # the human outputs show the same
    out = cfgwctl("plan", "-f", f, "-o", "table").stdout
    order = [out.index('"type": "%s"' % t) for t in (
        "URLRewrite", "RequestHeaderModifier", "RequestMirror",
        "ResponseHeaderModifier", "CORS")]
    assert order == sorted(order)
    out = cfgwctl("plan", "-f", f, "-o", "status").stdout
    assert "dropped rule 1: IncompatibleFilters: Dropped Rule 1" in out
    assert "Accepted=False IncompatibleFilters" in out


def test_several_gateways():
    p = cfgwctl("plan", "-f", EX / "http-route-attachment", check=False)
    assert p.returncode == 1
    assert "gateway-api-example-ns1/prod-gateway" in p.stderr
    assert "gateway-api-example-ns1/foo-gateway" in p.stderr
    d = plan_json("-f", EX / "http-route-attachment", "--gateway",
                  "gateway-api-example-ns1/foo-gateway")
    # Selector on kubernetes.io/metadata.name (set automatically).
    assert conds(d, "gateway-api-example-ns2", "my-route")["Accepted"] == \
        "True/Accepted"
    d = plan_json("-f", EX / "http-route-attachment", "--gateway",
                  "gateway-api-example-ns1/prod-gateway")
    assert d["status"]["routes"] == []
    p = cfgwctl("plan", "-f", EX / "http-route-attachment", "--gateway",
                "nope", check=False)
    assert p.returncode == 1 and "default/nope not found" in p.stderr


def test_manifest_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Gateway\nmetadata: {name: a}\n---\n"
                   "kind: HTTPRoute\n  broken: [\n")
    p = cfgwctl("plan", "-f", bad, check=False)
    assert p.returncode == 1
    assert f"{bad}: document 2: line" in p.stderr
    noname = tmp_path / "noname.yaml"
    noname.write_text("apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: Gateway\nmetadata: {name: gw}\nspec:\n"
                      "  listeners: []\n---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: HTTPRoute\nmetadata: {namespace: x}\n")
    p = cfgwctl("plan", "-f", noname, check=False)
    assert p.returncode == 1
    assert f"{noname}: document 2 (HTTPRoute x/<no name>): no " \
        "metadata.name" in p.stderr
    p = cfgwctl("plan", "-f", tmp_path / "missing.yaml", check=False)
    assert p.returncode == 1 and "missing.yaml" in p.stderr
    p = cfgwctl("plan", "-f", EX / "http-filter.yaml", check=False)
    assert p.returncode == 1 and "no Gateway" in p.stderr


def test_every_example_compiles_or_explains():
    """No example crashes cfgwctl; each either plans or says why not."""
    paths = sorted(p for p in EX.iterdir())
    assert len(paths) > 30
    planned = 0
    for p in paths:
        r = cfgwctl("plan", "-f", p, "-o", "json", check=False)
        if r.returncode == 0:
            d = json.loads(r.stdout)
            assert d["table"]["version"] == "1.0"
            assert d["tunnel"]["ingress"][-1]["service"] in (
                "http_status:404", "http://localhost:8080",
                "https://localhost:8443")
            planned += 1
        else:
            assert r.returncode == 1, (p, r.stderr)
            assert r.stderr.startswith("cfgwctl plan: "), (p, r.stderr)
    assert planned >= 15


def test_deterministic_and_order_independent():
    a = cfgwctl("plan", "-f", EX / "cross-namespace-routing", "-o",
                "table").stdout
    b = cfgwctl("plan", "-f", EX / "cross-namespace-routing" /
                "store-route.yaml", "-f", EX / "cross-namespace-routing" /
                "site-route.yaml", "-f", EX / "cross-namespace-routing" /
                "gateway.yaml", "-f", EX / "cross-namespace-routing" /
                "0-namespaces.yaml", "-o", "table").stdout
    assert a == b


GOLDEN_CASES = {
    "http-routing": [EX / "http-routing"],
    "grpc-routing": [EX / "grpc-routing"],
    "cross-namespace-routing": [EX / "cross-namespace-routing"],
    "simple-http-https": [EX / "simple-http-https"],
    "features": [PLAN / "features.yaml"],
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name):
    args = []
    for p in GOLDEN_CASES[name]:
        args += ["-f", p.relative_to(REPO)]
    p = subprocess.run([str(harness.binpath("cfgwctl")), "plan", "-o",
                        "json", *map(str, args)], capture_output=True,
                       text=True, timeout=30, cwd=REPO)
    assert p.returncode == 0, p.stderr
    path = GOLDEN / f"{name}.json"
    if os.environ.get("CFGW_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(p.stdout)
    assert p.stdout == path.read_text(), \
        f"{name}: output differs from {path} (CFGW_UPDATE_GOLDEN=1 to accept)"


# ---- cfgwctl status (reads a cluster: the Kubernetes simulator) ----------

CN = "cloudflare-gateway-controller.io/controller"


def _cond(t, reason, msg="m"):
    return {"type": t, "status": "True", "reason": reason, "message": msg,
            "lastTransitionTime": "2026-01-01T00:00:00Z"}


def test_status_gateway(kubesim, tmp_path):
    kc = harness.write_kubeconfig(tmp_path / "kubeconfig", kubesim.url)
    kubesim.create({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": "app"}})
    kubesim.create({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "default", "annotations": {
            "cloudflare-gateway-controller.io/reconcile": "disabled"}},
        "spec": {"gatewayClassName": "cf", "listeners": [
            {"name": "http", "protocol": "HTTP", "port": 80}]}})
    st, _ = kubesim.patch("Gateway", "gw", {"status": {
        "addresses": [{"type": "Hostname", "value": "abc.cfargotunnel.com"}],
        "conditions": [_cond("Ready", "ReconciliationSucceeded",
                             "Gateway is ready")],
        "listeners": [{"name": "http", "attachedRoutes": 1,
                       "supportedKinds": [],
                       "conditions": [_cond("Accepted", "Accepted")]}]}},
        ns="default", sub="status")
    assert st == 200
    for name, ns, parents in (
            ("mine", "app", [
                {"parentRef": {"name": "gw", "namespace": "default"},
                 "controllerName": CN,
                 "conditions": [_cond("Accepted", "Accepted", "line1\nl2")]},
                {"parentRef": {"name": "gw", "namespace": "default"},
                 "controllerName": "other.io/x",
                 "conditions": [_cond("Accepted", "Foreign")]}]),
            ("elsewhere", "app", [
                {"parentRef": {"name": "gw"}, "controllerName": CN,
                 "conditions": [_cond("Accepted", "OtherGateway")]}])):
        kubesim.create({"apiVersion": "gateway.networking.k8s.io/v1",
                        "kind": "HTTPRoute",
                        "metadata": {"name": name, "namespace": ns},
                        "spec": {"parentRefs": [p["parentRef"]
                                                for p in parents]}})
        st, _ = kubesim.patch("HTTPRoute", name, {"status": {
            "parents": parents}}, ns=ns, sub="status")
        assert st == 200
    kubesim.create({"apiVersion": "cloudflare-gateway-controller.io/v1",
                    "kind": "CloudflareGatewayStatus",
                    "metadata": {"name": "gw", "namespace": "default"}})
    kubesim.patch("CloudflareGatewayStatus", "gw", {"status": {
        "tunnel": {"name": "tun", "id": "abc", "token": {
            "hash": "0123456789abcdef0123", "rotation": {
                "lastRotatedAt": "2026-01-01T00:00:00Z"}}},
        "inventory": [{"apiVersion": "v1", "kind": "Secret",
                       "name": "gateway-gw"}]}}, ns="default", sub="status")

    out = cfgwctl("status", "gateway", "gw", "--kubeconfig", kc).stdout
    assert "Gateway default/gw (class cf)  SUSPENDED" in out
    assert "address Hostname abc.cfargotunnel.com" in out
    assert "Ready=True ReconciliationSucceeded: Gateway is ready" in out
    assert "listener http: attachedRoutes=1" in out
    assert "token hash 0123456789ab..." in out
    assert "owned: Secret/gateway-gw" in out
    assert "HTTPRoute app/mine\n    Accepted=True Accepted: line1\n" \
        "      l2" in out
    assert "Foreign" not in out          # another controller's entry
    assert "OtherGateway" not in out     # parentRef to app/gw

    d = json.loads(cfgwctl("status", "gateway", "gw", "-o", "json",
                           "--kubeconfig", kc).stdout)
    assert d["gateway"]["status"]["addresses"][0]["value"] == \
        "abc.cfargotunnel.com"
    assert d["cgs"]["tunnel"]["id"] == "abc"
    assert [(r["namespace"], r["name"]) for r in d["routes"]] == [
        ("app", "mine")]

    p = cfgwctl("status", "gateway", "nope", "--kubeconfig", kc,
                check=False)
    assert p.returncode == 1 and "default/nope not found" in p.stderr
    p = cfgwctl("status", "gw", check=False)
    assert p.returncode == 2


def test_plan_from_cluster(kubesim, tmp_path):
    kc = harness.write_kubeconfig(tmp_path / "kubeconfig", kubesim.url)
    kubesim.create({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": "app", "labels": {"t": "x"}}})
    kubesim.create({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "default"},
        "spec": {"gatewayClassName": "cf", "listeners": [
            {"name": "http", "protocol": "HTTP", "port": 80,
             "allowedRoutes": {"namespaces": {
                 "from": "Selector",
                 "selector": {"matchLabels": {"t": "x"}}}}}]}})
    kubesim.create({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": "web", "namespace": "app"},
                    "spec": {"ports": [{"port": 80}]}})
    kubesim.create({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "live", "namespace": "app"},
        "spec": {"parentRefs": [{"name": "gw", "namespace": "default"}],
                 "hostnames": ["live.example.com"],
                 "rules": [{"backendRefs": [{"name": "web", "port": 80}]}]}})
    d = plan_json("--from-cluster", "--kubeconfig", kc)
    assert entries(d, "live.example.com") == ["live#0.0"]
    assert conds(d, "app", "live")["ResolvedRefs"] == "True/ResolvedRefs"
    # Plan a change against the live state.
    new = tmp_path / "new.yaml"
    new.write_text(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
        "metadata: {name: live, namespace: app}\nspec:\n"
        "  parentRefs: [{name: gw, namespace: default}]\n"
        "  hostnames: [moved.example.com]\n"
        "  rules: [{backendRefs: [{name: web, port: 80}, "
        "{name: gone, port: 80}]}]\n")
    p = cfgwctl("plan", "--from-cluster", "--kubeconfig", kc, "-f", new,
                "-o", "json")
    assert "replaces the cluster's object" in p.stderr
    d = json.loads(p.stdout)
    assert [r["hostname"] for r in d["dns"]] == ["moved.example.com"]
    assert conds(d, "app", "live")["ResolvedRefs"] == \
        "False/BackendNotFound"
    # Nothing was written to the cluster.
    assert kubesim.get("HTTPRoute", "live", "app")["spec"]["hostnames"] == \
        ["live.example.com"]
