#!/bin/bash
# -r IN -w OUT (issue 17 part 3): captures cut down to their CA packets,
# pcapng ones with a comment per packet listing its CA messages.
#
# On every capture: the comments tshark reads back from OUT.pcapng are
# catrace's own lines for IN (without the time), joined per frame, on the
# packets of those frames (same time stamps), in order; OUT holds the CA
# packets (and the SYNs of learned servers' flows); capinfos accepts it.  A .pcap name gives classic pcap
# with the same packets, and catrace reads it back to the same lines.
# --pv keeps exactly the packets that carried a matching message; a
# filter expression and -w - work too.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
cd "$(dirname "$0")/.."
CATRACE=${CATRACE:-.output/catrace}
CAPTURES=${CAPTURES:-tests/captures}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS: pcapng $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: pcapng $1${2:+: $2}"; fail=$((fail + 1)); }
[ -d "$CAPTURES" ] || { echo "SKIP: no captures at $CAPTURES"; exit 77; }
command -v tshark >/dev/null && command -v capinfos >/dev/null ||
	{ echo "SKIP: tshark and capinfos are needed"; exit 77; }

# Expected: from the frame numbers ({frame}) and the text lines (--nano:
# "TIME LINE") of the same messages, one "TIME<TAB>LINE; LINE..." per
# frame, in frame order.
expect_py='
import sys, decimal, collections
frames = [l.split() for l in open(sys.argv[1])]
lines = [l.rstrip("\n").split(" ", 1) for l in open(sys.argv[2])]
assert len(frames) == len(lines), (len(frames), len(lines))
per = collections.OrderedDict()
for (num,), (ts, line) in zip(frames, lines):
    per.setdefault(int(num), [int(decimal.Decimal(ts) * 10**9), []])[1].append(line)
for num in sorted(per):
    ts, ls = per[num]
    print("%d\t%s" % (ts, "; ".join(ls)))
'
# Read back: "TIME<TAB>COMMENT" for each packet with a comment.
got_py='
import sys, decimal
for l in open(sys.argv[1]):
    ts, _, c = l.rstrip("\n").partition("\t")
    if c:
        print("%d\t%s" % (int(decimal.Decimal(ts) * 10**9), c))
'

# expected CAP FILTER-ARGS...: the expected comments of CAP's frames.
expected() {
	local cap=$1
	shift
	# The frame numbers: --format's, or the JSON's (--writes has no --format).
	if [[ " $* " == *" --writes "* ]]; then
		"$CATRACE" -q -r "$cap" --json "$@" |
			python3 -c 'import sys, json; [print(json.loads(l)["frame"]) for l in sys.stdin]'
	else
		"$CATRACE" -q -r "$cap" --format '{frame}' "$@"
	fi > "$tmp/frames" &&
		"$CATRACE" -q -r "$cap" --nano "$@" > "$tmp/lines" &&
		python3 -c "$expect_py" "$tmp/frames" "$tmp/lines"
}

comments() {
	tshark -r "$1" -T fields -e frame.time_epoch -e frame.comment 2>/dev/null > "$tmp/ts" &&
		python3 -c "$got_py" "$tmp/ts"
}

packets() {
	capinfos -c -M "$1" 2>/dev/null | awk '/^Number of packets/ {print $NF}'
}

# The project's captures, and the shared reference ones when present
# (pcapng inputs and other link types among them).
SHARED_CAPTURES=${SHARED_CAPTURES:-}
n=0
for cap in "$CAPTURES"/*.pcap ${SHARED_CAPTURES:+"$SHARED_CAPTURES"/*.pcap \
	"$SHARED_CAPTURES"/external/*.pcap "$SHARED_CAPTURES"/external/*.pcapng}; do
	[ -f "$cap" ] || continue
	name=$(basename "$cap")
	name=${name%.pcap*}
	[ -e "$tmp/$name.pcapng" ] && name=$name-$n
	out=$tmp/$name.pcapng
	n=$((n + 1))
	if ! "$CATRACE" -r "$cap" -w "$out" 2> "$tmp/err"; then
		bad "$name: -w failed" "$(head -3 "$tmp/err")"
		continue
	fi
	if capinfos "$out" > "$tmp/capinfos" 2>&1 && grep -q 'pcapng' "$tmp/capinfos"; then
		ok "$name: capinfos reads pcapng"
	else
		bad "$name: capinfos" "$(head -3 "$tmp/capinfos")"
	fi
	if ! grep -q 'catrace: CA from' "$tmp/capinfos"; then
		bad "$name: interface description missing"
	fi
	expected "$cap" > "$tmp/want" || { bad "$name: expected lines"; continue; }
	comments "$out" > "$tmp/got"
	if [ -s "$tmp/want" ] && cmp -s "$tmp/want" "$tmp/got"; then
		ok "$name: comments are catrace's lines per frame ($(wc -l < "$tmp/want") frames)"
	else
		bad "$name: comments differ" "$(diff "$tmp/want" "$tmp/got" | head -5 | cut -c1-300)"
	fi
	ca=$(sed -n 's/.* \([0-9]*\) CA packets.*/\1/p' "$tmp/err")
	wrote=$(sed -n 's/^\([0-9]*\) packets written$/\1/p' "$tmp/err")
	# The CA packets, and the SYNs of learned servers' flows (judged
	# CA only at their first payload).
	inf=$(packets "$out")
	syns=$(tshark -r "$out" -Y 'tcp.flags.syn == 1 && tcp.len == 0' 2>/dev/null | wc -l)
	if [ -n "$ca" ] && [ "$inf" = "$wrote" ] && [ "$inf" -ge "$ca" ] &&
		[ $((inf - ca)) -le "$syns" ]; then
		ok "$name: the $ca CA packets written (and $((inf - ca)) SYNs)"
	else
		bad "$name: packets" "CA $ca, said $wrote, in the file $inf, SYNs $syns"
	fi
	# Classic pcap for a .pcap name: the same packets, and catrace
	# reads the cut capture to the same lines.
	"$CATRACE" -q -r "$cap" -w "$tmp/$name.pcap" 2>/dev/null
	if capinfos -t "$tmp/$name.pcap" 2>/dev/null | grep -q 'nanosecond pcap' &&
		[ "$(packets "$tmp/$name.pcap")" = "$inf" ] &&
		cmp -s <("$CATRACE" -q -r "$cap" -t) <("$CATRACE" -q -r "$tmp/$name.pcap" -t); then
		ok "$name: .pcap gives classic pcap that reads back to the same lines"
	else
		bad "$name: classic pcap cut"
	fi
done
[ $n -gt 0 ] || { echo "SKIP: no captures in $CAPTURES"; exit 77; }

# The hard part: packets whose messages the decoder gives late (segments
# held behind a hole or a swap, messages waiting for the other direction)
# still get exactly their own lines.
for spec in "s04_camonitor swap:5" "s08_pyepics_many swap:5" "s08_pyepics_many drop:3" \
	    "s03_caput dup:5"; do
	set -- $spec
	[ -f "$CAPTURES/$1.pcap" ] || continue
	lossy=$tmp/$1-${2%%:*}.pcap
	python3 tests/loss/degrade.py --class "$2" --seed 7 "$CAPTURES/$1.pcap" "$lossy" > /dev/null 2>&1 ||
		{ bad "$1 $2: degrade.py"; continue; }
	"$CATRACE" -q -r "$lossy" -w "$lossy.pcapng" 2> "$tmp/err"
	expected "$lossy" > "$tmp/want"
	comments "$lossy.pcapng" > "$tmp/got"
	if [ -s "$tmp/want" ] && cmp -s "$tmp/want" "$tmp/got" && ! [ -s "$tmp/err" ]; then
		ok "$1 $2: comments are catrace's lines per frame ($(wc -l < "$tmp/want") frames)"
	else
		bad "$1 $2: comments differ" "$(cat "$tmp/err"; diff "$tmp/want" "$tmp/got" | head -5 | cut -c1-300)"
	fi
done

# A message spread over several segments keeps them all: the cut of
# s15's big waveform replies reads back to the same replies (their PV
# unknown: the channel's creation is not in the cut), with no segment
# missing in between.
cap=$CAPTURES/s15_large_and_errors.pcap
if [ -f "$cap" ]; then
	sel=(--pv 'T:wfdouble' --cmd ReadNotifyResponse)
	"$CATRACE" -q -r "$cap" "${sel[@]}" -w "$tmp/wf.pcapng"
	"$CATRACE" -q -r "$cap" "${sel[@]}" -t | sed "s/pv='T:wfdouble'/pv=?/" > "$tmp/want"
	"$CATRACE" -q -r "$tmp/wf.pcapng" -t > "$tmp/got"
	lost=$(tshark -r "$tmp/wf.pcapng" -Y tcp.analysis.lost_segment 2>/dev/null | wc -l)
	if [ "$(wc -l < "$tmp/want")" -gt 3 ] && cmp -s "$tmp/want" "$tmp/got" && [ "$lost" = 0 ] &&
		[ "$(packets "$tmp/wf.pcapng")" -gt "$(wc -l < "$tmp/want")" ]; then
		ok "--pv keeps every segment of a message spread over several ($(packets "$tmp/wf.pcapng") packets, $(wc -l < "$tmp/want") messages)"
	else
		bad "segments of a spread message" "lost $lost; $(diff "$tmp/want" "$tmp/got" | head -3 | cut -c1-200)"
	fi
fi

# --pv: exactly the packets that carried a matching message.
cap=$CAPTURES/s04_camonitor.pcap
if [ -f "$cap" ]; then
	"$CATRACE" -q -r "$cap" --pv 'T:ai*' -w "$tmp/cut.pcapng"
	expected "$cap" --pv 'T:ai*' > "$tmp/want"
	comments "$tmp/cut.pcapng" > "$tmp/got"
	if [ -s "$tmp/want" ] && cmp -s "$tmp/want" "$tmp/got" &&
		[ "$(packets "$tmp/cut.pcapng")" = "$(wc -l < "$tmp/want")" ]; then
		ok "--pv keeps exactly the $(wc -l < "$tmp/want") packets with matching messages"
	else
		bad "--pv cut" "$(diff "$tmp/want" "$tmp/got" | head -5); $(packets "$tmp/cut.pcapng") packets"
	fi
	if ! grep -v 'T:ai' "$tmp/got" | grep -q .; then
		ok "--pv: every comment names the PV"
	else
		bad "--pv: a comment without the PV" "$(grep -v 'T:ai' "$tmp/got" | head -2)"
	fi
	"$CATRACE" -q -r "$cap" --cmd EventAdd -w "$tmp/cmd.pcapng"
	expected "$cap" --cmd EventAdd > "$tmp/want"
	comments "$tmp/cmd.pcapng" > "$tmp/got"
	if [ -s "$tmp/want" ] && cmp -s "$tmp/want" "$tmp/got" &&
		[ "$(packets "$tmp/cmd.pcapng")" = "$(wc -l < "$tmp/want")" ]; then
		ok "--cmd keeps the packets of the matching commands"
	else
		bad "--cmd cut" "$(diff "$tmp/want" "$tmp/got" | head -5)"
	fi
	# A filter expression: applied first, so only its packets.
	"$CATRACE" -q -r "$cap" -w "$tmp/udp.pcapng" udp
	if [ "$(tshark -r "$tmp/udp.pcapng" -Y tcp 2>/dev/null | wc -l)" = 0 ] &&
		[ "$(packets "$tmp/udp.pcapng")" -gt 0 ]; then
		ok "a filter expression cuts to its packets"
	else
		bad "filter expression cut"
	fi
	# -w - with --pcapng: a stream tshark reads.
	if "$CATRACE" -q -r "$cap" --pcapng -w - 2>/dev/null | tshark -r - -T fields \
		-e frame.comment 2>/dev/null | grep -q 'EventAddResponse'; then
		ok "--pcapng -w - streams pcapng"
	else
		bad "--pcapng -w -"
	fi
fi

# Rotation on packet time (-G): the first file is named from the first
# packet, and the files hold every packet of the whole cut, each opening
# on its own with its comments.
cap9=$CAPTURES/s09_beacons_repeater.pcap
if [ -f "$cap9" ]; then
	mkdir -p "$tmp/g"
	"$CATRACE" -q -r "$cap9" -w "$tmp/g/x-%s.pcapng" -G 5
	"$CATRACE" -q -r "$cap9" -w "$tmp/all.pcapng"
	first=$(tshark -r "$cap9" -c 1 -T fields -e frame.time_epoch 2>/dev/null | cut -d. -f1)
	total=0 files=0 good=1
	for f in "$tmp"/g/x-*.pcapng; do
		files=$((files + 1))
		n=$(packets "$f") || good=0
		total=$((total + ${n:-0}))
		tshark -r "$f" -T fields -e frame.comment 2>/dev/null | grep -q . || good=0
	done
	if [ -f "$tmp/g/x-$first.pcapng" ] && [ $files -ge 3 ] && [ $good = 1 ] &&
		[ $total = "$(packets "$tmp/all.pcapng")" ]; then
		ok "-G with -r: $files files on packet time, $total packets in all"
	else
		bad "-G with -r" "$files files, $total packets, first $first: $(ls "$tmp/g")"
	fi
fi

# --writes: the write audit's lines are the comments.
cap3=$CAPTURES/s03_caput.pcap
if [ -f "$cap3" ]; then
	"$CATRACE" -q -r "$cap3" --writes -w "$tmp/writes.pcapng"
	expected "$cap3" --writes > "$tmp/want"
	comments "$tmp/writes.pcapng" > "$tmp/got"
	if [ -s "$tmp/want" ] && cmp -s "$tmp/want" "$tmp/got" && grep -q WriteRequest "$tmp/got"; then
		ok "--writes: the audit lines are the comments"
	else
		bad "--writes cut" "$(diff "$tmp/want" "$tmp/got" | head -5 | cut -c1-200)"
	fi
fi

# --pcapng needs -w.
"$CATRACE" -r "$cap" --pcapng > /dev/null 2>&1
[ $? = 2 ] && ok "--pcapng without -w is a usage error" || bad "--pcapng without -w"

echo "pcapng: $pass passed, $fail failed"
[ $fail -eq 0 ]
