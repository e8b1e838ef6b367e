# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by the scripts that report progress (check.sh, bench.sh,
# insns.sh): `step` prints a header with the seconds since sourcing, `fail`
# prints an error prefixed with the script's name (bench.sh: "bench: ")
# and exits 1.

t0=$(date +%s)
step() { echo "==> [$(( $(date +%s) - t0 ))s] $*"; }
fail() {
	local name=${0##*/}
	echo "${name%.sh}: $*" >&2
	exit 1
}
