#!/bin/bash
# Reports from capture files: --summary (most searched PVs with counts,
# rates and hosts; PVs never answered; clients by search rate; the
# caSnooper rules) and --events (beacon events), checked against what
# the decoded messages themselves say.  Also SIGUSR1 mid-input.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
cd "$(dirname "$0")/.."
CATRACE=${CATRACE:-.output/catrace}
CAPTURES=${CAPTURES:-tests/captures}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${CPID:-}" ] && kill "$CPID" 2>/dev/null' EXIT
pass=0 fail=0
ok() { echo "PASS: reports $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: reports $1${2:+: $2}"; fail=$((fail + 1)); }
[ -d "$CAPTURES" ] || { echo "SKIP: no captures at $CAPTURES"; exit 77; }

# Expected summary facts from the decode: searches per PV, the PVs whose
# every search went unanswered, the hosts that searched each.
expect_py='
import json, sys, collections
searches = collections.Counter(); hosts = collections.defaultdict(set)
asked = {}; answered = set()
for l in open(sys.argv[1]):
    m = json.loads(l)
    if m["cmd"] != 6: continue
    if m["dir"] == "request":
        searches[m["pv"]] += 1; hosts[m["pv"]].add(m["src"])
        asked.setdefault(m["pv"], set()).add((m["src"], m["sport"], m["p1"]))
    else:
        answered.add((m["dst"], m["dport"], m["p2"]))
never = sorted(pv for pv, keys in asked.items() if not keys & answered)
for pv, n in searches.items():
    print("S", n, pv, ",".join(sorted(hosts[pv])))
for pv in never:
    print("N", searches[pv], pv)
'
for cap in s01_caget_types s02_not_found s06_two_iocs s08_pyepics_many s09_beacons_repeater; do
	f=$CAPTURES/$cap.pcap
	[ -f "$f" ] || continue
	"$CATRACE" -r "$f" --json -q >"$tmp/$cap.jsonl" 2>/dev/null
	"$CATRACE" -r "$f" -q --no-print --summary --summary-top 100000 >"$tmp/$cap.out" 2>"$tmp/$cap.sum"
	python3 -c "$expect_py" "$tmp/$cap.jsonl" >"$tmp/$cap.expect"
	if [ -s "$tmp/$cap.out" ]; then bad "$cap: --no-print --summary prints no message lines" "$(head -1 "$tmp/$cap.out")"
	else ok "$cap: --no-print --summary prints no message lines"; fi
	miss=0
	while read -r kind n pv hosts; do
		if [ "$kind" = S ]; then
			grep -qE "^ +$n +[0-9.]+ +[0-9]+  $(printf '%s' "$pv" | sed 's/[.[\*^$]/\\&/g')  \[$hosts\]$" "$tmp/$cap.sum" ||
				{ miss=$((miss + 1)); echo "missing top line: $n $pv [$hosts]"; }
		fi
	done <"$tmp/$cap.expect"
	if [ $miss = 0 ]; then ok "$cap: every searched PV with its count and hosts"
	else bad "$cap: every searched PV with its count and hosts" "$miss missing"; fi
	want=$(grep -c '^N ' "$tmp/$cap.expect")
	got=$(sed -n 's/^PVs searched and never answered: \([0-9]*\)$/\1/p' "$tmp/$cap.sum")
	if [ "$got" = "$want" ]; then ok "$cap: never-answered PVs ($got)"
	else bad "$cap: never-answered PVs" "summary $got, decode $want"; fi
done

# s02: the two missing PVs, in order of searches.
sum=$tmp/s02_not_found.sum
if [ -f "$sum" ]; then
	got=$(awk '/^PVs searched and never answered/ {f=1; next} /^Clients/ {f=0} f && $1 ~ /^[0-9]+$/ {print $1, $2}' "$sum" | tr '\n' ';')
	if [ "$got" = "6 NO:SUCH:PV;5 ALSO:MISSING;" ]; then ok "s02 never answered: $got"
	else bad "s02 never answered" "$got"; fi
	# The rules: above 10 Hz nothing of s02 (5.2 searches/s in all).
	"$CATRACE" -r "$CAPTURES/s02_not_found.pcap" -q --summary-hz 10 2>"$tmp/hz" >/dev/null
	n=$(awk '/^Most searched/ {f=1; next} /^PVs searched/ {f=0} f' "$tmp/hz" | grep -c '^ *[0-9]')
	if [ "$n" = 0 ]; then ok "--summary-hz 10 lists no PV of s02"
	else bad "--summary-hz 10 lists no PV of s02" "$n listed"; fi
	"$CATRACE" -r "$CAPTURES/s02_not_found.pcap" -q --summary-hz 2.2 2>"$tmp/hz" >/dev/null
	n=$(awk '/^Most searched/ {f=1; next} /^PVs searched/ {f=0} f' "$tmp/hz" | grep -c '^ *[0-9]')
	if [ "$n" = 1 ]; then ok "--summary-hz 2.2 lists one PV (2.40/s; the next 2.00/s)"
	else bad "--summary-hz 2.2 lists one PV" "$n listed"; fi
	"$CATRACE" -r "$CAPTURES/s02_not_found.pcap" -q --summary-sigma 1 2>"$tmp/sg" >/dev/null
	n=$(awk '/^Most searched/ {f=1; next} /^PVs searched/ {f=0} f' "$tmp/sg" | grep -c '^ *[0-9]')
	# counts 6,5,1,1: mean 3.25, sd 2.28: above 5.53 only NO:SUCH:PV.
	if [ "$n" = 1 ] && grep -q "NO:SUCH:PV" "$tmp/sg"; then ok "--summary-sigma 1 lists NO:SUCH:PV only"
	else bad "--summary-sigma 1" "$n listed"; fi
fi

# --events on s09: the IOC appears, then restarts once.
"$CATRACE" -r "$CAPTURES/s09_beacons_repeater.pcap" --events -t >"$tmp/ev" 2>/dev/null
got=$(grep -o 'EVENT beacon [a-z]* server=[0-9.:]*' "$tmp/ev" | tr '\n' ';')
if [ "$got" = "EVENT beacon appeared server=10.201.7.1:5064;EVENT beacon restarted server=10.201.7.1:5064;" ]
then ok "s09 events: appeared, restarted"; else bad "s09 events" "$got"; fi
"$CATRACE" -r "$CAPTURES/s09_beacons_repeater.pcap" --events --json 2>/dev/null | grep '"event"' >"$tmp/evj"
if [ "$(jq -r .kind "$tmp/evj" | tr '\n' ' ')" = "appeared restarted " ]; then ok "s09 events in JSON"
else bad "s09 events in JSON" "$(cat "$tmp/evj")"; fi
# Without --events, no event lines (goldens are untouched).
if "$CATRACE" -r "$CAPTURES/s09_beacons_repeater.pcap" -t 2>/dev/null | grep -q EVENT; then
	bad "no event lines without --events"; else ok "no event lines without --events"; fi

# SIGUSR1: a summary while input is still coming.  A reader blocked on
# standard input answers at the next packet: the signal does not break
# the read (that would end the capture).
python3 - "$CAPTURES/s02_not_found.pcap" "$tmp/part1" "$tmp/part2" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
recs, off = [], 24
while off < len(d):
    n = struct.unpack_from("<I", d, off + 8)[0]
    recs.append(d[off:off + 16 + n]); off += 16 + n
half = len(recs) // 2
open(sys.argv[2], "wb").write(d[:24] + b"".join(recs[:half]))
open(sys.argv[3], "wb").write(b"".join(recs[half:]))
PY
mkfifo "$tmp/fifo"
"$CATRACE" -r - -q --no-print --summary <"$tmp/fifo" >/dev/null 2>"$tmp/usr1" &
CPID=$!
exec 3>"$tmp/fifo"
cat "$tmp/part1" >&3
sleep 0.5
kill -USR1 $CPID
sleep 0.2
cat "$tmp/part2" >&3
for _ in $(seq 50); do grep -q '^Search summary' "$tmp/usr1" && break; sleep 0.1; done
if grep -q '^Search summary' "$tmp/usr1" && kill -0 $CPID 2>/dev/null; then ok "SIGUSR1 prints a summary and goes on"
else bad "SIGUSR1 prints a summary and goes on" "$(head -2 "$tmp/usr1")"; fi
exec 3>&-
wait $CPID
rc=$?
CPID=""
n=$(grep -c '^Search summary' "$tmp/usr1")
if [ $rc = 0 ] && [ "$n" = 2 ]; then ok "and again at exit (exit 0, $n summaries)"
else bad "and again at exit" "rc=$rc, $n summaries"; fi

for badv in "--summary-hz -1" "--summary-sigma x" "--summary-top 0"; do
	# shellcheck disable=SC2086
	"$CATRACE" -r "$CAPTURES/s02_not_found.pcap" $badv >/dev/null 2>"$tmp/err"
	rc=$?
	if [ $rc = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ]; then ok "'$badv' refused in one line"
	else bad "'$badv' refused" "rc=$rc $(cat "$tmp/err")"; fi
done

# catrace top --once: golden snapshots, and the busiest PV by updates is
# the one with the most monitor updates in the decode.
for spec in "s08_pyepics_many --rows 5" "s04_camonitor --sort updates" "s02_not_found --sort searches"; do
	set -- $spec
	cap=$1
	shift
	f=$CAPTURES/$cap.pcap
	[ -f "$f" ] || continue
	"$CATRACE" top -r "$f" --once "$@" 2>"$tmp/top.err" | sed "s|$CAPTURES/||" >"$tmp/top.out"
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then cp "$tmp/top.out" "tests/golden/top-$cap.out"; fi
	if diff -u "tests/golden/top-$cap.out" "$tmp/top.out" >"$tmp/top.diff"; then ok "top --once $cap (golden)"
	else bad "top --once $cap (golden)" "$(head -12 "$tmp/top.diff")"; fi
done
if [ -f "$CAPTURES/s04_camonitor.pcap" ]; then
	want=$("$CATRACE" -r "$CAPTURES/s04_camonitor.pcap" --json -q 2>/dev/null |
		jq -r 'select(.cmd == 1 and .dir == "response" and .size > 0) | .pv' | sort | uniq -c | sort -rn | head -1 | awk '{print $2}')
	got=$("$CATRACE" top -r "$CAPTURES/s04_camonitor.pcap" --once --since-start --sort updates 2>/dev/null |
		awk '/^Busiest PVs/ {f=1; next} f && $1 ~ /^[0-9.]+$/ {print $6; exit}')
	if [ -n "$want" ] && [ "$got" = "$want" ]; then ok "top: busiest PV by updates is $got"
	else bad "top: busiest PV by updates" "top says $got, decode $want"; fi
fi
"$CATRACE" -r "$CAPTURES/s02_not_found.pcap" --once >/dev/null 2>"$tmp/err"
if [ $? = 2 ] && grep -q "catrace top" "$tmp/err"; then ok "--once without top refused"
else bad "--once without top refused" "$(cat "$tmp/err")"; fi
"$CATRACE" top -r "$CAPTURES/s02_not_found.pcap" </dev/null >"$tmp/out" 2>"$tmp/err"
if [ $? != 0 ] && grep -q "needs a terminal" "$tmp/err"; then ok "top without a terminal says so"
else bad "top without a terminal says so" "$(cat "$tmp/err")"; fi

echo "reports: $pass passed, $fail failed"
[ $fail -eq 0 ]
