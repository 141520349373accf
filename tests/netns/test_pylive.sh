#!/usr/bin/env bash
# catrace.live (python/catrace over libcatrace) on the IOC end of the veth:
# a camonitor stream read from Python (equal to catrace -r of tcpdump's
# capture of it, message for message), then close(), garbage collection
# and Ctrl-C each detach at once (tests/netns/pylive.py checks, from the
# process itself, that none of its links is left); and afterwards no
# catrace program is left on the interface.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
OUT_DIR=$(dirname "$CATRACE")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: pylive $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: pylive $1${2:+: $2}"; fail=$((fail + 1)); }

LIB=$OUT_DIR/libcatrace.so.0
[ -e "$LIB" ] || { echo "FAIL: pylive: $LIB not built"; exit 1; }
ns_setup
ioc_start || { echo "FAIL: pylive: IOC did not start"; exit 1; }
ns_cleanup_hook() {
	[ -n "${PY_PID:-}" ] && kill -KILL "$PY_PID" 2>/dev/null
	[ -n "${DUMP_PID:-}" ] && kill -KILL "$DUMP_PID" 2>/dev/null
	return 0
}

# The sanitizer build's library needs their runtimes first (tests/python.sh).
PRELOAD=""
[[ $OUT_DIR == *-san ]] && PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
ip netns exec "$NS_IOC" env PYTHONPATH="$ROOT/python" CATRACE_LIB="$LIB" \
	LD_PRELOAD="$PRELOAD" ASAN_OPTIONS=detect_leaks=0 \
	timeout 120 /usr/bin/python3 "$ROOT/tests/netns/pylive.py" "$VETH_IOC" "$NS_TMP/ready" \
	"$NS_TMP/seen.json" \
	>"$NS_TMP/py.out" 2>"$NS_TMP/py.err" &
PY_PID=$!
for _ in $(seq 100); do
	[ -e "$NS_TMP/ready" ] && break
	kill -0 "$PY_PID" 2>/dev/null || break
	sleep 0.1
done
if [ -e "$NS_TMP/ready" ]; then
	# tcpdump too, for the offline reading of the same packets.
	ip netns exec "$NS_IOC" tcpdump -i "$VETH_IOC" -U -s 0 -w "$NS_TMP/ref.pcap" \
		>/dev/null 2>"$NS_TMP/tcpdump.err" &
	DUMP_PID=$!
	for _ in $(seq 50); do
		grep -q listening "$NS_TMP/tcpdump.err" && break
		sleep 0.1
	done
	cli_run timeout 6 camonitor T:calc >"$NS_TMP/camonitor.out" 2>&1 &
	CAM_PID=$!
	_NS_BG_PIDS+=("$CAM_PID")
else
	bad "attached" "$(tail -3 "$NS_TMP/py.err")"
fi
wait "$PY_PID"; rc=$?
PY_PID=""
cat "$NS_TMP/py.out"
pass=$((pass + $(grep -c '^PASS' "$NS_TMP/py.out")))
fail=$((fail + $(grep -c '^FAIL' "$NS_TMP/py.out")))
if [ $rc -eq 0 ]; then ok "python exit 0"; else bad "python exit $rc" "$(tail -5 "$NS_TMP/py.err")"; fi
# Live through the library = catrace -r of the same packets, message for
# message (times and packet numbers aside: live has no file's).
if [ -n "${DUMP_PID:-}" ]; then
	sleep 0.5
	kill -INT "$DUMP_PID" 2>/dev/null
	wait "$DUMP_PID" 2>/dev/null
	DUMP_PID=""
	n=$(wc -l <"$NS_TMP/seen.json")
	"$CATRACE" -q -r "$NS_TMP/ref.pcap" --json --pv T:calc | head -n "$n" >"$NS_TMP/offline.json"
	if /usr/bin/python3 -c '
import json, sys
def strip(path):
    out = []
    for line in open(path):
        d = json.loads(line)
        d.pop("ts"); d.pop("frame")
        out.append(d)
    return out
a, b = strip(sys.argv[1]), strip(sys.argv[2])
sys.exit(0 if a == b and a else 1)' "$NS_TMP/seen.json" "$NS_TMP/offline.json"; then
		ok "the $n messages read live equal catrace -r of tcpdump's capture"
	else
		bad "live equals catrace -r" "$(diff "$NS_TMP/seen.json" "$NS_TMP/offline.json" | head -5)"
	fi
fi
if [ -z "$(ioc_xdp_on)" ]; then ok "no XDP program left on $VETH_IOC"
else bad "no XDP program left on $VETH_IOC" "$(ioc_xdp_on)"; fi
grep -q 'T:calc' "$NS_TMP/camonitor.out" 2>/dev/null && ok "camonitor ran" ||
	bad "camonitor ran" "$(head -3 "$NS_TMP/camonitor.out" 2>/dev/null)"
[ $fail -eq 0 ]
