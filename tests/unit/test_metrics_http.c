/* Unit tests for user/metrics_http.c: the /metrics server over real
 * loopback sockets, with a clock the test moves, so the deadlines are
 * checked to the millisecond without waiting for them:
 *   - answers: 200 (GET, HEAD), 404, 405 with Allow (a POST's body never
 *     waited for), 400, 431; Connection: close;
 *   - a trickled head is cut 1 s after the accept, however often bytes
 *     come; an answer not taken is cut 10 s after it;
 *   - a new connection always gets a slot: the oldest still sending its
 *     head makes room, an address beyond its share makes room itself,
 *     and a connection an instant old is spared while others can go.
 * Source addresses 127.0.0.x: all of 127/8 is the loopback on Linux. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics_http.h"

#define MS 1000000ull

struct fixture {
	struct metrics_http *h;
	uint16_t port;
	uint64_t now_ns;
	size_t body_len;        /* what render writes: that many 'm' */
	unsigned renders;
};

static uint64_t fake_clock(void *ctx)
{
	return ((struct fixture *)ctx)->now_ns;
}

static void render(void *ctx, struct sbuf *sb)
{
	struct fixture *f = ctx;
	char *p = sbuf_room(sb, f->body_len);

	assert_non_null(p);
	memset(p, 'm', f->body_len);
	sbuf_end(sb, p + f->body_len);
	f->renders++;
}

/* A port free a moment ago (the kernel's pick for port 0). */
static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char spec[32], err[200];

	assert_non_null(f);
	f->port = free_port();
	f->now_ns = 1000000 * MS;
	f->body_len = 100;
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", f->port);
	f->h = metrics_http_start(spec, render, f, err, sizeof(err));
	assert_non_null(f->h);
	metrics_http_set_clock(f->h, fake_clock, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	metrics_http_stop(f->h);
	free(f);
	return 0;
}

/* Let the server see what the sockets did: a few runs, a moment apart
 * (the clock the server reads does not move). */
static void pump(struct fixture *f)
{
	int i;

	for (i = 0; i < 5; i++) {
		metrics_http_run(f->h);
		usleep(2000);
	}
}

/* A client from 127.0.0.SRC (0: the kernel's pick); rcvbuf: 0 default. */
static int client(struct fixture *f, unsigned src, int rcvbuf)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(f->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	if (rcvbuf)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	if (src) {
		struct sockaddr_in from = { .sin_family = AF_INET,
					    .sin_addr.s_addr = htonl(0x7f000000u | src) };

		assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	}
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	return fd;
}

static void say(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Everything the server sent until it closed, the server pumped while
 * waiting; NUL-terminated in buf.  Returns the length, or -1 when the
 * connection was still open after a while. */
static ssize_t answer(struct fixture *f, int fd, char *buf, size_t cap)
{
	size_t len = 0;
	int rounds;

	for (rounds = 0; rounds < 500; rounds++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		metrics_http_run(f->h);
		if (poll(&p, 1, 2) <= 0)
			continue;
		n = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			buf[len] = 0;
			return (ssize_t)len;
		}
		if (n > 0)
			len += (size_t)n;
		assert_true(len < cap - 1);
	}
	return -1;
}

/* Closed by the server (EOF or reset), with nothing sent before. */
static bool closed_silently(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static bool still_open(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void test_get_and_head(void **state)
{
	struct fixture *f = *state;
	char buf[4096];
	ssize_t len;
	int fd;

	fd = client(f, 0, 0);
	say(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	len = answer(f, fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\r\n\r\n"));
	assert_int_equal(len, strstr(buf, "\r\n\r\n") + 4 + 100 - buf);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(buf, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	assert_non_null(strstr(buf, "\r\nContent-Length: 100\r\n"));
	assert_non_null(strstr(buf, "\r\nConnection: close\r\n"));
	assert_int_equal(strspn(strstr(buf, "\r\n\r\n") + 4, "m"), 100);
	close(fd);

	fd = client(f, 0, 0);
	say(fd, "HEAD /metrics HTTP/1.0\r\n\r\n");
	assert_true(answer(f, fd, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(buf, "\r\nContent-Length: 100\r\n"));
	assert_string_equal(strstr(buf, "\r\n\r\n"), "\r\n\r\n");
	close(fd);
}

static void test_errors(void **state)
{
	static const struct { const char *req; const char *status; } cases[] = {
		{ "GET /other HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found\r\n" },
		{ "GET /metrics\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n" },
		{ "GET /metrics HTTP/2.0\r\n\r\n", "HTTP/1.1 505 " },
		{ "DELETE /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\n" },
	};
	struct fixture *f = *state;
	char buf[4096];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = client(f, 0, 0);

		say(fd, cases[i].req);
		assert_true(answer(f, fd, buf, sizeof(buf)) > 0);
		assert_memory_equal(buf, cases[i].status, strlen(cases[i].status));
		close(fd);
	}
	assert_int_equal(f->renders, 0);
}

/* The 405 comes once the request line has: neither the rest of the head
 * nor the 8 MiB body it announces is waited for. */
static void test_post_refused_at_once(void **state)
{
	struct fixture *f = *state;
	char buf[4096];
	int fd = client(f, 0, 0);

	say(fd, "POST /metrics HTTP/1.1\r\n");
	assert_true(answer(f, fd, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(buf, "\r\nAllow: GET, HEAD\r\n"));
	close(fd);

	fd = client(f, 0, 0);
	say(fd, "POST /metrics HTTP/1.1\r\nContent-Length: 8388608\r\n\r\nxxxx");
	assert_true(answer(f, fd, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 405 "));
	close(fd);
}

static void test_head_too_large(void **state)
{
	struct fixture *f = *state;
	char line[1024], buf[4096];
	int fd = client(f, 0, 0), i;

	memset(line, 'a', sizeof(line) - 3);
	memcpy(line, "X-A: ", 5);
	memcpy(line + sizeof(line) - 3, "\r\n", 3);
	say(fd, "GET /metrics HTTP/1.1\r\n");
	for (i = 0; i < 9; i++)
		say(fd, line);
	assert_true(answer(f, fd, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 431 "));
	close(fd);
}

/* A header line every 300 ms: each byte comes well within any inactivity
 * timeout, and yet the head's deadline, 1 s after the accept, holds. */
static void test_trickled_head_cut_at_deadline(void **state)
{
	struct fixture *f = *state;
	int fd = client(f, 0, 0), i;

	say(fd, "GET /metrics HTTP/1.1\r\n");
	pump(f);
	for (i = 0; i < 3; i++) {
		f->now_ns += 300 * MS;
		say(fd, "X-Slow: 1\r\n");
		pump(f);
		assert_true(still_open(fd));
	}
	f->now_ns += METRICS_HTTP_HEAD_MS * MS - 900 * MS - 1;
	pump(f);
	assert_true(still_open(fd));
	f->now_ns += 1;
	pump(f);
	assert_true(closed_silently(fd));
	assert_int_equal(metrics_http_open_conns(f->h), 0);
	assert_int_equal(f->renders, 0);
	close(fd);
}

/* A 3 MiB exposition comes whole to a client that reads: written over
 * many runs as the socket takes it, Content-Length right. */
static void test_large_answer_whole(void **state)
{
	struct fixture *f = *state;
	size_t cap = 4u << 20;
	char *buf = malloc(cap);
	const char *body;
	ssize_t len;
	int fd;

	assert_non_null(buf);
	f->body_len = 3u << 20;
	fd = client(f, 0, 0);
	say(fd, "GET /metrics HTTP/1.1\r\n\r\n");
	len = answer(f, fd, buf, cap);
	assert_true(len > 0);
	assert_non_null(strstr(buf, "\r\nContent-Length: 3145728\r\n"));
	body = strstr(buf, "\r\n\r\n") + 4;
	assert_int_equal(len - (body - buf), 3u << 20);
	assert_int_equal(strspn(body, "m"), 3u << 20);
	assert_int_equal(f->renders, 1);
	close(fd);
	free(buf);
}

/* An answer of 16 MiB to a client that never reads: the socket buffers
 * cannot hold it, the server stays WRITING, and is cut 10 s after the
 * accept, its loop never held meanwhile. */
static void test_unread_answer_cut_at_deadline(void **state)
{
	struct fixture *f = *state;
	int fd;

	f->body_len = 16u << 20;
	fd = client(f, 0, 4096);
	say(fd, "GET /metrics HTTP/1.1\r\n\r\n");
	pump(f);
	f->now_ns += METRICS_HTTP_ANSWER_MS * MS - 1;
	pump(f);
	assert_int_equal(metrics_http_open_conns(f->h), 1);
	f->now_ns += 1;
	pump(f);
	assert_int_equal(metrics_http_open_conns(f->h), 0);
	close(fd);
}

/* Answered, the server lingers while the client may still send, then
 * closes on its own: at the client's close, or after LINGER_MS. */
static void test_linger_bounded(void **state)
{
	struct fixture *f = *state;
	char buf[4096];
	int fd = client(f, 0, 0);

	say(fd, "GET /other HTTP/1.1\r\n\r\n");
	pump(f);
	assert_int_equal(metrics_http_open_conns(f->h), 1);
	assert_true(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0);
	assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), 0);  /* our FIN */
	say(fd, "more bytes the server drops\r\n");
	f->now_ns += METRICS_HTTP_LINGER_MS * MS - 1;
	pump(f);
	assert_int_equal(metrics_http_open_conns(f->h), 1);
	f->now_ns += 1;
	pump(f);
	assert_int_equal(metrics_http_open_conns(f->h), 0);
	close(fd);
}

/* All slots held by heads that never end, from as many addresses as it
 * takes (each holding its share): a scrape from another gets in, and the
 * oldest slow head made room for it. */
static void test_full_slots_make_room(void **state)
{
	struct fixture *f = *state;
	int slow[METRICS_HTTP_SLOTS], fd, i;
	char buf[4096];

	for (i = 0; i < METRICS_HTTP_SLOTS; i++) {
		slow[i] = client(f, 10 + (unsigned)i % (METRICS_HTTP_SLOTS / METRICS_HTTP_PER_ADDR), 0);
		say(slow[i], "GET /metrics HTTP/1.1\r\n");
		pump(f);
	}
	assert_int_equal(metrics_http_open_conns(f->h), METRICS_HTTP_SLOTS);
	f->now_ns += METRICS_HTTP_GRACE_MS * MS;
	fd = client(f, 200, 0);
	say(fd, "GET /metrics HTTP/1.1\r\n\r\n");
	assert_true(answer(f, fd, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_true(closed_silently(slow[0]));
	for (i = 1; i < METRICS_HTTP_SLOTS; i++)
		assert_true(still_open(slow[i]));
	for (i = 0; i < METRICS_HTTP_SLOTS; i++)
		close(slow[i]);
	close(fd);
}

/* One address beyond its share closes its own oldest, never another's:
 * a slow scrape from 127.0.0.3 survives the connections of 127.0.0.2. */
static void test_per_address_share(void **state)
{
	struct fixture *f = *state;
	int other, mine[6], i;
	char status[16];

	other = client(f, 3, 0);
	say(other, "GET /metrics HTTP/1.1\r\n");
	pump(f);
	for (i = 0; i < 6; i++) {
		f->now_ns += METRICS_HTTP_GRACE_MS * MS;
		mine[i] = client(f, 2, 0);
		say(mine[i], "GET /metrics HTTP/1.1\r\n");
		pump(f);
	}
	assert_int_equal(metrics_http_open_conns(f->h), 1 + METRICS_HTTP_PER_ADDR);
	assert_true(still_open(other));
	for (i = 0; i < 6 - METRICS_HTTP_PER_ADDR; i++)
		assert_true(closed_silently(mine[i]));
	for (; i < 6; i++)
		assert_true(still_open(mine[i]));
	/* The survivor's head ends: it is answered. */
	say(other, "\r\n");
	pump(f);
	assert_true(recv(other, status, 15, MSG_DONTWAIT) == 15);
	assert_memory_equal(status, "HTTP/1.1 200 OK", 15);
	for (i = 0; i < 6; i++)
		close(mine[i]);
	close(other);
}

/* Slow clients of one address reconnect in a burst just after a scrape
 * of the same address connected, its request not sent yet: the scrape,
 * young, is spared (the address passes its share while slots are free),
 * and answered when its request comes. */
static void test_young_spared(void **state)
{
	struct fixture *f = *state;
	int old[METRICS_HTTP_PER_ADDR], burst[METRICS_HTTP_PER_ADDR + 1], scrape, i;
	char buf[4096];

	for (i = 0; i < METRICS_HTTP_PER_ADDR; i++) {
		old[i] = client(f, 2, 0);
		say(old[i], "GET /metrics HTTP/1.1\r\n");
	}
	pump(f);
	f->now_ns += METRICS_HTTP_GRACE_MS * MS;
	scrape = client(f, 2, 0);
	pump(f);
	for (i = 0; i < METRICS_HTTP_PER_ADDR + 1; i++) {
		burst[i] = client(f, 2, 0);
		say(burst[i], "GET /metrics HTTP/1.1\r\n");
		pump(f);
	}
	for (i = 0; i < METRICS_HTTP_PER_ADDR; i++)
		assert_true(closed_silently(old[i]));
	assert_true(still_open(scrape));
	say(scrape, "GET /metrics HTTP/1.1\r\n\r\n");
	assert_true(answer(f, scrape, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	for (i = 0; i < METRICS_HTTP_PER_ADDR; i++)
		close(old[i]);
	for (i = 0; i < METRICS_HTTP_PER_ADDR + 1; i++)
		close(burst[i]);
	close(scrape);
}

/* [ADDR6]:PORT listens on IPv6 and serves the same. */
static void test_ipv6(void **state)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct fixture f = { .now_ns = 1, .body_len = 10 };
	char spec[40], err[200], buf[1024];
	int fd;

	(void)state;
	f.port = free_port();
	snprintf(spec, sizeof(spec), "[::1]:%u", f.port);
	f.h = metrics_http_start(spec, render, &f, err, sizeof(err));
	if (!f.h)
		skip();         /* no IPv6 on this host */
	to.sin6_port = htons(f.port);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	say(fd, "GET /metrics HTTP/1.1\r\n\r\n");
	assert_true(answer(&f, fd, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	close(fd);
	metrics_http_stop(f.h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_and_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_refused_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trickled_head_cut_at_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_answer_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unread_answer_cut_at_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_slots_make_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_address_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_young_spared, setup, teardown),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
