# SPDX-License-Identifier: Apache-2.0
"""Kubernetes API simulator at benchmark scale (10,000 HTTPRoutes across 100
namespaces: bulk load, paginated list, watch replay), plus --preload YAML,
--log and --vpa."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kubesim import KubeSim  # noqa: E402
from kubesim_testlib import GW, Client, route, watch_lines  # noqa: E402


def test_ten_thousand_routes():
    s = KubeSim().start()
    try:
        c = Client(s.url)
        objs = [route("r%05d" % i, "ns%02d" % (i % 100))
                for i in range(10000)]
        t0 = time.time()
        st, _, b = c.raw("POST", "/_sim/load", json.dumps(objs))
        assert st == 200 and json.loads(b)["loaded"] == 10000
        load_s = time.time() - t0
        t0 = time.time()
        names = []
        cont = ""
        pages = 0
        while True:
            st, l = c.get(GW + "/httproutes?limit=500" +
                          ("&continue=" + cont if cont else ""))
            assert st == 200
            names += [(i["metadata"]["namespace"], i["metadata"]["name"])
                      for i in l["items"]]
            pages += 1
            cont = l["metadata"]["continue"]
            if not cont:
                break
        list_s = time.time() - t0
        assert pages == 20 and len(names) == 10000
        assert names == sorted(names) and len(set(names)) == 10000
        # a creation loop through the API (a sample of the 10k)
        t0 = time.time()
        for i in range(500):
            assert c.post(GW + "/namespaces/ns00/httproutes",
                          route("extra%03d" % i, "ns00"))[0] == 201
        create_s = (time.time() - t0) * 20
        # generous bounds: the machine is shared; typical values are
        # ~2 s load, <1 s list, ~5 s for 10k creates
        assert load_s < 30 and list_s < 15 and create_s < 60, \
            (load_s, list_s, create_s)
        st, ev = watch_lines(s.url, GW + "/namespaces/ns07/httproutes?"
                             "watch=1&timeoutSeconds=1")
        assert len(ev) == 100 and {e["type"] for e in ev} == {"ADDED"}
    finally:
        s.stop()


def test_preload_yaml_log_and_vpa(tmp_path):
    pre = tmp_path / "pre.yaml"
    pre.write_text("""\
apiVersion: v1
kind: Namespace
metadata:
  name: team-b
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: team-b
spec:
  gatewayClassName: cloudflare
  listeners:
  - name: http
    protocol: HTTP
    port: 80
""")
    log = tmp_path / "sim.log"
    s = KubeSim(preload=str(pre), log=str(log), vpa=True).start()
    try:
        c = Client(s.url)
        st, g = c.get(GW + "/namespaces/team-b/gateways/gw")
        assert st == 200 and g["spec"]["gatewayClassName"] == "cloudflare"
        st, d = c.get("/apis/autoscaling.k8s.io/v1")
        assert st == 200
        assert d["resources"][0]["name"] == "verticalpodautoscalers"
        st, v = c.post("/apis/autoscaling.k8s.io/v1/namespaces/team-b/"
                       "verticalpodautoscalers", {
                           "apiVersion": "autoscaling.k8s.io/v1",
                           "kind": "VerticalPodAutoscaler",
                           "metadata": {"name": "v"}, "spec": {}})
        assert st == 201
    finally:
        s.stop()
    text = log.read_text()
    assert "GET /apis/gateway.networking.k8s.io/v1/namespaces/team-b/" \
        "gateways/gw -> 200" in text
    assert "-> 201" in text


def test_without_vpa_group_is_absent():
    s = KubeSim().start()
    try:
        st, body = Client(s.url).get("/apis/autoscaling.k8s.io/v1")
        assert st == 404
    finally:
        s.stop()


def test_openapi_v3_and_strict_field_validation():
    s = KubeSim().start()
    try:
        c = Client(s.url)
        st, root = c.get("/openapi/v3")
        url = root["paths"]["apis/gateway.networking.k8s.io/v1"][
            "serverRelativeURL"]
        assert "api/v1" in root["paths"]
        st, doc = c.get(url)
        p = doc["paths"]["/apis/gateway.networking.k8s.io/v1/namespaces/"
                         "{namespace}/httproutes/{name}"]["patch"]
        assert "fieldValidation" in [x["name"] for x in p["parameters"]]
        assert p["x-kubernetes-group-version-kind"]["kind"] == "HTTPRoute"
        assert c.get("/openapi/v3/apis/nope/v1")[0] == 404
        r = route("strict")
        r["spec"]["bogus"] = 1
        st, e = c.post(GW + "/namespaces/default/httproutes"
                       "?fieldValidation=Strict", r)
        assert st == 400 and e["message"] == \
            'strict decoding error: unknown field "spec.bogus"'
        st, o = c.post(GW + "/namespaces/default/httproutes", r)
        assert st == 201 and "bogus" not in o["spec"]
    finally:
        s.stop()
