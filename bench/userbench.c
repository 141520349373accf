/* userbench: catrace's user-space cost per live record, without a kernel.
 *
 *   userbench [-n RECORDS] [-r ROUNDS] [-o FILE] [-p]
 *
 * Builds the ring-buffer records the BPF programs would send for a
 * monitored circuit (CREATE_CHAN and EVENT_ADD for 1000 PVs, then monitor
 * updates round-robin) and runs them through what catrace -i does with
 * each: record_parse, pipeline_message (channel tracking, filters, the
 * formatter) and the write to the output (default /dev/null; -o FILE to
 * a file).  Kinds: DBR_DOUBLE updates as bench/cagen sends, TIME_DOUBLE as
 * a real IOC sends, each as text, JSON and --headers-only.  Prints one
 * line per kind: CPU ns per record (process CPU time), median [min-max]
 * over ROUNDS.  -p: one kind only (text, TIME_DOUBLE), for profiling.
 *
 * What it leaves out: the ring buffer itself (libbpf's consume loop:
 * a few loads and stores and one callback per record) and the kernel.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catrace_record.h"
#include "pipeline.h"
#include "record.h"

#define NCHAN 1000
#define DBR_TIME_DOUBLE 20   /* db_access.h */
#define CLI_IP 0x0a000002u
#define SRV_IP 0x0a000001u
#define CLI_PORT 40000
#define SRV_PORT 5064

struct rec_buf {
	uint8_t *mem;
	size_t len, cap;
	size_t n;
	size_t *off;    /* start of each record */
	size_t noff_cap;
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

/* One message record as the kernel writes it (record layout of
 * include/catrace_record.h), `data_len` payload bytes copied. */
static void add_rec(struct rec_buf *b, int dir, uint16_t cmd, uint16_t dtype,
		    uint32_t size, uint32_t count, uint32_t p1, uint32_t p2,
		    const uint8_t *data, uint16_t data_len, uint64_t ts)
{
	struct ca_record r;
	size_t need = sizeof(r) + data_len;

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
	r.rec_len = (uint16_t)need;
	r.kind = REC_KIND_MSG;
	r.dir = (uint8_t)dir;
	r.proto = 6;
	r.flags = REC_F_EGRESS;
	r.ts_ns = ts;
	r.ifindex = 2;
	r.saddr = dir == REC_DIR_REQUEST ? CLI_IP : SRV_IP;
	r.daddr = dir == REC_DIR_REQUEST ? SRV_IP : CLI_IP;
	r.sport = dir == REC_DIR_REQUEST ? CLI_PORT : SRV_PORT;
	r.dport = dir == REC_DIR_REQUEST ? SRV_PORT : CLI_PORT;
	r.cmd = cmd;
	r.dtype = dtype;
	r.size = size;
	r.count = count;
	r.p1 = p1;
	r.p2 = p2;
	r.hdr_len = 16;
	r.data_len = data_len;
	b->off[b->n++] = b->len;
	memcpy(b->mem + b->len, &r, sizeof(r));
	memcpy(b->mem + b->len + sizeof(r), data, data_len);
	b->len += need;
}

static size_t rec_size(const struct rec_buf *b, size_t i)
{
	return (i + 1 < b->n ? b->off[i + 1] : b->len) - b->off[i];
}

/* The circuit's set-up, then `updates` monitor updates. */
static void build(struct rec_buf *b, uint16_t dtype, bool headers_only,
		  size_t updates)
{
	uint8_t d[64];
	uint64_t ts = 1000000000ull;
	uint32_t i;
	size_t u;
	/* DOUBLE: the value alone; TIME_DOUBLE: status, severity, stamp,
	 * RISC pad, value (24 bytes). */
	uint32_t vsize = dtype == DBR_TIME_DOUBLE ? 24 : 8;

	for (i = 0; i < NCHAN; i++) {
		memset(d, 0, sizeof(d));
		snprintf((char *)d, sizeof(d), "BENCH:GEN:%04u", i);
		add_rec(b, REC_DIR_REQUEST, CA_PROTO_CREATE_CHAN, 0, 16, 0, i, 13, d, 16, ts);
		add_rec(b, REC_DIR_RESPONSE, CA_PROTO_CREATE_CHAN, dtype, 0, 1, i, 1000 + i,
			NULL, 0, ts);
		memset(d, 0, 16);
		put_be16(d + 12, 5);
		add_rec(b, REC_DIR_REQUEST, CA_PROTO_EVENT_ADD, dtype, 16, 1, 1000 + i, i,
			d, 16, ts);
	}
	for (u = 0; u < updates; u++) {
		double v = (double)(u / NCHAN) + 0.5;
		uint64_t bits;

		memcpy(&bits, &v, sizeof(bits));
		memset(d, 0, sizeof(d));
		ts += 1000;
		if (dtype == DBR_TIME_DOUBLE) {
			put_be32(d + 4, (uint32_t)(ts / 1000000000u) + 1000000000u);
			put_be32(d + 8, (uint32_t)(ts % 1000000000u));
			put_be32(d + 16, (uint32_t)(bits >> 32));
			put_be32(d + 20, (uint32_t)bits);
		} else {
			put_be32(d, (uint32_t)(bits >> 32));
			put_be32(d + 4, (uint32_t)bits);
		}
		add_rec(b, REC_DIR_RESPONSE, CA_PROTO_EVENT_ADD, dtype, vsize, 1, ECA_NORMAL,
			(uint32_t)(u % NCHAN), d, headers_only ? 0 : (uint16_t)vsize, ts);
	}
}

static double cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* One pass over the records as catrace -i handles them; CPU ns. */
static double run(const struct rec_buf *b, enum out_style style, FILE *out,
		  uint64_t *printed)
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
		pipeline_message(&pl, &ri.key, ri.ts_mono_ns, &ri.msg);
	}
	pipeline_finish(&pl);
	t1 = cpu_now();
	*printed = pl.st.printed;
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
		bool headers_only;
		enum out_style style;
	} kinds[] = {
		{ "DOUBLE text", DBR_DOUBLE, false, OUT_TEXT },
		{ "DOUBLE json", DBR_DOUBLE, false, OUT_JSON },
		{ "DOUBLE text --headers-only", DBR_DOUBLE, true, OUT_TEXT },
		{ "TIME_DOUBLE text", DBR_TIME_DOUBLE, false, OUT_TEXT },
		{ "TIME_DOUBLE json", DBR_TIME_DOUBLE, false, OUT_JSON },
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
		case 'p': first = 3; nk = 4; rounds = 1; break;
		default:
			fprintf(stderr, "usage: userbench [-n RECORDS] [-r ROUNDS] [-o FILE] [-p]\n");
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
	printf("# userbench: %zu monitor updates (+%u set-up records), %d rounds, output %s\n",
	       n, 3 * NCHAN, rounds, path);
	for (k = first; k < nk; k++) {
		struct rec_buf b = { 0 };
		uint64_t printed = 0;

		build(&b, kinds[k].dtype, kinds[k].headers_only, n);
		for (r = 0; r < rounds; r++) {
			t[r] = run(&b, kinds[k].style, out, &printed) / (double)b.n;
			if (fseek(out, 0, SEEK_SET) == 0 && strcmp(path, "/dev/null"))
				(void)!ftruncate(fileno(out), 0);
		}
		if (printed != b.n) {
			/* Every record is a line, unless something lost one. */
			fprintf(stderr, "userbench: %s: %llu lines for %zu records\n",
				kinds[k].name, (unsigned long long)printed, b.n);
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
