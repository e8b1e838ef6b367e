#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots a kernel in QEMU (virtme-ng), loads netatop.ko, runs a command as
# root in the checkout's directory, unloads the module and checks the kernel
# log. Exits with the command's status.
#
# usage: scripts/vm.sh [--kernel test|debian|RELEASE] [--ko PATH | --no-module]
#                      [--flavour test|debug] [--] [CMD...]
#   --kernel test    the test kernel built here (default; --flavour debug: the
#                    KASAN/lockdep one)
#   --kernel RELEASE one of Debian's own kernels of the matrix (kernels.tsv),
#                    unmodified, with the module built for it in its suite's
#                    build root by the stock-kernel path (scripts/kdir.sh);
#                    "debian" is 7.3.4+deb13-amd64
#   no CMD: an interactive shell in the guest.
# Environment: VM_CPUS (2), VM_MEMORY (1G), NETATOP_KVM (auto|yes|no),
# KERNEL (default for --kernel), VM_QEMU_OPTS (extra QEMU arguments, e.g.
# a gdb stub for make insns), VM_APPEND (extra kernel command line).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"
. "$here/matrix.sh"

ko=""
flavour=test
kernel=${KERNEL:-test}
extra_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--ko) ko=$2; shift 2 ;;
	--no-module) ko=-; shift ;;
	--flavour) flavour=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done

QUIET_OK=1 "$here/setup.sh"
case "$kernel" in
test)
	kdir=$("$here/kernel.sh" "$flavour")
	kimg=$kdir
	if [ -z "$ko" ]; then
		"$here/module.sh" "$kdir" "$top/build/$flavour"
		ko=$top/build/$flavour/netatop.ko
	fi
	;;
*)
	[ "$flavour" = test ] || { echo "vm: Debian's kernels have no debug flavour" >&2; exit 2; }
	kernel=$(matrix_resolve "$kernel") || exit 2
	kdir=$("$here/debian-kernel.sh" "$kernel")
	kimg=$kdir/vmlinuz
	# The guest links /lib/modules/<release> to the unpacked modules; the
	# guest's /var/cache is its own, so share that directory explicitly.
	extra_args=(--rodir "$kdir")
	if [ -z "$ko" ]; then
		"$here/debian-module.sh" "$kernel"
		ko=$top/build/kernel-$kernel/netatop.ko
	fi
	;;
esac
[ "$ko" = - ] || ko=$(cd "$(dirname "$ko")" && pwd)/$(basename "$ko")

# The command goes through a file in the checkout (the guest sees the host's
# root read-only), which avoids any quoting trouble.
mkdir -p "$top/build"
cmdfile=$(mktemp "$top/build/vm-cmd.XXXXXX")
trap 'rm -f "$cmdfile"' EXIT
{
	echo "export NETATOP_KO='$ko' NETATOP_TOP='$top'"
	if [ $# -gt 0 ]; then printf '%s ' "$@"; echo; else echo 'exec bash -i'; fi
} >"$cmdfile"

kvm_args=(--disable-kvm)
if [ "$("$here/kvm-ok.sh" "$kimg")" = yes ]; then kvm_args=(); fi

exec_args=(--exec "$top/tests/vm/guest.sh $ko $cmdfile")

# The debug kernel boots with 4-level paging. With 5-level paging (QEMU's
# TCG CPU has LA57) Linux 7.3 can report a false "KASAN: wild-memory-access
# in rcu_is_watching" at boot: identify_cpu() clears boot_cpu_data's feature
# bits, so for a moment pgtable_l5_enabled() is false and KASAN's shadow
# bounds are the 4-level ones; an interrupt in that window touches per-CPU
# data in the 5-level direct map. The report taints the kernel, which turns
# lockdep off and silences KASAN for the rest of the run (guest.sh refuses
# such a run).
#
# Under KASAN and TCG, udev's coldplug does not settle within virtme-ng's
# 300 s, so the guest runs the command on the console instead of the
# virtio ports, and vng shows that console only when verbose: the debug
# flavour runs verbose (its boot log is in the output, before the tests').
append_args=()
if [ "$flavour" = debug ]; then append_args=(--append no5lvl --verbose); fi
# vng puts --qemu-opts last on QEMU's command line, whatever the order here.
if [ -n "${VM_QEMU_OPTS:-}" ]; then append_args+=("--qemu-opts=$VM_QEMU_OPTS"); fi
if [ -n "${VM_APPEND:-}" ]; then append_args+=(--append "$VM_APPEND"); fi

cd "$top"
set +e
# Pipe vng's output: QEMU reopens /proc/self/fd/{1,2}, which would truncate a
# regular file given as stdout.
# The guest's status is the one guest.sh prints last ("guest: exit status
# N"): on the console (the debug flavour) vng exits 255 whatever it was. No
# such line (the guest died or never ran guest.sh) fails the run.
out=$(mktemp "$top/build/vm-out.XXXXXX")
trap 'rm -f "$cmdfile" "$out"' EXIT
"$NETATOP_TOOLS/vng-venv/bin/vng" --run "$kimg" --user root \
	--memory "${VM_MEMORY:-1G}" --cpus "${VM_CPUS:-2}" "${kvm_args[@]}" \
	"${append_args[@]}" "${extra_args[@]}" "${exec_args[@]}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
guest_rc=$(sed -n 's/^.*guest: exit status \([0-9][0-9]*\)\r*$/\1/p' "$out" | tail -n 1)
if [ -z "$guest_rc" ]; then
	echo "vm: the guest printed no exit status (vng exited $rc)" >&2
	[ "$rc" -ne 0 ] || rc=96
	exit "$rc"
fi
if [ "$rc" -ne 0 ] && [ "$rc" -ne "$guest_rc" ] && [ "$flavour" != debug ]; then
	echo "vm: vng exited $rc, the guest $guest_rc" >&2
	exit "$rc"
fi
exit "$guest_rc"
