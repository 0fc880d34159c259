# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy /metrics per route and backend (status classes, latency
histogram, upstream errors, retries, in-flight), table metrics, the
Prometheus text format (names, HELP/TYPE, counters end in _total,
durations in _seconds), and the --access-log JSON lines."""
import json
import re
import threading
import time

import pytest

from proxy_table import backend, closed_port, entry, table
from test_proxy_lib import Backend, Proxy, http_get

R = 'route="HTTPRoute/default/%s",backend="%s"'


def build(pa, pb, down, gen="m1"):
    A = [backend("a", pa)]
    return table([
        entry("web", "/web", backends=[backend("a", pa),
                                       backend("b", pb)]),
        entry("red", "/red", filters=[{"type": "RequestRedirect",
                                        "requestRedirect": {"port": 81}}]),
        entry("down", "/down", backends=[backend("down", down)]),
        entry("retry", "/retry", backends=A, retry={
            "codes": [503], "attempts": 2, "backoff_ms": 1}),
        entry("slow", "/slow", backends=A),
    ], generation=gen)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    a, b = Backend("a"), Backend("b")
    tmp = tmp_path_factory.mktemp("px")
    px = None
    try:
        px = Proxy(tmp, build(a.port, b.port, closed_port()),
                   extra=["--access-log", str(tmp / "access.log")])
        assert px.wait_log("route table loaded"), px.log()
        px.alog = tmp / "access.log"
        px.ports = (a.port, b.port)
        yield px
    finally:
        if px:
            px.stop()
        a.stop()
        b.stop()


def scrape(env):
    st, h, body = http_get(env.admin, "/metrics", host="admin")
    assert st == 200
    return body.decode()


def test_route_backend_series(env):
    for _ in range(20):
        assert http_get(env.http, "/web")[0] == 200
    http_get(env.http, "/web", headers=[("x-echo-status", "404")])
    assert http_get(env.http, "/red")[0] == 302
    assert http_get(env.http, "/down")[0] == 502
    m = env.metrics()
    a2 = m.get('cfgw_proxy_route_requests_total{%s,code="2xx"}'
               % (R % ("web", "default/a:%d" % env.ports[0])), 0)
    b2 = m.get('cfgw_proxy_route_requests_total{%s,code="2xx"}'
               % (R % ("web", "default/b:%d" % env.ports[1])), 0)
    assert a2 + b2 == 20 and a2 > 0 and b2 > 0
    assert sum(v for k, v in m.items() if k.startswith(
        "cfgw_proxy_route_requests_total{" + (R % ("web", "default/"))[:-1])
        and 'code="4xx"' in k) == 1
    assert m['cfgw_proxy_route_requests_total{%s,code="3xx"}'
             % (R % ("red", ""))] == 1
    down = [k for k in m if k.startswith(
        "cfgw_proxy_route_upstream_errors_total{" + (R % (
            "down", "default/down:"))[:-1])]
    assert len(down) == 1 and m[down[0]] == 1
    assert m[down[0].replace("upstream_errors_total",
                             "requests_total")[:-1] + ',code="5xx"}'] == 1


def test_histogram_consistent(env):
    http_get(env.http, "/web")
    text = scrape(env)
    name = "cfgw_proxy_route_request_duration_seconds"
    assert "# TYPE %s histogram" % name in text
    series = {}
    for ln in text.splitlines():
        mm = re.match(r'%s_bucket\{(.*),le="([^"]+)"\} (\d+)' % name, ln)
        if mm:
            series.setdefault(mm.group(1), []).append(int(mm.group(3)))
    assert series
    for labels, counts in series.items():
        assert counts == sorted(counts), labels     # cumulative
        cnt = re.search(r'%s_count\{%s\} (\d+)' % (name, re.escape(labels)),
                        text)
        assert cnt and int(cnt.group(1)) == counts[-1]


def test_retries_counted(env):
    before = env.metrics()
    key = "cfgw_proxy_route_retries_total{%s}" % (
        R % ("retry", "default/a:%d" % env.ports[0]))
    assert http_get(env.http, "/retry", headers=[
        ("x-echo-fail-name", "a")])[0] == 503
    assert env.metrics()[key] - before.get(key, 0) == 2


def test_in_flight(env):
    key = "cfgw_proxy_route_requests_in_flight{%s}" % (
        R % ("slow", "default/a:%d" % env.ports[0]))
    t = threading.Thread(target=http_get, args=(env.http, "/slow"),
                         kwargs={"headers": [("x-echo-mode", "slow")]})
    t.start()
    time.sleep(0.4)
    assert env.metrics()[key] == 1
    t.join()
    assert env.metrics()[key] == 0


def test_format_conventions(env):
    text = scrape(env)
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    assert set(types) == helps
    for name, typ in types.items():
        assert name.startswith("cfgw_proxy_")
        if typ == "counter":
            assert name.endswith("_total"), name
        if "duration" in name:
            assert name.endswith("_seconds"), name
    for ln in text.splitlines():
        if ln and not ln.startswith("#"):
            metric = re.match(r"[a-z_]+", ln).group(0)
            base = re.sub(r"_(bucket|sum|count)$", "", metric)
            assert metric in types or base in types, ln
    # bounded labels: one series set per (route, backend), no per-request
    # values (paths, clients) anywhere
    assert "path=" not in text and "127.0.0.1" not in text


def test_table_metrics_and_reload(env):
    m = env.metrics()
    n = m["cfgw_proxy_table_reloads_total"]
    assert m['cfgw_proxy_table_version_info{version="1.0"}'] == 1
    assert m["cfgw_proxy_table_last_reload_timestamp_seconds"] > 1.6e9
    env.write("{not json")
    deadline = time.monotonic() + 10
    while env.metrics()["cfgw_proxy_table_reload_failures_total"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert env.metrics()["cfgw_proxy_table_reloads_total"] == n
    env.write(build(*env.ports, closed_port(), gen="m2"))
    while env.metrics()["cfgw_proxy_table_reloads_total"] < n + 1:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    # counters survive the reload
    assert env.metrics().get('cfgw_proxy_route_requests_total{%s,code='
                             '"3xx"}' % (R % ("red", "")), 0) >= 1


def test_access_log(env):
    http_get(env.http, "/web/al?x=\"1\"", headers=[("User-Agent", "t")])
    deadline = time.monotonic() + 5
    rec = None
    while rec is None and time.monotonic() < deadline:
        for ln in env.alog.read_text().splitlines():
            d = json.loads(ln)                  # every line is JSON
            if d["path"].startswith("/web/al"):
                rec = d
        time.sleep(0.05)
    assert rec is not None
    assert rec["path"] == '/web/al?x="1"'
    assert rec["method"] == "GET" and rec["status"] == 200
    assert rec["host"] == "app.example.com" and rec["client"] == "127.0.0.1"
    assert rec["route"] == "HTTPRoute/default/web#0"
    assert rec["backend"].startswith("default/")
    assert rec["attempts"] == 1 and rec["duration_s"] >= 0
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", rec["time"])
