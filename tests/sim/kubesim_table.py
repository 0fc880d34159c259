# SPDX-License-Identifier: Apache-2.0
"""`as=Table` output (what kubectl get asks for): Name plus the CRD's
additionalPrinterColumns (custom resources), or Name/Age plus a few
columns for the built-in kinds (kube-wire case 81)."""

import datetime
import json
import re

from kubesim_util import order_meta

NAME_DESC = ("Name must be unique within a namespace. Is required when "
             "creating resources, although some resources may allow a client"
             " to request the generation of an appropriate name "
             "automatically. Name is primarily intended for creation "
             "idempotence and configuration definition. Cannot be updated. "
             "More info: http://kubernetes.io/docs/user-guide/identifiers"
             "#names")
AGE_DESC = ("CreationTimestamp is a timestamp representing the server time "
            "when this object was created. It is not guaranteed to be set in "
            "happens-before order across separate operations. Clients may "
            "not set this value. It is represented in RFC3339 form and is in"
            " UTC.\n\nPopulated by the system. Read-only. Null for lists. "
            "More info: https://git.k8s.io/community/contributors/devel/"
            "sig-architecture/api-conventions.md#metadata")


CM_DATA_DESC = ("Data contains the configuration data. Each key must consist "
                "of alphanumeric characters, '-', '_' or '.'. Values with "
                "non-UTF-8 byte sequences must use the BinaryData field. The "
                "keys stored in Data must not overlap with the keys in the "
                "BinaryData field, this is enforced during validation "
                "process.")
SECRET_DATA_DESC = ("Data contains the secret data. Each key must consist of "
                    "alphanumeric characters, '-', '_' or '.'. The serialized"
                    " form of the secret data is a base64 encoded string, "
                    "representing the arbitrary (possibly non-string) data "
                    "value here. Described in https://tools.ietf.org/html/"
                    "rfc4648#section-4")


def _age(ts):
    try:
        t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    s = int((datetime.datetime.now(datetime.timezone.utc) - t)
            .total_seconds())
    s = max(s, 0)
    if s < 120:
        return "%ds" % s
    if s < 600:
        return "%dm%ds" % (s // 60, s % 60) if s % 60 else "%dm" % (s // 60)
    if s < 3 * 3600:
        return "%dm" % (s // 60)
    if s < 48 * 3600:
        return "%dh" % (s // 3600)
    return "%dd" % (s // 86400)


def jsonpath(obj, path):
    """Tiny JSONPath: .a.b, [n], [*], [?(@.k=="v")]; returns a list of
    results."""
    toks = re.findall(r'\.([A-Za-z0-9_\-]+)|\[(\d+|\*|\?\(@\.[A-Za-z0-9_.]+'
                      r'\s*==\s*"[^"]*"\))\]', path)
    cur = [obj]
    for name, idx in toks:
        nxt = []
        for c in cur:
            if name:
                if isinstance(c, dict) and name in c:
                    nxt.append(c[name])
            elif idx == "*":
                if isinstance(c, list):
                    nxt.extend(c)
            elif idx.isdigit():
                if isinstance(c, list) and int(idx) < len(c):
                    nxt.append(c[int(idx)])
            else:
                m = re.match(r'\?\(@\.([A-Za-z0-9_.]+)\s*==\s*"([^"]*)"\)',
                             idx)
                if isinstance(c, list) and m:
                    for item in c:
                        v = item
                        for p in m.group(1).split("."):
                            v = v.get(p) if isinstance(v, dict) else None
                        if v == m.group(2):
                            nxt.append(item)
        cur = nxt
    return cur


def _cell(obj, col):
    vals = jsonpath(obj, col.get("jsonPath", ""))
    if not vals:
        return None
    v = vals[0]
    typ = col.get("type")
    if typ == "date":
        return _age(v) if isinstance(v, str) else None
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    if typ == "string" and not isinstance(v, str):
        return json.dumps(v)
    return v


def _containers(o):
    return (((o.get("spec") or {}).get("template") or {}).get("spec") or
            {}).get("containers") or []


def _selector(o):
    ml = ((o.get("spec") or {}).get("selector") or {}).get(
        "matchLabels") or {}
    return ",".join("%s=%s" % (k, ml[k]) for k in sorted(ml))


def _builtin_columns(t):
    """(name, type, format, description, priority, getter)."""
    cols = [("Name", "string", "name", NAME_DESC, 0,
             lambda o: o["metadata"]["name"])]
    age = ("Age", "string", "", AGE_DESC, 0,
           lambda o: _age(o["metadata"].get("creationTimestamp")))
    st = (lambda o: o.get("status") or {})
    if t.plural == "deployments":
        cols += [
            ("Ready", "string", "", "Number of the pod with ready state", 0,
             lambda o: "%d/%d" % (st(o).get("readyReplicas", 0),
                                  (o.get("spec") or {}).get("replicas",
                                                            1))),
            ("Up-to-date", "string", "", "Total number of non-terminated "
             "pods targeted by this deployment that have the desired "
             "template spec.", 0, lambda o: st(o).get("updatedReplicas", 0)),
            ("Available", "string", "", "Total number of available pods "
             "(ready for at least minReadySeconds) targeted by this "
             "deployment.", 0, lambda o: st(o).get("availableReplicas", 0)),
            age,
            ("Containers", "string", "", "Names of each container in the "
             "template.", 1, lambda o: ",".join(
                 c.get("name", "") for c in _containers(o))),
            ("Images", "string", "", "Images referenced by each container "
             "in the template.", 1, lambda o: ",".join(
                 c.get("image", "") for c in _containers(o))),
            ("Selector", "string", "", "Label selector for pods. Existing "
             "ReplicaSets whose pods are selected by this will be the ones "
             "affected by this deployment.", 1, _selector)]
        return cols
    if t.plural == "secrets":
        cols.append(("Type", "string", "", "Used to facilitate programmatic "
                     "handling of secret data.", 0, lambda o: o.get("type")))
    if t.plural in ("configmaps", "secrets"):
        desc = CM_DATA_DESC if t.plural == "configmaps" else SECRET_DATA_DESC
        cols.append(("Data", "string", "", desc, 0, lambda o: len(
            o.get("data") or {}) + len(o.get("binaryData") or {})))
    elif t.plural == "namespaces":
        cols.append(("Status", "string", "", "The status of the namespace",
                     0, lambda o: st(o).get("phase")))
    cols.append(age)
    return cols


def to_table(api, t, version, items, as_v, include, link, rv, meta):
    if t.builtin:
        cols = _builtin_columns(t)
        defs = [{"name": n, "type": ty, "format": f, "description": d,
                 "priority": p} for n, ty, f, d, p, _ in cols]
        getters = [c[5] for c in cols]
    else:
        pcs = t.printer_columns.get(version) or []
        if not pcs:
            pcs = [{"name": "Age", "type": "date", "description": AGE_DESC,
                    "jsonPath": ".metadata.creationTimestamp"}]
        defs = [{"name": "Name", "type": "string", "format": "name",
                 "description": NAME_DESC, "priority": 0}]
        for c in pcs:
            defs.append({"name": c["name"], "type": c.get("type", "string"),
                         "format": c.get("format", ""),
                         "description": c.get("description") or
                         "Custom resource definition column (in JSONPath "
                         "format): " + c.get("jsonPath", ""),
                         "priority": c.get("priority", 0)})
        getters = [lambda o: o["metadata"]["name"]] + [
            (lambda c: lambda o: _cell(o, c))(c) for c in pcs]
    rows = []
    for o in items:
        row = {"cells": [g(o) for g in getters]}
        if include == "None":
            row["object"] = None
        elif include == "Object":
            row["object"] = api.present(t, version, o)
        else:
            row["object"] = {"kind": "PartialObjectMetadata",
                             "apiVersion": "meta.k8s.io/" + as_v,
                             "metadata": order_meta(o["metadata"])}
        rows.append(row)
    lm = {"selfLink": link, "resourceVersion": rv}
    if meta:
        for k in ("continue", "remainingItemCount"):
            if meta.get(k):
                lm[k] = meta[k]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/" + as_v,
            "metadata": lm, "columnDefinitions": defs, "rows": rows}
