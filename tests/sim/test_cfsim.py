# SPDX-License-Identifier: Apache-2.0
"""cfsim core: CLI, envelope, auth, rate limit, faults, /_sim control API."""

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cfsim_testutil import (SEED, TOKEN, TOKEN2, ZONE, Client,  # noqa: E402
                            call, start)

HERE = os.path.dirname(os.path.abspath(__file__))
CFSIM = os.path.join(HERE, "cfsim.py")


@pytest.fixture
def sim():
    s = start()
    yield s
    s.stop()


@pytest.fixture
def api(sim):
    return Client(sim)


def _spawn(tmp_path, *extra):
    pf = tmp_path / "port"
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, CFSIM, "--listen", "127.0.0.1:0",
                          "--port-file", str(pf), "--seed", str(seed)] +
                         list(extra))
    while not pf.exists() or not pf.read_text().endswith("\n"):
        assert p.poll() is None, "cfsim exited early"
        assert time.monotonic() - t0 < 10
        time.sleep(0.01)
    return p, int(pf.read_text()), time.monotonic() - t0


def test_cli_port_file_startup_and_sigterm(tmp_path):
    log = tmp_path / "req.log"
    p, port, took = _spawn(tmp_path, "--log", str(log))
    try:
        assert took < 2.0, "startup took %.2fs" % took
        r = call("http://127.0.0.1:%d/client/v4/user/tokens/verify" % port)
        assert r.status == 200 and r.result["status"] == "active"
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert rec["path"] == "/user/tokens/verify" and rec["status"] == 200
    assert TOKEN not in lines[0]


def test_cli_refuses_non_loopback(tmp_path):
    r = subprocess.run([sys.executable, CFSIM, "--listen", "0.0.0.0:0",
                        "--port-file", str(tmp_path / "p")],
                       capture_output=True, timeout=10)
    assert r.returncode != 0
    assert not (tmp_path / "p").exists()


def test_module_url_and_envelope(sim, api):
    assert sim.url == "http://127.0.0.1:%d/client/v4" % sim.port
    r = api("GET", "/user/tokens/verify")
    assert r.status == 200
    assert set(r.json) >= {"success", "errors", "messages", "result"}
    assert r.json["success"] is True and r.json["errors"] == []
    assert r.headers["Content-Type"] == "application/json"
    r = api("GET", "/accounts/acc1/tokens/verify")
    assert r.status == 200 and r.result["status"] == "active"


def test_auth_errors(api):
    r = api("GET", "/zones", token="")
    assert r.status == 401 and r.codes == [10000]
    assert r.json["success"] is False and r.json["result"] is None
    assert r.json["errors"][0]["message"] == "Authentication error"
    r = api("GET", "/zones", token="nope")
    assert r.status == 403 and r.codes == [10000]
    r = api("GET", "/zones", token="tok-disabled")
    assert r.status == 403 and r.codes == [10000]
    r = api("GET", "/user/tokens/verify", token="nope")
    assert r.status == 401 and r.codes == [1000]
    r = api("GET", "/accounts/acc2/cfd_tunnel")
    assert r.status == 403 and r.codes == [10000]
    r = api("GET", "/accounts/acc2/tokens/verify")
    assert r.status == 403
    r = api("GET", "/zones", token=TOKEN2)
    assert [z["name"] for z in r.result] == ["other.org"]


def test_unknown_route_and_bad_json(api):
    r = api("GET", "/nope/thing")
    assert r.status == 400 and r.codes == [7003, 7000]
    r = api("POST", "/accounts/acc1/cfd_tunnel", raw=b"{not json")
    assert r.status == 400 and r.codes == [9207]
    r = api("POST", "/zones/%s/dns_records" % ZONE, raw=b"[1,")
    assert r.status == 400 and r.codes == [9207]


def test_keepalive_connection_reuse(sim):
    c = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    for i in range(3):
        body = json.dumps({"name": "ka%d" % i})
        c.request("POST", "/client/v4/accounts/acc1/cfd_tunnel", body,
                  {"Authorization": "Bearer " + TOKEN,
                   "Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 200
        assert json.loads(r.read())["result"]["name"] == "ka%d" % i
    c.close()


def test_keepalive_is_fast(sim):
    """100 requests on one connection: no Nagle/delayed-ACK stalls."""
    c = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    t0 = time.monotonic()
    for i in range(100):
        c.request("POST", "/client/v4/zones/%s/dns_records" % ZONE,
                  json.dumps({"type": "TXT", "name": "k%d" % i,
                              "content": "x"}),
                  {"Authorization": "Bearer " + TOKEN})
        r = c.getresponse()
        r.read()
        assert r.status == 200
    took = time.monotonic() - t0
    c.close()
    assert took < 2.0, "100 keep-alive requests took %.2fs" % took


def test_ratelimit_headers(api):
    r1 = api("GET", "/zones")
    r2 = api("GET", "/zones")
    assert r1.headers["Ratelimit"] == '"default";r=1199;t=300'
    assert r2.headers["Ratelimit"].startswith('"default";r=1198;t=')
    assert r2.headers["Ratelimit-Policy"] == '"burst";q=1200;w=300'
    assert "retry-after" not in r2.headers
    r3 = api("GET", "/zones", token=TOKEN2)
    assert r3.headers["Ratelimit"].startswith('"default";r=1199;')


def test_ratelimit_429_blocks_whole_window():
    s = start(rate_limit=3, window=2)
    try:
        api = Client(s)
        for _ in range(3):
            assert api("GET", "/zones").status == 200
        r = api("GET", "/zones")
        assert r.status == 429 and r.codes == [10100]
        assert r.json["errors"][0]["message"] == \
            "More than 3 requests per 2 seconds reached"
        assert int(r.headers["retry-after"]) >= 1
        assert r.headers["Ratelimit"].startswith('"default";r=0;')
        assert api("GET", "/zones", token=TOKEN2).status == 200
        time.sleep(1.2)
        # the first requests left the window, but the block lasts a window
        assert api("GET", "/zones").status == 429
        time.sleep(1.0)
        assert api("GET", "/zones").status == 200
        log = s.requests()
        assert [x["over_limit"] for x in log] == \
            [False] * 3 + [True, False, True, False]
    finally:
        s.stop()


def test_ratelimit_set_via_sim_api(api):
    r = api.simctl("POST", "/_sim/limits", {"limit": 1, "window": 60})
    assert r.status == 200 and r.json["limit"] == 1
    assert api("GET", "/zones").status == 200
    r = api("GET", "/zones")
    assert r.status == 429
    assert r.headers["Ratelimit-Policy"] == '"burst";q=1;w=60'


def test_fault_rules_and_counts(sim, api):
    r = api.simctl("POST", "/_sim/faults", {"rules": [
        {"method": "POST", "path_regex": "/cfd_tunnel$", "status": 500,
         "count": 2, "code": 10001, "message": "boom"}]})
    assert r.status == 200
    for _ in range(2):
        r = api("POST", "/accounts/acc1/cfd_tunnel", {"name": "f"})
        assert r.status == 500 and r.codes == [10001]
        assert r.json["errors"][0]["message"] == "boom"
    assert sim.state()["tunnels"] == []
    r = api("POST", "/accounts/acc1/cfd_tunnel", {"name": "f"})
    assert r.status == 200
    log = sim.requests()
    assert [x["fault"] is not None for x in log] == [True, True, False]


def test_fault_raw_body_429_and_after_commit(sim, api):
    api.simctl("POST", "/_sim/faults", {"rules": [
        {"path_regex": "^/zones$", "status": 502, "count": 1,
         "raw": "<html>bad gateway</html>"},
        {"path_regex": "/dns_records$", "method": "POST", "status": 504,
         "count": 1, "after_commit": True},
        {"path_regex": "/tokens/verify", "status": 429, "retry_after": 7,
         "count": 1}]})
    r = api("GET", "/zones")
    assert r.status == 502 and r.raw == b"<html>bad gateway</html>"
    assert r.headers["Content-Type"].startswith("text/html")
    r = api("POST", "/zones/%s/dns_records" % ZONE,
            {"type": "A", "name": "lost", "content": "192.0.2.1"})
    assert r.status == 504
    names = [x["name"] for z in sim.state()["zones"] for x in z["records"]]
    assert "lost.example.com" in names
    r = api("GET", "/user/tokens/verify")
    assert r.status == 429 and r.headers["retry-after"] == "7"
    assert r.codes == [10100]
    assert api("GET", "/user/tokens/verify").status == 200


def test_random_faults_are_seeded():
    def run():
        s = start()
        try:
            s.set_faults({"seed": 42, "error_rate": 0.3, "rate_429": 0.1,
                          "error_status": 503, "retry_after": 2})
            api = Client(s)
            return [api("GET", "/zones").status for _ in range(40)]
        finally:
            s.stop()
    a, b = run(), run()
    assert a == b
    assert 200 in a and 503 in a and 429 in a


def test_latency_fault(api):
    api.simctl("POST", "/_sim/faults", {"latency_ms": 150})
    t0 = time.monotonic()
    assert api("GET", "/zones").status == 200
    assert time.monotonic() - t0 >= 0.14
    assert api.simctl("DELETE", "/_sim/faults").status == 200
    assert api.simctl("GET", "/_sim/faults").json == {}


def test_request_log_fields(sim, api):
    api("POST", "/accounts/acc1/cfd_tunnel?x=1&x=2", {"name": "logme"})
    api("GET", "/zones?name=example.com", token="")
    log = api.simctl("GET", "/_sim/requests").json
    assert len(log) == 2
    a, b = log
    assert a["method"] == "POST" and a["path"] == "/accounts/acc1/cfd_tunnel"
    assert a["query"] == {"x": ["1", "2"]}
    assert a["body"] == {"name": "logme"} and a["status"] == 200
    assert len(a["token_hash"]) == 64 and a["user_agent"] == "cfsim-test/1"
    assert a["validation"] is None and a["over_limit"] is False
    assert b["token_hash"] is None and b["status"] == 401
    assert b["query"] == {"name": "example.com"}
    assert TOKEN not in json.dumps(log)
    since = api.simctl("GET", "/_sim/requests?since=%d" % a["seq"]).json
    assert [x["seq"] for x in since] == [b["seq"]]
    assert api.simctl("DELETE", "/_sim/requests").status == 200
    assert sim.requests() == []


def test_sim_seed_reset_state(sim, api):
    r = api.simctl("POST", "/_sim/seed", {
        "accounts": [{"id": "acc9"}],
        "tokens": [{"token": "t9", "account": "acc9"}],
        "zones": [{"name": "nine.test", "account": "acc9",
                   "records": [{"type": "TXT", "name": "@",
                                "content": "hello"}]}],
        "tunnels": [{"name": "pre", "account": "acc9",
                     "tunnel_secret": base64.b64encode(b"k" * 32).decode()}]})
    assert r.status == 200
    r = api("GET", "/zones", token="t9")
    assert [z["name"] for z in r.result] == ["nine.test"]
    r = api("GET", "/accounts/acc9/cfd_tunnel", token="t9")
    assert [t["name"] for t in r.result] == ["pre"]
    st = api.simctl("GET", "/_sim/state").json
    z = [z for z in st["zones"] if z["name"] == "nine.test"][0]
    assert z["records"][0]["name"] == "nine.test"
    tun = st["tunnels"][0]
    assert len(tun["secret_sha256"]) == 64 and "secret" not in tun
    assert tun["configuration"] == {"version": 0, "config": None}
    assert all(len(t["token_hash"]) == 64 for t in st["tokens"])
    assert api.simctl("POST", "/_sim/reset", {}).status == 200
    st = sim.state()
    assert st["tunnels"] == [] and "acc9" not in [a["id"] for a in
                                                 st["accounts"]]
    assert "acc1" in [a["id"] for a in st["accounts"]]
    api.simctl("POST", "/_sim/reset", {"empty": True})
    assert sim.state()["accounts"] == []
    assert api.simctl("POST", "/_sim/seed", {"zones": [{"name": "x"}]}) \
        .status == 400
    assert api.simctl("GET", "/_sim/nothing").status == 404


def test_chunked_body_and_expect_100(sim):
    c = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    body = [b'{"name": ', b'"chunky"}']
    c.request("POST", "/client/v4/accounts/acc1/cfd_tunnel", iter(body),
              {"Authorization": "Bearer " + TOKEN,
               "Content-Type": "application/json"}, encode_chunked=True)
    r = c.getresponse()
    assert r.status == 200 and json.loads(r.read())["result"]["name"] == \
        "chunky"
    c.close()
    import socket
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=10)
    data = b'{"name": "expecting"}'
    s.sendall(b"POST /client/v4/accounts/acc1/cfd_tunnel HTTP/1.1\r\n"
              b"Host: x\r\nAuthorization: Bearer " + TOKEN.encode() +
              b"\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n"
              % len(data))
    first = s.recv(100)
    assert first.startswith(b"HTTP/1.1 100")
    s.sendall(data)
    buf = b""
    while b'"expecting"' not in buf:
        chunk = s.recv(65536)
        assert chunk
        buf += chunk
    assert b"HTTP/1.1 200" in buf
    s.close()


def test_sim_api_bad_bodies(api):
    assert api.simctl("POST", "/_sim/seed", [1]).status == 400
    assert api.simctl("POST", "/_sim/limits", {}).status == 400
    r = call(api.sim.base + "/_sim/faults", "POST", raw=b"{x", token=None)
    assert r.status == 400
    for bad in ({"rules": [{"path_regex": "("}]},
                {"rules": [{"count": "many"}]}, {"error_rate": "lots"},
                {"rules": "x"}):
        assert api.simctl("POST", "/_sim/faults", bad).status == 400, bad
    assert api("GET", "/zones").status == 200
