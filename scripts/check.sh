#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: every test of netatop-rs.
#  1. setup (toolchain) and the cached test kernel,
#  2. the module, built normally and with clippy; rustfmt of its Rust code,
#  3. host-side: rustfmt, clippy and cargo test of netatop_user,
#  4. one VM boot on the test kernel: load the module, run the in-guest
#     cargo test binaries as root, unload, and fail on any kernel splat;
#  5. Debian's own kernel (make check only): the kernel-tree detection on
#     fixtures of each layout (Debian, Ubuntu), the module built for Debian's
#     7.3 kernel in the trixie root with Debian's rustc 1.85.1 (warnings and
#     clippy), the README's Debian install commands (make deb, apt-get
#     install, DKMS), and one VM boot of Debian's unmodified kernel image
#     running the same in-guest tests.
#
# usage: check.sh [--flavour test|debug] [--suite main|stress|all] [--kernels "test debian"]
#   make check        = check.sh                 (main suite, test + Debian kernel)
#   make stress       = check.sh --suite stress  (stress suite, test kernel)
#   make check-debug  = check.sh --flavour debug --suite all
#                       (KASAN, kmemleak, lockdep, ... kernel; slow)
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
if [ -z "$kernels" ]; then
	if [ "$flavour" = test ] && [ "$suite" = main ]; then kernels="test debian"; else kernels=test; fi
fi
has_kernel() { case " $kernels " in *" $1 "*) return 0 ;; esac; return 1; }

. "$here/steps.sh"

step "setup"
QUIET_OK=1 "$here/setup.sh"
if has_kernel debian; then
	step "host: kernel-tree detection on fixtures of each layout"
	bash "$top/tests/host/kdir-layouts.sh"
fi

step "$flavour kernel"
kdir=$("$here/kernel.sh" "$flavour")
echo "    KDIR=$kdir"

step "module (netatop.ko)"
"$here/module.sh" "$kdir" "$top/build/$flavour"
"$here/module.sh" "$kdir" "$top/build/clippy-$flavour" CLIPPY=1
rustfmt --check --edition 2021 --config-path "$KSRC/.rustfmt.toml" "$top"/rust/*.rs
step "host: the C/Rust layout of the glue's structs; the crate's dependency graph and the C size"
python3 "$top/tests/host/check-abi.py" --self-test
python3 "$top/tests/host/check-deps.py" --self-test

step "userland: rustfmt, clippy, host tests"
cd "$top/netatop_user"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
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
if has_kernel test; then
	step "in-guest tests on the $flavour kernel: VM boot (${#bins[@]} binaries)"
	VM_MEMORY=${VM_MEMORY:-$([ "$flavour" = debug ] && echo 2G || echo 1G)} \
	"$here/vm.sh" --flavour "$flavour" --ko "$top/build/$flavour/netatop.ko" -- \
		TEST_ARGS="'${TEST_ARGS:---test-threads=2}'" "$top/tests/vm/run-tests.sh" "${bins[@]}"
fi

if has_kernel debian; then
	step "Debian's kernel: the trixie build root"
	"$here/trixie-root.sh" >/dev/null
	step "Debian's kernel: netatop.ko built for $DEBIAN_KREL with Debian's compilers (and clippy)"
	"$here/debian-module.sh"
	step "Debian's kernel: the README's install commands (make deb, apt-get install, DKMS)"
	"$top/tests/host/debian-packages.sh"
	step "Debian's kernel: fetched and unpacked"
	"$here/debian-kernel.sh" >/dev/null
	step "in-guest tests on Debian's kernel $DEBIAN_KREL: VM boot (${#bins[@]} binaries)"
	"$here/vm.sh" --kernel debian --ko "$top/build/debian/netatop.ko" -- \
		TEST_ARGS="'${TEST_ARGS:---test-threads=2}'" "$top/tests/vm/run-tests.sh" "${bins[@]}"
fi
step "all tests passed"
