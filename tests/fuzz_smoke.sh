#!/bin/bash
# CI fuzz smoke (issue 7): every libFuzzer harness for SMOKE_SECONDS
# (default 20; about a minute in all) with a fixed seed, from the seeds
# made of the project's captures (tests/captures) and the regression inputs
# (make -C tests/fuzz smoke).  One PASS/FAIL line per harness, with its
# executions and coverage; a crash, leak, timeout, OOM, sanitizer report or
# oracle failure is a FAIL naming the input it left.  Needs clang with
# libFuzzer (libclang-rt-14-dev, scripts/install-deps.sh): SKIP without.
set -u
cd "$(dirname "$0")/.."
if ! command -v clang >/dev/null; then
	echo "SKIP: fuzz smoke: clang not installed"
	exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
	>"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
	echo "SKIP: fuzz smoke: clang cannot build a libFuzzer binary ($(head -1 "$probe/err"))"
	exit 77
fi
if ! make -s -C tests/fuzz build >"$probe/build.log" 2>&1; then
	echo "FAIL: fuzz smoke: building the harnesses: $(tail -3 "$probe/build.log" | tr '\n' '|')"
	exit 1
fi
rc=0
make -k -s -C tests/fuzz smoke SMOKE_SECONDS="${SMOKE_SECONDS:-20}" >"$probe/smoke.log" 2>&1 || rc=1
while IFS= read -r line; do
	case $line in
	"fuzz "*": OK") echo "PASS: ${line%: OK}, no failure" ;;
	"fuzz "*"FAILED"*) echo "FAIL: $line" ;;
	make*) ;;
	*) echo "$line" ;;
	esac
done <"$probe/smoke.log"
n=$(grep -c '^fuzz .*: OK$' "$probe/smoke.log")
[ "$n" -eq 4 ] || { [ $rc -ne 0 ] || echo "FAIL: fuzz smoke: $n of 4 harnesses reported"; rc=1; }
exit $rc
