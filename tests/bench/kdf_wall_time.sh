#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Wall time of `volcrypt test-key` on a volume formatted with the default
# KDF settings (Argon2id calibrated to --iter-time 2000 ms), against that
# target.  usage: kdf_wall_time.sh VOLCRYPT [RUNS]
set -eu
vc=$1 runs=${2:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'bench-passphrase' > "$dir/key"
"$vc" format "$dir/img" --size 20M --batch --key-file "$dir/key" >/dev/null
"$vc" dump "$dir/img" | sed -n '/Keyslots/,$p'
total=0
i=0
while [ "$i" -lt "$runs" ]; do
	t0=$(date +%s%N)
	"$vc" test-key "$dir/img" --key-file "$dir/key" >/dev/null
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	echo "test-key run $((i + 1)): $ms ms"
	total=$((total + ms))
	i=$((i + 1))
done
avg=$((total / runs))
echo "test-key with default KDF: mean $avg ms over $runs runs (target --iter-time 2000 ms, ratio $(awk "BEGIN{printf \"%.2f\", $avg/2000}"))"
