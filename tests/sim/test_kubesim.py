# SPDX-License-Identifier: Apache-2.0
"""Tests of the Kubernetes API simulator (tests/sim/kubesim.py): CRUD,
status codes, list/pagination/selectors, watch, patches, status
subresource, generation, defaulting, finalizers, GC, metadata-only."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kubesim import KubeSim  # noqa: E402
from kubesim_testlib import GW, Client, route, wait_for, watch_lines  # noqa

HR = GW + "/namespaces/default/httproutes"
CM = "/api/v1/namespaces/default/configmaps"
PMD = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
PMDL = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


@pytest.fixture
def sim():
    s = KubeSim().start()
    yield s
    s.stop()


@pytest.fixture
def c(sim):
    cl = Client(sim.url)
    yield cl
    cl.close()


def cm(name, labels=None, data=None):
    o = {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": name}, "data": data or {"k": "v"}}
    if labels:
        o["metadata"]["labels"] = labels
    return o


def test_cli_port_file(tmp_path):
    pf = tmp_path / "port"
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.Popen([sys.executable, os.path.join(here, "kubesim.py"),
                          "--listen", "127.0.0.1:0", "--port-file", str(pf)])
    try:
        t0 = time.time()
        assert wait_for(lambda: pf.exists() and pf.read_text().endswith(
            "\n"), timeout=10)
        assert time.time() - t0 < 5
        port = int(pf.read_text())
        st, body = Client("http://127.0.0.1:%d" % port).get("/version")
        assert st == 200 and body["major"] == "1"
    finally:
        p.terminate()
        assert p.wait(10) == 0


def test_discovery(c):
    st, d = c.get("/api")
    assert st == 200 and d["versions"] == ["v1"]
    st, d = c.get("/api/v1")
    names = [r["name"] for r in d["resources"]]
    for n in ("namespaces", "secrets", "configmaps", "services",
              "serviceaccounts", "events"):
        assert n in names
    st, d = c.get("/apis")
    groups = {g["name"]: g for g in d["groups"]}
    assert groups["gateway.networking.k8s.io"]["preferredVersion"][
        "version"] == "v1"
    assert "cloudflare-gateway-controller.io" in groups
    for g in ("apps", "rbac.authorization.k8s.io", "coordination.k8s.io",
              "events.k8s.io", "apiextensions.k8s.io"):
        assert g in groups
    st, d = c.get(GW)
    res = {r["name"]: r for r in d["resources"]}
    assert res["gatewayclasses"]["namespaced"] is False
    assert "gateways/status" in res
    st, d = c.get("/apis/cloudflare-gateway-controller.io/v1")
    res = {r["name"]: r for r in d["resources"]}
    assert res["cloudflaregatewaystatuses"]["shortNames"] == ["cgs"]
    assert "cloudflaregatewayparameters/status" not in res
    st, body = c.get("/apis/nonexistent.example.com")
    assert st == 404 and body == "404 page not found\n"
    st, body = c.raw("GET", "/healthz")[0], c.raw("GET", "/healthz")[2]
    assert st == 200 and body == b"ok"


def test_crud_and_errors(c):
    st, o = c.post(HR, route("r1"))
    assert st == 201
    m = o["metadata"]
    assert m["generation"] == 1 and m["uid"] and m["creationTimestamp"]
    rv1 = int(m["resourceVersion"])
    # defaulting from the CRD schema
    assert o["spec"]["parentRefs"][0]["kind"] == "Gateway"
    assert o["spec"]["rules"][0]["matches"][0]["path"] == {
        "type": "PathPrefix", "value": "/"}
    assert o["spec"]["rules"][0]["backendRefs"][0]["weight"] == 1
    st, e = c.post(HR, route("r1"))
    assert st == 409 and e["reason"] == "AlreadyExists"
    assert e["details"] == {"name": "r1", "group":
                            "gateway.networking.k8s.io", "kind": "httproutes"}
    st, g = c.get(HR + "/r1")
    assert st == 200 and g == o
    st, e = c.get(HR + "/missing")
    assert st == 404 and e["reason"] == "NotFound"
    assert e["message"] == \
        'httproutes.gateway.networking.k8s.io "missing" not found'
    # update with the current rv: generation bumps, rv increases
    o["spec"]["hostnames"].append("x.example.com")
    st, u = c.put(HR + "/r1", o)
    assert st == 200 and u["metadata"]["generation"] == 2
    assert int(u["metadata"]["resourceVersion"]) > rv1
    # stale rv
    st, e = c.put(HR + "/r1", o)
    assert st == 409 and e["reason"] == "Conflict"
    # CRs need a resourceVersion on update
    del o["metadata"]["resourceVersion"]
    st, e = c.put(HR + "/r1", o)
    assert st == 422
    # malformed JSON
    st, e = c.raw("POST", HR, b'{"apiVersion":')[0:3:2]
    assert st == 400 and json.loads(e)["reason"] == "BadRequest"
    # namespace missing
    st, e = c.post(GW + "/namespaces/nope/httproutes", route("r1", "nope"))
    assert st == 404 and e["details"]["kind"] == "namespaces"
    # unsupported Accept
    st, e = c.get(HR + "/r1", accept="text/html")
    assert st == 406 and e["reason"] == "NotAcceptable"
    # 405 on a core object URL
    st, e = c.post(CM + "/x", cm("x"))
    assert st == 405
    # delete
    st, d = c.delete(HR + "/r1")
    assert st == 200 and d["status"] == "Success"
    assert d["details"]["uid"] == m["uid"]
    st, e = c.get(HR + "/r1")
    assert st == 404


def test_validation_422(c):
    bad = route("bad")
    bad["spec"]["rules"][0]["backendRefs"][0]["port"] = 70000
    st, e = c.post(HR, bad)
    assert st == 422 and e["reason"] == "Invalid"
    assert e["details"]["causes"][0]["field"] == \
        "spec.rules.backendRefs.port"
    st, e = c.post(GW + "/namespaces/default/gateways", {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "g"}, "spec": {"listeners": [
            {"name": "http", "protocol": "HTTP", "port": 80}]}})
    assert st == 422
    assert e["details"]["causes"][0]["field"] == "spec.gatewayClassName"
    st, e = c.post(HR, {"apiVersion": "gateway.networking.k8s.io/v1",
                        "kind": "HTTPRoute", "metadata": {"name": "Bad_N"},
                        "spec": {}})
    assert st == 422 and e["details"]["causes"][0]["field"] == \
        "metadata.name"
    r = route("enum")
    r["spec"]["rules"][0]["matches"] = [{"path": {"type": "Nope"}}]
    st, e = c.post(HR, r)
    assert st == 422
    assert e["details"]["causes"][0]["reason"] == "FieldValueNotSupported"


def test_generate_name_and_secret_defaults(c):
    st, o = c.post(CM, {"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"generateName": "cfg-"}})
    assert st == 201 and o["metadata"]["name"].startswith("cfg-")
    assert len(o["metadata"]["name"]) == 9
    st, s = c.post("/api/v1/namespaces/default/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "stringData": {"a": "hello"}})
    assert st == 201 and s["data"] == {"a": "aGVsbG8="}
    assert s["type"] == "Opaque" and "stringData" not in s


def test_list_pagination_and_rv(c, sim):
    for i in range(7):
        assert c.post(HR, route("p%d" % i))[0] == 201
    st, l1 = c.get(HR + "?limit=3")
    assert st == 200 and l1["kind"] == "HTTPRouteList"
    assert [i["metadata"]["name"] for i in l1["items"]] == ["p0", "p1", "p2"]
    assert l1["metadata"]["remainingItemCount"] == 4
    rv = l1["metadata"]["resourceVersion"]
    # a change between pages is not visible (consistent snapshot)
    assert c.delete(HR + "/p4")[0] == 200
    st, l2 = c.get(HR + "?limit=3&continue=" + l1["metadata"]["continue"])
    assert [i["metadata"]["name"] for i in l2["items"]] == ["p3", "p4", "p5"]
    assert l2["metadata"]["resourceVersion"] == rv
    st, l3 = c.get(HR + "?limit=3&continue=" + l2["metadata"]["continue"])
    assert [i["metadata"]["name"] for i in l3["items"]] == ["p6"]
    assert l3["metadata"]["continue"] == ""
    assert "remainingItemCount" not in l3["metadata"]
    st, e = c.get(HR + "?limit=1&continue=bm90LWEtdG9rZW4")
    assert st == 400
    # resourceVersion=0 ignores limit
    st, l = c.get(HR + "?limit=1&resourceVersion=0")
    assert len(l["items"]) == 6
    st, e = c.get(HR + "?resourceVersion=99999999")
    assert st == 504
    # core list shape: no per-item kind/apiVersion, no continue key
    c.post(CM, cm("a"))
    st, l = c.get(CM)
    assert l["kind"] == "ConfigMapList" and "continue" not in l["metadata"]
    assert "kind" not in l["items"][0]
    # all namespaces
    c.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": {"name": "other"}})
    c.post(GW + "/namespaces/other/httproutes", route("o1", "other"))
    st, l = c.get(GW + "/httproutes")
    assert [(i["metadata"]["namespace"], i["metadata"]["name"])
            for i in l["items"]][0] == ("default", "p0")
    assert l["items"][-1]["metadata"]["namespace"] == "other"
    st, l = c.get(GW + "/httproutes?limit=6")
    st, l = c.get(GW + "/httproutes?limit=6&continue=" +
                  l["metadata"]["continue"])
    assert [i["metadata"]["name"] for i in l["items"]] == ["o1"]


def test_list_gone_after_compaction():
    s = KubeSim(history=20).start()
    try:
        c = Client(s.url)
        for i in range(3):
            c.post(CM, cm("c%d" % i))
        st, l = c.get(CM + "?limit=1")
        tok = l["metadata"]["continue"]
        for i in range(40):
            c.post(CM, cm("x%d" % i))
        st, e = c.get(CM + "?limit=1&continue=" + tok)
        assert st == 410 and e["reason"] == "Expired"
        assert e["metadata"]["continue"]
        st, ev = watch_lines(s.url, CM + "?watch=1&resourceVersion=1")
        assert st == 200 and ev[0]["type"] == "ERROR"
        assert ev[0]["object"]["code"] == 410
        assert ev[0]["object"]["reason"] == "Expired"
        assert len(ev) == 1
    finally:
        s.stop()


def test_selectors(c):
    c.post(CM, cm("w1", {"app": "web", "tier": "fe"}))
    c.post(CM, cm("w2", {"app": "web"}))
    c.post(CM, cm("a1", {"app": "api", "tier": "be"}))
    c.post(CM, cm("n1"))

    def names(q):
        st, l = c.get(CM + "?" + q)
        assert st == 200, l
        return sorted(i["metadata"]["name"] for i in l["items"])
    assert names("labelSelector=app%3Dweb") == ["w1", "w2"]
    assert names("labelSelector=app%21%3Dweb") == ["a1", "n1"]
    assert names("labelSelector=app+in+(api,web),tier") == ["a1", "w1"]
    assert names("labelSelector=app+notin+(web)") == ["a1", "n1"]
    assert names("labelSelector=%21tier") == ["n1", "w2"]
    assert names("labelSelector=tier") == ["a1", "w1"]
    assert names("fieldSelector=metadata.name%3Dw2") == ["w2"]
    assert names("fieldSelector=metadata.namespace%3Ddefault,"
                 "metadata.name%21%3Dw2") == ["a1", "n1", "w1"]
    st, e = c.get(CM + "?fieldSelector=spec.foo%3Dx")
    assert st == 400
    st, e = c.get(CM + "?labelSelector=a%3D%3D%3D")
    assert st == 400


def test_watch_from_rv_and_bookmark(sim, c):
    st, o = c.post(HR, route("w0"))
    rv = o["metadata"]["resourceVersion"]
    res = {}

    def run():
        res["w"] = watch_lines(sim.url, HR + "?watch=1&resourceVersion=%s"
                               "&allowWatchBookmarks=true&timeoutSeconds=3"
                               % rv)
    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.3)
    c.post(HR, route("w1"))
    c.patch(HR + "/w1", {"spec": {"hostnames": ["z.example.com"]}})
    c.patch(HR + "/w1/status", {"status": {"parents": []}})
    c.delete(HR + "/w1")
    c.post(CM, cm("elsewhere"))
    th.join(10)
    st, ev = res["w"]
    types = [e["type"] for e in ev]
    assert types[:4] == ["ADDED", "MODIFIED", "MODIFIED", "DELETED"]
    assert ev[1]["object"]["metadata"]["generation"] == 2
    assert ev[2]["object"]["metadata"]["generation"] == 2
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in ev[:4]]
    assert rvs == sorted(rvs) and len(set(rvs)) == 4
    # 1.19 (kube-wire 60): one BOOKMARK at deadline-2s carrying the global
    # resourceVersion, here that of the unrelated ConfigMap
    assert types[4:] == ["BOOKMARK"]
    assert int(ev[4]["object"]["metadata"]["resourceVersion"]) > rvs[-1]
    # bookmark case: progress from filtered events of the same resource
    res.clear()
    st, l = c.get(CM)
    rv = l["metadata"]["resourceVersion"]

    def run2():
        res["w"] = watch_lines(sim.url, "/api/v1/namespaces/kube-system/"
                               "configmaps?watch=1&resourceVersion=%s&allow"
                               "WatchBookmarks=true&timeoutSeconds=3" % rv)
    th = threading.Thread(target=run2)
    th.start()
    time.sleep(0.3)
    c.post(CM, cm("progress"))
    th.join(10)
    st, ev = res["w"]
    assert [e["type"] for e in ev] == ["BOOKMARK"]
    assert ev[0]["object"]["kind"] == "ConfigMap"
    assert int(ev[0]["object"]["metadata"]["resourceVersion"]) > int(rv)


def test_watch_initial_and_selectors(sim, c):
    c.post(HR, route("s1", labels={"app": "web"}))
    c.post(HR, route("s2", labels={"app": "api"}))
    st, ev = watch_lines(sim.url, HR + "?watch=1&timeoutSeconds=1")
    assert sorted(e["object"]["metadata"]["name"] for e in ev) == \
        ["s1", "s2"]
    assert {e["type"] for e in ev} == {"ADDED"}
    st, l = c.get(HR)
    rv = l["metadata"]["resourceVersion"]
    res = {}

    def run():
        res["w"] = watch_lines(sim.url, HR + "?watch=1&labelSelector=app%3D"
                               "web&timeoutSeconds=2&resourceVersion=" + rv)
    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.3)
    c.patch(HR + "/s2", {"metadata": {"labels": {"app": "web"}}})
    c.patch(HR + "/s2", {"metadata": {"labels": {"app": "api"}}})
    th.join(10)
    ev = res["w"][1]
    assert [e["type"] for e in ev] == ["ADDED", "DELETED"]
    assert ev[1]["object"]["metadata"]["labels"] == {"app": "web"}


def test_finalizers_and_deletion_timestamp(sim, c):
    r = route("rf")
    r["metadata"]["finalizers"] = ["example.com/f"]
    st, o = c.post(HR, r)
    st, d = c.delete(HR + "/rf")
    assert st == 200 and d["kind"] == "HTTPRoute"
    assert d["metadata"]["deletionTimestamp"]
    assert d["metadata"]["generation"] == 2
    st, g = c.get(HR + "/rf")
    assert st == 200 and g["metadata"]["finalizers"] == ["example.com/f"]
    st, e = c.patch(HR + "/rf", {"metadata": {"finalizers": [
        "example.com/f", "example.com/new"]}})
    assert st == 422
    rv = g["metadata"]["resourceVersion"]
    res = {}
    th = threading.Thread(target=lambda: res.update(w=watch_lines(
        sim.url, HR + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv)))
    th.start()
    time.sleep(0.2)
    st, p = c.patch(HR + "/rf", {"metadata": {"finalizers": None}})
    assert st == 200
    th.join(5)
    assert [e["type"] for e in res["w"][1]] == ["DELETED"]
    assert c.get(HR + "/rf")[0] == 404


def test_garbage_collection(c):
    st, owner = c.post(CM, cm("owner"))
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
           "uid": owner["metadata"]["uid"], "controller": True}
    dep = cm("dep")
    dep["metadata"]["ownerReferences"] = [ref]
    c.post(CM, dep)
    r = route("dep-route")
    r["metadata"]["ownerReferences"] = [ref]
    c.post(HR, r)
    c.delete(CM + "/owner")
    assert wait_for(lambda: c.get(CM + "/dep")[0] == 404)
    assert wait_for(lambda: c.get(HR + "/dep-route")[0] == 404)
    # foreground: owner waits for dependents, then goes
    st, owner = c.post(CM, cm("owner2"))
    dep = cm("dep2")
    dep["metadata"]["ownerReferences"] = [dict(
        ref, name="owner2", uid=owner["metadata"]["uid"])]
    c.post(CM, dep)
    st, d = c.delete(CM + "/owner2?propagationPolicy=Foreground")
    assert st == 200 and d["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert wait_for(lambda: c.get(CM + "/owner2")[0] == 404)
    assert c.get(CM + "/dep2")[0] == 404
    # preconditions
    st, o = c.post(CM, cm("pre"))
    st, e = c.delete(CM + "/pre", {"preconditions": {"uid": "nope"}})
    assert st == 409
    st, e = c.delete(CM + "/pre", {"preconditions": {
        "resourceVersion": o["metadata"]["resourceVersion"]}})
    assert st == 200


def test_metadata_only(sim, c):
    c.post("/api/v1/namespaces/default/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": "s1", "labels": {"a": "b"}}, "data": {"x": "eQ=="}})
    st, o = c.get("/api/v1/namespaces/default/secrets/s1", accept=PMD)
    assert st == 200 and o["kind"] == "PartialObjectMetadata"
    assert o["apiVersion"] == "meta.k8s.io/v1"
    assert set(o) == {"kind", "apiVersion", "metadata"}
    assert o["metadata"]["labels"] == {"a": "b"}
    st, l = c.get("/api/v1/namespaces/default/secrets", accept=PMDL)
    assert l["kind"] == "PartialObjectMetadataList"
    assert l["items"][0]["kind"] == "PartialObjectMetadata"
    st, e = c.get("/api/v1/namespaces/default/secrets/s1", accept=PMDL)
    assert st == 406
    st, ev = watch_lines(sim.url, "/api/v1/namespaces/default/secrets?"
                         "watch=1&timeoutSeconds=1",
                         headers={"Accept": PMD})
    assert ev[0]["object"]["kind"] == "PartialObjectMetadata"
    assert "data" not in ev[0]["object"]


def test_patches(c):
    c.post(HR, route("pp", labels={"a": "1"}))
    st, o = c.patch(HR + "/pp", {"metadata": {"labels": {"b": "2"}},
                                 "spec": {"hostnames": ["n.example.com"]}})
    assert st == 200 and o["metadata"]["labels"] == {"a": "1", "b": "2"}
    assert o["spec"]["hostnames"] == ["n.example.com"]
    assert o["metadata"]["generation"] == 2
    st, o2 = c.patch(HR + "/pp", {"metadata": {"labels": {"a": None}}})
    assert o2["metadata"]["labels"] == {"b": "2"}
    assert o2["metadata"]["generation"] == 2
    st, o3 = c.patch(HR + "/pp", {})
    assert o3["metadata"]["resourceVersion"] == \
        o2["metadata"]["resourceVersion"]
    st, e = c.patch(HR + "/pp", {"metadata": {"resourceVersion": "1"}})
    assert st == 409
    ops = [{"op": "add", "path": "/metadata/labels/app.kubernetes.io~1x",
            "value": "y"},
           {"op": "replace", "path": "/spec/hostnames/0",
            "value": "j.example.com"},
           {"op": "test", "path": "/metadata/labels/b", "value": "2"}]
    st, o = c.patch(HR + "/pp", ops, ctype="application/json-patch+json")
    assert st == 200
    assert o["metadata"]["labels"]["app.kubernetes.io/x"] == "y"
    assert o["spec"]["hostnames"] == ["j.example.com"]
    st, e = c.patch(HR + "/pp", [{"op": "test", "path": "/spec/hostnames/0",
                                  "value": "no"}],
                    ctype="application/json-patch+json")
    assert st == 422
    st, e = c.patch(HR + "/pp", {"op": "x"},
                    ctype="application/json-patch+json")
    assert st == 400
    st, e = c.patch(HR + "/pp", {"spec": {}},
                    ctype="application/strategic-merge-patch+json")
    assert st == 415
    st, e = c.patch(HR + "/missing", {})
    assert st == 404


def test_strategic_merge_deployment(c):
    D = "/apis/apps/v1/namespaces/default/deployments"
    dep = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "d"},
           "spec": {"selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}},
                                 "spec": {"containers": [
                                     {"name": "tunnel", "image": "x:1"}]}}}}
    st, o = c.post(D, dep)
    assert st == 201 and o["spec"]["replicas"] == 1
    assert o["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "25%"
    assert o["status"] == {}
    p = {"spec": {"template": {"spec": {"containers": [
        {"name": "tunnel", "image": "x:2"}, {"name": "side", "image": "s"}]}}}}
    st, o = c.patch(D + "/d", p,
                    ctype="application/strategic-merge-patch+json")
    cs = o["spec"]["template"]["spec"]["containers"]
    assert [(x["name"], x["image"]) for x in cs] == [("tunnel", "x:2"),
                                                     ("side", "s")]
    assert cs[0]["terminationMessagePath"] == "/dev/termination-log"
    p = {"spec": {"template": {"spec": {"containers": [
        {"name": "side", "$patch": "delete"}]}}}}
    st, o = c.patch(D + "/d", p,
                    ctype="application/strategic-merge-patch+json")
    assert [x["name"] for x in o["spec"]["template"]["spec"][
        "containers"]] == ["tunnel"]
    assert o["metadata"]["generation"] == 3


def test_server_side_apply(c):
    SA = "/api/v1/namespaces/default/configmaps/applied"
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "applied", "labels": {"l": "1"}},
            "data": {"a": "1", "b": "2"}}
    ct = "application/apply-patch+yaml"
    st, o = c.patch(SA + "?fieldManager=ctrl", body, ctype=ct)
    assert st == 201 and o["data"] == {"a": "1", "b": "2"}
    st, o2 = c.patch(SA + "?fieldManager=ctrl", body, ctype=ct)
    assert st == 200
    assert o2["metadata"]["resourceVersion"] == \
        o["metadata"]["resourceVersion"]
    other = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "applied"}, "data": {"a": "X"}}
    st, e = c.patch(SA + "?fieldManager=kubectl", other, ctype=ct)
    assert st == 409 and e["reason"] == "Conflict"
    assert e["details"]["causes"][0]["field"] == ".data.a"
    st, o = c.patch(SA + "?fieldManager=kubectl&force=true", other,
                    ctype=ct)
    assert st == 200 and o["data"]["a"] == "X"
    # ctrl drops label l and key b: both removed; a now belongs to kubectl
    st, o = c.patch(SA + "?fieldManager=ctrl", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "applied"}, "data": {}}, ctype=ct)
    assert st == 200 and o["data"] == {"a": "X"}
    assert "labels" not in o["metadata"]
    st, e = c.patch(SA, body, ctype=ct)
    assert st == 422
    st, e = c.patch(SA + "?fieldManager=x", {"metadata": {}}, ctype=ct)
    assert st == 400


def test_status_subresource_and_generation(c):
    G = GW + "/namespaces/default/gateways"
    gw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
          "metadata": {"name": "gw"},
          "spec": {"gatewayClassName": "cf", "listeners": [
              {"name": "http", "protocol": "HTTP", "port": 80}]},
          "status": {"conditions": []}}
    st, o = c.post(G, gw)
    assert st == 201 and o["metadata"]["generation"] == 1
    # status in a create body is dropped, CRD status defaults are not
    # applied to an absent status
    assert "status" not in o or o["status"] != {"conditions": []}
    o["status"] = {"conditions": [{"type": "Accepted", "status": "True",
                                   "reason": "Accepted", "message": "",
                                   "lastTransitionTime":
                                   "2026-01-01T00:00:00Z",
                                   "observedGeneration": 1}]}
    st, s = c.put(G + "/gw/status", o)
    assert st == 200 and s["status"]["conditions"][0]["type"] == "Accepted"
    assert s["metadata"]["generation"] == 1
    # status via the main resource is ignored; label change: no generation
    s["status"] = {"conditions": []}
    s["metadata"]["labels"] = {"x": "y"}
    st, u = c.put(G + "/gw", s)
    assert u["status"]["conditions"][0]["type"] == "Accepted"
    assert u["metadata"]["generation"] == 1
    # spec via /status is ignored
    st, u2 = c.patch(G + "/gw/status", {"spec": {"gatewayClassName": "z"},
                                        "metadata": {"labels": {"x": "z"}}})
    assert u2["spec"]["gatewayClassName"] == "cf"
    assert u2["metadata"]["labels"] == {"x": "y"}
    st, u3 = c.patch(G + "/gw", {"spec": {"gatewayClassName": "z"}})
    assert u3["metadata"]["generation"] == 2
    # no status subresource on cgp
    P = "/apis/cloudflare-gateway-controller.io/v1/namespaces/default/" \
        "cloudflaregatewayparameters"
    c.post(P, {"apiVersion": "cloudflare-gateway-controller.io/v1",
               "kind": "CloudflareGatewayParameters",
               "metadata": {"name": "p"}, "spec": {}})
    st, e = c.get(P + "/p/status")
    assert st == 404


def test_cgs_crd_and_printer_columns(c):
    S = "/apis/cloudflare-gateway-controller.io/v1/namespaces/default/" \
        "cloudflaregatewaystatuses"
    st, o = c.post(S, {"apiVersion": "cloudflare-gateway-controller.io/v1",
                       "kind": "CloudflareGatewayStatus",
                       "metadata": {"name": "gw"}})
    assert st == 201
    st, o = c.patch(S + "/gw/status", {"status": {
        "tunnel": {"name": "t", "id": "123"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "Ok",
                        "message": "", "lastTransitionTime":
                        "2026-01-01T00:00:00Z"}]}})
    assert st == 200
    st, t = c.get(S, accept="application/json;as=Table;v=v1;"
                  "g=meta.k8s.io,application/json")
    assert t["kind"] == "Table"
    assert [d["name"] for d in t["columnDefinitions"]] == [
        "Name", "Tunnel Name", "Tunnel ID", "DNS", "Ready"]
    assert t["rows"][0]["cells"] == ["gw", "t", "123", None, "True"]
    st, e = c.patch(S + "/gw/status", {"status": {"conditions": [
        {"type": "Ready", "status": "Maybe"}]}})
    assert st == 422


def test_simulated_deployments():
    s = KubeSim(simulate_deployments=True).start()
    try:
        c = Client(s.url)
        D = "/apis/apps/v1/namespaces/default/deployments"
        c.post(D, {"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "d"},
                   "spec": {"replicas": 2,
                            "selector": {"matchLabels": {"a": "b"}},
                            "template": {"metadata": {"labels": {"a": "b"}},
                                         "spec": {"containers": [
                                             {"name": "c", "image": "i"}]}}}})

        def ready():
            st = c.get(D + "/d")[1].get("status") or {}
            return st.get("availableReplicas") == 2 and st
        st = wait_for(ready)
        assert st and st["observedGeneration"] == 1
        assert {x["type"] for x in st["conditions"]} == {"Available",
                                                        "Progressing"}
    finally:
        s.stop()


def test_crd_created_through_api(c):
    crd = {"apiVersion": "apiextensions.k8s.io/v1",
           "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True,
                                  "storage": True, "schema": {
                                      "openAPIV3Schema": {
                                          "type": "object", "properties": {
                                              "spec": {"type": "object",
                                                       "properties": {
                                                           "size": {
                                                               "type":
                                                               "integer",
                                                               "default": 3
                                                           }}}}}}}]}}
    st, o = c.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                   crd)
    assert st == 201
    st, o = c.post("/apis/example.com/v1/namespaces/default/widgets", {
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {}})
    assert st == 201 and o["spec"]["size"] == 3
    st, d = c.get("/apis/example.com/v1")
    assert d["resources"][0]["name"] == "widgets"


def test_faults_and_request_log(sim, c):
    c.raw("POST", "/_sim/faults", json.dumps({"rules": [
        {"method": "GET", "path_regex": "configmaps$", "count": 1,
         "status": 429, "headers": {"Retry-After": "1"}},
        {"path_regex": "secrets$", "count": 1, "invalid_json": True}]}))
    st, h, _ = c.raw("GET", CM)
    assert st == 429 and h.get("Retry-After") == "1"
    assert c.get(CM)[0] == 200
    st, body = c.get("/api/v1/namespaces/default/secrets")
    assert st == 200 and isinstance(body, str)
    reqs = json.loads(c.raw("GET", "/_sim/requests")[2])
    assert [r["status"] for r in reqs if r["path"].endswith("configmaps")] \
        == [429, 200]
    assert reqs[0]["user_agent"].startswith("kubesim-test")
    c.raw("POST", "/_sim/reset-log")
    assert json.loads(c.raw("GET", "/_sim/requests")[2]) == []
    # watch faults
    c.post(CM, cm("a"))
    c.post(CM, cm("b"))
    c.raw("POST", "/_sim/faults", json.dumps({"rules": [
        {"path_regex": "configmaps", "count": 1, "watch_drop_after": 1}]}))
    st, ev = watch_lines(sim.url, CM + "?watch=1&timeoutSeconds=5")
    assert len(ev) == 1
    c.raw("POST", "/_sim/faults", json.dumps({"rules": [
        {"path_regex": "configmaps", "count": 1, "watch_gone": True}]}))
    st, ev = watch_lines(sim.url, CM + "?watch=1&timeoutSeconds=5")
    assert ev[0]["type"] == "ERROR" and ev[0]["object"]["code"] == 410
    c.raw("POST", "/_sim/faults", json.dumps({"rules": [
        {"path_regex": "configmaps", "count": 1, "partial_chunks": True,
         "chunk_delay_ms": 1}]}))
    st, ev = watch_lines(sim.url, CM + "?watch=1&timeoutSeconds=1")
    assert [e["object"]["metadata"]["name"] for e in ev] == ["a", "b"]
    c.raw("POST", "/_sim/faults", json.dumps({"rules": []}))
    objs = json.loads(c.raw("GET", "/_sim/objects?kind=ConfigMap")[2])
    assert {o["metadata"]["name"] for o in objs} == {"a", "b"}


def test_bulk_load_and_preload(tmp_path):
    objs = [route("b%d" % i, "ns%d" % (i % 3)) for i in range(30)]
    f = tmp_path / "pre.json"
    f.write_text(json.dumps(objs))
    s = KubeSim(preload=str(f)).start()
    try:
        c = Client(s.url)
        st, l = c.get(GW + "/httproutes")
        assert len(l["items"]) == 30
        st, _, b = c.raw("POST", "/_sim/load", json.dumps(
            [cm("l%d" % i) for i in range(5)]))
        assert st == 200 and json.loads(b)["loaded"] == 5
        assert len(c.get(CM)[1]["items"]) == 5
        # a status given to /_sim/load is kept (API creates drop it)
        r = route("with-status")
        r["status"] = {"parents": []}
        c.raw("POST", "/_sim/load", json.dumps([r]))
        st, o = c.get(GW + "/namespaces/default/httproutes/with-status")
        assert o["status"] == {"parents": []}
    finally:
        s.stop()


def test_namespace_deletion(c):
    c.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": {"name": "gone"}})
    c.post("/api/v1/namespaces/gone/configmaps", cm("x"))
    st, d = c.delete("/api/v1/namespaces/gone")
    assert st == 200 and d["status"]["phase"] == "Terminating"
    assert wait_for(lambda: c.get("/api/v1/namespaces/gone")[0] == 404)
    assert c.get("/api/v1/namespaces/gone/configmaps/x")[0] == 404
