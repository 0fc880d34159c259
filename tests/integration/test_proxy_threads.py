# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy performance machinery: several event-loop threads (counters
summed, connections spread), parked idle keep-alive connections (their
bufferevent freed after 1 s idle, restored by the next request)."""
import socket
import time

import pytest

from test_proxy_lib import matrix_proxy, read_answer


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with matrix_proxy(tmp_path_factory.mktemp("px"),
                      ["--threads", "3", "--idle-timeout", "2500"]) as px:
        yield px


REQ = b"GET /foo HTTP/1.1\r\nHost: app.example.com\r\n\r\n"


def one(s):
    s.sendall(REQ)
    return read_answer(s)


def test_threads_started(env):
    assert env.wait_log("3 threads"), env.log()


def test_counters_summed_over_threads(env):
    before = env.metrics().get('cfgw_proxy_requests_total{code="2xx"}', 0)
    socks = [socket.create_connection(("127.0.0.1", env.http), timeout=5)
             for _ in range(9)]
    try:
        for s in socks:                 # 9 connections over 3 threads
            assert one(s)[0] == 200
        m = env.metrics()
        assert m['cfgw_proxy_requests_total{code="2xx"}'] - before == 9
        assert m["cfgw_proxy_connections_active"] >= 9
    finally:
        for s in socks:
            s.close()


def test_parked_connection_serves_again(env):
    s = socket.create_connection(("127.0.0.1", env.http), timeout=5)
    try:
        assert one(s)[0] == 200
        time.sleep(1.4)                 # parked after 1 s idle
        assert one(s)[0] == 200         # a fresh bufferevent takes over
        time.sleep(1.4)
        s.sendall(REQ[:20])             # a request split over the wake-up
        time.sleep(0.1)
        s.sendall(REQ[20:])
        assert read_answer(s)[0] == 200
    finally:
        s.close()


def test_parked_connection_idle_timeout(env):
    s = socket.create_connection(("127.0.0.1", env.http), timeout=6)
    try:
        assert one(s)[0] == 200
        start = time.monotonic()
        assert s.recv(10) == b""        # parked, then closed at 2.5 s
        assert 1.8 < time.monotonic() - start < 4.5
    finally:
        s.close()
