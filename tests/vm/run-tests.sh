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
	# shellcheck disable=SC2086
	"$bin" ${TEST_ARGS:-} || rc=1
done
exit $rc
