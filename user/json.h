/* json: a small strict JSON parser (RFC 8259) for `catrace build`, which
 * reads one object per line.  It is strict because the lines may come from
 * a hand edit or a fuzzer: trailing commas, leading zeros, bare control
 * characters, bad escapes, lone surrogates, invalid UTF-8, duplicate keys
 * and anything after the value are errors, each with the column where it
 * was found and one line saying what is wrong.
 *
 * Numbers keep their text as well as a double, so that callers can read
 * 64-bit integers and time stamps with nine decimals exactly.  Strings are
 * decoded (escapes resolved) and NUL-terminated; they may hold NULs (\u0000),
 * so their length is given.
 *
 * Limits keep hostile input cheap: nesting depth JSON_MAX_DEPTH, and the
 * caller bounds the text it hands in.
 */
#ifndef CATRACE_JSON_H
#define CATRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

struct json_member;

struct json_val {
	enum json_type type;
	bool b;                 /* JSON_BOOL */
	double num;             /* JSON_NUM */
	char *s;                /* JSON_STR: decoded; JSON_NUM: the number's text */
	size_t len;             /* of s */
	struct json_val *items; /* JSON_ARR */
	struct json_member *members; /* JSON_OBJ */
	size_t n;               /* items or members */
};

struct json_member {
	char *key;
	size_t key_len;
	struct json_val v;
};

struct json_err {
	size_t col;             /* 1-based byte column */
	char msg[96];
};

/* Parse text[0..len) as one JSON value into *out.  True on success (free
 * with json_free); false with *err filled (nothing to free). */
bool json_parse(const char *text, size_t len, struct json_val *out, struct json_err *err);
void json_free(struct json_val *v);

/* The member named key of an object, or NULL. */
const struct json_val *json_get(const struct json_val *obj, const char *key);
struct json_val *json_get_mut(struct json_val *obj, const char *key);

/* The number as an integer: true when it is one (no fraction, no exponent)
 * and lies in [min, max]. */
bool json_int(const struct json_val *v, int64_t min, int64_t max, int64_t *out);
bool json_u64(const struct json_val *v, uint64_t *out);

#endif
