# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy's idle keep-alive connections cost little memory: after 1 s
idle a connection is parked (only its descriptor waits, in the thread's
parking lot), and every parked connection still serves its next request.
The RSS bound holds in the release build only (ASan's allocator keeps
freed memory in quarantine)."""
import re
import resource
import socket
import time

import pytest

from harness import wait_for
from test_proxy_lib import VARIANT, matrix_proxy, read_answer

N = 3000
REQ = b"GET /foo HTTP/1.1\r\nHost: app.example.com\r\n\r\n"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < N + 200:
        pytest.skip("RLIMIT_NOFILE hard limit %d too low" % hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, N + 200), hard))
    try:
        with matrix_proxy(tmp_path_factory.mktemp("px"),
                          ["--threads", "2", "--idle-timeout", "30000"]) as px:
            yield px
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def rss(px):
    st = open("/proc/%d/status" % px.p.pid).read()
    return int(re.search(r"VmRSS:\s+(\d+)", st).group(1)) * 1024


def test_idle_connections_parked_and_small(env):
    warm = socket.create_connection(("127.0.0.1", env.http), timeout=5)
    for _ in range(20):
        warm.sendall(REQ)
        assert read_answer(warm)[0] == 200
    warm.close()
    time.sleep(1.5)
    before = rss(env)
    socks = []
    try:
        while len(socks) < N:
            batch = [socket.create_connection(("127.0.0.1", env.http),
                                              timeout=10)
                     for _ in range(min(250, N - len(socks)))]
            for s in batch:
                s.sendall(REQ)
            for s in batch:
                assert read_answer(s)[0] == 200
            socks += batch
        time.sleep(2.7)                 # parked after 1 s, trimmed after
        after = rss(env)
        m = env.metrics()
        assert m["cfgw_proxy_connections_active"] >= N
        # Every parked connection is served again: a fresh state per
        # connection, the request split over the wake-up on some.
        for i, s in enumerate(socks):
            if i % 3 == 0:
                s.sendall(REQ[:10])
                time.sleep(0.001)
                s.sendall(REQ[10:])
            else:
                s.sendall(REQ)
        for s in socks:
            assert read_answer(s)[0] == 200
    finally:
        for s in socks:
            s.close()
    per = (after - before) / N
    print("idle: %.0f bytes per connection" % per)
    if VARIANT == "release":
        # 1.5 KB per connection before parking kept only a descriptor.
        assert per < 1000, "%.0f bytes per idle connection" % per


def test_new_connection_waits_then_serves(env):
    # A new plain connection waits for its first bytes with nothing but
    # its descriptor; the request, when it comes, is served as usual.
    s = socket.create_connection(("127.0.0.1", env.http), timeout=5)
    try:
        time.sleep(0.3)
        s.sendall(REQ)
        assert read_answer(s)[0] == 200
    finally:
        s.close()


def test_ambiguous_first_byte(env):
    # "P" may begin the HTTP/2 preface or a POST: the proxy waits for more.
    s = socket.create_connection(("127.0.0.1", env.http), timeout=5)
    try:
        s.sendall(b"P")
        time.sleep(0.2)
        s.sendall(b"OST /foo HTTP/1.1\r\nHost: app.example.com\r\n"
                  b"Content-Length: 0\r\n\r\n")
        assert read_answer(s)[0] == 200
    finally:
        s.close()


def test_h2_preface_in_two_parts(env):
    # HTTP/2 prior knowledge whose preface arrives split: still HTTP/2
    # (the server's first frame is SETTINGS, type 4).
    s = socket.create_connection(("127.0.0.1", env.http), timeout=5)
    try:
        s.sendall(b"PRI * HTTP/2.0\r\n")
        time.sleep(0.2)
        s.sendall(b"\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        head = b""
        while len(head) < 9:
            c = s.recv(9 - len(head))
            assert c, "closed"
            head += c
        assert head[3] == 4
    finally:
        s.close()


def test_silent_new_connection_closed_by_client(env):
    # A connection an earlier test closed may still count in "before"
    # and go while the 20 are open: at least 20 open, then no more than
    # before once they are closed.
    def active():
        return env.metrics()["cfgw_proxy_connections_active"]
    before = active()
    socks = [socket.create_connection(("127.0.0.1", env.http), timeout=5)
             for _ in range(20)]
    wait_for(lambda: active() >= 20, 10, what="20 connections accepted")
    for s in socks:
        s.close()
    wait_for(lambda: active() <= before, 10,
             what="the closed connections released")
