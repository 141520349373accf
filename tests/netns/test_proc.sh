#!/usr/bin/env bash
# Process attribution, live: catrace in the IOC's namespace names softIoc
# (its pid) on every message of the IOC's circuits and searches, a short
# caget's as well as a camonitor's; catrace in the client's namespace names
# camonitor on its circuit and caRepeater on the beacons it receives, and
# each short caget on all its lines (the kernel's records);
# --no-proc names nobody; without a usable /proc catrace says so once and
# goes on tracing.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: proc $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: proc $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: proc: $CATRACE not built"; exit 1; }
ns_setup
ns_cleanup_hook() {
	[ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null
	return 0
}
ioc_start || { echo "FAIL: proc: IOC did not start"; exit 1; }

# trace NS IFACE OUT [catrace options]: start catrace, wait until it says
# it traces (everything attached: the XDP program is not the last).
trace() {
	local ns=$1 dev=$2 out=$3
	shift 3
	ip netns exec "$ns" "$CATRACE" -i "$dev" -t "$@" >"$out" 2>"$out.err" &
	CAT_PID=$!
	for _ in $(seq 50); do
		grep -q '^tracing on' "$out.err" && return 0
		sleep 0.1
	done
	bad "attach on $dev" "$(cat "$out.err")"
}
stop() {
	kill -INT "$CAT_PID"
	wait "$CAT_PID"
	CAT_PID=""
}
# camonitor for a while, in the client namespace; its pid is $CAM_PID.
camonitor_start() {
	ip netns exec "$NS_CLI" env EPICS_CA_AUTO_ADDR_LIST=NO EPICS_CA_ADDR_LIST="$IOC_ADDR" \
		"$EPICS_BIN/camonitor" T:calc </dev/null >/dev/null 2>&1 &
	CAM_PID=$!
	_NS_BG_PIDS+=("$CAM_PID")
}
camonitor_stop() {  # killed and reaped quietly (no job report)
	{
		kill -KILL "$CAM_PID"
		wait "$CAM_PID"
	} 2>/dev/null
}

# 1. The IOC's side.
trace "$NS_IOC" "$VETH_IOC" "$NS_TMP/ioc.txt"
cli_run caget T:ai >/dev/null
cli_run caput T:ao 1.5 >/dev/null
camonitor_start
sleep 2
camonitor_stop
sleep 0.5
stop
n=$(wc -l <"$NS_TMP/ioc.txt")
# Every line names the IOC as the server's end, requests included (they
# once read "proc=softIoc", as if the IOC had sent them), and no client
# (the clients are in another namespace).
others=$(grep -vE " server=softIoc\[$IOC_PID\]$" "$NS_TMP/ioc.txt" | head -3)
if [ "$n" -ge 20 ] && [ -z "$others" ] && ! grep -q " client=" "$NS_TMP/ioc.txt"; then
	ok "IOC side: all $n lines name server=softIoc[$IOC_PID]"
else
	bad "IOC side: every line names server=softIoc[$IOC_PID]" "$n lines; e.g. $others"
fi
grep -q "ReadNotifyResponse(pv='T:ai'.* server=softIoc\[$IOC_PID\]$" "$NS_TMP/ioc.txt" &&
	ok "IOC side: a caget's short circuit" || bad "IOC side: a caget's short circuit"
grep -q "SearchRequest(pv='T:calc'.* server=softIoc\[$IOC_PID\]$" "$NS_TMP/ioc.txt" &&
	ok "IOC side: searches (UDP)" || bad "IOC side: searches (UDP)"
grep -q "EventAddRequest(pv='T:calc'.* server=softIoc\[$IOC_PID\]$" "$NS_TMP/ioc.txt" &&
	ok "IOC side: a client's request names the IOC as the server" ||
	bad "IOC side: a client's request names the IOC as the server"
grep -q "EventAddResponse(pv='T:calc'.* server=softIoc\[$IOC_PID\]$" "$NS_TMP/ioc.txt" &&
	ok "IOC side: monitor updates" || bad "IOC side: monitor updates"

# 2. The client's side: camonitor's circuit, and the repeater's beacons.
trace "$NS_CLI" "$VETH_CLI" "$NS_TMP/cli.txt" --json
camonitor_start
sleep 3
camonitor_stop
sleep 0.5
stop
REP_PID=$(ip netns exec "$NS_CLI" ss -Hlunp 'sport = :5065' | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
if python3 - "$NS_TMP/cli.txt" "$CAM_PID" "${REP_PID:-0}" >"$NS_TMP/cli.check" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
cam, rep = int(sys.argv[2]), int(sys.argv[3])
ev = [r for r in recs if r["command"] == "EventAddResponse"]
bad = [r for r in ev if r.get("client_proc") != {"pid": cam, "comm": "camonitor"}
       or "server_proc" in r]
beacons = [r for r in recs if r["command"] == "Beacon"]
bbad = [r for r in beacons if r.get("repeater_proc") != {"pid": rep, "comm": "caRepeater"}]
print("%d monitor updates name camonitor[%d], %d beacons caRepeater[%d]" % (len(ev), cam, len(beacons), rep))
if len(ev) < 10 or bad or bbad:
    print("wrong: %s %s" % (bad[:1], bbad[:1]))
    sys.exit(1)
PY
then
	ok "client side: $(cat "$NS_TMP/cli.check")"
else
	bad "client side" "$(cat "$NS_TMP/cli.check")"
fi

# 2b. Short-lived clients on the traced host (issue 15): each caget is over
# in milliseconds, before /proc could be read, so the kernel records who
# connected and searched; every line of every caget names it.
trace "$NS_CLI" "$VETH_CLI" "$NS_TMP/short.txt" --json
CAGET_PIDS=""
for _ in 1 2 3 4 5; do
	ip netns exec "$NS_CLI" env EPICS_CA_AUTO_ADDR_LIST=NO EPICS_CA_ADDR_LIST="$IOC_ADDR" \
		"$EPICS_BIN/caget" T:ai >/dev/null 2>&1 &
	CAGET_PIDS="$CAGET_PIDS $!"
	wait $!
done
sleep 0.5
stop
if python3 - "$NS_TMP/short.txt" $CAGET_PIDS >"$NS_TMP/short.check" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
pids = [int(p) for p in sys.argv[2:]]
# A caget's lines: its searches and its circuit (Beacons are the repeater's).
mine = [r for r in recs if r["command"] != "Beacon"]
named = {}
for r in mine:
    p = r.get("client_proc")
    if p and p["comm"] == "caget":
        named.setdefault(p["pid"], 0)
        named[p["pid"]] += 1
unnamed = [r["command"] for r in mine if not r.get("client_proc")]
print("%d of %d cagets named, on %d of %d lines" % (
    sum(1 for p in pids if p in named), len(pids), len(mine) - len(unnamed), len(mine)))
reads = [r for r in mine if r["command"] == "ReadNotifyResponse"]
if unnamed or sorted(named) != sorted(pids) or len(reads) != len(pids):
    print("unnamed: %s" % unnamed[:5])
    sys.exit(1)
PY
then
	ok "short-lived clients: $(cat "$NS_TMP/short.check")"
else
	bad "short-lived clients: every caget's lines name client=caget[PID]" \
		"$(cat "$NS_TMP/short.check") $(grep -v '^tracing on' "$NS_TMP/short.txt.err" | head -2)"
fi

# 3. --no-proc.
trace "$NS_IOC" "$VETH_IOC" "$NS_TMP/noproc.txt" --no-proc
cli_run caget T:ai >/dev/null
sleep 0.3
stop
if [ -s "$NS_TMP/noproc.txt" ] && ! grep -qE ' (client|server|repeater)=' "$NS_TMP/noproc.txt"; then
	ok "--no-proc names nobody"
else
	bad "--no-proc names nobody" "$(head -2 "$NS_TMP/noproc.txt")"
fi

# 4. No usable /proc (an empty one mounted over it, in a mount namespace
# of catrace's own): one line on stderr, and the trace goes on.
if ip netns exec "$NS_IOC" unshare -m true 2>/dev/null; then
	ip netns exec "$NS_IOC" unshare -m sh -c \
		'mount -t tmpfs none /proc && exec "$0" -i "$1" -t' "$CATRACE" "$VETH_IOC" \
		>"$NS_TMP/noproc2.txt" 2>"$NS_TMP/noproc2.err" &
	CAT_PID=$!
	for _ in $(seq 50); do
		ip netns exec "$NS_IOC" ip link show "$VETH_IOC" | grep -q xdp && break
		sleep 0.1
	done
	cli_run caget T:ai >/dev/null
	cli_run caget T:long >/dev/null
	sleep 0.3
	stop
	warn=$(grep -c 'process attribution off' "$NS_TMP/noproc2.err")
	if [ "$warn" -eq 1 ] && grep -q "catrace: process attribution off: /proc/net/.*: No such file" "$NS_TMP/noproc2.err" &&
		grep -q "ReadNotifyResponse(pv='T:long'" "$NS_TMP/noproc2.txt" &&
		! grep -qE ' (client|server|repeater)=' "$NS_TMP/noproc2.txt"; then
		ok "no /proc: said once ($(grep 'attribution off' "$NS_TMP/noproc2.err")), tracing goes on"
	else
		bad "no /proc" "$warn warnings: $(head -3 "$NS_TMP/noproc2.err"); $(grep -c . "$NS_TMP/noproc2.txt") lines"
	fi
else
	echo "SKIP: proc: no /proc case: unshare -m unavailable"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
