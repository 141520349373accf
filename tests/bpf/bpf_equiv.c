/* bpf_equiv: the proof that live equals offline (DESIGN invariants 1 and
 * 2).  Every packet of a capture goes, in order, through the XDP program
 * and, separately, through the tc program with BPF_PROG_TEST_RUN (flow
 * state persisting between runs, as on a live interface); the records
 * that come out are decoded by the live path (pipeline_segment) and must
 * give the same messages, field for field and value for value, as
 * `catrace -r` (pipeline_frame) gives from the same packets: every
 * message as its JSON line, time and frame number aside, in the same
 * order on every flow direction.  Also: the kernel's framing never
 * disagrees with the decoder's, and nothing is lost.
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
#include "kstats.h"
#include "loader.h"
#include "record.h"
#include "sbuf.h"

#include "live_offline.h"

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
	static struct pipeline pl, plx, plt;
	struct hook_ctx hu, hx, ht;
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
	sx = load_programs(REC_VALUE_BYTES_DEFAULT, 0);
	st = load_programs(REC_VALUE_BYTES_DEFAULT, 0);
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
	setup_pipeline(&pl, &hu, &user);
	setup_pipeline(&plx, &hx, &kx);
	setup_pipeline(&plt, &ht, &kt);

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
	ring_buffer__consume(rbx);
	ring_buffer__consume(rbt);
	pipeline_finish(&pl);
	pipeline_finish(&plx);
	pipeline_finish(&plt);

	r = compare("xdp", &user, &kx) | live_clean("xdp", name, &kx, sx);
	if (r == 0)
		printf("PASS: bpf xdp %s: %zu messages, live equals offline\n", name, user.n);
	else
		printf("FAIL: bpf xdp %s: offline %zu messages, live %zu\n", name, user.n, kx.n);
	rc = r;
	r = compare("tc", &user, &kt) | live_clean("tc", name, &kt, st);
	if (r == 0)
		printf("PASS: bpf tc %s: %zu messages, live equals offline\n", name, user.n);
	else
		printf("FAIL: bpf tc %s: offline %zu messages, live %zu\n", name, user.n, kt.n);
	rc |= r;
out_src:
	pipeline_free(&pl);
	pipeline_free(&plx);
	pipeline_free(&plt);
	pcap_source_close(src);
out:
	ring_buffer__free(rbx);
	ring_buffer__free(rbt);
	catrace_bpf__destroy(sx);
	catrace_bpf__destroy(st);
	free_side(&user);
	free_side(&kx);
	free_side(&kt);
	return rc;
}
