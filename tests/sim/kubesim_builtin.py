# SPDX-License-Identifier: Apache-2.0
"""Server-side defaulting and a little validation for the built-in kinds the
Kubernetes API simulator serves (values as recorded in kube-wire cases
13-20), the core <-> events.k8s.io Event conversion, and the Deployment
status the --simulate-deployments option writes."""

import base64
import random
import re

from kubesim_schema import Cause
from kubesim_util import now

# top-level fields each built-in kind keeps (others are dropped silently)
KNOWN = {
    "namespaces": ("spec", "status"),
    "secrets": ("immutable", "data", "stringData", "type"),
    "configmaps": ("immutable", "data", "binaryData"),
    "services": ("spec", "status"),
    "serviceaccounts": ("secrets", "imagePullSecrets",
                        "automountServiceAccountToken"),
    "events": ("involvedObject", "reason", "message", "source",
               "firstTimestamp", "lastTimestamp", "count", "type",
               "eventTime", "series", "action", "related",
               "reportingComponent", "reportingInstance"),
    "deployments": ("spec", "status"),
    "roles": ("rules",),
    "rolebindings": ("subjects", "roleRef"),
    "leases": ("spec",),
    "customresourcedefinitions": ("spec", "status"),
}

EV_MAP = (("involvedObject", "regarding"), ("message", "note"),
          ("source", "deprecatedSource"),
          ("firstTimestamp", "deprecatedFirstTimestamp"),
          ("lastTimestamp", "deprecatedLastTimestamp"),
          ("count", "deprecatedCount"),
          ("reportingComponent", "reportingController"))
EV_ORDER_CORE = KNOWN["events"]
EV_ORDER_NEW = ("eventTime", "series", "reportingController",
                "reportingInstance", "action", "reason", "regarding",
                "related", "note", "type", "deprecatedSource",
                "deprecatedFirstTimestamp", "deprecatedLastTimestamp",
                "deprecatedCount")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def event_to_core(obj):
    out = {}
    for k, v in obj.items():
        for core, new in EV_MAP:
            if k == new:
                k = core
                break
        out[k] = v
    out["apiVersion"] = "v1"
    return out


def event_convert(obj, group, api_version):
    """Present a stored (core) Event at the requested group/version."""
    if group != "events.k8s.io":
        if obj.get("apiVersion") == api_version:
            return obj
        o = dict(obj)
        o["apiVersion"] = api_version
        return o
    out = {"kind": "Event", "apiVersion": api_version,
           "metadata": obj["metadata"]}
    conv = {}
    for k, v in obj.items():
        if k in ("kind", "apiVersion", "metadata"):
            continue
        for core, new in EV_MAP:
            if k == core:
                k = new
                break
        conv[k] = v
    for k in EV_ORDER_NEW:
        if k in conv:
            out[k] = conv[k]
    for k, v in conv.items():
        if k not in out:
            out[k] = v
    return out


def _prune(t, obj):
    keep = KNOWN.get(t.plural)
    if keep is None:
        return obj
    return {k: v for k, v in obj.items()
            if k in ("apiVersion", "kind", "metadata") or k in keep}


def check_types(t, obj):
    """Decoding errors of typed (built-in) objects: 400, not 422."""
    if t.plural == "deployments":
        r = (obj.get("spec") or {}).get("replicas", 0)
        if not isinstance(r, int) or isinstance(r, bool):
            return ('Deployment in version "v1" cannot be handled as a '
                    'Deployment: v1.Deployment.Spec: v1.DeploymentSpec.'
                    'Replicas: readUint32: unexpected character')
    return None


def default(t, obj, old):
    if t.group == "events.k8s.io":
        obj = event_to_core(obj)
        obj["kind"] = "Event"
        obj.setdefault("source", {})
        obj.setdefault("firstTimestamp", None)
        obj.setdefault("lastTimestamp", None)
    obj = _prune(t, obj)
    fn = _DEFAULTS.get(t.plural)
    if fn:
        fn(obj, old)
    return obj


def _secret(obj, old):
    sd = obj.pop("stringData", None)
    if isinstance(sd, dict):
        data = obj.setdefault("data", {})
        if isinstance(data, dict):
            for k, v in sd.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = {k: data[k] for k in sorted(data)}
    obj.setdefault("type", "Opaque")


def _namespace(obj, old):
    spec = obj.setdefault("spec", {})
    if old is None:
        spec.setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
    else:
        obj["status"] = old.get("status", {"phase": "Active"}) \
            if "status" not in obj else obj["status"]


def _service(obj, old):
    spec = obj.setdefault("spec", {})
    for p in spec.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
            p.setdefault("targetPort", p.get("port"))
    if spec.get("type", "ClusterIP") != "ExternalName":
        if old is not None and (old.get("spec") or {}).get("clusterIP"):
            spec["clusterIP"] = old["spec"]["clusterIP"]
        elif not spec.get("clusterIP"):
            spec["clusterIP"] = "10.96.%d.%d" % (random.randint(0, 255),
                                                 random.randint(1, 254))
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if old is None:
        obj["status"] = {"loadBalancer": {}}


def _pod_spec(ps):
    for c in (ps.get("containers") or []) + (ps.get("initContainers") or []):
        if not isinstance(c, dict):
            continue
        for p in c.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
        c.setdefault("resources", {})
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        img = c.get("image", "")
        latest = ":" not in img.rsplit("/", 1)[-1] or img.endswith(":latest")
        c.setdefault("imagePullPolicy", "Always" if latest and "@" not in img
                     else "IfNotPresent")
    ps.setdefault("restartPolicy", "Always")
    ps.setdefault("terminationGracePeriodSeconds", 30)
    ps.setdefault("dnsPolicy", "ClusterFirst")
    ps.setdefault("securityContext", {})
    ps.setdefault("schedulerName", "default-scheduler")


def _deployment(obj, old):
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    tmpl = spec.setdefault("template", {})
    if isinstance(tmpl, dict):
        tm = tmpl.setdefault("metadata", {})
        if isinstance(tm, dict):
            tm.setdefault("creationTimestamp", None)
        ps = tmpl.setdefault("spec", {})
        if isinstance(ps, dict):
            _pod_spec(ps)
    st = spec.setdefault("strategy", {"type": "RollingUpdate"})
    if isinstance(st, dict) and st.get("type", "RollingUpdate") == \
            "RollingUpdate":
        st.setdefault("type", "RollingUpdate")
        ru = st.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    if old is None:
        obj["status"] = {}


def _crd(obj, old):
    if old is None:
        names = (obj.get("spec") or {}).get("names") or {}
        obj["status"] = {"conditions": None,
                         "acceptedNames": {"plural": "", "kind": ""},
                         "storedVersions": [
                             v.get("name") for v in
                             (obj.get("spec") or {}).get("versions") or []
                             if v.get("storage")]}
        if isinstance(names, dict):
            names.setdefault("singular", str(names.get("kind", "")).lower())
            names.setdefault("listKind", str(names.get("kind", "")) + "List")
        spec = obj.get("spec") or {}
        spec.setdefault("conversion", {"strategy": "None"})


_DEFAULTS = {"secrets": _secret, "namespaces": _namespace,
             "services": _service, "deployments": _deployment,
             "customresourcedefinitions": _crd}


def validate(t, obj, old):
    causes = []
    if t.plural == "configmaps":
        for fld in ("data", "binaryData"):
            for k in (obj.get(fld) or {}):
                if not CONFIG_KEY.match(k):
                    causes.append(Cause(
                        "FieldValueInvalid", 'Invalid value: "%s": a valid '
                        "config key must consist of alphanumeric characters,"
                        " '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME', "
                        " or 'key-name', regex used for validation is "
                        "'[-._a-zA-Z0-9]+')" % k, "%s[%s]" % (fld, k)))
    elif t.plural == "deployments":
        spec = obj.get("spec") or {}
        r = spec.get("replicas")
        if isinstance(r, int) and r < 0:
            causes.append(Cause("FieldValueInvalid", "Invalid value: %d: "
                                "must be greater than or equal to 0" % r,
                                "spec.replicas"))
        sel = spec.get("selector")
        if not sel:
            causes.append(Cause("FieldValueRequired", "Required value",
                                "spec.selector"))
        tl = ((spec.get("template") or {}).get("metadata") or {}).get(
            "labels") or {}
        ml = (sel or {}).get("matchLabels") or {}
        if not sel or any(tl.get(k) != v for k, v in ml.items()):
            causes.append(Cause(
                "FieldValueInvalid", "Invalid value: map[string]string{%s}: "
                "`selector` does not match template `labels`" % ", ".join(
                    '"%s":"%s"' % (k, tl[k]) for k in sorted(tl)),
                "spec.template.metadata.labels"))
        if not ((spec.get("template") or {}).get("spec") or {}).get(
                "containers"):
            causes.append(Cause("FieldValueRequired", "Required value",
                                "spec.template.spec.containers"))
    elif t.plural == "events" and t.group == "events.k8s.io":
        if not obj.get("eventTime"):
            causes.append(Cause("FieldValueRequired", "Required value",
                                "eventTime"))
        if obj.get("type") not in ("Normal", "Warning"):
            causes.append(Cause("FieldValueInvalid", 'Invalid value: "": has'
                                ' invalid value: %s' % obj.get("type"),
                                "type"))
    return causes


def deployment_status(obj):
    """What a kube-controller-manager plus kubelets would report for a
    Deployment whose pods all come up at once."""
    spec = obj.get("spec") or {}
    n = spec.get("replicas", 1)
    ts = now()
    name = obj["metadata"]["name"]
    old = {c.get("type"): c for c in
           (obj.get("status") or {}).get("conditions") or []}

    def cond(typ, reason, msg):
        c = {"type": typ, "status": "True", "lastUpdateTime": ts,
             "lastTransitionTime": ts, "reason": reason, "message": msg}
        o = old.get(typ)
        if o and o.get("status") == "True":
            c["lastTransitionTime"] = o.get("lastTransitionTime", ts)
        return c
    st = {"observedGeneration": obj["metadata"].get("generation", 1)}
    if n:
        st.update({"replicas": n, "updatedReplicas": n, "readyReplicas": n,
                   "availableReplicas": n})
    st["conditions"] = [
        cond("Available", "MinimumReplicasAvailable",
             "Deployment has minimum availability."),
        cond("Progressing", "NewReplicaSetAvailable",
             'ReplicaSet "%s-%s" has successfully progressed.'
             % (name, "5d8f6b7c9"))]
    return st
