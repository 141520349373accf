/* gso_split: see gso_split.h. */
#include "gso_split.h"

#include <stddef.h>
#include <string.h>

#include "bytes.h"

#define ETH_HLEN	14
#define TPID_8021Q	0x8100
#define TPID_8021AD	0x88a8
#define TPID_QINQ1	0x9100	/* pre-standard QinQ; pkt.c accepts it too */
#define ETYPE_IPV4	0x0800
#define MAX_VLAN	2
#define IPPROTO_TCP_	6
#define IP_MF		0x2000
#define IP_OFFMASK	0x1fff
#define IP_MAX_LEN	65535u

#define TH_FIN		0x01
#define TH_PSH		0x08
#define TH_CWR		0x80

/* One segment at a time: headers plus at most gso_size (< 64 KB) payload
 * bytes, so a fixed buffer serves any input size.  Per thread, so that
 * writers on different threads do not share it. */
static __thread uint8_t seg_buf[GSO_SPLIT_MAX_SEG];

static int is_vlan_tpid(uint16_t t)
{
	return t == TPID_8021Q || t == TPID_8021AD || t == TPID_QINQ1;
}

int gso_split(const uint8_t *frame, uint32_t len, uint16_t gso_size,
	      gso_emit_fn emit, void *ctx)
{
	uint32_t l3, ihl, iplen, l4, thlen, hdrlen, paylen, off, seq;
	uint16_t type, id, frag;
	uint8_t flags;
	int ntags, nseg = 0;

	if (!frame || !emit || gso_size == 0 || len < ETH_HLEN)
		return 0;

	/* Link layer: Ethernet and at most two tags, as the kernel side
	 * parses them. */
	l3 = ETH_HLEN;
	type = rd_be16(frame + 12);
	for (ntags = 0; is_vlan_tpid(type); ntags++) {
		if (ntags == MAX_VLAN || len < l3 + 4)
			return 0;
		type = rd_be16(frame + l3 + 2);
		l3 += 4;
	}
	if (type != ETYPE_IPV4 || len < l3 + 20)
		return 0;

	/* IPv4: version 4, a sane header length, TCP, not a fragment (GSO
	 * never makes one, so a fragment here is not a super-packet). */
	if (frame[l3] >> 4 != 4)
		return 0;
	ihl = (uint32_t)(frame[l3] & 0x0f) * 4;
	if (ihl < 20 || frame[l3 + 9] != IPPROTO_TCP_)
		return 0;
	frag = rd_be16(frame + l3 + 6);
	if (frag & (IP_MF | IP_OFFMASK))
		return 0;
	iplen = rd_be16(frame + l3 + 2);
	if (iplen == 0 && len - l3 > IP_MAX_LEN)
		iplen = len - l3;	/* BIG TCP: no room for the length */
	if (iplen > len - l3 || iplen < ihl + 20)
		return 0;

	/* TCP: a header that fits inside the IP datagram. */
	l4 = l3 + ihl;
	thlen = (uint32_t)(frame[l4 + 12] >> 4) * 4;
	if (thlen < 20 || ihl + thlen > iplen)
		return 0;
	hdrlen = l4 + thlen;
	paylen = iplen - ihl - thlen;
	if (paylen <= gso_size)
		return 0;
	/* Each segment's IP total length must fit 16 bits (only a concern
	 * for BIG TCP input with a huge gso_size). */
	if (ihl + thlen + gso_size > IP_MAX_LEN)
		return 0;

	id = rd_be16(frame + l3 + 4);
	seq = rd_be32(frame + l4 + 4);
	flags = frame[l4 + 13];

	for (off = 0; off < paylen; off += gso_size, nseg++) {
		uint32_t chunk = paylen - off < gso_size ? paylen - off : gso_size;
		uint32_t seglen = hdrlen + chunk;
		uint8_t *ip = seg_buf + l3, *th = seg_buf + l4;
		uint8_t f = flags;
		uint64_t sum;

		memcpy(seg_buf, frame, hdrlen);
		memcpy(seg_buf + hdrlen, frame + hdrlen + off, chunk);

		wr_be16(ip + 2, (uint16_t)(ihl + thlen + chunk));
		/* The 16-bit ID wraps like the kernel's u16 arithmetic. */
		wr_be16(ip + 4, (uint16_t)(id + nseg));
		wr_be16(ip + 10, 0);
		wr_be16(ip + 10, inet_fold(inet_sum(0, ip, ihl)));

		wr_be32(th + 4, seq + off);
		if (off + chunk < paylen)
			f &= (uint8_t)~(TH_FIN | TH_PSH);
		if (off > 0)
			f &= (uint8_t)~TH_CWR;
		th[13] = f;

		/* Pseudo-header: addresses, protocol, TCP length. */
		sum = inet_sum(0, ip + 12, 8);
		sum += IPPROTO_TCP_;
		sum += thlen + chunk;
		wr_be16(th + 16, 0);
		sum = inet_sum(sum, th, thlen + chunk);
		wr_be16(th + 16, inet_fold(sum));

		emit(ctx, seg_buf, seglen);
	}
	return nseg;
}

/* tc egress runs before the stack finishes a CHECKSUM_PARTIAL transport
 * checksum (that happens in validate_xmit_skb, after tc and before the
 * packet taps tcpdump reads): recompute it, as the wire will carry it. */
int l4_csum_finalize(uint8_t *frame, uint32_t len)
{
	uint32_t l3 = ETH_HLEN, ihl, iplen, l4, l4len;
	uint64_t sum;
	uint16_t type;
	uint8_t proto;
	int ntags;

	if (!frame || len < ETH_HLEN)
		return 0;
	type = rd_be16(frame + 12);
	for (ntags = 0; is_vlan_tpid(type); ntags++) {
		if (ntags == MAX_VLAN || len < l3 + 4)
			return 0;
		type = rd_be16(frame + l3 + 2);
		l3 += 4;
	}
	if (type != ETYPE_IPV4 || len < l3 + 20 || frame[l3] >> 4 != 4)
		return 0;
	ihl = (uint32_t)(frame[l3] & 0x0f) * 4;
	iplen = rd_be16(frame + l3 + 2);
	proto = frame[l3 + 9];
	if (ihl < 20 || iplen < ihl || iplen > len - l3)
		return 0;  /* cut by the snap length: cannot be computed */
	if (rd_be16(frame + l3 + 6) & (IP_MF | IP_OFFMASK))
		return 0;
	l4 = l3 + ihl;
	l4len = iplen - ihl;
	if (proto == IPPROTO_TCP_ && l4len >= 20) {
		wr_be16(frame + l4 + 16, 0);
	} else if (proto == 17 && l4len >= 8) {
		if (rd_be16(frame + l4 + 6) == 0)
			return 0;  /* UDP without a checksum stays so */
		wr_be16(frame + l4 + 6, 0);
	} else {
		return 0;
	}
	sum = inet_sum(0, frame + l3 + 12, 8);
	sum += proto;
	sum += l4len;
	sum = inet_sum(sum, frame + l4, l4len);
	{
		uint16_t c = inet_fold(sum);

		if (proto == 17 && c == 0)
			c = 0xffff;  /* 0 means "none" in UDP */
		wr_be16(frame + l4 + (proto == IPPROTO_TCP_ ? 16 : 6), c);
	}
	return 1;
}
