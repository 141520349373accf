/* Unit tests for user/ipfrag.c: IPv4 reassembly with a receiver's rules.
 * Every fragment is handed over in a heap copy of exactly its bytes, so
 * AddressSanitizer reports any read past it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ipfrag.h"

#define SEC 1000000000ull

/* A datagram's payload: recognisable bytes. */
static uint8_t payload[3000];
static uint8_t big[65536 + 64];   /* source bytes for offsets near 64 KiB */

static void fill_payload(void)
{
	size_t i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
}

/* Fragment [start, start + n) of datagram `id` (protocol UDP, 10.0.0.1
 * -> 10.0.0.2), MF as given, its bytes from `src` (payload by default). */
static enum ipfrag_result add_from(struct ipfrag *t, uint16_t id, uint32_t start, uint32_t n,
				   int more, uint64_t now, const uint8_t *src,
				   uint8_t **out, uint32_t *out_len)
{
	uint32_t len = 20 + n;
	uint8_t *ip = malloc(len);
	enum ipfrag_result r;
	unsigned frag = (more ? 0x2000u : 0) | (start / 8);

	assert_non_null(ip);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(len >> 8);
	ip[3] = (uint8_t)len;
	ip[4] = (uint8_t)(id >> 8);
	ip[5] = (uint8_t)id;
	ip[6] = (uint8_t)(frag >> 8);
	ip[7] = (uint8_t)frag;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	memcpy(ip + 20, src + start, n);
	r = ipfrag_add(t, ip, len, now, start + 1000u * id, out, out_len);
	free(ip);
	return r;
}

static enum ipfrag_result add(struct ipfrag *t, uint16_t id, uint32_t start, uint32_t n,
			      int more, uint64_t now, uint8_t **out, uint32_t *out_len)
{
	return add_from(t, id, start, n, more, now, payload, out, out_len);
}

/* The whole datagram: one IPv4 packet, total length right, fragment
 * fields cleared, the payload's first n bytes. */
static void check_whole(const uint8_t *o, uint32_t len, uint32_t n, const uint8_t *want)
{
	assert_int_equal(len, 20 + n);
	assert_int_equal(o[2] << 8 | o[3], 20 + n);
	assert_int_equal(o[6], 0);
	assert_int_equal(o[7], 0);
	assert_int_equal(o[9], 17);
	assert_memory_equal(o + 20, want, n);
}

static void test_in_order_and_reversed(void **state)
{
	struct ipfrag t;
	uint8_t *o;
	uint32_t n;

	(void)state;
	fill_payload();
	ipfrag_init(&t);
	assert_int_equal(add(&t, 1, 0, 1480, 1, 0, &o, &n), IPFRAG_HELD);
	assert_int_equal(add(&t, 1, 1480, 1480, 1, 0, &o, &n), IPFRAG_HELD);
	assert_int_equal(add(&t, 1, 2960, 33, 0, 0, &o, &n), IPFRAG_COMPLETE);
	check_whole(o, n, 2993, payload);
	free(o);
	assert_int_equal(ipfrag_held(&t), 0);
	/* The last first, the first last. */
	assert_int_equal(add(&t, 2, 24, 40, 0, 0, &o, &n), IPFRAG_HELD);
	assert_int_equal(add(&t, 2, 8, 16, 1, 0, &o, &n), IPFRAG_HELD);
	assert_int_equal(add(&t, 2, 0, 8, 1, 0, &o, &n), IPFRAG_COMPLETE);
	check_whole(o, n, 64, payload);
	free(o);
	assert_int_equal(t.st.reassembled, 2);
	ipfrag_free(&t);
}

static void test_repeat_keeps_first(void **state)
{
	struct ipfrag t;
	uint8_t other[sizeof(payload)], *o;
	uint32_t n;

	(void)state;
	fill_payload();
	memset(other, 0xEE, sizeof(other));
	ipfrag_init(&t);
	assert_int_equal(add(&t, 3, 0, 16, 1, 0, &o, &n), IPFRAG_HELD);
	/* The same range again with other bytes: ignored, as Linux does. */
	assert_int_equal(add_from(&t, 3, 0, 16, 1, 0, other, &o, &n), IPFRAG_HELD);
	assert_int_equal(add(&t, 3, 16, 8, 0, 0, &o, &n), IPFRAG_COMPLETE);
	check_whole(o, n, 24, payload);
	free(o);
	ipfrag_free(&t);
}

static void test_overlap_drops_datagram(void **state)
{
	struct ipfrag t;
	uint8_t *o;
	uint32_t n;

	(void)state;
	fill_payload();
	ipfrag_init(&t);
	assert_int_equal(add(&t, 4, 0, 16, 1, 0, &o, &n), IPFRAG_HELD);
	/* Overlaps the first fragment's last 8 bytes. */
	assert_int_equal(add(&t, 4, 8, 16, 0, 0, &o, &n), IPFRAG_DROPPED);
	assert_int_equal(t.st.overlapping, 1);
	assert_int_equal(ipfrag_held(&t), 0);
	/* What comes after starts afresh: it waits for its first part. */
	assert_int_equal(add(&t, 4, 16, 8, 0, 0, &o, &n), IPFRAG_HELD);
	assert_null(o);
	ipfrag_free(&t);
}

static void test_last_fixes_length(void **state)
{
	struct ipfrag t;
	uint8_t *o;
	uint32_t n;

	(void)state;
	fill_payload();
	ipfrag_init(&t);
	assert_int_equal(add(&t, 5, 16, 8, 0, 0, &o, &n), IPFRAG_HELD);
	/* A fragment past the end the last one set. */
	assert_int_equal(add(&t, 5, 24, 8, 1, 0, &o, &n), IPFRAG_DROPPED);
	assert_int_equal(ipfrag_held(&t), 0);
	/* Two last fragments that disagree. */
	assert_int_equal(add(&t, 6, 16, 8, 0, 0, &o, &n), IPFRAG_HELD);
	assert_int_equal(add(&t, 6, 32, 8, 0, 0, &o, &n), IPFRAG_DROPPED);
	assert_int_equal(t.st.overlapping, 2);
	ipfrag_free(&t);
}

static void test_partial_units_trimmed(void **state)
{
	struct ipfrag t;
	uint8_t *o;
	uint32_t n;

	(void)state;
	fill_payload();
	ipfrag_init(&t);
	/* 20 bytes with MF: the receiver keeps 16. */
	assert_int_equal(add(&t, 7, 0, 20, 1, 0, &o, &n), IPFRAG_HELD);
	assert_int_equal(add(&t, 7, 16, 10, 0, 0, &o, &n), IPFRAG_COMPLETE);
	check_whole(o, n, 26, payload);
	free(o);
	/* Past 64 KiB: no receiver takes it. */
	assert_int_equal(add_from(&t, 8, 65528, 16, 0, 0, big, &o, &n), IPFRAG_DROPPED);
	assert_int_equal(t.st.bad, 1);
	ipfrag_free(&t);
}

static void test_bounds(void **state)
{
	struct ipfrag t;
	uint8_t *o;
	uint32_t n;
	unsigned i;

	(void)state;
	fill_payload();
	ipfrag_init(&t);
	/* Timed out: given up before the rest comes. */
	assert_int_equal(add(&t, 9, 0, 8, 1, 1 * SEC, &o, &n), IPFRAG_HELD);
	assert_int_equal(add(&t, 9, 8, 8, 0, 32 * SEC, &o, &n), IPFRAG_HELD);
	assert_int_equal(t.st.given_up, 1);
	ipfrag_free(&t);
	/* A full table gives up its oldest for a new datagram. */
	ipfrag_init(&t);
	for (i = 0; i < IPFRAG_MAX + 5; i++)
		assert_int_equal(add(&t, (uint16_t)(100 + i), 0, 8, 1, i, &o, &n), IPFRAG_HELD);
	assert_int_equal(ipfrag_held(&t), IPFRAG_MAX);
	assert_int_equal(t.st.given_up, 5);
	/* The newest still completes; the oldest cannot. */
	assert_int_equal(add(&t, (uint16_t)(100 + IPFRAG_MAX + 4), 8, 8, 0, 100, &o, &n),
			 IPFRAG_COMPLETE);
	free(o);
	assert_int_equal(add(&t, 100, 8, 8, 0, 100, &o, &n), IPFRAG_HELD);
	ipfrag_free(&t);
	/* Too many pieces for one datagram. */
	ipfrag_init(&t);
	for (i = 0; i < IPFRAG_MAX_PIECES; i++)
		assert_int_equal(add(&t, 11, i * 8, 8, 1, 0, &o, &n), IPFRAG_HELD);
	assert_int_equal(add(&t, 11, IPFRAG_MAX_PIECES * 8, 8, 0, 0, &o, &n), IPFRAG_DROPPED);
	assert_int_equal(ipfrag_held(&t), 0);
	ipfrag_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_and_reversed),
		cmocka_unit_test(test_repeat_keeps_first),
		cmocka_unit_test(test_overlap_drops_datagram),
		cmocka_unit_test(test_last_fixes_length),
		cmocka_unit_test(test_partial_units_trimmed),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
