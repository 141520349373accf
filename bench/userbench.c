/* userbench: catrace's user-space cost per live CA message, without a
 * kernel.
 *
 *   userbench [-n UPDATES] [-r ROUNDS] [-o FILE] [-p]
 *
 * Builds the ring-buffer records the BPF programs would send for a
 * monitored circuit (include/catrace_record.h: one segment record per TCP
 * segment, the CA bytes as spans, each message's payload cut to its copy
 * budget): CREATE_CHAN and EVENT_ADD for 1000 PVs, one message per
 * segment, then UPDATES monitor updates round-robin, either one per
 * segment (a slow IOC) or as many as fill a 1448-byte segment (a busy one:
 * 60 DBR_DOUBLE or 36 TIME_DOUBLE updates).  Runs them through what
 * catrace -i does with each record: record_parse, pipeline_segment (the
 * framer, channel tracking, filters, the formatter) and the write to the
 * output (default /dev/null; -o FILE to a file).  Kinds: DBR_DOUBLE
 * updates as bench/cagen sends, TIME_DOUBLE as a real IOC sends, as text,
 * JSON and with --headers-only (no value bytes copied: each update a
 * header span, its payload skipped).  Prints one line per kind: CPU ns per
 * CA message (process CPU time, set-up messages included), median
 * [min-max] over ROUNDS.  -p: one kind only (text, 36 TIME_DOUBLE updates
 * per segment), for profiling.
 *
 * What it leaves out: the ring buffer itself (the consume loop: a few
 * loads and stores and one callback per record) and the kernel.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca_rules.h"
#include "catrace_record.h"
#include "pipeline.h"
#include "record.h"

#define NCHAN 1000
#define DBR_TIME_DOUBLE 20   /* db_access.h */
#define CLI_IP 0x0a000002u
#define SRV_IP 0x0a000001u
#define CLI_PORT 40000
#define SRV_PORT 5064
#define MSS 1448             /* TCP payload of a 1500-byte MTU segment */

struct rec_buf {
	uint8_t *mem;
	size_t len, cap;
	size_t n;       /* records */
	size_t *off;    /* start of each record */
	size_t noff_cap;
	size_t msgs;    /* CA messages the records carry */
	uint32_t seq[2];     /* next stream byte, per direction */
	bool started[2];
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		perror("userbench");
		exit(1);
	}
	return p;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static size_t put_hdr(uint8_t *p, uint16_t cmd, uint16_t size, uint16_t dtype,
		      uint16_t count, uint32_t p1, uint32_t p2)
{
	put_be16(p, cmd);
	put_be16(p + 2, size);
	put_be16(p + 4, dtype);
	put_be16(p + 6, count);
	put_be32(p + 8, p1);
	put_be32(p + 12, p2);
	return CA_HDR_LEN;
}

struct span {
	uint32_t start, end;   /* in the segment's payload */
};

/* One record: the stream bytes [base, end) of the segment `ca`, with
 * these spans, as the kernel lays it out. */
static void emit_record(struct rec_buf *b, int dir, const uint8_t *ca, uint32_t base,
			uint32_t end, const struct span *sp, unsigned nsp, uint64_t ts)
{
	struct ca_seg_record r;
	size_t need = sizeof(r), pos;
	unsigned i;

	for (i = 0; i < nsp; i++)
		need += sizeof(struct ca_span) + ((sp[i].end - sp[i].start + 7) & ~7u);
	if (b->len + need > b->cap) {
		b->cap = (b->cap + need) * 2;
		b->mem = xrealloc(b->mem, b->cap);
	}
	if (b->n == b->noff_cap) {
		b->noff_cap = b->noff_cap ? 2 * b->noff_cap : 1024;
		b->off = xrealloc(b->off, b->noff_cap * sizeof(*b->off));
	}
	memset(&r, 0, sizeof(r));
	r.version = CATRACE_REC_VERSION;
	r.kind = REC_KIND_SEG;
	r.flags = REC_F_EGRESS | (b->started[dir] ? 0 : REC_F_BOUNDARY);
	r.rec_len = (uint32_t)need;
	r.ts_ns = ts;
	r.ifindex = 2;
	r.saddr = dir == REC_DIR_REQUEST ? CLI_IP : SRV_IP;
	r.daddr = dir == REC_DIR_REQUEST ? SRV_IP : CLI_IP;
	r.sport = dir == REC_DIR_REQUEST ? CLI_PORT : SRV_PORT;
	r.dport = dir == REC_DIR_REQUEST ? SRV_PORT : CLI_PORT;
	r.seq = b->seq[dir] + base;
	r.len = end - base;
	r.proto = 6;
	r.dir = (uint8_t)dir;
	r.tcp_flags = 0x18;   /* PSH ACK */
	r.n_spans = (uint16_t)nsp;
	b->started[dir] = true;
	b->off[b->n++] = b->len;
	memcpy(b->mem + b->len, &r, sizeof(r));
	pos = b->len + sizeof(r);
	for (i = 0; i < nsp; i++) {
		struct ca_span s = { sp[i].start - base, sp[i].end - sp[i].start };
		size_t padded = (s.len + 7) & ~7u;

		memcpy(b->mem + pos, &s, sizeof(s));
		pos += sizeof(s);
		memcpy(b->mem + pos, ca + sp[i].start, s.len);
		memset(b->mem + pos + s.len, 0, padded - s.len);
		pos += padded;
	}
	b->len += need;
}

/* One TCP segment of whole CA messages (standard headers), framed as
 * frame_segment does: each header and its payload's copy budget copied,
 * the rest skipped; spans joined where they touch, a new record past
 * REC_SPANS_MAX spans. */
static void add_segment(struct rec_buf *b, int dir, const uint8_t *ca, uint32_t n,
			uint32_t value_bytes, uint64_t ts)
{
	struct span sp[REC_SPANS_MAX];
	unsigned nsp = 0;
	uint32_t pos = 0, base = 0;

	while (pos + CA_HDR_LEN <= n) {
		uint16_t cmd = (uint16_t)(ca[pos] << 8 | ca[pos + 1]);
		uint32_t size = (uint32_t)(ca[pos + 2] << 8 | ca[pos + 3]);
		uint32_t copy = ca_rule_copy_budget(cmd, dir == REC_DIR_REQUEST, size,
						    value_bytes, REC_META_BYTES);
		uint32_t from = pos, to = pos + CA_HDR_LEN + copy;

		if (nsp && sp[nsp - 1].end == from) {
			sp[nsp - 1].end = to;
		} else {
			if (nsp == REC_SPANS_MAX) {
				emit_record(b, dir, ca, base, from, sp, nsp, ts);
				base = from;
				nsp = 0;
			}
			sp[nsp].start = from;
			sp[nsp++].end = to;
		}
		pos += CA_HDR_LEN + size;
		b->msgs++;
	}
	emit_record(b, dir, ca, base, n, sp, nsp, ts);
	b->seq[dir] += n;
}

/* The circuit's set-up, one message per segment, then `updates` monitor
 * updates, `per_seg` to a segment. */
static void build(struct rec_buf *b, uint16_t dtype, uint32_t value_bytes,
		  unsigned per_seg, size_t updates)
{
	uint8_t seg[MSS + 64];
	uint64_t ts = 1000000000ull;
	/* DOUBLE: the value alone; TIME_DOUBLE: status, severity, stamp,
	 * RISC pad, value (24 bytes). */
	uint32_t vsize = dtype == DBR_TIME_DOUBLE ? 24 : 8;
	uint32_t i, n;
	size_t u;

	b->seq[0] = 1001;
	b->seq[1] = 70001;
	for (i = 0; i < NCHAN; i++) {
		n = put_hdr(seg, CA_PROTO_CREATE_CHAN, 16, 0, 0, i, 13);
		memset(seg + n, 0, 16);
		snprintf((char *)seg + n, 16, "BENCH:GEN:%04u", i);
		add_segment(b, REC_DIR_REQUEST, seg, n + 16, value_bytes, ts);
		n = put_hdr(seg, CA_PROTO_CREATE_CHAN, 0, dtype, 1, i, 1000 + i);
		add_segment(b, REC_DIR_RESPONSE, seg, n, value_bytes, ts);
		n = put_hdr(seg, CA_PROTO_EVENT_ADD, 16, dtype, 1, 1000 + i, i);
		memset(seg + n, 0, 16);
		put_be16(seg + n + 12, 5);
		add_segment(b, REC_DIR_REQUEST, seg, n + 16, value_bytes, ts);
	}
	n = 0;
	for (u = 0; u < updates; u++) {
		double v = (double)(u / NCHAN) + 0.5;
		uint8_t *d;
		uint64_t bits;

		memcpy(&bits, &v, sizeof(bits));
		ts += 1000;
		n += put_hdr(seg + n, CA_PROTO_EVENT_ADD, (uint16_t)vsize, dtype, 1, ECA_NORMAL,
			     (uint32_t)(u % NCHAN));
		d = seg + n;
		memset(d, 0, vsize);
		if (dtype == DBR_TIME_DOUBLE) {
			put_be32(d + 4, (uint32_t)(ts / 1000000000u) + 1000000000u);
			put_be32(d + 8, (uint32_t)(ts % 1000000000u));
			put_be32(d + 16, (uint32_t)(bits >> 32));
			put_be32(d + 20, (uint32_t)bits);
		} else {
			put_be32(d, (uint32_t)(bits >> 32));
			put_be32(d + 4, (uint32_t)bits);
		}
		n += vsize;
		if ((u + 1) % per_seg == 0 || u + 1 == updates) {
			add_segment(b, REC_DIR_RESPONSE, seg, n, value_bytes, ts);
			n = 0;
		}
	}
}

static double cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static size_t rec_size(const struct rec_buf *b, size_t i)
{
	return (i + 1 < b->n ? b->off[i + 1] : b->len) - b->off[i];
}

/* One pass over the records as catrace -i handles them; CPU ns. */
static double run(const struct rec_buf *b, enum out_style style, FILE *out,
		  uint64_t *printed, uint64_t *flagged)
{
	static struct rec_info ri;
	struct pipeline pl;
	double t0, t1;
	size_t i;

	pipeline_init(&pl, out);
	pl.out.style = style;
	t0 = cpu_now();
	for (i = 0; i < b->n; i++) {
		if (record_parse(b->mem + b->off[i], rec_size(b, i), &ri) != REC_OK) {
			fprintf(stderr, "userbench: record %zu rejected\n", i);
			exit(1);
		}
		pipeline_segment(&pl, &ri, ri.ts_mono_ns);
	}
	pipeline_finish(&pl);
	t1 = cpu_now();
	*printed = pl.st.printed;
	*flagged = pl.st.truncated + pl.st.malformed + pipeline_resyncs(&pl) +
		   pl.flows.stats.live_disagreed + pl.flows.stats.live_lost;
	pipeline_free(&pl);
	return t1 - t0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		uint16_t dtype;
		uint32_t value_bytes;
		unsigned per_seg;
		enum out_style style;
	} kinds[] = {
		{ "DOUBLE text", DBR_DOUBLE, REC_VALUE_BYTES_DEFAULT, 1, OUT_TEXT },
		{ "DOUBLE json", DBR_DOUBLE, REC_VALUE_BYTES_DEFAULT, 1, OUT_JSON },
		{ "DOUBLE text --headers-only", DBR_DOUBLE, 0, 1, OUT_TEXT },
		{ "TIME_DOUBLE text", DBR_TIME_DOUBLE, REC_VALUE_BYTES_DEFAULT, 1, OUT_TEXT },
		{ "TIME_DOUBLE json", DBR_TIME_DOUBLE, REC_VALUE_BYTES_DEFAULT, 1, OUT_JSON },
		{ "DOUBLE text, 60 per segment", DBR_DOUBLE, REC_VALUE_BYTES_DEFAULT, 60, OUT_TEXT },
		{ "TIME_DOUBLE text, 36 per segment", DBR_TIME_DOUBLE, REC_VALUE_BYTES_DEFAULT, 36,
		  OUT_TEXT },
		{ "TIME_DOUBLE json, 36 per segment", DBR_TIME_DOUBLE, REC_VALUE_BYTES_DEFAULT, 36,
		  OUT_JSON },
		{ "TIME_DOUBLE text --headers-only, 36 per segment", DBR_TIME_DOUBLE, 0, 36,
		  OUT_TEXT },
	};
	size_t n = 1000000, k, nk = sizeof(kinds) / sizeof(kinds[0]), first = 0;
	const char *path = "/dev/null";
	int rounds = 5, c, r;
	double t[64];
	FILE *out;

	while ((c = getopt(argc, argv, "n:r:o:p")) != -1) {
		switch (c) {
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'r': rounds = atoi(optarg); break;
		case 'o': path = optarg; break;
		case 'p': first = 6; nk = 7; rounds = 1; break;
		default:
			fprintf(stderr, "usage: userbench [-n UPDATES] [-r ROUNDS] [-o FILE] [-p]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > 64 || n < 1) {
		fprintf(stderr, "userbench: -r 1..64, -n >= 1\n");
		return 2;
	}
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return 2;
	}
	printf("# userbench: %zu monitor updates (+%u set-up messages), %d rounds, output %s; "
	       "CPU ns per CA message\n", n, 3 * NCHAN, rounds, path);
	for (k = first; k < nk; k++) {
		struct rec_buf b;
		uint64_t printed = 0, flagged = 0;

		memset(&b, 0, sizeof(b));
		build(&b, kinds[k].dtype, kinds[k].value_bytes, kinds[k].per_seg, n);
		for (r = 0; r < rounds; r++) {
			t[r] = run(&b, kinds[k].style, out, &printed, &flagged) / (double)b.msgs;
			if (fseek(out, 0, SEEK_SET) == 0 && strcmp(path, "/dev/null"))
				(void)!ftruncate(fileno(out), 0);
		}
		if (printed != b.msgs || flagged) {
			/* Every message is a line, cleanly framed, unless
			 * something went wrong. */
			fprintf(stderr, "userbench: %s: %llu lines for %zu messages, "
				"%llu truncated/malformed/resynced\n", kinds[k].name,
				(unsigned long long)printed, b.msgs, (unsigned long long)flagged);
		}
		qsort(t, (size_t)rounds, sizeof(t[0]), cmp_dbl);
		printf("%s|%.0f|%.0f|%.0f\n", kinds[k].name, t[rounds / 2], t[0], t[rounds - 1]);
		fflush(stdout);
		free(b.mem);
		free(b.off);
	}
	fclose(out);
	return 0;
}
