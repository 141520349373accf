#!/bin/bash
# Robustness: catrace's decoding must survive what real captures look like.
# tests/gen_captures.py derives captures from the real ones (other link
# types and file formats, QinQ, IPv4 options, reordered / retransmitted /
# overlapping / missing TCP segments, snap length 96, a capture that joins
# a circuit mid-message, damaged files); this script runs catrace on each
# and on the originals, and compares.
#
#   tests/robustness.sh            uses $CATRACE (default $OUTPUT/catrace)
#   CATRACE=.output-san/catrace tests/robustness.sh   under ASan+UBSan
#
# Prints PASS: name / FAIL: name: why, then "N passed, N failed"; exits
# non-zero if anything failed.  Results of every run are kept in
# $OUTPUT/robustness/<binary dir>/ (NAME.out, NAME.err, NAME.rc).
set -u
cd "$(dirname "$0")/.." || exit 2
OUTPUT=${OUTPUT:-.output}
CATRACE=${CATRACE:-$OUTPUT/catrace}
CAPTURES=${CAPTURES:-tests/captures}
GEN=$OUTPUT/captures
bindir=$(basename "$(dirname "$CATRACE")")
WORK=$OUTPUT/robustness/${bindir#.}
TIMEOUT=${TIMEOUT:-300}
pass=0 fail=0

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1: $2"; fail=$((fail + 1)); }

if [ ! -r "$CAPTURES/s01_caget_types.pcap" ]; then
	echo "SKIP: robustness: real captures not found in $CAPTURES"
	exit 77
fi
if [ ! -x "$CATRACE" ]; then
	bad "robustness" "no catrace binary at $CATRACE (run make)"
	echo "$pass passed, $fail failed"
	exit 1
fi
mkdir -p "$WORK" "$GEN"
if ! python3 tests/gen_captures.py "$GEN" "$CAPTURES" > "$WORK/gen.log" 2>&1; then
	bad "gen_captures" "tests/gen_captures.py failed: $(tail -1 "$WORK/gen.log")"
	echo "$pass passed, $fail failed"
	exit 1
fi
ok "gen_captures: derived captures written to $GEN"

# run NAME FILE [ARGS...]: catrace -r FILE ARGS into $WORK/NAME.{out,err,rc},
# and assert that it did not crash, hang or trip a sanitizer.
run() {
	local name=$1 file=$2 rc
	shift 2
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:exitcode=99} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98} \
		timeout "$TIMEOUT" "$CATRACE" -r "$file" "$@" \
		> "$WORK/$name.out" 2> "$WORK/$name.err" < /dev/null
	rc=$?
	echo $rc > "$WORK/$name.rc"
	if [ $rc -eq 124 ]; then
		bad "$name: runs" "timed out after ${TIMEOUT}s"
	elif grep -qE 'Sanitizer|runtime error:' "$WORK/$name.err"; then
		bad "$name: runs" "sanitizer report: $(grep -m1 -E 'ERROR: |runtime error:' "$WORK/$name.err")"
	elif [ $rc -gt 2 ]; then
		bad "$name: runs" "exit status $rc (crash?): $(tail -1 "$WORK/$name.err")"
	else
		ok "$name: runs (exit $rc, no crash, no sanitizer report)"
	fi
}
rc_of() { cat "$WORK/$1.rc"; }
expect_rc() {  # expect_rc NAME WANT
	local rc
	rc=$(rc_of "$1")
	if [ "$rc" -eq "$2" ]; then ok "$1: exit status $2"
	else bad "$1: exit status" "exit $rc, wanted $2 ($(head -1 "$WORK/$1.err"))"; fi
}
# same_file NAME A B WHAT: two outputs must be byte for byte the same.
same_file() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		bad "$1" "$4 differ: $(diff "$2" "$3" | head -3 | cut -c1-220 | tr '\n' '|')"
	fi
}

# ------------------------------------------------------------- the checker
cat > "$WORK/check.py" <<'PYEOF'
import json, re, sys
from collections import Counter

SUMMARY = re.compile(r"^(\d+) packets read, (\d+) CA packets, (\d+) CA messages "
                     r"\((\d+) printed\), (\d+) malformed, (\d+) truncated, "
                     r"(\d+) resynchronisations$")
HDR = ("command", "cmd", "size", "dtype", "count", "p1", "p2")
npass = nfail = 0


def report(name, good, why=""):
    global npass, nfail
    if good:
        npass += 1
        print("PASS: %s" % name)
    else:
        nfail += 1
        print("FAIL: %s: %s" % (name, why))


def load(path, frames=None):
    """catrace --json output; with `frames` (new frame -> original frame,
    from the manifest) frame numbers are put back to the original's."""
    out = []
    with open(path) as f:
        for line in f:
            m = json.loads(line, parse_float=str)   # keep numbers as printed
            if frames is not None:
                m["frame"] = frames[m["frame"] - 1]
            out.append(m)
    return out


def summary(path):
    with open(path) as f:
        for line in f:
            s = SUMMARY.match(line.strip())
            if s:
                v = [int(x) for x in s.groups()]
                return dict(zip(("packets", "ca_packets", "messages", "printed",
                                 "malformed", "truncated", "resyncs"), v))
    return None


def flow(m):
    return "%s:%d->%s:%d" % (m["src"], m["sport"], m["dst"], m["dport"])


def fkey(m):
    return "%s/%s" % (flow(m), m["proto"])


def by_flow(msgs):
    d = {}
    for m in msgs:
        d.setdefault(fkey(m), []).append(m)
    return d


def short(m):
    if m is None:
        return "(none)"
    keys = ["frame", "command", "pv", "size", "dtype", "count", "p1", "p2",
            "truncated", "malformed", "resync"]
    return json.dumps({k: m[k] for k in keys if k in m})


def drop(m, keys):
    return {k: v for k, v in m.items() if k not in keys}


def same_msg(a, b, ignore=(), pv_may_be_lost=False):
    """Derived message a versus original b.  With pv_may_be_lost, a may
    lack the PV name (null) where the capture lost what binds it, but may
    never name another PV; a name it lacks comes with its reason."""
    a, b = drop(a, ignore), drop(b, ignore)
    if pv_may_be_lost and a.get("pv") is None:
        if b.get("pv") is not None and not a.get("pv_unknown"):
            return False
        a, b = drop(a, ("pv", "pv_unknown")), drop(b, ("pv", "pv_unknown"))
    return a == b


def compare_lists(name, der, ref, ignore=(), pv_may_be_lost=False):
    """Two ordered lists of messages must match one for one."""
    for i in range(max(len(der), len(ref))):
        a = der[i] if i < len(der) else None
        b = ref[i] if i < len(ref) else None
        if a is None or b is None or not same_msg(a, b, ignore, pv_may_be_lost):
            diff = ""
            if a is not None and b is not None:
                ks = sorted(k for k in set(a) | set(b) if k not in ignore and a.get(k) != b.get(k))
                diff = " (differs in %s)" % ",".join(ks)
            report(name, False, "%d vs %d messages; first difference at #%d%s: catrace %s, "
                   "expected %s" % (len(der), len(ref), i + 1, diff, short(a), short(b)))
            return False
    report(name, True)
    return True


def other_flows(name, der, ref, exclude):
    dd, rd = by_flow(der), by_flow(ref)
    bad = []
    for k in sorted(set(dd) | set(rd)):
        if k.split("/")[0] in exclude:
            continue
        a, b = dd.get(k, []), rd.get(k, [])
        if a != b:
            i = next((i for i in range(max(len(a), len(b)))
                      if i >= len(a) or i >= len(b) or a[i] != b[i]), 0)
            bad.append("%s: %d vs %d messages, first difference #%d: catrace %s, expected %s"
                       % (k, len(a), len(b), i + 1, short(a[i] if i < len(a) else None),
                          short(b[i] if i < len(b) else None)))
    report(name, not bad, "; ".join(bad[:3]) + (" (+%d flows)" % (len(bad) - 3) if len(bad) > 3 else ""))


def problems(msgs):
    return [m for m in msgs if "truncated" in m or "malformed" in m or m.get("resync")]


# ---------------------------------------------------------------- checks

def check_reordered(name, e, der_p, ref_p, err_p):
    # frames: packets were inserted, so map back (an inserted copy maps to
    # None; only TCP segments were inserted, and TCP is compared without
    # frame numbers, which reordering legitimately changes).
    der, ref = load(der_p, e["frames"]), load(ref_p)
    s = summary(err_p)
    report("%s: summary: 0 malformed, 0 truncated, 0 resynchronisations" % name,
           s is not None and s["malformed"] == 0 and s["truncated"] == 0 and s["resyncs"] == 0,
           "summary says %s" % s)
    p = problems(der)
    report("%s: no message flagged truncated/malformed/resync" % name, not p,
           "%d flagged, first: %s %s" % (len(p), short(p[0]) if p else "",
                                         p[0].get("truncated", p[0].get("malformed", "")) if p else ""))
    report("%s: same number of messages as the original" % name, len(der) == len(ref),
           "%d, original %d" % (len(der), len(ref)))
    dd, rd = by_flow(der), by_flow(ref)
    for k in sorted(set(dd) | set(rd)):
        if k.endswith("/tcp"):
            compare_lists("%s: messages of %s equal the original's, in order "
                          "(command, pv, ids, values)" % (name, k),
                          dd.get(k, []), rd.get(k, []), ignore=("ts", "frame"))
    other_flows("%s: UDP messages equal the original's" % name,
                [m for m in der if m["proto"] == "udp"],
                [m for m in ref if m["proto"] == "udp"], ())
    c = Counter(json.dumps(drop(m, ("ts", "frame")), sort_keys=True) for m in der)
    r = Counter(json.dumps(drop(m, ("ts", "frame")), sort_keys=True) for m in ref)
    report("%s: multiset of messages equals the original's" % name, c == r,
           "%d only in catrace's, %d only in the original's; e.g. %s"
           % (sum((c - r).values()), sum((r - c).values()),
              (list((c - r) or (r - c))[:1] or [""])[0][:250]))


def check_gap(name, e, der_p, ref_p, err_p):
    der, ref = load(der_p, e["frames"]), load(ref_p)
    s = summary(err_p)
    gf, rv = e["flow"], e["reverse"]
    rf = e["removed_frame"]
    report("%s: reports the loss (resynchronisations + truncated >= 1)" % name,
           s is not None and s["resyncs"] + s["truncated"] >= 1, "summary says %s" % s)
    other_flows("%s: messages of every other flow equal the original's" % name,
                der, ref, (gf, rv))
    # Names: a hole holding CREATE_CHAN (18) or SEARCH (6) replies takes
    # away what binds ids to PV names; then names may be missing (null)
    # but never wrong.
    names_lost = bool(set(e["hole_commands"]) & {6, 18})
    dg = [m for m in der if flow(m) == gf and m["proto"] == "tcp"]
    rg = [m for m in ref if flow(m) == gf and m["proto"] == "tcp"]
    compare_lists("%s: reverse direction %s equals the original's%s"
                  % (name, rv, " (PV names may be missing)" if names_lost else ""),
                  [m for m in der if flow(m) == rv and m["proto"] == "tcp"],
                  [m for m in ref if flow(m) == rv and m["proto"] == "tcp"],
                  pv_may_be_lost=names_lost)
    compare_lists("%s: %s: messages completed before the hole (frame %d) equal the original's"
                  % (name, gf, rf), [m for m in dg if m["frame"] < rf],
                  [m for m in rg if m["frame"] < rf])
    tr = [m for m in dg if "truncated" in m]
    report("%s: %s: at most %d message(s) reported truncated (those the hole cuts)"
           % (name, gf, e["msgs_cut"]), len(tr) <= e["msgs_cut"],
           "%d truncated: %s" % (len(tr), "; ".join(short(m) for m in tr[:3])))
    after_d = [m for m in dg if m["frame"] > rf and "truncated" not in m]
    after_r = rg[len(rg) - e["msgs_after"]:] if e["msgs_after"] else []
    compare_lists("%s: %s: every message after the hole (from stream offset %d, frame %d) "
                  "found and equal to the original's (command, pv, ids, values)%s"
                  % (name, gf, e["first_after_offset"], e["first_after_frame"],
                     " (PV names may be missing)" if names_lost else ""),
                  after_d, after_r, ignore=("resync", "ts", "frame"), pv_may_be_lost=names_lost)
    # ... and reported near where the original reports them.  Not exactly
    # there: catrace holds segments after a hole until the peer's ACK
    # proves the hole will not fill, and then a few packets more
    # (FLOW_HOLE_PATIENCE, for captures that merely reorder); what it must
    # not do is wait for the FIN or the end of the capture.
    max_late = 16
    late = [(a, b) for a, b in zip(after_d, after_r)
            if a["frame"] - b["frame"] > max_late or a["frame"] < b["frame"]]
    report("%s: %s: messages after the hole reported within %d frames of the original's"
           % (name, gf, max_late), not late,
           "%d of %d reported elsewhere; first: %s at original frame %d ts %s, "
           "expected frame %d ts %s; last: %s at frame %d, expected frame %d"
           % (len(late), len(after_r),
              late[0][0]["command"] if late else "", late[0][0]["frame"] if late else 0,
              late[0][0]["ts"] if late else "", late[0][1]["frame"] if late else 0,
              late[0][1]["ts"] if late else "",
              late[-1][0]["command"] if late else "", late[-1][0]["frame"] if late else 0,
              late[-1][1]["frame"] if late else 0))
    first = after_d[0] if after_d else None
    report("%s: %s: first message after the hole is marked \"resync\": true" % (name, gf),
           first is not None and first.get("resync") is True,
           "first message after the hole: %s" % short(first))


def check_midstream(name, e, der_p, ref_p, err_p):
    der, ref = load(der_p, e["frames"]), load(ref_p)
    s = summary(err_p)
    report("%s: counts a resynchronisation (it joined %s inside a message)" % (name, e["flow"]),
           s is not None and s["resyncs"] >= 1, "summary says %s" % s)
    other_flows("%s: messages of every other flow equal the original's" % name,
                der, ref, (e["flow"], e["reverse"]))
    for f in (e["flow"], e["reverse"]):
        want = e["expect"][f]
        rf = [m for m in ref if flow(m) == f and m["proto"] == "tcp"]
        rf = rf[len(rf) - len(want):] if want else []
        assert [m["frame"] for m in rf] == want, (f, [m["frame"] for m in rf], want)
        df = [m for m in der if flow(m) == f and m["proto"] == "tcp"]
        # The CREATE_CHAN that names the channel is before the cut: the
        # PV name may be missing, never wrong.
        compare_lists("%s: %s: messages after the cut (stream offset %d) equal the "
                      "original's from the same point on (%d: frames %s)"
                      % (name, f, e["cut_offset"], len(want),
                         ",".join(map(str, want[:6])) + ("..." if len(want) > 6 else "")),
                      df, rf, ignore=("resync",), pv_may_be_lost=True)
    df = [m for m in der if flow(m) == e["flow"] and m["proto"] == "tcp"]
    report("%s: %s: first message found is marked \"resync\": true" % (name, e["flow"]),
           bool(df) and df[0].get("resync") is True,
           "first message: %s" % short(df[0] if df else None))


def check_snaplen(name, e, der_p, ref_p, err_p):
    der, ref = load(der_p), load(ref_p)
    s = summary(err_p)
    report("%s: counts truncated messages (> 0)" % name,
           s is not None and s["truncated"] > 0, "summary says %s" % s)
    low = len(e["tcp_reachable"]) + len(e["udp_headers"])
    report("%s: at least %d messages (%d TCP headers reachable by sequence numbers from "
           "each SYN + %d UDP headers inside the snap length)"
           % (name, low, len(e["tcp_reachable"]), len(e["udp_headers"])),
           len(der) >= low, "only %d" % len(der))
    dd, rd = by_flow(der), by_flow(ref)
    # TCP: the first n messages of each direction, n = how many headers a
    # decoder can reach from the SYN by sequence numbers alone.
    reach = Counter(r["flow"] for r in e["tcp_reachable"])
    whole = {}
    for r in e["tcp_reachable"]:
        whole.setdefault(r["flow"], []).append(r["whole"])
    bad = []
    for f, n in sorted(reach.items()):
        a, b = dd.get(f + "/tcp", [])[:n], rd.get(f + "/tcp", [])[:n]
        for i in range(n):
            x = a[i] if i < len(a) else None
            y = b[i]
            want_tr = not whole[f][i]
            if x is None or x["frame"] != y["frame"] or any(x.get(k) != y.get(k) for k in HDR) \
                    or ("truncated" in x) != want_tr:
                bad.append("%s #%d: catrace %s, expected %s%s" % (f, i + 1, short(x), short(y),
                           " truncated" if want_tr else " complete"))
                break
    report("%s: every TCP header reachable from the SYN decoded at the same frame with the "
           "same header fields, flagged truncated exactly when its payload is cut" % name,
           not bad, "; ".join(bad[:3]) + (" (+%d)" % (len(bad) - 3) if len(bad) > 3 else ""))
    # UDP: by frame and position in the datagram.
    def udp_at(msgs):
        d = {}
        for m in msgs:
            if m["proto"] == "udp":
                d.setdefault(m["frame"], []).append(m)
        return d
    ud, ur = udp_at(der), udp_at(ref)
    bad_whole, bad_hdr = [], []
    for fr, i, w in e["udp_headers"]:
        x = ud.get(fr, [])[i] if i < len(ud.get(fr, [])) else None
        y = ur[fr][i]
        if w:
            if x != y:
                bad_whole.append("frame %d #%d: catrace %s, original %s" % (fr, i + 1, short(x), short(y)))
        elif x is None or any(x.get(k) != y.get(k) for k in HDR) or "truncated" not in x:
            bad_hdr.append("frame %d #%d: catrace %s, original %s" % (fr, i + 1, short(x), short(y)))
    report("%s: every UDP message wholly inside the snap length (%d) identical to the original"
           % (name, len(e["udp_whole"])), not bad_whole, "; ".join(bad_whole[:3]))
    report("%s: every UDP message cut by the snap length (%d) decoded with the original's "
           "header fields and flagged truncated"
           % (name, sum(1 for x in e["udp_headers"] if not x[2])), not bad_hdr,
           "; ".join(bad_hdr[:3]))
    # Nothing invented: every TCP message catrace reports matches one the
    # original has at the same frame in the same flow (header fields).
    pool = Counter((fkey(m), m["frame"]) + tuple(m.get(k) for k in HDR) for m in ref)
    inv = []
    for m in der:
        if m["proto"] != "tcp" or "inside a header" in str(m.get("truncated", "")):
            continue
        k = (fkey(m), m["frame"]) + tuple(m.get(k) for k in HDR)
        if pool[k] > 0:
            pool[k] -= 1
        else:
            inv.append(m)
    report("%s: no TCP message that the original does not have (same flow, frame, header)"
           % name, not inv, "%d invented, e.g. %s" % (len(inv), "; ".join(
               "%s %s" % (fkey(m), short(m)) for m in inv[:3])))


def check_cutfile(name, e, der_p, ref_p, err_p):
    der, ref = load(der_p), load(ref_p)
    n = e["complete_frames"]
    compare_lists("%s: prints every message of the %d complete packets, as the original"
                  % (name, n), [m for m in der if "truncated" not in m],
                  [m for m in ref if m["frame"] <= n])
    tr = [m for m in der if "truncated" in m]
    per = Counter(fkey(m) for m in tr)
    report("%s: the only other messages are ones the end cut short (<= 1 per TCP direction)"
           % name, all(k.endswith("/tcp") and v <= 1 for k, v in per.items())
           and all(m["frame"] <= n for m in tr),
           "; ".join(short(m) for m in tr[:3]))


checks = {"reordered": check_reordered, "gap": check_gap, "midstream": check_midstream,
          "snaplen": check_snaplen, "cutfile": check_cutfile}
if __name__ == "__main__":
    kind, name, manifest, der_p, ref_p, err_p = sys.argv[1:7]
    with open(manifest) as f:
        e = json.load(f)[name]
    checks[kind](name, e, der_p, ref_p, err_p)
PYEOF

# check KIND NAME REF: the Python checks for one derived capture; its
# PASS/FAIL lines are counted here.
check() {
	local line
	while IFS= read -r line; do
		case $line in
		PASS:*) pass=$((pass + 1)); echo "$line" ;;
		FAIL:*) fail=$((fail + 1)); echo "$line" ;;
		*) echo "$line" ;;
		esac
	done < <(python3 "$WORK/check.py" "$1" "$2" "$GEN/manifest.json" \
		"$WORK/$2.out" "$WORK/$3.out" "$WORK/$2.err" 2>&1 || echo "FAIL: $2: checker failed")
}

file_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["file"])' "$GEN/manifest.json" "$1"; }
summary_line() { grep -E '^[0-9]+ packets read' "$1"; }

# ------------------------------------------------------- the originals
for base in s01_caget_types s08_pyepics_many s15_large_and_errors; do
	run "$base" "$CAPTURES/$base.pcap" --json
	run "$base.text" "$CAPTURES/$base.pcap"
done
run s01_caget_types.nano "$CAPTURES/s01_caget_types.pcap" --nano

# ------------------- link types, file formats, QinQ, IPv4 options (s01)
# Same packets, so the same output: every line, frame numbers and time
# stamps included, in text and JSON, and the same summary.
for name in s01_sll s01_sll2 s01_raw s01_null s01_null_bigendian s01_pcap_nano \
	    s01_pcapng_micro s01_pcapng_nano s01_qinq s01_ipopts; do
	f=$GEN/$(file_of $name)
	run "$name" "$f" --json
	run "$name.text" "$f"
	expect_rc "$name" 0
	same_file "$name: JSON output identical to the original's" \
		"$WORK/s01_caget_types.out" "$WORK/$name.out" "JSON lines"
	same_file "$name: text output identical to the original's" \
		"$WORK/s01_caget_types.text.out" "$WORK/$name.text.out" "text lines"
	summary_line "$WORK/s01_caget_types.err" > "$WORK/s01_caget_types.summary"
	summary_line "$WORK/$name.err" > "$WORK/$name.summary"
	same_file "$name: summary identical to the original's" \
		"$WORK/s01_caget_types.summary" "$WORK/$name.summary" "summaries"
done
for name in s01_pcap_nano s01_pcapng_nano s01_pcapng_micro; do
	run "$name.nano" "$GEN/$(file_of $name)" --nano
	same_file "$name: --nano text identical to the original's" \
		"$WORK/s01_caget_types.nano.out" "$WORK/$name.nano.out" "text lines"
done

# ------------------------------------- reordered / retransmitted (s08)
run s08_reordered "$GEN/$(file_of s08_reordered)" --json
expect_rc s08_reordered 0
check reordered s08_reordered s08_pyepics_many

# --------------------------------------------------------- gaps (s08)
for name in s08_gap s08_gap_midmsg; do
	run "$name" "$GEN/$(file_of $name)" --json
	expect_rc "$name" 0
	check gap "$name" s08_pyepics_many
done

# ------------------------------------------------ snap length 96 (s15)
run s15_snap96 "$GEN/$(file_of s15_snap96)" --json
expect_rc s15_snap96 0
check snaplen s15_snap96 s15_large_and_errors
run s15_snap96.text "$GEN/$(file_of s15_snap96)"
expect_rc s15_snap96.text 0

# ------------------------------------- joining mid-connection (s15)
for name in s15_midstream s15_midstream_caput; do
	run "$name" "$GEN/$(file_of $name)" --json
	expect_rc "$name" 0
	check midstream "$name" s15_large_and_errors
	# Joined inside a circuit: its channels' messages say their name is
	# unknown, and the summary counts exactly those.
	n=$(grep -c '"pv_unknown":' "$WORK/$name.out")
	if [ "$n" -gt 0 ] && grep -qx "$n messages about channels whose name is unknown (pv=?: their creation is not in the capture)" "$WORK/$name.err"; then
		ok "$name: $n messages say their name is unknown, and the summary counts them"
	else
		bad "$name: unnamed messages counted" "$n in the output; $(grep unknown "$WORK/$name.err")"
	fi
done

# -------------------------------------------------------- damaged files
# A file cut inside a packet record: exit 1, one error line naming the
# file (besides the summary), and the messages of the packets before.
for name in s01_cut_data s01_cut_header s01_cut; do
	f=$GEN/$(file_of $name)
	run "$name" "$f" --json
	expect_rc "$name" 1
	errs=$(grep -vE '^[0-9]+ packets read' "$WORK/$name.err")
	if [ "$(printf '%s' "$errs" | grep -c '')" -eq 1 ] && printf '%s' "$errs" | grep -qF "$f"; then
		ok "$name: one error line naming the file"
	else
		bad "$name: one error line naming the file" "stderr: $(tr '\n' '|' < "$WORK/$name.err" | cut -c1-300)"
	fi
	check cutfile "$name" s01_caget_types
done
# Not a capture, or one we cannot decode: exit 2, one line on stderr
# (naming the file), nothing on stdout.
for name in empty text wifi_80211 missing; do
	if [ $name = missing ]; then f=$GEN/no-such-file.pcap; else f=$GEN/$(file_of $name); fi
	run "$name" "$f"
	expect_rc "$name" 2
	n=$(grep -c '' "$WORK/$name.err")
	if [ "$n" -eq 1 ] && [ ! -s "$WORK/$name.out" ]; then
		ok "$name: one line on stderr, nothing on stdout"
	else
		bad "$name: one line on stderr, nothing on stdout" \
			"$n stderr lines, $(wc -c < "$WORK/$name.out") bytes on stdout: $(tr '\n' '|' < "$WORK/$name.err" | cut -c1-300)"
	fi
	if grep -qF "$f" "$WORK/$name.err"; then ok "$name: the error names the file"
	else bad "$name: the error names the file" "$(head -1 "$WORK/$name.err")"; fi
done
if grep -q 'link type 105' "$WORK/wifi_80211.err"; then ok "wifi_80211: error says link type 105"
else bad "wifi_80211: error says link type 105" "$(head -1 "$WORK/wifi_80211.err")"; fi

# A capture that joins a circuit midway on a server port nobody named
# (s16: 5070) and shows neither its opening nor the search that found it:
# content finds the circuit, and every message of it in the cut part is
# decoded (issue 16).  The part kept starts inside the monitor's updates.
S16=$CAPTURES/s16_server_port.pcap
if [ -r "$S16" ] && command -v editcap >/dev/null; then
	"$CATRACE" -r "$S16" --json 2>/dev/null >"$WORK/s16-full.json"
	from=$(jq -r 'select(.cmd == 1 and .dir == "response") | .frame' "$WORK/s16-full.json" | sed -n 3p)
	last=$(capinfos -c -M "$S16" 2>/dev/null | awk '/Number of packets/ {print $NF}')
	editcap -r "$S16" "$WORK/s16-cut.pcap" "$from-$last" 2>/dev/null
	want=$(jq -c --argjson from "$from" 'select(.proto == "tcp" and .frame >= $from) | [.cmd, .dir, .p1, .p2, .size, .ts]' \
		"$WORK/s16-full.json" | sort)
	got=$("$CATRACE" -r "$WORK/s16-cut.pcap" --json 2>/dev/null | jq -c 'select(.proto == "tcp") | [.cmd, .dir, .p1, .p2, .size, .ts]' | sort)
	n=$(printf '%s\n' "$want" | grep -c .)
	if [ "$n" -ge 5 ] && [ "$got" = "$want" ]; then
		ok "joined midway on port 5070 with no --port: all $n circuit messages decoded"
	else
		bad "joined midway on port 5070 with no --port" "$(printf '%s\n' "$got" | grep -c .) of $n messages"
	fi
	if [ -z "$("$CATRACE" -r "$WORK/s16-cut.pcap" --json --no-detect 2>/dev/null | jq -c 'select(.proto == "tcp")')" ]; then
		ok "--no-detect: the same cut capture decodes no circuit"
	else
		bad "--no-detect" "a circuit was decoded"
	fi
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
