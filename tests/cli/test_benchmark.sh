#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt benchmark: KDF parameters and cipher throughput, human and JSON.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

# --- JSON, forced pbkdf2 ---------------------------------------------------------
expect_exit 0 vc benchmark --json "${KDF[@]}"
cp "$OUT" "$T/b.json"
check "benchmark --json parses" eval "python3 -m json.tool '$T/b.json' >/dev/null"
jcheck "benchmark --json has kdf {type, iterations, memory_kib, parallel, ms}" "$T/b.json" \
	'set("type iterations memory_kib parallel ms".split()) <= set(j["kdf"])'
jcheck "forced pbkdf2: type pbkdf2, 1000 iterations, a measured time" "$T/b.json" \
	'j["kdf"]["type"] in ("pbkdf2", "pbkdf2-sha256") and j["kdf"]["iterations"] == 1000 and isinstance(j["kdf"]["ms"], (int, float)) and j["kdf"]["ms"] >= 0'
jcheck "cipher: a list of results with the spec keys" "$T/b.json" \
	'isinstance(j["cipher"], list) and len(j["cipher"]) >= 2 and all(set("cipher key_bits sector_size threads encrypt_mbps decrypt_mbps".split()) <= set(c) for c in j["cipher"])'
jcheck "cipher: aes-xts with 512-bit keys" "$T/b.json" \
	'all(c["cipher"] == "aes-xts" and c["key_bits"] == 512 for c in j["cipher"])'
jcheck "cipher: 512 and 4096 byte sectors measured" "$T/b.json" \
	'set(c["sector_size"] for c in j["cipher"]) == {512, 4096}'
jcheck "cipher: 1 thread and all CPUs ($(nproc)) measured" "$T/b.json" \
	"set(c['threads'] for c in j['cipher']) == {1, $(nproc)}"
jcheck "cipher: every combination of sector size and threads" "$T/b.json" \
	"set((c['sector_size'], c['threads']) for c in j['cipher']) == {(s, t) for s in (512, 4096) for t in (1, $(nproc))}"
jcheck "cipher: positive encrypt and decrypt MB/s" "$T/b.json" \
	'all(isinstance(c["encrypt_mbps"], (int, float)) and c["encrypt_mbps"] > 0 and c["decrypt_mbps"] > 0 for c in j["cipher"])'
jcheck "cipher: plausible speeds (1 MB/s .. 100 GB/s)" "$T/b.json" \
	'all(1 < c["encrypt_mbps"] < 100000 and 1 < c["decrypt_mbps"] < 100000 for c in j["cipher"])'

# --- JSON, forced argon2id ---------------------------------------------------------
expect_exit 0 vc benchmark --json "${KDF_ARGON[@]}"
jcheck "forced argon2id: t=4, m=1024 KiB, p=1" "$OUT" \
	'j["kdf"]["type"] == "argon2id" and j["kdf"]["iterations"] == 4 and j["kdf"]["memory_kib"] == 1024 and j["kdf"]["parallel"] == 1'

# --- calibration ---------------------------------------------------------------------------
expect_exit 0 vc benchmark --json --pbkdf pbkdf2 --iter-time 200
jcheck "calibrated pbkdf2 for 200 ms: >= 1000 iterations, 20..2000 ms measured" "$OUT" \
	'j["kdf"]["iterations"] >= 1000 and 20 <= j["kdf"]["ms"] <= 2000'
expect_exit 0 vc benchmark --json --pbkdf argon2id --iter-time 200 --pbkdf-memory 8192 --pbkdf-parallel 1
jcheck "calibrated argon2id: memory within the 8 MiB cap, 1 lane, >= 4 passes" "$OUT" \
	'j["kdf"]["type"] == "argon2id" and 32 <= j["kdf"]["memory_kib"] <= 8192 and j["kdf"]["parallel"] == 1 and j["kdf"]["iterations"] >= 4'

# --- human form -----------------------------------------------------------------------------
expect_exit 0 vc benchmark "${KDF[@]}"
check "human output names the KDF" grep -qi pbkdf2 "$OUT"
check "human output shows 512 and 4096 byte sectors" eval "grep -qw 512 '$OUT' && grep -qw 4096 '$OUT'"
check "human output shows MB/s" grep -qi 'MB/s' "$OUT"
check "human output names aes-xts" grep -qi 'aes-xts' "$OUT"

# --- bad options ---------------------------------------------------------------------------
expect_exit 1 vc benchmark --pbkdf scrypt
expect_exit 1 vc benchmark --pbkdf pbkdf2 --pbkdf-force-iterations 5
expect_exit 1 vc benchmark --pbkdf argon2id --pbkdf-memory 8 --pbkdf-force-iterations 4
expect_exit 1 vc benchmark --iter-time soon
expect_exit 1 vc benchmark --pbkdf-parallel -2
expect_exit 1 vc benchmark extra-argument
expect_exit 1 vc benchmark --bogus

finish
