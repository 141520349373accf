/* frame_build: see frame_build.h. */
#include "frame_build.h"
#include "bytes.h"

#include <string.h>

static void put_mac(uint8_t *p, uint32_t ip)
{
	p[0] = 0x02;
	p[1] = 0x00;
	wr_be32(p + 2, ip);
}

size_t frame_build(uint8_t *buf, size_t cap, const struct frame_spec *s,
		   const uint8_t *payload, size_t len)
{
	size_t l4 = s->tcp ? FRAME_BUILD_TCP : FRAME_BUILD_UDP;
	size_t total = FRAME_BUILD_ETH + FRAME_BUILD_IP + l4 + len;
	uint8_t *ip = buf + FRAME_BUILD_ETH, *th = ip + FRAME_BUILD_IP;
	uint64_t sum;
	uint16_t ck;

	if (len > (s->tcp ? FRAME_BUILD_MAX_TCP_PAYLOAD : FRAME_BUILD_MAX_UDP_PAYLOAD) ||
	    total > cap)
		return 0;
	memset(buf, 0, FRAME_BUILD_ETH + FRAME_BUILD_IP + l4);
	put_mac(buf, s->dst_ip);
	put_mac(buf + 6, s->src_ip);
	wr_be16(buf + 12, 0x0800);

	ip[0] = 0x45;
	wr_be16(ip + 2, (uint32_t)(FRAME_BUILD_IP + l4 + len));
	wr_be16(ip + 4, s->ip_id);
	wr_be16(ip + 6, s->tcp ? 0x4000 : 0);  /* DF on TCP, as stacks do */
	ip[8] = 64;
	ip[9] = s->tcp ? 6 : 17;
	wr_be32(ip + 12, s->src_ip);
	wr_be32(ip + 16, s->dst_ip);
	wr_be16(ip + 10, inet_fold(inet_sum(0, ip, FRAME_BUILD_IP)));

	wr_be16(th, s->sport);
	wr_be16(th + 2, s->dport);
	if (s->tcp) {
		wr_be32(th + 4, s->seq);
		wr_be32(th + 8, s->ack);
		th[12] = 5 << 4;
		th[13] = s->flags;
		wr_be16(th + 14, 65535);
	} else {
		wr_be16(th + 4, (uint32_t)(FRAME_BUILD_UDP + len));
	}
	if (len)
		memcpy(th + l4, payload, len);

	/* The pseudo header, then the segment with its checksum field zero. */
	sum = inet_sum(0, ip + 12, 8);
	sum += s->tcp ? 6u : 17u;
	sum += (uint32_t)(l4 + len);
	sum = inet_sum(sum, th, l4 + len);
	ck = inet_fold(sum);
	if (!s->tcp && ck == 0)
		ck = 0xffff;  /* UDP: zero means "no checksum" */
	wr_be16(th + (s->tcp ? 16 : 6), ck);
	return total;
}
