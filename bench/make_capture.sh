#!/usr/bin/env bash
# Record the large real capture the offline decode benchmark reads: a
# softIoc serving 2000 calc records that scan at 10 Hz (every scan changes
# every value, so every scan posts a monitor update), and pyepics
# monitoring all 2000 PVs (DBR_TIME_DOUBLE, pyepics' default form) for
# BENCH_SECONDS seconds; tcpdump on the IOC end of the veth pair (real
# traffic: searches, circuit set-up, beacons, monitor updates).
#
# Usage: bench/make_capture.sh [OUTPUT.pcap]
#   OUTPUT defaults to $BENCH_CAPTURE or /var/cache/catrace/bench/monitor.pcap
#   (kept outside the repository).  Writes OUTPUT.info (key=value) next to it.
# Environment: BENCH_SECONDS (default 60), BENCH_RECORDS (default 2000).
# Exit: 0 done, 1 failed, 77 skipped (no root / no EPICS / no netns).
set -uo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OUT=${1:-${BENCH_CAPTURE:-/var/cache/catrace/bench/monitor.pcap}}
SECS=${BENCH_SECONDS:-60}
NREC=${BENCH_RECORDS:-2000}

# shellcheck source=../tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"
ns_setup

mkdir -p "$(dirname "$OUT")"
DB=$NS_TMP/bench.db
for ((i = 0; i < NREC; i++)); do
	printf 'record(calc, "BENCH:M%04d") {\n  field(SCAN, ".1 second")\n  field(CALC, "A+1")\n  field(INPA, "BENCH:M%04d NPP")\n  field(PREC, "3")\n}\n' "$i" "$i"
done >"$DB"

ns_cleanup_hook() {
	[ -n "${DUMP_PID:-}" ] && kill -INT "$DUMP_PID" 2>/dev/null
	return 0
}

IOC_READY_PV=BENCH:M0000 ioc_start "$DB" || { echo "make_capture: IOC did not start" >&2; exit 1; }

TMP_OUT=$OUT.tmp.$$
ip netns exec "$NS_IOC" tcpdump -i "$VETH_IOC" -s 0 -B 65536 -w "$TMP_OUT" \
	>/dev/null 2>"$NS_TMP/tcpdump.err" &
DUMP_PID=$!
for _ in $(seq 100); do
	grep -q listening "$NS_TMP/tcpdump.err" && break
	sleep 0.1
done

echo "make_capture: pyepics monitoring $NREC PVs for ${SECS}s" >&2
cli_run /usr/bin/python3 - "$NREC" "$SECS" >"$NS_TMP/pyepics.out" 2>&1 <<'PY' || true
import os, sys, time
import epics

nrec, secs = int(sys.argv[1]), float(sys.argv[2])
count = 0

def on_update(**kw):
    global count
    count += 1

pvs = [epics.PV("BENCH:M%04d" % i, callback=on_update, auto_monitor=True)
       for i in range(nrec)]
t0 = time.time()
while time.time() - t0 < 30 and not all(p.connected for p in pvs):
    time.sleep(0.1)
connected = sum(p.connected for p in pvs)
t1 = time.time()
time.sleep(secs)
print("connected=%d updates=%d secs=%.1f connect_secs=%.1f" %
      (connected, count, time.time() - t1, t1 - t0))
sys.stdout.flush()
# Leave at once: disconnecting 2000 channels one by one takes pyepics a
# minute, while the updates keep coming.
os._exit(0)
PY
sleep 0.5
kill -INT "$DUMP_PID"
wait "$DUMP_PID" || true
DUMP_PID=""
cat "$NS_TMP/pyepics.out" >&2
grep -q '^connected=' "$NS_TMP/pyepics.out" || { echo "make_capture: pyepics failed" >&2; rm -f "$TMP_OUT"; exit 1; }
dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$NS_TMP/tcpdump.err")
mv "$TMP_OUT" "$OUT"
{
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "seconds=$SECS"
	echo "records=$NREC"
	echo "scan=0.1"
	echo "tcpdump_dropped=${dropped:-unknown}"
	sed -n 's/^connected=\([0-9]*\) updates=\([0-9]*\).*/pyepics_connected=\1\npyepics_updates=\2/p' "$NS_TMP/pyepics.out"
	echo "bytes=$(stat -c %s "$OUT")"
} >"$OUT.info"
echo "make_capture: wrote $OUT ($(stat -c %s "$OUT") bytes; tcpdump dropped ${dropped:-?})" >&2
