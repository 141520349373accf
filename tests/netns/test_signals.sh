#!/usr/bin/env bash
# No signal an operator may send loses data (issue 15): catrace -i -w
# traces a caget loop; SIGUSR1 asks for a status line and catrace goes
# on; SIGUSR2 writes out what the -w file holds (readable while catrace
# runs); SIGHUP (a dropped SSH session) stops it cleanly, exit 0, with
# every buffered packet in the file.  Once these signals killed catrace
# and left the file with its 24-byte header alone.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: signals $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: signals $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: signals: $CATRACE not built"; exit 1; }
command -v capinfos >/dev/null || skip "capinfos not installed"
ns_setup
ns_cleanup_hook() {
	[ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null
	return 0
}
ioc_start || { echo "FAIL: signals: IOC did not start"; exit 1; }

PCAP=$NS_TMP/sig.pcap
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -w "$PCAP" >"$NS_TMP/cat.out" 2>"$NS_TMP/cat.err" &
CAT_PID=$!
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/cat.err" && break; sleep 0.1; done
grep -q "^tracing on" "$NS_TMP/cat.err" || { echo "FAIL: signals: catrace did not attach: $(cat "$NS_TMP/cat.err")"; exit 1; }
for _ in $(seq 5); do cli_run caget T:ai T:str >/dev/null 2>&1; done

packets() {  # packets in the file as it is on disk now
	capinfos -c -M "$1" 2>/dev/null | sed -n 's/^Number of packets: *\([0-9]*\).*/\1/p'
}

kill -USR1 "$CAT_PID"
for _ in $(seq 30); do grep -q "CA messages captured, .* s$" "$NS_TMP/cat.err" && break; sleep 0.1; done
if kill -0 "$CAT_PID" 2>/dev/null && grep -qE "^catrace: [1-9][0-9]* CA messages captured, 0 dropped by kernel, [0-9]+ packets matched \([0-9]+ seen\), [0-9.]+ s$" "$NS_TMP/cat.err"; then
	ok "SIGUSR1: a status line, and catrace goes on"
else
	bad "SIGUSR1: a status line, and catrace goes on" "$(tail -2 "$NS_TMP/cat.err" | tr '\n' '|')"
fi

before=$(stat -c %s "$PCAP")
kill -USR2 "$CAT_PID"
n=""
for _ in $(seq 30); do
	n=$(packets "$PCAP")
	[ -n "$n" ] && [ "$n" -gt 0 ] && break
	sleep 0.1
done
if kill -0 "$CAT_PID" 2>/dev/null && [ -n "$n" ] && [ "$n" -gt 0 ]; then
	ok "SIGUSR2: the -w file holds $n packets while catrace runs (was $before bytes)"
else
	bad "SIGUSR2: the -w file written out" "${n:-no} packets on disk, $(stat -c %s "$PCAP") bytes"
fi

for _ in $(seq 3); do cli_run caget T:long >/dev/null 2>&1; done
sleep 0.3
kill -HUP "$CAT_PID"
wait "$CAT_PID"; rc=$?; CAT_PID=""
total=$(packets "$PCAP")
[ "$rc" -eq 0 ] && ok "SIGHUP: a clean stop (exit 0)" || bad "SIGHUP: a clean stop" "exit $rc"
if grep -q "dropped by kernel, .* printed$" "$NS_TMP/cat.err" && [ -n "$total" ] && [ "$total" -gt "${n:-0}" ]; then
	ok "SIGHUP: every packet written ($total, $n before the last reads), summary printed"
else
	bad "SIGHUP: every packet written" "${total:-no} packets; $(tail -2 "$NS_TMP/cat.err" | tr '\n' '|')"
fi
# What catrace -r reads back names the last reads.
if "$CATRACE" -r "$PCAP" -q 2>/dev/null | grep -q "ReadNotifyResponse(pv='T:long'"; then
	ok "the file decodes to the reads made before SIGHUP"
else
	bad "the file decodes to the reads made before SIGHUP"
fi
echo "signals: $pass passed, $fail failed"
[ $fail -eq 0 ]
