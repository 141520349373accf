#!/usr/bin/env python3
"""Write a tiny hand-built CA capture for tests/loss/selftest.sh.

    tests/loss/tiny_capture.py [--nano] [--cooked] OUT.pcap

One UDP search and its reply, then a TCP circuit with its handshake:
VERSION, CREATE_CHAN (split over two segments), READ_NOTIFY and an
EVENT_ADD with three updates, each direction's payload in several
segments with bare ACKs between them, and a FIN at the end.  Ethernet
(or Linux cooked with --cooked), microsecond time stamps (or nanosecond
with --nano).  Checksums are left zero: neither catrace nor tshark
checks them by default.
"""

import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapio  # noqa: E402

CLIENT, SERVER = (10, 0, 0, 2), (10, 0, 0, 1)
CLIENT_UDP, CLIENT_TCP, SERVER_PORT = 40000, 40001, 5064
PV = b"TINY:pv"
DBR_DOUBLE, DBR_TIME_DOUBLE = 6, 20


def ca(cmd, payload=b"", dtype=0, count=0, p1=0, p2=0):
    """A CA message, payload padded to a multiple of 8."""
    payload += b"\0" * (-len(payload) % 8)
    return struct.pack(">HHHHII", cmd, len(payload), dtype, count, p1,
                       p2) + payload


def time_double(value, seconds):
    """DBR_TIME_DOUBLE: status, severity, stamp, pad, the value."""
    return struct.pack(">hhIIid", 0, 0, seconds, 0, 0, value)


def ipv4(src, dst, proto, l4):
    header = struct.pack(">BBHHHBBH4B4B", 0x45, 0, 20 + len(l4), 1, 0, 64,
                         proto, 0, *(src + dst))
    return header + l4


def tcp(seq, ack, flags, payload=b"", sport=CLIENT_TCP, dport=SERVER_PORT):
    return struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags,
                       65535, 0, 0) + payload


def udp(sport, dport, payload):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def link(ip_packet, cooked):
    if cooked:
        return struct.pack(">HHH8sH", 0, 1, 6, b"\2" * 8, 0x0800) + ip_packet
    return b"\2" * 6 + b"\4" * 6 + b"\x08\x00" + ip_packet


class Conversation:
    """Builds packets in order, keeping each side's TCP sequence number."""

    def __init__(self):
        self.frames = []
        self.seq = {"c": 1000, "s": 5000}

    def udp(self, from_client, payload):
        src, dst = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
        ports = ((CLIENT_UDP, SERVER_PORT) if from_client
                 else (SERVER_PORT, CLIENT_UDP))
        self.frames.append(ipv4(src, dst, 17, udp(*ports, payload)))

    def tcp(self, side, flags, payload=b""):
        other = "s" if side == "c" else "c"
        src, dst = (CLIENT, SERVER) if side == "c" else (SERVER, CLIENT)
        ports = ((CLIENT_TCP, SERVER_PORT) if side == "c"
                 else (SERVER_PORT, CLIENT_TCP))
        self.frames.append(ipv4(src, dst, 6, tcp(
            self.seq[side], self.seq[other], flags, payload, *ports)))
        self.seq[side] += len(payload) + (1 if flags & 0x03 else 0)

    def data(self, side, payload, pieces=1):
        """PAYLOAD in PIECES segments, each acknowledged by the other side."""
        other = "s" if side == "c" else "c"
        step = -(-len(payload) // pieces)
        for i in range(0, len(payload), step):
            self.tcp(side, 0x18, payload[i:i + step])
            self.tcp(other, 0x10)


def conversation():
    c = Conversation()
    c.udp(True, ca(0, dtype=1, count=13, p1=1) + ca(6, PV, 5, 13, 1, 1))
    c.udp(False, ca(0, dtype=1, count=13, p1=1)
          + ca(6, struct.pack(">H", 13), SERVER_PORT, 0, 0xFFFFFFFF, 1))
    c.tcp("c", 0x02)
    c.tcp("s", 0x12)
    c.tcp("c", 0x10)
    c.data("c", ca(0, count=13) + ca(20, b"me") + ca(21, b"host"))
    c.data("c", ca(18, PV, p1=1, p2=13), pieces=2)
    c.data("s", ca(0, count=13) + ca(22, p1=1, p2=3)
           + ca(18, dtype=DBR_DOUBLE, count=1, p1=1, p2=7))
    c.data("c", ca(15, dtype=DBR_TIME_DOUBLE, count=1, p1=7, p2=1)
           + ca(1, struct.pack(">fffH2x", 0, 0, 0, 5), DBR_TIME_DOUBLE, 1,
                7, 2))
    c.data("s", ca(15, time_double(1.5, 100), DBR_TIME_DOUBLE, 1, 1, 1),
           pieces=2)
    for n in range(3):
        c.data("s", ca(1, time_double(2.0 + n, 101 + n), DBR_TIME_DOUBLE,
                       1, 1, 2))
    c.tcp("c", 0x11)
    c.tcp("s", 0x11)
    c.tcp("c", 0x10)
    return c.frames


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nano", action="store_true")
    parser.add_argument("--cooked", action="store_true")
    parser.add_argument("output")
    args = parser.parse_args()
    magic = pcapio.MAGIC_NANO if args.nano else pcapio.MAGIC_MICRO
    linktype = (pcapio.LINKTYPE_LINUX_SLL if args.cooked
                else pcapio.LINKTYPE_ETHERNET)
    capture = pcapio.Capture("<", magic, (2, 4), 65535, linktype, [])
    tick = 1000 if args.nano else 1   # 1 ms between packets, 1 us + 7 ns off
    packets = []
    for number, ip_packet in enumerate(conversation(), 1):
        data = link(ip_packet, args.cooked)
        frac = number * 1000 * tick + (7 if args.nano else 0)
        packets.append(pcapio.Packet(number, 1700000000, frac, len(data),
                                     data))
    pcapio.write_pcap(args.output, capture, packets)


if __name__ == "__main__":
    main()
