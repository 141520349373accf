/* ring_walk: the records of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF) as
 * the kernel lays it out in the memory it lets user space map: a consumer
 * position (ours to write), a producer position, and the data pages mapped
 * twice in a row, so that a record running past the end is contiguous.
 * Each record starts with an 8-byte header: its length, with a BUSY bit
 * while the producer still writes it and a DISCARD bit when it gave it up.
 *
 * Plain memory and atomics, no system calls, no libbpf: ringbuf_source
 * maps the ring and calls this; the tests call it on a ring of their own.
 *
 * Why not libbpf's reader: it publishes the consumer position after every
 * record, and the kernel reads that position for every record it reserves
 * on another CPU, so the cache line moved between the CPUs twice per
 * record.  This publishes it once per `publish_every` bytes and at the end
 * of a walk.
 */
#ifndef CATRACE_RING_WALK_H
#define CATRACE_RING_WALK_H

#include <stddef.h>
#include <stdint.h>

#define RING_HDR_LEN      8u
#define RING_BUSY_BIT     (1u << 31)
#define RING_DISCARD_BIT  (1u << 30)

struct ring_view {
	unsigned long *consumer_pos;          /* shared with the kernel */
	const unsigned long *producer_pos;    /* written by the kernel */
	const uint8_t *data;                  /* size bytes, mapped twice */
	size_t size;                          /* a power of two */
	size_t publish_every;                 /* bytes between publications */
};

typedef void (*ring_record_fn)(void *ctx, const void *data, size_t size);

/* Hands fn every complete record the producer had published when the walk
 * began (one pass: a producer faster than us cannot keep it going), skips
 * discarded ones, stops at one still being written.  Returns the records
 * handed over, or -1 when a header is impossible (longer than the ring:
 * then nothing more is read). */
long ring_walk(struct ring_view *v, ring_record_fn fn, void *ctx);

#endif
