/* sbuf: growable string buffer; see sbuf.h. */
#include "sbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"

void sbuf_init(struct sbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void sbuf_free(struct sbuf *sb)
{
	free(sb->buf);
	sbuf_init(sb);
}

void sbuf_reset(struct sbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

static bool sbuf_reserve(struct sbuf *sb, size_t extra)
{
	size_t need, cap;
	char *nb;

	if (sb->oom)
		return false;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap *= 2;
	nb = realloc(sb->buf, cap);
	if (!nb) {
		sb->oom = true;
		return false;
	}
	sb->buf = nb;
	sb->cap = cap;
	return true;
}

char *sbuf_grow_room(struct sbuf *sb, size_t n)
{
	return sbuf_reserve(sb, n) ? sb->buf + sb->len : NULL;
}

void sbuf_put_u64(struct sbuf *sb, uint64_t v)
{
	char *p = sbuf_room(sb, FMT_U64_MAX);

	if (p)
		sbuf_end(sb, fmt_u64(p, v));
}

void sbuf_put_i64(struct sbuf *sb, int64_t v)
{
	char *p = sbuf_room(sb, FMT_I64_MAX);

	if (p)
		sbuf_end(sb, fmt_i64(p, v));
}

void sbuf_put_ipv4(struct sbuf *sb, uint32_t ip)
{
	char *p = sbuf_room(sb, FMT_IPV4_MAX);

	if (p)
		sbuf_end(sb, fmt_ipv4(p, ip));
}

void sbuf_vprintf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	size_t room;
	int n;

	if (sb->oom)
		return;
	/* One pass when the text fits the room there is, two otherwise. */
	room = sb->cap - sb->len;
	va_copy(ap2, ap);
	n = room ? vsnprintf(sb->buf + sb->len, room, fmt, ap2)
		 : vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		if (sb->buf)
			sb->buf[sb->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		if (!sbuf_reserve(sb, (size_t)n)) {
			if (sb->buf)
				sb->buf[sb->len] = '\0';
			return;
		}
		vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	}
	sb->len += (size_t)n;
}

void sbuf_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vprintf(sb, fmt, ap);
	va_end(ap);
}

const char *sbuf_str(const struct sbuf *sb)
{
	return (sb->buf && !sb->oom) ? sb->buf : "";
}

/* Both quoters reserve the worst case (every byte escaped) once, then
 * write in place. */
void sbuf_put_pyquoted(struct sbuf *sb, const char *s, size_t n)
{
	char *p = sbuf_room(sb, 4 * n + 2);
	size_t i;

	if (!p)
		return;
	*p++ = '\'';
	/* PV names are plain ASCII: copy the leading plain run in one go. */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\')
			break;
	}
	memcpy(p, s, i);
	p += i;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
			*p++ = (char)c;	/* the usual case first */
		} else if (c == '\'' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if (c == '\t') {
			*p++ = '\\';
			*p++ = 't';
		} else if (c == '\r') {
			*p++ = '\\';
			*p++ = 'r';
		} else if (c < 0x20 || c >= 0x7f) {
			*p++ = '\\';
			*p++ = 'x';
			p = fmt_hex(p, c, 2);
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '\'';
	sbuf_end(sb, p);
}

void sbuf_put_jsonstr(struct sbuf *sb, const char *s, size_t n)
{
	char *p = sbuf_room(sb, 6 * n + 2);
	size_t i;

	if (!p)
		return;
	*p++ = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			break;
	}
	memcpy(p, s, i);
	p += i;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc = 0;

		switch (c) {
		case '"':  esc = '"'; break;
		case '\\': esc = '\\'; break;
		case '\n': esc = 'n'; break;
		case '\r': esc = 'r'; break;
		case '\t': esc = 't'; break;
		default:
			break;
		}
		if (esc) {
			*p++ = '\\';
			*p++ = esc;
		} else if (c < 0x20 || c >= 0x7f) {
			/* Wire bytes are not UTF-8 by contract: escape every
			 * non-ASCII byte as its Latin-1 code point. */
			*p++ = '\\';
			*p++ = 'u';
			p = fmt_hex(p, c, 4);
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	sbuf_end(sb, p);
}

/* Python-repr style doubles (fmt.h): shortest digits that round-trip. */
static void put_shortest(struct sbuf *sb, double v, bool as_float)
{
	char *p = sbuf_room(sb, FMT_DOUBLE_MAX);

	if (p)
		sbuf_end(sb, as_float ? fmt_float(p, (float)v) : fmt_double(p, v));
}

void sbuf_put_double(struct sbuf *sb, double v)
{
	put_shortest(sb, v, false);
}

void sbuf_put_float(struct sbuf *sb, float v)
{
	put_shortest(sb, v, true);
}

void sbuf_put_jsonfloat(struct sbuf *sb, float v)
{
	if (isnan(v) || isinf(v)) {
		sbuf_puts(sb, "null");
		return;
	}
	put_shortest(sb, v, true);
}

void sbuf_put_jsondouble(struct sbuf *sb, double v)
{
	if (isnan(v) || isinf(v)) {
		sbuf_puts(sb, "null");
		return;
	}
	sbuf_put_double(sb, v);
}
