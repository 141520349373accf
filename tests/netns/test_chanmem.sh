#!/usr/bin/env bash
# Channels created before catrace started get their names (issue 15): a
# live run saves its channel table (--channels-file), the next run loads
# it, checked against the circuits still established. Real softIoc and a
# camonitor that stays connected across four catrace runs:
#   1. catrace sees the camonitor connect; at its exit the table is saved.
#   2. A new catrace, started after the channel was created, names every
#      update of the monitor from the table.
#   3. The same with --no-channels-file: the updates have no name, so it
#      is the table that names them.
#   4. The camonitor reconnects (a new circuit): the saved circuit is
#      closed, left out, and nothing is named wrongly.
#   5. A file that is not a channel table: said, and the run goes on.
#   6. catrace top, started long after the monitor connected, names its
#      PV and its client (ip:port tcp); when the IOC dies, its rates fall
#      to 0 and each row says how long ago it was last heard.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: chanmem $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: chanmem $1${2:+: $2}"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }

[ -x "$CATRACE" ] || { echo "FAIL: chanmem: $CATRACE not built"; exit 1; }
command -v jq >/dev/null || skip "jq not installed"
ns_setup
ns_cleanup_hook() {
	local p
	for p in ${CAT_PID:-} ${MON_PID:-} ${TOP_PID:-}; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
ioc_start || { echo "FAIL: chanmem: IOC did not start"; exit 1; }
TABLE=$CATRACE_CHANNELS_FILE

# trace N OUT [options]: catrace on the IOC's end for N seconds after it
# says it traces, then SIGINT; JSON lines in OUT, stderr in OUT.err.
trace() {
	local secs=$1 out=$2
	shift 2
	ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" --json "$@" >"$out" 2>"$out.err" &
	CAT_PID=$!
	for _ in $(seq 100); do grep -q "^tracing on" "$out.err" && break; sleep 0.1; done
	sleep "$secs"
	kill -INT "$CAT_PID"
	wait "$CAT_PID"
	echo $? >"$out.rc"
	CAT_PID=""
}
# updates OUT: EVENT_ADD responses, and how many name T:calc.
updates() { jq -r 'select(.cmd == 1 and .dir == "response") | .pv // "-"' "$1" | sort | uniq -c | tr '\n' ' '; }
n_updates() { jq -r 'select(.cmd == 1 and .dir == "response") | .pv // "-"' "$1" | grep -c "${2:-.}"; }

# 1. The monitor connects while catrace runs.
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" --json >"$NS_TMP/t1" 2>"$NS_TMP/t1.err" &
CAT_PID=$!
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/t1.err" && break; sleep 0.1; done
ip netns exec "$NS_CLI" env PATH="$EPICS_BIN:$PATH" EPICS_CA_AUTO_ADDR_LIST=NO \
	EPICS_CA_ADDR_LIST="$IOC_ADDR" camonitor T:calc >"$NS_TMP/mon.out" 2>&1 &
MON_PID=$!
sleep 1.5
kill -INT "$CAT_PID"; wait "$CAT_PID"; rc=$?; CAT_PID=""
check "1: the run that saw the channel created exits 0 and saves the table" \
	'[ $rc -eq 0 ] && [ -s "$TABLE" ] && head -1 "$TABLE" | grep -qx "catrace-channels 1" && grep -q " = T:calc$" "$TABLE" && grep -q "^S " "$TABLE"' \
	"rc $rc; $(head -5 "$TABLE" 2>&1 | tr '\n' '|')"
check "1: it names the updates itself" '[ "$(n_updates "$NS_TMP/t1" "^T:calc$")" -gt 0 ]' "$(updates "$NS_TMP/t1")"

# 2. Started after the channel was created: named from the table.
trace 1.5 "$NS_TMP/t2"
all=$(n_updates "$NS_TMP/t2"); named=$(n_updates "$NS_TMP/t2" "^T:calc$")
check "2: a later run names every update of the monitor ($named of $all)" \
	'[ "$all" -ge 5 ] && [ "$named" = "$all" ] && [ "$(cat "$NS_TMP/t2.rc")" = 0 ]' "$(updates "$NS_TMP/t2")"
check "2: it says how many channels it named from the table" \
	'grep -q "^names from $TABLE: 1 channels and 1 subscriptions (0 of closed circuits left out)$" "$NS_TMP/t2.err"' \
	"$(grep -v '^tracing on' "$NS_TMP/t2.err" | head -3 | tr '\n' '|')"

# 3. Without the table nothing names them (what 2 shows is the table's).
trace 1.5 "$NS_TMP/t3" --no-channels-file
all=$(n_updates "$NS_TMP/t3"); named=$(n_updates "$NS_TMP/t3" "^T:calc$")
check "3: --no-channels-file: the updates have no name ($named of $all)" \
	'[ "$all" -ge 5 ] && [ "$named" = 0 ]' "$(updates "$NS_TMP/t3")"
why=$(jq -r 'select(.cmd == 1 and .dir == "response") | .pv_unknown' "$NS_TMP/t3" | sort -u | tr '\n' '|')
check "3: and each says why (JSON pv_unknown)" \
	'[ "$why" = "circuit opened before the trace began|" ]' "$why"
ip netns exec "$NS_IOC" timeout 10 "$CATRACE" top -i "$VETH_IOC" --once --interval 2 \
	--no-channels-file >"$NS_TMP/top3" 2>&1
check "3: catrace top counts the traffic of channels it cannot name" \
	'grep -qE "^ +[0-9.]+ messages/s about channels with no name" "$NS_TMP/top3"' \
	"$(tr '\n' '|' <"$NS_TMP/top3")"

# 4. The monitor reconnects on a new circuit; the saved one is closed.
kill -TERM "$MON_PID"; wait "$MON_PID" 2>/dev/null  # (a background job ignores SIGINT)
ip netns exec "$NS_CLI" env PATH="$EPICS_BIN:$PATH" EPICS_CA_AUTO_ADDR_LIST=NO \
	EPICS_CA_ADDR_LIST="$IOC_ADDR" camonitor T:calc >"$NS_TMP/mon2.out" 2>&1 &
MON_PID=$!
sleep 1
trace 1.5 "$NS_TMP/t4"
all=$(n_updates "$NS_TMP/t4"); named=$(n_updates "$NS_TMP/t4" "^T:calc$")
check "4: a closed circuit of the table is left out, nothing named wrongly ($named of $all)" \
	'[ "$all" -ge 5 ] && [ "$named" = 0 ] && grep -q "^names from .*: 0 channels and 0 subscriptions (2 of closed circuits left out)$" "$NS_TMP/t4.err"' \
	"$(updates "$NS_TMP/t4") $(grep -v '^tracing on' "$NS_TMP/t4.err" | head -2 | tr '\n' '|')"

# 5. Not a channel table: one line, and the run goes on.
printf 'garbage\n' >"$NS_TMP/bad"
trace 0.5 "$NS_TMP/t5" --channels-file "$NS_TMP/bad"
check "5: a file that is not a channel table is said, and the run goes on (exit 0)" \
	'[ "$(cat "$NS_TMP/t5.rc")" = 0 ] && grep -q "^catrace: channel table not loaded: .*not a catrace channel file" "$NS_TMP/t5.err"' \
	"rc $(cat "$NS_TMP/t5.rc"): $(tr '\n' '|' <"$NS_TMP/t5.err")"

# 6. top on a machine whose client connected before it started; then the
# IOC dies while top watches (its rates cover the last 10 s: 12 s later
# they are 0).  A catrace that sees the monitor reconnect saves the table
# that names its channel.
kill -TERM "$MON_PID"; wait "$MON_PID" 2>/dev/null
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" --json >"$NS_TMP/t6" 2>"$NS_TMP/t6.err" &
CAT_PID=$!
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/t6.err" && break; sleep 0.1; done
ip netns exec "$NS_CLI" env PATH="$EPICS_BIN:$PATH" EPICS_CA_AUTO_ADDR_LIST=NO \
	EPICS_CA_ADDR_LIST="$IOC_ADDR" camonitor T:calc >"$NS_TMP/mon3.out" 2>&1 &
MON_PID=$!
sleep 1.5
kill -INT "$CAT_PID"; wait "$CAT_PID"; CAT_PID=""
ip netns exec "$NS_IOC" timeout 10 "$CATRACE" top -i "$VETH_IOC" --once --interval 2 \
	--sort updates >"$NS_TMP/top6a" 2>&1
cli=$(ip netns exec "$NS_CLI" ss -Htn state established "dport = :5064" | awk '{print $3}' | head -1)
ip netns exec "$NS_IOC" timeout 20 "$CATRACE" top -i "$VETH_IOC" --once --interval 12 \
	--sort updates >"$NS_TMP/top6" 2>&1 &
TOP_PID=$!
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/top6" && break; sleep 0.1; done
sleep 0.5
kill -KILL "$IOC_PID" 2>/dev/null
wait "$TOP_PID"
check "6: top names the PV of a monitor made before it started, with a rate" \
	'grep -qE "^ +[1-9][0-9.]* +0\.00 +0\.00 +0\.00 +[0-9]+s  T:calc$" "$NS_TMP/top6a"' \
	"$(tr '\n' '|' <"$NS_TMP/top6a")"
check "6: and the server row counts its open circuit (snapshot taken before catrace ends them)" \
	'grep -qE "^ +[1-9][0-9]* +[0-9]+ +[0-9.]+ +[0-9]+ +[0-9]+ +[0-9]+s  $IOC_ADDR:5064$" "$NS_TMP/top6a"' \
	"$(tr '\n' '|' <"$NS_TMP/top6a")"
check "6: and its client as ip:port tcp ($cli)" \
	'[ -n "$cli" ] && grep -qE "^ +[0-9.]+ +0\.00 +[1-9][0-9.]* +[0-9]+s  $cli +tcp " "$NS_TMP/top6a"' \
	"$(tr '\n' '|' <"$NS_TMP/top6a")"
check "6: 10 s after the IOC died its PV and server rates are 0, last seen 9 s ago or more" \
	'grep -qE "^ +0\.00 +0\.00 +0\.00 +[0-9.]+ +[0-9]+s  T:calc$" "$NS_TMP/top6" &&
	 grep -qE "^ +[0-9]+ +[0-9]+ +0\.00 +[0-9]+ +[0-9]+ +([9]|[1-9][0-9])s  $IOC_ADDR:5064$" "$NS_TMP/top6"' \
	"$(tr '\n' '|' <"$NS_TMP/top6")"

kill -TERM "$MON_PID" 2>/dev/null; wait "$MON_PID" 2>/dev/null; MON_PID=""
echo "chanmem: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
