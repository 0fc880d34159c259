# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy filters against the Gateway API v1.6.1 semantics, with echo
backends that report what they received: Request/ResponseHeaderModifier
(rule and backendRef level, names case-insensitive, repeated headers),
RequestRedirect (scheme, hostname, port with the default-port rules, path,
status codes), URLRewrite (hostname, full path, the ReplacePrefixMatch
table with and without trailing slashes), CORS (origins with wildcards and
default ports, methods, headers, expose, credentials, maxAge), unknown
filters and ExtensionRef (500), GRPCRoute header modifiers, and the
order of the filters as listed on the rule (request phase, mirrors'
copies, response phase)."""
import json
import shutil
import subprocess
import time

import pytest

from proxy_table import backend, entry, mirror
from test_proxy_lib import Backend, Proxy, parse_responses, raw


def hm(kind, set_=(), add=(), remove=()):
    key = kind[0].lower() + kind[1:]
    return {"type": kind, key: {
        "set": [{"name": n, "value": v} for n, v in set_],
        "add": [{"name": n, "value": v} for n, v in add],
        "remove": list(remove)}}


def redirect(**kw):
    path = kw.pop("path", None)
    if path is not None:
        kw["path"] = ({"type": "ReplaceFullPath", "replaceFullPath": path[1]}
                      if path[0] == "full" else
                      {"type": "ReplacePrefixMatch",
                       "replacePrefixMatch": path[1]})
    return {"type": "RequestRedirect", "requestRedirect": kw}


def rewrite(hostname=None, full=None, prefix=None):
    c = {}
    if hostname:
        c["hostname"] = hostname
    if full is not None:
        c["path"] = {"type": "ReplaceFullPath", "replaceFullPath": full}
    if prefix is not None:
        c["path"] = {"type": "ReplacePrefixMatch",
                     "replacePrefixMatch": prefix}
    return {"type": "URLRewrite", "urlRewrite": c}


def cors(**kw):
    return {"type": "CORS", "cors": kw}


# Hosts rwN.example.com: prefix /foo rewritten with these replacements.
REWRITES = ["/xyz", "/xyz/", "", "/"]


ACAO = "access-control-allow-origin"


def order_entries(A, pm):
    """Pairs of rules listing the same filters in both orders."""
    sethost = hm("RequestHeaderModifier", set_=[("Host", "set.example")],
                 add=[("X-Order", "rhm")])
    rwhost = rewrite(hostname="rewritten.example")
    rwpath = rewrite(full="/rewritten")
    c = cors(allowOrigins=["https://o.test"], allowMethods=["GET"])
    rm = hm("ResponseHeaderModifier", remove=[ACAO],
            add=[("X-Resp", "1")])
    return [
        entry("o-hm-rw", "/o/hm-rw", backends=A, filters=[sethost, rwhost]),
        entry("o-rw-hm", "/o/rw-hm", backends=A, filters=[rwhost, sethost]),
        entry("o-mir-hm", "/o/mir-hm", backends=A,
              filters=[mirror("m", pm), sethost]),
        entry("o-hm-mir", "/o/hm-mir", backends=A,
              filters=[sethost, mirror("m", pm)]),
        entry("o-mir-rw", "/o/mir-rw", backends=A,
              filters=[mirror("m", pm), rwpath, mirror("m", pm)]),
        entry("o-cors-rm", "/o/cors-rm", backends=A, filters=[c, rm]),
        entry("o-rm-cors", "/o/rm-cors", backends=A, filters=[rm, c]),
        entry("o-redir-rw", "/o/redir-rw", backends=A, filters=[
            redirect(hostname="example.org"), rwpath]),
        entry("o-hm-redir", "/o/hm-redir", filters=[
            sethost, redirect(statusCode=301)]),
        entry("o-mir-redir", "/o/mir-redir", filters=[
            mirror("m", pm), redirect(statusCode=301)]),
    ]


def build(pa, pb, pg, pm):
    A = [backend("a", pa)]
    http = order_entries(A, pm) + [
        entry("hm", "/hm", backends=A, filters=[
            hm("RequestHeaderModifier",
               set_=[("X-Set", "s1")], add=[("X-Add", "a1")],
               remove=["x-REMOVE"]),
            hm("ResponseHeaderModifier",
               set_=[("X-Resp-Set", "r1")], add=[("X-Resp-Add", "r2")],
               remove=["x-BACKEND"])]),
        entry("hm2", "/hm2", backends=A, filters=[
            hm("ResponseHeaderModifier", add=[("X-Backend", "extra")],
               set_=[("content-TYPE", "text/x")])]),
        entry("bef", "/bef", backends=[
            backend("a", pa, filters=[
                hm("RequestHeaderModifier", set_=[("X-Be", "a")]),
                hm("ResponseHeaderModifier", add=[("X-Be-Resp", "a")])]),
            backend("b", pb)]),
        entry("bebad", "/bebad", backends=[backend("a", pa, filters=[
            {"type": "ExtensionRef", "unsupported": True,
             "extensionRef": {"group": "x", "kind": "Y", "name": "z"}}])]),
        entry("behalf", "/behalf", backends=[
            backend("a", pa, filters=[{"type": "NoSuchFilter"}]),
            backend("b", pb)]),
        entry("unknown", "/unknown", backends=A, filters=[
            {"type": "ExternalAuth", "unsupported": True}]),
        entry("extref", "/extref", backends=A, filters=[
            {"type": "ExtensionRef", "unsupported": True,
             "extensionRef": {"group": "x", "kind": "Y", "name": "z"}}]),
        entry("framing", "/framing", backends=A, filters=[
            hm("RequestHeaderModifier", set_=[("Content-Length", "0")])]),
        entry("framingbe", "/framingbe", backends=[backend("a", pa, filters=[
            hm("ResponseHeaderModifier",
               add=[("Transfer-Encoding", "chunked")])])]),
        entry("bogus", "/bogus", backends=A,
              filters=[{"type": "NoSuchFilter"}]),
        entry("rhost", "/r/host", filters=[redirect(hostname="example.org",
                                                    statusCode=301)]),
        entry("rhttps", "/r/https", filters=[redirect(scheme="https")]),
        entry("rhttps8443", "/r/h8443",
              filters=[redirect(scheme="https", port=8443)]),
        entry("rport80", "/r/port80", filters=[redirect(port=80)]),
        entry("rport443", "/r/port443", filters=[redirect(port=443)]),
        entry("rhttp443", "/r/http443",
              filters=[redirect(scheme="http", port=443)]),
        entry("rkeep", "/r/keep", filters=[redirect()]),
        entry("r303", "/r/303", filters=[redirect(statusCode=303)]),
        entry("r307", "/r/307", filters=[redirect(statusCode=307)]),
        entry("r308", "/r/308", filters=[redirect(statusCode=308)]),
        entry("r399", "/r/399", filters=[redirect(statusCode=399)]),
        entry("rftp", "/r/ftp", filters=[redirect(scheme="ftp")]),
        entry("rfull", "/r/full", filters=[redirect(path=("full",
                                                          "/new"))]),
        entry("rpre", "/r/pre", filters=[redirect(path=("prefix",
                                                        "/xyz"))]),
        entry("rexact", "/r/exact", ptype="Exact",
              filters=[redirect(path=("prefix", "/xyz"))]),
        entry("wfull", "/w/full", backends=A,
              filters=[rewrite(full="/replaced")]),
        entry("whost", "/w/host", backends=A,
              filters=[rewrite(hostname="internal.example.net")]),
        entry("wroot", "/", backends=A, filters=[rewrite(prefix="/xyz")]),
        entry("cors", "/cors", backends=A, filters=[cors(
            allowOrigins=["https://*.trusted.example",
                          "http://plain.example:8080",
                          "https://exact.example"],
            allowMethods=["GET", "PUT"], allowHeaders=["x-a", "x-b"],
            exposeHeaders=["x-backend"], allowCredentials=True,
            maxAge=600)]),
        entry("corsany", "/corsany", backends=A, filters=[cors(
            allowOrigins=["*"], allowMethods=["*"], allowHeaders=["*"],
            exposeHeaders=["*"])]),
        entry("corscred", "/corscred", backends=A, filters=[cors(
            allowOrigins=["*"], allowMethods=["*"], allowHeaders=["*"],
            exposeHeaders=["*"], allowCredentials=True)]),
        entry("corsdef", "/corsdef", backends=A, filters=[cors(
            allowOrigins=["https://*"])]),
    ]
    # the root entry must come last (table order is precedence order)
    http.sort(key=lambda e: e["match"]["path"]["value"] == "/")
    hosts = [{"hostname": "app.example.com", "wildcard": False,
              "listeners": ["http"], "http": http, "grpc": [
                  {"route": {"kind": "GRPCRoute", "namespace": "default",
                             "name": "g", "rule": 0},
                   "match": {"type": "Exact", "service": None,
                             "method": None, "headers": []},
                   "filters": [
                       hm("RequestHeaderModifier", set_=[("X-G", "1")],
                          remove=["x-drop"]),
                       hm("ResponseHeaderModifier",
                          add=[("X-G-Resp", "2")])],
                   "backends": [backend("g", pg, proto="h2c")]}]}]
    sethost = hm("RequestHeaderModifier", set_=[("Host", "set.example")])
    for name, fl in (("go1", [mirror("m", pm), sethost]),
                     ("go2", [sethost, mirror("m", pm)])):
        hosts.append({"hostname": name + ".example.com", "wildcard": False,
                      "listeners": ["http"], "http": [], "grpc": [
                          {"route": {"kind": "GRPCRoute",
                                     "namespace": "default", "name": name,
                                     "rule": 0},
                           "match": {"type": "Exact", "service": None,
                                     "method": None, "headers": []},
                           "filters": fl,
                           "backends": [backend("g", pg, proto="h2c")]}]})
    for i, repl in enumerate(REWRITES):
        hosts.append({"hostname": "rw%d.example.com" % i, "wildcard": False,
                      "listeners": ["http"], "grpc": [], "http": [
                          entry("rw%d" % i, "/foo", backends=A,
                                filters=[rewrite(prefix=repl)])]})
    # an un-normalised prefix with a trailing slash (the spec's "/foo/")
    hosts.append({"hostname": "rwslash.example.com", "wildcard": False,
                  "listeners": ["http"], "grpc": [], "http": [
                      entry("rws", "/foo/", backends=A,
                            filters=[rewrite(prefix="/xyz")])]})
    return {"version": "1.0", "generation": "filters-1",
            "gateway": {"namespace": "default", "name": "gw"},
            "listeners": [], "hosts": hosts}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    a, b, g, m = Backend("a"), Backend("b"), Backend("g"), Backend("m")
    px = None
    try:
        px = Proxy(tmp_path_factory.mktemp("px"),
                   build(a.port, b.port, g.port, m.port))
        assert px.wait_log("route table loaded"), px.log()
        px.m = m.port
        yield px
    finally:
        if px:
            px.stop()
        for x in (a, b, g, m):
            x.stop()


def get(env, path, headers=(), host="app.example.com", method="GET",
        body=None):
    """(status, [(name lower, value)], body) keeping repeated fields."""
    req = "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (
        method, path, host)
    for k, v in headers:
        req += "%s: %s\r\n" % (k, v)
    data = req.encode()
    if body is not None:
        data += b"Content-Length: %d\r\n\r\n" % len(body) + body
    else:
        data += b"\r\n"
    out = raw(env.http, data)
    head, _, rest = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hl = []
    for ln in lines[1:]:
        k, v = ln.split(":", 1)
        hl.append((k.strip().lower(), v.strip()))
    return int(lines[0].split()[1]), hl, rest


def vals(hl, name):
    return [v for k, v in hl if k == name]


def echoed(body):
    return json.loads(body)


# -- header modifiers -----------------------------------------------------

def test_request_header_modifier(env):
    st, hl, body = get(env, "/hm", headers=[
        ("x-set", "old1"), ("X-SET", "old2"), ("X-Add", "orig"),
        ("X-Remove", "r1"), ("x-remove", "r2"), ("X-Keep", "k")])
    assert st == 200
    e = echoed(body)
    got = e["header_list"]
    assert [v for k, v in got if k == "x-set"] == ["s1"]
    assert [v for k, v in got if k == "x-add"] == ["orig", "a1"]
    assert e["headers"]["x-add"] == "orig,a1"
    assert not [k for k, _ in got if k == "x-remove"]
    assert e["headers"]["x-keep"] == "k"


def test_request_header_modifier_adds_when_absent(env):
    st, _, body = get(env, "/hm")
    e = echoed(body)
    assert e["headers"]["x-set"] == "s1" and e["headers"]["x-add"] == "a1"


def test_response_header_modifier(env):
    st, hl, _ = get(env, "/hm")
    assert st == 200
    assert vals(hl, "x-resp-set") == ["r1"]
    assert vals(hl, "x-resp-add") == ["r2"]
    assert vals(hl, "x-backend") == []          # removed, any case


def test_response_header_modifier_repeated(env):
    st, hl, _ = get(env, "/hm2")
    assert sorted(vals(hl, "x-backend")) == ["a", "extra"]
    assert vals(hl, "content-type") == ["text/x"]


def test_backend_level_modifiers(env):
    seen = {}
    for _ in range(40):
        st, hl, body = get(env, "/bef")
        e = echoed(body)
        seen[e["name"]] = True
        if e["name"] == "a":
            assert e["headers"]["x-be"] == "a"
            assert vals(hl, "x-be-resp") == ["a"]
        else:
            assert "x-be" not in e["headers"]
            assert vals(hl, "x-be-resp") == []
    assert set(seen) == {"a", "b"}


@pytest.mark.parametrize("path", ["/unknown", "/extref", "/bogus",
                                  "/bebad", "/framing", "/framingbe"])
def test_unknown_filter_500(env, path):
    assert get(env, path)[0] == 500


def test_unknown_backend_filter_fails_its_share_only(env):
    got = {}
    for _ in range(40):
        st, _, body = get(env, "/behalf")
        got[st] = got.get(st, 0) + 1
        if st == 200:
            assert echoed(body)["name"] == "b"
    assert set(got) == {200, 500}, got


# -- RequestRedirect --------------------------------------------------------

RED = [
    # (path, request host, extra headers, status, Location)
    ("/r/host/x", "app.example.com", [], 301, "http://example.org/r/host/x"),
    ("/r/host/x?a=1", "app.example.com", [("X-Forwarded-Proto", "https")],
     301, "https://example.org/r/host/x?a=1"),
    # scheme set, no port: the scheme's well-known port, left out
    ("/r/https", "app.example.com", [], 302,
     "https://app.example.com/r/https"),
    ("/r/https", "app.example.com:8080", [], 302,
     "https://app.example.com/r/https"),
    ("/r/h8443/y", "app.example.com", [], 302,
     "https://app.example.com:8443/r/h8443/y"),
    # port 80 with http (the request's scheme) is left out; with https not
    ("/r/port80", "app.example.com", [], 302,
     "http://app.example.com/r/port80"),
    ("/r/port80", "app.example.com", [("X-Forwarded-Proto", "https")], 302,
     "https://app.example.com:80/r/port80"),
    ("/r/port443", "app.example.com", [("X-Forwarded-Proto", "https")], 302,
     "https://app.example.com/r/port443"),
    ("/r/port443", "app.example.com", [], 302,
     "http://app.example.com:443/r/port443"),
    ("/r/http443", "app.example.com", [], 302,
     "http://app.example.com:443/r/http443"),
    # neither scheme nor port: the port the client used (the listener's)
    ("/r/keep", "app.example.com", [], 302, "http://app.example.com/r/keep"),
    ("/r/keep", "App.Example.com:8080", [], 302,
     "http://app.example.com:8080/r/keep"),
    ("/r/keep", "app.example.com:80", [], 302,
     "http://app.example.com/r/keep"),
    ("/r/303", "app.example.com", [], 303, "http://app.example.com/r/303"),
    ("/r/307", "app.example.com", [], 307, "http://app.example.com/r/307"),
    ("/r/308", "app.example.com", [], 308, "http://app.example.com/r/308"),
    ("/r/full/a/b?q=1", "app.example.com", [], 302,
     "http://app.example.com/new?q=1"),
    ("/r/pre/a/b?q=1", "app.example.com", [], 302,
     "http://app.example.com/xyz/a/b?q=1"),
    ("/r/pre", "app.example.com", [], 302, "http://app.example.com/xyz"),
    ("/r/pre/", "app.example.com", [], 302, "http://app.example.com/xyz/"),
]


@pytest.mark.parametrize("path,host,headers,status,loc", RED)
def test_redirect(env, path, host, headers, status, loc):
    st, hl, _ = get(env, path, host=host, headers=headers)
    assert st == status
    assert vals(hl, "location") == [loc]


@pytest.mark.parametrize("path", ["/r/399", "/r/ftp", "/r/exact"])
def test_redirect_outside_spec_500(env, path):
    assert get(env, path)[0] == 500


# -- URLRewrite ---------------------------------------------------------------

# The ReplacePrefixMatch table of the specification (prefix "/foo").
PREFIX_TABLE = [
    ("/foo/bar", "/xyz", "/xyz/bar"),
    ("/foo/bar", "/xyz/", "/xyz/bar"),
    ("/foo", "/xyz", "/xyz"),
    ("/foo/", "/xyz", "/xyz/"),
    ("/foo/bar", "", "/bar"),
    ("/foo/", "", "/"),
    ("/foo", "", "/"),
    ("/foo/", "/", "/"),
    ("/foo", "/", "/"),
    ("/foo/bar", "/", "/bar"),
    ("/foo/", "/xyz/", "/xyz/"),
    ("/foo/bar/baz", "/xyz", "/xyz/bar/baz"),
]


@pytest.mark.parametrize("path,repl,want", PREFIX_TABLE)
def test_rewrite_prefix_table(env, path, repl, want):
    host = "rw%d.example.com" % REWRITES.index(repl)
    st, _, body = get(env, path + "?k=v", host=host)
    assert st == 200
    e = echoed(body)
    assert e["path"] == want and e["query"] == "k=v"
    assert e["host"] == host                    # Host unchanged


def test_rewrite_prefix_trailing_slash_in_match(env):
    # "/foo/bar" | "/foo/" | "/xyz" -> "/xyz/bar"
    st, _, body = get(env, "/foo/bar", host="rwslash.example.com")
    assert st == 200 and echoed(body)["path"] == "/xyz/bar"


def test_rewrite_prefix_root(env):
    st, _, body = get(env, "/some/where")
    assert echoed(body)["path"] == "/xyz/some/where"


def test_rewrite_full_and_host(env):
    st, _, body = get(env, "/w/full/deep?x=1")
    e = echoed(body)
    assert e["path"] == "/replaced" and e["query"] == "x=1"
    st, _, body = get(env, "/w/host/p")
    e = echoed(body)
    assert e["host"] == "internal.example.net" and e["path"] == "/w/host/p"


# -- CORS -------------------------------------------------------------------

def preflight(env, path, origin, method="PUT", req_headers="x-a"):
    h = [("Origin", origin), ("Access-Control-Request-Method", method)]
    if req_headers:
        h.append(("Access-Control-Request-Headers", req_headers))
    return get(env, path, method="OPTIONS", headers=h)


@pytest.mark.parametrize("origin,ok", [
    ("https://x.trusted.example", True),
    ("https://a.b.trusted.example", True),
    ("HTTPS://X.Trusted.Example", True),
    ("https://trusted.example", False),
    ("http://x.trusted.example", False),
    ("https://x.trusted.example:8443", False),
    ("https://x.trusted.example.evil", False),
    ("https://exact.example", True),
    ("https://exact.example:443", True),
    ("https://exact.example:8443", False),
    ("https://sub.exact.example", False),
    ("http://plain.example:8080", True),
    ("http://plain.example", False),
    ("null", False),
])
def test_cors_origins(env, origin, ok):
    st, hl, body = preflight(env, "/cors", origin)
    assert st == 200 and body == b""            # answered by the proxy
    if ok:
        assert vals(hl, "access-control-allow-origin") == [origin]
        assert vals(hl, "access-control-allow-methods") == ["GET, PUT"]
        assert vals(hl, "access-control-allow-headers") == ["x-a, x-b"]
        assert vals(hl, "access-control-max-age") == ["600"]
        assert vals(hl, "access-control-allow-credentials") == ["true"]
        assert "Origin" in vals(hl, "vary")
    else:
        assert not [k for k, _ in hl if k.startswith("access-control-")]


def test_cors_actual_request(env):
    st, hl, body = get(env, "/cors", headers=[
        ("Origin", "https://x.trusted.example")])
    assert st == 200 and echoed(body)["name"] == "a"
    assert vals(hl, "access-control-allow-origin") == [
        "https://x.trusted.example"]
    assert vals(hl, "access-control-expose-headers") == ["x-backend"]
    assert vals(hl, "access-control-allow-credentials") == ["true"]
    st, hl, _ = get(env, "/cors", headers=[("Origin", "https://evil.test")])
    assert st == 200
    assert not [k for k, _ in hl if k.startswith("access-control-")]
    # not a preflight (no Access-Control-Request-Method): forwarded
    st, hl, body = get(env, "/cors", method="OPTIONS", headers=[
        ("Origin", "https://x.trusted.example")])
    assert st == 200 and echoed(body)["method"] == "OPTIONS"


def test_cors_wildcards_without_credentials(env):
    st, hl, _ = preflight(env, "/corsany", "https://anything.test",
                          method="PATCH", req_headers="x-q, x-r")
    assert vals(hl, "access-control-allow-origin") == ["*"]
    assert vals(hl, "access-control-allow-methods") in (["PATCH"], ["*"])
    assert vals(hl, "access-control-allow-headers") in (["x-q, x-r"],
                                                        ["*"])
    assert vals(hl, "access-control-allow-credentials") == []
    assert vals(hl, "access-control-max-age") == ["5"]     # the default
    st, hl, _ = get(env, "/corsany", headers=[("Origin", "https://o.test")])
    assert vals(hl, "access-control-allow-origin") == ["*"]
    assert vals(hl, "access-control-expose-headers") == ["*"]


def test_cors_wildcards_with_credentials(env):
    st, hl, _ = preflight(env, "/corscred", "https://anything.test",
                          method="DELETE", req_headers="x-q")
    assert vals(hl, "access-control-allow-origin") == [
        "https://anything.test"]
    assert vals(hl, "access-control-allow-methods") == ["DELETE"]
    assert vals(hl, "access-control-allow-headers") == ["x-q"]
    assert vals(hl, "access-control-allow-credentials") == ["true"]
    # no Access-Control-Request-Headers: no Allow-Headers
    st, hl, _ = preflight(env, "/corscred", "https://anything.test",
                          req_headers=None)
    assert vals(hl, "access-control-allow-headers") == []
    st, hl, _ = get(env, "/corscred", headers=[("Origin", "https://o.test")])
    assert vals(hl, "access-control-allow-origin") == ["https://o.test"]
    assert vals(hl, "access-control-expose-headers") == []  # never "*"


def test_cors_scheme_wildcard_host(env):
    st, hl, _ = preflight(env, "/corsdef", "https://any.host.test")
    assert vals(hl, "access-control-allow-origin") == [
        "https://any.host.test"]
    st, hl, _ = preflight(env, "/corsdef", "http://any.host.test")
    assert vals(hl, "access-control-allow-origin") == []


# -- GRPCRoute filters --------------------------------------------------------

def test_grpc_header_modifiers(env, tmp_path):
    # gRPC is recognised on HTTP/2 (here with prior knowledge).
    if not shutil.which("curl"):
        pytest.skip("no curl")
    hdr = tmp_path / "h"
    out = subprocess.run(
        ["curl", "-s", "--http2-prior-knowledge", "-D", str(hdr),
         "-H", "Host: app.example.com", "-H", "Content-Type: application/grpc",
         "-H", "TE: trailers", "-H", "X-Drop: 1", "-H", "X-G: client",
         "--data-binary", "@-",
         "http://127.0.0.1:%d/pkg.Svc/Method" % env.http],
        input=b"\0" * 5, capture_output=True, timeout=20, check=True).stdout
    e = json.loads(out)
    assert e["proto"] == "h2c" and e["name"] == "g"
    assert e["headers"]["x-g"] == "1" and "x-drop" not in e["headers"]
    lines = hdr.read_text().lower().splitlines()
    assert "x-g-resp: 2" in [ln.strip() for ln in lines]


# -- the order listed on the rule ---------------------------------------------

def mirror_log(port, prefix, n, timeout=5):
    """[method, target, body length, host] the mirror received."""
    deadline = time.monotonic() + timeout
    while True:
        r = parse_responses(raw(port, b"GET /_echo/log HTTP/1.1\r\n"
                                b"Host: x\r\n\r\n"))
        hits = [e for e in json.loads(r[0][2]) if e[1].startswith(prefix)]
        if len(hits) >= n or time.monotonic() > deadline:
            return hits
        time.sleep(0.05)


def test_order_header_modifier_and_rewrite(env):
    # the Host set by RequestHeaderModifier, then URLRewrite's hostname
    st, _, body = get(env, "/o/hm-rw")
    assert st == 200 and echoed(body)["host"] == "rewritten.example"
    # URLRewrite first: the modifier's Host wins
    st, _, body = get(env, "/o/rw-hm")
    e = echoed(body)
    assert st == 200 and e["host"] == "set.example"
    assert e["headers"]["x-order"] == "rhm"


def test_order_mirror_copies_request_at_its_place(env):
    t = "/o/mir-hm/%d" % time.monotonic_ns()
    st, _, body = get(env, t)
    assert st == 200 and echoed(body)["host"] == "set.example"
    hits = mirror_log(env.m, t, 1)
    assert [h[3] for h in hits] == ["app.example.com"]     # unmodified
    t = "/o/hm-mir/%d" % time.monotonic_ns()
    st, _, body = get(env, t)
    assert st == 200
    hits = mirror_log(env.m, t, 1)
    assert [h[3] for h in hits] == ["set.example"]         # modified


def test_order_mirrors_around_rewrite(env):
    t = "/o/mir-rw/%d" % time.monotonic_ns()
    st, _, body = get(env, t + "?k=v", method="PUT", body=b"x" * 5000)
    assert st == 200 and echoed(body)["path"] == "/rewritten"
    # the first mirror got the path as received, the second the rewritten
    # one; both with the body
    assert [h[:3] for h in mirror_log(env.m, t, 1)] == [
        ["PUT", t + "?k=v", 5000]]
    assert [h[:3] for h in mirror_log(env.m, "/rewritten", 1)] == [
        ["PUT", "/rewritten?k=v", 5000]]


def test_order_response_modifier_and_cors(env):
    o = [("Origin", "https://o.test")]
    # ResponseHeaderModifier after CORS removes CORS's field ...
    st, hl, body = get(env, "/o/cors-rm", headers=o)
    assert st == 200 and echoed(body)["name"] == "a"
    assert vals(hl, ACAO) == [] and vals(hl, "x-resp") == ["1"]
    st, hl, body = preflight(env, "/o/cors-rm", "https://o.test",
                             method="GET", req_headers=None)
    assert st == 200 and body == b""
    assert vals(hl, ACAO) == []
    assert vals(hl, "access-control-allow-methods") == ["GET"]
    # ... listed before CORS it does not
    st, hl, _ = get(env, "/o/rm-cors", headers=o)
    assert vals(hl, ACAO) == ["https://o.test"]
    assert vals(hl, "x-resp") == ["1"]
    st, hl, _ = preflight(env, "/o/rm-cors", "https://o.test",
                          method="GET", req_headers=None)
    assert vals(hl, ACAO) == ["https://o.test"]


def test_order_redirect_with_rewrite_is_500(env):
    # the specification forbids the pair; a table that has it fails closed
    assert get(env, "/o/redir-rw")[0] == 500


def test_order_modifier_before_redirect(env):
    st, hl, _ = get(env, "/o/hm-redir/x")
    assert st == 301
    assert vals(hl, "location") == ["http://set.example/o/hm-redir/x"]


def test_local_answers_are_not_mirrored(env):
    t = "/o/mir-redir/%d" % time.monotonic_ns()
    assert get(env, t)[0] == 301
    time.sleep(0.3)
    assert mirror_log(env.m, t, 1, timeout=0.5) == []


def test_grpc_filters_in_order(env):
    if not shutil.which("curl"):
        pytest.skip("no curl")
    for host, want in (("go1", "go1.example.com"), ("go2", "set.example")):
        svc = "/t%d.Svc/M" % time.monotonic_ns()
        out = subprocess.run(
            ["curl", "-s", "--http2-prior-knowledge",
             "-H", "Host: %s.example.com" % host,
             "-H", "Content-Type: application/grpc", "-H", "TE: trailers",
             "--data-binary", "@-", "http://127.0.0.1:%d%s" % (env.http, svc)],
            input=b"\0" * 5, capture_output=True, timeout=20,
            check=True).stdout
        e = json.loads(out)
        assert e["name"] == "g" and e["host"] == "set.example"
        assert [h[3] for h in mirror_log(env.m, svc, 1)] == [want]
