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
. "$here/matrix.sh"
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
kmake=(make -s -C "$build_kdir" M="$top" "${mo[@]}" "${kargs[@]}" "$@" "$target")

# A kernel of a series newer than the newest of the matrix (kdir.sh refuses
# older ones): its kernel crate may have changed in a way rust/kernel_services/compat.rs
# does not know. The build is tried; if it fails, the compiler's messages
# go to a log and the user gets one line.
krel=$(cat "$build_kdir/include/config/kernel.release" 2>/dev/null || true)
series=$(echo "$krel" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')
newest=$(matrix_series | tail -n1)
if [ "$target" = modules_install ] || [ -z "$series" ] \
	|| [ "$(printf '%s\n' "$series" "$newest" | sort -V | tail -n1)" = "$newest" ]; then
	exec "${kmake[@]}"
fi
known=$(matrix_series | paste -sd, | sed 's/,/, /g')
log=${out:-$top}/netatop-build.log
if "${kmake[@]}" >"$log" 2>&1; then
	echo "netatop: note: kernel $krel is newer than the series netatop-rs $(cat "$top/rust/VERSION") was tested on ($known); the module built, but report how it runs." >&2
	exit 0
fi
echo "netatop: kernel $krel is newer than the series netatop-rs $(cat "$top/rust/VERSION") supports ($known), and its Rust kernel API changed in a way rust/kernel_services/compat.rs does not know (the compiler's messages: $log); use a newer netatop-rs, or boot a kernel of a supported series." >&2
exit 2
