# SPDX-License-Identifier: Apache-2.0
"""IPC authentication against the real cfapi binary: only the peers of its
edge table (reconciler, dnsworker, rotator) get an answer.  A client with
the watcher's key, with a key nobody knows, or with no CURVE at all gets
nothing; a frame that claims another sender than its key is dropped."""
import zmq

import harness
from fakesup import MSG, PROC, FakeSup, header

import pytest


@pytest.fixture
def sup(tmp_path):
    s = FakeSup(tmp_path, config={
        "cloudflare_api_url": "http://127.0.0.1:9/client/v4",
        "kubeconfig": str(harness.write_kubeconfig(
            tmp_path / "kubeconfig", "http://127.0.0.1:9"))})
    s.start("cfapi")
    yield s
    s.stop()


def ask(sock, sender="reconciler"):
    """Send one CF_REQUEST; True if anything at all comes back in 1.5 s."""
    body = b'{"op":"zone.list","cred":{"namespace":"a","name":"b"}}'
    sock.send_multipart([header(MSG["CF_REQUEST"], PROC[sender], 7,
                                len(body)), body])
    return bool(sock.poll(1500))


def dealer(sup, public=None, secret=None):
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if public is not None:
        s.curve_publickey = public.encode()
        s.curve_secretkey = secret.encode()
        s.curve_serverkey = sup.keys["cfapi"][0].encode()
    s.connect(f"ipc://{sup.runtime}/cfapi.sock")
    return s


def test_reconciler_is_answered(sup):
    s = dealer(sup, *sup.keys["reconciler"])
    try:
        assert ask(s), "the reconciler's request went unanswered"
    finally:
        s.close(0)


@pytest.mark.parametrize("who", ["watcher", "stranger", "plain"])
def test_others_get_nothing(sup, who):
    if who == "watcher":
        s = dealer(sup, *sup.keys["watcher"])
    elif who == "stranger":
        pub, sec = zmq.curve_keypair()
        s = dealer(sup, pub.decode(), sec.decode())
    else:
        s = dealer(sup)
    try:
        assert not ask(s, sender="watcher" if who == "watcher"
                       else "reconciler"), f"{who} got an answer"
    finally:
        s.close(0)
    # cfapi is still there and still serves its real peers.
    ok = dealer(sup, *sup.keys["dnsworker"])
    try:
        assert ask(ok, sender="dnsworker")
    finally:
        ok.close(0)
    assert sup.workers["cfapi"].proc.poll() is None


def test_spoofed_sender_is_dropped(sup):
    """The dnsworker's key, but a header claiming to be the reconciler."""
    s = dealer(sup, *sup.keys["dnsworker"])
    try:
        assert not ask(s, sender="reconciler")
    finally:
        s.close(0)
