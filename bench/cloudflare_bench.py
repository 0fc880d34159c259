# SPDX-License-Identifier: Apache-2.0
"""Cloudflare API cost of the real controller: 1,000 new hostnames in one
zone, then an idle resync.

Starts kubesim and cfsim (127.0.0.1), one Gateway with HTTPRoutes that
total N hostnames (16 per route, the CRD's maximum) in one zone, and the
real controller (bin/cfgwd with its five workers, default --cf-budget).
It measures, from cfsim's request log:
  1. converge: every request until all N CNAMEs exist, proxied, pointing
     at the tunnel (and the log is quiet for --quiet seconds);
  2. idle resync: SIGHUP to cfgwd (RESYNC to every worker: caches dropped,
     everything re-listed and re-sent) with nothing changed: writes
     (goal 0) and reads, until the log is quiet again.
The peer is the reference implementation (BEHAVIOUR.md sections 2.6 and
3), whose count is COMPUTED from its documented algorithm for the same
scenario (it cannot run here): per new hostname, two zone lookups
(GET /zones?name=<host>, then the parent) done twice (conflict check and
reconcile), one list by name and one POST = 6; per reconcile, the tunnel
lookup, create and token, the zone list and the CNAME list (SDK auto-
paging: one extra empty page each).  Idle: the same minus the POSTs and
the create, with the 1,000 CNAMEs listed at 100 per page.

    /usr/bin/python3 bench/cloudflare_bench.py [--hosts N] [--quiet S]
        [--keep DIR]
Goals (issue 4): converge in <= 20 requests; idle resync 0 writes.
Exit status 0 even when a goal is missed (a benchmark, not a test).
"""
import argparse
import collections
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import harness  # noqa: E402

ACCOUNT = "acc-bench"
ZONE = "example.com"
GOAL_CONVERGE = 20
GOAL_IDLE_WRITES = 0


def reference_cost(n):
    """The reference's requests for n new hostnames in one zone, and for
    an idle reconcile afterwards, from BEHAVIOUR.md 2.6 and 3."""
    per_host = 2 * 2 + 1 + 1          # lookups x2, list by name, POST
    fixed = (1 + 1 + 1                # tunnel by name (empty), create, token
             + 2                      # GET /zones + empty page
             + 1)                     # CNAMEs by target: empty first page
    idle_per_host = 2 * 2 + 1         # lookups x2, list by name (no-op)
    idle_fixed = (2 + 1               # tunnel by name + empty page, token
                  + 2                 # zones + empty page
                  + (n + 99) // 100 + 1)   # CNAMEs by target, 100/page
    return n * per_host + fixed, n * idle_per_host + idle_fixed


def objects(token, n):
    objs = [
        harness.secret("cloudflare-creds", "default", {
            "CLOUDFLARE_API_TOKEN": token,
            "CLOUDFLARE_ACCOUNT_ID": ACCOUNT}),
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
         "metadata": {"name": "cloudflare"},
         "spec": {"controllerName":
                  "cloudflare-gateway-controller.io/controller",
                  "parametersRef": {"group": "", "kind": "Secret",
                                    "name": "cloudflare-creds",
                                    "namespace": "default"}}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
         "metadata": {"name": "bench", "namespace": "default"},
         "spec": {"gatewayClassName": "cloudflare",
                  "listeners": [{"name": "https", "protocol": "HTTPS",
                                 "port": 443}]}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "app", "namespace": "default"},
         "spec": {"selector": {"app": "app"},
                  "ports": [{"name": "http", "port": 80,
                             "targetPort": 8080}]}},
    ]
    hosts = [f"h{i:04d}.{ZONE}" for i in range(n)]
    for k, i in enumerate(range(0, n, 16)):
        objs.append({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": f"r{k:03d}", "namespace": "default"},
            "spec": {"parentRefs": [{"name": "bench"}],
                     "hostnames": hosts[i:i + 16],
                     "rules": [{"backendRefs": [{"name": "app",
                                                 "port": 80}]}]}})
    return objs, hosts


def requests_since(cf, seq):
    return [r for r in cf.requests() if r["seq"] > seq]


def wait_quiet(cf, quiet, timeout=120):
    """Until cfsim has seen no request for `quiet` seconds."""
    last, t_last = None, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reqs = cf.requests()
        seq = reqs[-1]["seq"] if reqs else 0
        if seq != last:
            last, t_last = seq, time.monotonic()
        elif time.monotonic() - t_last >= quiet:
            return seq
        time.sleep(0.2)
    return last


def summary(reqs):
    writes = [r for r in reqs if r["method"] != "GET"]
    by = collections.Counter(
        f"{r['method']} {route(r['path'])} {r['status']}" for r in reqs)
    return len(reqs), len(writes), by


def route(path):
    words = {"accounts", "zones", "cfd_tunnel", "dns_records", "batch",
             "configurations", "connections", "token", "tokens", "verify",
             "user"}
    return "/" + "/".join(s if s in words else ":id"
                          for s in path.strip("/").split("/"))


def run(args, work):
    token = "tok-bench-0123456789abcdef0123"
    kube = harness.start_kubesim(work, "--simulate-deployments")
    cf = harness.start_cfsim(work, None, "--auto-connect")
    gw = None
    try:
        cf.seed({"accounts": [{"id": ACCOUNT, "name": "bench"}],
                 "tokens": [{"token": token, "account": ACCOUNT,
                             "status": "active"}],
                 "zones": [{"name": ZONE, "account": ACCOUNT}]})
        objs, hosts = objects(token, args.hosts)
        kube.apply_all(objs)
        t0 = time.monotonic()
        gw = harness.Cfgwd(work, kube, cf)
        gw.ready()

        def converged():
            st = cf.state()
            tun = [t for t in st["tunnels"] if not t.get("deleted_at")]
            if len(tun) != 1:
                return False
            target = tun[0]["id"] + ".cfargotunnel.com"
            cn = {r["name"]: r for z in st["zones"] for r in z["records"]
                  if r["type"] == "CNAME"}
            return all(h in cn and cn[h]["content"] == target and
                       cn[h]["proxied"] for h in hosts)
        harness.wait_for(converged, 300, interval=0.5,
                         what=f"{args.hosts} CNAMEs")
        t_conv = time.monotonic() - t0
        mark = wait_quiet(cf, args.quiet)
        conv = summary(requests_since(cf, 0))
        gw.proc.signal(signal.SIGHUP)
        time.sleep(0.5)
        end = wait_quiet(cf, args.quiet)
        idle = summary([r for r in requests_since(cf, mark)
                        if r["seq"] <= end])
        dnslog = gw.log("dnsworker")
        return t_conv, conv, idle, dnslog
    finally:
        if gw is not None:
            gw.stop()
        cf.stop()
        kube.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--quiet", type=float, default=4.0,
                    help="seconds without a request that end a phase")
    ap.add_argument("--keep", help="keep logs in this directory")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="cfgw-cfbench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t_conv, conv, idle, _ = run(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    ref_conv, ref_idle = reference_cost(args.hosts)
    n, w, by = conv
    print(f"converge {args.hosts} new hostnames (one zone): {n} requests "
          f"({w} writes) in {t_conv:.1f} s   goal <= {GOAL_CONVERGE}: "
          f"{'met' if n <= GOAL_CONVERGE else 'MISSED'}")
    for k, v in sorted(by.items()):
        print(f"    {v:5d}  {k}")
    print(f"  peer: reference implementation, computed from BEHAVIOUR.md "
          f"2.6/3: {ref_conv} requests (6 per new hostname + 6); "
          f"ratio {ref_conv / max(n, 1):.0f}x fewer")
    n2, w2, by2 = idle
    print(f"idle resync (SIGHUP, nothing changed): {w2} writes, "
          f"{n2 - w2} reads   goal {GOAL_IDLE_WRITES} writes: "
          f"{'met' if w2 <= GOAL_IDLE_WRITES else 'MISSED'}")
    for k, v in sorted(by2.items()):
        print(f"    {v:5d}  {k}")
    print(f"  peer: reference, computed: 0 writes, {ref_idle} reads "
          f"(5 per hostname + {ref_idle - 5 * args.hosts}) per reconcile; "
          f"ratio {ref_idle / max(n2, 1):.0f}x fewer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
