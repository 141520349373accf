/* Integer-only rules of the CA wire that the BPF programs and the user-space
 * decoder must apply alike: which VLAN tags are walked, which header can
 * start a message after lost sync, how much of a message the kernel copies,
 * what the traffic teaches about servers.  Static inline functions over
 * plain integers, built by clang for BPF and by cc for user space, so the
 * two sides cannot drift apart (tests/bpf/bpf_equiv proves they agree on
 * every packet of every capture).
 */
#ifndef CATRACE_CA_RULES_H
#define CATRACE_CA_RULES_H

#include "ca_proto.h"

#ifndef __bpf__
#include <stdint.h>
typedef uint8_t ca_u8;
typedef uint16_t ca_u16;
typedef uint32_t ca_u32;
typedef uint64_t ca_u64;
#else
typedef __u8 ca_u8;
typedef __u16 ca_u16;
typedef __u32 ca_u32;
typedef __u64 ca_u64;
#endif

/* 802.1Q, 802.1ad and the pre-standard QinQ TPID still seen on switches. */
static inline int ca_rule_is_vlan_tpid(ca_u16 type_host_order)
{
	return type_host_order == 0x8100 || type_host_order == 0x88A8 ||
	       type_host_order == 0x9100;
}

/* db_access.h dbr_value_offset[] (padding included) and the size of one
 * element, per DBR type 0..38. */
static const ca_u16 ca_rule_value_offset[DBR_LAST_TYPE + 1] = {
	0,  0,  0,  0,   0,  0,  0,	/* plain */
	4,  4,  4,  4,   5,  4,  8,	/* STS */
	12, 14, 12, 14,  15, 12, 16,	/* TIME */
	4,  24, 40, 422, 19, 36, 64,	/* GR */
	4,  28, 48, 422, 21, 44, 80,	/* CTRL */
	0, 0,				/* PUT_ACKT, PUT_ACKS */
	8,				/* STSACK_STRING */
	0,				/* CLASS_NAME */
};

static const ca_u8 ca_rule_elem_size[DBR_LAST_TYPE + 1] = {
	40, 2, 4, 2, 1, 4, 8,
	40, 2, 4, 2, 1, 4, 8,
	40, 2, 4, 2, 1, 4, 8,
	40, 2, 4, 2, 1, 4, 8,
	40, 2, 4, 2, 1, 4, 8,
	2, 2,
	40,
	40,
};

/* A header reduced to integers. */
struct ca_rule_hdr {
	ca_u16 cmd, dtype;
	ca_u32 size, count, p1, p2;
	ca_u8 extended;
};

/* A value payload's size fits its type and count.  STRING payloads may be
 * shorter than 40 bytes an element (trailing NULs dropped), and a count
 * of 0 in a reply means "whatever the server had". */
static inline int ca_rule_value_size_plausible(const struct ca_rule_hdr *h, int strict)
{
	ca_u64 want, off, esz, min_short;
	ca_u32 t = h->dtype;

	if (t > DBR_LAST_TYPE)
		return 0;
	if (h->count == 0)
		return !strict;
	off = ca_rule_value_offset[t];
	esz = ca_rule_elem_size[t];
	want = (off + (ca_u64)h->count * esz + 7) & ~(ca_u64)7;
	if (!strict)
		return h->size <= want;
	if (h->size == want)
		return 1;
	/* Short STRING values: at least the metadata and one byte. */
	min_short = (off + 1 + 7) & ~(ca_u64)7;
	return esz == MAX_STRING_SIZE && h->count == 1 && h->size < want &&
	       h->size >= min_short;
}

/* Is this header a believable start of a message in a stream going this
 * way (req: client to server)?  Only for finding a boundary after lost
 * sync, so it is strict: known commands, 8-byte padding, sizes that fit
 * the DBR type and count.  `strict_dbr` also wants the payload size to be
 * exactly the value's, which is what lets a header whose message runs
 * past the bytes at hand be trusted. */
static inline int ca_rule_plausible(const struct ca_rule_hdr *h, int req, int tcp,
				    int strict_dbr)
{
	if (h->size % CA_ALIGN)
		return 0;
	if (h->extended && h->size < 0xFFFF && h->count < 0xFFFF)
		return 0;  /* nobody uses the long form for small messages */
	if (h->size > (1u << 30))
		return 0;

	switch (h->cmd) {
	case CA_PROTO_VERSION:
		/* count is the minor version: 0 never occurs, and all-zero
		 * bytes inside a big array must not read as VERSION.  Over
		 * TCP p2 is 0 and p1 0 (caproto's server: 1). */
		return h->size == 0 && h->count >= 1 && h->count < 64 &&
		       (tcp ? h->dtype < 100 && h->p1 <= 0xFFFF && h->p2 == 0
			    : h->dtype <= 1);
	case CA_PROTO_EVENT_ADD:
		if (req)
			return h->size == 16 && h->dtype <= DBR_LAST_TYPE;
		/* A cancel confirmation (no payload) occurs inside every
		 * value reply's bytes: never an anchor. */
		if (h->size == 0)
			return 0;
		return ca_rule_value_size_plausible(h, strict_dbr);
	case CA_PROTO_EVENT_CANCEL:
		return req && h->size == 0 && h->dtype <= DBR_LAST_TYPE;
	case CA_PROTO_READ:
	case CA_PROTO_READ_NOTIFY:
		if (req)
			return h->size == 0 && h->dtype <= DBR_LAST_TYPE;
		return ca_rule_value_size_plausible(h, strict_dbr);
	case CA_PROTO_WRITE:
		return req && h->size > 0 && ca_rule_value_size_plausible(h, strict_dbr);
	case CA_PROTO_WRITE_NOTIFY:
		if (req)
			return h->size > 0 && ca_rule_value_size_plausible(h, strict_dbr);
		return h->size == 0 && h->dtype <= DBR_LAST_TYPE;
	case CA_PROTO_SEARCH:
		if (req)
			return h->size >= 8 && h->size <= 1024 && h->p1 == h->p2 &&
			       (h->dtype == CA_DO_REPLY || h->dtype == CA_DONT_REPLY);
		return h->size <= 8 && h->count == 0;
	case CA_PROTO_EVENTS_OFF:
	case CA_PROTO_EVENTS_ON:
		return req && h->size == 0;
	case CA_PROTO_READ_SYNC:
	case CA_PROTO_ECHO:
	case CA_PROTO_CLEAR_CHANNEL:
		return h->size == 0;
	case CA_PROTO_ERROR:
		return !req && h->size >= CA_HDR_LEN && h->size <= 1024 + CA_HDR_LEN;
	case CA_PROTO_RSRV_IS_UP:
	case CA_PROTO_REPEATER_CONFIRM:
	case CA_PROTO_REPEATER_REGISTER:
		return !tcp && h->size == 0;
	case CA_PROTO_NOT_FOUND:
		return !req && h->size == 0 &&
		       (h->dtype == CA_DO_REPLY || h->dtype == CA_DONT_REPLY);
	case CA_PROTO_CREATE_CHAN:
		if (req)
			return h->size >= 8 && h->size <= CA_MAX_NAME_LEN + 8;
		return h->size == 0 && h->dtype <= DBR_LAST_TYPE;
	case CA_PROTO_CLIENT_NAME:
	case CA_PROTO_HOST_NAME:
		return req && h->size >= 8 && h->size <= 1024;
	case CA_PROTO_ACCESS_RIGHTS:
		return !req && h->size == 0 && h->p2 <= 3;
	case CA_PROTO_CREATE_CH_FAIL:
	case CA_PROTO_SERVER_DISCONN:
		return !req && h->size == 0;
	default:
		return 0;  /* obsolete and unknown codes never anchor a resync */
	}
}

/* A command code no CA peer sends: met in sync, the boundaries are lost. */
static inline int ca_rule_breaks_sync(ca_u16 cmd)
{
	return cmd > CA_PROTO_LAST_CMD;
}

/* Does this message carry a DBR value (the part --value-bytes caps)? */
static inline int ca_rule_carries_value(ca_u16 cmd, int req)
{
	switch (cmd) {
	case CA_PROTO_EVENT_ADD:
	case CA_PROTO_READ:
	case CA_PROTO_READ_NOTIFY:
		return !req;
	case CA_PROTO_WRITE:
	case CA_PROTO_WRITE_NOTIFY:
		return req;
	default:
		return 0;
	}
}

/* Payload bytes of a message the kernel copies: a value's first
 * `value_bytes`, everything else (names, errors) up to `meta_bytes`. */
static inline ca_u32 ca_rule_copy_budget(ca_u16 cmd, int req, ca_u32 size,
					 ca_u32 value_bytes, ca_u32 meta_bytes)
{
	ca_u32 b = ca_rule_carries_value(cmd, req) ? value_bytes : meta_bytes;

	return size < b ? size : b;
}

/* The value budget that shows `max_elements` elements of any DBR type
 * whole (the longest metadata, CTRL_ENUM's 422 bytes, then 40-byte
 * strings): at least `floor`, at most `cap`; 0 elements means all. */
static inline ca_u32 ca_rule_value_budget_for(ca_u64 max_elements, ca_u32 floor,
					      ca_u32 cap)
{
	ca_u64 need;

	if (max_elements == 0 || max_elements > cap)
		return cap;
	need = 424 + max_elements * MAX_STRING_SIZE;
	if (need < floor)
		need = floor;
	return need > cap ? cap : (ca_u32)need;
}

/* The TCP server a message announces (search replies, over UDP or a name
 * server's TCP circuit; beacons), or 0 when none.  *ip in host order. */
static inline int ca_rule_announced_server(const struct ca_rule_hdr *h, int req,
					   int tcp, ca_u32 src_ip, ca_u32 *ip,
					   ca_u16 *port)
{
	if (h->cmd == CA_PROTO_SEARCH && !req) {
		/* 0xFFFFFFFF (and 0 from some servers): "my own address". */
		*ip = (h->p1 == 0xFFFFFFFFu || h->p1 == 0) ? src_ip : h->p1;
		*port = h->dtype;
		return 1;
	}
	if (h->cmd == CA_PROTO_RSRV_IS_UP && !tcp) {
		*ip = h->p2 ? h->p2 : src_ip;
		*port = (ca_u16)h->count;
		return 1;
	}
	return 0;
}


/* ---- TCP checksums: what the receiving stack would drop ----
 *
 * A segment with a wrong checksum never reaches the socket, so what it
 * seems to say never happened; an attacker can send one as a decoy just
 * before the real segment at the same sequence number (issue 14).  Both
 * sides sum the segment's bytes as they lie in memory (16-bit words in
 * host order: one's complement sums do not care, as long as every term is
 * taken the same way), the pseudo-header included, and judge the sum here.
 *
 * Not every wrong-looking checksum is wrong: a sender that leaves the sum
 * to its NIC (TX offload, veth, virtio) puts only the pseudo-header's sum
 * in the field, and the capture or the receiving hook sees that.  Such a
 * segment cannot be judged (CSUM_OFFLOADED).  And some captures hold
 * whole directions of unfinished checksums (taken on the sending host),
 * or zeros (generators): so a segment is dropped only in a direction whose
 * checksums were shown to be computed, CA_CSUM_RUN segments in a row with
 * a right one.  One is not enough: a direction of zeros or garbage has a
 * right one by chance once in 65536 segments, and would then lose every
 * segment after it; three in a row by chance is once in 2^48. */
enum ca_csum_verdict {
	CA_CSUM_UNCHECKED = 0,   /* not summed: cut short, too big, egress */
	CA_CSUM_VALID,
	CA_CSUM_OFFLOADED,       /* the field holds the pseudo-header's sum */
	CA_CSUM_BAD,
};

/* Fold a running sum of 16-bit words to 16 bits (one's complement). */
static inline ca_u16 ca_rule_csum_fold(ca_u64 s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (ca_u16)s;
}

/* `seg_sum`: the sum of the TCP header and payload (checksum field as
 * sent); `pseudo_sum`: of the pseudo-header; `field`: the checksum field
 * as it lies in memory. */
static inline int ca_rule_csum_verdict(ca_u64 seg_sum, ca_u64 pseudo_sum, ca_u16 field)
{
	if (ca_rule_csum_fold(seg_sum + pseudo_sum) == 0xffff)
		return CA_CSUM_VALID;
	if (field == ca_rule_csum_fold(pseudo_sum))
		return CA_CSUM_OFFLOADED;
	return CA_CSUM_BAD;
}

/* The pseudo-header's terms, addresses and length in host order, each
 * 16-bit word as it would lie in memory in network order. */
static inline ca_u16 ca_rule_be16_in_memory(ca_u16 v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (ca_u16)((v >> 8) | (v << 8));
#else
	return v;
#endif
}

static inline ca_u64 ca_rule_csum_pseudo(ca_u32 saddr, ca_u32 daddr, ca_u32 tcp_len)
{
	return (ca_u64)ca_rule_be16_in_memory((ca_u16)(saddr >> 16)) +
	       ca_rule_be16_in_memory((ca_u16)saddr) +
	       ca_rule_be16_in_memory((ca_u16)(daddr >> 16)) +
	       ca_rule_be16_in_memory((ca_u16)daddr) +
	       ca_rule_be16_in_memory(6 /* IPPROTO_TCP */) +
	       ca_rule_be16_in_memory((ca_u16)tcp_len);
}

#define CA_CSUM_RUN 3

/* A direction's evidence after a segment's verdict: the run of right sums
 * so far, CA_CSUM_RUN and more for good (verified). */
static inline ca_u8 ca_rule_csum_track(ca_u8 run, int verdict)
{
	if (run >= CA_CSUM_RUN || verdict == CA_CSUM_UNCHECKED)
		return run;
	return verdict == CA_CSUM_VALID ? (ca_u8)(run + 1) : 0;
}

/* Does the stack drop this segment, as far as its direction shows? */
static inline int ca_rule_csum_drops(int verdict, ca_u8 run)
{
	return verdict == CA_CSUM_BAD && run >= CA_CSUM_RUN;
}

/* The longest segment (TCP header and payload) the kernel sums: a jumbo
 * frame's.  Longer ones (GSO packets) are left unchecked on both sides. */
#define CA_CSUM_MAX_LEN 9216

#endif
