# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy timeouts (GEP-2257: request, backendRequest, 0s disables)
and retries (codes, attempts, backoff; idempotent methods, bodyless
requests, connection errors; within the request timeout) against echo
backends that stall or fail on purpose."""
import json
import time

import pytest

from proxy_table import Staller, backend, closed_port, entry, table
from test_proxy_lib import Backend, Proxy, http_get, parse_responses, raw


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
    px = None
    try:
        t = table([
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
