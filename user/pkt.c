/* pkt: see pkt.h.  One small function per header, each with its own
 * bounds check, in the manner of xdp-tools' parsing helpers. */
#include "pkt.h"

#include "ca_rules.h"

#include <netinet/in.h>
#include <pcap/dlt.h>
#include <string.h>

#include "bytes.h"

#define ETH_P_IP      0x0800
#define MAX_VLAN_TAGS 2
#define BSD_AF_INET   2

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif

bool pkt_linktype_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_NULL:
	case DLT_LOOP:
	case DLT_RAW:
	case DLT_IPV4:
		return true;
	default:
		return false;
	}
}

static bool is_vlan_tpid(uint16_t t)
{
	return ca_rule_is_vlan_tpid(t);  /* the kernel's rule too */
}

/* Walk VLAN tags after an ethertype at *off; on return *type holds the
 * inner ethertype. */
static enum pkt_result skip_vlans(const struct bytes_view *v, uint32_t *off,
				  uint16_t *type, struct pkt *p, const char **why)
{
	uint16_t tci;

	while (is_vlan_tpid(*type)) {
		if (p->nvlan >= MAX_VLAN_TAGS) {
			*why = "more than two VLAN tags";
			return PKT_MALFORMED;
		}
		if (!bv_be16(v, *off, &tci) || !bv_be16(v, *off + 2, type)) {
			*why = "VLAN tag cut by capture";
			return PKT_TRUNCATED;
		}
		p->vlan[p->nvlan++] = tci & 0x0fff;
		*off += 4;
	}
	return PKT_OK;
}

static enum pkt_result parse_link(int dlt, const struct bytes_view *v,
				  uint32_t *off, struct pkt *p, const char **why)
{
	uint16_t type;
	enum pkt_result r;

	switch (dlt) {
	case DLT_EN10MB:
		if (!bv_be16(v, 12, &type))
			goto short_hdr;
		*off = 14;
		break;
	case DLT_LINUX_SLL:
		if (!bv_be16(v, 14, &type))
			goto short_hdr;
		*off = 16;
		break;
	case DLT_LINUX_SLL2:
		if (!bv_at(v, 0, 20) || !bv_be16(v, 0, &type))
			goto short_hdr;
		*off = 20;
		break;
	case DLT_NULL:
	case DLT_LOOP: {
		uint32_t fam;

		/* NULL stores the family in the writer's byte order, LOOP in
		 * network order: accept AF_INET either way. */
		if (!bv_be32(v, 0, &fam))
			goto short_hdr;
		*off = 4;
		if (fam != BSD_AF_INET && fam != ((uint32_t)BSD_AF_INET << 24))
			return PKT_SKIP;
		return PKT_OK;
	}
	case DLT_RAW:
	case DLT_IPV4:
		*off = 0;
		return PKT_OK;
	default:
		*why = "unsupported link type";
		return PKT_SKIP;
	}
	r = skip_vlans(v, off, &type, p, why);
	if (r != PKT_OK)
		return r;
	return type == ETH_P_IP ? PKT_OK : PKT_SKIP;

short_hdr:
	*why = "link-layer header cut by capture";
	return PKT_TRUNCATED;
}

static enum pkt_result parse_udp(const uint8_t *l4, uint32_t cap, uint32_t wire,
				 struct pkt *p, const char **why)
{
	uint16_t ulen;

	if (wire < 8) {
		*why = "IPv4 total length too short for a UDP header";
		return PKT_MALFORMED;
	}
	if (cap < 8) {
		*why = "UDP header cut by capture";
		return PKT_TRUNCATED;
	}
	p->sport = rd_be16(l4);
	p->dport = rd_be16(l4 + 2);
	ulen = rd_be16(l4 + 4);
	if (ulen < 8 || ulen > wire) {
		*why = "UDP length disagrees with the IP length";
		return PKT_MALFORMED;
	}
	p->payload = l4 + 8;
	p->payload_wire_len = ulen - 8u;
	p->payload_len = cap - 8 < p->payload_wire_len ? cap - 8 : p->payload_wire_len;
	return PKT_OK;
}

static enum pkt_result parse_tcp(const uint8_t *l4, uint32_t cap, uint32_t wire,
				 struct pkt *p, const char **why)
{
	uint32_t doff;

	if (wire < 20) {
		*why = "IPv4 total length too short for a TCP header";
		return PKT_MALFORMED;
	}
	if (cap < 20) {
		*why = "TCP header cut by capture";
		return PKT_TRUNCATED;
	}
	p->sport = rd_be16(l4);
	p->dport = rd_be16(l4 + 2);
	p->seq = rd_be32(l4 + 4);
	p->ack = rd_be32(l4 + 8);
	doff = (uint32_t)(l4[12] >> 4) * 4;
	p->tcp_flags = l4[13];
	if (doff < 20 || doff > wire) {
		*why = "bad TCP data offset";
		return PKT_MALFORMED;
	}
	if (doff > cap) {
		*why = "TCP options cut by capture";
		return PKT_TRUNCATED;
	}
	p->payload = l4 + doff;
	if (cap >= wire) {
		p->tcp_seg = l4;
		p->tcp_seg_len = wire;
	}
	p->payload_wire_len = wire - doff;
	p->payload_len = cap - doff < p->payload_wire_len ? cap - doff : p->payload_wire_len;
	return PKT_OK;
}

/* Addresses, and the ports when the capture has them, of a datagram
 * that cannot be decoded (a fragment, a length that lies): enough to
 * tell whether it was CA. */
static void parse_ends(const uint8_t *ip, uint32_t cap, uint32_t ihl, struct pkt *p)
{
	p->proto = ip[9];
	p->src_ip = rd_be32(ip + 12);
	p->dst_ip = rd_be32(ip + 16);
	if ((p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) && cap >= ihl + 4) {
		p->sport = rd_be16(ip + ihl);
		p->dport = rd_be16(ip + ihl + 2);
	}
}

enum pkt_result pkt_parse_ipv4(const uint8_t *ip, uint32_t cap, uint32_t wire,
			       struct pkt *p, const char **why)
{
	uint32_t ihl, tot, l4cap;
	uint16_t frag;

	if (cap < 20) {
		*why = "IPv4 header cut by capture";
		return cap >= 1 && (ip[0] >> 4) != 4 ? PKT_SKIP : PKT_TRUNCATED;
	}
	if ((ip[0] >> 4) != 4)
		return PKT_SKIP;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	tot = rd_be16(ip + 2);
	if (ihl < 20) {
		*why = "IPv4 header length below 20";
		return PKT_MALFORMED;
	}
	if (tot < ihl) {
		*why = "IPv4 total length shorter than its header";
		return PKT_MALFORMED;
	}
	/* The frame itself (not the capture) ended before the datagram did. */
	if (tot > wire) {
		*why = "IPv4 total length exceeds the frame";
		p->ip_len_short = true;
		if (ihl <= cap && !(rd_be16(ip + 6) & 0x1fff))
			parse_ends(ip, cap, ihl, p);
		return PKT_MALFORMED;
	}
	if (ihl > cap) {
		*why = "IPv4 options cut by capture";
		return PKT_TRUNCATED;
	}
	p->proto = ip[9];
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return PKT_SKIP;
	frag = rd_be16(ip + 6);
	p->src_ip = rd_be32(ip + 12);
	p->dst_ip = rd_be32(ip + 16);
	if (frag & 0x3fff) {  /* MF set or a non-zero offset */
		*why = "IPv4 fragment";
		if (cap >= tot) {
			p->frag_ip = ip;
			p->frag_len = tot;
		}
		if (!(frag & 0x1fff))   /* the first: it has the ports */
			parse_ends(ip, cap, ihl, p);
		return PKT_FRAGMENT;
	}
	/* Ethernet pads short frames: the IP length, not the capture, says
	 * where the datagram ends. */
	l4cap = (cap < tot ? cap : tot) - ihl;
	if (p->proto == IPPROTO_UDP)
		return parse_udp(ip + ihl, l4cap, tot - ihl, p, why);
	return parse_tcp(ip + ihl, l4cap, tot - ihl, p, why);
}

enum pkt_result pkt_parse(int dlt, const uint8_t *data, uint32_t caplen,
			  uint32_t wirelen, struct pkt *p, const char **why)
{
	struct bytes_view v = bytes_view(data, caplen);
	uint32_t off = 0;
	enum pkt_result r;

	memset(p, 0, sizeof(*p));
	*why = "";
	r = parse_link(dlt, &v, &off, p, why);
	if (r != PKT_OK)
		return r;
	/* Some writers store a wire length below the captured length. */
	if (wirelen < caplen)
		wirelen = caplen;
	return pkt_parse_ipv4(data + off, caplen - off, wirelen - off, p, why);
}

int pkt_tcp_csum(const struct pkt *p)
{
	const uint8_t *b = p->tcp_seg;
	uint32_t n = p->tcp_seg_len, i, w32;
	uint64_t sum = 0;
	uint16_t w, field;

	if (!b || n < 20 || n > CA_CSUM_MAX_LEN)
		return CA_CSUM_UNCHECKED;
	/* Words as they lie in memory, as the kernel's helper takes them;
	 * 32 bits at a time (the same sum, folded). */
	for (i = 0; i + 4 <= n; i += 4) {
		memcpy(&w32, b + i, 4);
		sum += w32;
	}
	for (; i + 2 <= n; i += 2) {
		memcpy(&w, b + i, 2);
		sum += w;
	}
	if (i < n) {
		uint8_t last[2] = { b[i], 0 };

		memcpy(&w, last, 2);
		sum += w;
	}
	memcpy(&field, b + 16, 2);
	return ca_rule_csum_verdict(sum, ca_rule_csum_pseudo(p->src_ip, p->dst_ip, n), field);
}
