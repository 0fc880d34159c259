# SPDX-License-Identifier: Apache-2.0
"""rotator + cfapi (both real): scheduled, requested and signalled token
rotation, with the reconciler played by a test DEALER."""
import base64
import hashlib
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

zmq = pytest.importorskip("zmq")
from fakesup import MSG  # noqa: E402
from test_cfapi import CRED, Env  # noqa: E402


def now_rfc3339(offset=0):
    return datetime.fromtimestamp(time.time() + offset, timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")


class RotEnv(Env):
    def __init__(self, tmp_path):
        super().__init__(tmp_path)
        self.start()
        self.sup.start("rotator")
        self.rot = self.sup.client("reconciler", "rotator")
        self.tunnels = {}
        for gw in ("web", "api"):
            t = self.ok("tunnel.ensure", name=f"rot-{gw}")
            self.ok("tunnel.token_secret", id=t["id"],
                    secret={"namespace": "apps", "name": f"gateway-{gw}"})
            self.tunnels[gw] = t["id"]

    def entry(self, gw, **kw):
        e = {"gateway": f"apps/{gw}", "cred": CRED,
             "tunnel_id": self.tunnels[gw],
             "secret": {"namespace": "apps", "name": f"gateway-{gw}"},
             "owner": {"apiVersion": "gateway.networking.k8s.io/v1",
                       "kind": "Gateway", "name": gw, "uid": "u-" + gw},
             "labels": {"app.kubernetes.io/managed-by": "cfgw"},
             "enabled": True, "cron": "0 18 * * 4",
             "tz": "America/Los_Angeles",
             "last_rotated_at": now_rfc3339()}
        e.update(kw)
        return e

    def schedule(self, *entries):
        self.rot.send(MSG["ROTATE_SCHEDULE"], {"gateways": list(entries)})

    def rotated(self, timeout=15):
        typ, _, body = self.rot.recv(timeout)
        assert typ == MSG["ROTATED"]
        return body

    def no_message(self, secs):
        with pytest.raises(TimeoutError):
            self.rot.recv(secs)

    def secret_hash(self, gw):
        s = self.kube.get("Secret", f"gateway-{gw}", "apps")
        return hashlib.sha256(base64.b64decode(
            s["data"]["TUNNEL_TOKEN"])).hexdigest()


@pytest.fixture
def renv(tmp_path):
    e = RotEnv(tmp_path)
    yield e
    e.stop()


def test_missed_trigger_rotates_once(renv):
    before = renv.secret_hash("web")
    renv.schedule(renv.entry("web", last_rotated_at="2020-01-01T00:00:00Z"),
                  renv.entry("api"))
    r = renv.rotated()
    assert r["gateway"] == "apps/web"
    assert r["token_hash"] != before
    assert r["token_hash"] == renv.secret_hash("web")
    sim_t = [t for t in renv.cf.state()["tunnels"]
             if t["id"] == renv.tunnels["web"]][0]
    assert sim_t["token_sha256"] == r["token_hash"]
    assert abs(datetime.strptime(r["rotated_at"], "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=timezone.utc).timestamp() - time.time()) < 30
    # Rotated once, and api (rotated just now) not at all.
    renv.no_message(2.5)
    # The reconciler re-sends the schedule with the old status: our own
    # record of the rotation wins, so no second rotation.
    renv.schedule(renv.entry("web", last_rotated_at="2020-01-01T00:00:00Z"),
                  renv.entry("api"))
    renv.no_message(2)


def test_request_and_rotate_now(renv):
    renv.schedule(renv.entry("web"), renv.entry("api", enabled=False))
    renv.no_message(1.5)
    before = renv.secret_hash("api")
    renv.rot.send(MSG["ROTATE_REQUEST"], {"gateway": "apps/api"})
    r = renv.rotated()
    assert r["gateway"] == "apps/api" and r["token_hash"] != before
    assert renv.secret_hash("api") == r["token_hash"]

    renv.rot.send(MSG["ROTATE_REQUEST"], {"gateway": "apps/nope"})
    r = renv.rotated()
    assert r["gateway"] == "apps/nope" and "error" in r

    renv.sup.workers["rotator"].send(MSG["ROTATE_NOW"], {})
    got = {renv.rotated()["gateway"], renv.rotated()["gateway"]}
    assert got == {"apps/web", "apps/api"}


def test_invalid_schedule_reported(renv):
    renv.schedule(renv.entry("web", cron="61 * * * *"))
    r = renv.rotated()
    assert r["gateway"] == "apps/web"
    assert "invalid rotation schedule" in r["error"]
    renv.schedule(renv.entry("web", cron="0 18 * * 4", tz="Mars/Base"))
    renv.no_message(1)       # same failure state: reported once
    renv.schedule(renv.entry("web", last_rotated_at="2020-01-01T00:00:00Z"))
    assert renv.rotated()["token_hash"]


def test_rotation_failure_reported(renv):
    renv.cf.faults({"rules": [{"method": "PATCH",
                               "path_regex": "/cfd_tunnel/",
                               "status": 403, "code": 10000,
                               "message": "Authentication error"}]})
    renv.schedule(renv.entry("web", last_rotated_at="2020-01-01T00:00:00Z"))
    r = renv.rotated()
    assert r["gateway"] == "apps/web" and "auth" in r["error"]
    renv.no_message(2)       # backing off, not hammering
