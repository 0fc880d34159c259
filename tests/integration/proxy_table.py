# SPDX-License-Identifier: Apache-2.0
"""Builders for cfgw-proxy route tables in the tests (docs/route-table.md):
entries are written in Python so each test states exactly what it needs."""
import socket
import threading


def backend(name, port, weight=1, proto="http", filters=None,
            host="127.0.0.1", invalid=None):
    return {"kind": "Service", "namespace": "default", "name": name,
            "port": port, "host": host, "weight": weight,
            "protocol": proto, "invalid": invalid,
            "filters": filters or []}


def entry(name, path="/", ptype="PathPrefix", backends=(), filters=None,
          rule=0, **extra):
    e = {"route": {"kind": "HTTPRoute", "namespace": "default",
                   "name": name, "rule": rule},
         "match": {"path": {"type": ptype, "value": path}},
         "filters": filters or [], "backends": list(backends)}
    e.update(extra)
    return e


def table(http, host="app.example.com", generation="t1", grpc=()):
    return {"version": "1.0", "generation": generation,
            "gateway": {"namespace": "default", "name": "gw"},
            "cluster_domain": "cluster.local",
            "listeners": [{"name": "http", "protocol": "HTTP", "port": 80,
                           "hostname": None, "usable": True}],
            "hosts": [{"hostname": host, "wildcard": False,
                       "listeners": ["http"], "http": list(http),
                       "grpc": list(grpc)}]}


def mirror(name, port, percent=None, fraction=None, host="127.0.0.1"):
    f = {"type": "RequestMirror",
         "requestMirror": {"backendRef": {"name": name, "port": port}},
         "backend": {"kind": "Service", "namespace": "default",
                     "name": name, "port": port, "host": host,
                     "protocol": "http", "invalid": None}}
    if percent is not None:
        f["requestMirror"]["percent"] = percent
    if fraction is not None:
        f["requestMirror"]["fraction"] = {"numerator": fraction[0],
                                          "denominator": fraction[1]}
    return f


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Listener:
    """A backend on 127.0.0.1 that keeps every connection it accepts
    (conns) and hands each to serve(c) in its own thread."""

    def __init__(self):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(64)
        self.port = self.s.getsockname()[1]
        self.conns = []
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,),
                             daemon=True).start()

    def serve(self, c):
        pass

    def stop(self):
        self.s.close()
        for c in self.conns:
            c.close()


class Staller(Listener):
    """Accepts connections and never answers (a stalled backend); counts
    the connections it saw."""
