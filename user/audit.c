/* audit: see audit.h. */
#include "audit.h"

#include <string.h>

#include "dbr.h"

/* The request an ERROR message carries; false if it carries none. */
static bool error_request(const struct ca_msg *m, struct ca_hdr *orig)
{
	return m->payload_len >= CA_HDR_LEN &&
	       ca_hdr_parse(m->payload, m->payload_len, orig) == CA_HDR_OK;
}

static bool is_write_cmd(unsigned cmd)
{
	return cmd == CA_PROTO_WRITE || cmd == CA_PROTO_WRITE_NOTIFY;
}

bool audit_selects(const struct ca_msg *m)
{
	bool req = m->dir == CA_DIR_REQUEST;
	struct ca_hdr orig;

	/* Writes only travel on circuits; a partial header names nothing. */
	if (!m->tcp || m->h.hdr_len < CA_HDR_LEN)
		return false;
	switch (m->h.cmd) {
	case CA_PROTO_WRITE:
		return req;
	case CA_PROTO_WRITE_NOTIFY:
		return true;
	case CA_PROTO_ACCESS_RIGHTS:
		return !req;
	case CA_PROTO_ERROR:
		return !req && error_request(m, &orig) && is_write_cmd(orig.cmd);
	default:
		return false;
	}
}

/* ---- fields, in text (key=value, ...) or JSON ("key":value) ---- */

struct af {
	struct sbuf *sb;
	enum out_style style;
};

static void af_key(struct af *w, const char *key, bool first)
{
	if (w->style == OUT_JSON)
		sbuf_printf(w->sb, ",\"%s\":", key);
	else
		sbuf_printf(w->sb, "%s%s=", first ? "" : ", ", key);
}

static void af_str(struct af *w, const char *key, const char *s, size_t n,
		   bool first)
{
	af_key(w, key, first);
	if (!s)
		sbuf_puts(w->sb, w->style == OUT_JSON ? "null" : "None");
	else if (w->style == OUT_JSON)
		sbuf_put_jsonstr(w->sb, s, n);
	else
		sbuf_put_pyquoted(w->sb, s, n);
}

/* A symbolic value: bare in text, a string in JSON; a number when the
 * symbol is unknown. */
static void af_sym(struct af *w, const char *key, const char *sym, uint32_t num)
{
	af_key(w, key, false);
	if (!sym)
		sbuf_printf(w->sb, "%u", num);
	else if (w->style == OUT_JSON)
		sbuf_put_jsonstr(w->sb, sym, strlen(sym));
	else
		sbuf_puts(w->sb, sym);
}

static void af_uint(struct af *w, const char *key, uint32_t v)
{
	af_key(w, key, false);
	sbuf_printf(w->sb, "%u", v);
}

/* The value written, as the decoder prints values. */
static void af_value(struct af *w, const struct output *o, const struct ca_msg *m)
{
	enum dbr_result r = dbr_append_value_cut(w->sb, w->style, m->h.dtype, m->h.count,
						 m->payload, m->payload_len,
						 o->max_elements,
						 (m->flags & CA_MSG_BIG) != 0);

	if (r == DBR_BAD_TYPE) {
		const char *e = "unknown DBR type";

		af_str(w, "value_error", e, strlen(e), false);
	} else if (r == DBR_TRUNCATED && !(m->flags & (CA_MSG_BIG | CA_MSG_TRUNCATED)) &&
		   m->payload_len >= m->h.size) {
		af_key(w, "value_short", false);
		sbuf_puts(w->sb, w->style == OUT_JSON ? "true" : "True");
	}
	if (r == DBR_TRUNCATED && (m->flags & CA_MSG_BIG))
		output_put_cut(w->sb, w->style, m->payload_len, m->h.size);
	af_sym(w, "data_type", dbr_type_name(m->h.dtype), m->h.dtype);
	af_uint(w, "data_count", m->h.count);
}

static void af_rights(struct af *w, uint32_t r)
{
	static const char *const names[] = { "NONE", "READ", "WRITE", "READ|WRITE" };

	af_sym(w, "rights", r < 4 ? names[r] : NULL, r);
}

static void af_error(struct af *w, const struct ca_msg *m)
{
	struct ca_hdr orig;
	size_t off, tlen;

	if (!error_request(m, &orig))
		return;
	af_sym(w, "request", ca_cmd_const_name(orig.cmd), orig.cmd);
	af_sym(w, "status", ca_eca_name(m->h.p2), m->h.p2);
	af_uint(w, "ioid", orig.p2);
	off = orig.hdr_len;
	if (off < m->payload_len) {
		const uint8_t *t = m->payload + off;
		const uint8_t *nul = memchr(t, 0, m->payload_len - off);

		tlen = nul ? (size_t)(nul - t) : m->payload_len - off;
		af_str(w, "message", (const char *)t, tlen, false);
	}
}

static void af_command(struct af *w, const struct output *o, const struct ca_msg *m)
{
	const struct ca_hdr *h = &m->h;

	switch (h->cmd) {
	case CA_PROTO_WRITE:
	case CA_PROTO_WRITE_NOTIFY:
		if (m->dir == CA_DIR_REQUEST) {
			af_value(w, o, m);
		} else {
			af_sym(w, "status", ca_eca_name(h->p1), h->p1);
		}
		af_uint(w, "ioid", h->p2);
		break;
	case CA_PROTO_ACCESS_RIGHTS:
		af_rights(w, h->p2);
		break;
	case CA_PROTO_ERROR:
		af_error(w, m);
		break;
	default:
		break;
	}
	if (m->flags & CA_MSG_MALFORMED)
		af_str(w, "malformed", m->problem, strlen(m->problem), false);
	else if (m->flags & CA_MSG_TRUNCATED)
		af_str(w, "truncated", m->problem, strlen(m->problem), false);
}

/* ---- the line ---- */

void audit_format(struct output *o, struct sbuf *sb, const struct msg_ctx *c,
		  const struct track_client *who, const struct ca_msg *m)
{
	struct af w = { sb, o->style };
	bool req = m->dir == CA_DIR_REQUEST;
	/* The client end first, whichever way the message went. */
	uint32_t cli_ip = req ? c->src_ip : c->dst_ip, srv_ip = req ? c->dst_ip : c->src_ip;
	uint16_t cli_port = req ? c->sport : c->dport, srv_port = req ? c->dport : c->sport;
	const char *name = ca_command_name(&m->h, m->dir, m->tcp);
	const char *user = who && who->has_user ? who->user : NULL;
	const char *host = who && who->has_host ? who->host : NULL;
	char cli[16], srv[16];

	format_ip(cli, sizeof(cli), cli_ip);
	format_ip(srv, sizeof(srv), srv_ip);
	if (o->style == OUT_JSON) {
		sbuf_printf(sb, "{\"ts\":%llu.%09llu,\"frame\":%llu,\"client\":\"%s\","
			    "\"client_port\":%u,\"server\":\"%s\",\"server_port\":%u,"
			    "\"command\":\"%s\"",
			    (unsigned long long)(c->ts_ns / 1000000000u),
			    (unsigned long long)(c->ts_ns % 1000000000u),
			    (unsigned long long)c->frame, cli, cli_port, srv, srv_port,
			    name);
	} else {
		output_put_time(o, sb, c->ts_ns);
		sbuf_printf(sb, "%s:%u%s%s:%u %s(", cli, cli_port, req ? "->" : "<-",
			    srv, srv_port, name);
	}
	af_str(&w, "user", user, who ? who->user_len : 0, true);
	af_str(&w, "host", host, who ? who->host_len : 0, false);
	af_str(&w, "pv", c->pv, c->pv_len, false);
	af_command(&w, o, m);
	if (o->style == OUT_JSON) {
		output_put_procs(sb, OUT_JSON, c, m);
		sbuf_putc(sb, '}');
	} else {
		sbuf_putc(sb, ')');
		output_put_procs(sb, OUT_TEXT, c, m);
	}
}
