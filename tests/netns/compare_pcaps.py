#!/usr/bin/env python3
"""Do two captures hold the same packets on every flow direction?

compare_pcaps.py CATRACE.pcap TCPDUMP.pcap [--skip-port N ...]

Flow directions are (src, sport, dst, dport, proto) of IPv4 TCP/UDP
packets in Ethernet frames.  Every flow direction of CATRACE.pcap must
appear in TCPDUMP.pcap with the same packets, byte for byte, in the same
order (tcpdump's file may hold other, non-CA flows; those are ignored).
Ports given with --skip-port (e.g. beacons, which run on their own
schedule across the capture windows) are left out.  Exit 0 when equal."""
import struct
import sys
from collections import OrderedDict


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        end = "<"
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        end = ">"
    else:
        raise SystemExit("%s: not a pcap file" % path)
    off = 24
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
        yield data[off + 16:off + 16 + incl], orig
        off += 16 + incl


def flow_of(frame):
    off, etype = 14, struct.unpack(">H", frame[12:14])[0]
    while etype in (0x8100, 0x88a8) and len(frame) >= off + 4:
        etype = struct.unpack(">H", frame[off + 2:off + 4])[0]
        off += 4
    if etype != 0x0800 or len(frame) < off + 20:
        return None
    ihl = (frame[off] & 15) * 4
    proto = frame[off + 9]
    if proto not in (6, 17) or len(frame) < off + ihl + 4:
        return None
    src = ".".join(map(str, frame[off + 12:off + 16]))
    dst = ".".join(map(str, frame[off + 16:off + 20]))
    sport, dport = struct.unpack(">HH", frame[off + ihl:off + ihl + 4])
    return (src, sport, dst, dport, proto)


def by_flow(path, skip):
    out = OrderedDict()
    for frame, orig in packets(path):
        fl = flow_of(frame)
        if fl is None or fl[1] in skip or fl[3] in skip:
            continue
        out.setdefault(fl, []).append((frame, orig))
    return out


def main():
    args = sys.argv[1:]
    skip = set()
    while "--skip-port" in args:
        i = args.index("--skip-port")
        skip.add(int(args[i + 1]))
        del args[i:i + 2]
    cat, ref = by_flow(args[0], skip), by_flow(args[1], skip)
    bad = 0
    n = 0
    for fl, pk in cat.items():
        r = ref.get(fl, [])
        n += len(pk)
        if [p for p, _ in pk] == [p for p, _ in r]:
            continue
        bad += 1
        print("flow %s:%d>%s:%d/%d: catrace %d packets, tcpdump %d" % (fl + (len(pk), len(r))))
        for i, ((a, _), (b, _)) in enumerate(zip(pk, r)):
            if a != b:
                print("  first difference at packet %d (%d vs %d bytes)" % (i, len(a), len(b)))
                break
        if bad >= 5:
            break
    if bad:
        return 1
    print("equal: %d packets in %d flow directions" % (n, len(cat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
