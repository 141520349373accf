/* http_request: the little of an HTTP/1.x request head that /metrics
 * needs (RFC 9112 section 3): the request line's method, target and
 * version, and where the head ends.  No I/O, no allocation: the server
 * (metrics_http.c) hands it the bytes read so far, as often as it likes,
 * so a head that arrives one byte at a time parses the same as one that
 * arrives at once. */
#ifndef CATRACE_HTTP_REQUEST_H
#define CATRACE_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

enum http_method {
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_OTHER,      /* any other token: answered 405 */
};

enum http_parse {
	HTTP_PARSE_MORE,        /* no whole line yet */
	HTTP_PARSE_OK,
	HTTP_PARSE_BAD,         /* not a request line: 400 */
	HTTP_PARSE_VERSION,     /* HTTP/2 and later on this port: 505 */
};

struct http_request_line {
	enum http_method method;
	bool is_metrics;        /* the target's path is /metrics */
	size_t end;             /* bytes of buf up to and with the line's LF */
};

/* Parse the request line at the start of buf[0..len) (empty lines before
 * it skipped, as RFC 9112 2.2 asks).  HTTP_PARSE_OK fills rl. */
enum http_parse http_request_line_parse(const char *buf, size_t len,
					struct http_request_line *rl);

/* Where the head ends: the offset just past the empty line that closes
 * it (CRLF CRLF, or bare LFs), or 0 when buf[0..len) has none yet.
 * *from: where to look from; the caller sets it to the request line's
 * LF (rl.end - 1) once, and each call moves it on, so a head trickled a
 * byte at a time is not searched again from its start at every byte. */
size_t http_head_end(const char *buf, size_t len, size_t *from);

#endif
