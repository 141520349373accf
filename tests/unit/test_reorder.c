/* Unit tests for reorder: live records released in time-stamp order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "reorder.h"

struct got {
	uint64_t v[64];
	size_t n;
};

/* Records here are a u64: their own time stamp. */
static void collect(void *ctx, const void *rec, size_t size)
{
	struct got *g = ctx;

	assert_int_equal(size, sizeof(uint64_t));
	memcpy(&g->v[g->n++], rec, sizeof(uint64_t));
}

static void push(struct reorder *r, uint64_t ts, struct got *g)
{
	reorder_push(r, ts, &ts, sizeof(ts), collect, g);
}

static void test_time_order_within_window(void **state)
{
	struct reorder r;
	struct got g = { .n = 0 };
	const uint64_t in[] = { 30, 10, 20, 50, 40 };
	size_t i;

	(void)state;
	reorder_init(&r, 1 << 20);
	for (i = 0; i < 5; i++)
		push(&r, in[i], &g);
	assert_int_equal(g.n, 0);
	assert_int_equal(reorder_oldest(&r), 10);
	reorder_release(&r, 30, collect, &g);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.v[0], 10);
	assert_int_equal(g.v[1], 20);
	assert_int_equal(g.v[2], 30);
	reorder_release(&r, UINT64_MAX, collect, &g);
	assert_int_equal(g.n, 5);
	assert_int_equal(g.v[3], 40);
	assert_int_equal(g.v[4], 50);
	assert_int_equal(reorder_oldest(&r), UINT64_MAX);
	reorder_free(&r);
}

/* Equal time stamps keep the order they arrived in: the records of one
 * packet, or of one flow, never swap. */
static void tag_collect(void *ctx, const void *rec, size_t size)
{
	struct got *g = ctx;
	uint64_t v[2];

	assert_int_equal(size, sizeof(v));
	memcpy(v, rec, sizeof(v));
	g->v[g->n++] = v[1];
}

static void test_ties_keep_arrival_order(void **state)
{
	struct reorder r;
	struct got g = { .n = 0 };
	uint64_t i;

	(void)state;
	reorder_init(&r, 1 << 20);
	for (i = 0; i < 20; i++) {
		uint64_t v[2] = { 7, i };

		reorder_push(&r, 7, v, sizeof(v), tag_collect, &g);
	}
	reorder_release(&r, 7, tag_collect, &g);
	assert_int_equal(g.n, 20);
	for (i = 0; i < 20; i++)
		assert_int_equal(g.v[i], i);
	reorder_free(&r);
}

/* Past the memory bound the oldest goes out at once: nothing is lost. */
static void test_bound_releases_oldest(void **state)
{
	struct reorder r;
	struct got g = { .n = 0 };

	(void)state;
	reorder_init(&r, 3 * sizeof(uint64_t));
	push(&r, 5, &g);
	push(&r, 3, &g);
	push(&r, 4, &g);
	assert_int_equal(g.n, 0);
	push(&r, 9, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.v[0], 3);
	reorder_release(&r, UINT64_MAX, collect, &g);
	assert_int_equal(g.n, 4);
	assert_int_equal(g.v[1], 4);
	assert_int_equal(g.v[2], 5);
	assert_int_equal(g.v[3], 9);
	reorder_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_order_within_window),
		cmocka_unit_test(test_ties_keep_arrival_order),
		cmocka_unit_test(test_bound_releases_oldest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
