# SPDX-License-Identifier: GPL-2.0
# Pinned versions and paths shared by the setup, kernel and VM scripts.
# Sourced, never executed.

: "${NETATOP_CACHE:=/var/cache/netatop-rs}"
: "${NETATOP_TOOLS:=/opt/netatop-rs}"

KVER_MAJOR=7.3
KSRC_DEB_VERSION=7.3.4-1~bpo13+1
RUST_TOOLCHAIN=1.95.0
BINDGEN_VERSION=0.72.1
VNG_VERSION=1.42
LLVM_VERSION=19

KSRC=$NETATOP_CACHE/src/linux-source-$KSRC_DEB_VERSION

APT_PACKAGES="clang-$LLVM_VERSION lld-$LLVM_VERSION llvm-$LLVM_VERSION libclang1-$LLVM_VERSION
 build-essential bc bison flex libelf-dev libssl-dev cpio kmod rsync xz-utils zstd udev
 python3-venv zlib1g-dev debootstrap busybox-static file iproute2 nftables ethtool socat atop tmux procps util-linux nginx-light apache2-utils
 dbus-daemon libglib2.0-bin"

export RUSTUP_TOOLCHAIN=$RUST_TOOLCHAIN
export PATH=/usr/lib/llvm-$LLVM_VERSION/bin:$NETATOP_TOOLS/bin:$NETATOP_TOOLS/vng-venv/bin:$HOME/.cargo/bin:$PATH
export LIBCLANG_PATH=/usr/lib/llvm-$LLVM_VERSION/lib
export NETATOP_CACHE NETATOP_TOOLS

# Debian's own kernels the suite also runs on: kernels.tsv (scripts/matrix.sh).

# The Debian mirror this machine's apt already uses (bookworm's entry).
debian_mirror() {
	local uri
	uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null \
		| grep -v -- '-security' | head -n1 || true)
	if [ -z "$uri" ]; then
		uri=$(awk '$1=="deb" && $3 ~ /^bookworm/ {print $2; exit}' \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
	fi
	echo "$uri"
}
: "${DEBIAN_MIRROR:=$(debian_mirror)}"
