#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel matrix (kernels.tsv) against Debian's package registry: which
# Rust-enabled amd64 kernels trixie-backports, forky, sid and experimental
# have now, which of them the matrix lists, and for each new one whether
# the module builds for it (its Rust metadata regenerated and netatop.ko
# built in its suite's build root, on a throw-away overlay; no boot). Not
# part of `make check`: run it to learn of the next kernel before users do.
#
# usage: scripts/kernels.sh check [--no-build] [SUITE...]
#        scripts/kernels.sh list [check|all]    the matrix's releases
#
# For each kernel in the registry one line:
#   in the matrix            listed, same version and compilers
#   MATRIX OUT OF DATE: ...  listed, but the registry's version or compilers differ
#   covered by RELEASE       an older point release of a series and flavour
#                            the suite has a newer one of
#   NEW: builds | NEW: does not build: ...   (or NEW: not built, --no-build)
# and one line for each matrix kernel the registry no longer has. Exits 1
# if a new kernel does not build or the matrix is out of date.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/versions.sh"
. "$here/matrix.sh"

fail() { echo "kernels: ERROR: $*" >&2; exit 2; }

case "${1:-}" in
list)
	matrix_releases "${2:-all}"
	exit 0
	;;
check) shift ;;
*) fail "usage: kernels.sh check [--no-build] [SUITE...] | kernels.sh list [check|all]" ;;
esac
build=1
if [ "${1:-}" = --no-build ]; then build=0; shift; fi
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(trixie-backports forky sid experimental)

work=$NETATOP_CACHE/kernels-check
mkdir -p "$work"
series_of() { echo "$1" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p'; }
flavour_of() { echo "$1" | sed -n 's/^[0-9][^-]*\(-.*\)\?-amd64$/\1/p'; }
cfg_text() { sed -n "s/^$1=\"\(.*\)\"\$/\1/p" "$2" | head -n1; }

# Every linux-headers-<release> of the suites: release, version, suite, pool file.
found=$work/found.tsv
: >"$found"
for suite in "${suites[@]}"; do
	curl -fsS -m 300 "$DEBIAN_MIRROR/dists/$suite/main/binary-amd64/Packages.xz" -o "$work/Packages-$suite.xz" \
		|| fail "could not fetch $suite's package list from $DEBIAN_MIRROR"
	xz -dc "$work/Packages-$suite.xz" | awk -v s="$suite" -v RS= -F'\n' '{
		p = v = f = ""
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^Package: /) p = substr($i, 10)
			else if ($i ~ /^Version: /) v = substr($i, 10)
			else if ($i ~ /^Filename: /) f = substr($i, 11)
		}
		if (p ~ /^linux-headers-[0-9][^ ]*-amd64$/) print substr(p, 15) "\t" v "\t" s "\t" f
	}' >>"$found"
done

# The .config of each: is it Rust-enabled, and with which compilers.
rows=$work/rust.tsv
: >"$rows"
while IFS=$'\t' read -r rel ver suite file; do
	cfg=$work/config-$rel-${ver//\~/_}
	if [ ! -s "$cfg" ]; then
		deb=$work/$(basename "$file")
		curl -fsS -m 600 "$DEBIAN_MIRROR/$file" -o "$deb" || fail "could not fetch $file"
		dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "./usr/src/linux-headers-$rel/.config" >"$cfg.tmp" \
			|| fail "no .config in $file"
		mv "$cfg.tmp" "$cfg"
		rm -f "$deb"
	fi
	grep -q '^CONFIG_RUST=y$' "$cfg" || continue
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$rel" "$ver" "$suite" "$(cfg_text CONFIG_RUSTC_VERSION_TEXT "$cfg")" \
		"$(cfg_text CONFIG_BINDGEN_VERSION_TEXT "$cfg")" "$(cfg_text CONFIG_CC_VERSION_TEXT "$cfg")" >>"$rows"
done <"$found"

# build REL VER SUITE RUSTC: whether netatop.ko builds for it, in one line.
build_one() {
	local rel=$1 ver=$2 suite=$3 rustc=$4 root series gcc extra=""
	root=$(matrix_root "$suite")
	[ "$root" = experimental ] && { root=sid; extra=experimental; }
	series=$(series_of "$rel")
	gcc=$(grep -F "$rel	$ver	" "$rows" | cut -f6 | sed -n 's/^[^ ]*-\(gcc-[0-9][0-9]*\) .*/\1/p')
	# Any root of the matrix can stand in for its suite; one the matrix has
	# no kernel of is made from the nearest (sid for forky and experimental).
	matrix_roots all | grep -qx "$root" || root=sid
	local log=$work/build-$rel-${ver//\~/_}.log
	set +e
	"$here/debian-root.sh" "$root" run --overlay --bind "$top" -- "
		set -e
		export DEBIAN_FRONTEND=noninteractive
		cat >/etc/apt/sources.list.d/kernels-check.sources <<EOS
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends linux-headers-$rel=$ver linux-source-$series=$ver $gcc >/dev/null
		# The kernel's rustc, where the root's is another: the suite's own.
		if [ \"\$(rustc --version)\" != '$rustc' ] && [ -n '$extra' ]; then
			apt-get install -y -qq --no-install-recommends -t $suite rustc rust-src rust-clippy bindgen >/dev/null
		fi
		cd '$top'
		make -s module KDIR=/lib/modules/$rel/build MO=/tmp/kernels-check
		echo \"vermagic: \$(modinfo -F vermagic /tmp/kernels-check/netatop.ko)\"
	" >"$log" 2>&1
	local rc=$?
	set -e
	if [ $rc = 0 ]; then
		echo "NEW: builds ($(sed -n 's/^vermagic: //p' "$log" | sed 's/ *$//'); log $log)"
	else
		echo "NEW: does not build: $(grep -m1 '^netatop: ' "$log" || grep -m1 -E '^error' "$log" || tail -n1 "$log") (log $log)"
	fi
}

status=0
echo "kernels: Rust-enabled amd64 kernels in ${suites[*]} ($DEBIAN_MIRROR), against $MATRIX_FILE:"
while IFS=$'\t' read -r rel ver suite rustc bindgen cc; do
	if mver=$(matrix_get "$rel" version 2>/dev/null); then
		if [ "$mver" != "$ver" ]; then
			verdict="MATRIX OUT OF DATE: the matrix has version $mver"; status=1
		elif [ "$(matrix_get "$rel" rustc)	$(matrix_get "$rel" bindgen)	$(matrix_get "$rel" cc)" != "$rustc	$bindgen	$cc" ]; then
			verdict="MATRIX OUT OF DATE: its .config names '$rustc', '$bindgen', '$cc'"; status=1
		else
			verdict="in the matrix"
		fi
	else
		# A newer release of this suite, series and flavour in the registry
		# (the one worth building; a user of this one is told to upgrade).
		cover="" cover_ver=$ver
		while IFS=$'\t' read -r o over; do
			[ "$(series_of "$o")" = "$(series_of "$rel")" ] && [ "$(flavour_of "$o")" = "$(flavour_of "$rel")" ] \
				&& dpkg --compare-versions "$over" gt "$cover_ver" && { cover=$o; cover_ver=$over; }
			true
		done < <(awk -F'\t' -v s="$suite" -v r="$rel" '$3 == s && $1 != r { print $1 "\t" $2 }' "$rows")
		if [ -n "$cover" ]; then
			verdict="covered by $cover (an older point release of its series)"
		elif [ $build = 0 ]; then
			verdict="NEW: not built (--no-build); $rustc"
		else
			verdict=$(build_one "$rel" "$ver" "$suite" "$rustc")
			case "$verdict" in "NEW: builds"*) ;; *) status=1 ;; esac
		fi
	fi
	printf '  %-26s %-18s %-17s %s\n' "$rel" "$ver" "$suite" "$verdict"
done <"$rows"
for m in $(matrix_releases all); do
	case " ${suites[*]} " in *" $(matrix_get "$m" suite) "*) ;; *) continue ;; esac
	grep -q "^$m	" "$rows" || { printf '  %-26s %-18s %-17s %s\n' "$m" "$(matrix_get "$m" version)" \
		"$(matrix_get "$m" suite)" "GONE from the registry: drop it from the matrix"; status=1; }
done
exit $status
