#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 7's figure: wall time of `volcrypt convert` both ways on sparse
# image files of 64 MiB and 1 GiB (in /dev/shm), with fast KDF settings
# (PBKDF2, 1000 iterations: what is left is the conversion itself) and
# once with the default KDF (Argon2id calibrated to 2 s: the KDF
# dominates).  Metadata only: the time must not grow with the size.
#   usage: convert_time.sh VOLCRYPT [RUNS]
set -eu
vc=$1 runs=${2:-3}
dir=$(mktemp -d /dev/shm/vc-convert.XXXXXX)
trap 'rm -rf "$dir"' EXIT
printf 'bench-passphrase' >"$dir/key"
fast=(--pbkdf pbkdf2 --pbkdf-force-iterations 1000)

# ms_of CMD...: the "ms" of convert --json
ms_of() {
	"$@" --json | sed -n 's/.*"ms": *\([0-9.]*\).*/\1/p'
}

one_size() {                    # one_size SIZE KDF-LABEL KDF-OPTS...
	local size=$1 label=$2 img=$dir/img i to from
	shift 2
	rm -f "$img"
	"$vc" format "$img" --size "$size" --batch --key-file "$dir/key" "${fast[@]}" >/dev/null
	for i in $(seq 1 "$runs"); do
		to=$(ms_of "$vc" convert "$img" --to-luks2 --batch --key-file "$dir/key" "$@")
		from=$(ms_of "$vc" convert "$img" --from-luks2 --batch --key-file "$dir/key" "$@")
		printf '%-6s %-24s run %d: --to-luks2 %8.1f ms   --from-luks2 %8.1f ms\n' \
			"$size" "$label" "$i" "$to" "$from"
	done
}

one_size 64M "fast KDF (pbkdf2 1000)" "${fast[@]}"
one_size 1G "fast KDF (pbkdf2 1000)" "${fast[@]}"
one_size 1G "default KDF (argon2id)"
