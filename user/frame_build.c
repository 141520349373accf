/* frame_build: see frame_build.h. */
#include "frame_build.h"

#include <string.h>

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/* The ones' complement sum of RFC 1071, carried on across calls. */
static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put_mac(uint8_t *p, uint32_t ip)
{
	p[0] = 0x02;
	p[1] = 0x00;
	put32(p + 2, ip);
}

size_t frame_build(uint8_t *buf, size_t cap, const struct frame_spec *s,
		   const uint8_t *payload, size_t len)
{
	size_t l4 = s->tcp ? FRAME_BUILD_TCP : FRAME_BUILD_UDP;
	size_t total = FRAME_BUILD_ETH + FRAME_BUILD_IP + l4 + len;
	uint8_t *ip = buf + FRAME_BUILD_ETH, *th = ip + FRAME_BUILD_IP;
	uint32_t sum;
	uint16_t ck;

	if (len > (s->tcp ? FRAME_BUILD_MAX_TCP_PAYLOAD : FRAME_BUILD_MAX_UDP_PAYLOAD) ||
	    total > cap)
		return 0;
	memset(buf, 0, FRAME_BUILD_ETH + FRAME_BUILD_IP + l4);
	put_mac(buf, s->dst_ip);
	put_mac(buf + 6, s->src_ip);
	put16(buf + 12, 0x0800);

	ip[0] = 0x45;
	put16(ip + 2, (uint32_t)(FRAME_BUILD_IP + l4 + len));
	put16(ip + 4, s->ip_id);
	put16(ip + 6, s->tcp ? 0x4000 : 0);  /* DF on TCP, as stacks do */
	ip[8] = 64;
	ip[9] = s->tcp ? 6 : 17;
	put32(ip + 12, s->src_ip);
	put32(ip + 16, s->dst_ip);
	put16(ip + 10, fold(sum16(0, ip, FRAME_BUILD_IP)));

	put16(th, s->sport);
	put16(th + 2, s->dport);
	if (s->tcp) {
		put32(th + 4, s->seq);
		put32(th + 8, s->ack);
		th[12] = 5 << 4;
		th[13] = s->flags;
		put16(th + 14, 65535);
	} else {
		put16(th + 4, (uint32_t)(FRAME_BUILD_UDP + len));
	}
	if (len)
		memcpy(th + l4, payload, len);

	/* The pseudo header, then the segment with its checksum field zero. */
	sum = sum16(0, ip + 12, 8);
	sum += s->tcp ? 6u : 17u;
	sum += (uint32_t)(l4 + len);
	sum = sum16(sum, th, l4 + len);
	ck = fold(sum);
	if (!s->tcp && ck == 0)
		ck = 0xffff;  /* UDP: zero means "no checksum" */
	put16(th + (s->tcp ? 16 : 6), ck);
	return total;
}
