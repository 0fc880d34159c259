# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy timeouts (GEP-2257: request, backendRequest, 0s disables)
and retries (codes, attempts, backoff; idempotent methods, bodyless
requests, connection errors; within the request timeout) against echo
backends that stall or fail on purpose.  backendRequest bounds the
whole attempt, response body included (GEP-2257: "until the full response
has been received from the backend")."""
import json
import shutil
import subprocess
import time

import pytest

from proxy_table import (Listener, Staller, backend, closed_port, entry,
                         table)
from test_proxy_lib import Backend, Proxy, http_get, parse_responses, raw


class SlowBody(Listener):
    """Answers every request with a head and half of a 20-byte body at
    once, and the other half after the delay (ms) in the query "d=N"."""

    def serve(self, c):
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                d = c.recv(4096)
                if not d:
                    return
                head += d
            target = head.split(b" ", 2)[1].decode()
            delay = int(target.partition("d=")[2] or "0") / 1000
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n"
                      b"Connection: close\r\n\r\n" + b"a" * 10)
            time.sleep(delay)
            c.sendall(b"b" * 10)
        except OSError:
            pass
        finally:
            c.close()


def hm_add(name):
    return {"type": "RequestHeaderModifier",
            "requestHeaderModifier": {"add": [{"name": name, "value": "1"}]}}


def tmo(req=None, be=None):
    return {"request_ms": req, "backend_request_ms": be}


def retry(codes, attempts=None, backoff=None):
    return {"codes": codes, "attempts": attempts, "backoff_ms": backoff}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    a, b = Backend("a"), Backend("b")
    A = [backend("a", a.port)]
    AB = [backend("a", a.port), backend("b", b.port)]
    down = closed_port()
    st = Staller()
    sb = SlowBody()
    SB = [backend("sb", sb.port)]
    px = None
    try:
        t = table([
            entry("bbody", "/bbody", backends=SB, timeouts=tmo(0, 400)),
            entry("bbok", "/bbok", backends=SB, timeouts=tmo(0, 3000)),
            entry("bdflt", "/bdflt", backends=SB),
            entry("req", "/req", backends=A, timeouts=tmo(500, None)),
            entry("be", "/be", backends=A, timeouts=tmo(0, 400)),
            entry("off", "/off", backends=A, timeouts=tmo(0, 0)),
            entry("dflt", "/dflt", backends=A),
            entry("r2", "/r2", backends=A, retry=retry([503], 2, 300)),
            entry("rbudget", "/rbudget", backends=A,
                  retry=retry([503], 10, 200), timeouts=tmo(700, None)),
            entry("rab", "/rab", backends=AB, retry=retry([503], 30, 1)),
            entry("rconn", "/rconn", backends=[
                backend("down", down), backend("a", a.port)],
                retry=retry([], 30, 1)),
            entry("rnone", "/rnone", backends=A),
            # per-backendRef request modifiers: a retry to another
            # backend carries only that backend's modification
            entry("rbe", "/rbe", retry=retry([503], 30, 1), backends=[
                backend("a", a.port, filters=[hm_add("x-from-a")]),
                backend("b", b.port, filters=[hm_add("x-from-b")])]),
            # HTTPRouteRetryBackendTimeout: a backendRequest timeout (504)
            # is retried when 504 is one of the codes
            entry("rtmo", "/rtmo", backends=[
                backend("stall", st.port), backend("a", a.port)],
                retry=retry([504], 12, 1), timeouts=tmo(5000, 200)),
        ])
        px = Proxy(tmp_path_factory.mktemp("px"), t,
                   extra=["--upstream-timeout", "700"])
        assert px.wait_log("route table loaded"), px.log()
        px.pa = a.port
        yield px
    finally:
        if px:
            px.stop()
        a.stop()
        b.stop()
        st.stop()
        sb.stop()


def timed(env, path, **kw):
    t0 = time.monotonic()
    st, h, body = http_get(env.http, path, **kw)
    return st, time.monotonic() - t0, body


def seen(port, target):
    r = parse_responses(raw(port, b"GET /_echo/log HTTP/1.1\r\n"
                            b"Host: x\r\n\r\n"))
    return [e for e in json.loads(r[0][2]) if e[1] == target]


def tag(p):
    return "%s/%d" % (p, time.monotonic_ns())


STALL = [("x-echo-mode", "stall")]
SLOW = [("x-echo-mode", "slow")]           # answers after 1 s


def test_request_timeout(env):
    st, dt, _ = timed(env, "/req/x", headers=STALL)
    assert st == 504 and 0.4 < dt < 2.0, dt
    st, dt, _ = timed(env, "/req/x", headers=SLOW)
    assert st == 504 and dt < 1.0, dt
    st, _, _ = timed(env, "/req/x")
    assert st == 200


def test_backend_request_timeout(env):
    st, dt, _ = timed(env, "/be/x", headers=STALL)
    assert st == 504 and 0.3 < dt < 1.5, dt
    st, dt, _ = timed(env, "/be/x", headers=SLOW)
    assert st == 504 and dt < 1.0


def test_zero_disables(env):
    # --upstream-timeout is 700 ms: the route's 0s turns it off.
    st, dt, body = timed(env, "/off/x", headers=SLOW)
    assert st == 200 and dt >= 1.0
    st, dt, _ = timed(env, "/dflt/x", headers=SLOW)
    assert st == 504 and dt < 1.0


def test_retry_attempts_and_backoff(env):
    t = tag("/r2")
    st, dt, _ = timed(env, t, headers=[("x-echo-fail-name", "a")])
    assert st == 503                            # every attempt failed
    assert len(seen(env.pa, t)) == 3            # 1 + attempts
    assert dt >= 0.55, dt                       # 2 backoffs of 300 ms


def test_retry_idempotent_only(env):
    t = tag("/r2")
    st, _, _ = timed(env, t, method="PUT",
                     headers=[("x-echo-fail-name", "a")])
    assert st == 503 and len(seen(env.pa, t)) == 3
    t = tag("/r2")
    st, _, _ = timed(env, t, method="POST",
                     headers=[("x-echo-fail-name", "a")])
    assert st == 503 and len(seen(env.pa, t)) == 1
    t = tag("/r2")
    st, _, _ = timed(env, t, method="PUT", body=b"body",
                     headers=[("x-echo-fail-name", "a")])
    assert st == 503 and len(seen(env.pa, t)) == 1


def test_retry_other_backend(env):
    for _ in range(10):
        st, _, body = timed(env, "/rab", headers=[("x-echo-fail-name", "a")])
        assert st == 200 and json.loads(body)["name"] == "b"


def test_retry_connection_error_any_method(env):
    for _ in range(10):
        st, _, body = timed(env, "/rconn", method="POST")
        assert st == 200 and json.loads(body)["name"] == "a"


def test_retry_within_request_budget(env):
    t = tag("/rbudget")
    st, dt, _ = timed(env, t, headers=[("x-echo-fail-name", "a")])
    assert st == 504 and dt < 1.5, dt
    n = len(seen(env.pa, t))
    assert 2 <= n <= 5, n                       # 700 ms / 200 ms backoff
    time.sleep(0.5)
    assert len(seen(env.pa, t)) == n            # nothing after the answer


def test_no_retry_without_policy(env):
    t = tag("/rnone")
    st, _, _ = timed(env, t, headers=[("x-echo-fail-name", "a")])
    assert st == 503 and len(seen(env.pa, t)) == 1


def test_retry_after_backend_timeout(env):
    for _ in range(6):
        st, dt, body = timed(env, "/rtmo")
        assert st == 200 and json.loads(body)["name"] == "a"
        assert dt < 3


def raw_timed(env, target):
    t0 = time.monotonic()
    out = raw(env.http, ("GET %s HTTP/1.1\r\nHost: app.example.com\r\n"
                         "\r\n" % target).encode(), timeout=10)
    return out, time.monotonic() - t0


def test_backend_request_timeout_covers_body(env):
    # The head and half the body arrive at once, the rest after 2 s: the
    # 400 ms backendRequest cuts the exchange; the client already has the
    # head, so its connection is closed mid-body.
    out, dt = raw_timed(env, "/bbody?d=2000")
    assert out.startswith(b"HTTP/1.1 200"), out
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"content-length: 20" in head.lower()
    assert body == b"a" * 10
    assert 0.3 < dt < 1.8, dt


def test_backend_request_timeout_body_in_time(env):
    out, dt = raw_timed(env, "/bbok?d=500")
    r = parse_responses(out)
    assert r[0][0] == 200 and r[0][2] == b"a" * 10 + b"b" * 10


def test_upstream_timeout_bounds_only_the_head(env):
    # --upstream-timeout (700 ms) without a backendRequest: a body slower
    # than that is not cut.
    out, dt = raw_timed(env, "/bdflt?d=1200")
    r = parse_responses(out)
    assert r[0][0] == 200 and r[0][2] == b"a" * 10 + b"b" * 10
    assert dt >= 1.1


def test_backend_request_timeout_resets_h2_stream(env):
    if not shutil.which("curl"):
        pytest.skip("no curl")
    t0 = time.monotonic()
    p = subprocess.run(
        ["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null",
         "-w", "%{http_code}", "-H", "Host: app.example.com",
         "http://127.0.0.1:%d/bbody?d=2000" % env.http],
        capture_output=True, text=True, timeout=20)
    dt = time.monotonic() - t0
    assert p.stdout == "200"           # the head had been relayed
    assert p.returncode in (18, 92), p.returncode   # partial / stream reset
    assert dt < 1.8, dt


def test_retry_reapplies_backend_filters(env):
    firsts = set()
    for _ in range(12):
        t = tag("/rbe")
        st, _, body = timed(env, t, headers=[("x-echo-fail-name", "a")])
        e = json.loads(body)
        assert st == 200 and e["name"] == "b"
        assert e["headers"].get("x-from-b") == "1"
        assert "x-from-a" not in e["headers"]
        firsts.add(len(seen(env.pa, t)) > 0)
    assert True in firsts          # some requests went to a first
