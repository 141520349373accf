#!/usr/bin/env python3
"""A CA client that says what it is told to, for the write audit test:
libca will not send a write to a channel it has no write access to, so
this one does, to see the IOC refuse it.

Usage: ca_raw_client.py HOST PV VALUE [--user U] [--host-name H]
Opens a circuit (VERSION, CLIENT_NAME, HOST_NAME, CREATE_CHAN), prints the
access rights the IOC grants, sends WRITE_NOTIFY then WRITE of VALUE as a
DBR_DOUBLE, and prints what the IOC answers:
    rights=1
    write_notify status=376
    write error status=376
Exit 0 when every answer came, 1 otherwise."""
import argparse
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ca_wire import (ACCESS_RIGHTS, CLIENT_NAME, CREATE_CHAN, DBR_DOUBLE, ERROR,  # noqa: E402
                     HOST_NAME, MINOR, VERSION, WRITE, WRITE_NOTIFY, msg, name, next_msg)


def wait_for(sock, cmd):
    while True:
        m = next_msg(sock)
        if m[0] == cmd or (m[0] == ERROR and cmd != ERROR):
            return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("pv")
    ap.add_argument("value", type=float)
    ap.add_argument("--user", default="mallory")
    ap.add_argument("--host-name", default="evilhost")
    a = ap.parse_args()
    sock = socket.create_connection((a.host, 5064), timeout=5)
    cid = 1
    sock.sendall(msg(VERSION, count=MINOR) + msg(CLIENT_NAME, name(a.user)) +
                 msg(HOST_NAME, name(a.host_name)) +
                 msg(CREATE_CHAN, name(a.pv), p1=cid, p2=MINOR))
    rights = None
    sid = None
    while sid is None:
        cmd, _, _, p1, p2, _ = next_msg(sock)
        if cmd == ACCESS_RIGHTS:
            rights = p2
        elif cmd == CREATE_CHAN:
            sid = p2
        elif cmd == ERROR or cmd == 26:  # CREATE_CH_FAIL
            print("channel refused", file=sys.stderr)
            return 1
    print("rights=%s" % rights)
    value = struct.pack("!d", a.value)
    sock.sendall(msg(WRITE_NOTIFY, value, DBR_DOUBLE, 1, sid, 1))
    cmd, _, _, p1, p2, _ = wait_for(sock, WRITE_NOTIFY)
    print("write_notify status=%d" % (p1 if cmd == WRITE_NOTIFY else p2))
    sock.sendall(msg(WRITE, value, DBR_DOUBLE, 1, sid, 2))
    cmd, _, _, p1, p2, _ = wait_for(sock, ERROR)
    print("write error status=%d" % p2)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
