#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo scenario, run in the guest by scripts/demo.sh (module loaded).
set -u
rel=$NETATOP_TOP/netatop_user/target/release
netatop=$rel/netatop
say() { printf '\n\033[1m## %s\033[0m\n' "$*"; }

# Named processes: the traffic generator under telling names (comm is the
# name it was started as).
mkdir -p /tmp/demo
for n in web-server web-client dns-server dns-client batch-job; do
	ln -sf "$rel/netatop-traffic" /tmp/demo/$n
done
start() {	# start NAME ARGS...: run in the background, keep its stdin open
	local fifo=/tmp/demo/$1.in out=/tmp/demo/$1.out
	mkfifo "$fifo" 2>/dev/null
	( /tmp/demo/"$@" <"$fifo" >"$out" 2>&1 & )
	exec {fd}>"$fifo"
	eval "hold_${1//-/_}=$fd"
	until grep -q '^ready' "$out" 2>/dev/null; do sleep 0.1; done
}
pid_of() { sed -n 's/^ready pid=\([0-9]*\).*/\1/p' /tmp/demo/$1.out | head -n1; }
port_of() { sed -n 's/^ready .*port=\([0-9]*\).*/\1/p' /tmp/demo/$1.out | head -n1; }
wait_done() { until grep -q '^done' /tmp/demo/$1.out; do sleep 0.1; done; }

say "kernel and module"
echo "kernel: $(uname -r)"
grep '^netatop ' /proc/modules
modinfo "$NETATOP_KO" | grep -E '^(name|version|description|license):'
$netatop status | head -n 3

say "scenario"
start dns-server udp-echo-server 127.0.0.1 100000
start dns-client udp-client-slow 127.0.0.1 "$(port_of dns-server)" 100000 120 10
start web-server tcp-server ::1
start web-client tcp-client ::1 "$(port_of web-server)" 3000000
wait_done web-client
/tmp/demo/batch-job udp-blast 127.0.0.1 9 50 200 </dev/null >/tmp/demo/batch-job.out &
wait_done batch-job 2>/dev/null; sleep 0.2; kill %% 2>/dev/null; wait 2>/dev/null
echo "web-client sent 3 MB to web-server over ::1 (TCP); dns-client and dns-server"
echo "exchange 120-byte UDP datagrams over 127.0.0.1; batch-job sent 50 datagrams and exited."

say "per-process counters (netatop show)"
$netatop show $(pid_of web-server) $(pid_of web-client) $(pid_of dns-server) $(pid_of dns-client)

say "a finished process, from the exit list (netatop exited)"
$netatop exited --count 1 --timeout 20 &
sleep 0.5
# A forced collection moves finished processes to the exit list.
python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW); s.getsockopt(socket.SOL_IP, 15662)'
wait

say "global counters (/proc/netatop)"
cat /proc/netatop

say "netatop top --batch (2-second sample while dns-client is still busy)"
$netatop top --batch -d 2 -n 1
