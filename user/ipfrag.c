/* ipfrag: IPv4 reassembly with a receiver's rules (see ipfrag.h). */
#include "ipfrag.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"

#define IP_MF 0x2000u
#define IP_OFFSET_MASK 0x1fffu
#define IPV4_MAX 65535u

struct piece {
	uint32_t start, end;      /* payload byte range */
	struct ipfrag_piece_of from;
};

struct ipfrag_dgram {
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	bool have_first;          /* the fragment at offset 0 came: its header */
	bool have_last;           /* the one with MF clear came: `total` known */
	uint8_t hdr_len;
	uint8_t hdr[60];
	uint32_t total;           /* payload bytes of the whole datagram */
	uint32_t have;            /* payload bytes held (pieces never overlap) */
	uint64_t first_ns;
	struct piece piece[IPFRAG_MAX_PIECES];
	unsigned npieces;
	uint8_t *buf;
	uint32_t cap;
};

void ipfrag_init(struct ipfrag *t)
{
	memset(t, 0, sizeof(*t));
}

static void dgram_free(struct ipfrag_dgram *d)
{
	free(d->buf);
	free(d);
}

/* Forget datagram i (the last takes its place: order does not matter
 * except for the oldest, which is found by time). */
static void drop_at(struct ipfrag *t, unsigned i)
{
	dgram_free(t->d[i]);
	t->d[i] = t->d[--t->n];
	t->d[t->n] = NULL;
}

void ipfrag_free(struct ipfrag *t)
{
	while (t->n)
		drop_at(t, t->n - 1);
}

unsigned ipfrag_held(const struct ipfrag *t)
{
	return t->n;
}

static void expire(struct ipfrag *t, uint64_t now_ns)
{
	unsigned i = 0;

	while (i < t->n) {
		if (now_ns - t->d[i]->first_ns > IPFRAG_TIMEOUT_NS) {
			drop_at(t, i);
			t->st.given_up++;
		} else {
			i++;
		}
	}
}

static struct ipfrag_dgram *find_or_make(struct ipfrag *t, uint32_t src, uint32_t dst,
					 uint16_t id, uint8_t proto, uint64_t now_ns)
{
	struct ipfrag_dgram *d;
	unsigned i, oldest = 0;

	for (i = 0; i < t->n; i++) {
		d = t->d[i];
		if (d->src == src && d->dst == dst && d->id == id && d->proto == proto)
			return d;
		if (d->first_ns < t->d[oldest]->first_ns)
			oldest = i;
	}
	if (t->n == IPFRAG_MAX) {
		drop_at(t, oldest);
		t->st.given_up++;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->src = src;
	d->dst = dst;
	d->id = id;
	d->proto = proto;
	d->first_ns = now_ns;
	t->d[t->n++] = d;
	return d;
}

static unsigned index_of(const struct ipfrag *t, const struct ipfrag_dgram *d)
{
	unsigned i;

	for (i = 0; i < t->n; i++)
		if (t->d[i] == d)
			return i;
	return 0;
}

/* Does [start, end) repeat a piece exactly (ignored: the first copy
 * stays), overlap one (the datagram is dropped), or neither? */
enum fit { FIT_NEW, FIT_REPEAT, FIT_OVERLAP };

static enum fit fit_of(const struct ipfrag_dgram *d, uint32_t start, uint32_t end)
{
	unsigned i;

	for (i = 0; i < d->npieces; i++) {
		const struct piece *p = &d->piece[i];

		if (p->start == start && p->end == end)
			return FIT_REPEAT;
		if (start < p->end && p->start < end)
			return FIT_OVERLAP;
	}
	return FIT_NEW;
}

static bool hold_bytes(struct ipfrag_dgram *d, uint32_t start, const uint8_t *b, uint32_t n)
{
	if (start + n > d->cap) {
		uint32_t cap = d->cap ? d->cap : 2048;
		uint8_t *nb;

		while (cap < start + n)
			cap *= 2;
		if (cap > IPV4_MAX)
			cap = IPV4_MAX;
		nb = realloc(d->buf, cap);
		if (!nb)
			return false;
		d->buf = nb;
		d->cap = cap;
	}
	memcpy(d->buf + start, b, n);
	return true;
}

/* The whole datagram as one packet: the first fragment's header with the
 * total length set and the fragmentation fields cleared. */
static uint8_t *assemble(const struct ipfrag_dgram *d, uint32_t *out_len)
{
	uint32_t n = d->hdr_len + d->total;
	uint8_t *o = malloc(n);

	if (!o)
		return NULL;
	memcpy(o, d->hdr, d->hdr_len);
	memcpy(o + d->hdr_len, d->buf, d->total);
	o[2] = (uint8_t)(n >> 8);
	o[3] = (uint8_t)n;
	o[6] = 0;
	o[7] = 0;
	o[10] = 0;
	o[11] = 0;
	wr_be16(o + 10, inet_fold(inet_sum(0, o, d->hdr_len)));
	*out_len = n;
	return o;
}

enum ipfrag_result ipfrag_add(struct ipfrag *t, const uint8_t *ip, uint32_t len,
			      uint64_t now_ns, uint64_t frame, uint8_t **out,
			      uint32_t *out_len)
{
	struct ipfrag_dgram *d;
	uint32_t ihl, start, end, frag;
	bool more;

	*out = NULL;
	*out_len = 0;
	expire(t, now_ns);
	if (len < 20)
		return IPFRAG_DROPPED;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	if (ihl < 20 || ihl > len)
		return IPFRAG_DROPPED;
	frag = rd_be16(ip + 6);
	more = frag & IP_MF;
	start = (frag & IP_OFFSET_MASK) * 8;
	end = start + (len - ihl);
	/* A receiver takes whole 8-byte units of a fragment that is not the
	 * last; a datagram cannot pass 64 KiB. */
	if (more)
		end &= ~7u;
	if (end > IPV4_MAX - ihl || end <= start) {
		t->st.bad++;
		return IPFRAG_DROPPED;
	}
	d = find_or_make(t, rd_be32(ip + 12), rd_be32(ip + 16), rd_be16(ip + 4), ip[9], now_ns);
	if (!d)
		return IPFRAG_DROPPED;
	switch (fit_of(d, start, end)) {
	case FIT_REPEAT:
		return IPFRAG_HELD;
	case FIT_OVERLAP:
		goto drop_datagram;
	case FIT_NEW:
		break;
	}
	/* The last fragment fixes the length: nothing may pass it, and a
	 * second last one must agree. */
	if (!more) {
		if (d->have_last && end != d->total)
			goto drop_datagram;
		if (d->npieces && d->piece[d->npieces - 1].end > end)
			goto drop_datagram;
		d->have_last = true;
		d->total = end;
	} else if (d->have_last && end > d->total) {
		goto drop_datagram;
	}
	if (d->npieces == IPFRAG_MAX_PIECES) {
		drop_at(t, index_of(t, d));
		t->st.given_up++;
		return IPFRAG_DROPPED;
	}
	if (!hold_bytes(d, start, ip + ihl, end - start))
		return IPFRAG_DROPPED;
	{
		/* Pieces in order of their start: the last one's end is the
		 * highest byte held. */
		unsigned i = d->npieces;

		while (i > 0 && d->piece[i - 1].start > start) {
			d->piece[i] = d->piece[i - 1];
			i--;
		}
		d->piece[i].start = start;
		d->piece[i].end = end;
		d->piece[i].from.frame = frame;
		d->piece[i].from.ts_ns = now_ns;
		d->npieces++;
	}
	d->have += end - start;
	if (start == 0) {
		d->have_first = true;
		d->hdr_len = (uint8_t)ihl;
		memcpy(d->hdr, ip, ihl);
	}
	if (!d->have_first || !d->have_last || d->have != d->total)
		return IPFRAG_HELD;
	*out = assemble(d, out_len);
	for (t->n_done = 0; t->n_done < d->npieces; t->n_done++)
		t->done[t->n_done] = d->piece[t->n_done].from;
	drop_at(t, index_of(t, d));
	if (!*out)
		return IPFRAG_DROPPED;
	t->st.reassembled++;
	return IPFRAG_COMPLETE;

drop_datagram:
	drop_at(t, index_of(t, d));
	t->st.overlapping++;
	return IPFRAG_DROPPED;
}

struct ipfrag_piece_of ipfrag_oldest_held(const struct ipfrag *t)
{
	struct ipfrag_piece_of m = { UINT64_MAX, UINT64_MAX };
	unsigned i, j;

	for (i = 0; i < t->n; i++)
		for (j = 0; j < t->d[i]->npieces; j++) {
			const struct ipfrag_piece_of *f = &t->d[i]->piece[j].from;

			if (f->frame < m.frame)
				m.frame = f->frame;
			if (f->ts_ns < m.ts_ns)
				m.ts_ns = f->ts_ns;
		}
	return m;
}
