/* Records from the BPF ring buffer (include/catrace_record.h, version 2):
 * record_parse checks every length before anything is used, and
 * pipeline_segment feeds what a record carries to the framers, tracker and
 * filters that decode capture files.
 *
 * Records are built here byte by byte, as the kernel lays them out: the
 * 48-byte header, then each span (struct ca_span and its bytes, padded to
 * 8).  Each one is handed over in a heap copy of exactly its size, freed
 * right after, so ASan reports a read past a record or a pointer kept
 * into one.  Messages come out through the pipeline's hook (hook_only:
 * nothing printed) and are copied for the checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catrace_record.h"
#include "ca_proto.h"
#include "pipeline.h"
#include "record.h"
#include "wire.h"

#define CLI_IP   0x0a000002u
#define SRV_IP   0x0a000001u
#define CLI_PORT 40000
#define SRV_PORT 5064
#define DBR_TIME_DOUBLE 20

#define TCPF_FIN_ 0x01
#define TCPF_RST_ 0x04
#define TCPF_ACK_ 0x10

/* ---- CA bytes ---------------------------------------------------------- */

/* Payload bytes that say where they are: byte i of a payload is i*7+3. */
static void payload(struct wire *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		wire_u8(w, (unsigned)(i * 7 + 3) & 0xff);
}

/* A TIME_DOUBLE value: status, severity, stamp, RISC pad, value. */
static void time_double(struct wire *w, uint32_t secs, uint64_t value_bits)
{
	wire_u16(w, 0);
	wire_u16(w, 0);
	wire_u32(w, secs);
	wire_u32(w, 500);
	wire_u32(w, 0);
	wire_u64(w, value_bits);
}

/* ---- records ----------------------------------------------------------- */

#define RB_DATA_MAX (16 * 1024)

struct rb {
	struct ca_seg_record h;
	uint8_t b[sizeof(struct ca_seg_record) + RB_DATA_MAX];
	size_t pos;
};

/* A segment record of `proto` going `dir`, accounting for [seq, seq+len). */
static void rb_seg(struct rb *r, uint8_t proto, uint8_t dir, uint32_t seq,
		   uint32_t len, uint8_t flags, uint8_t tcp_flags)
{
	bool req = dir == REC_DIR_REQUEST;

	memset(&r->h, 0, sizeof(r->h));
	r->h.version = CATRACE_REC_VERSION;
	r->h.kind = REC_KIND_SEG;
	r->h.flags = flags;
	r->h.ts_ns = 1000000000ull;
	r->h.ifindex = 2;
	r->h.saddr = req ? CLI_IP : SRV_IP;
	r->h.daddr = req ? SRV_IP : CLI_IP;
	r->h.sport = req ? CLI_PORT : SRV_PORT;
	r->h.dport = req ? SRV_PORT : CLI_PORT;
	r->h.seq = seq;
	r->h.len = len;
	r->h.proto = proto;
	r->h.dir = dir;
	r->h.tcp_flags = tcp_flags;
	r->pos = sizeof(r->h);
}

static void rb_tcp(struct rb *r, uint8_t dir, uint32_t seq, uint32_t len, uint8_t flags)
{
	rb_seg(r, 6, dir, seq, len, flags, TCPF_ACK_);
}

/* A span: its header, its bytes, zeros up to the next multiple of 8. */
static void rb_span(struct rb *r, uint32_t off, const uint8_t *d, uint32_t n)
{
	struct ca_span sp = { off, n };
	size_t padded = ((size_t)n + 7) & ~(size_t)7;

	assert_true(r->pos + sizeof(sp) + padded <= sizeof(r->b));
	memcpy(r->b + r->pos, &sp, sizeof(sp));
	r->pos += sizeof(sp);
	memcpy(r->b + r->pos, d, n);
	memset(r->b + r->pos + n, 0, padded - n);
	r->pos += padded;
	r->h.n_spans++;
}

/* The header as it stands (rec_len: what was built) into the bytes. */
static size_t rb_done(struct rb *r)
{
	r->h.rec_len = (uint32_t)r->pos;
	memcpy(r->b, &r->h, sizeof(r->h));
	return r->pos;
}

/* The header as it stands, rec_len included, without touching the rest. */
static void rb_rewrite(struct rb *r)
{
	memcpy(r->b, &r->h, sizeof(r->h));
}

/* The copy the views of the last record_parse point into: kept until
 * the next one (or parse_release). */
static uint8_t *parsed_copy;

static void parse_release(void)
{
	free(parsed_copy);
	parsed_copy = NULL;
}

/* record_parse on an exact-size heap copy of the first `size` bytes. */
static enum rec_result parse_n(const struct rb *r, size_t size, struct rec_info *ri)
{
	parse_release();
	parsed_copy = malloc(size ? size : 1);
	assert_non_null(parsed_copy);
	memcpy(parsed_copy, r->b, size);
	return record_parse(parsed_copy, size, ri);
}

static enum rec_result parse(struct rb *r, struct rec_info *ri)
{
	return parse_n(r, rb_done(r), ri);
}

/* ---- the pipeline and what comes out of it ----------------------------- */

#define MAXM 16
#define KEEP_BYTES 2048

struct got_msg {
	struct ca_hdr h;
	unsigned flags;
	enum ca_dir dir;
	bool tcp;
	size_t payload_len;
	uint8_t payload[KEEP_BYTES];
	char pv[64];
	char problem[96];
	uint64_t ts_ns;
	struct flow_key key;
};

struct fixture {
	struct pipeline pl;
	FILE *null;
	unsigned n;
	struct got_msg m[MAXM];
};

static void hook(void *ctx, const struct flow_key *k, const struct msg_ctx *c,
		 const struct ca_msg *m)
{
	struct fixture *fx = ctx;
	struct got_msg *g;

	if (fx->n >= MAXM)
		fail_msg("more than %d messages", MAXM);
	g = &fx->m[fx->n++];
	memset(g, 0, sizeof(*g));
	g->h = m->h;
	g->flags = m->flags;
	g->dir = m->dir;
	g->tcp = m->tcp;
	g->payload_len = m->payload_len;
	assert_true(m->payload_len <= m->h.size);
	if (m->payload_len) {
		assert_non_null(m->payload);
		memcpy(g->payload, m->payload,
		       m->payload_len < KEEP_BYTES ? m->payload_len : KEEP_BYTES);
	}
	if (c->pv)
		snprintf(g->pv, sizeof(g->pv), "%.*s", (int)c->pv_len, c->pv);
	snprintf(g->problem, sizeof(g->problem), "%s", m->problem);
	g->ts_ns = c->ts_ns;
	g->key = *k;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->null = fopen("/dev/null", "w");
	if (!fx->null) {
		free(fx);
		return -1;
	}
	pipeline_init(&fx->pl, fx->null);
	fx->pl.hook = hook;
	fx->pl.hook_ctx = fx;
	fx->pl.hook_only = true;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	pipeline_finish(&fx->pl);
	pipeline_free(&fx->pl);
	fclose(fx->null);
	free(fx);
	return 0;
}

/* Parse the record (exact-size copy) and feed it; the copy is freed
 * before anything is checked. */
static void feed_ts(struct fixture *fx, struct rb *r, uint64_t ts)
{
	static struct rec_info ri;
	size_t size = rb_done(r);
	uint8_t *copy = malloc(size);
	enum rec_result res;

	assert_non_null(copy);
	memcpy(copy, r->b, size);
	res = record_parse(copy, size, &ri);
	if (res != REC_OK) {
		free(copy);
		fail_msg("record rejected: %s", record_result_str(res));
	}
	pipeline_segment(&fx->pl, &ri, ts);
	free(copy);
}

static void feed(struct fixture *fx, struct rb *r)
{
	feed_ts(fx, r, 1000000000ull + fx->n);
}

static size_t circuits(const struct fixture *fx)
{
	return hmap_count(&fx->pl.track.circuits);
}

static size_t flows(const struct fixture *fx)
{
	return hmap_count(&fx->pl.flows.map);
}

/* A message as expected: command, header fields that matter, flags. */
static void expect_msg(const struct got_msg *g, unsigned cmd, enum ca_dir dir,
		       uint32_t size, unsigned flags)
{
	if (g->h.cmd != cmd || g->dir != dir || g->h.size != size || g->flags != flags)
		fail_msg("got cmd %u dir %d size %u flags %#x (%s), want cmd %u dir %d size %u flags %#x",
			 g->h.cmd, g->dir, g->h.size, g->flags, g->problem, cmd, dir, size, flags);
}

/* ---- validation -------------------------------------------------------- */

/* A good TCP record to break: two spans with a skipped run between. */
static void good_tcp(struct rb *r)
{
	static const uint8_t a[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };

	rb_tcp(r, REC_DIR_RESPONSE, 1000, 100, REC_F_BOUNDARY);
	rb_span(r, 0, a, 20);       /* padded to 24 */
	rb_span(r, 40, a, 8);
	rb_done(r);
}

static void test_accepts_and_views(void **state)
{
	static struct rb r;
	static struct rec_info ri;

	(void)state;
	good_tcp(&r);
	r.h.flags |= REC_F_EGRESS | REC_F_LOST;
	r.h.tcp_flags = TCPF_ACK_ | TCPF_FIN_;
	assert_int_equal(parse(&r, &ri), REC_OK);
	assert_false(ri.packet);
	assert_true(ri.tcp);
	assert_true(ri.egress);
	assert_int_equal(ri.ifindex, 2);
	assert_int_equal(ri.ts_mono_ns, 1000000000ull);
	/* A response's source is the server: the key puts the client first. */
	assert_int_equal(ri.dir, CA_DIR_RESPONSE);
	assert_int_equal(ri.key.cli_ip, CLI_IP);
	assert_int_equal(ri.key.cli_port, CLI_PORT);
	assert_int_equal(ri.key.srv_ip, SRV_IP);
	assert_int_equal(ri.key.srv_port, SRV_PORT);
	assert_int_equal(ri.saddr, SRV_IP);
	assert_int_equal(ri.sport, SRV_PORT);
	assert_int_equal(ri.seg.seq, 1000);
	assert_int_equal(ri.seg.len, 100);
	assert_true(ri.seg.lost);
	assert_true(ri.seg.boundary);
	assert_int_equal(ri.seg.tcp_flags, TCPF_ACK_ | TCPF_FIN_);
	assert_int_equal(ri.seg.n, 2);
	assert_ptr_equal(ri.seg.spans, ri.spans);
	assert_int_equal(ri.spans[0].off, 0);
	assert_int_equal(ri.spans[0].len, 20);
	assert_int_equal(ri.spans[1].off, 40);
	assert_int_equal(ri.spans[1].len, 8);
	assert_int_equal(ri.spans[1].data[7], 8);

	/* A request: the key is the same circuit. */
	rb_tcp(&r, REC_DIR_REQUEST, 5, 0, 0);
	assert_int_equal(parse(&r, &ri), REC_OK);
	assert_int_equal(ri.dir, CA_DIR_REQUEST);
	assert_int_equal(ri.key.cli_ip, CLI_IP);
	assert_int_equal(ri.key.srv_port, SRV_PORT);
	assert_false(ri.seg.boundary);
	assert_false(ri.seg.lost);
	assert_int_equal(ri.seg.n, 0);

	/* Adjacent spans are fine (the kernel joins them, but need not). */
	rb_tcp(&r, REC_DIR_REQUEST, 5, 16, 0);
	rb_span(&r, 0, (const uint8_t *)"abcdefgh", 8);
	rb_span(&r, 8, (const uint8_t *)"ijklmnop", 8);
	assert_int_equal(parse(&r, &ri), REC_OK);
	assert_int_equal(ri.seg.n, 2);
	assert_memory_equal(ri.spans[1].data, "ijklmnop", 8);
	parse_release();
}

static void test_rejects_bad_headers(void **state)
{
	static struct rb r;
	static struct rec_info ri;
	size_t n;

	(void)state;
	good_tcp(&r);
	n = r.pos;
	/* Shorter than the prefix, then than the segment header. */
	assert_int_equal(parse_n(&r, 0, &ri), REC_SHORT);
	assert_int_equal(parse_n(&r, sizeof(struct ca_rec_prefix) - 1, &ri), REC_SHORT);
	assert_int_equal(parse_n(&r, sizeof(struct ca_seg_record) - 1, &ri), REC_SHORT);

	/* Another layout version, before and after this one. */
	r.h.version = CATRACE_REC_VERSION + 1;
	rb_rewrite(&r);
	assert_int_equal(parse_n(&r, n, &ri), REC_BAD_VERSION);
	r.h.version = CATRACE_REC_VERSION - 1;
	rb_rewrite(&r);
	assert_int_equal(parse_n(&r, n, &ri), REC_BAD_VERSION);

	/* Unknown kinds, the old message and close kinds (1 is SEG now) too. */
	good_tcp(&r);
	r.h.kind = 2;
	rb_rewrite(&r);
	assert_int_equal(parse_n(&r, n, &ri), REC_UNKNOWN_KIND);
	r.h.kind = 99;
	rb_rewrite(&r);
	assert_int_equal(parse_n(&r, n, &ri), REC_UNKNOWN_KIND);
	r.h.kind = 0;
	rb_rewrite(&r);
	assert_int_equal(parse_n(&r, n, &ri), REC_UNKNOWN_KIND);

	/* rec_len: more than was handed over, less than the header, more
	 * than any record holds. */
	good_tcp(&r);
	r.h.rec_len = (uint32_t)n + 1;
	rb_rewrite(&r);
	assert_int_equal(parse_n(&r, n, &ri), REC_BAD_LENGTH);
	r.h.rec_len = sizeof(struct ca_seg_record) - 1;
	rb_rewrite(&r);
	assert_int_equal(parse_n(&r, n, &ri), REC_BAD_LENGTH);
	r.h.rec_len = 0;
	rb_rewrite(&r);
	assert_int_equal(parse_n(&r, n, &ri), REC_BAD_LENGTH);
	r.h.rec_len = 0xffffffffu;
	rb_rewrite(&r);
	assert_int_equal(parse_n(&r, n, &ri), REC_BAD_LENGTH);
	/* Handed over with bytes to spare: rec_len says where it ends. */
	good_tcp(&r);
	assert_int_equal(parse_n(&r, n + 8, &ri), REC_OK);
	assert_int_equal(ri.seg.n, 2);

	/* Neither TCP nor UDP. */
	good_tcp(&r);
	r.h.proto = 1;
	rb_rewrite(&r);
	assert_int_equal(parse_n(&r, n, &ri), REC_BAD_LENGTH);
	parse_release();
}

static void test_rejects_too_long_record(void **state)
{
	size_t size = sizeof(struct ca_seg_record) + REC_SEG_DATA_MAX + 8;
	uint8_t *big = calloc(1, size);
	struct ca_seg_record h;
	static struct rec_info ri;

	(void)state;
	assert_non_null(big);
	memset(&h, 0, sizeof(h));
	h.version = CATRACE_REC_VERSION;
	h.kind = REC_KIND_SEG;
	h.proto = 6;
	h.len = 1;
	/* The largest record there is: accepted. */
	h.rec_len = sizeof(h) + REC_SEG_DATA_MAX;
	memcpy(big, &h, sizeof(h));
	assert_int_equal(record_parse(big, size, &ri), REC_OK);
	/* One more (8-byte) step: refused, though the bytes are there. */
	h.rec_len = sizeof(h) + REC_SEG_DATA_MAX + 8;
	memcpy(big, &h, sizeof(h));
	assert_int_equal(record_parse(big, size, &ri), REC_BAD_LENGTH);
	free(big);
}

static void test_rejects_bad_spans(void **state)
{
	static struct rb r;
	static struct rec_info ri;
	static const uint8_t d[64];
	struct ca_span sp;
	unsigned i;

	(void)state;
	/* More spans than the header has room for behind it. */
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	r.h.n_spans = 1;
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	rb_span(&r, 0, d, 8);
	r.h.n_spans = 2;
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);
	/* A span header cut by the record's end. */
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	rb_span(&r, 0, d, 8);
	r.pos -= 8 + 4;
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);

	/* Span bytes past the record: fewer than its length, or its last
	 * bytes there but not their padding. */
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	rb_span(&r, 0, d, 16);
	r.pos -= 8;
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	rb_span(&r, 0, d, 5);
	r.pos -= 3;   /* 5 bytes there, padding missing */
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);
	/* Bytes handed over past rec_len do not count. */
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	rb_span(&r, 0, d, 16);
	rb_done(&r);
	r.h.rec_len -= 8;
	rb_rewrite(&r);
	assert_int_equal(parse_n(&r, r.pos, &ri), REC_BAD_SPANS);

	/* Out of order, and overlapping by one byte. */
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	rb_span(&r, 40, d, 8);
	rb_span(&r, 0, d, 8);
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	rb_span(&r, 0, d, 16);
	rb_span(&r, 15, d, 8);
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);
	/* The same offset twice. */
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	rb_span(&r, 8, d, 8);
	rb_span(&r, 8, d, 8);
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);

	/* Past the bytes the record accounts for: by one, and far (the sum
	 * must not wrap). */
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	rb_span(&r, 93, d, 8);
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	rb_span(&r, 92, d, 8);   /* ends exactly at len: fine */
	assert_int_equal(parse(&r, &ri), REC_OK);
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	rb_span(&r, 0xfffffffcu, d, 8);
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);
	rb_tcp(&r, REC_DIR_REQUEST, 0, 0, 0);   /* accounts for nothing */
	rb_span(&r, 0, d, 8);
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);

	/* A zero-length span. */
	rb_tcp(&r, REC_DIR_REQUEST, 0, 100, 0);
	rb_span(&r, 0, d, 8);
	sp.off = 8;
	sp.len = 0;
	memcpy(r.b + r.pos, &sp, sizeof(sp));
	r.pos += sizeof(sp);
	r.h.n_spans++;
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);

	/* A span longer than any record holds (its bytes are not there
	 * either: the length alone must not be trusted). */
	rb_tcp(&r, REC_DIR_REQUEST, 0, 0xffffffffu, 0);
	sp.off = 0;
	sp.len = 0xfffffff9u;
	memcpy(r.b + r.pos, &sp, sizeof(sp));
	r.pos += sizeof(sp);
	r.h.n_spans = 1;
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);

	/* REC_SPANS_MAX spans: fine; one more: refused. */
	rb_tcp(&r, REC_DIR_REQUEST, 0, 1000, 0);
	for (i = 0; i < REC_SPANS_MAX; i++)
		rb_span(&r, i * 16, d, 8);
	assert_int_equal(parse(&r, &ri), REC_OK);
	assert_int_equal(ri.seg.n, REC_SPANS_MAX);
	rb_span(&r, REC_SPANS_MAX * 16, d, 8);
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);
	/* The count alone: no span data read for it. */
	rb_tcp(&r, REC_DIR_REQUEST, 0, 1000, 0);
	r.h.n_spans = 0xffff;
	assert_int_equal(parse(&r, &ri), REC_BAD_SPANS);
	parse_release();
}

static void test_packet_records(void **state)
{
	uint8_t b[sizeof(struct ca_pkt_record) + 64];
	struct ca_pkt_record p;
	static struct rec_info ri;
	unsigned i;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.version = CATRACE_REC_VERSION;
	p.kind = REC_KIND_PACKET;
	p.flags = REC_F_EGRESS;
	p.rec_len = sizeof(p) + 60;
	p.ts_ns = 42;
	p.ifindex = 3;
	p.wire_len = 1500;
	p.cap_len = 60;
	p.gso_size = 1448;
	p.gso_segs = 2;
	p.dir = REC_DIR_RESPONSE;
	for (i = 0; i < 64; i++)
		b[sizeof(p) + i] = (uint8_t)i;
	memcpy(b, &p, sizeof(p));
	assert_int_equal(record_parse(b, sizeof(p) + 60, &ri), REC_OK);
	assert_true(ri.packet);
	assert_true(ri.egress);
	assert_int_equal(ri.ts_mono_ns, 42);
	assert_int_equal(ri.ifindex, 3);
	assert_ptr_equal(ri.pkt, b + sizeof(p));
	assert_int_equal(ri.pkt_caplen, 60);
	assert_int_equal(ri.pkt_wirelen, 1500);
	assert_int_equal(ri.gso_size, 1448);

	assert_int_equal(record_parse(b, sizeof(p) - 1, &ri), REC_SHORT);
	/* cap_len past the bytes there, or past wire_len. */
	assert_int_equal(record_parse(b, sizeof(p) + 59, &ri), REC_BAD_LENGTH);
	p.wire_len = 59;
	memcpy(b, &p, sizeof(p));
	assert_int_equal(record_parse(b, sizeof(p) + 60, &ri), REC_BAD_LENGTH);
	p.wire_len = 60;
	p.cap_len = 0xffffffffu;
	memcpy(b, &p, sizeof(p));
	assert_int_equal(record_parse(b, sizeof(b), &ri), REC_BAD_LENGTH);
	p.cap_len = 60;
	p.version = CATRACE_REC_VERSION + 1;
	memcpy(b, &p, sizeof(p));
	assert_int_equal(record_parse(b, sizeof(p) + 60, &ri), REC_BAD_VERSION);
}

/* ---- decoding ---------------------------------------------------------- */

static void test_udp_record(void **state)
{
	struct fixture *fx = *state;
	static struct rb r;
	struct wire w = { .n = 0 };

	/* A client's search datagram: VERSION, then SEARCH for PV:name. */
	wire_ca_hdr(&w, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	wire_ca_hdr(&w, CA_PROTO_SEARCH, 8, 5, 13, 77, 77);
	wire_name(&w, "PV:name", 8);
	rb_seg(&r, 17, REC_DIR_REQUEST, 0, (uint32_t)w.n, 0, 0);
	r.h.sport = 40001;
	rb_span(&r, 0, w.b, (uint32_t)w.n);
	feed_ts(fx, &r, 123456789ull);
	assert_int_equal(fx->n, 2);
	expect_msg(&fx->m[0], CA_PROTO_VERSION, CA_DIR_REQUEST, 0, 0);
	assert_false(fx->m[0].tcp);
	assert_int_equal(fx->m[0].h.count, 13);
	expect_msg(&fx->m[1], CA_PROTO_SEARCH, CA_DIR_REQUEST, 8, 0);
	assert_false(fx->m[1].tcp);
	assert_int_equal(fx->m[1].h.p1, 77);
	assert_int_equal(fx->m[1].payload_len, 8);
	assert_string_equal((const char *)fx->m[1].payload, "PV:name");
	assert_string_equal(fx->m[1].pv, "PV:name");
	assert_int_equal(fx->m[1].ts_ns, 123456789ull);
	assert_int_equal(fx->m[1].key.cli_ip, CLI_IP);
	assert_int_equal(fx->m[1].key.cli_port, 40001);
	assert_int_equal(fx->m[1].key.srv_port, SRV_PORT);
	assert_int_equal(fx->pl.st.messages, 2);
	/* UDP keeps no flow. */
	assert_int_equal(flows(fx), 0);

	/* A datagram whose bytes the kernel had only part of: the message
	 * cut short is reported truncated, not as something else. */
	rb_seg(&r, 17, REC_DIR_REQUEST, 0, (uint32_t)w.n, 0, 0);
	r.h.sport = 40001;
	rb_span(&r, 0, w.b, (uint32_t)w.n - 4);
	feed(fx, &r);
	assert_int_equal(fx->n, 4);
	expect_msg(&fx->m[2], CA_PROTO_VERSION, CA_DIR_REQUEST, 0, 0);
	expect_msg(&fx->m[3], CA_PROTO_SEARCH, CA_DIR_REQUEST, 8, CA_MSG_TRUNCATED);
	assert_int_equal(fx->m[3].payload_len, 4);
}

/* The start of a circuit, both ways, with messages split across records,
 * through to a monitor update that names its PV. */
static void test_tcp_split_messages(void **state)
{
	struct fixture *fx = *state;
	static struct rb r;
	struct wire w = { .n = 0 };
	uint64_t bits;
	double v = 3.25;
	size_t cut;

	/* Requests: VERSION, CLIENT_NAME, CREATE_CHAN "A:b" cid 1, then
	 * EVENT_ADD on sid 77, subscription 9. */
	wire_ca_hdr(&w, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	wire_ca_hdr(&w, CA_PROTO_CLIENT_NAME, 8, 0, 0, 0, 0);
	wire_name(&w, "user", 8);
	wire_ca_hdr(&w, CA_PROTO_CREATE_CHAN, 8, 0, 0, 1, 13);
	wire_name(&w, "A:b", 8);
	assert_int_equal(w.n, 64);

	/* Record 1: VERSION and CLIENT_NAME's header and 3 of its payload
	 * bytes; record 2: the rest, and CREATE_CHAN. */
	cut = 16 + 16 + 3;
	rb_tcp(&r, REC_DIR_REQUEST, 1001, (uint32_t)cut, REC_F_BOUNDARY);
	rb_span(&r, 0, w.b, (uint32_t)cut);
	feed(fx, &r);
	assert_int_equal(fx->n, 1);
	expect_msg(&fx->m[0], CA_PROTO_VERSION, CA_DIR_REQUEST, 0, 0);
	assert_true(fx->m[0].tcp);
	assert_int_equal(flows(fx), 1);

	rb_tcp(&r, REC_DIR_REQUEST, 1001 + (uint32_t)cut, (uint32_t)(w.n - cut), 0);
	rb_span(&r, 0, w.b + cut, (uint32_t)(w.n - cut));
	feed(fx, &r);
	assert_int_equal(fx->n, 3);
	expect_msg(&fx->m[1], CA_PROTO_CLIENT_NAME, CA_DIR_REQUEST, 8, 0);
	assert_int_equal(fx->m[1].payload_len, 8);
	assert_string_equal((const char *)fx->m[1].payload, "user");
	expect_msg(&fx->m[2], CA_PROTO_CREATE_CHAN, CA_DIR_REQUEST, 8, 0);
	assert_int_equal(fx->m[2].h.p1, 1);
	assert_string_equal(fx->m[2].pv, "A:b");
	assert_int_equal(circuits(fx), 1);

	/* Responses: CREATE_CHAN (cid 1 -> sid 77), a header split in the
	 * middle (8 bytes, then the rest with nothing else). */
	w.n = 0;
	wire_ca_hdr(&w, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 1, 77);
	rb_tcp(&r, REC_DIR_RESPONSE, 70001, 8, REC_F_BOUNDARY);
	rb_span(&r, 0, w.b, 8);
	feed(fx, &r);
	assert_int_equal(fx->n, 3);
	rb_tcp(&r, REC_DIR_RESPONSE, 70009, 8, 0);
	rb_span(&r, 0, w.b + 8, 8);
	feed(fx, &r);
	assert_int_equal(fx->n, 4);
	expect_msg(&fx->m[3], CA_PROTO_CREATE_CHAN, CA_DIR_RESPONSE, 0, 0);
	assert_int_equal(fx->m[3].h.p2, 77);
	assert_string_equal(fx->m[3].pv, "A:b");

	/* The subscription... */
	w.n = 0;
	wire_ca_hdr(&w, CA_PROTO_EVENT_ADD, 16, DBR_TIME_DOUBLE, 1, 77, 9);
	wire_u32(&w, 0);
	wire_u32(&w, 0);
	wire_u32(&w, 0);
	wire_u16(&w, 5);
	wire_u16(&w, 0);
	rb_tcp(&r, REC_DIR_REQUEST, 1001 + 64, (uint32_t)w.n, 0);
	rb_span(&r, 0, w.b, (uint32_t)w.n);
	feed(fx, &r);
	assert_int_equal(fx->n, 5);
	expect_msg(&fx->m[4], CA_PROTO_EVENT_ADD, CA_DIR_REQUEST, 16, 0);
	assert_string_equal(fx->m[4].pv, "A:b");

	/* ...and its first update, its value split across three records. */
	memcpy(&bits, &v, sizeof(bits));
	w.n = 0;
	wire_ca_hdr(&w, CA_PROTO_EVENT_ADD, 24, DBR_TIME_DOUBLE, 1, ECA_NORMAL, 9);
	time_double(&w, 1000000000u, bits);
	rb_tcp(&r, REC_DIR_RESPONSE, 70017, 20, 0);
	rb_span(&r, 0, w.b, 20);
	feed(fx, &r);
	rb_tcp(&r, REC_DIR_RESPONSE, 70037, 10, 0);
	rb_span(&r, 0, w.b + 20, 10);
	feed(fx, &r);
	assert_int_equal(fx->n, 5);
	rb_tcp(&r, REC_DIR_RESPONSE, 70047, 10, 0);
	rb_span(&r, 0, w.b + 30, 10);
	feed_ts(fx, &r, 77);
	assert_int_equal(fx->n, 6);
	expect_msg(&fx->m[5], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 24, 0);
	assert_int_equal(fx->m[5].h.p2, 9);
	assert_int_equal(fx->m[5].payload_len, 24);
	assert_memory_equal(fx->m[5].payload, w.b + 16, 24);
	assert_string_equal(fx->m[5].pv, "A:b");
	/* The time of the record that completed it. */
	assert_int_equal(fx->m[5].ts_ns, 77);
	assert_int_equal(fx->m[5].key.cli_ip, CLI_IP);
	assert_int_equal(fx->m[5].key.srv_port, SRV_PORT);

	assert_int_equal(fx->pl.flows.stats.live_disagreed, 0);
	assert_int_equal(fx->pl.flows.stats.live_lost, 0);
	assert_int_equal(pipeline_resyncs(&fx->pl), 0);
	assert_int_equal(fx->pl.st.truncated, 0);
	assert_int_equal(fx->pl.st.malformed, 0);
}

/* A message past its copy budget: the kernel sends the header and the
 * first bytes, and accounts for the rest without sending it. */
static void test_copy_budget_skips(void **state)
{
	struct fixture *fx = *state;
	static struct rb r;
	static struct wire w;
	size_t big, i;
	uint32_t base;

	/* A 500-element DBR_DOUBLE update (4000 payload bytes), then a
	 * one-element one. */
	w.n = 0;
	wire_ca_hdr(&w, CA_PROTO_EVENT_ADD, 4000, DBR_DOUBLE, 500, ECA_NORMAL, 9);
	payload(&w, 4000);
	big = w.n;
	wire_ca_hdr(&w, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1, ECA_NORMAL, 10);
	payload(&w, 8);

	/* One record: 16 + 1024 bytes, 2976 skipped, then the small one. */
	rb_tcp(&r, REC_DIR_RESPONSE, 5000, (uint32_t)w.n, REC_F_BOUNDARY);
	rb_span(&r, 0, w.b, 16 + 1024);
	rb_span(&r, (uint32_t)big, w.b + big, 24);
	feed(fx, &r);
	assert_int_equal(fx->n, 2);
	expect_msg(&fx->m[0], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 4000, CA_MSG_BIG);
	assert_int_equal(fx->m[0].h.count, 500);
	assert_int_equal(fx->m[0].payload_len, 1024);
	assert_memory_equal(fx->m[0].payload, w.b + 16, 1024);
	expect_msg(&fx->m[1], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 8, 0);
	assert_int_equal(fx->m[1].h.p2, 10);
	assert_memory_equal(fx->m[1].payload, w.b + big + 16, 8);

	/* The same message across records: 1000 bytes copied in the first,
	 * 40 copied and 1460 skipped in the second, 1000 skipped in a
	 * record with no span at all, and the last 516 skipped before the
	 * small one. */
	base = 5000 + (uint32_t)w.n;
	rb_tcp(&r, REC_DIR_RESPONSE, base, 1000, 0);
	rb_span(&r, 0, w.b, 1000);
	feed(fx, &r);
	rb_tcp(&r, REC_DIR_RESPONSE, base + 1000, 1500, 0);
	rb_span(&r, 0, w.b + 1000, 40);
	feed(fx, &r);
	rb_tcp(&r, REC_DIR_RESPONSE, base + 2500, 1000, 0);
	feed(fx, &r);
	assert_int_equal(fx->n, 2);   /* nothing finished yet */
	rb_tcp(&r, REC_DIR_RESPONSE, base + 3500, 516 + 24, 0);
	rb_span(&r, 516, w.b + big, 24);
	feed(fx, &r);
	assert_int_equal(fx->n, 4);
	expect_msg(&fx->m[2], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 4000, CA_MSG_BIG);
	assert_int_equal(fx->m[2].payload_len, 1024);
	assert_memory_equal(fx->m[2].payload, w.b + 16, 1024);
	expect_msg(&fx->m[3], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 8, 0);

	/* Skipped on purpose is not lost: nothing truncated, no resync. */
	assert_int_equal(fx->pl.flows.stats.live_disagreed, 0);
	assert_int_equal(fx->pl.flows.stats.live_lost, 0);
	assert_int_equal(fx->pl.st.truncated, 0);
	assert_int_equal(pipeline_resyncs(&fx->pl), 0);
	for (i = 0; i < fx->n; i++)
		assert_false(fx->m[i].flags & (CA_MSG_TRUNCATED | CA_MSG_RESYNC));

	/* Bytes skipped where the framer has no payload to skip (the two
	 * disagree): counted, and treated as a gap. */
	rb_tcp(&r, REC_DIR_RESPONSE, base + 4040, 16, 0);
	feed(fx, &r);
	assert_int_equal(fx->pl.flows.stats.live_disagreed, 1);
	assert_int_equal(fx->n, 4);
}

/* REC_F_LOST: bytes the kernel never had, or a record the full ring
 * buffer refused.  The message they cut is reported truncated. */
static void test_lost_bytes(void **state)
{
	struct fixture *fx = *state;
	static struct rb r;
	struct wire w = { .n = 0 };
	struct wire w2 = { .n = 0 };
	uint32_t seq = 100;

	/* A 25-element update (200 payload bytes), then a 1-element one. */
	wire_ca_hdr(&w, CA_PROTO_EVENT_ADD, 200, DBR_DOUBLE, 25, ECA_NORMAL, 9);
	payload(&w, 200);
	wire_ca_hdr(&w, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1, ECA_NORMAL, 10);
	payload(&w, 8);
	assert_int_equal(w.n, 240);

	/* Header and 100 payload bytes; then a hole of 50 inside the payload
	 * (the kernel stays in sync), the last 50 and the small update. */
	rb_tcp(&r, REC_DIR_RESPONSE, seq, 116, REC_F_BOUNDARY);
	rb_span(&r, 0, w.b, 116);
	feed(fx, &r);
	assert_int_equal(fx->n, 0);
	rb_tcp(&r, REC_DIR_RESPONSE, seq + 166, 74, REC_F_LOST);
	rb_span(&r, 0, w.b + 166, 74);
	feed(fx, &r);
	assert_int_equal(fx->n, 2);
	expect_msg(&fx->m[0], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 200, CA_MSG_TRUNCATED);
	/* What came before the hole, nothing after it. */
	assert_int_equal(fx->m[0].payload_len, 100);
	assert_memory_equal(fx->m[0].payload, w.b + 16, 100);
	assert_non_null(strstr(fx->m[0].problem, "50 of 200"));
	expect_msg(&fx->m[1], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 8, 0);
	assert_int_equal(fx->pl.flows.stats.live_lost, 1);
	assert_int_equal(fx->pl.st.truncated, 1);
	seq += 240;

	/* A refused record took the rest of a message and the header of the
	 * next: the record after says LOST, and BOUNDARY where its first
	 * span starts a message. */
	rb_tcp(&r, REC_DIR_RESPONSE, seq, 116, 0);
	rb_span(&r, 0, w.b, 116);
	feed(fx, &r);
	assert_int_equal(fx->n, 2);
	wire_ca_hdr(&w2, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1, ECA_NORMAL, 11);
	payload(&w2, 8);
	rb_tcp(&r, REC_DIR_RESPONSE, seq + 240 + 24, 24, REC_F_LOST | REC_F_BOUNDARY);
	rb_span(&r, 0, w2.b, 24);
	feed(fx, &r);
	assert_int_equal(fx->n, 4);
	expect_msg(&fx->m[2], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 200, CA_MSG_TRUNCATED);
	assert_int_equal(fx->m[2].payload_len, 100);
	/* Framing goes on from the boundary, marked as found again. */
	expect_msg(&fx->m[3], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 8, CA_MSG_RESYNC);
	assert_int_equal(fx->m[3].h.p2, 11);
	assert_int_equal(fx->pl.flows.stats.live_lost, 2);
	/* The kernel said the bytes were lost: no disagreement. */
	assert_int_equal(fx->pl.flows.stats.live_disagreed, 0);
	seq += 240 + 24 + 24;

	/* Lost bytes and nothing after them but the end (FIN, no spans):
	 * the message in progress is cut short. */
	rb_tcp(&r, REC_DIR_RESPONSE, seq, 116, 0);
	rb_span(&r, 0, w.b, 116);
	feed(fx, &r);
	rb_seg(&r, 6, REC_DIR_RESPONSE, seq + 140, 0, REC_F_LOST, TCPF_FIN_ | TCPF_ACK_);
	feed(fx, &r);
	assert_int_equal(fx->n, 5);
	expect_msg(&fx->m[4], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 200, CA_MSG_TRUNCATED);
	assert_int_equal(fx->m[4].payload_len, 100);
	assert_int_equal(fx->pl.st.truncated, 3);
}

/* REC_F_BOUNDARY: where the kernel knows a message starts, the framer
 * starts there, without searching, even at a message the search would
 * doubt (a name not padded to 8, as some clients send). */
static void test_boundary(void **state)
{
	struct fixture *fx = *state;
	static struct rb r;
	struct wire w = { .n = 0 };
	struct wire names = { .n = 0 };
	unsigned i;

	wire_ca_hdr(&names, CA_PROTO_CLIENT_NAME, 5, 0, 0, 0, 0);
	wire_name(&names, "user", 5);
	wire_ca_hdr(&names, CA_PROTO_HOST_NAME, 5, 0, 0, 0, 0);
	wire_name(&names, "host", 5);

	/* A flow's first record, at the stream's start. */
	rb_tcp(&r, REC_DIR_REQUEST, 1, (uint32_t)names.n, REC_F_BOUNDARY);
	rb_span(&r, 0, names.b, (uint32_t)names.n);
	feed(fx, &r);
	assert_int_equal(fx->n, 2);
	expect_msg(&fx->m[0], CA_PROTO_CLIENT_NAME, CA_DIR_REQUEST, 5, 0);
	assert_string_equal((const char *)fx->m[0].payload, "user");
	expect_msg(&fx->m[1], CA_PROTO_HOST_NAME, CA_DIR_REQUEST, 5, 0);
	assert_int_equal(pipeline_resyncs(&fx->pl), 0);

	/* Boundaries found again after a refused record: the message in
	 * progress is cut short, framing goes on from the boundary. */
	wire_ca_hdr(&w, CA_PROTO_CREATE_CHAN, 64, 0, 0, 2, 13);
	wire_name(&w, "LONG:NAME", 64);
	rb_tcp(&r, REC_DIR_REQUEST, 1 + (uint32_t)names.n, 24, 0);
	rb_span(&r, 0, w.b, 24);
	feed(fx, &r);
	assert_int_equal(fx->n, 2);
	rb_tcp(&r, REC_DIR_REQUEST, 1 + (uint32_t)names.n + 300, (uint32_t)names.n,
	       REC_F_LOST | REC_F_BOUNDARY);
	rb_span(&r, 0, names.b, (uint32_t)names.n);
	feed(fx, &r);
	assert_int_equal(fx->n, 5);
	expect_msg(&fx->m[2], CA_PROTO_CREATE_CHAN, CA_DIR_REQUEST, 64, CA_MSG_TRUNCATED);
	assert_int_equal(fx->m[2].payload_len, 8);
	expect_msg(&fx->m[3], CA_PROTO_CLIENT_NAME, CA_DIR_REQUEST, 5, CA_MSG_RESYNC);
	expect_msg(&fx->m[4], CA_PROTO_HOST_NAME, CA_DIR_REQUEST, 5, 0);
	assert_int_equal(fx->pl.flows.stats.live_disagreed, 0);

	/* A flow joined midway (the kernel says LOST, no boundary known):
	 * the framer searches, and the first message it finds is marked. */
	w.n = 0;
	for (i = 0; i < 12; i++)
		wire_u8(&w, 0xff);
	for (i = 0; i < 3; i++) {
		wire_ca_hdr(&w, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1, ECA_NORMAL, 20 + i);
		payload(&w, 8);
	}
	rb_tcp(&r, REC_DIR_RESPONSE, 123456, (uint32_t)w.n, REC_F_LOST | REC_F_UNSYNCED);
	r.h.dport = CLI_PORT + 1;
	rb_span(&r, 0, w.b, (uint32_t)w.n);
	feed(fx, &r);
	assert_int_equal(fx->n, 8);
	expect_msg(&fx->m[5], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 8, CA_MSG_RESYNC);
	assert_int_equal(fx->m[5].h.p2, 20);
	assert_int_equal(fx->m[5].key.cli_port, CLI_PORT + 1);
	expect_msg(&fx->m[6], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 8, 0);
	expect_msg(&fx->m[7], CA_PROTO_EVENT_ADD, CA_DIR_RESPONSE, 8, 0);
	assert_int_equal(fx->m[7].h.p2, 22);
	assert_int_equal(flows(fx), 2);
}

/* The records of one circuit up to its CREATE_CHAN answer: a channel
 * the tracker holds. */
static void open_channel(struct fixture *fx, uint32_t *req_seq, uint32_t *resp_seq)
{
	static struct rb r;
	struct wire w = { .n = 0 };

	wire_ca_hdr(&w, CA_PROTO_CREATE_CHAN, 8, 0, 0, 1, 13);
	wire_name(&w, "A:b", 8);
	rb_tcp(&r, REC_DIR_REQUEST, *req_seq, (uint32_t)w.n, REC_F_BOUNDARY);
	rb_span(&r, 0, w.b, (uint32_t)w.n);
	feed(fx, &r);
	*req_seq += (uint32_t)w.n;
	w.n = 0;
	wire_ca_hdr(&w, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 1, 77);
	rb_tcp(&r, REC_DIR_RESPONSE, *resp_seq, (uint32_t)w.n, REC_F_BOUNDARY);
	rb_span(&r, 0, w.b, (uint32_t)w.n);
	feed(fx, &r);
	*resp_seq += (uint32_t)w.n;
}

static void test_fin_and_rst_close_circuit(void **state)
{
	struct fixture *fx = *state;
	static struct rb r;
	struct wire w = { .n = 0 };
	uint32_t q = 1, s = 9001;
	unsigned before;

	/* FIN from each end: half closed after the first (the server may
	 * still answer), gone after the second. */
	open_channel(fx, &q, &s);
	assert_int_equal(fx->n, 2);
	assert_string_equal(fx->m[1].pv, "A:b");
	assert_int_equal(circuits(fx), 1);
	assert_int_equal(flows(fx), 1);
	rb_seg(&r, 6, REC_DIR_REQUEST, q, 0, 0, TCPF_FIN_ | TCPF_ACK_);
	feed(fx, &r);
	assert_int_equal(circuits(fx), 1);
	assert_int_equal(flows(fx), 1);
	/* The last answer comes with the server's FIN. */
	wire_ca_hdr(&w, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, ECA_NORMAL, 4);
	payload(&w, 8);
	rb_seg(&r, 6, REC_DIR_RESPONSE, s, (uint32_t)w.n, 0, TCPF_FIN_ | TCPF_ACK_);
	rb_span(&r, 0, w.b, (uint32_t)w.n);
	feed(fx, &r);
	assert_int_equal(fx->n, 3);
	expect_msg(&fx->m[2], CA_PROTO_READ_NOTIFY, CA_DIR_RESPONSE, 8, 0);
	assert_int_equal(circuits(fx), 0);
	assert_int_equal(flows(fx), 0);
	/* A late FIN (or a retransmitted one) of a flow gone brings back
	 * nothing. */
	rb_seg(&r, 6, REC_DIR_REQUEST, q, 0, 0, TCPF_FIN_ | TCPF_ACK_);
	feed(fx, &r);
	assert_int_equal(flows(fx), 0);
	assert_int_equal(circuits(fx), 0);

	/* RST from either end: gone at once. */
	q = 50001;
	s = 60001;
	open_channel(fx, &q, &s);
	assert_int_equal(circuits(fx), 1);
	rb_seg(&r, 6, REC_DIR_RESPONSE, s, 0, 0, TCPF_RST_);
	feed(fx, &r);
	assert_int_equal(circuits(fx), 0);
	assert_int_equal(flows(fx), 0);
	q = 70001;
	s = 80001;
	open_channel(fx, &q, &s);
	assert_int_equal(circuits(fx), 1);
	rb_seg(&r, 6, REC_DIR_REQUEST, q, 0, 0, TCPF_RST_ | TCPF_ACK_);
	feed(fx, &r);
	assert_int_equal(circuits(fx), 0);
	assert_int_equal(flows(fx), 0);

	/* A FIN inside a message: the message is reported cut short. */
	q = 90001;
	s = 100001;
	open_channel(fx, &q, &s);
	before = fx->n;
	rb_seg(&r, 6, REC_DIR_RESPONSE, s, 20, 0, TCPF_ACK_);
	rb_span(&r, 0, w.b, 20);
	feed(fx, &r);
	assert_int_equal(fx->n, before);
	rb_seg(&r, 6, REC_DIR_REQUEST, q, 0, 0, TCPF_FIN_ | TCPF_ACK_);
	feed(fx, &r);
	rb_seg(&r, 6, REC_DIR_RESPONSE, s + 20, 0, 0, TCPF_FIN_ | TCPF_ACK_);
	feed(fx, &r);
	assert_int_equal(fx->n, before + 1);
	expect_msg(&fx->m[before], CA_PROTO_READ_NOTIFY, CA_DIR_RESPONSE, 8, CA_MSG_TRUNCATED);
	assert_int_equal(fx->m[before].payload_len, 4);
	assert_int_equal(circuits(fx), 0);
	assert_int_equal(flows(fx), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_and_views),
		cmocka_unit_test(test_rejects_bad_headers),
		cmocka_unit_test(test_rejects_too_long_record),
		cmocka_unit_test(test_rejects_bad_spans),
		cmocka_unit_test(test_packet_records),
		cmocka_unit_test_setup_teardown(test_udp_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_split_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_budget_skips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_and_rst_close_circuit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
