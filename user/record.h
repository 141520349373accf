/* record: a ring-buffer record from the BPF programs -> the decoder's
 * message.  Plain C, no libbpf: records are checked (size, version) and
 * copied out, never trusted. */
#ifndef CATRACE_RECORD_USER_H
#define CATRACE_RECORD_USER_H

#include <stddef.h>
#include <stdint.h>

#include "ca_decode.h"
#include "flow.h"

struct rec_info {
	uint64_t ts_mono_ns;
	uint32_t ifindex;
	uint32_t seq;
	bool egress;
	bool close;            /* a FIN or RST, not a message */
	bool rst;
	bool packet;           /* a whole packet for -w, not a message: */
	const uint8_t *pkt;    /* its bytes, pointing into the record */
	uint32_t pkt_caplen, pkt_wirelen;
	uint16_t gso_size;     /* egress GSO packet: wire segment size */
	struct flow_key key;   /* client end first */
	struct ca_msg msg;     /* payload points into `data` below */
	uint8_t data[256];     /* copy of the record's payload bytes */
};

enum rec_result {
	REC_OK,
	REC_SHORT,        /* fewer bytes than the record header */
	REC_BAD_VERSION,  /* built for another layout */
	REC_BAD_LENGTH,   /* rec_len or data_len disagree with the size */
	REC_UNKNOWN_KIND,
};

enum rec_result record_parse(const void *data, size_t size, struct rec_info *out);
const char *record_result_str(enum rec_result r);

#endif
