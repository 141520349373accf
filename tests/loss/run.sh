#!/bin/bash
# Captures with loss (issue 16): degrade some of the project's captures and
# score catrace's decode of each copy against the lossless original.
#
#   tests/loss/run.sh [--goals SPEC | --report] [--catrace PATH]
#                     [--cashark CA.LUA] [--captures "NAME ..." | all]
#                     [--classes "CLASS ..."] [--seeds "N ..."] [-v]
#
# Default: s03_caput, s04_camonitor and s08_pyepics_many, each degraded by
# drop:2, swap:2, dup:2, cut:0.5 and gap:50 with seed 1; one PASS:/FAIL:
# line per (capture, class), failing where the issue's goals are missed
# (--goals strict: recall 100 %, nothing invented, no wrong PV, no wrong
# time stamp, no reply before its request; or a comma list of recall,
# invented, wrongpv, wrongts, order, named).  Exit status 1 if any failed.
# --report prints score.py's table instead and always exits 0 unless a
# tool broke.  cut and gap draw nothing at random: they run with the first
# seed only.  See tests/loss/score.py for what each number means.
set -u
cd "$(dirname "$0")/../.."
LOSS=tests/loss
CATRACE=${CATRACE:-.output/catrace}
CAPTURES_DIR=${CAPTURES:-tests/captures}
captures="s03_caput s04_camonitor s08_pyepics_many"
classes="drop:2 swap:2 dup:2 cut:0.5 gap:50"
seeds="1"
goals=strict
report=0
cashark=()
verbose=()

usage() { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--goals) goals=$2; shift 2 ;;
	--report) report=1; shift ;;
	--catrace) CATRACE=$2; shift 2 ;;
	--cashark) cashark=(--cashark "$2"); shift 2 ;;
	--captures) captures=$2; shift 2 ;;
	--classes) classes=$2; shift 2 ;;
	--seeds) seeds=$2; shift 2 ;;
	-v) verbose=(-v); shift ;;
	*) usage ;;
	esac
done
if [ "$captures" = all ]; then
	captures=$(for f in "$CAPTURES_DIR"/*.pcap; do basename "$f" .pcap; done)
fi
if [ ! -x "$CATRACE" ]; then
	echo "FAIL: $CATRACE is not executable (run make)"
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
first_seed=${seeds%% *}
header=()
status=0
for name in $captures; do
	original=$CAPTURES_DIR/$name.pcap
	variants=()
	for class in $classes; do
		for seed in $seeds; do
			case $class in
			cut:* | gap:*) [ "$seed" = "$first_seed" ] || continue ;;
			esac
			variant=$work/$name.${class/:/-}.s$seed.pcap
			if ! python3 $LOSS/degrade.py --seed "$seed" --class "$class" \
				"$original" "$variant" 2> "$work/degrade.log"; then
				echo "FAIL: $name $class seed $seed: degrade.py failed"
				sed 's/^/    /' "$work/degrade.log"
				status=1
				continue
			fi
			variants+=("$variant")
		done
	done
	[ ${#variants[@]} -gt 0 ] || continue
	if [ $report = 1 ]; then
		python3 $LOSS/score.py --catrace "$CATRACE" "${cashark[@]}" \
			"${verbose[@]}" "${header[@]}" "$original" "${variants[@]}"
		rc=$?
		header=(--no-header)
		[ $rc -eq 0 ] || { echo "FAIL: $name: score.py exited $rc"; status=1; }
	else
		python3 $LOSS/score.py --catrace "$CATRACE" "${cashark[@]}" \
			"${verbose[@]}" --goals "$goals" "$original" "${variants[@]}"
		rc=$?
		# 1: some variant missed a goal (its FAIL line says which)
		[ $rc -le 1 ] || echo "FAIL: $name: score.py exited $rc"
		[ $rc -eq 0 ] || status=1
	fi
	rm -f "$work"/*.pcap "$work"/*.map
done
exit $status
