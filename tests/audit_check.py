#!/usr/bin/env python3
"""The write audit against the full decode, on every shared capture.

For each capture, `catrace --json` (every message) is turned into the
audit records it implies, independently of user/audit.c: per circuit, the
last CLIENT_NAME and HOST_NAME the client sent; then, in order, every
WRITE and WRITE_NOTIFY request, WRITE_NOTIFY reply, ACCESS_RIGHTS, and
ERROR about a WRITE or WRITE_NOTIFY, with that circuit's names, PV, value,
status and rights.  `catrace --writes --json` must print exactly those.
Captures with no write traffic count too: the audit must then be empty.

Usage: audit_check.py --catrace PATH --captures DIR
Prints PASS:/FAIL:/SKIP: lines; exit 1 on any failure."""
import argparse
import glob
import json
import os
import subprocess
import sys

NAME_MAX = 64  # TRACK_CLIENT_NAME_MAX
# Keys of every message (where and what), not of what was written.
HEADER_KEYS = {"ts", "frame", "src", "sport", "dst", "dport", "proto", "cmd", "command",
               "dir", "size", "dtype", "count", "p1", "p2", "pv", "extended", "sid",
               # readings of the value the full decode adds (the audit shows
               # the value itself): text of a CHAR array, enum state names
               "data_text", "data_names"}


def run(catrace, cap, *opts):
    out = subprocess.run([catrace, "-q", "-r", cap, *opts], check=True,
                         stdout=subprocess.PIPE).stdout
    return [json.loads(line) for line in out.decode().splitlines()]


def circuit(m):
    if m["dir"] == "request":
        return (m["src"], m["sport"], m["dst"], m["dport"])
    return (m["dst"], m["dport"], m["src"], m["sport"])


def expected(messages):
    names = {}
    out = []
    for m in messages:
        if m["proto"] != "tcp":
            continue
        key = circuit(m)
        cmd = m["command"]
        if cmd in ("ClientNameRequest", "HostNameRequest"):
            field = "user" if cmd == "ClientNameRequest" else "host"
            names.setdefault(key, {})[field] = m.get("name", "")[:NAME_MAX]
            continue
        if cmd in ("WriteRequest", "WriteNotifyRequest"):
            # The value with whatever metadata its DBR type carries.
            rec = {k: v for k, v in m.items() if k not in HEADER_KEYS}
        elif cmd == "WriteNotifyResponse":
            rec = {"status": m["status"], "ioid": m["ioid"]}
        elif cmd == "AccessRightsResponse":
            rec = {"rights": m["access_rights"]}
        elif cmd == "ErrorResponse" and m.get("original_request", {}).get("cmd") in (4, 19):
            orig = m["original_request"]
            rec = {"request": orig.get("command", orig["cmd"]), "status": m["status"],
                   "ioid": orig["p2"]}
            if "error_message" in m:
                rec["message"] = m["error_message"]
        else:
            continue
        who = names.get(key, {})
        rec.update({"ts": m["ts"], "frame": m["frame"], "client": key[0],
                    "client_port": key[1], "server": key[2], "server_port": key[3],
                    "command": cmd, "user": who.get("user"), "host": who.get("host"),
                    "pv": m["pv"]})
        out.append(rec)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--catrace", required=True)
    ap.add_argument("--captures", required=True)
    a = ap.parse_args()
    caps = sorted(glob.glob(os.path.join(a.captures, "*.pcap")) +
                  glob.glob(os.path.join(a.captures, "external", "*.pcap*")) +
                  glob.glob(os.path.join(a.captures, "external", "*.cap")))
    if not caps:
        print("FAIL: audit check: no captures in %s" % a.captures)
        return 1
    fails = 0
    total = 0
    for cap in caps:
        name = os.path.relpath(cap, a.captures)
        want = expected(run(a.catrace, cap, "--json"))
        got = run(a.catrace, cap, "--writes", "--json")
        total += len(got)
        if got == want:
            print("PASS: audit %s (%d records)" % (name, len(got)))
            continue
        fails += 1
        print("FAIL: audit %s: %d records, the full decode implies %d" % (name, len(got), len(want)))
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                print("  first difference at record %d:\n    audit:  %s\n    decode: %s" %
                      (i, json.dumps(g, sort_keys=True), json.dumps(w, sort_keys=True)))
                break
    if total == 0:
        print("FAIL: audit: no capture had any write traffic; the check proves nothing")
        fails += 1
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
