/* frame_build: an Ethernet/IPv4/TCP or UDP frame around a payload, with
 * the checksums filled in, for `catrace build`.  No options, no
 * fragments: what catrace's own parser reads back as a clean packet.
 * MAC addresses are made from the IPv4 ones (02:00:a.b.c.d), so the
 * frames of one host always carry the same address. */
#ifndef CATRACE_FRAME_BUILD_H
#define CATRACE_FRAME_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_BUILD_ETH 14
#define FRAME_BUILD_IP  20
#define FRAME_BUILD_TCP 20
#define FRAME_BUILD_UDP 8
/* The most payload one frame carries: what an IPv4 total length allows. */
#define FRAME_BUILD_MAX_TCP_PAYLOAD (65535 - FRAME_BUILD_IP - FRAME_BUILD_TCP)
#define FRAME_BUILD_MAX_UDP_PAYLOAD (65535 - FRAME_BUILD_IP - FRAME_BUILD_UDP)

enum {
	TCPF_FIN = 0x01, TCPF_SYN = 0x02, TCPF_RST = 0x04, TCPF_PSH = 0x08, TCPF_ACK = 0x10,
};

struct frame_spec {
	bool tcp;
	uint32_t src_ip, dst_ip;       /* host order */
	uint16_t sport, dport;
	uint32_t seq, ack;             /* TCP */
	uint8_t flags;                 /* TCP */
	uint16_t ip_id;
};

/* Write the frame into buf (cap bytes); its length, or 0 when the payload
 * is too big for one frame or buf too small. */
size_t frame_build(uint8_t *buf, size_t cap, const struct frame_spec *s,
		   const uint8_t *payload, size_t len);

#endif
