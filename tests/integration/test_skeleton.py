# SPDX-License-Identifier: Apache-2.0
"""The walking skeleton, end to end: the real cfgwd and its five workers
against the Kubernetes and Cloudflare simulators.  Asserts on what a user
sees: Cloudflare state, Kubernetes objects and their conditions."""
import os
import re
import secrets
import signal
import time
from pathlib import Path

import pytest

import harness
from harness import condition, wait_for

ACCOUNT = "acc-test"
ZONE = "example.com"
TUNNEL_NAME = ("cloudflare-gateway-controller.io/clusters/test/namespaces/"
               "default/gateways/my-gateway")
WORKERS = harness.Cfgwd.WORKERS


def load_examples(token):
    return harness.example_objects(token, ACCOUNT)


class World:
    """Simulators seeded with the account and zone, examples applied."""

    def __init__(self, tmp_path, kubesim, cfsim, token=None):
        self.tmp = tmp_path
        self.kube = kubesim
        self.cf = cfsim
        self.token = token or "tok-" + secrets.token_hex(20)
        st, _ = cfsim.seed({
            "accounts": [{"id": ACCOUNT, "name": "test"}],
            "tokens": [{"token": self.token, "account": ACCOUNT,
                        "status": "active"}],
            "zones": [{"name": ZONE, "account": ACCOUNT}]})
        assert st == 200
        self.gw = None

    def apply_examples(self):
        self.kube.apply_all(load_examples(self.token))

    def start(self, **kw):
        self.gw = harness.Cfgwd(self.tmp, self.kube, self.cf, **kw)
        self.gw.ready()
        return self.gw

    # --- what the user sees ---------------------------------------------
    def tunnels(self):
        return [t for t in self.cf.state()["tunnels"]
                if not t.get("deleted_at")]

    def tunnel(self):
        ts = [t for t in self.tunnels() if t["name"] == TUNNEL_NAME]
        assert len(ts) <= 1, f"duplicate tunnels: {ts}"
        return ts[0] if ts else None

    def records(self):
        return [r for z in self.cf.state()["zones"] for r in z["records"]]

    def cnames(self):
        return {r["name"]: r for r in self.records() if r["type"] == "CNAME"}


@pytest.fixture
def world(tmp_path, kubesim, cfsim):
    w = World(tmp_path, kubesim, cfsim)
    yield w
    if w.gw is not None:
        w.gw.stop()


def converged(w, hosts=("app.example.com",)):
    """True when the full skeleton state holds."""
    t = w.tunnel()
    if t is None:
        return False
    target = f"{t['id']}.cfargotunnel.com"
    cn = w.cnames()
    if sorted(cn) != sorted(hosts):
        return False
    for h in hosts:
        if cn[h]["content"] != target or not cn[h]["proxied"]:
            return False
    gw = w.kube.get("Gateway", "my-gateway")
    prog = condition(gw, "Programmed")
    if not prog or prog["status"] != "True":
        return False
    addrs = gw["status"].get("addresses") or []
    return [a.get("value") for a in addrs] == [target]


def test_walking_skeleton(world):
    w = world
    w.apply_examples()
    gw = w.start()
    wait_for(lambda: converged(w), 30, what="skeleton to converge")

    t = w.tunnel()
    target = f"{t['id']}.cfargotunnel.com"
    assert t["config_src"] == "cloudflare"

    # GatewayClass and Gateway status.
    gc = w.kube.get("GatewayClass", "cloudflare")
    assert condition(gc, "Accepted")["status"] == "True"
    g = w.kube.get("Gateway", "my-gateway")
    assert condition(g, "Accepted")["status"] == "True"
    assert "cloudflare-gateway-controller.io/finalizer" in \
        g["metadata"].get("finalizers", [])

    # Route parent status, for our controller.
    r = w.kube.get("HTTPRoute", "my-route")
    parents = [p for p in r["status"]["parents"] if p["controllerName"] ==
               "cloudflare-gateway-controller.io/controller"]
    assert len(parents) == 1
    conds = {c["type"]: c["status"] for c in parents[0]["conditions"]}
    assert conds["Accepted"] == "True"
    assert conds["ResolvedRefs"] == "True"

    # The tunnel's remotely managed configuration.
    ingress = w.tunnel()["configuration"]["config"]["ingress"]
    assert ingress[0]["hostname"] == "app.example.com"
    assert ingress[0]["service"] == "http://localhost:8080"
    assert ingress[-1] == {"service": "http_status:404"}

    # CNAME: proxied, ttl auto.
    rec = w.cnames()["app.example.com"]
    assert rec["content"] == target and rec["proxied"] and rec["ttl"] == 1

    # Owned objects, with an ownerReference to the Gateway.
    uid = g["metadata"]["uid"]
    sec = w.kube.get("Secret", "gateway-my-gateway")
    assert sec and "TUNNEL_TOKEN" in sec["data"]
    cm = w.kube.get("ConfigMap", "gateway-my-gateway")
    dep = w.kube.get("Deployment", "gateway-my-gateway-primary")
    for o in (sec, cm, dep):
        refs = o["metadata"].get("ownerReferences", [])
        assert any(x["uid"] == uid and x["kind"] == "Gateway"
                   for x in refs), o["metadata"]["name"]
    table = next(iter(cm["data"].values()))
    assert "app.example.com" in table
    pod = dep["spec"]["template"]
    names = [c["name"] for c in pod["spec"]["containers"]]
    assert names == ["cloudflared", "proxy"]
    env = pod["spec"]["containers"][0]["env"]
    tok = [e for e in env if e["name"] == "TUNNEL_TOKEN"][0]
    assert tok["valueFrom"]["secretKeyRef"] == {
        "name": "gateway-my-gateway", "key": "TUNNEL_TOKEN"}
    assert "gateways.cloudflare-gateway-controller.io/tokenHash" in \
        pod["metadata"]["annotations"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True

    # The proxy's session-persistence key: created once, 32 random bytes,
    # mounted read-only into the proxy.
    sk = w.kube.get("Secret", "gateway-my-gateway-session")
    assert sk and len(__import__("base64").b64decode(sk["data"]["key"])) == 32
    assert any(x["uid"] == uid for x in sk["metadata"]["ownerReferences"])
    proxy = pod["spec"]["containers"][1]
    assert "--session-key-file" in proxy["args"]
    assert proxy["volumeMounts"][0]["readOnly"] is True
    vols = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert vols["session-key"]["secret"]["secretName"] == \
        "gateway-my-gateway-session"

    # Removing the hostname deletes the CNAME, and only that.
    w.kube.patch("HTTPRoute", "my-route",
                 {"spec": {"hostnames": ["api.example.com"]}})
    wait_for(lambda: sorted(w.cnames()) == ["api.example.com"], 20,
             what="CNAME to follow the hostname")
    # Reconciling again never rewrites the session key.
    assert w.kube.get("Secret", "gateway-my-gateway-session")["data"] == \
        sk["data"]

    # Deleting the Gateway: CNAMEs, connections and tunnel go, then the
    # finalizer is released.
    w.kube.delete("Gateway", "my-gateway")
    wait_for(lambda: w.kube.get("Gateway", "my-gateway") is None, 30,
             what="Gateway finalizer release")
    assert w.cnames() == {}
    assert w.tunnel() is None
    assert gw.proc.proc.poll() is None


def test_sigusr1_rotates(world):
    w = world
    w.apply_examples()
    gw = w.start()
    wait_for(lambda: converged(w), 30, what="skeleton")

    def snapshot():
        sec = w.kube.get("Secret", "gateway-my-gateway")
        dep = w.kube.get("Deployment", "gateway-my-gateway-primary")
        ann = dep["spec"]["template"]["metadata"]["annotations"]
        return (sec["data"]["TUNNEL_TOKEN"],
                ann["gateways.cloudflare-gateway-controller.io/tokenHash"])
    tok0, hash0 = snapshot()
    gw.proc.signal(signal.SIGUSR1)

    def rotated():
        tok, h = snapshot()
        return tok != tok0 and h != hash0
    wait_for(rotated, 20, what="token rotation")
    assert len(w.tunnels()) == 1


def test_sigterm_leaves_no_process(world):
    w = world
    w.apply_examples()
    gw = w.start()
    pids = gw.worker_pids()
    assert sorted(pids) == sorted(WORKERS)
    t0 = time.monotonic()
    rc = gw.stop(timeout=6)
    assert rc == 0
    assert time.monotonic() - t0 < 5.5
    for p in pids.values():
        assert not Path(f"/proc/{p}").exists() or \
            "Z" in Path(f"/proc/{p}/stat").read_text().split()[2]
    w.gw = None


@pytest.mark.parametrize("victim", WORKERS)
def test_crash_isolation(world, victim):
    w = world
    w.apply_examples()
    gw = w.start()
    before = gw.worker_pids()
    assert sorted(before) == sorted(WORKERS)
    os.kill(before[victim], signal.SIGKILL)
    w.kube.patch("HTTPRoute", "my-route",
                 {"spec": {"hostnames": ["app.example.com",
                                         "www.example.com"]}})

    def back():
        now = gw.worker_pids()
        return len(now) == 5 and now[victim] != before[victim] and now
    after = wait_for(back, 20, what=f"{victim} restart")
    for name in WORKERS:
        if name != victim:
            assert after[name] == before[name], name
    assert re.search(rf"{victim} pid {before[victim]} killed by signal 9",
                     gw.log("cfgwd"))
    wait_for(lambda: converged(w, ("app.example.com", "www.example.com")),
             40, what="convergence after crash")
    assert len(w.tunnels()) == 1


def readable_memory(pid):
    """Yield the bytes of every readable mapping of pid."""
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    with open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if "r" not in perms:
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            if hi - lo > 512 * 1024 * 1024:
                continue
            try:
                mem.seek(lo)
                yield mem.read(hi - lo)
            except (OSError, OverflowError, ValueError):
                continue


def test_token_isolation(world):
    w = world
    w.apply_examples()
    gw = w.start()
    wait_for(lambda: converged(w), 30, what="skeleton")
    token = w.token.encode()
    tunnel_token = __import__("base64").b64decode(
        w.kube.get("Secret", "gateway-my-gateway")["data"]["TUNNEL_TOKEN"])
    pids = gw.worker_pids()
    for name, pid in list(pids.items()) + [("cfgwd", gw.pid)]:
        if name == "cfapi":
            continue
        scanned = 0
        for chunk in readable_memory(pid):
            scanned += len(chunk)
            assert token not in chunk, f"API token in {name} memory"
            if name == "reconciler":
                assert tunnel_token not in chunk, \
                    "tunnel token in reconciler memory"
        # An unreadable /proc/<pid>/mem must not pass as "not found".
        assert scanned > 1024 * 1024, f"scanned only {scanned} bytes of {name}"
        for f in ("environ", "cmdline"):
            assert token not in Path(f"/proc/{pid}/{f}").read_bytes()
    if "cfapi" in pids:
        p = pids["cfapi"]
        assert token not in Path(f"/proc/{p}/environ").read_bytes()
        assert token not in Path(f"/proc/{p}/cmdline").read_bytes()
    for f in gw.logdir.iterdir():
        assert token not in f.read_bytes(), f"API token in {f.name}"


def test_bad_credentials_secret(world):
    w = world
    objs = load_examples(w.token)
    for o in objs:
        if o["kind"] == "GatewayClass":
            o["spec"]["parametersRef"]["name"] = "no-such-secret"
    w.kube.apply_all(objs)
    w.start()

    def rejected():
        c = condition(w.kube.get("GatewayClass", "cloudflare"), "Accepted")
        return c and c["status"] == "False" and c
    c = wait_for(rejected, 20, what="Accepted=False")
    assert c["reason"] == "InvalidParameters"
    assert w.tunnel() is None

    # A Secret that lacks a key: still InvalidParameters, naming the key.
    w.kube.create(harness.secret("no-such-secret", "default",
                                 {"CLOUDFLARE_API_TOKEN": w.token}))

    def names_key():
        c = condition(w.kube.get("GatewayClass", "cloudflare"), "Accepted")
        return c and "CLOUDFLARE_ACCOUNT_ID" in c.get("message", "")
    wait_for(names_key, 20, what="message naming the missing key")
    assert w.gw.proc.proc.poll() is None


def test_cloudflare_faults_are_retried(world):
    w = world
    w.cf.faults({"error_rate": 0.3, "error_status": 500, "rate_429": 0.1,
                 "retry_after": 1, "seed": 7})
    w.apply_examples()
    w.start()
    wait_for(lambda: converged(w), 60, what="convergence despite faults")
    assert len(w.tunnels()) == 1
    reqs = w.cf.requests()
    # Injected 429s are marked as faults; a real one means we overran.
    assert not [r for r in reqs if r.get("over_limit") and not r.get("fault")]
    assert any(r.get("fault") for r in reqs), "no fault was injected"


def test_invalid_json_from_kubernetes(world):
    w = world
    w.kube.faults([{"method": "GET", "path_regex": "httproutes",
                    "invalid_json": True, "count": 3}])
    w.apply_examples()
    gw = w.start()
    wait_for(lambda: converged(w), 40, what="convergence after bad JSON")
    assert gw.proc.proc.poll() is None


def test_rotation_request_in_the_same_second(world):
    """A request stamped later in the same second as the last rotation
    (lastRotatedAt has whole seconds) still rotates: timestamps are
    compared as times, not strings."""
    w = world
    w.apply_examples()
    w.start()
    wait_for(lambda: converged(w), 30, what="skeleton")

    def cgs_rotation():
        c = w.kube.get("CloudflareGatewayStatus", "my-gateway")
        return (((c or {}).get("status") or {}).get("tunnel") or {}).get(
            "token", {})
    last = wait_for(lambda: cgs_rotation().get("rotation", {}).get(
        "lastRotatedAt"), 20, what="lastRotatedAt")
    assert last.endswith("Z") and "." not in last
    h0 = cgs_rotation()["hash"]
    want = last[:-1] + ".5Z"
    w.kube.patch("Gateway", "my-gateway", {"metadata": {"annotations": {
        "gateways.cloudflare-gateway-controller.io/rotateTokenRequestedAt":
        want}}})
    wait_for(lambda: cgs_rotation().get("hash") not in (None, h0), 20,
             what="rotation for a same-second request")
    wait_for(lambda: cgs_rotation().get("rotation", {}).get(
        "lastHandledRotateAt") == want, 20, what="lastHandledRotateAt")
