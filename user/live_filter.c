/* live_filter: see live_filter.h. */
#include "live_filter.h"
#include "bytes.h"

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "record.h"

/* Payload bytes of the rebuilt frame: enough for any CA header test. */
#define LIVE_FILTER_PAYLOAD 256

int live_filter_compile(struct live_filter *f, const char *expr, char *err, size_t errlen)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	struct bpf_program *prog = calloc(1, sizeof(*prog));
	int r = 0;

	f->prog = NULL;
	if (!p || !prog) {
		snprintf(err, errlen, "out of memory");
		if (p)
			pcap_close(p);
		free(prog);
		return -1;
	}
	if (pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "%s", pcap_geterr(p));
		free(prog);
		r = -1;
	} else {
		f->prog = prog;
	}
	pcap_close(p);
	return r;
}

bool live_filter_match(const struct live_filter *f, const struct rec_info *ri)
{
	uint8_t fr[14 + 20 + 20 + LIVE_FILTER_PAYLOAD];
	uint32_t l4 = ri->tcp ? 20 : 8, n = 0, wire;
	struct pcap_pkthdr h;

	if (!f->prog)
		return true;
	memset(fr, 0, 14 + 20 + l4);
	wr_be16(fr + 12, 0x0800);
	fr[14] = 0x45;
	fr[22] = 64;
	fr[23] = ri->tcp ? 6 : 17;
	wr_be32(fr + 26, ri->saddr);
	wr_be32(fr + 30, ri->daddr);
	wr_be16(fr + 34, ri->sport);
	wr_be16(fr + 36, ri->dport);
	if (ri->seg.n && ri->spans[0].off == 0) {
		n = ri->spans[0].len < LIVE_FILTER_PAYLOAD ? ri->spans[0].len : LIVE_FILTER_PAYLOAD;
		memcpy(fr + 14 + 20 + l4, ri->spans[0].data, n);
	}
	wire = ri->tcp ? (ri->seg.len < 65495 ? ri->seg.len : 65495) : ri->seg.len;
	if (ri->tcp) {
		wr_be32(fr + 38, ri->seg.seq);
		fr[46] = 5 << 4;
		fr[47] = ri->seg.tcp_flags;
	} else {
		wr_be16(fr + 38, 8 + (wire < 65507 ? wire : 65507));
	}
	wr_be16(fr + 16, 20 + l4 + (wire < 65495 ? wire : 65495));
	memset(&h, 0, sizeof(h));
	h.caplen = 14 + 20 + l4 + n;
	h.len = 14 + 20 + l4 + wire;
	return pcap_offline_filter(f->prog, &h, fr) != 0;
}

bool live_filter_match_frame(const struct live_filter *f, const uint8_t *frame, uint32_t len)
{
	struct pcap_pkthdr h;

	if (!f->prog)
		return true;
	memset(&h, 0, sizeof(h));
	h.caplen = h.len = len;
	return pcap_offline_filter(f->prog, &h, frame) != 0;
}

bool live_filter_match_any(const struct live_filter *f, const struct rec_info *ri)
{
	return ri->packet ? live_filter_match_frame(f, ri->pkt, ri->pkt_caplen)
			  : live_filter_match(f, ri);
}

void live_filter_free(struct live_filter *f)
{
	if (f->prog) {
		pcap_freecode(f->prog);
		free(f->prog);
	}
	f->prog = NULL;
}
