#!/usr/bin/env python3
"""A burst of short CA circuits, for the process attribution test: each
opens a TCP connection to the server, sends a VERSION message, waits for
the server's, and resets the connection (SO_LINGER 0: no TIME_WAIT, so
thousands of circuits do not exhaust the client's ports).

Usage: ca_burst.py HOST PORT COUNT SECONDS
Stops after COUNT circuits or SECONDS, whichever comes first; prints how
many circuits got the server's answer."""
import socket
import struct
import sys
import time

from ca_raw_client import MINOR, VERSION, msg


def one_circuit(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.settimeout(1.0)
    try:
        s.connect((host, port))
        s.sendall(msg(VERSION, count=MINOR, dtype=1))
        return len(s.recv(16)) == 16
    except OSError:
        return False
    finally:
        s.close()


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    count, seconds = int(sys.argv[3]), float(sys.argv[4])
    deadline = time.monotonic() + seconds
    answered = 0
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        answered += one_circuit(host, port)
    print(answered)


if __name__ == "__main__":
    main()
