#!/usr/bin/env bash
# catrace started in the middle of big transfers (issue 12): a client
# writes a 20,000-element waveform (160,000-byte WRITE requests, extended
# headers) ten times a second while camonitor receives every update
# (160,016-byte EVENT_ADD responses), both on circuits opened long before
# catrace starts.  tcpdump captures the same interface from before the
# start.  Live, catrace must be in sync within one message on both
# circuits: on every flow direction its messages are the messages that
# `catrace -r` finds in tcpdump's capture, from at most the second one
# after catrace started, line for line (at the default copy
# budget: 10 elements shown, the rest of each array skipped in the kernel).
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: midstream $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: midstream $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: midstream: $CATRACE not built"; exit 1; }
ns_setup
ns_cleanup_hook() {
	local p
	for p in ${CAT_PID:-} ${DUMP_PID:-} ${MON_PID:-} ${PUT_PID:-}; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
ioc_start || { echo "FAIL: midstream: IOC did not start"; exit 1; }

# Offloads are off on the veth pair (ns_setup), so tcpdump sees the
# segments the XDP program sees.
ip netns exec "$NS_IOC" tcpdump -i "$VETH_IOC" -U -s 0 -w "$NS_TMP/ref.pcap" \
	>/dev/null 2>"$NS_TMP/tcpdump.err" &
DUMP_PID=$!
for _ in $(seq 50); do grep -q listening "$NS_TMP/tcpdump.err" && break; sleep 0.1; done

cli_run timeout 11 camonitor T:wfdouble >"$NS_TMP/mon.out" 2>&1 &
MON_PID=$!
cli_run /usr/bin/python3 - >"$NS_TMP/put.out" 2>&1 <<'PY' &
import epics, time
pv = epics.PV("T:wfdouble")
pv.wait_for_connection(5)
vals = [float(i) for i in range(20000)]
t0 = time.time()
i = 0
while time.time() - t0 < 9:
    vals[0] = float(i)
    pv.put(vals, wait=False)
    i += 1
    time.sleep(0.1)
print("puts", i)
PY
PUT_PID=$!
# Both circuits carry big arrays for a while before catrace starts.
sleep 2
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -t --no-proc >"$NS_TMP/live.txt" 2>"$NS_TMP/live.err" &
CAT_PID=$!
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/live.err" && break; sleep 0.1; done
grep -q "^tracing on" "$NS_TMP/live.err" || { echo "FAIL: midstream: catrace did not attach: $(cat "$NS_TMP/live.err")"; exit 1; }
sleep 4
kill -INT "$CAT_PID"; wait "$CAT_PID"; rc=$?; CAT_PID=""
sleep 0.5
kill -INT "$DUMP_PID"; wait "$DUMP_PID"; DUMP_PID=""
wait "$PUT_PID"; PUT_PID=""
wait "$MON_PID" 2>/dev/null; MON_PID=""

[ "$rc" -eq 0 ] && ok "catrace exit 0" || bad "catrace exit 0" "exit $rc: $(tail -3 "$NS_TMP/live.err")"
"$CATRACE" -q -r "$NS_TMP/ref.pcap" --no-detect -t >"$NS_TMP/offline.txt"
nw=$(grep -c "WriteRequest(.*data_type=DOUBLE, data_count=20000" "$NS_TMP/live.txt")
ne=$(grep -c "EventAddResponse(.*data_type=TIME_DOUBLE, data_count=20000" "$NS_TMP/live.txt")
# Four seconds at 10 Hz: about 40 of each.
[ "$nw" -ge 25 ] && ok "160,000-byte writes traced live ($nw)" || bad "160,000-byte writes traced live" "$nw lines"
[ "$ne" -ge 25 ] && ok "160,016-byte monitor updates traced live ($ne)" || bad "160,016-byte monitor updates traced live" "$ne lines"
if grep -q "(cut: " "$NS_TMP/live.txt"; then
	bad "the default budget shows 10 elements whole" "$(grep -m1 '(cut: ' "$NS_TMP/live.txt")"
else
	ok "the default budget shows 10 elements whole"
fi
# Per flow direction, the live lines are a run of the offline lines (tcpdump
# started before catrace and stopped after it), from at most the second
# message on: nothing missed, nothing invented, nothing reordered.
if python3 - "$NS_TMP/live.txt" "$NS_TMP/offline.txt" >"$NS_TMP/cmp.txt" <<'PY'
import re
import sys
from collections import OrderedDict

def flows(path):
    out = OrderedDict()
    for line in open(path, encoding="utf-8", errors="replace"):
        # The channels were created before catrace started: live cannot
        # know their names (offline saw the CREATE_CHAN), and says so
        # (pv=?): names are left out of this comparison.
        line = re.sub(r"pv=('[^']*'|\?), ", "", line.rstrip("\n"))
        if line and " Beacon(" not in line:
            flow, _, rest = line.partition(" ")
            out.setdefault(flow, []).append(rest)
    return out

live, off = flows(sys.argv[1]), flows(sys.argv[2])
bad = 0
for flow, a in live.items():
    b = off.get(flow, [])
    # Where the live lines start in the offline ones: the first line that
    # is itself a resynchronised message (flagged as such live) may differ.
    start = next((i for i in range(len(b)) if b[i:i + len(a) - 1] == a[1:]), None)
    if start is None:
        bad += 1
        print("%s: live %d lines are not a run of the offline %d" % (flow, len(a), len(b)))
        for i in range(min(len(a), 3)):
            print("  live:", a[i][:200])
print("%d flow directions, %d lines" % (len(live), sum(len(v) for v in live.values())))
sys.exit(1 if bad else 0)
PY
then
	ok "in sync within one message on every flow direction ($(tail -1 "$NS_TMP/cmp.txt"))"
else
	bad "in sync within one message on every flow direction" "$(head -8 "$NS_TMP/cmp.txt" | tr '\n' '|')"
fi
echo "midstream: $pass passed, $fail failed"
[ $fail -eq 0 ]
