#!/usr/bin/env python3
"""Synthetic CA captures for the memory-bound tests (tests/memory.sh).

  gen_load.py flows N_FLOWS CHANNELS_PER_FLOW FILE
      One pcap file: N_FLOWS TCP circuits to one IOC, each opened from its
      SYN (VERSION, CLIENT_NAME, HOST_NAME, CHANNELS_PER_FLOW CREATE_CHAN
      and their replies, a subscription and a first update per channel)
      and never closed, plus one UDP search datagram and its reply per
      circuit naming its channels.  Every channel name is distinct
      ("LOAD:nnnnnnn").  With no FIN, only catrace's own bounds free
      anything.

  gen_load.py stream BYTES
      A pcap stream of at least BYTES bytes on standard output: first the
      circuits of `flows 70000 4` (past every table bound of catrace's:
      flows, circuits, channels, UDP searches), then, over and over, a
      circuit that comes and goes (SYN, handshake, four channels, 60
      monitor updates of 4 KiB arrays, FIN) and one that stays open, with
      new addresses, ports and names all the way.  Written in 1 MiB blocks.
      Past the first ~170 MB, what catrace holds can only be replaced,
      not grow.

Numbers in CA are big-endian; packets are Ethernet/IPv4 with zero
checksums (catrace does not check them).
"""
import struct
import sys

SERVER_IP = 0x0AFE0001
SERVER_PORT = 5064
DBR_DOUBLE, DBR_CHAR = 6, 4


def ca_hdr(cmd, size=0, dtype=0, count=0, p1=0, p2=0):
    return struct.pack(">HHHHII", cmd, size, dtype, count, p1, p2)


def ca_str(cmd, s, dtype=0, count=0, p1=0, p2=0):
    b = s.encode() + b"\0"
    b += b"\0" * (-len(b) % 8)
    return ca_hdr(cmd, len(b), dtype, count, p1, p2) + b


def ip4(a):
    return struct.pack(">I", a)


class Writer:
    """pcap records into a buffer, flushed to `out` in big blocks."""

    def __init__(self, out):
        self.out = out
        self.buf = bytearray()
        self.ts = 1700000000 * 1000000
        self.total = 24
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))

    def frame(self, proto, src, sport, dst, dport, payload, seq=0, ack=0, flags=0x18):
        if proto == 6:
            l4 = struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                             ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
        else:
            l4 = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0)
        iplen = 20 + len(l4) + len(payload)
        ip = struct.pack(">BBHHHBBH", 0x45, 0, iplen, 0, 0x4000, 64, proto, 0) + ip4(src) + ip4(dst)
        eth = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00"
        n = 14 + iplen
        self.ts += 10
        self.buf += struct.pack("<IIII", self.ts // 1000000, self.ts % 1000000, n, n)
        self.buf += eth + ip + l4
        self.buf += payload
        self.total += 16 + n
        if len(self.buf) >= 1 << 20:
            self.flush()

    def flush(self):
        self.out.write(self.buf)
        self.buf = bytearray()


class Circuit:
    """One TCP circuit, both directions' sequence numbers."""

    def __init__(self, w, cli_ip, cli_port):
        self.w, self.ip, self.port = w, cli_ip, cli_port
        self.cseq, self.sseq = 1000, 5000

    def open(self):
        w = self.w
        w.frame(6, self.ip, self.port, SERVER_IP, SERVER_PORT, b"", self.cseq, 0, 0x02)
        w.frame(6, SERVER_IP, SERVER_PORT, self.ip, self.port, b"", self.sseq, self.cseq + 1, 0x12)
        self.cseq += 1
        self.sseq += 1

    def req(self, data, flags=0x18):
        self.w.frame(6, self.ip, self.port, SERVER_IP, SERVER_PORT, data, self.cseq, self.sseq, flags)
        self.cseq += len(data)

    def rsp(self, data, flags=0x18):
        self.w.frame(6, SERVER_IP, SERVER_PORT, self.ip, self.port, data, self.sseq, self.cseq, flags)
        self.sseq += len(data)

    def close(self):
        self.req(b"", 0x11)
        self.rsp(b"", 0x11)


def channels(c, names, first_sid):
    """Create, answer, subscribe and update each named channel."""
    hello = ca_hdr(0, 0, 0, 13) + ca_str(20, "load") + ca_str(21, "gen")
    c.req(hello + b"".join(ca_str(18, n, 0, 0, cid, 13) for cid, n in enumerate(names)))
    c.rsp(ca_hdr(0, 0, 0, 13) + b"".join(
        ca_hdr(22, 0, 0, 0, cid, 3) + ca_hdr(18, 0, DBR_DOUBLE, 1, cid, first_sid + cid)
        for cid in range(len(names))))
    c.req(b"".join(ca_hdr(1, 16, DBR_DOUBLE, 1, first_sid + cid, cid) + b"\0" * 12 + b"\0\x05\0\0"
                   for cid in range(len(names))))
    c.rsp(b"".join(ca_hdr(1, 8, DBR_DOUBLE, 1, 1, cid) + struct.pack(">d", cid)
                   for cid in range(len(names))))


def search(w, cli_ip, port, names, first_cid):
    req = ca_hdr(0, 0, 1, 13, 7) + b"".join(
        ca_str(6, n, 5, 13, first_cid + i, first_cid + i) for i, n in enumerate(names))
    w.frame(17, cli_ip, port, SERVER_IP, SERVER_PORT, req)
    rsp = ca_hdr(0, 0, 1, 13, 7) + b"".join(
        ca_hdr(6, 8, SERVER_PORT, 0, 0xFFFFFFFF, first_cid + i) + b"\0\x0d" + b"\0" * 6
        for i in range(len(names)))
    w.frame(17, SERVER_IP, SERVER_PORT, cli_ip, port, rsp)


def client_addr(i):
    """Distinct (ip, port) for circuit i: 10.x.y.z, ports 10000..59999
    (clear of the CA ports)."""
    return 0x0A000000 + 1 + (i // 50000) % 0xFEFFFF, 10000 + i % 50000


def open_circuit(w, i, per_flow, prefix):
    """Circuit i: a UDP search for its channels, then the circuit."""
    ip, port = client_addr(i)
    names = ["%s:%07d" % (prefix, i * per_flow + k) for k in range(per_flow)]
    search(w, ip, 60000 + i % 5000, names, i * per_flow)
    c = Circuit(w, ip, port)
    c.open()
    channels(c, names, i * per_flow)
    return c


def gen_flows(nflows, per_flow, path):
    with open(path, "wb") as f:
        w = Writer(f)
        for i in range(nflows):
            open_circuit(w, i, per_flow, "LOAD")
        w.flush()


def gen_stream(nbytes):
    w = Writer(sys.stdout.buffer)
    wave = b"\x5A" * 4096
    updates = b"".join(ca_hdr(1, 4096, DBR_CHAR, 4096, 1, k) + wave for k in range(3))
    fill = 70000
    try:
        for i in range(fill):
            open_circuit(w, i, 4, "FILL")
        i = fill
        while w.total < nbytes:
            c = open_circuit(w, i, 4, "STREAM")
            for _ in range(20):  # three 4 KiB arrays to a segment
                c.rsp(updates)
            c.close()
            open_circuit(w, i + 1, 4, "STREAM")
            i += 2
        w.flush()
    except BrokenPipeError:
        sys.exit(0)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "flows":
        gen_flows(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 3 and sys.argv[1] == "stream":
        gen_stream(int(sys.argv[2]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
