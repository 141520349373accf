/* json: see json.h.  A recursive-descent parser over a cursor; recursion
 * is bounded by JSON_MAX_DEPTH, so the stack stays small whatever comes in. */
#include "json.h"
#include "bytes.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jp {
	const char *p, *start, *end;
	unsigned depth;
	struct json_err *err;
	bool failed;
};

__attribute__((format(printf, 3, 4)))
static bool fail_at(struct jp *j, const char *at, const char *fmt, ...)
{
	va_list ap;

	if (j->failed)
		return false;
	j->failed = true;
	j->err->col = (size_t)(at - j->start) + 1;
	va_start(ap, fmt);
	vsnprintf(j->err->msg, sizeof(j->err->msg), fmt, ap);
	va_end(ap);
	return false;
}

static void skip_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* What is at the cursor, for error messages. */
static const char *what_here(const struct jp *j, char *buf, size_t n)
{
	unsigned char c;

	if (j->p >= j->end)
		return "the end of the line";
	c = (unsigned char)*j->p;
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, n, "'%c'", c);
	else
		snprintf(buf, n, "byte 0x%02x", c);
	return buf;
}

static bool parse_value(struct jp *j, struct json_val *v);

static bool literal(struct jp *j, const char *word, struct json_val *v,
		    enum json_type t, bool b)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return fail_at(j, j->p, "unknown word (true, false or null expected)");
	j->p += n;
	v->type = t;
	v->b = b;
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? exactly. */
static bool parse_number(struct jp *j, struct json_val *v)
{
	const char *s = j->p;
	char *end;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || !is_digit(*j->p))
		return fail_at(j, j->p, "a digit expected in a number");
	if (*j->p == '0') {
		j->p++;
		if (j->p < j->end && is_digit(*j->p))
			return fail_at(j, j->p, "a number with a leading zero");
	} else {
		while (j->p < j->end && is_digit(*j->p))
			j->p++;
	}
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || !is_digit(*j->p))
			return fail_at(j, j->p, "a digit expected after the decimal point");
		while (j->p < j->end && is_digit(*j->p))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || !is_digit(*j->p))
			return fail_at(j, j->p, "a digit expected in the exponent");
		while (j->p < j->end && is_digit(*j->p))
			j->p++;
	}
	v->type = JSON_NUM;
	v->len = (size_t)(j->p - s);
	v->s = malloc(v->len + 1);
	if (!v->s)
		return fail_at(j, s, "out of memory");
	memcpy(v->s, s, v->len);
	v->s[v->len] = '\0';
	errno = 0;
	v->num = strtod(v->s, &end);
	/* ERANGE on underflow is fine (a tiny number is ~0); overflow is not. */
	if (errno == ERANGE && (v->num > 1.0 || v->num < -1.0)) {
		free(v->s);
		v->s = NULL;
		return fail_at(j, s, "a number too large for a double");
	}
	return true;
}

static bool read_u4(struct jp *j, unsigned *out)
{
	unsigned u = 0;
	int i, d;

	if (j->end - j->p < 4)
		return fail_at(j, j->p, "\\u needs four hex digits");
	for (i = 0; i < 4; i++) {
		d = hex_digit_value(j->p[i]);
		if (d < 0)
			return fail_at(j, j->p + i, "\\u needs four hex digits");
		u = u << 4 | (unsigned)d;
	}
	j->p += 4;
	*out = u;
	return true;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0: overlong forms,
 * surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0], cp, n, i, min;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2; cp = c & 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3; cp = c & 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4; cp = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* The cursor is on the opening quote.  The decoded text is never longer
 * than the quoted one, so one allocation of that size is enough. */
static bool parse_string(struct jp *j, char **out, size_t *out_len)
{
	const char *s = ++j->p, *q = s;
	char *buf, *o;
	unsigned cp, lo;

	while (q < j->end && *q != '"') {
		if (*q == '\\' && q + 1 < j->end)
			q++;
		q++;
	}
	if (q >= j->end)
		return fail_at(j, s - 1, "a string without its closing quote");
	buf = malloc((size_t)(q - s) + 1);
	if (!buf)
		return fail_at(j, s, "out of memory");
	o = buf;
	while (*j->p != '"') {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20) {
			fail_at(j, j->p, "control character 0x%02x in a string (escape it)", c);
			goto bad;
		}
		if (c >= 0x80) {
			size_t n = utf8_len((const unsigned char *)j->p, (const unsigned char *)j->end);

			if (!n) {
				fail_at(j, j->p, "invalid UTF-8 in a string");
				goto bad;
			}
			memcpy(o, j->p, n);
			o += n;
			j->p += n;
			continue;
		}
		if (c != '\\') {
			*o++ = (char)c;
			j->p++;
			continue;
		}
		j->p++;
		switch (*j->p++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (!read_u4(j, &cp))
				goto bad;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				fail_at(j, j->p - 6, "a lone low surrogate \\u%04x", cp);
				goto bad;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u') {
					fail_at(j, j->p - 6, "a high surrogate \\u%04x without its low half", cp);
					goto bad;
				}
				j->p += 2;
				if (!read_u4(j, &lo))
					goto bad;
				if (lo < 0xdc00 || lo > 0xdfff) {
					fail_at(j, j->p - 6, "a high surrogate followed by \\u%04x", lo);
					goto bad;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			o += put_utf8(o, cp);
			break;
		default:
			fail_at(j, j->p - 2, "unknown escape '\\%c'", j->p[-1]);
			goto bad;
		}
	}
	j->p++;
	*o = '\0';
	*out = buf;
	*out_len = (size_t)(o - buf);
	return true;
bad:
	free(buf);
	return false;
}

/* Grow an array of elements of size sz to hold n + 1. */
static bool grow(void **arr, size_t n, size_t *cap, size_t sz)
{
	void *p;
	size_t c;

	if (n < *cap)
		return true;
	c = *cap ? *cap * 2 : 4;
	p = realloc(*arr, c * sz);
	if (!p)
		return false;
	*arr = p;
	*cap = c;
	return true;
}

static bool parse_array(struct jp *j, struct json_val *v)
{
	size_t cap = 0;
	void *items = NULL;

	v->type = JSON_ARR;
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return true;
	}
	for (;;) {
		char what[16];

		if (!grow(&items, v->n, &cap, sizeof(struct json_val))) {
			v->items = items;
			return fail_at(j, j->p, "out of memory");
		}
		v->items = items;
		memset(&v->items[v->n], 0, sizeof(v->items[0]));
		skip_ws(j);
		/* Counted first: an item that fails half-built is freed with
		 * the array. */
		if (!parse_value(j, &v->items[v->n++]))
			return false;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			skip_ws(j);
			if (j->p < j->end && *j->p == ']')
				return fail_at(j, j->p, "a trailing comma before ']'");
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return true;
		}
		return fail_at(j, j->p, "',' or ']' expected in an array, found %s",
			       what_here(j, what, sizeof(what)));
	}
}

static bool parse_object(struct jp *j, struct json_val *v)
{
	size_t cap = 0, i;
	void *members = NULL;

	v->type = JSON_OBJ;
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return true;
	}
	for (;;) {
		struct json_member *m;
		const char *key_at;
		char what[16];

		skip_ws(j);
		if (j->p >= j->end || *j->p != '"')
			return fail_at(j, j->p, "a quoted key expected in an object, found %s",
				       what_here(j, what, sizeof(what)));
		if (!grow(&members, v->n, &cap, sizeof(struct json_member))) {
			v->members = members;
			return fail_at(j, j->p, "out of memory");
		}
		v->members = members;
		m = &v->members[v->n];
		memset(m, 0, sizeof(*m));
		key_at = j->p;
		if (!parse_string(j, &m->key, &m->key_len))
			return false;
		v->n++;  /* from here the member is freed with the object */
		for (i = 0; i + 1 < v->n; i++)
			if (v->members[i].key_len == m->key_len &&
			    !memcmp(v->members[i].key, m->key, m->key_len))
				return fail_at(j, key_at, "duplicate key \"%.40s\"", m->key);
		skip_ws(j);
		if (j->p >= j->end || *j->p != ':')
			return fail_at(j, j->p, "':' expected after key \"%.40s\", found %s",
				       m->key, what_here(j, what, sizeof(what)));
		j->p++;
		skip_ws(j);
		if (!parse_value(j, &m->v))
			return false;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			skip_ws(j);
			if (j->p < j->end && *j->p == '}')
				return fail_at(j, j->p, "a trailing comma before '}'");
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return true;
		}
		return fail_at(j, j->p, "',' or '}' expected in an object, found %s",
			       what_here(j, what, sizeof(what)));
	}
}

static bool parse_value(struct jp *j, struct json_val *v)
{
	char what[16];
	bool ok;

	memset(v, 0, sizeof(*v));
	if (j->p >= j->end)
		return fail_at(j, j->p, "a value expected, found the end of the line");
	switch (*j->p) {
	case '{':
	case '[':
		if (j->depth >= JSON_MAX_DEPTH)
			return fail_at(j, j->p, "nested deeper than %d levels", JSON_MAX_DEPTH);
		j->depth++;
		ok = *j->p == '{' ? parse_object(j, v) : parse_array(j, v);
		j->depth--;
		return ok;
	case '"':
		v->type = JSON_STR;
		return parse_string(j, &v->s, &v->len);
	case 't':
		return literal(j, "true", v, JSON_BOOL, true);
	case 'f':
		return literal(j, "false", v, JSON_BOOL, false);
	case 'n':
		return literal(j, "null", v, JSON_NULL, false);
	default:
		if (*j->p == '-' || is_digit(*j->p))
			return parse_number(j, v);
		return fail_at(j, j->p, "a value expected, found %s", what_here(j, what, sizeof(what)));
	}
}

bool json_parse(const char *text, size_t len, struct json_val *out, struct json_err *err)
{
	struct jp j = { text, text, text + len, 0, err, false };
	char what[16];

	memset(err, 0, sizeof(*err));
	skip_ws(&j);
	if (parse_value(&j, out)) {
		skip_ws(&j);
		if (j.p == j.end)
			return true;
		fail_at(&j, j.p, "%s after the value", what_here(&j, what, sizeof(what)));
	}
	json_free(out);
	return false;
}

void json_free(struct json_val *v)
{
	size_t i;

	if (!v)
		return;
	if (v->type == JSON_ARR)
		for (i = 0; i < v->n; i++)
			json_free(&v->items[i]);
	if (v->type == JSON_OBJ)
		for (i = 0; i < v->n; i++) {
			free(v->members[i].key);
			json_free(&v->members[i].v);
		}
	free(v->items);
	free(v->members);
	free(v->s);
	memset(v, 0, sizeof(*v));
}

struct json_val *json_get_mut(struct json_val *obj, const char *key)
{
	size_t i, n = strlen(key);

	if (!obj || obj->type != JSON_OBJ)
		return NULL;
	for (i = 0; i < obj->n; i++)
		if (obj->members[i].key_len == n && !memcmp(obj->members[i].key, key, n))
			return &obj->members[i].v;
	return NULL;
}

const struct json_val *json_get(const struct json_val *obj, const char *key)
{
	return json_get_mut((struct json_val *)obj, key);
}

/* Integers are read from the number's text, not the double, so that every
 * 64-bit value is exact. */
bool json_u64(const struct json_val *v, uint64_t *out)
{
	uint64_t u = 0;
	size_t i;

	if (!v || v->type != JSON_NUM || !v->s || v->s[0] == '-')
		return false;
	for (i = 0; i < v->len; i++) {
		unsigned d;

		if (!is_digit(v->s[i]))
			return false;
		d = (unsigned)(v->s[i] - '0');
		if (u > (UINT64_MAX - d) / 10)
			return false;
		u = u * 10 + d;
	}
	*out = u;
	return v->len > 0;
}

bool json_int(const struct json_val *v, int64_t min, int64_t max, int64_t *out)
{
	struct json_val pos;
	uint64_t u;
	bool neg;
	int64_t r;

	if (!v || v->type != JSON_NUM || !v->s)
		return false;
	neg = v->s[0] == '-';
	pos = *v;
	if (neg) {
		pos.s = v->s + 1;
		pos.len = v->len - 1;
	}
	if (!json_u64(&pos, &u))
		return false;
	if (neg) {
		if (u > (uint64_t)INT64_MAX + 1)
			return false;
		r = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	} else {
		if (u > (uint64_t)INT64_MAX)
			return false;
		r = (int64_t)u;
	}
	if (r < min || r > max)
		return false;
	*out = r;
	return true;
}
