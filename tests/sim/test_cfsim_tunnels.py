# SPDX-License-Identifier: Apache-2.0
"""cfsim: Cloudflare Tunnel endpoints."""

import base64
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cfsim_testutil import TOKEN2, Client, start  # noqa: E402

T = "/accounts/acc1/cfd_tunnel"
SECRET = base64.b64encode(b"s" * 32).decode()
GOOD_CFG = {"config": {
    "ingress": [{"hostname": "app.example.com",
                 "service": "https://127.0.0.1:8443",
                 "originRequest": {"http2Origin": True,
                                   "noTLSVerify": True}},
                {"hostname": "*.example.com", "path": "^/api/.*",
                 "service": "http://127.0.0.1:8080"},
                {"service": "http_status:404"}],
    "originRequest": {"connectTimeout": 10},
    "warp-routing": {"enabled": False}}}


@pytest.fixture
def sim():
    s = start()
    yield s
    s.stop()


@pytest.fixture
def api(sim):
    return Client(sim)


def mk(api, name="t1", **kw):
    body = {"name": name, "config_src": "cloudflare"}
    body.update(kw)
    r = api("POST", T, body)
    assert r.status == 200, r
    return r.result


def test_create_fields(api):
    t = mk(api)
    assert len(t["id"]) == 36 and t["name"] == "t1"
    assert t["account_tag"] == "acc1" and t["deleted_at"] is None
    assert t["status"] == "inactive" and t["config_src"] == "cloudflare"
    assert t["remote_config"] is True and t["tun_type"] == "cfd_tunnel"
    assert t["connections"] == []
    t2 = api("POST", T, {"name": "loc", "tunnel_secret": SECRET}).result
    assert t2["config_src"] == "local"


def test_create_conflict_and_reuse_after_delete(api):
    t = mk(api, "dup")
    r = api("POST", T, {"name": "dup", "config_src": "cloudflare"})
    assert r.status == 409 and r.codes == [1013]
    assert r.json["errors"][0]["message"] == \
        "tunnel with this name already exists"
    assert api("DELETE", T + "/" + t["id"]).status == 200
    assert mk(api, "dup")["id"] != t["id"]


@pytest.mark.parametrize("body", [
    {}, {"name": ""}, {"name": 7}, {"name": "x", "config_src": "remote"},
    {"name": "x", "tunnel_secret": base64.b64encode(b"short").decode()},
    {"name": "x", "tunnel_secret": "!!not base64!!"}])
def test_create_validation_errors(api, body):
    r = api("POST", T, body)
    assert r.status == 400 and r.json["success"] is False


def test_list_filters_and_pagination(api):
    ids = [mk(api, "t%d" % i)["id"] for i in range(5)]
    api("DELETE", T + "/" + ids[0])
    r = api("GET", T)
    assert len(r.result) == 5 and r.json["result_info"]["total_count"] == 5
    r = api("GET", T + "?is_deleted=false")
    assert [t["name"] for t in r.result] == ["t1", "t2", "t3", "t4"]
    r = api("GET", T + "?is_deleted=true")
    assert [t["id"] for t in r.result] == [ids[0]]
    assert r.result[0]["deleted_at"] is not None
    r = api("GET", T + "?name=t3")
    assert [t["id"] for t in r.result] == [ids[3]]
    r = api("GET", T + "?uuid=" + ids[2])
    assert [t["name"] for t in r.result] == ["t2"]
    r = api("GET", T + "?per_page=2&page=3")
    assert [t["name"] for t in r.result] == ["t4"]
    assert r.json["result_info"] == {"page": 3, "per_page": 2, "count": 1,
                                     "total_count": 5, "total_pages": 3}
    r = api("GET", T + "?page=9&per_page=2")
    assert r.result == [] and r.json["result_info"]["count"] == 0
    assert api("GET", T + "?per_page=abc").status == 400
    assert api("GET", T + "?is_deleted=maybe").status == 400


def test_get_not_found_and_other_account(api):
    t = mk(api)
    assert api("GET", T + "/" + t["id"]).result["name"] == "t1"
    r = api("GET", T + "/00000000-0000-4000-8000-000000000000")
    assert r.status == 404 and r.json["success"] is False
    r = api("GET", T + "/not-a-uuid")
    assert r.status == 400 and r.codes[0] == 7003
    r = api("GET", "/accounts/acc2/cfd_tunnel/" + t["id"], token=TOKEN2)
    assert r.status == 404
    api("DELETE", T + "/" + t["id"])
    for suffix in ("", "/token", "/configurations", "/connections"):
        assert api("GET", T + "/" + t["id"] + suffix).status == 404
    assert api("PATCH", T + "/" + t["id"], {"name": "z"}).status == 404
    assert api("DELETE", T + "/" + t["id"]).status == 404


def _decode_token(tok):
    return json.loads(base64.b64decode(tok))


def test_token_and_secret_rotation(sim, api):
    t = mk(api, tunnel_secret=SECRET)
    tok = api("GET", T + "/%s/token" % t["id"]).result
    d = _decode_token(tok)
    assert d == {"a": "acc1", "t": t["id"], "s": SECRET}
    new = base64.b64encode(b"n" * 48).decode()
    r = api("PATCH", T + "/" + t["id"], {"tunnel_secret": new})
    assert r.status == 200
    tok2 = api("GET", T + "/%s/token" % t["id"]).result
    assert tok2 != tok and _decode_token(tok2)["s"] == new
    st = sim.state()["tunnels"][0]
    assert st["secret_sha256"] == __import__("hashlib").sha256(
        new.encode()).hexdigest()
    r = api("PATCH", T + "/" + t["id"], {"tunnel_secret": "c2hvcnQ="})
    assert r.status == 400
    assert _decode_token(api("GET", T + "/%s/token" % t["id"]).result)[
        "s"] == new


def test_patch_name_and_conflict(api):
    a, b = mk(api, "a"), mk(api, "b")
    r = api("PATCH", T + "/" + a["id"], {"name": "a2"})
    assert r.status == 200 and r.result["name"] == "a2"
    r = api("PATCH", T + "/" + a["id"], {"name": "b"})
    assert r.status == 409 and r.codes == [1013]
    assert api("GET", T + "/" + b["id"]).result["name"] == "b"


def test_configurations_versioning(api):
    t = mk(api)
    p = T + "/%s/configurations" % t["id"]
    r = api("GET", p)
    assert r.status == 200 and r.result["version"] == 0
    assert r.result["config"] is None and r.result["tunnel_id"] == t["id"]
    for v in (1, 2, 3):
        r = api("PUT", p, GOOD_CFG)
        assert r.status == 200 and r.result["version"] == v
    r = api("GET", p)
    assert r.result["version"] == 3 and r.result["config"] == \
        GOOD_CFG["config"]
    assert r.result["source"] == "cloudflare"


@pytest.mark.parametrize("ingress", [
    [{"hostname": "a.example.com", "service": "http://x:1"}],
    [{"service": "http_status:404", "path": "/x"}],
    [{"service": "http_status:404"}, {"hostname": "a.example.com",
                                      "service": "http://x:1"}],
    [{"hostname": "a.*.example.com", "service": "http://x:1"},
     {"service": "http_status:404"}],
    [{"hostname": "a.example.com:8080", "service": "http://x:1"},
     {"service": "http_status:404"}],
    [{"hostname": "a.example.com", "path": "([", "service": "http://x"},
     {"service": "http_status:404"}],
    [{"hostname": "a.example.com", "service": "ftp://x"},
     {"service": "http_status:404"}],
    [{"hostname": "a.example.com", "service": "http://x/sub"},
     {"service": "http_status:404"}],
    [{"hostname": "a.example.com", "service": "http://"},
     {"service": "http_status:404"}],
    [{"service": "http_status:99"}],
    [{"hostname": "a.example.com"}, {"service": "http_status:404"}],
])
def test_configuration_validation(api, ingress):
    t = mk(api)
    p = T + "/%s/configurations" % t["id"]
    r = api("PUT", p, {"config": {"ingress": ingress}})
    assert r.status == 400 and r.json["success"] is False, ingress
    assert api("GET", p).result["version"] == 0


def test_configuration_accepts_service_forms(api):
    t = mk(api)
    p = T + "/%s/configurations" % t["id"]
    for svc in ("unix:/run/x.sock", "unix+tls:/run/y.sock", "tcp://h:22",
                "ssh://h:22", "hello_world", "http_status:503",
                "https://[::1]:8443"):
        r = api("PUT", p, {"config": {"ingress": [
            {"hostname": "a.example.com", "service": svc},
            {"service": "http_status:404"}]}})
        assert r.status == 200, svc
    assert api("PUT", p, {}).status == 400


def test_auto_connect_follows_versions():
    s = start(auto_connect=True, connect_delay=0.05)
    try:
        api = Client(s)
        t = mk(api)
        base = T + "/" + t["id"]
        assert api("GET", base + "/connections").result == []
        v = api("PUT", base + "/configurations", GOOD_CFG).result["version"]

        def wait_version(want):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                cs = api("GET", base + "/connections").result
                if cs and all(c["config_version"] == want for c in cs):
                    return cs
                time.sleep(0.02)
            raise AssertionError("connectors never reached %d" % want)
        cs = wait_version(v)
        assert len(cs) == 1 and len(cs[0]["conns"]) == 4
        c = cs[0]
        assert set(c) >= {"id", "arch", "version", "config_version",
                          "run_at", "conns"}
        assert set(c["conns"][0]) >= {"id", "client_id", "client_version",
                                      "colo_name", "is_pending_reconnect",
                                      "opened_at", "origin_ip", "uuid"}
        tun = api("GET", base).result
        assert tun["status"] == "healthy" and len(tun["connections"]) == 4
        assert tun["conns_active_at"] is not None
        v2 = api("PUT", base + "/configurations", GOOD_CFG).result["version"]
        cs2 = wait_version(v2)
        assert [x["id"] for x in cs2] == [c["id"]]
        r = api("GET", base + "/connectors/" + c["id"])
        assert r.status == 200 and r.result["config_version"] == v2
    finally:
        s.stop()


def test_delete_with_connections_then_cleanup(sim, api):
    t = mk(api)
    base = T + "/" + t["id"]
    c = api.simctl("POST", "/_sim/connect", {"tunnel_id": t["id"],
                                             "config_version": 0}).json
    assert c["config_version"] == 0
    assert api("GET", base).result["status"] == "healthy"
    r = api("DELETE", base)
    assert r.status == 400 and r.codes == [1022]
    assert api("GET", base).status == 200
    r = api("DELETE", base + "/connections?client_id=" + c["id"])
    assert r.status == 200 and r.json["success"] is True
    tun = api("GET", base).result
    assert tun["status"] == "down" and tun["conns_inactive_at"]
    r = api("DELETE", base)
    assert r.status == 200 and r.result["deleted_at"] is not None
    st = sim.state()["tunnels"][0]
    assert st["deleted_at"] is not None


def test_sim_connect_disconnect(sim, api):
    t = mk(api)
    base = T + "/" + t["id"]
    a = sim.connect(t["id"])
    sim.connect(t["id"], arch="linux_arm64", version="2025.1.0")
    cs = api("GET", base + "/connections").result
    assert [x["arch"] for x in cs] == ["linux_amd64", "linux_arm64"]
    r = api.simctl("POST", "/_sim/disconnect", {"tunnel_id": t["id"],
                                                "connector_id": a["id"]})
    assert r.json == {"removed": 1}
    assert api("GET", base).result["status"] == "healthy"
    sim.disconnect(t["id"])
    assert api("GET", base).result["status"] == "down"
    assert api.simctl("POST", "/_sim/connect",
                      {"tunnel_id": "nope"}).status == 404
    r = api("GET", base + "/connectors/" + a["id"])
    assert r.status == 404


def test_sim_connect_with_tunnel_token(sim, api):
    t = mk(api, tunnel_secret=SECRET)
    tok = api("GET", T + "/%s/token" % t["id"]).result
    r = api.simctl("POST", "/_sim/connect", {"token": tok})
    assert r.status == 200 and r.json["config_version"] == 0
    new = base64.b64encode(b"r" * 32).decode()
    api("PATCH", T + "/" + t["id"], {"tunnel_secret": new})
    r = api.simctl("POST", "/_sim/connect", {"token": tok})
    assert r.status == 401 and "secret" in r.json["error"]
    tok2 = api("GET", T + "/%s/token" % t["id"]).result
    r = api.simctl("POST", "/_sim/connect", {"token": tok2,
                                             "tunnel_id": t["id"]})
    assert r.status == 200
    assert len(api("GET", T + "/%s/connections" % t["id"]).result) == 2
    assert api.simctl("POST", "/_sim/connect",
                      {"token": "garbage"}).status == 401
