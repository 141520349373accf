/* procattr: which local process owns the socket at one end of a CA
 * circuit or UDP exchange, when the traced host is that end (live only).
 *
 * Found through /proc, as ss -p does: the socket tables (net/tcp,
 * net/udp, and their IPv6 twins for v4-mapped sockets) give the inode of
 * the local socket, and the fd links of every process ("socket:[inode]")
 * its owner.  /proc/net/ is the network namespace of the reader, so
 * catrace must run in the namespace of the traced interface; the socket
 * inodes are unique host-wide, so any process can be found.
 *
 * Scans cost (every fd of every process), so they are batched and
 * rate-limited: the first message of a new circuit queues it, a scan
 * resolves every queued circuit at once, at most one scan per
 * min_interval_ns; results are cached per circuit (bounded) until the
 * circuit closes.  A circuit with no local end is found out from the
 * socket tables alone and never costs a process scan.
 */
#ifndef CATRACE_PROCATTR_H
#define CATRACE_PROCATTR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "flow.h"
#include "hmap.h"

#define PROCATTR_CACHE_MAX   16384  /* circuits remembered */
#define PROCATTR_PENDING_MAX 1024   /* circuits waiting for one scan */
#define PROCATTR_TRIES       5      /* scans before a circuit is given up */
#define PROCATTR_MIN_INTERVAL_NS (200ull * 1000000)

struct proc_owner {
	int32_t pid;       /* thread group id */
	char comm[17];     /* /proc/PID/comm (at most 15 bytes, NUL) */
};

struct procattr_stats {
	uint64_t scans;       /* process scans done */
	uint64_t table_reads; /* socket table rounds */
	uint64_t found;       /* circuit ends attributed */
};

struct procattr {
	char root[256];          /* "/proc", or a test tree */
	FILE *warn;              /* where the one warning goes (NULL: nowhere) */
	bool disabled;           /* /proc unusable: said once, then off */
	uint64_t min_interval_ns;
	uint64_t last_round_ns;
	bool have_round;
	struct hmap cache;       /* struct pa_key -> struct pa_entry* */
	struct pa_key *pending;  /* keys still waiting for a round */
	unsigned n_pending;
	struct procattr_stats st;
	/* Test hook: monotonic time in ns (NULL: CLOCK_MONOTONIC). */
	uint64_t (*now)(void);
};

/* root: the proc file system ("/proc"); warn: where to say, once, that it
 * cannot be used. */
void procattr_init(struct procattr *pa, const char *root, FILE *warn);
void procattr_free(struct procattr *pa);

/* The local process that owns this circuit's (tcp) or UDP exchange's
 * socket; NULL when none is known (yet).  When both ends are local
 * (loopback), the sender's end: `from_client` says which end sent the
 * message.  May read /proc (rate-limited). */
const struct proc_owner *procattr_owner(struct procattr *pa,
					const struct flow_key *k, bool tcp,
					bool from_client);

/* A circuit ended: forget it (the next one with the same ports is a new
 * socket, perhaps another process). */
void procattr_forget(struct procattr *pa, const struct flow_key *k, bool tcp);

#endif
