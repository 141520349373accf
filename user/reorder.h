/* reorder: live records put back in time order.  The BPF programs run on
 * every CPU and the ring buffer takes their records in the order they
 * were committed, not in the order their packets were seen; records held
 * for a short window and released by time stamp come out as the packets
 * came (per interface and across them).  Memory is bounded: past the
 * limit the oldest record goes out at once. */
#ifndef CATRACE_REORDER_H
#define CATRACE_REORDER_H

#include <stddef.h>
#include <stdint.h>

/* How long a record waits for an earlier one from another CPU: far more
 * than a hook takes from its clock read to its commit. */
#define REORDER_WINDOW_NS 2000000ull
#define REORDER_MAX_BYTES ((size_t)32 << 20)

typedef void (*reorder_fn)(void *ctx, const void *rec, size_t size);

struct reorder_item;

struct reorder {
	struct reorder_item *heap;   /* min-heap by (time stamp, arrival) */
	size_t n, cap;
	size_t bytes, max_bytes;
	uint64_t arrivals;
};

void reorder_init(struct reorder *r, size_t max_bytes);
/* Hold a copy of the record seen at `ts_ns`; if memory is short (or the
 * bound is reached), records go out early, oldest first, through fn. */
void reorder_push(struct reorder *r, uint64_t ts_ns, const void *rec, size_t size,
		  reorder_fn fn, void *ctx);
/* Release, in time order, the records seen at or before `horizon_ns`. */
void reorder_release(struct reorder *r, uint64_t horizon_ns, reorder_fn fn, void *ctx);
/* The time stamp of the oldest record held (UINT64_MAX: none). */
uint64_t reorder_oldest(const struct reorder *r);
void reorder_free(struct reorder *r);

#endif
