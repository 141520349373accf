#!/usr/bin/env bash
# IPv4 fragments in captures (issue 14): a SEARCH sent in two fragments
# 140 packets apart, in order and reversed, inside a real capture.  It is
# put back together and decoded once; cutting the capture (-w, pcap and
# pcapng, with and without --pv) keeps both fragments, so the cut decodes
# it again.  Offline only: no root needed.
set -uo pipefail
cd "$(dirname "$0")/.."
CATRACE=${CATRACE:-.output/catrace}
CAPTURES=${CAPTURES:-tests/captures}
pass=0 fail=0
ok() { echo "PASS: fragments $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: fragments $1${2:+: $2}"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for order in in-order reversed; do
	flag=""
	[ $order = reversed ] && flag=--reversed
	python3 tests/fragments.py "$CAPTURES/s04_camonitor.pcap" "$tmp/in.pcap" 10 150 $flag ||
		{ bad "$order: making the capture"; continue; }
	"$CATRACE" -r "$tmp/in.pcap" >"$tmp/out" 2>"$tmp/err"
	n=$(grep -c "SearchRequest(pv='FRAG:TEST:PV'" "$tmp/out")
	if [ "$n" = 1 ] && grep -q "^1 fragmented CA datagrams put back together and decoded" "$tmp/err"; then
		ok "$order: the SEARCH is put back together and decoded once"
	else
		bad "$order: the SEARCH is put back together and decoded once" "$n lines; $(tr '\n' '|' <"$tmp/err")"
	fi
	for cut in cut.pcap cut.pcapng; do
		"$CATRACE" -r "$tmp/in.pcap" -w "$tmp/$cut" 2>/dev/null
		n=$("$CATRACE" -r "$tmp/$cut" 2>/dev/null | grep -c "FRAG:TEST:PV")
		[ "$n" = 1 ] && ok "$order: -w $cut keeps both fragments" ||
			bad "$order: -w $cut keeps both fragments" "$n lines from the cut"
	done
	"$CATRACE" -r "$tmp/in.pcap" --pv 'FRAG:*' -w "$tmp/pv.pcapng" 2>/dev/null
	"$CATRACE" -r "$tmp/pv.pcapng" >"$tmp/pv.out" 2>"$tmp/pv.err"
	if grep -q "SearchRequest(pv='FRAG:TEST:PV'" "$tmp/pv.out" &&
		grep -q "^2 packets read" "$tmp/pv.err"; then
		ok "$order: --pv cut holds exactly the two fragments, and decodes"
	else
		bad "$order: --pv cut holds exactly the two fragments, and decodes" "$(tr '\n' '|' <"$tmp/pv.err")"
	fi
done
echo "fragments: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
