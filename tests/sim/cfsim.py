# SPDX-License-Identifier: Apache-2.0
"""cfsim: Cloudflare API v4 simulator for cfgw tests, `make demo`, benches.

Stdlib only (/usr/bin/python3); starts in well under a second.

Command line
------------
  /usr/bin/python3 tests/sim/cfsim.py --listen 127.0.0.1:0 --port-file PATH
      [--seed FILE.json] [--auto-connect] [--connect-delay 0.2]
      [--rate-limit 1200] [--window 300] [--log PATH] [--validate]

  Binds, then atomically writes "PORT\\n" to --port-file (tmp + rename) once
  ready. API base: http://127.0.0.1:PORT/client/v4 .  SIGTERM/SIGINT stop it.
  --log appends one JSON line per API request (same objects as
  GET /_sim/requests).  --validate checks request bodies against the
  trimmed OpenAPI schemas in tests/data/cloudflare/schemas.json and rejects
  unknown or ill-typed fields (400, code 9207); the request log records the
  validation text.  Only loopback addresses are accepted for --listen.

Module use (pytest)
-------------------
  from cfsim import CFSim
  sim = CFSim(seed={...}, auto_connect=False, rate_limit=1200, window=300,
              validate=False, log_path=None, connect_delay=0.2)
  sim.start()            # binds 127.0.0.1:0, serves in a daemon thread
  sim.url                # "http://127.0.0.1:PORT/client/v4"
  sim.base               # "http://127.0.0.1:PORT"   (for /_sim/...)
  sim.port
  sim.seed({...}); sim.reset(); sim.state(); sim.requests()
  sim.set_faults({...}); sim.set_limits(limit, window)
  sim.connect(tunnel_id, **kw); sim.disconnect(tunnel_id, connector_id=None)
  sim.stop()
  Also usable as a context manager: `with CFSim(seed=...) as sim: ...`.

Seed (--seed FILE or POST /_sim/seed; merged into the current state)
-------------------------------------------------------------------
  {"accounts": [{"id": "acc1", "name": "Acme"}],
   "tokens":   [{"token": "secret-token", "account": "acc1",
                 "status": "active"}],           # or "disabled"/"expired"
   "zones":    [{"id": "<optional 32 hex>", "name": "example.com",
                 "account": "acc1", "status": "active",
                 "plan": "free",      # free|pro|business|enterprise
                 "records": [{"type": "A", "name": "www",
                              "content": "192.0.2.1"}]}],
   "tunnels":  [{"id": "<optional uuid>", "name": "pre", "account": "acc1",
                 "config_src": "cloudflare", "tunnel_secret": "<b64>",
                 "deleted": false}]}
  Plans: free = comments <= 100 chars, no tags (1004/9300), batch <= 200
  operations; pro/business = 500-char comments, 20 tags, batch 3500;
  enterprise = 500-char comments, 50 tags, batch 3500, TTL minimum 30.

Authentication
--------------
  "Authorization: Bearer <token>".  Missing header -> 401 code 10000
  "Authentication error"; unknown or inactive token -> 403 code 10000; a
  token only sees its own account (other account ids -> 403 10000; zones
  of other accounts are invisible in lists and 403 10000 when addressed by
  id).  GET /user/tokens/verify with an unknown token -> 401 code 1000
  "Invalid API Token".  The token itself is never logged (SHA-256 only).

Endpoints (under /client/v4)
----------------------------
  GET  /user/tokens/verify, /accounts/{a}/tokens/verify
       -> {"id": <32 hex>, "status": "active"}
  POST /accounts/{a}/cfd_tunnel {"name", "config_src", "tunnel_secret"?}
       409 code 1013 when a non-deleted tunnel has the name.
  GET  /accounts/{a}/cfd_tunnel  ?name ?uuid ?is_deleted ?status
       ?include_prefix ?exclude_prefix ?page ?per_page (default 20, max 1000)
  GET|PATCH|DELETE /accounts/{a}/cfd_tunnel/{id}
       PATCH {"name"?, "tunnel_secret"?}: a new secret changes the token.
       DELETE sets deleted_at; deleted tunnels are 404 (code 1003) for every
       per-tunnel endpoint.  DELETE of a tunnel that still has connectors ->
       400 code 1022 (like the real API); clean them with
       DELETE .../connections first.
  GET  /accounts/{a}/cfd_tunnel/{id}/token  -> base64(JSON {"a","t","s"})
  GET|PUT /accounts/{a}/cfd_tunnel/{id}/configurations
       {"config": {"ingress": [...], "originRequest": {...},
                   "warp-routing": {...}}}; version starts at 0 (config
       null) and increments on every PUT.  Ingress checks (400 code 1055,
       sim-chosen): last rule must be a catch-all (no hostname or "*", no
       path); only the last rule may be a catch-all; "*" only as the whole
       leftmost hostname label; no port in hostname; path must compile as a
       regex; service must be http(s)/ws(s)/tcp/ssh/rdp/smb URL with host and
       no path, unix:/unix+tls: path, http_status:100-599, hello_world,
       bastion or socks5.
  GET|DELETE /accounts/{a}/cfd_tunnel/{id}/connections (?client_id)
       DELETE answers result {} and drops all (or the given) connectors.
  GET  /accounts/{a}/cfd_tunnel/{id}/connectors/{connector_id}
       Connector: {id, arch, version, config_version, run_at, features,
       conns: [{id, uuid, client_id, client_version, colo_name,
       is_pending_reconnect, opened_at, origin_ip}]}.  Tunnel status:
       inactive (never connected), healthy (>=1 connector), down (had
       connectors, none now).
  GET  /zones ?name (exact, or equal:/not_equal:/starts_with:/ends_with:/
       contains:) ?account.id ?account.name ?status ?match ?page
       ?per_page (5..50, default 20; out of range is clamped)
  GET  /zones/{z}
  GET|POST /zones/{z}/dns_records  (filters: type, name[.exact|.contains|
       .startswith|.endswith], content[...], comment[.exact|.contains|
       .startswith|.endswith|.present|.absent], tag[...same], tag_match,
       proxied, match, order, direction, page, per_page (default 100,
       capped at 5000))
  GET|PUT|PATCH|DELETE /zones/{z}/dns_records/{id}  (81044 for unknown id)
  POST /zones/{z}/dns_records/batch {"deletes","patches","puts","posts"}
       all-or-nothing, order deletes -> patches -> puts -> posts, at most
       200 operations (free plan) -> 400 code 81092 (sim-chosen) otherwise.
  DNS errors: 81053 A/AAAA/CNAME conflict at the host (also CNAME vs any
  other record), 81054 non-address record under an existing CNAME, 81058
  identical record, 9000 bad name, 9005/9006/9007 bad A/AAAA/CNAME content,
  9004 type cannot be proxied, 9021 bad TTL, 1004 + error_chain 9300 tags
  over quota, 1004 + 9101/9102 comment too long / contains CR or LF.
  Proxied records always get ttl 1 (the API forces "auto").  Names are
  stored lower-case punycode, relative names and "@" are completed with the
  zone name.  Malformed JSON -> 400 code 9207.  Unknown routes, unknown
  zone ids and malformed ids -> 400 code 7003 "Could not route to ...,
  perhaps your object identifier is invalid?" + 7000, as the real API does.

Where the real API's behaviour is not known, the simulator picks and
documents: 404 code 1003 "Tunnel not found"; 400 code 1001 for bad tunnel
bodies and bad query values; 400 1055 for bad ingress; 405 10405 for a known
path with the wrong method; 81092 for batch size; 9101/9102/9301 inside
1004 error chains.  Success answers are checked by the tests against the
published OpenAPI 200-response schemas (tests/data/cloudflare).

Rate limit
----------
  Per token (keyed by its SHA-256), sliding window (default 1200 per 300 s).
  Every /client/v4 response carries
    Ratelimit: "default";r=<remaining>;t=<seconds until a slot frees>
    Ratelimit-Policy: "burst";q=<limit>;w=<window>
  Exceeding it -> 429, "retry-after: <s>", code 10100 "More than <limit>
  requests per <window> seconds reached", and every call of that token stays
  blocked for the full window (like the real API).  Log field over_limit.

Test control API (no auth, not counted, not logged)
---------------------------------------------------
  POST /_sim/seed    body = seed document (merge)  -> current state
  POST /_sim/reset   {"empty": false}: clear everything (state, request log,
                     faults, rate counters) and re-apply the --seed file
                     unless "empty" is true.
  GET  /_sim/state   {"accounts", "tokens": [{token_hash, account, status}],
                     "zones": [{..., "records": [...]}], "tunnels": [{...,
                     "deleted_at", "secret_sha256", "token_sha256",
                     "configuration": {version, config}, "connectors":
                     [...]}], "rate_limit": {limit, window},
                     "auto_connect": bool}
  GET  /_sim/requests[?since=SEQ]   list of {"seq", "time", "method",
                     "path", "query" (dict; repeated keys -> list), "status",
                     "token_hash", "body" (parsed JSON or null),
                     "validation" (null or error text), "over_limit",
                     "fault" (null or text), "user_agent"}; the newest
                     200000 entries are kept.
  DELETE /_sim/requests  clear the log
  POST /_sim/faults  {"seed": N, "error_rate": 0.2, "error_status": 500,
                     "rate_429": 0.05, "retry_after": 1, "latency_ms": 0,
                     "rules": [{"method": "PUT", "path_regex": "...",
                     "status": 500, "count": 1, "code": 10001,
                     "message": "...", "retry_after": 1, "raw": "<html>",
                     "after_commit": false}]}
                     Rules match method + regex (re.search on the path with
                     /client/v4 stripped); count = how many times (absent =
                     forever); after_commit runs the real handler first and
                     then replaces the response (a "lost reply").  "raw"
                     sends a non-JSON text/html body.  GET returns the
                     config, DELETE clears it.
  POST /_sim/limits  {"limit": N, "window": S}; resets all rate counters.
  POST /_sim/connect {"tunnel_id", "config_version"?, "arch"?, "version"?}
                     add a connector (default config_version = latest).
                     With "token": <tunnel token> (tunnel_id optional) it
                     acts like cloudflared --token: the token must decode
                     to the tunnel's current account/id/secret, else 401
                     {"error": ...} and no connector (a stale token after a
                     tunnel_secret rotation is refused).
  POST /_sim/disconnect {"tunnel_id", "connector_id"?}  cloudflared exits.
  POST /_sim/auto_connect {"enabled": bool, "delay": s?}
  --auto-connect: `delay` seconds after each configuration PUT every
  connector of the tunnel reports the new config_version, and one connector
  is created if the tunnel has none (status becomes healthy).
"""

import argparse
import json
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cfsim_dns  # noqa: E402
import cfsim_tunnels  # noqa: E402
from cfsim_common import (ApiError, now_iso, sha256_hex,  # noqa: E402
                          err_route)
from cfsim_control import Faults, RateLimiter, fault_response  # noqa: E402

API_PREFIX = "/client/v4"
HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_PATH = os.path.join(HERE, "..", "data", "cloudflare", "schemas.json")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
MAX_LOG = 200000          # request-log entries kept in memory


class Ctx:
    """One API request as seen by a handler."""

    def __init__(self, sim, method, path, params, query, body, token):
        self.sim = sim
        self.method = method
        self.path = path
        self.params = params
        self.query = query
        self.body = body
        self.token = token

    def q(self, name, default=None):
        v = self.query.get(name, default)
        if isinstance(v, list):
            return v[-1]
        return v

    def account(self, account_id):
        acc = self.token["account"]
        if account_id != acc or account_id not in self.sim.accounts:
            raise ApiError(403, 10000, "Authentication error")
        return account_id


class CFSim:
    """The simulator.  Thread-safe; one lock guards all state."""

    def __init__(self, seed=None, auto_connect=False, rate_limit=1200,
                 window=300, validate=False, log_path=None,
                 connect_delay=0.2, host="127.0.0.1", port=0):
        self.lock = threading.RLock()
        self.host = host
        self.req_port = port
        self.initial_seed = seed
        self.auto_connect = auto_connect
        self.connect_delay = connect_delay
        self.default_limit = (rate_limit, window)
        self.validate = validate
        self.log_path = log_path
        self.log_file = None
        self.schemas = None
        if validate:
            self.schemas = _load_schemas()
        self.server = None
        self.thread = None
        self.timers = []
        self.routes = []
        cfsim_tunnels.register(self)
        cfsim_dns.register(self)
        self._reset_state()
        if seed:
            self.apply_seed(seed)

    # ---- state -------------------------------------------------------
    def _reset_state(self):
        self.accounts = {}
        self.tokens = {}
        self.zones = {}
        self.tunnels = {}
        self.reqlog = []
        self.seq = 0
        self.faults = Faults()
        self.limiter = RateLimiter(*self.default_limit)

    def apply_seed(self, seed):
        if isinstance(seed, str):
            with open(seed) as f:
                seed = json.load(f)
        if not isinstance(seed, dict):
            raise ValueError("seed must be a JSON object")
        with self.lock:
            for a in seed.get("accounts", []) or []:
                aid = str(a["id"])
                self.accounts[aid] = {"id": aid,
                                      "name": a.get("name", aid)}
            for t in seed.get("tokens", []) or []:
                acc = str(t["account"])
                if acc not in self.accounts:
                    self.accounts[acc] = {"id": acc, "name": acc}
                self.tokens[t["token"]] = {
                    "id": t.get("id") or sha256_hex(t["token"])[:32],
                    "account": acc,
                    "status": t.get("status", "active")}
            for z in seed.get("zones", []) or []:
                cfsim_dns.seed_zone(self, z)
            for t in seed.get("tunnels", []) or []:
                cfsim_tunnels.seed_tunnel(self, t)

    def add_route(self, method, pattern, fn):
        self.routes.append((method, re.compile("^" + pattern + "$"), fn))

    def schedule(self, delay, fn):
        t = threading.Timer(delay, self._locked, args=(fn,))
        t.daemon = True
        self.timers.append(t)
        self.timers = [x for x in self.timers if x.is_alive() or x is t]
        t.start()

    def _locked(self, fn):
        with self.lock:
            fn()

    # ---- public helpers ------------------------------------------------
    def seed(self, seed):
        self.apply_seed(seed)

    def reset(self, empty=False):
        with self.lock:
            for t in self.timers:
                t.cancel()
            self.timers = []
            self._reset_state()
            if self.initial_seed and not empty:
                self.apply_seed(self.initial_seed)

    def state(self):
        with self.lock:
            return self._state_json()

    def requests(self, since=0):
        with self.lock:
            return [r for r in self.reqlog if r["seq"] > since]

    def set_faults(self, cfg):
        with self.lock:
            self.faults = Faults(cfg)

    def set_limits(self, limit, window):
        with self.lock:
            self.limiter = RateLimiter(limit, window)

    def connect(self, tunnel_id, **kw):
        with self.lock:
            return cfsim_tunnels.add_connector(self, tunnel_id, **kw)

    def disconnect(self, tunnel_id, connector_id=None):
        with self.lock:
            return cfsim_tunnels.drop_connectors(self, tunnel_id,
                                                 connector_id)

    def _state_json(self):
        return {
            "accounts": list(self.accounts.values()),
            "tokens": [{"token_hash": sha256_hex(k), "account": v["account"],
                        "status": v["status"]}
                       for k, v in self.tokens.items()],
            "zones": cfsim_dns.state_json(self),
            "tunnels": cfsim_tunnels.state_json(self),
            "rate_limit": {"limit": self.limiter.limit,
                           "window": self.limiter.window},
            "auto_connect": self.auto_connect,
        }

    # ---- server --------------------------------------------------------
    def start(self):
        if self.host not in LOOPBACK:
            raise ValueError("cfsim listens on loopback only")
        srv_cls = _Server6 if ":" in self.host else _Server
        self.server = srv_cls((self.host, self.req_port), _Handler)
        self.server.sim = self
        self.port = self.server.server_address[1]
        host = "[%s]" % self.host if ":" in self.host else self.host
        self.base = "http://%s:%d" % (host, self.port)
        self.url = self.base + API_PREFIX
        if self.log_path:
            self.log_file = open(self.log_path, "a", buffering=1)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        with self.lock:
            for t in self.timers:
                t.cancel()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.log_file:
            self.log_file.close()
            self.log_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- request handling ------------------------------------------------
    def handle(self, method, rawpath, headers, raw_body):
        """Return (status, headers dict, body bytes, content type)."""
        parsed = urllib.parse.urlsplit(rawpath)
        path = parsed.path
        query = _parse_query(parsed.query)
        if path.startswith("/_sim/") or path == "/_sim":
            return self._handle_sim(method, path, query, raw_body)
        if not path.startswith(API_PREFIX + "/"):
            return _json_resp(404, _envelope(False, None, [
                {"code": 7000, "message": "No route for that URI"}]))
        return self._handle_api(method, path[len(API_PREFIX):], query,
                                headers, raw_body)

    def _handle_api(self, method, path, query, headers, raw_body):
        auth = headers.get("Authorization", "") or ""
        token = None
        if auth[:7].lower() == "bearer ":
            token = auth[7:].strip()
        thash = sha256_hex(token) if token else None
        body, body_err = _parse_body(raw_body)
        rec = {"seq": 0, "time": now_iso(), "method": method, "path": path,
               "query": query, "status": 0, "token_hash": thash,
               "body": body, "validation": None, "over_limit": False,
               "fault": None,
               "user_agent": headers.get("User-Agent")}
        with self.lock:
            limit, window = self.limiter.limit, self.limiter.window
            ok, remaining, reset, retry = self.limiter.check(
                thash or "-", time.monotonic())
            fault = None if not ok else self.faults.pick(method, path)
            latency = float(self.faults.cfg.get("latency_ms", 0) or 0)
        if latency > 0:
            time.sleep(latency / 1000.0)
        rl_headers = {
            "Ratelimit": '"default";r=%d;t=%d' % (remaining, reset),
            "Ratelimit-Policy": '"burst";q=%d;w=%d' % (limit, int(window)),
        }
        with self.lock:
            if not ok:
                rec["over_limit"] = True
                st, env, hdrs = 429, _envelope(False, None, [{
                    "code": 10100,
                    "message": "More than %d requests per %d seconds "
                               "reached" % (limit, int(window))}]), \
                    {"retry-after": str(retry)}
            elif fault and not fault.get("after_commit"):
                st, env, hdrs = self._fault(fault, rec, limit, window)
            else:
                st, env, hdrs = self._dispatch(method, path, query, token,
                                               body, body_err, rec)
                if fault:
                    st, env, hdrs = self._fault(fault, rec, limit, window)
            rec["status"] = st
            self._log(rec)
        hdrs.update(rl_headers)
        if isinstance(env, (bytes, str)):
            data = env.encode() if isinstance(env, str) else env
            return st, hdrs, data, "text/html"
        return st, hdrs, json.dumps(env).encode(), "application/json"

    def _fault(self, f, rec, limit, window):
        st, code, msg, hdrs = fault_response(f, limit, int(window))
        rec["fault"] = "%s %d" % ("random" if f.get("_random") else "rule",
                                  st)
        if st == 429:
            rec["over_limit"] = True
        if f.get("raw") is not None:
            return st, str(f["raw"]), hdrs
        return st, _envelope(False, None, [{"code": code,
                                            "message": msg}]), hdrs

    def _log(self, rec):
        self.seq += 1
        rec["seq"] = self.seq
        self.reqlog.append(rec)
        if len(self.reqlog) > MAX_LOG:
            del self.reqlog[:len(self.reqlog) - MAX_LOG]
        if self.log_file:
            try:
                self.log_file.write(json.dumps(rec) + "\n")
            except (OSError, ValueError):
                pass

    def _dispatch(self, method, path, query, token, body, body_err, rec):
        try:
            fn, params = self._route(method, path)
            tok = self._auth(token, path)
            if body_err:
                rec["validation"] = body_err
                raise ApiError(400, 9207, "Request body is invalid.")
            if self.validate and self.schemas is not None:
                verr = _validate_body(self.schemas, method, fn, body)
                rec["validation"] = verr
                if verr:
                    raise ApiError(400, 9207, "Request body is invalid.",
                                   pointer=verr.split(":", 1)[0])
            ctx = Ctx(self, method, path, params, query, body, tok)
            out = fn(ctx)
        except ApiError as e:
            env = _envelope(False, None, e.errors)
            return e.status, env, dict(e.headers)
        status, result, info = out
        env = _envelope(True, result, [])
        if info is not None:
            env["result_info"] = info
        return status, env, {}

    def _route(self, method, path):
        allowed = False
        for m, rx, fn in self.routes:
            mt = rx.match(path)
            if not mt:
                continue
            if m == method:
                return fn, mt.groupdict()
            allowed = True
        if allowed:
            raise ApiError(405, 10405, "Method not allowed")
        raise err_route(path)

    def _auth(self, token, path):
        if not token:
            raise ApiError(401, 10000, "Authentication error")
        tok = self.tokens.get(token)
        if tok is None or tok["status"] != "active":
            if path.endswith("/tokens/verify"):
                raise ApiError(401, 1000, "Invalid API Token")
            raise ApiError(403, 10000, "Authentication error")
        return tok

    # ---- /_sim -----------------------------------------------------------
    def _handle_sim(self, method, path, query, raw_body):
        body, err = _parse_body(raw_body)
        if err:
            return _json_resp(400, {"error": err})
        try:
            with self.lock:
                out = self._sim_op(method, path, query, body or {})
        except (KeyError, ValueError, TypeError, AttributeError) as e:
            return _json_resp(400, {"error": "%s: %s" % (
                type(e).__name__, e)})
        except ApiError as e:
            return _json_resp(e.status, {"error": e.errors[0]["message"]})
        if out is None:
            return _json_resp(404, {"error": "no such /_sim endpoint"})
        return _json_resp(200, out)

    def _sim_op(self, method, path, query, body):
        op = (method, path.rstrip("/"))
        if op == ("POST", "/_sim/seed"):
            self.apply_seed(body)
            return self._state_json()
        if op == ("POST", "/_sim/reset"):
            self.reset(empty=bool(body.get("empty")))
            return {"ok": True}
        if op == ("GET", "/_sim/state"):
            return self._state_json()
        if op == ("GET", "/_sim/requests"):
            since = int(_first(query.get("since", 0)))
            return [r for r in self.reqlog if r["seq"] > since]
        if op == ("DELETE", "/_sim/requests"):
            self.reqlog = []
            return {"ok": True}
        if op == ("POST", "/_sim/faults"):
            self.faults = Faults(body)
            return self.faults.public()
        if op == ("GET", "/_sim/faults"):
            return self.faults.public()
        if op == ("DELETE", "/_sim/faults"):
            self.faults = Faults()
            return {"ok": True}
        if op == ("POST", "/_sim/limits"):
            self.limiter = RateLimiter(int(body["limit"]),
                                       float(body.get("window", 300)))
            return {"limit": self.limiter.limit,
                    "window": self.limiter.window}
        if op == ("POST", "/_sim/connect"):
            kw = {k: body[k] for k in ("config_version", "arch", "version")
                  if k in body}
            tid = body.get("tunnel_id")
            if "token" in body:
                tid = cfsim_tunnels.check_tunnel_token(self, body["token"],
                                                       tid)
            return cfsim_tunnels.add_connector(self, tid, **kw)
        if op == ("POST", "/_sim/disconnect"):
            return cfsim_tunnels.drop_connectors(self, body["tunnel_id"],
                                                 body.get("connector_id"))
        if op == ("POST", "/_sim/auto_connect"):
            self.auto_connect = bool(body.get("enabled", True))
            if "delay" in body:
                self.connect_delay = float(body["delay"])
            return {"auto_connect": self.auto_connect,
                    "delay": self.connect_delay}
        return None


# ---- helpers ---------------------------------------------------------------
def _first(v):
    return v[-1] if isinstance(v, list) else v


def _parse_query(qs):
    out = {}
    for k, v in urllib.parse.parse_qsl(qs, keep_blank_values=True):
        if k in out:
            if not isinstance(out[k], list):
                out[k] = [out[k]]
            out[k].append(v)
        else:
            out[k] = v
    return out


def _parse_body(raw):
    if not raw or not raw.strip():
        return None, None
    try:
        return json.loads(raw.decode("utf-8")), None
    except (ValueError, UnicodeDecodeError) as e:
        return None, "malformed JSON: %s" % e


def _envelope(success, result, errors, messages=None):
    return {"result": result, "success": success, "errors": list(errors),
            "messages": list(messages or [])}


def _json_resp(status, obj):
    return status, {}, json.dumps(obj).encode(), "application/json"


def _load_schemas():
    with open(SCHEMA_PATH) as f:
        return json.load(f)


def _validate_body(schemas, method, fn, body):
    """Return None or "pointer: message"."""
    import cf_schema
    key = getattr(fn, "schema_key", None)
    if key is None:
        return None
    ops = schemas.get("operations", {})
    op = ops.get(key)
    if op is None or "request" not in op:
        return None
    if body is None:
        if op.get("body_required") and method in ("POST", "PUT", "PATCH"):
            return "/: request body is required"
        return None
    errs = cf_schema.validate(op["request"], body,
                              schemas.get("components", {}), strict=True)
    if errs:
        return errs[0]
    return None


# ---- HTTP plumbing ----------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    import socket as _socket
    address_family = _socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "cloudflare"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n",
                                                             b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _serve(self):
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.send_error(400)
            return
        sim = self.server.sim
        try:
            st, hdrs, data, ctype = sim.handle(self.command, self.path,
                                               self.headers, raw)
        except Exception as e:  # never die on a bad request
            st, hdrs = 500, {}
            data = json.dumps(_envelope(False, None, [{
                "code": 10001, "message": "simulator bug: %r" % e}])).encode()
            ctype = "application/json"
        self.send_response(st)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("cf-ray", "%016x-SIM" % random.getrandbits(64))
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


# ---- CLI --------------------------------------------------------------------
def _parse_listen(s):
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
    else:
        host, _, port = s.rpartition(":")
    return host, int(port)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Cloudflare API v4 simulator")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--port-file")
    ap.add_argument("--seed")
    ap.add_argument("--auto-connect", action="store_true")
    ap.add_argument("--connect-delay", type=float, default=0.2)
    ap.add_argument("--rate-limit", type=int, default=1200)
    ap.add_argument("--window", type=float, default=300)
    ap.add_argument("--log")
    ap.add_argument("--validate", action="store_true")
    a = ap.parse_args(argv)
    host, port = _parse_listen(a.listen)
    if host not in LOOPBACK:
        ap.error("--listen must be a loopback address")
    seed = None
    if a.seed:
        with open(a.seed) as f:
            seed = json.load(f)
    sim = CFSim(seed=seed, auto_connect=a.auto_connect,
                rate_limit=a.rate_limit, window=a.window,
                validate=a.validate, log_path=a.log,
                connect_delay=a.connect_delay, host=host, port=port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sim.start()
    if a.port_file:
        tmp = a.port_file + ".tmp.%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write("%d\n" % sim.port)
        os.replace(tmp, a.port_file)
    while not stop.wait(3600):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
