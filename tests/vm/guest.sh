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
# The last line of every run, read by vm.sh: virtme-ng does not return the
# guest's status when it runs the command on the console (the debug flavour).
trap 'echo "guest: exit status $?"' EXIT

ip link set lo up
# Keep the console clean; the log is scanned below.
dmesg -n 1 2>/dev/null
export PATH=/opt/netatop-rs/bin:$PATH

# Debug kernels: forget what kmemleak saw during boot; scanned at the end.
kmemleak=/sys/kernel/debug/kmemleak
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null
[ -w $kmemleak ] && echo clear >$kmemleak

# Reports from before the module is loaded (boot) are the kernel's own:
# shown, not counted.
boot_lines=$(dmesg | wc -l)

# Anything the kernel must never print. Checked on every run. (A kernel
# general protection fault prints "Oops:"; user-space ones print "traps:".)
pattern='WARNING:|BUG:|Oops|Kernel panic|sleeping function called from invalid context'
pattern+='|rcu: INFO: .*detected stall|self-detected stall|rcu_preempt detected stalls|rcu_sched detected stalls'
pattern+='|suspected memory leaks|unreferenced object|KASAN:|UBSAN:|KFENCE:|refcount_t:'
pattern+='|possible recursive locking|circular locking dependency|inconsistent lock state|lock held when returning'
pattern+='|blocked for more than|soft lockup|hard LOCKUP|list_add corruption|list_del corruption'
pattern+='|panicked at|rust_panic|scheduling while atomic|Call Trace:'
# Case-sensitive: the kernel prints these exactly so ("MP-BIOS bug:" at
# boot is not a BUG).

# A debug kernel (it has /proc/lockdep_stats) is only worth running with its
# checkers on. A report while booting taints the kernel, and that switches
# lockdep off (and KASAN reports only its first bug): refuse the run rather
# than pass it with them off.
lockdep=false
[ -r /proc/lockdep_stats ] && lockdep=true
lockdep_on() { grep -Eq '^ *debug_locks: +1$' /proc/lockdep_stats; }
if $lockdep && { ! lockdep_on || [ "$(cat /proc/sys/kernel/tainted)" != 0 ]; }; then
	echo "guest: the kernel's debugging was switched off while booting (taint $(cat /proc/sys/kernel/tainted)); this run would prove nothing:" >&2
	dmesg | grep -E -A40 "$pattern" >&2
	exit 95
fi

if [ "$ko" != - ]; then
	if ! insmod "$ko"; then
		echo "guest: insmod $ko failed" >&2
		dmesg | tail -n 20 >&2
		exit 91
	fi
	echo "guest: kernel $(uname -r); netatop.ko vermagic '$(modinfo -F vermagic "$ko")'; tainted $(cat /proc/sys/kernel/tainted)"
fi

bash "$cmdfile"
rc=$?

if [ "$ko" != - ] && grep -q '^netatop ' /proc/modules; then
	if ! rmmod netatop; then
		echo "guest: rmmod netatop failed" >&2
		[ $rc = 0 ] && rc=92
	fi
fi

if [ -w $kmemleak ]; then
	# Objects must be unreferenced for two scans to be reported.
	echo scan >$kmemleak; sleep 6; echo scan >$kmemleak
	leaks=$(cat $kmemleak)
	if [ -n "$leaks" ]; then
		echo "guest: kmemleak reports leaks:" >&2
		echo "$leaks" >&2
		[ $rc = 0 ] && rc=94
	else
		echo "guest: kmemleak scan clean"
	fi
fi

# With the lines after each, so a report can be sent upstream as it is.
boot_splats=$(dmesg | head -n "$boot_lines" | grep -E -A40 "$pattern")
if [ -n "$boot_splats" ]; then
	echo "guest: note: the kernel reported problems while booting, before the module was loaded (not counted):"
	echo "$boot_splats"
fi
splats=$(dmesg | tail -n +"$((boot_lines + 1))" | grep -E "$pattern")
lines=$(( $(dmesg | wc -l) - boot_lines ))
if [ -n "$splats" ]; then
	echo "guest: the kernel log shows problems:" >&2
	echo "$splats" >&2
	echo "---- full kernel log ----" >&2
	dmesg >&2
	[ $rc = 0 ] && rc=93
else
	echo "guest: kernel log clean ($lines lines since the module was loaded checked)"
fi
if $lockdep; then
	if lockdep_on; then
		echo "guest: lockdep stayed on for the whole run"
	else
		echo "guest: lock debugging was switched off during the run (taint $(cat /proc/sys/kernel/tainted))" >&2
		[ $rc = 0 ] && rc=93
	fi
fi
exit $rc
