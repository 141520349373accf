/* bytes: big-endian reads from wire bytes.  Callers check bounds first;
 * these only assemble the value (no alignment assumptions). */
#ifndef CATRACE_BYTES_H
#define CATRACE_BYTES_H

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

#endif
