#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run every benchmark binary in $1/bench (default: build/bench).
#
# First measures the real `openssl speed -evp aes-256-xts -bytes 4096` so
# benchmarks can print it next to their in-process figures (exported as
# OPENSSL_SPEED_XTS_4096_MBPS, in 10^6 bytes/s).  Missed performance goals
# are only reported; the exit status is non-zero only when a benchmark
# fails to run.
build=${1:-build}
dir=$build/bench

if [ ! -d "$dir" ]; then
	echo "bench: no $dir; build the benchmarks first (make bench)" >&2
	exit 1
fi

# -mr output: "+F:<n>:<cipher>:<bytes per second>".
openssl_speed() {
	command -v openssl >/dev/null 2>&1 || return 1
	openssl speed -mr -evp aes-256-xts -bytes 4096 -seconds 2 2>/dev/null |
		awk -F: '$1 == "+F" { printf "%.0f\n", $4 / 1e6; found = 1 }
			 END { exit !found }'
}

echo "== openssl speed -evp aes-256-xts -bytes 4096 -seconds 2"
if mbps=$(openssl_speed); then
	echo "openssl speed aes-256-xts 4096B: $mbps MB/s"
	OPENSSL_SPEED_XTS_4096_MBPS=$mbps
	export OPENSSL_SPEED_XTS_4096_MBPS
else
	echo "openssl speed: not available"
fi

failed=0
ran=0
# bench LABEL CMD...: runs one benchmark under a heading and counts it.
bench() {
	bench_label=$1
	shift
	ran=$((ran + 1))
	echo "== $bench_label"
	if ! "$@"; then
		echo "FAILED: $bench_label" >&2
		failed=$((failed + 1))
	fi
}

# vm_bench SCRIPT APPEND LABEL: a tests/vm/b_*.sh benchmark in its own VM boot.
vm_bench() {
	bench "tests/vm/$1: $3" env VOLCRYPT_VM_TESTS="$1" VOLCRYPT_VM_TEST_TIMEOUT=3000 \
		VOLCRYPT_VM_TIMEOUT=3600 VOLCRYPT_VM_APPEND="$2" "$(dirname "$0")/../vm/run.sh" "$build"
}

for b in "$dir"/*; do
	[ -f "$b" ] && [ -x "$b" ] || continue
	bench "$b" "$b"
done
bench "tests/bench/kdf_wall_time.sh" "$(dirname "$0")/kdf_wall_time.sh" "$build/volcrypt" 3
for ss in 512 4096; do
	bench "tests/bench/rekey_offline.sh ($ss-byte sectors)" \
		"$(dirname "$0")/rekey_offline.sh" "$build" 3 "$ss"
done
bench "tests/bench/convert_time.sh (issue 7: LUKS2 conversion, metadata only)" \
	"$(dirname "$0")/convert_time.sh" "$build/volcrypt" 3
for ss in 512 4096; do
	bench "tests/bench/bench_fuse.sh (SECTOR_SIZE=$ss)" \
		env SECTOR_SIZE="$ss" "$(dirname "$0")/bench_fuse.sh" "$build"
done
vm_bench b_target.sh "volcrypt.bench=3 volcrypt.rounds=3" "volcrypt target vs dm-crypt in one VM boot"
vm_bench b_rekey.sh "volcrypt.rounds=2" "volcrypt rekey vs cryptsetup reencrypt in one VM boot"
vm_bench b_layering.sh "volcrypt.rounds=2" \
	"plain ext4, volcrypt, fscrypt and the layered homes in one VM boot"
echo "benchmarks: $ran run, $failed failed"
[ "$failed" -eq 0 ]
