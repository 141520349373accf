/* dissect: one CA message -> the list of its fields, each with where its
 * bytes are in the message (offset, length), what it is (a descriptor from
 * one table) and how many of its bytes the capture holds.
 *
 * The -V tree, -X and --json=fields print this list; `catrace fields`
 * prints the descriptor table and the dictionaries its enum fields name,
 * so the description and the decoder come from the same tables.  Every
 * byte of the message is in exactly one field: padding, unused slots and
 * bytes the capture lacks are fields too, never gaps.  No I/O.
 */
#ifndef CATRACE_DISSECT_H
#define CATRACE_DISSECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca_decode.h"
#include "sbuf.h"

/* How a field's bytes read (big-endian numbers). */
enum dis_type {
	DIS_UINT,     /* unsigned integer of `length` bytes */
	DIS_INT,      /* signed integer */
	DIS_FLOAT,    /* IEEE 754 single */
	DIS_DOUBLE,   /* IEEE 754 double */
	DIS_ENUM,     /* unsigned integer named by a dictionary */
	DIS_FLAGS,    /* bit set named by a dictionary of bits */
	DIS_IPV4,     /* IPv4 address */
	DIS_STRING,   /* NUL-padded text */
	DIS_STAMP,    /* epicsTimeStamp: seconds since 1990, nanoseconds */
	DIS_BYTES,    /* opaque: padding, unused slots, bytes not captured */
	DIS_DBR_VALUE,/* of the message's DBR value type (limits, elements) */
	DIS_MAC,      /* Ethernet address */
};

/* The dictionaries enum and flag fields name their values with. */
enum dis_dict {
	DIS_DICT_NONE,
	DIS_DICT_COMMAND,    /* by direction: requests, responses */
	DIS_DICT_DBR_TYPE,
	DIS_DICT_ECA,
	DIS_DICT_ALARM_STATUS,
	DIS_DICT_ALARM_SEVERITY,
	DIS_DICT_ACCESS,
	DIS_DICT_MASK,       /* bits */
	DIS_DICT_REPLY_FLAG,
	DIS_DICT_COUNT,
};

struct dis_desc {
	const char *id;      /* "ca.sid" */
	const char *name;    /* "Server channel ID" */
	enum dis_type type;
	enum dis_dict dict;
	uint8_t size;        /* bytes; 0: variable */
	bool array;          /* repeated, with an index (value elements) */
};

/* The table, for `catrace fields` and the tests. */
extern const struct dis_desc dis_descs[];
extern const size_t dis_n_descs;
const char *dis_type_name(enum dis_type t);
const char *dis_dict_name(enum dis_dict d);
/* A dictionary's name for v (commands: in direction dir); NULL if none. */
const char *dis_dict_lookup(enum dis_dict d, uint64_t v, enum ca_dir dir);
/* Its entries in order, for listing: false past the last.  Commands list
 * requests then responses (*dir says which). */
bool dis_dict_at(enum dis_dict d, size_t i, uint64_t *v, const char **name,
		 enum ca_dir *dir);

struct dis_field {
	const struct dis_desc *d;
	uint32_t off, len;   /* in the message (the header's first byte is 0) */
	uint32_t have;       /* bytes of it the capture holds (< len: cut) */
	int32_t index;       /* element or slot number; -1 for none */
	uint8_t depth;       /* 0: header and payload; 1: inside the payload */
	uint8_t kind;        /* DIS_DBR_VALUE: its enum dbr_vkind */
};

struct dis_msg {
	uint8_t *bytes;      /* the message as captured: header, kept payload */
	size_t have;         /* bytes there */
	uint64_t total;      /* bytes the message has on the wire */
	enum ca_dir dir;
	struct dis_field *f;
	size_t n, cap;
	bool oom;
};

/* Dissect m: its fields in wire order.  At most max_elements value
 * elements get a field each (0: all); the rest is one field.  False when
 * out of memory. */
bool dissect_msg(struct dis_msg *out, const struct ca_msg *m, size_t max_elements);
void dis_msg_free(struct dis_msg *dm);

/* The link, IPv4 and UDP/TCP headers of a frame of this link type (a
 * pcap DLT), as fields at their frame offsets, up to `upto` (the CA
 * payload's offset); the frame holds at least upto bytes.  Each field's
 * id says its layer ("eth.src", "ip.ttl", "tcp.seq"). */
bool dissect_headers(struct dis_msg *out, int linktype, const uint8_t *frame,
		     uint32_t upto);

/* The field's value as JSON (a number, a string; bytes as hex) and its
 * meaning as text (the dictionary's name, a date, the number), appended.
 * `known` is false for an enum value no dictionary entry names. */
void dis_field_value_json(const struct dis_msg *dm, const struct dis_field *f,
			  struct sbuf *sb);
void dis_field_hvalue(const struct dis_msg *dm, const struct dis_field *f,
		      struct sbuf *sb, bool *known);
/* Whether the field is text (its value a JSON string of its characters). */
bool dis_field_is_text(const struct dis_field *f);
/* Its bytes as lower-case hex, no separators. */
void dis_field_hex(const struct dis_msg *dm, const struct dis_field *f, struct sbuf *sb);

#endif
