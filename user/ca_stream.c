/* ca_stream: see ca_stream.h. */
#include "ca_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ca_stream_init(struct ca_stream *s, enum ca_dir dir, size_t keep_limit,
		    int start_in_sync)
{
	memset(s, 0, sizeof(*s));
	s->dir = dir;
	s->keep_limit = keep_limit;
	/* A stream seen from its SYN starts on a message boundary; one that
	 * the capture joins midway has to look for one first.  The latter
	 * is not counted as a resync unless bytes are actually skipped. */
	s->state = start_in_sync ? CS_HEADER : CS_RESYNC;
	s->resync_counted = 0;
}

void ca_stream_free(struct ca_stream *s)
{
	free(s->keep);
	free(s->rbuf);
	s->keep = s->rbuf = NULL;
	s->keep_cap = s->keep_len = s->rlen = 0;
}

static void emit(struct ca_stream *s, struct ca_msg *m, ca_msg_fn fn, void *ctx)
{
	m->flags |= s->next_flags;
	s->next_flags = 0;
	fn(ctx, m);
}

static void lose_sync(struct ca_stream *s)
{
	s->state = CS_RESYNC;
	s->rlen = 0;
	s->hdr_have = 0;
	if (!s->resync_counted) {
		s->resyncs++;
		s->resync_counted = 1;
	}
}

static void mark_problem(struct ca_msg *m, unsigned flag, const char *what,
			 unsigned long long a, unsigned long long b)
{
	if (m->flags & (CA_MSG_TRUNCATED | CA_MSG_MALFORMED))
		return;  /* keep the first reason */
	m->flags |= flag;
	snprintf(m->problem, sizeof(m->problem), what, a, b);
}

static void finish_message(struct ca_stream *s, ca_msg_fn fn, void *ctx)
{
	struct ca_msg *m = &s->cur;

	m->payload = s->keep;
	m->payload_len = s->keep_len;
	if (s->lost)
		mark_problem(m, CA_MSG_TRUNCATED,
			     "%llu of %llu payload bytes missing from the capture",
			     s->lost, m->h.size);
	else if (s->keep_len < m->h.size)
		m->flags |= CA_MSG_BIG;
	emit(s, m, fn, ctx);
	s->state = CS_HEADER;
	s->hdr_have = 0;
	s->keep_len = 0;
	s->lost = 0;
}

static int keep_bytes(struct ca_stream *s, const uint8_t *d, size_t n)
{
	size_t room;

	/* After a hole the kept prefix must stay contiguous. */
	if (s->lost || s->keep_len >= s->keep_limit)
		return 0;
	room = s->keep_limit - s->keep_len;
	if (n > room)
		n = room;
	if (s->keep_len + n > s->keep_cap) {
		size_t cap = s->keep_cap ? s->keep_cap : 256;
		uint8_t *nb;

		while (cap < s->keep_len + n)
			cap *= 2;
		if (cap > s->keep_limit)
			cap = s->keep_limit;
		nb = realloc(s->keep, cap);
		if (!nb)
			return -1;
		s->keep = nb;
		s->keep_cap = cap;
	}
	memcpy(s->keep + s->keep_len, d, n);
	s->keep_len += n;
	return 0;
}

static void start_message(struct ca_stream *s, const struct ca_hdr *h)
{
	memset(&s->cur, 0, sizeof(s->cur));
	s->cur.h = *h;
	s->cur.dir = s->dir;
	s->cur.tcp = true;
	s->keep_len = 0;
	s->lost = 0;
	s->payload_left = h->size;
	s->state = CS_PAYLOAD;
}

static void feed_resync(struct ca_stream *s, const uint8_t *d, size_t n,
			ca_msg_fn fn, void *ctx);

/* A header that cannot be right: a code no CA peer sends, or, just after
 * a resync, anything implausible (the boundary found was false). */
static bool header_breaks_sync(const struct ca_stream *s, const struct ca_hdr *h)
{
	if (h->cmd > CA_PROTO_LAST_CMD)
		return true;
	return s->probation > 0 && !ca_hdr_plausible(h, s->dir, true, false) &&
	       !ca_is_cancel_confirm(h, s->dir);
}

/* Report an unknown command as malformed, then look for a boundary again
 * from the byte after its first. */
static void break_sync(struct ca_stream *s, const struct ca_hdr *h,
		       const uint8_t *hdr_bytes, size_t hdr_n,
		       const uint8_t *rest, size_t rest_n, ca_msg_fn fn, void *ctx)
{
	uint8_t saved[CA_EXT_HDR_LEN];

	if (h->cmd > CA_PROTO_LAST_CMD && s->probation == 0) {
		struct ca_msg m;

		memset(&m, 0, sizeof(m));
		m.h = *h;
		m.dir = s->dir;
		m.tcp = true;
		mark_problem(&m, CA_MSG_MALFORMED,
			     "unknown command %llu: message boundaries lost%.0llu",
			     h->cmd, 0);
		emit(s, &m, fn, ctx);
	}
	if (hdr_n > sizeof(saved))
		hdr_n = sizeof(saved);
	memcpy(saved, hdr_bytes, hdr_n);
	s->probation = 0;
	lose_sync(s);
	if (hdr_n > 1)
		feed_resync(s, saved + 1, hdr_n - 1, fn, ctx);
	if (rest_n)
		feed_resync(s, rest, rest_n, fn, ctx);
}

/* In sync: consume bytes, emitting every message completed. */
static void feed_sync(struct ca_stream *s, const uint8_t *d, size_t n,
		      ca_msg_fn fn, void *ctx)
{
	while (n > 0) {
		if (s->state == CS_HEADER) {
			struct ca_hdr h;

			/* Fast path: a whole message inside this segment is
			 * emitted straight from the segment's bytes. */
			if (s->hdr_have == 0 &&
			    ca_hdr_parse(d, n, &h) == CA_HDR_OK &&
			    header_breaks_sync(s, &h)) {
				break_sync(s, &h, d, h.hdr_len, d + h.hdr_len,
					   n - h.hdr_len, fn, ctx);
				return;
			}
			if (s->hdr_have == 0 &&
			    ca_hdr_parse(d, n, &h) == CA_HDR_OK &&
			    (uint64_t)h.hdr_len + h.size <= n &&
			    h.size <= s->keep_limit) {
				struct ca_msg m;

				if (s->probation)
					s->probation--;
				memset(&m, 0, sizeof(m));
				m.h = h;
				m.dir = s->dir;
				m.tcp = true;
				m.payload = d + h.hdr_len;
				m.payload_len = h.size;
				emit(s, &m, fn, ctx);
				d += h.hdr_len + h.size;
				n -= h.hdr_len + h.size;
				continue;
			}
			/* Collect the header, possibly across segments. */
			while (n > 0 && s->hdr_have < CA_EXT_HDR_LEN) {
				s->hdr[s->hdr_have++] = *d++;
				n--;
				if (ca_hdr_parse(s->hdr, s->hdr_have, &h) == CA_HDR_OK)
					break;
			}
			if (ca_hdr_parse(s->hdr, s->hdr_have, &h) != CA_HDR_OK)
				return;  /* need more bytes */
			if (header_breaks_sync(s, &h)) {
				break_sync(s, &h, s->hdr, s->hdr_have, d, n, fn, ctx);
				return;
			}
			if (s->probation)
				s->probation--;
			start_message(s, &h);
			if (h.size == 0)
				finish_message(s, fn, ctx);
			continue;
		}
		/* CS_PAYLOAD */
		{
			size_t take = n < s->payload_left ? n : (size_t)s->payload_left;

			if (keep_bytes(s, d, take) < 0)
				mark_problem(&s->cur, CA_MSG_TRUNCATED,
					     "out of memory keeping %llu bytes%.0llu", take, 0);
			d += take;
			n -= take;
			s->payload_left -= take;
			if (s->payload_left == 0)
				finish_message(s, fn, ctx);
		}
	}
}

enum cand { CAND_REJECT, CAND_ACCEPT, CAND_MORE };

/* Is there a believable message boundary at buf[0]?  `avail` bytes are
 * there; the buffer always ends where a segment ended.  Up to three
 * headers in a row must be believable (two can happen by chance inside a
 * value: a VERSION-like run of zeros followed by a reply's tail); a chain
 * that reaches exactly the end of the bytes seen counts too, and a lone
 * header whose message runs past them only when its size matches its
 * type and count exactly. */
#define RESYNC_CHAIN 3

static enum cand judge_candidate(const struct ca_stream *s, const uint8_t *buf,
				 size_t avail)
{
	uint64_t off = 0;
	int i;

	bool first_strict = false;

	for (i = 0; i < RESYNC_CHAIN; i++) {
		struct ca_hdr h;
		uint64_t end;

		if (off == avail)  /* the chain ends with the segment */
			return i >= 2 || first_strict ? CAND_ACCEPT : CAND_REJECT;
		if (ca_hdr_parse(buf + off, avail - off, &h) != CA_HDR_OK)
			return CAND_MORE;
		if (!ca_hdr_plausible(&h, s->dir, true, false))
			return CAND_REJECT;
		if (i == 0)
			first_strict = ca_hdr_plausible(&h, s->dir, true, true);
		end = off + h.hdr_len + h.size;
		if (end > avail) {
			if (i > 0)
				return CAND_ACCEPT;  /* earlier links checked the chain */
			return ca_hdr_plausible(&h, s->dir, true, true) ? CAND_ACCEPT
									: CAND_MORE;
		}
		off = end;
	}
	return CAND_ACCEPT;
}

static void feed_resync(struct ca_stream *s, const uint8_t *d, size_t n,
			ca_msg_fn fn, void *ctx)
{
	while (n > 0) {
		size_t take, o;

		if (!s->rbuf) {
			s->rbuf = malloc(CA_STREAM_RESYNC_WINDOW);
			if (!s->rbuf)
				return;  /* no memory: stay out of sync */
		}
		take = CA_STREAM_RESYNC_WINDOW - s->rlen;
		if (take > n)
			take = n;
		memcpy(s->rbuf + s->rlen, d, take);
		s->rlen += take;
		d += take;
		n -= take;

		for (o = 0; o < s->rlen; o++) {
			enum cand c = judge_candidate(s, s->rbuf + o, s->rlen - o);

			if (c == CAND_REJECT)
				continue;
			if (c == CAND_MORE && s->rlen < CA_STREAM_RESYNC_WINDOW)
				break;
			if (c == CAND_MORE)
				continue;  /* window full: cannot wait longer */
			/* Accepted: back in sync from offset o. */
			if (o > 0 || s->resync_counted) {
				if (!s->resync_counted)
					s->resyncs++;
				s->next_flags |= CA_MSG_RESYNC;
			}
			s->skipped += o;
			s->resync_counted = 0;
			s->state = CS_HEADER;
			s->hdr_have = 0;
			s->probation = CA_STREAM_PROBATION;
			{
				size_t rest = s->rlen - o;
				/* Out of the window: a false boundary sends
				 * these bytes back into it. */
				uint8_t *copy = malloc(rest ? rest : 1);

				s->rlen = 0;
				if (!copy)
					return;
				memcpy(copy, s->rbuf + o, rest);
				feed_sync(s, copy, rest, fn, ctx);
				free(copy);
			}
			ca_stream_feed(s, d, n, fn, ctx);
			return;
		}
		/* Bytes before o can never start a message: drop them. */
		if (o > 0) {
			if (!s->resync_counted) {
				s->resyncs++;
				s->resync_counted = 1;
			}
			s->skipped += o;
			memmove(s->rbuf, s->rbuf + o, s->rlen - o);
			s->rlen -= o;
		}
	}
}

void ca_stream_feed(struct ca_stream *s, const uint8_t *d, size_t n,
		    ca_msg_fn fn, void *ctx)
{
	if (s->state == CS_RESYNC)
		feed_resync(s, d, n, fn, ctx);
	else
		feed_sync(s, d, n, fn, ctx);
}

void ca_stream_gap(struct ca_stream *s, uint64_t n, ca_msg_fn fn, void *ctx)
{
	if (n == 0)
		return;
	switch (s->state) {
	case CS_PAYLOAD:
		if (n < s->payload_left) {
			s->payload_left -= n;
			s->lost += n;
			return;
		}
		n -= s->payload_left;
		s->lost += s->payload_left;
		s->payload_left = 0;
		finish_message(s, fn, ctx);
		if (n == 0)
			return;  /* the hole ended exactly on a boundary */
		lose_sync(s);
		return;
	case CS_HEADER:
		lose_sync(s);
		return;
	case CS_RESYNC:
		/* Bytes on both sides of a hole are not contiguous. */
		s->skipped += s->rlen;
		s->rlen = 0;
		if (!s->resync_counted) {
			s->resyncs++;
			s->resync_counted = 1;
		}
		return;
	}
}

void ca_stream_end(struct ca_stream *s, const char *why, ca_msg_fn fn, void *ctx)
{
	if (s->state == CS_PAYLOAD) {
		s->lost += s->payload_left;
		s->payload_left = 0;
		mark_problem(&s->cur, CA_MSG_TRUNCATED,
			     "stream ended with %llu of %llu payload bytes unseen",
			     s->lost, s->cur.h.size);
		finish_message(s, fn, ctx);
	} else if (s->state == CS_HEADER && s->hdr_have > 0) {
		struct ca_msg m;

		memset(&m, 0, sizeof(m));
		m.dir = s->dir;
		m.tcp = true;
		if (s->hdr_have >= 2)
			m.h.cmd = (uint16_t)(s->hdr[0] << 8 | s->hdr[1]);
		m.h.hdr_len = (uint8_t)s->hdr_have;
		mark_problem(&m, CA_MSG_TRUNCATED,
			     "stream ended inside a header (%llu bytes)%.0llu",
			     s->hdr_have, 0);
		emit(s, &m, fn, ctx);
		s->hdr_have = 0;
	}
	(void)why;
	s->state = CS_HEADER;
}
