/* record: see record.h. */
#include "record.h"

#include <string.h>

const char *record_result_str(enum rec_result r)
{
	switch (r) {
	case REC_OK: return "ok";
	case REC_SHORT: return "record shorter than its header";
	case REC_BAD_VERSION: return "record of another layout version";
	case REC_BAD_LENGTH: return "record length fields disagree with its size";
	case REC_UNKNOWN_KIND: return "unknown record kind";
	case REC_BAD_SPANS: return "record spans out of order or past its end";
	}
	return "?";
}

/* A packet record: the bytes stay where they are (up to 128 KB). */
static enum rec_result parse_packet(const uint8_t *data, size_t size, struct rec_info *out)
{
	struct ca_pkt_record r;

	if (size < sizeof(r))
		return REC_SHORT;
	memcpy(&r, data, sizeof(r));
	if (r.cap_len > size - sizeof(r) || r.cap_len > REC_PKT_MAX ||
	    r.cap_len > r.wire_len)
		return REC_BAD_LENGTH;
	out->packet = true;
	out->ts_mono_ns = r.ts_ns;
	out->ifindex = r.ifindex;
	out->egress = r.flags & REC_F_EGRESS;
	out->pkt = data + sizeof(r);
	out->pkt_caplen = r.cap_len;
	out->pkt_wirelen = r.wire_len;
	out->gso_size = r.gso_size;
	out->fragment = r.flags & REC_F_FRAGMENT;
	return REC_OK;
}

/* The spans of a segment record: each inside the record's bytes and its
 * stream range, in order, not overlapping.  Span data is padded to 8. */
static enum rec_result parse_spans(const uint8_t *data, size_t rec_len,
				   const struct ca_seg_record *r, struct rec_info *out)
{
	size_t pos = sizeof(*r);
	uint64_t next = 0;
	unsigned i;

	if (r->n_spans > REC_SPANS_MAX)
		return REC_BAD_SPANS;
	for (i = 0; i < r->n_spans; i++) {
		struct ca_span sp;
		size_t padded;

		if (rec_len - pos < sizeof(sp))
			return REC_BAD_SPANS;
		memcpy(&sp, data + pos, sizeof(sp));
		pos += sizeof(sp);
		padded = ((size_t)sp.len + 7) & ~(size_t)7;
		if (sp.len == 0 || sp.len > REC_SEG_DATA_MAX || padded > rec_len - pos ||
		    sp.off < next || (uint64_t)sp.off + sp.len > r->len)
			return REC_BAD_SPANS;
		out->spans[i].off = sp.off;
		out->spans[i].len = sp.len;
		out->spans[i].data = data + pos;
		pos += padded;
		next = (uint64_t)sp.off + sp.len;
	}
	out->seg.n = r->n_spans;
	return REC_OK;
}

enum rec_result record_parse(const void *data, size_t size, struct rec_info *out)
{
	struct ca_rec_prefix pre;
	struct ca_seg_record r;

	if (size < sizeof(pre))
		return REC_SHORT;
	memcpy(&pre, data, sizeof(pre));
	if (pre.version != CATRACE_REC_VERSION)
		return REC_BAD_VERSION;
	memset(out, 0, offsetof(struct rec_info, spans));
	if (pre.kind == REC_KIND_PACKET)
		return parse_packet(data, size, out);
	if (pre.kind != REC_KIND_SEG)
		return REC_UNKNOWN_KIND;
	if (size < sizeof(r))
		return REC_SHORT;
	memcpy(&r, data, sizeof(r));
	if (r.rec_len < sizeof(r) || r.rec_len > size ||
	    r.rec_len > sizeof(r) + REC_SEG_DATA_MAX)
		return REC_BAD_LENGTH;
	if (r.proto != 6 && r.proto != 17)
		return REC_BAD_LENGTH;
	out->ts_mono_ns = r.ts_ns;
	out->ifindex = r.ifindex;
	out->egress = r.flags & REC_F_EGRESS;
	out->tcp = r.proto == 6;
	out->dir = r.dir == REC_DIR_REQUEST ? CA_DIR_REQUEST : CA_DIR_RESPONSE;
	out->saddr = r.saddr;
	out->daddr = r.daddr;
	out->sport = r.sport;
	out->dport = r.dport;
	if (out->dir == CA_DIR_REQUEST) {
		out->key.cli_ip = r.saddr;
		out->key.cli_port = r.sport;
		out->key.srv_ip = r.daddr;
		out->key.srv_port = r.dport;
	} else {
		out->key.cli_ip = r.daddr;
		out->key.cli_port = r.dport;
		out->key.srv_ip = r.saddr;
		out->key.srv_port = r.sport;
	}
	out->seg.tcp_flags = r.tcp_flags;
	out->seg.lost = r.flags & REC_F_LOST;
	out->seg.boundary = r.flags & REC_F_BOUNDARY;
	out->seg.late = r.flags & REC_F_LATE;
	out->seg.seq = r.seq;
	out->seg.len = r.len;
	out->seg.spans = out->spans;
	return parse_spans(data, r.rec_len, &r, out);
}

bool record_in_time_order(const void *data, size_t size, uint64_t *ts_ns)
{
	struct ca_seg_record r;

	/* The packet record's first fields are the segment record's. */
	if (size < sizeof(r))
		return false;
	memcpy(&r, data, sizeof(r));
	if (r.version != CATRACE_REC_VERSION)
		return false;
	if (r.kind != REC_KIND_SEG && !(r.kind == REC_KIND_PACKET && (r.flags & REC_F_FRAGMENT)))
		return false;
	*ts_ns = r.ts_ns;
	return true;
}
