#!/usr/bin/env python3
"""Hostile HTTP clients for catrace's /metrics endpoint (test_metrics_slow.sh).

  slow_http.py trickle HOST PORT COUNT SECONDS INTERVAL [SRC_ADDR]
      COUNT connections that each send a request line, then one header
      line every INTERVAL seconds, never the blank line that ends the
      head; a connection the server closes is opened again, until SECONDS
      have passed.  Prints how many connections were opened, how many the
      server closed, and the longest life of a closed one (seconds from
      connect to the server's FIN or RST): a whole-request deadline keeps
      it short, an inactivity timeout does not (each byte resets it).
  slow_http.py noread HOST PORT COUNT SECONDS [SRC_ADDR]
      COUNT connections that send a whole GET /metrics and never read the
      answer; opened again when closed, until SECONDS have passed.
  slow_http.py post HOST PORT MIB
      One POST /metrics with a MIB MiB body sent at once (no Expect:
      100-continue, as a careless client would), reading while it sends.
      Prints the status code and the seconds until the status line came.

Bounded in count (at most 64 connections) and time (at most 60 s).
"""
import select
import socket
import sys
import time

MAX_CONNS = 64
MAX_SECONDS = 60.0


def connect(host, port, src, rcvbuf=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:  # before connect: the window the server sees
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if src:
        s.bind((src, 0))
    s.settimeout(1.0)
    s.connect((host, port))
    s.setblocking(False)
    return s


def closed_by_peer(s, reads):
    """True when the server closed (FIN, RST).  A client that reads drops
    what it reads; one that does not only looks for the hang-up."""
    if not reads:
        p = select.poll()
        p.register(s, select.POLLRDHUP)
        return bool(p.poll(0))
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def hold(host, port, count, seconds, src, first, step, interval, reads=True):
    """Keep COUNT connections open for SECONDS: `first` bytes on connect,
    `step` bytes every `interval` s (None: nothing more); `reads`: whether
    the client reads what comes (else a tiny receive buffer, never read)."""
    count = min(count, MAX_CONNS)
    end = time.monotonic() + min(seconds, MAX_SECONDS)
    conns = {}  # socket -> (opened at, next send at)
    opened = closed = refused = 0
    longest = 0.0
    while time.monotonic() < end:
        now = time.monotonic()
        while len(conns) < count and now < end:
            try:
                s = connect(host, port, src, 0 if reads else 1024)
                s.send(first)
            except OSError:
                refused += 1
                time.sleep(0.05)
                break
            opened += 1
            conns[s] = (now, now + interval)
        time.sleep(0.05)
        now = time.monotonic()
        for s in list(conns):
            if closed_by_peer(s, reads):
                longest = max(longest, now - conns[s][0])
                closed += 1
                del conns[s]
                s.close()
        for s, (t0, due) in list(conns.items()):
            if step is not None and now >= due:
                try:
                    s.send(step)
                    conns[s] = (t0, now + interval)
                except OSError:
                    longest = max(longest, now - t0)
                    closed += 1
                    del conns[s]
                    s.close()
    for s in conns:
        s.close()
    print("opened %d closed-by-server %d refused %d longest-closed %.2f"
          % (opened, closed, refused, longest))


def post(host, port, mib):
    s = connect(host, port, None)
    body = b"x" * (mib << 20)
    head = ("POST /metrics HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\n"
            "Content-Length: %d\r\n\r\n" % (host, len(body))).encode()
    out = memoryview(head + body)
    got = b""
    t0 = time.monotonic()
    end = t0 + 10.0
    while b"\r\n" not in got and time.monotonic() < end:
        r, w, _ = select.select([s], [s] if out else [], [], 0.05)
        if w:
            try:
                out = out[s.send(out[:262144]):]
            except OSError:
                out = out[:0]  # refused: what matters is the answer
        if r:
            try:
                b = s.recv(4096)
            except OSError:
                break
            if not b:
                break
            got += b
    took = time.monotonic() - t0
    line = got.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = line.split()
    code = parts[1] if len(parts) > 1 else "none"
    print("%s %.3f" % (code, took))


def main(argv):
    mode = argv[1]
    host, port = argv[2], int(argv[3])
    if mode == "trickle":
        count, seconds, interval = int(argv[4]), float(argv[5]), float(argv[6])
        src = argv[7] if len(argv) > 7 else None
        hold(host, port, count, seconds, src,
             b"GET /metrics HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n", interval)
    elif mode == "noread":
        count, seconds = int(argv[4]), float(argv[5])
        src = argv[6] if len(argv) > 6 else None
        hold(host, port, count, seconds, src,
             b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", None, 1.0, reads=False)
    elif mode == "post":
        post(host, port, int(argv[4]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
