#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: every test of netatop-rs.
#  1. setup (toolchain) and the cached test kernel,
#  2. the module, built normally and with clippy; rustfmt of its Rust code,
#  3. host-side: rustfmt, clippy and cargo test of netatop_user,
#  4. one VM boot on the test kernel: load the module, run the in-guest
#     cargo test binaries as root, unload, and fail on any kernel splat;
#  5. Debian's own kernels of the matrix (kernels.tsv; make check: those
#     marked "check", 7.3.4+deb13-amd64 and 7.2.13+deb14-amd64): the
#     kernel-tree detection on fixtures of each layout (Debian, Ubuntu, too
#     old, too new), then for each kernel the module built in its suite's
#     build root with the compilers its .config names (warnings and clippy),
#     the README's Debian install commands there (make deb, apt-get install,
#     DKMS, the one-line errors, removal), and one VM boot of Debian's
#     unmodified kernel image running the same in-guest tests.
# The VM boots run in the background, VM_JOBS (2) at a time, beside the
# Debian builds and package tests (three at a time took 593 s instead of
# 636 s on 2 cores, but the load made the D-Bus tests' 16-second UDP idle
# window flaky); each writes its own log, printed whole
# (with its cargo test summaries and kernel-log check) when it ends, and
# the run fails at the end if any of them failed.
#
# usage: check.sh [--flavour test|debug] [--suite main|stress|all] [--kernels "test RELEASE..."|all]
#   make check         = check.sh                 (main suite, test + the matrix's "check" kernels)
#   make check-kernels = check.sh --kernels all   (main suite, test + every kernel of the matrix)
#   make stress        = check.sh --suite stress  (stress suite, test kernel)
#   make check-debug   = check.sh --flavour debug --suite all
#                        (KASAN, kmemleak, lockdep, ... kernel; slow)
set -euo pipefail

flavour=test
suite=main
kernels=""
while [ $# -gt 0 ]; do
	case "$1" in
	--kernels) kernels=$2; shift 2 ;;
	--flavour) flavour=$2; shift 2 ;;
	--suite) suite=$2; shift 2 ;;
	*) echo "check: unknown argument $1" >&2; exit 2 ;;
	esac
done

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"
. "$here/matrix.sh"
if [ -z "$kernels" ]; then
	if [ "$flavour" = test ] && [ "$suite" = main ]; then kernels="test $(matrix_releases check)"; else kernels=test; fi
fi
[ "$kernels" = all ] && kernels="test $(matrix_releases all)"
has_kernel() { case " $kernels " in *" $1 "*) return 0 ;; esac; return 1; }
# Debian's kernels, as releases of the matrix ("debian": 7.3.4+deb13-amd64).
debian_kernels=()
for k in $kernels; do
	[ "$k" = test ] || debian_kernels+=("$(matrix_resolve "$k")")
done

. "$here/steps.sh"

step "setup"
QUIET_OK=1 "$here/setup.sh"
# The build roots of Debian's kernels are made (debootstrap, apt: mostly
# waiting on the network and the disk) while the test kernel compiles.
roots_pid=""
if [ ${#debian_kernels[@]} -gt 0 ]; then
	mkdir -p "$top/build"
	(
		for k in "${debian_kernels[@]}"; do
			"$here/debian-root.sh" "$(matrix_root "$(matrix_get "$k" suite)")" >/dev/null \
				&& "$here/debian-kernel.sh" "$k" >/dev/null || exit 1
		done
	) >"$top/build/roots.log" 2>&1 &
	roots_pid=$!
	step "host: kernel-tree detection on fixtures of each layout; the README's kernel table"
	bash "$top/tests/host/kdir-layouts.sh"
	bash "$top/tests/host/readme-kernels.sh"
fi

step "$flavour kernel"
kdir=$("$here/kernel.sh" "$flavour")
echo "    KDIR=$kdir"

step "module (netatop.ko)"
"$here/module.sh" "$kdir" "$top/build/$flavour"
"$here/module.sh" "$kdir" "$top/build/clippy-$flavour" CLIPPY=1
rustfmt --check --edition 2021 --config-path "$KSRC/.rustfmt.toml" "$top"/rust/*.rs "$top"/rust/kernel_services/*.rs
step "host: a planted C/Rust layout mismatch fails the build; the crate's dependency graph, unsafe only in its kernel-services layer, the C size"
bash "$top/tests/host/abi-mismatch.sh" "$kdir"
python3 "$top/tests/host/check-deps.py" --self-test
bash "$top/tests/host/versions.sh" --self-test

step "userland: rustfmt, clippy, host tests"
cd "$top/netatop_user"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
python3 "$top/tests/host/copyright.py" --self-test
cargo test --workspace --exclude netatop-guest-tests
cargo build --quiet --workspace --bins

step "in-guest tests: build"
mapfile -t bins < <(cargo test -p netatop-guest-tests --no-run --message-format=json 2>/dev/null \
	| SUITE=$suite FLAVOUR=$flavour python3 -c '
import json, os, sys
suite, flavour = os.environ["SUITE"], os.environ["FLAVOUR"]
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        name = m["target"]["name"]
        # faults needs the debug kernel (failslab); it belongs to the stress suite.
        if name == "faults" and flavour != "debug":
            continue
        stress = name in ("stress", "faults")
        if suite == "all" or (suite == "stress") == stress:
            print(m["executable"])')
[ ${#bins[@]} -gt 0 ] || { echo "check: no in-guest test binaries were built" >&2; exit 1; }

cd "$top"
# Background VM runs: "pid|name|log" of those started, oldest first.
vm_jobs=${VM_JOBS:-2}
vm_queue=()
vm_failed=()
trap 'p=$(jobs -pr); [ -z "$p" ] || kill $p 2>/dev/null' EXIT
vm_finish_oldest() {
	local pid name log rc=0
	IFS='|' read -r pid name log <<<"${vm_queue[0]}"
	vm_queue=("${vm_queue[@]:1}")
	wait "$pid" || rc=$?
	step "$name: ended (status $rc); its output:"
	cat "$log"
	[ "$rc" -eq 0 ] || vm_failed+=("$name")
}
# vm_start NAME COMMAND...: starts a VM run once fewer than VM_JOBS run.
vm_start() {
	local name=$1 log
	shift
	while [ ${#vm_queue[@]} -ge "$vm_jobs" ]; do vm_finish_oldest; done
	log=$top/build/vm-$(echo "$name" | tr -c 'A-Za-z0-9.+_\n-' _).log
	step "$name: VM boot, in the background (${#bins[@]} binaries; $log)"
	"$@" >"$log" 2>&1 &
	vm_queue+=("$!|$name|$log")
}

if has_kernel test; then
	vm_start "in-guest tests on the $flavour kernel" \
		env VM_MEMORY="${VM_MEMORY:-$([ "$flavour" = debug ] && echo 2G || echo 1G)}" \
		"$here/vm.sh" --flavour "$flavour" --ko "$top/build/$flavour/netatop.ko" -- \
		TEST_ARGS="'${TEST_ARGS:---test-threads=2}'" "$top/tests/vm/run-tests.sh" "${bins[@]}"
fi

if [ -n "$roots_pid" ]; then
	step "Debian's kernels: build roots and kernel images (made beside the test kernel)"
	wait "$roots_pid" || { cat "$top/build/roots.log" >&2; exit 1; }
	for k in "${debian_kernels[@]}"; do
		echo "    $k: $(matrix_get "$k" suite), root $NETATOP_CACHE/roots/$(matrix_root "$(matrix_get "$k" suite)")"
	done
fi
for k in "${debian_kernels[@]}"; do
	root=$(matrix_root "$(matrix_get "$k" suite)")
	step "Debian's $k: netatop.ko built in the $root root with its compilers (and clippy)"
	"$here/debian-module.sh" "$k"
	step "Debian's $k: the README's install commands in the $root root (make deb, apt-get install, DKMS)"
	"$top/tests/host/debian-packages.sh" "$k"
	vm_start "in-guest tests on Debian's kernel $k" \
		"$here/vm.sh" --kernel "$k" --ko "$top/build/kernel-$k/netatop.ko" -- \
		TEST_ARGS="'${TEST_ARGS:---test-threads=2}'" "$top/tests/vm/run-tests.sh" "${bins[@]}"
done
while [ ${#vm_queue[@]} -gt 0 ]; do vm_finish_oldest; done
if [ ${#vm_failed[@]} -gt 0 ]; then
	printf 'check: failed: %s\n' "${vm_failed[@]}" >&2
	exit 1
fi
step "all tests passed"
