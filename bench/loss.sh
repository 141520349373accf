#!/usr/bin/env bash
# Captures with loss (issue 16), the full matrix: every capture of
# tests/captures degraded by drop 0.5/2/5 %, swap 2 %, dup 2 %, cut 0.25/0.5
# and gap 50 (tests/loss/degrade.py), seeds 1 2 3 for the classes that
# draw at random (cut and gap do not: once), each copy's decode scored
# against the lossless original (tests/loss/score.py, which says what
# every column means).
#
#   bench/loss.sh [--catrace PATH] [--cashark CA.LUA] [--seeds "N ..."]
#                 [--captures "NAME ..."]
#
# Prints the table (one row per variant and decoder; --cashark adds
# cashark's rows, tshark with that ca.lua), then the totals per class and
# decoder over all captures and seeds.  Progress on stderr.
set -uo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CATRACE=${CATRACE:-$ROOT/.output/catrace}
CLASSES="drop:0.5 drop:2 drop:5 swap:2 dup:2 cut:0.25 cut:0.5 gap:50"
seeds="1 2 3"
captures=all
cashark=()

while [ $# -gt 0 ]; do
	case $1 in
	--catrace) CATRACE=$2; shift 2 ;;
	--cashark) cashark=(--cashark "$2"); shift 2 ;;
	--seeds) seeds=$2; shift 2 ;;
	--captures) captures=$2; shift 2 ;;
	*) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done

table=$(mktemp)
trap 'rm -f "$table"' EXIT
echo "loss: $CATRACE ($("$CATRACE" --version 2>&1 | head -1))${cashark:+, cashark ${cashark[1]}}" >&2
"$ROOT/tests/loss/run.sh" --report --catrace "$CATRACE" "${cashark[@]}" \
	--captures "$captures" --classes "$CLASSES" --seeds "$seeds" | tee "$table"
status=${PIPESTATUS[0]}

# Totals: recall over the summed intact messages, the rest summed.
echo
awk '
$1 == "capture" || $1 == "FAIL:" || /^#/ { next }
{
	split($2, v, "/"); key = v[1] " " $3
	if (!(key in rows)) order[++n] = key
	rows[key]++; msgs[key] += $4; intact[key] += $5; found[key] += $6
	for (i = 8; i <= 13; i++) if ($i != "-") sum[key, i] += $i; else sum[key, i] = "-"
}
END {
	printf "%-10s %-8s %5s %7s %7s %7s %7s %8s %7s %7s %6s %7s %6s\n", "class", "decoder",
	       "rows", "msgs", "intact", "found", "recall", "invented", "wrongpv", "wrongts",
	       "order", "noname", "named?"
	for (k = 1; k <= n; k++) {
		key = order[k]; split(key, p, " ")
		printf "%-10s %-8s %5d %7d %7d %7d %7.2f %8s %7s %7s %6s %7s %6s\n", p[1], p[2],
		       rows[key], msgs[key], intact[key], found[key],
		       intact[key] ? 100 * found[key] / intact[key] : 100,
		       sum[key, 8], sum[key, 9], sum[key, 10], sum[key, 11], sum[key, 12], sum[key, 13]
	}
}' "$table"
exit "$status"
