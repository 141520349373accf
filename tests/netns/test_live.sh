#!/usr/bin/env bash
# catrace live, end to end: catrace attached (XDP ingress + tc egress) to
# the IOC side of a veth pair, real IOCs and real clients, and tcpdump
# capturing the same interface at the same time.  Checks that the
# expected messages appear with PV names and values, that nothing was
# dropped, and that the live output equals `catrace -r` of tcpdump's
# capture message for message on every flow direction (DESIGN invariant 2).
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: live $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: live $1${2:+: $2}"; fail=$((fail + 1)); }
need() {  # need NAME REGEX: a line of the live output matches
	if grep -qE -- "$2" "$LIVE"; then ok "$1"; else bad "$1" "no line matches /$2/"; fi
}

[ -x "$CATRACE" ] || { echo "FAIL: live: $CATRACE not built"; exit 1; }
ns_setup
LIVE=$NS_TMP/live.txt
# -t: no time stamps, so live and offline lines can be compared whole;
# the default copy budget (what the shown elements need); --no-proc:
# offline lines never name a process.
LIVE_OPTS=(-t --no-proc)

ns_cleanup_hook() {
	[ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null
	[ -n "${DUMP_PID:-}" ] && kill -KILL "$DUMP_PID" 2>/dev/null
	return 0
}

ioc_start || { echo "FAIL: live: IOC did not start"; exit 1; }
# The second IOC: its TCP port is not 5064 (the first IOC holds that).
ip netns exec "$NS_IOC" env EPICS_CAS_AUTO_BEACON_ADDR_LIST=NO \
	EPICS_CAS_BEACON_ADDR_LIST="$CLI_ADDR" EPICS_CA_AUTO_ADDR_LIST=NO \
	EPICS_CA_ADDR_LIST="" "$EPICS_BIN/softIoc" -S -d "$ROOT/tests/netns/records2.db" \
	</dev/null >>"$NS_TMP/ioc2.log" 2>&1 &
_NS_BG_PIDS+=("$!")

ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" "${LIVE_OPTS[@]}" >"$LIVE" 2>"$NS_TMP/live.err" &
CAT_PID=$!
# Attached when the interface shows an XDP program.
for _ in $(seq 50); do
	ip netns exec "$NS_IOC" ip link show "$VETH_IOC" | grep -q xdp && break
	sleep 0.1
done
ip netns exec "$NS_IOC" tcpdump -i "$VETH_IOC" -U -s 0 -w "$NS_TMP/ref.pcap" \
	>/dev/null 2>"$NS_TMP/tcpdump.err" &
DUMP_PID=$!
for _ in $(seq 50); do
	grep -q listening "$NS_TMP/tcpdump.err" && break
	sleep 0.1
done

# The scenarios of the issue.  Two IOCs share UDP 5064 on one host, and a
# unicast search reaches only one of them: clients search the subnet
# broadcast address, as at a site where servers share a host.
cli() { cli_run env EPICS_CA_ADDR_LIST=10.201.7.255 "$@"; }
cli caget T:ai T:long T:str T:mbbi T:longout >/dev/null
cli caget -d DBR_CTRL_DOUBLE T:ai >/dev/null
# Every DBR type a client can read (PUT_ACKT/PUT_ACKS are write-only), of
# a number, an enum and a string, and an array of eight strings.
for t in $(seq 0 34) 37 38; do
	cli caget -d "$t" T:ai T:mbbi T:str T:wfstring >/dev/null 2>&1
done
# Channel-filter names of 149 bytes that differ only at the end.
LONG1="T:ai.{\"dbnd\":{\"abs\":$(printf '0%.0s' $(seq 126))1}}"
LONG2="T:ai.{\"dbnd\":{\"abs\":$(printf '0%.0s' $(seq 126))2}}"
cli caget "$LONG1" "$LONG2" >/dev/null 2>&1
cli caput -a T:wfdouble 5 1 2 3 4 5 >/dev/null
cli caget -# 5 T:wfdouble >/dev/null
cli caput T:ao 4.5 >/dev/null
cli caput -c -w 2 T:ao 5.5 >/dev/null
cli timeout 3 camonitor T:calc >/dev/null
cli caget -w 1 NO:SUCH:PV >/dev/null 2>&1
cli caget B:ai B:str >/dev/null
cli caput B:ai 1.25 >/dev/null
# pyepics with a few hundred channels: every field of a few records.
cli timeout 60 /usr/bin/python3 - <<'PY' >"$NS_TMP/pyepics.out" 2>&1
import epics
# dbCommon fields every record has and CA can read: 32 x 10 = 320 channels,
# connected in one batch as a pyepics application would.
fields = ["NAME", "DESC", "ASG", "SCAN", "PINI", "PHAS", "EVNT", "TSE", "TSEL",
          "DTYP", "DISV", "DISA", "SDIS", "DISP", "PROC", "STAT", "SEVR", "NSTA",
          "NSEV", "ACKS", "ACKT", "DISS", "LCNT", "PACT", "PUTF", "RPRO", "PRIO",
          "TPRO", "BKPT", "UDF", "UDFS", "FLNK"]
records = ["T:ai", "T:ao", "T:calc", "T:long", "T:longout", "T:strin", "T:str",
           "T:bi", "T:bo", "T:mbbi"]
names = ["%s.%s" % (r, f) for r in records for f in fields]
vals = epics.caget_many(names, timeout=10)
print(sum(v is not None for v in vals), "of", len(names))
PY
sleep 1

# tcpdump stops first, so that everything it has, catrace has too.
kill -INT "$DUMP_PID"; wait "$DUMP_PID"; DUMP_PID=""
kill -INT "$CAT_PID"
wait "$CAT_PID"; rc_live=$?
CAT_PID=""

[ $rc_live -eq 0 ] && ok "exit status after SIGINT" || bad "exit status after SIGINT" "$rc_live"
if grep -qE '^[0-9]+ CA messages captured, 0 dropped by kernel' "$NS_TMP/live.err"; then
	ok "no drops ($(head -1 "$NS_TMP/live.err"))"
else
	bad "no drops" "$(cat "$NS_TMP/live.err")"
fi
need "caget double with value" "ReadNotifyResponse\(pv='T:ai', .*data=\[3\.14159\].*ECA_NORMAL"
need "caget long" "ReadNotifyResponse\(pv='T:long', .*data=\[123456\]"
need "caget string" "ReadNotifyResponse\(pv='T:str', .*data=\['catrace'\]"
need "caget signed" "ReadNotifyResponse\(pv='T:longout', .*data=\[-42\]"
need "ctrl metadata" "ReadNotifyResponse\(pv='T:ai', .*units='mm'.*data_type=CTRL_DOUBLE"
need "waveform" "ReadNotifyResponse\(pv='T:wfdouble', .*data_count=5"
need "caput plain write" "WriteRequest\(pv='T:ao', data=\['4\.5'\]"
need "caput -c" "WriteNotifyResponse\(pv='T:ao', .*status=ECA_NORMAL"
need "monitor updates" "EventAddResponse\(pv='T:calc', .*data=\["
need "search for a missing PV" "SearchRequest\(pv='NO:SUCH:PV'"
need "CTRL_ENUM value and strings" "ReadNotifyResponse\(pv='T:mbbi', .*strings=.*data=\[.*data_type=CTRL_ENUM"
need "GR_ENUM value and strings" "ReadNotifyResponse\(pv='T:mbbi', .*strings=.*data=\[.*data_type=GR_ENUM"
need "string array whole" "ReadNotifyResponse\(pv='T:wfstring', .*'hotel'\]"
if grep -q "(cut: " "$LIVE"; then bad "no value cut by the default budget" "$(grep -m1 '(cut: ' "$LIVE")"; else ok "no value cut by the default budget"; fi
n1=$(grep -cF "CreateChanRequest(pv='$LONG1'" "$LIVE")
n2=$(grep -cF "CreateChanRequest(pv='$LONG2'" "$LIVE")
[ "$n1" -ge 1 ] && [ "$n2" -ge 1 ] && [ ${#LONG1} -eq 149 ] && ok "149-byte names complete and distinct" ||
	bad "149-byte names complete and distinct" "${#LONG1}-byte names: $n1 and $n2 lines"
if grep -q "SearchResponse(pv='NO:SUCH:PV'" "$LIVE"; then bad "missing PV unanswered" "a reply appeared"; else ok "missing PV unanswered"; fi
need "second IOC, learned port" "10\.201\.7\.1:[0-9]+->10\.201\.7\.2:[0-9]+ ReadNotifyResponse\(pv='B:ai', .*data=\[2\.718\]"
if grep -qE "10\.201\.7\.1:5064->.*ReadNotifyResponse\(pv='B:ai'" "$LIVE"; then
	bad "second IOC off 5064" "B:ai answered from 5064"
else
	ok "second IOC off 5064"
fi
n_py=$(grep -c "CreateChanRequest(pv='T:[a-z]*\.[A-Z]*'" "$LIVE")
[ "$n_py" -ge 300 ] && ok "pyepics channels named ($n_py)" || bad "pyepics channels named" "$n_py CREATE_CHAN with field names; pyepics: $(cat "$NS_TMP/pyepics.out")"

# Live == offline decode of tcpdump's capture of the same interface.
# Beacons are left out: they come on their own schedule, and the two
# captures do not start and stop at the same instant.
"$CATRACE" -q -r "$NS_TMP/ref.pcap" --no-detect -t >"$NS_TMP/offline.txt"
grep -v ' Beacon(' "$LIVE" >"$NS_TMP/live-cmp.txt"
grep -v ' Beacon(' "$NS_TMP/offline.txt" >"$NS_TMP/offline-cmp.txt"
if python3 "$ROOT/tests/netns/compare_flows.py" "$NS_TMP/live-cmp.txt" "$NS_TMP/offline-cmp.txt" >"$NS_TMP/cmp.txt"; then
	ok "live equals offline ($(cat "$NS_TMP/cmp.txt"))"
else
	bad "live equals offline" "$(head -12 "$NS_TMP/cmp.txt")"
fi
# Nothing left attached once catrace is gone.
if ip netns exec "$NS_IOC" ip link show "$VETH_IOC" | grep -q xdp; then
	bad "XDP detached at exit"
else
	ok "XDP detached at exit"
fi
if ip netns exec "$NS_IOC" bpftool net show dev "$VETH_IOC" 2>/dev/null | grep -q catrace; then
	bad "tc detached at exit" "$(ip netns exec "$NS_IOC" bpftool net show dev "$VETH_IOC")"
else
	ok "tc detached at exit"
fi

# Keep what a failure needs for a post-mortem (NS_TMP goes at teardown).
ART="$ROOT/${OUTPUT:-.output}/netns-live"
rm -rf "$ART" && mkdir -p "$ART" && cp "$NS_TMP"/*.txt "$NS_TMP"/*.pcap "$NS_TMP"/*.err "$ART"/ 2>/dev/null

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
