#!/usr/bin/env bash
# Python over libcatrace (issue 18): iterating a capture with `import
# catrace` next to `catrace -r FILE --json > /dev/null` on the same file.
# Three Python passes (bench/pylib_iter.py): iterate only, read two
# attributes (one json.loads a message), to_dict() every message.  Each
# command runs BENCH_REPEATS times (default 3), interleaved, the file in
# the page cache; the best wall time counts.  Peak RSS on the capture and
# on its first half says whether memory follows the file's size.
#
#   bench/pylib.sh [CAPTURE]    (default: $BENCH_CAPTURE, else the decode
#                                benchmark's monitor capture)
# Prints a Markdown section on stdout (and, when BENCH_SUMMARY names a
# file, the headline row bench/run.sh puts on top); never part of CI.
set -uo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CATRACE=${CATRACE:-$ROOT/.output/catrace}
CAP=${1:-${BENCH_CAPTURE:-/var/cache/catrace/bench/monitor.pcap}}
REPEATS=${BENCH_REPEATS:-3}
export PYTHONPATH=$ROOT/python CATRACE_LIB=${CATRACE_LIB:-$ROOT/.output/libcatrace.so.0}
WORK=$(mktemp -d /tmp/catrace-bench-pylib.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

if [ ! -s "$CAP" ]; then
	echo "pylib: making the capture $CAP (BENCH_SECONDS=${BENCH_SECONDS:-60})" >&2
	"$BENCH_DIR/make_capture.sh" "$CAP" >&2 || { echo "pylib: capture failed" >&2; exit 1; }
fi
[ -x /usr/bin/time ] || { echo "pylib: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
HALF=$WORK/half.pcap
npk=$(capinfos -c -M "$CAP" | awk -F': *' '/Number of packets/ {print $2}')
tcpdump -r "$CAP" -c $((npk / 2)) -w "$HALF" 2>/dev/null
cat "$CAP" "$HALF" >/dev/null

TOOLS=(
	"catrace -r --json > /dev/null|$CATRACE -q -r FILE --json"
	"python: iterate|/usr/bin/python3 $BENCH_DIR/pylib_iter.py count FILE"
	"python: iterate, m.command and m.pv|/usr/bin/python3 $BENCH_DIR/pylib_iter.py attr FILE"
	"python: iterate, m.to_dict()|/usr/bin/python3 $BENCH_DIR/pylib_iter.py dict FILE"
)

# run I FILE -> "wall_s rss_kb" of tool I on FILE
run() {
	local cmd=${TOOLS[$1]#*|} t0 t1
	cmd=${cmd//FILE/$2}
	t0=$(date +%s.%N)
	/usr/bin/time -f '%M' -o "$WORK/time" $cmd >/dev/null 2>"$WORK/err" ||
		{ echo "pylib: failed: $cmd: $(tail -2 "$WORK/err")" >&2; }
	t1=$(date +%s.%N)
	echo "$(echo "$t1 - $t0" | bc -l) $(tail -1 "$WORK/time")"
}

declare -A best rss half
for ((r = 0; r < REPEATS; r++)); do
	for i in "${!TOOLS[@]}"; do
		read -r w m < <(run "$i" "$CAP")
		if [ -z "${best[$i]:-}" ] || (($(echo "$w < ${best[$i]}" | bc -l))); then best[$i]=$w; fi
		rss[$i]=$m
	done
done
for i in "${!TOOLS[@]}"; do
	read -r _ m < <(run "$i" "$HALF")
	half[$i]=$m
done

msgs=$("$CATRACE" -q -r "$CAP" --json | wc -l)
echo "## Python over libcatrace"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(basename "$CAP"): $(stat -c %s "$CAP") bytes,"
echo "$npk packets, $msgs CA messages; best of $REPEATS; load $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| command | wall s | messages/s | vs catrace --json | peak RSS MiB (half file) |"
echo "|---|---:|---:|---:|---:|"
for i in "${!TOOLS[@]}"; do
	printf '| %s | %.3f | %.0f | %.2fx | %.1f (%.1f) |\n' "${TOOLS[$i]%%|*}" "${best[$i]}" \
		"$(echo "$msgs / ${best[$i]}" | bc -l)" "$(echo "${best[$i]} / ${best[0]}" | bc -l)" \
		"$(echo "${rss[$i]} / 1024" | bc -l)" "$(echo "${half[$i]} / 1024" | bc -l)"
done

# The issue's goal: iterating from Python within 3x of catrace --json.
if [ -n "${BENCH_SUMMARY:-}" ]; then
	ratio=$(echo "${best[1]} / ${best[0]}" | bc -l)
	verdict=met
	(($(echo "$ratio > 3" | bc -l))) && verdict=missed
	printf 'python|iterate a capture (import catrace)|%.3f s|catrace -r --json %.3f s|%.2fx|within 3x|%s\n' \
		"${best[1]}" "${best[0]}" "$ratio" "$verdict" >>"$BENCH_SUMMARY"
fi
