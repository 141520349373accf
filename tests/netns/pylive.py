"""catrace.live from Python, for tests/netns/test_pylive.sh: attach to an
interface, read a camonitor stream, and check that every way of letting
go (close(), garbage collection, Ctrl-C) detaches at once, while this
process still lives (its exit would detach anyway).

    pylive.py IFACE READY_FILE SEEN_FILE

Writes READY_FILE when attached (the shell then starts tcpdump and
camonitor), the JSON lines of the messages read to SEEN_FILE (the shell
compares them with catrace -r of tcpdump's capture), and prints
PASS:/FAIL: lines.  Exit 1 on a failure.
"""
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time

import catrace

failed = 0


def say(ok, what, why=""):
    global failed
    if not ok:
        failed += 1
    print("%s: pylive %s%s" % ("PASS" if ok else "FAIL", what, "" if ok or not why
                               else ": " + str(why)), flush=True)


def my_links():
    """Ids of the BPF links this process holds (its fds)."""
    ids = set()
    fddir = "/proc/self/fdinfo"
    for fd in os.listdir(fddir):
        try:
            with open(os.path.join(fddir, fd)) as f:
                for line in f:
                    if line.startswith("link_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def links_alive(ids):
    """Which of these link ids the kernel still has, system wide."""
    out = subprocess.run(["bpftool", "link", "show", "-j"], capture_output=True,
                         text=True).stdout
    return ids & {link["id"] for link in json.loads(out or "[]")}


def main():
    iface, ready, seen = sys.argv[1:4]
    keys = ["ts", "frame", "src", "sport", "dst", "dport", "proto", "cmd", "command",
            "dir", "size", "dtype", "count", "p1", "p2", "pv"]

    # 1. A camonitor stream, then close().
    src = catrace.live([iface], pv="T:calc", timeout=15)
    ours = my_links()
    say(len(ours) >= 2, "attached (%d links)" % len(ours))
    open(ready, "w").close()
    updates = []
    with open(seen, "w") as out:
        for m in src:
            out.write(m.json + "\n")
            if m.command != "EventAddResponse":
                continue
            updates.append(m)
            if len(updates) == 3:
                break
    say(len(updates) == 3, "3 monitor updates of T:calc read", "got %d" % len(updates))
    if updates:
        d = updates[-1].to_dict()
        say(list(d)[:len(keys)] == keys and "value" in d,
            "messages have --json's keys and a value", list(d))
        say(all(u.pv == "T:calc" for u in updates), "updates name their PV")
    src.close()
    say(not my_links() and not links_alive(ours), "close() detaches",
        links_alive(ours))

    # 2. Dropped without close: garbage collection detaches.
    src = catrace.live([iface], timeout=1)
    ours = my_links()
    say(len(ours) >= 2, "attached again")
    del src
    gc.collect()
    say(not my_links() and not links_alive(ours), "garbage collection detaches",
        links_alive(ours))

    # 3. Ctrl-C while waiting for traffic: the loop ends with
    # KeyboardInterrupt and the source is closed on the way out.
    # A background job of a shell starts with SIGINT ignored, and python
    # then leaves it so: give it Python's Ctrl-C back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    src = catrace.live([iface], pv="NO:SUCH:PV")
    ours = my_links()
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    t0 = time.monotonic()
    try:
        for _ in src:
            pass
        say(False, "Ctrl-C ends the loop", "the loop ended by itself")
    except KeyboardInterrupt:
        say(time.monotonic() - t0 < 5, "Ctrl-C ends the loop")
    say(src.closed and not my_links() and not links_alive(ours), "Ctrl-C detaches",
        links_alive(ours))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
