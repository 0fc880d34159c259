#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""make demo: the whole controller against local API simulators.

Starts the Kubernetes and Cloudflare API simulators on 127.0.0.1, starts
cfgwd (which starts its five workers), applies examples/, waits for the
tunnel, the DNS record and the Gateway's status, then routes a real HTTP
request through cfgw-proxy using the route table the controller wrote, and
stops everything cleanly.
"""
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import condition, wait_for  # noqa: E402

import yaml  # noqa: E402

TOKEN = "demo-token-0123456789abcdef"
ACCOUNT = "demo-account"


def say(msg):
    print(f"\n==> {msg}", flush=True)


def main():
    work = Path(tempfile.mkdtemp(prefix="cfgw-demo-"))
    procs = []
    try:
        say("starting the Kubernetes and Cloudflare API simulators")
        kube = harness.start_kubesim(work, "--simulate-deployments")
        procs.append(kube)
        cf = harness.start_cfsim(work, {
            "accounts": [{"id": ACCOUNT, "name": "demo"}],
            "tokens": [{"token": TOKEN, "account": ACCOUNT,
                        "status": "active"}],
            "zones": [{"name": "example.com", "account": ACCOUNT}]},
            "--auto-connect")
        procs.append(cf)
        print(f"    Kubernetes API  {kube.url}")
        print(f"    Cloudflare API  {cf.api_url}")

        say("applying examples/ (Secret, GatewayClass, Gateway, "
            "Service, HTTPRoute)")
        for f in sorted((harness.REPO / "examples").glob("*.yaml")):
            for doc in yaml.safe_load_all(f.read_text()):
                if doc:
                    kube.create(doc)
                    print(f"    {doc['kind']}/{doc['metadata']['name']}")

        say("starting cfgwd (logs in %s)" % (work / "logs"))
        gw = harness.Cfgwd(work, kube, cf, cluster="demo")
        procs.append(gw)
        gw.ready()
        for name, pid in sorted(gw.worker_pids().items()):
            print(f"    {name:<10} pid {pid}")

        def ready():
            g = kube.get("Gateway", "my-gateway")
            c = condition(g, "Ready")
            recs = [r for z in cf.state()["zones"]
                    for r in z["records"]]
            return c and c["status"] == "True" and recs and (g, recs)
        g, recs = wait_for(ready, 60, what="the Gateway to be ready")

        say("Cloudflare: the tunnel")
        for t in cf.state()["tunnels"]:
            if not t.get("deleted_at"):
                print(f"    {t['id']}  {t['name']}")
        say("Cloudflare: DNS records")
        for r in recs:
            print(f"    {r['type']} {r['name']} -> {r['content']} "
                  f"(proxied={r['proxied']}, comment={r.get('comment')!r})")
        say("Kubernetes: Gateway my-gateway status")
        for c in g["status"]["conditions"]:
            print(f"    {c['type']:<14} {c['status']:<6} {c['reason']}")
        for a in g["status"].get("addresses", []):
            print(f"    address: {a['value']}")

        kubectl = shutil.which("kubectl") or \
            (harness.REPO / "build/tools/kubectl")
        if Path(kubectl).exists():
            say("kubectl get gateways,httproutes -A (against the simulator)")
            r = subprocess.run([str(kubectl), "--kubeconfig",
                                str(gw.kubeconfig), "get",
                                "gatewayclasses,gateways,httproutes", "-A"],
                               capture_output=True, text=True, timeout=30)
            print("    " + (r.stdout + r.stderr).strip().replace(
                "\n", "\n    "))

        say("routing a real request through cfgw-proxy")
        cm = kube.get("ConfigMap", "gateway-my-gateway")
        table = work / "routes.json"
        table.write_text(next(iter(cm["data"].values())))
        echo_port = harness.free_port()
        echo = harness.Proc([harness.PYTHON,
                             harness.REPO / "tests/integration/echo_backend.py",
                             "--listen", f"127.0.0.1:{echo_port}",
                             "--name", "my-service"],
                            work / "echo.log")
        procs.append(echo)
        http_port = harness.free_port()
        proxy = harness.Proc([harness.binpath("cfgw-proxy"),
                              "--routes-file", table,
                              "--http-addr", f"127.0.0.1:{http_port}",
                              "--https-addr",
                              f"127.0.0.1:{harness.free_port()}",
                              "--admin-addr",
                              f"127.0.0.1:{harness.free_port()}",
                              "--resolve",
                              "my-service.default.svc.cluster.local:80:"
                              f"127.0.0.1:{echo_port}"],
                             work / "proxy.log")
        procs.append(proxy)
        url = f"http://127.0.0.1:{http_port}/hello?demo=1"

        def fetch():
            req = urllib.request.Request(
                url, headers={"Host": "app.example.com"})
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read())
        status, body = wait_for(fetch, 20, what="a routed request")
        print(f"    GET http://app.example.com/hello?demo=1 -> {status}")
        print(f"    answered by backend {body.get('name')!r}: "
              f"{body.get('method')} {body.get('path')} "
              f"host={body.get('host')}")
        if status != 200 or body.get("name") != "my-service":
            raise SystemExit("demo: the request was not routed")

        say("stopping cfgwd (SIGTERM)")
        rc = gw.stop()
        procs.remove(gw)
        print(f"    cfgwd exited with status {rc}")
        say("demo complete")
        return 0 if rc == 0 else 1
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
