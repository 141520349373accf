#!/usr/bin/env python3
"""Compare two catrace outputs printed with the same --format template
whose first word is the flow ("src:sport>dst:dport"): per flow direction
the sequences of messages must be equal (order across flows may differ,
as the live hooks see the two directions separately).

Usage: compare_flows.py LIVE OFFLINE   -> exit 0 if equal, else 1 with
the first differences on stdout."""
import sys
from collections import OrderedDict


def flows(path):
    out = OrderedDict()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            flow, _, rest = line.partition(" ")
            out.setdefault(flow, []).append(rest)
    return out


def main():
    live, off = flows(sys.argv[1]), flows(sys.argv[2])
    bad = 0
    for flow in sorted(set(live) | set(off)):
        a, b = live.get(flow, []), off.get(flow, [])
        if a == b:
            continue
        bad += 1
        print("flow %s: live %d messages, offline %d" % (flow, len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                print("  first difference at message %d:\n    live:    %s\n    offline: %s" % (i, x, y))
                break
        else:
            longer = a if len(a) > len(b) else b
            print("  extra: %s" % longer[min(len(a), len(b))])
        if bad >= 5:
            break
    n = sum(len(v) for v in live.values())
    if bad:
        return 1
    print("equal: %d messages in %d flow directions" % (n, len(live)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
