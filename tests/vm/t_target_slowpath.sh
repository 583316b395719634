#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The volcrypt target's slow paths, which AES-NI in a worker never takes:
#   - an asynchronous cipher: with xts_driver=cryptd(xts(ecb(aes-...))) every
#     crypto request returns -EINPROGRESS and completes in cryptd's
#     thread, so bios have many requests in flight from the mempool and
#     finish in the callback (writes then submit from the workqueue);
#   - bounce-page starvation: with bounce_page_limit=1 every write draws
#     on the mempool reserve alone and writers wait for each other's
#     pages (the mutex-serialised GFP_NOIO retry) -- nothing may fail or
#     hang;
#   - an xts_driver that is not xts(aes) is refused.
# Data must still be byte-identical to dm-crypt and pass fio verify.
# shellcheck disable=SC2317 # helpers are called through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram0
DESC=volcrypt:vm-target-slow
REF=":64:logon:$DESC"
OFF=2048
SIZE=$((16 * MiB))
SECTORS=$((SIZE / 512))
VT=/dev/mapper/vt-slow
PARAMS=/sys/module/dm_volcrypt/parameters

require_tool fio || finish
require_tool keyctl || finish

target_key "$DESC"
# Registered first, so it runs last: the next test gets a default module.
at_exit rmmod dm_volcrypt
at_exit keyctl unlink "$kid" @u

# load PARAMS...: (re)loads the module with these parameters.
load() {
	rmmod dm_volcrypt >/dev/null 2>&1
	modprobe dm-volcrypt "$@"
}

round() {
	local what=$1 ss=$2 opts="" a=$T/a b=$T/b
	echo "# --- $what, sector size $ss"
	[ "$ss" = 4096 ] && opts=" 1 sector_size:4096"
	random_file "$a" "$SIZE"
	random_file "$b" "$SIZE"
	mk vt-slow "0 $SECTORS volcrypt $REF $DEV $OFF $ss" || return
	read -r -a st <<<"$(dmsetup status vt-slow)"
	echo "# cipher driver: ${st[8]}"
	if [ "$what" = cryptd ]; then
		check "[$what $ss] the cipher is cryptd's (asynchronous)" test "${st[8]#cryptd(}" != "${st[8]}"
	fi
	check "[$what $ss] write 16 MiB through volcrypt" write_range "$a" "$VT" 0
	check "[$what $ss] read it back" test "$(sum_range "$VT" 0 "$SIZE")" = "$(sum_of "$a")"
	dm_remove vt-slow
	mk dc-slow "0 $SECTORS crypt aes-xts-plain64 $KEYHEX 0 $DEV $OFF$opts" || return
	check "[$what $ss] dm-crypt reads what volcrypt wrote" \
		test "$(sum_range /dev/mapper/dc-slow 0 "$SIZE")" = "$(sum_of "$a")"
	check "[$what $ss] write other data through dm-crypt" write_range "$b" /dev/mapper/dc-slow 0
	dm_remove dc-slow
	mk vt-slow "0 $SECTORS volcrypt $REF $DEV $OFF $ss" || return
	check "[$what $ss] volcrypt reads what dm-crypt wrote" \
		test "$(sum_range "$VT" 0 "$SIZE")" = "$(sum_of "$b")"
	# 4 writers of up to 1 MiB bios, 8 deep, on a 1 MiB page reserve.
	if timeout -k 10 200 fio --name=slow --filename="$VT" --rw=randwrite --bsrange="$ss"-1m \
		--ioengine=libaio --iodepth=8 --direct=1 --numjobs=4 \
		--size=$((SIZE / 4)) --offset_increment=$((SIZE / 4)) \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
		--group_reporting >"$T/fio.out" 2>&1; then
		ok "[$what $ss] fio randwrite $ss..1m x4 jobs QD8, verified"
	else
		fail "[$what $ss] fio randwrite $ss..1m x4 jobs QD8, verified"
		diag_file fio "$T/fio.out"
	fi
	read -r -a st <<<"$(dmsetup status vt-slow)"
	check_eq "[$what $ss] status: no errors, nothing rejected" "${st[*]:5:3}" "0 0 0"
	dm_remove vt-slow
}

kmsg_mark

# Starved bounce pages, the default (synchronous) cipher.
check "modprobe dm-volcrypt bounce_page_limit=1" load bounce_page_limit=1
check_eq "parameter bounce_page_limit" "$(cat "$PARAMS/bounce_page_limit" 2>&1)" 1
round starved 512
round starved 4096

# Asynchronous cipher (and starved pages).  cryptd wraps a synchronous
# xts(aes), named explicitly ("cryptd(xts(aes))" does not resolve), which
# the xts template builds on ecb(<aes cipher>): the ecb module, staged as
# xts's soft dependency.  The single-block AES-NI cipher when there is one.
ASYNC="cryptd(xts(ecb(aes-generic)))"
[ -d /sys/module/aesni_intel ] && ASYNC="cryptd(xts(ecb(aes-aesni)))"
if check "crypto module ecb available (soft dependency of xts)" modprobe ecb; then
	check "modprobe dm-volcrypt xts_driver=$ASYNC bounce_page_limit=1" \
		load "xts_driver=$ASYNC" bounce_page_limit=1
	check_eq "parameter xts_driver" "$(cat "$PARAMS/xts_driver" 2>&1)" "$ASYNC"
	round cryptd 512
	round cryptd 4096
fi

# Not xts(aes): refused, whatever it is.
check "modprobe dm-volcrypt xts_driver=cbc(aes)" load 'xts_driver=cbc(aes)'
MARK2="volcrypt-vm-mark $TEST_NAME $$ cbc"
echo "$MARK2" >/dev/kmsg
at_exit dm_remove vt-slow
check_not "a table is refused when xts_driver is not xts(aes)" bash -c \
	"printf '%s\n' '0 $SECTORS volcrypt $REF $DEV $OFF 512' | DM_DISABLE_UDEV=1 dmsetup create vt-slow 2>/dev/null"
check "... with its own message" bash -c "dmesg | awk -v m='$MARK2' 'f; index(\$0, m) { f = 1 }' |
	grep -q 'volcrypt: Module parameter xts_driver does not name an xts(aes) implementation'"
rmmod dm_volcrypt

kernel_log_clean "no warning or oops in the kernel log"
finish
