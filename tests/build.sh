#!/bin/bash
# catrace build and --json=full (issue 17, part 2).  Needs no root.
#   - round trip: every capture X in $CAPTURES (and the shared ones when
#     present): `catrace -r X --json=full | catrace build -w Y`, then
#     `catrace -r Y` prints what `catrace -r X` printed, and Y's --json=full
#     is X's (every header field and payload byte, times, addresses) but
#     for the frame numbers (Y has handshakes, and no bare ACKs).
#   - edit and replay: a PV and a value changed with jq (python3 if there is
#     no jq) between the two commands show in catrace -r of the result.
#   - human form, defaults, ranges, errors.
set -u
cd "$(dirname "$0")/.."
CATRACE=${CATRACE:-.output/catrace}
CAPTURES=${CAPTURES:-tests/captures}
SHARED_CAPTURES=${SHARED_CAPTURES:-}
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1: $2"; fail=$((fail + 1)); }

# The frame numbers differ by design (see above); all else must not.
noframe() { sed -E 's/"frame":[0-9]+,//'; }

round_trip() {  # round_trip NAME CAPTURE
	local name=$1 x=$2
	if ! "$CATRACE" -r "$x" --json=full > "$tmp/x.jsonl" 2> /dev/null; then
		bad "$name" "catrace -r --json=full failed"; return
	fi
	if ! "$CATRACE" build -w "$tmp/y.pcap" < "$tmp/x.jsonl" 2> "$tmp/err"; then
		bad "$name" "build failed: $(head -1 "$tmp/err")"; return
	fi
	"$CATRACE" -r "$x" > "$tmp/a" 2> /dev/null
	"$CATRACE" -r "$tmp/y.pcap" > "$tmp/b" 2> /dev/null
	"$CATRACE" -r "$tmp/y.pcap" --json=full 2> /dev/null | noframe > "$tmp/y.jsonl"
	if [ ! -s "$tmp/a" ]; then
		bad "$name" "nothing printed for $x"
	elif ! cmp -s "$tmp/a" "$tmp/b"; then
		bad "$name" "text differs: $(diff "$tmp/a" "$tmp/b" | sed -n 2p)"
	elif ! noframe < "$tmp/x.jsonl" | cmp -s - "$tmp/y.jsonl"; then
		bad "$name" "--json=full differs: $(noframe < "$tmp/x.jsonl" | diff - "$tmp/y.jsonl" | sed -n 2p)"
	else
		ok "$name ($(wc -l < "$tmp/a") messages)"
	fi
}

for x in "$CAPTURES"/*.pcap; do
	round_trip "round trip $(basename "$x" .pcap)" "$x"
done
if [ -n "$SHARED_CAPTURES" ] && [ -d "$SHARED_CAPTURES" ]; then
	for x in "$SHARED_CAPTURES"/*.pcap "$SHARED_CAPTURES"/external/*.pcap; do
		[ -f "$x" ] && round_trip "round trip shared/$(basename "$x" .pcap)" "$x"
	done
fi

# Plain --json (with every element: --max-elements 0) has no raw bytes:
# build encodes each message from its names and values (DBR values, time
# stamps, GR/CTRL limits and units, enum strings, subscription masks,
# ERROR's copy of the request, search replies), and catrace -r prints the
# same.  Captures with an empty repeater registration are left out: plain
# --json prints no line for it (--json=full does).
for x in "$CAPTURES"/*.pcap; do
	name="plain json rebuild $(basename "$x" .pcap)"
	"$CATRACE" -r "$x" --json=full 2> /dev/null | grep -q '"datagram":"empty"' && continue
	"$CATRACE" -r "$x" --json --max-elements 0 2> /dev/null |
		"$CATRACE" build -w "$tmp/p.pcap" 2> "$tmp/err" ||
		{ bad "$name" "build failed: $(head -1 "$tmp/err")"; continue; }
	"$CATRACE" -r "$x" > "$tmp/a" 2> /dev/null
	"$CATRACE" -r "$tmp/p.pcap" > "$tmp/b" 2> /dev/null
	if cmp -s "$tmp/a" "$tmp/b"; then
		ok "$name ($(wc -l < "$tmp/a") messages)"
	else
		bad "$name" "$(diff "$tmp/a" "$tmp/b" | grep -c '^[<>]') lines differ: $(diff "$tmp/a" "$tmp/b" | sed -n 2p | cut -c1-200)"
	fi
done

# Captures with loss (tests/loss/degrade.py): the first message after a
# hole says resync, and build leaves a hole before it, so it is found the
# same way again.  (Messages with bytes missing inside them are rebuilt
# with the bytes before their first hole only: not tested here.)
for spec in "s03_caput drop:2" "s04_camonitor drop:5" "s08_pyepics_many gap:50"; do
	set -- $spec
	if python3 tests/loss/degrade.py --class "$2" --map "$tmp/map" "$CAPTURES/$1.pcap" \
		"$tmp/lossy.pcap" > /dev/null 2>&1; then
		round_trip "round trip $1 with loss $2" "$tmp/lossy.pcap"
	else
		bad "round trip $1 with loss $2" "degrade.py failed"
	fi
done

# Plain --json is not changed by --json=full: no payload there.
if "$CATRACE" -r "$CAPTURES/s01_caget_types.pcap" --json 2> /dev/null | grep -q '"payload"'; then
	bad "plain json" "--json prints payload bytes"
else
	ok "plain json has no payload"
fi

# Edit and replay: jq when there is one, else python3's json.
edit() {  # edit JQ_FILTER PY_EXPR < in > out (PY_EXPR edits dict m)
	if command -v jq > /dev/null; then
		jq -c "$1"
	else
		python3 -c "
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    $2
    print(json.dumps(m, separators=(',', ':')))"
	fi
}
S03=$CAPTURES/s03_caput.pcap
"$CATRACE" -r "$S03" --json=full 2> /dev/null |
	edit 'if .command == "CreateChanRequest" then (.pv = "EDITED:pv" | del(.payload, .size)) else . end' \
	     'exec("if m.get(\"command\") == \"CreateChanRequest\":\n    m[\"pv\"] = \"EDITED:pv\"; m.pop(\"payload\"); m.pop(\"size\")")' \
	> "$tmp/e.jsonl"
if "$CATRACE" build -w "$tmp/e.pcap" "$tmp/e.jsonl" 2> "$tmp/err" &&
   "$CATRACE" -r "$tmp/e.pcap" 2> /dev/null > "$tmp/e.txt" &&
   grep -q "CreateChanRequest(pv='EDITED:pv'" "$tmp/e.txt" &&
   grep -q "WriteNotifyRequest(pv='EDITED:pv'" "$tmp/e.txt" &&
   ! grep -q "CreateChanRequest(pv='T:ao'" "$tmp/e.txt"; then
	ok "edit: another PV"
else
	bad "edit: another PV" "$(head -1 "$tmp/err") $(grep -m1 CreateChanRequest "$tmp/e.txt")"
fi
# A written value: T:ao's WriteNotifyRequest payload replaced by a
# human-form value (a string: caput writes DBR_STRING).
"$CATRACE" -r "$S03" --json=full 2> /dev/null |
	edit 'if .command == "WriteNotifyRequest" and .pv == "T:ao" then (.data = ["7.25"] | del(.payload, .size, .value)) else . end' \
	     'exec("if m.get(\"command\") == \"WriteNotifyRequest\" and m.get(\"pv\") == \"T:ao\":\n    m[\"data\"] = [\"7.25\"]; m.pop(\"payload\"); m.pop(\"size\"); m.pop(\"value\", None)")' \
	> "$tmp/v.jsonl"
if "$CATRACE" build -w "$tmp/v.pcap" "$tmp/v.jsonl" 2> "$tmp/err" &&
   "$CATRACE" -r "$tmp/v.pcap" 2> /dev/null | grep -q "WriteNotifyRequest(pv='T:ao', data=\['7.25'\]"; then
	ok "edit: another value"
else
	bad "edit: another value" "$(head -1 "$tmp/err")"
fi
# A lying size: the header says more than the payload holds.
"$CATRACE" -r "$S03" --json=full 2> /dev/null |
	edit 'if .command == "HostNameRequest" then .size = 4000 else . end' \
	     'exec("if m.get(\"command\") == \"HostNameRequest\":\n    m[\"size\"] = 4000")' \
	> "$tmp/l.jsonl"
if "$CATRACE" build -w "$tmp/l.pcap" "$tmp/l.jsonl" 2> "$tmp/err" &&
   "$CATRACE" -r "$tmp/l.pcap" 2>&1 | grep -qE "HostNameRequest.*(truncated|malformed)|[1-9][0-9]* (malformed|truncated)"; then
	ok "edit: a lying size"
else
	bad "edit: a lying size" "$(head -1 "$tmp/err")"
fi

# Human form and defaults: a circuit built from names only.
cat > "$tmp/h.jsonl" <<'EOF'
{"command":"VersionRequest","ts":1700000000.5}
{"command":"CreateChanRequest","pv":"T:ai","cid":1}
{"command":"CreateChanResponse","data_type":"DOUBLE","data_count":1,"cid":1,"sid":7}
{"command":"ReadNotifyRequest","data_type":"TIME_DOUBLE","data_count":1,"sid":7,"ioid":1}
{"command":"ReadNotifyResponse","data_type":"TIME_DOUBLE","data":[3.14],"severity":"MINOR","alarm":"HIGH","status":"ECA_NORMAL","ioid":1}
{"command":"WriteNotifyRequest","data_type":"STRING","data":["hello"],"sid":7,"ioid":2}
{"command":"SEARCH","pv":"T:ai","cid":5}
EOF
"$CATRACE" build -w "$tmp/h.pcap" "$tmp/h.jsonl" 2> "$tmp/err"
"$CATRACE" -r "$tmp/h.pcap" > "$tmp/h.txt" 2> /dev/null
cat > "$tmp/h.want" <<'EOF'
1700000000.500000 127.0.0.1:40000->127.0.0.1:5064 VersionRequest(priority=0, version=13)
1700000000.500001 127.0.0.1:40000->127.0.0.1:5064 CreateChanRequest(pv='T:ai', cid=1, version=13)
1700000000.500002 127.0.0.1:5064->127.0.0.1:40000 CreateChanResponse(pv='T:ai', data_type=DOUBLE, data_count=1, cid=1, sid=7)
1700000000.500003 127.0.0.1:40000->127.0.0.1:5064 ReadNotifyRequest(pv='T:ai', data_type=TIME_DOUBLE, data_count=1, sid=7, ioid=1)
1700000000.500004 127.0.0.1:5064->127.0.0.1:40000 ReadNotifyResponse(pv='T:ai', alarm=HIGH, severity=MINOR, stamp='1990-01-01T00:00:00.000000000Z', data=[3.14], data_type=TIME_DOUBLE, data_count=1, status=ECA_NORMAL, ioid=1)
1700000000.500005 127.0.0.1:40000->127.0.0.1:5064 WriteNotifyRequest(pv='T:ai', data=['hello'], data_type=STRING, data_count=1, sid=7, ioid=2)
1700000000.500006 127.0.0.1:40000->127.0.0.1:5064 SearchRequest(pv='T:ai', cid=5, version=13, reply=5)
EOF
if cmp -s "$tmp/h.txt" "$tmp/h.want"; then
	ok "human form and defaults"
else
	bad "human form and defaults" "$(head -1 "$tmp/err") $(diff "$tmp/h.want" "$tmp/h.txt" | sed -n 2p)"
fi
# The frames are sound: tshark finds no bad checksum, capinfos reads it.
if command -v tshark > /dev/null; then
	n=$(tshark -r "$tmp/h.pcap" -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-o ip.check_checksum:TRUE \
		-Y 'tcp.checksum.status == 2 || udp.checksum.status == 2 || ip.checksum.status == 2' \
		2> /dev/null | wc -l)
	[ "$n" = 0 ] && ok "checksums (tshark)" || bad "checksums (tshark)" "$n bad"
else
	echo "SKIP: checksums: no tshark"
fi

# Ranges: increment, and random with a seed (the same values again).
echo '{"command":"SEARCH","pv":"T:ai","cid":{"range":[1,1000]}}' |
	"$CATRACE" build -w "$tmp/r.pcap" 2> "$tmp/err"
n=$("$CATRACE" -r "$tmp/r.pcap" 2> /dev/null | grep -c "SearchRequest(pv='T:ai'")
last=$("$CATRACE" -r "$tmp/r.pcap" 2> /dev/null | tail -1 | grep -o 'cid=[0-9]*')
[ "$n" = 1000 ] && [ "$last" = cid=1000 ] && ok "range: 1000 searches" ||
	bad "range: 1000 searches" "$n messages, last $last $(head -1 "$tmp/err")"
rnd='{"command":"SEARCH","pv":"T:ai","cid":{"range":[5,9],"random":50,"seed":7}}'
echo "$rnd" | "$CATRACE" build -w "$tmp/r1.pcap" 2> /dev/null
echo "$rnd" | "$CATRACE" build -w "$tmp/r2.pcap" 2> /dev/null
"$CATRACE" -r "$tmp/r1.pcap" 2> /dev/null | grep -o 'cid=[0-9]*' > "$tmp/r1"
"$CATRACE" -r "$tmp/r2.pcap" 2> /dev/null | grep -o 'cid=[0-9]*' > "$tmp/r2"
if [ "$(wc -l < "$tmp/r1")" = 50 ] && cmp -s "$tmp/r1" "$tmp/r2" &&
   ! grep -qvE '^cid=[5-9]$' "$tmp/r1" && [ "$(sort -u "$tmp/r1" | wc -l)" -gt 1 ]; then
	ok "range: random with a seed"
else
	bad "range: random with a seed" "$(sort "$tmp/r1" | uniq -c | tr '\n' ' ')"
fi

# Ranged names: one search per PV, T:ai1 .. T:ai50, with cids 1 .. 50.
echo '{"command":"SEARCH","pv":{"format":"T:ai%d","range":[1,50]},"cid":{"range":[1,50]}}' |
	"$CATRACE" build -w "$tmp/f.pcap" 2> "$tmp/err"
if [ "$("$CATRACE" -r "$tmp/f.pcap" 2> /dev/null | grep -c "SearchRequest(pv='T:ai\([0-9]*\)', cid=\1,")" = 50 ]; then
	ok "range: formatted PV names"
else
	bad "range: formatted PV names" "$(head -1 "$tmp/err") $("$CATRACE" -r "$tmp/f.pcap" 2>/dev/null | head -1)"
fi

# Errors: exit 1, one line naming the input's line and what is wrong.
expect_build_error() {  # NAME PATTERN INPUT
	local name=$1 pat=$2 rc
	printf '%s\n' "$3" | "$CATRACE" build -w "$tmp/err.pcap" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if [ $rc -ne 1 ]; then
		bad "error: $name" "exit $rc, wanted 1"
	elif [ "$(wc -l < "$tmp/err")" -ne 1 ] || ! grep -qE -- "$pat" "$tmp/err"; then
		bad "error: $name" "stderr '$(cat "$tmp/err")' lacks /$pat/"
	else
		ok "error: $name"
	fi
}
expect_build_error not-json '<stdin>:2: column 11: a quoted key expected in an object, found .,.' \
	"$(printf '{"cmd":0}\n{"cmd": 0,,}')"
expect_build_error trailing-comma '<stdin>:1: column 10: a trailing comma' '{"cmd":0,}'
expect_build_error duplicate-key 'duplicate key "cmd"' '{"cmd":0,"cmd":1}'
expect_build_error not-object 'a JSON object expected' '[1]'
expect_build_error no-command 'no "cmd" or "command"' '{"p1":3}'
expect_build_error bad-command "unknown command 'Frobnicate'" '{"command":"Frobnicate"}'
expect_build_error bad-dtype "unknown DBR type 'TIME_DUBLE'" \
	'{"command":"ReadNotifyRequest","data_type":"TIME_DUBLE"}'
expect_build_error bad-hex 'not a hex digit' '{"cmd":1,"payload":"0g"}'
expect_build_error bad-ip "is not an IPv4 address" '{"cmd":0,"src":"10.0.0.256"}'
expect_build_error bad-range 'LO <= HI' '{"cmd":6,"cid":{"range":[5,1]}}'
expect_build_error big-udp 'does not fit a datagram' \
	"{\"command\":\"SEARCH\",\"payload\":\"$(head -c 70000 /dev/zero | od -An -v -tx1 | tr -d ' \n')\"}"
if "$CATRACE" build > /dev/null 2> "$tmp/err"; [ $? -eq 2 ] && grep -q 'give -w FILE' "$tmp/err"; then
	ok "error: no -w"
else
	bad "error: no -w" "$(cat "$tmp/err")"
fi
# -w -: the pcap on standard output.
echo '{"command":"ECHO"}' | "$CATRACE" build -w - 2> /dev/null | "$CATRACE" -r - 2> /dev/null |
	grep -q 'EchoRequest' && ok "-w - writes standard output" || bad "-w -" "no EchoRequest read back"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
