#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side tests of scripts/kdir.sh --plan against fixtures of each kernel
# tree layout: a tree built here (clang), Debian headers without Rust
# metadata (regenerated from linux-source-X.Y), Ubuntu headers with the
# metadata (linux-lib-rust-<release>), and the ways each can be incomplete.
#
# Everything is fake and lives in a temporary directory: the kernel trees,
# the /usr and /etc of NETATOP_FS_ROOT, the compilers (shell scripts that
# print a version text and, for rustc, a sysroot) and dpkg-query (answering
# from a list). kdir.sh runs with PATH = the fixture's bin + /usr/bin:/bin and
# no RUSTC/BINDGEN/CC, so the host's own compilers and rustup stay out.
#
# usage: tests/host/kdir-layouts.sh
# Prints one line per case and "kdir-layouts: N passed, M failed"; exits 1
# if any case failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
kdir_sh=$(cd "$here/../.." && pwd)/scripts/kdir.sh
T=$(mktemp -d "${TMPDIR:-/tmp}/kdir-layouts.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

passed=0
failed=0
failures=()

# ------------------------------------------------------------- fixtures
# fake PATH TEXT [SYSROOT]: an executable printing TEXT for --version and,
# when SYSROOT is given, SYSROOT for --print sysroot (as rustc does).
fake() {
	local path=$1 text=$2 sysroot=${3:-}
	case "$text$sysroot" in *"'"*)
		echo "kdir-layouts: fixture text with a quote: $text" >&2
		exit 1
		;;
	esac
	mkdir -p "$(dirname "$path")"
	cat >"$path" <<EOF
#!/bin/sh
case "\$*" in
--version) printf '%s\n' '$text' ;;
"--print sysroot") [ -n '$sysroot' ] || exit 1; printf '%s\n' '$sysroot' ;;
*) echo "fake \$0: unexpected arguments: \$*" >&2; exit 64 ;;
esac
EOF
	chmod +x "$path"
}

# sysroot DIR [src]: a rustc sysroot, with the library source (rust-src) if
# the second argument is "src".
sysroot() {
	mkdir -p "$1/lib/rustlib"
	if [ "${2:-}" = src ]; then
		mkdir -p "$1/lib/rustlib/src/rust/library/core/src"
		: >"$1/lib/rustlib/src/rust/library/core/src/lib.rs"
	fi
}

# pkg NAME STATUS VERSION: what the fake dpkg-query knows (last one wins).
pkg() {
	sed -i "/^$1 /d" "$C/dpkg-status"
	echo "$1 $2 $3" >>"$C/dpkg-status"
}
unpkg() { sed -i "/^$1 /d" "$C/dpkg-status"; }

# tree DIR RELEASE CONFIG-LINE...: a configured, prepared kernel build tree.
tree() {
	local dir=$1 rel=$2
	shift 2
	mkdir -p "$dir/include/config"
	echo "# Makefile of a fixture kernel tree" >"$dir/Makefile"
	printf '%s\n' "$@" >"$dir/.config"
	echo "$rel" >"$dir/include/config/kernel.release"
	printf '0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n' >"$dir/Module.symvers"
}

os_release() { mkdir -p "$R/etc" && printf 'NAME="%s"\nID=%s\n' "$1" "$2" >"$R/etc/os-release"; }

# begin ID NAME: a fresh, empty fixture for the next case.
begin() {
	id=$1
	name=$2
	C=$T/case-$id
	R=$C/fs
	B=$C/bin
	CACHE=$C/cache
	norm_hash=0
	run_env=()
	mkdir -p "$C" "$R/usr/src" "$B" "$C/home"
	: >"$C/dpkg-status"
	cat >"$B/dpkg-query" <<EOF
#!/bin/sh
# dpkg-query -W -f='\${db:Status-Abbrev} \${Version}\n' PKG, from $C/dpkg-status
if [ \$# -ne 3 ] || [ "\$1" != -W ] || [ "\$2" != '-f=\${db:Status-Abbrev} \${Version}\n' ]; then
	echo "fake dpkg-query: unexpected arguments: \$*" >&2
	exit 64
fi
line=\$(grep "^\$3 " "$C/dpkg-status") || { echo "dpkg-query: no packages found matching \$3" >&2; exit 1; }
set -- \$line
printf '%-3s%s\n' "\$2" "\$3"
EOF
	chmod +x "$B/dpkg-query"
}

# ---------------------------------------------------------------- running
# plan KDIR: runs kdir.sh --plan KDIR in the fixture's environment, with
# run_env added; stdout in $C/out, stderr in $C/err, status in $rc.
plan() {
	env -i PATH="$B:/usr/bin:/bin" HOME="$C/home" LC_ALL=C \
		NETATOP_FS_ROOT="$R" NETATOP_CACHE="$CACHE" NETATOP_TOOLS="$C/opt" \
		"${run_env[@]}" "$kdir_sh" --plan "$1" >"$C/out" 2>"$C/err"
	rc=$?
	if [ "$norm_hash" = 1 ]; then
		# The cache key is a hash of the tree; other cases check how it varies.
		sed -i -E 's#^((kdir|cache)=.*-)[0-9a-f]{12}$#\1<hash>#' "$C/out"
	fi
}

result() { # result ok|fail [EXPECTED ACTUAL]
	if [ "$1" = ok ]; then
		passed=$((passed + 1))
		printf '%-4s %-3s %s\n' ok "$id" "$name"
	else
		failed=$((failed + 1))
		printf '%-4s %-3s %s\n' FAIL "$id" "$name"
		failures+=("$id $name"$'\n'"$(diff -u --label expected --label actual \
			<(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/  /')")
	fi
}

actual() { printf 'exit %s\nstdout:\n%s\nstderr:\n%s' "$rc" "$(cat "$C/out")" "$(cat "$C/err")"; }

# expect_out KDIR LINE...: succeeds, prints exactly LINEs, nothing on stderr.
expect_out() {
	local k=$1
	shift
	plan "$k"
	if [ "$rc" = 0 ] && [ ! -s "$C/err" ] && printf '%s\n' "$@" | cmp -s - "$C/out"; then
		result ok
	else
		result fail "$(printf 'exit 0\nstdout:\n%s\nstderr:\n' "$(printf '%s\n' "$@")")" "$(actual)"
	fi
}

# expect_out_note KDIR NOTE LINE...: as expect_out, with exactly the one
# line "netatop: note: NOTE" on stderr.
expect_out_note() {
	local k=$1 note=$2
	shift 2
	plan "$k"
	if [ "$rc" = 0 ] && printf 'netatop: note: %s\n' "$note" | cmp -s - "$C/err" \
		&& printf '%s\n' "$@" | cmp -s - "$C/out"; then
		result ok
	else
		result fail "$(printf 'exit 0\nstdout:\n%s\nstderr:\nnetatop: note: %s' "$(printf '%s\n' "$@")" "$note")" "$(actual)"
	fi
}

# expect_err KDIR MESSAGE: fails with status 2, nothing on stdout and exactly
# the one line "netatop: MESSAGE" on stderr.
expect_err() {
	plan "$1"
	if [ "$rc" = 2 ] && [ ! -s "$C/out" ] && printf 'netatop: %s\n' "$2" | cmp -s - "$C/err"; then
		result ok
	else
		result fail "$(printf 'exit 2\nstdout:\n\nstderr:\nnetatop: %s' "$2")" "$(actual)"
	fi
}

# ------------------------------------------------------------ the layouts
# Debian 13 with a trixie-backports kernel: headers without rust/.
DREL=7.3.4+deb13-amd64
DVER=7.3.4-1~bpo13+1
DRUST="rustc 1.85.1 (4eb161250 2025-03-15) (built from a source tarball)"
DCC="x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0"
DBG="bindgen 0.71.1"
debian() {
	os_release "Debian GNU/Linux" debian
	DK=$R/usr/src/linux-headers-$DREL
	tree "$DK" "$DREL" CONFIG_RUST=y "CONFIG_RUSTC_VERSION_TEXT=\"$DRUST\"" \
		"CONFIG_BINDGEN_VERSION_TEXT=\"$DBG\"" CONFIG_CC_IS_GCC=y \
		"CONFIG_CC_VERSION_TEXT=\"$DCC\"" CONFIG_GCC_VERSION=140200
	pkg "linux-headers-$DREL" ii "$DVER"
	pkg linux-source-7.3 ii "$DVER"
	: >"$R/usr/src/linux-source-7.3.tar.xz"
	sysroot "$C/sysroot" src
	fake "$B/rustc" "$DRUST" "$C/sysroot"
	fake "$B/bindgen" "$DBG"
	fake "$B/x86_64-linux-gnu-gcc-14" "$DCC"
	DKEY=$CACHE/stock/$DREL-7.3.4-1_bpo13+1
}
debian_ok() { # the plan of a complete Debian fixture, with rustc at $1
	printf '%s\n' "kdir=$DKEY-<hash>" mode=regenerate "arg=RUSTC=$1" "arg=HOSTRUSTC=$1" \
		"arg=CC=$B/x86_64-linux-gnu-gcc-14" "arg=HOSTCC=$B/x86_64-linux-gnu-gcc-14" \
		"arg=BINDGEN=${2:-$B/bindgen}" "src=$R/usr/src/linux-source-7.3.tar.xz" "cache=$DKEY-<hash>"
}

# Ubuntu with a kernel of a supported series (a fixture: the layout is that
# of Ubuntu's HWE kernels, headers whose rust/ links to linux-lib-rust).
UREL=7.2.0-8-generic
URUST="rustc 1.91.1 (ed61e7d7e 2025-11-07) (built from a source tarball)"
UCC="x86_64-linux-gnu-gcc-13 (Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0"
ubuntu() { # ubuntu LINK-TARGET: the headers' rust -> LINK-TARGET
	os_release Ubuntu ubuntu
	UK=$R/usr/src/linux-headers-$UREL
	ULIB=$R/usr/src/linux-lib-rust-$UREL/rust
	tree "$UK" "$UREL" CONFIG_RUST=y "CONFIG_RUSTC_VERSION_TEXT=\"$URUST\"" \
		'CONFIG_BINDGEN_VERSION_TEXT="bindgen 0.66.1"' CONFIG_CC_IS_GCC=y \
		"CONFIG_CC_VERSION_TEXT=\"$UCC\"" CONFIG_GCC_VERSION=130300
	ln -s "$1" "$UK/rust"
	pkg "linux-headers-$UREL" ii 7.2.0-8.8
	fake "$B/x86_64-linux-gnu-gcc-13" "$UCC"
}
ubuntu_ok() { # the args of a complete Ubuntu fixture, with rustc at $1
	printf '%s\n' "arg=RUSTC=$1" "arg=HOSTRUSTC=$1" \
		"arg=CC=$B/x86_64-linux-gnu-gcc-13" "arg=HOSTCC=$B/x86_64-linux-gnu-gcc-13"
}

# ------------------------------------------------------------------ cases
begin 1 "self-built clang tree: tree, LLVM= the llvm-19 bin dir"
os_release "Debian GNU/Linux" debian
K=$C/build
CRUST="rustc 1.95.0 (59807616e 2026-04-14)"
CCC="Debian clang version 19.1.7 (3+b1)"
tree "$K" 7.3.4 CONFIG_RUST=y "CONFIG_RUSTC_VERSION_TEXT=\"$CRUST\"" \
	'CONFIG_BINDGEN_VERSION_TEXT="bindgen 0.71.1"' CONFIG_CC_IS_CLANG=y \
	CONFIG_CLANG_VERSION=190107 "CONFIG_CC_VERSION_TEXT=\"$CCC\""
mkdir -p "$K/rust" && : >"$K/rust/libkernel.rmeta"
fake "$B/rustc" "$CRUST" "$C/sysroot"
fake "$R/usr/lib/llvm-19/bin/clang" "$CCC"
expect_out "$K" "kdir=$K" mode=tree "arg=RUSTC=$B/rustc" "arg=HOSTRUSTC=$B/rustc" \
	"arg=LLVM=$R/usr/lib/llvm-19/bin/"

begin 1b "self-built clang tree, clang-19 on PATH: LLVM=-19"
cp -a "$T/case-1/build" "$C/build"
K=$C/build
fake "$B/rustc" "$CRUST" "$C/sysroot"
fake "$B/clang-19" "$CCC"
expect_out "$K" "kdir=$K" mode=tree "arg=RUSTC=$B/rustc" "arg=HOSTRUSTC=$B/rustc" "arg=LLVM=-19"

begin 2 "debian: regenerate from linux-source-7.3"
debian
norm_hash=1
mapfile -t want < <(debian_ok "$B/rustc")
expect_out "$DK" "${want[@]}"

begin 2b "debian: --plan writes nothing in NETATOP_CACHE"
debian
plan "$DK"
if [ "$rc" = 0 ] && [ ! -e "$CACHE" ]; then result ok; else
	result fail "exit 0, no $CACHE" "exit $rc, $(ls -d "$CACHE" 2>&1)"; fi

begin 2c "debian: cache key is stable, follows .config and Module.symvers"
debian
key() { plan "$DK" && sed -n 's/^cache=//p' "$C/out"; }
k1=$(key)
k2=$(key)
echo CONFIG_NETATOP_FIXTURE=y >>"$DK/.config"
k3=$(key)
echo "0x9abcdef0	printk_ratelimit	vmlinux	EXPORT_SYMBOL	" >>"$DK/Module.symvers"
k4=$(key)
case "$k1" in "$DKEY-"????????????) shape=ok ;; *) shape=bad ;; esac
if [ "$shape" = ok ] && [ "$k1" = "$k2" ] && [ "$k1" != "$k3" ] && [ "$k3" != "$k4" ] && [ "$k4" != "$k1" ]; then
	result ok
else
	result fail "$DKEY-<12 hex>, equal twice, then 2 new keys" "$(printf '%s\n' "$k1" "$k2" "$k3" "$k4")"
fi

begin 2d "debian sid 7.2: regenerate from linux-source-7.2, gcc-16"
os_release "Debian GNU/Linux" debian
SREL=7.2.13+deb14-amd64
SRUST="rustc 1.97.1 (8bab26f4f 2026-07-14) (built from a source tarball)"
SCC="x86_64-linux-gnu-gcc-16 (Debian 16.2.0-4) 16.2.0"
SK=$R/usr/src/linux-headers-$SREL
tree "$SK" "$SREL" CONFIG_RUST=y "CONFIG_RUSTC_VERSION_TEXT=\"$SRUST\"" \
	'CONFIG_BINDGEN_VERSION_TEXT="bindgen 0.72.1"' CONFIG_CC_IS_GCC=y \
	"CONFIG_CC_VERSION_TEXT=\"$SCC\"" CONFIG_GCC_VERSION=160200
pkg "linux-headers-$SREL" ii 7.2.13-1
pkg linux-source-7.2 ii 7.2.13-1
pkg linux-source-7.3 ii "$DVER"
: >"$R/usr/src/linux-source-7.2.tar.xz"
: >"$R/usr/src/linux-source-7.3.tar.xz"
sysroot "$C/sysroot" src
fake "$B/rustc" "$SRUST" "$C/sysroot"
fake "$B/bindgen" "bindgen 0.72.1"
fake "$B/x86_64-linux-gnu-gcc-16" "$SCC"
norm_hash=1
expect_out "$SK" "kdir=$CACHE/stock/$SREL-7.2.13-1-<hash>" mode=regenerate "arg=RUSTC=$B/rustc" \
	"arg=HOSTRUSTC=$B/rustc" "arg=CC=$B/x86_64-linux-gnu-gcc-16" "arg=HOSTCC=$B/x86_64-linux-gnu-gcc-16" \
	"arg=BINDGEN=$B/bindgen" "src=$R/usr/src/linux-source-7.2.tar.xz" "cache=$CACHE/stock/$SREL-7.2.13-1-<hash>"

begin 3 "debian: rustc from rustup, not Debian's"
debian
fake "$B/rustc" "rustc 1.85.1 (4eb161250 2025-03-15)" "$C/sysroot"
expect_err "$DK" "kernel $DREL was built by '$DRUST', and a module must be built by exactly that rustc, but none is installed (found: 'rustc 1.85.1 (4eb161250 2025-03-15)' at $B/rustc): apt-get install rustc rust-src"

begin 4 "debian: no gcc-14"
debian
rm "$B/x86_64-linux-gnu-gcc-14"
expect_err "$DK" "kernel $DREL was built by '$DCC', which is not installed (none on PATH): apt-get install gcc-14"

begin 4a "debian: gcc-14 of another Debian revision: built with it, and a note"
debian
fake "$B/x86_64-linux-gnu-gcc-14" "x86_64-linux-gnu-gcc-14 (Debian 14.2.0-20) 14.2.0"
norm_hash=1
mapfile -t want < <(debian_ok "$B/rustc")
expect_out_note "$DK" "kernel $DREL was built by '$DCC'; building with 'x86_64-linux-gnu-gcc-14 (Debian 14.2.0-20) 14.2.0', another revision of the same GCC." \
	"${want[@]}"

begin 4b "debian: only another GCC (gcc-13): one line, no note"
debian
rm "$B/x86_64-linux-gnu-gcc-14"
fake "$B/x86_64-linux-gnu-gcc-13" "x86_64-linux-gnu-gcc-13 (Debian 13.3.0-5) 13.3.0"
run_env=("CC=$B/x86_64-linux-gnu-gcc-13")
expect_err "$DK" "kernel $DREL was built by '$DCC', which is not installed (found: 'x86_64-linux-gnu-gcc-13 (Debian 13.3.0-5) 13.3.0' at $B/x86_64-linux-gnu-gcc-13): apt-get install gcc-14"

begin 5 "debian: linux-source-7.3 not installed"
debian
unpkg linux-source-7.3
rm "$R/usr/src/linux-source-7.3.tar.xz"
expect_err "$DK" "kernel $DREL has no Rust metadata in its headers; it is regenerated from the kernel's source, which is not installed: apt-get install linux-source-7.3=$DVER"

begin 5b "debian: linux-source-7.3 removed, config files left (rc)"
debian
pkg linux-source-7.3 rc "$DVER"
expect_err "$DK" "kernel $DREL has no Rust metadata in its headers; it is regenerated from the kernel's source, which is not installed: apt-get install linux-source-7.3=$DVER"

begin 6 "debian: linux-source-7.3 of another version"
debian
pkg linux-source-7.3 ii 7.3.2-1~bpo13+1
expect_err "$DK" "kernel $DREL's headers are $DVER but linux-source-7.3 is 7.3.2-1~bpo13+1; the Rust metadata must be regenerated from the same version: apt-get install linux-source-7.3=$DVER"

begin 6b "debian: linux-source-7.3 installed, tarball missing"
debian
rm "$R/usr/src/linux-source-7.3.tar.xz"
expect_err "$DK" "linux-source-7.3 $DVER is installed but $R/usr/src/linux-source-7.3.tar.* is missing: apt-get install --reinstall linux-source-7.3=$DVER"

begin 7 "debian: bindgen 0.72.1, not 0.71.1"
debian
fake "$B/bindgen" "bindgen 0.72.1"
expect_err "$DK" "kernel $DREL was configured with '$DBG', which is needed to regenerate its Rust metadata and is not installed (found: 'bindgen 0.72.1' at $B/bindgen): apt-get install bindgen libclang-dev"

begin 7b "debian: bindgen only in NETATOP_TOOLS/bin"
debian
rm "$B/bindgen"
fake "$C/opt/bin/bindgen" "$DBG"
norm_hash=1
mapfile -t want < <(debian_ok "$B/rustc" "$C/opt/bin/bindgen")
expect_out "$DK" "${want[@]}"

begin 8 "debian: right rustc, no rust-src"
debian
rm -r "$C/sysroot/lib/rustlib/src"
expect_err "$DK" "$B/rustc has no Rust library source, needed to rebuild the kernel crate for $DREL: apt-get install rustc rust-src"

begin 8b "debian: RUSTC= tried first"
debian
sysroot "$C/other-sysroot" src
fake "$C/other/rustc" "$DRUST" "$C/other-sysroot"
run_env=(RUSTC="$C/other/rustc")
norm_hash=1
mapfile -t want < <(debian_ok "$C/other/rustc")
expect_out "$DK" "${want[@]}"

begin 8c "debian: self-built tree without rust/, not from a package"
debian
unpkg "linux-headers-$DREL"
expect_err "$DK" "KDIR=$DK has CONFIG_RUST=y but no Rust metadata (rust/libkernel.rmeta) and is not from a headers package: run 'make modules_prepare' in that kernel tree with '$DRUST'."

begin 9 "ubuntu: rust -> existing dir, rustc-1.91 on PATH"
ubuntu "$R/usr/src/linux-hwe-6.17-lib-rust/rust"
mkdir -p "$R/usr/src/linux-hwe-6.17-lib-rust/rust" && : >"$R/usr/src/linux-hwe-6.17-lib-rust/rust/libkernel.rmeta"
fake "$B/rustc-1.91" "$URUST" "$C/sysroot"
mapfile -t want < <(ubuntu_ok "$B/rustc-1.91")
expect_out "$UK" "kdir=$UK" mode=tree "${want[@]}"

begin 10 "ubuntu: rust link dangling, linux-lib-rust present"
ubuntu ../linux-lib-rust-hwe/rust
mkdir -p "$ULIB" && : >"$ULIB/libkernel.rmeta"
fake "$B/rustc-1.91" "$URUST" "$C/sysroot"
mapfile -t want < <(ubuntu_ok "$B/rustc-1.91")
expect_out "$UK" "kdir=$UK" mode=lib-rust "${want[@]}" "arg=KRUSTFLAGS=-L$ULIB"

begin 10b "ubuntu: no rust entry in the headers, linux-lib-rust present"
ubuntu ../linux-lib-rust-$UREL/rust
rm "$UK/rust"
mkdir -p "$ULIB" && : >"$ULIB/libkernel.rmeta"
fake "$B/rustc-1.91" "$URUST" "$C/sysroot"
mapfile -t want < <(ubuntu_ok "$B/rustc-1.91")
expect_out "$UK" "kdir=$UK" mode=lib-rust "${want[@]}" "arg=KRUSTFLAGS=-L$ULIB"

begin 11 "ubuntu: rust link dangling, no linux-lib-rust"
ubuntu ../linux-lib-rust-hwe/rust
fake "$B/rustc-1.91" "$URUST" "$C/sysroot"
expect_err "$UK" "kernel $UREL has no Rust metadata ($UK/rust -> ../linux-lib-rust-hwe/rust has no libkernel.rmeta): apt-get install linux-lib-rust-$UREL"

begin 11b "ubuntu: no rust entry in the headers, no linux-lib-rust"
ubuntu ../linux-lib-rust-$UREL/rust
rm "$UK/rust"
fake "$B/rustc-1.91" "$URUST" "$C/sysroot"
expect_err "$UK" "kernel $UREL has no Rust metadata ($UK/rust has no libkernel.rmeta): apt-get install linux-lib-rust-$UREL"

begin 12 "ubuntu: only the unversioned rustc, the wrong one"
ubuntu ../linux-lib-rust-$UREL/rust
mkdir -p "$ULIB" && : >"$ULIB/libkernel.rmeta"
fake "$B/rustc" "rustc 1.75.0 (82e1608df 2023-12-21) (built from a source tarball)" "$C/sysroot"
expect_err "$UK" "kernel $UREL was built by '$URUST', and a module must be built by exactly that rustc, but none is installed (found: 'rustc 1.75.0 (82e1608df 2023-12-21) (built from a source tarball)' at $B/rustc): apt-get install rustc-1.91 rust-1.91-src"

# The series netatop-rs supports, as kdir.sh names them: the matrix's.
KNOWN=$(awk -F'\t' '!/^#/ && NF >= 7 && $1 != "release" { split($1, v, "."); print v[1] "." v[2] }' \
	"$here/../../kernels.tsv" | sort -u -V | paste -sd, | sed 's/,/, /g')
OLDEST=${KNOWN%%,*}
GET="Debian: linux-image-amd64 from trixie-backports, forky or sid"
VERSION=$(cat "$here/../../rust/VERSION")

begin 13 "kernel without CONFIG_RUST"
debian
sed -i 's/^CONFIG_RUST=y$/# CONFIG_RUST is not set/' "$DK/.config"
expect_err "$DK" "kernel $DREL is built without CONFIG_RUST=y, so it cannot load a Rust module; boot a kernel with Rust enabled of a series netatop-rs supports ($KNOWN; $GET)."

begin 13c "trixie's own 6.12 kernel (no Rust)"
debian
tree "$DK" 6.12.57+deb13-amd64 "# CONFIG_RUST is not set" CONFIG_CC_IS_GCC=y "CONFIG_CC_VERSION_TEXT=\"$DCC\""
expect_err "$DK" "kernel 6.12.57+deb13-amd64 is built without CONFIG_RUST=y, so it cannot load a Rust module; boot a kernel with Rust enabled of a series netatop-rs supports ($KNOWN; $GET)."

begin 13d "ubuntu 24.04 HWE 6.17: Rust, but older than the oldest series ($OLDEST)"
ubuntu ../linux-lib-rust-6.17.0-8-generic/rust
tree "$UK" 6.17.0-8-generic CONFIG_RUST=y "CONFIG_RUSTC_VERSION_TEXT=\"$URUST\"" CONFIG_CC_IS_GCC=y "CONFIG_CC_VERSION_TEXT=\"$UCC\""
fake "$B/rustc-1.91" "$URUST" "$C/sysroot"
expect_err "$UK" "kernel 6.17.0-8-generic is older than the oldest series netatop-rs $VERSION supports ($KNOWN), whose Rust kernel API it is written for; boot a kernel of a supported series ($GET)."

begin 13e "a 7.1 kernel: one series before the oldest"
debian
echo 7.1.9+deb13-amd64 >"$DK/include/config/kernel.release"
expect_err "$DK" "kernel 7.1.9+deb13-amd64 is older than the oldest series netatop-rs $VERSION supports ($KNOWN), whose Rust kernel API it is written for; boot a kernel of a supported series ($GET)."

begin 13b "CONFIG_RUST=y without CONFIG_RUSTC_VERSION_TEXT"
debian
sed -i '/^CONFIG_RUSTC_VERSION_TEXT=/d' "$DK/.config"
expect_err "$DK" "kernel $DREL has CONFIG_RUST=y but no CONFIG_RUSTC_VERSION_TEXT in $DK/.config: the tree is incomplete."

begin 14a "KDIR does not exist"
expect_err "$C/nonexistent" "KDIR=$C/nonexistent does not exist: install the headers of the running kernel (Debian/Ubuntu: apt-get install linux-headers-\$(uname -r)) or pass KDIR=<kernel build tree>."

begin 14b "KDIR without .config"
debian
rm "$DK/.config"
expect_err "$DK" "KDIR=$DK is not a configured kernel build tree (no Makefile/.config): point KDIR at the headers (/lib/modules/<release>/build) or at the O= directory of a kernel build."

begin 14c "KDIR not prepared (no kernel.release)"
debian
rm "$DK/include/config/kernel.release"
expect_err "$DK" "KDIR=$DK has no kernel release (include/config/kernel.release): the tree is not prepared; run 'make modules_prepare' in it."

begin 14d "release from utsrelease.h when kernel.release is missing"
debian
rm "$DK/include/config/kernel.release"
mkdir -p "$DK/include/generated"
echo "#define UTS_RELEASE \"$DREL\"" >"$DK/include/generated/utsrelease.h"
norm_hash=1
mapfile -t want < <(debian_ok "$B/rustc")
expect_out "$DK" "${want[@]}"

begin 15 "ubuntu: rustc only in /usr/lib/rust-1.91/bin"
ubuntu ../linux-lib-rust-$UREL/rust
mkdir -p "$ULIB" && : >"$ULIB/libkernel.rmeta"
RB=$R/usr/lib/rust-1.91/bin
fake "$RB/rustc" "$URUST" "$C/sysroot"
fake "$RB/rustdoc" "rustdoc 1.91.1 (ed61e7d7e 2025-11-07) (built from a source tarball)"
fake "$RB/clippy-driver" "clippy 0.1.91 (ed61e7d7e 2025-11-07)"
fake "$B/rustc" "rustc 1.75.0 (82e1608df 2023-12-21) (built from a source tarball)" "$C/sysroot"
mapfile -t want < <(ubuntu_ok "$RB/rustc")
expect_out "$UK" "kdir=$UK" mode=tree "${want[@]:0:2}" "arg=CLIPPY_DRIVER=$RB/clippy-driver" \
	"arg=RUSTDOC=$RB/rustdoc" "${want[@]:2}"

# ------------------------------------------- module.sh: a newer series
# A tree of a series newer than the matrix's newest: module.sh tries the
# build (a fake make here) and reports its outcome in one line.
NEWEST=${KNOWN##*, }
NEXT=${NEWEST%%.*}.$(( ${NEWEST#*.} + 1 ))
newer_tree() { # a self-built clang tree of series $NEXT; make exits with $1
	os_release "Debian GNU/Linux" debian
	K=$C/build
	tree "$K" "$NEXT.1" CONFIG_RUST=y "CONFIG_RUSTC_VERSION_TEXT=\"$CRUST\"" \
		'CONFIG_BINDGEN_VERSION_TEXT="bindgen 0.72.1"' CONFIG_CC_IS_CLANG=y \
		CONFIG_CLANG_VERSION=190107 "CONFIG_CC_VERSION_TEXT=\"$CCC\""
	mkdir -p "$K/rust" && : >"$K/rust/libkernel.rmeta"
	fake "$B/rustc" "$CRUST" "$C/sysroot"
	fake "$B/clang-19" "$CCC"
	printf '#!/bin/sh\necho "error[E0308]: mismatched types"\necho "  --> rust/netatop_main.rs:116:29"\nexit %s\n' "$1" >"$B/make"
	chmod +x "$B/make"
}
build() { # module.sh KDIR OUTDIR in the fixture's environment
	env -i PATH="$B:/usr/bin:/bin" HOME="$C/home" LC_ALL=C \
		NETATOP_FS_ROOT="$R" NETATOP_CACHE="$CACHE" NETATOP_TOOLS="$C/opt" \
		"$here/../../scripts/module.sh" "$1" "$2" >"$C/out" 2>"$C/err"
	rc=$?
}
module_sh_expect() { # RC LINE: module.sh exits RC with exactly LINE on stderr
	build "$K" "$C/out-dir"
	if [ "$rc" = "$1" ] && [ ! -s "$C/out" ] && printf '%s\n' "$2" | cmp -s - "$C/err"; then
		result ok
	else
		result fail "$(printf 'exit %s\nstdout:\n\nstderr:\n%s' "$1" "$2")" "$(actual)"
	fi
}

begin 16 "module.sh: a $NEXT kernel whose crate moved on: one line, the messages in a log"
newer_tree 2
module_sh_expect 2 "netatop: kernel $NEXT.1 is newer than the series netatop-rs $VERSION supports ($KNOWN), and its Rust kernel API changed in a way rust/kernel_services/compat.rs does not know (the compiler's messages: $C/out-dir/netatop-build.log); use a newer netatop-rs, or boot a kernel of a supported series."
begin 16a "module.sh: ... and the compiler's messages are in that log"
newer_tree 2
build "$K" "$C/out-dir"
if grep -q '^error\[E0308\]: mismatched types$' "$C/out-dir/netatop-build.log" 2>/dev/null; then result ok; else
	result fail "the compiler's messages in $C/out-dir/netatop-build.log" "$(cat "$C/out-dir/netatop-build.log" 2>&1)"; fi

begin 16b "module.sh: a $NEXT kernel whose crate still fits: built, with a note"
newer_tree 0
module_sh_expect 0 "netatop: note: kernel $NEXT.1 is newer than the series netatop-rs $VERSION was tested on ($KNOWN); the module built, but report how it runs."

# --------------------------------------------------- kdir.sh --forget
begin 17 "--forget RELEASE: its trees go, other kernels' stay, unused sources go"
S=$CACHE/stock
mkdir -p "$S/$DREL-7.3.4-1_bpo13+1-0123456789ab" "$S/7.3.4+deb13-rt-amd64-7.3.4-1_bpo13+1-abcdefabcdef" \
	"$S/7.2.13+deb14-amd64-7.2.13-1-0123456789ab" "$S/src-7.3.4-1_bpo13+1" "$S/src-7.2.13-1"
: >"$S/7.2.13+deb14-amd64-7.2.13-1-0123456789ab.lock"
forget() { NETATOP_CACHE=$CACHE "$kdir_sh" --forget "$1"; ls -A "$S" 2>/dev/null | tr '\n' ' '; echo "."; }
got=$(forget "$DREL"; forget 7.2.13+deb14-amd64; forget 7.3.4+deb13-rt-amd64; ls -A "$CACHE")
want="7.2.13+deb14-amd64-7.2.13-1-0123456789ab 7.2.13+deb14-amd64-7.2.13-1-0123456789ab.lock 7.3.4+deb13-rt-amd64-7.3.4-1_bpo13+1-abcdefabcdef src-7.2.13-1 src-7.3.4-1_bpo13+1 .
7.3.4+deb13-rt-amd64-7.3.4-1_bpo13+1-abcdefabcdef src-7.3.4-1_bpo13+1 .
."
if [ "$got" = "$want" ]; then result ok; else result fail "$want" "$got"; fi

# ---------------------------------------------------------------- summary
echo "kdir-layouts: $passed passed, $failed failed"
for f in "${failures[@]}"; do
	printf 'FAIL %s\n' "$f"
done
[ "$failed" = 0 ]
