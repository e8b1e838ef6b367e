#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's "Supported kernels" table is the kernel matrix (kernels.tsv),
# row for row: rendered from the matrix here and compared with the README's
# block. Prints "readme-kernels: ok" or the difference and fails.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/matrix.sh"

want=$(
	echo '| kernel (`uname -r`) | package version | suite | rustc | bindgen | C compiler | booted by |'
	echo '|---|---|---|---|---|---|---|'
	for rel in $(matrix_releases all); do
		rustc=$(matrix_get "$rel" rustc | awk '{ print $2 }')
		bindgen=$(matrix_get "$rel" bindgen | awk '{ print $2 }')
		gcc=$(matrix_get "$rel" cc | sed -n 's/^[^ ]*-\(gcc-[0-9][0-9]*\) .*/\1/p')
		case "$(matrix_get "$rel" in)" in check) by='`make check`' ;; *) by='`make check-kernels`' ;; esac
		echo "| $rel | $(matrix_get "$rel" version) | $(matrix_get "$rel" suite) | $rustc | $bindgen | $gcc | $by |"
	done
)
have=$(awk '/<!-- kernels: begin/ { on = 1; next } /<!-- kernels: end/ { on = 0 } on' "$top/README.md")
if [ "$have" = "$want" ]; then
	echo "readme-kernels: ok ($(matrix_releases all | wc -l) kernels)"
else
	echo "readme-kernels: README.md's Supported kernels table differs from kernels.tsv:" >&2
	diff -u --label README.md --label kernels.tsv <(echo "$have") <(echo "$want") >&2 || true
	exit 1
fi
