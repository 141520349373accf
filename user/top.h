/* top: `catrace top`, a view of who is busy: the busiest PVs (monitor
 * updates, reads, writes, searches per second), the busiest clients (each
 * socket, with its user and process), open circuits and channels per
 * server, unanswered searches and drops.  Rates are over the last
 * WINDOW_SECONDS seconds, so they fall to 0 when a server or client goes
 * quiet; or, on request, since the start.  Every row says when it was
 * last heard.  The
 * same text serves the full-screen view (ncurses, refreshed every second)
 * and `--once` (one snapshot on standard output, for scripts). */
#ifndef CATRACE_TOP_H
#define CATRACE_TOP_H

#include <stdbool.h>
#include <stdint.h>

#include "catrace_record.h"
#include "census.h"
#include "sbuf.h"

enum top_sort {
	TOP_SORT_MESSAGES,   /* m */
	TOP_SORT_UPDATES,    /* u */
	TOP_SORT_READS,      /* r */
	TOP_SORT_WRITES,     /* w */
	TOP_SORT_SEARCHES,   /* s */
};

struct top_view {
	const struct census *census;
	const struct ca_counters *kernel;   /* live: drops; NULL offline */
	uint64_t messages;                  /* decoded so far */
	enum top_sort sort;
	unsigned rows;                      /* lines per table */
	bool since_start;                   /* rates since the start, not the last seconds */
	const char *source;                 /* interface or file */
};

/* "m", "updates", ... -> sort key; false if unknown. */
bool top_parse_sort(const char *s, enum top_sort *out);
void top_render(struct sbuf *sb, const struct top_view *v);

/* `catrace top` keys: the sort keys above, `a` (rates since the start or
 * over the last seconds) and `q`.  Applies `key` to the view; false if it
 * is not one of them. */
bool top_key(struct top_view *v, int key);

/* Full screen.  top_screen_start: false (and a reason on stderr) when
 * standard output is no terminal.  top_screen_tick draws when a refresh
 * is due (or forced) and reads keys: returns false once `q` was pressed. */
bool top_screen_start(void);
bool top_screen_tick(struct top_view *v, bool force);
void top_screen_stop(void);

#endif
