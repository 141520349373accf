#!/usr/bin/env python3
"""A CA client that sends the requests libca's tools never send, so the
recorded captures hold RSRV's answers to them (tests/captures/record.sh).

Usage: ca_probe.py IOC_ADDR [--port 5064]

Over one circuit: a SEARCH sent over TCP (a name the IOC has, one it has
not), CREATE_CHAN of a missing name, the obsolete READ, READ_NOTIFY of
several DBR types and of count 0, WRITE and WRITE_NOTIFY without write
access, READ, READ_NOTIFY and EVENT_ADD without read access, EVENTS_OFF
and EVENTS_ON around a 10 Hz subscription, READ_SYNC, ECHO, EVENT_CANCEL,
CLEAR_CHANNEL, a CREATE_CHAN sent as two segments. Then a READ with DBR
type 99 (the IOC answers ERROR and drops the circuit) and, on a second
circuit, command 0x30 (likewise).

Prints one line per step and what came back; exit 0 when every answer the
protocol promises came, 1 otherwise."""
import argparse
import socket
import os
import struct
import sys
import time

# The message builders of the write-audit test's raw client.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "netns"))
from ca_raw_client import msg, name  # noqa: E402

VERSION, EVENT_ADD, EVENT_CANCEL, READ, WRITE, SEARCH = 0, 1, 2, 3, 4, 6
EVENTS_OFF, EVENTS_ON, READ_SYNC, ERROR, CLEAR_CHANNEL = 8, 9, 10, 11, 12
NOT_FOUND, READ_NOTIFY, CREATE_CHAN, WRITE_NOTIFY = 14, 15, 18, 19
CLIENT_NAME, HOST_NAME, ACCESS_RIGHTS, ECHO, CREATE_CH_FAIL = 20, 21, 22, 23, 26
DO_REPLY = 10  # NOT_FOUND wanted (libca's UDP searches say 5: no reply)
MINOR = 13
DBR_STRING, DBR_INT, DBR_FLOAT, DBR_ENUM, DBR_CHAR, DBR_LONG, DBR_DOUBLE = range(7)
DBR_TIME_DOUBLE, DBR_CTRL_DOUBLE, DBR_GR_LONG, DBR_STS_STRING = 20, 34, 26, 7


class Circuit:
    """One TCP circuit: send messages, wait for the ones expected."""

    def __init__(self, addr, port):
        self.sock = socket.create_connection((addr, port), timeout=3)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.cid = 100
        self.closed = False

    def send(self, *msgs):
        self.sock.sendall(b"".join(msgs))

    def _read_more(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        if not chunk:
            self.closed = True
            return False
        self.buf += chunk
        return True

    def next(self, timeout=2.0):
        """The next message (cmd, dtype, count, p1, p2, payload) or None."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 16:
                cmd, size, dtype, count, p1, p2 = struct.unpack("!HHHHII", self.buf[:16])
                if len(self.buf) >= 16 + size:
                    payload = self.buf[16:16 + size]
                    self.buf = self.buf[16 + size:]
                    return cmd, dtype, count, p1, p2, payload
            if self.closed or time.monotonic() >= deadline or not self._read_more(deadline):
                return None

    def expect(self, *cmds, timeout=2.0):
        """Messages until one whose command is in cmds; that one or None."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.next(max(0.0, deadline - time.monotonic()))
            if m is None or m[0] in cmds:
                return m

    def drain(self, seconds):
        got = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            m = self.next(max(0.0, deadline - time.monotonic()))
            if m is None:
                break
            got.append(m)
        return got

    def hello(self, user="probe", host="probe-host"):
        self.send(msg(VERSION, dtype=0, count=MINOR),
                  msg(CLIENT_NAME, name(user)), msg(HOST_NAME, name(host)))

    def create(self, pv):
        """(sid, rights) of a new channel, or None when the IOC refuses."""
        self.cid += 1
        self.send(msg(CREATE_CHAN, name(pv), p1=self.cid, p2=MINOR))
        rights = None
        while True:
            m = self.expect(CREATE_CHAN, CREATE_CH_FAIL, ACCESS_RIGHTS)
            if m is None or m[0] == CREATE_CH_FAIL:
                return None
            if m[0] == ACCESS_RIGHTS:
                rights = m[4]
                continue
            return m[4], rights


class Probe:
    def __init__(self, addr, port):
        self.addr, self.port, self.ok = addr, port, True

    def step(self, what, good):
        print("%-44s %s" % (what, "ok" if good else "MISSING"))
        self.ok = self.ok and bool(good)

    def main_circuit(self):
        c = Circuit(self.addr, self.port)
        c.hello()
        c.send(msg(SEARCH, name("T:ai"), dtype=DO_REPLY, count=MINOR, p1=1, p2=1))
        self.step("tcp search T:ai", c.expect(SEARCH))
        c.send(msg(SEARCH, name("NO:SUCH:NAME"), dtype=DO_REPLY, count=MINOR, p1=2, p2=2))
        self.step("tcp search missing (NOT_FOUND)", c.expect(NOT_FOUND))
        self.step("create missing (CREATE_CH_FAIL)", c.create("NO:SUCH:CHANNEL") is None)

        ai = c.create("T:ai")
        self.step("create T:ai", ai)
        if not ai:
            return
        sid = ai[0]
        c.send(msg(READ, dtype=DBR_DOUBLE, count=1, p1=sid, p2=1))
        self.step("obsolete READ", c.expect(READ))
        for i, dt in enumerate((DBR_STRING, DBR_INT, DBR_FLOAT, DBR_ENUM, DBR_CHAR,
                                DBR_LONG, DBR_TIME_DOUBLE, DBR_CTRL_DOUBLE,
                                DBR_GR_LONG, DBR_STS_STRING)):
            c.send(msg(READ_NOTIFY, dtype=dt, count=1, p1=sid, p2=10 + i))
            self.step("read_notify dbr %d" % dt, c.expect(READ_NOTIFY))
        c.send(msg(READ_NOTIFY, dtype=DBR_DOUBLE, count=0, p1=sid, p2=30))
        self.step("read_notify count 0", c.expect(READ_NOTIFY))

        ro = c.create("T:ro")
        self.step("create T:ro (read only)", ro)
        if ro:
            val = struct.pack("!d", 1.0)
            c.send(msg(WRITE_NOTIFY, val, dtype=DBR_DOUBLE, count=1, p1=ro[0], p2=40))
            self.step("write_notify without access", c.expect(WRITE_NOTIFY))
            c.send(msg(WRITE, val, dtype=DBR_DOUBLE, count=1, p1=ro[0], p2=41))
            self.step("write without access (ERROR)", c.expect(ERROR))
        na = c.create("T:noaccess")
        self.step("create T:noaccess", na)
        if na:
            c.send(msg(READ, dtype=DBR_DOUBLE, count=1, p1=na[0], p2=50))
            c.send(msg(READ_NOTIFY, dtype=DBR_DOUBLE, count=1, p1=na[0], p2=51))
            self.step("read_notify without access", c.expect(READ_NOTIFY, ERROR))
            c.send(msg(EVENT_ADD, struct.pack("!fffH", 0, 0, 0, 5), dtype=DBR_DOUBLE,
                       count=1, p1=na[0], p2=52))
            c.drain(0.3)

        calc = c.create("T:calc")
        self.step("create T:calc", calc)
        if calc:
            c.send(msg(EVENT_ADD, struct.pack("!fffH", 0, 0, 0, 5), dtype=DBR_TIME_DOUBLE,
                       count=1, p1=calc[0], p2=60))
            self.step("event_add T:calc", c.expect(EVENT_ADD))
            c.drain(0.35)
            c.send(msg(EVENTS_OFF))
            c.drain(0.5)
            c.send(msg(EVENTS_ON))
            self.step("updates again after EVENTS_ON", c.expect(EVENT_ADD))
            c.send(msg(READ_SYNC))
            c.send(msg(ECHO))
            self.step("echo", c.expect(ECHO))
            c.send(msg(EVENT_CANCEL, dtype=DBR_TIME_DOUBLE, count=1, p1=calc[0], p2=60))
            self.step("event_cancel (final EVENT_ADD)", c.expect(EVENT_ADD))
            c.send(msg(CLEAR_CHANNEL, p1=calc[0], p2=c.cid))
            self.step("clear_channel", c.expect(CLEAR_CHANNEL))

        # A CREATE_CHAN split over two segments: its first 10 bytes, then
        # the rest (TCP_NODELAY and a pause keep them apart on the wire).
        c.cid += 1
        split = msg(CREATE_CHAN, name("T:str"), p1=c.cid, p2=MINOR)
        c.send(split[:10])
        time.sleep(0.2)
        c.send(split[10:])
        self.step("create split over two segments", c.expect(CREATE_CHAN))

        c.send(msg(READ, dtype=99, count=1, p1=sid, p2=70))
        self.step("read dbr 99 (ERROR)", c.expect(ERROR))
        c.drain(0.3)
        c.sock.close()

    def bad_command_circuit(self):
        c = Circuit(self.addr, self.port)
        c.hello()
        ai = c.create("T:ai")
        self.step("second circuit: create T:ai", ai)
        c.send(msg(0x30, dtype=0, count=0, p1=0, p2=0))
        self.step("command 0x30 (ERROR)", c.expect(ERROR))
        c.drain(0.3)
        c.sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("addr")
    ap.add_argument("--port", type=int, default=5064)
    a = ap.parse_args()
    p = Probe(a.addr, a.port)
    p.main_circuit()
    p.bad_command_circuit()
    return 0 if p.ok else 1


if __name__ == "__main__":
    sys.exit(main())
