#!/usr/bin/env bash
# catrace's main job, on any Linux host as root, without touching real
# networks: a real EPICS IOC and real CA clients in two network
# namespaces joined by a veth pair, and `catrace -i` tracing the IOC's
# side of the link live (XDP ingress, tc egress).  The EPICS tools are
# built once from Debian's source package (scripts/build-epics.sh, about
# two minutes) and cached in /var/cache/catrace.
#
#   scripts/demo.sh [catrace options...]     e.g. scripts/demo.sh --json
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CATRACE=${CATRACE:-$ROOT/.output/catrace}
[ -x "$CATRACE" ] || { echo "demo: build first: make" >&2; exit 2; }
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"

ns_setup
ns_cleanup_hook() { [ -n "${CAT_PID:-}" ] && kill -INT "$CAT_PID" 2>/dev/null; return 0; }
ioc_start

echo "== catrace -i $VETH_IOC $* (on the IOC side; clients in another namespace)"
ip netns exec "$NS_IOC" "$CATRACE" -i "$VETH_IOC" "$@" &
CAT_PID=$!
for _ in $(seq 50); do
	ip netns exec "$NS_IOC" ip link show "$VETH_IOC" | grep -q xdp && break
	sleep 0.1
done

cli_run caget T:ai T:str T:longout >/dev/null
cli_run caput -c T:ao 2.5 >/dev/null
cli_run timeout 2 camonitor T:calc >/dev/null || true
cli_run caget -w 0.5 NO:SUCH:PV >/dev/null 2>&1 || true
sleep 0.5

kill -INT "$CAT_PID"
wait "$CAT_PID" || true
CAT_PID=""
