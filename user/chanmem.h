/* chanmem: the channel table kept across runs, so that a catrace started
 * on a running machine names the channels created before it started.
 *
 * A live run saves what track knows (circuit, cid, sid, PV name, and the
 * subscriptions bound to each channel) to a state file, at exit and every
 * few seconds, and the next run loads it. A text file, one channel or
 * subscription a line, written to a temporary file and renamed, so a
 * reader never sees half of one:
 *
 *   catrace-channels 1
 *   C 10.0.0.2:40123 10.0.0.1:5064 <cid> <sid|-> <name, %XX-escaped>
 *   S 10.0.0.2:40123 10.0.0.1:5064 <subscription id> <cid>
 *
 * Loading checks each circuit against the socket table of this network
 * namespace (<proc>/net/tcp): a circuit with an end on this host that is
 * no longer established is dropped (its ports may be reused by another).
 * A circuit between two other hosts cannot be checked and is kept; the
 * traffic this run sees replaces whatever the file said.
 */
#ifndef CATRACE_CHANMEM_H
#define CATRACE_CHANMEM_H

#include <stddef.h>
#include <stdint.h>

#include "track.h"

#define CHANMEM_DEFAULT_PATH "/run/catrace/channels"
#define CHANMEM_SAVE_INTERVAL_S 5
#define CHANMEM_LINE_MAX 1024

struct chanmem_stats {
	uint64_t channels;     /* channels loaded */
	uint64_t subs;         /* subscriptions loaded */
	uint64_t stale;        /* lines of circuits no longer established */
	uint64_t bad_lines;    /* lines that did not parse (skipped) */
	uint64_t refused;      /* lines track could not keep (bounds, memory) */
};

/* Load path into t. 0, or -errno with a one-line reason in err (a missing
 * file is -ENOENT: nothing to load). proc_root: "/proc", or a test tree. */
int chanmem_load(struct track *t, const char *path, const char *proc_root,
		 struct chanmem_stats *st, char *err, size_t errlen);

/* Save t to path (creating its directory, mode 0700; the file 0600).
 * 0, or -errno with a one-line reason in err. */
int chanmem_save(const struct track *t, const char *path, char *err, size_t errlen);

#endif
