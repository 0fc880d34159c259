# SPDX-License-Identifier: Apache-2.0
"""PATCH handling of the Kubernetes API simulator (merge, JSON and
strategic merge patches; server-side apply with per-manager field
ownership), mixed into kubesim_api.Api."""

import json

import yaml

import kubesim_patch as kpatch
from kubesim_util import ApiError, clone, error, loads


class PatchMixin:
    def patch(self, t, version, ns, name, ctype, raw, q, sub=None,
              manager="unknown"):
        ctype = ctype.split(";")[0].strip().lower()
        if ctype == "application/apply-patch+yaml":
            return self.apply(t, version, ns, name, raw, q, sub)
        if ctype not in ("application/merge-patch+json",
                         "application/json-patch+json",
                         "application/strategic-merge-patch+json") or \
                (ctype == "application/strategic-merge-patch+json" and
                 not t.builtin):
            raise error(415, "UnsupportedMediaType", "the body of the "
                        "request was in an unknown format - accepted media "
                        "types include: application/json-patch+json, "
                        "application/merge-patch+json, " +
                        ("application/strategic-merge-patch+json, "
                         if t.builtin else "") +
                        "application/apply-patch+yaml")
        try:
            p = loads(raw or b"{}")
        except ValueError:
            if ctype == "application/json-patch+json":
                raise error(400, "BadRequest", "invalid character in JSON "
                            "patch")
            raise error(500, "", "Invalid JSON Patch")
        with self.store.cond:
            old = self.get(t, ns, name)
            cur = clone(old)
            if ctype == "application/json-patch+json":
                if not isinstance(p, list):
                    raise error(400, "BadRequest", "json: cannot unmarshal "
                                "object into Go value of type jsonpatch.Patch")
                try:
                    new = kpatch.json_patch(cur, p)
                except kpatch.PatchError:
                    raise ApiError(422, {
                        "kind": "Status", "apiVersion": "v1",
                        "metadata": {}, "status": "Failure",
                        "message": "the server rejected our request due to"
                        " an error in our request", "reason": "Invalid",
                        "details": {}, "code": 422})
            elif not isinstance(p, dict):
                raise error(500, "", "Invalid JSON Patch")
            elif ctype == "application/merge-patch+json":
                new = kpatch.merge_patch(cur, p)
            else:
                new = kpatch.strategic_merge(cur, p)
            if not isinstance(new, dict):
                raise error(500, "", "Invalid JSON Patch")
            prv = (new.get("metadata") or {}).get("resourceVersion")
            if prv and prv != old["metadata"]["resourceVersion"]:
                raise self.conflict(t, name)
            if (new.get("metadata") or {}).get("name", name) != name:
                raise error(400, "BadRequest", "the name of the object (%s) "
                            "does not match the name on the URL (%s)"
                            % (new["metadata"]["name"], name))
            res = self._apply_update(t, version, ns, name, old, new, q, sub)
            if res is not old:
                self._track_update(t, version, old, res, manager)
            return res

    def _okey(self, t, obj):
        m = obj["metadata"]
        return (t.storage, m.get("namespace") or "", m["name"])

    def _track_update(self, t, version, old, new, manager):
        """Fields changed by a non-apply write become owned by manager."""
        key = self._okey(t, old)
        self.last_manager[key] = (manager, t.api_version(version))
        own = self.owners.get(key)
        if not own:
            return
        self.owner_ops[key][manager] = "Update:" + t.api_version(version)
        changed = {p for p in kpatch.leaf_paths(_content(new))
                   if kpatch.get_path(_content(old), p) !=
                   kpatch.get_path(_content(new), p)}
        for m, paths in own.items():
            if m != manager:
                paths -= changed
        own.setdefault(manager, set()).update(changed)

    def apply(self, t, version, ns, name, raw, q, sub):
        mgr = q.get("fieldManager")
        if not mgr:
            raise error(422, "Invalid", 'PatchOptions.meta.k8s.io "" is '
                        'invalid: fieldManager: Required value: is required '
                        'for apply patch',
                        {"group": "meta.k8s.io", "kind": "PatchOptions",
                         "causes": [{"reason": "FieldValueRequired",
                                     "message": "Required value: is required"
                                     " for apply patch",
                                     "field": "fieldManager"}]})
        try:
            cfg = yaml.load(raw or b"", Loader=getattr(yaml, "CSafeLoader",
                                                       yaml.SafeLoader))
        except yaml.YAMLError as e:
            raise error(400, "BadRequest", "error decoding YAML: %s" % e)
        if not isinstance(cfg, dict):
            raise error(400, "BadRequest", "couldn't get version/kind; json "
                        "parse error")
        if cfg.get("apiVersion") != t.api_version(version) or \
                cfg.get("kind") != t.kind:
            raise error(400, "BadRequest", "Incorrect version specified in "
                        "apply patch. Specified patch version: %s, expected:"
                        " %s" % (cfg.get("apiVersion") or "",
                                 t.api_version(version)))
        cfg = json.loads(json.dumps(cfg, default=str))
        force = q.get("force") in ("true", "1", "True")
        with self.store.cond:
            old = self.store.get(t.storage, ns if t.namespaced else "", name)
            paths = kpatch.leaf_paths(_content(cfg))
            if old is None:
                if sub:
                    self.get(t, ns, name)
                cfg.setdefault("metadata", {})["name"] = name
                obj = self.create(t, version, ns if t.namespaced else "",
                                  cfg, q)
                if not q.get("dryRun"):
                    self.owners[self._okey(t, obj)] = {mgr: paths}
                    self.owner_ops[self._okey(t, obj)] = {mgr: "Apply"}
                return obj, 201
            key = self._okey(t, old)
            if key not in self.owners:
                lm, av = self.last_manager.get(key, ("unknown", ""))
                self.owners[key] = {lm: kpatch.leaf_paths(_content(old))}
                self.owner_ops[key] = {lm: "Update:" + av}
            own = self.owners[key]
            ops = self.owner_ops.setdefault(key, {})
            cur = clone(old)
            # values are compared after merging and defaulting, so applying
            # a field without its server-side defaults is no conflict
            cand = kpatch.apply_merge(clone(old), cfg)
            cand["apiVersion"], cand["kind"] = old["apiVersion"], t.kind
            try:
                cand = self._normalize(t, version, cand, old)
            except ApiError:
                pass
            conflicts = []
            for p in sorted(paths):
                for m, mp in own.items():
                    if m != mgr and p in mp and kpatch.get_path(
                            _content(old), p) != kpatch.get_path(
                            _content(cand), p):
                        conflicts.append((m, p))
            if conflicts and not force:
                raise _apply_conflict(conflicts, ops)
            for m, p in conflicts:
                own[m].discard(p)
            for p in own.get(mgr, set()) - paths:
                if not any(p in mp for m, mp in own.items() if m != mgr):
                    kpatch.remove_path(cur, p)
            cfg_meta = cfg.get("metadata") or {}
            cfg_meta.pop("resourceVersion", None)
            new = kpatch.apply_merge(cur, cfg)
            own[mgr] = paths
            ops[mgr] = "Apply"
            res = self._apply_update(t, version, ns, name, old, new, q, sub)
            return res, 200


def _content(obj):
    """The part of an object field ownership applies to."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")
            and k != "metadata"} | {"metadata": {
                k: v for k, v in (obj.get("metadata") or {}).items()
                if k in ("labels", "annotations", "finalizers",
                         "ownerReferences")}}


def _apply_conflict(conflicts, ops):
    def who(m):
        op = ops.get(m, "Apply")
        if op.startswith("Update:") and op[7:]:
            return '"%s" using %s' % (m, op[7:])
        return '"%s"' % m
    by = {}
    for m, p in conflicts:
        by.setdefault(m, []).append(kpatch.path_string(p))
    parts = []
    for m, ps in by.items():
        if len(ps) == 1:
            parts.append("conflict with %s: %s" % (who(m), ps[0]))
        else:
            parts.append("conflicts with %s:\n%s" % (who(m), "\n".join(
                "- " + p for p in ps)))
    n = len(conflicts)
    msg = "Apply failed with %d conflict%s: %s" % (
        n, "" if n == 1 else "s", "\n".join(parts))
    causes = [{"reason": "FieldManagerConflict",
               "message": "conflict with " + who(m),
               "field": kpatch.path_string(p)} for m, p in conflicts]
    return error(409, "Conflict", msg, {"causes": causes})
