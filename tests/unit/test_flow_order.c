/* Unit tests for user/flow.c under loss and reordering (issue 16): a
 * message is stamped with the packet that carried its last byte, never
 * the packet that happened to release it; and a circuit's messages come
 * out in capture-time order across its two directions, so a reply held
 * up by nothing is not printed before its request that waits behind a
 * hole.
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
#define WIRE_MAX (70 * 1024)
#include "wire.h"

#define ISN_C 1000u
#define ISN_S 5000u
#define MS 1000000ull

static const struct flow_key KEY = { 0x0A000002, 0x0A000001, 40000, 5064 };

struct got {
	unsigned cmd;
	enum ca_dir dir;
	uint32_t p1, p2;
	struct flow_stamp at;
};

struct ctx {
	struct flow_table *t;
	struct got m[32];
	size_t n;
};

static void on_msg(void *p, struct ca_msg *m)
{
	struct ctx *c = p;

	assert_true(c->n < 32);
	c->m[c->n].cmd = m->h.cmd;
	c->m[c->n].dir = m->dir;
	c->m[c->n].p1 = m->h.p1;
	c->m[c->n].p2 = m->h.p2;
	c->m[c->n].at = c->t->stamp;
	c->n++;
}

/* One packet of direction `dir` at stream offset `off` (bytes `len` of
 * `w`, maybe none), acknowledging `ack` bytes of the other direction,
 * captured at `ms` milliseconds as packet `frame`. */
static void send_bytes(struct flow_table *t, enum ca_dir dir, const uint8_t *d, size_t len,
		       size_t off, uint32_t ack, uint64_t ms, uint64_t frame, uint8_t flags)
{
	struct pkt p;
	uint8_t *copy = malloc(len ? len : 1);
	struct flow_stamp at = { .ts_ns = ms * MS, .frame = frame };

	assert_non_null(copy);
	if (len)
		memcpy(copy, d, len);
	memset(&p, 0, sizeof(p));
	p.proto = 6;
	p.tcp_flags = TCPF_ACK | flags;
	p.seq = (dir == CA_DIR_REQUEST ? ISN_C : ISN_S) + 1 + (uint32_t)off;
	p.ack = (dir == CA_DIR_REQUEST ? ISN_S : ISN_C) + 1 + ack;
	p.payload = copy;
	p.payload_len = (uint32_t)len;
	p.payload_wire_len = (uint32_t)len;
	flow_segment(t, &KEY, dir, &p, at);
	memset(copy, 0xEE, len);
	free(copy);
}

static void send(struct flow_table *t, enum ca_dir dir, const struct wire *w, size_t off,
		 size_t len, uint32_t ack, uint64_t ms, uint64_t frame, uint8_t flags)
{
	assert_true(off + len <= w->n);
	send_bytes(t, dir, w->b + off, len, off, ack, ms, frame, flags);
}

static void handshake(struct flow_table *t)
{
	struct pkt p;
	struct flow_stamp at = { .ts_ns = 0 };

	memset(&p, 0, sizeof(p));
	p.proto = 6;
	p.tcp_flags = TCPF_SYN;
	p.seq = ISN_C;
	flow_segment(t, &KEY, CA_DIR_REQUEST, &p, at);
	p.tcp_flags = TCPF_SYN | TCPF_ACK;
	p.seq = ISN_S;
	flow_segment(t, &KEY, CA_DIR_RESPONSE, &p, at);
}

/* Three ECHO-sized requests: 16 bytes each, one per segment. */
static void three_requests(struct wire *w)
{
	w->n = 0;
	wire_ca_hdr(w, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 7, 1);
	wire_ca_hdr(w, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 7, 2);
	wire_ca_hdr(w, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 7, 3);
}

/* Segment 2 comes after segment 3 (swapped): each message keeps the
 * time of the packet with its last byte, 3's is not the release time. */
static void test_swapped_segments_keep_their_stamps(void **state)
{
	struct flow_table t;
	struct ctx c = { .t = &t };
	struct wire w;

	(void)state;
	flow_table_init(&t, 16, 16384, on_msg, NULL, &c);
	handshake(&t);
	three_requests(&w);
	send(&t, CA_DIR_REQUEST, &w, 0, 16, 0, 10, 3, 0);
	send(&t, CA_DIR_REQUEST, &w, 32, 16, 0, 30, 4, 0);   /* early */
	send(&t, CA_DIR_REQUEST, &w, 16, 16, 0, 20, 5, 0);   /* late */
	assert_int_equal(c.n, 3);
	assert_int_equal(c.m[0].p2, 1);
	assert_int_equal(c.m[0].at.ts_ns, 10 * MS);
	assert_int_equal(c.m[1].p2, 2);
	assert_int_equal(c.m[1].at.frame, 5);
	assert_int_equal(c.m[2].p2, 3);
	assert_int_equal(c.m[2].at.ts_ns, 30 * MS);
	assert_int_equal(c.m[2].at.frame, 4);
	flow_table_free(&t);
}

/* A lost segment is given up after the peer acknowledged past it and a
 * few packets more: the messages held behind it keep their own times,
 * not the time of the packet that gave the hole up. */
static void test_held_after_loss_keep_their_stamps(void **state)
{
	struct flow_table t;
	struct ctx c = { .t = &t };
	struct wire w;
	unsigned i;

	(void)state;
	flow_table_init(&t, 16, 16384, on_msg, NULL, &c);
	handshake(&t);
	three_requests(&w);
	send(&t, CA_DIR_REQUEST, &w, 0, 16, 0, 10, 3, 0);
	/* 16..32 lost */
	send(&t, CA_DIR_REQUEST, &w, 32, 16, 0, 30, 4, 0);
	send(&t, CA_DIR_RESPONSE, &w, 0, 0, 48, 31, 5, 0);   /* ACK of all */
	for (i = 0; i < FLOW_HOLE_PATIENCE + 1; i++)
		send(&t, CA_DIR_RESPONSE, &w, 0, 0, 48, 500 + i, 6 + i, 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.m[1].p2, 3);
	assert_int_equal(c.m[1].at.ts_ns, 30 * MS);
	assert_int_equal(c.m[1].at.frame, 4);
	flow_table_free(&t);
}

/* The request waits behind a hole; its reply, on the other direction,
 * comes at once: it must wait too, and come out after the request. */
static void test_reply_waits_for_its_held_request(void **state)
{
	struct flow_table t;
	struct ctx c = { .t = &t };
	struct wire req, rsp;
	unsigned i;

	(void)state;
	flow_table_init(&t, 16, 16384, on_msg, NULL, &c);
	handshake(&t);
	req.n = 0;
	wire_ca_hdr(&req, CA_PROTO_ECHO, 0, 0, 0, 0, 0);                /* 0..16: lost */
	wire_ca_hdr(&req, CA_PROTO_CREATE_CHAN, 8, 0, 0, 9, 13);        /* 16..40 */
	wire_name(&req, "T:ai", 8);
	rsp.n = 0;
	wire_ca_hdr(&rsp, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 9, 77);
	wire_ca_hdr(&rsp, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	send(&t, CA_DIR_REQUEST, &req, 16, 24, 0, 10, 3, 0);    /* held */
	send(&t, CA_DIR_RESPONSE, &rsp, 0, 16, 40, 12, 4, 0);    /* reply */
	assert_int_equal(c.n, 0);
	/* Packets go on; the hole is given up (the reply acknowledged the
	 * request's bytes) and everything comes out, in time order. */
	for (i = 0; i < FLOW_HOLE_PATIENCE + 1; i++)
		send(&t, CA_DIR_RESPONSE, &rsp, 16 + (i ? 16 : 0), i ? 0 : 16, 40, 20 + i, 5 + i, 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.m[0].cmd, CA_PROTO_CREATE_CHAN);
	assert_int_equal(c.m[0].dir, CA_DIR_REQUEST);
	assert_int_equal(c.m[0].at.ts_ns, 10 * MS);
	assert_int_equal(c.m[1].cmd, CA_PROTO_CREATE_CHAN);
	assert_int_equal(c.m[1].dir, CA_DIR_RESPONSE);
	assert_int_equal(c.m[1].at.ts_ns, 12 * MS);
	assert_int_equal(c.m[2].cmd, CA_PROTO_ECHO);
	assert_int_equal(c.m[2].at.ts_ns, 20 * MS);
	assert_true(t.stats.queued >= 2);
	flow_table_free(&t);
}

/* A reordered capture: request segments A and B swapped, A's reply in
 * between (file order: B, reply, A).  B waits for the hole; the reply
 * must wait too, even though it is older than B: the hole's bytes (A)
 * are older still. */
static void test_reply_waits_for_a_late_request(void **state)
{
	struct flow_table t;
	struct ctx c = { .t = &t };
	struct wire req, rsp;

	(void)state;
	flow_table_init(&t, 16, 16384, on_msg, NULL, &c);
	handshake(&t);
	req.n = 0;
	wire_ca_hdr(&req, CA_PROTO_CREATE_CHAN, 8, 0, 0, 9, 13);        /* A: 0..24 */
	wire_name(&req, "T:ai", 8);
	wire_ca_hdr(&req, CA_PROTO_ECHO, 0, 0, 0, 0, 0);                /* B: 24..40 */
	rsp.n = 0;
	wire_ca_hdr(&rsp, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 9, 77);
	send(&t, CA_DIR_REQUEST, &req, 24, 16, 0, 30, 3, 0);     /* B, time 30 */
	send(&t, CA_DIR_RESPONSE, &rsp, 0, 16, 24, 20, 4, 0);    /* A's reply, time 20 */
	assert_int_equal(c.n, 0);
	send(&t, CA_DIR_REQUEST, &req, 0, 24, 0, 10, 5, 0);      /* A, time 10 */
	assert_int_equal(c.n, 3);
	assert_int_equal(c.m[0].cmd, CA_PROTO_CREATE_CHAN);
	assert_int_equal(c.m[0].dir, CA_DIR_REQUEST);
	assert_int_equal(c.m[1].cmd, CA_PROTO_CREATE_CHAN);
	assert_int_equal(c.m[1].dir, CA_DIR_RESPONSE);
	assert_int_equal(c.m[2].cmd, CA_PROTO_ECHO);
	assert_int_equal(c.m[2].at.ts_ns, 30 * MS);
	flow_table_free(&t);
}

/* A segment later than the patience for its hole: the hole was given up
 * (its bytes declared lost), then it comes.  Its message is decoded,
 * with its own time, not dropped as a retransmission: a WRITE delayed so
 * must not vanish from the audit (issue 14). */
static void test_segment_after_its_hole_was_given_up(void **state)
{
	struct flow_table t;
	struct ctx c = { .t = &t };
	struct wire w;
	unsigned i;

	(void)state;
	flow_table_init(&t, 16, 16384, on_msg, NULL, &c);
	handshake(&t);
	three_requests(&w);
	send(&t, CA_DIR_REQUEST, &w, 0, 16, 0, 10, 3, 0);
	send(&t, CA_DIR_REQUEST, &w, 32, 16, 0, 30, 4, 0);           /* 16..32 missing */
	for (i = 0; i < FLOW_HOLE_PATIENCE + 2; i++)
		send(&t, CA_DIR_RESPONSE, &w, 0, 0, 48, 40 + i, 5 + i, 0);
	assert_int_equal(c.n, 2);
	send(&t, CA_DIR_REQUEST, &w, 16, 16, 0, 99, 50, 0);          /* it comes */
	assert_int_equal(c.n, 3);
	assert_int_equal(c.m[2].p2, 2);
	assert_int_equal(c.m[2].at.frame, 50);
	assert_int_equal(t.stats.late, 1);
	assert_int_equal(t.stats.retransmitted, 0);
	/* Again: now a retransmission. */
	send(&t, CA_DIR_REQUEST, &w, 16, 16, 0, 100, 51, 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(t.stats.retransmitted, 1);
	flow_table_free(&t);
}

/* A message whose tail is lost: it ends with the hole, and its time is
 * that of the last packet that carried its bytes, not of the packet after
 * the hole. */
static void test_message_cut_by_a_hole_keeps_its_last_packet(void **state)
{
	struct flow_table t;
	struct ctx c = { .t = &t };
	struct wire w;
	unsigned i;

	(void)state;
	flow_table_init(&t, 16, 16384, on_msg, NULL, &c);
	handshake(&t);
	w.n = 0;
	wire_ca_hdr(&w, CA_PROTO_EVENT_ADD, 800, DBR_CHAR, 800, 1, 7);   /* 0..816 */
	wire_fill(&w, 0x41, 800);
	wire_ca_hdr(&w, CA_PROTO_ECHO, 0, 0, 0, 0, 0);                  /* 816..832 */
	send(&t, CA_DIR_RESPONSE, &w, 0, 416, 0, 10, 3, 0);
	/* 416..816 lost */
	send(&t, CA_DIR_RESPONSE, &w, 816, 16, 0, 30, 4, 0);
	for (i = 0; i < FLOW_HOLE_PATIENCE + 1; i++)
		send(&t, CA_DIR_REQUEST, &w, 0, 0, 832, 40 + i, 5 + i, 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.m[0].cmd, CA_PROTO_EVENT_ADD);
	assert_int_equal(c.m[0].at.frame, 3);
	assert_int_equal(c.m[1].cmd, CA_PROTO_ECHO);
	assert_int_equal(c.m[1].at.frame, 4);
	flow_table_free(&t);
}

/* What waits when the capture ends comes out in time order too. */
static void test_queue_flushed_in_order_at_the_end(void **state)
{
	struct flow_table t;
	struct ctx c = { .t = &t };
	struct wire w;

	(void)state;
	flow_table_init(&t, 16, 16384, on_msg, NULL, &c);
	handshake(&t);
	three_requests(&w);
	send(&t, CA_DIR_REQUEST, &w, 32, 16, 0, 10, 3, 0);   /* held: 0..32 lost */
	send(&t, CA_DIR_RESPONSE, &w, 0, 16, 48, 11, 4, 0);  /* waits */
	send(&t, CA_DIR_RESPONSE, &w, 16, 16, 48, 12, 5, 0); /* waits */
	assert_int_equal(c.n, 0);
	flow_table_free(&t);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.m[0].dir, CA_DIR_REQUEST);
	assert_int_equal(c.m[0].at.frame, 3);
	assert_int_equal(c.m[1].at.frame, 4);
	assert_int_equal(c.m[2].at.frame, 5);
}

static void count_only(void *p, struct ca_msg *m)
{
	(void)m;
	(*(size_t *)p)++;
}

/* A hole never given up (no ACK ever covers it) and a flood the other
 * way: the waiting room is bounded; past it messages go out of time
 * order, counted, and none is lost. */
static void test_waiting_room_is_bounded(void **state)
{
	struct flow_table t;
	size_t n = 0, i, sent = 0;
	struct wire req;
	static struct wire big;

	(void)state;
	flow_table_init(&t, 16, 16384, count_only, NULL, &n);
	handshake(&t);
	three_requests(&req);
	send(&t, CA_DIR_REQUEST, &req, 32, 16, 0, 1, 3, 0);   /* held for good */
	big.n = 0;
	for (i = 0; i < 64; i++) {              /* 64 updates of 1000 bytes */
		wire_ca_hdr(&big, CA_PROTO_EVENT_ADD, 1000, DBR_CHAR, 1000, 1, 7);
		wire_fill(&big, 0x41, 1000);
	}
	for (i = 0; i < 40; i++) {              /* 40 x 64 KB the other way */
		send_bytes(&t, CA_DIR_RESPONSE, big.b, big.n, i * big.n, 0, 10 + i, 4 + i, 0);
		sent += 64;
	}
	assert_true(t.stats.queue_full > 0);
	assert_true(t.queued_total <= FLOW_QUEUE_TOTAL_MAX_BYTES);
	assert_true(t.lru_head->q_bytes <= FLOW_QUEUE_MAX_BYTES);
	flow_table_free(&t);
	assert_int_equal(n, sent + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swapped_segments_keep_their_stamps),
		cmocka_unit_test(test_held_after_loss_keep_their_stamps),
		cmocka_unit_test(test_reply_waits_for_its_held_request),
		cmocka_unit_test(test_reply_waits_for_a_late_request),
		cmocka_unit_test(test_segment_after_its_hole_was_given_up),
		cmocka_unit_test(test_message_cut_by_a_hole_keeps_its_last_packet),
		cmocka_unit_test(test_queue_flushed_in_order_at_the_end),
		cmocka_unit_test(test_waiting_room_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
