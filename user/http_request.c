/* http_request: request line and end of head; see http_request.h. */
#include "http_request.h"

#include <string.h>

/* RFC 9110 5.6.2: the characters of a token (a method is one). */
static bool is_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t skip_empty_lines(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i;
}

static enum http_method method_of(const char *s, size_t n)
{
	if (n == 3 && memcmp(s, "GET", 3) == 0)
		return HTTP_METHOD_GET;
	if (n == 4 && memcmp(s, "HEAD", 4) == 0)
		return HTTP_METHOD_HEAD;
	return HTTP_METHOD_OTHER;
}

/* The path is what comes before any query: "/metrics?x=1" is /metrics,
 * as libmicrohttpd (the server before this one) took it. */
static bool target_is_metrics(const char *s, size_t n)
{
	const char *q = memchr(s, '?', n);
	size_t path = q ? (size_t)(q - s) : n;

	return path == 8 && memcmp(s, "/metrics", 8) == 0;
}

/* "HTTP/" DIGIT "." DIGIT (RFC 9112 2.3). */
static enum http_parse version_check(const char *s, size_t n)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || !is_digit(s[5]) || s[6] != '.' ||
	    !is_digit(s[7]))
		return HTTP_PARSE_BAD;
	return s[5] == '1' ? HTTP_PARSE_OK : HTTP_PARSE_VERSION;
}

/* method SP target SP version, nothing else: one space each, as the RFC
 * has it (a lenient parser is how request smuggling starts). */
static enum http_parse split_line(const char *s, size_t n, struct http_request_line *rl)
{
	size_t m = 0, t;
	enum http_parse v;

	while (m < n && is_tchar(s[m]))
		m++;
	if (m == 0 || m == n || s[m] != ' ')
		return HTTP_PARSE_BAD;
	t = m + 1;
	while (t < n && s[t] != ' ') {
		if ((unsigned char)s[t] <= 0x20 || s[t] == 0x7f)
			return HTTP_PARSE_BAD;
		t++;
	}
	if (t == m + 1 || t == n)
		return HTTP_PARSE_BAD;
	v = version_check(s + t + 1, n - t - 1);
	if (v != HTTP_PARSE_OK)
		return v;
	rl->method = method_of(s, m);
	rl->is_metrics = target_is_metrics(s + m + 1, t - m - 1);
	return HTTP_PARSE_OK;
}

enum http_parse http_request_line_parse(const char *buf, size_t len,
					struct http_request_line *rl)
{
	size_t start = skip_empty_lines(buf, len);
	const char *lf = memchr(buf + start, '\n', len - start);
	size_t n;
	enum http_parse r;

	if (!lf)
		return HTTP_PARSE_MORE;
	n = (size_t)(lf - (buf + start));
	if (n && buf[start + n - 1] == '\r')
		n--;
	r = split_line(buf + start, n, rl);
	if (r == HTTP_PARSE_OK)
		rl->end = (size_t)(lf - buf) + 1;
	return r;
}

size_t http_head_end(const char *buf, size_t len, size_t *from)
{
	size_t i;

	for (i = *from; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
		if (i + 1 == len || (buf[i + 1] == '\r' && i + 2 == len)) {
			/* Too few bytes after this LF to tell: look again here. */
			*from = i;
			return 0;
		}
	}
	*from = len;
	return 0;
}
