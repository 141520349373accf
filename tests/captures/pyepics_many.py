#!/usr/bin/python3
"""pyepics (libca underneath) against many PVs at once, for the recorded
capture s08_pyepics_many (tests/captures/record.sh).

Usage: pyepics_many.py PREFIX COUNT
Connects to PREFIX000..PREFIX<COUNT-1> at once (libca batches the searches
into few datagrams and the channel creations into full TCP segments),
reads all, writes 20 with callback, monitors 20 for two seconds, writes
10 without callback, and disconnects. Exit 0 when every PV connected."""
import sys
import time

import epics


def main():
    prefix, count = sys.argv[1], int(sys.argv[2])
    names = ["%s%03d" % (prefix, i) for i in range(count)]
    pvs = [epics.PV(n, auto_monitor=False) for n in names]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(p.connected for p in pvs):
        time.sleep(0.05)
    missing = [p.pvname for p in pvs if not p.connected]
    for p in pvs:
        p.get(timeout=5)
    for i, p in enumerate(pvs[:20]):
        p.put(i + 0.25, wait=True, timeout=5)
    seen = []
    monitored = [epics.PV(n, callback=lambda **kw: seen.append(kw["pvname"]))
                 for n in names[20:40]]
    time.sleep(2)
    for i, p in enumerate(pvs[40:50]):
        p.put(i * 2.0)
    time.sleep(0.3)
    for p in monitored + pvs:
        p.disconnect()
    epics.ca.finalize_libca()
    print("connected %d of %d, %d monitor callbacks" % (count - len(missing), count, len(seen)))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
