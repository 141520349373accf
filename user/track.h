/* track: gives every CA message the PV name it concerns.
 *
 * Per circuit (client ip:port <-> server ip:port): CREATE_CHAN requests
 * name a cid, the reply binds it to a sid; requests that name a sid bind
 * an ioid or a subscription id; replies find the channel through those.
 * Over UDP, searches bind (client, cid) to a name for the replies.  All
 * tables are freed when a channel or circuit ends; the UDP search table
 * is bounded and forgets its oldest entries first.
 */
#ifndef CATRACE_TRACK_H
#define CATRACE_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "ca_decode.h"
#include "flow.h"
#include "hmap.h"

#define TRACK_SEARCH_CAP   (1u << 18)
#define TRACK_PENDING_CAP  (1u << 16)  /* ioids per circuit awaiting a reply */

struct search_ring_item;

struct track {
	struct hmap circuits;       /* flow_key -> struct circuit* */
	struct hmap searches;       /* search_key -> struct search_ent* */
	struct search_ring_item *ring;
	size_t ring_head, ring_len;
	uint64_t serial;
	uint64_t channels_open;
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
};

void track_init(struct track *t);
void track_free(struct track *t);

/* Update the tables with this message and return the PV it concerns
 * (name NULL when unknown). */
struct track_name track_msg(struct track *t, const struct flow_key *k,
			    const struct ca_msg *m);
void track_circuit_close(struct track *t, const struct flow_key *k);

/* Name carried in a message's payload (SEARCH, CREATE_CHAN, CLIENT_NAME,
 * HOST_NAME): bytes up to the first NUL.  *terminated is false when no NUL
 * was found within the payload bytes available. */
struct track_name ca_payload_name(const struct ca_msg *m, bool *terminated);

#endif
