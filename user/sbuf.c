/* sbuf: growable string buffer; see sbuf.h. */
#include "sbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void sbuf_put(struct sbuf *sb, const char *s, size_t n)
{
	if (!sbuf_reserve(sb, n))
		return;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void sbuf_putc(struct sbuf *sb, char c)
{
	sbuf_put(sb, &c, 1);
}

void sbuf_puts(struct sbuf *sb, const char *s)
{
	sbuf_put(sb, s, strlen(s));
}

void sbuf_vprintf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || !sbuf_reserve(sb, (size_t)n))
		return;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
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

void sbuf_put_pyquoted(struct sbuf *sb, const char *s, size_t n)
{
	size_t i;

	sbuf_putc(sb, '\'');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\'' || c == '\\') {
			sbuf_putc(sb, '\\');
			sbuf_putc(sb, (char)c);
		} else if (c == '\n') {
			sbuf_puts(sb, "\\n");
		} else if (c == '\t') {
			sbuf_puts(sb, "\\t");
		} else if (c == '\r') {
			sbuf_puts(sb, "\\r");
		} else if (c < 0x20 || c >= 0x7f) {
			sbuf_printf(sb, "\\x%02x", c);
		} else {
			sbuf_putc(sb, (char)c);
		}
	}
	sbuf_putc(sb, '\'');
}

void sbuf_put_jsonstr(struct sbuf *sb, const char *s, size_t n)
{
	size_t i;

	sbuf_putc(sb, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':  sbuf_puts(sb, "\\\""); break;
		case '\\': sbuf_puts(sb, "\\\\"); break;
		case '\n': sbuf_puts(sb, "\\n"); break;
		case '\r': sbuf_puts(sb, "\\r"); break;
		case '\t': sbuf_puts(sb, "\\t"); break;
		default:
			/* Wire bytes are not UTF-8 by contract: escape every
			 * non-ASCII byte as its Latin-1 code point. */
			if (c < 0x20 || c >= 0x7f)
				sbuf_printf(sb, "\\u%04x", c);
			else
				sbuf_putc(sb, (char)c);
		}
	}
	sbuf_putc(sb, '"');
}

/* Python-repr style: the fewest significant digits that read back as the
 * same value, in positional form for exponents -4..15, else scientific.
 * `as_float` round-trips through float, so 0.1f prints as 0.1. */
static void put_shortest(struct sbuf *sb, double v, bool as_float)
{
	char tmp[64];
	int prec, exp;
	const char *e;

	if (isnan(v)) {
		sbuf_puts(sb, "nan");
		return;
	}
	if (isinf(v)) {
		sbuf_puts(sb, v < 0 ? "-inf" : "inf");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		double back;

		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		back = strtod(tmp, NULL);
		if (as_float ? (float)back == (float)v : back == v)
			break;
	}
	e = strchr(tmp, 'e');
	exp = e ? atoi(e + 1) : 0;
	if (exp >= -4 && exp < 16) {
		int decimals = prec - 1 - exp;

		snprintf(tmp, sizeof(tmp), "%.*f", decimals > 0 ? decimals : 0, v);
		sbuf_puts(sb, tmp);
		if (!strchr(tmp, '.'))
			sbuf_puts(sb, ".0");
		return;
	}
	/* Scientific: Python writes 1e+16 and 1.5e-05. */
	sbuf_puts(sb, tmp);
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
