#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: netatop.ko's overhead against a kernel without the module and
# against an empty netfilter hook (the floor of any hook-based design).
#
#  1. setup and the cached test kernel (as make check),
#  2. netatop.ko and tests/bench/nf_empty (nf_empty.ko) against that kernel,
#     into build/bench/,
#  3. the load generators (netatop_user/bench, release mode),
#  4. ONE VM boot without any module, running tests/bench/guest-bench.sh:
#     each workload alternates (a) no module, (b) nf_empty.ko, (c) netatop.ko
#     for BENCH_REPS repetitions,
#  5. the table (medians, ratios to (a), targets) on stdout and in
#     build/bench/table.txt; build/bench/summary.json; the raw results in
#     build/bench/raw.txt and the whole guest log in build/bench/vm.log.
#
# The guest runs under QEMU (TCG unless KVM works): only the ratios measured
# within one run mean something, never the absolute rates.
#
# Environment: BENCH_PROFILE_BASE_KO (a profile build of netatop.ko, e.g.
# of the previous commit, that the profile workload alternates with this
# one's: scripts/module.sh KDIR build/prof-base NETATOP_PROFILE=y; what each
# part of a hook pass costs is counted exactly by make insns);
# BENCH_QUICK=1 (2 repetitions of 1 s: checks that everything
# runs, the numbers mean little; the refusals workload sends 2000 requests per
# repetition); BENCH_WORKLOADS (subset of "udp4 udp6 tcp_rr tcp_crr ab
# refusals flood scale gc scrape profile"); the knobs of tests/bench/guest-bench.sh
# (BENCH_REPS, BENCH_DURATION, BENCH_AB_*, BENCH_SCALE_*, BENCH_GC_*, ...;
# BENCH_REFUSALS_REQUESTS (40000) and BENCH_REFUSALS_CONCURRENCY (50): the
# refusals workload's ab -n and -c, BENCH_REPS runs with netatop.ko loaded
# once with its default parameters, or BENCH_REFUSALS_NETATOP_PARAMS, its
# refused entries read after each);
# VM_CPUS (2), VM_MEMORY (2G here).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"

. "$here/steps.sh"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	: "${BENCH_REPS:=2}" "${BENCH_DURATION:=1}" "${BENCH_WARMUP:=0.3}"
	: "${BENCH_AB_DURATION:=2}" "${BENCH_AB_RAMP:=3}" "${BENCH_AB_SETTLE:=0.5}"
	: "${BENCH_REFUSALS_REQUESTS:=2000}"
fi
: "${BENCH_REPS:=5}" "${BENCH_DURATION:=2}" "${BENCH_AB_DURATION:=5}"
export VM_MEMORY=${VM_MEMORY:-2G} VM_CPUS=${VM_CPUS:-2}

step "setup"
QUIET_OK=1 "$here/setup.sh"
step "test kernel"
kdir=$("$here/kernel.sh" test)
echo "    KDIR=$kdir"

out=$top/build/bench
mkdir -p "$out"
step "modules: netatop.ko, its profile build, nf_empty.ko"
"$here/module.sh" "$kdir" "$out/netatop"
"$here/module.sh" "$kdir" "$out/profile" NETATOP_PROFILE=y
"$here/nf-empty.sh" "$kdir" "$out/nf_empty"
for ko in "$out/netatop/netatop.ko" "$out/profile/netatop.ko" "$out/nf_empty/nf_empty.ko"; do
	[ -f "$ko" ] || fail "$ko was not built"
done

step "load generators (netatop-bench, release), netatop-exporter and netatop-dbus"
( cd "$top/netatop_user" && cargo build --quiet --release -p netatop-bench -p netatop-exporter -p netatop-dbus )
bin=${CARGO_TARGET_DIR:-$top/netatop_user/target}/release/netatop-bench
exporter=${CARGO_TARGET_DIR:-$top/netatop_user/target}/release/netatop-exporter
dbus=${CARGO_TARGET_DIR:-$top/netatop_user/target}/release/netatop-dbus
[ -x "$bin" ] || fail "$bin was not built"
[ -x "$exporter" ] || fail "$exporter was not built"
[ -x "$dbus" ] || fail "$dbus was not built"

accel=tcg
[ "$("$here/kvm-ok.sh" "$kdir")" = yes ] && accel=kvm

# The guest runs private copies (it sees the host's root, /tmp included), so
# that a rebuild or a make clean in the checkout during the run changes
# nothing.
stage=$(mktemp -d /tmp/netatop-bench.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp "$out/netatop/netatop.ko" "$out/nf_empty/nf_empty.ko" "$bin" "$exporter" "$dbus" "$stage/"
cp "$top/packaging/dbus/org.gnome.GTopNetStats.conf" "$top/tests/vm/system-bus.conf" "$stage/"
cp "$out/profile/netatop.ko" "$stage/netatop-profile.ko"
if [ -n "${BENCH_PROFILE_BASE_KO:-}" ]; then
	cp "$BENCH_PROFILE_BASE_KO" "$stage/netatop-profile-base.ko"
	vars_base=(BENCH_PROFILE_BASE_KO="$stage/netatop-profile-base.ko")
fi

# Settings reach the guest as shell words of the command line.
vars=(BENCH_BIN="$stage/netatop-bench" BENCH_NETATOP_KO="$stage/netatop.ko"
	BENCH_EMPTY_KO="$stage/nf_empty.ko" BENCH_PROFILE_KO="$stage/netatop-profile.ko"
	BENCH_EXPORTER="$stage/netatop-exporter" BENCH_DBUS="$stage/netatop-dbus"
	BENCH_DBUS_POLICY="$stage/org.gnome.GTopNetStats.conf" BENCH_BUS_CONF="$stage/system-bus.conf"
	BENCH_ACCEL="$accel" ${vars_base[@]+"${vars_base[@]}"})
for v in BENCH_REPS BENCH_DURATION BENCH_WARMUP BENCH_RR_CPU BENCH_AB_CONCURRENCY \
	BENCH_AB_DURATION BENCH_AB_RAMP BENCH_AB_SETTLE BENCH_SCALE_LEVELS BENCH_SCALE_PROCS \
	BENCH_SCALE_NETATOP_PARAMS BENCH_GC_NAMESPACES BENCH_GC_PORTS BENCH_GC_TASKS BENCH_SCRAPE_TASKS \
	BENCH_SCRAPE_CONNS \
	BENCH_WORKLOADS BENCH_FLOOD_PORTS BENCH_REFUSALS_REQUESTS BENCH_REFUSALS_CONCURRENCY \
	BENCH_REFUSALS_NETATOP_PARAMS; do
	[ -n "${!v:-}" ] && vars+=("$v=${!v}")
done
words=()
for a in "${vars[@]}"; do words+=("${a%%=*}='${a#*=}'"); done

step "VM boot ($accel, $VM_CPUS vCPUs, $VM_MEMORY): ${BENCH_REPS} repetitions of ${BENCH_DURATION} s per variant"
set +e
"$here/vm.sh" --no-module -- "${words[@]}" "$top/tests/bench/guest-bench.sh" 2>&1 \
	| sed -u 's/\r$//' | tee "$out/vm.log" | grep --line-buffered -v '^BENCH '
rc=${PIPESTATUS[0]}
set -e
sed -n 's/^BENCH //p' "$out/vm.log" >"$out/raw.txt"

step "report"
echo
"$stage/netatop-bench" report "$out/raw.txt" --json "$out/summary.json" | tee "$out/table.txt"
echo
echo "summary: $out/summary.json (raw: $out/raw.txt, guest log: $out/vm.log)"
[ "$rc" = 0 ] || fail "the guest run failed (status $rc; see $out/vm.log)"
