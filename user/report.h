/* report: what people on call ask of CA traffic, from the census: the
 * search summary (--summary: top searched PVs and who asks, PVs nobody
 * answers, the clients that search most, with caSnooper's rules), and
 * beacon event lines (--events). */
#ifndef CATRACE_REPORT_H
#define CATRACE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "census.h"
#include "sbuf.h"

struct summary_opts {
	unsigned top;       /* PVs and clients listed (caSnooper -t); default 10 */
	double sigma;       /* > 0: only PVs/clients above mean + sigma * stddev */
	double hz;          /* > 0: only PVs/clients above this many searches/s */
	unsigned never_max; /* never-answered PVs listed at most */
};

#define SUMMARY_TOP_DEFAULT 10
#define SUMMARY_NEVER_MAX 10000

void summary_opts_init(struct summary_opts *o);
/* The search summary, several lines. */
void report_summary(struct sbuf *sb, const struct census *c, const struct summary_opts *o);

/* One beacon event: a text line or a JSON object (no newline). */
void report_event(struct sbuf *sb, const struct census_event *ev, bool json);

#endif
