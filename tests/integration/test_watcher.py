# SPDX-License-Identifier: Apache-2.0
"""The watcher worker against the Kubernetes simulator.

A small C driver (watcher_peer.c, compiled here against the build's
libcfgw.a) starts the real libexec/cfgw/watcher with the control socket on
fd 3, stands in for cfgwd and the reconciler, and prints every message the
watcher sends as a JSON line.  The tests assert on those messages and on
the requests the simulator saw.
"""
import json
import os
import queue
import shlex
import subprocess
import threading
import time
from pathlib import Path

import pytest

import harness

REPO = harness.REPO
MANAGED = {"app.kubernetes.io/managed-by": "cloudflare-gateway-controller"}


def _watcher_bin():
    return os.environ.get("CFGW_WATCHER_BIN") or harness.binpath("watcher")


def _build_dir():
    return Path(os.environ.get("CFGW_BUILD") or
                REPO / "build" / harness.VARIANT)


@pytest.fixture(scope="session")
def peer_bin(tmp_path_factory):
    """Compile the driver against the archive `make` built."""
    lib = _build_dir() / "libcfgw.a"
    if not lib.exists():
        pytest.skip(f"{lib} not built (run make)")
    try:
        _watcher_bin()
    except FileNotFoundError:
        pytest.skip("libexec/cfgw/watcher not built")
    out = tmp_path_factory.mktemp("peer") / "watcher_peer"
    libs = subprocess.run(
        ["pkg-config", "--libs", "libzmq", "libsodium", "yajl", "libcurl",
         "yaml-0.1", "libseccomp"], capture_output=True, text=True,
        check=True).stdout.split()
    san = ["-fsanitize=address,undefined"] if harness.VARIANT == "asan" \
        else []
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-g", *san,
                    "-I", str(REPO / "lib"), "-I", str(REPO / "proto"),
                    "-o", str(out),
                    str(REPO / "tests/integration/watcher_peer.c"),
                    str(lib), *libs, "-lpthread", "-lm"], check=True)
    return out


class Peer:
    """The driver process; lines from stdout are queued as dicts."""

    def __init__(self, peer_bin, workdir, kubeconfig, env=None):
        self.workdir = Path(workdir)
        rt = self.workdir / "rt"
        rt.mkdir(mode=0o700, exist_ok=True)
        self.logdir = self.workdir / "logs"
        self.logdir.mkdir(exist_ok=True)
        e = dict(os.environ)
        e.pop("KUBECONFIG", None)
        e.update(env or {})
        self.stderr = open(self.workdir / "peer.err", "wb")
        self.proc = subprocess.Popen(
            [str(peer_bin), str(_watcher_bin()), str(rt),
             str(kubeconfig), str(self.logdir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, env=e)
        self.q = queue.Queue()
        self.msgs = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.q.put(json.loads(line))
            except ValueError:
                self.q.put({"msg": "GARBAGE", "payload": line})
        self.q.put(None)

    def send(self, cmd):
        self.proc.stdin.write((cmd + "\n").encode())
        self.proc.stdin.flush()

    def wait(self, pred, timeout=15.0, what="message", since=0):
        """The first message from index `since` on (already received or
        still to come) for which pred(msg) is true."""
        deadline = time.monotonic() + timeout
        for m in self.msgs[since:]:
            if pred(m):
                return m
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}; "
                                     f"log: {self.log_tail()}")
            try:
                m = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if m is None:
                raise AssertionError(f"peer ended while waiting for {what}"
                                     f"; log: {self.log_tail()}")
            self.msgs.append(m)
            if pred(m):
                return m

    def wait_sub(self):
        """Until a delta (at worst the 5 s SYNC heartbeat) has arrived,
        the subscription may not be live yet: PUB drops what a slow joiner
        misses, as ZeroMQ does; the reconciler covers that with a
        snapshot."""
        self.wait(lambda m: m["msg"] == "DELTA", 12, "first DELTA")

    def deltas(self):
        return [m["payload"] for m in self.msgs if m["msg"] == "DELTA" and
                m["payload"].get("event") != "SYNC"]

    def wait_delta(self, event, kind, name, timeout=15.0):
        def p(m):
            d = m.get("payload") or {}
            return (m["msg"] == "DELTA" and d.get("event") == event and
                    d.get("kind") == kind and
                    d.get("obj", {}).get("metadata", {}).get("name") == name)
        return self.wait(p, timeout, f"{event} {kind} {name}")["payload"]

    def log_tail(self, n=3000):
        p = self.logdir / "watcher.log"
        try:
            return p.read_text(errors="replace")[-n:]
        except OSError:
            return "(no watcher.log)"

    def log(self):
        try:
            return (self.logdir / "watcher.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.send("shutdown")
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.stderr.close()


@pytest.fixture
def sim(tmp_path):
    s = harness.start_kubesim(tmp_path)
    yield s
    s.stop()


@pytest.fixture
def start(tmp_path, sim, peer_bin):
    peers = []

    def _start(env=None, kubeconfig=None):
        kc = kubeconfig or harness.write_kubeconfig(
            tmp_path / "kubeconfig", sim.url, token="t0k")
        p = Peer(peer_bin, tmp_path, kc, env)
        peers.append(p)
        p.wait(lambda m: m["msg"] == "READY", 20, "READY")
        return p
    yield _start
    for p in peers:
        p.stop()


def gateway(name, ns="default"):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": name, "namespace": ns, "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                "keep": "me"}},
            "spec": {"gatewayClassName": "cloudflare",
                     "listeners": [{"name": "http", "port": 80,
                                    "protocol": "HTTP"}]}}


def configmap(name, labels=None, data=None, ns="default"):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns,
                         "labels": labels or {}},
            "data": data or {"k": "v"}}


def secret(name, ns="default"):
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": ns},
            "type": "Opaque",
            "stringData": {"CLOUDFLARE_API_TOKEN": "very-secret-token"},
            "data": {"CLOUDFLARE_ACCOUNT_ID": "YWNjdA=="}}


def synced_snapshot(p):
    since = len(p.msgs)
    p.send("snap")
    end = p.wait(lambda m: m["msg"] == "SNAPSHOT_END", 40, "SNAPSHOT_END",
                 since)
    objs = [m["payload"] for m in p.msgs if m["msg"] == "SNAPSHOT_OBJ" and
            m["reqid"] == end["reqid"]]
    return end["payload"], objs


def snap_find(objs, kind, name):
    for o in objs:
        if o["kind"] == kind and o["obj"]["metadata"]["name"] == name:
            return o["obj"]
    return None


def contiguous(deltas):
    seqs = [d["seq"] for d in deltas]
    return seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_list_watch_publish(sim, start):
    sim.create(gateway("gw1"))
    sim.create(secret("cf-creds"))
    sim.create(configmap("routes", MANAGED))
    sim.create(configmap("unrelated"))
    p = start()
    # The initial state, as the reconciler gets it: a snapshot.
    end, objs = synced_snapshot(p)
    gw = snap_find(objs, "Gateway", "gw1")
    sec = snap_find(objs, "Secret", "cf-creds")
    assert gw and sec and snap_find(objs, "ConfigMap", "routes")
    assert snap_find(objs, "ConfigMap", "unrelated") is None
    # Live changes arrive as sequenced MODIFIED, DELETED, ADDED deltas.
    p.wait_sub()
    sim.patch("Gateway", "gw1", {"metadata": {"labels": {"x": "1"}}})
    mod = p.wait_delta("MODIFIED", "Gateway", "gw1")
    assert mod["obj"]["metadata"]["labels"] == {"x": "1"}
    sim.delete("Gateway", "gw1")
    p.wait_delta("DELETED", "Gateway", "gw1")
    sim.create(configmap("later", MANAGED))
    p.wait_delta("ADDED", "ConfigMap", "later")
    sim.create(configmap("unrelated2"))
    sim.create(configmap("last", MANAGED))
    p.wait_delta("ADDED", "ConfigMap", "last")

    deltas = p.deltas()
    assert contiguous(deltas)
    assert mod["seq"] > end["seq"]
    assert len({d["epoch"] for d in deltas} | {end["epoch"]}) == 1
    # Trimmed objects: no managedFields, no last-applied annotation.
    for o in (gw, mod["obj"]):
        assert "managedFields" not in o["metadata"]
        assert o["metadata"]["annotations"] == {"keep": "me"}
        assert o["kind"] == "Gateway"
        assert o["apiVersion"] == "gateway.networking.k8s.io/v1"
    # Secrets are metadata only: never any data.
    assert sec["kind"] == "Secret"
    assert "data" not in sec and "stringData" not in sec
    assert "very-secret-token" not in json.dumps(p.msgs)
    assert "YWNjdA==" not in json.dumps(p.msgs)
    # Unmanaged ConfigMaps are not watched.
    names = {(d["kind"], d["obj"]["metadata"]["name"]) for d in deltas}
    assert ("ConfigMap", "unrelated2") not in names

    reqs = sim.requests()
    # The test itself only writes; every GET is the watcher's.
    mine = [r for r in reqs if r["path"].startswith(("/api", "/apis")) and
            r["method"] == "GET"]
    assert mine and all(r["user_agent"] == "cfgw/0.1.0 (watcher)"
                        for r in mine), {r["user_agent"] for r in mine}
    sec_reqs = [r for r in mine if r["path"].endswith("/secrets")]
    assert sec_reqs
    for r in sec_reqs:
        for part in r["accept"].split(","):
            assert "as=PartialObjectMetadata" in part, r["accept"]
    watches = [r for r in mine if "watch=1" in r["query"]]
    assert watches and all("allowWatchBookmarks=true" in r["query"]
                           for r in watches)
    cm = [r for r in mine if r["path"].endswith("/configmaps")]
    assert all("labelSelector=app.kubernetes.io%2Fmanaged-by%3D"
               "cloudflare-gateway-controller" in r["query"] for r in cm)


def test_snapshot_matches_deltas(sim, start):
    for i in range(3):
        sim.create(gateway(f"g{i}"))
    p = start()
    p.wait_sub()
    end, objs = synced_snapshot(p)
    assert end["synced"] is True
    snap = {(o["kind"], o["obj"]["metadata"]["name"]) for o in objs}
    assert {("Gateway", f"g{i}") for i in range(3)} <= snap
    assert ("Namespace", "default") in snap
    # Nothing is published before the first snapshot (each delta would
    # be older than it): its seq is 0 and the deltas follow from 1 (Clone
    # pattern: snapshot + seq > N).
    assert end["seq"] == 0
    assert not p.deltas()
    # The next change is seq N+1 of the same epoch.
    sim.create(gateway("g3"))
    d = p.wait_delta("ADDED", "Gateway", "g3")
    assert d["seq"] == end["seq"] + 1 and d["epoch"] == end["epoch"]
    # SYNC heartbeat carries the last seq and consumes none.
    since = len(p.msgs)
    sync = p.wait(lambda m: m["msg"] == "DELTA" and
                  m["payload"]["event"] == "SYNC", 10, "SYNC",
                  since)["payload"]
    assert sync["seq"] == d["seq"]
    assert sync["epoch"] == end["epoch"]


def test_resume_after_dropped_stream(sim, start):
    sim.create(gateway("a"))
    # Every Gateway watch is cut after one event.
    sim.faults([{"path_regex": "/gateways$", "watch_drop_after": 1,
                 "count": 3}])
    p = start()
    assert snap_find(synced_snapshot(p)[1], "Gateway", "a")
    p.wait_sub()
    for n in ("b", "c", "d"):
        sim.create(gateway(n))
        p.wait_delta("ADDED", "Gateway", n)
    gws = [d for d in p.deltas() if d["kind"] == "Gateway"]
    # Each object exactly once: resumption does not replay or lose events.
    assert sorted(d["obj"]["metadata"]["name"] for d in gws
                  if d["event"] == "ADDED" and
                  d["obj"]["metadata"]["name"] != "a") == ["b", "c", "d"]
    assert contiguous(p.deltas())
    watches = [r for r in sim.requests() if r["path"].endswith("/gateways")
               and "watch=1" in r["query"]]
    assert len(watches) >= 3
    rvs = [int(q.split("resourceVersion=")[1].split("&")[0])
           for q in (r["query"] for r in watches)]
    assert rvs == sorted(rvs) and rvs[-1] > rvs[0]
    lists = [r for r in sim.requests() if r["path"].endswith("/gateways")
             and r["method"] == "GET" and "watch=1" not in r["query"]]
    assert len(lists) == 1, "a dropped stream must resume, not re-list"


def test_gone_relists_and_reports_deletes(sim, start):
    sim.create(gateway("stay"))
    sim.create(gateway("doomed"))
    # Every Gateway watch answers 410 Gone: the watcher re-lists (with
    # backoff, as the server keeps failing); a delete that happened in
    # between must come out as DELETED.
    sim.faults([{"path_regex": "/gateways$", "watch_gone": True}])
    p = start()
    end, objs = synced_snapshot(p)
    assert snap_find(objs, "Gateway", "doomed")
    p.wait_sub()
    sim.delete("Gateway", "doomed")
    sim.create(gateway("newer"))
    p.wait_delta("DELETED", "Gateway", "doomed", 40)
    p.wait_delta("ADDED", "Gateway", "newer", 40)
    sim.faults([])
    assert "expired, re-listing" in p.log()
    gws = [d for d in p.deltas() if d["kind"] == "Gateway" and
           d["obj"]["metadata"]["name"] == "stay" and d["seq"] > end["seq"]]
    assert not gws, "an unchanged object is not re-published"
    lists = [r for r in sim.requests() if r["path"].endswith("/gateways")
             and r["method"] == "GET" and "watch=1" not in r["query"]]
    assert 2 <= len(lists) < 40, len(lists)


def test_resync_resends_everything(sim, start):
    sim.create(gateway("r1"))
    p = start()
    _, objs = synced_snapshot(p)
    assert snap_find(objs, "Gateway", "r1")
    p.wait_sub()
    before = len(p.deltas())
    p.send("resync")
    p.wait_delta("MODIFIED", "Gateway", "r1")
    p.wait_delta("MODIFIED", "Namespace", "default")
    time.sleep(1)
    after = p.deltas()[before:]
    assert len(after) >= len(objs)
    assert all(d["event"] == "MODIFIED" for d in after)



def test_expired_continue_restarts_list(sim, start):
    """A continue token that expires between two pages of a list (410
    Expired: the history was compacted meanwhile) starts the list over;
    the pages read so far are not taken for the whole list, which would
    publish everything else as deleted."""
    n = 600                     # two pages of 500
    st, _ = sim.ctl.post("/_sim/load",
                         [gateway(f"g{i:03d}") for i in range(n)])
    assert st == 200
    p = start()
    _, objs = synced_snapshot(p)
    assert sum(o["kind"] == "Gateway" for o in objs) == n
    p.wait_sub()
    before = len(p.deltas())
    # Slow Gateway requests: the history is compacted while the second
    # page of the re-list is on its way.
    sim.faults([{"path_regex": "/gateways$", "method": "GET",
                 "delay_ms": 1500}])
    since = len(sim.requests())
    p.send("resync")

    def lists():
        return [r for r in sim.requests()[since:]
                if r["path"].endswith("/gateways") and
                "watch=1" not in r["query"]]
    deadline = time.monotonic() + 20
    while not lists():
        assert time.monotonic() < deadline, "no re-list of the Gateways"
        time.sleep(0.05)
    sim.create(configmap("bump"))
    st, _ = sim.ctl.post("/_sim/compact", {})
    assert st == 200
    p.wait_delta("MODIFIED", "Gateway", f"g{n - 1:03d}", timeout=30)
    assert "too old to display a consistent list" in p.log()
    got = [(r["status"], "continue=" in r["query"]) for r in lists()]
    assert got[:4] == [(200, False), (410, True), (200, False),
                       (200, True)], got
    time.sleep(1)
    gone = [d for d in p.deltas()[before:] if d["event"] == "DELETED"]
    assert not gone, gone[:3]

def test_unserved_kind_skipped_then_rechecked(sim, start):
    sim.faults([{"path_regex": "^/apis/cloudflare-gateway-controller.io/v1$",
                 "status": 404}])
    sim.create({"apiVersion": "cloudflare-gateway-controller.io/v1",
                "kind": "CloudflareGatewayParameters",
                "metadata": {"name": "params", "namespace": "default"},
                "spec": {}})
    p = start(env={"CFGW_WATCHER_RECHECK": "1"})
    end, objs = synced_snapshot(p)
    assert end["synced"] is True
    assert not [o for o in objs
                if o["kind"] == "CloudflareGatewayParameters"]
    p.wait_sub()
    time.sleep(2.5)
    log = p.log()
    assert log.count("CloudflareGatewayParameters: not served") == 1, log
    sim.faults([])
    p.wait_delta("ADDED", "CloudflareGatewayParameters", "params", 15)


def test_bad_input_is_survived(sim, start):
    sim.create(configmap("first", MANAGED))
    # The first Gateway list is not JSON; Service watch bytes arrive 7 at a
    # time, split anywhere.
    sim.faults([{"path_regex": "/gateways$", "method": "GET",
                 "invalid_json": True, "count": 1},
                {"path_regex": "/services$", "partial_chunks": True}])
    sim.create(gateway("g"))
    p = start()
    _, objs = synced_snapshot(p)
    assert snap_find(objs, "Gateway", "g")
    assert snap_find(objs, "ConfigMap", "first")
    # The list is decoded as a stream: a cut-off body is a truncated list.
    assert "Gateway: list: truncated list" in p.log()
    p.wait_sub()
    sim.create({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "svc", "namespace": "default"},
                "spec": {"ports": [{"port": 80}]}})
    svc = p.wait_delta("ADDED", "Service", "svc", 20)
    assert svc["obj"]["spec"]["ports"][0]["port"] == 80
    # An object over the 4 MiB event limit is dropped with its name logged;
    # the stream and the watcher go on.
    sim.create(configmap("huge", MANAGED, {"k": "x" * (4 * 1024 * 1024)}))
    sim.create(configmap("after", MANAGED))
    p.wait_delta("ADDED", "ConfigMap", "after", 30)
    assert not [d for d in p.deltas()
                if d["obj"]["metadata"]["name"] == "huge"]
    assert "default/huge" in p.log()
    p.send("ping")
    pong = p.wait(lambda m: m["msg"] == "PONG", 10, "PONG")
    assert pong["payload"]["seq"] == 1


def test_malformed_snapshot_request_exits(sim, start):
    p = start()
    p.send("badsnap")
    ex = p.wait(lambda m: m["msg"] == "EXIT", 15, "EXIT")
    assert ex["payload"]["status"] != 0
    assert "malformed SNAPSHOT_REQ" in p.log()


def test_shutdown_is_prompt(sim, start):
    p = start()
    t0 = time.monotonic()
    p.send("shutdown")
    ex = p.wait(lambda m: m["msg"] == "EXIT", 10, "EXIT")
    assert ex["payload"] == {"status": 0, "signal": 0}
    assert time.monotonic() - t0 < 5
