/* Resource bounds of user/ca_stream.c against crafted streams.
 *
 * A stream built of false message boundaries (three plausible ECHO
 * headers, then a header no CA peer sends) makes the framer accept a
 * boundary, lose it again and search anew, once every 64 bytes.  The
 * framer must do that in constant stack and heap: it once recursed for
 * every false boundary, about a thousand levels inside one 64 KiB segment,
 * each holding a copy of the rest of the segment (~32 MiB).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ca_decode.h"
#include "ca_proto.h"
#include "ca_stream.h"
#include "wire.h"

#define UNIT 64  /* bytes of one false boundary: 3 ECHOs and a bad header */

/* A header of `cmd` with payload size 0 and every other byte 0xA5, so
 * that no offset but its first can read as a plausible header. */
static void put_hdr(uint8_t *p, unsigned cmd)
{
	memset(p, 0xA5, CA_HDR_LEN);
	wire_put16(p, cmd);
	wire_put16(p + 2, 0);
}

/* n units of false boundaries. */
static uint8_t *false_boundaries(size_t units, size_t *len)
{
	uint8_t *b = malloc(units * UNIT);
	size_t i;

	assert_non_null(b);
	for (i = 0; i < units; i++) {
		put_hdr(b + i * UNIT, CA_PROTO_ECHO);
		put_hdr(b + i * UNIT + 16, CA_PROTO_ECHO);
		put_hdr(b + i * UNIT + 32, CA_PROTO_ECHO);
		put_hdr(b + i * UNIT + 48, 0xFFFF);
	}
	*len = units * UNIT;
	return b;
}

struct probe {
	uintptr_t base;       /* stack address where the test called in */
	uintptr_t deepest;    /* lowest stack address seen in a callback */
	size_t echoes;
	size_t others;
};

static void on_msg(void *ctx, struct ca_msg *m)
{
	struct probe *p = ctx;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	if (sp < p->deepest)
		p->deepest = sp;
	if (m->h.cmd == CA_PROTO_ECHO && !(m->flags & CA_MSG_MALFORMED))
		p->echoes++;
	else
		p->others++;
}

static void feed_probed(struct ca_stream *s, const uint8_t *d, size_t n,
			struct probe *p)
{
	p->base = (uintptr_t)__builtin_frame_address(0);
	p->deepest = p->base;
	ca_stream_feed(s, d, n, on_msg, p);
}

/* Stack used below the caller: the recursive framer needed hundreds of
 * KiB here (a frame chain per false boundary); a flat one needs a few. */
#define STACK_BOUND (32 * 1024)

static void test_false_boundaries_use_flat_stack(void **state)
{
	size_t units = CA_STREAM_RESYNC_WINDOW / UNIT, len;
	uint8_t *b = false_boundaries(units, &len);
	struct ca_stream s;
	struct probe p = { 0 };

	(void)state;
	ca_stream_init(&s, CA_DIR_RESPONSE, 64 * 1024, 0);
	feed_probed(&s, b, len, &p);
	/* Every unit's three ECHOs are found: the searches all succeed. */
	assert_int_equal(p.echoes, 3 * units);
	print_message("stack below the caller: %zu bytes for %zu false boundaries\n",
		      (size_t)(p.base - p.deepest), units);
	assert_true(p.base - p.deepest < STACK_BOUND);
	ca_stream_free(&s);
	free(b);
}

/* The same bytes one segment at a time in pieces of every size give the
 * same messages as one segment: the flat loop keeps the order of bytes
 * handed back for a second look. */
static void test_false_boundaries_any_segmentation(void **state)
{
	size_t units = 40, len, chunk;
	uint8_t *b = false_boundaries(units, &len);

	(void)state;
	for (chunk = 1; chunk <= len; chunk = chunk < 64 ? chunk + 1 : chunk * 2) {
		struct ca_stream s;
		struct probe p = { 0 };
		size_t off;

		ca_stream_init(&s, CA_DIR_RESPONSE, 64 * 1024, 0);
		for (off = 0; off < len; off += chunk)
			feed_probed(&s, b + off, len - off < chunk ? len - off : chunk, &p);
		ca_stream_end(&s, "test", on_msg, &p);
		assert_int_equal(p.echoes, 3 * units);
		ca_stream_free(&s);
	}
	free(b);
}

/* Bytes that never make a header keep the search window bounded, and its
 * memory is given back once the stream is in sync again. */
static void test_resync_window_bounded_and_released(void **state)
{
	size_t n = 3 * CA_STREAM_RESYNC_WINDOW, i;
	uint8_t *junk = malloc(n), echo[CA_HDR_LEN * 3];
	struct ca_stream s;
	struct probe p = { 0 };

	(void)state;
	assert_non_null(junk);
	for (i = 0; i < n; i++)
		junk[i] = 0xA5;
	ca_stream_init(&s, CA_DIR_RESPONSE, 64 * 1024, 0);
	assert_null(s.rbuf);  /* nothing is allocated before it is needed */
	feed_probed(&s, junk, 100, &p);
	assert_true(s.rbuf_cap < CA_STREAM_RESYNC_WINDOW);  /* grows on demand */
	feed_probed(&s, junk, n, &p);
	assert_true(s.rlen <= CA_STREAM_RESYNC_WINDOW);
	assert_true(s.rbuf_cap <= CA_STREAM_RESYNC_WINDOW);
	assert_int_equal(s.state, CS_RESYNC);
	put_hdr(echo, CA_PROTO_ECHO);
	put_hdr(echo + 16, CA_PROTO_ECHO);
	put_hdr(echo + 32, CA_PROTO_ECHO);
	feed_probed(&s, echo, sizeof(echo), &p);
	assert_int_equal(p.echoes, 3);
	assert_int_equal(s.state, CS_HEADER);
	assert_null(s.rbuf);
	assert_int_equal(s.rbuf_cap, 0);
	ca_stream_free(&s);
	free(junk);
}

/* A big message's kept bytes are not held once it is done. */
static void test_keep_buffer_released_after_big_message(void **state)
{
	size_t size = 32 * 1024;
	uint8_t *msg = calloc(1, CA_HDR_LEN + size);
	struct ca_stream s;
	struct probe p = { 0 };

	(void)state;
	assert_non_null(msg);
	put_hdr(msg, CA_PROTO_READ_NOTIFY);
	wire_put16(msg + 2, (unsigned)size);
	wire_put16(msg + 4, DBR_CHAR);
	wire_put16(msg + 6, (unsigned)size);
	ca_stream_init(&s, CA_DIR_RESPONSE, 64 * 1024, 1);
	/* Two segments, so the payload has to be kept across them. */
	feed_probed(&s, msg, 1000, &p);
	assert_true(s.keep_cap > 0);
	feed_probed(&s, msg + 1000, CA_HDR_LEN + size - 1000, &p);
	assert_int_equal(p.others, 1);
	assert_true(s.keep_cap <= CA_STREAM_KEEP_IDLE);
	ca_stream_free(&s);
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_false_boundaries_use_flat_stack),
		cmocka_unit_test(test_false_boundaries_any_segmentation),
		cmocka_unit_test(test_resync_window_bounded_and_released),
		cmocka_unit_test(test_keep_buffer_released_after_big_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
