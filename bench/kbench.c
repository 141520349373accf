/* kbench: kernel cost per packet of catrace's BPF programs, measured with
 * BPF_PROG_TEST_RUN next to empty programs of the same types, in the same
 * run, interleaved round by round.
 *
 * Two ways to run a packet, and each figure says which it used:
 *
 *   rep  one packet, BPF_PROG_TEST_RUN with a large repeat count; the
 *        kernel reports the mean time per run.  Right for packets whose
 *        processing leaves no state that changes the next run: non-CA
 *        packets and UDP datagrams.
 *
 *   seq  a stream of distinct, in-order TCP segments of one flow (opened
 *        by a SYN, untimed), each run once (repeat=1); the figure is the
 *        mean of the kernel-reported durations.  Repeating one TCP segment
 *        would measure catrace's retransmission path (the flow state
 *        already covers its sequence numbers), not the steady-state cost
 *        of in-order traffic; one row shows that path on purpose.  The
 *        empty programs are measured the same way (the same segments, one
 *        run per call) as the baseline of the seq rows: a run of one
 *        includes a clock read and bottom-half enable/disable that a long
 *        repeat averages away.
 *
 * Records: every run produces ring-buffer records.  The ring buffer has
 * catrace's default size (8 MiB, -B); repeat counts are capped so that one
 * call's records fit in half of it, and it is drained (records read and
 * discarded, as a reader would) after every repeated call, and in `seq`
 * rows whenever a quarter of it is used.
 *
 * The reader's position matters: bpf_ringbuf_submit() without flags wakes
 * the reader (irq_work, an interrupt) whenever the record it submits is
 * the first one the reader has not consumed, i.e. when the reader has
 * caught up.  A long repeat, or a reader that is behind, pays that once;
 * a live reader that keeps up pays it for every packet.  The rows marked
 * "caught up" drain before every packet to measure that case; the IWI
 * column counts the IRQ-work interrupts per packet (/proc/interrupts).
 *
 * The kernel's ring-buffer drop counter is read before and after every
 * timed call; the report gives the total (it must be 0, else the figure
 * measured the cheaper drop path).
 *
 * -w: when the skeleton has cfg_snaplen (the Makefile then defines
 * HAVE_SNAPLEN), a fourth copy of the programs copies every CA packet too,
 * set up as catrace's loader does.
 *
 * Operation costs: the micro programs of bench/micro.bpf.c each repeat
 * one operation (a packet-bytes helper, a map look-up, the clock, a
 * ring-buffer record, bpf_loop) 16 times; measured like the `rep` rows
 * next to the empty XDP program, (their time - empty) / 16 is the cost of
 * one operation, which says where catrace's nanoseconds go.
 *
 * Output: Markdown tables on stdout; progress on stderr.
 *
 * Usage: kbench [-n ROUNDS] [-t TARGET_MS] [-B RING_MIB] [-q] [-s SUMMARY] [-R RAW] [-M]
 *   -M  only the operation costs (micro programs)
 *        kbench --stats   (keep BPF run-time statistics on until killed)
 *        kbench --counters PROG_ID   (a running catrace's kernel counters)
 *   -B  ring buffer size (default 8 MiB, catrace's default -B 8192)
 *   -s  append headline figures (default value bytes) to SUMMARY, one a line:
 *       kernel|what|value|baseline|ratio|goal|met/missed
 *   -R  append every figure of every round to RAW, one a line, to pool runs
 *       of several processes (or of two builds, before/after):
 *       hook|packet id|method|value bytes|reader|round|ns|baseline ns|records/pkt|ring bytes/pkt|msgs/pkt|msg bytes
 *       (the baselines themselves as packet id "empty_rep" and "empty_seq")
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sched.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "catrace.skel.h"
#include "empty.skel.h"
#include "micro.skel.h"
#include "ca_proto.h"
#include "catrace_record.h"

#define MAX_ROUNDS 64

/* catrace's default value budget: the record header says it since the
 * per-packet records (issue 12); 64 before. */
#ifdef REC_VALUE_BYTES_DEFAULT
#define VB_DEFAULT REC_VALUE_BYTES_DEFAULT
#else
#define VB_DEFAULT 64
#endif
#if VB_DEFAULT == 64
#define VB_ALT 256
#else
#define VB_ALT 64
#endif
#define PKT_MAX 1600

/* ---- packet building ---- */

struct pktbuf {
	uint8_t b[PKT_MAX];
	uint32_t len;
};

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

static uint16_t ip_csum(const uint8_t *h, int n)
{
	uint32_t s = 0;
	int i;

	for (i = 0; i < n; i += 2)
		s += (uint32_t)h[i] << 8 | h[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10

/* Ethernet + IPv4 (20) + UDP, or TCP with the timestamp option (32 bytes,
 * as Linux sends: 1500 - 20 - 32 = the 1448-byte MSS). */
static void build(struct pktbuf *pk, int proto, uint32_t sa, uint32_t da, uint16_t sp,
		  uint16_t dp, uint32_t seq, uint8_t flags, const uint8_t *pl, uint32_t plen)
{
	uint8_t *p = pk->b, *ip = p + 14, *l4 = ip + 20;
	uint32_t l4len = proto == 17 ? 8 : 32;
	uint32_t tot = 20 + l4len + plen;

	if (14 + tot > PKT_MAX) {
		fprintf(stderr, "kbench: packet too big\n");
		exit(1);
	}
	memset(p, 0, 14 + 20 + l4len);
	memcpy(p, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	put16(p + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 4, 1);
	put16(ip + 6, 0x4000);  /* DF */
	ip[8] = 64;
	ip[9] = (uint8_t)proto;
	put32(ip + 12, sa);
	put32(ip + 16, da);
	put16(ip + 10, ip_csum(ip, 20));
	put16(l4, sp);
	put16(l4 + 2, dp);
	if (proto == 17) {
		put16(l4 + 4, (uint16_t)(8 + plen));
	} else {
		put32(l4 + 4, seq);
		put32(l4 + 8, 1);  /* ack */
		l4[12] = 8 << 4;   /* doff: 32 bytes */
		l4[13] = flags;
		put16(l4 + 14, 502);
		l4[20] = 1;        /* NOP NOP TS(10) */
		l4[21] = 1;
		l4[22] = 8;
		l4[23] = 10;
	}
	memcpy(l4 + l4len, pl, plen);
	pk->len = 14 + tot;
}

/* A CA header; the extended form when size or count needs it. */
static uint32_t ca_hdr(uint8_t *p, uint16_t cmd, uint32_t size, uint16_t dtype,
		       uint32_t count, uint32_t p1, uint32_t p2)
{
	if (size >= 0xffff || count >= 0xffff) {
		put16(p, cmd);
		put16(p + 2, 0xffff);
		put16(p + 4, dtype);
		put16(p + 6, 0);
		put32(p + 8, p1);
		put32(p + 12, p2);
		put32(p + 16, size);
		put32(p + 20, count);
		return 24;
	}
	put16(p, cmd);
	put16(p + 2, (uint16_t)size);
	put16(p + 4, dtype);
	put16(p + 6, (uint16_t)count);
	put32(p + 8, p1);
	put32(p + 12, p2);
	return 16;
}

/* SEARCH request for "BENCH:PV:nnnn" (13 chars + NUL, padded to 16). */
static uint32_t ca_search(uint8_t *p, uint32_t cid)
{
	uint32_t n = ca_hdr(p, CA_PROTO_SEARCH, 16, CA_DONT_REPLY, 13, cid, cid);

	memset(p + n, 0, 16);
	snprintf((char *)p + n, 16, "BENCH:PV:%04u", cid % 10000);
	return n + 16;
}

#define DBR_TIME_DOUBLE 20

/* A reply carrying one DBR_TIME_DOUBLE: status, severity, stamp, pad, value. */
static uint32_t ca_time_double(uint8_t *p, uint16_t cmd, uint32_t id, double v)
{
	uint32_t n = ca_hdr(p, cmd, 24, DBR_TIME_DOUBLE, 1, ECA_NORMAL, id);
	uint64_t bits;
	int i;

	memset(p + n, 0, 24);
	put32(p + n + 4, 1100000000u + id);
	put32(p + n + 8, 123456789u);
	memcpy(&bits, &v, 8);
	for (i = 0; i < 8; i++)
		p[n + 16 + i] = (uint8_t)(bits >> (56 - 8 * i));
	return n + 24;
}

/* ---- workloads ---- */

#define SRV_IP IP(10, 0, 0, 1)
#define CLI_IP IP(10, 0, 0, 2)

enum method { M_REP, M_SEQ };

struct workload {
	const char *id;
	const char *desc;
	enum method m;
	bool ca;            /* catrace treats it as CA */
	/* M_REP */
	struct pktbuf one;
	/* M_SEQ: prime[] run untimed (SYN, ...), then seg[] timed */
	struct pktbuf *prime;
	int nprime;
	struct pktbuf *seg;
	int nseg;
	double msgs_per_pkt; /* CA messages that start in a timed packet */
	uint32_t msg_bytes;  /* wire bytes of one message (header + payload) */
};

static uint8_t *stream_alloc(size_t n)
{
	uint8_t *s = calloc(1, n);

	if (!s) {
		perror("kbench");
		exit(1);
	}
	return s;
}

/* Cut `len` stream bytes into segments of `mss` (the last may be
 * shorter), server -> client, starting at seq isn+1; prime[0] is the SYN-ACK. */
static void tcp_stream(struct workload *w, const uint8_t *s, size_t len, uint32_t mss,
		       int skip_segs, int max_segs, uint16_t cport)
{
	uint32_t isn = 1000000, seq = isn + 1;
	size_t off = 0;
	int i = 0, nseg_total = (int)((len + mss - 1) / mss);

	if (max_segs && nseg_total > skip_segs + max_segs)
		nseg_total = skip_segs + max_segs;
	w->nprime = 1 + skip_segs;
	w->prime = calloc((size_t)w->nprime, sizeof(struct pktbuf));
	w->nseg = nseg_total - skip_segs;
	w->seg = calloc((size_t)w->nseg, sizeof(struct pktbuf));
	if (!w->prime || !w->seg) {
		perror("kbench");
		exit(1);
	}
	build(&w->prime[0], 6, SRV_IP, CLI_IP, CA_SERVER_PORT_DEFAULT, cport, isn,
	      TCPF_SYN | TCPF_ACK, NULL, 0);
	for (i = 0; i < nseg_total; i++) {
		uint32_t n = len - off < mss ? (uint32_t)(len - off) : mss;
		struct pktbuf *pk = i < skip_segs ? &w->prime[1 + i] : &w->seg[i - skip_segs];

		build(pk, 6, SRV_IP, CLI_IP, CA_SERVER_PORT_DEFAULT, cport, seq,
		      TCPF_ACK | TCPF_PSH, s + off, n);
		off += n;
		seq += n;
	}
}

static int make_workloads(struct workload *W)
{
	uint8_t pl[PKT_MAX], *s;
	uint32_t n, i;
	size_t len;
	int k = 0;

	/* Non-CA UDP: a DNS-sized query to port 53. */
	memset(pl, 0x5a, 64);
	W[k] = (struct workload){ .id = "udp_nonca", .desc = "non-CA UDP (64 B payload, to port 53)", .m = M_REP, .ca = false };
	build(&W[k].one, 17, CLI_IP, IP(10, 0, 0, 53), 40000, 53, 0, 0, pl, 64);
	W[k].msgs_per_pkt = 0;
	k++;

	/* Non-CA TCP: a full segment of some other protocol (ssh). */
	memset(pl, 0xa5, 1448);
	W[k] = (struct workload){ .id = "tcp_nonca", .desc = "non-CA TCP (1448 B payload, port 22)", .m = M_REP, .ca = false };
	build(&W[k].one, 6, IP(10, 0, 0, 3), CLI_IP, 22, 50000, 12345, TCPF_ACK | TCPF_PSH, pl, 1448);
	k++;

	/* The same as distinct segments of a flow, one run per call: the
	 * non-CA cost with the same harness overhead as the seq rows. */
	W[k] = (struct workload){ .id = "tcp_nonca_seq", .desc = "non-CA TCP (1448 B payload, port 22)", .m = M_SEQ, .ca = false };
	{
		uint32_t q;

		W[k].nseg = 2048;
		W[k].seg = calloc(2048, sizeof(struct pktbuf));
		if (!W[k].seg) {
			perror("kbench");
			exit(1);
		}
		for (q = 0; q < 2048; q++)
			build(&W[k].seg[q], 6, IP(10, 0, 0, 3), CLI_IP, 22, 50000, 777 + q * 1448,
			      TCPF_ACK | TCPF_PSH, pl, 1448);
	}
	k++;

	W[k] = (struct workload){ .id = "udp_search1", .desc = "UDP, 1 SEARCH request", .m = M_REP, .ca = true };
	n = ca_search(pl, 1);
	build(&W[k].one, 17, CLI_IP, SRV_IP, 40001, CA_SERVER_PORT_DEFAULT, 0, 0, pl, n);
	W[k].msgs_per_pkt = 1;
	k++;

	W[k] = (struct workload){ .id = "udp_search20", .desc = "UDP, 20 SEARCH requests", .m = M_REP, .ca = true };
	for (n = 0, i = 0; i < 20; i++)
		n += ca_search(pl + n, 100 + i);
	build(&W[k].one, 17, CLI_IP, SRV_IP, 40001, CA_SERVER_PORT_DEFAULT, 0, 0, pl, n);
	W[k].msgs_per_pkt = 20;
	k++;

	/* One READ_NOTIFY reply per segment, 4096 in-order segments. */
	W[k] = (struct workload){ .id = "tcp_readnotify", .desc = "TCP, 1 READ_NOTIFY reply (TIME_DOUBLE, 40 B)", .m = M_SEQ, .ca = true };
	len = 4096 * 40;
	s = stream_alloc(len);
	for (i = 0; i < 4096; i++)
		ca_time_double(s + i * 40, CA_PROTO_READ_NOTIFY, i, i * 0.5);
	tcp_stream(&W[k], s, len, 40, 0, 0, 45001);
	free(s);
	W[k].msgs_per_pkt = 1;
	k++;

	/* Monitor updates (EVENT_ADD responses, TIME_DOUBLE, 40 B each) cut
	 * into full 1448-byte segments: 36.2 messages a segment, headers
	 * split across segment boundaries as on the wire. */
	W[k] = (struct workload){ .id = "tcp_monitor", .desc = "TCP, full 1448 B segment of monitor updates (EVENT_ADD, TIME_DOUBLE)", .m = M_SEQ, .ca = true };
	len = 1448u * 2048;
	s = stream_alloc(len + 40);
	for (i = 0; i * 40 < len; i++)
		ca_time_double(s + i * 40, CA_PROTO_EVENT_ADD, i % 2000, i * 0.25);
	tcp_stream(&W[k], s, len, 1448, 0, 0, 45002);
	free(s);
	n = ca_time_double(pl, CA_PROTO_EVENT_ADD, 0, 0);  /* 16 + 24 */
	W[k].msg_bytes = n;
	W[k].msgs_per_pkt = 1448.0 / n;
	k++;

	/* The same stream, one segment repeated: the retransmission path. */
	W[k] = (struct workload){ .id = "tcp_monitor_rexmit", .desc = "same monitor segment repeated (retransmission path, NOT steady state)", .m = M_REP, .ca = true };
	W[k].one = W[k - 1].seg[100];
	W[k].prime = W[k - 1].prime;  /* SYN-ACK, then segment 100 once */
	W[k].nprime = 1;
	W[k].msgs_per_pkt = 0;
	k++;

	/* One 1448-byte message per segment: a 179-element DOUBLE waveform
	 * update (1432 B value), where the value bytes copied matter. */
	W[k] = (struct workload){ .id = "tcp_wf_one", .desc = "TCP, 1 EVENT_ADD with a 1432 B DOUBLE array (full segment)", .m = M_SEQ, .ca = true };
	len = 1448u * 2048;
	s = stream_alloc(len);
	for (i = 0; i < 2048; i++) {
		n = ca_hdr(s + i * 1448, CA_PROTO_EVENT_ADD, 1432, DBR_DOUBLE, 179, ECA_NORMAL, i);
		memset(s + i * 1448 + n, 0x3f, 1432);
	}
	tcp_stream(&W[k], s, len, 1448, 0, 0, 45003);
	free(s);
	W[k].msgs_per_pkt = 1;
	k++;

	/* The middle of an 8 MB waveform (1M doubles, extended header):
	 * segments 1..4096 after the one with the header. */
	W[k] = (struct workload){ .id = "tcp_wf_mid", .desc = "TCP, segment in the middle of an 8 MB waveform", .m = M_SEQ, .ca = true };
	len = 24 + 8u * 1048576;
	s = stream_alloc(len);
	ca_hdr(s, CA_PROTO_EVENT_ADD, 8u * 1048576, DBR_DOUBLE, 1048576, ECA_NORMAL, 7);
	memset(s + 24, 0x40, len - 24);
	tcp_stream(&W[k], s, len, 1448, 1, 4096, 45004);
	free(s);
	W[k].msgs_per_pkt = 0;
	k++;
	return k;
}

/* ---- programs ---- */

struct target {
	const char *name;      /* "catrace vb=64" */
	unsigned vb;
	bool is_empty;
	struct catrace_bpf *sk;
	int fd[2];             /* [0] XDP, [1] tc */
	int events_fd, counters_fd;
	struct ring_buffer *rb;
};

static uint64_t rb_bytes, rb_recs;

static int on_rec(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	rb_recs++;
	rb_bytes += (size + 8 + 7) & ~7ul;  /* with the 8-byte ring header */
	return 0;
}

static int ncpus;

static uint64_t drops(const struct target *t)
{
	static struct ca_counters *v;
	uint32_t zero = 0;
	uint64_t d = 0;
	int i;

	if (t->is_empty)
		return 0;
	if (!v)
		v = calloc((size_t)ncpus, sizeof(*v));
	if (bpf_map_lookup_elem(t->counters_fd, &zero, v))
		return 0;
	for (i = 0; i < ncpus; i++)
		d += v[i].ringbuf_drops;
	return d;
}

static void drain(struct target *t)
{
	if (t->rb)
		ring_buffer__consume(t->rb);
}

static uint64_t total_drops;

/* One call; returns the kernel's mean ns per run.  Records stay in the
 * ring buffer until the caller drains it. */
static double run(struct target *t, int hook, const struct pktbuf *pk, uint32_t repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pk->b, .data_size_in = pk->len,
		    .repeat = repeat);
	uint64_t d0 = 0;

	if (!t->is_empty)
		d0 = drops(t);
	if (bpf_prog_test_run_opts(t->fd[hook], &o)) {
		fprintf(stderr, "kbench: BPF_PROG_TEST_RUN (%s): %s\n", t->name, strerror(errno));
		exit(1);
	}
	if (!t->is_empty)
		total_drops += drops(t) - d0;
	return o.duration;
}

/* ---- measurement plan ---- */

static const char *hook_name[2] = { "XDP", "tc" };

struct cell {              /* one (target, hook, workload, reader mode) */
	struct target *t;
	int hook;
	struct workload *w;
	bool wake;             /* drain before every packet: reader caught up */
	uint32_t repeat;       /* rep */
	uint32_t drain_every;  /* seq without wake: calls between drains */
	double ns[MAX_ROUNDS];
	double recs_per_pkt;   /* ring records per timed packet */
	double bytes_per_pkt;
	double iwi_per_pkt;    /* IRQ work interrupts per timed packet */
};

static int rounds = 9;
static double target_ms = 40;
static uint64_t ring_bytes = 8ull << 20;  /* catrace's default (-B 8192) */
static bool quiet;
static FILE *summary;      /* -s FILE: headline figures, one per line */
static bool micro_only;    /* -M: only the operation costs */
static FILE *raw;          /* -R FILE: every cell's figure of every round */

#define WAKE_CALLS 2048    /* calls of one UDP datagram in a wake row */

static void note(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* One pass over the timed packets, one run per call; mean ns.  With
 * drain_each, the ring buffer is drained after every call whatever the
 * cell's reader mode (the counting pass of the calibration). */
static double seq_pass(struct cell *c, bool drain_each)
{
	struct workload *w = c->w;
	double sum = 0;
	int i, n;

	drain(c->t);
	for (i = 0; i < w->nprime; i++)
		run(c->t, c->hook, &w->prime[i], 1);
	if (w->m == M_REP && w->nprime)  /* the repeated segment once, in order */
		run(c->t, c->hook, &w->one, 1);
	n = w->m == M_SEQ ? w->nseg : WAKE_CALLS;
	drain(c->t);
	for (i = 0; i < n; i++) {
		sum += run(c->t, c->hook, w->m == M_SEQ ? &w->seg[i] : &w->one, 1);
		if (drain_each || c->wake || (c->drain_every && (i + 1) % c->drain_every == 0))
			drain(c->t);
	}
	drain(c->t);
	return sum / n;
}

static double seq_once(struct cell *c)
{
	return seq_pass(c, false);
}

/* IRQ work interrupts so far, all CPUs (/proc/interrupts "IWI"): the
 * ring buffer wakes its reader through irq_work. */
static uint64_t iwi_count(void)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[4096], *p, *e;
	uint64_t n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		p = line + strspn(line, " ");
		if (strncmp(p, "IWI:", 4))
			continue;
		p += 4;
		for (;;) {
			unsigned long long v = strtoull(p, &e, 10);

			if (e == p)
				break;
			n += v;
			p = e;
		}
	}
	fclose(f);
	return n;
}

static void calibrate(struct cell *c)
{
	struct workload *w = c->w;
	uint64_t r, i0;
	double ns;
	int i;

	drain(c->t);
	if (w->m == M_SEQ || c->wake) {
		int n = w->m == M_SEQ ? w->nseg : WAKE_CALLS;

		c->drain_every = 0;
		rb_recs = rb_bytes = 0;
		seq_pass(c, true);
		c->recs_per_pkt = (double)rb_recs / n;
		c->bytes_per_pkt = (double)rb_bytes / n;
		/* Reader behind: drain only when a quarter of the ring is used. */
		if (!c->wake && c->bytes_per_pkt > 0)
			c->drain_every = (uint32_t)(ring_bytes / 4 / c->bytes_per_pkt);
		i0 = iwi_count();
		seq_once(c);
		c->iwi_per_pkt = (double)(iwi_count() - i0) / n;
		return;
	}
	for (i = 0; i < w->nprime; i++)
		run(c->t, c->hook, &w->prime[i], 1);
	if (w->nprime)  /* the repeated segment once, in order, untimed */
		run(c->t, c->hook, &w->one, 1);
	drain(c->t);
	rb_recs = rb_bytes = 0;
	i0 = iwi_count();
	ns = run(c->t, c->hook, &w->one, 1000);
	c->iwi_per_pkt = (double)(iwi_count() - i0) / 1000;
	drain(c->t);
	c->recs_per_pkt = rb_recs / 1000.0;
	c->bytes_per_pkt = rb_bytes / 1000.0;
	if (ns < 1)
		ns = 1;
	r = (uint64_t)(target_ms * 1e6 / ns);
	/* One call's records must fit in half the ring buffer. */
	if (c->bytes_per_pkt > 0 && r > (uint64_t)(ring_bytes / 2 / c->bytes_per_pkt))
		r = (uint64_t)(ring_bytes / 2 / c->bytes_per_pkt);
	if (r < 1000)
		r = 1000;
	if (r > 20000000)
		r = 20000000;
	c->repeat = (uint32_t)r;
}

static double measure(struct cell *c)
{
	double ns;

	if (c->w->m == M_SEQ || c->wake)
		return seq_once(c);
	ns = run(c->t, c->hook, &c->w->one, c->repeat);
	drain(c->t);
	return ns;
}

/* ---- statistics ---- */

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double med, min, max;
};

static struct stat3 stats(const double *v, int n)
{
	double s[MAX_ROUNDS];
	struct stat3 r;

	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmpd);
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	r.min = s[0];
	r.max = s[n - 1];
	return r;
}

/* ---- main ---- */

/* kbench --counters PROG_ID: the counters map of a running catrace, found
 * through one of its programs, summed over CPUs, one line of key=value;
 * plus that program's BPF run-time statistics. */
static int print_counters(uint32_t prog_id)
{
	struct bpf_prog_info pi;
	struct ca_counters *v, sum;
	uint32_t ids[64], len, i, zero = 0;
	uint64_t msgs = 0;
	int pfd, fd, c, n = libbpf_num_possible_cpus(), j;

	pfd = bpf_prog_get_fd_by_id(prog_id);
	if (pfd < 0) {
		fprintf(stderr, "kbench: program %u: %s\n", prog_id, strerror(errno));
		return 1;
	}
	memset(&pi, 0, sizeof(pi));
	pi.nr_map_ids = 64;
	pi.map_ids = (uint64_t)(uintptr_t)ids;
	len = sizeof(pi);
	if (bpf_obj_get_info_by_fd(pfd, &pi, &len)) {
		fprintf(stderr, "kbench: program info: %s\n", strerror(errno));
		return 1;
	}
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return 1;
	for (i = 0; i < pi.nr_map_ids && i < 64; i++) {
		struct bpf_map_info mi;
		uint32_t ml = sizeof(mi);

		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		if (bpf_obj_get_info_by_fd(fd, &mi, &ml) || strcmp(mi.name, "counters") ||
		    mi.value_size != sizeof(struct ca_counters) ||
		    bpf_map_lookup_elem(fd, &zero, v)) {
			close(fd);
			continue;
		}
		memset(&sum, 0, sizeof(sum));
		for (c = 0; c < n; c++) {
			for (j = 0; j < CNT_CMDS; j++)
				msgs += v[c].msgs[j][0] + v[c].msgs[j][1];
			sum.pkts_seen += v[c].pkts_seen;
			sum.pkts_ca += v[c].pkts_ca;
			sum.ringbuf_drops += v[c].ringbuf_drops;
			sum.retransmits += v[c].retransmits;
			sum.gaps += v[c].gaps;
			sum.resyncs += v[c].resyncs;
			sum.walk_limit += v[c].walk_limit;
		}
		printf("msgs=%llu pkts_seen=%llu pkts_ca=%llu drops=%llu retransmits=%llu gaps=%llu "
		       "resyncs=%llu walk_limit=%llu run_ns=%llu runs=%llu\n",
		       (unsigned long long)msgs, (unsigned long long)sum.pkts_seen,
		       (unsigned long long)sum.pkts_ca, (unsigned long long)sum.ringbuf_drops,
		       (unsigned long long)sum.retransmits, (unsigned long long)sum.gaps,
		       (unsigned long long)sum.resyncs, (unsigned long long)sum.walk_limit,
		       (unsigned long long)pi.run_time_ns, (unsigned long long)pi.run_cnt);
		return 0;
	}
	fprintf(stderr, "kbench: program %u has no counters map\n", prog_id);
	return 1;
}

static struct cell *find_cell(struct cell *C, int nc, const struct target *t, int hook,
			      const char *wid, bool wake)
{
	int j;

	for (j = 0; j < nc; j++)
		if (C[j].t == t && C[j].hook == hook && C[j].wake == wake &&
		    !strcmp(C[j].w->id, wid))
			return &C[j];
	return NULL;
}

static struct workload *find(struct workload *W, int n, const char *id)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(W[i].id, id))
			return &W[i];
	fprintf(stderr, "kbench: no workload %s\n", id);
	exit(1);
}

static int libbpf_quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	if (l == LIBBPF_WARN)
		return vfprintf(stderr, f, ap);
	return 0;
}

static struct target *load_catrace(unsigned vb, unsigned snaplen)
{
	struct target *t = calloc(1, sizeof(*t));
	char *name = malloc(32);

	snprintf(name, 32, "catrace vb=%u", vb);
	t->name = name;
	t->vb = vb;
	t->sk = catrace_bpf__open();
	if (!t->sk) {
		fprintf(stderr, "kbench: opening catrace BPF object: %s\n", strerror(errno));
		exit(1);
	}
	t->sk->rodata->cfg_value_bytes = vb;
#ifdef HAVE_SNAPLEN
	/* -w, as the loader sets it up. */
	t->sk->rodata->cfg_snaplen = snaplen;
	if (snaplen && bpf_map__set_max_entries(t->sk->maps.pkt_scratch,
						2 * (uint32_t)libbpf_num_possible_cpus())) {
		fprintf(stderr, "kbench: sizing pkt_scratch: %s\n", strerror(errno));
		exit(1);
	}
#else
	(void)snaplen;
#endif
#ifdef HAVE_SEG_SCRATCH
	/* Per-packet records (issue 12): one build slot per CPU and
	 * direction, as catrace's loader sizes it. */
	if (bpf_map__set_max_entries(t->sk->maps.seg_scratch,
				     2 * (uint32_t)libbpf_num_possible_cpus())) {
		fprintf(stderr, "kbench: sizing seg_scratch: %s\n", strerror(errno));
		exit(1);
	}
#endif
	if (bpf_map__set_max_entries(t->sk->maps.events, (uint32_t)ring_bytes) ||
	    catrace_bpf__load(t->sk)) {
		fprintf(stderr, "kbench: loading catrace BPF object: %s\n", strerror(errno));
		exit(1);
	}
#ifdef HAVE_PORT_FLAGS
	/* The CA ports, written after load as the loader does (struct
	 * port_info: byte 0 = 1 server port, 2 repeater port). */
	{
		int pfd = bpf_map__fd(t->sk->maps.port_flags);
		uint32_t k = CA_SERVER_PORT_DEFAULT;
		uint8_t pv[4] = { 1, 0, 0, 0 };

		if (bpf_map_update_elem(pfd, &k, pv, BPF_ANY)) {
			fprintf(stderr, "kbench: port_flags: %s\n", strerror(errno));
			exit(1);
		}
		k = CA_REPEATER_PORT_DEFAULT;
		pv[0] = 2;
		if (bpf_map_update_elem(pfd, &k, pv, BPF_ANY)) {
			fprintf(stderr, "kbench: port_flags: %s\n", strerror(errno));
			exit(1);
		}
	}
#endif
	t->fd[0] = bpf_program__fd(t->sk->progs.catrace_xdp);
	t->fd[1] = bpf_program__fd(t->sk->progs.catrace_tc_egress);
	t->events_fd = bpf_map__fd(t->sk->maps.events);
	t->counters_fd = bpf_map__fd(t->sk->maps.counters);
	t->rb = ring_buffer__new(t->events_fd, on_rec, NULL, NULL);
	if (!t->rb) {
		fprintf(stderr, "kbench: ring buffer: %s\n", strerror(errno));
		exit(1);
	}
	return t;
}

/* The goals of issue 12 (per-packet records).  *plus: the limit is ns
 * above the empty program (non-CA), else a ratio to it.  The full
 * segment must also cost less than the same packet with -w: checked
 * apart (goal_w). */
static const char *goal_for(const struct workload *w, double *limit, bool *plus)
{
	*plus = false;
	if (!strcmp(w->id, "udp_nonca") || !strcmp(w->id, "tcp_nonca") ||
	    !strcmp(w->id, "tcp_nonca_seq")) {
		*limit = 5;
		*plus = true;
		return "non-CA <= +5 ns";
	}
	if (!strcmp(w->id, "udp_search1") || !strcmp(w->id, "tcp_readnotify")) {
		*limit = 4;
		return "1-message CA <= 4x";
	}
	if (!strcmp(w->id, "tcp_monitor")) {
		*limit = 10;
		return "full monitor segment <= 10x";
	}
	return NULL;
}

static bool goal_met(double ratio, double plus_ns, double limit, bool plus)
{
	return plus ? plus_ns <= limit : ratio <= limit;
}

/* ---- operation costs (bench/micro.bpf.c) ---- */

#define MICRO_OPS 16

struct micro {
	const char *what;
	int fd;
	bool ring;         /* writes records: cap the repeat, drain after */
	uint32_t rec;      /* ring bytes of one record (8-byte header included) */
	uint32_t repeat;
	double ns[MAX_ROUNDS];
};

static int on_micro_rec(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

static double micro_run(int fd, const struct pktbuf *pk, uint32_t repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pk->b, .data_size_in = pk->len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o)) {
		fprintf(stderr, "kbench: BPF_PROG_TEST_RUN (micro): %s\n", strerror(errno));
		exit(1);
	}
	return o.duration;
}

/* Each micro program and the empty XDP program, interleaved round by
 * round on the non-CA UDP packet; a Markdown table on stdout. */
static void micro_section(const struct pktbuf *pk, int empty_fd)
{
	struct micro_bpf *ms = micro_bpf__open_and_load();
	struct ring_buffer *rb;
	struct micro M[24], base = { .what = "empty XDP program", .fd = empty_fd };
	struct stat3 b, s;
	int n = 0, i, r;

	if (!ms) {
		fprintf(stderr, "kbench: loading micro programs: %s\n", strerror(errno));
		return;
	}
	rb = ring_buffer__new(bpf_map__fd(ms->maps.m_ring), on_micro_rec, NULL, NULL);
#define MICRO(prog, text, ringy) \
	M[n++] = (struct micro){ .what = text, .fd = bpf_program__fd(ms->progs.prog), .ring = ringy, \
				 .rec = 96 }
	MICRO(micro_load_bytes, "`bpf_xdp_load_bytes` of 20 bytes (an IPv4 header)", false);
	MICRO(micro_direct, "direct packet access to the same bytes (bounds check, loads)", false);
	MICRO(micro_pcpu_lookup, "per-CPU array look-up + counter increment", false);
	MICRO(micro_array_lookup, "array look-up by port", false);
	MICRO(micro_hash_lookup, "hash look-up, 8-byte key, miss", false);
	MICRO(micro_lru_lookup, "LRU hash look-up, 8-byte key, miss", false);
	MICRO(micro_ktime, "`bpf_ktime_get_ns`", false);
	MICRO(micro_ringbuf_query, "`bpf_ringbuf_query` (waiting bytes)", false);
	MICRO(micro_ringbuf_record, "ring-buffer record: reserve 88 B, 3 stores, submit (no wake-up)", true);
	MICRO(micro_ringbuf_output88, "ring-buffer record: `bpf_ringbuf_output` of 88 B from a map value (no wake-up)", true);
	MICRO(micro_ringbuf_output1504, "ring-buffer record: `bpf_ringbuf_output` of 1504 B from a map value (no wake-up; a full segment's record)", true);
	M[n - 1].rec = 1512;
	MICRO(micro_bpf_loop, "`bpf_loop` callback (the call's cost spread over 16 steps)", false);
#undef MICRO
	for (i = -1; i < n; i++) {
		struct micro *m = i < 0 ? &base : &M[i];
		double ns = micro_run(m->fd, pk, 1000);
		uint64_t rep;

		if (rb)
			ring_buffer__consume(rb);
		rep = (uint64_t)(target_ms * 1e6 / (ns < 1 ? 1 : ns));
		/* 16 records a run: one call fills at most half. */
		if (m->ring && rep > ring_bytes / 2 / (MICRO_OPS * m->rec))
			rep = ring_bytes / 2 / (MICRO_OPS * m->rec);
		/* At least 1000 runs, unless the ring would overflow. */
		if (rep < 1000 && !m->ring)
			rep = 1000;
		m->repeat = (uint32_t)(rep < 1 ? 1 : rep > 20000000 ? 20000000 : rep);
	}
	for (r = 0; r < rounds; r++) {
		base.ns[r] = micro_run(base.fd, pk, base.repeat);
		for (i = 0; i < n; i++) {
			M[i].ns[r] = micro_run(M[i].fd, pk, M[i].repeat);
			if (rb)
				ring_buffer__consume(rb);
		}
	}
	b = stats(base.ns, rounds);
	printf("### What one operation costs (micro programs)\n\n");
	printf("Each program of `bench/micro.bpf.c` does one operation %d times per run (XDP, the non-CA "
	       "UDP packet, `rep`, %d rounds interleaved with the empty XDP program, median [min-max]); "
	       "per operation = (program - empty) / %d. The empty program itself: %.1f [%.1f-%.1f] ns "
	       "per run. These are the bricks of catrace's figures above: its non-CA path is a packet "
	       "length read, three `load_bytes` (Ethernet type, IPv4 header, UDP/TCP header), a per-CPU "
	       "counter and, for UDP, one LRU look-up (learned repeater clients); a message adds a "
	       "`bpf_loop` step, a `load_bytes` of its header and of its value and a counter; the "
	       "ring-buffer record and the clock read were per message before issue 12 and are per "
	       "packet since (the record built in a scratch map, sent with `bpf_ringbuf_output`).\n\n", MICRO_OPS, rounds, MICRO_OPS, b.med, b.min, b.max);
	printf("| operation | ns per run (%d ops) | ns per operation |\n|---|---|---|\n", MICRO_OPS);
	for (i = 0; i < n; i++) {
		double per[MAX_ROUNDS];
		struct stat3 p;

		s = stats(M[i].ns, rounds);
		for (r = 0; r < rounds; r++)
			per[r] = (M[i].ns[r] - base.ns[r]) / MICRO_OPS;
		p = stats(per, rounds);
		printf("| %s | %.0f [%.0f-%.0f] | %.1f [%.1f-%.1f] |\n", M[i].what, s.med, s.min,
		       s.max, p.med, p.min, p.max);
		if (summary && (i == 0 || i == 5 || i == 8))
			fprintf(summary, "kernel|one operation: %s|%.1f ns|||||\n", M[i].what, p.med);
	}
	printf("\n");
	ring_buffer__free(rb);
	micro_bpf__destroy(ms);
}

int main(int argc, char **argv)
{
	static struct workload W[16];
	static struct cell C[256];
	struct empty_bpf *es;
	struct target empty = { .name = "empty", .is_empty = true };
	/* Value bytes 0, 64 (default), 256, and with -w when the BPF object
	 * has it (cfg_snaplen; catrace's default snap length). */
#ifdef HAVE_SNAPLEN
	enum { NVAR = 4 };
#else
	enum { NVAR = 3 };
#endif
	struct target *cat[4];
	/* 0, catrace's default, another budget (64 when the default is not
	 * 64, the old design's default; else 256), the default with -w. */
	static const unsigned vbs[4] = { 0, VB_DEFAULT, VB_ALT, VB_DEFAULT };
	static const unsigned snaps[4] = { 0, 0, 0, 262144 };
	static char vbname[4][48];
	/* The baselines: per hook, rep (one UDP packet, long repeat) and seq
	 * (the monitor segments, one run per call). */
	struct cell base[2][2];
	double ratio[MAX_ROUNDS];
	int nw, nc = 0, i, j, h, v, r, opt;
	struct timespec t0, t1;

	if (argc == 3 && !strcmp(argv[1], "--counters"))
		return print_counters((uint32_t)strtoul(argv[2], NULL, 0));
	/* kbench --stats: keep the kernel's BPF run-time statistics on
	 * (bpf_stats_enabled) until killed, for the live benchmark; they go
	 * off again when this process exits, however it exits. */
	if (argc == 2 && !strcmp(argv[1], "--stats")) {
		int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

		if (fd < 0) {
			fprintf(stderr, "kbench: BPF_ENABLE_STATS: %s\n", strerror(errno));
			return 1;
		}
		printf("stats on\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	while ((opt = getopt(argc, argv, "n:t:B:qs:MR:")) != -1) {
		switch (opt) {
		case 'M':
			micro_only = true;
			break;
		case 'n':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > MAX_ROUNDS)
				rounds = 9;
			break;
		case 't':
			target_ms = atof(optarg);
			break;
		case 'B':
			ring_bytes = strtoull(optarg, NULL, 0) << 20;
			break;
		case 'q':
			quiet = true;
			break;
		case 'R':
			raw = fopen(optarg, "a");
			if (!raw) {
				perror(optarg);
				return 2;
			}
			break;
		case 's':
			summary = fopen(optarg, "a");
			if (!summary) {
				perror(optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: kbench [-n ROUNDS] [-t TARGET_MS] [-B RING_MIB] [-q] [-s SUMMARY] [-R RAW] [-M]\n");
			return 2;
		}
	}
	if (geteuid() != 0) {
		fprintf(stderr, "kbench: needs root (BPF_PROG_TEST_RUN)\n");
		return 77;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* One CPU for the whole run: no migrations between rounds. */
	{
		cpu_set_t cs;
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		CPU_ZERO(&cs);
		CPU_SET(ncpu > 1 ? (int)ncpu - 1 : 0, &cs);
		if (sched_setaffinity(0, sizeof(cs), &cs) == 0)
			note("kbench: pinned to CPU %ld\n", ncpu > 1 ? ncpu - 1 : 0);
	}
	libbpf_set_print(libbpf_quiet);
	ncpus = libbpf_num_possible_cpus();
	nw = make_workloads(W);
	snprintf(vbname[0], sizeof(vbname[0]), "0 (--headers-only)");
	snprintf(vbname[1], sizeof(vbname[1]), "%u (default)", VB_DEFAULT);
	snprintf(vbname[2], sizeof(vbname[2]), "%u", VB_ALT);
	snprintf(vbname[3], sizeof(vbname[3]), "%u, -w (snap 262144)", VB_DEFAULT);

	es = empty_bpf__open_and_load();
	if (!es) {
		fprintf(stderr, "kbench: loading empty programs: %s\n", strerror(errno));
		return 1;
	}
	empty.fd[0] = bpf_program__fd(es->progs.empty_xdp);
	empty.fd[1] = bpf_program__fd(es->progs.empty_tc);
	if (micro_only) {
		micro_section(&find(W, nw, "udp_nonca")->one, empty.fd[0]);
		empty_bpf__destroy(es);
		return 0;
	}
	for (v = 0; v < NVAR; v++)
		cat[v] = load_catrace(vbs[v], snaps[v]);
	note("kbench: programs loaded; %d rounds, ~%.0f ms per repeated call, ring %llu MiB\n",
	     rounds, target_ms, (unsigned long long)(ring_bytes >> 20));

	for (h = 0; h < 2; h++) {
		base[h][0] = (struct cell){ .t = &empty, .hook = h, .w = find(W, nw, "udp_nonca") };
		base[h][1] = (struct cell){ .t = &empty, .hook = h, .w = find(W, nw, "tcp_monitor") };
		calibrate(&base[h][0]);
		calibrate(&base[h][1]);
	}
	for (v = 0; v < NVAR; v++)
		for (h = 0; h < 2; h++)
			for (i = 0; i < nw; i++) {
				/* Non-CA packets never reach the value-byte code:
				 * measured once (with the default). */
				if (!W[i].ca && v != 1)
					continue;
				C[nc] = (struct cell){ .t = cat[v], .hook = h, .w = &W[i] };
				calibrate(&C[nc]);
				nc++;
				/* The same with the reader caught up before every
				 * packet (default value bytes only). */
				if (v == 1 && W[i].ca && W[i].msgs_per_pkt > 0) {
					C[nc] = (struct cell){ .t = cat[v], .hook = h, .w = &W[i],
							       .wake = true };
					calibrate(&C[nc]);
					nc++;
				}
			}
	total_drops = 0;

	for (r = 0; r < rounds; r++) {
		note("kbench: round %d/%d\n", r + 1, rounds);
		for (h = 0; h < 2; h++) {
			base[h][0].ns[r] = measure(&base[h][0]);
			base[h][1].ns[r] = measure(&base[h][1]);
		}
		for (j = 0; j < nc; j++) {
			C[j].ns[r] = measure(&C[j]);
			if (getenv("KBENCH_DEBUG"))
				fprintf(stderr, "r%d %s %s %s%s %.1f\n", r, C[j].t->name,
					hook_name[C[j].hook], C[j].w->id, C[j].wake ? " wake" : "",
					C[j].ns[r]);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	if (raw) {
		for (h = 0; h < 2; h++)
			for (i = 0; i < 2; i++)
				for (r = 0; r < rounds; r++)
					fprintf(raw, "%s|%s|%s|-|-|%d|%.2f|%.2f|0|0|0|0\n", hook_name[h],
						i ? "empty_seq" : "empty_rep", i ? "seq" : "rep", r,
						base[h][i].ns[r], base[h][i].ns[r]);
		for (j = 0; j < nc; j++) {
			struct cell *c = &C[j];
			struct cell *b = &base[c->hook][c->w->m == M_SEQ || c->wake];

			for (v = 0; v < NVAR && c->t != cat[v]; v++)
				;
			for (r = 0; r < rounds; r++)
				fprintf(raw, "%s|%s|%s|%s|%s|%d|%.2f|%.2f|%.3f|%.1f|%.2f|%u\n",
					hook_name[c->hook], c->w->id,
					c->w->m == M_SEQ ? "seq" : c->wake ? "1 run/call" : "rep",
					c->w->ca ? vbname[v] : "any",
					!c->w->ca ? "-" : c->wake ? "caught up" : "behind", r, c->ns[r],
					b->ns[r], c->recs_per_pkt, c->bytes_per_pkt, c->w->msgs_per_pkt,
					c->w->msg_bytes);
		}
		fclose(raw);
	}

	/* ---- report ---- */
	printf("### Kernel cost per packet (BPF_PROG_TEST_RUN)\n\n");
	printf("%d rounds, interleaved (every figure once per round); median [min-max] over rounds. "
	       "ns = kernel-reported mean duration per program run. "
	       "Ratio = median over rounds of (figure / baseline of the same round), baseline = the empty "
	       "program of the same hook measured the same way (`rep` rows: one packet, large repeat; "
	       "`seq` rows: one run per call). +ns = median minus the baseline's median.\n\n",
	       rounds);
	printf("Baselines (empty programs):\n\n| hook | method | ns/packet |\n|---|---|---|\n");
	for (h = 0; h < 2; h++)
		for (i = 0; i < 2; i++) {
			struct stat3 s = stats(base[h][i].ns, rounds);

			printf("| %s | %s | %.1f [%.1f-%.1f] |\n", hook_name[h],
			       i ? "seq (1 run/call, monitor segments)" : "rep (non-CA UDP, large repeat)",
			       s.med, s.min, s.max);
		}
	printf("\n");
	for (h = 0; h < 2; h++) {
		printf("#### %s program (%s)\n\n", hook_name[h],
		       h ? "catrace_tc_egress, empty_tc baseline" : "catrace_xdp, empty_xdp baseline");
		printf("| packet | method | value bytes | reader | records/pkt | IWI/pkt | ns/packet | +ns | x empty | goal |\n");
		printf("|---|---|---|---|---|---|---|---|---|---|\n");
		for (i = 0; i < nw; i++)
			for (int wk = 0; wk < 2; wk++)
			for (v = 0; v < NVAR; v++)
				for (j = 0; j < nc; j++) {
					struct cell *c = &C[j];
					struct cell *b;
					struct stat3 s, bs, rs;
					const char *g;
					double lim = 0;
					bool gplus, gmet;

					if (c->hook != h || c->w != &W[i] || c->t != cat[v] ||
					    c->wake != wk)
						continue;
					b = &base[h][c->w->m == M_SEQ || c->wake];
					s = stats(c->ns, rounds);
					bs = stats(b->ns, rounds);
					for (r = 0; r < rounds; r++)
						ratio[r] = c->ns[r] / b->ns[r];
					rs = stats(ratio, rounds);
					g = goal_for(c->w, &lim, &gplus);
					gmet = goal_met(rs.med, s.med - bs.med, lim, gplus);
					/* Goals apply to catrace's default set-up. */
					if (c->t != cat[1])
						g = NULL;
					/* Headline rows: the goals' packets and the
					 * waveform middle; caught-up rows for TCP. */
					if (summary &&
					    ((c->t == cat[1] && (g || !strcmp(c->w->id, "tcp_wf_mid")) &&
					      (!c->wake || c->w->m == M_SEQ)) ||
					     (v == 3 && !strcmp(c->w->id, "tcp_monitor"))))
						fprintf(summary, "kernel|%s: %s%s%s (%s)|%.0f ns|%.0f ns|%.2fx|%s|%s\n",
							hook_name[h], c->w->desc,
							c->wake ? ", reader caught up" : "",
							v == 3 ? ", with -w" : "",
							c->w->m == M_SEQ ? "seq" : c->wake ? "1 run/call" : "rep",
							s.med, bs.med, rs.med, g ? g : "",
							g ? (gmet ? "met" : "missed") : "");
					printf("| %s | %s | %s | %s | %.2f | %.3f | %.1f [%.1f-%.1f] | %+.1f | %.2f [%.2f-%.2f] | %s%s%s |\n",
					       c->w->desc,
					       c->w->m == M_SEQ ? "seq" : c->wake ? "1 run/call" : "rep",
					       c->w->ca ? vbname[v] : "any",
					       !c->w->ca ? "-" : c->wake ? "**caught up**" : "behind",
					       c->recs_per_pkt, c->iwi_per_pkt, s.med, s.min, s.max, s.med - bs.med,
					       rs.med, rs.min, rs.max,
					       g ? g : "", g ? ": " : "",
					       g ? (gmet ? "met" : "**missed**") : "");
				}
		printf("\n");
	}
	/* The full segment against the same packet with -w. */
	if (NVAR == 4) {
		printf("Full monitor segment, default set-up against the same packets with `-w` "
		       "(goal: below it; ratio = median over rounds of default / -w):\n\n");
		printf("| hook | reader | default ns | -w ns | default / -w | goal |\n|---|---|---|---|---|---|\n");
		for (h = 0; h < 2; h++) {
			struct cell *a = find_cell(C, nc, cat[1], h, "tcp_monitor", false);
			struct cell *b = find_cell(C, nc, cat[NVAR - 1], h, "tcp_monitor", false);
			struct stat3 sa, sb, rs;

			if (!a || !b)
				continue;
			sa = stats(a->ns, rounds);
			sb = stats(b->ns, rounds);
			for (r = 0; r < rounds; r++)
				ratio[r] = a->ns[r] / b->ns[r];
			rs = stats(ratio, rounds);
			printf("| %s | behind | %.1f | %.1f | %.2f [%.2f-%.2f] | below -w: %s |\n",
			       hook_name[h], sa.med, sb.med, rs.med, rs.min, rs.max,
			       rs.med < 1 ? "met" : "**missed**");
			if (summary)
				fprintf(summary, "kernel|%s: full monitor segment, default / -w|%.0f ns|%.0f ns|%.2fx|below -w|%s\n",
					hook_name[h], sa.med, sb.med, rs.med, rs.med < 1 ? "met" : "missed");
		}
		printf("\n");
	}
	/* Ring-buffer bytes per monitor update (calibration pass). */
	{
		struct workload *mw = find(W, nw, "tcp_monitor");

		printf("Ring-buffer bytes per monitor update, full 1448 B segments of %u-byte updates "
		       "(%.1f updates a segment): record bytes with the ring's 8-byte header, rounded up "
		       "to 8, per update; x wire = / %u wire bytes per update (goal, default set-up: "
		       "<= 1.2x):\n\n", mw->msg_bytes, mw->msgs_per_pkt, mw->msg_bytes);
		printf("| hook | value bytes | records/pkt | ring bytes/pkt | ring bytes/update | x wire |\n"
		       "|---|---|---|---|---|---|\n");
		for (h = 0; h < 2; h++)
			for (v = 0; v < NVAR; v++) {
				struct cell *c = find_cell(C, nc, cat[v], h, "tcp_monitor", false);
				double bpu, x;

				if (!c)
					continue;
				bpu = c->bytes_per_pkt / mw->msgs_per_pkt;
				x = bpu / mw->msg_bytes;
				printf("| %s | %s | %.2f | %.1f | %.1f | %.2f%s |\n", hook_name[h], vbname[v],
				       c->recs_per_pkt, c->bytes_per_pkt, bpu, x,
				       v == 1 ? (x <= 1.2 ? " (<= 1.2x: met)" : " (<= 1.2x: **missed**)") : "");
				if (summary && v == 1)
					fprintf(summary, "kernel|%s: ring-buffer bytes per monitor update|%.1f B|%u B wire|%.2fx|<= 1.2x wire|%s\n",
						hook_name[h], bpu, mw->msg_bytes, x, x <= 1.2 ? "met" : "missed");
			}
		printf("\n");
	}
	printf("Details: `seq` rows average over ");
	for (i = 0, j = 0; i < nw; i++)
		if (W[i].m == M_SEQ)
			printf("%s%d distinct in-order segments (%s)", j++ ? ", " : "", W[i].nseg, W[i].id);
	printf(" per round, each flow opened by an untimed SYN-ACK. `rep` repeat counts: ");
	for (j = 0; j < nc; j++)
		if (C[j].w->m == M_REP && !C[j].wake && C[j].t == cat[1])
			printf("%s/%s %u; ", hook_name[C[j].hook], C[j].w->id, C[j].repeat);
	printf("empty %u.\n", base[0][0].repeat);
	printf("Ring buffer: %llu MiB per program copy (catrace's default), drained after every "
	       "repeated call; in `seq` rows with the reader behind, whenever a quarter of it is used; "
	       "with the reader caught up, before every packet. "
	       "Kernel ring-buffer drops during timed calls: %llu (must be 0). "
	       "IWI/pkt: IRQ-work interrupts per packet (the ring buffer's reader wake-up), counted in a "
	       "calibration pass (other activity on the machine adds a little).\n",
	       (unsigned long long)(ring_bytes >> 20), (unsigned long long)total_drops);
	printf("Records/pkt: ring-buffer records per timed packet (from a calibration pass). "
	       "The TIME_DOUBLE value is 24 bytes, so every value budget from 24 bytes up copies the "
	       "same; the budgets differ only for the 1432 B array. %s\n",
	       NVAR == 4 ? "`-w` rows: the BPF object also copies every CA packet (up to the snap "
			   "length) into the ring buffer, as `catrace -w` sets it up."
			 : "`-w` (packet bytes into the ring) is not in this BPF object: not measured.");
	printf("kbench wall time: %.0f s\n\n",
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);

	note("kbench: operation costs\n");
	micro_section(&find(W, nw, "udp_nonca")->one, empty.fd[0]);

	for (v = 0; v < NVAR; v++) {
		ring_buffer__free(cat[v]->rb);
		catrace_bpf__destroy(cat[v]->sk);
	}
	empty_bpf__destroy(es);
	return total_drops ? 3 : 0;
}
