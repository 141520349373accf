#!/usr/bin/env python3
"""Make a degraded copy of a capture, the way a lossy capture point would
have recorded it, and a sidecar saying where each packet came from.

    tests/loss/degrade.py [--seed N] --class CLASS [--class CLASS ...]
                          INPUT.pcap OUTPUT.pcap

Classes (P in percent, of the TCP segments that carry payload; handshake,
FIN, RST and bare ACK packets and UDP are left alone, except by cut):
  drop:P   drop P% of the payload segments
  swap:P   swap P% of the payload segments with the next payload segment of
           the same direction of the same connection: the two exchange
           places in the file, each keeps its own time stamp (what a
           capture merged from several queues looks like)
  dup:P    duplicate P% of the payload segments: the copy comes right
           after, with the same time stamp
  cut:F    remove the first fraction F of all packets, so that circuits
           start mid-stream
  gap:N    remove N consecutive payload segments of the server-to-client
           direction of the busiest circuit (the one whose server sends
           the most payload segments: a monitor stream), starting in its
           middle; fewer if the flow ends first (its last segment stays)
P% of n segments is round(n * P / 100), at least 1 when P > 0.  Classes
apply in the order given, each to the previous one's result; each draws
from its own generator, seeded from --seed and its position, so that the
same command gives the same file.

The sidecar OUTPUT.pcap.map has a comment line saying how the file was
made, then "OUTPUT_NUMBER ORIGINAL_NUMBER" per output packet (1-based;
both copies of a duplicate name the same original).  A summary of what
was done goes to standard error.  Standard library only.
"""

import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapio  # noqa: E402

CLASSES = ("drop", "swap", "dup", "cut", "gap")


def parse_class(text):
    """'drop:2' -> ('drop', 2.0); argparse reports a ValueError."""
    name, _, arg = text.partition(":")
    if name not in CLASSES or not arg:
        raise argparse.ArgumentTypeError(
            "%r: want NAME:ARG with NAME one of %s"
            % (text, ", ".join(CLASSES)))
    try:
        value = float(arg)
    except ValueError:
        raise argparse.ArgumentTypeError("%r: %r is not a number"
                                         % (text, arg))
    limits = {"drop": (0, 100), "swap": (0, 100), "dup": (0, 100),
              "cut": (0, 1), "gap": (1, None)}
    low, high = limits[name]
    if value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError("%r: out of range" % text)
    if name == "gap" and value != int(value):
        raise argparse.ArgumentTypeError("%r: N is a whole number" % text)
    return name, value


def is_payload_segment(capture, packet):
    l4 = pcapio.parse_l4(capture.linktype, packet)
    return l4 is not None and l4.proto == "tcp" and len(l4.payload) > 0


def payload_positions(capture, packets):
    """Positions (in PACKETS) of the TCP segments that carry payload."""
    return [i for i, p in enumerate(packets) if is_payload_segment(capture, p)]


def share(total, percent):
    """How many of TOTAL items P% means: rounded, at least 1 if P > 0."""
    if percent <= 0 or total == 0:
        return 0
    return min(total, max(1, int(round(total * percent / 100.0))))


def apply_drop(capture, packets, percent, rng):
    positions = payload_positions(capture, packets)
    chosen = set(rng.sample(positions, share(len(positions), percent)))
    kept = [p for i, p in enumerate(packets) if i not in chosen]
    return kept, "%d of %d payload segments dropped" % (len(chosen),
                                                       len(positions))


def next_in_flow(capture, packets, positions):
    """position -> position of the next payload segment of the same
    direction of the same connection (absent for each flow's last)."""
    following, last_of_flow = {}, {}
    for i in positions:
        flow = pcapio.parse_l4(capture.linktype, packets[i]).flow
        if flow in last_of_flow:
            following[last_of_flow[flow]] = i
        last_of_flow[flow] = i
    return following


def apply_swap(capture, packets, percent, rng):
    positions = payload_positions(capture, packets)
    following = next_in_flow(capture, packets, positions)
    wanted = share(len(positions), percent)
    candidates = sorted(following)
    rng.shuffle(candidates)
    # A segment takes part in one swap at most, so that each swap is the
    # simple "two neighbours of a flow arrive in the wrong order".
    busy, pairs = set(), []
    for first in candidates:
        if len(pairs) == wanted:
            break
        second = following[first]
        if first in busy or second in busy:
            continue
        busy.update((first, second))
        pairs.append((first, second))
    out = list(packets)
    for first, second in pairs:
        out[first], out[second] = out[second], out[first]
    return out, "%d pairs of %d payload segments swapped" % (len(pairs),
                                                            len(positions))


def apply_dup(capture, packets, percent, rng):
    positions = payload_positions(capture, packets)
    chosen = set(rng.sample(positions, share(len(positions), percent)))
    out = []
    for i, p in enumerate(packets):
        out.append(p)
        if i in chosen:
            out.append(p.copy())
    return out, "%d of %d payload segments duplicated" % (len(chosen),
                                                         len(positions))


def apply_cut(capture, packets, fraction, _rng):
    removed = int(len(packets) * fraction)
    return packets[removed:], "first %d of %d packets cut" % (removed,
                                                            len(packets))


def server_side(capture, packets, connection):
    """(address, port) of the connection's server: the side a SYN without
    ACK went to; without the handshake (a cut capture), the side with the
    lower port, as clients use ephemeral ports."""
    for p in packets:
        l4 = pcapio.parse_l4(capture.linktype, p)
        if (l4 is not None and l4.connection == connection
                and l4.flags & pcapio.TCP_SYN
                and not l4.flags & pcapio.TCP_ACK):
            return (l4.dst, l4.dport)
    ends = [(connection[1], connection[2]), (connection[3], connection[4])]
    return min(ends, key=lambda end: end[1])


def server_flows(capture, packets, positions):
    """server-to-client flow -> its payload segment positions."""
    by_flow, servers = {}, {}
    for i in positions:
        l4 = pcapio.parse_l4(capture.linktype, packets[i])
        if l4.connection not in servers:
            servers[l4.connection] = server_side(capture, packets,
                                                 l4.connection)
        if (l4.src, l4.sport) == servers[l4.connection]:
            by_flow.setdefault(l4.flow, []).append(i)
    return by_flow


def apply_gap(capture, packets, count, _rng):
    count = int(count)
    by_flow = server_flows(capture, packets,
                           payload_positions(capture, packets))
    if not by_flow:
        return packets, "no server-to-client payload: nothing removed"
    flow, positions = max(by_flow.items(),
                          key=lambda item: (len(item[1]), item[0]))
    # Start in the middle and keep the flow's last segment, so that the
    # gap is a hole in a running stream (its channels set up before it),
    # not its end; a short flow loses fewer than N.
    start = len(positions) // 2
    removed = set(positions[start:min(start + count, len(positions) - 1)])
    kept = [p for i, p in enumerate(packets) if i not in removed]
    return kept, "%d consecutive of the %d payload segments of %s:%d->%s:%d " \
        "removed" % ((len(removed), len(positions)) + flow[:4])


APPLY = {"drop": apply_drop, "swap": apply_swap, "dup": apply_dup,
         "cut": apply_cut, "gap": apply_gap}


def degrade(capture, classes, seed):
    """The degraded packet list and one summary line per class."""
    packets, notes = list(capture.packets), []
    for index, (name, value) in enumerate(classes):
        # A string seed is hashed the same way on every run and platform.
        rng = random.Random("%s/%d/%s" % (seed, index, name))
        packets, note = APPLY[name](capture, packets, value, rng)
        notes.append("%s:%g: %s" % (name, value, note))
    return packets, notes


def write_map(path, packets, description):
    with open(path, "w", encoding="ascii") as f:
        f.write("# %s\n# output_packet original_packet\n" % description)
        for out_number, p in enumerate(packets, 1):
            f.write("%d %d\n" % (out_number, p.number))


def main():
    parser = argparse.ArgumentParser(
        description="Degrade a capture (drop, swap, duplicate, cut, gap) "
                    "and write OUTPUT.map beside it.")
    parser.add_argument("--class", dest="classes", action="append",
                        type=parse_class, required=True, metavar="CLASS",
                        help="drop:P, swap:P, dup:P, cut:F or gap:N "
                             "(repeatable)")
    parser.add_argument("--seed", default="1",
                        help="random seed (default %(default)s)")
    parser.add_argument("--map", metavar="PATH",
                        help="sidecar path (default OUTPUT.map)")
    parser.add_argument("input")
    parser.add_argument("output")
    args = parser.parse_args()
    try:
        capture = pcapio.read_pcap(args.input)
        packets, notes = degrade(capture, args.classes, args.seed)
    except pcapio.PcapError as error:
        sys.exit("degrade: %s" % error)
    pcapio.write_pcap(args.output, capture, packets)
    description = "degrade.py --seed %s %s %s: %d of %d packets" % (
        args.seed, " ".join("--class %s:%g" % c for c in args.classes),
        os.path.basename(args.input), len(packets), len(capture.packets))
    write_map(args.map or args.output + ".map", packets, description)
    for note in notes:
        sys.stderr.write("degrade: %s\n" % note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
