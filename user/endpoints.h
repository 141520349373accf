/* endpoints: the clients of catrace top, one per socket (ip:port, udp or
 * tcp), with what they asked and what they were sent (a monitor's client
 * asks once and then only receives), in total and over the last seconds,
 * when they were last heard, and who they are: the user a circuit announced
 * (CLIENT_NAME) and the local process that owns the socket (live).
 *
 * Bounded: an endpoint silent for ENDPOINTS_IDLE_NS is forgotten (a host
 * running caget in a loop makes a new one each time), and a full table
 * forgets its least recently heard eighth at once, so a churn of new
 * endpoints costs a constant amount per endpoint. */
#ifndef CATRACE_ENDPOINTS_H
#define CATRACE_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"
#include "window.h"

#define ENDPOINTS_MAX 4096
#define ENDPOINTS_IDLE_NS (120ull * 1000000000)
#define ENDPOINT_USER_MAX 32

/* Lanes of an endpoint's window. */
enum { ENDPOINT_LANE_REQUESTS, ENDPOINT_LANE_SEARCHES, ENDPOINT_LANE_UPDATES };

struct endpoint {
	uint32_t ip;
	uint16_t port;
	bool tcp;
	uint64_t requests;          /* requests of any kind, searches included */
	uint64_t searches;
	uint64_t updates;           /* monitor updates sent to it */
	uint64_t last_ns;
	struct window win;
	char user[ENDPOINT_USER_MAX + 1];   /* "" when unknown */
	int32_t pid;                        /* 0 when unknown */
	char comm[17];
};

struct endpoints {
	struct hmap map;            /* struct endpoint_key -> struct endpoint* */
	uint64_t forgotten;         /* idle or evicted */
};

/* What one request says about its sender. */
struct endpoint_seen {
	uint32_t ip;
	uint16_t port;
	bool tcp;
	bool search;
	bool update;                /* a monitor update to it, not a request */
	uint64_t ts_ns;
	const char *user;           /* NULL or not NUL-terminated: user_len */
	size_t user_len;
	int32_t pid;                /* 0: not known */
	const char *comm;
};

void endpoints_init(struct endpoints *e);
void endpoints_free(struct endpoints *e);
/* Count one request from, or monitor update to, an endpoint; false when
 * no entry could be made (no memory). */
bool endpoints_seen(struct endpoints *e, const struct endpoint_seen *s);
/* Forget endpoints silent since before now_ns - ENDPOINTS_IDLE_NS. */
void endpoints_expire(struct endpoints *e, uint64_t now_ns);
/* The endpoints in a new array sorted by cmp (NULL if none: free it). */
const struct endpoint **endpoints_sorted(const struct endpoints *e, size_t *n,
					 int (*cmp)(const void *, const void *));

#endif
