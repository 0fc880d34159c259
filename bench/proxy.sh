#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Throughput and latency of cfgw-proxy in front of nginx (a fast backend,
# so the numbers are the proxy's), with wrk (HTTP/1.1, keep-alive) and
# h2load (HTTP/2 prior knowledge), compared with nginx served directly.
# Everything listens on 127.0.0.1 ephemeral ports and is stopped at the end.
#   bench/proxy.sh [seconds] [connections]      (defaults: 5 50)
set -eu
cd "$(dirname "$0")/.."
DUR=${1:-5}
CONNS=${2:-50}
OUT=${CFGW_OUT:-.}
PROXY=$OUT/bin/cfgw-proxy
[ -x "$PROXY" ] || { echo "bench: build $PROXY first (make)" >&2; exit 1; }
for t in wrk h2load nginx; do
	command -v $t >/dev/null || { echo "bench: $t missing" >&2; exit 1; }
done
W=$(mktemp -d)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

NPORT=$(port)
mkdir -p "$W/nginx"
cat >"$W/nginx/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $W/nginx/pid;
error_log $W/nginx/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $W/nginx;
	proxy_temp_path $W/nginx;
	fastcgi_temp_path $W/nginx;
	uwsgi_temp_path $W/nginx;
	scgi_temp_path $W/nginx;
	keepalive_requests 100000;
	server {
		listen 127.0.0.1:$NPORT;
		location / { return 200 "hello from the backend\n"; }
	}
}
NGX
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" &
PIDS="$PIDS $!"

cat >"$W/routes.json" <<JSON
{"version": "1.0", "generation": "bench", "hosts": [
 {"hostname": "app.example.com", "http": [
  {"route": {"kind": "HTTPRoute", "namespace": "b", "name": "api", "rule": 0},
   "match": {"path": {"type": "PathPrefix", "value": "/api"},
             "headers": [{"type": "RegularExpression", "name": "x-v", "value": "v[0-9]+"}]},
   "backends": [{"name": "x", "namespace": "b", "port": $NPORT, "host": "127.0.0.1", "weight": 1, "protocol": "http"}]},
  {"route": {"kind": "HTTPRoute", "namespace": "b", "name": "web", "rule": 0},
   "match": {"path": {"type": "PathPrefix", "value": "/"}},
   "backends": [{"name": "web", "namespace": "b", "port": $NPORT, "host": "127.0.0.1", "weight": 1, "protocol": "http"}]}]}]}
JSON
HPORT=$(port)
APORT=$(port)
"$PROXY" --routes-file "$W/routes.json" --http-addr "127.0.0.1:$HPORT" \
	--admin-addr "127.0.0.1:$APORT" --https-addr "" 2>"$W/proxy.log" &
PIDS="$PIDS $!"
sleep 1

echo "== nginx direct (HTTP/1.1, $CONNS connections, ${DUR}s)"
wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "http://127.0.0.1:$NPORT/" |
    grep -E 'Requests/sec|Latency|99%'
echo "== cfgw-proxy -> nginx (HTTP/1.1 keep-alive both sides)"
wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -H "Host: app.example.com" \
    "http://127.0.0.1:$HPORT/index.html" | grep -E 'Requests/sec|Latency|99%'
echo "== cfgw-proxy -> nginx (HTTP/2 prior knowledge, 10 streams/conn)"
h2load -c"$CONNS" -m10 -D"$DUR" -H ":authority: app.example.com" \
    "http://127.0.0.1:$HPORT/index.html" 2>/dev/null |
    grep -E 'finished in|requests:|time for request'
echo "== proxy metrics"
curl -s "http://127.0.0.1:$APORT/metrics" | grep -E '^cfgw_proxy_(requests|upstream)'
