# SPDX-License-Identifier: Apache-2.0
"""fakesup: drive real cfgw workers without cfgwd.

A fake supervisor for integration tests: it makes the control socketpair
(AF_UNIX SOCK_SEQPACKET, the worker's end on fd 3), execs a worker binary,
answers HELLO with CONFIG (the worker's own CURVE keypair and its peers'
public keys, generated here with zmq.curve_keypair), waits for READY, and
can ping, send RESYNC / ROTATE_NOW / SHUTDOWN.  Client() opens a CURVE
DEALER that plays another worker (e.g. the reconciler) towards a worker's
ROUTER, with the frame header of proto/frame.h.

    sup = FakeSup(tmp_path, config={"cloudflare_api_url": ...,
                                     "kubeconfig": ...})
    w = sup.start("cfapi")                 # waits for READY
    c = sup.client("reconciler", "cfapi")  # DEALER to cfapi's ROUTER
    typ, reply = c.request(MSG["CF_REQUEST"], {"op": "zone.list", ...})
    sup.stop()

Needs python3-zmq (Debian package, listed in tools/deps.sh).
"""
import json
import os
import socket
import struct
import subprocess
import time
from pathlib import Path

import zmq

REPO = Path(__file__).resolve().parent.parent.parent

MAGIC = 0x43464757
PROTO_VERSION = 1
HDR = struct.Struct("!IHHHBBQI")    # magic ver type flags sender rsvd reqid len
assert HDR.size == 24

PROC = {"supervisor": 0, "watcher": 1, "reconciler": 2, "cfapi": 3,
        "dnsworker": 4, "rotator": 5}
MSG = {"HELLO": 1, "CONFIG": 2, "READY": 3, "PING": 4, "PONG": 5,
       "SHUTDOWN": 6, "RESYNC": 7, "ROTATE_NOW": 8,
       "CF_REQUEST": 40, "CF_REPLY": 41,
       "DNS_SYNC": 50, "DNS_RESULT": 51, "DNS_CLEANUP": 52,
       "ROTATE_SCHEDULE": 60, "ROTATED": 61, "ROTATE_REQUEST": 62}


def header(typ, sender, reqid, length, version=PROTO_VERSION):
    return HDR.pack(MAGIC, version, typ, 0, sender, 0, reqid, length)


def unpack(hdr):
    magic, ver, typ, flags, sender, _, reqid, length = HDR.unpack(hdr[:24])
    if magic != MAGIC:
        raise ValueError("bad magic")
    return typ, sender, reqid, length


def worker_binary(name):
    """libexec/cfgw/<name>, or $CFGW_LIBEXEC/<name> (e.g. ASan builds)."""
    d = os.environ.get("CFGW_LIBEXEC")
    out = Path(os.environ.get("CFGW_OUT") or REPO)
    if not out.is_absolute():
        out = REPO / out
    p = Path(d) / name if d else out / "libexec" / "cfgw" / name
    if not p.exists():
        raise FileNotFoundError(f"{p} is not built (run make)")
    return p


class Worker:
    """One worker process and our end of its control channel."""

    def __init__(self, sup, name, argv, env, user=None, group=None):
        self.sup = sup
        self.name = name
        self.sock, theirs = socket.socketpair(socket.AF_UNIX,
                                              socket.SOCK_SEQPACKET)
        fd = theirs.fileno()
        self.logpath = sup.dir / f"{name}.stderr"
        self.log = open(self.logpath, "ab")

        def child():
            os.dup2(fd, 3)

        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     pass_fds=(fd, 3), preexec_fn=child,
                                     env=env, cwd=REPO, user=user,
                                     group=group)
        theirs.close()
        self.sock.settimeout(10)

    @property
    def pid(self):
        return self.proc.pid

    def send(self, typ, payload, reqid=0):
        body = json.dumps(payload).encode()
        self.sock.send(header(typ, PROC["supervisor"], reqid, len(body))
                       + body)

    def recv(self, timeout=10):
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536 + 24)
        if not data:
            raise EOFError(f"{self.name} closed its control channel")
        typ, sender, reqid, length = unpack(data)
        return typ, json.loads(data[24:24 + length] or b"{}")

    def handshake(self, config, timeout=10):
        typ, hello = self.recv(timeout)
        assert typ == MSG["HELLO"], typ
        assert hello["proc"] == self.name, hello
        pub, sec = self.sup.keys[self.name]
        peers = {p: k[0] for p, k in self.sup.keys.items()
                 if p != self.name}
        self.send(MSG["CONFIG"], {
            "config": config,
            "keys": {"public": pub, "secret": sec},
            "peers": peers})
        typ, _ = self.recv(timeout)
        if typ != MSG["READY"]:
            raise RuntimeError(f"{self.name}: expected READY, got {typ}")

    def ping(self, seq=1, timeout=5):
        """PING; returns the PONG payload (raises on timeout)."""
        self.send(MSG["PING"], {"seq": seq})
        deadline = time.monotonic() + timeout
        while True:
            typ, p = self.recv(max(0.1, deadline - time.monotonic()))
            if typ == MSG["PONG"] and p.get("seq") == seq:
                return p

    def shutdown(self, timeout=10):
        if self.proc.poll() is None:
            try:
                self.send(MSG["SHUTDOWN"], {})
            except OSError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sock.close()
        self.log.close()
        return self.proc.returncode

    def logtext(self):
        parts = []
        for p in (self.logpath, self.sup.logdir / f"{self.name}.log"):
            if p.exists():
                parts.append(p.read_text(errors="replace"))
        return "\n".join(parts)


class Client:
    """A CURVE DEALER speaking as worker `me` to worker `server`."""

    def __init__(self, sup, me, server):
        self.me = me
        self.ctx = zmq.Context.instance()
        self.s = self.ctx.socket(zmq.DEALER)
        pub, sec = sup.keys[me]
        self.s.curve_publickey = pub.encode()
        self.s.curve_secretkey = sec.encode()
        self.s.curve_serverkey = sup.keys[server][0].encode()
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.connect(f"ipc://{sup.runtime}/{server}.sock")
        self.reqid = 0

    def send(self, typ, payload, reqid=None, sender=None):
        if reqid is None:
            self.reqid += 1
            reqid = self.reqid
        body = payload if isinstance(payload, bytes) else \
            json.dumps(payload).encode()
        self.s.send_multipart([
            header(typ, PROC[sender or self.me], reqid, len(body)), body])
        return reqid

    def recv(self, timeout=30):
        if not self.s.poll(int(timeout * 1000)):
            raise TimeoutError("no message")
        hdr, body = self.s.recv_multipart()
        typ, sender, reqid, _ = unpack(hdr)
        return typ, reqid, json.loads(body)

    def request(self, typ, payload, timeout=30):
        """Send and wait for the reply with the same request id."""
        rid = self.send(typ, payload)
        deadline = time.monotonic() + timeout
        while True:
            t, r, body = self.recv(max(0.05, deadline - time.monotonic()))
            if r == rid:
                return t, body

    def close(self):
        self.s.close(0)


class FakeSup:
    def __init__(self, workdir, config=None, env=None):
        self.dir = Path(workdir)
        self.runtime = self.dir / "run"
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        self.logdir = self.dir / "log"
        self.logdir.mkdir(exist_ok=True)
        self.keys = {}
        for p in PROC:
            if p == "supervisor":
                continue
            pub, sec = zmq.curve_keypair()
            self.keys[p] = (pub.decode(), sec.decode())
        self.config = {
            "runtime_dir": str(self.runtime), "log_dir": str(self.logdir),
            "log_format": "text", "cluster_name": "test", "verbose": 1,
            "kube_qps": 50.0, "kube_burst": 100, "cf_budget": 1000}
        self.config.update(config or {})
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.workers = {}
        self.clients = []

    def start(self, name, extra_env=None, timeout=10, user=None,
              group=None):
        """Exec the worker (optionally as another uid/gid), handshake."""
        env = dict(self.env)
        env.update(extra_env or {})
        w = Worker(self, name, [str(worker_binary(name))], env, user, group)
        self.workers[name] = w
        try:
            w.handshake(self.config, timeout)
        except Exception:
            w.shutdown(1)
            raise RuntimeError(f"{name} did not start: {w.logtext()}")
        return w

    def client(self, me, server):
        c = Client(self, me, server)
        self.clients.append(c)
        return c

    def stop(self):
        for c in self.clients:
            c.close()
        self.clients = []
        for w in list(self.workers.values()):
            w.shutdown()
        self.workers = {}
