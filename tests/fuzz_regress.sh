#!/bin/bash
# Every input the fuzzers ever crashed on (tests/fuzz/regressions/) replayed
# through its libFuzzer harness (ASan+UBSan, the fuzzers' own invariants).
set -u
cd "$(dirname "$0")/.."
make -s -C tests/fuzz regress 2>&1 | while IFS= read -r line; do
	case $line in
	"regress: "*": ok") echo "PASS: fuzz ${line#regress: }" ;;
	"regress: "*": FAILED"*) echo "FAIL: fuzz ${line#regress: }" ;;
	*) echo "$line" ;;
	esac
done
exit "${PIPESTATUS[0]}"
