/* metrics_http: /metrics over HTTP; see metrics_http.h. */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

struct metrics_http {
	struct MHD_Daemon *d;
	metrics_render_fn render;
	void *ctx;
	struct sbuf body;
};

static const char content_type[] = "text/plain; version=0.0.4; charset=utf-8";

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int metrics_parse_listen(const char *spec, struct sockaddr_storage *ss,
			 char *err, size_t errlen)
{
	char host[128];
	const char *colon, *port_s;
	uint16_t port;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, (size_t)(close - spec - 1));
		host[close - spec - 1] = 0;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1 || parse_port(close + 2, &port))
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return 0;
	}
	colon = strrchr(spec, ':');
	port_s = colon ? colon + 1 : spec;
	if (parse_port(port_s, &port))
		goto bad;
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (colon && colon != spec) {
			if ((size_t)(colon - spec) >= sizeof(host))
				goto bad;
			memcpy(host, spec, (size_t)(colon - spec));
			host[colon - spec] = 0;
			if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
				goto bad;
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "--metrics: '%s' is not ADDR:PORT, [ADDR6]:PORT or PORT", spec);
	return -1;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
			     const char *body, size_t len, const char *type)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	static const char not_found[] = "Not found: catrace serves /metrics only\n";
	static const char bad_method[] = "Method not allowed: use GET\n";
	struct metrics_http *h = cls;

	(void)version;
	(void)upload;
	/* The first call only announces the request: answer on the second,
	 * once any body has been read (and ignored). */
	if (!*req_cls) {
		*req_cls = h;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, bad_method, sizeof(bad_method) - 1,
			     "text/plain");
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1,
			     "text/plain");
	sbuf_reset(&h->body);
	h->render(h->ctx, &h->body);
	if (h->body.oom)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK, sbuf_str(&h->body), h->body.len, content_type);
}

struct metrics_http *metrics_http_start(const char *spec, metrics_render_fn fn,
					void *ctx, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct metrics_http *h;
	unsigned flags = MHD_USE_EPOLL;

	if (metrics_parse_listen(spec, &ss, err, errlen))
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "--metrics: out of memory");
		return NULL;
	}
	h->render = fn;
	h->ctx = ctx;
	sbuf_init(&h->body);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* No thread of its own: MHD_run() from our loop serves requests. */
	h->d = MHD_start_daemon(flags, ntohs(((struct sockaddr_in *)&ss)->sin_port),
				NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "--metrics %s: cannot listen there (in use, or no such address)",
			 spec);
		sbuf_free(&h->body);
		free(h);
		return NULL;
	}
	return h;
}

int metrics_http_fd(const struct metrics_http *h)
{
	const union MHD_DaemonInfo *i =
		MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

void metrics_http_run(struct metrics_http *h)
{
	MHD_run(h->d);
}

void metrics_http_stop(struct metrics_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	sbuf_free(&h->body);
	free(h);
}
