#!/usr/bin/env python3
"""Derive captures from the real CA captures, for tests/robustness.sh.

    tests/gen_captures.py OUTDIR [CAPTURE_DIR]

Reads the real captures (CAPTURE_DIR, else $CAPTURES, else tests/captures)
and writes, into OUTDIR, captures that show the same traffic under the
conditions real captures come with: other link types and file formats,
QinQ, IPv4 options, reordered / retransmitted / overlapping / missing TCP
segments, a small snap length, a capture that starts mid-connection,
damaged files.  Beside them, OUTDIR/manifest.json says what was done to
each (which frames were dropped or moved, where the holes are, and which
messages a decoder can be expected to find), for the checks in
tests/robustness.sh.

What is written (all from s01_caget_types, s08_pyepics_many and
s15_large_and_errors):
  s01_sll, s01_sll2, s01_raw, s01_null       Linux cooked v1 (113) and v2 (276),
                                             raw IPv4 (101), BSD loopback (0)
  s01_null_bigendian                         the same in a big-endian pcap file
  s01_pcap_nano                              nanosecond pcap
  s01_pcapng_micro, s01_pcapng_nano          pcapng, if_tsresol 6 and 9
  s01_qinq                                   802.1ad 0x88a8 (VLAN 100) + 802.1Q (42)
  s01_ipopts                                 IHL 6: NOP NOP NOP EOL in every packet
  s08_reordered                              swapped, duplicated and partly
                                             overlapping TCP segments
  s08_gap, s08_gap_midmsg                    one server data segment missing
  s15_snap96                                 every packet cut to 96 bytes
  s15_midstream, s15_midstream_caput         a circuit joined inside a
                                             160,016-byte message
  s01_cut_data, s01_cut_header, s01_cut      files cut inside a packet record
                                             (pcap data, pcap header, pcapng)
  empty, text, wifi_80211                    not a capture / link type 105

Standard library only: the pcap and pcapng reader and writer are below.
Deterministic: every random choice comes from a fixed seed.
"""

import json
import os
import random
import struct
import sys

# ---------------------------------------------------------------- pcap I/O

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_IEEE802_11 = 105
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D


class Rec:
    """One packet record: time stamp in nanoseconds, captured bytes and the
    length it had on the wire.  `orig` is the frame number it had in the
    capture it was derived from (None for a packet made up here)."""

    __slots__ = ("ts_ns", "data", "wire_len", "orig")

    def __init__(self, ts_ns, data, wire_len=None, orig=None):
        self.ts_ns = ts_ns
        self.data = bytes(data)
        self.wire_len = len(data) if wire_len is None else wire_len
        self.orig = orig

    def copy(self, **kw):
        r = Rec(self.ts_ns, self.data, self.wire_len, self.orig)
        for k, v in kw.items():
            setattr(r, k, v)
        return r


class Capture:
    def __init__(self, linktype, recs, snaplen=262144):
        self.linktype = linktype
        self.recs = recs
        self.snaplen = snaplen


def read_pcap(path):
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) >= 4 and buf[:4] == b"\x0a\x0d\x0d\x0a":
        return read_pcapng_bytes(buf)
    magic_le = struct.unpack_from("<I", buf, 0)[0]
    magic_be = struct.unpack_from(">I", buf, 0)[0]
    if magic_le in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        e, magic = "<", magic_le
    elif magic_be in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        e, magic = ">", magic_be
    else:
        raise ValueError("%s: not a pcap file" % path)
    scale = 1000 if magic == PCAP_MAGIC_US else 1
    _, _, _, _, snaplen, linktype = struct.unpack_from(e + "HHiIII", buf, 4)
    off, n, recs = 24, 0, []
    while off + 16 <= len(buf):
        sec, frac, caplen, wire = struct.unpack_from(e + "IIII", buf, off)
        off += 16
        if off + caplen > len(buf):
            raise ValueError("%s: truncated record" % path)
        n += 1
        recs.append(Rec(sec * 1000000000 + frac * scale, buf[off:off + caplen], wire, n))
        off += caplen
    if off != len(buf):
        raise ValueError("%s: trailing bytes" % path)
    return Capture(linktype & 0xFFFF, recs, snaplen)


def pcap_bytes(cap, nano=False, big_endian=False):
    e = ">" if big_endian else "<"
    out = [struct.pack(e + "IHHiIII", PCAP_MAGIC_NS if nano else PCAP_MAGIC_US,
                       2, 4, 0, 0, cap.snaplen, cap.linktype)]
    for r in cap.recs:
        sec, ns = divmod(r.ts_ns, 1000000000)
        frac = ns if nano else ns // 1000
        out.append(struct.pack(e + "IIII", sec, frac, len(r.data), r.wire_len))
        out.append(r.data)
    return b"".join(out)


def _pad4(b):
    return b + b"\0" * (-len(b) % 4)


def _opt(code, val):
    return struct.pack("<HH", code, len(val)) + _pad4(val)


def _block(btype, body):
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def pcapng_bytes(cap, tsresol=6):
    """One section, one interface, Enhanced Packet Blocks (little endian).
    tsresol is the if_tsresol exponent: 6 = microseconds, 9 = nanoseconds."""
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) +
                 _opt(4, b"catrace tests/gen_captures.py") + _opt(0, b""))
    idb = _block(0x00000001, struct.pack("<HHI", cap.linktype, 0, cap.snaplen) +
                 _opt(2, b"veth0") + _opt(9, bytes([tsresol])) + _opt(0, b""))
    out = [shb, idb]
    div = 10 ** (9 - tsresol)
    for r in cap.recs:
        if r.ts_ns % div:
            raise ValueError("time stamp finer than the resolution")
        t = r.ts_ns // div
        out.append(_block(0x00000006, struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF,
                                                  len(r.data), r.wire_len) + _pad4(r.data)))
    return b"".join(out)


def read_pcapng_bytes(buf):
    """Enough pcapng to read back what pcapng_bytes writes (and simple files
    from other writers): SHB, IDB with if_tsresol, EPB, SPB-less."""
    off, recs, ifs, n, e = 0, [], [], 0, "<"
    while off + 12 <= len(buf):
        btype = struct.unpack_from(e + "I", buf, off)[0]
        if btype == 0x0A0D0D0A:
            bom = struct.unpack_from("<I", buf, off + 8)[0]
            e = "<" if bom == 0x1A2B3C4D else ">"
            ifs = []
        btype, total = struct.unpack_from(e + "II", buf, off)
        body = buf[off + 8:off + total - 4]
        if btype == 1:
            lt, _, snap = struct.unpack_from(e + "HHI", body, 0)
            res, o = 6, 8
            while o + 4 <= len(body):
                code, ln = struct.unpack_from(e + "HH", body, o)
                if code == 0:
                    break
                if code == 9:
                    v = body[o + 4]
                    res = v if not v & 0x80 else None
                o += 4 + ln + (-ln % 4)
            ifs.append((lt, snap, res))
        elif btype == 6:
            ifid, hi, lo, caplen, wire = struct.unpack_from(e + "IIIII", body, 0)
            t = (hi << 32) | lo
            res = ifs[ifid][2]
            n += 1
            recs.append(Rec(t * 10 ** (9 - res), body[20:20 + caplen], wire, n))
        off += total
    return Capture(ifs[0][0], recs, ifs[0][1])


# ---------------------------------------------------------- packet parsing

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Pkt:
    """An Ethernet frame split into its parts (IPv4 only)."""

    def __init__(self, data):
        self.data = data
        self.ok = False
        self.tot = None
        self.proto = None
        if len(data) < 14:
            return
        etype = struct.unpack_from("!H", data, 12)[0]
        off = 14
        while etype in (0x8100, 0x88A8) and off + 4 <= len(data):
            etype = struct.unpack_from("!H", data, off + 2)[0]
            off += 4
        self.l2 = data[:off - 2]          # MACs and any tags, not the type
        self.l3off = off
        if etype != 0x0800 or len(data) < off + 20:
            return
        ip = data[off:]
        self.ihl = (ip[0] & 15) * 4
        self.tot = struct.unpack_from("!H", ip, 2)[0]
        self.proto = ip[9]
        self.src = ip[12:16]
        self.dst = ip[16:20]
        self.ip = ip[:self.tot]            # without Ethernet padding
        l4 = self.ip[self.ihl:]
        self.l4 = l4
        if self.proto == 6 and len(l4) >= 20:
            self.sport, self.dport, self.seq, self.ack = struct.unpack_from("!HHII", l4, 0)
            self.doff = (l4[12] >> 4) * 4
            self.flags = l4[13]
            self.payload = l4[self.doff:]
            self.ok = True
        elif self.proto == 17 and len(l4) >= 8:
            self.sport, self.dport = struct.unpack_from("!HH", l4, 0)
            self.payload = l4[8:]
            self.ok = True

    @property
    def syn(self):
        return self.proto == 6 and self.ok and bool(self.flags & 2)

    @property
    def fin_rst(self):
        return self.proto == 6 and self.ok and bool(self.flags & 5)

    def addr(self):
        return "%s:%d" % (".".join(str(x) for x in self.src), self.sport)

    def flow(self):
        """Direction-sensitive key, as catrace prints src:sport->dst:dport."""
        return "%s->%s:%d" % (self.addr(), ".".join(str(x) for x in self.dst), self.dport)


def ip_header_fixed(ip_hdr_and_rest, tot):
    """Set the total length and recompute the header checksum."""
    ip = bytearray(ip_hdr_and_rest)
    ihl = (ip[0] & 15) * 4
    struct.pack_into("!H", ip, 2, tot)
    struct.pack_into("!H", ip, 10, 0)
    struct.pack_into("!H", ip, 10, csum(bytes(ip[:ihl])))
    return bytes(ip)


def make_tcp_frame(p, seq, payload, ip_id_delta=0):
    """A copy of TCP packet p carrying `payload` at sequence `seq`, with
    lengths and checksums right."""
    ihl = p.ihl
    ip = bytearray(p.ip[:ihl])
    struct.pack_into("!H", ip, 4, (struct.unpack_from("!H", ip, 4)[0] + ip_id_delta) & 0xFFFF)
    tcp = bytearray(p.l4[:p.doff])
    struct.pack_into("!I", tcp, 4, seq)
    struct.pack_into("!H", tcp, 16, 0)
    seg = bytes(tcp) + payload
    pseudo = p.src + p.dst + struct.pack("!BBH", 0, 6, len(seg))
    struct.pack_into("!H", tcp, 16, csum(pseudo + seg))
    tot = ihl + len(seg)
    ipb = ip_header_fixed(bytes(ip), tot)
    frame = p.data[:p.l3off] + ipb + bytes(tcp) + payload
    if len(frame) < 60:
        frame += b"\0" * (60 - len(frame))
    return frame


# ------------------------------------------------------------ CA framing

def ca_header(b, off):
    """(header length, payload size) of the CA header at b[off:], or None
    if the bytes there do not hold a whole header."""
    if off + 16 > len(b):
        return None
    size, count = struct.unpack_from("!HxxH", b, off + 2)
    if size == 0xFFFF:
        if off + 24 > len(b):
            return None
        return 24, struct.unpack_from("!I", b, off + 16)[0]
    return 16, size


class Seg:
    """A TCP data segment of one direction: where it sits in the capture
    (record index, original frame), its stream offset and its bytes."""

    def __init__(self, idx, frame, off, payload):
        self.idx, self.frame, self.off, self.payload = idx, frame, off, payload


class Msg:
    def __init__(self, start, hlen, size):
        self.start, self.hlen, self.size = start, hlen, size
        self.end = start + hlen + size
        self.end_frame = None     # frame of the segment holding its last byte
        self.start_frame = None


def tcp_streams(cap):
    """Walk the TCP flows of an in-order, loss-free capture (the originals
    are): for each direction, its segments and its CA messages, with stream
    offsets counted from the first data byte after the SYN."""
    streams = {}
    for i, r in enumerate(cap.recs):
        p = Pkt(r.data)
        if not p.ok or p.proto != 6:
            continue
        k = p.flow()
        st = streams.setdefault(k, {"isn": None, "segs": [], "bytes": bytearray()})
        if p.syn:
            st["isn"] = (p.seq + 1) & 0xFFFFFFFF
            continue
        if not p.payload:
            continue
        if st["isn"] is None:
            st["isn"] = p.seq
        off = (p.seq - st["isn"]) & 0xFFFFFFFF
        if off != len(st["bytes"]):
            raise ValueError("frame %d: stream %s not in order (%d, have %d)"
                             % (r.orig, k, off, len(st["bytes"])))
        st["segs"].append(Seg(i, r.orig, off, p.payload))
        st["bytes"] += p.payload
    for k, st in streams.items():
        b = bytes(st["bytes"])
        msgs, off = [], 0
        while True:
            h = ca_header(b, off)
            if not h or off + h[0] + h[1] > len(b):
                break
            msgs.append(Msg(off, h[0], h[1]))
            off += h[0] + h[1]
        st["tail"] = len(b) - off          # bytes of a message never completed
        seg_i = 0
        segs = st["segs"]
        for m in msgs:
            while segs[seg_i].off + len(segs[seg_i].payload) <= m.start:
                seg_i += 1
            m.start_frame = segs[seg_i].frame
            j = seg_i
            while segs[j].off + len(segs[j].payload) < m.end:
                j += 1
            m.end_frame = segs[j].frame
        st["msgs"] = msgs
    return streams


def reverse(flow):
    a, b = flow.split("->")
    return "%s->%s" % (b, a)


def seg_of(st, off):
    for s in st["segs"]:
        if s.off <= off < s.off + len(s.payload):
            return s
    return None


# ------------------------------------------------------- link-type changes

def eth_to_ip(r):
    p = Pkt(r.data)
    if p.tot is None:
        raise ValueError("frame %s: not IPv4" % r.orig)
    return p, p.ip


def sll_pkttype(p, client_ip):
    return 4 if p.src == client_ip else 0   # PACKET_OUTGOING / PACKET_HOST


def conv_sll(cap, client_ip):
    out = []
    for r in cap.recs:
        p, ip = eth_to_ip(r)
        hdr = struct.pack("!HHH8sH", sll_pkttype(p, client_ip), 1, 6,
                          r.data[6:12] + b"\0\0", 0x0800)
        d = hdr + ip
        out.append(r.copy(data=d, wire_len=len(d)))
    return Capture(LINKTYPE_LINUX_SLL, out, cap.snaplen)


def conv_sll2(cap, client_ip):
    out = []
    for r in cap.recs:
        p, ip = eth_to_ip(r)
        hdr = struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, sll_pkttype(p, client_ip), 6,
                          r.data[6:12] + b"\0\0")
        d = hdr + ip
        out.append(r.copy(data=d, wire_len=len(d)))
    return Capture(LINKTYPE_LINUX_SLL2, out, cap.snaplen)


def conv_raw(cap):
    out = []
    for r in cap.recs:
        _, ip = eth_to_ip(r)
        out.append(r.copy(data=ip, wire_len=len(ip)))
    return Capture(LINKTYPE_RAW, out, cap.snaplen)


def conv_null(cap, big_endian=False):
    out = []
    for r in cap.recs:
        _, ip = eth_to_ip(r)
        d = struct.pack(">I" if big_endian else "<I", 2) + ip
        out.append(r.copy(data=d, wire_len=len(d)))
    return Capture(LINKTYPE_NULL, out, cap.snaplen)


def conv_qinq(cap, outer_vid=100, inner_vid=42, inner_prio=3):
    out = []
    for r in cap.recs:
        d = r.data
        if struct.unpack_from("!H", d, 12)[0] in (0x8100, 0x88A8):
            raise ValueError("already tagged")
        tags = struct.pack("!HHHH", 0x88A8, outer_vid, 0x8100, (inner_prio << 13) | inner_vid)
        nd = d[:12] + tags + d[12:]
        out.append(r.copy(data=nd, wire_len=r.wire_len + 8))
    return Capture(LINKTYPE_ETHERNET, out, cap.snaplen)


def add_ip_options(cap, opts=b"\x01\x01\x01\x00"):
    """Every IPv4 header gets `opts` (NOP, NOP, NOP, EOL: IHL 6)."""
    assert len(opts) % 4 == 0
    out = []
    for r in cap.recs:
        p = Pkt(r.data)
        ip = bytearray(p.ip)
        ihl = p.ihl
        hdr = bytearray(ip[:ihl]) + opts
        hdr[0] = 0x40 | (len(hdr) // 4)
        nip = ip_header_fixed(bytes(hdr), len(ip) + len(opts)) + bytes(ip[ihl:])
        d = r.data[:p.l3off] + nip
        if len(d) < 60:
            d += b"\0" * (60 - len(d))
        out.append(r.copy(data=d, wire_len=len(d)))
    return Capture(cap.linktype, out, cap.snaplen)


# ------------------------------------------------------- TCP disturbances

def disturb_s08(cap, rng):
    """Reorder, retransmit and overlap TCP segments.  Returns the new
    capture and a description of what was done."""
    recs = [r.copy() for r in cap.recs]
    pk = [Pkt(r.data) for r in recs]
    # Segments with data, not SYN/FIN/RST: the connection's start and end
    # stay where they were.
    isdata = [p.ok and p.proto == 6 and bool(p.payload) and not p.syn and not p.fin_rst
              for p in pk]
    # Index of each flow's first FIN or RST (a retransmission is only
    # put before it).
    closing = {}
    for i, p in enumerate(pk):
        if p.fin_rst:
            a, b = p.flow().split("->")
            for f in (p.flow(), "%s->%s" % (b, a)):
                closing.setdefault(f, i)
    done = {"swapped": [], "duplicated": [], "overlap_inserted": [], "overlap_replaced": []}
    used = set()

    # Overlaps: a data segment B whose predecessor A in the same direction
    # is adjacent in sequence space.  (a) a retransmission covering the
    # second half of A and the first half of B is put between A and B;
    # (b) B is replaced by one segment holding the second half of A and
    # all of B (a re-packetised retransmission after a lost B).
    byflow = {}
    for i in range(len(recs)):
        if isdata[i]:
            byflow.setdefault(pk[i].flow(), []).append(i)
    pairs = []
    for f, idxs in sorted(byflow.items()):
        for a, b in zip(idxs, idxs[1:]):
            if (pk[a].seq + len(pk[a].payload)) & 0xFFFFFFFF == pk[b].seq and \
               len(pk[a].payload) >= 4 and len(pk[b].payload) >= 4:
                pairs.append((a, b))
    rng.shuffle(pairs)
    # Prefer big segments (stable sort: still shuffled within a size
    # class): the overlap then crosses message boundaries.
    pairs.sort(key=lambda ab: min(len(pk[ab[0]].payload), len(pk[ab[1]].payload)) < 500)
    ov_ins, ov_rep = [], []
    for a, b in pairs:
        if used & {a, b, a - 1, b + 1} or len(ov_ins) + len(ov_rep) >= 4:
            continue
        (ov_ins if len(ov_ins) <= len(ov_rep) else ov_rep).append((a, b))
        used |= {a, b}
    # Swap two data segments of the same direction that follow each other
    # in the capture with nothing but bare ACKs between them (what a
    # reordering switch or a multi-queue NIC does): the other direction's
    # data keeps its place relative to both.
    cands = []
    for i in range(len(recs)):
        if not isdata[i]:
            continue
        k = i + 1
        while k < len(recs) and not isdata[k] and pk[k].ok and pk[k].proto == 6 \
                and not pk[k].syn and not pk[k].fin_rst and k - i < 4:
            k += 1
        if k < len(recs) and isdata[k] and pk[k].flow() == pk[i].flow():
            cands.append((i, k))
    rng.shuffle(cands)
    swaps = []
    for i, k in cands:
        if len(swaps) == 12:
            break
        if used & set(range(i - 1, k + 2)):
            continue
        swaps.append((i, k))
        used |= set(range(i, k + 1))
    # Retransmissions: copies of some data segments a few records later.
    dup_src = [i for i in range(len(recs)) if isdata[i] and i not in used]
    rng.shuffle(dup_src)
    dups = []
    for i in dup_src:
        if len(dups) == 10:
            break
        if used & {i - 1, i, i + 1}:
            continue
        k = rng.randint(2, 12)
        if i + k >= closing.get(pk[i].flow(), len(recs)):
            continue
        dups.append((i, k))
        used.add(i)

    # Apply: build the list of records with insertions after positions.
    after = {}     # record index -> records to put right after it
    replace = {}   # record index -> replacement record
    for i, k in swaps:
        done["swapped"].append([recs[i].orig, recs[k].orig])
    for a, b in ov_ins:
        A, B = pk[a], pk[b]
        ha, hb = len(A.payload) // 2, len(B.payload) // 2
        payload = A.payload[ha:] + B.payload[:hb]
        fr = make_tcp_frame(B, (A.seq + ha) & 0xFFFFFFFF, payload, ip_id_delta=1)
        after.setdefault(a, []).append(Rec(recs[a].ts_ns, fr, None, None))
        done["overlap_inserted"].append({"after_frame": recs[a].orig, "flow": A.flow(),
                                         "old_bytes": len(A.payload) - ha, "new_bytes": hb})
    for a, b in ov_rep:
        A, B = pk[a], pk[b]
        ha = len(A.payload) // 2
        payload = A.payload[ha:] + B.payload
        fr = make_tcp_frame(B, (A.seq + ha) & 0xFFFFFFFF, payload)
        replace[b] = Rec(recs[b].ts_ns, fr, None, recs[b].orig)
        done["overlap_replaced"].append({"frame": recs[b].orig, "flow": B.flow(),
                                         "old_bytes": len(A.payload) - ha,
                                         "new_bytes": len(B.payload)})
    order = list(range(len(recs)))
    for i, k in swaps:
        order[i], order[k] = order[k], order[i]
    for i, k in dups:
        j = i + k          # a slot: whatever record ends up there
        after.setdefault(j, []).append(Rec(recs[j].ts_ns, recs[i].data, None, None))
        done["duplicated"].append({"frame": recs[i].orig, "after_frame": recs[order[j]].orig})
    out = []
    # `after` is keyed by slot; overlap insertions sit after A, which is
    # never swapped, so its slot is its index.
    for pos, i in enumerate(order):
        r = replace.get(i, recs[i])
        # Capture time stays monotonic: a swapped packet takes the time of
        # the slot it lands in.
        out.append(r.copy(ts_ns=recs[pos].ts_ns))
        out.extend(after.get(pos, []))
    return Capture(cap.linktype, out, cap.snaplen), done


# ------------------------------------------------------------- main work

def write(outdir, name, data, manifest, **info):
    path = os.path.join(outdir, name)
    with open(path + ".tmp", "wb") as f:   # atomic: runs may overlap
        f.write(data)
    os.replace(path + ".tmp", path)
    info["file"] = name
    manifest[name.rsplit(".", 1)[0]] = info
    return path


def frames_of(cap):
    return [r.orig for r in cap.recs]


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    outdir = argv[1]
    src = argv[2] if len(argv) > 2 else os.environ.get("CAPTURES", os.path.join(os.path.dirname(os.path.abspath(__file__)), "captures"))
    os.makedirs(outdir, exist_ok=True)
    manifest = {"source": os.path.abspath(src)}

    def orig(name):
        return read_pcap(os.path.join(src, name + ".pcap"))

    # --- link types and file formats (s01)
    s01 = orig("s01_caget_types")
    client = bytes([10, 201, 1, 2])
    same = dict(base="s01_caget_types", kind="same")
    write(outdir, "s01_sll.pcap", pcap_bytes(conv_sll(s01, client)), manifest,
          linktype=LINKTYPE_LINUX_SLL, **same)
    write(outdir, "s01_sll2.pcap", pcap_bytes(conv_sll2(s01, client)), manifest,
          linktype=LINKTYPE_LINUX_SLL2, **same)
    write(outdir, "s01_raw.pcap", pcap_bytes(conv_raw(s01)), manifest,
          linktype=LINKTYPE_RAW, **same)
    write(outdir, "s01_null.pcap", pcap_bytes(conv_null(s01)), manifest,
          linktype=LINKTYPE_NULL, **same)
    write(outdir, "s01_null_bigendian.pcap",
          pcap_bytes(conv_null(s01, big_endian=True), big_endian=True), manifest,
          linktype=LINKTYPE_NULL, **same)
    write(outdir, "s01_pcap_nano.pcap", pcap_bytes(s01, nano=True), manifest,
          linktype=LINKTYPE_ETHERNET, **same)
    write(outdir, "s01_pcapng_micro.pcapng", pcapng_bytes(s01, 6), manifest,
          linktype=LINKTYPE_ETHERNET, tsresol=6, **same)
    write(outdir, "s01_pcapng_nano.pcapng", pcapng_bytes(s01, 9), manifest,
          linktype=LINKTYPE_ETHERNET, tsresol=9, **same)
    write(outdir, "s01_qinq.pcap", pcap_bytes(conv_qinq(s01)), manifest,
          linktype=LINKTYPE_ETHERNET, vlans=[100, 42], **same)
    write(outdir, "s01_ipopts.pcap", pcap_bytes(add_ip_options(s01)), manifest,
          linktype=LINKTYPE_ETHERNET, ip_options="01010100", **same)
    # Round trip: what was written reads back as written.
    for name in ("s01_pcapng_nano.pcapng", "s01_pcapng_micro.pcapng", "s01_pcap_nano.pcap"):
        back = read_pcap(os.path.join(outdir, name))
        assert [(r.ts_ns, r.data, r.wire_len) for r in back.recs] == \
               [(r.ts_ns, r.data, r.wire_len) for r in s01.recs], name

    # --- TCP disturbances (s08)
    s08 = orig("s08_pyepics_many")
    dis, done = disturb_s08(s08, random.Random(8008))
    write(outdir, "s08_reordered.pcap", pcap_bytes(dis), manifest,
          base="s08_pyepics_many", kind="reordered", frames=frames_of(dis), **done)

    # Gaps: one server->client data segment missing from the busiest
    # circuit.  s08_gap: in the middle (the read-everything phase, one
    # READ_NOTIFY reply per segment, so the hole starts and ends on message
    # boundaries: the decoder loses sync and finds it again at once).
    # s08_gap_midmsg: a segment followed by one that starts inside a
    # message (among the batched CREATE_CHAN replies), so the decoder has
    # to look for the next boundary.
    st08 = tcp_streams(s08)
    busiest = max(st08, key=lambda k: len(st08[k]["bytes"]) + len(st08[reverse(k)]["bytes"]))
    srvflow = busiest if busiest.split("->")[0].endswith(":5064") else reverse(busiest)
    ss = st08[srvflow]
    starts = {m.start for m in ss["msgs"]}
    b08 = bytes(ss["bytes"])

    def cmds_in(seg):
        return {struct.unpack_from("!H", b08, m.start)[0] for m in ss["msgs"]
                if seg.off <= m.start < seg.off + len(seg.payload)}
    mid = len(ss["segs"]) // 2
    segs = ss["segs"]
    middle = [j for j in range(mid - 40, mid + 40)
              if segs[j].off in starts and segs[j + 1].off in starts and cmds_in(segs[j]) == {15}]
    midmsg = [j for j in range(1, len(segs) // 4)
              if segs[j].off in starts and segs[j + 1].off not in starts]
    rng = random.Random(808)
    for name, j in (("s08_gap", rng.choice(middle)), ("s08_gap_midmsg", midmsg[0])):
        gseg = segs[j]
        gap = Capture(s08.linktype, [r.copy() for k, r in enumerate(s08.recs) if k != gseg.idx],
                      s08.snaplen)
        hole = [gseg.off, gseg.off + len(gseg.payload)]
        msgs = ss["msgs"]
        after = [m for m in msgs if m.start >= hole[1]]
        write(outdir, name + ".pcap", pcap_bytes(gap), manifest, base="s08_pyepics_many",
              kind="gap", frames=frames_of(gap), removed_frame=gseg.frame, flow=srvflow,
              reverse=reverse(srvflow), hole=hole,
              hole_at_boundaries=hole[0] in starts and hole[1] in starts,
              # messages wholly before the hole, cut by it, inside it, after it
              msgs_before=sum(1 for m in msgs if m.end <= hole[0]),
              msgs_cut=sum(1 for m in msgs if m.start < hole[1] and m.end > hole[0] and
                           not (m.start >= hole[0] and m.end <= hole[1])),
              msgs_inside=sum(1 for m in msgs if m.start >= hole[0] and m.end <= hole[1]),
              msgs_after=len(after), first_after_offset=after[0].start,
              first_after_frame=after[0].end_frame,
              hole_commands=sorted(cmds_in(gseg)))

    # --- snap length 96 (s15)
    s15 = orig("s15_large_and_errors")
    SNAP = 96
    cut = Capture(s15.linktype, [r.copy(data=r.data[:SNAP], wire_len=r.wire_len)
                                 for r in s15.recs], SNAP)
    st15 = tcp_streams(s15)
    # Messages a decoder can find from sequence numbers alone: walk each
    # direction from its SYN; a header is readable if its bytes lie in the
    # captured part of one segment; sync is lost at the first header that
    # is not readable (we do not count anything after that).
    reachable = []
    for k, st in sorted(st15.items()):
        caps = {}
        for s in st["segs"]:
            p = Pkt(s15.recs[s.idx].data)
            hdrlen = p.l3off + p.ihl + p.doff
            caps[s.off] = max(0, min(len(s.payload), SNAP - hdrlen))
        for m in st["msgs"]:
            s = seg_of(st, m.start)
            if m.start + m.hlen > s.off + caps[s.off]:
                break
            full = m.end <= s.off + caps[s.off]
            reachable.append({"flow": k, "frame": m.end_frame, "start": m.start,
                              "size": m.size, "whole": full})
    udp_whole = []   # (frame, index of the message in its datagram)
    udp_headers = []  # (frame, index, whole?) of every header captured
    for r in s15.recs:
        p = Pkt(r.data)
        if not (p.ok and p.proto == 17):
            continue
        room = SNAP - (p.l3off + p.ihl + 8)
        off, n = 0, 0
        while True:
            h = ca_header(p.payload, off)
            if not h or off + h[0] + h[1] > len(p.payload):
                break
            if off + h[0] + h[1] <= room:
                udp_whole.append([r.orig, n])
            if off + h[0] <= room:
                udp_headers.append([r.orig, n, off + h[0] + h[1] <= room])
            off += h[0] + h[1]
            n += 1
    write(outdir, "s15_snap96.pcap", pcap_bytes(cut), manifest, base="s15_large_and_errors",
          kind="snaplen", snaplen=SNAP, tcp_reachable=reachable, udp_whole=udp_whole,
          udp_headers=udp_headers)

    # --- starting mid-connection (s15): drop a circuit's packets (both
    # ways) up to the middle of its first 160,016-byte message, so that the
    # capture joins the circuit inside that message.
    # s15_midstream: the camonitor circuit (two 160,016-byte EVENT_ADD
    # updates; the capture joins inside the first).
    # s15_midstream_caput: caput -a's circuit (joins inside the 160,016-byte
    # read of the old value; then come the client's 800,000-byte WRITE and
    # the read of the new value).
    def midstream(name, srv, cmd):
        bst = st15[srv]
        bb = bytes(bst["bytes"])
        first = next(m for m in bst["msgs"] if m.size == 160016 and
                     struct.unpack_from("!H", bb, m.start)[0] == cmd)
        inside = [x for x in bst["segs"]
                  if x.off > first.start and x.off + len(x.payload) < first.end]
        cseg = inside[len(inside) // 2]
        rev = reverse(srv)

        def in_circuit(r):
            p = Pkt(r.data)
            return p.ok and p.proto == 6 and p.flow() in (srv, rev)
        recs = [r.copy() for k, r in enumerate(s15.recs)
                if k >= cseg.idx or not in_circuit(r)]
        rst = st15[rev]
        write(outdir, name + ".pcap", pcap_bytes(Capture(s15.linktype, recs, s15.snaplen)),
              manifest, base="s15_large_and_errors", kind="midstream",
              frames=[r.orig for r in recs], flow=srv, reverse=rev,
              first_kept_frame=cseg.frame, cut_offset=cseg.off,
              cut_message=[first.start, first.end],
              # per direction: frames at which the original reports the
              # messages that start after the cut (in order)
              expect={srv: [m.end_frame for m in bst["msgs"] if m.start >= cseg.off],
                      rev: [m.end_frame for m in rst["msgs"]
                            if s15.recs[seg_of(rst, m.start).idx].orig >= cseg.frame]})

    def circuit_with(pred):
        for k in sorted(st15):
            if k.split("->")[0].endswith(":5064") and pred(k):
                return k
        raise ValueError("no such circuit")

    def big_cmds(k):
        bb = bytes(st15[k]["bytes"])
        return [struct.unpack_from("!H", bb, m.start)[0] for m in st15[k]["msgs"]
                if m.size == 160016]
    midstream("s15_midstream", circuit_with(lambda k: big_cmds(k) == [1, 1]), 1)
    midstream("s15_midstream_caput",
              circuit_with(lambda k: big_cmds(k) == [15, 15] and
                           any(m.size == 800000 for m in st15[reverse(k)]["msgs"])), 15)

    # --- damaged files
    raw01 = pcap_bytes(s01)
    # cut inside the data of a record (record of frame 100)
    off = 24
    for r in s01.recs[:99]:
        off += 16 + len(r.data)
    mid_data = off + 16 + len(s01.recs[99].data) // 2
    write(outdir, "s01_cut_data.pcap", raw01[:mid_data], manifest, base="s01_caget_types",
          kind="cutfile", complete_frames=99)
    write(outdir, "s01_cut_header.pcap", raw01[:off + 7], manifest, base="s01_caget_types",
          kind="cutfile", complete_frames=99)
    ng = pcapng_bytes(s01, 6)
    # cut inside the Enhanced Packet Block of frame 100
    o, nblk = 0, 0
    while True:
        bt, tl = struct.unpack_from("<II", ng, o)
        if bt == 6:
            nblk += 1
            if nblk == 100:
                break
        o += tl
    write(outdir, "s01_cut.pcapng", ng[:o + tl // 2], manifest, base="s01_caget_types",
          kind="cutfile", complete_frames=99)
    write(outdir, "empty.pcap", b"", manifest, kind="badfile")
    write(outdir, "text.pcap", b"This is not a capture.\nJust some text, as if a log\n"
          b"had been saved under the wrong name.\n", manifest, kind="badfile")
    # 802.11 (DLT 105): a data frame header around s01's first IP packets,
    # with an LLC/SNAP header saying IPv4 (a decoder that ignored the link
    # type would find CA inside).
    wl = []
    for r in s01.recs[:20]:
        _, ip = eth_to_ip(r)
        hdr = struct.pack("<HH6s6s6sH", 0x0208, 0, r.data[0:6], r.data[6:12],
                          r.data[6:12], 0)
        d = hdr + b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + ip
        wl.append(r.copy(data=d, wire_len=len(d)))
    write(outdir, "wifi_80211.pcap", pcap_bytes(Capture(LINKTYPE_IEEE802_11, wl)),
          manifest, kind="badfile", linktype=LINKTYPE_IEEE802_11)

    mpath = os.path.join(outdir, "manifest.json")
    with open(mpath + ".tmp", "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(mpath + ".tmp", mpath)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
