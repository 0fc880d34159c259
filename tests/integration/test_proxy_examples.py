# SPDX-License-Identifier: Apache-2.0
"""Routing matrix derived from the Gateway API v1.6.1 examples
(tests/data/gateway-api-examples): each scenario compiles example
manifests with `cfgwctl plan -o table`, runs cfgw-proxy on the table with
--resolve pointing every Service name at its own echo backend, and checks
with curl over HTTP/1.1 and over HTTP/2 with TLS that requests land where
the example means them to.  Routes without a parentRef (or naming a
Gateway the examples do not define) are attached to a minimal Gateway
"gw"; every route is renamed after its file so examples that reuse a
name can be combined."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from test_proxy_lib import OUT, REPO, Backend, Proxy, http_get

EX = REPO / "tests" / "data" / "gateway-api-examples" / "standard"
CFGWCTL = OUT / "bin" / "cfgwctl"

GW = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
      "metadata": {"name": "gw", "namespace": "default"},
      "spec": {"gatewayClassName": "cfgw", "listeners": [
          {"name": "http", "protocol": "HTTP", "port": 80,
           "allowedRoutes": {"namespaces": {"from": "All"}}}]}}


def manifests(files, gateway):
    """The example documents, routes attached and renamed."""
    docs = [] if gateway != "gw" else [GW]
    for f in files:
        for d in yaml.safe_load_all((EX / f).read_text()):
            if not d:
                continue
            if d["kind"] in ("HTTPRoute", "GRPCRoute"):
                refs = d["spec"].get("parentRefs") or []
                if gateway == "gw" or not refs:
                    d["spec"]["parentRefs"] = [{"name": gateway}]
                d["metadata"]["name"] = Path(f).stem
            docs.append(d)
    return docs


# scenario: (files, gateway name or "gw", [(method, host, path, headers,
# expectation)]); expectation: a backend (Service) name, or a dict with
# "status", "location", "path", "host", "req" (request header the backend
# saw), "resp" (response header).
SCENARIOS = {
    "http-routing": (["http-routing/gateway.yaml",
                      "http-routing/foo-httproute.yaml",
                      "http-routing/bar-httproute.yaml"],
                     "example-gateway", [
        ("GET", "foo.example.com", "/login", [], "foo-svc"),
        ("GET", "foo.example.com", "/login/form", [], "foo-svc"),
        ("GET", "foo.example.com", "/loginx", [], {"status": 404}),
        ("GET", "foo.example.com", "/", [], {"status": 404}),
        ("GET", "bar.example.com", "/any", [("env", "canary")],
         "bar-svc-canary"),
        ("GET", "bar.example.com", "/any", [("env", "prod")], "bar-svc"),
        ("GET", "bar.example.com", "/", [], "bar-svc"),
        ("GET", "example.com", "/x", [], "example-svc"),
        ("GET", "other.example.com", "/", [], {"status": 404}),
    ]),
    "default-match": (["default-match-http.yaml"], "default-match-gw", [
        ("GET", "default-match.com", "/example/exact", [], "my-service-2"),
        ("GET", "default-match.com", "/example/exact/", [],
         {"status": 404}),
        # a CustomBackend cannot be reached: 500 for its traffic
        ("GET", "default-match.com", "/x", [("magic", "default-match")],
         {"status": 500}),
    ]),
    "redirect-scheme": (["http-redirect-rewrite/"
                         "gateway-redirect-http-https.yaml",
                         "http-redirect-rewrite/httproute-redirect-http.yaml",
                         "http-redirect-rewrite/"
                         "httproute-redirect-https.yaml"],
                        "redirect-gateway", [
        ("GET", "redirect.example", "/a?b=1", [("X-Forwarded-Proto", "http")],
         {"status": 301, "location": "https://redirect.example/a?b=1"}),
        ("GET", "redirect.example", "/a", [("X-Forwarded-Proto", "https")],
         "example-svc"),
    ]),
    "redirect-prefix": (["http-redirect-rewrite/"
                         "httproute-redirect-prefix.yaml"], "gw", [
        ("GET", "redirect.example", "/cayenne/pinch", [],
         {"status": 302, "location": "http://redirect.example/paprika/pinch"}),
        ("GET", "redirect.example", "/cayenne", [],
         {"status": 302, "location": "http://redirect.example/paprika"}),
        ("GET", "redirect.example", "/cayennes", [], {"status": 404}),
    ]),
    "redirect-full": (["http-redirect-rewrite/httproute-redirect-full.yaml"],
                      "gw", [
        ("GET", "redirect.example", "/cayenne/pinch?x=1", [],
         {"status": 302, "location": "http://redirect.example/paprika?x=1"}),
    ]),
    "redirect-303": (["http-redirect-rewrite/httproute-redirect-303.yaml"],
                     "gw", [
        ("POST", "forms.example.com", "/submit-form", [],
         {"status": 303, "location": "http://forms.example.com/thank-you"}),
        ("GET", "forms.example.com", "/submit-form", [], {"status": 404}),
    ]),
    "redirect-307": (["http-redirect-rewrite/httproute-redirect-307.yaml"],
                     "gw", None),
    "redirect-308": (["http-redirect-rewrite/httproute-redirect-308.yaml"],
                     "gw", None),
    "rewrite-prefix": (["http-redirect-rewrite/"
                        "httproute-rewrite-prefix-path.yaml"], "gw", [
        ("GET", "rewrite.example", "/cardamom/pod", [],
         {"backend": "example-svc", "path": "/fennel/pod",
          "host": "elsewhere.example"}),
        ("GET", "rewrite.example", "/cardamom", [],
         {"backend": "example-svc", "path": "/fennel",
          "host": "elsewhere.example"}),
    ]),
    "rewrite-full": (["http-redirect-rewrite/"
                      "httproute-rewrite-full-path.yaml"], "gw", [
        ("GET", "rewrite.example", "/cardamom/pod", [],
         {"backend": "example-svc", "path": "/fennel",
          "host": "elsewhere.example"}),
    ]),
    "rewrite-host": (["http-redirect-rewrite/httproute-rewrite.yaml"], "gw", [
        ("GET", "rewrite.example", "/spice", [],
         {"backend": "example-svc", "path": "/spice",
          "host": "elsewhere.example"}),
    ]),
    "headers": (["http-request-header-add.yaml",
                 "http-request-header-set.yaml",
                 "http-request-header-remove.yaml"], "gw", [
        ("GET", "any.example", "/add-a-request-header",
         [("my-header-name", "first")],
         {"backend": "echo", "req": ("my-header-name",
                                     "first,my-header-value")}),
        ("GET", "any.example", "/edit-a-request-header",
         [("My-Header-Name", "old")],
         {"backend": "echo", "req": ("my-header-name",
                                     "my-new-header-value")}),
        ("GET", "any.example", "/remove-a-request-header",
         [("X-Request-Id", "1")],
         {"backend": "echo", "req": ("x-request-id", None)}),
    ]),
    "cors": (["http-cors/httproute-all-fields-set.yaml"], "gw", [
        ("OPTIONS", "any.example", "/cors-behavior-creds-true",
         [("Origin", "https://www.foo.com"),
          ("Access-Control-Request-Method", "GET"),
          ("Access-Control-Request-Headers", "x-header-1")],
         {"status": 200,
          "resp": [("access-control-allow-origin", "https://www.foo.com"),
                   ("access-control-allow-credentials", "true"),
                   ("access-control-allow-methods", "GET, OPTIONS"),
                   ("access-control-allow-headers", "x-header-1"),
                   ("access-control-max-age", "3600")]}),
        ("GET", "any.example", "/cors-behavior-creds-true",
         [("Origin", "https://a.b.bar.com")],
         {"backend": "infra-backend-v1",
          "resp": [("access-control-allow-origin", "https://a.b.bar.com"),
                   ("access-control-expose-headers",
                    "x-header-3, x-header-4")]}),
        ("GET", "any.example", "/cors-behavior-creds-true",
         [("Origin", "https://bar.com")],
         {"backend": "infra-backend-v1",
          "resp": [("access-control-allow-origin", None)]}),
    ]),
    "split": (["traffic-splitting/traffic-split-2.yaml"], "gw", [
        ("GET", "foo.example.com", "/", [], {"backend": ("foo-v1",
                                                          "foo-v2")}),
    ]),
    "mirror": (["http-request-mirroring/httproute-mirroring.yaml"], "gw", [
        ("GET", "mirror.example", "/m", [], "foo-v1"),
    ]),
    # gRPC (method "GRPC": a POST with content-type application/grpc over
    # HTTP/2; the h2c echo backends answer with what they received)
    "grpc-routing": (["grpc-routing/gateway.yaml",
                      "grpc-routing/foo-grpcroute.yaml",
                      "grpc-routing/bar-grpcroute.yaml",
                      "grpc-routing/reflection-grpcroute.yaml"],
                     "example-gateway", [
        ("GRPC", "foo.example.com", "/com.example/Login", [], "foo-svc"),
        ("GRPC", "foo.example.com", "/com.example.User/Login", [],
         "foo-svc"),
        ("GRPC", "foo.example.com",
         "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", [],
         "foo-svc"),
        ("GRPC", "foo.example.com", "/com.example/Logout", [],
         {"status": 200, "resp": [("grpc-status", "12")]}),
        ("GRPC", "bar.example.com", "/any.Svc/Call", [("env", "canary")],
         "bar-svc-canary"),
        ("GRPC", "bar.example.com", "/any.Svc/Call", [], "bar-svc"),
    ]),
    "grpc-filter": (["grpc-filter.yaml"], "gw", [
        ("GRPC", "my.filter.com", "/pkg.Svc/Call", [("my-header", "bar")],
         {"backend": "my-filter-svc1", "req": ("my-header", "bar,foo")}),
    ]),
}


def plan(tmp, files, gateway):
    f = tmp / "manifests.yaml"
    f.write_text(yaml.safe_dump_all(manifests(files, gateway)))
    gwname = "default/" + gateway
    p = subprocess.run([str(CFGWCTL), "plan", "-f", str(f), "--gateway",
                        gwname, "-o", "table"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def services(tb):
    out = set()
    for h in tb["hosts"]:
        for e in h.get("http", []) + h.get("grpc", []):
            bes = list(e["backends"])
            bes += [f["backend"] for f in e.get("filters", [])
                    if "backend" in f]
            for b in bes:
                if b.get("invalid") is None and b.get("port"):
                    out.add((b["host"], b["port"]))
    return sorted(out)


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    if not CFGWCTL.exists():
        pytest.skip("%s is not built" % CFGWCTL)
    if not shutil.which("curl"):
        pytest.skip("no curl")
    running = {}

    def start(name):
        if name in running:
            return running[name]
        files, gw, _ = SCENARIOS[name]
        tmp = tmp_path_factory.mktemp(name)
        tb = plan(tmp, files, gw)
        bes, extra = [], []
        for host, port in services(tb):
            b = Backend(host.split(".")[0])
            bes.append(b)
            extra += ["--resolve", "%s:%d:127.0.0.1:%d" % (host, port,
                                                           b.port)]
        px = Proxy(tmp, tb, extra=extra)
        assert px.wait_log("route table loaded"), px.log()
        running[name] = (px, bes, tb)
        return running[name]
    yield start
    for px, bes, _ in running.values():
        px.stop()
        for b in bes:
            b.stop()


def curl(px, proto, method, host, path, headers):
    argv = ["curl", "-s", "-o", "-", "-D", "/dev/stderr", "-H",
            "Host: " + host, "-w", "\n%{http_code}"]
    if method == "GRPC":
        argv += ["-X", "POST", "-H", "Content-Type: application/grpc",
                 "-H", "TE: trailers", "--data-binary", "@/dev/null"]
    else:
        argv += ["-X", method]
    for k, v in headers:
        argv += ["-H", "%s: %s" % (k, v)]
    if proto == "h2":
        argv += ["--http2", "-k", "https://127.0.0.1:%d%s" % (px.https,
                                                              path)]
    else:
        argv += ["--http1.1", "http://127.0.0.1:%d%s" % (px.http, path)]
    p = subprocess.run(argv, capture_output=True, timeout=20)
    assert p.returncode == 0, p.stderr
    body, _, code = p.stdout.rpartition(b"\n")
    blocks = p.stderr.decode("latin-1").strip().split("\r\n\r\n")
    hdrs = []
    for ln in blocks[-1].split("\r\n")[1:]:
        k, _, v = ln.partition(":")
        hdrs.append((k.strip().lower(), v.strip()))
    return int(code), hdrs, body


CASES = [(name, i, proto) for name, (_, _, checks) in SCENARIOS.items()
         if checks for i in range(len(checks)) for proto in ("h1", "h2")
         if proto == "h2" or checks[i][0] != "GRPC"]


@pytest.mark.parametrize("name,i,proto", CASES)
def test_example(started, name, i, proto):
    px, _, _ = started(name)
    method, host, path, headers, want = SCENARIOS[name][2][i]
    if isinstance(want, str):
        want = {"backend": want}
    code, hdrs, body = curl(px, proto, method, host, path, headers)
    rh = dict(hdrs)
    if "status" in want:
        assert code == want["status"], (code, body[:200])
    if "location" in want:
        loc = want["location"]
        # without X-Forwarded-Proto the request's scheme is the listener's
        if proto == "h2" and loc.startswith("http://") and not [
                k for k, _ in headers if k.lower() == "x-forwarded-proto"]:
            loc = "https://" + loc[7:]
        assert rh.get("location") == loc
    for k, v in want.get("resp", []):
        assert rh.get(k) == v, (k, hdrs)
    if "backend" not in want:
        return
    assert code == 200, (code, body[:200])
    e = json.loads(body)
    names = want["backend"] if isinstance(want["backend"], tuple) else (
        want["backend"],)
    assert e["name"] in names
    if "path" in want:
        assert e["path"] == want["path"]
    assert e["host"] == want.get("host", host)
    if "req" in want:
        k, v = want["req"]
        assert e["headers"].get(k) == v, e["headers"]


def test_redirect_status_examples(started):
    for name, status in (("redirect-307", 307), ("redirect-308", 308)):
        px, _, tb = started(name)
        h = [x for x in tb["hosts"] if x["http"]][0]
        e = h["http"][0]
        rd = [f for f in e["filters"] if f["type"] == "RequestRedirect"][0]
        host = h["hostname"] if h["hostname"] != "*" else "any.example"
        st, hh, _ = http_get(px.http, e["match"]["path"]["value"], host=host,
                             method=e["match"].get("method") or "GET")
        assert st == status == rd["requestRedirect"]["statusCode"]
        assert hh["location"].startswith(
            rd["requestRedirect"].get("scheme", "http") + "://")


def test_split_weights(started):
    # traffic-split-2: foo-v1 90, foo-v2 10
    px, _, _ = started("split")
    n = {"foo-v1": 0, "foo-v2": 0}
    for _ in range(200):
        st, _, body = http_get(px.http, "/", host="foo.example.com")
        n[json.loads(body)["name"]] += 1
    assert 150 <= n["foo-v1"] <= 198 and n["foo-v2"] >= 2, n


def test_mirror_example(started):
    import time
    from test_proxy_lib import parse_responses, raw
    px, bes, _ = started("mirror")
    v2 = [b for b in bes if b.name == "foo-v2"][0]
    tag = "/mirrored/%d" % time.monotonic_ns()
    st, _, body = http_get(px.http, tag, host="mirror.example")
    assert st == 200 and json.loads(body)["name"] == "foo-v1"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r = parse_responses(raw(v2.port, b"GET /_echo/log HTTP/1.1\r\n"
                                b"Host: x\r\n\r\n"))
        if [e for e in json.loads(r[0][2]) if e[1] == tag]:
            return
        time.sleep(0.05)
    pytest.fail("the mirror did not get the copy")
