#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Cloudflare API requests of the real controller (bin/cfgwd + workers)
# against cfsim: converge 1,000 new hostnames in one zone, then an idle
# resync (SIGHUP); compared with the reference implementation's count,
# computed from its documented algorithm.  Details: bench/cloudflare_bench.py.
#   bench/cloudflare.sh [--hosts N] [--quiet S] [--keep DIR]
# CFGW_OUT / CFGW_VARIANT select the build, as for the tests.
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/cloudflare_bench.py "$@"
