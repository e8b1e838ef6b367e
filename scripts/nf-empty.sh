#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds tests/bench/nf_empty (an empty netfilter hook on netatop's four
# hooks, the baseline of make bench and make insns) for the kernel tree
# KDIR into OUT, with the kernel's own compiler family.
#
# usage: scripts/nf-empty.sh KDIR OUT      -> OUT/nf_empty.ko
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"
kdir=$1 out=$2

llvm=()
grep -q '^CONFIG_CC_IS_CLANG=y' "$kdir/.config" && llvm=(LLVM=1)
mkdir -p "$out"
make -s -C "$kdir" M="$top/tests/bench/nf_empty" MO="$out" "${llvm[@]}" modules
