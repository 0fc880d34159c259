# SPDX-License-Identifier: Apache-2.0
"""DELETE handling of the Kubernetes API simulator: preconditions,
finalizers and deletionTimestamp, propagation policies, a background
garbage collector for ownerReferences, a namespace controller, and the
Deployment status written with --simulate-deployments.  Mixed into
kubesim_api.Api."""

import kubesim_builtin as builtin
from kubesim_util import ApiError, clone, error, now


class DeleteMixin:
    def delete(self, t, version, ns, name, opts, q):
        policy = q.get("propagationPolicy") or opts.get("propagationPolicy")
        if opts.get("orphanDependents") is True:
            policy = "Orphan"
        pre = opts.get("preconditions") or {}
        with self.store.cond:
            old = self.get(t, ns, name)
            m = old["metadata"]
            qual = t.kind + "." + t.group if t.group else t.kind
            det = {"name": name}
            if t.group:
                det["group"] = t.group
            det["kind"] = t.kind
            if pre.get("uid") and pre["uid"] != m["uid"]:
                raise error(409, "Conflict", 'Operation cannot be fulfilled '
                            'on %s "%s": the UID in the precondition (%s) '
                            'does not match the UID in record (%s). The '
                            'object might have been deleted and then '
                            'recreated' % (qual, name, pre["uid"], m["uid"]),
                            det)
            if pre.get("resourceVersion") and \
                    pre["resourceVersion"] != m["resourceVersion"]:
                raise error(409, "Conflict", 'Operation cannot be fulfilled '
                            'on %s "%s": the ResourceVersion in the '
                            'precondition (%s) does not match the '
                            'ResourceVersion in record (%s). The object might'
                            ' have been modified' % (qual, name,
                                                     pre["resourceVersion"],
                                                     m["resourceVersion"]),
                            det)
            success = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                       "status": "Success",
                       "details": dict(t.details(name), uid=m["uid"])}
            fins = list(m.get("finalizers") or [])
            if t.plural == "namespaces":
                fins = fins or []
                if "kubernetes" not in (old.get("spec") or {}).get(
                        "finalizers", ["kubernetes"]):
                    pass
            extra = {"Foreground": "foregroundDeletion",
                     "Orphan": "orphan"}.get(policy)
            if q.get("dryRun"):
                return (old if fins or extra else success), 200
            if m.get("deletionTimestamp"):
                return old, 200
            if t.plural == "namespaces":
                obj = self._mark_deleting(t, old, fins, None)
                obj["status"] = {"phase": "Terminating"}
                obj = self._write(t, obj, old, "MODIFIED")
                if self.gc_enabled:
                    self._later(0.05, self._finish_namespace, name)
                return obj, 200
            if fins or extra:
                obj = self._mark_deleting(t, old, fins, extra)
                obj = self._write(t, obj, old, "MODIFIED")
                if extra and self.gc_enabled:
                    self._later(0.05, self._finish_policy, t, obj, extra)
                return obj, 200
            self._delete_now(t, old, old)
            return success, 200

    def _mark_deleting(self, t, old, fins, extra):
        obj = clone(old)
        m = obj["metadata"]
        m["deletionTimestamp"] = now()
        if t.plural != "namespaces":
            m["deletionGracePeriodSeconds"] = 0
        if extra and extra not in fins:
            fins.append(extra)
        if fins:
            m["finalizers"] = fins
        if "generation" in m:
            m["generation"] += 1
        return obj

    def _delete_now(self, t, old, final):
        """Remove the object; DELETED carries `final` with a new rv."""
        ev = clone(old)
        ev["metadata"]["resourceVersion"] = str(self.store.next_rv())
        self.store.remove(t.storage, old, ev)
        self.owners.pop(self._okey(t, old), None)
        self.owner_ops.pop(self._okey(t, old), None)
        self.last_manager.pop(self._okey(t, old), None)
        if self.gc_enabled:
            self._later(0.01, self._collect, old["metadata"]["uid"])
        if t.plural == "customresourcedefinitions":
            rt = self.by_skey.get((old["spec"]["group"],
                                   old["spec"]["names"]["plural"]))
            if rt is not None and not rt.builtin:
                self.unregister(rt)
                for ns, n, o in self.store.items(rt.storage):
                    self._delete_now(rt, o, o)

    def dependents(self, uid):
        out = []
        for skey, byns in list(self.store.objs.items()):
            t = self.by_skey.get(skey)
            if t is None:
                continue
            for d in list(byns.values()):
                for o in list(d.values()):
                    for r in o["metadata"].get("ownerReferences") or []:
                        if r.get("uid") == uid:
                            out.append((t, o))
                            break
        return out

    def _collect(self, uid):
        """Background garbage collection of dependents of a deleted owner."""
        with self.store.cond:
            for t, o in self.dependents(uid):
                m = o["metadata"]
                cur = self.store.get(t.storage, m.get("namespace"), m["name"])
                if cur is None or cur["metadata"]["uid"] != m["uid"]:
                    continue
                refs = [r for r in m.get("ownerReferences") or []
                        if r.get("uid") != uid]
                if refs and any(self._owner_exists(r, m.get("namespace"))
                                for r in refs):
                    obj = clone(cur)
                    obj["metadata"]["ownerReferences"] = refs
                    self._write(t, obj, cur, "MODIFIED")
                    continue
                try:
                    self.delete(t, t.versions[0], m.get("namespace") or "",
                                m["name"], {}, {})
                except ApiError:
                    pass

    def _owner_exists(self, ref, ns):
        for t in set(self.by_skey.values()):
            if t.kind == ref.get("kind"):
                o = self.store.get(t.storage, ns if t.namespaced else "",
                                   ref.get("name"))
                if o is not None and o["metadata"]["uid"] == ref.get("uid"):
                    return True
        return False

    def _finish_policy(self, t, obj, fin):
        """Act as the garbage collector for Foreground/Orphan deletion."""
        uid = obj["metadata"]["uid"]
        with self.store.cond:
            for dt, d in self.dependents(uid):
                dm = d["metadata"]
                if fin == "orphan":
                    new = clone(d)
                    new["metadata"]["ownerReferences"] = [
                        r for r in dm.get("ownerReferences") or []
                        if r.get("uid") != uid]
                    if not new["metadata"]["ownerReferences"]:
                        del new["metadata"]["ownerReferences"]
                    self._write(dt, new, d, "MODIFIED")
                else:
                    try:
                        self.delete(dt, dt.versions[0],
                                    dm.get("namespace") or "", dm["name"],
                                    {}, {})
                    except ApiError:
                        pass
            self._remove_finalizer(t, obj, fin)

    def _remove_finalizer(self, t, obj, fin):
        m = obj["metadata"]
        cur = self.store.get(t.storage, m.get("namespace"), m["name"])
        if cur is None or cur["metadata"]["uid"] != m["uid"]:
            return
        new = clone(cur)
        fins = [f for f in new["metadata"].get("finalizers") or []
                if f != fin]
        if fins:
            new["metadata"]["finalizers"] = fins
            self._write(t, new, cur, "MODIFIED")
        else:
            self._delete_now(t, cur, cur)

    def _finish_namespace(self, name):
        """Act as the namespace controller: delete the content, then the
        namespace itself."""
        with self.store.cond:
            for skey, t in list(self.by_skey.items()):
                if not t.namespaced:
                    continue
                for ns, n, o in self.store.items(skey, name):
                    try:
                        self.delete(t, t.versions[0], name, n, {}, {})
                    except ApiError:
                        pass
            if any(self.store.items(s, name) for s in self.by_skey):
                self._later(0.2, self._finish_namespace, name)
                return
            nst = self.by_skey[("", "namespaces")]
            cur = self.store.get(nst.storage, "", name)
            if cur is not None and not cur["metadata"].get("finalizers"):
                self._delete_now(nst, cur, cur)

    # ------------------------------------------------- deployment simulation
    def _deployment_status(self, t, obj):
        with self.store.cond:
            m = obj["metadata"]
            cur = self.store.get(t.storage, m["namespace"], m["name"])
            if cur is None or cur["metadata"]["resourceVersion"] != \
                    m["resourceVersion"] or m.get("deletionTimestamp"):
                return
            st = builtin.deployment_status(cur)
            if cur.get("status") == st:
                return
            new = clone(cur)
            new["status"] = st
            self.simulate_deployments = False
            try:
                self._write(t, new, cur, "MODIFIED")
            finally:
                self.simulate_deployments = True
