/* kstats: what the kernel side counts, read from map fds (our own, or
 * pinned by another catrace): per-CPU counters summed, learned endpoints
 * counted. */
#ifndef CATRACE_KSTATS_H
#define CATRACE_KSTATS_H

#include "catrace_record.h"

/* Sum the per-CPU `counters` map; 0, or -1 with errno set. */
int kstats_counters(int counters_fd, struct ca_counters *sum);
/* Entries in a hash map (walked key by key); -1 with errno on failure. */
long kstats_count_entries(int map_fd);

#endif
