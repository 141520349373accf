/* Unit tests for user/pkt.c: link, IPv4, UDP and TCP header parsing.
 *
 * Frames are built byte by byte; every parse runs on a heap copy of exactly
 * the captured bytes, so AddressSanitizer reports any read past the capture.
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

#include <pcap/dlt.h>

#include "ca_rules.h"
#include "pkt.h"
#include "wire.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif

#define SRC_IP 0x0A000001u   /* 10.0.0.1 */
#define DST_IP 0xC0A80164u   /* 192.168.1.100 */

/* ---- frame builder ---------------------------------------------------------- */

/* IPv4 from SRC_IP to DST_IP; returns the offset of the total length. */
static size_t ipv4(struct wire *f, unsigned ihl, unsigned tot, unsigned proto,
		   unsigned frag)
{
	return wire_ipv4(f, ihl, tot, proto, frag, SRC_IP, DST_IP);
}

/* CA payload: recognisable bytes. */
static void payload(struct wire *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		wire_u8(f, (unsigned)(0x30 + i % 64));
}

/* IPv4 + UDP 40000 -> 5064 carrying n payload bytes. */
static void ip_udp(struct wire *f, size_t n)
{
	ipv4(f, 5, (unsigned)(20 + 8 + n), 17, 0);
	wire_udp(f, 40000, 5064, (unsigned)(8 + n));
	payload(f, n);
}

static void ip_tcp(struct wire *f, size_t n, unsigned doff)
{
	ipv4(f, 5, (unsigned)(20 + doff * 4 + n), 6, 0x4000);
	wire_tcp(f, 40001, 5064, 0x89ABCDEF, doff, 0x18);
	payload(f, n);
}

/* Parse the first `caplen` bytes of f (wire length f->n unless given). */
static enum pkt_result parse_n(int dlt, const struct wire *f, size_t caplen,
			       size_t wirelen, struct pkt *p, size_t *payload_off)
{
	uint8_t *c = malloc(caplen ? caplen : 1);
	const char *why = NULL;
	enum pkt_result r;

	assert_non_null(c);
	if (caplen)
		memcpy(c, f->b, caplen);
	memset(p, 0x5A, sizeof(*p));
	r = pkt_parse(dlt, c, (uint32_t)caplen, (uint32_t)wirelen, p, &why);
	assert_non_null(why);
	if (r != PKT_OK && r != PKT_SKIP)
		assert_true(strlen(why) > 0);
	if (payload_off) {
		*payload_off = (size_t)-1;
		if (r == PKT_OK) {
			assert_true(p->payload >= c && p->payload <= c + caplen);
			assert_true(p->payload + p->payload_len <= c + caplen);
			*payload_off = (size_t)(p->payload - c);
		}
	}
	free(c);
	return r;
}

static enum pkt_result parse(int dlt, const struct wire *f, struct pkt *p,
			     size_t *payload_off)
{
	return parse_n(dlt, f, f->n, f->n, p, payload_off);
}

static void check_udp(const struct pkt *p, size_t off, size_t want_off, size_t n)
{
	assert_int_equal(p->src_ip, SRC_IP);
	assert_int_equal(p->dst_ip, DST_IP);
	assert_int_equal(p->sport, 40000);
	assert_int_equal(p->dport, 5064);
	assert_int_equal(p->proto, 17);
	assert_int_equal(off, want_off);
	assert_int_equal(p->payload_len, n);
	assert_int_equal(p->payload_wire_len, n);
}

/* ---- link layers ---------------------------------------------------------------- */

static void test_ethernet(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t off;

	(void)state;
	wire_eth(&f, 0x0800);
	ip_udp(&f, 48);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 14 + 20 + 8, 48);
	assert_int_equal(p.nvlan, 0);

	f.n = 0;
	wire_eth(&f, 0x0800);
	ip_tcp(&f, 40, 5);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	assert_int_equal(p.proto, 6);
	assert_int_equal(p.sport, 40001);
	assert_int_equal(p.dport, 5064);
	assert_int_equal(p.seq, 0x89ABCDEFu);
	assert_int_equal(p.tcp_flags, 0x18);
	assert_int_equal(off, 14 + 20 + 20);
	assert_int_equal(p.payload_len, 40);
	assert_int_equal(p.payload_wire_len, 40);

	/* TCP with 12 bytes of options (timestamps). */
	f.n = 0;
	wire_eth(&f, 0x0800);
	ip_tcp(&f, 16, 8);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	assert_int_equal(off, 14 + 20 + 32);
	assert_int_equal(p.payload_len, 16);
	assert_int_equal(p.payload_wire_len, 16);

	/* A bare SYN: no payload. */
	f.n = 0;
	wire_eth(&f, 0x0800);
	ipv4(&f, 5, 40, 6, 0x4000);
	wire_tcp(&f, 40001, 5064, 0xFFFFFFFF, 5, TCPF_SYN);
	wire_fill(&f, 0, 6);  /* padded to 60 */
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	assert_int_equal(p.tcp_flags, TCPF_SYN);
	assert_int_equal(p.seq, 0xFFFFFFFFu);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.payload_wire_len, 0);

	assert_true(pkt_linktype_supported(DLT_EN10MB));
	assert_true(pkt_linktype_supported(DLT_LINUX_SLL));
	assert_true(pkt_linktype_supported(DLT_LINUX_SLL2));
	assert_true(pkt_linktype_supported(DLT_NULL));
	assert_true(pkt_linktype_supported(DLT_LOOP));
	assert_true(pkt_linktype_supported(DLT_RAW));
	assert_false(pkt_linktype_supported(DLT_IEEE802_11));
}

static void test_vlan(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t off;

	(void)state;
	/* One 802.1Q tag: priority bits are not part of the VID. */
	wire_eth(&f, 0x8100);
	wire_vlan(&f, 0xA064, 0x0800);
	ip_udp(&f, 16);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 18 + 28, 16);
	assert_int_equal(p.nvlan, 1);
	assert_int_equal(p.vlan[0], 100);

	/* QinQ: 802.1ad outer, 802.1Q inner. */
	f.n = 0;
	wire_eth(&f, 0x88a8);
	wire_vlan(&f, 0x00C8, 0x8100);
	wire_vlan(&f, 0x312C, 0x0800);
	ip_udp(&f, 16);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 22 + 28, 16);
	assert_int_equal(p.nvlan, 2);
	assert_int_equal(p.vlan[0], 200);
	assert_int_equal(p.vlan[1], 300);

	/* Two 802.1Q tags. */
	f.n = 0;
	wire_eth(&f, 0x8100);
	wire_vlan(&f, 0x0001, 0x8100);
	wire_vlan(&f, 0x0FFF, 0x0800);
	ip_tcp(&f, 8, 5);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	assert_int_equal(off, 22 + 40);
	assert_int_equal(p.nvlan, 2);
	assert_int_equal(p.vlan[0], 1);
	assert_int_equal(p.vlan[1], 4095);

	/* Three tags. */
	f.n = 0;
	wire_eth(&f, 0x88a8);
	wire_vlan(&f, 10, 0x8100);
	wire_vlan(&f, 20, 0x8100);
	wire_vlan(&f, 30, 0x0800);
	ip_udp(&f, 16);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_MALFORMED);

	/* A tag cut by the capture. */
	f.n = 0;
	wire_eth(&f, 0x8100);
	wire_vlan(&f, 10, 0x0800);
	ip_udp(&f, 16);
	assert_int_equal(parse_n(DLT_EN10MB, &f, 16, f.n, &p, NULL), PKT_TRUNCATED);

	/* A tagged IPv6 frame is not ours. */
	f.n = 0;
	wire_eth(&f, 0x8100);
	wire_vlan(&f, 10, 0x86DD);
	wire_fill(&f, 0x60, 60);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_SKIP);
}

static void test_sll(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t off;

	(void)state;
	/* Linux cooked v1: packet type, ARPHRD, addr len, 8 addr bytes,
	 * protocol. */
	wire_u16(&f, 0);    /* to us */
	wire_u16(&f, 1);    /* ARPHRD_ETHER */
	wire_u16(&f, 6);
	wire_fill(&f, 0x11, 8);
	wire_u16(&f, 0x0800);
	ip_udp(&f, 24);
	assert_int_equal(parse(DLT_LINUX_SLL, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 16 + 28, 24);

	f.n = 0;
	wire_u16(&f, 4);    /* outgoing */
	wire_u16(&f, 772);  /* ARPHRD_LOOPBACK */
	wire_u16(&f, 0);
	wire_fill(&f, 0, 8);
	wire_u16(&f, 0x86DD);
	wire_fill(&f, 0x60, 48);
	assert_int_equal(parse(DLT_LINUX_SLL, &f, &p, NULL), PKT_SKIP);

	/* Header cut short. */
	f.n = 0;
	wire_fill(&f, 0, 14);
	wire_u16(&f, 0x0800);
	assert_int_equal(parse_n(DLT_LINUX_SLL, &f, 15, 15, &p, NULL), PKT_TRUNCATED);
}

static void test_sll2(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t off;

	(void)state;
	/* Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type,
	 * addr len, 8 addr bytes. */
	wire_u16(&f, 0x0800);
	wire_u16(&f, 0);
	wire_u32(&f, 3);
	wire_u16(&f, 1);
	wire_u8(&f, 0);
	wire_u8(&f, 6);
	wire_fill(&f, 0x22, 8);
	ip_udp(&f, 32);
	assert_int_equal(parse(DLT_LINUX_SLL2, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 20 + 28, 32);

	f.n = 0;
	wire_u16(&f, 0x0806);  /* ARP */
	wire_fill(&f, 0, 18);
	wire_fill(&f, 0, 28);
	assert_int_equal(parse(DLT_LINUX_SLL2, &f, &p, NULL), PKT_SKIP);

	f.n = 0;
	wire_u16(&f, 0x0800);
	wire_fill(&f, 0, 17);
	assert_int_equal(parse(DLT_LINUX_SLL2, &f, &p, NULL), PKT_TRUNCATED);
}

static void test_null_loop(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t off;

	(void)state;
	/* DLT_NULL: AF_INET (2) in the writer's byte order: little-endian... */
	wire_u8(&f, 2);
	wire_u8(&f, 0);
	wire_u8(&f, 0);
	wire_u8(&f, 0);
	ip_udp(&f, 8);
	assert_int_equal(parse(DLT_NULL, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 4 + 28, 8);
	/* ... or big-endian. */
	f.n = 0;
	wire_u32(&f, 2);
	ip_udp(&f, 8);
	assert_int_equal(parse(DLT_NULL, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 4 + 28, 8);
	/* DLT_LOOP: network order. */
	assert_int_equal(parse(DLT_LOOP, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 4 + 28, 8);

	/* AF_INET6 values of the BSDs (24, 28, 30) in either order. */
	f.n = 0;
	wire_u32(&f, 30);
	wire_fill(&f, 0x60, 48);
	assert_int_equal(parse(DLT_NULL, &f, &p, NULL), PKT_SKIP);
	f.n = 0;
	wire_u8(&f, 24);
	wire_fill(&f, 0, 3);
	wire_fill(&f, 0x60, 48);
	assert_int_equal(parse(DLT_NULL, &f, &p, NULL), PKT_SKIP);

	f.n = 0;
	wire_u8(&f, 2);
	wire_u8(&f, 0);
	assert_int_equal(parse(DLT_NULL, &f, &p, NULL), PKT_TRUNCATED);
}

static void test_raw(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t off;

	(void)state;
	ip_udp(&f, 16);
	assert_int_equal(parse(DLT_RAW, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 28, 16);
	assert_int_equal(parse(DLT_IPV4, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 28, 16);

	f.n = 0;
	ip_tcp(&f, 24, 5);
	assert_int_equal(parse(DLT_RAW, &f, &p, &off), PKT_OK);
	assert_int_equal(off, 40);
	assert_int_equal(p.payload_len, 24);

	/* IPv6 on a raw link: not ours. */
	f.n = 0;
	wire_u8(&f, 0x60);
	wire_fill(&f, 0, 47);
	assert_int_equal(parse(DLT_RAW, &f, &p, NULL), PKT_SKIP);

	/* Other IP protocols: not ours. */
	f.n = 0;
	ipv4(&f, 5, 28, 1, 0);  /* ICMP */
	wire_fill(&f, 0, 8);
	assert_int_equal(parse(DLT_RAW, &f, &p, NULL), PKT_SKIP);
}

/* ---- IPv4 ------------------------------------------------------------------------- */

static void test_ip_options(void **state)
{
	unsigned ihl;

	(void)state;
	for (ihl = 6; ihl <= 15; ihl++) {
		struct wire f = { .n = 0 };
		struct pkt p;
		size_t off;

		wire_eth(&f, 0x0800);
		ipv4(&f, ihl, ihl * 4 + 8 + 16, 17, 0);
		wire_udp(&f, 40000, 5064, 8 + 16);
		payload(&f, 16);
		assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
		check_udp(&p, off, 14 + ihl * 4 + 8, 16);

		f.n = 0;
		wire_eth(&f, 0x0800);
		ipv4(&f, ihl, ihl * 4 + 20 + 8, 6, 0);
		wire_tcp(&f, 40001, 5064, 7, 5, 0x18);
		payload(&f, 8);
		assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
		assert_int_equal(off, 14 + ihl * 4 + 20);
		assert_int_equal(p.seq, 7);
		assert_int_equal(p.payload_len, 8);
	}
}

static void test_ihl_below_5(void **state)
{
	unsigned ihl;

	(void)state;
	for (ihl = 0; ihl < 5; ihl++) {
		struct wire f = { .n = 0 };
		struct pkt p;

		wire_eth(&f, 0x0800);
		ipv4(&f, 5, 20 + 8 + 16, 17, 0);
		wire_udp(&f, 40000, 5064, 8 + 16);
		payload(&f, 16);
		f.b[14] = (uint8_t)(0x40 | ihl);
		assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_MALFORMED);
	}
}

static void test_ihl_beyond_capture(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t cap;

	(void)state;
	wire_eth(&f, 0x0800);
	ipv4(&f, 15, 60 + 8 + 16, 17, 0);
	wire_udp(&f, 40000, 5064, 8 + 16);
	payload(&f, 16);
	/* Captured: the fixed header and part of the options. */
	for (cap = 14 + 20; cap < 14 + 60; cap++)
		assert_int_equal(parse_n(DLT_EN10MB, &f, cap, f.n, &p, NULL), PKT_TRUNCATED);
	/* Fewer than 20 bytes of IP header. */
	for (cap = 14; cap < 14 + 20; cap++)
		assert_int_equal(parse_n(DLT_EN10MB, &f, cap, f.n, &p, NULL), PKT_TRUNCATED);
	/* The options complete, the UDP header not. */
	for (cap = 14 + 60; cap < 14 + 60 + 8; cap++)
		assert_int_equal(parse_n(DLT_EN10MB, &f, cap, f.n, &p, NULL), PKT_TRUNCATED);
	assert_int_equal(parse_n(DLT_EN10MB, &f, 14 + 60 + 8, f.n, &p, NULL), PKT_OK);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.payload_wire_len, 16);
	/* An Ethernet header cut short. */
	for (cap = 0; cap < 14; cap++)
		assert_int_equal(parse_n(DLT_EN10MB, &f, cap, f.n, &p, NULL), PKT_TRUNCATED);
}

static void test_total_below_ihl(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t lenpos;

	(void)state;
	wire_eth(&f, 0x0800);
	lenpos = ipv4(&f, 6, 24 + 8 + 16, 17, 0);
	wire_udp(&f, 40000, 5064, 8 + 16);
	payload(&f, 16);
	wire_set16(&f, lenpos, 23);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_MALFORMED);
	wire_set16(&f, lenpos, 0);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_MALFORMED);
	wire_set16(&f, lenpos, 24 + 8 + 16);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_OK);
}

/* The IP total length leaves no room for the transport header, though the
 * frame (padded to Ethernet's 60 bytes) holds the bytes: the header fields
 * contradict each other (PKT_MALFORMED), the capture is not short
 * (PKT_TRUNCATED means "capture too short for the headers", pkt.h). */
static void test_total_below_l4_header(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;

	(void)state;
	wire_eth(&f, 0x0800);
	ipv4(&f, 5, 20 + 4, 17, 0);
	wire_udp(&f, 40000, 5064, 8);
	wire_fill(&f, 0, 60 - f.n);
	assert_int_equal(f.n, 60);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_MALFORMED);

	f.n = 0;
	wire_eth(&f, 0x0800);
	ipv4(&f, 5, 20 + 12, 6, 0);
	wire_tcp(&f, 40001, 5064, 1, 5, 0x10);
	wire_fill(&f, 0, 60 - f.n);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_MALFORMED);
}

static void test_fragments(void **state)
{
	static const unsigned frags[] = { 0x2000, 0x0010, 0x2010, 0x1FFF, 0x6000, 0x20B9 };
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
		f.n = 0;
		wire_eth(&f, 0x0800);
		ipv4(&f, 5, 20 + 8 + 16, 17, frags[i]);
		wire_udp(&f, 40000, 5064, 8 + 16);
		payload(&f, 16);
		assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_FRAGMENT);
		f.n = 0;
		wire_eth(&f, 0x0800);
		ipv4(&f, 5, 20 + 20, 6, frags[i]);
		wire_tcp(&f, 40001, 5064, 1, 5, 0x10);
		assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_FRAGMENT);
	}
	/* DF alone is not a fragment. */
	f.n = 0;
	wire_eth(&f, 0x0800);
	ipv4(&f, 5, 20 + 8 + 16, 17, 0x4000);
	wire_udp(&f, 40000, 5064, 8 + 16);
	payload(&f, 16);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_OK);
	assert_int_equal(p.payload_len, 16);
}

/* ---- UDP / TCP -------------------------------------------------------------------- */

static void test_udp_length(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t off;

	(void)state;
	/* UDP length larger than the IP payload. */
	wire_eth(&f, 0x0800);
	ipv4(&f, 5, 20 + 8 + 16, 17, 0);
	wire_udp(&f, 40000, 5064, 8 + 17);
	payload(&f, 16);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_MALFORMED);
	/* Below the UDP header itself. */
	wire_set16(&f, 14 + 20 + 4, 7);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_MALFORMED);
	wire_set16(&f, 14 + 20 + 4, 0);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_MALFORMED);
	/* Exactly the header: an empty datagram. */
	wire_set16(&f, 14 + 20 + 4, 8);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.payload_wire_len, 0);
	/* Shorter than the IP payload: the UDP length wins. */
	wire_set16(&f, 14 + 20 + 4, 8 + 8);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	assert_int_equal(off, 14 + 28);
	assert_int_equal(p.payload_len, 8);
	assert_int_equal(p.payload_wire_len, 8);
}

static void test_tcp_doff(void **state)
{
	unsigned doff;

	(void)state;
	for (doff = 0; doff < 5; doff++) {
		struct wire f = { .n = 0 };
		struct pkt p;

		wire_eth(&f, 0x0800);
		ipv4(&f, 5, 20 + 20 + 8, 6, 0);
		wire_tcp(&f, 40001, 5064, 1, 5, 0x18);
		payload(&f, 8);
		f.b[14 + 20 + 12] = (uint8_t)(doff << 4);
		assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_MALFORMED);
	}
	/* Data offset beyond the IP payload. */
	{
		struct wire f = { .n = 0 };
		struct pkt p;

		wire_eth(&f, 0x0800);
		ipv4(&f, 5, 20 + 24, 6, 0);
		wire_tcp(&f, 40001, 5064, 1, 5, 0x18);
		payload(&f, 4);
		f.b[14 + 20 + 12] = (uint8_t)(7 << 4);
		assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_MALFORMED);
		/* TCP options cut by the capture. */
		f.n = 0;
		wire_eth(&f, 0x0800);
		ip_tcp(&f, 100, 10);
		assert_int_equal(parse_n(DLT_EN10MB, &f, 14 + 20 + 30, f.n, &p, NULL),
				 PKT_TRUNCATED);
		assert_int_equal(parse_n(DLT_EN10MB, &f, 14 + 20 + 19, f.n, &p, NULL),
				 PKT_TRUNCATED);
	}
}

/* ---- TCP checksums ------------------------------------------------------------ */

/* RFC 1071 the textbook way (big-endian words), independent of pkt.c's
 * in-memory sum: the checksum field's value for segment `seg`. */
static uint16_t rfc1071_tcp(const uint8_t *seg, size_t n, uint32_t src, uint32_t dst)
{
	uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 +
		       (uint32_t)n;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		if (i != 16)  /* the field itself counts as zero */
			sum += (uint32_t)(seg[i] << 8 | seg[i + 1]);
	if (n & 1)
		sum += (uint32_t)seg[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The verdict on frame f (Ethernet, IPv4 with no options, TCP) with its
 * first `caplen` bytes captured. */
static int csum_verdict(const struct wire *f, size_t caplen)
{
	uint8_t *c = malloc(caplen);
	const char *why;
	struct pkt p;
	int v;

	assert_non_null(c);
	memcpy(c, f->b, caplen);
	assert_int_equal(pkt_parse(DLT_EN10MB, c, (uint32_t)caplen, (uint32_t)f->n, &p, &why),
			 PKT_OK);
	v = pkt_tcp_csum(&p);
	free(c);
	return v;
}

static void set_field(struct wire *f, uint16_t v)
{
	f->b[14 + 20 + 16] = (uint8_t)(v >> 8);
	f->b[14 + 20 + 17] = (uint8_t)v;
}

static void test_tcp_checksum(void **state)
{
	size_t n;

	(void)state;
	/* Odd and even lengths, one past a 4-byte word and not. */
	for (n = 0; n < 12; n++) {
		struct wire f = { .n = 0 };
		uint8_t *seg = f.b + 14 + 20;
		uint16_t right, pseudo;
		uint32_t ps;

		wire_eth(&f, 0x0800);
		ip_tcp(&f, n, 5);
		right = rfc1071_tcp(seg, 20 + n, SRC_IP, DST_IP);
		set_field(&f, right);
		assert_int_equal(csum_verdict(&f, f.n), CA_CSUM_VALID);
		/* One payload bit flipped (or the header's, with no payload). */
		f.b[f.n - 1] ^= 0x04;
		assert_int_equal(csum_verdict(&f, f.n), CA_CSUM_BAD);
		f.b[f.n - 1] ^= 0x04;
		set_field(&f, (uint16_t)(right + 1));
		assert_int_equal(csum_verdict(&f, f.n), CA_CSUM_BAD);
		/* What a sender leaving the sum to its NIC writes: the
		 * pseudo-header's sum, not complemented. */
		ps = (SRC_IP >> 16) + (SRC_IP & 0xffff) + (DST_IP >> 16) + (DST_IP & 0xffff) + 6 +
		     (uint32_t)(20 + n);
		while (ps >> 16)
			ps = (ps & 0xffff) + (ps >> 16);
		pseudo = (uint16_t)ps;
		set_field(&f, pseudo);
		assert_int_equal(csum_verdict(&f, f.n), CA_CSUM_OFFLOADED);
		/* A capture that cut the segment cannot judge it. */
		set_field(&f, (uint16_t)(right + 1));
		if (n > 0)
			assert_int_equal(csum_verdict(&f, f.n - 1), CA_CSUM_UNCHECKED);
	}
}

static void test_ethernet_padding(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t off;

	(void)state;
	/* A 16-byte CA message (ECHO) by UDP: 14+20+8+16 = 58 -> 60 bytes. */
	wire_eth(&f, 0x0800);
	ip_udp(&f, 16);
	wire_fill(&f, 0xEE, 60 - f.n);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 42, 16);

	/* 8 bytes of UDP payload: 50 -> 60. */
	f.n = 0;
	wire_eth(&f, 0x0800);
	ip_udp(&f, 8);
	wire_fill(&f, 0x00, 60 - f.n);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 42, 8);

	/* A TCP ACK without data: 54 -> 60, and a frame check sequence. */
	f.n = 0;
	wire_eth(&f, 0x0800);
	ip_tcp(&f, 0, 5);
	wire_fill(&f, 0x00, 60 - f.n);
	wire_u32(&f, 0xDEADBEEF);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.payload_wire_len, 0);

	/* TCP with 2 bytes of data and padding. */
	f.n = 0;
	wire_eth(&f, 0x0800);
	ip_tcp(&f, 2, 5);
	wire_fill(&f, 0x55, 60 - f.n);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	assert_int_equal(off, 54);
	assert_int_equal(p.payload_len, 2);
	assert_int_equal(p.payload_wire_len, 2);

	/* Padding behind a VLAN tag. */
	f.n = 0;
	wire_eth(&f, 0x8100);
	wire_vlan(&f, 5, 0x0800);
	ip_udp(&f, 8);
	wire_fill(&f, 0xEE, 64 - f.n);
	assert_int_equal(parse(DLT_EN10MB, &f, &p, &off), PKT_OK);
	check_udp(&p, off, 46, 8);
}

static void test_snaplen(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t off, cap;

	(void)state;
	wire_eth(&f, 0x0800);
	ip_udp(&f, 1024);
	for (cap = 42; cap < f.n; cap += 37) {
		assert_int_equal(parse_n(DLT_EN10MB, &f, cap, f.n, &p, &off), PKT_OK);
		assert_int_equal(off, 42);
		assert_int_equal(p.payload_len, cap - 42);
		assert_int_equal(p.payload_wire_len, 1024);
		assert_true(p.payload_len < p.payload_wire_len);
	}

	f.n = 0;
	wire_eth(&f, 0x0800);
	ip_tcp(&f, 1448, 8);
	assert_int_equal(parse_n(DLT_EN10MB, &f, 96, f.n, &p, &off), PKT_OK);
	assert_int_equal(off, 66);
	assert_int_equal(p.payload_len, 30);
	assert_int_equal(p.payload_wire_len, 1448);
	assert_int_equal(p.seq, 0x89ABCDEFu);
}

/* pkt.h: "the wire length only tells how much of the payload the capture
 * cut off".  A frame captured whole (caplen == wirelen) whose IP total
 * length claims more bytes than the frame has was not cut by the capture:
 * it must not come out as a snap-length cut. */
static void test_ip_length_beyond_wire(void **state)
{
	struct wire f = { .n = 0 };
	struct pkt p;
	enum pkt_result r;
	size_t lenpos;

	(void)state;
	wire_eth(&f, 0x0800);
	lenpos = ipv4(&f, 5, 20 + 8 + 32, 17, 0);
	wire_udp(&f, 40000, 5064, 8 + 32);
	payload(&f, 32);
	wire_set16(&f, lenpos, 20 + 8 + 1000);
	wire_set16(&f, 14 + 20 + 4, 8 + 1000);
	r = parse_n(DLT_EN10MB, &f, f.n, f.n, &p, NULL);
	if (r == PKT_OK && p.payload_len < p.payload_wire_len)
		fail_msg("whole frame of %zu bytes reported as a snap-length cut: "
			 "payload_len %u, payload_wire_len %u", f.n,
			 (unsigned)p.payload_len, (unsigned)p.payload_wire_len);
}

static void test_not_ipv4(void **state)
{
	static const unsigned types[] = { 0x86DD, 0x0806, 0x8035, 0x88CC, 0x0842, 0x8847 };
	struct wire f = { .n = 0 };
	struct pkt p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		f.n = 0;
		wire_eth(&f, types[i]);
		/* Even an IPv4-looking body is not parsed. */
		ip_udp(&f, 16);
		assert_int_equal(parse(DLT_EN10MB, &f, &p, NULL), PKT_SKIP);
	}
	/* An unsupported link type is skipped, not misparsed. */
	f.n = 0;
	ip_udp(&f, 16);
	assert_int_equal(parse(DLT_IEEE802_11, &f, &p, NULL), PKT_SKIP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_sll),
		cmocka_unit_test(test_sll2),
		cmocka_unit_test(test_null_loop),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_ip_options),
		cmocka_unit_test(test_ihl_below_5),
		cmocka_unit_test(test_ihl_beyond_capture),
		cmocka_unit_test(test_total_below_ihl),
		cmocka_unit_test(test_total_below_l4_header),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_udp_length),
		cmocka_unit_test(test_tcp_doff),
		cmocka_unit_test(test_tcp_checksum),
		cmocka_unit_test(test_ethernet_padding),
		cmocka_unit_test(test_snaplen),
		cmocka_unit_test(test_ip_length_beyond_wire),
		cmocka_unit_test(test_not_ipv4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
