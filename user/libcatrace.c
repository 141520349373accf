/* libcatrace: the public API (include/catrace.h) over the pipeline.
 *
 * The pipeline pushes messages (a frame may carry several, the end of a
 * capture flushes many); the API pulls them one at a time.  So each
 * message that passes the filters is copied, with its formatted JSON
 * line, into a queue the handle owns; catrace_next hands them out and
 * reads more frames only when the queue is empty.  Entries keep their
 * buffers from one frame to the next, so a run allocates little. */
#include "catrace.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib_live.h"
#include "pcap_source.h"
#include "pipeline.h"
#include "pkt.h"

#ifndef CATRACE_LIB_VERSION
#define CATRACE_LIB_VERSION "0.1.0"
#endif

/* A message as handed out, and the buffers its pointers point into. */
struct lib_entry {
	struct catrace_msg m;
	char src[16], dst[16];
	char pv[CA_MAX_NAME_LEN + 1];
	char problem[sizeof(((struct ca_msg *)0)->problem)];
	bool has_pv;
	void *json, *raw;             /* buffers kept from message to message */
	size_t json_cap, raw_cap;
};

struct catrace {
	struct pipeline *pl;          /* NULL once closed */
	struct pcap_source *pcap;     /* offline */
	int linktype;
	struct lib_live *live;        /* live */
	bool ended;                   /* offline: the capture is read and flushed */
	bool started;                 /* a message was asked for: filters are set */
	bool oom;                     /* a message could not be queued */
	volatile int break_loop;
	int timeout_ms;
	char *owned[PIPELINE_MAX_PV_GLOBS + PIPELINE_MAX_CMDS];
	unsigned n_owned;             /* the filters' strings the pipeline points to */
	struct lib_entry *q;
	size_t n, head, cap;
	void *packed, *packed_data;   /* catrace_next_packed's buffers */
	size_t packed_cap, packed_data_cap;
	int pending;                  /* an error to return after packed messages */
	char err[CATRACE_ERRBUF_SIZE];
};

static int set_err(catrace_t *h, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_err(catrace_t *h, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->err, sizeof(h->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* A buffer of at least `need` bytes, grown by doubling and kept for the
 * next message; NULL when out of memory (the old one is still *buf). */
static void *room(void **buf, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 256;
	void *p;

	if (need <= *cap)
		return *buf;
	while (c < need)
		c *= 2;
	p = realloc(*buf, c);
	if (!p)
		return NULL;
	*buf = p;
	*cap = c;
	return p;
}

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v);
}

/* The header as it went on the wire: the decoder keeps its fields, not
 * its bytes, and the two forms are fully determined by them (the
 * extended one marks postsize 0xFFFF and count 0, then 32-bit ones). */
static size_t header_bytes(const struct ca_hdr *h, uint8_t *out)
{
	put_be16(out, h->cmd);
	put_be16(out + 4, h->dtype);
	put_be32(out + 8, h->p1);
	put_be32(out + 12, h->p2);
	if (!h->extended) {
		put_be16(out + 2, h->size);
		put_be16(out + 6, h->count);
		return CA_HDR_LEN;
	}
	put_be16(out + 2, 0xffff);
	put_be16(out + 6, 0);
	put_be32(out + 16, h->size);
	put_be32(out + 20, h->count);
	return CA_HDR_LEN + 8;
}

static bool fill_entry(struct lib_entry *e, const struct msg_ctx *c, const struct ca_msg *m,
		       const struct sbuf *line)
{
	struct catrace_msg *o = &e->m;
	uint8_t hdr[CA_HDR_LEN + 8];
	size_t hl = header_bytes(&m->h, hdr), n;

	if (!room(&e->json, &e->json_cap, line->len + 1) ||
	    !room(&e->raw, &e->raw_cap, hl + m->payload_len))
		return false;
	memcpy(e->json, sbuf_str(line), line->len);
	((char *)e->json)[line->len] = '\0';
	memcpy(e->raw, hdr, hl);
	if (m->payload_len)
		memcpy((uint8_t *)e->raw + hl, m->payload, m->payload_len);
	memset(o, 0, sizeof(*o));
	o->ts_ns = c->ts_ns;
	o->frame = c->frame;
	o->src_ip = c->src_ip;
	o->dst_ip = c->dst_ip;
	format_ip(e->src, sizeof(e->src), c->src_ip);
	format_ip(e->dst, sizeof(e->dst), c->dst_ip);
	o->sport = c->sport;
	o->dport = c->dport;
	o->tcp = c->tcp;
	o->dir = m->dir == CA_DIR_REQUEST ? CATRACE_DIR_REQUEST : CATRACE_DIR_RESPONSE;
	o->cmd = m->h.cmd;
	o->dtype = m->h.dtype;
	o->size = m->h.size;
	o->count = m->h.count;
	o->p1 = m->h.p1;
	o->p2 = m->h.p2;
	o->hdr_len = m->h.hdr_len;
	o->command = ca_command_name(&m->h, m->dir, m->tcp);
	if (c->pv) {
		n = c->pv_len < CA_MAX_NAME_LEN ? c->pv_len : CA_MAX_NAME_LEN;
		memcpy(e->pv, c->pv, n);
		e->pv[n] = '\0';
	}
	e->has_pv = c->pv != NULL;
	o->flags = m->flags;
	snprintf(e->problem, sizeof(e->problem), "%s", m->problem);
	o->json = e->json;
	o->json_len = line->len;
	o->raw = e->raw;
	o->raw_len = hl + m->payload_len;
	return true;
}

/* The pipeline's deliver hook: one message that passed the filters. */
static void enqueue(void *ctx, const struct msg_ctx *c, const struct ca_msg *m,
		    const struct sbuf *line)
{
	catrace_t *h = ctx;

	if (line->oom) {
		h->oom = true;
		return;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct lib_entry *q = realloc(h->q, cap * sizeof(*q));

		if (!q) {
			h->oom = true;
			return;
		}
		memset(q + h->cap, 0, (cap - h->cap) * sizeof(*q));
		h->q = q;
		h->cap = cap;
	}
	if (!fill_entry(&h->q[h->n], c, m, line)) {
		h->oom = true;
		return;
	}
	h->n++;
}

/* EPICS_CA_SERVER_PORT and EPICS_CA_REPEATER_PORT, as the program reads
 * them (cli_options.c); a value that is not a port leaves the default. */
static uint16_t env_port(const char *var, uint16_t dflt)
{
	const char *v = getenv(var);
	unsigned long p;
	char *end;

	if (!v || !*v)
		return dflt;
	p = strtoul(v, &end, 10);
	return *end || p < 1 || p > 65535 ? dflt : (uint16_t)p;
}

/* A handle with its pipeline set up as catrace -r --json sets it. */
static catrace_t *handle_new(char *errbuf)
{
	catrace_t *h = calloc(1, sizeof(*h));

	if (h)
		h->pl = calloc(1, sizeof(*h->pl));
	if (!h || !h->pl) {
		free(h);
		snprintf(errbuf, CATRACE_ERRBUF_SIZE, "out of memory");
		return NULL;
	}
	pipeline_init(h->pl, NULL);
	h->pl->out.style = OUT_JSON;
	h->pl->cls.server_port = env_port("EPICS_CA_SERVER_PORT", CA_SERVER_PORT_DEFAULT);
	h->pl->cls.repeater_port = env_port("EPICS_CA_REPEATER_PORT", CA_REPEATER_PORT_DEFAULT);
	h->pl->deliver = enqueue;
	h->pl->deliver_ctx = h;
	h->timeout_ms = 100;
	return h;
}

static catrace_t *offline_handle(struct pcap_source *src, const char *what, char *errbuf)
{
	catrace_t *h;

	if (!src)
		return NULL;
	h = handle_new(errbuf);
	if (!h) {
		pcap_source_close(src);
		return NULL;
	}
	h->pcap = src;
	h->linktype = pcap_source_linktype(src);
	if (!pkt_linktype_supported(h->linktype)) {
		snprintf(errbuf, CATRACE_ERRBUF_SIZE, "%s: unsupported link type %d (%s)", what,
			 h->linktype, pcap_source_linktype_name(h->linktype));
		catrace_free(h);
		return NULL;
	}
	return h;
}

catrace_t *catrace_open_offline(const char *path, char *errbuf)
{
	char err[PCAP_ERR_LEN];
	struct pcap_source *src;

	if (!path) {
		snprintf(errbuf, CATRACE_ERRBUF_SIZE, "no capture file given");
		return NULL;
	}
	src = pcap_source_open(path, err, sizeof(err));
	if (!src)
		/* The reason kept whole, the path cut when both do not fit. */
		snprintf(errbuf, CATRACE_ERRBUF_SIZE, "%.200s: %.300s",
			 strcmp(path, "-") ? path : "standard input", err);
	return offline_handle(src, path, errbuf);
}

catrace_t *catrace_fopen_offline(FILE *fp, char *errbuf)
{
	char err[PCAP_ERR_LEN];
	struct pcap_source *src;

	if (!fp) {
		snprintf(errbuf, CATRACE_ERRBUF_SIZE, "no stream given");
		return NULL;
	}
	src = pcap_source_fopen(fp, err, sizeof(err));
	if (!src) {
		/* Ours from the call on, failure or not: one rule for callers. */
		fclose(fp);
		snprintf(errbuf, CATRACE_ERRBUF_SIZE, "%.500s", err);
	}
	return offline_handle(src, "stream", errbuf);
}

catrace_t *catrace_open_live(const char *const *ifaces, unsigned n_ifaces, char *errbuf)
{
	catrace_t *h = handle_new(errbuf);

	if (!h)
		return NULL;
	h->live = lib_live_open(h->pl, ifaces, n_ifaces, errbuf, CATRACE_ERRBUF_SIZE);
	if (!h->live) {
		catrace_free(h);
		return NULL;
	}
	return h;
}

/* Setters: on an open handle, before the first message. */
static int settable(catrace_t *h, const char *what)
{
	if (!h->pl)
		return set_err(h, CATRACE_ERROR_CLOSED, "%s: the handle is closed", what);
	if (h->started)
		return set_err(h, CATRACE_ERROR, "%s: set filters before the first message", what);
	return CATRACE_OK;
}

static char *own(catrace_t *h, const char *s)
{
	char *c;

	if (h->n_owned == sizeof(h->owned) / sizeof(h->owned[0]))
		return NULL;
	c = strdup(s);
	if (c)
		h->owned[h->n_owned++] = c;
	return c;
}

int catrace_set_pv(catrace_t *h, const char *glob)
{
	int rc = settable(h, "pv");
	char *g;

	if (rc)
		return rc;
	if (!glob || !*glob)
		return set_err(h, CATRACE_ERROR, "pv: an empty pattern matches no PV");
	if (h->pl->n_pv_globs >= PIPELINE_MAX_PV_GLOBS)
		return set_err(h, CATRACE_ERROR, "pv: at most %d patterns", PIPELINE_MAX_PV_GLOBS);
	g = own(h, glob);
	if (!g)
		return set_err(h, CATRACE_ERROR, "out of memory");
	h->pl->pv_globs[h->pl->n_pv_globs++] = g;
	return CATRACE_OK;
}

/* "ReadNotify,SEARCH,15": every token checked before any is taken. */
int catrace_set_cmd(catrace_t *h, const char *list)
{
	int rc = settable(h, "cmd");
	char *copy, *tok, *save = NULL;
	unsigned n = 0;

	if (rc)
		return rc;
	copy = list ? own(h, list) : NULL;
	if (!copy)
		return set_err(h, CATRACE_ERROR, "cmd: %s", list ? "out of memory" : "no list");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!pipeline_cmd_token_valid(tok))
			return set_err(h, CATRACE_ERROR, "cmd: unknown command '%s'", tok);
		n++;
	}
	if (!n)
		return set_err(h, CATRACE_ERROR, "cmd: an empty list");
	if (h->pl->n_cmds + n > PIPELINE_MAX_CMDS)
		return set_err(h, CATRACE_ERROR, "cmd: at most %d commands", PIPELINE_MAX_CMDS);
	/* strtok_r left the tokens NUL-separated in copy. */
	for (tok = copy; n; n--) {
		while (!*tok)
			tok++;
		h->pl->cmds[h->pl->n_cmds++] = tok;
		tok += strlen(tok);
	}
	return CATRACE_OK;
}

int catrace_set_filter(catrace_t *h, const char *expr)
{
	char err[PCAP_ERR_LEN];
	int rc = settable(h, "filter");

	if (rc)
		return rc;
	if (!expr)
		return set_err(h, CATRACE_ERROR, "filter: no expression");
	if (h->pcap)
		rc = pcap_source_set_filter(h->pcap, expr, err, sizeof(err));
	else
		rc = lib_live_set_filter(h->live, expr, err, sizeof(err));
	if (rc < 0)
		return set_err(h, CATRACE_ERROR, "filter expression '%s': %s", expr, err);
	return CATRACE_OK;
}

int catrace_set_max_elements(catrace_t *h, size_t n)
{
	int rc = settable(h, "max_elements");

	if (rc)
		return rc;
	h->pl->out.max_elements = n;
	return CATRACE_OK;
}

int catrace_add_port(catrace_t *h, unsigned port)
{
	int rc = settable(h, "port");

	if (rc)
		return rc;
	if (h->live)
		return set_err(h, CATRACE_ERROR, "port: live, the ports are set at open");
	if (port < 1 || port > 65535)
		return set_err(h, CATRACE_ERROR, "port: %u is not a port", port);
	if (!classify_add_port(&h->pl->cls, (uint16_t)port))
		return set_err(h, CATRACE_ERROR, "port: at most %d ports", CLASSIFY_MAX_USER_PORTS);
	return CATRACE_OK;
}

int catrace_set_timeout(catrace_t *h, int timeout_ms)
{
	if (!h->pl)
		return set_err(h, CATRACE_ERROR_CLOSED, "timeout: the handle is closed");
	h->timeout_ms = timeout_ms;
	return CATRACE_OK;
}

/* Read on until the queue holds a message: 1; 0 at the end (live: the
 * timeout); or an error. */
static int refill(catrace_t *h)
{
	char err[PCAP_ERR_LEN];
	struct frame f;
	int r;

	h->n = h->head = 0;
	if (h->live) {
		if (lib_live_poll(h->live, h->timeout_ms, err, sizeof(err)) < 0)
			return set_err(h, CATRACE_ERROR, "%s", err);
		return h->n > 0;
	}
	while (!h->ended && h->n == 0 && !h->oom) {
		r = pcap_source_next(h->pcap, &f, err, sizeof(err));
		if (r == 1) {
			pipeline_frame(h->pl, h->linktype, &f);
			continue;
		}
		/* The end, or a read error: either way the flows still
		 * hold messages cut short, which are flushed now. */
		pipeline_finish(h->pl);
		h->ended = true;
		if (r < 0)
			return set_err(h, CATRACE_ERROR, "after packet %llu: %s",
				       (unsigned long long)h->pl->st.packets, err);
	}
	if (h->oom)
		return set_err(h, CATRACE_ERROR, "out of memory");
	return h->n > 0;
}

int catrace_next(catrace_t *h, const struct catrace_msg **msg)
{
	struct lib_entry *e;
	int r;

	if (!h->pl)
		return set_err(h, CATRACE_ERROR_CLOSED, "the handle is closed");
	h->started = true;
	if (h->head == h->n) {
		r = refill(h);
		if (r <= 0)
			return r;
	}
	e = &h->q[h->head++];
	/* Pointers into the entry itself are set only now: the queue may
	 * have moved while it grew. */
	e->m.src = e->src;
	e->m.dst = e->dst;
	e->m.pv = e->has_pv ? e->pv : NULL;
	e->m.problem = e->problem;
	*msg = &e->m;
	return 1;
}

_Static_assert(sizeof(struct catrace_packed) == 72, "catrace_packed: 72 bytes, no holes");


/* Message n onto the packed buffers (data at *off). */
static bool pack(catrace_t *h, unsigned n, size_t *off, const struct catrace_msg *m)
{
	size_t pv_len = m->pv ? strlen(m->pv) : 0, cmd_len = strlen(m->command);
	size_t need = m->json_len + m->raw_len + pv_len + cmd_len;
	struct catrace_packed *p;
	uint8_t *b;

	if (*off + need > UINT32_MAX ||
	    !room(&h->packed, &h->packed_cap, (n + 1) * sizeof(*p)) ||
	    !room(&h->packed_data, &h->packed_data_cap, *off + need))
		return false;
	p = (struct catrace_packed *)h->packed + n;
	memset(p, 0, sizeof(*p));
	p->ts_ns = m->ts_ns;
	p->frame = m->frame;
	p->src_ip = m->src_ip;
	p->dst_ip = m->dst_ip;
	p->sport = m->sport;
	p->dport = m->dport;
	p->cmd = m->cmd;
	p->dtype = m->dtype;
	p->size = m->size;
	p->count = m->count;
	p->p1 = m->p1;
	p->p2 = m->p2;
	p->flags = m->flags;
	p->json_len = (uint32_t)m->json_len;
	p->raw_len = (uint32_t)m->raw_len;
	/* PV names are at most CA_MAX_NAME_LEN, command names short. */
	p->pv_len = m->pv ? (uint16_t)pv_len : CATRACE_PACKED_NO_PV;
	p->tcp = (uint8_t)m->tcp;
	p->dir = (uint8_t)m->dir;
	p->hdr_len = m->hdr_len;
	p->command_len = (uint8_t)cmd_len;
	p->data_off = (uint32_t)*off;
	b = (uint8_t *)h->packed_data + *off;
	memcpy(b, m->json, m->json_len);
	b += m->json_len;
	memcpy(b, m->raw, m->raw_len);
	b += m->raw_len;
	memcpy(b, m->pv ? m->pv : "", pv_len);
	memcpy(b + pv_len, m->command, cmd_len);
	*off += need;
	return true;
}

int catrace_next_packed(catrace_t *h, const struct catrace_packed **hdrs,
			const void **data, size_t *data_len, unsigned max)
{
	const struct catrace_msg *m = NULL;
	unsigned n = 0;
	size_t off = 0;
	int r;

	if (h->pending) {
		r = h->pending;
		h->pending = 0;
		return r;
	}
	while (n < max) {
		/* Live: what is ready, without waiting for more. */
		if (n && h->live && h->head == h->n)
			break;
		r = catrace_next(h, &m);
		if (r < 0) {
			if (!n)
				return r;
			h->pending = r;
			break;
		}
		if (r == 0)
			break;
		if (!pack(h, n, &off, m))
			return set_err(h, CATRACE_ERROR, "out of memory");
		n++;
	}
	*hdrs = h->packed;
	*data = h->packed_data;
	*data_len = off;
	return (int)n;
}

int catrace_loop(catrace_t *h, int cnt, catrace_handler fn, void *user)
{
	const struct catrace_msg *m = NULL;
	int done = 0, r;

	h->break_loop = 0;
	while (cnt <= 0 || done < cnt) {
		if (h->break_loop) {
			h->break_loop = 0;
			return CATRACE_BREAK;
		}
		r = catrace_next(h, &m);
		if (r < 0)
			return r;
		if (r == 0) {
			/* Live: a quiet moment, not the end. */
			if (h->live)
				continue;
			break;
		}
		fn(user, m);
		done++;
	}
	return done;
}

void catrace_breakloop(catrace_t *h)
{
	h->break_loop = 1;
}

const char *catrace_geterr(catrace_t *h)
{
	return h->err;
}

void catrace_stats(catrace_t *h, uint64_t *packets, uint64_t *messages, uint64_t *passed)
{
	const struct pipeline_stats *s = h->pl ? &h->pl->st : NULL;

	if (packets)
		*packets = s ? s->packets : 0;
	if (messages)
		*messages = s ? s->messages : 0;
	if (passed)
		*passed = s ? s->printed : 0;
}

void catrace_close(catrace_t *h)
{
	if (!h || !h->pl)
		return;
	/* The live source first: detached before anything else goes. */
	lib_live_close(h->live);
	h->live = NULL;
	if (h->pcap)
		pcap_source_close(h->pcap);
	h->pcap = NULL;
	/* Flows hold buffers until finished; what they flush is dropped. */
	h->pl->deliver = NULL;
	h->pl->hook_only = true;
	if (!h->ended)
		pipeline_finish(h->pl);
	pipeline_free(h->pl);
	free(h->pl);
	h->pl = NULL;
	while (h->n_owned)
		free(h->owned[--h->n_owned]);
	while (h->cap) {
		h->cap--;
		free(h->q[h->cap].json);
		free(h->q[h->cap].raw);
	}
	free(h->q);
	h->q = NULL;
	free(h->packed);
	free(h->packed_data);
	h->packed = h->packed_data = NULL;
	h->packed_cap = h->packed_data_cap = 0;
	h->n = h->head = 0;
}

void catrace_free(catrace_t *h)
{
	if (!h)
		return;
	catrace_close(h);
	free(h);
}

const char *catrace_lib_version(void)
{
	return CATRACE_LIB_VERSION;
}
