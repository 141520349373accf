/* classify: which packets are Channel Access, and which end is the server.
 *
 * A packet is CA when one end is the server or repeater port (5064/5065 or
 * as configured), a port the user named (--port), a TCP server endpoint
 * learned from a search reply or a beacon, or a repeater client learned
 * from its registration.  Direction comes from the ports, never from the
 * message fields.
 *
 * A server learned from an announcement is pending, as in the kernel
 * (include/catrace_record.h, struct learned_server): anybody can forge a
 * beacon or a search reply, so only its flows that open like a CA circuit
 * (classify_judge_flow) are CA.  One found by content, or confirmed, has
 * all its flows CA.
 */
#ifndef CATRACE_CLASSIFY_H
#define CATRACE_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "ca_decode.h"
#include "flow.h"
#include "hmap.h"
#include "pkt.h"

#define CLASSIFY_MAX_USER_PORTS 32
#define CLASSIFY_MAX_LEARNED    65536

enum ca_role {
	ROLE_NONE,       /* not CA */
	ROLE_SERVER,     /* UDP/TCP to or from a CA server */
	ROLE_REPEATER,   /* UDP to or from a repeater (or a repeater client) */
};

struct classify {
	uint16_t server_port;
	uint16_t repeater_port;
	uint16_t user_ports[CLASSIFY_MAX_USER_PORTS];
	unsigned n_user_ports;
	struct hmap servers;     /* (ip, port) -> 1: learned TCP servers */
	struct hmap rep_clients; /* (ip, port) -> 1: clients of a repeater */
	struct hmap udp_clients; /* (0, port) -> 1: ports clients search from */
	struct hmap opening;     /* flow_key -> struct classify_opening *: flows
				  * of pending servers seen opening, unjudged */
	struct hmap admitted;    /* flow_key -> 1: flows of pending servers
				  * that opened like CA, until they close */
	uint64_t learned_total;
	uint64_t learned_refused;   /* flows of pending servers refused */
	uint64_t learned_admitted;  /* ... and admitted */
	uint64_t learned_expired;   /* pending servers forgotten */
	uint64_t now_ns;            /* the packet's time (the caller sets it) */
	uint64_t ttl_ns;            /* pending servers live this long unrefreshed
				     * (0: for ever) */
};

struct classified {
	enum ca_role role;
	enum ca_dir dir;
	struct flow_key key;     /* client end first */
	bool pending;            /* TCP of a pending learned server: only
				  * classify_judge_flow says whether it is CA */
};

/* Where the streams of a flow to a pending server start. */
struct classify_opening {
	uint32_t cli_isn;
	uint32_t srv_isn;
	bool srv_seen;           /* the server's SYN-ACK came */
	unsigned n_early;        /* payloads ahead of the stream's start (offline) */
};

/* Offline, a capture may hold a flow's second segment before its first
 * (reordered): a few such early payloads wait for the first one to judge
 * the flow by, instead of refusing it. */
#define CLASSIFY_EARLY_MAX 4
#define CLASSIFY_EARLY_WINDOW (1u << 16)  /* bytes ahead of the start */

enum classify_flow_verdict {
	CLASSIFY_FLOW_NOT_CA,    /* refused, or not seen opening */
	CLASSIFY_FLOW_OPENING,   /* its SYN or SYN-ACK: remembered, no bytes */
	CLASSIFY_FLOW_ADMITTED,  /* this payload opens it like CA: the caller
				  * replays the opening (*open) first */
	CLASSIFY_FLOW_CA,        /* admitted earlier */
	CLASSIFY_FLOW_EARLY,     /* a payload ahead of the stream's start: the
				  * caller keeps it until the flow is judged */
};

void classify_init(struct classify *c, uint16_t server_port, uint16_t repeater_port);
void classify_free(struct classify *c);
bool classify_add_port(struct classify *c, uint16_t port);

/* Decide for one packet.  `known_flow` says whether the TCP flow is
 * already tracked (in either orientation), for ports learned by content. */
bool classify_packet(const struct classify *c, const struct pkt *p,
		     struct classified *out);

/* A packet `cl->pending` says is of a pending server's flow: the flow is
 * CA only when its first payload, at its stream's start, begins with a
 * VERSION believable going its way (the kernel's rule: bpf/catrace_hook.bpf.h,
 * judge_pending_flow). */
enum classify_flow_verdict classify_judge_flow(struct classify *c, const struct pkt *p,
					       const struct classified *cl,
					       struct classify_opening *open);
/* The flow closed: an admitted one is forgotten with it. */
void classify_forget_flow(struct classify *c, const struct flow_key *k);

/* Learning from what has been decoded: an announced server is pending, a
 * confirmed one (found by content, or named) has all its flows CA. */
void classify_learn_server(struct classify *c, uint32_t ip, uint16_t port);
void classify_confirm_server(struct classify *c, uint32_t ip, uint16_t port);
bool classify_is_server(const struct classify *c, uint32_t ip, uint16_t port);
void classify_learn_repeater_client(struct classify *c, uint32_t ip, uint16_t port);
/* A client searched from this UDP port.  libca, shutting down, wakes its
 * own receive thread with a VERSION datagram sent to that port from that
 * port (on loopback): such a datagram is CA too. */
void classify_learn_udp_client(struct classify *c, uint16_t port);
/* A TCP payload that starts like a client opening a circuit: VERSION
 * followed by CLIENT_NAME, HOST_NAME or CREATE_CHAN. */
bool classify_looks_like_circuit_open(const uint8_t *d, uint32_t len);

#endif
