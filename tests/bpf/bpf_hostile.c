/* bpf_hostile: hostile packets, class by class (issue 7), through both of
 * catrace's parsers: the user-space decoder (the pipeline, as `catrace -r`
 * runs it) and the BPF programs (XDP and tc, with BPF_PROG_TEST_RUN, flow
 * state kept between packets as on a live interface).
 *
 * Every class is a few crafted Ethernet frames.  What both sides must do
 * with them: report a clear malformed or truncated message, or count a
 * parse error, and go on; never crash, hang, allocate without bound, or
 * change the packet (XDP_PASS / TC_ACT_UNSPEC for every frame).  The
 * classes, by the names the lines below start with:
 *
 *   truncated-header        a CA header cut by the datagram, the capture
 *                           or the end of the stream
 *   payload-beyond-packet   a payload size larger than the datagram, the
 *                           capture, the stream; an IPv4 length past the frame
 *   extended-size-2^32      extended headers with sizes near 2^32
 *   count-overflow          element counts whose size overflows 32 bits
 *   pv-name                 names with no NUL, longer than any buffer
 *   unknown-command         command codes no CA peer sends
 *   zero-length-segments    TCP segments without payload, anywhere
 *   segment-inside-payload  segments that start inside a message's payload
 *   ipv4-ihl                IHL below 5, beyond the packet
 *   vlan-chain              three tags, a tag cut off, a non-IP inner type
 *
 * Usage: bpf_hostile    prints PASS:/FAIL: lines; exit 0/1, 77 without root
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "catrace.skel.h"
#include "catrace_record.h"
#include "output.h"
#include "pipeline.h"
#include "record.h"

#define SRV_IP   0x0A090001u   /* 10.9.0.1, the IOC */
#define CLI_IP   0x0A090002u   /* 10.9.0.2 */
#define CA_PORT  5064
#define XDP_PASS_ 2u
#define TC_ACT_UNSPEC_ 0xFFFFFFFFu
#define DBR_TIME_DOUBLE_ (DBR_TIME_STRING + DBR_DOUBLE)
#define DBR_CTRL_DOUBLE_ (DBR_CTRL_STRING + DBR_DOUBLE)

/* ---- frames ---------------------------------------------------------- */

#define MAX_FRAMES 16
#define FRAME_MAX 1600  /* BPF_PROG_TEST_RUN for tc takes about a page */

struct frm {
	uint8_t d[FRAME_MAX];
	uint32_t cap, len;    /* captured bytes, bytes on the wire */
};

struct frames {
	struct frm f[MAX_FRAMES];
	int n;
};

/* How a frame's headers deviate from a well-formed one. */
struct shape {
	int nvlan;
	uint16_t tpid[3];
	uint16_t inner_type;  /* 0: IPv4 */
	int ihl;              /* the IHL field; 0: 5, IHL_ZERO: 0 */
	int opt_bytes;        /* IPv4 option bytes really there */
	int tot;              /* IPv4 total length; 0: the real one */
	int cut;              /* bytes the capture lacks at the end */
};

#define IHL_ZERO 100

static const struct shape plain;

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

/* One frame: Ethernet (tags), IPv4, UDP or TCP, payload. */
static void add_frame(struct frames *fs, const struct shape *sh, int proto,
		      uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		      uint32_t seq, uint8_t tcp_flags, const uint8_t *pl, uint32_t plen)
{
	struct frm *f = &fs->f[fs->n++];
	uint32_t off = 12, ihl = 20 + (uint32_t)sh->opt_bytes, l4, l4len;
	unsigned nibble = sh->ihl == IHL_ZERO ? 0 : sh->ihl ? (unsigned)sh->ihl : 5;
	int i;

	if (fs->n > MAX_FRAMES || plen > FRAME_MAX - 120) {
		fprintf(stderr, "bpf_hostile: test frame too big\n");
		exit(1);
	}
	memset(f, 0, sizeof(*f));
	memcpy(f->d, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	for (i = 0; i < sh->nvlan; i++) {
		put16(f->d + off, sh->tpid[i]);
		put16(f->d + off + 2, 100 + i);
		off += 4;
	}
	put16(f->d + off, sh->inner_type ? sh->inner_type : 0x0800);
	off += 2;
	l4 = off + ihl;
	l4len = proto == 6 ? 20 : 8;
	f->d[off] = (uint8_t)(0x40 | nibble);
	put16(f->d + off + 2, sh->tot ? (unsigned)sh->tot : ihl + l4len + plen);
	put16(f->d + off + 6, 0x4000);
	f->d[off + 8] = 64;
	f->d[off + 9] = (uint8_t)proto;
	put32(f->d + off + 12, src);
	put32(f->d + off + 16, dst);
	put16(f->d + l4, sport);
	put16(f->d + l4 + 2, dport);
	if (proto == 6) {
		put32(f->d + l4 + 4, seq);
		put32(f->d + l4 + 8, 1);
		f->d[l4 + 12] = 5 << 4;
		f->d[l4 + 13] = (uint8_t)(tcp_flags | 0x10);
		put16(f->d + l4 + 14, 65535);
	} else {
		put16(f->d + l4 + 4, 8 + plen);
	}
	if (plen)
		memcpy(f->d + l4 + l4len, pl, plen);
	f->len = l4 + l4len + plen;
	f->cap = f->len - (uint32_t)sh->cut;
}

static void add_raw(struct frames *fs, const uint8_t *d, uint32_t n)
{
	struct frm *f = &fs->f[fs->n++];

	memcpy(f->d, d, n);
	f->cap = f->len = n;
}

/* ---- CA bytes -------------------------------------------------------- */

struct ca {
	uint8_t b[8192];
	uint32_t n;
};

static void ca_hdr(struct ca *c, unsigned cmd, unsigned size, unsigned dtype,
		   unsigned count, uint32_t p1, uint32_t p2)
{
	put16(c->b + c->n, cmd);
	put16(c->b + c->n + 2, size);
	put16(c->b + c->n + 4, dtype);
	put16(c->b + c->n + 6, count);
	put32(c->b + c->n + 8, p1);
	put32(c->b + c->n + 12, p2);
	c->n += 16;
}

static void ca_ext_hdr(struct ca *c, unsigned cmd, uint32_t size, unsigned dtype,
		       uint32_t count, uint32_t p1, uint32_t p2)
{
	ca_hdr(c, cmd, 0xFFFF, dtype, 0, p1, p2);
	put32(c->b + c->n, size);
	put32(c->b + c->n + 4, count);
	c->n += 8;
}

static void ca_bytes(struct ca *c, int byte, uint32_t n)
{
	memset(c->b + c->n, byte, n);
	c->n += n;
}

/* ---- a TCP circuit ----------------------------------------------------- */

struct circ {
	uint16_t cport;
	uint32_t cseq, sseq;
};

static void circ_open(struct frames *fs, struct circ *k, uint16_t port)
{
	k->cport = port;
	k->cseq = 1000;
	k->sseq = 90000;
	add_frame(fs, &plain, 6, CLI_IP, port, SRV_IP, CA_PORT, k->cseq++, 0x02, NULL, 0);
	add_frame(fs, &plain, 6, SRV_IP, CA_PORT, CLI_IP, port, k->sseq++, 0x12, NULL, 0);
}

static void circ_req(struct frames *fs, struct circ *k, const uint8_t *d, uint32_t n,
		     uint8_t flags)
{
	add_frame(fs, &plain, 6, CLI_IP, k->cport, SRV_IP, CA_PORT, k->cseq, flags, d, n);
	k->cseq += n;
}

static void circ_rsp(struct frames *fs, struct circ *k, const uint8_t *d, uint32_t n,
		     uint8_t flags)
{
	add_frame(fs, &plain, 6, SRV_IP, CA_PORT, CLI_IP, k->cport, k->sseq, flags, d, n);
	k->sseq += n;
}

/* ---- the user-space decoder ------------------------------------------ */

struct umsg {
	struct ca_hdr h;
	bool tcp;
	enum ca_dir dir;
	unsigned flags;
	size_t payload_len;
	size_t pv_len;       /* 0: no name */
	char json[16384];
	size_t json_len;
};

struct ures {
	struct umsg m[64];
	int n;
	struct pipeline_stats st;
	uint64_t resyncs;
};

static struct output json_out;

static void user_hook(void *ctx, const struct flow_key *k, const struct msg_ctx *c,
		      const struct ca_msg *m)
{
	struct ures *u = ctx;
	struct umsg *x;
	struct sbuf sb;

	(void)k;
	if (u->n >= 64)
		return;
	x = &u->m[u->n++];
	x->h = m->h;
	x->tcp = m->tcp;
	x->dir = m->dir;
	x->flags = m->flags;
	x->payload_len = m->payload_len;
	x->pv_len = c->pv ? c->pv_len : 0;
	sbuf_init(&sb);
	output_format(&json_out, &sb, c, m);
	x->json_len = sb.len;
	snprintf(x->json, sizeof(x->json), "%s", sbuf_str(&sb));
	sbuf_free(&sb);
}

static void run_user(const struct frames *fs, struct ures *u)
{
	static struct pipeline pl;
	int i;

	memset(u, 0, sizeof(*u));
	output_init(&json_out);
	json_out.style = OUT_JSON;
	pipeline_init(&pl, stdout);
	pl.hook = user_hook;
	pl.hook_ctx = u;
	pl.hook_only = true;
	for (i = 0; i < fs->n; i++) {
		struct frame f = { 1700000000000000000ull + (uint64_t)i * 1000, fs->f[i].d,
				   fs->f[i].cap, fs->f[i].len, (uint64_t)i + 1 };

		pipeline_frame(&pl, 1 /* DLT_EN10MB */, &f);
	}
	pipeline_finish(&pl);
	u->st = pl.st;
	u->resyncs = pipeline_resyncs(&pl);
	pipeline_free(&pl);
}

/* ---- the kernel --------------------------------------------------------- */

struct krec {
	uint16_t cmd;
	uint32_t size, count;
	uint8_t flags;      /* REC_F_* */
	uint16_t data_len;
	bool resync;
};

struct kres {
	struct krec r[64];
	int n;
	int closes;
	struct ca_counters d;   /* counters added by these frames */
	int not_passed;         /* frames the program did not pass on unchanged */
	int run_errors;
	uint32_t bad_retval;
	int bad_records;
};

struct hook {
	const char *name;       /* "kernel xdp", "kernel tc" */
	struct catrace_bpf *skel;
	int prog_fd;
	uint32_t pass_retval;
	struct ring_buffer *rb;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct kres *k = ctx;
	const struct ca_record *raw = data;
	static struct rec_info ri;

	if (record_parse(data, size, &ri) != REC_OK) {
		k->bad_records++;
		return 0;
	}
	if (ri.close) {
		k->closes++;
		return 0;
	}
	if (k->n >= 64)
		return 0;
	k->r[k->n].cmd = ri.msg.h.cmd;
	k->r[k->n].size = ri.msg.h.size;
	k->r[k->n].count = ri.msg.h.count;
	k->r[k->n].flags = raw->flags;
	k->r[k->n].data_len = raw->data_len;
	k->r[k->n].resync = raw->flags & REC_F_RESYNC;
	k->n++;
	return 0;
}

static int counters(const struct hook *h, struct ca_counters *sum)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct ca_counters *per = calloc((size_t)ncpu, sizeof(*per));
	__u32 zero = 0;

	memset(sum, 0, sizeof(*sum));
	if (!per || bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.counters), &zero, per)) {
		free(per);
		return -1;
	}
	for (c = 0; c < ncpu; c++) {
		int i, j;

		for (i = 0; i < CNT_CMDS; i++)
			for (j = 0; j < 2; j++)
				sum->msgs[i][j] += per[c].msgs[i][j];
		sum->pkts_seen += per[c].pkts_seen;
		sum->pkts_ca += per[c].pkts_ca;
		sum->parse_errors += per[c].parse_errors;
		sum->gaps += per[c].gaps;
		sum->resyncs += per[c].resyncs;
		sum->retransmits += per[c].retransmits;
		sum->ringbuf_drops += per[c].ringbuf_drops;
	}
	free(per);
	return 0;
}

static uint64_t msgs_counted(const struct ca_counters *c)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < CNT_CMDS; i++)
		n += c->msgs[i][0] + c->msgs[i][1];
	return n;
}

static void run_kernel(struct hook *h, const struct frames *fs, struct kres *k)
{
	struct ca_counters before, after;
	int i, j;

	memset(k, 0, sizeof(*k));
	ring_buffer__consume(h->rb);  /* nothing of an earlier class */
	counters(h, &before);
	for (i = 0; i < fs->n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fs->f[i].d,
			    .data_size_in = fs->f[i].cap, .repeat = 1);

		if (bpf_prog_test_run_opts(h->prog_fd, &o)) {
			k->run_errors++;
			continue;
		}
		if (o.retval != h->pass_retval) {
			k->not_passed++;
			k->bad_retval = o.retval;
		}
		/* ring_buffer__consume's callback sees ctx set at creation: */
		ring_buffer__consume(h->rb);
	}
	counters(h, &after);
	for (i = 0; i < CNT_CMDS; i++)
		for (j = 0; j < 2; j++)
			k->d.msgs[i][j] = after.msgs[i][j] - before.msgs[i][j];
	k->d.pkts_seen = after.pkts_seen - before.pkts_seen;
	k->d.pkts_ca = after.pkts_ca - before.pkts_ca;
	k->d.parse_errors = after.parse_errors - before.parse_errors;
	k->d.gaps = after.gaps - before.gaps;
	k->d.resyncs = after.resyncs - before.resyncs;
	k->d.retransmits = after.retransmits - before.retransmits;
	k->d.ringbuf_drops = after.ringbuf_drops - before.ringbuf_drops;
}

/* The ring buffers deliver into whichever result is being filled. */
static struct kres *cur_kres;

static int on_record_cur(void *ctx, void *data, size_t size)
{
	(void)ctx;
	return on_record(cur_kres, data, size);
}

/* ---- checks ---------------------------------------------------------- */

static int npass, nfail;

static void check(bool ok, const char *cls, const char *side, const char *fmt, ...)
{
	va_list ap;

	printf("%s: hostile %s: %s: ", ok ? "PASS" : "FAIL", cls, side);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		npass++;
	else
		nfail++;
}

static struct hook hooks[2];

/* What every kernel run must show, whatever the class. */
static void kernel_basics(const char *cls, const struct hook *h, const struct kres *k,
			  int frames)
{
	check(k->run_errors == 0 && k->not_passed == 0, cls, h->name,
	      "all %d frames run and passed on unchanged (%d errors, %d not passed%s)",
	      frames, k->run_errors, k->not_passed, k->not_passed ? ", see retval" : "");
	check(k->bad_records == 0 && k->d.ringbuf_drops == 0 &&
	      msgs_counted(&k->d) == (uint64_t)k->n, cls, h->name,
	      "every message counted is a well-formed record (%llu counted, %d records, %d bad, %llu dropped)",
	      (unsigned long long)msgs_counted(&k->d), k->n, k->bad_records,
	      (unsigned long long)k->d.ringbuf_drops);
}

static int count_flag(const struct ures *u, unsigned flag)
{
	int i, n = 0;

	for (i = 0; i < u->n; i++)
		if (u->m[i].flags & flag)
			n++;
	return n;
}

static bool json_has(const struct umsg *m, const char *s)
{
	return strstr(m->json, s) != NULL;
}

/* The frames through both programs; kr[i] holds what hooks[i] did. */
static struct kres kr[2];

static void run_hooks(const char *cls, const struct frames *fs)
{
	int i;

	for (i = 0; i < 2; i++) {
		cur_kres = &kr[i];
		run_kernel(&hooks[i], fs, &kr[i]);
		kernel_basics(cls, &hooks[i], &kr[i], fs->n);
	}
}

/* For each program: h its hook (h->name), k what it did. */
#define EACH_HOOK(h, k)                                                   \
	for (int i_ = 0; i_ < 2; i_++)                                     \
		for (const struct hook *h = &hooks[i_]; h; h = NULL)       \
			for (const struct kres *k = &kr[i_]; k; k = NULL)

/* ---- the classes --------------------------------------------------------- */

static void class_truncated_header(void)
{
	const char *cls = "truncated-header";
	struct frames a = { .n = 0 }, b = { .n = 0 }, c = { .n = 0 };
	struct ca m = { .n = 0 };
	struct circ ck;
	struct ures u;
	struct shape cut = plain;

	/* (a) a datagram that ends 10 bytes into a header */
	ca_hdr(&m, CA_PROTO_VERSION, 0, 1, 13, 0, 0);
	add_frame(&a, &plain, 17, CLI_IP, 50001, SRV_IP, CA_PORT, 0, 0, m.b, 10);
	run_user(&a, &u);
	check(u.n == 1 && (u.m[0].flags & CA_MSG_MALFORMED) && u.m[0].h.hdr_len == 10,
	      cls, "decoder", "10-byte datagram: one message flagged malformed, 10 header bytes (%d messages)", u.n);
	run_hooks(cls, &a);
	EACH_HOOK(h, k)
		check(k->n == 0 && k->d.parse_errors == 1, cls, h->name,
		      "10-byte datagram: no record, one parse error counted (%d records, %llu errors)",
		      k->n, (unsigned long long)k->d.parse_errors);

	/* (b) the capture cuts a datagram inside its second header */
	m.n = 0;
	ca_hdr(&m, CA_PROTO_VERSION, 0, 1, 13, 0, 0);
	ca_hdr(&m, CA_PROTO_SEARCH, 8, 5, 13, 1, 1);
	ca_bytes(&m, 'A', 8);
	cut.cut = 12;  /* 12 of the search header's 16 bytes are captured */
	add_frame(&b, &cut, 17, CLI_IP, 50002, SRV_IP, CA_PORT, 0, 0, m.b, m.n);
	run_user(&b, &u);
	check(u.n == 2 && !u.m[0].flags && (u.m[1].flags & CA_MSG_TRUNCATED) &&
	      u.st.truncated == 1, cls, "decoder",
	      "capture cut inside the 2nd header: VERSION whole, then one message flagged truncated (%d messages, %llu truncated)",
	      u.n, (unsigned long long)u.st.truncated);
	run_hooks(cls, &b);
	EACH_HOOK(h, k)
		check(k->n == 0 && k->d.parse_errors == 1, cls, h->name,
		      "cut datagram (IP/UDP lengths past the packet): a parse error counted, no record (%d records, %llu errors)",
		      k->n, (unsigned long long)k->d.parse_errors);

	/* (c) a TCP stream that ends (FIN) 10 bytes into a header */
	circ_open(&c, &ck, 40001);
	m.n = 0;
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 1, 1);
	circ_req(&c, &ck, m.b, 26, 0x18);
	circ_req(&c, &ck, NULL, 0, 0x01);
	run_user(&c, &u);
	check(u.n == 2 && !u.m[0].flags && (u.m[1].flags & CA_MSG_TRUNCATED) &&
	      u.m[1].h.hdr_len == 10, cls, "decoder",
	      "stream ends inside a header: ECHO, then one message flagged truncated with 10 header bytes (%d messages)", u.n);
	run_hooks(cls, &c);
	EACH_HOOK(h, k)
		check(k->n == 1 && k->r[0].cmd == CA_PROTO_ECHO && k->d.parse_errors == 1,
		      cls, h->name, "stream ends inside a header: the ECHO, then a parse error counted at the FIN (%d records, %llu errors)",
		      k->n, (unsigned long long)k->d.parse_errors);
}

static void class_payload_beyond(void)
{
	const char *cls = "payload-beyond-packet";
	struct frames a = { .n = 0 }, b = { .n = 0 }, c = { .n = 0 }, d = { .n = 0 };
	struct ca m = { .n = 0 };
	struct shape sh = plain;
	struct circ ck;
	struct ures u;

	/* (a) payload size 64, the datagram holds 8 of them */
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 64, DBR_CHAR, 64, 1, 2);
	ca_bytes(&m, 'x', 8);
	add_frame(&a, &plain, 17, SRV_IP, CA_PORT, CLI_IP, 50003, 0, 0, m.b, m.n);
	run_user(&a, &u);
	check(u.n == 1 && (u.m[0].flags & CA_MSG_MALFORMED) && u.m[0].payload_len == 8 &&
	      json_has(&u.m[0], "exceeds the datagram"), cls, "decoder",
	      "size 64 in a datagram with 8: flagged malformed, 8 payload bytes (%d messages)", u.n);
	run_hooks(cls, &a);
	EACH_HOOK(h, k)
		check(k->n == 1 && (k->r[0].flags & REC_F_TRUNCATED) && k->r[0].size == 64 &&
		      k->r[0].data_len <= 8, cls, h->name,
		      "size 64 in a datagram with 8: one record flagged truncated, at most 8 data bytes (%d records)", k->n);

	/* (b) the capture has 24 of the datagram's 80 payload bytes */
	m.n = 0;
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 64, DBR_CHAR, 64, 1, 2);
	ca_bytes(&m, 'x', 64);
	sh.cut = 56;
	add_frame(&b, &sh, 17, SRV_IP, CA_PORT, CLI_IP, 50004, 0, 0, m.b, m.n);
	run_user(&b, &u);
	check(u.n == 1 && (u.m[0].flags & CA_MSG_TRUNCATED) && u.m[0].payload_len == 8,
	      cls, "decoder", "payload cut by the capture: flagged truncated, 8 payload bytes (%d messages)", u.n);
	run_hooks(cls, &b);
	EACH_HOOK(h, k)
		check(k->n == 0 && k->d.parse_errors == 1, cls, h->name,
		      "IP/UDP lengths past the packet: a parse error counted (%d records, %llu errors)",
		      k->n, (unsigned long long)k->d.parse_errors);

	/* (c) TCP: a 1000-byte payload of which 100 came before the FIN */
	circ_open(&c, &ck, 40002);
	m.n = 0;
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 1000, DBR_CHAR, 1000, 1, 2);
	ca_bytes(&m, 'x', 100);
	circ_rsp(&c, &ck, m.b, m.n, 0x18);
	circ_rsp(&c, &ck, NULL, 0, 0x01);
	run_user(&c, &u);
	check(u.n == 1 && (u.m[0].flags & CA_MSG_TRUNCATED) && u.m[0].payload_len == 100,
	      cls, "decoder", "stream ends 100 bytes into 1000: flagged truncated (%d messages)", u.n);
	run_hooks(cls, &c);
	EACH_HOOK(h, k)
		check(k->n == 1 && k->r[0].size == 1000 && k->r[0].data_len == 64,
		      cls, h->name, "stream ends 100 bytes into 1000: one record, its first 64 bytes (%d records)", k->n);

	/* (d) the IPv4 total length says 1000, the frame has 60 */
	m.n = 0;
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	sh = plain;
	sh.tot = 1000;
	add_frame(&d, &sh, 17, CLI_IP, 50005, SRV_IP, CA_PORT, 0, 0, m.b, m.n);
	run_user(&d, &u);
	check(u.n == 0 && u.st.bad_headers == 1, cls, "decoder",
	      "IPv4 length past the frame: no message, one broken header counted (%d messages)", u.n);
	run_hooks(cls, &d);
	EACH_HOOK(h, k)
		check(k->n == 1 && k->d.parse_errors == 1, cls, h->name,
		      "IPv4 length past the frame: a parse error counted, the bytes there parsed (%d records)", k->n);
}

static void class_extended_size(void)
{
	const char *cls = "extended-size-2^32";
	struct frames a = { .n = 0 }, b = { .n = 0 };
	struct ca m = { .n = 0 };
	struct circ ck;
	struct ures u;

	/* (a) TCP: an update announcing 0xFFFFFFF8 bytes, 1100 following */
	circ_open(&a, &ck, 40003);
	ca_ext_hdr(&m, CA_PROTO_EVENT_ADD, 0xFFFFFFF8u, DBR_CHAR, 0xFFFFFFF8u, 1, 7);
	ca_bytes(&m, 'y', 100);
	circ_rsp(&a, &ck, m.b, m.n, 0x18);
	m.n = 0;
	ca_bytes(&m, 'y', 1000);
	circ_rsp(&a, &ck, m.b, m.n, 0x18);
	circ_rsp(&a, &ck, NULL, 0, 0x01);
	run_user(&a, &u);
	check(u.n == 1 && u.m[0].h.size == 0xFFFFFFF8u && (u.m[0].flags & CA_MSG_TRUNCATED) &&
	      u.m[0].payload_len == 1100, cls, "decoder",
	      "size 0xFFFFFFF8 over TCP: one message, its 1100 bytes kept (not 4 GiB), flagged truncated at the FIN (%d messages, %zu kept)",
	      u.n, u.n ? u.m[0].payload_len : 0);
	run_hooks(cls, &a);
	EACH_HOOK(h, k)
		check(k->n == 1 && k->r[0].size == 0xFFFFFFF8u && k->r[0].data_len <= REC_DATA_MAX,
		      cls, h->name, "size 0xFFFFFFF8 over TCP: one record, the rest skipped (%d records)", k->n);

	/* (b) UDP: extended header with size 0xFFFFFFF8, then 16 bytes */
	m.n = 0;
	ca_ext_hdr(&m, CA_PROTO_SEARCH, 0xFFFFFFF8u, 5, 13, 1, 1);
	ca_bytes(&m, 'z', 16);
	add_frame(&b, &plain, 17, CLI_IP, 50006, SRV_IP, CA_PORT, 0, 0, m.b, m.n);
	run_user(&b, &u);
	check(u.n == 1 && (u.m[0].flags & CA_MSG_MALFORMED) && u.m[0].payload_len == 16,
	      cls, "decoder", "size 0xFFFFFFF8 in a datagram: flagged malformed (%d messages)", u.n);
	run_hooks(cls, &b);
	EACH_HOOK(h, k)
		check(k->n == 1 && (k->r[0].flags & REC_F_TRUNCATED) && k->r[0].size == 0xFFFFFFF8u,
		      cls, h->name, "size 0xFFFFFFF8 in a datagram: a record flagged truncated (%d records)", k->n);
}

static void class_count_overflow(void)
{
	const char *cls = "count-overflow";
	struct frames a = { .n = 0 };
	struct ca m = { .n = 0 };
	struct circ ck;
	struct ures u;
	int i;

	circ_open(&a, &ck, 40004);
	/* count x 8 (+ 16 of TIME metadata) and count x 40 overflow 32 bits */
	ca_ext_hdr(&m, CA_PROTO_READ_NOTIFY, 64, DBR_TIME_DOUBLE_, 0xFFFFFFFFu, ECA_NORMAL, 1);
	ca_bytes(&m, 0x41, 64);
	ca_ext_hdr(&m, CA_PROTO_EVENT_ADD, 80, DBR_STRING, 0x08000000u, ECA_NORMAL, 2);
	ca_bytes(&m, 'S', 80);
	ca_ext_hdr(&m, CA_PROTO_READ_NOTIFY, 48, DBR_CTRL_DOUBLE_, 0x20000000u, ECA_NORMAL, 3);
	ca_bytes(&m, 0, 48);
	circ_rsp(&a, &ck, m.b, m.n, 0x18);
	run_user(&a, &u);
	check(u.n == 3, cls, "decoder", "three messages with overflowing counts decoded (%d)", u.n);
	for (i = 0; i < u.n; i++)
		check(json_has(&u.m[i], "\"value_short\":true") && u.m[i].json_len < 2048 &&
		      !(u.m[i].flags & (CA_MSG_MALFORMED | CA_MSG_TRUNCATED)), cls, "decoder",
		      "count %u of dtype %u: value marked short, output bounded (%zu bytes of JSON)",
		      u.m[i].h.count, u.m[i].h.dtype, u.m[i].json_len);
	run_hooks(cls, &a);
	EACH_HOOK(h, k)
		check(k->n == 3 && k->r[0].count == 0xFFFFFFFFu && k->r[1].count == 0x08000000u,
		      cls, h->name, "three records, counts as sent (%d records)", k->n);
}

static void class_pv_name(void)
{
	const char *cls = "pv-name";
	struct frames a = { .n = 0 }, b = { .n = 0 }, c = { .n = 0 };
	struct ca m = { .n = 0 }, big = { .n = 0 };
	struct circ ck;
	struct ures u;
	int i;

	/* (a) CREATE_CHAN whose 24-byte name has no NUL, then its reply */
	circ_open(&a, &ck, 40005);
	ca_hdr(&m, CA_PROTO_CREATE_CHAN, 24, 0, 0, 7, 13);
	ca_bytes(&m, 'N', 24);
	circ_req(&a, &ck, m.b, m.n, 0x18);
	m.n = 0;
	ca_hdr(&m, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 7, 70);
	circ_rsp(&a, &ck, m.b, m.n, 0x18);
	run_user(&a, &u);
	check(u.n == 2 && (u.m[0].flags & CA_MSG_MALFORMED) && json_has(&u.m[0], "without a terminating NUL") &&
	      u.st.malformed == 1 && u.m[1].pv_len == 24, cls, "decoder",
	      "name without NUL: request flagged malformed, reply named with its 24 bytes (%d messages)", u.n);
	run_hooks(cls, &a);
	EACH_HOOK(h, k)
		check(k->n == 2 && k->r[0].data_len == 24, cls, h->name,
		      "name without NUL: request record carries its 24 bytes (%d records)", k->n);

	/* (b) a UDP SEARCH whose name is 1400 bytes, NUL only at the end */
	ca_hdr(&big, CA_PROTO_SEARCH, 1400, 5, 13, 9, 9);
	ca_bytes(&big, 'L', 1399);
	ca_bytes(&big, 0, 1);
	add_frame(&b, &plain, 17, CLI_IP, 50007, SRV_IP, CA_PORT, 0, 0, big.b, big.n);
	run_user(&b, &u);
	check(u.n == 1 && !u.m[0].flags && u.m[0].pv_len == 1399, cls, "decoder",
	      "1400-byte search name: decoded whole (%d messages)", u.n);
	run_hooks(cls, &b);
	EACH_HOOK(h, k)
		check(k->n == 1 && k->r[0].data_len == REC_NAME_MAX && k->r[0].size == 1400,
		      cls, h->name, "1400-byte search name: its first %d bytes in the record (%d records, %u bytes)",
		      REC_NAME_MAX, k->n, k->n ? k->r[0].data_len : 0);

	/* (c) CREATE_CHAN with a 4000-byte name and no NUL, over three
	 * segments, and the reply that names the channel */
	circ_open(&c, &ck, 40006);
	big.n = 0;
	ca_hdr(&big, CA_PROTO_CREATE_CHAN, 4000, 0, 0, 8, 13);
	ca_bytes(&big, 'P', 4000);
	/* The first segment holds 50 bytes of the name: the kernel waits
	 * for the rest (it wants REC_NAME_MAX of them). */
	for (i = 0; i < 4; i++) {
		uint32_t off = i ? 66 + (uint32_t)(i - 1) * 1400 : 0;
		uint32_t n = i ? (big.n - off < 1400 ? big.n - off : 1400) : 66;

		circ_req(&c, &ck, big.b + off, n, 0x18);
	}
	m.n = 0;
	ca_hdr(&m, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 8, 80);
	circ_rsp(&c, &ck, m.b, m.n, 0x18);
	run_user(&c, &u);
	check(u.n == 2 && (u.m[0].flags & CA_MSG_MALFORMED) &&
	      u.m[1].pv_len == CA_MAX_NAME_LEN, cls, "decoder",
	      "4000-byte name over 4 segments: flagged malformed (no NUL), tracked name cut to %d bytes (%zu)",
	      CA_MAX_NAME_LEN, u.n == 2 ? u.m[1].pv_len : 0);
	run_hooks(cls, &c);
	EACH_HOOK(h, k)
		check(k->n == 2 && k->r[0].cmd == CA_PROTO_CREATE_CHAN && k->r[0].size == 4000 &&
		      k->r[0].data_len == REC_NAME_MAX, cls, h->name,
		      "4000-byte name over 4 segments, the first with 50 of them: one record with its first %d bytes (%d records)",
		      REC_NAME_MAX, k->n);
}

static void class_unknown_command(void)
{
	const char *cls = "unknown-command";
	struct frames a = { .n = 0 }, b = { .n = 0 };
	struct ca m = { .n = 0 };
	struct circ ck;
	struct ures u;

	/* (a) TCP: VERSION, command 0x1234, then three ECHOs */
	circ_open(&a, &ck, 40007);
	ca_hdr(&m, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	ca_hdr(&m, 0x1234, 0, 0xA5A5, 0xA5A5, 0xA5A5A5A5u, 0xA5A5A5A5u);
	circ_req(&a, &ck, m.b, m.n, 0x18);
	m.n = 0;
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	circ_req(&a, &ck, m.b, m.n, 0x18);
	run_user(&a, &u);
	check(u.n == 5 && (u.m[1].flags & CA_MSG_MALFORMED) && u.m[1].h.cmd == 0x1234 &&
	      json_has(&u.m[1], "unknown command") && (u.m[2].flags & CA_MSG_RESYNC) &&
	      u.m[4].h.cmd == CA_PROTO_ECHO, cls, "decoder",
	      "TCP command 0x1234: flagged malformed, sync lost, the ECHOs after found again (%d messages)", u.n);
	run_hooks(cls, &a);
	EACH_HOOK(h, k)
		check(k->n == 5 && k->r[1].cmd == 0x1234 &&
		      k->d.msgs[CNT_CMDS - 1][REC_DIR_REQUEST] == 1, cls, h->name,
		      "TCP command 0x1234: a record, counted among the unknown commands (%d records)", k->n);

	/* (b) UDP: a datagram with command 200 between two VERSIONs */
	m.n = 0;
	ca_hdr(&m, CA_PROTO_VERSION, 0, 1, 13, 0, 0);
	ca_hdr(&m, 200, 8, 0, 0, 0, 0);
	ca_bytes(&m, 0, 8);
	ca_hdr(&m, CA_PROTO_VERSION, 0, 1, 13, 0, 0);
	add_frame(&b, &plain, 17, CLI_IP, 50008, SRV_IP, CA_PORT, 0, 0, m.b, m.n);
	run_user(&b, &u);
	check(u.n == 3 && json_has(&u.m[1], "UnknownCommand") && !u.m[2].flags, cls, "decoder",
	      "UDP command 200: decoded as UnknownCommand, the datagram's next message too (%d messages)", u.n);
	run_hooks(cls, &b);
	EACH_HOOK(h, k)
		check(k->n == 3 && k->r[1].cmd == 200, cls, h->name,
		      "UDP command 200: three records (%d)", k->n);
}

static void class_zero_length_segments(void)
{
	const char *cls = "zero-length-segments";
	struct frames a = { .n = 0 };
	struct ca m = { .n = 0 };
	struct circ ck;
	struct ures u;

	circ_open(&a, &ck, 40008);
	circ_req(&a, &ck, NULL, 0, 0x10);   /* the handshake's ACK */
	ca_hdr(&m, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	circ_req(&a, &ck, m.b, m.n, 0x18);
	circ_req(&a, &ck, NULL, 0, 0x18);   /* PSH without data */
	ck.cseq += 100000;                  /* far ahead, no data: no hole */
	circ_req(&a, &ck, NULL, 0, 0x10);
	ck.cseq -= 200000;                  /* far behind */
	circ_req(&a, &ck, NULL, 0, 0x10);
	ck.cseq += 100000;
	m.n = 0;
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 1, 1);
	circ_req(&a, &ck, m.b, m.n, 0x18);
	circ_req(&a, &ck, NULL, 0, 0x11);
	run_user(&a, &u);
	check(u.n == 3 && !count_flag(&u, ~0u) && u.resyncs == 0, cls, "decoder",
	      "empty segments anywhere: the 3 messages, none flagged, no resync (%d messages, %llu resyncs)",
	      u.n, (unsigned long long)u.resyncs);
	run_hooks(cls, &a);
	EACH_HOOK(h, k)
		check(k->n == 3 && k->d.gaps == 0 && k->d.resyncs == 0, cls, h->name,
		      "empty segments anywhere: the 3 records, no gap, no resync (%d records)", k->n);
}

static void class_segment_inside_payload(void)
{
	const char *cls = "segment-inside-payload";
	struct frames a = { .n = 0 }, b = { .n = 0 };
	struct ca m = { .n = 0 };
	struct circ ck = { 40009, 5000, 70000 };
	struct ures u;

	/* (a) no SYN: the capture joins 10 bytes into a 64-byte payload,
	 * then three ECHOs; the next segment starts on a header */
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 64, DBR_CHAR, 64, 1, 2);
	ca_bytes(&m, 0xA5, 64);
	ca_hdr(&m, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 1, 3);
	ca_hdr(&m, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 1, 0x100);
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, 1, 5);
	ca_bytes(&m, 0x3F, 8);
	ck.sseq += 26;
	circ_rsp(&a, &ck, m.b + 26, m.n - 26, 0x18);
	m.n = 0;
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, 1, 3);
	ca_bytes(&m, 0, 8);
	circ_rsp(&a, &ck, m.b, m.n, 0x18);
	run_user(&a, &u);
	check(u.n == 5 && (u.m[0].flags & CA_MSG_RESYNC) && u.m[0].h.cmd == CA_PROTO_ACCESS_RIGHTS &&
	      u.m[4].h.cmd == CA_PROTO_READ_NOTIFY && u.resyncs == 1, cls, "decoder",
	      "joined inside a payload: the rest skipped, resync counted, the 5 messages after found (%d messages)", u.n);
	run_hooks(cls, &a);
	EACH_HOOK(h, k)
		check(k->n == 2 && k->r[0].resync && k->r[0].cmd == CA_PROTO_ECHO &&
		      k->r[1].cmd == CA_PROTO_READ_NOTIFY && k->d.resyncs == 1, cls, h->name,
		      "joined inside a payload: that segment skipped, sync found at the next (%d records)", k->n);

	/* (b) with the SYN: a retransmission that starts inside a payload
	 * already seen and brings new bytes after it */
	circ_open(&b, &ck, 40010);
	m.n = 0;
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 64, DBR_CHAR, 64, 1, 2);
	ca_bytes(&m, 'q', 64);
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, 1, 3);
	ca_bytes(&m, 0, 8);
	add_frame(&b, &plain, 6, SRV_IP, CA_PORT, CLI_IP, ck.cport, ck.sseq, 0x18, m.b, 50);
	add_frame(&b, &plain, 6, SRV_IP, CA_PORT, CLI_IP, ck.cport, ck.sseq + 30, 0x18,
		  m.b + 30, m.n - 30);
	run_user(&b, &u);
	check(u.n == 3 && !count_flag(&u, ~0u) && u.resyncs == 0, cls, "decoder",
	      "overlapping retransmission from inside a payload: the 3 messages, none flagged (%d messages)", u.n);
	run_hooks(cls, &b);
	EACH_HOOK(h, k)
		check(k->n == 3 && k->d.resyncs == 0, cls, h->name,
		      "overlapping retransmission from inside a payload: the 3 records (%d)", k->n);
}

static void class_ipv4_ihl(void)
{
	const char *cls = "ipv4-ihl";
	static const int ihls[] = { 4, IHL_ZERO, 15, 15, 15, 6 };
	static const int tots[] = { 0, 0, 44, 0, 200, 0 };
	static const char *const what[] = {
		"IHL 4 (below 5)", "IHL 0", "IHL 15, the total length shorter than it",
		"IHL 15, beyond the packet", "IHL 15, total length beyond the frame",
		"IHL 6 (options; well-formed)",
	};
	struct ca m = { .n = 0 };
	unsigned i;

	ca_hdr(&m, CA_PROTO_VERSION, 0, 1, 13, 0, 0);
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	for (i = 0; i < sizeof(ihls) / sizeof(ihls[0]); i++) {
		struct frames a = { .n = 0 };
		struct shape sh = plain;
		bool good = ihls[i] == 6;
		struct ures u;

		sh.ihl = ihls[i];
		sh.opt_bytes = good ? 4 : 0;
		sh.tot = tots[i];
		add_frame(&a, &sh, 17, CLI_IP, (uint16_t)(50010 + i), SRV_IP, CA_PORT, 0, 0,
			  m.b, m.n);
		run_user(&a, &u);
		if (good)
			check(u.n == 2 && u.st.bad_headers == 0, cls, "decoder", "%s: both messages (%d)", what[i], u.n);
		else
			check(u.n == 0 && u.st.bad_headers == 1, cls, "decoder",
			      "%s: no message, one broken header counted (%d messages, %llu broken)",
			      what[i], u.n, (unsigned long long)u.st.bad_headers);
		run_hooks(cls, &a);
	EACH_HOOK(h, k) {
			if (good)
				check(k->n == 2 && k->d.parse_errors == 0, cls, h->name,
				      "%s: both records (%d)", what[i], k->n);
			else
				check(k->n == 0 && k->d.parse_errors == 1, cls, h->name,
				      "%s: no record, a parse error counted (%d records, %llu errors)",
				      what[i], k->n, (unsigned long long)k->d.parse_errors);
		}
	}
}

static void class_vlan_chain(void)
{
	const char *cls = "vlan-chain";
	struct ca m = { .n = 0 };
	struct frames a = { .n = 0 }, b = { .n = 0 }, c = { .n = 0 }, d = { .n = 0 };
	struct shape three = plain, two = plain, arp = plain;
	uint8_t cut[18];
	struct ures u;

	ca_hdr(&m, CA_PROTO_VERSION, 0, 1, 13, 0, 0);
	/* (a) three tags */
	three.nvlan = 3;
	three.tpid[0] = 0x88A8;
	three.tpid[1] = 0x8100;
	three.tpid[2] = 0x8100;
	add_frame(&a, &three, 17, CLI_IP, 50020, SRV_IP, CA_PORT, 0, 0, m.b, m.n);
	run_user(&a, &u);
	check(u.n == 0 && u.st.bad_headers == 1, cls, "decoder",
	      "three VLAN tags: no message, one broken header counted (%d)", u.n);
	run_hooks(cls, &a);
	EACH_HOOK(h, k)
		check(k->n == 0 && k->d.parse_errors == 1, cls, h->name,
		      "three VLAN tags: a parse error counted (%d records, %llu errors)",
		      k->n, (unsigned long long)k->d.parse_errors);
	/* (b) a tag cut off by the end of the frame */
	memcpy(cut, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x81\x00\x00\x64\x81\x00", 18);
	add_raw(&b, cut, sizeof(cut));
	run_user(&b, &u);
	check(u.n == 0 && u.st.bad_headers == 1, cls, "decoder",
	      "second tag cut off: one broken header counted (%llu)", (unsigned long long)u.st.bad_headers);
	run_hooks(cls, &b);
	EACH_HOOK(h, k)
		check(k->n == 0 && k->d.parse_errors == 1, cls, h->name,
		      "second tag cut off: a parse error counted (%llu)", (unsigned long long)k->d.parse_errors);
	/* (c) two tags (QinQ): well-formed */
	two.nvlan = 2;
	two.tpid[0] = 0x88A8;
	two.tpid[1] = 0x8100;
	add_frame(&c, &two, 17, CLI_IP, 50021, SRV_IP, CA_PORT, 0, 0, m.b, m.n);
	run_user(&c, &u);
	check(u.n == 1 && !u.m[0].flags, cls, "decoder", "two tags: decoded (%d)", u.n);
	run_hooks(cls, &c);
	EACH_HOOK(h, k)
		check(k->n == 1 && k->d.parse_errors == 0, cls, h->name, "two tags: a record (%d)", k->n);
	/* (d) a tag around something that is not IPv4 */
	arp.nvlan = 1;
	arp.tpid[0] = 0x8100;
	arp.inner_type = 0x0806;
	add_frame(&d, &arp, 17, CLI_IP, 50022, SRV_IP, CA_PORT, 0, 0, m.b, m.n);
	run_user(&d, &u);
	check(u.n == 0 && u.st.bad_headers == 0 && u.st.ca_packets == 0, cls, "decoder",
	      "tagged non-IPv4: passed over, nothing counted as broken");
	run_hooks(cls, &d);
	EACH_HOOK(h, k)
		check(k->n == 0 && k->d.parse_errors == 0 && k->d.pkts_ca == 0, cls, h->name,
		      "tagged non-IPv4: passed over, no parse error");
}

/* ---- main ---------------------------------------------------------------- */

static int libbpf_quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	if (l == LIBBPF_WARN)
		return vfprintf(stderr, f, ap);
	return 0;
}

int main(void)
{
	int i;

	if (geteuid() != 0) {
		printf("SKIP: hostile: BPF_PROG_TEST_RUN needs root\n");
		return 77;
	}
	libbpf_set_print(libbpf_quiet);
	hooks[0].name = "kernel xdp";
	hooks[1].name = "kernel tc";
	for (i = 0; i < 2; i++) {
		/* Separate objects: separate flow state, as two hooks on two
		 * interfaces would have. */
		hooks[i].skel = catrace_bpf__open_and_load();
		if (!hooks[i].skel) {
			printf("FAIL: hostile: loading the BPF programs (verifier): %s\n", strerror(errno));
			return 1;
		}
		hooks[i].prog_fd = bpf_program__fd(i == 0 ? hooks[i].skel->progs.catrace_xdp
							  : hooks[i].skel->progs.catrace_tc_egress);
		hooks[i].pass_retval = i == 0 ? XDP_PASS_ : TC_ACT_UNSPEC_;
		hooks[i].rb = ring_buffer__new(bpf_map__fd(hooks[i].skel->maps.events),
					       on_record_cur, NULL, NULL);
		if (!hooks[i].rb) {
			printf("FAIL: hostile: ring buffer: %s\n", strerror(errno));
			return 1;
		}
	}
	printf("PASS: hostile: the XDP and tc programs load (verifier accepts them)\n");
	npass++;

	class_truncated_header();
	class_payload_beyond();
	class_extended_size();
	class_count_overflow();
	class_pv_name();
	class_unknown_command();
	class_zero_length_segments();
	class_segment_inside_payload();
	class_ipv4_ihl();
	class_vlan_chain();

	for (i = 0; i < 2; i++) {
		ring_buffer__free(hooks[i].rb);
		catrace_bpf__destroy(hooks[i].skel);
	}
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
