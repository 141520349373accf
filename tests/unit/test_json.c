/* Unit tests for user/json.c, the strict parser `catrace build` reads its
 * lines with: what it accepts (numbers, escapes, UTF-8, nesting), what it
 * refuses and the column and reason it gives, its depth limit, and input
 * built to hurt (deep nesting, huge numbers, cut escapes, bytes that are
 * not UTF-8). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static bool parse(const char *s, struct json_val *v, struct json_err *e)
{
	return json_parse(s, strlen(s), v, e);
}

/* Parse must fail at column col with a message containing what. */
static void expect_error(const char *s, size_t col, const char *what)
{
	struct json_val v;
	struct json_err e;

	if (parse(s, &v, &e)) {
		json_free(&v);
		fail_msg("'%s' parsed, wanted an error", s);
	}
	if (e.col != col || !strstr(e.msg, what))
		fail_msg("'%s': column %zu '%s', wanted column %zu '%s'", s, e.col, e.msg, col, what);
}

static void test_object_and_types(void **state)
{
	struct json_val v;
	struct json_err e;
	const struct json_val *a;
	int64_t i;

	(void)state;
	assert_true(parse(" {\"a\": [1, -2.5e3, true, false, null, \"x\"], \"b\": {}} ", &v, &e));
	assert_int_equal(v.type, JSON_OBJ);
	assert_int_equal(v.n, 2);
	a = json_get(&v, "a");
	assert_non_null(a);
	assert_int_equal(a->type, JSON_ARR);
	assert_int_equal(a->n, 6);
	assert_true(json_int(&a->items[0], 0, 10, &i));
	assert_int_equal(i, 1);
	assert_true(a->items[1].num == -2500.0);
	assert_false(json_int(&a->items[1], INT64_MIN, INT64_MAX, &i));
	assert_true(a->items[2].type == JSON_BOOL && a->items[2].b);
	assert_true(a->items[3].type == JSON_BOOL && !a->items[3].b);
	assert_int_equal(a->items[4].type, JSON_NULL);
	assert_string_equal(a->items[5].s, "x");
	assert_int_equal(json_get(&v, "b")->type, JSON_OBJ);
	assert_null(json_get(&v, "c"));
	json_free(&v);
}

static void test_numbers(void **state)
{
	struct json_val v;
	struct json_err e;
	uint64_t u;
	int64_t i;

	(void)state;
	/* 64-bit integers are exact: read from the text, not the double. */
	assert_true(parse("18446744073709551615", &v, &e));
	assert_true(json_u64(&v, &u));
	assert_true(u == UINT64_MAX);
	assert_false(json_int(&v, INT64_MIN, INT64_MAX, &i));
	json_free(&v);
	assert_true(parse("18446744073709551616", &v, &e));
	assert_false(json_u64(&v, &u));
	json_free(&v);
	assert_true(parse("-9223372036854775808", &v, &e));
	assert_true(json_int(&v, INT64_MIN, INT64_MAX, &i));
	assert_true(i == INT64_MIN);
	assert_false(json_u64(&v, &u));
	json_free(&v);
	assert_true(parse("1796398031.184084123", &v, &e));
	assert_string_equal(v.s, "1796398031.184084123");
	json_free(&v);
	assert_true(parse("0", &v, &e));
	json_free(&v);
	assert_true(parse("-0.0e-0", &v, &e));
	json_free(&v);
	assert_true(parse("1e-400", &v, &e));  /* underflow: ~0, fine */
	json_free(&v);

	expect_error("01", 1 + 1, "leading zero");
	expect_error("-", 2, "a digit expected");
	expect_error("1.", 3, "after the decimal point");
	expect_error("1e", 3, "exponent");
	expect_error("1e+", 4, "exponent");
	expect_error(".5", 1, "a value expected");
	expect_error("+1", 1, "a value expected");
	expect_error("1e999", 1, "too large");
	expect_error("0x10", 2, "'x' after the value");
	expect_error("NaN", 1, "a value expected");
}

static void test_strings_and_escapes(void **state)
{
	struct json_val v;
	struct json_err e;

	(void)state;
	assert_true(parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", &v, &e));
	assert_string_equal(v.s, "a\"b\\c/d\b\f\n\r\t");
	json_free(&v);
	/* \u0000 is kept: the length says where the string ends. */
	assert_true(parse("\"x\\u0000y\"", &v, &e));
	assert_int_equal(v.len, 3);
	assert_memory_equal(v.s, "x\0y", 3);
	json_free(&v);
	assert_true(parse("\"\\u00e9\\u20ac\\ud83d\\ude00\"", &v, &e));
	assert_string_equal(v.s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	json_free(&v);
	assert_true(parse("\"\xc3\xa9\xf0\x9f\x98\x80\"", &v, &e));  /* raw UTF-8 */
	json_free(&v);

	expect_error("\"abc", 1, "without its closing quote");
	expect_error("\"a\\", 1, "without its closing quote");
	expect_error("\"\\x\"", 2, "unknown escape '\\x'");
	expect_error("\"\\u12\"", 4, "four hex digits");
	expect_error("\"\\ud800\"", 2, "without its low half");
	expect_error("\"\\ud800\\u0041\"", 8, "followed by \\u0041");
	expect_error("\"\\udc00\"", 2, "lone low surrogate");
	expect_error("\"a\tb\"", 3, "control character 0x09");
	expect_error("\"\xc3\"", 2, "invalid UTF-8");
	expect_error("\"\xc0\xaf\"", 2, "invalid UTF-8");      /* overlong '/' */
	expect_error("\"\xed\xa0\x80\"", 2, "invalid UTF-8");  /* a surrogate */
	expect_error("\"\xf4\x90\x80\x80\"", 2, "invalid UTF-8");  /* past U+10FFFF */
	expect_error("\"\xff\"", 2, "invalid UTF-8");
}

static void test_structure_errors(void **state)
{
	(void)state;
	expect_error("", 1, "found the end of the line");
	expect_error("   ", 4, "found the end of the line");
	expect_error("{", 2, "a quoted key expected");
	expect_error("{\"a\"}", 5, "':' expected after key \"a\", found '}'");
	expect_error("{\"a\":1,}", 8, "a trailing comma before '}'");
	expect_error("[1,]", 4, "a trailing comma before ']'");
	expect_error("[1 2]", 4, "',' or ']' expected");
	expect_error("{\"a\":1 \"b\":2}", 8, "',' or '}' expected");
	expect_error("{a:1}", 2, "a quoted key expected in an object, found 'a'");
	expect_error("{\"a\":1,\"a\":2}", 8, "duplicate key \"a\"");
	expect_error("{} {}", 4, "'{' after the value");
	expect_error("tru", 1, "unknown word");
	expect_error("nul", 1, "unknown word");
	expect_error("[\x01]", 2, "found byte 0x01");
}

static void test_depth_limit(void **state)
{
	char buf[2 * (JSON_MAX_DEPTH + 1) + 1];
	struct json_val v;
	struct json_err e;
	int i;

	(void)state;
	/* JSON_MAX_DEPTH levels are fine, one more is not. */
	for (i = 0; i < JSON_MAX_DEPTH; i++) {
		buf[i] = '[';
		buf[2 * JSON_MAX_DEPTH - 1 - i] = ']';
	}
	buf[2 * JSON_MAX_DEPTH] = '\0';
	assert_true(parse(buf, &v, &e));
	json_free(&v);
	for (i = 0; i < JSON_MAX_DEPTH + 1; i++) {
		buf[i] = '[';
		buf[2 * JSON_MAX_DEPTH + 1 - i] = ']';
	}
	buf[2 * JSON_MAX_DEPTH + 2] = '\0';
	expect_error(buf, JSON_MAX_DEPTH + 1, "nested deeper than");
}

/* Input built to hurt: deep nesting far past the limit (no stack blow-up),
 * many members, every prefix of a valid line (each must fail cleanly,
 * never read past its end: ASan watches), and random bytes. */
static void test_hostile(void **state)
{
	static const char alphabet[] = "{}[]\":,0123456789.eE-+\\ntrfalsu \x80\xc3";
	static const char line[] =
		"{\"ts\":1.5,\"pv\":\"T:\\u00e9\",\"data\":[1,-2e3,\"x\"],\"o\":{\"a\":[true,null]}}";
	size_t n = 100000, i, len = strlen(line);
	char *deep = malloc(n + 1);
	struct json_val v;
	struct json_err e;
	uint64_t s = 42;

	(void)state;
	assert_non_null(deep);
	memset(deep, '[', n);
	deep[n] = '\0';
	expect_error(deep, JSON_MAX_DEPTH + 1, "nested deeper than");
	free(deep);

	for (i = 0; i < len; i++) {
		char *cut = malloc(i ? i : 1);

		assert_non_null(cut);
		memcpy(cut, line, i);
		assert_false(json_parse(cut, i, &v, &e));
		assert_true(e.col >= 1 && e.col <= i + 1);
		free(cut);
	}
	assert_true(json_parse(line, len, &v, &e));
	json_free(&v);

	for (i = 0; i < 20000; i++) {
		char buf[24];
		size_t k;

		for (k = 0; k < sizeof(buf); k++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			buf[k] = alphabet[(s >> 33) % (sizeof(alphabet) - 1)];
		}
		if (json_parse(buf, sizeof(buf), &v, &e))
			json_free(&v);
		else
			assert_true(e.col >= 1 && e.col <= sizeof(buf) + 1 && e.msg[0]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object_and_types),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_strings_and_escapes),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
