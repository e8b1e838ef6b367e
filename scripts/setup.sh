#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs everything netatop-rs needs to build the test kernel, the module,
# the userland and to boot the test VM, from the package registries only
# (Debian's archive, crates.io, PyPI).
#
# Idempotent and quiet when everything is already in place: each component is
# checked by asking the installed tool for its version, never by trusting a
# stamp file, so a half-finished earlier run is simply completed.
#
# Environment:
#   NETATOP_CACHE   cache root (default /var/cache/netatop-rs)
#   NETATOP_TOOLS   tool root for bindgen and virtme-ng (default /opt/netatop-rs)
set -euo pipefail

. "$(dirname "$0")/versions.sh"

log()  { [ "${QUIET_OK:-0}" = 1 ] || echo "setup: $*"; }
fail() { echo "setup: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (it installs packages with apt-get)"
[ "$(uname -m)" = x86_64 ] || fail "only x86_64 hosts are supported"

mkdir -p "$NETATOP_CACHE" "$NETATOP_TOOLS"
# Serialise concurrent setups (make -j, two terminals).
exec 9>"$NETATOP_CACHE/.setup.lock"
flock 9

# ---------------------------------------------------------------- apt sources
# linux-source-7.3 comes from trixie-backports and qemu from bookworm-backports.
# Reuse the mirror already configured for bookworm; pin the new suites low so
# nothing else is ever upgraded from them.
apt_sources() {
	local list=/etc/apt/sources.list.d/netatop-rs.sources
	local pref=/etc/apt/preferences.d/netatop-rs
	[ -f "$list" ] && [ -f "$pref" ] && return 0
	local uri=$DEBIAN_MIRROR
	[ -n "$uri" ] || fail "no Debian bookworm mirror found in /etc/apt/sources.list*; add one first"
	log "adding apt suites bookworm-backports and trixie-backports from $uri"
	cat >"$list.tmp" <<EOS
Types: deb
URIs: $uri
Suites: bookworm-backports trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	cat >"$pref.tmp" <<EOS
Package: *
Pin: release n=trixie-backports
Pin-Priority: 1

Package: *
Pin: release n=bookworm-backports
Pin-Priority: 100
EOS
	mv "$pref.tmp" "$pref"
	mv "$list.tmp" "$list"
	rm -f "$NETATOP_CACHE/.apt-updated"
}

apt_update_once() {
	[ -f "$NETATOP_CACHE/.apt-updated" ] && return 0
	log "apt-get update"
	apt-get update -qq >/dev/null || fail "apt-get update failed (is the Debian mirror reachable?)"
	touch "$NETATOP_CACHE/.apt-updated"
}

apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "${p%%/*}" 2>/dev/null | grep -q '^install ok installed$' \
			|| missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	apt_update_once
	log "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		>"$NETATOP_CACHE/apt.log" 2>&1 \
		|| { tail -n 20 "$NETATOP_CACHE/apt.log" >&2; fail "could not install: ${missing[*]}"; }
}

apt_sources
apt_install $APT_PACKAGES
# QEMU from bookworm-backports, matching the qemu-utils these machines ship.
if ! dpkg-query -W -f='${Status}' qemu-system-x86 2>/dev/null | grep -q 'ok installed'; then
	apt_update_once
	log "apt-get install qemu-system-x86 (bookworm-backports)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-t bookworm-backports qemu-system-x86 >"$NETATOP_CACHE/apt.log" 2>&1 \
	|| DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		qemu-system-x86 >>"$NETATOP_CACHE/apt.log" 2>&1 \
	|| { tail -n 20 "$NETATOP_CACHE/apt.log" >&2; fail "could not install qemu-system-x86"; }
fi

# ---------------------------------------------------------------- prometheus
# The in-guest test of netatop-exporter runs Debian's prometheus binary in
# the VM (the guest sees this root file system). The package's postinst
# enables, and where services may start starts, a prometheus.service on this
# host (port 9090): stop and disable it again, on every run, so that only the
# binary is used. Later upgrades keep it disabled.
apt_install prometheus
host_prometheus_off() {
	local booted=false
	[ -d /run/systemd/system ] && booted=true
	if $booted && systemctl is-active --quiet prometheus.service 2>/dev/null; then
		log "stopping the host's prometheus.service (only the tests run prometheus)"
		systemctl stop prometheus.service || fail "could not stop prometheus.service"
	fi
	# Works without a running systemd too (it edits the unit's symlinks).
	if command -v systemctl >/dev/null && systemctl is-enabled --quiet prometheus.service 2>/dev/null; then
		log "disabling the host's prometheus.service"
		systemctl disable --quiet prometheus.service 2>/dev/null \
			|| fail "could not disable prometheus.service"
	fi
	# sysvinit: the init script's start links, and a daemon it started.
	if [ -x /etc/init.d/prometheus ]; then
		if ls /etc/rc[2345].d/S[0-9][0-9]prometheus >/dev/null 2>&1; then
			update-rc.d prometheus disable >/dev/null 2>&1 \
				|| fail "could not disable /etc/init.d/prometheus"
		fi
		if ! $booted && /etc/init.d/prometheus status >/dev/null 2>&1; then
			log "stopping the host's prometheus daemon (/etc/init.d/prometheus)"
			/etc/init.d/prometheus stop >/dev/null || fail "could not stop /etc/init.d/prometheus"
		fi
	fi
}
host_prometheus_off

# ------------------------------------------------------------- kernel source
# Fetched with apt-get download (no dependencies, libc untouched) and unpacked
# into the cache. The directory is renamed into place only when complete.
if [ ! -f "$KSRC/Makefile" ] || [ ! -f "$KSRC/.netatop-unpacked" ]; then
	apt_update_once
	log "fetching linux-source-$KVER_MAJOR ($KSRC_DEB_VERSION) from trixie-backports"
	tmp=$(mktemp -d "$NETATOP_CACHE/src.tmp.XXXXXX")
	( cd "$tmp" && apt-get download -qq "linux-source-$KVER_MAJOR=$KSRC_DEB_VERSION" >/dev/null 2>&1 ) \
		|| { rm -rf "$tmp"; fail "could not download linux-source-$KVER_MAJOR=$KSRC_DEB_VERSION (trixie-backports)"; }
	( cd "$tmp" && dpkg-deb -x linux-source-*.deb pkg ) || { rm -rf "$tmp"; fail "bad linux-source package"; }
	tarball=$(ls "$tmp"/pkg/usr/src/linux-source-*.tar.* | head -n1)
	log "unpacking $(basename "$tarball")"
	tar -C "$tmp" -xf "$tarball" || { rm -rf "$tmp"; fail "could not unpack $tarball"; }
	rm -rf "$KSRC"
	mkdir -p "$(dirname "$KSRC")"
	mv "$tmp/linux-source-$KVER_MAJOR" "$KSRC"
	touch "$KSRC/.netatop-unpacked"
	rm -rf "$tmp"
fi

# ---------------------------------------------------------------------- rust
rustup_ok() {
	local sysroot
	rustup run "$RUST_TOOLCHAIN" rustc --version 2>/dev/null | grep -q "^rustc $RUST_TOOLCHAIN " || return 1
	sysroot=$(rustup run "$RUST_TOOLCHAIN" rustc --print sysroot) || return 1
	[ -f "$sysroot/lib/rustlib/src/rust/library/core/src/lib.rs" ] || return 1
	rustup run "$RUST_TOOLCHAIN" cargo clippy --version >/dev/null 2>&1 || return 1
	rustup run "$RUST_TOOLCHAIN" rustfmt --version >/dev/null 2>&1 || return 1
}
if ! command -v rustup >/dev/null; then
	[ -x "$HOME/.cargo/bin/rustup" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v rustup >/dev/null || fail "rustup not found; install it (e.g. Debian's rustup package) and rerun"
if ! rustup_ok; then
	log "rustup toolchain install $RUST_TOOLCHAIN (+rust-src, rustfmt, clippy)"
	rustup toolchain install "$RUST_TOOLCHAIN" --profile minimal \
		-c rust-src -c rustfmt -c clippy >"$NETATOP_CACHE/rustup.log" 2>&1 \
		|| { tail -n 20 "$NETATOP_CACHE/rustup.log" >&2; fail "could not install rust $RUST_TOOLCHAIN"; }
	rustup_ok || fail "rust $RUST_TOOLCHAIN installed but incomplete (rust-src/clippy/rustfmt)"
fi

# ------------------------------------------------------------------- bindgen
if ! "$NETATOP_TOOLS/bin/bindgen" --version 2>/dev/null | grep -q "^bindgen $BINDGEN_VERSION\$"; then
	log "cargo install bindgen-cli $BINDGEN_VERSION"
	RUSTUP_TOOLCHAIN=$RUST_TOOLCHAIN cargo install --quiet --locked --force \
		--root "$NETATOP_TOOLS" bindgen-cli --version "$BINDGEN_VERSION" \
		>"$NETATOP_CACHE/bindgen.log" 2>&1 \
		|| { tail -n 20 "$NETATOP_CACHE/bindgen.log" >&2; fail "could not install bindgen-cli $BINDGEN_VERSION from crates.io"; }
fi

# ----------------------------------------------------------------- virtme-ng
VENV=$NETATOP_TOOLS/vng-venv
if ! "$VENV/bin/vng" --version 2>/dev/null | grep -q "$VNG_VERSION"; then
	log "pip install virtme-ng==$VNG_VERSION (venv $VENV)"
	rm -rf "$VENV.tmp"
	{ python3 -m venv "$VENV.tmp" \
		&& "$VENV.tmp/bin/pip" install -q "virtme-ng==$VNG_VERSION"; } \
		>"$NETATOP_CACHE/vng.log" 2>&1 \
		|| { tail -n 20 "$NETATOP_CACHE/vng.log" >&2; rm -rf "$VENV.tmp"; fail "could not install virtme-ng==$VNG_VERSION from PyPI"; }
	rm -rf "$VENV"
	# A venv hard-codes its path: rebuild it in place rather than moving it.
	python3 -m venv "$VENV" >/dev/null && "$VENV/bin/pip" install -q "virtme-ng==$VNG_VERSION" \
		>>"$NETATOP_CACHE/vng.log" 2>&1 \
		|| { rm -rf "$VENV"; fail "could not install virtme-ng==$VNG_VERSION from PyPI"; }
	rm -rf "$VENV.tmp"
fi
log "ok"
