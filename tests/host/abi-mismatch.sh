#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The structs and constants C and Rust share have one source each, the C
# headers (include/netatop.h: the user ABI; rust/netatop_glue.h: the glue's
# interface), and the Rust copies are checked against the C compiler's
# layout at build time: the module's (rust/uapi.rs and the glue's structs)
# by rust/netatop_layout.c and Kbuild, the netatop crate's
# (netatop_user/netatop/src/abi.rs) by its build.rs and layout.c. This test
# plants a mismatch in a copy of the tree, one at a time, and requires the
# build to fail on the layout check's assertion (and the unchanged copy to
# build).
#
# The netatop crate (cargo build -p netatop --offline --locked, in a copy of
# include/ and netatop_user/; always run):
#
#   - two same-sized neighbours swapped in struct taskcount (netatop.h),
#     which only field offsets can tell;
#   - a command number changed (NETATOP_GETCNT_TASKS);
#   - struct netpertask's id widened from 32 to 64 bits, which moves nothing
#     and changes no size (the padding before btime absorbs it; no struct of
#     netatop.h has padding after its last field): only the field's own size
#     can tell.
#
# The module (scripts/module.sh against KDIR; only when KDIR is given, as
# make check does):
#
#   - two same-sized neighbours swapped in struct taskcount (netatop.h);
#   - the first field of struct netatop_charge (netatop_glue.h) widened from
#     8 to 32 bits, which moves the field after it;
#   - the last field of struct netatop_task widened, which moves nothing and
#     changes no size (the struct's padding absorbs it): only the field's
#     own size can tell;
#   - a command number changed (NETATOP_GETCNT_TASKS).
#
# usage: tests/host/abi-mismatch.sh [KDIR]
#   The crate's cases need cargo and the crates of netatop_user/Cargo.lock
#   (fetched first for this host, which is a no-op once they are cached) and
#   a C compiler (cc, or CC).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/versions.sh"
kdir=${1:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/abi-mismatch.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# The netatop crate: include/ and netatop_user/ without its target/, with
# fresh times (-m) so that cargo sees every planted change; one target
# directory for all the cases, so the dependencies build once.
crate_copy() {
	rm -rf "$T/crate"
	mkdir -p "$T/crate"
	tar -C "$top" --exclude=netatop_user/target -cf - include netatop_user | tar -C "$T/crate" -xmf -
}
crate_build() {
	(cd "$T/crate/netatop_user" && CARGO_TARGET_DIR="$T/target" cargo build -p netatop --offline --locked) >"$T/log" 2>&1
}
# crate_case NAME SED-EXPRESSION ASSERTION: with SED-EXPRESSION applied to
# netatop.h the crate's build must fail, on an assertion of abi.rs matching
# ASSERTION (a regex) and on nothing else.
crate_case() {
	local name="crate: $1" expr=$2 want=$3
	crate_copy
	sed -i -E "$expr" "$T/crate/include/netatop.h"
	if cmp -s "$top/include/netatop.h" "$T/crate/include/netatop.h"; then
		fail "$name: the planted change did not apply to include/netatop.h"; return
	fi
	if crate_build; then
		fail "$name: the crate built"
	elif ! grep -q 'assertion failed' "$T/log" || grep -E '^error(\[|:)' "$T/log" \
		| grep -Ev '^error\[E0080\]|^error: could not compile `netatop`' | grep -q .; then
		fail "$name: the build failed, but not on the layout check:"; tail -n 12 "$T/log"
	elif ! grep -Eq "assertion failed: .*$want" "$T/log"; then
		fail "$name: the build failed on another assertion than /$want/:"; grep -m3 'assertion failed' "$T/log"
	else
		ok "$name: the build fails ($(grep -m1 -o 'assertion failed: .*' "$T/log" | sed 's/[[:space:]]*$//'))"
	fi
}

(cd "$top/netatop_user" && cargo fetch --locked --quiet --target "$(rustc -vV | sed -n 's/^host: //p')") \
	|| fail "crate: cargo fetch (the crates of netatop_user/Cargo.lock) failed"
crate_copy
if crate_build; then ok "crate: the unchanged copy builds"; else
	fail "crate: the unchanged copy does not build:"; tail -n 20 "$T/log"; fi
crate_case "taskcount: tcpsndpacks and tcpsndbytes swapped (netatop.h)" \
	'/__u64 tcpsndpacks;/{N;s/(\t__u64 tcpsndpacks;)\n(\t__u64 tcpsndbytes;)/\2\n\1/}' \
	'offset_of!\(TaskCount, tcpsndpacks\)'
crate_case "NETATOP_GETCNT_TASKS renumbered (netatop.h)" \
	's/(NETATOP_BASE_CTL \+ 7)/(NETATOP_BASE_CTL + 9)/' \
	'NETATOP_GETCNT_TASKS'
crate_case "netpertask: id widened, same size and offsets (netatop.h)" \
	's/pid_t(\s+) id;/__s64\1 id;/' \
	'NetPerTask\| &s.id\) == c::netpertask::id::SIZE'

if [ -z "$kdir" ]; then
	echo "abi-mismatch: $passed passed, $failed failed (the module's cases need KDIR)"
	[ "$failed" = 0 ]
	exit
fi

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
	local name="module: $1" file=$2 expr=$3
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
if build; then echo "ok   module: the unchanged copy builds"; passed=$((passed + 1)); else
	echo "FAIL module: the unchanged copy does not build:"; tail -n 20 "$T/log"; failed=$((failed + 1)); fi
case_ "taskcount: tcpsndpacks and tcpsndbytes swapped (netatop.h)" include/netatop.h \
	'/__u64 tcpsndpacks;/{N;s/(\t__u64 tcpsndpacks;)\n(\t__u64 tcpsndbytes;)/\2\n\1/}'
case_ "netatop_charge: slot widened to 32 bits (netatop_glue.h)" rust/netatop_glue.h \
	's/__u8  slot;/__u32 slot;/'
case_ "netatop_task: its last field widened, same size and offsets (netatop_glue.h)" rust/netatop_glue.h \
	's/__u8  live;/__u16 live;/'
case_ "NETATOP_GETCNT_TASKS renumbered (netatop.h)" include/netatop.h \
	's/(NETATOP_BASE_CTL \+ 7)/(NETATOP_BASE_CTL + 9)/'
echo "abi-mismatch: $passed passed, $failed failed"
[ "$failed" = 0 ]
