#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# One of Debian's own, unmodified kernels (a release of the matrix,
# kernels.tsv) for the test VM: vmlinuz, its modules and config, fetched
# with apt-get download in the build root of its suite and unpacked into the
# cache (never installed, on the host or in the root). Prints the directory,
# which holds vmlinuz, config and lib/modules/<release>/.
#
# usage: scripts/debian-kernel.sh [RELEASE|debian]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
. "$here/matrix.sh"

rel=$(matrix_resolve "${1:-debian}")
ver=$(matrix_get "$rel" version)
suite=$(matrix_get "$rel" suite)
log() { echo "debian-kernel: $*" >&2; }
fail() { echo "debian-kernel: ERROR: $*" >&2; exit 1; }

dir=$NETATOP_CACHE/debian-kernel/$rel-${ver//\~/_}
if [ -f "$dir/.netatop-complete" ]; then echo "$dir"; exit 0; fi

mkdir -p "$NETATOP_CACHE/debian-kernel"
exec 9>"$NETATOP_CACHE/debian-kernel/.lock"
flock 9
if [ -f "$dir/.netatop-complete" ]; then echo "$dir"; exit 0; fi

log "fetching Debian's linux-image-$rel ($ver) from $suite"
rm -rf "$dir" "$dir.tmp"
mkdir -p "$dir.tmp/debs"
"$here/debian-root.sh" "$(matrix_root "$suite")" run --bind "$dir.tmp/debs" -- \
	"cd '$dir.tmp/debs' && apt-get download -qq linux-binary-$rel=$ver linux-modules-$rel=$ver linux-base-$rel=$ver" \
	>"$dir.tmp/download.log" 2>&1 \
	|| { cat "$dir.tmp/download.log" >&2; fail "could not download Debian's kernel $rel=$ver from $suite"; }
for deb in "$dir.tmp"/debs/*.deb; do
	dpkg-deb -x "$deb" "$dir.tmp/root" || fail "bad package $deb"
done
mods=$dir.tmp/root/usr/lib/modules/$rel
[ -f "$mods/vmlinuz" ] && [ -f "$mods/config" ] || fail "Debian's packages hold no vmlinuz/config for $rel"
mkdir -p "$dir.tmp/lib/modules"
mv "$mods" "$dir.tmp/lib/modules/$rel"
ln -s "lib/modules/$rel/vmlinuz" "$dir.tmp/vmlinuz"
ln -s "lib/modules/$rel/config" "$dir.tmp/config"
depmod -b "$dir.tmp" "$rel" || fail "depmod failed for $rel"
rm -rf "$dir.tmp/debs" "$dir.tmp/root" "$dir.tmp/download.log"
mv "$dir.tmp" "$dir"
touch "$dir/.netatop-complete"
echo "$dir"
