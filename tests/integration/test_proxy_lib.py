# SPDX-License-Identifier: Apache-2.0
"""Helpers for the cfgw-proxy tests (no tests here): start the proxy and
echo backends on 127.0.0.1 ephemeral ports, write route tables, talk raw
HTTP/1.1."""
import contextlib
import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
PYTHON = "/usr/bin/python3"
ECHO = Path(__file__).resolve().parent / "echo_backend.py"
DATA = REPO / "tests" / "data" / "proxy"
# Where make put the binaries (as tests/harness.py): the tree for release,
# build/<variant> otherwise, or $CFGW_OUT.
VARIANT = os.environ.get("CFGW_VARIANT", "release")
OUT = REPO / os.environ.get("CFGW_OUT", "." if VARIANT == "release" else
                            "build/" + VARIANT)
PROXY = OUT / "bin" / "cfgw-proxy"


def need_proxy():
    if not PROXY.exists():
        pytest.skip("%s is not built" % PROXY)


class Backend:
    def __init__(self, name, port=0, reuseport=False):
        argv = [PYTHON, str(ECHO), name]
        if port:
            argv += ["--port", str(port)]
        if reuseport:
            argv.append("--reuseport")
        self.name = name
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError("echo backend did not start")
        self.port = int(line.split()[1])

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


class Proxy:
    """cfgw-proxy with --routes-file in tmp; .http, .https, .admin ports."""

    def __init__(self, tmp, table=None, extra=(), https=True, preexec=None):
        need_proxy()
        self.routes = Path(tmp) / "routes.json"
        if table is not None:
            self.write(table)
        argv = [str(PROXY)]
        if "--routes-configmap" not in extra:
            argv += ["--routes-file", str(self.routes)]
        argv += ["--http-addr", "127.0.0.1:0",
                "--admin-addr", "127.0.0.1:0",
                "--https-addr", "127.0.0.1:0" if https else ""]
        if "--drain-timeout" not in extra:
            argv += ["--drain-timeout", "2000"]
        argv += list(extra)
        self.lines = []
        self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True,
                                  preexec_fn=preexec)
        self.ports = {}
        self._cv = threading.Condition()
        self._rt = threading.Thread(target=self._reader, daemon=True)
        self._rt.start()
        want = {"http", "admin"} | ({"https"} if https else set())
        deadline = time.monotonic() + 10
        with self._cv:
            while not want <= set(self.ports):
                if time.monotonic() > deadline or self.p.poll() is not None:
                    self.stop()
                    raise RuntimeError("proxy did not start:\n"
                                       + "\n".join(self.lines))
                self._cv.wait(0.1)
        self.http = self.ports["http"]
        self.https = self.ports.get("https")
        self.admin = self.ports["admin"]

    def _reader(self):
        for line in self.p.stderr:
            with self._cv:
                self.lines.append(line.rstrip("\n"))
                m = re.search(r"listening (\w+) on \S+ port (\d+)", line)
                if m:
                    self.ports[m.group(1)] = int(m.group(2))
                self._cv.notify_all()

    def write(self, table):
        tmp = self.routes.with_suffix(".tmp")
        tmp.write_text(table if isinstance(table, str)
                       else json.dumps(table))
        os.replace(tmp, self.routes)

    def log(self):
        with self._cv:
            return "\n".join(self.lines)

    def wait_log(self, pattern, timeout=5):
        deadline = time.monotonic() + timeout
        with self._cv:
            while time.monotonic() < deadline:
                if any(re.search(pattern, ln) for ln in self.lines):
                    return True
                self._cv.wait(0.1)
        return False

    def metrics(self):
        st, _, body = http_get(self.admin, "/metrics", host="admin")
        assert st == 200
        out = {}
        for ln in body.decode().splitlines():
            if ln and not ln.startswith("#"):
                k, v = ln.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self._rt.join(5)
        log = self.log()
        assert "Sanitizer" not in log and "runtime error" not in log, log


def load_table(name, **ports):
    """tests/data/proxy/<name> with "@PORT_X@" placeholders filled."""
    text = (DATA / name).read_text()
    for k, v in ports.items():
        text = text.replace('"@%s@"' % k, str(v))
    return text


@contextlib.contextmanager
def matrix_proxy(tmp, extra):
    """cfgw-proxy on plain HTTP with matrix.json, both its backends one echo
    backend "a" (the "down" one port 1); extra: more command-line flags."""
    a = Backend("a")
    px = None
    try:
        table = load_table("matrix.json", PORT_A=a.port, PORT_B=a.port,
                           PORT_DOWN=1)
        px = Proxy(tmp, table, https=False, extra=extra)
        assert px.wait_log("route table loaded"), px.log()
        yield px
    finally:
        if px:
            px.stop()
        a.stop()


def raw(port, data, timeout=5.0, shut=False):
    """Send raw bytes, return everything read until EOF or timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
        except (socket.timeout, ConnectionResetError):
            pass
        return out
    finally:
        s.close()


def parse_responses(data):
    """Split a byte stream into [(status, headers, body)] (CL or chunked)."""
    res = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for ln in lines[1:]:
            k, v = ln.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        if "content-length" in hdrs:
            n = int(hdrs["content-length"])
            body, data = rest[:n], rest[n:]
        elif hdrs.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size, _, rest = rest.partition(b"\r\n")
                n = int(size, 16)
                if n == 0:
                    _, _, rest = rest.partition(b"\r\n")
                    break
                body += rest[:n]
                rest = rest[n + 2:]
            data = rest
        else:
            body, data = rest, b""
        res.append((status, hdrs, body))
    return res


def read_answer(s):
    """Read one whole Content-Length framed answer from the socket s;
    (status, headers, body) as parse_responses gives them."""
    data = b""
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            n = [int(ln.split(b":")[1]) for ln in head.split(b"\r\n")
                 if ln.lower().startswith(b"content-length:")]
            assert n, "an answer without Content-Length"
            if len(rest) >= n[0]:
                return parse_responses(data)[0]
        chunk = s.recv(65536)
        assert chunk, "closed before the whole answer"
        data += chunk


def http_get(port, path, host="app.example.com", headers=(), method="GET",
             body=None):
    """One request on a fresh connection: (status, headers, body)."""
    req = "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (
        method, path, host)
    for k, v in headers:
        req += "%s: %s\r\n" % (k, v)
    data = req.encode()
    if body is not None:
        data += b"Content-Length: %d\r\n\r\n" % len(body) + body
    else:
        data += b"\r\n"
    out = raw(port, data)
    r = parse_responses(out)
    assert r, "no response: %r" % out[:200]
    return r[0]


def echo(port, path, **kw):
    st, h, body = http_get(port, path, **kw)
    return st, h, (json.loads(body) if st == 200 and body[:1] == b"{"
                   else body)
