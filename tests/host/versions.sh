#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# netatop-rs's version has one source, rust/VERSION (the module's
# modversion and modinfo version come from it, Kbuild). Where the tooling
# can take it from there, it does: dkms.conf says PACKAGE_VERSION=
# "#MODULE_VERSION#", which dh_dkms -V fills in with the package's
# upstream version, and debian/rules stops a build whose changelog
# disagrees with rust/VERSION. Where it cannot (Debian takes the package
# version from debian/changelog, Cargo from Cargo.toml and Cargo.lock; the
# man pages and the README are read as they are), this test checks that
# each says rust/VERSION. One "ok" or "FAIL" line per check; exits 1 on a
# FAIL.
#
# usage: tests/host/versions.sh [TREE]     check TREE (default: this checkout)
#        tests/host/versions.sh --self-test
#            check this checkout, then plant a wrong version in each checked
#            place of a temporary copy in turn and require a FAIL for it
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

# check TREE: the checks, as ok/FAIL lines; returns 1 if one failed.
check() {
	local t=$1 v fails=0 f got want
	ok() { echo "ok   $*"; }
	bad() { echo "FAIL $*"; fails=$((fails + 1)); }
	# same WHAT GOT: GOT must be the version.
	same() { if [ "$2" = "$v" ]; then ok "$1: $2"; else bad "$1: '$2', rust/VERSION says '$v'"; fi; }

	v=$(cat "$t/rust/VERSION" 2>/dev/null || true)
	if [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+([~+][0-9A-Za-z.~+]+)?$ ]] && [ "$(wc -l <"$t/rust/VERSION")" -le 1 ]; then
		ok "rust/VERSION: $v"
	else
		bad "rust/VERSION is not one version line: '$v'"
		return 1
	fi

	# Generated: dkms.conf's version is filled in by dh_dkms -V.
	got=$(sed -n 's/^PACKAGE_VERSION=//p' "$t/dkms.conf")
	if [ "$got" = '"#MODULE_VERSION#"' ]; then
		ok "dkms.conf: PACKAGE_VERSION=\"#MODULE_VERSION#\" (filled in by dh_dkms -V)"
	else
		bad "dkms.conf: PACKAGE_VERSION=$got, not \"#MODULE_VERSION#\" (dh_dkms -V fills it in)"
	fi
	if grep -Eq '^[[:space:]]*dh_dkms .*-V ' "$t/debian/rules"; then
		ok "debian/rules: dh_dkms -V"
	else
		bad "debian/rules: no 'dh_dkms ... -V VERSION' (dkms.conf's version would stay #MODULE_VERSION#)"
	fi

	# Checked: the upstream part of the top changelog entry (no epoch, no
	# Debian revision).
	got=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$t/debian/changelog" | sed 's/^[0-9]*://; s/-[^-]*$//')
	same "debian/changelog (upstream version of the top entry)" "$got"

	got=$(awk '/^\[workspace.package\]/ { on = 1; next } /^\[/ { on = 0 }
		on && $1 == "version" { gsub(/"/, "", $3); print $3 }' "$t/netatop_user/Cargo.toml")
	same "netatop_user/Cargo.toml [workspace.package] version" "$got"

	# The workspace's own packages in Cargo.lock (no "source" line):
	# `cargo build --locked` refuses a lock file that disagrees.
	got=$(awk '/^\[\[package\]\]/ { if (n != "" && !src) print n " " ver; n = ""; ver = ""; src = 0; next }
		$1 == "name" { n = $3 } $1 == "version" { ver = $3 } $1 == "source" { src = 1 }
		END { if (n != "" && !src) print n " " ver }' "$t/netatop_user/Cargo.lock" | tr -d '"')
	if [ -z "$got" ]; then
		bad "netatop_user/Cargo.lock: no workspace package"
	else
		while read -r name ver; do
			same "netatop_user/Cargo.lock: $name" "$ver"
		done <<<"$got"
	fi

	for f in "$t"/Documentation/*.[1-8]; do
		got=$(sed -n 's/^\.TH .* "netatop-rs \([^"]*\)".*/\1/p' "$f")
		same "${f#"$t"/}: .TH \"netatop-rs VERSION\"" "$got"
	done

	# The README's install commands name the packages make deb builds.
	for want in "netatop-rs-dkms_VERSION_all.deb" "netatop-rs_VERSION_amd64.deb"; do
		got=$(grep -o "build/deb/${want%%VERSION*}[^ _]*${want##*VERSION}" "$t/README.md" | head -n1 || true)
		got=${got#build/deb/"${want%%VERSION*}"}
		same "README.md: ./build/deb/$want" "${got%"${want##*VERSION}"}"
	done

	# Sample outputs of /proc/netatop and `netatop status` in the documents.
	while IFS=: read -r f _ got; do
		same "${f#"$t"/}: sample modversion line" "$(echo "$got" | awk '{ print $NF }')"
	done < <(grep -Hn '^modversion:[[:space:]]*[0-9]' "$t/README.md" "$t"/Documentation/* || true)
	got=$(sed -n 's/^version: *\([0-9][^ ]*\)$/\1/p' "$t/Documentation/netatop.1")
	same "Documentation/netatop.1: sample 'version:' line of netatop status" "$got"
	got=$(sed -n "s/.*the module's own version (\`\([^\`]*\)\`).*/\1/p" "$t/Documentation/design.md")
	same "Documentation/design.md: the module's own version" "$got"

	[ "$fails" = 0 ]
}

if [ "${1:-}" != --self-test ]; then
	tree=${1:-$top}
	if check "$tree"; then
		echo "versions: ok (every place says $(cat "$tree/rust/VERSION"))"
	else
		echo "versions: FAIL (rust/VERSION is the one source: make the places above say it)" >&2
		exit 1
	fi
	exit 0
fi

# --self-test: the real tree passes; each planted mismatch is caught.
check "$top" >/dev/null || { check "$top"; echo "versions: FAIL: this checkout does not pass" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
v=$(cat "$top/rust/VERSION")
wrong=9.8.7
files="rust/VERSION dkms.conf debian/rules debian/changelog README.md
 netatop_user/Cargo.toml netatop_user/Cargo.lock Documentation"
# plant NAME FILE SED-SCRIPT: a fresh copy with FILE edited must FAIL, and
# must have changed (else the plant itself is wrong).
planted=0 missed=0
plant() {
	local name=$1 file=$2 script=$3 out
	rm -rf "$tmp/t"
	mkdir -p "$tmp/t"
	(cd "$top" && cp -r --parents $files "$tmp/t")
	cp "$tmp/t/$file" "$tmp/orig"
	sed -i "$script" "$tmp/t/$file"
	if cmp -s "$tmp/orig" "$tmp/t/$file"; then
		echo "self-test: planting '$name' changed nothing in $file" >&2
		missed=$((missed + 1))
		return
	fi
	if out=$(check "$tmp/t"); then
		echo "self-test: MISSED $name" >&2
		missed=$((missed + 1))
	elif ! grep -q '^FAIL ' <<<"$out"; then
		echo "self-test: $name: no FAIL line" >&2
		missed=$((missed + 1))
	else
		planted=$((planted + 1))
	fi
}
q=$(printf '%s' "$v" | sed 's/[.]/\\./g')
plant "another rust/VERSION" rust/VERSION "s/.*/$wrong/"
plant "a literal version in dkms.conf" dkms.conf "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$v\"/"
plant "dh_dkms without -V" debian/rules "s/ -V [^ ]*//"
plant "another changelog version" debian/changelog "1s/($q/($wrong/"
plant "a Debian revision on another version" debian/changelog "1s/($q)/($wrong-1)/"
plant "another Cargo.toml version" netatop_user/Cargo.toml "s/^version = \"$q\"/version = \"$wrong\"/"
plant "another version of a workspace package in Cargo.lock" netatop_user/Cargo.lock \
	"/^name = \"netatop-dbus\"/{n;s/$q/$wrong/}"
for f in "$top"/Documentation/*.[1-8]; do
	plant "another version on the .TH line of ${f##*/}" "Documentation/${f##*/}" "s/\"netatop-rs $q\"/\"netatop-rs $wrong\"/"
done
plant "another package version in the README's install command" README.md "s/netatop-rs_${q}_amd64/netatop-rs_${wrong}_amd64/"
plant "another DKMS package version in the README's install command" README.md "s/netatop-rs-dkms_${q}_all/netatop-rs-dkms_${wrong}_all/"
plant "another modversion in the README's sample" README.md "s/^\(modversion: *\)$q/\1$wrong/"
plant "another modversion in netatop.4's sample" Documentation/netatop.4 "s/^\(modversion: *\)$q/\1$wrong/"
plant "another version in netatop.1's status sample" Documentation/netatop.1 "s/^\(version: *\)$q\$/\1$wrong/"
plant "another version in design.md" Documentation/design.md "s/own version (\`$q\`)/own version (\`$wrong\`)/"
if [ "$missed" = 0 ]; then
	echo "versions: ok; self-test: all $planted planted mismatches caught"
else
	echo "versions: self-test FAILED: $missed of $((planted + missed)) plants not caught" >&2
	exit 1
fi
