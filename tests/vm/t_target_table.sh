#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The volcrypt target's table, status and block-device behaviour:
#   - every wrong table argument is refused with its own message in the
#     kernel log (dm prints ti->error) and leaves no device behind;
#   - a missing, short or revoked keyring key fails cleanly;
#   - table, status and IMA lines show the key reference, never key material;
#     status counts sectors; the key can leave the keyring once loaded;
#   - misaligned direct I/O fails; a read-only table refuses writes;
#   - errors of the device below come back through the target;
#   - discards pass only with allow_discards; flushes and FUA writes reach
#     the device below.
# shellcheck disable=SC2317 # helpers are called through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram1
DEVNO=1:1
DESC=volcrypt:vm-target-table
REF=":64:logon:$DESC"
N=8192                            # mapped sectors (4 MiB)
VT=/dev/mapper/vt-table

require_tool keyctl || finish
check "dm-volcrypt loads" modprobe dm-volcrypt

keyfile() {                       # keyfile FILE BYTES
	head -c "$2" /dev/urandom >"$1"
}
addkey() {                        # addkey DESC FILE: prints the key id
	local id
	id=$(keyctl padd logon "$1" @u <"$2") || return 1
	at_exit keyctl unlink "$id" @u
	echo "$id"
}
keyfile "$T/key" 64
KEYHEX=$(xxd -p "$T/key" | tr -d '\n')
kid=$(addkey "$DESC" "$T/key")
keyfile "$T/short" 32
addkey volcrypt:vm-target-short "$T/short" >/dev/null
revoked=$(addkey volcrypt:vm-target-revoked "$T/key")
keyctl revoke "$revoked" >/dev/null
check "test keys in the user keyring" test -n "$kid" -a -n "$revoked"

mk() {                            # mk NAME TABLE [dmsetup options]
	local name=$1 table=$2
	shift 2
	at_exit dm_remove "$name"
	printf '%s\n' "$table" | dmsetup create "$name" "$@" >"$T/dm.err" 2>&1 && return 0
	fail "table of $name loads" "$table"
	diag_file dmsetup "$T/dm.err"
	return 1
}

# log_mark / log_since: the kernel log after a unique mark line.
log_mark() {
	MARK="volcrypt-vm-mark $TEST_NAME $$ $(date +%s%N)"
	echo "$MARK" >/dev/kmsg
}
log_since() {
	dmesg | awk -v m="$MARK" 'found { print } !found && index($0, m) { found = 1 }'
}

# bad NAME TABLE MESSAGE: refused, with MESSAGE in the target's error
# (dm logs "volcrypt: <ti->error> (-ERRNO)").  Every error text is kept
# in $T/errors so that the test can check they are all different.
bad() {
	local name=$1 table=$2 want=$3 got
	log_mark
	if printf '%s\n' "$table" | dmsetup create vt-bad >"$T/dm.err" 2>&1; then
		fail "refused: $name" "the table loaded: $table"
		dm_remove vt-bad
		return
	fi
	log_since >"$T/klog"
	got=$(sed -n 's/.* volcrypt: \(.*\) (-E[A-Z]*)$/\1/p' "$T/klog" | head -n1)
	if [ -n "$got" ] && grep -qF -- "$want" <<<"$got"; then
		ok "refused with its own message: $name"
		printf '%s\t%s\n' "$got" "$name" >>"$T/errors"
	else
		fail "refused with its own message: $name" "want: volcrypt: ...$want..."
		diag_file "kernel log" "$T/klog"
	fi
	if DM_DISABLE_UDEV=1 command dmsetup info vt-bad >/dev/null 2>&1; then
		fail "no device left behind: $name"
		dm_remove vt-bad
	fi
}

# ---------------------------------------------------------------- arguments

L="0 $N volcrypt"
bad "too few arguments" "$L $REF $DEV 0" "Not enough arguments"
bad "hex key" "$L $KEYHEX $DEV 0 512" "hex keys are refused"
bad "key size 32" "$L :32:logon:$DESC $DEV 0 512" "key size must be 64 bytes"
bad "key size not a number" "$L :x:logon:$DESC $DEV 0 512" "size missing"
bad "key size field unterminated" "$L :64logon:$DESC $DEV 0 512" "bad size field"
bad "user key type" "$L :64:user:$DESC $DEV 0 512" "key type must be logon"
bad "empty key description" "$L :64:logon: $DEV 0 512" "empty key description"
bad "logon description without service" "$L :64:logon:nocolon $DEV 0 512" \
	"logon key description must be <service>:<name>"
bad "sector_size 1024" "$L $REF $DEV 0 1024" "must be 512 or 4096"
bad "sector_size not a number" "$L $REF $DEV 0 4k" "Invalid sector_size: not a number"
bad "length not a multiple of sector_size" "0 7 volcrypt $REF $DEV 0 4096" \
	"Target length is not a multiple of sector_size"
bad "data_offset not a number" "$L $REF $DEV 1M 512" "Invalid data_offset: not a number"
bad "data_offset misaligned" "$L $REF $DEV 1 4096" \
	"Invalid data_offset: not a multiple of sector_size"
bad "#opt_args not a number" "$L $REF $DEV 0 512 x" "Invalid #opt_args: not a number"
bad "#opt_args too large" "$L $REF $DEV 0 512 2 allow_discards" \
	"#opt_args does not match the number of optional arguments"
bad "unknown optional argument" "$L $REF $DEV 0 512 1 same_cpu_crypt" \
	"Unknown optional argument"
bad "allow_discards twice" "$L $REF $DEV 0 512 2 allow_discards allow_discards" \
	"allow_discards given twice"
bad "rekey without its arguments" "$L $REF $DEV 0 512 1 rekey" \
	"rekey needs <key_ref> <boundary>"
bad "rekey boundary not a number" "$L $REF $DEV 0 512 3 rekey $REF x" \
	"Invalid rekey boundary: not a number"
bad "rekey boundary past the end" "$L $REF $DEV 0 512 3 rekey $REF $((N + 8))" \
	"Invalid rekey boundary: beyond the end"
bad "rekey boundary misaligned" "$L $REF $DEV 0 4096 3 rekey $REF 9" \
	"Invalid rekey boundary: not a multiple of sector_size"
bad "rekey key reference" "$L $REF $DEV 0 512 3 rekey 00ff 0" "hex keys are refused"
bad "rekey twice" "$L $REF $DEV 0 512 6 rekey $REF 0 rekey $REF 8" \
	"Optional argument rekey given twice"
bad "rekey with a missing new key" "$L $REF $DEV 0 512 3 rekey :64:logon:volcrypt:vm-target-missing 0" \
	"Keyring key not found"
bad "no such device" "$L $REF /dev/nonexistent 0 512" "Device lookup failed"
bad "device too small" "$L $REF $DEV $((65536 * 2 - N + 8)) 512" "Device too small"
bad "missing keyring key" "$L :64:logon:volcrypt:vm-target-missing $DEV 0 512" \
	"Keyring key not found"
bad "keyring key of 32 bytes" "$L :64:logon:volcrypt:vm-target-short $DEV 0 512" \
	"payload is not 64 bytes"
bad "revoked keyring key" "$L :64:logon:volcrypt:vm-target-revoked $DEV 0 512" \
	"revoked or expired"

# A device with 4096-byte blocks cannot carry 512-byte units.
truncate -s 8M "$T/lb4k.img"
if loop4k=$(losetup -f --show -b 4096 "$T/lb4k.img" 2>"$ERR"); then
	at_exit losetup -d "$loop4k"
	bad "sector_size below the device's block size" "$L $REF $loop4k 0 512" \
		"sector_size is smaller than the device's logical block size"
	losetup -d "$loop4k"
else
	fail "loop device with 4096-byte blocks"
	diag_file stderr "$ERR"
fi
# One message per mistake (the rekey key reference reuses the key's checks).
dups=$(grep -v -e 'rekey key reference$' -e 'rekey with a missing new key$' "$T/errors" | cut -f1 | sort | uniq -d)
check_eq "every mistake has its own message ($(wc -l <"$T/errors") cases)" "$dups" ""

# ---------------------------------------------------------------- table and status

# IMA measures device-mapper table loads (STATUSTYPE_IMA) once a policy
# asks for it.  The policy file takes one write per boot: later tests
# find it written already.
IMA=/sys/kernel/security/ima
[ -d "$IMA" ] || mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
if [ -e "$IMA/policy" ]; then
	echo "measure func=CRITICAL_DATA label=device-mapper template=ima-buf" >"$IMA/policy" 2>/dev/null
fi
# ima_table NAME: the last measured table load of dm device NAME, decoded.
ima_table() {
	awk '$5 == "dm_table_load" { print $6 }' "$IMA/ascii_runtime_measurements" 2>/dev/null |
		while read -r hex; do xxd -r -p <<<"$hex"; echo; done | grep "name=$1," | tail -n1
}

dd if=/dev/zero of="$DEV" bs=1M count=8 oflag=direct status=none
if mk vt-table "$L $REF $DEV 2048 512"; then
	ok "good table loads"
	ima_table vt-table >"$T/ima"
	check "IMA measurement of the table (STATUSTYPE_IMA)" grep -qF -- \
		"target_name=volcrypt,target_version=1.1.0,cipher=aes-xts-plain64,key_type=logon,key_size=64,keys=1,sector_size=512,data_offset=2048,allow_discards=n;" \
		"$T/ima"
	check_not "no key material in the IMA measurement" contains_hex "$T/ima" "$KEYHEX"
	check_eq "table line: the reference, major:minor, offset, sector size" \
		"$(dmsetup table vt-table)" "0 $N volcrypt $REF $DEVNO 2048 512"
	check_eq "dmsetup table --showkeys shows the same" \
		"$(dmsetup table --showkeys vt-table)" "0 $N volcrypt $REF $DEVNO 2048 512"
	read -r -a st <<<"$(dmsetup status vt-table)"
	check_eq "status: 11 fields (3 dm + 8 target)" "${#st[@]}" 11
	check_eq "status: nothing read, written, failed or rejected yet" "${st[*]:3:5}" "0 0 0 0 0"
	check "status: the cipher driver is named" test -n "${st[8]}" -a "${st[8]}" != "-"
	echo "# cipher driver: ${st[8]}"
	check_eq "status: sector size, no features" "${st[*]:9:2}" "512 0"
	random_file "$T/data" $MiB
	write_range "$T/data" "$VT" 0
	check "read back" test "$(sum_range "$VT" 0 $MiB)" = "$(sum_of "$T/data")"
	read -r -a st <<<"$(dmsetup status vt-table)"
	check_eq "status: 2048 sectors read and 2048 written" "${st[*]:3:2}" "2048 2048"
	dmsetup status vt-table >"$T/st"
	dmsetup table --showkeys vt-table >>"$T/st"
	check_not "no key material in status or table" contains_hex "$T/st" "$KEYHEX"
	check_not "no key bytes as text either" grep -qi -- "$KEYHEX" "$T/st"
	check_eq "logical block size 512" "$(blockdev --getss "$VT")" 512

	# The key lives in the target once loaded: the keyring copy can go.
	keyctl unlink "$kid" @u >/dev/null 2>&1
	check "I/O works after the key left the keyring" \
		test "$(sum_range "$VT" 0 $MiB)" = "$(sum_of "$T/data")"
	check "suspend" dmsetup suspend vt-table
	check "resume" dmsetup resume vt-table
	check "I/O works after suspend/resume" test "$(sum_range "$VT" 0 $MiB)" = "$(sum_of "$T/data")"
	log_mark
	check_not "reloading needs the key again" \
		bash -c "printf '%s\n' '$L $REF $DEV 2048 512' | DM_DISABLE_UDEV=1 dmsetup reload vt-table 2>/dev/null"
	log_since >"$T/klog"
	check "the failed reload says why" grep -q 'volcrypt: Keyring key not found' "$T/klog"
	check "the old table still serves I/O" test "$(sum_range "$VT" 0 $MiB)" = "$(sum_of "$T/data")"
	dm_remove vt-table
	kid=$(addkey "$DESC" "$T/key")
fi

# ---------------------------------------------------------------- alignment, read-only

if mk vt-table "$L $REF $DEV 2048 4096"; then
	check_eq "4096: logical block size" "$(blockdev --getss "$VT")" 4096
	check_eq "4096: physical block size" "$(blockdev --getpbsz "$VT")" 4096
	check_not "4096: 512-byte direct write refused" \
		dd if=/dev/zero of="$VT" bs=512 count=1 seek=1 oflag=direct status=none
	check_not "4096: 512-byte direct read refused" \
		dd if="$VT" of=/dev/null bs=512 count=1 skip=1 iflag=direct status=none
	check "4096: aligned direct write" dd if=/dev/zero of="$VT" bs=4096 count=1 seek=1 oflag=direct status=none
	dm_remove vt-table
fi
if mk vt-table "$L $REF $DEV 2048 512" --readonly; then
	check_eq "read-only table: read-only device" "$(blockdev --getro "$VT")" 1
	check "read-only table: reads work" dd if="$VT" of=/dev/null bs=1M count=1 iflag=direct status=none
	check_not "read-only table: writes refused" \
		dd if=/dev/zero of="$VT" bs=4096 count=1 oflag=direct status=none
	dm_remove vt-table
fi

# ---------------------------------------------------------------- I/O errors

# Under the target, a device whose second half fails every I/O.
if mk vt-under "0 4096 linear $DEV 0
4096 4096 error"; then
	if mk vt-table "$L $REF /dev/mapper/vt-under 0 512"; then
		check "first half: direct write" dd if=/dev/zero of="$VT" bs=4096 count=16 oflag=direct status=none
		check "first half: direct read" dd if="$VT" of=/dev/null bs=4096 count=16 iflag=direct status=none
		check_not "read error below -> read error through the target" \
			dd if="$VT" of=/dev/null bs=4096 count=1 skip=768 iflag=direct status=none
		check_not "write error below -> write error through the target" \
			dd if=/dev/zero of="$VT" bs=4096 count=1 seek=768 oflag=direct status=none
		read -r -a st <<<"$(dmsetup status vt-table)"
		check "status counts the I/O errors (${st[5]})" test "${st[5]}" -ge 2
		check_eq "status: no crypto errors, nothing rejected" "${st[*]:6:2}" "0 0"
		dm_remove vt-table
	fi
	dm_remove vt-under
fi

# ---------------------------------------------------------------- discards, flushes

# A loop device on a tmpfs file: it supports discards and has a volatile
# write cache, so flushes show in its statistics.
truncate -s 16M "$T/disk.img"
if loop=$(losetup -f --show "$T/disk.img" 2>"$ERR"); then
	at_exit losetup -d "$loop"
	lname=${loop#/dev/}
	discard_max() {
		cat "/sys/block/dm-$(DM_DISABLE_UDEV=1 command dmsetup info -c --noheadings -o minor vt-table)/queue/discard_max_bytes"
	}
	flushes() {                   # flush requests completed by the loop device
		awk '{ print $16 }' "/sys/block/$lname/stat"
	}

	if mk vt-table "0 16384 volcrypt $REF $loop 0 512"; then
		check_eq "without allow_discards: no discard limit advertised" "$(discard_max)" 0
		check_not "without allow_discards: blkdiscard fails" blkdiscard "$VT"
		f0=$(flushes)
		check "fsync through the target" dd if=/dev/zero of="$VT" bs=4096 count=1 conv=fsync status=none
		f1=$(flushes)
		check "the flush reached the device below ($f0 -> $f1)" test "$f1" -gt "$f0"
		check "O_DSYNC direct write (FUA) through the target" \
			dd if=/dev/zero of="$VT" bs=4096 count=1 seek=4 oflag=direct,dsync status=none
		f2=$(flushes)
		check "the FUA write was made durable below ($f1 -> $f2)" test "$f2" -gt "$f1"
		dm_remove vt-table
	fi
	if mk vt-table "0 16384 volcrypt $REF $loop 0 512 1 allow_discards"; then
		check_eq "table shows allow_discards" "$(dmsetup table vt-table)" \
			"0 16384 volcrypt $REF $((16#$(stat -Lc %t "$loop"))):$((16#$(stat -Lc %T "$loop"))) 0 512 1 allow_discards"
		check "status shows allow_discards" bash -c \
			"DM_DISABLE_UDEV=1 dmsetup status vt-table | grep -q ' 512 1 allow_discards$'"
		check "with allow_discards: a discard limit is advertised" test "$(discard_max)" -gt 0
		dd if=/dev/urandom of="$VT" bs=1M count=8 oflag=direct status=none
		used0=$(du -k "$T/disk.img" | cut -f1)
		check "with allow_discards: blkdiscard works" blkdiscard "$VT"
		used1=$(du -k "$T/disk.img" | cut -f1)
		check "the discard reached the file below ($used0 -> $used1 KiB)" test "$used1" -lt "$used0"
		dm_remove vt-table
	fi
	losetup -d "$loop"
else
	fail "loop device on a tmpfs file"
	diag_file stderr "$ERR"
fi

finish
