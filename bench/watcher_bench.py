# SPDX-License-Identifier: Apache-2.0
"""Watcher and reconciler at scale: 10,000 HTTPRoutes across 100 namespaces.

Loads the routes into kubesim (POST /_sim/load), then for each run starts
the real controller (bin/cfgwd with all five workers, cfsim for
Cloudflare) and measures
  - the time from cfgwd's start until the reconciler logs that its store
    holds all the routes (`store: ... HTTPRoute=10000`, reconciler/store.c),
    with the phases from the workers' log timestamps;
  - the peak RSS (VmHWM) of the watcher and the reconciler, and their
    peak private memory (RssAnon, sampled), since VmHWM also counts the
    ~12 MB of shared-library pages (libcrypto, libc, libzmq, libcurl...)
    every worker maps.
It also measures, against the same simulator and in the same run,
  - kubesim alone serving the paginated list (limit=500, as the watcher
    asks), so the figure can be read honestly: the simulator is Python;
  - the peer: `kubectl get httproutes -A -o json` (wall time, max RSS).

    /usr/bin/python3 bench/watcher_bench.py [--routes N] [--runs N]
        [--namespaces N] [--keep DIR]

Goals (issue 3): under 5 s, under 20 MB each.  Exit status 0 even when a
goal is missed (a benchmark, not a test); the verdict is printed.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import harness  # noqa: E402

GOAL_S = 5.0
GOAL_MB = 20.0
GW = "/apis/gateway.networking.k8s.io/v1"
TS_RE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z")


def route(i, nns):
    ns = "bench-%02d" % (i % nns)
    name = "route-%05d" % i
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": ns,
                         "labels": {"app": name, "tier": "web"},
                         "annotations": {"example.com/owner": "team-%d" %
                                         (i % 17)}},
            "spec": {"parentRefs": [{"name": "gw", "namespace": "default"}],
                     "hostnames": [name + ".example.com"],
                     "rules": [{"matches": [{"path": {
                         "type": "PathPrefix", "value": "/"}}],
                         "backendRefs": [{"name": "svc-%d" % (i % 50),
                                          "port": 8080}]}]}}


def load(sim, n, nns):
    objs = [route(i, nns) for i in range(n)]
    t0 = time.monotonic()
    st, body = sim.ctl.post("/_sim/load", objs)
    if st != 200 or body.get("loaded") != n:
        sys.exit(f"bench: loading the routes failed: {st} {body}")
    return time.monotonic() - t0


def sim_list_alone(url):
    """Seconds for kubesim to serve every page (bytes only, no decoding
    beyond the continue token)."""
    cont, pages, size = "", 0, 0
    t0 = time.monotonic()
    while True:
        q = "?limit=500" + ("&continue=" + cont if cont else "")
        req = urllib.request.Request(url + GW + "/httproutes" + q, headers={
            "Accept": "application/json", "User-Agent": "bench/list"})
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
        size += len(raw)
        pages += 1
        m = re.search(rb'"continue":"([^"]*)"', raw[:4096]) or \
            re.search(rb'"continue":"([^"]*)"', raw[-4096:])
        cont = m.group(1).decode() if m else ""
        if not cont:
            break
    return time.monotonic() - t0, pages, size


def peer_kubectl(kubeconfig, n):
    """kubectl get httproutes -A -o json: (seconds, max RSS MB) or None."""
    kubectl = shutil.which("kubectl") or str(harness.REPO /
                                            "build/tools/kubectl")
    if not os.access(kubectl, os.X_OK):
        return None
    out = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M", kubectl,
                        "--kubeconfig", str(kubeconfig), "get",
                        "httproutes", "-A", "-o", "json"],
                       stdout=out, stderr=subprocess.PIPE, text=False)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        print("bench: kubectl failed:", p.stderr.decode()[-500:])
        return None
    out.seek(0)
    items = len(json.load(out)["items"])
    if items != n:
        print(f"bench: kubectl saw {items} routes, not {n}")
    last = p.stderr.decode().strip().splitlines()[-1].split()
    return wall, int(last[1]) / 1024.0


def status_mb(pid, field):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def cpu_s(pid):
    """User + system CPU seconds of a live process."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def hwm_mb(pid):
    return status_mb(pid, "VmHWM")


class AnonPeak:
    """Peak RssAnon (private memory, without the shared libraries' pages
    that VmHWM also counts), sampled."""

    def __init__(self):
        self.peak = {}

    def sample(self, pids):
        for k in ("watcher", "reconciler"):
            if k in pids:
                v = status_mb(pids[k], "RssAnon")
                if v == v and v > self.peak.get(k, 0.0):
                    self.peak[k] = v


def log_time(text, needle):
    """Wall-clock seconds (epoch) of the first log line containing
    needle, from its timestamp."""
    for line in text.splitlines():
        if needle in line:
            m = TS_RE.search(line)
            if m:
                return datetime.fromisoformat(m.group(1) + "+00:00") \
                    .timestamp()
    return None


def one_run(workdir, kube, cf, n):
    workdir.mkdir(parents=True)
    want = f"HTTPRoute={n} "
    t_start = time.time()
    t0 = time.monotonic()
    gw = harness.Cfgwd(workdir, kube, cf, cluster="bench")
    pat = re.compile(r"store:.* HTTPRoute=(\d+) ")
    pids, elapsed = {}, None
    anon = AnonPeak()
    try:
        deadline = t0 + 300
        while time.monotonic() < deadline:
            if gw.proc.proc.poll() is not None:
                sys.exit("bench: cfgwd exited: " + gw.proc.tail())
            if len(pids) < 5:
                pids = gw.worker_pids()
            anon.sample(pids)
            log = gw.log("reconciler")
            if want in log:
                elapsed = time.monotonic() - t0
                break
            time.sleep(0.01)
        if elapsed is None:
            got = pat.findall(gw.log("reconciler"))
            sys.exit(f"bench: the reconciler never held {n} routes "
                     f"(last count {got[-1:] or 'none'})")
        cpu = {k: cpu_s(pids.get(k, 0)) for k in ("watcher", "reconciler")}
        for _ in range(100):    # settle: deltas after the snapshot
            anon.sample(pids)
            time.sleep(0.02)
        rss = {k: hwm_mb(pids.get(k, 0)) for k in ("watcher", "reconciler")}
        wl, rl = gw.log("watcher"), gw.log("reconciler")
        phases = {
            "watcher ready": log_time(wl, "watcher ready"),
            "snapshot sent": log_time(wl, "snapshot sent"),
            "reconciler holds all": log_time(rl, want),
        }
        phases = {k: (v - t_start if v else float("nan"))
                  for k, v in phases.items()}
        phases["cpu"] = cpu
    finally:
        gw.stop()
    return elapsed, anon.peak, rss, phases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--routes", type=int, default=10000)
    ap.add_argument("--namespaces", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", help="keep logs in this directory")
    a = ap.parse_args()
    base = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(
        prefix="cfgw-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    kube = harness.start_kubesim(base)
    cf = harness.start_cfsim(base, None)
    try:
        load_s = load(kube, a.routes, a.namespaces)
        print(f"machine: {machine()}")
        print(f"kubesim: loaded {a.routes} HTTPRoutes in {a.namespaces} "
              f"namespaces in {load_s:.2f} s")
        sim_s, pages, size = sim_list_alone(kube.url)
        print(f"kubesim alone: paginated list ({pages} pages, "
              f"{size / 1e6:.1f} MB JSON) served in {sim_s:.2f} s")
        kc = harness.write_kubeconfig(base / "bench.kubeconfig", kube.url)
        peer = peer_kubectl(kc, a.routes)
        runs = []
        for i in range(a.runs):
            r = one_run(base / f"run{i}", kube, cf, a.routes)
            runs.append(r)
            el, anon, rss, ph = r
            print(f"run {i + 1}: {el:.2f} s to the reconciler holding all "
                  f"(watcher ready {ph['watcher ready']:.2f} s, snapshot "
                  f"sent {ph['snapshot sent']:.2f} s, store logged "
                  f"{ph['reconciler holds all']:.2f} s; CPU watcher "
                  f"{ph['cpu']['watcher']:.2f} s, reconciler "
                  f"{ph['cpu']['reconciler']:.2f} s); VmHWM watcher "
                  f"{rss['watcher']:.1f} MB, reconciler "
                  f"{rss['reconciler']:.1f} MB (private, sampled: "
                  f"{anon.get('watcher', 0):.1f} MB, "
                  f"{anon.get('reconciler', 0):.1f} MB)")
        report(runs, peer, sim_s)
    finally:
        kube.stop()
        cf.stop()
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)


def machine():
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load1 = os.getloadavg()[0]
    return f"{os.cpu_count()} CPUs ({cpu}), load average {load1:.2f}"


def report(runs, peer, sim_s):
    t = statistics.median(r[0] for r in runs)
    w = max(r[2]["watcher"] for r in runs)
    rc = max(r[2]["reconciler"] for r in runs)
    print("== summary (median time, worst peak RSS over the runs)")
    print(f"time to reconciler holding all routes: {t:.2f} s "
          f"(goal < {GOAL_S:.0f} s: {'met' if t < GOAL_S else 'MISSED'})")
    print(f"  of which kubesim serving the list alone: {sim_s:.2f} s")
    print(f"peak RSS watcher: {w:.1f} MB (goal < {GOAL_MB:.0f} MB: "
          f"{'met' if w < GOAL_MB else 'MISSED'})")
    print(f"peak RSS reconciler: {rc:.1f} MB (goal < {GOAL_MB:.0f} MB: "
          f"{'met' if rc < GOAL_MB else 'MISSED'})")
    print("  peak private (RssAnon, sampled every ~10 ms): watcher "
          f"{max(r[1].get('watcher', 0) for r in runs):.1f} MB, reconciler "
          f"{max(r[1].get('reconciler', 0) for r in runs):.1f} MB; VmHWM "
          "also counts the shared libraries' pages")
    if peer is None:
        print("peer: kubectl not found (tools/fetch-kubectl.sh)")
        return
    ps, pm = peer
    print(f"peer: kubectl get httproutes -A -o json: {ps:.2f} s, "
          f"max RSS {pm:.1f} MB")
    print(f"ratio cfgw/kubectl: time {t / ps:.2f}, RSS watcher "
          f"{w / pm:.2f}, reconciler {rc / pm:.2f}")


if __name__ == "__main__":
    main()
