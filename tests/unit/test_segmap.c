/* Unit tests for user/segmap.c: where recent segments of a direction were. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "segmap.h"

static const struct flow_key KEY = { 0x0a000001, 0x0a000002, 40000, 5064 };
static const struct flow_key OTHER = { 0x0a000003, 0x0a000002, 40001, 5064 };

static void note(struct segmap *m, const struct flow_key *k, enum ca_dir dir,
		 uint32_t seq, uint32_t len, uint64_t frame)
{
	struct seg_pos p = { seq, len, 66, frame };

	segmap_note(m, k, dir, &p);
}

/* A byte is found in the segment holding it, per direction and flow;
 * sequence numbers wrap. */
static void test_find(void **state)
{
	struct segmap m;
	struct seg_pos p;

	(void)state;
	segmap_init(&m);
	note(&m, &KEY, CA_DIR_REQUEST, 0xfffffff0u, 32, 7);   /* wraps */
	note(&m, &KEY, CA_DIR_REQUEST, 16, 100, 8);
	note(&m, &KEY, CA_DIR_RESPONSE, 16, 100, 9);
	assert_true(seg_ring_find(segmap_ring(&m, &KEY, CA_DIR_REQUEST), 5, &p));
	assert_int_equal(p.frame, 7);
	assert_true(seg_ring_find(segmap_ring(&m, &KEY, CA_DIR_REQUEST), 0xfffffff0u, &p));
	assert_int_equal(p.frame, 7);
	assert_true(seg_ring_find(segmap_ring(&m, &KEY, CA_DIR_REQUEST), 115, &p));
	assert_int_equal(p.frame, 8);
	assert_false(seg_ring_find(segmap_ring(&m, &KEY, CA_DIR_REQUEST), 116, &p));
	assert_true(seg_ring_find(segmap_ring(&m, &KEY, CA_DIR_RESPONSE), 16, &p));
	assert_int_equal(p.frame, 9);
	assert_null(segmap_ring(&m, &OTHER, CA_DIR_REQUEST));
	assert_false(seg_ring_find(NULL, 16, &p));
	segmap_forget(&m, &KEY);
	assert_null(segmap_ring(&m, &KEY, CA_DIR_REQUEST));
	assert_null(segmap_ring(&m, &KEY, CA_DIR_RESPONSE));
	segmap_free(&m);
}

/* Only the last SEGMAP_KEEP segments are kept; a retransmission found is
 * the newest. */
static void test_bounded(void **state)
{
	struct segmap m;
	struct seg_pos p;
	uint32_t i;

	(void)state;
	segmap_init(&m);
	for (i = 0; i < SEGMAP_KEEP + 10; i++)
		note(&m, &KEY, CA_DIR_REQUEST, i * 10, 10, i + 1);
	assert_false(seg_ring_find(segmap_ring(&m, &KEY, CA_DIR_REQUEST), 0, &p));
	assert_true(seg_ring_find(segmap_ring(&m, &KEY, CA_DIR_REQUEST), 10 * 10, &p));
	assert_int_equal(p.frame, 11);
	note(&m, &KEY, CA_DIR_REQUEST, 100, 10, 500);   /* retransmitted */
	assert_true(seg_ring_find(segmap_ring(&m, &KEY, CA_DIR_REQUEST), 105, &p));
	assert_int_equal(p.frame, 500);
	segmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
