#!/usr/bin/env python3
"""Score a decoder on degraded captures against the lossless original.

    tests/loss/score.py [--catrace PATH] [--cashark CA.LUA] [--no-catrace]
                        [--goals SPEC] [--no-header] [-v]
                        ORIGINAL.pcap VARIANT.pcap [VARIANT.pcap ...]

Each VARIANT comes from degrade.py, with its sidecar VARIANT.pcap.map.
Prints one table row per variant and decoder (catrace; cashark too with
--cashark), or, with --goals, one PASS:/FAIL: line per variant and
decoder (exit status 1 if any failed).

The reference.  The original capture's CA circuits are framed here, not
by the decoder under test: each TCP direction is put in sequence-number
order and cut into CA messages (16-byte header, 24 when the size field is
0xFFFF and the count field 0; then the payload), each with the set of
packets that carried its bytes and the packet that carried its last byte
(the first in the file, if a byte came twice).  A UDP datagram holds whole
messages.  The framing must agree with `catrace -r ORIGINAL --json`
(the same number of messages, with the same commands, per direction of
every flow catrace decodes), or the scorer stops: a reference that is
wrong would make every number below meaningless.

The columns (per variant; "matched" below is the alignment's):
  msgs     messages the decoder printed for the variant
  intact   original messages every byte of which reached the variant: the
           packets carrying each byte survived (per the sidecar; a
           duplicate counts as surviving).  For cashark, only messages
           cashark decodes in the original (it watches fewer ports)
  found    intact messages matched
  recall   found / intact, in % ("-" when nothing is intact)
  invented variant messages matched to no original message
  wrongpv  matched messages whose pv is not null and differs from the
           original's (cashark: only messages that carry the name)
  wrongts  intact matched messages whose ts differs from the time stamp of the
           packet that carried the original message's last byte, or whose
           frame, mapped back through the sidecar, is not that packet
  order    replies printed before the request they answer (same circuit,
           in the decoder's output order; CREATE_CHAN by cid, READ_NOTIFY
           and WRITE_NOTIFY by ioid, EVENT_ADD by subscription id; which
           request a reply answers is read from the original: the latest
           such request before it), counted when both are matched
  noname   matched messages with pv null where the original had a name
  named?   of those, the ones a surviving message names: their channel's
           CREATE_CHAN request is intact (the latest CREATE_CHAN request
           with that name on the circuit before the message), and so is
           the request a reply answers (the ioid or subscription id is
           the only link from a reply to its channel)
Matching: per direction of each flow, the original's and the variant's
messages are aligned by difflib.SequenceMatcher (order-preserving: blocks
of equal signatures, longest first) on the signature (cmd, dtype, count,
p1, p2, size, value when present) for catrace; what is left is matched by
equal signature in any order (a late segment decoded out of stream order).  cashark rows are aligned
to cashark's decode of the original by every field cashark_tsv.py prints
but pv (command, size, dtype/type, count, the ids it names cid, sid,
ioid, sub, p1, p2, eca, version, rights, mask, server port and address,
beacon id, strings, DBR metadata and the first ten data.value): cashark
shows raw header fields only where it has no better name for them.  Original
messages no byte of which survived are left out of the alignment.  For
cashark the noname columns are "-": it names only the messages that carry
the name.
Standard library only; cashark needs tshark.
"""

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "captures"))
import pcapio  # noqa: E402

DEFAULT_CATRACE = os.path.join(ROOT, ".output", "catrace")
HEADER_BYTES, EXTENDED_HEADER_BYTES = 16, 24
CMD_EVENT_ADD, CMD_READ_NOTIFY = 1, 15
CMD_CREATE_CHAN, CMD_WRITE_NOTIFY = 18, 19
# command -> header field holding the id a reply shares with its request
PAIRING_ID = {CMD_CREATE_CHAN: "p1", CMD_READ_NOTIFY: "p2",
              CMD_WRITE_NOTIFY: "p2", CMD_EVENT_ADD: "p2"}
CASHARK_NOTE = ("# cashark rows: aligned with cashark's decode of the "
                "original on every field it prints but pv\n"
                "# (command, size, dtype/type, count, cid, sid, ioid, sub, "
                "p1, p2, eca, ..., first ten data.value);\n"
                "# intact: only messages it decodes in the original; "
                "wrongpv: only where it prints a pv; noname, named?: "
                "not scored")
GOALS = ("recall", "invented", "wrongpv", "wrongts", "order", "named")
STRICT_GOALS = ("recall", "invented", "wrongpv", "wrongts", "order")


class ScoreError(Exception):
    pass

# ------------------------------------------------------------ the reference


class OrigMsg:
    """A CA message of the original capture, as framed here."""

    def __init__(self, flow, start, end, header, carriers):
        self.flow = flow            # (src, sport, dst, dport, proto)
        self.start, self.end = start, end  # byte range in the flow's stream
        self.header = header        # (cmd, size, dtype, count, p1, p2)
        # [(start, end, packet number, file position)], in file order
        self.carriers = carriers
        self.last_packet = None     # number of the packet with the last byte
        self.ts_ns = None           # its time stamp
        self.intact = None          # every byte survived
        self.reachable = None       # some byte survived
        self.catrace = None         # catrace's decode of it (a Decoded)
        self.request = None         # for a reply: the OrigMsg it answers
        self.create_chan = None     # the CREATE_CHAN request of its channel

    @property
    def cmd(self):
        return self.header[0]


def read_header(stream, offset):
    """(cmd, size, dtype, count, p1, p2), header length; None if the
    stream ends inside the header."""
    if offset + HEADER_BYTES > len(stream):
        return None, 0
    cmd, size, dtype, count, p1, p2 = (
        int.from_bytes(stream[offset + a:offset + b], "big")
        for a, b in ((0, 2), (2, 4), (4, 6), (6, 8), (8, 12), (12, 16)))
    if size == 0xFFFF and count == 0:
        if offset + EXTENDED_HEADER_BYTES > len(stream):
            return None, 0
        size = int.from_bytes(stream[offset + 16:offset + 20], "big")
        count = int.from_bytes(stream[offset + 20:offset + 24], "big")
        return (cmd, size, dtype, count, p1, p2), EXTENDED_HEADER_BYTES
    return (cmd, size, dtype, count, p1, p2), HEADER_BYTES


def frame_bytes(flow, stream, carriers_of):
    """Cut STREAM into OrigMsgs; CARRIERS_OF(start, end) lists the
    segments that carried bytes [start, end).  A message the stream ends
    inside is left out (the capture stopped there)."""
    messages, offset = [], 0
    while True:
        header, header_len = read_header(stream, offset)
        if header is None or offset + header_len + header[1] > len(stream):
            return messages
        end = offset + header_len + header[1]
        messages.append(OrigMsg(flow, offset, end, header,
                                carriers_of(offset, end)))
        offset = end


def relative_seq(seq, base):
    """Sequence number distance from BASE, signed, modulo 2**32."""
    d = (seq - base) & 0xFFFFFFFF
    return d - (1 << 32) if d >= (1 << 31) else d


def tcp_stream(flow, segments):
    """The flow's bytes in sequence order and its segments as (start, end,
    packet number, file position), from (seq, payload, number, position).
    The original is lossless: a hole is an error."""
    base = segments[0][0]
    placed = sorted((relative_seq(seq, base), payload, number, position)
                    for seq, payload, number, position in segments)
    first = placed[0][0]
    stream, pieces = bytearray(), []
    for start, payload, number, position in placed:
        start -= first
        if start > len(stream):
            raise ScoreError("%s:%d->%s:%d: the original has a hole of %d "
                             "bytes at stream byte %d; it must be lossless"
                             % (flow[:4] + (start - len(stream), len(stream))))
        end = start + len(payload)
        if end > len(stream):
            stream += payload[len(stream) - start:]
        pieces.append((start, end, number, position))
    return bytes(stream), pieces


def carriers_finder(pieces):
    def carriers_of(start, end):
        return sorted(((s, e, n, pos) for s, e, n, pos in pieces
                       if s < end and e > start), key=lambda c: c[3])
    return carriers_of


def last_byte_packet(msg):
    """The packet that carried the message's last byte, first in the file
    if that byte was sent twice."""
    for start, end, number, _position in msg.carriers:
        if start <= msg.end - 1 < end:
            return number
    raise ScoreError("no carrier for the last byte of a message")


def frame_original(capture, ca_flows):
    """flow -> [OrigMsg] for every flow in CA_FLOWS (those catrace decodes
    in the original)."""
    tcp_segments, udp_messages = {}, {}
    for position, packet in enumerate(capture.packets):
        l4 = pcapio.parse_l4(capture.linktype, packet)
        if l4 is None or l4.flow not in ca_flows or not l4.payload:
            continue
        if l4.proto == "tcp":
            tcp_segments.setdefault(l4.flow, []).append(
                (l4.seq, l4.payload, packet.number, position))
        else:
            piece = [(0, len(l4.payload), packet.number, position)]
            udp_messages.setdefault(l4.flow, []).extend(
                frame_bytes(l4.flow, l4.payload,
                            lambda start, end, piece=piece: piece))
    framed = dict(udp_messages)
    for flow, segments in tcp_segments.items():
        stream, pieces = tcp_stream(flow, segments)
        framed[flow] = frame_bytes(flow, stream, carriers_finder(pieces))
    times = {p.number: pcapio.time_ns(capture, p) for p in capture.packets}
    for messages in framed.values():
        for msg in messages:
            msg.last_packet = last_byte_packet(msg)
            msg.ts_ns = times[msg.last_packet]
    return framed


def check_framing(framed, catrace_by_flow, original_path):
    """Stop unless the framing and catrace's decode of the original have
    the same messages (count and command) in every direction of every
    flow; then attach catrace's decode to each OrigMsg."""
    problems = []
    for flow, decoded in sorted(catrace_by_flow.items()):
        mine = framed.get(flow, [])
        where = "%s:%d->%s:%d %s" % flow
        if len(mine) != len(decoded):
            problems.append("%s: framed %d messages, catrace decoded %d"
                            % (where, len(mine), len(decoded)))
            continue
        for msg, dec in zip(mine, decoded):
            if msg.cmd != dec.raw["cmd"]:
                problems.append("%s: message at stream byte %d: framed cmd "
                                "%d, catrace cmd %d" % (where, msg.start,
                                                        msg.cmd,
                                                        dec.raw["cmd"]))
                break
            msg.catrace = dec
    if problems:
        raise ScoreError("the framing of %s disagrees with catrace's decode "
                         "of it:\n  %s" % (original_path,
                                           "\n  ".join(problems)))


def link_requests(framed):
    """Tie each reply to the request it answers and each named message to
    its channel's CREATE_CHAN request, in the original's output order."""
    ordered = sorted((msg for messages in framed.values() for msg in messages),
                     key=lambda m: m.catrace.order)
    latest_request, latest_create = {}, {}
    for msg in ordered:
        dec = msg.catrace
        circuit = connection_of(msg.flow)
        if msg.cmd in PAIRING_ID and msg.flow[4] == "tcp":
            key = (circuit, msg.cmd, dec.raw[PAIRING_ID[msg.cmd]])
            if dec.raw["dir"] == "request":
                latest_request[key] = msg
            else:
                msg.request = latest_request.get(key)
        if dec.pv is not None and msg.flow[4] == "tcp":
            if msg.cmd == CMD_CREATE_CHAN and dec.raw["dir"] == "request":
                latest_create[(circuit, dec.pv)] = msg
            msg.create_chan = latest_create.get((circuit, dec.pv))


def connection_of(flow):
    a, b = flow[0:2], flow[2:4]
    return (flow[4],) + (a + b if a <= b else b + a)


def mark_intact(framed, surviving):
    """A message is intact when the surviving packets that carried it
    cover every one of its bytes."""
    for messages in framed.values():
        for msg in messages:
            covered = msg.start
            for start, end, number, _pos in sorted(msg.carriers):
                if number in surviving and start <= covered:
                    covered = max(covered, end)
            msg.intact = covered >= msg.end
            msg.reachable = any(number in surviving
                                for _s, _e, number, _pos in msg.carriers)

# ------------------------------------------------------------ decodes


class Decoded:
    """One message a decoder printed."""

    def __init__(self, order, flow, signature, pv, ts_ns, frame, raw):
        self.order = order          # position in the decoder's output
        self.flow = flow
        self.signature = signature  # what must be equal to match
        self.pv = pv
        self.ts_ns = ts_ns
        self.frame = frame
        self.raw = raw


def ts_to_ns(text):
    return int(Decimal(str(text)) * 1000000000)


def catrace_signature(msg):
    signature = tuple(msg[k] for k in ("cmd", "dtype", "count", "p1", "p2",
                                       "size"))
    if "value" in msg:
        signature += (json.dumps(msg["value"], default=str),)
    return signature


def run_catrace(catrace, capture_path):
    """catrace's decode, in output order."""
    proc = subprocess.run([catrace, "-r", capture_path, "--json", "-q"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise ScoreError("%s -r %s failed (%d): %s" % (
            catrace, capture_path, proc.returncode,
            proc.stderr.decode(errors="replace").strip()))
    decoded = []
    for order, line in enumerate(proc.stdout.decode().splitlines()):
        msg = json.loads(line, parse_float=Decimal)
        flow = (msg["src"], msg["sport"], msg["dst"], msg["dport"],
                msg["proto"])
        decoded.append(Decoded(order, flow, catrace_signature(msg),
                               msg["pv"], ts_to_ns(msg["ts"]), msg["frame"],
                               msg))
    return decoded


def by_flow(decoded):
    grouped = {}
    for dec in decoded:
        grouped.setdefault(dec.flow, []).append(dec)
    return grouped


def cashark_rows(capture_path, capture, lua, ports):
    """cashark's decode as Decoded, from cashark_tsv.py's TSV lines; the
    protocol (which the lines do not give) is read from the packet."""
    import cashark_tsv
    lines, _problems = cashark_tsv.decode(capture_path, lua, ports)
    decoded = []
    for order, line in enumerate(lines):
        cells = line.rstrip("\n").split("\t")
        frame = int(cells[0])
        l4 = pcapio.parse_l4(capture.linktype, capture.packets[frame - 1])
        flow = (cells[2], int(cells[3]), cells[4], int(cells[5]),
                l4.proto if l4 else "?")
        fields = [tuple(cell.split("=", 1)) for cell in cells[6:]
                  if "=" in cell]
        # pv is left out so that a wrong name shows as one, not as an
        # invented row and a missed one.
        signature = tuple(f for f in fields if f[0] != "pv")
        named = dict(fields)
        raw = {name: value for name, value in reversed(fields)}
        raw["cmd"] = int(named["command"], 0)
        decoded.append(Decoded(order, flow, signature, named.get("pv"),
                               ts_to_ns(cells[1]), frame, raw))
    return decoded


def align(reference, variant):
    """Matched (reference index, variant index) pairs: order-preserving
    first, then what is left matched by equal signature in any order (a
    segment that came after its hole was given up is decoded late, out of
    stream order; it is found, not invented -- its order and time are
    judged by the other columns)."""
    matcher = difflib.SequenceMatcher(
        None, [d.signature for d in reference],
        [d.signature for d in variant], autojunk=False)
    pairs = []
    for a, b, size in matcher.get_matching_blocks():
        pairs.extend((a + i, b + i) for i in range(size))
    used_a = {a for a, _ in pairs}
    used_b = {b for _, b in pairs}
    waiting = {}
    for a, d in enumerate(reference):
        if a not in used_a:
            waiting.setdefault(d.signature, []).append(a)
    for b, d in enumerate(variant):
        if b not in used_b and waiting.get(d.signature):
            pairs.append((waiting[d.signature].pop(0), b))
    return sorted(pairs)


def attach_cashark_reference(framed, cashark_original):
    """OrigMsg -> cashark's row for it in the original: per flow, rows and
    framed messages in order, aligned by (packet, command)."""
    reference = {}
    for flow, rows in by_flow(cashark_original).items():
        messages = framed.get(flow, [])
        matcher = difflib.SequenceMatcher(
            None, [(m.last_packet, m.cmd) for m in messages],
            [(r.frame, r.raw["cmd"]) for r in rows], autojunk=False)
        for a, b, size in matcher.get_matching_blocks():
            for i in range(size):
                reference[id(messages[a + i])] = rows[b + i]
    return reference

# ------------------------------------------------------------ scoring


class Score:
    def __init__(self):
        self.msgs = self.intact = self.matched_intact = self.invented = 0
        self.wrong_pv = self.wrong_ts = self.order = 0
        self.noname = self.should_be_named = 0
        self.names_scored = True
        self.examples = []

    @property
    def recall(self):
        if not self.intact:
            return 100.0
        return 100.0 * self.matched_intact / self.intact

    def failures(self, goals):
        checks = {"recall": self.matched_intact < self.intact,
                  "invented": self.invented > 0,
                  "wrongpv": self.wrong_pv > 0,
                  "wrongts": self.wrong_ts > 0,
                  "order": self.order > 0,
                  "named": self.names_scored and self.should_be_named > 0}
        return [g for g in goals if checks[g]]


def score_variant(framed, reference_of, variant, origin, names_scored):
    """Score VARIANT (list of Decoded) against the OrigMsgs, REFERENCE_OF
    giving each OrigMsg's decode by the same decoder (or None: out of the
    decoder's reach, not scored)."""
    score = Score()
    score.msgs = len(variant)
    score.names_scored = names_scored
    variant_by_flow = by_flow(variant)
    matched = {}  # id(OrigMsg) -> Decoded of the variant
    for flow in set(framed) | set(variant_by_flow):
        # A message none of whose bytes survived cannot be in the
        # variant; leaving it out keeps a repeated message (a search sent
        # again, an ECHO) from being matched to a lost earlier copy.
        messages = [m for m in framed.get(flow, [])
                    if reference_of(m) is not None and m.reachable]
        decoded = variant_by_flow.get(flow, [])
        pairs = align([reference_of(m) for m in messages], decoded)
        score.invented += len(decoded) - len(pairs)
        for a, b in pairs:
            matched[id(messages[a])] = decoded[b]
        for msg in messages:
            score.intact += msg.intact
            if msg.intact and id(msg) in matched:
                score.matched_intact += 1
            elif msg.intact:
                score.examples.append(
                    "missed: %s:%d->%s:%d cmd %d, original packet %d"
                    % (msg.flow[:4] + (msg.cmd, msg.last_packet)))
    for messages in framed.values():
        for msg in messages:
            dec = matched.get(id(msg))
            if dec is not None:
                judge_matched(score, msg, reference_of(msg), dec, matched,
                              origin, names_scored)
    return score


def judge_matched(score, msg, reference, dec, matched, origin, names_scored):
    if None not in (dec.pv, reference.pv) and dec.pv != reference.pv:
        score.wrong_pv += 1
        note(score, "wrong pv", msg, dec, "%r, original %r" % (dec.pv,
                                                              reference.pv))
    frame_origin = (origin[dec.frame - 1] if 0 < dec.frame <= len(origin)
                    else None)
    # A message whose last byte's packet is gone has no such time to keep:
    # only intact ones are judged.
    if msg.intact and (dec.ts_ns != msg.ts_ns or frame_origin != msg.last_packet):
        score.wrong_ts += 1
        note(score, "wrong ts", msg, dec,
             "frame %d (original packet %s) at %s, want packet %d at %s"
             % (dec.frame, frame_origin, ns_text(dec.ts_ns),
                msg.last_packet, ns_text(msg.ts_ns)))
    request = msg.request and matched.get(id(msg.request))
    if request is not None and request.order > dec.order:
        score.order += 1
        note(score, "reply before request", msg, dec,
             "reply line %d, request line %d" % (dec.order + 1,
                                                 request.order + 1))
    if names_scored and dec.pv is None and msg.catrace.pv is not None:
        score.noname += 1
        if (msg.create_chan is not None and msg.create_chan.intact and
                (msg.request is None or msg.request.intact)):
            score.should_be_named += 1
            note(score, "should be named", msg, dec, msg.catrace.pv)


def note(score, what, msg, dec, detail):
    score.examples.append("%s: %s:%d->%s:%d cmd %d, frame %d: %s"
                          % ((what,) + msg.flow[:4] + (msg.cmd, dec.frame,
                                                      detail)))


def ns_text(ns):
    return "%d.%09d" % divmod(ns, 1000000000)

# ------------------------------------------------------------ output


COLUMNS = ("capture", "variant", "decoder", "msgs", "intact", "found",
           "recall", "invented", "wrongpv", "wrongts", "order", "noname",
           "named?")
WIDTHS = (22, 20, 8, 6, 6, 6, 7, 8, 7, 7, 6, 6, 6)


def table_line(cells):
    out = []
    for i, (cell, width) in enumerate(zip(cells, WIDTHS)):
        out.append(str(cell).ljust(width) if i < 3 else str(cell).rjust(width))
    return " ".join(out).rstrip()


def row(capture_name, label, decoder, score):
    names = ((score.noname, score.should_be_named) if score.names_scored
             else ("-", "-"))
    recall = "%.1f" % score.recall if score.intact else "-"
    return table_line((capture_name, label, decoder, score.msgs, score.intact,
                       score.matched_intact, recall, score.invented,
                       score.wrong_pv, score.wrong_ts, score.order) + names)


def goal_line(capture_name, label, decoder, score, goals):
    failed = score.failures(goals)
    should = score.should_be_named if score.names_scored else "-"
    text = ("%s %s %s: recall %.1f%% (%d/%d intact), invented %d, wrong pv %d,"
            " wrong ts %d, replies before requests %d, unnamed %d (should be "
            "named %s)" % (capture_name, label, decoder, score.recall,
                           score.matched_intact, score.intact, score.invented,
                           score.wrong_pv, score.wrong_ts, score.order,
                           score.noname, should))
    if failed:
        return "FAIL: %s [goals missed: %s]" % (text, ",".join(failed))
    return "PASS: " + text


def variant_label(map_path):
    """'drop:2/s1' (classes/seed) from the sidecar's comment line."""
    with open(map_path, encoding="ascii") as f:
        first = f.readline()
    classes = re.findall(r"--class (\S+)", first)
    seed = re.search(r"--seed (\S+)", first)
    label = "+".join(classes) or os.path.basename(map_path)
    return label + ("/s%s" % seed.group(1) if seed else "")


def parse_goals(text):
    if text == "strict":
        return STRICT_GOALS
    goals = tuple(g for g in text.split(",") if g)
    unknown = [g for g in goals if g not in GOALS]
    if unknown or not goals:
        raise argparse.ArgumentTypeError(
            "goals: 'strict' or a comma list of %s" % ", ".join(GOALS))
    return goals


def main():
    parser = argparse.ArgumentParser(
        description="Score decodes of degraded captures against the "
                    "lossless original (see the top of this file).")
    parser.add_argument("--catrace", default=DEFAULT_CATRACE)
    parser.add_argument("--no-catrace", action="store_true",
                        help="score only cashark (the original is still "
                             "framed and checked with catrace)")
    parser.add_argument("--cashark", metavar="CA.LUA",
                        help="also score tshark with this cashark dissector")
    parser.add_argument("--goals", type=parse_goals, metavar="SPEC",
                        help="print PASS/FAIL lines instead of the table: "
                             "'strict' (= %s) or a comma list of %s"
                             % (",".join(STRICT_GOALS), ",".join(GOALS)))
    parser.add_argument("--no-header", action="store_true")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="under each row, up to 10 (-vv: all) of its "
                             "missed, wrong and unnamed messages")
    parser.add_argument("original")
    parser.add_argument("variants", nargs="+", metavar="VARIANT")
    args = parser.parse_args()
    try:
        return score_all(args)
    except (ScoreError, pcapio.PcapError, OSError) as error:
        sys.stderr.write("score: %s\n" % error)
        return 2


def score_all(args):
    original = pcapio.read_pcap(args.original)
    catrace_original = run_catrace(args.catrace, args.original)
    catrace_by_flow = by_flow(catrace_original)
    framed = frame_original(original, set(catrace_by_flow))
    check_framing(framed, catrace_by_flow, args.original)
    link_requests(framed)
    decoders = []
    if not args.no_catrace:
        decoders.append(("catrace", lambda m: m.catrace, True,
                         lambda path, cap: run_catrace(args.catrace, path)))
    if args.cashark:
        import cashark_tsv
        lua = os.path.abspath(args.cashark)
        # The ports search replies announce, found once on the original:
        # a degraded copy can only have lost some of them.
        ports = cashark_tsv.discover_ports(args.original, lua)
        reference = attach_cashark_reference(
            framed, cashark_rows(args.original, original, lua, ports))
        decoders.append(("cashark", lambda m: reference.get(id(m)), False,
                         lambda path, cap: cashark_rows(path, cap, lua,
                                                        ports)))
    name = os.path.splitext(os.path.basename(args.original))[0]
    if not args.goals and not args.no_header:
        if args.cashark:
            print(CASHARK_NOTE)
        print(table_line(COLUMNS))
    all_passed = True
    for variant_path in args.variants:
        origin = pcapio.read_map(variant_path + ".map")
        variant = pcapio.read_pcap(variant_path)
        mark_intact(framed, set(origin))
        label = variant_label(variant_path + ".map")
        for decoder, reference_of, names_scored, decode in decoders:
            score = score_variant(framed, reference_of,
                                  decode(variant_path, variant), origin,
                                  names_scored)
            if args.goals:
                line = goal_line(name, label, decoder, score, args.goals)
                all_passed &= line.startswith("PASS")
                print(line)
            else:
                print(row(name, label, decoder, score))
            limit = None if args.verbose > 1 else 10
            for example in score.examples[:limit] if args.verbose else []:
                print("    " + example)
            sys.stdout.flush()
    return 0 if all_passed else 1


if __name__ == "__main__":
    sys.exit(main())
