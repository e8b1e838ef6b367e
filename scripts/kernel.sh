#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds (or reuses) the cached test kernel and prints its build directory
# (the KDIR that modules are built against and that the VM boots).
#
# usage: scripts/kernel.sh [FLAVOUR]     FLAVOUR: test (default) | debug
#
# The tree lives outside the checkout, under
#   $NETATOP_CACHE/kernel/<flavour>-<kernel version>-<hash>
# where <hash> covers the kernel package version, the config fragments, the
# base config and the rustc/bindgen/clang versions. A tree is reused only when
# its build finished (".netatop-complete" stamp); an interrupted build resumes
# incrementally. The O= tree hard-codes its own path, so it is never moved.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"

flavour=${1:-test}
fragments=("$top/tests/config/netatop-test.config")
case "$flavour" in
test) ;;
debug) fragments+=("$top/tests/config/netatop-debug.config") ;;
*) echo "kernel: unknown flavour '$flavour' (test|debug)" >&2; exit 2 ;;
esac

log() { echo "kernel: $*" >&2; }

[ -f "$KSRC/.netatop-unpacked" ] || { log "kernel source missing; run scripts/setup.sh"; exit 1; }

key=$( {
	echo "$KSRC_DEB_VERSION"
	echo "base: x86_64_defconfig kvm_guest.config"
	cat "${fragments[@]}"
	rustc --version --verbose
	bindgen --version
	clang --version | head -n1
} | sha256sum | cut -c1-12)
KDIR=$NETATOP_CACHE/kernel/$flavour-$KSRC_DEB_VERSION-$key
KDIR=${KDIR//\~/_}

if [ -f "$KDIR/.netatop-complete" ]; then
	echo "$KDIR"
	exit 0
fi

mkdir -p "$KDIR"
exec 9>"$KDIR/.build.lock"
flock 9
if [ -f "$KDIR/.netatop-complete" ]; then echo "$KDIR"; exit 0; fi

start=$(date +%s)
kmake() { make -s -C "$KSRC" O="$KDIR" LLVM=1 "$@"; }

log "building $flavour kernel $KSRC_DEB_VERSION in $KDIR (about 10 min on 2 cores)"
kmake rustavailable >/dev/null || { log "the Rust toolchain is not usable for this kernel (make rustavailable)"; exit 1; }
if [ ! -f "$KDIR/.netatop-configured" ]; then
	kmake x86_64_defconfig >/dev/null
	( cd "$KDIR" && "$KSRC/scripts/kconfig/merge_config.sh" -m -O "$KDIR" "$KDIR/.config" \
		"$KSRC/kernel/configs/kvm_guest.config" "${fragments[@]}" >/dev/null )
	kmake olddefconfig >/dev/null
	# Every option the fragments ask for (the last fragment wins) must have
	# survived olddefconfig.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF -- "$line" "$KDIR/.config" || { log "config: '$line' did not stick"; bad=1; } ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			if grep -q "^$opt=" "$KDIR/.config"; then log "config: '$opt' still set"; bad=1; fi ;;
		esac
	done < <(cat "${fragments[@]}" | awk '
		/^CONFIG_[A-Za-z0-9_]+=/ { n = $0; sub(/=.*/, "", n); last[n] = $0; order[n] = NR }
		/^# CONFIG_[A-Za-z0-9_]+ is not set/ { n = $2; last[n] = $0; order[n] = NR }
		END { for (n in last) print last[n] }')
	[ $bad = 0 ] || { log "config fragment is inconsistent with Kconfig (see above)"; exit 1; }
	touch "$KDIR/.netatop-configured"
fi

kmake -j"$(nproc)" bzImage modules >"$KDIR/build.log" 2>&1 \
	|| { tail -n 40 "$KDIR/build.log" >&2; log "kernel build failed (log: $KDIR/build.log)"; exit 1; }
[ -f "$KDIR/rust/libkernel.rmeta" ] || { log "no rust/libkernel.rmeta: CONFIG_RUST did not take effect"; exit 1; }

# Keep what module builds and VM boots need; drop the objects (~1 GB).
find "$KDIR" -name '*.o' -delete -o -name '*.a' -delete -o -name '.*.o.cmd' -delete 2>/dev/null || true
rm -f "$KDIR/vmlinux.o"

echo "$(date +%s) $(( $(date +%s) - start ))" >"$KDIR/.netatop-complete"
# Older trees of this flavour (other config or toolchain) are not reused.
for old in "$NETATOP_CACHE/kernel/$flavour"-*; do
	[ "$old" = "$KDIR" ] || [ ! -d "$old" ] || rm -rf "$old"
done
log "built in $(( $(date +%s) - start )) s"
echo "$KDIR"
