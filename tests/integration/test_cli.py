# SPDX-License-Identifier: Apache-2.0
"""cfgwctl suspend / resume / reconcile / rotate / watch.

Two halves:
- against the Kubernetes simulator alone (no controller): the annotations
  each command writes, its refusals and errors, and the waits, driven by a
  tiny fake controller thread that writes what the real one would;
- end to end with the real controller (cfgwd and its workers against
  kubesim --simulate-deployments and cfsim), as in test_skeleton.py.
"""
import datetime
import subprocess
import threading
import time

import pytest

import harness
from harness import condition, wait_for
from test_skeleton import World, converged, load_examples

ANN = "cloudflare-gateway-controller.io/"
A_RECONCILE = ANN + "reconcile"
A_REQUESTED = ANN + "reconcileRequestedAt"
A_ROTATE = "gateways.cloudflare-gateway-controller.io/rotateTokenRequestedAt"
A_HASH = "gateways.cloudflare-gateway-controller.io/tokenHash"
CN = "cloudflare-gateway-controller.io/controller"


def cfgwctl(kc, *args, timeout=120):
    p = subprocess.run([str(harness.binpath("cfgwctl")), *map(str, args),
                        "--kubeconfig", str(kc)],
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode >= 0, f"cfgwctl crashed: {p.returncode}\n{p.stderr}"
    assert "AddressSanitizer" not in p.stderr, p.stderr
    assert "runtime error" not in p.stderr, p.stderr
    return p


def spawn(kc, *args):
    return subprocess.Popen([str(harness.binpath("cfgwctl")),
                             *map(str, args), "--kubeconfig", str(kc)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def parse_rfc3339(s):
    # Go's RFC3339Nano: up to 9 fractional digits, UTC "Z".
    assert s.endswith("Z"), s
    base, _, frac = s[:-1].partition(".")
    assert len(frac) <= 9 and (not frac or not frac.endswith("0")), s
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S")
    t = t.replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() + (int(frac.ljust(9, "0")) / 1e9 if frac else 0)


def annotations(kube, name="gw"):
    return kube.get("Gateway", name)["metadata"].get("annotations") or {}


# ---- against the simulator alone --------------------------------------------

@pytest.fixture
def kube(tmp_path):
    # No --simulate-deployments: the tests write Deployment status.
    sim = harness.start_kubesim(tmp_path)
    yield sim
    sim.stop()


@pytest.fixture
def kc(tmp_path, kube):
    return harness.write_kubeconfig(tmp_path / "kubeconfig", kube.url)


def gateway(name, cls="cf", ann=None):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": name, "namespace": "default",
                         "annotations": ann or {}},
            "spec": {"gatewayClassName": cls, "listeners": [
                {"name": "http", "protocol": "HTTP", "port": 80}]}}


def gwclass(name, controller):
    return {"apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass", "metadata": {"name": name},
            "spec": {"controllerName": controller}}


def deployment(name, token_hash):
    labels = {"app.kubernetes.io/instance": "gw",
              "app.kubernetes.io/component": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default",
                         "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {
                         "labels": labels,
                         "annotations": {A_HASH: token_hash}},
                         "spec": {"containers": [
                             {"name": "c", "image": "x"}]}}}}


def set_template_hash(kube, name, h):
    st, body = kube.patch("Deployment", name, {"spec": {"template": {
        "metadata": {"annotations": {A_HASH: h}}}}})
    assert st == 200, body


def roll_out(kube, name):
    """What the Deployment controller writes once a rollout is done."""
    d = kube.get("Deployment", name)
    st, body = kube.patch("Deployment", name, {"status": {
        "observedGeneration": d["metadata"]["generation"], "replicas": 1,
        "updatedReplicas": 1, "readyReplicas": 1,
        "availableReplicas": 1}}, sub="status")
    assert st == 200, body


def set_ready(kube, status, reason="ReconciliationSucceeded", msg="ok",
              name="gw"):
    gen = kube.get("Gateway", name)["metadata"]["generation"]
    st, body = kube.patch("Gateway", name, {"status": {"conditions": [
        {"type": "Ready", "status": status, "reason": reason,
         "message": msg, "observedGeneration": gen,
         "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}, sub="status")
    assert st == 200, body


def set_cgs(kube, status):
    if kube.get("CloudflareGatewayStatus", "gw") is None:
        kube.create({"apiVersion": "cloudflare-gateway-controller.io/v1",
                     "kind": "CloudflareGatewayStatus",
                     "metadata": {"name": "gw", "namespace": "default"}})
    st, body = kube.patch("CloudflareGatewayStatus", "gw",
                          {"status": status}, sub="status")
    assert st == 200, body


def inventory(*deps):
    return [{"apiVersion": "apps/v1", "kind": "Deployment", "name": d}
            for d in deps] + [{"apiVersion": "v1", "kind": "Secret",
                               "name": "gateway-gw"}]


@pytest.fixture
def gws(kube):
    kube.create(gwclass("cf", CN))
    kube.create(gwclass("other", "example.com/other-controller"))
    kube.create(gateway("gw"))
    kube.create(gateway("foreign", "other"))
    kube.create(gateway("orphan", "no-such-class"))
    return kube


def test_suspend_resume_annotations(gws, kc):
    kube = gws
    p = cfgwctl(kc, "suspend", "gateway", "gw")
    assert p.returncode == 0, p.stderr
    assert "Suspended reconciliation for Gateway default/gw" in p.stdout
    assert annotations(kube)[A_RECONCILE] == "disabled"
    rv = kube.get("Gateway", "gw")["metadata"]["resourceVersion"]
    p = cfgwctl(kc, "suspend", "gw", "gw", "-n", "default")
    assert p.returncode == 0 and "already suspended" in p.stdout
    assert kube.get("Gateway", "gw")["metadata"]["resourceVersion"] == rv

    # A suspended Gateway is neither reconciled nor rotated on request.
    for args in (("reconcile", "gateway", "gw"),
                 ("rotate", "gateway", "token", "gw")):
        p = cfgwctl(kc, *args)
        assert p.returncode == 1, args
        assert "suspended" in p.stderr and "resume gateway gw" in p.stderr
    assert A_REQUESTED not in annotations(kube)
    assert A_ROTATE not in annotations(kube)

    t0 = time.time()
    p = cfgwctl(kc, "resume", "gateway", "gw", "--wait=false")
    assert p.returncode == 0, p.stderr
    assert "Resumed reconciliation for Gateway default/gw" in p.stdout
    a = annotations(kube)
    assert a[A_RECONCILE] == "enabled"
    assert t0 - 1 <= parse_rfc3339(a[A_REQUESTED]) <= time.time() + 1
    p = cfgwctl(kc, "resume", "gateway", "gw", "--no-wait")
    assert p.returncode == 0 and "not suspended" in p.stdout
    assert annotations(kube)[A_REQUESTED] == a[A_REQUESTED]


def test_reconcile_and_rotate_annotations(gws, kc):
    kube = gws
    p = cfgwctl(kc, "reconcile", "gateway", "gw", "--wait=false")
    assert p.returncode == 0, p.stderr
    first = annotations(kube)[A_REQUESTED]
    assert first in p.stdout
    time.sleep(0.01)
    assert cfgwctl(kc, "reconcile", "gateway", "gw",
                   "--no-wait").returncode == 0
    second = annotations(kube)[A_REQUESTED]
    assert parse_rfc3339(second) > parse_rfc3339(first)

    # rotate needs what the controller reports: a token and a Deployment.
    p = cfgwctl(kc, "rotate", "gateway", "token", "gw")
    assert p.returncode == 1
    assert "no CloudflareGatewayStatus" in p.stderr
    set_cgs(kube, {"tunnel": {"token": {"hash": "h0"}},
                   "inventory": inventory()})
    p = cfgwctl(kc, "rotate", "gateway", "token", "gw")
    assert p.returncode == 1 and "no tunnel Deployment" in p.stderr
    assert A_ROTATE not in annotations(kube)
    set_cgs(kube, {"tunnel": {"token": {"hash": "h0"}},
                   "inventory": inventory("gateway-gw-primary")})
    t0 = time.time()
    p = cfgwctl(kc, "rotate", "gateway", "token", "gw")
    assert p.returncode == 0, p.stderr
    assert "Requested token rotation for Gateway default/gw" in p.stdout
    assert t0 - 1 <= parse_rfc3339(annotations(kube)[A_ROTATE]) <= \
        time.time() + 1
    # Other annotations are kept (merge patch).
    assert annotations(kube)[A_REQUESTED] == second


def test_errors(gws, kc, tmp_path):
    p = cfgwctl(kc, "suspend", "gateway", "nope")
    assert p.returncode == 1
    assert "Gateway default/nope not found" in p.stderr
    p = cfgwctl(kc, "reconcile", "gateway", "gw", "-n", "elsewhere",
                "--no-wait")
    assert p.returncode == 1 and "elsewhere/gw not found" in p.stderr
    p = cfgwctl(kc, "suspend", "gateway", "foreign")
    assert p.returncode == 1
    assert "not managed by cfgw" in p.stderr
    assert "example.com/other-controller" in p.stderr
    assert A_RECONCILE not in annotations(gws, "foreign")
    p = cfgwctl(kc, "rotate", "gateway", "token", "orphan")
    assert p.returncode == 1 and "no-such-class does not exist" in p.stderr

    # Usage errors: exit 2.
    for args in (("suspend",), ("suspend", "gateway"),
                 ("suspend", "route", "gw"), ("rotate", "gateway", "gw"),
                 ("watch", "gateway", "gw"),
                 ("reconcile", "gateway", "gw", "--timeout", "soon"),
                 ("reconcile", "gateway", "gw", "--wait=maybe"),
                 ("suspend", "gateway", "gw", "--wait"),
                 ("suspend", "gateway", "gw", "a", "b")):
        p = cfgwctl(kc, *args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "usage:" in p.stderr or "cfgwctl" in p.stderr
    for cmd in ("suspend", "resume", "reconcile", "rotate", "watch"):
        p = subprocess.run([str(harness.binpath("cfgwctl")), cmd, "--help"],
                           capture_output=True, text=True)
        assert p.returncode == 0 and "usage: cfgwctl " + cmd in p.stdout
    help_ = subprocess.run([str(harness.binpath("cfgwctl")), "--help"],
                           capture_output=True, text=True).stdout
    for cmd in ("suspend", "resume", "reconcile", "rotate", "watch"):
        assert f"  {cmd} " in help_

    # The API server cannot be reached.
    dead = harness.write_kubeconfig(tmp_path / "dead",
                                    f"http://127.0.0.1:{harness.free_port()}")
    p = cfgwctl(dead, "suspend", "gateway", "gw")
    assert p.returncode == 1 and "cannot reach the API server" in p.stderr

    # The API refuses the request (kubesim fault injection): a clear error.
    gws.faults([{"method": "PATCH", "path_regex": "gateways/gw",
                 "status": 403, "count": 1}])
    p = cfgwctl(kc, "suspend", "gateway", "gw")
    assert p.returncode == 1 and "patch Gateway default/gw: 403" in p.stderr


class FakeController(threading.Thread):
    """Answers reconcileRequestedAt like the reconciler: Gateway Ready
    first, then the CGS's lastHandledReconcileAt."""

    def __init__(self, kube, ready="True", delay=0.5):
        super().__init__(daemon=True)
        self.kube, self.ready, self.delay = kube, ready, delay
        self.stop = threading.Event()
        self.handled = []

    def run(self):
        last = None
        while not self.stop.wait(0.1):
            want = annotations(self.kube).get(A_REQUESTED)
            if want is None or want == last:
                continue
            time.sleep(self.delay)
            set_ready(self.kube, "Unknown", "Progressing", "rolling")
            set_cgs(self.kube, {"lastHandledReconcileAt": want})
            time.sleep(self.delay)
            set_ready(self.kube, self.ready,
                      "ReconciliationSucceeded" if self.ready == "True"
                      else "ReconciliationFailed", "done")
            self.handled.append(want)
            last = want


def test_reconcile_wait(gws, kc):
    kube = gws
    set_ready(kube, "True")     # stale: must not end the wait early
    set_cgs(kube, {"lastHandledReconcileAt": "2020-01-01T00:00:00Z"})
    fc = FakeController(kube)
    fc.start()
    try:
        p = cfgwctl(kc, "reconcile", "gateway", "gw", "--wait",
                    "--timeout", "30s")
        assert p.returncode == 0, p.stdout + p.stderr
        want = annotations(kube)[A_REQUESTED]
        assert fc.handled == [want]
        out = p.stdout
        assert f"handled reconcileRequestedAt {want}" in out
        assert "Ready=Unknown Progressing" in out
        assert out.index("Ready=Unknown") < out.index("Ready=True")
        assert out.rstrip().endswith("Reconciliation completed")

        # resume waits by default.
        kube.patch("Gateway", "gw", {"metadata": {"annotations": {
            A_RECONCILE: "disabled"}}})
        p = cfgwctl(kc, "resume", "gateway", "gw", "--timeout", "30s")
        assert p.returncode == 0, p.stdout + p.stderr
        assert "Reconciliation completed" in p.stdout
        assert len(fc.handled) == 2

        # Ready=False after the request: exit 1 with the reason.
        fc.ready = "False"
        p = cfgwctl(kc, "reconcile", "gateway", "gw", "--timeout", "30s")
        assert p.returncode == 1
        assert "ReconciliationFailed: done" in p.stderr
    finally:
        fc.stop.set()
        fc.join()
    # Nobody answers: timeout, exit 1.
    t0 = time.monotonic()
    p = cfgwctl(kc, "reconcile", "gateway", "gw", "--timeout", "2s")
    assert p.returncode == 1 and "timed out after 2s" in p.stderr
    # ...saying what the Gateway looked like.
    assert "Gateway default/gw: Ready=False ReconciliationFailed: done" in \
        p.stderr
    assert time.monotonic() - t0 < 10


def rotation_world(kube, deps=("gateway-gw-a", "gateway-gw-b")):
    for d in deps:
        kube.create(deployment(d, "h0"))
        roll_out(kube, d)
    set_cgs(kube, {"tunnel": {"token": {"hash": "h0"}},
                   "inventory": inventory(*deps)})
    set_ready(kube, "True")


def read_lines(proc, into):
    for line in proc.stdout:
        into.append(line)


def test_rotate_wait_follows_one_at_a_time(gws, kc):
    kube = gws
    rotation_world(kube)
    p = spawn(kc, "rotate", "gateway", "token", "gw", "--wait",
              "--timeout", "60s")
    out = []
    t = threading.Thread(target=read_lines, args=(p, out), daemon=True)
    t.start()
    wait_for(lambda: A_ROTATE in annotations(kube), 10, what="request")
    time.sleep(1.2)
    assert p.poll() is None
    # The controller: new hash in the CGS, then one Deployment at a time.
    set_ready(kube, "Unknown", "Progressing", "waiting")
    set_cgs(kube, {"tunnel": {"token": {"hash": "h1"}}})
    set_template_hash(kube, "gateway-gw-a", "h1")
    wait_for(lambda: any("gateway-gw-a" in x and "token-updated" in x
                         for x in out), 10, what="token-updated a")
    roll_out(kube, "gateway-gw-a")
    wait_for(lambda: any("gateway-gw-a" in x and "rolled-out" in x
                         for x in out), 10, what="rolled-out a")
    set_template_hash(kube, "gateway-gw-b", "h1")
    roll_out(kube, "gateway-gw-b")
    time.sleep(1.5)
    assert p.poll() is None, "done before the Gateway was Ready"
    set_ready(kube, "True")
    rc = p.wait(20)
    t.join(5)
    text = "".join(out)
    assert rc == 0, text + p.stderr.read()
    assert "token-rotated hash=h1 (was h0)" in text
    assert "OUT OF ORDER" not in text
    order = [x.split()[2] + " " + x.split()[3] for x in out
             if "Deployment/" in x]
    assert order == ["Deployment/gateway-gw-a token-updated",
                     "Deployment/gateway-gw-a rolled-out",
                     "Deployment/gateway-gw-b token-updated",
                     "Deployment/gateway-gw-b rolled-out"], text
    assert "Token rotation completed for Gateway default/gw" in text
    assert "h0 -> h1, 2 Deployment(s) rolled out one at a time" in text


def test_watch_reports_out_of_order(gws, kc):
    kube = gws
    rotation_world(kube)
    # Nothing under way.
    p = cfgwctl(kc, "watch", "gateway", "token", "gw")
    assert p.returncode == 0, p.stderr
    assert "No ongoing token rotation" in p.stdout
    assert "all 2 Deployment(s) are up to date" in p.stdout

    # Under way: the CGS has h1, both Deployments still on h0.
    set_cgs(kube, {"tunnel": {"token": {"hash": "h1"}}})
    set_ready(kube, "Unknown", "Progressing", "waiting")
    kube.patch("Gateway", "gw", {"metadata": {"annotations": {
        A_RECONCILE: "disabled"}}})
    p = cfgwctl(kc, "watch", "gateway", "token", "gw")
    assert p.returncode == 1
    assert "suspended with 2/2 Deployment(s) pending" in p.stderr
    kube.patch("Gateway", "gw", {"metadata": {"annotations": {
        A_RECONCILE: "enabled"}}})

    p = spawn(kc, "watch", "gateway", "token", "gw", "--timeout", "60s")
    out = []
    t = threading.Thread(target=read_lines, args=(p, out), daemon=True)
    t.start()
    wait_for(lambda: any("Ongoing token rotation" in x for x in out), 10,
             what="attach")
    assert "2/2 Deployment(s) pending" in "".join(out)
    # Both get the new token before either has rolled out.
    set_template_hash(kube, "gateway-gw-a", "h1")
    set_template_hash(kube, "gateway-gw-b", "h1")
    time.sleep(1.5)
    roll_out(kube, "gateway-gw-a")
    roll_out(kube, "gateway-gw-b")
    set_ready(kube, "True")
    rc = p.wait(20)
    t.join(5)
    text = "".join(out)
    err = p.stderr.read()
    assert rc == 1, text + err
    assert "OUT OF ORDER" in text
    assert "got the new token while another was still rolling out" in err


def test_watch_timeout_and_suspension(gws, kc):
    kube = gws
    rotation_world(kube, ("gateway-gw-a",))
    set_cgs(kube, {"tunnel": {"token": {"hash": "h1"}}})
    p = cfgwctl(kc, "watch", "gateway", "token", "gw", "--timeout", "2s")
    assert p.returncode == 1
    assert "timed out after 2s: 0/1 Deployment(s) rolled out" in p.stderr

    p = spawn(kc, "watch", "gateway", "token", "gw", "--timeout", "60s")
    time.sleep(1.5)
    kube.patch("Gateway", "gw", {"metadata": {"annotations": {
        A_RECONCILE: "disabled"}}})
    assert p.wait(20) == 1
    assert "was suspended during the rotation" in p.stderr.read()
    p.stdout.close()
    p.stderr.close()


# ---- end to end: the real controller ---------------------------------------

@pytest.fixture
def world(tmp_path, kubesim, cfsim):
    w = World(tmp_path, kubesim, cfsim)
    yield w
    if w.gw is not None:
        w.gw.stop()


@pytest.fixture
def live(world, tmp_path):
    world.apply_examples()
    world.start()
    wait_for(lambda: converged(world), 40, what="skeleton to converge")
    # The Gateway's status is written before the CloudflareGatewayStatus
    # of the same run: wait for the latter's token hash too.
    wait_for(lambda: "hash" in cgs_status(world).get("tunnel", {}).get(
        "token", {}), 20, what="CloudflareGatewayStatus tunnel token")
    world.kc = harness.write_kubeconfig(tmp_path / "kc-cli", world.kube.url)
    return world


def cgs_status(w):
    return (w.kube.get("CloudflareGatewayStatus", "my-gateway") or
            {}).get("status", {})


def test_e2e_suspend_resume(live):
    w = live
    kc = w.kc
    p = cfgwctl(kc, "suspend", "gateway", "my-gateway")
    assert p.returncode == 0, p.stderr
    time.sleep(1)   # the controller has seen the annotation
    w.kube.patch("HTTPRoute", "my-route",
                 {"spec": {"hostnames": ["api.example.com"]}})
    time.sleep(5)
    assert sorted(w.cnames()) == ["app.example.com"], \
        "the controller acted on a suspended Gateway"
    p = cfgwctl(kc, "status", "gateway", "my-gateway")
    assert "SUSPENDED" in p.stdout

    p = cfgwctl(kc, "resume", "gateway", "my-gateway", "--timeout", "60s")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Reconciliation completed" in p.stdout
    assert sorted(w.cnames()) == ["api.example.com"]
    assert cgs_status(w)["lastHandledReconcileAt"] == \
        annotations(w.kube, "my-gateway")[A_REQUESTED]
    g = w.kube.get("Gateway", "my-gateway")
    assert condition(g, "Ready")["status"] == "True"


def test_e2e_reconcile_wait(live):
    w = live
    p = cfgwctl(w.kc, "reconcile", "gateway", "my-gateway", "--wait",
                "--timeout", "60s")
    assert p.returncode == 0, p.stdout + p.stderr
    want = annotations(w.kube, "my-gateway")[A_REQUESTED]
    assert cgs_status(w)["lastHandledReconcileAt"] == want
    assert f"handled reconcileRequestedAt {want}" in p.stdout
    assert "Gateway/my-gateway Ready=True" in p.stdout
    p = cfgwctl(w.kc, "status", "gateway", "my-gateway")
    assert f"reconcile requested {want}: handled" in p.stdout


def test_e2e_rotate_wait(live):
    w = live
    dep = "gateway-my-gateway-primary"
    h0 = cgs_status(w)["tunnel"]["token"]["hash"]
    tok0 = w.kube.get("Secret", "gateway-my-gateway")["data"]["TUNNEL_TOKEN"]
    p = cfgwctl(w.kc, "rotate", "gateway", "token", "my-gateway", "--wait",
                "--timeout", "90s")
    assert p.returncode == 0, p.stdout + p.stderr
    h1 = cgs_status(w)["tunnel"]["token"]["hash"]
    assert h1 != h0
    d = w.kube.get("Deployment", dep)
    assert d["spec"]["template"]["metadata"]["annotations"][A_HASH] == h1
    assert w.kube.get("Secret", "gateway-my-gateway")["data"][
        "TUNNEL_TOKEN"] != tok0
    assert f"Deployment/{dep}" in p.stdout and "rolled-out" in p.stdout
    assert "Token rotation completed" in p.stdout
    p = cfgwctl(w.kc, "status", "gateway", "my-gateway")
    assert "token rotation requested " in p.stdout
    assert ": handled" in p.stdout and f"token hash {h1[:12]}" in p.stdout
    # Nothing is left under way.
    p = cfgwctl(w.kc, "watch", "gateway", "token", "my-gateway")
    assert p.returncode == 0 and "No ongoing token rotation" in p.stdout
    assert len(w.tunnels()) == 1


class SlowDeployments(threading.Thread):
    """The Deployment controller, slowly: a rollout takes `secs`, so the
    order of the controller's Deployment updates shows."""

    def __init__(self, kube, secs=1.5):
        super().__init__(daemon=True)
        self.kube, self.secs = kube, secs
        self.stop = threading.Event()
        self.seen = {}

    def run(self):
        while not self.stop.wait(0.2):
            for d in self.kube.list("Deployment", "default"):
                name, gen = d["metadata"]["name"], \
                    d["metadata"]["generation"]
                if (d.get("status") or {}).get("observedGeneration") == gen:
                    continue
                t = self.seen.setdefault((name, gen), time.monotonic())
                if time.monotonic() - t >= self.secs:
                    self.kube.patch("Deployment", name, {"status": {
                        "observedGeneration": gen, "replicas": 1,
                        "updatedReplicas": 1, "readyReplicas": 1,
                        "availableReplicas": 1}}, ns="default",
                        sub="status")


def test_e2e_rotate_two_replicas(tmp_path, cfsim):
    """Two tunnel Deployments: the controller rolls them one at a time
    and cfgwctl follows it in that order."""
    kube = harness.start_kubesim(tmp_path)
    dc = SlowDeployments(kube)
    dc.start()
    w = World(tmp_path, kube, cfsim)
    try:
        two_replicas(w, tmp_path)
    finally:
        if w.gw is not None:
            w.gw.stop()
        dc.stop.set()
        dc.join()
        kube.stop()


def two_replicas(w, tmp_path):
    objs = load_examples(w.token)
    for o in objs:
        if o["kind"] == "Gateway":
            o["spec"]["infrastructure"] = {"parametersRef": {
                "group": "cloudflare-gateway-controller.io",
                "kind": "CloudflareGatewayParameters", "name": "params"}}
    objs.append({"apiVersion": "cloudflare-gateway-controller.io/v1",
                 "kind": "CloudflareGatewayParameters",
                 "metadata": {"name": "params", "namespace": "default"},
                 "spec": {"tunnel": {"replicas": [{"name": "a"},
                                                  {"name": "b"}]}}})
    w.kube.apply_all(objs)
    w.start()
    wait_for(lambda: converged(w), 40, what="skeleton to converge")
    kc = harness.write_kubeconfig(tmp_path / "kc-cli", w.kube.url)
    p = cfgwctl(kc, "reconcile", "gateway", "my-gateway", "--timeout", "60s")
    assert p.returncode == 0, p.stdout + p.stderr
    assert len([i for i in cgs_status(w).get("inventory", [])
                if i["kind"] == "Deployment"]) == 2
    p = cfgwctl(kc, "rotate", "gateway", "token", "my-gateway", "--watch",
                "--timeout", "90s")
    assert p.returncode == 0, p.stdout + p.stderr
    lines = [x.split()[2] + " " + x.split()[3] for x in
             p.stdout.splitlines() if "Deployment/" in x]
    assert lines == [
        "Deployment/gateway-my-gateway-a token-updated",
        "Deployment/gateway-my-gateway-a rolled-out",
        "Deployment/gateway-my-gateway-b token-updated",
        "Deployment/gateway-my-gateway-b rolled-out"], p.stdout
    assert "OUT OF ORDER" not in p.stdout
    assert p.stdout.count("token-rotated") == 1
    h1 = cgs_status(w)["tunnel"]["token"]["hash"]
    for r in ("a", "b"):
        d = w.kube.get("Deployment", f"gateway-my-gateway-{r}")
        assert d["spec"]["template"]["metadata"]["annotations"][A_HASH] == h1


def test_e2e_reconcile_wait_reports_failure(live):
    """A failed run still reports the request as handled (gw_fail copies
    reconcileRequestedAt to the CGS), so the wait shows the failure."""
    w = live
    w.kube.patch("Gateway", "my-gateway", {"spec": {"infrastructure": {
        "parametersRef": {"group": "cloudflare-gateway-controller.io",
                          "kind": "CloudflareGatewayParameters",
                          "name": "missing"}}}})

    def failed():
        c = condition(w.kube.get("Gateway", "my-gateway"), "Ready")
        return c and c["status"] == "False"
    wait_for(failed, 20, what="Ready=False")
    p = cfgwctl(w.kc, "reconcile", "gateway", "my-gateway", "--timeout",
                "15s")
    assert p.returncode == 1
    assert "is not ready: ReconciliationFailed" in p.stderr, p.stderr
