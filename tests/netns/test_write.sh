#!/usr/bin/env bash
# catrace -w, end to end: while catrace traces the IOC side live and writes
# every CA packet, tcpdump captures the same interface.  The file catrace
# writes must pass capinfos and tshark, hold the same CA packets as
# tcpdump's (same bytes, same order per flow direction), and decode with
# `catrace -r` to exactly what catrace printed live.  Also -w - into
# `catrace -r -`, and rotation.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: write $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: write $1${2:+: $2}"; fail=$((fail + 1)); }

[ -x "$CATRACE" ] || { echo "FAIL: write: $CATRACE not built"; exit 1; }
ns_setup
ns_cleanup_hook() {
	local p
	for p in ${CAT_PID:-} ${DUMP_PID:-} ${PIPE_PID:-}; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
ioc_start || { echo "FAIL: write: IOC did not start"; exit 1; }

wait_xdp() {
	for _ in $(seq 50); do
		ip netns exec "$NS_IOC" ip link show "$VETH_IOC" | grep -q xdp && return 0
		sleep 0.1
	done
	return 1
}

scenarios() {
	cli_run caget T:ai T:long T:str T:mbbi >/dev/null
	cli_run caput -a T:wfdouble 5 1 2 3 4 5 >/dev/null
	cli_run caget -# 20000 T:wfdouble >/dev/null 2>&1
	cli_run caput -c -w 2 T:ao 5.5 >/dev/null
	cli_run timeout 2 camonitor T:calc >/dev/null
	cli_run caget -w 1 NO:SUCH:PV >/dev/null 2>&1
	cli_run timeout 60 /usr/bin/python3 - >/dev/null 2>&1 <<'PY'
import epics
fields = ["NAME", "DESC", "SCAN", "PINI", "PHAS", "EVNT", "DTYP", "STAT", "SEVR",
          "NSTA", "NSEV", "ACKS", "ACKT", "PACT", "PRIO", "UDF", "FLNK", "TPRO"]
names = ["%s.%s" % (r, f) for r in ("T:ai", "T:ao", "T:calc", "T:long", "T:longout",
         "T:strin", "T:str", "T:bi", "T:bo", "T:mbbi") for f in fields]
epics.caget_many(names, timeout=10)
PY
}

# 1. -w FILE --print, with tcpdump alongside.
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -w "$NS_TMP/cat.pcap" --print -t --no-proc \
	--value-bytes 256 >"$NS_TMP/live.txt" 2>"$NS_TMP/cat.err" &
CAT_PID=$!
wait_xdp || bad "attach" "$(cat "$NS_TMP/cat.err")"
ip netns exec "$NS_IOC" tcpdump -i "$VETH_IOC" -U -s 0 -w "$NS_TMP/ref.pcap" \
	>/dev/null 2>"$NS_TMP/tcpdump.err" &
DUMP_PID=$!
for _ in $(seq 50); do grep -q listening "$NS_TMP/tcpdump.err" && break; sleep 0.1; done
scenarios
sleep 1
kill -INT "$DUMP_PID"; wait "$DUMP_PID"; DUMP_PID=""
kill -INT "$CAT_PID"; wait "$CAT_PID"; rc=$?; CAT_PID=""

[ $rc -eq 0 ] && ok "exit 0" || bad "exit 0" "exit $rc: $(cat "$NS_TMP/cat.err")"
if capinfos "$NS_TMP/cat.pcap" >"$NS_TMP/capinfos.txt" 2>&1; then
	ok "capinfos reads it ($(grep -E 'Number of packets' "$NS_TMP/capinfos.txt" | tr -s ' '))"
else
	bad "capinfos reads it" "$(tail -2 "$NS_TMP/capinfos.txt")"
fi
# (tshark warns on stderr when run as root: that line is not about the file.)
if tshark -r "$NS_TMP/cat.pcap" >"$NS_TMP/tshark.txt" 2>"$NS_TMP/tshark.err" &&
	! grep -v 'Running as user "root"' "$NS_TMP/tshark.err" | grep -q .; then
	ok "tshark reads it ($(wc -l <"$NS_TMP/tshark.txt") packets)"
else
	bad "tshark reads it" "$(head -3 "$NS_TMP/tshark.err")"
fi
grep -qi "precision: *nanoseconds" "$NS_TMP/capinfos.txt" && ok "nanosecond time stamps" ||
	bad "nanosecond time stamps" "$(grep -i resolution "$NS_TMP/capinfos.txt")"
grep -qE "dropped by kernel" "$NS_TMP/cat.err" && grep -qE ", 0 dropped by kernel" "$NS_TMP/cat.err" &&
	ok "no drops" || bad "no drops" "$(cat "$NS_TMP/cat.err")"
if python3 "$ROOT/tests/netns/compare_pcaps.py" "$NS_TMP/cat.pcap" "$NS_TMP/ref.pcap" \
	--skip-port 5065 >"$NS_TMP/cmp.txt"; then
	ok "same CA packets as tcpdump ($(cat "$NS_TMP/cmp.txt"))"
else
	bad "same CA packets as tcpdump" "$(head -8 "$NS_TMP/cmp.txt")"
fi
"$CATRACE" -q -r "$NS_TMP/cat.pcap" --no-detect -t >"$NS_TMP/offline.txt"
if cmp -s "$NS_TMP/offline.txt" "$NS_TMP/live.txt"; then
	ok "catrace -r of the file equals the live output ($(wc -l <"$NS_TMP/live.txt") lines)"
elif python3 "$ROOT/tests/netns/compare_flows.py" "$NS_TMP/live.txt" "$NS_TMP/offline.txt" >"$NS_TMP/cmp2.txt"; then
	ok "catrace -r of the file equals the live output per flow ($(cat "$NS_TMP/cmp2.txt"))"
else
	bad "catrace -r of the file equals the live output" "$(head -8 "$NS_TMP/cmp2.txt")"
fi

# 2. Quiet without --print; -w - into catrace -r -.
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -U -w - 2>"$NS_TMP/pipe.err" |
	"$CATRACE" -q -r - -t >"$NS_TMP/pipe.txt" &
PIPE_PID=$!
wait_xdp
cli_run caget T:ai >/dev/null
sleep 0.5
pkill -INT -f "$CATRACE -i $VETH_IOC -U -w -"
wait "$PIPE_PID"; PIPE_PID=""
grep -q "ReadNotifyResponse(pv='T:ai'" "$NS_TMP/pipe.txt" &&
	ok "-w - | catrace -r -" || bad "-w - | catrace -r -" "$(head -3 "$NS_TMP/pipe.txt") $(cat "$NS_TMP/pipe.err")"

# 3. Rotation by size: files of at most 1 MB, each valid, all together
# holding every packet once.
mkdir -p "$NS_TMP/rot"
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -w "$NS_TMP/rot/r.pcap" -C 1 \
	2>"$NS_TMP/rot.err" &
CAT_PID=$!
wait_xdp
cli_run caput -a T:wfdouble 20000 $(seq 20000) >/dev/null 2>&1
for _ in $(seq 10); do cli_run caget -# 20000 T:wfdouble >/dev/null 2>&1; done
sleep 0.5
kill -INT "$CAT_PID"; wait "$CAT_PID"; CAT_PID=""
nfiles=$(ls "$NS_TMP/rot" | wc -l)
allok=1
for f in "$NS_TMP"/rot/*; do capinfos "$f" >/dev/null 2>&1 || allok=0; done
[ "$nfiles" -ge 2 ] && [ $allok -eq 1 ] && ok "rotation -C 1: $nfiles valid files" ||
	bad "rotation -C 1" "$nfiles files, all valid: $allok; $(cat "$NS_TMP/rot.err")"

# Rotation by time with a file limit: reaching the limit is the normal
# end, as in tcpdump (exit 0 and one line saying so).
mkdir -p "$NS_TMP/gw"
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -w "$NS_TMP/gw/g-%s.pcap" -G 1 -W 2 \
	2>"$NS_TMP/gw.err" &
CAT_PID=$!
wait_xdp
for _ in $(seq 40); do
	kill -0 "$CAT_PID" 2>/dev/null || break
	cli_run caget T:ai >/dev/null 2>&1
	sleep 0.1
done
if kill -0 "$CAT_PID" 2>/dev/null; then
	bad "-G 1 -W 2 ends by itself" "still running after 2 files' time"
	kill -INT "$CAT_PID"
fi
wait "$CAT_PID"; rc_gw=$?; CAT_PID=""
[ "$rc_gw" -eq 0 ] && grep -q "Maximum file limit reached: 2" "$NS_TMP/gw.err" &&
	[ "$(ls "$NS_TMP/gw" | wc -l)" -eq 2 ] &&
	ok "-G 1 -W 2: two files, then a normal end (exit 0)" ||
	bad "-G 1 -W 2: a normal end" "exit $rc_gw, $(ls "$NS_TMP/gw" | wc -l) files: $(tail -2 "$NS_TMP/gw.err" | tr '\n' '|')"

# 4. A full disk: one clear line, exit non-zero, nothing left attached,
# and the file written so far still valid.
mkdir -p "$NS_TMP/full"
if mount -t tmpfs -o size=256k tmpfs "$NS_TMP/full" 2>/dev/null; then
	ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -w "$NS_TMP/full/f.pcap" \
		2>"$NS_TMP/full.err" &
	CAT_PID=$!
	wait_xdp
	for _ in $(seq 10); do
		kill -0 "$CAT_PID" 2>/dev/null || break
		cli_run caget -# 20000 T:wfdouble >/dev/null 2>&1
	done
	for _ in $(seq 50); do kill -0 "$CAT_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$CAT_PID" 2>/dev/null; then
		bad "disk full ends catrace" "still running after filling 256 KB"
		kill -INT "$CAT_PID"
	fi
	wait "$CAT_PID"; rc=$?; CAT_PID=""
	[ $rc -ne 0 ] && grep -q "f.pcap: No space left on device" "$NS_TMP/full.err" &&
		ok "disk full: exit $rc, '$(grep -m1 'No space' "$NS_TMP/full.err")'" ||
		bad "disk full error" "exit $rc: $(cat "$NS_TMP/full.err")"
	capinfos "$NS_TMP/full/f.pcap" >/dev/null 2>&1 &&
		ok "disk full: the partial file is valid" ||
		bad "disk full: the partial file is valid" "$(capinfos "$NS_TMP/full/f.pcap" 2>&1 | tail -1)"
	ip netns exec "$NS_IOC" ip link show "$VETH_IOC" | grep -q xdp &&
		bad "disk full: detached" || ok "disk full: detached"
	umount "$NS_TMP/full"
else
	echo "SKIP: write disk full: cannot mount a tmpfs"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
