#!/usr/bin/env python3
"""Send hand-built Ethernet frames on an interface (AF_PACKET), for the
packets a socket cannot make: a SEARCH datagram in two IPv4 fragments, a
SEARCH whose IPv4 total length runs past its frame.  Bounded: a few
frames, to the addresses given (inside the test's namespaces).

    send_frames.py IFACE SRC_MAC DST_MAC SRC_IP DST_IP fragments|overlap|short

fragments: FRAG:HIDDEN:PV in two fragments a receiver puts together;
overlap: OVERLAP:HIDDEN:PV in two fragments that overlap (receivers drop
the datagram); short: SHORT:HIDDEN:PV with an IPv4 length past the frame.
"""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ca_wire import csum  # noqa: E402


def ipv4(src, dst, payload, ident, flags_frag, tot=None):
    tot = tot if tot is not None else 20 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, ident, flags_frag, 64, 17, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def search_datagram(name):
    pad = (len(name) + 1 + 7) // 8 * 8
    body = name.encode() + b"\0" * (pad - len(name))
    version = struct.pack("!HHHHII", 0, 0, 0, 13, 0, 0)
    search = struct.pack("!HHHHII", 6, pad, 5, 13, 77, 77) + body
    payload = version + search
    udp = struct.pack("!HHHH", 40123, 5064, 8 + len(payload), 0) + payload
    return udp


def main():
    iface, smac, dmac, src, dst, kind = sys.argv[1:7]
    eth = bytes.fromhex(dmac.replace(":", "")) + bytes.fromhex(smac.replace(":", "")) + b"\x08\x00"
    udp = search_datagram({"fragments": "FRAG:HIDDEN:PV", "overlap": "OVERLAP:HIDDEN:PV",
                           "short": "SHORT:HIDDEN:PV"}[kind])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    if kind == "fragments":
        # The first 24 bytes (UDP header + the VERSION) with MF set, the
        # rest at offset 24 (3 units of 8 bytes).
        s.send(eth + ipv4(src, dst, udp[:24], 4242, 0x2000))
        s.send(eth + ipv4(src, dst, udp[24:], 4242, 3))
    elif kind == "overlap":
        # The second starts 8 bytes early (offset 16): it overlaps the
        # first's last 8 bytes.
        s.send(eth + ipv4(src, dst, udp[:24], 4244, 0x2000))
        s.send(eth + ipv4(src, dst, udp[16:], 4244, 2))
    else:
        # The IPv4 header says 200 bytes more than the frame holds.
        s.send(eth + ipv4(src, dst, udp, 4243, 0x4000, tot=20 + len(udp) + 200))
    s.close()


if __name__ == "__main__":
    main()
