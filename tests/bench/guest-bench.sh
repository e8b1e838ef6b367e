#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest side of `make bench`. scripts/bench.sh boots the test VM without
# any module (scripts/vm.sh --no-module) and runs this as root in the
# checkout. For every workload it runs the repetitions with the variants
# alternating: (a) no module, (b) nf_empty.ko (an empty netfilter hook),
# (c) netatop.ko, (a), (b), (c), ... loading and unloading the modules
# between runs. Results go to stdout as lines "BENCH <words>" (see
# netatop_user/bench/src/report.rs); everything else is progress on stderr.
#
# Environment (set by scripts/bench.sh):
#   BENCH_BIN BENCH_NETATOP_KO BENCH_EMPTY_KO   the generator and the modules
#   BENCH_REPS (5)  BENCH_DURATION (2)  BENCH_WARMUP (1)  BENCH_RR_CPU (0|any)
#   BENCH_AB_CONCURRENCY (1000)  BENCH_AB_DURATION (5)  BENCH_AB_RAMP (5)
#   BENCH_AB_SETTLE (1)  BENCH_SCALE_LEVELS ("10 1000 20000")
#   BENCH_SCALE_PROCS (1000)  BENCH_SCALE_NETATOP_PARAMS (sockinfo_limit_kb=65536)
#   BENCH_GC_NAMESPACES (2)  BENCH_GC_PORTS (50000)  BENCH_GC_TASKS (1000)
#   BENCH_SCRAPE_TASKS (10000)  BENCH_SCRAPE_CONNS (20000; 0: none)
#   BENCH_REFUSALS_REQUESTS (40000)  BENCH_REFUSALS_CONCURRENCY (50)
#   BENCH_REFUSALS_NETATOP_PARAMS (none: the default caps)
#   BENCH_WORKLOADS ("udp4 udp6 tcp_rr tcp_crr ab refusals flood scale gc
#                     scrape profile")
#   BENCH_FLOOD_PORTS (30000)
#   BENCH_PROFILE_KO   the profile build of netatop.ko (NETATOP_PROFILE=y)
#   BENCH_PROFILE_BASE_KO   another profile build to compare with (optional)
#   BENCH_ACCEL (tcg|kvm, informational)
set -u

: "${BENCH_BIN:?}" "${BENCH_NETATOP_KO:?}" "${BENCH_EMPTY_KO:?}" "${BENCH_PROFILE_KO:?}"
REPS=${BENCH_REPS:-5}
DUR=${BENCH_DURATION:-2}
WARMUP=${BENCH_WARMUP:-1}
RR_CPU=${BENCH_RR_CPU:-0}
AB_CONC=${BENCH_AB_CONCURRENCY:-1000}
AB_DUR=${BENCH_AB_DURATION:-5}
AB_RAMP=${BENCH_AB_RAMP:-5}
AB_SETTLE=${BENCH_AB_SETTLE:-1}
LEVELS=${BENCH_SCALE_LEVELS:-10 1000 20000}
SCALE_PROCS=${BENCH_SCALE_PROCS:-1000}
SCALE_PARAMS=${BENCH_SCALE_NETATOP_PARAMS-sockinfo_limit_kb=65536}
GC_NS=${BENCH_GC_NAMESPACES:-2}
GC_PORTS=${BENCH_GC_PORTS:-50000}
GC_TASKS=${BENCH_GC_TASKS:-1000}
SCRAPE_TASKS=${BENCH_SCRAPE_TASKS:-10000}
SCRAPE_CONNS=${BENCH_SCRAPE_CONNS:-20000}
REFUSALS_REQ=${BENCH_REFUSALS_REQUESTS:-40000}
REFUSALS_CONC=${BENCH_REFUSALS_CONCURRENCY:-50}
REFUSALS_PARAMS=${BENCH_REFUSALS_NETATOP_PARAMS:-}
WORKLOADS=${BENCH_WORKLOADS:-udp4 udp6 tcp_rr tcp_crr ab refusals flood scale gc scrape profile}
FLOOD_PORTS=${BENCH_FLOOD_PORTS:-30000}
VARIANTS="a b c"
# Module parameters of netatop.ko for variant (c) (none: the defaults).
NETATOP_PARAMS=""

bench_t0=$(date +%s)
out() { echo "BENCH $*"; }
log() { echo "bench: [$(( $(date +%s) - bench_t0 ))s] $*" >&2; }

ngx=/tmp/bench-nginx
cleanup() {
	[ -f "$ngx/nginx.pid" ] && kill "$(cat "$ngx/nginx.pid")" 2>/dev/null
	rm -rf "$ngx"
	[ -n "${HOLD_PID:-}" ] && kill "$HOLD_PID" 2>/dev/null
	[ -n "${AB_LOOP:-}" ] && kill "$AB_LOOP" 2>/dev/null
	rmmod netatop 2>/dev/null
	rmmod nf_empty 2>/dev/null
}
trap cleanup EXIT

load() {
	case $1 in
	a) ;;
	b) insmod "$BENCH_EMPTY_KO" || { log "insmod nf_empty.ko failed"; return 1; } ;;
	# shellcheck disable=SC2086 # a list of name=value words
	c) insmod "$BENCH_NETATOP_KO" $NETATOP_PARAMS || { log "insmod netatop.ko failed"; return 1; } ;;
	esac
}
unload() {
	case $1 in
	a) ;;
	b) rmmod nf_empty || { log "rmmod nf_empty failed"; return 1; } ;;
	c) rmmod netatop || { log "rmmod netatop failed"; return 1; } ;;
	esac
}

# Records netatop's table sizes after a (c) run.
tables() { # WORKLOAD REP
	local c
	c=$("$BENCH_BIN" counters 2>/dev/null) && out N "$1" "$2" $c
}

# One measurement: prints the rate or "fail".
measure() { # FUNCTION DURATION
	local v
	v=$("$1" "$2" | tail -n 1)
	case $v in
	'' | *[!0-9.]*) echo fail ;;
	*) echo "$v" ;;
	esac
}

# bench WORKLOAD FUNCTION DURATION: warm-up with no module, then REPS x (a b c).
bench() {
	local name=$1 fn=$2 dur=$3 rep v val
	log "$name: warm-up"
	"$fn" "$WARMUP" >/dev/null
	for rep in $(seq 1 "$REPS"); do
		for v in $VARIANTS; do
			load "$v" || return 1
			val=$(measure "$fn" "$dur")
			[ "$v" = c ] && tables "$name" "$rep"
			unload "$v" || return 1
			out R "$name" "$v" "$rep" "$val"
			log "$name rep $rep ($v): $val"
		done
	done
}

# With netatop loaded, the UDP generator fails unless netatop charged it
# exactly what it sent.
w_udp4() { "$BENCH_BIN" udp --family 4 --size 64 --exact --duration "$1"; }
w_udp6() { "$BENCH_BIN" udp --family 6 --size 64 --exact --duration "$1"; }
# Client and server of TCP_RR/CRR share one CPU: across two vCPUs the rate
# is bound by wakeup IPIs, which under TCG cost far more than packets do.
rr_cpu=()
[ "$RR_CPU" = any ] || rr_cpu=(--cpu "$RR_CPU")
w_rr() { "$BENCH_BIN" rr --family 4 "${rr_cpu[@]}" --duration "$1"; }
w_crr() { "$BENCH_BIN" crr --family 4 "${rr_cpu[@]}" --duration "$1"; }

start_nginx() {
	mkdir -p "$ngx/www" "$ngx/tmp"
	# The size of nginx's default index.html.
	head -c 615 /dev/zero | tr '\0' x >"$ngx/www/index.html"
	cat >"$ngx/nginx.conf" <<-EOF
	worker_processes $(nproc);
	worker_rlimit_nofile 65536;
	pid $ngx/nginx.pid;
	error_log $ngx/error.log warn;
	events { worker_connections 16384; }
	http {
		log_format done '\$msec';
		access_log $ngx/access.log done buffer=256k flush=2s;
		client_body_temp_path $ngx/tmp/body;
		proxy_temp_path $ngx/tmp/proxy;
		fastcgi_temp_path $ngx/tmp/fastcgi;
		uwsgi_temp_path $ngx/tmp/uwsgi;
		scgi_temp_path $ngx/tmp/scgi;
		server {
			listen 127.0.0.1:8080 backlog=8192;
			root $ngx/www;
		}
	}
	EOF
	nginx -e "$ngx/error.log" -p "$ngx" -c "$ngx/nginx.conf" || { cat "$ngx/error.log" >&2; return 1; }
	sleep 1
}

stop_nginx() {
	local pid i
	pid=$(cat "$ngx/nginx.pid" 2>/dev/null) || return 0
	kill -QUIT "$pid"
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.2
	done
	kill -KILL "$pid"
}

# nginx + ab: ab -c AB_CONC runs for the whole benchmark (restarted should
# it finish), and each sample is a window of AB_DUR s, starting AB_SETTLE s
# after the variant was loaded: the requests nginx completed in the window
# (counted from its access log, which holds only each request's completion
# time) over the window's length. With 1000 connections in flight, separate
# short ab runs would be mostly ramp-up and drain at the rates of an
# emulated guest.
stop_ab() {
	kill "$AB_LOOP"
	wait "$AB_LOOP"
	unset AB_LOOP
}
ab_abort() {
	stop_ab
	stop_nginx
}
ab_bench() {
	local rep v w0 w1 total windows=$ngx/windows
	start_nginx || return 1
	: >"$windows"
	# ab's time limit: the whole measurement, with a margin.
	total=$(awk -v r="$REPS" -v d="$AB_DUR" -v s="$AB_SETTLE" \
		'BEGIN { printf "%d\n", (r * 3 + 2) * (d + s + 3) + 60 }')
	(
		trap 'kill $p 2>/dev/null; exit 0' TERM
		while :; do
			ab -q -r -s 120 -t "$total" -n 5000000 -c "$AB_CONC" \
				http://127.0.0.1:8080/index.html >>"$ngx/ab.log" 2>&1 &
			p=$!
			wait $p
		done
	) &
	AB_LOOP=$!
	log "ab: -c $AB_CONC started, ramp-up $AB_RAMP s"
	sleep "$AB_RAMP"
	for rep in $(seq 1 "$REPS"); do
		for v in $VARIANTS; do
			load "$v" || { ab_abort; return 1; }
			sleep "$AB_SETTLE"
			w0=$(date +%s.%N)
			sleep "$AB_DUR"
			w1=$(date +%s.%N)
			[ "$v" = c ] && tables ab "$rep"
			unload "$v" || { ab_abort; return 1; }
			echo "$v $rep $w0 $w1" >>"$windows"
			log "ab rep $rep ($v): window done"
		done
	done
	stop_ab
	# A graceful stop writes out the log buffers.
	stop_nginx
	awk 'NR == FNR { v[NR] = $1; r[NR] = $2; a[NR] = $3; b[NR] = $4; n = NR; next }
		{ for (i = 1; i <= n; i++) if ($1 >= a[i] && $1 < b[i]) { c[i]++; break } }
		END { for (i = 1; i <= n; i++) printf "R ab %s %s %.1f\n", v[i], r[i], c[i] / (b[i] - a[i]) }' \
		"$windows" "$ngx/access.log" | while read -r line; do
		out "$line"
		log "$line"
	done
}

# refusals: netatop.ko with its default parameters (or
# REFUSALS_PARAMS, e.g. a small sockinfo cap that ab fills, to exercise
# the full table's reclaim), loaded once, while ab
# sends REFUSALS_REQ requests (a connection each) over REFUSALS_CONC
# connections to nginx, REPS times; after each ab run a line
# "F refusals REP requests=N completed=N failed=N" + netatop-bench
# counters' words: the counters as they are then, cumulative since the load
# (the line of REP 0, right after the load, is the baseline). With the
# default caps no entry may be refused (issue #26). Only variant (c): there
# is nothing to refuse without netatop.
refusals_bench() {
	local rep c log=$ngx/ab-refusals.log completed failed
	out I refusals_requests "$REFUSALS_REQ"
	out I refusals_concurrency "$REFUSALS_CONC"
	out I refusals_params "${REFUSALS_PARAMS:-default}"
	start_nginx || return 1
	# shellcheck disable=SC2086 # a list of name=value words
	if ! insmod "$BENCH_NETATOP_KO" $REFUSALS_PARAMS; then
		log "insmod netatop.ko failed"
		stop_nginx
		return 1
	fi
	c=$("$BENCH_BIN" counters) || { rmmod netatop; stop_nginx; return 1; }
	# shellcheck disable=SC2086 # key=value words
	out F refusals 0 requests=0 completed=0 failed=0 $c
	for rep in $(seq 1 "$REPS"); do
		ab -q -r -s 120 -n "$REFUSALS_REQ" -c "$REFUSALS_CONC" \
			http://127.0.0.1:8080/index.html >"$log" 2>&1 ||
			log "refusals rep $rep: ab exited with status $? ($(tail -n 1 "$log"))"
		c=$("$BENCH_BIN" counters) || { rmmod netatop; stop_nginx; return 1; }
		completed=$(awk '/^Complete requests:/ { print $3 }' "$log")
		failed=$(awk '/^Failed requests:/ { print $3 }' "$log")
		# shellcheck disable=SC2086 # key=value words
		out F refusals "$rep" requests="$REFUSALS_REQ" completed="${completed:-?}" \
			failed="${failed:-?}" $c
		# ab's next line says why requests failed: (Connect: N, Receive: N, ...)
		log "refusals rep $rep: completed ${completed:-?}, failed ${failed:-?}" \
			"$(awk '/^Failed requests:/ { getline; if ($1 ~ /^\(/) { $1 = $1; print } }' "$log"); $c"
	done
	rmmod netatop || { stop_nginx; return 1; }
	stop_nginx
}

# scale LEVEL: holders keep LEVEL connections open; per variant, after the
# module is loaded, every connection exchanges a byte (so netatop knows both
# ends), then the UDP and TCP_RR rates are measured.
scale() {
	local level=$1 procs line r
	procs=$(( level < SCALE_PROCS ? level : SCALE_PROCS ))
	out I "scale_procs_$level" "$procs"
	log "scale $level: starting $procs holder processes"
	coproc HOLD { exec "$BENCH_BIN" hold --conns "$level" --procs "$procs"; }
	if read -r -t 900 line <&"${HOLD[0]}" && [ "${line%% *}" = ready ]; then
		log "scale $level: $line"
		scale_reps "$level"
		r=$?
	else
		log "scale $level: holders did not start ($line)"
		r=1
	fi
	[ -n "${HOLD[1]:-}" ] && echo quit >&"${HOLD[1]}"
	wait "$HOLD_PID"
	unset HOLD_PID
	return $r
}

scale_reps() { # LEVEL (the holders are ready)
	local level=$1 rep v line val
	# netatop.ko's cap must hold every connection here (see the report).
	local NETATOP_PARAMS=$SCALE_PARAMS
	"$BENCH_BIN" udp --duration "$WARMUP" >/dev/null
	for rep in $(seq 1 "$REPS"); do
		for v in $VARIANTS; do
			load "$v" || return 1
			# (bash unsets HOLD when the holders are gone)
			if [ -z "${HOLD[1]:-}" ] || ! echo touch >&"${HOLD[1]}" ||
				! read -r -t 900 line <&"${HOLD[0]}"; then
				log "scale $level: touch failed"
				unload "$v"
				return 1
			fi
			val=$(measure w_udp4 "$DUR")
			out R "scale_udp_$level" "$v" "$rep" "$val"
			log "scale udp $level rep $rep ($v): $val ($line ms)"
			val=$(measure w_rr "$DUR")
			out R "scale_rr_$level" "$v" "$rep" "$val"
			log "scale rr $level rep $rep ($v): $val"
			[ "$v" = c ] && tables "scale_$level" "$rep"
			unload "$v" || return 1
		done
	done
}

# flood: a flooder in namespace bench-fa sends one-byte datagrams to
# FLOOD_PORTS ports of namespace bench-fb (over a veth pair) as fast as it
# can, while a UDP pair (its counts checked exact) and a TCP_RR pair run in
# the root namespace; per variant and repetition.
flood_bench() {
	local rep v val fpid
	ip netns del bench-fa 2>/dev/null
	ip netns del bench-fb 2>/dev/null
	ip netns add bench-fa && ip netns add bench-fb &&
		ip link add bench-va netns bench-fa type veth peer name bench-vb netns bench-fb &&
		ip -n bench-fa addr add 10.197.0.1/24 dev bench-va &&
		ip -n bench-fb addr add 10.197.0.2/24 dev bench-vb &&
		ip -n bench-fa link set bench-va up && ip -n bench-fb link set bench-vb up &&
		ip -n bench-fa link set lo up && ip -n bench-fb link set lo up ||
		{ log "flood: namespace setup failed"; return 1; }
	for rep in $(seq 1 "$REPS"); do
		for v in $VARIANTS; do
			load "$v" || return 1
			ip netns exec bench-fa "$BENCH_BIN" flood --dst 10.197.0.2 --ports "$FLOOD_PORTS" \
				--duration "$(( 2 * DUR + 2 ))" >"/tmp/bench-flood.$v" &
			fpid=$!
			sleep 1
			val=$(measure w_udp4 "$DUR")
			out R flood_udp "$v" "$rep" "$val"
			log "flood udp rep $rep ($v): $val"
			val=$(measure w_rr "$DUR")
			out R flood_rr "$v" "$rep" "$val"
			log "flood rr rep $rep ($v): $val"
			[ "$v" = c ] && tables flood "$rep"
			wait "$fpid"
			log "flood rep $rep ($v): the flooder sent $(cat "/tmp/bench-flood.$v") datagrams"
			unload "$v" || return 1
		done
	done
	ip netns del bench-fa
	ip netns del bench-fb
}

# profile: netatop.ko's profile build times its own hook (the summary and
# the accounting, the clock's cost measured apart) during each traffic
# workload, REPS times; with BENCH_PROFILE_BASE_KO (another profile build,
# e.g. of the previous commit) the two alternate and the base's lines carry
# the workload name WORKLOAD@base. Lines "P WORKLOAD HOOK CALLS NS CLOCK_NS
# OPS HISTOGRAM...".
profile() {
	local rep w fn ko label ops hook calls ns clock hist
	for rep in $(seq 1 "$REPS"); do
		for w in udp4 udp6 tcp_rr tcp_crr; do
			case $w in
			udp4) fn=w_udp4 ;;
			udp6) fn=w_udp6 ;;
			tcp_rr) fn=w_rr ;;
			tcp_crr) fn=w_crr ;;
			esac
			for ko in "$BENCH_PROFILE_KO" ${BENCH_PROFILE_BASE_KO:+"$BENCH_PROFILE_BASE_KO"}; do
				label=$w
				[ "$ko" = "$BENCH_PROFILE_KO" ] || label=$w@base
				insmod "$ko" || { log "insmod $ko failed"; return 1; }
				ops=$(measure "$fn" "$DUR")
				while read -r hook calls ns clock hist; do
					# shellcheck disable=SC2086 # the histogram's words
					out P "$label" "$hook" "$calls" "$ns" "$clock" "$ops" $hist
				done </proc/netatop_profile
				log "profile $label rep $rep: $ops op/s"
				rmmod netatop || return 1
			done
		done
	done
}

gc() {
	log "gc: netatop.ko with sockinfo_limit_kb=65536, $GC_NS x $GC_PORTS UDP ports"
	out I gc_namespaces "$GC_NS"
	insmod "$BENCH_NETATOP_KO" sockinfo_limit_kb=65536 gc_interval_ms=3600000 || return 1
	local r
	"$BENCH_BIN" gc --namespaces "$GC_NS" --ports "$GC_PORTS" --tasks "$GC_TASKS" --passes 5 |
		while read -r k v; do
			out G "$k" "$v"
			log "gc: $k $v"
		done
	r=${PIPESTATUS[0]}
	rmmod netatop || r=1
	return "$r"
}

# scrape_conns: SCRAPE_CONNS connections (half as many loopback TCP pairs,
# held open by `netatop-bench hold` and touched, so that netatop has both
# ends, bound) and the time of one GETCNT_CONNS snapshot of them all
# (median of 20). The holders connect while netatop.ko is loaded: the
# passive ends stay unbound until the touch, so the scrape's module has a
# cap whose unbound quarter holds them.
scrape_conns() {
	local line r=0 pairs=$(( (SCRAPE_CONNS + 1) / 2 ))
	log "scrape: $SCRAPE_CONNS connections ($pairs TCP pairs in 100 processes)"
	coproc HOLD { exec "$BENCH_BIN" hold --conns "$pairs" --procs 100; }
	if read -r -t 900 line <&"${HOLD[0]}" && [ "${line%% *}" = ready ] &&
		echo touch >&"${HOLD[1]}" && read -r -t 900 line <&"${HOLD[0]}"; then
		log "scrape: holders $line"
		"$BENCH_BIN" conns --min "$SCRAPE_CONNS" |
			while read -r k v; do
				out G "$k" "$v"
				log "scrape: $k $v"
			done
		r=${PIPESTATUS[0]}
	else
		log "scrape: holders did not start ($line)"
		r=1
	fi
	[ -n "${HOLD[1]:-}" ] && echo quit >&"${HOLD[1]}"
	wait "$HOLD_PID"
	unset HOLD_PID
	return $r
}

# scrape: SCRAPE_TASKS processes that each sent one datagram; times one
# GETCNT_TASKS and one scrape of netatop-exporter (medians of 20); then
# scrape_conns.
scrape() {
	local r epid
	log "scrape: netatop.ko with taskinfo_limit_kb=8192 sockinfo_limit_kb=16384, $SCRAPE_TASKS processes, netatop-exporter"
	sysctl -qw kernel.threads-max=131072 kernel.pid_max=131072
	insmod "$BENCH_NETATOP_KO" taskinfo_limit_kb=8192 sockinfo_limit_kb=16384 || return 1
	"$BENCH_EXPORTER" --web.listen-address 127.0.0.1:9661 --process.top 20 >/tmp/bench-exporter.log 2>&1 &
	epid=$!
	# netatop-dbus on a private bus of the system type with the shipped policy.
	local busd dbusd addr dbus=()
	if [ -n "${BENCH_DBUS:-}" ]; then
		mkdir -p /tmp/bench-bus
		sed -e "s|@SOCKET@|/tmp/bench-bus/socket|" -e "s|@POLICY@|$BENCH_DBUS_POLICY|" \
			"$BENCH_BUS_CONF" >/tmp/bench-bus/bus.conf
		dbus-daemon --config-file=/tmp/bench-bus/bus.conf --nofork --nopidfile --print-address=1 \
			>/tmp/bench-bus/address 2>/tmp/bench-bus/log &
		busd=$!
		until [ -s /tmp/bench-bus/address ]; do sleep 0.1; done
		addr=$(head -n1 /tmp/bench-bus/address)
		"$BENCH_DBUS" --address "$addr" >/tmp/bench-bus/netatop-dbus.log 2>&1 &
		dbusd=$!
		dbus=(--dbus "$addr")
	fi
	"$BENCH_BIN" scrape --tasks "$SCRAPE_TASKS" --addr 127.0.0.1:9661 "${dbus[@]}" |
		while read -r k v; do
			out G "$k" "$v"
			log "scrape: $k $v"
		done
	r=${PIPESTATUS[0]}
	kill "$epid" ${dbusd:-} ${busd:-}
	wait "$epid" ${dbusd:-} ${busd:-} 2>/dev/null
	if [ "$SCRAPE_CONNS" -gt 0 ]; then
		scrape_conns || r=1
	fi
	rmmod netatop || r=1
	return "$r"
}

# -------------------------------------------------------------------- setup
ulimit -n 1048576 || ulimit -n 65536
sysctl -qw net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192 \
	net.core.netdev_max_backlog=8192 net.ipv4.ip_local_port_range="1024 65000"
for m in netatop nf_empty; do
	grep -q "^$m " /proc/modules && rmmod "$m"
done

out I kernel "$(uname -r)"
out I cpus "$(nproc)"
out I mem_mb "$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)"
out I accel "${BENCH_ACCEL:-?}"
out I reps "$REPS"
out I duration "$DUR"
out I ab_duration "$AB_DUR"
out I ab_concurrency "$AB_CONC"
out I ab_settle "$AB_SETTLE"
out I rr_cpu "$RR_CPU"
out I scale_netatop_params "${SCALE_PARAMS:-defaults}"
out I netatop_ko "$(modinfo -F version "$BENCH_NETATOP_KO" 2>/dev/null || echo '?')"
log "variants: a = no module, b = $BENCH_EMPTY_KO, c = $BENCH_NETATOP_KO; $REPS reps of $DUR s"

rc=0
for w in $WORKLOADS; do
	case $w in
	udp4) bench udp4 w_udp4 "$DUR" || rc=1 ;;
	udp6) bench udp6 w_udp6 "$DUR" || rc=1 ;;
	tcp_rr) bench tcp_rr w_rr "$DUR" || rc=1 ;;
	tcp_crr) bench tcp_crr w_crr "$DUR" || rc=1 ;;
	ab) ab_bench || rc=1 ;;
	refusals) refusals_bench || rc=1 ;;
	scale) for l in $LEVELS; do scale "$l" || rc=1; done ;;
	gc) gc || rc=1 ;;
	scrape) scrape || rc=1 ;;
	profile) profile || rc=1 ;;
	flood) flood_bench || rc=1 ;;
	*) log "unknown workload $w"; rc=1 ;;
	esac
done
log "done (rc $rc)"
exit $rc
