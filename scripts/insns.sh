#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make insns: how many instructions a hook pass executes, exactly, with
# netatop.ko and with an empty netfilter hook (nf_empty.ko), per packet of
# a steady loopback flow (UDP 64 B over IPv4 and IPv6, 1-byte TCP
# request/response), and per connection of a flow that opens one for each
# request (tcp_crr: connect, 1-byte request and answer, close; every pass
# of both ends, from the SYN to the last ACK). Unlike make bench's rates and the profile build's ns,
# the count does not depend on the host's load, so it compares two builds
# exactly, and it is the same under TCG and KVM.
#
# It boots the test kernel with QEMU's gdb stub; the guest
# (tests/bench/guest-insns.sh) runs each flow with each module loaded, and
# gdb (tests/bench/insns-gdb.py) single-steps nf_hook_slow() calls from the
# host: from its first instruction to its return is everything a
# registered hook adds to a packet (with no hook registered, nf_hook() does
# not call it).
#
# The C original it replaces, netatop 3.2.2, is counted too when its
# baseline is there (../shared/baselines/netatop-3.2.2/build.sh, built for
# the test kernel here; 3.2.2 has no IPv6 hooks, so only the IPv4 flows),
# and the table compares per packet: netatop-rs, the C original, the empty
# hook, and netatop-rs / C.
#
# Environment: INSNS_BASE_KO (a netatop.ko built for the test kernel, e.g.
# of the previous commit, counted as another variant), INSNS_C_BASELINE
# (the directory of 3.2.2's build.sh; "none": not counted), INSNS_PASSES (9
# passes per hook; the medians are printed), INSNS_CONNS (5 connections of
# tcp_crr), INSNS_PATTERNS ("udp4 udp6 tcp_rr tcp_crr").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"

. "$here/steps.sh"

step "setup"
QUIET_OK=1 "$here/setup.sh"
kdir=$("$here/kernel.sh" test)
out=$top/build/insns
mkdir -p "$out"
step "modules: netatop.ko, nf_empty.ko"
"$here/module.sh" "$kdir" "$out/netatop"
"$here/nf-empty.sh" "$kdir" "$out/nf_empty"
c_baseline=${INSNS_C_BASELINE:-$top/../shared/baselines/netatop-3.2.2}
if [ "$c_baseline" != none ] && [ -x "$c_baseline/build.sh" ]; then
	step "the C original: netatop 3.2.2 from $c_baseline"
	"$c_baseline/build.sh" "$kdir" "$out/c322" >"$out/c322.log" 2>&1 \
		|| { tail -n 20 "$out/c322.log"; fail "could not build the C original ($out/c322.log)"; }
else
	c_baseline=none
fi

stage=$(mktemp -d /tmp/netatop-insns.XXXXXX)
vm=""
cleanup() {
	[ -n "$vm" ] && kill "$vm" 2>/dev/null
	rm -rf "$stage"
}
trap cleanup EXIT
cp "$out/netatop/netatop.ko" "$stage/netatop.ko"
cp "$out/nf_empty/nf_empty.ko" "$stage/nf_empty.ko"
words=(INSNS_DIR="'$stage'" INSNS_EMPTY_KO="'$stage/nf_empty.ko'"
	INSNS_NETATOP_KO="'$stage/netatop.ko'"
	INSNS_PATTERNS="'${INSNS_PATTERNS:-udp4 udp6 tcp_rr tcp_crr}'")
if [ -n "${INSNS_BASE_KO:-}" ]; then
	cp "$INSNS_BASE_KO" "$stage/base.ko"
	words+=(INSNS_BASE_KO="'$stage/base.ko'")
fi
if [ "$c_baseline" != none ]; then
	cp "$out/c322/netatop.ko" "$stage/c322.ko"
	words+=(INSNS_C_KO="'$stage/c322.ko'")
fi

port=$(( 20000 + RANDOM % 20000 ))
step "VM boot with a gdb stub on 127.0.0.1:$port"
# Stepping stretches one hook pass, inside rcu_read_lock(), over seconds of
# guest time, which RCU's stall detector reports: not in this VM. The
# guest's clock counts its own instructions (-icount): with the host's, it
# ran on while gdb stepped, TCP's timers fired in the middle of tcp_crr's
# connections, and the C original and netatop-rs, slower to step than the
# empty hook, were counted with 4 packets more per connection (30 passes
# instead of 22).
VM_QEMU_OPTS="-gdb tcp:127.0.0.1:$port -icount shift=0,sleep=on" VM_APPEND="rcupdate.rcu_cpu_stall_suppress=1" \
	"$here/vm.sh" --no-module -- \
	"${words[@]}" "$top/tests/bench/guest-insns.sh" >"$out/vm.log" 2>&1 &
vm=$!

: >"$out/counts.txt"
: >"$out/pcs.txt"
: >"$out/conns.txt"
done_lines=0
while :; do
	mapfile -t ready < <(sed -n 's/\r$//; s/^INSNS READY //p' "$out/vm.log")
	while [ "$done_lines" -lt "${#ready[@]}" ]; do
		read -r variant pattern slow rs mark <<<"${ready[$done_lines]}"
		done_lines=$((done_lines + 1))
		family=ipv4
		[ "$pattern" = udp6 ] && family=ipv6
		step "counting: $variant, $pattern"
		# A count takes a minute or two; a gdb that has not finished in ten
		# has lost its stop at nf_hook_slow (seen twice with other VMs
		# running beside it): detach it and attach a new one, once.
		for try in 1 2; do
			rc=0
			INSNS_GDB="127.0.0.1:$port" INSNS_SLOW="$slow" INSNS_RS="$rs" INSNS_MARK="$mark" \
				INSNS_CONN="$([ "$pattern" = tcp_crr ] && echo 1 || echo 0)" INSNS_CONNS="${INSNS_CONNS:-5}" \
				INSNS_FAMILY="$family" INSNS_PASSES="${INSNS_PASSES:-9}" \
				INSNS_TAG="$variant $pattern" INSNS_OUT="$out/counts.txt" INSNS_PCS="$out/pcs.txt" \
				timeout --signal=INT --kill-after=30 600 \
				gdb -batch -nx -x "$top/tests/bench/insns-gdb.py" >"$out/gdb.log" 2>&1 || rc=$?
			[ "$rc" -eq 124 ] && [ "$try" -eq 1 ] || break
			echo "    gdb had not finished after 600 s; attaching again"
		done
		[ "$rc" -eq 0 ] || { cat "$out/gdb.log"; fail "gdb failed ($variant, $pattern; status $rc)"; }
		touch "$stage/go-$variant-$pattern"
	done
	grep -q '^INSNS DONE' "$out/vm.log" && break
	kill -0 "$vm" 2>/dev/null || { tail -20 "$out/vm.log"; fail "the VM ended early"; }
	sleep 1
done
wait "$vm" || { tail -20 "$out/vm.log"; fail "the guest run failed (see $out/vm.log)"; }
vm=""

step "report"
echo
sed -n 's/\r$//; s/^INSNS SYM //p' "$out/vm.log" >"$out/syms.txt"
python3 "$top/tests/bench/insns-report.py" "$out/counts.txt" "$out/pcs.txt" "$out/syms.txt" \
	"$kdir/System.map" "$(sed -n 's/\r$//; s/^INSNS READY [^ ]* [^ ]* \([^ ]*\) .*/\1/p' "$out/vm.log" | head -1)" \
	| tee "$out/table.txt"
