#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: build everything, boot the test kernel in a VM, load netatop.ko
# and show, for a person to read, what it reports about a small scenario of
# named processes making real traffic.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"

QUIET_OK=1 "$here/setup.sh"
kdir=$("$here/kernel.sh" test)
"$here/module.sh" "$kdir" "$top/build/test"
( cd "$top/netatop_user" && cargo build --quiet --release -p netatop-cli -p netatopd -p netatop-exporter -p netatop-guest-tests --bins )
"$here/vm.sh" --ko "$top/build/test/netatop.ko" -- bash "$top/tests/vm/demo-guest.sh"
