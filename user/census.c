/* census: counts and gauges over decoded CA messages; see census.h. */
#include "census.h"

#include "procattr.h"
#include "track.h"

#include <stdlib.h>
#include <string.h>

/* From 10 us: a read on a LAN takes 50-300 us, and p50/p99 must fall in
 * different buckets, not all in the first. */
const double census_bucket_le[CENSUS_BUCKETS] = {
	0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* How often expiry and rates are brought up to date. */
#define SWEEP_NS 1000000000ull

/* Beacon rules (doc/ca-protocol.md, "Beacon anomalies", as casw and libca
 * apply them). */
#define EMA_WEIGHT 0.125
#define MISSED_RATIO 1.25
#define GAP_RATIO 3.25
#define EARLY_RATIO 0.80
/* Ids that advance by 0, 2 or 3, or fall back less than this, come from a
 * duplicate route or an input queue overrun, not from a new sequence. */
#define SEQ_BACK_WINDOW 256u
/* A restarted server counts its beacons from 0 again. */
#define SEQ_FRESH 4u

struct server_key {
	uint32_t ip;
	uint16_t port;
	uint16_t pad;
};

struct census_circuit {
	struct census_server *srv;
	uint64_t channels;
};

/* A request waiting for its reply. */
struct pending {
	uint64_t sent_ns;          /* the latest request */
	uint64_t sends;            /* searches: requests since the last reply */
	/* The server that will answer (no pointer: an idle server may be
	 * forgotten while a request waits); none for searches. */
	uint32_t srv_ip;
	uint16_t srv_port;
	bool has_srv;
	char *pv;                  /* searches: the name asked for */
	size_t pv_len;
};

/* Searches are keyed by the asking socket and the channel id; circuit
 * requests by the circuit and the id. */
struct search_key {
	uint32_t cli_ip;
	uint16_t cli_port;
	uint16_t pad;
	uint32_t cid;
};

struct req_key {
	struct flow_key circuit;
	uint32_t id;
};

_Static_assert(sizeof(struct req_key) <= HMAP_KEY_MAX, "request key too long");

const char *census_event_name(enum census_event_kind k)
{
	static const char *const names[CENSUS_EV_KINDS] = {
		[CENSUS_EV_APPEARED] = "appeared",
		[CENSUS_EV_RESTARTED] = "restarted",
		[CENSUS_EV_RESUMED] = "resumed",
		[CENSUS_EV_MISSED] = "missed",
		[CENSUS_EV_EARLY] = "early",
	};

	return (unsigned)k < CENSUS_EV_KINDS ? names[k] : "unknown";
}

void census_init(struct census *c, unsigned pv_limit)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	if (pv_limit > CENSUS_PV_LIMIT_MAX)
		pv_limit = CENSUS_PV_LIMIT_MAX;
	c->pv_limit = pv_limit;
	hmap_init(&c->servers, sizeof(struct server_key));
	hmap_init(&c->circuits, sizeof(struct flow_key));
	hmap_init(&c->pvs, sizeof(uint64_t));
	hmap_init(&c->clients, sizeof(uint32_t));
	endpoints_init(&c->endpoints);
	hmap_init(&c->pending[CENSUS_REQ_SEARCH], sizeof(struct search_key));
	for (i = CENSUS_REQ_CREATE_CHAN; i < CENSUS_REQ_KINDS; i++)
		hmap_init(&c->pending[i], sizeof(struct req_key));
}

static void pending_free(struct pending *p)
{
	free(p->pv);
	free(p);
}

void census_free(struct census *c)
{
	size_t it;
	const void *k;
	void *v;
	unsigned i;

	for (it = 0; hmap_next(&c->servers, &it, &k, &v);)
		free(v);
	for (it = 0; hmap_next(&c->circuits, &it, &k, &v);)
		free(v);
	for (it = 0; hmap_next(&c->clients, &it, &k, &v);)
		free(v);
	hmap_free(&c->clients);
	endpoints_free(&c->endpoints);
	for (i = 0; i < c->n_pvs; i++) {
		free(c->heap[i]->name);
		free(c->heap[i]);
	}
	free(c->heap);
	for (i = 0; i < CENSUS_REQ_KINDS; i++) {
		for (it = 0; hmap_next(&c->pending[i], &it, &k, &v);)
			pending_free(v);
		hmap_free(&c->pending[i]);
	}
	hmap_free(&c->servers);
	hmap_free(&c->circuits);
	hmap_free(&c->pvs);
	memset(c, 0, sizeof(*c));
}

/* ---- servers ---- */

struct census_server *census_server_get(const struct census *c, uint32_t ip,
					uint16_t port)
{
	struct server_key k = { ip, port, 0 };

	return hmap_get(&c->servers, &k);
}

static void server_forget(struct census *c, struct census_server *s)
{
	struct server_key k = { s->ip, s->port, 0 };

	hmap_del(&c->servers, &k);
	free(s);
	c->servers_forgotten++;
}

/* The table is full: forget the server heard from least recently among
 * those with no open circuit (circuits point at theirs). False when every
 * one has circuits. */
static bool server_evict_idlest(struct census *c)
{
	struct census_server *idlest = NULL;
	size_t it;
	void *v;

	for (it = 0; hmap_next(&c->servers, &it, NULL, &v);) {
		struct census_server *s = v;

		if (!s->circuits && (!idlest || s->last_seen_ns < idlest->last_seen_ns))
			idlest = s;
	}
	if (!idlest)
		return false;
	server_forget(c, idlest);
	return true;
}

static bool server_idle(const void *v, void *ctx)
{
	const struct census_server *s = v;
	const struct census *c = ctx;

	return !s->circuits && s->last_seen_ns < c->now_ns - CENSUS_SERVER_IDLE_NS;
}

static void server_forget_cb(void *v, void *ctx)
{
	server_forget(ctx, v);
}

/* Servers with no circuit, silent for CENSUS_SERVER_IDLE_NS. */
static void servers_expire(struct census *c)
{
	if (c->now_ns < CENSUS_SERVER_IDLE_NS)
		return;
	hmap_forget_if(&c->servers, server_idle, server_forget_cb, c);
}

/* The server's entry, made on first sight (forgetting the idlest when
 * the table is full); NULL when every slot has circuits. */
static struct census_server *server_for(struct census *c, uint32_t ip,
					uint16_t port)
{
	struct server_key k = { ip, port, 0 };
	struct census_server *s = hmap_get(&c->servers, &k);

	if (s) {
		s->last_seen_ns = c->now_ns;
		return s;
	}
	if (hmap_count(&c->servers) >= CENSUS_SERVERS_MAX && !server_evict_idlest(c)) {
		c->servers_untracked++;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ip = ip;
	s->port = port;
	s->last_seen_ns = c->now_ns;
	if (!hmap_put(&c->servers, &k, s, NULL)) {
		free(s);
		return NULL;
	}
	return s;
}

static void hist_observe(struct census_hist *h, double seconds)
{
	unsigned i = 0;

	while (i < CENSUS_BUCKETS && seconds > census_bucket_le[i])
		i++;
	h->buckets[i]++;
	h->count++;
	h->sum += seconds;
}

/* ---- circuits ---- */

static struct census_circuit *circuit_for(struct census *c, const struct flow_key *k)
{
	struct census_circuit *cc = hmap_get(&c->circuits, k);

	if (cc)
		return cc;
	if (hmap_count(&c->circuits) >= CENSUS_CIRCUITS_MAX) {
		c->circuits_untracked++;
		return NULL;
	}
	cc = calloc(1, sizeof(*cc));
	if (!cc)
		return NULL;
	cc->srv = server_for(c, k->srv_ip, k->srv_port);
	if (!hmap_put(&c->circuits, k, cc, NULL)) {
		free(cc);
		return NULL;
	}
	if (cc->srv)
		cc->srv->circuits++;
	return cc;
}

void census_circuit_close(struct census *c, const struct flow_key *k)
{
	struct census_circuit *cc = hmap_del(&c->circuits, k);

	if (!cc)
		return;
	if (cc->srv) {
		cc->srv->last_seen_ns = c->now_ns;
		cc->srv->circuits--;
		cc->srv->channels -= cc->channels < cc->srv->channels ?
			cc->channels : cc->srv->channels;
	}
	/* Requests still waiting on this circuit are left to the sweep: its
	 * servers outlive it, and a scan per circuit end would cost more. */
	free(cc);
}

static void channel_opened(struct census_circuit *cc)
{
	cc->channels++;
	if (cc->srv)
		cc->srv->channels++;
}

static void channel_closed(struct census_circuit *cc)
{
	if (!cc->channels)
		return;
	cc->channels--;
	if (cc->srv && cc->srv->channels)
		cc->srv->channels--;
}

/* ---- searched PVs ---- */

static uint64_t name_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;  /* FNV-1a */

	while (n--) {
		h ^= (uint8_t)*s++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static bool pv_less(const struct census_pv *a, const struct census_pv *b)
{
	if (a->rank != b->rank)
		return a->rank < b->rank;
	return a->last_ns < b->last_ns;
}

static void heap_swap(struct census *c, size_t i, size_t j)
{
	struct census_pv *t = c->heap[i];

	c->heap[i] = c->heap[j];
	c->heap[j] = t;
	c->heap[i]->heap_at = i;
	c->heap[j]->heap_at = j;
}

static void heap_down(struct census *c, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < c->n_pvs && pv_less(c->heap[l], c->heap[m]))
			m = l;
		if (r < c->n_pvs && pv_less(c->heap[r], c->heap[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(c, i, m);
		i = m;
	}
}

static void heap_up(struct census *c, size_t i)
{
	while (i > 0 && pv_less(c->heap[i], c->heap[(i - 1) / 2])) {
		heap_swap(c, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct census_pv *pv_find(const struct census *c, const char *name,
				 size_t len, uint64_t h)
{
	struct census_pv *p = hmap_get(&c->pvs, &h);

	for (; p; p = p->next)
		if (p->len == len && memcmp(p->name, name, len) == 0)
			return p;
	return NULL;
}

static void pv_unlink(struct census *c, struct census_pv *p)
{
	struct census_pv *head = hmap_get(&c->pvs, &p->hash), **pp;

	if (head == p) {
		if (p->next)
			hmap_put(&c->pvs, &p->hash, p->next, NULL);
		else
			hmap_del(&c->pvs, &p->hash);
		return;
	}
	for (pp = &head->next; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

/* The entry for this name, made (in place of the least active one, the
 * least recent of those, when the table is full) if need be; its rank
 * goes up by one.  A storm of names seen once each churns one slot and
 * never pushes out a name seen twice.  NULL when not followed. */
static struct census_pv *pv_touch(struct census *c, const char *name, size_t len,
				  uint64_t ts)
{
	uint64_t h = name_hash(name, len);
	struct census_pv *p = pv_find(c, name, len, h), *head;
	char *copy;

	if (p) {
		p->rank++;
		p->last_ns = ts;
		heap_down(c, p->heap_at);
		return p;
	}
	if (!c->pv_limit)
		return NULL;
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, name, len);
	copy[len] = 0;
	if (c->n_pvs == c->pv_limit) {
		p = c->heap[0];
		pv_unlink(c, p);
		free(p->name);
		c->pv_evictions++;
	} else {
		if (!c->heap) {
			c->heap = calloc(c->pv_limit, sizeof(*c->heap));
			if (!c->heap) {
				free(copy);
				return NULL;
			}
		}
		p = malloc(sizeof(*p));
		if (!p) {
			free(copy);
			return NULL;
		}
		p->heap_at = c->n_pvs;
		c->heap[c->n_pvs++] = p;
	}
	{
		size_t at = p->heap_at;

		memset(p, 0, sizeof(*p));
		p->heap_at = at;
	}
	p->name = copy;
	p->len = len;
	p->hash = h;
	p->rank = 1;
	p->last_ns = ts;
	head = hmap_get(&c->pvs, &h);
	p->next = head;
	if (!hmap_put(&c->pvs, &h, p, NULL)) {
		/* No memory for the index: drop the entry again. */
		p->rank = 0;
		heap_up(c, p->heap_at);
		heap_swap(c, 0, --c->n_pvs);
		free(p->name);
		free(p);
		if (c->n_pvs)
			heap_down(c, 0);
		return NULL;
	}
	heap_down(c, p->heap_at);
	heap_up(c, p->heap_at);
	return p;
}

static void pv_add_host(struct census_pv *p, uint32_t ip)
{
	unsigned i;

	for (i = 0; i < p->n_hosts; i++)
		if (p->hosts[i] == ip)
			return;
	if (p->n_hosts < CENSUS_PV_HOSTS)
		p->hosts[p->n_hosts++] = ip;
	else
		p->more_hosts = true;
}

static struct census_client *client_for(struct census *c, uint32_t ip)
{
	struct census_client *cl = hmap_get_u32(&c->clients, ip);

	if (cl)
		return cl;
	if (hmap_count(&c->clients) >= CENSUS_CLIENTS_MAX) {
		c->clients_untracked++;
		return NULL;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return NULL;
	cl->ip = ip;
	if (!hmap_put_u32(&c->clients, ip, cl, NULL)) {
		free(cl);
		return NULL;
	}
	return cl;
}

size_t census_pvs(const struct census *c, const struct census_pv ***out)
{
	*out = (const struct census_pv **)c->heap;
	return c->n_pvs;
}

const struct census_pv **census_pvs_sorted(const struct census *c, size_t *n,
					   int (*cmp)(const void *, const void *))
{
	const struct census_pv **a;

	*n = c->n_pvs;
	if (!*n)
		return NULL;
	a = malloc(*n * sizeof(*a));
	if (!a) {
		*n = 0;
		return NULL;
	}
	memcpy(a, c->heap, *n * sizeof(*a));
	qsort(a, *n, sizeof(*a), cmp);
	return a;
}

const struct census_client **census_clients_sorted(const struct census *c, size_t *n,
						   int (*cmp)(const void *, const void *))
{
	const struct census_client **a;
	size_t it, i = 0;
	const void *k;
	void *v;

	*n = hmap_count(&c->clients);
	if (!*n)
		return NULL;
	a = malloc(*n * sizeof(*a));
	if (!a) {
		*n = 0;
		return NULL;
	}
	for (it = 0; hmap_next(&c->clients, &it, &k, &v) && i < *n;)
		a[i++] = v;
	qsort(a, *n, sizeof(*a), cmp);
	return a;
}

double census_span_s(const struct census *c)
{
	double s = (double)(c->now_ns - c->first_ns) / 1e9;

	return s > 1e-9 ? s : 1e-9;
}

/* ---- requests and replies ---- */

static struct pending *pending_add(struct census *c, enum census_req kind,
				   const void *key, uint64_t ts)
{
	struct pending *p = hmap_get(&c->pending[kind], key);

	if (p) {
		p->sent_ns = ts;
		p->sends++;
		return p;
	}
	if (hmap_count(&c->pending[kind]) >= CENSUS_PENDING_MAX) {
		c->pending_dropped++;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->sent_ns = ts;
	p->sends = 1;
	if (!hmap_put(&c->pending[kind], key, p, NULL)) {
		free(p);
		return NULL;
	}
	return p;
}

static void request_sent(struct census *c, enum census_req kind,
			 const struct flow_key *k, uint32_t id, uint64_t ts,
			 struct census_circuit *cc)
{
	struct req_key rk;
	struct pending *p;

	memset(&rk, 0, sizeof(rk));
	rk.circuit = *k;
	rk.id = id;
	p = pending_add(c, kind, &rk, ts);
	if (p && cc && cc->srv) {
		p->srv_ip = cc->srv->ip;
		p->srv_port = cc->srv->port;
		p->has_srv = true;
	}
}

static void reply_came(struct census *c, enum census_req kind,
		       const struct flow_key *k, uint32_t id, uint64_t ts)
{
	struct req_key rk;
	struct pending *p;

	memset(&rk, 0, sizeof(rk));
	rk.circuit = *k;
	rk.id = id;
	p = hmap_del(&c->pending[kind], &rk);
	if (!p)
		return;
	if (p->has_srv && ts >= p->sent_ns) {
		struct census_server *s = census_server_get(c, p->srv_ip, p->srv_port);

		if (s)
			hist_observe(&s->latency[kind], (double)(ts - p->sent_ns) / 1e9);
	}
	pending_free(p);
}

static void search_sent(struct census *c, const struct msg_ctx *mc,
			const struct ca_msg *m)
{
	struct search_key sk = { mc->src_ip, mc->sport, 0, m->h.p1 };
	struct pending *p;

	c->searches++;
	if (mc->pv) {
		struct census_pv *pv = pv_touch(c, mc->pv, mc->pv_len, mc->ts_ns);

		if (pv) {
			pv->searches++;
			window_add(&pv->win, mc->ts_ns, CENSUS_LANE_SEARCHES);
			pv_add_host(pv, mc->src_ip);
		}
	}
	p = pending_add(c, CENSUS_REQ_SEARCH, &sk, mc->ts_ns);
	if (p && !p->pv && mc->pv) {
		p->pv = malloc(mc->pv_len + 1);
		if (p->pv) {
			memcpy(p->pv, mc->pv, mc->pv_len);
			p->pv[mc->pv_len] = 0;
			p->pv_len = mc->pv_len;
		}
	}
}

static void search_answered(struct census *c, const struct msg_ctx *mc,
			    const struct ca_msg *m)
{
	struct search_key sk = { mc->dst_ip, mc->dport, 0, m->h.p2 };
	struct pending *p = hmap_del(&c->pending[CENSUS_REQ_SEARCH], &sk);
	/* The reply names the server's address (all ones or 0: "mine") and
	 * its TCP port: the same server the circuits will be counted on. */
	uint32_t ip = (m->h.p1 == 0xFFFFFFFFu || m->h.p1 == 0) ? mc->src_ip : m->h.p1;
	struct census_server *s;

	if (!p)
		return;
	c->searches_answered += p->sends;
	s = server_for(c, ip, m->h.dtype);
	if (s && mc->ts_ns >= p->sent_ns)
		hist_observe(&s->latency[CENSUS_REQ_SEARCH],
			     (double)(mc->ts_ns - p->sent_ns) / 1e9);
	pending_free(p);
}

static void search_expired(struct census *c, struct pending *p)
{
	struct census_pv *pv;

	c->searches_unanswered += p->sends;
	if (!p->pv)
		return;
	pv = pv_find(c, p->pv, p->pv_len, name_hash(p->pv, p->pv_len));
	if (pv)
		pv->unanswered += p->sends;
}

/* ---- beacons ---- */

static void beacon_event(struct census *c, struct census_server *s,
			 enum census_event_kind kind, uint64_t ts, uint32_t seq,
			 uint32_t prev_seq, double interval)
{
	struct census_event ev = {
		.kind = kind, .ts_ns = ts, .ip = s->ip, .port = s->port,
		.seq = seq, .prev_seq = prev_seq, .interval_s = interval,
		.average_s = s->avg_interval_s,
	};

	s->events[kind]++;
	if (kind == CENSUS_EV_RESTARTED || kind == CENSUS_EV_RESUMED)
		s->restarts++;
	if (c->on_event)
		c->on_event(c->event_ctx, &ev);
}

/* Judge one beacon by the rules libca and casw use.  After an appearance,
 * a restart or a gap the interval is unsettled (a booting server starts
 * fast and doubles its period), so it is only learnt until two intervals
 * in a row agree. */
static void beacon_seen(struct census *c, const struct msg_ctx *mc,
			const struct ca_msg *m)
{
	uint32_t ip = m->h.p2 ? m->h.p2 : mc->src_ip;
	struct census_server *s = server_for(c, ip, (uint16_t)m->h.count);
	uint32_t seq = m->h.p1, prev, advance;
	uint64_t ts = mc->ts_ns;
	double interval, avg;

	if (!s)
		return;
	s->beacons++;
	if (!s->beacon_seen) {
		s->beacon_seen = true;
		s->last_seq = seq;
		s->last_beacon_ns = ts;
		beacon_event(c, s, CENSUS_EV_APPEARED, ts, seq, seq, 0);
		return;
	}
	prev = s->last_seq;  /* events name the beacon before this one */
	advance = seq - prev;
	if (advance == 0)
		return;                         /* the same beacon again */
	interval = ts > s->last_beacon_ns ? (double)(ts - s->last_beacon_ns) / 1e9 : 0;
	if (advance > 0x80000000u) {
		uint32_t back = s->last_seq - seq;

		/* Backwards: a new sequence if it fell far, or back to its
		 * first ids from beyond them; else a straggler. */
		if (back >= SEQ_BACK_WINDOW || (seq < SEQ_FRESH && s->last_seq >= SEQ_FRESH)) {
			beacon_event(c, s, CENSUS_EV_RESTARTED, ts, seq, prev, interval);
			s->last_seq = seq;
			s->last_beacon_ns = ts;
			s->beacon_stable = false;
			s->avg_interval_s = 0;
		}
		return;
	}
	s->last_seq = seq;
	if (advance == 2 || advance == 3)
		return;      /* a duplicate route or an overrun: not timed */
	s->last_beacon_ns = ts;
	avg = s->avg_interval_s;
	if (avg <= 0) {
		s->avg_interval_s = interval;
		return;
	}
	if (!s->beacon_stable) {
		/* Settled when this interval agrees with the previous one. */
		if (interval < MISSED_RATIO * avg && interval > EARLY_RATIO * avg) {
			s->beacon_stable = true;
			s->avg_interval_s = avg + EMA_WEIGHT * (interval - avg);
		} else {
			s->avg_interval_s = interval;
		}
		return;
	}
	if (interval >= GAP_RATIO * avg) {
		beacon_event(c, s, CENSUS_EV_RESUMED, ts, seq, prev, interval);
		s->beacon_stable = false;
		s->missed_said = false;
		return;
	}
	if (interval >= MISSED_RATIO * avg) {
		/* Said already if the clock saw the gap (beacons_overdue). */
		if (!s->missed_said)
			beacon_event(c, s, CENSUS_EV_MISSED, ts, seq, prev, interval);
		s->missed_said = false;
		return;
	}
	s->missed_said = false;
	if (interval <= EARLY_RATIO * avg)
		beacon_event(c, s, CENSUS_EV_EARLY, ts, seq, prev, interval);
	else
		s->avg_interval_s = avg + EMA_WEIGHT * (interval - avg);
}

/* ---- messages ---- */

static void circuit_msg(struct census *c, const struct flow_key *k,
			const struct msg_ctx *mc, const struct ca_msg *m)
{
	struct census_circuit *cc = circuit_for(c, k);
	const struct ca_hdr *h = &m->h;
	uint64_t ts = mc->ts_ns;

	if (!cc)
		return;
	if (c->follow_activity && mc->pv && (h->cmd == CA_PROTO_READ_NOTIFY || h->cmd == CA_PROTO_READ ||
		       h->cmd == CA_PROTO_WRITE || h->cmd == CA_PROTO_WRITE_NOTIFY) &&
	    m->dir == CA_DIR_REQUEST) {
		struct census_pv *pv = pv_touch(c, mc->pv, mc->pv_len, ts);

		if (pv && (h->cmd == CA_PROTO_READ_NOTIFY || h->cmd == CA_PROTO_READ)) {
			pv->reads++;
			window_add(&pv->win, ts, CENSUS_LANE_READS);
		} else if (pv) {
			pv->writes++;
			window_add(&pv->win, ts, CENSUS_LANE_WRITES);
		}
	}
	if (m->dir == CA_DIR_REQUEST) {
		switch (h->cmd) {
		case CA_PROTO_CREATE_CHAN:
			request_sent(c, CENSUS_REQ_CREATE_CHAN, k, h->p1, ts, cc);
			break;
		case CA_PROTO_READ_NOTIFY:
			request_sent(c, CENSUS_REQ_READ_NOTIFY, k, h->p2, ts, cc);
			break;
		case CA_PROTO_WRITE_NOTIFY:
			request_sent(c, CENSUS_REQ_WRITE_NOTIFY, k, h->p2, ts, cc);
			break;
		}
		return;
	}
	switch (h->cmd) {
	case CA_PROTO_CREATE_CHAN:
		channel_opened(cc);
		reply_came(c, CENSUS_REQ_CREATE_CHAN, k, h->p1, ts);
		break;
	case CA_PROTO_CREATE_CH_FAIL:
		reply_came(c, CENSUS_REQ_CREATE_CHAN, k, h->p1, ts);
		break;
	case CA_PROTO_READ_NOTIFY:
		reply_came(c, CENSUS_REQ_READ_NOTIFY, k, h->p2, ts);
		break;
	case CA_PROTO_WRITE_NOTIFY:
		reply_came(c, CENSUS_REQ_WRITE_NOTIFY, k, h->p2, ts);
		break;
	case CA_PROTO_CLEAR_CHANNEL:
	case CA_PROTO_SERVER_DISCONN:
		channel_closed(cc);
		break;
	case CA_PROTO_EVENT_ADD:
		if (ca_is_cancel_confirm(h, m->dir))
			break;
		if (cc->srv) {
			cc->srv->monitor_updates++;
			window_add(&cc->srv->win, ts, 0);
		}
		if (c->follow_activity && mc->pv) {
			struct census_pv *pv = pv_touch(c, mc->pv, mc->pv_len, ts);

			if (pv) {
				pv->updates++;
				window_add(&pv->win, ts, CENSUS_LANE_UPDATES);
			}
		}
		break;
	}
}

/* top's clients by socket, with the names the circuit gave: what each
 * asks, and the monitor updates it is sent. */
static void endpoint_seen(struct census *c, const struct msg_ctx *mc,
			  const struct ca_msg *m)
{
	bool update = m->dir == CA_DIR_RESPONSE;
	struct endpoint_seen s = {
		.ip = update ? mc->dst_ip : mc->src_ip,
		.port = update ? mc->dport : mc->sport,
		.tcp = mc->tcp, .update = update,
		.search = m->h.cmd == CA_PROTO_SEARCH, .ts_ns = mc->ts_ns,
	};

	if (mc->who && mc->who->has_user) {
		s.user = mc->who->user;
		s.user_len = mc->who->user_len;
	}
	if (mc->proc_client) {
		s.pid = mc->proc_client->pid;
		s.comm = mc->proc_client->comm;
	}
	endpoints_seen(&c->endpoints, &s);
}

void census_msg(struct census *c, const struct flow_key *k,
		const struct msg_ctx *mc, const struct ca_msg *m)
{
	unsigned cmd = m->h.cmd < CENSUS_CMDS ? m->h.cmd : CENSUS_CMDS - 1;
	unsigned dir = m->dir == CA_DIR_RESPONSE;

	if (cmd > CA_PROTO_LAST_CMD)
		cmd = CENSUS_CMDS - 1;
	c->msgs[cmd][dir]++;
	c->bytes[cmd][dir] += (uint64_t)m->h.hdr_len + m->h.size;
	if (!c->first_ns || mc->ts_ns < c->first_ns)
		c->first_ns = mc->ts_ns;
	census_tick(c, mc->ts_ns);
	window_add(&c->msgs_win, mc->ts_ns, 0);
	if (m->flags & CA_MSG_MALFORMED)
		return;
	if (!mc->pv && mc->pv_why) {
		c->unnamed++;
		window_add(&c->msgs_win, mc->ts_ns, 1);
	}
	/* Clients: the senders of requests, beacons aside (servers send
	 * those, to a repeater). */
	if (m->dir == CA_DIR_REQUEST && m->h.cmd != CA_PROTO_RSRV_IS_UP) {
		struct census_client *cl = client_for(c, mc->src_ip);

		if (cl) {
			cl->messages++;
			cl->searches += m->h.cmd == CA_PROTO_SEARCH;
		}
		if (c->follow_activity)
			endpoint_seen(c, mc, m);
	}
	if (c->follow_activity && m->dir == CA_DIR_RESPONSE && m->h.cmd == CA_PROTO_EVENT_ADD &&
	    mc->tcp && !ca_is_cancel_confirm(&m->h, m->dir))
		endpoint_seen(c, mc, m);
	/* Searches travel over UDP, and over TCP to servers that take
	 * them there (name servers, gateways, caproto). */
	if (m->h.cmd == CA_PROTO_SEARCH) {
		if (m->dir == CA_DIR_REQUEST)
			search_sent(c, mc, m);
		else
			search_answered(c, mc, m);
		if (mc->tcp)
			circuit_for(c, k);
		return;
	}
	if (mc->tcp) {
		circuit_msg(c, k, mc, m);
		return;
	}
	if (m->h.cmd == CA_PROTO_RSRV_IS_UP && m->dir == CA_DIR_REQUEST) {
		/* Beacons a repeater passes on (responses) are copies. */
		beacon_seen(c, mc, m);
	}
}

/* ---- time ---- */

static void expire(struct census *c, enum census_req kind, uint64_t older_than_ns)
{
	size_t it, n = 0, i;
	const void *key;
	void *v;
	uint8_t (*keys)[HMAP_KEY_MAX];

	for (it = 0; hmap_next(&c->pending[kind], &it, &key, &v);)
		if (((struct pending *)v)->sent_ns < older_than_ns)
			n++;
	if (!n)
		return;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return;
	i = 0;
	for (it = 0; hmap_next(&c->pending[kind], &it, &key, &v) && i < n;)
		if (((struct pending *)v)->sent_ns < older_than_ns)
			memcpy(keys[i++], key, c->pending[kind].key_len);
	for (i = 0; i < n; i++) {
		struct pending *p = hmap_del(&c->pending[kind], keys[i]);

		if (kind == CENSUS_REQ_SEARCH)
			search_expired(c, p);
		pending_free(p);
	}
	free(keys);
}

/* As casw does: a server whose beacons stop is missed once 1.25 of its
 * periods pass without one, not only when the next one comes (it may
 * never come). Said once per gap. */
static void beacons_overdue(struct census *c)
{
	size_t it;
	void *v;

	for (it = 0; hmap_next(&c->servers, &it, NULL, &v);) {
		struct census_server *s = v;
		double silent;

		if (!s->beacon_stable || s->missed_said || s->avg_interval_s <= 0 ||
		    c->now_ns <= s->last_beacon_ns)
			continue;
		silent = (double)(c->now_ns - s->last_beacon_ns) / 1e9;
		if (silent < MISSED_RATIO * s->avg_interval_s)
			continue;
		s->missed_said = true;
		beacon_event(c, s, CENSUS_EV_MISSED, c->now_ns, s->last_seq, s->last_seq, silent);
	}
}

static void update_rates(struct census *c, uint64_t now)
{
	double dt = (double)(now - c->last_tick_ns) / 1e9;
	size_t it;
	const void *k;
	void *v;

	for (it = 0; hmap_next(&c->servers, &it, &k, &v);) {
		struct census_server *s = v;

		s->monitor_rate = dt > 0 ? (double)(s->monitor_updates - s->updates_at_tick) / dt : 0;
		s->updates_at_tick = s->monitor_updates;
	}
	c->last_tick_ns = now;
}

void census_tick(struct census *c, uint64_t now_ns)
{
	if (now_ns > c->now_ns)
		c->now_ns = now_ns;
	if (!c->next_sweep_ns) {
		c->next_sweep_ns = c->now_ns + SWEEP_NS;
		c->last_tick_ns = c->now_ns;
		return;
	}
	if (c->now_ns < c->next_sweep_ns)
		return;
	c->next_sweep_ns = c->now_ns + SWEEP_NS;
	if (c->now_ns > CENSUS_SEARCH_TIMEOUT_NS)
		expire(c, CENSUS_REQ_SEARCH, c->now_ns - CENSUS_SEARCH_TIMEOUT_NS);
	if (c->now_ns > CENSUS_REQUEST_TIMEOUT_NS) {
		expire(c, CENSUS_REQ_CREATE_CHAN, c->now_ns - CENSUS_REQUEST_TIMEOUT_NS);
		expire(c, CENSUS_REQ_READ_NOTIFY, c->now_ns - CENSUS_REQUEST_TIMEOUT_NS);
		expire(c, CENSUS_REQ_WRITE_NOTIFY, c->now_ns - CENSUS_REQUEST_TIMEOUT_NS);
	}
	beacons_overdue(c);
	servers_expire(c);
	endpoints_expire(&c->endpoints, c->now_ns);
	update_rates(c, c->now_ns);
}

void census_finish(struct census *c)
{
	expire(c, CENSUS_REQ_SEARCH, UINT64_MAX);
}
