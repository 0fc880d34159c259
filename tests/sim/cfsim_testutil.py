# SPDX-License-Identifier: Apache-2.0
"""Small HTTP helpers for the cfsim tests (stdlib only)."""

import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cfsim import CFSim  # noqa: E402

TOKEN = "tok-acc1-secret"
TOKEN2 = "tok-acc2-secret"

SEED = {
    "accounts": [{"id": "acc1", "name": "Acme"},
                 {"id": "acc2", "name": "Other"}],
    "tokens": [{"token": TOKEN, "account": "acc1"},
               {"token": TOKEN2, "account": "acc2"},
               {"token": "tok-disabled", "account": "acc1",
                "status": "disabled"}],
    "zones": [{"id": "0123456789abcdef0123456789abcdef",
               "name": "example.com", "account": "acc1"},
              {"id": "fedcba9876543210fedcba9876543210",
               "name": "example.net", "account": "acc1", "plan": "pro"},
              {"id": "11111111111111111111111111111111",
               "name": "other.org", "account": "acc2"}],
}
ZONE = "0123456789abcdef0123456789abcdef"
ZONE_PRO = "fedcba9876543210fedcba9876543210"
ZONE_OTHER = "11111111111111111111111111111111"


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body.decode()) if body else None
        except ValueError:
            self.json = None

    @property
    def result(self):
        return self.json["result"]

    @property
    def codes(self):
        return [e["code"] for e in self.json["errors"]]

    def __repr__(self):
        return "<Resp %d %s>" % (self.status, self.raw[:300])


def call(url, method="GET", body=None, token=TOKEN, raw=None,
         headers=None):
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    req.add_header("User-Agent", "cfsim-test/1")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return Resp(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Resp(e.code, e.headers, e.read())


class Client:
    def __init__(self, sim, token=TOKEN):
        self.sim = sim
        self.token = token

    def __call__(self, method, path, body=None, token=None, **kw):
        return call(self.sim.url + path, method, body,
                    token=self.token if token is None else token, **kw)

    def simctl(self, method, path, body=None):
        return call(self.sim.base + path, method, body, token=None)


def start(**kw):
    kw.setdefault("seed", SEED)
    return CFSim(**kw).start()
