#!/usr/bin/env bash
# A SIGINT that reaches catrace while it is still loading its programs
# (the verifier takes seconds on a busy host) must stop it once attached,
# not be lost: a script's background job starts with SIGINT ignored, and
# catrace used to set its handler only after attaching, so such a catrace
# ran on forever (tests/netns/test_attach.sh hung on it).
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: early signal $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: early signal $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: early signal: $CATRACE not built"; exit 1; }
ns_setup
ns_cleanup_hook() {
	[ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null
	return 0
}

# Started as a background job of this (non-interactive) shell: SIGINT
# ignored until catrace sets its own handler.
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" >/dev/null 2>"$NS_TMP/cat.err" &
CAT_PID=$!
# Loading: its maps exist, no link yet.
loading=""
for _ in $(seq 1000); do
	fds=$(ls -l /proc/"$CAT_PID"/fd 2>/dev/null)
	if grep -q bpf_link <<<"$fds"; then
		break
	elif grep -q bpf-map <<<"$fds"; then
		loading=yes
		break
	fi
	sleep 0.01
done
if [ -z "$loading" ]; then
	echo "SKIP: early signal: catrace attached before it could be signalled while loading"
	kill -KILL "$CAT_PID" 2>/dev/null
	exit 77
fi
kill -INT "$CAT_PID"
for _ in $(seq 300); do
	kill -0 "$CAT_PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$CAT_PID" 2>/dev/null; then
	bad "SIGINT while loading stops catrace" "still running 30 s later"
	kill -KILL "$CAT_PID"
	wait "$CAT_PID" 2>/dev/null
else
	wait "$CAT_PID"; rc=$?
	[ $rc -eq 0 ] && grep -q "dropped by kernel" "$NS_TMP/cat.err" &&
		ok "SIGINT while loading stops catrace (exit 0, summary)" ||
		bad "SIGINT while loading stops catrace" "exit $rc: $(cat "$NS_TMP/cat.err")"
fi
CAT_PID=""
ip netns exec "$NS_IOC" ip link show "$VETH_IOC" | grep -q xdp &&
	bad "nothing left attached" || ok "nothing left attached"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
