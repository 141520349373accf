#!/bin/bash
# Golden tests, tcpdump style: run catrace on each capture of a test list
# and diff with the expected output kept beside the list.
#
#   tests/golden.sh [--update] [LIST [CAPTURE_DIR]]
#
# LIST defaults to tests/golden/TESTLIST (the project's own captures, in
# tests/captures); tests/golden/shared/TESTLIST holds the cases on the
# shared reference captures (CAPTURE_DIR ../shared/captures), run when
# they are present. `--update` rewrites the expected files: review each
# diff against the reference decodes (tests/refcheck.py) before committing.
set -u
cd "$(dirname "$0")/.."
CATRACE=${CATRACE:-.output/catrace}
UPDATE=0
[ "${1:-}" = "--update" ] && { UPDATE=1; shift; }
LIST=${1:-tests/golden/TESTLIST}
CAPTURES=${2:-${CAPTURES:-tests/captures}}
DIR=$(dirname "$LIST")
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -r "$LIST" ] || { echo "FAIL: golden: cannot read $LIST"; exit 1; }
while read -r name capture expected opts; do
	case "$name" in ''|'#'*) continue ;; esac
	if [ ! -r "$CAPTURES/$capture" ]; then
		echo "FAIL: golden $name: $CAPTURES/$capture not found"
		fail=$((fail + 1))
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
		cp "$tmp/out" "$DIR/$expected"
	fi
	if diff -u "$DIR/$expected" "$tmp/out" > "$tmp/diff" 2>&1; then
		echo "PASS: golden $name"
		pass=$((pass + 1))
	else
		echo "FAIL: golden $name"
		head -20 "$tmp/diff"
		fail=$((fail + 1))
	fi
done < "$LIST"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
