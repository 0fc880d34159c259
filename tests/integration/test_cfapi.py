# SPDX-License-Identifier: Apache-2.0
"""The real cfapi worker against cfsim and kubesim, driven by fakesup.

Each test starts the simulators, a credential Secret, and cfapi under the
fake supervisor, then sends CF_REQUEST as the reconciler would.
"""
import base64
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402

zmq = pytest.importorskip("zmq")
from fakesup import FakeSup, MSG  # noqa: E402

TOKEN = "cfgw-test-TOKEN-0123456789abcdef"
ACCOUNT = "acc1"
CRED = {"namespace": "cfgw", "name": "cf-creds"}
SEED = {
    "accounts": [{"id": ACCOUNT, "name": "Acme"}],
    "tokens": [{"token": TOKEN, "account": ACCOUNT, "status": "active"},
               {"token": "disabled-token", "account": ACCOUNT,
                "status": "disabled"}],
    "zones": [{"name": "example.com", "account": ACCOUNT},
              {"name": "example.org", "account": ACCOUNT}],
    "tunnels": [{"name": "made-by-the-reference", "account": ACCOUNT,
                 "config_src": "local"}],
}


class Env:
    def __init__(self, tmp_path, config=None, seed=SEED):
        if not harness.binpath("cfapi").exists():
            pytest.skip("cfapi not built")
        self.dir = tmp_path
        self.cf = harness.start_cfsim(tmp_path, seed)
        self.kube = harness.start_kubesim(tmp_path)
        self.kube.create({"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": "cfgw"}})
        self.kube.create({"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": "apps"}})
        self.kube.create(harness.secret(CRED["name"], CRED["namespace"], {
            "CLOUDFLARE_API_TOKEN": TOKEN + "\n",
            "CLOUDFLARE_ACCOUNT_ID": ACCOUNT}))
        kc = harness.write_kubeconfig(tmp_path / "kubeconfig", self.kube.url)
        os.chmod(kc, 0o644)
        cfg = {"cloudflare_api_url": self.cf.api_url, "kubeconfig": str(kc)}
        cfg.update(config or {})
        self.sup = FakeSup(tmp_path, cfg)
        self.replies = []
        self.worker = None
        self.client = None

    def start(self, extra_env=None, user=None, group=None):
        self.worker = self.sup.start("cfapi", extra_env, user=user,
                                     group=group)
        self.client = self.sup.client("reconciler", "cfapi")
        return self

    def call(self, op, timeout=60, cred=CRED, **fields):
        req = {"op": op, "cred": cred}
        req.update(fields)
        typ, body = self.client.request(MSG["CF_REQUEST"], req, timeout)
        assert typ == MSG["CF_REPLY"]
        self.replies.append(body)
        return body

    def ok(self, op, **fields):
        r = self.call(op, **fields)
        assert r["ok"], (op, r)
        return r["result"]

    def err(self, op, kind, **fields):
        r = self.call(op, **fields)
        assert not r["ok"], (op, r)
        assert r["error"]["kind"] == kind, (op, r)
        return r["error"]

    def cf_requests(self, method=None, path_part=None):
        out = []
        for r in self.cf.requests():
            if method and r["method"] != method:
                continue
            if path_part and path_part not in r["path"]:
                continue
            out.append(r)
        return out

    def records(self, zone_id):
        """The zone's records, straight from the Cloudflare API."""
        http = harness.HTTP(self.cf.api_url,
                            {"Authorization": "Bearer " + TOKEN})
        st, body = http.get(f"/zones/{zone_id}/dns_records?per_page=5000")
        assert st == 200, body
        self.cf.ctl.call("DELETE", "/_sim/requests")
        return body["result"]

    def stop(self):
        self.sup.stop()
        self.cf.stop()
        self.kube.stop()


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path).start()
    yield e
    e.stop()


def test_tunnel_lifecycle(env):
    assert env.ok("cred.verify") == {"account_id": ACCOUNT,
                                     "status": "active"}
    name = "cloudflare-gateway-controller.io/clusters/test/namespaces/" \
           "apps/gateways/web"
    t = env.ok("tunnel.ensure", name=name)
    assert t["created"] is True and t["name"] == name
    again = env.ok("tunnel.ensure", name=name)
    assert again == {"id": t["id"], "name": name, "created": False,
                     "config_src": "cloudflare"}
    posts = env.cf_requests("POST", "/cfd_tunnel")
    assert len(posts) == 1
    assert posts[0]["body"]["config_src"] == "cloudflare"
    assert posts[0]["user_agent"].startswith("cfgw/")
    assert "cfapi" in posts[0]["user_agent"]

    got = env.ok("tunnel.get", id=t["id"])
    assert got["id"] == t["id"] and got["name"] == name
    ids = [x["id"] for x in env.ok("tunnel.list")]
    assert t["id"] in ids
    assert [x["id"] for x in env.ok("tunnel.list", name=name)] == [t["id"]]

    cfg = {"ingress": [{"hostname": "a.example.com",
                        "service": "http://localhost:8080"},
                       {"service": "http_status:404"}]}
    r1 = env.ok("tunnel.config", id=t["id"], config=cfg)
    assert r1["changed"] is True
    puts = len(env.cf_requests("PUT", "/configurations"))
    r2 = env.ok("tunnel.config", id=t["id"], config=cfg)
    assert r2 == {"version": r1["version"], "changed": False}
    assert len(env.cf_requests("PUT", "/configurations")) == puts
    cfg["ingress"].insert(0, {"hostname": "b.example.com",
                              "service": "http://localhost:8080"})
    r3 = env.ok("tunnel.config", id=t["id"], config=cfg)
    assert r3["changed"] is True and r3["version"] > r1["version"]
    st = env.cf.state()
    tun = [x for x in st["tunnels"] if x["id"] == t["id"]][0]
    assert tun["configuration"]["config"]["ingress"][0]["hostname"] == \
        "b.example.com"

    env.cf.ctl.post("/_sim/connect", {"tunnel_id": t["id"]})
    conns = env.ok("tunnel.connections", id=t["id"])["connectors"]
    assert len(conns) == 1 and conns[0]["config_version"] == r3["version"]

    assert env.ok("tunnel.delete", id=t["id"]) == {}
    env.err("tunnel.get", "not_found", id=t["id"])
    assert env.ok("tunnel.delete", id=t["id"]) == {}   # 404 = success
    # The connections were cleaned before the tunnel was deleted.
    dels = [r["path"] for r in env.cf_requests("DELETE")]
    assert dels[0].endswith("/connections")


def test_adopt_existing_tunnel(env):
    t = env.ok("tunnel.ensure", name="made-by-the-reference")
    assert t["created"] is False and t["config_src"] == "local"
    assert env.cf_requests("POST") == []


def test_token_secret_and_rotate(env):
    t = env.ok("tunnel.ensure", name="tok-test")
    owner = {"apiVersion": "gateway.networking.k8s.io/v1",
             "kind": "Gateway", "name": "web", "uid": "u-1",
             "controller": True}
    labels = {"app.kubernetes.io/managed-by": "cfgw"}
    r = env.ok("tunnel.token_secret", id=t["id"], owner=owner,
               labels=labels,
               secret={"namespace": "apps", "name": "gateway-web"})
    sec = env.kube.get("Secret", "gateway-web", "apps")
    tok = base64.b64decode(sec["data"]["TUNNEL_TOKEN"])
    assert hashlib.sha256(tok).hexdigest() == r["token_hash"]
    assert set(r) == {"token_hash"}
    assert sec["metadata"]["labels"] == labels
    assert sec["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    sim_t = [x for x in env.cf.state()["tunnels"] if x["id"] == t["id"]][0]
    assert sim_t["token_sha256"] == r["token_hash"]

    # Same token again: Secret updated in place, same hash.
    r2 = env.ok("tunnel.token_secret", id=t["id"], owner=owner,
                labels=labels,
                secret={"namespace": "apps", "name": "gateway-web"})
    assert r2 == r

    # The reconciler names the Secret's resourceVersion: unchanged since
    # our write, so no Cloudflare call at all.
    rv = env.kube.get("Secret", "gateway-web", "apps")["metadata"][
        "resourceVersion"]
    n = len(env.cf.requests())
    r3 = env.ok("tunnel.token_secret", id=t["id"], owner=owner,
                labels=labels, secret={"namespace": "apps",
                                       "name": "gateway-web",
                                       "resource_version": rv})
    assert r3 == r and len(env.cf.requests()) == n
    # A Secret changed behind our back (other rv): fetched and rewritten.
    env.kube.patch("Secret", "gateway-web", {"data": {
        "TUNNEL_TOKEN": base64.b64encode(b"garbage").decode()}}, ns="apps")
    rv2 = env.kube.get("Secret", "gateway-web", "apps")["metadata"][
        "resourceVersion"]
    r4 = env.ok("tunnel.token_secret", id=t["id"], owner=owner,
                labels=labels, secret={"namespace": "apps",
                                       "name": "gateway-web",
                                       "resource_version": rv2})
    assert r4 == r and len(env.cf.requests()) == n + 1
    sec = env.kube.get("Secret", "gateway-web", "apps")
    assert hashlib.sha256(base64.b64decode(
        sec["data"]["TUNNEL_TOKEN"])).hexdigest() == r["token_hash"]

    old_secret = sim_t["secret_sha256"]
    rot = env.ok("tunnel.rotate", id=t["id"], owner=owner, labels=labels,
                 secret={"namespace": "apps", "name": "gateway-web"})
    assert rot["token_hash"] != r["token_hash"]
    sim_t = [x for x in env.cf.state()["tunnels"] if x["id"] == t["id"]][0]
    assert sim_t["secret_sha256"] != old_secret
    assert sim_t["token_sha256"] == rot["token_hash"]
    patch = env.cf_requests("PATCH", "/cfd_tunnel/")[-1]
    assert len(base64.b64decode(patch["body"]["tunnel_secret"])) == 32
    sec = env.kube.get("Secret", "gateway-web", "apps")
    assert hashlib.sha256(base64.b64decode(
        sec["data"]["TUNNEL_TOKEN"])).hexdigest() == rot["token_hash"]


def test_zones_and_records(env):
    z = env.ok("zone.resolve", hostname="a.b.Example.COM")
    assert z["name"] == "example.com"
    n = len(env.cf_requests("GET", "/zones"))
    assert env.ok("zone.resolve", hostname="c.b.example.com") == z
    # b.example.com was cached as "not a zone", example.com as a zone.
    assert len(env.cf_requests("GET", "/zones")) == n + 1
    e = env.err("zone.resolve", "not_found", hostname="x.nowhere.net")
    assert "x.nowhere.net" in e["message"]
    env.err("zone.resolve", "validation", hostname="bad host")
    names = sorted(x["name"] for x in env.ok("zone.list"))
    assert names == ["example.com", "example.org"]

    rec = {"type": "CNAME", "name": "app.example.com",
           "content": "t1.cfargotunnel.com", "proxied": True, "ttl": 1,
           "comment": "managed by cfgw: test/apps/web"}
    c = env.ok("dns.create", zone_id=z["id"], record=rec)
    assert c["name"] == "app.example.com" and c["id"]
    lst = env.ok("dns.list", zone_id=z["id"],
                 filters={"type": "CNAME",
                          "comment.exact": rec["comment"]})
    assert [x["id"] for x in lst] == [c["id"]]
    q = env.cf_requests("GET", "/dns_records")[-1]["query"]
    assert q["per_page"] == "5000"
    p = env.ok("dns.patch", zone_id=z["id"], id=c["id"],
               record={"content": "t2.cfargotunnel.com"})
    assert p["content"] == "t2.cfargotunnel.com"
    u = env.ok("dns.update", zone_id=z["id"], id=c["id"],
               record=dict(rec, content="t3.cfargotunnel.com"))
    assert u["content"] == "t3.cfargotunnel.com"
    e = env.err("dns.create", "conflict", zone_id=z["id"],
                record=dict(rec, content="other.example.net",
                            comment="someone else"))
    assert 81053 in e["codes"]
    assert env.ok("dns.delete", zone_id=z["id"], id=c["id"]) == {}
    assert env.ok("dns.delete", zone_id=z["id"], id=c["id"]) == {}
    env.err("dns.list", "validation", zone_id=z["id"],
            filters={"evil&x": "1"})
    env.err("dns.patch", "validation", zone_id="../x", id="y", record={})


def test_batch_chunking_and_fallback(env):
    z = env.ok("zone.resolve", hostname="example.com")
    posts = [{"type": "CNAME", "name": f"h{i}.example.com",
              "content": "t.cfargotunnel.com", "proxied": True, "ttl": 1,
              "comment": "managed by cfgw: test/apps/web"}
             for i in range(450)]
    r = env.ok("dns.batch", zone_id=z["id"], posts=posts)
    assert r["errors"] == []
    assert len(r["posts"]) == 450 and all(x["id"] for x in r["posts"])
    batches = env.cf_requests("POST", "/dns_records/batch")
    sizes = [len(b["body"]["posts"]) for b in batches]
    assert sizes == [200, 200, 50]
    recs = env.records(z["id"])
    assert len([x for x in recs if x["type"] == "CNAME"]) == 450

    # A failing batch is replayed one operation at a time, and a foreign
    # record's conflict is reported for that operation only.
    env.cf.faults({"rules": [{"method": "POST",
                              "path_regex": "dns_records/batch$",
                              "status": 500, "count": 1}]})
    ids = [x["id"] for x in r["posts"][:3]]
    more = [dict(posts[0], name="new1.example.com"),
            dict(posts[0], name="h5.example.com",
                 content="elsewhere.example.net", comment="hand made")]
    r2 = env.ok("dns.batch", zone_id=z["id"],
                deletes=[{"id": i} for i in ids], posts=more)
    assert [x["id"] for x in r2["deletes"]] == ids
    assert r2["posts"][0]["name"] == "new1.example.com"
    assert r2["posts"][1] is None
    assert len(r2["errors"]) == 1
    assert r2["errors"][0]["op"] == "posts"
    assert r2["errors"][0]["index"] == 1
    assert r2["errors"][0]["error"]["kind"] == "conflict"


def test_lost_create_reply_is_not_duplicated(env):
    env.cf.faults({"rules": [{"method": "POST", "path_regex":
                              "/cfd_tunnel$", "status": 502, "count": 1,
                              "after_commit": True}]})
    t = env.ok("tunnel.ensure", name="lost-reply")
    live = [x for x in env.cf.state()["tunnels"]
            if x["name"] == "lost-reply" and not x.get("deleted_at")]
    assert len(live) == 1 and live[0]["id"] == t["id"]
    assert len(env.cf_requests("POST", "/cfd_tunnel")) == 1


def test_failed_create_is_retried_after_looking(env):
    # A 500 before anything was created: cfapi looks, finds nothing, and
    # only then posts again.
    env.cf.faults({"rules": [{"method": "POST", "path_regex":
                              "/cfd_tunnel$", "status": 500, "count": 1}]})
    t = env.ok("tunnel.ensure", name="retry-create")
    assert t["created"] is True
    reqs = [(r["method"], r["status"]) for r in env.cf_requests()
            if "/cfd_tunnel" in r["path"]]
    assert reqs == [("GET", 200), ("POST", 500), ("GET", 200),
                    ("POST", 200)], reqs
    z = env.ok("zone.resolve", hostname="example.com")
    env.cf.faults({"rules": [{"method": "POST", "path_regex":
                              "/dns_records$", "status": 502, "count": 1,
                              "after_commit": True}]})
    rec = {"type": "CNAME", "name": "lost.example.com",
           "content": "t.cfargotunnel.com", "proxied": True, "ttl": 1,
           "comment": "managed by cfgw: test/apps/web"}
    c = env.ok("dns.create", zone_id=z["id"], record=rec)
    assert c["name"] == "lost.example.com"
    assert len([r for r in env.records(z["id"])
                if r["name"] == "lost.example.com"]) == 1


def test_retry_on_5xx(env):
    env.cf.faults({"rules": [{"method": "GET", "path_regex": "/zones$",
                              "status": 503, "count": 2}]})
    assert env.ok("zone.list")
    assert len(env.cf_requests("GET", "/zones")) == 3


def test_credential_errors(env):
    e = env.err("cred.verify", "credentials",
                cred={"namespace": "cfgw", "name": "missing"})
    assert "cfgw/missing" in e["message"] and "not found" in e["message"]
    env.kube.create(harness.secret("nokey", "cfgw",
                                   {"CLOUDFLARE_ACCOUNT_ID": ACCOUNT}))
    e = env.err("cred.verify", "credentials",
                cred={"namespace": "cfgw", "name": "nokey"})
    assert "CLOUDFLARE_API_TOKEN" in e["message"]
    env.kube.create(harness.secret("noacct", "cfgw",
                                   {"CLOUDFLARE_API_TOKEN": TOKEN}))
    e = env.err("cred.verify", "credentials",
                cred={"namespace": "cfgw", "name": "noacct"})
    assert "CLOUDFLARE_ACCOUNT_ID" in e["message"]
    env.kube.create(harness.secret("bad", "cfgw", {
        "CLOUDFLARE_API_TOKEN": "disabled-token",
        "CLOUDFLARE_ACCOUNT_ID": ACCOUNT}))
    env.err("cred.verify", "auth", cred={"namespace": "cfgw", "name": "bad"})
    env.err("cred.verify", "validation", cred={"namespace": "cfgw"})
    env.err("no.such.op", "validation")

    # A new resourceVersion makes cfapi re-read the Secret.
    env.kube.patch("Secret", "bad", {"data": {
        "CLOUDFLARE_API_TOKEN": base64.b64encode(TOKEN.encode()).decode()}},
        ns="cfgw")
    rv = env.kube.get("Secret", "bad", "cfgw")["metadata"]["resourceVersion"]
    assert env.ok("cred.verify", cred={"namespace": "cfgw", "name": "bad"},
                  resource_version=rv)["status"] == "active"


def test_token_never_leaks(env):
    t = env.ok("tunnel.ensure", name="leak-test")
    env.ok("tunnel.token_secret", id=t["id"],
           secret={"namespace": "apps", "name": "gw-leak"})
    env.ok("tunnel.rotate", id=t["id"],
           secret={"namespace": "apps", "name": "gw-leak"})
    env.err("cred.verify", "credentials",
            cred={"namespace": "cfgw", "name": "missing"})
    tunnel_tok = base64.b64decode(env.kube.get(
        "Secret", "gw-leak", "apps")["data"]["TUNNEL_TOKEN"]).decode()
    env.sup.stop()
    text = env.worker.logtext()
    assert "cfapi" in text and "ready" in text
    secrets = [TOKEN, base64.b64encode(TOKEN.encode()).decode(),
               tunnel_tok, base64.b64encode(tunnel_tok.encode()).decode()]
    blob = repr(env.replies)
    for s in secrets:
        assert s not in text
        assert s not in blob
    # The binary carries no literal token either (belt and braces).
    assert TOKEN.encode() not in harness.binpath("cfapi").read_bytes()


def test_undumpable(tmp_path, monkeypatch):
    """cfapi runs undumpable: /proc/<pid>/environ belongs to root although
    the process runs as an unprivileged uid, and that same uid cannot read
    it (it could if cfapi were dumpable, as the control process shows)."""
    if os.getuid() != 0:
        pytest.skip("needs root to start cfapi under another uid")
    base = 40000
    uid = base + 3          # PROC_CFAPI
    # pytest's tmp_path sits under a 0700 directory the uid cannot cross.
    work = Path(tempfile.mkdtemp(prefix="cfgw-h7-", dir="/tmp"))
    os.chmod(work, 0o755)
    # The checkout may sit under a 0700 home (e.g. /root): run a copy of
    # the binary from a directory the uid can reach.
    lx = work / "libexec"
    lx.mkdir()
    shutil.copy2(harness.binpath("cfapi"), lx / "cfapi")
    os.chmod(lx / "cfapi", 0o755)
    monkeypatch.setenv("CFGW_LIBEXEC", str(lx))
    e = Env(work)
    try:
        for d in (e.sup.runtime, e.sup.logdir):
            os.chown(d, uid, base)
        # Exec'd directly as the uid (no set*uid inside, which would make
        # it undumpable by itself): only PR_SET_DUMPABLE can explain it.
        e.start(user=uid, group=base)
        pid = e.worker.pid
        st_status = [ln for ln in open(f"/proc/{pid}/status")
                     if ln.startswith("Uid:")][0].split()
        assert int(st_status[1]) == uid          # really runs as uid
        # ... but undumpable: its per-process files belong to root.
        assert os.stat(f"/proc/{pid}/environ").st_uid == 0
        r = subprocess.run(["/bin/cat", f"/proc/{pid}/environ"], user=uid,
                           group=base, capture_output=True)
        assert r.returncode != 0
        assert b"Permission denied" in r.stderr
        # Still works as a broker.
        assert e.ok("zone.list")
        # Control: a dumpable process of the same uid is readable.
        p = subprocess.Popen(["/bin/sleep", "30"], user=uid, group=base)
        try:
            time.sleep(0.2)
            assert os.stat(f"/proc/{p.pid}/environ").st_uid == uid
            r = subprocess.run(["/bin/cat", f"/proc/{p.pid}/environ"],
                               user=uid, group=base, capture_output=True)
            assert r.returncode == 0
        finally:
            p.kill()
            p.wait()
    finally:
        e.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_budget_never_exceeded(tmp_path):
    """With the simulator's limit far below our budget, cfapi learns it
    from Ratelimit-Policy/Ratelimit and never goes over."""
    e = Env(tmp_path).start()
    try:
        e.cf.ctl.post("/_sim/limits", {"limit": 12, "window": 6})
        t0 = time.monotonic()
        for i in range(24):
            r = e.call("tunnel.list")
            assert r["ok"] or r["error"]["kind"] == "rate_limited", r
        elapsed = time.monotonic() - t0
        reqs = e.cf.requests()
        assert len(reqs) >= 12
        assert not [r for r in reqs if r.get("over_limit")], \
            "cfapi exceeded the API rate limit"
        assert not [r for r in reqs if r["status"] == 429]
        # 24 calls at <= 12 per 6 s cannot finish in under ~6 s.
        assert elapsed > 5
    finally:
        e.stop()


def test_priority_order(env):
    """Queued high-priority work overtakes queued low-priority work."""
    env.cf.faults({"latency_ms": 300})
    lows = [env.client.send(MSG["CF_REQUEST"], {
        "op": "tunnel.list", "cred": CRED, "priority": "low"})
        for _ in range(4)]
    high = env.client.send(MSG["CF_REQUEST"], {
        "op": "zone.list", "cred": CRED, "priority": "high"})
    order = [env.client.recv(30)[1] for _ in range(5)]
    assert order.index(high) <= 1, order
    assert order[-1] in lows


def test_pings_answered_while_waiting(tmp_path):
    """A request stuck in Cloudflare latency does not stop the worker
    from answering the supervisor's pings."""
    e = Env(tmp_path).start()
    try:
        e.cf.faults({"latency_ms": 3000})
        rid = e.client.send(MSG["CF_REQUEST"], {"op": "zone.list",
                                                "cred": CRED})
        time.sleep(0.5)
        t0 = time.monotonic()
        assert e.worker.ping(42, timeout=2)["seq"] == 42
        assert time.monotonic() - t0 < 2
        typ, r, body = e.client.recv(30)
        assert r == rid and body["ok"]
    finally:
        e.stop()
