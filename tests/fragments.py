#!/usr/bin/env python3
"""Insert a SEARCH datagram sent in two IPv4 fragments into a copy of a
capture (tests/fragments.sh): the first fragment after packet FIRST, the
last after packet LAST, each with its neighbour's time, as a busy link
would spread them.

    tests/fragments.py IN.pcap OUT.pcap FIRST LAST [--reversed]

The capture must be Ethernet.  --reversed puts the last fragment first."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "loss"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "netns"))
import pcapio  # noqa: E402
from ca_wire import csum, msg, name  # noqa: E402

SEARCH, VERSION = 6, 0


def ipv4(body, ident, frag):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident, frag, 64, 17, 0,
                    bytes([10, 77, 0, 2]), bytes([10, 77, 0, 1]))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + body


def main():
    src, dst, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    cap = pcapio.read_pcap(src)
    if cap.linktype != 1:
        sys.exit("fragments.py: %s is not Ethernet" % src)
    payload = msg(VERSION, count=13) + msg(SEARCH, name("FRAG:TEST:PV"),
                                           dtype=5, count=13, p1=4242, p2=4242)
    udp = struct.pack("!HHHH", 40999, 5064, 8 + len(payload), 0) + payload
    eth = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
    frags = [eth + ipv4(udp[:24], 0x5151, 0x2000), eth + ipv4(udp[24:], 0x5151, 3)]
    if "--reversed" in sys.argv:
        frags.reverse()
    out = []
    for p in cap.packets:
        out.append(p)
        for at, f in ((first, frags[0]), (last, frags[1])):
            if p.number == at:
                out.append(pcapio.Packet(0, p.sec, p.frac, len(f), f))
    pcapio.write_pcap(dst, cap, out)


if __name__ == "__main__":
    main()
