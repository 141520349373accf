#!/bin/bash
# Metrics from capture files (`catrace -r FILE --metrics-file`): for every
# shared capture, promtool accepts the exposition, the message counters
# equal the decoder's own lines, the per-PV search counters equal the
# SEARCH requests per name, the latency histograms count one observation
# per matched reply, and the beacon rules see s09's one IOC restart.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
cd "$(dirname "$0")/.."
CATRACE=${CATRACE:-.output/catrace}
CAPTURES=${CAPTURES:-tests/captures}
PROM="python3 tests/prom.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS: metrics $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: metrics $1${2:+: $2}"; fail=$((fail + 1)); }

have_promtool=1
command -v promtool >/dev/null || { echo "SKIP: promtool not installed (Debian's prometheus package)"; have_promtool=0; }

# The build_info series carries the version --version prints (once it
# said "unknown": the version reached only catrace.o).
: > "$tmp/empty.pcap"
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' > "$tmp/empty.pcap"
version=$("$CATRACE" --version | sed -n 's/^catrace \([^ ]*\).*/\1/p')
if "$CATRACE" -r "$tmp/empty.pcap" -q --no-print --metrics-file "$tmp/v.prom" 2>/dev/null &&
	grep -qF "catrace_build_info{version=\"$version\"," "$tmp/v.prom" && [ "$version" != unknown ]; then
	ok "build_info carries the version ($version)"
else
	bad "build_info carries the version" "--version says '$version', $(grep '^catrace_build_info' "$tmp/v.prom" 2>/dev/null)"
fi

[ -d "$CAPTURES" ] || { echo "SKIP: no captures at $CAPTURES"; exit 77; }
for cap in "$CAPTURES"/*.pcap "$CAPTURES"/external/*.pcap*; do
	[ -f "$cap" ] || continue
	name=$(basename "$cap")
	m=$tmp/$name.prom
	d=$tmp/$name.jsonl
	if ! "$CATRACE" -r "$cap" -q --no-print --metrics-file "$m" 2>"$tmp/err"; then
		bad "$name runs" "$(head -1 "$tmp/err")"
		continue
	fi
	"$CATRACE" -r "$cap" --json -q >"$d" 2>/dev/null
	if [ $have_promtool = 1 ]; then
		if out=$(promtool check metrics <"$m" 2>&1); then ok "$name promtool"
		else bad "$name promtool" "$(echo "$out" | head -2 | tr '\n' ' ')"; fi
	fi
	if out=$($PROM messages "$m" "$d" 2>&1); then ok "$name messages"
	else bad "$name messages" "$(echo "$out" | head -3 | tr '\n' ' ')"; fi
	if out=$($PROM searches "$m" "$d" 2>&1); then ok "$name searches"
	else bad "$name searches" "$(echo "$out" | head -3 | tr '\n' ' ')"; fi
	# Every read and write reply answers a request the capture holds
	# (these captures start before their clients): one observation each.
	for pair in "read_notify READ_NOTIFY" "write_notify WRITE_NOTIFY"; do
		set -- $pair
		obs=$($PROM sum "$m" catrace_request_duration_seconds_count command="$1")
		replies=$($PROM get "$m" "catrace_messages_total{command=\"$2\",direction=\"response\",iface=\"$cap\"}")
		[ "$replies" = none ] && replies=0
		if [ "$obs" = "$replies" ]; then ok "$name $1 latencies"
		else bad "$name $1 latencies" "$obs observations for $replies replies"; fi
	done
done

# s09: an IOC starts, runs 12 s, is killed and started again.
m=$tmp/s09_beacons_repeater.pcap.prom
if [ -f "$m" ]; then
	srv='server="10.201.7.1:5064"'
	for want in "catrace_server_restarts_total{$srv} 1" \
		"catrace_beacon_anomalies_total{$srv,kind=\"appeared\"} 1" \
		"catrace_beacon_anomalies_total{$srv,kind=\"restarted\"} 1" \
		"catrace_beacon_anomalies_total{$srv,kind=\"missed\"} 0"; do
		sel=${want% *}
		got=$($PROM get "$m" "$sel")
		if [ "$got" = "${want##* }" ]; then ok "s09 $sel"
		else bad "s09 $sel" "got $got, want ${want##* }"; fi
	done
	# The beacons the IOC sent (not the repeater's copies).
	sent=$(jq -r 'select(.cmd == 13 and .dir == "request") | .beacon_id' \
		"$tmp/s09_beacons_repeater.pcap.jsonl" | wc -l)
	got=$($PROM get "$m" "catrace_beacons_total{$srv}")
	if [ "$got" = "$sent" ]; then ok "s09 beacons counted ($got)"
	else bad "s09 beacons counted" "metrics $got, decode $sent"; fi
fi

# s02: a PV nobody serves: every search for it is unanswered.
m=$tmp/s02_not_found.pcap.prom
if [ -f "$m" ]; then
	for pv in $(python3 - "$tmp/s02_not_found.pcap.jsonl" <<'PY'
import json, sys
asked = set(); answered_cids = set(); by_cid = {}
for l in open(sys.argv[1]):
    m = json.loads(l)
    if m["cmd"] == 6 and m["dir"] == "request": by_cid[m["p1"]] = m["pv"]
    if m["cmd"] == 6 and m["dir"] == "response": answered_cids.add(m["p2"])
print(" ".join(sorted({pv for cid, pv in by_cid.items() if cid not in answered_cids})))
PY
	); do
		s=$($PROM get "$m" "catrace_searches_total{pv=\"$pv\"}")
		u=$($PROM get "$m" "catrace_searches_unanswered_total{pv=\"$pv\"}")
		if [ "$s" != none ] && [ "$s" = "$u" ] && [ "$s" -gt 0 ]; then ok "s02 $pv unanswered ($u of $s)"
		else bad "s02 $pv unanswered" "searches $s, unanswered $u"; fi
	done
fi

# Bounded labels: with a limit of 3, s01's searched names give 3 series,
# and the total still counts every search the decode shows.
m=$tmp/limit.prom
"$CATRACE" -r "$CAPTURES/s01_caget_types.pcap" -q --no-print --metrics-file "$m" --pv-metrics-limit 3 2>/dev/null
n=$($PROM count "$m" catrace_searches_total)
t=$($PROM get "$m" catrace_search_requests_total)
want=$(jq -r 'select(.cmd == 6 and .dir == "request") | .pv' "$tmp/s01_caget_types.pcap.jsonl" | wc -l)
if [ "$n" = 3 ] && [ "$t" = "$want" ]; then ok "pv limit 3 (3 series, total $t)"
else bad "pv limit 3" "$n series, total $t, decode $want"; fi
# The most searched name (T:ai, searched first and most) survives the churn.
got=$($PROM get "$m" 'catrace_searches_total{pv="T:ai"}')
if [ "$got" != none ]; then ok "pv limit keeps the most searched (T:ai: $got)"
else bad "pv limit keeps the most searched" "T:ai evicted"; fi

# Errors: --metrics needs a live trace; a file that cannot be written.
if "$CATRACE" -r "$CAPTURES/s01_caget_types.pcap" --metrics 9464 >/dev/null 2>"$tmp/err"; then
	bad "--metrics with -r refused" "exit 0"
elif grep -q "live trace" "$tmp/err" && [ "$(wc -l <"$tmp/err")" = 1 ]; then ok "--metrics with -r refused"
else bad "--metrics with -r refused" "$(cat "$tmp/err")"; fi
"$CATRACE" -r "$CAPTURES/s01_caget_types.pcap" -q --no-print --metrics-file /nonexistent/dir/m.prom 2>"$tmp/err"
rc=$?
if [ $rc = 1 ] && grep -q "/nonexistent/dir" "$tmp/err"; then ok "unwritable --metrics-file: exit 1, named"
else bad "unwritable --metrics-file" "rc=$rc $(cat "$tmp/err")"; fi
for badspec in "localhost:x" "1.2.3.4:0" "70000" "[::1]9464"; do
	"$CATRACE" -i lo --metrics "$badspec" >/dev/null 2>"$tmp/err"
	rc=$?
	if [ $rc = 2 ] && grep -q "\-\-metrics" "$tmp/err"; then ok "--metrics '$badspec' refused"
	else bad "--metrics '$badspec' refused" "rc=$rc $(cat "$tmp/err")"; fi
done

echo "metrics: $pass passed, $fail failed"
[ $fail -eq 0 ]
