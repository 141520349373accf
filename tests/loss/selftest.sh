#!/bin/bash
# Self-test of the loss tools (degrade.py, score.py) on a tiny hand-built
# capture (tiny_capture.py): one PASS:/FAIL: line per check; exit 1 if
# any failed.  Needs catrace (CATRACE, default .output/catrace); no tshark.
set -u
cd "$(dirname "$0")/../.."
CATRACE=${CATRACE:-.output/catrace}
LOSS=tests/loss
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=1; }
check() {  # check NAME COMMAND...: PASS when COMMAND succeeds
	local name=$1
	shift
	if "$@" > "$tmp/out" 2>&1; then
		pass "$name"
	else
		fail "$name"
		sed 's/^/    /' "$tmp/out"
	fi
}

if [ ! -x "$CATRACE" ]; then
	echo "FAIL: $CATRACE is not executable (run make)"
	exit 1
fi

# Properties of a degraded copy, checked with pcapio against the original:
#   truthful MAP   every output packet is, byte for byte and time stamp,
#                  the original packet its sidecar line names
#   nopayload      no TCP segment with payload is left
#   count N        the copy has N packets
property() {  # property ORIGINAL VARIANT WHAT [ARG]
	python3 - "$@" <<'EOF'
import sys
sys.path.insert(0, "tests/loss")
import pcapio
original, variant, what = sys.argv[1:4]
cap = pcapio.read_pcap(original)
out = pcapio.read_pcap(variant)
origin = pcapio.read_map(variant + ".map")
by_number = {p.number: p for p in cap.packets}
if what == "truthful":
    assert len(origin) == len(out.packets), "map and capture differ in length"
    for p, number in zip(out.packets, origin):
        o = by_number[number]
        assert (p.data, p.sec, p.frac) == (o.data, o.sec, o.frac), \
            "output packet %d is not original packet %d" % (p.number, number)
elif what == "nopayload":
    for p in out.packets:
        l4 = pcapio.parse_l4(out.linktype, p)
        assert not (l4 and l4.proto == "tcp" and l4.payload), \
            "packet %d still carries payload" % p.number
elif what == "count":
    assert len(out.packets) == int(sys.argv[4]), \
        "%d packets, want %s" % (len(out.packets), sys.argv[4])
EOF
}

degrade() {  # degrade NAME CLASS... : $tmp/NAME.pcap from $tmp/tiny.pcap
	local name=$1 args=()
	shift
	for c in "$@"; do args+=(--class "$c"); done
	python3 $LOSS/degrade.py --seed 7 "${args[@]}" "$tmp/tiny.pcap" \
		"$tmp/$name.pcap" 2>> "$tmp/degrade.log"
}

score() {  # score VARIANT [OPTIONS]: score.py on $tmp/VARIANT.pcap
	local variant=$1
	shift
	python3 $LOSS/score.py --catrace "$CATRACE" "$@" "$tmp/tiny.pcap" \
		"$tmp/$variant.pcap"
}

python3 $LOSS/tiny_capture.py "$tmp/tiny.pcap"
python3 $LOSS/tiny_capture.py --nano --cooked "$tmp/tiny_nano.pcap"

# The writer, read back: an undegraded copy is the same file.
degrade same drop:0
check "degrade drop:0 writes the input unchanged (microseconds, Ethernet)" \
	cmp "$tmp/tiny.pcap" "$tmp/same.pcap"
python3 $LOSS/degrade.py --class drop:0 "$tmp/tiny_nano.pcap" \
	"$tmp/same_nano.pcap" 2>> "$tmp/degrade.log"
check "degrade drop:0 writes the input unchanged (nanoseconds, Linux cooked)" \
	cmp "$tmp/tiny_nano.pcap" "$tmp/same_nano.pcap"

# The tiny capture has 28 packets, 10 of them TCP segments with payload.
degrade drop100 drop:100
check "drop:100 drops every payload segment" property "$tmp/tiny.pcap" "$tmp/drop100.pcap" nopayload
check "drop:100 keeps the 18 other packets" property "$tmp/tiny.pcap" "$tmp/drop100.pcap" count 18

degrade swap swap:100
degrade dup dup:50
degrade cut cut:0.5
degrade gap gap:2
degrade mix drop:20 swap:30 dup:30
for v in drop100 swap dup cut gap mix; do
	check "sidecar of $v tells where each packet came from" \
		property "$tmp/tiny.pcap" "$tmp/$v.pcap" truthful
done
check "dup:50 adds 5 copies" property "$tmp/tiny.pcap" "$tmp/dup.pcap" count 33
check "cut:0.5 keeps the last 14 packets" property "$tmp/tiny.pcap" "$tmp/cut.pcap" count 14
check "gap:2 removes 2 packets" property "$tmp/tiny.pcap" "$tmp/gap.pcap" count 26
check "gap:2 takes them from the server's stream" \
	grep -q 'gap:2: 2 consecutive of the 6 payload segments of 10.0.0.1:5064->10.0.0.2:40001' "$tmp/degrade.log"
python3 $LOSS/degrade.py --seed 7 --class drop:20 --class swap:30 --class dup:30 \
	"$tmp/tiny.pcap" "$tmp/mix2.pcap" 2> /dev/null
check "the same seed gives the same file" cmp "$tmp/mix.pcap" "$tmp/mix2.pcap"

# The scorer: an undegraded copy scores perfectly.
check "score: an undegraded copy meets the strict goals" \
	score same --goals strict
score same > "$tmp/same.txt"
check "score: undegraded copy: recall 100%, nothing invented or wrong" \
	grep -qE '^tiny +drop:0/s7 +catrace +17 +17 +17 +100\.0 +0 +0 +0 +0 +0 +0$' "$tmp/same.txt"

# With every payload segment gone only the 4 UDP messages are intact.
score drop100 > "$tmp/drop100.txt"
check "score: drop:100: the 4 UDP messages are the intact ones, all found" \
	grep -qE '^tiny +drop:100/s7 +catrace +4 +4 +4 +100\.0 +0 ' "$tmp/drop100.txt"

# The scorer must be able to fail: move one packet's time stamp.
python3 - "$tmp/same.pcap" "$tmp/late.pcap" <<'EOF'
import shutil, sys
sys.path.insert(0, "tests/loss")
import pcapio
cap = pcapio.read_pcap(sys.argv[1])
cap.packets[-5].frac += 1          # the last monitor update
pcapio.write_pcap(sys.argv[2], cap, cap.packets)
shutil.copy(sys.argv[1] + ".map", sys.argv[2] + ".map")
EOF
if score late --goals strict > "$tmp/late.txt"; then
	fail "score: a moved time stamp fails the goals"
	cat "$tmp/late.txt"
else
	check "score: a moved time stamp fails the goals, as wrong ts 1" \
		grep -q '^FAIL: .*wrong ts 1,.*goals missed: wrongts' "$tmp/late.txt"
fi

# Each kind of error is counted: a decoder (catrace, its output edited
# for same.pcap only) that prints the CREATE_CHAN request after its reply,
# a wrong name, a missing one, and an ECHO nobody sent.
echo_line='{"ts":1700000000.030000000,"frame":20,"src":"10.0.0.1","sport":5064,"dst":"10.0.0.2","dport":40001,"proto":"tcp","cmd":23,"command":"EchoResponse","dir":"response","size":0,"dtype":0,"count":0,"p1":0,"p2":0,"pv":null}'
cat > "$tmp/bad-catrace" <<EOF
#!/bin/sh
[ "\${2##*/}" = same.pcap ] || exec "$(realpath "$CATRACE")" "\$@"
"$(realpath "$CATRACE")" "\$@" | sed -e '8{h;d}' -e '11G' \\
	-e '14s/"pv":"TINY:pv"/"pv":"TINY:other"/' \\
	-e '15s/"pv":"TINY:pv"/"pv":null/' -e '17a $echo_line'
EOF
chmod +x "$tmp/bad-catrace"
python3 $LOSS/score.py --catrace "$tmp/bad-catrace" "$tmp/tiny.pcap" \
	"$tmp/same.pcap" > "$tmp/bad.txt" 2>&1
check "score: counts 1 invented, 1 wrong pv, 1 reply before request, 1 unnamed" \
	grep -qE '^tiny +drop:0/s7 +catrace +18 +17 +17 +100\.0 +1 +1 +0 +1 +1 +1$' \
	"$tmp/bad.txt"

# A reference catrace disagrees with stops the scorer.
cat > "$tmp/fake-catrace" <<EOF
#!/bin/sh
"$(realpath "$CATRACE")" "\$@" | sed 7d
EOF
chmod +x "$tmp/fake-catrace"
python3 $LOSS/score.py --catrace "$tmp/fake-catrace" "$tmp/tiny.pcap" \
	"$tmp/same.pcap" > "$tmp/fake.txt" 2>&1
status=$?
check "score: framing that disagrees with catrace stops it (status 2)" \
	test $status -eq 2
check "score: ... and says where" \
	grep -q 'framed 6 messages, catrace decoded 5' "$tmp/fake.txt"

exit $failed
