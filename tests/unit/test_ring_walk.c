/* Unit tests for user/ring_walk.c on a ring laid out as the kernel lays
 * out a BPF ring buffer: the data pages mapped twice in a row (memfd), an
 * 8-byte header per record (length, BUSY and DISCARD bits), positions that
 * only grow.  The producer here is the test, writing records as
 * kernel/bpf/ringbuf.c does. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ring_walk.h"

#define RING 4096   /* one page: the smallest ring */

struct ring {
	uint8_t *data;          /* RING bytes, then the same RING bytes again */
	unsigned long cons, prod;
	struct ring_view v;
};

static void ring_open(struct ring *r, size_t publish_every)
{
	int fd = memfd_create("ring", 0);
	uint8_t *base;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, RING), 0);
	base = mmap(NULL, 2 * RING, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(base != MAP_FAILED);
	assert_true(mmap(base, RING, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == base);
	assert_true(mmap(base + RING, RING, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
		    base + RING);
	close(fd);
	memset(r, 0, sizeof(*r));
	r->data = base;
	r->v.consumer_pos = &r->cons;
	r->v.producer_pos = &r->prod;
	r->v.data = base;
	r->v.size = RING;
	r->v.publish_every = publish_every;
}

static void ring_close(struct ring *r)
{
	munmap(r->data, 2 * RING);
}

/* Reserve and fill a record of n bytes, each byte = tag; flags are the
 * header bits it is left with (0: committed). */
static void produce(struct ring *r, size_t n, uint8_t tag, uint32_t flags)
{
	uint8_t *h = r->data + (r->prod & (RING - 1));
	uint32_t len = (uint32_t)n | flags;

	memcpy(h, &len, 4);
	memset(h + 4, 0, 4);
	memset(h + RING_HDR_LEN, tag, n);   /* may run into the second mapping */
	r->prod += (n + RING_HDR_LEN + 7) & ~7ul;
}

static void set_flags(struct ring *r, unsigned long pos, uint32_t len)
{
	memcpy(r->data + (pos & (RING - 1)), &len, 4);
}

struct seen {
	int n;
	size_t size[64];
	uint8_t tag[64];
	bool intact[64];
};

static void on_rec(void *ctx, const void *data, size_t size)
{
	struct seen *s = ctx;
	const uint8_t *p = data;
	size_t i;

	assert_true(s->n < 64);
	s->size[s->n] = size;
	s->tag[s->n] = size ? p[0] : 0;
	s->intact[s->n] = true;
	for (i = 0; i < size; i++)
		if (p[i] != p[0])
			s->intact[s->n] = false;
	s->n++;
}

static void test_records_in_order_and_published(void **state)
{
	struct ring r;
	struct seen s = { 0 };
	unsigned long end;

	(void)state;
	ring_open(&r, 1 << 20);   /* publish only at the end of a walk */
	produce(&r, 64 + 8, 1, 0);
	produce(&r, 1, 2, 0);          /* padded to 8 */
	produce(&r, 200, 3, RING_DISCARD_BIT);
	produce(&r, 64 + 24, 4, 0);
	end = r.prod;
	assert_int_equal(ring_walk(&r.v, on_rec, &s), 3);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.size[0], 72);
	assert_int_equal(s.tag[0], 1);
	assert_int_equal(s.size[1], 1);
	assert_int_equal(s.tag[1], 2);
	assert_int_equal(s.size[2], 88);
	assert_int_equal(s.tag[2], 4);
	assert_true(s.intact[0] && s.intact[1] && s.intact[2]);
	assert_int_equal(r.cons, end);
	/* Nothing new: nothing handed over, position unchanged. */
	assert_int_equal(ring_walk(&r.v, on_rec, &s), 0);
	assert_int_equal(r.cons, end);
	ring_close(&r);
}

static void test_stops_at_busy_record(void **state)
{
	struct ring r;
	struct seen s = { 0 };
	unsigned long busy_at;

	(void)state;
	ring_open(&r, 1 << 20);
	produce(&r, 16, 1, 0);
	busy_at = r.prod;
	produce(&r, 16, 2, RING_BUSY_BIT);  /* still being written */
	produce(&r, 16, 3, 0);              /* committed after it */
	assert_int_equal(ring_walk(&r.v, on_rec, &s), 1);
	assert_int_equal(r.cons, busy_at);
	/* The producer commits it: both come out, in order. */
	set_flags(&r, busy_at, 16);
	assert_int_equal(ring_walk(&r.v, on_rec, &s), 2);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.tag[1], 2);
	assert_int_equal(s.tag[2], 3);
	assert_int_equal(r.cons, r.prod);
	ring_close(&r);
}

/* Many laps around the ring, records crossing the end, the consumer
 * position published in batches as it goes. */
static void test_wraps_and_publishes_in_batches(void **state)
{
	struct ring r;
	struct seen s;
	int lap, i;

	(void)state;
	ring_open(&r, 512);
	for (lap = 0; lap < 40; lap++) {
		memset(&s, 0, sizeof(s));
		/* 10 records of 96..384 bytes: under a ring's worth. */
		for (i = 0; i < 10; i++)
			produce(&r, 96 + (size_t)((lap * 7 + i * 29) % 289), (uint8_t)(lap * 10 + i + 1), 0);
		assert_int_equal(ring_walk(&r.v, on_rec, &s), 10);
		for (i = 0; i < 10; i++) {
			assert_int_equal(s.tag[i], (uint8_t)(lap * 10 + i + 1));
			assert_true(s.intact[i]);
		}
		assert_int_equal(r.cons, r.prod);
	}
	assert_true(r.prod > 8 * RING);  /* it did go around */
	ring_close(&r);
}

/* The consumer position is published during a long walk, not only at its
 * end: checked from inside the callback. */
struct pub_check {
	struct ring *r;
	unsigned long max_lag;
	unsigned long handed;   /* end position of the records handed so far */
};

static void on_rec_lag(void *ctx, const void *data, size_t size)
{
	struct pub_check *p = ctx;
	unsigned long lag;

	(void)data;
	p->handed += (size + RING_HDR_LEN + 7) & ~7ul;
	lag = p->handed - p->r->cons;
	if (lag > p->max_lag)
		p->max_lag = lag;
}

static void test_publishes_during_walk(void **state)
{
	struct ring r;
	struct pub_check p;
	int i;

	(void)state;
	ring_open(&r, 256);
	for (i = 0; i < 30; i++)
		produce(&r, 56, 1, 0);   /* 64 bytes each: 1920 bytes */
	p.r = &r;
	p.max_lag = 0;
	p.handed = r.cons;
	assert_int_equal(ring_walk(&r.v, on_rec_lag, &p), 30);
	/* Never more than publish_every + one record behind. */
	assert_true(p.max_lag <= 256 + 64);
	assert_int_equal(r.cons, r.prod);
	ring_close(&r);
}

static void test_impossible_header(void **state)
{
	struct ring r;
	struct seen s = { 0 };
	unsigned long bad;
	uint32_t len = RING * 2;

	(void)state;
	ring_open(&r, 1 << 20);
	produce(&r, 8, 1, 0);
	bad = r.prod;
	produce(&r, 8, 2, 0);
	set_flags(&r, bad, len);
	assert_int_equal(ring_walk(&r.v, on_rec, &s), -1);
	assert_int_equal(s.n, 1);
	assert_int_equal(r.cons, bad);   /* the good one is consumed, no further */
	ring_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_in_order_and_published),
		cmocka_unit_test(test_stops_at_busy_record),
		cmocka_unit_test(test_wraps_and_publishes_in_batches),
		cmocka_unit_test(test_publishes_during_walk),
		cmocka_unit_test(test_impossible_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
