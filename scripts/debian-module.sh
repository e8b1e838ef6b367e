#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds netatop.ko for Debian's own 7.3 kernel the way a Debian 13 user's
# `make` does: in the trixie build root (scripts/trixie-root.sh), with
# linux-headers-7.3.4+deb13-amd64 as KDIR and Debian's rustc 1.85.1, bindgen
# and gcc-14; the Rust metadata the headers lack is regenerated once into the
# root's /var/cache/netatop-rs (scripts/kdir.sh). Also builds it with clippy
# (CLIPPY=1, rustc 1.85's clippy), so the module stays warning- and
# clippy-clean on the oldest compiler a 7.3 distribution kernel uses.
#
# usage: scripts/debian-module.sh        -> build/debian/netatop.ko
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"

kdir=/lib/modules/$DEBIAN_KREL/build
"$here/trixie-root.sh" run --bind "$top" -- "
	set -o pipefail
	cd '$top'
	mkdir -p build
	scripts/module.sh '$kdir' build/debian 2>&1 | tee build/debian.log
	scripts/module.sh '$kdir' build/clippy-debian CLIPPY=1 2>&1 | tee -a build/debian.log
	! grep -E '^(warning|error)' build/debian.log
	rustc --version
	modinfo -F vermagic build/debian/netatop.ko"
