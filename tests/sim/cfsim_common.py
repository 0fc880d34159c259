# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the Cloudflare API simulator (see cfsim.py)."""

import datetime
import hashlib
import math
import re
import uuid

HEX32 = re.compile(r"^[0-9a-f]{32}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")


class ApiError(Exception):
    """An error answer: HTTP status plus Cloudflare error objects."""

    def __init__(self, status, code, message, chain=None, pointer=None,
                 headers=None):
        super().__init__(message)
        self.status = status
        err = {"code": code, "message": message}
        if chain:
            err["error_chain"] = [{"code": c, "message": m}
                                  for c, m in chain]
        if pointer:
            err["source"] = {"pointer": pointer}
        self.errors = [err]
        self.headers = headers or {}


def err_route(path):
    e = ApiError(400, 7003, "Could not route to /client/v4%s, perhaps your "
                 "object identifier is invalid?" % path)
    e.errors.append({"code": 7000, "message": "No route for that URI"})
    return e


def now_iso():
    d = datetime.datetime.now(datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256_hex(s):
    if isinstance(s, str):
        s = s.encode()
    return hashlib.sha256(s).hexdigest()


def new_hex32():
    return uuid.uuid4().hex


def new_uuid():
    return str(uuid.uuid4())


def q_int(ctx, name, default, lo, hi, clamp=True):
    """Integer query parameter; bad syntax -> 400, range clamped."""
    v = ctx.q(name)
    if v is None or v == "":
        return default
    try:
        n = int(float(v))
    except ValueError:
        raise ApiError(400, 1001, "Invalid %s: %r is not a number" %
                       (name, v))
    if n < lo:
        if not clamp:
            raise ApiError(400, 1001, "Invalid %s: must be >= %d" %
                           (name, lo))
        n = lo
    if hi is not None and n > hi:
        n = hi
    return n


def q_bool(ctx, name):
    v = ctx.q(name)
    if v is None or v == "":
        return None
    lv = v.lower()
    if lv in ("true", "1"):
        return True
    if lv in ("false", "0"):
        return False
    raise ApiError(400, 1001, "Invalid %s: %r is not a boolean" % (name, v))


def paginate(items, page, per_page):
    total = len(items)
    start = (page - 1) * per_page
    chunk = items[start:start + per_page]
    info = {"page": page, "per_page": per_page, "count": len(chunk),
            "total_count": total,
            "total_pages": int(math.ceil(total / float(per_page)))}
    return chunk, info
