# SPDX-License-Identifier: GPL-2.0
#
# netatop-rs: per-process network accounting for atop, as a Rust kernel module.
#
#   make [KDIR=...]          build netatop.ko against a Rust-enabled kernel tree
#   make demo                build everything, boot a VM and show the module working
#   make check               run every test (host, then in a VM on the test kernel)
#   make stress              the stress suite (churn, floods, unload cycles, signals)
#   make check-debug         everything on a KASAN/kmemleak/lockdep kernel
#   make vm [CMD='...']      boot the test VM with the module loaded, run CMD (or a shell)
#   make bench               overhead vs no module and an empty hook, in one VM boot
#                            (table + build/bench/summary.json; BENCH_QUICK=1: a short run)
#   make modules_install     install netatop.ko into /lib/modules (then: modprobe netatop)
#   make setup | kernel      install the toolchain | build the cached test kernel
#
# The kbuild side of the module is in Kbuild.

KDIR ?= /lib/modules/$(shell uname -r)/build
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
SCRIPTS := $(TOP)/scripts

ifneq ($(shell [ -f $(SCRIPTS)/versions.sh ] && echo y),)
# Use the pinned toolchain for module builds too.
export RUSTUP_TOOLCHAIN ?= 1.95.0
endif

.PHONY: all module modules setup kernel check stress check-debug vm demo bench modules_install clean

all: module

module modules:
	@$(SCRIPTS)/module.sh "$(KDIR)"

setup:
	@$(SCRIPTS)/setup.sh

kernel: setup
	@$(SCRIPTS)/kernel.sh test

check:
	@$(SCRIPTS)/check.sh

stress:
	@$(SCRIPTS)/check.sh --suite stress

check-debug:
	@$(SCRIPTS)/check.sh --flavour debug --suite all

# CMD reaches the guest's shell verbatim (pipes and redirections included).
export CMD
vm:
	@if [ -n "$$CMD" ]; then $(SCRIPTS)/vm.sh -- "$$CMD"; else $(SCRIPTS)/vm.sh; fi

demo:
	@$(SCRIPTS)/demo.sh

bench:
	@$(SCRIPTS)/bench.sh

modules_install: module
	$(MAKE) -C "$(KDIR)" M="$(TOP)" $(if $(shell grep -s '^CONFIG_CC_IS_CLANG=y' "$(KDIR)/.config"),LLVM=1) modules_install
	depmod -a $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' "$(KDIR)/include/generated/utsrelease.h" 2>/dev/null)

clean:
	@if [ -f "$(KDIR)/Makefile" ]; then $(MAKE) -s -C "$(KDIR)" M="$(TOP)" clean; fi
	rm -rf $(TOP)/build
	cd $(TOP)/netatop_user && cargo clean
