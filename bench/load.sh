#!/usr/bin/env bash
# How long catrace takes from its start until it traces (issue 15: the
# first seconds were blind): the time from exec to its "tracing on" line,
# on one end of a veth pair in a namespace of its own (native XDP, tcx
# egress), BENCH_LOAD_RUNS times (default 15). Prints min, median and max
# in ms, and a Markdown table row on stdout's last line. Needs root.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CATRACE=${CATRACE:-$ROOT/.output/catrace}
RUNS=${BENCH_LOAD_RUNS:-15}
NS=catr-bload-$$
[ "$(id -u)" = 0 ] || { echo "load: needs root" >&2; exit 77; }
ip netns add "$NS" || exit 1
trap 'ip netns del "$NS" 2>/dev/null' EXIT
ip netns exec "$NS" ip link add bl0 type veth peer name bl1 &&
	ip netns exec "$NS" ip link set bl0 up && ip netns exec "$NS" ip link set bl1 up || exit 1

times=()
for i in $(seq "$RUNS"); do
	err=$(mktemp)
	start=$(date +%s%N)
	ip netns exec "$NS" "$CATRACE" -i bl0 --no-channels-file >/dev/null 2>"$err" &
	pid=$!
	until grep -q "^tracing on" "$err"; do
		kill -0 "$pid" 2>/dev/null || { echo "load: catrace exited: $(cat "$err")" >&2; exit 1; }
		sleep 0.002
	done
	end=$(date +%s%N)
	kill -INT "$pid"
	wait "$pid"
	times+=($(((end - start) / 1000000)))
	rm -f "$err"
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
min=$(echo "$sorted" | head -1)
max=$(echo "$sorted" | tail -1)
med=$(echo "$sorted" | sed -n "$(((RUNS + 1) / 2))p")
echo "start to \"tracing on\" over $RUNS runs: min $min ms, median $med ms, max $max ms"
echo "| start until tracing (load + attach, veth, native XDP + tcx) | $med ms median ($min-$max, $RUNS runs) |"
