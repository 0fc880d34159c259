# SPDX-License-Identifier: Apache-2.0
"""cfgwd --leader-elect: two replicas against the Kubernetes simulator, the
real elector holding a coordination.k8s.io/v1 Lease, the testworker
standing in for the five workers (as in test_supervisor)."""
import os
import re
import signal
import subprocess
import time

import pytest

import harness
from test_supervisor import CFGWD, TESTWORKER, WORKERS, Sup, children, \
    http_get

ELECTOR = harness.OUT / "libexec" / "cfgw" / "elector"
NS = "cfgw-system"
LEASE = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/" \
    "cloudflare-gateway-controller"
# Short enough for a test, long enough that a loaded CI machine (ASan,
# three test files at a time) never misses a renewal by accident.
FAST = ("--leader-election-lease-duration", "5s",
        "--leader-election-renew-deadline", "4s",
        "--leader-election-retry-period", "500ms")

pytestmark = pytest.mark.skipif(
    not (CFGWD.exists() and TESTWORKER.exists() and ELECTOR.exists()),
    reason="needs bin/cfgwd, libexec/cfgw/elector and the testworker")


@pytest.fixture
def kube(tmp_path):
    k = harness.start_kubesim(tmp_path)
    k.http.call("POST", "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": NS}})
    yield k
    k.stop()


class Replica(Sup):
    """One cfgwd replica with --leader-elect over the simulator."""

    def __init__(self, tmp, kube, name, extra=FAST):
        d = tmp / name
        d.mkdir()
        super().__init__(d, extra=("--leader-elect", *extra), start=False,
                         env={"POD_NAME": name})
        (self.lx / "elector").symlink_to(ELECTOR)
        harness.write_kubeconfig(self.kubeconfig, kube.url)
        self.proc = subprocess.Popen(self.argv, stdout=self.out,
                                     stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True)

    def identity(self):
        m = self.wait_log("cfgwd", r"candidate (\S+) for Lease")
        return m.group(1)

    def leader_metric(self):
        st, body = http_get(self.port, "/metrics")
        m = re.search(r"^cfgw_leader (\d)$", body, re.M)
        return int(m.group(1)) if m else None

    def wait_leading(self, timeout=20):
        harness.wait_for(lambda: len(self.workers()) == len(WORKERS) and
                         self.leader_metric() == 1, timeout,
                         what=f"{self.tmp.name} leading with its workers")


def lease(kube):
    st, body = kube.http.get(LEASE)
    return body["spec"] if st == 200 else None


def test_one_leader_standby_and_takeover(tmp_path, kube):
    a = Replica(tmp_path, kube, "a")
    b = None
    try:
        a.wait_leading()
        ida = a.identity()
        assert ida.startswith("a_")
        spec = lease(kube)
        assert spec["holderIdentity"] == ida
        assert spec["leaseDurationSeconds"] == 5
        assert spec["leaseTransitions"] == 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z",
                            spec["renewTime"])

        b = Replica(tmp_path, kube, "b")
        idb = b.identity()
        # The standby is ready as such and runs no worker.
        harness.wait_for(lambda: http_get(b.port, "/readyz")[0] == 200, 10,
                         what="standby ready")
        assert "standby" in http_get(b.port, "/readyz")[1]
        time.sleep(6)      # longer than the lease: a renewed one holds
        assert b.workers() == {}
        assert set(children(b.pid)) == {"elector"}
        assert b.leader_metric() == 0 and a.leader_metric() == 1
        assert lease(kube)["holderIdentity"] == ida

        # The leader dies with its elector (no release): the standby
        # takes the Lease once it has seen no renewal for 5 s (the last
        # one was at most a retry period before the kill).
        os.killpg(a.pid, signal.SIGKILL)
        a.proc.wait(5)
        t0 = time.monotonic()
        b.wait_leading()
        assert time.monotonic() - t0 >= 4.0, "taken before it expired"
        spec = lease(kube)
        assert spec["holderIdentity"] == idb
        assert spec["leaseTransitions"] == 1
        assert "held; starting the workers" in b.log()
    finally:
        a.stop()
        if b is not None:
            b.stop()


def test_orderly_stop_releases_the_lease(tmp_path, kube):
    slow = ("--leader-election-lease-duration", "60s",
            "--leader-election-renew-deadline", "40s",
            "--leader-election-retry-period", "500ms")
    a = Replica(tmp_path, kube, "a", slow)
    b = None
    try:
        a.wait_leading()
        b = Replica(tmp_path, kube, "b", slow)
        idb = b.identity()
        harness.wait_for(lambda: b.leader_metric() == 0, 10,
                         what="b a standby")
        os.kill(a.pid, signal.SIGTERM)
        assert a.proc.wait(15) == 0
        # Workers first, then the Lease: it is released, not left to
        # expire (60 s), so the standby leads at once.
        assert "released" in a.log("elector")
        b.wait_leading(timeout=15)
        assert lease(kube)["holderIdentity"] == idb
    finally:
        a.stop()
        if b is not None:
            b.stop()


def test_lease_lost_stops_the_workers(tmp_path, kube):
    a = Replica(tmp_path, kube, "a")
    try:
        a.wait_leading()
        pids = list(a.workers().values())
        # Every renewal fails from now on.
        kube.faults([{"path_regex": "/leases/", "method": "PUT",
                      "status": 500}])
        assert a.proc.wait(20) == 1
        assert "leadership lost" in a.log("elector")
        assert "leadership lost" in a.log()
        assert not any(os.path.exists(f"/proc/{p}") and
                       open(f"/proc/{p}/stat").read().split()[2] != "Z"
                       for p in pids)
    finally:
        kube.faults([])
        a.stop()


def test_lease_durations_are_checked(tmp_path):
    s = Sup(tmp_path, start=False)
    bad = subprocess.run(
        [*s.argv, "-n", "--leader-elect",
         "--leader-election-renew-deadline", "40s"],
        capture_output=True, text=True, timeout=10)
    assert bad.returncode == 1
    assert "renew deadline < lease duration" in bad.stderr
    bad = subprocess.run(
        [*s.argv, "-n", "--leader-election-retry-period", "soon"],
        capture_output=True, text=True, timeout=10)
    assert bad.returncode == 1 and "retry-period" in bad.stderr


def test_real_controller_leads_and_converges(tmp_path, kubesim, cfsim):
    """The five real workers under --leader-elect: nothing happens before
    the Lease is held, then the controller converges as without it."""
    from test_skeleton import World, converged
    w = World(tmp_path, kubesim, cfsim)
    w.apply_examples()
    try:
        w.start(extra=("--leader-elect", "--leader-election-namespace",
                       "default", *FAST))
        harness.wait_for(lambda: converged(w), 40, what="convergence")
        st, body = kubesim.http.get(
            "/apis/coordination.k8s.io/v1/namespaces/default/leases/"
            "cloudflare-gateway-controller")
        assert st == 200
        assert body["spec"]["holderIdentity"] in w.gw.log()
        assert "held; starting the workers" in w.gw.log()
    finally:
        if w.gw is not None:
            w.gw.stop()
            w.gw = None
