# SPDX-License-Identifier: Apache-2.0
"""Object store of the Kubernetes API simulator: one global resourceVersion
counter, objects per storage key, a bounded event history for watches,
label/field selectors."""

import re
import threading

from kubesim_util import error


class Event:
    __slots__ = ("rv", "skey", "type", "obj", "prev")

    def __init__(self, rv, skey, type_, obj, prev):
        self.rv = rv
        self.skey = skey
        self.type = type_
        self.obj = obj
        self.prev = prev


class Store:
    def __init__(self, history=10000, start_rv=100):
        self.cond = threading.Condition(threading.RLock())
        self.rv = start_rv
        self.objs = {}          # skey -> {namespace: {name: obj}}
        self.events = []        # Event, increasing rv
        self.ev_base = 0        # absolute index of events[0]
        self.history = max(10, history)
        self.compacted = 0      # watches from rv < this are too old
        self.last_rv = {}       # skey -> rv of the last event
        self.closed = False

    # --- reads (call with the lock held or accept a racy snapshot) ---
    def get(self, skey, ns, name):
        return self.objs.get(skey, {}).get(ns or "", {}).get(name)

    def items(self, skey, ns=None):
        """Objects sorted by (namespace, name); ns None = all."""
        byns = self.objs.get(skey, {})
        out = []
        if ns is not None:
            d = byns.get(ns, {})
            return [(ns, n, d[n]) for n in sorted(d)]
        for n in sorted(byns):
            d = byns[n]
            out.extend((n, k, d[k]) for k in sorted(d))
        return out

    def count(self, skey):
        return sum(len(d) for d in self.objs.get(skey, {}).values())

    # --- writes (caller holds self.cond) ---
    def next_rv(self):
        self.rv += 1
        return self.rv

    def put(self, skey, obj, type_, prev=None):
        """Store obj (its metadata.resourceVersion already set to the new
        rv by the caller) and record the event."""
        meta = obj["metadata"]
        ns = meta.get("namespace") or ""
        self.objs.setdefault(skey, {}).setdefault(ns, {})[meta["name"]] = obj
        self._record(skey, type_, obj, prev)

    def remove(self, skey, obj, final):
        """Remove the object; `final` is the state sent in DELETED."""
        meta = obj["metadata"]
        ns = meta.get("namespace") or ""
        d = self.objs.get(skey, {}).get(ns, {})
        d.pop(meta["name"], None)
        if not d and ns in self.objs.get(skey, {}):
            del self.objs[skey][ns]
        self._record(skey, "DELETED", final, obj)

    def _record(self, skey, type_, obj, prev):
        rv = int(obj["metadata"]["resourceVersion"])
        self.events.append(Event(rv, skey, type_, obj, prev))
        self.last_rv[skey] = rv
        if len(self.events) > self.history + self.history // 4:
            drop = len(self.events) - self.history
            self.compacted = self.events[drop - 1].rv
            del self.events[:drop]
            self.ev_base += drop
        self.cond.notify_all()

    def compact(self):
        """Forget the event history (like an etcd compaction): watches and
        continue tokens from older resourceVersions get 410."""
        with self.cond:
            self.ev_base += len(self.events)
            self.events = []
            self.compacted = self.rv
            self.cond.notify_all()

    def start_index(self, rv):
        """Absolute index of the first event with rv > given rv, or None
        when that part of the history is gone."""
        if rv < self.compacted:
            return None
        lo, hi = 0, len(self.events)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.events[mid].rv <= rv:
                lo = mid + 1
            else:
                hi = mid
        return self.ev_base + lo

    def events_from(self, idx):
        """Events from absolute index idx; None if compacted away."""
        if idx < self.ev_base:
            return None
        return self.events[idx - self.ev_base:]

    def end_index(self):
        return self.ev_base + len(self.events)


# ---------------------------------------------------------------- selectors

_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VAL = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def _split_top(s):
    """Split on commas not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def _bad_selector(sel, why):
    return error(400, "BadRequest",
                 "unable to parse requirement: " + why)


def parse_label_selector(sel):
    """Returns a list of (key, op, values); raises ApiError 400."""
    reqs = []
    if not sel or not sel.strip():
        return reqs
    for part in _split_top(sel):
        p = part.strip()
        if not p:
            raise _bad_selector(sel, "found '', expected: !, identifier, "
                                "or 'end of string'")
        m = re.match(r"^(\S+?)\s+(in|notin)\s*\((.*)\)$", p)
        if m:
            key, op = m.group(1), m.group(2)
            vals = [v.strip() for v in m.group(3).split(",")]
            vals = [v for v in vals if v != ""] if op == "notin" else vals
        elif p.startswith("!"):
            key, op, vals = p[1:].strip(), "!", []
        else:
            m = re.match(r"^([^=!<> ]+)\s*(==|=|!=|<|>)\s*(.*)$", p)
            if m and m.group(3)[:1] in ("=", "!", "<", ">", "(", ")", ","):
                raise error(400, "BadRequest", "unable to parse requirement:"
                            " found '%s', expected: identifier"
                            % m.group(3)[:1])
            if m:
                key, op, vals = m.group(1), m.group(2), [m.group(3).strip()]
                if op == "==":
                    op = "="
                if op in ("<", ">"):
                    try:
                        int(vals[0])
                    except ValueError:
                        raise _bad_selector(sel, "for 'Gt', 'Lt' operators, "
                                            "the value must be an integer")
            elif re.match(r"^[^=!<>() ]+$", p):
                key, op, vals = p, "exists", []
            else:
                raise _bad_selector(sel, "found '%s', expected: identifier"
                                    % p)
        if not _LABEL_KEY.match(key) or len(key.split("/")[-1]) > 63:
            raise error(400, "BadRequest",
                        "unable to parse requirement: invalid label key "
                        "\"%s\": name part must consist of alphanumeric "
                        "characters, '-', '_' or '.', and must start and end"
                        " with an alphanumeric character (e.g. 'MyName',  or"
                        " 'my.name',  or '123-abc', regex used for "
                        "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?"
                        "[A-Za-z0-9]')" % key)
        for v in vals:
            if op not in ("<", ">") and (not _LABEL_VAL.match(v) or
                                         len(v) > 63):
                raise error(400, "BadRequest",
                            "unable to parse requirement: invalid label "
                            "value: \"%s\": at key: \"%s\": a valid label "
                            "must be an empty string or consist of "
                            "alphanumeric characters, '-', '_' or '.', and "
                            "must start and end with an alphanumeric "
                            "character (e.g. 'MyValue',  or 'my_value',  or"
                            " '12345', regex used for validation is "
                            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
                            % (v, key))
        reqs.append((key, op, vals))
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and v != vals[0]:
            return False
        if op == "!=" and has and v == vals[0]:
            return False
        if op == "in" and (not has or v not in vals):
            return False
        if op == "notin" and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
        if op in ("<", ">"):
            try:
                iv = int(v)
            except (TypeError, ValueError):
                return False
            if op == "<" and not iv < int(vals[0]):
                return False
            if op == ">" and not iv > int(vals[0]):
                return False
    return True


FIELD_LABELS = {
    "secrets": ("type",),
    "events": ("involvedObject.kind", "involvedObject.namespace",
               "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion",
               "involvedObject.fieldPath", "reason", "reportingComponent",
               "source", "type"),
    "namespaces": ("status.phase",),
}


def parse_field_selector(sel, rtype, version):
    """Returns a list of (field, op, value)."""
    reqs = []
    if not sel or not sel.strip():
        return reqs
    for part in sel.split(","):
        p = part.strip()
        m = re.match(r"^([^=!]+?)\s*(==|=|!=)\s*(.*)$", p)
        if not m:
            raise error(400, "BadRequest",
                        "invalid selector: '%s'; can't understand '%s'"
                        % (sel, p))
        f, op, v = m.group(1), m.group(2), m.group(3)
        allowed = ("metadata.name", "metadata.namespace") + \
            FIELD_LABELS.get(rtype.plural, ()) if rtype.builtin else \
            ("metadata.name", "metadata.namespace")
        if f not in allowed and not rtype.builtin:
            raise error(400, "BadRequest", "field label not supported: " + f)
        if f not in allowed:
            raise error(400, "BadRequest",
                        "\"%s\" is not a known field selector: only \"%s\", "
                        "\"%s\"" % (f, "metadata.name",
                                    "metadata.namespace"))
        reqs.append((f, "!=" if op == "!=" else "=", v))
    return reqs


def _field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    return str(cur)


def fields_match(reqs, obj):
    for f, op, v in reqs:
        if f == "metadata.namespace":
            have = obj["metadata"].get("namespace", "")
        else:
            have = _field_value(obj, f)
        if (have == v) != (op == "="):
            return False
    return True
