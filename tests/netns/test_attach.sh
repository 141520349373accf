#!/usr/bin/env bash
# Attaching and detaching: catrace never leaves a program behind, however
# it exits (SIGINT, SIGTERM, SIGKILL), with XDP (native or generic) or
# with --no-xdp; traffic passes unchanged while it is attached; bad
# setups give one clear line and exit code 2.
# Exit: 0 pass, 1 fail, 77 skip.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CATRACE=$(realpath "${CATRACE:-$ROOT/.output/catrace}")
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

pass=0 fail=0
ok() { echo "PASS: attach $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: attach $1${2:+: $2}"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }

[ -x "$CATRACE" ] || { echo "FAIL: attach: $CATRACE not built"; exit 1; }
ns_setup
ioc_start || { echo "FAIL: attach: IOC did not start"; exit 1; }
ns_cleanup_hook() { [ -n "${CAT_PID:-}" ] && kill -KILL "$CAT_PID" 2>/dev/null; return 0; }

# How many of the ids in $OURS still exist.
ours_left() { catrace_links_left "$OURS"; }
xdp_on() { ioc_xdp_on; }

# start_catrace ARGS...: run it on the IOC side, wait until attached.
start_catrace() {
	# ip netns exec execs: $! is catrace itself, which the signals must reach.
	ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" "$@" >"$NS_TMP/cat.out" 2>"$NS_TMP/cat.err" &
	CAT_PID=$!
	for _ in $(seq 50); do
		# Its own links (the link fds it holds): other catrace
		# processes may add links meanwhile.
		OURS=$(grep -hs '^link_id:' /proc/"$CAT_PID"/fdinfo/* | awk '{print $2}' | tr '\n' ' ')
		if [ "$(echo $OURS | wc -w)" -ge 2 ] &&
			{ [ -n "$(xdp_on)" ] || [[ " $* " == *" --no-xdp "* ]]; }; then
			return 0
		fi
		kill -0 "$CAT_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

for sig in INT TERM KILL; do
	if ! start_catrace; then
		bad "attach before SIG$sig" "$(cat "$NS_TMP/cat.err")"
		continue
	fi
	check "XDP attached (before SIG$sig)" '[ -n "$(xdp_on)" ]'
	kill -"$sig" "$CAT_PID"
	wait "$CAT_PID"; rc=$?
	CAT_PID=""
	case $sig in
	KILL) check "killed by SIGKILL" '[ $rc -eq 137 ]' "exit $rc" ;;
	*) check "exit 0 after SIG$sig" '[ $rc -eq 0 ]' "exit $rc: $(cat "$NS_TMP/cat.err")"
	   check "summary printed after SIG$sig" 'grep -q "dropped by kernel" "$NS_TMP/cat.err"' ;;
	esac
	# The kernel closes a killed process's link fds a moment later.
	for _ in $(seq 30); do [ "$(ours_left)" -eq 0 ] && break; sleep 0.1; done
	check "no XDP left after SIG$sig" '[ -z "$(xdp_on)" ]' "$(xdp_on)"
	check "no catrace link left after SIG$sig" '[ "$(ours_left)" -eq 0 ]' \
		"links $OURS: $(ours_left) left"
done

# --no-xdp: tc on both directions, no XDP; it still sees requests.
if start_catrace --no-xdp; then
	check "--no-xdp attaches no XDP" '[ -z "$(xdp_on)" ]'
	cli_run caget T:ai >/dev/null 2>&1
	sleep 0.3
	kill -INT "$CAT_PID"; wait "$CAT_PID"; CAT_PID=""
	check "--no-xdp sees ingress requests" \
		"grep -q \"ReadNotifyRequest(pv='T:ai'\" \"\$NS_TMP/cat.out\"" "$(head -3 "$NS_TMP/cat.out")"
	check "--no-xdp sees egress replies" \
		"grep -q \"ReadNotifyResponse(pv='T:ai'\" \"\$NS_TMP/cat.out\""
else
	bad "--no-xdp attach" "$(cat "$NS_TMP/cat.err")"
fi

# Generic XDP by request.
if start_catrace --xdp-mode generic; then
	check "--xdp-mode generic" '[ "$(xdp_on)" = xdpgeneric ]' "$(xdp_on)"
	kill -INT "$CAT_PID"; wait "$CAT_PID"; CAT_PID=""
else
	bad "--xdp-mode generic attach" "$(cat "$NS_TMP/cat.err")"
fi

# Traffic passes unchanged: a byte stream to a port catrace is told is a
# CA server port (so every segment is walked as CA, random bytes and all)
# and back, checksummed on both ends, with catrace attached.  (Not 5064:
# the IOC holds it.)
if start_catrace -q --port 7000; then
	port=7000
	ip netns exec "$NS_IOC" python3 - "$port" >"$NS_TMP/echo.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.201.7.1", int(sys.argv[1]))); s.listen(1); s.settimeout(20)
c, _ = s.accept()
while True:
    b = c.recv(65536)
    if not b:
        break
    c.sendall(b)
c.close()
PY
	echo_pid=$!
	sleep 0.5
	res=$(ip netns exec "$NS_CLI" python3 - "$port" <<'PY'
import hashlib, os, random, socket, sys, threading
random.seed(7)
data = bytes(random.getrandbits(8) for _ in range(2_000_000))
s = socket.create_connection(("10.201.7.1", int(sys.argv[1])), timeout=20)
got = bytearray()
def rx():
    while len(got) < len(data):
        b = s.recv(65536)
        if not b:
            break
        got.extend(b)
t = threading.Thread(target=rx); t.start()
for i in range(0, len(data), 1000):
    s.sendall(data[i:i + 1000])
t.join(30)
s.close()
print(hashlib.sha256(data).hexdigest(), hashlib.sha256(bytes(got)).hexdigest(), len(got))
PY
)
	wait "$echo_pid" 2>/dev/null
	kill -INT "$CAT_PID"; wait "$CAT_PID"; CAT_PID=""
	read -r sent recv n <<<"$res"
	check "2 MB echoed unchanged through XDP and tc" '[ -n "$sent" ] && [ "$sent" = "$recv" ]' \
		"sent $sent, received $recv ($n bytes)"
else
	bad "attach for traffic test" "$(cat "$NS_TMP/cat.err")"
fi

# Errors: one line, exit 2.
"$CATRACE" -i nosuchif0 >"$NS_TMP/o" 2>"$NS_TMP/e"; rc=$?
check "no such interface" '[ $rc -eq 2 ] && [ "$(wc -l <"$NS_TMP/e")" -eq 1 ] && grep -q "nosuchif0: no such interface" "$NS_TMP/e"' \
	"exit $rc: $(cat "$NS_TMP/e")"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
	"$CATRACE" -i lo >"$NS_TMP/o" 2>"$NS_TMP/e"; rc=$?
check "without privileges: names the missing capabilities" \
	'[ $rc -eq 2 ] && [ "$(wc -l <"$NS_TMP/e")" -eq 1 ] && grep -q "CAP_BPF" "$NS_TMP/e"' \
	"exit $rc: $(cat "$NS_TMP/e")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
