/* top: `catrace top`, a view of who is busy: the busiest PVs (monitor
 * updates, reads, writes, searches per second), the busiest clients, open
 * circuits and channels per server, unanswered searches and drops.  The
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
	const char *source;                 /* interface or file */
};

/* "m", "updates", ... -> sort key; false if unknown. */
bool top_parse_sort(const char *s, enum top_sort *out);
void top_render(struct sbuf *sb, const struct top_view *v);

/* Full screen.  top_screen_start: false (and a reason on stderr) when
 * standard output is no terminal.  top_screen_tick draws when a refresh
 * is due (or forced) and reads keys: returns false once `q` was pressed. */
bool top_screen_start(void);
bool top_screen_tick(struct top_view *v, bool force);
void top_screen_stop(void);

#endif
