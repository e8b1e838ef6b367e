#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A Debian 13 (trixie) build root, made with debootstrap from Debian's
# packages only and cached outside the checkout. The host is Debian 12, but a
# module for Debian's own 7.3 kernel must be built by the compilers that built
# that kernel (trixie's rustc 1.85.1, bindgen 0.71.1, gcc-14): they live here.
#
#   trixie-root.sh            make (or reuse) the root; prints its path
#   trixie-root.sh run [--overlay] [--bind DIR]... -- CMD...
#                             run CMD (a bash script string) as root inside it,
#                             with /proc, /dev and each DIR (default: the
#                             checkout) mounted at the same path; the mounts
#                             live in a private mount namespace and vanish
#                             with the command. --overlay: on a throw-away
#                             overlay of the root, so what CMD installs or
#                             changes is gone afterwards (package tests)
#
# The root is keyed by the suite and the package list below; a root whose key
# differs is made anew. Debian's kernel packages come from trixie-backports.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"

log() { echo "trixie-root: $*" >&2; }
fail() { echo "trixie-root: ERROR: $*" >&2; exit 1; }

# What a Debian 13 user installs to build the module for the stock kernel
# (README, "Install on Debian 13"), plus Debian's packaging tools and what the
# tests run in the root.
TRIXIE_PACKAGES="rustc rust-src rust-clippy bindgen libclang-dev gcc-14 make bc bison flex
 libelf-dev libssl-dev openssl kmod cpio xz-utils zstd python3 rsync ca-certificates
 dpkg-dev debhelper dkms fakeroot
 linux-headers-$DEBIAN_KREL linux-source-$KVER_MAJOR=$KSRC_DEB_VERSION"

key=$(printf '%s\n' "trixie v1" "$DEBIAN_MIRROR" $TRIXIE_PACKAGES | sha256sum | cut -c1-12)
ROOT=$NETATOP_CACHE/trixie-root

make_root() {
	[ "$(cat "$ROOT/.netatop-complete" 2>/dev/null)" = "$key" ] && return 0
	[ "$(id -u)" = 0 ] || fail "must run as root (debootstrap, chroot)"
	mkdir -p "$NETATOP_CACHE"
	exec 8>"$NETATOP_CACHE/.trixie-root.lock"
	flock 8
	[ "$(cat "$ROOT/.netatop-complete" 2>/dev/null)" = "$key" ] && return 0
	command -v debootstrap >/dev/null || fail "debootstrap is missing (apt-get install debootstrap; make setup does)"
	if findmnt -rn -o TARGET | grep -q "^$ROOT/"; then
		fail "something is still mounted under $ROOT; unmount it first"
	fi
	local start
	start=$(date +%s)
	log "making a Debian 13 (trixie) build root in $ROOT (debootstrap, about 5 min)"
	rm -rf "$ROOT" "$ROOT.tmp"
	debootstrap --variant=minbase trixie "$ROOT.tmp" "$DEBIAN_MIRROR" >"$NETATOP_CACHE/debootstrap.log" 2>&1 \
		|| { tail -n 20 "$NETATOP_CACHE/debootstrap.log" >&2; fail "debootstrap trixie failed (log: $NETATOP_CACHE/debootstrap.log)"; }
	mv "$ROOT.tmp" "$ROOT"
	cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<EOS
Types: deb
URIs: $DEBIAN_MIRROR
Suites: trixie trixie-updates trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	rm -f "$ROOT/etc/apt/sources.list"
	# No daemons start inside the root.
	printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$ROOT/usr/sbin/policy-rc.d"
	run_in "" "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(echo $TRIXIE_PACKAGES)" \
		>"$NETATOP_CACHE/trixie-apt.log" 2>&1 \
		|| { tail -n 20 "$NETATOP_CACHE/trixie-apt.log" >&2; fail "could not install the trixie packages (log: $NETATOP_CACHE/trixie-apt.log)"; }
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
	[ $# -gt 0 ] || fail "usage: trixie-root.sh run [--bind DIR]... -- CMD"
	make_root
	if [ -n "$overlay" ]; then
		overlay=$(mktemp -d "$NETATOP_CACHE/trixie-overlay.XXXXXX")
		trap 'rm -rf "$overlay"' EXIT
		run_in "$binds" "$*" "$overlay"
	else
		run_in "$binds" "$*"
	fi
	;;
*)
	fail "usage: trixie-root.sh [run [--bind DIR]... -- CMD]"
	;;
esac
