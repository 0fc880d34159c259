# SPDX-License-Identifier: Apache-2.0
"""The reconciler's contract beyond the walking skeleton: status written
only when it changes, other controllers' route status left alone, suspend
and resume, tunnel replicas from CloudflareGatewayParameters, the CGS,
input errors as conditions, filters refused with the Gateway API reasons.
The real cfgwd against the simulators."""
import json
import os
import secrets
import time

import pytest

import harness
from harness import condition, wait_for
from test_kube_faults import serve_vpa_api
from test_skeleton import ACCOUNT, ZONE, load_examples

CONTROLLER = "cloudflare-gateway-controller.io/controller"
HASH_ANN = "gateways.cloudflare-gateway-controller.io/tokenHash"


class Env:
    def __init__(self, tmp_path, kube, cf, records=()):
        self.tmp, self.kube, self.cf = tmp_path, kube, cf
        self.token = "tok-" + secrets.token_hex(20)
        st, _ = cf.seed({
            "accounts": [{"id": ACCOUNT, "name": "test"}],
            "tokens": [{"token": self.token, "account": ACCOUNT,
                        "status": "active"}],
            "zones": [{"name": ZONE, "account": ACCOUNT,
                       "records": list(records)}]})
        assert st == 200
        self.gw = None

    def objects(self):
        return load_examples(self.token)

    def start(self):
        extra = ()
        if os.environ.get("CFGW_LIBEXEC_DIR"):
            extra = ("--libexec-dir", os.environ["CFGW_LIBEXEC_DIR"])
        self.gw = harness.Cfgwd(self.tmp, self.kube, self.cf, extra=extra)
        self.gw.ready()
        return self.gw

    def gateway(self):
        return self.kube.get("Gateway", "my-gateway", "default")

    def cond(self, ctype, obj=None):
        return condition(obj if obj is not None else self.gateway(), ctype)

    def programmed(self):
        c = self.cond("Programmed")
        return c is not None and c["status"] == "True"

    def ready(self):
        c = self.cond("Ready")
        return c is not None and c["status"] == "True"

    def routes_json(self):
        cm = self.kube.get("ConfigMap", "gateway-my-gateway", "default")
        return cm["data"]["routes.json"] if cm else ""


@pytest.fixture
def env(tmp_path, kubesim, cfsim):
    e = Env(tmp_path, kubesim, cfsim)
    yield e
    if e.gw is not None:
        e.gw.stop()


def apply_with_params(env, tunnel, infra=None):
    """The examples, their Gateway pointing at CGP "params" whose spec is
    {"tunnel": tunnel} (and with more infrastructure fields), applied."""
    objs = env.objects()
    cgp = {"apiVersion": "cloudflare-gateway-controller.io/v1",
           "kind": "CloudflareGatewayParameters",
           "metadata": {"name": "params", "namespace": "default"},
           "spec": {"tunnel": tunnel}}
    for o in objs:
        if o["kind"] == "Gateway":
            o["spec"]["infrastructure"] = {"parametersRef": {
                "group": "cloudflare-gateway-controller.io",
                "kind": "CloudflareGatewayParameters", "name": "params"},
                **(infra or {})}
    env.kube.apply_all([cgp] + objs)


def status_writes(kube):
    return [r for r in kube.requests() if r["method"] in ("PATCH", "PUT")
            and r["path"].endswith("/status")]


def test_status_written_only_on_change(env):
    env.kube.apply_all(env.objects())
    env.start()
    wait_for(env.ready, 30, what="Gateway Ready")
    time.sleep(1.5)     # let the last runs (Deployment status) finish
    gw0 = env.gateway()
    env.kube.ctl.post("/_sim/reset-log", {})
    time.sleep(4)
    assert status_writes(env.kube) == []
    gw1 = env.gateway()
    assert gw1["status"] == gw0["status"]
    # A change of the route is one more run: statuses follow, then quiet.
    env.kube.patch("HTTPRoute", "my-route",
                   {"spec": {"hostnames": ["api.example.com"]}}, "default")
    wait_for(lambda: "api.example.com" in env.routes_json(), 15,
             what="route table update")
    acc = env.cond("Accepted")
    assert acc["lastTransitionTime"] == \
        condition(gw0, "Accepted")["lastTransitionTime"]
    assert acc["observedGeneration"] == gw0["metadata"]["generation"]


def test_foreign_route_status_kept(env):
    env.kube.apply_all(env.objects())
    env.start()
    wait_for(env.programmed, 30, what="Programmed")

    def ours():
        r = env.kube.get("HTTPRoute", "my-route", "default")
        return [p for p in (r.get("status") or {}).get("parents", [])
                if p["controllerName"] == CONTROLLER]
    wait_for(ours, 15, what="our route status")
    r = env.kube.get("HTTPRoute", "my-route", "default")
    foreign = {"parentRef": {"group": "gateway.networking.k8s.io",
                             "kind": "Gateway", "name": "other-gw"},
               "controllerName": "example.com/other",
               "conditions": [{"type": "Accepted", "status": "True",
                               "reason": "Accepted", "message": "theirs",
                               "observedGeneration": 1,
                               "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    parents = r["status"]["parents"] + [foreign]
    st, body = env.kube.patch("HTTPRoute", "my-route",
                              {"status": {"parents": parents}}, "default",
                              sub="status")
    assert st == 200, body
    env.kube.patch("HTTPRoute", "my-route",
                   {"spec": {"hostnames": ["www.example.com"]}}, "default")

    def updated():
        r = env.kube.get("HTTPRoute", "my-route", "default")
        mine = [p for p in r["status"]["parents"]
                if p["controllerName"] == CONTROLLER]
        return mine and all(c["observedGeneration"] == r["metadata"][
            "generation"] for c in mine[0]["conditions"]) and r
    r = wait_for(updated, 15, what="our entry for the new generation")
    theirs = [p for p in r["status"]["parents"]
              if p["controllerName"] == "example.com/other"]
    assert theirs == [foreign]
    mine = [p for p in r["status"]["parents"]
            if p["controllerName"] == CONTROLLER]
    assert len(mine) == 1
    assert mine[0]["parentRef"]["name"] == "my-gateway"


def test_suspend_and_resume(env):
    env.kube.apply_all(env.objects())
    env.start()
    wait_for(env.programmed, 30, what="Programmed")
    env.kube.patch("Gateway", "my-gateway", {"metadata": {"annotations": {
        "cloudflare-gateway-controller.io/reconcile": "disabled"}}},
        "default")
    time.sleep(1)
    env.kube.patch("HTTPRoute", "my-route",
                   {"spec": {"hostnames": ["paused.example.com"]}}, "default")
    time.sleep(3)
    assert "paused.example.com" not in env.routes_json()
    env.kube.patch("Gateway", "my-gateway", {"metadata": {"annotations": {
        "cloudflare-gateway-controller.io/reconcile": "enabled"}}},
        "default")
    wait_for(lambda: "paused.example.com" in env.routes_json(), 15,
             what="resume")


def test_replicas_from_parameters(env):
    apply_with_params(env, {"minReadySeconds": 5,
                            "replicas": [{"name": "a", "zone": "z1"},
                                         {"name": "b"}]},
                      {"labels": {"team": "edge"}})
    env.start()
    wait_for(env.programmed, 30, what="Programmed")

    def deps():
        a = env.kube.get("Deployment", "gateway-my-gateway-a", "default")
        b = env.kube.get("Deployment", "gateway-my-gateway-b", "default")
        return a and b and (a, b)
    a, b = wait_for(deps, 15, what="two Deployments")
    assert env.kube.get("Deployment", "gateway-my-gateway-primary",
                        "default") is None
    assert a["spec"]["minReadySeconds"] == 5
    assert a["metadata"]["labels"]["team"] == "edge"
    terms = a["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == ["z1"]
    h = a["spec"]["template"]["metadata"]["annotations"][HASH_ANN]

    cgs = wait_for(lambda: env.kube.get("CloudflareGatewayStatus",
                                        "my-gateway", "default"), 10,
                   what="CGS")
    wait_for(lambda: (env.kube.get("CloudflareGatewayStatus", "my-gateway",
                                   "default").get("status") or {}).get(
        "tunnel"), 10, what="CGS status")
    cgs = env.kube.get("CloudflareGatewayStatus", "my-gateway", "default")
    assert cgs["status"]["tunnel"]["token"]["hash"] == h
    tid = env.gateway()["status"]["addresses"][0]["value"].split(".")[0]
    assert cgs["status"]["tunnel"]["id"] == tid
    inv = [(i["kind"], i["name"]) for i in cgs["status"]["inventory"]]
    assert ("Deployment", "gateway-my-gateway-a") in inv
    assert ("Deployment", "gateway-my-gateway-b") in inv
    assert ("ConfigMap", "gateway-my-gateway") in inv

    env.kube.patch("CloudflareGatewayParameters", "params", {"spec": {
        "tunnel": {"replicas": [{"name": "a", "zone": "z1"}]}}}, "default")
    wait_for(lambda: env.kube.get("Deployment", "gateway-my-gateway-b",
                                  "default") is None, 15,
             what="replica b removed")
    assert env.kube.get("Deployment", "gateway-my-gateway-a", "default")


def test_tunnel_patches(env):
    """CGP tunnel.patches (RFC 6902) reach each tunnel Deployment, the
    replica's placement wins over them, and a patch that does not apply
    is a terminal InvalidParameters naming the operation."""
    apply_with_params(env, {
        "replicas": [{"name": "a", "nodeSelector": {"pool": "edge"}}],
        "patches": [
            {"op": "add", "path": "/spec/template/metadata/labels/extra",
             "value": "yes"},
            {"op": "add", "path": "/spec/template/spec/containers/0/env/-",
             "value": {"name": "TUNNEL_LOGLEVEL", "value": "debug"}},
            {"op": "add", "path": "/spec/template/spec/priorityClassName",
             "value": "edge-critical"},
            {"op": "add", "path": "/spec/template/spec/nodeSelector",
             "value": {"pool": "patched"}}]})
    env.start()
    wait_for(env.programmed, 30, what="Programmed")
    d = wait_for(lambda: env.kube.get("Deployment", "gateway-my-gateway-a",
                                      "default"), 15, what="Deployment")
    pod = d["spec"]["template"]
    assert pod["metadata"]["labels"]["extra"] == "yes"
    assert pod["spec"]["priorityClassName"] == "edge-critical"
    assert {"name": "TUNNEL_LOGLEVEL", "value": "debug"} in \
        pod["spec"]["containers"][0]["env"]
    # Our own fields are still there, and the replica's nodeSelector won.
    assert pod["spec"]["nodeSelector"] == {"pool": "edge"}
    assert HASH_ANN in pod["metadata"]["annotations"]

    env.kube.patch("CloudflareGatewayParameters", "params", {"spec": {
        "tunnel": {"patches": [{"op": "replace", "path": "/spec/nothere",
                                "value": 1}]}}}, "default")

    def rejected():
        c = env.cond("Accepted")
        return c and c["status"] == "False" and c
    c = wait_for(rejected, 20, what="Accepted=False for a bad patch")
    assert c["reason"] == "InvalidParameters"
    assert c["message"] == ("tunnel.patches[0] (replace /spec/nothere): "
                            "path not found"), c["message"]
    # The Deployment as it was: a bad patch writes nothing.
    d = env.kube.get("Deployment", "gateway-my-gateway-a", "default")
    assert d["spec"]["template"]["metadata"]["labels"]["extra"] == "yes"


def test_vpas_from_autoscaling(env):
    """tunnel.autoscaling: one VPA per replica, in the reference's shape;
    a removed replica's VPA goes, and all of ours when it is turned off
    (a VPA that is not ours stays)."""
    vpas = serve_vpa_api(env.kube)
    st, _ = env.kube.http.post(vpas, {
        "apiVersion": "autoscaling.k8s.io/v1",
        "kind": "VerticalPodAutoscaler",
        "metadata": {"name": "theirs", "namespace": "default"},
        "spec": {"targetRef": {"apiVersion": "apps/v1",
                               "kind": "Deployment", "name": "x"}}})
    assert st == 201
    apply_with_params(env, {
        "replicas": [{"name": "a"}, {"name": "b"}],
        "autoscaling": {"enabled": True, "minAllowed": {"cpu": "10m"},
                        "maxAllowed": {"memory": "1Gi"},
                        "controlledValues": "RequestsOnly"}})
    env.start()
    wait_for(env.programmed, 30, what="Programmed")

    def names():
        st, body = env.kube.http.get(vpas)
        return sorted(v["metadata"]["name"] for v in body["items"])
    wait_for(lambda: names() == ["gateway-my-gateway-a",
                                 "gateway-my-gateway-b", "theirs"], 15,
             what="a VPA per replica")
    v = env.kube.http.get(vpas + "/gateway-my-gateway-a")[1]
    assert v["spec"]["targetRef"] == {"apiVersion": "apps/v1",
                                      "kind": "Deployment",
                                      "name": "gateway-my-gateway-a"}
    assert v["spec"]["updatePolicy"] == {"updateMode": "InPlaceOrRecreate"}
    pol = {p["containerName"]: p for p in
           v["spec"]["resourcePolicy"]["containerPolicies"]}
    assert pol["*"]["mode"] == "Off"
    for c in ("cloudflared", "proxy"):
        assert pol[c] == {"containerName": c, "mode": "Auto",
                          "minAllowed": {"cpu": "10m"},
                          "maxAllowed": {"memory": "1Gi"},
                          "controlledValues": "RequestsOnly"}
    assert v["metadata"]["ownerReferences"][0]["kind"] == "Gateway"
    assert v["metadata"]["labels"]["app.kubernetes.io/managed-by"] == \
        "cloudflare-gateway-controller"

    env.kube.patch("CloudflareGatewayParameters", "params", {"spec": {
        "tunnel": {"replicas": [{"name": "a"}]}}}, "default")
    wait_for(lambda: names() == ["gateway-my-gateway-a", "theirs"], 15,
             what="replica b's VPA deleted")
    env.kube.patch("CloudflareGatewayParameters", "params", {"spec": {
        "tunnel": {"autoscaling": {"enabled": False}}}}, "default")
    wait_for(lambda: names() == ["theirs"], 15,
             what="our VPAs deleted when autoscaling is off")
    assert env.kube.get("Deployment", "gateway-my-gateway-a", "default")


def test_autoscaling_without_the_vpa_api(env):
    """No VPA API: one Warning Event on the Gateway, and the rest of the
    run (Deployment, DNS, status) goes on."""
    apply_with_params(env, {"autoscaling": {"enabled": True}})
    env.start()
    wait_for(env.ready, 30, what="Ready without VPAs")
    assert env.kube.get("Deployment", "gateway-my-gateway-primary",
                        "default")

    def warned():
        return [e for e in env.kube.list("Event", "default")
                if e.get("reason") == "VPAUnavailable"]
    ev = wait_for(warned, 10, what="the VPAUnavailable Event")
    assert ev[0]["type"] == "Warning"
    assert ev[0]["involvedObject"]["name"] == "my-gateway"
    # Once, not on every run: another whole run says nothing more.
    env.kube.patch("Gateway", "my-gateway", {"metadata": {"annotations": {
        "cloudflare-gateway-controller.io/reconcileRequestedAt": "x"}}},
        "default")
    wait_for(lambda: ((env.kube.get("CloudflareGatewayStatus", "my-gateway",
                                    "default") or {}).get("status") or {}
                      ).get("lastHandledReconcileAt") == "x", 20,
             what="the requested run handled")
    assert len(warned()) == 1


def test_bad_inputs_become_conditions(env):
    objs = env.objects()
    for o in objs:
        if o["kind"] == "Gateway":
            o["metadata"]["annotations"] = {
                "cloudflare-gateway-controller.io/reconcileEvery": "often"}
    env.kube.apply_all(objs)
    gw = env.start()

    def rejected():
        c = env.cond("Accepted")
        return c and c["status"] == "False" and c
    c = wait_for(rejected, 20, what="Accepted=False")
    assert c["reason"] == "InvalidParameters"
    assert "reconcileEvery" in c["message"]
    # Fixing it recovers without a restart.
    env.kube.patch("Gateway", "my-gateway", {"metadata": {"annotations": {
        "cloudflare-gateway-controller.io/reconcileEvery": "1m"}}},
        "default")
    wait_for(env.programmed, 20, what="Programmed after the fix")
    assert env.cond("Accepted")["status"] == "True"
    # A parametersRef to a missing CGP.
    env.kube.patch("Gateway", "my-gateway", {"spec": {"infrastructure": {
        "parametersRef": {"group": "cloudflare-gateway-controller.io",
                          "kind": "CloudflareGatewayParameters",
                          "name": "missing"}}}}, "default")
    c = wait_for(rejected, 20, what="Accepted=False for a missing CGP")
    assert c["reason"] == "InvalidParameters"
    assert "missing" in c["message"]
    assert gw.proc.proc.poll() is None


def test_dns_conflict_rejects_route(tmp_path, kubesim, cfsim):
    """A CNAME someone else owns is never overwritten; the route says so."""
    e = Env(tmp_path, kubesim, cfsim, records=[
        {"type": "CNAME", "name": "app", "content": "elsewhere.example.net",
         "proxied": True}])
    e.kube.apply_all(e.objects())
    try:
        e.start()

        def ours():
            r = e.kube.get("HTTPRoute", "my-route", "default")
            p = [p for p in (r.get("status") or {}).get("parents", [])
                 if p["controllerName"] == CONTROLLER]
            c = p and condition({"status": p[0]}, "DNSRecordsApplied")
            return c and c["status"] == "False" and p[0]
        p = wait_for(ours, 30, what="DNSRecordsApplied=False")
        acc = condition({"status": p}, "Accepted")
        assert acc["status"] == "False"
        assert "app.example.com" in acc["message"]
        recs = [r for z in cfsim.state()["zones"]
                for r in z.get("dns_records", z.get("records", []))
                if r["type"] == "CNAME"]
        assert [r["content"] for r in recs] == ["elsewhere.example.net"]
    finally:
        if e.gw is not None:
            e.gw.stop()


def test_two_gateways_independent(env):
    objs = env.objects()
    extra = []
    for o in objs:
        if o["kind"] == "Gateway":
            g2 = {**o, "metadata": {"name": "second", "namespace": "default"}}
            extra.append(g2)
        if o["kind"] == "HTTPRoute":
            r2 = {**o, "metadata": {"name": "route2", "namespace": "default"},
                  "spec": {**o["spec"], "parentRefs": [{"name": "second"}],
                           "hostnames": ["two.example.com"]}}
            extra.append(r2)
    env.kube.apply_all(objs + extra)
    env.start()

    def both():
        a = env.kube.get("Gateway", "my-gateway", "default")
        b = env.kube.get("Gateway", "second", "default")
        ok = all((condition(x, "Programmed") or {}).get("status") == "True"
                 for x in (a, b))
        return ok and (a, b)
    a, b = wait_for(both, 30, what="both Gateways programmed")
    assert a["status"]["addresses"] != b["status"]["addresses"]
    names = sorted(t["name"] for t in env.cf.state()["tunnels"]
                   if not t.get("deleted_at"))
    assert names == sorted(
        "cloudflare-gateway-controller.io/clusters/test/namespaces/default/"
        "gateways/" + n for n in ("my-gateway", "second"))
    cm2 = env.kube.get("ConfigMap", "gateway-second", "default")
    assert "two.example.com" in cm2["data"]["routes.json"]
    assert "two.example.com" not in env.routes_json()
    # Deleting one leaves the other alone.
    env.kube.delete("Gateway", "second", "default")
    wait_for(lambda: env.kube.get("Gateway", "second", "default") is None,
             30, what="second finalized")
    assert env.programmed()
    assert len([t for t in env.cf.state()["tunnels"]
                if not t.get("deleted_at")]) == 1


def test_rotation_on_request(env):
    env.kube.apply_all(env.objects())
    env.start()
    wait_for(env.programmed, 30, what="Programmed")

    def dep_hash():
        d = env.kube.get("Deployment", "gateway-my-gateway-primary",
                         "default")
        return d and d["spec"]["template"]["metadata"]["annotations"].get(
            HASH_ANN)
    h0 = wait_for(dep_hash, 15, what="Deployment")
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                         time.gmtime(time.time() + 3600))
    env.kube.patch("Gateway", "my-gateway", {"metadata": {"annotations": {
        "gateways.cloudflare-gateway-controller.io/rotateTokenRequestedAt":
        when}}}, "default")
    h1 = wait_for(lambda: dep_hash() != h0 and dep_hash(), 20,
                  what="new token hash on the pod template")

    def cgs_done():
        c = env.kube.get("CloudflareGatewayStatus", "my-gateway", "default")
        t = ((c or {}).get("status") or {}).get("tunnel") or {}
        rot = (t.get("token") or {}).get("rotation") or {}
        return t.get("token", {}).get("hash") == h1 and \
            rot.get("lastHandledRotateAt") == when and c
    wait_for(cgs_done, 20, what="CGS hash and lastHandledRotateAt")
    # The same request value does not rotate again.
    time.sleep(2)
    assert dep_hash() == h1


def test_rotation_rolls_replicas_one_at_a_time(env):
    apply_with_params(env, {"minReadySeconds": 0,
                            "replicas": [{"name": "a"}, {"name": "b"}]})
    env.start()
    wait_for(env.ready, 30, what="Ready with two replicas")

    def hashes():
        out = []
        for n in ("a", "b"):
            d = env.kube.get("Deployment", f"gateway-my-gateway-{n}",
                             "default")
            out.append(d["spec"]["template"]["metadata"]["annotations"][
                HASH_ANN])
        return tuple(out)
    h0 = hashes()
    assert h0[0] == h0[1]
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                         time.gmtime(time.time() + 3600))
    env.kube.patch("Gateway", "my-gateway", {"metadata": {"annotations": {
        "gateways.cloudflare-gateway-controller.io/rotateTokenRequestedAt":
        when}}}, "default")
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        h = hashes()
        if not seen or seen[-1] != h:
            seen.append(h)
        if h[0] != h0[0] and h[1] != h0[1]:
            break
        time.sleep(0.05)
    assert seen[-1][0] != h0[0] and seen[-1][1] != h0[1], seen
    # b never moved before a did, and waited for a's rollout.
    assert not any(h[1] != h0[1] and h[0] == h0[0] for h in seen), seen
    assert any(h[0] != h0[0] and h[1] == h0[1] for h in seen), seen
    wait_for(env.ready, 30, what="Ready after the rollout")


def route_parent(kube, name):
    r = kube.get("HTTPRoute", name, "default")
    p = [p for p in ((r or {}).get("status") or {}).get("parents", [])
         if p["controllerName"] == CONTROLLER]
    return p[0] if p else None


def test_incompatible_filters_in_route_status(env):
    """Filters the proxy could only answer with 500 never reach the table;
    the route's status says why (Gateway API reasons)."""
    redirect = {"type": "RequestRedirect",
                "requestRedirect": {"hostname": "new.example.com"}}
    rewrite = {"type": "URLRewrite",
               "urlRewrite": {"hostname": "other.example.com"}}
    bad = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
           "metadata": {"name": "filters", "namespace": "default"},
           "spec": {"parentRefs": [{"name": "my-gateway"}],
                    "hostnames": ["filters.example.com"],
                    "rules": [{"filters": [redirect, rewrite]}]}}
    env.kube.apply_all(env.objects() + [bad])
    env.start()

    def accepted(status):
        def check():
            p = route_parent(env.kube, "filters")
            c = p and condition({"status": p}, "Accepted")
            return c and c["status"] == status and p
        return check
    p = wait_for(accepted("False"), 30, what="Accepted=False")
    c = condition({"status": p}, "Accepted")
    assert c["reason"] == "IncompatibleFilters"
    assert "filters.example.com" not in env.routes_json()
    # A valid rule next to it: accepted, the bad rule reported as dropped.
    env.kube.patch("HTTPRoute", "filters", {"spec": {"rules": [
        {"filters": [redirect, rewrite]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/ok"}}],
         "filters": [redirect]}]}}, "default")
    p = wait_for(accepted("True"), 30, what="Accepted=True")
    pi = condition({"status": p}, "PartiallyInvalid")
    assert pi["status"] == "True" and pi["reason"] == "UnsupportedValue"
    assert pi["message"].startswith("Dropped Rule 0: filters: "
                                    "RequestRedirect and URLRewrite")
    wait_for(lambda: "filters.example.com" in env.routes_json(), 15,
             what="the valid rule in the table")
    h = [h for h in json.loads(env.routes_json())["hosts"]
         if h["hostname"] == "filters.example.com"][0]
    assert [e["route"]["rule"] for e in h["http"]] == [1]


CLASS_FIN = "gateway-exists-finalizer.gateway.networking.k8s.io/"


def class_fins(kube, name):
    gc = kube.get("GatewayClass", name)
    if gc is None:
        return None
    return sorted(f for f in gc["metadata"].get("finalizers", [])
                  if f.startswith(CLASS_FIN))


def test_class_finalizer_follows_gateways(env):
    """Each Gateway puts its entry on its class (the reference's
    gateway-exists finalizer); a changed gatewayClassName moves it; the
    Gateway's deletion takes it off, and only then can the class go."""
    objs = env.objects()
    extra = []
    for o in objs:
        if o["kind"] == "Gateway":
            extra.append({**o, "metadata": {"name": "second",
                                            "namespace": "default"}})
        if o["kind"] == "GatewayClass":
            extra.append({**o, "metadata": {"name": "cloudflare-b"}})
    env.kube.apply_all(objs + extra)
    env.start()
    both = [CLASS_FIN + "my-gateway.default", CLASS_FIN + "second.default"]
    wait_for(lambda: class_fins(env.kube, "cloudflare") == both, 30,
             what="two entries on the class")
    assert class_fins(env.kube, "cloudflare-b") == []
    # Another class of ours: the entry moves.
    st, _ = env.kube.patch("Gateway", "second", {"spec": {
        "gatewayClassName": "cloudflare-b"}}, "default")
    assert st == 200
    wait_for(lambda: class_fins(env.kube, "cloudflare-b") ==
             [CLASS_FIN + "second.default"], 30, what="entry on the new class")
    assert class_fins(env.kube, "cloudflare") == \
        [CLASS_FIN + "my-gateway.default"]
    # Deleting a Gateway takes its entry off; the class can then go.
    env.kube.delete("Gateway", "second", "default")
    wait_for(lambda: env.kube.get("Gateway", "second", "default") is None,
             30, what="second finalized")
    assert class_fins(env.kube, "cloudflare-b") == []
    env.kube.delete("GatewayClass", "cloudflare-b")
    wait_for(lambda: env.kube.get("GatewayClass", "cloudflare-b") is None,
             10, what="unused class deleted")
    # A class still used by a Gateway stays (terminating) until it is gone.
    env.kube.delete("GatewayClass", "cloudflare")
    time.sleep(1)
    gc = env.kube.get("GatewayClass", "cloudflare")
    assert gc is not None and gc["metadata"].get("deletionTimestamp")
    env.kube.delete("Gateway", "my-gateway", "default")
    wait_for(lambda: env.kube.get("GatewayClass", "cloudflare") is None,
             30, what="class deleted after its last Gateway")
    assert env.kube.get("Gateway", "my-gateway", "default") is None


def test_class_finalizer_conflict_retried(env):
    """A 409 on the class's finalizer patch: read again, write again."""
    conflict = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": "Conflict", "code": 409,
                "message": "the object has been modified"}
    env.kube.faults([{"method": "PATCH",
                      "path_regex": "/gatewayclasses/cloudflare$",
                      "status": 409, "body": conflict, "count": 2}])
    env.kube.apply_all(env.objects())
    env.start()
    wait_for(lambda: class_fins(env.kube, "cloudflare") ==
             [CLASS_FIN + "my-gateway.default"], 30,
             what="entry on the class")
    wait_for(env.programmed, 30, what="Programmed")
    # The controller's own requests (the test polls with GETs too).
    reqs = [(r["method"], r["status"]) for r in env.kube.requests()
            if r["path"].endswith("/gatewayclasses/cloudflare")
            and (r["user_agent"] or "").startswith("cfgw")]
    patches = [s for m, s in reqs if m == "PATCH"]
    assert patches[:3] == [409, 409, 200]
    # Each conflict was followed by a fresh read before the next write.
    assert reqs[:5] == [("PATCH", 409), ("GET", 200), ("PATCH", 409),
                        ("GET", 200), ("PATCH", 200)]
