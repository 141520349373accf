#!/usr/bin/env bash
# Writes hidden from the audit (issue 14, finding 1), over a real circuit
# to a softIoc, at the sequence number the client's socket uses next:
# 1. a WRITE with a wrong TCP checksum (a decoy), then the real WRITE
#    through the socket.  The IOC's stack drops the decoy and applies the
#    real value: the audit must show the real value, never the decoy's,
#    and count the dropped segment.
# 2. a WRITE sent in two IPv4 fragments.  The IOC puts it back together
#    and applies it: the audit must show it, and say it was reassembled.
# Each time `catrace -r` of catrace's own -w file must agree.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: decoy $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: decoy $1${2:+: $2}"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }

[ -x "$CATRACE" ] || { echo "FAIL: decoy: $CATRACE not built"; exit 1; }
ns_setup

ns_cleanup_hook() { [ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null; return 0; }
ioc_start || { echo "FAIL: decoy: IOC did not start"; exit 1; }

REAL=7.25 DECOY=3.5
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" --writes --print -w "$NS_TMP/cat.pcap" \
	>"$NS_TMP/audit" 2>"$NS_TMP/err" &
CAT_PID=$!
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/err" && break; sleep 0.1; done
ip netns exec "$NS_CLI" /usr/bin/python3 "$ROOT/tests/netns/ca_decoy.py" decoy "$VETH_CLI" \
	"$IOC_ADDR" T:ao "$REAL" "$DECOY" >"$NS_TMP/client" 2>&1
crc=$?
sleep 0.5
kill -INT "$CAT_PID"; wait "$CAT_PID"; rc=$?; CAT_PID=""
"$CATRACE" -r "$NS_TMP/cat.pcap" --writes >"$NS_TMP/offline" 2>"$NS_TMP/offline.err"

check "the IOC dropped the decoy and applied the real write" \
	'[ $crc = 0 ] && grep -qx "read back $REAL" "$NS_TMP/client"' "exit $crc: $(cat "$NS_TMP/client")"
check "the audit shows the real value" 'grep -q "pv=.T:ao., data=\[$REAL\]" "$NS_TMP/audit"' \
	"$(tr '\n' '|' <"$NS_TMP/audit")"
check "the audit never shows the decoy's" '! grep -qF "data=[$DECOY]" "$NS_TMP/audit"' \
	"$(grep -F "data=[$DECOY]" "$NS_TMP/audit" | head -2)"
check "the dropped segment is counted (exit $rc)" \
	'[ $rc = 0 ] && grep -q "^kernel: not decoded: 1 TCP segments of CA circuits with a wrong checksum" "$NS_TMP/err"' \
	"$(tr '\n' '|' <"$NS_TMP/err")"
# Live lines name the local processes; a file cannot.
lines() { cut -d" " -f2- "$1" | sed -E 's/ (client|server)=[^ ]+//g'; }
check "catrace -r of the -w file gives the same audit" \
	'[ -s "$NS_TMP/offline" ] && diff <(lines "$NS_TMP/audit") <(lines "$NS_TMP/offline") >/dev/null &&
	 grep -q "^not decoded: 1 TCP segments of CA circuits with a wrong checksum" "$NS_TMP/offline.err"' \
	"$(diff <(lines "$NS_TMP/audit") <(lines "$NS_TMP/offline") | head -4 | tr '\n' '|') $(tr '\n' '|' <"$NS_TMP/offline.err")"

# 2. In fragments.
FRAG=5.5
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" --writes --print -w "$NS_TMP/frag.pcap" \
	>"$NS_TMP/audit2" 2>"$NS_TMP/err2" &
CAT_PID=$!
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/err2" && break; sleep 0.1; done
ip netns exec "$NS_CLI" /usr/bin/python3 "$ROOT/tests/netns/ca_decoy.py" fragments "$VETH_CLI" \
	"$IOC_ADDR" T:ao "$FRAG" >"$NS_TMP/client2" 2>&1
crc=$?
sleep 0.5
now=$(cli_run caget -t T:ao 2>&1)
sleep 0.5
kill -INT "$CAT_PID"; wait "$CAT_PID"; rc=$?; CAT_PID=""
"$CATRACE" -r "$NS_TMP/frag.pcap" --writes >"$NS_TMP/offline2" 2>"$NS_TMP/offline2.err"
check "the IOC put the fragments together and applied the write" \
	'[ $crc = 0 ] && [ "$now" = "$FRAG" ]' "exit $crc: $(cat "$NS_TMP/client2"), caget: $now"
check "the audit shows the write sent in fragments" \
	'grep -q "WriteRequest(.*pv=.T:ao., data=\[$FRAG\]" "$NS_TMP/audit2"' "$(tr '\n' '|' <"$NS_TMP/audit2")"
check "the exit summary says it was put back together (exit $rc)" \
	'[ $rc = 0 ] && grep -q "^kernel: 1 fragmented CA datagrams put back together and decoded" "$NS_TMP/err2"' \
	"$(tr '\n' '|' <"$NS_TMP/err2")"
check "catrace -r of the -w file gives the same audit" \
	'grep -q "data=\[$FRAG\]" "$NS_TMP/offline2" && diff <(lines "$NS_TMP/audit2") <(lines "$NS_TMP/offline2") >/dev/null &&
	 grep -q "^1 fragmented CA datagrams put back together and decoded" "$NS_TMP/offline2.err"' \
	"$(diff <(lines "$NS_TMP/audit2") <(lines "$NS_TMP/offline2") | head -4 | tr '\n' '|') $(tr '\n' '|' <"$NS_TMP/offline2.err")"
echo "decoy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
