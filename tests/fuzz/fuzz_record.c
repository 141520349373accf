/* libFuzzer harness: ring-buffer records (what the BPF programs send) ->
 * record_parse -> what `catrace -i` does with each kind of record
 * (on_live_record in catrace.c):
 *   - a segment record (REC_KIND_SEG: one TCP segment or UDP datagram,
 *     its CA bytes as spans): pipeline_segment, so flow_live_segment and
 *     the framers (copy-budget skips, REC_F_LOST gaps, REC_F_BOUNDARY,
 *     FIN/RST), or the datagram walk; then the tracker, filters and
 *     formatters;
 *   - a packet record (-w): gso_split into wire segments, or
 *     l4_csum_finalize on an egress packet, then pcap_writer_write (to
 *     /dev/null).
 *
 * Input:
 *   [c0][c1]                         configuration (see fuzz_common.h;
 *                                    c1 bits 4-5 also pick the -w snap
 *                                    length: 0 (262144), 96, 1514, 65535)
 *   then records, until the input ends:
 *   [len:u16 little-endian][len bytes]   one ring-buffer record as user
 *                                        space receives it; len 0xffff: the
 *                                        rest of the input (records past
 *                                        64 KiB: a full segment record,
 *                                        packet records up to REC_PKT_MAX)
 *   A last record with fewer bytes than its len takes what is left.
 * Several records per input let the framers and the channel tracker build
 * state (a message split across segments, CREATE_CHAN then reads on the
 * channel, FIN from both ends...).  Each record is copied to a buffer of
 * exactly its size, freed after pipeline_segment returns, so that ASan
 * sees reads past a record and pointers kept into one.
 *
 * Besides the oracles of fuzz_common.h (payload_len <= h.size holds for
 * records as for frames: the same framers), an accepted segment record
 * must have views that stay inside it: at most REC_SPANS_MAX spans, each
 * non-empty, in order, not overlapping, inside [0, len) of the stream and
 * inside the record's bytes. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "gso_split.h"
#include "pcap_writer.h"
#include "record.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_global_init();
	return 0;
}

struct wctx {
	struct pcap_writer *w;
	uint64_t ts_ns;
};

static void write_packet(struct wctx *wc, const uint8_t *d, uint32_t caplen,
			 uint32_t wirelen)
{
	char err[256];

	if (wc->w && pcap_writer_write(wc->w, wc->ts_ns, d, caplen, wirelen, err,
				       sizeof(err)) != 0) {
		/* /dev/null does not fail: an error here is the writer's */
		fprintf(stderr, "fuzz_record: pcap_writer_write: %s\n", err);
		abort();
	}
}

static void write_segment(void *ctx, const uint8_t *seg, uint32_t len)
{
	if (fuzz_oracles && (len == 0 || len > GSO_SPLIT_MAX_SEG)) {
		char buf[96];

		snprintf(buf, sizeof(buf), "segment of %u bytes", len);
		fuzz_fail("gso_split emitted a segment of impossible size", buf, strlen(buf));
	}
	write_packet(ctx, seg, len, len);
}

/* on_live_record's packet branch, with an exact-size copy for the egress
 * checksum fix (catrace uses a REC_PKT_MAX buffer). */
static void packet_record(struct wctx *wc, const struct rec_info *ri)
{
	wc->ts_ns = ri->ts_mono_ns;
	if (ri->gso_size && ri->pkt_caplen == ri->pkt_wirelen &&
	    gso_split(ri->pkt, ri->pkt_caplen, ri->gso_size, write_segment, wc) > 0)
		return;
	if (ri->egress && ri->pkt_caplen == ri->pkt_wirelen) {
		uint8_t *fix = malloc(ri->pkt_caplen ? ri->pkt_caplen : 1);

		if (!fix)
			return;
		memcpy(fix, ri->pkt, ri->pkt_caplen);
		(void)l4_csum_finalize(fix, ri->pkt_caplen);
		write_packet(wc, fix, ri->pkt_caplen, ri->pkt_wirelen);
		free(fix);
		return;
	}
	write_packet(wc, ri->pkt, ri->pkt_caplen, ri->pkt_wirelen);
}

/* What record_parse accepted must be what it promised. */
static void check_views(const uint8_t *rec, size_t size, const struct rec_info *ri)
{
	const uint8_t *lo = rec + sizeof(struct ca_seg_record), *hi = rec + size;
	uint64_t next = 0;
	unsigned i;
	char buf[160];

	if (!fuzz_oracles)
		return;
	if (ri->seg.n > REC_SPANS_MAX || ri->seg.spans != ri->spans) {
		snprintf(buf, sizeof(buf), "%u spans", ri->seg.n);
		fuzz_fail("record_parse accepted a record with bad span views", buf, strlen(buf));
	}
	for (i = 0; i < ri->seg.n; i++) {
		const struct live_span *sp = &ri->spans[i];

		if (sp->len == 0 || sp->off < next || (uint64_t)sp->off + sp->len > ri->seg.len ||
		    sp->data < lo || sp->data > hi || sp->len > (size_t)(hi - sp->data)) {
			snprintf(buf, sizeof(buf), "span %u: off %u len %u, record %zu bytes, len %u",
				 i, sp->off, sp->len, size, ri->seg.len);
			fuzz_fail("record_parse accepted a span outside its record", buf, strlen(buf));
		}
		next = (uint64_t)sp->off + sp->len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t snaplens[4] = { 0, 96, 1514, 65535 };
	static struct fuzz_ctx fc;
	static struct rec_info ri;
	struct pcap_writer_opts wo;
	struct wctx wc = { NULL, 0 };
	char err[256];
	size_t off = 2;

	if (size < 2)
		return 0;
	fuzz_setup(&fc, data[0], data[1]);

	memset(&wo, 0, sizeof(wo));
	wo.path = "/dev/null";
	wo.snaplen = snaplens[(data[1] >> 4) & 3];
	wo.start_ns = 1;
	wc.w = pcap_writer_open(&wo, err, sizeof(err));
	if (!wc.w) {
		fprintf(stderr, "fuzz_record: pcap_writer_open: %s\n", err);
		abort();
	}

	while (off + 2 <= size) {
		size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
		enum rec_result r;
		uint8_t *copy;

		off += 2;
		if (len == 0xffff || len > size - off)
			len = size - off;
		copy = malloc(len ? len : 1);
		if (!copy)
			break;
		memcpy(copy, data + off, len);
		off += len;
		r = record_parse(copy, len, &ri);
		if (r != REC_OK) {
			(void)record_result_str(r);
		} else if (ri.packet) {
			packet_record(&wc, &ri);
		} else {
			check_views(copy, len, &ri);
			pipeline_segment(&fc.pl, &ri, ri.ts_mono_ns);
		}
		free(copy);
	}
	(void)pcap_writer_packets(wc.w);
	(void)pcap_writer_filename(wc.w);
	if (pcap_writer_close(wc.w, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_record: pcap_writer_close: %s\n", err);
		abort();
	}
	fuzz_teardown(&fc);
	return 0;
}
