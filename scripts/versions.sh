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
 python3-venv zlib1g-dev iproute2 nftables ethtool socat atop tmux procps util-linux nginx-light apache2-utils"

export RUSTUP_TOOLCHAIN=$RUST_TOOLCHAIN
export PATH=/usr/lib/llvm-$LLVM_VERSION/bin:$NETATOP_TOOLS/bin:$NETATOP_TOOLS/vng-venv/bin:$HOME/.cargo/bin:$PATH
export LIBCLANG_PATH=/usr/lib/llvm-$LLVM_VERSION/lib
export NETATOP_CACHE NETATOP_TOOLS
