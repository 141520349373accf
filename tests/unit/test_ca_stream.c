/* Unit tests for user/ca_stream.c: framing one direction of a CA circuit.
 *
 * A stream of known messages is built in wire order; the framer must find
 * exactly those messages however the bytes are cut into segments, across
 * gaps, and after losing sync.  Every segment handed to the framer is a heap
 * copy of exactly its bytes, freed right after the call, so AddressSanitizer
 * reports any read past a segment or any use of a segment after it is gone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_decode.h"
#include "ca_proto.h"
#include "ca_stream.h"

#define WIRE_MAX (256 * 1024)   /* test_big_payload's message: 200 kB */
#include "wire.h"

/* ---- payload bytes ----------------------------------------------------------- */

/* Payload bytes that never look like a CA header: 0xA5 has no command
 * below 28 in any position. */
static void payload(struct wire *w, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		wire_u8(w, 0xA0 | ((seed + i) & 0x0F));
}

/* ---- message recorder -------------------------------------------------------- */

struct rec {
	struct ca_hdr h;
	enum ca_dir dir;
	bool tcp;
	unsigned flags;
	uint8_t *payload;
	size_t payload_len;
	char problem[96];
	bool at_known;
	uint32_t at;
	uint8_t raw_hdr[CA_EXT_HDR_LEN];
	uint8_t raw_hdr_len;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

static void on_msg(void *ctx, struct ca_msg *m)
{
	struct recs *r = ctx;
	struct rec *e;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		assert_non_null(r->v);
	}
	e = &r->v[r->n++];
	memset(e, 0, sizeof(*e));
	e->h = m->h;
	e->dir = m->dir;
	e->tcp = m->tcp;
	e->flags = m->flags;
	memcpy(e->problem, m->problem, sizeof(e->problem));
	e->at_known = m->at_known;
	e->at = m->at;
	memcpy(e->raw_hdr, m->raw_hdr, sizeof(e->raw_hdr));
	e->raw_hdr_len = m->raw_hdr_len;
	assert_true(m->payload_len <= m->h.size);
	e->payload_len = m->payload_len;
	if (m->payload_len) {
		assert_non_null(m->payload);
		e->payload = malloc(m->payload_len);
		assert_non_null(e->payload);
		/* Touches every byte: ASan checks the pointer is live. */
		memcpy(e->payload, m->payload, m->payload_len);
	}
}

static void recs_free(struct recs *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i].payload);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static void feed(struct ca_stream *s, const uint8_t *d, size_t n, struct recs *r)
{
	uint8_t *c = malloc(n ? n : 1);

	assert_non_null(c);
	if (n)
		memcpy(c, d, n);
	ca_stream_feed(s, c, n, on_msg, r);
	/* Poison the segment: a framer that kept a pointer into it would
	 * hand out garbage (and ASan would catch the use after free). */
	memset(c, 0xEE, n);
	free(c);
}

static void feed_chunks(struct ca_stream *s, const uint8_t *d, size_t n,
			size_t chunk, struct recs *r)
{
	size_t off;

	for (off = 0; off < n; off += chunk)
		feed(s, d + off, n - off < chunk ? n - off : chunk, r);
}

/* Tests that may fail half-way keep their stream and recording here, so
 * that the teardown frees them and LeakSanitizer reports only leaks of the
 * framer itself.  Their wire bytes are kept here too. */
struct fixture {
	struct ca_stream s;
	struct recs r;
	struct wire w;
};

static int fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fixture *fx = *state;

	ca_stream_free(&fx->s);
	recs_free(&fx->r);
	free(fx);
	return 0;
}

/* ---- the reference stream ---------------------------------------------------- */

struct expect {
	unsigned cmd, dtype;
	uint32_t size, count, p1, p2;
	bool extended;
	size_t off;       /* where the message starts in the stream */
	size_t len;       /* header + payload */
};

#define NEXP 9

/* Server -> client traffic of a typical circuit, with an extended header
 * and a payload larger than a small keep_limit. */
static void build_stream(struct wire *w, struct expect *e)
{
	size_t k = 0;

#define MSG(c, sz, dt, cnt, a, b, ext) do { \
		e[k].cmd = (c); e[k].size = (sz); e[k].dtype = (dt); \
		e[k].count = (cnt); e[k].p1 = (a); e[k].p2 = (b); \
		e[k].extended = (ext); e[k].off = w->n; \
		if (ext) wire_ca_ext_hdr(w, c, sz, dt, cnt, a, b); \
		else wire_ca_hdr(w, c, sz, dt, cnt, a, b); \
		payload(w, sz, (unsigned)k); \
		e[k].len = w->n - e[k].off; k++; \
	} while (0)

	MSG(CA_PROTO_VERSION, 0, 0, 13, 0, 0, false);
	MSG(CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 1, 3, false);
	MSG(CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 1, 0x100, false);
	MSG(CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, ECA_NORMAL, 7, false);
	MSG(CA_PROTO_EVENT_ADD, 24, 20, 1, ECA_NORMAL, 5, false);
	MSG(CA_PROTO_READ_NOTIFY, 200, DBR_CHAR, 200, ECA_NORMAL, 8, false);
	MSG(CA_PROTO_EVENT_ADD, 80, DBR_LONG, 20, ECA_NORMAL, 5, true);
	MSG(CA_PROTO_ECHO, 0, 0, 0, 0, 0, false);
	MSG(CA_PROTO_EVENT_ADD, 0, DBR_DOUBLE, 0, ECA_NORMAL, 5, false);
#undef MSG
	assert_int_equal(k, NEXP);
}

/* Message i of the recording must be expected message j, whole unless
 * keep_limit cuts it. */
static void check_msg(const struct rec *r, const struct expect *e,
		      const uint8_t *stream, size_t keep_limit, unsigned flags)
{
	size_t want_len = e->size < keep_limit ? e->size : keep_limit;

	assert_int_equal(r->h.cmd, e->cmd);
	assert_int_equal(r->h.size, e->size);
	assert_int_equal(r->h.dtype, e->dtype);
	assert_int_equal(r->h.count, e->count);
	assert_int_equal(r->h.p1, e->p1);
	assert_int_equal(r->h.p2, e->p2);
	assert_int_equal(r->h.extended, e->extended);
	assert_int_equal(r->h.hdr_len, e->extended ? 24 : 16);
	assert_int_equal(r->dir, CA_DIR_RESPONSE);
	assert_true(r->tcp);
	if (e->size > keep_limit)
		flags |= CA_MSG_BIG;
	assert_int_equal(r->flags, flags);
	assert_int_equal(r->payload_len, want_len);
	if (want_len)
		assert_memory_equal(r->payload, stream + e->off + r->h.hdr_len, want_len);
}

static void check_all(const struct recs *r, const struct expect *e,
		      const uint8_t *stream, size_t keep_limit)
{
	size_t i;

	assert_int_equal(r->n, NEXP);
	for (i = 0; i < NEXP; i++)
		check_msg(&r->v[i], &e[i], stream, keep_limit, 0);
}

static void compare_recs(const struct recs *a, const struct recs *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		/* Field by field: struct padding is not compared. */
		assert_int_equal(a->v[i].h.cmd, b->v[i].h.cmd);
		assert_int_equal(a->v[i].h.dtype, b->v[i].h.dtype);
		assert_int_equal(a->v[i].h.size, b->v[i].h.size);
		assert_int_equal(a->v[i].h.count, b->v[i].h.count);
		assert_int_equal(a->v[i].h.p1, b->v[i].h.p1);
		assert_int_equal(a->v[i].h.p2, b->v[i].h.p2);
		assert_int_equal(a->v[i].h.hdr_len, b->v[i].h.hdr_len);
		assert_int_equal(a->v[i].h.extended, b->v[i].h.extended);
		assert_int_equal(a->v[i].flags, b->v[i].flags);
		assert_int_equal(a->v[i].payload_len, b->v[i].payload_len);
		if (a->v[i].payload_len)
			assert_memory_equal(a->v[i].payload, b->v[i].payload,
					    a->v[i].payload_len);
	}
}

/* ---- segmentation -------------------------------------------------------------- */

static void run_segmentations(size_t keep_limit)
{
	struct wire w = { 0 };
	struct expect e[NEXP];
	struct recs whole = { 0 }, bytes = { 0 };
	struct ca_stream s;
	size_t i, k;

	build_stream(&w, e);

	/* (a) the whole stream in one segment */
	ca_stream_init(&s, CA_DIR_RESPONSE, keep_limit, 1);
	feed(&s, w.b, w.n, &whole);
	assert_int_equal(s.resyncs, 0);
	assert_int_equal(s.state, CS_HEADER);
	ca_stream_end(&s, "test", on_msg, &whole);
	ca_stream_free(&s);
	check_all(&whole, e, w.b, keep_limit);

	/* (b) one byte at a time */
	ca_stream_init(&s, CA_DIR_RESPONSE, keep_limit, 1);
	feed_chunks(&s, w.b, w.n, 1, &bytes);
	assert_int_equal(s.resyncs, 0);
	ca_stream_end(&s, "test", on_msg, &bytes);
	ca_stream_free(&s);
	check_all(&bytes, e, w.b, keep_limit);
	compare_recs(&whole, &bytes);

	/* (c) two segments, split at every offset */
	for (k = 0; k <= w.n; k++) {
		struct recs r = { 0 };

		ca_stream_init(&s, CA_DIR_RESPONSE, keep_limit, 1);
		feed(&s, w.b, k, &r);
		feed(&s, w.b + k, w.n - k, &r);
		assert_int_equal(s.resyncs, 0);
		ca_stream_end(&s, "test", on_msg, &r);
		ca_stream_free(&s);
		if (r.n != NEXP)
			fail_msg("split at %zu: %zu messages", k, r.n);
		check_all(&r, e, w.b, keep_limit);
		compare_recs(&whole, &r);
		recs_free(&r);
	}

	/* (d) three segments: every pair of offsets around each boundary */
	for (i = 0; i < NEXP; i++) {
		size_t a, b, lo = e[i].off > 9 ? e[i].off - 9 : 0;

		for (a = lo; a <= e[i].off + 30 && a <= w.n; a++)
			for (b = a; b <= a + 30 && b <= w.n; b++) {
				struct recs r = { 0 };

				ca_stream_init(&s, CA_DIR_RESPONSE, keep_limit, 1);
				feed(&s, w.b, a, &r);
				feed(&s, w.b + a, b - a, &r);
				feed(&s, w.b + b, w.n - b, &r);
				ca_stream_free(&s);
				compare_recs(&whole, &r);
				recs_free(&r);
			}
	}
	recs_free(&whole);
	recs_free(&bytes);
}

static void test_segmentation(void **state)
{
	(void)state;
	run_segmentations(16384);
}

/* The same with a keep_limit smaller than two of the payloads. */
static void test_segmentation_small_keep(void **state)
{
	(void)state;
	run_segmentations(64);
}

/* ---- big payloads ------------------------------------------------------------- */

static void test_big_payload(void **state)
{
	const size_t keep = 16384, size = 200000;
	struct fixture *fx = *state;
	struct wire *w = &fx->w;
	struct recs *r = &fx->r;
	struct ca_stream *s = &fx->s;
	size_t off, i;

	wire_ca_ext_hdr(w, CA_PROTO_EVENT_ADD, (uint32_t)size, DBR_DOUBLE, 25000, ECA_NORMAL, 5);
	for (i = 0; i < size; i++)
		wire_u8(w, (unsigned)(i * 7 + (i >> 8)));
	wire_ca_hdr(w, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	wire_ca_hdr(w, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, ECA_NORMAL, 9);
	payload(w, 8, 3);

	ca_stream_init(s, CA_DIR_RESPONSE, keep, 1);
	for (off = 0; off < w->n; off += 1448) {
		feed(s, w->b + off, w->n - off < 1448 ? w->n - off : 1448, r);
		/* Memory stays bounded by keep_limit whatever the payload. */
		assert_true(s->keep_cap <= keep);
		assert_true(s->keep_len <= keep);
		assert_null(s->rbuf);
	}
	assert_int_equal(s->resyncs, 0);
	assert_int_equal(r->n, 3);
	assert_int_equal(r->v[0].h.cmd, CA_PROTO_EVENT_ADD);
	assert_true(r->v[0].h.extended);
	assert_int_equal(r->v[0].h.hdr_len, 24);
	assert_int_equal(r->v[0].h.size, size);
	assert_int_equal(r->v[0].h.count, 25000);
	assert_int_equal(r->v[0].flags, CA_MSG_BIG);
	assert_int_equal(r->v[0].payload_len, keep);
	assert_memory_equal(r->v[0].payload, w->b + 24, keep);
	assert_int_equal(r->v[1].h.cmd, CA_PROTO_ECHO);
	assert_int_equal(r->v[1].flags, 0);
	assert_int_equal(r->v[2].h.cmd, CA_PROTO_READ_NOTIFY);
	assert_int_equal(r->v[2].flags, 0);
	assert_int_equal(r->v[2].payload_len, 8);
	assert_memory_equal(r->v[2].payload, w->b + w->n - 8, 8);
	ca_stream_free(s);
	recs_free(r);

	/* The same in one 200 KB segment. */
	ca_stream_init(s, CA_DIR_RESPONSE, keep, 1);
	feed(s, w->b, w->n, r);
	assert_true(s->keep_cap <= keep);
	assert_int_equal(r->n, 3);
	assert_int_equal(r->v[0].flags, CA_MSG_BIG);
	assert_int_equal(r->v[0].payload_len, keep);
	assert_memory_equal(r->v[0].payload, w->b + 24, keep);
	ca_stream_free(s);
	recs_free(r);
}

/* ---- gaps ---------------------------------------------------------------------- */

/* M0 READ_NOTIFY(8), M1 EVENT_ADD(200), M2 ECHO, M3 READ_NOTIFY(8),
 * M4 ACCESS_RIGHTS, M5 READ_NOTIFY(8). */
#define NGAP 6
static void build_gap_stream(struct wire *w, size_t *off)
{
	off[0] = w->n;
	wire_ca_hdr(w, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, ECA_NORMAL, 1);
	payload(w, 8, 0);
	off[1] = w->n;
	wire_ca_hdr(w, CA_PROTO_EVENT_ADD, 200, DBR_CHAR, 200, ECA_NORMAL, 2);
	payload(w, 200, 1);
	off[2] = w->n;
	wire_ca_hdr(w, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	off[3] = w->n;
	wire_ca_hdr(w, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, ECA_NORMAL, 3);
	payload(w, 8, 2);
	off[4] = w->n;
	wire_ca_hdr(w, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 4, 3);
	off[5] = w->n;
	wire_ca_hdr(w, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, ECA_NORMAL, 5);
	payload(w, 8, 3);
	off[6] = w->n;
}

static void test_gap_in_payload(void **state)
{
	struct fixture *fx = *state;
	struct wire *w = &fx->w;
	struct recs *r = &fx->r;
	struct ca_stream *s = &fx->s;
	size_t off[NGAP + 1], cut, i;

	build_gap_stream(w, off);

	/* 40 bytes missing from the middle of M1's payload. */
	cut = off[1] + 16 + 50;
	ca_stream_init(s, CA_DIR_RESPONSE, 16384, 1);
	feed(s, w->b, cut, r);
	ca_stream_gap(s, 40, on_msg, r);
	feed(s, w->b + cut + 40, w->n - cut - 40, r);
	assert_int_equal(s->resyncs, 0);
	assert_int_equal(r->n, NGAP);
	assert_int_equal(r->v[0].flags, 0);
	assert_int_equal(r->v[1].h.cmd, CA_PROTO_EVENT_ADD);
	assert_int_equal(r->v[1].h.size, 200);
	assert_int_equal(r->v[1].flags, CA_MSG_TRUNCATED);
	assert_true(strlen(r->v[1].problem) > 0);
	/* What was kept is the contiguous prefix before the hole. */
	assert_int_equal(r->v[1].payload_len, 50);
	assert_memory_equal(r->v[1].payload, w->b + off[1] + 16, 50);
	for (i = 2; i < NGAP; i++) {
		assert_int_equal(r->v[i].flags, 0);
		assert_int_equal(r->v[i].h.p2, i == 2 ? 0 : (i == 4 ? 3 : i));
	}
	assert_int_equal(r->v[5].payload_len, 8);
	assert_memory_equal(r->v[5].payload, w->b + off[5] + 16, 8);
	ca_stream_free(s);
	recs_free(r);

	/* A hole that ends exactly where M1 ends. */
	ca_stream_init(s, CA_DIR_RESPONSE, 16384, 1);
	feed(s, w->b, cut, r);
	ca_stream_gap(s, off[2] - cut, on_msg, r);
	feed(s, w->b + off[2], w->n - off[2], r);
	assert_int_equal(s->resyncs, 0);
	assert_int_equal(r->n, NGAP);
	assert_int_equal(r->v[1].flags, CA_MSG_TRUNCATED);
	assert_int_equal(r->v[1].payload_len, 50);
	for (i = 2; i < NGAP; i++)
		assert_int_equal(r->v[i].flags, 0);
	ca_stream_free(s);
	recs_free(r);

	/* A hole as the very first payload bytes: nothing can be kept. */
	ca_stream_init(s, CA_DIR_RESPONSE, 16384, 1);
	feed(s, w->b, off[1] + 16, r);
	ca_stream_gap(s, 100, on_msg, r);
	feed(s, w->b + off[1] + 116, w->n - off[1] - 116, r);
	assert_int_equal(s->resyncs, 0);
	assert_int_equal(r->n, NGAP);
	assert_int_equal(r->v[1].flags, CA_MSG_TRUNCATED);
	assert_int_equal(r->v[1].payload_len, 0);
	ca_stream_free(s);
	recs_free(r);
}

static void test_gap_over_header(void **state)
{
	struct fixture *fx = *state;
	struct wire *w = &fx->w;
	struct recs *r = &fx->r;
	struct ca_stream *s = &fx->s;
	size_t off[NGAP + 1], cut;

	build_gap_stream(w, off);

	/* All of M1 (its header included) is missing. */
	ca_stream_init(s, CA_DIR_RESPONSE, 16384, 1);
	feed(s, w->b, off[1], r);
	ca_stream_gap(s, off[2] - off[1], on_msg, r);
	assert_int_equal(s->resyncs, 1);
	feed(s, w->b + off[2], w->n - off[2], r);
	assert_int_equal(s->resyncs, 1);
	assert_int_equal(r->n, 5);
	assert_int_equal(r->v[0].h.p2, 1);
	assert_int_equal(r->v[0].flags, 0);
	assert_int_equal(r->v[1].h.cmd, CA_PROTO_ECHO);
	assert_int_equal(r->v[1].flags, CA_MSG_RESYNC);
	assert_int_equal(r->v[2].h.cmd, CA_PROTO_READ_NOTIFY);
	assert_int_equal(r->v[2].h.p2, 3);
	assert_int_equal(r->v[2].flags, 0);
	assert_int_equal(r->v[2].payload_len, 8);
	assert_memory_equal(r->v[2].payload, w->b + off[3] + 16, 8);
	assert_int_equal(r->v[3].h.cmd, CA_PROTO_ACCESS_RIGHTS);
	assert_int_equal(r->v[3].flags, 0);
	assert_int_equal(r->v[4].h.p2, 5);
	assert_int_equal(r->v[4].flags, 0);
	ca_stream_free(s);
	recs_free(r);

	/* From the middle of M1's payload to the middle of M2's header: M1 is
	 * truncated, M2 lost, M3 found again after skipping 8 bytes. */
	cut = off[1] + 16 + 50;
	ca_stream_init(s, CA_DIR_RESPONSE, 16384, 1);
	feed(s, w->b, cut, r);
	ca_stream_gap(s, off[2] + 8 - cut, on_msg, r);
	feed(s, w->b + off[2] + 8, w->n - off[2] - 8, r);
	assert_int_equal(s->resyncs, 1);
	assert_int_equal(r->n, 5);
	assert_int_equal(r->v[0].flags, 0);
	assert_int_equal(r->v[1].h.cmd, CA_PROTO_EVENT_ADD);
	assert_int_equal(r->v[1].flags, CA_MSG_TRUNCATED);
	assert_int_equal(r->v[1].payload_len, 50);
	assert_int_equal(r->v[2].h.cmd, CA_PROTO_READ_NOTIFY);
	assert_int_equal(r->v[2].h.p2, 3);
	assert_int_equal(r->v[2].flags, CA_MSG_RESYNC);
	assert_memory_equal(r->v[2].payload, w->b + off[3] + 16, 8);
	assert_int_equal(r->v[3].flags, 0);
	assert_int_equal(r->v[4].flags, 0);
	assert_int_equal(r->v[4].h.p2, 5);
	ca_stream_free(s);
	recs_free(r);

	/* A hole inside a header being collected. */
	ca_stream_init(s, CA_DIR_RESPONSE, 16384, 1);
	feed(s, w->b, off[3] + 5, r);
	ca_stream_gap(s, off[4] - off[3] - 5, on_msg, r);
	feed(s, w->b + off[4], w->n - off[4], r);
	assert_int_equal(s->resyncs, 1);
	assert_int_equal(r->n, 5);
	assert_int_equal(r->v[2].h.cmd, CA_PROTO_ECHO);
	assert_int_equal(r->v[2].flags, 0);
	assert_int_equal(r->v[3].h.cmd, CA_PROTO_ACCESS_RIGHTS);
	assert_int_equal(r->v[3].flags, CA_MSG_RESYNC);
	assert_int_equal(r->v[4].h.p2, 5);
	assert_int_equal(r->v[4].flags, 0);
	ca_stream_free(s);
	recs_free(r);
}

/* After a hole the framer must find the same messages however the bytes
 * that follow are cut into segments (the in-sync guarantee of
 * test_segmentation, carried over to resynchronisation).  The hole runs
 * from the middle of M1's payload to the middle of M2's (ECHO) header, so
 * the first bytes seen are the 8 zero bytes of ECHO's p1/p2 followed by
 * M3's header. */
static bool check_after_hole(const struct recs *r, const uint8_t *stream,
			     const size_t *off, const char *how, size_t k)
{
	static const unsigned want_cmd[5] = {
		CA_PROTO_READ_NOTIFY, CA_PROTO_EVENT_ADD, CA_PROTO_READ_NOTIFY,
		CA_PROTO_ACCESS_RIGHTS, CA_PROTO_READ_NOTIFY,
	};
	static const uint32_t want_p2[5] = { 1, 2, 3, 3, 5 };
	static const unsigned want_flags[5] = {
		0, CA_MSG_TRUNCATED, CA_MSG_RESYNC, 0, 0,
	};
	size_t i;

	if (r->n != 5) {
		print_message("%s%zu: %zu messages, want 5; first after the hole: "
			      "cmd %u size %u dtype %u count %u p1 %u p2 %u flags %u\n",
			      how, k, r->n,
			      r->n > 2 ? r->v[2].h.cmd : 0, r->n > 2 ? r->v[2].h.size : 0,
			      r->n > 2 ? r->v[2].h.dtype : 0, r->n > 2 ? r->v[2].h.count : 0,
			      r->n > 2 ? r->v[2].h.p1 : 0, r->n > 2 ? r->v[2].h.p2 : 0,
			      r->n > 2 ? r->v[2].flags : 0);
		return false;
	}
	for (i = 0; i < 5; i++) {
		if (r->v[i].h.cmd != want_cmd[i] || r->v[i].h.p2 != want_p2[i] ||
		    r->v[i].flags != want_flags[i]) {
			print_message("%s%zu: message %zu is cmd %u p2 %u flags %u, "
				      "want cmd %u p2 %u flags %u\n", how, k, i,
				      r->v[i].h.cmd, r->v[i].h.p2, r->v[i].flags,
				      want_cmd[i], want_p2[i], want_flags[i]);
			return false;
		}
	}
	return memcmp(r->v[2].payload, stream + off[3] + 16, 8) == 0 &&
	       memcmp(r->v[4].payload, stream + off[5] + 16, 8) == 0;
}

static void test_resync_any_segmentation(void **state)
{
	struct wire w = { 0 };
	struct ca_stream s;
	size_t off[NGAP + 1], cut, from, k, bad = 0;

	(void)state;
	build_gap_stream(&w, off);
	cut = off[1] + 16 + 50;
	from = off[2] + 8;

	/* Two segments after the hole, split at every offset. */
	for (k = from; k <= w.n; k++) {
		struct recs r = { 0 };

		ca_stream_init(&s, CA_DIR_RESPONSE, 16384, 1);
		feed(&s, w.b, cut, &r);
		ca_stream_gap(&s, from - cut, on_msg, &r);
		feed(&s, w.b + from, k - from, &r);
		feed(&s, w.b + k, w.n - k, &r);
		ca_stream_end(&s, "test", on_msg, &r);
		assert_int_equal(s.resyncs, 1);
		if (!check_after_hole(&r, w.b, off, "split after the hole at +", k - from))
			bad++;
		ca_stream_free(&s);
		recs_free(&r);
	}

	/* One byte at a time after the hole. */
	{
		struct recs r = { 0 };

		ca_stream_init(&s, CA_DIR_RESPONSE, 16384, 1);
		feed(&s, w.b, cut, &r);
		ca_stream_gap(&s, from - cut, on_msg, &r);
		feed_chunks(&s, w.b + from, w.n - from, 1, &r);
		ca_stream_end(&s, "test", on_msg, &r);
		assert_int_equal(s.resyncs, 1);
		if (!check_after_hole(&r, w.b, off, "one byte at a time, chunk ", 1))
			bad++;
		ca_stream_free(&s);
		recs_free(&r);
	}
	if (bad)
		fail_msg("%zu segmentations after the hole lost the stream", bad);
}

static void test_start_mid_message(void **state)
{
	struct fixture *fx = *state;
	struct wire *w = &fx->w;
	struct recs *r = &fx->r;
	struct ca_stream *s = &fx->s;
	size_t off[NGAP + 1], start;

	build_gap_stream(w, off);

	/* Joined in the middle of M1's payload. */
	start = off[1] + 16 + 77;
	ca_stream_init(s, CA_DIR_RESPONSE, 16384, 0);
	assert_int_equal(s->state, CS_RESYNC);
	feed(s, w->b + start, w->n - start, r);
	assert_int_equal(r->n, 4);
	assert_int_equal(r->v[0].h.cmd, CA_PROTO_ECHO);
	assert_int_equal(r->v[0].flags, CA_MSG_RESYNC);
	assert_int_equal(r->v[1].h.cmd, CA_PROTO_READ_NOTIFY);
	assert_int_equal(r->v[1].h.p2, 3);
	assert_int_equal(r->v[1].flags, 0);
	assert_memory_equal(r->v[1].payload, w->b + off[3] + 16, 8);
	assert_int_equal(r->v[3].h.p2, 5);
	assert_int_equal(r->v[3].flags, 0);
	assert_int_equal(s->resyncs, 1);
	assert_int_equal(s->skipped, off[2] - start);
	ca_stream_free(s);
	recs_free(r);

	/* Joined in the middle of M1's header, fed in small segments. */
	start = off[1] + 3;
	ca_stream_init(s, CA_DIR_RESPONSE, 16384, 0);
	feed_chunks(s, w->b + start, w->n - start, 7, r);
	ca_stream_end(s, "test", on_msg, r);
	assert_int_equal(r->n, 4);
	assert_int_equal(r->v[0].h.cmd, CA_PROTO_ECHO);
	assert_int_equal(r->v[0].flags, CA_MSG_RESYNC);
	assert_int_equal(r->v[3].h.p2, 5);
	assert_int_equal(r->v[3].flags, 0);
	assert_int_equal(s->resyncs, 1);
	ca_stream_free(s);
	recs_free(r);

	/* Joined exactly on a boundary: nothing skipped, nothing counted. */
	ca_stream_init(s, CA_DIR_RESPONSE, 16384, 0);
	feed(s, w->b + off[2], w->n - off[2], r);
	assert_int_equal(r->n, 4);
	assert_int_equal(r->v[0].h.cmd, CA_PROTO_ECHO);
	assert_int_equal(r->v[0].flags, 0);
	assert_int_equal(s->resyncs, 0);
	assert_int_equal(s->skipped, 0);
	ca_stream_free(s);
	recs_free(r);
}

/* ---- junk ---------------------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rng(void)
{
	/* xorshift64*, fixed seed: reproducible. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static void test_zero_run(void **state)
{
	const size_t total = 1u << 20;
	uint8_t *z = calloc(1, total);
	struct recs r = { 0 };
	struct ca_stream s;

	(void)state;
	assert_non_null(z);
	ca_stream_init(&s, CA_DIR_RESPONSE, 16384, 0);
	feed_chunks(&s, z, total, 1448, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(s.state, CS_RESYNC);
	assert_true(s.rlen <= CA_STREAM_RESYNC_WINDOW);
	/* In one huge segment too. */
	feed(&s, z, total, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(s.resyncs, 1);
	ca_stream_end(&s, "test", on_msg, &r);
	assert_int_equal(r.n, 0);
	ca_stream_free(&s);

	/* In sync, then a gap, then zeros (a lost big array's tail). */
	ca_stream_init(&s, CA_DIR_REQUEST, 16384, 1);
	ca_stream_gap(&s, 1000, on_msg, &r);
	feed_chunks(&s, z, total, 1000, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(s.resyncs, 1);
	ca_stream_free(&s);
	free(z);
}

static void test_random_run(void **state)
{
	const size_t total = 1u << 20;
	uint8_t *d = malloc(total);
	struct recs r = { 0 };
	struct ca_stream s;
	struct wire w = { 0 };
	size_t off[NGAP + 1], i;
	int dir;

	(void)state;
	assert_non_null(d);
	rng_state = 0x9E3779B97F4A7C15ull;
	for (i = 0; i < total; i++)
		d[i] = (uint8_t)rng();
	for (dir = 0; dir < 2; dir++) {
		ca_stream_init(&s, (enum ca_dir)dir, 16384, 0);
		for (i = 0; i < total;) {
			size_t n = 1 + rng() % 3000;

			if (n > total - i)
				n = total - i;
			feed(&s, d + i, n, &r);
			i += n;
		}
		assert_int_equal(r.n, 0);
		assert_int_equal(s.state, CS_RESYNC);
		assert_int_equal(s.resyncs, 1);
		assert_true(s.skipped > total - CA_STREAM_RESYNC_WINDOW);
		ca_stream_free(&s);
	}

	/* After the junk and a hole, real messages are found again. */
	build_gap_stream(&w, off);
	ca_stream_init(&s, CA_DIR_RESPONSE, 16384, 0);
	feed_chunks(&s, d, total, 1448, &r);
	ca_stream_gap(&s, 5000, on_msg, &r);
	feed(&s, w.b, w.n, &r);
	assert_int_equal(r.n, NGAP);
	assert_int_equal(r.v[0].flags, CA_MSG_RESYNC);
	assert_int_equal(r.v[0].h.p2, 1);
	assert_int_equal(r.v[5].h.p2, 5);
	assert_int_equal(r.v[5].flags, 0);
	assert_int_equal(s.resyncs, 1);
	ca_stream_free(&s);
	recs_free(&r);
	free(d);
}

/* ---- end of stream ------------------------------------------------------------- */

static void test_end_mid_payload(void **state)
{
	struct fixture *fx = *state;
	struct wire *w = &fx->w;
	struct recs *r = &fx->r;
	struct ca_stream *s = &fx->s;
	size_t off[NGAP + 1];

	build_gap_stream(w, off);

	ca_stream_init(s, CA_DIR_RESPONSE, 16384, 1);
	feed(s, w->b, off[1] + 16 + 120, r);
	assert_int_equal(r->n, 1);
	ca_stream_end(s, "FIN", on_msg, r);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->v[1].h.cmd, CA_PROTO_EVENT_ADD);
	assert_int_equal(r->v[1].h.size, 200);
	assert_int_equal(r->v[1].h.p2, 2);
	assert_int_equal(r->v[1].flags, CA_MSG_TRUNCATED);
	assert_int_equal(r->v[1].payload_len, 120);
	assert_memory_equal(r->v[1].payload, w->b + off[1] + 16, 120);
	assert_true(strlen(r->v[1].problem) > 0);
	/* Ending twice reports nothing more. */
	ca_stream_end(s, "FIN", on_msg, r);
	assert_int_equal(r->n, 2);
	ca_stream_free(s);
	recs_free(r);

	/* Ending inside a header. */
	ca_stream_init(s, CA_DIR_RESPONSE, 16384, 1);
	feed(s, w->b, off[2] + 6, r);
	assert_int_equal(r->n, 2);
	ca_stream_end(s, "RST", on_msg, r);
	assert_int_equal(r->n, 3);
	assert_int_equal(r->v[2].h.cmd, CA_PROTO_ECHO);
	assert_int_equal(r->v[2].flags, CA_MSG_TRUNCATED);
	assert_int_equal(r->v[2].payload_len, 0);
	ca_stream_free(s);
	recs_free(r);

	/* Ending on a boundary reports nothing. */
	ca_stream_init(s, CA_DIR_RESPONSE, 16384, 1);
	feed(s, w->b, off[3], r);
	assert_int_equal(r->n, 3);
	ca_stream_end(s, "FIN", on_msg, r);
	assert_int_equal(r->n, 3);
	ca_stream_free(s);
	recs_free(r);
}

/* ---- after a hole (issue 16) --------------------------------------------------- */

/* A time-stamped double update: 16 + 24 bytes, sized exactly for its type. */
static void wire_update(struct wire *w, uint32_t subid)
{
	wire_ca_hdr(w, CA_PROTO_EVENT_ADD, 24, (DBR_TIME_STRING + DBR_DOUBLE), 1, 1, subid);
	payload(w, 24, subid);
}

/* After a hole, a segment that holds exactly one message whose size does
 * not follow from its type and count (a cancel confirmation: size 0; a
 * dynamic array's count-0 reply with its padding) is a message, not
 * noise: it begins a segment and ends exactly where the segment ends. */
static void test_lone_message_segment_after_hole(void **state)
{
	struct recs r = { 0 };
	struct ca_stream s;
	struct wire a, b, c;

	(void)state;
	a.n = b.n = c.n = 0;
	wire_ca_hdr(&a, CA_PROTO_EVENT_ADD, 0, (DBR_TIME_STRING + DBR_DOUBLE), 1, 1, 7);   /* confirm */
	wire_ca_ext_hdr(&b, CA_PROTO_READ_NOTIFY, 8, (DBR_TIME_STRING + DBR_DOUBLE), 0, 1, 9);
	payload(&b, 8, 3);
	wire_update(&c, 5);
	ca_stream_init(&s, CA_DIR_RESPONSE, 16384, 1);
	feed(&s, c.b, c.n, &r);
	ca_stream_gap(&s, 300, on_msg, &r);   /* a lost segment */
	feed(&s, a.b, a.n, &r);
	ca_stream_gap(&s, 40, on_msg, &r);
	feed(&s, b.b, b.n, &r);
	ca_stream_gap(&s, 40, on_msg, &r);
	feed(&s, c.b, c.n, &r);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.v[1].h.cmd, CA_PROTO_EVENT_ADD);
	assert_int_equal(r.v[1].h.size, 0);
	assert_int_equal(r.v[1].h.p2, 7);
	assert_int_equal(r.v[2].h.cmd, CA_PROTO_READ_NOTIFY);
	assert_int_equal(r.v[2].h.count, 0);
	assert_int_equal(r.v[2].h.p2, 9);
	assert_int_equal(r.v[3].h.p2, 5);
	ca_stream_free(&s);
	recs_free(&r);
}

/* Two holes close together: the first leaves the framer searching, and
 * a plausible header inside the cut message's tail claims 4000 bytes, so
 * the search waits for more; the second hole must not throw away the
 * whole messages that came between them. */
static void test_messages_between_two_holes(void **state)
{
	struct recs r = { 0 };
	struct ca_stream s;
	struct wire seg1, seg2, after;
	unsigned i;

	(void)state;
	seg1.n = seg2.n = after.n = 0;
	payload(&seg1, 20, 1);        /* the tail of a message cut by hole 1 */
	/* In that tail: what reads as a READ_NOTIFY reply of 3992 bytes
	 * (believable, not exact: it must wait for its bytes). */
	wire_ca_hdr(&seg1, CA_PROTO_READ_NOTIFY, 3992, DBR_CHAR, 3999, 1, 3);
	payload(&seg1, 12, 2);
	for (i = 0; i < 5; i++)
		wire_update(&seg1, 10 + i);
	for (i = 0; i < 5; i++)
		wire_update(&seg2, 20 + i);
	wire_update(&after, 30);
	ca_stream_init(&s, CA_DIR_RESPONSE, 16384, 1);
	ca_stream_gap(&s, 500, on_msg, &r);      /* hole 1: out of sync */
	feed(&s, seg1.b, seg1.n, &r);
	feed(&s, seg2.b, seg2.n, &r);
	ca_stream_gap(&s, 500, on_msg, &r);      /* hole 2 */
	feed(&s, after.b, after.n, &r);
	ca_stream_end(&s, "FIN", on_msg, &r);
	assert_int_equal(r.n, 11);
	for (i = 0; i < 10; i++) {
		assert_int_equal(r.v[i].h.cmd, CA_PROTO_EVENT_ADD);
		assert_int_equal(r.v[i].h.p2, (i < 5 ? 10 : 15) + i);
		assert_int_equal(r.v[i].flags & (CA_MSG_TRUNCATED | CA_MSG_MALFORMED), 0);
	}
	assert_int_equal(r.v[10].h.p2, 30);
	ca_stream_free(&s);
	recs_free(&r);
}

/* Where messages begin, as sequence numbers, and their raw headers:
 * whole in one segment, split across segments (header and payload), after
 * a gap that ends a payload, and found again by a resync (the bytes the
 * search hands back keep their positions). */
static void test_message_positions(void **state)
{
	struct ca_stream s;
	struct recs r = { 0 };
	struct wire w = { .n = 0 };
	uint8_t junk[5] = { 0xff, 0xfe, 0xfd, 0xfc, 0xfb };

	(void)state;
	ca_stream_init(&s, CA_DIR_RESPONSE, 1 << 16, 1);
	ca_stream_seq(&s, 1000);
	wire_ca_hdr(&w, CA_PROTO_ECHO, 0, 0, 0, 0, 0);               /* 1000 */
	wire_ca_ext_hdr(&w, CA_PROTO_READ_NOTIFY, 8, 6, 1, 1, 2);   /* 1016 */
	wire_fill(&w, 0, 8);
	feed(&s, w.b, 20, &r);           /* the second header split */
	feed(&s, w.b + 20, w.n - 20, &r);
	assert_int_equal(r.n, 2);
	assert_true(r.v[0].at_known);
	assert_int_equal(r.v[0].at, 1000);
	assert_int_equal(r.v[0].raw_hdr_len, 16);
	assert_true(r.v[1].at_known);
	assert_int_equal(r.v[1].at, 1016);
	assert_int_equal(r.v[1].raw_hdr_len, 24);
	assert_memory_equal(r.v[1].raw_hdr, w.b + 16, 24);
	/* A gap of 5 bytes, then junk to resync over, then an ECHO. */
	ca_stream_gap(&s, 5, on_msg, &r);            /* 1048..1053 */
	w.n = 0;
	memcpy(wire_room(&w, sizeof(junk)), junk, sizeof(junk));  /* 1053 */
	wire_ca_hdr(&w, CA_PROTO_ECHO, 0, 0, 0, 0, 0);            /* 1058 */
	wire_ca_hdr(&w, CA_PROTO_ECHO, 0, 0, 0, 0, 0);            /* 1074 */
	wire_ca_hdr(&w, CA_PROTO_ECHO, 0, 0, 0, 0, 0);            /* 1090 */
	feed(&s, w.b, w.n, &r);
	ca_stream_end(&s, "end", on_msg, &r);
	assert_true(r.n >= 3);
	assert_true(r.v[2].at_known);
	assert_int_equal(r.v[2].at, 1058);
	assert_int_equal(r.v[r.n - 1].at, 1090);
	ca_stream_free(&s);
	recs_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segmentation),
		cmocka_unit_test(test_segmentation_small_keep),
		cmocka_unit_test_setup_teardown(test_big_payload, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_gap_in_payload, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_gap_over_header, fx_setup, fx_teardown),
		cmocka_unit_test(test_resync_any_segmentation),
		cmocka_unit_test_setup_teardown(test_start_mid_message, fx_setup, fx_teardown),
		cmocka_unit_test(test_zero_run),
		cmocka_unit_test(test_random_run),
		cmocka_unit_test_setup_teardown(test_end_mid_payload, fx_setup, fx_teardown),
		cmocka_unit_test(test_lone_message_segment_after_hole),
		cmocka_unit_test(test_messages_between_two_holes),
		cmocka_unit_test(test_message_positions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
