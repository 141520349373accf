"""`import catrace` (python/catrace) against the catrace program: every
capture read through the module equals `catrace -r FILE --json`, message
for message; the filters and count= likewise; file objects; errors.
The program's output is the reference, so nothing here is hard-coded.

Run: CATRACE=.output/catrace CATRACE_LIB=.output/libcatrace.so.0 \
     PYTHONPATH=python python3 -m unittest tests/python/test_catrace.py
"""
import glob
import importlib.util
import io
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import catrace  # noqa: E402

CATRACE = os.environ.get("CATRACE", os.path.join(ROOT, ".output", "catrace"))
CAPTURES = os.environ.get("CAPTURES", os.path.join(ROOT, "tests", "captures"))


# Attributes the module reads from the message's header, not its JSON.
FAST_KEYS = ["frame", "src", "dst", "sport", "dport", "proto", "cmd", "command", "dir",
             "size", "dtype", "count", "p1", "p2", "pv"]


def cli(path, *extra):
    out = subprocess.run([CATRACE, "-q", "-r", path, "--json", *extra],
                         check=True, capture_output=True, text=True).stdout
    return out.splitlines()


def cap(name):
    return os.path.join(CAPTURES, name)


class Equality(unittest.TestCase):
    def assert_same(self, msgs, lines):
        msgs = list(msgs)
        self.assertEqual(len(msgs), len(lines))
        for i, (m, line) in enumerate(zip(msgs, lines)):
            self.assertEqual(m.json, line, "message %d" % (i + 1))
            d = json.loads(line)
            self.assertEqual(m.to_dict(), d, "message %d" % (i + 1))
            # Attributes answered without the JSON say the same.
            for k in FAST_KEYS:
                self.assertEqual(getattr(m, k), d[k], "message %d: %s" % (i + 1, k))
        return len(msgs)

    def test_every_capture(self):
        files = sorted(glob.glob(os.path.join(CAPTURES, "*.pcap")))
        self.assertTrue(files)
        # The shared reference captures too, when tests/run.sh found them.
        shared = os.environ.get("SHARED_CAPTURES")
        if shared:
            for pat in ("*.pcap", "*.pcapng", "external/*.pcap", "external/*.pcapng"):
                files += sorted(glob.glob(os.path.join(shared, pat)))
        total = 0
        for path in files:
            with self.subTest(capture=os.path.basename(path)):
                total += self.assert_same(catrace.read(path), cli(path))
        self.assertGreater(total, 0)
        print("\n%d captures, %d messages equal to catrace --json" % (len(files), total),
              file=sys.stderr)

    def test_filters(self):
        path = cap("s01_caget_types.pcap")
        n = self.assert_same(catrace.read(path, pv=["*:ai", "T:long*"],
                                          cmd=["ReadNotify", "EventAdd"]),
                             cli(path, "--pv", "*:ai", "--pv", "T:long*",
                                 "--cmd", "ReadNotify,EventAdd"))
        self.assertGreater(n, 0)
        path = cap("s04_camonitor.pcap")
        self.assertGreater(self.assert_same(catrace.read(path, filter="udp"),
                                            cli(path, "udp")), 0)
        self.assertGreater(self.assert_same(catrace.read(path, cmd="EventAdd"),
                                            cli(path, "--cmd", "EventAdd")), 0)
        path = cap("s15_large_and_errors.pcap")
        self.assertGreater(self.assert_same(catrace.read(path, max_elements=0),
                                            cli(path, "--max-elements", "0")), 0)
        path = cap("s16_server_port.pcap")
        self.assertGreater(self.assert_same(catrace.read(path, port=[5070]),
                                            cli(path, "--port", "5070")), 0)

    def test_count(self):
        path = cap("s04_camonitor.pcap")
        lines = cli(path)
        self.assertGreater(len(lines), 5)
        self.assert_same(catrace.read(path, count=5), lines[:5])
        self.assert_same(catrace.read(path, count=0), [])
        self.assert_same(catrace.read(path, count=len(lines) + 10), lines)

    def test_next_then_for(self):
        # next() and a for loop share the source: nothing lost or repeated.
        path = cap("s04_camonitor.pcap")
        it = catrace.read(path)
        first = [next(it), next(it)]
        self.assert_same(first + [m for m in it], cli(path))

    def test_file_objects(self):
        path = cap("s03_caput.pcap")
        lines = cli(path)
        with open(path, "rb") as f:
            self.assert_same(catrace.read(f), lines)
        with open(path, "rb") as f:
            self.assert_same(catrace.read(io.BytesIO(f.read())), lines)


class Messages(unittest.TestCase):
    def test_attributes(self):
        path = cap("s01_caget_types.pcap")
        for m in catrace.read(path):
            d = m.to_dict()
            for k, v in d.items():
                self.assertEqual(getattr(m, k), v, k)
            # The raw header re-encodes the fields; ts_ns is the exact ts.
            self.assertEqual(int.from_bytes(m.raw[0:2], "big"), m.cmd)
            self.assertEqual(int.from_bytes(m.raw[4:6], "big"), m.dtype)
            self.assertAlmostEqual(m.ts_ns / 1e9, m.ts, places=5)
            with self.assertRaises(AttributeError):
                m.no_such_field

    def test_lib_version(self):
        self.assertRegex(catrace.lib_version(), r"^\d+\.\d+\.\d+")


class Errors(unittest.TestCase):
    def test_missing_file(self):
        with self.assertRaisesRegex(catrace.Error, "No such file"):
            catrace.read("/nonexistent/x.pcap")

    def test_not_a_capture(self):
        with self.assertRaises(catrace.Error):
            catrace.read(os.path.join(ROOT, "README.md"))
        with self.assertRaises(catrace.Error):
            catrace.read(io.BytesIO(b"not a capture at all, not even close"))

    def test_bad_filters(self):
        path = cap("s01_caget_types.pcap")
        with self.assertRaisesRegex(catrace.Error, "NoSuchCommand"):
            catrace.read(path, cmd="NoSuchCommand")
        with self.assertRaisesRegex(catrace.Error, "port port"):
            catrace.read(path, filter="port port")

    def test_closed(self):
        it = catrace.read(cap("s01_caget_types.pcap"))
        next(it)
        it.close()
        self.assertTrue(it.closed)
        with self.assertRaises(ValueError):
            next(it)
        it.close()

    def test_exhausted_closes(self):
        it = catrace.read(cap("s03_caput.pcap"))
        list(it)
        self.assertTrue(it.closed)
        self.assertEqual(list(it), [])


HAVE_PANDAS = importlib.util.find_spec("pandas") is not None


class Pandas(unittest.TestCase):
    # Without python3-pandas the helper must say what to install (a
    # skipped test would fail the fresh-clone check, which wants none).
    def test_dataframe(self):
        path = cap("s04_camonitor.pcap")
        if not HAVE_PANDAS:
            print("\nNOTE: python3-pandas not installed: to_dataframe checked to say so",
                  file=sys.stderr)
            with self.assertRaisesRegex(ImportError, "python3-pandas"):
                catrace.to_dataframe(catrace.read(path))
            return
        lines = cli(path)
        df = catrace.to_dataframe(catrace.read(path))
        self.assertEqual(len(df), len(lines))
        self.assertEqual(list(df["command"]), [json.loads(x)["command"] for x in lines])


if __name__ == "__main__":
    unittest.main()
