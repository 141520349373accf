/* midstream: circuits joined after their start; see midstream.h. */
#include "midstream.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "ca_decode.h"
#include "ca_proto.h"

struct cand_key {
	uint32_t ip_lo, ip_hi;     /* the two ends, in a fixed order */
	uint16_t port_lo, port_hi;
};

struct midstream_cand {
	uint32_t srv_ip;
	uint16_t srv_port;
	unsigned hits;             /* evidence segments in a row */
	struct frame kept[MIDSTREAM_SEGMENTS - 1];
	unsigned n_kept;
};

void midstream_init(struct midstream *m)
{
	memset(m, 0, sizeof(*m));
	hmap_init(&m->cand, sizeof(struct cand_key));
}

static void cand_drop_frames(struct midstream_cand *c)
{
	unsigned i;

	for (i = 0; i < c->n_kept; i++)
		free((void *)c->kept[i].data);
	c->n_kept = 0;
}

static void cands_clear(struct midstream *m)
{
	size_t it;
	void *v;

	for (it = 0; hmap_next(&m->cand, &it, NULL, &v);) {
		cand_drop_frames(v);
		free(v);
	}
	hmap_free(&m->cand);
	hmap_init(&m->cand, sizeof(struct cand_key));
}

void midstream_free(struct midstream *m)
{
	cands_clear(m);
	hmap_free(&m->cand);
}

void midstream_release(struct midstream_found *out)
{
	unsigned i;

	for (i = 0; i < out->n; i++)
		free((void *)out->frames[i].data);
	out->n = 0;
}

/* Messages in d[0..len) going `dir`: how many, when they are whole and
 * exactly sized and the last ends with the bytes; 0 otherwise. */
static unsigned whole_messages(const uint8_t *d, uint32_t len, enum ca_dir dir)
{
	uint64_t off = 0;
	unsigned n = 0;

	while (off < len) {
		struct ca_hdr h;

		if (ca_hdr_parse(d + off, len - off, &h) != CA_HDR_OK ||
		    !ca_hdr_plausible(&h, dir, true, true))
			return 0;
		off += (uint64_t)h.hdr_len + h.size;
		n++;
	}
	return off == len ? n : 0;
}

static struct cand_key key_of(const struct pkt *p)
{
	struct cand_key k;

	memset(&k, 0, sizeof(k));
	if (p->src_ip < p->dst_ip || (p->src_ip == p->dst_ip && p->sport < p->dport)) {
		k.ip_lo = p->src_ip;
		k.port_lo = p->sport;
		k.ip_hi = p->dst_ip;
		k.port_hi = p->dport;
	} else {
		k.ip_lo = p->dst_ip;
		k.port_lo = p->dport;
		k.ip_hi = p->src_ip;
		k.port_hi = p->sport;
	}
	return k;
}

static struct midstream_cand *cand_for(struct midstream *m, const struct cand_key *k)
{
	struct midstream_cand *c = hmap_get(&m->cand, k);

	if (c)
		return c;
	if (hmap_count(&m->cand) >= MIDSTREAM_FLOWS) {
		cands_clear(m);
		m->resets++;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (!hmap_put(&m->cand, k, c, NULL)) {
		free(c);
		return NULL;
	}
	return c;
}

static void cand_forget(struct midstream *m, const struct cand_key *k,
			struct midstream_cand *c)
{
	hmap_del(&m->cand, k);
	cand_drop_frames(c);
	free(c);
}

static void cand_keep(struct midstream_cand *c, const struct frame *f)
{
	uint8_t *copy;

	if (c->n_kept >= MIDSTREAM_SEGMENTS - 1 || f->caplen > MIDSTREAM_FRAME_MAX)
		return;
	copy = malloc(f->caplen ? f->caplen : 1);
	if (!copy)
		return;
	memcpy(copy, f->data, f->caplen);
	c->kept[c->n_kept] = *f;
	c->kept[c->n_kept].data = copy;
	c->n_kept++;
}

bool midstream_segment(struct midstream *m, const struct pkt *p, const struct frame *f,
		       struct midstream_found *out)
{
	struct cand_key k;
	struct midstream_cand *c;
	unsigned as_rsp, as_req;
	uint32_t srv_ip;
	uint16_t srv_port;

	if (p->proto != IPPROTO_TCP || !p->payload_len || p->payload_len != p->payload_wire_len)
		return false;
	as_rsp = whole_messages(p->payload, p->payload_len, CA_DIR_RESPONSE);
	as_req = whole_messages(p->payload, p->payload_len, CA_DIR_REQUEST);
	k = key_of(p);
	c = hmap_get(&m->cand, &k);
	if (!as_rsp == !as_req) {
		/* Not CA messages: this flow is not one (yet) -- start over.
		 * Both ways (an ECHO): no word on which end serves. */
		if (c && !as_rsp)
			cand_forget(m, &k, c);
		return false;
	}
	srv_ip = as_rsp ? p->src_ip : p->dst_ip;
	srv_port = as_rsp ? p->sport : p->dport;
	c = cand_for(m, &k);
	if (!c)
		return false;
	if (c->hits && (c->srv_ip != srv_ip || c->srv_port != srv_port)) {
		cand_drop_frames(c);
		c->hits = 0;
	}
	c->srv_ip = srv_ip;
	c->srv_port = srv_port;
	if (++c->hits < MIDSTREAM_SEGMENTS) {
		cand_keep(c, f);
		return false;
	}
	out->srv_ip = srv_ip;
	out->srv_port = srv_port;
	out->n = c->n_kept;
	memcpy(out->frames, c->kept, c->n_kept * sizeof(c->kept[0]));
	c->n_kept = 0;     /* the frames are out's now */
	cand_forget(m, &k, c);
	m->found++;
	return true;
}

struct midstream_oldest midstream_oldest_kept(const struct midstream *m)
{
	struct midstream_oldest o = { UINT64_MAX, UINT64_MAX };
	size_t it;
	void *v;
	unsigned i;

	for (it = 0; hmap_next(&m->cand, &it, NULL, &v);) {
		const struct midstream_cand *c = v;

		for (i = 0; i < c->n_kept; i++) {
			if (c->kept[i].number < o.frame)
				o.frame = c->kept[i].number;
			if (c->kept[i].ts_ns < o.ts_ns)
				o.ts_ns = c->kept[i].ts_ns;
		}
	}
	return o;
}
