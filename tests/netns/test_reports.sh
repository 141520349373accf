#!/usr/bin/env bash
# Reports live, end to end, with the real IOC and clients:
#   - pyepics searches 1000 names nobody serves: catrace --summary lists
#     every one of them as never answered, with the number of searches
#     tcpdump saw for it and the client's address;
#   - restarting the IOC gives exactly one `restarted` event (--events);
#   - catrace top --once, live, names the PV a client hammers.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: reports-live $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: reports-live $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: reports-live: $CATRACE not built"; exit 1; }
/usr/bin/python3 -c 'import epics' 2>/dev/null || skip "python3-pyepics not installed"
ns_setup
ns_cleanup_hook() {
	[ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null
	[ -n "${DUMP_PID:-}" ] && kill -KILL "$DUMP_PID" 2>/dev/null
	return 0
}
ioc_start || { echo "FAIL: reports-live: IOC did not start"; exit 1; }

ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -q --no-print --summary --summary-top 5 --events \
	>"$NS_TMP/events" 2>"$NS_TMP/summary" &
CAT_PID=$!
for _ in $(seq 50); do
	ip netns exec "$NS_IOC" ip link show "$VETH_IOC" | grep -q xdp && break
	sleep 0.1
done
ip netns exec "$NS_IOC" tcpdump -i "$VETH_IOC" -U -s 0 -w "$NS_TMP/ref.pcap" \
	>/dev/null 2>"$NS_TMP/tcpdump.err" &
DUMP_PID=$!
for _ in $(seq 50); do grep -q listening "$NS_TMP/tcpdump.err" && break; sleep 0.1; done

cli_run env EPICS_CA_ADDR_LIST=10.201.7.255 EPICS_CA_AUTO_ADDR_LIST=NO \
	timeout 60 /usr/bin/python3 - <<'PY' >"$NS_TMP/py.out" 2>&1
import epics, time
pvs = [epics.PV("MISSING:%04d" % i, auto_monitor=False) for i in range(1000)]
ai = epics.PV("T:ai")
ai.wait_for_connection(5)
for _ in range(50):
    ai.get(use_monitor=False)
time.sleep(3)
PY

# The IOC restarts once.
kill -KILL "$IOC_PID"; wait "$IOC_PID" 2>/dev/null
sleep 1
ioc_start || bad "IOC restarted"
sleep 3
# A top snapshot while a client reads T:long again and again (a second
# tracer: tc on ingress, the first one holds the XDP hook).
# The snapshot's tracer (attached within its first second or two) sees
# caget after caget: each opens its channel, so each read is named.
ip netns exec "$NS_IOC" "$CATRACE" top -i "$VETH_IOC" --no-xdp --once --interval 6 --sort reads \
	>"$NS_TMP/top.out" 2>"$NS_TMP/top.err" &
TOP_PID=$!
# Traffic only once it traces (its "tracing on" line), never after a
# fixed time.
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/top.err" && break; sleep 0.1; done
for _ in $(seq 25); do cli_run env EPICS_CA_ADDR_LIST=10.201.7.255 caget T:long >/dev/null 2>&1; done
wait $TOP_PID
rc=$?
first=$(awk '/^Busiest PVs/ {f=1; next} f && $1 ~ /^[0-9.]+$/ {print $6; exit}' "$NS_TMP/top.out")
if [ $rc = 0 ] && [ "$first" = T:long ]; then ok "top --once live: busiest by reads is T:long"
else bad "top --once live" "rc=$rc first=$first $(head -3 "$NS_TMP/top.err")"; fi

kill -INT "$CAT_PID"
for _ in $(seq 100); do kill -0 "$CAT_PID" 2>/dev/null || break; sleep 0.1; done
wait "$CAT_PID"
rc=$?
CAT_PID=""
kill -INT "$DUMP_PID"; wait "$DUMP_PID" 2>/dev/null; DUMP_PID=""
if [ $rc = 0 ]; then ok "catrace exit 0"; else bad "catrace exit" "$rc"; fi

# Restart: one event.
n=$(grep -c "EVENT beacon restarted server=$IOC_ADDR:5064" "$NS_TMP/events")
if [ "$n" = 1 ]; then ok "one IOC restart, one restarted event"
else bad "one IOC restart, one restarted event" "$n: $(grep EVENT "$NS_TMP/events" | tr '\n' ';')"; fi

# The summary against the capture.
"$CATRACE" -r "$NS_TMP/ref.pcap" --json -q >"$NS_TMP/ref.jsonl" 2>/dev/null
/usr/bin/python3 - "$NS_TMP/ref.jsonl" "$NS_TMP/summary" "$CLI_ADDR" <<'PY'
import collections, json, re, sys
dec, summ, host = sys.argv[1:]
counts = collections.Counter()
for l in open(dec):
    m = json.loads(l)
    if m["cmd"] == 6 and m["dir"] == "request" and (m["pv"] or "").startswith("MISSING:"):
        counts[m["pv"]] += 1
text = open(summ).read()
sec = text.split("PVs searched and never answered:")[1].split("Clients by search rate")[0]
total = int(sec.split("\n")[0])
listed = {}
for line in sec.split("\n")[1:]:
    f = line.split()
    if len(f) == 3 and f[0].isdigit():
        listed[f[1]] = (int(f[0]), f[2])
bad = 0
def check(name, ok, why=""):
    global bad
    print(("PASS: reports-live " if ok else "FAIL: reports-live ") + name + ("" if ok else ": " + why))
    bad += not ok
check("pyepics searched 1000 names (tcpdump)", len(counts) == 1000, "%d names" % len(counts))
missing = [pv for pv in counts if pv not in listed]
check("all 1000 listed as never answered", not missing, "%d missing, e.g. %s" % (len(missing), missing[:3]))
wrong = [pv for pv in counts if pv in listed and listed[pv][0] != counts[pv]]
check("search counts equal the capture", not wrong,
      "; ".join("%s summary %d capture %d" % (pv, listed[pv][0], counts[pv]) for pv in wrong[:3]))
hosts = {h for _, h in listed.values()}
check("requesting host is the client", hosts == {"[%s]" % host}, str(hosts))
check("never-answered total", total == 1000, str(total))
m = re.search(r"^Clients by search rate.*\n.*\n\s+(\d+)\s+[\d.]+\s+\d+\s+(\S+)$", text, re.M)
check("top searching client is the pyepics host", bool(m) and m.group(2) == host, m.group(0) if m else "none")
sys.exit(1 if bad else 0)
PY
pyrc=$?

echo "reports-live: $pass passed, $fail failed (and the summary checks above)"
[ $fail -eq 0 ] && [ $pyrc -eq 0 ]
