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
