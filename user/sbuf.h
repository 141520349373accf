/* sbuf: a growable string buffer for building output lines.
 *
 * Formatters append to an sbuf instead of printing directly, so the same
 * decode can go to text, JSON, or a test assertion.  Allocation failure is
 * sticky (sb->oom) and checked once by the caller, not after every append.
 */
#ifndef CATRACE_SBUF_H
#define CATRACE_SBUF_H

#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct sbuf {
	char *buf;
	size_t len;
	size_t cap;
	bool oom;
};

void sbuf_init(struct sbuf *sb);
void sbuf_free(struct sbuf *sb);
void sbuf_reset(struct sbuf *sb);

/* Room for n more bytes (and the NUL): a pointer to write them at, or
 * NULL when memory ran out.  Writers then hand the end of what they wrote
 * to sbuf_end.  Lets the fmt.h formatters write in place. */
char *sbuf_grow_room(struct sbuf *sb, size_t n);
static inline char *sbuf_room(struct sbuf *sb, size_t n)
{
	if (sb->len + n < sb->cap && !sb->oom)
		return sb->buf + sb->len;
	return sbuf_grow_room(sb, n);
}

static inline void sbuf_end(struct sbuf *sb, char *end)
{
	sb->len = (size_t)(end - sb->buf);
	*end = '\0';
}

/* Inline: the output path appends a few bytes at a time, many times a line. */
static inline void sbuf_put(struct sbuf *sb, const char *s, size_t n)
{
	char *p = sbuf_room(sb, n);

	if (!p)
		return;
	memcpy(p, s, n);
	sbuf_end(sb, p + n);
}

static inline void sbuf_putc(struct sbuf *sb, char c)
{
	char *p = sbuf_room(sb, 1);

	if (!p)
		return;
	p[0] = c;
	sbuf_end(sb, p + 1);
}

static inline void sbuf_puts(struct sbuf *sb, const char *s)
{
	sbuf_put(sb, s, strlen(s));
}

/* A field name between two literals ("pre" key "post") in one
 * reservation.  Always inlined: with literal arguments the lengths are
 * constants and the copies a few moves (the output path writes one per
 * field). */
static inline __attribute__((always_inline)) void
sbuf_put_key(struct sbuf *sb, const char *pre, const char *key, const char *post)
{
	size_t a = strlen(pre), b = strlen(key), c = strlen(post);
	char *p = sbuf_room(sb, a + b + c);

	if (!p)
		return;
	memcpy(p, pre, a);
	memcpy(p + a, key, b);
	memcpy(p + a + b, post, c);
	sbuf_end(sb, p + a + b + c);
}

/* Numbers as "%llu", "%lld" and a dotted IPv4 address (host order). */
void sbuf_put_u64(struct sbuf *sb, uint64_t v);
void sbuf_put_i64(struct sbuf *sb, int64_t v);
void sbuf_put_ipv4(struct sbuf *sb, uint32_t ip);
void sbuf_printf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *sb, const char *fmt, va_list ap);
/* NUL-terminated view; never NULL (returns "" when empty or out of memory). */
const char *sbuf_str(const struct sbuf *sb);

/* Quoted string in Python repr style ('abc', \x01, \', \\), as caproto-shark
 * prints names; bytes >= 0x80 are escaped too so output is always ASCII. */
void sbuf_put_pyquoted(struct sbuf *sb, const char *s, size_t n);
/* JSON string literal with all control bytes and non-ASCII bytes escaped
 * (\u00XX), so any wire byte yields valid JSON. */
void sbuf_put_jsonstr(struct sbuf *sb, const char *s, size_t n);
/* A double as text: shortest form that round-trips ("%.17g" trimmed),
 * "nan"/"inf" spelled for text; JSON callers use sbuf_put_jsondouble. */
void sbuf_put_double(struct sbuf *sb, double v);
/* JSON has no NaN/Infinity: those become null. */
void sbuf_put_jsondouble(struct sbuf *sb, double v);
/* The same for a 32-bit float: shortest digits that round-trip as float. */
void sbuf_put_float(struct sbuf *sb, float v);
void sbuf_put_jsonfloat(struct sbuf *sb, float v);

#endif
