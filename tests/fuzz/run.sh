#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run one libFuzzer binary for $2 seconds on a copy of the seed corpus.
# usage: run.sh FUZZER SECONDS
set -eu
fuzzer=$1 secs=$2
seeds=$(dirname "$0")/corpus/$(basename "$fuzzer")
[ -d "$seeds" ] || { echo "fuzz: seed corpus $seeds missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$seeds"/* "$work"/
echo "fuzz: $(basename "$fuzzer") for ${secs}s on $(ls "$seeds" | wc -l) seeds"
"$fuzzer" -max_total_time="$secs" -max_len=4096 -print_final_stats=0 "$work" 2>"$work.log" || {
	tail -n 40 "$work.log" >&2; rm -f "$work.log"; exit 1; }
tail -n 1 "$work.log"
rm -f "$work.log"
