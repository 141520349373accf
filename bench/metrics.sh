#!/usr/bin/env bash
# Cost of serving /metrics (issue 5): catrace traces one end of a veth
# pair with --metrics; a search storm fills the per-PV table (100 pv
# labels, the default limit) and beacons from 50 fake servers add server
# series; then /metrics is fetched BENCH_SCRAPES times (default 300) one
# after another.  Prints the exposition's size, curl's time per request
# (median and 90th percentile) and catrace's CPU time per scrape (from
# /proc/PID/stat: user + system ticks over the run).  Then, under 16
# clients that trickle a header line every 2 s (issue 14; the clients of
# tests/netns/slow_http.py), 10 more scrapes (each allowed 15 s) and an
# 8 MiB POST (allowed 60 s): their times.  Figures, not a test: it never
# fails on a number.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CATRACE=${CATRACE:-$ROOT/.output/catrace}
SCRAPES=${BENCH_SCRAPES:-300}
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"
ns_cleanup_hook() { [ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null; return 0; }
ns_setup
URL=http://127.0.0.1:9464/metrics
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -q --no-print --metrics 9464 >/dev/null 2>"$NS_TMP/err" &
CAT_PID=$!
for _ in $(seq 100); do ip netns exec "$NS_IOC" curl -sf -o /dev/null "$URL" && break; sleep 0.1; done
ip netns exec "$NS_CLI" /usr/bin/python3 - <<'PY'
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
def search(cid, name):
    b = name.encode() + b"\0"; b += b"\0" * (-len(b) % 8)
    return struct.pack(">HHHHII", 6, len(b), 5, 13, cid, cid) + b
for rnd in range(3):
    for start in range(0, 2000, 20):
        s.sendto(b"".join(search(i, "BENCH:PV:%04d" % i) for i in range(start, start + 20)),
                 ("10.201.7.255", 5064))
# Beacons of 50 servers (ports 6000..6049) to the IOC side's repeater port.
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for seq in range(3):
    for port in range(6000, 6050):
        b.sendto(struct.pack(">HHHHII", 13, 0, 13, port, seq, 0), ("10.201.7.1", 5065))
    time.sleep(0.05)
PY
sleep 1
ip netns exec "$NS_IOC" curl -sf "$URL" >"$NS_TMP/m.prom"
bytes=$(wc -c <"$NS_TMP/m.prom")
lines=$(grep -vc '^#' "$NS_TMP/m.prom")
pvs=$(grep -c '^catrace_searches_total{' "$NS_TMP/m.prom")
servers=$(grep -c '^catrace_beacons_total{' "$NS_TMP/m.prom")
ticks() { awk '{print $14 + $15}' "/proc/$CAT_PID/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
ip netns exec "$NS_IOC" bash -c "for i in \$(seq $SCRAPES); do curl -s -o /dev/null -w '%{time_total}\n' $URL; done" \
	>"$NS_TMP/times"
t1=$(ticks)
sort -n "$NS_TMP/times" >"$NS_TMP/sorted"
med=$(awk -v n="$SCRAPES" 'NR == int((n + 1) / 2) {printf "%.2f", $1 * 1000}' "$NS_TMP/sorted")
p90=$(awk -v n="$SCRAPES" 'NR == int(n * 0.9) {printf "%.2f", $1 * 1000}' "$NS_TMP/sorted")
cpu_ms=$(echo "scale=3; ($t1 - $t0) * 1000 / $hz / $SCRAPES" | bc)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$CAT_PID/status")
echo "metrics: exposition $bytes bytes, $lines samples ($pvs pv labels, $servers servers)"
echo "metrics: $SCRAPES scrapes: curl time median ${med} ms, p90 ${p90} ms"
echo "metrics: catrace CPU per scrape ${cpu_ms} ms (${hz} Hz ticks: $((t1 - t0)) over the run); peak RSS ${rss} kB"

# Under slow clients (issue 14): 16 connections, a header line every 2 s.
ip netns exec "$NS_IOC" /usr/bin/python3 "$ROOT/tests/netns/slow_http.py" trickle 127.0.0.1 9464 \
	16 180 2 >/dev/null 2>&1 &
SLOW_PID=$!
sleep 2
ip netns exec "$NS_IOC" bash -c "for i in \$(seq 10); do curl -s -m 15 -o /dev/null -w '%{http_code} %{time_total}\n' $URL; done" \
	>"$NS_TMP/slow"
head -c $((8 << 20)) /dev/zero >"$NS_TMP/body"
post=$(ip netns exec "$NS_IOC" curl -s -m 60 -o /dev/null -w '%{http_code} %{time_total}' \
	--data-binary @"$NS_TMP/body" "$URL")
kill "$SLOW_PID" 2>/dev/null
wait "$SLOW_PID" 2>/dev/null
ok=$(awk '$1 == 200' "$NS_TMP/slow" | wc -l)
slow_med=$(sort -k2 -n "$NS_TMP/slow" | awk 'NR == 5 {printf "%.2f", $2 * 1000}')
slow_max=$(sort -k2 -n "$NS_TMP/slow" | awk 'END {printf "%.2f", $2 * 1000}')
echo "metrics: 10 scrapes under 16 trickling clients: $ok answered 200 (each allowed 15 s); curl time median ${slow_med} ms, max ${slow_max} ms"
echo "metrics: under 16 trickling clients: POST of 8 MiB answered ${post% *} in ${post#* } s (limit 60 s)"
