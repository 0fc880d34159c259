# SPDX-License-Identifier: Apache-2.0
"""Kubernetes API simulator: TLS with a client certificate and with a bearer
token, 401/403 answers, and kubectl (from PATH, else build/tools/kubectl)
driving the simulator through a temporary kubeconfig."""

import json
import os
import shutil
import ssl
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kubesim import REPO, KubeSim  # noqa: E402
from kubesim_testlib import GW, Client, route  # noqa: E402


def kubectl_path():
    p = shutil.which("kubectl")
    if p:
        return p
    p = os.path.join(REPO, "build", "tools", "kubectl")
    return p if os.access(p, os.X_OK) else None


@pytest.fixture
def tls_sim(tmp_path):
    s = KubeSim(tls_dir=str(tmp_path / "tls"), token="s3cret").start()
    yield s, str(tmp_path / "tls")
    s.stop()


def test_tls_client_cert(tls_sim):
    s, d = tls_sim
    assert s.url.startswith("https://127.0.0.1:")
    for f in ("ca.crt", "server.crt", "server.key", "client.crt",
              "client.key"):
        assert os.path.exists(os.path.join(d, f))
    c = Client(s.url, cert=os.path.join(d, "client.crt"),
               key=os.path.join(d, "client.key"),
               ca=os.path.join(d, "ca.crt"))
    st, o = c.post(GW + "/namespaces/default/httproutes", route("t1"))
    assert st == 201
    st, l = c.get(GW + "/httproutes")
    assert [i["metadata"]["name"] for i in l["items"]] == ["t1"]


def test_tls_token_and_rejections(tls_sim):
    s, d = tls_sim
    ca = os.path.join(d, "ca.crt")
    c = Client(s.url, token="s3cret", ca=ca)
    assert c.get("/api/v1/namespaces/default")[0] == 200
    bad = Client(s.url, token="wrong", ca=ca)
    st, e = bad.get("/api/v1/namespaces/default")
    assert st == 401 and e == {"kind": "Status", "apiVersion": "v1",
                               "metadata": {}, "status": "Failure",
                               "message": "Unauthorized",
                               "reason": "Unauthorized", "code": 401}
    st, e = bad.get("/api")
    assert st == 401
    anon = Client(s.url, ca=ca)
    st, e = anon.get(GW + "/namespaces/default/httproutes")
    assert st == 403 and e["reason"] == "Forbidden"
    assert 'User "system:anonymous" cannot list' in e["message"]
    # the server certificate is for 127.0.0.1 and verifies against the CA
    ctx = ssl.create_default_context(cafile=ca)
    import socket
    with socket.create_connection(("127.0.0.1", s.port)) as sock:
        with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as ss:
            assert ss.version()


def test_plain_http_token_and_unprivileged_user():
    s = KubeSim(token="tok", users={"weak": "nobody"}).start()
    try:
        assert Client(s.url, token="tok").get("/api/v1/namespaces")[0] == 200
        assert Client(s.url, token="bad").get("/api/v1/namespaces")[0] == 401
        st, e = Client(s.url).get("/api")
        assert st == 403 and e["message"] == \
            'forbidden: User "system:anonymous" cannot get path "/api"'
        assert Client(s.url).get("/version")[0] == 200
        weak = Client(s.url, token="weak")
        assert weak.get(GW)[0] == 200
        st, e = weak.patch(GW + "/namespaces/default/gateways/gw/status", {})
        assert st == 403 and 'cannot patch resource "gateways/status"' in \
            e["message"]
        rev = {"apiVersion": "authorization.k8s.io/v1",
               "kind": "SelfSubjectAccessReview",
               "spec": {"resourceAttributes": {"verb": "list",
                                               "resource": "secrets"}}}
        path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
        st, r = weak.post(path, rev)
        assert st == 201 and r["status"]["allowed"] is False
        st, r = Client(s.url, token="tok").post(path, rev)
        assert st == 201 and r["status"]["allowed"] is True
    finally:
        s.stop()


def _kubeconfig(path, server, ca, cert=None, key=None, token=None):
    user = {}
    if cert:
        user = {"client-certificate": cert, "client-key": key}
    if token:
        user = {"token": token}
    cfg = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": "sim", "cluster": dict(
               {"server": server}, **({"certificate-authority": ca}
                                      if ca else {}))}],
           "users": [{"name": "u", "user": user}],
           "contexts": [{"name": "sim", "context": {"cluster": "sim",
                                                     "user": "u"}}],
           "current-context": "sim"}
    with open(path, "w") as f:
        json.dump(cfg, f)


def _kubectl(kc, *args, check=True):
    exe = kubectl_path()
    env = dict(os.environ, KUBECONFIG=kc, HOME=os.path.dirname(kc))
    p = subprocess.run([exe] + list(args), env=env, capture_output=True,
                       text=True, timeout=60)
    if check:
        assert p.returncode == 0, p.stderr
    return p


@pytest.mark.skipif(kubectl_path() is None, reason="kubectl not found "
                    "(run tools/fetch-kubectl.sh)")
def test_kubectl_against_tls_sim(tls_sim, tmp_path):
    s, d = tls_sim
    kc = str(tmp_path / "kubeconfig")
    _kubeconfig(kc, s.url, os.path.join(d, "ca.crt"),
                cert=os.path.join(d, "client.crt"),
                key=os.path.join(d, "client.key"))
    c = Client(s.url, token="s3cret", ca=os.path.join(d, "ca.crt"))
    c.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": {"name": "team-a"}})
    gw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
          "metadata": {"name": "gw1", "namespace": "team-a"},
          "spec": {"gatewayClassName": "cloudflare", "listeners": [
              {"name": "http", "protocol": "HTTP", "port": 80}]}}
    assert c.post(GW + "/namespaces/team-a/gateways", gw)[0] == 201
    p = _kubectl(kc, "get", "gateways", "-A")
    lines = p.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["NAMESPACE", "NAME", "CLASS"]
    assert lines[1].split()[:3] == ["team-a", "gw1", "cloudflare"]
    p = _kubectl(kc, "get", "gateway", "gw1", "-n", "team-a", "-o", "json")
    assert json.loads(p.stdout)["spec"]["gatewayClassName"] == "cloudflare"


@pytest.mark.skipif(kubectl_path() is None, reason="kubectl not found")
def test_kubectl_apply_delete_plain_http(tmp_path):
    # kubectl apply validates on the server (fieldValidation=Strict) after
    # finding the PATCH parameter in /openapi/v3
    s = KubeSim().start()
    try:
        kc = str(tmp_path / "kubeconfig")
        _kubeconfig(kc, s.url, None)
        m = tmp_path / "m.yaml"
        m.write_text(json.dumps(route("kr")))
        _kubectl(kc, "apply", "-f", str(m))
        p = _kubectl(kc, "get", "httproutes")
        assert "kr" in p.stdout
        r = route("kr", host="changed.example.com")
        m.write_text(json.dumps(r))
        _kubectl(kc, "apply", "-f", str(m))
        st, o = Client(s.url).get(GW + "/namespaces/default/httproutes/kr")
        assert o["spec"]["hostnames"] == ["changed.example.com"]
        _kubectl(kc, "apply", "--server-side", "-f", str(m))
        cgs = {"apiVersion": "cloudflare-gateway-controller.io/v1",
               "kind": "CloudflareGatewayStatus",
               "metadata": {"name": "gw", "namespace": "default"}}
        m.write_text(json.dumps(cgs))
        _kubectl(kc, "apply", "-f", str(m))
        p = _kubectl(kc, "get", "cgs", "-o", "wide")
        assert p.stdout.split()[:5] == ["NAME", "TUNNEL", "NAME", "TUNNEL",
                                        "ID"]
        bad = route("bad")
        bad["spec"]["bogus"] = 1
        m.write_text(json.dumps(bad))
        p = _kubectl(kc, "apply", "-f", str(m), check=False)
        assert p.returncode != 0 and 'unknown field "spec.bogus"' in p.stderr
        _kubectl(kc, "delete", "httproute", "kr", "--wait=true")
        assert Client(s.url).get(GW + "/namespaces/default/httproutes/kr")[
            0] == 404
    finally:
        s.stop()
