/* window: how many events in the last WINDOW_SECONDS seconds, in
 * one-second slots of message time, so that a rate falls to 0 once the
 * traffic stops (catrace top), where a count since the start would only
 * fade.  Fixed size, no allocation: one per PV, client and server. */
#ifndef CATRACE_WINDOW_H
#define CATRACE_WINDOW_H

#include <stdint.h>

#define WINDOW_SECONDS 10
/* Counters kept side by side (a PV's updates, reads, writes, searches). */
#define WINDOW_LANES 4

struct window {
	uint64_t newest_sec;                     /* the slot written last */
	uint32_t n[WINDOW_SECONDS][WINDOW_LANES];
};

/* One event at ts_ns on `lane`.  Events older than the window (a late
 * packet of a reordered capture) are not counted here. */
void window_add(struct window *w, uint64_t ts_ns, unsigned lane);
/* Events on `lane` in the window that ends at now_ns: the seconds
 * now-9 .. now (the current one only partly gone by). */
uint64_t window_count(const struct window *w, uint64_t now_ns, unsigned lane);
/* The length, in seconds, that window_count covers at now_ns when traffic
 * began at first_ns: WINDOW_SECONDS-1 plus the part of the current
 * second, or less at the start.  Never 0. */
double window_span_s(uint64_t first_ns, uint64_t now_ns);

#endif
