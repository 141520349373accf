#!/bin/bash
# Golden tests: run catrace on each capture of tests/golden/TESTLIST and
# diff with the expected output.  `tests/golden.sh --update` rewrites the
# expected files (review each diff against the reference decodes before
# committing it).
set -u
cd "$(dirname "$0")/.."
CATRACE=${CATRACE:-.output/catrace}
CAPTURES=${CAPTURES:-../shared/captures}
UPDATE=0
[ "${1:-}" = "--update" ] && UPDATE=1
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

while read -r name capture expected opts; do
	case "$name" in ''|'#'*) continue ;; esac
	if [ ! -r "$CAPTURES/$capture" ]; then
		echo "SKIP: golden $name: $CAPTURES/$capture not found"
		skip=$((skip + 1))
		continue
	fi
	# shellcheck disable=SC2086  # options are words by design
	"$CATRACE" -q -r "$CAPTURES/$capture" $opts > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL: golden $name: exit $rc: $(head -1 "$tmp/err")"
		fail=$((fail + 1))
		continue
	fi
	if [ $UPDATE = 1 ]; then
		cp "$tmp/out" "tests/golden/$expected"
	fi
	if diff -u "tests/golden/$expected" "$tmp/out" > "$tmp/diff" 2>&1; then
		echo "PASS: golden $name"
		pass=$((pass + 1))
	else
		echo "FAIL: golden $name"
		head -20 "$tmp/diff"
		fail=$((fail + 1))
	fi
done < tests/golden/TESTLIST

echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
