# SPDX-License-Identifier: Apache-2.0
"""The whole controller (cfgwd and its five workers) against the Kubernetes
simulator with faults injected through /_sim/faults: dropped watch
streams, a forced 410 (and a real compaction), 500s on lists and
watches, slow and partial chunks, a 409 on a status write, invalid JSON
in a list, periodic resync, and the VerticalPodAutoscaler API appearing
later.

After each fault the test creates, modifies and deletes a few objects and
then asserts that the reconciler's view equals the simulator's state: the
reconciler logs `store: digest <sha256> objects <N>` whenever its store
settles (reconciler/store.c), the SHA-256 over the sorted lines
"Kind ns/name resourceVersion" ("Kind name resourceVersion" for
cluster-scoped objects) of every object it holds; the test computes the
same over the objects the watcher is meant to watch (kinds and selectors
below) from GET /_sim/objects.  Both sides are polled, with generous
timeouts for a loaded machine, until they agree; a view that diverges
never agrees and fails the test.
"""
import hashlib
import re
import secrets
import signal
import time

import pytest

import harness
from harness import condition, wait_for

ACCOUNT = "acc-faults"
ZONE = "example.com"
MANAGED_KEY = "app.kubernetes.io/managed-by"
MANAGED = {MANAGED_KEY: "cloudflare-gateway-controller"}
GWC_CRD = "gatewayclasses.gateway.networking.k8s.io"
WATCHER = "watcher"          # User-Agent "cfgw/<version> (watcher)"

# What the watcher watches: kind -> filter (None: everything).
WATCHED = {
    "GatewayClass": None, "Gateway": None, "HTTPRoute": None,
    "GRPCRoute": None, "ReferenceGrant": None, "Namespace": None,
    "Service": None, "Secret": None, "CloudflareGatewayParameters": None,
    "Deployment": "managed", "ConfigMap": "managed",
    "ServiceAccount": "managed", "Role": "managed", "RoleBinding": "managed",
    "VerticalPodAutoscaler": "managed",
    "CustomResourceDefinition": "gwc-crd",
}
CLUSTER_SCOPED = {"GatewayClass", "Namespace", "CustomResourceDefinition"}
VIEW_TIMEOUT = 90
DIGEST_RE = re.compile(r"store: digest ([0-9a-f]{64}) objects (\d+)")


# ---- the simulator's state and the reconciler's view ----------------------

def watched(o):
    kind = o.get("kind")
    if kind not in WATCHED:
        return False
    f = WATCHED[kind]
    md = o.get("metadata") or {}
    if f == "managed":
        return (md.get("labels") or {}).get(MANAGED_KEY) == \
            MANAGED[MANAGED_KEY]
    if f == "gwc-crd":
        return md.get("name") == GWC_CRD
    return True


def sim_view(kube):
    """(digest, count, {kind: n}) of what the watcher should hold."""
    st, objs = kube.ctl.get("/_sim/objects")
    assert st == 200, objs
    lines, counts = [], {}
    for o in objs:
        if not watched(o):
            continue
        md = o["metadata"]
        kind = o["kind"]
        ns = md.get("namespace") or ""
        key = f"{ns}/{md['name']}" if ns and kind not in CLUSTER_SCOPED \
            else md["name"]
        lines.append(f"{kind} {key} {md.get('resourceVersion', '')}")
        counts[kind] = counts.get(kind, 0) + 1
    lines.sort(key=lambda s: s.encode())
    data = "".join(line + "\n" for line in lines).encode()
    return hashlib.sha256(data).hexdigest(), len(lines), counts


def rec_view(gw):
    """(digest, count, counts line) of the reconciler's last settle log."""
    log = gw.log("reconciler")
    found = None
    for m in DIGEST_RE.finditer(log):
        found = m
    if found is None:
        return None, None, ""
    tail = log[found.end():]
    cm = re.search(r"store:((?: \w+=\d+)+)", tail)
    return found.group(1), int(found.group(2)), cm.group(1) if cm else ""


def assert_view_equal(w, what, timeout=VIEW_TIMEOUT):
    """Poll until the reconciler's digest equals the simulator's."""
    deadline = time.monotonic() + timeout
    while True:
        want = sim_view(w.kube)
        got = rec_view(w.gw)
        if got[0] == want[0] and got[1] == want[1]:
            return want
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what}: the reconciler's view differs from the simulator"
                f"\n  simulator:  {want[0]} objects {want[1]} {want[2]}"
                f"\n  reconciler: {got[0]} objects {got[1]} {got[2]}"
                f"\n  watcher log: {w.gw.log('watcher')[-2500:]}")
        time.sleep(0.5)


# ---- the world ----------------------------------------------------------

def examples(token):
    return harness.example_objects(token, ACCOUNT)


class World:
    def __init__(self, tmp_path, kube, cf):
        self.tmp = tmp_path
        self.kube = kube
        self.cf = cf
        self.token = "tok-" + secrets.token_hex(20)
        st, _ = cf.seed({
            "accounts": [{"id": ACCOUNT, "name": "faults"}],
            "tokens": [{"token": self.token, "account": ACCOUNT,
                        "status": "active"}],
            "zones": [{"name": ZONE, "account": ACCOUNT}]})
        assert st == 200
        self.gw = None
        self.pids = None
        self.round = 0
        self.made = []

    def start(self, env=None, apply=True):
        if apply:
            self.kube.apply_all(examples(self.token))
        e = {"CFGW_WATCH_TIMEOUT": "4"}   # new fault rules reach watches
        e.update(env or {})
        self.gw = harness.Cfgwd(self.tmp, self.kube, self.cf, env=e)
        self.gw.ready(60)
        self.pids = wait_for(lambda: (lambda p: p if len(p) == 5 else None)(
            self.gw.worker_pids()), 30, what="five workers")
        if apply:
            wait_for(self.programmed, 90, what="the example Gateway")
        return self.gw

    def programmed(self):
        c = condition(self.kube.get("Gateway", "my-gateway"), "Programmed")
        return c is not None and c["status"] == "True"

    def faults(self, rules, rewatch=()):
        """Set the fault rules; then wait until the watcher has started a
        new watch on each path in rewatch (watches already running are
        not affected by new rules; they end every 4 s here)."""
        t0 = len(self.kube.requests())     # the log's index from now on
        st, _ = self.kube.faults(rules)
        assert st == 200
        for suffix in rewatch:
            wait_for(lambda: [r for r in self.kube.requests()[t0:]
                              if WATCHER in r["user_agent"] and
                              is_watch(r) and r["path"].endswith(suffix)],
                     30, interval=0.3, what=f"a new watch on {suffix}")
        return t0

    def sighup(self):
        self.gw.proc.signal(signal.SIGHUP)

    def alive(self):
        """cfgwd runs and neither the watcher nor the reconciler was
        restarted (a crash or a missed heartbeat would show here)."""
        assert self.gw.proc.proc.poll() is None, self.gw.proc.tail()
        now = self.gw.worker_pids()
        for name in ("watcher", "reconciler"):
            assert now.get(name) == self.pids[name], \
                (name, self.pids, now, self.gw.log()[-2000:])

    def churn(self):
        """Create, modify and delete a few objects of several kinds."""
        self.round += 1
        n = self.round
        k = self.kube
        ns = f"churn-{n}"
        k.create({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": ns, "labels": {"round": str(n)}}})
        for i in range(3):
            k.create(route(f"r{n}-{i}", ns))
        k.create(route(f"attached-{n}", "default",
                       hostname=f"app{n}.{ZONE}", parent="my-gateway"))
        k.create(configmap(f"cm{n}", ns, MANAGED))
        k.create(configmap(f"plain{n}", ns, None))
        k.create(harness.secret(f"s{n}", ns, {"k": "v"}))
        k.create({"apiVersion": "v1", "kind": "ServiceAccount",
                  "metadata": {"name": f"sa{n}", "namespace": ns,
                               "labels": dict(MANAGED)}})
        k.create({"apiVersion": "rbac.authorization.k8s.io/v1",
                  "kind": "Role",
                  "metadata": {"name": f"role{n}", "namespace": ns,
                               "labels": dict(MANAGED)},
                  "rules": []})
        k.create({"apiVersion": "v1", "kind": "Service",
                  "metadata": {"name": f"svc{n}", "namespace": ns},
                  "spec": {"ports": [{"port": 80}]}})
        st, _ = k.patch("HTTPRoute", f"r{n}-0", {"metadata": {"labels": {
            "touched": "yes"}}}, ns=ns)
        assert st == 200
        st, _ = k.patch("Service", "my-service", {"metadata": {
            "annotations": {"round": str(n)}}}, ns="default")
        assert st == 200
        st, _ = k.delete("HTTPRoute", f"r{n}-2", ns=ns)
        assert st == 200
        # Objects of the previous round go away.
        for kind, name, pns in self.made:
            st, _ = k.delete(kind, name, ns=pns)
            assert st in (200, 202, 404), (kind, name, st)
        self.made = [("ConfigMap", f"cm{n}", ns),
                     ("HTTPRoute", f"r{n}-1", ns),
                     ("HTTPRoute", f"attached-{n}", "default")]

    def watcher_requests(self):
        return [r for r in self.kube.requests()
                if WATCHER in r["user_agent"]]


def route(name, ns, hostname=None, parent=None):
    spec = {"rules": [{"backendRefs": [{"name": "my-service",
                                        "port": 80}]}]}
    if hostname:
        spec["hostnames"] = [hostname]
    if parent:
        spec["parentRefs"] = [{"name": parent}]
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def configmap(name, ns, labels):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns,
                         "labels": labels or {}},
            "data": {"k": "v"}}


def is_watch(r):
    return "watch=1" in r["query"] or "watch=true" in r["query"]


@pytest.fixture
def world(tmp_path, kubesim, cfsim):
    w = World(tmp_path, kubesim, cfsim)
    yield w
    if w.gw is not None:
        w.gw.stop()


# ---- the faults -----------------------------------------------------------

def test_view_digest_matches(world):
    """No fault: the digest is computed the same way on both sides (and a
    wrong object makes it differ, so the comparison can fail)."""
    w = world
    w.start()
    digest, n, counts = assert_view_equal(w, "initial")
    assert counts.get("HTTPRoute") == 1 and counts.get("Namespace", 0) >= 4
    assert counts.get("Deployment", 0) >= 1     # the tunnel, owned
    w.churn()
    _, _, counts = assert_view_equal(w, "after churn")
    # The reconciler's view carries the owned RBAC kinds too (the
    # controller's own and the churned ones).
    _, _, line = rec_view(w.gw)
    for kind in ("ServiceAccount", "Role", "RoleBinding"):
        assert counts.get(kind, 0) >= 1
        assert f" {kind}={counts[kind]}" in line, line
    # A watched object changes the simulator's digest; the reconciler's
    # follows (an unwatched one is in neither).
    before = sim_view(w.kube)
    w.kube.create(configmap("not-watched", "default", None))
    w.kube.create(configmap("watched", "default", MANAGED))
    assert sim_view(w.kube)[0] != before[0]
    assert_view_equal(w, "watched ConfigMap")
    w.alive()


def test_dropped_watch_streams(world):
    w = world
    w.start()
    assert_view_equal(w, "initial")
    # Every watcher stream is cut abruptly after one event, forever.
    t0 = w.faults([{"user_agent_regex": WATCHER, "watch_drop_after": 1}],
                  rewatch=("/httproutes", "/namespaces"))
    w.churn()
    assert_view_equal(w, "streams dropped after each event")
    w.churn()
    assert_view_equal(w, "streams dropped, second round")
    w.faults([])
    w.churn()
    assert_view_equal(w, "after the fault")
    w.alive()
    reqs = w.kube.requests()
    lists = [r for r in reqs if r["path"].endswith("/httproutes") and
             not is_watch(r) and WATCHER in r["user_agent"]]
    watches = [r for r in reqs[t0:] if r["path"].endswith("/httproutes")
               and is_watch(r) and WATCHER in r["user_agent"]]
    assert len(watches) >= 4, "streams were not dropped and resumed"
    assert len(lists) == 1, "a dropped stream resumes; it does not re-list"


def test_forced_410_and_compaction(world):
    w = world
    w.start()
    w.churn()           # objects for the next rounds to delete
    assert_view_equal(w, "initial")
    # HTTPRoute, ConfigMap and Namespace watches answer 410 Gone: the
    # watcher can only re-list (backing off, as the server keeps failing).
    # What is deleted meanwhile is seen only as missing from a list, and
    # must come out as DELETED.
    w.faults([{"user_agent_regex": WATCHER, "watch_gone": True,
               "path_regex": "/(httproutes|configmaps|namespaces)$"}],
             rewatch=("/httproutes", "/configmaps"))
    w.churn()
    time.sleep(2)
    # A real compaction too: the resourceVersions the watcher holds for
    # the other kinds expire.
    st, _ = w.kube.ctl.post("/_sim/compact", {})
    assert st == 200
    w.churn()
    w.faults([])
    assert_view_equal(w, "410 on watches, deletes in between")
    assert "expired, re-listing" in w.gw.log("watcher")
    w.churn()
    assert_view_equal(w, "after the 410s")
    w.alive()


def test_500s_on_lists_and_watches(world):
    w = world
    w.start()
    assert_view_equal(w, "initial")
    # Everything the watcher asks fails with 500 (lists, watches,
    # discovery) for a few seconds; SIGHUP makes it re-list meanwhile,
    # and the 4 s watch timeout makes it re-watch.
    w.faults([{"user_agent_regex": WATCHER, "status": 500}],
             rewatch=("/httproutes",))
    w.sighup()
    w.churn()
    time.sleep(6)
    w.churn()
    errs = [r for r in w.watcher_requests() if r["status"] == 500]
    w.faults([])
    assert any(is_watch(r) for r in errs), "no watch got a 500"
    assert any(not is_watch(r) and "/namespaces" in r["path"]
               for r in errs), "no list got a 500"
    assert_view_equal(w, "after 500s")
    w.churn()
    assert_view_equal(w, "after 500s, later changes")
    w.alive()


def test_slow_and_partial_chunks(world):
    w = world
    w.start()
    assert_view_equal(w, "initial")
    # Events arrive 7 bytes at a time, 3 ms apart; Gateway lists and
    # watches answer 2 s late.
    w.faults([{"user_agent_regex": WATCHER, "partial_chunks": True,
               "chunk_delay_ms": 3,
               "path_regex": "/(httproutes|services|secrets|namespaces)$"},
              {"user_agent_regex": WATCHER, "delay_ms": 2000, "count": 3,
               "path_regex": "/gateways$"}],
             rewatch=("/httproutes", "/services", "/secrets"))
    w.sighup()
    w.churn()
    assert_view_equal(w, "slow, partial chunks")
    w.churn()
    assert_view_equal(w, "slow, partial chunks, second round")
    w.faults([])
    w.alive()


def test_409_on_status_write(world):
    w = world
    w.start()
    assert_view_equal(w, "initial")
    conflict = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": "Conflict", "code": 409,
                "message": "Operation cannot be fulfilled on "
                           "httproutes.gateway.networking.k8s.io "
                           "\"my-route\": the object has been modified; "
                           "please apply your changes to the latest "
                           "version and try again"}
    # The reconciler's next status write of the route conflicts once
    # (PATCH or PUT), as if someone else had just written it ...
    w.faults([{"user_agent_regex": "reconciler", "method": m,
               "path_regex": "/httproutes/my-route/status$", "status": 409,
               "body": conflict, "count": 1} for m in ("PATCH", "PUT")])
    # ... and someone else does write it: another controller's parent.
    other = {"parentRef": {"name": "elsewhere", "namespace": "default"},
             "controllerName": "example.com/other-controller",
             "conditions": [{"type": "Accepted", "status": "True",
                             "reason": "Accepted", "message": "",
                             "lastTransitionTime": "2026-01-01T00:00:00Z",
                             "observedGeneration": 1}]}
    cur = w.kube.get("HTTPRoute", "my-route")
    parents = list(cur.get("status", {}).get("parents") or []) + [other]
    st, _ = w.kube.patch("HTTPRoute", "my-route",
                         {"status": {"parents": parents}}, sub="status")
    assert st == 200
    # A spec change makes the reconciler write the route's status.
    st, _ = w.kube.patch("HTTPRoute", "my-route", {"spec": {"hostnames": [
        "app.example.com", f"second.{ZONE}"]}})
    assert st == 200
    gen = w.kube.get("HTTPRoute", "my-route")["metadata"]["generation"]

    def written():
        r = w.kube.get("HTTPRoute", "my-route")
        ps = r.get("status", {}).get("parents") or []
        ours = [p for p in ps if p.get("controllerName") !=
                other["controllerName"]]
        acc = [c for p in ours for c in p.get("conditions") or []
               if c["type"] == "Accepted"]
        return ours and acc and all(c.get("observedGeneration") == gen
                                    for c in acc) and r
    r = wait_for(written, VIEW_TIMEOUT, what="route status after a 409")
    # The other controller's entry survived our retry.
    assert [p for p in r["status"]["parents"]
            if p.get("controllerName") == other["controllerName"]]
    hit = [x for x in w.kube.requests() if x["status"] == 409 and
           "reconciler" in x["user_agent"]]
    assert hit, "the 409 was never served to the reconciler"
    w.churn()
    assert_view_equal(w, "after a 409 on write")
    w.faults([])
    w.alive()


def test_invalid_json_in_list(world):
    w = world
    w.start()
    assert_view_equal(w, "initial")
    # The next HTTPRoute and Service answers (a re-list, or a watch) are
    # truncated JSON.
    w.faults([{"user_agent_regex": WATCHER, "invalid_json": True,
               "path_regex": "/(httproutes|services)$", "count": 4}])
    mark = len(w.gw.log("watcher"))
    w.sighup()
    w.churn()
    assert_view_equal(w, "invalid JSON in a list")
    bad = w.gw.log("watcher")[mark:]
    assert re.search(r"(HTTPRoute|Service): (list|watch)", bad), bad[-2000:]
    w.churn()
    assert_view_equal(w, "invalid JSON, later changes")
    w.alive()


def test_periodic_resync_publishes_only_differences(world):
    w = world
    w.start(env={"CFGW_WATCHER_RESYNC": "3"})
    assert_view_equal(w, "initial")
    wait_for(lambda: w.gw.log("watcher").count("periodic resync") >= 2, 30,
             what="two periodic resyncs")
    # While nothing changes in the cluster, re-lists publish nothing: the
    # reconciler's store is not touched (no new settle line).
    for attempt in range(4):
        rv0 = w.kube.ctl.get("/_sim/state")[1]["resourceVersion"]
        n0 = len(DIGEST_RE.findall(w.gw.log("reconciler")))
        r0 = w.gw.log("watcher").count("periodic resync")
        wait_for(lambda: w.gw.log("watcher").count("periodic resync") >=
                 r0 + 2, 30, what="two more resyncs")
        time.sleep(1.5)
        rv1 = w.kube.ctl.get("/_sim/state")[1]["resourceVersion"]
        n1 = len(DIGEST_RE.findall(w.gw.log("reconciler")))
        if rv0 == rv1:
            assert n1 == n0, "a resync without changes was published"
            break
    else:
        pytest.skip("the cluster never stayed still for two resyncs")
    lists = [r for r in w.watcher_requests()
             if r["path"].endswith("/gateways") and not is_watch(r)]
    assert len(lists) >= 3
    w.churn()
    assert_view_equal(w, "after periodic resyncs")
    w.alive()


VPA_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "verticalpodautoscalers.autoscaling.k8s.io"},
    "spec": {"group": "autoscaling.k8s.io", "scope": "Namespaced",
             "names": {"plural": "verticalpodautoscalers",
                       "singular": "verticalpodautoscaler",
                       "kind": "VerticalPodAutoscaler",
                       "listKind": "VerticalPodAutoscalerList"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {
                               "type": "object",
                               "x-kubernetes-preserve-unknown-fields":
                                   True}}}]}}


def serve_vpa_api(kube, ns="default"):
    """Install the VPA CRD in the simulator; the namespace's VPA path once
    it is served."""
    st, body = kube.http.post(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", VPA_CRD)
    assert st == 201, body
    path = f"/apis/autoscaling.k8s.io/v1/namespaces/{ns}/" \
        "verticalpodautoscalers"
    wait_for(lambda: kube.http.get(path)[0] == 200, 20, what="the VPA API")
    return path


def vpa(name, ns, labels):
    return {"apiVersion": "autoscaling.k8s.io/v1",
            "kind": "VerticalPodAutoscaler",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"targetRef": {"apiVersion": "apps/v1",
                                   "kind": "Deployment", "name": "x"}}}


def test_vpa_appears_later(world):
    """No VPA API: one log line; once the API is served (discovery
    re-check) the managed VPAs are watched."""
    w = world
    w.start(env={"CFGW_WATCHER_RECHECK": "2"}, apply=False)
    assert_view_equal(w, "initial")
    time.sleep(5)
    log = w.gw.log("watcher")
    assert log.count("VerticalPodAutoscaler: not served") == 1, log[-3000:]
    path = serve_vpa_api(w.kube)
    for name, labels in (("ours", dict(MANAGED)), ("theirs", {})):
        st, body = w.kube.http.post(path, vpa(name, "default", labels))
        assert st == 201, body
    digest, n, counts = assert_view_equal(w, "VPA served")
    assert counts.get("VerticalPodAutoscaler") == 1
    assert "VerticalPodAutoscaler=1" in rec_view(w.gw)[2]
    assert "VerticalPodAutoscaler: served as autoscaling.k8s.io/v1" in \
        w.gw.log("watcher")
    w.alive()
