# SPDX-License-Identifier: Apache-2.0
"""Structural-schema handling for custom resources, like the 1.19
apiextensions server: pruning of unknown fields, defaulting from
`default:`, and validation (type, required, enum, limits, pattern).
Field paths drop list indices and the "Invalid value" of limit errors is
the limit itself, as the recorded 1.19 server does (kube-wire case 32)."""

import re

from kubesim_util import clone

_re_cache = {}


def _regex(p):
    r = _re_cache.get(p)
    if r is None:
        try:
            r = re.compile(p)
        except re.error:
            r = re.compile("")
        _re_cache[p] = r
    return r


def _props(s):
    return s.get("properties") or {}


def prune(obj, schema, root=True):
    """Drop fields the schema does not know; returns the pruned object."""
    if schema is None:
        return obj
    if isinstance(obj, dict):
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        props = _props(schema)
        addl = schema.get("additionalProperties")
        out = {}
        for k, v in obj.items():
            if root and k in ("apiVersion", "kind"):
                out[k] = v
            elif root and k == "metadata":
                out[k] = v
            elif k in props:
                out[k] = prune(v, props[k], False)
            elif isinstance(addl, dict):
                out[k] = prune(v, addl, False)
            elif preserve or addl is True:
                out[k] = v
            elif schema.get("x-kubernetes-embedded-resource") and \
                    k in ("apiVersion", "kind", "metadata"):
                out[k] = v
        return out
    if isinstance(obj, list) and isinstance(schema.get("items"), dict):
        return [prune(v, schema["items"], False) for v in obj]
    return obj


def unknown_fields(obj, schema, path="", root=True):
    """Paths of the fields pruning would drop (fieldValidation=Strict)."""
    out = []
    if schema is None or schema.get("x-kubernetes-preserve-unknown-fields"):
        return out
    if isinstance(obj, dict):
        props = _props(schema)
        addl = schema.get("additionalProperties")
        for k, v in obj.items():
            p = path + "." + k if path else k
            if root and k in ("apiVersion", "kind", "metadata"):
                continue
            if k in props:
                out += unknown_fields(v, props[k], p, False)
            elif isinstance(addl, dict):
                out += unknown_fields(v, addl, p, False)
            elif addl is not True and not (
                    schema.get("x-kubernetes-embedded-resource") and
                    k in ("apiVersion", "kind", "metadata")):
                out.append(p)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(obj):
            out += unknown_fields(v, schema["items"], "%s[%d]" % (path, i),
                                  False)
    return out


def apply_defaults(obj, schema):
    """Fill `default:` values in place (only below existing parents)."""
    if schema is None:
        return
    if isinstance(obj, dict):
        for k, ps in _props(schema).items():
            if k not in obj and "default" in ps:
                obj[k] = clone(ps["default"])
            if k in obj:
                apply_defaults(obj[k], ps)
        addl = schema.get("additionalProperties")
        if isinstance(addl, dict):
            for k, v in obj.items():
                if k not in _props(schema):
                    apply_defaults(v, addl)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for v in obj:
            apply_defaults(v, schema["items"])


def _type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _type_ok(v, t):
    n = _type_name(v)
    if t == "number":
        return n in ("integer", "number")
    return n == t


def _q(v):
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class Cause:
    def __init__(self, reason, message, field):
        self.reason = reason
        self.message = message
        self.field = field

    def as_dict(self):
        return {"reason": self.reason, "message": self.message,
                "field": self.field}


def _inv(field, shown, what):
    return Cause("FieldValueInvalid", "Invalid value: %s: %s in body %s"
                 % (shown, field, what), field)


def validate(obj, schema, path=""):
    """Returns a list of Cause."""
    out = []
    _validate(obj, schema, path, out)
    return out


def _validate(v, s, path, out):
    if s is None:
        return
    if v is None:
        if s.get("nullable"):
            return
        t = s.get("type")
        if t:
            out.append(Cause("FieldValueInvalid",
                             'Invalid value: "null": %s in body must be of '
                             'type %s: "null"' % (path, t), path))
        return
    t = s.get("type")
    if s.get("x-kubernetes-int-or-string"):
        if not isinstance(v, (int, str)) or isinstance(v, bool):
            out.append(Cause("FieldValueInvalid",
                             'Invalid value: "%s": %s in body must be of '
                             'type integer,string: "%s"'
                             % (_type_name(v), path, _type_name(v)), path))
            return
    elif t and not _type_ok(v, t):
        n = _type_name(v)
        out.append(Cause("FieldValueInvalid",
                         'Invalid value: "%s": %s in body must be of type '
                         '%s: "%s"' % (n, path, t, n), path))
        return
    if isinstance(v, dict):
        _validate_object(v, s, path, out)
    elif isinstance(v, list):
        _validate_array(v, s, path, out)
    else:
        _validate_scalar(v, s, path, out)
    if "enum" in s and v not in s["enum"]:
        out.append(Cause("FieldValueNotSupported",
                         "Unsupported value: %s: supported values: %s"
                         % (_q(v), ", ".join(_q(e) for e in s["enum"])),
                         path))


def _join(path, k):
    return path + "." + k if path else k


def _validate_object(v, s, path, out):
    props = _props(s)
    for k in s.get("required") or []:
        if k not in v:
            f = _join(path, k)
            out.append(Cause("FieldValueRequired", "Required value", f))
    for k, ps in props.items():
        if k in v:
            if path == "" and k == "metadata":
                continue
            _validate(v[k], ps, _join(path, k), out)
    addl = s.get("additionalProperties")
    if isinstance(addl, dict):
        for k, x in v.items():
            if k not in props:
                _validate(x, addl, _join(path, k), out)
    if "maxProperties" in s and len(v) > s["maxProperties"]:
        out.append(_inv(path, s["maxProperties"], "should have at most %d "
                        "properties" % s["maxProperties"]))
    if "minProperties" in s and len(v) < s["minProperties"]:
        out.append(_inv(path, s["minProperties"], "should have at least %d "
                        "properties" % s["minProperties"]))


def _validate_array(v, s, path, out):
    if "maxItems" in s and len(v) > s["maxItems"]:
        out.append(Cause("FieldValueTooMany", "Too many: %d: must have at "
                         "most %d items" % (len(v), s["maxItems"]), path))
    if "minItems" in s and len(v) < s["minItems"]:
        out.append(_inv(path, len(v), "should have at least %d items"
                        % s["minItems"]))
    items = s.get("items")
    if isinstance(items, dict):
        for x in v:
            _validate(x, items, path, out)
    lt = s.get("x-kubernetes-list-type")
    if lt == "set":
        seen = []
        for x in v:
            if x in seen:
                out.append(Cause("FieldValueDuplicate", "Duplicate value: %s"
                                 % _q(x), path))
            seen.append(x)


def _validate_scalar(v, s, path, out):
    if isinstance(v, str):
        if "maxLength" in s and len(v) > s["maxLength"]:
            out.append(Cause("FieldValueTooLong", "Too long: must have at "
                             "most %d bytes" % s["maxLength"], path))
        if "minLength" in s and len(v) < s["minLength"]:
            out.append(_inv(path, '""', "should be at least %d chars long"
                            % s["minLength"]))
        if "pattern" in s and not _regex(s["pattern"]).search(v):
            out.append(_inv(path, '""', "should match '%s'" % s["pattern"]))
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        if "maximum" in s:
            mx = s["maximum"]
            if v > mx or (s.get("exclusiveMaximum") and v == mx):
                out.append(_inv(path, mx, "should be less than or equal to "
                                "%s" % mx))
        if "minimum" in s:
            mn = s["minimum"]
            if v < mn or (s.get("exclusiveMinimum") and v == mn):
                out.append(_inv(path, mn, "should be greater than or equal "
                                "to %s" % mn))
