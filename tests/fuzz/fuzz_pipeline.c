/* libFuzzer harness: a stream of packets through one pipeline (packet
 * parser, classifier, TCP reassembly, CA framing, channel tracker,
 * filters, text/JSON/template formatters).
 *
 * Input:
 *   [c0][c1]                      configuration (see fuzz_common.h)
 *   then records, until the input ends:
 *   [sel:u8][len:u16 little-endian][len bytes]   one frame
 *     sel bits 0-2: link type: 0 Ethernet, 1 Linux cooked v1, 2 Linux
 *                   cooked v2, 3 BSD loopback (DLT_NULL), 4 DLT_LOOP,
 *                   5 DLT_RAW, 6 DLT_IPV4, 7 Ethernet
 *     sel bit  3:   the snap length cut the frame: wire length is
 *                   caplen + 1 + 64 * (sel >> 4)
 *     sel bits 4-7: time step to the next frame, 1 us + (sel >> 4) * 1.000003 s
 *   A last record with fewer bytes than its len takes what is left.
 * tests/fuzz/make_seeds.py writes seeds in this format from captures. */
#include <pcap/dlt.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif

static const int linktypes[8] = {
	DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL,
	DLT_LOOP, DLT_RAW, DLT_IPV4, DLT_EN10MB,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_global_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_ctx fc;
	uint64_t ts = 1700000000ull * 1000000000ull;
	uint64_t number = 0;
	size_t off = 2;

	if (size < 2)
		return 0;
	fuzz_setup(&fc, data[0], data[1]);

	while (off + 3 <= size) {
		uint8_t sel = data[off];
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
		struct frame f;
		uint8_t *copy;

		off += 3;
		if (len > size - off)
			len = size - off;
		/* A copy of exactly the frame's bytes, so that ASan sees any
		 * read past the end of the captured frame. */
		copy = malloc(len ? len : 1);
		if (!copy)
			break;
		memcpy(copy, data + off, len);
		off += len;

		f.ts_ns = ts;
		f.data = copy;
		f.caplen = (uint32_t)len;
		f.len = (uint32_t)len;
		if (sel & 8)
			f.len += 1 + 64u * (sel >> 4);
		f.number = ++number;
		pipeline_frame(&fc.pl, linktypes[sel & 7], &f);
		free(copy);
		ts += 1000 + (uint64_t)(sel >> 4) * 1000003000ull;
	}
	fuzz_teardown(&fc);
	return 0;
}
