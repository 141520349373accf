/* endpoints: top's clients, one per socket; see endpoints.h. */
#include "endpoints.h"

#include <stdlib.h>
#include <string.h>

struct endpoint_key {
	uint32_t ip;
	uint16_t port;
	uint8_t tcp;
	uint8_t pad;
};

void endpoints_init(struct endpoints *e)
{
	memset(e, 0, sizeof(*e));
	hmap_init(&e->map, sizeof(struct endpoint_key));
}

void endpoints_free(struct endpoints *e)
{
	size_t it;
	void *v;

	for (it = 0; hmap_next(&e->map, &it, NULL, &v);)
		free(v);
	hmap_free(&e->map);
}

static void forget(struct endpoints *e, struct endpoint *ep)
{
	struct endpoint_key k = { ep->ip, ep->port, ep->tcp, 0 };

	hmap_del(&e->map, &k);
	free(ep);
	e->forgotten++;
}

struct older_than {
	struct endpoints *e;
	uint64_t before;
};

static bool heard_before(const void *v, void *ctx)
{
	return ((const struct endpoint *)v)->last_ns < ((struct older_than *)ctx)->before;
}

static void forget_cb(void *v, void *ctx)
{
	forget(((struct older_than *)ctx)->e, v);
}

/* Forget every endpoint last heard before `before`. */
static void forget_older(struct endpoints *e, uint64_t before)
{
	struct older_than o = { e, before };

	hmap_forget_if(&e->map, heard_before, forget_cb, &o);
}

void endpoints_expire(struct endpoints *e, uint64_t now_ns)
{
	if (now_ns > ENDPOINTS_IDLE_NS)
		forget_older(e, now_ns - ENDPOINTS_IDLE_NS);
}

static int by_time(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The table is full: forget the least recently heard eighth. */
static void make_room(struct endpoints *e)
{
	size_t n = hmap_count(&e->map), it, i = 0;
	uint64_t *times = malloc(n * sizeof(*times));
	void *v;

	if (!times)
		return;
	for (it = 0; i < n && hmap_next(&e->map, &it, NULL, &v);)
		times[i++] = ((struct endpoint *)v)->last_ns;
	qsort(times, i, sizeof(*times), by_time);
	/* One past the newest time to forget; ties go together. */
	forget_older(e, times[i / 8] + 1);
	free(times);
}

static struct endpoint *endpoint_for(struct endpoints *e, const struct endpoint_seen *s)
{
	struct endpoint_key k = { s->ip, s->port, s->tcp, 0 };
	struct endpoint *ep = hmap_get(&e->map, &k);

	if (ep)
		return ep;
	if (hmap_count(&e->map) >= ENDPOINTS_MAX)
		make_room(e);
	if (hmap_count(&e->map) >= ENDPOINTS_MAX)
		return NULL;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return NULL;
	ep->ip = s->ip;
	ep->port = s->port;
	ep->tcp = s->tcp;
	if (!hmap_put(&e->map, &k, ep, NULL)) {
		free(ep);
		return NULL;
	}
	return ep;
}

bool endpoints_seen(struct endpoints *e, const struct endpoint_seen *s)
{
	struct endpoint *ep = endpoint_for(e, s);

	if (!ep)
		return false;
	if (s->update) {
		ep->updates++;
		window_add(&ep->win, s->ts_ns, ENDPOINT_LANE_UPDATES);
	} else {
		ep->requests++;
		window_add(&ep->win, s->ts_ns, ENDPOINT_LANE_REQUESTS);
	}
	if (s->search) {
		ep->searches++;
		window_add(&ep->win, s->ts_ns, ENDPOINT_LANE_SEARCHES);
	}
	if (s->ts_ns > ep->last_ns)
		ep->last_ns = s->ts_ns;
	if (s->user && s->user_len) {
		size_t n = s->user_len < ENDPOINT_USER_MAX ? s->user_len : ENDPOINT_USER_MAX;

		memcpy(ep->user, s->user, n);
		ep->user[n] = 0;
	}
	if (s->pid > 0 && s->comm) {
		ep->pid = s->pid;
		strncpy(ep->comm, s->comm, sizeof(ep->comm) - 1);
		ep->comm[sizeof(ep->comm) - 1] = 0;
	}
	return true;
}

const struct endpoint **endpoints_sorted(const struct endpoints *e, size_t *n,
					 int (*cmp)(const void *, const void *))
{
	const struct endpoint **a;
	size_t it, i = 0;
	void *v;

	*n = hmap_count(&e->map);
	if (!*n)
		return NULL;
	a = malloc(*n * sizeof(*a));
	if (!a) {
		*n = 0;
		return NULL;
	}
	for (it = 0; i < *n && hmap_next(&e->map, &it, NULL, &v);)
		a[i++] = v;
	*n = i;
	qsort(a, i, sizeof(*a), cmp);
	return a;
}
