/* flow: see flow.h. */
#include "flow.h"

#include <stdlib.h>
#include <string.h>

struct ooo_seg {
	struct ooo_seg *next;
	struct flow_stamp stamp;   /* the packet it came in */
	uint32_t seq;
	uint32_t wire_len;   /* sequence space the segment covers */
	uint32_t cap_len;    /* bytes of it the capture holds */
	uint8_t data[];
};

struct queued_msg {
	struct queued_msg *next;
	struct flow_stamp stamp;
	struct flow_stamp *parts;  /* malloc'd copy, or NULL */
	unsigned n_parts;
	struct ca_msg m;
	uint8_t payload[];
};

/* Serial-number comparison: sequence numbers wrap at 2^32. */
static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

void flow_table_init(struct flow_table *t, size_t max_flows, size_t keep_limit,
		     ca_msg_fn on_msg, flow_close_fn on_close, void *ctx)
{
	memset(t, 0, sizeof(*t));
	hmap_init(&t->map, sizeof(struct flow_key));
	hmap_init(&t->closed, sizeof(struct flow_key));
	t->max_flows = max_flows;
	t->keep_limit = keep_limit;
	t->stream_mem.limit = FLOW_STREAM_MEM_LIMIT;
	t->on_msg = on_msg;
	t->on_close = on_close;
	t->ctx = ctx;
}

/* ---- messages out, in capture-time order across both directions ---- */

/* Hand one message on, told its flow and packet. */
static void pass_on(struct flow_table *t, struct flow *f, struct ca_msg *m,
		    struct flow_stamp at, const struct flow_stamp *parts, unsigned n_parts)
{
	const struct flow_key *key = t->cur_key;
	struct flow_stamp stamp = t->stamp;

	t->cur_key = &f->key;
	t->stamp = at;
	t->msg_parts = parts;
	t->n_msg_parts = n_parts;
	t->on_msg(t->ctx, m);
	t->msg_parts = NULL;
	t->n_msg_parts = 0;
	t->cur_key = key;
	t->stamp = stamp;
}

static bool stamp_before(struct flow_stamp a, struct flow_stamp b)
{
	return a.ts_ns != b.ts_ns ? a.ts_ns < b.ts_ns : a.frame < b.frame;
}

/* Let waiting messages go, oldest first, while the other direction holds
 * nothing behind a hole (all with `force`).  Not by comparing times with
 * what is held: the hole's own bytes, when they come late (a reordered
 * capture), carry a time older than anything held. */
static void queue_release(struct flow_table *t, struct flow *f, bool force)
{
	for (;;) {
		struct queued_msg *a = f->q_head[0], *b = f->q_head[1], *q;
		int d;

		if (!a && !b)
			return;
		d = !a || (b && stamp_before(b->stamp, a->stamp));
		q = f->q_head[d];
		if (!force && f->half[!d].held)
			return;
		f->q_head[d] = q->next;
		if (!q->next)
			f->q_tail[d] = NULL;
		f->q_bytes -= sizeof(*q) + q->m.payload_len;
		t->queued_total -= sizeof(*q) + q->m.payload_len;
		q->m.payload = q->payload;
		pass_on(t, f, &q->m, q->stamp, q->parts, q->n_parts);
		free(q->parts);
		free(q);
	}
}

/* Keep a message until what came before it on the other side is out. */
static bool queue_add(struct flow_table *t, struct flow *f, const struct ca_msg *m,
		      const struct flow_stamp *parts, unsigned n_parts)
{
	int d = m->dir == CA_DIR_RESPONSE;
	struct queued_msg *q;

	if (f->q_bytes + sizeof(*q) + m->payload_len > FLOW_QUEUE_MAX_BYTES ||
	    t->queued_total + sizeof(*q) + m->payload_len > FLOW_QUEUE_TOTAL_MAX_BYTES)
		return false;
	q = malloc(sizeof(*q) + m->payload_len);
	if (!q)
		return false;
	q->next = NULL;
	q->stamp = t->stamp;
	q->parts = NULL;
	q->n_parts = 0;
	if (n_parts) {
		/* Without its parts the message still goes out: only a cut
		 * capture would lack them. */
		q->parts = malloc(n_parts * sizeof(*parts));
		if (q->parts) {
			memcpy(q->parts, parts, n_parts * sizeof(*parts));
			q->n_parts = n_parts;
		}
	}
	q->m = *m;
	if (m->payload_len)
		memcpy(q->payload, m->payload, m->payload_len);
	q->m.payload = NULL;
	if (f->q_tail[d])
		f->q_tail[d]->next = q;
	else
		f->q_head[d] = q;
	f->q_tail[d] = q;
	f->q_bytes += sizeof(*q) + m->payload_len;
	t->queued_total += sizeof(*q) + m->payload_len;
	t->stats.queued++;
	return true;
}

/* Every framer of the table hands its messages here. */
static void flow_msg(void *ctx, struct ca_msg *m)
{
	struct flow_table *t = ctx;
	struct flow *f = t->cur_flow;
	int d = m->dir == CA_DIR_RESPONSE;
	/* The packets before this one that carried the message: those its
	 * framer's half noted (not a late segment's framer of its own). */
	struct flow_half *h = t->feeding;
	const struct flow_stamp *parts = h ? h->parts : NULL;
	unsigned n_parts = h ? h->n_parts : 0;

	if (!f->q_head[0] && !f->q_head[1] && !f->half[!d].held)
		pass_on(t, f, m, t->stamp, parts, n_parts);
	else if (!queue_add(t, f, m, parts, n_parts)) {
		/* No room to wait: out of order rather than lost. */
		t->stats.queue_full++;
		queue_release(t, f, true);
		pass_on(t, f, m, t->stamp, parts, n_parts);
	}
	/* The next message begins in the packet being framed, or later. */
	if (h)
		h->n_parts = 0;
}

static void lru_unlink(struct flow_table *t, struct flow *f)
{
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		t->lru_head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		t->lru_tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void lru_push_front(struct flow_table *t, struct flow *f)
{
	f->lru_prev = NULL;
	f->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = f;
	t->lru_head = f;
	if (!t->lru_tail)
		t->lru_tail = f;
}

static void free_held(struct flow_table *t, struct flow_half *h)
{
	while (h->held) {
		struct ooo_seg *s = h->held;

		h->held = s->next;
		free(s);
	}
	t->held_total -= h->held_bytes;
	h->held_bytes = 0;
}

/* A hole is given up: remember where, and whether a message began there. */
static void gone_note(struct flow_half *h, uint32_t start, uint32_t end)
{
	struct flow_gone *g = &h->gone[h->gone_next];

	h->gone_next = (h->gone_next + 1) % FLOW_GONE_MAX;
	g->start = start;
	g->end = end;
	g->at_boundary = h->stream.state == CS_HEADER && h->stream.hdr_have == 0;
}

/* The given-up hole that holds all of [seq, seq + len), or NULL. */
static struct flow_gone *gone_holding(struct flow_half *h, uint32_t seq, uint32_t len)
{
	unsigned i;

	for (i = 0; i < FLOW_GONE_MAX; i++) {
		struct flow_gone *g = &h->gone[i];

		if (g->start != g->end && seq_diff(seq, g->start) >= 0 &&
		    seq_diff(seq + len, g->end) <= 0)
			return g;
	}
	return NULL;
}

/* A segment that came after its hole was taken as lost (offline: given
 * up; live: reported by the kernel): framed on its own, with a framer of
 * its own (the stream's has moved on), from a boundary when one is known
 * at its start.  `len` bytes of stream; the spans hold those copied, the
 * rest being payload past a copy budget. */
static void frame_apart(struct flow_table *t, struct flow_half *h, bool in_sync,
			uint32_t seq, const struct live_span *spans, unsigned n, uint32_t len)
{
	struct ca_stream late;
	uint32_t pos = 0;
	unsigned i;

	t->stats.late++;
	ca_stream_init(&late, h->stream.dir, t->keep_limit, in_sync);
	ca_stream_set_budget(&late, &t->stream_mem);
	ca_stream_seq(&late, seq);
	for (i = 0; i < n; i++) {
		if (spans[i].off > pos)  /* payload past the copy budget (or a gap) */
			ca_stream_skip(&late, spans[i].off - pos, flow_msg, t);
		ca_stream_feed(&late, spans[i].data, spans[i].len, flow_msg, t);
		pos = spans[i].off + spans[i].len;
	}
	if (len > pos)
		ca_stream_skip(&late, len - pos, flow_msg, t);
	ca_stream_end(&late, "late segment", flow_msg, t);
	ca_stream_free(&late);
}

/* A segment whose bytes were given up as lost came after all: frame it
 * on its own (from a boundary when it starts where the hole did, at one),
 * stamped with its own packet, rather than call it a retransmission. */
static void deliver_late(struct flow_table *t, struct flow_half *h, struct flow_gone *g,
			 uint32_t seq, const struct pkt *p)
{
	struct live_span whole = { 0, p->payload_len, p->payload };

	frame_apart(t, h, seq == g->start && g->at_boundary, seq, &whole, 1, p->payload_len);
	/* Its bytes are no longer missing: the hole shrinks from that end. */
	if (seq == g->start) {
		g->start = seq + p->payload_wire_len;
		g->at_boundary = false;
	} else if (seq_diff(seq + p->payload_wire_len, g->end) == 0) {
		g->end = seq;
	}
}

/* A framer in the middle of something: a message begun, a header part
 * read, bytes being searched for a header.  A gap or the flow's end would
 * report that message with the stamp of the last bytes delivered. */
static bool stream_mid_message(const struct ca_stream *s)
{
	return s->state == CS_PAYLOAD || (s->state == CS_HEADER && s->hdr_have > 0) ||
	       (s->state == CS_RESYNC && s->rlen > 0);
}

/* After a packet's bytes were framed: when they leave a message unfinished,
 * the packet is one of its parts. */
static void note_part(struct flow_half *h, struct flow_stamp at)
{
	if (!stream_mid_message(&h->stream)) {
		h->n_parts = 0;
		return;
	}
	if (h->n_parts && h->parts[h->n_parts - 1].frame == at.frame)
		return;
	if (h->n_parts == h->cap_parts) {
		unsigned cap = h->cap_parts ? h->cap_parts * 2 : 8;
		struct flow_stamp *p;

		if (cap > FLOW_PARTS_MAX)
			return;
		p = realloc(h->parts, cap * sizeof(*p));
		if (!p)
			return;
		h->parts = p;
		h->cap_parts = cap;
	}
	h->parts[h->n_parts++] = at;
}

/* Deliver bytes at sequence `seq` (already known to be >= next_seq). */
static void deliver(struct flow_table *t, struct flow_half *h, uint32_t seq,
		    const uint8_t *d, uint32_t cap_len, uint32_t wire_len)
{
	int32_t hole = seq_diff(seq, h->next_seq);
	struct flow_half *feeding = t->feeding;

	t->feeding = t->track_parts ? h : NULL;

	if (hole > 0) {
		/* A message the hole ends was last seen in the packet before
		 * it: that is its time, not this packet's. */
		struct flow_stamp now = t->stamp;

		t->stats.gaps++;
		h->lossy = true;
		gone_note(h, h->next_seq, seq);
		t->stamp = h->last_stamp;
		ca_stream_seq(&h->stream, h->next_seq);
		ca_stream_gap(&h->stream, (uint64_t)hole, flow_msg, t);
		t->stamp = now;
	}
	h->last_stamp = t->stamp;
	ca_stream_seq(&h->stream, seq);
	ca_stream_feed(&h->stream, d, cap_len, flow_msg, t);
	if (wire_len > cap_len)  /* the snap length cut the segment */
		ca_stream_gap(&h->stream, wire_len - cap_len, flow_msg, t);
	h->next_seq = seq + wire_len;
	if (t->track_parts)
		note_part(h, t->stamp);
	t->feeding = feeding;
}

/* Deliver held segments that are now in order (or, with `force`, all of
 * them, reporting the holes). */
static void drain_held(struct flow_table *t, struct flow_half *h, bool force)
{
	struct flow_stamp now = t->stamp;

	while (h->held) {
		struct ooo_seg *s = h->held;
		int32_t ahead = seq_diff(s->seq, h->next_seq);
		int32_t end = seq_diff(s->seq + s->wire_len, h->next_seq);

		if (ahead > 0 && !force)
			break;
		h->held = s->next;
		h->held_bytes -= s->cap_len;
		t->held_total -= s->cap_len;
		t->stamp = s->stamp;
		if (end > 0) {
			if (ahead >= 0) {
				deliver(t, h, s->seq, s->data, s->cap_len, s->wire_len);
			} else {
				/* Overlaps what was delivered: keep the new tail. */
				uint32_t skip = (uint32_t)-ahead;
				uint32_t cap = s->cap_len > skip ? s->cap_len - skip : 0;

				deliver(t, h, h->next_seq, s->data + (s->cap_len > skip ? skip : s->cap_len),
					cap, s->wire_len - skip);
			}
		}
		free(s);
	}
	t->stamp = now;
}

/* Hold a segment that came before the bytes in front of it.  False when
 * it may not wait: the bytes held would pass their bound. */
static bool hold(struct flow_table *t, struct flow_half *h, uint32_t seq,
		 const struct pkt *p)
{
	struct ooo_seg *s, **pp;

	if (h->held_bytes + p->payload_len > FLOW_OOO_LIMIT ||
	    t->held_total + p->payload_len > FLOW_OOO_TOTAL_LIMIT)
		return false;
	s = malloc(sizeof(*s) + p->payload_len);
	if (!s)
		return false;
	s->seq = seq;
	s->stamp = t->stamp;
	s->wire_len = p->payload_wire_len;
	s->cap_len = p->payload_len;
	memcpy(s->data, p->payload, p->payload_len);
	for (pp = &h->held; *pp && seq_diff((*pp)->seq, s->seq) <= 0; pp = &(*pp)->next)
		;
	s->next = *pp;
	*pp = s;
	h->held_bytes += s->cap_len;
	t->held_total += s->cap_len;
	t->stats.out_of_order++;
	return true;
}

static void half_end(struct flow_table *t, struct flow_half *h, const char *why)
{
	struct flow_half *feeding = t->feeding;

	drain_held(t, h, true);
	t->feeding = t->track_parts ? h : NULL;
	ca_stream_end(&h->stream, why, flow_msg, t);
	t->feeding = feeding;
}

static void flow_destroy(struct flow_table *t, struct flow *f, const char *why)
{
	const struct flow_key *saved = t->cur_key;
	struct flow *saved_flow = t->cur_flow;
	int i;

	t->cur_key = &f->key;
	t->cur_flow = f;
	for (i = 0; i < 2; i++)
		half_end(t, &f->half[i], why);
	queue_release(t, f, true);
	t->cur_flow = saved_flow == f ? NULL : saved_flow;
	for (i = 0; i < 2; i++) {
		t->stats.resyncs_closed += f->half[i].stream.resyncs;
		free_held(t, &f->half[i]);
		ca_stream_free(&f->half[i].stream);
		free(f->half[i].parts);
	}
	if (t->on_close)
		t->on_close(t->ctx, &f->key);
	lru_unlink(t, f);
	hmap_del(&t->map, &f->key);
	t->cur_key = saved == &f->key ? NULL : saved;
	free(f);
}

/* A segment's payload (sequence number `seq`): dropped if seen before,
 * held if early, else framed, with what it completes. */
static void place_data(struct flow_table *t, struct flow_half *h, uint32_t seq,
		       const struct pkt *p)
{
	for (;;) {
		int32_t ahead = seq_diff(seq, h->next_seq);
		int32_t end = seq_diff(seq + p->payload_wire_len, h->next_seq);
		uint32_t skip, cap;

		if (end <= 0) {
			struct flow_gone *g = p->payload_len == p->payload_wire_len ?
				gone_holding(h, seq, p->payload_wire_len) : NULL;

			if (g && p->payload_len)
				deliver_late(t, h, g, seq, p);
			else
				t->stats.retransmitted++;
			return;
		}
		if (ahead > 0) {
			if (hold(t, h, seq, p))
				return;
			if (h->held) {
				/* Too much waiting for a hole that may never
				 * fill: give up on it, deliver what is held,
				 * and carry on lossy; then place this again. */
				drain_held(t, h, true);
				continue;
			}
			/* Other flows hold all there is room for: this
			 * hole is given up at once. */
			t->stats.holes_given_up++;
			deliver(t, h, seq, p->payload, p->payload_len, p->payload_wire_len);
			return;
		}
		skip = (uint32_t)-ahead;
		cap = p->payload_len > skip ? p->payload_len - skip : 0;
		deliver(t, h, h->next_seq,
			p->payload + (p->payload_len > skip ? skip : p->payload_len),
			cap, p->payload_wire_len - skip);
		drain_held(t, h, false);
		return;
	}
}

struct flow *flow_lookup(struct flow_table *t, const struct flow_key *k)
{
	return hmap_get(&t->map, k);
}

static struct flow *flow_create(struct flow_table *t, const struct flow_key *k,
				bool syn_seen)
{
	struct flow *f;
	int i;

	while (t->max_flows && hmap_count(&t->map) >= t->max_flows && t->lru_tail) {
		t->stats.evicted++;
		flow_destroy(t, t->lru_tail, "flow evicted");
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = *k;
	for (i = 0; i < 2; i++) {
		ca_stream_init(&f->half[i].stream, (enum ca_dir)i, t->keep_limit,
			       syn_seen);
		ca_stream_set_budget(&f->half[i].stream, &t->stream_mem);
	}
	if (!hmap_put(&t->map, k, f, NULL)) {
		free(f);
		return NULL;
	}
	lru_push_front(t, f);
	return f;
}

/* The flow just seen goes to the front of the LRU order. */
static void flow_touch(struct flow_table *t, struct flow *f)
{
	if (f != t->lru_head) {
		lru_unlink(t, f);
		lru_push_front(t, f);
	}
}

/* The same ports carry a new connection: the old flow's state goes, a new
 * one starts (from a boundary when `in_sync`).  NULL when out of memory. */
static struct flow *flow_restart(struct flow_table *t, struct flow *f, bool in_sync)
{
	struct flow_key k = f->key;

	flow_destroy(t, f, "connection reused");
	f = flow_create(t, &k, in_sync);
	if (f) {
		t->cur_key = &f->key;
		t->cur_flow = f;
	}
	return f;
}

/* A flow ends by FIN or RST: remember where, replacing the oldest. */
static void closed_remember(struct flow_table *t, const struct flow *f)
{
	struct flow_closed *c = hmap_get(&t->closed, &f->key);
	int i;

	if (!c) {
		c = t->closed_ring[t->closed_next];
		if (c)
			hmap_del(&t->closed, &c->key);
		else if (!(c = malloc(sizeof(*c))))
			return;
		t->closed_ring[t->closed_next] = c;
		t->closed_next = (t->closed_next + 1) % FLOW_CLOSED_MAX;
		c->key = f->key;
		if (!hmap_put(&t->closed, &c->key, c, NULL)) {
			c->key.cli_port = 0;  /* unreachable: the slot is free again */
			return;
		}
	}
	for (i = 0; i < 2; i++) {
		c->end_known[i] = f->half[i].seq_known;
		c->end_seq[i] = f->half[i].next_seq;
	}
}

/* A segment for no live flow: is it a late copy of a closed one's bytes
 * (all before where that direction ended)? A SYN is a new connection. */
static bool closed_retransmission(struct flow_table *t, const struct flow_key *k,
				  enum ca_dir dir, uint8_t tcp_flags, uint32_t seq,
				  uint32_t len)
{
	struct flow_closed *c = hmap_get(&t->closed, k);

	if (!c)
		return false;
	if (tcp_flags & TCPF_SYN) {
		hmap_del(&t->closed, k);
		c->key.cli_port = 0;  /* the ring slot stays, unused */
		return false;
	}
	/* Just behind the end (a new connection whose SYN was missed has a
	 * random ISN: 1 in 4096 falls in this window). */
	return c->end_known[dir] && seq_diff(seq + len, c->end_seq[dir]) <= 0 &&
	       seq_diff(c->end_seq[dir], seq) <= (1 << 20);
}

/* A segment's FIN ends its direction; RST, or both FINs, end the flow. */
static void flow_end_flags(struct flow_table *t, struct flow *f, struct flow_half *h,
			   uint8_t tcp_flags)
{
	if (tcp_flags & TCPF_FIN) {
		h->fin = true;
		half_end(t, h, "FIN");
		queue_release(t, f, false);
	}
	if ((tcp_flags & TCPF_RST) || (f->half[0].fin && f->half[1].fin)) {
		closed_remember(t, f);
		flow_destroy(t, f, (tcp_flags & TCPF_RST) ? "RST" : "FIN");
	}
}

void flow_segment(struct flow_table *t, const struct flow_key *k,
		  enum ca_dir dir, const struct pkt *p, struct flow_stamp at)
{
	struct flow *f = flow_lookup(t, k);
	int csum = pkt_tcp_csum(p);
	struct flow_half *h;
	bool syn = p->tcp_flags & TCPF_SYN;
	uint32_t data_seq;

	/* A segment the receiver drops said nothing, flags included: a decoy
	 * sent before the real segment must not make it a retransmission. */
	if (f && ca_rule_csum_drops(csum, f->half[dir].csum_run)) {
		t->stats.bad_checksum++;
		return;
	}
	if (!f) {
		/* Nothing to learn from a payload-less segment of a flow whose
		 * state is gone (a late FIN or ACK). */
		if (!syn && p->payload_wire_len == 0)
			return;
		/* Nor from bytes a closed flow already delivered. */
		if (closed_retransmission(t, k, dir, p->tcp_flags, p->seq, p->payload_wire_len)) {
			t->stats.after_close++;
			return;
		}
		/* A bare SYN means we see the stream from its start. */
		f = flow_create(t, k, syn);
		if (!f)
			return;
	} else {
		flow_touch(t, f);
	}
	h = &f->half[dir];
	t->cur_key = &f->key;
	t->cur_flow = f;
	t->stamp = at;

	if (syn && h->isn_known && p->seq == h->isn) {
		syn = false;  /* a retransmitted SYN: nothing new */
	} else if (syn) {
		/* A SYN with another ISN on a flow we know is a new connection
		 * on the same ports (port reuse): start it afresh. */
		if (h->seq_known && seq_diff(p->seq + 1, h->next_seq) != 0) {
			f = flow_restart(t, f, true);
			if (!f)
				return;
			h = &f->half[dir];
		}
		h->seq_known = true;
		h->isn_known = true;
		h->isn = p->seq;
		h->next_seq = p->seq + 1;
		if (h->stream.state == CS_RESYNC && h->stream.rlen == 0 &&
		    !h->stream.resync_counted)
			h->stream.state = CS_HEADER;
	}
	h->csum_run = ca_rule_csum_track(h->csum_run, csum);
	data_seq = (p->tcp_flags & TCPF_SYN) ? p->seq + 1 : p->seq;

	if (p->payload_wire_len > 0) {
		if (!h->seq_known) {
			h->seq_known = true;
			h->next_seq = data_seq;
		}
		place_data(t, h, data_seq, p);
	}

	/* The peer acknowledging bytes we never saw proves the hole before
	 * the held segments (the capture missed them, or has them late):
	 * wait a few packets more, then stop waiting, so that later messages
	 * come out near their own packets rather than at the FIN. */
	{
		struct flow_half *o = &f->half[!dir];
		int i;

		if ((p->tcp_flags & TCPF_ACK) && o->held && o->seq_known &&
		    !o->hole_wait && seq_diff(p->ack, o->next_seq) > 0 &&
		    seq_diff(p->ack, o->held->seq) >= 0)
			o->hole_wait = FLOW_HOLE_PATIENCE + 1;
		for (i = 0; i < 2; i++) {
			struct flow_half *x = &f->half[i];

			if (!x->held)
				x->hole_wait = 0;
			else if (x->hole_wait && --x->hole_wait == 0)
				drain_held(t, x, true);
		}
	}
	queue_release(t, f, false);

	flow_end_flags(t, f, h, p->tcp_flags);
}

static void stamp_min(struct flow_stamp *m, struct flow_stamp s)
{
	if (s.frame < m->frame)
		m->frame = s.frame;
	if (s.ts_ns < m->ts_ns)
		m->ts_ns = s.ts_ns;
}

struct flow_stamp flow_oldest_pending(const struct flow_table *t)
{
	struct flow_stamp m = { .ts_ns = UINT64_MAX, .frame = UINT64_MAX };
	const struct flow *f;
	int d;

	for (f = t->lru_head; f; f = f->lru_next) {
		for (d = 0; d < 2; d++) {
			const struct flow_half *h = &f->half[d];
			const struct ooo_seg *o;
			const struct queued_msg *q;

			unsigned i;

			for (o = h->held; o; o = o->next)
				stamp_min(&m, o->stamp);
			for (q = f->q_head[d]; q; q = q->next) {
				stamp_min(&m, q->stamp);
				for (i = 0; i < q->n_parts; i++)
					stamp_min(&m, q->parts[i]);
			}
			if (stream_mid_message(&h->stream))
				stamp_min(&m, h->last_stamp);
			for (i = 0; i < h->n_parts; i++)
				stamp_min(&m, h->parts[i]);
		}
	}
	return m;
}

uint64_t flow_table_resyncs(const struct flow_table *t)
{
	uint64_t n = t->stats.resyncs_closed;
	size_t it = 0;
	void *v;

	while (hmap_next(&t->map, &it, NULL, &v)) {
		struct flow *f = v;

		n += f->half[0].stream.resyncs + f->half[1].stream.resyncs;
	}
	return n;
}

void flow_table_free(struct flow_table *t)
{
	size_t i;

	while (t->lru_tail)
		flow_destroy(t, t->lru_tail, "end of capture");
	hmap_free(&t->map);
	for (i = 0; i < FLOW_CLOSED_MAX; i++)
		free(t->closed_ring[i]);
	hmap_free(&t->closed);
}

/* ---- live: segments the kernel already put in order ---- */

/* The stream has seen nothing yet: a boundary there is its start, not a
 * resynchronisation. */
static bool stream_untouched(const struct ca_stream *s)
{
	return s->state == CS_RESYNC && s->rlen == 0 && !s->resync_counted &&
	       s->skipped == 0;
}

/* Bytes of the stream the record has no copy of, up to `pos`. */
static void live_absent(struct flow_table *t, struct flow_half *h, uint32_t pos,
			bool lost)
{
	int32_t n = seq_diff(pos, h->next_seq);

	if (n <= 0)
		return;
	if (lost) {
		t->stats.live_lost++;
		h->lossy = true;
		ca_stream_gap(&h->stream, (uint64_t)n, flow_msg, t);
	} else if (!ca_stream_skip(&h->stream, (uint64_t)n, flow_msg, t)) {
		t->stats.live_disagreed++;
	}
	h->next_seq = pos;
}

void flow_live_segment(struct flow_table *t, const struct flow_key *k,
		       enum ca_dir dir, const struct live_seg *s, struct flow_stamp at)
{
	struct flow *f = flow_lookup(t, k);
	struct flow_half *h;
	unsigned i;

	if (!f) {
		/* A SYN forgets a closed flow of these ports; a late copy of a
		 * closed flow's bytes is not a new circuit. */
		if ((s->n || (s->tcp_flags & TCPF_SYN)) &&
		    closed_retransmission(t, k, dir, s->tcp_flags, s->seq, s->len)) {
			t->stats.after_close++;
			return;
		}
		/* A late FIN or RST of a flow already gone: nothing to do. */
		if (s->n == 0)
			return;
		f = flow_create(t, k, false);
		if (!f)
			return;
	} else {
		flow_touch(t, f);
	}
	h = &f->half[dir];
	t->cur_key = &f->key;
	t->cur_flow = f;
	t->stamp = at;

	if (s->late) {
		/* Its bytes were reported as a hole: they came after a later
		 * segment's, and are framed apart from the stream. */
		frame_apart(t, h, s->boundary, s->seq, s->spans, s->n, s->len);
		return;
	}
	/* The kernel starts a direction afresh at its SYN (a boundary, no
	 * loss): on a flow we know, with the stream elsewhere, that is the
	 * same ports used by a new connection. */
	if (s->boundary && !s->lost && h->seq_known && s->n &&
	    seq_diff(s->seq + s->spans[0].off, h->next_seq) != 0) {
		f = flow_restart(t, f, false);
		if (!f)
			return;
		h = &f->half[dir];
	}
	if (!h->seq_known) {
		h->seq_known = true;
		h->next_seq = s->seq;
	}
	for (i = 0; i < s->n; i++) {
		const struct live_span *sp = &s->spans[i];
		uint32_t pos = s->seq + sp->off;

		live_absent(t, h, pos, i == 0 && s->lost);
		if (i == 0 && s->boundary) {
			/* Searching, the framer has no boundary of its own for
			 * the kernel's to contradict. */
			bool searching = h->stream.state == CS_RESYNC;

			if (stream_untouched(&h->stream))
				h->stream.state = CS_HEADER;
			else if (!ca_stream_boundary(&h->stream, flow_msg, t) && !s->lost &&
				 !searching)
				t->stats.live_disagreed++;
		}
		if (seq_diff(pos, h->next_seq) < 0)
			continue;  /* cannot happen: spans are checked in order */
		ca_stream_seq(&h->stream, pos);
		ca_stream_feed(&h->stream, sp->data, sp->len, flow_msg, t);
		h->next_seq = pos + sp->len;
	}
	live_absent(t, h, s->seq + s->len, s->n == 0 && s->lost);
	flow_end_flags(t, f, h, s->tcp_flags);
}
