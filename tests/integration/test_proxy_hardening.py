# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy against hostile HTTP/1 input: request smuggling shapes,
limits, slowloris and connection caps.  Raw sockets only."""
import os
import random
import socket
import time

import pytest

from test_proxy_lib import (Backend, Proxy, load_table, matrix_proxy,
                            parse_responses, raw)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with matrix_proxy(tmp_path_factory.mktemp("px"),
                      ["--header-timeout", "1000", "--idle-timeout", "1500",
                       "--max-connections", "40"]) as px:
        yield px


H = b"Host: app.example.com\r\n"

BAD = [
    ("cl+te", b"POST /foo HTTP/1.1\r\n" + H + b"Content-Length: 4\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te+cl", b"POST /foo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked"
     b"\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400),
    ("dup-cl-same", b"POST /foo HTTP/1.1\r\n" + H + b"Content-Length: 1\r\n"
     b"Content-Length: 1\r\n\r\nx", 400),
    ("dup-cl-diff", b"POST /foo HTTP/1.1\r\n" + H + b"Content-Length: 1\r\n"
     b"Content-Length: 2\r\n\r\nxx", 400),
    ("cl-list", b"POST /foo HTTP/1.1\r\n" + H + b"Content-Length: 1, 1\r\n"
     b"\r\nx", 400),
    ("cl-sign", b"POST /foo HTTP/1.1\r\n" + H + b"Content-Length: +1\r\n"
     b"\r\nx", 400),
    ("cl-hex", b"POST /foo HTTP/1.1\r\n" + H + b"Content-Length: 0x1\r\n"
     b"\r\nx", 400),
    ("cl-huge", b"POST /foo HTTP/1.1\r\n" + H + b"Content-Length: "
     b"99999999999999999999\r\n\r\nx", 400),
    ("te-gzip", b"POST /foo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip"
     b"\r\n\r\n", 501),
    ("te-gzip-chunked", b"POST /foo HTTP/1.1\r\n" + H + b"Transfer-Encoding:"
     b" gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("te-chunked-gzip", b"POST /foo HTTP/1.1\r\n" + H + b"Transfer-Encoding:"
     b" chunked, gzip\r\n\r\n0\r\n\r\n", 400),
    ("te-chunked-twice", b"POST /foo HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n", 400),
    ("te-xchunked", b"POST /foo HTTP/1.1\r\n" + H + b"Transfer-Encoding: "
     b"xchunked\r\n\r\n0\r\n\r\n", 501),
    ("te-http10", b"POST /foo HTTP/1.0\r\n" + H + b"Transfer-Encoding: "
     b"chunked\r\n\r\n0\r\n\r\n", 400),
    ("te-space-name", b"POST /foo HTTP/1.1\r\n" + H + b"Transfer-Encoding "
     b": chunked\r\n\r\n0\r\n\r\n", 400),
    ("obs-fold", b"GET /foo HTTP/1.1\r\n" + H + b"X-A: 1\r\n 2\r\n\r\n",
     400),
    ("bare-lf", b"GET /foo HTTP/1.1\n" + H + b"\r\n", 400),
    ("bare-lf-end", b"GET /foo HTTP/1.1\r\n" + H + b"\n", 400),
    ("bare-cr", b"GET /foo HTTP/1.1\r\n" + H + b"X-A: 1\r2\r\n\r\n", 400),
    ("nul", b"GET /foo HTTP/1.1\r\n" + H + b"X-A: 1\x002\r\n\r\n", 400),
    ("ctl", b"GET /foo HTTP/1.1\r\n" + H + b"X-A: 1\x01\r\n\r\n", 400),
    ("bad-name", b"GET /foo HTTP/1.1\r\n" + H + b"X(A): 1\r\n\r\n", 400),
    ("empty-name", b"GET /foo HTTP/1.1\r\n" + H + b": 1\r\n\r\n", 400),
    ("no-colon", b"GET /foo HTTP/1.1\r\n" + H + b"XA\r\n\r\n", 400),
    ("no-host", b"GET /foo HTTP/1.1\r\n\r\n", 400),
    ("two-hosts", b"GET /foo HTTP/1.1\r\n" + H + H + b"\r\n", 400),
    ("version", b"GET /foo HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("version-junk", b"GET /foo HTTP/1.1x\r\n" + H + b"\r\n", 400),
    ("double-space", b"GET  /foo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("bad-target", b"GET foo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("connect", b"CONNECT a:443 HTTP/1.1\r\n" + H + b"\r\n", 501),
    ("chunk-size-junk", b"POST /foo HTTP/1.1\r\n" + H + b"Transfer-"
     b"Encoding: chunked\r\n\r\nzz\r\n", 400),
    ("chunk-size-space", b"POST /foo HTTP/1.1\r\n" + H + b"Transfer-"
     b"Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 400),
    ("chunk-size-huge", b"POST /foo HTTP/1.1\r\n" + H + b"Transfer-"
     b"Encoding: chunked\r\n\r\n10000000000000000\r\n", 400),
    ("chunk-bare-lf", b"POST /foo HTTP/1.1\r\n" + H + b"Transfer-"
     b"Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400),
    ("chunk-no-crlf", b"POST /foo HTTP/1.1\r\n" + H + b"Transfer-"
     b"Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400),
    ("chunk-neg", b"POST /foo HTTP/1.1\r\n" + H + b"Transfer-"
     b"Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", 400),
    ("long-line", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n",
     414),
    ("big-head", b"GET /foo HTTP/1.1\r\n" + H +
     b"".join(b"X-%d: %s\r\n" % (i, b"v" * 1000) for i in range(70)) +
     b"\r\n", 431),
    ("many-fields", b"GET /foo HTTP/1.1\r\n" + H +
     b"".join(b"X-%d: v\r\n" % i for i in range(120)) + b"\r\n", 431),
    ("expect-other", b"GET /foo HTTP/1.1\r\n" + H + b"Expect: x\r\n\r\n",
     417),
]


@pytest.mark.parametrize("name,req,status", BAD, ids=[b[0] for b in BAD])
def test_rejected(env, name, req, status):
    # A second request follows on the same connection: it must never be
    # answered (the connection is closed after the error).
    follow = b"GET /exact HTTP/1.1\r\n" + H + b"\r\n"
    out = raw(env.http, req + follow)
    r = parse_responses(out)
    assert len(r) == 1, out
    assert r[0][0] == status, out
    assert r[0][1].get("connection") == "close"


def test_smuggled_request_not_forwarded(env):
    # CL.TE-style: the "body" holds a second request; it must not reach
    # the backend as a request of its own.
    body = b"0\r\n\r\nGET /exact HTTP/1.1\r\n" + H + b"\r\n"
    req = (b"POST /m HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n" % len(body)) + body
    r = parse_responses(raw(env.http, req))
    assert [x[0] for x in r] == [400]


def test_chunked_trailers_ok(env):
    req = (b"POST /m HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n"
           b"Connection: close\r\n\r\n2\r\nab\r\n0\r\nX-T: 1\r\n\r\n")
    r = parse_responses(raw(env.http, req))
    assert [x[0] for x in r] == [200]


def test_slowloris_header_timeout(env):
    # One byte every 50 ms keeps the socket busy but never finishes the
    # head: the 1 s header deadline must still fire (408, then close).
    s = socket.create_connection(("127.0.0.1", env.http), timeout=5)
    start = time.monotonic()
    got = b""
    head = b"GET /exact HTTP/1.1\r\nHost: app.example.com\r\nX: " + \
        b"a" * 200
    try:
        for ch in head:
            s.sendall(bytes([ch]))
            time.sleep(0.05)
            if time.monotonic() - start > 6:
                break
    except OSError:
        pass
    elapsed = time.monotonic() - start
    try:
        s.settimeout(2)
        got = s.recv(1000)
    except OSError:
        pass
    s.close()
    assert elapsed < 3
    assert got == b"" or got.startswith(b"HTTP/1.1 408")


def test_idle_timeout(env):
    s = socket.create_connection(("127.0.0.1", env.http), timeout=5)
    start = time.monotonic()
    assert s.recv(10) == b""          # closed by the proxy, silently
    assert 1.0 < time.monotonic() - start < 4
    s.close()


def test_connection_cap(env):
    socks = []
    try:
        for _ in range(40):
            socks.append(socket.create_connection(("127.0.0.1", env.http)))
        time.sleep(0.3)
        extra = socket.create_connection(("127.0.0.1", env.http),
                                         timeout=3)
        assert extra.recv(10) == b""   # over the cap: closed at once
        extra.close()
        assert env.metrics()["cfgw_proxy_connections_rejected_total"] >= 1
    finally:
        for s in socks:
            s.close()
    time.sleep(0.3)
    r = parse_responses(raw(env.http, b"GET /exact HTTP/1.1\r\n" + H +
                            b"Connection: close\r\n\r\n"))
    assert r[0][0] == 200


def test_garbage_never_crashes(env):
    rnd = random.Random(1234)
    seeds = [x[1] for x in BAD]
    for i in range(150):
        if i % 2:
            data = os.urandom(rnd.randint(1, 400))
        else:
            d = bytearray(rnd.choice(seeds))
            for _ in range(rnd.randint(1, 8)):
                d[rnd.randrange(len(d))] = rnd.randrange(256)
            data = bytes(d)
        try:
            raw(env.http, data, timeout=0.3, shut=True)
        except OSError:
            pass
    assert env.p.poll() is None
    r = parse_responses(raw(env.http, b"GET /exact HTTP/1.1\r\n" + H +
                            b"Connection: close\r\n\r\n"))
    assert r[0][0] == 200


@pytest.mark.parametrize("path,status", [
    ("/foo/../exact", 400), ("/foo/./x", 400), ("/foo/%2e%2E/x", 400),
    ("/foo/..", 400), ("/foo/.well-known/x", 200), ("/foo/...", 200),
    ("/foo/a.b/..c", 200)])
def test_dot_segments(env, path, status):
    r = parse_responses(raw(env.http, b"GET " + path.encode() +
                            b" HTTP/1.1\r\n" + H +
                            b"Connection: close\r\n\r\n"))
    assert r[0][0] == status


def test_out_of_descriptors(tmp_path):
    # Under a 64-descriptor limit the proxy cannot accept everything: it
    # must pause accepting (not spin), and serve again once load drops.
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    a = Backend("a")
    table = load_table("matrix.json", PORT_A=a.port, PORT_B=a.port,
                       PORT_DOWN=1)
    px = Proxy(tmp_path, table, https=False, preexec=limit)
    socks = []
    try:
        assert px.wait_log("route table loaded")
        for _ in range(90):
            socks.append(socket.create_connection(("127.0.0.1", px.http)))
        assert px.wait_log("pausing the listener")
        t0 = time.process_time()
        cpu0 = sum(float(x) for x in open("/proc/%d/stat" % px.p.pid)
                   .read().split(")")[1].split()[11:13])
        time.sleep(1.0)
        cpu1 = sum(float(x) for x in open("/proc/%d/stat" % px.p.pid)
                   .read().split(")")[1].split()[11:13])
        assert cpu1 - cpu0 < 50          # clock ticks: not a busy loop
        del t0
        for s in socks:
            s.close()
        socks = []
        deadline = time.monotonic() + 5
        while True:
            try:
                r = parse_responses(raw(px.http, b"GET /exact HTTP/1.1\r\n"
                                        + H + b"Connection: close\r\n\r\n",
                                        timeout=1))
                if r and r[0][0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        for s in socks:
            s.close()
        px.stop()
        a.stop()
