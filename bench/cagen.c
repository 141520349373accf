/* cagen: a Channel Access traffic generator for the live benchmark.
 *
 *   cagen serve  [-b ADDR] [-p PORT] [-r MSGS_PER_S] [-d SECONDS]
 *   cagen client -a ADDR [-p PORT] [-c CHANNELS]
 *
 * The client opens a real CA circuit the way libca does (VERSION,
 * CLIENT_NAME, HOST_NAME, CREATE_CHAN for CHANNELS PVs "BENCH:GEN:nnnn"),
 * subscribes to every channel (EVENT_ADD, DBR_DOUBLE), then counts what
 * arrives.  The server answers like an IOC (VERSION, ACCESS_RIGHTS,
 * CREATE_CHAN replies, a first update per subscription), then sends
 * monitor updates for SECONDS: EVENT_ADD responses, a 16-byte header and
 * an 8-byte DBR_DOUBLE value (24 bytes on the wire), subscriptions in
 * turn, values counting up.  Every byte is built per doc/ca-protocol.md,
 * so catrace decodes the traffic and names every update's PV.
 *
 * Rate: -r N sends N updates a second: every 1 ms tick, one write of the
 * updates due (at most 2730 a write), as an IOC flushes what its scans
 * produced; -r 0 sends as fast as TCP takes them (64 KiB writes).  Nagle
 * is off (TCP_NODELAY), as in libca and RSRV.  When the time is up the server shuts
 * its side down; the client reads to EOF.
 *
 * Each side prints one line of key=value pairs on stdout:
 *   server: msgs bytes secs rate (updates/s) target cpu_user cpu_sys
 *   client: msgs bytes secs rate MBps cpu_user cpu_sys bad
 * (the client counts messages by walking their headers; secs runs from
 * the first update to EOF).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ca_proto.h"

#define MINOR_VERSION 13
#define UPDATE_LEN 24
#define BATCH 2730   /* updates per write at full speed: 65520 bytes */
#define DBE_VALUE 1
#define DBE_ALARM 4

static void die(const char *what)
{
	fprintf(stderr, "cagen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_double(uint8_t *p, double v)
{
	uint64_t b;
	int i;

	memcpy(&b, &v, 8);
	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(b >> (56 - 8 * i));
}

/* A standard 16-byte header. */
static uint8_t *hdr(uint8_t *p, uint16_t cmd, uint16_t size, uint16_t dtype,
		    uint16_t count, uint32_t p1, uint32_t p2)
{
	put16(p, cmd);
	put16(p + 2, size);
	put16(p + 4, dtype);
	put16(p + 6, count);
	put32(p + 8, p1);
	put32(p + 12, p2);
	return p + 16;
}

/* A header with a NUL-padded string payload. */
static uint8_t *hdr_str(uint8_t *p, uint16_t cmd, const char *s, uint16_t dtype,
			uint16_t count, uint32_t p1, uint32_t p2)
{
	size_t n = strlen(s) + 1, padded = (n + 7) & ~(size_t)7;

	p = hdr(p, cmd, (uint16_t)padded, dtype, count, p1, p2);
	memset(p, 0, padded);
	memcpy(p, s, n);
	return p + padded;
}

static void write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += w;
		n -= (size_t)w;
	}
}

static void read_all(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (r == 0) {
			fprintf(stderr, "cagen: peer closed during the handshake\n");
			exit(1);
		}
		p += r;
		n -= (size_t)r;
	}
}

/* Read one message (standard header only) into m; returns payload size. */
static uint32_t read_msg(int fd, uint8_t *m, size_t cap)
{
	uint32_t size;

	read_all(fd, m, 16);
	size = get16(m + 2);
	if (size + 16 > cap) {
		fprintf(stderr, "cagen: unexpected message size %u\n", size);
		exit(1);
	}
	if (size)
		read_all(fd, m + 16, size);
	return size;
}

static void cpu_times(double *u, double *s)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*u = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*s = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---- server ---- */

static int serve(const char *addr, int port, double rate, double secs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	uint8_t m[2048], *out, *p, *buf;
	uint32_t nchan = 0, nsub = 0, i;
	uint64_t sent = 0, bytes = 0;
	double t0, t, u0, s0, u1, s1;
	int ls, fd, one = 1;
	size_t outcap = 1 << 20;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "cagen: bad address %s\n", addr);
		return 2;
	}
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1))
		die("bind/listen");
	printf("listening\n");
	fflush(stdout);
	fd = accept(ls, NULL, NULL);
	if (fd < 0)
		die("accept");
	close(ls);

	/* The handshake, as an IOC answers it; subscriptions end it. */
	out = malloc(outcap);
	if (!out)
		die("malloc");
	p = hdr(out, CA_PROTO_VERSION, 0, 0, MINOR_VERSION, 0, 0);
	write_all(fd, out, (size_t)(p - out));
	for (;;) {
		read_msg(fd, m, sizeof(m));
		switch (get16(m)) {
		case CA_PROTO_CREATE_CHAN:
			p = hdr(out, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, get32(m + 8), 3);
			p = hdr(p, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, get32(m + 8),
				1000 + get32(m + 8));
			write_all(fd, out, (size_t)(p - out));
			nchan++;
			break;
		case CA_PROTO_EVENT_ADD:
			/* The first update of a subscription. */
			p = hdr(out, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1, ECA_NORMAL, get32(m + 12));
			put_double(p, 0);
			write_all(fd, out, UPDATE_LEN);
			nsub++;
			break;
		default:
			break;
		}
		if (nchan && nsub == nchan)
			break;
	}

	/* Updates: a buffer of nchan + BATCH messages, subscription ids in
	 * turn, so any window of up to BATCH starting below nchan is
	 * contiguous and in order; values are rewritten before each write. */
	buf = malloc((size_t)(nchan + BATCH) * UPDATE_LEN);
	if (!buf)
		die("malloc");
	for (i = 0; i < nchan + BATCH; i++)
		hdr(buf + (size_t)i * UPDATE_LEN, CA_PROTO_EVENT_ADD, 8, DBR_DOUBLE, 1,
		    ECA_NORMAL, i % nchan);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	cpu_times(&u0, &s0);
	t0 = now();
	for (;;) {
		uint64_t due;
		uint32_t n, off;

		t = now();
		if (t - t0 >= secs)
			break;
		if (rate > 0) {
			due = (uint64_t)((t - t0) * rate);
			if (due <= sent) {
				/* Sleep to the next 1 ms tick (absolute, no drift). */
				double next = t0 + (double)((uint64_t)((t - t0) * 1000) + 1) / 1000;
				struct timespec ts;

				ts.tv_sec = (time_t)next;
				ts.tv_nsec = (long)((next - (double)ts.tv_sec) * 1e9);
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
				continue;
			}
			n = due - sent > BATCH ? BATCH : (uint32_t)(due - sent);
		} else {
			n = BATCH;
		}
		off = (uint32_t)(sent % nchan);
		for (i = 0; i < n; i++)
			put_double(buf + (size_t)(off + i) * UPDATE_LEN + 16, (double)(sent + i));
		write_all(fd, buf + (size_t)off * UPDATE_LEN, (size_t)n * UPDATE_LEN);
		sent += n;
		bytes += (uint64_t)n * UPDATE_LEN;
	}
	t = now() - t0;
	cpu_times(&u1, &s1);
	shutdown(fd, SHUT_WR);
	/* Wait for the client to close, so every byte is counted. */
	while (read(fd, m, sizeof(m)) > 0)
		;
	close(fd);
	printf("server msgs=%llu bytes=%llu secs=%.3f rate=%.0f target=%.0f cpu_user=%.3f cpu_sys=%.3f channels=%u\n",
	       (unsigned long long)sent, (unsigned long long)bytes, t, sent / t, rate,
	       u1 - u0, s1 - s0, nchan);
	free(buf);
	free(out);
	return 0;
}

/* ---- client ---- */

static int client(const char *addr, int port, uint32_t nchan)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	static uint8_t rbuf[1 << 18];
	uint8_t *out, *p, m[64], hb[24];
	uint32_t i, got_chan = 0, got_first = 0, hb_have = 0;
	uint64_t msgs = 0, bytes = 0, skip = 0, bad = 0;
	double t0 = 0, t1, u0, s0, u1, s1;
	char name[64];
	int fd;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "cagen: bad address %s\n", addr);
		return 2;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	out = malloc((size_t)nchan * 64 + 256);
	if (!out)
		die("malloc");
	/* As libca opens a circuit: VERSION, CLIENT_NAME, HOST_NAME, then
	 * CREATE_CHAN for every channel. */
	p = hdr(out, CA_PROTO_VERSION, 0, 0, MINOR_VERSION, 0, 0);
	p = hdr_str(p, CA_PROTO_CLIENT_NAME, "bench", 0, 0, 0, 0);
	p = hdr_str(p, CA_PROTO_HOST_NAME, "cagen", 0, 0, 0, 0);
	for (i = 0; i < nchan; i++) {
		snprintf(name, sizeof(name), "BENCH:GEN:%04u", i);
		p = hdr_str(p, CA_PROTO_CREATE_CHAN, name, 0, 0, i, MINOR_VERSION);
	}
	write_all(fd, out, (size_t)(p - out));
	/* VERSION, then ACCESS_RIGHTS + CREATE_CHAN per channel. */
	while (got_chan < nchan) {
		read_msg(fd, m, sizeof(m));
		if (get16(m) == CA_PROTO_CREATE_CHAN) {
			/* Subscribe: DBR_DOUBLE, value and alarm changes. */
			uint8_t *q = hdr(out, CA_PROTO_EVENT_ADD, 16, DBR_DOUBLE, 1,
					 get32(m + 12), get32(m + 8));

			memset(q, 0, 16);
			put16(q + 12, DBE_VALUE | DBE_ALARM);
			write_all(fd, out, 32);
			got_chan++;
		}
	}
	/* The first update of every subscription. */
	while (got_first < nchan) {
		read_msg(fd, m, sizeof(m));
		if (get16(m) == CA_PROTO_EVENT_ADD)
			got_first++;
	}
	cpu_times(&u0, &s0);

	/* Count the stream's messages by walking their headers. */
	for (;;) {
		ssize_t r = read(fd, rbuf, sizeof(rbuf));
		size_t off = 0, n;

		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (r == 0)
			break;
		if (!bytes)
			t0 = now();
		bytes += (uint64_t)r;
		n = (size_t)r;
		while (off < n) {
			if (skip) {
				size_t k = n - off < skip ? n - off : skip;

				skip -= k;
				off += k;
				continue;
			}
			if (hb_have == 0 && n - off >= 16) {
				/* The common case: a whole header in the buffer. */
				const uint8_t *h = rbuf + off;
				uint32_t size = get16(h + 2);

				if (size == 0xffff || get16(h) != CA_PROTO_EVENT_ADD)
					bad++;
				msgs++;
				off += 16;
				skip = size == 0xffff ? 8 : size;
				continue;
			}
			hb[hb_have++] = rbuf[off++];
			if (hb_have == 16) {
				if (get16(hb + 2) == 0xffff || get16(hb) != CA_PROTO_EVENT_ADD)
					bad++;
				msgs++;
				skip = get16(hb + 2) == 0xffff ? 8 : get16(hb + 2);
				hb_have = 0;
			}
		}
	}
	t1 = now();
	cpu_times(&u1, &s1);
	close(fd);
	if (!bytes)
		t0 = t1;
	printf("client msgs=%llu bytes=%llu secs=%.3f rate=%.0f MBps=%.1f cpu_user=%.3f cpu_sys=%.3f bad=%llu\n",
	       (unsigned long long)msgs, (unsigned long long)bytes, t1 - t0,
	       t1 > t0 ? msgs / (t1 - t0) : 0, t1 > t0 ? bytes / (t1 - t0) / 1e6 : 0,
	       u1 - u0, s1 - s0, (unsigned long long)bad);
	free(out);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: cagen serve [-b ADDR] [-p PORT] [-r MSGS_PER_S] [-d SECONDS]\n"
			"       cagen client -a ADDR [-p PORT] [-c CHANNELS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	double rate = 0, secs = 5;
	int port = CA_SERVER_PORT_DEFAULT, opt;
	uint32_t nchan = 1000;
	int is_server;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "serve"))
		is_server = 1;
	else if (!strcmp(argv[1], "client"))
		is_server = 0;
	else
		usage();
	signal(SIGPIPE, SIG_IGN);
	optind = 2;
	while ((opt = getopt(argc, argv, "a:b:p:r:d:c:")) != -1) {
		switch (opt) {
		case 'a':
		case 'b':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'd':
			secs = atof(optarg);
			break;
		case 'c':
			nchan = (uint32_t)atoi(optarg);
			if (nchan < 1 || nchan > 100000)
				usage();
			break;
		default:
			usage();
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (is_server)
		return serve(addr ? addr : "0.0.0.0", port, rate, secs);
	if (!addr)
		usage();
	return client(addr, port, nchan);
}
