#!/bin/bash
# Run every test suite and print one summary line: "N passed, N failed,
# N skipped".  Each suite prints PASS:/FAIL:/SKIP: lines (cmocka binaries
# print TAP); a suite that exits non-zero without saying FAIL (a crash)
# counts as a failure too.  Exit status: 0 only when nothing failed.
# OFFLINE=1 runs only the suites that need neither root nor the network
# namespaces (the part tests/clone_check.sh runs in a fresh clone).
set -u
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-.output}
export CATRACE=${CATRACE:-$OUTPUT/catrace}
# The project's own captures (recorded from real peers by
# tests/captures/record.sh); the shared reference captures beside the
# checkout are an extra check, run when present.
export CAPTURES=${CAPTURES:-tests/captures}
SHARED_CAPTURES=${SHARED_CAPTURES:-../shared/captures}
shared_wanted=$SHARED_CAPTURES
[ -d "$SHARED_CAPTURES" ] || SHARED_CAPTURES=""
export SHARED_CAPTURES
export OUTPUT
OFFLINE=${OFFLINE:-0}
pass=0 fail=0 skip=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

last_failed=0
count() {  # count PASS/FAIL/SKIP and TAP lines of the last suite's log
	local p s
	p=$(grep -cE '^(PASS: |ok [0-9]+ )' "$log")
	last_failed=$(grep -cE '^(FAIL: |not ok [0-9]+ )' "$log")
	s=$(grep -cE '^SKIP: ' "$log")
	pass=$((pass + p)); fail=$((fail + last_failed)); skip=$((skip + s))
}

suite() {  # suite NAME COMMAND...
	local name=$1 rc
	shift
	echo "=== $name"
	"$@" > "$log" 2>&1
	rc=$?
	grep -vE '^(PASS: |ok [0-9]+ )' "$log" | grep -vE '^$' | head -60
	count
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ "$last_failed" -eq 0 ]; then
		echo "FAIL: $name exited $rc without naming a failure"
		fail=$((fail + 1))
	fi
}

if [ -z "$SHARED_CAPTURES" ]; then
	echo "NOTE: no shared reference captures beside the checkout ($shared_wanted):"
	echo "NOTE: the extra golden, reference and audit checks on them are not run"
fi

for t in "$OUTPUT"/tests/test_*; do
	[ -x "$t" ] || continue
	suite "unit $(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=tap "$t"
done
suite "cli" tests/cli.sh
suite "golden" tests/golden.sh
# --json=full and catrace build: the round trip on every capture (issue 17).
suite "build" tests/build.sh
# libcatrace from Python (python/catrace): equal to --json on every capture.
suite "python" tests/python.sh
[ "$OFFLINE" = 1 ] || suite "bpf" tests/bpf.sh
suite "reference" python3 tests/refcheck.py --catrace "$CATRACE" --captures "$CAPTURES"
suite "audit" python3 tests/audit_check.py --catrace "$CATRACE" --captures "$CAPTURES"
# --json=fields read back: every field's bytes at its offset in the frame
# and at its sequence number in the stream; described by `catrace fields`.
suite "fields" python3 tests/fields_check.py "$CATRACE" "$CAPTURES"/*.pcap
suite "fields (cut by a snap length)" python3 tests/fields_check.py --snap 90 "$CATRACE" "$CAPTURES"/*.pcap
# Captures with loss (issue 16): the tools' own test, then lossy copies of
# three captures scored against the issue's goals.
suite "loss tools" tests/loss/selftest.sh
suite "loss" tests/loss/run.sh --catrace "$CATRACE"
# The second IOC of s06 is a learned server: with seed 3 the first two
# client segments of its circuit are swapped, so the flow's opening comes
# after a later segment (it must still be admitted, whole and in order).
suite "loss (reordered opening)" tests/loss/run.sh --catrace "$CATRACE" \
	--captures s06_two_iocs --classes swap:2 --seeds 3
if [ -n "$SHARED_CAPTURES" ]; then
	suite "golden (shared captures)" tests/golden.sh tests/golden/shared/TESTLIST "$SHARED_CAPTURES"
	suite "reference (shared captures)" python3 tests/refcheck.py --catrace "$CATRACE" --captures "$SHARED_CAPTURES"
	suite "audit (shared captures)" python3 tests/audit_check.py --catrace "$CATRACE" --captures "$SHARED_CAPTURES"
	suite "fields (shared captures)" python3 tests/fields_check.py "$CATRACE" "$SHARED_CAPTURES"/*.pcap
fi
[ -x tests/install.sh ] && suite "install" tests/install.sh
[ -x tests/robustness.sh ] && suite "robustness" tests/robustness.sh
[ -x tests/metrics.sh ] && suite "metrics" tests/metrics.sh
[ -x tests/reports.sh ] && suite "reports" tests/reports.sh
[ -x tests/pcapng.sh ] && suite "pcapng" tests/pcapng.sh
# IPv4 fragments put back together, and kept whole in cuts (issue 14).
suite "fragments" tests/fragments.sh
# memory.sh makes its own gigabyte inputs and takes minutes: not offline.
[ "$OFFLINE" = 1 ] || suite "memory" tests/memory.sh
if [ "$OFFLINE" = 1 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
	[ $fail -eq 0 ]
	exit
fi
# A fresh clone, without shared/ beside it, passes the offline suites.
[ "$OUTPUT" = .output ] && suite "clone" tests/clone_check.sh
# The fuzz harnesses carry their own sanitizers: once is enough.
[ "$OUTPUT" = .output ] && [ -x tests/fuzz_regress.sh ] && suite "fuzz regressions" tests/fuzz_regress.sh
[ "$OUTPUT" = .output ] && [ -x tests/fuzz_smoke.sh ] && suite "fuzz smoke" tests/fuzz_smoke.sh
for t in tests/netns/test_*.sh; do
	[ -x "$t" ] || continue
	suite "netns $(basename "$t")" "$t"
done

echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
