/* window: counts over the last seconds; see window.h. */
#include "window.h"

#include <string.h>

#define NS_PER_S 1000000000ull

void window_add(struct window *w, uint64_t ts_ns, unsigned lane)
{
	uint64_t sec = ts_ns / NS_PER_S;

	if (lane >= WINDOW_LANES)
		return;
	if (sec > w->newest_sec) {
		/* The seconds between the newest slot and this one had
		 * nothing: clear them (all of them after a long silence). */
		uint64_t gap = sec - w->newest_sec, s;

		if (gap >= WINDOW_SECONDS)
			memset(w->n, 0, sizeof(w->n));
		else
			for (s = w->newest_sec + 1; s <= sec; s++)
				memset(w->n[s % WINDOW_SECONDS], 0, sizeof(w->n[0]));
		w->newest_sec = sec;
	} else if (w->newest_sec - sec >= WINDOW_SECONDS) {
		return;
	}
	if (w->n[sec % WINDOW_SECONDS][lane] < UINT32_MAX)
		w->n[sec % WINDOW_SECONDS][lane]++;
}

uint64_t window_count(const struct window *w, uint64_t now_ns, unsigned lane)
{
	uint64_t now_sec = now_ns / NS_PER_S, oldest, s, total = 0;

	/* A message stamped a little after `now` (clocks read apart) is
	 * still in the window. */
	if (w->newest_sec > now_sec)
		now_sec = w->newest_sec;
	if (lane >= WINDOW_LANES || now_sec - w->newest_sec >= WINDOW_SECONDS)
		return 0;
	/* Slots after newest_sec are stale until written: count only the
	 * seconds from the window's start up to newest_sec. */
	oldest = now_sec >= WINDOW_SECONDS - 1 ? now_sec - (WINDOW_SECONDS - 1) : 0;
	for (s = oldest; s <= w->newest_sec; s++)
		total += w->n[s % WINDOW_SECONDS][lane];
	return total;
}

double window_span_s(uint64_t first_ns, uint64_t now_ns)
{
	uint64_t now_sec = now_ns / NS_PER_S;
	uint64_t start_ns = now_sec >= WINDOW_SECONDS - 1 ?
			    (now_sec - (WINDOW_SECONDS - 1)) * NS_PER_S : 0;
	double span;

	if (first_ns > start_ns)
		start_ns = first_ns;
	span = now_ns > start_ns ? (double)(now_ns - start_ns) / 1e9 : 0;
	return span > 1e-3 ? span : 1e-3;
}
