# SPDX-License-Identifier: Apache-2.0
"""cf_schema validator and cfsim --validate."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cf_schema  # noqa: E402
from cfsim_testutil import ZONE, Client, start  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "..", "data", "cloudflare", "schemas.json")


def v(schema, value, comps=None, strict=False):
    return cf_schema.validate(schema, value, comps, strict)


def test_types_and_keywords():
    assert v({"type": "string"}, "x") == []
    assert v({"type": "string"}, 1) == ["/: expected string, got int"]
    assert v({"type": "integer"}, True)
    assert v({"type": "integer"}, 3) == [] and v({"type": "integer"}, 3.0) \
        == []
    assert v({"type": "number"}, 2.5) == []
    assert v({"type": "boolean"}, 0)
    assert v({"type": "string", "nullable": True}, None) == []
    assert v({"type": "string"}, None)
    assert v({"enum": ["a", "b"]}, "c")
    assert v({"enum": [1]}, True), "True must not equal enum 1"
    assert v({"enum": [1]}, 1) == []
    assert v({"type": "string", "maxLength": 3}, "abcd")
    assert v({"type": "string", "minLength": 2}, "a")
    assert v({"type": "string", "pattern": "^a"}, "ba")
    assert v({"type": "number", "minimum": 1, "maximum": 5}, 6)
    assert v({"type": "number", "minimum": 1, "maximum": 5}, 0)
    assert v({"type": "number", "minimum": 1, "exclusiveMinimum": True}, 1)
    assert v({"type": "string", "format": "uuid"}, "nope")
    assert v({"type": "string", "format": "ipv4"}, "1.2.3.400")
    assert v({"type": "string", "format": "ipv6"}, "::1") == []
    assert v({"type": "string", "format": "date-time"},
             "2024-01-01T00:00:00Z") == []
    assert v({"type": "array", "items": {"type": "integer"}, "maxItems": 2},
             [1, "x", 3]) == ["/: more than 2 items",
                              "/1: expected integer, got str"]


def test_objects_and_combinators():
    s = {"type": "object", "required": ["a"],
         "properties": {"a": {"type": "string"}, "b": {"type": "object",
                        "properties": {"c": {"type": "integer"}}}}}
    assert v(s, {"a": "x", "b": {"c": 1}}) == []
    assert v(s, {"b": {"c": "1"}}) == ["/a: required field missing",
                                       "/b/c: expected integer, got str"]
    assert v(s, {"a": "x", "z": 1}) == []
    assert v(s, {"a": "x", "z": 1}, strict=True) == ["/z: unknown field"]
    assert v(s, {"a": "x", "b": {"d": 1}}, strict=True) == \
        ["/b/d: unknown field"]
    closed = {"type": "object", "properties": {"a": {}},
              "additionalProperties": False}
    assert v(closed, {"b": 1}) == ["/b: unknown field"]
    mapping = {"type": "object", "additionalProperties": {"type": "integer"}}
    assert v(mapping, {"x": 1, "y": "2"}, strict=True) == \
        ["/y: expected integer, got str"]
    comps = {"A": {"properties": {"kind": {"enum": ["a"]},
                                  "x": {"type": "integer"}},
                   "required": ["kind"]},
             "B": {"properties": {"kind": {"enum": ["b"]},
                                  "y": {"type": "string"}},
                   "required": ["kind"]}}
    one = {"type": "object", "oneOf": [{"$ref": "#/components/schemas/A"},
                                       {"$ref": "#/components/schemas/B"}]}
    assert v(one, {"kind": "a", "x": 1}, comps, True) == []
    assert v(one, {"kind": "a", "y": "s"}, comps, True) == \
        ["/y: unknown field"]
    assert v(one, {"kind": "c"}, comps, True)
    both = {"allOf": [{"$ref": "#/components/schemas/A"},
                      {"properties": {"z": {"type": "boolean"}}}]}
    assert v(both, {"kind": "a", "z": True}, comps, True) == []
    assert v(both, {"kind": "a", "z": 1}, comps, True) == \
        ["/z: expected boolean, got int"]
    anyof = {"anyOf": [{"type": "integer", "minimum": 60},
                       {"enum": [1]}]}
    assert v(anyof, 1) == [] and v(anyof, 120) == [] and v(anyof, 5)
    with pytest.raises(cf_schema.SchemaError):
        v({"$ref": "#/components/schemas/missing"}, 1)


def test_schema_file_origin_and_ops():
    with open(SCHEMAS) as f:
        d = json.load(f)
    assert "BSD-3-Clause" in d["origin"]
    for k in ("tunnel.create", "tunnel.patch", "tunnel.config.put",
              "dns.create", "dns.put", "dns.patch", "dns.batch"):
        assert "request" in d["operations"][k], k
    errs = cf_schema.validate(d["operations"]["dns.create"]["request"],
                              {"type": "CNAME", "name": "a", "content": "b",
                               "proxied": True, "ttl": 1, "commnet": "x"},
                              d["components"], strict=True)
    assert errs == ["/commnet: unknown field"]


@pytest.fixture
def vsim():
    s = start(validate=True)
    yield s
    s.stop()


def test_validate_rejects_unknown_field(vsim):
    api = Client(vsim)
    r = api("POST", "/zones/%s/dns_records" % ZONE,
            {"type": "A", "name": "a", "content": "192.0.2.1",
             "proxy": True})
    assert r.status == 400 and r.codes == [9207]
    assert r.json["errors"][0]["source"] == {"pointer": "/proxy"}
    assert api("GET", "/zones/%s/dns_records" % ZONE).result == []
    log = vsim.requests()
    assert log[0]["validation"] == "/proxy: unknown field"
    r = api("POST", "/zones/%s/dns_records" % ZONE,
            {"type": "A", "name": "a", "content": "192.0.2.1",
             "proxied": False, "ttl": 1, "comment": None,
             "settings": {}})
    assert r.status == 200, r
    assert vsim.requests()[-1]["validation"] is None


@pytest.mark.parametrize("method,path,body,bad", [
    ("POST", "/accounts/acc1/cfd_tunnel",
     {"name": "t", "config_src": "cloudflare"},
     {"name": "t", "configSrc": "cloudflare"}),
    ("POST", "/accounts/acc1/cfd_tunnel", {"name": "t"}, {"name": 5}),
    ("PATCH", "/zones/%s/dns_records/ID" % ZONE, {"comment": "x"},
     {"comment": "x", "tag": ["a:b"]}),
    ("POST", "/zones/%s/dns_records/batch" % ZONE,
     {"posts": [{"type": "TXT", "name": "t", "content": "x"}]},
     {"posts": [{"type": "TXT", "name": "t", "content": "x", "ttl": "1"}]}),
    ("POST", "/zones/%s/dns_records/batch" % ZONE, {"deletes": []},
     {"delete": []}),
    ("PUT", "/accounts/acc1/cfd_tunnel/TID/configurations",
     {"config": {"ingress": [{"hostname": "a.example.com",
                              "service": "http://127.0.0.1:1",
                              "originRequest": {"connectTimeout": 5}},
                             {"service": "http_status:404"}]}},
     {"config": {"ingress": [{"hostname": "a.example.com",
                              "service": "http://127.0.0.1:1",
                              "originRequest": {"connectTimeout": "5s"}},
                             {"service": "http_status:404"}]}}),
    ("PUT", "/accounts/acc1/cfd_tunnel/TID/configurations",
     {"config": {"ingress": [{"service": "http_status:404"}],
                 "warp-routing": {"enabled": True}}},
     {"config": {"ingress": [{"service": "http_status:404"}],
                 "warp_routing": {"enabled": True}}}),
])
def test_validate_good_and_bad(vsim, method, path, body, bad):
    api = Client(vsim)
    tid = api("POST", "/accounts/acc1/cfd_tunnel",
              {"name": "base"}).result["id"]
    rid = api("POST", "/zones/%s/dns_records" % ZONE,
              {"type": "TXT", "name": "base", "content": "b"}).result["id"]
    path = path.replace("TID", tid).replace("ID", rid)
    r = api(method, path, bad)
    assert r.status == 400 and r.codes == [9207], r
    assert vsim.requests()[-1]["validation"]
    r = api(method, path, body)
    assert r.status == 200, r
    assert vsim.requests()[-1]["validation"] is None


def test_without_validate_unknown_fields_are_ignored():
    s = start()
    try:
        api = Client(s)
        r = api("POST", "/zones/%s/dns_records" % ZONE,
                {"type": "A", "name": "a", "content": "192.0.2.1",
                 "proxy": True})
        assert r.status == 200 and r.result["proxied"] is False
        assert s.requests()[-1]["validation"] is None
    finally:
        s.stop()


def test_responses_match_openapi_response_schemas():
    """Every success answer validates against the published 200 schema."""
    with open(SCHEMAS) as f:
        d = json.load(f)
    ops, comps = d["operations"], d["components"]
    s = start(auto_connect=True, connect_delay=0.01)
    try:
        api = Client(s)
        T = "/accounts/acc1/cfd_tunnel"
        D = "/zones/%s/dns_records" % ZONE
        checked = []

        def chk(key, method, path, body=None):
            r = api(method, path, body)
            assert r.status == 200, (key, r)
            errs = cf_schema.validate(ops[key]["response"], r.json, comps)
            assert errs == [], (key, errs)
            checked.append(key)
            return r.result
        chk("token.verify", "GET", "/user/tokens/verify")
        t = chk("tunnel.create", "POST", T, {"name": "n",
                                            "config_src": "cloudflare"})
        tp = T + "/" + t["id"]
        chk("tunnel.list", "GET", T + "?per_page=5")
        chk("tunnel.get", "GET", tp)
        chk("tunnel.patch", "PATCH", tp, {"name": "n2"})
        chk("tunnel.token", "GET", tp + "/token")
        chk("tunnel.config.get", "GET", tp + "/configurations")
        chk("tunnel.config.put", "PUT", tp + "/configurations",
            {"config": {"ingress": [{"service": "http_status:404"}]}})
        s.connect(t["id"])
        chk("tunnel.connections.get", "GET", tp + "/connections")
        chk("tunnel.connections.delete", "DELETE", tp + "/connections")
        chk("tunnel.delete", "DELETE", tp)
        chk("zones.list", "GET", "/zones")
        chk("zones.get", "GET", "/zones/" + ZONE)
        rec = chk("dns.create", "POST", D, {"type": "CNAME", "name": "a",
                                            "content": "t.example.org",
                                            "proxied": True})
        chk("dns.create", "POST", D, {"type": "MX", "name": "@",
                                      "content": "mx.example.org",
                                      "priority": 5})
        chk("dns.list", "GET", D)
        chk("dns.get", "GET", D + "/" + rec["id"])
        chk("dns.patch", "PATCH", D + "/" + rec["id"], {"comment": "c"})
        chk("dns.put", "PUT", D + "/" + rec["id"],
            {"type": "A", "name": "a", "content": "192.0.2.1"})
        chk("dns.delete", "DELETE", D + "/" + rec["id"])
        assert set(checked) == set(k for k in ops if "response" in ops[k])
    finally:
        s.stop()
