#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# LUKS2 interoperability with real device-mapper (issue 7), for 512- and
# 4096-byte sectors:
#   - a volcrypt volume converted with `volcrypt convert --to-luks2` is read
#     by `cryptsetup open` with the same plaintext;
#   - a `cryptsetup luksFormat` volume, written through cryptsetup and
#     converted with --from-luks2, is read by `volcrypt open` (dm-crypt and
#     volcrypt backends) with the same plaintext;
#   - `volcrypt open` of a LUKS2 volume (dm-crypt, volcrypt target) reads
#     what cryptsetup wrote;
#   - cryptsetup's own table for a 4096-byte LUKS2 volume has no
#     iv_large_sectors: LUKS2 counts IVs in 512-byte units, as volcrypt
#     does (docs/FORMAT.md section 7), so 4096-byte volumes convert too;
#   - converting a device cryptsetup holds open is refused (exit 5).
# Two regions are compared, the start and the last 2 MiB of the data
# area, so that a wrong IV numbering cannot pass.
# shellcheck disable=SC2317 # helpers are called through check/expect_exit
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram0
CSNAME=vmluks
NAME=vmlv
REGION=$((2 * MiB))

require_tool cryptsetup || finish
require_target_module || finish
modprobe dm-volcrypt || fail "modprobe dm-volcrypt"

cs() {                              # cryptsetup without udev, keys not in the keyring
	DM_DISABLE_UDEV=1 cryptsetup "$@"
}
cs_open() {
	at_exit cs_close
	cs open --disable-keyring --key-file "$P0" "$DEV" "$CSNAME" >"$T/cs.err" 2>&1
}
cs_close() {
	cs close "$CSNAME" >/dev/null 2>&1
}

# write_regions DEV A B / same_regions DEV A B: the two regions of a data area.
write_regions() {
	local size
	size=$(dev_size "$1")
	write_range "$2" "$1" 0 && write_range "$3" "$1" $((size - REGION))
}
same_regions() {
	local size
	size=$(dev_size "$1")
	[ "$(sum_range "$1" 0 "$REGION")" = "$(sum_of "$2")" ] &&
		[ "$(sum_range "$1" $((size - REGION)) "$REGION")" = "$(sum_of "$3")" ]
}

# reads_back BACKEND A B: volcrypt open with BACKEND reads both regions.
reads_back() {
	local dev ok_=1
	dev=$(vc open "$DEV" "$NAME" --backend "$1" --read-only --key-file "$P0" 2>"$T/open.err") || {
		diag_file "open $1" "$T/open.err"; return 1; }
	same_regions "$dev" "$2" "$3" || ok_=0
	vc close "$NAME" >/dev/null 2>&1
	[ $ok_ = 1 ]
}

round() {
	local ss=$1 a=$T/a.$1 b=$T/b.$1 dev table
	echo "# --- sector size $ss"
	random_file "$a" "$REGION"
	random_file "$b" "$REGION"

	# volcrypt -> LUKS2: cryptsetup reads what volcrypt wrote
	wipe_dev "$DEV" $((20 * MiB))
	fmt "$DEV" --sector-size "$ss" --label "vm-$ss" || return
	dev=$(vc_open "$DEV" "$NAME" --backend dm-crypt) && write_regions "$dev" "$a" "$b" &&
		ok "($ss) regions written through volcrypt (dm-crypt backend)" ||
		fail "($ss) regions written through volcrypt"
	vc close "$NAME" >/dev/null
	EXPECT_NAME="($ss) volcrypt convert --to-luks2" expect_exit 0 \
		vc convert "$DEV" --to-luks2 --batch --key-file "$P0" "${KDF[@]}"
	if cs_open; then
		ok "($ss) cryptsetup open of the converted volume"
		table=$(dmsetup table "$CSNAME")
		check "($ss) cryptsetup reads the plaintext volcrypt wrote" same_regions "/dev/mapper/$CSNAME" "$a" "$b"
		check_not "($ss) cryptsetup's table has no iv_large_sectors" grep -q iv_large_sectors <<<"$table"
		if [ "$ss" = 4096 ]; then
			check "($ss) cryptsetup's table has sector_size:4096" grep -q "sector_size:4096" <<<"$table"
		fi
		check "($ss) converting a device cryptsetup holds is refused" \
			expect_exit 5 vc convert "$DEV" --from-luks2 --batch --key-file "$P0" "${KDF[@]}"
		cs_close
	else
		fail "($ss) cryptsetup open of the converted volume"
		diag_file cryptsetup "$T/cs.err"
	fi
	check "($ss) volcrypt open of the LUKS2 volume, dm-crypt backend" reads_back dm-crypt "$a" "$b"
	check "($ss) volcrypt open of the LUKS2 volume, volcrypt target" reads_back volcrypt "$a" "$b"

	# cryptsetup luksFormat -> volcrypt: volcrypt reads what cryptsetup wrote
	random_file "$a" "$REGION"
	random_file "$b" "$REGION"
	wipe_dev "$DEV" $((20 * MiB))
	if ! cs luksFormat --batch-mode --type luks2 "${KDF[@]}" --sector-size "$ss" \
		--key-file "$P0" "$DEV" >"$T/cs.err" 2>&1; then
		fail "($ss) cryptsetup luksFormat"
		diag_file cryptsetup "$T/cs.err"
		return
	fi
	if cs_open && write_regions "/dev/mapper/$CSNAME" "$a" "$b"; then
		ok "($ss) regions written through cryptsetup"
	else
		fail "($ss) regions written through cryptsetup"
		diag_file cryptsetup "$T/cs.err"
	fi
	cs_close
	check "($ss) volcrypt open of cryptsetup's volume (dm-crypt)" reads_back dm-crypt "$a" "$b"
	EXPECT_NAME="($ss) volcrypt convert --from-luks2" expect_exit 0 \
		vc convert "$DEV" --from-luks2 --batch --key-file "$P0" "${KDF[@]}"
	check "($ss) converted: volcrypt header" vc test-key "$DEV" --key-file "$P0"
	check_not "($ss) converted: no LUKS header left" cs isLuks "$DEV"
	check "($ss) converted: dm-crypt backend reads cryptsetup's plaintext" reads_back dm-crypt "$a" "$b"
	check "($ss) converted: volcrypt target reads cryptsetup's plaintext" reads_back volcrypt "$a" "$b"
	EXPECT_NAME="($ss) and back to LUKS2" expect_exit 0 \
		vc convert "$DEV" --to-luks2 --batch --key-file "$P0" "${KDF[@]}"
	if cs_open; then
		check "($ss) cryptsetup reads it again" same_regions "/dev/mapper/$CSNAME" "$a" "$b"
		cs_close
	else
		fail "($ss) cryptsetup open after the round trip"
	fi
}

round 512
round 4096
wipe_dev "$DEV" $((20 * MiB))
finish
