#!/usr/bin/env bash
# A forged announcement cannot steer catrace (issue 14, finding 2).  With a
# real IOC and a camonitor running, somebody in the client namespace sends
# one beacon naming the IOC's address and port 2222, where a non-CA server
# (nc streaming zeros, say) listens; then a bounded transfer from it.
# catrace (--no-proc) must print no line of that port, count the flow
# refused, copy nothing of it (packets matched stay few, nothing dropped),
# trace every camonitor update with its PV name; `catrace -r` of tcpdump's
# capture says the same.  A legitimate second IOC on an ephemeral TCP port
# is traced after being learned from its search reply (its new circuit
# opens with VERSION), but not its circuit opened before catrace started;
# a second catrace, reading /proc, confirms it as a local CA server, and
# then that circuit is traced too.  Transfer times are printed.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

FAKE_PORT=2222
XFER_MIB=${XFER_MIB:-40}

pass=0 fail=0
ok() { echo "PASS: forged-beacon $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: forged-beacon $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: forged-beacon: $CATRACE not built"; exit 1; }
[ -x /usr/bin/python3 ] || skip "forged-beacon: no /usr/bin/python3"
ns_setup
ns_cleanup_hook() {
	local p
	for p in ${CAT_PID:-} ${DUMP_PID:-} ${MON_PID:-} ${MON2_PID:-} ${SRV_PID:-}; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
ioc_start || { echo "FAIL: forged-beacon: IOC did not start"; exit 1; }
# The second IOC: UDP 5064 shared with the first, an ephemeral TCP port
# that only its search replies (and beacons) tell.
ip netns exec "$NS_IOC" env EPICS_CAS_AUTO_BEACON_ADDR_LIST=NO \
	EPICS_CAS_BEACON_ADDR_LIST="$CLI_ADDR" EPICS_CA_AUTO_ADDR_LIST=NO \
	EPICS_CA_ADDR_LIST="" "$EPICS_BIN/softIoc" -S -d "$ROOT/tests/netns/records2.db" \
	</dev/null >>"$NS_TMP/ioc2.log" 2>&1 &
IOC2_PID=$!
_NS_BG_PIDS+=("$IOC2_PID")
# Clients search the subnet broadcast address: a unicast search reaches
# only one of two IOCs sharing UDP 5064.
cli() { cli_run env EPICS_CA_ADDR_LIST=10.201.7.255 "$@"; }
for _ in $(seq 50); do cli caget -w 1 B:ai >/dev/null 2>&1 && break; sleep 0.2; done
# Its TCP port: the one listener that is not the first IOC's 5064.
IOC2_PORT=$(ioc_exec ss -Hltn | awk '{ n = split($4, a, ":"); if (a[n] != 5064) { print a[n]; exit } }')
[ -n "$IOC2_PORT" ] || { echo "FAIL: forged-beacon: second IOC's TCP port not found"; exit 1; }

# The non-CA server: XFER_MIB MiB of zeros per connection, as
# `nc -l 2222 </dev/zero` would send (the issue's measurement): zeros read
# as a stream of 16-byte VERSION headers to a decoder that takes the flow
# for CA from its start, the costliest bytes there are.
ioc_exec /usr/bin/python3 - "$FAKE_PORT" "$XFER_MIB" >"$NS_TMP/srv.log" 2>&1 <<'PY' &
import socket, sys
port, mib = int(sys.argv[1]), int(sys.argv[2])
chunk = bytes(1 << 20)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(4)
while True:
    c, _ = s.accept()
    for _ in range(mib):
        c.sendall(chunk)
    c.close()
PY
SRV_PID=$!
_NS_BG_PIDS+=("$SRV_PID")
for _ in $(seq 50); do [ -n "$(ioc_exec ss -Hltn "sport = :$FAKE_PORT")" ] && break; sleep 0.1; done

# One bounded transfer from the client namespace; prints "BYTES SECONDS".
transfer() {
	ip netns exec "$NS_CLI" timeout 60 /usr/bin/python3 - "$IOC_ADDR" "$FAKE_PORT" <<'PY'
import socket, sys, time
t0 = time.monotonic()
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
n = 0
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    n += len(b)
print(n, "%.3f" % (time.monotonic() - t0))
PY
}
read -r base_bytes base_s < <(transfer)
[ "${base_bytes:-0}" -ge $((XFER_MIB << 20)) ] ||
	{ echo "FAIL: forged-beacon: the transfer without catrace failed (${base_bytes:-0} bytes)"; exit 1; }

# A circuit opened before catrace starts, to the second IOC.
cli timeout 40 camonitor B:ai >"$NS_TMP/mon2.out" 2>&1 &
MON2_PID=$!
sleep 1

# tcpdump beside catrace, headers and a little payload (small file): the
# offline decoder must judge the capture as the kernel did.
ip netns exec "$NS_IOC" tcpdump -i "$VETH_IOC" -U -B 32768 -s 256 -w "$NS_TMP/ref.pcap" \
	>/dev/null 2>"$NS_TMP/tcpdump.err" &
DUMP_PID=$!
for _ in $(seq 50); do grep -q listening "$NS_TMP/tcpdump.err" && break; sleep 0.1; done
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -t --no-proc --metrics-file "$NS_TMP/m.prom" \
	>"$NS_TMP/live.txt" 2>"$NS_TMP/live.err" &
CAT_PID=$!
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/live.err" && break; sleep 0.1; done
grep -q "^tracing on" "$NS_TMP/live.err" || { echo "FAIL: forged-beacon: catrace did not attach: $(cat "$NS_TMP/live.err")"; exit 1; }

cli timeout 8 camonitor T:calc >"$NS_TMP/mon.out" 2>&1 &
MON_PID=$!
# The same transfer with catrace attached, before any announcement: what
# attaching costs by itself (XDP on a veth makes it a per-packet path).
read -r att_bytes att_s < <(transfer)
# The forged beacon: RSRV_IS_UP naming the IOC's address and the fake port,
# sent to the repeater port as a beacon would be.
ip netns exec "$NS_CLI" /usr/bin/python3 - "$IOC_ADDR" "$FAKE_PORT" <<'PY'
import socket, struct, sys
ip = struct.unpack(">I", socket.inet_aton(sys.argv[1]))[0]
beacon = struct.pack(">HHHHII", 13, 0, 13, int(sys.argv[2]), 4242, ip)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(beacon, (sys.argv[1], 5065))
PY
sleep 0.2
read -r xfer_bytes xfer_s < <(transfer)

# The second IOC, learned from its search reply: with --no-proc nothing
# confirms it, so its new circuit is traced because it opens with VERSION,
# and the one opened before catrace started is not (its update unseen).
cli caget B:str >/dev/null 2>&1
sleep 3
cli caput B:ai 41 >/dev/null 2>&1
wait "$MON_PID"; MON_PID=""
sleep 1
kill -INT "$CAT_PID"; wait "$CAT_PID"; rc=$?; CAT_PID=""
kill -INT "$DUMP_PID"; wait "$DUMP_PID"; DUMP_PID=""
"$CATRACE" -r "$NS_TMP/ref.pcap" -t >"$NS_TMP/offline.txt" 2>"$NS_TMP/offline.err"

# Then catrace reading /proc: it confirms the second IOC (a local process
# listening on its port with a UDP socket on 5064), and the circuit opened
# before catrace started is CA: its monitor update is traced.
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -t >"$NS_TMP/live2.txt" 2>"$NS_TMP/live2.err" &
CAT_PID=$!
for _ in $(seq 100); do grep -q "^tracing on" "$NS_TMP/live2.err" && break; sleep 0.1; done
cli caget B:str >/dev/null 2>&1
sleep 3
cli caput B:ai 42 >/dev/null 2>&1
sleep 1
kill -INT "$CAT_PID"; wait "$CAT_PID"; CAT_PID=""
kill "$MON2_PID" 2>/dev/null; wait "$MON2_PID" 2>/dev/null; MON2_PID=""

[ "$rc" -eq 0 ] && ok "catrace exit 0" || bad "catrace exit 0" "exit $rc: $(tail -3 "$NS_TMP/live.err")"
[ "${xfer_bytes:-0}" -ge $((XFER_MIB << 20)) ] && ok "the transfer completed with catrace (${xfer_bytes} bytes)" ||
	bad "the transfer completed with catrace" "${xfer_bytes:-0} bytes"
nfake=$(grep -c ":$FAKE_PORT\b" "$NS_TMP/live.txt")
[ "$nfake" -eq 0 ] && ok "no line for port $FAKE_PORT" ||
	bad "no line for port $FAKE_PORT" "$nfake lines: $(grep -m2 ":$FAKE_PORT\b" "$NS_TMP/live.txt" | cut -c1-160 | tr '\n' '|')"
read -r captured dropped matched < <(sed -n 's/^\([0-9]*\) CA messages captured, \([0-9]*\) dropped by kernel, \([0-9]*\) packets matched.*/\1 \2 \3/p' "$NS_TMP/live.err")
# A 40 MiB transfer is over 28,000 packets; the CA traffic here a few hundred.
[ "${dropped:-1}" -eq 0 ] && [ "${matched:-100000}" -lt 3000 ] &&
	ok "nothing of the transfer copied ($matched packets matched, $dropped dropped, $captured messages)" ||
	bad "nothing of the transfer copied" "${matched:-?} packets matched, ${dropped:-?} dropped"
refused=$(sed -n 's/^learned servers: .* \([0-9]*\) refused.*/\1/p' "$NS_TMP/live.err")
[ "${refused:-0}" -ge 1 ] && ok "the refusal is counted ($(grep '^learned servers' "$NS_TMP/live.err"))" ||
	bad "the refusal is counted" "$(grep '^learned servers' "$NS_TMP/live.err" || echo 'no learned servers line')"
mref=$(sed -n 's/^catrace_learned_flows_total{.*verdict="refused"} \([0-9]*\)$/\1/p' "$NS_TMP/m.prom")
madm=$(sed -n 's/^catrace_learned_flows_total{.*verdict="admitted"} \([0-9]*\)$/\1/p' "$NS_TMP/m.prom")
mpend=$(sed -n 's/^catrace_learned_servers{.*state="pending"} \([0-9]*\)$/\1/p' "$NS_TMP/m.prom")
[ "${mref:-0}" = "${refused:-x}" ] && [ "${madm:-0}" -ge 1 ] && [ "${mpend:-0}" -ge 2 ] &&
	ok "the metrics say the same (refused $mref, admitted $madm, pending servers $mpend)" ||
	bad "the metrics say the same" "$(grep '^catrace_learned' "$NS_TMP/m.prom" | tr '\n' '|')"
nmon=$(grep -c '^T:calc ' "$NS_TMP/mon.out")
ntr=$(grep -c "EventAddResponse.*pv='T:calc'" "$NS_TMP/live.txt")
# timeout ends camonitor at any moment: an update already on the wire
# (traced) may never be printed, so one more traced than printed is right.
[ "$nmon" -ge 50 ] && [ "$ntr" -ge "$nmon" ] && [ "$ntr" -le $((nmon + 1)) ] &&
	ok "every camonitor update traced with its PV name ($ntr of $nmon)" ||
	bad "every camonitor update traced with its PV name" "$ntr traced, camonitor printed $nmon"
admitted=$(sed -n 's/^learned servers: .* \([0-9]*\) flows admitted.*/\1/p' "$NS_TMP/live.err")
confirmed=$(sed -n 's/^learned servers: [0-9]* known (\([0-9]*\) confirmed.*/\1/p' "$NS_TMP/live.err")
if grep -qE "ReadNotifyResponse.*pv='B:str'" "$NS_TMP/live.txt" && [ "${admitted:-0}" -ge 1 ] &&
	[ "${confirmed:-1}" -eq 0 ]; then
	ok "the second IOC (TCP port $IOC2_PORT, learned from its search reply) is traced: its circuit opened like CA ($admitted admitted)"
else
	bad "the second IOC (TCP port $IOC2_PORT, learned from its search reply) is traced" \
		"$(grep -c "ReadNotifyResponse.*pv='B:str'" "$NS_TMP/live.txt") B:str replies, ${admitted:-?} admitted, ${confirmed:-?} confirmed"
fi
grep -qE "^$IOC_ADDR:$IOC2_PORT->.*EventAddResponse.*41" "$NS_TMP/live.txt" &&
	bad "pending: the circuit opened before catrace is not CA" "its update traced" ||
	ok "pending: the circuit opened before catrace is not CA"
confirmed2=$(sed -n 's/^learned servers: [0-9]* known (\([0-9]*\) confirmed.*/\1/p' "$NS_TMP/live2.err")
if [ "${confirmed2:-0}" -ge 1 ] && grep -qE "^$IOC_ADDR:$IOC2_PORT->.*EventAddResponse.*42" "$NS_TMP/live2.txt"; then
	ok "reading /proc, the second IOC is confirmed: its circuit opened before catrace is traced ($confirmed2 confirmed)"
else
	bad "reading /proc, the second IOC is confirmed: its circuit opened before catrace is traced" \
		"${confirmed2:-0} confirmed; $(grep -c "^$IOC_ADDR:$IOC2_PORT->" "$NS_TMP/live2.txt") lines from it"
fi
# Offline, the same capture: no line for the fake port, the refusal
# counted, the same monitor updates.
noff=$(grep -c ":$FAKE_PORT\b" "$NS_TMP/offline.txt")
ntr_off=$(grep -c "EventAddResponse.*pv='T:calc'" "$NS_TMP/offline.txt")
# tcpdump may lose packets of the transfer's burst (it says how many):
# then an update may be missing from its file, not from catrace's view.
tdrop=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$NS_TMP/tcpdump.err")
if [ "$noff" -eq 0 ] && { [ "$ntr_off" -eq "$ntr" ] || [ "${tdrop:-0}" -gt 0 ]; } &&
	grep -q "[1-9][0-9]* refused" "$NS_TMP/offline.err"; then
	ok "catrace -r of tcpdump's capture: no line for port $FAKE_PORT, the refusal counted, $ntr_off updates (live $ntr; tcpdump dropped ${tdrop:-0})"
else
	bad "catrace -r of tcpdump's capture" "$noff lines for $FAKE_PORT, $ntr_off T:calc updates (live $ntr); $(grep learned "$NS_TMP/offline.err")"
fi
echo "forged-beacon: live: $nfake lines for port $FAKE_PORT, ${matched:-?} packets matched, ${captured:-?} messages captured, ${dropped:-?} dropped by kernel"
echo "forged-beacon: transfer of $XFER_MIB MiB: ${base_s}s without catrace, ${att_s:-?}s with catrace attached, ${xfer_s:-?}s with catrace and the forged beacon"
echo "forged-beacon: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
