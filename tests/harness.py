# SPDX-License-Identifier: Apache-2.0
"""Test harness: start the simulators and the real controller on 127.0.0.1.

Used by tests/integration/*.py, tests/demo.py and bench/.  Nothing here needs
/work/shared.  Every process started here is stopped by .stop() (pytest
fixtures in tests/integration/conftest.py do that).
"""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"
VARIANT = os.environ.get("CFGW_VARIANT", "release")
# Where make put the binaries: the tree for release, build/<variant> else.
OUT = REPO / os.environ.get("CFGW_OUT", "." if VARIANT == "release" else
                            f"build/{VARIANT}")


def binpath(name):
    """bin/<name> or libexec/cfgw/<name>, as built by make."""
    for p in (OUT / "bin" / name, OUT / "libexec" / "cfgw" / name):
        if p.exists():
            return p
    raise FileNotFoundError(f"{name} is not built (run make)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(fn, timeout=15.0, interval=0.05, what="condition"):
    """Poll fn() until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - polled conditions may fail
            last_exc = e
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}"
                       + (f" (last error: {last_exc!r})" if last_exc else ""))


class Proc:
    """A child process with optional port file; stop() is idempotent."""

    def __init__(self, argv, logpath, env=None, port_file=None, cwd=None):
        self.argv = [str(a) for a in argv]
        self.logpath = Path(logpath)
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env,
                                     cwd=cwd or REPO,
                                     start_new_session=True)
        self.port = None
        if port_file is not None:
            pf = Path(port_file)

            def ready():
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.argv[0]} exited "
                                       f"{self.proc.returncode}: "
                                       f"{self.tail()}")
                return pf.exists() and pf.read_text().strip()
            self.port = int(wait_for(ready, 20, what=f"{argv[1]} port"))

    @property
    def pid(self):
        return self.proc.pid

    def tail(self, n=4000):
        try:
            return self.logpath.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()
        self.check_sanitizers()
        return self.proc.returncode

    SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer",
                       b"runtime error:")

    def check_sanitizers(self):
        """A sanitizer report anywhere in the output fails the test, even
        when the process that made it was restarted and all went on."""
        try:
            out = self.logpath.read_bytes()
        except OSError:
            return
        for m in self.SANITIZER_MARKS:
            i = out.find(m)
            if i != -1:
                raise AssertionError(
                    f"{self.argv[0]}: sanitizer report in {self.logpath}: "
                    + out[max(0, i - 200):i + 1500].decode(errors="replace"))


class HTTP:
    """Tiny JSON-over-HTTP client."""

    def __init__(self, base, headers=None):
        self.base = base.rstrip("/")
        self.headers = headers or {}

    def call(self, method, path, body=None, ctype="application/json",
             headers=None):
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
        h = dict(self.headers)
        if data is not None:
            h["Content-Type"] = ctype
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body):
        return self.call("POST", path, body)


# Where each kind lives in the Kubernetes API.
KINDS = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Secret": ("/api/v1", "secrets", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Service": ("/api/v1", "services", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "Event": ("/api/v1", "events", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings",
                    True),
    "GatewayClass": ("/apis/gateway.networking.k8s.io/v1", "gatewayclasses",
                     False),
    "Gateway": ("/apis/gateway.networking.k8s.io/v1", "gateways", True),
    "HTTPRoute": ("/apis/gateway.networking.k8s.io/v1", "httproutes", True),
    "GRPCRoute": ("/apis/gateway.networking.k8s.io/v1", "grpcroutes", True),
    "ReferenceGrant": ("/apis/gateway.networking.k8s.io/v1beta1",
                       "referencegrants", True),
    "CloudflareGatewayParameters": (
        "/apis/cloudflare-gateway-controller.io/v1",
        "cloudflaregatewayparameters", True),
    "CloudflareGatewayStatus": (
        "/apis/cloudflare-gateway-controller.io/v1",
        "cloudflaregatewaystatuses", True),
}


def kind_path(kind, ns=None, name=None, sub=None):
    prefix, plural, namespaced = KINDS[kind]
    p = prefix
    if namespaced:
        p += f"/namespaces/{ns or 'default'}"
    p += f"/{plural}"
    if name:
        p += f"/{name}"
    if sub:
        p += f"/{sub}"
    return p


class Sim:
    def __init__(self, proc, base):
        self.proc = proc
        self.port = proc.port
        self.url = f"http://127.0.0.1:{proc.port}"
        self.http = HTTP(self.url + base)
        self.ctl = HTTP(self.url)

    def stop(self):
        return self.proc.stop()


class KubeSim(Sim):
    def __init__(self, proc):
        super().__init__(proc, "")

    def create(self, obj):
        md = obj.get("metadata", {})
        st, body = self.http.post(kind_path(obj["kind"], md.get("namespace")),
                                  obj)
        if st not in (200, 201):
            raise RuntimeError(f"create {obj['kind']} {md.get('name')}: "
                               f"{st} {body}")
        return body

    def get(self, kind, name, ns=None):
        st, body = self.http.get(kind_path(kind, ns, name))
        return body if st == 200 else None

    def list(self, kind, ns=None):
        prefix, plural, namespaced = KINDS[kind]
        path = (prefix + f"/namespaces/{ns}/{plural}") if ns else \
            (prefix + f"/{plural}")
        st, body = self.http.get(path)
        return body.get("items", []) if st == 200 else []

    def patch(self, kind, name, patch, ns=None, sub=None):
        return self.http.call("PATCH", kind_path(kind, ns, name, sub), patch,
                              ctype="application/merge-patch+json")

    def delete(self, kind, name, ns=None):
        return self.http.call("DELETE", kind_path(kind, ns, name))

    def apply_all(self, objs):
        for o in objs:
            self.create(o)

    def requests(self):
        return self.ctl.get("/_sim/requests")[1]

    def faults(self, rules):
        return self.ctl.post("/_sim/faults", {"rules": rules})


class CfSim(Sim):
    def __init__(self, proc):
        super().__init__(proc, "/client/v4")
        self.api_url = self.url + "/client/v4"

    def state(self):
        return self.ctl.get("/_sim/state")[1]

    def requests(self):
        return self.ctl.get("/_sim/requests")[1]

    def faults(self, spec):
        return self.ctl.post("/_sim/faults", spec)

    def seed(self, spec):
        return self.ctl.post("/_sim/seed", spec)


def start_kubesim(workdir, *extra):
    workdir = Path(workdir)
    pf = workdir / "kubesim.port"
    proc = Proc([PYTHON, REPO / "tests/sim/kubesim.py", "--listen",
                 "127.0.0.1:0", "--port-file", pf, *extra],
                workdir / "kubesim.log", port_file=pf)
    return KubeSim(proc)


def start_cfsim(workdir, seed=None, *extra):
    workdir = Path(workdir)
    pf = workdir / "cfsim.port"
    argv = [PYTHON, REPO / "tests/sim/cfsim.py", "--listen", "127.0.0.1:0",
            "--port-file", pf, *extra]
    if seed is not None:
        sf = workdir / "cfsim-seed.json"
        sf.write_text(json.dumps(seed))
        argv += ["--seed", sf]
    proc = Proc(argv, workdir / "cfsim.log", port_file=pf)
    return CfSim(proc)


def write_kubeconfig(path, server, token=None):
    user = {"token": token} if token else {}
    cfg = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "sim", "cluster": {"server": server}}],
        "users": [{"name": "sim", "user": user}],
        "contexts": [{"name": "sim",
                      "context": {"cluster": "sim", "user": "sim"}}],
        "current-context": "sim",
    }
    Path(path).write_text(json.dumps(cfg))  # JSON is YAML
    return path


class Cfgwd:
    """The real controller: cfgwd and its five workers."""

    WORKERS = ("watcher", "reconciler", "cfapi", "dnsworker", "rotator")

    def __init__(self, workdir, kube, cf, cluster="test", extra=(),
                 env=None):
        self.workdir = Path(workdir)
        self.logdir = self.workdir / "logs"
        self.logdir.mkdir(exist_ok=True)
        self.rundir = self.workdir / "run"
        self.kubeconfig = write_kubeconfig(self.workdir / "kubeconfig",
                                           kube.url)
        self.health_port = free_port()
        e = dict(os.environ)
        e.pop("KUBECONFIG", None)
        e.setdefault("CFGW_THROTTLE_MS", "200")
        e.update(env or {})
        self.argv = [binpath("cfgwd"), "--kubeconfig", self.kubeconfig,
                     "--cloudflare-api-url", cf.api_url,
                     "--cluster-name", cluster,
                     "--log-dir", self.logdir,
                     "--runtime-dir", self.rundir,
                     "--health-addr", f"127.0.0.1:{self.health_port}",
                     "--tunnel-image", "cloudflare/cloudflared:2025.8.0",
                     "--proxy-image", "cfgw/proxy:dev", *extra]
        self.proc = Proc(self.argv, self.workdir / "cfgwd.out", env=e)
        self.health = HTTP(f"http://127.0.0.1:{self.health_port}")

    @property
    def pid(self):
        return self.proc.pid

    def ready(self, timeout=20):
        def ok():
            if self.proc.proc.poll() is not None:
                raise RuntimeError("cfgwd exited: " + self.proc.tail())
            return self.health.get("/readyz")[0] == 200
        return wait_for(ok, timeout, what="cfgwd /readyz")

    def worker_pids(self):
        """{worker name: pid} of cfgwd's children, from /proc."""
        out = {}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text()
                comm = (d / "comm").read_text().strip()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.pid and comm in self.WORKERS:
                out[comm] = int(d.name)
        return out

    def log(self, name="cfgwd"):
        p = self.logdir / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def all_logs(self):
        return "".join(self.log(n) for n in ("cfgwd",) + self.WORKERS)

    def stop(self, timeout=10):
        return self.proc.stop(timeout)


def secret(name, ns, data):
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": ns},
            "type": "Opaque",
            "data": {k: base64.b64encode(v.encode()).decode()
                     for k, v in data.items()}}


def example_objects(token, account):
    """examples/*.yaml as objects, the credentials Secret carrying token and
    account (the simulator's, not the example's placeholders)."""
    import yaml
    objs = []
    for f in sorted((REPO / "examples").glob("*.yaml")):
        objs += [d for d in yaml.safe_load_all(f.read_text()) if d]
    for o in objs:
        if o["kind"] == "Secret":
            o.pop("stringData", None)
            o.update(secret(o["metadata"]["name"], o["metadata"]["namespace"],
                            {"CLOUDFLARE_API_TOKEN": token,
                             "CLOUDFLARE_ACCOUNT_ID": account}))
    return objs


def condition(obj, ctype):
    for c in (obj or {}).get("status", {}).get("conditions", []) or []:
        if c.get("type") == ctype:
            return c
    return None


if __name__ == "__main__":
    sys.exit("harness.py is a library")
