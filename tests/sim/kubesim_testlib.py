# SPDX-License-Identifier: Apache-2.0
"""Helpers for the simulator's own tests: a tiny HTTP client and object
builders.  Not used by the simulator itself."""

import http.client
import json
import ssl
import time
from urllib.parse import urlsplit

GW = "/apis/gateway.networking.k8s.io/v1"


class Client:
    def __init__(self, url, token=None, cert=None, key=None, ca=None,
                 user_agent="kubesim-test/v0.0.0"):
        u = urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.https = u.scheme == "https"
        self.ctx = None
        if self.https:
            self.ctx = ssl.create_default_context(cafile=ca)
            if cert:
                self.ctx.load_cert_chain(cert, key)
        self.token = token
        self.ua = user_agent
        self.conn = None

    def _conn(self):
        if self.conn is None:
            if self.https:
                self.conn = http.client.HTTPSConnection(
                    self.host, self.port, context=self.ctx, timeout=30)
            else:
                self.conn = http.client.HTTPConnection(self.host, self.port,
                                                       timeout=30)
        return self.conn

    def raw(self, method, path, body=None, ctype="application/json",
            accept="application/json", headers=None):
        h = {"Accept": accept, "User-Agent": self.ua}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            h["Content-Type"] = ctype
        h.update(headers or {})
        for attempt in (0, 1):
            c = self._conn()
            try:
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                return r.status, dict(r.getheaders()), data
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError):
                self.close()
                if attempt:
                    raise

    def req(self, method, path, body=None, ctype="application/json",
            accept="application/json"):
        st, _, data = self.raw(method, path, body, ctype, accept)
        try:
            return st, json.loads(data) if data else None
        except ValueError:
            return st, data.decode("utf-8", "replace")

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.req("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.req("PUT", path, body, **kw)

    def patch(self, path, body, ctype="application/merge-patch+json", **kw):
        return self.req("PATCH", path, body, ctype=ctype, **kw)

    def delete(self, path, body=None, **kw):
        return self.req("DELETE", path, body, **kw)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def watch_lines(url, path, timeout=10, headers=None, max_events=None):
    """Open a watch and return the list of decoded events (reads until the
    server ends the stream, or max_events)."""
    u = urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    h = {"Accept": "application/json"}
    h.update(headers or {})
    c.request("GET", path, headers=h)
    r = c.getresponse()
    out = []
    if r.status != 200:
        return r.status, json.loads(r.read())
    buf = b""
    while True:
        try:
            chunk = r.read1(65536)
        except (http.client.IncompleteRead, ConnectionError):
            chunk = b""  # the server dropped the stream
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                out.append(json.loads(line))
                if max_events and len(out) >= max_events:
                    c.close()
                    return 200, out
    c.close()
    return 200, out


def route(name, ns="default", host=None, labels=None):
    o = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
         "metadata": {"name": name, "namespace": ns},
         "spec": {"parentRefs": [{"name": "gw"}],
                  "hostnames": [host or name + ".example.com"],
                  "rules": [{"backendRefs": [{"name": "svc",
                                              "port": 8080}]}]}}
    if labels:
        o["metadata"]["labels"] = labels
    return o


def wait_for(fn, timeout=5.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()
