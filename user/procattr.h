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
 * Looking costs (the socket tables, then the fds of processes), so it is
 * cached per circuit (bounded) until the circuit closes, and bounded in
 * time: the first message of a new circuit queues it and a round resolves
 * every queued circuit at once, as long as rounds have used less than
 * 1/PROCATTR_BUDGET_SHARE of the time (bursts up to PROCATTR_BUDGET_BURST_NS);
 * any message starts the round, so a circuit that waits gets its turn
 * even if it never speaks again.  A circuit not resolved is retried
 * later, backing off, PROCATTR_TRIES times; one that closes while it
 * waits leaves the queue (a burst of short circuits cannot fill it for
 * good) and counts as given up, as the ones out of tries do.  The processes that owned sockets before (an IOC serves many
 * circuits) are looked at first, the others only when they did not have
 * it.  A circuit with no local end is found out from the socket tables
 * alone and never costs a process scan.
 *
 * Before any of that, when the kernel programs could be attached, the
 * owner recorded in the kernel as the process connected, accepted or
 * sent (include/sock_owner.h): a caget that is gone before any /proc
 * look is named that way, and a burst of circuits costs no round.
 */
#ifndef CATRACE_PROCATTR_H
#define CATRACE_PROCATTR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "flow.h"
#include "hmap.h"
#include "sock_owner.h"

#define PROCATTR_CACHE_MAX   16384  /* circuits remembered */
#define PROCATTR_PENDING_MAX 1024   /* circuits waiting for one scan */
#define PROCATTR_TRIES       5      /* rounds before a circuit is given up */
#define PROCATTR_RETRY_NS    (50ull * 1000000)   /* first retry; doubles */
#define PROCATTR_BUDGET_SHARE 20                 /* rounds: <= 5% of the time */
#define PROCATTR_BUDGET_BURST_NS (200ll * 1000000)
#define PROCATTR_HINTS       8      /* processes looked at first */
/* A UDP socket found serves every peer: a new peer of a known local
 * endpoint (the IOC's port 5064 and each new client) costs no round, for
 * this long. */
#define PROCATTR_ENDPOINT_TTL_NS (10ull * 1000000000)
#define PROCATTR_ADDRS_TTL_NS    (1ull * 1000000000)

struct proc_owner {
	int32_t pid;       /* thread group id */
	char comm[17];     /* /proc/PID/comm (at most 15 bytes, NUL) */
};

struct procattr_stats {
	uint64_t table_reads; /* rounds (each reads the socket tables) */
	uint64_t hint_scans;  /* rounds that looked at known owners first */
	uint64_t scans;       /* rounds that looked at every process */
	uint64_t found;       /* circuit ends attributed */
	uint64_t from_kernel; /* of which the kernel's records named */
	/* Circuits whose owner we will not know: closed before a round
	 * found it (a burst of short circuits outruns the budget), or
	 * still unknown after PROCATTR_TRIES rounds. */
	uint64_t given_up;
	uint64_t round_ns;    /* time the rounds took */
};

struct pa_addrs {
	uint32_t *ips;
	unsigned n, cap;
	uint64_t at_ns;          /* when they were looked up */
};

struct procattr {
	char root[256];          /* "/proc", or a test tree */
	FILE *warn;              /* where the one warning goes (NULL: nowhere) */
	bool disabled;           /* /proc unusable: said once, then off */
	int64_t budget_ns;       /* time rounds may still take (token bucket) */
	uint64_t budget_at_ns;   /* when it was last topped up */
	int32_t hints[PROCATTR_HINTS];  /* owners found lately, newest first */
	unsigned n_hints;
	struct hmap cache;       /* struct pa_key -> struct pa_entry* */
	struct hmap udp_ends;    /* local UDP endpoint -> struct pa_endpoint* */
	struct pa_addrs local;   /* this namespace's addresses, lately */
	struct pa_key *pending;  /* keys still waiting for a round */
	unsigned n_pending;
	struct procattr_stats st;
	/* Owners the kernel recorded as processes used their sockets
	 * (bpf/sockowner.bpf.c), asked before /proc: true and *o filled
	 * when known.  NULL: /proc only. */
	bool (*kernel_owner)(void *ctx, const struct sock_owner_key *k,
			     struct sock_owner *o);
	void *kernel_owner_ctx;
	uint32_t netns;          /* our network namespace (root/self/ns/net) */
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

/* Both ends of a circuit or exchange: the local process at the client's
 * end and at the server's (either NULL when not local or not known yet).
 * May read /proc (rate-limited), as procattr_owner does. */
void procattr_owners(struct procattr *pa, const struct flow_key *k, bool tcp,
		     const struct proc_owner **client, const struct proc_owner **server);

/* A circuit ended: forget it (the next one with the same ports is a new
 * socket, perhaps another process). */
void procattr_forget(struct procattr *pa, const struct flow_key *k, bool tcp);

#endif
