#!/usr/bin/env python3
"""Read Prometheus text expositions for catrace's tests.

  prom.py get FILE 'name{label="v",...}'   print one sample's value (or "none")
  prom.py count FILE name                  number of series of a metric
  prom.py sum FILE name [label=value]      sum of a metric's series
  prom.py messages FILE DECODE.jsonl [--skip CMD,...]
        compare catrace_messages_total{command,direction} with the messages
        of a `catrace -r --json` decode; prints mismatches, exit 1 if any
  prom.py searches FILE DECODE.jsonl
        compare catrace_searches_total{pv} with SEARCH requests per name in
        the decode (for every pv label present), and the label-less total

A sample line is `name{labels} value`; labels are parsed with the
exposition format's escapes (backslash, quote, newline).
"""
import collections
import json
import re
import sys

# CA command codes -> catrace's command label (protocol constant names).
CMD_NAMES = {
    0: "VERSION", 1: "EVENT_ADD", 2: "EVENT_CANCEL", 3: "READ", 4: "WRITE",
    5: "SNAPSHOT", 6: "SEARCH", 7: "BUILD", 8: "EVENTS_OFF", 9: "EVENTS_ON",
    10: "READ_SYNC", 11: "ERROR", 12: "CLEAR_CHANNEL", 13: "RSRV_IS_UP",
    14: "NOT_FOUND", 15: "READ_NOTIFY", 16: "READ_BUILD",
    17: "REPEATER_CONFIRM", 18: "CREATE_CHAN", 19: "WRITE_NOTIFY",
    20: "CLIENT_NAME", 21: "HOST_NAME", 22: "ACCESS_RIGHTS", 23: "ECHO",
    24: "REPEATER_REGISTER", 25: "SIGNAL", 26: "CREATE_CH_FAIL",
    27: "SERVER_DISCONN",
}

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def unescape(s):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), s)


def parse(path):
    """[(name, {label: value}, float)] for every sample line."""
    out = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            m = LINE.match(line)
            if not m:
                raise SystemExit(f"{path}: not a sample line: {line!r}")
            labels = {}
            body = m.group(3) or ""
            pos = 0
            while pos < len(body):
                lm = LABEL.match(body, pos)
                if not lm:
                    raise SystemExit(f"{path}: bad labels: {body!r}")
                labels[lm.group(1)] = unescape(lm.group(2))
                pos = lm.end()
            out.append((m.group(1), labels, float(m.group(4))))
    return out


def select(samples, name, want=None):
    want = want or {}
    return [(l, v) for n, l, v in samples
            if n == name and all(l.get(k) == x for k, x in want.items())]


def parse_selector(sel):
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?$', sel)
    if not m:
        raise SystemExit(f"bad selector {sel!r}")
    want = {}
    for lm in LABEL.finditer(m.group(3) or ""):
        want[lm.group(1)] = unescape(lm.group(2))
    return m.group(1), want


def decode(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def cmd_messages(prom, jsonl, skip):
    samples = parse(prom)
    want = collections.Counter()
    for m in decode(jsonl):
        want[(CMD_NAMES.get(m["cmd"], "other"), m["dir"])] += 1
    bad = 0
    checked = 0
    for cmd in list(CMD_NAMES.values()) + ["other"]:
        if cmd in skip:
            continue
        for d in ("request", "response"):
            got = select(samples, "catrace_messages_total", {"command": cmd, "direction": d})
            if len(got) != 1:
                print(f"messages: {cmd}/{d}: {len(got)} series")
                bad += 1
                continue
            checked += 1
            if int(got[0][1]) != want[(cmd, d)]:
                print(f"messages: {cmd}/{d}: metrics {int(got[0][1])}, decode {want[(cmd, d)]}")
                bad += 1
    print(f"messages: {checked} command/direction pairs compared, {bad} differ")
    return 1 if bad else 0


def cmd_searches(prom, jsonl):
    samples = parse(prom)
    per_pv = collections.Counter(m["pv"] for m in decode(jsonl)
                                 if m["cmd"] == 6 and m["dir"] == "request")
    bad = 0
    series = select(samples, "catrace_searches_total")
    for labels, v in series:
        if int(v) != per_pv[labels["pv"]]:
            print(f"searches: {labels['pv']!r}: metrics {int(v)}, decode {per_pv[labels['pv']]}")
            bad += 1
    total = select(samples, "catrace_search_requests_total")
    if len(total) != 1 or int(total[0][1]) != sum(per_pv.values()):
        print(f"searches: total {total} vs decode {sum(per_pv.values())}")
        bad += 1
    print(f"searches: {len(series)} pv series compared, {bad} differ")
    return 1 if bad else 0


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    op, prom = argv[1], argv[2]
    if op == "get":
        name, want = parse_selector(argv[3])
        got = [v for l, v in select(parse(prom), name, want) if l == want]
        print("none" if not got else ("%d" % got[0] if got[0] == int(got[0]) else got[0]))
        return 0
    if op == "count":
        print(len(select(parse(prom), argv[3])))
        return 0
    if op == "sum":
        want = dict(kv.split("=", 1) for kv in argv[4:])
        total = sum(v for _, v in select(parse(prom), argv[3], want))
        print("%d" % total if total == int(total) else total)
        return 0
    if op == "messages":
        skip = set()
        if len(argv) > 5 and argv[4] == "--skip":
            skip = set(argv[5].split(","))
        return cmd_messages(prom, argv[3], skip)
    if op == "searches":
        return cmd_searches(prom, argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
