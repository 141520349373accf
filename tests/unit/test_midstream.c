/* Unit tests for user/midstream.c: circuits a capture joins after they
 * opened, found by their content on ports nobody named (issue 16), and
 * never from bytes that only look a little like CA. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "midstream.h"
#include "wire.h"

#define SRV 0x0A000001u
#define CLI 0x0A000002u

static struct pkt seg(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		      const struct wire *w)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.proto = IPPROTO_TCP;
	p.src_ip = src;
	p.sport = sport;
	p.dst_ip = dst;
	p.dport = dport;
	p.payload = w->b;
	p.payload_len = p.payload_wire_len = (uint32_t)w->n;
	return p;
}

static struct frame frame_of(uint64_t number)
{
	static const uint8_t bytes[64];
	struct frame f = { number * 1000, bytes, sizeof(bytes), sizeof(bytes), number };

	return f;
}

/* A TIME_DOUBLE monitor update: 16 + 24 bytes. */
static void update(struct wire *w, unsigned subid)
{
	w->n = 0;
	wire_ca_hdr(w, CA_PROTO_EVENT_ADD, 24, DBR_STS_STRING + 7 + DBR_DOUBLE, 1, 1, subid);
	wire_fill(w, 0x41, 24);
}

static void test_three_updates_find_the_server(void **state)
{
	struct midstream m;
	struct midstream_found found;
	struct wire w;
	struct pkt p;
	struct frame f;
	unsigned i;

	(void)state;
	midstream_init(&m);
	update(&w, 1);
	p = seg(SRV, 5070, CLI, 40000, &w);
	for (i = 1; i <= 2; i++) {
		f = frame_of(i);
		assert_false(midstream_segment(&m, &p, &f, &found));
	}
	f = frame_of(3);
	assert_true(midstream_segment(&m, &p, &f, &found));
	assert_int_equal(found.srv_ip, SRV);
	assert_int_equal(found.srv_port, 5070);
	assert_int_equal(found.n, 2);
	assert_int_equal(found.frames[0].number, 1);
	assert_int_equal(found.frames[1].number, 2);
	assert_int_equal(m.found, 1);
	midstream_release(&found);
	midstream_free(&m);
}

/* Requests (a client's READ_NOTIFY) say the server is the other end. */
static void test_requests_name_the_other_end(void **state)
{
	struct midstream m;
	struct midstream_found found;
	struct wire w;
	struct pkt p;
	struct frame f = frame_of(1);
	unsigned i;
	bool got = false;

	(void)state;
	midstream_init(&m);
	w.n = 0;
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 4, 9);
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 5, 10);
	p = seg(CLI, 40000, SRV, 5070, &w);
	for (i = 0; i < MIDSTREAM_SEGMENTS; i++)
		got = midstream_segment(&m, &p, &f, &found);
	assert_true(got);
	assert_int_equal(found.srv_ip, SRV);
	assert_int_equal(found.srv_port, 5070);
	midstream_release(&found);
	midstream_free(&m);
}

/* Segments that are not whole CA messages start the count again: two
 * updates, a segment of other bytes, two updates: nothing found. */
static void test_other_bytes_start_over(void **state)
{
	struct midstream m;
	struct midstream_found found;
	struct wire w, junk;
	struct pkt p, q;
	struct frame f = frame_of(1);

	(void)state;
	midstream_init(&m);
	update(&w, 1);
	junk.n = 0;
	wire_ca_hdr(&junk, CA_PROTO_EVENT_ADD, 24, DBR_DOUBLE, 1, 1, 1);  /* size != 8 */
	wire_fill(&junk, 0x41, 24);
	p = seg(SRV, 5070, CLI, 40000, &w);
	q = seg(SRV, 5070, CLI, 40000, &junk);
	assert_false(midstream_segment(&m, &p, &f, &found));
	assert_false(midstream_segment(&m, &p, &f, &found));
	assert_false(midstream_segment(&m, &q, &f, &found));
	assert_false(midstream_segment(&m, &p, &f, &found));
	assert_false(midstream_segment(&m, &p, &f, &found));
	assert_int_equal(m.found, 0);
	midstream_free(&m);
}

/* Random bytes, and a flood of flows: nothing found, memory bounded. */
static void test_random_bytes_and_many_flows(void **state)
{
	struct midstream m;
	struct midstream_found found;
	struct wire w;
	struct pkt p;
	struct frame f = frame_of(1);
	uint64_t x = 88172645463325252ull;
	unsigned i, j;

	(void)state;
	midstream_init(&m);
	for (i = 0; i < 3 * MIDSTREAM_FLOWS; i++) {
		w.n = 0;
		for (j = 0; j < 200; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			wire_u8(&w, (unsigned)x & 0xFF);
		}
		p = seg(SRV, (uint16_t)(1024 + i), CLI, 40000, &w);
		assert_false(midstream_segment(&m, &p, &f, &found));
		/* Flows of whole updates, each seen once, fill the table. */
		update(&w, 1);
		p = seg(SRV, (uint16_t)(1024 + i), CLI, 40001, &w);
		assert_false(midstream_segment(&m, &p, &f, &found));
		assert_true(hmap_count(&m.cand) <= MIDSTREAM_FLOWS);
	}
	assert_int_equal(m.found, 0);
	assert_true(m.resets > 0);
	midstream_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_updates_find_the_server),
		cmocka_unit_test(test_requests_name_the_other_end),
		cmocka_unit_test(test_other_bytes_start_over),
		cmocka_unit_test(test_random_bytes_and_many_flows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
