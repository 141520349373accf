#!/bin/bash
# Command-line behaviour: bad input gives one clear line and exit code 2;
# stdin works; filters and counts behave.
set -u
cd "$(dirname "$0")/.."
CATRACE=${CATRACE:-.output/catrace}
CAPTURES=${CAPTURES:-tests/captures}
S01=$CAPTURES/s01_caget_types.pcap
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1: $2"; fail=$((fail + 1)); }

# expect_error NAME EXPECTED_RC PATTERN -- ARGS...: exit code, exactly one
# line on stderr, matching PATTERN, nothing on stdout.
expect_error() {
	local name=$1 want=$2 pat=$3 rc
	shift 4
	"$CATRACE" "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
	rc=$?
	if [ $rc -ne "$want" ]; then
		bad "$name" "exit $rc, wanted $want ($(head -1 "$tmp/err"))"
	elif [ "$(wc -l < "$tmp/err")" -ne 1 ]; then
		bad "$name" "stderr has $(wc -l < "$tmp/err") lines, wanted 1"
	elif ! grep -qE -- "$pat" "$tmp/err"; then
		bad "$name" "stderr '$(cat "$tmp/err")' lacks /$pat/"
	elif [ -s "$tmp/out" ]; then
		bad "$name" "printed on stdout"
	else
		ok "$name"
	fi
}

expect_error missing-file 2 'nope\.pcap: .*(No such file|such file)' -- -r "$tmp/nope.pcap"
printf 'hello, this is not a capture\n' > "$tmp/text.pcap"
expect_error not-a-capture 2 'text\.pcap: ' -- -r "$tmp/text.pcap"
: > "$tmp/empty.pcap"
expect_error empty-file 2 'empty\.pcap: ' -- -r "$tmp/empty.pcap"
expect_error no-input 2 'nothing to read' --
expect_error bad-option 2 "unknown option '--frobnicate'" -- --frobnicate
expect_error missing-value 2 "option '-r' needs a value" -- -r
expect_error bad-count 2 '-c: .x. is not a number' -- -r "$S01" -c x
expect_error zero-count 2 '-c: .0. is not a number' -- -r "$S01" -c 0
expect_error bad-port 2 '--server-port: .70000.' -- -r "$S01" --server-port 70000
expect_error bad-cmd 2 "--cmd: unknown command 'Bogus'" -- -r "$S01" --cmd Read,Bogus
expect_error bad-format 2 "--format: unknown token '\{nope\}'" -- -r "$S01" --format '{pv} {nope}'
expect_error bad-filter 2 "filter expression 'port nonsense'" -- -r "$S01" port nonsense
expect_error pcapng-needs-w 2 '--pcapng says how -w writes' -- -r "$S01" --pcapng
cp "$S01" "$tmp/in.pcap"
expect_error w-is-r 2 'is the capture -r reads' -- -r "$tmp/in.pcap" -w "$tmp/in.pcap"
cmp -s "$S01" "$tmp/in.pcap" && ok "w-is-r: the capture is left whole" || bad "w-is-r" "the capture was changed"
# Options that contradict each other: one line each, exit 2.
expect_error r-twice 2 '-r given twice' -- -r "$tmp/a.pcap" -r "$tmp/b.pcap"
expect_error json-and-format 2 '--json and --format exclude each other' -- --json --format '{cmd}' -r "$tmp/a.pcap"
expect_error json-bad-form 2 "--json=xml: the forms are --json, --json=full and --json=fields" -- --json=xml -r "$S01"
expect_error json-full-and-fields 2 "--json=full and --json=fields exclude each other" -- --json=full --json=fields -r "$S01"
expect_error build-bad-option 2 "catrace build: unknown option .--frobnicate." -- build --frobnicate -w -
expect_error noxdp-and-xdpmode 2 '--no-xdp and --xdp-mode exclude each other' -- --no-xdp --xdp-mode generic -i lo
expect_error headers-only-offline 2 '--headers-only sets what the kernel copies live' -- --headers-only -r "$tmp/a.pcap"
expect_error value-bytes-offline 2 '--value-bytes sets what the kernel copies live' -- --value-bytes 100 -r "$tmp/a.pcap"
expect_error six-t 2 '-t: at most five' -- -tttttt -r "$tmp/a.pcap"
expect_error empty-pv 2 '--pv: an empty pattern' -- --pv '' -r "$tmp/a.pcap"
expect_error writes-and-format 2 '--writes and --format exclude each other' -- -r "$S01" --writes --format '{pv}'
expect_error tree-and-json 2 '-V prints below text lines: not with --json \(use --json=fields\)' -- -r "$S01" -V --json
expect_error tree-and-json-fields 2 '-V prints below text lines: not with --json=fields' -- -r "$S01" -V --json=fields
expect_error hex-and-format 2 '-X prints below text lines: not with --format' -- -r "$S01" -X --format '{pv}'
expect_error tree-and-writes 2 '-V prints below text lines: not with --writes' -- -r "$S01" -V --writes
expect_error json-bad-mode 2 '--json=nope: the forms are' -- -r "$S01" --json=nope
expect_error json-fields-and-format 2 '--json and --format exclude each other' -- -r "$S01" --json=fields --format '{pv}'
expect_error all-layers-alone 2 '--all-layers adds the frame.s headers to -V or --json=fields' -- -r "$S01" --all-layers
expect_error fields-bad-arg 2 "catrace fields: unknown argument '--xml'" -- fields --xml
EPICS_CA_SERVER_PORT=abc expect_error bad-env 2 'EPICS_CA_SERVER_PORT: .abc.' -- -r "$S01"

# A link type we do not decode: a pcap header for 802.11 (105), no packets.
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x69\x00\x00\x00' > "$tmp/wifi.pcap"
expect_error unsupported-linktype 2 'unsupported link type 105' -- -r "$tmp/wifi.pcap"

expect_error print-and-no-print 2 '--print and --no-print exclude each other' -- -r "$S01" --print --no-print

# -q means one thing with every option: standard error quiet (no summary,
# no information), message lines untouched; --no-print is what leaves the
# lines out.
if [ -r "$S01" ]; then
	"$CATRACE" -r "$S01" > "$tmp/q0" 2> "$tmp/q0.err"
	n0=$(wc -l < "$tmp/q0")
	for opts in "" "--metrics-file $tmp/q.prom" "--summary"; do
		# shellcheck disable=SC2086  # options are words by design
		"$CATRACE" -q -r "$S01" $opts > "$tmp/q1" 2> "$tmp/q1.err"
		if [ "$n0" -gt 0 ] && cmp -s "$tmp/q0" "$tmp/q1" && ! grep -q "messages" "$tmp/q1.err"; then
			ok "-q ${opts%% *}: the same $n0 lines, no summary"
		else
			bad "-q ${opts%% *}" "$(wc -l < "$tmp/q1") lines of $n0; stderr: $(head -2 "$tmp/q1.err" | tr '\n' '|')"
		fi
	done
	[ -s "$tmp/q0.err" ] && ok "without -q: a summary on stderr" || bad "without -q" "no summary"
	"$CATRACE" -q -r "$S01" --no-print --summary > "$tmp/np" 2> "$tmp/np.err"
	if [ ! -s "$tmp/np" ] && grep -q "^Search summary" "$tmp/np.err"; then ok "--no-print --summary: the report alone"
	else bad "--no-print --summary" "$(wc -l < "$tmp/np") lines; $(head -1 "$tmp/np.err")"; fi
fi

# stdin gives the same as the file.
if [ -r "$S01" ]; then
	"$CATRACE" -q -r "$S01" > "$tmp/a"
	"$CATRACE" -q -r - < "$S01" > "$tmp/b"
	if cmp -s "$tmp/a" "$tmp/b" && [ -s "$tmp/a" ]; then ok stdin; else bad stdin "differs from file"; fi

	# -c N prints exactly N lines.
	n=$("$CATRACE" -q -r "$S01" -c 7 | wc -l)
	[ "$n" -eq 7 ] && ok count-limit || bad count-limit "got $n lines"

	# --pv filters by name; every line names a matching PV.
	"$CATRACE" -q -r "$S01" --pv 'T:l*' > "$tmp/pv"
	if [ -s "$tmp/pv" ] && ! grep -vq "pv='T:l" "$tmp/pv"; then ok pv-filter; else bad pv-filter "lines without T:l*"; fi

	# Summary on stderr counts what was read: the packets capinfos counts
	# (every one CA), and the messages printed.
	"$CATRACE" -r "$S01" > "$tmp/lines" 2> "$tmp/sum"
	npk=$(capinfos -M -c "$S01" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
	nmsg=$(wc -l < "$tmp/lines")
	if [ "$nmsg" -gt 0 ] &&
		grep -qE "^$npk packets read, $npk CA packets, $nmsg CA messages \($nmsg printed\)" "$tmp/sum"; then
		ok summary
	else
		bad summary "want $npk packets, $nmsg messages: $(cat "$tmp/sum")"
	fi

	# JSON lines are all valid JSON with the required keys.
	if "$CATRACE" -q -r "$S01" --json | python3 -c '
import json, sys
need = {"ts","src","sport","dst","dport","proto","cmd","command","size","dtype","count","p1","p2","pv"}
for n, line in enumerate(sys.stdin, 1):
    d = json.loads(line)
    missing = need - d.keys()
    if missing: sys.exit("line %d lacks %s" % (n, missing))
'; then ok json-valid; else bad json-valid "invalid JSON or missing keys"; fi

	# Output to a file goes out in big blocks, not one write() per 4 KiB
	# (a system call per 18 lines was a fifth of catrace -r's time).
	S08=$CAPTURES/s08_pyepics_many.pcap
	if ! command -v strace > /dev/null; then
		echo "SKIP: output-blocks: strace not installed"
	elif [ ! -f "$S08" ]; then
		echo "SKIP: output-blocks: $S08 not found"
	else
		strace -o "$tmp/trace" -e trace=write "$CATRACE" -q -r "$S08" > "$tmp/big.out"
		n=$(grep -c '^write(1,' "$tmp/trace")
		size=$(stat -c %s "$tmp/big.out")
		if [ "$size" -gt 200000 ] && [ "$n" -le 2 ]; then ok output-blocks
		else bad output-blocks "$n writes for $size bytes"; fi
	fi

	# A closed pipe ends catrace quietly and at once.
	if timeout 10 bash -c "\"$CATRACE\" -q -r \"$S01\" | head -1 > /dev/null"; then ok sigpipe; else bad sigpipe "hung or failed"; fi
	# ... cleanly: exit code 0, not death by SIGPIPE (141), whether the
	# capture comes from a file or from standard input.  s08's output is
	# far bigger than a pipe buffer, so catrace does write into a closed
	# pipe.
	S08=$CAPTURES/s08_pyepics_many.pcap
	for src in file stdin; do
		if [ $src = file ]; then
			rcs=$(timeout 10 bash -c '"$0" -r "$1" 2>"$2" | head -1 >/dev/null; echo "${PIPESTATUS[0]}"' \
				"$CATRACE" "$S08" "$tmp/pipe.err")
		else
			rcs=$(timeout 10 bash -c '"$0" -r - < "$1" 2>"$2" | head -1 >/dev/null; echo "${PIPESTATUS[0]}"' \
				"$CATRACE" "$S08" "$tmp/pipe.err")
		fi
		if [ "$rcs" = 0 ] && grep -q '^[0-9]* packets read' "$tmp/pipe.err" &&
			[ "$(grep -vc '^[0-9]* packets read' "$tmp/pipe.err")" = 0 ]; then
			ok "sigpipe-exit0-$src: '| head -1' ends catrace with exit 0 and its summary, no error"
		else
			bad "sigpipe-exit0-$src" "exit '$rcs', stderr: $(tr '\n' '|' < "$tmp/pipe.err")"
		fi
	done
	# A real write error (a full disk) is one, though: exit 1, one line.
	"$CATRACE" -q -r "$S08" > /dev/full 2> "$tmp/full.err"; rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l < "$tmp/full.err")" -eq 1 ] &&
		grep -q 'writing standard output: No space left on device' "$tmp/full.err"; then
		ok "stdout-full: exit 1, one line naming the error"
	else
		bad "stdout-full" "exit $rc: $(tr '\n' '|' < "$tmp/full.err")"
	fi
else
	echo "SKIP: cli capture tests: $S01 not found"
fi

# --version: "catrace VERSION (libbpf X.Y)", the version the Makefile gave.
v=$("$CATRACE" --version)
want=$(sed -n 's/^VERSION ?= *//p' Makefile)
if [[ $v =~ ^catrace\ ([^ ]+)\ \(libbpf\ [0-9]+\.[0-9]+\)$ ]] && [[ ${BASH_REMATCH[1]} == "$want"* ]]; then
	ok "version ($v)"
else
	bad version "'$v' is not 'catrace $want... (libbpf X.Y)'"
fi
# catrace fields --json: a JSON document describing ca.command, with the
# command dictionary by direction.
if "$CATRACE" fields --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
ids = {f["id"]: f for f in d["fields"]}
assert ids["ca.command"]["dict"] == "command", ids["ca.command"]
assert d["dicts"]["command"]["requests"]["15"] == "ReadNotifyRequest"
assert d["dicts"]["command"]["responses"]["1"] == "EventAddResponse"
assert d["dicts"]["eca"]["1"] == "ECA_NORMAL"
assert d["dicts"]["dbr_type"]["20"] == "TIME_DOUBLE"
'; then ok "fields --json"; else bad "fields --json" "not the description expected"; fi

# -V is the field tree (tshark's -V), not the version: the version is
# --version alone.
if [ -r "$S01" ] && "$CATRACE" -q -r "$S01" -V -c 1 | grep -q 'ca.command \[@42 len 2\] 00 00'; then
	ok "-V: the field tree"
else
	bad "-V" "no field tree under the first line"
fi

# Offline, --no-proc changes nothing: captures are never attributed.
if [ -r "$S01" ]; then
	"$CATRACE" -q -r "$S01" > "$tmp/a"
	"$CATRACE" -q -r "$S01" --no-proc > "$tmp/b"
	if cmp -s "$tmp/a" "$tmp/b" && ! grep -qE ' (client|server|repeater)=' "$tmp/a"; then ok no-proc-offline; else bad no-proc-offline "differs, or process names offline"; fi
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
