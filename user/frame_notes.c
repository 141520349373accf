/* frame_notes: see frame_notes.h. */
#include "frame_notes.h"

#include <stdlib.h>
#include <string.h>

void frame_notes_init(struct frame_notes *q, size_t max_frames, size_t max_bytes,
		      bool only_noted, frame_notes_write_fn write, void *ctx)
{
	memset(q, 0, sizeof(*q));
	q->max_frames = max_frames ? max_frames : 1;
	q->max_bytes = max_bytes;
	q->only_noted = only_noted;
	q->write = write;
	q->ctx = ctx;
}

static size_t cost(const struct frame_note *f)
{
	return sizeof(*f) + f->caplen + f->text.cap;
}

/* Take the oldest frame off the queue and write it, or skip it. */
static void pop(struct frame_notes *q)
{
	struct frame_note *f = q->head;
	bool wanted = f->n_notes > 0 || f->part || (!q->only_noted && f->ca);

	q->head = f->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	q->bytes -= cost(f);
	q->gone_any = true;
	q->gone_key = f->key;
	if (!wanted || q->stopped) {
		q->st.skipped++;
	} else if (q->write(q->ctx, f)) {
		q->stopped = true;
	} else {
		q->st.written++;
	}
	sbuf_free(&f->text);
	free(f);
}

/* Over a bound: the oldest leave now, complete or not. */
static void enforce_bounds(struct frame_notes *q)
{
	while (q->head && (q->n > q->max_frames || (q->max_bytes && q->bytes > q->max_bytes))) {
		q->st.forced++;
		pop(q);
	}
}

void frame_notes_add(struct frame_notes *q, uint64_t key, uint64_t ts_ns, uint32_t if_id,
		     const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
	struct frame_note *f = malloc(sizeof(*f) + caplen);

	q->st.queued++;
	if (!f) {
		q->st.oom++;
		return;
	}
	memset(f, 0, sizeof(*f));
	f->key = key;
	f->ts_ns = ts_ns;
	f->if_id = if_id;
	f->caplen = caplen;
	f->wirelen = wirelen;
	sbuf_init(&f->text);
	if (caplen)
		memcpy(f->data, data, caplen);
	if (q->tail && key < q->tail->key)
		q->unsorted = true;
	if (q->tail)
		q->tail->next = f;
	else
		q->head = f;
	q->tail = f;
	q->n++;
	q->bytes += cost(f);
	enforce_bounds(q);
}

/* The newest queued frame with this key; NULL when none is queued (gone
 * already, or never added). */
static struct frame_note *find(struct frame_notes *q, uint64_t key)
{
	struct frame_note *f, *hit = NULL;

	/* Most notes are for the frame being decoded, the newest: no walk.
	 * (It is also the newest with its key, the one that takes it.) */
	if (q->tail && q->tail->key == key)
		return q->tail;

	if (!q->unsorted && (!q->head || key < q->head->key || key > q->tail->key))
		return NULL;
	/* Notes are mostly for the newest frames, but the list is singly
	 * linked: one walk, keeping the last match. */
	for (f = q->head; f && (q->unsorted || f->key <= key); f = f->next)
		if (f->key == key)
			hit = f;
	return hit;
}

void frame_notes_mark_ca(struct frame_notes *q, uint64_t key)
{
	struct frame_note *f = find(q, key);

	if (f)
		f->ca = true;
}

void frame_notes_mark_part(struct frame_notes *q, uint64_t key)
{
	struct frame_note *f = find(q, key);

	if (f)
		f->part = true;
	else if (q->gone_any && key <= q->gone_key)
		q->st.late_parts++;
}

void frame_notes_note(struct frame_notes *q, uint64_t key, const char *text, size_t len)
{
	struct frame_note *f = find(q, key);
	size_t before;

	if (!f) {
		if (q->gone_any && key <= q->gone_key)
			q->st.late++;
		return;
	}
	before = f->text.cap;
	if (f->n_notes)
		sbuf_put(&f->text, FRAME_NOTES_SEP, sizeof(FRAME_NOTES_SEP) - 1);
	sbuf_put(&f->text, text, len);
	f->n_notes++;
	q->bytes += f->text.cap - before;
	enforce_bounds(q);
}

void frame_notes_release(struct frame_notes *q, uint64_t below)
{
	while (q->head && q->head->key < below)
		pop(q);
}

uint64_t frame_notes_oldest(const struct frame_notes *q)
{
	return q->head ? q->head->key : UINT64_MAX;
}

void frame_notes_finish(struct frame_notes *q)
{
	while (q->head)
		pop(q);
}
