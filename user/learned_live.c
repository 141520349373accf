/* learned_live: see learned_live.h. */
#include "learned_live.h"

#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "catrace_record.h"

/* Walk the map's entries, at most max_entries of them: an LRU map can
 * drop the key held mid-walk, and the kernel then starts again. */
typedef void (*entry_fn)(void *ctx, int fd, const struct ep_key *k,
			 struct learned_server *v);

static int walk(int fd, entry_fn fn, void *ctx)
{
	struct ep_key key, next;
	struct learned_server v;
	const void *prev = NULL;
	long n = 0;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	while (n++ < 65536 && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v) == 0)
			fn(ctx, fd, &key, &v);
	}
	return 0;
}

static void count_one(void *ctx, int fd, const struct ep_key *k, struct learned_server *v)
{
	struct learned_count *c = ctx;

	(void)fd;
	(void)k;
	c->known++;
	if (v->confirmed)
		c->confirmed++;
}

int learned_live_count(int servers_fd, struct learned_count *out)
{
	memset(out, 0, sizeof(*out));
	return walk(servers_fd, count_one, out);
}

struct confirm_ctx {
	learned_check_fn check;
	void *ctx;
	unsigned confirmed;
};

static void confirm_one(void *ctx, int fd, const struct ep_key *k, struct learned_server *v)
{
	struct confirm_ctx *c = ctx;

	if (v->confirmed || !c->check(c->ctx, k->ip, k->port))
		return;
	v->confirmed = 1;
	/* BPF_EXIST: an entry that expired meanwhile stays gone. */
	if (bpf_map_update_elem(fd, k, v, BPF_EXIST) == 0)
		c->confirmed++;
}

unsigned learned_live_confirm(int servers_fd, learned_check_fn is_ca_server, void *ctx)
{
	struct confirm_ctx c = { is_ca_server, ctx, 0 };

	walk(servers_fd, confirm_one, &c);
	return c.confirmed;
}

/* Keys are deleted after the walk: deleting the key the walk holds would
 * start it again from the first. */
#define EXPIRE_BATCH 1024

struct expire_ctx {
	uint64_t ttl_ns, now_ns;
	struct ep_key keys[EXPIRE_BATCH];
	unsigned n;
};

static void expire_one(void *ctx, int fd, const struct ep_key *k, struct learned_server *v)
{
	struct expire_ctx *c = ctx;

	(void)fd;
	if (v->confirmed || c->now_ns < v->seen_ns || c->now_ns - v->seen_ns <= c->ttl_ns ||
	    c->n >= EXPIRE_BATCH)
		return;
	c->keys[c->n++] = *k;
}

unsigned learned_live_expire(int servers_fd, uint64_t ttl_ns, uint64_t now_ns)
{
	static struct expire_ctx c;
	unsigned i, expired = 0;

	if (!ttl_ns)
		return 0;
	c.ttl_ns = ttl_ns;
	c.now_ns = now_ns;
	c.n = 0;
	walk(servers_fd, expire_one, &c);
	for (i = 0; i < c.n; i++)
		if (bpf_map_delete_elem(servers_fd, &c.keys[i]) == 0)
			expired++;
	return expired;
}
