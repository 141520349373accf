"""CA and IPv4 wire helpers shared by the test's hand-made clients and
frames (ca_raw_client.py, ca_decoy.py, send_frames.py)."""
import struct

VERSION, WRITE, ERROR, READ_NOTIFY, CREATE_CHAN, WRITE_NOTIFY = 0, 4, 11, 15, 18, 19
CLIENT_NAME, HOST_NAME, ACCESS_RIGHTS = 20, 21, 22
DBR_DOUBLE = 6
MINOR = 13


def pad8(b):
    return b + b"\0" * (-len(b) % 8)


def msg(cmd, payload=b"", dtype=0, count=0, p1=0, p2=0):
    """One CA message, its payload padded to 8 bytes."""
    payload = pad8(payload)
    return struct.pack("!HHHHII", cmd, len(payload), dtype, count, p1, p2) + payload


def name(s):
    return pad8(s.encode() + b"\0")


def recv_exact(sock, n):
    b = b""
    while len(b) < n:
        chunk = sock.recv(n - len(b))
        if not chunk:
            raise EOFError("the IOC closed the circuit")
        b += chunk
    return b


def next_msg(sock):
    """(cmd, dtype, count, p1, p2, payload) of the next message."""
    cmd, size, dtype, count, p1, p2 = struct.unpack("!HHHHII", recv_exact(sock, 16))
    return cmd, dtype, count, p1, p2, recv_exact(sock, size)


def csum(b):
    """RFC 1071: the one's complement of the one's complement sum."""
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
