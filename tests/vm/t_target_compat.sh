#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The volcrypt target (dm-volcrypt.ko) is byte compatible with the data
# layout of docs/FORMAT.md section 7, for 512- and 4096-byte sectors:
#   - written through the target, read through a stock dm-crypt
#     aes-xts-plain64 table with the same key and offset, and the reverse;
#   - on a formatted volume, written through the target and read through
#     libvol's userspace engine (the fuse backend), and the reverse;
#   - the ciphertext of the same plaintext is the same from both kernels.
# The whole mapped range is compared, so a wrong IV anywhere (512 vs 4096
# numbering, offset) cannot pass.  The key is a logon keyring key and
# never shows in a table or status line.
# shellcheck disable=SC2317 # helpers are called through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram0
DESC=volcrypt:vm-target-compat
OFF=2048                          # data offset on $DEV, 512-byte sectors
SIZE=$((16 * MiB))
SECTORS=$((SIZE / 512))

require_tool keyctl || finish
check "dm-volcrypt loads" modprobe dm-volcrypt
check "volcrypt target registered" bash -c 'DM_DISABLE_UDEV=1 dmsetup targets | grep -q "^volcrypt "'

target_key "$DESC"
check "logon key added to the user keyring" test -n "$kid"
at_exit keyctl unlink "$kid" @u

vc_table() {                      # vc_table SS [SECTORS OFF DEV DESC]
	echo "0 ${2:-$SECTORS} volcrypt :64:logon:${5:-$DESC} ${4:-$DEV} ${3:-$OFF} $1"
}

crypt_table() {                   # crypt_table SS
	local opts=""
	[ "$1" = 4096 ] && opts=" 1 sector_size:4096"
	echo "0 $SECTORS crypt aes-xts-plain64 $KEYHEX 0 $DEV $OFF$opts"
}

same_data() {                     # same_data DEV FILE: the whole range
	[ "$(sum_range "$1" 0 "$(stat -c %s "$2")")" = "$(sum_of "$2")" ]
}

raw_sum() {                       # ciphertext of the mapped range
	sum_range "$DEV" $((OFF * 512)) "$SIZE"
}

no_key_in() {                     # no_key_in FILE: neither hex spelling of the key
	! grep -qi -- "$KEYHEX" "$1" && ! contains_hex "$1" "$KEYHEX"
}

round() {
	local ss=$1 a=$T/a.$1 b=$T/b.$1 vt=/dev/mapper/vt-compat dc=/dev/mapper/dc-compat
	local cs_vc cs_dc
	echo "# --- sector size $ss"
	random_file "$a" "$SIZE"
	random_file "$b" "$SIZE"

	# volcrypt -> dm-crypt
	mk vt-compat "$(vc_table "$ss")" || return
	ok "[$ss] volcrypt table loads"
	check_eq "[$ss] logical block size is the sector size" "$(blockdev --getss "$vt")" "$ss"
	check_eq "[$ss] mapped size" "$(dev_size "$vt")" "$SIZE"
	check "[$ss] write 16 MiB through volcrypt" write_range "$a" "$vt" 0
	check "[$ss] volcrypt reads it back" same_data "$vt" "$a"
	dmsetup table vt-compat >"$T/table" 2>&1
	dmsetup table --showkeys vt-compat >>"$T/table" 2>&1
	dmsetup status vt-compat >"$T/status" 2>&1
	check "[$ss] table names the key by reference" \
		grep -qF -- "volcrypt :64:logon:$DESC 1:0 $OFF $ss" "$T/table"
	check "[$ss] key absent from dmsetup table (--showkeys too)" no_key_in "$T/table"
	check "[$ss] key absent from dmsetup status" no_key_in "$T/status"
	# shellcheck disable=SC2016 # awk's own variables
	check "[$ss] status counts the sectors written" \
		awk -v n=$((SIZE / 512)) '$3 == "volcrypt" && $5 == n { f = 1 } END { exit !f }' "$T/status"
	dm_remove vt-compat
	cs_vc=$(raw_sum)
	check_not "[$ss] no plaintext on the device" test "$cs_vc" = "$(sum_of "$a")"

	mk dc-compat "$(crypt_table "$ss")" || return
	check "[$ss] dm-crypt reads what volcrypt wrote" same_data "$dc" "$a"
	# Same plaintext, same place: dm-crypt must write the very same bytes.
	check "[$ss] dm-crypt: rewrite the same plaintext" write_range "$a" "$dc" 0
	dm_remove dc-compat
	cs_dc=$(raw_sum)
	check_eq "[$ss] identical ciphertext from volcrypt and dm-crypt" "$cs_vc" "$cs_dc"

	# dm-crypt -> volcrypt
	mk dc-compat "$(crypt_table "$ss")" || return
	check "[$ss] write other data through dm-crypt" write_range "$b" "$dc" 0
	dm_remove dc-compat
	mk vt-compat "$(vc_table "$ss")" || return
	check "[$ss] volcrypt reads what dm-crypt wrote" same_data "$vt" "$b"

	# Small writes at odd places, each a whole sector: same bytes as dm-crypt's.
	local off
	for _ in 1 2 3 4 5 6 7 8; do
		off=$(( (RANDOM * 32768 + RANDOM) % (SIZE / ss) * ss ))
		dd if="$a" of="$vt" bs="$ss" count=1 skip=$((off / ss)) seek=$((off / ss)) \
			oflag=direct conv=notrunc status=none
		dd if="$a" of="$b" bs="$ss" count=1 skip=$((off / ss)) seek=$((off / ss)) \
			conv=notrunc status=none
	done
	dm_remove vt-compat
	mk dc-compat "$(crypt_table "$ss")" || return
	check "[$ss] single-sector writes at random places read back by dm-crypt" same_data "$dc" "$b"
	dm_remove dc-compat
}

write_ends() {                    # write_ends DEV FIRST LAST SIZE
	write_range "$2" "$1" 0 && write_range "$3" "$1" $(($4 - $(stat -c %s "$3")))
}

# On a formatted volume: the target and libvol's engine (fuse backend).
engine_round() {
	local ss=$1 dev=/dev/ram1 name=vmtcompat size offset key kid2 a=$T/ea.$1 b=$T/eb.$1
	local vt=/dev/mapper/vt-engine region=$((4 * MiB)) fdev
	echo "# --- libvol engine, sector size $ss"
	wipe_dev "$dev" $((24 * MiB))
	fmt "$dev" --sector-size "$ss" || return
	vc dump "$dev" --json >"$T/dump.json"
	size=$(json_get "$T/dump.json" .data_size)
	offset=$(json_get "$T/dump.json" .data_offset)
	key=$(volume_key "$dev")
	check "[$ss] volume key read (128 hex digits)" test ${#key} -eq 128
	hex_to_file "$key" "$T/vk"
	kid2=$(keyctl padd logon volcrypt:vm-target-engine @u <"$T/vk")
	at_exit keyctl unlink "$kid2" @u
	random_file "$a" "$region"
	random_file "$b" "$region"

	# The table libvol's volcrypt backend will load for this volume.
	mk vt-engine "$(vc_table "$ss" $((size / 512)) $((offset / 512)) "$dev" volcrypt:vm-target-engine)" ||
		return
	check "[$ss] target: write the first and last 4 MiB" write_ends "$vt" "$a" "$b" "$size"
	dm_remove vt-engine
	if EXPECT_NAME="[$ss] open --backend fuse" expect_exit 0 vc_open "$dev" "$name" --backend fuse; then
		fdev=$(cat "$OUT")
		check "[$ss] the engine reads what the target wrote (start)" \
			test "$(sum_range "$fdev" 0 "$region")" = "$(sum_of "$a")"
		check "[$ss] the engine reads what the target wrote (end)" \
			test "$(sum_range "$fdev" $((size - region)) "$region")" = "$(sum_of "$b")"
		check "[$ss] engine: write other data at the start" write_range "$b" "$fdev" 0
		EXPECT_NAME="[$ss] close fuse" expect_exit 0 vc close "$name"
	fi
	mk vt-engine "$(vc_table "$ss" $((size / 512)) $((offset / 512)) "$dev" volcrypt:vm-target-engine)" ||
		return
	check "[$ss] the target reads what the engine wrote" \
		test "$(sum_range "$vt" 0 "$region")" = "$(sum_of "$b")"
	dm_remove vt-engine
}

round 512
round 4096
engine_round 512
engine_round 4096
finish
