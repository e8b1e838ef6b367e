#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Works out how to build an out-of-tree Rust module against a kernel build
# tree, be it a tree built here (the test kernel), a distribution's headers
# with the Rust metadata (Ubuntu's linux-lib-rust), or a distribution's
# headers without it (Debian): then the metadata is regenerated, once, into
# a cache outside /usr/src and /lib/modules, from the kernel's own source
# package with the very compilers the kernel's .config names.
#
# usage: kdir.sh [--plan] KDIR
#        kdir.sh --forget RELEASE
# Prints, one per line:
#   kdir=TREE        the tree to run kbuild in (KDIR itself or the regenerated one)
#   arg=ARG          a kbuild argument (CC=, RUSTC=, LLVM=, KRUSTFLAGS=, ...)
#   mode=tree|lib-rust|regenerate
# With --plan nothing is regenerated and no cache is written; the lines above
# are printed with what would be done (plus src=, cache=), which is what the
# host tests of this script check against fixtures of each layout.
#
# With --forget, the trees regenerated for RELEASE are deleted, and the
# unpacked sources no other tree uses (DKMS runs it when the module is
# removed for a kernel: dkms.conf's POST_REMOVE).
#
# Any missing or wrong piece stops with one line on stderr, "netatop: ...",
# naming what is wrong and the package that fixes it (exit 2).
#
# Environment: RUSTC, BINDGEN, CC (tried first when set); NETATOP_CACHE
# (default /var/cache/netatop-rs); NETATOP_FS_ROOT (a prefix for /usr and
# /etc, for the fixtures).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/matrix.sh"
: "${NETATOP_CACHE:=/var/cache/netatop-rs}"
: "${NETATOP_TOOLS:=/opt/netatop-rs}"
R=${NETATOP_FS_ROOT:-}

plan=0
if [ "${1:-}" = --plan ]; then plan=1; shift; fi
if [ "${1:-}" = --forget ]; then
	rel=${2:?usage: kdir.sh --forget RELEASE}
	stock=$NETATOP_CACHE/stock
	[ -d "$stock" ] || exit 0
	# A tree is RELEASE-VERSION-KEY; its source is src-VERSION.
	for t in "$stock/$rel"-*; do
		[ -e "$t" ] || continue
		case "${t#"$stock/$rel"-}" in *-????????????|*-????????????.lock) rm -rf "$t" ;; esac
	done
	for src in "$stock"/src-*; do
		[ -d "$src" ] || continue
		v=${src#"$stock"/src-}
		ls "$stock" | grep -q -- "-$v-[0-9a-f]\{12\}\$" || rm -rf "$src" "$src.tmp"
	done
	rmdir "$stock" 2>/dev/null || true
	exit 0
fi
kdir=${1:?usage: kdir.sh [--plan] KDIR}

fail() { echo "netatop: $*" >&2; exit 2; }

# --------------------------------------------------------------- the tree
[ -d "$kdir" ] || fail "KDIR=$kdir does not exist: install the headers of the running kernel (Debian/Ubuntu: apt-get install linux-headers-\$(uname -r)) or pass KDIR=<kernel build tree>."
[ -f "$kdir/Makefile" ] && [ -f "$kdir/.config" ] \
	|| fail "KDIR=$kdir is not a configured kernel build tree (no Makefile/.config): point KDIR at the headers (/lib/modules/<release>/build) or at the O= directory of a kernel build."
cfg() { sed -n "s/^$1=//p" "$kdir/.config" | head -n1; }
cfg_text() { sed -n "s/^$1=\"\(.*\)\"\$/\1/p" "$kdir/.config" | head -n1; }

krel=$(cat "$kdir/include/config/kernel.release" 2>/dev/null \
	|| sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$kdir/include/generated/utsrelease.h" 2>/dev/null || true)
[ -n "$krel" ] || fail "KDIR=$kdir has no kernel release (include/config/kernel.release): the tree is not prepared; run 'make modules_prepare' in it."

# The kernel crate's API changes with every release: the series netatop-rs
# knows are those of its kernel matrix (kernels.tsv). Older ones are refused
# here; a newer one is tried (scripts/module.sh says so in one line if its
# API moved on).
series=$(echo "$krel" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')
known=$(matrix_series | paste -sd, | sed 's/,/, /g')
oldest=$(matrix_series | head -n1)
get_kernel="Debian: linux-image-amd64 from trixie-backports, forky or sid"
[ "$(cfg CONFIG_RUST)" = y ] \
	|| fail "kernel $krel is built without CONFIG_RUST=y, so it cannot load a Rust module; boot a kernel with Rust enabled of a series netatop-rs supports ($known; $get_kernel)."
if [ -z "$series" ] || [ "$(printf '%s\n' "$series" "$oldest" | sort -V | head -n1)" != "$oldest" ]; then
	fail "kernel $krel is older than the oldest series netatop-rs $(cat "$here/../rust/VERSION" 2>/dev/null) supports ($known), whose Rust kernel API it is written for; boot a kernel of a supported series ($get_kernel)."
fi

# Ubuntu and its derivatives (ID_LIKE) ship the metadata and versioned compilers.
os=$(. "$R/etc/os-release" 2>/dev/null && echo " ${ID:-} ${ID_LIKE:-} " || true)
case "$os" in *" ubuntu "*) os=ubuntu ;; *" debian "*) os=debian ;; *) os=other ;; esac
pkg_version() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null \
		| awk '$1 ~ /^.i/ { print $2; exit }' || true
}

# ------------------------------------------------------------- compilers
# Each is the one whose own version text equals what the kernel's .config
# recorded, byte for byte: Rust symbol names embed a hash of the full
# `rustc --version`, so another build of the "same" version cannot link.
version_of() { "$1" --version 2>/dev/null | head -n1 || true; }
# pick [--prefix] WANT CANDIDATE...: PICKED = the first candidate whose
# version text is WANT (--prefix: begins with WANT); FOUND lists the others.
pick() {
	local prefix=0 want c p v seen=()
	[ "$1" = --prefix ] && { prefix=1; shift; }
	want=$1
	shift
	PICKED=""
	FOUND=()
	for c in "$@"; do
		[ -n "$c" ] || continue
		p=$(command -v "$c" 2>/dev/null) || continue
		[ -x "$p" ] || continue
		case " ${seen[*]} " in *" $p "*) continue ;; esac
		seen+=("$p")
		v=$(version_of "$p")
		if [ "$v" = "$want" ] || { [ "$prefix" = 1 ] && [ "${v#"$want"}" != "$v" ]; }; then
			PICKED=$p
			return 0
		fi
		FOUND+=("'$v' at $p")
	done
	return 1
}
found_list() {
	if [ ${#FOUND[@]} -gt 0 ]; then
		echo " (found: $(printf '%s; ' "${FOUND[@]}" | sed 's/; $//'))"
	else
		echo " (none on PATH)"
	fi
}

rust_want=$(cfg_text CONFIG_RUSTC_VERSION_TEXT)
[ -n "$rust_want" ] || fail "kernel $krel has CONFIG_RUST=y but no CONFIG_RUSTC_VERSION_TEXT in $kdir/.config: the tree is incomplete."
rust_ver=$(echo "$rust_want" | awk '{print $2}')
rust_mm=${rust_ver%.*}
case "$rust_want" in
*"built from a source tarball"*)
	if [ "$os" = ubuntu ]; then rust_pkgs="rustc-$rust_mm rust-$rust_mm-src"; else rust_pkgs="rustc rust-src"; fi
	rust_fix="apt-get install $rust_pkgs"
	;;
*) rust_fix="rustup toolchain install $rust_ver --component rust-src" ;;
esac
rustup_rustc=""
if command -v rustup >/dev/null 2>&1; then
	rustup_rustc=$(rustup which --toolchain "$rust_ver" rustc 2>/dev/null || true)
fi
pick "$rust_want" "${RUSTC:-}" rustc "rustc-$rust_mm" "$R/usr/bin/rustc" "$R/usr/bin/rustc-$rust_mm" \
	"$R/usr/lib/rust-$rust_mm/bin/rustc" "$rustup_rustc" \
	|| fail "kernel $krel was built by '$rust_want', and a module must be built by exactly that rustc, but none is installed$(found_list): $rust_fix"
rustc=$PICKED
rustbin=$(dirname "$rustc")
args=("RUSTC=$rustc" "HOSTRUSTC=$rustc")
[ -x "$rustbin/clippy-driver" ] && args+=("CLIPPY_DRIVER=$rustbin/clippy-driver")
[ -x "$rustbin/rustdoc" ] && args+=("RUSTDOC=$rustbin/rustdoc")

cc_want=$(cfg_text CONFIG_CC_VERSION_TEXT)
if [ "$(cfg CONFIG_CC_IS_CLANG)" = y ]; then
	clang_ver=$(cfg CONFIG_CLANG_VERSION)
	[ -n "$clang_ver" ] || fail "kernel $krel has CONFIG_CC_IS_CLANG=y but no CONFIG_CLANG_VERSION in $kdir/.config: the tree is incomplete."
	major=$(( clang_ver / 10000 ))
	pick "$cc_want" "${CC:-}" clang "clang-$major" "$R/usr/lib/llvm-$major/bin/clang" \
		|| fail "kernel $krel was built by '$cc_want', which is not installed$(found_list): apt-get install clang-$major lld-$major llvm-$major"
	cc=$PICKED
	case "$cc" in
	*/clang-"$major") args+=("LLVM=-$major") ;;
	*) args+=("LLVM=$(dirname "$cc")/") ;;
	esac
else
	cc_cmd=${cc_want%% *}
	cc_pkg=$(echo "$cc_cmd" | sed -n 's/.*\(gcc-[0-9][0-9]*\)$/\1/p')
	if ! pick "$cc_want" "${CC:-}" "$cc_cmd" "$R/usr/bin/$cc_cmd"; then
		# Another revision of the same versioned GCC (sid's and forky's
		# gcc-N moves on while an installed kernel stays): C code only needs
		# the same compiler (Debian's headers depend on an unversioned
		# gcc-N, and the kernel's build accepts it with a warning). Only
		# rustc must be exactly the kernel's.
		pick --prefix "$cc_cmd " "${CC:-}" "$cc_cmd" "$R/usr/bin/$cc_cmd" \
			|| fail "kernel $krel was built by '$cc_want', which is not installed$(found_list): apt-get install ${cc_pkg:-gcc}"
		echo "netatop: note: kernel $krel was built by '$cc_want'; building with '$(version_of "$PICKED")', another revision of the same GCC." >&2
	fi
	cc=$PICKED
	args+=("CC=$cc" "HOSTCC=$cc")
fi

# --------------------------------------------------------- Rust metadata
emit() {
	echo "kdir=$1"
	echo "mode=$2"
	local a
	for a in "${args[@]}"; do echo "arg=$a"; done
}

if [ -f "$kdir/rust/libkernel.rmeta" ]; then
	emit "$kdir" tree
	exit 0
fi

librust=$R/usr/src/linux-lib-rust-$krel/rust
if [ -L "$kdir/rust" ] || [ "$os" = ubuntu ]; then
	# Ubuntu: the metadata is the linux-lib-rust package; the headers' `rust`
	# entry links to it, and on some kernels that link points elsewhere.
	if [ -f "$librust/libkernel.rmeta" ]; then
		args+=("KRUSTFLAGS=-L$librust")
		emit "$kdir" lib-rust
		exit 0
	fi
	fail "kernel $krel has no Rust metadata ($kdir/rust$( [ -L "$kdir/rust" ] && echo " -> $(readlink "$kdir/rust")") has no libkernel.rmeta): apt-get install linux-lib-rust-$krel"
fi

# Debian: regenerate from linux-source-X.Y of the headers' exact version,
# once per kernel (keyed by its .config, Module.symvers and compilers); a
# tree regenerated before is used as it is, source or no source.
hdr_pkg=linux-headers-$krel
hv=$(pkg_version "$hdr_pkg")
[ -n "$hv" ] || fail "KDIR=$kdir has CONFIG_RUST=y but no Rust metadata (rust/libkernel.rmeta) and is not from a headers package: run 'make modules_prepare' in that kernel tree with '$rust_want'."
bg_want=$(cfg_text CONFIG_BINDGEN_VERSION_TEXT)
key=$( { echo "kdir.sh v1"; cat "$kdir/.config" "$kdir/Module.symvers" 2>/dev/null
	echo "$rust_want"; echo "$bg_want"; echo "$cc_want"; } | sha256sum | cut -c1-12)
tree=$NETATOP_CACHE/stock/$krel-${hv//\~/_}-$key
if [ $plan = 0 ] && [ -f "$tree/.netatop-complete" ]; then
	emit "$tree" regenerate
	exit 0
fi

src_pkg=linux-source-$series
sv=$(pkg_version "$src_pkg")
[ -n "$sv" ] || fail "kernel $krel has no Rust metadata in its headers; it is regenerated from the kernel's source, which is not installed: apt-get install $src_pkg=$hv"
[ "$sv" = "$hv" ] || fail "kernel $krel's headers are $hv but $src_pkg is $sv; the Rust metadata must be regenerated from the same version: apt-get install $src_pkg=$hv"
tarball=$(ls "$R/usr/src/$src_pkg".tar.* 2>/dev/null | head -n1 || true)
[ -n "$tarball" ] || fail "$src_pkg $sv is installed but $R/usr/src/$src_pkg.tar.* is missing: apt-get install --reinstall $src_pkg=$hv"

sysroot=$("$rustc" --print sysroot 2>/dev/null || true)
[ -f "$sysroot/lib/rustlib/src/rust/library/core/src/lib.rs" ] \
	|| fail "$rustc has no Rust library source, needed to rebuild the kernel crate for $krel: apt-get install ${rust_pkgs:-rust-src}"

bg_mm=$(echo "$bg_want" | awk '{print $2}'); bg_mm=${bg_mm%.*}
pick "$bg_want" "${BINDGEN:-}" bindgen "bindgen-$bg_mm" "$R/usr/bin/bindgen" "$NETATOP_TOOLS/bin/bindgen" \
	|| fail "kernel $krel was configured with '$bg_want', which is needed to regenerate its Rust metadata and is not installed$(found_list): apt-get install bindgen libclang-dev"
bindgen=$PICKED
args+=("BINDGEN=$bindgen")
srcdir=$NETATOP_CACHE/stock/src-${sv//\~/_}

if [ $plan = 1 ]; then
	emit "$tree" regenerate
	echo "src=$tarball"
	echo "cache=$tree"
	exit 0
fi

[ -f "$kdir/Module.symvers" ] || fail "$kdir has no Module.symvers: reinstall $hdr_pkg"
mkdir -p "$NETATOP_CACHE/stock" 2>/dev/null && [ -w "$NETATOP_CACHE/stock" ] \
	|| fail "cannot write the cache $NETATOP_CACHE/stock to regenerate the Rust metadata of $krel: run as root, or set NETATOP_CACHE to a writable directory."
"$here/kdir-regen.sh" "$kdir" "$krel" "$tarball" "$srcdir" "$tree" "${args[@]}" >&2
emit "$tree" regenerate
