#!/usr/bin/env bash
# /metrics under hostile clients (issue 14, finding 4): catrace traces the
# IOC side of the veth with --metrics while tests/netns/slow_http.py
# holds connections open on its port.  Checks:
#   - with 20 connections from 127.0.0.1 that trickle a header line every
#     second (never ending the head) and reconnect when cut, GET /metrics
#     succeeds within 1 s, every time, for several seconds, and so does
#     HEAD;
#   - 3 connections from 127.0.0.4 trickling a line every 0.3 s (under
#     every limit, so only a deadline cuts them) are cut 1 to 2 s after
#     their connect: a deadline for the whole request head, not an
#     inactivity timeout that each trickled byte resets;
#   - with 64 trickling connections from 127.0.0.2 and 8 from 127.0.0.3
#     that send a whole GET and never read, a scrape from 127.0.0.1 still
#     succeeds within 1 s;
#   - a POST with an 8 MiB body is answered 405 within 1 s, by curl (which
#     waits for 100-continue) and by a client that sends the body at once;
#   - catrace keeps tracing meanwhile: the cagets made during the attack
#     are counted in /metrics and printed, and SIGTERM ends it with 0.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
PROM="python3 $ROOT/tests/prom.py"
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: metrics-slow $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: metrics-slow $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: metrics-slow: $CATRACE not built"; exit 1; }
command -v curl >/dev/null || skip "curl not installed"
ns_setup
PORT=9464
URL=http://127.0.0.1:$PORT/metrics

ns_cleanup_hook() {
	[ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null
	return 0
}
in_ioc() { ip netns exec "$NS_IOC" "$@"; }
slow_http() { in_ioc /usr/bin/python3 "$ROOT/tests/netns/slow_http.py" "$@"; }
# scrapes N METHOD: N requests half a second apart, each allowed 1 s;
# prints "good N max SECONDS" (good: a 200 with the exposition).
scrapes() {
	local n=$1 method=$2 good=0 max=0 out code t
	for _ in $(seq "$n"); do
		if [ "$method" = HEAD ]; then
			out=$(in_ioc curl -s -I -m 1 -o /dev/null -w '%{http_code} %{time_total}' "$URL")
		else
			out=$(in_ioc curl -s -m 1 -o "$NS_TMP/s.prom" -w '%{http_code} %{time_total}' "$URL")
			grep -q '^# TYPE catrace_messages_total counter' "$NS_TMP/s.prom" 2>/dev/null ||
				out="bad-body ${out#* }"
		fi
		code=${out% *} t=${out#* }
		[ "$code" = 200 ] && good=$((good + 1))
		max=$(awk -v a="$max" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
		sleep 0.5
	done
	echo "good $good max $max"
}
reads_counted() {
	in_ioc curl -sf -m 2 "$URL" >"$NS_TMP/r.prom" || { echo none; return; }
	$PROM get "$NS_TMP/r.prom" \
		"catrace_messages_total{command=\"READ_NOTIFY\",direction=\"response\",iface=\"$VETH_IOC\"}"
}

ioc_start || { echo "FAIL: metrics-slow: IOC did not start"; exit 1; }
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" --metrics 127.0.0.1:$PORT \
	>"$NS_TMP/cat.out" 2>"$NS_TMP/cat.err" &
CAT_PID=$!
for _ in $(seq 100); do
	in_ioc curl -sf -o /dev/null "$URL" && break
	sleep 0.1
done
in_ioc curl -sf -o /dev/null "$URL" || { bad "serves /metrics" "$(cat "$NS_TMP/cat.err")"; exit 1; }
reads0=$(reads_counted)
[ "$reads0" = none ] && reads0=0

# 1. Slowloris from the scraper's own address.
slow_http trickle 127.0.0.1 $PORT 20 12 1 >"$NS_TMP/trickle1" 2>&1 &
ATTACK1=$!
slow_http trickle 127.0.0.1 $PORT 3 8 0.3 127.0.0.4 >"$NS_TMP/trickle4" 2>&1 &
ATTACK4=$!
sleep 1.5
get=$(scrapes 6 GET)
head=$(scrapes 2 HEAD)
N_GET=3
for _ in $(seq $N_GET); do cli_run caget T:ai >/dev/null 2>&1; done
wait $ATTACK1 $ATTACK4
read -r _ good _ max <<<"$get"
if [ "$good" = 6 ]; then ok "GET within 1 s under 20 trickling clients, 6 of 6 (longest $max s)"
else bad "GET within 1 s under 20 trickling clients" "$get"; fi
read -r _ good _ max <<<"$head"
if [ "$good" = 2 ]; then ok "HEAD within 1 s under 20 trickling clients, 2 of 2 (longest $max s)"
else bad "HEAD within 1 s under 20 trickling clients" "$head"; fi
read -r _ opened _ closed _ _ _ longest <"$NS_TMP/trickle4"
if [ "${closed:-0}" -ge 3 ] && awk -v l="$longest" 'BEGIN { exit !(l >= 0.9 && l <= 2.0) }'; then
	ok "trickling heads cut by their deadline, 1 to 2 s after connect ($closed of $opened, longest ${longest} s)"
else
	bad "trickling heads cut by their deadline, 1 to 2 s after connect" "$(cat "$NS_TMP/trickle4")"
fi
echo "metrics-slow: 20 trickling clients of 127.0.0.1: $(cat "$NS_TMP/trickle1")"

# 2. Many connections from other addresses: slow heads from 127.0.0.2,
# answers never read from 127.0.0.3.
slow_http trickle 127.0.0.1 $PORT 64 6 0.5 127.0.0.2 >"$NS_TMP/trickle2" 2>&1 &
ATTACK2=$!
slow_http noread 127.0.0.1 $PORT 8 6 127.0.0.3 >"$NS_TMP/noread" 2>&1 &
ATTACK3=$!
sleep 1.5
get=$(scrapes 4 GET)
wait $ATTACK2 $ATTACK3
read -r _ good _ max <<<"$get"
if [ "$good" = 4 ]; then ok "GET within 1 s beside 64 + 8 connections of other addresses, 4 of 4 (longest $max s)"
else bad "GET within 1 s beside 64 + 8 connections of other addresses" "$get; $(cat "$NS_TMP/trickle2")"; fi

# 3. Bodies are refused, not read.
head -c $((8 << 20)) /dev/zero | tr '\0' x >"$NS_TMP/body"
out=$(in_ioc curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' --data-binary @"$NS_TMP/body" "$URL")
if [ "${out% *}" = 405 ] && awk -v t="${out#* }" 'BEGIN { exit !(t < 1.0) }'; then
	ok "curl POST of 8 MiB: 405 in ${out#* } s"
else
	bad "curl POST of 8 MiB: 405 within 1 s" "$out"
fi
out=$(slow_http post 127.0.0.1 $PORT 8)
if [ "${out% *}" = 405 ] && awk -v t="${out#* }" 'BEGIN { exit !(t < 1.0) }'; then
	ok "POST of 8 MiB sent at once: 405 in ${out#* } s"
else
	bad "POST of 8 MiB sent at once: 405 within 1 s" "$out"
fi

# 4. Tracing went on.
reads1=$(reads_counted)
if [ "$reads1" != none ] && [ $((reads1 - reads0)) -ge $N_GET ]; then
	ok "cagets during the attack counted ($((reads1 - reads0)) READ_NOTIFY responses for $N_GET cagets)"
else
	bad "cagets during the attack counted" "$reads0 -> $reads1"
fi
lines=$(grep -c "ReadNotifyResponse(pv='T:ai'" "$NS_TMP/cat.out")
if [ "$lines" -ge $N_GET ]; then ok "cagets during the attack printed ($lines ReadNotifyResponse lines for T:ai)"
else bad "cagets during the attack printed" "$lines lines: $(tail -3 "$NS_TMP/cat.out")"; fi
kill -TERM $CAT_PID
for _ in $(seq 100); do kill -0 $CAT_PID 2>/dev/null || break; sleep 0.1; done
wait $CAT_PID
rc=$?
CAT_PID=""
if [ $rc = 0 ]; then ok "exit 0 after SIGTERM"; else bad "exit 0 after SIGTERM" "rc=$rc $(tail -3 "$NS_TMP/cat.err")"; fi

echo "metrics-slow: $pass passed, $fail failed"
[ $fail -eq 0 ]
