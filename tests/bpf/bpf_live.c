/* bpf_live: the live-path bugs of the per-message record design, each as
 * a crafted scenario run through the XDP program (BPF_PROG_TEST_RUN, flow
 * state kept between packets as on a live interface), decoded by the live
 * path, and held against the offline decoder on the same frames:
 *
 *   ctrl-enum        DBR_CTRL_ENUM / GR_ENUM replies (value at offset 422)
 *                    and an 8-element string array come out whole
 *   long-names       channel names of 149 bytes, differing at the end,
 *                    are complete and distinct
 *   budget-cut       a value cut by --value-bytes says so, never shows a
 *                    cut string as whole
 *   mid-stream-ext   joined in the middle of 160 KB extended-header
 *                    monitor updates: in sync from the next message on
 *   tcp-search       a server named in a SEARCH reply over TCP (a name
 *                    server) is learned: its circuit is traced
 *   split-evicted    a CREATE_CHAN whose name continues in the next
 *                    segment, the flow state evicted in between: the
 *                    message still comes out whole, and counted once
 *   split-names      CLIENT_NAME and HOST_NAME split across segments come
 *                    out complete
 *   drops            a ring buffer too small: messages decoded + messages
 *                    the kernel counted as dropped = messages it counted
 *
 * Usage: bpf_live    prints PASS:/FAIL: lines; exit 0/1, 77 without root
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "live_offline.h"

#define SRV_IP  0x0A090001u   /* 10.9.0.1 */
#define CLI_IP  0x0A090002u   /* 10.9.0.2 */
#define NS_IP   0x0A090003u   /* 10.9.0.3, a CA name server */
#define MSS     1448

static int fails;

static void check(bool ok, const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("%s: live %s", ok ? "PASS" : "FAIL", what);
	if (!ok && fmt) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	if (!ok)
		fails++;
}

/* ---- frames ---- */

struct frm {
	uint8_t *d;
	uint32_t len;
};

struct frames {
	struct frm *f;
	size_t n, cap;
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static void frame(struct frames *fs, int proto, uint32_t src, uint16_t sport,
		  uint32_t dst, uint16_t dport, uint32_t seq, uint8_t flags,
		  const uint8_t *pl, uint32_t n)
{
	uint32_t l4len = proto == 6 ? 20 : 8, len = 14 + 20 + l4len + n;
	struct frm *f;
	uint8_t *d;

	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? 2 * fs->cap : 64;
		fs->f = realloc(fs->f, fs->cap * sizeof(*fs->f));
		if (!fs->f)
			exit(1);
	}
	f = &fs->f[fs->n++];
	d = f->d = calloc(1, len);
	if (!d)
		exit(1);
	f->len = len;
	memcpy(d, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00", 14);
	d[14] = 0x45;
	put16(d + 16, 20 + l4len + n);
	put16(d + 20, 0x4000);
	d[22] = 64;
	d[23] = (uint8_t)proto;
	put32(d + 26, src);
	put32(d + 30, dst);
	put16(d + 34, sport);
	put16(d + 36, dport);
	if (proto == 6) {
		put32(d + 38, seq);
		put32(d + 42, 1);
		d[46] = 5 << 4;
		d[47] = (uint8_t)(flags | 0x10);
		put16(d + 48, 65535);
	} else {
		put16(d + 38, 8 + n);
	}
	if (n)
		memcpy(d + 14 + 20 + l4len, pl, n);
}

static void frames_free(struct frames *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		free(fs->f[i].d);
	free(fs->f);
	memset(fs, 0, sizeof(*fs));
}

/* One TCP circuit: both ends' next sequence numbers. */
struct circ {
	uint32_t cli, srv;
	uint16_t cport, sport;
	uint32_t cseq, sseq;
};

static void circ_open(struct frames *fs, struct circ *c, uint32_t cli, uint32_t srv,
		      uint16_t cport, uint16_t sport)
{
	c->cli = cli;
	c->srv = srv;
	c->cport = cport;
	c->sport = sport;
	c->cseq = 1000;
	c->sseq = 50000;
	frame(fs, 6, cli, cport, srv, sport, c->cseq++, 0x02, NULL, 0);
	frame(fs, 6, srv, sport, cli, cport, c->sseq++, 0x02, NULL, 0);
}

/* Bytes one way, cut into segments of at most `mss`. */
static void circ_send(struct frames *fs, struct circ *c, bool from_client,
		      const uint8_t *d, uint32_t n, uint32_t mss)
{
	uint32_t off;

	for (off = 0; off < n; off += mss) {
		uint32_t k = n - off < mss ? n - off : mss;

		if (from_client) {
			frame(fs, 6, c->cli, c->cport, c->srv, c->sport, c->cseq, 0, d + off, k);
			c->cseq += k;
		} else {
			frame(fs, 6, c->srv, c->sport, c->cli, c->cport, c->sseq, 0, d + off, k);
			c->sseq += k;
		}
	}
}

/* ---- CA messages ---- */

struct buf {
	uint8_t d[1 << 20];
	uint32_t n;
};

static void hdr(struct buf *b, unsigned cmd, uint32_t size, unsigned dtype,
		uint32_t count, uint32_t p1, uint32_t p2)
{
	uint8_t *p = b->d + b->n;

	put16(p, cmd);
	put16(p + 4, dtype);
	put32(p + 8, p1);
	put32(p + 12, p2);
	if (size >= 0xffff || count >= 0xffff) {
		put16(p + 2, 0xffff);
		put16(p + 6, 0);
		put32(p + 16, size);
		put32(p + 20, count);
		b->n += 24;
	} else {
		put16(p + 2, size);
		put16(p + 6, count);
		b->n += 16;
	}
}

static void bytes(struct buf *b, const void *d, uint32_t n)
{
	memcpy(b->d + b->n, d, n);
	b->n += n;
}

static void zeros(struct buf *b, uint32_t n)
{
	memset(b->d + b->n, 0, n);
	b->n += n;
}

/* A name, NUL-padded to 8 bytes, after its header. */
static void named(struct buf *b, unsigned cmd, const char *name, uint32_t p1, uint32_t p2)
{
	uint32_t len = (uint32_t)strlen(name) + 1, size = (len + 7) & ~7u;

	hdr(b, cmd, size, 0, 0, p1, p2);
	bytes(b, name, len - 1);
	zeros(b, size - len + 1);
}

/* ---- running a scenario ---- */

struct run {
	struct side off, live;
	struct pipeline plo, pll;
	struct hook_ctx ho, hl;
	struct catrace_bpf *skel;
	struct ring_buffer *rb;
	struct ca_counters cnt;
};

static uint32_t value_bytes = REC_VALUE_BYTES_DEFAULT;
static uint32_t ring_bytes;  /* 0: the default */

/* A hook between frames: the scenario may act on the kernel's maps. */
typedef void (*between_fn)(struct run *r, size_t next_frame);

static bool run(const char *what, struct frames *fs, struct run *r,
		between_fn between, bool consume_each)
{
	size_t i;
	int fd;

	memset(r, 0, sizeof(*r));
	r->off.v = calloc(MAX_MSGS, sizeof(struct seen));
	r->live.v = calloc(MAX_MSGS, sizeof(struct seen));
	r->skel = load_programs(value_bytes, ring_bytes);
	if (!r->off.v || !r->live.v || !r->skel) {
		check(false, what, "loading the BPF programs: %s", strerror(errno));
		return false;
	}
	r->rb = ring_buffer__new(bpf_map__fd(r->skel->maps.events), on_record, &r->live, NULL);
	if (!r->rb) {
		check(false, what, "ring buffer: %s", strerror(errno));
		return false;
	}
	setup_pipeline(&r->plo, &r->ho, &r->off);
	setup_pipeline(&r->pll, &r->hl, &r->live);
	fd = bpf_program__fd(r->skel->progs.catrace_xdp);
	for (i = 0; i < fs->n; i++) {
		struct frame f = { .ts_ns = 1, .data = fs->f[i].d, .caplen = fs->f[i].len,
				   .len = fs->f[i].len, .number = i + 1 };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fs->f[i].d,
			    .data_size_in = fs->f[i].len, .repeat = 1);

		if (between)
			between(r, i);
		cur_frame = i + 1;
		pipeline_frame(&r->plo, 1, &f);
		if (bpf_prog_test_run_opts(fd, &o) || o.retval != 2 /* XDP_PASS */) {
			check(false, what, "test run of frame %zu: %s, verdict %u", i + 1,
			      strerror(errno), o.retval);
			return false;
		}
		if (consume_each)
			ring_buffer__consume(r->rb);
	}
	ring_buffer__consume(r->rb);
	pipeline_finish(&r->plo);
	pipeline_finish(&r->pll);
	kstats_counters(bpf_map__fd(r->skel->maps.counters), &r->cnt);
	return true;
}

static void run_free(struct run *r)
{
	pipeline_free(&r->plo);
	pipeline_free(&r->pll);
	ring_buffer__free(r->rb);
	catrace_bpf__destroy(r->skel);
	free_side(&r->off);
	free_side(&r->live);
}

/* Live equals offline, message for message. */
static void same(const char *what, struct run *r)
{
	char name[128];

	snprintf(name, sizeof(name), "%s: live equals offline", what);
	check(compare(what, &r->off, &r->live) == 0 && r->live.n == r->off.n &&
	      live_clean(what, "scenario", &r->live, r->skel) == 0, name,
	      "offline %zu messages, live %zu", r->off.n, r->live.n);
}

/* Messages of the live side whose JSON has `s`. */
static size_t live_with(const struct run *r, const char *s)
{
	size_t i, n = 0;

	for (i = 0; i < r->live.n; i++)
		if (strstr(r->live.v[i].json, s))
			n++;
	return n;
}

static uint64_t counted(const struct ca_counters *c)
{
	uint64_t n = 0;
	int i, j;

	for (i = 0; i < CNT_CMDS; i++)
		for (j = 0; j < 2; j++)
			n += c->msgs[i][j];
	return n;
}

/* ---- scenarios ---- */

static void read_reply(struct buf *b, unsigned dtype, uint32_t count,
		       const uint8_t *val, uint32_t n, uint32_t ioid)
{
	uint32_t size = (n + 7) & ~7u;

	hdr(b, CA_PROTO_READ_NOTIFY, size, dtype, count, 1 /* ECA_NORMAL */, ioid);
	bytes(b, val, n);
	zeros(b, size - n);
}

static void scenario_ctrl_enum(void)
{
	static struct buf req, rsp;
	struct frames fs = {0};
	struct circ c;
	struct run r;
	uint8_t v[424];
	char s[64];
	int i;

	circ_open(&fs, &c, CLI_IP, SRV_IP, 40001, 5064);
	named(&req, CA_PROTO_CREATE_CHAN, "T:mbbi", 1, 13);
	hdr(&req, CA_PROTO_READ_NOTIFY, 0, 31, 1, 77, 1);
	hdr(&req, CA_PROTO_READ_NOTIFY, 0, 24, 1, 77, 2);
	hdr(&req, CA_PROTO_READ_NOTIFY, 0, 0, 8, 78, 3);
	circ_send(&fs, &c, true, req.d, req.n, MSS);
	hdr(&rsp, CA_PROTO_CREATE_CHAN, 0, 3, 1, 1, 77);
	/* CTRL_ENUM: status, severity, no_str, 16 strings of 26, value. */
	memset(v, 0, sizeof(v));
	put16(v + 4, 4);
	for (i = 0; i < 4; i++)
		snprintf((char *)v + 6 + 26 * i, 26, "state-%d", i);
	put16(v + 422, 2);
	read_reply(&rsp, 31, 1, v, sizeof(v), 1);
	read_reply(&rsp, 24, 1, v, sizeof(v), 2);
	/* Eight 40-byte strings. */
	{
		uint8_t sv[320];

		memset(sv, 0, sizeof(sv));
		for (i = 0; i < 8; i++)
			snprintf((char *)sv + 40 * i, 40, "string number %d of eight", i);
		read_reply(&rsp, 0, 8, sv, sizeof(sv), 3);
	}
	circ_send(&fs, &c, false, rsp.d, rsp.n, MSS);
	if (run("ctrl-enum", &fs, &r, NULL, true)) {
		same("ctrl-enum", &r);
		snprintf(s, sizeof(s), "\"state-3\"");
		check(live_with(&r, s) == 2 && live_with(&r, "\"value\":[2]") == 2,
		      "ctrl-enum: CTRL_ENUM and GR_ENUM show their strings and value",
		      "%zu lines with the strings, %zu with the value", live_with(&r, s),
		      live_with(&r, "\"value\":[2]"));
		check(live_with(&r, "string number 7 of eight") == 1 &&
		      live_with(&r, "data_cut") == 0,
		      "ctrl-enum: an 8-element string array is whole", NULL);
	}
	run_free(&r);
	frames_free(&fs);
}

static void scenario_long_names(void)
{
	static struct buf req;
	struct frames fs = {0};
	struct circ c;
	struct run r;
	char a[160], b[160];

	memset(a, 'A', 148);
	a[148] = '1';
	a[149] = 0;
	memcpy(b, a, sizeof(a));
	b[148] = '2';
	circ_open(&fs, &c, CLI_IP, SRV_IP, 40002, 5064);
	named(&req, CA_PROTO_CREATE_CHAN, a, 1, 13);
	named(&req, CA_PROTO_CREATE_CHAN, b, 2, 13);
	circ_send(&fs, &c, true, req.d, req.n, MSS);
	if (run("long-names", &fs, &r, NULL, true)) {
		char want[200];
		size_t na, nb;

		same("long-names", &r);
		snprintf(want, sizeof(want), "\"%s\"", a);
		na = live_with(&r, want);
		snprintf(want, sizeof(want), "\"%s\"", b);
		nb = live_with(&r, want);
		check(na == 1 && nb == 1, "long-names: two 149-byte names, complete and distinct",
		      "%zu and %zu lines", na, nb);
	}
	run_free(&r);
	frames_free(&fs);
}

static void scenario_budget_cut(void)
{
	static struct buf req, rsp;
	struct frames fs = {0};
	struct circ c;
	struct run r;
	uint8_t sv[320];
	int i;

	circ_open(&fs, &c, CLI_IP, SRV_IP, 40003, 5064);
	named(&req, CA_PROTO_CREATE_CHAN, "T:strs", 1, 13);
	hdr(&req, CA_PROTO_READ_NOTIFY, 0, 0, 8, 78, 3);
	circ_send(&fs, &c, true, req.d, req.n, MSS);
	hdr(&rsp, CA_PROTO_CREATE_CHAN, 0, 0, 8, 1, 78);
	memset(sv, 0, sizeof(sv));
	for (i = 0; i < 8; i++)
		snprintf((char *)sv + 40 * i, 40, "string number %d of eight", i);
	read_reply(&rsp, 0, 8, sv, sizeof(sv), 3);
	circ_send(&fs, &c, false, rsp.d, rsp.n, MSS);
	value_bytes = 64;
	if (run("budget-cut", &fs, &r, NULL, true)) {
		check(live_with(&r, "\"data_cut\":{\"kept\":64,\"size\":320}") == 1,
		      "budget-cut: --value-bytes 64 says the value was cut", NULL);
		check(live_with(&r, "string number 0 of eight") == 1 &&
		      live_with(&r, "string number 1") == 0,
		      "budget-cut: the string cut in the middle is not shown", NULL);
		check(r.pll.flows.stats.live_disagreed == 0,
		      "budget-cut: kernel and framer agree on every boundary", NULL);
	}
	value_bytes = REC_VALUE_BYTES_DEFAULT;
	run_free(&r);
	frames_free(&fs);
}

/* Extended-header monitor updates of 160,016 bytes (20,000 doubles and
 * the TIME metadata); the trace starts in the middle of the first. */
static void scenario_mid_stream_ext(void)
{
	static struct buf rsp;
	struct frames all = {0}, fs;
	struct circ c;
	struct run r;
	uint32_t size = 16 + 20000 * 8, i, n_updates = 5;

	circ_open(&all, &c, CLI_IP, SRV_IP, 40004, 5064);
	for (i = 0; i < n_updates; i++) {
		rsp.n = 0;
		hdr(&rsp, CA_PROTO_EVENT_ADD, size, 20, 20000, 1, 9);
		zeros(&rsp, size);
		circ_send(&all, &c, false, rsp.d, rsp.n, MSS);
	}
	/* Without the SYNs and the first 30 segments: joined midway. */
	fs.f = all.f + 32;
	fs.n = all.n - 32;
	if (run("mid-stream-ext", &fs, &r, NULL, true)) {
		size_t got = live_with(&r, "\"command\":\"EventAddResponse\"");

		same("mid-stream-ext", &r);
		check(got == n_updates - 1,
		      "mid-stream-ext: in sync from the first whole message",
		      "%zu of the %u updates after the join", got, n_updates - 1);
	}
	run_free(&r);
	frames_free(&all);
}

static void scenario_tcp_search(void)
{
	static struct buf req, rsp, q;
	struct frames fs = {0};
	struct circ ns, ioc;
	struct run r;

	/* The client asks the name server over TCP; it names the IOC's
	 * address and a TCP port of no CA default. */
	circ_open(&fs, &ns, CLI_IP, NS_IP, 40005, 5064);
	hdr(&req, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	named(&req, CA_PROTO_SEARCH, "T:far", 7, 7);
	circ_send(&fs, &ns, true, req.d, req.n, MSS);
	hdr(&rsp, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	hdr(&rsp, CA_PROTO_SEARCH, 8, 41234, 0, SRV_IP, 7);
	zeros(&rsp, 8);
	put16(rsp.d + rsp.n - 8, 13);  /* the server's minor version */
	circ_send(&fs, &ns, false, rsp.d, rsp.n, MSS);
	circ_open(&fs, &ioc, CLI_IP, SRV_IP, 40006, 41234);
	hdr(&q, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	named(&q, CA_PROTO_CREATE_CHAN, "T:far", 1, 13);
	circ_send(&fs, &ioc, true, q.d, q.n, MSS);
	if (run("tcp-search", &fs, &r, NULL, true)) {
		same("tcp-search", &r);
		check(live_with(&r, "\"command\":\"CreateChanRequest\"") == 1,
		      "tcp-search: the circuit to the server a TCP search reply named is traced",
		      "%zu CREATE_CHAN lines", live_with(&r, "\"command\":\"CreateChanRequest\""));
	}
	run_free(&r);
	frames_free(&fs);
}

static size_t evict_at;

/* The LRU takes the flow state away between the two segments. */
static void evict_flows(struct run *r, size_t next)
{
	struct tcp_dir_key k;
	int fd = bpf_map__fd(r->skel->maps.flows);

	if (next != evict_at)
		return;
	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		bpf_map_delete_elem(fd, &k);
}

static void scenario_split_evicted(void)
{
	static struct buf req;
	struct frames fs = {0};
	struct circ c;
	struct run r;
	char name[64];

	snprintf(name, sizeof(name), "T:split:name:that:crosses:segments");
	circ_open(&fs, &c, CLI_IP, SRV_IP, 40007, 5064);
	named(&req, CA_PROTO_CREATE_CHAN, name, 1, 13);
	/* Header and 10 bytes of the name, then the rest. */
	circ_send(&fs, &c, true, req.d, 26, MSS);
	circ_send(&fs, &c, true, req.d + 26, req.n - 26, MSS);
	evict_at = fs.n - 1;
	if (run("split-evicted", &fs, &r, evict_flows, true)) {
		char want[96];

		same("split-evicted", &r);
		snprintf(want, sizeof(want), "\"pv\":\"%s\"", name);
		check(live_with(&r, want) == 1,
		      "split-evicted: the name comes out whole after the flow state went", NULL);
		check(counted(&r.cnt) == 1 && r.live.n == 1,
		      "split-evicted: counted once, delivered once",
		      "kernel counted %llu, live decoded %zu", (unsigned long long)counted(&r.cnt),
		      r.live.n);
	}
	run_free(&r);
	frames_free(&fs);
}

static void scenario_split_names(void)
{
	static struct buf req;
	struct frames fs = {0};
	struct circ c;
	struct run r;

	circ_open(&fs, &c, CLI_IP, SRV_IP, 40008, 5064);
	hdr(&req, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	named(&req, CA_PROTO_CLIENT_NAME, "operator", 0, 0);
	named(&req, CA_PROTO_HOST_NAME, "console7.example", 0, 0);
	/* Segments of 20 bytes: every name crosses a boundary. */
	circ_send(&fs, &c, true, req.d, req.n, 20);
	if (run("split-names", &fs, &r, NULL, true)) {
		same("split-names", &r);
		check(live_with(&r, "\"operator\"") == 1 &&
		      live_with(&r, "\"console7.example\"") == 1,
		      "split-names: CLIENT_NAME and HOST_NAME complete", NULL);
	}
	run_free(&r);
	frames_free(&fs);
}

static void scenario_drops(void)
{
	static struct buf rsp;
	struct frames fs = {0};
	struct circ c;
	struct run r;
	uint8_t v[16] = {0};
	int i, j;

	circ_open(&fs, &c, CLI_IP, SRV_IP, 40009, 5064);
	for (i = 0; i < 60; i++) {
		rsp.n = 0;
		for (j = 0; j < 36; j++) {
			hdr(&rsp, CA_PROTO_EVENT_ADD, 16, 6, 2, 1, 9);
			bytes(&rsp, v, 16);
		}
		circ_send(&fs, &c, false, rsp.d, rsp.n, MSS);
	}
	ring_bytes = 16384;
	/* Nothing read until the end: the ring fills and refuses. */
	if (run("drops", &fs, &r, NULL, false)) {
		check(r.cnt.ringbuf_drops > 0, "drops: the small ring buffer overflowed",
		      "no record refused");
		check(r.live.n + r.cnt.msgs_dropped == counted(&r.cnt),
		      "drops: decoded + dropped = counted",
		      "%zu decoded + %llu dropped != %llu counted", r.live.n,
		      (unsigned long long)r.cnt.msgs_dropped,
		      (unsigned long long)counted(&r.cnt));
		check(live_with(&r, "\"truncated\"") == 0 && r.pll.flows.stats.live_disagreed == 0,
		      "drops: every message after a refused record is whole and in sync", NULL);
	}
	ring_bytes = 0;
	run_free(&r);
	frames_free(&fs);
}

static int libbpf_quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	if (l == LIBBPF_WARN)
		return vfprintf(stderr, f, ap);
	return 0;
}

int main(void)
{
	if (geteuid() != 0) {
		printf("SKIP: bpf live: needs root for BPF_PROG_TEST_RUN\n");
		return 77;
	}
	libbpf_set_print(libbpf_quiet);
	scenario_ctrl_enum();
	scenario_long_names();
	scenario_budget_cut();
	scenario_mid_stream_ext();
	scenario_tcp_search();
	scenario_split_evicted();
	scenario_split_names();
	scenario_drops();
	return fails ? 1 : 0;
}
