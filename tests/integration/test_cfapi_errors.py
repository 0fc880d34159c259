# SPDX-License-Identifier: Apache-2.0
"""Every cfapi endpoint's typed results: success, not_found, conflict,
validation and auth, as far as the endpoint can meet each (docs/ipc.md);
and the zone cache is dropped when Cloudflare stops routing a zone id
(7003)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402

pytest.importorskip("zmq")
from test_cfapi import ACCOUNT, SEED, Env  # noqa: E402

BAD = {"namespace": "cfgw", "name": "disabled"}
GONE = "0123456789abcdef0123456789abcdef"
REC = {"type": "CNAME", "name": "www.example.com",
       "content": "t.cfargotunnel.com", "proxied": True, "ttl": 1,
       "comment": "managed by cfgw: test/apps/web"}


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path).start()
    e.kube.create(harness.secret("disabled", "cfgw", {
        "CLOUDFLARE_API_TOKEN": "disabled-token",
        "CLOUDFLARE_ACCOUNT_ID": ACCOUNT}))
    yield e
    e.stop()


def test_tunnel_endpoints(env):
    t = env.ok("tunnel.ensure", name="matrix")
    assert env.ok("tunnel.get", id=t["id"])["name"] == "matrix"
    env.err("tunnel.get", "not_found", id=GONE)
    env.err("tunnel.get", "validation", id="../../zones")
    env.err("tunnel.get", "auth", cred=BAD, id=t["id"])
    env.err("tunnel.ensure", "validation")
    env.err("tunnel.ensure", "auth", cred=BAD, name="matrix")
    assert [x["id"] for x in env.ok("tunnel.list", name="matrix")] == \
        [t["id"]]
    env.err("tunnel.list", "auth", cred=BAD)
    cfg = {"ingress": [{"hostname": "a.example.com",
                        "service": "http://localhost:8080"},
                       {"service": "http_status:404"}]}
    assert env.ok("tunnel.config", id=t["id"], config=cfg)["changed"]
    env.err("tunnel.config", "not_found", id=GONE, config=cfg)
    e = env.err("tunnel.config", "validation", id=t["id"], config={
        "ingress": [{"hostname": "a.example.com", "service": "ftp://x"}]})
    assert 1055 in e["codes"]
    assert "connectors" in env.ok("tunnel.connections", id=t["id"])
    env.err("tunnel.connections", "not_found", id=GONE)
    env.err("tunnel.connections", "auth", cred=BAD, id=t["id"])
    env.err("tunnel.delete", "auth", cred=BAD, id=t["id"])
    env.ok("tunnel.delete", id=t["id"])
    env.ok("tunnel.delete", id=t["id"])        # 404: already gone


def test_dns_endpoints(env):
    z = env.ok("zone.resolve", hostname="www.example.com")
    zid = z["id"]
    env.err("zone.resolve", "auth", cred=BAD, hostname="www.example.com")
    assert {x["name"] for x in env.ok("zone.list")} == \
        {"example.com", "example.org"}
    env.err("zone.list", "auth", cred=BAD)
    r = env.ok("dns.create", zone_id=zid, record=REC)
    env.err("dns.create", "not_found", zone_id=GONE, record=REC)
    e = env.err("dns.create", "validation", zone_id=zid,
                record=dict(REC, name="bad", type="NOPE"))
    assert e["codes"]
    env.err("dns.create", "auth", cred=BAD, zone_id=zid, record=REC)
    env.ok("dns.create", zone_id=zid, record=dict(
        REC, name="a.example.com", type="A", content="192.0.2.1",
        proxied=False))
    e = env.err("dns.create", "conflict", zone_id=zid,
                record=dict(REC, name="a.example.com"))
    assert 81053 in e["codes"]
    # PUT and PATCH
    u = env.ok("dns.update", zone_id=zid, id=r["id"],
               record=dict(REC, content="u.cfargotunnel.com"))
    assert u["content"] == "u.cfargotunnel.com"
    env.err("dns.update", "not_found", zone_id=zid, id=GONE, record=REC)
    env.err("dns.update", "validation", zone_id=zid, id=r["id"],
            record=dict(REC, content="not a host name!"))
    env.err("dns.update", "auth", cred=BAD, zone_id=zid, id=r["id"],
            record=REC)
    p = env.ok("dns.patch", zone_id=zid, id=r["id"],
               record={"comment": "managed by cfgw: test/apps/other"})
    assert p["comment"].endswith("other") and p["content"] == \
        "u.cfargotunnel.com"
    env.err("dns.patch", "not_found", zone_id=zid, id=GONE,
            record={"comment": "x"})
    env.err("dns.patch", "validation", zone_id=zid, id=r["id"],
            record={"ttl": 5})
    assert [x["id"] for x in env.ok("dns.list", zone_id=zid, filters={
        "name.exact": "www.example.com"})] == [r["id"]]
    env.err("dns.list", "not_found", zone_id=GONE)
    env.err("dns.list", "validation", zone_id=zid, filters={"bogus": "1"})
    env.err("dns.list", "auth", cred=BAD, zone_id=zid)
    b = env.ok("dns.batch", zone_id=zid, deletes=[{"id": r["id"]}],
               posts=[dict(REC, name="b.example.com")])
    assert b["errors"] == [] and b["posts"][0]["name"] == "b.example.com"
    env.err("dns.batch", "validation", zone_id=zid, posts={"no": "list"})
    # A batch answers per operation: the token's refusal is each one's.
    b2 = env.ok("dns.batch", cred=BAD, zone_id=zid,
                posts=[dict(REC, name="c.example.com")])
    assert b2["posts"] == [None]
    assert [(x["op"], x["index"], x["error"]["kind"])
            for x in b2["errors"]] == [("posts", 0, "auth")]
    env.ok("dns.delete", zone_id=zid, id=b["posts"][0]["id"])
    env.ok("dns.delete", zone_id=zid, id=b["posts"][0]["id"])  # gone: ok
    env.err("dns.delete", "auth", cred=BAD, zone_id=zid, id=GONE)


def test_zone_cache_dropped_when_zone_is_gone(env):
    """A cached zone id that Cloudflare no longer routes (the zone was
    deleted and added again: new id) is forgotten at the first 7003."""
    old = env.ok("zone.resolve", hostname="www.example.com")["id"]
    assert env.ok("zone.resolve", hostname="www.example.com")["id"] == old
    env.cf.ctl.post("/_sim/reset", {"empty": True})
    seed = dict(SEED, zones=[{"id": "f" * 32, "name": "example.com",
                              "account": ACCOUNT}])
    env.cf.seed(seed)
    env.cf.ctl.call("DELETE", "/_sim/requests")
    # Cached: no request, the stale id.
    assert env.ok("zone.resolve", hostname="www.example.com")["id"] == old
    assert env.cf.requests() == []
    env.err("dns.list", "not_found", zone_id=old)
    assert env.ok("zone.resolve", hostname="www.example.com")["id"] == \
        "f" * 32
