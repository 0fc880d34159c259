# SPDX-License-Identifier: Apache-2.0
"""Worker metrics on cfgwd's /metrics: cfapi publishes Prometheus text in
its PONGs (lib/worker.h worker_metrics_set), cfgwd checks it line by line
(lib/promtext.h) and appends it.  After the skeleton scenario the request
counters must equal what cfsim's request log says it received."""
import collections
import re

import pytest

import harness
from harness import wait_for
from test_skeleton import World, converged

pytestmark = pytest.mark.skipif(
    not (harness.OUT / "bin" / "cfgwd").exists(),
    reason="needs bin/cfgwd (make)")

ROUTE_WORDS = {"accounts", "zones", "cfd_tunnel", "dns_records", "batch",
               "configurations", "connections", "connectors", "token",
               "tokens", "verify", "user", "management"}
SAMPLE = re.compile(r'^(cfgw_[A-Za-z0-9_:]*)(\{[^}]*\})? (\S+)$')
LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def route(method, path):
    """cfapi's normalised endpoint: ids become ':id'."""
    segs = [s if s in ROUTE_WORDS else ":id"
            for s in path.strip("/").split("/")]
    return method + " /" + "/".join(segs)


def parse(text):
    """[(name, {labels}, value)]; every line must be well formed."""
    out = []
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = SAMPLE.match(line)
        assert m, f"malformed metrics line: {line!r}"
        out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")),
                    float(m.group(3))))
    return out


def metrics(gw):
    st, body = gw.health.get("/metrics")
    assert st == 200
    return body if isinstance(body, str) else body.decode()


def cf_counts(text):
    return {(lab["endpoint"], lab["code"]): int(v)
            for n, lab, v in parse(text)
            if n == "cfgw_cloudflare_requests_total"}


def sim_counts(cf):
    c = collections.Counter()
    for r in cf.requests():
        c[(route(r["method"], r["path"]), str(r["status"]))] += 1
    return dict(c)


@pytest.fixture
def world(tmp_path, kubesim, cfsim):
    w = World(tmp_path, kubesim, cfsim)
    yield w
    if w.gw is not None:
        w.gw.stop()


def test_route_normalisation_matches_cfapi_examples():
    assert route("GET", "/accounts/acc1/cfd_tunnel") == \
        "GET /accounts/:id/cfd_tunnel"
    assert route("POST", "/zones/0123abcd/dns_records/batch") == \
        "POST /zones/:id/dns_records/batch"


def test_cloudflare_metrics_match_cfsim(world):
    w = world
    w.apply_examples()
    gw = w.start()
    wait_for(lambda: converged(w), 30, what="skeleton to converge")

    # Requests may still trickle (connections polling): wait until the
    # published counters and cfsim's log agree, i.e. nothing in flight.
    def agree():
        sim = sim_counts(w.cf)
        got = cf_counts(metrics(gw))
        return got == sim and got
    try:
        counts = wait_for(agree, 20, interval=0.5,
                          what="cfapi counters == cfsim request log")
    except TimeoutError:
        pytest.fail("cfapi's counters never matched cfsim's log:\n"
                    f"metrics: {cf_counts(metrics(gw))}\n"
                    f"cfsim:   {sim_counts(w.cf)}")
    # The scenario's essential calls are there, with real counts.
    assert counts.get(("POST /accounts/:id/cfd_tunnel", "200"), 0) == 1
    assert counts.get(("PUT /accounts/:id/cfd_tunnel/:id/configurations",
                       "200"), 0) >= 1
    assert any(k[0].startswith("POST /zones/:id/dns_records") and
               k[1] == "200" for k in counts)

    text = metrics(gw)
    samples = parse(text)
    names = {n for n, _, _ in samples}
    for n in ("cfgw_cloudflare_retries_total",
              "cfgw_cloudflare_replies_total",
              "cfgw_cloudflare_queue_length",
              "cfgw_cloudflare_budget_remaining",
              "cfgw_cloudflare_budget_rate"):
        assert n in names, n
    budget = [(lab, v) for n, lab, v in samples
              if n == "cfgw_cloudflare_budget_remaining"]
    assert [lab["credential"] for lab, _ in budget] == \
        ["default/cloudflare-creds"]
    # default cf-budget 1000: burst 100, minus what was spent.
    assert 0 <= budget[0][1] <= 100
    queues = {lab["priority"]: v for n, lab, v in samples
              if n == "cfgw_cloudflare_queue_length"}
    assert set(queues) == {"high", "normal", "low"}
    ok_replies = sum(v for n, lab, v in samples
                     if n == "cfgw_cloudflare_replies_total" and
                     lab["result"] == "ok")
    assert ok_replies >= 3
    # The supervisor's own families are still there, once each.
    assert text.count("# TYPE cfgw_worker_up gauge") == 1
    assert 'cfgw_worker_up{worker="cfapi"} 1' in text
    # No secret on /metrics.
    assert w.token not in text
    assert "Bearer" not in text
