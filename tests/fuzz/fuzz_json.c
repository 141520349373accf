/* libFuzzer harness: what `catrace build` does with a line, without the
 * file: json_parse, then build_ranges_prepare and, for each variant (at
 * most 64, so one input stays fast), build_msg_from_json and frame_build.
 *
 * Input: the bytes of one line (newlines included: the parser must refuse
 * them inside strings and take them as white space elsewhere).
 *
 * Oracles (abort() with a message, so libFuzzer keeps the input):
 *   - a refused line has an error column inside it (1 .. len + 1) and a
 *     reason;
 *   - a parsed line parses again, from a copy of exactly its bytes, the
 *     same way (no state between calls);
 *   - an encoded message with a whole header reads back (ca_hdr_parse)
 *     with the header length its bytes say, and its TCP or UDP frame (when
 *     it fits one) is as long as the headers and the message;
 *   - after the variants, build_ranges_restore gives back the objects it
 *     replaced, and json_free frees everything (LeakSanitizer). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_build.h"
#include "ca_decode.h"
#include "frame_build.h"
#include "json.h"

#define FUZZ_MAX_VARIANTS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void oracle(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "==FUZZ ORACLE== %s\n", what);
		abort();
	}
}

static void check_msg(const struct build_msg *m)
{
	static uint8_t frame[FRAME_BUILD_ETH + 65535];
	struct frame_spec s;
	struct ca_hdr h;
	size_t n;

	if (m->len >= CA_HDR_LEN && ca_hdr_parse(m->bytes, m->len, &h) == CA_HDR_OK)
		oracle(h.hdr_len <= m->len, "an encoded header longer than the message");
	memset(&s, 0, sizeof(s));
	s.tcp = m->tcp;
	s.src_ip = m->src_ip;
	s.dst_ip = m->dst_ip;
	s.sport = m->sport;
	s.dport = m->dport;
	n = frame_build(frame, sizeof(frame), &s, m->bytes, m->len);
	if (m->len <= (m->tcp ? FRAME_BUILD_MAX_TCP_PAYLOAD : FRAME_BUILD_MAX_UDP_PAYLOAD))
		oracle(n == FRAME_BUILD_ETH + FRAME_BUILD_IP +
			    (m->tcp ? FRAME_BUILD_TCP : FRAME_BUILD_UDP) + m->len,
		       "a frame of the wrong length");
	else
		oracle(n == 0, "a frame built past the IPv4 limit");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	struct json_val v, again;
	struct json_err e;
	struct build_ranges r;
	char err[512];
	uint64_t i;

	if (!text)
		return 0;
	memcpy(text, data, size);
	if (!json_parse(text, size, &v, &e)) {
		oracle(e.col >= 1 && e.col <= size + 1, "an error column outside the line");
		oracle(e.msg[0] != '\0', "an error without a reason");
		free(text);
		return 0;
	}
	oracle(json_parse(text, size, &again, &e), "a line parsed once but not twice");
	oracle(again.type == v.type && again.n == v.n, "a line parsed two ways");
	json_free(&again);
	if (v.type == JSON_OBJ && build_ranges_prepare(&v, &r, err, sizeof(err)) == 0) {
		for (i = 0; i < r.n && i < FUZZ_MAX_VARIANTS; i++) {
			struct build_msg m;

			build_ranges_set(&r, i);
			if (build_msg_from_json(&v, &m, err, sizeof(err)) == 0)
				check_msg(&m);
			else
				oracle(err[0] != '\0', "an encoding error without a reason");
			build_msg_free(&m);
		}
		build_ranges_restore(&r);
	}
	json_free(&v);
	free(text);
	return 0;
}
