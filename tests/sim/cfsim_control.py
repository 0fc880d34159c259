# SPDX-License-Identifier: Apache-2.0
"""Rate limiter and fault injection of the API simulator (see cfsim.py)."""

import collections
import random
import re


class RateLimiter:
    def __init__(self, limit, window):
        self.limit = int(limit)
        self.window = float(window)
        self.hits = {}
        self.blocked = {}

    def check(self, key, now):
        """Return (allowed, remaining, reset_s, retry_after_s)."""
        until = self.blocked.get(key, 0)
        if until > now:
            wait = max(1, int(until - now + 0.999))
            return False, 0, wait, wait
        q = self.hits.setdefault(key, collections.deque())
        cut = now - self.window
        while q and q[0] <= cut:
            q.popleft()
        if len(q) >= self.limit:
            self.blocked[key] = now + self.window
            wait = max(1, int(self.window))
            return False, 0, wait, wait
        q.append(now)
        reset = max(1, int(q[0] + self.window - now + 0.999))
        return True, self.limit - len(q), reset, 0


class Faults:
    def __init__(self, cfg=None):
        self.cfg = dict(cfg or {})
        self.rng = random.Random(self.cfg.get("seed", 0))
        self.rules = []
        for k in ("error_rate", "rate_429", "latency_ms", "retry_after"):
            if k in self.cfg:
                float(self.cfg[k])
        if "error_status" in self.cfg:
            int(self.cfg["error_status"])
        for r in self.cfg.get("rules", []) or []:
            rr = dict(r)
            try:
                rr["_re"] = re.compile(rr.get("path_regex", ".*"))
            except re.error as e:
                raise ValueError("bad path_regex: %s" % e)
            rr["_left"] = rr.get("count")
            if rr["_left"] is not None:
                rr["_left"] = int(rr["_left"])
            rr["status"] = int(rr.get("status", 500))
            if rr.get("code") is not None:
                rr["code"] = int(rr["code"])
            self.rules.append(rr)

    def pick(self, method, path):
        """Return a fault dict or None; consumes rule counts."""
        for r in self.rules:
            m = r.get("method")
            if m and m.upper() != method:
                continue
            if not r["_re"].search(path):
                continue
            if r["_left"] is not None:
                if r["_left"] <= 0:
                    continue
                r["_left"] -= 1
            return r
        c = self.cfg
        if c.get("rate_429") and self.rng.random() < float(c["rate_429"]):
            return {"status": 429, "code": 10100,
                    "retry_after": c.get("retry_after", 1),
                    "_random": True}
        if c.get("error_rate") and self.rng.random() < float(c["error_rate"]):
            return {"status": int(c.get("error_status", 500)),
                    "_random": True}
        return None

    def public(self):
        return dict(self.cfg)


def fault_response(f, limit, window):
    status = int(f.get("status", 500))
    code = f.get("code")
    msg = f.get("message")
    if code is None:
        code = 10100 if status == 429 else (10000 if status in (401, 403)
                                            else 10001)
    if msg is None:
        if status == 429:
            msg = "More than %d requests per %d seconds reached" % (
                limit, window)
        elif status >= 500:
            msg = "Internal server error (simulated)"
        else:
            msg = "Simulated error"
    hdrs = {}
    if status == 429 or "retry_after" in f:
        hdrs["retry-after"] = str(f.get("retry_after", 1))
    return status, code, msg, hdrs
