/* classify: which packets are Channel Access, and which end is the server.
 *
 * A packet is CA when one end is the server or repeater port (5064/5065 or
 * as configured), a port the user named (--port), a TCP server endpoint
 * learned from a search reply or a beacon, or a repeater client learned
 * from its registration.  Direction comes from the ports, never from the
 * message fields.
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
	uint64_t learned_total;
};

struct classified {
	enum ca_role role;
	enum ca_dir dir;
	struct flow_key key;     /* client end first */
};

void classify_init(struct classify *c, uint16_t server_port, uint16_t repeater_port);
void classify_free(struct classify *c);
bool classify_add_port(struct classify *c, uint16_t port);

/* Decide for one packet.  `known_flow` says whether the TCP flow is
 * already tracked (in either orientation), for ports learned by content. */
bool classify_packet(const struct classify *c, const struct pkt *p,
		     struct classified *out);

/* Learning from what has been decoded. */
void classify_learn_server(struct classify *c, uint32_t ip, uint16_t port);
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
