# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy on tables produced by the real route compiler: every golden
plan in tests/data/plan/golden must load, and the "features" plan is
served end to end -- each backend Service is an echo backend reached
through --resolve, so the answers show which Service the proxy chose.
(The golden files belong to the route compiler's tests; this test checks
the proxy side of the contract in docs/route-table.md.)"""
import json
from pathlib import Path

import pytest

from test_proxy_h2 import H2Client
from test_proxy_lib import Backend, Proxy, REPO, echo, http_get

GOLDEN = REPO / "tests" / "data" / "plan" / "golden"


def goldens():
    return sorted(GOLDEN.glob("*.json")) if GOLDEN.is_dir() else []


@pytest.mark.parametrize("path", goldens(), ids=lambda p: p.stem)
def test_golden_tables_load(tmp_path, path):
    table = json.loads(Path(path).read_text())["table"]
    px = Proxy(tmp_path, table, https=False)
    try:
        assert px.wait_log("route table loaded"), px.log()
        assert "rejected" not in px.log()
        m = px.metrics()
        assert m["cfgw_proxy_table_reload_failures_total"] == 0
    finally:
        px.stop()


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    path = GOLDEN / "features.json"
    if not path.exists():
        pytest.skip("no features golden plan")
    table = json.loads(path.read_text())["table"]
    targets = set()
    for h in table["hosts"]:
        for e in h["http"] + h["grpc"]:
            for b in e["backends"]:
                if b["invalid"] is None:
                    targets.add((b["host"], b["port"]))
    backends = {}
    px = None
    try:
        extra = []
        for host, port in sorted(targets):
            be = Backend("%s:%d" % (host.split(".")[0], port))
            backends[(host, port)] = be
            extra += ["--resolve", "%s:%d:127.0.0.1:%d" % (host, port,
                                                          be.port)]
        px = Proxy(tmp_path_factory.mktemp("px"), table, extra=extra)
        assert px.wait_log("route table loaded"), px.log()
        yield px
    finally:
        if px:
            px.stop()
        for be in backends.values():
            be.stop()


def name_of(px, path, host="shop.example.com", **kw):
    st, h, body = echo(px.http, path, host=host, **kw)
    return st, (body["name"] if st == 200 else None), body


def test_features_http(features):
    px = features
    seen = set()
    for _ in range(40):
        st, name, body = name_of(px, "/cart")
        assert st == 200 and name in ("web:80", "web-canary:80")
        assert body["headers"]["x-shop"] == "cart"
        seen.add(name)
    assert "web:80" in seen
    assert name_of(px, "/item/42")[1] == "shared:8080"
    assert name_of(px, "/item/4x")[1] == "web:80"
    st, name, _ = name_of(px, "/cart/x", method="POST", body=b"{}")
    assert name in ("web:80", "web-canary:80")
    assert name_of(px, "/cart/x?v=1")[0] == 500     # ExternalAuth
    assert name_of(px, "/", headers=[("x-canary", "1")])[1] == \
        "web-canary:80"
    assert name_of(px, "/anything")[1] == "web:80"
    assert name_of(px, "/item/7", host="eu.shop.example.com")[1] == \
        "shared:8080"
    assert name_of(px, "/", host="status.example.net")[1] == "web:80"
    assert http_get(px.http, "/", host="admin.example.com")[0] == 500
    assert http_get(px.http, "/", host="other.example.com")[0] == 404
    assert http_get(px.http, "/", host="nothing.test")[0] == 404


def test_features_grpc(features):
    c = H2Client(features.http)
    for path in ("/helloworld.Greeter/SayHello", "/other.Svc/Call"):
        sid = c.c.get_next_available_stream_id()
        c.c.send_headers(sid, [(":method", "POST"), (":scheme", "http"),
                               (":authority", "api.example.com"),
                               (":path", path),
                               ("content-type", "application/grpc"),
                               ("te", "trailers")], end_stream=True)
        c.flush()
        st, body, _ = c.response(sid)
        assert st == 200
        got = json.loads(body)
        assert got["name"] == "grpc:9090" and got["proto"] == "h2c"
        assert got["path"] == path
