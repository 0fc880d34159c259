#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""cfgw-proxy versus nginx as a reverse proxy, on this machine.

Both proxies run at the same time in front of the same backends, all on
127.0.0.1 ephemeral ports, and are measured in turn (A, B, B, A, ...):

  http  wrk, HTTP/1.1 keep-alive, --conns connections (default 64), to an
        nginx backend that answers a 23-byte body; nginx the proxy uses
        proxy_pass to an upstream with keepalive, HTTP/1.1,
        Connection "", Host / X-Forwarded-For / X-Forwarded-Proto like
        cfgw-proxy, and the same upstream reuse bounds (100 requests,
        10 s) as cfgw-proxy's defaults.
        When haproxy is installed it is a second peer for HTTP/1.1 (same
        headers, server-side reuse with max-reuse 100); the host's TCP
        segments per request (/proc/net/snmp) are printed for each.
  grpc  h2load, gRPC unary (POST, application/grpc, te: trailers) over
        h2c prior knowledge, to bench/grpc_backend.c (an nghttp2 h2c
        server answering every call with one message and grpc-status 0);
        nginx uses grpc_pass with upstream keepalive.
  idle  --idle client connections (default 10,000) each send one request,
        read the answer and stay open (idle keep-alive); the proxies' RSS
        (all processes) is read before and 2.5 s after (cfgw-proxy parks
        connections idle for 1 s), peak RSS (VmHWM) too.  nginx gets
        worker_connections = idle + 1000 per worker, allocated at start.

Medians over --rounds rounds; every figure is printed with the ratio
cfgw/nginx.  nginx runs --workers worker processes, cfgw-proxy the same
number of threads (default: online CPUs).  Stops by itself, cleans up.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "app.example.com"
GHOST = "grpc.example.com"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("process %s exited (%d)" % (proc.args[0],
                               proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, args, log):
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def nginx_conf(d, body):
    return """daemon off;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
%(body)s
""" % {"d": d, "body": body}


def nginx_http_common(d):
    return """access_log off;
	client_body_temp_path %(d)s/t;
	proxy_temp_path %(d)s/t;
	fastcgi_temp_path %(d)s/t;
	uwsgi_temp_path %(d)s/t;
	scgi_temp_path %(d)s/t;
	keepalive_requests 100000;
	keepalive_timeout 60s;""" % {"d": d}


def backend_conf(d, port):
    return nginx_conf(d, """worker_processes 1;
events { worker_connections 4096; }
http {
	%s
	server {
		listen 127.0.0.1:%d backlog=4096;
		location / { return 200 "hello from the backend\\n"; }
	}
}""" % (nginx_http_common(d), port))


def proxy_conf(d, workers, hport, gport, bport, gbport, wconns):
    return nginx_conf(d, """worker_processes %(w)d;
worker_rlimit_nofile %(wc)d;
events { worker_connections %(wc)d; }
http {
	%(common)s
	upstream web {
		server 127.0.0.1:%(b)d;
		keepalive 64;
		keepalive_requests 100;
		keepalive_time 10s;
	}
	upstream grpcb {
		server 127.0.0.1:%(gb)d;
		keepalive 64;
		keepalive_requests 100;
		keepalive_time 10s;
	}
	server {
		listen 127.0.0.1:%(h)d backlog=4096;
		server_name %(host)s;
		location / {
			proxy_pass http://web;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $http_host;
			proxy_set_header X-Forwarded-For
			    $proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto $scheme;
		}
	}
	server {
		listen 127.0.0.1:%(g)d http2 backlog=4096;
		server_name %(ghost)s;
		location / {
			grpc_pass grpc://grpcb;
			grpc_set_header X-Forwarded-For
			    $proxy_add_x_forwarded_for;
			grpc_set_header X-Forwarded-Proto $scheme;
		}
	}
}""" % {"w": workers, "common": nginx_http_common(d), "b": bport,
        "gb": gbport, "h": hport, "g": gport, "host": HOST, "ghost": GHOST,
        "wc": wconns})


def haproxy_conf(d, threads, port, bport, conns):
    """HAProxy as the same HTTP/1.1 reverse proxy: server-side keep-alive
    with reuse (max-reuse 100 as cfgw-proxy's per-connection bound),
    X-Forwarded-For / X-Forwarded-Proto, no logs."""
    return """global
	nbthread %(t)d
	maxconn %(c)d
	pidfile %(d)s/haproxy.pid
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	timeout http-keep-alive 60s
	option forwardfor
	http-reuse always
frontend web
	bind 127.0.0.1:%(p)d backlog 4096
	http-request set-header X-Forwarded-Proto http
	default_backend web
backend web
	server b1 127.0.0.1:%(b)d max-reuse 100
""" % {"t": threads, "c": conns, "d": d, "p": port, "b": bport}


def routes(bport, gbport):
    def be(port, proto):
        return [{"kind": "Service", "namespace": "bench", "name": proto,
                 "port": port, "host": "127.0.0.1", "weight": 1,
                 "protocol": proto, "invalid": None, "filters": []}]
    return {"version": "1.0", "generation": "bench", "hosts": [
        {"hostname": HOST, "wildcard": False, "http": [
            {"route": {"kind": "HTTPRoute", "namespace": "bench",
                       "name": "web", "rule": 0},
             "match": {"path": {"type": "PathPrefix", "value": "/"}},
             "backends": be(bport, "http")}], "grpc": []},
        {"hostname": GHOST, "wildcard": False, "http": [], "grpc": [
            {"route": {"kind": "GRPCRoute", "namespace": "bench",
                       "name": "echo", "rule": 0},
             "match": {},
             "backends": be(gbport, "h2c")}]}]}


def run(args, timeout):
    r = subprocess.run(args, capture_output=True, text=True,
                       timeout=timeout)
    return r.stdout + r.stderr


def tcp_out_segs():
    """The host's TcpOutSegs (every loopback segment: client, proxy and
    backend), from /proc/net/snmp."""
    with open("/proc/net/snmp") as f:
        rows = [ln.split() for ln in f if ln.startswith("Tcp:")]
    return int(rows[1][rows[0].index("OutSegs")])


def haproxy_version():
    out = run(["haproxy", "-v"], 10).split()
    return out[2] if len(out) > 2 else "?"


def lat_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


def wrk(port, conns, dur, threads):
    out = run(["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % dur,
               "--latency", "-H", "Host: " + HOST,
               "http://127.0.0.1:%d/index.html" % port], dur + 20)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if rps is None or p99 is None:
        raise RuntimeError("wrk output:\n" + out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    err = re.search(r"Socket errors: (.*)", out)
    if bad or err:
        print("  warning: %s %s" % (bad.group(0) if bad else "",
                                    err.group(0) if err else ""))
    return float(rps.group(1)), lat_ms(p99.group(1))


def h2load(port, dur, conns, streams, payload):
    out = run(["h2load", "-c%d" % conns, "-m%d" % streams, "-D%d" % dur,
               "-t1", "-d", payload,
               "-H", ":authority: " + GHOST,
               "-H", "content-type: application/grpc",
               "-H", "te: trailers",
               "http://127.0.0.1:%d/bench.Echo/Unary" % port], dur + 20)
    rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    ok = re.search(r"requests: \d+ total, \d+ started, (\d+) done, "
                   r"(\d+) succeeded, (\d+) failed", out)
    if rps is None or ok is None:
        raise RuntimeError("h2load output:\n" + out)
    if int(ok.group(3)) > 0:
        print("  warning: %s failed" % ok.group(3))
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", out)
    return float(rps.group(1)), lat_ms(mean.group(1)) if mean else 0.0


def grpc_check(port):
    """One real gRPC unary call (grpcio), so trailers are checked."""
    try:
        import grpc
    except ImportError:
        return "grpcio missing, not checked"
    ch = grpc.insecure_channel("127.0.0.1:%d" % port,
                               options=[("grpc.default_authority", GHOST)])
    call = ch.unary_unary("/bench.Echo/Unary")
    try:
        r = call(b"ping", timeout=5)
    finally:
        ch.close()
    if r != b"hello, bench":
        raise RuntimeError("unexpected gRPC answer %r" % r)
    return "ok"


def pids_of(proc):
    """The process and its children (nginx workers)."""
    out = [proc.pid]
    try:
        kids = open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)).read()
        out += [int(k) for k in kids.split()]
    except OSError:
        pass
    return out


def mem(proc):
    rss = hwm = 0
    for pid in pids_of(proc):
        try:
            st = open("/proc/%d/status" % pid).read()
        except OSError:
            continue
        rss += int(re.search(r"VmRSS:\s+(\d+)", st).group(1))
        hwm += int(re.search(r"VmHWM:\s+(\d+)", st).group(1))
    return rss * 1024, hwm * 1024


def cpu(proc):
    """CPU seconds (user + system) used so far by the process and its
    children (nginx workers); threads are part of their process."""
    tick = os.sysconf("SC_CLK_TCK")
    t = 0
    for pid in pids_of(proc):
        try:
            f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        t += int(f[11]) + int(f[12])
    return t / tick


def read_answer(s):
    data = b""
    while b"\r\n\r\n" not in data:
        c = s.recv(4096)
        if not c:
            raise RuntimeError("connection closed before the answer")
        data += c
    head, rest = data.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError("answer: %r" % head[:40])
    n = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    while len(rest) < n:
        rest += s.recv(4096)


def idle(proc, port, n):
    """n keep-alive connections, each after one request; RSS delta."""
    time.sleep(0.5)
    before, _ = mem(proc)
    socks = []
    req = b"GET / HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n\r\n"
    try:
        while len(socks) < n:
            batch = []
            for _ in range(min(250, n - len(socks))):
                s = socket.create_connection(("127.0.0.1", port), 10)
                batch.append(s)
                s.sendall(req)
            for s in batch:
                read_answer(s)
            socks += batch
        time.sleep(2.5)		# cfgw-proxy parks after 1 s idle
        for s in socks[:100]:	# still alive?
            s.sendall(req)
            read_answer(s)
        after, peak = mem(proc)
    finally:
        for s in socks:
            s.close()
    return before, after, peak


def ratio(a, b):
    return a / b if b else float("nan")


def fmt_row(name, unit, c, n, better, peer="nginx", who="cfgw"):
    r = ratio(c, n)
    print("  %-34s %s %10.1f %-4s %s %10.1f %-4s ratio %.2f (%s)" %
          (name, who, c, unit, peer, n, unit, r, better))
    return {who: c, peer: n, "ratio": r}


def cfgw_threads_flag(proxy):
    out = run([proxy, "--help"], 10)
    return "--threads" in out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--proxy", default=os.path.join(
        os.environ.get("CFGW_OUT", ROOT), "bin", "cfgw-proxy"))
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="nginx workers = cfgw-proxy threads")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds")
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--grpc-conns", type=int, default=8)
    ap.add_argument("--grpc-streams", type=int, default=8)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--only", default="http,grpc,idle")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--no-haproxy", dest="haproxy", action="store_false",
                    help="HTTP/1.1 without the second peer (HAProxy, "
                    "used when installed)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()
    only = set(a.only.split(","))
    for t in ("wrk", "h2load", "nginx", "cc"):
        if shutil.which(t) is None:
            sys.exit("bench: %s missing" % t)
    if not os.access(a.proxy, os.X_OK):
        sys.exit("bench: build %s first" % a.proxy)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.idle + 100 > hard:
        a.idle = hard - 100
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(1))
    signal.alarm(600)

    bdir = os.path.join(ROOT, "build", "bench")
    os.makedirs(bdir, exist_ok=True)
    gb = os.path.join(bdir, "grpc_backend")
    src = os.path.join(ROOT, "bench", "grpc_backend.c")
    if not os.path.exists(gb) or os.path.getmtime(gb) < os.path.getmtime(src):
        flags = run(["pkg-config", "--cflags", "--libs", "libnghttp2",
                     "libevent"], 10).split()
        subprocess.run(["cc", "-O2", "-o", gb, src] + flags, check=True)

    w = tempfile.mkdtemp(prefix="cfgw-bench-")
    procs = Procs()
    res = {"machine": "%d CPUs (%s)" % (os.cpu_count(), os.uname().release),
           "workers": a.workers}
    try:
        bport, gbport = free_port(), free_port()
        os.makedirs(w + "/be/t")
        os.makedirs(w + "/ng/t")
        open(w + "/be/nginx.conf", "w").write(backend_conf(w + "/be", bport))
        be = procs.start(["nginx", "-p", w + "/be", "-c",
                          w + "/be/nginx.conf"], open(w + "/be.log", "w"))
        gbe = procs.start([gb, str(gbport)], open(w + "/gb.log", "w"))
        wait_port(bport, be)
        wait_port(gbport, gbe)

        nh, ng = free_port(), free_port()
        open(w + "/ng/nginx.conf", "w").write(
            proxy_conf(w + "/ng", a.workers, nh, ng, bport, gbport,
                       a.idle + 1000))
        ngx = procs.start(["nginx", "-p", w + "/ng", "-c",
                           w + "/ng/nginx.conf"], open(w + "/ng.log", "w"))

        ch = free_port()
        json.dump(routes(bport, gbport), open(w + "/routes.json", "w"))
        cargs = [a.proxy, "--routes-file", w + "/routes.json",
                 "--http-addr", "127.0.0.1:%d" % ch, "--https-addr", "",
                 "--admin-addr", "127.0.0.1:%d" % free_port(),
                 "--max-connections", str(a.idle + 1000)]
        if cfgw_threads_flag(a.proxy):
            cargs += ["--threads", str(a.workers)]
        else:
            print("note: this cfgw-proxy has no --threads (one thread)")
            res["workers_cfgw"] = 1
        cfg = procs.start(cargs, open(w + "/cfgw.log", "w"))
        wait_port(nh, ngx)
        wait_port(ch, cfg)
        procs_of = {"cfgw": cfg, "nginx": ngx}
        hp = None
        if "http" in only and a.haproxy and shutil.which("haproxy"):
            hp = free_port()
            os.makedirs(w + "/hap")
            open(w + "/hap/haproxy.cfg", "w").write(
                haproxy_conf(w + "/hap", a.workers, hp, bport, 4096))
            procs_of["haproxy"] = procs.start(
                ["haproxy", "-db", "-f", w + "/hap/haproxy.cfg"],
                open(w + "/hap.log", "w"))
            wait_port(hp, procs_of["haproxy"])
        elif "http" in only and a.haproxy:
            print("note: haproxy is not installed (apt-get install "
                  "haproxy): HTTP/1.1 is compared with nginx only")
        time.sleep(0.5)
        print("machine: %s; nginx %d workers, cfgw-proxy %s threads; "
              "backends: nginx (1 worker), grpc_backend (1 thread)" %
              (res["machine"], a.workers, res.get("workers_cfgw",
                                                  a.workers)))

        if "http" in only:
            print("== HTTP/1.1 keep-alive: wrk -t%d -c%d, %d s x %d rounds"
                  % (a.wrk_threads, a.conns, a.duration, a.rounds))
            peers = [("cfgw", ch), ("nginx", nh)]
            if hp is not None:
                peers.append(("haproxy", hp))
            for name, port in peers:		# warm up
                wrk(port, a.conns, 1, a.wrk_threads)
            r = {name: [] for name, _ in peers}
            for i in range(a.rounds):
                order = peers[i % len(peers):] + peers[:i % len(peers)]
                if i % 2:
                    order.reverse()
                for name, port in order:
                    c0, s0 = cpu(procs_of[name]), tcp_out_segs()
                    rps, p99 = wrk(port, a.conns, a.duration,
                                   a.wrk_threads)
                    n = rps * a.duration
                    us = (cpu(procs_of[name]) - c0) * 1e6 / n
                    segs = (tcp_out_segs() - s0) / n
                    r[name].append((rps, p99, us, segs))
                    print("  round %d %-7s %9.0f req/s  p99 %7.2f ms  "
                          "%5.1f CPU us/req  %4.2f TCP segments/req" %
                          (i + 1, name, rps, p99, us, segs))
            med = {k: tuple(statistics.median(c) for c in zip(*v))
                   for k, v in r.items()}
            res["http_rps"] = fmt_row("HTTP/1.1 requests/s (median)",
                                      "r/s", med["cfgw"][0],
                                      med["nginx"][0], "higher is better")
            res["http_p99_ms"] = fmt_row("HTTP/1.1 p99 latency (median)",
                                         "ms", med["cfgw"][1],
                                         med["nginx"][1], "lower is better")
            res["http_cpu_us"] = fmt_row("HTTP/1.1 proxy CPU per request",
                                         "us", med["cfgw"][2],
                                         med["nginx"][2], "lower is better")
            res["http_segs"] = fmt_row("HTTP/1.1 TCP segments per request",
                                       "", med["cfgw"][3], med["nginx"][3],
                                       "all hosts' loopback traffic; 4 is "
                                       "the least")
            if "haproxy" in med:
                print("  second peer, HAProxy %s (%d threads, max-reuse "
                      "100):" % (haproxy_version(), a.workers))
                for key, what, unit, k, better in (
                        ("rps", "requests/s", "r/s", 0, "higher is better"),
                        ("p99_ms", "p99 latency", "ms", 1, "lower is better"),
                        ("cpu_us", "CPU per request", "us", 2,
                         "lower is better")):
                    res["http_%s_haproxy" % key] = fmt_row(
                        "HTTP/1.1 %s vs haproxy" % what, unit,
                        med["cfgw"][k], med["haproxy"][k], better, "haproxy")
                res["http_rps_haproxy_nginx"] = fmt_row(
                    "haproxy vs nginx requests/s", "r/s", med["haproxy"][0],
                    med["nginx"][0], "higher is better", "nginx", "haproxy")

        if "grpc" in only:
            payload = w + "/req.bin"
            open(payload, "wb").write(b"\0\0\0\0\x04ping")
            print("== gRPC unary over h2c: h2load -c%d -m%d, %d s x %d "
                  "rounds (grpcio check: cfgw %s, nginx %s)" %
                  (a.grpc_conns, a.grpc_streams, a.duration, a.rounds,
                   grpc_check(ch), grpc_check(ng)))
            h2load(ch, 1, a.grpc_conns, a.grpc_streams, payload)
            h2load(ng, 1, a.grpc_conns, a.grpc_streams, payload)
            r = {"cfgw": [], "nginx": []}
            for i in range(a.rounds):
                order = [("cfgw", ch), ("nginx", ng)]
                if i % 2:
                    order.reverse()
                for name, port in order:
                    c0 = cpu(procs_of[name])
                    rps, mean = h2load(port, a.duration, a.grpc_conns,
                                       a.grpc_streams, payload)
                    us = (cpu(procs_of[name]) - c0) * 1e6 / (
                        rps * a.duration)
                    r[name].append((rps, mean, us))
                    print("  round %d %-5s %9.0f req/s  mean %7.2f ms  "
                          "%5.1f CPU us/req" % (i + 1, name, rps, mean, us))
            med = {k: (statistics.median(x[0] for x in v),
                       statistics.median(x[2] for x in v))
                   for k, v in r.items()}
            res["grpc_rps"] = fmt_row("gRPC unary requests/s (median)",
                                      "r/s", med["cfgw"][0],
                                      med["nginx"][0], "higher is better")
            res["grpc_cpu_us"] = fmt_row("gRPC proxy CPU per request",
                                         "us", med["cfgw"][1],
                                         med["nginx"][1], "lower is better")

        if "idle" in only:
            print("== %d idle keep-alive client connections (one request "
                  "each), RSS of all processes" % a.idle)
            for name, p, port in (("cfgw", cfg, ch), ("nginx", ngx, nh)):
                b, af, pk = idle(p, port, a.idle)
                per = (af - b) / a.idle
                res["idle_" + name] = {"before": b, "after": af,
                                       "peak": pk, "per_conn": per}
                print("  %-5s RSS before %6.1f MiB, with %d idle %6.1f MiB,"
                      " peak %6.1f MiB: %6.0f bytes/connection" %
                      (name, b / 2**20, a.idle, af / 2**20, pk / 2**20,
                       per))
            res["idle_per_conn"] = fmt_row(
                "RSS growth per idle connection", "B",
                res["idle_cfgw"]["per_conn"], res["idle_nginx"]["per_conn"],
                "lower is better")
            # nginx's connection slots: the same nginx with 1024 slots
            os.makedirs(w + "/ns/t")
            sp, sg = free_port(), free_port()
            open(w + "/ns/nginx.conf", "w").write(
                proxy_conf(w + "/ns", a.workers, sp, sg, bport, gbport,
                           1024))
            small = procs.start(["nginx", "-p", w + "/ns", "-c",
                                 w + "/ns/nginx.conf"],
                                open(w + "/ns.log", "w"))
            wait_port(sp, small)
            time.sleep(0.5)
            sb, _ = mem(small)
            small.terminate()
            per = (res["idle_nginx"]["after"] - sb) / a.idle
            res["idle_nginx"]["before_1024_slots"] = sb
            res["idle_per_conn_with_slots"] = fmt_row(
                "same, nginx from 1024 slots", "B",
                res["idle_cfgw"]["per_conn"], per, "lower is better")
            res["idle_total"] = fmt_row(
                "RSS with %d idle connections" % a.idle, "MiB",
                res["idle_cfgw"]["after"] / 2**20,
                res["idle_nginx"]["after"] / 2**20, "lower is better")
            res["idle_total_per_conn"] = fmt_row(
                "same, divided by the connections", "B",
                res["idle_cfgw"]["after"] / a.idle,
                res["idle_nginx"]["after"] / a.idle, "lower is better")
            res["idle_peak"] = fmt_row(
                "peak RSS (VmHWM) with %d idle" % a.idle, "MiB",
                res["idle_cfgw"]["peak"] / 2**20,
                res["idle_nginx"]["peak"] / 2**20, "lower is better")
            print("  (nginx allocates its connection slots, worker_connections"
                  " = %d per worker, at start: they are in its 'before', "
                  "so the first row undercounts it; the second starts "
                  "from an nginx with 1024 slots, %.1f MiB; the third and "
                  "fourth are whole processes, libraries included)" %
                  (a.idle + 1000, sb / 2**20))
    finally:
        procs.stop()
        if a.keep:
            print("kept", w)
        else:
            shutil.rmtree(w, ignore_errors=True)
    if a.json:
        json.dump(res, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
