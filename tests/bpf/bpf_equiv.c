/* bpf_equiv: the proof that the kernel parser is right (DESIGN invariant
 * 1).  Every packet of a capture goes, in order, through the XDP program
 * and, separately, through the tc program with BPF_PROG_TEST_RUN (flow
 * state persisting between runs, as on a live interface); the records
 * that come out must equal the messages the user-space decoder reads from
 * the same packets: same messages in the same order on every flow
 * direction, same header fields, same PV names for SEARCH and
 * CREATE_CHAN requests.
 *
 * Usage: bpf_equiv CAPTURE      prints PASS:/FAIL: lines; exit 0/1, 77 skip
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "catrace.skel.h"
#include "catrace_record.h"
#include "pcap_source.h"
#include "pipeline.h"
#include "pkt.h"
#include "record.h"

#define MAX_MSGS 200000

/* One message, reduced to what both sides must agree on. */
struct seen {
	struct flow_key key;
	int dir;
	int tcp;
	uint16_t cmd, dtype;
	uint32_t size, count, p1, p2;
	char name[REC_NAME_MAX + 1];   /* SEARCH/CREATE_CHAN request name */
	uint64_t frame;
};

struct side {
	struct seen *v;
	size_t n;
};

static uint64_t cur_frame;

static void set_name(struct seen *s, const struct ca_msg *m)
{
	size_t n;
	const uint8_t *nul;

	s->name[0] = '\0';
	if (m->dir != CA_DIR_REQUEST ||
	    (m->h.cmd != CA_PROTO_SEARCH && m->h.cmd != CA_PROTO_CREATE_CHAN))
		return;
	n = m->payload_len < REC_NAME_MAX ? m->payload_len : REC_NAME_MAX;
	nul = memchr(m->payload, 0, n);
	if (nul)
		n = (size_t)(nul - m->payload);
	memcpy(s->name, m->payload, n);
	s->name[n] = '\0';
}

static void add(struct side *sd, const struct flow_key *k, const struct ca_msg *m)
{
	struct seen *s;

	if (sd->n >= MAX_MSGS)
		return;
	s = &sd->v[sd->n++];
	memset(s, 0, sizeof(*s));
	s->key = *k;
	s->dir = m->dir;
	s->tcp = m->tcp;
	s->cmd = m->h.cmd;
	s->dtype = m->h.dtype;
	s->size = m->h.size;
	s->count = m->h.count;
	s->p1 = m->h.p1;
	s->p2 = m->h.p2;
	s->frame = cur_frame;
	set_name(s, m);
}

static void user_hook(void *ctx, const struct flow_key *k, const struct msg_ctx *c,
		      const struct ca_msg *m)
{
	(void)c;
	/* A header the capture cut in two has no fields to compare. */
	if (m->h.hdr_len < CA_HDR_LEN)
		return;
	add(ctx, k, m);
}

static int on_record(void *ctx, void *data, size_t size)
{
	static struct rec_info ri;
	enum rec_result r = record_parse(data, size, &ri);

	if (r != REC_OK) {
		fprintf(stderr, "bad record: %s\n", record_result_str(r));
		return 0;
	}
	if (ri.close)
		return 0;
	if (getenv("BPF_EQUIV_DEBUG"))
		fprintf(stderr, "frame %llu rec cmd=%u size=%u data_len=%zu flags=%#x seq=%u\n",
			(unsigned long long)cur_frame, ri.msg.h.cmd, ri.msg.h.size,
			ri.msg.payload_len, ((const struct ca_record *)data)->flags, ri.seq);
	add(ctx, &ri.key, &ri.msg);
	return 0;
}

/* The BPF programs parse Ethernet; give other link types an Ethernet
 * header in front of their IPv4 packet. */
static int to_ethernet(int dlt, const struct frame *f, uint8_t *out, size_t cap,
		       uint32_t *len)
{
	struct pkt p;
	const char *why;
	uint32_t l3;

	if (dlt == 1) {  /* DLT_EN10MB */
		if (f->caplen > cap)
			return -1;
		memcpy(out, f->data, f->caplen);
		*len = f->caplen;
		return 0;
	}
	if (pkt_parse(dlt, f->data, f->caplen, f->len, &p, &why) != PKT_OK)
		return -1;
	/* Find where IPv4 starts: the header parse consumed the link layer. */
	for (l3 = 0; l3 + 20 <= f->caplen; l3++)
		if ((f->data[l3] >> 4) == 4 && f->data[l3 + 9] == p.proto &&
		    !memcmp(f->data + l3 + 12, (uint8_t[]){ p.src_ip >> 24, p.src_ip >> 16,
							   p.src_ip >> 8, p.src_ip }, 4))
			break;
	if (l3 + 20 > f->caplen || f->caplen - l3 + 14 > cap)
		return -1;
	memset(out, 0, 12);
	out[12] = 0x08;
	out[13] = 0x00;
	memcpy(out + 14, f->data + l3, f->caplen - l3);
	*len = f->caplen - l3 + 14;
	return 0;
}

static int cmp_key(const struct flow_key *a, const struct flow_key *b)
{
	return memcmp(a, b, sizeof(*a));
}

/* Compare the two sides flow direction by flow direction, in order. */
static int compare(const char *what, struct side *u, struct side *k)
{
	size_t i, j, fails = 0;
	bool *used = calloc(k->n + 1, 1);

	if (!used)
		return 1;
	for (i = 0; i < u->n; i++) {
		struct seen *a = &u->v[i], *b = NULL;

		/* The next unused kernel record of the same flow direction. */
		for (j = 0; j < k->n; j++) {
			if (used[j] || k->v[j].dir != a->dir || k->v[j].tcp != a->tcp ||
			    cmp_key(&k->v[j].key, &a->key))
				continue;
			b = &k->v[j];
			break;
		}
		if (!b) {
			if (fails++ < 10)
				printf("  %s: frame %llu cmd %u: no kernel record\n", what,
				       (unsigned long long)a->frame, a->cmd);
			continue;
		}
		used[j] = true;
		if (a->cmd != b->cmd || a->dtype != b->dtype || a->size != b->size ||
		    a->count != b->count || a->p1 != b->p1 || a->p2 != b->p2 ||
		    strcmp(a->name, b->name)) {
			if (fails++ < 10)
				printf("  %s: frame %llu: user cmd=%u dtype=%u size=%u count=%u p1=%u p2=%u name='%s'"
				       " kernel(frame %llu) cmd=%u dtype=%u size=%u count=%u p1=%u p2=%u name='%s'\n",
				       what, (unsigned long long)a->frame, a->cmd, a->dtype, a->size,
				       a->count, a->p1, a->p2, a->name, (unsigned long long)b->frame,
				       b->cmd, b->dtype, b->size, b->count, b->p1, b->p2, b->name);
		}
	}
	for (j = 0; j < k->n; j++)
		if (!used[j] && fails++ < 10)
			printf("  %s: frame %llu cmd %u: kernel record the decoder lacks\n",
			       what, (unsigned long long)k->v[j].frame, k->v[j].cmd);
	free(used);
	return fails ? 1 : 0;
}

static int run_prog(int prog_fd, const uint8_t *pkt, uint32_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .repeat = 1);

	return bpf_prog_test_run_opts(prog_fd, &o);
}

/* BPF_PROG_TEST_RUN for tc takes at most about a page of packet data, while
 * a live skb can be a 64 KB GSO packet.  Feed oversized TCP packets to the
 * tc program as wire-sized segments of the same stream instead: the
 * records must not change. */
#define TC_TEST_MAX 3000
#define SEG_PAYLOAD 1448

static int run_tc(int prog_fd, const uint8_t *pkt, uint32_t len)
{
	static uint8_t seg[TC_TEST_MAX + 64];
	uint32_t l3 = 14, ihl, doff, hdrs, off, seq;
	uint16_t tot;

	if (len <= TC_TEST_MAX)
		return run_prog(prog_fd, pkt, len);
	while (l3 + 4 <= len && pkt[l3 - 2] == 0x81 && pkt[l3 - 1] == 0x00)
		l3 += 4;  /* VLAN tags */
	if (l3 + 20 > len || pkt[l3 + 9] != 6)
		return 0;  /* a big UDP datagram: cannot be split, not tested */
	ihl = (pkt[l3] & 0x0f) * 4u;
	if (l3 + ihl + 20 > len)
		return 0;
	doff = (pkt[l3 + ihl + 12] >> 4) * 4u;
	hdrs = l3 + ihl + doff;
	if (hdrs > len)
		return 0;
	seq = (uint32_t)pkt[l3 + ihl + 4] << 24 | pkt[l3 + ihl + 5] << 16 |
	      pkt[l3 + ihl + 6] << 8 | pkt[l3 + ihl + 7];
	for (off = hdrs; off < len; off += SEG_PAYLOAD) {
		uint32_t n = len - off < SEG_PAYLOAD ? len - off : SEG_PAYLOAD;
		uint32_t s = seq + (off - hdrs);

		memcpy(seg, pkt, hdrs);
		memcpy(seg + hdrs, pkt + off, n);
		tot = (uint16_t)(ihl + doff + n);
		seg[l3 + 2] = tot >> 8;
		seg[l3 + 3] = tot & 0xff;
		seg[l3 + ihl + 4] = s >> 24;
		seg[l3 + ihl + 5] = s >> 16;
		seg[l3 + ihl + 6] = s >> 8;
		seg[l3 + ihl + 7] = s;
		/* FIN only on the last piece. */
		if (off + n < len)
			seg[l3 + ihl + 13] &= (uint8_t)~0x01;
		if (run_prog(prog_fd, seg, hdrs + n))
			return -1;
	}
	return 0;
}

static int libbpf_quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	if (l == LIBBPF_WARN)
		return vfprintf(stderr, f, ap);
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t buf[262144 + 64];
	static struct pipeline pl;
	struct side user = {0}, kx = {0}, kt = {0};
	struct catrace_bpf *sx = NULL, *st = NULL;
	struct ring_buffer *rbx = NULL, *rbt = NULL;
	struct pcap_source *src;
	char err[512];
	const char *name;
	struct frame f;
	int lt, rc = 1, r;
	uint32_t len;

	if (argc != 2) {
		fprintf(stderr, "usage: bpf_equiv CAPTURE\n");
		return 2;
	}
	name = strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1];
	if (geteuid() != 0) {
		printf("SKIP: bpf %s: needs root for BPF_PROG_TEST_RUN\n", name);
		return 77;
	}
	libbpf_set_print(libbpf_quiet);
	user.v = calloc(MAX_MSGS, sizeof(struct seen));
	kx.v = calloc(MAX_MSGS, sizeof(struct seen));
	kt.v = calloc(MAX_MSGS, sizeof(struct seen));
	if (!user.v || !kx.v || !kt.v)
		return 1;

	/* Two independent copies: the XDP run and the tc run keep separate
	 * flow state, as two hooks on two interfaces would. */
	sx = catrace_bpf__open_and_load();
	st = catrace_bpf__open_and_load();
	if (!sx || !st) {
		printf("FAIL: bpf %s: loading the BPF programs: %s\n", name, strerror(errno));
		goto out;
	}
	rbx = ring_buffer__new(bpf_map__fd(sx->maps.events), on_record, &kx, NULL);
	rbt = ring_buffer__new(bpf_map__fd(st->maps.events), on_record, &kt, NULL);
	if (!rbx || !rbt) {
		printf("FAIL: bpf %s: ring buffer: %s\n", name, strerror(errno));
		goto out;
	}

	src = pcap_source_open(argv[1], err, sizeof(err));
	if (!src) {
		printf("FAIL: bpf %s: %s\n", name, err);
		goto out;
	}
	lt = pcap_source_linktype(src);
	pipeline_init(&pl, stdout);
	/* The kernel learns ports from search replies and beacons, as the
	 * decoder does, but it does not recognise circuits by content. */
	pl.detect_circuits = false;
	pl.hook = user_hook;
	pl.hook_ctx = &user;
	pl.hook_only = true;

	while ((r = pcap_source_next(src, &f, err, sizeof(err))) == 1) {
		cur_frame = f.number;
		pipeline_frame(&pl, lt, &f);
		if (to_ethernet(lt, &f, buf, sizeof(buf), &len) < 0)
			continue;
		if (run_prog(bpf_program__fd(sx->progs.catrace_xdp), buf, len) ||
		    run_tc(bpf_program__fd(st->progs.catrace_tc_egress), buf, len)) {
			printf("FAIL: bpf %s: test run of frame %llu: %s\n", name,
			       (unsigned long long)f.number, strerror(errno));
			goto out_src;
		}
		ring_buffer__consume(rbx);
		ring_buffer__consume(rbt);
	}
	pipeline_finish(&pl);
	ring_buffer__consume(rbx);
	ring_buffer__consume(rbt);

	r = compare("xdp", &user, &kx);
	if (r == 0)
		printf("PASS: bpf xdp %s: %zu messages, kernel records equal the decoder's\n",
		       name, user.n);
	else
		printf("FAIL: bpf xdp %s: decoder %zu messages, kernel %zu records\n",
		       name, user.n, kx.n);
	rc = r;
	r = compare("tc", &user, &kt);
	if (r == 0)
		printf("PASS: bpf tc %s: %zu messages, kernel records equal the decoder's\n",
		       name, user.n);
	else
		printf("FAIL: bpf tc %s: decoder %zu messages, kernel %zu records\n",
		       name, user.n, kt.n);
	rc |= r;
out_src:
	pipeline_free(&pl);
	pcap_source_close(src);
out:
	ring_buffer__free(rbx);
	ring_buffer__free(rbt);
	catrace_bpf__destroy(sx);
	catrace_bpf__destroy(st);
	free(user.v);
	free(kx.v);
	free(kt.v);
	return rc;
}
