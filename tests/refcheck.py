#!/usr/bin/env python3
"""Compare catrace's decode of the reference captures with two independent
decoders' output (cashark, a Wireshark Lua dissector, and caproto-shark).

    tests/refcheck.py [--catrace PATH] [--captures DIR] [--known FILE]
                      [--strict] [--max-details N] [-v] [NAME ...]

For every capture that has reference files (NAME.cashark.tsv,
NAME.caproto-shark.txt) in DIR or DIR/external, run
`catrace -r CAPTURE --json` and check that every message a reference reports
is in catrace's output (same packet, same command, same ids), with the same
field values wherever the reference decodes a field catrace also reports.
catrace may report more messages than the references ("catrace only").

Matching: cashark lines by (frame, src, sport, dst, dport); caproto-shark
lines, which have no frame number, by (time stamp rounded to the
microsecond, src, sport, dst, dport).  Within a packet, messages pair by
command and ids (cid, sid, ioid, subscription id, name) in order, then by
command alone.  Compared, where the reference gives them: raw header fields
(size, data type, count, p1, p2), ids, pv/name, version, search reply flag,
server port and address, beacon id, ECA status (by message number), access
rights, alarm status and severity, time stamp, units, precision, limits,
enum strings, the first elements of the value, the ERROR's embedded request
header and text; for caproto-shark also the direction its class name claims
(Request/Response; "RequestOrResponse" is not compared).  Values of
DBR_FLOAT types are compared as IEEE singles.

Output: one line per capture,
  NAME: catrace N, cashark N (matched N, known N), caproto-shark N (matched N,
  known N), catrace only N
"matched": found with no difference; "known": every difference covered by
known-differences entries; the rest are failures, listed below the line.
Last line: "N passed, N failed" (captures); exit status 1 if any failed.

A difference fails the capture unless a line of the known-differences file
(tests/reference/known-differences.txt by default) covers it; see that file
for its format.  Known-difference entries that cover nothing are reported as
stale (a failure with --strict).

Standard library only.
"""

import argparse
import decimal
import json
import os
import re
import struct
import subprocess
import sys
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_CATRACE = os.path.join(ROOT, ".output", "catrace")
DEFAULT_CAPTURES = os.path.join(HERE, "captures")
DEFAULT_KNOWN = os.path.join(HERE, "reference", "known-differences.txt")
CAPTURE_EXTS = (".pcap", ".pcapng", ".cap")
REFS = ("cashark", "caproto-shark")
MAX_DETAILS = 20

# ---------------------------------------------------------------- tables

# caerr.h: ECA_xxx = DEFMSG(severity, number); the number is bits 3..15.
ECA_NAMES = [
    "ECA_NORMAL", "ECA_MAXIOC", "ECA_UKNHOST", "ECA_UKNSERV", "ECA_SOCK",
    "ECA_CONN", "ECA_ALLOCMEM", "ECA_UKNCHAN", "ECA_UKNFIELD", "ECA_TOLARGE",
    "ECA_TIMEOUT", "ECA_NOSUPPORT", "ECA_STRTOBIG", "ECA_DISCONNCHID",
    "ECA_BADTYPE", "ECA_CHIDNOTFND", "ECA_CHIDRETRY", "ECA_INTERNAL",
    "ECA_DBLCLFAIL", "ECA_GETFAIL", "ECA_PUTFAIL", "ECA_ADDFAIL",
    "ECA_BADCOUNT", "ECA_BADSTR", "ECA_DISCONN", "ECA_DBLCHNL",
    "ECA_EVDISALLOW", "ECA_BUILDGET", "ECA_NEEDSFP", "ECA_OVEVFAIL",
    "ECA_BADMONID", "ECA_NEWADDR", "ECA_NEWCONN", "ECA_NOCACTX",
    "ECA_DEFUNCT", "ECA_EMPTYSTR", "ECA_NOREPEATER", "ECA_NOCHANMSG",
    "ECA_DLCKREST", "ECA_SERVBEHIND", "ECA_NOCAST", "ECA_BADMASK",
    "ECA_IODONE", "ECA_IOINPROGRESS", "ECA_BADSYNCGRP", "ECA_PUTCBINPROG",
    "ECA_NORDACCESS", "ECA_NOWTACCESS", "ECA_ANACHRONISM",
    "ECA_NOSEARCHADDR", "ECA_NOCONVERT", "ECA_BADCHID", "ECA_BADFUNCPTR",
    "ECA_ISATTACHED", "ECA_UNAVAILINSERV", "ECA_CHANDESTROY",
    "ECA_BADPRIORITY", "ECA_NOTTHREADED", "ECA_16KARRAYCLIENT",
    "ECA_CONNSEQTMO", "ECA_UNRESPTMO",
]

# epicsAlarmCondition / epicsAlarmSeverity (alarm.h)
ALARM_NAMES = [
    "NO_ALARM", "READ", "WRITE", "HIHI", "HIGH", "LOLO", "LOW", "STATE",
    "COS", "COMM", "TIMEOUT", "HWLIMIT", "CALC", "SCAN", "LINK", "SOFT",
    "BAD_SUB", "UDF", "DISABLE", "SIMM", "READ_ACCESS", "WRITE_ACCESS",
]
SEVERITY_NAMES = ["NO_ALARM", "MINOR", "MAJOR", "INVALID"]

EPICS_EPOCH = 631152000  # 1990-01-01 in Unix seconds

# caproto class name (without Request/Response suffix) -> command code
CAPROTO_CODES = {
    "Version": 0, "EventAdd": 1, "EventCancel": 2, "Read": 3, "Write": 4,
    "Search": 6, "EventsOff": 8, "EventsOn": 9, "ReadSync": 10, "Error": 11,
    "ClearChannel": 12, "Beacon": 13, "NotFound": 14, "ReadNotify": 15,
    "RepeaterConfirm": 17, "CreateChan": 18, "WriteNotify": 19,
    "ClientName": 20, "HostName": 21, "AccessRights": 22, "Echo": 23,
    "RepeaterRegister": 24, "CreateChFail": 26, "ServerDisconn": 27,
}
# caproto's EventCancelResponse is the EVENT_ADD with no payload RSRV sends
CAPROTO_CLASS_CODES = {"EventCancelResponse": 1}

# Fields that identify a message among several of the same command in one
# packet (used to pick the right catrace message before comparing).
ID_FIELDS = ("cid", "sid", "ioid", "subscriptionid", "pv", "name")


def caproto_code(cls):
    if cls in CAPROTO_CLASS_CODES:
        return CAPROTO_CLASS_CODES[cls]
    for suf in ("RequestOrResponse", "Request", "Response", ""):
        if suf and not cls.endswith(suf):
            continue
        base = cls[:len(cls) - len(suf)] if suf else cls
        if base in CAPROTO_CODES:
            return CAPROTO_CODES[base]
    return None


def caproto_dir(cls):
    if cls.endswith("RequestOrResponse"):
        return None
    if cls.endswith("Request"):
        return "request"
    if cls.endswith("Response"):
        return "response"
    return None

# ---------------------------------------------------------------- helpers


def ts_us(text):
    """Timestamp text (seconds with any number of decimals) -> integer
    microseconds, rounded half up."""
    d = Decimal(str(text))
    return int((d * 1000000).to_integral_value(rounding=decimal.ROUND_HALF_UP))


def to_int(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else None
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            try:
                d = Decimal(v)
                return int(d) if d == d.to_integral_value() else None
            except decimal.InvalidOperation:
                return None
    return None


def num(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, Decimal)):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, str):
        try:
            if v.lower().startswith("0x"):
                return Decimal(int(v, 16))
            return Decimal(v)
        except (decimal.InvalidOperation, ValueError):
            return None
    return None


def close(a, b):
    """Numeric equality, allowing for the references printing 15 or so
    significant digits."""
    if a is None or b is None:
        return False
    if a.is_nan() or b.is_nan():
        return a.is_nan() and b.is_nan()
    if a == b:
        return True
    if a.is_infinite() or b.is_infinite():
        return False
    tol = max(abs(a), abs(b)) * Decimal("1e-12")
    return abs(a - b) <= tol


def f32(d):
    """Round a Decimal to the nearest IEEE single (as Decimal)."""
    try:
        return Decimal(repr(struct.unpack("<f", struct.pack("<f", float(d)))[0]))
    except (OverflowError, ValueError):
        return d


def close_as(a, b, single=False, approx=None):
    if a is None or b is None:
        return False
    if single and a.is_finite() and b.is_finite():
        if f32(a) == f32(b):
            return True
    if approx is not None and a.is_finite() and b.is_finite():
        return abs(a - b) <= approx * max(Decimal(1), abs(a))
    return close(a, b)


def glob_match(value, pattern):
    """Only '*' (any run) and '?' (one character) are special; ',' separates
    alternatives."""
    for alt in pattern.split(","):
        rx = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch)
                     for ch in alt)
        if re.fullmatch(rx, value, re.S):
            return True
    return False


def show(v):
    if v is ABSENT:
        return "<absent>"
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "[" + ",".join(json.dumps(x) if isinstance(x, str) else show(x)
                              for x in v) + "]"
    if v is None:
        return "null"
    return str(v)


class _Absent:
    def __repr__(self):
        return "<absent>"


ABSENT = _Absent()

# ---------------------------------------------------------------- pcap


def read_frames(path):
    """Minimal pcap/pcapng reader: list of (frame number, ts_us, proto,
    src, sport, dst, dport) for IPv4 TCP/UDP frames (proto None for others).
    Used to name the frame of a caproto-shark message catrace did not
    report at all."""
    out = []
    try:
        data = open(path, "rb").read()
    except OSError:
        return out
    if len(data) < 24:
        return out
    magic = data[:4]
    frames = []  # (ts_us, linktype, bytes)
    if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4",
                 b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xd4, 0x4d) else ">"
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0fffffff
        off = 24
        while off + 16 <= len(data):
            sec, frac, incl, _orig = struct.unpack(e + "IIII", data[off:off + 16])
            off += 16
            pkt = data[off:off + incl]
            off += incl
            us = sec * 1000000 + ((frac + 500) // 1000 if nano else frac)
            frames.append((us, linktype, pkt))
    elif magic == b"\x0a\x0d\x0d\x0a":
        e = "<"
        ifaces = []
        off = 0
        while off + 12 <= len(data):
            btype = struct.unpack(e + "I", data[off:off + 4])[0]
            if btype == 0x0A0D0D0A:
                bom = data[off + 8:off + 12]
                e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
                ifaces = []
            btype, blen = struct.unpack(e + "II", data[off:off + 8])
            if blen < 12:
                break
            body = data[off + 8:off + blen - 4]
            if btype == 1:
                lt = struct.unpack(e + "H", body[:2])[0]
                tsres = 6
                o = 8
                while o + 4 <= len(body):
                    code, ln = struct.unpack(e + "HH", body[o:o + 4])
                    if code == 0:
                        break
                    if code == 9 and ln >= 1:
                        tsres = body[o + 4]
                    o += 4 + ((ln + 3) & ~3)
                ifaces.append((lt, tsres))
            elif btype in (6, 3):
                if btype == 6:
                    iid, hi, lo, incl = struct.unpack(e + "IIII", body[:16])
                    pkt = body[20:20 + incl]
                else:
                    iid, hi, lo = 0, 0, 0
                    pkt = body[4:]
                lt, tsres = ifaces[iid] if iid < len(ifaces) else (1, 6)
                t = (hi << 32) | lo
                if tsres & 0x80:
                    unit = 2 ** (tsres & 0x7f)
                else:
                    unit = 10 ** tsres
                us = (t * 1000000 + unit // 2) // unit
                frames.append((us, lt, pkt))
            off += blen
    for i, (us, lt, pkt) in enumerate(frames, 1):
        out.append((i, us) + _parse_l3(lt, pkt))
    return out


def _parse_l3(lt, pkt):
    none = (None, None, None, None, None)
    try:
        if lt == 1:  # Ethernet
            et = struct.unpack(">H", pkt[12:14])[0]
            o = 14
        elif lt == 113:  # Linux cooked
            et = struct.unpack(">H", pkt[14:16])[0]
            o = 16
        elif lt == 276:  # Linux cooked v2
            et = struct.unpack(">H", pkt[0:2])[0]
            o = 20
        elif lt == 0:  # BSD loopback
            o = 4
            et = 0x0800
        elif lt in (101, 228):  # raw IP
            o = 0
            et = 0x0800
        else:
            return none
        while et in (0x8100, 0x88a8):
            et = struct.unpack(">H", pkt[o + 2:o + 4])[0]
            o += 4
        if et != 0x0800:
            return none
        ihl = (pkt[o] & 15) * 4
        p = pkt[o + 9]
        src = ".".join(str(b) for b in pkt[o + 12:o + 16])
        dst = ".".join(str(b) for b in pkt[o + 16:o + 20])
        sport, dport = struct.unpack(">HH", pkt[o + ihl:o + ihl + 4])
        proto = {6: "tcp", 17: "udp"}.get(p)
        return (proto, src, sport, dst, dport)
    except (IndexError, struct.error):
        return none

# ---------------------------------------------------------------- references


class RefMsg:
    __slots__ = ("ref", "line", "frame", "us", "src", "sport", "dst",
                 "dport", "cmd", "cls", "fields", "raw", "proto", "match",
                 "diffs", "state", "covered_by")

    def __init__(self, ref, line):
        self.ref = ref
        self.line = line
        self.frame = None
        self.us = None
        self.fields = {}
        self.cls = None
        self.proto = None
        self.match = None
        self.diffs = []
        self.state = None
        self.covered_by = []

    def where(self):
        fr = "frame %s" % (self.frame if self.frame is not None else "?")
        s = "%s %s:%s->%s:%s cmd=%s" % (fr, self.src, self.sport, self.dst,
                                        self.dport, self.cmd)
        if self.cls:
            s += " " + self.cls
        ids = ["%s=%s" % (k, exp_show(self.fields[k]))
               for k in ID_FIELDS if k in self.fields]
        if ids:
            s += " (" + " ".join(ids) + ")"
        return s


def load_cashark(path):
    msgs = []
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            m = RefMsg("cashark", n)
            m.frame = int(parts[0])
            m.us = ts_us(parts[1])
            m.src, m.sport, m.dst, m.dport = (parts[2], int(parts[3]),
                                              parts[4], int(parts[5]))
            fields = {}
            for kv in parts[6:]:
                if "=" not in kv:
                    continue
                k, v = kv.split("=", 1)
                fields.setdefault(k, []).append(v)
            m.raw = fields
            m.cmd = int(fields["command"][0], 0)
            m.fields = cashark_fields(m.cmd, fields)
            msgs.append(m)
    return msgs


def cashark_fields(cmd, f):
    """cashark field values, as (catrace field name -> expected value)."""
    out = {}

    def one(k):
        return f[k][0] if k in f else None

    for ck, tk in (("size", "size"), ("count", "count"), ("p1", "p1"),
                   ("p2", "p2"), ("cid", "cid"), ("sid", "sid"),
                   ("ioid", "ioid"), ("sub", "subscriptionid"),
                   ("version", "version"), ("doreply", "reply"),
                   ("beacon", "beacon_id"), ("mask", "mask"),
                   ("data.precision", "precision")):
        if ck in f:
            out[tk] = to_int(one(ck))
    for ck in ("dtype", "type"):
        if ck in f:
            out["dtype"] = to_int(one(ck))
    if "pv" in f:
        out["pv"] = one("pv")
    if "str" in f:
        out["name"] = one("str")
    if "serv.port" in f:
        out["server_port" if cmd == 13 else "port"] = to_int(one("serv.port"))
    if "serv.ip" in f:
        out["address" if cmd == 13 else "ip"] = one("serv.ip")
    if "eca" in f:
        v = to_int(one("eca"))
        no = (v & 0xFFF8) >> 3
        out["status"] = ECA_NAMES[no] if no < len(ECA_NAMES) else "ECA_%d" % no
    if "rights" in f:
        v = to_int(one("rights"))
        names = [n for b, n in ((1, "READ"), (2, "WRITE")) if v & b]
        out["access_rights"] = "|".join(names) if names else "NONE"
    if "data.status" in f:
        v = to_int(one("data.status"))
        out["alarm"] = ALARM_NAMES[v] if v < len(ALARM_NAMES) else str(v)
    if "data.severity" in f:
        v = to_int(one("data.severity"))
        out["severity"] = SEVERITY_NAMES[v] if v < len(SEVERITY_NAMES) else str(v)
    if "data.timestamp.sec" in f and "data.timestamp.nsec" in f:
        sec = to_int(one("data.timestamp.sec"))
        nsec = to_int(one("data.timestamp.nsec"))
        out["stamp_unix"] = (Decimal(sec + EPICS_EPOCH)
                             + Decimal(nsec) / Decimal(1000000000))
    if "data.units" in f:
        out["units"] = one("data.units")
    for ck, tk in (("data.upper_disp_limit", "upper_disp_limit"),
                   ("data.lower_disp_limit", "lower_disp_limit"),
                   ("data.upper_alarm_limit", "upper_alarm_limit"),
                   ("data.upper_warning_limit", "upper_warning_limit"),
                   ("data.lower_warning_limit", "lower_warning_limit"),
                   ("data.lower_alarm_limit", "lower_alarm_limit"),
                   ("data.upper_ctr_limit", "upper_ctrl_limit"),
                   ("data.upper_ctrl_limit", "upper_ctrl_limit"),
                   ("data.lower_ctrl_limit", "lower_ctrl_limit")):
        if ck in f:
            out[tk] = ("num", one(ck))
    if "data.no_str" in f:
        ns = f["data.no_str"]
        n = to_int(ns[0]) or 0
        out["enum_strings"] = ("list", ns[1:1 + n])
    if "data.value" in f:
        out["value"] = ("prefix", f["data.value"])
    if "error" in f:
        out["error_message"] = one("error")
    for ck, tk in (("orig.command", "cmd"), ("orig.size", "size"),
                   ("orig.type", "dtype"), ("orig.count", "count"),
                   ("orig.p1", "p1"), ("orig.p2", "p2")):
        if ck in f:
            out["original_request." + tk] = to_int(one(ck))
    return out


CAPROTO_RE = re.compile(r"^(\S+) (\S+):(\d+)->(\S+):(\d+) (\w+)\((.*)\)\s*$")


def split_args(s):
    """Split a Python repr argument list at top-level commas."""
    out, depth, cur, q, i = [], 0, [], None, 0
    while i < len(s):
        c = s[i]
        if q:
            cur.append(c)
            if c == "\\" and i + 1 < len(s):
                cur.append(s[i + 1])
                i += 1
            elif c == q:
                q = None
        elif c in "'\"":
            q = c
            cur.append(c)
        elif c in "([{<":
            depth += 1
            cur.append(c)
        elif c in ")]}>":
            depth -= 1
            cur.append(c)
        elif c == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def py_value(v):
    """Decode the few kinds of Python repr caproto-shark prints that we
    compare: strings, numbers, enums (<X.Y: n>), CAStatusCode(name=...)."""
    v = v.strip()
    m = re.match(r"^<[\w.|]+: (-?\d+)>$", v)
    if m:
        return int(m.group(1))
    m = re.match(r"^CAStatusCode\(name='(\w+)'", v)
    if m:
        return m.group(1)
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return bytes(v[1:-1], "utf-8").decode("unicode_escape")
    if re.match(r"^-?\d+$", v):
        return int(v)
    if re.match(r"^-?\d+\.\d*(e[-+]?\d+)?$", v):
        return Decimal(v)
    return ("repr", v)


def caproto_data(v):
    """The `data` caproto-shark prints: numpy arrays (array([1., 2.]),
    array([0], dtype=uint16)) and lists of bytes ([b'a', b'b']); None for
    anything else (DBR structures, arrays numpy abbreviated with '...')."""
    v = v.strip()
    if "..." in v:
        return None
    m = re.match(r"^array\(\[(.*)\](?:,\s*dtype=\w+)?\)$", v, re.S)
    if m:
        items = [x for x in re.split(r"[,\s]+", m.group(1).strip()) if x]
        out = []
        for x in items:
            if x.endswith("."):
                x += "0"
            if num(x) is None:
                return None
            out.append(x)
        return ("approx", out)
    m = re.match(r"^\[(.*)\]$", v, re.S)
    if m:
        out = []
        for x in split_args(m.group(1)):
            mm = re.match(r"^b(['\"])(.*)\1$", x, re.S)
            if not mm:
                return None
            out.append(bytes(mm.group(2), "latin-1").decode("unicode_escape"))
        return ("prefix", out)
    return None


def load_caproto(path):
    if not os.path.exists(path):
        return None
    msgs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            mo = CAPROTO_RE.match(line)
            if not mo:
                sys.stderr.write("%s:%d: unparsed line\n" % (path, n))
                continue
            m = RefMsg("caproto-shark", n)
            m.us = ts_us(mo.group(1))
            m.src, m.sport = mo.group(2), int(mo.group(3))
            m.dst, m.dport = mo.group(4), int(mo.group(5))
            m.cls = mo.group(6)
            m.cmd = caproto_code(m.cls)
            args = {}
            for a in split_args(mo.group(7)):
                if "=" in a:
                    k, v = a.split("=", 1)
                    args[k.strip()] = v
            m.raw = args
            m.fields = caproto_fields(m.cls, m.cmd, args)
            msgs.append(m)
    return msgs


def caproto_fields(cls, cmd, a):
    out = {}
    d = caproto_dir(cls)
    if d:
        out["dir"] = d
    simple = {
        "cid": "cid", "sid": "sid", "ioid": "ioid",
        "subscriptionid": "subscriptionid", "version": "version",
        "reply": "reply", "port": "port", "ip": "ip",
        "server_port": "server_port", "beacon_id": "beacon_id",
        "address": "address", "priority": "priority",
        "repeater_address": "repeater_address",
        "client_address": "client_address", "mask": "mask",
        "data_type": "dtype", "data_count": "count",
    }
    for k, tk in simple.items():
        if k in a:
            out[tk] = py_value(a[k])
    if "name" in a:
        # SearchRequest / CreateChanRequest: the channel name, catrace's pv;
        # ClientName / HostName: catrace's name.
        out["pv" if cmd in (6, 18) else "name"] = py_value(a["name"])
    if "status" in a:
        out["status"] = py_value(a["status"])
    if "access_rights" in a:
        v = py_value(a["access_rights"])
        if isinstance(v, int):
            names = [n for b, n in ((1, "READ"), (2, "WRITE")) if v & b]
            out["access_rights"] = "|".join(names) if names else "NONE"
    for k in ("low", "high", "to"):
        if k in a:
            out[k] = ("num", a[k].strip())
    if "data" in a:
        d = caproto_data(a["data"])
        if d is not None:
            out["value"] = d
    return {k: v for k, v in out.items()
            if not (isinstance(v, tuple) and v[0] == "repr")}

# ---------------------------------------------------------------- catrace


def run_catrace(catrace, capture):
    p = subprocess.run([catrace, "-r", capture, "--json", "-q"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    msgs = []
    for n, line in enumerate(p.stdout.decode("utf-8", "replace").splitlines()):
        if not line.strip():
            continue
        try:
            d = json.loads(line, parse_float=Decimal)
        except ValueError as e:
            raise RuntimeError("catrace output line %d is not JSON: %s"
                               % (n + 1, e))
        d["_us"] = ts_us(d["ts"])
        d["_i"] = len(msgs)
        msgs.append(d)
    return p.returncode, p.stderr.decode("utf-8", "replace"), msgs


def catrace_value(c, key):
    if key.startswith("original_request."):
        o = c.get("original_request")
        if not isinstance(o, dict):
            return ABSENT
        return o.get(key.split(".", 1)[1], ABSENT)
    return c.get(key, ABSENT)


def is_float_dbr(c):
    """DBR_FLOAT, DBR_STS_FLOAT ... DBR_CTRL_FLOAT: values and limits are
    IEEE singles, which catrace prints with the fewest digits that identify
    the single; compare those as singles."""
    t = c.get("dtype") if c else None
    return isinstance(t, int) and 0 <= t <= 34 and t % 7 == 2


def compare_field(key, exp, got, c=None):
    """True if catrace's value `got` agrees with the reference's `exp`."""
    if got is ABSENT:
        return False
    single = is_float_dbr(c)
    if isinstance(exp, tuple):
        kind, val = exp
        if kind == "num":
            return close_as(num(val), num(got), single)
        if kind == "list":
            return isinstance(got, list) and list(val) == [str(x) for x in got]
        if kind in ("prefix", "approx"):
            # the reference prints the first elements only; caproto-shark
            # (numpy) prints 8 digits after the point
            approx = Decimal("1e-8") if kind == "approx" else None
            if isinstance(got, str):
                got = [got]
            if not isinstance(got, list) or len(got) < len(val):
                return False
            for r, g in zip(val, got):
                if isinstance(g, str) or isinstance(r, str) and num(r) is None:
                    if str(r) != str(g):
                        return False
                elif not close_as(num(r), num(g), single, approx):
                    return False
            return True
    if isinstance(exp, Decimal):
        return close(exp, num(got))
    if isinstance(exp, int) and not isinstance(exp, bool):
        if isinstance(got, str):
            return False
        return close(Decimal(exp), num(got))
    if exp is None:
        return got is None
    return exp == got


def exp_show(exp):
    if isinstance(exp, tuple):
        return show(list(exp[1]) if exp[0] in ("list", "prefix", "approx")
                    else exp[1])
    return show(exp)

# ---------------------------------------------------------------- known


class Known:
    """One line of the known-differences file:

        capture <TAB> reference <TAB> kind <TAB> match-spec <TAB> reason

    capture    capture name, '*' and '?' wildcards ("s0*", "*")
    reference  cashark | caproto-shark | *
    kind       missing  the reference's message is not in catrace's output
               field    a field of a matched message differs
    match-spec space-separated KEY=VALUE, all must hold ('*' alone: any):
               frame=N[-M][,...]  cmd=N[-M][,...]  sport=..  dport=..
                                  (numbers, ranges, comma lists)
               src=GLOB dst=GLOB  addresses
               class=GLOB         caproto-shark class (VersionRequest, ...)
               proto=udp|tcp      of the packet
               field=GLOB         the differing field (catrace's name);
                                  required for kind 'field'
               ref=GLOB           the reference's value, as printed
               catrace=GLOB       catrace's value, as printed (<absent>)
               r.NAME=GLOB        the reference's value of field NAME
                                  (catrace's field names: r.size=0)
               c.NAME=GLOB        catrace's value of field NAME in the
                                  matched message (c.dtype=25,32)
               rule=wrapN         the two values are the same N-bit
                                  (8, 16, 32) pattern read with different
                                  signedness, element by element
               GLOB: '*' and '?' wildcards, ',' separates alternatives
    reason     required, free text
    """
    KEYS = {"frame", "cmd", "class", "src", "sport", "dst", "dport",
            "proto", "field", "ref", "catrace", "rule"}
    RULES = {"wrap8": 8, "wrap16": 16, "wrap32": 32}

    def __init__(self, path, lineno, capture, ref, kind, spec, reason):
        self.path, self.lineno = path, lineno
        self.capture, self.ref, self.kind = capture, ref, kind
        self.reason = reason
        self.spec = {}
        self.hits = 0
        self.active = False
        if kind not in ("missing", "field"):
            raise ValueError("kind must be 'missing' or 'field'")
        if ref not in REFS + ("*",):
            raise ValueError("reference must be cashark, caproto-shark or *")
        if not reason.strip():
            raise ValueError("every entry needs a reason")
        for item in spec.split():
            if item == "*":
                continue
            if "=" not in item:
                raise ValueError("bad match-spec item %r" % item)
            k, v = item.split("=", 1)
            if k not in self.KEYS and not re.match(r"^[rc]\.[\w.]+$", k):
                raise ValueError("unknown match-spec key %r" % k)
            if k == "rule" and v not in self.RULES:
                raise ValueError("unknown rule %r" % v)
            if k in ("frame", "cmd", "sport", "dport"):
                if not re.match(r"^\d+(-\d+)?(,\d+(-\d+)?)*$", v):
                    raise ValueError("%s wants numbers or ranges" % k)
            self.spec[k] = v
        if kind == "field" and "field" not in self.spec:
            raise ValueError("a 'field' entry must name field=...")
        if kind == "missing" and any(
                k in self.spec for k in ("field", "ref", "catrace", "rule")) \
                or kind == "missing" and any(k.startswith("c.")
                                             for k in self.spec):
            raise ValueError("a 'missing' entry cannot test catrace's or a "
                             "field's values")

    def where(self):
        return "%s:%d" % (os.path.relpath(self.path), self.lineno)

    def text(self):
        return "%s\t%s\t%s\t%s" % (self.capture, self.ref, self.kind, " ".join(
            "%s=%s" % kv for kv in self.spec.items()) or "*")

    def applies_to(self, capture, ref):
        return (glob_match(capture, self.capture)
                and (self.ref == "*" or self.ref == ref))

    @staticmethod
    def _num_in(v, spec):
        if v is None:
            return False
        for part in spec.split(","):
            if "-" in part:
                lo, hi = part.split("-", 1)
                if int(lo) <= v <= int(hi):
                    return True
            elif int(part) == v:
                return True
        return False

    def _msg_ok(self, m, c):
        s = self.spec
        for k in ("frame", "cmd", "sport", "dport"):
            if k in s and not self._num_in(getattr(m, k), s[k]):
                return False
        for k in ("src", "dst", "class", "proto"):
            if k in s:
                v = m.cls if k == "class" else getattr(m, k)
                if v is None or not glob_match(v, s[k]):
                    return False
        for k, pat in s.items():
            if k.startswith("r."):
                name = k[2:]
                v = exp_show(m.fields[name]) if name in m.fields else \
                    show(ABSENT)
                if not glob_match(v, pat):
                    return False
            elif k.startswith("c."):
                if c is None or not glob_match(
                        show(catrace_value(c, k[2:])), pat):
                    return False
        return True

    def covers_missing(self, m, c=None):
        return self.kind == "missing" and self._msg_ok(m, c)

    def covers_field(self, m, c, key, exp, got):
        if self.kind != "field" or not self._msg_ok(m, c):
            return False
        s = self.spec
        if not glob_match(key, s["field"]):
            return False
        if "ref" in s and not glob_match(exp_show(exp), s["ref"]):
            return False
        if "catrace" in s and not glob_match(show(got), s["catrace"]):
            return False
        if "rule" in s:
            bits = self.RULES[s["rule"]]
            ev = exp[1] if isinstance(exp, tuple) else exp
            ev = ev if isinstance(ev, list) else [ev]
            gv = got if isinstance(got, list) else [got]
            if len(gv) < len(ev):
                return False
            for r, g in zip(ev, gv):
                r, g = to_int(r), to_int(g)
                if r is None or g is None:
                    return False
                for x in (r, g):
                    if not -2 ** (bits - 1) <= x < 2 ** bits:
                        return False
                if (r - g) % 2 ** bits:
                    return False
        return True


def load_known(path):
    entries = []
    errors = []
    if not path or not os.path.exists(path):
        return entries, errors
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 5:
                errors.append("%s:%d: expected 5 tab-separated columns, got %d"
                              % (path, n, len(parts)))
                continue
            try:
                entries.append(Known(path, n, *parts))
            except ValueError as e:
                errors.append("%s:%d: %s" % (path, n, e))
    return entries, errors

# ---------------------------------------------------------------- matching


def match_reference(refmsgs, ctmsgs, keyfn_ref, keyfn_ct, matched_flag):
    """Pair each reference message with a catrace message of the same
    packet (the key functions give the packet key) and command.  First pass:
    same ids (cid, sid, ioid, subscription id, name), in order; second pass:
    what is left, same command, in order (its fields are then reported as
    differing).  A reference message with no partner is missing."""
    groups = {}
    for c in ctmsgs:
        groups.setdefault(keyfn_ct(c), []).append(c)
    used = set()

    def ids_ok(m, c):
        for k in ID_FIELDS:
            if k in m.fields and not compare_field(k, m.fields[k],
                                                   catrace_value(c, k), c):
                return False
        return True

    for strict in (True, False):
        last = {}
        for m in refmsgs:
            key = keyfn_ref(m)
            if m.match is not None:
                last[key] = m.match["_i"]
                continue
            cands = [c for c in groups.get(key, ())
                     if c["_i"] not in used and c["cmd"] == m.cmd
                     and (not strict or ids_ok(m, c))]
            if not cands:
                continue
            pos = last.get(key, -1)
            best = next((c for c in cands if c["_i"] > pos), cands[0])
            used.add(best["_i"])
            last[key] = best["_i"]
            m.match = best
            best[matched_flag] = True


def check_capture(name, capture, refpaths, catrace, known, verbose,
                  max_details=MAX_DETAILS):
    rc, err, ct = run_catrace(catrace, capture)
    lines = []
    failures = []
    if rc != 0:
        failures.append("catrace exited with status %d: %s"
                        % (rc, err.strip()[-300:]))
    frames = None
    flow_proto = {}
    for c in ct:
        flow_proto[(c["src"], c["sport"], c["dst"], c["dport"])] = c["proto"]
    stats = {}
    for ref in REFS:
        path = refpaths.get(ref)
        msgs = None
        if path:
            msgs = load_cashark(path) if ref == "cashark" else load_caproto(path)
        if msgs is None:
            stats[ref] = None
            continue
        if ref == "cashark":
            match_reference(
                msgs, ct,
                lambda m: (m.frame, m.src, m.sport, m.dst, m.dport),
                lambda c: (c["frame"], c["src"], c["sport"], c["dst"],
                           c["dport"]),
                "_m_cashark")
        else:
            match_reference(
                msgs, ct,
                lambda m: (m.us, m.src, m.sport, m.dst, m.dport),
                lambda c: (c["_us"], c["src"], c["sport"], c["dst"],
                           c["dport"]),
                "_m_caproto")
        applicable = [k for k in known if k.applies_to(name, ref)]
        for k in applicable:
            k.active = True
        nmatched = nknown = 0
        for m in msgs:
            c = m.match
            if c is not None:
                if m.frame is None:
                    m.frame = c["frame"]
                m.proto = c["proto"]
            else:
                if m.frame is None:
                    if frames is None:
                        frames = {}
                        for fr in read_frames(capture):
                            frames.setdefault((fr[1],) + fr[3:], []).append(fr)
                    cand = frames.get((m.us, m.src, m.sport, m.dst, m.dport))
                    if cand:
                        m.frame = cand[0][0]
                        m.proto = cand[0][2]
                if m.proto is None:
                    m.proto = flow_proto.get((m.src, m.sport, m.dst, m.dport))
            problems = []  # (text, covering entries)
            if c is None:
                cov = [k for k in applicable if k.covers_missing(m, None)]
                others = [x for x in ct
                          if (x["frame"] == m.frame or x["_us"] == m.us)
                          and x["src"] == m.src and x["sport"] == m.sport
                          and x["dst"] == m.dst and x["dport"] == m.dport]
                txt = "missing in catrace"
                if others:
                    txt += " (catrace has cmd %s in that packet%s)" % (
                        ",".join(str(x["cmd"]) for x in others),
                        "" if all(x["_us"] == m.us for x in others)
                        else ", with another time stamp")
                else:
                    txt += " (catrace reports nothing for that packet)"
                problems.append((txt, cov))
            else:
                for key, exp in m.fields.items():
                    got = catrace_value(c, key)
                    if compare_field(key, exp, got, c):
                        continue
                    cov = [k for k in applicable
                           if k.covers_field(m, c, key, exp, got)]
                    problems.append(("%s: %s %s, catrace %s"
                                     % (key, ref, exp_show(exp), show(got)),
                                     cov))
            if not problems:
                nmatched += 1
                continue
            uncovered = [p for p in problems if not p[1]]
            for _t, cov in problems:
                for k in cov:
                    k.hits += 1
            if uncovered:
                for t, _cov in uncovered:
                    failures.append("%s %s: %s" % (ref, m.where(), t))
            else:
                nknown += 1
                if verbose:
                    for t, cov in problems:
                        lines.append("  known: %s %s: %s [%s]"
                                     % (ref, m.where(), t, cov[0].where()))
        stats[ref] = (len(msgs), nmatched, nknown)
    only = sum(1 for c in ct
               if not c.get("_m_cashark") and not c.get("_m_caproto"))

    def part(ref):
        s = stats.get(ref)
        if s is None:
            return "%s -" % ref
        return "%s %d (matched %d, known %d)" % ((ref,) + s)

    head = "%s: catrace %d, %s, %s, catrace only %d" % (
        name, len(ct), part("cashark"), part("caproto-shark"), only)
    if failures:
        head += "  FAILED (%d)" % len(failures)
    out = [head]
    for f in failures[:max_details]:
        out.append("  " + f)
    if len(failures) > max_details:
        out.append("  ... and %d more" % (len(failures) - max_details))
    if verbose:
        out.extend(lines)
        for c in ct:
            if not c.get("_m_cashark") and not c.get("_m_caproto"):
                out.append("  catrace only: frame %d %s:%s->%s:%s %s %s"
                           % (c["frame"], c["src"], c["sport"], c["dst"],
                              c["dport"], c["proto"], c["command"]))
    return not failures, out

# ---------------------------------------------------------------- main


def find_captures(root):
    """name -> (capture path, {ref: path})"""
    found = {}
    for d in (root, os.path.join(root, "external")):
        if not os.path.isdir(d):
            continue
        for p in sorted(os.listdir(d)):
            for ext in CAPTURE_EXTS:
                if p.endswith(ext):
                    name = p[:-len(ext)]
                    refs = {}
                    cs = os.path.join(d, name + ".cashark.tsv")
                    cp = os.path.join(d, name + ".caproto-shark.txt")
                    if os.path.exists(cs):
                        refs["cashark"] = cs
                    if os.path.exists(cp):
                        refs["caproto-shark"] = cp
                    if refs and name not in found:
                        found[name] = (os.path.join(d, p), refs)
                    break
    return found


def main():
    ap = argparse.ArgumentParser(
        description="Compare catrace with the cashark and caproto-shark "
                    "reference decodes of the reference captures.")
    ap.add_argument("--catrace", default=DEFAULT_CATRACE)
    ap.add_argument("--captures", default=DEFAULT_CAPTURES)
    ap.add_argument("--known", default=DEFAULT_KNOWN)
    ap.add_argument("--strict", action="store_true",
                    help="stale known-difference entries are failures")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also list known differences and catrace-only "
                         "messages")
    ap.add_argument("--max-details", type=int, default=MAX_DETAILS,
                    metavar="N", help="failure details to print per capture "
                    "(default %(default)s)")
    ap.add_argument("names", nargs="*", metavar="NAME")
    args = ap.parse_args()

    caps = find_captures(args.captures)
    if args.names:
        sel = []
        for n in args.names:
            base = os.path.basename(n)
            for ext in CAPTURE_EXTS:
                if base.endswith(ext):
                    base = base[:-len(ext)]
            if base not in caps:
                sys.stderr.write("refcheck: no capture with reference files "
                                 "named %r\n" % n)
                return 2
            sel.append(base)
    else:
        sel = sorted(caps, key=lambda n: (caps[n][0].count(os.sep), n))
    if not sel:
        sys.stderr.write("refcheck: no captures with reference files in %s\n"
                         % args.captures)
        return 2
    if not os.access(args.catrace, os.X_OK):
        sys.stderr.write("refcheck: %s is not executable (run make)\n"
                         % args.catrace)
        return 2
    known, errors = load_known(args.known)
    for e in errors:
        print("known-differences: " + e)

    npass = nfail = 0
    for name in sel:
        capture, refs = caps[name]
        try:
            ok, out = check_capture(name, capture, refs, args.catrace, known,
                                    args.verbose, args.max_details)
        except RuntimeError as e:
            ok, out = False, ["%s: FAILED: %s" % (name, e)]
        print("\n".join(out))
        sys.stdout.flush()
        if ok:
            npass += 1
        else:
            nfail += 1

    # With NAME arguments, an entry is stale only if it names one of them.
    stale = [k for k in known if k.active and k.hits == 0
             and (not args.names or k.capture in sel)]
    for k in stale:
        print("%s: %s entry covers nothing: %s"
              % (k.where(), "stale" if not args.strict else "FAILED: stale",
                 k.text()))
    print("%d passed, %d failed" % (npass, nfail))
    if nfail or errors or (args.strict and stale):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
