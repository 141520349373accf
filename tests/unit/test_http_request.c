/* Unit tests for user/http_request.c: the request line and the end of
 * the head, whole and trickled a byte at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "http_request.h"

static enum http_parse parse(const char *s, struct http_request_line *rl)
{
	return http_request_line_parse(s, strlen(s), rl);
}

static void test_get_head_and_others(void **state)
{
	struct http_request_line rl;

	(void)state;
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n", &rl), HTTP_PARSE_OK);
	assert_int_equal(rl.method, HTTP_METHOD_GET);
	assert_true(rl.is_metrics);
	assert_int_equal(rl.end, strlen("GET /metrics HTTP/1.1\r\n"));
	assert_int_equal(parse("HEAD /metrics HTTP/1.0\n", &rl), HTTP_PARSE_OK);
	assert_int_equal(rl.method, HTTP_METHOD_HEAD);
	assert_int_equal(rl.end, strlen("HEAD /metrics HTTP/1.0\n"));
	/* Any other token is a method we refuse (405), not a bad request. */
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\n", &rl), HTTP_PARSE_OK);
	assert_int_equal(rl.method, HTTP_METHOD_OTHER);
	assert_int_equal(parse("get /metrics HTTP/1.1\r\n", &rl), HTTP_PARSE_OK);
	assert_int_equal(rl.method, HTTP_METHOD_OTHER);
	assert_int_equal(parse("GETS /metrics HTTP/1.1\r\n", &rl), HTTP_PARSE_OK);
	assert_int_equal(rl.method, HTTP_METHOD_OTHER);
}

static void test_path(void **state)
{
	static const struct { const char *line; bool metrics; } cases[] = {
		{ "GET /metrics HTTP/1.1\r\n", true },
		{ "GET /metrics?name[]=x HTTP/1.1\r\n", true },
		{ "GET /metrics/ HTTP/1.1\r\n", false },
		{ "GET /metricsx HTTP/1.1\r\n", false },
		{ "GET /metric HTTP/1.1\r\n", false },
		{ "GET / HTTP/1.1\r\n", false },
		{ "GET ?/metrics HTTP/1.1\r\n", false },
	};
	struct http_request_line rl;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].line, &rl), HTTP_PARSE_OK);
		assert_int_equal(rl.is_metrics, cases[i].metrics);
	}
}

static void test_bad_lines(void **state)
{
	static const char *const bad[] = {
		"GET  /metrics HTTP/1.1\r\n",    /* two spaces */
		"GET /metrics  HTTP/1.1\r\n",
		" GET /metrics HTTP/1.1\r\n",
		"GET /metrics\r\n",              /* HTTP/0.9 */
		"GET\r\n",
		"GET /metrics HTTP/1.1 x\r\n",
		"GET /metrics HTTP/1.10\r\n",
		"GET /metrics HTTP/1\r\n",
		"GET /metrics http/1.1\r\n",
		"G(T /metrics HTTP/1.1\r\n",
		"GET /met\x01rics HTTP/1.1\r\n",
		"GET /met\trics HTTP/1.1\r\n",
		"GET /metrics HTTP/1.1\r\r\n",
		"\x16\x03\x01\x02\x10\x01\xfc\x03\x03\n", /* TLS on the port */
	};
	struct http_request_line rl;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &rl), HTTP_PARSE_BAD);
	assert_int_equal(parse("GET /metrics HTTP/2.0\r\n", &rl), HTTP_PARSE_VERSION);
	assert_int_equal(parse("GET /metrics HTTP/0.9\r\n", &rl), HTTP_PARSE_VERSION);
}

/* Every prefix without the LF asks for more; the whole line parses. */
static void test_trickled_line(void **state)
{
	const char line[] = "\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n";
	size_t lf = strlen("\r\n\r\nGET /metrics HTTP/1.1\r");
	struct http_request_line rl;
	size_t n;

	(void)state;
	for (n = 0; n <= lf; n++)
		assert_int_equal(http_request_line_parse(line, n, &rl), HTTP_PARSE_MORE);
	for (n = lf + 1; n <= sizeof(line) - 1; n++) {
		assert_int_equal(http_request_line_parse(line, n, &rl), HTTP_PARSE_OK);
		/* Empty lines before it skipped; end counts them. */
		assert_int_equal(rl.end, lf + 1);
		assert_true(rl.is_metrics);
	}
}

static size_t head_end_at_once(const char *s)
{
	struct http_request_line rl;
	size_t from;

	assert_int_equal(parse(s, &rl), HTTP_PARSE_OK);
	from = rl.end - 1;
	return http_head_end(s, strlen(s), &from);
}

static void test_head_end(void **state)
{
	(void)state;
	assert_int_equal(head_end_at_once("GET / HTTP/1.1\r\n\r\n"), 18);
	assert_int_equal(head_end_at_once("GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY"), 27);
	assert_int_equal(head_end_at_once("GET / HTTP/1.1\nHost: a\n\n"), 24);
	assert_int_equal(head_end_at_once("GET / HTTP/1.1\r\nHost: a\n\r\n"), 26);
	assert_int_equal(head_end_at_once("GET / HTTP/1.1\r\nHost: a\r\n"), 0);
	assert_int_equal(head_end_at_once("GET / HTTP/1.1\r\nHost: a\r\n\r"), 0);
	/* Empty lines before the request line do not end its head. */
	assert_int_equal(head_end_at_once("\n\nGET / HTTP/1.1\r\nA: b\r\n"), 0);
	assert_int_equal(head_end_at_once("\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 22);
}

/* A head trickled a byte at a time ends at the same byte, and only when
 * that byte has come; each byte is searched a bounded number of times. */
static void test_head_end_trickled(void **state)
{
	static const char *const heads[] = {
		"GET /metrics HTTP/1.1\r\nHost: a\r\nX-Slow: 1\r\nX-Slow: 1\r\n\r\n",
		"GET /metrics HTTP/1.1\nHost: a\n\n",
		"GET /metrics HTTP/1.1\r\n\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		const char *s = heads[i];
		size_t len = strlen(s), n, from = 0, end = 0;
		struct http_request_line rl;
		bool line = false;

		for (n = 1; n <= len && !end; n++) {
			if (!line && http_request_line_parse(s, n, &rl) == HTTP_PARSE_OK) {
				line = true;
				from = rl.end - 1;
			}
			if (line) {
				end = http_head_end(s, n, &from);
				assert_true(from + 3 >= n || end);
			}
		}
		assert_int_equal(end, len);
		assert_int_equal(n - 1, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_head_and_others),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_trickled_line),
		cmocka_unit_test(test_head_end),
		cmocka_unit_test(test_head_end_trickled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
