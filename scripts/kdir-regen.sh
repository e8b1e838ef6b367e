#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Regenerates the Rust metadata of a distribution kernel whose headers do not
# ship it (Debian), into a private O= tree; called by kdir.sh, which has
# already checked the compilers and the source version.
#
# usage: kdir-regen.sh KDIR KREL TARBALL SRCDIR TREE KBUILD-ARG...
#   KDIR     the headers (.config, Module.symvers)
#   TARBALL  the kernel's source tarball (linux-source-X.Y of the same version)
#   SRCDIR   where the tarball is unpacked (shared by every tree of that version)
#   TREE     the O= tree made here; complete once TREE/.netatop-complete exists
#
# Checks that the kernel's .config survives olddefconfig byte for byte and that
# the Rust symbols the regenerated crates export are exactly those the
# kernel's Module.symvers exports; anything else stops the build.
set -euo pipefail

kdir=$1 krel=$2 tarball=$3 srcdir=$4 tree=$5
shift 5
args=("$@")

fail() { echo "netatop: $*" >&2; exit 2; }
log() { echo "netatop: $*" >&2; }

mkdir -p "$(dirname "$tree")"
exec 9>"$tree.lock"
flock 9
[ -f "$tree/.netatop-complete" ] && exit 0
start=$(date +%s)
kmake() { make -s -C "$srcdir" O="$tree" KERNELRELEASE="$krel" "${args[@]}" "$@"; }

if [ ! -f "$srcdir/.netatop-unpacked" ]; then
	log "unpacking $(basename "$tarball") into $srcdir"
	rm -rf "$srcdir" "$srcdir.tmp"
	mkdir -p "$srcdir.tmp"
	tar -C "$srcdir.tmp" -xf "$tarball" || fail "could not unpack $tarball"
	top=$(find "$srcdir.tmp" -mindepth 1 -maxdepth 1 -type d | head -n1)
	[ -f "$top/Makefile" ] || fail "$tarball holds no kernel source tree"
	mv "$top" "$srcdir"
	rm -rf "$srcdir.tmp"
	touch "$srcdir/.netatop-unpacked"
fi

# A tree whose modules_prepare finished is only checked again (a check that
# failed is repeated after the cause is fixed, without rebuilding).
if [ ! -f "$tree/.netatop-prepared" ]; then
	log "regenerating the Rust metadata of $krel in $tree (once; about 2 to 4 min)"
	rm -rf "$tree"
	mkdir -p "$tree"
	cp "$kdir/.config" "$tree/.config"
	cp "$kdir/Module.symvers" "$tree/Module.symvers"
	kmake olddefconfig >"$tree/regen.log" 2>&1 || { tail -n 20 "$tree/regen.log" >&2; fail "olddefconfig failed for $krel (log: $tree/regen.log)"; }
	# The toolchain's own version lines may differ when kdir.sh picked
	# another revision of the kernel's gcc-N (and binutils moved with it);
	# every option they gate is still compared, and the Rust symbols below
	# must still be the kernel's.
	versions='^CONFIG_(CC_VERSION_TEXT|GCC_VERSION|AS_VERSION|LD_VERSION)='
	if ! cmp -s <(grep -Ev "$versions" "$kdir/.config") <(grep -Ev "$versions" "$tree/.config"); then
		diff "$kdir/.config" "$tree/.config" | head -n 10 >&2 || true
		fail "the regenerated .config of $krel differs from $kdir/.config (above): the source, a compiler or a tool Kconfig probes (openssl, pahole) is not the one the kernel was built with."
	fi
	kmake -j"$(nproc)" modules_prepare >>"$tree/regen.log" 2>&1 \
		|| { tail -n 30 "$tree/regen.log" >&2; fail "modules_prepare failed for $krel (log: $tree/regen.log)"; }
	[ -f "$tree/rust/libkernel.rmeta" ] || fail "modules_prepare made no rust/libkernel.rmeta for $krel (log: $tree/regen.log)"
	touch "$tree/.netatop-prepared"
fi

# The crates' exported symbols are what a module links against: their Rust
# (v0-mangled) ones must be exactly those the running kernel exports, and the
# others (rust_helper_*, ...) must all be exported by it too.
ours=$(mktemp) theirs=$(mktemp) all=$(mktemp) other=$(mktemp)
trap 'rm -f "$ours" "$theirs" "$all" "$other"' EXIT
cat "$tree"/rust/exports_*_generated.h 2>/dev/null \
	| sed -n 's/^EXPORT_SYMBOL_RUST_GPL(\(.*\));$/\1/p' | sort -u >"$all"
grep '^_R' "$all" >"$ours" || true
grep -v '^_R' "$all" >"$other" || true
awk '$2 ~ /^_R/ { print $2 }' "$kdir/Module.symvers" | sort -u >"$theirs"
[ -s "$theirs" ] || fail "$kdir/Module.symvers exports no Rust symbols: the running kernel cannot load Rust modules."
if ! cmp -s "$ours" "$theirs"; then
	log "Rust symbols only regenerated: $(comm -23 "$ours" "$theirs" | wc -l), only in Module.symvers: $(comm -13 "$ours" "$theirs" | wc -l), e.g.:"
	comm -3 "$ours" "$theirs" | head -n 4 >&2
	fail "the regenerated Rust crates of $krel do not export the Rust symbols its Module.symvers lists: the rustc or the source differs from the kernel's."
fi
missing=$(awk '{ print $2 }' "$kdir/Module.symvers" | sort -u | comm -23 "$other" - | head -n 4)
[ -z "$missing" ] || fail "the regenerated Rust crates of $krel export symbols its Module.symvers lacks (e.g. $(echo $missing)): the source differs from the kernel's."
# modpost checks the module against Module.symvers; BTF for the module is
# made against the kernel's vmlinux when the headers ship it.
cp "$kdir/Module.symvers" "$tree/Module.symvers"
[ -f "$kdir/vmlinux" ] && ln -sf "$kdir/vmlinux" "$tree/vmlinux"

echo "$(date +%s) $(( $(date +%s) - start )) $(wc -l <"$theirs")" >"$tree/.netatop-complete"
log "regenerated in $(( $(date +%s) - start )) s: $(wc -l <"$theirs") Rust symbols, equal to Module.symvers (and $(wc -l <"$other") helpers, all in it)"
