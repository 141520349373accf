#!/usr/bin/env bash
# Field dissection live (catrace -i --json=fields, and -V): real IOC and
# clients on a veth pair, tcpdump beside catrace on the IOC's end.  Every
# TCP field catrace prints is read back at its sequence number in the
# streams of tcpdump's capture (tests/fields_check.py --live), and -V
# prints a tree with the value's fields.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: fields-live $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: fields-live $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: fields-live: $CATRACE not built"; exit 1; }
ns_setup
ns_cleanup_hook() {
	[ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null
	[ -n "${TREE_PID:-}" ] && kill -KILL "$TREE_PID" 2>/dev/null
	[ -n "${DUMP_PID:-}" ] && kill -KILL "$DUMP_PID" 2>/dev/null
	return 0
}
ioc_start || { echo "FAIL: fields-live: IOC did not start"; exit 1; }

ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" --no-proc --no-channels-file \
	--json=fields --max-elements 0 >"$NS_TMP/live.json" 2>"$NS_TMP/live.err" &
CAT_PID=$!
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" --no-proc --no-channels-file \
	-V -X >"$NS_TMP/tree.txt" 2>"$NS_TMP/tree.err" &
TREE_PID=$!
for _ in $(seq 50); do
	[ "$(grep -c 'tracing' "$NS_TMP/live.err" "$NS_TMP/tree.err" | awk -F: '{s += $2} END {print s}')" -ge 2 ] && break
	sleep 0.1
done
ip netns exec "$NS_IOC" tcpdump -i "$VETH_IOC" -U -s 0 -w "$NS_TMP/ref.pcap" \
	>/dev/null 2>"$NS_TMP/tcpdump.err" &
DUMP_PID=$!
for _ in $(seq 50); do
	grep -q listening "$NS_TMP/tcpdump.err" && break
	sleep 0.1
done

cli_run caget T:ai T:str T:mbbi >/dev/null
cli_run caget -d DBR_CTRL_DOUBLE T:ai >/dev/null
cli_run caget -d DBR_CTRL_ENUM T:mbbi >/dev/null
cli_run caput -a T:wfdouble 5 1 2 3 4 5 >/dev/null
cli_run caget -# 5 T:wfdouble >/dev/null
sleep 1

kill -INT "$DUMP_PID"; wait "$DUMP_PID"; DUMP_PID=""
kill -INT "$CAT_PID" "$TREE_PID"
wait "$CAT_PID"; rc1=$?
wait "$TREE_PID"; rc2=$?
CAT_PID="" TREE_PID=""
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && ok "exit status" || bad "exit status" "$rc1 $rc2"

# -r gets no --json=fields line here: fields_check prints its own verdict.
out=$(python3 "$ROOT/tests/fields_check.py" --live "$NS_TMP/live.json" "$CATRACE" "$NS_TMP/ref.pcap")
case $out in
PASS:*) ok "fields at their sequence numbers (${out#*(}" ;;
*) bad "fields at their sequence numbers" "$(echo "$out" | head -8 | tr '\n' '|')" ;;
esac
if grep -qE '^    Value element \[0\]: 3\.14159 +ca\.dbr\.value \[msg\+[0-9]+ seq [0-9]+ len 8\]' "$NS_TMP/tree.txt"; then
	ok "-V: the value's field, with its sequence number"
else
	bad "-V" "no value field for T:ai in $(head -c 300 "$NS_TMP/tree.txt")"
fi
if grep -qE '^    Enum state name \[[0-9]+\]: ' "$NS_TMP/tree.txt" &&
   grep -qE '^    0000  00 0f ' "$NS_TMP/tree.txt"; then
	ok "-V -X: enum states and the bytes"
else
	bad "-V -X" "no enum states or hex dump"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
