/* classify: see classify.h. */
#include "classify.h"

#include "catrace_record.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct endpoint_key {
	uint32_t ip;
	uint16_t port;
	uint16_t pad;
};

static struct endpoint_key ep(uint32_t ip, uint16_t port)
{
	struct endpoint_key k;

	memset(&k, 0, sizeof(k));
	k.ip = ip;
	k.port = port;
	return k;
}

void classify_init(struct classify *c, uint16_t server_port, uint16_t repeater_port)
{
	memset(c, 0, sizeof(*c));
	c->server_port = server_port;
	c->repeater_port = repeater_port;
	hmap_init(&c->servers, sizeof(struct endpoint_key));
	hmap_init(&c->rep_clients, sizeof(struct endpoint_key));
	hmap_init(&c->udp_clients, sizeof(struct endpoint_key));
	hmap_init(&c->opening, sizeof(struct flow_key));
	hmap_init(&c->admitted, sizeof(struct flow_key));
	c->ttl_ns = LEARNED_TTL_NS_DEFAULT;
}

void classify_free(struct classify *c)
{
	size_t it;
	void *v;

	for (it = 0; hmap_next(&c->opening, &it, NULL, &v);)
		free(v);
	for (it = 0; hmap_next(&c->servers, &it, NULL, &v);)
		free(v);
	hmap_free(&c->opening);
	hmap_free(&c->admitted);
	hmap_free(&c->servers);
	hmap_free(&c->rep_clients);
	hmap_free(&c->udp_clients);
}

bool classify_add_port(struct classify *c, uint16_t port)
{
	if (c->n_user_ports >= CLASSIFY_MAX_USER_PORTS)
		return false;
	c->user_ports[c->n_user_ports++] = port;
	return true;
}

static bool is_server_port(const struct classify *c, uint16_t port)
{
	unsigned i;

	if (port == c->server_port)
		return true;
	for (i = 0; i < c->n_user_ports; i++)
		if (c->user_ports[i] == port)
			return true;
	return false;
}

/* A learned server, as the kernel's struct learned_server: when an
 * announcement or an admitted flow last refreshed it (the capture's
 * clock), and whether every flow of it is CA. */
struct known_server {
	uint64_t seen_ns;
	bool confirmed;
};

static struct known_server *server_get(const struct classify *c, uint32_t ip, uint16_t port)
{
	struct endpoint_key k = ep(ip, port);

	return hmap_get(&c->servers, &k);
}

bool classify_is_server(const struct classify *c, uint32_t ip, uint16_t port)
{
	return server_get(c, ip, port) != NULL;
}

static bool is_confirmed_server(const struct classify *c, uint32_t ip, uint16_t port)
{
	struct known_server *s = server_get(c, ip, port);

	return s && s->confirmed;
}

static void learn(struct hmap *m, uint64_t *total, uint32_t ip, uint16_t port)
{
	struct endpoint_key k = ep(ip, port);

	if (hmap_get(m, &k))
		return;
	/* Bounded: a capture full of forged replies must not grow this
	 * without limit; past the bound new endpoints are not learned. */
	if (hmap_count(m) >= CLASSIFY_MAX_LEARNED)
		return;
	if (hmap_put(m, &k, (void *)1, NULL))
		(*total)++;
}

/* Learned (pending), or refreshed when known: returns it, NULL when it
 * could not be. */
static struct known_server *learn_server(struct classify *c, uint32_t ip, uint16_t port)
{
	struct endpoint_key k = ep(ip, port);
	struct known_server *s = hmap_get(&c->servers, &k);

	if (port == 0 || ip == 0 || ip == 0xFFFFFFFFu)
		return NULL;
	if (!s) {
		/* Bounded, as learn(). */
		if (hmap_count(&c->servers) >= CLASSIFY_MAX_LEARNED)
			return NULL;
		s = calloc(1, sizeof(*s));
		if (!s || !hmap_put(&c->servers, &k, s, NULL)) {
			free(s);
			return NULL;
		}
		c->learned_total++;
	}
	s->seen_ns = c->now_ns;
	return s;
}

void classify_learn_server(struct classify *c, uint32_t ip, uint16_t port)
{
	learn_server(c, ip, port);
}

void classify_confirm_server(struct classify *c, uint32_t ip, uint16_t port)
{
	struct known_server *s = learn_server(c, ip, port);

	if (s)
		s->confirmed = true;
}

/* The server of a pending flow, forgotten when nothing refreshed it for
 * the TTL (the kernel's rule, bpf/catrace.bpf.c learned_verdict); the
 * capture's time, not the clock's.  True when it was. */
static bool server_expired(struct classify *c, const struct flow_key *k)
{
	struct endpoint_key ek = ep(k->srv_ip, k->srv_port);
	struct known_server *s = hmap_get(&c->servers, &ek);

	if (!s || !c->ttl_ns || c->now_ns < s->seen_ns || c->now_ns - s->seen_ns <= c->ttl_ns)
		return false;
	free(hmap_del(&c->servers, &ek));
	c->learned_expired++;
	return true;
}

static void server_refresh(struct classify *c, const struct flow_key *k)
{
	struct known_server *s = server_get(c, k->srv_ip, k->srv_port);

	if (s)
		s->seen_ns = c->now_ns;
}

void classify_learn_repeater_client(struct classify *c, uint32_t ip, uint16_t port)
{
	learn(&c->rep_clients, &c->learned_total, ip, port);
}

void classify_learn_udp_client(struct classify *c, uint16_t port)
{
	learn(&c->udp_clients, &c->learned_total, 0, port);
}

static void set_key(struct classified *o, enum ca_dir dir, const struct pkt *p)
{
	o->dir = dir;
	if (dir == CA_DIR_REQUEST) {
		o->key.cli_ip = p->src_ip;
		o->key.cli_port = p->sport;
		o->key.srv_ip = p->dst_ip;
		o->key.srv_port = p->dport;
	} else {
		o->key.cli_ip = p->dst_ip;
		o->key.cli_port = p->dport;
		o->key.srv_ip = p->src_ip;
		o->key.srv_port = p->sport;
	}
}

static bool classify_udp(const struct classify *c, const struct pkt *p,
			 struct classified *o)
{
	struct endpoint_key k;

	if (is_server_port(c, p->dport)) {
		o->role = ROLE_SERVER;
		set_key(o, CA_DIR_REQUEST, p);
	} else if (is_server_port(c, p->sport)) {
		o->role = ROLE_SERVER;
		set_key(o, CA_DIR_RESPONSE, p);
	} else if (p->dport == c->repeater_port) {
		o->role = ROLE_REPEATER;
		set_key(o, CA_DIR_REQUEST, p);
	} else if (p->sport == c->repeater_port) {
		o->role = ROLE_REPEATER;
		set_key(o, CA_DIR_RESPONSE, p);
	} else {
		/* caRepeater answers each client from a socket of its own:
		 * what goes to a registered client is repeater traffic. */
		k = ep(p->dst_ip, p->dport);
		if (hmap_get(&c->rep_clients, &k)) {
			o->role = ROLE_REPEATER;
			set_key(o, CA_DIR_RESPONSE, p);
			return true;
		}
		k = ep(0, p->dport);
		if (p->sport == p->dport && hmap_get(&c->udp_clients, &k)) {
			o->role = ROLE_SERVER;
			set_key(o, CA_DIR_REQUEST, p);
			return true;
		}
		return false;
	}
	return true;
}

static bool classify_tcp(const struct classify *c, const struct pkt *p,
			 struct classified *o)
{
	o->role = ROLE_SERVER;
	if (is_server_port(c, p->dport) || classify_is_server(c, p->dst_ip, p->dport)) {
		set_key(o, CA_DIR_REQUEST, p);
		o->pending = !is_server_port(c, p->dport) &&
			     !is_confirmed_server(c, p->dst_ip, p->dport);
		return true;
	}
	if (is_server_port(c, p->sport) || classify_is_server(c, p->src_ip, p->sport)) {
		set_key(o, CA_DIR_RESPONSE, p);
		o->pending = !is_server_port(c, p->sport) &&
			     !is_confirmed_server(c, p->src_ip, p->sport);
		return true;
	}
	o->role = ROLE_NONE;
	return false;
}

/* Does the payload start with a VERSION believable going this way? */
static bool starts_with_version(const struct pkt *p, enum ca_dir dir)
{
	struct ca_hdr h;

	if (ca_hdr_parse(p->payload, p->payload_len, &h) != CA_HDR_OK)
		return false;
	return h.cmd == CA_PROTO_VERSION && h.hdr_len == CA_HDR_LEN &&
	       ca_hdr_plausible(&h, dir, true, false);
}

/* A SYN of a flow to a pending server: where its streams start. */
static enum classify_flow_verdict remember_opening(struct classify *c, const struct pkt *p,
						   const struct classified *cl)
{
	struct classify_opening *o = hmap_get(&c->opening, &cl->key);

	if (cl->dir == CA_DIR_REQUEST) {
		if (!o) {
			if (hmap_count(&c->opening) >= CLASSIFY_MAX_LEARNED)
				return CLASSIFY_FLOW_NOT_CA;
			o = malloc(sizeof(*o));
			if (!o || !hmap_put(&c->opening, &cl->key, o, NULL)) {
				free(o);
				return CLASSIFY_FLOW_NOT_CA;
			}
		}
		memset(o, 0, sizeof(*o));
		o->cli_isn = p->seq;
		return CLASSIFY_FLOW_OPENING;
	}
	if (!o)
		return CLASSIFY_FLOW_NOT_CA;
	o->srv_isn = p->seq;
	o->srv_seen = true;
	return CLASSIFY_FLOW_OPENING;
}

enum classify_flow_verdict classify_judge_flow(struct classify *c, const struct pkt *p,
					       const struct classified *cl,
					       struct classify_opening *open)
{
	struct classify_opening *o;
	uint32_t start;
	bool ok;

	if (hmap_get(&c->admitted, &cl->key)) {
		server_refresh(c, &cl->key);  /* a live circuit keeps it known */
		return CLASSIFY_FLOW_CA;
	}
	if (server_expired(c, &cl->key))
		return CLASSIFY_FLOW_NOT_CA;
	if (p->tcp_flags & TCPF_SYN)
		return remember_opening(c, p, cl);
	o = hmap_get(&c->opening, &cl->key);
	if (!o)
		return CLASSIFY_FLOW_NOT_CA;
	if (p->payload_wire_len == 0) {
		if (p->tcp_flags & (TCPF_FIN | TCPF_RST))
			free(hmap_del(&c->opening, &cl->key));
		return CLASSIFY_FLOW_NOT_CA;
	}
	start = cl->dir == CA_DIR_REQUEST ? o->cli_isn + 1 : o->srv_isn + 1;
	if (p->seq != start && (uint32_t)(p->seq - start) < CLASSIFY_EARLY_WINDOW &&
	    (cl->dir == CA_DIR_REQUEST || o->srv_seen) && o->n_early < CLASSIFY_EARLY_MAX) {
		o->n_early++;
		return CLASSIFY_FLOW_EARLY;
	}
	ok = (cl->dir == CA_DIR_REQUEST || o->srv_seen) && p->seq == start &&
	     starts_with_version(p, cl->dir);
	*open = *o;
	free(hmap_del(&c->opening, &cl->key));
	if (!ok || !hmap_put(&c->admitted, &cl->key, (void *)1, NULL)) {
		c->learned_refused++;
		return CLASSIFY_FLOW_NOT_CA;
	}
	c->learned_admitted++;
	return CLASSIFY_FLOW_ADMITTED;
}

void classify_forget_flow(struct classify *c, const struct flow_key *k)
{
	hmap_del(&c->admitted, k);
}

bool classify_packet(const struct classify *c, const struct pkt *p,
		     struct classified *out)
{
	memset(out, 0, sizeof(*out));
	if (p->proto == IPPROTO_UDP)
		return classify_udp(c, p, out);
	return classify_tcp(c, p, out);
}

bool classify_looks_like_circuit_open(const uint8_t *d, uint32_t len)
{
	struct ca_hdr v, next;

	if (ca_hdr_parse(d, len, &v) != CA_HDR_OK || v.cmd != CA_PROTO_VERSION ||
	    !ca_hdr_plausible(&v, CA_DIR_REQUEST, true, false))
		return false;
	if (ca_hdr_parse(d + v.hdr_len, len - v.hdr_len, &next) != CA_HDR_OK)
		return false;
	if (next.cmd != CA_PROTO_CLIENT_NAME && next.cmd != CA_PROTO_HOST_NAME &&
	    next.cmd != CA_PROTO_CREATE_CHAN)
		return false;
	return ca_hdr_plausible(&next, CA_DIR_REQUEST, true, false);
}
