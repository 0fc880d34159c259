# SPDX-License-Identifier: Apache-2.0
"""Discovery documents, /version and health endpoints of the Kubernetes API
simulator (shapes from kube-wire cases 01-03)."""

import kubesim_openapi as openapi
from kubesim_util import ApiError

VERSION = {
    "major": "1", "minor": "19", "gitVersion": "v1.19.16",
    "gitCommit": "e37e4ab4cc8dcda84f1344dda47a97bb1927d074",
    "gitTreeState": "clean", "buildDate": "2021-10-27T16:20:18Z",
    "goVersion": "go1.15.15", "compiler": "gc", "platform": "linux/amd64",
}


class Text:
    """A plain-text answer (health checks)."""

    def __init__(self, text):
        self.text = text


def _versions(api, group):
    vs = api.group_versions(group)
    return [{"groupVersion": group + "/" + v, "version": v} for v in vs]


def _group(api, group):
    vs = _versions(api, group)
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def _resources(api, group, version):
    seen = []
    out = []
    for (g, v, plural), t in sorted(api.types.items()):
        if g == group and v == version and t not in seen:
            seen.append(t)
            out.extend(t.discovery())
    return out


def discovery(sim, segs, host):
    """The discovery document for a path, an ApiError, or None when the
    path is not a discovery path."""
    api = sim.api
    if not segs:
        return {"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez",
                          "/readyz", "/version"] +
                ["/apis/" + g for g in api.group_order if g] +
                ["/apis/%s/%s" % (g, v) for g in api.group_order if g
                 for v in api.group_versions(g)]}
    if segs == ["version"]:
        return VERSION
    if segs[:2] == ["openapi", "v3"]:
        if len(segs) == 2:
            return openapi.root_document(api)
        doc = openapi.gv_document(api, "/".join(segs[2:]))
        if doc is None:
            raise ApiError(404, None, text="404 page not found\n")
        return doc
    if segs[0] in ("healthz", "readyz", "livez") and len(segs) <= 2:
        if len(segs) == 2 and segs[1] not in ("ping", "log", "etcd"):
            e = ApiError(404, None)
            e.body = discovery(sim, [], host)
            raise e
        raise ApiError(200, None, text="ok")
    if segs[0] == "api":
        if len(segs) == 1:
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0",
                         "serverAddress": host or "127.0.0.1"}]}
        if len(segs) == 2:
            if segs[1] != "v1":
                raise ApiError(404, None, text="404 page not found\n")
            return {"kind": "APIResourceList", "groupVersion": "v1",
                    "resources": _resources(api, "", "v1")}
        return None
    if segs[0] != "apis":
        return None
    if len(segs) == 1:
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [_group(api, g) for g in api.group_order if g]}
    group = segs[1]
    if group not in api.group_order or not group:
        if len(segs) <= 3:
            raise ApiError(404, None, text="404 page not found\n")
        return None
    if len(segs) == 2:
        d = {"kind": "APIGroup", "apiVersion": "v1"}
        d.update(_group(api, group))
        return d
    if len(segs) == 3:
        if segs[2] not in api.group_versions(group):
            raise ApiError(404, None, text="404 page not found\n")
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": group + "/" + segs[2],
                "resources": _resources(api, group, segs[2])}
    return None
