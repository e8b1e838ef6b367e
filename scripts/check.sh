#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: every test of netatop-rs.
#  1. setup (toolchain) and the cached test kernel,
#  2. the module, built normally and with clippy; rustfmt of its Rust code,
#  3. host-side: rustfmt, clippy and cargo test of netatop_user,
#  4. one VM boot on the test kernel: load the module, run the in-guest
#     cargo test binaries as root, unload, and fail on any kernel splat.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"

t0=$(date +%s)
step() { echo "==> [$(( $(date +%s) - t0 ))s] $*"; }

step "setup"
QUIET_OK=1 "$here/setup.sh"
step "test kernel"
kdir=$("$here/kernel.sh" test)
echo "    KDIR=$kdir"

step "module (netatop.ko)"
"$here/module.sh" "$kdir" "$top/build/test"
"$here/module.sh" "$kdir" "$top/build/clippy" CLIPPY=1
rustfmt --check --edition 2021 --config-path "$KSRC/.rustfmt.toml" "$top"/rust/*.rs

step "userland: rustfmt, clippy, host tests"
cd "$top/netatop_user"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace --exclude netatop-guest-tests

step "in-guest tests: build"
mapfile -t bins < <(cargo test -p netatop-guest-tests --no-run --message-format=json 2>/dev/null \
	| python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])')
[ ${#bins[@]} -gt 0 ] || { echo "check: no in-guest test binaries were built" >&2; exit 1; }

step "in-guest tests: VM boot (${#bins[@]} binaries)"
cd "$top"
"$here/vm.sh" --ko "$top/build/test/netatop.ko" -- \
	TEST_ARGS="'${TEST_ARGS:---test-threads=2}'" "$top/tests/vm/run-tests.sh" "${bins[@]}"
step "all tests passed"
