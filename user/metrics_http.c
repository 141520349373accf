/* metrics_http: /metrics over HTTP; see metrics_http.h.
 *
 * Until issue 14 this was libmicrohttpd, which a few clients could block
 * (16 connections trickling a header line every 2 s held every slot: its
 * timeout is one of inactivity, reset by each byte; an 8 MiB POST was
 * read for 44 s before its 405).  libmicrohttpd 0.9.75 has no deadline
 * for a whole request, no way to close a connection of our choosing, and
 * refuses new connections when full instead of making room.  What
 * /metrics needs of HTTP is small, so it is served here:
 *
 * - a connection is READING its request head, then WRITING the answer,
 *   then LINGERING (our side shut, the rest of what the client sends
 *   read and dropped for a moment, so that closing with unread bytes
 *   does not reset the connection before the client has read the
 *   answer), then closed;
 * - each state has a deadline counted from the accept (or, lingering,
 *   from the end of the answer), not from the last byte: trickling does
 *   not extend it.  The head within 1 s: Prometheus, curl and browsers
 *   send it in one segment right after connecting.  The answer within
 *   10 s: Prometheus's default scrape timeout; a 3 MB exposition needs
 *   far less on any link that can carry it;
 * - a method other than GET or HEAD is answered 405 as soon as the
 *   request line has come: a body is never waited for nor read (beyond
 *   the short lingering);
 * - when a connection comes and the slots are full, the least useful
 *   connection makes room (lingering first, then one still sending its
 *   head, then one being answered; the oldest first): a new scrape
 *   always gets in, and the connections that lose are the ones that
 *   took longest.  Per client address at most METRICS_HTTP_PER_ADDR:
 *   beyond it the address's own connection makes room, so one noisy
 *   address never closes another's scrape.  A connection younger than
 *   METRICS_HTTP_GRACE_MS is spared while an older one can go (see
 *   slot_for);
 * - everything is non-blocking and bounded per call (accepts, one read
 *   or one write per ready connection), so the tracer's loop is never
 *   held: a client that does not read its answer is cut at its deadline.
 */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_request.h"

/* Accepts per run: a flood of connects waits for the next turn of the
 * loop instead of holding this one. */
#define ACCEPTS_PER_RUN 32
#define LISTEN_BACKLOG 64
/* The epoll data of the listening socket; connections carry their slot. */
#define LISTENER_TAG UINT32_MAX
#define NS_PER_MS 1000000ull

enum conn_state {
	CONN_FREE,
	CONN_READING,           /* the request head */
	CONN_WRITING,           /* the answer */
	CONN_LINGERING,         /* answered, our side shut */
};

struct http_conn {
	int fd;
	enum conn_state state;
	struct in6_addr peer;           /* IPv4 as v4-mapped */
	uint64_t accepted_ns;
	uint64_t serial;                /* accept order: the oldest is lowest */
	uint64_t deadline_ns;           /* closed when the clock reaches it */
	bool line_done;                 /* rl holds the request line */
	struct http_request_line rl;
	size_t head_len, head_scan;     /* bytes read; http_head_end's *from */
	char *out;                      /* the answer: status, fields, body */
	size_t out_len, out_sent;
	size_t dropped;                 /* bytes read and dropped, lingering */
	char head[METRICS_HTTP_HEAD_MAX];
};

struct metrics_http {
	int listen_fd, epfd;
	metrics_render_fn render;
	void *ctx;
	metrics_clock_fn clock;
	void *clock_ctx;
	uint64_t now_ns;                /* this run's time */
	uint64_t accepts;               /* serials handed out */
	struct sbuf body;
	bool rendered;                  /* body is this run's exposition */
	struct http_conn conn[METRICS_HTTP_SLOTS];
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

static uint64_t monotonic_ns(void *ctx)
{
	struct timespec t;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static bool would_block(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* Interest in one direction only: the state says which. */
static void conn_watch(struct metrics_http *h, struct http_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)(c - h->conn) };

	epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(struct http_conn *c)
{
	/* close() also takes the descriptor out of the epoll set. */
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
	c->state = CONN_FREE;
}

/* The answer is out: shut our side, so the client sees its end, and
 * drop what it still sends for a moment (see the top of the file). */
static void conn_linger(struct metrics_http *h, struct http_conn *c)
{
	free(c->out);
	c->out = NULL;
	shutdown(c->fd, SHUT_WR);
	c->state = CONN_LINGERING;
	c->dropped = 0;
	c->deadline_ns = h->now_ns + METRICS_HTTP_LINGER_MS * NS_PER_MS;
	conn_watch(h, c, EPOLLIN);
}

/* One send: what the socket takes now; the rest when it is writable. */
static void conn_write(struct metrics_http *h, struct http_conn *c)
{
	ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0) {
		if (!would_block())
			conn_close(c);
		return;
	}
	c->out_sent += (size_t)n;
	if (c->out_sent == c->out_len)
		conn_linger(h, c);
}

static const char *reason_phrase(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

/* Queue the answer and send what the socket takes at once (most answers
 * fit).  HEAD: the same status and fields, no body. */
static void conn_answer(struct metrics_http *h, struct http_conn *c, unsigned status,
			const char *type, const char *body, size_t body_len, bool head_only)
{
	char fields[320];
	int n = snprintf(fields, sizeof(fields),
			 "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "%sConnection: close\r\n\r\n",
			 status, reason_phrase(status), type, body_len,
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");
	size_t total = (size_t)n + (head_only ? 0 : body_len);

	c->out = malloc(total);
	if (!c->out) {
		conn_close(c);
		return;
	}
	memcpy(c->out, fields, (size_t)n);
	if (!head_only)
		memcpy(c->out + n, body, body_len);
	c->out_len = total;
	c->out_sent = 0;
	c->state = CONN_WRITING;
	c->deadline_ns = c->accepted_ns + METRICS_HTTP_ANSWER_MS * NS_PER_MS;
	conn_watch(h, c, EPOLLOUT);
	conn_write(h, c);
}

static void conn_answer_text(struct metrics_http *h, struct http_conn *c, unsigned status,
			     const char *text, bool head_only)
{
	conn_answer(h, c, status, "text/plain", text, strlen(text), head_only);
}

/* Rendered once per run however many scrapes come in it: the counters
 * cannot change within a run, and a burst of requests costs one render. */
static const struct sbuf *exposition(struct metrics_http *h)
{
	if (!h->rendered) {
		sbuf_reset(&h->body);
		h->render(h->ctx, &h->body);
		h->rendered = true;
	}
	return &h->body;
}

/* A whole head: answer the request line it starts with. */
static void conn_answer_request(struct metrics_http *h, struct http_conn *c)
{
	bool head_only = c->rl.method == HTTP_METHOD_HEAD;
	const struct sbuf *body;

	if (!c->rl.is_metrics) {
		conn_answer_text(h, c, 404, "Not found: catrace serves /metrics only\n", head_only);
		return;
	}
	body = exposition(h);
	if (body->oom) {
		conn_close(c);
		return;
	}
	conn_answer(h, c, 200, content_type, sbuf_str(body), body->len, head_only);
}

/* What the bytes so far allow: an answer now, or more bytes. */
static void conn_examine(struct metrics_http *h, struct http_conn *c)
{
	if (!c->line_done) {
		switch (http_request_line_parse(c->head, c->head_len, &c->rl)) {
		case HTTP_PARSE_MORE:
			break;
		case HTTP_PARSE_BAD:
			conn_answer_text(h, c, 400, "Bad request\n", false);
			return;
		case HTTP_PARSE_VERSION:
			conn_answer_text(h, c, 505, "HTTP/1.x only\n", false);
			return;
		case HTTP_PARSE_OK:
			c->line_done = true;
			c->head_scan = c->rl.end - 1;
			/* At once: no waiting for, nor reading of, a body. */
			if (c->rl.method == HTTP_METHOD_OTHER) {
				conn_answer_text(h, c, 405, "Method not allowed: use GET\n", false);
				return;
			}
			break;
		}
	}
	if (c->line_done && http_head_end(c->head, c->head_len, &c->head_scan)) {
		conn_answer_request(h, c);
		return;
	}
	if (c->head_len == sizeof(c->head))
		conn_answer_text(h, c, 431, "Request head too large\n", false);
}

static void conn_read_head(struct metrics_http *h, struct http_conn *c)
{
	ssize_t n = recv(c->fd, c->head + c->head_len, sizeof(c->head) - c->head_len, 0);

	if (n < 0 && would_block())
		return;
	if (n <= 0) {
		/* Gone before its request was whole, or an error. */
		conn_close(c);
		return;
	}
	c->head_len += (size_t)n;
	conn_examine(h, c);
}

static void conn_drop_input(struct http_conn *c)
{
	char junk[16384];
	ssize_t n = recv(c->fd, junk, sizeof(junk), 0);

	if (n < 0 && would_block())
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->dropped += (size_t)n;
	if (c->dropped > METRICS_HTTP_LINGER_BYTES)
		conn_close(c);
}

/* By state, not by the event's flags: an error or a hang-up shows in the
 * read or write itself. */
static void conn_serve(struct metrics_http *h, struct http_conn *c)
{
	switch (c->state) {
	case CONN_READING:
		conn_read_head(h, c);
		break;
	case CONN_WRITING:
		conn_write(h, c);
		break;
	case CONN_LINGERING:
		conn_drop_input(c);
		break;
	case CONN_FREE:
		break;
	}
}

/* Which connection makes room: lingering ones are done, heads still
 * coming are worth less than answers on their way. */
static int eviction_rank(enum conn_state s)
{
	switch (s) {
	case CONN_LINGERING: return 0;
	case CONN_READING: return 1;
	case CONN_WRITING: return 2;
	case CONN_FREE: break;
	}
	return 3;
}

static bool same_peer(const struct in6_addr *a, const struct in6_addr *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static bool is_young(const struct metrics_http *h, const struct http_conn *c)
{
	return h->now_ns - c->accepted_ns < METRICS_HTTP_GRACE_MS * NS_PER_MS;
}

/* The least useful open connection (of `peer` only, unless NULL; not a
 * young one when spare_young): the lowest rank, then the oldest. */
static struct http_conn *least_useful(struct metrics_http *h, const struct in6_addr *peer,
				      bool spare_young)
{
	struct http_conn *best = NULL;
	unsigned i;

	for (i = 0; i < METRICS_HTTP_SLOTS; i++) {
		struct http_conn *c = &h->conn[i];

		if (c->state == CONN_FREE || (peer && !same_peer(&c->peer, peer)) ||
		    (spare_young && is_young(h, c)))
			continue;
		if (!best || eviction_rank(c->state) < eviction_rank(best->state) ||
		    (eviction_rank(c->state) == eviction_rank(best->state) &&
		     c->serial < best->serial))
			best = c;
	}
	return best;
}

static unsigned conns_of(const struct metrics_http *h, const struct in6_addr *peer)
{
	unsigned i, n = 0;

	for (i = 0; i < METRICS_HTTP_SLOTS; i++)
		if (h->conn[i].state != CONN_FREE && same_peer(&h->conn[i].peer, peer))
			n++;
	return n;
}

static struct http_conn *free_slot(struct metrics_http *h)
{
	unsigned i;

	for (i = 0; i < METRICS_HTTP_SLOTS; i++)
		if (h->conn[i].state == CONN_FREE)
			return &h->conn[i];
	return NULL;
}

/* Close the least useful connection (see least_useful).  One still
 * reading its head is read once more first: a request that came since
 * the last run is answered, not cut, and the next least useful one goes
 * instead. */
static void make_room(struct metrics_http *h, const struct in6_addr *peer, bool spare_young)
{
	struct http_conn *c;

	while ((c = least_useful(h, peer, spare_young)) && c->state == CONN_READING) {
		conn_read_head(h, c);
		if (c->state != CONN_WRITING && c->state != CONN_LINGERING)
			break;
	}
	if (c && c->state != CONN_FREE)
		conn_close(c);
}

/* A slot for a new connection from peer, always.  When the address has
 * its share, its own least useful connection makes room; when all slots
 * are taken, anyone's.  Young connections are spared while an older one
 * can go: clients of one address that reconnect as fast as they are cut
 * come in bursts, and would otherwise cut a scrape of the same address
 * accepted an instant before them, its request still on the way.  So an
 * address may pass its share with young connections, while slots are
 * free. */
static struct http_conn *slot_for(struct metrics_http *h, const struct in6_addr *peer)
{
	struct http_conn *c;

	if (conns_of(h, peer) >= METRICS_HTTP_PER_ADDR)
		make_room(h, peer, true);
	c = free_slot(h);
	if (!c) {
		make_room(h, NULL, true);
		c = free_slot(h);
	}
	if (!c) {
		make_room(h, NULL, false);
		c = free_slot(h);
	}
	return c;
}

static struct in6_addr peer_address(const struct sockaddr_storage *ss)
{
	struct in6_addr a;

	memset(&a, 0, sizeof(a));
	if (ss->ss_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)ss)->sin6_addr;
	} else if (ss->ss_family == AF_INET) {
		a.s6_addr[10] = 0xff;
		a.s6_addr[11] = 0xff;
		memcpy(&a.s6_addr[12], &((const struct sockaddr_in *)ss)->sin_addr, 4);
	}
	return a;
}

/* false: nothing (more) to accept this run. */
static bool accept_one(struct metrics_http *h)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct epoll_event ev = { .events = EPOLLIN };
	struct in6_addr peer;
	struct http_conn *c;
	int fd;

	fd = accept4(h->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return false;
	peer = peer_address(&ss);
	c = slot_for(h, &peer);
	if (!c) {               /* cannot happen: room is always made */
		close(fd);
		return true;
	}
	memset(c, 0, offsetof(struct http_conn, head));
	c->fd = fd;
	c->state = CONN_READING;
	c->peer = peer;
	c->accepted_ns = h->now_ns;
	c->serial = ++h->accepts;
	c->deadline_ns = h->now_ns + METRICS_HTTP_HEAD_MS * NS_PER_MS;
	ev.data.u32 = (uint32_t)(c - h->conn);
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		conn_close(c);
		return true;
	}
	/* The request usually came with the connection: no need to wait for
	 * the next turn to read it. */
	conn_read_head(h, c);
	return true;
}

static void close_expired(struct metrics_http *h)
{
	unsigned i;

	for (i = 0; i < METRICS_HTTP_SLOTS; i++) {
		struct http_conn *c = &h->conn[i];

		if (c->state != CONN_FREE && h->now_ns >= c->deadline_ns)
			conn_close(c);
	}
}

void metrics_http_run(struct metrics_http *h)
{
	struct epoll_event ev[METRICS_HTTP_SLOTS + 1];
	bool listener_ready = false;
	int i, n;

	h->now_ns = h->clock(h->clock_ctx);
	h->rendered = false;
	close_expired(h);
	n = epoll_wait(h->epfd, ev, (int)(sizeof(ev) / sizeof(ev[0])), 0);
	for (i = 0; i < n; i++) {
		if (ev[i].data.u32 == LISTENER_TAG)
			listener_ready = true;
		else if (ev[i].data.u32 < METRICS_HTTP_SLOTS)
			conn_serve(h, &h->conn[ev[i].data.u32]);
	}
	/* Accept last: an event read above for a slot is never applied to a
	 * new connection that took that slot in between. */
	for (i = 0; listener_ready && i < ACCEPTS_PER_RUN; i++)
		if (!accept_one(h))
			break;
}

unsigned metrics_http_open_conns(const struct metrics_http *h)
{
	unsigned i, n = 0;

	for (i = 0; i < METRICS_HTTP_SLOTS; i++)
		n += h->conn[i].state != CONN_FREE;
	return n;
}

void metrics_http_set_clock(struct metrics_http *h, metrics_clock_fn fn, void *ctx)
{
	h->clock = fn;
	h->clock_ctx = ctx;
}

static int listen_on(const struct sockaddr_storage *ss)
{
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						      sizeof(struct sockaddr_in);
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int on = 1;

	if (fd < 0)
		return -1;
	/* A restarted catrace gets its port back at once (TIME_WAIT). */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* [ADDR6] means IPv6 only, as it did with libmicrohttpd. */
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct metrics_http *metrics_http_start(const char *spec, metrics_render_fn fn,
					void *ctx, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = LISTENER_TAG };
	struct metrics_http *h;
	unsigned i;

	if (metrics_parse_listen(spec, &ss, err, errlen))
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "--metrics: out of memory");
		return NULL;
	}
	h->render = fn;
	h->ctx = ctx;
	h->clock = monotonic_ns;
	sbuf_init(&h->body);
	for (i = 0; i < METRICS_HTTP_SLOTS; i++)
		h->conn[i].fd = -1;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->listen_fd = listen_on(&ss);
	if (h->epfd < 0 || h->listen_fd < 0 ||
	    epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->listen_fd, &ev) < 0) {
		snprintf(err, errlen, "--metrics %s: cannot listen there (in use, or no such address)",
			 spec);
		if (h->listen_fd >= 0)
			close(h->listen_fd);
		if (h->epfd >= 0)
			close(h->epfd);
		sbuf_free(&h->body);
		free(h);
		return NULL;
	}
	return h;
}

int metrics_http_fd(const struct metrics_http *h)
{
	return h->epfd;
}

void metrics_http_stop(struct metrics_http *h)
{
	unsigned i;

	if (!h)
		return;
	for (i = 0; i < METRICS_HTTP_SLOTS; i++)
		if (h->conn[i].state != CONN_FREE)
			conn_close(&h->conn[i]);
	close(h->listen_fd);
	close(h->epfd);
	sbuf_free(&h->body);
	free(h);
}
