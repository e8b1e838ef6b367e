#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's own, unmodified 7.3 kernel for the test VM: vmlinuz, its modules
# and config, fetched from trixie-backports with apt-get download and
# unpacked into the cache (never installed on the host). Prints the directory,
# which holds vmlinuz, config and lib/modules/<release>/.
#
# usage: scripts/debian-kernel.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"

log() { echo "debian-kernel: $*" >&2; }
fail() { echo "debian-kernel: ERROR: $*" >&2; exit 1; }

dir=$NETATOP_CACHE/debian-kernel/$DEBIAN_KREL-${KSRC_DEB_VERSION//\~/_}
if [ -f "$dir/.netatop-complete" ]; then echo "$dir"; exit 0; fi

mkdir -p "$NETATOP_CACHE/debian-kernel"
exec 9>"$NETATOP_CACHE/debian-kernel/.lock"
flock 9
if [ -f "$dir/.netatop-complete" ]; then echo "$dir"; exit 0; fi

log "fetching Debian's linux-image-$DEBIAN_KREL ($KSRC_DEB_VERSION) from trixie-backports"
rm -rf "$dir" "$dir.tmp"
mkdir -p "$dir.tmp/debs"
( cd "$dir.tmp/debs" && apt-get download -qq \
	"linux-binary-$DEBIAN_KREL=$KSRC_DEB_VERSION" \
	"linux-modules-$DEBIAN_KREL=$KSRC_DEB_VERSION" \
	"linux-base-$DEBIAN_KREL=$KSRC_DEB_VERSION" >/dev/null 2>&1 ) \
	|| fail "could not download Debian's kernel $DEBIAN_KREL=$KSRC_DEB_VERSION (is trixie-backports in apt's sources? make setup adds it)"
for deb in "$dir.tmp"/debs/*.deb; do
	dpkg-deb -x "$deb" "$dir.tmp/root" || fail "bad package $deb"
done
mods=$dir.tmp/root/usr/lib/modules/$DEBIAN_KREL
[ -f "$mods/vmlinuz" ] && [ -f "$mods/config" ] || fail "Debian's packages hold no vmlinuz/config for $DEBIAN_KREL"
mkdir -p "$dir.tmp/lib/modules"
mv "$mods" "$dir.tmp/lib/modules/$DEBIAN_KREL"
ln -s "lib/modules/$DEBIAN_KREL/vmlinuz" "$dir.tmp/vmlinuz"
ln -s "lib/modules/$DEBIAN_KREL/config" "$dir.tmp/config"
depmod -b "$dir.tmp" "$DEBIAN_KREL" || fail "depmod failed for $DEBIAN_KREL"
rm -rf "$dir.tmp/debs" "$dir.tmp/root"
mv "$dir.tmp" "$dir"
touch "$dir/.netatop-complete"
echo "$dir"
