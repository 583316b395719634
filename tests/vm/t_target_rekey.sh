#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The volcrypt target's online rekey (dm messages rekey_start, rekey_arm,
# rekey_chunk, rekey_finish and the table option rekey), 512- and
# 4096-byte sectors:
#   - chunk by chunk from key A to key B while the plaintext reads back
#     the same; status and table show the boundary, and the table shown
#     mid-way maps the same data; afterwards dm-crypt with B reads it;
#   - a table with "rekey B <boundary>" over data written half with B and
#     half with A (through dm-crypt) reads and writes both sides right,
#     also in one bio across the boundary;
#   - a write between arm and chunk makes the chunk fail with EAGAIN;
#   - fio verify while the rekey runs (and the device is suspended under
#     it), then the data with B through dm-crypt;
#   - wrong messages are refused with their errno and change nothing;
#   - an I/O error of the device below during a chunk fails the chunk's
#     range until the table is reloaded;
#   - the kernel log stays clean; no holder is left on the device.
# shellcheck disable=SC2317 # helpers are called through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram0
DEVNO=1:0
OFF=2048
SIZE=$((8 * MiB))
N=$((SIZE / 512))
DA=volcrypt:vm-rekey-a
DB=volcrypt:vm-rekey-b
RA=":64:logon:$DA"
RB=":64:logon:$DB"
VT=/dev/mapper/vt-rekey

require_tool keyctl || finish
require_tool fio || finish
check "dm-volcrypt loads" modprobe dm-volcrypt
kmsg_mark

addkey() {                        # addkey DESC: a random 64-byte logon key
	local id
	head -c 64 /dev/urandom >"$T/k"
	id=$(keyctl padd logon "$1" @u <"$T/k") || return 1
	at_exit keyctl unlink "$id" @u
}
if addkey "$DA" && addkey "$DB"; then
	ok "keys A and B in the user keyring"
else
	fail "keys A and B in the user keyring"
fi

# msg NAME WORDS...: a target message; dmsetup's complaint in $T/msg.err.
msg() {
	local name=$1
	shift
	dmsetup message "$name" 0 "$@" 2>"$T/msg.err" >/dev/null
}

# refused WHAT ERRNO_TEXT NAME WORDS...: the message fails with that errno.
refused() {
	local what=$1 want=$2 name=$3
	shift 3
	if msg "$name" "$@"; then
		fail "refused: $what" "the message '$*' was accepted"
		return
	fi
	if grep -qF -- "$want" "$T/msg.err"; then
		ok "refused ($want): $what"
	else
		fail "refused ($want): $what"
		diag_file dmsetup "$T/msg.err"
	fi
}

# rekey_run NAME FROM TO STEP: arms and re-encrypts [FROM, TO) chunk by
# chunk, arming again a chunk written meanwhile (EAGAIN), as libvol does.
# $EAGAINS counts those retries.
EAGAINS=0
rekey_failed() {
	echo "       rekey_$1 at $2 failed:"
	sed 's/^/       | /' "$T/msg.err"
}
rekey_run() {
	local name=$1 pos=$2 to=$3 step=$4 len tries
	while [ "$pos" -lt "$to" ]; do
		len=$((to - pos < step ? to - pos : step))
		tries=0
		while :; do
			msg "$name" rekey_arm "$pos" "$len" || { rekey_failed arm "$pos"; return 1; }
			msg "$name" rekey_chunk "$pos" "$len" && break
			grep -q "Resource temporarily unavailable" "$T/msg.err" ||
				{ rekey_failed chunk "$pos"; return 1; }
			EAGAINS=$((EAGAINS + 1))
			tries=$((tries + 1))
			[ "$tries" -lt 300 ] || return 1
		done
		pos=$((pos + len))
	done
}

features() {                      # features NAME: "#features [feature...]" of the status
	dmsetup status "$1" | cut -d' ' -f11-
}

ssopt() {                         # ssopt SS: dm-crypt's optional arguments for it
	[ "$1" = 4096 ] && printf ' 1 sector_size:4096'
}

# dc NAME KEYREF SS [LEN]: stock dm-crypt over the same data area.
dc() {
	mk "$1" "0 ${4:-$N} crypt aes-xts-plain64 $2 0 $DEV $OFF$(ssopt "$3")"
}

random_file "$T/data" "$SIZE"
DSUM=$(sum_of "$T/data")

# ---------------------------------------------------------------- A -> B in chunks

full_round() {
	local ss=$1 b mid=$((N / 2)) half
	echo "# --- rekey chunk by chunk, sector size $ss"
	mk vt-rekey "0 $N volcrypt $RA $DEV $OFF $ss" || return
	write_range "$T/data" "$VT" 0
	check "[$ss] rekey_start B" msg vt-rekey rekey_start "$RB"
	check_eq "[$ss] status: rekey at 0" "$(features vt-rekey)" "2 rekey 0"
	check_eq "[$ss] table: the rekey option with boundary 0" "$(dmsetup table vt-rekey)" \
		"0 $N volcrypt $RA $DEVNO $OFF $ss 3 rekey $RB 0"
	check_eq "[$ss] data unchanged after rekey_start" "$(sum_range "$VT" 0 "$SIZE")" "$DSUM"

	for ((b = 0; b < N; b += 4096)); do
		check "[$ss] chunks $b..$((b + 4096)) (2 x 1 MiB)" rekey_run vt-rekey "$b" $((b + 4096)) 2048
		check_eq "[$ss] status: rekey at $((b + 4096))" "$(features vt-rekey)" "2 rekey $((b + 4096))"
		check_eq "[$ss] data intact at boundary $((b + 4096))" "$(sum_range "$VT" 0 "$SIZE")" "$DSUM"
		if [ $((b + 4096)) = "$mid" ]; then
			dmsetup table vt-rekey >"$T/table"
			check_eq "[$ss] table mid-way: the rekey option with the boundary" "$(cat "$T/table")" \
				"0 $N volcrypt $RA $DEVNO $OFF $ss 3 rekey $RB $mid"
			half=$((mid * 512))
			check_eq "[$ss] one read across the boundary" \
				"$(sum_range "$VT" $((half - 64 * KiB)) $((128 * KiB)))" \
				"$(dd if="$T/data" bs=64K skip=$(((half - 64 * KiB) / (64 * KiB))) count=2 status=none | sha256sum | cut -d' ' -f1)"
			# The table as shown maps the same data (a second device, reads only).
			if mk vt-rekey2 "$(cat "$T/table")"; then
				check_eq "[$ss] a device from that table reads the same" \
					"$(sum_range /dev/mapper/vt-rekey2 0 "$SIZE")" "$DSUM"
				dm_remove vt-rekey2
			fi
		fi
	done
	check "[$ss] rekey_finish" msg vt-rekey rekey_finish
	check_eq "[$ss] status: no rekey after finish" "$(features vt-rekey)" "0"
	check_eq "[$ss] table: plain, key B" "$(dmsetup table vt-rekey)" "0 $N volcrypt $RB $DEVNO $OFF $ss"
	check_eq "[$ss] data intact after finish" "$(sum_range "$VT" 0 "$SIZE")" "$DSUM"
	check "[$ss] a write after finish" dd if="$T/data" of="$VT" bs=64K count=1 oflag=direct status=none
	refused "[$ss] rekey_arm after finish" "Invalid argument" vt-rekey rekey_arm 0 2048
	read -r -a st <<<"$(dmsetup status vt-rekey)"
	check_eq "[$ss] status: no I/O errors, crypto errors or rejects" "${st[*]:5:3}" "0 0 0"
	dm_remove vt-rekey

	if dc dc-rekey "$RB" "$ss"; then
		check_eq "[$ss] dm-crypt with key B reads the plaintext" \
			"$(sum_range /dev/mapper/dc-rekey 0 "$SIZE")" "$DSUM"
		dm_remove dc-rekey
	fi
	if dc dc-rekey "$RA" "$ss"; then
		check_not "[$ss] dm-crypt with key A does not" \
			test "$(sum_range /dev/mapper/dc-rekey 0 "$SIZE")" = "$DSUM"
		dm_remove dc-rekey
	fi
}

# ---------------------------------------------------------------- table with a boundary

boundary_round() {
	local ss=$1 bnd=$((N / 2 + 8)) bb
	bb=$((bnd * 512))
	echo "# --- table with rekey B $bnd, sector size $ss"
	# Below the boundary written with B, above with A, through dm-crypt.
	dc dc-b "$RB" "$ss" || return
	dd if="$T/data" of=/dev/mapper/dc-b bs=4096 count=$((bb / 4096)) oflag=direct status=none
	dm_remove dc-b
	dc dc-a "$RA" "$ss" || return
	dd if="$T/data" of=/dev/mapper/dc-a bs=4096 skip=$((bb / 4096)) seek=$((bb / 4096)) \
		oflag=direct status=none
	dm_remove dc-a

	mk vt-rekey "0 $N volcrypt $RA $DEV $OFF $ss 3 rekey $RB $bnd" || return
	check_eq "[$ss] table with a boundary: status" "$(features vt-rekey)" "2 rekey $bnd"
	check_eq "[$ss] table with a boundary: reads the plaintext on both sides" \
		"$(sum_range "$VT" 0 "$SIZE")" "$DSUM"
	check_eq "[$ss] one 64 KiB read straddling the boundary" \
		"$(sum_range "$VT" $((bb - 32 * KiB)) $((64 * KiB)))" \
		"$(dd if="$T/data" bs=4096 skip=$(((bb - 32 * KiB) / 4096)) count=16 status=none | sha256sum | cut -d' ' -f1)"
	# One write across the boundary: each side lands under its key.
	random_file "$T/patch" $((64 * KiB))
	write_range "$T/patch" "$VT" $((bb - 32 * KiB))
	cp "$T/data" "$T/data2"
	dd if="$T/patch" of="$T/data2" bs=4096 seek=$(((bb - 32 * KiB) / 4096)) conv=notrunc status=none
	check_eq "[$ss] a write straddling the boundary reads back" \
		"$(sum_range "$VT" 0 "$SIZE")" "$(sum_of "$T/data2")"
	dm_remove vt-rekey
	if dc dc-b "$RB" "$ss"; then
		check_eq "[$ss] below the boundary it is under B" \
			"$(sum_range /dev/mapper/dc-b $((bb - 32 * KiB)) $((32 * KiB)))" \
			"$(dd if="$T/patch" bs=4096 count=8 status=none | sha256sum | cut -d' ' -f1)"
		dm_remove dc-b
	fi
	if dc dc-a "$RA" "$ss"; then
		check_eq "[$ss] above the boundary it is under A" \
			"$(sum_range /dev/mapper/dc-a "$bb" $((32 * KiB)))" \
			"$(dd if="$T/patch" bs=4096 skip=8 count=8 status=none | sha256sum | cut -d' ' -f1)"
		dm_remove dc-a
	fi
	# Put the reference data back under A for the next round.
	if dc dc-a "$RA" "$ss"; then
		write_range "$T/data" /dev/mapper/dc-a 0
		dm_remove dc-a
	fi
}

# ---------------------------------------------------------------- dirty, bad messages

dirty_and_bad_messages() {
	local ss=4096
	echo "# --- dirty chunks and wrong messages, sector size $ss"
	mk vt-rekey "0 $N volcrypt $RA $DEV $OFF $ss" || return
	write_range "$T/data" "$VT" 0
	refused "rekey_arm without rekey_start" "Invalid argument" vt-rekey rekey_arm 0 2048
	refused "rekey_chunk without rekey_start" "Invalid argument" vt-rekey rekey_chunk 0 2048
	refused "rekey_finish without rekey_start" "Invalid argument" vt-rekey rekey_finish
	refused "unknown message" "Invalid argument" vt-rekey rekey_step 2048
	refused "rekey_start with a hex key" "Invalid argument" vt-rekey rekey_start 00ff
	refused "rekey_start with a missing key" "Required key not available" vt-rekey \
		rekey_start :64:logon:volcrypt:vm-rekey-missing
	check_eq "no rekey after the refusals" "$(features vt-rekey)" "0"
	check "rekey_start B" msg vt-rekey rekey_start "$RB"
	refused "rekey_start twice" "Device or resource busy" vt-rekey rekey_start "$RB"
	refused "rekey_arm: start is not the boundary" "Invalid argument" vt-rekey rekey_arm 8 2048
	refused "rekey_arm: misaligned length" "Invalid argument" vt-rekey rekey_arm 0 100
	refused "rekey_arm: empty" "Invalid argument" vt-rekey rekey_arm 0 0
	refused "rekey_arm: longer than 64 MiB" "Invalid argument" vt-rekey rekey_arm 0 131080
	refused "rekey_arm: beyond the end" "Invalid argument" vt-rekey rekey_arm 0 $((N + 8))
	refused "rekey_arm: not a number" "Invalid argument" vt-rekey rekey_arm 0 1M
	refused "rekey_arm: one word missing" "Invalid argument" vt-rekey rekey_arm 0
	refused "rekey_chunk before any arm" "Invalid argument" vt-rekey rekey_chunk 0 2048
	check "rekey_arm 0 2048" msg vt-rekey rekey_arm 0 2048
	refused "rekey_chunk shorter than armed" "Invalid argument" vt-rekey rekey_chunk 0 1024
	refused "rekey_chunk elsewhere" "Invalid argument" vt-rekey rekey_chunk 2048 2048
	refused "rekey_finish before the end" "Invalid argument" vt-rekey rekey_finish
	check_eq "the refusals changed nothing: status" "$(features vt-rekey)" "2 rekey 0"
	check_eq "the refusals changed nothing: data" "$(sum_range "$VT" 0 "$SIZE")" "$DSUM"

	# Armed: reads and writes elsewhere do not make the chunk dirty.
	check "rekey_arm 0 2048 (again)" msg vt-rekey rekey_arm 0 2048
	sum_range "$VT" 0 $MiB >/dev/null
	dd if="$T/data" of="$VT" bs=4096 skip=1024 seek=1024 count=1 oflag=direct status=none
	check "a read inside, a write outside the armed range: chunk goes through" \
		msg vt-rekey rekey_chunk 0 2048
	check_eq "boundary 2048" "$(features vt-rekey)" "2 rekey 2048"
	# A write inside does.
	check "rekey_arm 2048 2048" msg vt-rekey rekey_arm 2048 2048
	dd if="$T/data" of="$VT" bs=4096 skip=300 seek=300 count=1 oflag=direct status=none
	refused "rekey_chunk after a write in the armed range" "Resource temporarily unavailable" \
		vt-rekey rekey_chunk 2048 2048
	check_eq "the dirty chunk did not move the boundary" "$(features vt-rekey)" "2 rekey 2048"
	refused "rekey_chunk after EAGAIN needs a new arm" "Invalid argument" vt-rekey rekey_chunk 2048 2048
	check "re-arm" msg vt-rekey rekey_arm 2048 2048
	check "the chunk goes through now" msg vt-rekey rekey_chunk 2048 2048
	check_eq "boundary 4096" "$(features vt-rekey)" "2 rekey 4096"
	check_eq "data intact" "$(sum_range "$VT" 0 "$SIZE")" "$DSUM"
	check "the rest" rekey_run vt-rekey 4096 "$N" 4096
	check "rekey_finish" msg vt-rekey rekey_finish
	refused "rekey_finish twice" "Invalid argument" vt-rekey rekey_finish
	check_eq "data intact after finish" "$(sum_range "$VT" 0 "$SIZE")" "$DSUM"
	dm_remove vt-rekey
}

# ---------------------------------------------------------------- under load

# fio_loop DEV SS SIZE STOPFILE: fio randwrite + verify rounds (2 jobs on
# their own halves) until STOPFILE exists; STOPFILE.rounds and
# STOPFILE.failed count them, $T/fio.out keeps a failed round's output.
fio_loop() {
	local dev=$1 ss=$2 size=$3 stop=$4 rounds=0 failed=0
	while [ ! -e "$stop" ]; do
		rounds=$((rounds + 1))
		timeout -k 10 120 fio --name=verify --filename="$dev" --rw=randwrite \
			--bsrange="$ss"-64k --ioengine=libaio --iodepth=8 --direct=1 --numjobs=2 \
			--size=$((size / 2)) --offset_increment=$((size / 2)) \
			--verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
			--randseed="$rounds" --group_reporting >"$T/fio.round" 2>&1 ||
			{ failed=$((failed + 1)); cp "$T/fio.round" "$T/fio.out"; }
	done
	echo "$rounds" >"$stop.rounds"
	echo "$failed" >"$stop.failed"
}

load_round() {
	local ss=$1 size=$((8 * MiB)) n stop=$T/stop pid spid rounds
	n=$((size / 512))
	echo "# --- rekey under fio verify and suspends, sector size $ss"
	mk vt-rekey "0 $n volcrypt $RA $DEV $OFF $ss" || return
	check "[$ss] rekey_start B" msg vt-rekey rekey_start "$RB"
	rm -f "$stop" "$stop".*
	fio_loop "$VT" "$ss" "$size" "$stop" &
	pid=$!
	suspender vt-rekey "$stop.s" 0.5 &
	spid=$!
	EAGAINS=0
	sleep 1
	check "[$ss] chunk by chunk (256 KiB) under load" rekey_run vt-rekey 0 "$n" 512
	check "[$ss] fio was still running when the last chunk was done" kill -0 "$pid"
	echo "# [$ss] chunks armed again after a write: $EAGAINS"
	check "[$ss] rekey_finish under load" msg vt-rekey rekey_finish
	touch "$stop" "$stop.s"
	wait "$spid"
	wait "$pid"
	check "[$ss] the device was suspended and resumed meanwhile ($(cat "$stop.s.count" 2>/dev/null) times)" \
		test "$(cat "$stop.s.count" 2>/dev/null || echo 0)" -gt 0
	rounds=$(cat "$stop.rounds" 2>/dev/null || echo 0)
	check "[$ss] fio rounds during the rekey ($rounds)" test "$rounds" -ge 2
	if [ "$(cat "$stop.failed" 2>/dev/null)" = 0 ]; then
		ok "[$ss] every fio randwrite + verify round passed"
	else
		fail "[$ss] every fio randwrite + verify round passed"
		diag_file fio "$T/fio.out"
	fi
	read -r -a st <<<"$(dmsetup status vt-rekey)"
	check_eq "[$ss] status: no errors, nothing rejected" "${st[*]:5:3}" "0 0 0"
	sum_range "$VT" 0 "$size" >"$T/sum.vt"
	dm_remove vt-rekey
	if dc dc-rekey "$RB" "$ss" "$n"; then
		check_eq "[$ss] dm-crypt with key B reads what fio left" \
			"$(sum_range /dev/mapper/dc-rekey 0 "$size")" "$(cat "$T/sum.vt")"
		dm_remove dc-rekey
	fi
}

# ---------------------------------------------------------------- I/O error in a chunk

error_round() {
	local ss=512 under=/dev/mapper/vt-under
	echo "# --- I/O error below during a chunk"
	mk vt-under "0 $N linear $DEV $OFF" || return
	mk vt-rekey "0 $N volcrypt $RA $under 0 $ss" || return
	write_range "$T/data" "$VT" 0
	check "rekey_start B" msg vt-rekey rekey_start "$RB"
	check "rekey 0..2048" rekey_run vt-rekey 0 2048 2048
	check "rekey_arm 2048 2048" msg vt-rekey rekey_arm 2048 2048
	# The first sectors of the chunk fail below: nothing of it is rewritten.
	printf '%s\n' "0 2048 linear $DEV $OFF" "2048 8 error" \
		"2056 $((N - 2056)) linear $DEV $((OFF + 2056))" >"$T/under.table"
	dmsetup suspend vt-under && dmsetup reload vt-under "$T/under.table" && dmsetup resume vt-under
	refused "rekey_chunk with a read error below" "Input/output error" vt-rekey rekey_chunk 2048 2048
	check_eq "the failed chunk did not move the boundary" "$(features vt-rekey)" "2 rekey 2048"
	check_not "a read in the failed chunk fails (the device below is fine there)" \
		dd if="$VT" of=/dev/null bs=4096 skip=$(((2048 + 64) * 512 / 4096)) count=1 iflag=direct status=none
	check "a read below the chunk works" dd if="$VT" of=/dev/null bs=4096 count=1 iflag=direct status=none
	check "a read above the chunk works" \
		dd if="$VT" of=/dev/null bs=4096 skip=$((4096 * 512 / 4096)) count=1 iflag=direct status=none
	refused "rekey_arm after a failed chunk" "Input/output error" vt-rekey rekey_arm 2048 2048
	refused "rekey_finish after a failed chunk" "Input/output error" vt-rekey rekey_finish
	printf '%s\n' "0 $N linear $DEV $OFF" >"$T/under.table"
	dmsetup suspend vt-under && dmsetup reload vt-under "$T/under.table" && dmsetup resume vt-under
	check_not "still failing after the device below recovered" \
		dd if="$VT" of=/dev/null bs=4096 skip=$(((2048 + 64) * 512 / 4096)) count=1 iflag=direct status=none
	dmsetup table vt-rekey >"$T/table"
	check "reload with the table as shown" bash -c \
		"DM_DISABLE_UDEV=1 dmsetup reload vt-rekey '$T/table' && DM_DISABLE_UDEV=1 dmsetup resume vt-rekey"
	check_eq "after the reload all data reads back" "$(sum_range "$VT" 0 "$SIZE")" "$DSUM"
	check "and the rekey goes on to the end" rekey_run vt-rekey 2048 "$N" 2048
	check "rekey_finish" msg vt-rekey rekey_finish
	check_eq "data intact" "$(sum_range "$VT" 0 "$SIZE")" "$DSUM"
	dm_remove vt-rekey
	dm_remove vt-under
}

full_round 512
boundary_round 512
full_round 4096
boundary_round 4096
dirty_and_bad_messages
error_round
load_round 512
load_round 4096

check_eq "no holder left on $DEV" "$(ls /sys/block/${DEV#/dev/}/holders)" ""
kernel_log_clean "kernel log clean (no warning, oops, hung task)"
finish
