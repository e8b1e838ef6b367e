#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's "Install on Debian" commands, run as written in the build
# root of a matrix kernel's suite (on a throw-away overlay of it): `make
# deb`, then `apt-get install ./...deb`, whose DKMS build must make
# netatop.ko for that kernel under its module directory with its release as
# vermagic. The root "runs" that kernel: `uname -r` answers its release
# there, as on a Debian machine booted into it. Then what a user meets when
# something is missing or wrong (one line each), and what removing the
# packages leaves behind (nothing of the regenerated trees). Both packages
# pass lintian without errors (and without warnings but the ones kept
# below), and each systemd unit's exposure (systemd-analyze security) is
# at most what its job needs (the limits below). lintian and systemd are
# installed in the throw-away overlay only, not in the cached root.
#
# Cargo's downloads and build are cached outside the checkout
# ($NETATOP_CACHE/roots/<root>-cargo) so a second run reuses them.
#
# usage: tests/host/debian-packages.sh [RELEASE|debian]   (as root; for speed,
#        after scripts/debian-module.sh RELEASE regenerated the metadata)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/versions.sh"
. "$top/scripts/matrix.sh"

rel=$(matrix_resolve "${1:-debian}")
ver=$(matrix_get "$rel" version)
root=$(matrix_root "$(matrix_get "$rel" suite)")
rust_want=$(matrix_get "$rel" rustc)
series=$(echo "$rel" | cut -d. -f1-2)
pkg_version=$(cat "$top/rust/VERSION")

readme_block=$(awk '/<!-- debian-install: begin/ { on = 1; next }
	/<!-- debian-install: end/ { on = 0 }
	on && !/^```/ { print }' "$top/README.md")
[ -n "$readme_block" ] || { echo "debian-packages: no debian-install block in README.md" >&2; exit 1; }

# lintian warnings kept (tag names, space-separated), each with its reason:
# none. (Informational tags are printed, not counted: the Rust programs
# call no fortifiable glibc function (hardening-no-fortify-functions), and
# netatop-dbus.service is started by D-Bus activation, so it has no
# [Install] section (systemd-service-file-missing-install-key).)
lintian_kept=""
# The highest exposure (systemd-analyze security, 0 to 10) each unit may
# have; what is left of it is what its job needs:
# - netatopd (1.4 with trixie's systemd 257): it must run as root (as
#   netatop 3.2.2's daemon, atop expects it so) with CAP_NET_ADMIN and
#   CAP_SYS_NICE, in the initial user namespace (the module checks the
#   capability there), open an AF_INET socket, and write /run/netatop.log
#   0644 for atop;
# - netatop-exporter (1.5): a dynamic user with CAP_NET_ADMIN serving HTTP
#   (AF_INET/AF_INET6, the host's network);
# - netatop-dbus (5.9): the unit as shipped before this test, a root
#   service activated by D-Bus that must see every process in /proc and
#   look users up through NSS (sssd, LDAP, userdb sockets); the limit keeps
#   it from getting worse until it is hardened in its own change.
max_netatopd=1.5
max_exporter=1.6
max_dbus=6.0

cargo=$NETATOP_CACHE/roots/$root-cargo
mkdir -p "$cargo"
mkdir -p "$top/build"
out=$top/build/debian-packages-$rel.log

set +e
"$top/scripts/debian-root.sh" "$root" run --overlay --bind "$top" --bind "$cargo" -- "
set -o pipefail
# The kernel under test is the running one here.
printf '#!/bin/sh\ncase \"\$1\" in -r) echo $rel ;; *) exec /usr/bin/uname \"\$@\" ;; esac\n' >/usr/local/bin/uname
chmod 755 /usr/local/bin/uname
export DEBIAN_FRONTEND=noninteractive
export CARGO_HOME=$cargo/home CARGO_TARGET_DIR=$cargo/target
# The root holds the headers of every matrix kernel of its suite; a machine
# booted into this one has only its own (DKMS builds for all it finds).
others=\$(dpkg-query -W -f='\${Package}\n' 'linux-headers-*-amd64' | grep -vx 'linux-headers-$rel' || true)
[ -z \"\$others\" ] || apt-get purge -y -qq \$others >/dev/null
cd '$top'
echo '=== the README commands'
set -x
$readme_block
set +x
echo '=== results'
echo \"dkms: \$(dkms status netatop-rs -k $rel)\"
echo \"dkms-conf: \$(grep '^PACKAGE_VERSION=' /usr/src/netatop-rs-$pkg_version/dkms.conf)\"
ko=\$(ls /lib/modules/$rel/updates/dkms/netatop.ko* 2>/dev/null | head -n1)
echo \"module: \$ko\"
echo \"vermagic: \$(modinfo -F vermagic \"\$ko\")\"
echo \"owner: \$(dpkg -S /usr/sbin/netatopd)\"
echo \"depends: \$(dpkg-query -W -f='\${Depends}' netatop-rs-dkms)\"
echo \"kernel-depends: \$(dpkg-query -W -f='\${Depends}' netatop-rs-dkms | tr ',|' '\n\n' | grep -cE '^ *(gcc-[0-9]|linux-(source|headers|image)-)')\"
echo \"unit: \$(dpkg -L netatop-rs | grep -cE 'systemd/system/netatop(d|-exporter|-dbus)\\.service')\"
echo \"man: \$(dpkg -L netatop-rs | grep -c '/man[148]/netatop')\"
echo \"dbus: \$(dpkg -L netatop-rs | grep -cE 'dbus-1/(system\\.d|system-services)/org\\.gnome\\.GTopNetStats\\.(conf|service)')\"
echo \"rs-depends: \$(dpkg-query -W -f='\${Depends}' netatop-rs)\"
echo '=== lintian'
apt-get install -y -qq lintian systemd >/dev/null 2>&1 || echo 'apt-get install lintian systemd failed'
lint_rc=0
lintian --display-info --display-experimental --pedantic --tag-display-limit 0 \\
	build/deb/netatop-rs_${pkg_version}_amd64.deb build/deb/netatop-rs-dkms_${pkg_version}_all.deb \\
	>/tmp/lintian.out 2>/tmp/lintian.err || lint_rc=\$?
echo \"lintian-exit: \$lint_rc errors: \$(grep -c '^E: ' /tmp/lintian.out) warnings: \$(grep -c '^W: ' /tmp/lintian.out)\"
sed 's/^/lintian: /' /tmp/lintian.out /tmp/lintian.err
unexpected=0
for tag in \$(awk '/^W: / { print \$3 }' /tmp/lintian.out); do
	case ' $lintian_kept ' in *\" \$tag \"*) ;; *) unexpected=\$((unexpected + 1)) ;; esac
done
echo \"lintian-unexpected-warnings: \$unexpected\"
echo '=== systemd-analyze security (offline, the installed units)'
for u in netatopd netatop-exporter netatop-dbus; do
	systemd-analyze security --offline=true /usr/lib/systemd/system/\$u.service >/tmp/sa.out 2>&1 || true
	grep 'Overall exposure level' /tmp/sa.out || tail -n 5 /tmp/sa.out
	echo \"exposure: \$u \$(sed -n 's/.*Overall exposure level for .*: \\([0-9.]*\\) .*/\\1/p' /tmp/sa.out)\"
done
trees() { find /var/cache/netatop-rs/stock -mindepth 1 -maxdepth 1 -type d -name \"\$1\" 2>/dev/null | wc -l; }
echo \"stock: \$(trees '$rel-*')\"
set +e
# A wrong compiler, as a user with rustup's build of the same version first
# on PATH and Debian's rustc removed would have it: one line, naming the
# package.
mkdir -p /tmp/rustup-bin
printf '#!/bin/sh\necho \"${rust_want% (built from a source tarball)}\"\n' >/tmp/rustup-bin/rustc
chmod 755 /tmp/rustup-bin/rustc
mv /usr/bin/rustc /usr/bin/rustc.off
PATH=/tmp/rustup-bin:\$PATH make -s module KDIR=/lib/modules/$rel/build >/tmp/wrong.out 2>&1
echo \"wrong-rustc-exit: \$? lines: \$(grep -vc '^make: \*\*\* ' /tmp/wrong.out)\"
echo \"wrong-rustc: \$(head -n1 /tmp/wrong.out)\"
mv /usr/bin/rustc.off /usr/bin/rustc
# The kernel's source missing where the metadata is not regenerated yet:
# one line naming the package and the version to install.
apt-get purge -y -qq linux-source-$series >/dev/null 2>&1
NETATOP_CACHE=/tmp/empty-cache make -s module KDIR=/lib/modules/$rel/build >/tmp/nosrc.out 2>&1
echo \"no-source-exit: \$? lines: \$(grep -vc '^make: \*\*\* ' /tmp/nosrc.out)\"
echo \"no-source: \$(head -n1 /tmp/nosrc.out)\"
# Removing: dkms remove forgets the kernel's regenerated tree, purging the
# package every tree it made.
dkms remove netatop-rs/$pkg_version -k $rel >/dev/null 2>&1
echo \"removed: \$? stock: \$(trees '$rel-*')\"
apt-get purge -y -qq netatop-rs-dkms >/dev/null 2>&1
echo \"purged: \$? stock: \$(ls -A /var/cache/netatop-rs/stock 2>/dev/null | wc -l)\"
" >"$out" 2>&1
rc=$?
set -e
# The transcript is long (apt, dpkg-buildpackage, DKMS): its key lines here,
# all of it in the log, and its end when the commands failed.
echo "debian-packages: transcript in $out"
grep -E '^\+ |Building module|Building for|Installing to|Overall exposure level|^(dkms|dkms-conf|module|vermagic|owner|depends|rs-depends|kernel-depends|unit|man|lintian[a-z-]*|exposure|stock|wrong-rustc[a-z-]*|no-source[a-z-]*|removed|purged): ' "$out" || true
[ "$rc" = 0 ] || tail -n 30 "$out"

pass=0 fail=0
re() { printf '%s' "$1" | sed 's/[].+()~[]/\\&/g'; }
krel_re=$(re "$rel")
v_re=$(re "$pkg_version")
check() { # check NAME REGEX
	if grep -Eq -- "$2" "$out"; then
		echo "ok   $1"; pass=$((pass + 1))
	else
		echo "FAIL $1 (no line matches: $2)"; fail=$((fail + 1))
	fi
}
at_most() { # at_most UNIT MAX: its exposure line says at most MAX
	local e
	e=$(sed -n "s/^exposure: $1 \([0-9.]*\)$/\1/p" "$out")
	if [ -n "$e" ] && awk -v e="$e" -v m="$2" 'BEGIN { exit !(e <= m) }'; then
		echo "ok   systemd-analyze security: $1.service exposure $e <= $2"; pass=$((pass + 1))
	else
		echo "FAIL systemd-analyze security: $1.service exposure '${e:-none}', at most $2"; fail=$((fail + 1))
	fi
}
if [ "$rc" = 0 ]; then echo "ok   README commands exit 0"; pass=$((pass + 1)); else echo "FAIL README commands exit $rc"; fail=$((fail + 1)); fi
check "make deb built both packages" "build/deb/netatop-rs-dkms_${v_re}_all\.deb$"
check "apt-get install ran the DKMS build" "Building module|Building for $krel_re"
check "dkms status: installed for $rel" "^dkms: netatop-rs/$v_re, $krel_re, x86_64: installed"
check "dh_dkms wrote rust/VERSION into the installed dkms.conf" "^dkms-conf: PACKAGE_VERSION=\"$v_re\"$"
check "module under the kernel's module directory" "^module: /lib/modules/$krel_re/updates/dkms/netatop\.ko(\.xz|\.zst|\.gz)?$"
check "vermagic equals the kernel release" "^vermagic: $krel_re SMP "
check "netatopd comes from netatop-rs" "^owner: netatop-rs: /usr/sbin/netatopd$"
check "the DKMS package depends on Debian's Rust compilers" "^depends: .*rustc.*rust-src.*bindgen.*libclang-dev"
check "  ... and on nothing of one kernel (gcc-N comes with its headers, linux-source-X.Y is named when missing)" "^kernel-depends: 0$"
check "the systemd units are installed (netatopd, netatop-exporter, netatop-dbus)" "^unit: 3$"
check "the man pages are installed (netatop.1, netatop.4, netatopd.8, netatop-exporter.8, netatop-dbus.8)" "^man: 5$"
check "the D-Bus policy and activation file are installed" "^dbus: 2$"
check "netatopd links the system's zlib (no copy of it to list in debian/copyright)" "^rs-depends: .*zlib1g "
check "lintian: no error in either package" "^lintian-exit: 0 errors: 0 "
check "lintian: no warning but the kept ones (${lintian_kept:-none})" "^lintian-unexpected-warnings: 0$"
at_most "netatopd" "$max_netatopd"
at_most "netatop-exporter" "$max_exporter"
at_most "netatop-dbus" "$max_dbus"
check "the kernel's Rust metadata was regenerated under /var/cache/netatop-rs/stock" "^stock: 1$"
check "a wrong rustc stops make with one line (besides make's own 'Error 2')" "^wrong-rustc-exit: 2 lines: 1$"
check "  ... naming the kernel's rustc, the one found and the package" "^wrong-rustc: netatop: kernel $krel_re was built by '$(re "$rust_want")', .*found: '$(re "${rust_want% (built from a source tarball)}")' at /tmp/rustup-bin/rustc\): apt-get install rustc rust-src$"
check "no linux-source-$series stops make with one line" "^no-source-exit: 2 lines: 1$"
check "  ... naming the package and the headers' version" "^no-source: netatop: kernel $krel_re .*: apt-get install linux-source-$series=$(re "$ver")$"
check "dkms remove deletes the kernel's regenerated tree" "^removed: 0 stock: 0$"
check "apt-get purge leaves no regenerated tree" "^purged: 0 stock: 0$"
echo "debian-packages: $pass passed, $fail failed"
[ "$fail" = 0 ]
