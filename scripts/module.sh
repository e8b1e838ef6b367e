#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds netatop.ko against a Rust-enabled kernel build tree.
#
# usage: scripts/module.sh KDIR [OUTDIR] [modules_install] [extra kbuild arguments...]
#   KDIR    kernel build tree built with CONFIG_RUST=y (it has rust/libkernel.rmeta)
#   OUTDIR  where objects and netatop.ko go (default: the checkout itself)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kdir=${1:?usage: module.sh KDIR [OUTDIR] [kbuild args...]}
out=${2:-}
shift $(( $# >= 2 ? 2 : 1 ))

fail() { echo "netatop: $*" >&2; exit 2; }

[ -d "$kdir" ] || fail "KDIR=$kdir does not exist. Pass KDIR=<build tree of a kernel configured with CONFIG_RUST=y>, or run 'make check', which builds a test kernel."
[ -f "$kdir/Makefile" ] && [ -f "$kdir/.config" ] || fail "KDIR=$kdir is not a configured kernel build tree (no Makefile/.config). Point KDIR at the O= directory of a kernel build."
grep -q '^CONFIG_RUST=y' "$kdir/.config" || fail "KDIR=$kdir is a kernel built without CONFIG_RUST=y; netatop-rs needs a Rust-enabled kernel (see README, 'Build for a real machine')."
[ -f "$kdir/rust/libkernel.rmeta" ] || fail "KDIR=$kdir has CONFIG_RUST=y but no Rust metadata (rust/libkernel.rmeta): distribution headers do not ship it. Run 'make modules_prepare' in that kernel tree, or build the kernel yourself."

# Use the compiler family the kernel was built with; for clang, find that
# major version if plain `clang` is not on PATH (Debian: /usr/lib/llvm-N).
llvm=()
if grep -q '^CONFIG_CC_IS_CLANG=y' "$kdir/.config"; then
	major=$(( $(sed -n 's/^CONFIG_CLANG_VERSION=//p' "$kdir/.config") / 10000 ))
	if command -v clang >/dev/null && clang --version | grep -q "version $major\."; then
		llvm=(LLVM=1)
	elif [ -x "/usr/lib/llvm-$major/bin/clang" ]; then
		llvm=(LLVM=/usr/lib/llvm-$major/bin/)
	else
		fail "KDIR=$kdir was built with clang $major, which is not installed (apt-get install clang-$major lld-$major llvm-$major)."
	fi
fi

# The module must be compiled by the rustc that built the kernel crate.
want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"/\1/p' "$kdir/.config")
have=$(rustc --version 2>/dev/null || echo "no rustc")
[ "$want" = "$have" ] || fail "KDIR=$kdir was built with '$want' but rustc here is '$have'. Use the same rustc (e.g. RUSTUP_TOOLCHAIN=<version>)."

mo=()
if [ -n "$out" ]; then
	mkdir -p "$out"
	mo=(MO="$(cd "$out" && pwd)")
fi
target=modules
if [ "${1:-}" = modules_install ]; then
	target=modules_install
	shift
fi
exec make -s -C "$kdir" M="$top" "${mo[@]}" "${llvm[@]}" "$@" "$target"
