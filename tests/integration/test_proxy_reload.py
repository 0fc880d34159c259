# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy table reloads (atomic swap under load, bad tables kept out,
unknown major version), the admin endpoints, and per-request balancing
with connection reuse (two backends behind one address)."""
import json
import socket
import threading
import time

from test_proxy_lib import Backend, Proxy, http_get, parse_responses


def table(port, name="r", gen="g1", version="1.0", path="/"):
    return {
        "version": version, "generation": gen,
        "hosts": [{"hostname": "app.example.com", "http": [{
            "route": {"kind": "HTTPRoute", "namespace": "default",
                      "name": name, "rule": 0},
            "match": {"path": {"type": "PathPrefix", "value": path}},
            "backends": [{"kind": "Service", "namespace": "default",
                          "name": name, "port": port, "host": "127.0.0.1",
                          "weight": 1, "protocol": "http"}]}]}]}


def test_ready_and_metrics(tmp_path):
    a = Backend("a")
    px = Proxy(tmp_path, None, https=False)
    try:
        assert http_get(px.admin, "/healthz")[0] == 200
        assert http_get(px.admin, "/readyz")[0] == 503
        assert http_get(px.http, "/")[0] == 503       # no table yet
        px.write(table(a.port))
        assert px.wait_log("route table loaded")
        deadline = time.monotonic() + 5
        while http_get(px.admin, "/readyz")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert http_get(px.http, "/x")[0] == 200
        assert http_get(px.http, "/x", host="nope")[0] == 404
        m = px.metrics()
        assert m['cfgw_proxy_requests_total{code="2xx"}'] >= 1
        assert m['cfgw_proxy_requests_total{code="4xx"}'] >= 1
        assert m['cfgw_proxy_requests_total{code="5xx"}'] >= 1
        assert m["cfgw_proxy_table_generation"] == 1
        assert m['cfgw_proxy_table_info{generation="g1",rules="1"}'] == 1
        assert m["cfgw_proxy_connections_active"] >= 0
        n = m["cfgw_proxy_request_duration_seconds_count"]
        assert n >= 3
        assert m['cfgw_proxy_request_duration_seconds_bucket{le="+Inf"}'] \
            == n
        assert m['cfgw_proxy_request_duration_seconds_bucket{le="10"}'] \
            <= n
        assert http_get(px.admin, "/nothing")[0] == 404
    finally:
        px.stop()
        a.stop()


def test_bad_tables_keep_last_good(tmp_path):
    a = Backend("a")
    px = Proxy(tmp_path, table(a.port), https=False)
    try:
        assert px.wait_log("route table loaded")
        bad = [
            "{not json",
            json.dumps(table(a.port, version="2.0")),
            json.dumps({"version": "1.0", "hosts": "x"}),
            json.dumps(table(a.port, path="relative")),
        ]
        t = table(a.port)
        t["hosts"][0]["http"][0]["match"]["path"] = {
            "type": "RegularExpression", "value": "(["}
        bad.append(json.dumps(t))
        t = table(a.port)       # header injection through a filter value
        t["hosts"][0]["http"][0]["filters"] = [{
            "type": "RequestHeaderModifier", "requestHeaderModifier": {
                "set": [{"name": "x-a", "value": "1\r\nX-Evil: 1"}]}}]
        bad.append(json.dumps(t))
        for i, b in enumerate(bad):
            px.write(b)
            deadline = time.monotonic() + 5
            while px.metrics()["cfgw_proxy_table_reload_failures_total"] \
                    < i + 1:
                assert time.monotonic() < deadline, px.log()
                time.sleep(0.1)
            assert http_get(px.http, "/x")[0] == 200
        assert px.wait_log("unsupported table major version 2")
        assert px.metrics()["cfgw_proxy_table_generation"] == 1
    finally:
        px.stop()
        a.stop()


def test_hot_reload_under_load(tmp_path):
    a = Backend("a")
    b = Backend("b")
    px = Proxy(tmp_path, table(a.port, "a", "ga"), https=False)
    failures = []
    seen = {"a": 0, "b": 0}
    stop = threading.Event()

    def client(keepalive):
        while not stop.is_set():
            try:
                if keepalive:
                    s = socket.create_connection(("127.0.0.1", px.http),
                                                 timeout=5)
                    for _ in range(10):
                        s.sendall(b"GET /x HTTP/1.1\r\nHost: "
                                  b"app.example.com\r\n\r\n")
                        buf = b""
                        while b"}" not in buf:
                            d = s.recv(65536)
                            if not d:
                                raise OSError("closed")
                            buf += d
                        r = parse_responses(buf)
                        if r[0][0] != 200:
                            failures.append(r[0][0])
                        seen[json.loads(r[0][2])["name"]] += 1
                    s.close()
                else:
                    st, _, body = http_get(px.http, "/x")
                    if st != 200:
                        failures.append(st)
                    else:
                        seen[json.loads(body)["name"]] += 1
            except (OSError, ValueError) as e:
                failures.append(repr(e))

    try:
        assert px.wait_log("route table loaded")
        threads = [threading.Thread(target=client, args=(k,))
                   for k in (True, False)]
        for t in threads:
            t.start()
        for i in range(6):
            n = "b" if i % 2 == 0 else "a"
            px.write(table(b.port if n == "b" else a.port, n, "g%d" % i))
            deadline = time.monotonic() + 5
            while px.metrics()["cfgw_proxy_table_generation"] < i + 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join(10)
        assert failures == []
        assert seen["a"] > 0 and seen["b"] > 0, px.log()
        assert px.metrics()["cfgw_proxy_table_generation"] >= 6
    finally:
        stop.set()
        px.stop()
        a.stop()
        b.stop()


def spread(tmp_path, extra, n=60):
    # Two backends on one address (SO_REUSEPORT): the kernel balances new
    # connections between them the way kube-proxy balances a ClusterIP.
    a = Backend("a", reuseport=True)
    b = Backend("b", port=a.port, reuseport=True)
    px = Proxy(tmp_path, table(a.port), https=False, extra=extra)
    try:
        assert px.wait_log("route table loaded")
        seen = {"a": 0, "b": 0}
        for _ in range(n):
            st, _, body = http_get(px.http, "/x")
            assert st == 200
            seen[json.loads(body)["name"]] += 1
        m = px.metrics()
        return seen, m
    finally:
        px.stop()
        a.stop()
        b.stop()


def test_balancing_with_reuse(tmp_path):
    # Bounded reuse: 5 requests per upstream connection -> 12 connections
    # for 60 requests, spread over both backends.
    seen, m = spread(tmp_path, ["--upstream-max-requests", "5"])
    assert seen["a"] > 0 and seen["b"] > 0, seen
    assert m['cfgw_proxy_upstream_connections_total{kind="reused"}'] >= 40
    assert m['cfgw_proxy_upstream_connections_total{kind="new"}'] <= 20


def test_unbounded_reuse_pins(tmp_path):
    # The contrast that motivates the cap: one connection, one backend.
    # One thread: every thread has its own pool (--threads, thread.c).
    seen, m = spread(tmp_path, ["--upstream-max-requests", "100000",
                                "--upstream-max-age", "600000",
                                "--threads", "1"], n=30)
    assert min(seen.values()) == 0, seen
    assert m['cfgw_proxy_upstream_connections_total{kind="new"}'] == 1


def test_graceful_drain(tmp_path):
    import signal
    a = Backend("a")
    px = Proxy(tmp_path, table(a.port), https=False,
               extra=["--drain-timeout", "5000"])
    result = {}
    try:
        assert px.wait_log("route table loaded")
        t = threading.Thread(target=lambda: result.setdefault(
            "r", http_get(px.http, "/x", headers=[("x-echo-mode",
                                                     "slow")])))
        t.start()
        time.sleep(0.3)
        px.p.send_signal(signal.SIGTERM)
        assert px.wait_log("draining 1 requests")
        assert http_get(px.admin, "/readyz")[0] == 503
        try:
            socket.create_connection(("127.0.0.1", px.http), timeout=1)
            refused = False
        except OSError:
            refused = True
        assert refused
        t.join(5)
        assert result["r"][0] == 200
        assert result["r"][1]["connection"] == "close"
        assert px.p.wait(5) == 0
        assert px.wait_log("drained \\(0 requests left\\)")
    finally:
        px.stop()
        a.stop()


def test_resolve_override(tmp_path):
    a = Backend("web")
    t = table(80)
    be = t["hosts"][0]["http"][0]["backends"][0]
    be["host"] = "web.default.svc.cluster.local"
    px = Proxy(tmp_path, t, https=False, extra=[
        "--resolve", "web.default.svc.cluster.local:80:127.0.0.1:%d" %
        a.port])
    try:
        assert px.wait_log("route table loaded")
        st, _, body = http_get(px.http, "/x")
        assert st == 200 and json.loads(body)["name"] == "web"
    finally:
        px.stop()
        a.stop()
