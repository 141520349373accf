#!/bin/sh
# Run one libFuzzer binary for a fixed time and summarise it.
#
#   run_fuzzer.sh NAME BIN OUTDIR SECONDS MAX_LEN TIMEOUT [extra libFuzzer flags...]
#
# Corpus: OUTDIR/corpus_NAME (kept between runs, new inputs go there) and
# OUTDIR/seeds_NAME (make_seeds.py).  Crashes, leaks, timeouts and OOMs go
# to OUTDIR/artifacts/NAME-*.  Log: OUTDIR/logs/NAME.log.
# Prints one summary line; exits non-zero if libFuzzer failed or left an
# artifact.
set -u

name=$1 bin=$2 out=$3 secs=$4 maxlen=$5 tmo=$6
shift 6

corpus=$out/corpus_$name
seeds=$out/seeds_$name
arts=$out/artifacts
log=$out/logs/$name.log
mkdir -p "$corpus" "$seeds" "$arts" "$out/logs"

stamp=$out/logs/$name.start
: >"$stamp"

# UBSan reports must be fatal (the build has -fno-sanitize-recover=all);
# ASan: leaks on, and report odd frees too.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:detect_stack_use_after_return=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

"$bin" "$corpus" "$seeds" \
	-max_total_time="$secs" -max_len="$maxlen" -timeout="$tmo" \
	-rss_limit_mb=2048 -print_final_stats=1 -detect_leaks=1 \
	-artifact_prefix="$arts/$name-" "$@" >"$log" 2>&1
rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
cov=$(printf '%s\n' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
ft=$(printf '%s\n' "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
corp=$(printf '%s\n' "$last" | sed -n 's/.*corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
# Slow units are worth a look, not failures: on a loaded machine any unit
# can be slow.
new_arts=$(find "$arts" -maxdepth 1 -type f -name "$name-*" ! -name "$name-slow-unit-*" -newer "$stamp" | sort)
slow=$(find "$arts" -maxdepth 1 -type f -name "$name-slow-unit-*" -newer "$stamp" | sort)

status=OK
if [ $rc -ne 0 ] || [ -n "$new_arts" ]; then
	status="FAILED (libFuzzer exit $rc)"
fi
printf 'fuzz %-8s %ss: %s execs, %s exec/s, cov: %s ft: %s corp: %s, peak rss %s MB: %s\n' \
	"$name" "$secs" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}" "$status"
for a in $slow; do
	echo "    slow unit (not a failure): $a"
done
if [ "$status" != OK ]; then
	grep -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|==FUZZ ORACLE==|ALARM|out-of-memory' "$log" | head -n 5 | sed 's/^/    /'
	for a in $new_arts; do
		echo "    artifact: $a"
	done
	echo "    log: $log"
	exit 1
fi
exit 0
