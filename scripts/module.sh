#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds netatop.ko against a Rust-enabled kernel build tree.
#
# usage: scripts/module.sh KDIR [OUTDIR] [modules_install] [extra kbuild arguments...]
#   KDIR    kernel build tree built with CONFIG_RUST=y: a tree built here, or a
#           distribution's headers (/lib/modules/<release>/build); see kdir.sh
#   OUTDIR  where objects and netatop.ko go (default: the checkout itself)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kdir=${1:?usage: module.sh KDIR [OUTDIR] [kbuild args...]}
out=${2:-}
shift $(( $# >= 2 ? 2 : 1 ))

# Which tree and which compilers: the ones the kernel's .config names (and,
# for a distribution kernel without Rust metadata, a regenerated tree).
plan=$("$here/kdir.sh" "$kdir") || exit 2
build_kdir=$(sed -n 's/^kdir=//p' <<<"$plan")
mapfile -t kargs < <(sed -n 's/^arg=//p' <<<"$plan")

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
exec make -s -C "$build_kdir" M="$top" "${mo[@]}" "${kargs[@]}" "$@" "$target"
