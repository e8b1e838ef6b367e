#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM: runs each cargo test binary given, as cargo test
# would, and exits non-zero if any failed.
#   run-tests.sh BIN [BIN...]      (extra libtest args in TEST_ARGS)
set -u
rc=0
for bin in "$@"; do
	echo "     Running $(basename "$bin") (in the guest)"
	# The stress and fuzz tests print their figures (connections churned, peak
	# #sockinfo under the flood, unload cycles, calls fuzzed): show them.
	show=
	case "$(basename "$bin")" in stress-* | security-* | faults-*) show=--show-output ;; esac
	# shellcheck disable=SC2086
	"$bin" ${TEST_ARGS:-} $show || rc=1
done
exit $rc
