/* metrics_http: a /metrics endpoint driven from the caller's own loop:
 * it exposes one file descriptor to wait on, and the exposition is
 * rendered in the caller's thread when a request comes, so it never races
 * the decoder that feeds the counters.
 *
 * A small HTTP/1.x server of its own (GET and HEAD of /metrics; 404, 405,
 * Connection: close), built so that no client can keep a scrape out:
 * deadlines for the whole request and the whole answer, a limit per
 * client address, and a new connection always gets a slot (the one the
 * least useful connection held).  Why each number: metrics_http.c. */
#ifndef CATRACE_METRICS_HTTP_H
#define CATRACE_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sbuf.h"

/* Connections served at once; beyond it the least useful one is closed.
 * More than a few scrapers need: room for clients of one address that
 * reconnect as fast as they are cut, so that their newest connections do
 * not crowd out a scrape's, and all of it cheap (an 8 KiB head buffer
 * each, touched only when used). */
#define METRICS_HTTP_SLOTS 64
/* Connections one client address holds at once; beyond it its own least
 * useful one is closed, never another address's. */
#define METRICS_HTTP_PER_ADDR 4
/* A connection this young is not closed to make room while an older one
 * can be: time for its request to follow its connect. */
#define METRICS_HTTP_GRACE_MS 100
/* The request head (request line and header fields) must fit in this. */
#define METRICS_HTTP_HEAD_MAX 8192
/* The whole head must have come within this of the connection's accept. */
#define METRICS_HTTP_HEAD_MS 1000
/* The whole answer must have been taken within this of the accept. */
#define METRICS_HTTP_ANSWER_MS 10000
/* After the answer: how long, and how many bytes, the rest of what the
 * client sends is read and dropped before the close. */
#define METRICS_HTTP_LINGER_MS 500
#define METRICS_HTTP_LINGER_BYTES (256 * 1024)

/* Fill sb with the exposition. */
typedef void (*metrics_render_fn)(void *ctx, struct sbuf *sb);

struct metrics_http;

/* Parse "ADDR:PORT", "[ADDR6]:PORT", ":PORT" or "PORT" (loopback when no
 * address is given).  0, or -1 with a one-line reason. */
int metrics_parse_listen(const char *spec, struct sockaddr_storage *ss,
			 char *err, size_t errlen);

struct metrics_http *metrics_http_start(const char *spec, metrics_render_fn fn,
					void *ctx, char *err, size_t errlen);
/* The descriptor that becomes readable when there is work. */
int metrics_http_fd(const struct metrics_http *h);
/* Serve what is ready; never blocks.  Deadlines are checked here: call it
 * at least every 100 ms or so (catrace's loop wakes at least that often),
 * and whenever the descriptor is readable. */
void metrics_http_run(struct metrics_http *h);
/* Connections open now (for tests). */
unsigned metrics_http_open_conns(const struct metrics_http *h);
/* Nanoseconds of a monotonic clock. */
typedef uint64_t (*metrics_clock_fn)(void *ctx);
/* Tests: a clock they move instead of CLOCK_MONOTONIC. */
void metrics_http_set_clock(struct metrics_http *h, metrics_clock_fn fn, void *ctx);
void metrics_http_stop(struct metrics_http *h);

#endif
