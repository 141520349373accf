#!/usr/bin/env bash
# Live robustness (issue 7), with a real IOC and real clients:
#   - `catrace -i IF | head -1` ends cleanly: exit 0, summary on stderr,
#     nothing left attached; so does `catrace -i IF -w - | head -c 100`;
#   - -Z USER: catrace gives up root once attached (uid, gid and every
#     capability gone), and keeps working: records keep flowing, -w keeps
#     writing, the counters are still read, the exit detaches; an unknown
#     user is one line and exit 2, before anything is attached.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: robust $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: robust $1${2:+: $2}"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }

[ -x "$CATRACE" ] || { echo "FAIL: robust: $CATRACE not built"; exit 1; }
id nobody >/dev/null 2>&1 || skip "no user 'nobody' to drop to"
ns_setup
ioc_start || { echo "FAIL: robust: IOC did not start"; exit 1; }
ns_cleanup_hook() {
	local p
	for p in ${CAT_PID:-} ${PIPE_PID:-}; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
wait_detached() {  # wait_detached IDS: until none of them is left (3 s)
	for _ in $(seq 30); do [ "$(catrace_links_left "$1")" -eq 0 ] && return 0; sleep 0.1; done
	return 1
}
# pid of the catrace running on this test's veth ("" when none).
catrace_pid() { pgrep -f "^$CATRACE -i $VETH_IOC" | head -1; }
# Wait until it has attached (XDP and tc): prints its link ids.
attached_links() {
	local ids=""
	for _ in $(seq 50); do
		ids=$(catrace_links_of "$(catrace_pid)")
		[ -n "$(ioc_xdp_on)" ] && [ "$(echo $ids | wc -w)" -ge 2 ] && break
		sleep 0.1
	done
	echo "$ids"
}

# ------------------------------------------------------------ | head -1
(
	ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" 2>"$NS_TMP/pipe.err" |
		head -1 >"$NS_TMP/pipe.out"
	echo "${PIPESTATUS[0]}" >"$NS_TMP/pipe.rc"
) &
PIPE_PID=$!
OURS=$(attached_links)
check "pipe: attached" '[ -n "$(ioc_xdp_on)" ] && [ -n "$OURS" ]' "$(cat "$NS_TMP/pipe.err")"
# Traffic until catrace notices its reader is gone: it writes (and finds
# the pipe closed) only when there is something to print.
for _ in $(seq 40); do
	[ -s "$NS_TMP/pipe.rc" ] && break
	cli_run caget T:ai >/dev/null 2>&1
	sleep 0.2
done
if [ -s "$NS_TMP/pipe.rc" ]; then
	wait "$PIPE_PID" 2>/dev/null
	PIPE_PID=""
	rc=$(cat "$NS_TMP/pipe.rc")
	check "pipe: '| head -1' ends catrace with exit 0 (not SIGPIPE)" '[ "$rc" = 0 ]' \
		"exit $rc: $(tr '\n' '|' <"$NS_TMP/pipe.err")"
	check "pipe: head got a CA line" 'grep -q "10.201.7" "$NS_TMP/pipe.out"' "$(cat "$NS_TMP/pipe.out")"
	check "pipe: summary on stderr, no error" \
		'grep -q "dropped by kernel" "$NS_TMP/pipe.err" && ! grep -q "^catrace:" "$NS_TMP/pipe.err"' \
		"$(tr '\n' '|' <"$NS_TMP/pipe.err")"
	wait_detached "$OURS"
	check "pipe: no XDP left" '[ -z "$(ioc_xdp_on)" ]' "$(ioc_xdp_on)"
	check "pipe: no catrace link left" '[ "$(catrace_links_left "$OURS")" -eq 0 ]' "links $OURS"
else
	bad "pipe: '| head -1' ends catrace" "still running after 8 s of traffic"
fi

# ------------------------------------------------ -w - | head -c 100
(
	ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -w - -U 2>"$NS_TMP/wpipe.err" |
		head -c 100 >"$NS_TMP/wpipe.out"
	echo "${PIPESTATUS[0]}" >"$NS_TMP/wpipe.rc"
) &
PIPE_PID=$!
OURS=$(attached_links)
for _ in $(seq 40); do
	[ -s "$NS_TMP/wpipe.rc" ] && break
	cli_run caget T:ai >/dev/null 2>&1
	sleep 0.2
done
if [ -s "$NS_TMP/wpipe.rc" ]; then
	wait "$PIPE_PID" 2>/dev/null
	PIPE_PID=""
	rc=$(cat "$NS_TMP/wpipe.rc")
	check "-w - | head -c 100: exit 0, no error line" \
		'[ "$rc" = 0 ] && ! grep -q "^catrace:" "$NS_TMP/wpipe.err"' \
		"exit $rc: $(tr '\n' '|' <"$NS_TMP/wpipe.err")"
	check "-w - | head -c 100: head got the pcap header" \
		'[ "$(head -c 4 "$NS_TMP/wpipe.out" | od -An -tx1 | tr -d " ")" = 4d3cb2a1 ]' \
		"$(head -c 4 "$NS_TMP/wpipe.out" | od -An -tx1)"
	wait_detached "$OURS"
	check "-w - | head -c 100: detached" \
		'[ -z "$(ioc_xdp_on)" ] && [ "$(catrace_links_left "$OURS")" -eq 0 ]' "links $OURS"
else
	bad "-w - | head -c 100 ends catrace" "still running after 8 s of traffic"
fi

# ------------------------------------------------------------------ -Z
"$CATRACE" -i "$VETH_IOC" -Z no-such-user-xyz >"$NS_TMP/z.out" 2>"$NS_TMP/z.err"
rc=$?
check "-Z unknown user: exit 2, one line, nothing attached" \
	'[ $rc -eq 2 ] && [ "$(wc -l <"$NS_TMP/z.err")" -eq 1 ] && grep -q "unknown user .no-such-user-xyz." "$NS_TMP/z.err" && [ -z "$(ioc_xdp_on)" ]' \
	"exit $rc: $(cat "$NS_TMP/z.err")"

# -Z failing at the drop itself (no CAP_SETGID/CAP_SETUID: capsh takes
# them away) fails the run, and undoes all the set-up: --pin's pins are
# removed, the -w file is complete, nothing stays attached. (Before the
# one cleanup ladder, this exit left the pins behind.)
if command -v capsh >/dev/null; then
	zpin=/sys/fs/bpf/catrace-ztest-$$
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null
	rm -rf "$zpin"
	# nsenter --net, not ip netns exec: the pins must land in this mount
	# namespace's bpffs, where the check looks (ip netns exec remounts /sys).
	nsenter --net="/var/run/netns/$NS_IOC" capsh --drop=cap_setgid,cap_setuid -- -c \
		"exec '$CATRACE' -i '$VETH_IOC' -Z nobody --pin '$zpin' -w '$NS_TMP/zfail.pcap'" \
		>"$NS_TMP/z.out" 2>"$NS_TMP/z.err"
	rc=$?
	check "-Z failing: exit 1 saying why, pins removed, -w file whole, nothing attached" \
		'[ $rc -eq 1 ] && grep -q "^catrace: -Z nobody: " "$NS_TMP/z.err" && [ ! -e "$zpin" ] && [ -z "$(ioc_xdp_on)" ] && capinfos "$NS_TMP/zfail.pcap" >/dev/null 2>&1' \
		"exit $rc, pins: $(ls "$zpin" 2>&1 | tr '\n' ' '), xdp: $(ioc_xdp_on), $(tr '\n' '|' <"$NS_TMP/z.err")"
	rm -rf "$zpin"
else
	echo "SKIP: -Z failing: capsh (libcap2-bin) not installed"
fi

ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" -Z nobody -w "$NS_TMP/z.pcap" --print \
	>"$NS_TMP/z.out" 2>"$NS_TMP/z.err" &
CAT_PID=$!
OURS=$(attached_links)
for _ in $(seq 50); do
	grep -q '^Uid:.*65534' "/proc/$CAT_PID/status" 2>/dev/null && break
	sleep 0.1
done
check "-Z nobody: attached" '[ -n "$(ioc_xdp_on)" ] && [ -n "$OURS" ]' "$(cat "$NS_TMP/z.err")"
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$CAT_PID/status" 2>/dev/null)
gids=$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$CAT_PID/status" 2>/dev/null)
caps=$(awk '/^CapEff:/ {print $2}' "/proc/$CAT_PID/status" 2>/dev/null)
check "-Z nobody: runs as nobody (uid, gid) with no capabilities" \
	'[ "$uids" = "65534 65534 65534 65534" ] && [ "$gids" = "$(id -g nobody) $(id -g nobody) $(id -g nobody) $(id -g nobody)" ] && [ "$caps" = 0000000000000000 ]' \
	"uid $uids gid $gids CapEff $caps"
# Traffic after the drop.
cli_run caget T:ai T:long >/dev/null 2>&1
cli_run caput T:ao 7.25 >/dev/null 2>&1
sleep 0.5
kill -INT "$CAT_PID"
wait "$CAT_PID"
rc=$?
CAT_PID=""
check "-Z nobody: exit 0 after SIGINT" '[ $rc -eq 0 ]' "exit $rc: $(tr '\n' '|' <"$NS_TMP/z.err")"
check "-Z nobody: records keep flowing after the drop" \
	"grep -q \"ReadNotifyResponse(pv='T:ai'\" \"\$NS_TMP/z.out\" && grep -q \"WriteRequest(pv='T:ao'\" \"\$NS_TMP/z.out\"" \
	"$(head -3 "$NS_TMP/z.out")"
check "-Z nobody: the kernel counters are still read (summary)" \
	'grep -qE "^[1-9][0-9]* CA messages captured, 0 dropped by kernel" "$NS_TMP/z.err"' \
	"$(tr '\n' '|' <"$NS_TMP/z.err")"
"$CATRACE" -r "$NS_TMP/z.pcap" >"$NS_TMP/z.read" 2>/dev/null
check "-Z nobody: -w kept writing (the file, created as root, holds the traffic)" \
	"grep -q \"ReadNotifyResponse(pv='T:ai'\" \"\$NS_TMP/z.read\" && grep -q \"WriteRequest(pv='T:ao'\" \"\$NS_TMP/z.read\"" \
	"$(head -3 "$NS_TMP/z.read")"
wait_detached "$OURS"
check "-Z nobody: detached at exit (no XDP, no links)" \
	'[ -z "$(ioc_xdp_on)" ] && [ "$(catrace_links_left "$OURS")" -eq 0 ]' "xdp '$(ioc_xdp_on)', links $OURS"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
