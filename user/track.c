/* track: see track.h. */
#include "track.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct chan {
	char *name;
	size_t len;
	uint32_t cid;
	uint32_t sid;
	bool has_sid;
};

struct circuit {
	struct hmap by_cid;   /* cid -> chan* */
	struct hmap sid_cid;  /* sid -> cid+1 (as a pointer value) */
	struct hmap ioid_cid; /* ioid -> cid+1: one-shot, dropped on reply */
	struct hmap sub_cid;  /* subscription id -> cid+1 */
	struct hmap search;   /* cid -> chan*: searches sent over TCP */
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

void track_init(struct track *t)
{
	memset(t, 0, sizeof(*t));
	hmap_init(&t->circuits, sizeof(struct flow_key));
	hmap_init(&t->searches, sizeof(struct search_key));
}

static void chan_free(struct chan *c)
{
	if (c) {
		free(c->name);
		free(c);
	}
}

static void free_chan_map(struct hmap *m)
{
	size_t it = 0;
	void *v;

	while (hmap_next(m, &it, NULL, &v))
		chan_free(v);
	hmap_free(m);
}

static void circuit_free(struct track *t, struct circuit *c)
{
	t->channels_open -= hmap_count(&c->by_cid);
	free_chan_map(&c->by_cid);
	free_chan_map(&c->search);
	hmap_free(&c->sid_cid);
	hmap_free(&c->ioid_cid);
	hmap_free(&c->sub_cid);
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
		return t->last;
	c = hmap_get(&t->circuits, k);
	if (c) {
		t->last = c;
		t->last_key = *k;
		return c;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	hmap_init(&c->by_cid, 4);
	hmap_init(&c->sid_cid, 4);
	hmap_init(&c->ioid_cid, 4);
	hmap_init(&c->sub_cid, 4);
	hmap_init(&c->search, 4);
	if (!hmap_put(&t->circuits, k, c, NULL)) {
		free(c);
		return NULL;
	}
	t->last = c;
	t->last_key = *k;
	return c;
}

struct track_name ca_payload_name(const struct ca_msg *m, bool *terminated)
{
	struct track_name n = { NULL, 0 };
	const uint8_t *nul;

	*terminated = false;
	if (!m->payload || m->payload_len == 0)
		return n;
	nul = memchr(m->payload, 0, m->payload_len);
	n.name = (const char *)m->payload;
	n.len = nul ? (size_t)(nul - m->payload) : m->payload_len;
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

static struct track_name chan_name(const struct chan *c)
{
	struct track_name n = { NULL, 0 };

	if (c) {
		n.name = c->name;
		n.len = c->len;
	}
	return n;
}

static struct chan *by_cid(struct circuit *c, uint32_t cid)
{
	return hmap_get_u32(&c->by_cid, cid);
}

static struct chan *by_sid(struct circuit *c, uint32_t sid)
{
	void *v = hmap_get_u32(&c->sid_cid, sid);

	return v ? by_cid(c, UNID(v)) : NULL;
}

static struct chan *by_idmap(struct circuit *c, struct hmap *m, uint32_t id,
			     bool forget)
{
	void *v = forget ? hmap_del_u32(m, id) : hmap_get_u32(m, id);

	return v ? by_cid(c, UNID(v)) : NULL;
}

/* Bind ioid/subid -> the cid of the channel that has this sid. */
static void bind_id(struct circuit *c, struct hmap *m, uint32_t id, uint32_t sid)
{
	void *v = hmap_get_u32(&c->sid_cid, sid);

	if (!v)
		return;
	/* A client that never gets replies must not grow this forever. */
	if (hmap_count(m) >= TRACK_PENDING_CAP)
		return;
	hmap_put_u32(m, id, v, NULL);
}

static void channel_open(struct track *t, struct circuit *c, uint32_t cid,
			 const struct track_name *n)
{
	struct chan *ch = chan_new(n), *old = NULL;

	if (!ch)
		return;
	ch->cid = cid;
	if (!hmap_put_u32(&c->by_cid, cid, ch, (void **)&old)) {
		chan_free(ch);
		return;
	}
	if (old) {
		if (old->has_sid)
			hmap_del_u32(&c->sid_cid, old->sid);
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
	chan_free(ch);
	t->channels_open--;
}

/* The name for the channel an ERROR message is about: its cid if the IOC
 * gave one, else the sid inside the failed request's header. */
static struct chan *error_chan(struct circuit *c, const struct ca_msg *m)
{
	struct chan *ch = by_cid(c, m->h.p1);
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
		return by_sid(c, orig.p1);
	case CA_PROTO_CREATE_CHAN:
		return by_cid(c, orig.p1);
	default:
		return NULL;
	}
}

static struct track_name track_tcp_request(struct track *t, struct circuit *c,
					   const struct ca_msg *m)
{
	const struct ca_hdr *h = &m->h;
	struct track_name n = { NULL, 0 };
	bool term;

	switch (h->cmd) {
	case CA_PROTO_CREATE_CHAN:
		n = ca_payload_name(m, &term);
		if (n.name)
			channel_open(t, c, h->p1, &n);
		return n;
	case CA_PROTO_SEARCH: {
		struct chan *ch, *old = NULL;

		n = ca_payload_name(m, &term);
		if (n.name && (ch = chan_new(&n)) != NULL) {
			if (hmap_put_u32(&c->search, h->p1, ch, (void **)&old))
				chan_free(old);
			else
				chan_free(ch);
		}
		return n;
	}
	case CA_PROTO_READ_NOTIFY:
	case CA_PROTO_READ:
	case CA_PROTO_WRITE_NOTIFY:
		bind_id(c, &c->ioid_cid, h->p2, h->p1);
		return chan_name(by_sid(c, h->p1));
	case CA_PROTO_EVENT_ADD:
		bind_id(c, &c->sub_cid, h->p2, h->p1);
		return chan_name(by_sid(c, h->p1));
	case CA_PROTO_WRITE:
	case CA_PROTO_EVENT_CANCEL:
		return chan_name(by_sid(c, h->p1));
	case CA_PROTO_CLEAR_CHANNEL: {
		/* p1 is the sid, p2 the cid; trust whichever is known. */
		struct chan *ch = by_cid(c, h->p2);

		return chan_name(ch ? ch : by_sid(c, h->p1));
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
	struct track_name n = { NULL, 0 };
	struct chan *ch;

	switch (h->cmd) {
	case CA_PROTO_CREATE_CHAN:
		ch = by_cid(c, h->p1);
		if (ch) {
			if (ch->has_sid)
				hmap_del_u32(&c->sid_cid, ch->sid);
			ch->sid = h->p2;
			ch->has_sid = true;
			hmap_put_u32(&c->sid_cid, h->p2, ID(h->p1), NULL);
		}
		return chan_name(ch);
	case CA_PROTO_ACCESS_RIGHTS:
		return chan_name(by_cid(c, h->p1));
	case CA_PROTO_READ_NOTIFY:
	case CA_PROTO_READ:
	case CA_PROTO_WRITE_NOTIFY:
		return chan_name(by_idmap(c, &c->ioid_cid, h->p2, true));
	case CA_PROTO_EVENT_ADD:
		/* An empty EVENT_ADD confirms a cancel: the id is done. */
		return chan_name(by_idmap(c, &c->sub_cid, h->p2,
					  ca_is_cancel_confirm(h, m->dir)));
	case CA_PROTO_SEARCH:
	case CA_PROTO_NOT_FOUND:
		ch = hmap_del_u32(&c->search, h->p2);
		/* Hand the name out, then free it after the caller is done. */
		*scratch = ch;
		return chan_name(ch);
	case CA_PROTO_ERROR:
		return chan_name(error_chan(c, m));
	case CA_PROTO_CLEAR_CHANNEL:
	case CA_PROTO_SERVER_DISCONN:
	case CA_PROTO_CREATE_CH_FAIL: {
		uint32_t cid = h->cmd == CA_PROTO_CLEAR_CHANNEL ? h->p2 : h->p1;

		ch = by_cid(c, cid);
		if (!ch && h->cmd == CA_PROTO_CLEAR_CHANNEL)
			ch = by_sid(c, h->p1);
		if (ch) {
			/* Detach it so the name outlives the close. */
			struct chan *copy = chan_new(&(struct track_name){ ch->name, ch->len });

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

/* UDP searches: remember (client, cid) -> name, bounded FIFO. */
static void search_remember(struct track *t, const struct search_key *k,
			    const struct track_name *n)
{
	struct search_ent *e = hmap_get(&t->searches, k);
	struct search_ring_item *it;

	if (!t->ring) {
		t->ring = calloc(TRACK_SEARCH_CAP, sizeof(*t->ring));
		if (!t->ring)
			return;
	}
	if (t->ring_len == TRACK_SEARCH_CAP) {
		/* Forget the oldest, unless it was refreshed since. */
		struct search_ring_item *old = &t->ring[t->ring_head];
		struct search_ent *oe = hmap_get(&t->searches, &old->key);

		if (oe && oe->serial == old->serial) {
			hmap_del(&t->searches, &old->key);
			free(oe->name);
			free(oe);
			if (oe == e)
				e = NULL;
		}
		t->ring_head = (t->ring_head + 1) % TRACK_SEARCH_CAP;
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
	it = &t->ring[(t->ring_head + t->ring_len) % TRACK_SEARCH_CAP];
	it->key = *k;
	it->serial = e->serial;
	t->ring_len++;
}

static struct track_name track_udp(struct track *t, const struct flow_key *k,
				   const struct ca_msg *m)
{
	struct track_name n = { NULL, 0 };
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

struct track_name track_msg(struct track *t, const struct flow_key *k,
			    const struct ca_msg *m)
{
	struct track_name none = { NULL, 0 };
	struct circuit *c;

	chan_free(t->scratch);
	t->scratch = NULL;
	if (!m->tcp)
		return track_udp(t, k, m);
	if (m->h.hdr_len < CA_HDR_LEN)
		return none;  /* a partial header names nothing */
	c = circuit_get(t, k);
	if (!c)
		return none;
	if (m->dir == CA_DIR_REQUEST)
		return track_tcp_request(t, c, m);
	return track_tcp_response(t, c, m, (struct chan **)&t->scratch);
}
