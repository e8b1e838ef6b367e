#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Prints "yes" when QEMU can boot the test kernel with KVM on this machine,
# "no" otherwise. /dev/kvm may open and still fail (nested, paravirtual hosts
# abort on MSR 0x10a or hang while decompressing), so a short trial boot
# decides; the verdict is cached per machine boot.
# NETATOP_KVM=yes|no overrides.
set -uo pipefail
. "$(dirname "$0")/versions.sh"
kdir=$1

case "${NETATOP_KVM:-auto}" in
yes|no) echo "$NETATOP_KVM"; exit 0 ;;
esac
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then echo no; exit 0; fi
verdict=$NETATOP_CACHE/kvm-$(cat /proc/sys/kernel/random/boot_id)
if [ -f "$verdict" ]; then cat "$verdict"; exit 0; fi
if timeout 40 "$NETATOP_TOOLS/vng-venv/bin/vng" --run "$kdir" --user root --memory 512M \
	--exec true </dev/null 2>&1 | cat >/dev/null && [ "${PIPESTATUS[0]}" = 0 ]; then
	echo yes >"$verdict"
else
	echo no >"$verdict"
fi
cat "$verdict"
