#!/usr/bin/env bash
# Offline decode throughput: catrace -r next to tshark and tcpdump on the
# same large real capture (bench/make_capture.sh makes it on first use).
# Every tool reads the file BENCH_REPEATS times (default 3), interleaved
# (tool after tool, round after round), output to /dev/null, the file in
# the page cache (read once before).  Wall time from the shell around
# /usr/bin/time, peak RSS (and CPU) from /usr/bin/time.
#
# Prints a Markdown section on stdout; progress on stderr.
set -uo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CATRACE=${CATRACE:-$ROOT/.output/catrace}
CAP=${BENCH_CAPTURE:-/var/cache/catrace/bench/monitor.pcap}
REPEATS=${BENCH_REPEATS:-3}
WORK=$(mktemp -d /tmp/catrace-bench-decode.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

log() { echo "decode: $*" >&2; }

[ -x /usr/bin/time ] || { log "installing GNU time"; apt-get install -y -qq time >/dev/null 2>&1; }
[ -x /usr/bin/time ] || { echo "decode: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
for t in tshark tcpdump capinfos; do
	command -v $t >/dev/null || { echo "decode: $t missing" >&2; exit 1; }
done

if [ ! -s "$CAP" ] || [ "${BENCH_RECAPTURE:-0}" = 1 ]; then
	log "making the capture $CAP (BENCH_SECONDS=${BENCH_SECONDS:-60})"
	"$BENCH_DIR/make_capture.sh" "$CAP" >&2 || { echo "decode: capture failed" >&2; exit 1; }
fi
# Half of the capture, for the memory-versus-file-size check.
HALF=${CAP%.pcap}-half.pcap
npk=$(capinfos -c -M "$CAP" | awk -F': *' '/Number of packets/ {print $2}')
if [ ! -s "$HALF" ] || [ "$HALF" -ot "$CAP" ]; then
	tcpdump -r "$CAP" -c $((npk / 2)) -w "$HALF" 2>/dev/null
fi
cat "$CAP" "$HALF" >/dev/null

# CPU time: perf stat's task-clock of the tool (and the GNU time wrapper
# around it, ~1 ms) when perf works, else GNU time's user + sys.
PERF_STAT=()
if command -v perf >/dev/null && perf stat -x, -e task-clock -o "$WORK/stat" true 2>/dev/null; then
	# shellcheck disable=SC2054  # "-x," is perf's CSV separator option
	PERF_STAT=(perf stat -x, -e task-clock -o "$WORK/stat" --)
fi

# name|command (FILE is replaced by the capture)
TOOLS=(
	"catrace text|$CATRACE -r FILE"
	"catrace --json|$CATRACE -r FILE --json"
	"catrace decode only (--pv matching nothing)|$CATRACE -r FILE --pv NO:SUCH:PV:*"
	"tshark (plain)|tshark -r FILE"
	"tshark -T fields -e tcp.port -e udp.port|tshark -r FILE -T fields -e tcp.port -e udp.port"
	"tcpdump -r -n|tcpdump -r FILE -n"
)

# run NAME FILE CMD -> one result line in $WORK/results
run() {
	local name=$1 file=$2 cmd=${3//FILE/$2} t0 t1
	local rss u s cpu
	t0=$(date +%s%N)
	# shellcheck disable=SC2086  # the command is a word list
	"${PERF_STAT[@]}" /usr/bin/time -f '%M %U %S' -o "$WORK/time" $cmd >/dev/null 2>"$WORK/err"
	t1=$(date +%s%N)
	read -r rss u s < <(tail -n1 "$WORK/time")
	cpu=$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')
	# perf's task-clock (ms, precise) when there is one, else GNU time's 10 ms figures
	if [ ${#PERF_STAT[@]} -gt 0 ] && [ -s "$WORK/stat" ]; then
		cpu=$(awk -F, '$3 == "task-clock" || $3 ~ /^task-clock/ {printf "%.4f", $1 / 1000}' "$WORK/stat")
	fi
	echo "$name|$file|$(((t1 - t0) / 1000))|$rss $cpu 0" >>"$WORK/results"
	if [ "$name" = "catrace text" ] && [ "$file" = "$CAP" ]; then
		cp "$WORK/err" "$WORK/catrace.err"
	fi
}

for ((r = 1; r <= REPEATS; r++)); do
	log "round $r/$REPEATS"
	for t in "${TOOLS[@]}"; do
		run "${t%%|*}" "$CAP" "${t#*|}"
	done
done
# Memory versus file size: catrace and tshark on the half capture too.
for ((r = 1; r <= 3; r++)); do
	run "catrace text" "$HALF" "${TOOLS[0]#*|}"
	run "tshark (plain)" "$HALF" "${TOOLS[3]#*|}"
done

# Where catrace's time goes: one profiled run (perf, DWARF call graphs),
# inclusive share of a few functions.
PROFILE=""
if command -v perf >/dev/null; then
	log "profiling catrace -r (perf)"
	if perf record -q --call-graph dwarf,16384 -F 1999 -o "$WORK/perf.data" \
		"$CATRACE" -r "$CAP" >/dev/null 2>"$WORK/perf.err"; then
		perf report -i "$WORK/perf.data" --children --stdio -g none --sort symbol \
			--percent-limit 0.5 2>/dev/null | grep -v '^#' | grep -v '^$' >"$WORK/perf.txt" || true
		PROFILE=$WORK/perf.txt
	fi
fi

# catrace's user-space path per live record (bench/userbench.c), the
# same formatter without the capture file.
USERBENCH=$BENCH_DIR/.output/userbench
if [ -x "$USERBENCH" ]; then
	log "userbench (user-space cost per live record)"
	"$USERBENCH" -r "$((REPEATS * 2 + 1))" >"$WORK/userbench" 2>&1 || true
fi

msgs=$(sed -n 's/.* CA packets, \([0-9]*\) CA messages.*/\1/p' "$WORK/catrace.err")
half_msgs=$($CATRACE -r "$HALF" --pv 'NO:SUCH:PV:*' 2>&1 >/dev/null | sed -n 's/.* CA packets, \([0-9]*\) CA messages.*/\1/p')
pkts=$npk
bytes=$(stat -c %s "$CAP")
half_bytes=$(stat -c %s "$HALF")

/usr/bin/python3 - "$WORK/results" "$CAP" "$HALF" "$msgs" "$half_msgs" "$pkts" "$bytes" "$half_bytes" "$REPEATS" "$CAP.info" "${PROFILE:-}" "${BENCH_SUMMARY:-}" <<'PY'
import sys, statistics, os
res, cap, half, msgs, half_msgs, pkts, nbytes, half_bytes, reps, info, profile, summary = sys.argv[1:]
msgs, half_msgs, pkts, nbytes, half_bytes = int(msgs), int(half_msgs), int(pkts), int(nbytes), int(half_bytes)
rows = {}
order = []
for line in open(res):
    name, f, us, rest = line.rstrip("\n").split("|")
    rss, ut, st = rest.split()
    key = (name, f)
    if key not in rows:
        rows[key] = []
        order.append(key)
    rows[key].append((int(us) / 1e6, int(rss), float(ut) + float(st)))

meta = {}
if os.path.exists(info):
    for l in open(info):
        if "=" in l:
            k, v = l.strip().split("=", 1)
            meta[k] = v

def med(v): return statistics.median(v)
def fmt_spread(v, f="%.2f"):
    return (f + " [" + f + "-" + f + "]") % (med(v), min(v), max(v))

print("### Offline decode throughput\n")
print("Capture: `%s`, %.1f MB, %d packets, %d CA messages (catrace's count), made by "
      "bench/make_capture.sh on %s: softIoc with %s calc records scanning every %s s, pyepics "
      "monitoring all of them (DBR_TIME_DOUBLE) for %s s; pyepics received %s updates "
      "(the IOC's 20,000 updates/s are more than pyepics' callbacks take on this machine, so the "
      "IOC's queues coalesce some); tcpdump dropped %s.\n" % (
      cap, nbytes / 1e6, pkts, msgs, meta.get("date", "?"), meta.get("records", "?"),
      meta.get("scan", "?"), meta.get("seconds", "?"), meta.get("pyepics_updates", "?"),
      meta.get("tcpdump_dropped", "?")))
print("%s runs of each tool, interleaved, output to /dev/null, file in the page cache. "
      "Median [min-max]. Rates are per CPU second (the tool's task-clock from perf stat, or "
      "user + sys from GNU time without perf: the machine is shared, and CPU time does not "
      "stretch when another process takes a core the way wall time does); wall time is shown too. msgs/s = the capture's CA "
      "messages / CPU s (tshark and tcpdump do not decode CA - Wireshark 4.0 has no CA "
      "dissector - so for them it is the rate at which they get through the same file); "
      "MB/s = file bytes / CPU s; speed vs tshark = tshark's median CPU s / this tool's (> 1: "
      "faster than tshark), with the range of the per-round ratios; RSS = peak resident set (GNU time).\n" % reps)
print("| tool | wall s | CPU s | msgs/s | MB/s | speed vs tshark (plain) | peak RSS MiB |")
print("|---|---|---|---|---|---|---|")
tshark = rows[("tshark (plain)", cap)]
for key in order:
    name, f = key
    if f != cap:
        continue
    v = rows[key]
    walls = [x[0] for x in v]
    cpus = [max(x[2], 0.005) for x in v]
    ratios = [max(tshark[i][2], 0.005) / cpus[i] for i in range(min(len(v), len(tshark)))]
    ratio_txt = "%.2f [%.2f-%.2f]" % (med([max(x[2], 0.005) for x in tshark]) / med(cpus),
                                      min(ratios), max(ratios))
    print("| %s | %s | %s | %s | %s | %s | %.1f |" % (
        name, fmt_spread(walls), fmt_spread(cpus),
        "%.0f [%.0f-%.0f]" % (msgs / med(cpus), msgs / max(cpus), msgs / min(cpus)),
        "%.1f [%.1f-%.1f]" % (nbytes / 1e6 / med(cpus), nbytes / 1e6 / max(cpus), nbytes / 1e6 / min(cpus)),
        ratio_txt, med([x[1] for x in v]) / 1024))
print()
print("Memory and time versus file size: the first half of the capture (%d packets / %d messages "
      "/ %.1f MB, median of 3 runs) against the full file above:\n" % (pkts // 2, half_msgs, half_bytes / 1e6))
print("| tool | peak RSS MiB, half | peak RSS MiB, full | CPU s, half | CPU s, full |")
print("|---|---|---|---|---|")
for name in ("catrace text", "tshark (plain)"):
    h = rows.get((name, half))
    fl = rows.get((name, cap))
    if h and fl:
        print("| %s | %.1f | %.1f | %.2f | %.2f |" % (name, med([x[1] for x in h]) / 1024,
              med([x[1] for x in fl]) / 1024, med([x[2] for x in h]), med([x[2] for x in fl])))
print()
ct = rows[("catrace text", cap)]
ts = rows[("tshark (plain)", cap)]
def cpu(v): return med([max(x[2], 0.005) for x in v])
goal = cpu(ct) < cpu(ts)
print("Goal \"catrace decodes CA faster than tshark merely reads the file\": %s (catrace text %.2f CPU s, "
      "tshark plain %.2f CPU s; wall %.2f s and %.2f s)." % ("met" if goal else "**missed**", cpu(ct), cpu(ts),
      med([x[0] for x in ct]), med([x[0] for x in ts])))
print()

if profile and os.path.exists(profile):
    want = ["pipeline_frame", "flow_segment", "output_format", "fw_command_fields",
            "dbr_append_value", "put_json_head", "put_text_head", "fmt_u64", "fmt_u64_pad",
            "fmt_shortest", "fmt_iso_utc", "sbuf_put_pyquoted", "track_msg", "find_slot",
            "pcap_source_next", "__vsnprintf_internal", "_IO_fwrite", "__GI___libc_write"]
    got = {}
    for l in open(profile):
        f = l.split()
        sym = f[3].split(".")[0] if len(f) >= 4 else ""
        if len(f) >= 4 and f[0].endswith("%") and sym in want and sym not in got:
            got[sym] = f[0]
    if got:
        print("Where `catrace -r` (text) spends its time (perf, DWARF call graphs, one run on the same "
              "capture; inclusive share of the samples; functions absent from the list took under 0.5%):\n")
        print("| function | inclusive |")
        print("|---|---|")
        for w in want:
            if w in got:
                print("| `%s` | %s |" % (w, got[w]))
        print()

ub = os.path.join(os.path.dirname(res), "userbench")
if os.path.exists(ub):
    lines = [l.strip().split("|") for l in open(ub) if "|" in l and not l.startswith("#")]
    if lines:
        head = [l for l in open(ub) if l.startswith("#")]
        print("User space per live record (`bench/userbench`: the records catrace -i gets for a "
              "monitored circuit, built in memory, through record_parse, pipeline_message and the "
              "formatter to /dev/null; CPU ns per record, median [min-max] over rounds; %s). "
              "It leaves out the ring buffer itself and the kernel; the live section below has "
              "them.\n" % (head[0].strip("# \n") if head else ""))
        print("| records | ns per record | records per CPU second |")
        print("|---|---|---|")
        for name, medv, lo, hi in lines:
            print("| %s | %s [%s-%s] | %.0f |" % (name, medv, lo, hi, 1e9 / float(medv)))
        print()
        if summary:
            with open(summary, "a") as fs:
                for name, medv, lo, hi in lines:
                    if name in ("DOUBLE text", "TIME_DOUBLE text"):
                        fs.write("decode|user space per live record, %s|%s ns|||||\n" % (name, medv))

if summary:
    with open(summary, "a") as fs:
        dec = rows[("catrace decode only (--pv matching nothing)", cap)]
        tj = rows[("catrace --json", cap)]
        for name, v in (("catrace -r text", ct), ("catrace -r --json", tj), ("catrace -r, decode only", dec)):
            w = cpu(v)
            fs.write("decode|%s, msgs per CPU s|%.0f msgs/s|tshark %.0f|%.2fx tshark|faster than tshark|%s\n" % (
                name, msgs / w, msgs / cpu(ts), cpu(ts) / w, "met" if w < cpu(ts) else "missed"))
        fs.write("decode|peak RSS, catrace text (half / full file)|%.1f / %.1f MiB|tshark %.1f MiB||"
                 "does not grow with the file|%s\n" % (
                 med([x[1] for x in rows[("catrace text", half)]]) / 1024, med([x[1] for x in ct]) / 1024,
                 med([x[1] for x in ts]) / 1024,
                 "met" if med([x[1] for x in ct]) <= 1.1 * med([x[1] for x in rows[("catrace text", half)]]) else "missed"))
PY
