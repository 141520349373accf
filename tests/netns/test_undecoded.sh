#!/usr/bin/env bash
# CA packets catrace sees but cannot decode are never skipped silently
# (issue 14, finding 6): a SEARCH sent in two IPv4 fragments (a WRITE
# could be hidden so), and a SEARCH whose IPv4 length runs past its frame
# (receivers drop it: catrace must not print it as a search).  Each is
# said while tracing, counted in the exit summary and in /metrics, and
# nothing is printed for them.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: undecoded $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: undecoded $1${2:+: $2}"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }

[ -x "$CATRACE" ] || { echo "FAIL: undecoded: $CATRACE not built"; exit 1; }
command -v curl >/dev/null || skip "curl not installed"
ns_setup
ns_cleanup_hook() { [ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null; return 0; }
PORT=9477
cli_mac=$(ip netns exec "$NS_CLI" cat "/sys/class/net/$VETH_CLI/address")
ioc_mac=$(ip netns exec "$NS_IOC" cat "/sys/class/net/$VETH_IOC/address")
send() { ip netns exec "$NS_CLI" python3 "$ROOT/tests/netns/send_frames.py" "$VETH_CLI" \
	"$cli_mac" "$ioc_mac" "$CLI_ADDR" "$IOC_ADDR" "$1"; }

ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" --metrics "127.0.0.1:$PORT" \
	>"$NS_TMP/out" 2>"$NS_TMP/err" &
CAT_PID=$!
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/err" && break; sleep 0.1; done
send fragments
send overlap
send short
sleep 1.5
ip netns exec "$NS_IOC" curl -s "http://127.0.0.1:$PORT/metrics" >"$NS_TMP/m"
kill -INT "$CAT_PID"; wait "$CAT_PID"; rc=$?; CAT_PID=""

check "the SEARCH in fragments is put back together and printed" \
	'[ "$(grep -c "SearchRequest.*FRAG:HIDDEN:PV" "$NS_TMP/out")" = 1 ]' "$(grep HIDDEN "$NS_TMP/out" | head -3)"
check "nothing printed for those receivers drop" '! grep -q "SHORT:HIDDEN:PV\|OVERLAP:HIDDEN:PV" "$NS_TMP/out"' \
	"$(grep "SHORT\|OVERLAP" "$NS_TMP/out" | head -2)"
check "said while tracing" 'grep -q "^catrace: [0-9]* CA packets not decoded in the last" "$NS_TMP/err"' \
	"$(tr '\n' '|' <"$NS_TMP/err")"
check "the exit summary counts each (rc $rc)" \
	'[ $rc = 0 ] && grep -q "^kernel: not decoded: 1 CA packets whose IPv4 length runs past the frame (receivers drop them), 1 fragmented CA datagrams never whole" "$NS_TMP/err" &&
	 grep -q "^kernel: 1 fragmented CA datagrams put back together and decoded" "$NS_TMP/err"' \
	"$(tr '\n' '|' <"$NS_TMP/err")"
check "/metrics counts each" \
	'grep -q "^catrace_packets_total{iface=\"[^\"]*\",result=\"fragment\"} 2$" "$NS_TMP/m" && grep -q "^catrace_packets_total{iface=\"[^\"]*\",result=\"ip_length_short\"} 1$" "$NS_TMP/m" &&
	 grep -q "^catrace_ip_reassembled_total{iface=\"[^\"]*\"} 1$" "$NS_TMP/m"' \
	"$(grep "catrace_packets_total\|reassembled" "$NS_TMP/m" | tr '\n' '|')"
echo "undecoded: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
