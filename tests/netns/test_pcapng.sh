#!/usr/bin/env bash
# catrace -i IF -w FILE.pcapng, end to end: while clients talk to the IOC,
# catrace traces its side live, prints its lines (--print) and writes
# pcapng.  tshark reads the file back: its interface block names the
# interface ("catrace: CA on IF"), and the comments of its packets are the
# lines catrace printed (without the time), joined per packet, on the
# packets of those lines' time stamps.  capinfos accepts it.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: pcapng live $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: pcapng live $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: pcapng live: $CATRACE not built"; exit 1; }
command -v tshark >/dev/null || { echo "SKIP: pcapng live: no tshark"; exit 77; }
ns_setup
ns_cleanup_hook() {
	[ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null
	return 0
}
ioc_start || { echo "FAIL: pcapng live: IOC did not start"; exit 1; }

wait_xdp() {
	for _ in $(seq 50); do
		ip netns exec "$NS_IOC" ip link show "$VETH_IOC" | grep -q xdp && return 0
		sleep 0.1
	done
	return 1
}

ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -w "$NS_TMP/live.pcapng" --print --nano \
	--no-proc >"$NS_TMP/live.txt" 2>"$NS_TMP/cat.err" &
CAT_PID=$!
wait_xdp || bad "attach" "$(cat "$NS_TMP/cat.err")"
cli_run caget T:ai T:long T:str T:mbbi >/dev/null
cli_run caput -a T:wfdouble 5 1 2 3 4 5 >/dev/null
cli_run caget -# 20000 T:wfdouble >/dev/null 2>&1
cli_run timeout 2 camonitor T:calc >/dev/null
cli_run caget -w 1 NO:SUCH:PV >/dev/null 2>&1
sleep 1
# SIGUSR2 writes out what waits: the file is whole and holds packets with
# their comments while catrace goes on.
kill -USR2 "$CAT_PID"
sleep 0.5
mid=$(tshark -r "$NS_TMP/live.pcapng" -T fields -e frame.comment 2>/dev/null | grep -c .)
if kill -0 "$CAT_PID" 2>/dev/null && [ "${mid:-0}" -gt 20 ]; then
	ok "SIGUSR2 writes out the packets, with their comments ($mid)"
else
	bad "SIGUSR2" "$mid commented packets readable"
fi
kill -INT "$CAT_PID"; wait "$CAT_PID"; rc=$?; CAT_PID=""

[ $rc -eq 0 ] && ok "exit 0" || bad "exit 0" "exit $rc: $(cat "$NS_TMP/cat.err")"
if capinfos "$NS_TMP/live.pcapng" >"$NS_TMP/capinfos.txt" 2>&1 &&
	grep -q 'pcapng' "$NS_TMP/capinfos.txt"; then
	ok "capinfos reads pcapng"
else
	bad "capinfos" "$(tail -2 "$NS_TMP/capinfos.txt")"
fi
if grep -q "Name = $VETH_IOC" "$NS_TMP/capinfos.txt" &&
	grep -q "Description = catrace: CA on $VETH_IOC" "$NS_TMP/capinfos.txt"; then
	ok "the interface block names $VETH_IOC"
else
	bad "interface block" "$(grep -E 'Name|Description' "$NS_TMP/capinfos.txt")"
fi

# Both sides as "TIME<TAB>COMMENT", sorted by time (packets come from
# several CPUs: the file keeps their arrival order).
python3 - "$NS_TMP/live.txt" > "$NS_TMP/want" <<'PY'
import sys, decimal, collections
per = collections.OrderedDict()
for l in open(sys.argv[1]):
    ts, _, rest = l.rstrip("\n").partition(" ")
    per.setdefault(int(decimal.Decimal(ts) * 10**9), []).append(rest)
for ts in sorted(per):
    print("%d\t%s" % (ts, "; ".join(per[ts])))
PY
tshark -r "$NS_TMP/live.pcapng" -T fields -e frame.time_epoch -e frame.comment \
	2>/dev/null > "$NS_TMP/ts"
python3 - "$NS_TMP/ts" > "$NS_TMP/got" <<'PY'
import sys, decimal
rows = []
for l in open(sys.argv[1]):
    ts, _, c = l.rstrip("\n").partition("\t")
    if c:
        rows.append((int(decimal.Decimal(ts) * 10**9), c))
for ts, c in sorted(rows, key=lambda r: r[0]):
    print("%d\t%s" % (ts, c))
PY
if [ "$(wc -l < "$NS_TMP/want")" -gt 20 ] && cmp -s "$NS_TMP/want" "$NS_TMP/got"; then
	ok "comments are the printed lines per packet ($(wc -l < "$NS_TMP/want") packets)"
else
	bad "comments" "$(grep -v "^tracing|packets" "$NS_TMP/cat.err"; diff "$NS_TMP/want" "$NS_TMP/got" | head -6 | cut -c1-300; for t in $(diff "$NS_TMP/want" "$NS_TMP/got" | sed -n "s/^< \([0-9]*\)\t.*/\1/p"); do grep -c "^${t:0:10}\.${t:10}" "$NS_TMP/ts"; done)"
fi
if grep -q 'EventAddResponse' "$NS_TMP/got" && grep -q "pv='T:ai'" "$NS_TMP/got"; then
	ok "comments name commands and PVs"
else
	bad "comments name commands and PVs"
fi

echo "pcapng live: $pass passed, $fail failed"
[ $fail -eq 0 ]
