# SPDX-License-Identifier: Apache-2.0
"""gRPC end to end through cfgw-proxy (python3-grpcio client and server):
unary, server streaming, bidi streaming, error status with trailing
metadata, UNIMPLEMENTED for an unrouted service, UNAVAILABLE for a dead
backend; over h2c prior knowledge and over TLS with ALPN h2.  Also an
HTTP/1.1 client reaching an h2c (appProtocol kubernetes.io/h2c) backend."""
import json
import socket
import ssl
from concurrent import futures

import pytest

from test_proxy_lib import Backend, Proxy, echo, load_table

grpc = pytest.importorskip("grpc")


def _unary(req, ctx):
    md = dict(ctx.invocation_metadata())
    if req == b"fail":
        ctx.set_trailing_metadata((("x-detail", "abc"),))
        ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad request")
    return b"echo:" + req + b":" + md.get("x-test", "").encode() + \
        b":" + md.get("x-forwarded-proto", "").encode()


def _stream(req, ctx):
    for i in range(int(req)):
        yield b"msg%d" % i


def _bidi(it, ctx):
    for m in it:
        yield m.upper()


def start_grpc_server():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    h = grpc.method_handlers_generic_handler("test.Echo", {
        "Unary": grpc.unary_unary_rpc_method_handler(_unary),
        "Stream": grpc.unary_stream_rpc_method_handler(_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(_bidi),
    })
    h2 = grpc.method_handlers_generic_handler("test.Regex", {
        "Unary": grpc.unary_unary_rpc_method_handler(_unary),
    })
    server.add_generic_rpc_handlers((h, h2))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    server, port = start_grpc_server()
    e = Backend("h2echo")
    px = None
    try:
        table = load_table("grpc.json", PORT_GRPC=port, PORT_ECHO=e.port,
                           PORT_DOWN=closed_port())
        px = Proxy(tmp_path_factory.mktemp("px"), table)
        assert px.wait_log("route table loaded"), px.log()
        yield px
    finally:
        if px:
            px.stop()
        e.stop()
        server.stop(0)


OPTS = [("grpc.default_authority", "grpc.example.com")]


@pytest.fixture(params=["h2c", "tls"])
def channel(env, request):
    if request.param == "h2c":
        ch = grpc.insecure_channel("127.0.0.1:%d" % env.http, options=OPTS)
    else:
        pem = ssl.get_server_certificate(("127.0.0.1", env.https))
        creds = grpc.ssl_channel_credentials(root_certificates=pem.encode())
        ch = grpc.secure_channel(
            "127.0.0.1:%d" % env.https, creds,
            options=OPTS + [("grpc.ssl_target_name_override", "localhost")])
    yield ch
    ch.close()


def test_unary(channel):
    call = channel.unary_unary("/test.Echo/Unary")
    out = call(b"hi", metadata=(("x-test", "v1"),), timeout=10)
    assert out in (b"echo:hi:v1:http", b"echo:hi:v1:https")


def test_regex_method(channel):
    assert channel.unary_unary("/test.Regex/Unary")(b"r", timeout=10) \
        .startswith(b"echo:r")


def test_server_streaming(channel):
    call = channel.unary_stream("/test.Echo/Stream")
    assert list(call(b"50", timeout=10)) == [b"msg%d" % i
                                             for i in range(50)]


def test_bidi(channel):
    call = channel.stream_stream("/test.Echo/Bidi")
    msgs = [b"a" * 10, b"b" * 70000, b"c"]
    assert list(call(iter(msgs), timeout=10)) == [m.upper() for m in msgs]


def test_error_status_and_trailers(channel):
    call = channel.unary_unary("/test.Echo/Unary")
    with pytest.raises(grpc.RpcError) as ei:
        call(b"fail", timeout=10)
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert ei.value.details() == "bad request"
    assert ("x-detail", "abc") in tuple(ei.value.trailing_metadata())


def test_unimplemented(channel):
    for path in ("/test.Nope/Unary", "/test.Regex/Other"):
        with pytest.raises(grpc.RpcError) as ei:
            channel.unary_unary(path)(b"x", timeout=10)
        assert ei.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_unavailable(channel):
    for path in ("/test.Down/Unary", "/test.Invalid/Unary"):
        with pytest.raises(grpc.RpcError) as ei:
            channel.unary_unary(path)(b"x", timeout=10)
        assert ei.value.code() == grpc.StatusCode.UNAVAILABLE


def test_unknown_host_unimplemented(env):
    ch = grpc.insecure_channel("127.0.0.1:%d" % env.http, options=[
        ("grpc.default_authority", "other.example.com")])
    with pytest.raises(grpc.RpcError) as ei:
        ch.unary_unary("/test.Echo/Unary")(b"x", timeout=10)
    ch.close()
    assert ei.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_http1_client_to_h2c_backend(env):
    st, h, body = echo(env.http, "/h2c/x?y=1", host="grpc.example.com",
                       method="POST", body=b"12345")
    assert st == 200
    assert body["proto"] == "h2c"
    assert body["path"] == "/h2c/x" and body["query"] == "y=1"
    assert body["body_len"] == 5
    assert body["headers"][":authority"] == "grpc.example.com"


def test_large_upload_to_h2c_backend(env):
    import socket as so
    from test_proxy_lib import parse_responses
    n = 2 << 20
    s = so.create_connection(("127.0.0.1", env.http), timeout=20)
    s.sendall(b"POST /h2c/up HTTP/1.1\r\nHost: grpc.example.com\r\n"
              b"Connection: close\r\nContent-Length: %d\r\n\r\n" % n)
    chunk = b"z" * 65536
    for _ in range(n // len(chunk)):
        s.sendall(chunk)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    r = parse_responses(out)
    assert r[0][0] == 200
    assert json.loads(r[0][2])["body_len"] == n
