# SPDX-License-Identifier: Apache-2.0
"""A minimal /openapi/v3 for the Kubernetes API simulator: enough for
kubectl (apply's server-side field validation check and custom-resource
schemas).  Built-in kinds get permissive schemas; custom resources get
their CRD's openAPIV3Schema.  (The recorded 1.19 server had no v3 and only
a protobuf v2, which this simulator does not serve.)"""

import hashlib
import json


def _gv_key(t, version):
    return ("api/" + version) if not t.group else \
        "apis/%s/%s" % (t.group, version)


def _schema_name(t, version):
    g = t.group or "core"
    rev = ".".join(reversed(g.split("."))) if t.group else "io.k8s.api.core"
    return "%s.%s.%s" % (rev, version, t.kind)


def _params(names):
    return [{"name": n, "in": "query", "schema": {"type": "string"},
             "uniqueItems": True} for n in names]


def _op(t, version, action, ref):
    op = {"operationId": action + t.kind,
          "parameters": _params(["dryRun", "fieldManager"] +
                                (["fieldValidation"]
                                 if action in ("patch", "create", "replace")
                                 else []) +
                                (["force"] if action == "patch" else [])),
          "responses": {"200": {"description": "OK", "content": {
              "application/json": {"schema": {"$ref": ref}}}}},
          "x-kubernetes-action": action,
          "x-kubernetes-group-version-kind": {
              "group": t.group, "version": version, "kind": t.kind}}
    if action in ("patch", "replace", "create"):
        op["requestBody"] = {"content": {"application/json": {
            "schema": {"$ref": ref}}}}
    return op


def gv_document(api, key):
    """The OpenAPI v3 document of one group/version, or None."""
    paths = {}
    schemas = {}
    for (g, v, plural), t in sorted(api.types.items()):
        if _gv_key(t, v) != key:
            continue
        name = _schema_name(t, v)
        ref = "#/components/schemas/" + name
        sch = dict(t.schemas.get(v) or {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True})
        sch["x-kubernetes-group-version-kind"] = [
            {"group": t.group, "version": v, "kind": t.kind}]
        schemas[name] = sch
        base = "/" + key
        if t.namespaced:
            base += "/namespaces/{namespace}"
        coll = base + "/" + plural
        item = coll + "/{name}"
        paths[coll] = {"get": _op(t, v, "list", ref),
                       "post": _op(t, v, "create", ref)}
        paths[item] = {"get": _op(t, v, "get", ref),
                       "put": _op(t, v, "replace", ref),
                       "patch": _op(t, v, "patch", ref),
                       "delete": _op(t, v, "delete", ref)}
        if t.status_sub:
            paths[item + "/status"] = {"get": _op(t, v, "get", ref),
                                       "put": _op(t, v, "replace", ref),
                                       "patch": _op(t, v, "patch", ref)}
    if not paths:
        return None
    return {"openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.19.16"},
            "paths": paths, "components": {"schemas": schemas}}


def root_document(api):
    keys = sorted({_gv_key(t, v) for (g, v, p), t in api.types.items()})
    out = {}
    for k in keys:
        doc = gv_document(api, k)
        h = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()) \
            .hexdigest()[:64].upper()
        out[k] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (k, h)}
    return {"paths": out}
