#!/usr/bin/env bash
# The figures of issue 4's note: for a pyepics scenario (a few thousand
# channels read, monitored and released, several times), the bytes written
# and the CPU time of `catrace -w` and of `tcpdump -w` (filtered on the CA
# ports) capturing the same interface at the same time.
#   scripts/measure-write.sh [ROUNDS]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
ROUNDS=${1:-5}
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"
ns_setup
ioc_start >/dev/null
ns_cleanup_hook() { kill -KILL ${CAT_PID:-} ${DUMP_PID:-} 2>/dev/null; return 0; }

cpu_ms() {  # utime + stime of a pid, in ms
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$1/stat"
}

ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -w "$NS_TMP/cat.pcap" 2>"$NS_TMP/cat.err" &
CAT_PID=$!
for _ in $(seq 50); do ip netns exec "$NS_IOC" ip link show "$VETH_IOC" | grep -q xdp && break; sleep 0.1; done
# Loading (the verifier's work is charged to catrace) is a one-time cost:
# measure it apart from the capture itself.
load_cpu=$(cpu_ms "$CAT_PID")
ip netns exec "$NS_IOC" tcpdump -i "$VETH_IOC" -s 0 -w "$NS_TMP/dump.pcap" \
	'port 5064 or port 5065' 2>"$NS_TMP/dump.err" &
DUMP_PID=$!
sleep 1
t0=$(date +%s.%N)
for _ in $(seq "$ROUNDS"); do
	cli_run timeout 60 /usr/bin/python3 - <<'PY'
import epics
fields = ["NAME", "DESC", "SCAN", "PINI", "PHAS", "EVNT", "DTYP", "STAT", "SEVR",
          "NSTA", "NSEV", "ACKS", "ACKT", "PACT", "PRIO", "UDF", "FLNK", "TPRO",
          "DISV", "DISA", "SDIS", "DISS", "LCNT", "PUTF", "RPRO", "BKPT", "UDFS"]
recs = ["T:ai", "T:ao", "T:calc", "T:long", "T:longout", "T:strin", "T:str",
        "T:bi", "T:bo", "T:mbbi"]
epics.caget_many(["%s.%s" % (r, f) for r in recs for f in fields], timeout=10)
PY
done
cli_run timeout 3 camonitor T:calc T:ai T:ao >/dev/null
t1=$(date +%s.%N)
sleep 1
cat_cpu=$(cpu_ms "$CAT_PID"); dump_cpu=$(cpu_ms "$DUMP_PID")
kill -INT "$DUMP_PID"; wait "$DUMP_PID"
kill -INT "$CAT_PID"; wait "$CAT_PID"
CAT_PID="" DUMP_PID=""
echo "scenario: $ROUNDS rounds, $(echo "$t1 - $t0" | bc) s"
echo "catrace -w: $(stat -c %s "$NS_TMP/cat.pcap") bytes, $(capinfos -c "$NS_TMP/cat.pcap" | awk '/packets/ {print $NF}') packets, CPU $(echo "$cat_cpu - $load_cpu" | bc) ms capturing (+ ${load_cpu} ms loading the programs once); $(head -1 "$NS_TMP/cat.err")"
echo "tcpdump -w: $(stat -c %s "$NS_TMP/dump.pcap") bytes, $(capinfos -c "$NS_TMP/dump.pcap" | awk '/packets/ {print $NF}') packets, CPU ${dump_cpu} ms; $(grep -h 'dropped\|captured' "$NS_TMP/dump.err" | tr '\n' ' ')"
