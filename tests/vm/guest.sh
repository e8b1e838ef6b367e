#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM, as root, in the checkout's directory:
#   guest.sh KO|- CMDFILE
# Brings up loopback, loads KO (unless "-"), runs the bash script CMDFILE,
# unloads the module, then fails if the kernel log shows any splat.
# Exits with CMDFILE's status, or 90+ for a harness failure.
set -u
ko=$1
cmdfile=$2

ip link set lo up
# Keep the console clean; the log is scanned below.
dmesg -n 1 2>/dev/null
export PATH=/opt/netatop-rs/bin:$PATH

if [ "$ko" != - ]; then
	if ! insmod "$ko"; then
		echo "guest: insmod $ko failed" >&2
		dmesg | tail -n 20 >&2
		exit 91
	fi
fi

bash "$cmdfile"
rc=$?

if [ "$ko" != - ] && grep -q '^netatop ' /proc/modules; then
	if ! rmmod netatop; then
		echo "guest: rmmod netatop failed" >&2
		[ $rc = 0 ] && rc=92
	fi
fi

# Anything the kernel must never print. Checked on every run.
pattern='WARNING:|BUG:|Oops|general protection fault|Kernel panic|sleeping function called from invalid context'
pattern+='|rcu: INFO: .*detected stall|self-detected stall|RCU Stall|rcu_.*stall'
pattern+='|kmemleak|unreferenced object|KASAN:|UBSAN:|KFENCE:|refcount_t:'
pattern+='|possible recursive locking|circular locking dependency|inconsistent lock state|lock held when returning'
pattern+='|blocked for more than|soft lockup|hard LOCKUP|list_add corruption|list_del corruption'
pattern+='|panicked at|rust_panic|leaked|scheduling while atomic|Call Trace:'
splats=$(dmesg | grep -E -i "$pattern")
lines=$(dmesg | wc -l)
if [ -n "$splats" ]; then
	echo "guest: the kernel log shows problems:" >&2
	echo "$splats" >&2
	echo "---- full kernel log ----" >&2
	dmesg >&2
	[ $rc = 0 ] && rc=93
else
	echo "guest: kernel log clean ($lines lines checked)"
fi
exit $rc
