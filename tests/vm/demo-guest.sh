#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo scenario, run in the guest by scripts/demo.sh (module loaded).
set -u
bin=$NETATOP_TOP/netatop_user/target/release/examples
say() { printf '\n\033[1m## %s\033[0m\n' "$*"; }

say "kernel and module"
echo "kernel: $(uname -r)"
grep '^netatop ' /proc/modules
modinfo "$NETATOP_KO" | grep -E '^(name|version|description|author|license):'

say "NETATOP_PROBE as root"
"$bin/probe"

say "NETATOP_PROBE as an unprivileged user (uid 65534)"
setpriv --reuid=65534 --regid=65534 --clear-groups "$bin/probe" || true

say "/proc/netatop"
cat /proc/netatop

say "after rmmod netatop"
rmmod netatop
"$bin/probe" || true
