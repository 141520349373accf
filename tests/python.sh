#!/bin/bash
# The Python module (python/catrace) over the library of this build
# ($OUTPUT): tests/python/test_*.py, one PASS:/FAIL:/SKIP: line a test.
# Debian's python3 (/usr/bin/python3), which is what the module promises.
# A sanitizer build's library needs the sanitizers' runtimes loaded first
# (python3 itself is not built with them); leaks are python3's business.
set -u
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-.output}
PY=${PYTHON:-/usr/bin/python3}
export CATRACE=${CATRACE:-$OUTPUT/catrace}
export CATRACE_LIB=$OUTPUT/libcatrace.so.0
export CAPTURES=${CAPTURES:-tests/captures}
if [ ! -e "$CATRACE_LIB" ]; then
	echo "FAIL: python: $CATRACE_LIB not built (make)"
	exit 1
fi
if [ "$OUTPUT" = .output-san ]; then
	export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
	export ASAN_OPTIONS=detect_leaks=0
fi
exec "$PY" tests/python/run.py "$@"
