/* Unit tests for user/flow.c: TCP reassembly of CA circuits.
 *
 * Segments are struct pkt built by hand (flags, sequence number, payload)
 * from a reference byte stream of known CA messages.  Whatever the order,
 * duplication or overlap of the segments, the messages that come out must be
 * those of the reference stream.  Each payload is a heap copy freed right
 * after flow_segment, so ASan reports a flow that keeps a pointer into it.
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
#include "flow.h"
#include "pkt.h"
#include "wire.h"

/* ---- the reference stream ---------------------------------------------------- */

/* Client -> server: the start of a circuit.  10 messages, 240 bytes:
 * offsets 0 16 40 64 104 136 152 184 208 224 (240). */
#define NREQ 10
static size_t req_off[NREQ + 1];

static void build_requests(struct wire *w)
{
	size_t k = 0;

	w->n = 0;
	req_off[k++] = w->n;
	wire_ca_hdr(w, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	req_off[k++] = w->n;
	wire_ca_hdr(w, CA_PROTO_HOST_NAME, 8, 0, 0, 0, 0);
	wire_name(w, "ioc1", 8);
	req_off[k++] = w->n;
	wire_ca_hdr(w, CA_PROTO_CLIENT_NAME, 8, 0, 0, 0, 0);
	wire_name(w, "user", 8);
	req_off[k++] = w->n;
	wire_ca_hdr(w, CA_PROTO_CREATE_CHAN, 24, 0, 0, 1, 13);
	wire_name(w, "XF:31IDA-OP{Tbl-Ax:X1}", 24);
	req_off[k++] = w->n;
	wire_ca_hdr(w, CA_PROTO_CREATE_CHAN, 16, 0, 0, 2, 13);
	wire_name(w, "SR:C03-BI{DCCT}", 16);
	req_off[k++] = w->n;
	wire_ca_hdr(w, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 0x100, 1);
	req_off[k++] = w->n;
	wire_ca_hdr(w, CA_PROTO_EVENT_ADD, 16, 20, 1, 0x101, 7);
	wire_u32(w, 0);
	wire_u32(w, 0);
	wire_u32(w, 0);
	wire_u16(w, 5);
	wire_u16(w, 0);
	req_off[k++] = w->n;
	wire_ca_hdr(w, CA_PROTO_WRITE_NOTIFY, 8, DBR_DOUBLE, 1, 0x100, 2);
	wire_u32(w, 0x3ff80000);
	wire_u32(w, 0);
	req_off[k++] = w->n;
	wire_ca_hdr(w, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	req_off[k++] = w->n;
	wire_ca_hdr(w, CA_PROTO_EVENT_CANCEL, 0, 20, 1, 0x101, 7);
	req_off[k] = w->n;
	assert_int_equal(k, NREQ);
}

/* ---- recorder ------------------------------------------------------------------- */

struct rec {
	struct flow_key key;
	struct ca_hdr h;
	enum ca_dir dir;
	unsigned flags;
	uint8_t payload[64];
	size_t payload_len;
};

struct ctx {
	struct flow_table *t;
	struct rec m[64];
	size_t n;
	struct flow_key closed[16];
	size_t nclosed;
};

static void on_msg(void *p, struct ca_msg *m)
{
	struct ctx *c = p;
	struct rec *r;

	assert_true(c->n < 64);
	assert_non_null(c->t->cur_key);
	r = &c->m[c->n++];
	memset(r, 0, sizeof(*r));
	r->key = *c->t->cur_key;
	r->h = m->h;
	r->dir = m->dir;
	r->flags = m->flags;
	assert_true(m->tcp);
	assert_true(m->payload_len <= sizeof(r->payload));
	r->payload_len = m->payload_len;
	if (m->payload_len)
		memcpy(r->payload, m->payload, m->payload_len);
}

static void on_close(void *p, const struct flow_key *k)
{
	struct ctx *c = p;

	assert_true(c->nclosed < 16);
	c->closed[c->nclosed++] = *k;
}

static const struct flow_key KEY_A = { 0x0A000001, 0x0A000002, 40000, 5064 };
static const struct flow_key KEY_B = { 0x0A000003, 0x0A000002, 40001, 5064 };
static const struct flow_key KEY_C = { 0x0A000004, 0x0A000002, 40002, 5064 };

static void setup_table(struct flow_table *t, struct ctx *c, size_t max_flows)
{
	memset(c, 0, sizeof(*c));
	c->t = t;
	flow_table_init(t, max_flows, 16384, on_msg, on_close, c);
}

/* One segment: `len` bytes of `stream` from stream offset `off`, sent with
 * sequence number isn + 1 + off. */
static void seg(struct flow_table *t, const struct flow_key *k, enum ca_dir dir,
		uint32_t isn, const struct wire *stream, size_t off, size_t len,
		uint8_t flags)
{
	struct pkt p;
	uint8_t *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	assert_true(off + len <= stream->n);
	if (len)
		memcpy(copy, stream->b + off, len);
	memset(&p, 0, sizeof(p));
	p.src_ip = dir == CA_DIR_REQUEST ? k->cli_ip : k->srv_ip;
	p.dst_ip = dir == CA_DIR_REQUEST ? k->srv_ip : k->cli_ip;
	p.sport = dir == CA_DIR_REQUEST ? k->cli_port : k->srv_port;
	p.dport = dir == CA_DIR_REQUEST ? k->srv_port : k->cli_port;
	p.proto = 6;
	p.tcp_flags = flags | TCPF_ACK;
	p.seq = isn + 1 + (uint32_t)off;
	p.payload = copy;
	p.payload_len = (uint32_t)len;
	p.payload_wire_len = (uint32_t)len;
	flow_segment(t, k, dir, &p, (struct flow_stamp){ .ts_ns = 0 });
	memset(copy, 0xEE, len);
	free(copy);
}

static void syn(struct flow_table *t, const struct flow_key *k, enum ca_dir dir,
		uint32_t isn)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.tcp_flags = dir == CA_DIR_REQUEST ? TCPF_SYN : (TCPF_SYN | TCPF_ACK);
	p.seq = isn;
	flow_segment(t, k, dir, &p, (struct flow_stamp){ .ts_ns = 0 });
}

/* A payload-less segment with flags (FIN, RST) at stream offset off. */
static void ctl(struct flow_table *t, const struct flow_key *k, enum ca_dir dir,
		uint32_t isn, size_t off, uint8_t flags)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.tcp_flags = flags | TCPF_ACK;
	p.seq = isn + 1 + (uint32_t)off;
	flow_segment(t, k, dir, &p, (struct flow_stamp){ .ts_ns = 0 });
}

/* The recorded messages from index `from` are request messages first..last
 * of the reference stream, whole and unflagged. */
static void check_requests(const struct ctx *c, size_t from, const struct wire *w,
			   size_t first, size_t last)
{
	size_t i;

	assert_int_equal(c->n - from, last - first + 1);
	for (i = first; i <= last; i++) {
		const struct rec *r = &c->m[from + i - first];
		struct ca_hdr h;

		assert_int_equal(ca_hdr_parse(w->b + req_off[i], 16, &h), CA_HDR_OK);
		assert_int_equal(r->h.cmd, h.cmd);
		assert_int_equal(r->h.size, h.size);
		assert_int_equal(r->h.dtype, h.dtype);
		assert_int_equal(r->h.count, h.count);
		assert_int_equal(r->h.p1, h.p1);
		assert_int_equal(r->h.p2, h.p2);
		assert_int_equal(r->dir, CA_DIR_REQUEST);
		if (r->flags != 0)
			fail_msg("message %zu flagged 0x%x", i, r->flags);
		assert_int_equal(r->payload_len, h.size);
		if (h.size)
			assert_memory_equal(r->payload, w->b + req_off[i] + 16, h.size);
		assert_memory_equal(&r->key, &KEY_A, sizeof(KEY_A));
	}
}

/* Cut points that fall inside headers and payloads, never on a boundary. */
static const size_t cuts[] = { 0, 37, 90, 131, 200, 240 };
#define NSEG (sizeof(cuts) / sizeof(cuts[0]) - 1)

static void send_seg(struct flow_table *t, uint32_t isn, const struct wire *w, size_t i)
{
	seg(t, &KEY_A, CA_DIR_REQUEST, isn, w, cuts[i], cuts[i + 1] - cuts[i], 0);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_in_order(void **state)
{
	struct flow_table t;
	struct ctx c;
	struct wire w;
	size_t i;

	(void)state;
	build_requests(&w);
	assert_int_equal(w.n, 240);
	assert_int_equal(req_off[3], 64);
	assert_int_equal(req_off[5], 136);
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	syn(&t, &KEY_A, CA_DIR_RESPONSE, 90000);
	assert_non_null(flow_lookup(&t, &KEY_A));
	for (i = 0; i < NSEG; i++)
		send_seg(&t, 1000, &w, i);
	check_requests(&c, 0, &w, 0, NREQ - 1);
	assert_int_equal(t.stats.retransmitted, 0);
	assert_int_equal(t.stats.out_of_order, 0);
	assert_int_equal(t.stats.gaps, 0);
	assert_int_equal(flow_table_resyncs(&t), 0);
	assert_int_equal(c.nclosed, 0);
	flow_table_free(&t);
	assert_int_equal(c.n, NREQ);  /* nothing left to flush */
	assert_int_equal(c.nclosed, 1);
	assert_memory_equal(&c.closed[0], &KEY_A, sizeof(KEY_A));
}

static void test_retransmit(void **state)
{
	struct flow_table t;
	struct ctx c;
	struct wire w;

	(void)state;
	build_requests(&w);
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	send_seg(&t, 1000, &w, 0);
	send_seg(&t, 1000, &w, 1);
	send_seg(&t, 1000, &w, 1);  /* retransmitted */
	send_seg(&t, 1000, &w, 2);
	send_seg(&t, 1000, &w, 0);  /* a late copy of the first */
	send_seg(&t, 1000, &w, 3);
	send_seg(&t, 1000, &w, 4);
	send_seg(&t, 1000, &w, 4);
	check_requests(&c, 0, &w, 0, NREQ - 1);
	assert_int_equal(t.stats.retransmitted, 3);
	assert_int_equal(t.stats.out_of_order, 0);
	assert_int_equal(t.stats.gaps, 0);
	/* A retransmission that is part old, part new is not counted. */
	flow_table_free(&t);
	assert_int_equal(c.n, NREQ);
}

static void test_swapped(void **state)
{
	struct flow_table t;
	struct ctx c;
	struct wire w;

	(void)state;
	build_requests(&w);
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	send_seg(&t, 1000, &w, 0);
	send_seg(&t, 1000, &w, 2);  /* early: held */
	assert_int_equal(t.stats.out_of_order, 1);
	/* Only what precedes the hole came out: VERSION (0..16). */
	assert_int_equal(c.n, 1);
	send_seg(&t, 1000, &w, 1);  /* fills the hole */
	send_seg(&t, 1000, &w, 4);
	send_seg(&t, 1000, &w, 3);
	check_requests(&c, 0, &w, 0, NREQ - 1);
	assert_int_equal(t.stats.out_of_order, 2);
	assert_int_equal(t.stats.retransmitted, 0);
	assert_int_equal(t.stats.gaps, 0);
	assert_null(flow_lookup(&t, &KEY_A)->half[CA_DIR_REQUEST].held);
	assert_int_equal(flow_lookup(&t, &KEY_A)->half[CA_DIR_REQUEST].held_bytes, 0);
	assert_false(flow_lookup(&t, &KEY_A)->half[CA_DIR_REQUEST].lossy);
	flow_table_free(&t);
	assert_int_equal(c.n, NREQ);

	/* Completely reversed. */
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	send_seg(&t, 1000, &w, 4);
	send_seg(&t, 1000, &w, 3);
	send_seg(&t, 1000, &w, 2);
	send_seg(&t, 1000, &w, 1);
	assert_int_equal(c.n, 0);
	send_seg(&t, 1000, &w, 0);
	check_requests(&c, 0, &w, 0, NREQ - 1);
	assert_int_equal(t.stats.out_of_order, 4);
	assert_int_equal(t.stats.gaps, 0);
	flow_table_free(&t);
}

static void test_partial_overlap(void **state)
{
	struct flow_table t;
	struct ctx c;
	struct wire w;

	(void)state;
	build_requests(&w);
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, 0, 60, 0);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, 40, 80, 0);   /* 20 old, 60 new */
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, 120, 120, 0);
	check_requests(&c, 0, &w, 0, NREQ - 1);
	assert_int_equal(t.stats.retransmitted, 0);
	assert_int_equal(t.stats.gaps, 0);
	flow_table_free(&t);

	/* Overlaps with held segments too: [150,240) held, then [0,60),
	 * then [50,170) which overlaps both what was delivered and what
	 * is held. */
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, 150, 90, 0);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, 0, 60, 0);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, 50, 120, 0);
	check_requests(&c, 0, &w, 0, NREQ - 1);
	assert_int_equal(t.stats.gaps, 0);
	flow_table_free(&t);
	assert_int_equal(c.n, NREQ);

	/* Two held segments that overlap each other. */
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, 100, 100, 0);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, 150, 90, 0);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, 0, 100, 0);
	check_requests(&c, 0, &w, 0, NREQ - 1);
	assert_int_equal(t.stats.gaps, 0);
	flow_table_free(&t);
	assert_int_equal(c.n, NREQ);
}

static void test_hole_never_fills(void **state)
{
	struct flow_table t;
	struct ctx c;
	struct wire w;
	size_t a, b;

	(void)state;
	build_requests(&w);

	/* Hole inside the first CREATE_CHAN's name: that message is cut,
	 * the rest decodes. */
	a = req_off[3] + 16 + 4;
	b = req_off[3] + 16 + 12;
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, 0, a, 0);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, b, w.n - b, 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(t.stats.out_of_order, 1);
	assert_int_equal(t.stats.gaps, 0);
	flow_table_free(&t);
	assert_int_equal(t.stats.gaps, 1);
	assert_int_equal(c.nclosed, 1);
	assert_int_equal(c.n, NREQ);
	assert_int_equal(c.m[3].h.cmd, CA_PROTO_CREATE_CHAN);
	assert_int_equal(c.m[3].h.p1, 1);
	assert_int_equal(c.m[3].flags, CA_MSG_TRUNCATED);
	assert_int_equal(c.m[3].payload_len, 4);
	assert_memory_equal(c.m[3].payload, "XF:3", 4);
	{
		struct ctx rest = c;

		/* Messages 4..9 came out whole after the hole was given up. */
		memmove(rest.m, rest.m + 4, 6 * sizeof(rest.m[0]));
		rest.n = 6;
		check_requests(&rest, 0, &w, 4, NREQ - 1);
	}
	assert_int_equal(t.stats.resyncs_closed, 0);

	/* Hole over the READ_NOTIFY header: sync is lost and found again. */
	a = req_off[5] + 4;
	b = req_off[6];
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, 0, a, 0);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, b, w.n - b, 0);
	assert_int_equal(c.n, 5);
	flow_table_free(&t);
	assert_int_equal(t.stats.gaps, 1);
	assert_int_equal(t.stats.resyncs_closed, 1);
	assert_int_equal(c.n, NREQ - 1);
	assert_int_equal(c.m[5].h.cmd, CA_PROTO_EVENT_ADD);
	assert_int_equal(c.m[5].flags, CA_MSG_RESYNC);
	assert_int_equal(c.m[8].h.cmd, CA_PROTO_EVENT_CANCEL);
	assert_int_equal(c.m[8].flags, 0);
}

static void test_no_syn(void **state)
{
	struct flow_table t;
	struct ctx c;
	struct wire w;

	(void)state;
	build_requests(&w);

	/* Capture joined on a message boundary: found at once. */
	setup_table(&t, &c, 0);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, req_off[3], w.n - req_off[3], 0);
	check_requests(&c, 0, &w, 3, NREQ - 1);
	assert_int_equal(flow_table_resyncs(&t), 0);
	flow_table_free(&t);

	/* Joined in the middle of a message: the next one is found. */
	setup_table(&t, &c, 0);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, req_off[3] + 20, w.n - req_off[3] - 20, 0);
	assert_int_equal(c.n, NREQ - 4);
	assert_int_equal(c.m[0].h.cmd, CA_PROTO_CREATE_CHAN);
	assert_int_equal(c.m[0].h.p1, 2);
	assert_int_equal(c.m[0].flags, CA_MSG_RESYNC);
	assert_int_equal(flow_table_resyncs(&t), 1);
	flow_table_free(&t);

	/* A payload-less segment (ACK) of an unknown flow creates nothing. */
	setup_table(&t, &c, 0);
	ctl(&t, &KEY_A, CA_DIR_REQUEST, 1000, 0, 0);
	assert_null(flow_lookup(&t, &KEY_A));
	ctl(&t, &KEY_A, CA_DIR_REQUEST, 1000, 0, TCPF_FIN);
	assert_null(flow_lookup(&t, &KEY_A));
	flow_table_free(&t);
	assert_int_equal(c.nclosed, 0);
}

static void test_syn_then_data(void **state)
{
	struct flow_table t;
	struct ctx c;
	struct wire w;

	(void)state;
	build_requests(&w);
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 0x12345678);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 0x12345678);  /* SYN retransmitted */
	syn(&t, &KEY_A, CA_DIR_RESPONSE, 0x9ABCDEF0);
	assert_int_equal(c.nclosed, 0);
	assert_true(flow_lookup(&t, &KEY_A)->half[CA_DIR_REQUEST].seq_known);
	assert_int_equal(flow_lookup(&t, &KEY_A)->half[CA_DIR_REQUEST].next_seq, 0x12345679);
	/* In sync from the SYN: a first message that would not be believed
	 * on its own (a lone VERSION cut across two segments) is taken. */
	seg(&t, &KEY_A, CA_DIR_REQUEST, 0x12345678, &w, 0, 10, 0);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 0x12345678, &w, 10, w.n - 10, 0);
	check_requests(&c, 0, &w, 0, NREQ - 1);
	assert_int_equal(flow_table_resyncs(&t), 0);
	flow_table_free(&t);
}

/* A copy of the SYN that shows up after data (a duplicated packet, a late
 * retransmission) is an old segment, not a new connection.  Runs on a heap
 * fixture so that a failed assertion does not leak the table. */
struct fixture {
	struct flow_table t;
	struct ctx c;
	bool live;
};

static int fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	setup_table(&fx->t, &fx->c, 0);
	fx->live = true;
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->live)
		flow_table_free(&fx->t);
	free(fx);
	return 0;
}

static void test_late_duplicate_syn(void **state)
{
	struct fixture *fx = *state;
	struct flow_table *t = &fx->t;
	struct ctx *c = &fx->c;
	struct wire w;

	build_requests(&w);
	syn(t, &KEY_A, CA_DIR_REQUEST, 1000);
	send_seg(t, 1000, &w, 0);
	send_seg(t, 1000, &w, 1);
	syn(t, &KEY_A, CA_DIR_REQUEST, 1000);  /* same ISN: a duplicate */
	send_seg(t, 1000, &w, 2);
	send_seg(t, 1000, &w, 3);
	send_seg(t, 1000, &w, 4);
	assert_int_equal(c->nclosed, 0);
	check_requests(c, 0, &w, 0, NREQ - 1);
	fx->live = false;
	flow_table_free(t);
	assert_int_equal(c->nclosed, 1);
}

static void test_fin_both(void **state)
{
	struct flow_table t;
	struct ctx c;
	struct wire w, r = { .n = 0 };

	(void)state;
	build_requests(&w);
	wire_ca_hdr(&r, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	wire_ca_hdr(&r, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 1, 3);
	wire_ca_hdr(&r, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 1, 0x100);
	wire_ca_hdr(&r, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, 1, 1);
	wire_u32(&r, 0x40090000);
	wire_u32(&r, 0);

	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	syn(&t, &KEY_A, CA_DIR_RESPONSE, 50000);
	send_seg(&t, 1000, &w, 0);
	seg(&t, &KEY_A, CA_DIR_RESPONSE, 50000, &r, 0, 20, 0);
	send_seg(&t, 1000, &w, 1);
	send_seg(&t, 1000, &w, 2);
	send_seg(&t, 1000, &w, 3);
	/* The last request segment carries the FIN. */
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, cuts[4], w.n - cuts[4], TCPF_FIN);
	assert_int_equal(c.nclosed, 0);
	assert_non_null(flow_lookup(&t, &KEY_A));
	assert_true(flow_lookup(&t, &KEY_A)->half[CA_DIR_REQUEST].fin);
	/* The server's last bytes, then its FIN. */
	seg(&t, &KEY_A, CA_DIR_RESPONSE, 50000, &r, 20, r.n - 20, 0);
	assert_int_equal(c.nclosed, 0);
	ctl(&t, &KEY_A, CA_DIR_RESPONSE, 50000, r.n, TCPF_FIN);
	assert_int_equal(c.nclosed, 1);
	assert_memory_equal(&c.closed[0], &KEY_A, sizeof(KEY_A));
	assert_null(flow_lookup(&t, &KEY_A));
	assert_int_equal(c.n, NREQ + 4);
	{
		size_t i, nreq = 0, nrsp = 0;

		for (i = 0; i < c.n; i++) {
			assert_int_equal(c.m[i].flags, 0);
			if (c.m[i].dir == CA_DIR_REQUEST)
				nreq++;
			else
				nrsp++;
		}
		assert_int_equal(nreq, NREQ);
		assert_int_equal(nrsp, 4);
	}
	/* The last ACK after the close creates nothing and closes nothing. */
	ctl(&t, &KEY_A, CA_DIR_REQUEST, 1000, w.n + 1, 0);
	assert_null(flow_lookup(&t, &KEY_A));
	/* A retransmission of the last request segment after both FINs (issue
	 * 16: it was decoded again, as a circuit joined midway) is a copy of
	 * bytes already delivered: nothing new, counted. */
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, cuts[4], w.n - cuts[4], 0);
	seg(&t, &KEY_A, CA_DIR_RESPONSE, 50000, &r, 20, r.n - 20, 0);
	assert_null(flow_lookup(&t, &KEY_A));
	assert_int_equal(c.n, NREQ + 4);
	assert_int_equal(t.stats.after_close, 2);
	/* A new connection on the same ports (its SYN seen) is traced. */
	syn(&t, &KEY_A, CA_DIR_REQUEST, 7000);
	send_seg(&t, 7000, &w, 0);
	assert_non_null(flow_lookup(&t, &KEY_A));
	assert_true(c.n > NREQ + 4);
	flow_table_free(&t);
	assert_int_equal(c.nclosed, 2);

	/* FIN in the middle of a message: reported truncated at the FIN. */
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	seg(&t, &KEY_A, CA_DIR_REQUEST, 1000, &w, 0, req_off[3] + 20, TCPF_FIN);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.m[3].h.cmd, CA_PROTO_CREATE_CHAN);
	assert_int_equal(c.m[3].flags, CA_MSG_TRUNCATED);
	assert_int_equal(c.m[3].payload_len, 4);
	assert_int_equal(c.nclosed, 0);
	ctl(&t, &KEY_A, CA_DIR_RESPONSE, 50000, 0, TCPF_FIN);
	assert_int_equal(c.nclosed, 1);
	assert_null(flow_lookup(&t, &KEY_A));
	flow_table_free(&t);
	assert_int_equal(c.nclosed, 1);
	assert_int_equal(c.n, 4);
}

static void test_rst(void **state)
{
	struct flow_table t;
	struct ctx c;
	struct wire w;

	(void)state;
	build_requests(&w);
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	send_seg(&t, 1000, &w, 0);
	send_seg(&t, 1000, &w, 1);
	assert_int_equal(c.n, 3);
	/* 90 bytes in: inside the first CREATE_CHAN (64..104). */
	ctl(&t, &KEY_A, CA_DIR_RESPONSE, 7000, 0, TCPF_RST);
	assert_int_equal(c.nclosed, 1);
	assert_memory_equal(&c.closed[0], &KEY_A, sizeof(KEY_A));
	assert_null(flow_lookup(&t, &KEY_A));
	assert_int_equal(c.n, 4);
	assert_int_equal(c.m[3].h.cmd, CA_PROTO_CREATE_CHAN);
	assert_int_equal(c.m[3].h.p1, 1);
	assert_int_equal(c.m[3].flags, CA_MSG_TRUNCATED);
	assert_int_equal(c.m[3].payload_len, 10);
	assert_memory_equal(&c.m[3].key, &KEY_A, sizeof(KEY_A));
	flow_table_free(&t);
	assert_int_equal(c.nclosed, 1);
	assert_int_equal(c.n, 4);

	/* RST with no flow state at all: nothing created, nothing closed. */
	setup_table(&t, &c, 0);
	ctl(&t, &KEY_B, CA_DIR_REQUEST, 1, 0, TCPF_RST);
	assert_null(flow_lookup(&t, &KEY_B));
	flow_table_free(&t);
	assert_int_equal(c.nclosed, 0);
}

static void test_seq_wrap(void **state)
{
	static const uint32_t isns[] = { 0xFFFFFF80u, 0xFFFFFFFFu, 0xFFFFFFF0u, 0x7FFFFFF0u };
	struct flow_table t;
	struct ctx c;
	struct wire w;
	size_t i;

	(void)state;
	build_requests(&w);
	for (i = 0; i < sizeof(isns) / sizeof(isns[0]); i++) {
		uint32_t isn = isns[i];

		/* In order across the wrap. */
		setup_table(&t, &c, 0);
		syn(&t, &KEY_A, CA_DIR_REQUEST, isn);
		send_seg(&t, isn, &w, 0);
		send_seg(&t, isn, &w, 1);
		send_seg(&t, isn, &w, 2);
		send_seg(&t, isn, &w, 3);
		send_seg(&t, isn, &w, 4);
		check_requests(&c, 0, &w, 0, NREQ - 1);
		assert_int_equal(t.stats.gaps, 0);
		assert_int_equal(t.stats.retransmitted, 0);
		assert_int_equal(t.stats.out_of_order, 0);
		assert_int_equal(flow_lookup(&t, &KEY_A)->half[CA_DIR_REQUEST].next_seq,
				 (uint32_t)(isn + 1 + w.n));
		flow_table_free(&t);

		/* Out of order and retransmitted across the wrap. */
		setup_table(&t, &c, 0);
		syn(&t, &KEY_A, CA_DIR_REQUEST, isn);
		send_seg(&t, isn, &w, 0);
		send_seg(&t, isn, &w, 2);
		send_seg(&t, isn, &w, 4);
		send_seg(&t, isn, &w, 1);
		send_seg(&t, isn, &w, 1);
		send_seg(&t, isn, &w, 3);
		send_seg(&t, isn, &w, 0);
		check_requests(&c, 0, &w, 0, NREQ - 1);
		assert_int_equal(t.stats.gaps, 0);
		assert_int_equal(t.stats.out_of_order, 2);
		assert_int_equal(t.stats.retransmitted, 2);
		flow_table_free(&t);
		assert_int_equal(c.n, NREQ);
	}
}

static void test_eviction(void **state)
{
	struct flow_table t;
	struct ctx c;
	struct wire w;
	size_t i;

	(void)state;
	build_requests(&w);
	setup_table(&t, &c, 2);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	send_seg(&t, 1000, &w, 0);
	syn(&t, &KEY_B, CA_DIR_REQUEST, 2000);
	/* B stops inside the first CREATE_CHAN (64..104). */
	seg(&t, &KEY_B, CA_DIR_REQUEST, 2000, &w, 0, 90, 0);
	send_seg(&t, 1000, &w, 1);  /* A is now the most recent */
	assert_int_equal(c.n, 3 + 3);
	syn(&t, &KEY_C, CA_DIR_REQUEST, 3000);  /* table full: B goes */
	assert_int_equal(t.stats.evicted, 1);
	assert_int_equal(c.nclosed, 1);
	assert_memory_equal(&c.closed[0], &KEY_B, sizeof(KEY_B));
	assert_null(flow_lookup(&t, &KEY_B));
	assert_non_null(flow_lookup(&t, &KEY_A));
	assert_non_null(flow_lookup(&t, &KEY_C));
	/* B's message cut by the eviction came out under B's key. */
	assert_int_equal(c.n, 3 + 3 + 1);
	assert_memory_equal(&c.m[6].key, &KEY_B, sizeof(KEY_B));
	assert_int_equal(c.m[6].h.cmd, CA_PROTO_CREATE_CHAN);
	assert_int_equal(c.m[6].h.p1, 1);
	assert_int_equal(c.m[6].flags, CA_MSG_TRUNCATED);
	assert_int_equal(c.m[6].payload_len, 10);
	/* A carries on untouched. */
	send_seg(&t, 1000, &w, 2);
	send_seg(&t, 1000, &w, 3);
	send_seg(&t, 1000, &w, 4);
	{
		size_t na = 0;

		for (i = 0; i < c.n; i++)
			if (!memcmp(&c.m[i].key, &KEY_A, sizeof(KEY_A))) {
				assert_int_equal(c.m[i].flags, 0);
				na++;
			}
		assert_int_equal(na, NREQ);
	}
	/* Touch C, then a new flow B again: A is now the oldest. */
	seg(&t, &KEY_C, CA_DIR_REQUEST, 3000, &w, 0, 16, 0);
	syn(&t, &KEY_B, CA_DIR_REQUEST, 4000);
	assert_int_equal(t.stats.evicted, 2);
	assert_int_equal(c.nclosed, 2);
	assert_memory_equal(&c.closed[1], &KEY_A, sizeof(KEY_A));
	assert_null(flow_lookup(&t, &KEY_A));
	assert_non_null(flow_lookup(&t, &KEY_B));
	assert_non_null(flow_lookup(&t, &KEY_C));
	flow_table_free(&t);
	/* The rest go at the end, oldest first. */
	assert_int_equal(c.nclosed, 4);
	assert_memory_equal(&c.closed[2], &KEY_C, sizeof(KEY_C));
	assert_memory_equal(&c.closed[3], &KEY_B, sizeof(KEY_B));
}

/* Snap-length cut segments: the sequence space is the wire length. */
static void test_snaplen_cut(void **state)
{
	struct flow_table t;
	struct ctx c;
	struct wire w;
	struct pkt p;
	uint8_t *copy;

	(void)state;
	build_requests(&w);
	setup_table(&t, &c, 0);
	syn(&t, &KEY_A, CA_DIR_REQUEST, 1000);
	send_seg(&t, 1000, &w, 0);
	send_seg(&t, 1000, &w, 1);  /* up to 90: inside the 1st CREATE_CHAN (64..104) */
	/* Segment [90,131) with only 10 bytes captured. */
	copy = malloc(10);
	assert_non_null(copy);
	memcpy(copy, w.b + 90, 10);
	memset(&p, 0, sizeof(p));
	p.tcp_flags = TCPF_ACK;
	p.seq = 1000 + 1 + 90;
	p.payload = copy;
	p.payload_len = 10;
	p.payload_wire_len = 131 - 90;
	flow_segment(&t, &KEY_A, CA_DIR_REQUEST, &p, (struct flow_stamp){ .ts_ns = 0 });
	free(copy);
	send_seg(&t, 1000, &w, 3);
	send_seg(&t, 1000, &w, 4);
	assert_int_equal(flow_lookup(&t, &KEY_A)->half[CA_DIR_REQUEST].next_seq, 1000 + 1 + 240);
	assert_int_equal(t.stats.out_of_order, 0);
	assert_int_equal(t.stats.retransmitted, 0);
	/* Messages 0..2 whole; the first CREATE_CHAN (64..104) truncated
	 * after 10 + 10 bytes of name; the lost bytes 100..131 held the
	 * second CREATE_CHAN's header, so sync is lost and found again at
	 * the READ_NOTIFY (136). */
	assert_int_equal(c.n, 9);
	assert_int_equal(c.m[3].h.cmd, CA_PROTO_CREATE_CHAN);
	assert_int_equal(c.m[3].h.p1, 1);
	assert_int_equal(c.m[3].flags, CA_MSG_TRUNCATED);
	assert_int_equal(c.m[3].payload_len, 20);
	assert_memory_equal(c.m[3].payload, "XF:31IDA-OP{Tbl-Ax:X", 20);
	assert_int_equal(c.m[4].h.cmd, CA_PROTO_READ_NOTIFY);
	assert_int_equal(c.m[4].flags, CA_MSG_RESYNC);
	assert_int_equal(c.m[8].h.cmd, CA_PROTO_EVENT_CANCEL);
	assert_int_equal(c.m[8].flags, 0);
	assert_int_equal(flow_table_resyncs(&t), 1);
	flow_table_free(&t);
	assert_int_equal(c.n, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_retransmit),
		cmocka_unit_test(test_swapped),
		cmocka_unit_test(test_partial_overlap),
		cmocka_unit_test(test_hole_never_fills),
		cmocka_unit_test(test_no_syn),
		cmocka_unit_test(test_syn_then_data),
		cmocka_unit_test_setup_teardown(test_late_duplicate_syn, fx_setup, fx_teardown),
		cmocka_unit_test(test_fin_both),
		cmocka_unit_test(test_rst),
		cmocka_unit_test(test_seq_wrap),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_snaplen_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
