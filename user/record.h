/* record: a ring-buffer record from the BPF programs, checked and viewed.
 * Plain C, no libbpf: every length is checked against the bytes there,
 * nothing is trusted.  The views point into the record. */
#ifndef CATRACE_RECORD_USER_H
#define CATRACE_RECORD_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catrace_record.h"
#include "ca_decode.h"
#include "flow.h"

struct rec_info {
	uint64_t ts_mono_ns;
	uint32_t ifindex;
	bool egress;
	bool packet;           /* a whole packet for -w, else a segment */
	/* -w packet */
	const uint8_t *pkt;    /* its bytes, pointing into the record */
	uint32_t pkt_caplen, pkt_wirelen;
	uint16_t gso_size;     /* egress GSO packet: wire segment size */
	bool fragment;         /* an IPv4 fragment of CA traffic, whole */
	/* segment */
	struct flow_key key;   /* client end first */
	enum ca_dir dir;
	bool tcp;
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	struct live_seg seg;   /* spans point into `spans` below */
	struct live_span spans[REC_SPANS_MAX];
};

enum rec_result {
	REC_OK,
	REC_SHORT,        /* fewer bytes than the record header */
	REC_BAD_VERSION,  /* built for another layout */
	REC_BAD_LENGTH,   /* a length field disagrees with the bytes there */
	REC_UNKNOWN_KIND,
	REC_BAD_SPANS,    /* spans out of order, overlapping, or past the record */
};

enum rec_result record_parse(const void *data, size_t size, struct rec_info *out);
/* Does this record wait to be decoded in time order with the others (a
 * segment, or a fragment of a CA datagram)?  Then *ts_ns is its time.
 * -w's packets do not: they are written as they come. */
bool record_in_time_order(const void *data, size_t size, uint64_t *ts_ns);
const char *record_result_str(enum rec_result r);

#endif
