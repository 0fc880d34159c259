# SPDX-License-Identifier: Apache-2.0
"""The API machinery of the Kubernetes API simulator, independent of HTTP:
type registry, create/get/list/update/patch/delete, snapshots for
paginated lists, and watch cursors."""

import base64
import json
import random
import re
import threading

import kubesim_builtin as builtin
import kubesim_schema as schema
from kubesim_apply import PatchMixin
from kubesim_delete import DeleteMixin
from kubesim_store import (Store, fields_match, labels_match,
                           parse_field_selector, parse_label_selector)
from kubesim_types import builtin_types, load_crd_dir, rtype_from_crd
from kubesim_util import (ApiError, clone, error, new_uid, now, order_builtin,
                          sort_keys, status_body)

DNS1123_SUB = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                         r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"
META_KEYS = ("name", "generateName", "namespace", "selfLink", "uid",
             "resourceVersion", "generation", "creationTimestamp",
             "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
             "annotations", "ownerReferences", "finalizers", "clusterName",
             "managedFields")


def _b64(d):
    s = json.dumps(d, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(s).rstrip(b"=").decode()


class Api(PatchMixin, DeleteMixin):
    def __init__(self, crd_dirs=(), vpa=False, history=10000,
                 simulate_deployments=False, gc=True):
        self.store = Store(history)
        self.types = {}         # (group, version, plural) -> RType
        self.by_skey = {}       # storage key -> RType (first registered)
        self.group_order = []   # discovery order of groups
        self.owners = {}        # (skey, ns, name) -> {manager: set(paths)}
        self.owner_ops = {}     # (skey, ns, name) -> {manager: operation}
        self.last_manager = {}  # (skey, ns, name) -> (manager, apiVersion)
        self.simulate_deployments = simulate_deployments
        self.gc_enabled = gc
        self.timers = []
        self.name_suffixes = []  # test hook: next generateName suffixes
        for t in builtin_types(vpa):
            self.register(t)
        with self.store.cond:
            for ns in ("default", "kube-system", "kube-public",
                       "kube-node-lease"):
                self.create_internal(self.rtype("", "v1", "namespaces"),
                                     {"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": ns}})
            for d in crd_dirs:
                for crd in load_crd_dir(d):
                    self.install_crd(crd)

    # ------------------------------------------------------------ registry
    def register(self, t):
        for v in t.versions:
            self.types[(t.group, v, t.plural)] = t
        self.by_skey.setdefault(t.storage, t)
        if t.group not in self.group_order:
            self.group_order.append(t.group)

    def unregister(self, t):
        for k in [k for k, v in self.types.items() if v is t]:
            del self.types[k]
        if self.by_skey.get(t.storage) is t:
            del self.by_skey[t.storage]
        if not any(x.group == t.group for x in self.types.values()):
            if t.group in self.group_order:
                self.group_order.remove(t.group)

    def rtype(self, group, version, plural):
        return self.types.get((group, version, plural))

    def group_versions(self, group):
        vs = []
        for (g, v, _), t in self.types.items():
            if g == group and v not in vs:
                vs.append(v)
        from kubesim_types import version_priority
        return sorted(vs, key=version_priority)

    def install_crd(self, crd):
        """Create a CRD object (as if posted) and serve its resource."""
        t = self.rtype("apiextensions.k8s.io", "v1",
                       "customresourcedefinitions")
        obj = self.create_internal(t, crd)
        self.crd_established(obj)

    def crd_established(self, obj):
        rt = rtype_from_crd(obj)
        rt.cache_start = self.store.rv
        old = self.by_skey.get(rt.storage)
        if old is not None and not old.builtin:
            self.unregister(old)
        self.register(rt)
        st = clone(obj)
        names = clone(obj["spec"]["names"])
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
        ts = now()
        st["status"] = {
            "conditions": [
                {"type": "NamesAccepted", "status": "True",
                 "lastTransitionTime": ts, "reason": "NoConflicts",
                 "message": "no conflicts found"},
                {"type": "Established", "status": "True",
                 "lastTransitionTime": ts, "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted"}],
            "acceptedNames": names,
            "storedVersions": [v["name"] for v in obj["spec"]["versions"]
                               if v.get("storage")]}
        self._write(self.by_skey[("apiextensions.k8s.io",
                                  "customresourcedefinitions")],
                    st, obj, "MODIFIED")

    # --------------------------------------------------------------- output
    def present(self, t, version, obj):
        """The object as served at `version` (apiVersion rewritten)."""
        av = t.api_version(version)
        if t.group == "events.k8s.io" or (t.plural == "events" and
                                          t.group == ""):
            return builtin.event_convert(obj, t.group, av)
        if obj.get("apiVersion") == av:
            return obj
        o = dict(obj)
        o["apiVersion"] = av
        if not t.builtin:
            o = {k: o[k] for k in sorted(o)}
        return o

    def self_link(self, t, version, ns, name):
        return t.base_path(version, ns) + "/" + name

    # ------------------------------------------------------------ namespaces
    def check_namespace(self, ns, for_create=True):
        nst = self.by_skey[("", "namespaces")]
        o = self.store.get(nst.storage, "", ns)
        if o is None:
            raise error(404, "NotFound", 'namespaces "%s" not found' % ns,
                        {"name": ns, "kind": "namespaces"})
        if for_create and o["metadata"].get("deletionTimestamp"):
            return o
        return None

    # ----------------------------------------------------------------- read
    def get(self, t, ns, name):
        o = self.store.get(t.storage, ns, name)
        if o is None:
            raise error(404, "NotFound", '%s "%s" not found'
                        % (t.resource, name), t.details(name))
        return o

    def parse_continue(self, tok):
        try:
            pad = "=" * (-len(tok) % 4)
            raw = base64.urlsafe_b64decode(tok + pad)
        except (ValueError, TypeError):
            raise error(400, "BadRequest", "invalid continue token: illegal "
                        "base64 data at input byte 0")
        try:
            d = json.loads(raw)
            if not isinstance(d, dict) or d.get("v") != "meta.k8s.io/v1":
                raise ValueError("continue key is not valid: incorrect "
                                 "encoded start resourceVersion (version "
                                 "meta.k8s.io/v1)")
            return int(d["rv"]), str(d["start"])
        except (ValueError, KeyError, TypeError) as e:
            msg = str(e)
            if "Expecting" in msg or "Extra data" in msg:
                msg = "continue key is not valid: invalid character"
            raise error(400, "BadRequest", "invalid continue token: " + msg)

    def snapshot(self, t, ns, rv):
        """[(ns, name, obj)] as of resourceVersion rv (rv <= current),
        rebuilt by undoing the retained events after rv."""
        cur = {(a, b): o for a, b, o in self.store.items(t.storage, ns)}
        idx = self.store.start_index(rv)
        if idx is None:
            return None
        for ev in reversed(self.store.events_from(idx) or []):
            if ev.skey != t.storage:
                continue
            m = ev.obj["metadata"]
            k = (m.get("namespace") or "", m["name"])
            if ns is not None and k[0] != ns:
                continue
            if ev.type == "ADDED":
                cur.pop(k, None)
            else:
                cur[k] = ev.prev
        return [(k[0], k[1], cur[k]) for k in sorted(cur)]

    def list(self, t, version, ns, q):
        """Returns (items, list metadata dict)."""
        lsel = parse_label_selector(q.get("labelSelector"))
        fsel = parse_field_selector(q.get("fieldSelector"), t, version)
        rv_s = q.get("resourceVersion")
        match = q.get("resourceVersionMatch")
        limit = int(q.get("limit") or 0) if (q.get("limit") or
                                             "0").isdigit() else 0
        cont = q.get("continue")
        if match and not rv_s:
            raise error(422, "Invalid", 'ListOptions.meta.k8s.io "" is '
                        'invalid: resourceVersionMatch: Forbidden: '
                        'resourceVersionMatch is forbidden unless '
                        'resourceVersion is provided',
                        {"group": "meta.k8s.io", "kind": "ListOptions",
                         "causes": [{"reason": "FieldValueForbidden",
                                     "message": "Forbidden: resourceVersion"
                                     "Match is forbidden unless "
                                     "resourceVersion is provided",
                                     "field": "resourceVersionMatch"}]})
        with self.store.cond:
            cur_rv = self.store.rv
            start = ""
            if cont:
                rv, start = self.parse_continue(cont)
                if rv < self.store.compacted or rv > cur_rv:
                    raise ApiError(410, status_body(
                        410, "Expired", "The provided continue parameter is "
                        "too old to display a consistent list result. You "
                        "can start a new list without the continue "
                        "parameter, or use the continue token in this "
                        "response to retrieve the remainder of the results."
                        " Continuing with the provided token results in an "
                        "inconsistent list - objects that were created, "
                        "modified, or deleted between the time the first "
                        "chunk was returned and now may show up in the "
                        "list.", meta={"continue": _b64(
                            {"v": "meta.k8s.io/v1", "rv": -1,
                             "start": start})}))
            elif rv_s and rv_s != "0":
                try:
                    rv = int(rv_s)
                except ValueError:
                    raise error(400, "BadRequest", 'invalid resource version:'
                                ' strconv.ParseUint: parsing "%s": invalid '
                                'syntax' % rv_s)
                if rv > cur_rv:
                    raise ApiError(504, status_body(
                        504, "Timeout", "Timeout: Too large resource "
                        "version: %d, current: %d" % (rv, cur_rv),
                        {"causes": [{"reason": "ResourceVersionTooLarge",
                                     "message": "Too large resource "
                                     "version"}], "retryAfterSeconds": 1}))
                if match == "Exact":
                    if rv < self.store.compacted:
                        raise error(410, "Expired", "The resourceVersion for"
                                    " the provided list is too old.")
                else:
                    rv = cur_rv
            else:
                rv = cur_rv
                if rv_s == "0":
                    limit = 0
            if rv == cur_rv:
                items = self.store.items(t.storage, ns)
            else:
                items = self.snapshot(t, ns, rv)
                if items is None:
                    raise error(410, "Expired", "The resourceVersion for the"
                                " provided list is too old.")
        out = []
        more = None
        remaining = 0
        last_key = None
        for i, (ons, name, o) in enumerate(items):
            key = name if ns is not None else \
                (ons + "/" + name if ons else name)
            if start and key + "\x00" <= start:
                continue
            if lsel and not labels_match(lsel, o["metadata"].get("labels")):
                continue
            if fsel and not fields_match(fsel, o):
                continue
            if limit and len(out) >= limit:
                more = last_key
                remaining = sum(1 for x in items[i:]
                                if not (lsel or fsel))
                break
            out.append(o)
            last_key = key
        meta = {"resourceVersion": str(rv)}
        if more is not None:
            meta["continue"] = _b64({"v": "meta.k8s.io/v1", "rv": rv,
                                     "start": more + "\x00"})
            if not (lsel or fsel):
                meta["remainingItemCount"] = remaining
        return out, meta

    # ---------------------------------------------------------------- write
    def _write(self, t, obj, prev, type_):
        """Assign a new resourceVersion and store (lock held)."""
        obj["metadata"]["resourceVersion"] = str(self.store.next_rv())
        obj = order_builtin(obj, t.field_order) if t.builtin else \
            sort_keys(obj)
        self.store.put(t.storage, obj, type_, prev)
        if self.simulate_deployments and t.plural == "deployments":
            self._later(0.1, self._deployment_status, t, obj)
        return obj

    def _later(self, delay, fn, *args):
        tm = threading.Timer(delay, fn, args)
        tm.daemon = True
        tm.start()
        self.timers = [x for x in self.timers if x.is_alive()] + [tm]

    def create_internal(self, t, body):
        """Create without HTTP checks (setup, preload)."""
        return self.create(t, t.versions[0],
                           (body.get("metadata") or {}).get("namespace") or
                           ("default" if t.namespaced else ""), body, {},
                           internal=True)

    def _prepare_new(self, t, version, ns, body, q):
        """Checks and defaulting shared by create and apply-create."""
        if not isinstance(body, dict):
            raise error(400, "BadRequest", "the object provided is "
                        "unrecognized (must be of type %s)" % t.kind)
        if not t.builtin and not body.get("apiVersion"):
            raise error(500, "InternalError", "Internal error occurred: "
                        "Object 'apiVersion' is missing in 'object has no "
                        "apiVersion field'",
                        {"causes": [{"message": "Object 'apiVersion' is "
                                     "missing in 'object has no apiVersion "
                                     "field'"}]})
        self._check_kind(t, version, body)
        obj = clone(body)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        if t.namespaced:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise error(400, "BadRequest", "the namespace of the "
                            "provided object does not match the namespace "
                            "sent on the request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        obj["apiVersion"] = t.api_version(version)
        obj["kind"] = t.kind
        return obj

    def _check_kind(self, t, version, body):
        kind = body.get("kind")
        if kind and kind != t.kind:
            if t.builtin:
                raise error(400, "BadRequest", '%s in version "%s" cannot be '
                            'handled as a %s: converting (%s.%s) to (%s.%s): '
                            'unknown conversion' % (kind, version, t.kind,
                                                    version, kind,
                                                    t.group or "core",
                                                    t.kind))
            name = (body.get("metadata") or {}).get("name", "")
            raise self.invalid(t, name, [schema.Cause(
                "FieldValueInvalid", 'Invalid value: "%s": must be %s'
                % (kind, t.kind), "kind")], kind=kind)
        av = body.get("apiVersion")
        if av and av != t.api_version(version):
            raise error(400, "BadRequest", 'the API version in the data '
                        '(%s) does not match the expected API version (%s)'
                        % (av, t.api_version(version)))

    def invalid(self, t, name, causes, kind=None):
        kind = kind or t.kind
        group = "" if t.group == "events.k8s.io" else t.group
        qual = kind + "." + group if group else kind
        uniq = []
        for c in causes:
            if not any(c.field == u.field and c.message == u.message
                       for u in uniq):
                uniq.append(c)
        if len(uniq) == 1:
            c = uniq[0]
            msg = '%s "%s" is invalid: %s: %s' % (qual, name, c.field,
                                                 c.message)
        else:
            msg = '%s "%s" is invalid: [%s]' % (
                qual, name, ", ".join("%s: %s" % (c.field, c.message)
                                      for c in uniq))
        det = {"name": name}
        if group:
            det["group"] = group
        det["kind"] = kind
        det["causes"] = [c.as_dict() for c in causes]
        return error(422, "Invalid", msg, det)

    def _normalize(self, t, version, obj, old=None, strict=False):
        """Defaulting, pruning and validation; returns the object.
        strict: fieldValidation=Strict (unknown fields are a 400)."""
        if strict and not t.builtin and t.schemas.get(version):
            unknown = schema.unknown_fields(obj, t.schemas[version])
            if unknown:
                raise error(400, "BadRequest", "strict decoding error: " +
                            ", ".join('unknown field "%s"' % f
                                      for f in unknown))
        if t.builtin:
            bad = builtin.check_types(t, obj)
            if bad:
                raise error(400, "BadRequest", bad)
            obj = builtin.default(t, obj, old)
            causes = builtin.validate(t, obj, old)
        else:
            sch = t.schemas.get(version)
            if sch:
                obj = schema.prune(obj, sch)
                schema.apply_defaults(obj, sch)
                causes = schema.validate(obj, sch)
            else:
                causes = []
        causes = self._validate_meta(t, obj, old) + causes
        if causes:
            raise self.invalid(t, obj["metadata"].get("name", ""), causes)
        return obj

    def _validate_meta(self, t, obj, old):
        meta = obj["metadata"]
        causes = []
        name = meta.get("name", "")
        rx = DNS1123_LABEL if t.plural in ("namespaces",) else DNS1123_SUB
        if not name:
            causes.append(schema.Cause(
                "FieldValueRequired", "Required value: name or generateName"
                " is required", "metadata.name"))
        elif not rx.match(name) or len(name) > 253:
            causes.append(schema.Cause(
                "FieldValueInvalid", 'Invalid value: "%s": a DNS-1123 '
                'subdomain must consist of lower case alphanumeric '
                'characters, \'-\' or \'.\', and must start and end with an '
                'alphanumeric character (e.g. \'example.com\', regex used '
                'for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]'
                '([-a-z0-9]*[a-z0-9])?)*\')' % name, "metadata.name"))
        for fld in ("labels", "annotations"):
            v = meta.get(fld)
            if v is not None and (not isinstance(v, dict) or not all(
                    isinstance(x, str) for x in v.values())):
                causes.append(schema.Cause(
                    "FieldValueInvalid", "Invalid value: must be a map of "
                    "strings", "metadata." + fld))
        if old is not None and old["metadata"].get("deletionTimestamp"):
            of = old["metadata"].get("finalizers") or []
            new = [f for f in meta.get("finalizers") or [] if f not in of]
            if new:
                msg = ("Forbidden: no new finalizers can be added if the "
                       "object is being deleted, found new finalizers "
                       "[]string{%s}" % ", ".join('"%s"' % f for f in new))
                for _ in range(2 if not t.builtin else 1):
                    causes.append(schema.Cause("FieldValueForbidden", msg,
                                               "metadata.finalizers"))
        return causes

    def create(self, t, version, ns, body, q, internal=False,
               manager=None):
        obj = self._prepare_new(t, version, ns, body, q)
        meta = obj["metadata"]
        if meta.get("resourceVersion") and not internal:
            raise error(500, "", "resourceVersion should not be set on "
                        "objects to be created")
        if t.namespaced and not internal:
            term = self.check_namespace(ns)
            if term is not None:
                raise error(403, "Forbidden", '%s "%s" is forbidden: unable '
                            'to create new content in namespace %s because '
                            'it is being terminated'
                            % (t.resource, meta.get("name") or
                               meta.get("generateName", ""), ns),
                            dict(t.details(meta.get("name", "")), causes=[
                                {"reason": "NamespaceTerminating",
                                 "message": "namespace %s is being "
                                 "terminated" % ns,
                                 "field": "metadata.namespace"}]))
        if not meta.get("name") and meta.get("generateName"):
            suffix = self.name_suffixes.pop(0) if self.name_suffixes \
                else "".join(random.choice(GEN_CHARS) for _ in range(5))
            meta["name"] = meta["generateName"] + suffix
        for k in ("uid", "selfLink", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "managedFields"):
            meta.pop(k, None)
        meta.pop("resourceVersion", None)
        # /_sim/load and --preload keep a given status (test setup)
        keep = obj.get("status") if internal else None
        if t.status_sub and not t.builtin:
            obj.pop("status", None)
        obj = self._normalize(t, version, obj,
                              strict=q.get("fieldValidation") == "Strict")
        if keep is not None:
            obj["status"] = keep
        meta = obj["metadata"]
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = now()
        meta["selfLink"] = self.self_link(t, version, ns if t.namespaced
                                          else "", meta["name"])
        if not t.builtin or t.plural in ("deployments",
                                         "customresourcedefinitions"):
            meta["generation"] = 1
        with self.store.cond:
            if self.store.get(t.storage, ns if t.namespaced else "",
                              meta["name"]) is not None:
                raise error(409, "AlreadyExists", '%s "%s" already exists'
                            % (t.resource, meta["name"]),
                            t.details(meta["name"]))
            if q.get("dryRun"):
                return obj
            obj = self._write(t, obj, None, "ADDED")
            if manager:
                self.last_manager[self._okey(t, obj)] = (
                    manager, t.api_version(version))
        if t.plural == "customresourcedefinitions" and not internal:
            with self.store.cond:
                self.crd_established(obj)
        return obj

    def _check_update_body(self, t, ns, name, body):
        if not isinstance(body, dict):
            raise error(400, "BadRequest", "the object provided is "
                        "unrecognized (must be of type %s)" % t.kind)
        meta = body.get("metadata") or {}
        if meta.get("name") and meta["name"] != name:
            raise error(400, "BadRequest", "the name of the object (%s) "
                        "does not match the name on the URL (%s)"
                        % (meta["name"], name))
        if t.namespaced and meta.get("namespace") and \
                meta["namespace"] != ns:
            raise error(400, "BadRequest", "the namespace of the provided "
                        "object does not match the namespace sent on the "
                        "request")

    def update(self, t, version, ns, name, body, q, sub=None,
               manager="unknown"):
        self._check_update_body(t, ns, name, body)
        self._check_kind(t, version, body)
        rv = (body.get("metadata") or {}).get("resourceVersion")
        with self.store.cond:
            old = self.get(t, ns, name)
            if not rv and not t.builtin:
                c = schema.Cause("FieldValueInvalid", "Invalid value: 0x0: "
                                 "must be specified for an update",
                                 "metadata.resourceVersion")
                raise error(422, "Invalid", '%s "%s" is invalid: %s: %s'
                            % (t.resource, name, c.field, c.message),
                            dict(t.details(name), causes=[c.as_dict()]))
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise self.conflict(t, name)
            res = self._apply_update(t, version, ns, name, old,
                                     clone(body), q, sub)
            if res is not old:
                self._track_update(t, version, old, res, manager)
            return res

    def conflict(self, t, name):
        return error(409, "Conflict", 'Operation cannot be fulfilled on %s '
                     '"%s": the object has been modified; please apply your '
                     'changes to the latest version and try again'
                     % (t.resource, name), t.details(name))

    def _apply_update(self, t, version, ns, name, old, obj, q, sub):
        """Common tail of update and patch (lock held)."""
        obj["apiVersion"] = t.api_version(version)
        obj["kind"] = t.kind
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        ometa = old["metadata"]
        if sub == "status":
            new = clone(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            obj = new
            obj["apiVersion"] = t.api_version(version)
            meta = obj["metadata"]
        elif t.status_sub:
            if "status" in old:
                obj["status"] = clone(old["status"])
            else:
                obj.pop("status", None)
        for k in ("name", "namespace", "uid", "creationTimestamp",
                  "deletionTimestamp", "deletionGracePeriodSeconds",
                  "selfLink", "generation"):
            if k in ometa:
                meta[k] = ometa[k]
            else:
                meta.pop(k, None)
        meta.pop("managedFields", None)
        obj = self._normalize(t, version, obj, old,
                              strict=q.get("fieldValidation") == "Strict")
        meta = obj["metadata"]
        if "generation" in ometa:
            if self._spec_changed(t, old, obj):
                meta["generation"] = ometa["generation"] + 1
        meta["resourceVersion"] = ometa["resourceVersion"]
        if self._same(old, obj):
            return old
        if q.get("dryRun"):
            return obj
        if ometa.get("deletionTimestamp") and not meta.get("finalizers"):
            meta.pop("finalizers", None)
            self._delete_now(t, old, obj)
            return obj
        return self._write(t, obj, old, "MODIFIED")

    @staticmethod
    def _same(a, b):
        return a == b

    def _spec_changed(self, t, old, new):
        if t.builtin:
            return old.get("spec") != new.get("spec")
        skip = ("metadata", "status") if t.status_sub else ("metadata",)
        a = {k: v for k, v in old.items() if k not in skip}
        b = {k: v for k, v in new.items() if k not in skip}
        return a != b

    # --------------------------------------------------------------- loading
    def load(self, objs):
        """Bulk-create objects (test setup); returns the count."""
        n = 0
        with self.store.cond:
            for o in objs:
                if not isinstance(o, dict):
                    continue
                t = self.type_for_object(o)
                if t is None:
                    raise error(400, "BadRequest", "unknown kind %s %s"
                                % (o.get("apiVersion"), o.get("kind")))
                meta = o.setdefault("metadata", {})
                ns = meta.get("namespace") or "default" if t.namespaced \
                    else ""
                if t.namespaced and self.store.get(("", "namespaces"), "",
                                                   ns) is None:
                    self.create_internal(
                        self.by_skey[("", "namespaces")],
                        {"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": ns}})
                v = o.get("apiVersion", "").split("/")[-1]
                if v not in t.versions:
                    v = t.versions[0]
                if t.plural == "customresourcedefinitions":
                    self.install_crd(o)
                else:
                    self.create(t, v, ns, o, {}, internal=True)
                n += 1
        return n

    def type_for_object(self, o):
        av = o.get("apiVersion") or ""
        g, _, v = av.rpartition("/")
        for t in self.types.values():
            if t.group == g and t.kind == o.get("kind") and v in t.versions:
                return t
        return None
