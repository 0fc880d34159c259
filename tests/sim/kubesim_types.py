# SPDX-License-Identifier: Apache-2.0
"""Resource types served by the Kubernetes API simulator: the built-in
kinds, custom resources from CRDs, and the discovery documents."""

import base64
import glob
import hashlib
import os

import yaml

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch",
             "update", "watch"]
CR_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create",
            "update", "watch"]
SUB_VERBS = ["get", "patch", "update"]


class RType:
    """One resource (plural) of one group, served at one or more versions.
    Objects are stored once per (group, plural) — the storage key."""

    def __init__(self, group, versions, plural, kind, namespaced,
                 singular="", short_names=(), categories=(),
                 status_sub=False, builtin=True, hash_="",
                 field_order=(), verbs=None, storage_group=None,
                 storage_plural=None):
        self.group = group
        self.versions = list(versions)      # served, preferred first
        self.plural = plural
        self.kind = kind
        self.list_kind = kind + "List"
        self.namespaced = namespaced
        self.singular = singular
        self.short_names = list(short_names)
        self.categories = list(categories)
        self.status_sub = status_sub
        self.builtin = builtin
        self.hash = hash_
        self.field_order = field_order
        self.verbs = verbs or (ALL_VERBS if builtin else CR_VERBS)
        self.schemas = {}          # version -> openAPIV3Schema
        self.printer_columns = {}  # version -> additionalPrinterColumns
        self.crd_name = None
        self.storage = (storage_group if storage_group is not None
                        else group, storage_plural or plural)
        self.extra_subs = []
        self.cache_start = 0    # watches from an older rv get 410

    @property
    def resource(self):
        """"plural.group" as used in error messages ("plural" for core)."""
        return self.plural + "." + self.group if self.group else self.plural

    def api_version(self, version):
        return self.group + "/" + version if self.group else version

    def details(self, name):
        d = {"name": name}
        if self.group:
            d["group"] = self.group
        d["kind"] = self.plural
        return d

    def base_path(self, version, namespace):
        p = "/apis/" + self.group + "/" + version if self.group else \
            "/api/" + version
        if self.namespaced and namespace:
            p += "/namespaces/" + namespace
        return p + "/" + self.plural

    def discovery(self):
        out = []
        d = {"name": self.plural, "singularName": self.singular,
             "namespaced": self.namespaced, "kind": self.kind,
             "verbs": self.verbs}
        if self.short_names:
            d["shortNames"] = self.short_names
        if self.categories:
            d["categories"] = self.categories
        if self.hash:
            d["storageVersionHash"] = self.hash
        out.append(d)
        for sub in self.extra_subs:
            out.append(sub)
        if self.status_sub:
            out.append({"name": self.plural + "/status", "singularName": "",
                        "namespaced": self.namespaced, "kind": self.kind,
                        "verbs": SUB_VERBS})
        return out


def _b(group, version, plural, kind, namespaced, **kw):
    return RType(group, [version], plural, kind, namespaced, **kw)


def builtin_types(vpa=False):
    t = [
        _b("", "v1", "namespaces", "Namespace", False, short_names=["ns"],
           status_sub=True, hash_="Q3oi5N2YM8M=",
           verbs=["create", "delete", "get", "list", "patch", "update",
                  "watch"], field_order=("spec", "status")),
        _b("", "v1", "secrets", "Secret", True, hash_="S6u1pOWzb84=",
           field_order=("immutable", "data", "stringData", "type")),
        _b("", "v1", "configmaps", "ConfigMap", True, short_names=["cm"],
           hash_="qFsyl6wFWjQ=",
           field_order=("immutable", "data", "binaryData")),
        _b("", "v1", "services", "Service", True, short_names=["svc"],
           categories=["all"], status_sub=True, hash_="0/CO1lhkEBI=",
           verbs=["create", "delete", "get", "list", "patch", "update",
                  "watch"]),
        _b("", "v1", "serviceaccounts", "ServiceAccount", True,
           short_names=["sa"], hash_="pbx9ZvyFpBE=",
           field_order=("secrets", "imagePullSecrets",
                        "automountServiceAccountToken")),
        _b("", "v1", "events", "Event", True, short_names=["ev"],
           hash_="r2yiGXH7wu8=",
           field_order=("involvedObject", "reason", "message", "source",
                        "firstTimestamp", "lastTimestamp", "count", "type",
                        "eventTime", "series", "action", "related",
                        "reportingComponent", "reportingInstance")),
        _b("apps", "v1", "deployments", "Deployment", True,
           short_names=["deploy"], categories=["all"], status_sub=True,
           hash_="8aSe+NMegvE="),
        _b("rbac.authorization.k8s.io", "v1", "roles", "Role", True,
           hash_="7FuwZcIIItM=", field_order=("rules",)),
        _b("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding",
           True, hash_="eGsCzGH6b1g=", field_order=("subjects", "roleRef")),
        _b("coordination.k8s.io", "v1", "leases", "Lease", True,
           hash_="/sY7hl8ol1U="),
        _b("events.k8s.io", "v1", "events", "Event", True,
           short_names=["ev"], hash_="r2yiGXH7wu8=", storage_group="",
           field_order=("eventTime", "series", "reportingController",
                        "reportingInstance", "action", "reason",
                        "regarding", "related", "note", "type",
                        "deprecatedSource", "deprecatedFirstTimestamp",
                        "deprecatedLastTimestamp", "deprecatedCount")),
        _b("apiextensions.k8s.io", "v1", "customresourcedefinitions",
           "CustomResourceDefinition", False, short_names=["crd", "crds"],
           status_sub=True, hash_="jfWCUB31mvA="),
    ]
    t.append(_b("authorization.k8s.io", "v1", "selfsubjectaccessreviews",
                "SelfSubjectAccessReview", False, verbs=["create"]))
    t[0].extra_subs.append({"name": "namespaces/finalize", "singularName": "",
                            "namespaced": False, "kind": "Namespace",
                            "verbs": ["update"]})
    if vpa:
        v = _b("autoscaling.k8s.io", "v1", "verticalpodautoscalers",
               "VerticalPodAutoscaler", True, short_names=["vpa"],
               status_sub=True, builtin=False,
               singular="verticalpodautoscaler")
        t.append(v)
    return t


def rtype_from_crd(crd):
    """Build an RType from a CustomResourceDefinition object (v1)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    vers = [v for v in spec.get("versions") or [] if v.get("served", True)]
    if not vers or not names.get("plural") or not names.get("kind"):
        raise ValueError("CRD without versions or names")
    # preferred version: Kubernetes version priority order
    ordered = sorted(vers, key=lambda v: version_priority(v["name"]))
    status_sub = any("status" in (v.get("subresources") or {}) for v in vers)
    t = RType(spec.get("group", ""), [v["name"] for v in ordered],
              names["plural"], names["kind"],
              spec.get("scope", "Namespaced") == "Namespaced",
              singular=names.get("singular") or names["kind"].lower(),
              short_names=names.get("shortNames") or (),
              categories=names.get("categories") or (),
              status_sub=status_sub, builtin=False)
    if names.get("listKind"):
        t.list_kind = names["listKind"]
    for v in vers:
        sch = (v.get("schema") or {}).get("openAPIV3Schema")
        if sch:
            t.schemas[v["name"]] = sch
        t.printer_columns[v["name"]] = v.get("additionalPrinterColumns") or []
    t.status_by_version = {v["name"]: "status" in (v.get("subresources") or {})
                           for v in vers}
    t.crd_name = (crd.get("metadata") or {}).get("name")
    stor = next((v["name"] for v in vers if v.get("storage")),
                ordered[0]["name"])
    digest = hashlib.sha256(("%s/%s/%s" % (t.group, stor, t.kind))
                            .encode()).digest()
    t.hash = base64.b64encode(digest[:8]).decode()
    return t


def version_priority(v):
    """Sort key implementing Kubernetes version priority (v1 > v1beta2 >
    v1beta1 > v1alpha1 > other strings)."""
    import re
    m = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", v)
    if not m:
        return (3, 0, 0, v)
    major = int(m.group(1))
    if not m.group(2):
        return (0, -major, 0, v)
    lvl = 1 if m.group(2) == "beta" else 2
    return (lvl, -major, -int(m.group(3)), v)


def load_crd_dir(d):
    """Every CustomResourceDefinition document in *.yaml / *.yml / *.json
    of a directory (other kinds are skipped)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out = []
    files = sorted(glob.glob(os.path.join(d, "*.yaml")) +
                   glob.glob(os.path.join(d, "*.yml")) +
                   glob.glob(os.path.join(d, "*.json")))
    for f in files:
        with open(f, encoding="utf-8") as fh:
            for doc in yaml.load_all(fh, Loader=loader):
                if isinstance(doc, dict) and \
                        doc.get("kind") == "CustomResourceDefinition":
                    out.append(doc)
    return out
