# SPDX-License-Identifier: Apache-2.0
"""Worker metrics on cfgwd's /metrics: cfapi publishes Prometheus text in
its PONGs (lib/worker.h worker_metrics_set), cfgwd checks it line by line
(lib/promtext.h) and appends it.  After the skeleton scenario the request
counters must equal what cfsim's request log says it received."""
import collections
import json
import os
import re
import time

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


# --- what cfgwd does with bad worker metrics -------------------------------

FAKE_WORKER = r'''#!/usr/bin/python3
# A stand-in worker that speaks the control protocol on fd 3 and puts
# METRICS[<its name>] in every PONG.
import json, os, socket, struct, sys
HDR = struct.Struct("!IHHHBBQI")
PROC = {"watcher": 1, "reconciler": 2, "cfapi": 3, "dnsworker": 4,
        "rotator": 5}
METRICS = json.loads(%r)
name = os.path.basename(sys.argv[0])
s = socket.socket(fileno=3)


def send(typ, obj, reqid=0):
    body = json.dumps(obj).encode()
    s.send(HDR.pack(0x43464757, 1, typ, 0, PROC[name], 0, reqid,
                    len(body)) + body)


send(1, {"proc": name, "pid": os.getpid(), "version": 1})
while True:
    data = s.recv(65536 + 24)
    if not data:
        sys.exit(0)
    _, _, typ, _, _, _, reqid, n = HDR.unpack(data[:24])
    if typ == 2:                                  # CONFIG
        send(3, {})
    elif typ == 4:                                # PING
        seq = json.loads(data[24:24 + n])["seq"]
        send(5, {"seq": seq, "ipc_in": 0, "ipc_out": 0, "ipc_rejected": 0,
                 "metrics": METRICS[name]}, reqid)
    elif typ == 6:                                # SHUTDOWN
        sys.exit(0)
'''


def test_bad_worker_metrics_are_refused(tmp_path, kubesim, cfsim):
    """A worker cannot forge cfgwd's families, inject raw lines or flood
    /metrics: its text is dropped (one warning), the worker lives on, and
    the other workers' metrics are still shown."""
    texts = {
        "watcher": "# TYPE cfgw_fake_watcher_total counter\n"
                   "cfgw_fake_watcher_total{x=\"1\"} 7\n",
        "reconciler": "cfgw_worker_up{worker=\"cfapi\"} 0\n",
        "cfapi": "cfgw_fake_cfapi 1\n\nHTTP/1.0 200 OK\n",
        "dnsworker": "cfgw_fake_big 1\n" * 2000,
        "rotator": "cfgw_fake_rotator 3\n",
    }
    libexec = tmp_path / "libexec"
    libexec.mkdir()
    for name in texts:
        p = libexec / name
        p.write_text(FAKE_WORKER % json.dumps(texts))
        os.chmod(p, 0o755)
    gw = harness.Cfgwd(tmp_path, kubesim, cfsim,
                       extra=["--libexec-dir", str(libexec)])
    try:
        gw.ready()

        def shown():
            t = metrics(gw)
            return 'cfgw_fake_watcher_total{x="1"} 7' in t and \
                "cfgw_fake_rotator 3" in t and t
        text = wait_for(shown, 10, interval=0.3, what="worker metrics")
        time.sleep(2.5)                   # several more heartbeats
        text = metrics(gw)
        parse(text)                       # every line well formed
        assert "cfgw_fake_cfapi" not in text
        assert "HTTP/1.0" not in text
        assert "cfgw_fake_big" not in text
        assert 'cfgw_worker_up{worker="cfapi"} 0' not in text
        for name in texts:
            assert f'cfgw_worker_up{{worker="{name}"}} 1' in text
            assert f'cfgw_worker_restarts_total{{worker="{name}"}} 0' \
                in text
        log = gw.log()
        for name in ("reconciler", "cfapi", "dnsworker"):
            assert len(re.findall(rf"{name} pid \d+: metrics refused",
                                  log)) == 1, log
        assert not re.search(r"(watcher|rotator) pid \d+: metrics refused",
                             log)
    finally:
        gw.stop()
