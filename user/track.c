/* track: see track.h. */
#include "track.h"

#include "catrace_record.h"
#include "dbr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct chan {
	char *name;
	size_t len;
	struct dbr_enum_names *enums;  /* from its GR/CTRL_ENUM replies, or NULL */
	uint32_t cid;
	uint32_t sid;
	bool has_sid;
	bool is_search;             /* in circuit->search, not by_cid */
	struct circuit *circ;       /* NULL: a detached copy (scratch) */
	struct chan *lru_prev, *lru_next;
};

struct circuit {
	struct flow_key key;
	struct hmap by_cid;   /* cid -> chan* */
	struct hmap sid_cid;  /* sid -> cid+1 (as a pointer value) */
	struct hmap ioid_cid; /* ioid -> cid+1: one-shot, dropped on reply */
	struct hmap sub_cid;  /* subscription id -> cid+1 */
	struct hmap search;   /* cid -> chan*: searches sent over TCP */
	bool start_seen;      /* its first messages (VERSION, CREATE_CHAN) were seen */
	bool request_gap;     /* the client's stream lost bytes: requests may be missing */
	unsigned closed;      /* channels closed since the last sweep */
	unsigned sweep_wait;  /* id bindings refused before the next sweep */
	struct circuit *lru_prev, *lru_next;
	struct track_client client;
};

struct search_key {
	uint32_t ip;
	uint32_t cid;
	uint16_t port;
	uint16_t pad;
};

struct search_ent {
	char *name;
	size_t len;
	uint64_t serial;
};

struct search_ring_item {
	struct search_key key;
	uint64_t serial;
};

#define ID(v) ((void *)(uintptr_t)((uint64_t)(v) + 1))
#define UNID(p) ((uint32_t)((uintptr_t)(p) - 1))

/* Doubly linked LRU lists (head: most recently used), one for channels,
 * one for circuits: the same four operations on both. */
#define LRU_UNLINK(head, tail, x) do {                                     \
		if ((x)->lru_prev) (x)->lru_prev->lru_next = (x)->lru_next;    \
		else (head) = (x)->lru_next;                                   \
		if ((x)->lru_next) (x)->lru_next->lru_prev = (x)->lru_prev;    \
		else (tail) = (x)->lru_prev;                                   \
		(x)->lru_prev = (x)->lru_next = NULL;                          \
	} while (0)
#define LRU_PUSH(head, tail, x) do {                                       \
		(x)->lru_prev = NULL;                                          \
		(x)->lru_next = (head);                                        \
		if (head) (head)->lru_prev = (x);                              \
		(head) = (x);                                                  \
		if (!(tail)) (tail) = (x);                                     \
	} while (0)
#define LRU_TOUCH(head, tail, x) do {                                      \
		if ((head) != (x)) {                                           \
			LRU_UNLINK(head, tail, x);                             \
			LRU_PUSH(head, tail, x);                               \
		}                                                              \
	} while (0)

void track_init(struct track *t)
{
	memset(t, 0, sizeof(*t));
	hmap_init(&t->circuits, sizeof(struct flow_key));
	hmap_init(&t->searches, sizeof(struct search_key));
}

static void chan_free(struct chan *c)
{
	if (c) {
		free(c->enums);
		free(c->name);
		free(c);
	}
}

/* A channel (or TCP search) leaves its circuit's map: off the LRU list. */
static void chan_unlink(struct track *t, struct chan *ch)
{
	if (!ch->circ)
		return;
	LRU_UNLINK(t->chan_lru, t->chan_lru_tail, ch);
	ch->circ = NULL;
	t->n_chans--;
}

static void free_chan_map(struct track *t, struct hmap *m)
{
	size_t it = 0;
	void *v;

	while (hmap_next(m, &it, NULL, &v)) {
		chan_unlink(t, v);
		chan_free(v);
	}
	hmap_free(m);
}

static void circuit_free(struct track *t, struct circuit *c)
{
	t->channels_open -= hmap_count(&c->by_cid);
	t->n_ids -= hmap_count(&c->ioid_cid) + hmap_count(&c->sub_cid);
	free_chan_map(t, &c->by_cid);
	free_chan_map(t, &c->search);
	hmap_free(&c->sid_cid);
	hmap_free(&c->ioid_cid);
	hmap_free(&c->sub_cid);
	LRU_UNLINK(t->circ_lru, t->circ_lru_tail, c);
	free(c);
}

void track_free(struct track *t)
{
	size_t it = 0;
	void *v;

	while (hmap_next(&t->circuits, &it, NULL, &v))
		circuit_free(t, v);
	hmap_free(&t->circuits);
	t->last = NULL;
	it = 0;
	while (hmap_next(&t->searches, &it, NULL, &v)) {
		struct search_ent *e = v;

		free(e->name);
		free(e);
	}
	hmap_free(&t->searches);
	free(t->ring);
	t->ring = NULL;
	t->ring_cap = t->ring_len = t->ring_head = 0;
	chan_free(t->scratch);
	t->scratch = NULL;
}

void track_circuit_close(struct track *t, const struct flow_key *k)
{
	struct circuit *c = hmap_del(&t->circuits, k);

	if (c == t->last)
		t->last = NULL;
	if (c)
		circuit_free(t, c);
}

static struct circuit *circuit_get(struct track *t, const struct flow_key *k)
{
	struct circuit *c;

	if (t->last && memcmp(&t->last_key, k, sizeof(*k)) == 0)
		return t->last;  /* already the most recently used */
	c = hmap_get(&t->circuits, k);
	if (c) {
		LRU_TOUCH(t->circ_lru, t->circ_lru_tail, c);
		t->last = c;
		t->last_key = *k;
		return c;
	}
	/* Live, circuits end only by the FIN/RST records the kernel sends,
	 * and those can be lost: keep the newest TRACK_CIRCUIT_CAP. */
	while (hmap_count(&t->circuits) >= TRACK_CIRCUIT_CAP && t->circ_lru_tail) {
		t->stats.circuits_evicted++;
		track_circuit_close(t, &t->circ_lru_tail->key);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->key = *k;
	hmap_init(&c->by_cid, 4);
	hmap_init(&c->sid_cid, 4);
	hmap_init(&c->ioid_cid, 4);
	hmap_init(&c->sub_cid, 4);
	hmap_init(&c->search, 4);
	if (!hmap_put(&t->circuits, k, c, NULL)) {
		free(c);
		return NULL;
	}
	LRU_PUSH(t->circ_lru, t->circ_lru_tail, c);
	t->last = c;
	t->last_key = *k;
	return c;
}

struct track_name ca_payload_name(const struct ca_msg *m, bool *terminated)
{
	struct track_name n = { NULL, 0, NULL, NULL, NULL };
	const uint8_t *nul;

	/* A name is what the first REC_META_BYTES hold: all the kernel
	 * copies of one (live shows what `catrace -r` shows), more than the
	 * longest name libca sends. */
	size_t have = m->payload_len < REC_META_BYTES ? m->payload_len : REC_META_BYTES;

	*terminated = false;
	if (!m->payload || have == 0)
		return n;
	nul = memchr(m->payload, 0, have);
	n.name = (const char *)m->payload;
	n.len = nul ? (size_t)(nul - m->payload) : have;
	*terminated = nul != NULL;
	return n;
}

static struct chan *chan_new(const struct track_name *n_in)
{
	struct chan *c = calloc(1, sizeof(*c));
	/* libca accepts names up to CA_MAX_NAME_LEN: a longer "name" is not
	 * one, and must not make every channel cost what its payload does. */
	struct track_name cut = *n_in, *n = &cut;

	if (cut.len > CA_MAX_NAME_LEN)
		cut.len = CA_MAX_NAME_LEN;

	if (!c)
		return NULL;
	c->name = malloc(n->len + 1);
	if (!c->name) {
		free(c);
		return NULL;
	}
	memcpy(c->name, n->name, n->len);
	c->name[n->len] = '\0';
	c->len = n->len;
	return c;
}

static struct track_name chan_name(struct chan *c)
{
	struct track_name n = { NULL, 0, NULL, NULL, NULL };

	if (c) {
		n.name = c->name;
		n.len = c->len;
		n.enums = c->enums;
		n.chan = c;
	}
	return n;
}

void track_set_enums(struct track *t, struct track_name *n, const struct dbr_enum_names *e)
{
	struct chan *c = n->chan;

	(void)t;
	if (!c)
		return;
	if (!c->enums && !(c->enums = malloc(sizeof(*c->enums))))
		return;
	*c->enums = *e;
	n->enums = c->enums;
}

/* A channel in use moves to the front of the LRU list. */
static struct chan *by_cid(struct track *t, struct circuit *c, uint32_t cid)
{
	struct chan *ch = hmap_get_u32(&c->by_cid, cid);

	if (ch)
		LRU_TOUCH(t->chan_lru, t->chan_lru_tail, ch);
	return ch;
}

static struct chan *by_sid(struct track *t, struct circuit *c, uint32_t sid)
{
	void *v = hmap_get_u32(&c->sid_cid, sid);

	return v ? by_cid(t, c, UNID(v)) : NULL;
}

static struct chan *by_idmap(struct track *t, struct circuit *c, struct hmap *m,
			     uint32_t id, bool forget)
{
	void *v = forget ? hmap_del_u32(m, id) : hmap_get_u32(m, id);

	if (v && forget)
		t->n_ids--;
	return v ? by_cid(t, c, UNID(v)) : NULL;
}

/* Forget bindings to channels that are gone (closed without cancelling
 * their subscriptions, or evicted): they can never name anything. */
static void sweep_stale_ids(struct track *t, struct circuit *c, struct hmap *m)
{
	size_t it = 0, n = 0, i;
	uint32_t *dead = malloc(hmap_count(m) * sizeof(*dead));
	const void *k;
	void *v;

	if (!dead)
		return;
	while (hmap_next(m, &it, &k, &v))
		if (!hmap_get_u32(&c->by_cid, UNID(v)))
			memcpy(&dead[n++], k, sizeof(*dead));
	for (i = 0; i < n; i++)
		hmap_del_u32(m, dead[i]);
	t->n_ids -= n;
	free(dead);
}

/* Bind ioid/subid -> the cid of the channel that has this sid. */
static void bind_id(struct track *t, struct circuit *c, struct hmap *m,
		    uint32_t id, uint32_t sid)
{
	void *v = hmap_get_u32(&c->sid_cid, sid), *old = NULL;

	if (!v)
		return;
	/* A client that never gets replies must not grow this forever. */
	if (!hmap_get_u32(m, id) &&
	    (hmap_count(m) >= TRACK_PENDING_CAP || t->n_ids >= TRACK_IDS_CAP)) {
		/* Only closed channels leave stale bindings; a sweep costs a
		 * pass over the map, so not at every refusal. */
		if (c->sweep_wait)
			c->sweep_wait--;
		if (c->closed && !c->sweep_wait) {
			sweep_stale_ids(t, c, &c->ioid_cid);
			sweep_stale_ids(t, c, &c->sub_cid);
			c->closed = 0;
			c->sweep_wait = 1024;
		}
		if (hmap_count(m) >= TRACK_PENDING_CAP || t->n_ids >= TRACK_IDS_CAP) {
			t->stats.ids_untracked++;
			return;
		}
	}
	if (hmap_put_u32(m, id, v, &old) && !old)
		t->n_ids++;
}

static void channel_close(struct track *t, struct circuit *c, uint32_t cid);

/* Room for one more channel: forget the least recently used one. */
static void chan_make_room(struct track *t)
{
	while (t->n_chans >= TRACK_CHAN_CAP && t->chan_lru_tail) {
		struct chan *ch = t->chan_lru_tail;
		struct circuit *c = ch->circ;

		t->stats.chans_evicted++;
		if (ch->is_search) {
			hmap_del_u32(&c->search, ch->cid);
			chan_unlink(t, ch);
			chan_free(ch);
		} else {
			channel_close(t, c, ch->cid);
		}
	}
}

/* A new channel or search enters circuit c's map. */
static void chan_link(struct track *t, struct circuit *c, struct chan *ch)
{
	ch->circ = c;
	LRU_PUSH(t->chan_lru, t->chan_lru_tail, ch);
	t->n_chans++;
}

static void channel_open(struct track *t, struct circuit *c, uint32_t cid,
			 const struct track_name *n)
{
	struct chan *ch, *old = NULL;

	if (!hmap_get_u32(&c->by_cid, cid))
		chan_make_room(t);
	ch = chan_new(n);
	if (!ch)
		return;
	ch->cid = cid;
	if (!hmap_put_u32(&c->by_cid, cid, ch, (void **)&old)) {
		chan_free(ch);
		return;
	}
	chan_link(t, c, ch);
	if (old) {
		if (old->has_sid)
			hmap_del_u32(&c->sid_cid, old->sid);
		chan_unlink(t, old);
		chan_free(old);
	} else {
		t->channels_open++;
	}
}

static void channel_close(struct track *t, struct circuit *c, uint32_t cid)
{
	struct chan *ch = hmap_del_u32(&c->by_cid, cid);

	if (!ch)
		return;
	if (ch->has_sid) {
		void *v = hmap_get_u32(&c->sid_cid, ch->sid);

		if (v && UNID(v) == cid)
			hmap_del_u32(&c->sid_cid, ch->sid);
	}
	chan_unlink(t, ch);
	chan_free(ch);
	t->channels_open--;
	c->closed++;
}

/* The name for the channel an ERROR message is about: its cid if the IOC
 * gave one, else the sid inside the failed request's header. */
static struct chan *error_chan(struct track *t, struct circuit *c,
			       const struct ca_msg *m)
{
	struct chan *ch = by_cid(t, c, m->h.p1);
	struct ca_hdr orig;

	if (ch)
		return ch;
	if (m->payload_len < CA_HDR_LEN ||
	    ca_hdr_parse(m->payload, m->payload_len, &orig) != CA_HDR_OK)
		return NULL;
	switch (orig.cmd) {
	case CA_PROTO_READ:
	case CA_PROTO_READ_NOTIFY:
	case CA_PROTO_WRITE:
	case CA_PROTO_WRITE_NOTIFY:
	case CA_PROTO_EVENT_ADD:
	case CA_PROTO_EVENT_CANCEL:
	case CA_PROTO_CLEAR_CHANNEL:
		return by_sid(t, c, orig.p1);
	case CA_PROTO_CREATE_CHAN:
		return by_cid(t, c, orig.p1);
	default:
		return NULL;
	}
}

/* CLIENT_NAME / HOST_NAME: keep the name (bounded) for the circuit. */
static void client_name_set(char *dst, size_t *dst_len, bool *has,
			    const struct ca_msg *m)
{
	bool term;
	struct track_name n = ca_payload_name(m, &term);

	if (n.len > TRACK_CLIENT_NAME_MAX)
		n.len = TRACK_CLIENT_NAME_MAX;
	if (n.len)
		memcpy(dst, n.name, n.len);
	dst[n.len] = '\0';
	*dst_len = n.len;
	*has = true;
}

const struct track_client *track_client(const struct track *t,
					const struct flow_key *k)
{
	const struct circuit *c = hmap_get(&t->circuits, k);

	return c ? &c->client : NULL;
}

/* A request names a sid no CREATE_CHAN reply gave: the reply was lost.
 * When the client's stream is whole from the circuit's start (every
 * CREATE_CHAN it sent was seen) and exactly one channel still waits for
 * its reply, the sid can only be that channel's. */
static void infer_sid(struct track *t, struct circuit *c, uint32_t sid)
{
	struct chan *waiting = NULL;
	size_t it;
	void *v;

	if (!c->start_seen || c->request_gap || hmap_get_u32(&c->sid_cid, sid))
		return;
	for (it = 0; hmap_next(&c->by_cid, &it, NULL, &v);) {
		struct chan *ch = v;

		if (ch->has_sid)
			continue;
		if (waiting)
			return;  /* two candidates: no telling */
		waiting = ch;
	}
	if (!waiting)
		return;
	waiting->sid = sid;
	waiting->has_sid = true;
	hmap_put_u32(&c->sid_cid, sid, ID(waiting->cid), NULL);
	t->stats.sids_inferred++;
}

/* The requests that name their channel by sid. */
static bool request_has_sid(unsigned cmd)
{
	return cmd == CA_PROTO_READ_NOTIFY || cmd == CA_PROTO_READ || cmd == CA_PROTO_WRITE_NOTIFY ||
	       cmd == CA_PROTO_EVENT_ADD || cmd == CA_PROTO_WRITE || cmd == CA_PROTO_EVENT_CANCEL;
}

static struct track_name track_tcp_request(struct track *t, struct circuit *c,
					   const struct ca_msg *m)
{
	const struct ca_hdr *h = &m->h;
	struct track_name n = { NULL, 0, NULL, NULL, NULL };
	bool term;

	/* The framer flags the first message after bytes went missing. */
	if (m->flags & (CA_MSG_RESYNC | CA_MSG_TRUNCATED))
		c->request_gap = true;
	if (request_has_sid(h->cmd) && !(m->flags & CA_MSG_MALFORMED))
		infer_sid(t, c, h->p1);

	switch (h->cmd) {
	case CA_PROTO_CREATE_CHAN:
		n = ca_payload_name(m, &term);
		if (n.name)
			channel_open(t, c, h->p1, &n);
		return n;
	case CA_PROTO_SEARCH: {
		struct chan *ch, *old = NULL;

		n = ca_payload_name(m, &term);
		if (!n.name)
			return n;
		if (!hmap_get_u32(&c->search, h->p1))
			chan_make_room(t);
		ch = chan_new(&n);
		if (!ch)
			return n;
		ch->cid = h->p1;
		ch->is_search = true;
		if (hmap_put_u32(&c->search, h->p1, ch, (void **)&old)) {
			chan_link(t, c, ch);
			if (old) {
				chan_unlink(t, old);
				chan_free(old);
			}
		} else {
			chan_free(ch);
		}
		return n;
	}
	case CA_PROTO_READ_NOTIFY:
	case CA_PROTO_READ:
	case CA_PROTO_WRITE_NOTIFY:
		bind_id(t, c, &c->ioid_cid, h->p2, h->p1);
		return chan_name(by_sid(t, c, h->p1));
	case CA_PROTO_EVENT_ADD:
		bind_id(t, c, &c->sub_cid, h->p2, h->p1);
		return chan_name(by_sid(t, c, h->p1));
	case CA_PROTO_WRITE:
	case CA_PROTO_EVENT_CANCEL:
		return chan_name(by_sid(t, c, h->p1));
	case CA_PROTO_CLIENT_NAME:
		client_name_set(c->client.user, &c->client.user_len,
				&c->client.has_user, m);
		return n;
	case CA_PROTO_HOST_NAME:
		client_name_set(c->client.host, &c->client.host_len,
				&c->client.has_host, m);
		return n;
	case CA_PROTO_CLEAR_CHANNEL: {
		/* p1 is the sid, p2 the cid; trust whichever is known. */
		struct chan *ch = by_cid(t, c, h->p2);

		return chan_name(ch ? ch : by_sid(t, c, h->p1));
	}
	default:
		return n;
	}
}

static struct track_name track_tcp_response(struct track *t, struct circuit *c,
					    const struct ca_msg *m,
					    struct chan **scratch)
{
	const struct ca_hdr *h = &m->h;
	struct track_name n = { NULL, 0, NULL, NULL, NULL };
	struct chan *ch;

	switch (h->cmd) {
	case CA_PROTO_CREATE_CHAN:
		ch = by_cid(t, c, h->p1);
		if (ch) {
			if (ch->has_sid)
				hmap_del_u32(&c->sid_cid, ch->sid);
			ch->sid = h->p2;
			ch->has_sid = true;
			hmap_put_u32(&c->sid_cid, h->p2, ID(h->p1), NULL);
		}
		return chan_name(ch);
	case CA_PROTO_ACCESS_RIGHTS:
		return chan_name(by_cid(t, c, h->p1));
	case CA_PROTO_READ_NOTIFY:
	case CA_PROTO_READ:
	case CA_PROTO_WRITE_NOTIFY:
		return chan_name(by_idmap(t, c, &c->ioid_cid, h->p2, true));
	case CA_PROTO_EVENT_ADD:
		/* An empty EVENT_ADD confirms a cancel: the id is done. */
		return chan_name(by_idmap(t, c, &c->sub_cid, h->p2,
					  ca_is_cancel_confirm(h, m->dir)));
	case CA_PROTO_SEARCH:
	case CA_PROTO_NOT_FOUND:
		ch = hmap_del_u32(&c->search, h->p2);
		if (ch)
			chan_unlink(t, ch);
		/* Hand the name out, then free it after the caller is done. */
		*scratch = ch;
		return chan_name(ch);
	case CA_PROTO_ERROR:
		return chan_name(error_chan(t, c, m));
	case CA_PROTO_CLEAR_CHANNEL:
	case CA_PROTO_SERVER_DISCONN:
	case CA_PROTO_CREATE_CH_FAIL: {
		uint32_t cid = h->cmd == CA_PROTO_CLEAR_CHANNEL ? h->p2 : h->p1;

		ch = by_cid(t, c, cid);
		if (!ch && h->cmd == CA_PROTO_CLEAR_CHANNEL)
			ch = by_sid(t, c, h->p1);
		if (ch) {
			/* Detach it so the name outlives the close. */
			struct chan *copy = chan_new(&(struct track_name){ ch->name, ch->len, NULL, NULL, NULL });

			/* Found by sid when the cid was unknown: close that one. */
			channel_close(t, c, ch->cid);
			*scratch = copy;
			return chan_name(copy);
		}
		return n;
	}
	default:
		return n;
	}
}

/* Double the ring (up to TRACK_SEARCH_CAP), oldest item first: most
 * captures hold a few hundred searches, not the 6 MiB a full ring takes. */
static bool search_ring_grow(struct track *t)
{
	size_t ncap = t->ring_cap ? t->ring_cap * 2 : TRACK_SEARCH_RING_MIN, i;
	struct search_ring_item *nr;

	if (ncap > TRACK_SEARCH_CAP)
		ncap = TRACK_SEARCH_CAP;
	nr = malloc(ncap * sizeof(*nr));
	if (!nr)
		return false;
	for (i = 0; i < t->ring_len; i++)
		nr[i] = t->ring[(t->ring_head + i) % t->ring_cap];
	free(t->ring);
	t->ring = nr;
	t->ring_cap = ncap;
	t->ring_head = 0;
	return true;
}

/* UDP searches: remember (client, cid) -> name, bounded FIFO. */
static void search_remember(struct track *t, const struct search_key *k,
			    const struct track_name *n)
{
	struct search_ent *e = hmap_get(&t->searches, k);
	struct search_ring_item *it;

	if (t->ring_len == t->ring_cap && t->ring_cap < TRACK_SEARCH_CAP &&
	    !search_ring_grow(t) && !t->ring_cap)
		return;
	if (t->ring_len == t->ring_cap) {
		/* Forget the oldest, unless it was refreshed since. */
		struct search_ring_item *old = &t->ring[t->ring_head];
		struct search_ent *oe = hmap_get(&t->searches, &old->key);

		if (oe && oe->serial == old->serial) {
			hmap_del(&t->searches, &old->key);
			free(oe->name);
			free(oe);
			if (oe == e)
				e = NULL;
			t->stats.searches_forgotten++;
		}
		t->ring_head = (t->ring_head + 1) % t->ring_cap;
		t->ring_len--;
	}
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		if (!hmap_put(&t->searches, k, e, NULL)) {
			free(e);
			return;
		}
	}
	if (n->len > CA_MAX_NAME_LEN)
		return;  /* not a name libca would send: not remembered */
	if (e->len != n->len || !e->name || memcmp(e->name, n->name, n->len)) {
		char *nm = malloc(n->len + 1);

		if (!nm)
			return;
		memcpy(nm, n->name, n->len);
		nm[n->len] = '\0';
		free(e->name);
		e->name = nm;
		e->len = n->len;
	}
	e->serial = ++t->serial;
	it = &t->ring[(t->ring_head + t->ring_len) % t->ring_cap];
	it->key = *k;
	it->serial = e->serial;
	t->ring_len++;
}

static struct track_name track_udp(struct track *t, const struct flow_key *k,
				   const struct ca_msg *m)
{
	struct track_name n = { NULL, 0, NULL, NULL, NULL };
	struct search_key sk;
	bool term;

	if (m->h.cmd != CA_PROTO_SEARCH && m->h.cmd != CA_PROTO_NOT_FOUND)
		return n;
	memset(&sk, 0, sizeof(sk));
	sk.ip = k->cli_ip;
	sk.port = k->cli_port;
	if (m->dir == CA_DIR_REQUEST) {
		if (m->h.cmd != CA_PROTO_SEARCH)
			return n;
		n = ca_payload_name(m, &term);
		sk.cid = m->h.p1;
		if (n.name)
			search_remember(t, &sk, &n);
		return n;
	}
	sk.cid = m->h.p2;
	{
		struct search_ent *e = hmap_get(&t->searches, &sk);

		if (e) {
			n.name = e->name;
			n.len = e->len;
		}
	}
	return n;
}

/* Whether this message is about a channel, so that a missing name needs
 * a reason. */
static bool names_a_channel(const struct ca_msg *m)
{
	switch (m->h.cmd) {
	case CA_PROTO_READ:
	case CA_PROTO_READ_NOTIFY:
	case CA_PROTO_WRITE:
	case CA_PROTO_WRITE_NOTIFY:
	case CA_PROTO_EVENT_ADD:
	case CA_PROTO_EVENT_CANCEL:
	case CA_PROTO_CLEAR_CHANNEL:
	case CA_PROTO_ACCESS_RIGHTS:
	case CA_PROTO_SERVER_DISCONN:
	case CA_PROTO_CREATE_CH_FAIL:
		return true;
	case CA_PROTO_ERROR:
		/* The server gives the channel's cid, or ~0 for none. */
		return m->h.p1 != UINT32_MAX;
	case CA_PROTO_CREATE_CHAN:
	case CA_PROTO_SEARCH:
	case CA_PROTO_NOT_FOUND:
		return m->dir == CA_DIR_RESPONSE;  /* requests carry the name */
	default:
		return false;
	}
}

struct track_name track_msg(struct track *t, const struct flow_key *k,
			    const struct ca_msg *m)
{
	struct track_name n = { NULL, 0, NULL, NULL, NULL };
	struct circuit *c;

	chan_free(t->scratch);
	t->scratch = NULL;
	if (!m->tcp) {
		n = track_udp(t, k, m);
		if (!n.name && names_a_channel(m))
			n.why = TRACK_WHY_SEARCH;
		return n;
	}
	if (m->h.hdr_len < CA_HDR_LEN)
		return n;  /* a partial header names nothing */
	c = circuit_get(t, k);
	if (!c)
		return n;
	/* libca opens a circuit with VERSION, then creates its channels. */
	if (!c->start_seen && m->dir == CA_DIR_REQUEST &&
	    (m->h.cmd == CA_PROTO_VERSION || m->h.cmd == CA_PROTO_CREATE_CHAN))
		c->start_seen = true;
	if (m->dir == CA_DIR_REQUEST)
		n = track_tcp_request(t, c, m);
	else
		n = track_tcp_response(t, c, m, (struct chan **)&t->scratch);
	if (!n.name && names_a_channel(m))
		n.why = c->start_seen ? TRACK_WHY_CHANNEL : TRACK_WHY_CIRCUIT;
	return n;
}

void track_export(const struct track *t, const struct track_export_fns *fns)
{
	size_t it = 0, jt;
	const void *k;
	void *v, *cv;

	while (hmap_next(&t->circuits, &it, NULL, &v)) {
		const struct circuit *c = v;

		jt = 0;
		while (hmap_next(&c->by_cid, &jt, NULL, &cv)) {
			const struct chan *ch = cv;
			struct track_saved_chan sc = {
				.key = c->key, .cid = ch->cid, .sid = ch->sid,
				.has_sid = ch->has_sid, .name = ch->name, .len = ch->len,
			};

			if (fns->chan)
				fns->chan(fns->ctx, &sc);
		}
		jt = 0;
		while (hmap_next(&c->sub_cid, &jt, &k, &cv)) {
			struct track_saved_sub ss = { .key = c->key, .cid = UNID(cv) };

			memcpy(&ss.subid, k, sizeof(ss.subid));
			/* Only subscriptions whose channel is still there name anything. */
			if (fns->sub && hmap_get_u32(&c->by_cid, ss.cid))
				fns->sub(fns->ctx, &ss);
		}
	}
}

bool track_import_chan(struct track *t, const struct track_saved_chan *sc)
{
	struct track_name n = { sc->name, sc->len, NULL, NULL, NULL };
	struct circuit *c = circuit_get(t, &sc->key);
	struct chan *ch;

	if (!c || !sc->len)
		return false;
	channel_open(t, c, sc->cid, &n);
	ch = hmap_get_u32(&c->by_cid, sc->cid);
	if (!ch)
		return false;
	if (sc->has_sid) {
		ch->sid = sc->sid;
		ch->has_sid = true;
		hmap_put_u32(&c->sid_cid, sc->sid, ID(sc->cid), NULL);
	}
	return true;
}

bool track_import_sub(struct track *t, const struct track_saved_sub *ss)
{
	struct circuit *c = circuit_get(t, &ss->key);
	struct chan *ch;
	void *old = NULL;

	if (!c || !(ch = hmap_get_u32(&c->by_cid, ss->cid)) || !ch->has_sid)
		return false;
	if (hmap_count(&c->sub_cid) >= TRACK_PENDING_CAP || t->n_ids >= TRACK_IDS_CAP)
		return false;
	if (!hmap_put_u32(&c->sub_cid, ss->subid, ID(ss->cid), &old))
		return false;
	if (!old)
		t->n_ids++;
	return true;
}
