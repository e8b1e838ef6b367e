# SPDX-License-Identifier: GPL-2.0
# The kernel matrix (kernels.tsv at the top of the checkout, also in the DKMS
# source): the Debian kernels netatop-rs supports. Sourced, never executed;
# every script reads the matrix through these functions.
#
#   matrix_releases [check|all]  the releases, in the file's order ("check":
#                                those `make check` boots)
#   matrix_get RELEASE FIELD     one field (release version suite rustc
#                                bindgen cc in), or fails if RELEASE is unknown
#   matrix_series                the supported series (7.2, 7.3, ...), oldest first
#   matrix_root SUITE            the build root a suite's kernels are built in
#                                (trixie-backports -> trixie)
#   matrix_roots [check|all]     the build roots of those releases, once each
#   matrix_resolve NAME          "debian" -> the default Debian kernel; a
#                                release of the matrix -> itself; else fails

MATRIX_FILE=${MATRIX_FILE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/kernels.tsv}
# `KERNEL=debian` (make vm, make check's historic name): Debian's 7.3 kernel.
MATRIX_DEFAULT=7.3.4+deb13-amd64

# The data rows: no comments, no header, no blank lines.
matrix_rows() {
	[ -r "$MATRIX_FILE" ] || { echo "matrix: $MATRIX_FILE is missing" >&2; return 1; }
	awk -F'\t' '!/^#/ && NF >= 7 && $1 != "release"' "$MATRIX_FILE"
}

matrix_releases() {
	local which=${1:-all}
	matrix_rows | awk -F'\t' -v w="$which" 'w == "all" || $7 == w { print $1 }'
}

matrix_get() {
	local rel=$1 field=$2 col
	case "$field" in
	release) col=1 ;; version) col=2 ;; suite) col=3 ;; rustc) col=4 ;;
	bindgen) col=5 ;; cc) col=6 ;; in) col=7 ;;
	*) echo "matrix: unknown field $field" >&2; return 1 ;;
	esac
	matrix_rows | awk -F'\t' -v r="$rel" -v c="$col" '$1 == r { print $c; found = 1 } END { exit !found }' \
		|| { echo "matrix: kernel $rel is not in $MATRIX_FILE" >&2; return 1; }
}

matrix_series() {
	matrix_rows | awk -F'\t' '{ split($1, v, "."); print v[1] "." v[2] }' | sort -u -V
}

matrix_root() { echo "${1%-backports}"; }

matrix_roots() {
	local rel
	for rel in $(matrix_releases "${1:-all}"); do
		matrix_root "$(matrix_get "$rel" suite)"
	done | awk '!seen[$0]++'
}

matrix_resolve() {
	local name=$1
	[ "$name" = debian ] && name=$MATRIX_DEFAULT
	matrix_get "$name" release >/dev/null || {
		echo "matrix: '$1' is not a kernel of the matrix (test, debian, or one of: $(matrix_releases all | tr '\n' ' '))" >&2
		return 1
	}
	echo "$name"
}
