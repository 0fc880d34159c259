#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Kubernetes API simulator for cfgw tests, `make demo` and the benchmark.

Serves the wire protocol of a kube-apiserver (modelled on the recorded
v1.19 transcripts in kube-wire) on 127.0.0.1: discovery, CRUD, list with
pagination and selectors, chunked watch streams with bookmarks and 410,
patches, status subresources, finalizers, garbage collection, metadata-only
and Table output, TLS with client certificates or a bearer token, and a
test-control API under /_sim/.  See tests/sim/README.md.

Usage:
  kubesim.py --listen 127.0.0.1:0 --port-file PATH [--crd-dir DIR]...
             [--tls-dir DIR] [--token TOKEN] [--simulate-deployments]
             [--log PATH] [--preload FILE] [--vpa] [--history N]

As a module:
  sim = KubeSim(crd_dirs=None, tls_dir=None, token=None); sim.start()
  sim.url ... sim.stop()
"""

import argparse
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kubesim_api import Api  # noqa: E402
from kubesim_http import Handler, Faults  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEFAULT_CRD_DIRS = (os.path.join(REPO, "tests", "data", "crds"),
                    os.path.join(REPO, "charts", "cfgw", "crds"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, sim):
        self.sim = sim
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.address_family = family
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        ctx = self.sim.ssl_ctx
        if ctx is not None:
            try:
                request.settimeout(10)
                request = ctx.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError):
                try:
                    request.close()
                except OSError:
                    pass
                return
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            if ctx is not None:
                try:
                    request.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def generate_tls(d):
    """CA, server cert (127.0.0.1, ::1, localhost) and client cert CN=admin
    (O=system:masters) with the openssl command."""
    os.makedirs(d, exist_ok=True)

    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n"
                "extendedKeyUsage=serverAuth\n")
    with open(os.path.join(d, "client.cnf"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    run("req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key",
        "-out", "ca.crt", "-days", "3650", "-subj", "/CN=kubesim-ca")
    for name, subj, ext in (("server", "/CN=127.0.0.1", "san.cnf"),
                            ("client", "/O=system:masters/CN=admin",
                             "client.cnf")):
        run("req", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            name + ".key", "-out", name + ".csr", "-subj", subj)
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt",
            "-CAkey", "ca.key", "-CAcreateserial", "-out", name + ".crt",
            "-days", "3650", "-extfile", ext)
    for f in ("server.key", "client.key", "ca.key"):
        os.chmod(os.path.join(d, f), 0o600)


class KubeSim:
    """The simulator as an object: start() binds and serves in a thread,
    url is http(s)://127.0.0.1:PORT, stop() shuts down."""

    def __init__(self, listen="127.0.0.1:0", crd_dirs=None, tls_dir=None,
                 token=None, simulate_deployments=False, log=None,
                 vpa=False, history=10000, preload=None,
                 bookmark_interval=60.0, gc=True, users=None):
        host, _, port = listen.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("kubesim listens on loopback only")
        self.addr = (host, int(port or 0))
        self.crd_dirs = list(crd_dirs) if crd_dirs else \
            [d for d in DEFAULT_CRD_DIRS if os.path.isdir(d)]
        self.tls_dir = tls_dir
        self.token = token
        self.users = dict(users or {})   # token -> user without permissions
        self.ssl_ctx = None
        self.log_path = log
        self.log_file = None
        self.log_lock = threading.Lock()
        self.bookmark_interval = bookmark_interval
        self.api = Api(self.crd_dirs, vpa=vpa, history=history,
                       simulate_deployments=simulate_deployments, gc=gc)
        self.api.bookmark_interval = bookmark_interval
        self.faults = Faults()
        self.requests = []
        self.req_lock = threading.Lock()
        self.server = None
        self.thread = None
        self.stopping = threading.Event()
        if preload:
            self.api.load(load_objects_file(preload))

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def url(self):
        scheme = "https" if self.ssl_ctx else "http"
        host = self.addr[0]
        if ":" in host:
            host = "[" + host + "]"
        return "%s://%s:%d" % (scheme, host, self.port)

    def start(self):
        if self.tls_dir:
            generate_tls(self.tls_dir)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(self.tls_dir, "server.crt"),
                                os.path.join(self.tls_dir, "server.key"))
            ctx.load_verify_locations(os.path.join(self.tls_dir, "ca.crt"))
            ctx.verify_mode = ssl.CERT_OPTIONAL
            self.ssl_ctx = ctx
        if self.log_path:
            self.log_file = open(self.log_path, "a", buffering=1)
        self.server = _Server(self.addr, self)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.2},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        with self.api.store.cond:
            self.api.store.closed = True
            self.api.store.cond.notify_all()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
        if self.log_file:
            self.log_file.close()
            self.log_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def log(self, line):
        if self.log_file:
            with self.log_lock:
                try:
                    self.log_file.write(line + "\n")
                except ValueError:
                    pass


def load_objects_file(path):
    """A YAML (multi-document, or a list, or a v1 List) or JSON file of
    objects."""
    import json
    import yaml
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        data = json.loads(text)
        docs = [data]
    except ValueError:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        docs = list(yaml.load_all(text, Loader=loader))
    out = []
    for d in docs:
        if isinstance(d, list):
            out.extend(d)
        elif isinstance(d, dict) and isinstance(d.get("items"), list) and \
                str(d.get("kind", "")).endswith("List"):
            out.extend(d["items"])
        elif isinstance(d, dict):
            out.append(d)
    return json.loads(json.dumps(out, default=str))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Kubernetes API simulator")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--port-file")
    ap.add_argument("--crd-dir", action="append", default=[])
    ap.add_argument("--tls-dir")
    ap.add_argument("--token")
    ap.add_argument("--simulate-deployments", action="store_true")
    ap.add_argument("--log")
    ap.add_argument("--preload")
    ap.add_argument("--vpa", action="store_true")
    ap.add_argument("--history", type=int, default=10000)
    ap.add_argument("--bookmark-interval", type=float, default=60.0)
    ap.add_argument("--user-token", action="append", default=[],
                    metavar="NAME=TOKEN",
                    help="a user without permissions (403 on resources)")
    ap.add_argument("--no-gc", action="store_true",
                    help="no garbage collector / namespace controller "
                    "(like the recorded server)")
    a = ap.parse_args(argv)
    try:
        sim = KubeSim(listen=a.listen, crd_dirs=a.crd_dir or None,
                      tls_dir=a.tls_dir, token=a.token,
                      simulate_deployments=a.simulate_deployments,
                      log=a.log, vpa=a.vpa, history=a.history,
                      preload=a.preload,
                      bookmark_interval=a.bookmark_interval,
                      gc=not a.no_gc,
                      users={u.partition("=")[2]: u.partition("=")[0]
                             for u in a.user_token})
        sim.start()
    except Exception as e:  # bad flags, files, objects: one clear line
        print("kubesim: %s" % e, file=sys.stderr)
        return 2
    if a.port_file:
        tmp = a.port_file + ".tmp.%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write("%d\n" % sim.port)
        os.rename(tmp, a.port_file)
    else:
        print(sim.url, flush=True)
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not done.wait(1.0):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
