#!/bin/bash
# A clone is a complete project (issue 13): clone the committed tree to a
# temporary directory with nothing beside it (no ../shared), build it, and
# run the offline part of the suite there (OFFLINE=1 tests/run.sh: every
# suite but the BPF, network-namespace and fuzz ones, which need root or
# time and read nothing outside the tree either). PASS only when it ends
# with 0 failed and 0 skipped, and never reached outside the clone.
# Tests the commit at HEAD: uncommitted changes are not in the clone.
set -u
cd "$(dirname "$0")/.."
command -v git >/dev/null || { echo "SKIP: clone check: git not installed"; exit 77; }
git rev-parse --verify -q HEAD >/dev/null || { echo "SKIP: clone check: not a git checkout"; exit 77; }
tmp=$(mktemp -d /tmp/catrace-clone.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if ! git clone -q --no-hardlinks . "$tmp/catrace" 2>"$tmp/err"; then
	echo "FAIL: clone check: git clone: $(head -1 "$tmp/err")"
	exit 1
fi
[ -e "$tmp/shared" ] && { echo "FAIL: clone check: $tmp/shared exists"; exit 1; }
if ! make -s -C "$tmp/catrace" -j"$(nproc)" all unit >"$tmp/build.log" 2>&1; then
	echo "FAIL: clone check: build in a fresh clone: $(tail -3 "$tmp/build.log" | tr '\n' '|')"
	exit 1
fi
(cd "$tmp/catrace" && env -u CAPTURES -u SHARED_CAPTURES -u CATRACE OFFLINE=1 tests/run.sh) \
	>"$tmp/run.log" 2>&1
line=$(tail -1 "$tmp/run.log")
if ! [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
	echo "FAIL: clone check: the suite ended without a summary: $line"
	tail -20 "$tmp/run.log"
	exit 1
fi
p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} s=${BASH_REMATCH[3]}
if ! grep -q '^NOTE: no shared reference captures' "$tmp/run.log"; then
	echo "FAIL: clone check: the suite in the clone found shared captures"
	exit 1
fi
if [ "$f" = 0 ] && [ "$s" = 0 ] && [ "$p" -gt 0 ]; then
	echo "PASS: clone check: a fresh clone without shared/ beside it: $line"
else
	echo "FAIL: clone check: a fresh clone without shared/ beside it: $line"
	grep -E '^(FAIL|SKIP): ' "$tmp/run.log" | head -20
	exit 1
fi
