"""catrace: EPICS Channel Access messages from captures and live interfaces.

ctypes over libcatrace (include/catrace.h): the decoder of the catrace
program, so a message here is the one `catrace -r FILE --json` prints.

    import catrace
    for m in catrace.read("ioc.pcap", pv="LINAC:*", cmd="EventAdd"):
        print(m.ts, m.pv, m.command, m.to_dict().get("value"))

    with catrace.live(["eth0"], count=100) as msgs:   # root: attaches BPF
        for m in msgs:
            ...

Attributes are the keys of the JSON line (ts, frame, src, sport, dst,
dport, proto, cmd, command, dir, size, dtype, count, p1, p2, pv, and the
decoded fields: value, cid, status...); a field the message does not have
raises AttributeError.  Also: ts_ns (exact), raw (the message's bytes),
json (the line's text).

The library is found through CATRACE_LIB (a path), then beside this
package in a source tree (.output/), then the system's libcatrace.so.0.
"""
import ctypes
import io
import json as _json
import os
import re
import struct
import time

__all__ = ["read", "live", "Message", "Error", "to_dataframe", "lib_version"]

ERRBUF_SIZE = 512
_CLOSED = -2


class Error(Exception):
    """A libcatrace error (its one-line reason)."""


class _Msg(ctypes.Structure):
    # struct catrace_msg, field for field (include/catrace.h).
    _fields_ = [
        ("ts_ns", ctypes.c_uint64),
        ("frame", ctypes.c_uint64),
        ("src_ip", ctypes.c_uint32),
        ("dst_ip", ctypes.c_uint32),
        ("src", ctypes.c_char_p),
        ("dst", ctypes.c_char_p),
        ("sport", ctypes.c_uint16),
        ("dport", ctypes.c_uint16),
        ("tcp", ctypes.c_int),
        ("dir", ctypes.c_int),
        ("cmd", ctypes.c_uint16),
        ("dtype", ctypes.c_uint16),
        ("size", ctypes.c_uint32),
        ("count", ctypes.c_uint32),
        ("p1", ctypes.c_uint32),
        ("p2", ctypes.c_uint32),
        ("hdr_len", ctypes.c_uint8),
        ("command", ctypes.c_char_p),
        ("pv", ctypes.c_char_p),
        ("flags", ctypes.c_uint),
        ("problem", ctypes.c_char_p),
        ("json", ctypes.c_void_p),
        ("json_len", ctypes.c_size_t),
        ("raw", ctypes.c_void_p),
        ("raw_len", ctypes.c_size_t),
    ]


def _candidates():
    env = os.environ.get("CATRACE_LIB")
    if env:
        yield env
    try:  # written by make install: the library installed with us
        from . import _where
        yield _where.LIB
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "..", "..", ".output", "libcatrace.so.0")
    yield "libcatrace.so.0"
    import ctypes.util  # slow to import: the last resort only
    found = ctypes.util.find_library("catrace")
    if found:
        yield found


def _load():
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            continue
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as e:
            errors.append(str(e))
    else:
        raise ImportError("libcatrace not found (set CATRACE_LIB): " + "; ".join(errors))
    h = ctypes.c_void_p
    pmsg = ctypes.POINTER(_Msg)
    sig = {
        "catrace_open_offline": (h, [ctypes.c_char_p, ctypes.c_char_p]),
        "catrace_fopen_offline": (h, [ctypes.c_void_p, ctypes.c_char_p]),
        "catrace_open_live": (h, [ctypes.POINTER(ctypes.c_char_p), ctypes.c_uint,
                                  ctypes.c_char_p]),
        "catrace_set_pv": (ctypes.c_int, [h, ctypes.c_char_p]),
        "catrace_set_cmd": (ctypes.c_int, [h, ctypes.c_char_p]),
        "catrace_set_filter": (ctypes.c_int, [h, ctypes.c_char_p]),
        "catrace_set_max_elements": (ctypes.c_int, [h, ctypes.c_size_t]),
        "catrace_add_port": (ctypes.c_int, [h, ctypes.c_uint]),
        "catrace_set_timeout": (ctypes.c_int, [h, ctypes.c_int]),
        "catrace_next": (ctypes.c_int, [h, ctypes.POINTER(pmsg)]),
        "catrace_next_packed": (ctypes.c_int, [h, ctypes.POINTER(ctypes.c_void_p),
                                               ctypes.POINTER(ctypes.c_void_p),
                                               ctypes.POINTER(ctypes.c_size_t), ctypes.c_uint]),
        "catrace_geterr": (ctypes.c_char_p, [h]),
        "catrace_close": (None, [h]),
        "catrace_free": (None, [h]),
        "catrace_lib_version": (ctypes.c_char_p, []),
    }
    for name, (res, args) in sig.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args
    return lib


_lib = _load()
_libc = ctypes.CDLL(None)
_libc.fdopen.restype = ctypes.c_void_p
_libc.fdopen.argtypes = [ctypes.c_int, ctypes.c_char_p]


def lib_version():
    return _lib.catrace_lib_version().decode()


# struct catrace_packed (include/catrace.h): messages come from the
# library in batches, one buffer a call (a ctypes call per message would
# cost more than decoding it): a Message keeps its header (unpacked) and
# the batch's data; nothing is decoded until asked for.
_PACKED = struct.Struct("=QQIIHHHHIIIIIIIHBBBB2xI")
_NO_PV = 0xffff
# Printable ASCII that JSON writes as it is (no space, quote, backslash).
_PLAIN_NAME = re.compile(rb'[\x21\x23-\x5b\x5d-\x7e]*\Z')
_BATCH = 256
(_TS_NS, _FRAME, _SRC, _DST, _SPORT, _DPORT, _CMD, _DTYPE, _SIZE, _COUNT, _P1, _P2,
 _FLAGS, _JSON_LEN, _RAW_LEN, _PV_LEN, _TCP, _DIR, _HDR_LEN, _CMD_LEN, _OFF) = range(21)


def _ip(v):
    return "%d.%d.%d.%d" % (v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255)


# The --json keys a Message answers from the packed header, without
# parsing its JSON (each gives what json.loads of the line gives).
_FAST = {
    "frame": lambda m: m._f[_FRAME],
    "src": lambda m: _ip(m._f[_SRC]),
    "dst": lambda m: _ip(m._f[_DST]),
    "sport": lambda m: m._f[_SPORT],
    "dport": lambda m: m._f[_DPORT],
    "proto": lambda m: "tcp" if m._f[_TCP] else "udp",
    "cmd": lambda m: m._f[_CMD],
    "dir": lambda m: "response" if m._f[_DIR] else "request",
    "size": lambda m: m._f[_SIZE],
    "dtype": lambda m: m._f[_DTYPE],
    "count": lambda m: m._f[_COUNT],
    "p1": lambda m: m._f[_P1],
    "p2": lambda m: m._f[_P2],
}


class Message:
    """One CA message: attributes named as catrace --json's keys."""

    __slots__ = ("_f", "_b", "_d")

    def __init__(self, fields, data):
        self._f = fields    # the packed header, unpacked
        self._b = data      # the batch's data (json, raw, pv, command)
        self._d = None

    @property
    def json(self):
        """The JSON line's text, as catrace --json prints it."""
        o = self._f[_OFF]
        return self._b[o:o + self._f[_JSON_LEN]].decode("utf-8", "replace")

    @property
    def raw(self):
        """The message's bytes: its header, then the payload kept."""
        o = self._f[_OFF] + self._f[_JSON_LEN]
        return self._b[o:o + self._f[_RAW_LEN]]

    @property
    def ts_ns(self):
        """Unix time in nanoseconds (ts is the same as a float)."""
        return self._f[_TS_NS]

    @property
    def flags(self):
        return self._f[_FLAGS]

    @property
    def command(self):
        f = self._f
        o = f[_OFF] + f[_JSON_LEN] + f[_RAW_LEN] + (0 if f[_PV_LEN] == _NO_PV else f[_PV_LEN])
        return self._b[o:o + f[_CMD_LEN]].decode("ascii")

    @property
    def pv(self):
        f = self._f
        if f[_PV_LEN] == _NO_PV:
            return None
        o = f[_OFF] + f[_JSON_LEN] + f[_RAW_LEN]
        b = self._b[o:o + f[_PV_LEN]]
        # Plain names read as they are; others as JSON shows them.
        if _PLAIN_NAME.match(b):
            return b.decode("ascii")
        return self._dict()["pv"]

    def _dict(self):
        if self._d is None:
            self._d = _json.loads(self.json)
        return self._d

    def to_dict(self):
        """The JSON line as a dict (a new one each call)."""
        return dict(self._dict())

    def __getattr__(self, name):
        fast = _FAST.get(name)
        if fast is not None:
            return fast(self)
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._dict()[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self):
        return "<catrace.Message %s>" % self.json


def _b(s):
    return os.fsencode(s) if not isinstance(s, bytes) else s


def _as_list(x):
    if x is None:
        return []
    if isinstance(x, (str, bytes)):
        return [x]
    return list(x)


class _Source:
    """An iterator over a libcatrace handle; closes (live: detaches) on
    close(), at the end, on an exception in the loop, or when collected."""

    def __init__(self, handle, pv, cmd, filter, count, max_elements, port=None, keep=None):
        self._h = handle
        self._keep = keep          # what must outlive the handle (a temp file)
        self._left = count
        self._ended = False        # exhausted: StopIteration from now on
        self._it = iter(())       # the batch at hand
        self._hdrs = ctypes.c_void_p()
        self._buf = ctypes.c_void_p()
        self._len = ctypes.c_size_t()
        try:
            for g in _as_list(pv):
                self._check(_lib.catrace_set_pv(handle, _b(g)))
            cmds = _as_list(cmd)
            if cmds:
                self._check(_lib.catrace_set_cmd(handle, b",".join(_b(c) for c in cmds)))
            if filter:
                self._check(_lib.catrace_set_filter(handle, _b(filter)))
            for p in _as_list(port):
                self._check(_lib.catrace_add_port(handle, p))
            if max_elements is not None:
                self._check(_lib.catrace_set_max_elements(handle, max_elements))
            if count is not None and count < 0:
                raise ValueError("count must be 0 or more")
        except BaseException:
            self.close()
            raise

    def _check(self, rc):
        if rc < 0:
            raise Error(_lib.catrace_geterr(self._h).decode(errors="replace"))
        return rc

    def __iter__(self):
        # A for loop gets a generator: it takes each batch's messages in C
        # (yield from), with no Python call per message.  It shares the
        # batch with __next__, so the two can be mixed.
        return self._gen()

    def _gen(self):
        if self._left is not None:      # count=: message by message
            while True:
                try:
                    m = self.__next__()
                except StopIteration:
                    return
                yield m
        while True:
            yield from self._it
            try:
                m = self._next_slow()
            except StopIteration:
                return
            yield m

    def _end(self):
        self._ended = True
        self.close()
        raise StopIteration

    def _refill(self):
        """The next batch into self._it: how many (0 at a pause (live) or
        the end)."""
        if self._ended:
            raise StopIteration
        if self._h is None:
            raise ValueError("I/O operation on a closed catrace source")
        n = self._check(_lib.catrace_next_packed(self._h, ctypes.byref(self._hdrs),
                                                 ctypes.byref(self._buf),
                                                 ctypes.byref(self._len), _BATCH))
        if n == 0:
            return 0
        data = ctypes.string_at(self._buf, self._len.value)
        hdrs = ctypes.string_at(self._hdrs, n * _PACKED.size)
        self._it = iter([Message(f, data) for f in _PACKED.iter_unpack(hdrs)])
        return n

    def __next__(self):
        # The common case first: a message of the batch at hand, no count.
        if self._left is None:
            m = next(self._it, None)
            if m is not None:
                return m
        return self._next_slow()

    def _next_slow(self):
        if self._left == 0:
            self._end()
        m = next(self._it, None)
        if m is None:
            since = time.monotonic()
            try:
                while self._refill() == 0:
                    self._idle(since)
                m = next(self._it)
            except StopIteration:
                raise
            except BaseException:
                self.close()
                raise
        if self._left is not None:
            self._left -= 1
        return m

    def _idle(self, since):
        """Nothing came: a capture's end."""
        self._end()

    def close(self):
        self._it = iter(())
        if self._h is not None:
            _lib.catrace_free(self._h)
            self._h = None
        if self._keep is not None:
            self._keep.close()
            self._keep = None

    @property
    def closed(self):
        return self._h is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        self.close()


class _Live(_Source):
    def __init__(self, handle, timeout, **kw):
        super().__init__(handle, **kw)
        self._timeout = timeout

    def _idle(self, since):
        """No traffic for the library's 100 ms: Python runs its signal
        handlers on the way back here (Ctrl-C raises in _next_slow, which
        detaches).  The end only after `timeout` seconds of it."""
        if self._timeout is not None and time.monotonic() - since >= self._timeout:
            self._end()


def _open_file(f):
    """A handle on a Python file object: its descriptor when it has one,
    else its bytes spooled to a temporary file."""
    err = ctypes.create_string_buffer(ERRBUF_SIZE)
    keep = None
    try:
        fd = f.fileno()
    except (AttributeError, io.UnsupportedOperation, OSError):
        fd = None
    if fd is None:
        import shutil
        import tempfile
        keep = tempfile.TemporaryFile()
        shutil.copyfileobj(f, keep)
        keep.flush()
        keep.seek(0)
        fd = keep.fileno()
        pos = 0
    else:
        try:
            pos = f.tell()
        except (OSError, io.UnsupportedOperation):
            pos = None
    dup = os.dup(fd)
    if pos is not None:
        os.lseek(dup, pos, os.SEEK_SET)
    fp = _libc.fdopen(dup, b"rb")
    if not fp:
        os.close(dup)
        raise OSError("fdopen failed")
    h = _lib.catrace_fopen_offline(fp, err)
    if not h:  # the library closed fp (catrace_fopen_offline)
        if keep is not None:
            keep.close()
        raise Error(err.value.decode(errors="replace"))
    return h, keep


def read(path_or_file, pv=None, cmd=None, filter=None, count=None, max_elements=None,
         port=None):
    """Messages of a capture (pcap or pcapng): a path, "-" for standard
    input, or a binary file object.  pv: a glob or a list of them; cmd: a
    command name or a list (as catrace --cmd); filter: a tcpdump filter
    expression; count: stop after that many; max_elements and port (one
    or a list) as catrace's --max-elements and --port."""
    keep = None
    if isinstance(path_or_file, (str, bytes, os.PathLike)):
        err = ctypes.create_string_buffer(ERRBUF_SIZE)
        h = _lib.catrace_open_offline(_b(os.fspath(path_or_file)), err)
        if not h:
            raise Error(err.value.decode(errors="replace"))
    else:
        h, keep = _open_file(path_or_file)
    return _Source(h, pv=pv, cmd=cmd, filter=filter, count=count,
                   max_elements=max_elements, port=port, keep=keep)


def live(ifaces, pv=None, cmd=None, filter=None, count=None, timeout=None):
    """Messages on live interfaces (needs root: the BPF programs are
    attached).  Ends after count messages, or after timeout seconds
    without one; detaches on close(), at the end, on Ctrl-C, or when the
    iterator is garbage-collected."""
    names = [_b(i) for i in _as_list(ifaces)]
    arr = (ctypes.c_char_p * len(names))(*names)
    err = ctypes.create_string_buffer(ERRBUF_SIZE)
    h = _lib.catrace_open_live(arr, len(names), err)
    if not h:
        raise Error(err.value.decode(errors="replace"))
    return _Live(h, timeout, pv=pv, cmd=cmd, filter=filter, count=count,
                 max_elements=None)


def to_dataframe(messages, columns=None):
    """A pandas DataFrame of messages (one row each, the --json keys as
    columns, plus `time` as a datetime).  Needs python3-pandas."""
    try:
        import pandas  # optional: only this helper needs it
    except ImportError as e:
        raise ImportError("catrace.to_dataframe needs pandas "
                          "(apt-get install python3-pandas)") from e
    rows = [m.to_dict() for m in messages]
    df = pandas.DataFrame(rows, columns=columns)
    if "ts" in df.columns:
        df["time"] = pandas.to_datetime(df["ts"], unit="s")
    return df
