/* bpf_wakeup: the BPF programs wake the ring-buffer reader once for every
 * WAKE_BYTES (256 KiB) of data that comes in while it does not consume,
 * and only then.  catrace sleeps in epoll until woken (or 100 ms pass): a
 * crossing without a wake-up leaves the reader asleep while the ring
 * fills, which at a million messages a second is about those 100 ms.
 *
 * Packets go through the XDP program one at a time (BPF_PROG_TEST_RUN),
 * UDP datagrams with one message each, so one segment record each, of two
 * sizes in a pseudo-random mix: 104 and 80 bytes in the ring (header
 * included), so that the data waiting crosses the multiples of WAKE_BYTES
 * at every 8-byte phase a record can have.  After each packet the producer
 * position (mapped read-only, as the reader maps it) says whether a
 * multiple was crossed; an edge-triggered epoll on the map says whether
 * the program woke the reader.  The two must agree for every packet, with
 * the plain programs and with -w (a packet record before every segment
 * record).  A packet that adds nothing to the ring is a failure too (the
 * loop would never end).
 *
 * Usage: bpf_wakeup      prints PASS:/FAIL: lines; exit 0/1, 77 skip
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "catrace.skel.h"
#include "ca_proto.h"
#include "loader.h"

#define WAKE_BYTES (256 * 1024)
#define CROSSINGS 12

static int libbpf_quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l;
	(void)f;
	(void)ap;
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Ethernet + IPv4 + UDP to port 5064 with one CA message: a SEARCH
 * request for `name`, or a VERSION.  Returns the frame length. */
static size_t build(uint8_t *f, bool search, const char *name)
{
	size_t nlen = strlen(name) + 1, padded = (nlen + 7) & ~(size_t)7;
	size_t ca = 16 + (search ? padded : 0), udp = 8 + ca, ip = 20 + udp;
	uint8_t *h;

	memset(f, 0, 14 + ip);
	memset(f, 0xff, 6);
	f[6] = 0x02;
	put16(f + 12, 0x0800);
	h = f + 14;
	h[0] = 0x45;
	put16(h + 2, (uint16_t)ip);
	h[8] = 64;
	h[9] = 17;
	put32(h + 12, 0x0a000002);
	put32(h + 16, 0x0a000001);
	h += 20;
	put16(h, 40000);
	put16(h + 2, CA_SERVER_PORT_DEFAULT);
	put16(h + 4, (uint16_t)udp);
	h += 8;
	if (search) {
		put16(h, CA_PROTO_SEARCH);
		put16(h + 2, (uint16_t)padded);
		put16(h + 4, 5);        /* DONT_REPLY */
		put16(h + 6, 13);       /* minor version */
		put32(h + 8, 7);        /* cid */
		put32(h + 12, 7);
		memcpy(h + 16, name, nlen);
	} else {
		put16(h, CA_PROTO_VERSION);
		put16(h + 6, 13);
	}
	return 14 + ip;
}

/* One pass over CROSSINGS multiples of WAKE_BYTES; returns failures. */
static int pass(const char *what, uint32_t snaplen)
{
	static uint8_t frame[256];
	struct catrace_bpf *sk = NULL;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	const volatile unsigned long *prod;
	void *map = MAP_FAILED;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len;
	uint64_t rng = 0x2545f4914f6cdd1dull, before, after, packets = 0;
	uint64_t crossings = 0;
	uint32_t port;
	uint8_t port_val[4] = { 0 };
	int fd, ep = -1, prog, fails = 0, n;

	/* Load as catrace does: the scratch maps sized for every CPU, the CA
	 * server port in the port array. */
	sk = catrace_bpf__open();
	if (!sk)
		goto load_failed;
	sk->rodata->cfg_snaplen = snaplen;
	if (bpf_map__set_max_entries(sk->maps.seg_scratch,
				     2 * (uint32_t)libbpf_num_possible_cpus()))
		goto load_failed;
	if (snaplen && bpf_map__set_max_entries(sk->maps.pkt_scratch,
						  2 * (uint32_t)libbpf_num_possible_cpus()))
		goto load_failed;
	if (catrace_bpf__load(sk))
		goto load_failed;
	port = CA_SERVER_PORT_DEFAULT;
	port_val[0] = LOADER_PORT_SERVER;
	if (bpf_map_update_elem(bpf_map__fd(sk->maps.port_flags), &port, port_val, BPF_ANY))
		goto load_failed;
	fd = bpf_map__fd(sk->maps.events);
	prog = bpf_program__fd(sk->progs.catrace_xdp);
	/* The producer position: the page after the consumer's. */
	map = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, (off_t)page);
	ep = epoll_create1(0);
	if (map == MAP_FAILED || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		printf("FAIL: bpf wakeup %s: mapping the ring: %s\n", what, strerror(errno));
		fails++;
		goto out;
	}
	prod = map;
	before = *prod;
	while (before < (uint64_t)CROSSINGS * WAKE_BYTES && !fails) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .repeat = 1);
		bool crossed;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		/* 21 name bytes with the NUL: 24 padded, a 96-byte record */
		len = build(frame, rng & 1, "BENCH:WAKE:PV:LONGER");
		o.data_size_in = (uint32_t)len;
		if (bpf_prog_test_run_opts(prog, &o)) {
			printf("FAIL: bpf wakeup %s: BPF_PROG_TEST_RUN: %s\n", what, strerror(errno));
			fails++;
			break;
		}
		packets++;
		after = *prod;
		if (after == before) {
			printf("FAIL: bpf wakeup %s: packet %llu put nothing in the ring "
			       "(not taken for CA?)\n", what, (unsigned long long)packets);
			fails++;
			break;
		}
		crossed = before / WAKE_BYTES != after / WAKE_BYTES;
		/* The wake-up is an irq_work: give it time to run. */
		n = epoll_wait(ep, &ev, 1, crossed ? 500 : 0);
		crossings += crossed;
		if (crossed && n != 1) {
			printf("FAIL: bpf wakeup %s: waiting data went from %llu to %llu bytes "
			       "(packet %llu) and the reader was not woken\n", what,
			       (unsigned long long)before, (unsigned long long)after,
			       (unsigned long long)packets);
			fails++;
		} else if (!crossed && n == 1) {
			printf("FAIL: bpf wakeup %s: reader woken at %llu bytes waiting "
			       "(packet %llu), no multiple of %d crossed\n", what,
			       (unsigned long long)after, (unsigned long long)packets, WAKE_BYTES);
			fails++;
		}
		before = after;
	}
	if (!fails)
		printf("PASS: bpf wakeup %s: %llu packets, %llu bytes, one wake-up at each of "
		       "%llu crossings, none between\n", what, (unsigned long long)packets,
		       (unsigned long long)before, (unsigned long long)crossings);
out:
	if (ep >= 0)
		close(ep);
	if (map != MAP_FAILED)
		munmap(map, page);
	catrace_bpf__destroy(sk);
	return fails;
load_failed:
	printf("FAIL: bpf wakeup %s: loading the BPF programs: %s\n", what, strerror(errno));
	catrace_bpf__destroy(sk);
	return 1;
}

int main(void)
{
	int fails;

	if (geteuid() != 0) {
		printf("SKIP: bpf wakeup: needs root for BPF_PROG_TEST_RUN\n");
		return 77;
	}
	libbpf_set_print(libbpf_quiet);
	fails = pass("message records", 0);
	fails += pass("with -w packet records", 262144);
	return fails ? 1 : 0;
}
