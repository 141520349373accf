/* bytes: the one reader of wire bytes.  A bytes_view is a window that
 * cannot be read past its end: bv_at() hands out a pointer only when all
 * the bytes asked for are there, bv_be16()/bv_be32() read a checked
 * value (as tcpdump's GET_ macros).  rd_be16/32/64 only assemble a value
 * from bytes already checked (no alignment assumptions). */
#ifndef CATRACE_BYTES_H
#define CATRACE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t rd_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t rd_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t rd_be64(const uint8_t *p)
{
	return (uint64_t)rd_be32(p) << 32 | rd_be32(p + 4);
}

/* And the other way, for bytes we build (frames, messages). */
static inline void wr_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr_be32(uint8_t *p, uint32_t v)
{
	wr_be16(p, v >> 16);
	wr_be16(p + 2, v);
}

/* The Internet checksum (RFC 1071): a running sum of big-endian 16-bit
 * words, an odd last byte padded with zero (wide enough for 64 KB without
 * folding as it goes), then folded and complemented. */
static inline uint64_t inet_sum(uint64_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static inline uint16_t inet_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A hex digit's value, -1 for any other character. */
static inline int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

struct bytes_view {
	const uint8_t *p;
	size_t len;
};

static inline struct bytes_view bytes_view(const uint8_t *p, size_t len)
{
	struct bytes_view v = { p, p ? len : 0 };

	return v;
}

/* Pointer to n bytes at off, or NULL when they are not all there.  The
 * comparison is arranged so that neither side can wrap. */
static inline const uint8_t *bv_at(const struct bytes_view *v, size_t off, size_t n)
{
	if (!v->p || off > v->len || n > v->len - off)
		return NULL;
	return v->p + off;
}

static inline bool bv_be16(const struct bytes_view *v, size_t off, uint16_t *out)
{
	const uint8_t *p = bv_at(v, off, 2);

	if (p)
		*out = rd_be16(p);
	return p != NULL;
}

static inline bool bv_be32(const struct bytes_view *v, size_t off, uint32_t *out)
{
	const uint8_t *p = bv_at(v, off, 4);

	if (p)
		*out = rd_be32(p);
	return p != NULL;
}

#endif
