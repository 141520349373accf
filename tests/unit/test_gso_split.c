/* Unit tests for user/gso_split.c: cutting TCP/IPv4 GSO super-packets into
 * wire segments.
 *
 * Frames are built here field by field, checksums computed with a plain
 * 16-bit ones'-complement sum written independently of the unit.  Each
 * expected segment is built the same way from scratch (its own seq, ID,
 * flags and payload slice) and compared byte for byte with what the unit
 * emitted; on top, both checksums of every segment must sum to 0xffff and
 * the payloads must concatenate to the original.  Input frames are heap
 * copies of exactly their length so that AddressSanitizer sees overreads.
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

#include "gso_split.h"
#include "wire.h"

/* ---- frame builder --------------------------------------------------------- */

#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10
#define F_URG 0x20
#define F_ECE 0x40
#define F_CWR 0x80

struct spec {
	uint16_t tpid[2];	/* VLAN tags' TPIDs, 0 for none */
	int ntags;
	uint16_t ethertype;	/* inner ethertype, 0x0800 unless testing */
	uint8_t ip_opt_words;	/* IPv4 options, in 4-byte words */
	uint8_t tcp_opt_words;	/* TCP options, in 4-byte words */
	uint8_t proto;
	uint16_t ip_id;
	uint16_t frag;		/* flags + fragment offset field */
	uint32_t seq;
	uint8_t flags;
	uint16_t urg;
	const uint8_t *payload;
	uint32_t paylen;
};

/* Straightforward RFC 1071 sum: 16-bit big-endian words, odd byte padded,
 * carries folded at the end.  Returns the folded sum (not complemented). */
static uint16_t sum16(const uint8_t *p, size_t n, uint32_t start)
{
	uint32_t s = start;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] * 256 + p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] * 256;
	while (s > 0xffff)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t pseudo_sum(const uint8_t *ip, uint32_t tcplen)
{
	uint32_t s = 0;
	int i;

	for (i = 12; i < 20; i += 2)
		s += (uint32_t)(ip[i] * 256 + ip[i + 1]);
	return s + 6 + tcplen;
}

static uint32_t l3_off(const struct spec *s)
{
	return 14 + 4 * (uint32_t)s->ntags;
}

/* Build the frame described by s into a fresh heap block of exactly the
 * frame's size (plus `extra` trailing bytes of 0xee padding). */
static uint8_t *build(const struct spec *s, uint32_t extra, uint32_t *lenp)
{
	uint32_t l3 = l3_off(s), ihl = 20 + 4u * s->ip_opt_words;
	uint32_t thl = 20 + 4u * s->tcp_opt_words;
	uint32_t len = l3 + ihl + thl + s->paylen + extra;
	uint8_t *f = calloc(1, len), *ip, *th;
	uint32_t i;
	int t;

	assert_non_null(f);
	for (i = 0; i < 6; i++) {
		f[i] = (uint8_t)(0x02 + i);		/* dst MAC */
		f[6 + i] = (uint8_t)(0x12 + i);	/* src MAC */
	}
	for (t = 0; t < s->ntags; t++) {
		wire_put16(f + 12 + 4 * t, s->tpid[t]);
		wire_put16(f + 14 + 4 * t, 0x2000u | (100u + (unsigned)t));	/* PCP 1, VID */
	}
	wire_put16(f + l3 - 2, s->ethertype ? s->ethertype : 0x0800);

	ip = f + l3;
	ip[0] = (uint8_t)(0x40 | (ihl / 4));
	ip[1] = 0x2e;					/* DSCP/ECN */
	wire_put16(ip + 2, ihl + thl + s->paylen);
	wire_put16(ip + 4, s->ip_id);
	wire_put16(ip + 6, s->frag);
	ip[8] = 64;
	ip[9] = s->proto ? s->proto : 6;
	wire_put32(ip + 12, 0x0a000001);		/* 10.0.0.1 */
	wire_put32(ip + 16, 0xc0a80a63);		/* 192.168.10.99 */
	for (i = 20; i < ihl; i++)
		ip[i] = i == 20 ? 0x94 : (uint8_t)i;	/* router alert-ish */
	wire_put16(ip + 10, (uint16_t)~sum16(ip, ihl, 0));

	th = ip + ihl;
	wire_put16(th, 5064);
	wire_put16(th + 2, 45678);
	wire_put32(th + 4, s->seq);
	wire_put32(th + 8, 0xa1b2c3d4);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = s->flags;
	wire_put16(th + 14, 0xfaf0);
	wire_put16(th + 18, s->urg);
	for (i = 20; i < thl; i++)
		th[i] = (uint8_t)(0x80 + i);
	memcpy(th + thl, s->payload, s->paylen);
	wire_put16(th + 16, (uint16_t)~sum16(th, thl + s->paylen,
					     pseudo_sum(ip, thl + s->paylen)));
	for (i = 0; i < extra; i++)
		th[thl + s->paylen + i] = 0xee;
	*lenp = len;
	return f;
}

static uint8_t *make_payload(uint32_t n, unsigned seed)
{
	uint8_t *p = malloc(n ? n : 1);
	uint32_t i, x = seed * 2654435761u + 1;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
	return p;
}

/* ---- collecting segments --------------------------------------------------- */

#define MAX_SEGS 1024

struct segs {
	int n;
	uint8_t *seg[MAX_SEGS];
	uint32_t len[MAX_SEGS];
};

static void collect(void *ctx, const uint8_t *seg, uint32_t seglen)
{
	struct segs *c = ctx;

	assert_true(c->n < MAX_SEGS);
	assert_true(seglen <= GSO_SPLIT_MAX_SEG);
	c->seg[c->n] = malloc(seglen);
	assert_non_null(c->seg[c->n]);
	memcpy(c->seg[c->n], seg, seglen);
	c->len[c->n] = seglen;
	c->n++;
}

static void segs_free(struct segs *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		free(c->seg[i]);
	c->n = 0;
}

static void never_called(void *ctx, const uint8_t *seg, uint32_t seglen)
{
	(void)ctx;
	(void)seg;
	(void)seglen;
	fail_msg("emit called for a frame that is not splittable");
}

/* Split s with gso and check every segment against one built from scratch,
 * plus checksums and payload reassembly.  Returns the segment count. */
static int check_split(const struct spec *s, uint16_t gso, uint32_t extra)
{
	uint32_t len, l3 = l3_off(s), ihl = 20 + 4u * s->ip_opt_words;
	uint32_t thl = 20 + 4u * s->tcp_opt_words, off = 0;
	uint32_t want_n = (s->paylen + gso - 1) / gso;
	uint8_t *frame = build(s, extra, &len), *joined;
	struct segs c = { 0 };
	int i, n;

	n = gso_split(frame, len, gso, collect, &c);
	assert_int_equal(n, c.n);
	assert_int_equal(n, (int)want_n);
	joined = malloc(s->paylen);
	assert_non_null(joined);

	for (i = 0; i < n; i++) {
		uint32_t chunk = s->paylen - off < gso ? s->paylen - off : gso;
		struct spec e = *s;
		uint8_t *want, *ip, *th;
		uint32_t wlen;

		/* What Linux puts on the wire for segment i. */
		e.payload = s->payload + off;
		e.paylen = chunk;
		e.seq = s->seq + off;
		e.ip_id = (uint16_t)(s->ip_id + i);
		if (i < n - 1)
			e.flags &= (uint8_t)~(F_FIN | F_PSH);
		if (i > 0)
			e.flags &= (uint8_t)~F_CWR;
		want = build(&e, 0, &wlen);

		assert_int_equal(c.len[i], wlen);
		assert_memory_equal(c.seg[i], want, wlen);

		/* Independently of the builder: checksums verify. */
		ip = c.seg[i] + l3;
		th = ip + ihl;
		assert_int_equal(sum16(ip, ihl, 0), 0xffff);
		assert_int_equal(sum16(th, thl + chunk, pseudo_sum(ip, thl + chunk)),
				 0xffff);
		assert_int_equal(ip[2] * 256 + ip[3], ihl + thl + chunk);
		memcpy(joined + off, th + thl, chunk);
		off += chunk;
		free(want);
	}
	assert_int_equal(off, s->paylen);
	assert_memory_equal(joined, s->payload, s->paylen);
	free(joined);
	segs_free(&c);
	free(frame);
	return n;
}

static void expect_unsplittable(const struct spec *s, uint16_t gso,
				uint32_t trim)
{
	uint32_t len;
	uint8_t *frame = build(s, 0, &len), *cut;

	assert_true(trim < len);
	/* Copy to an exact-size block so a read past len trips ASan. */
	cut = malloc(len - trim);
	assert_non_null(cut);
	memcpy(cut, frame, len - trim);
	assert_int_equal(gso_split(cut, len - trim, gso, never_called, NULL), 0);
	free(cut);
	free(frame);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_basic_three_segments(void **state)
{
	uint8_t *pl = make_payload(3000, 1);
	struct spec s = { .ip_id = 0x1234, .seq = 1000000,
			  .flags = F_ACK | F_PSH | F_FIN | F_CWR | F_ECE,
			  .payload = pl, .paylen = 3000 };
	uint32_t len;
	uint8_t *frame = build(&s, 0, &len);
	struct segs c = { 0 };
	const uint8_t *th;

	(void)state;
	assert_int_equal(check_split(&s, 1000, 0), 3);

	/* Spell out the flag and field rules once by hand as well. */
	assert_int_equal(gso_split(frame, len, 1000, collect, &c), 3);
	th = c.seg[0] + 14 + 20;
	assert_int_equal(th[13], F_ACK | F_CWR | F_ECE);
	assert_int_equal(c.seg[0][14 + 4] * 256 + c.seg[0][14 + 5], 0x1234);
	th = c.seg[1] + 14 + 20;
	assert_int_equal(th[13], F_ACK | F_ECE);
	assert_int_equal(c.seg[1][14 + 4] * 256 + c.seg[1][14 + 5], 0x1235);
	assert_int_equal((uint32_t)th[4] << 24 | th[5] << 16 | th[6] << 8 | th[7],
			 1001000);
	th = c.seg[2] + 14 + 20;
	assert_int_equal(th[13], F_ACK | F_ECE | F_PSH | F_FIN);
	assert_int_equal(c.seg[2][14 + 4] * 256 + c.seg[2][14 + 5], 0x1236);
	assert_int_equal((uint32_t)th[4] << 24 | th[5] << 16 | th[6] << 8 | th[7],
			 1002000);
	assert_int_equal(c.len[0], 14 + 20 + 20 + 1000);
	segs_free(&c);
	free(frame);
	free(pl);
}

static void test_exact_multiple(void **state)
{
	uint8_t *pl = make_payload(4000, 2);
	struct spec s = { .ip_id = 7, .seq = 42, .flags = F_ACK | F_PSH,
			  .payload = pl, .paylen = 4000 };

	(void)state;
	assert_int_equal(check_split(&s, 1000, 0), 4);
	free(pl);
}

static void test_odd_lengths(void **state)
{
	uint8_t *pl = make_payload(2501, 3);
	struct spec s = { .ip_id = 100, .seq = 5, .flags = F_ACK | F_PSH,
			  .payload = pl, .paylen = 2501 };

	(void)state;
	/* Odd last segment. */
	assert_int_equal(check_split(&s, 1000, 0), 3);
	/* Odd gso_size: every segment odd. */
	assert_int_equal(check_split(&s, 999, 0), 3);
	s.paylen = 700;
	assert_int_equal(check_split(&s, 7, 0), 100);	/* tiny segments */
	s.paylen = 2000;
	assert_int_equal(check_split(&s, 999, 0), 3);	/* 999, 999, 2 */
	s.paylen = 1001;
	assert_int_equal(check_split(&s, 1000, 0), 2);	/* 1000, 1 */
	free(pl);
}

static void test_full_64k(void **state)
{
	uint32_t n = 65535 - 20 - 32;
	uint8_t *pl = make_payload(n, 4);
	struct spec s = { .ip_id = 0xfff0, .seq = 0xffffd000u,
			  .tcp_opt_words = 3, .flags = F_ACK | F_PSH,
			  .payload = pl, .paylen = n };

	(void)state;
	/* Typical MSS with timestamps; ID and seq both wrap on the way. */
	assert_int_equal(check_split(&s, 1448, 0), (int)((n + 1447) / 1448));
	free(pl);
}

static void test_vlan(void **state)
{
	uint8_t *pl = make_payload(5000, 5);
	struct spec s = { .ntags = 1, .tpid = { 0x8100 }, .ip_id = 9, .seq = 77,
			  .flags = F_ACK, .payload = pl, .paylen = 5000 };

	(void)state;
	assert_int_equal(check_split(&s, 1460, 0), 4);
	s.ntags = 2;
	s.tpid[0] = 0x88a8;
	s.tpid[1] = 0x8100;
	assert_int_equal(check_split(&s, 1460, 0), 4);
	s.tpid[0] = 0x9100;
	assert_int_equal(check_split(&s, 1455, 0), 4);
	free(pl);
}

static void test_options(void **state)
{
	uint8_t *pl = make_payload(3333, 6);
	struct spec s = { .ip_opt_words = 1, .tcp_opt_words = 10, .ip_id = 1,
			  .seq = 123456, .flags = F_ACK | F_URG | F_PSH, .urg = 5,
			  .payload = pl, .paylen = 3333 };

	(void)state;
	/* Options are copied to every segment; URG and the urgent pointer
	 * are left alone as tcp_gso_segment does. */
	assert_int_equal(check_split(&s, 1200, 0), 3);
	s.ip_opt_words = 10;
	s.tcp_opt_words = 0;
	assert_int_equal(check_split(&s, 1200, 0), 3);
	free(pl);
}

static void test_trailing_padding_ignored(void **state)
{
	uint8_t *pl = make_payload(2100, 7);
	struct spec s = { .ip_id = 3, .seq = 9, .flags = F_ACK,
			  .payload = pl, .paylen = 2100 };

	(void)state;
	assert_int_equal(check_split(&s, 1000, 6), 3);
	free(pl);
}

static void test_big_tcp(void **state)
{
	uint32_t n = 70000, len, i;
	uint8_t *pl = make_payload(n, 8), *frame;
	struct spec s = { .ip_id = 11, .seq = 1, .flags = F_ACK | F_PSH,
			  .payload = pl, .paylen = n };
	struct segs c = { 0 };
	uint32_t off = 0;

	(void)state;
	/* IPv4 BIG TCP: total length 0, the frame itself tells the size. */
	frame = build(&s, 0, &len);
	wire_put16(frame + 14 + 2, 0);
	assert_int_equal(gso_split(frame, len, 9000, collect, &c), 8);
	for (i = 0; i < (uint32_t)c.n; i++) {
		uint8_t *ip = c.seg[i] + 14;
		uint32_t chunk = c.len[i] - 54;

		assert_int_equal(ip[2] * 256 + ip[3], 40 + chunk);
		assert_int_equal(sum16(ip, 20, 0), 0xffff);
		assert_int_equal(sum16(ip + 20, 20 + chunk, pseudo_sum(ip, 20 + chunk)),
				 0xffff);
		assert_memory_equal(ip + 40, pl + off, chunk);
		off += chunk;
	}
	assert_int_equal(off, n);
	segs_free(&c);
	free(frame);
	free(pl);
}

static void test_not_splittable(void **state)
{
	uint8_t *pl = make_payload(3000, 9);
	struct spec s = { .ip_id = 3, .seq = 9, .flags = F_ACK,
			  .payload = pl, .paylen = 3000 };
	struct spec t;
	uint32_t len;
	uint8_t *frame;

	(void)state;
	/* Payload not longer than gso_size, and gso_size 0. */
	expect_unsplittable(&s, 3000, 0);
	expect_unsplittable(&s, 5000, 0);
	expect_unsplittable(&s, 0, 0);
	t = s;
	t.paylen = 0;
	expect_unsplittable(&t, 1000, 0);

	/* Not TCP, not IPv4, an IPv4 fragment. */
	t = s;
	t.proto = 17;
	expect_unsplittable(&t, 1000, 0);
	t = s;
	t.ethertype = 0x86dd;
	expect_unsplittable(&t, 1000, 0);
	t = s;
	t.frag = 0x2000;	/* MF */
	expect_unsplittable(&t, 1000, 0);
	t.frag = 0x0010;	/* offset */
	expect_unsplittable(&t, 1000, 0);
	t.frag = 0x4000;	/* DF alone is fine */
	assert_int_equal(check_split(&t, 1000, 0), 3);

	/* Three VLAN tags: beyond what is parsed anywhere in catrace. */
	t = s;
	t.ntags = 2;
	t.tpid[0] = 0x8100;
	t.tpid[1] = 0x8100;
	t.ethertype = 0x8100;
	expect_unsplittable(&t, 1000, 0);

	/* Truncated: the capture ends before the IP total length. */
	expect_unsplittable(&s, 1000, 1);
	expect_unsplittable(&s, 1000, 3000);
	expect_unsplittable(&s, 1000, 3000 + 20 + 20);	/* Ethernet only */
	expect_unsplittable(&s, 1000, 3000 + 20 + 20 + 1);

	/* Contradicting headers. */
	frame = build(&s, 0, &len);
	frame[14] = 0x44;				/* IHL 16 bytes */
	assert_int_equal(gso_split(frame, len, 1000, never_called, NULL), 0);
	frame[14] = 0x65;				/* version 6 */
	assert_int_equal(gso_split(frame, len, 1000, never_called, NULL), 0);
	frame[14] = 0x45;
	frame[14 + 20 + 12] = 0x40;			/* doff 4 */
	assert_int_equal(gso_split(frame, len, 1000, never_called, NULL), 0);
	frame[14 + 20 + 12] = 0xf0;			/* doff 15 */
	wire_put16(frame + 14 + 2, 20 + 40);		/* header beyond tot_len */
	assert_int_equal(gso_split(frame, len, 1000, never_called, NULL), 0);
	frame[14 + 20 + 12] = 0x50;
	wire_put16(frame + 14 + 2, 30);			/* tot_len < IP+TCP hdr */
	assert_int_equal(gso_split(frame, len, 1000, never_called, NULL), 0);
	wire_put16(frame + 14 + 2, 0);			/* 0 on a small frame */
	assert_int_equal(gso_split(frame, len, 1000, never_called, NULL), 0);
	assert_int_equal(gso_split(frame, 13, 1000, never_called, NULL), 0);
	assert_int_equal(gso_split(NULL, 0, 1000, never_called, NULL), 0);
	free(frame);
	free(pl);
}

/* Every header/payload length combination in a small range: each must
 * either split exactly right or be refused. */
static void test_sweep(void **state)
{
	uint8_t *pl = make_payload(600, 10);
	uint32_t n;
	uint16_t gso;

	(void)state;
	for (n = 1; n <= 600; n += 37) {
		for (gso = 1; gso <= 301; gso += 50) {
			struct spec s = { .ip_id = (uint16_t)(n * 31), .seq = n * 977u,
					  .flags = F_ACK | F_PSH | F_FIN | F_CWR,
					  .tcp_opt_words = (uint8_t)(n % 11),
					  .ip_opt_words = (uint8_t)(gso % 3),
					  .payload = pl, .paylen = n };

			if (n > gso)
				check_split(&s, gso, (n & 1) ? 0 : 4);
			else
				expect_unsplittable(&s, gso, 0);
		}
	}
	free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_three_segments),
		cmocka_unit_test(test_exact_multiple),
		cmocka_unit_test(test_odd_lengths),
		cmocka_unit_test(test_full_64k),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_trailing_padding_ignored),
		cmocka_unit_test(test_big_tcp),
		cmocka_unit_test(test_not_splittable),
		cmocka_unit_test(test_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
