#!/usr/bin/env bash
# Metrics live, end to end: catrace traces the IOC side of the veth with
# --metrics, --metrics-file and --pin while real clients run a known
# scenario (caget, caput -c, camonitor, a missing PV, a search storm of
# 2000 missing names, an IOC restart).  Checks, against what was sent and
# against tcpdump's capture of the same interface decoded by catrace -r:
#   - /metrics (curl), the file and `catrace stats` pass `promtool check`;
#   - every catrace_messages_total{command,direction} equals the decoded
#     capture (beacons aside: they also cross the moment tcpdump starts);
#   - the kernel counters seen by `catrace stats` equal those of /metrics;
#   - searches per PV, unanswered searches, open circuits and channels,
#     monitor updates, latency observations, one restart for one restart;
#   - the pv label set stays within --pv-metrics-limit in the storm;
#   - 404 for other paths, 405 for POST; stats fails clearly when no
#     catrace runs, or when the one that pinned was killed.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
PROM="python3 $ROOT/tests/prom.py"
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: metrics-live $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: metrics-live $1${2:+: $2}"; fail=$((fail + 1)); }
expect() {  # expect NAME GOT WANT
	if [ "$2" = "$3" ]; then ok "$1 ($2)"; else bad "$1" "got $2, want $3"; fi
}

[ -x "$CATRACE" ] || { echo "FAIL: metrics-live: $CATRACE not built"; exit 1; }
command -v curl >/dev/null || skip "curl not installed"
command -v promtool >/dev/null || skip "promtool not installed (Debian's prometheus package)"
ns_setup
# `ip netns exec` gives each command a mount namespace of its own with a
# fresh /sys: a bpffs mounted here first is the one both sides see.
BPFFS=$NS_TMP/bpffs
mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS" || skip "cannot mount bpffs at $BPFFS"
PIN=$BPFFS/catrace
PORT=9464
URL=http://127.0.0.1:$PORT/metrics
LIMIT=100

ns_cleanup_hook() {
	[ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null
	[ -n "${DUMP_PID:-}" ] && kill -KILL "$DUMP_PID" 2>/dev/null
	umount "$BPFFS" 2>/dev/null
	return 0
}
in_ioc() { ip netns exec "$NS_IOC" "$@"; }
scrape() { in_ioc curl -sf "$URL" >"$1"; }
promcheck() {  # promcheck NAME FILE
	local out
	if out=$(promtool check metrics <"$2" 2>&1); then ok "$1 passes promtool"
	else bad "$1 passes promtool" "$(echo "$out" | head -3 | tr '\n' ' ')"; fi
}
metric() { $PROM get "$1" "$2"; }

ioc_start || { echo "FAIL: metrics-live: IOC did not start"; exit 1; }

# Before any catrace: stats says so.
"$CATRACE" stats --pin "$PIN" >"$NS_TMP/stats0" 2>"$NS_TMP/stats0.err"
rc=$?
if [ $rc = 1 ] && grep -q "no catrace is running" "$NS_TMP/stats0.err"; then ok "stats without a tracer: exit 1, says so"
else bad "stats without a tracer" "rc=$rc $(cat "$NS_TMP/stats0.err")"; fi

ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -q --no-print --metrics 127.0.0.1:$PORT --pin "$PIN" \
	--metrics-file "$NS_TMP/file.prom" --interval 1 --pv-metrics-limit $LIMIT \
	>"$NS_TMP/cat.out" 2>"$NS_TMP/cat.err" &
CAT_PID=$!
for _ in $(seq 100); do
	in_ioc curl -sf -o /dev/null "$URL" && break
	sleep 0.1
done
in_ioc curl -sf -o /dev/null "$URL" || { bad "serves /metrics" "$(cat "$NS_TMP/cat.err")"; exit 1; }
ip netns exec "$NS_IOC" tcpdump -i "$VETH_IOC" -U -s 0 -w "$NS_TMP/ref.pcap" >/dev/null 2>"$NS_TMP/tcpdump.err" &
DUMP_PID=$!
for _ in $(seq 50); do
	grep -q listening "$NS_TMP/tcpdump.err" && break
	sleep 0.1
done

cli() { cli_run env EPICS_CA_ADDR_LIST=10.201.7.255 "$@"; }
N_GET=3 N_PUT=2
for _ in $(seq $N_GET); do cli caget T:ai >/dev/null; done
for i in $(seq $N_PUT); do cli caput -c -w 2 T:ao $i.5 >/dev/null; done
cli caget -w 1 NO:SUCH:PV >/dev/null 2>&1
# A monitor that is still open while we look.
cli_run env EPICS_CA_ADDR_LIST=10.201.7.255 timeout 6 camonitor T:calc >"$NS_TMP/camon.out" &
MON_PID=$!
sleep 3
scrape "$NS_TMP/during.prom"
srv="server=\"$IOC_ADDR:5064\""
expect "circuits open during the monitor" "$(metric "$NS_TMP/during.prom" "catrace_clients{$srv}")" 1
expect "channels open during the monitor" "$(metric "$NS_TMP/during.prom" "catrace_channels{$srv}")" 1
wait $MON_PID
updates=$(grep -c "T:calc" "$NS_TMP/camon.out")

# A search storm: 2000 missing names, one SEARCH each, in datagrams of 20.
cli /usr/bin/python3 - <<'PY'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
def search(cid, name):
    b = name.encode() + b"\0"
    b += b"\0" * (-len(b) % 8)
    return struct.pack(">HHHHII", 6, len(b), 5, 13, cid, cid) + b
for start in range(0, 2000, 20):
    dgram = struct.pack(">HHHHII", 0, 0, 1, 13, 0, 0)
    dgram += b"".join(search(100000 + i, "STORM:%04d" % i) for i in range(start, start + 20))
    s.sendto(dgram, ("10.201.7.255", 5064))
PY

# Searches are unanswered 5 s after the last request; the sweep runs each
# second.  Then everything sent has been counted.
sleep 7
scrape "$NS_TMP/after.prom"
"$CATRACE" stats --pin "$PIN" --prom >"$NS_TMP/stats.prom" 2>"$NS_TMP/stats.err"
rc=$?
expect "stats exit code" $rc 0
# Without --prom: a table for a person, with the same counts.
"$CATRACE" stats --pin "$PIN" >"$NS_TMP/stats.txt" 2>&1
srch=$(awk '$1 == "SEARCH" {print $2}' "$NS_TMP/stats.txt")
want=$(grep -F "catrace_messages_total{command=\"SEARCH\",direction=\"request\"" "$NS_TMP/stats.prom" | awk '{print $2}')
if grep -q "^catrace pid [0-9]* on $VETH_IOC (pins in $PIN)$" "$NS_TMP/stats.txt" &&
	grep -q "^packets seen [0-9]*, CA [0-9]*; CA messages dropped 0 " "$NS_TMP/stats.txt" &&
	[ -n "$srch" ] && [ "$srch" = "$want" ]; then
	ok "stats: a table by default (SEARCH requests $srch, as --prom says)"
else
	bad "stats: a table by default" "SEARCH $srch vs $want: $(head -5 "$NS_TMP/stats.txt" | tr '\n' '|')"
fi
scrape "$NS_TMP/after2.prom"
sleep 1.5
cp "$NS_TMP/file.prom" "$NS_TMP/file-copy.prom" 2>/dev/null
[ -n "${METRICS_SAMPLE:-}" ] && cp "$NS_TMP/after.prom" "$METRICS_SAMPLE"
promcheck "/metrics" "$NS_TMP/after.prom"
promcheck "catrace stats" "$NS_TMP/stats.prom"
promcheck "--metrics-file" "$NS_TMP/file-copy.prom"

# The capture, decoded by the same decoder.
kill -INT $DUMP_PID; wait $DUMP_PID 2>/dev/null; DUMP_PID=""
"$CATRACE" -r "$NS_TMP/ref.pcap" --json -q >"$NS_TMP/ref.jsonl" 2>/dev/null
if out=$($PROM messages "$NS_TMP/after.prom" "$NS_TMP/ref.jsonl" --skip RSRV_IS_UP 2>&1); then
	ok "messages by command equal the capture: $(echo "$out" | tail -1)"
else
	bad "messages by command equal the capture" "$(echo "$out" | head -4 | tr '\n' ' ')"
fi
if out=$($PROM searches "$NS_TMP/after.prom" "$NS_TMP/ref.jsonl" 2>&1); then
	ok "per-PV searches equal the capture: $(echo "$out" | tail -1)"
else
	bad "per-PV searches equal the capture" "$(echo "$out" | head -4 | tr '\n' ' ')"
fi

# What the clients did.
m=$NS_TMP/after.prom
cmd() { metric "$m" "catrace_messages_total{command=\"$1\",direction=\"$2\",iface=\"$VETH_IOC\"}"; }
expect "WRITE_NOTIFY requests = caput -c count" "$(cmd WRITE_NOTIFY request)" $N_PUT
expect "CREATE_CHAN requests = channels the clients made" "$(cmd CREATE_CHAN request)" $((N_GET + N_PUT + 1))
# camonitor prints the first value and every update: each an EVENT_ADD
# response (the monitor was not cancelled: killed by timeout).  One more
# may have been on its way when timeout killed it (the exact count is
# the capture's, compared above).
ev=$(cmd EVENT_ADD response)
if [ "$ev" -ge "$updates" ] && [ "$ev" -le $((updates + 1)) ]; then ok "EVENT_ADD responses = camonitor lines ($ev for $updates lines)"
else bad "EVENT_ADD responses = camonitor lines" "$ev for $updates lines"; fi
expect "monitor updates per server = EVENT_ADD responses" "$(metric "$m" "catrace_monitor_updates_total{$srv}")" "$ev"
expect "circuits closed at the end" "$(metric "$m" "catrace_clients{$srv}")" 0
expect "channels closed at the end" "$(metric "$m" "catrace_channels{$srv}")" 0
reads=$(cmd READ_NOTIFY response)
expect "read latency observations = READ_NOTIFY replies" \
	"$($PROM sum "$m" catrace_request_duration_seconds_count command=read_notify)" "$reads"
expect "write latency observations = WRITE_NOTIFY replies" \
	"$($PROM sum "$m" catrace_request_duration_seconds_count command=write_notify)" $N_PUT
expect "create latency observations" \
	"$($PROM sum "$m" catrace_request_duration_seconds_count command=create_chan)" $((N_GET + N_PUT + 1))
nosuch=$(metric "$m" 'catrace_searches_total{pv="NO:SUCH:PV"}')
[ "$nosuch" = none ] && nosuch=0
expect "missing PV: every search unanswered" \
	"$(metric "$m" 'catrace_searches_unanswered_total{pv="NO:SUCH:PV"}')" "$nosuch"
storm_unanswered=$(( $(metric "$m" catrace_search_requests_unanswered_total) ))
if [ "$storm_unanswered" -ge $((2000 + nosuch)) ]; then ok "storm searches unanswered ($storm_unanswered)"
else bad "storm searches unanswered" "$storm_unanswered < $((2000 + nosuch))"; fi
expect "pv label set bounded by --pv-metrics-limit" "$($PROM count "$m" catrace_searches_total)" $LIMIT
# T:ai was searched at least once per caget, each storm name once: T:ai
# keeps its series (its count equals the capture's: compared above).
tai=$(metric "$m" 'catrace_searches_total{pv="T:ai"}')
if [ "$tai" != none ] && [ "$tai" -ge $N_GET ]; then ok "the most searched PV keeps its series ($tai)"
else bad "the most searched PV keeps its series" "$tai"; fi
expect "ring buffer drops" "$(metric "$m" "catrace_ringbuf_dropped_total{iface=\"$VETH_IOC\"}")" 0

# `catrace stats` reads the same kernel counters (no CA traffic between
# the two scrapes around it but beacons).
diffs=0
for c in SEARCH CREATE_CHAN READ_NOTIFY WRITE_NOTIFY EVENT_ADD; do
	for d in request response; do
		a=$(metric "$NS_TMP/stats.prom" "catrace_messages_total{command=\"$c\",direction=\"$d\",iface=\"$VETH_IOC\"}")
		b=$(metric "$NS_TMP/after2.prom" "catrace_messages_total{command=\"$c\",direction=\"$d\",iface=\"$VETH_IOC\"}")
		[ "$a" = "$b" ] || { diffs=$((diffs + 1)); echo "stats $c/$d: $a vs /metrics $b"; }
	done
done
expect "catrace stats equals /metrics (kernel counters)" $diffs 0
expect "file has the same families as /metrics" \
	"$(grep -c '^# TYPE' "$NS_TMP/file-copy.prom")" "$(grep -c '^# TYPE' "$NS_TMP/after.prom")"

# The Grafana dashboard asks only for families catrace exports.
missing=""
for name in $(jq -r '.panels[].targets[].expr' "$ROOT/contrib/grafana/catrace-dashboard.json" |
	grep -oE 'catrace_[a-z_]+' | sed 's/_bucket$//' | sort -u); do
	grep -q "^# TYPE $name " "$m" || missing="$missing $name"
done
expect "dashboard metrics all exported" "${missing:-none}" none

# HTTP: only /metrics, only GET/HEAD.
code=$(in_ioc curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/other")
expect "other path: 404" "$code" 404
code=$(in_ioc curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$URL")
expect "POST: 405" "$code" 405
ctype=$(in_ioc curl -s -o /dev/null -w '%{content_type}' "$URL")
expect "content type" "$ctype" "text/plain; version=0.0.4; charset=utf-8"

# An IOC restart: exactly one restart for that server.
before=$(metric "$m" "catrace_server_restarts_total{$srv}")
kill -KILL "$IOC_PID"; wait "$IOC_PID" 2>/dev/null
sleep 1
ioc_start || bad "IOC restarted"
sleep 4
scrape "$NS_TMP/restart.prom"
after=$(metric "$NS_TMP/restart.prom" "catrace_server_restarts_total{$srv}")
expect "one IOC restart, one restart counted" "$((after - before))" 1

# Stop: exit 0, pins gone, the file still there; stats then says so.
kill -INT $CAT_PID
for _ in $(seq 100); do kill -0 $CAT_PID 2>/dev/null || break; sleep 0.1; done
wait $CAT_PID
rc=$?
CAT_PID=""
expect "catrace exit code after SIGINT" $rc 0
if [ ! -e "$PIN/counters" ]; then ok "pins removed at exit"; else bad "pins removed at exit"; fi
promcheck "final --metrics-file" "$NS_TMP/file.prom"
"$CATRACE" stats --pin "$PIN" >/dev/null 2>"$NS_TMP/stats2.err"
rc=$?
if [ $rc = 1 ] && grep -q "no catrace is running" "$NS_TMP/stats2.err"; then ok "stats after exit: exit 1, says so"
else bad "stats after exit" "rc=$rc $(cat "$NS_TMP/stats2.err")"; fi

# Killed: the pins stay behind; stats names the dead owner, and the next
# catrace takes the directory over.
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -q --no-print --pin "$PIN" >/dev/null 2>&1 &
CAT_PID=$!
for _ in $(seq 100); do [ -e "$PIN/meta" ] && break; sleep 0.1; done
if "$CATRACE" stats --pin "$PIN" >/dev/null 2>&1; then ok "stats while a --pin-only tracer runs"
else bad "stats while a --pin-only tracer runs"; fi
kill -KILL $CAT_PID; wait $CAT_PID 2>/dev/null
"$CATRACE" stats --pin "$PIN" >/dev/null 2>"$NS_TMP/stats3.err"
rc=$?
if [ $rc = 1 ] && grep -q "no longer running" "$NS_TMP/stats3.err"; then ok "stats after SIGKILL: stale pins named"
else bad "stats after SIGKILL" "rc=$rc $(cat "$NS_TMP/stats3.err")"; fi
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -q --no-print --pin "$PIN" >/dev/null 2>"$NS_TMP/cat3.err" &
CAT_PID=$!
for _ in $(seq 100); do "$CATRACE" stats --pin "$PIN" >/dev/null 2>&1 && break; sleep 0.1; done
if "$CATRACE" stats --pin "$PIN" >/dev/null 2>&1; then ok "a new tracer takes stale pins over"
else bad "a new tracer takes stale pins over" "$(cat "$NS_TMP/cat3.err")"; fi
kill -INT $CAT_PID; wait $CAT_PID 2>/dev/null
CAT_PID=""

echo "metrics-live: $pass passed, $fail failed"
[ $fail -eq 0 ]
