#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds netatop.ko for one of Debian's kernels (a release of the matrix,
# kernels.tsv) the way a Debian user's `make` does: in that kernel's suite's
# build root (scripts/debian-root.sh), with its headers as KDIR and the
# compilers its .config names (e.g. trixie's rustc 1.85.1, bindgen 0.71.1 and
# gcc-14 for 7.3.4+deb13-amd64; sid's rustc 1.97.1 and gcc-16 for
# 7.2.13+deb14-amd64); the Rust metadata the headers lack is regenerated
# once into the root's /var/cache/netatop-rs (scripts/kdir.sh). Also builds
# it with clippy (CLIPPY=1, that rustc's clippy), so the module stays
# warning- and clippy-clean with every compiler a supported kernel uses.
#
# usage: scripts/debian-module.sh [RELEASE|debian]   -> build/kernel-RELEASE/netatop.ko
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"
. "$here/matrix.sh"

rel=$(matrix_resolve "${1:-debian}")
root=$(matrix_root "$(matrix_get "$rel" suite)")
kdir=/lib/modules/$rel/build
out=build/kernel-$rel
"$here/debian-root.sh" "$root" run --bind "$top" -- "
	set -o pipefail
	cd '$top'
	mkdir -p build
	scripts/module.sh '$kdir' '$out' 2>&1 | tee '$out.log'
	scripts/module.sh '$kdir' 'build/clippy-kernel-$rel' CLIPPY=1 2>&1 | tee -a '$out.log'
	! grep -E '^(warning|error)' '$out.log'
	rustc --version
	modinfo -F vermagic '$out/netatop.ko'"
