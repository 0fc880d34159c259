# SPDX-License-Identifier: Apache-2.0
"""Regenerate schemas.json from Cloudflare's OpenAPI description.

Maintainer tool, not a test: it reads the full OpenAPI file (by default
/work/shared/data/cloudflare/openapi-2024-08-06.json, which exists only on
the development machine; pass another path as argv[1]) and writes the
trimmed, patched subset that tests/sim/cfsim.py --validate uses to
schemas.json beside this script.  See NOTES.md for origin, licence and the
list of patches applied on top of the published schemas.
"""

import copy
import json
import os
import sys

SRC = "/work/shared/data/cloudflare/openapi-2024-08-06.json"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "schemas.json")

T = "/accounts/{account_id}/cfd_tunnel"
D = "/zones/{zone_id}/dns_records"
OPS = {
    "tunnel.create": ("post", T),
    "tunnel.list": ("get", T),
    "tunnel.get": ("get", T + "/{tunnel_id}"),
    "tunnel.patch": ("patch", T + "/{tunnel_id}"),
    "tunnel.delete": ("delete", T + "/{tunnel_id}"),
    "tunnel.token": ("get", T + "/{tunnel_id}/token"),
    "tunnel.config.get": ("get", T + "/{tunnel_id}/configurations"),
    "tunnel.config.put": ("put", T + "/{tunnel_id}/configurations"),
    "tunnel.connections.get": ("get", T + "/{tunnel_id}/connections"),
    "tunnel.connections.delete": ("delete",
                                  T + "/{tunnel_id}/connections"),
    "token.verify": ("get", "/user/tokens/verify"),
    "zones.list": ("get", "/zones"),
    "zones.get": ("get", "/zones/{zone_id}"),
    "dns.list": ("get", D),
    "dns.create": ("post", D),
    "dns.get": ("get", D + "/{dns_record_id}"),
    "dns.put": ("put", D + "/{dns_record_id}"),
    "dns.patch": ("patch", D + "/{dns_record_id}"),
    "dns.delete": ("delete", D + "/{dns_record_id}"),
}
REF = "#/components/schemas/"


def refs(node, out):
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith(REF):
            out.add(r[len(REF):])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def strip_docs(node, props=False):
    """Drop prose and examples: they are large and not needed."""
    if isinstance(node, dict):
        if not props:
            for k in ("description", "example", "examples", "summary",
                      "title", "x-auditable", "x-stainless-empty-object"):
                node.pop(k, None)
        for k, v in node.items():
            strip_docs(v, k == "properties" and not props)
    elif isinstance(node, list):
        for v in node:
            strip_docs(v)


def patch(comps):
    """Corrections where the 2024-08-06 schema differs from the live API."""
    notes = []
    rec = comps["dns-records_dns-record"]
    rec.pop("required", None)
    notes.append("dns-records_dns-record: dropped top-level required list "
                 "(it names read-only response fields id, proxiable, "
                 "created_on, modified_on)")
    for name, s in comps.items():
        if not name.endswith("Record") or "allOf" not in s:
            continue
        first = s["allOf"][0].get("properties", {})
        if first.get("content", {}).get("readOnly") and \
                "content" in s.get("required", []):
            s["required"].remove("content")
            notes.append("%s: content is read-only (set via data), no "
                         "longer required" % name)
    base = comps["dns-records_base"]["properties"]
    base["settings"] = {"type": "object", "properties": {
        "flatten_cname": {"type": "boolean"},
        "ipv4_only": {"type": "boolean"},
        "ipv6_only": {"type": "boolean"}}}
    comps["dns-records_comment"]["nullable"] = True
    notes.append("dns-records_base: added settings {flatten_cname, "
                 "ipv4_only, ipv6_only} (live API, SPEC-NOTES 4.4); comment "
                 "nullable (null removes it)")
    ing = comps["tunnel_ingressRule"]
    ing["required"] = ["service"]
    notes.append("tunnel_ingressRule: hostname no longer required (the "
                 "catch-all rule has none)")
    comps["tunnel_originRequest"]["properties"]["matchSNItoHost"] = {
        "type": "boolean"}
    notes.append("tunnel_originRequest: added matchSNItoHost (live API, "
                 "SPEC-NOTES 4.3)")
    for n in ("tunnel_conns_active_at", "tunnel_conns_inactive_at",
              "tunnel_deleted_at"):
        if n in comps:
            comps[n]["nullable"] = True
    notes.append("tunnel_conns_active_at, tunnel_conns_inactive_at, "
                 "tunnel_deleted_at: nullable (the live API sends null "
                 "while unset)")
    return notes


def extra(comps):
    """Schemas the 2024-08-06 file lacks: record PATCH body and batch."""
    props = {}
    for name, s in comps.items():
        if name.startswith("dns-records_") and name.endswith("Record") and \
                "allOf" in s:
            for part in s["allOf"]:
                for k, v in part.get("properties", {}).items():
                    props.setdefault(k, {})
    types = []
    for name, s in comps.items():
        if name.startswith("dns-records_") and name.endswith("Record") and \
                "allOf" in s:
            types += s["allOf"][0]["properties"]["type"]["enum"]
    patchrec = {"type": "object", "allOf": [
        {"$ref": REF + "dns-records_base"},
        {"properties": {
            "type": {"type": "string", "enum": sorted(set(types))},
            "name": {"$ref": REF + "dns-records_name"},
            "content": {"type": "string"},
            "proxied": {"$ref": REF + "dns-records_proxied"},
            "priority": {"$ref": REF + "dns-records_priority"},
            "data": {"type": "object"}}}]}
    comps["sim_dns-record-patch"] = patchrec
    idobj = {"type": "object", "required": ["id"], "properties": {
        "id": {"$ref": REF + "dns-records_identifier"}}}
    comps["sim_batch"] = {"type": "object", "properties": {
        "deletes": {"type": "array", "items": idobj},
        "patches": {"type": "array", "items": {"allOf": [
            idobj, {"$ref": REF + "sim_dns-record-patch"}]}},
        "puts": {"type": "array", "items": {"allOf": [
            idobj, {"$ref": REF + "dns-records_dns-record"}]}},
        "posts": {"type": "array", "items": {
            "$ref": REF + "dns-records_dns-record"}}}}


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else SRC
    with open(src) as f:
        doc = json.load(f)
    allc = doc["components"]["schemas"]
    ops = {}
    for key, (m, p) in OPS.items():
        o = doc["paths"][p][m]
        entry = {"method": m.upper(), "path": p, "query": {}}
        for prm in o.get("parameters", []):
            if prm.get("in") == "query":
                entry["query"][prm["name"]] = copy.deepcopy(prm["schema"])
        rb = o.get("requestBody")
        js = (rb or {}).get("content", {}).get("application/json", {})
        if "schema" in js:
            entry["request"] = copy.deepcopy(js["schema"])
            entry["body_required"] = bool(rb.get("required"))
        ok = o.get("responses", {}).get("200", {})
        rs = ok.get("content", {}).get("application/json", {})
        if "schema" in rs:
            entry["response"] = copy.deepcopy(rs["schema"])
        ops[key] = entry
    ops["dns.patch"]["request"] = {"$ref": REF + "sim_dns-record-patch"}
    ops["dns.batch"] = {"method": "POST", "path": D + "/batch", "query": {},
                        "request": {"$ref": REF + "sim_batch"},
                        "body_required": True}
    need = set()
    refs(ops, need)
    need |= {"dns-records_base", "dns-records_priority"}
    comps = {}
    todo = list(need)
    while todo:
        n = todo.pop()
        if n in comps or n not in allc:
            continue
        comps[n] = copy.deepcopy(allc[n])
        more = set()
        refs(comps[n], more)
        todo += [x for x in more if x not in comps]
    notes = patch(comps)
    extra(comps)
    more = set()
    refs(comps, more)
    for n in more - set(comps):
        comps[n] = copy.deepcopy(allc[n])
    strip_docs(ops)
    strip_docs(comps)
    out = {"origin": "Cloudflare API v4 OpenAPI 3.0.3, github.com/cloudflare/"
                     "api-schemas commit cca3064f1aba08cc6cef52fc7b3d3064a9"
                     "eafcc9 (2024-08-06), BSD-3-Clause, Cloudflare, Inc.; "
                     "trimmed and patched by extract_schemas.py",
           "patches": notes, "operations": ops, "components": comps}
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %s: %d operations, %d components" % (OUT, len(ops),
                                                      len(comps)))


if __name__ == "__main__":
    main()
