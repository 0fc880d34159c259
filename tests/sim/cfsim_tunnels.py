# SPDX-License-Identifier: Apache-2.0
"""Cloudflare Tunnel (cfd_tunnel) part of the API simulator (see cfsim.py)."""

import base64
import binascii
import json
import os
import re

from cfsim_common import (ApiError, UUID_RE, err_route, new_uuid, now_iso,
                          paginate, q_bool, q_int, sha256_hex)

ACC = r"/accounts/(?P<account>[^/]+)"
TUN = ACC + r"/cfd_tunnel/(?P<tunnel>[^/]+)"

SERVICE_SCHEMES = ("http", "https", "ws", "wss", "tcp", "ssh", "rdp", "smb")
SPECIAL_SERVICES = ("hello_world", "hello-world", "bastion", "socks5")


def register(sim):
    r = sim.add_route
    r("GET", r"/user/tokens/verify", token_verify)
    r("GET", ACC + r"/tokens/verify", token_verify_account)
    r("POST", ACC + r"/cfd_tunnel", tunnel_create)
    r("GET", ACC + r"/cfd_tunnel", tunnel_list)
    r("GET", TUN, tunnel_get)
    r("PATCH", TUN, tunnel_patch)
    r("DELETE", TUN, tunnel_delete)
    r("GET", TUN + r"/token", tunnel_token)
    r("GET", TUN + r"/configurations", config_get)
    r("PUT", TUN + r"/configurations", config_put)
    r("GET", TUN + r"/connections", conns_get)
    r("DELETE", TUN + r"/connections", conns_delete)
    r("GET", TUN + r"/connectors/(?P<connector>[^/]+)", connector_get)


def _schema(key):
    def deco(fn):
        fn.schema_key = key
        return fn
    return deco


# ---- tokens -----------------------------------------------------------------
def _verify_result(tok):
    return {"id": tok["id"], "status": tok["status"]}


def token_verify(ctx):
    return 200, _verify_result(ctx.token), None


def token_verify_account(ctx):
    ctx.account(ctx.params["account"])
    return 200, _verify_result(ctx.token), None


# ---- tunnel objects ---------------------------------------------------------
def _secret_ok(s):
    if not isinstance(s, str):
        return False
    try:
        raw = base64.b64decode(s.encode(), validate=True)
    except (binascii.Error, ValueError):
        try:
            raw = base64.urlsafe_b64decode(s.encode())
        except (binascii.Error, ValueError):
            return False
    return len(raw) >= 32


def _new_secret():
    return base64.b64encode(os.urandom(32)).decode()


def make_tunnel(sim, account, name, config_src="local", secret=None,
                tid=None):
    t = {"id": tid or new_uuid(), "account": account, "name": name,
         "config_src": config_src, "secret": secret or _new_secret(),
         "created_at": now_iso(), "deleted_at": None, "connectors": [],
         "conns_active_at": None, "conns_inactive_at": None,
         "config": None, "config_version": 0, "config_created_at": None}
    sim.tunnels[t["id"]] = t
    return t


def seed_tunnel(sim, s):
    acc = str(s["account"])
    if acc not in sim.accounts:
        sim.accounts[acc] = {"id": acc, "name": acc}
    t = make_tunnel(sim, acc, s["name"], s.get("config_src", "cloudflare"),
                    s.get("tunnel_secret"), s.get("id"))
    if s.get("deleted"):
        t["deleted_at"] = now_iso()
    if s.get("config") is not None:
        t["config"] = s["config"]
        t["config_version"] = int(s.get("config_version", 1))
        t["config_created_at"] = now_iso()
    return t


def _status(t):
    if t["connectors"]:
        return "healthy"
    if t["conns_active_at"] or t["conns_inactive_at"]:
        return "down"
    return "inactive"


def _flat_conns(t):
    out = []
    for c in t["connectors"]:
        out.extend(dict(x) for x in c["conns"])
    return out


def tunnel_json(t):
    return {"id": t["id"], "account_tag": t["account"],
            "created_at": t["created_at"], "deleted_at": t["deleted_at"],
            "name": t["name"], "connections": _flat_conns(t),
            "conns_active_at": t["conns_active_at"],
            "conns_inactive_at": t["conns_inactive_at"],
            "tun_type": "cfd_tunnel", "metadata": {}, "status": _status(t),
            "remote_config": t["config_src"] == "cloudflare",
            "config_src": t["config_src"]}


def token_of(t):
    doc = {"a": t["account"], "t": t["id"], "s": t["secret"]}
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode()


def state_json(sim):
    out = []
    for t in sim.tunnels.values():
        j = tunnel_json(t)
        j["secret_sha256"] = sha256_hex(t["secret"])
        j["token_sha256"] = sha256_hex(token_of(t))
        j["configuration"] = {"version": t["config_version"],
                              "config": t["config"]}
        j["connectors"] = [dict(c) for c in t["connectors"]]
        out.append(j)
    return out


def _tunnel(ctx, allow_deleted=False):
    acc = ctx.account(ctx.params["account"])
    tid = ctx.params["tunnel"]
    if not UUID_RE.match(tid):
        raise err_route(ctx.path)
    t = ctx.sim.tunnels.get(tid)
    if t is None or t["account"] != acc or (
            t["deleted_at"] and not allow_deleted):
        raise ApiError(404, 1003, "Tunnel not found")
    return t


def _body_obj(ctx):
    b = ctx.body
    if b is None:
        b = {}
    if not isinstance(b, dict):
        raise ApiError(400, 1001, "Request body must be a JSON object")
    return b


def _check_name(name):
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, 1001, "Missing or empty tunnel name")
    if len(name) > 255:
        raise ApiError(400, 1001, "Tunnel name too long")


# ---- tunnel endpoints -------------------------------------------------------
@_schema("tunnel.create")
def tunnel_create(ctx):
    acc = ctx.account(ctx.params["account"])
    b = _body_obj(ctx)
    name = b.get("name")
    _check_name(name)
    src = b.get("config_src", "local")
    if src not in ("local", "cloudflare"):
        raise ApiError(400, 1001, "config_src must be local or cloudflare")
    secret = b.get("tunnel_secret")
    if secret is not None and not _secret_ok(secret):
        raise ApiError(400, 1001, "tunnel_secret must be at least 32 bytes "
                       "encoded as base64")
    for t in ctx.sim.tunnels.values():
        if t["account"] == acc and t["name"] == name and \
                not t["deleted_at"]:
            raise ApiError(409, 1013, "tunnel with this name already exists")
    t = make_tunnel(ctx.sim, acc, name, src, secret)
    return 200, tunnel_json(t), None


def _match_tunnel(ctx, t, acc):
    if t["account"] != acc:
        return False
    name = ctx.q("name")
    if name is not None and name != "" and t["name"] != name:
        return False
    deleted = q_bool(ctx, "is_deleted")
    if deleted is True and not t["deleted_at"]:
        return False
    if deleted is False and t["deleted_at"]:
        return False
    uid = ctx.q("uuid")
    if uid and t["id"] != uid:
        return False
    st = ctx.q("status")
    if st and _status(t) != st:
        return False
    inc = ctx.q("include_prefix")
    if inc and not t["name"].startswith(inc):
        return False
    exc = ctx.q("exclude_prefix")
    if exc and t["name"].startswith(exc):
        return False
    return True


def tunnel_list(ctx):
    acc = ctx.account(ctx.params["account"])
    page = q_int(ctx, "page", 1, 1, None)
    per = q_int(ctx, "per_page", 20, 1, 1000)
    st = ctx.q("status")
    if st and st not in ("inactive", "degraded", "healthy", "down"):
        raise ApiError(400, 1001, "Invalid status filter")
    items = [tunnel_json(t) for t in ctx.sim.tunnels.values()
             if _match_tunnel(ctx, t, acc)]
    chunk, info = paginate(items, page, per)
    return 200, chunk, info


def tunnel_get(ctx):
    return 200, tunnel_json(_tunnel(ctx)), None


@_schema("tunnel.patch")
def tunnel_patch(ctx):
    t = _tunnel(ctx)
    b = _body_obj(ctx)
    name = b.get("name")
    if "name" in b:
        _check_name(name)
        for o in ctx.sim.tunnels.values():
            if o is not t and o["account"] == t["account"] and \
                    o["name"] == name and not o["deleted_at"]:
                raise ApiError(409, 1013,
                               "tunnel with this name already exists")
    secret = b.get("tunnel_secret")
    if "tunnel_secret" in b and not _secret_ok(secret):
        raise ApiError(400, 1001, "tunnel_secret must be at least 32 bytes "
                       "encoded as base64")
    if "name" in b:
        t["name"] = name
    if "tunnel_secret" in b:
        t["secret"] = secret
    return 200, tunnel_json(t), None


def tunnel_delete(ctx):
    t = _tunnel(ctx)
    if t["connectors"]:
        raise ApiError(400, 1022, "Cannot delete tunnel because it has "
                       "active connections. Clean up the connections "
                       "first.")
    t["deleted_at"] = now_iso()
    return 200, tunnel_json(t), None


def tunnel_token(ctx):
    return 200, token_of(_tunnel(ctx)), None


# ---- configurations ---------------------------------------------------------
def _config_json(t):
    return {"account_id": t["account"], "tunnel_id": t["id"],
            "version": t["config_version"], "config": t["config"],
            "source": t["config_src"],
            "created_at": t["config_created_at"] or t["created_at"]}


def config_get(ctx):
    return 200, _config_json(_tunnel(ctx)), None


def _bad_cfg(msg, ptr=None):
    return ApiError(400, 1055, "Invalid tunnel configuration: " + msg,
                    pointer=ptr)


def _check_hostname(h, i):
    if not isinstance(h, str):
        raise _bad_cfg("ingress rule #%d: hostname must be a string" % i)
    if ":" in h:
        raise _bad_cfg("ingress rule #%d: hostname cannot contain a port" %
                       i)
    if "*" in h and h != "*":
        if h.count("*") > 1 or not h.startswith("*."):
            raise _bad_cfg("ingress rule #%d: hostname patterns can have at "
                           "most one wildcard character (\"*\") and it can "
                           "only be used for subdomains, e.g. "
                           "\"*.example.com\"" % i)
    if h and not re.match(r"^[A-Za-z0-9*]([A-Za-z0-9_.*-]*[A-Za-z0-9])?$",
                          h):
        raise _bad_cfg("ingress rule #%d: invalid hostname %r" % (i, h))


def check_service(s, i):
    if not isinstance(s, str) or not s:
        raise _bad_cfg("ingress rule #%d: service is required" % i)
    if s in SPECIAL_SERVICES:
        return
    m = re.match(r"^http_status:(\d+)$", s)
    if m:
        if not 100 <= int(m.group(1)) <= 599:
            raise _bad_cfg("ingress rule #%d: invalid HTTP status %s" %
                           (i, m.group(1)))
        return
    m = re.match(r"^(unix|unix\+tls):(.+)$", s)
    if m:
        return
    m = re.match(r"^([a-z0-9+]+)://([^/?#]*)(.*)$", s)
    if not m or m.group(1) not in SERVICE_SCHEMES:
        raise _bad_cfg("ingress rule #%d: %r is an invalid service; it must "
                       "be http(s)://, tcp://, ssh://, rdp://, smb://, "
                       "unix:, unix+tls:, http_status:NNN, hello_world, "
                       "bastion or socks5" % (i, s))
    if not m.group(2):
        raise _bad_cfg("ingress rule #%d: %r has no host" % (i, s))
    if m.group(3) not in ("", "/"):
        raise _bad_cfg("ingress rule #%d: %r: ingress rules don't support "
                       "proxying to a different path on the origin service"
                       % (i, s))


def _check_rule(rule, i, last):
    if not isinstance(rule, dict):
        raise _bad_cfg("ingress rule #%d must be an object" % i)
    h = rule.get("hostname", "")
    if h is None:
        h = ""
    _check_hostname(h, i)
    p = rule.get("path", "")
    if p is None:
        p = ""
    if not isinstance(p, str):
        raise _bad_cfg("ingress rule #%d: path must be a string" % i)
    try:
        re.compile(p)
    except re.error as e:
        raise _bad_cfg("ingress rule #%d: invalid path regex: %s" % (i, e))
    check_service(rule.get("service"), i)
    o = rule.get("originRequest")
    if o is not None and not isinstance(o, dict):
        raise _bad_cfg("ingress rule #%d: originRequest must be an object"
                       % i)
    catch_all = h in ("", "*") and p == ""
    if last and not catch_all:
        raise _bad_cfg("the last ingress rule must match all URLs (i.e. it "
                       "should not have a hostname or path filter)")
    if not last and catch_all:
        raise _bad_cfg("rule #%d is matching all hostnames, but isn't the "
                       "last rule" % i)


def check_config(cfg):
    if not isinstance(cfg, dict):
        raise _bad_cfg("config must be an object", "/config")
    ing = cfg.get("ingress")
    if ing is not None:
        if not isinstance(ing, list):
            raise _bad_cfg("ingress must be a list", "/config/ingress")
        for i, rule in enumerate(ing):
            _check_rule(rule, i + 1, i == len(ing) - 1)
    o = cfg.get("originRequest")
    if o is not None and not isinstance(o, dict):
        raise _bad_cfg("originRequest must be an object")
    w = cfg.get("warp-routing")
    if w is not None and not isinstance(w, dict):
        raise _bad_cfg("warp-routing must be an object")


@_schema("tunnel.config.put")
def config_put(ctx):
    t = _tunnel(ctx)
    b = _body_obj(ctx)
    if "config" not in b:
        raise _bad_cfg("missing config", "/config")
    check_config(b["config"])
    t["config"] = b["config"]
    t["config_version"] += 1
    t["config_created_at"] = now_iso()
    sim = ctx.sim
    if sim.auto_connect:
        tid = t["id"]
        sim.schedule(sim.connect_delay, lambda: auto_apply(sim, tid))
    return 200, _config_json(t), None


# ---- connectors -------------------------------------------------------------
def _connector(t, version=None, arch="linux_amd64", cver="2024.8.2"):
    cid = new_uuid()
    ts = now_iso()
    conns = []
    for colo in ("dfw08", "iad03", "dfw09", "iad12"):
        conns.append({"id": new_uuid(), "uuid": None, "client_id": cid,
                      "client_version": cver, "colo_name": colo,
                      "is_pending_reconnect": False, "opened_at": ts,
                      "origin_ip": "127.0.0.1"})
    for c in conns:
        c["uuid"] = c["id"]
    return {"id": cid, "arch": arch, "version": cver,
            "config_version": t["config_version"] if version is None
            else int(version),
            "run_at": ts, "features": ["serialized_headers",
                                       "support_datagram_v2"],
            "conns": conns}


def add_connector(sim, tunnel_id, config_version=None, arch="linux_amd64",
                  version="2024.8.2"):
    t = sim.tunnels.get(tunnel_id)
    if t is None or t["deleted_at"]:
        raise ApiError(404, 1003, "Tunnel not found")
    c = _connector(t, config_version, arch, version)
    t["connectors"].append(c)
    t["conns_active_at"] = t["conns_active_at"] or c["run_at"]
    t["conns_inactive_at"] = None
    return c


def check_tunnel_token(sim, token, tunnel_id=None):
    """Return the tunnel id a cloudflared token is valid for, or raise."""
    try:
        doc = json.loads(base64.b64decode(str(token).encode()))
        acc, tid, sec = doc["a"], doc["t"], doc["s"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise ApiError(401, 1000, "Unauthorized: malformed tunnel token")
    t = sim.tunnels.get(tid)
    if t is None or t["deleted_at"] or t["account"] != acc or \
            (tunnel_id and tunnel_id != tid):
        raise ApiError(401, 1000, "Unauthorized: unknown tunnel")
    if sec != t["secret"]:
        raise ApiError(401, 1000, "Unauthorized: Invalid tunnel secret")
    return tid


def drop_connectors(sim, tunnel_id, connector_id=None):
    t = sim.tunnels.get(tunnel_id)
    if t is None:
        raise ApiError(404, 1003, "Tunnel not found")
    before = len(t["connectors"])
    t["connectors"] = [c for c in t["connectors"]
                       if connector_id and c["id"] != connector_id]
    if before and not t["connectors"]:
        t["conns_inactive_at"] = now_iso()
    return {"removed": before - len(t["connectors"])}


def auto_apply(sim, tid):
    t = sim.tunnels.get(tid)
    if t is None or t["deleted_at"] or not sim.auto_connect:
        return
    if not t["connectors"]:
        add_connector(sim, tid)
        return
    for c in t["connectors"]:
        c["config_version"] = t["config_version"]


def conns_get(ctx):
    t = _tunnel(ctx)
    return 200, [dict(c) for c in t["connectors"]], None


def conns_delete(ctx):
    t = _tunnel(ctx)
    drop_connectors(ctx.sim, t["id"], ctx.q("client_id") or None)
    return 200, {}, None


def connector_get(ctx):
    t = _tunnel(ctx)
    for c in t["connectors"]:
        if c["id"] == ctx.params["connector"]:
            return 200, dict(c), None
    raise ApiError(404, 1003, "Connector not found")
