/* live_filter: a tcpdump filter expression applied to live records.  A
 * record carries a packet's addresses, ports, flags and CA bytes, not the
 * packet: the filter runs on an Ethernet/IPv4/UDP-or-TCP frame rebuilt
 * from them (with the record's first CA bytes as payload), so that what
 * selects packets with -r (host, net, port, tcp, udp, tcp flags, payload
 * bytes) selects the same ones live.  Link-layer tests (ether, vlan) see
 * the rebuilt header, not the wire's. */
#ifndef CATRACE_LIVE_FILTER_H
#define CATRACE_LIVE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rec_info;

/* libpcap's program, opaque here: pcap.h and libbpf's headers both
 * define struct bpf_insn, and the live runtime includes libbpf's. */
struct live_filter {
	void *prog;          /* struct bpf_program *, NULL: no filter */
};

/* 0, or -1 with a one-line reason in err. */
int live_filter_compile(struct live_filter *f, const char *expr, char *err, size_t errlen);
bool live_filter_match(const struct live_filter *f, const struct rec_info *ri);
/* A whole Ethernet frame the kernel sent (an IPv4 fragment): filtered as
 * -r filters the frames of a capture. */
bool live_filter_match_frame(const struct live_filter *f, const uint8_t *frame, uint32_t len);
/* Either, as the record is: a fragment's frame, or a segment. */
bool live_filter_match_any(const struct live_filter *f, const struct rec_info *ri);
void live_filter_free(struct live_filter *f);

#endif
