# SPDX-License-Identifier: Apache-2.0
"""The reconciler's contract beyond the walking skeleton: status written
only when it changes, other controllers' route status left alone, suspend
and resume, tunnel replicas from CloudflareGatewayParameters, the CGS,
input errors as conditions.  The real cfgwd against the simulators."""
import os
import secrets
import time

import pytest

import harness
from harness import condition, wait_for
from test_skeleton import ACCOUNT, ZONE, load_examples

CONTROLLER = "cloudflare-gateway-controller.io/controller"
HASH_ANN = "gateways.cloudflare-gateway-controller.io/tokenHash"


class Env:
    def __init__(self, tmp_path, kube, cf):
        self.tmp, self.kube, self.cf = tmp_path, kube, cf
        self.token = "tok-" + secrets.token_hex(20)
        st, _ = cf.seed({
            "accounts": [{"id": ACCOUNT, "name": "test"}],
            "tokens": [{"token": self.token, "account": ACCOUNT,
                        "status": "active"}],
            "zones": [{"name": ZONE, "account": ACCOUNT}]})
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
    objs = env.objects()
    cgp = {"apiVersion": "cloudflare-gateway-controller.io/v1",
           "kind": "CloudflareGatewayParameters",
           "metadata": {"name": "params", "namespace": "default"},
           "spec": {"tunnel": {"minReadySeconds": 5,
                               "replicas": [{"name": "a", "zone": "z1"},
                                            {"name": "b"}]}}}
    for o in objs:
        if o["kind"] == "Gateway":
            o["spec"]["infrastructure"] = {"parametersRef": {
                "group": "cloudflare-gateway-controller.io",
                "kind": "CloudflareGatewayParameters", "name": "params"},
                "labels": {"team": "edge"}}
    env.kube.apply_all([cgp] + objs)
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
