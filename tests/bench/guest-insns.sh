#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest side of `make insns` (scripts/insns.sh). For each variant (an
# empty netfilter hook, netatop.ko, optionally another build of netatop.ko)
# and each traffic pattern, it loads the module, starts a slow steady flow
# on loopback (one exchange every 20 ms), waits until the flow has made 20
# exchanges (so every entry exists, is bound and past TCP's handshake
# before counting starts, however slow the guest is), prints
#
#   INSNS READY <variant> <pattern> <nf_hook_slow address> <the netatop_rs_packet_* addresses, comma-separated, or 0> <sched_yield's address>
#
# (after "INSNS SYM <variant> <address> <name>" lines naming the module's
# symbols)
# and waits until the host, which meanwhile single-steps hook passes through
# QEMU's gdb stub, creates $INSNS_DIR/go-<variant>-<pattern>.
#
# Environment (set by scripts/insns.sh): INSNS_DIR, INSNS_EMPTY_KO,
# INSNS_NETATOP_KO, INSNS_BASE_KO and INSNS_C_KO (the C original 3.2.2,
# IPv4 flows only; both optional), INSNS_PATTERNS ("udp4 udp6 tcp_rr
# tcp_crr").
set -eu

: "${INSNS_DIR:?}" "${INSNS_EMPTY_KO:?}" "${INSNS_NETATOP_KO:?}"
patterns=${INSNS_PATTERNS:-udp4 udp6 tcp_rr tcp_crr}
variants="empty netatop"
[ -n "${INSNS_BASE_KO:-}" ] && variants="$variants base"
[ -n "${INSNS_C_KO:-}" ] && variants="$variants c322"

# One exchange every 20 ms, forever: a UDP datagram of 64 bytes and its
# receipt, or a 1-byte TCP request and its 1-byte answer (tcp_crr: on a
# new connection each time, opened and closed). One process, so one
# sockinfo per UDP port and one per TCP end, bound to it. The file $2
# appears after the 20th exchange: the steady state.
flow() {
	exec python3 - "$1" "$2" <<'EOF'
import itertools, os, socket, sys, time
kind, steady = sys.argv[1], sys.argv[2]
def exchanged(n):
    if n == 20:
        open(steady, "w").close()
if kind in ("udp4", "udp6"):
    fam, host = (socket.AF_INET, "127.0.0.1") if kind == "udp4" else (socket.AF_INET6, "::1")
    rx = socket.socket(fam, socket.SOCK_DGRAM)
    rx.bind((host, 0))
    tx = socket.socket(fam, socket.SOCK_DGRAM)
    for n in itertools.count(1):
        tx.sendto(b"x" * 64, rx.getsockname())
        rx.recv(128)
        exchanged(n)
        time.sleep(0.02)
elif kind == "tcp_crr":
    # A new connection per exchange; after each, sched_yield() tells the
    # counting gdb that the connection is over (its breakpoint there).
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    # Every ACK at once (TCP_QUICKACK, set again before each read, as it
    # does not stay), none delayed and none piggybacked: the same 11
    # packets for every connection, whatever the guest's timing.
    def quick(sock):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    for n in itertools.count(1):
        c = socket.create_connection(ls.getsockname())
        s, _ = ls.accept()
        quick(c)
        quick(s)
        c.send(b"q")
        s.recv(1)
        quick(s)
        s.send(b"a")
        c.recv(1)
        quick(c)
        c.close()
        s.recv(1)
        quick(s)
        s.close()
        # The last ACK, and any delayed one, before the mark.
        time.sleep(0.05)
        os.sched_yield()
        exchanged(n)
        time.sleep(0.02)
else:
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    c = socket.create_connection(ls.getsockname())
    s, _ = ls.accept()
    for sock in (c, s):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for n in itertools.count(1):
        c.send(b"q")
        s.recv(1)
        s.send(b"a")
        c.recv(1)
        exchanged(n)
        time.sleep(0.02)
EOF
}

sym() { awk -v s="$1" '$3 == s { print $1; exit }' /proc/kallsyms; }

slow=$(sym nf_hook_slow)
[ -n "$slow" ] || { echo "insns: nf_hook_slow not in /proc/kallsyms" >&2; exit 1; }
mark=$(sym __x64_sys_sched_yield)
[ -n "$mark" ] || { echo "insns: __x64_sys_sched_yield not in /proc/kallsyms" >&2; exit 1; }
for v in $variants; do
	case $v in
	empty) ko=$INSNS_EMPTY_KO; mod=nf_empty ;;
	netatop) ko=$INSNS_NETATOP_KO; mod=netatop ;;
	base) ko=$INSNS_BASE_KO; mod=netatop ;;
	c322) ko=$INSNS_C_KO; mod=netatop ;;
	esac
	insmod "$ko"
	# The Rust entry points, one per hook.
	rs=$(awk '$3 ~ /^netatop_rs_packet/ { print $1 }' /proc/kallsyms | paste -sd, -)
	: "${rs:=0}"
	# The module's symbols, to name the addresses stepped (make insns' report).
	awk -v v="$v" -v m="[$mod]" '$4 == m { print "INSNS SYM", v, $1, $3 }' /proc/kallsyms
	for p in $patterns; do
		# 3.2.2 hooks IPv4 only: an IPv6 flow would never reach a hook.
		[ "$v" = c322 ] && [ "$p" = udp6 ] && continue
		# Pinned to one CPU: the loopback receive runs on the sender's. The
		# flow execs python, so killing $pid ends it.
		steady=/tmp/insns-steady-$v-$p
		rm -f "$steady"
		taskset -c 0 bash -c "$(declare -f flow); flow $p $steady" &
		pid=$!
		until [ -e "$steady" ]; do
			kill -0 "$pid" 2>/dev/null || { echo "insns: the $p flow ended" >&2; exit 1; }
			sleep 0.2
		done
		echo "INSNS READY $v $p $slow ${rs:-0} $mark"
		# Read the directory: a path lookup can keep answering from the
		# negative dentry 9p cached while the file did not exist yet.
		# shellcheck disable=SC2010
		until ls "$INSNS_DIR" | grep -qx "go-$v-$p"; do sleep 0.5; done
		kill "$pid"
		wait "$pid" 2>/dev/null || true
	done
	rmmod "$mod"
done
echo "INSNS DONE"
