# SPDX-License-Identifier: Apache-2.0
"""cfsim: zones and DNS records, including batch."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cfsim_testutil import (TOKEN2, ZONE, ZONE_OTHER, ZONE_PRO,  # noqa
                            Client, start)

R = "/zones/%s/dns_records" % ZONE
TUN = "6f3b0b8e-6d3b-4a43-9d0a-2f0f3b0a9c11.cfargotunnel.com"


@pytest.fixture
def sim():
    s = start()
    yield s
    s.stop()


@pytest.fixture
def api(sim):
    return Client(sim)


def post(api, rec, path=R, status=200):
    r = api("POST", path, rec)
    assert r.status == status, r
    return r.result if status == 200 else r


def names(recs):
    return sorted(r["name"] for r in recs)


# ---- zones -----------------------------------------------------------------
def test_zone_list_filters(api):
    r = api("GET", "/zones")
    assert names(r.result) == ["example.com", "example.net"]
    assert r.json["result_info"]["per_page"] == 20
    r = api("GET", "/zones?name=example.com&account.id=acc1&status=active")
    assert [z["id"] for z in r.result] == [ZONE]
    z = r.result[0]
    assert z["account"] == {"id": "acc1", "name": "Acme"}
    assert z["status"] == "active" and z["plan"]["legacy_id"] == "free"
    assert api("GET", "/zones?name=sub.example.com").result == []
    assert api("GET", "/zones?name=other.org").result == []
    assert api("GET", "/zones?status=pending").result == []
    r = api("GET", "/zones?name=starts_with:example&order=name"
                   "&direction=desc")
    assert [z["name"] for z in r.result] == ["example.net", "example.com"]
    r = api("GET", "/zones?name=example.com&status=pending&match=any")
    assert [z["id"] for z in r.result] == [ZONE]


def test_zone_pagination_per_page_bounds(sim, api):
    sim.seed({"zones": [{"name": "z%02d.test" % i, "account": "acc1"}
                        for i in range(12)]})
    r = api("GET", "/zones?per_page=5&page=3")
    assert r.json["result_info"] == {"page": 3, "per_page": 5, "count": 4,
                                     "total_count": 14, "total_pages": 3}
    r = api("GET", "/zones?per_page=500")
    assert r.json["result_info"]["per_page"] == 50
    r = api("GET", "/zones?per_page=1")
    assert r.json["result_info"]["per_page"] == 5


def test_zone_get_errors(api):
    r = api("GET", "/zones/" + ZONE)
    assert r.status == 200 and r.result["name"] == "example.com"
    r = api("GET", "/zones/" + "9" * 32)
    assert r.status == 400 and r.codes == [7003, 7000]
    r = api("GET", "/zones/example.com")
    assert r.status == 400 and r.codes[0] == 7003
    r = api("GET", "/zones/" + ZONE_OTHER)
    assert r.status == 403 and r.codes == [10000]
    r = api("GET", "/zones/%s/dns_records" % ZONE, token=TOKEN2)
    assert r.status == 403


# ---- records: create and normalisation --------------------------------------
def test_create_fields_and_normalisation(api):
    rec = post(api, {"type": "CNAME", "name": "App", "content": TUN + ".",
                     "proxied": True, "ttl": 300, "comment": "cfgw",
                     "settings": {"flatten_cname": False}})
    assert rec["name"] == "app.example.com" and rec["content"] == TUN
    assert rec["ttl"] == 1 and rec["proxied"] and rec["proxiable"]
    assert len(rec["id"]) == 32 and int(rec["id"], 16) >= 0
    assert rec["comment"] == "cfgw" and rec["tags"] == []
    assert rec["settings"] == {"flatten_cname": False}
    for k in ("created_on", "modified_on", "meta"):
        assert k in rec
    assert post(api, {"type": "TXT", "name": "@", "content": "v=spf1"})[
        "name"] == "example.com"
    assert post(api, {"type": "A", "name": "bücher.example.com.",
                      "content": "192.0.2.1"})["name"] == \
        "xn--bcher-kva.example.com"
    assert post(api, {"type": "AAAA", "name": "v6", "content":
                      "2001:DB8:0:0::1"})["content"] == "2001:db8::1"
    assert post(api, {"type": "A", "name": "*.wild", "content":
                      "192.0.2.2"})["name"] == "*.wild.example.com"
    a = post(api, {"type": "A", "name": "plain", "content": "192.0.2.3",
                   "ttl": 120})
    assert a["ttl"] == 120 and a["proxied"] is False


@pytest.mark.parametrize("rec,code", [
    ({"type": "A", "name": "x", "content": "300.1.1.1"}, 9005),
    ({"type": "AAAA", "name": "x", "content": "1.2.3.4"}, 9006),
    ({"type": "CNAME", "name": "x", "content": "bad host!"}, 9007),
    ({"type": "CNAME", "name": "x", "content": "x.example.com"}, 9007),
    ({"type": "TXT", "name": "x", "content": "t", "proxied": True}, 9004),
    ({"type": "A", "name": "x", "content": "192.0.2.1", "ttl": 5}, 9021),
    ({"type": "A", "name": "x", "content": "192.0.2.1", "ttl": "1"}, 9021),
    ({"type": "BOGUS", "name": "x", "content": "y"}, 9020),
    ({"name": "x", "content": "y"}, 9020),
    ({"type": "A", "name": "a..b", "content": "192.0.2.1"}, 9000),
    ({"type": "A", "name": "a.*.b", "content": "192.0.2.1"}, 9000),
    ({"type": "A", "name": "", "content": "192.0.2.1"}, 9000),
    ({"type": "TXT", "name": "x", "content": "t", "comment": "a\nb"}, 1004),
    ({"type": "TXT", "name": "x", "content": "t", "comment": "c" * 101},
     1004),
    ({"type": "TXT", "name": "x", "content": "t", "tags": ["o:x"]}, 1004),
    ({"type": "A", "name": "x", "content": "192.0.2.1",
      "proxied": "yes"}, 9003),
])
def test_create_validation(api, rec, code):
    r = post(api, rec, status=400)
    assert r.codes == [code] and r.json["success"] is False
    assert api("GET", R).result == []


def test_tags_quota_free_vs_pro(api):
    r = post(api, {"type": "TXT", "name": "x", "content": "t",
                   "tags": ["owner:cfgw"]}, status=400)
    chain = r.json["errors"][0]["error_chain"]
    assert chain == [{"code": 9300, "message":
                      "DNS record has 1 tags, exceeding the quota of 0."}]
    pro = "/zones/%s/dns_records" % ZONE_PRO
    rec = post(api, {"type": "TXT", "name": "x", "content": "t",
                     "tags": ["Owner:cfgw"], "comment": "c" * 500}, pro)
    assert rec["tags"] == ["owner:cfgw"] and len(rec["comment"]) == 500
    post(api, {"type": "TXT", "name": "y", "content": "t",
               "comment": "c" * 501}, pro, status=400)


def test_conflicts(api):
    post(api, {"type": "CNAME", "name": "c", "content": TUN})
    r = post(api, {"type": "A", "name": "c", "content": "192.0.2.1"},
             status=400)
    assert r.codes == [81053]
    assert r.json["errors"][0]["message"] == \
        "An A, AAAA, or CNAME record with that host already exists."
    r = post(api, {"type": "CNAME", "name": "c", "content": "o.example"},
             status=400)
    assert r.codes == [81053]
    r = post(api, {"type": "TXT", "name": "c", "content": "x"}, status=400)
    assert r.codes == [81054]
    post(api, {"type": "A", "name": "a", "content": "192.0.2.1"})
    post(api, {"type": "A", "name": "a", "content": "192.0.2.2"})
    r = post(api, {"type": "CNAME", "name": "a", "content": TUN},
             status=400)
    assert r.codes == [81053]
    r = post(api, {"type": "A", "name": "A.example.com",
                   "content": "192.0.2.1"}, status=400)
    assert r.codes == [81058]
    post(api, {"type": "TXT", "name": "a", "content": "hello"})
    r = post(api, {"type": "TXT", "name": "a", "content": "hello"},
             status=400)
    assert r.codes == [81058]
    assert len(api("GET", R).result) == 4


# ---- records: get / put / patch / delete ------------------------------------
def test_get_put_patch_delete(api):
    rec = post(api, {"type": "CNAME", "name": "w", "content": TUN,
                     "proxied": True, "comment": "one"})
    p = R + "/" + rec["id"]
    assert api("GET", p).result == rec
    r = api("PATCH", p, {"comment": "two"})
    assert r.status == 200
    assert r.result["comment"] == "two" and r.result["content"] == TUN
    assert r.result["created_on"] == rec["created_on"]
    r = api("PATCH", p, {"comment": None})
    assert r.result["comment"] is None
    r = api("PUT", p, {"type": "CNAME", "name": "w",
                       "content": "other.example.org"})
    assert r.status == 200 and r.result["proxied"] is False
    assert r.result["content"] == "other.example.org"
    assert r.result["id"] == rec["id"]
    r = api("PUT", p, {"type": "A", "name": "w"})
    assert r.status == 400
    r = api("PATCH", p, {"content": "not a host!"})
    assert r.status == 400 and r.codes == [9007]
    r = api("DELETE", p)
    assert r.status == 200 and r.result == {"id": rec["id"]}
    for m, body in (("GET", None), ("PUT", {"type": "A", "name": "w",
                                            "content": "192.0.2.1"}),
                    ("PATCH", {"comment": "x"}), ("DELETE", None)):
        r = api(m, p, body)
        assert r.status == 404 and r.codes == [81044], m
        assert r.json["errors"][0]["message"] == "Record does not exist."


def test_patch_conflict_keeps_record(api):
    post(api, {"type": "CNAME", "name": "c", "content": TUN})
    a = post(api, {"type": "A", "name": "a", "content": "192.0.2.1"})
    r = api("PATCH", R + "/" + a["id"], {"name": "c"})
    assert r.status == 400 and r.codes == [81053]
    assert api("GET", R + "/" + a["id"]).result["name"] == "a.example.com"


# ---- list filters and pagination --------------------------------------------
@pytest.fixture
def populated(api):
    recs = [
        {"type": "CNAME", "name": "app", "content": TUN, "proxied": True,
         "comment": "managed by cfgw gw=default/web"},
        {"type": "TXT", "name": "cname-app", "content":
         "heritage=cfgw,owner=default"},
        {"type": "A", "name": "www", "content": "192.0.2.10",
         "comment": "Hand made"},
        {"type": "A", "name": "api", "content": "192.0.2.11",
         "proxied": True},
        {"type": "MX", "name": "@", "content": "mx.example.com",
         "priority": 10},
    ]
    return [post(api, x) for x in recs]


@pytest.mark.parametrize("query,want", [
    ("type=A", ["api.example.com", "www.example.com"]),
    ("name=app.example.com", ["app.example.com"]),
    ("name.exact=APP.example.com", ["app.example.com"]),
    ("name.startswith=cname-", ["cname-app.example.com"]),
    ("name.endswith=pp.example.com", ["app.example.com",
                                      "cname-app.example.com"]),
    ("name.contains=ww", ["www.example.com"]),
    ("content=" + TUN, ["app.example.com"]),
    ("content.contains=heritage=cfgw", ["cname-app.example.com"]),
    ("comment.present=1", ["app.example.com", "www.example.com"]),
    ("comment.absent=1", ["api.example.com", "cname-app.example.com",
                          "example.com"]),
    ("comment.startswith=managed%20by", ["app.example.com"]),
    ("comment.contains=HAND", ["www.example.com"]),
    ("comment=hand%20made", ["www.example.com"]),
    ("comment.exact=hand", []),
    ("proxied=true", ["api.example.com", "app.example.com"]),
    ("type=A&proxied=true", ["api.example.com"]),
    ("type=A&name=app.example.com&match=any",
     ["api.example.com", "app.example.com", "www.example.com"]),
    ("type=CNAME&type=TXT&match=any", ["app.example.com",
                                       "cname-app.example.com"]),
])
def test_list_filters(api, populated, query, want):
    r = api("GET", R + "?" + query)
    assert r.status == 200
    assert names(r.result) == want


def test_list_default_order_and_mx(api, populated):
    r = api("GET", R)
    assert [x["type"] for x in r.result] == ["A", "A", "CNAME", "MX", "TXT"]
    mx = [x for x in r.result if x["type"] == "MX"][0]
    assert mx["priority"] == 10
    r = api("GET", R + "?order=name&direction=desc")
    assert r.result[0]["name"] == "www.example.com"
    assert api("GET", R + "?order=bogus").status == 400
    assert api("GET", R + "?match=some").status == 400


def test_list_tag_filters(api):
    pro = "/zones/%s/dns_records" % ZONE_PRO
    post(api, {"type": "TXT", "name": "a", "content": "1",
               "tags": ["owner:cfgw", "env:prod"]}, pro)
    post(api, {"type": "TXT", "name": "b", "content": "2",
               "tags": ["owner:other"]}, pro)
    post(api, {"type": "TXT", "name": "c", "content": "3"}, pro)

    def q(s):
        return [x["name"].split(".")[0] for x in
                api("GET", pro + "?" + s + "&order=name").result]
    assert q("tag=owner:cfgw") == ["a"]
    assert q("tag=owner") == ["a", "b"]
    assert q("tag.exact=OWNER:CFGW") == ["a"]
    assert q("tag.present=env") == ["a"]
    assert q("tag.absent=owner") == ["c"]
    assert q("tag.startswith=owner:oth") == ["b"]
    assert q("tag.contains=owner:f") == ["a"]
    assert q("tag.endswith=env:rod") == ["a"]
    assert q("tag.exact=owner:cfgw&tag.exact=owner:other&tag_match=any") \
        == ["a", "b"]
    assert q("tag.exact=owner:cfgw&tag.exact=owner:other") == []


def test_list_pagination(sim, api):
    sim.seed({"zones": [{"id": "ab" * 16, "name": "big.test",
                         "account": "acc1",
                         "records": [{"type": "A", "name": "h%03d" % i,
                                      "content": "192.0.2.%d" % (i % 250)}
                                     for i in range(30)]}]})
    p = "/zones/%s/dns_records" % ("ab" * 16)
    seen = []
    page = 1
    while True:
        r = api("GET", p + "?per_page=7&page=%d" % page)
        info = r.json["result_info"]
        assert info["per_page"] == 7 and info["total_count"] == 30
        assert info["total_pages"] == 5 and info["count"] == len(r.result)
        seen += [x["id"] for x in r.result]
        if page >= info["total_pages"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == 30
    r = api("GET", p + "?per_page=100000")
    assert r.json["result_info"]["per_page"] == 5000
    assert len(r.result) == 30
    r = api("GET", p)
    assert r.json["result_info"]["per_page"] == 100


def test_state_matches_api_and_seeded_ids(sim, api):
    sim.seed({"zones": [{"id": "cd" * 16, "name": "seeded.test",
                         "account": "acc1", "records": [
                             {"id": "ef" * 16, "type": "CNAME",
                              "name": "www", "content": "x.example.org",
                              "proxied": True}]}]})
    p = "/zones/%s/dns_records" % ("cd" * 16)
    r = api("GET", p + "/" + "ef" * 16)
    assert r.status == 200 and r.result["name"] == "www.seeded.test"
    st = [z for z in sim.state()["zones"] if z["id"] == "cd" * 16][0]
    assert st["records"] == api("GET", p).result


# ---- batch ------------------------------------------------------------------
B = R + "/batch"


def test_batch_order_and_result(api):
    c = post(api, {"type": "CNAME", "name": "x", "content": TUN,
                   "proxied": True})
    t = post(api, {"type": "TXT", "name": "cname-x", "content": "old"})
    p = post(api, {"type": "A", "name": "p", "content": "192.0.2.1"})
    r = api("POST", B, {
        # the CNAME is deleted before the A at the same name is posted
        "posts": [{"type": "A", "name": "x", "content": "192.0.2.9"}],
        "puts": [{"id": t["id"], "type": "TXT", "name": "cname-x",
                  "content": "new"}],
        "patches": [{"id": p["id"], "comment": "patched"}],
        "deletes": [{"id": c["id"]}]})
    assert r.status == 200, r
    res = r.result
    assert [x["id"] for x in res["deletes"]] == [c["id"]]
    assert res["deletes"][0]["type"] == "CNAME"
    assert res["patches"][0]["comment"] == "patched"
    assert res["puts"][0]["content"] == "new"
    assert res["posts"][0]["name"] == "x.example.com"
    got = {(x["type"], x["name"]) for x in api("GET", R).result}
    assert got == {("A", "x.example.com"), ("TXT", "cname-x.example.com"),
                   ("A", "p.example.com")}


def test_batch_patch_sees_earlier_delete(api):
    a = post(api, {"type": "A", "name": "a", "content": "192.0.2.1"})
    r = api("POST", B, {"deletes": [{"id": a["id"]}],
                        "patches": [{"id": a["id"], "comment": "x"}]})
    assert r.status == 404 and r.codes == [81044]
    assert r.json["errors"][0]["source"] == {"pointer": "/patches/0"}
    assert api("GET", R + "/" + a["id"]).status == 200


def test_batch_all_or_nothing(api):
    a = post(api, {"type": "A", "name": "keep", "content": "192.0.2.1"})
    before = api("GET", R).result
    r = api("POST", B, {
        "deletes": [{"id": a["id"]}],
        "posts": [{"type": "TXT", "name": "n1", "content": "ok"},
                  {"type": "A", "name": "n2", "content": "bad-ip"},
                  {"type": "TXT", "name": "n3", "content": "ok"}]})
    assert r.status == 400 and r.codes == [9005]
    assert r.json["errors"][0]["source"] == {"pointer": "/posts/1"}
    assert api("GET", R).result == before
    r = api("POST", B, {"posts": [
        {"type": "CNAME", "name": "d", "content": TUN},
        {"type": "CNAME", "name": "d", "content": TUN}]})
    assert r.status == 400 and r.codes == [81053]
    assert api("GET", R).result == before


def test_batch_limit_200(api):
    ok = {"posts": [{"type": "TXT", "name": "t%d" % i, "content": "x"}
                    for i in range(200)]}
    r = api("POST", B, ok)
    assert r.status == 200 and len(r.result["posts"]) == 200
    ids = [x["id"] for x in r.result["posts"]]
    big = {"deletes": [{"id": i} for i in ids[:150]],
           "posts": [{"type": "TXT", "name": "u%d" % i, "content": "x"}
                     for i in range(51)]}
    r = api("POST", B, big)
    assert r.status == 400 and r.codes == [81092]
    assert len(api("GET", R + "?per_page=5000").result) == 200
    pro = "/zones/%s/dns_records/batch" % ZONE_PRO
    r = api("POST", pro, {"posts": [{"type": "TXT", "name": "t%d" % i,
                                     "content": "x"} for i in range(201)]})
    assert r.status == 200


def test_batch_bad_shapes(api):
    assert api("POST", B, {"posts": {"type": "A"}}).status == 400
    assert api("POST", B, [1, 2]).status == 400
    r = api("POST", B, {"deletes": [{"id": "0" * 32}]})
    assert r.status == 404 and r.codes == [81044]
    r = api("POST", B, {})
    assert r.status == 200 and r.result == {"deletes": [], "patches": [],
                                            "puts": [], "posts": []}
