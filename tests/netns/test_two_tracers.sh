#!/usr/bin/env bash
# Two catrace processes on one interface (issue 15): the second used to
# fail with "attaching XDP: Device or resource busy".  Now it traces
# ingress with tc (tcx takes any number of programs) and says so; both get
# every message; stopping the second detaches only its own programs, and
# the first goes on tracing.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: two-tracers $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: two-tracers $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: two-tracers: $CATRACE not built"; exit 1; }
ns_setup
ns_cleanup_hook() {
	local p
	for p in ${A_PID:-} ${B_PID:-}; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
ioc_start || { echo "FAIL: two-tracers: IOC did not start"; exit 1; }

tracing() {  # tracing ERRFILE: wait for catrace's "tracing on" line
	for _ in $(seq 100); do grep -q "^tracing on" "$1" && return 0; sleep 0.1; done
	return 1
}
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -t --no-proc >"$NS_TMP/a.txt" 2>"$NS_TMP/a.err" &
A_PID=$!
tracing "$NS_TMP/a.err" || { echo "FAIL: two-tracers: the first did not attach: $(cat "$NS_TMP/a.err")"; exit 1; }
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -t --no-proc >"$NS_TMP/b.txt" 2>"$NS_TMP/b.err" &
B_PID=$!
if tracing "$NS_TMP/b.err" && grep -q "^tracing on $VETH_IOC (tc ingress, tc egress)" "$NS_TMP/b.err" &&
	grep -q "XDP is taken by another program, tracing ingress with tc" "$NS_TMP/b.err"; then
	ok "the second traces with tc, and says so"
else
	bad "the second traces with tc, and says so" "$(tr '\n' '|' <"$NS_TMP/b.err")"
fi

cli_run caget T:ai T:str >/dev/null 2>&1
sleep 0.5
kill -INT "$B_PID"; wait "$B_PID"; rc_b=$?; B_PID=""
[ "$rc_b" -eq 0 ] && ok "the second stops cleanly" || bad "the second stops cleanly" "exit $rc_b"
if [ -n "$(ioc_xdp_on)" ]; then
	ok "the first's XDP program stays attached"
else
	bad "the first's XDP program stays attached"
fi
cli_run caget T:long >/dev/null 2>&1
sleep 0.5
kill -INT "$A_PID"; wait "$A_PID"; rc_a=$?; A_PID=""
[ "$rc_a" -eq 0 ] && ok "the first stops cleanly" || bad "the first stops cleanly" "exit $rc_a"

for who in a b; do
	if grep -q "ReadNotifyResponse(pv='T:ai', .*data=\[3\.14159\]" "$NS_TMP/$who.txt" &&
		grep -q "ReadNotifyResponse(pv='T:str'" "$NS_TMP/$who.txt"; then
		ok "tracer $who got the reads made while both ran"
	else
		bad "tracer $who got the reads made while both ran" "$(wc -l <"$NS_TMP/$who.txt") lines"
	fi
done
# Every line the second printed, the first printed too (beacons aside:
# they come on their own schedule).
missing=$(grep -v ' Beacon(' "$NS_TMP/b.txt" | grep -vxFf "$NS_TMP/a.txt" | wc -l)
[ "$missing" -eq 0 ] && ok "both saw the same messages while both ran" ||
	bad "both saw the same messages while both ran" "$missing lines of the second are not the first's"
if grep -q "ReadNotifyResponse(pv='T:long'" "$NS_TMP/a.txt"; then
	ok "the first goes on after the second stopped"
else
	bad "the first goes on after the second stopped"
fi
echo "two-tracers: $pass passed, $fail failed"
[ $fail -eq 0 ]
