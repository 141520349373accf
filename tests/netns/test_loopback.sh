#!/usr/bin/env bash
# catrace -i lo (issue 12): on a loopback device every packet leaves and
# comes back in, and catrace used to print every UDP message twice (tc
# egress, then XDP ingress).  Clients and IOCs on one host, talking over
# 127.0.0.1, one IOC on 5064 and one on a tenth --port (5079; the kernel
# once kept only eight): live must equal `catrace -r` of tcpdump -i lo,
# message for message, each exactly once.  Then a filter expression live.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: loopback $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: loopback $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: loopback: $CATRACE not built"; exit 1; }
ns_setup
ns_cleanup_hook() {
	local p
	for p in ${CAT_PID:-} ${DUMP_PID:-}; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
ioc_exec ip link set lo up
ioc_start || { echo "FAIL: loopback: IOC did not start"; exit 1; }
# The second IOC, on port 5079 only.
ioc_exec env EPICS_CA_SERVER_PORT=5079 EPICS_CAS_INTF_ADDR_LIST=127.0.0.1 \
	EPICS_CAS_AUTO_BEACON_ADDR_LIST=NO EPICS_CAS_BEACON_ADDR_LIST=127.0.0.1 \
	EPICS_CA_AUTO_ADDR_LIST=NO EPICS_CA_ADDR_LIST="" \
	"$EPICS_BIN/softIoc" -S -d "$ROOT/tests/netns/records2.db" \
	</dev/null >>"$NS_TMP/ioc2.log" 2>&1 &
_NS_BG_PIDS+=("$!")
for _ in $(seq 50); do [ -n "$(ioc_exec ss -Hltn 'sport = :5079')" ] && break; sleep 0.1; done

PORTS=()
for p in $(seq 5070 5079); do PORTS+=(--port "$p"); done
ip netns exec "$NS_IOC" "$CATRACE" -i lo -t --no-proc "${PORTS[@]}" >"$NS_TMP/live.txt" 2>"$NS_TMP/live.err" &
CAT_PID=$!
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/live.err" && break; sleep 0.1; done
grep -q "^tracing on lo" "$NS_TMP/live.err" || { echo "FAIL: loopback: catrace did not attach: $(cat "$NS_TMP/live.err")"; exit 1; }
if grep -q "tc egress" "$NS_TMP/live.err"; then
	bad "only the ingress hook on lo" "$(grep '^tracing on' "$NS_TMP/live.err")"
else
	ok "only the ingress hook on lo ($(grep '^tracing on' "$NS_TMP/live.err"))"
fi
ip netns exec "$NS_IOC" tcpdump -i lo -U -s 0 -w "$NS_TMP/ref.pcap" >/dev/null 2>"$NS_TMP/tcpdump.err" &
DUMP_PID=$!
for _ in $(seq 50); do grep -q listening "$NS_TMP/tcpdump.err" && break; sleep 0.1; done

local_ca() {
	ioc_exec env PATH="$EPICS_BIN:$PATH" EPICS_CA_AUTO_ADDR_LIST=NO \
		EPICS_CA_ADDR_LIST=127.0.0.1 "$@"
}
local_ca caget T:ai T:str >/dev/null 2>&1
local_ca caput T:ao 2.5 >/dev/null 2>&1
local_ca env EPICS_CA_SERVER_PORT=5079 caget B:ai >/dev/null 2>&1
sleep 1

kill -INT "$DUMP_PID"; wait "$DUMP_PID"; DUMP_PID=""
kill -INT "$CAT_PID"; wait "$CAT_PID"; rc=$?; CAT_PID=""
[ "$rc" -eq 0 ] && ok "catrace exit 0" || bad "catrace exit 0" "exit $rc: $(tail -3 "$NS_TMP/live.err")"

"$CATRACE" -q -r "$NS_TMP/ref.pcap" --no-detect -t "${PORTS[@]}" >"$NS_TMP/offline.txt"
n_live=$(grep -c "SearchRequest(pv='T:ai'" "$NS_TMP/live.txt")
n_off=$(grep -c "SearchRequest(pv='T:ai'" "$NS_TMP/offline.txt")
[ "$n_live" -ge 1 ] && [ "$n_live" -eq "$n_off" ] && ok "each search once ($n_live live, $n_off in the capture)" ||
	bad "each search once" "$n_live live, $n_off in the capture"
if grep -qE "127\.0\.0\.1:5079->127\.0\.0\.1:[0-9]+ ReadNotifyResponse\(pv='B:ai', .*data=\[2\.718\]" "$NS_TMP/live.txt"; then
	ok "the tenth --port is traced"
else
	bad "the tenth --port is traced" "no ReadNotifyResponse from 5079: $(grep -c 5079 "$NS_TMP/live.txt") lines name it"
fi
grep -v ' Beacon(' "$NS_TMP/live.txt" >"$NS_TMP/live-cmp.txt"
grep -v ' Beacon(' "$NS_TMP/offline.txt" >"$NS_TMP/offline-cmp.txt"
if python3 "$ROOT/tests/netns/compare_flows.py" "$NS_TMP/live-cmp.txt" "$NS_TMP/offline-cmp.txt" >"$NS_TMP/cmp.txt"; then
	ok "live equals offline ($(cat "$NS_TMP/cmp.txt"))"
else
	bad "live equals offline" "$(head -12 "$NS_TMP/cmp.txt")"
fi
# A filter expression live, as with -r: only the IOC on 5079.
ip netns exec "$NS_IOC" "$CATRACE" -i lo -t --no-proc "${PORTS[@]}" port 5079 \
	>"$NS_TMP/flive.txt" 2>"$NS_TMP/flive.err" &
CAT_PID=$!
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/flive.err" && break; sleep 0.1; done
ip netns exec "$NS_IOC" tcpdump -i lo -U -s 0 -w "$NS_TMP/fref.pcap" >/dev/null 2>"$NS_TMP/ftcpdump.err" &
DUMP_PID=$!
for _ in $(seq 50); do grep -q listening "$NS_TMP/ftcpdump.err" && break; sleep 0.1; done
local_ca caget T:ai >/dev/null 2>&1
local_ca env EPICS_CA_SERVER_PORT=5079 caget B:ai >/dev/null 2>&1
sleep 1
kill -INT "$DUMP_PID"; wait "$DUMP_PID"; DUMP_PID=""
kill -INT "$CAT_PID"; wait "$CAT_PID"; CAT_PID=""
"$CATRACE" -q -r "$NS_TMP/fref.pcap" --no-detect -t "${PORTS[@]}" port 5079 >"$NS_TMP/foffline.txt"
if grep -q "pv='B:ai'" "$NS_TMP/flive.txt" && ! grep -q "pv='T:ai'" "$NS_TMP/flive.txt" &&
	python3 "$ROOT/tests/netns/compare_flows.py" "$NS_TMP/flive.txt" "$NS_TMP/foffline.txt" >"$NS_TMP/fcmp.txt"; then
	ok "filter expression live: 'port 5079' selects as with -r ($(cat "$NS_TMP/fcmp.txt"))"
else
	bad "filter expression live" "$(head -5 "$NS_TMP/fcmp.txt" 2>/dev/null | tr '\n' '|') $(head -3 "$NS_TMP/flive.txt" | tr '\n' '|') $(cat "$NS_TMP/flive.err" | tr '\n' '|')"
fi
echo "loopback: $pass passed, $fail failed"
[ $fail -eq 0 ]
