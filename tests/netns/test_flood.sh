#!/usr/bin/env bash
# Flood (issue 7): the smallest ring buffer (-B 128) and a burst of CA traffic
# between two namespaces (bench/cagen.c: a CA server streaming monitor
# updates as fast as TCP takes them to a client with 100 channels).
#   - Drops are counted exactly: the messages catrace decoded plus the
#     messages the kernel dropped equal the messages the two ends sent
#     (the handshake counted from the protocol, the updates from the
#     server's own count).
#   - Drops are reported live on stderr, at most one line a second, and
#     the lines add up to the total at exit.
#   - The traffic itself is unaffected: the client receives every update
#     the server sent, every byte, all well-formed.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

CHANNELS=100
SECONDS_OF_FLOOD=3

pass=0 fail=0
ok() { echo "PASS: flood $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: flood $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: flood: $CATRACE not built"; exit 1; }
command -v cc >/dev/null || skip "no C compiler for bench/cagen.c"
ns_setup
ns_cleanup_hook() {
	local p
	for p in ${CAT_PID:-} ${SRV_PID:-}; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
cc -O2 -Wall -I"$ROOT/include" "$ROOT/bench/cagen.c" -o "$NS_TMP/cagen" ||
	{ echo "FAIL: flood: building bench/cagen.c"; exit 1; }

ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -B 128 >"$NS_TMP/cat.out" 2>"$NS_TMP/cat.err" &
CAT_PID=$!
for _ in $(seq 50); do [ -n "$(ioc_xdp_on)" ] && break; sleep 0.1; done
[ -n "$(ioc_xdp_on)" ] || { echo "FAIL: flood: catrace did not attach: $(cat "$NS_TMP/cat.err")"; exit 1; }
t0=$(date +%s.%N)

ip netns exec "$NS_IOC" "$NS_TMP/cagen" serve -b "$IOC_ADDR" -p 5064 -r 0 \
	-d "$SECONDS_OF_FLOOD" >"$NS_TMP/srv.out" 2>"$NS_TMP/srv.err" &
SRV_PID=$!
for _ in $(seq 50); do grep -q listening "$NS_TMP/srv.out" && break; sleep 0.1; done
ip netns exec "$NS_CLI" "$NS_TMP/cagen" client -a "$IOC_ADDR" -p 5064 -c "$CHANNELS" \
	>"$NS_TMP/cli.out" 2>"$NS_TMP/cli.err"
wait "$SRV_PID"
SRV_PID=""
sleep 0.5
kill -INT "$CAT_PID"
wait "$CAT_PID"
rc=$?
CAT_PID=""
t1=$(date +%s.%N)

kv() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" "$2" | head -1; }
updates=$(kv msgs "$NS_TMP/srv.out")
srv_bytes=$(kv bytes "$NS_TMP/srv.out")
got=$(kv msgs "$NS_TMP/cli.out")
cli_bytes=$(kv bytes "$NS_TMP/cli.out")
cli_bad=$(kv bad "$NS_TMP/cli.out")
if [ -z "$updates" ] || [ -z "$got" ]; then
	echo "FAIL: flood: the generator did not report (server: $(cat "$NS_TMP/srv.out" "$NS_TMP/srv.err" | tr '\n' '|'), client: $(cat "$NS_TMP/cli.out" "$NS_TMP/cli.err" | tr '\n' '|'))"
	exit 1
fi

[ $rc -eq 0 ] && ok "catrace exit 0" || bad "catrace exit 0" "exit $rc: $(tail -3 "$NS_TMP/cat.err" | tr '\n' '|')"

# Messages on the wire: the client's VERSION, CLIENT_NAME, HOST_NAME, then
# a CREATE_CHAN and an EVENT_ADD per channel; the server's VERSION, an
# ACCESS_RIGHTS and a CREATE_CHAN reply per channel, a first update per
# subscription, then the updates it counted.
sent=$((3 + 2 * CHANNELS + 1 + 3 * CHANNELS + updates))
read -r captured dropped < <(sed -n 's/^\([0-9]*\) CA messages captured, \([0-9]*\) dropped by kernel.*/\1 \2/p' "$NS_TMP/cat.err")
if [ -n "${captured:-}" ] && [ $((captured + dropped)) -eq "$sent" ]; then
	ok "exact accounting: $captured received + $dropped dropped = $sent messages sent"
else
	bad "exact accounting" "received ${captured:-?} + dropped ${dropped:-?} != $sent sent ($(grep 'captured' "$NS_TMP/cat.err"))"
fi
if [ "${dropped:-0}" -gt 0 ]; then
	ok "the 128 KiB ring buffer overflowed ($dropped of $sent dropped)"
else
	bad "the 128 KiB ring buffer overflowed" "no drops: the flood did not flood ($sent messages)"
fi
lines=$(grep -c 'dropped by the kernel (ring buffer full) in the last' "$NS_TMP/cat.err")
reported=$(sed -n 's/^catrace: [0-9]* records (\([0-9]*\) CA messages) dropped by the kernel (ring buffer full).*/\1/p' "$NS_TMP/cat.err" |
	awk '{s += $1} END {print s + 0}')
# At most one line a second while it ran, plus the last one at exit.
max_lines=$(python3 -c "import math, sys; print(math.ceil(float(sys.argv[2]) - float(sys.argv[1])) + 1)" "$t0" "$t1")
if [ "$lines" -ge 2 ] && [ "$lines" -le "$max_lines" ]; then
	ok "drops reported live: $lines lines over $(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$t1") s (at most one a second)"
else
	bad "drops reported live, at most one line a second" "$lines lines, allowed 2..$max_lines: $(grep 'dropped by the kernel' "$NS_TMP/cat.err" | head -3 | tr '\n' '|')"
fi
# The live lines count the messages of the records refused; so does the
# exit summary.
if [ "$reported" -eq "${dropped:-0}" ]; then
	ok "the live reports add up to the total at exit ($reported messages)"
else
	bad "the live reports add up to the total at exit" "lines say $reported, exit summary ${dropped:-0} messages"
fi
if [ "$got" -eq "$updates" ] && [ "$cli_bytes" -eq "$srv_bytes" ] && [ "$cli_bad" -eq 0 ]; then
	ok "traffic unaffected: the client got all $updates updates ($cli_bytes bytes), none malformed"
else
	bad "traffic unaffected" "server sent $updates updates ($srv_bytes bytes), client got $got ($cli_bytes bytes, $cli_bad bad)"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
