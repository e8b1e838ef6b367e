#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The structs and constants C and Rust share have one source each, the C
# headers (include/netatop.h: the user ABI; rust/netatop_glue.h: the glue's
# interface), and the Rust copies are checked against the C compiler's
# layout at build time (rust/netatop_layout.c, Kbuild). This test plants a
# mismatch in a copy of the tree, one at a time, and requires the module's
# build to fail on it (and the unchanged copy to build):
#
#   - two same-sized neighbours swapped in struct taskcount (netatop.h),
#     which only field offsets can tell;
#   - the first field of struct netatop_charge (netatop_glue.h) widened from
#     8 to 16 bits, which moves the fields after it;
#   - the last field of struct netatop_task widened, which moves nothing and
#     changes no size (the struct's padding absorbs it): only the field's
#     own size can tell;
#   - a command number changed (NETATOP_GETCNT_TASKS).
#
# usage: tests/host/abi-mismatch.sh KDIR
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
kdir=${1:?usage: abi-mismatch.sh KDIR}
T=$(mktemp -d "${TMPDIR:-/tmp}/abi-mismatch.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

passed=0 failed=0
copy() { # a fresh copy of what the module's build reads
	rm -rf "$T/src" "$T/out"
	mkdir -p "$T/src/scripts"
	cp -a "$top/Kbuild" "$top/Makefile" "$top/kernels.tsv" "$top/rust" "$top/include" "$T/src/"
	cp -a "$top/scripts/module.sh" "$top/scripts/kdir.sh" "$top/scripts/kdir-regen.sh" \
		"$top/scripts/matrix.sh" "$T/src/scripts/"
}
build() { "$T/src/scripts/module.sh" "$kdir" "$T/out" >"$T/log" 2>&1; }
# case NAME FILE SED-EXPRESSION: the build must fail, on an assertion of the
# layout check (not on anything else).
case_() {
	local name=$1 file=$2 expr=$3
	copy
	sed -i -E "$expr" "$T/src/$file"
	if cmp -s "$top/$file" "$T/src/$file"; then
		echo "FAIL $name: the planted change did not apply to $file"; failed=$((failed + 1)); return
	fi
	if build; then
		echo "FAIL $name: the module built"; failed=$((failed + 1))
	elif grep -Eq "evaluation of constant value failed|assertion failed|mismatched types|no variant|cannot find" "$T/log"; then
		echo "ok   $name: the build fails ($(grep -m1 -Eo 'assertion failed: [^ ]+ [^ ]+|evaluation of constant value failed' "$T/log"))"
		passed=$((passed + 1))
	else
		echo "FAIL $name: the build failed, but not on the layout check:"; tail -n 5 "$T/log"
		failed=$((failed + 1))
	fi
}

copy
if build; then echo "ok   the unchanged copy builds"; passed=$((passed + 1)); else
	echo "FAIL the unchanged copy does not build:"; tail -n 20 "$T/log"; failed=$((failed + 1)); fi
case_ "taskcount: tcpsndpacks and tcpsndbytes swapped (netatop.h)" include/netatop.h \
	'/__u64 tcpsndpacks;/{N;s/(\t__u64 tcpsndpacks;)\n(\t__u64 tcpsndbytes;)/\2\n\1/}'
case_ "netatop_charge: slot widened to 16 bits (netatop_glue.h)" rust/netatop_glue.h \
	's/__u8  slot;/__u16 slot;/'
case_ "netatop_task: its last field widened, same size and offsets (netatop_glue.h)" rust/netatop_glue.h \
	's/__u8  live;/__u16 live;/'
case_ "NETATOP_GETCNT_TASKS renumbered (netatop.h)" include/netatop.h \
	's/(NETATOP_BASE_CTL \+ 7)/(NETATOP_BASE_CTL + 9)/'
echo "abi-mismatch: $passed passed, $failed failed"
[ "$failed" = 0 ]
