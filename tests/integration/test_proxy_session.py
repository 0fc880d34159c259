# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy session persistence (GEP-1619): Cookie and Header values
authenticated with a per-Gateway key (libsodium HMAC-SHA-512-256), so a
client can neither pick nor forge a backend; tampered, forged, foreign-key
and expired values get a fresh weighted choice and a new value; a backend
whose weight went to 0 is abandoned; the key comes from
--session-key-file or CFGW_SESSION_KEY (else a random one, with a
warning)."""
import base64
import json
import time

import pytest

from proxy_table import backend, entry, table
from test_proxy_lib import Backend, Proxy, http_get

NAMES = ("a", "b", "c")


def sp(kind="Cookie", name=None, timeout_ms=None, lifetime="Session"):
    return {"type": kind, "session_name": name,
            "absolute_timeout_ms": timeout_ms, "lifetime_type": lifetime}


def build(ports, weights=(1, 1, 1)):
    bes = [backend(n, p, weight=w) for n, p, w in zip(NAMES, ports,
                                                      weights)]
    return table([
        entry("exp", "/exp", backends=bes,
              session_persistence=sp(name="ex", timeout_ms=1500,
                                     lifetime="Permanent")),
        entry("perm", "/perm", backends=bes,
              session_persistence=sp(name="pc", timeout_ms=3600000,
                                     lifetime="Permanent")),
        entry("hdr", "/hdr", backends=bes,
              session_persistence=sp("Header", "X-Sess")),
        entry("cookie", "/s", backends=bes,
              session_persistence=sp(name="sess")),
        entry("retry", "/r", backends=bes,
              session_persistence=sp(name="rs"),
              retry={"codes": [503], "attempts": 1, "backoff_ms": 1}),
    ])


@pytest.fixture(scope="module")
def backends():
    bs = [Backend(n) for n in NAMES]
    yield bs
    for b in bs:
        b.stop()


@pytest.fixture
def keyfile(tmp_path):
    p = tmp_path / "key"
    p.write_text("0123456789abcdef0123456789abcdef\n")
    return p


@pytest.fixture
def env(tmp_path, backends, keyfile):
    px = Proxy(tmp_path, build([b.port for b in backends]),
               extra=["--session-key-file", str(keyfile)])
    assert px.wait_log("route table loaded"), px.log()
    yield px
    px.stop()


def req(port, path, headers=()):
    st, h, body = http_get(port, path, headers=headers)
    assert st == 200, (st, body)
    return h, json.loads(body)["name"]


def cookie_of(h, name):
    c = h.get("set-cookie")
    assert c is not None and c.startswith(name + "="), h
    return c.split(";")[0].split("=", 1)[1], c


def flip(tok, i):
    """Tamper with byte i of the decoded value and re-encode it."""
    raw = bytearray(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)))
    raw[i] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def test_cookie_sticks_for_50_requests(env):
    h, first = req(env.http, "/s/x")
    tok, c = cookie_of(h, "sess")
    attrs = [a.strip() for a in c.split(";")[1:]]
    assert "Path=/s" in attrs and "HttpOnly" in attrs
    assert "SameSite=Lax" in attrs
    assert not [a for a in attrs if a.startswith(("Max-Age", "Expires"))]
    assert "Secure" not in attrs                # the visitor used http
    for i in range(50):
        h2, name = req(env.http, "/s/y%d" % i,
                       [("Cookie", "other=1; sess=%s; z=2" % tok)])
        assert name == first
        assert "set-cookie" not in h2


def test_cookie_secure_for_https_visitors(env):
    h, _ = req(env.http, "/s", [("X-Forwarded-Proto", "https")])
    _, c = cookie_of(h, "sess")
    assert "Secure" in [a.strip() for a in c.split(";")]


def test_all_backends_get_sessions(env):
    seen = set()
    for _ in range(60):
        h, name = req(env.http, "/s")
        cookie_of(h, "sess")
        seen.add(name)
    assert seen == set(NAMES)


def sticks(env, tok, name, n=10, cookie="sess", path="/s"):
    for _ in range(n):
        h, got = req(env.http, path, [("Cookie", "%s=%s" % (cookie, tok))])
        if got != name or "set-cookie" in h:
            return False
    return True


def test_tampered_cookie_gets_fresh_choice(env):
    h, first = req(env.http, "/s")
    tok, _ = cookie_of(h, "sess")
    n = len(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)))
    # every part: version, backend id, expiry, MAC
    for i in (0, 1, 5, 9, 16, 17, 30, n - 1):
        bad = flip(tok, i)
        names = set()
        for _ in range(12):
            h2, name = req(env.http, "/s", [("Cookie", "sess=" + bad)])
            new, _ = cookie_of(h2, "sess")      # a fresh, valid value
            assert new != bad
            names.add(name)
        assert len(names) > 1                   # weighted, not pinned
        assert sticks(env, new, name)
    for bad in ("", "x", "AAAA", tok[:-2], tok + "AA", "!" * len(tok)):
        h2, _ = req(env.http, "/s", [("Cookie", "sess=" + bad)])
        cookie_of(h2, "sess")


def test_value_from_another_key_rejected(env, tmp_path, backends, keyfile):
    h, first = req(env.http, "/s")
    tok, _ = cookie_of(h, "sess")
    other = tmp_path / "other"
    other.mkdir()
    k2 = tmp_path / "key2"
    k2.write_text("another key, also long enough\n")
    px2 = Proxy(other, build([b.port for b in backends]),
                extra=["--session-key-file", str(k2)])
    try:
        assert px2.wait_log("route table loaded")
        h2, _ = req(px2.http, "/s", [("Cookie", "sess=" + tok)])
        cookie_of(h2, "sess")
    finally:
        px2.stop()
    # a replica with the same key accepts it (replicas share sessions)
    same = tmp_path / "same"
    same.mkdir()
    px3 = Proxy(same, build([b.port for b in backends]),
                extra=["--session-key-file", str(keyfile)])
    try:
        assert px3.wait_log("route table loaded")
        for _ in range(10):
            h3, name = req(px3.http, "/s", [("Cookie", "sess=" + tok)])
            assert name == first and "set-cookie" not in h3
    finally:
        px3.stop()


def test_key_from_environment(tmp_path, backends, monkeypatch):
    monkeypatch.setenv("CFGW_SESSION_KEY", "environment-key-0123456789")
    a = tmp_path / "a"
    a.mkdir()
    b = tmp_path / "b"
    b.mkdir()
    p1 = Proxy(a, build([x.port for x in backends]))
    p2 = Proxy(b, build([x.port for x in backends]))
    try:
        assert p1.wait_log("route table loaded")
        assert p2.wait_log("route table loaded")
        assert "random session key" not in p1.log()
        h, first = req(p1.http, "/s")
        tok, _ = cookie_of(h, "sess")
        for _ in range(10):
            h2, name = req(p2.http, "/s", [("Cookie", "sess=" + tok)])
            assert name == first and "set-cookie" not in h2
    finally:
        p1.stop()
        p2.stop()


def test_random_key_warns(tmp_path, backends, monkeypatch):
    monkeypatch.delenv("CFGW_SESSION_KEY", raising=False)
    px = Proxy(tmp_path, build([x.port for x in backends]))
    try:
        assert px.wait_log("random session key")
        assert "replicas will not share" in px.log()
    finally:
        px.stop()


def test_short_key_file_refused(tmp_path, backends):
    k = tmp_path / "short"
    k.write_text("short\n")
    with pytest.raises(RuntimeError) as ei:
        Proxy(tmp_path, build([x.port for x in backends]),
              extra=["--session-key-file", str(k)])
    assert "at least 16 bytes" in str(ei.value)
    with pytest.raises(RuntimeError):
        Proxy(tmp_path, build([x.port for x in backends]),
              extra=["--session-key-file", str(tmp_path / "missing")])


def test_expiry(env):
    h, first = req(env.http, "/exp")
    tok, c = cookie_of(h, "ex")
    assert "Max-Age=1" in [a.strip() for a in c.split(";")]
    h2, name = req(env.http, "/exp", [("Cookie", "ex=" + tok)])
    assert name == first and "set-cookie" not in h2
    time.sleep(2.1)
    h3, _ = req(env.http, "/exp", [("Cookie", "ex=" + tok)])
    new, _ = cookie_of(h3, "ex")
    assert new != tok


def test_permanent_cookie(env):
    h, _ = req(env.http, "/perm")
    _, c = cookie_of(h, "pc")
    assert "Max-Age=3600" in [a.strip() for a in c.split(";")]
    assert "Path=/perm" in [a.strip() for a in c.split(";")]


def test_header_session(env):
    h, first = req(env.http, "/hdr")
    tok = h["x-sess"]
    assert "set-cookie" not in h
    for _ in range(50):
        h2, name = req(env.http, "/hdr", [("x-SESS", tok)])
        assert name == first and "x-sess" not in h2
    h3, n3 = req(env.http, "/hdr", [("X-Sess", flip(tok, 3))])
    new = h3["x-sess"]                          # a fresh session value
    assert new != flip(tok, 3)
    for _ in range(5):
        h5, name = req(env.http, "/hdr", [("X-Sess", new)])
        assert name == n3 and "x-sess" not in h5
    # the value is bound to the session name: a cookie's value from the
    # "sess" session is not a valid header session value
    hc, _ = req(env.http, "/s")
    ctok, _ = cookie_of(hc, "sess")
    h4, _ = req(env.http, "/hdr", [("X-Sess", ctok)])
    assert "x-sess" in h4


def test_weight_zero_abandoned(env, backends):
    h, first = req(env.http, "/s")
    tok, _ = cookie_of(h, "sess")
    weights = tuple(0 if n == first else 1 for n in NAMES)
    env.write(json.dumps(build([b.port for b in backends], weights))
              .replace('"t1"', '"t2"'))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if env.metrics().get("cfgw_proxy_table_reloads_total", 0) >= 2:
            break
        time.sleep(0.2)
    else:
        pytest.fail("table not reloaded")
    for _ in range(10):
        h2, name = req(env.http, "/s", [("Cookie", "sess=" + tok)])
        assert name != first
        new, _ = cookie_of(h2, "sess")
    assert sticks(env, new, name)


def test_retry_leaves_the_failed_session_backend(env):
    """A session held to a backend that answers 503: the retry goes to
    another backend and starts a new session there (the old pick kept
    the session's backend and failed again)."""
    h, first = req(env.http, "/r")
    tok, _ = cookie_of(h, "rs")
    for i in range(20):
        h2, name = req(env.http, "/r/%d" % i,
                       [("Cookie", "rs=%s" % tok),
                        ("x-echo-fail-name", first)])
        assert name != first
        tok2, _ = cookie_of(h2, "rs")
        assert tok2 != tok
        # the new value holds to the backend that answered
        _, again = req(env.http, "/r", [("Cookie", "rs=%s" % tok2)])
        assert again == name
