/* bpf_hostile: hostile packets, class by class (issue 7), through both of
 * catrace's paths: the user-space decoder as `catrace -r` runs it
 * (pipeline_frame), and the BPF programs (XDP and tc, with
 * BPF_PROG_TEST_RUN, flow state kept between packets as on a live
 * interface) whose records the live path decodes (record_parse, then
 * pipeline_segment into the same framers and decoder).
 *
 * Every class is a few crafted Ethernet frames.  What must hold for each:
 *   - both programs run every frame and pass it on unchanged (XDP_PASS /
 *     TC_ACT_UNSPEC), and nothing crashes, hangs or grows without bound;
 *   - every record they send parses (REC_OK), none is refused, the
 *     kernel's message boundaries never disagree with the framer's, no
 *     bytes are reported lost;
 *   - where the kernel sees the bytes, the messages the live path decodes
 *     equal those the offline decoder reports for the same frames, field
 *     for field (header, flags, and the whole JSON line, time and frame
 *     number aside), in order on every flow direction; where it cannot
 *     (broken link or IPv4 headers, IP/UDP lengths past the packet), no
 *     record and a parse error counted;
 *   - the decoder's own verdict (malformed, truncated, resync) and the
 *     kernel's counters (parse errors, resyncs, gaps, messages counted) as
 *     the class wants them.
 * The classes, by the names the lines below start with:
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
 *   bad-checksum            a decoy with a wrong TCP checksum before the real
 *                           segment (issue 14): dropped as the stack drops it
 *   chance-checksum         one right sum among zeros: nothing dropped
 *   forged-announcement     a beacon naming a non-CA port (issue 14): only
 *                           that port's flows opening with VERSION are CA;
 *                           unconfirmed entries expire; confirmed ones
 *                           make every flow CA
 *
 * Usage: bpf_hostile    prints PASS:/FAIL: lines; exit 0/1, 77 without root
 *        BPF_HOSTILE_DEBUG=1 also prints every record and message
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "catrace.skel.h"
#include "catrace_record.h"
#include "kstats.h"
#include "learned_live.h"
#include "loader.h"
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
	int frag;             /* IPv4 flags and fragment offset; 0: DF */
};

#define IHL_ZERO 100

static const struct shape plain;

/* TCP frames get a right checksum while set (the bad-checksum class);
 * otherwise they carry zero, which no direction takes as a right one. */
static bool fill_tcp_csum;

/* RFC 1071 over the pseudo-header and the segment (field zeroed). */
static uint16_t tcp_csum(const uint8_t *seg, uint32_t n, uint32_t src, uint32_t dst)
{
	uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + n, i;

	for (i = 0; i + 1 < n; i += 2)
		if (i != 16)
			sum += (uint32_t)(seg[i] << 8 | seg[i + 1]);
	if (n & 1)
		sum += (uint32_t)seg[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

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
	put16(f->d + off + 6, sh->frag ? (unsigned)sh->frag : 0x4000);
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
	if (proto == 6 && fill_tcp_csum)
		put16(f->d + l4 + 16, tcp_csum(f->d + l4, l4len + plen, src, dst));
}

/* Two IPv4 fragments of frame `w` (Ethernet, no tags, IPv4 without
 * options): its IP payload cut after `at` bytes (a multiple of 8);
 * `reversed` sends the second first.  `ip_id` tells datagrams apart. */
static void split_fragments(struct frames *fs, const struct frm *w, uint32_t at, bool reversed,
			    uint16_t ip_id)
{
	const uint32_t ip = 14, l4 = ip + 20;
	struct frm a, b;

	memcpy(&a, w, sizeof(a));
	memcpy(&b, w, sizeof(b));
	a.len = a.cap = l4 + at;
	put16(a.d + ip + 2, 20 + at);
	put16(a.d + ip + 4, ip_id);
	put16(a.d + ip + 6, 0x2000);          /* MF, offset 0 */
	memmove(b.d + l4, w->d + l4 + at, w->len - l4 - at);
	b.len = b.cap = w->len - at;
	put16(b.d + ip + 2, b.len - ip);
	put16(b.d + ip + 4, ip_id);
	put16(b.d + ip + 6, at / 8);          /* the last one */
	fs->f[fs->n++] = reversed ? b : a;
	fs->f[fs->n++] = reversed ? a : b;
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
	uint16_t sport;      /* the server's */
	uint32_t cseq, sseq;
};

static void circ_open_to(struct frames *fs, struct circ *k, uint16_t port, uint16_t srv_port)
{
	k->cport = port;
	k->sport = srv_port;
	k->cseq = 1000;
	k->sseq = 90000;
	add_frame(fs, &plain, 6, CLI_IP, port, SRV_IP, srv_port, k->cseq++, 0x02, NULL, 0);
	add_frame(fs, &plain, 6, SRV_IP, srv_port, CLI_IP, port, k->sseq++, 0x12, NULL, 0);
}

static void circ_open(struct frames *fs, struct circ *k, uint16_t port)
{
	circ_open_to(fs, k, port, CA_PORT);
}

static void circ_req(struct frames *fs, struct circ *k, const uint8_t *d, uint32_t n,
		     uint8_t flags)
{
	add_frame(fs, &plain, 6, CLI_IP, k->cport, SRV_IP, k->sport, k->cseq, flags, d, n);
	k->cseq += n;
}

static void circ_rsp(struct frames *fs, struct circ *k, const uint8_t *d, uint32_t n,
		     uint8_t flags)
{
	add_frame(fs, &plain, 6, SRV_IP, k->sport, CLI_IP, k->cport, k->sseq, flags, d, n);
	k->sseq += n;
}

/* ---- decoded messages (both paths) -------------------------------------- */

#define MAX_MSGS 64

struct umsg {
	struct flow_key key;
	struct ca_hdr h;
	bool tcp;
	enum ca_dir dir;
	unsigned flags;
	size_t payload_len;
	size_t pv_len;       /* 0: no name */
	char *json;          /* time and frame number zeroed */
	size_t json_len;
};

/* What one path decoded from one class's frames. */
struct ures {
	struct umsg m[MAX_MSGS];
	int n;
	int overflow;        /* messages past MAX_MSGS */
	struct pipeline_stats st;
	struct flow_stats fs;
	uint64_t resyncs;
	uint64_t learned_refused, learned_admitted;
	struct pipeline *pl; /* while decoding */
};

static bool debug;

static void ures_reset(struct ures *u)
{
	int i;

	for (i = 0; i < u->n; i++)
		free(u->m[i].json);
	memset(u, 0, sizeof(*u));
}

static void msg_hook(void *ctx, const struct flow_key *k, const struct msg_ctx *c,
		     const struct ca_msg *m)
{
	struct ures *u = ctx;
	struct msg_ctx cc = *c;
	struct umsg *x;
	struct sbuf sb;

	if (u->n >= MAX_MSGS) {
		u->overflow++;
		return;
	}
	x = &u->m[u->n++];
	x->key = *k;
	x->h = m->h;
	x->tcp = m->tcp;
	x->dir = m->dir;
	x->flags = m->flags;
	x->payload_len = m->payload_len;
	x->pv_len = c->pv ? c->pv_len : 0;
	/* Time and frame number differ between live and offline by nature. */
	cc.ts_ns = 0;
	cc.frame = 0;
	sbuf_init(&sb);
	output_format(&u->pl->out, &sb, &cc, m);
	x->json = strdup(sbuf_str(&sb));
	x->json_len = sb.len;
	sbuf_free(&sb);
	if (!x->json) {
		fprintf(stderr, "bpf_hostile: out of memory\n");
		exit(1);
	}
}

static void decoder_start(struct pipeline *pl, struct ures *u)
{
	ures_reset(u);
	pipeline_init(pl, stdout);
	pl->out.style = OUT_JSON;
	/* The kernel does not recognise circuits by content: neither here. */
	pl->detect_circuits = false;
	pl->hook = msg_hook;
	pl->hook_ctx = u;
	pl->hook_only = true;
	u->pl = pl;
}

static void decoder_end(struct pipeline *pl, struct ures *u)
{
	int i;

	pipeline_finish(pl);
	u->st = pl->st;
	u->fs = pl->flows.stats;
	u->resyncs = pipeline_resyncs(pl);
	u->learned_refused = pl->cls.learned_refused;
	u->learned_admitted = pl->cls.learned_admitted;
	pipeline_free(pl);
	u->pl = NULL;
	if (debug)
		for (i = 0; i < u->n; i++)
			fprintf(stderr, "    msg %d: %s\n", i, u->m[i].json);
}

/* The offline decoder: `catrace -r` on the frames. */
static void run_user(const struct frames *fs, struct ures *u)
{
	static struct pipeline pl;
	int i;

	if (debug)
		fprintf(stderr, "  offline:\n");
	decoder_start(&pl, u);
	for (i = 0; i < fs->n; i++) {
		struct frame f = { 1700000000000000000ull + (uint64_t)i * 1000, fs->f[i].d,
				   fs->f[i].cap, fs->f[i].len, (uint64_t)i + 1 };

		pipeline_frame(&pl, 1 /* DLT_EN10MB */, &f);
	}
	decoder_end(&pl, u);
}

/* ---- the kernel --------------------------------------------------------- */

/* A record as it came. */
struct krec {
	uint8_t flags;      /* REC_F_* */
	uint8_t proto;
	uint8_t tcp_flags;
	uint16_t n_spans;
	uint32_t seq, len;
	uint32_t span_bytes;
};

struct kres {
	struct krec r[MAX_MSGS];
	int nrec;
	int nfrag;              /* fragment packet records */
	struct ures live;       /* what the live path decoded from the records */
	struct ca_counters d;   /* counters added by these frames */
	int not_passed;         /* frames the program did not pass on unchanged */
	int run_errors;
	uint32_t bad_retval;
	int bad_records;
	enum rec_result first_bad;
};

struct hook {
	const char *name;       /* "kernel xdp", "kernel tc" */
	struct catrace_bpf *skel;
	int prog_fd;
	uint32_t pass_retval;
	struct ring_buffer *rb;
};

/* The ring buffers deliver into whichever result is being filled. */
static struct kres *cur_kres;

static int on_record(void *ctx, void *data, size_t size)
{
	static struct rec_info ri;
	struct kres *k = cur_kres;
	enum rec_result r = record_parse(data, size, &ri);
	struct krec *x;
	unsigned i;

	(void)ctx;
	if (!k || !k->live.pl)
		return 0;  /* left from an earlier class: not decoded */
	if (r != REC_OK) {
		if (k->bad_records++ == 0)
			k->first_bad = r;
		return 0;
	}
	if (ri.packet) {
		/* A fragment of CA traffic: put back together as live does. */
		if (ri.fragment) {
			k->nfrag++;
			pipeline_fragment(k->live.pl, ri.pkt, ri.pkt_caplen, 1);
		}
		return 0;
	}
	if (k->nrec < MAX_MSGS) {
		const struct ca_seg_record *raw = data;

		x = &k->r[k->nrec++];
		x->flags = raw->flags;
		x->proto = raw->proto;
		x->tcp_flags = raw->tcp_flags;
		x->n_spans = raw->n_spans;
		x->seq = raw->seq;
		x->len = raw->len;
		x->span_bytes = 0;
		for (i = 0; i < ri.seg.n; i++)
			x->span_bytes += ri.spans[i].len;
		if (debug)
			fprintf(stderr, "    record: proto %u flags %#x tcp %#x seq %u len %u, %u spans, %u bytes\n",
				x->proto, x->flags, x->tcp_flags, x->seq, x->len, x->n_spans,
				x->span_bytes);
	}
	pipeline_segment(k->live.pl, &ri, 1);
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
	static struct pipeline pl;
	struct ca_counters before, after;
	const uint64_t *b = (const uint64_t *)&before, *a = (const uint64_t *)&after;
	uint64_t *d = (uint64_t *)&k->d;
	size_t i;
	int f;

	_Static_assert(sizeof(struct ca_counters) % sizeof(uint64_t) == 0,
		       "ca_counters: all u64");
	cur_kres = NULL;
	ring_buffer__consume(h->rb);  /* nothing of an earlier class */
	ures_reset(&k->live);
	memset(k, 0, sizeof(*k));
	cur_kres = k;
	if (debug)
		fprintf(stderr, "  %s:\n", h->name);
	decoder_start(&pl, &k->live);
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	kstats_counters(bpf_map__fd(h->skel->maps.counters), &before);
	for (f = 0; f < fs->n; f++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fs->f[f].d,
			    .data_size_in = fs->f[f].cap, .repeat = 1);

		if (bpf_prog_test_run_opts(h->prog_fd, &o)) {
			k->run_errors++;
			continue;
		}
		if (o.retval != h->pass_retval) {
			k->not_passed++;
			k->bad_retval = o.retval;
		}
		/* Records are decoded packet by packet, as catrace reads them. */
		ring_buffer__consume(h->rb);
	}
	ring_buffer__consume(h->rb);
	decoder_end(&pl, &k->live);
	kstats_counters(bpf_map__fd(h->skel->maps.counters), &after);
	for (i = 0; i < sizeof(after) / sizeof(uint64_t); i++)
		d[i] = a[i] - b[i];
	cur_kres = NULL;
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

/* The flags the output shows; CA_MSG_BIG says how much was kept, which
 * the copy budget may change without changing what is shown. */
#define SHOWN_FLAGS (CA_MSG_TRUNCATED | CA_MSG_MALFORMED | CA_MSG_RESYNC)

static bool same_msg(const struct umsg *a, const struct umsg *b)
{
	return a->h.cmd == b->h.cmd && a->h.dtype == b->h.dtype && a->h.size == b->h.size &&
	       a->h.count == b->h.count && a->h.p1 == b->h.p1 && a->h.p2 == b->h.p2 &&
	       a->h.hdr_len == b->h.hdr_len && a->h.extended == b->h.extended &&
	       (a->flags & SHOWN_FLAGS) == (b->flags & SHOWN_FLAGS) &&
	       a->pv_len == b->pv_len && !strcmp(a->json, b->json);
}

static bool same_dir(const struct umsg *a, const struct umsg *b)
{
	return a->dir == b->dir && a->tcp == b->tcp && !memcmp(&a->key, &b->key, sizeof(a->key));
}

/* Live against offline, flow direction by flow direction, in order (the
 * interleaving of directions may differ).  Prints the differences; returns
 * how many there are. */
static int compare(const char *cls, const char *side, const struct ures *u,
		   const struct ures *l)
{
	bool used[MAX_MSGS] = { false };
	int i, j, fails = 0;

	if (u->overflow || l->overflow) {
		printf("  %s: %s: more than %d messages\n", cls, side, MAX_MSGS);
		return 1;
	}
	for (i = 0; i < u->n; i++) {
		const struct umsg *a = &u->m[i], *b = NULL;

		for (j = 0; j < l->n; j++) {
			if (used[j] || !same_dir(&l->m[j], a))
				continue;
			b = &l->m[j];
			break;
		}
		if (!b) {
			if (fails++ < 6)
				printf("  %s: %s: no live message for offline %s\n", cls, side, a->json);
			continue;
		}
		used[j] = true;
		if (!same_msg(a, b) && fails++ < 6)
			printf("  %s: %s: message %d differs (flags %#x / %#x):\n    offline %s\n    live    %s\n",
			       cls, side, i, a->flags, b->flags, a->json, b->json);
	}
	for (j = 0; j < l->n; j++)
		if (!used[j] && fails++ < 6)
			printf("  %s: %s: live message the offline decoder lacks: %s\n", cls, side,
			       l->m[j].json);
	return fails;
}

/* What every kernel run must show, whatever the class. */
/* Holes the class's frames make on purpose (a segment sent after a later
 * one): the kernel reports each as lost when the later one comes. */
static unsigned holes_expected;

static void kernel_basics(const char *cls, const char *what, const struct hook *h,
			  const struct kres *k, int frames)
{
	check(k->run_errors == 0 && k->not_passed == 0, cls, h->name,
	      "%s: all %d frames run and passed on unchanged (%d errors, %d not passed, retval %#x)",
	      what, frames, k->run_errors, k->not_passed, k->bad_retval);
	check(k->bad_records == 0 && k->d.ringbuf_drops == 0 && k->d.msgs_dropped == 0 &&
	      k->live.fs.live_disagreed == 0 && k->live.fs.live_lost == holes_expected &&
	      msgs_counted(&k->d) <= (uint64_t)k->live.n, cls, h->name,
	      "%s: %d records, all well-formed, none refused; framing never disagrees, nothing lost; "
	      "%llu messages counted, all decoded (%d bad: %s, %llu refused, %llu disagreements, %llu lost, %d decoded)",
	      what, k->nrec, (unsigned long long)msgs_counted(&k->d), k->bad_records,
	      k->bad_records ? record_result_str(k->first_bad) : "-",
	      (unsigned long long)k->d.ringbuf_drops, (unsigned long long)k->live.fs.live_disagreed,
	      (unsigned long long)k->live.fs.live_lost, k->live.n);
}

/* What the kernel sees of a class's frames. */
enum seen {
	SEES_ALL,    /* every byte: live must equal offline */
	SEES_NONE,   /* nothing it can parse: no record, nothing decoded */
	SEES_OWN,    /* the class says (the kernel parses what the decoder refuses) */
};

/* The frames through both programs; kr[i] holds what hooks[i] did. */
static struct kres kr[2];

static void run_hooks(const char *cls, const char *what, const struct frames *fs,
		      enum seen seen, const struct ures *u)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct kres *k = &kr[i];

		run_kernel(&hooks[i], fs, k);
		kernel_basics(cls, what, &hooks[i], k, fs->n);
		if (seen == SEES_ALL)
			check(u->n > 0 && compare(cls, hooks[i].name, u, &k->live) == 0, cls,
			      hooks[i].name, "%s: live decodes what the decoder decodes, field for field (%d offline, %d live)",
			      what, u->n, k->live.n);
		else if (seen == SEES_NONE)
			check(k->nrec == 0 && k->live.n == 0, cls, hooks[i].name,
			      "%s: the kernel cannot parse it: no record, nothing decoded (%d records, %d messages)",
			      what, k->nrec, k->live.n);
	}
}

/* For each program: h its hook (h->name), k what it did. */
#define EACH_HOOK(h, k)                                                   \
	for (int i_ = 0; i_ < 2; i_++)                                     \
		for (const struct hook *h = &hooks[i_]; h; h = NULL)       \
			for (const struct kres *k = &kr[i_]; k; k = NULL)

/* Live message i (NULL: none), for checks on what the live path made of
 * the kernel's bytes. */
static const struct umsg *lm(const struct kres *k, int i)
{
	return i < k->live.n ? &k->live.m[i] : NULL;
}

/* ---- the classes --------------------------------------------------------- */

/* A segment that comes after a later one (reordered on the way, or an
 * attacker delaying it): the kernel reported its bytes as a hole; when
 * they come they are not a retransmission.  A WRITE sent so must not
 * vanish from the live audit (issue 14): live decodes the same messages
 * as offline (which reorders them), the late one framed on its own. */
static void class_late_segment(void)
{
	const char *cls = "late-segment";
	static struct frames a;
	struct ca m1 = { .n = 0 }, m2 = { .n = 0 }, m3 = { .n = 0 };
	struct circ ck;
	static struct ures u;
	uint32_t start;
	int j;

	a.n = 0;
	circ_open(&a, &ck, 40031);
	ca_hdr(&m1, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 7, 1);
	ca_hdr(&m2, CA_PROTO_WRITE, 8, DBR_DOUBLE, 1, 7, 2);
	ca_bytes(&m2, 'w', 8);
	ca_hdr(&m3, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 7, 3);
	start = ck.cseq;
	circ_req(&a, &ck, m1.b, m1.n, 0x08);
	/* m3 first, then m2 (its bytes before m3's) */
	ck.cseq = start + m1.n + m2.n;
	circ_req(&a, &ck, m3.b, m3.n, 0x08);
	ck.cseq = start + m1.n;
	circ_req(&a, &ck, m2.b, m2.n, 0x08);
	run_user(&a, &u);
	check(u.n == 3 && u.m[1].h.cmd == CA_PROTO_WRITE, cls, "decoder",
	      "the WRITE sent after a later segment: offline puts it back in order (%d messages)", u.n);
	holes_expected = 1;   /* m3 before m2: a hole until m2 comes */
	run_hooks(cls, "late WRITE", &a, SEES_OWN, &u);
	holes_expected = 0;
	EACH_HOOK(h, k) {
		bool write_seen = false;

		for (j = 0; j < k->live.n; j++)
			if (lm(k, j)->h.cmd == CA_PROTO_WRITE && lm(k, j)->h.p2 == 2 &&
			    !(lm(k, j)->flags & (CA_MSG_TRUNCATED | CA_MSG_MALFORMED)))
				write_seen = true;
		check(k->live.n == 3 && write_seen && k->d.retransmits == 0, cls, h->name,
		      "the late WRITE is decoded live, whole, not taken for a retransmission "
		      "(%d messages, %llu retransmits)", k->live.n,
		      (unsigned long long)k->d.retransmits);
	}
}

/* A decoy with a wrong TCP checksum at the real segment's sequence number,
 * then the real one (issue 14): the receiving stack drops the decoy and
 * applies the real WRITE.  Both paths must decode the real one, not the
 * decoy, and not take the real one for a retransmission.  Checked on the
 * hooks that see packets coming in (XDP, tc ingress); tc egress sees this
 * host's own stack, whose checksums are not summed. */
static void class_bad_checksum(void)
{
	const char *cls = "bad-checksum";
	static struct frames a;
	struct ca m1 = { .n = 0 }, decoy = { .n = 0 }, real = { .n = 0 }, m3 = { .n = 0 };
	struct hook in[2];
	static struct kres k;   /* run_kernel frees what it held: start zeroed */
	struct circ ck;
	static struct ures u;
	const char *want = "2222.5", *fake = "1111.5";
	uint8_t v[8];
	uint64_t bits;
	double d;
	int i, j, writes, real_seen;

	a.n = 0;
	fill_tcp_csum = true;
	circ_open(&a, &ck, 40041);
	ca_hdr(&m1, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 7, 1);
	ca_hdr(&decoy, CA_PROTO_WRITE, 8, DBR_DOUBLE, 1, 7, 2);
	ca_hdr(&real, CA_PROTO_WRITE, 8, DBR_DOUBLE, 1, 7, 2);
	d = 1111.5;
	memcpy(&bits, &d, 8);
	for (j = 0; j < 8; j++)
		v[j] = (uint8_t)(bits >> (56 - 8 * j));
	memcpy(decoy.b + decoy.n, v, 8);
	decoy.n += 8;
	d = 2222.5;
	memcpy(&bits, &d, 8);
	for (j = 0; j < 8; j++)
		v[j] = (uint8_t)(bits >> (56 - 8 * j));
	memcpy(real.b + real.n, v, 8);
	real.n += 8;
	ca_hdr(&m3, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 7, 3);
	/* The SYN and two requests with right sums: the direction is
	 * verified (CA_CSUM_RUN in a row). */
	circ_req(&a, &ck, m1.b, m1.n, 0x08);
	m1.b[m1.n - 1] = 9;   /* another ioid */
	circ_req(&a, &ck, m1.b, m1.n, 0x08);
	circ_req(&a, &ck, decoy.b, decoy.n, 0x08);
	a.f[a.n - 1].d[a.f[a.n - 1].len - 1] ^= 0x01;  /* the value changed after summing */
	ck.cseq -= decoy.n;
	circ_req(&a, &ck, real.b, real.n, 0x08);
	circ_req(&a, &ck, m3.b, m3.n, 0x08);
	fill_tcp_csum = false;

	run_user(&a, &u);
	for (j = 0, writes = 0, real_seen = 0; j < u.n; j++)
		if (u.m[j].h.cmd == CA_PROTO_WRITE) {
			writes++;
			real_seen += u.m[j].json && strstr(u.m[j].json, want) &&
				     !strstr(u.m[j].json, fake);
		}
	check(u.n == 4 && writes == 1 && real_seen == 1 && u.fs.bad_checksum == 1 &&
	      u.fs.retransmitted == 0, cls, "decoder",
	      "the decoy is dropped as the stack drops it, the real WRITE decoded "
	      "(%d messages, %d writes, real value %s, %llu bad checksums, %llu retransmissions)",
	      u.n, writes, real_seen ? "shown" : "not shown",
	      (unsigned long long)u.fs.bad_checksum, (unsigned long long)u.fs.retransmitted);

	in[0] = hooks[0];
	in[1] = hooks[1];
	in[1].name = "kernel tc ingress";
	in[1].prog_fd = bpf_program__fd(hooks[1].skel->progs.catrace_tc_ingress);
	for (i = 0; i < 2; i++) {
		run_kernel(&in[i], &a, &k);
		kernel_basics(cls, "decoy then real WRITE", &in[i], &k, a.n);
		for (j = 0, writes = 0, real_seen = 0; j < k.live.n; j++)
			if (k.live.m[j].h.cmd == CA_PROTO_WRITE) {
				writes++;
				real_seen += k.live.m[j].json && strstr(k.live.m[j].json, want) &&
					     !strstr(k.live.m[j].json, fake);
			}
		check(k.live.n == 4 && writes == 1 && real_seen == 1 && k.d.bad_checksum == 1 &&
		      k.d.retransmits == 0 && compare(cls, in[i].name, &u, &k.live) == 0, cls,
		      in[i].name, "the decoy is dropped, the real WRITE decoded live as offline "
		      "(%d messages, %d writes, real value %s, %llu bad checksums, %llu retransmits)",
		      k.live.n, writes, real_seen ? "shown" : "not shown",
		      (unsigned long long)k.d.bad_checksum, (unsigned long long)k.d.retransmits);
		ures_reset(&k.live);
	}
}

/* A direction of zero checksums (a generator's, a capture's unfinished
 * ones) where one segment's sum is right by chance (once in 65536): the
 * direction is not taken as verified, so the zeros after it are not
 * dropped (the memory test's generated capture lost 138 of 7.6 M
 * messages so when one right sum was enough). */
static void class_chance_checksum(void)
{
	const char *cls = "chance-checksum";
	static struct frames a;
	struct ca m = { .n = 0 };
	struct circ ck;
	static struct ures u;
	int i;

	a.n = 0;
	circ_open(&a, &ck, 40051);
	for (i = 0; i < 4; i++) {
		m.n = 0;
		ca_hdr(&m, CA_PROTO_READ_NOTIFY, 0, DBR_DOUBLE, 1, 7, (uint32_t)(10 + i));
		fill_tcp_csum = i == 0;   /* the first right, the rest zero */
		circ_req(&a, &ck, m.b, m.n, 0x08);
	}
	fill_tcp_csum = false;
	run_user(&a, &u);
	check(u.n == 4 && u.fs.bad_checksum == 0, cls, "decoder",
	      "one right sum among zeros: nothing dropped (%d messages, %llu bad checksums)",
	      u.n, (unsigned long long)u.fs.bad_checksum);
	run_hooks(cls, "one right sum among zeros", &a, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->live.n == 4 && k->d.bad_checksum == 0, cls, h->name,
		      "one right sum among zeros: nothing dropped (%d messages, %llu bad checksums)",
		      k->live.n, (unsigned long long)k->d.bad_checksum);
}

/* More circuits than the kernel's table of stream states holds: the LRU
 * map pushes states out and says nothing; the counters of states taken
 * and let go, against what it holds, tell how many (issue 14). */
static void class_flow_table_full(void)
{
	const char *cls = "flow-table-full";
	static struct frames one;
	const uint32_t extra = 1000;
	int i;

	for (i = 0; i < 2; i++) {
		struct hook *h = &hooks[i];
		int flows_fd = bpf_map__fd(h->skel->maps.flows);
		uint32_t n, cap = bpf_map__max_entries(h->skel->maps.flows) + extra, errors = 0;
		struct ca_counters before, after;
		long held;
		long long evicted;

		kstats_counters(bpf_map__fd(h->skel->maps.counters), &before);
		for (n = 0; n < cap; n++) {
			one.n = 0;
			/* a SYN from another client address and port each time */
			add_frame(&one, &plain, 6, 0x0B000000u + n / 50000, (uint16_t)(1024 + n % 50000),
				  SRV_IP, CA_PORT, 1000, 0x02, NULL, 0);
			{
				LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = one.f[0].d,
					    .data_size_in = one.f[0].cap, .repeat = 1);

				if (bpf_prog_test_run_opts(h->prog_fd, &o))
					errors++;
			}
		}
		ring_buffer__consume(h->rb);
		kstats_counters(bpf_map__fd(h->skel->maps.counters), &after);
		held = kstats_count_entries(flows_fd);
		evicted = (long long)(after.flows_created - before.flows_created) -
			  (long long)(after.flows_ended - before.flows_ended) - held;
		check(errors == 0 && after.flows_created - before.flows_created == cap &&
		      held <= (long)bpf_map__max_entries(h->skel->maps.flows) && evicted >= extra,
		      cls, h->name, "%u new circuits into a table of %u: %llu taken, %ld held, "
		      "%lld evicted counted", cap, bpf_map__max_entries(h->skel->maps.flows),
		      (unsigned long long)(after.flows_created - before.flows_created), held, evicted);
	}
}

/* Bytes the records of the last run hold in spans, all together. */
static uint64_t span_bytes(const struct kres *k)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < k->nrec; i++)
		n += k->r[i].span_bytes;
	return n;
}

static void class_truncated_header(void)
{
	const char *cls = "truncated-header";
	struct frames a = { .n = 0 }, b = { .n = 0 }, c = { .n = 0 };
	struct ca m = { .n = 0 };
	struct circ ck;
	static struct ures u;
	struct shape cut = plain;

	/* (a) a datagram that ends 10 bytes into a header */
	ca_hdr(&m, CA_PROTO_VERSION, 0, 1, 13, 0, 0);
	add_frame(&a, &plain, 17, CLI_IP, 50001, SRV_IP, CA_PORT, 0, 0, m.b, 10);
	run_user(&a, &u);
	check(u.n == 1 && (u.m[0].flags & CA_MSG_MALFORMED) && u.m[0].h.hdr_len == 10,
	      cls, "decoder", "10-byte datagram: one message flagged malformed, 10 header bytes (%d messages)", u.n);
	run_hooks(cls, "10-byte datagram", &a, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 1 && k->r[0].span_bytes == 10 && k->d.parse_errors == 1 &&
		      msgs_counted(&k->d) == 0 && lm(k, 0) && (lm(k, 0)->flags & CA_MSG_MALFORMED) &&
		      lm(k, 0)->h.hdr_len == 10, cls, h->name,
		      "10-byte datagram: its 10 bytes in one record, a parse error counted, no message; "
		      "live flags it malformed with 10 header bytes (%d records, %llu errors)",
		      k->nrec, (unsigned long long)k->d.parse_errors);

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
	/* The kernel gets the captured bytes as the packet: its IP and UDP
	 * lengths run past it. */
	run_hooks(cls, "capture cut inside the 2nd header", &b, SEES_NONE, &u);
	EACH_HOOK(h, k)
		check(k->d.parse_errors == 1, cls, h->name,
		      "cut datagram (IP/UDP lengths past the packet): a parse error counted (%llu)",
		      (unsigned long long)k->d.parse_errors);

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
	run_hooks(cls, "stream ends inside a header", &c, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 2 && k->r[0].span_bytes == 26 && (k->r[1].tcp_flags & 0x01) &&
		      k->r[1].n_spans == 0 && msgs_counted(&k->d) == 1 && k->d.parse_errors == 1 &&
		      k->live.n == 2 && (lm(k, 1)->flags & CA_MSG_TRUNCATED) && lm(k, 1)->h.hdr_len == 10,
		      cls, h->name,
		      "stream ends inside a header: the ECHO and the 10 bytes, then the FIN (a record without spans), "
		      "a parse error counted; live flags the cut header truncated (%d records, %llu errors)",
		      k->nrec, (unsigned long long)k->d.parse_errors);
}

static void class_payload_beyond(void)
{
	const char *cls = "payload-beyond-packet";
	struct frames a = { .n = 0 }, b = { .n = 0 }, c = { .n = 0 }, d = { .n = 0 };
	struct ca m = { .n = 0 };
	struct shape sh = plain;
	struct circ ck;
	static struct ures u;

	/* (a) payload size 64, the datagram holds 8 of them */
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 64, DBR_CHAR, 64, 1, 2);
	ca_bytes(&m, 'x', 8);
	add_frame(&a, &plain, 17, SRV_IP, CA_PORT, CLI_IP, 50003, 0, 0, m.b, m.n);
	run_user(&a, &u);
	check(u.n == 1 && (u.m[0].flags & CA_MSG_MALFORMED) && u.m[0].payload_len == 8 &&
	      json_has(&u.m[0], "exceeds the datagram"), cls, "decoder",
	      "size 64 in a datagram with 8: flagged malformed, 8 payload bytes (%d messages)", u.n);
	run_hooks(cls, "size 64 in a datagram with 8", &a, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 1 && k->r[0].span_bytes == 24 && k->r[0].len == 24 &&
		      lm(k, 0) && (lm(k, 0)->flags & CA_MSG_MALFORMED) && lm(k, 0)->payload_len == 8,
		      cls, h->name,
		      "size 64 in a datagram with 8: one record with the datagram's 24 bytes, nothing more; "
		      "live flags it malformed, 8 payload bytes (%d records, %u bytes)",
		      k->nrec, k->nrec ? k->r[0].span_bytes : 0);

	/* (b) the capture has 24 of the datagram's 80 payload bytes */
	m.n = 0;
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 64, DBR_CHAR, 64, 1, 2);
	ca_bytes(&m, 'x', 64);
	sh.cut = 56;
	add_frame(&b, &sh, 17, SRV_IP, CA_PORT, CLI_IP, 50004, 0, 0, m.b, m.n);
	run_user(&b, &u);
	check(u.n == 1 && (u.m[0].flags & CA_MSG_TRUNCATED) && u.m[0].payload_len == 8,
	      cls, "decoder", "payload cut by the capture: flagged truncated, 8 payload bytes (%d messages)", u.n);
	run_hooks(cls, "payload cut by the capture", &b, SEES_NONE, &u);
	EACH_HOOK(h, k)
		check(k->d.parse_errors == 1, cls, h->name,
		      "IP/UDP lengths past the packet: a parse error counted (%llu)",
		      (unsigned long long)k->d.parse_errors);

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
	run_hooks(cls, "stream ends 100 bytes into 1000", &c, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 2 && k->r[0].span_bytes == 116 && msgs_counted(&k->d) == 1 &&
		      lm(k, 0) && (lm(k, 0)->flags & CA_MSG_TRUNCATED) && lm(k, 0)->payload_len == 100,
		      cls, h->name,
		      "stream ends 100 bytes into 1000: the header and the 100 bytes in a record, then the FIN; "
		      "live flags it truncated with its 100 bytes (%d records)", k->nrec);
	/* The flows map: two directions taken at the SYNs, one let go at
	 * its FIN; what it held was not evicted. */
	EACH_HOOK(h, k)
		check(k->d.flows_created == 2 && k->d.flows_ended == 1, cls, h->name,
		      "stream states: 2 taken, 1 let go at the FIN (%llu, %llu)",
		      (unsigned long long)k->d.flows_created, (unsigned long long)k->d.flows_ended);

	/* (d) the IPv4 total length says 1000, the frame has 58 */
	m.n = 0;
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	sh = plain;
	sh.tot = 1000;
	add_frame(&d, &sh, 17, CLI_IP, 50005, SRV_IP, CA_PORT, 0, 0, m.b, m.n);
	run_user(&d, &u);
	check(u.n == 0 && u.st.ip_len_short == 1, cls, "decoder",
	      "IPv4 length past the frame: no message (receivers drop it), counted as such "
	      "(%d messages, %llu counted)", u.n, (unsigned long long)u.st.ip_len_short);
	/* Live as offline (issue 14: it used to print the ECHO as if the
	 * server had it). */
	run_hooks(cls, "IPv4 length past the frame", &d, SEES_NONE, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 0 && k->d.ip_len_short == 1 && k->d.parse_errors == 0 &&
		      k->live.n == 0, cls, h->name,
		      "IPv4 length past the frame: no record, counted as a CA packet receivers drop "
		      "(%d records, %llu counted)", k->nrec, (unsigned long long)k->d.ip_len_short);

	/* (e) a SEARCH datagram sent in two IPv4 fragments: the first has
	 * the ports, the second not; neither is decodable alone, the
	 * datagram put back together is (issue 14).  The second comes first
	 * in (g): reordered on the way. */
	{
		struct frames e = { .n = 0 }, g = { .n = 0 };
		struct frames whole = { .n = 0 };

		m.n = 0;
		ca_hdr(&m, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
		ca_hdr(&m, CA_PROTO_SEARCH, 8, 5, 13, 1, 1);
		ca_bytes(&m, 'A', 8);
		add_frame(&whole, &plain, 17, CLI_IP, 50006, SRV_IP, CA_PORT, 0, 0, m.b, m.n);
		split_fragments(&e, &whole.f[0], 24, false, 701);
		split_fragments(&g, &whole.f[0], 24, true, 702);
		run_user(&e, &u);
		check(u.n == 2 && u.m[1].h.cmd == CA_PROTO_SEARCH && u.st.ca_fragments == 1 &&
		      u.st.ca_reassembled == 1, cls, "decoder",
		      "SEARCH in two fragments: put back together, both messages decoded "
		      "(%d messages, %llu counted, %llu reassembled)", u.n,
		      (unsigned long long)u.st.ca_fragments, (unsigned long long)u.st.ca_reassembled);
		run_hooks(cls, "SEARCH in two fragments", &e, SEES_OWN, &u);
		EACH_HOOK(h, k)
			check(k->nrec == 0 && k->nfrag == 2 && k->d.ca_fragments == 1 &&
			      k->d.parse_errors == 0 && compare(cls, h->name, &u, &k->live) == 0,
			      cls, h->name, "SEARCH in two fragments: both sent whole, put back "
			      "together live as offline (%d segment records, %d fragments, %llu "
			      "counted, %d messages)", k->nrec, k->nfrag,
			      (unsigned long long)k->d.ca_fragments, k->live.n);
		run_user(&g, &u);
		check(u.n == 2 && u.st.ca_reassembled == 1, cls, "decoder",
		      "SEARCH in two fragments, the last first: put back together (%d messages)",
		      u.n);
		/* The kernel knows the last one for CA's only after the first:
		 * it is not sent, the datagram never whole live (counted). */
		run_hooks(cls, "SEARCH in two fragments, the last first", &g, SEES_OWN, &u);
		EACH_HOOK(h, k)
			check(k->nfrag == 1 && k->d.ca_fragments == 1 && k->live.n == 0 &&
			      k->live.st.ca_reassembled == 0, cls, h->name,
			      "SEARCH in two fragments, the last first: the first sent, the "
			      "datagram never whole, its first fragment counted (%d fragments, "
			      "%d messages)", k->nfrag, k->live.n);
	}

	/* (f) a datagram that ends inside an extended header */
	{
		struct frames e = { .n = 0 };

		m.n = 0;
		ca_ext_hdr(&m, CA_PROTO_SEARCH, 8, 5, 13, 1, 1);
		add_frame(&e, &plain, 17, CLI_IP, 50007, SRV_IP, CA_PORT, 0, 0, m.b, 20);
		run_user(&e, &u);
		check(u.n == 1 && (u.m[0].flags & CA_MSG_MALFORMED), cls, "decoder",
		      "datagram ending inside an extended header: one message flagged malformed "
		      "(%d messages)", u.n);
		run_hooks(cls, "datagram ending inside an extended header", &e, SEES_ALL, &u);
		EACH_HOOK(h, k)
			check(k->d.parse_errors == 1 && msgs_counted(&k->d) == 0, cls, h->name,
			      "datagram ending inside an extended header: a parse error counted "
			      "(%llu)", (unsigned long long)k->d.parse_errors);
	}
}

static void class_extended_size(void)
{
	const char *cls = "extended-size-2^32";
	struct frames a = { .n = 0 }, b = { .n = 0 };
	struct ca m = { .n = 0 };
	struct circ ck;
	static struct ures u;

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
	run_hooks(cls, "size 0xFFFFFFF8 over TCP", &a, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 3 && k->r[0].len + k->r[1].len == 1124 &&
		      span_bytes(k) == 24 + REC_VALUE_BYTES_DEFAULT && msgs_counted(&k->d) == 1 &&
		      lm(k, 0) && lm(k, 0)->h.size == 0xFFFFFFF8u && (lm(k, 0)->flags & CA_MSG_TRUNCATED),
		      cls, h->name,
		      "size 0xFFFFFFF8 over TCP: the records account for the 1124 bytes, copy the header and "
		      "the value budget (%d), skip the rest; live flags it truncated at the FIN (%d records, %llu bytes copied)",
		      REC_VALUE_BYTES_DEFAULT, k->nrec, (unsigned long long)span_bytes(k));

	/* (b) UDP: extended header with size 0xFFFFFFF8, then 16 bytes */
	m.n = 0;
	ca_ext_hdr(&m, CA_PROTO_SEARCH, 0xFFFFFFF8u, 5, 13, 1, 1);
	ca_bytes(&m, 'z', 16);
	add_frame(&b, &plain, 17, CLI_IP, 50006, SRV_IP, CA_PORT, 0, 0, m.b, m.n);
	run_user(&b, &u);
	check(u.n == 1 && (u.m[0].flags & CA_MSG_MALFORMED) && u.m[0].payload_len == 16,
	      cls, "decoder", "size 0xFFFFFFF8 in a datagram: flagged malformed (%d messages)", u.n);
	run_hooks(cls, "size 0xFFFFFFF8 in a datagram", &b, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 1 && k->r[0].span_bytes == 40 && lm(k, 0) &&
		      lm(k, 0)->h.size == 0xFFFFFFF8u && (lm(k, 0)->flags & CA_MSG_MALFORMED),
		      cls, h->name, "size 0xFFFFFFF8 in a datagram: the datagram's 40 bytes in a record; "
		      "live flags it malformed (%d records)", k->nrec);
}

static void class_count_overflow(void)
{
	const char *cls = "count-overflow";
	struct frames a = { .n = 0 };
	struct ca m = { .n = 0 };
	struct circ ck;
	static struct ures u;
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
	run_hooks(cls, "overflowing counts", &a, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 1 && msgs_counted(&k->d) == 3 && k->live.n == 3 &&
		      lm(k, 0)->h.count == 0xFFFFFFFFu && lm(k, 1)->h.count == 0x08000000u &&
		      lm(k, 2)->h.count == 0x20000000u && json_has(lm(k, 0), "\"value_short\":true"),
		      cls, h->name, "three messages in one record, counted; live has the counts as sent, "
		      "the value marked short (%d records, %d messages)", k->nrec, k->live.n);
}

static void class_pv_name(void)
{
	const char *cls = "pv-name";
	struct frames a = { .n = 0 }, b = { .n = 0 }, c = { .n = 0 };
	struct ca m = { .n = 0 }, big = { .n = 0 };
	struct circ ck;
	static struct ures u;
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
	run_hooks(cls, "name without NUL", &a, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 2 && k->r[0].span_bytes == 40 && k->live.n == 2 &&
		      (lm(k, 0)->flags & CA_MSG_MALFORMED) && lm(k, 1)->pv_len == 24, cls, h->name,
		      "name without NUL: the request's record carries its 24 bytes; live flags it malformed "
		      "and names the reply with them (%d records)", k->nrec);

	/* (b) a UDP SEARCH whose name is 1400 bytes, NUL only at the end */
	ca_hdr(&big, CA_PROTO_SEARCH, 1400, 5, 13, 9, 9);
	ca_bytes(&big, 'L', 1399);
	ca_bytes(&big, 0, 1);
	add_frame(&b, &plain, 17, CLI_IP, 50007, SRV_IP, CA_PORT, 0, 0, big.b, big.n);
	run_user(&b, &u);
	check(u.n == 1 && !u.m[0].flags && u.m[0].pv_len == 1399, cls, "decoder",
	      "1400-byte search name: decoded whole (%d messages)", u.n);
	run_hooks(cls, "1400-byte search name", &b, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 1 && k->r[0].span_bytes == 1416 && lm(k, 0) && !lm(k, 0)->flags &&
		      lm(k, 0)->pv_len == 1399, cls, h->name,
		      "1400-byte search name: complete in the record, the live name is the offline one "
		      "(%d records, %zu-byte name)", k->nrec, lm(k, 0) ? lm(k, 0)->pv_len : 0);

	/* (c) CREATE_CHAN with a 4000-byte name and no NUL, over four
	 * segments (the first with 50 bytes of it), and the reply that names
	 * the channel */
	circ_open(&c, &ck, 40006);
	big.n = 0;
	ca_hdr(&big, CA_PROTO_CREATE_CHAN, 4000, 0, 0, 8, 13);
	ca_bytes(&big, 'P', 4000);
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
	run_hooks(cls, "4000-byte name over 4 segments", &c, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 4 && span_bytes(k) == 16 + REC_META_BYTES + 16 &&
		      msgs_counted(&k->d) == 2 && k->live.n == 2 &&
		      (lm(k, 0)->flags & CA_MSG_MALFORMED) && lm(k, 1)->pv_len == CA_MAX_NAME_LEN,
		      cls, h->name,
		      "4000-byte name over 4 segments: %d bytes of the name copied, the rest skipped (the "
		      "last segment, all skipped, sends no record); live flags it malformed, names the reply with %d bytes (%d records, %llu bytes copied)",
		      REC_META_BYTES, CA_MAX_NAME_LEN, k->nrec, (unsigned long long)span_bytes(k));
}

static void class_unknown_command(void)
{
	const char *cls = "unknown-command";
	struct frames a = { .n = 0 }, b = { .n = 0 };
	struct ca m = { .n = 0 };
	struct circ ck;
	static struct ures u;

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
	run_hooks(cls, "TCP command 0x1234", &a, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 2 && (k->r[0].flags & REC_F_UNSYNCED) && k->r[0].span_bytes == 32 &&
		      (k->r[1].flags & REC_F_BOUNDARY) && !(k->r[1].flags & REC_F_LOST) &&
		      k->d.resyncs == 1 && msgs_counted(&k->d) == 4 && k->live.n == 5 &&
		      lm(k, 1)->h.cmd == 0x1234 && (lm(k, 1)->flags & CA_MSG_MALFORMED) &&
		      (lm(k, 2)->flags & CA_MSG_RESYNC), cls, h->name,
		      "TCP command 0x1234: its bytes sent unframed, the ECHOs' record at a boundary, one resync; "
		      "live flags it malformed and the first ECHO resync (%d records, %llu resyncs, %llu counted)",
		      k->nrec, (unsigned long long)k->d.resyncs, (unsigned long long)msgs_counted(&k->d));

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
	run_hooks(cls, "UDP command 200", &b, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 1 && k->r[0].span_bytes == 56 && k->live.n == 3 &&
		      lm(k, 1)->h.cmd == 200 && !lm(k, 2)->flags, cls, h->name,
		      "UDP command 200: the datagram in one record; live decodes the three messages (%d records)",
		      k->nrec);
	/* The kernel's counters (metrics, `catrace stats`) count what the
	 * decoder decodes from a datagram: its sizes hold whatever the code. */
	EACH_HOOK(h, k)
		check(msgs_counted(&k->d) == 3 && k->d.msgs[CNT_CMDS - 1][REC_DIR_REQUEST] == 1 &&
		      k->d.msgs[CA_PROTO_VERSION][REC_DIR_REQUEST] == 2, cls, h->name,
		      "UDP command 200: the three messages counted, 200 among the unknown commands "
		      "(%llu counted, %llu unknown, %llu VERSION)", (unsigned long long)msgs_counted(&k->d),
		      (unsigned long long)k->d.msgs[CNT_CMDS - 1][REC_DIR_REQUEST],
		      (unsigned long long)k->d.msgs[CA_PROTO_VERSION][REC_DIR_REQUEST]);
}

static void class_zero_length_segments(void)
{
	const char *cls = "zero-length-segments";
	struct frames a = { .n = 0 };
	struct ca m = { .n = 0 };
	struct circ ck;
	static struct ures u;

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
	run_hooks(cls, "empty segments anywhere", &a, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 3 && (k->r[2].tcp_flags & 0x01) && k->r[2].n_spans == 0 &&
		      msgs_counted(&k->d) == 3 && k->d.gaps == 0 && k->d.resyncs == 0 &&
		      k->d.retransmits == 0 && k->live.n == 3 && !count_flag(&k->live, ~0u),
		      cls, h->name,
		      "empty segments anywhere: two records with the 3 messages, one for the FIN; no gap, "
		      "resync or retransmission; live flags none (%d records, %llu gaps, %llu resyncs)",
		      k->nrec, (unsigned long long)k->d.gaps, (unsigned long long)k->d.resyncs);
}

static void class_segment_inside_payload(void)
{
	const char *cls = "segment-inside-payload";
	struct frames a = { .n = 0 }, b = { .n = 0 };
	struct ca m = { .n = 0 };
	struct circ ck = { .cport = 40009, .sport = CA_PORT, .cseq = 5000, .sseq = 70000 };
	static struct ures u;
	uint32_t first;

	/* (a) no SYN: the capture joins 10 bytes into a 64-byte payload,
	 * then three messages; the next segment starts on a header */
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 64, DBR_CHAR, 64, 1, 2);
	ca_bytes(&m, 0xA5, 64);
	ca_hdr(&m, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 1, 3);
	ca_hdr(&m, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 1, 0x100);
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, 1, 5);
	ca_bytes(&m, 0x3F, 8);
	ck.sseq += 26;
	first = m.n - 26;
	circ_rsp(&a, &ck, m.b + 26, first, 0x18);
	m.n = 0;
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	ca_hdr(&m, CA_PROTO_READ_NOTIFY, 8, DBR_DOUBLE, 1, 1, 3);
	ca_bytes(&m, 0, 8);
	circ_rsp(&a, &ck, m.b, m.n, 0x18);
	run_user(&a, &u);
	check(u.n == 5 && (u.m[0].flags & CA_MSG_RESYNC) && u.m[0].h.cmd == CA_PROTO_ACCESS_RIGHTS &&
	      u.m[4].h.cmd == CA_PROTO_READ_NOTIFY && u.resyncs == 1, cls, "decoder",
	      "joined inside a payload: the rest skipped, resync counted, the 5 messages after found (%d messages)", u.n);
	run_hooks(cls, "joined inside a payload", &a, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 2 && (k->r[0].flags & REC_F_UNSYNCED) &&
		      (k->r[0].flags & REC_F_LOST) && k->r[0].span_bytes == first &&
		      (k->r[1].flags & REC_F_BOUNDARY) && k->d.resyncs == 1 &&
		      msgs_counted(&k->d) == 2 && k->live.resyncs == 1 && k->live.n == 5 &&
		      (lm(k, 0)->flags & CA_MSG_RESYNC), cls, h->name,
		      "joined inside a payload: that segment sent unframed (user space finds the messages), "
		      "the kernel's sync found at the next segment; live resyncs once, as offline "
		      "(%d records, %llu resyncs, %llu counted)", k->nrec,
		      (unsigned long long)k->d.resyncs, (unsigned long long)msgs_counted(&k->d));

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
	run_hooks(cls, "overlapping retransmission from inside a payload", &b, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 2 && k->r[1].seq == 90001 + 50 && span_bytes(k) == m.n &&
		      k->d.resyncs == 0 && k->d.gaps == 0 && msgs_counted(&k->d) == 3 &&
		      !count_flag(&k->live, ~0u), cls, h->name,
		      "overlapping retransmission from inside a payload: the new bytes only, each once; "
		      "no resync, no gap, none flagged (%d records)", k->nrec);
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
		static struct ures u;

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
		run_hooks(cls, what[i], &a, good ? SEES_ALL : SEES_NONE, &u);
		EACH_HOOK(h, k) {
			if (good)
				check(k->nrec == 1 && k->d.parse_errors == 0 && msgs_counted(&k->d) == 2,
				      cls, h->name, "%s: one record, both messages counted, no parse error (%d records)",
				      what[i], k->nrec);
			else
				check(k->d.parse_errors == 1, cls, h->name, "%s: a parse error counted (%llu)",
				      what[i], (unsigned long long)k->d.parse_errors);
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
	static struct ures u;

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
	run_hooks(cls, "three VLAN tags", &a, SEES_NONE, &u);
	EACH_HOOK(h, k)
		check(k->d.parse_errors == 1, cls, h->name, "three VLAN tags: a parse error counted (%llu)",
		      (unsigned long long)k->d.parse_errors);
	/* (b) a tag cut off by the end of the frame */
	memcpy(cut, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x81\x00\x00\x64\x81\x00", 18);
	add_raw(&b, cut, sizeof(cut));
	run_user(&b, &u);
	check(u.n == 0 && u.st.bad_headers == 1, cls, "decoder",
	      "second tag cut off: one broken header counted (%llu)", (unsigned long long)u.st.bad_headers);
	run_hooks(cls, "second tag cut off", &b, SEES_NONE, &u);
	EACH_HOOK(h, k)
		check(k->d.parse_errors == 1, cls, h->name,
		      "second tag cut off: a parse error counted (%llu)", (unsigned long long)k->d.parse_errors);
	/* (c) two tags (QinQ): well-formed */
	two.nvlan = 2;
	two.tpid[0] = 0x88A8;
	two.tpid[1] = 0x8100;
	add_frame(&c, &two, 17, CLI_IP, 50021, SRV_IP, CA_PORT, 0, 0, m.b, m.n);
	run_user(&c, &u);
	check(u.n == 1 && !u.m[0].flags, cls, "decoder", "two tags: decoded (%d)", u.n);
	run_hooks(cls, "two tags", &c, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 1 && k->d.parse_errors == 0 && msgs_counted(&k->d) == 1, cls, h->name,
		      "two tags: a record, the message counted, no parse error (%d)", k->nrec);
	/* (d) a tag around something that is not IPv4 */
	arp.nvlan = 1;
	arp.tpid[0] = 0x8100;
	arp.inner_type = 0x0806;
	add_frame(&d, &arp, 17, CLI_IP, 50022, SRV_IP, CA_PORT, 0, 0, m.b, m.n);
	run_user(&d, &u);
	check(u.n == 0 && u.st.bad_headers == 0 && u.st.ca_packets == 0, cls, "decoder",
	      "tagged non-IPv4: passed over, nothing counted as broken");
	run_hooks(cls, "tagged non-IPv4", &d, SEES_NONE, &u);
	EACH_HOOK(h, k)
		check(k->d.parse_errors == 0 && k->d.pkts_ca == 0 && k->d.pkts_seen == 1, cls, h->name,
		      "tagged non-IPv4: passed over, no parse error, not CA");
}

/* ---- forged announcements (issue 14) ------------------------------------- */

#define SSH_PORT 22
#define ATTACKER_IP 0x0A090003u   /* 10.9.0.3 */

/* A beacon from somebody else naming the IOC's address and `port`. */
static void forged_beacon(struct frames *fs, uint16_t port)
{
	struct ca m = { .n = 0 };

	ca_hdr(&m, CA_PROTO_RSRV_IS_UP, 0, 13, port, 7, SRV_IP);
	add_frame(fs, &plain, 17, ATTACKER_IP, 40000, 0x0A0900FFu, CA_REPEATER_PORT_DEFAULT,
		  0, 0, m.b, m.n);
}

/* An SSH connection to the forged port: the server's banner first, the
 * client's, then key exchange bytes, some of which read as CA headers. */
static void ssh_flow(struct frames *fs, uint16_t cport)
{
	static const char srv[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
	static const char cli[] = "SSH-2.0-OpenSSH_9.2p1\r\n";
	struct ca m = { .n = 0 };
	struct circ k;

	circ_open_to(fs, &k, cport, SSH_PORT);
	circ_rsp(fs, &k, (const uint8_t *)srv, sizeof(srv) - 1, 0x18);
	circ_req(fs, &k, (const uint8_t *)cli, sizeof(cli) - 1, 0x18);
	ca_hdr(&m, CA_PROTO_VERSION, 0, 0, 13, 0, 0);   /* later bytes like CA */
	ca_hdr(&m, CA_PROTO_CREATE_CHAN, 8, 0, 0, 1, 13);
	ca_bytes(&m, 'x', 8);
	ca_bytes(&m, 0xA5, 600);
	circ_req(fs, &k, m.b, m.n, 0x18);
	circ_req(fs, &k, NULL, 0, 0x11);
}

/* A CA circuit to the forged port's endpoint: opens with VERSION. */
static void ca_flow_to(struct frames *fs, uint16_t cport, uint16_t srv_port)
{
	struct ca m = { .n = 0 };
	struct circ k;

	circ_open_to(fs, &k, cport, srv_port);
	ca_hdr(&m, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	ca_hdr(&m, CA_PROTO_CREATE_CHAN, 8, 0, 0, 1, 13);
	memcpy(m.b + m.n, "ai1\0\0\0\0\0", 8);
	m.n += 8;
	circ_req(fs, &k, m.b, m.n, 0x18);
	m.n = 0;
	ca_hdr(&m, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	ca_hdr(&m, CA_PROTO_ACCESS_RIGHTS, 0, 0, 0, 1, 3);
	ca_hdr(&m, CA_PROTO_CREATE_CHAN, 0, DBR_DOUBLE, 1, 1, 77);
	circ_rsp(fs, &k, m.b, m.n, 0x18);
}

/* Messages of one TCP flow (its client port) a path decoded. */
static int msgs_of_port(const struct ures *u, uint16_t cport)
{
	int i, n = 0;

	for (i = 0; i < u->n; i++)
		if (u->m[i].tcp && u->m[i].key.cli_port == cport)
			n++;
	return n;
}

static int tcp_records(const struct kres *k)
{
	int i, n = 0;

	for (i = 0; i < k->nrec; i++)
		if (k->r[i].proto == 6)
			n++;
	return n;
}

static struct catrace_bpf *open_loaded(uint64_t learn_ttl_ns);

/* The check user space applies (a local CA server): here, one port. */
static bool confirm_port(void *ctx, uint32_t ip, uint16_t port)
{
	(void)ctx;
	return ip == SRV_IP && port == SSH_PORT + 2;
}

static uint64_t mono_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void class_forged_announcement(void)
{
	const char *cls = "forged-announcement";
	struct frames a = { .n = 0 }, b = { .n = 0 }, c = { .n = 0 };
	struct catrace_bpf *shortlived;
	struct circ cc;
	struct ca m = { .n = 0 };
	static struct ures u;
	static struct kres ke;
	struct hook sh;

	/* (a) the beacon, then an SSH connection to the port it names */
	forged_beacon(&a, SSH_PORT);
	ssh_flow(&a, 41001);
	run_user(&a, &u);
	check(u.n == 1 && !msgs_of_port(&u, 41001) && u.learned_refused == 1, cls, "decoder",
	      "beacon naming port 22, then SSH: the beacon alone decoded, the flow refused "
	      "(%d messages, %d of the flow, %llu refused)", u.n, msgs_of_port(&u, 41001),
	      (unsigned long long)u.learned_refused);
	run_hooks(cls, "beacon then SSH", &a, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(k->nrec == 1 && tcp_records(k) == 0 && k->d.learned_refused == 1 &&
		      k->d.learned_admitted == 0 && msgs_counted(&k->d) == 1, cls, h->name,
		      "beacon then SSH: one record (the beacon), no TCP record, no message counted "
		      "but the beacon, the flow refused once (%d records, %d TCP, %llu counted, %llu refused)",
		      k->nrec, tcp_records(k), (unsigned long long)msgs_counted(&k->d),
		      (unsigned long long)k->d.learned_refused);

	/* (b) a flow opening with VERSION to that endpoint is CA; an SSH
	 * flow after it is still not: judged per flow, not per endpoint */
	forged_beacon(&b, SSH_PORT);
	ca_flow_to(&b, 41002, SSH_PORT);
	ssh_flow(&b, 41003);
	run_user(&b, &u);
	check(msgs_of_port(&u, 41002) == 5 && !msgs_of_port(&u, 41003) &&
	      u.learned_admitted == 1 && u.learned_refused == 1, cls, "decoder",
	      "a flow opening with VERSION is decoded (5 messages), the SSH flow after it is not "
	      "(%d, %d messages; %llu admitted, %llu refused)", msgs_of_port(&u, 41002),
	      msgs_of_port(&u, 41003), (unsigned long long)u.learned_admitted,
	      (unsigned long long)u.learned_refused);
	run_hooks(cls, "VERSION flow, then SSH", &b, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(tcp_records(k) == 2 && msgs_of_port(&k->live, 41002) == 5 &&
		      !msgs_of_port(&k->live, 41003) && k->d.learned_admitted == 1 &&
		      k->d.learned_refused == 1, cls, h->name,
		      "VERSION flow: its 2 segments as records, 5 messages; the SSH flow none "
		      "(%d TCP records, %d/%d messages, %llu admitted, %llu refused)",
		      tcp_records(k), msgs_of_port(&k->live, 41002), msgs_of_port(&k->live, 41003),
		      (unsigned long long)k->d.learned_admitted, (unsigned long long)k->d.learned_refused);

	/* (c) a flow to that endpoint not seen opening, even one that
	 * looks like CA, is not judged: not CA */
	forged_beacon(&c, SSH_PORT);
	cc.cport = 41004;
	cc.sport = SSH_PORT;
	cc.cseq = 5000;
	cc.sseq = 7000;
	ca_hdr(&m, CA_PROTO_VERSION, 0, 0, 13, 0, 0);
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	circ_req(&c, &cc, m.b, m.n, 0x18);
	circ_rsp(&c, &cc, m.b, m.n, 0x18);
	run_user(&c, &u);
	check(u.n == 1 && !msgs_of_port(&u, 41004), cls, "decoder",
	      "flow not seen opening: not decoded (%d messages)", u.n);
	run_hooks(cls, "flow not seen opening", &c, SEES_ALL, &u);
	EACH_HOOK(h, k)
		check(tcp_records(k) == 0, cls, h->name,
		      "flow not seen opening: no TCP record (%d)", tcp_records(k));

	/* (d) expiry: with a 1 ms TTL, a beacon's entry is gone before the
	 * flow opening with VERSION comes 20 ms later (the kernel only: the
	 * offline decoder keeps what it learned for the capture's length) */
	shortlived = open_loaded(1000000);
	if (!shortlived) {
		check(false, cls, "kernel xdp", "loading with a 1 ms TTL: %s", strerror(errno));
		return;
	}
	memset(&sh, 0, sizeof(sh));
	sh.name = "kernel xdp, 1 ms TTL";
	sh.skel = shortlived;
	sh.prog_fd = bpf_program__fd(shortlived->progs.catrace_xdp);
	sh.pass_retval = XDP_PASS_;
	sh.rb = ring_buffer__new(bpf_map__fd(shortlived->maps.events), on_record, NULL, NULL);
	if (!sh.rb) {
		check(false, cls, sh.name, "ring buffer: %s", strerror(errno));
		catrace_bpf__destroy(shortlived);
		return;
	}
	a.n = 0;
	forged_beacon(&a, SSH_PORT);
	run_kernel(&sh, &a, &ke);
	usleep(20000);
	b.n = 0;
	ca_flow_to(&b, 41005, SSH_PORT);
	run_kernel(&sh, &b, &ke);
	check(ke.nrec == 0 && ke.d.learned_expired == 1 && ke.d.learned_admitted == 0, cls,
	      sh.name, "20 ms after the beacon the entry has expired: the VERSION flow is not CA "
	      "(%d records, %llu expired)", ke.nrec, (unsigned long long)ke.d.learned_expired);
	/* and an entry kept alive by an announcement does not expire */
	a.n = 0;
	forged_beacon(&a, SSH_PORT);
	ca_flow_to(&a, 41006, SSH_PORT);
	run_kernel(&sh, &a, &ke);
	check(tcp_records(&ke) == 2 && ke.d.learned_expired == 0 && ke.d.learned_admitted == 1,
	      cls, sh.name, "announced again, then a VERSION flow at once: CA (%d TCP records, %llu admitted)",
	      tcp_records(&ke), (unsigned long long)ke.d.learned_admitted);
	/* user space's sweep forgets a pending entry no packet comes for */
	a.n = 0;
	forged_beacon(&a, SSH_PORT + 1);
	run_kernel(&sh, &a, &ke);
	usleep(20000);
	{
		struct learned_count before, after;
		unsigned gone;
		int fd = bpf_map__fd(shortlived->maps.servers);

		learned_live_count(fd, &before);
		gone = learned_live_expire(fd, 1000000, mono_now_ns());
		learned_live_count(fd, &after);
		check(gone >= 1 && after.known + gone == before.known, cls, sh.name,
		      "user space's sweep forgets a stale pending entry (%u forgotten, %llu -> %llu known)",
		      gone, (unsigned long long)before.known, (unsigned long long)after.known);
	}
	ures_reset(&ke.live);
	ring_buffer__free(sh.rb);
	catrace_bpf__destroy(shortlived);

	/* (e) confirmed by user space: every flow of the endpoint is CA, one
	 * not seen opening included */
	a.n = 0;
	forged_beacon(&a, SSH_PORT + 2);
	run_kernel(&hooks[0], &a, &ke);
	check(learned_live_confirm(bpf_map__fd(hooks[0].skel->maps.servers), confirm_port,
				   NULL) == 1, cls, hooks[0].name,
	      "user space confirms the one entry its check says yes for");
	b.n = 0;
	cc.cport = 41007;
	cc.sport = SSH_PORT + 2;
	cc.cseq = 5000;
	cc.sseq = 7000;
	m.n = 0;
	ca_hdr(&m, CA_PROTO_ECHO, 0, 0, 0, 0, 0);
	circ_req(&b, &cc, m.b, m.n, 0x18);
	circ_rsp(&b, &cc, m.b, m.n, 0x18);
	run_kernel(&hooks[0], &b, &ke);
	check(tcp_records(&ke) == 2 && ke.live.n == 2, cls, hooks[0].name,
	      "confirmed: a flow not seen opening is CA (%d TCP records, %d messages)",
	      tcp_records(&ke), ke.live.n);
	ures_reset(&ke.live);
}

/* ---- main ---------------------------------------------------------------- */

static int libbpf_quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	if (l == LIBBPF_WARN)
		return vfprintf(stderr, f, ap);
	return 0;
}

/* Load as catrace does: the scratch map sized for every CPU, the CA ports
 * in the port array. */
static struct catrace_bpf *open_loaded(uint64_t learn_ttl_ns)
{
	struct catrace_bpf *s = catrace_bpf__open();
	uint32_t k;
	uint8_t v[4] = { 0 };

	if (!s)
		return NULL;
	s->rodata->cfg_learn_ttl_ns = learn_ttl_ns;
	if (bpf_map__set_max_entries(s->maps.seg_scratch,
				     2 * (uint32_t)libbpf_num_possible_cpus()) ||
	    catrace_bpf__load(s)) {
		catrace_bpf__destroy(s);
		return NULL;
	}
	k = CA_SERVER_PORT_DEFAULT;
	v[0] = LOADER_PORT_SERVER;
	if (bpf_map_update_elem(bpf_map__fd(s->maps.port_flags), &k, v, BPF_ANY))
		goto fail;
	k = CA_REPEATER_PORT_DEFAULT;
	v[0] = LOADER_PORT_REPEATER;
	if (bpf_map_update_elem(bpf_map__fd(s->maps.port_flags), &k, v, BPF_ANY))
		goto fail;
	return s;
fail:
	catrace_bpf__destroy(s);
	return NULL;
}

int main(void)
{
	int i;

	if (geteuid() != 0) {
		printf("SKIP: hostile: BPF_PROG_TEST_RUN needs root\n");
		return 77;
	}
	debug = getenv("BPF_HOSTILE_DEBUG") != NULL;
	libbpf_set_print(libbpf_quiet);
	hooks[0].name = "kernel xdp";
	hooks[1].name = "kernel tc";
	for (i = 0; i < 2; i++) {
		/* Separate objects: separate flow state, as two hooks on two
		 * interfaces would have. */
		hooks[i].skel = open_loaded(LEARNED_TTL_NS_DEFAULT);
		if (!hooks[i].skel) {
			printf("FAIL: hostile: loading the BPF programs (verifier): %s\n", strerror(errno));
			return 1;
		}
		hooks[i].prog_fd = bpf_program__fd(i == 0 ? hooks[i].skel->progs.catrace_xdp
							  : hooks[i].skel->progs.catrace_tc_egress);
		hooks[i].pass_retval = i == 0 ? XDP_PASS_ : TC_ACT_UNSPEC_;
		hooks[i].rb = ring_buffer__new(bpf_map__fd(hooks[i].skel->maps.events),
					       on_record, NULL, NULL);
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
	class_forged_announcement();
	class_late_segment();
	class_bad_checksum();
	class_chance_checksum();
	class_flow_table_full();   /* last: it leaves the flows map full */

	for (i = 0; i < 2; i++) {
		ures_reset(&kr[i].live);
		ring_buffer__free(hooks[i].rb);
		catrace_bpf__destroy(hooks[i].skel);
	}
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
