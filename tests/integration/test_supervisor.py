# SPDX-License-Identifier: Apache-2.0
"""cfgwd, the supervisor, with the testworker standing in for all five
workers (tests/integration/testworker.c, built by make as
build/<variant>/tests/testworker).  The testworker goes through the real
worker framework: handshake, sandbox, CURVE ipc, heartbeats.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import harness

REPO = harness.REPO
VARIANT = os.environ.get("CFGW_VARIANT", "release")
# CFGW_CFGWD / CFGW_TESTWORKER point elsewhere (e.g. a sanitizer build).
CFGWD = Path(os.environ.get("CFGW_CFGWD") or harness.OUT / "bin" / "cfgwd")
TESTWORKER = Path(os.environ.get("CFGW_TESTWORKER") or
                  REPO / "build" / VARIANT / "tests" / "testworker")
WORKERS = ("watcher", "reconciler", "cfapi", "dnsworker", "rotator")

pytestmark = pytest.mark.skipif(
    not (CFGWD.exists() and TESTWORKER.exists()),
    reason="needs bin/cfgwd and build/<variant>/tests/testworker (make)")


def http_get(port, path, data=None):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                    timeout=3) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def children(ppid):
    """{comm: pid} of the live children of ppid."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            comm = (d / "comm").read_text().strip()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == ppid and fields[0] != "Z":
            out[comm] = int(d.name)
    return out


def alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Sup:
    """cfgwd over a libexec dir holding the testworker under five names."""

    def __init__(self, tmp, extra=(), env=None, start=True, rundir=None):
        self.tmp = Path(tmp)
        self.rundir = Path(rundir) if rundir else self.tmp / "run"
        self.lx = self.tmp / "libexec"
        self.lx.mkdir(exist_ok=True)
        for w in WORKERS:
            if not (self.lx / w).exists():
                (self.lx / w).symlink_to(TESTWORKER)
        self.logdir = self.tmp / "logs"
        self.logdir.mkdir(exist_ok=True)
        self.faildir = self.tmp / "fail"
        self.faildir.mkdir(exist_ok=True)
        self.kubeconfig = self.tmp / "kubeconfig"
        self.kubeconfig.write_text("{}")
        self.port = harness.free_port()
        self.argv = [str(CFGWD), "--cluster-name", "test",
                     "--kubeconfig", str(self.kubeconfig),
                     "--libexec-dir", str(self.lx),
                     "--runtime-dir", str(self.rundir),
                     "--log-dir", str(self.logdir),
                     "--health-addr", f"127.0.0.1:{self.port}", *extra]
        self.env = dict(os.environ)
        self.env.update({"CFGW_THROTTLE_MS": "700",
                         "CFGW_TEST_FAIL_DIR": str(self.faildir)})
        self.env.update(env or {})
        self.out = open(self.tmp / "cfgwd.out", "ab")
        self.proc = None
        if start:
            self.proc = subprocess.Popen(self.argv, stdout=self.out,
                                         stderr=subprocess.STDOUT,
                                         env=self.env,
                                         start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def workers(self):
        return {k: v for k, v in children(self.pid).items() if k in WORKERS}

    def wait_ready(self, timeout=15):
        def ok():
            assert self.proc.poll() is None, self.stderr()
            return http_get(self.port, "/readyz")[0] == 200
        harness.wait_for(ok, timeout, what="cfgwd /readyz")
        return self.workers()

    def log(self, name="cfgwd"):
        p = self.logdir / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stderr(self):
        return (self.tmp / "cfgwd.out").read_text(errors="replace")

    def wait_log(self, name, pattern, timeout=10):
        rx = re.compile(pattern)
        return harness.wait_for(lambda: rx.search(self.log(name)), timeout,
                                what=f"{pattern!r} in {name}.log")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(5)


@pytest.fixture
def sup(tmp_path):
    s = Sup(tmp_path)
    yield s
    s.stop()


def test_workers_start_ready_with_names_and_keys(sup):
    pids = sup.wait_ready()
    assert sorted(pids) == sorted(WORKERS)
    for name, pid in pids.items():
        assert Path(f"/proc/{pid}/comm").read_text().strip() == name
        assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] \
            == name.encode()
    assert Path(f"/proc/{sup.pid}/comm").read_text().strip() == "cfgwd"
    assert http_get(sup.port, "/healthz") == (200, "ok\n")
    # The reconciler reached the rotator over CURVE with the keys cfgwd
    # handed out; the rotator's ZAP handler named the peer.
    sup.wait_log("rotator", r"ROTATE_REQUEST from reconciler")
    # stderr lines carry "<name>[pid]:".
    err = sup.stderr()
    for name, pid in pids.items():
        assert f"{name}[{pid}]: " in err
    assert re.search(rf"cfgwd\[{sup.pid}\]: ", err)


def test_kill9_restarts_only_that_worker(sup):
    before = sup.wait_ready()
    victim = before["dnsworker"]
    os.kill(victim, signal.SIGKILL)
    sup.wait_log("cfgwd", rf"dnsworker pid {victim} killed by signal 9")
    after = harness.wait_for(
        lambda: (lambda w: w if w.get("dnsworker") not in (None, victim)
                 else None)(sup.workers()), 10, what="new dnsworker")
    sup.wait_ready()
    for name in WORKERS:
        if name != "dnsworker":
            assert after[name] == before[name], name
    status, body = http_get(sup.port, "/metrics")
    assert 'cfgw_worker_restarts_total{worker="dnsworker"} 1' in body
    assert 'cfgw_worker_restarts_total{worker="watcher"} 0' in body


def test_worker_dying_before_ready_is_throttled(sup):
    before = sup.wait_ready()
    (sup.faildir / "rotator").write_text("")
    os.kill(before["rotator"], signal.SIGKILL)
    sup.wait_log("cfgwd", r"rotator pid \d+ exit status 1")
    sup.wait_log("cfgwd", r"rotator: died before READY -- throttling")
    status, body = http_get(sup.port, "/readyz")
    assert status == 503 and "rotator" in body and "watcher" not in body
    # With a 700 ms throttle, 3 s hold at most 5 attempts, never a storm.
    time.sleep(3)
    starts = len(re.findall(r"rotator pid \d+ exit status 1",
                            sup.log("cfgwd")))
    assert 2 <= starts <= 6, starts
    (sup.faildir / "rotator").unlink()
    pids = sup.wait_ready()
    assert pids["watcher"] == before["watcher"]


def test_sigterm_stops_everything(sup):
    pids = sup.wait_ready()
    t0 = time.monotonic()
    os.kill(sup.pid, signal.SIGTERM)
    assert sup.proc.wait(5) == 0
    assert time.monotonic() - t0 < 5
    for name, pid in pids.items():
        assert not alive(pid), name
    for name in WORKERS:
        assert "SHUTDOWN, exiting" in sup.log(name), name


def test_sighup_resyncs_every_worker(sup):
    sup.wait_ready()
    os.kill(sup.pid, signal.SIGHUP)
    for name in WORKERS:
        sup.wait_log(name, r"testworker: got RESYNC")
    assert "ROTATE_NOW" not in sup.log("rotator")


def test_sigusr1_rotates_via_rotator_only(sup):
    sup.wait_ready()
    os.kill(sup.pid, signal.SIGUSR1)
    sup.wait_log("rotator", r"testworker: got ROTATE_NOW")
    time.sleep(0.3)
    for name in WORKERS:
        if name != "rotator":
            assert "ROTATE_NOW" not in sup.log(name), name


def test_silent_worker_is_killed_and_restarted(sup):
    before = sup.wait_ready()
    os.kill(before["cfapi"], signal.SIGUSR2)     # stop answering PING
    sup.wait_log("cfgwd", rf"cfapi pid {before['cfapi']}: missed 3 "
                 r"heartbeats; killing it", timeout=8)
    sup.wait_log("cfgwd", rf"cfapi pid {before['cfapi']} killed by signal 9")
    after = harness.wait_for(
        lambda: (lambda w: w if w.get("cfapi") not in (None, before["cfapi"])
                 else None)(sup.workers()), 10, what="new cfapi")
    assert after["reconciler"] == before["reconciler"]


def test_malformed_control_message_kills_worker_not_cfgwd(sup):
    before = sup.wait_ready()
    os.kill(before["watcher"], signal.SIGWINCH)
    sup.wait_log("cfgwd", r"watcher pid \d+: malformed control message: "
                 r"bad magic")
    sup.wait_log("cfgwd", rf"watcher pid {before['watcher']} killed by "
                 r"signal 9")
    sup.wait_ready()
    assert sup.proc.poll() is None
    assert sup.workers()["watcher"] != before["watcher"]


def test_log_dir_one_file_per_process(sup):
    pids = sup.wait_ready()
    files = sorted(p.name for p in sup.logdir.iterdir())
    assert files == sorted(f"{n}.log" for n in ("cfgwd",) + WORKERS)
    for name in WORKERS:
        assert f"{name}[{pids[name]}]: " in sup.log(name)
        assert "testworker: ready" in sup.log(name)
    assert "cfapi" not in sup.log("watcher")


def test_metrics_and_http_edges(sup):
    sup.wait_ready()
    status, body = http_get(sup.port, "/metrics")
    assert status == 200
    assert re.search(r'^cfgw_build_info\{version="[^"]+"\} 1$', body, re.M)
    for name in WORKERS:
        assert f'cfgw_worker_up{{worker="{name}"}} 1' in body
        assert f'cfgw_worker_restarts_total{{worker="{name}"}} 0' in body
        for d in ("in", "out", "rejected"):
            assert f'cfgw_ipc_messages_total{{worker="{name}",' \
                   f'direction="{d}"}}' in body
    # PONG carries the ipc counters: the reconciler sent one message.
    harness.wait_for(
        lambda: 'cfgw_ipc_messages_total{worker="reconciler",'
                'direction="out"} 1' in http_get(sup.port, "/metrics")[1],
        5, what="reconciler ipc_out in /metrics")
    assert http_get(sup.port, "/nope")[0] == 404
    import socket
    with socket.create_connection(("127.0.0.1", sup.port)) as s:
        s.sendall(b"GET /" + b"a" * 5000 + b" HTTP/1.0\r\n")
        assert s.recv(100).startswith(b"HTTP/1.0 431")
    # A client that sends nothing is dropped, and cfgwd still answers.
    with socket.create_connection(("127.0.0.1", sup.port)) as s:
        s.settimeout(5)
        assert s.recv(10) == b""
    assert http_get(sup.port, "/healthz")[0] == 200


def test_json_log_format(tmp_path):
    s = Sup(tmp_path, extra=("--log-format", "json"))
    try:
        s.wait_ready()
        lines = [json.loads(x) for x in s.log("watcher").splitlines()]
        assert lines and all(x["proc"] == "watcher" for x in lines)
        assert any(x["msg"] == "testworker: ready" for x in lines)
        assert json.loads(s.log("cfgwd").splitlines()[0])["proc"] == "cfgwd"
    finally:
        s.stop()


def run_check(sup, *args, env=None):
    e = dict(sup.env)
    e.update(env or {})
    return subprocess.run([str(CFGWD), *args], capture_output=True,
                          text=True, env=e, timeout=10)


def test_check_mode(tmp_path):
    s = Sup(tmp_path, start=False)
    ok = run_check(s, "-n", *s.argv[1:])
    assert ok.returncode == 0, ok.stderr
    assert "configuration OK" in ok.stdout
    assert not (tmp_path / "run").exists()          # -n creates nothing
    r = run_check(s, "-n", "--kubeconfig", str(s.kubeconfig),
                  "--libexec-dir", str(s.lx))
    assert r.returncode == 1 and "--cluster-name is required" in r.stderr
    r = run_check(s, "-n", *s.argv[1:], "--libexec-dir", str(tmp_path))
    assert r.returncode == 1 and "watcher" in r.stderr
    r = run_check(s, "-n", *s.argv[1:], "--log-format", "xml")
    assert r.returncode == 1 and "--log-format" in r.stderr
    r = run_check(s, "-n", *s.argv[1:], "--health-addr", "nocolon")
    assert r.returncode == 1 and "host:port" in r.stderr
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    os.chmod(open_dir, 0o755)
    r = run_check(s, "-n", *s.argv[1:], "--runtime-dir", str(open_dir))
    assert r.returncode == 1 and "too open" in r.stderr
    r = run_check(s, "-n", *s.argv[1:], "--cloudflare-api-url", "ftp://x")
    assert r.returncode == 1 and "cloudflare-api-url" in r.stderr
    r = run_check(s, "--help")
    assert r.returncode == 0 and "--cluster-name" in r.stdout


def test_runtime_dir_is_private(sup):
    sup.wait_ready()
    st = os.stat(sup.rundir)
    assert st.st_mode & 0o777 == 0o700
    assert (sup.rundir / "rotator.sock").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_per_worker_uids(tmp_path):
    # The workers' uids must reach the runtime dir: put it under a
    # directory they can traverse (pytest's base is 0700).
    top = Path(tempfile.mkdtemp(prefix="cfgw-uid-", dir="/tmp"))
    os.chmod(top, 0o755)
    s = Sup(tmp_path, env={"CFGW_WORKER_UID_BASE": "61000"},
            rundir=top / "run")
    try:
        pids = s.wait_ready()
        for i, name in enumerate(WORKERS, start=1):
            st = Path(f"/proc/{pids[name]}/status").read_text()
            uids = re.search(r"^Uid:\s+(.*)$", st, re.M).group(1).split()
            gids = re.search(r"^Gid:\s+(.*)$", st, re.M).group(1).split()
            assert uids == [str(61000 + i)] * 4, (name, uids)
            assert gids == ["61000"] * 4, (name, gids)
        rst = os.stat(top / "run")
        assert (rst.st_gid, rst.st_mode & 0o777) == (61000, 0o770)
        # Different uids, one group: CURVE traffic still flows.
        s.wait_log("rotator", r"ROTATE_REQUEST from reconciler")
    finally:
        s.stop()
        shutil.rmtree(top, ignore_errors=True)
