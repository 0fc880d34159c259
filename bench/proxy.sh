#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# cfgw-proxy versus nginx as a reverse proxy on this machine: HTTP/1.1
# keep-alive (wrk, 64 connections), gRPC unary over h2c (h2load), and RSS
# with 10,000 idle client connections; interleaved rounds, medians and the
# ratio cfgw/nginx (HTTP/1.1 also against HAProxy when installed).
# Loopback only; about two minutes; cleans up.
#   bench/proxy.sh [proxy_bench.py options]     (see --help)
# Needs wrk, h2load (nghttp2-client), nginx and cc; builds
# bench/grpc_backend.c into build/bench/.  The proxy is $CFGW_OUT/bin/
# cfgw-proxy (default ./bin/cfgw-proxy: run `make` first).
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/proxy_bench.py "$@"
