/* ca_decode: Channel Access bytes -> messages.  No I/O, no libbpf.
 *
 * A message is a header (16 bytes, or 24 in the extended form) and a
 * payload.  Callers hand in whatever bytes they have; results distinguish
 * "truncated" (the capture ran out: a snap length, a gap) from "malformed"
 * (a length field that lies about the bytes the sender really sent).
 */
#ifndef CATRACE_CA_DECODE_H
#define CATRACE_CA_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca_proto.h"
#include "ca_rules.h"

struct ca_hdr {
	uint16_t cmd;
	uint16_t dtype;
	uint32_t size;    /* payload bytes (extended form decoded) */
	uint32_t count;   /* element count (extended form decoded) */
	uint32_t p1;
	uint32_t p2;
	uint8_t hdr_len;  /* 16 or 24 */
	bool extended;
};

/* Which way a message travels; decided from the ports, never guessed from
 * field values. */
enum ca_dir {
	CA_DIR_REQUEST,   /* client -> server (or client -> repeater) */
	CA_DIR_RESPONSE,  /* server -> client (or repeater -> client) */
};

enum ca_msg_flags {
	CA_MSG_TRUNCATED = 1u << 0,  /* capture ran out before the message did */
	CA_MSG_MALFORMED = 1u << 1,  /* the message contradicts itself */
	CA_MSG_RESYNC    = 1u << 2,  /* first message found after a resync */
	CA_MSG_BIG       = 1u << 3,  /* payload longer than kept: rest skipped on purpose */
};

struct ca_msg {
	struct ca_hdr h;
	const uint8_t *payload;  /* kept payload bytes */
	size_t payload_len;      /* <= h.size */
	enum ca_dir dir;
	bool tcp;
	unsigned flags;
	char problem[96];        /* why truncated/malformed, for the output */
	/* The header as it came (the 16-bit count of an extended header is
	 * nowhere else); raw_hdr_len 0 when the framer no longer had it. */
	uint8_t raw_hdr[CA_EXT_HDR_LEN];
	uint8_t raw_hdr_len;
	/* Where the message's first byte is, for field offsets: on TCP its
	 * sequence number, on UDP its offset in the datagram.  Not known
	 * after a resync (the bytes came from the search window). */
	bool at_known;
	uint32_t at;
};

/* Keep the first n (<= 24) header bytes as they came. */
static inline void ca_msg_set_raw_hdr(struct ca_msg *m, const uint8_t *p, size_t n)
{
	if (n > sizeof(m->raw_hdr))
		n = sizeof(m->raw_hdr);
	for (size_t i = 0; i < n; i++)
		m->raw_hdr[i] = p[i];
	m->raw_hdr_len = (uint8_t)n;
}

/* Outcome of reading a header from a buffer. */
enum ca_hdr_status {
	CA_HDR_OK,
	CA_HDR_SHORT,  /* fewer bytes than the header needs */
};

enum ca_hdr_status ca_hdr_parse(const uint8_t *buf, size_t len, struct ca_hdr *h);

/* The header as the shared rules (include/ca_rules.h) take it. */
static inline struct ca_rule_hdr ca_hdr_rule(const struct ca_hdr *h)
{
	struct ca_rule_hdr r = {
		.cmd = h->cmd, .dtype = h->dtype, .size = h->size, .count = h->count,
		.p1 = h->p1, .p2 = h->p2, .extended = h->extended,
	};

	return r;
}

/* Is this header a believable start of a message in a stream going this
 * way?  Used only to find a message boundary after a gap, so it is strict:
 * known commands only, 8-byte padding, sizes consistent with the DBR type
 * and count where the command carries a value.  `strict_dbr` additionally
 * requires the payload size to match the value size exactly (padded),
 * which is what lets us trust a header whose message runs past the bytes
 * we have. */
bool ca_hdr_plausible(const struct ca_hdr *h, enum ca_dir dir, bool tcp,
		      bool strict_dbr);

/* Command name as caproto-shark prints it, e.g. "ReadNotifyResponse";
 * obsolete codes give "ObsoleteCommand", unknown ones "UnknownCommand". */
const char *ca_command_name(const struct ca_hdr *h, enum ca_dir dir, bool tcp);
/* An empty EVENT_ADD from the server: it confirms an EVENT_CANCEL. */
bool ca_is_cancel_confirm(const struct ca_hdr *h, enum ca_dir dir);
/* Does the message's payload hold a DBR value (a read or monitor reply, a
 * write)?  A cancel confirmation carries none. */
bool ca_msg_carries_value(const struct ca_msg *m);
/* Protocol constant name: "READ_NOTIFY", "RSRV_IS_UP"...; NULL if unknown. */
const char *ca_cmd_const_name(unsigned cmd);
bool ca_cmd_obsolete(unsigned cmd);

/* ECA status name ("ECA_NORMAL") for a wire status value; NULL if none. */
const char *ca_eca_name(uint32_t status);
/* The i-th known ECA code and its name; false past the last (for listing
 * the dictionary). */
bool ca_eca_at(size_t i, uint32_t *code, const char **name);
/* The request or response name of a command ("ReadNotifyRequest"); NULL
 * for obsolete and unknown codes. */
const char *ca_cmd_dir_name(unsigned cmd, enum ca_dir dir);
/* ACCESS_RIGHTS: "NONE", "READ", "WRITE", "READ|WRITE"; NULL above 3. */
const char *ca_access_name(uint32_t rights);
/* Monitor mask bit 0..3: "VALUE", "LOG", "ALARM", "PROPERTY"; else NULL. */
const char *ca_mask_bit_name(unsigned bit);

/* Round up to the 8-byte message alignment without overflow. */
static inline uint64_t ca_pad8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

/* Payload size a value of `count` elements of `dtype` needs, padded to 8;
 * 0 when the type is unknown. */
uint64_t ca_value_wire_size(unsigned dtype, uint64_t count);

/* Walk the messages of one UDP datagram.  `avail` is the captured part of
 * the datagram, `wire_len` its real length: when the two differ a message
 * cut short is truncated, not malformed.  Calls fn for each message; stops
 * at the first message that cannot be framed.  Returns messages seen. */
typedef void (*ca_msg_fn)(void *ctx, struct ca_msg *m);
size_t ca_walk_datagram(const uint8_t *data, size_t avail, size_t wire_len,
			enum ca_dir dir, ca_msg_fn fn, void *ctx);

#endif
