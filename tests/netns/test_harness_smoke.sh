#!/usr/bin/env bash
# Smoke test of the real-peer harness (tests/netns/lib.sh): a softIoc in
# one namespace, CA clients in the other, real values read and written
# across the veth, and a teardown that leaves nothing behind.
# Exit: 0 pass, 1 fail, 77 skip (not root, no netns, no EPICS build).
set -euo pipefail

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

fail() {
	echo "FAIL: $*"
	exit 1
}

ns_setup
# shellcheck disable=SC2119  # no DBFILE: the default records.db
ioc_start || fail "IOC did not start"

# Reads: one caget for three channels of different DBR types.
out=$(cli_run caget -t T:ai T:long T:str) || fail "caget failed: $out"
mapfile -t vals <<<"$out"
[ "${#vals[@]}" -eq 3 ] || fail "caget printed ${#vals[@]} lines, want 3: $out"
# Compare T:ai numerically: caget's float formatting is not ours to pin.
awk -v v="${vals[0]}" 'BEGIN { d = v - 3.14159; exit !(d < 1e-9 && d > -1e-9) }' ||
	fail "T:ai = '${vals[0]}', want 3.14159"
[ "${vals[1]}" = 123456 ] || fail "T:long = '${vals[1]}', want 123456"
[ "${vals[2]}" = catrace ] || fail "T:str = '${vals[2]}', want catrace"

# Write, then read back through a separate connection.
cli_run caput -t T:ao 2.5 >/dev/null || fail "caput T:ao 2.5 failed"
got=$(cli_run caget -t T:ao) || fail "caget T:ao failed"
awk -v v="$got" 'BEGIN { exit !(v == 2.5) }' || fail "T:ao = '$got' after caput, want 2.5"

# Teardown must remove namespaces, veth and every process, and be
# repeatable (the EXIT trap runs it again).
ioc_pid=$IOC_PID
# Namespace inodes outlive the names: any process still holding one would
# show up in the scan below even after `ip netns del`.
inodes="$(ns_inode "$NS_IOC") $(ns_inode "$NS_CLI")"
ns_teardown || fail "ns_teardown reported an error"
ns_teardown || fail "second ns_teardown reported an error"
if ip netns list | awk '{print $1}' | grep -qx -e "$NS_IOC" -e "$NS_CLI"; then
	fail "namespace left behind: $(ip netns list | grep catr-)"
fi
if ip link show "$VETH_IOC" >/dev/null 2>&1 || ip link show "$VETH_CLI" >/dev/null 2>&1; then
	fail "veth left behind in the root namespace"
fi
# kill -0, not ps: a live softIoc -S looks like "<defunct>" in ps.
kill -0 "$ioc_pid" 2>/dev/null && fail "softIoc (pid $ioc_pid) still running"
for ino in $inodes; do
	left=$(ns_pids_by_inode "$ino")
	[ -z "$left" ] || fail "processes left in a deleted namespace: ${left//$'\n'/ }"
done

echo "PASS: harness smoke (caget T:ai T:long T:str, caput T:ao via $VETH_CLI; teardown clean)"
