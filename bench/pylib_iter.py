"""One pass of `import catrace` over a capture, for bench/pylib.sh.

    pylib_iter.py MODE FILE     MODE: count | attr | dict

count: iterate only (each message's JSON text and bytes copied out of the
library); attr: also read m.command and m.pv (one json.loads a message);
dict: m.to_dict() of every message.  Prints the messages seen."""
import sys

import catrace


def main():
    mode, path = sys.argv[1:3]
    n = 0
    if mode == "count":
        for _ in catrace.read(path):
            n += 1
    elif mode == "attr":
        for m in catrace.read(path):
            if m.command and m.pv is not None:
                n += 1
            else:
                n += 1
    elif mode == "dict":
        for m in catrace.read(path):
            m.to_dict()
            n += 1
    else:
        sys.exit("mode: count, attr or dict")
    print(n)


if __name__ == "__main__":
    main()
