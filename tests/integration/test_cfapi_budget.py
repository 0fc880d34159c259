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
    # A tight window cfapi must learn (Ratelimit-Policy) and respect
    # while it retries: 20 per 10 s.
    limit, window = 20, 10
    st, _ = w.cf.ctl.post("/_sim/limits", {"limit": limit, "window": window})
    assert st == 200
    # Random 503s and 429s everywhere; and surely a lost reply (502 after
    # the batch took effect) and then a 429 on the DNS batches.
    st, _ = w.cf.faults({"seed": 4, "error_rate": 0.2, "error_status": 503,
                         "rate_429": 0.05, "retry_after": 1,
                         "rules": [{"method": "POST", "status": 502,
                                    "path_regex": "dns_records/batch$",
                                    "after_commit": True, "count": 1},
                                   {"method": "POST", "status": 429,
                                    "path_regex": "dns_records/batch$",
                                    "retry_after": 2, "count": 1}]})
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
        lost = r["fault"] == "rule 502"       # took effect, reply lost
        if (r["status"] != 200 and not lost) or r["method"] != "POST":
            continue
        if r["path"].endswith("/dns_records/batch"):
            made += len((r["body"] or {}).get("posts") or [])
        elif r["path"].endswith("/dns_records"):
            made += 1
    assert made == len(HOSTS)
    # And the controller stays converged (no churn after the faults stop).
    w.cf.ctl.call("DELETE", "/_sim/faults")
    by = collections.Counter((r["method"], r["path"].split("/")[-1],
                              r["status"]) for r in reqs)
    print(f"converged in {elapsed:.1f} s, {len(reqs)} requests, "
          f"{len(faults)} injected faults: {sorted(by.items())}")


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


# --- an ambiguous batch failure costs a listing, not 200 single writes -----

def _posts(n, prefix):
    return [{"type": "CNAME", "name": f"{prefix}{i}.example.com",
             "content": "t.cfargotunnel.com", "proxied": True, "ttl": 1,
             "comment": "managed by cfgw: test/apps/web"} for i in range(n)]


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path).start()
    yield e
    e.stop()


def test_batch_lost_reply_is_read_back(env):
    """502 after the batch took effect: one listing shows it did; the
    results come from it, nothing is sent twice."""
    z = env.ok("zone.resolve", hostname="example.com")
    old = env.ok("dns.batch", zone_id=z["id"], posts=_posts(3, "old"))
    env.cf.ctl.call("DELETE", "/_sim/requests")
    env.cf.faults({"rules": [{"method": "POST",
                              "path_regex": "dns_records/batch$",
                              "status": 502, "count": 1,
                              "after_commit": True}]})
    r = env.ok("dns.batch", zone_id=z["id"], posts=_posts(150, "lost"),
               deletes=[{"id": old["posts"][0]["id"]}])
    assert r["errors"] == []
    assert [x["name"] for x in r["posts"]] == \
        [f"lost{i}.example.com" for i in range(150)]
    assert all(x["id"] for x in r["posts"])
    assert r["deletes"] == [{"id": old["posts"][0]["id"]}]
    reqs = [(x["method"], x["path"].rsplit("/", 1)[-1])
            for x in env.cf.requests()]
    assert reqs == [("POST", "batch"), ("GET", "dns_records")], reqs
    names = [x["name"] for x in env.records(z["id"])]
    assert len(names) == len(set(names)) == 152


def test_batch_failed_before_commit_is_sent_again(env):
    """503 before anything happened: the listing shows the first operation
    did not take effect, so the same batch goes again (no singles)."""
    z = env.ok("zone.resolve", hostname="example.com")
    env.cf.ctl.call("DELETE", "/_sim/requests")
    env.cf.faults({"rules": [{"method": "POST",
                              "path_regex": "dns_records/batch$",
                              "status": 503, "count": 2}]})
    r = env.ok("dns.batch", zone_id=z["id"], posts=_posts(120, "again"))
    assert r["errors"] == [] and all(x["id"] for x in r["posts"])
    reqs = [(x["method"], x["path"].rsplit("/", 1)[-1], x["status"])
            for x in env.cf.requests()]
    assert reqs == [("POST", "batch", 503), ("GET", "dns_records", 200),
                    ("POST", "batch", 503), ("GET", "dns_records", 200),
                    ("POST", "batch", 200)], reqs
    assert len(env.records(z["id"])) == 120
