/* reorder: see reorder.h. */
#include "reorder.h"

#include <stdlib.h>
#include <string.h>

struct reorder_item {
	uint64_t ts, arrival;
	size_t size;
	void *rec;
};

static int before(const struct reorder_item *a, const struct reorder_item *b)
{
	return a->ts != b->ts ? a->ts < b->ts : a->arrival < b->arrival;
}

static void swap(struct reorder_item *a, struct reorder_item *b)
{
	struct reorder_item t = *a;

	*a = *b;
	*b = t;
}

static void sift_up(struct reorder_item *h, size_t i)
{
	while (i > 0 && before(&h[i], &h[(i - 1) / 2])) {
		swap(&h[i], &h[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct reorder_item *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < n && before(&h[l], &h[m]))
			m = l;
		if (l + 1 < n && before(&h[l + 1], &h[m]))
			m = l + 1;
		if (m == i)
			return;
		swap(&h[i], &h[m]);
		i = m;
	}
}

void reorder_init(struct reorder *r, size_t max_bytes)
{
	memset(r, 0, sizeof(*r));
	r->max_bytes = max_bytes;
}

/* Hand the oldest record over and forget it. */
static void pop(struct reorder *r, reorder_fn fn, void *ctx)
{
	struct reorder_item top = r->heap[0];

	r->heap[0] = r->heap[--r->n];
	sift_down(r->heap, r->n, 0);
	r->bytes -= top.size;
	fn(ctx, top.rec, top.size);
	free(top.rec);
}

void reorder_push(struct reorder *r, uint64_t ts_ns, const void *rec, size_t size,
		  reorder_fn fn, void *ctx)
{
	struct reorder_item it = { .ts = ts_ns, .arrival = r->arrivals++, .size = size };

	while (r->n && r->bytes + size > r->max_bytes)
		pop(r, fn, ctx);
	if (r->n == r->cap) {
		size_t ncap = r->cap ? 2 * r->cap : 256;
		struct reorder_item *nh = realloc(r->heap, ncap * sizeof(*nh));

		if (!nh)
			goto now;
		r->heap = nh;
		r->cap = ncap;
	}
	it.rec = malloc(size ? size : 1);
	if (!it.rec)
		goto now;
	memcpy(it.rec, rec, size);
	r->heap[r->n] = it;
	sift_up(r->heap, r->n++);
	r->bytes += size;
	return;
now:
	/* No memory to hold it: out of order rather than lost. */
	while (r->n && before(&r->heap[0], &it))
		pop(r, fn, ctx);
	fn(ctx, rec, size);
}

void reorder_release(struct reorder *r, uint64_t horizon_ns, reorder_fn fn, void *ctx)
{
	while (r->n && r->heap[0].ts <= horizon_ns)
		pop(r, fn, ctx);
}

uint64_t reorder_oldest(const struct reorder *r)
{
	return r->n ? r->heap[0].ts : UINT64_MAX;
}

void reorder_free(struct reorder *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->heap[i].rec);
	free(r->heap);
	memset(r, 0, sizeof(*r));
}
