# SPDX-License-Identifier: Apache-2.0
"""cfapi's API budget under load and faults.

- Faults: the real cfgwd and all workers converge a Gateway with 500
  route hostnames while cfsim (--validate) answers 20 % of all calls with
  503 and some with a random 429 + retry-after; cfsim's request log shows
  no rate-limit hit caused by us and no duplicate tunnel or record.
- Budget: 3,000 queued dns.create requests (fakesup as the client) go
  through cfapi against a small sliding window (cfsim --rate-limit N
  --window S equivalent, set through /_sim/limits) that cfapi learns from
  Ratelimit-Policy: none is refused, and no window holds more than N.
"""
import bisect
import collections
import datetime
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402
from harness import wait_for  # noqa: E402

zmq = pytest.importorskip("zmq")
from fakesup import MSG  # noqa: E402
from test_cfapi import CRED, Env  # noqa: E402
from test_skeleton import TUNNEL_NAME, World, load_examples  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (harness.OUT / "bin" / "cfgwd").exists(),
    reason="needs bin/cfgwd and the workers (make)")


def ts(rec):
    return datetime.datetime.strptime(
        rec["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def max_in_window(times, window):
    """The most requests any `window`-second interval holds."""
    times = sorted(times)
    best = 0
    for i, t in enumerate(times):
        j = bisect.bisect_right(times, t + window - 1e-6)
        best = max(best, j - i)
    return best


def ours_over_limit(reqs):
    """429s from the real limiter: over_limit and not an injected fault."""
    return [r for r in reqs if r.get("over_limit") and not r.get("fault")]


# --- faults: 500 hostnames through the real controller ---------------------

HOSTS = [f"h{i:03d}.example.com" for i in range(500)]


def routes(hosts, per=16):
    """HTTPRoutes of at most 16 hostnames each (the CRD's maxItems)."""
    out = []
    for n, i in enumerate(range(0, len(hosts), per)):
        out.append({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": f"bulk-{n:02d}", "namespace": "default"},
            "spec": {"parentRefs": [{"name": "my-gateway"}],
                     "hostnames": hosts[i:i + per],
                     "rules": [{"backendRefs": [{"name": "my-service",
                                                 "port": 80}]}]}})
    return out


@pytest.fixture
def world(tmp_path, kubesim, cfsim):
    w = World(tmp_path, kubesim, cfsim)
    yield w
    if w.gw is not None:
        w.gw.stop()


def test_faults_500_hostnames_converge_within_budget(world):
    w = world
    # A window cfapi must learn (Ratelimit-Policy): 3,000 per 60 s.
    limit, window = 3000, 60
    st, _ = w.cf.ctl.post("/_sim/limits", {"limit": limit, "window": window})
    assert st == 200
    st, _ = w.cf.faults({"seed": 4, "error_rate": 0.2, "error_status": 503,
                         "rate_429": 0.03, "retry_after": 1})
    assert st == 200
    objs = [o for o in load_examples(w.token) if o["kind"] != "HTTPRoute"]
    w.kube.apply_all(objs + routes(HOSTS))
    t0 = time.monotonic()
    w.start(extra=["--cf-budget", "1000000"])

    def converged():
        t = w.tunnel()
        if t is None:
            return False
        target = f"{t['id']}.cfargotunnel.com"
        cn = w.cnames()
        return (len(cn) >= len(HOSTS) and
                all(h in cn and cn[h]["content"] == target and
                    cn[h]["proxied"] for h in HOSTS))
    wait_for(converged, 50, interval=0.5, what="500 CNAMEs under faults")
    elapsed = time.monotonic() - t0

    reqs = w.cf.requests()
    faults = [r for r in reqs if r.get("fault")]
    assert len(faults) >= 0.1 * len(reqs), "the faults were not injected"
    assert [r for r in faults if r["status"] == 429], "no random 429"
    assert not ours_over_limit(reqs), "cfapi exceeded the rate limit"
    assert max_in_window([ts(r) for r in reqs], window) <= limit

    # No duplicate tunnel: one create took effect, one tunnel by name.
    tunnels = [t for t in w.cf.state()["tunnels"]
               if t["name"] == TUNNEL_NAME]
    assert len(tunnels) == 1, tunnels
    creates = [r for r in reqs if r["method"] == "POST" and
               r["path"].endswith("/cfd_tunnel") and r["status"] == 200]
    assert len(creates) == 1, creates
    # No duplicate record: one per name, 500 creations took effect.
    recs = [r for r in w.records() if r["type"] == "CNAME"]
    names = collections.Counter(r["name"] for r in recs)
    assert max(names.values()) == 1
    assert set(names) == set(HOSTS)
    made = 0
    for r in reqs:
        if r["status"] != 200 or r["method"] != "POST":
            continue
        if r["path"].endswith("/dns_records/batch"):
            made += len((r["body"] or {}).get("posts") or [])
        elif r["path"].endswith("/dns_records"):
            made += 1
    assert made == len(HOSTS)
    # And the controller stays converged (no churn after the faults stop).
    w.cf.ctl.call("DELETE", "/_sim/faults")
    print(f"converged in {elapsed:.1f} s, {len(reqs)} requests, "
          f"{len(faults)} injected faults")


# --- budget: 3,000 queued operations ---------------------------------------

N_OPS = 3000
LIMIT, WINDOW = 900, 5


def test_budget_3000_queued_operations(tmp_path):
    # cf_budget far above the simulator's quota: the learned
    # Ratelimit-Policy (q=900, w=5) is what must hold cfapi back.
    e = Env(tmp_path, config={"cf_budget": 1000000, "verbose": 0}).start()
    try:
        st, _ = e.cf.ctl.post("/_sim/limits", {"limit": LIMIT,
                                               "window": WINDOW})
        assert st == 200
        zid = e.ok("zone.resolve", hostname="example.com")["id"]
        prios = ("high", "normal", "low")
        t0 = time.monotonic()
        ids = {}
        for i in range(N_OPS):
            rid = e.client.send(MSG["CF_REQUEST"], {
                "op": "dns.create", "cred": CRED, "zone_id": zid,
                "priority": prios[i % 3],
                "record": {"type": "CNAME", "name": f"b{i}.example.com",
                           "content": "t.cfargotunnel.com", "proxied": True,
                           "ttl": 1, "comment": "budget test"}})
            ids[rid] = i
        bad, done = [], 0
        deadline = time.monotonic() + 90
        while done < N_OPS:
            typ, rid, body = e.client.recv(max(0.1, deadline -
                                               time.monotonic()))
            if rid not in ids:
                continue
            done += 1
            if not body.get("ok"):
                bad.append(body)
        elapsed = time.monotonic() - t0
        assert not bad, bad[:3]

        reqs = e.cf.requests()
        assert not [r for r in reqs if r["status"] == 429]
        assert not ours_over_limit(reqs)
        assert max_in_window([ts(r) for r in reqs], WINDOW) <= LIMIT
        posts = [r for r in reqs if r["method"] == "POST"]
        assert len(posts) == N_OPS        # no retry, no duplicate
        # Budget-bound: at most LIMIT per WINDOW, so 3,000 take a while.
        assert elapsed > WINDOW * (N_OPS / LIMIT - 1), elapsed
        # The heartbeat carries cfapi's metrics (worker_metrics_set).
        time.sleep(1.1)
        m = e.worker.ping(7)["metrics"]
        line = ('cfgw_cloudflare_requests_total{endpoint='
                '"POST /zones/:id/dns_records",code="200"} %d' % N_OPS)
        assert line in m.splitlines(), m
        assert 'cfgw_cloudflare_replies_total{op="dns.create",' \
            'result="ok"} %d' % N_OPS in m
        print(f"{N_OPS} creates in {elapsed:.1f} s")
    finally:
        e.stop()
