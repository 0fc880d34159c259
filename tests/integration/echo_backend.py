# SPDX-License-Identifier: Apache-2.0
"""Echo backend for the cfgw-proxy tests.

Speaks HTTP/1.1 (keep-alive, Content-Length and chunked bodies), h2c (prior
knowledge, via python3-h2) and WebSocket (RFC 6455 echo).  Every answer is
JSON describing what arrived: method, path, query, host, headers, body
length, and the backend's own name.  Request headers select test modes:

  x-echo-status: NNN      answer with that status
  x-echo-fail-name: NAME  answer 503 if this backend is NAME
  x-echo-mode: stall      never read the body nor answer
  x-echo-mode: slow       answer after one second
  x-echo-mode: fail       close the connection without answering
  x-echo-mode: close      answer, then close (Connection: close)
  x-echo-body: N          answer with N bytes (chunked) instead of JSON
  x-echo-eof-body: N      answer N bytes delimited by closing the connection

GET /_echo/log returns the recent HTTP/1 requests [method, target, body
length, host] (for mirroring tests).

Run: echo_backend.py [NAME | --name NAME] [--port P | --listen 127.0.0.1:P]
[--reuseport]; prints "PORT <p>" when listening.
"""
import base64
import hashlib
import json
import socket
import sys
import threading
import time
import urllib.parse

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
LOG = []          # (method, target, body length, host) of recent requests
LOG_LOCK = threading.Lock()
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B85"


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def readline(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise EOFError
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d


def describe(name, method, target, headers, body_len, proto):
    u = urllib.parse.urlsplit(target)
    hdrs = {}
    for k, v in headers:
        hdrs.setdefault(k.lower(), []).append(v)
    return {
        "name": name, "proto": proto, "method": method, "path": u.path,
        "query": u.query, "target": target,
        "host": hdrs.get("host", hdrs.get(":authority", [""]))[0],
        "headers": {k: ",".join(v) for k, v in hdrs.items()},
        "header_list": [[k.lower(), v] for k, v in headers],
        "body_len": body_len,
    }


def ws_session(c):
    while True:
        b0, b1 = c.read(2)
        op = b0 & 0x0F
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(c.read(2), "big")
        elif n == 127:
            n = int.from_bytes(c.read(8), "big")
        mask = c.read(4) if b1 & 0x80 else b"\0\0\0\0"
        data = bytes(x ^ mask[i % 4] for i, x in enumerate(c.read(n)))
        if op == 8:
            c.sock.sendall(b"\x88\x00")
            return
        hdr = bytes([0x80 | op])
        if len(data) < 126:
            hdr += bytes([len(data)])
        else:
            hdr += bytes([126]) + len(data).to_bytes(2, "big")
        c.sock.sendall(hdr + data)


def handle_h1(name, c):
    while True:
        try:
            line = c.readline()
        except EOFError:
            return
        if not line:
            continue
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers = []
        while True:
            h = c.readline()
            if not h:
                break
            k, v = h.decode("latin-1").split(":", 1)
            headers.append((k.strip(), v.strip()))
        hd = {k.lower(): v for k, v in headers}
        if hd.get("x-echo-mode") == "stall":
            threading.Event().wait(3600)     # before reading any body
        body = 0
        if "chunked" in hd.get("transfer-encoding", "").lower():
            while True:
                size = int(c.readline().split(b";")[0], 16)
                if size == 0:
                    while c.readline():
                        pass
                    break
                body += len(c.read(size))
                c.read(2)
        elif "content-length" in hd:
            body = len(c.read(int(hd["content-length"])))
        if target == "/_echo/log":
            with LOG_LOCK:
                out = json.dumps(LOG).encode()
            c.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
                           % len(out) + out)
            return
        with LOG_LOCK:
            LOG.append([method, target, body, hd.get("host", "")])
            del LOG[:-200]
        mode = hd.get("x-echo-mode", "")
        if mode == "slow":
            time.sleep(1)
        if mode == "fail":
            return
        if hd.get("upgrade", "").lower() == "websocket":
            key = hd.get("sec-websocket-key", "").encode()
            acc = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
            c.sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                           b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           b"Sec-WebSocket-Accept: " + acc + b"\r\n"
                           b"X-Backend: " + name.encode() + b"\r\n\r\n")
            ws_session(c)
            return
        status = int(hd.get("x-echo-status", "200"))
        if hd.get("x-echo-fail-name") == name:
            status = 503
        close = mode == "close" or hd.get("connection", "") == "close"
        extra = "Connection: close\r\n" if close else ""
        if "x-echo-eof-body" in hd:
            n = int(hd["x-echo-eof-body"])
            c.sock.sendall(("HTTP/1.1 %d X\r\nConnection: close\r\n"
                            "X-Backend: %s\r\n\r\n" % (status, name))
                           .encode() + b"e" * n)
            return
        if "x-echo-body" in hd:
            n = int(hd["x-echo-body"])
            c.sock.sendall(("HTTP/1.1 %d X\r\nTransfer-Encoding: chunked"
                            "\r\nX-Backend: %s\r\n%s\r\n" %
                            (status, name, extra)).encode())
            left = n
            while left:
                k = min(left, 65536)
                c.sock.sendall(b"%x\r\n" % k + b"b" * k + b"\r\n")
                left -= k
            c.sock.sendall(b"0\r\n\r\n")
        else:
            out = json.dumps(describe(name, method, target, headers, body,
                                      "http/1.1")).encode()
            c.sock.sendall(("HTTP/1.1 %d X\r\nContent-Type: "
                            "application/json\r\nContent-Length: %d\r\n"
                            "X-Backend: %s\r\n%s\r\n" %
                            (status, len(out), name, extra)).encode()
                           + (b"" if method == "HEAD" else out))
        if close:
            return


def handle_h2(name, c):
    import h2.config
    import h2.connection
    import h2.events
    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    d = c.buf
    c.buf = b""
    streams = {}
    pending = []
    while True:
        for ev in conn.receive_data(d):
            if isinstance(ev, h2.events.RequestReceived):
                streams[ev.stream_id] = {
                    "headers": [(k.decode() if isinstance(k, bytes) else k,
                                 v.decode() if isinstance(v, bytes) else v)
                                for k, v in ev.headers], "body": 0}
            elif isinstance(ev, h2.events.DataReceived):
                streams[ev.stream_id]["body"] += len(ev.data)
                conn.acknowledge_received_data(ev.flow_controlled_length,
                                               ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                pending.append(ev.stream_id)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                return
        data = conn.data_to_send()
        if data:
            c.sock.sendall(data)
        for sid in pending:
            st = streams.pop(sid)
            hd = dict(st["headers"])
            out = json.dumps(describe(
                name, hd.get(":method"), hd.get(":path"), st["headers"],
                st["body"], "h2c")).encode()
            status = hd.get("x-echo-status", "200")
            conn.send_headers(sid, [(":status", status),
                                    ("content-type", "application/json"),
                                    ("x-backend", name)])
            conn.send_data(sid, out, end_stream=True)
        pending = []
        data = conn.data_to_send()
        if data:
            c.sock.sendall(data)
        d = c.sock.recv(65536)
        if not d:
            return


def serve_conn(name, sock):
    c = Conn(sock)
    try:
        while len(c.buf) < len(H2_PREFACE) and \
                H2_PREFACE.startswith(c.buf):
            c.fill()
        if c.buf.startswith(H2_PREFACE):
            handle_h2(name, c)
        else:
            handle_h1(name, c)
    except (EOFError, OSError, ValueError):
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    name = "echo"
    host, port = "127.0.0.1", 0
    reuse = False
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "--port":
            port = int(args.pop(0))
        elif a == "--listen":
            host, _, p = args.pop(0).rpartition(":")
            port = int(p)
        elif a == "--name":
            name = args.pop(0)
        elif a == "--reuseport":
            reuse = True
        elif not a.startswith("-"):
            name = a
        else:
            sys.exit("echo_backend: unknown option " + a)
    if host not in ("127.0.0.1", "localhost"):
        sys.exit("echo_backend: listens on 127.0.0.1 only")
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(128)
    print("PORT %d" % ls.getsockname()[1], flush=True)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve_conn, args=(name, s),
                         daemon=True).start()


if __name__ == "__main__":
    main()
