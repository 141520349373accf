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
  seeds_record/    the CA messages of each capture as ring-buffer records
                   (include/catrace_record.h), as fuzz_record reads them
                   ([c0][c1] then [len:u16le][record]...), with close
                   records at the end of each circuit; packet records (-w)
                   of the capture's frames, and GSO super-packets made by
                   joining the payloads of consecutive TCP segments.

Capture directories default to $CATRACE_CAPTURES or ../shared/captures and
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


# ------------------------------------------------ CA messages -> records

REC_FMT = '<HHBBBBQIIIHHHHIIIIIB3xHH'
assert struct.calcsize(REC_FMT) == 64
PKT_FMT = '<HHBBBxQIIIHH'   # struct ca_pkt_record
assert struct.calcsize(PKT_FMT) == 32
REC_KIND_MSG, REC_KIND_CLOSE, REC_KIND_PACKET = 1, 2, 3
REC_F_EGRESS, REC_F_FIN, REC_F_RST = 0x01, 0x40, 0x80


def ca_messages(lt, pkts):
    """Rough CA framing of a capture for record seeds: UDP datagrams and
    TCP streams (per direction, in arrival order, no reassembly niceties).
    Yields (ts, proto, dir, saddr, daddr, sport, dport, seq, header bytes,
    payload bytes)."""
    servers = set()
    streams = {}
    for ts, data, _wire in pkts:
        ip = ip_of(lt, data)
        if ip is None or len(ip) < 20:
            continue
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack('>H', ip[2:4])[0]
        proto = ip[9]
        saddr, daddr = struct.unpack('>II', ip[12:20])
        l4 = ip[ihl:tot] if tot >= ihl else ip[ihl:]
        if proto == 17 and len(l4) >= 8:
            sport, dport = struct.unpack('>HH', l4[:4])
            pl = l4[8:]
            if 5064 not in (sport, dport) and 5065 not in (sport, dport):
                continue
            d = 0 if dport in (5064, 5065) else 1
            off = 0
            while off + 16 <= len(pl):
                hdr = pl[off:off + 16]
                size = struct.unpack('>H', hdr[2:4])[0]
                yield ts, 17, d, saddr, daddr, sport, dport, 0, hdr, pl[off + 16:off + 16 + size]
                off += 16 + size
        elif proto == 6 and len(l4) >= 20:
            sport, dport = struct.unpack('>HH', l4[:4])
            seq = struct.unpack('>I', l4[4:8])[0]
            flags = l4[13]
            doff = (l4[12] >> 4) * 4
            if flags & 0x02 and not flags & 0x10:
                servers.add((daddr, dport))
            pl = l4[doff:]
            if (saddr, sport) in servers or sport == 5064:
                d = 1
            elif (daddr, dport) in servers or dport == 5064:
                d = 0
            else:
                continue
            key = (saddr, daddr, sport, dport)
            st = streams.setdefault(key, [b'', seq])
            st[0] += pl
            while len(st[0]) >= 16:
                b = st[0]
                size = struct.unpack('>H', b[2:4])[0]
                hl = 16
                if size == 0xFFFF and len(b) >= 24:
                    size = struct.unpack('>I', b[16:20])[0]
                    hl = 24
                elif size == 0xFFFF:
                    break
                if len(b) < hl + size:
                    break
                yield ts, 6, d, saddr, daddr, sport, dport, st[1], b[:hl], b[hl:hl + size]
                st[0] = b[hl + size:]
                st[1] = (st[1] + hl + size) & 0xFFFFFFFF


def record(ts, proto, d, saddr, daddr, sport, dport, seq, hdr, payload, value_bytes):
    cmd, size16, dtype, count16, p1, p2 = struct.unpack('>HHHHII', hdr[:16])
    size, count = size16, count16
    if len(hdr) == 24:
        size, count = struct.unpack('>II', hdr[16:24])
    limit = 128 if cmd in (6, 18) and d == 0 else value_bytes
    data = payload[:limit]
    body = struct.pack(REC_FMT, 1, 64 + len(data), 1, d, proto, 0, ts, 2,
                       saddr, daddr, sport, dport, cmd, dtype, size, count,
                       p1, p2, seq, len(hdr), len(data), 0)
    return body + data


def close_record(ts, d, saddr, daddr, sport, dport, rst=False):
    return struct.pack(REC_FMT, 1, 64, REC_KIND_CLOSE, d, 6, REC_F_RST if rst else REC_F_FIN,
                       ts, 2, saddr, daddr, sport, dport, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def packet_record(ts, frame, egress=False, gso_size=0, gso_segs=0, wire=None):
    wire = len(frame) if wire is None else wire
    return struct.pack(PKT_FMT, 1, (32 + len(frame)) & 0xFFFF, REC_KIND_PACKET, 0,
                       REC_F_EGRESS if egress else 0, ts, 2, wire, len(frame),
                       gso_size, gso_segs) + frame


def chunk_records(recs, prefix=b'\x00\x00', limit=RECORD_MAX, max_seeds=8):
    seeds, cur, n = [], [], 0
    for r in recs:
        rec = struct.pack('<H', min(len(r), 0xFFFE)) + r
        if cur and n + len(rec) > limit - 2:
            seeds.append(prefix + b''.join(cur))
            cur, n = [], 0
            if len(seeds) >= max_seeds:
                return seeds
        cur.append(rec)
        n += len(rec)
    if cur:
        seeds.append(prefix + b''.join(cur))
    return seeds


def record_inputs(lt, pkts):
    vb = [64, 256, 0, 16]
    recs, circuits = [], {}
    for i, m in enumerate(ca_messages(lt, pkts)):
        recs.append(record(*m, value_bytes=vb[(i // 50) % len(vb)]))
        ts, proto, d, saddr, daddr, sport, dport = m[:7]
        if proto == 6:
            circuits[(saddr, daddr, sport, dport)] = (ts, d)
    # every circuit ends: FIN from both ends, or a RST
    for j, ((saddr, daddr, sport, dport), (ts, d)) in enumerate(sorted(circuits.items())):
        recs.append(close_record(ts, d, saddr, daddr, sport, dport, rst=j % 3 == 2))
    return chunk_records(recs)


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
    """A few hand-made records: a channel's life, and edge cases."""
    cli, srv = 0x0A000001, 0x0A000002
    name = b'FUZZ:PV\0'

    def rec(cmd, d, dtype=0, size=0, count=0, p1=0, p2=0, data=b'', proto=6, hdr_len=16, flags=0):
        s, sp, dd, dp = (cli, 40000, srv, 5064) if d == 0 else (srv, 5064, cli, 40000)
        r = struct.pack(REC_FMT, 1, 64 + len(data), 1, d, proto, flags, 10**9, 2,
                        s, dd, sp, dp, cmd, dtype, size, count, p1, p2, 0,
                        hdr_len, len(data), 0) + data
        return struct.pack('<H', len(r)) + r

    dbl = struct.pack('>d', 3.25)
    time_dbl = struct.pack('>hhIII', 0, 0, 1, 2, 0) + dbl  # TIME_DOUBLE: status, sev, stamp, pad
    life = [
        rec(0, 0, 13, 0, 0, 1, 0),                            # VERSION
        rec(20, 0, 0, 8, 0, data=b'user\0\0\0\0'),           # CLIENT_NAME
        rec(21, 0, 0, 8, 0, data=b'host\0\0\0\0'),           # HOST_NAME
        rec(18, 0, 0, 8, 0, 1, 13, data=name),                # CREATE_CHAN cid 1
        rec(22, 1, 0, 0, 0, 1, 3),                            # ACCESS_RIGHTS
        rec(18, 1, 6, 0, 1, 1, 77),                           # CREATE_CHAN resp sid 77
        rec(15, 0, 20, 0, 1, 77, 5),                          # READ_NOTIFY TIME_DOUBLE
        rec(15, 1, 20, 24, 1, 1, 5, data=time_dbl),           # response
        rec(1, 0, 6, 16, 1, 77, 9, data=b'\0' * 16),          # EVENT_ADD
        rec(1, 1, 6, 8, 1, 1, 9, data=dbl),                   # monitor update
        rec(4, 0, 6, 8, 1, 77, 1, data=dbl),                  # WRITE
        rec(19, 0, 6, 8, 1, 77, 6, data=dbl),                 # WRITE_NOTIFY
        rec(19, 1, 6, 0, 1, 1, 6),                            # WRITE_NOTIFY resp
        rec(2, 0, 6, 0, 1, 77, 9),                            # EVENT_CANCEL
        rec(1, 1, 6, 0, 0, 1, 9),                             # cancel confirm
        rec(12, 0, 0, 0, 0, 77, 1),                           # CLEAR_CHANNEL
        rec(12, 1, 0, 0, 0, 77, 1),
    ]
    udp = [
        rec(0, 0, 0, 0, 13, 0, 0, proto=17),
        rec(6, 0, 5, 8, 13, 1, 1, data=name, proto=17),       # SEARCH
        rec(6, 1, 5064, 8, 0, 0xFFFFFFFF, 1, data=b'\0\x0d\0\0\0\0\0\0', proto=17),
        rec(13, 1, 13, 0, 5064, 7, srv, proto=17),            # RSRV_IS_UP
        rec(17, 1, 0, 0, 0, 0, cli, proto=17),                # REPEATER_CONFIRM
    ]
    edge = [
        rec(15, 1, 20, 0xFFFFFFF0, 0xFFFFFFFF, 1, 5, data=time_dbl, hdr_len=24),
        rec(1, 1, 34, 0x100000, 0x40000000, 1, 9, data=b'\xff' * 256, hdr_len=24),
        rec(18, 0, 0, 300, 0, 2, 13, data=b'A' * 128, flags=0x20),
        rec(6, 0, 5, 16, 13, 2, 2, data=b'\x01\x02\n\r\x7f\x80name', proto=17, flags=0x10),
        rec(999, 0, 0xFFFF, 0, 0, 0, 0, flags=0x02),
        rec(15, 1, 14, 40, 1, 1, 5, data=b'x' * 40, hdr_len=0),
    ]
    return [b'\x00\x00' + b''.join(life), b'\x01\x00' + b''.join(life + udp),
            b'\x02\x00' + b''.join(udp), b'\x00\x00' + b''.join(life[:6] + edge),
            b'\x21\x0e' + b''.join(life + edge)]


# ------------------------------------------------------------------ main

def find_captures(args):
    if args:
        roots = args
    else:
        here = os.path.dirname(os.path.abspath(__file__))
        base = os.environ.get('CATRACE_CAPTURES') or os.path.join(here, '..', '..', '..', 'shared', 'captures')
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='.output/fuzz')
    ap.add_argument('captures', nargs='*')
    a = ap.parse_args()

    dirs = {k: os.path.join(a.out, 'seeds_' + k) for k in ('pipeline', 'pcap', 'record')}
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

    for k, d in dirs.items():
        names = os.listdir(d)
        size = sum(os.path.getsize(os.path.join(d, n)) for n in names)
        print('make_seeds: %-8s %4d seeds, %7.1f KiB in %s' % (k, len(names), size / 1024, d))


if __name__ == '__main__':
    main()
