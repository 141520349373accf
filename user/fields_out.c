/* fields_out: see fields_out.h. */
#include "fields_out.h"

#include <string.h>

#include "dissect.h"
#include "fmt.h"
#include "segmap.h"

/* Where a field's bytes are. */
enum where {
	W_FRAME,     /* all in the frame, at frame_off */
	W_EARLIER,   /* in an earlier segment of the stream */
	W_SPANS,     /* begins in an earlier segment, ends in a later one */
	W_NOT_CAPTURED,  /* after what the capture kept of the frame */
	W_UNKNOWN,   /* the message's position is not known (resync, live) */
};

struct pos {
	enum where w;
	uint64_t frame;          /* W_FRAME: which (W_SPANS: of the first byte) */
	uint32_t frame_off;      /* there; W_SPANS: when first_known */
	bool first_known;
	bool seq_known;
	uint32_t seq;
};

/* A field before the segment that completed its message: in the segment
 * that holds its first byte, if that one is remembered. */
static void earlier_pos(struct pos *p, const struct msg_ctx *c, uint32_t len)
{
	struct seg_pos sp;
	uint32_t d;

	if (!seg_ring_find(c->segs, p->seq, &sp))
		return;
	d = p->seq - sp.seq;
	p->frame = sp.frame;
	p->frame_off = sp.data_off + d;
	if (len <= sp.len - d) {
		p->w = W_FRAME;
	} else {
		p->w = W_SPANS;	/* into later segments, this one or not */
		p->first_known = true;
	}
}

static struct pos field_pos(const struct msg_ctx *c, const struct ca_msg *m,
			    uint32_t off, uint32_t len)
{
	struct pos p = { W_UNKNOWN, c->frame, 0, false, false, 0 };
	int64_t rel;

	if (!m->at_known)
		return p;
	if (m->tcp) {
		p.seq_known = true;
		p.seq = m->at + off;
	}
	if (!c->have_data)
		return p;
	/* Relative to the payload this frame holds: on UDP the datagram's,
	 * on TCP the segment's, by sequence number (wrapping). */
	rel = m->tcp ? (int64_t)(int32_t)(p.seq - c->data_seq) : (int64_t)m->at + off;
	if (rel < 0) {
		p.w = rel + (int64_t)len > 0 ? W_SPANS : W_EARLIER;
		earlier_pos(&p, c, len);
		return p;
	}
	/* A field the capture cut begins here all the same ("captured" says
	 * how much of it there is); one past the cut has no place. */
	if ((uint64_t)rel + len > c->data_len && (uint64_t)rel >= c->data_len) {
		p.w = W_NOT_CAPTURED;
		return p;
	}
	p.w = W_FRAME;
	p.frame_off = c->data_off + (uint32_t)rel;
	return p;
}

/* ---- text ---- */

static void pad_to(struct sbuf *sb, size_t line_start, size_t col)
{
	size_t n = sb->len - line_start;

	sbuf_putc(sb, ' ');
	for (n++; n < col; n++)
		sbuf_putc(sb, ' ');
}

static void put_pos_text(struct sbuf *sb, const struct msg_ctx *c, const struct pos *p,
			 const struct dis_field *f)
{
	sbuf_putc(sb, '[');
	switch (p->w) {
	case W_FRAME:
		if (p->frame != c->frame)
			sbuf_printf(sb, "frame %llu ", (unsigned long long)p->frame);
		sbuf_printf(sb, "@%u", p->frame_off);
		break;
	case W_EARLIER:
		sbuf_puts(sb, "earlier segment");
		break;
	case W_SPANS:
		if (p->first_known)
			sbuf_printf(sb, "spans segments from frame %llu @%u",
				    (unsigned long long)p->frame, p->frame_off);
		else
			sbuf_puts(sb, "spans segments");
		break;
	case W_NOT_CAPTURED:
		sbuf_puts(sb, "cut by the capture");
		break;
	case W_UNKNOWN:
		sbuf_printf(sb, "msg+%u", f->off);
		break;
	}
	if (p->seq_known)
		sbuf_printf(sb, " seq %u", p->seq);
	sbuf_printf(sb, " len %u", f->len);
	if (f->have < f->len)
		sbuf_printf(sb, ", %u captured", f->have);
	sbuf_putc(sb, ']');
}

/* Raw bytes, spaced; long fields show their first 16. */
static void put_raw_text(struct sbuf *sb, const struct dis_msg *dm, const struct dis_field *f)
{
	uint32_t i, n = f->have < 16 ? f->have : 16;

	for (i = 0; i < n; i++)
		sbuf_printf(sb, " %02x", dm->bytes[f->off + i]);
	if (f->have > n)
		sbuf_puts(sb, " ...");
}

static void put_field_text(struct sbuf *sb, const struct msg_ctx *c, const struct dis_msg *dm,
			   const struct dis_field *f, const struct pos *p)
{
	size_t start;
	bool known;

	sbuf_putc(sb, '\n');
	start = sb->len;
	sbuf_puts(sb, f->depth ? "        " : "    ");
	sbuf_puts(sb, f->d->name);
	if (f->index >= 0)
		sbuf_printf(sb, " [%d]", f->index);
	sbuf_puts(sb, ": ");
	dis_field_hvalue(dm, f, sb, &known);
	if ((f->d->type == DIS_ENUM || f->d->type == DIS_FLAGS) && f->have == f->len) {
		sbuf_puts(sb, " (");
		dis_field_value_json(dm, f, sb);
		sbuf_putc(sb, ')');
	}
	pad_to(sb, start, 64);
	sbuf_printf(sb, "%s ", f->d->id);
	put_pos_text(sb, c, p, f);
	put_raw_text(sb, dm, f);
}

static void put_hexdump(struct sbuf *sb, const struct dis_msg *dm)
{
	size_t i, j;

	for (i = 0; i < dm->have; i += 16) {
		sbuf_printf(sb, "\n    %04zx ", i);
		for (j = i; j < i + 16; j++) {
			if (j < dm->have)
				sbuf_printf(sb, " %02x", dm->bytes[j]);
			else
				sbuf_puts(sb, "   ");
			if (j == i + 7)
				sbuf_putc(sb, ' ');
		}
		sbuf_puts(sb, "  ");
		for (j = i; j < i + 16 && j < dm->have; j++) {
			uint8_t ch = dm->bytes[j];

			sbuf_putc(sb, ch >= 0x20 && ch < 0x7f ? (char)ch : '.');
		}
	}
	if (dm->have < dm->total)
		sbuf_printf(sb, "\n    (%llu of %llu bytes captured)",
			    (unsigned long long)dm->have, (unsigned long long)dm->total);
}

/* A layer's name from its fields' ids: "eth.src" -> "eth". */
static size_t layer_len(const char *id)
{
	const char *dot = strchr(id, '.');

	return dot ? (size_t)(dot - id) : strlen(id);
}

static bool same_layer(const char *a, const char *b)
{
	size_t n = layer_len(a);

	return n == layer_len(b) && !strncmp(a, b, n);
}

/* The frame's headers, as a tree with a line per layer. */
static void put_headers_text(struct sbuf *sb, const struct msg_ctx *c)
{
	struct dis_msg hm;
	size_t i;

	if (!c->frame_data || !c->have_data) {
		sbuf_puts(sb, "\n  (headers: not the frame being read)");
		return;
	}
	if (dissect_headers(&hm, c->linktype, c->frame_data, c->data_off)) {
		for (i = 0; i < hm.n; i++) {
			struct pos p = { W_FRAME, c->frame, hm.f[i].off, false, false, 0 };

			if (!i || !same_layer(hm.f[i].d->id, hm.f[i - 1].d->id))
				sbuf_printf(sb, "\n  %.*s", (int)layer_len(hm.f[i].d->id),
					    hm.f[i].d->id);
			put_field_text(sb, c, &hm, &hm.f[i], &p);
		}
	}
	dis_msg_free(&hm);
}

void fields_out_text(struct sbuf *sb, const struct output *o, const struct msg_ctx *c,
		     const struct ca_msg *m)
{
	bool tree = o->tree, hex = o->hexdump;
	struct dis_msg dm;
	struct pos mp;
	size_t i;

	if (!dissect_msg(&dm, m, tree ? o->max_elements : 1)) {
		sbuf_puts(sb, "\n    (out of memory dissecting this message)");
		dis_msg_free(&dm);
		return;
	}
	mp = field_pos(c, m, 0, 0);
	sbuf_printf(sb, "\n  Frame %llu", (unsigned long long)c->frame);
	if (mp.w == W_FRAME && mp.frame != c->frame)
		sbuf_printf(sb, ", CA message begun in frame %llu at offset %u",
			    (unsigned long long)mp.frame, mp.frame_off);
	else if (mp.w == W_FRAME)
		sbuf_printf(sb, ", CA message at offset %u", mp.frame_off);
	else if (mp.w == W_EARLIER || mp.w == W_SPANS)
		sbuf_puts(sb, ", CA message begun in an earlier segment");
	if (mp.seq_known)
		sbuf_printf(sb, ", stream seq %u", mp.seq);
	sbuf_printf(sb, ", %llu bytes", (unsigned long long)dm.total);
	if (dm.have < dm.total)
		sbuf_printf(sb, " (%llu captured)", (unsigned long long)dm.have);
	if (tree) {
		if (o->all_layers) {
			put_headers_text(sb, c);
			sbuf_puts(sb, "\n  ca");
		}
		for (i = 0; i < dm.n; i++) {
			struct pos p = field_pos(c, m, dm.f[i].off, dm.f[i].len);

			put_field_text(sb, c, &dm, &dm.f[i], &p);
		}
	}
	if (hex)
		put_hexdump(sb, &dm);
	dis_msg_free(&dm);
}

/* ---- JSON ---- */

static void put_field_json(struct sbuf *sb, const struct msg_ctx *c, const struct dis_msg *dm,
			   const struct dis_field *f, const struct pos *p)
{
	bool known;

	sbuf_puts(sb, "{\"id\":");
	sbuf_put_jsonstr(sb, f->d->id, strlen(f->d->id));
	sbuf_puts(sb, ",\"name\":");
	sbuf_put_jsonstr(sb, f->d->name, strlen(f->d->name));
	if (f->index >= 0)
		sbuf_printf(sb, ",\"index\":%d", f->index);
	/* offset is in the message's frame unless "frame" names another. */
	if (p->w == W_FRAME && p->frame != c->frame)
		sbuf_printf(sb, ",\"frame\":%llu", (unsigned long long)p->frame);
	if (p->w == W_FRAME)
		sbuf_printf(sb, ",\"offset\":%u", p->frame_off);
	else
		sbuf_puts(sb, ",\"offset\":null");
	sbuf_printf(sb, ",\"length\":%u,\"value\":", f->len);
	dis_field_value_json(dm, f, sb);
	sbuf_puts(sb, ",\"hvalue\":");
	known = true;
	if (dis_field_is_text(f) && f->have == f->len) {
		/* Text means itself: the characters, unquoted. */
		dis_field_value_json(dm, f, sb);
	} else {
		struct sbuf hv;

		sbuf_init(&hv);
		dis_field_hvalue(dm, f, &hv, &known);
		sbuf_put_jsonstr(sb, hv.buf ? hv.buf : "", hv.len);
		if (hv.oom)
			sb->oom = true;
		sbuf_free(&hv);
	}
	if (!known)
		sbuf_puts(sb, ",\"unknown\":true");
	sbuf_puts(sb, ",\"raw\":\"");
	dis_field_hex(dm, f, sb);
	sbuf_putc(sb, '"');
	/* CA fields: where in the message too (header layers' offsets are
	 * the frame's already). */
	if (strncmp(f->d->id, "ca.", 3) == 0)
		sbuf_printf(sb, ",\"msg_offset\":%u", f->off);
	if (p->seq_known)
		sbuf_printf(sb, ",\"seq\":%u", p->seq);
	if (f->have < f->len)
		sbuf_printf(sb, ",\"captured\":%u", f->have);
	switch (p->w) {
	case W_EARLIER:
		sbuf_puts(sb, ",\"in\":\"earlier_segment\"");
		break;
	case W_SPANS:
		sbuf_puts(sb, ",\"in\":\"spans_segments\"");
		if (p->first_known)
			sbuf_printf(sb, ",\"first_frame\":%llu,\"first_offset\":%u",
				    (unsigned long long)p->frame, p->frame_off);
		break;
	case W_NOT_CAPTURED:
		sbuf_puts(sb, ",\"in\":\"not_captured\"");
		break;
	case W_UNKNOWN:	/* live (no frame), or after a lost boundary */
		sbuf_puts(sb, ",\"in\":\"unknown\"");
		break;
	default:
		break;
	}
	if (f->depth)
		sbuf_printf(sb, ",\"depth\":%u", f->depth);
	sbuf_putc(sb, '}');
}

/* The frame's headers as layers: "eth":[...],"ip":[...],"tcp":[...], */
static void put_headers_json(struct sbuf *sb, const struct msg_ctx *c)
{
	struct dis_msg hm;
	size_t i;

	if (!c->frame_data || !c->have_data)
		return;
	if (dissect_headers(&hm, c->linktype, c->frame_data, c->data_off)) {
		for (i = 0; i < hm.n; i++) {
			struct pos p = { W_FRAME, c->frame, hm.f[i].off, false, false, 0 };
			bool first = !i || !same_layer(hm.f[i].d->id, hm.f[i - 1].d->id);

			if (first) {
				if (i)
					sbuf_puts(sb, "],");
				sbuf_printf(sb, "\"%.*s\":[", (int)layer_len(hm.f[i].d->id),
					    hm.f[i].d->id);
			} else {
				sbuf_putc(sb, ',');
			}
			put_field_json(sb, c, &hm, &hm.f[i], &p);
		}
		if (hm.n)
			sbuf_puts(sb, "],");
	}
	dis_msg_free(&hm);
}

void fields_out_json(struct sbuf *sb, const struct output *o, const struct msg_ctx *c,
		     const struct ca_msg *m)
{
	size_t max_elements = o->max_elements;
	struct dis_msg dm;
	struct pos mp = field_pos(c, m, 0, 0);
	const char *name = ca_command_name(&m->h, m->dir, m->tcp);
	size_t i;

	sbuf_printf(sb, "{\"frame\":%llu,\"ts\":%llu.%09llu,\"src\":\"",
		    (unsigned long long)c->frame,
		    (unsigned long long)(c->ts_ns / 1000000000u),
		    (unsigned long long)(c->ts_ns % 1000000000u));
	sbuf_put_ipv4(sb, c->src_ip);
	sbuf_printf(sb, "\",\"sport\":%u,\"dst\":\"", c->sport);
	sbuf_put_ipv4(sb, c->dst_ip);
	sbuf_printf(sb, "\",\"dport\":%u,\"proto\":\"%s\",\"command\":\"%s\",\"dir\":\"%s\",\"pv\":",
		    c->dport, c->tcp ? "tcp" : "udp", name,
		    m->dir == CA_DIR_REQUEST ? "request" : "response");
	if (c->pv)
		sbuf_put_jsonstr(sb, c->pv, c->pv_len);
	else
		sbuf_puts(sb, "null");
	if (!dissect_msg(&dm, m, max_elements)) {
		sbuf_puts(sb, ",\"error\":\"out of memory\"}");
		dis_msg_free(&dm);
		return;
	}
	sbuf_puts(sb, ",\"msg\":{");
	if (mp.w == W_FRAME && mp.frame != c->frame)
		sbuf_printf(sb, "\"frame\":%llu,", (unsigned long long)mp.frame);
	sbuf_puts(sb, "\"offset\":");
	if (mp.w == W_FRAME)
		sbuf_printf(sb, "%u", mp.frame_off);
	else
		sbuf_puts(sb, "null");
	if (mp.seq_known)
		sbuf_printf(sb, ",\"seq\":%u", mp.seq);
	sbuf_printf(sb, ",\"length\":%llu,\"captured\":%llu}",
		    (unsigned long long)dm.total, (unsigned long long)dm.have);
	if (m->flags & CA_MSG_MALFORMED) {
		sbuf_puts(sb, ",\"malformed\":");
		sbuf_put_jsonstr(sb, m->problem, strlen(m->problem));
	} else if (m->flags & CA_MSG_TRUNCATED) {
		sbuf_puts(sb, ",\"truncated\":");
		sbuf_put_jsonstr(sb, m->problem, strlen(m->problem));
	}
	sbuf_puts(sb, ",\"layers\":{");
	if (o->all_layers)
		put_headers_json(sb, c);
	sbuf_puts(sb, "\"ca\":[");
	for (i = 0; i < dm.n; i++) {
		struct pos p = field_pos(c, m, dm.f[i].off, dm.f[i].len);

		if (i)
			sbuf_putc(sb, ',');
		put_field_json(sb, c, &dm, &dm.f[i], &p);
	}
	sbuf_puts(sb, "]}}");
	dis_msg_free(&dm);
}

/* ---- the description ---- */

static void put_dict_json(struct sbuf *sb, enum dis_dict d)
{
	size_t i;
	uint64_t v;
	const char *nm;
	enum ca_dir dir, last = CA_DIR_REQUEST;
	bool by_dir = d == DIS_DICT_COMMAND;

	sbuf_puts(sb, by_dir ? "{\"requests\":{" : "{");
	for (i = 0; dis_dict_at(d, i, &v, &nm, &dir); i++) {
		if (by_dir && dir != last) {
			sbuf_puts(sb, "},\"responses\":{");
			last = dir;
		} else if (i) {
			sbuf_putc(sb, ',');
		}
		sbuf_printf(sb, "\"%llu\":", (unsigned long long)v);
		sbuf_put_jsonstr(sb, nm, strlen(nm));
	}
	sbuf_puts(sb, by_dir ? "}}" : "}");
}

/* The range a field's bytes allow. */
static void put_range_json(struct sbuf *sb, const struct dis_desc *d)
{
	switch (d->type) {
	case DIS_UINT:
	case DIS_ENUM:
	case DIS_FLAGS:
	case DIS_IPV4:
		sbuf_printf(sb, ",\"min\":0,\"max\":%llu",
			    d->size >= 8 ? ~0ull : (1ull << (8 * d->size)) - 1);
		break;
	case DIS_INT:
		sbuf_printf(sb, ",\"min\":-%llu,\"max\":%llu",
			    1ull << (8 * d->size - 1), (1ull << (8 * d->size - 1)) - 1);
		break;
	default:
		break;
	}
}

void fields_describe_json(struct sbuf *sb)
{
	size_t i;
	int d;

	sbuf_puts(sb, "{\"protocol\":\"ca\",\"fields\":[");
	for (i = 0; i < dis_n_descs; i++) {
		const struct dis_desc *ds = &dis_descs[i];
		const char *dict = dis_dict_name(ds->dict);

		if (i)
			sbuf_putc(sb, ',');
		sbuf_puts(sb, "\n{\"id\":");
		sbuf_put_jsonstr(sb, ds->id, strlen(ds->id));
		sbuf_puts(sb, ",\"name\":");
		sbuf_put_jsonstr(sb, ds->name, strlen(ds->name));
		sbuf_printf(sb, ",\"type\":\"%s\"", dis_type_name(ds->type));
		if (ds->size)
			sbuf_printf(sb, ",\"length\":%u", ds->size);
		else
			sbuf_puts(sb, ",\"length\":null");
		if (ds->array)
			sbuf_puts(sb, ",\"array\":true");
		if (dict)
			sbuf_printf(sb, ",\"dict\":\"%s\"", dict);
		put_range_json(sb, ds);
		sbuf_putc(sb, '}');
	}
	sbuf_puts(sb, "],\n\"dicts\":{");
	for (d = DIS_DICT_NONE + 1; d < DIS_DICT_COUNT; d++) {
		if (d > DIS_DICT_NONE + 1)
			sbuf_putc(sb, ',');
		sbuf_printf(sb, "\n\"%s\":", dis_dict_name((enum dis_dict)d));
		put_dict_json(sb, (enum dis_dict)d);
	}
	sbuf_puts(sb, "}}\n");
}
