# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy routing matrix over HTTP/1.1 (raw sockets and curl) and
HTTP/2 over TLS (curl --http2 -k), with the hand-written table
tests/data/proxy/matrix.json."""
import json
import shutil
import socket
import subprocess

import pytest

from test_proxy_lib import Backend, Proxy, echo, http_get, load_table


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    a = Backend("a")
    b = Backend("b")
    px = None
    try:
        table = load_table("matrix.json", PORT_A=a.port, PORT_B=b.port,
                           PORT_DOWN=closed_port())
        px = Proxy(tmp_path_factory.mktemp("px"), table)
        px.backend_ports = [a.port, b.port]
        assert px.wait_log("route table loaded"), px.log()
        yield px
    finally:
        if px:
            px.stop()
        a.stop()
        b.stop()


CASES = [
    # (host, path, headers, method, expected backend or status)
    ("app.example.com", "/exact", [], "GET", "a"),
    ("app.example.com", "/exact/", [], "GET", 404),
    ("app.example.com", "/exactly", [], "GET", 404),
    ("app.example.com", "/foo", [], "GET", "a"),
    ("app.example.com", "/foo/", [], "GET", "a"),
    ("app.example.com", "/foo/bar", [], "GET", "a"),
    ("app.example.com", "/foobar", [], "GET", 404),
    ("app.example.com", "/foo/bar", [("X-Env", "canary")], "GET", "b"),
    ("app.example.com", "/foo", [("x-env", "canary")], "GET", "b"),
    ("app.example.com", "/foo", [("x-env", "Canary")], "GET", "a"),
    ("app.example.com", "/re/123", [], "GET", "b"),
    ("app.example.com", "/re/12a", [], "GET", 404),
    ("app.example.com", "/re/123/x", [], "GET", 404),
    ("app.example.com", "/m", [], "POST", "b"),
    ("app.example.com", "/m", [], "GET", "a"),
    ("app.example.com", "/q?v=42", [], "GET", "b"),
    ("app.example.com", "/q?a=1&v=42", [], "GET", "b"),
    ("app.example.com", "/q?v=4x", [], "GET", 404),
    ("app.example.com", "/q?mode=x", [], "GET", "a"),
    ("app.example.com", "/q?Mode=x", [], "GET", 404),
    ("app.example.com", "/q", [], "GET", 404),
    ("app.example.com", "/hre", [("X-Ver", "v12")], "GET", "b"),
    ("app.example.com", "/hre", [("X-Ver", "v12x")], "GET", 404),
    ("app.example.com", "/invalid", [], "GET", 500),
    ("app.example.com", "/zero", [], "GET", 500),
    ("app.example.com", "/nobackend", [], "GET", 500),
    ("app.example.com", "/extref", [], "GET", 500),
    ("app.example.com", "/down", [], "GET", 502),
    ("app.example.com", "/dns", [], "GET", 503),
    ("app.example.com", "/", [], "GET", "a"),
    ("app.example.com", "/nomatch", [], "GET", 404),
    ("APP.Example.COM:8080", "/exact", [], "GET", "a"),
    ("app.example.com.", "/exact", [], "GET", "a"),
    ("x.example.com", "/anything", [], "GET", "b"),
    ("a.b.example.com", "/", [], "GET", "b"),
    ("x.deep.example.com", "/", [], "GET", "a"),
    ("deep.example.com", "/", [], "GET", "b"),
    ("example.com", "/", [], "GET", 404),
    ("other.test", "/", [], "GET", 404),
]


@pytest.mark.parametrize("host,path,headers,method,want", CASES)
def test_matrix_http1(env, host, path, headers, method, want):
    st, h, body = echo(env.http, path, host=host, headers=headers,
                       method=method, body=b"" if method == "POST" else None)
    if isinstance(want, int):
        assert st == want, body
    else:
        assert st == 200, body
        assert body["name"] == want
        assert body["target"] == path
        assert body["host"] == host          # Host forwarded unchanged
        assert body["method"] == method


def test_forwarded_headers(env):
    st, _, body = echo(env.http, "/exact",
                       headers=[("X-Forwarded-For", "10.0.0.1"),
                                ("X-Forwarded-Proto", "spoofed")])
    assert st == 200
    assert body["headers"]["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"
    assert body["headers"]["x-forwarded-proto"] == "http"
    assert "connection" not in body["headers"]


def test_weights(env):
    seen = {"a": 0, "b": 0}
    for _ in range(20):
        st, _, body = echo(env.http, "/weighted")
        assert st == 200
        seen[body["name"]] += 1
    assert seen == {"a": 20, "b": 0}        # weight 0 is never chosen
    seen = {"a": 0, "b": 0}
    for _ in range(80):
        st, _, body = echo(env.http, "/split")
        seen[body["name"]] += 1
    assert seen["a"] > seen["b"] > 0         # 3:1 split


def test_invalid_backend_share(env):
    codes = {}
    for _ in range(40):
        st, _, _ = http_get(env.http, "/halfbad")
        codes[st] = codes.get(st, 0) + 1
    assert set(codes) == {200, 500}, codes


def test_filters(env):
    st, h, _ = http_get(env.http, "/redirect/x?y=1")
    assert st == 301
    assert h["location"] == "https://new.example.com/redirect/x?y=1"
    st, h, body = echo(env.http, "/hdr", headers=[("X-Drop", "1"),
                                                  ("X-Set", "old")])
    assert st == 200
    assert body["headers"]["x-set"] == "s"
    assert body["headers"]["x-added"] == "a"
    assert "x-drop" not in body["headers"]
    assert h["x-resp"] == "r"
    st, _, body = echo(env.http, "/rewrite/sub?k=v")
    assert st == 200
    assert body["target"] == "/new/sub?k=v"
    assert body["host"] == "internal.example"


def test_backend_timeout(env):
    st, _, _ = http_get(env.http, "/slow", headers=[("x-echo-mode",
                                                      "stall")])
    assert st == 504


def test_keepalive_and_bodies(env):
    s = socket.create_connection(("127.0.0.1", env.http), timeout=5)
    req = (b"POST /m HTTP/1.1\r\nHost: app.example.com\r\n"
           b"Content-Length: 5\r\n\r\nhello"
           b"POST /m HTTP/1.1\r\nHost: app.example.com\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg"
           b"\r\n0\r\n\r\n"
           b"GET /foo HTTP/1.1\r\nHost: app.example.com\r\n"
           b"x-echo-body: 200000\r\nConnection: close\r\n\r\n")
    s.sendall(req)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    from test_proxy_lib import parse_responses
    r = parse_responses(out)
    assert [x[0] for x in r] == [200, 200, 200]
    assert json.loads(r[0][2])["body_len"] == 5
    assert json.loads(r[1][2])["body_len"] == 7
    assert len(r[2][2]) == 200000


def test_close_delimited_response(env):
    st, h, body = http_get(env.http, "/foo",
                           headers=[("x-echo-eof-body", "5000")])
    assert st == 200 and len(body) == 5000


def test_head_request(env):
    st, h, body = http_get(env.http, "/exact", method="HEAD")
    assert st == 200 and body == b""
    assert int(h["content-length"]) > 0


def curl(*args):
    if not shutil.which("curl"):
        pytest.skip("curl missing")
    r = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code} "
                        "%{http_version}"] + list(args),
                       capture_output=True, text=True, timeout=20)
    body, _, tail = r.stdout.rpartition("\n")
    code, ver = tail.split()
    return int(code), ver, body


@pytest.mark.parametrize("host,path,headers,method,want", CASES[::3])
def test_matrix_curl_http2_tls(env, host, path, headers, method, want):
    args = ["--http2", "-k", "-X", method,
            "--resolve", "%s:%d:127.0.0.1" % (host.split(":")[0].rstrip(
                "."), env.https),
            "-H", "Host: " + host]
    for k, v in headers:
        args += ["-H", "%s: %s" % (k, v)]
    if method == "POST":
        args += ["--data", "x"]
    url = "https://%s:%d%s" % (host.split(":")[0].rstrip("."), env.https,
                               path)
    code, ver, body = curl(*args, url)
    assert ver == "2"
    if isinstance(want, int):
        assert code == want
    else:
        assert code == 200
        assert json.loads(body)["name"] == want


def test_curl_http11(env):
    code, ver, body = curl("--http1.1", "-H", "Host: app.example.com",
                           "http://127.0.0.1:%d/foo/x" % env.http)
    assert (code, ver) == (200, "1.1")
    assert json.loads(body)["name"] == "a"


def test_cors(env):
    pre = [("Origin", "https://x.trusted.example"),
           ("Access-Control-Request-Method", "PUT"),
           ("Access-Control-Request-Headers", "x-a")]
    st, h, body = http_get(env.http, "/cors", method="OPTIONS", headers=pre)
    assert st == 200 and body == b""
    assert h["access-control-allow-origin"] == "https://x.trusted.example"
    assert h["access-control-allow-methods"] == "GET, PUT"
    assert h["access-control-allow-headers"] == "x-a, x-b"
    assert h["access-control-max-age"] == "600"
    assert h["access-control-allow-credentials"] == "true"
    st, h, body = echo(env.http, "/cors",
                       headers=[("Origin", "https://app.example.com")])
    assert st == 200 and body["name"] == "a"
    assert h["access-control-allow-origin"] == "https://app.example.com"
    assert h["access-control-expose-headers"] == "x-backend"
    st, h, _ = echo(env.http, "/cors",
                    headers=[("Origin", "https://evil.example")])
    assert st == 200 and "access-control-allow-origin" not in h


def test_mirror(env):
    # The real backend (a) answers; the mirror (b) gets the same request,
    # body included; its answer is discarded.
    import time
    from test_proxy_lib import raw, parse_responses
    tag = "/mirror/%d" % time.monotonic_ns()
    st, _, body = echo(env.http, tag, method="POST", body=b"x" * 3000)
    assert st == 200 and body["name"] == "a"
    seen = {}
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        for port in env.backend_ports:
            r = parse_responses(raw(port, b"GET /_echo/log HTTP/1.1\r\n"
                                    b"Host: x\r\n\r\n"))
            hits = [e for e in json.loads(r[0][2]) if e[1] == tag]
            if hits:
                seen[port] = hits
        time.sleep(0.05)
    assert len(seen) == 2, seen
    for hits in seen.values():
        assert len(hits) == 1
        assert hits[0][0] == "POST" and hits[0][2] == 3000
        assert hits[0][3] == "app.example.com"


def test_unsupported_filter(env):
    assert http_get(env.http, "/unsupported")[0] == 500


def test_schemes(env):
    # Entry 1 is for https only, entry 2 for http only.  Without
    # X-Forwarded-Proto the visitor's scheme is unknown: no filtering.
    st, _, body = echo(env.http, "/scheme")
    assert body["name"] == "b"
    assert body["headers"]["x-forwarded-proto"] == "http"
    st, _, body = echo(env.http, "/scheme",
                       headers=[("X-Forwarded-Proto", "http")])
    assert body["name"] == "a"
    st, _, body = echo(env.http, "/scheme",
                       headers=[("X-Forwarded-Proto", "https")])
    assert body["name"] == "b"
    assert body["headers"]["x-forwarded-proto"] == "https"


def test_request_timeout(env):
    st, _, _ = http_get(env.http, "/total", headers=[("x-echo-mode",
                                                       "stall")])
    assert st == 504


def test_retry_goes_to_another_backend(env):
    """One retry, two backends, one refusing connections: the retry never
    picks the backend that just failed, so every request is answered by
    the other (a fresh weighted pick would fail 1 request in 4)."""
    for _ in range(30):
        st, _, body = echo(env.http, "/oneretry")
        assert st == 200 and body["name"] == "a"


def test_retry(env):
    for _ in range(15):
        st, _, body = echo(env.http, "/retry",
                           headers=[("x-echo-fail-name", "a")])
        assert st == 200 and body["name"] == "b"
        st, _, body = echo(env.http, "/connretry")
        assert st == 200 and body["name"] == "a"
    # With a body the request is not replayed: the 503 comes through
    # whenever backend a is picked.
    codes = set()
    for _ in range(20):
        st, _, _ = http_get(env.http, "/retry", method="POST", body=b"x",
                            headers=[("x-echo-fail-name", "a")])
        codes.add(st)
    assert codes == {200, 503}


def test_session_persistence_cookie(env):
    names = set()
    for _ in range(6):
        st, h, body = echo(env.http, "/sticky/x")
        assert st == 200
        cookie = h["set-cookie"]
        assert cookie.startswith("sess=") and "Path=/sticky" in cookie
        assert "HttpOnly" in cookie and "Max-Age=3600" in cookie
        value = cookie.split(";")[0]
        first = body["name"]
        for _ in range(8):
            st, h2, body = echo(env.http, "/sticky/y",
                                headers=[("Cookie", "a=1; " + value)])
            assert st == 200 and body["name"] == first
            assert "set-cookie" not in h2
        names.add(first)
    # A forged or stale token is ignored: a fresh pick and a new cookie.
    st, h, _ = echo(env.http, "/sticky", headers=[("Cookie",
                                                   "sess=ffff.1")])
    assert st == 200 and h["set-cookie"].startswith("sess=")
    st, h, _ = echo(env.http, "/sticky", headers=[("Cookie", value.split(
        ".")[0] + ".1")])                       # expired (created 1970)
    assert "set-cookie" in h


def test_session_persistence_header(env):
    st, h, body = echo(env.http, "/hsticky")
    tok = h["x-sess"]
    for _ in range(8):
        st, h2, b2 = echo(env.http, "/hsticky", headers=[("X-Sess", tok)])
        assert b2["name"] == body["name"] and "x-sess" not in h2
