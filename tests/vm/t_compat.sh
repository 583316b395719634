#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Byte compatibility of the data area (docs/FORMAT.md section 7), for 512-
# and 4096-byte sectors: libvol's userspace engine (the fuse backend) and
# the kernel's dm-crypt aes-xts-plain64 produce the same ciphertext and
# read each other's data, through a crypt table built by hand from the
# volume key, through volcrypt's own dm-crypt backend, and through
# `cryptsetup open --type plain` with the same key and offset.
#
# Two regions are used: the start of the data area and its last 2 MiB, so
# that a wrong IV (sector numbering, 512 vs 4096 units) cannot pass.
# shellcheck disable=SC2317 # helpers are called through check/expect_exit
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram0
NAME=vmcompat
REGION=$((2 * MiB))

require_tool cryptsetup || finish

# crypt_table SIZE SS KEYHEX: the table LUKS2/dm-crypt would use for our layout.
crypt_table() {
	local opts=""
	[ "$2" = 4096 ] && opts=" 1 sector_size:4096"
	echo "0 $(($1 / 512)) crypt aes-xts-plain64 $3 0 $DEV $((DATA_OFFSET / 512))$opts"
}

# hand_open SIZE SS KEYHEX: plain dmsetup crypt mapping $NAME-dm; the
# table (holding the key) goes through stdin, not argv.
hand_open() {
	at_exit dm_remove "$NAME-dm"
	crypt_table "$@" | dmsetup create "$NAME-dm" >"$T/dmsetup.err" 2>&1
}

# write_regions DEV A B SIZE / same_regions DEV A B SIZE
write_regions() {
	write_range "$2" "$1" 0 && write_range "$3" "$1" $(($4 - REGION))
}
same_regions() {
	[ "$(sum_range "$1" 0 "$REGION")" = "$(sum_of "$2")" ] &&
		[ "$(sum_range "$1" $(($4 - REGION)) "$REGION")" = "$(sum_of "$3")" ]
}
# Ciphertext of both regions on the raw device.
cipher_sum() {
	{ read_range "$DEV" "$DATA_OFFSET" "$REGION"
	  read_range "$DEV" $((DATA_OFFSET + $1 - REGION)) "$REGION"; } | sha256sum | cut -d' ' -f1
}

fuse_open() {                       # prints the device
	vc_open "$DEV" "$NAME" --backend fuse "$@"
}

compat_round() {
	local ss=$1 key size dev a=$T/a.$1 b=$T/b.$1 c=$T/c.$1 cs_fuse cs_dm
	echo "# --- sector size $ss"
	wipe_dev "$DEV" $((20 * MiB))
	fmt "$DEV" --sector-size "$ss" || return
	vc dump "$DEV" --json >"$T/dump.json"
	size=$(json_get "$T/dump.json" .data_size)
	key=$(volume_key "$DEV")
	check "[$ss] volume key read (128 hex digits)" test ${#key} -eq 128
	hex_to_file "$key" "$T/key.bin"
	random_file "$a" "$REGION"
	random_file "$b" "$REGION"
	random_file "$c" "$REGION"

	# userspace engine -> dm-crypt
	if EXPECT_NAME="[$ss] open --backend fuse" expect_exit 0 fuse_open; then
		dev=$(cat "$OUT")
		check "[$ss] fuse: write both regions" write_regions "$dev" "$a" "$b" "$size"
		check "[$ss] fuse: reads back" same_regions "$dev" "$a" "$b" "$size"
		EXPECT_NAME="[$ss] close fuse" expect_exit 0 vc close "$NAME"
	fi
	cs_fuse=$(cipher_sum "$size")
	if check "[$ss] hand-made crypt table loads" hand_open "$size" "$ss" "$key"; then
		check "[$ss] dm-crypt reads what the engine wrote" \
			same_regions "/dev/mapper/$NAME-dm" "$a" "$b" "$size"
		# Same plaintext, same place: the kernel must write the same bytes.
		check "[$ss] dm-crypt: rewrite the same plaintext" \
			write_regions "/dev/mapper/$NAME-dm" "$a" "$b" "$size"
		dm_remove "$NAME-dm"
		cs_dm=$(cipher_sum "$size")
		check_eq "[$ss] identical ciphertext from the engine and from dm-crypt" "$cs_dm" "$cs_fuse"
	else
		diag_file dmsetup "$T/dmsetup.err"
	fi

	# dm-crypt -> userspace engine
	if hand_open "$size" "$ss" "$key"; then
		check "[$ss] dm-crypt: write other data" write_regions "/dev/mapper/$NAME-dm" "$b" "$a" "$size"
		dm_remove "$NAME-dm"
	fi
	if EXPECT_NAME="[$ss] reopen --backend fuse" expect_exit 0 fuse_open --read-only; then
		check "[$ss] the engine reads what dm-crypt wrote" same_regions "$(cat "$OUT")" "$b" "$a" "$size"
		EXPECT_NAME="[$ss] close fuse" expect_exit 0 vc close "$NAME"
	fi

	# cryptsetup plain -> volcrypt (both backends)
	local cs_opts=(--type plain --cipher aes-xts-plain64 --key-size 512 --key-file "$T/key.bin"
		--offset $((DATA_OFFSET / 512)) --size $((size / 512)))
	[ "$ss" = 4096 ] && cs_opts+=(--sector-size 4096)
	at_exit cryptsetup close "$NAME-cs"
	if EXPECT_NAME="[$ss] cryptsetup open --type plain" expect_exit 0 \
		cryptsetup open "${cs_opts[@]}" "$DEV" "$NAME-cs"; then
		# Key (field 5) and device (field 7) differ in spelling only.
		dmsetup table "$NAME-cs" | awk '{ $5 = "KEY"; $7 = "DEV"; print }' >"$T/cs.table"
		crypt_table "$size" "$ss" - | awk '{ $5 = "KEY"; $7 = "DEV"; print }' >"$T/our.table"
		check "[$ss] cryptsetup builds the same table (apart from the key)" \
			cmp -s "$T/cs.table" "$T/our.table"
		check "[$ss] cryptsetup plain: write" write_regions "/dev/mapper/$NAME-cs" "$c" "$b" "$size"
		cryptsetup close "$NAME-cs"
	fi
	if EXPECT_NAME="[$ss] open --backend fuse" expect_exit 0 fuse_open --read-only; then
		check "[$ss] volcrypt (fuse) reads what cryptsetup wrote" same_regions "$(cat "$OUT")" "$c" "$b" "$size"
		EXPECT_NAME="[$ss] close fuse" expect_exit 0 vc close "$NAME"
	fi
	if EXPECT_NAME="[$ss] open --backend dm-crypt" expect_exit 0 \
		vc_open "$DEV" "$NAME" --backend dm-crypt --read-only; then
		check "[$ss] volcrypt (dm-crypt) reads what cryptsetup wrote" \
			same_regions "$(cat "$OUT")" "$c" "$b" "$size"
		EXPECT_NAME="[$ss] close dm-crypt" expect_exit 0 vc close "$NAME"
	fi
}

compat_round 512
compat_round 4096
finish
