/* ring_walk: see ring_walk.h. */
#include "ring_walk.h"

long ring_walk(struct ring_view *v, ring_record_fn fn, void *ctx)
{
	unsigned long cons = __atomic_load_n(v->consumer_pos, __ATOMIC_RELAXED);
	unsigned long prod = __atomic_load_n(v->producer_pos, __ATOMIC_ACQUIRE);
	unsigned long published = cons;
	size_t mask = v->size - 1;
	long n = 0;

	while (cons < prod) {
		const uint8_t *hdr = v->data + (cons & mask);
		/* Acquire: the record's bytes are complete once BUSY is clear. */
		uint32_t len = __atomic_load_n((const uint32_t *)hdr, __ATOMIC_ACQUIRE);
		uint32_t size = len & ~(RING_BUSY_BIT | RING_DISCARD_BIT);

		if (len & RING_BUSY_BIT)
			break;
		if (size > v->size - RING_HDR_LEN) {
			n = -1;
			break;
		}
		cons += (size + RING_HDR_LEN + 7) & ~7ul;
		if (!(len & RING_DISCARD_BIT)) {
			fn(ctx, hdr + RING_HDR_LEN, size);
			n++;
		}
		if (cons - published >= v->publish_every) {
			__atomic_store_n(v->consumer_pos, cons, __ATOMIC_RELEASE);
			published = cons;
		}
	}
	/* Release: the kernel may reuse the space only after we read it. */
	if (cons != published)
		__atomic_store_n(v->consumer_pos, cons, __ATOMIC_RELEASE);
	return n;
}
