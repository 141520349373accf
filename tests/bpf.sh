#!/bin/bash
# DESIGN invariants 1 and 2: every packet of every capture (the project's
# own in tests/captures, and the shared reference captures when
# $SHARED_CAPTURES names a directory) through
# the XDP and the tc program (BPF_PROG_TEST_RUN); the messages the live
# path decodes from the kernel's records must equal what the offline
# decoder reads from the same packets.  Then the hostile packet
# classes (tests/bpf/bpf_hostile.c) through both.  Needs root (prints SKIP).
set -u
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-.output}
CAPTURES=${CAPTURES:-tests/captures}
EQUIV=$OUTPUT/tests/bpf_equiv
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: bpf: BPF_PROG_TEST_RUN needs root"
	exit 77
fi
if [ ! -x "$EQUIV" ]; then
	echo "FAIL: bpf: $EQUIV not built"
	exit 1
fi
rc=0
n=0
for dir in "$CAPTURES" ${SHARED_CAPTURES:+"$SHARED_CAPTURES"}; do
	for f in "$dir"/*.pcap "$dir"/external/*.pcap "$dir"/external/*.pcapng "$dir"/external/*.cap; do
		[ -r "$f" ] || continue
		"$EQUIV" "$f" || rc=1
		n=$((n + 1))
	done
done
[ $n -gt 0 ] || { echo "FAIL: bpf: no capture in $CAPTURES"; rc=1; }
# Hostile packets, class by class, through the decoder and both programs.
HOSTILE=$OUTPUT/tests/bpf_hostile
if [ -x "$HOSTILE" ]; then
	"$HOSTILE" || rc=1
else
	echo "FAIL: bpf: $HOSTILE not built"
	rc=1
fi
# The live path's scenarios (issue 12): each against the decoder.
if [ -x "$OUTPUT/tests/bpf_live" ]; then
	"$OUTPUT/tests/bpf_live" || rc=1
else
	echo "FAIL: bpf: $OUTPUT/tests/bpf_live not built"
	rc=1
fi
# The reader is woken once per 256 KiB of data waiting, never missed.
if [ -x "$OUTPUT/tests/bpf_wakeup" ]; then
	"$OUTPUT/tests/bpf_wakeup" || rc=1
else
	echo "FAIL: bpf: $OUTPUT/tests/bpf_wakeup not built"
	rc=1
fi
exit $rc
