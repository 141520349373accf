# shellcheck shell=bash
# Real-peer test harness for catrace's end-to-end tests: a softIoc and the
# CA command-line clients, each in its own network namespace, joined by a
# veth pair, so every CA packet crosses a real (virtual) link that catrace's
# XDP program can be attached to.
#
#   . tests/netns/lib.sh
#   ns_setup                     # namespaces + veth; EXIT trap tears down
#   ioc_start                    # softIoc -S with tests/netns/records.db
#   cli_run caget T:ai           # CA client in the client namespace
#
# Layout (IOC side / client side):
#   namespaces  $NS_IOC   / $NS_CLI     catr-ioc-<pid> / catr-cli-<pid>
#   veth ends   $VETH_IOC / $VETH_CLI   catri<pid>     / catrc<pid>
#   addresses   $IOC_ADDR / $CLI_ADDR   10.201.7.1/24  / 10.201.7.2/24
#
# After ns_setup: EPICS_BIN is the directory with softIoc/caget/..., NS_TMP
# a scratch directory removed at teardown, IOC_LOG the IOC's console log.
#
# skip/ns_setup exit the *calling shell*: call them at the test's top
# level, not inside $(...) or a pipeline, where they would only end a
# subshell.
#
# ns_setup traps EXIT (teardown) and turns INT/TERM into exits. bash runs
# a trap only after the current foreground command ends: for long waits
# use `sleep N & wait $!`, so a signal tears down at once.
#
# Processes a test starts in a namespace are killed at teardown whether or
# not it records them; a backgrounded direct child may be appended to
# _NS_BG_PIDS so it is also reaped quietly.
#
# Exit codes follow the project's convention: 0 pass, 1 fail, 77 skip.

CATRACE_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NETNS_LIB_DIR=$CATRACE_TOP/tests/netns

IOC_ADDR=10.201.7.1
CLI_ADDR=10.201.7.2
NET_PREFIX=24

# CA's default EPICS_CA_MAX_ARRAY_BYTES (16384) is smaller than
# T:wfdouble; both the IOC and the clients get this larger limit.
# Override by exporting CATRACE_CA_MAX_ARRAY_BYTES, or per call with
# extra env (ioc_start) / `cli_run env EPICS_CA_MAX_ARRAY_BYTES=...`.
: "${CATRACE_CA_MAX_ARRAY_BYTES:=1000000}"

# Seconds ioc_start waits for the IOC to answer a caget.
: "${IOC_START_TIMEOUT:=20}"

NS_IOC=""
NS_CLI=""
VETH_IOC=""
VETH_CLI=""
NS_TMP=""
IOC_LOG=""
IOC_PID=""
_NS_BG_PIDS=()
EPICS_BIN=""

skip() {
	echo "SKIP: $*"
	exit 77
}

# Locate (building on first use, ~1.5 min) the EPICS tools. An explicit
# CATRACE_EPICS_BIN (a directory with softIoc, caget, ...) wins.
epics_require() {
	local out
	if [ -n "${CATRACE_EPICS_BIN:-}" ]; then
		[ -x "$CATRACE_EPICS_BIN/softIoc" ] ||
			skip "CATRACE_EPICS_BIN=$CATRACE_EPICS_BIN has no softIoc"
		EPICS_BIN=$CATRACE_EPICS_BIN
		return 0
	fi
	if ! out=$("$CATRACE_TOP/scripts/build-epics.sh" 2>&1); then
		skip "EPICS base unavailable: $(printf '%s\n' "$out" | tail -n1)"
	fi
	EPICS_BIN=$(printf '%s\n' "$out" | tail -n1)
	[ -x "$EPICS_BIN/softIoc" ] || skip "EPICS base unavailable: no softIoc in $EPICS_BIN"
}

# Delete catr-* namespaces (and /tmp/catr-netns.* scratch directories)
# whose owning test (the pid in the name) is gone, e.g. after a test was
# SIGKILLed and its EXIT trap never ran. Those of live tests, including
# parallel runs, are left alone.
ns_reap_stale() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^catr-(ioc|cli)-[0-9]+$/ {print $1}'); do
		pid=${ns##*-}
		[ "$pid" = "$$" ] && continue
		kill -0 "$pid" 2>/dev/null && continue
		_ns_kill_all "$ns"
		ip netns del "$ns" 2>/dev/null || true
	done
	# Their scratch directories too.
	local dir
	for dir in /tmp/catr-netns.*; do
		[ -d "$dir" ] || continue
		pid=${dir#/tmp/catr-netns.}
		pid=${pid%%.*}
		case $pid in '' | *[!0-9]*) continue ;; esac
		[ "$pid" = "$$" ] && continue
		kill -0 "$pid" 2>/dev/null && continue
		rm -rf "$dir"
	done
}

# Kill both namespaces' processes before deleting either: a client in one
# may otherwise reconnect or respawn while the other is going away.
_ns_kill_all_known() {
	local ns rc=0
	for ns in "$NS_IOC" "$NS_CLI"; do
		[ -n "$ns" ] || continue
		ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns" || continue
		_ns_kill_all "$ns" || rc=1
	done
	return $rc
}

# Network-namespace inode of the named namespace ($1), empty if none.
ns_inode() {
	stat -L -c %i "/run/netns/$1" 2>/dev/null || true
}

# PIDs of processes with any thread in the network namespace whose inode
# is $1. Not `ip netns pids`: it reads /proc/PID/ns/net, which is empty
# once a process's main thread has exited, and softIoc -S does exactly
# that (its main thread calls epicsThreadExitMain; ps shows the IOC as
# "[softIoc] <defunct>" while its other threads keep serving). Checking
# every thread finds it.
ns_pids_by_inode() {
	local ino=$1
	[ -n "$ino" ] || return 0
	# find exits non-zero when a task vanishes between the glob and its
	# look (always racy): ignore that, or pipefail would fail the caller.
	{ find /proc/[0-9]*/task/[0-9]*/ns/net -maxdepth 0 \
		-lname "net:\[$ino\]" 2>/dev/null || true; } | cut -d/ -f3 | sort -un
}

# SIGKILL every process in namespace $1, until none is left (a dying CA
# client may just have spawned caRepeater). SIGKILL because softIoc -S
# does not stop on SIGTERM (nor SIGINT).
_ns_kill_all() {
	local ns=$1 ino pids tries=0
	ino=$(ns_inode "$ns")
	[ -n "$ino" ] || return 0
	while pids=$(ns_pids_by_inode "$ino") && [ -n "$pids" ]; do
		# shellcheck disable=SC2086  # one pid per word
		kill -KILL $pids 2>/dev/null || true
		tries=$((tries + 1))
		[ "$tries" -le 50 ] || {
			echo "ns_teardown: processes survive in $ns: ${pids//$'\n'/ }" >&2
			return 1
		}
		sleep 0.1
	done
	return 0
}

# Kill everything in namespace $1 and delete it; a no-op if it is absent.
_ns_remove() {
	local ns=$1 rc=0
	[ -n "$ns" ] || return 0
	ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns" || return 0
	_ns_kill_all "$ns" || rc=1
	ip netns del "$ns" 2>/dev/null || rc=1
	return $rc
}

# Idempotent: safe to call any number of times, also before ns_setup
# finished; the EXIT trap calls it once more. A test may define
# ns_cleanup_hook (e.g. to stop catrace or a capture) and it runs first.
# NS_*/VETH_* keep their values, so a test can check they are gone.
ns_teardown() {
	local pid rc=0
	if declare -F ns_cleanup_hook >/dev/null; then
		ns_cleanup_hook || true
	fi
	# Our own children (softIoc, caRepeater) first, each killed and reaped
	# inside one stderr-silenced group: if bash noticed their death later
	# it would print a "Killed" job report.
	for pid in "${_NS_BG_PIDS[@]}"; do
		{
			kill -KILL "$pid" || true
			wait "$pid" || true
		} 2>/dev/null
	done
	_NS_BG_PIDS=()
	IOC_PID=""
	_ns_kill_all_known || rc=1
	_ns_remove "$NS_IOC" || rc=1
	_ns_remove "$NS_CLI" || rc=1
	# Deleting a namespace destroys the veth end inside it, and with it the
	# peer; nothing is left in the root namespace.
	if [ -n "$NS_TMP" ] && [ -d "$NS_TMP" ]; then
		rm -rf "$NS_TMP"
	fi
	return $rc
}

# Turn off the offloads that merge or split segments (and defer
# checksums), so packets on the veth are wire-sized and complete, as a
# real NIC would hand them to XDP. Features a driver cannot change are
# ignored; the ones that matter are checked afterwards.
_ns_offloads_off() {
	local ns=$1 dev=$2 feat state
	for feat in gro gso tso lro ufo tx rx tx-udp-segmentation rx-gro-list \
		rx-udp-gro-forwarding; do
		ip netns exec "$ns" ethtool -K "$dev" "$feat" off >/dev/null 2>&1 || true
	done
	for feat in generic-receive-offload generic-segmentation-offload \
		tcp-segmentation-offload; do
		state=$(ip netns exec "$ns" ethtool -k "$dev" 2>/dev/null |
			awk -v f="$feat:" '$1 == f {print $2}')
		[ "$state" = off ] || {
			echo "ns_setup: $feat still '$state' on $dev" >&2
			return 1
		}
	done
}

ns_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
	command -v ip >/dev/null || skip "ip (iproute2) not installed"
	[ -x /usr/sbin/ethtool ] || command -v ethtool >/dev/null ||
		skip "ethtool not installed"
	epics_require

	NS_IOC=catr-ioc-$$
	NS_CLI=catr-cli-$$
	# pid_max is at most 4194304 (7 digits): 12 chars, under IFNAMSIZ-1.
	VETH_IOC=catri$$
	VETH_CLI=catrc$$

	# Install the trap before creating anything, so a failure halfway
	# still cleans up. INT/TERM become exits so that EXIT runs.
	trap ns_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	ns_reap_stale
	# Same pid as a dead earlier run whose namespaces survived: start clean.
	_ns_remove "$NS_IOC" || true
	_ns_remove "$NS_CLI" || true

	NS_TMP=$(mktemp -d /tmp/catr-netns.$$.XXXXXX)
	IOC_LOG=$NS_TMP/ioc.log
	# Each test its own channel table (catrace --channels-file): tests
	# running side by side use the same addresses in their namespaces.
	export CATRACE_CHANNELS_FILE=$NS_TMP/channels

	ip netns add "$NS_IOC" 2>/dev/null || skip "ip netns add failed (no netns support?)"
	ip netns add "$NS_CLI" || { echo "ns_setup: ip netns add $NS_CLI failed" >&2; exit 1; }
	# No IPv6: keeps router solicitations, MLD and DAD packets off the
	# link, so captures hold only the test's own traffic (CA is IPv4-only).
	# Set before the veth exists so its ends never get IPv6 at all.
	local ns
	for ns in "$NS_IOC" "$NS_CLI"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
	done

	# Create the pair with each end directly inside its namespace: the
	# names never exist in the root namespace, so they cannot clash there.
	ip link add "$VETH_IOC" netns "$NS_IOC" type veth \
		peer name "$VETH_CLI" netns "$NS_CLI" || {
		echo "ns_setup: creating veth pair failed" >&2
		exit 1
	}

	local dev addr
	for ns in "$NS_IOC" "$NS_CLI"; do
		if [ "$ns" = "$NS_IOC" ]; then
			dev=$VETH_IOC addr=$IOC_ADDR
		else
			dev=$VETH_CLI addr=$CLI_ADDR
		fi
		if ! { ip netns exec "$ns" ip link set lo up &&
			ip netns exec "$ns" ip addr add "$addr/$NET_PREFIX" dev "$dev" &&
			_ns_offloads_off "$ns" "$dev" &&
			ip netns exec "$ns" ip link set "$dev" up; }; then
			echo "ns_setup: configuring $dev in $ns failed" >&2
			exit 1
		fi
	done

	# Wait for the link to come up (a veth end has carrier once both ends
	# are up). No probe packets: the link stays silent until the test.
	local tries
	for tries in $(seq 50 -1 1); do
		if ip netns exec "$NS_IOC" ip -o link show "$VETH_IOC" | grep -q 'state UP' &&
			ip netns exec "$NS_CLI" ip -o link show "$VETH_CLI" | grep -q 'state UP'; then
			return 0
		fi
		[ "$tries" -gt 1 ] && sleep 0.1
	done
	echo "ns_setup: veth link did not come up" >&2
	exit 1
}

# Run CMD in the IOC namespace (no CA environment added).
ioc_exec() {
	ip netns exec "$NS_IOC" "$@"
}

# Run CMD in the client namespace as a CA client that searches only the
# IOC (no broadcast), with the EPICS tools on PATH. Callers can override a
# variable with `cli_run env VAR=value cmd ...`.
cli_run() {
	ip netns exec "$NS_CLI" env \
		PATH="$EPICS_BIN:$PATH" \
		EPICS_CA_AUTO_ADDR_LIST=NO \
		EPICS_CA_ADDR_LIST="$IOC_ADDR" \
		EPICS_CA_MAX_ARRAY_BYTES="$CATRACE_CA_MAX_ARRAY_BYTES" \
		"$@"
}

# Start a caRepeater in the client namespace (once) and wait until it has
# bound UDP 5065. Without one, the IOC's first beacons, sent before any
# client ran, only draw ICMP port-unreachable replies. A CA client would
# spawn one itself anyway; starting it first keeps the link quiet.
cli_repeater_start() {
	if [ -n "$(ip netns exec "$NS_CLI" ss -Hlun 'sport = :5065')" ]; then
		return 0
	fi
	# Not via cli_run: a backgrounded function runs in a subshell, and $!
	# would be that subshell instead of caRepeater (our child to reap).
	ip netns exec "$NS_CLI" "$EPICS_BIN/caRepeater" </dev/null \
		>>"$NS_TMP/caRepeater.log" 2>&1 &
	_NS_BG_PIDS+=("$!")
	local tries
	for tries in $(seq 50 -1 1); do
		[ -n "$(ip netns exec "$NS_CLI" ss -Hlun 'sport = :5065')" ] && return 0
		[ "$tries" -gt 1 ] && sleep 0.1
	done
	echo "cli_repeater_start: caRepeater did not bind UDP 5065" >&2
	return 1
}

# ioc_start [DBFILE] [VAR=value ...]
# Start softIoc -S (no interactive shell) in the IOC namespace and wait
# until it answers a caget from the client namespace. Beacons go only to
# the client address (unicast; intervals double from 20 ms up to 15 s).
# Extra VAR=value arguments are added to (and override) the IOC's
# environment. Sets IOC_PID. Optional variables:
#   IOC_MACROS    passed to softIoc -m (macro substitutions for DBFILE)
#   IOC_READY_PV  PV to poll for readiness (default: first record in DBFILE)
#   IOC_EXTRA_ARGS more softIoc arguments, as words (e.g. "-a f.acf -d more.db")
#   IOC_PORT      the CA server port the IOC binds (default 5064; set
#                 EPICS_CA_SERVER_PORT to match, for the IOC and clients)
#   CATRACE_NO_REPEATER=1  do not start caRepeater in the client namespace
#                 first (see cli_repeater_start)
# Returns non-zero (IOC console log on stderr) if the IOC does not answer
# within IOC_START_TIMEOUT seconds.
ioc_start() {
	local db=${1:-$NETNS_LIB_DIR/records.db}
	[ $# -gt 0 ] && shift
	local pv=${IOC_READY_PV:-} port=${IOC_PORT:-5064}
	local -a args=(-S)
	[ -r "$db" ] || { echo "ioc_start: cannot read $db" >&2; return 1; }
	local kv
	for kv in "$@"; do
		[[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] ||
			{ echo "ioc_start: '$kv' is not VAR=value" >&2; return 1; }
	done
	[ -n "${IOC_MACROS:-}" ] && args+=(-m "$IOC_MACROS")
	args+=(-d "$db")
	# shellcheck disable=SC2206  # words by design
	[ -n "${IOC_EXTRA_ARGS:-}" ] && args+=($IOC_EXTRA_ARGS)
	if [ "${CATRACE_NO_REPEATER:-0}" != 1 ]; then
		cli_repeater_start || return 1
	fi
	if [ -z "$pv" ]; then
		pv=$(sed -n 's/^[[:space:]]*record[[:space:]]*([^,]*,[[:space:]]*"\([^"]*\)".*/\1/p' "$db" | head -n1)
		[ -n "$pv" ] || { echo "ioc_start: no record name in $db; set IOC_READY_PV" >&2; return 1; }
	fi

	# ip netns exec and env both exec, so $! is softIoc's own pid.
	# stdin from /dev/null: softIoc -S never reads it, and it must not
	# steal the test's stdin.
	# Beacons: the IOC's CA server (RSRV) reads only the EPICS_CAS_*
	# names; EPICS_CA_{AUTO_,}BEACON_ADDR_LIST are not read by anything in
	# 7.0.3.1. Beacons go to the client's address, port 5065, where the
	# client-side caRepeater (cli_repeater_start) listens.
	# The IOC's own CA client (for CA links) searches nowhere.
	ip netns exec "$NS_IOC" env \
		PATH="$EPICS_BIN:$PATH" \
		EPICS_CAS_AUTO_BEACON_ADDR_LIST=NO \
		EPICS_CAS_BEACON_ADDR_LIST="$CLI_ADDR" \
		EPICS_CA_AUTO_ADDR_LIST=NO \
		EPICS_CA_ADDR_LIST="" \
		EPICS_CA_MAX_ARRAY_BYTES="$CATRACE_CA_MAX_ARRAY_BYTES" \
		"$@" \
		"$EPICS_BIN/softIoc" "${args[@]}" </dev/null >>"$IOC_LOG" 2>&1 &
	IOC_PID=$!
	_NS_BG_PIDS+=("$IOC_PID")

	# First wait, without sending anything, until the CA server has bound
	# UDP and TCP port $port: searches sent earlier only draw ICMP port
	# unreachable replies, noise in any capture. Then prove it answers.
	local deadline=$((SECONDS + IOC_START_TIMEOUT)) bound=""
	while [ "$SECONDS" -lt "$deadline" ]; do
		if ! kill -0 "$IOC_PID" 2>/dev/null; then
			echo "ioc_start: softIoc exited during start-up; its log:" >&2
			sed 's/^/  | /' "$IOC_LOG" >&2
			return 1
		fi
		if [ -z "$bound" ]; then
			if [ -n "$(ip netns exec "$NS_IOC" ss -Hlun "sport = :$port")" ] &&
				[ -n "$(ip netns exec "$NS_IOC" ss -Hltn "sport = :$port")" ]; then
				bound=yes
			else
				sleep 0.1
				continue
			fi
		fi
		cli_run caget -w 1 "$pv" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "ioc_start: IOC did not answer caget $pv within ${IOC_START_TIMEOUT}s; its log:" >&2
	sed 's/^/  | /' "$IOC_LOG" >&2
	return 1
}

# Ids of the links (XDP, tcx) whose program is one of catrace's, system
# wide: bpftool 7.1 does not list tcx links per device.  Other catrace
# processes may run meanwhile, so tests compare sets of ids, not counts.
catrace_link_ids() {
	bpftool link show -j 2>/dev/null | python3 -c '
import json, subprocess, sys
for l in json.load(sys.stdin):
    p = subprocess.run(["bpftool", "prog", "show", "id", str(l.get("prog_id", 0)), "-j"],
                       capture_output=True, text=True).stdout
    try:
        name = json.loads(p).get("name", "")
    except ValueError:
        continue
    if name.startswith("catrace_"):
        print(l["id"])'
}

# Ids of the BPF links process $1 holds (from its fds), space-separated:
# exactly that catrace's links, whatever other tracers run meanwhile.
catrace_links_of() {
	[ -n "$1" ] || return 0
	grep -hs '^link_id:' /proc/"$1"/fdinfo/* | awk '{printf "%s ", $2}'
}

# How many of the link ids given (a space-separated list) still exist.
catrace_links_left() {
	local n=0 id now
	now=" $(catrace_link_ids | tr '\n' ' ') "
	for id in $1; do
		case $now in *" $id "*) n=$((n + 1)) ;; esac
	done
	echo $n
}

# The XDP mode attached to the IOC end of the veth ("" when none).
ioc_xdp_on() {
	ioc_exec ip -d link show "$VETH_IOC" | grep -oE 'xdp(generic|drv)?' | head -1
}
