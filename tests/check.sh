#!/bin/bash
# The whole test suite twice: the normal build, then the ASan+UBSan build
# (.output-san).  Prints each run's summary and then the total, in the
# form CI reads: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
total_p=0 total_f=0 total_s=0 rc=0
for out in .output .output-san; do
	echo "##### test run with $out"
	OUTPUT=$out tests/run.sh | tee "$out/test-summary.log" || rc=1
	line=$(tail -1 "$out/test-summary.log")
	if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
		total_p=$((total_p + BASH_REMATCH[1]))
		total_f=$((total_f + BASH_REMATCH[2]))
		total_s=$((total_s + BASH_REMATCH[3]))
	else
		echo "FAIL: test run with $out ended without a summary"
		total_f=$((total_f + 1))
	fi
done
echo "$total_p passed, $total_f failed, $total_s skipped"
[ $rc -eq 0 ] && [ $total_f -eq 0 ]
