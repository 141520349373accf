#!/usr/bin/env python3
"""Seed corpora for the libFuzzer harnesses in tests/fuzz, from real captures.

    make_seeds.py [--out DIR] [CAPTURE_DIR_OR_FILE ...]

Writes three directories under DIR (default .output/fuzz):

  seeds_pipeline/  the frames of each capture in fuzz_pipeline's format
                   ([c0][c1] then [sel][len:u16le][frame]...), cut into
                   inputs of at most 16 KiB, also re-framed as Linux cooked
                   v1/v2, loopback and raw IPv4, with several configurations;
  seeds_pcap/      the capture files themselves (cut at a packet boundary
                   below 1 MiB), plus small captures rewritten with every
                   supported link type, micro/nanosecond pcap and pcapng;
  seeds_record/    the CA packets of each capture as the ring-buffer
                   records the BPF programs would send (include/
                   catrace_record.h, version 2: one segment record per TCP
                   segment or UDP datagram, the CA bytes as spans, each
                   message cut to its copy budget; FIN/RST as TCP flags),
                   as fuzz_record reads them ([c0][c1] then
                   [len:u16le][record]...): with the default value budget,
                   a 16-byte one, and a ring buffer refusing every 7th
                   record; hand-made ones; packet records (-w) of the
                   capture's frames, and GSO super-packets made by joining
                   the payloads of consecutive TCP segments.

Capture directories default to $CATRACE_CAPTURES or tests/captures and
its external/ subdirectory.  Only the Python standard library is used.
"""

import argparse
import hashlib
import os
import struct
import sys

LT_NULL, LT_EN10MB, LT_RAW, LT_LOOP, LT_SLL, LT_IPV4, LT_SLL2 = 0, 1, 101, 108, 113, 228, 276
# fuzz_pipeline's link-type selector (sel & 7)
SEL = {LT_EN10MB: 0, LT_SLL: 1, LT_SLL2: 2, LT_NULL: 3, LT_LOOP: 4, LT_RAW: 5, LT_IPV4: 6}

PIPE_MAX = 16 * 1024
PCAP_MAX = 1 << 20
RECORD_MAX = 16 * 1024
MAX_PIPE_SEEDS_PER_FILE = 40


# ---------------------------------------------------------------- reading

def read_capture(path):
    """-> (linktype, [(ts_ns, caplen_data, wire_len)]) for pcap or pcapng."""
    with open(path, 'rb') as f:
        b = f.read()
    if len(b) < 4:
        raise ValueError('too short')
    magic_le = struct.unpack('<I', b[:4])[0]
    if magic_le == 0x0A0D0D0A:
        return read_pcapng(b)
    for endian in '<>':
        magic = struct.unpack(endian + 'I', b[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            nano = magic == 0xA1B23C4D
            lt = struct.unpack(endian + 'I', b[20:24])[0] & 0xFFFF
            off, pkts = 24, []
            while off + 16 <= len(b):
                sec, frac, cap, wire = struct.unpack(endian + 'IIII', b[off:off + 16])
                off += 16
                if off + cap > len(b):
                    break
                ts = sec * 10**9 + (frac if nano else frac * 1000)
                pkts.append((ts, b[off:off + cap], wire))
                off += cap
            return lt, pkts
    raise ValueError('not a capture file')


def read_pcapng(b):
    off, endian, lts, tsres, pkts = 0, '<', [], [], []
    while off + 12 <= len(b):
        btype = struct.unpack(endian + 'I', b[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            bom = b[off + 8:off + 12]
            endian = '<' if bom == b'\x4d\x3c\x2b\x1a' else '>'
            lts, tsres = [], []
        blen = struct.unpack(endian + 'I', b[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(b):
            break
        body = b[off + 8:off + blen - 4]
        if btype == 1:  # IDB
            lt = struct.unpack(endian + 'H', body[:2])[0]
            res = 10**3  # ns per tick: microseconds by default
            o = 8
            while o + 4 <= len(body):
                code, olen = struct.unpack(endian + 'HH', body[o:o + 4])
                if code == 0:
                    break
                if code == 9 and olen >= 1:
                    v = body[o + 4]
                    if v & 0x80:
                        res = 10**9 / (2 ** (v & 0x7F))
                    else:
                        res = 10**9 / (10 ** v)
                o += 4 + ((olen + 3) & ~3)
            lts.append(lt)
            tsres.append(res)
        elif btype == 6 and len(body) >= 20:  # EPB
            iface, hi, lo, cap, wire = struct.unpack(endian + 'IIIII', body[:20])
            if iface < len(lts):
                ts = int(((hi << 32) | lo) * tsres[iface])
                pkts.append((ts, body[20:20 + cap], wire))
        elif btype == 3 and len(body) >= 4 and lts:  # SPB
            wire = struct.unpack(endian + 'I', body[:4])[0]
            pkts.append((pkts[-1][0] + 1000 if pkts else 0, body[4:4 + wire], wire))
        elif btype == 2 and len(body) >= 20:  # OPB (obsolete)
            iface, _drops, hi, lo, cap, wire = struct.unpack(endian + 'HHIIII', body[:20])
            if iface < len(lts):
                ts = int(((hi << 32) | lo) * tsres[iface])
                pkts.append((ts, body[20:20 + cap], wire))
        off += blen
    if not lts:
        raise ValueError('pcapng without an interface')
    return lts[0], pkts


# ------------------------------------------------------- link-layer games

def ip_of(lt, frame):
    """The IPv4 packet inside a frame, or None."""
    if lt == LT_EN10MB:
        off = 12
        while off + 2 <= len(frame):
            et = struct.unpack('>H', frame[off:off + 2])[0]
            if et in (0x8100, 0x88A8, 0x9100):
                off += 4
                continue
            return frame[off + 2:] if et == 0x0800 else None
        return None
    if lt == LT_SLL:
        return frame[16:] if frame[14:16] == b'\x08\x00' else None
    if lt == LT_SLL2:
        return frame[20:] if frame[0:2] == b'\x08\x00' else None
    if lt in (LT_NULL, LT_LOOP):
        return frame[4:] if frame[:4] in (b'\x02\x00\x00\x00', b'\x00\x00\x00\x02') else None
    if lt in (LT_RAW, LT_IPV4):
        return frame if frame[:1] and frame[0] >> 4 == 4 else None
    return None


def wrap(lt, ip):
    if lt == LT_EN10MB:
        return b'\x02\x00\x00\x00\x00\x01' + b'\x02\x00\x00\x00\x00\x02' + b'\x08\x00' + ip
    if lt == LT_SLL:
        return struct.pack('>HHH8sH', 0, 1, 6, b'\x02\x00\x00\x00\x00\x01', 0x0800) + ip
    if lt == LT_SLL2:
        return struct.pack('>HHIHBB8s', 0x0800, 0, 2, 1, 0, 6, b'\x02\x00\x00\x00\x00\x01') + ip
    if lt == LT_NULL:
        return struct.pack('<I', 2) + ip
    if lt == LT_LOOP:
        return struct.pack('>I', 2) + ip
    return ip  # LT_RAW, LT_IPV4


def relink(lt, pkts, new_lt):
    """Frames re-framed as new_lt; frames that are not IPv4 are kept only
    when the link type stays the same."""
    out = []
    for ts, data, wire in pkts:
        if new_lt == lt:
            out.append((ts, data, wire))
            continue
        ip = ip_of(lt, data)
        if ip is None:
            continue
        nd = wrap(new_lt, ip)
        out.append((ts, nd, wire - len(data) + len(nd)))
    return out


# ------------------------------------------------------------- writing

def write_unique(d, name, blob, seen):
    h = hashlib.sha1(blob).hexdigest()[:16]
    if h in seen:
        return
    seen.add(h)
    with open(os.path.join(d, '%s-%s' % (name, h)), 'wb') as f:
        f.write(blob)


def pcap_file(lt, pkts, nano=False, big_endian=False):
    e = '>' if big_endian else '<'
    out = [struct.pack(e + 'IHHiIII', 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, 262144, lt)]
    for ts, data, wire in pkts:
        frac = ts % 10**9 if nano else (ts % 10**9) // 1000
        out.append(struct.pack(e + 'IIII', ts // 10**9, frac, len(data), wire) + data)
    return b''.join(out)


def pcapng_file(lt, pkts):
    def block(t, body):
        body += b'\0' * ((4 - len(body) % 4) % 4)
        n = len(body) + 12
        return struct.pack('<II', t, n) + body + struct.pack('<I', n)
    shb = block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1))
    # if_tsresol = 9 (nanoseconds), then end of options
    idb = block(1, struct.pack('<HHI', lt, 0, 262144) + struct.pack('<HHB3x', 9, 1, 9) +
                struct.pack('<HH', 0, 0))
    out = [shb, idb]
    for ts, data, wire in pkts:
        out.append(block(6, struct.pack('<IIIII', 0, ts >> 32, ts & 0xFFFFFFFF, len(data), wire) + data))
    return b''.join(out)


def pipeline_inputs(pkts_by_lt, configs):
    """Cut frames into fuzz_pipeline inputs of at most PIPE_MAX bytes.
    pkts_by_lt: [(lt, ts, data, wire)]."""
    seeds, cur, n = [], [], 0
    cfg_i = 0
    prev_ts = None
    for lt, ts, data, wire in pkts_by_lt:
        data = data[:0xFFFF]
        sel = SEL[lt]
        if wire > len(data):
            # snap-length cut: fuzz_pipeline adds 1 + 64 * (sel >> 4)
            step = min(15, (wire - len(data) - 1) // 64)
            sel |= 8 | (step << 4)
        elif prev_ts is not None and ts > prev_ts + 10**9:
            sel |= min(15, (ts - prev_ts) // 10**9) << 4
        prev_ts = ts
        rec = bytes([sel]) + struct.pack('<H', len(data)) + data
        if cur and n + len(rec) > PIPE_MAX - 2:
            seeds.append(bytes(configs[cfg_i % len(configs)]) + b''.join(cur))
            cfg_i += 1
            cur, n = [], 0
        cur.append(rec)
        n += len(rec)
    if cur:
        seeds.append(bytes(configs[cfg_i % len(configs)]) + b''.join(cur))
    return seeds


# ----------------------------------------- CA packets -> ring-buffer records

# include/catrace_record.h, CATRACE_REC_VERSION 2
REC_VERSION = 2
SEG_FMT = '<HBBIQIIIHHIIBBBBHH'   # struct ca_seg_record
assert struct.calcsize(SEG_FMT) == 48
SPAN_FMT = '<II'                  # struct ca_span
PKT_FMT = '<HBBIQIIIHHB7x'        # struct ca_pkt_record
assert struct.calcsize(PKT_FMT) == 40
REC_KIND_SEG, REC_KIND_PACKET = 1, 3
REC_F_EGRESS, REC_F_BOUNDARY, REC_F_LOST, REC_F_UNSYNCED = 0x01, 0x02, 0x04, 0x08
REC_SPANS_MAX = 32
REC_SEG_DATA_MAX = 64 * 1024
REC_UNSYNCED_MAX = 64 * 1024
REC_META_BYTES = 2048
TCP_FIN, TCP_SYN, TCP_RST = 0x01, 0x02, 0x04
CA_LAST_CMD = 27


def seg_record(ts, proto, d, saddr, daddr, sport, dport, seq, length, spans,
               flags=0, tcp_flags=0, egress=False):
    """struct ca_seg_record and its spans [(off, bytes)], each padded to 8."""
    body = []
    for off, data in spans:
        body.append(struct.pack(SPAN_FMT, off, len(data)) + data + b'\0' * (-len(data) % 8))
    body = b''.join(body)
    return struct.pack(SEG_FMT, REC_VERSION, REC_KIND_SEG,
                       flags | (REC_F_EGRESS if egress else 0), 48 + len(body),
                       ts, 2, saddr, daddr, sport, dport, seq & 0xFFFFFFFF, length,
                       proto, d, tcp_flags, 0, len(spans), 0) + body


def packet_record(ts, frame, egress=False, gso_size=0, gso_segs=0, wire=None, d=0):
    wire = len(frame) if wire is None else wire
    return struct.pack(PKT_FMT, REC_VERSION, REC_KIND_PACKET, REC_F_EGRESS if egress else 0,
                       40 + len(frame), ts, 2, wire, len(frame), gso_size, gso_segs,
                       d) + frame


def ca_hdr(b):
    """(cmd, size, hdr_len, dtype, count) of the header at b[0:], or None
    when b holds too few bytes for it."""
    if len(b) < 16:
        return None
    cmd, size, dtype, count = struct.unpack('>HHHH', b[:8])
    if size == 0xFFFF:
        if len(b) < 24:
            return None
        size, count = struct.unpack('>II', b[16:24])
        return cmd, size, 24, dtype, count
    return cmd, size, 16, dtype, count


def carries_value(cmd, req):
    """include/ca_rules.h ca_rule_carries_value."""
    if cmd in (1, 3, 15):
        return not req
    if cmd in (4, 19):
        return req
    return False


def looks_like_boundary(b, req):
    """A rough stand-in for the kernel's boundary_at (up to three
    believable headers in a row)."""
    known = {0, 1, 2, 4, 6, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 23, 26, 27}
    off = 0
    for i in range(3):
        if off >= len(b):
            return i >= 2
        h = ca_hdr(b[off:])
        if h is None or h[0] not in known or h[1] % 8 or h[1] > (1 << 24):
            return False
        off += h[2] + h[1]
        if off > len(b):
            return True
    return True


class TcpDir:
    """One direction's kernel state (struct tcp_dir_state)."""

    def __init__(self, next_seq, synced, lost=False, boundary=False):
        self.next_seq = next_seq
        self.synced = synced
        self.lost = lost
        self.boundary = boundary
        self.copy = 0
        self.skip = 0
        self.hdr = b''
        self.unsynced_sent = 0

    def unsync(self):
        self.synced = False
        self.copy = self.skip = 0
        self.hdr = b''
        self.unsynced_sent = 0


def frame_tcp(st, pl, req, value_bytes):
    """The kernel's walk over one segment's payload (bpf/catrace_hook.bpf.h
    frame_segment): -> (spans [[start, end]] in payload offsets, flags)."""
    spans, flags, pos, n = [], 0, 0, len(pl)

    def add(a, b):
        if a >= b:
            return
        if spans and spans[-1][1] == a:
            spans[-1][1] = b
        else:
            spans.append([a, b])

    def take(cmd, size, pstart):
        budget = min(size, value_bytes if carries_value(cmd, req) else REC_META_BYTES)
        avail = max(n - pstart, 0)
        add(pstart, pstart + min(budget, avail))
        if size > avail:
            st.copy = budget - avail if budget > avail else 0
            st.skip = size - avail - st.copy
            return n
        return pstart + size

    if not st.synced:
        if n and looks_like_boundary(pl, req):
            st.synced = True
            st.copy = st.skip = 0
            st.hdr = b''
            st.unsynced_sent = 0
            flags |= REC_F_BOUNDARY
        else:
            if n and st.unsynced_sent < REC_UNSYNCED_MAX:
                add(0, n)
                st.unsynced_sent += n
                flags |= REC_F_UNSYNCED
            return spans, flags
    if st.copy and pos < n:
        t = min(st.copy, n - pos)
        add(pos, pos + t)
        st.copy -= t
        pos += t
    if st.skip and pos < n:
        t = min(st.skip, n - pos)
        st.skip -= t
        pos += t
    if st.hdr and pos < n:
        need = min(24 - len(st.hdr), n - pos)
        h = ca_hdr(st.hdr + pl[pos:pos + need])
        if h is None:
            add(pos, n)
            st.hdr += pl[pos:n]
            return spans, flags
        used = h[2] - len(st.hdr)
        st.hdr = b''
        if h[0] > CA_LAST_CMD:
            add(pos, n)
            st.unsync()
            st.unsynced_sent = n - pos
            return spans, flags | REC_F_UNSYNCED
        add(pos, pos + used)
        pos = take(h[0], h[1], pos + used)
    while pos < n:
        h = ca_hdr(pl[pos:pos + 24])
        if h is None:
            add(pos, n)
            st.hdr = pl[pos:n]
            break
        if h[0] > CA_LAST_CMD:
            # A code no peer sends: the rest goes unframed.
            add(pos, n)
            st.unsync()
            st.unsynced_sent = n - pos
            flags |= REC_F_UNSYNCED
            break
        add(pos, pos + h[2])
        pos = take(h[0], h[1], pos + h[2])
    return spans, flags


def split_records(spans, n):
    """Spans into records of at most REC_SPANS_MAX spans and
    REC_SEG_DATA_MAX bytes: -> [(base, end, [(start, end)])]."""
    out, cur, base, size = [], [], 0, 0
    for a, b in spans:
        while b - a > REC_SEG_DATA_MAX - 8:   # one span's bytes at most
            cut = a + REC_SEG_DATA_MAX - 8
            if cur:
                out.append((base, a, cur))
                cur, base, size = [], a, 0
            out.append((base, cut, [(a, cut)]))
            base = a = cut
        need = 8 + ((b - a + 7) & ~7)
        if cur and (len(cur) >= REC_SPANS_MAX or size + need > REC_SEG_DATA_MAX):
            out.append((base, a, cur))
            cur, base, size = [], a, 0
        cur.append((a, b))
        size += need
    out.append((base, n, cur))
    return out


def tcp_records(st, ts, d, saddr, daddr, sport, dport, seq, pl, tcp_flags, value_bytes,
                egress):
    """A TCP segment the way process_tcp sends it: the state moved on, the
    records returned (none for a segment with nothing to say)."""
    n = len(pl)
    delta = (seq - st.next_seq + (1 << 31)) % (1 << 32) - (1 << 31)
    if n and delta < 0:
        old = -delta
        if old >= n:
            pl, n = b'', 0
        else:
            pl, n, seq = pl[old:], n - old, (seq + old) & 0xFFFFFFFF
    elif n and delta > 0:
        st.lost = True
        if st.synced and not st.hdr and delta <= st.copy + st.skip:
            if delta <= st.copy:
                st.copy -= delta
            else:
                st.skip -= delta - st.copy
                st.copy = 0
        else:
            st.unsync()
    if n:
        st.next_seq = (seq + n) & 0xFFFFFFFF
    fin = tcp_flags & (TCP_FIN | TCP_RST)
    spans, wflags = frame_tcp(st, pl, d == 0, value_bytes) if n else ([], 0)
    if not spans and not fin:
        return []
    flags = (REC_F_LOST if st.lost else 0) | (REC_F_BOUNDARY if st.boundary else 0) | wflags
    st.lost = st.boundary = False
    recs = []
    parts = split_records(spans, n)
    for i, (base, end, sp) in enumerate(parts):
        last = i == len(parts) - 1
        tf = tcp_flags if last else tcp_flags & ~(TCP_FIN | TCP_RST)
        recs.append(seg_record(ts, 6, d, saddr, daddr, sport, dport, seq + base, end - base,
                               [(a - base, pl[a:b]) for a, b in sp],
                               flags if i == 0 else 0, tf, egress))
    return recs


def refused(st):
    """The ring buffer refused this direction's last record: the next one
    says LOST, and BOUNDARY when the kernel still knows where it is."""
    st.lost = True
    if st.synced and not st.hdr:
        st.skip += st.copy
        st.copy = 0
        st.boundary = True
    else:
        st.unsync()


def capture_records(lt, pkts, value_bytes=1024, drop_every=0):
    """The segment records the BPF programs would send for a capture's CA
    packets: UDP datagrams whole, TCP segments framed with the copy budget
    (value_bytes for values, REC_META_BYTES for the rest).  drop_every=N:
    every Nth TCP record is refused (not sent), as by a full ring buffer."""
    servers, flows, recs, ntcp = set(), {}, [], 0
    for ts, data, _wire in pkts:
        ip = ip_of(lt, data)
        if ip is None or len(ip) < 20 or ip[0] >> 4 != 4:
            continue
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack('>H', ip[2:4])[0]
        proto = ip[9]
        saddr, daddr = struct.unpack('>II', ip[12:20])
        l4 = ip[ihl:tot] if tot >= ihl else ip[ihl:]
        if proto == 17 and len(l4) >= 8:
            sport, dport, ulen = struct.unpack('>HHH', l4[:6])
            if not {sport, dport} & {5064, 5065}:
                continue
            d = 0 if dport in (5064, 5065) else 1
            pl = l4[8:max(ulen, 8)]
            recs.append(seg_record(ts, 17, d, saddr, daddr, sport, dport, 0, max(ulen - 8, 0),
                                   [(0, pl)] if pl else [], egress=d == 1))
        elif proto == 6 and len(l4) >= 20:
            sport, dport, seq = struct.unpack('>HHI', l4[:8])
            tflags = l4[13]
            doff = (l4[12] >> 4) * 4
            if tflags & TCP_SYN and not tflags & 0x10:
                servers.add((daddr, dport))
            if (saddr, sport) in servers or sport == 5064:
                d = 1
            elif (daddr, dport) in servers or dport == 5064:
                d = 0
            else:
                continue
            pl = l4[doff:]
            key = (saddr, daddr, sport, dport)
            if tflags & TCP_SYN:
                flows[key] = TcpDir((seq + 1) & 0xFFFFFFFF, True, boundary=True)
                seq = (seq + 1) & 0xFFFFFFFF
            st = flows.get(key)
            if st is None:
                if not pl and not tflags & (TCP_FIN | TCP_RST):
                    continue
                st = flows[key] = TcpDir(seq, False, lost=True)
            for r in tcp_records(st, ts, d, saddr, daddr, sport, dport, seq, pl, tflags,
                                 value_bytes, d == 1):
                ntcp += 1
                if drop_every and ntcp % drop_every == 0:
                    refused(st)
                else:
                    recs.append(r)
            if tflags & (TCP_FIN | TCP_RST):
                del flows[key]
    return recs


def chunk_records(recs, prefix=b'\x00\x00', limit=RECORD_MAX, max_seeds=8):
    """Records into fuzz_record inputs of about `limit` bytes; a record
    too long for the u16 length goes last, with the 0xffff length."""
    seeds, cur, n = [], [], 0
    for r in recs:
        if len(r) >= 0xFFFF:
            seeds.append(prefix + b''.join(cur) + b'\xff\xff' + r)
            cur, n = [], 0
        else:
            rec = struct.pack('<H', len(r)) + r
            if cur and n + len(rec) > limit - 2:
                seeds.append(prefix + b''.join(cur))
                cur, n = [], 0
            cur.append(rec)
            n += len(rec)
        if len(seeds) >= max_seeds:
            return seeds
    if cur:
        seeds.append(prefix + b''.join(cur))
    return seeds


def record_inputs(lt, pkts):
    """The default copy budget, a small one (messages marked big), and a
    ring buffer that refuses every 7th record (LOST, BOUNDARY)."""
    seeds = []
    for i, (vb, drop) in enumerate(((1024, 0), (16, 0), (1024, 7))):
        seeds += chunk_records(capture_records(lt, pkts, vb, drop),
                               prefix=bytes([(0, 1, 0x41)[i], 0]), max_seeds=4 if i else 8)
    return seeds


def eth_frame(lt, data):
    if lt == LT_EN10MB:
        return data
    ip = ip_of(lt, data)
    return wrap(LT_EN10MB, ip) if ip is not None else None


def gso_packets(lt, pkts):
    """Join the payloads of consecutive same-direction TCP segments into one
    super-packet, as tc egress sees a TCP send before GSO cuts it."""
    out = []
    groups = {}
    for ts, data, _w in pkts:
        fr = eth_frame(lt, data)
        if fr is None or len(fr) < 14 + 20:
            continue
        ip = fr[14:]
        if ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack('>H', ip[2:4])[0]
        tcp = ip[ihl:tot]
        if len(tcp) < 20:
            continue
        doff = (tcp[12] >> 4) * 4
        if len(tcp) <= doff:
            continue
        groups.setdefault(ip[12:20] + tcp[:4], []).append((ts, fr, ihl, doff))
    for key, segs in groups.items():
        if len(segs) < 2:
            continue
        ts, fr, ihl, doff = segs[0]
        payload = b''.join(f[14 + ihl + doff:14 + struct.unpack('>H', f[16:18])[0]] for _t, f, _i, _d in segs[:40])
        payload = payload[:60000]
        if len(payload) < 200:
            continue
        head = bytearray(fr[:14 + ihl + doff])
        head[16:18] = struct.pack('>H', ihl + doff + len(payload))
        for gs in (1448, 536, len(payload) // 3 or 1):
            out.append(packet_record(ts, bytes(head) + payload, egress=True, gso_size=gs,
                                     gso_segs=(len(payload) + gs - 1) // gs))
        if len(out) > 12:
            break
    if out:
        # IPv4 BIG TCP: more than 64 KB of payload, total length 0
        big = bytearray(head) + (payload * (70000 // len(payload) + 1))[:70000]
        big[16:18] = b'\0\0'
        out.append(packet_record(ts, bytes(big), egress=True, gso_size=8948, gso_segs=8))
    return out


def packet_inputs(lt, pkts):
    recs = []
    for i, (ts, data, wire) in enumerate(pkts[:200]):
        fr = eth_frame(lt, data)
        if fr is not None:
            recs.append(packet_record(ts, fr, egress=i % 2 == 1, wire=max(wire, len(fr))))
    seeds = chunk_records(recs, prefix=b'\x00\x00', max_seeds=2)
    for i, g in enumerate(gso_packets(lt, pkts)):
        seeds.append(bytes([0, 0x10 * (i % 4)]) + b'\xff\xff' + g)
    return seeds


def crafted_records():
    """Hand-made records: a channel's life over a circuit (messages split
    across segments, a value past the copy budget, FIN from both ends),
    search traffic, and edge cases (lost bytes, boundaries found again,
    RST, unsynced bytes, broken records)."""
    cli, srv = 0x0A000001, 0x0A000002

    def msg(cmd, dtype=0, count=0, p1=0, p2=0, data=b'', size=None):
        size = len(data) if size is None else size
        if size >= 0xFFFF or count >= 0xFFFF:
            return struct.pack('>HHHHIIII', cmd, 0xFFFF, dtype, 0, p1, p2, size, count) + data
        return struct.pack('>HHHHII', cmd, size, dtype, count, p1, p2) + data

    def L(b):
        return struct.pack('<H', len(b)) + b

    def seg(d, seq, length, spans, flags=0, tf=0x10, proto=6, cport=40000):
        s, sp, dd, dp = (cli, cport, srv, 5064) if d == 0 else (srv, 5064, cli, cport)
        return L(seg_record(10**9 + seq, proto, d, s, dd, sp, dp, seq, length, spans, flags, tf,
                            egress=d == 1))

    class Stream:
        """One direction: whole messages in, records out (cut where asked)."""

        def __init__(self, d, seq, cport=40000):
            self.d, self.seq, self.cport, self.first = d, seq, cport, True

        def send(self, data, cuts=(), tf=0x10, flags=0):
            out, pos = [], 0
            for c in list(cuts) + [len(data)]:
                fl = flags | (REC_F_BOUNDARY if self.first else 0)
                out.append(seg(self.d, self.seq + pos, c - pos, [(0, data[pos:c])] if c > pos else [],
                               fl, tf if c == len(data) else 0x10, cport=self.cport))
                self.first, flags, pos = False, 0, c
            self.seq += len(data)
            return b''.join(out)

    name = b'FUZZ:PV\0'
    dbl = struct.pack('>d', 3.25)
    time_dbl = struct.pack('>hhIII', 0, 0, 1, 2, 0) + dbl  # TIME_DOUBLE
    q, r = Stream(0, 1001), Stream(1, 70001)
    life = [
        q.send(msg(0, 0, 13) + msg(20, data=b'user\0\0\0\0') + msg(21, data=b'host\0\0\0\0'),
               cuts=(20,)),
        q.send(msg(18, 0, 0, 1, 13, name)),                       # CREATE_CHAN cid 1
        r.send(msg(0, 0, 13) + msg(22, 0, 0, 1, 3) + msg(18, 6, 1, 1, 77), cuts=(8, 30)),
        q.send(msg(15, 20, 1, 77, 5)),                            # READ_NOTIFY TIME_DOUBLE
        r.send(msg(15, 20, 1, 1, 5, time_dbl), cuts=(16, 20)),
        q.send(msg(1, 6, 1, 77, 9, b'\0' * 16)),                  # EVENT_ADD
        r.send(msg(1, 6, 1, 1, 9, dbl) * 3),                      # updates
        q.send(msg(4, 6, 1, 77, 1, dbl) + msg(19, 6, 1, 77, 6, dbl)),
        r.send(msg(19, 6, 1, 1, 6)),
    ]
    # A 512-element update past the copy budget: 1024 bytes sent of 4096,
    # the rest accounted for over three records, the last without a span.
    big = msg(1, 6, 512, 1, 9, bytes(range(256)) * 16)
    after = msg(1, 6, 1, 1, 9, dbl)
    s0 = r.seq
    life += [
        seg(1, s0, 1500, [(0, big[:16 + 1024])]),
        seg(1, s0 + 1500, 1500, []),
        seg(1, s0 + 3000, len(big) - 3000 + len(after), [(len(big) - 3000, after)]),
    ]
    r.seq += len(big) + len(after)
    close = [
        q.send(msg(2, 6, 1, 77, 9) + msg(12, 0, 0, 77, 1)),      # EVENT_CANCEL, CLEAR
        r.send(msg(1, 6, 0, 1, 9) + msg(12, 0, 0, 77, 1)),
        q.send(b'', tf=0x11),                                     # FIN
        r.send(b'', tf=0x11),
    ]
    udp = [
        seg(0, 0, 40, [(0, msg(0, 0, 13) + msg(6, 5, 13, 1, 1, name))], proto=17, cport=40001),
        seg(1, 0, 24, [(0, msg(6, 5064, 0, 0xFFFFFFFF, 1, b'\0\x0d\0\0\0\0\0\0'))], proto=17,
            cport=40001),
        seg(1, 0, 16, [(0, msg(13, 13, 5064, 7, srv))], proto=17, cport=5065),
        seg(0, 0, 0, [], proto=17, cport=5065),                   # repeater registration
        seg(1, 0, 16, [(0, msg(17, 0, 0, 0, cli))], proto=17, cport=5065),
        seg(0, 0, 40, [(0, msg(0, 0, 13) + msg(6, 5, 13, 1, 1, name)[:20])], proto=17,
            cport=40001),                                         # datagram cut short
    ]
    # Edge cases on other circuits.
    s = 5001
    m1 = msg(15, 20, 1, 1, 5, time_dbl)                           # 40 bytes
    m2 = msg(1, 6, 1, 1, 9, dbl)                                  # 24 bytes
    ext = msg(1, 6, 1 << 17, 1, 9, b'\x7f' * 64, size=1 << 20)[:88]
    far = s + 228 + 70000
    edge = [
        seg(1, s, 30, [(0, m1[:30])], REC_F_BOUNDARY, cport=40002),   # a message begun,
        seg(1, s + 34, 30, [(0, m1[34:] + m2)], REC_F_LOST, cport=40002),  # 4 bytes lost in it
        seg(1, s + 164, 24, [(0, m2)], REC_F_LOST | REC_F_BOUNDARY,
            cport=40002),                                         # a refused record before
        seg(1, s + 188, 40, [(0, b'\xff' * 40)], REC_F_UNSYNCED, cport=40002),
        seg(1, far, 24, [(0, m2)], REC_F_BOUNDARY, cport=40002),  # unsynced bytes withheld
        seg(1, far + 24, 24 + (1 << 20), [(0, ext)], cport=40002),  # extended header, 1 MiB
        seg(1, far + 48 + (1 << 20), 0, [], REC_F_LOST, 0x04, cport=40002),   # RST
        seg(0, 7, 16, [(0, msg(999, 0xFFFF))], REC_F_BOUNDARY, cport=40003),  # no such code
        seg(0, 23, 8, [], 0, 0x11, cport=40003),                  # FIN after bytes skipped
    ]
    bad = [
        L(seg_record(1, 6, 0, cli, srv, 40004, 5064, 0, 8, [(4, b'abcd'), (0, b'efgh')])),
        L(seg_record(1, 6, 0, cli, srv, 40004, 5064, 0, 4, [(0, b'abcdefgh')])),
        L(seg_record(1, 99, 0, cli, srv, 40004, 5064, 0, 8, [(0, b'abcdefgh')])),
        L(struct.pack('<HBBI', 1, REC_KIND_SEG, 0, 48) + b'\0' * 40),    # version 1
        L(struct.pack('<HBBI', 2, 2, 0, 64) + b'\0' * 56),               # old CLOSE kind
    ]
    return [b'\x00\x00' + b''.join(life + close), b'\x01\x00' + b''.join(life + udp + close),
            b'\x02\x00' + b''.join(udp), b'\x00\x00' + b''.join(life[:3] + edge + bad),
            b'\x21\x0e' + b''.join(life + edge + close),
            b'\x03\x00' + b''.join(life + close)]


# ------------------------------------------------------------------ main

def find_captures(args):
    if args:
        roots = args
    else:
        here = os.path.dirname(os.path.abspath(__file__))
        base = os.environ.get('CATRACE_CAPTURES') or os.path.join(here, '..', 'captures')
        roots = [base, os.path.join(base, 'external')]
    files = []
    for r in roots:
        if os.path.isfile(r):
            files.append(r)
        elif os.path.isdir(r):
            for n in sorted(os.listdir(r)):
                if n.endswith(('.pcap', '.pcapng', '.cap')):
                    files.append(os.path.join(r, n))
    return files


# fuzz_json: lines as `catrace build` reads them (--json=full's schema and
# hand-written ones: names, human values, ranges, the empty datagram).
JSON_SEEDS = [
    '{"ts":1796398031.184084000,"frame":7,"src":"10.201.7.2","sport":60878,'
    '"dst":"10.201.7.1","dport":5064,"proto":"tcp","cmd":18,"command":"CreateChanRequest",'
    '"dir":"request","size":8,"dtype":0,"count":0,"p1":1,"p2":13,"pv":"T:ao","cid":1,'
    '"version":13,"payload":"543a616f00000000"}',
    '{"command":"ReadNotifyResponse","data_type":"TIME_DOUBLE","data":[3.14,-1e300],'
    '"severity":"MINOR","alarm":"HIGH","status":"ECA_NORMAL","ioid":1}',
    r'{"command":"WriteNotifyRequest","data_type":"STRING","data":["h\u00e9llo"],"sid":7}',
    '{"command":"SEARCH","pv":"T:ai","cid":{"range":[1,1000]}}',
    '{"command":"EventAddResponse","subscriptionid":{"range":[10,20],"random":3,"seed":1}}',
    '{"cmd":4,"dtype":6,"count":8192,"size":65536,"extended":true,"payload":"00"}',
    '{"cmd":1,"hdr_len":6,"handshake":false,"seq":4294967295}',
    '{"ts":1.5,"frame":2,"src":"127.0.0.1","sport":33737,"dst":"127.0.0.1","dport":5065,'
    '"proto":"udp","datagram":"empty"}',
    '{"command":"ClientNameRequest","name":"operator"}',
    '{"command":"SEARCH","pv":{"format":"T:ai%d","range":[1,5]},"cid":{"range":[1,5]}}',
    '{"command":"ReadNotifyResponse","data_type":"CTRL_DOUBLE","data":[0],"units":"V",'
    '"precision":2,"upper_disp_limit":null,"stamp_unix":1796398030.875223536}',
    '{"command":"ErrorResponse","original_request":{"cmd":15,"count":4096},'
    '"error_message":"too big"}',
    r'[1, {"a": [true, false, null]}, "\ud83d\ude00", -0.0e-0]',
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='.output/fuzz')
    ap.add_argument('captures', nargs='*')
    a = ap.parse_args()

    dirs = {k: os.path.join(a.out, 'seeds_' + k) for k in ('pipeline', 'pcap', 'record', 'json')}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
    seen = {k: set() for k in dirs}

    files = find_captures(a.captures)
    if not files:
        print('make_seeds: no captures found (set CATRACE_CAPTURES)', file=sys.stderr)
    configs = [(0, 0), (1, 0), (2, 0), (0x0D, 0x02), (0x41, 0x04), (0x96, 0x01), (0xE3, 0x0A), (0x14, 0x36)]
    for path in files:
        base = os.path.splitext(os.path.basename(path))[0]
        try:
            lt, pkts = read_capture(path)
        except (ValueError, struct.error) as e:
            print('make_seeds: %s: %s' % (path, e), file=sys.stderr)
            continue
        if lt not in SEL:
            continue

        # pcap: the file itself, cut below 1 MiB at a packet boundary
        with open(path, 'rb') as f:
            raw = f.read()
        if len(raw) <= PCAP_MAX:
            write_unique(dirs['pcap'], base, raw, seen['pcap'])
        else:
            cut, total = [], 24
            for p in pkts:
                total += 16 + len(p[1])
                if total > PCAP_MAX:
                    break
                cut.append(p)
            write_unique(dirs['pcap'], base + '-head', pcap_file(lt, cut), seen['pcap'])
        if len(raw) <= 64 * 1024:
            # every link type, both pcap flavours and pcapng
            for i, nlt in enumerate(SEL):
                rl = relink(lt, pkts, nlt)
                if nlt == lt or not rl:
                    continue
                if i % 3 == 0:
                    blob = pcapng_file(nlt, rl)
                else:
                    blob = pcap_file(nlt, rl, nano=i % 3 == 1, big_endian=i % 2 == 0)
                write_unique(dirs['pcap'], '%s-lt%d' % (base, nlt), blob, seen['pcap'])

        # pipeline: the frames as they are, then cycling link types
        frames = [(lt, ts, d, w) for ts, d, w in pkts]
        seeds = pipeline_inputs(frames, configs)
        mixed = []
        lts = [x for x in SEL if x != lt]
        for i, (ts, d, w) in enumerate(pkts):
            ip = ip_of(lt, d)
            if ip is None:
                mixed.append((lt, ts, d, w))
                continue
            nlt = lts[i % len(lts)]
            nd = wrap(nlt, ip)
            mixed.append((nlt, ts, nd, w - len(d) + len(nd)))
        seeds_m = pipeline_inputs(mixed, configs[3:] + configs[:3])
        for i, s in enumerate(seeds[:MAX_PIPE_SEEDS_PER_FILE]):
            write_unique(dirs['pipeline'], '%s-%03d' % (base, i), s, seen['pipeline'])
        for i, s in enumerate(seeds_m[:MAX_PIPE_SEEDS_PER_FILE // 3]):
            write_unique(dirs['pipeline'], '%s-mixed-%03d' % (base, i), s, seen['pipeline'])

        # records
        for i, s in enumerate(record_inputs(lt, pkts)):
            write_unique(dirs['record'], '%s-%02d' % (base, i), s, seen['record'])
        for i, s in enumerate(packet_inputs(lt, pkts)):
            write_unique(dirs['record'], '%s-pkt-%02d' % (base, i), s, seen['record'])

    for i, s in enumerate(crafted_records()):
        write_unique(dirs['record'], 'crafted-%02d' % i, s, seen['record'])

    for i, s in enumerate(JSON_SEEDS):
        write_unique(dirs['json'], 'line-%02d' % i, s.encode(), seen['json'])

    for k, d in dirs.items():
        names = os.listdir(d)
        size = sum(os.path.getsize(os.path.join(d, n)) for n in names)
        print('make_seeds: %-8s %4d seeds, %7.1f KiB in %s' % (k, len(names), size / 1024, d))


if __name__ == '__main__':
    main()
