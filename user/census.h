/* census: what the CA traffic amounts to, for metrics, summaries and
 * events: per server (open circuits, channels, monitor updates, beacons
 * and their anomalies, request latencies), per searched PV (a bounded
 * set of the most searched names), and message counts by command.
 *
 * Fed with every decoded message (after the channel tracker named it) and
 * with circuit ends; driven by the messages' own time stamps, so a
 * capture file and live traffic give the same answers.  Every table is
 * bounded: what does not fit is counted, never allocated.
 */
#ifndef CATRACE_CENSUS_H
#define CATRACE_CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca_decode.h"
#include "endpoints.h"
#include "flow.h"
#include "hmap.h"
#include "output.h"
#include "window.h"

#define CENSUS_CMDS 32                 /* codes 0..27, 28..31 "other" */
#define CENSUS_PV_LIMIT_DEFAULT 100
#define CENSUS_PV_LIMIT_MAX 100000
#define CENSUS_PV_CAPACITY_REPORTS 10000   /* with --summary or top */
#define CENSUS_CLIENTS_MAX 4096
#define CENSUS_SERVERS_MAX 4096
/* A server with no open circuit and nothing heard from it for this long
 * is forgotten (a forged or long-gone one must not hold its slot); when
 * the table is full, the one heard from least recently goes first. A
 * server with open circuits is never forgotten. */
#define CENSUS_SERVER_IDLE_NS (300ull * 1000000000)
#define CENSUS_CIRCUITS_MAX (1u << 18)
#define CENSUS_PENDING_MAX (1u << 16)   /* per request kind */
/* A search is unanswered when no reply came this long after the last
 * request for that channel (replies take milliseconds; libca's retries
 * soon space out beyond this). */
#define CENSUS_SEARCH_TIMEOUT_NS (5ull * 1000000000)
/* Requests on a circuit whose reply never came are forgotten after this. */
#define CENSUS_REQUEST_TIMEOUT_NS (60ull * 1000000000)

/* Request kinds with a latency histogram. */
enum census_req {
	CENSUS_REQ_SEARCH,
	CENSUS_REQ_CREATE_CHAN,
	CENSUS_REQ_READ_NOTIFY,
	CENSUS_REQ_WRITE_NOTIFY,
	CENSUS_REQ_KINDS
};

/* Upper bounds (seconds) of the latency buckets; +Inf is implied. */
#define CENSUS_BUCKETS 19
extern const double census_bucket_le[CENSUS_BUCKETS];

struct census_hist {
	uint64_t buckets[CENSUS_BUCKETS + 1];  /* not cumulative; last is +Inf */
	uint64_t count;
	double sum;                           /* seconds */
};

/* What a server's beacons did. */
enum census_event_kind {
	CENSUS_EV_APPEARED,    /* first beacon seen from this server */
	CENSUS_EV_RESTARTED,   /* its beacon sequence started again */
	CENSUS_EV_RESUMED,     /* beacons came back after a gap (>= 3.25x) */
	CENSUS_EV_MISSED,      /* an interval >= 1.25x the average */
	CENSUS_EV_EARLY,       /* an interval <= 0.80x the average */
	CENSUS_EV_KINDS
};

struct census_event {
	enum census_event_kind kind;
	uint64_t ts_ns;
	uint32_t ip;            /* the server */
	uint16_t port;
	uint32_t seq, prev_seq; /* beacon ids */
	double interval_s;      /* since the previous beacon (0 for APPEARED) */
	double average_s;       /* the average before this beacon (0: unknown) */
};

const char *census_event_name(enum census_event_kind k);

struct census_server {
	uint32_t ip;
	uint16_t port;
	uint64_t last_seen_ns;      /* the latest message to or from it */
	uint64_t circuits;          /* open now */
	uint64_t channels;          /* open now */
	uint64_t monitor_updates;
	struct window win;          /* lane 0: monitor updates */
	double monitor_rate;        /* updates/s over the last tick */
	uint64_t updates_at_tick;
	uint64_t beacons;
	uint64_t restarts;          /* RESTARTED + RESUMED */
	uint64_t events[CENSUS_EV_KINDS];
	struct census_hist latency[CENSUS_REQ_KINDS];
	/* beacon state */
	bool beacon_seen;
	bool beacon_stable;         /* intervals settled: judge them */
	bool missed_said;           /* MISSED reported by the clock for this gap */
	uint32_t last_seq;
	uint64_t last_beacon_ns;
	double avg_interval_s;      /* 0: unknown */
};

/* A PV seen in the traffic.  Its counts are exact since the name entered
 * the table; `rank` (all its counted messages) decides who stays when the
 * table is full.  Newcomers start at 1 and inherit nothing, so series
 * never jump: a storm of names searched once each churns one slot while
 * the names asked for again and again keep theirs. */
#define CENSUS_PV_HOSTS 4

/* Lanes of a PV's window. */
enum census_pv_lane {
	CENSUS_LANE_UPDATES,
	CENSUS_LANE_READS,
	CENSUS_LANE_WRITES,
	CENSUS_LANE_SEARCHES,
};

struct census_pv {
	char *name;
	size_t len;
	uint64_t hash;
	uint64_t searches;
	uint64_t unanswered;
	uint64_t updates;           /* monitor updates (EVENT_ADD responses) */
	uint64_t reads;             /* READ / READ_NOTIFY requests */
	uint64_t writes;            /* WRITE / WRITE_NOTIFY requests */
	uint32_t hosts[CENSUS_PV_HOSTS];  /* the first clients that searched it */
	uint8_t n_hosts;
	bool more_hosts;
	struct window win;          /* the same counts, last seconds only */
	uint64_t rank;
	uint64_t last_ns;
	size_t heap_at;             /* position in the min-heap */
	struct census_pv *next;     /* same hash */
};

/* A client host: who asks, and how much. */
struct census_client {
	uint32_t ip;
	uint64_t searches;
	uint64_t messages;          /* requests of any kind */
};

typedef void (*census_event_fn)(void *ctx, const struct census_event *ev);

struct census {
	unsigned pv_limit;               /* PV table capacity */
	/* Follow reads, writes and monitor updates per PV too (reports), not
	 * only searches (metrics). */
	bool follow_activity;
	uint64_t msgs[CENSUS_CMDS][2];   /* [cmd][dir] */
	uint64_t bytes[CENSUS_CMDS][2];

	struct hmap servers;             /* (ip, port) -> census_server* */
	uint64_t servers_untracked;      /* messages for servers over the cap */
	uint64_t servers_forgotten;      /* idle servers removed (expired, evicted) */

	struct hmap circuits;            /* flow_key -> struct census_circuit* */
	uint64_t circuits_untracked;

	struct hmap pvs;                 /* name hash -> chain of census_pv */
	struct census_pv **heap;         /* by searches, smallest first */
	size_t n_pvs;
	uint64_t pv_evictions;

	struct hmap clients;             /* ip -> census_client* */
	uint64_t clients_untracked;
	/* Clients by socket, with names (follow_activity only: top). */
	struct endpoints endpoints;
	struct window msgs_win;          /* lane 0: every message; 1: unnamed */

	struct hmap pending[CENSUS_REQ_KINDS];
	uint64_t pending_dropped;        /* requests not timed: table full */

	uint64_t unnamed;                /* messages about channels with no name */
	uint64_t searches;               /* every search request */
	uint64_t searches_answered;
	uint64_t searches_unanswered;

	uint64_t first_ns;               /* earliest message time */
	uint64_t now_ns;                 /* latest time seen */
	uint64_t next_sweep_ns;
	uint64_t last_tick_ns;

	census_event_fn on_event;
	void *event_ctx;
};

/* pv_capacity: PVs followed at once (the rest are counted in totals). */
void census_init(struct census *c, unsigned pv_capacity);
void census_free(struct census *c);

/* One decoded message; `mc` gives its time, addresses and PV name. */
void census_msg(struct census *c, const struct flow_key *k,
		const struct msg_ctx *mc, const struct ca_msg *m);
/* A TCP circuit ended (FIN both ways, RST, or flow eviction). */
void census_circuit_close(struct census *c, const struct flow_key *k);
/* Time passes (live: the wall clock when no traffic comes): expire
 * searches and requests, update rates.  Cheap when nothing is due. */
void census_tick(struct census *c, uint64_t now_ns);
/* End of input: every search still waiting counts as unanswered. */
void census_finish(struct census *c);

/* The per-PV entries, for output (unordered). */
size_t census_pvs(const struct census *c, const struct census_pv ***out);
/* The PV entries (or the clients) in a new array, sorted by `cmp`;
 * NULL when there are none or no memory.  The caller frees the array. */
const struct census_pv **census_pvs_sorted(const struct census *c, size_t *n,
					   int (*cmp)(const void *, const void *));
const struct census_client **census_clients_sorted(const struct census *c, size_t *n,
						   int (*cmp)(const void *, const void *));
/* Seconds between the first and the latest message (at least 1e-9). */
double census_span_s(const struct census *c);
struct census_server *census_server_get(const struct census *c, uint32_t ip,
					uint16_t port);

#endif
