/* Unit tests for user/window.c: counts over the last seconds, which
 * catrace top's rates are made of. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "window.h"

#define SEC 1000000000ull
#define T0 (1700000000ull * SEC)   /* a real epoch time */

static void test_counts_within_the_window(void **state)
{
	struct window w;
	unsigned i;

	(void)state;
	memset(&w, 0, sizeof(w));
	for (i = 0; i < 10; i++)          /* one per second, t0 .. t0+9 */
		window_add(&w, T0 + i * SEC + SEC / 2, 0);
	assert_int_equal(window_count(&w, T0 + 9 * SEC + SEC / 2, 0), 10);
	assert_int_equal(window_count(&w, T0 + 9 * SEC + SEC / 2, 1), 0);
	/* A second later the oldest has left; ten seconds later all. */
	assert_int_equal(window_count(&w, T0 + 10 * SEC + SEC / 2, 0), 9);
	assert_int_equal(window_count(&w, T0 + 19 * SEC, 0), 0);
	assert_int_equal(window_count(&w, T0 + 500 * SEC, 0), 0);
}

static void test_falls_to_zero_after_silence(void **state)
{
	struct window w;
	unsigned i;

	(void)state;
	memset(&w, 0, sizeof(w));
	for (i = 0; i < 1000; i++)
		window_add(&w, T0 + i * (SEC / 100), 2);   /* 100/s for 10 s */
	assert_int_equal(window_count(&w, T0 + 10 * SEC - 1, 2), 1000);
	/* Traffic again after a long silence: only the new events count,
	 * none of the stale slots. */
	window_add(&w, T0 + 100 * SEC, 2);
	assert_int_equal(window_count(&w, T0 + 100 * SEC, 2), 1);
	/* Seven seconds later, slots that were never rewritten are stale:
	 * still only the one event. */
	assert_int_equal(window_count(&w, T0 + 107 * SEC, 2), 1);
}

static void test_late_and_early_stamps(void **state)
{
	struct window w;

	(void)state;
	memset(&w, 0, sizeof(w));
	window_add(&w, T0 + 20 * SEC, 0);
	window_add(&w, T0 + 15 * SEC, 0);   /* reordered, still inside */
	window_add(&w, T0 + 5 * SEC, 0);    /* older than the window: not here */
	assert_int_equal(window_count(&w, T0 + 20 * SEC, 0), 2);
	/* `now` read a little before the newest stamp: still counted. */
	assert_int_equal(window_count(&w, T0 + 19 * SEC, 0), 2);
	window_add(&w, T0 + 20 * SEC, WINDOW_LANES);   /* no such lane */
	assert_int_equal(window_count(&w, T0 + 20 * SEC, WINDOW_LANES), 0);
}

static void test_span(void **state)
{
	(void)state;
	/* Ten seconds in: the window covers nine whole seconds and the
	 * current one's first half. */
	assert_true(window_span_s(T0, T0 + 10 * SEC + SEC / 2) > 9.49);
	assert_true(window_span_s(T0, T0 + 10 * SEC + SEC / 2) < 9.51);
	/* Two seconds of traffic: two seconds, not ten. */
	assert_true(window_span_s(T0, T0 + 2 * SEC) > 1.99);
	assert_true(window_span_s(T0, T0 + 2 * SEC) < 2.01);
	assert_true(window_span_s(T0, T0) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_within_the_window),
		cmocka_unit_test(test_falls_to_zero_after_silence),
		cmocka_unit_test(test_late_and_early_stamps),
		cmocka_unit_test(test_span),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
