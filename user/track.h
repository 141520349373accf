/* track: gives every CA message the PV name it concerns.
 *
 * Per circuit (client ip:port <-> server ip:port): CREATE_CHAN requests
 * name a cid, the reply binds it to a sid; requests that name a sid bind
 * an ioid or a subscription id; replies find the channel through those.
 * Over UDP, searches bind (client, cid) to a name for the replies.  All
 * tables are freed when a channel or circuit ends, and every table is
 * bounded, whatever the traffic: channels (TCP searches included) and
 * circuits are evicted least recently used first, the UDP search table
 * forgets its oldest entries, and request ids past their bound are not
 * tracked (their replies then have no name).  The counters in
 * track_stats say when a bound was reached.
 */
#ifndef CATRACE_TRACK_H
#define CATRACE_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca_decode.h"
#include "flow.h"
#include "hmap.h"

#define TRACK_SEARCH_CAP   (1u << 18)  /* UDP searches remembered */
#define TRACK_SEARCH_RING_MIN 256      /* the ring grows from this, on demand */
#define TRACK_PENDING_CAP  (1u << 16)  /* ioids, subscriptions per circuit */
#define TRACK_IDS_CAP      (1u << 20)  /* ioids and subscriptions in all */
#define TRACK_CHAN_CAP     (1u << 18)  /* channels and TCP searches in all */
#define TRACK_CIRCUIT_CAP  (1u << 16)
/* Bytes of a client's user or host name kept per circuit: Linux login
 * names and host names are shorter, and a longer "name" must not make a
 * circuit cost what its payload does. */
#define TRACK_CLIENT_NAME_MAX 64

struct search_ring_item;
struct chan;
struct dbr_enum_names;
struct circuit;

struct track_stats {
	uint64_t chans_evicted;      /* least recently used channels forgotten */
	uint64_t circuits_evicted;
	uint64_t ids_untracked;      /* ioids/subscriptions past their bound */
	uint64_t searches_forgotten; /* UDP searches pushed out of the ring */
	uint64_t sids_inferred;      /* lost CREATE_CHAN replies worked out */
};

struct track {
	struct hmap circuits;       /* flow_key -> struct circuit* */
	struct hmap searches;       /* search_key -> struct search_ent* */
	struct search_ring_item *ring;
	size_t ring_head, ring_len, ring_cap;
	uint64_t serial;
	uint64_t channels_open;
	size_t n_chans;             /* channels and TCP searches held */
	size_t n_ids;               /* ioid and subscription bindings held */
	struct chan *chan_lru, *chan_lru_tail;       /* head: most recent */
	struct circuit *circ_lru, *circ_lru_tail;
	struct track_stats stats;
	void *scratch;  /* a closed channel whose name was just handed out */
	/* The circuit of the previous message: consecutive messages mostly
	 * share one, which spares a hash lookup per message. */
	struct circuit *last;
	struct flow_key last_key;
};

/* The name found for a message.  `name` stays valid until the next call,
 * and, for a request that carries its own name (SEARCH, CREATE_CHAN), only
 * as long as that message's payload does. */
struct track_name {
	const char *name;
	size_t len;
	/* When name is NULL for a message about a channel: why it has none
	 * (a static string); NULL for messages that concern no channel. */
	const char *why;
	/* The channel's enum state names, when a GR/CTRL_ENUM reply gave
	 * them (valid as long as name is); and the channel, for
	 * track_set_enums. */
	const struct dbr_enum_names *enums;
	struct chan *chan;
};

#define TRACK_WHY_CIRCUIT "circuit opened before the trace began"
#define TRACK_WHY_CHANNEL "channel not seen created (before the trace began, lost from the capture, or forgotten)"
#define TRACK_WHY_SEARCH  "search not seen"

/* Who a circuit's client says it is (CLIENT_NAME, HOST_NAME), for the
 * write audit.  Names are cut at TRACK_CLIENT_NAME_MAX bytes; a name the
 * client never sent has len 0 and has_* false. */
struct track_client {
	char user[TRACK_CLIENT_NAME_MAX + 1];
	char host[TRACK_CLIENT_NAME_MAX + 1];
	size_t user_len, host_len;
	bool has_user, has_host;
};

void track_init(struct track *t);
void track_free(struct track *t);

/* Update the tables with this message and return the PV it concerns
 * (name NULL when unknown). */
struct track_name track_msg(struct track *t, const struct flow_key *k,
			    const struct ca_msg *m);
void track_circuit_close(struct track *t, const struct flow_key *k);
/* Remember the state names of the channel track_msg just named. */
void track_set_enums(struct track *t, struct track_name *n, const struct dbr_enum_names *e);
/* The client names of a TCP circuit; NULL when the circuit is unknown. */
const struct track_client *track_client(const struct track *t,
					const struct flow_key *k);

/* The channel table, kept across runs (user/chanmem.c): every named
 * channel with its server id, and every subscription bound to one. */
struct track_saved_chan {
	struct flow_key key;
	uint32_t cid, sid;
	bool has_sid;
	const char *name;
	size_t len;
};
struct track_saved_sub {
	struct flow_key key;
	uint32_t subid, cid;
};
struct track_export_fns {
	void (*chan)(void *ctx, const struct track_saved_chan *c);
	void (*sub)(void *ctx, const struct track_saved_sub *s);
	void *ctx;
};
void track_export(const struct track *t, const struct track_export_fns *fns);
/* Put back what an earlier run saw; what this run sees replaces it.
 * False when it could not be kept (memory, bounds). */
bool track_import_chan(struct track *t, const struct track_saved_chan *c);
bool track_import_sub(struct track *t, const struct track_saved_sub *s);

/* Name carried in a message's payload (SEARCH, CREATE_CHAN, CLIENT_NAME,
 * HOST_NAME): bytes up to the first NUL.  *terminated is false when no NUL
 * was found within the payload bytes available. */
struct track_name ca_payload_name(const struct ca_msg *m, bool *terminated);

#endif
