/* ca_build: one JSON object (the schema `catrace --json` and --json=full
 * print) -> one CA message as it goes on the wire, with where and when it
 * travels.  The encoder half of `catrace build`; no I/O.
 *
 * What a field may say, and what an omitted one becomes:
 *   - header: "cmd" (number) or "command" (a name: "ReadNotifyRequest",
 *     "READ_NOTIFY", ...); "dtype" or "data_type" (a number or a name,
 *     "TIME_DOUBLE"); "count" or "data_count"; "p1", "p2" or the names
 *     --json gives them for the command ("cid", "sid", "ioid",
 *     "subscriptionid", "version", "reply", "status" as a number or an
 *     ECA name); "size" (default: the payload's length); "extended"
 *     (default: when size or count does not fit the 16-bit fields);
 *     "hdr_len" (less than the header: a message cut inside its header,
 *     only that many bytes are written).  Left out, the protocol version
 *     (VERSION's count, a CREATE_CHAN request's p2, a SEARCH request's
 *     count, a beacon's) is libca's 13, a SEARCH request's reply flag is
 *     "don't reply" (5), a beacon's server port 5064; others are 0.
 *     The raw numbers win over the names when both are given, as --json
 *     prints both.
 *   - payload: "payload" (hex, written as is: padding included, never
 *     padded further, so --json=full is lossless; a size larger than it
 *     gives a message cut short, a lying size, written as it is); else
 *     built from the names --json prints: a SEARCH / CREATE_CHAN
 *     request's "pv", CLIENT_NAME / HOST_NAME's "name", a search reply's
 *     "version", an EVENT_ADD request's "mask" (and "low", "high", "to"),
 *     an ERROR's "original_request" and "error_message", a DBR value's
 *     "data" (or "value"; text for a CHAR array) with "alarm", "severity",
 *     "stamp_unix" (TIME),
 *     "units", "precision", the limits (null: NaN) and "enum_strings"
 *     (GR, CTRL), padded to 8 bytes, then fitted to "size" when it is
 *     given (zero-filled, or cut: libca sends a lone DBR_STRING short).
 *   - where: "proto" ("tcp"/"udp"; default udp for SEARCH, NOT_FOUND,
 *     beacons and repeater messages, else tcp), "dir" ("request"/
 *     "response"; default request), "src"/"dst" (IPv4; default
 *     127.0.0.1), "sport"/"dport" (default: the client's 40000, the
 *     server's 5064, the repeater's 5065 for beacons and registrations).
 *   - when: "ts" (seconds with up to nine decimals, read exactly; default
 *     the previous message's time plus a microsecond), "frame" (messages
 *     with the same frame number in a row go into one packet), "seq"
 *     (TCP: the sequence number of the message's first byte; default: the
 *     circuit's next), "handshake" (false: the circuit's first message
 *     gets no SYN exchange before it), "gap" (TCP: that many bytes of the
 *     stream missing before the message, a hole in the sequence numbers;
 *     default 8 when "resync" is true, as --json=full prints for the first
 *     message found after a hole, else 0).  A message that says
 *     "truncated" or "data_cut" (--json=full: bytes of it were missing
 *     from the capture, or past the 16 MiB the decoder keeps) is followed by a hole as long as the payload bytes it lacks,
 *     so the next message starts where its header says.
 *
 * Ranges: a numeric field given as {"range": [LO, HI]} makes HI-LO+1
 * messages with LO, LO+1, ... HI; {"range": [LO, HI], "random": N,
 * "seed": S} makes N with values drawn in [LO, HI] (the same ones for the
 * same seed).  With "format": "T:ai%d" the field is a string, the value
 * put in place of the %d (many PV names).  Several ranged fields in one
 * line advance together; the line gives as many messages as its longest
 * range.
 */
#ifndef CATRACE_CA_BUILD_H
#define CATRACE_CA_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca_decode.h"
#include "json.h"

#define CA_BUILD_MAX_PAYLOAD (16u << 20)
#define CA_BUILD_MAX_VARIANTS 10000000u
#define CA_BUILD_CLIENT_PORT 40000u
#define CA_BUILD_RESYNC_GAP 8u
#define CA_BUILD_MINOR_VERSION 13u   /* CA_MINOR_PROTOCOL_REVISION of libca 4.13 */

struct build_msg {
	uint64_t ts_ns;
	bool has_ts;
	uint64_t frame;
	bool has_frame;
	bool tcp;
	enum ca_dir dir;
	uint32_t src_ip, dst_ip;
	uint16_t sport, dport;
	uint32_t seq;
	bool has_seq;
	bool handshake;         /* default true */
	uint32_t gap;           /* TCP bytes missing before the message */
	uint32_t tail_gap;      /* TCP bytes missing after it (its cut payload) */
	uint8_t *bytes;         /* header + payload, owned */
	size_t len;
};

/* Encode obj into *out (free with build_msg_free).  0, or -1 with a
 * one-line reason ("\"dtype\": unknown DBR type 'TIME_DUBLE'") in err. */
int build_msg_from_json(const struct json_val *obj, struct build_msg *out,
			char *err, size_t errlen);
void build_msg_free(struct build_msg *m);

/* The ranged fields of one line. */
struct build_range_field {
	struct json_val *slot;   /* the member's value, a number while expanding */
	struct json_val orig;    /* the {"range":...} object, restored at the end */
	char text[24];
	char *str;               /* with "format": the string made, owned */
	size_t fmt_pre;          /* bytes of the format before its %d */
	int64_t lo, hi;
	uint64_t n;              /* variants this field gives */
	bool random;
	uint64_t rng;
};

#define BUILD_MAX_RANGES 8

struct build_ranges {
	struct build_range_field f[BUILD_MAX_RANGES];
	unsigned n_fields;
	uint64_t n;              /* messages the line makes (1 without ranges) */
};

/* Find the ranged fields of obj and replace them with numbers: variant i
 * is set by build_ranges_set.  0, or -1 with a reason in err (a bad range
 * spec).  build_ranges_restore puts the original objects back (call it
 * before json_free; also after a failure). */
int build_ranges_prepare(struct json_val *obj, struct build_ranges *r,
			 char *err, size_t errlen);
void build_ranges_set(struct build_ranges *r, uint64_t i);
void build_ranges_restore(struct build_ranges *r);

/* Parse an IPv4 dotted quad (host order); false if not one. */
bool build_parse_ip(const char *s, uint32_t *ip);
/* Parse "S[.F]" seconds with up to nine decimals into ns, exactly. */
bool build_parse_ts(const char *s, uint64_t *ns);

#endif
