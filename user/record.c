/* record: see record.h. */
#include "record.h"

#include <stddef.h>
#include <string.h>

#include "catrace_record.h"

const char *record_result_str(enum rec_result r)
{
	switch (r) {
	case REC_OK: return "ok";
	case REC_SHORT: return "record shorter than its header";
	case REC_BAD_VERSION: return "record of another layout version";
	case REC_BAD_LENGTH: return "record length fields disagree with its size";
	case REC_UNKNOWN_KIND: return "unknown record kind";
	}
	return "?";
}

/* A packet record: the bytes stay where they are (up to 128 KB). */
static enum rec_result parse_packet(const void *data, size_t size, struct rec_info *out)
{
	struct ca_pkt_record r;

	if (size < sizeof(r))
		return REC_SHORT;
	memcpy(&r, data, sizeof(r));
	if (r.cap_len > size - sizeof(r) || r.cap_len > REC_PKT_MAX ||
	    r.cap_len > r.wire_len)
		return REC_BAD_LENGTH;
	memset(out, 0, offsetof(struct rec_info, data));
	out->packet = true;
	out->ts_mono_ns = r.ts_ns;
	out->ifindex = r.ifindex;
	out->egress = r.flags & REC_F_EGRESS;
	out->pkt = (const uint8_t *)data + sizeof(r);
	out->pkt_caplen = r.cap_len;
	out->pkt_wirelen = r.wire_len;
	out->gso_size = r.gso_size;
	return REC_OK;
}

enum rec_result record_parse(const void *data, size_t size, struct rec_info *out)
{
	struct ca_record r;
	struct ca_msg *m = &out->msg;

	/* version, length and kind lead every record layout. */
	if (size < 6)
		return REC_SHORT;
	memcpy(&r, data, 6);
	if (r.version != CATRACE_REC_VERSION)
		return REC_BAD_VERSION;
	if (r.kind == REC_KIND_PACKET)
		return parse_packet(data, size, out);
	if (size < sizeof(r))
		return REC_SHORT;
	memcpy(&r, data, sizeof(r));
	if (r.kind != REC_KIND_MSG && r.kind != REC_KIND_CLOSE)
		return REC_UNKNOWN_KIND;
	if (r.rec_len < sizeof(r) || r.rec_len > size ||
	    r.data_len > sizeof(out->data) ||
	    (size_t)r.data_len > r.rec_len - sizeof(r))
		return REC_BAD_LENGTH;
	/* A message record never carries more payload than its header says,
	 * and its header is one of the two CA forms (found by fuzzing). */
	if (r.kind == REC_KIND_MSG &&
	    (r.data_len > r.size ||
	     (r.hdr_len != CA_HDR_LEN && r.hdr_len != CA_EXT_HDR_LEN)))
		return REC_BAD_LENGTH;

	/* Everything but the bytes the payload does not fill and the
	 * problem text past its NUL: this runs for every live message. */
	memset(out, 0, offsetof(struct rec_info, msg) + offsetof(struct ca_msg, problem));
	m->problem[0] = '\0';
	memcpy(out->data, (const uint8_t *)data + sizeof(r), r.data_len);
	out->ts_mono_ns = r.ts_ns;
	out->ifindex = r.ifindex;
	out->seq = r.seq;
	out->egress = r.flags & REC_F_EGRESS;
	out->close = r.kind == REC_KIND_CLOSE;
	out->rst = r.flags & REC_F_RST;
	if (r.dir == REC_DIR_REQUEST) {
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
	if (out->close) {
		m->dir = r.dir == REC_DIR_REQUEST ? CA_DIR_REQUEST : CA_DIR_RESPONSE;
		m->tcp = true;
		return REC_OK;
	}
	m->h.cmd = r.cmd;
	m->h.dtype = r.dtype;
	m->h.size = r.size;
	m->h.count = r.count;
	m->h.p1 = r.p1;
	m->h.p2 = r.p2;
	m->h.hdr_len = r.hdr_len;
	m->h.extended = r.hdr_len == CA_EXT_HDR_LEN;
	m->dir = r.dir == REC_DIR_REQUEST ? CA_DIR_REQUEST : CA_DIR_RESPONSE;
	m->tcp = r.proto == 6;
	m->payload = out->data;
	m->payload_len = r.data_len;
	/* The kernel copies only the first bytes of a payload, by design:
	 * that is not a truncation, except where the packet itself ended. */
	if (r.data_len < r.size)
		m->flags |= CA_MSG_BIG;
	if (r.flags & REC_F_TRUNCATED) {
		m->flags |= CA_MSG_TRUNCATED;
		strcpy(m->problem, "message cut short by the end of the packet");
	}
	if (r.flags & REC_F_RESYNC)
		m->flags |= CA_MSG_RESYNC;
	return REC_OK;
}
