/* Unit tests for user/frame_notes.c: frames wait for their notes, leave
 * in order once released, with their notes joined; the bounds force the
 * oldest out and notes that come after are counted late; only_noted
 * drops frames without notes; keys that go down (live) still find their
 * frame, and of two frames with one key the newer takes the note.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "frame_notes.h"

struct seen {
	unsigned n;
	uint64_t key[32];
	char text[32][128];
	uint8_t byte0[32];
	int stop_at;   /* return non-zero at this write (1-based); 0: never */
};

static int record(void *ctx, const struct frame_note *f)
{
	struct seen *s = ctx;

	assert_true(s->n < 32);
	s->key[s->n] = f->key;
	snprintf(s->text[s->n], sizeof(s->text[0]), "%s", f->n_notes ? sbuf_str(&f->text) : "");
	s->byte0[s->n] = f->caplen ? f->data[0] : 0;
	s->n++;
	return s->stop_at && (int)s->n >= s->stop_at;
}

static void add(struct frame_notes *q, uint64_t key)
{
	uint8_t d[4] = { (uint8_t)key, 1, 2, 3 };

	frame_notes_add(q, key, key * 1000, 0, d, sizeof(d), 60);
}

static void note(struct frame_notes *q, uint64_t key, const char *t)
{
	frame_notes_note(q, key, t, strlen(t));
}

static void test_wait_and_release(void **state)
{
	struct frame_notes q;
	struct seen s = { 0 };

	(void)state;
	frame_notes_init(&q, 100, 0, false, record, &s);
	add(&q, 1);
	add(&q, 2);
	add(&q, 3);
	frame_notes_mark_ca(&q, 1);
	frame_notes_mark_ca(&q, 3);
	note(&q, 3, "B");
	note(&q, 1, "A1");
	note(&q, 1, "A2");
	assert_int_equal(s.n, 0);
	assert_int_equal(frame_notes_oldest(&q), 1);
	frame_notes_release(&q, 3);   /* 1 and 2 leave; 2 is not CA */
	assert_int_equal(s.n, 1);
	assert_int_equal(s.key[0], 1);
	assert_string_equal(s.text[0], "A1" FRAME_NOTES_SEP "A2");
	assert_int_equal(s.byte0[0], 1);
	assert_int_equal(q.st.skipped, 1);
	/* A note for a frame gone: late. */
	note(&q, 2, "X");
	assert_int_equal(q.st.late, 1);
	frame_notes_finish(&q);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[1], "B");
	assert_int_equal(q.st.written, 2);
	assert_int_equal(q.st.forced, 0);
}

static void test_bounds(void **state)
{
	struct frame_notes q;
	struct seen s = { 0 };
	uint64_t k;

	(void)state;
	frame_notes_init(&q, 3, 0, false, record, &s);
	for (k = 1; k <= 5; k++) {
		add(&q, k);
		frame_notes_mark_ca(&q, k);
	}
	/* 3 at most: 1 and 2 forced out. */
	assert_int_equal(s.n, 2);
	assert_int_equal(q.st.forced, 2);
	note(&q, 1, "late");
	note(&q, 4, "kept");
	assert_int_equal(q.st.late, 1);
	/* Bytes: a small byte bound forces out too. */
	frame_notes_finish(&q);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.text[3], "kept");

	memset(&s, 0, sizeof(s));
	frame_notes_init(&q, 100, 1, false, record, &s);
	add(&q, 7);
	assert_int_equal(q.st.forced, 1);
	assert_int_equal(q.st.skipped, 1);   /* not CA when forced */
	frame_notes_finish(&q);
}

static void test_only_noted(void **state)
{
	struct frame_notes q;
	struct seen s = { 0 };

	(void)state;
	frame_notes_init(&q, 100, 0, true, record, &s);
	add(&q, 1);
	add(&q, 2);
	frame_notes_mark_ca(&q, 1);
	frame_notes_mark_ca(&q, 2);
	note(&q, 2, "match");
	frame_notes_finish(&q);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.key[0], 2);
	assert_int_equal(q.st.skipped, 1);

	/* A message spread over frames 4..6: all three written, 3 not. */
	memset(&s, 0, sizeof(s));
	frame_notes_init(&q, 100, 0, true, record, &s);
	add(&q, 3);
	add(&q, 4);
	add(&q, 5);
	add(&q, 6);
	note(&q, 6, "big");
	frame_notes_mark_part(&q, 4);
	frame_notes_mark_part(&q, 5);
	frame_notes_release(&q, 7);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.key[0], 4);
	assert_string_equal(s.text[0], "");
	assert_int_equal(s.key[2], 6);
	assert_string_equal(s.text[2], "big");
	frame_notes_mark_part(&q, 3);   /* gone: counted */
	assert_int_equal(q.st.late_parts, 1);
	assert_int_equal(q.st.late, 0);
	frame_notes_finish(&q);
}

static void test_unsorted_and_duplicates(void **state)
{
	struct frame_notes q;
	struct seen s = { 0 };

	(void)state;
	frame_notes_init(&q, 100, 0, false, record, &s);
	add(&q, 50);
	add(&q, 40);   /* another CPU's, a moment older */
	add(&q, 60);
	add(&q, 60);   /* a GSO packet's two segments */
	note(&q, 40, "older");
	note(&q, 60, "last");
	frame_notes_mark_ca(&q, 50);
	frame_notes_finish(&q);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.key[0], 50);
	assert_int_equal(s.key[1], 40);
	assert_string_equal(s.text[1], "older");
	assert_int_equal(s.key[2], 60);
	assert_string_equal(s.text[2], "last");
	assert_int_equal(q.st.skipped, 1);   /* the first 60: no note, not CA */
}

static void test_writer_stops(void **state)
{
	struct frame_notes q;
	struct seen s = { .stop_at = 1 };

	(void)state;
	frame_notes_init(&q, 100, 0, false, record, &s);
	add(&q, 1);
	add(&q, 2);
	frame_notes_mark_ca(&q, 1);
	frame_notes_mark_ca(&q, 2);
	frame_notes_finish(&q);
	assert_int_equal(s.n, 1);
	assert_true(q.stopped);
	assert_int_equal(q.st.skipped, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_and_release),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_only_noted),
		cmocka_unit_test(test_unsorted_and_duplicates),
		cmocka_unit_test(test_writer_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
