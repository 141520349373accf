#!/usr/bin/env bash
# Live benchmark: bench/.output/cagen sends CA monitor updates (EVENT_ADD
# responses, 16-byte header + 8-byte DBR_DOUBLE, 1000 subscribed PVs) over
# TCP from the IOC namespace (server, port 5064) to the client namespace,
# at rising rates, each run with one of:
#   none        nothing attached (the baseline)
#   catrace     catrace -i VETH_IOC > /dev/null   (default value bytes)
#   catrace-ho  catrace -i VETH_IOC --headers-only > /dev/null
#   catrace-file catrace -i VETH_IOC > FILE       (a file on disk, truncated
#               after every run; the issue's goal is stated for this)
#   catrace-file-n0  the same as an ordinary process (SCHED_OTHER, nice 0)
#   catrace-metrics-n0  catrace -i VETH_IOC -q --no-print --metrics 127.0.0.1:PORT, as
#               an ordinary process (no message lines: counters only)
#   pipe-n0     tcpdump -i VETH_IOC -s 0 -U -w - | catrace -r - > FILE, both
#               ordinary processes on the tracer's core, restarted per run
#               (its drops: tcpdump's "packets dropped by kernel")
#   tcpdump     tcpdump -i VETH_IOC -s 0 -w /dev/null
# catrace and tcpdump are attached to the IOC (sending) end of the veth:
# the updates leave through tc egress there (XDP sees the client's ACKs),
# as on an IOC host.  Offloads are off (tests/netns/lib.sh), so segments
# are wire-sized (1448 bytes: 60 updates).
#
# Per run: the generator's throughput (client side: messages counted by
# walking headers / time from first update to EOF), the generator's CPU
# (server + client processes, user + sys: the in-kernel cost of catrace's
# tc program lands in the sender's sys time), the tracer's CPU
# (/proc/PID/schedstat, from just before the traffic to its end, divided
# by the traffic time, and what it still used in the 0.5 s after), its
# write() calls per message (/proc/PID/io), and its drops: catrace's "N dropped by kernel" (ring buffer full) and
# its captured count against the messages sent; tcpdump's "packets
# dropped by kernel".
#
# Scheduling: this VM is shared with other sessions' builds, tests and
# fuzzers (the background load of each section is in its footer).  To
# measure what catrace does with a core, the tracers run SCHED_FIFO on
# theirs (BENCH_LIVE_TRACER_SCHED, default "chrt -f 10": at nice -10
# catrace still dropped at 1M msg/s beside that load); the generator runs
# at nice
# BENCH_LIVE_NICE (default -10) on the other core.  catrace-file-n0 runs
# catrace as an ordinary process, to show the contended case.
#
# Environment: BENCH_LIVE_RATES (updates/s, 0 = as fast as possible;
# default "500000 1000000 1400000 2000000 4000000 0"), BENCH_LIVE_SECONDS (default 2),
# BENCH_LIVE_REPEATS (default 3), BENCH_LIVE_MODES (default
# "none catrace-file catrace-file-n0 catrace-ho tcpdump"; also "catrace",
# to /dev/null), BENCH_LIVE_NICE, BENCH_LIVE_TRACER_SCHED.
# Prints a Markdown section on stdout; progress on stderr.
set -uo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
CAGEN=$BENCH_DIR/.output/cagen
RATES=${BENCH_LIVE_RATES:-"500000 1000000 1400000 2000000 4000000 0"}
SECS=${BENCH_LIVE_SECONDS:-2}
REPS=${BENCH_LIVE_REPEATS:-3}
MODES=${BENCH_LIVE_MODES:-"none catrace-file catrace-file-n0 catrace-ho tcpdump"}
NICE=${BENCH_LIVE_NICE:--10}
read -r -a TRACER_SCHED <<<"${BENCH_LIVE_TRACER_SCHED:-chrt -f 10}"
NCHAN=1000
# Pinning: the generator (sender and receiver, and with them the network
# processing done in their context) on CPU 0, the tracer alone on the last
# CPU: "catrace on one core".  BENCH_LIVE_PIN=0 leaves it to the scheduler.
NCPU=$(nproc)
if [ "${BENCH_LIVE_PIN:-1}" = 1 ] && [ "$NCPU" -ge 2 ]; then
	PIN_GEN=(taskset -c 0)
	PIN_TRACER=(taskset -c $((NCPU - 1)))
else
	PIN_GEN=()
	PIN_TRACER=()
fi

log() { echo "live: $*" >&2; }
[ -x "$CAGEN" ] || { echo "live: $CAGEN not built (make -C bench build)" >&2; exit 1; }

# BENCH_LIVE_RAW=FILE: append this run's raw results to FILE too;
# BENCH_LIVE_REPORT=FILE: no measurement, only the report of FILE (raw
# results of one or several runs, e.g. interleaved runs of two builds).
if [ -n "${BENCH_LIVE_REPORT:-}" ]; then
	RES=$BENCH_LIVE_REPORT
else
# shellcheck source=../tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"
ns_setup
RES=$NS_TMP/results
: >"$RES"
TRACER_PID=""
SRV_PID=""
STATS_PID=""
READER_PID=""     # pipe-n0: the catrace -r reading tcpdump's output
METRICS_PORT=${BENCH_LIVE_METRICS_PORT:-19464}
# BENCH_LIVE_TAG=T: modes recorded as MODE@T (two builds in one report).
TAG=${BENCH_LIVE_TAG:+@$BENCH_LIVE_TAG}
ns_cleanup_hook() {
	[ -n "$TRACER_PID" ] && kill -KILL "$TRACER_PID" 2>/dev/null
	[ -n "$READER_PID" ] && kill -KILL "$READER_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && kill -KILL "$SRV_PID" 2>/dev/null
	[ -n "$STATS_PID" ] && kill -TERM "$STATS_PID" 2>/dev/null
	return 0
}
# The kernel's BPF run-time statistics (run_time_ns, run_cnt per program)
# stay on while kbench --stats runs: catrace's programs' own time on the
# live traffic.  They cost two clock reads per program run, in every mode.
"$BENCH_DIR/.output/kbench" --stats >"$NS_TMP/stats.out" 2>&1 &
STATS_PID=$!
_NS_BG_PIDS+=("$STATS_PID")

# The program id behind PID's bpf link of LINKTYPE (xdp, tcx).
prog_id() {
	local f
	for f in /proc/"$1"/fdinfo/*; do
		grep -qs "link_type:.*$2" "$f" || continue
		awk '/^prog_id:/ {print $2}' "$f"
		return
	done
}

# catrace's kernel state: "msgs drops tc_ns tc_runs xdp_ns xdp_runs" (the
# counters map summed over CPUs, and each program's run-time statistics).
kstate() {
	local pid=$1 tc xd a b
	tc=$(prog_id "$pid" tcx)
	xd=$(prog_id "$pid" xdp)
	[ -n "$tc" ] || { echo "0 0 0 0 0 0"; return; }
	a=$("$BENCH_DIR/.output/kbench" --counters "$tc")
	b=""
	[ -n "$xd" ] && b=$("$BENCH_DIR/.output/kbench" --counters "$xd")
	echo "$(kvs msgs "$a") $(kvs drops "$a") $(kvs run_ns "$a") $(kvs runs "$a")" \
		"$(kvs run_ns "$b") $(kvs runs "$b")"
}
kvs() { local v; v=$(sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$2"); echo "${v:-0}"; }

# CPU time of a (single-threaded) process in ns: the scheduler's precise
# sum_exec_runtime, not the tick-sampled utime/stime of /proc/PID/stat.
cpu_ns() { awk '{print $1}' "/proc/$1/schedstat" 2>/dev/null || echo 0; }
# ... and the time it was runnable but waiting for a CPU.
wait_ns() { awk '{print $2}' "/proc/$1/schedstat" 2>/dev/null || echo 0; }
syscw() { awk '/^syscw:/ {print $2}' "/proc/$1/io" 2>/dev/null || echo 0; }
# The same for the tracer: its process, and for pipe-n0 the reader too.
tr_cpu() { echo $(($(cpu_ns "$TRACER_PID") + ${READER_PID:+$(cpu_ns "$READER_PID")}+0)); }
tr_wait() { echo $(($(wait_ns "$TRACER_PID") + ${READER_PID:+$(wait_ns "$READER_PID")}+0)); }
tr_syscw() { if [ -n "$READER_PID" ]; then syscw "$READER_PID"; else syscw "$TRACER_PID"; fi; }

start_tracer() {  # MODE -> TRACER_PID, waits until attached
	local mode=$1
	TRACER_PID=""
	case $mode in
	none) return 0 ;;
	catrace | catrace-ho | catrace-file | catrace-file-n0 | catrace-metrics-n0)
		# No process attribution: the figures compare the decoder with
		# the measurements of earlier runs (BENCHMARKS.md predates it).
		local -a opt=(--no-proc)
		local out=/dev/null
		local -a sched=("${TRACER_SCHED[@]}")
		[ "$mode" = catrace-ho ] && opt+=(--headers-only)
		[ "${mode#catrace-file}" != "$mode" ] && out=$NS_TMP/catrace.txt
		[ "$mode" = catrace-metrics-n0 ] && opt+=(-q --no-print --metrics "127.0.0.1:$METRICS_PORT")
		[ "${mode%-n0}" != "$mode" ] && sched=(nice -n 0)
		ip netns exec "$NS_IOC" "${sched[@]}" "${PIN_TRACER[@]}" "$CATRACE" -i "$VETH_IOC" "${opt[@]}" >"$out" 2>"$NS_TMP/tracer.err" &
		TRACER_PID=$!
		# Attached when its tcx (egress) link exists, after the XDP one.
		for _ in $(seq 400); do
			grep -qs 'link_type:.*tcx' /proc/"$TRACER_PID"/fdinfo/* && return 0
			kill -0 "$TRACER_PID" 2>/dev/null || break
			sleep 0.05
		done
		echo "live: catrace did not attach (tcx link; netlink tc is not supported here):" >&2
		cat "$NS_TMP/tracer.err" >&2
		return 1
		;;
	pipe-n0)
		# catrace reads a FIFO (its own pid, for its CPU), tcpdump writes it.
		rm -f "$NS_TMP/pipe"
		mkfifo "$NS_TMP/pipe"
		nice -n 0 "${PIN_TRACER[@]}" "$CATRACE" -r - <"$NS_TMP/pipe" >"$NS_TMP/catrace.txt" 2>"$NS_TMP/reader.err" &
		READER_PID=$!
		ip netns exec "$NS_IOC" nice -n 0 "${PIN_TRACER[@]}" tcpdump -i "$VETH_IOC" -s 0 -U -w - >"$NS_TMP/pipe" 2>"$NS_TMP/tracer.err" &
		TRACER_PID=$!
		for _ in $(seq 100); do
			grep -q listening "$NS_TMP/tracer.err" && return 0
			sleep 0.05
		done
		echo "live: tcpdump | catrace -r - did not start" >&2
		cat "$NS_TMP/tracer.err" "$NS_TMP/reader.err" >&2
		return 1
		;;
	tcpdump)
		ip netns exec "$NS_IOC" "${TRACER_SCHED[@]}" "${PIN_TRACER[@]}" tcpdump -i "$VETH_IOC" -s 0 -w /dev/null >/dev/null 2>"$NS_TMP/tracer.err" &
		TRACER_PID=$!
		for _ in $(seq 100); do
			grep -q listening "$NS_TMP/tracer.err" && return 0
			sleep 0.05
		done
		echo "live: tcpdump did not start" >&2
		return 1
		;;
	esac
}

# Stop the tracer; CAPTURED and DROPPED from its exit summary.
stop_tracer() {
	local mode=$1
	CAPTURED=0 DROPPED=0
	[ -n "$TRACER_PID" ] || return 0
	kill -INT "$TRACER_PID"
	wait "$TRACER_PID"
	TRACER_PID=""
	case $mode in
	catrace*)
		CAPTURED=$(sed -n 's/^\([0-9]*\) CA messages captured, \([0-9]*\) dropped.*/\1/p' "$NS_TMP/tracer.err")
		DROPPED=$(sed -n 's/^\([0-9]*\) CA messages captured, \([0-9]*\) dropped.*/\2/p' "$NS_TMP/tracer.err")
		rm -f "$NS_TMP/catrace.txt"
		;;
	tcpdump | pipe-n0)
		if [ -n "$READER_PID" ]; then
			wait "$READER_PID"   # tcpdump gone: end of its pipe
			READER_PID=""
		fi
		CAPTURED=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$NS_TMP/tracer.err")
		DROPPED=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$NS_TMP/tracer.err")
		;;
	esac
	CAPTURED=${CAPTURED:-0} DROPPED=${DROPPED:-0}
}

# Wait until the tracer has worked through its backlog (under 2 ms of CPU
# in 100 ms), at most 10 s.
wait_idle() {
	local a b
	[ -n "$TRACER_PID" ] || return 0
	for _ in $(seq 100); do
		a=$(tr_cpu)
		sleep 0.1
		b=$(tr_cpu)
		[ $((b - a)) -lt 2000000 ] && return 0
	done
}

kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2"; }

# One run of the generator at RATE with MODE's tracer running (catrace:
# already attached, for the whole pass; tcpdump: started for this run, its
# drops are known only when it exits).
run_one() {  # REP RATE MODE
	local rep=$1 rate=$2 mode=$3 c0=0 c1=0 c2=0 w0=0 w1=0 q0=0 q1=0 sent cl_msgs
	local k0="0 0 0 0 0 0" k1="0 0 0 0 0 0" captured=0 dropped=0 lines=0
	local per_run=0
	[ "$mode" = tcpdump ] || [ "$mode" = pipe-n0 ] && per_run=1
	ip netns exec "$NS_IOC" nice -n "$NICE" "${PIN_GEN[@]}" "$CAGEN" serve -b "$IOC_ADDR" -r "$rate" -d "$SECS" >"$NS_TMP/srv.out" 2>&1 &
	SRV_PID=$!
	for _ in $(seq 100); do
		grep -q listening "$NS_TMP/srv.out" && break
		sleep 0.02
	done
	[ "$per_run" = 1 ] && { start_tracer "$mode" || return 1; }
	wait_idle
	if [ -n "$TRACER_PID" ]; then
		c0=$(tr_cpu)
		q0=$(tr_wait)
		w0=$(tr_syscw)
		[ "$per_run" = 0 ] && k0=$(kstate "$TRACER_PID")
	fi
	ip netns exec "$NS_CLI" nice -n "$NICE" "${PIN_GEN[@]}" "$CAGEN" client -a "$IOC_ADDR" -c "$NCHAN" >"$NS_TMP/cli.out" 2>&1
	wait "$SRV_PID"
	SRV_PID=""
	if [ -n "$TRACER_PID" ]; then
		# CPU during the traffic, then what it still used in the 0.5 s
		# after: a tracer behind on its backlog keeps working.
		c1=$(tr_cpu)
		q1=$(tr_wait)
		sleep 0.5
		c2=$(tr_cpu)
		w1=$(tr_syscw)
		[ "$per_run" = 0 ] && k1=$(kstate "$TRACER_PID")
	fi
	if [ "$per_run" = 1 ]; then
		stop_tracer "$mode"
		captured=$CAPTURED dropped=$DROPPED
		[ "$mode" = pipe-n0 ] && lines=$(wc -l <"$NS_TMP/catrace.txt")
	fi
	# A run at full speed writes gigabytes: keep the file (sparse) empty.
	[ -f "$NS_TMP/catrace.txt" ] && truncate -s 0 "$NS_TMP/catrace.txt"
	sent=$(kv msgs "$NS_TMP/srv.out")
	cl_msgs=$(kv msgs "$NS_TMP/cli.out")
	if [ -z "$sent" ] || [ -z "$cl_msgs" ]; then
		echo "live: generator failed:" >&2
		cat "$NS_TMP/srv.out" "$NS_TMP/cli.out" >&2
		return 1
	fi
	local -a a b
	read -r -a a <<<"$k0"
	read -r -a b <<<"$k1"
	if [ "${mode#catrace}" != "$mode" ]; then
		# kernel: messages parsed, ring-buffer drops in this run
		captured=$((b[0] - a[0])) dropped=$((b[1] - a[1]))
	fi
	# rep rate mode sent srv_secs srv_u srv_s cli_msgs cli_secs cli_u cli_s
	#   tracer_ns kmsgs_or_captured dropped tracer_ns_after tracer_writes
	#   tc_ns tc_runs xdp_ns xdp_runs tracer_runq_wait_ns text_lines
	echo "run $rep $rate $mode$TAG $sent $(kv secs "$NS_TMP/srv.out") $(kv cpu_user "$NS_TMP/srv.out")" \
		"$(kv cpu_sys "$NS_TMP/srv.out") $cl_msgs $(kv secs "$NS_TMP/cli.out")" \
		"$(kv cpu_user "$NS_TMP/cli.out") $(kv cpu_sys "$NS_TMP/cli.out") $((c1 - c0))" \
		"$captured $dropped $((c2 - c1)) $((w1 - w0))" \
		"$((b[2] - a[2])) $((b[3] - a[3])) $((b[4] - a[4])) $((b[5] - a[5])) $((q1 - q0))" \
		"$lines" >>"$RES"
	log "rep $rep rate $rate $mode: sent $sent, client $(kv rate "$NS_TMP/cli.out")/s, tracer CPU $(((c1 - c0) / 1000000)) ms (+$(((c2 - c1) / 1000000)) ms after), counted $captured dropped $dropped"
}

T0=$SECONDS
# Low rates first: a pass of one tracer runs every rate.
SORTED_RATES=$(for r in $RATES; do [ "$r" = 0 ] && echo 999999999999 || echo "$r"; done | sort -n |
	sed 's/^999999999999$/0/')
for ((rep = 1; rep <= REPS; rep++)); do
	for mode in $MODES; do
		SENT_PASS=0
		if [ "${mode#catrace}" != "$mode" ]; then
			start_tracer "$mode" || exit 1
		fi
		for rate in $SORTED_RATES; do
			run_one "$rep" "$rate" "$mode" || exit 1
			SENT_PASS=$((SENT_PASS + $(kv msgs "$NS_TMP/srv.out")))
		done
		if [ "${mode#catrace}" != "$mode" ]; then
			wait_idle
			stop_tracer "$mode"
			# The whole pass, as catrace itself counted it at exit.
			echo "pass $rep $mode$TAG $SENT_PASS $CAPTURED $DROPPED $(echo "$SORTED_RATES" | wc -w)" >>"$RES"
			log "rep $rep $mode pass: sent $SENT_PASS, catrace captured $CAPTURED, dropped $DROPPED"
		fi
	done
done
log "done in $((SECONDS - T0)) s"
[ -n "${BENCH_LIVE_RAW:-}" ] && cat "$RES" >>"$BENCH_LIVE_RAW"
fi

/usr/bin/python3 - "$RES" "$SECS" "$REPS" "$NCHAN" "${PIN_GEN[*]:-none}" "${PIN_TRACER[*]:-none}" "${BENCH_SUMMARY:-}" "$NICE" "${TRACER_SCHED[*]}" <<'PY'
import os, sys, statistics
from collections import defaultdict
res, secs, reps, nchan = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pin_gen, pin_tracer, summary, nice, tsched = sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8], sys.argv[9]
HANDSHAKE = 5 * nchan + 4   # messages before the stream: catrace counts them too
runs = defaultdict(list)
rates, modes = [], []
passes = defaultdict(list)
for line in open(res):
    f = line.split()
    if f[0] == "pass":
        # pass rep mode sent captured dropped nrates
        passes[f[2]].append(dict(sent=int(f[3]), cap=int(f[4]), drop=int(f[5]), nrates=int(f[6])))
        continue
    f = f[1:]
    rep, rate, mode = int(f[0]), int(f[1]), f[2]
    (sent, ssecs, su, ss, cmsgs, csecs, cu, cs, tns, cap, drop, tafter, writes) = (
        int(f[3]), float(f[4]), float(f[5]), float(f[6]), int(f[7]), float(f[8]),
        float(f[9]), float(f[10]), int(f[11]), int(f[12]), int(f[13]), int(f[14]),
        int(f[15]))
    tcns, tcn, xdns, xdn, qwait = int(f[16]), int(f[17]), int(f[18]), int(f[19]), int(f[20])
    lines = int(f[21]) if len(f) > 21 else 0
    if rate not in rates: rates.append(rate)
    if mode not in modes: modes.append(mode)
    runs[(rate, mode)].append(dict(
        sent=sent, thr=cmsgs / csecs if csecs > 0 else 0,
        gen_cpu=(su + ss + cu + cs) / ssecs * 100,
        tracer=tns / 1e9 / ssecs * 100, after=tafter / 1e6, cap=cap, drop=drop,
        qwait=qwait / 1e9 / ssecs * 100,
        wpm=writes / max(cap - drop, 1) if mode.startswith("catrace") else 0,
        tcpkt=tcns / tcn if tcn else 0, bpfmsg=(tcns + xdns) / sent if sent else 0,
        mpp=sent / tcn if tcn else 0,
        # tracer CPU per million updates sent, in ms (= ns per update):
        # the tracer's process(es), during the traffic and the 0.5 s after,
        # plus catrace's BPF programs' run time
        cpm_proc=(tns + tafter) / sent if sent else 0,
        cpm_bpf=(tcns + xdns) / sent if sent else 0,
        lines=lines,
        # messages the kernel did not even parse (catrace: cap = messages
        # its programs counted in this run)
        lost=max(0, sent + HANDSHAKE - cap) if mode.startswith("catrace") else 0))

def med(v): return statistics.median(v)
def bm(m): return m.split("@")[0]
def tg(m): return m[len(bm(m)):]
def ms(v, f="%.0f"):
    return (f + " [" + f + "-" + f + "]") % (med(v), min(v), max(v))

label = {"none": "nothing attached", "catrace": "catrace > /dev/null",
         "catrace-ho": "catrace --headers-only > /dev/null",
         "catrace-file": "catrace > file", "catrace-file-n0": "catrace > file, ordinary process",
         "catrace-metrics-n0": "catrace -q --no-print --metrics, ordinary process",
         "pipe-n0": "tcpdump -U -w - piped into catrace -r - > file, ordinary processes",
         "tcpdump": "tcpdump -w /dev/null"}
def lab(m):
    return label.get(bm(m), bm(m)) + (" [%s]" % tg(m)[1:] if tg(m) else "")
print("### Live: CA monitor updates over TCP between namespaces\n")
print("cagen (bench/cagen.c) sends EVENT_ADD responses of 24 bytes (16-byte header, DBR_DOUBLE) for "
      "1000 subscribed PVs, %g s per run, at a set rate or as fast as TCP takes them (max); the "
      "tracer is on the sending (IOC) end of the veth pair, so catrace sees the updates in tc "
      "egress. %d passes; in a pass each tracer runs every rate in rising order (catrace stays "
      "attached for the whole pass, tcpdump is restarted per run); median [min-max] over passes. "
      "CPU pinning: generator `%s`, tracer `%s` (catrace and tcpdump get a core of their own); "
      "tracers real-time on their core (`%s`), generator at nice %s: the machine is shared with "
      "other sessions' builds, tests and fuzzers, beside which catrace dropped records at 1M msg/s "
      "as an ordinary process and at nice -10 (the *ordinary process* row runs catrace at nice 0, "
      "SCHED_OTHER, to show that case). `> file`: "
      "catrace's text output to a file on the local disk (ext4), emptied after every run.\n"
      % (secs, reps, pin_gen, pin_tracer, tsched, nice))
print("- throughput: the receiver's count / its time; x untraced: against the same rate with "
      "nothing attached.")
print("- generator CPU: sender + receiver processes (getrusage, user + sys), % of one core. It "
      "includes kernel work done in their context: catrace's tc program on the sender's "
      "transmit path, and softirq work, which this kernel (no IRQ time accounting) charges to "
      "whatever it interrupts; a rough figure.")
print("- tracer CPU: the tracer's scheduler run time (/proc/PID/schedstat) during the traffic, % of "
      "one core; waited: the time it was runnable but had no CPU (schedstat), % of the traffic time "
      "(the machine is shared: other processes ran on the tracer's core too); after: its CPU ms in the 0.5 s after the traffic (a tracer still working through "
      "a backlog); writes/msg: its write() calls (/proc/PID/io syscw) per record delivered.")
print("- tc ns/pkt: catrace's tc egress program's mean run time per packet on this traffic "
      "(kernel BPF statistics run_time_ns/run_cnt, on for the whole section: two clock reads "
      "per run), with the updates per packet in brackets: tc egress runs before GSO "
      "segmentation, so it sees the stack's large TCP packets (up to 64 KB) even with offloads "
      "off, while tcpdump sees wire-sized segments; BPF ns/msg: XDP + tc run time per update "
      "sent.")
print("- drops: catrace: its kernel ring-buffer drop counter over the run (counters map); "
      "tcpdump: \"packets dropped by kernel\" at its exit; not parsed: updates sent (plus the "
      "%d handshake messages) that catrace's programs did not count at all.\n" % HANDSHAKE)
print("- CPU ms/1M msgs: the tracer's CPU per million updates sent, in ms (= ns per update): "
      "BPF (catrace's XDP + tc programs' run time) + process (the tracer's process(es), "
      "schedstat, during the traffic and the 0.5 s after; pipe: tcpdump + catrace -r). Not in it: "
      "the kernel's packet-socket copy for tcpdump (softirq, charged to the generator).\n")
print("| rate target (msg/s) | tracer | throughput (msg/s) | x untraced | generator CPU % | tracer CPU % | waited % | after (ms) | writes/msg | tc ns/pkt (msgs/pkt) | BPF ns/msg | CPU ms/1M msgs (BPF + process) | drops | not parsed |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
best, failed = {}, {}
for rate in sorted(rates, key=lambda r: r if r else float("inf")):
    for mode in modes:
        base = runs.get((rate, "none" + tg(mode)))
        v = runs.get((rate, mode))
        if not v: continue
        thr = [x["thr"] for x in v]
        xr = "%.3f" % (med(thr) / med([b["thr"] for b in base])) if base else "-"
        drops = [x["drop"] for x in v]
        lost = [x["lost"] for x in v]
        unit = " pkts" if bm(mode) in ("tcpdump", "pipe-n0") else ""
        dtxt = "-" if bm(mode) == "none" else ms(drops) + unit
        ltxt = ms(lost) if mode.startswith("catrace") else "-"
        cat = mode.startswith("catrace")
        cpm = [x["cpm_proc"] + x["cpm_bpf"] for x in v]
        cpmtxt = "-" if bm(mode) == "none" else "%s (%.0f + %.0f)" % (
            ms(cpm), med([x["cpm_bpf"] for x in v]), med([x["cpm_proc"] for x in v]))
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            "max" if rate == 0 else "{:,}".format(rate), lab(mode), ms(thr), xr,
            ms([x["gen_cpu"] for x in v]),
            "-" if bm(mode) == "none" else ms([x["tracer"] for x in v]),
            "-" if bm(mode) == "none" else ms([x["qwait"] for x in v]),
            "-" if bm(mode) == "none" else ms([x["after"] for x in v]),
            "%.2f" % med([x["wpm"] for x in v]) if cat else "-",
            (ms([x["tcpkt"] for x in v]) + " (%.0f)" % med([x["mpp"] for x in v])) if cat else "-",
            ms([x["bpfmsg"] for x in v]) if cat else "-",
            cpmtxt, dtxt, ltxt))
        ok = all(d == 0 for d in drops) and all(l <= 0 for l in lost)
        if mode != "none" and rate != 0:
            if ok and not failed.get(mode):
                best[mode] = rate
            elif not ok:
                failed[mode] = True
print()
print("Highest set rate with zero drops in every run at it and at every lower rate (and, for "
      "catrace, every message parsed):")
for mode in modes:
    if bm(mode) == "none": continue
    print("- %s: %s" % (lab(mode),
          "{:,} msg/s".format(best[mode]) if mode in best else "none of the rates tried"))
print()
if passes:
    print("Cross-check, each catrace pass as catrace counted it at exit (records delivered to user "
          "space, drops; a small negative unaccounted figure is the records for the connections' "
          "ends, which catrace counts and the generator does not):")
    for mode in modes:
        for p in passes.get(mode, []):
            if bm(mode) == "catrace-metrics-n0": continue   # -q: no exit summary
            exp = p["sent"] + HANDSHAKE * p["nrates"]
            print("- %s: updates + handshakes sent %d, captured %d, dropped %d, unaccounted %d" % (
                lab(mode), exp, p["cap"], p["drop"], exp - p["cap"] - p["drop"]))
    print()

pipes = [m for m in modes if bm(m) == "pipe-n0"]
if pipes:
    print("Cross-check, tcpdump | catrace -r -: text lines catrace wrote per run against updates + "
          "handshake messages sent (median over passes):")
    for rate, pm in [(r, m) for m in pipes for r in sorted(rates, key=lambda r: r if r else float("inf"))]:
        v = runs.get((rate, pm))
        if v:
            print("- %s, %s: %s lines, %s expected" % (lab(pm), "max" if rate == 0 else "{:,} msg/s".format(rate),
                  "{:,}".format(int(med([x["lines"] for x in v]))),
                  "{:,}".format(int(med([x["sent"] + HANDSHAKE for x in v])))))
    print()

if summary:
    fs = open(summary, "a")
    for mode in modes:
        if bm(mode) == "none": continue
        b = best.get(mode, 0)
        fs.write("live|highest zero-drop rate, %s|%s|||%s|%s\n" % (
            lab(mode), "{:,} msg/s".format(b) if b else "below {:,}".format(
                min(r for r in rates if r)), "zero drops at 1,000,000 msg/s" if mode.startswith("catrace") else "",
            ("met" if b >= 1000000 else "missed") if mode.startswith("catrace") else ""))
    for rate in rates:
        for mode in modes:
            base = runs.get((rate, "none" + tg(mode)))
            if not base or rate not in (0, 1000000): continue
            bt = med([x["thr"] for x in base])
            if bm(mode) == "none" or not runs.get((rate, mode)): continue
            t = med([x["thr"] for x in runs[(rate, mode)]])
            fs.write("live|throughput at %s, %s|%.0f msg/s|untraced %.0f|%.3fx|within 5%% of untraced|%s\n" % (
                "max rate" if rate == 0 else "{:,} msg/s".format(rate), lab(mode), t, bt, t / bt,
                "met" if t >= 0.95 * bt else "missed"))
    fs.close()
PY
