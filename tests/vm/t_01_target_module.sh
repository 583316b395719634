#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# dm-volcrypt.ko's life cycle: it loads and registers the "volcrypt"
# target (also by itself, when a table needs it), cannot be unloaded
# while a target exists, and survives 20
# rounds of load, create, write, read, remove, unload -- with failed
# constructors in between (half-built targets torn down) -- without a
# leaked device reference or a warning in dmesg; and two batches of 40 create/remove
# cycles leak no memory.
# shellcheck disable=SC2317 # helpers are called through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram1
DESC=volcrypt:vm-target-module
REF=":64:logon:$DESC"
N=8192
VT=/dev/mapper/vt-module
ROUNDS=20

require_tool keyctl || finish

head -c 64 /dev/urandom >"$T/key"
kid=$(keyctl padd logon "$DESC" @u <"$T/key")
at_exit keyctl unlink "$kid" @u
random_file "$T/data" $MiB

loaded() {
	[ -d /sys/module/dm_volcrypt ]
}
mk_bare() {                        # mk_bare NAME TABLE: no cleanup registered (leak rounds)
	printf '%s\n' "$2" | dmsetup create "$1" >"$T/dm.err" 2>&1
}
# Memory in use, KiB: what is neither free nor page cache nor reclaimable
# slab, after dropping what can be dropped.  Writes the fields to FILE.
used_kib() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	cp /proc/meminfo "$1"
	awk '/^MemTotal:/ { t = $2 } /^MemFree:/ { f = $2 } /^Buffers:/ { b = $2 }
	     /^Cached:/ { c = $2 } /^SReclaimable:/ { s = $2 }
	     END { print t - f - b - c - s }' "$1"
}
holders() {
	find "/sys/block/${DEV#/dev/}/holders" -mindepth 1 -maxdepth 1 | wc -l
}

kmsg_mark
at_exit dm_remove vt-module

# ---------------------------------------------------------------- once, slowly

rmmod dm_volcrypt >/dev/null 2>&1
check "modprobe dm-volcrypt" modprobe dm-volcrypt
check "volcrypt v1.1.0 registered" bash -c \
	'DM_DISABLE_UDEV=1 dmsetup targets | grep -Eq "^volcrypt +v1\.1\.0$"'
check "dm-mod holds dm_volcrypt" test -e /sys/module/dm_mod/holders/dm_volcrypt
if mk_bare vt-module "0 $N volcrypt $REF $DEV 0 512"; then
	ok "target created"
	check_eq "the device below has one holder" "$(holders)" 1
	check_not "rmmod refused while a target exists" rmmod dm_volcrypt
	check "module still loaded" loaded
	check "target still works" write_range "$T/data" "$VT" 0
	dm_remove vt-module
	check_eq "no holder left" "$(holders)" 0
else
	fail "target created"
	diag_file dmsetup "$T/dm.err"
fi
check "rmmod after the target is gone" rmmod dm_volcrypt
check_not "module unloaded" loaded

# device-mapper loads the module of an unknown target type by itself.
if mk_bare vt-module "0 $N volcrypt $REF $DEV 0 512"; then
	ok "a volcrypt table loads without modprobe"
	check "the table loaded the module" loaded
	dm_remove vt-module
else
	fail "a volcrypt table loads without modprobe"
	diag_file dmsetup "$T/dm.err"
fi
rmmod dm_volcrypt >/dev/null 2>&1

# ---------------------------------------------------------------- 20 rounds

round() {
	local ss=$((RANDOM % 2 ? 512 : 4096)) off=$((RANDOM % 3 * MiB))
	modprobe dm-volcrypt || return 1
	# Failed constructors: before the device, after the device, after the key.
	mk_bare vt-module "0 $N volcrypt $REF $DEV 0 1024" && return 2
	mk_bare vt-module "0 $N volcrypt :64:logon:volcrypt:vm-target-nokey $DEV 0 512" && return 3
	# The new key of a rekey is missing: fails with the current key loaded.
	mk_bare vt-module "0 $N volcrypt $REF $DEV 0 512 3 rekey :64:logon:volcrypt:vm-target-nokey 8" && return 4
	mk_bare vt-module "0 $N volcrypt $REF $DEV 0 $ss" || return 5
	write_range "$T/data" "$VT" $off || return 6
	[ "$(sum_range "$VT" $off $MiB)" = "$(sum_of "$T/data")" ] || return 7
	dmsetup remove vt-module >/dev/null 2>&1 || return 8
	rmmod dm_volcrypt || return 9
	return 0
}

dd if=/dev/zero of="$DEV" bs=1M count=$((N / 2048)) oflag=direct status=none
bad=0
for ((i = 1; i <= ROUNDS; i++)); do
	round
	rc=$?
	if [ $rc != 0 ]; then
		bad=$((bad + 1))
		echo "# round $i failed at step $rc"
		dm_remove vt-module
		rmmod dm_volcrypt >/dev/null 2>&1
	fi
done
check_eq "$ROUNDS rounds of load, failed constructors, create, I/O, remove, unload" "$bad" 0
check_eq "no holder left on the device" "$(holders)" 0
check_not "module unloaded at the end" loaded

# ---------------------------------------------------------------- leaks

# Memory is measured over create/remove cycles with the module loaded:
# reloading a module costs the kernel some memory of its own each time
# (stock dm-crypt's create/remove loop shows it too), which would drown a
# small leak.  A leaked target is at least its 1 MiB page reserve.
LEAK_ROUNDS=40
modprobe dm-volcrypt
cycle() {
	mk_bare vt-module "0 $N volcrypt $REF $DEV 0 512" &&
		write_range "$T/data" "$VT" 0 &&
		dmsetup remove vt-module >/dev/null 2>&1
}
cycle && cycle && cycle
# Two batches: a leak grows with every cycle, so it shows in both; the
# kernel's own one-off growth (a cache, a per-cpu area, a workqueue) lands
# in one batch or the other.  The smaller increment is the leak bound.
u0=$(used_kib "$T/meminfo.0")
bad=0
for ((i = 1; i <= 2 * LEAK_ROUNDS; i++)); do
	cycle || bad=$((bad + 1))
	[ $i = $LEAK_ROUNDS ] && u1=$(used_kib "$T/meminfo.1")
done
u2=$(used_kib "$T/meminfo.2")
check_eq "$((2 * LEAK_ROUNDS)) rounds of create, write, remove" "$bad" 0
d1=$((u1 - u0)) d2=$((u2 - u1))
echo "# memory in use: $u0, $u1, $u2 KiB; changes over 512 KiB per batch:"
for b in 1 2; do
	awk -v b=$b 'NR == FNR { a[$1] = $2; next } ($2 - a[$1]) * ($2 - a[$1]) > 512 * 512 {
		printf "#   batch %d %-18s %+d KiB\n", b, $1, $2 - a[$1] }' \
		"$T/meminfo.$((b - 1))" "$T/meminfo.$b"
done
least=$((d1 < d2 ? d1 : d2))
check "no memory leaked ($d1 and $d2 KiB in two batches of $LEAK_ROUNDS rounds)" \
	test $least -lt 4096
check "rmmod at the end" rmmod dm_volcrypt

kernel_log_clean "no warning, oops or leak report in the kernel log"
check "the failed constructors said why" bash -c "dmesg | grep -q 'volcrypt: Keyring key not found'"

finish
