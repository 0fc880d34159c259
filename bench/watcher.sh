#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Watcher and reconciler at scale: 10,000 HTTPRoutes across 100 namespaces
# in kubesim; the real controller (bin/cfgwd + workers, cfsim for
# Cloudflare) is started and timed until the reconciler's store holds them
# all; peak RSS (VmHWM, and private RssAnon) of the watcher and the
# reconciler; kubesim alone and `kubectl get httproutes -A -o json` (the
# peer) measured against the same simulator.  Details:
# bench/watcher_bench.py.
#   bench/watcher.sh [--routes N] [--namespaces N] [--runs N] [--keep DIR]
# CFGW_OUT / CFGW_VARIANT select the build, as for the tests.
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/watcher_bench.py "$@"
