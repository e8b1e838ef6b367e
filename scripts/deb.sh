#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb: the Debian packages of netatop-rs, built with Debian's own tooling
# (dpkg-buildpackage, debhelper, dh-dkms) from a copy of the tracked sources:
#   build/deb/netatop-rs-dkms_<version>_all.deb   the module's source for DKMS
#   build/deb/netatop-rs_<version>_<arch>.deb     netatopd, netatop, man pages, unit
# Needs: dpkg-dev debhelper dh-dkms cargo rustc (dpkg-buildpackage names
# whatever is missing).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
out=$top/build/deb
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version 2>/dev/null) \
	|| { echo "deb: dpkg-parsechangelog not found: apt-get install dpkg-dev" >&2; exit 2; }
src=$out/netatop-rs-$version

rm -rf "$out"
mkdir -p "$src"
# The tracked files (a git checkout), or everything but build products.
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$top" ls-files -z | (cd "$top" && xargs -0 cp --parents -t "$src")
else
	(cd "$top" && tar --exclude=./build --exclude=./netatop_user/target --exclude=./.git -cf - .) | tar -C "$src" -xf -
fi
cd "$src"
dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1 || { tail -n 30 "$out/build.log" >&2; echo "deb: dpkg-buildpackage failed (log: $out/build.log)" >&2; exit 1; }
ls "$out"/*.deb
