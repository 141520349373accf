/* Memory bounds of user/flow.c over many flows: the table evicts its least
 * recently used flow; segments held out of order are bounded in all
 * flows together (FLOW_OOO_TOTAL_LIMIT), not only per direction; the
 * framers' buffers share FLOW_STREAM_MEM_LIMIT.  Every bound reached is
 * counted, and messages keep coming out.
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
#include "flow.h"
#include "pkt.h"
#include "wire.h"

struct counts {
	uint64_t msgs, truncated, big, closed;
};

static void on_msg(void *ctx, struct ca_msg *m)
{
	struct counts *c = ctx;

	c->msgs++;
	if (m->flags & CA_MSG_TRUNCATED)
		c->truncated++;
	if (m->flags & CA_MSG_BIG)
		c->big++;
}

static void on_close(void *ctx, const struct flow_key *k)
{
	struct counts *c = ctx;

	(void)k;
	c->closed++;
}

static struct flow_key key_of(uint32_t i)
{
	struct flow_key k = { 0x0A000000 + i, 0x0AFF0001, (uint16_t)(1024 + i % 60000), 5064 };

	return k;
}

static void segment(struct flow_table *t, const struct flow_key *k, uint8_t flags,
		    uint32_t seq, const uint8_t *d, uint32_t n)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.proto = 6;
	p.tcp_flags = flags;
	p.seq = seq;
	p.payload = d;
	p.payload_len = n;
	p.payload_wire_len = n;
	flow_segment(t, k, CA_DIR_RESPONSE, &p, (struct flow_stamp){ .ts_ns = 0 });
}

/* A READ_NOTIFY reply's extended header announcing `size` bytes of
 * DBR_CHAR. */
static void reply_hdr(uint8_t *b, uint32_t size)
{
	wire_put_ca_ext_hdr(b, CA_PROTO_READ_NOTIFY, size, DBR_CHAR, size, 0, 0);
}

static void test_table_evicts_least_recently_used(void **state)
{
	static uint8_t echo[CA_HDR_LEN] = { 0, CA_PROTO_ECHO };
	struct flow_table t;
	struct counts c = { 0 };
	uint32_t i, n = 1000, cap = 100;

	(void)state;
	flow_table_init(&t, cap, 64 * 1024, on_msg, on_close, &c);
	for (i = 0; i < n; i++) {
		struct flow_key k = key_of(i);

		segment(&t, &k, TCPF_SYN, 100, NULL, 0);
		segment(&t, &k, 0, 101, echo, sizeof(echo));
	}
	assert_int_equal(hmap_count(&t.map), cap);
	assert_int_equal(t.stats.evicted, n - cap);
	assert_int_equal(c.closed, n - cap);
	assert_int_equal(c.msgs, n);
	flow_table_free(&t);
}

/* Each flow has a hole and 1 MiB waiting after it: together they would
 * hold far more than FLOW_OOO_TOTAL_LIMIT. */
static void test_held_segments_bounded_in_all_flows(void **state)
{
	const uint32_t seg = 64 * 1024, per_flow = 16, flows = 2 * FLOW_OOO_TOTAL_LIMIT / (seg * per_flow);
	uint8_t *data = calloc(1, seg);
	struct flow_table t;
	struct counts c = { 0 };
	uint64_t peak = 0;
	uint32_t i, j;

	(void)state;
	assert_non_null(data);
	flow_table_init(&t, FLOW_TABLE_MAX, 64 * 1024, on_msg, on_close, &c);
	for (i = 0; i < flows; i++) {
		struct flow_key k = key_of(i);
		uint8_t hdr[CA_EXT_HDR_LEN];

		/* A message of 4 MiB starts; its bytes after the first
		 * segment come with a hole in front of them. */
		reply_hdr(hdr, 4u << 20);
		segment(&t, &k, TCPF_SYN, 0, NULL, 0);
		segment(&t, &k, 0, 1, hdr, sizeof(hdr));
		for (j = 0; j < per_flow; j++) {
			segment(&t, &k, 0, 1 + sizeof(hdr) + 1000 + j * seg, data, seg);
			if (t.held_total > peak)
				peak = t.held_total;
		}
	}
	assert_true(peak <= FLOW_OOO_TOTAL_LIMIT);
	assert_true(t.stats.holes_given_up > 0);
	flow_table_free(&t);
	assert_int_equal(t.held_total, 0);
	/* Every flow's message still came out, each cut by its hole. */
	assert_int_equal(c.msgs, flows);
	assert_int_equal(c.truncated, flows);
	free(data);
}

/* Each flow is inside a 64 KiB message, its kept bytes growing: together
 * over FLOW_STREAM_MEM_LIMIT, so later flows keep less. */
static void test_stream_buffers_share_a_budget(void **state)
{
	const uint32_t size = 60 * 1024, flows = 2 * FLOW_STREAM_MEM_LIMIT / (64 * 1024);
	uint8_t *data = calloc(1, size);
	struct flow_table t;
	struct counts c = { 0 };
	uint32_t i;

	(void)state;
	assert_non_null(data);
	flow_table_init(&t, FLOW_TABLE_MAX, 64 * 1024, on_msg, on_close, &c);
	for (i = 0; i < flows; i++) {
		struct flow_key k = key_of(i);
		uint8_t hdr[CA_EXT_HDR_LEN];

		reply_hdr(hdr, size + 8);
		segment(&t, &k, TCPF_SYN, 0, NULL, 0);
		segment(&t, &k, 0, 1, hdr, sizeof(hdr));
		segment(&t, &k, 0, 1 + sizeof(hdr), data, size);  /* 8 bytes to go */
		assert_true(t.stream_mem.used <= FLOW_STREAM_MEM_LIMIT);
	}
	assert_true(t.stream_mem.denied > 0);
	flow_table_free(&t);
	assert_int_equal(t.stream_mem.used, 0);
	assert_int_equal(c.msgs, flows);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_evicts_least_recently_used),
		cmocka_unit_test(test_held_segments_bounded_in_all_flows),
		cmocka_unit_test(test_stream_buffers_share_a_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
