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
for n in web-server web-client dns-server dns-client batch-job backup-agent backup-once; do
	ln -sf "$rel/netatop-traffic" /tmp/demo/$n
done
start() {	# [CG=DIR] start NAME ARGS...: run in the background (in cgroup DIR), keep its stdin open
	local fifo=/tmp/demo/$1.in out=/tmp/demo/$1.out
	mkfifo "$fifo" 2>/dev/null
	( ( [ -z "${CG:-}" ] || echo 0 >"$CG/cgroup.procs"; exec /tmp/demo/"$@" ) <"$fifo" >"$out" 2>&1 & )
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
$netatop status

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

say "who talks to whom: every connection (netatop connections)"
echo "Each TCP connection and each local UDP port, charged to its process, with its"
echo "own packets and bytes each way (a port nothing local sent on has no owner: -)."
$netatop connections
echo
echo "\$ netatop connections --pid $(pid_of dns-client) --json"
$netatop connections --pid "$(pid_of dns-client)" --json

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
echo
echo "\$ netatop top --connections --batch -d 2 -n 1    # the c key in the live view"
$netatop top --connections --batch -d 2 -n 1

say "per cgroup: a backup service in its own cgroup v2, /demo-backup"
# The cgroup a process is in when it first sends is the one it counts for.
grep -q ' - cgroup2 ' /proc/self/mountinfo || mount -t cgroup2 none /sys/fs/cgroup
cgroot=$(awk '/ - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
mkdir -p "$cgroot/demo-backup"
CG=$cgroot/demo-backup start backup-agent udp-client-slow 127.0.0.1 "$(port_of dns-server)" 100000 300 10
CG=$cgroot/demo-backup start backup-once udp-blast 127.0.0.1 9 40 1000
wait_done backup-once
eval "exec ${hold_backup_once}>&-"
echo "backup-agent keeps sending 300-byte datagrams; backup-once sent 40 datagrams of 1000"
echo "bytes and exited: both in /demo-backup, whose totals keep backup-once's."
echo
echo "\$ netatop top --cgroups --batch -d 2 -n 1"
$netatop top --cgroups --batch -d 2 -n 1
echo
echo "\$ netatop show --cgroup /demo-backup"
$netatop show --cgroup /demo-backup

say "Prometheus: netatop-exporter's /metrics, the lines of /demo-backup"
$rel/netatop-exporter --web.listen-address 127.0.0.1:9661 >/tmp/demo/exporter.out 2>&1 &
exporter=$!
metrics() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' http://127.0.0.1:9661/metrics 2>/dev/null; }
for _ in $(seq 100); do metrics >/dev/null && break; sleep 0.1; done
echo "GET http://127.0.0.1:9661/metrics, the lines of netatop_up and of /demo-backup:"
metrics | grep -E '^netatop_up|cgroup="/demo-backup"'
kill "$exporter" 2>/dev/null

say "desktop: netatop-dbus on a system bus, GetStats as an unprivileged user"
mkdir -p /tmp/demo/bus
sed -e "s|@SOCKET@|/tmp/demo/bus/socket|" \
	-e "s|@POLICY@|$NETATOP_TOP/packaging/dbus/org.gnome.GTopNetStats.conf|" \
	"$NETATOP_TOP/tests/vm/system-bus.conf" >/tmp/demo/bus/bus.conf
dbus-daemon --config-file=/tmp/demo/bus/bus.conf --nofork --nopidfile --print-address=1 \
	>/tmp/demo/bus/address 2>/tmp/demo/bus/log &
busd=$!
until [ -s /tmp/demo/bus/address ]; do sleep 0.1; done
addr=$(head -n1 /tmp/demo/bus/address)
$rel/netatop-dbus --address "$addr" >/tmp/demo/netatop-dbus.out 2>&1 &
dbusd=$!
ln -sf "$rel/netatop-traffic" /tmp/demo/desktop-app
# It stays alive (GetStats lists live processes) until its stdin closes.
mkfifo /tmp/demo/desktop-app.in
setpriv --reuid=65534 --regid=65534 --clear-groups /tmp/demo/desktop-app udp-blast 127.0.0.1 9 25 500 \
	</tmp/demo/desktop-app.in >/tmp/demo/desktop-app.out 2>&1 &
app=$!
exec {hold_app}>/tmp/demo/desktop-app.in
wait_done desktop-app
getstats() {	# [USER]
	local who=()
	[ $# -gt 0 ] && who=(setpriv --reuid="$1" --regid="$1" --clear-groups)
	"${who[@]}" gdbus call --address "$addr" --dest org.gnome.GTopNetStats \
		--object-path /org/gnome/GTopNetStats --method org.gnome.GTopNetStats.GetStats
}
for _ in $(seq 100); do getstats >/dev/null 2>&1 && break; sleep 0.1; done
echo "desktop-app (pid $(pid_of desktop-app), uid 65534) sent 25 datagrams of 500 bytes:"
echo "25 x (500 + 8 UDP + 20 IP + 18 link) = 13650 bytes."
echo "\$ gdbus call ... GetStats    # as uid 65534: pid -> (bytes sent, bytes received), its own processes only"
getstats 65534
echo "\$ gdbus call ... GetStats    # as root: every process"
getstats
exec {hold_app}>&-
kill "$dbusd" "$busd" 2>/dev/null
wait 2>/dev/null
