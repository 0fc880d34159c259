# SPDX-License-Identifier: Apache-2.0
"""Small helpers shared by the Kubernetes API simulator modules: JSON
encoding the way the Go API server does it, Status bodies, timestamps."""

import datetime
import json
import uuid

OBJECT_META_ORDER = (
    "name", "generateName", "namespace", "selfLink", "uid",
    "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "clusterName",
    "managedFields",
)


class ApiError(Exception):
    """An API error answered with a Status body (or plain text)."""

    def __init__(self, code, body, headers=None, text=None):
        super().__init__(body.get("message") if body else text)
        self.code = code
        self.body = body
        self.text = text
        self.headers = headers or {}


def status_body(code, reason, message, details=None, meta=None):
    d = {"kind": "Status", "apiVersion": "v1", "metadata": meta or {},
         "status": "Failure", "message": message}
    if reason:
        d["reason"] = reason
    if details is not None:
        d["details"] = details
    d["code"] = code
    return d


def error(code, reason, message, details=None, meta=None):
    return ApiError(code, status_body(code, reason, message, details, meta))


def not_found_text():
    return ApiError(404, None, text="404 page not found\n")


def _parse_float(s):
    f = float(s)
    if f.is_integer() and abs(f) < 1e21:
        return int(f)
    return f


def _parse_const(s):
    raise ValueError("invalid JSON constant " + s)


def loads(data):
    """Parse JSON like Go's unstructured decoder (integral floats become
    integers, NaN/Infinity rejected)."""
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8")
    return json.loads(data, parse_float=_parse_float,
                      parse_constant=_parse_const)


_ESC = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
        ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def dumps(obj, pretty=False):
    """Compact JSON ending in a newline, escaped like Go; returns bytes."""
    if pretty:
        s = json.dumps(obj, indent=2, ensure_ascii=False)
    else:
        s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for a, b in _ESC:
        if a in s:
            s = s.replace(a, b)
    if not pretty:
        s += "\n"
    return s.encode("utf-8", "replace")


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def new_uid():
    return str(uuid.uuid4())


def clone(o):
    """Fast deep copy of JSON data."""
    if isinstance(o, dict):
        return {k: clone(v) for k, v in o.items()}
    if isinstance(o, list):
        return [clone(v) for v in o]
    return o


def sort_keys(o):
    """Recursively sorted copy (custom resources are unstructured maps and
    the Go encoder sorts map keys)."""
    if isinstance(o, dict):
        return {k: sort_keys(o[k]) for k in sorted(o)}
    if isinstance(o, list):
        return [sort_keys(v) for v in o]
    return o


def order_meta(meta):
    out = {}
    for k in OBJECT_META_ORDER:
        if k in meta:
            out[k] = meta[k]
    for k, v in meta.items():
        if k not in out:
            out[k] = v
    return out


def order_builtin(obj, field_order=()):
    """Go struct order for a built-in object: kind, apiVersion, metadata,
    then the kind's fields in declaration order, status last."""
    out = {}
    for k in ("kind", "apiVersion"):
        if k in obj:
            out[k] = obj[k]
    if "metadata" in obj:
        out["metadata"] = order_meta(obj["metadata"])
    for k in field_order:
        if k in obj and k not in out:
            out[k] = obj[k]
    for k, v in obj.items():
        if k not in out and k != "status":
            out[k] = v
    if "status" in obj:
        out["status"] = obj["status"]
    return out
