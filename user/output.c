/* output: see output.h.
 *
 * Each command's fields are written once, through a tiny field writer
 * that knows both styles, so text and JSON never drift apart. */
#include "output.h"
#include "catrace_record.h"
#include "dbr.h"

#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "fields_out.h"
#include "procattr.h"
#include "fmt.h"
#include "track.h"

void output_init(struct output *o)
{
	memset(o, 0, sizeof(*o));
	o->style = OUT_TEXT;
	o->ts = TS_EPOCH;
	o->max_elements = 10;
}

void format_ip(char *buf, size_t n, uint32_t ip)
{
	char tmp[FMT_IPV4_MAX];
	size_t len = (size_t)(fmt_ipv4(tmp, ip) - tmp);

	if (!n)
		return;
	if (len >= n)
		len = n - 1;
	memcpy(buf, tmp, len);
	buf[len] = '\0';
}

/* ---- field writer ---- */

struct fw {
	struct sbuf *sb;
	enum out_style style;
	int n;  /* fields written so far (text: decides the separator) */
};

/* Inlined (as the writers below): field names are literals. */
static inline __attribute__((always_inline)) void fw_key(struct fw *w, const char *key)
{
	if (w->style == OUT_JSON)
		sbuf_put_key(w->sb, ",\"", key, "\":");
	else if (w->n)
		sbuf_put_key(w->sb, ", ", key, "=");
	else
		sbuf_put_key(w->sb, "", key, "=");
	w->n++;
}

static inline __attribute__((always_inline)) void fw_uint(struct fw *w, const char *key, uint64_t v)
{
	fw_key(w, key);
	sbuf_put_u64(w->sb, v);
}

static inline __attribute__((always_inline)) void fw_str(struct fw *w, const char *key, const char *s, size_t n)
{
	fw_key(w, key);
	if (w->style == OUT_JSON)
		sbuf_put_jsonstr(w->sb, s, n);
	else
		sbuf_put_pyquoted(w->sb, s, n);
}

/* A symbolic value: bare in text (ECA_NORMAL), a string in JSON. */
static inline __attribute__((always_inline)) void fw_sym(struct fw *w, const char *key, const char *sym)
{
	fw_key(w, key);
	if (w->style == OUT_JSON)
		sbuf_put_jsonstr(w->sb, sym, strlen(sym));
	else
		sbuf_puts(w->sb, sym);
}

static inline __attribute__((always_inline)) void fw_ip(struct fw *w, const char *key, uint32_t ip)
{
	char b[FMT_IPV4_MAX];

	fw_str(w, key, b, (size_t)(fmt_ipv4(b, ip) - b));
}

static inline __attribute__((always_inline)) void fw_double(struct fw *w, const char *key, double v)
{
	fw_key(w, key);
	if (w->style == OUT_JSON)
		sbuf_put_jsondouble(w->sb, v);
	else
		sbuf_put_double(w->sb, v);
}

static void fw_dtype(struct fw *w, uint16_t dtype)
{
	const char *n = dbr_type_name(dtype);

	if (n) {
		fw_sym(w, "data_type", n);
	} else {
		fw_uint(w, "data_type", dtype);
	}
}

static void fw_status(struct fw *w, uint32_t status)
{
	const char *n = ca_eca_name(status);

	if (n)
		fw_sym(w, "status", n);
	else
		fw_uint(w, "status", status);
}

static inline __attribute__((always_inline)) void fw_bool(struct fw *w, const char *key, bool v)
{
	fw_key(w, key);
	sbuf_puts(w->sb, w->style == OUT_JSON ? (v ? "true" : "false")
					      : (v ? "True" : "False"));
}

/* ---- per-command fields ---- */

static void fw_value(struct fw *w, const struct output *o, const struct ca_msg *m)
{
	size_t start = w->sb->len;
	enum dbr_result r;

	/* Straight into the line (no temporary buffer to allocate). */
	r = dbr_append_value_cut(w->sb, w->style, m->h.dtype, m->h.count, m->payload,
				 m->payload_len, o->max_elements,
				 (m->flags & CA_MSG_BIG) != 0);
	if (r == DBR_BAD_TYPE) {
		fw_str(w, "value_error", "unknown DBR type", 16);
	} else if (w->style == OUT_TEXT) {
		/* dbr writes ", " before each field; the first field of the
		 * line has none. */
		if (!w->n && !w->sb->oom && w->sb->len - start >= 2 &&
		    memcmp(w->sb->buf + start, ", ", 2) == 0) {
			memmove(w->sb->buf + start, w->sb->buf + start + 2,
				w->sb->len - start - 2 + 1);
			w->sb->len -= 2;
		}
		w->n++;
	}
	/* A value the capture cut short; a payload skipped on purpose
	 * (beyond what we keep) is not a problem, but when it hides part of
	 * what was to be shown, the line says so. */
	if (r == DBR_TRUNCATED && !(m->flags & (CA_MSG_BIG | CA_MSG_TRUNCATED)) &&
	    m->payload_len >= m->h.size)
		fw_bool(w, "value_short", true);
	if (r == DBR_TRUNCATED && (m->flags & CA_MSG_BIG))
		output_put_cut(w->sb, w->style, m->payload_len, m->h.size);
}

void output_put_cut(struct sbuf *sb, enum out_style style, size_t kept, uint32_t size)
{
	if (style == OUT_JSON)
		sbuf_printf(sb, ",\"data_cut\":{\"kept\":%zu,\"size\":%u}", kept, size);
	else
		sbuf_printf(sb, " (cut: %zu of %u bytes)", kept, size);
}

static void fw_name_payload(struct fw *w, const char *key, const struct ca_msg *m)
{
	bool term;
	struct track_name n = ca_payload_name(m, &term);

	fw_str(w, key, n.name ? n.name : "", n.len);
	if (n.name && !term)
		fw_bool(w, "unterminated", true);
}

static void fw_rights(struct fw *w, uint32_t r)
{
	const char *nm = ca_access_name(r);

	if (nm)
		fw_sym(w, "access_rights", nm);
	else
		fw_uint(w, "access_rights", r);
}

static void fw_error_orig(struct fw *w, const struct ca_msg *m)
{
	struct ca_hdr orig;
	const char *nm;
	size_t tlen, off;

	if (m->payload_len < CA_HDR_LEN ||
	    ca_hdr_parse(m->payload, m->payload_len, &orig) != CA_HDR_OK)
		return;
	/* The failed request, as a nested header. */
	nm = ca_cmd_const_name(orig.cmd);
	if (w->style == OUT_JSON) {
		sbuf_printf(w->sb, ",\"original_request\":{\"cmd\":%u", orig.cmd);
		if (nm)
			sbuf_printf(w->sb, ",\"command\":\"%s\"", nm);
		sbuf_printf(w->sb, ",\"size\":%u,\"dtype\":%u,\"count\":%u,\"p1\":%u,\"p2\":%u}",
			    orig.size, orig.dtype, orig.count, orig.p1, orig.p2);
	} else {
		fw_key(w, "original_request");
		sbuf_printf(w->sb, "(command=%u%s%s, payload_size=%u, data_type=%u, data_count=%u, parameter1=%u, parameter2=%u)",
			    orig.cmd, nm ? " " : "", nm ? nm : "", orig.size,
			    orig.dtype, orig.count, orig.p1, orig.p2);
	}
	w->n++;
	off = orig.hdr_len;
	if (off < m->payload_len) {
		const uint8_t *t = m->payload + off;
		const uint8_t *nul = memchr(t, 0, m->payload_len - off);

		tlen = nul ? (size_t)(nul - t) : m->payload_len - off;
		fw_str(w, "error_message", (const char *)t, tlen);
	}
}

/* A subscription's event mask by name (db_access.h's DBE_*), as people
 * write it: mask_names=VALUE|ALARM. */
static void fw_mask_names(struct fw *w, unsigned mask)
{
	char buf[64];
	size_t n = 0;
	unsigned i;

	for (i = 0; i < 4; i++)
		if (mask & (1u << i))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "|" : "",
					      ca_mask_bit_name(i));
	if (mask & ~0xfu)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s0x%x", n ? "|" : "", mask & ~0xfu);
	if (!n)
		snprintf(buf, sizeof(buf), "NONE");
	fw_sym(w, "mask_names", buf);
}

static void fw_event_add_request(struct fw *w, const struct ca_msg *m)
{
	fw_dtype(w, m->h.dtype);
	fw_uint(w, "data_count", m->h.count);
	fw_uint(w, "sid", m->h.p1);
	fw_uint(w, "subscriptionid", m->h.p2);
	if (m->payload_len >= 14) {
		union { uint32_t u; float f; } lo, hi, to;

		lo.u = rd_be32(m->payload);
		hi.u = rd_be32(m->payload + 4);
		to.u = rd_be32(m->payload + 8);
		fw_double(w, "low", lo.f);
		fw_double(w, "high", hi.f);
		fw_double(w, "to", to.f);
		fw_uint(w, "mask", rd_be16(m->payload + 12));
		fw_mask_names(w, rd_be16(m->payload + 12));
	}
}

static void fw_version(struct fw *w, const struct ca_msg *m)
{
	const struct ca_hdr *h = &m->h;

	if (m->tcp) {
		if (m->dir == CA_DIR_REQUEST)
			fw_uint(w, "priority", h->dtype);
		fw_uint(w, "version", h->count);
		return;
	}
	fw_uint(w, "version", h->count);
	/* UDP: type 1 says p1 carries the search sequence number. */
	if (h->dtype == 1)
		fw_uint(w, "sequence", h->p1);
}

static void fw_search(struct fw *w, const struct ca_msg *m)
{
	const struct ca_hdr *h = &m->h;

	if (m->dir == CA_DIR_REQUEST) {
		fw_uint(w, "cid", h->p1);
		fw_uint(w, "version", h->count);
		fw_uint(w, "reply", h->dtype);
		return;
	}
	fw_uint(w, "port", h->dtype);
	fw_ip(w, "ip", h->p1);
	fw_uint(w, "cid", h->p2);
	/* UDP replies carry the server's minor version in the payload. */
	if (m->payload_len >= 2)
		fw_uint(w, "version", rd_be16(m->payload));
}

static void fw_obsolete(struct fw *w, const struct ca_msg *m)
{
	const char *nm = ca_cmd_const_name(m->h.cmd);

	fw_uint(w, "code", m->h.cmd);
	if (nm)
		fw_sym(w, "obsolete", nm);
	fw_uint(w, "payload_size", m->h.size);
	fw_uint(w, "data_type", m->h.dtype);
	fw_uint(w, "data_count", m->h.count);
	fw_uint(w, "parameter1", m->h.p1);
	fw_uint(w, "parameter2", m->h.p2);
}

/* Enum values by their state names, as camonitor shows them, when the
 * channel's GR/CTRL_ENUM reply gave the names: data_names=['Two']. An
 * index past the names is None (null in JSON). */
static void fw_enum_names(struct fw *w, const struct output *o, const struct msg_ctx *c,
			  const struct ca_msg *m)
{
	long off = dbr_value_offset(m->h.dtype);
	size_t i, n = m->h.count;

	if (!c->enums || !dbr_is_enum(m->h.dtype) || off < 0)
		return;
	if (o->max_elements && n > o->max_elements)
		n = o->max_elements;
	fw_key(w, "data_names");
	sbuf_putc(w->sb, '[');
	for (i = 0; i < n && (size_t)off + 2 * (i + 1) <= m->payload_len; i++) {
		unsigned v = rd_be16(m->payload + off + 2 * i);

		if (i)
			sbuf_puts(w->sb, w->style == OUT_JSON ? "," : ", ");
		if (v >= c->enums->n)
			sbuf_puts(w->sb, w->style == OUT_JSON ? "null" : "None");
		else if (w->style == OUT_JSON)
			sbuf_put_jsonstr(w->sb, c->enums->s[v], strlen(c->enums->s[v]));
		else
			sbuf_put_pyquoted(w->sb, c->enums->s[v], strlen(c->enums->s[v]));
	}
	sbuf_putc(w->sb, ']');
}

/* Characters of a CHAR array shown as text: what the kernel's smallest
 * default value budget (REC_VALUE_BYTES_DEFAULT) always copies after the
 * largest CHAR metadata, so live and offline show the same text. */
#define CHAR_TEXT_MAX (REC_VALUE_BYTES_DEFAULT - 64)

/* A CHAR array that holds text (printable bytes up to a NUL or its end,
 * at least two), shown as caget -S shows it: data_text='catrace'. */
static void fw_char_text(struct fw *w, const struct ca_msg *m)
{
	long off = dbr_value_offset(m->h.dtype);
	size_t i, n, avail;
	const uint8_t *p;

	if (!dbr_is_char(m->h.dtype) || off < 0 || (size_t)off > m->payload_len)
		return;
	p = m->payload + off;
	avail = m->payload_len - (size_t)off;
	n = m->h.count < avail ? m->h.count : avail;
	if (n > CHAR_TEXT_MAX)
		n = CHAR_TEXT_MAX;
	for (i = 0; i < n && p[i]; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return;
	if (i < 2)
		return;
	fw_str(w, "data_text", (const char *)p, i);
}

static void fw_command_fields(struct fw *w, const struct output *o,
			      const struct msg_ctx *c, const struct ca_msg *m)
{
	const struct ca_hdr *h = &m->h;
	bool req = m->dir == CA_DIR_REQUEST;

	if (h->cmd > CA_PROTO_LAST_CMD || ca_cmd_obsolete(h->cmd)) {
		fw_obsolete(w, m);
		return;
	}
	switch (h->cmd) {
	case CA_PROTO_VERSION:
		fw_version(w, m);
		break;
	case CA_PROTO_SEARCH:
		fw_search(w, m);
		break;
	case CA_PROTO_NOT_FOUND:
		fw_uint(w, "reply", h->dtype);
		fw_uint(w, "version", h->count);
		fw_uint(w, "cid", h->p2);
		break;
	case CA_PROTO_CREATE_CHAN:
		if (req) {
			fw_uint(w, "cid", h->p1);
			fw_uint(w, "version", h->p2);
		} else {
			fw_dtype(w, h->dtype);
			fw_uint(w, "data_count", h->count);
			fw_uint(w, "cid", h->p1);
			fw_uint(w, "sid", h->p2);
		}
		break;
	case CA_PROTO_ACCESS_RIGHTS:
		fw_uint(w, "cid", h->p1);
		fw_rights(w, h->p2);
		break;
	case CA_PROTO_READ_NOTIFY:
	case CA_PROTO_READ:
		if (req) {
			fw_dtype(w, h->dtype);
			fw_uint(w, "data_count", h->count);
			fw_uint(w, "sid", h->p1);
			fw_uint(w, "ioid", h->p2);
		} else {
			fw_value(w, o, m);
			fw_enum_names(w, o, c, m);
			fw_char_text(w, m);
			fw_dtype(w, h->dtype);
			fw_uint(w, "data_count", h->count);
			if (h->cmd == CA_PROTO_READ)
				fw_uint(w, "cid", h->p1);
			else
				fw_status(w, h->p1);
			fw_uint(w, "ioid", h->p2);
		}
		break;
	case CA_PROTO_WRITE:
	case CA_PROTO_WRITE_NOTIFY:
		if (req) {
			fw_value(w, o, m);
			fw_enum_names(w, o, c, m);
			fw_char_text(w, m);
			fw_dtype(w, h->dtype);
			fw_uint(w, "data_count", h->count);
			fw_uint(w, "sid", h->p1);
			fw_uint(w, "ioid", h->p2);
		} else {
			fw_dtype(w, h->dtype);
			fw_uint(w, "data_count", h->count);
			fw_status(w, h->p1);
			fw_uint(w, "ioid", h->p2);
		}
		break;
	case CA_PROTO_EVENT_ADD:
		if (req) {
			fw_event_add_request(w, m);
		} else if (ca_is_cancel_confirm(h, m->dir)) {
			fw_dtype(w, h->dtype);
			fw_uint(w, "sid", h->p1);
			fw_uint(w, "subscriptionid", h->p2);
		} else {
			fw_value(w, o, m);
			fw_enum_names(w, o, c, m);
			fw_char_text(w, m);
			fw_dtype(w, h->dtype);
			fw_uint(w, "data_count", h->count);
			fw_status(w, h->p1);
			fw_uint(w, "subscriptionid", h->p2);
		}
		break;
	case CA_PROTO_EVENT_CANCEL:
		fw_dtype(w, h->dtype);
		fw_uint(w, "data_count", h->count);
		fw_uint(w, "sid", h->p1);
		fw_uint(w, "subscriptionid", h->p2);
		break;
	case CA_PROTO_CLEAR_CHANNEL:
		fw_uint(w, "sid", h->p1);
		fw_uint(w, "cid", h->p2);
		break;
	case CA_PROTO_ERROR:
		fw_uint(w, "cid", h->p1);
		fw_status(w, h->p2);
		fw_error_orig(w, m);
		break;
	case CA_PROTO_RSRV_IS_UP:
		fw_uint(w, "version", h->dtype);
		fw_uint(w, "server_port", h->count);
		fw_uint(w, "beacon_id", h->p1);
		fw_ip(w, "address", h->p2);
		break;
	case CA_PROTO_REPEATER_CONFIRM:
		fw_ip(w, "repeater_address", h->p2);
		break;
	case CA_PROTO_REPEATER_REGISTER:
		fw_ip(w, "client_address", h->p2);
		break;
	case CA_PROTO_CLIENT_NAME:
	case CA_PROTO_HOST_NAME:
		fw_name_payload(w, "name", m);
		break;
	case CA_PROTO_CREATE_CH_FAIL:
	case CA_PROTO_SERVER_DISCONN:
		fw_uint(w, "cid", h->p1);
		break;
	default:  /* ECHO, EVENTS_ON/OFF, READ_SYNC: no fields */
		break;
	}
}

/* Which messages carry a channel and so get a pv field. */
static bool has_pv_field(const struct ca_msg *m)
{
	switch (m->h.cmd) {
	case CA_PROTO_VERSION:
	case CA_PROTO_RSRV_IS_UP:
	case CA_PROTO_REPEATER_CONFIRM:
	case CA_PROTO_REPEATER_REGISTER:
	case CA_PROTO_CLIENT_NAME:
	case CA_PROTO_HOST_NAME:
	case CA_PROTO_ECHO:
	case CA_PROTO_EVENTS_ON:
	case CA_PROTO_EVENTS_OFF:
	case CA_PROTO_READ_SYNC:
		return false;
	default:
		return m->h.cmd <= CA_PROTO_LAST_CMD && !ca_cmd_obsolete(m->h.cmd);
	}
}

static void fw_problem(struct fw *w, const struct ca_msg *m)
{
	if (m->flags & CA_MSG_MALFORMED)
		fw_str(w, "malformed", m->problem, strlen(m->problem));
	else if (m->flags & CA_MSG_TRUNCATED)
		fw_str(w, "truncated", m->problem, strlen(m->problem));
	if (m->flags & CA_MSG_RESYNC)
		fw_bool(w, "resync", true);
}

/* ---- time stamps ---- */

/* "sec.frac" followed by a space, frac with `digits` digits. */
static void put_sec_frac(struct sbuf *sb, uint64_t sec, uint64_t frac,
			 unsigned digits)
{
	char *p = sbuf_room(sb, FMT_U64_MAX * 2 + 2);

	if (!p)
		return;
	p = fmt_u64(p, sec);
	*p++ = '.';
	p = fmt_u64_pad(p, frac, digits);
	*p++ = ' ';
	sbuf_end(sb, p);
}

static void put_time_text(struct output *o, struct sbuf *sb, uint64_t ts)
{
	uint64_t base = 0, sec, frac;
	unsigned digits = o->nano ? 9 : 6;
	uint64_t div = o->nano ? 1 : 1000;

	switch (o->ts) {
	case TS_NONE:
		return;
	case TS_DELTA:
		base = o->have_first ? o->prev_ns : ts;
		break;
	case TS_SINCE_FIRST:
		base = o->first_ns;
		break;
	case TS_DATE: {
		char *p = sbuf_room(sb, FMT_DATE_MAX + FMT_U64_MAX + 2);

		if (!p)
			return;
		p = fmt_date_time(p, ts / 1000000000u);
		*p++ = '.';
		p = fmt_u64_pad(p, (ts % 1000000000u) / div, digits);
		*p++ = ' ';
		sbuf_end(sb, p);
		return;
	}
	case TS_EPOCH:
		break;
	}
	if (ts < base)
		ts = base;
	sec = (ts - base) / 1000000000u;
	frac = ((ts - base) % 1000000000u) / div;
	put_sec_frac(sb, sec, frac, digits);
}

static void put_template_name(struct sbuf *sb, const char *s, size_t n);

void output_put_time(struct output *o, struct sbuf *sb, uint64_t ts_ns)
{
	if (!o->have_first) {
		o->have_first = true;
		o->first_ns = o->prev_ns = ts_ns;
	}
	put_time_text(o, sb, ts_ns);
	o->prev_ns = ts_ns;
}

static void put_proc(struct sbuf *sb, enum out_style style, const char *side,
		     const struct proc_owner *p)
{
	if (!p)
		return;
	if (style == OUT_JSON) {
		sbuf_printf(sb, ",\"%s_proc\":{\"pid\":%d,\"comm\":", side, (int)p->pid);
		sbuf_put_jsonstr(sb, p->comm, strlen(p->comm));
		sbuf_putc(sb, '}');
	} else {
		/* comm is what the process set (prctl): no quoting, but
		 * nothing that could break the line either. */
		sbuf_printf(sb, " %s=", side);
		put_template_name(sb, p->comm, strlen(p->comm));
		sbuf_printf(sb, "[%d]", (int)p->pid);
	}
}

/* Each end by its role: on an IOC's host a client's request must not
 * read as if the IOC sent it. A beacon goes from a server to a repeater,
 * and repeater registrations from a client to one. */
void output_put_procs(struct sbuf *sb, enum out_style style, const struct msg_ctx *c,
		      const struct ca_msg *m)
{
	switch (m->h.cmd) {
	case CA_PROTO_RSRV_IS_UP:
		put_proc(sb, style, "server", c->proc_client);
		put_proc(sb, style, "repeater", c->proc_server);
		break;
	case CA_PROTO_REPEATER_REGISTER:
	case CA_PROTO_REPEATER_CONFIRM:
		put_proc(sb, style, "client", c->proc_client);
		put_proc(sb, style, "repeater", c->proc_server);
		break;
	default:
		put_proc(sb, style, "client", c->proc_client);
		put_proc(sb, style, "server", c->proc_server);
	}
}

/* ---- templates (--format) ---- */

/* A name from the wire, unquoted but escaped: a CR or LF in a PV name
 * must not split one message into two output lines. */
static void put_template_name(struct sbuf *sb, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\\')
			sbuf_puts(sb, "\\\\");
		else if (ch < 0x20 || ch >= 0x7f) {
			char *q = sbuf_room(sb, 4);

			if (!q)
				return;
			q[0] = '\\';
			q[1] = 'x';
			sbuf_end(sb, fmt_hex(q + 2, ch, 2));
		}
		else
			sbuf_putc(sb, (char)ch);
	}
}

/* {value}: the value as the text line shows it inside data=[...], without
 * the brackets ("-" when the message has none). */
static void put_template_value(struct output *o, struct sbuf *sb, const struct ca_msg *m)
{
	struct sbuf tmp;
	const char *s, *d;
	size_t i, depth = 0;
	bool quoted = false;

	sbuf_init(&tmp);
	if (!ca_msg_carries_value(m) || !m->payload || !m->payload_len ||
	    dbr_append_value_cut(&tmp, OUT_TEXT, m->h.dtype, m->h.count, m->payload,
				 m->payload_len, o->max_elements,
				 (m->flags & CA_MSG_BIG) != 0) == DBR_BAD_TYPE ||
	    tmp.oom || !(d = strstr(sbuf_str(&tmp), "data=["))) {
		sbuf_putc(sb, '-');
		sbuf_free(&tmp);
		return;
	}
	s = d + 6;
	/* Up to the bracket that closes data=[: strings may hold brackets. */
	for (i = 0; s[i]; i++) {
		if (quoted) {
			if (s[i] == '\\' && s[i + 1])
				i++;
			else if (s[i] == '\'')
				quoted = false;
		} else if (s[i] == '\'') {
			quoted = true;
		} else if (s[i] == '[') {
			depth++;
		} else if (s[i] == ']') {
			if (!depth--)
				break;
		}
	}
	put_template_name(sb, s, i);
	sbuf_free(&tmp);
}

/* {status} and {severity}: the alarm the value carries (STS and richer
 * types), "-" otherwise. */
static void put_template_alarm(struct sbuf *sb, const struct ca_msg *m, bool severity)
{
	const char *name;
	unsigned v;

	if (!m->payload || m->payload_len < 4 || m->h.dtype < 7 || m->h.dtype > 34 ||
	    !ca_msg_carries_value(m)) {
		sbuf_putc(sb, '-');
		return;
	}
	v = rd_be16(m->payload + (severity ? 2 : 0));
	name = severity ? alarm_severity_name(v) : alarm_status_name(v);
	if (name)
		sbuf_puts(sb, name);
	else
		sbuf_put_u64(sb, v);
}

/* {proc}: the local process, the server's end first ("-": none). */
static void put_template_proc(struct sbuf *sb, const struct msg_ctx *c)
{
	const struct proc_owner *p = c->proc_server ? c->proc_server : c->proc_client;

	if (!p) {
		sbuf_putc(sb, '-');
		return;
	}
	put_template_name(sb, p->comm, strlen(p->comm));
	sbuf_printf(sb, "[%d]", (int)p->pid);
}

static void put_template(struct output *o, struct sbuf *sb,
			 const struct msg_ctx *c, const struct ca_msg *m)
{
	const char *p = o->tmpl;
	char *p_frac;

	while (*p) {
		const char *close;
		size_t n;

		if (*p != '{' || !(close = strchr(p, '}'))) {
			sbuf_putc(sb, *p++);
			continue;
		}
		n = (size_t)(close - p - 1);
#define TOK(s) (n == sizeof(s) - 1 && strncmp(p + 1, s, n) == 0)
		if (TOK("timestamp")) {
			sbuf_put_u64(sb, c->ts_ns / 1000000000u);
			sbuf_putc(sb, '.');
			p_frac = sbuf_room(sb, FMT_U64_MAX);
			if (p_frac)
				sbuf_end(sb, fmt_u64_pad(p_frac, c->ts_ns % 1000000000u / 1000, 6));
		} else if (TOK("src")) {
			sbuf_put_ipv4(sb, c->src_ip);
		} else if (TOK("dst")) {
			sbuf_put_ipv4(sb, c->dst_ip);
		} else if (TOK("sport")) {
			sbuf_put_u64(sb, c->sport);
		} else if (TOK("dport")) {
			sbuf_put_u64(sb, c->dport);
		} else if (TOK("proto")) {
			sbuf_puts(sb, c->tcp ? "tcp" : "udp");
		} else if (TOK("frame")) {
			sbuf_put_u64(sb, c->frame);
		} else if (TOK("command")) {
			sbuf_puts(sb, ca_command_name(&m->h, m->dir, m->tcp));
		} else if (TOK("cmd")) {
			sbuf_put_u64(sb, m->h.cmd);
		} else if (TOK("pv")) {
			if (c->pv)
				put_template_name(sb, c->pv, c->pv_len);
			else
				sbuf_putc(sb, '-');
		} else if (TOK("size") || TOK("payload_size")) {
			sbuf_put_u64(sb, m->h.size);
		} else if (TOK("dtype") || TOK("data_type")) {
			sbuf_put_u64(sb, m->h.dtype);
		} else if (TOK("count") || TOK("data_count")) {
			sbuf_put_u64(sb, m->h.count);
		} else if (TOK("p1") || TOK("parameter1")) {
			sbuf_put_u64(sb, m->h.p1);
		} else if (TOK("p2") || TOK("parameter2")) {
			sbuf_put_u64(sb, m->h.p2);
		} else if (TOK("value")) {
			put_template_value(o, sb, m);
		} else if (TOK("status")) {
			put_template_alarm(sb, m, false);
		} else if (TOK("severity")) {
			put_template_alarm(sb, m, true);
		} else if (TOK("user") || TOK("host")) {
			bool user = TOK("user");

			if (c->who && (user ? c->who->has_user : c->who->has_host))
				put_template_name(sb, user ? c->who->user : c->who->host,
						  user ? c->who->user_len : c->who->host_len);
			else
				sbuf_putc(sb, '-');
		} else if (TOK("proc")) {
			put_template_proc(sb, c);
		} else {
			sbuf_put(sb, p, n + 2);  /* unknown: kept as written */
		}
#undef TOK
		p = close + 1;
	}
}

static const char *const tmpl_tokens[] = {
	"timestamp", "src", "dst", "sport", "dport", "proto", "frame", "command",
	"cmd", "pv", "size", "payload_size", "dtype", "data_type", "count",
	"data_count", "p1", "parameter1", "p2", "parameter2", "value", "status",
	"severity", "user", "host", "proc", NULL
};

const char *output_check_template(const char *tmpl)
{
	static char bad[64];
	const char *p = tmpl;

	while ((p = strchr(p, '{')) != NULL) {
		const char *close = strchr(p, '}');
		size_t n, i;
		bool ok = false;

		if (!close)
			return p;
		n = (size_t)(close - p - 1);
		for (i = 0; tmpl_tokens[i]; i++)
			if (strlen(tmpl_tokens[i]) == n && !strncmp(p + 1, tmpl_tokens[i], n))
				ok = true;
		if (!ok) {
			snprintf(bad, sizeof(bad), "%.*s", (int)(n + 2 < 60 ? n + 2 : 60), p);
			return bad;
		}
		p = close + 1;
	}
	return NULL;
}

/* ---- the line ---- */

/* Literal keys and values between the numbers; all fixed text. */
#define PUT_LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) + sizeof(s) - 1)

/* {"ts":S.N,"frame":F,"src":"A","sport":P,"dst":"A","dport":P,"proto":"tcp",
 * "cmd":C,"command":"X","dir":"request","size":N,"dtype":N,"count":N,
 * "p1":N,"p2":N,"pv":   (the name and the command's fields follow) */
static void put_json_head(struct sbuf *sb, const struct msg_ctx *c,
			  const struct ca_msg *m, const char *name)
{
	size_t name_len = strlen(name);
	char *p = sbuf_room(sb, 384 + name_len);

	if (!p)
		return;
	p = PUT_LIT(p, "{\"ts\":");
	p = fmt_u64(p, c->ts_ns / 1000000000u);
	*p++ = '.';
	p = fmt_u64_pad(p, c->ts_ns % 1000000000u, 9);
	p = PUT_LIT(p, ",\"frame\":");
	p = fmt_u64(p, c->frame);
	p = PUT_LIT(p, ",\"src\":\"");
	p = fmt_ipv4(p, c->src_ip);
	p = PUT_LIT(p, "\",\"sport\":");
	p = fmt_u64(p, c->sport);
	p = PUT_LIT(p, ",\"dst\":\"");
	p = fmt_ipv4(p, c->dst_ip);
	p = PUT_LIT(p, "\",\"dport\":");
	p = fmt_u64(p, c->dport);
	p = c->tcp ? PUT_LIT(p, ",\"proto\":\"tcp\",\"cmd\":")
		   : PUT_LIT(p, ",\"proto\":\"udp\",\"cmd\":");
	p = fmt_u64(p, m->h.cmd);
	p = PUT_LIT(p, ",\"command\":\"");
	memcpy(p, name, name_len);
	p += name_len;
	p = m->dir == CA_DIR_REQUEST ? PUT_LIT(p, "\",\"dir\":\"request\",\"size\":")
				     : PUT_LIT(p, "\",\"dir\":\"response\",\"size\":");
	p = fmt_u64(p, m->h.size);
	p = PUT_LIT(p, ",\"dtype\":");
	p = fmt_u64(p, m->h.dtype);
	p = PUT_LIT(p, ",\"count\":");
	p = fmt_u64(p, m->h.count);
	p = PUT_LIT(p, ",\"p1\":");
	p = fmt_u64(p, m->h.p1);
	p = PUT_LIT(p, ",\"p2\":");
	p = fmt_u64(p, m->h.p2);
	p = PUT_LIT(p, ",\"pv\":");
	sbuf_end(sb, p);
}

/* --json=full: what plain --json leaves out and `catrace build` needs to
 * give back the same bytes: the payload as it was (padding and all, only
 * the bytes kept: a size larger than it says the message was cut), and
 * for a message cut inside its header the header bytes there were (their
 * values are not known past the command: build writes zeros).  The header
 * fields themselves are already all there (size, dtype, count, p1, p2,
 * extended). */
static void put_json_full(struct sbuf *sb, const struct ca_msg *m)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;
	char *p;

	if (m->h.hdr_len < CA_HDR_LEN) {
		sbuf_puts(sb, ",\"hdr_len\":");
		sbuf_printf(sb, "%u", (unsigned)m->h.hdr_len);
	}
	sbuf_puts(sb, ",\"payload\":\"");
	p = sbuf_room(sb, m->payload_len * 2 + 1);
	if (!p)
		return;
	for (i = 0; i < m->payload_len; i++) {
		*p++ = hex[m->payload[i] >> 4];
		*p++ = hex[m->payload[i] & 15];
	}
	*p++ = '"';
	sbuf_end(sb, p);
}

void output_format_empty_datagram(struct output *o, struct sbuf *sb, const struct msg_ctx *c)
{
	char src[FMT_IPV4_MAX + 1], dst[FMT_IPV4_MAX + 1];

	(void)o;
	*fmt_ipv4(src, c->src_ip) = '\0';
	*fmt_ipv4(dst, c->dst_ip) = '\0';
	sbuf_printf(sb, "{\"ts\":%llu.%09llu,\"frame\":%llu,\"src\":\"%s\",\"sport\":%u,"
		    "\"dst\":\"%s\",\"dport\":%u,\"proto\":\"udp\",\"datagram\":\"empty\"}",
		    (unsigned long long)(c->ts_ns / 1000000000u),
		    (unsigned long long)(c->ts_ns % 1000000000u), (unsigned long long)c->frame,
		    src, (unsigned)c->sport, dst, (unsigned)c->dport);
}

/* "A:P->A:P Name(" */
static void put_text_head(struct sbuf *sb, const struct msg_ctx *c,
			  const char *name)
{
	size_t name_len = strlen(name);
	char *p = sbuf_room(sb, 2 * (FMT_IPV4_MAX + 6) + 3 + name_len);

	if (!p)
		return;
	p = fmt_ipv4(p, c->src_ip);
	*p++ = ':';
	p = fmt_u64(p, c->sport);
	p = PUT_LIT(p, "->");
	p = fmt_ipv4(p, c->dst_ip);
	*p++ = ':';
	p = fmt_u64(p, c->dport);
	*p++ = ' ';
	memcpy(p, name, name_len);
	p += name_len;
	*p++ = '(';
	sbuf_end(sb, p);
}

void output_format(struct output *o, struct sbuf *sb, const struct msg_ctx *c,
		   const struct ca_msg *m)
{
	struct fw w = { sb, o->style, 0 };
	const char *name = ca_command_name(&m->h, m->dir, m->tcp);

	if (!o->have_first) {
		o->have_first = true;
		o->first_ns = o->prev_ns = c->ts_ns;
	}

	if (o->json_fields) {
		fields_out_json(sb, o, c, m);
	} else if (o->tmpl) {
		put_template(o, sb, c, m);
	} else if (o->style == OUT_JSON) {
		put_json_head(sb, c, m, name);
		if (c->pv) {
			sbuf_put_jsonstr(sb, c->pv, c->pv_len);
		} else {
			sbuf_puts(sb, "null");
			if (c->pv_why) {
				sbuf_puts(sb, ",\"pv_unknown\":");
				sbuf_put_jsonstr(sb, c->pv_why, strlen(c->pv_why));
			}
		}
		if (m->h.extended)
			sbuf_puts(sb, ",\"extended\":true");
		if (m->h.hdr_len >= CA_HDR_LEN)
			fw_command_fields(&w, o, c, m);
		fw_problem(&w, m);
		if (o->full)
			put_json_full(sb, m);
		output_put_procs(sb, OUT_JSON, c, m);
		sbuf_putc(sb, '}');
	} else {
		put_time_text(o, sb, c->ts_ns);
		put_text_head(sb, c, name);
		if (has_pv_field(m) && c->pv)
			fw_str(&w, "pv", c->pv, c->pv_len);
		else if (has_pv_field(m) && c->pv_why)
			fw_sym(&w, "pv", "?");  /* a channel, its name unknown */
		if (m->h.hdr_len >= CA_HDR_LEN)
			fw_command_fields(&w, o, c, m);
		fw_problem(&w, m);
		sbuf_putc(sb, ')');
		output_put_procs(sb, OUT_TEXT, c, m);
		if (o->tree || o->hexdump)
			fields_out_text(sb, o, c, m);
	}
	o->prev_ns = c->ts_ns;
}
