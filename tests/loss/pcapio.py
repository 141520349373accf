"""Classic pcap reading and writing, and the few packet fields the loss
tools need (addresses, ports, TCP sequence number and flags, payload).

Shared by degrade.py and score.py.  Standard library only.

Classic pcap only (not pcapng): microsecond (a1b2c3d4) and nanosecond
(a1b23c4d) magic, either byte order.  Link types: Ethernet (with 802.1Q /
QinQ tags), Linux cooked v1 and v2, BSD loopback and raw IPv4; IPv4 only,
as Channel Access is.
"""

import struct

MAGIC_MICRO = 0xA1B2C3D4
MAGIC_NANO = 0xA1B23C4D
LINKTYPE_ETHERNET = 1
LINKTYPE_NULL = 0
LINKTYPE_RAW = 101
LINKTYPE_IPV4 = 228
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276
ETHERTYPE_IPV4 = 0x0800
VLAN_ETHERTYPES = (0x8100, 0x88A8)
IPPROTO_TCP = 6
IPPROTO_UDP = 17
TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10


class PcapError(Exception):
    pass


class Capture:
    """A whole classic pcap file: its global header and its packets."""

    def __init__(self, endian, magic, version, snaplen, linktype, packets):
        self.endian = endian      # "<" or ">": as the file was written
        self.magic = magic        # MAGIC_MICRO or MAGIC_NANO
        self.version = version    # (major, minor)
        self.snaplen = snaplen
        self.linktype = linktype
        self.packets = packets    # list of Packet, in file order

    @property
    def ticks_per_second(self):
        return 1000000000 if self.magic == MAGIC_NANO else 1000000


class Packet:
    """One record.  number: 1-based position in the file it was read from
    (its identity through every degradation step)."""

    __slots__ = ("number", "sec", "frac", "orig_len", "data", "_l4")

    def __init__(self, number, sec, frac, orig_len, data):
        self.number = number
        self.sec = sec
        self.frac = frac          # microseconds or nanoseconds (the magic's)
        self.orig_len = orig_len
        self.data = data
        self._l4 = None

    def copy(self):
        return Packet(self.number, self.sec, self.frac, self.orig_len,
                      self.data)


def read_pcap(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 24:
        raise PcapError("%s: too short for a pcap header" % path)
    for endian in ("<", ">"):
        magic = struct.unpack(endian + "I", blob[:4])[0]
        if magic in (MAGIC_MICRO, MAGIC_NANO):
            break
    else:
        raise PcapError("%s: not a classic pcap file (pcapng is not read "
                        "here; convert with editcap -F pcap)" % path)
    major, minor, _zone, _sigfigs, snaplen, linktype = struct.unpack(
        endian + "HHiIII", blob[4:24])
    packets, offset, number = [], 24, 0
    while offset < len(blob):
        if offset + 16 > len(blob):
            raise PcapError("%s: record header cut at byte %d"
                            % (path, offset))
        sec, frac, incl, orig = struct.unpack(endian + "IIII",
                                              blob[offset:offset + 16])
        offset += 16
        if offset + incl > len(blob):
            raise PcapError("%s: record %d cut" % (path, number + 1))
        number += 1
        packets.append(Packet(number, sec, frac, orig,
                              blob[offset:offset + incl]))
        offset += incl
    return Capture(endian, magic, (major, minor), snaplen, linktype & 0xFFFF,
                   packets)


def write_pcap(path, capture, packets):
    """Write PACKETS with CAPTURE's header (same magic, byte order, link
    type), so that a copy differs from its source only by what was done
    to the packets."""
    e = capture.endian
    parts = [struct.pack(e + "IHHiIII", capture.magic, capture.version[0],
                         capture.version[1], 0, 0, capture.snaplen,
                         capture.linktype)]
    for p in packets:
        parts.append(struct.pack(e + "IIII", p.sec, p.frac, len(p.data),
                                 p.orig_len))
        parts.append(p.data)
    with open(path, "wb") as f:
        f.write(b"".join(parts))


def time_ns(capture, packet):
    """A packet's time stamp as integer nanoseconds since the epoch."""
    scale = 1000000000 // capture.ticks_per_second
    return packet.sec * 1000000000 + packet.frac * scale


class L4:
    """What the loss tools read of a packet's IPv4 and TCP/UDP headers."""

    __slots__ = ("proto", "src", "sport", "dst", "dport", "seq", "flags",
                 "payload")

    def __init__(self, proto, src, sport, dst, dport, seq, flags, payload):
        self.proto = proto        # "tcp" or "udp"
        self.src, self.sport, self.dst, self.dport = src, sport, dst, dport
        self.seq = seq            # TCP only
        self.flags = flags        # TCP only
        self.payload = payload    # bytes after the TCP/UDP header

    @property
    def flow(self):
        """(src, sport, dst, dport, proto): one direction of a connection."""
        return (self.src, self.sport, self.dst, self.dport, self.proto)

    @property
    def connection(self):
        """Both directions of a connection share this key."""
        a, b = (self.src, self.sport), (self.dst, self.dport)
        return (self.proto,) + (a + b if a <= b else b + a)


def _network_offset(linktype, data):
    """Offset of the IPv4 header in DATA, or None when it holds no IPv4."""
    if linktype == LINKTYPE_ETHERNET:
        ethertype, offset = struct.unpack(">H", data[12:14])[0], 14
        while ethertype in VLAN_ETHERTYPES:
            ethertype = struct.unpack(">H", data[offset + 2:offset + 4])[0]
            offset += 4
    elif linktype == LINKTYPE_LINUX_SLL:
        ethertype, offset = struct.unpack(">H", data[14:16])[0], 16
    elif linktype == LINKTYPE_LINUX_SLL2:
        ethertype, offset = struct.unpack(">H", data[0:2])[0], 20
    elif linktype == LINKTYPE_NULL:
        ethertype, offset = ETHERTYPE_IPV4, 4
    elif linktype in (LINKTYPE_RAW, LINKTYPE_IPV4):
        ethertype, offset = ETHERTYPE_IPV4, 0
    else:
        raise PcapError("link type %d is not read here" % linktype)
    if ethertype != ETHERTYPE_IPV4 or (data[offset] >> 4) != 4:
        return None
    return offset


def parse_l4(linktype, packet):
    """The packet's L4 (cached), or None for anything but IPv4 TCP/UDP
    (ARP, IPv6, fragments after the first, cut headers)."""
    if packet._l4 is None:
        packet._l4 = _parse_l4(linktype, packet.data) or False
    return packet._l4 or None


def _parse_l4(linktype, data):
    try:
        ip = _network_offset(linktype, data)
        if ip is None:
            return None
        ihl = (data[ip] & 15) * 4
        total_len, = struct.unpack(">H", data[ip + 2:ip + 4])
        frag, = struct.unpack(">H", data[ip + 6:ip + 8])
        proto = data[ip + 9]
        if frag & 0x1FFF:
            return None
        src = ".".join(str(b) for b in data[ip + 12:ip + 16])
        dst = ".".join(str(b) for b in data[ip + 16:ip + 20])
        # The IP total length, not the frame, says where the payload ends:
        # Ethernet pads short frames.
        end = min(len(data), ip + total_len)
        l4 = ip + ihl
        sport, dport = struct.unpack(">HH", data[l4:l4 + 4])
        if proto == IPPROTO_TCP:
            seq, = struct.unpack(">I", data[l4 + 4:l4 + 8])
            doff = (data[l4 + 12] >> 4) * 4
            flags = data[l4 + 13]
            return L4("tcp", src, sport, dst, dport, seq, flags,
                      data[l4 + doff:end])
        if proto == IPPROTO_UDP:
            return L4("udp", src, sport, dst, dport, None, None,
                      data[l4 + 8:end])
    except (IndexError, struct.error):
        pass
    return None


def read_map(path):
    """A degrade.py sidecar: list of original packet numbers, index i for
    output packet i + 1."""
    origin = []
    with open(path, encoding="ascii") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            out_number, orig_number = line.split()[:2]
            if int(out_number) != len(origin) + 1:
                raise PcapError("%s: output packet %s out of order"
                                % (path, out_number))
            origin.append(int(orig_number))
    return origin
