# SPDX-License-Identifier: Apache-2.0
"""dnsworker + cfapi (both real) against cfsim and kubesim: DNS_SYNC and
DNS_CLEANUP as the reconciler sends them, ownership and conflicts, and
the cost of an idle resync."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402

zmq = pytest.importorskip("zmq")
from fakesup import MSG  # noqa: E402
from test_cfapi import CRED, TOKEN, Env  # noqa: E402

OWNER = "test/apps/web"
OTHER = "test/apps/api"
TARGET = "6f1e0000-0000-4000-8000-000000000001.cfargotunnel.com"
MINE = "managed by cfgw: " + OWNER

SEED = {
    "accounts": [{"id": "acc1", "name": "Acme"}],
    "tokens": [{"token": TOKEN, "account": "acc1", "status": "active"}],
    "zones": [
        {"name": "example.com", "account": "acc1", "records": [
            {"type": "CNAME", "name": "foreign.example.com",
             "content": "elsewhere.example.net", "proxied": False},
            {"type": "A", "name": "a-rec.example.com",
             "content": "192.0.2.1"},
            {"type": "CNAME", "name": "legacy.example.com",
             "content": TARGET, "proxied": True},
            {"type": "CNAME", "name": "stale.example.com",
             "content": TARGET, "proxied": True, "comment": MINE},
        ]},
        {"name": "example.org", "account": "acc1"},
    ],
}


class DnsEnv(Env):
    def __init__(self, tmp_path):
        super().__init__(tmp_path, seed=SEED)
        self.start()
        self.sup.start("dnsworker")
        self.dns = self.sup.client("reconciler", "dnsworker")

    def sync(self, hosts, zones=None, owner=OWNER, target=TARGET,
             cleanup=False):
        body = {"gateway": "apps/web", "cred": CRED, "target": target,
                "owner": owner}
        if not cleanup:
            body["zones"] = zones
            body["hostnames"] = [{"hostname": h, "route": "HTTPRoute/apps/r"}
                                 for h in hosts]
        typ, r = self.dns.request(MSG["DNS_CLEANUP" if cleanup else
                                      "DNS_SYNC"], body, timeout=120)
        assert typ == MSG["DNS_RESULT"]
        assert r["gateway"] == "apps/web"
        return r

    def all_records(self):
        out = {}
        for z in ("example.com", "example.org"):
            zid = self.ok("zone.resolve", hostname=z)["id"]
            for r in self.records(zid):
                out[r["name"]] = r
        return out

    def writes(self):
        return [r for r in self.cf.requests()
                if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]


@pytest.fixture
def denv(tmp_path):
    e = DnsEnv(tmp_path)
    yield e
    e.stop()


def test_sync_ownership_and_idle(denv):
    hosts = ["app.example.com", "api.example.org", "foreign.example.com",
             "a-rec.example.com", "legacy.example.com", "x.nozone.net"]
    r = denv.sync(hosts)
    assert r["error"] is None, r
    assert sorted(r["applied"]) == ["api.example.org", "app.example.com",
                                    "legacy.example.com"]
    assert r["skipped"] == ["x.nozone.net"]
    conflicts = {c["hostname"]: c["message"] for c in r["conflicts"]}
    assert set(conflicts) == {"foreign.example.com", "a-rec.example.com"}
    recs = denv.all_records()
    for h in ("app.example.com", "api.example.org", "legacy.example.com"):
        assert recs[h]["content"] == TARGET
        assert recs[h]["proxied"] is True
        assert recs[h]["comment"] == MINE
    # Foreign records untouched; our stale record deleted.
    assert recs["foreign.example.com"]["content"] == "elsewhere.example.net"
    assert not recs["foreign.example.com"].get("comment")
    assert recs["a-rec.example.com"]["content"] == "192.0.2.1"
    assert "stale.example.com" not in recs
    # One batch per zone that changed, never a per-record write.
    w = denv.writes()
    assert all(x["path"].endswith("/dns_records/batch") for x in w), w

    # Idle resync: no writes at all, and no reads while caches are warm.
    denv.cf.ctl.call("DELETE", "/_sim/requests")
    r2 = denv.sync(hosts)
    assert sorted(r2["applied"]) == sorted(r["applied"])
    got = [(x["method"], x["path"], x["query"]) for x in denv.cf.requests()]
    assert got == [], "\n".join(map(str, got))


def test_remove_hostname_and_zones_modes(denv):
    r = denv.sync(["app.example.com", "www.example.com"])
    assert sorted(r["applied"]) == ["app.example.com", "www.example.com"]
    r = denv.sync(["app.example.com"])
    recs = denv.all_records()
    assert "www.example.com" not in recs and "app.example.com" in recs

    # zones mode: only one label below a listed zone.
    r = denv.sync(["app.example.com", "deep.sub.example.com",
                   "o.example.org"], zones=["example.com"])
    assert r["applied"] == ["app.example.com"]
    assert sorted(r["skipped"]) == ["deep.sub.example.com", "o.example.org"]
    assert "deep.sub.example.com" not in denv.all_records()

    # A configured zone the account does not have is an error.
    r = denv.sync(["a.nozone.net"], zones=["nozone.net"])
    assert r["skipped"] == ["a.nozone.net"]
    assert "nozone.net" in r["error"]

    # zones: [] disables DNS: ours are deleted, others stay.
    r = denv.sync(["app.example.com"], zones=[])
    assert r["applied"] == [] and r["skipped"] == ["app.example.com"]
    recs = denv.all_records()
    assert "app.example.com" not in recs
    assert "foreign.example.com" in recs and "legacy.example.com" in recs


def test_other_owner_is_a_conflict_and_cleanup(denv):
    r = denv.sync(["shared.example.com"], owner=OTHER)
    assert r["applied"] == ["shared.example.com"]
    r = denv.sync(["shared.example.com", "mine.example.com"])
    assert r["applied"] == ["mine.example.com"]
    assert r["conflicts"][0]["hostname"] == "shared.example.com"
    assert "another cfgw Gateway" in r["conflicts"][0]["message"]
    recs = denv.all_records()
    assert recs["shared.example.com"]["comment"] == \
        "managed by cfgw: " + OTHER

    r = denv.sync([], cleanup=True)
    assert r["error"] is None
    recs = denv.all_records()
    assert "mine.example.com" not in recs
    assert "stale.example.com" not in recs
    assert "shared.example.com" in recs          # not ours
    assert "legacy.example.com" in recs          # never adopted: untouched


def test_cfapi_errors_are_reported(denv):
    denv.cf.faults({"rules": [{"method": "POST",
                               "path_regex": "dns_records",
                               "status": 403, "code": 10000,
                               "message": "Authentication error"}]})
    r = denv.sync(["new.example.com"])
    assert r["applied"] == []
    assert r["error"] and "auth" in r["error"]
