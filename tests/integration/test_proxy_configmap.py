# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy --routes-configmap against the Kubernetes API simulator:
initial load, update, bad update kept out, delete keeps the table."""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402
from test_proxy_lib import Backend, Proxy, http_get  # noqa: E402
from test_proxy_reload import table  # noqa: E402


def cm(name, text):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"},
            "data": {"routes.json": text}}


def wait_name(px, want, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st, _, body = http_get(px.http, "/x")
        if st == 200 and json.loads(body)["name"] == want:
            return True
        time.sleep(0.1)
    return False


def test_configmap_watch(tmp_path):
    sim = harness.start_kubesim(tmp_path)
    a = Backend("a")
    b = Backend("b")
    px = None
    try:
        kc = harness.write_kubeconfig(tmp_path / "kc", sim.url)
        sim.create(cm("unrelated", "{}"))
        px = Proxy(tmp_path, None, https=False,
                   extra=["--routes-configmap", "default/gateway-gw",
                          "--kubeconfig", str(kc)])
        # The ConfigMap does not exist yet: not ready, 503.
        assert http_get(px.admin, "/readyz")[0] == 503
        assert http_get(px.http, "/x")[0] == 503
        sim.create(cm("gateway-gw", json.dumps(table(a.port, "a", "g1"))))
        assert wait_name(px, "a"), px.log()
        assert http_get(px.admin, "/readyz")[0] == 200
        sim.patch("ConfigMap", "gateway-gw", {"data": {
            "routes.json": json.dumps(table(b.port, "b", "g2"))}},
            ns="default")
        assert wait_name(px, "b"), px.log()
        # A bad table and an unrelated ConfigMap change nothing.
        sim.patch("ConfigMap", "gateway-gw", {"data": {
            "routes.json": "{broken"}}, ns="default")
        sim.patch("ConfigMap", "unrelated", {"data": {"routes.json": "[]"}},
                  ns="default")
        assert px.wait_log("rejected"), px.log()
        assert wait_name(px, "b")
        sim.delete("ConfigMap", "gateway-gw", ns="default")
        assert px.wait_log("deleted; keeping"), px.log()
        assert wait_name(px, "b")
        m = px.metrics()
        assert m["cfgw_proxy_table_generation"] == 2
        assert m["cfgw_proxy_table_reload_failures_total"] == 1
    finally:
        if px:
            px.stop()
        a.stop()
        b.stop()
        sim.stop()
