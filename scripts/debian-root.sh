#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A Debian build root per suite of the kernel matrix (kernels.tsv): trixie
# (for trixie-backports' kernels), forky, sid. Each is made with debootstrap
# from Debian's packages only and cached outside the checkout. The host is
# Debian 12, but a module for one of Debian's kernels must be built by the
# very compilers that built that kernel (for 7.3.4+deb13: trixie's rustc
# 1.85.1, bindgen 0.71.1, gcc-14; for 7.2.13+deb14: sid's rustc 1.97.1,
# bindgen 0.72.1, gcc-16): they live here, with the headers and the
# linux-source-X.Y of every matrix kernel of that suite.
#
#   debian-root.sh ROOT       make (or reuse) the root; prints its path
#   debian-root.sh ROOT run [--overlay] [--bind DIR]... -- CMD...
#                             run CMD (a bash script string) as root inside it,
#                             with /proc, /dev and each DIR (default: the
#                             checkout) mounted at the same path; the mounts
#                             live in a private mount namespace and vanish
#                             with the command. --overlay: on a throw-away
#                             overlay of the root, so what CMD installs or
#                             changes is gone afterwards (package tests)
#   ROOT: trixie, forky or sid (scripts/matrix.sh: matrix_root)
#
# A root is keyed by its suite and package list (which follows the matrix);
# a root whose key differs is made anew.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"
. "$here/matrix.sh"

name=${1:?usage: debian-root.sh ROOT [run [--overlay] [--bind DIR]... -- CMD]}
shift
log() { echo "$name-root: $*" >&2; }
fail() { echo "$name-root: ERROR: $*" >&2; exit 1; }

# The matrix kernels built in this root, and the suites apt needs for them.
rels=()
suites="$name"
for rel in $(matrix_releases all); do
	suite=$(matrix_get "$rel" suite)
	[ "$(matrix_root "$suite")" = "$name" ] || continue
	rels+=("$rel")
	case " $suites " in *" $suite "*) ;; *) suites="$suites $suite" ;; esac
done
[ ${#rels[@]} -gt 0 ] || fail "no kernel of $MATRIX_FILE is built in a '$name' root (roots: $(matrix_roots all | tr '\n' ' '))"
[ "$name" = sid ] || suites="$suites $name-updates"

# What a Debian user installs to build the module for the kernel (README,
# "Install on Debian"), plus Debian's packaging tools and what the tests run
# in the root: the compilers the .config names (gcc-N from its CC text; rustc
# and bindgen are the suite's own), and each kernel's headers and source of
# the same version.
PACKAGES="rustc rust-src rust-clippy bindgen libclang-dev make bc bison flex
 libelf-dev libssl-dev openssl kmod cpio xz-utils zstd python3 rsync ca-certificates
 dpkg-dev debhelper dkms fakeroot"
for rel in "${rels[@]}"; do
	ver=$(matrix_get "$rel" version)
	gcc=$(matrix_get "$rel" cc | sed -n 's/^[^ ]*-\(gcc-[0-9][0-9]*\) .*/\1/p')
	[ -n "$gcc" ] || fail "kernel $rel: no gcc-N in its cc field of $MATRIX_FILE"
	series=$(echo "$rel" | cut -d. -f1-2)
	case " $PACKAGES " in *" $gcc "*) ;; *) PACKAGES="$PACKAGES $gcc" ;; esac
	PACKAGES="$PACKAGES linux-headers-$rel=$ver linux-source-$series=$ver"
done

key=$(printf '%s\n' "$name v2" "$DEBIAN_MIRROR" "$suites" $PACKAGES | sha256sum | cut -c1-12)
ROOT=$NETATOP_CACHE/roots/$name

make_root() {
	[ "$(cat "$ROOT/.netatop-complete" 2>/dev/null)" = "$key" ] && return 0
	[ "$(id -u)" = 0 ] || fail "must run as root (debootstrap, chroot)"
	mkdir -p "$NETATOP_CACHE"
	exec 8>"$NETATOP_CACHE/.root-$name.lock"
	flock 8
	[ "$(cat "$ROOT/.netatop-complete" 2>/dev/null)" = "$key" ] && return 0
	command -v debootstrap >/dev/null || fail "debootstrap is missing (apt-get install debootstrap; make setup does)"
	if findmnt -rn -o TARGET | grep -q "^$ROOT/"; then
		fail "something is still mounted under $ROOT; unmount it first"
	fi
	local start
	start=$(date +%s)
	log "making a Debian $name build root in $ROOT (debootstrap, about 5 min)"
	mkdir -p "$(dirname "$ROOT")"
	rm -rf "$ROOT" "$ROOT.tmp"
	# This host's debootstrap may predate the suite (forky): Debian's suites
	# all bootstrap alike, with sid's script.
	local script=()
	[ -e "/usr/share/debootstrap/scripts/$name" ] || script=(/usr/share/debootstrap/scripts/sid)
	debootstrap --variant=minbase "$name" "$ROOT.tmp" "$DEBIAN_MIRROR" "${script[@]}" \
		>"$NETATOP_CACHE/debootstrap-$name.log" 2>&1 \
		|| { tail -n 20 "$NETATOP_CACHE/debootstrap-$name.log" >&2; fail "debootstrap $name failed (log: $NETATOP_CACHE/debootstrap-$name.log)"; }
	mv "$ROOT.tmp" "$ROOT"
	cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<EOS
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $suites
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	rm -f "$ROOT/etc/apt/sources.list"
	# The registry's Release files of sid and forky can be past their
	# Valid-Until date (a mirror snapshot); their signatures are still checked.
	echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/99netatop-valid-until"
	# No daemons start inside the root.
	printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$ROOT/usr/sbin/policy-rc.d"
	run_in "" "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(echo $PACKAGES)" \
		>"$NETATOP_CACHE/apt-$name.log" 2>&1 \
		|| { tail -n 20 "$NETATOP_CACHE/apt-$name.log" >&2; fail "could not install the $name packages (log: $NETATOP_CACHE/apt-$name.log)"; }
	# Each kernel's compilers must be the ones its .config names, byte for
	# byte (the matrix says which): a suite that moved on is found here.
	local rel want have
	for rel in "${rels[@]}"; do
		want=$(matrix_get "$rel" rustc)
		have=$(run_in "" "rustc --version")
		[ "$have" = "$want" ] || fail "kernel $rel was built by '$want', but $name's rustc is '$have': the matrix (kernels.tsv) is out of date"
		want=$(matrix_get "$rel" bindgen)
		have=$(run_in "" "bindgen --version")
		[ "$have" = "$want" ] || fail "kernel $rel was built with '$want', but $name's is '$have': the matrix (kernels.tsv) is out of date"
		want=$(matrix_get "$rel" cc)
		have=$(run_in "" "${want%% *} --version | head -n1")
		[ "$have" = "$want" ] || fail "kernel $rel was built by '$want', but $name's is '$have': the matrix (kernels.tsv) is out of date"
	done
	echo "$key" >"$ROOT/.netatop-complete"
	log "made in $(( $(date +%s) - start )) s"
}

# run_in "DIR DIR..." SCRIPT [OVERLAY-DIR]: SCRIPT as root in the root, DIRs
# bind-mounted; with OVERLAY-DIR, in an overlay whose changes go there.
run_in() {
	local binds=$1 script=$2 overlay=${3:-}
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
	# shellcheck disable=SC2016
	unshare --mount --propagation private -- bash -euc '
		root=$1 binds=$2 script=$3 overlay=$4
		if [ -n "$overlay" ]; then
			mkdir -p "$overlay/upper" "$overlay/work" "$overlay/merged"
			mount -t overlay overlay -o "lowerdir=$root,upperdir=$overlay/upper,workdir=$overlay/work" "$overlay/merged"
			root=$overlay/merged
		fi
		mount -t proc proc "$root/proc"
		# The machine'"'"'s network settings: its resolver and the certificate
		# authorities it trusts (a proxy'"'"'s own CA included).
		if [ -d /etc/ssl/certs ] && [ -d "$root/etc/ssl/certs" ]; then
			mount --bind -o ro /etc/ssl/certs "$root/etc/ssl/certs"
		fi
		mount --rbind /dev "$root/dev"
		mount -t tmpfs tmpfs "$root/tmp"
		for d in $binds; do
			mkdir -p "$root$d"
			mount --bind "$d" "$root$d"
		done
		exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			/bin/bash -euc "$script"' _ "$ROOT" "$binds" "$script" "$overlay"
}

case "${1:-}" in
"")
	make_root
	echo "$ROOT"
	;;
run)
	shift
	binds=""
	overlay=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--overlay) overlay=y; shift ;;
		--bind) binds="$binds $(cd "$2" && pwd)"; shift 2 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	[ -n "$binds" ] || binds=$top
	[ $# -gt 0 ] || fail "usage: debian-root.sh $name run [--bind DIR]... -- CMD"
	make_root
	if [ -n "$overlay" ]; then
		overlay=$(mktemp -d "$NETATOP_CACHE/roots/$name-overlay.XXXXXX")
		trap 'rm -rf "$overlay"' EXIT
		run_in "$binds" "$*" "$overlay"
	else
		run_in "$binds" "$*"
	fi
	;;
*)
	fail "usage: debian-root.sh ROOT [run [--bind DIR]... -- CMD]"
	;;
esac
