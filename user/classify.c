/* classify: see classify.h. */
#include "classify.h"

#include <netinet/in.h>
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
}

void classify_free(struct classify *c)
{
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

bool classify_is_server(const struct classify *c, uint32_t ip, uint16_t port)
{
	struct endpoint_key k = ep(ip, port);

	return hmap_get(&c->servers, &k) != NULL;
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

void classify_learn_server(struct classify *c, uint32_t ip, uint16_t port)
{
	if (port == 0 || ip == 0 || ip == 0xFFFFFFFFu)
		return;
	learn(&c->servers, &c->learned_total, ip, port);
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
		return true;
	}
	if (is_server_port(c, p->sport) || classify_is_server(c, p->src_ip, p->sport)) {
		set_key(o, CA_DIR_RESPONSE, p);
		return true;
	}
	o->role = ROLE_NONE;
	return false;
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
