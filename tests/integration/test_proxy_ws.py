# SPDX-License-Identifier: Apache-2.0
"""WebSocket through cfgw-proxy: HTTP/1.1 Upgrade, then a bidirectional
byte pipe (echo backend speaks RFC 6455), plain and over TLS; plus large
streamed bodies in both directions (HTTP/1.1 and HTTP/2)."""
import base64
import os
import shutil
import socket
import ssl
import subprocess

import pytest

from test_proxy_lib import Backend, Proxy


def table(port):
    be = {"kind": "Service", "namespace": "default", "name": "ws",
          "port": port, "host": "127.0.0.1", "weight": 1}
    return {"version": "1.0", "generation": "ws", "hosts": [{
        "hostname": "ws.example.com", "http": [
            {"route": {"kind": "HTTPRoute", "namespace": "d", "name": "ws",
                       "rule": 0},
             "match": {"path": {"type": "PathPrefix", "value": "/ws"}},
             "backends": [dict(be, protocol="ws")]},
            {"route": {"kind": "HTTPRoute", "namespace": "d", "name": "h",
                       "rule": 0},
             "match": {"path": {"type": "PathPrefix", "value": "/"}},
             "backends": [dict(be, protocol="http")]}]}]}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    b = Backend("wsb")
    px = None
    try:
        px = Proxy(tmp_path_factory.mktemp("px"), table(b.port))
        assert px.wait_log("route table loaded"), px.log()
        yield px
    finally:
        if px:
            px.stop()
        b.stop()


def frame(data, op=1):
    mask = os.urandom(4)
    n = len(data)
    hdr = bytes([0x80 | op])
    if n < 126:
        hdr += bytes([0x80 | n])
    else:
        hdr += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def read_exact(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise EOFError
        out += d
    return out


def read_frame(s):
    b0, b1 = read_exact(s, 2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(read_exact(s, 2), "big")
    return b0 & 0x0F, read_exact(s, n)


def ws_session(s, path="/ws/chat"):
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: ws.example.com\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (path, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(1)
        if not d:
            raise EOFError(head)
        head += d
    assert head.startswith(b"HTTP/1.1 101"), head
    assert b"sec-websocket-accept" in head.lower()
    for msg in (b"hello", b"x" * 5000, b"last"):
        s.sendall(frame(msg))
        op, data = read_frame(s)
        assert (op, data) == (1, msg)
    s.sendall(frame(b"", op=8))
    op, _ = read_frame(s)
    assert op == 8


def test_websocket_plain(env):
    s = socket.create_connection(("127.0.0.1", env.http), timeout=5)
    ws_session(s)
    s.close()


def test_websocket_http_backend(env):
    # An Upgrade to a plain "http" backend is passed through as well.
    s = socket.create_connection(("127.0.0.1", env.http), timeout=5)
    ws_session(s, "/other")
    s.close()


def test_websocket_tls(env):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    raw = socket.create_connection(("127.0.0.1", env.https), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname="ws.example.com")
    ws_session(s)
    s.close()


def curl(*args):
    if not shutil.which("curl"):
        pytest.skip("curl missing")
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w",
                        "%{http_code} %{http_version} %{size_download}"]
                       + list(args), capture_output=True, text=True,
                       timeout=60)
    return r.stdout.split()


@pytest.mark.parametrize("mode", ["h1", "h2c", "h2tls"])
def test_large_bodies(env, tmp_path, mode):
    up = tmp_path / "up.bin"
    up.write_bytes(os.urandom(3 << 20))
    args = ["-H", "Host: ws.example.com", "-H", "x-echo-body: 4000000",
            "--data-binary", "@%s" % up]
    if mode == "h1":
        args += ["--http1.1", "http://127.0.0.1:%d/big" % env.http]
    elif mode == "h2c":
        args += ["--http2-prior-knowledge",
                 "http://127.0.0.1:%d/big" % env.http]
    else:
        args += ["--http2", "-k", "https://127.0.0.1:%d/big" % env.https]
    code, ver, size = curl(*args)
    assert code == "200"
    assert ver == ("1.1" if mode == "h1" else "2")
    assert size == "4000000"


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.mark.parametrize("direction", ["download", "upload"])
def test_backpressure_bounds_memory(env, direction):
    # A 64 MiB body towards a peer that does not read: a client that
    # stops reading (download) or a backend that never reads (upload).
    # The proxy must stop reading the other side instead of buffering.
    import time
    before = rss_kb(env.p.pid)
    s = socket.create_connection(("127.0.0.1", env.http), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    if direction == "download":
        s.sendall(b"GET /big HTTP/1.1\r\nHost: ws.example.com\r\n"
                  b"x-echo-body: 67108864\r\n\r\n")
        time.sleep(2)               # do not read: the proxy must stall
        grown = rss_kb(env.p.pid) - before
        got = 0
        while got < 67108864:
            d = s.recv(1 << 20)
            if not d:
                break
            got += len(d)
        assert got > 67108864       # head + whole body arrived
    else:
        # Upload to a backend that stalls before reading the body.
        s.sendall(b"POST /big HTTP/1.1\r\nHost: ws.example.com\r\n"
                  b"x-echo-mode: stall\r\nContent-Length: 67108864\r\n\r\n")
        s.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 3
        chunk = b"u" * 65536
        while time.monotonic() < deadline:
            try:
                sent += s.send(chunk)
            except BlockingIOError:
                time.sleep(0.05)
        grown = rss_kb(env.p.pid) - before
        assert sent < 32 << 20      # the client was blocked, not drained
    s.close()
    assert grown < 16 * 1024, "proxy RSS grew by %d KiB" % grown
