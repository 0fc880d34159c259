# SPDX-License-Identifier: Apache-2.0
"""A small JSON-schema validator for the OpenAPI 3.0 subset Cloudflare uses.

Supported keywords: $ref (to #/components/schemas/NAME), type (object,
array, string, integer, number, boolean), nullable, enum, properties,
required, additionalProperties (bool or schema), items, minItems, maxItems,
minLength, maxLength, pattern, minimum, maximum, exclusiveMinimum,
exclusiveMaximum (OpenAPI 3.0 booleans), allOf, oneOf, anyOf, not, and
format (uuid, ipv4, ipv6, date-time, hostname; cheap checks).

strict=True additionally rejects object members that no applicable schema
declares (the union of the properties of the schema itself, of every allOf
member and of the oneOf/anyOf branches the value matches), which is how
cfsim --validate models the real API's refusal of unknown fields.  Objects
whose schemas declare no properties at all, or allow additionalProperties,
stay open.

    errors = validate(schema, value, components, strict=True)
    # -> ["/config/ingress/0/hostnme: unknown field", ...]  ([] when valid)
"""

import ipaddress
import re

REF = "#/components/schemas/"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"
                       r"(Z|[+-]\d\d:\d\d)$")
_HOST = re.compile(r"^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}"
                   r"[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}"
                   r"[A-Za-z0-9_])?\.?$")


class SchemaError(Exception):
    pass


def validate(schema, value, components=None, strict=False):
    v = _Validator(components or {}, strict)
    errs = []
    v.check(schema, value, "", errs, False)
    return errs


def _ptr(path):
    return path or "/"


def _type_ok(t, v):
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    if t == "string":
        return isinstance(v, str)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":
        if isinstance(v, bool):
            return False
        return isinstance(v, int) or (isinstance(v, float) and
                                      v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "null":
        return v is None
    return True


def _enum_has(enum, v):
    for e in enum:
        if type(e) is type(v) and e == v:
            return True
        if isinstance(e, (int, float)) and isinstance(v, (int, float)) \
                and not isinstance(e, bool) and not isinstance(v, bool) \
                and e == v:
            return True
    return False


def _format_ok(fmt, v):
    try:
        if fmt == "uuid":
            return bool(_UUID.match(v))
        if fmt == "ipv4":
            ipaddress.IPv4Address(v)
        elif fmt == "ipv6":
            ipaddress.IPv6Address(v)
        elif fmt == "date-time":
            return bool(_DATETIME.match(v))
        elif fmt == "hostname":
            return len(v) <= 253 and bool(_HOST.match(v))
    except ValueError:
        return False
    return True


class _Validator:
    def __init__(self, comps, strict):
        self.comps = comps
        self.strict = strict

    def resolve(self, s):
        seen = 0
        while isinstance(s, dict) and "$ref" in s:
            r = s["$ref"]
            if not r.startswith(REF) or r[len(REF):] not in self.comps:
                raise SchemaError("unresolvable $ref %r" % r)
            s = self.comps[r[len(REF):]]
            seen += 1
            if seen > 50:
                raise SchemaError("$ref loop at %r" % r)
        return s if isinstance(s, dict) else {}

    def matches(self, s, v):
        errs = []
        self.check(s, v, "", errs, True)
        return not errs

    def known(self, s, v):
        """Property names declared for object v, or None if open."""
        s = self.resolve(s)
        ap = s.get("additionalProperties")
        if ap is True or isinstance(ap, dict):
            return None
        names = set(s.get("properties", {}))
        declared = "properties" in s
        for sub in s.get("allOf", []):
            k = self.known(sub, v)
            if k is None:
                return None
            names |= k
            declared = True
        for key in ("oneOf", "anyOf"):
            for sub in s.get(key, []):
                if not self.matches(sub, v):
                    continue
                k = self.known(sub, v)
                if k is None:
                    return None
                names |= k
                declared = True
        if not declared and ap is not False:
            return None
        return names

    def check(self, s, v, path, errs, nested):
        """Append errors; nested=True: unknown fields already checked."""
        s = self.resolve(s)
        if v is None and (s.get("nullable") or s.get("type") == "null"):
            return
        t = s.get("type")
        if t and not _type_ok(t, v):
            errs.append("%s: expected %s, got %s" % (
                _ptr(path), t, "null" if v is None else type(v).__name__))
            return
        if "enum" in s and not _enum_has(s["enum"], v):
            errs.append("%s: %r is not one of %r" % (_ptr(path), v,
                                                     s["enum"]))
        if isinstance(v, str):
            self.check_string(s, v, path, errs)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            self.check_number(s, v, path, errs)
        elif isinstance(v, list):
            self.check_array(s, v, path, errs)
        elif isinstance(v, dict):
            self.check_object(s, v, path, errs, nested)
        self.check_combinators(s, v, path, errs)

    def check_string(self, s, v, path, errs):
        if "maxLength" in s and len(v) > s["maxLength"]:
            errs.append("%s: longer than %d characters" % (_ptr(path),
                                                           s["maxLength"]))
        if "minLength" in s and len(v) < s["minLength"]:
            errs.append("%s: shorter than %d characters" % (_ptr(path),
                                                            s["minLength"]))
        if "pattern" in s and not re.search(s["pattern"], v):
            errs.append("%s: does not match %r" % (_ptr(path), s["pattern"]))
        if "format" in s and not _format_ok(s["format"], v):
            errs.append("%s: not a valid %s" % (_ptr(path), s["format"]))

    def check_number(self, s, v, path, errs):
        lo, hi = s.get("minimum"), s.get("maximum")
        if lo is not None and (v < lo or (s.get("exclusiveMinimum") is True
                                          and v == lo)):
            errs.append("%s: %r is below the minimum %r" % (_ptr(path), v,
                                                            lo))
        if hi is not None and (v > hi or (s.get("exclusiveMaximum") is True
                                          and v == hi)):
            errs.append("%s: %r is above the maximum %r" % (_ptr(path), v,
                                                            hi))

    def check_array(self, s, v, path, errs):
        if "minItems" in s and len(v) < s["minItems"]:
            errs.append("%s: fewer than %d items" % (_ptr(path),
                                                     s["minItems"]))
        if "maxItems" in s and len(v) > s["maxItems"]:
            errs.append("%s: more than %d items" % (_ptr(path),
                                                    s["maxItems"]))
        if "items" in s:
            for i, item in enumerate(v):
                self.check(s["items"], item, "%s/%d" % (path, i), errs,
                           False)

    def check_object(self, s, v, path, errs, nested):
        for r in s.get("required", []):
            if r not in v:
                errs.append("%s/%s: required field missing" % (path, r))
        props = s.get("properties", {})
        for k, sub in props.items():
            if k in v:
                self.check(sub, v[k], "%s/%s" % (path, k), errs, False)
        ap = s.get("additionalProperties")
        extra = [k for k in v if k not in props]
        if isinstance(ap, dict):
            for k in extra:
                self.check(ap, v[k], "%s/%s" % (path, k), errs, False)
        elif ap is False and not s.get("allOf") and not s.get("oneOf") \
                and not s.get("anyOf"):
            for k in extra:
                errs.append("%s/%s: unknown field" % (path, k))
        if self.strict and not nested:
            names = self.known(s, v)
            if names is not None:
                for k in v:
                    if k not in names:
                        errs.append("%s/%s: unknown field" % (path, k))

    def check_combinators(self, s, v, path, errs):
        for sub in s.get("allOf", []):
            self.check(sub, v, path, errs, True)
        if "anyOf" in s:
            results = [self.branch(sub, v, path) for sub in s["anyOf"]]
            if not any(not r for r in results):
                errs.append("%s (no anyOf branch matches)" %
                            _best(results))
        if "oneOf" in s:
            results = [self.branch(sub, v, path) for sub in s["oneOf"]]
            ok = sum(1 for r in results if not r)
            if ok == 0:
                errs.append("%s (no oneOf branch matches)" %
                            _best(results))
            elif ok > 1:
                errs.append("%s: matches %d oneOf branches" % (_ptr(path),
                                                                ok))
        if "not" in s and self.matches(s["not"], v):
            errs.append("%s: must not match schema" % _ptr(path))

    def branch(self, sub, v, path):
        errs = []
        self.check(sub, v, path, errs, True)
        return errs


def _best(results):
    """The most telling error of the failed branches: prefer branches whose
    discriminating enum (e.g. a record "type") matched."""
    def score(r):
        return (any("is not one of" in e for e in r), len(r))
    best = min(results, key=score)
    return best[0] if best else "?"
