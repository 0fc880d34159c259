# SPDX-License-Identifier: Apache-2.0
"""Zones and DNS records part of the API simulator (see cfsim.py)."""

import ipaddress
import itertools
import re

from cfsim_common import (ApiError, err_route, new_hex32, now_iso,
                          paginate, q_bool, q_int)

ZONE = r"/zones/(?P<zone>[^/]+)"
REC = ZONE + r"/dns_records/(?P<record>[^/]+)"

TYPES = ("A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC",
         "MX", "NAPTR", "NS", "OPENPGPKEY", "PTR", "SMIMEA", "SRV", "SSHFP",
         "SVCB", "TLSA", "TXT", "URI")
PROXIABLE = ("A", "AAAA", "CNAME")
HOST_TYPES = ("CNAME", "MX", "NS", "PTR")
PLANS = {
    # name: (display, comment max, tag quota, batch max, ttl min)
    "free": ("Free Website", 100, 0, 200, 60),
    "pro": ("Pro Website", 500, 20, 3500, 60),
    "business": ("Business Website", 500, 20, 3500, 60),
    "enterprise": ("Enterprise Website", 500, 50, 3500, 30),
}
LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
TAGNAME = re.compile(r"^[A-Za-z0-9_-]+$")
_order = itertools.count(1)


def register(sim):
    r = sim.add_route
    r("GET", r"/zones", zone_list)
    r("GET", ZONE, zone_get)
    r("GET", ZONE + r"/dns_records", rec_list)
    r("POST", ZONE + r"/dns_records", rec_create)
    r("POST", ZONE + r"/dns_records/batch", rec_batch)
    r("GET", REC, rec_get)
    r("PUT", REC, rec_put)
    r("PATCH", REC, rec_patch)
    r("DELETE", REC, rec_delete)


def _schema(key):
    def deco(fn):
        fn.schema_key = key
        return fn
    return deco


# ---- zones ------------------------------------------------------------------
def seed_zone(sim, z):
    acc = str(z["account"])
    if acc not in sim.accounts:
        sim.accounts[acc] = {"id": acc, "name": acc}
    plan = z.get("plan", "free")
    if plan not in PLANS:
        raise ValueError("unknown plan %r" % plan)
    zid = z.get("id") or new_hex32()
    ts = now_iso()
    zone = {"id": zid, "name": z["name"].lower().rstrip("."),
            "account": acc, "status": z.get("status", "active"),
            "plan": plan, "created_on": ts, "records": {}}
    sim.zones[zid] = zone
    for r in z.get("records", []) or []:
        rec = build_record(zone, r, None)
        if r.get("id"):
            rec["id"] = str(r["id"])
        check_conflicts(zone["records"], rec)
        zone["records"][rec["id"]] = rec
    return zone


def zone_json(sim, z):
    acc = sim.accounts.get(z["account"], {"id": z["account"],
                                          "name": z["account"]})
    p = PLANS[z["plan"]]
    return {"id": z["id"], "name": z["name"], "status": z["status"],
            "paused": False, "type": "full", "development_mode": 0,
            "name_servers": ["ada.ns.cloudflare.com",
                             "bob.ns.cloudflare.com"],
            "original_name_servers": None, "original_registrar": None,
            "original_dnshost": None, "modified_on": z["created_on"],
            "created_on": z["created_on"], "activated_on": z["created_on"],
            "meta": {"step": 4, "custom_certificate_quota": 0,
                     "page_rule_quota": 3, "phishing_detected": False},
            "owner": {"id": acc["id"], "type": "organization",
                      "name": acc["name"]},
            "account": {"id": acc["id"], "name": acc["name"]},
            "permissions": ["#dns_records:edit", "#dns_records:read",
                            "#zone:read"],
            "plan": {"id": z["plan"], "name": p[0], "price": 0,
                     "currency": "USD", "frequency": "",
                     "is_subscribed": z["plan"] != "free",
                     "can_subscribe": False, "legacy_id": z["plan"],
                     "legacy_discount": False,
                     "externally_managed": False}}


def state_json(sim):
    out = []
    for z in sim.zones.values():
        j = zone_json(sim, z)
        j["records"] = [rec_out(r) for r in z["records"].values()]
        out.append(j)
    return out


def _op_match(value, spec):
    """Zone filter operators: equal: not_equal: starts_with: ..."""
    value = (value or "").lower()
    op, _, arg = spec.partition(":")
    if not _ or op not in ("equal", "not_equal", "starts_with",
                           "ends_with", "contains", "starts_with_case_"
                           "sensitive"):
        op, arg = "equal", spec
    arg = arg.lower()
    return {"equal": value == arg, "not_equal": value != arg,
            "starts_with": value.startswith(arg),
            "ends_with": value.endswith(arg),
            "contains": arg in value}.get(op, value == arg)


def zone_list(ctx):
    acc = ctx.token["account"]
    page = q_int(ctx, "page", 1, 1, None)
    per = q_int(ctx, "per_page", 20, 5, 50)
    match = ctx.q("match", "all")
    if match not in ("all", "any"):
        raise ApiError(400, 1001, "Invalid match value")
    items = []
    for z in ctx.sim.zones.values():
        if z["account"] != acc:
            continue
        an = ctx.sim.accounts.get(acc, {}).get("name", acc)
        conds = []
        if ctx.q("name"):
            conds.append(_op_match(z["name"], ctx.q("name")))
        if ctx.q("account.id"):
            conds.append(z["account"] == ctx.q("account.id"))
        if ctx.q("account.name"):
            conds.append(_op_match(an, ctx.q("account.name")))
        if ctx.q("status"):
            conds.append(z["status"] == ctx.q("status"))
        if conds and not (all(conds) if match == "all" else any(conds)):
            continue
        items.append(zone_json(ctx.sim, z))
    order = ctx.q("order")
    if order:
        keyf = {"name": lambda j: j["name"], "status": lambda j: j["status"],
                "account.id": lambda j: j["account"]["id"],
                "account.name": lambda j: j["account"]["name"]}.get(order)
        if keyf is None:
            raise ApiError(400, 1001, "Invalid order field")
        items.sort(key=keyf, reverse=ctx.q("direction") == "desc")
    chunk, info = paginate(items, page, per)
    return 200, chunk, info


def _zone(ctx):
    zid = ctx.params["zone"]
    z = ctx.sim.zones.get(zid)
    if z is None:
        raise err_route(ctx.path)
    if z["account"] != ctx.token["account"]:
        raise ApiError(403, 10000, "Authentication error")
    return z


def zone_get(ctx):
    return 200, zone_json(ctx.sim, _zone(ctx)), None


# ---- record validation ------------------------------------------------------
def _dve(code, msg):
    return ApiError(400, 1004, "DNS Validation Error", chain=[(code, msg)])


def _norm_host(h):
    h = h.strip().rstrip(".")
    out = []
    for label in h.split("."):
        if any(ord(c) > 127 for c in label):
            label = label.encode("idna").decode("ascii")
        out.append(label.lower())
    return ".".join(out)


def _host_ok(h, allow_star):
    if not h or len(h) > 253:
        return False
    labels = h.split(".")
    for i, lab in enumerate(labels):
        if lab == "*" and i == 0 and allow_star:
            continue
        if not LABEL.match(lab):
            return False
    return True


def norm_name(zone, name):
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, 9000, "DNS name is invalid.")
    n = name.strip().rstrip(".")
    if n in ("", "@"):
        return zone["name"]
    try:
        n = _norm_host(n)
    except UnicodeError:
        raise ApiError(400, 9000, "DNS name is invalid.")
    if n != zone["name"] and not n.endswith("." + zone["name"]):
        n = n + "." + zone["name"]
    if not _host_ok(n, True):
        raise ApiError(400, 9000, "DNS name is invalid.")
    return n


def _norm_content(typ, content, name):
    if typ == "A":
        try:
            return str(ipaddress.IPv4Address(content))
        except (ValueError, TypeError):
            raise ApiError(400, 9005, "Content for A record must be a valid "
                           "IPv4 address.")
    if typ == "AAAA":
        try:
            return str(ipaddress.IPv6Address(content))
        except (ValueError, TypeError):
            raise ApiError(400, 9006, "Content for AAAA record must be a "
                           "valid IPv6 address.")
    if typ in HOST_TYPES:
        try:
            h = _norm_host(content) if isinstance(content, str) else ""
        except UnicodeError:
            h = ""
        if not _host_ok(h, False) or (typ == "CNAME" and h == name):
            if typ == "CNAME":
                raise ApiError(400, 9007, "Content for CNAME record is "
                               "invalid.")
            raise _dve(9010, "Content for %s record is invalid." % typ)
        return h
    if not isinstance(content, str):
        raise _dve(9010, "content must be a string")
    if typ == "TXT" and len(content) > 2048:
        raise _dve(9011, "TXT content is longer than 2048 characters")
    return content


def _norm_ttl(zone, ttl):
    lo = PLANS[zone["plan"]][4]
    ok = isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and \
        ttl == int(ttl) and (int(ttl) == 1 or lo <= int(ttl) <= 86400)
    if not ok:
        raise ApiError(400, 9021, "Invalid TTL. Must be between %d and "
                       "86400 seconds, or 1 for automatic." % lo)
    return int(ttl)


def _norm_comment(zone, c):
    if c is None or c == "":
        return None
    if not isinstance(c, str):
        raise _dve(9102, "comment must be a string")
    if "\n" in c or "\r" in c:
        raise _dve(9102, "DNS record comment must not contain line breaks")
    mx = PLANS[zone["plan"]][1]
    if len(c) > mx:
        raise _dve(9101, "DNS record comment is too long: %d characters, "
                   "the maximum is %d." % (len(c), mx))
    return c


def _norm_tags(zone, tags):
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise _dve(9301, "tags must be a list of name:value strings")
    out = []
    for t in tags:
        if not isinstance(t, str):
            raise _dve(9301, "tags must be a list of name:value strings")
        n, sep, v = t.partition(":")
        if not TAGNAME.match(n):
            raise _dve(9301, "Invalid tag name %r" % n)
        out.append(n.lower() + sep + v)
    quota = PLANS[zone["plan"]][2]
    if len(out) > quota:
        raise _dve(9300, "DNS record has %d tags, exceeding the quota of "
                   "%d." % (len(out), quota))
    return out


def _norm_settings(typ, s):
    if s is None:
        return {}
    if not isinstance(s, dict):
        raise _dve(9012, "settings must be an object")
    out = {}
    for k in ("flatten_cname", "ipv4_only", "ipv6_only"):
        if k in s:
            if not isinstance(s[k], bool):
                raise _dve(9012, "settings.%s must be a boolean" % k)
            out[k] = s[k]
    return out


def build_record(zone, data, old):
    """Validate the merged input `data` and return a new record dict."""
    if not isinstance(data, dict):
        raise ApiError(400, 9207, "Request body is invalid.")
    typ = data.get("type")
    if typ not in TYPES:
        raise ApiError(400, 9020, "Invalid DNS record type")
    name = norm_name(zone, data.get("name"))
    content = data.get("content")
    if content is None and isinstance(data.get("data"), dict):
        content = ""
    elif content is None:
        raise _dve(9010, "content is required for %s records" % typ)
    else:
        content = _norm_content(typ, content, name)
    proxied = data.get("proxied", False)
    if proxied is None:
        proxied = False
    if not isinstance(proxied, bool):
        raise ApiError(400, 9003, "Invalid 'proxied' value, must be a "
                       "boolean")
    if proxied and typ not in PROXIABLE:
        raise ApiError(400, 9004, "This record type cannot be proxied.")
    ttl = _norm_ttl(zone, data.get("ttl", 1) if data.get("ttl") is not None
                    else 1)
    if proxied:
        ttl = 1
    comment = _norm_comment(zone, data.get("comment"))
    tags = _norm_tags(zone, data.get("tags"))
    ts = now_iso()
    rec = {"id": old["id"] if old else new_hex32(), "name": name,
           "type": typ, "content": content, "proxiable": typ in PROXIABLE,
           "proxied": proxied, "ttl": ttl,
           "settings": _norm_settings(typ, data.get("settings")),
           "meta": {"auto_added": False, "managed_by_apps": False,
                    "managed_by_argo_tunnel": False, "source": "primary"},
           "comment": comment, "tags": tags,
           "created_on": old["created_on"] if old else ts,
           "modified_on": ts, "_order": old["_order"] if old
           else next(_order)}
    if typ in ("MX", "SRV", "URI"):
        pr = data.get("priority")
        if typ == "MX" and (not isinstance(pr, int) or isinstance(pr, bool)
                            or not 0 <= pr <= 65535):
            raise _dve(9100, "priority must be an integer 0-65535 for MX")
        rec["priority"] = pr
    if isinstance(data.get("data"), dict):
        rec["data"] = data["data"]
    if comment is not None:
        rec["comment_modified_on"] = ts if not old or \
            old.get("comment") != comment else \
            old.get("comment_modified_on", ts)
    if tags:
        rec["tags_modified_on"] = ts if not old or old.get("tags") != tags \
            else old.get("tags_modified_on", ts)
    return rec


def check_conflicts(records, rec):
    for r in records.values():
        if r["id"] == rec["id"] or r["name"] != rec["name"]:
            continue
        if rec["type"] == "CNAME" or (rec["type"] in ("A", "AAAA") and
                                      r["type"] == "CNAME"):
            raise ApiError(400, 81053, "An A, AAAA, or CNAME record with "
                           "that host already exists.")
        if r["type"] == "CNAME":
            raise ApiError(400, 81054, "A CNAME record with that host "
                           "already exists.")
        if r["type"] == rec["type"] and \
                r["content"].lower() == rec["content"].lower() and \
                r.get("priority") == rec.get("priority") and \
                r.get("data") == rec.get("data"):
            raise ApiError(400, 81058, "An identical record already "
                           "exists.")


def rec_out(rec):
    return {k: v for k, v in rec.items() if not k.startswith("_")}


# ---- record operations (shared by the single endpoints and batch) -----------
_MERGE_KEYS = ("type", "name", "content", "ttl", "proxied", "comment",
               "tags", "settings", "priority", "data")


def op_create(zone, records, body):
    rec = build_record(zone, body, None)
    check_conflicts(records, rec)
    records[rec["id"]] = rec
    return rec


def _existing(records, rid):
    if not isinstance(rid, str) or rid not in records:
        raise ApiError(404, 81044, "Record does not exist.")
    return records[rid]


def op_put(zone, records, rid, body):
    old = _existing(records, rid)
    if not isinstance(body, dict):
        raise ApiError(400, 9207, "Request body is invalid.")
    rec = build_record(zone, body, old)
    check_conflicts(records, rec)
    records[rid] = rec
    return rec


def op_patch(zone, records, rid, body):
    old = _existing(records, rid)
    if not isinstance(body, dict):
        raise ApiError(400, 9207, "Request body is invalid.")
    merged = {k: old[k] for k in _MERGE_KEYS if k in old}
    merged["name"] = old["name"]
    for k in _MERGE_KEYS:
        if k in body:
            merged[k] = body[k]
    rec = build_record(zone, merged, old)
    check_conflicts(records, rec)
    records[rid] = rec
    return rec


def op_delete(records, rid):
    rec = _existing(records, rid)
    del records[rid]
    return rec


# ---- record endpoints -------------------------------------------------------
def _str_filter(field, op, arg):
    arg = arg.lower()

    def f(rec):
        v = rec.get(field)
        if op == "present":
            return bool(v)
        if op == "absent":
            return not v
        v = (v or "").lower()
        if field == "name":
            v = v.rstrip(".")
            arg2 = arg.rstrip(".")
        else:
            arg2 = arg
        return {"exact": v == arg2, "contains": arg2 in v,
                "startswith": v.startswith(arg2),
                "endswith": v.endswith(arg2)}[op]
    return f


def _tag_filter(op, arg):
    n, sep, val = arg.partition(":")
    n = n.lower()
    val = val.lower()

    def f(rec):
        tags = {}
        for t in rec.get("tags") or []:
            tn, _, tv = t.partition(":")
            tags[tn.lower()] = tv.lower()
        if op == "present":
            return n in tags
        if op == "absent":
            return n not in tags
        if n not in tags:
            return False
        tv = tags[n]
        return {"exact": tv == val, "contains": val in tv,
                "startswith": tv.startswith(val),
                "endswith": tv.endswith(val)}[op]
    return f


def _vals(v):
    return v if isinstance(v, list) else [v]


def _filters(ctx):
    conds = []
    tagconds = []
    ops = ("exact", "contains", "startswith", "endswith")
    for key, raw in ctx.query.items():
        field, _, op = key.partition(".")
        for v in _vals(raw):
            if field in ("name", "content", "comment"):
                if not op:
                    op2 = "exact"
                elif op in ops or (field == "comment" and
                                   op in ("present", "absent")):
                    op2 = op
                else:
                    raise ApiError(400, 1001, "Invalid filter %s" % key)
                conds.append(_str_filter(field, op2, v))
            elif field == "tag":
                if not op:
                    op2 = "exact" if ":" in v else "present"
                elif op in ops + ("present", "absent"):
                    op2 = op
                else:
                    raise ApiError(400, 1001, "Invalid filter %s" % key)
                tagconds.append(_tag_filter(op2, v))
            elif key == "type":
                if v not in TYPES:
                    raise ApiError(400, 9020, "Invalid DNS record type")
                conds.append(lambda r, v=v: r["type"] == v)
            elif key == "search":
                s = v.lower()
                conds.append(lambda r, s=s: s in r["name"] or
                             s in r["content"].lower() or
                             s in (r.get("comment") or "").lower())
    prox = q_bool(ctx, "proxied")
    if prox is not None:
        conds.append(lambda r: r["proxied"] == prox)
    tm = ctx.q("tag_match", "all")
    if tagconds:
        if tm == "any":
            conds.append(lambda r: any(f(r) for f in tagconds))
        else:
            conds.append(lambda r: all(f(r) for f in tagconds))
    return conds


def rec_list(ctx):
    z = _zone(ctx)
    page = q_int(ctx, "page", 1, 1, None)
    per = q_int(ctx, "per_page", 100, 1, 5000)
    match = ctx.q("match", "all")
    if match not in ("all", "any") or ctx.q("tag_match", "all") not in (
            "all", "any"):
        raise ApiError(400, 1001, "Invalid match value")
    conds = _filters(ctx)
    recs = [r for r in z["records"].values()
            if not conds or (all(c(r) for c in conds) if match == "all"
                             else any(c(r) for c in conds))]
    order = ctx.q("order", "type")
    keys = {"type": lambda r: (r["type"], r["name"], r["_order"]),
            "name": lambda r: (r["name"], r["type"], r["_order"]),
            "content": lambda r: (r["content"], r["_order"]),
            "ttl": lambda r: (r["ttl"], r["_order"]),
            "proxied": lambda r: (r["proxied"], r["_order"])}
    if order not in keys:
        raise ApiError(400, 1001, "Invalid order field")
    recs.sort(key=keys[order], reverse=ctx.q("direction") == "desc")
    chunk, info = paginate([rec_out(r) for r in recs], page, per)
    return 200, chunk, info


@_schema("dns.create")
def rec_create(ctx):
    z = _zone(ctx)
    return 200, rec_out(op_create(z, z["records"], ctx.body)), None


def rec_get(ctx):
    z = _zone(ctx)
    return 200, rec_out(_existing(z["records"], ctx.params["record"])), None


@_schema("dns.put")
def rec_put(ctx):
    z = _zone(ctx)
    return 200, rec_out(op_put(z, z["records"], ctx.params["record"],
                           ctx.body)), None


@_schema("dns.patch")
def rec_patch(ctx):
    z = _zone(ctx)
    return 200, rec_out(op_patch(z, z["records"], ctx.params["record"],
                             ctx.body)), None


def rec_delete(ctx):
    z = _zone(ctx)
    op_delete(z["records"], ctx.params["record"])
    return 200, {"id": ctx.params["record"]}, None


def _batch_lists(body):
    if not isinstance(body, dict):
        raise ApiError(400, 9207, "Request body is invalid.")
    lists = {}
    for k in ("deletes", "patches", "puts", "posts"):
        v = body.get(k)
        if v is None:
            v = []
        if not isinstance(v, list) or not all(isinstance(x, dict)
                                              for x in v):
            raise ApiError(400, 9207, "Request body is invalid.",
                           pointer="/" + k)
        lists[k] = v
    return lists


@_schema("dns.batch")
def rec_batch(ctx):
    z = _zone(ctx)
    lists = _batch_lists(ctx.body)
    n = sum(len(v) for v in lists.values())
    mx = PLANS[z["plan"]][3]
    if n > mx:
        raise ApiError(400, 81092, "Batch request contains %d operations, "
                       "more than the maximum of %d." % (n, mx))
    work = dict(z["records"])
    res = {"deletes": [], "patches": [], "puts": [], "posts": []}
    for key in ("deletes", "patches", "puts", "posts"):
        for i, item in enumerate(lists[key]):
            try:
                if key == "deletes":
                    r = op_delete(work, item.get("id"))
                elif key == "patches":
                    r = op_patch(z, work, item.get("id"), item)
                elif key == "puts":
                    r = op_put(z, work, item.get("id"), item)
                else:
                    r = op_create(z, work, item)
            except ApiError as e:
                for err in e.errors:
                    err.setdefault("source", {"pointer": "/%s/%d" %
                                              (key, i)})
                raise
            res[key].append(rec_out(r))
    z["records"].clear()
    z["records"].update(work)
    return 200, res, None
