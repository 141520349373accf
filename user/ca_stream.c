/* ca_stream: see ca_stream.h. */
#include "ca_stream.h"

#include <stdarg.h>
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

/* ---- memory: buffers grow on demand, within the shared budget ---- */

static bool budget_take(struct ca_stream_budget *b, size_t n)
{
	if (!b)
		return true;
	if (n > b->limit - b->used) {
		b->denied++;
		return false;
	}
	b->used += n;
	return true;
}

static void budget_give(struct ca_stream_budget *b, size_t n)
{
	if (b)
		b->used -= n;
}

enum grow { GROW_OK, GROW_DENIED, GROW_NOMEM };

/* Make *buf hold at least `need` (<= max) bytes: doubling from 256, never
 * past `max`. */
static enum grow grow_buf(struct ca_stream *s, uint8_t **buf, size_t *cap,
			  size_t need, size_t max)
{
	size_t ncap = *cap ? *cap : 256;
	uint8_t *nb;

	if (need <= *cap)
		return GROW_OK;
	while (ncap < need)
		ncap *= 2;
	if (ncap > max)
		ncap = max;
	if (!budget_take(s->budget, ncap - *cap))
		return GROW_DENIED;
	nb = realloc(*buf, ncap);
	if (!nb) {
		budget_give(s->budget, ncap - *cap);
		return GROW_NOMEM;
	}
	*buf = nb;
	*cap = ncap;
	return GROW_OK;
}

static void release_buf(struct ca_stream *s, uint8_t **buf, size_t *cap)
{
	free(*buf);
	*buf = NULL;
	budget_give(s->budget, *cap);
	*cap = 0;
}

void ca_stream_set_budget(struct ca_stream *s, struct ca_stream_budget *b)
{
	s->budget = b;
}

void ca_stream_free(struct ca_stream *s)
{
	release_buf(s, &s->keep, &s->keep_cap);
	release_buf(s, &s->rbuf, &s->rbuf_cap);
	s->keep_len = s->rlen = 0;
}

/* ---- the bytes of one feed ---- */

/* What one ca_stream_feed call reads: bytes handed back for a second look
 * (what followed a false boundary) first, then the rest of the caller's
 * segment.  Handing bytes back, rather than feeding them again from inside
 * the framer, keeps the stack flat however many false boundaries a
 * segment holds; what is handed back is at most a search window and a
 * header. */
struct input {
	const uint8_t *seg;   /* the caller's bytes not read yet */
	size_t seg_n;
	const uint8_t *seg_begin;  /* where the caller's segment began */
	uint8_t *back;        /* handed-back bytes (owned), read from back_pos */
	size_t back_len, back_pos;
	/* Stream positions: of the segment's first byte, of back[0].  The
	 * bytes handed back are the search window's tail, which ends where
	 * reading stands, so they follow on from what comes next. */
	uint64_t seg_at, back_at;
};

/* The stream position of the next byte to read. */
static uint64_t in_next_at(const struct input *in)
{
	if (in->back_pos < in->back_len)
		return in->back_at + in->back_pos;
	return in->seg_begin ? in->seg_at + (uint64_t)(in->seg - in->seg_begin) : in->seg_at;
}

/* The next contiguous bytes to read. */
static size_t in_peek(const struct input *in, const uint8_t **p)
{
	if (in->back_pos < in->back_len) {
		*p = in->back + in->back_pos;
		return in->back_len - in->back_pos;
	}
	*p = in->seg;
	return in->seg_n;
}

/* n bytes of those in_peek() showed are used. */
static void in_skip(struct input *in, size_t n)
{
	if (in->back_pos < in->back_len) {
		in->back_pos += n;
		return;
	}
	in->seg += n;
	in->seg_n -= n;
}

/* Read these n bytes again, before everything not read yet.  False when
 * out of memory (the bytes are then lost). */
static bool in_unread(struct input *in, const uint8_t *d, size_t n)
{
	size_t left = in->back_len - in->back_pos;
	uint64_t at = in_next_at(in);
	uint8_t *nb;

	if (n == 0)
		return true;
	nb = malloc(n + left);
	if (!nb)
		return false;
	in->back_at = at - n;
	memcpy(nb, d, n);
	if (left)
		memcpy(nb + n, in->back + in->back_pos, left);
	free(in->back);
	in->back = nb;
	in->back_len = n + left;
	in->back_pos = 0;
	return true;
}

/* ---- framing ---- */

void ca_stream_seq(struct ca_stream *s, uint32_t seq)
{
	s->seq0 = seq - (uint32_t)s->pos_end;
	s->seq_known = true;
}

/* The message's first byte, at stream position pos, as a sequence number
 * (when the caller said where the stream is). */
static void set_at(const struct ca_stream *s, struct ca_msg *m, uint64_t pos)
{
	m->at_known = s->seq_known;
	m->at = s->seq0 + (uint32_t)pos;
}

static void emit(struct ca_stream *s, struct ca_msg *m, ca_msg_fn fn, void *ctx)
{
	m->flags |= s->next_flags;
	s->next_flags = 0;
	fn(ctx, m);
}

static void count_resync(struct ca_stream *s)
{
	if (!s->resync_counted) {
		s->resyncs++;
		s->resync_counted = 1;
	}
}

static void lose_sync(struct ca_stream *s)
{
	s->state = CS_RESYNC;
	s->rlen = 0;
	s->n_seg_at = 0;
	s->hdr_have = 0;
	count_resync(s);
}

/* The window's bytes from `pos` on are a segment's first ones. */
static void seg_start_note(struct ca_stream *s, size_t pos)
{
	if (s->n_seg_at < CA_STREAM_SEG_STARTS &&
	    (!s->n_seg_at || s->seg_at[s->n_seg_at - 1] != pos))
		s->seg_at[s->n_seg_at++] = (uint32_t)pos;
}

static bool seg_starts_at(const struct ca_stream *s, size_t pos)
{
	unsigned i;

	for (i = 0; i < s->n_seg_at; i++)
		if (s->seg_at[i] == pos)
			return true;
	return false;
}

/* The first `n` bytes of the window are dropped: so are their starts. */
static void seg_starts_shift(struct ca_stream *s, size_t n)
{
	unsigned i, k = 0;

	for (i = 0; i < s->n_seg_at; i++)
		if (s->seg_at[i] >= n)
			s->seg_at[k++] = s->seg_at[i] - (uint32_t)n;
	s->n_seg_at = k;
}

static void mark_problem(struct ca_msg *m, unsigned flag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void mark_problem(struct ca_msg *m, unsigned flag, const char *fmt, ...)
{
	va_list ap;

	if (m->flags & (CA_MSG_TRUNCATED | CA_MSG_MALFORMED))
		return;  /* keep the first reason */
	m->flags |= flag;
	va_start(ap, fmt);
	vsnprintf(m->problem, sizeof(m->problem), fmt, ap);
	va_end(ap);
}

static void finish_message(struct ca_stream *s, ca_msg_fn fn, void *ctx)
{
	struct ca_msg *m = &s->cur;

	m->payload = s->keep;
	m->payload_len = s->keep_len;
	if (s->lost)
		mark_problem(m, CA_MSG_TRUNCATED,
			     "%llu of %llu payload bytes missing from the capture",
			     (unsigned long long)s->lost, (unsigned long long)m->h.size);
	else if (s->keep_len < m->h.size)
		m->flags |= CA_MSG_BIG;
	emit(s, m, fn, ctx);
	s->state = CS_HEADER;
	s->hdr_have = 0;
	s->keep_len = 0;
	s->keep_stopped = false;
	s->lost = 0;
	/* Big values are rare on most circuits: an idle stream should not
	 * hold what the last one needed. */
	if (s->keep_cap > CA_STREAM_KEEP_IDLE)
		release_buf(s, &s->keep, &s->keep_cap);
}

static void keep_bytes(struct ca_stream *s, const uint8_t *d, size_t n)
{
	size_t room;

	/* After a hole, or once a byte could not be kept, the kept prefix
	 * must stay contiguous: keep nothing more of this message. */
	if (s->lost || s->keep_stopped || s->keep_len >= s->keep_limit)
		return;
	room = s->keep_limit - s->keep_len;
	if (n > room)
		n = room;
	switch (grow_buf(s, &s->keep, &s->keep_cap, s->keep_len + n, s->keep_limit)) {
	case GROW_OK:
		break;
	case GROW_NOMEM:
		mark_problem(&s->cur, CA_MSG_TRUNCATED,
			     "out of memory keeping %llu bytes", (unsigned long long)n);
		/* fall through */
	case GROW_DENIED:
		s->keep_stopped = true;
		return;
	}
	memcpy(s->keep + s->keep_len, d, n);
	s->keep_len += n;
}

static void start_message(struct ca_stream *s, const struct ca_hdr *h)
{
	memset(&s->cur, 0, sizeof(s->cur));
	s->cur.h = *h;
	ca_msg_set_raw_hdr(&s->cur, s->hdr, s->hdr_have);
	set_at(s, &s->cur, s->cur_at);
	s->cur.dir = s->dir;
	s->cur.tcp = true;
	s->keep_len = 0;
	s->keep_stopped = false;
	s->lost = 0;
	s->payload_left = h->size;
	s->state = CS_PAYLOAD;
}

/* Believable as a whole message that a segment begins with: what
 * ca_hdr_plausible takes, and two it leaves out because they make poor
 * anchors inside a stream but are common on their own: a cancel
 * confirmation (no payload) and a count-0 reply in the long form. */
static bool believable_in_segment(const struct ca_hdr *h, enum ca_dir dir)
{
	struct ca_hdr plain = *h;

	if (ca_is_cancel_confirm(h, dir))
		return true;
	plain.extended = false;
	return h->count == 0 && ca_hdr_plausible(&plain, dir, true, false);
}

/* A header that cannot be right: a code no CA peer sends, or, just after
 * a resync, anything implausible (the boundary found was false). */
static bool header_breaks_sync(const struct ca_stream *s, const struct ca_hdr *h)
{
	if (h->cmd > CA_PROTO_LAST_CMD)
		return true;
	return s->probation > 0 && !ca_hdr_plausible(h, s->dir, true, false) &&
	       !believable_in_segment(h, s->dir);
}

/* Report an unknown command as malformed and go looking for a boundary;
 * the caller makes the search start at the header's second byte. */
static void break_sync(struct ca_stream *s, const struct ca_hdr *h,
		       ca_msg_fn fn, void *ctx)
{
	if (h->cmd > CA_PROTO_LAST_CMD && s->probation == 0) {
		struct ca_msg m;

		memset(&m, 0, sizeof(m));
		m.h = *h;
		m.dir = s->dir;
		m.tcp = true;
		mark_problem(&m, CA_MSG_MALFORMED,
			     "unknown command %u: message boundaries lost", h->cmd);
		emit(s, &m, fn, ctx);
	}
	s->probation = 0;
	lose_sync(s);
}

/* In sync at a header: frame one message (or collect the bytes of a
 * header that continues in a later segment). */
static void step_header(struct ca_stream *s, struct input *in, ca_msg_fn fn,
			void *ctx)
{
	const uint8_t *d;
	size_t n = in_peek(in, &d);
	struct ca_hdr h;

	if (s->hdr_have == 0)
		s->cur_at = in_next_at(in);
	if (s->hdr_have == 0 && ca_hdr_parse(d, n, &h) == CA_HDR_OK) {
		if (header_breaks_sync(s, &h)) {
			break_sync(s, &h, fn, ctx);
			in_skip(in, 1);
			return;
		}
		/* Fast path: a whole message inside these bytes is emitted
		 * straight from them. */
		if ((uint64_t)h.hdr_len + h.size <= n && h.size <= s->keep_limit) {
			struct ca_msg m;

			if (s->probation)
				s->probation--;
			memset(&m, 0, sizeof(m));
			m.h = h;
			m.dir = s->dir;
			m.tcp = true;
			ca_msg_set_raw_hdr(&m, d, h.hdr_len);
			set_at(s, &m, in_next_at(in));
			m.payload = d + h.hdr_len;
			m.payload_len = h.size;
			emit(s, &m, fn, ctx);
			in_skip(in, h.hdr_len + h.size);
			return;
		}
		/* The header is all here: take it in one go. */
		if (s->probation)
			s->probation--;
		memcpy(s->hdr, d, h.hdr_len);
		s->hdr_have = h.hdr_len;
		in_skip(in, h.hdr_len);
		start_message(s, &h);
		return;
	}
	/* Collect the header, possibly across segments. */
	while (n > 0 && s->hdr_have < CA_EXT_HDR_LEN) {
		s->hdr[s->hdr_have++] = *d++;
		n--;
		in_skip(in, 1);
		if (ca_hdr_parse(s->hdr, s->hdr_have, &h) == CA_HDR_OK)
			break;
	}
	if (ca_hdr_parse(s->hdr, s->hdr_have, &h) != CA_HDR_OK)
		return;  /* need more bytes */
	if (header_breaks_sync(s, &h)) {
		uint8_t saved[CA_EXT_HDR_LEN];
		size_t k = s->hdr_have;

		memcpy(saved, s->hdr, k);
		break_sync(s, &h, fn, ctx);
		if (!in_unread(in, saved + 1, k - 1))
			s->skipped += k - 1;
		return;
	}
	if (s->probation)
		s->probation--;
	start_message(s, &h);
	if (h.size == 0)
		finish_message(s, fn, ctx);
}

/* In sync inside a payload: keep what is wanted of it, skip the rest. */
static void step_payload(struct ca_stream *s, struct input *in, ca_msg_fn fn,
			 void *ctx)
{
	const uint8_t *d;
	size_t n = in_peek(in, &d);
	size_t take = n < s->payload_left ? n : (size_t)s->payload_left;

	keep_bytes(s, d, take);
	in_skip(in, take);
	s->payload_left -= take;
	if (s->payload_left == 0)
		finish_message(s, fn, ctx);
}

enum cand { CAND_REJECT, CAND_ACCEPT, CAND_MORE };

/* Is there a believable message boundary at rbuf[o]?  The window always
 * ends where a segment ended.  Up to three headers in a row must be
 * believable (two can happen by chance inside a value: a VERSION-like run
 * of zeros followed by a reply's tail); a chain that reaches exactly the
 * end of the bytes seen counts too, and a lone header whose message runs
 * past them only when its size matches its type and count exactly.  At a
 * segment's first byte, one or more believable messages that end exactly
 * where a segment ends are enough (a cancel confirmation, a count-0
 * reply: whatever their size). */
#define RESYNC_CHAIN 3

static enum cand judge_candidate(const struct ca_stream *s, size_t o)
{
	const uint8_t *buf = s->rbuf + o;
	size_t avail = s->rlen - o;
	bool seg_start = seg_starts_at(s, o);
	bool first_strict = false;
	uint64_t off = 0;
	int i;

	for (i = 0; i < RESYNC_CHAIN; i++) {
		struct ca_hdr h;
		uint64_t end;
		bool loose = false;

		if (off == avail)  /* the chain ends with the segment */
			return i >= 2 || first_strict || seg_start ? CAND_ACCEPT : CAND_REJECT;
		if (ca_hdr_parse(buf + off, avail - off, &h) != CA_HDR_OK)
			return CAND_MORE;
		if (!ca_hdr_plausible(&h, s->dir, true, false)) {
			if (!seg_start || !believable_in_segment(&h, s->dir))
				return CAND_REJECT;
			loose = true;
		}
		if (i == 0)
			first_strict = !loose && ca_hdr_plausible(&h, s->dir, true, true);
		end = off + h.hdr_len + h.size;
		if (end > avail && loose)
			return CAND_REJECT;  /* it must end with its segment */
		if (end > avail) {
			if (i > 0)
				return CAND_ACCEPT;  /* earlier links checked the chain */
			return ca_hdr_plausible(&h, s->dir, true, true) ? CAND_ACCEPT
									: CAND_MORE;
		}
		off = end;
		if (seg_start && end < avail && seg_starts_at(s, o + end))
			return CAND_ACCEPT;  /* ends where the next segment begins */
	}
	return CAND_ACCEPT;
}

/* Back in sync at rbuf[o]: the bytes from there are read again, framed. */
static void resync_accept(struct ca_stream *s, struct input *in, size_t o)
{
	if (o > 0 || s->resync_counted) {
		if (!s->resync_counted)
			s->resyncs++;
		s->next_flags |= CA_MSG_RESYNC;
	}
	s->skipped += o;
	s->resync_counted = 0;
	s->state = CS_HEADER;
	s->hdr_have = 0;
	s->n_seg_at = 0;
	s->probation = CA_STREAM_PROBATION;
	if (!in_unread(in, s->rbuf + o, s->rlen - o)) {
		/* No memory to read them again: they are lost. */
		s->skipped += s->rlen - o;
		lose_sync(s);
		s->rlen = 0;
		return;
	}
	s->rlen = 0;
	/* In sync, the window is not needed until sync is lost again. */
	release_buf(s, &s->rbuf, &s->rbuf_cap);
}

/* Out of sync: add bytes to the search window and look for a boundary. */
static void step_resync(struct ca_stream *s, struct input *in)
{
	const uint8_t *d;
	size_t n = in_peek(in, &d), want, take, o;
	bool full;

	want = s->rlen + n < CA_STREAM_RESYNC_WINDOW ? s->rlen + n
						     : CA_STREAM_RESYNC_WINDOW;
	grow_buf(s, &s->rbuf, &s->rbuf_cap, want, CA_STREAM_RESYNC_WINDOW);
	take = s->rbuf_cap - s->rlen;
	if (take > n)
		take = n;
	if (take == 0 && s->rlen == 0) {
		/* No memory for a window at all: these bytes are lost. */
		count_resync(s);
		s->skipped += n;
		in_skip(in, n);
		return;
	}
	if (take && in->back_pos >= in->back_len && d == in->seg_begin)
		seg_start_note(s, s->rlen);
	if (take)
		memcpy(s->rbuf + s->rlen, d, take);
	s->rlen += take;
	in_skip(in, take);
	/* Full: no more bytes fit, so a candidate cannot wait for them. */
	full = take < n || s->rlen >= CA_STREAM_RESYNC_WINDOW;

	for (o = 0; o < s->rlen; o++) {
		enum cand c = judge_candidate(s, o);

		if (c == CAND_REJECT)
			continue;
		if (c == CAND_MORE && !full)
			break;
		if (c == CAND_MORE)
			continue;  /* window full: cannot wait longer */
		resync_accept(s, in, o);
		return;
	}
	/* Bytes before o can never start a message: drop them. */
	if (o > 0) {
		count_resync(s);
		s->skipped += o;
		memmove(s->rbuf, s->rbuf + o, s->rlen - o);
		s->rlen -= o;
		seg_starts_shift(s, o);
	}
}

/* Frame what `in` holds. */
static void run(struct ca_stream *s, struct input *in, ca_msg_fn fn, void *ctx)
{
	const uint8_t *p;

	/* Every step reads at least one byte, or finds a boundary that the
	 * next step then reads from. */
	while (in_peek(in, &p) > 0) {
		switch (s->state) {
		case CS_HEADER:
			step_header(s, in, fn, ctx);
			break;
		case CS_PAYLOAD:
			step_payload(s, in, fn, ctx);
			break;
		case CS_RESYNC:
			step_resync(s, in);
			break;
		}
	}
	free(in->back);
	in->back = NULL;
	in->back_len = in->back_pos = 0;
}

void ca_stream_feed(struct ca_stream *s, const uint8_t *d, size_t n,
		    ca_msg_fn fn, void *ctx)
{
	struct input in = { .seg = d, .seg_n = n, .seg_begin = d, .seg_at = s->pos_end };

	run(s, &in, fn, ctx);
	s->pos_end += n;
}

/* Searching, and no byte will follow those in the window (a hole, or the
 * end of the stream): candidates cannot wait for more, so take the first
 * that is believable on what is there, and frame from it, rather than
 * throw away whole messages that came between two holes. */
static void resync_final(struct ca_stream *s, ca_msg_fn fn, void *ctx)
{
	struct input in = { .seg = NULL, .seg_n = 0, .seg_begin = NULL, .seg_at = s->pos_end };
	size_t o;

	for (o = 0; o < s->rlen; o++) {
		if (judge_candidate(s, o) != CAND_ACCEPT)
			continue;
		resync_accept(s, &in, o);
		/* Framed again as the window was: none of these bytes starts a
		 * segment any more, and a false boundary cannot loop here (the
		 * bytes handed back are read once, then this pass is over). */
		run(s, &in, fn, ctx);
		return;
	}
}

static void stream_gap(struct ca_stream *s, uint64_t n, ca_msg_fn fn, void *ctx);

void ca_stream_gap(struct ca_stream *s, uint64_t n, ca_msg_fn fn, void *ctx)
{
	stream_gap(s, n, fn, ctx);
	s->pos_end += n;
}

static void stream_gap(struct ca_stream *s, uint64_t n, ca_msg_fn fn, void *ctx)
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
		resync_final(s, fn, ctx);
		if (s->state != CS_RESYNC) {
			/* Back in sync on the bytes before the hole: the hole
			 * now falls on the framer as it stands. */
			stream_gap(s, n, fn, ctx);
			return;
		}
		/* Bytes on both sides of a hole are not contiguous. */
		s->skipped += s->rlen;
		s->rlen = 0;
		s->n_seg_at = 0;
		if (!s->resync_counted) {
			s->resyncs++;
			s->resync_counted = 1;
		}
		return;
	}
}

void ca_stream_end(struct ca_stream *s, const char *why, ca_msg_fn fn, void *ctx)
{
	if (s->state == CS_RESYNC)
		resync_final(s, fn, ctx);
	if (s->state == CS_PAYLOAD) {
		s->lost += s->payload_left;
		s->payload_left = 0;
		mark_problem(&s->cur, CA_MSG_TRUNCATED,
			     "stream ended with %llu of %llu payload bytes unseen",
			     (unsigned long long)s->lost, (unsigned long long)s->cur.h.size);
		finish_message(s, fn, ctx);
	} else if (s->state == CS_HEADER && s->hdr_have > 0) {
		struct ca_msg m;

		memset(&m, 0, sizeof(m));
		m.dir = s->dir;
		m.tcp = true;
		if (s->hdr_have >= 2)
			m.h.cmd = (uint16_t)(s->hdr[0] << 8 | s->hdr[1]);
		m.h.hdr_len = (uint8_t)s->hdr_have;
		ca_msg_set_raw_hdr(&m, s->hdr, s->hdr_have);
		set_at(s, &m, s->cur_at);
		mark_problem(&m, CA_MSG_TRUNCATED,
			     "stream ended inside a header (%llu bytes)",
			     (unsigned long long)s->hdr_have);
		emit(s, &m, fn, ctx);
		s->hdr_have = 0;
	}
	(void)why;
	s->state = CS_HEADER;
}

bool ca_stream_skip(struct ca_stream *s, uint64_t n, ca_msg_fn fn, void *ctx)
{
	if (n == 0)
		return true;
	if (s->state != CS_PAYLOAD || n > s->payload_left) {
		ca_stream_gap(s, n, fn, ctx);
		return false;
	}
	s->pos_end += n;
	s->payload_left -= n;
	/* The kept prefix must stay contiguous: nothing more of it. */
	s->keep_stopped = true;
	if (s->payload_left == 0)
		finish_message(s, fn, ctx);
	return true;
}

bool ca_stream_boundary(struct ca_stream *s, ca_msg_fn fn, void *ctx)
{
	if (s->state == CS_HEADER && s->hdr_have == 0)
		return true;
	switch (s->state) {
	case CS_PAYLOAD:
		s->lost += s->payload_left;
		s->payload_left = 0;
		mark_problem(&s->cur, CA_MSG_TRUNCATED,
			     "message boundaries found again %llu of %llu payload bytes short",
			     (unsigned long long)s->lost, (unsigned long long)s->cur.h.size);
		finish_message(s, fn, ctx);
		break;
	case CS_RESYNC:
		s->skipped += s->rlen;
		s->rlen = 0;
		s->n_seg_at = 0;
		count_resync(s);
		break;
	case CS_HEADER:
		s->skipped += s->hdr_have;
		count_resync(s);
		break;
	}
	s->next_flags |= CA_MSG_RESYNC;
	s->resync_counted = 0;
	s->state = CS_HEADER;
	s->hdr_have = 0;
	s->probation = 0;
	release_buf(s, &s->rbuf, &s->rbuf_cap);
	return false;
}
