#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run each Check unit-test program; print their summaries and a total.
pass=0; fail=0
for t in "$@"; do
	echo "== $t"
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $t"; fi
done
echo "unit programs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
