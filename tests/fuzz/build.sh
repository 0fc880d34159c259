#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Build every tests/fuzz/fuzz_*.c with clang and libFuzzer (+ASan, UBSan)
# into build/fuzz/.  Each target lists the lib/proto sources and pkg-config
# packages it needs in a "fuzz-needs:" comment line, e.g.
#	/* fuzz-needs: lib/kube_decode.c lib/json.c lib/log.c | yajl */
# Targets without one get every lib/*.c and proto/*.c and all packages.
# Run:   build/fuzz/fuzz_watch -max_total_time=600 tests/fuzz/corpus/watch
set -eu
cd "$(dirname "$0")/../.."
OUT=build/fuzz
mkdir -p "$OUT"
CC=${FUZZ_CC:-clang}
ALLPKG="libcurl yajl yaml-0.1 libzmq libsodium libseccomp openssl libnghttp2 libevent libpcre2-8 libzstd"
CFLAGS="-std=c11 -D_GNU_SOURCE -DCFGW_VERSION=\"fuzz\" -g -O1
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	-fno-omit-frame-pointer -I. -Ilib -Iproto"
status=0
for src in tests/fuzz/fuzz_*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	needs=$(sed -n 's,.*fuzz-needs:\([^*]*\).*,\1,p' "$src" | head -n 1)
	if [ -n "$needs" ]; then
		srcs=$(printf '%s' "$needs" | cut -d'|' -f1)
		pkgs=$(printf '%s' "$needs" | cut -s -d'|' -f2)
	else
		srcs=$(ls lib/*.c proto/*.c)
		pkgs=$ALLPKG
	fi
	# shellcheck disable=SC2086
	pc=$(pkg-config --cflags --libs $pkgs 2>/dev/null || true)
	echo "  FUZZ    $OUT/$name"
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS -o "$OUT/$name" "$src" $srcs $pc -lm -lpthread; then
		echo "build.sh: $name failed to build" >&2
		status=1
	fi
done
exit $status
