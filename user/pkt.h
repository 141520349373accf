/* pkt: one captured frame -> IPv4 addresses, ports and transport payload.
 *
 * Link types: Ethernet (up to two 802.1Q/802.1ad tags), Linux cooked v1
 * and v2, BSD loopback (NULL and LOOP), raw IPv4.  Everything here is
 * bounds-checked against the captured length; the wire length only tells
 * how much of the payload the capture cut off.
 */
#ifndef CATRACE_PKT_H
#define CATRACE_PKT_H

#include <stdbool.h>
#include <stdint.h>

struct pkt {
	uint32_t src_ip, dst_ip;   /* host byte order */
	uint16_t sport, dport;
	uint8_t proto;             /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t tcp_flags;
	uint32_t seq;              /* TCP sequence number */
	uint32_t ack;              /* TCP acknowledgement number */
	const uint8_t *payload;
	uint32_t payload_len;      /* captured payload bytes */
	uint32_t payload_wire_len; /* payload bytes the sender sent */
	uint8_t nvlan;
	uint16_t vlan[2];
	/* PKT_MALFORMED: the IPv4 total length runs past the frame (a
	 * receiver drops it); addresses and ports are filled in when there. */
	bool ip_len_short;
	/* TCP: the segment (header and payload) when all of it was captured,
	 * for pkt_tcp_csum; NULL when the capture cut it. */
	const uint8_t *tcp_seg;
	uint32_t tcp_seg_len;
	/* PKT_FRAGMENT: the fragment's IPv4 packet when all of it was
	 * captured (for reassembly), else NULL. */
	const uint8_t *frag_ip;
	uint32_t frag_len;
};

enum pkt_result {
	PKT_OK,
	PKT_SKIP,          /* not IPv4 TCP/UDP: not ours, silently passed over */
	PKT_FRAGMENT,      /* an IPv4 fragment: cannot be decoded on its own
			    * (the first one's ports are filled in) */
	PKT_TRUNCATED,     /* capture too short for the headers */
	PKT_MALFORMED,     /* header fields contradict each other */
};

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

/* The TCP segment's checksum verdict (enum ca_csum_verdict, the rule the
 * BPF programs apply): CA_CSUM_UNCHECKED when it was not all captured or
 * is longer than the kernel would sum. */
int pkt_tcp_csum(const struct pkt *p);

/* Link types this parser knows (DLT_ values as libpcap reports them). */
bool pkt_linktype_supported(int dlt);

/* Parse; on failure *why says what is wrong (static string). */
enum pkt_result pkt_parse(int dlt, const uint8_t *data, uint32_t caplen,
			  uint32_t wirelen, struct pkt *p, const char **why);

/* Parse starting at the IPv4 header.  `wire` is how many bytes from the
 * IPv4 header on the frame really had (caplen: how many were captured). */
enum pkt_result pkt_parse_ipv4(const uint8_t *ip, uint32_t caplen, uint32_t wire,
			       struct pkt *p, const char **why);

#endif
