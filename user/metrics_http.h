/* metrics_http: a /metrics endpoint (libmicrohttpd) driven from the
 * caller's own loop: it exposes one file descriptor to wait on, and the
 * exposition is rendered in the caller's thread when a request comes, so
 * it never races the decoder that feeds the counters. */
#ifndef CATRACE_METRICS_HTTP_H
#define CATRACE_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sbuf.h"

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
/* Serve what is ready; never blocks. */
void metrics_http_run(struct metrics_http *h);
void metrics_http_stop(struct metrics_http *h);

#endif
