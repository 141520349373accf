#!/usr/bin/env python3
"""Check catrace --json=fields against the capture's bytes and against
`catrace fields --json`.

    tests/fields_check.py CATRACE CAPTURE...
    tests/fields_check.py --snap N CATRACE CAPTURE...
    tests/fields_check.py --live LIVE.json CATRACE CAPTURE

--snap N: each capture is first cut to N bytes a frame (as tcpdump -s N
would have taken it), so that cut fields are checked too.
--live: LIVE.json holds what `catrace -i --json=fields` printed while
CAPTURE was taken beside it; its TCP fields are read back at their
sequence numbers in the capture's streams (live messages have no frame).

For every message of every capture (--json=fields --all-layers):
  - the frame's header fields (Ethernet, IPv4, UDP/TCP) follow one another
    from the frame's first byte and equal the frame's bytes there;
  - each field whose "offset" is given is read again from its frame (the
    message's, or the one "frame" names; the pcap is read here,
    independently of catrace) at offset/length, and must
    equal the field's "raw" bytes; each TCP field's "seq" is read again
    from its stream (the segments of that direction, by sequence number,
    whichever frames hold them) and must equal them too;
  - the fields tile the message: each starts where the one before ended,
    the first at 0, the last ends at the message's length (padding, unused
    slots and bytes not captured are fields too, never gaps);
  - every field id is described by `catrace fields --json`, with the same
    name, and a fixed length there is the field's length;
  - every enum value printed is in its dictionary (commands by direction)
    with the name printed, unless the field says "unknown", and then it
    is not in it; every flag named is in its dictionary.
Prints PASS:/FAIL: lines, one per capture, and exits non-zero on failure.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile


def read_pcap(path):
    """Frames of a classic pcap file, by 1-based number (pcapng is not
    needed: the project's captures are pcap)."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        end = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        end = '>'
    else:
        raise ValueError('%s: not a classic pcap' % path)
    frames = {}
    off, n = 24, 0
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(end + 'IIII', data[off:off + 16])
        n += 1
        frames[n] = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
    return frames


def snap_copy(path, snap, out):
    """Write path's frames cut to snap bytes each (their wire length kept)
    to out, a classic pcap in the input's byte order."""
    with open(path, 'rb') as f:
        data = f.read()
    end = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    res = bytearray(data[:24])
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, wire = struct.unpack(end + 'IIII', data[off:off + 16])
        cut = min(caplen, snap)
        res += struct.pack(end + 'IIII', sec, frac, cut, wire)
        res += data[off + 16:off + 16 + cut]
        off += 16 + caplen
    out.write(bytes(res))
    out.flush()


def ipv4(b):
    return '.'.join(str(x) for x in b)


def tcp_streams(frames):
    """Per direction (src, sport, dst, dport): its segments' bytes by
    sequence number, from Ethernet/IPv4/TCP frames (VLAN tags skipped)."""
    streams = {}
    for fr in frames.values():
        off = 12
        while fr[off:off + 2] in (b'\x81\x00', b'\x88\xa8'):
            off += 4
        if fr[off:off + 2] != b'\x08\x00':
            continue
        ip = off + 2
        ihl = (fr[ip] & 15) * 4
        if fr[ip + 9] != 6:
            continue
        tot = struct.unpack('>H', fr[ip + 2:ip + 4])[0]
        tcp = ip + ihl
        sport, dport, seq = struct.unpack('>HHI', fr[tcp:tcp + 8])
        doff = (fr[tcp + 12] >> 4) * 4
        payload = fr[tcp + doff:ip + tot]
        if payload:
            key = (ipv4(fr[ip + 12:ip + 16]), sport, ipv4(fr[ip + 16:ip + 20]), dport)
            streams.setdefault(key, {})[seq] = payload
    return streams


def stream_read(segs, seq, n):
    """n bytes from sequence number seq, or None when some are missing."""
    out = bytearray()
    while len(out) < n:
        want = (seq + len(out)) & 0xffffffff
        for s, data in segs.items():
            d = (want - s) & 0xffffffff
            if d < len(data):
                out += data[d:d + n - len(out)]
                break
        else:
            return None
    return bytes(out)


def check_capture(catrace, path, desc, dicts, live=None):
    """live: a file of catrace -i --json=fields lines, checked against the
    capture taken beside it (path) instead of catrace -r path."""
    frames = read_pcap(path)
    streams = tcp_streams(frames)
    if live:
        with open(live) as f:
            out = f.read()
    else:
        out = subprocess.run([catrace, '-q', '-r', path, '--json=fields', '--all-layers',
                              '--max-elements', '0'],
                             check=True, capture_output=True).stdout.decode()
    errors = []
    nfields = nread = nseq = 0
    for line in out.splitlines():
        m = json.loads(line)
        where = 'frame %d %s' % (m['frame'], m['command'])
        # The frame's headers: from its first byte on, layer after layer.
        at = 0
        for layer, hfields in m['layers'].items():
            if layer == 'ca' or live:
                continue
            for f in hfields:
                nfields += 1
                if f['id'] not in desc or not f['id'].startswith(layer + '.'):
                    errors.append('%s: header field %s (layer %s) not described' % (where, f['id'], layer))
                if f['offset'] != at:
                    errors.append('%s: %s at %s, previous header field ended at %d' %
                                  (where, f['id'], f['offset'], at))
                at = f['offset'] + f['length']
                got = frames[m['frame']][f['offset']:at].hex()
                nread += 1
                if got != f['raw']:
                    errors.append('%s: %s at %d: frame has %s, field says %s' %
                                  (where, f['id'], f['offset'], got, f['raw']))
        fields = m['layers']['ca']
        at = 0
        for f in fields:
            nfields += 1
            fid = f['id']
            d = desc.get(fid)
            if d is None:
                errors.append('%s: field %s not described' % (where, fid))
                continue
            if d['name'] != f['name']:
                errors.append('%s: %s named %r, described %r' % (where, fid, f['name'], d['name']))
            if d['length'] is not None and d['length'] != f['length'] and 'captured' not in f:
                errors.append('%s: %s length %d, described %d' % (where, fid, f['length'], d['length']))
            if f['msg_offset'] != at:
                errors.append('%s: %s at %d, previous field ended at %d' % (where, fid, f['msg_offset'], at))
            at = f['msg_offset'] + f['length']
            if f['offset'] is not None and not live:
                frame = frames[f.get('frame', m['frame'])]
                got = frame[f['offset']:f['offset'] + f['length']].hex()
                nread += 1
                if got != f['raw']:
                    errors.append('%s: %s at %d: frame has %s, field says %s' %
                                  (where, fid, f['offset'], got, f['raw']))
            if 'first_frame' in f and f['raw'] and not live:
                # Spanning segments: its first bytes are where it says.
                nread += 1
                frame = frames[f['first_frame']]
                got = frame[f['first_offset']:f['first_offset'] + 1].hex()
                if got != f['raw'][:2]:
                    errors.append('%s: %s begins in frame %d at %d: %s there, field says %s' %
                                  (where, fid, f['first_frame'], f['first_offset'], got, f['raw'][:2]))
            if 'seq' in f and f['raw']:
                segs = streams.get((m['src'], m['sport'], m['dst'], m['dport']), {})
                got = stream_read(segs, f['seq'], len(f['raw']) // 2)
                nseq += 1
                if got is None or got.hex() != f['raw']:
                    errors.append('%s: %s at seq %d: stream has %s, field says %s' %
                                  (where, fid, f['seq'], got.hex() if got else None, f['raw'][:64]))
            if d['type'] == 'enum' and 'captured' not in f:
                dic = dicts[d['dict']]
                if d['dict'] == 'command':
                    req = m['dir'] == 'request' or fid == 'ca.error.command'
                    dic = dic['requests' if req else 'responses']
                name = dic.get(str(f['value']))
                if f.get('unknown'):
                    if name is not None:
                        errors.append('%s: %s=%s marked unknown but the dictionary has %s' %
                                      (where, fid, f['value'], name))
                elif name != f['hvalue']:
                    errors.append('%s: %s=%s printed %r, dictionary %r' %
                                  (where, fid, f['value'], f['hvalue'], name))
            if d['type'] == 'flags' and 'captured' not in f and not f.get('unknown'):
                names = set(dicts[d['dict']].values()) | {'NONE'}
                for part in f['hvalue'].split('|'):
                    if part not in names:
                        errors.append('%s: %s flag %r not in its dictionary' % (where, fid, part))
        if fields and at != m['msg']['length']:
            errors.append('%s: fields end at %d, message is %d bytes' % (where, at, m['msg']['length']))
    name = (live or path).rsplit('/', 1)[-1]
    checked = nseq if live else nread
    if errors or not checked:
        print('FAIL: fields-check %s: %d problems%s' % (name, len(errors), '' if checked else ', no field read back'))
        for e in errors[:15]:
            print('    ' + e)
        return False
    print('PASS: fields-check %s (%d fields, %d read back from the frames, %d from the streams)' %
          (name, nfields, nread, nseq))
    return True


def main():
    args = sys.argv[1:]
    live = None
    snap = None
    if args and args[0] == '--live':
        live = args[1]
        args = args[2:]
    if args and args[0] == '--snap':
        snap = int(args[1])
        args = args[2:]
    catrace = args[0]
    d = json.loads(subprocess.run([catrace, 'fields', '--json'], check=True,
                                  capture_output=True).stdout)
    desc = {f['id']: f for f in d['fields']}
    ok = True
    for path in args[1:]:
        if snap:
            name = os.path.basename(path).replace('.pcap', '-snap%d.pcap' % snap)
            with tempfile.TemporaryDirectory() as tmp:
                cut = os.path.join(tmp, name)
                with open(cut, 'wb') as out:
                    snap_copy(path, snap, out)
                ok = check_capture(catrace, cut, desc, d['dicts']) and ok
            continue
        ok = check_capture(catrace, path, desc, d['dicts'], live) and ok
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
