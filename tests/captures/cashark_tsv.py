#!/usr/bin/env python3
"""Reference decode of a capture with the cashark Wireshark dissector, as TSV.

Usage:
    cashark_tsv.py --cashark-lua PATH/ca.lua CAPTURE OUT.cashark.tsv \
        [OUT.cashark.problems.tsv]

Writes the files described in tests/captures/README.md ("Beside each
capture"): one line per CA message (frame, epoch time, source address and
port, destination address and port, then cashark's fields as name=value,
"ca." stripped, the request header nested in an ERROR prefixed "orig.",
at most ten data.value), and, only if tshark flagged something, a problems
file (frame, time, expert info text); a stale problems file is removed.

cashark watches ports 5064/5065 only, so the TCP ports that SEARCH replies
announce are found in a first pass and decoded as CA ("Decode As") in the
next; passes repeat until no new port appears.

Needs tshark (written against 4.0.17). ca.lua is NOT part of this project
and is not copied here: get it from https://github.com/mdavidsaver/cashark
(file ca.lua) and pass its path with --cashark-lua.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

CA_PORTS = {5064, 5065}
SEARCH = "0x0006"
MAX_VALUES = 10
PROBLEM_SEVERITIES = ("Warning", "Error")
# tshark 4.0 rates TCP retransmissions only "Note"; they are problems too.
NOTE_PROBLEM_WORD = "retransmission"


def tshark_command(capture, lua, ports, display_filter=None):
    """The tshark command line for one pass, PDML on stdout.

    tshark runs in ca.lua's folder and loads it by file name, so that Lua
    error messages do not depend on where ca.lua was put.
    """
    cmd = ["tshark", "-n", "-r", os.path.abspath(capture),
           "-X", "lua_script:" + os.path.basename(lua),
           "-o", "tcp.desegment_tcp_streams:TRUE", "-T", "pdml"]
    for port in sorted(ports):
        cmd += ["-d", "tcp.port==%d,ca" % port]
    if display_filter:
        cmd += ["-Y", display_filter]
    return cmd


def packets(capture, lua, ports, display_filter=None):
    """Run tshark and yield each <packet> element of its PDML output."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            tshark_command(capture, lua, ports, display_filter),
            cwd=os.path.dirname(os.path.abspath(lua)),
            stdout=subprocess.PIPE, stderr=errors)
        broken = None
        try:
            for _, elem in ET.iterparse(proc.stdout, events=("end",)):
                if elem.tag == "packet":
                    yield elem
                    elem.clear()
        except ET.ParseError as error:
            broken = error  # no or cut PDML
        status = proc.wait()
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
        check_tshark(capture, status, stderr, broken)


def check_tshark(capture, status, stderr, broken):
    """Stop if tshark failed, could not load ca.lua or wrote bad PDML."""
    if status != 0 or broken or "tshark: Lua: " in stderr:
        sys.exit("tshark failed on %s (status %d%s):\n%s"
                 % (capture, status, ", PDML: %s" % broken if broken else "",
                    stderr))


def field_show(packet, proto_names, field_suffix):
    """show= of the field PROTO.SUFFIX in the last of PROTO_NAMES present."""
    value = None
    for proto in packet.findall("proto"):
        if proto.get("name") in proto_names:
            for field in proto.findall("field"):
                if field.get("name") == proto.get("name") + field_suffix:
                    value = field.get("show")
    return value


def packet_head(packet):
    """Frame number, epoch time, src addr, src port, dst addr, dst port."""
    return [field_show(packet, ("frame",), ".number"),
            field_show(packet, ("frame",), ".time_epoch"),
            field_show(packet, ("ip", "ipv6"), ".src"),
            field_show(packet, ("tcp", "udp"), ".srcport"),
            field_show(packet, ("ip", "ipv6"), ".dst"),
            field_show(packet, ("tcp", "udp"), ".dstport")]


def message_fields(element, prefix=""):
    """name=value pairs of one cashark message, in tree order."""
    pairs = []
    for child in element:
        name = child.get("name", "")
        if child.tag == "proto" and name == "ca":
            pairs += message_fields(child, prefix + "orig.")
        elif child.tag == "field" and name.startswith("ca."):
            pairs.append((prefix + name[3:], child.get("show", "")))
            pairs += message_fields(child, prefix)
    return pairs


def limit_values(pairs):
    """Keep only the first MAX_VALUES data.value elements."""
    kept, seen = [], 0
    for name, value in pairs:
        if name == "data.value":
            seen += 1
            if seen > MAX_VALUES:
                continue
        kept.append((name, value))
    return kept


def messages(packet):
    """One list of (name, value) per top-level cashark message."""
    return [limit_values(message_fields(proto))
            for proto in packet.findall("proto") if proto.get("name") == "ca"]


def is_problem(text):
    """Whether an expert info text ("Expert Info (Warning/...): ...") counts."""
    severity = text.partition("(")[2].partition("/")[0]
    return (severity in PROBLEM_SEVERITIES
            or (severity == "Note" and NOTE_PROBLEM_WORD in text))


def problems(packet):
    """The packet's distinct expert info texts that count, in tree order."""
    texts = []
    for field in packet.iter("field"):
        text = field.get("showname", "")
        if (field.get("name") == "_ws.expert" and is_problem(text)
                and text not in texts):
            texts.append(text)
    return texts


def announced_ports(capture, lua, ports):
    """TCP ports announced by SEARCH replies, decoding PORTS as CA."""
    found = set()
    for packet in packets(capture, lua, ports, "ca.serv.port"):
        for fields in messages(packet):
            if fields and fields[0] == ("command", SEARCH):
                found.update(int(v) for n, v in fields if n == "serv.port")
    return found - CA_PORTS


def discover_ports(capture, lua):
    """Repeat passes until the set of announced ports stops growing."""
    ports = set()
    while True:
        found = announced_ports(capture, lua, ports)
        if found <= ports:
            return ports
        ports |= found


def decode(capture, lua, ports):
    """TSV lines for messages and for problems."""
    lines, problem_lines = [], []
    for packet in packets(capture, lua, ports):
        head = packet_head(packet)
        for fields in messages(packet):
            cells = head + ["%s=%s" % pair for pair in fields]
            lines.append("\t".join(cells) + "\n")
        for text in problems(packet):
            problem_lines.append("\t".join(head[:2] + [text]) + "\n")
    return lines, problem_lines


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.writelines(lines)


def main():
    parser = argparse.ArgumentParser(
        description="Decode a capture with cashark (ca.lua) into TSV.")
    parser.add_argument("--cashark-lua", required=True, metavar="PATH",
                        help="path of cashark's ca.lua")
    parser.add_argument("capture")
    parser.add_argument("tsv")
    parser.add_argument("problems_tsv", nargs="?")
    args = parser.parse_args()

    lua = os.path.abspath(args.cashark_lua)
    if not os.path.isfile(lua):
        sys.exit("no such file: %s" % lua)
    ports = discover_ports(args.capture, lua)
    lines, problem_lines = decode(args.capture, lua, ports)
    write_lines(args.tsv, lines)
    if args.problems_tsv:
        if problem_lines:
            write_lines(args.problems_tsv, problem_lines)
        elif os.path.exists(args.problems_tsv):
            os.remove(args.problems_tsv)


if __name__ == "__main__":
    main()
