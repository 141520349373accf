/* wire: bytes in network order for the unit tests to feed the decoders.
 *
 * CA messages (doc/ca-protocol.md, "Header (16 bytes)") and the Ethernet,
 * 802.1Q, IPv4, UDP and TCP headers around them, written field by field,
 * big-endian, without any of the code under test, so that a test states
 * the bytes a peer sends and not what catrace would make of them.
 *
 * Two levels:
 *   wire_put*   store one field at an address the caller owns and has
 *               checked (frames built in place, fields patched later);
 *   struct wire appends fields one after the other; every append checks
 *               the room left with a cmocka assertion, so a test that
 *               outgrows its buffer fails instead of writing past it.
 *
 * A struct wire holds WIRE_MAX bytes; a test file that needs more in one
 * buffer defines WIRE_MAX before it includes this header.  Static inline
 * functions: every test is one translation unit.
 */
#ifndef CATRACE_TEST_WIRE_H
#define CATRACE_TEST_WIRE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ca_proto.h"

/* ---- one field at an address ------------------------------------------------ */

static inline void wire_put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wire_put32(uint8_t *p, uint32_t v)
{
	wire_put16(p, v >> 16);
	wire_put16(p + 2, v & 0xffff);
}

/* A standard CA header: CA_HDR_LEN bytes at p.  size and count are the
 * 16-bit fields as given, so a test can write any value, 0xFFFF too. */
static inline void wire_put_ca_hdr(uint8_t *p, unsigned cmd, unsigned size,
				   unsigned dtype, unsigned count, uint32_t p1,
				   uint32_t p2)
{
	wire_put16(p, cmd);
	wire_put16(p + 2, size);
	wire_put16(p + 4, dtype);
	wire_put16(p + 6, count);
	wire_put32(p + 8, p1);
	wire_put32(p + 12, p2);
}

/* An extended CA header: CA_EXT_HDR_LEN bytes at p, the 16-bit size
 * CA_EXT_SIZE_MARK and count 0, the real ones in the two words after. */
static inline void wire_put_ca_ext_hdr(uint8_t *p, unsigned cmd, uint32_t size,
				       unsigned dtype, uint32_t count, uint32_t p1,
				       uint32_t p2)
{
	wire_put_ca_hdr(p, cmd, CA_EXT_SIZE_MARK, dtype, 0, p1, p2);
	wire_put32(p + CA_HDR_LEN, size);
	wire_put32(p + CA_HDR_LEN + 4, count);
}

/* ---- appending ------------------------------------------------------------------ */

#ifndef WIRE_MAX
#define WIRE_MAX 8192
#endif

struct wire {
	uint8_t b[WIRE_MAX];
	size_t n;		/* bytes written; reset to 0 to start again */
};

/* The next n bytes of w, counted as written; the caller fills them. */
static inline uint8_t *wire_room(struct wire *w, size_t n)
{
	uint8_t *p;

	assert_true(n <= sizeof(w->b) - w->n);
	p = w->b + w->n;
	w->n += n;
	return p;
}

static inline void wire_u8(struct wire *w, unsigned v)
{
	*wire_room(w, 1) = (uint8_t)v;
}

static inline void wire_u16(struct wire *w, unsigned v)
{
	wire_put16(wire_room(w, 2), v);
}

static inline void wire_u32(struct wire *w, uint32_t v)
{
	wire_put32(wire_room(w, 4), v);
}

/* Also how a test writes a double: its IEEE bit pattern, spelled out, so
 * that the bytes do not depend on the host's float layout. */
static inline void wire_u64(struct wire *w, uint64_t v)
{
	wire_u32(w, (uint32_t)(v >> 32));
	wire_u32(w, (uint32_t)v);
}

/* n bytes of value v. */
static inline void wire_fill(struct wire *w, unsigned v, size_t n)
{
	memset(wire_room(w, n), (int)(uint8_t)v, n);
}

/* A fixed-width char field (DBR_STRING, units, enum states): s, then NULs
 * up to width.  s may fill the field, and then has no NUL. */
static inline void wire_str(struct wire *w, const char *s, size_t width)
{
	size_t n = strlen(s);
	uint8_t *p;

	assert_true(n <= width);
	p = wire_room(w, width);
	memcpy(p, s, n);
	memset(p + n, 0, width - n);
}

/* A name as CA sends it (PV, host, user): s, at least one NUL, NULs up to
 * width (a multiple of CA_ALIGN for a whole payload). */
static inline void wire_name(struct wire *w, const char *s, size_t width)
{
	assert_true(strlen(s) < width);
	wire_str(w, s, width);
}

/* Overwrite the 16-bit field at offset off, already written. */
static inline void wire_set16(struct wire *w, size_t off, unsigned v)
{
	assert_true(off <= w->n && w->n - off >= 2);
	wire_put16(w->b + off, v);
}

static inline void wire_ca_hdr(struct wire *w, unsigned cmd, unsigned size,
			       unsigned dtype, unsigned count, uint32_t p1, uint32_t p2)
{
	wire_put_ca_hdr(wire_room(w, CA_HDR_LEN), cmd, size, dtype, count, p1, p2);
}

static inline void wire_ca_ext_hdr(struct wire *w, unsigned cmd, uint32_t size,
				   unsigned dtype, uint32_t count, uint32_t p1,
				   uint32_t p2)
{
	wire_put_ca_ext_hdr(wire_room(w, CA_EXT_HDR_LEN), cmd, size, dtype, count,
			    p1, p2);
}

/* ---- frames: Ethernet, 802.1Q, IPv4, UDP, TCP --------------------------------- *
 *
 * Each appends one header, well formed but for the fields given; the
 * others hold fixed values a test can recognise.  Checksums are left 0:
 * the parsers do not check them (with checksum offload, a capture holds
 * no valid ones either). */

/* Ethernet II to 00:1b:21:3c:4d:5e from 52:54:00:12:34:56. */
static inline void wire_eth(struct wire *w, unsigned type)
{
	static const uint8_t macs[12] = {
		0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e,	/* destination */
		0x52, 0x54, 0x00, 0x12, 0x34, 0x56,	/* source */
	};

	memcpy(wire_room(w, sizeof(macs)), macs, sizeof(macs));
	wire_u16(w, type);
}

/* An 802.1Q tag after the MACs: TCI, then the ethertype that follows. */
static inline void wire_vlan(struct wire *w, unsigned tci, unsigned next_type)
{
	wire_u16(w, tci);
	wire_u16(w, next_type);
}

/* IPv4 with `ihl` 32-bit words (the options NOPs), total length `tot`,
 * `frag` the flags and fragment offset field; ID 0x1234, TTL 64.
 * Returns the offset of the total length, for wire_set16. */
static inline size_t wire_ipv4(struct wire *w, unsigned ihl, unsigned tot,
			       unsigned proto, unsigned frag, uint32_t src,
			       uint32_t dst)
{
	size_t at = w->n;

	wire_u8(w, 0x40 | (ihl & 0x0f));
	wire_u8(w, 0);
	wire_u16(w, tot);
	wire_u16(w, 0x1234);
	wire_u16(w, frag);
	wire_u8(w, 64);
	wire_u8(w, proto);
	wire_u16(w, 0);
	wire_u32(w, src);
	wire_u32(w, dst);
	if (ihl > 5)
		wire_fill(w, 0x01, (ihl - 5) * 4);
	return at + 2;
}

/* UDP; `len` is the length field, header included. */
static inline void wire_udp(struct wire *w, unsigned sport, unsigned dport,
			    unsigned len)
{
	wire_u16(w, sport);
	wire_u16(w, dport);
	wire_u16(w, len);
	wire_u16(w, 0);
}

/* TCP with `doff` 32-bit words (the options NOPs); ACK number 0xA0A0A0A0,
 * window 65535.  `flags` is the flags byte (FIN 0x01 ... CWR 0x80). */
static inline void wire_tcp(struct wire *w, unsigned sport, unsigned dport,
			    uint32_t seq, unsigned doff, unsigned flags)
{
	wire_u16(w, sport);
	wire_u16(w, dport);
	wire_u32(w, seq);
	wire_u32(w, 0xA0A0A0A0);
	wire_u8(w, (doff & 0x0f) << 4);
	wire_u8(w, flags);
	wire_u16(w, 65535);
	wire_u16(w, 0);
	wire_u16(w, 0);
	if (doff > 5)
		wire_fill(w, 0x01, (doff - 5) * 4);
}

#endif /* CATRACE_TEST_WIRE_H */
