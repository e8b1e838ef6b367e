# SPDX-License-Identifier: GPL-2.0
#
# netatop-rs: per-process network accounting for atop, as a Rust kernel module.
#
#   make [KDIR=...]          build netatop.ko against a Rust-enabled kernel tree
#   make demo                build everything, boot a VM and show the module working
#   make check               run every test (host, then in VMs on the test kernel
#                            and on Debian's own 7.3 and 7.2 kernels: kernels.tsv)
#   make check-kernels       the same on every kernel of the matrix (kernels.tsv)
#   make stress              the stress suite (churn, floods, unload cycles, signals)
#   make check-debug         everything on a KASAN/kmemleak/lockdep kernel
#   make vm [KERNEL=debian|<release>] [CMD=...]  boot the test VM (or one of
#                            Debian's kernels of kernels.tsv; debian: 7.3.4+deb13-amd64)
#                            with the module loaded, run CMD (or a shell)
#   make bench               overhead vs no module and an empty hook, in one VM boot
#                            (table + build/bench/summary.json; BENCH_QUICK=1: a short run)
#   make insns               instructions per hook pass (per tcp_crr connection), netatop.ko vs 3.2.2 and an empty hook, exactly
#                            (single-stepped through QEMU's gdb stub; INSNS_BASE_KO: a third build)
#   make modules_install     install netatop.ko into /lib/modules (then: modprobe netatop)
#   make install             modules_install + install-tools
#   make install-tools       netatopd, netatop, netatop-exporter, netatop-dbus, man pages,
#                            systemd units, D-Bus policy and activation file, modules-load.d
#                            (DESTDIR, PREFIX honoured)
#   make deb                 Debian packages netatop-rs-dkms and netatop-rs in build/deb/
#   make setup | kernel      install the toolchain | build the cached test kernel
#
# The kbuild side of the module is in Kbuild.

KDIR ?= /lib/modules/$(shell uname -r)/build
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
SCRIPTS := $(TOP)/scripts

.PHONY: all module modules setup kernel check check-kernels stress check-debug vm demo bench insns modules_install \
	install install-tools install-tools-only tools deb clean

PREFIX ?= /usr
DESTDIR ?=
SYSTEMD_UNIT_DIR ?= /lib/systemd/system

all: module

module modules:
	@$(SCRIPTS)/module.sh "$(KDIR)"

setup:
	@$(SCRIPTS)/setup.sh

kernel: setup
	@$(SCRIPTS)/kernel.sh test

check:
	@$(SCRIPTS)/check.sh

check-kernels:
	@$(SCRIPTS)/check.sh --kernels all

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

insns:
	@$(SCRIPTS)/insns.sh

modules_install: module
	@$(SCRIPTS)/module.sh "$(KDIR)" "" modules_install

install: modules_install install-tools

# Userland binaries (netatopd, netatop, netatop-exporter, netatop-dbus); CARGO_TARGET_DIR honoured.
CARGO_TARGET_DIR ?= $(TOP)/netatop_user/target
tools:
	cd $(TOP)/netatop_user && CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) cargo build --release --locked -p netatopd -p netatop-cli -p netatop-exporter -p netatop-dbus

install-tools: tools install-tools-only

# Installs the built binaries (from BINDIR_TARGET) and the files around them.
BINDIR_TARGET ?= $(CARGO_TARGET_DIR)/release
install-tools-only:
	install -D -m 0755 $(BINDIR_TARGET)/netatopd $(DESTDIR)$(PREFIX)/sbin/netatopd
	install -D -m 0755 $(BINDIR_TARGET)/netatop $(DESTDIR)$(PREFIX)/bin/netatop
	install -D -m 0755 $(BINDIR_TARGET)/netatop-exporter $(DESTDIR)$(PREFIX)/sbin/netatop-exporter
	install -D -m 0755 $(BINDIR_TARGET)/netatop-dbus $(DESTDIR)$(PREFIX)/sbin/netatop-dbus
	install -D -m 0644 $(TOP)/Documentation/netatop.1 $(DESTDIR)$(PREFIX)/share/man/man1/netatop.1
	install -D -m 0644 $(TOP)/Documentation/netatop.4 $(DESTDIR)$(PREFIX)/share/man/man4/netatop.4
	install -D -m 0644 $(TOP)/Documentation/netatopd.8 $(DESTDIR)$(PREFIX)/share/man/man8/netatopd.8
	install -D -m 0644 $(TOP)/Documentation/netatop-exporter.8 $(DESTDIR)$(PREFIX)/share/man/man8/netatop-exporter.8
	install -D -m 0644 $(TOP)/Documentation/netatop-dbus.8 $(DESTDIR)$(PREFIX)/share/man/man8/netatop-dbus.8
	install -D -m 0644 $(TOP)/include/netatop.h $(DESTDIR)$(PREFIX)/include/netatop.h
	install -D -m 0644 $(TOP)/packaging/netatopd.service $(DESTDIR)$(SYSTEMD_UNIT_DIR)/netatopd.service
	install -D -m 0644 $(TOP)/packaging/netatop-exporter.service $(DESTDIR)$(SYSTEMD_UNIT_DIR)/netatop-exporter.service
	install -D -m 0644 $(TOP)/packaging/netatop-dbus.service $(DESTDIR)$(SYSTEMD_UNIT_DIR)/netatop-dbus.service
	install -D -m 0644 $(TOP)/packaging/dbus/org.gnome.GTopNetStats.conf \
		$(DESTDIR)/usr/share/dbus-1/system.d/org.gnome.GTopNetStats.conf
	install -D -m 0644 $(TOP)/packaging/dbus/org.gnome.GTopNetStats.service \
		$(DESTDIR)/usr/share/dbus-1/system-services/org.gnome.GTopNetStats.service
	install -D -m 0644 $(TOP)/packaging/modules-load.d/netatop.conf $(DESTDIR)/usr/lib/modules-load.d/netatop.conf

# Debian packages (netatop-rs-dkms, netatop-rs) into build/deb/, built with
# dpkg-buildpackage from a copy of the tracked sources.
deb:
	@$(SCRIPTS)/deb.sh

clean:
	@if [ -f "$(KDIR)/Makefile" ]; then $(MAKE) -s -C "$(KDIR)" M="$(TOP)" clean; fi
	rm -rf $(TOP)/build
	[ ! -d $(TOP)/netatop_user ] || (cd $(TOP)/netatop_user && cargo clean)
