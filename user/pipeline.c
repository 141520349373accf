/* pipeline: see pipeline.h. */
#include "pipeline.h"

#include "dbr.h"

#include <errno.h>
#include "audit.h"
#include "record.h"

#include <fnmatch.h>
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEEP_MIN (64 * 1024)

static void on_tcp_msg(void *ctx, struct ca_msg *m);
static void on_flow_close(void *ctx, const struct flow_key *k);

void pipeline_init(struct pipeline *pl, FILE *fp)
{
	memset(pl, 0, sizeof(*pl));
	pl->fp = fp;
	pl->detect_circuits = true;
	classify_init(&pl->cls, CA_SERVER_PORT_DEFAULT, CA_REPEATER_PORT_DEFAULT);
	midstream_init(&pl->mid);
	ipfrag_init(&pl->frags);
	track_init(&pl->track);
	output_init(&pl->out);
	sbuf_init(&pl->line);
	segmap_init(&pl->segs);
	/* Flows are set up lazily (pipeline_flows_ready) so that
	 * --max-elements can size what a message keeps. */
}

static void flows_ready(struct pipeline *pl)
{
	size_t keep = KEEP_MIN;

	if (pl->flows.on_msg)
		return;
	/* Enough payload for the biggest metadata and the elements shown;
	 * with no element limit, keep up to 16 MiB of each message. */
	if (pl->out.max_elements == 0 || pl->out.full)
		keep = 16u << 20;
	else if (pl->out.max_elements * 40 + 1024 > keep)
		keep = pl->out.max_elements * 40 + 1024;
	flow_table_init(&pl->flows, FLOW_TABLE_MAX, keep, on_tcp_msg, on_flow_close, pl);
	pl->flows.track_parts = pl->notes && pl->notes->part;
}

static bool cmd_token_matches(const char *tok, const struct ca_msg *m)
{
	const char *full = ca_command_name(&m->h, m->dir, m->tcp);
	const char *cname = ca_cmd_const_name(m->h.cmd);
	size_t n = strlen(tok), fl = strlen(full);
	char *end;
	unsigned long v = strtoul(tok, &end, 10);

	if (*tok && !*end)
		return v == m->h.cmd;
	if (!strcasecmp(tok, full) || (cname && !strcasecmp(tok, cname)))
		return true;
	/* "ReadNotify" matches both ReadNotifyRequest and ...Response. */
	if (n < fl && !strncasecmp(tok, full, n) &&
	    (!strcasecmp(full + n, "Request") || !strcasecmp(full + n, "Response")))
		return true;
	return false;
}

bool pipeline_cmd_token_valid(const char *tok)
{
	static const char *const extra[] = { "Beacon", "ObsoleteCommand", "UnknownCommand", NULL };
	struct ca_msg m;
	unsigned cmd;
	int d, i;
	char *end;

	if (!*tok)
		return false;
	strtoul(tok, &end, 10);
	if (!*end)
		return true;
	for (i = 0; extra[i]; i++)
		if (!strcasecmp(tok, extra[i]))
			return true;
	memset(&m, 0, sizeof(m));
	for (cmd = 0; cmd <= CA_PROTO_LAST_CMD; cmd++) {
		for (d = 0; d < 2; d++) {
			m.h.cmd = (uint16_t)cmd;
			m.dir = (enum ca_dir)d;
			m.h.size = 8;
			if (cmd_token_matches(tok, &m))
				return true;
		}
	}
	/* EventCancelResponse only exists with an empty EVENT_ADD. */
	return !strcasecmp(tok, "EventCancelResponse");
}

/* A GR/CTRL_ENUM reply names the channel's states: keep them, so that its
 * other enum values (monitor updates in TIME_ENUM) are shown by name. */
static void remember_enum_names(struct pipeline *pl, struct track_name *pv,
				const struct ca_msg *m)
{
	struct dbr_enum_names e;

	if (!pv->chan || m->dir != CA_DIR_RESPONSE || !dbr_is_enum(m->h.dtype) ||
	    (m->flags & (CA_MSG_MALFORMED | CA_MSG_TRUNCATED)) ||
	    (m->h.cmd != CA_PROTO_READ_NOTIFY && m->h.cmd != CA_PROTO_READ &&
	     m->h.cmd != CA_PROTO_EVENT_ADD))
		return;
	if (dbr_enum_names_parse(m->h.dtype, m->payload, m->payload_len, &e))
		track_set_enums(&pl->track, pv, &e);
}

static bool passes_filters(const struct pipeline *pl, const struct ca_msg *m,
			   const struct track_name *pv)
{
	unsigned i;

	if (pl->n_cmds) {
		bool ok = false;

		for (i = 0; i < pl->n_cmds && !ok; i++)
			ok = cmd_token_matches(pl->cmds[i], m);
		if (!ok)
			return false;
	}
	if (pl->n_pv_globs) {
		char name[CA_MAX_NAME_LEN + 1];
		bool ok = false;
		size_t n;

		if (!pv->name)
			return false;
		n = pv->len < CA_MAX_NAME_LEN ? pv->len : CA_MAX_NAME_LEN;
		memcpy(name, pv->name, n);
		name[n] = '\0';
		for (i = 0; i < pl->n_pv_globs && !ok; i++)
			ok = fnmatch(pl->pv_globs[i], name, 0) == 0;
		if (!ok)
			return false;
	}
	return true;
}

/* Learn server endpoints that the traffic itself announces (the rule
 * the kernel applies too: include/ca_rules.h). */
static void learn_from(struct pipeline *pl, const struct ca_msg *m,
		       uint32_t src_ip)
{
	struct ca_rule_hdr r = ca_hdr_rule(&m->h);
	uint32_t ip;
	uint16_t port;

	if (m->h.hdr_len < CA_HDR_LEN)
		return;
	if (ca_rule_announced_server(&r, m->dir == CA_DIR_REQUEST, m->tcp, src_ip, &ip, &port))
		classify_learn_server(&pl->cls, ip, port);
}

/* libca NUL-terminates (and pads) every PV name it sends: a SEARCH or
 * CREATE_CHAN whose payload holds no NUL in its first REC_META_BYTES
 * (all the kernel copies of a name, so live and offline agree; more than
 * the longest name libca sends) is not CA's. */
static void mark_unterminated_name(struct ca_msg *m)
{
	size_t n = m->h.size < REC_META_BYTES ? m->h.size : REC_META_BYTES;

	if (m->dir != CA_DIR_REQUEST || m->flags & (CA_MSG_MALFORMED | CA_MSG_TRUNCATED) ||
	    (m->h.cmd != CA_PROTO_SEARCH && m->h.cmd != CA_PROTO_CREATE_CHAN) ||
	    n == 0 || m->payload_len < n || memchr(m->payload, 0, n))
		return;
	m->flags |= CA_MSG_MALFORMED;
	snprintf(m->problem, sizeof(m->problem), "PV name without a terminating NUL");
}

/* Who is at the ends: the local processes (live) and the names the
 * circuit's client gave. */
static void name_ends(struct pipeline *pl, const struct flow_key *k, bool tcp,
		      struct msg_ctx *c)
{
	if (pl->proc)
		procattr_owners(pl->proc, k, tcp, &c->proc_client, &c->proc_server);
	if (tcp)
		c->who = track_client(&pl->track, k);
}

/* The packet being read, as a message's stamp. */
static struct flow_stamp cur_stamp(const struct pipeline *pl)
{
	struct flow_stamp at = { .ts_ns = pl->cur.ts_ns, .frame = pl->cur.number };

	return at;
}

/* pl->line and its newline out; false (and the run done) when that fails. */
static bool write_line(struct pipeline *pl)
{
	sbuf_putc(&pl->line, '\n');
	/* With a big stdio buffer, fwrite may take the whole line while the
	 * flush it did on the way failed: the error flag tells, and errno
	 * still says why. */
	if (fwrite(sbuf_str(&pl->line), 1, pl->line.len, pl->fp) != pl->line.len ||
	    ferror(pl->fp)) {
		/* Nobody reads any more (EPIPE), or the disk is full: stop. */
		pl->out_errno = errno ? errno : EIO;
		pl->done = true;
		return false;
	}
	return true;
}

/* --json=full: an empty datagram to the repeater registers its sender
 * (libca's way) without being a CA message; the line for it lets `catrace
 * build` put it back, so the repeater's answers decode the same.  Not
 * with filters: they select messages. */
static void emit_empty_datagram(struct pipeline *pl, const struct pkt *p)
{
	struct msg_ctx c;

	if (!pl->out.full || pl->out.style != OUT_JSON || pl->out.tmpl || pl->writes ||
	    pl->hook_only || pl->done || pl->n_cmds || pl->n_pv_globs)
		return;
	memset(&c, 0, sizeof(c));
	c.ts_ns = pl->cur.ts_ns;
	c.frame = pl->cur.number;
	c.src_ip = p->src_ip;
	c.dst_ip = p->dst_ip;
	c.sport = p->sport;
	c.dport = p->dport;
	sbuf_reset(&pl->line);
	output_format_empty_datagram(&pl->out, &pl->line, &c);
	write_line(pl);
}

/* The packet being read with where its payload is, for field offsets. */
static struct flow_stamp pkt_stamp(const struct pipeline *pl, const struct pkt *p)
{
	struct flow_stamp at = cur_stamp(pl);

	/* Live records have no frame: their payload is in the record. */
	if (pl->cur_valid && pl->cur.data && p->payload && p->payload >= pl->cur.data &&
	    p->payload <= pl->cur.data + pl->cur.caplen) {
		at.have_data = true;
		at.data_off = (uint32_t)(p->payload - pl->cur.data);
		at.data_len = p->payload_len;
		at.data_seq = p->proto == IPPROTO_TCP ? p->seq : 0;
	}
	return at;
}

static void count_printed(struct pipeline *pl)
{
	pl->st.printed++;
	if (pl->max_count && pl->st.printed >= pl->max_count)
		pl->done = true;
}

/* The message's line for its frame's comment. */
static void note_line(struct pipeline *pl, const struct flow_key *k,
		      const struct msg_ctx *c, const struct ca_msg *m)
{
	struct pipeline_notes *n = pl->notes;

	sbuf_reset(&n->text);
	if (pl->writes)
		audit_format(&n->out, &n->text, c, track_client(&pl->track, k), m);
	else
		output_format(&n->out, &n->text, c, m);
	if (!n->text.oom)
		n->line(n->ctx, c->frame, c->ts_ns, sbuf_str(&n->text), n->text.len);
	if (n->part && c->tcp) {
		unsigned i;

		for (i = 0; i < pl->flows.n_msg_parts; i++)
			n->part(n->ctx, pl->flows.msg_parts[i].frame, pl->flows.msg_parts[i].ts_ns);
	}
	/* A message of a datagram put back together: its fragments too. */
	if (n->part && pl->in_reassembled) {
		unsigned i;

		for (i = 0; i < pl->frags.n_done; i++)
			n->part(n->ctx, pl->frags.done[i].frame, pl->frags.done[i].ts_ns);
	}
}

/* One message, stamped with the packet that carried its last byte. */
static void emit(struct pipeline *pl, const struct flow_key *k, bool tcp,
		 struct ca_msg *m, struct flow_stamp at)
{
	struct msg_ctx c;
	struct track_name pv;
	bool named = false;

	mark_unterminated_name(m);
	pl->st.messages++;
	if (m->flags & CA_MSG_MALFORMED)
		pl->st.malformed++;
	if (m->flags & CA_MSG_TRUNCATED)
		pl->st.truncated++;

	memset(&c, 0, sizeof(c));
	c.ts_ns = at.ts_ns;
	c.frame = at.frame;
	c.tcp = tcp;
	c.have_data = at.have_data;
	c.data_off = at.data_off;
	c.data_len = at.data_len;
	c.data_seq = at.data_seq;
	/* The headers can be shown when the message's frame is the one being
	 * read (its bytes are there). */
	if (at.have_data && pl->cur_valid && at.frame == pl->cur.number &&
	    at.data_off <= pl->cur.caplen) {
		c.frame_data = pl->cur.data;
		c.linktype = pl->cur_linktype;
	}
	if (tcp)
		c.segs = segmap_ring(&pl->segs, k, m->dir);
	if (m->dir == CA_DIR_REQUEST) {
		c.src_ip = k->cli_ip;
		c.sport = k->cli_port;
		c.dst_ip = k->srv_ip;
		c.dport = k->srv_port;
	} else {
		c.src_ip = k->srv_ip;
		c.sport = k->srv_port;
		c.dst_ip = k->cli_ip;
		c.dport = k->cli_port;
	}
	learn_from(pl, m, c.src_ip);
	pv = track_msg(&pl->track, k, m);
	c.pv = pv.name;
	c.pv_len = pv.len;
	c.pv_why = pv.why;
	if (!pv.name && pv.why)
		pl->st.unnamed++;
	remember_enum_names(pl, &pv, m);
	c.enums = pv.enums;
	/* top counts clients by who they are: name them first. */
	if (pl->census && pl->census->follow_activity) {
		name_ends(pl, k, tcp, &c);
		named = true;
	}
	if (pl->census)
		census_msg(pl->census, k, &c, m);

	if (pl->hook)
		pl->hook(pl->hook_ctx, k, &c, m);
	if (pl->hook_only && !pl->notes)
		return;
	if (pl->done || (pl->writes && !audit_selects(m)) || !passes_filters(pl, m, &pv))
		return;
	if (!named)
		name_ends(pl, k, tcp, &c);
	if (pl->notes)
		note_line(pl, k, &c, m);
	if (pl->hook_only) {
		/* Written to the file only: -c counts them as printed. */
		count_printed(pl);
		return;
	}
	sbuf_reset(&pl->line);
	if (pl->writes)
		audit_format(&pl->out, &pl->line, &c, track_client(&pl->track, k), m);
	else
		output_format(&pl->out, &pl->line, &c, m);
	/* The library takes the message itself instead of a line. */
	if (pl->deliver) {
		pl->deliver(pl->deliver_ctx, &c, m, &pl->line);
		count_printed(pl);
		return;
	}
	if (!write_line(pl))
		return;
	count_printed(pl);
}

static void on_tcp_msg(void *ctx, struct ca_msg *m)
{
	struct pipeline *pl = ctx;

	emit(pl, pl->flows.cur_key, true, m, pl->flows.stamp);
}

static void on_flow_close(void *ctx, const struct flow_key *k)
{
	struct pipeline *pl = ctx;

	classify_forget_flow(&pl->cls, k);
	track_circuit_close(&pl->track, k);
	segmap_forget(&pl->segs, k);
	if (pl->census)
		census_circuit_close(pl->census, k);
	if (pl->proc)
		procattr_forget(pl->proc, k, true);
}

struct udp_ctx {
	struct pipeline *pl;
	const struct flow_key *key;
	struct flow_stamp at;
};

static void on_udp_msg(void *ctx, struct ca_msg *m)
{
	struct udp_ctx *u = ctx;

	emit(u->pl, u->key, false, m, u->at);
}

static void handle_udp(struct pipeline *pl, const struct pkt *p,
		       const struct classified *cl)
{
	struct udp_ctx u = { pl, &cl->key, pkt_stamp(pl, p) };

	/* Registration with a repeater: libca sends an empty datagram,
	 * others a REPEATER_REGISTER.  The repeater then answers from a
	 * port of its own, which only this tells us about. */
	if (p->dport == pl->cls.repeater_port &&
	    (p->payload_wire_len == 0 ||
	     (p->payload_len >= 2 && p->payload[0] == 0 &&
	      p->payload[1] == CA_PROTO_REPEATER_REGISTER))) {
		classify_learn_repeater_client(&pl->cls, p->src_ip, p->sport);
		if (p->payload_wire_len == 0)
			emit_empty_datagram(pl, p);
	}
	if (cl->role == ROLE_SERVER && cl->dir == CA_DIR_REQUEST &&
	    p->dport != p->sport)
		classify_learn_udp_client(&pl->cls, p->sport);
	ca_walk_datagram(p->payload, p->payload_len, p->payload_wire_len, cl->dir,
			 on_udp_msg, &u);
}

/* A TCP packet on no known CA port: a circuit whose opening it shows
 * (VERSION first), or one joined midway whose segments hold whole CA
 * messages (the evidence segments before this one are decoded first). */
static bool detect_circuit(struct pipeline *pl, int linktype, const struct pkt *p);

/* The handshake of a flow admitted at its first payload, given to the
 * flow table as it came: the streams start at their SYNs, as in the
 * kernel, which starts following the flow there. */
static void replay_opening(struct pipeline *pl, const struct classified *cl,
			   const struct classify_opening *o)
{
	struct pkt syn;

	memset(&syn, 0, sizeof(syn));
	syn.proto = IPPROTO_TCP;
	syn.tcp_flags = TCPF_SYN;
	syn.src_ip = cl->key.cli_ip;
	syn.dst_ip = cl->key.srv_ip;
	syn.sport = cl->key.cli_port;
	syn.dport = cl->key.srv_port;
	syn.seq = o->cli_isn;
	flow_segment(&pl->flows, &cl->key, CA_DIR_REQUEST, &syn, cur_stamp(pl));
	if (!o->srv_seen)
		return;
	syn.tcp_flags = TCPF_SYN | TCPF_ACK;
	syn.src_ip = cl->key.srv_ip;
	syn.dst_ip = cl->key.cli_ip;
	syn.sport = cl->key.srv_port;
	syn.dport = cl->key.cli_port;
	syn.seq = o->srv_isn;
	syn.ack = o->cli_isn + 1;
	flow_segment(&pl->flows, &cl->key, CA_DIR_RESPONSE, &syn, cur_stamp(pl));
}

/* Keep this frame (an early payload) until its flow is judged. */
static void early_keep(struct pipeline *pl, const struct flow_key *k)
{
	struct early_frame *e;
	uint8_t *copy;

	if (pl->n_early >= PIPELINE_EARLY_MAX)
		return;  /* out of room: lost, as a refused flow's bytes are */
	copy = malloc(pl->cur.caplen ? pl->cur.caplen : 1);
	if (!copy)
		return;
	memcpy(copy, pl->cur.data, pl->cur.caplen);
	e = &pl->early[pl->n_early++];
	e->key = *k;
	e->f = pl->cur;
	e->f.data = copy;
}

/* Take out the kept frames of flow k, in the order they came; with
 * `decode`, decode each (the flow was admitted), else drop them. */
static void decode_frame(struct pipeline *pl, int linktype);
static void reassemble(struct pipeline *pl, const struct pkt *p, bool live);

/* A frame kept from earlier, decoded now as it came (its own time and
 * number; it was counted as a packet then); the frame being read stays
 * the current one after. */
static void decode_kept(struct pipeline *pl, int linktype, const struct frame *kept,
			bool in_capture)
{
	struct frame now = pl->cur;
	bool valid = pl->cur_valid;

	pl->cur = *kept;
	/* Bytes that are no frame of the capture (a datagram put back
	 * together) give fields no frame offsets. */
	pl->cur_valid = in_capture;
	decode_frame(pl, linktype);
	pl->cur = now;
	pl->cur_valid = valid;
}

static void early_release(struct pipeline *pl, const struct flow_key *k, bool decode,
			  int linktype)
{
	unsigned i, kept = 0;
	struct early_frame mine[PIPELINE_EARLY_MAX];
	unsigned n = 0;

	for (i = 0; i < pl->n_early; i++) {
		if (!memcmp(&pl->early[i].key, k, sizeof(*k)))
			mine[n++] = pl->early[i];
		else
			pl->early[kept++] = pl->early[i];
	}
	pl->n_early = kept;
	for (i = 0; i < n; i++) {
		if (decode)
			decode_kept(pl, linktype, &mine[i].f, true);
		free((void *)mine[i].f.data);
	}
}

/* A TCP packet of a pending learned server's flow: is its flow CA? */
static bool learned_flow_is_ca(struct pipeline *pl, const struct pkt *p,
			       const struct classified *cl, int linktype)
{
	struct classify_opening o;
	uint64_t refused = pl->cls.learned_refused;

	switch (classify_judge_flow(&pl->cls, p, cl, &o)) {
	case CLASSIFY_FLOW_CA:
		return true;
	case CLASSIFY_FLOW_ADMITTED:
		replay_opening(pl, cl, &o);
		/* What came early is given to the flow before this first
		 * payload: it waits there, held, for the bytes before it, and
		 * the other direction's messages wait with it. */
		early_release(pl, &cl->key, true, linktype);
		return true;
	case CLASSIFY_FLOW_EARLY:
		early_keep(pl, &cl->key);
		return false;
	case CLASSIFY_FLOW_OPENING:
		/* Not CA yet, but a cut capture (-w) needs it: without its
		 * SYNs, reading the cut again would not admit the flow. */
		if (pl->notes && pl->notes->ca_frame)
			pl->notes->ca_frame(pl->notes->ctx, pl->cur.number, pl->cur.ts_ns);
		return false;
	default:
		/* Refused (not a bare ACK of the handshake): what it kept goes. */
		if (pl->cls.learned_refused != refused)
			early_release(pl, &cl->key, false, linktype);
		return false;
	}
}

/* Live: a datagram put back together, decoded as the kernel's records of
 * a whole one would be.  Its TCP bytes are framed on their own (the
 * kernel's stream never had them: it reported them as a hole). */
static void decode_reassembled_live(struct pipeline *pl, const uint8_t *ip, uint32_t n)
{
	struct classified cl;
	const char *why;
	struct pkt p;

	memset(&p, 0, sizeof(p));
	if (pkt_parse_ipv4(ip, n, n, &p, &why) != PKT_OK || !classify_packet(&pl->cls, &p, &cl))
		return;
	pl->st.ca_reassembled++;
	pl->st.ca_packets++;
	if (p.proto == IPPROTO_UDP) {
		handle_udp(pl, &p, &cl);
	} else if (p.payload_len > 0) {
		struct live_span sp = { .off = 0, .len = p.payload_len, .data = p.payload };
		struct live_seg s = {
			/* Its FIN or RST is not the kernel's stream's. */
			.tcp_flags = p.tcp_flags & ~(TCPF_FIN | TCPF_RST | TCPF_SYN),
			.late = true,
			.seq = (p.tcp_flags & TCPF_SYN) ? p.seq + 1 : p.seq,
			.len = p.payload_len,
			.n = 1,
			.spans = &sp,
		};

		flow_live_segment(&pl->flows, &cl.key, cl.dir, &s, cur_stamp(pl));
	}
}

/* A fragment: held until its datagram is whole (as the receiver's stack
 * holds it), then the datagram is decoded at the packet that completed
 * it.  One the capture cut short cannot be put back together. */
static void reassemble(struct pipeline *pl, const struct pkt *p, bool live)
{
	uint8_t *whole;
	uint32_t n;

	if (!p->frag_ip ||
	    ipfrag_add(&pl->frags, p->frag_ip, p->frag_len, pl->cur.ts_ns, pl->cur.number,
		       &whole, &n) != IPFRAG_COMPLETE)
		return;
	if (live) {
		decode_reassembled_live(pl, whole, n);
	} else {
		struct frame f = pl->cur;   /* at the fragment that completed it */
		uint64_t ca_before = pl->st.ca_packets;

		f.data = whole;
		f.caplen = f.len = n;
		pl->in_reassembled = true;
		decode_kept(pl, DLT_IPV4, &f, false);
		pl->in_reassembled = false;
		if (pl->st.ca_packets > ca_before) {
			unsigned i;

			pl->st.ca_reassembled++;
			/* A cut (-w) keeps every fragment of a CA datagram. */
			for (i = 0; pl->notes && pl->notes->ca_frame && i < pl->frags.n_done; i++)
				pl->notes->ca_frame(pl->notes->ctx, pl->frags.done[i].frame,
						    pl->frags.done[i].ts_ns);
		}
	}
	free(whole);
}

/* The frame in pl->cur: parsed, classified, decoded. */
static void decode_frame(struct pipeline *pl, int linktype)
{
	const struct frame *f = &pl->cur;
	struct classified cl;
	enum pkt_result r;
	const char *why;
	struct pkt p;

	pl->cur_linktype = linktype;
	r = pkt_parse(linktype, f->data, f->caplen, f->len, &p, &why);
	if (r == PKT_FRAGMENT) {
		pl->st.fragments++;
		if (p.sport && classify_packet(&pl->cls, &p, &cl))
			pl->st.ca_fragments++;
		reassemble(pl, &p, false);
		return;
	}
	if (r == PKT_MALFORMED && p.ip_len_short) {
		if (p.sport && classify_packet(&pl->cls, &p, &cl))
			pl->st.ip_len_short++;
		else
			pl->st.bad_headers++;
		return;
	}
	if (r != PKT_OK) {
		/* Count broken packets only where the ports say CA. */
		if ((r == PKT_MALFORMED || r == PKT_TRUNCATED) && p.sport &&
		    classify_packet(&pl->cls, &p, &cl))
			pl->st.bad_packets++;
		else if ((r == PKT_MALFORMED || r == PKT_TRUNCATED) && !p.sport)
			pl->st.bad_headers++;
		return;
	}
	if (!classify_packet(&pl->cls, &p, &cl)) {
		if (p.proto != IPPROTO_TCP || !pl->detect_circuits ||
		    !detect_circuit(pl, linktype, &p) || !classify_packet(&pl->cls, &p, &cl))
			return;
	}
	if (cl.pending && !learned_flow_is_ca(pl, &p, &cl, linktype))
		return;
	pl->st.ca_packets++;
	if (pl->notes && pl->notes->ca_frame)
		pl->notes->ca_frame(pl->notes->ctx, f->number, f->ts_ns);
	if (p.proto == IPPROTO_UDP) {
		handle_udp(pl, &p, &cl);
		return;
	}
	if ((pl->out.tree || pl->out.json_fields) && p.payload_len) {
		/* Fields of a message that began in this segment can then say
		 * which frame holds them. */
		struct flow_stamp at = pkt_stamp(pl, &p);
		struct seg_pos sp = { p.seq, p.payload_len, at.data_off, at.frame };

		if (at.have_data)
			segmap_note(&pl->segs, &cl.key, cl.dir, &sp);
	}
	flow_segment(&pl->flows, &cl.key, cl.dir, &p, pkt_stamp(pl, &p));
}

static bool detect_circuit(struct pipeline *pl, int linktype, const struct pkt *p)
{
	struct midstream_found found;
	unsigned i;

	if (classify_looks_like_circuit_open(p->payload, p->payload_len)) {
		/* A circuit to a server we were never told about: its
		 * content is the evidence, all its flows are CA. */
		classify_confirm_server(&pl->cls, p->dst_ip, p->dport);
		pl->st.detected++;
		return true;
	}
	if (!midstream_segment(&pl->mid, p, &pl->cur, &found))
		return false;
	classify_confirm_server(&pl->cls, found.srv_ip, found.srv_port);
	pl->st.detected++;
	/* Each earlier evidence frame is now CA. */
	for (i = 0; i < found.n; i++)
		decode_kept(pl, linktype, &found.frames[i], true);
	midstream_release(&found);
	return true;
}

void pipeline_frame(struct pipeline *pl, int linktype, const struct frame *f)
{
	flows_ready(pl);
	pl->cur = *f;
	pl->st.packets++;
	pl->cls.now_ns = f->ts_ns;
	/* The frame's bytes are the caller's until it returns: messages a
	 * later call (or the end) completes must not point into them. */
	pl->cur_valid = true;
	decode_frame(pl, linktype);
	pl->cur_valid = false;
}

/* The datagram's bytes, put back together from its spans (the kernel
 * sends a datagram whole, in one span unless it is over REC_SPAN_MAX_LEN). */
static const uint8_t *udp_payload(const struct rec_info *ri, uint32_t *len)
{
	static uint8_t buf[REC_SEG_DATA_MAX];
	uint32_t n = 0;
	unsigned i;

	if (ri->seg.n == 1 && ri->spans[0].off == 0) {
		*len = ri->spans[0].len;
		return ri->spans[0].data;
	}
	for (i = 0; i < ri->seg.n; i++) {
		const struct live_span *sp = &ri->spans[i];

		if (sp->off != n || sp->len > sizeof(buf) - n)
			break;  /* a hole: the datagram ends where it starts */
		memcpy(buf + n, sp->data, sp->len);
		n += sp->len;
	}
	*len = n;
	return buf;
}

void pipeline_segment(struct pipeline *pl, const struct rec_info *ri, uint64_t ts_ns)
{
	flows_ready(pl);
	pl->cur.ts_ns = ts_ns;
	pl->cur.number++;
	pl->st.packets++;
	pl->st.ca_packets++;
	if (ri->tcp) {
		flow_live_segment(&pl->flows, &ri->key, ri->dir, &ri->seg, cur_stamp(pl));
		return;
	}
	{
		struct classified cl;
		struct pkt p;

		memset(&p, 0, sizeof(p));
		p.src_ip = ri->saddr;
		p.dst_ip = ri->daddr;
		p.sport = ri->sport;
		p.dport = ri->dport;
		p.proto = IPPROTO_UDP;
		p.payload = udp_payload(ri, &p.payload_len);
		p.payload_wire_len = ri->seg.len;
		if (p.payload_wire_len < p.payload_len)
			p.payload_wire_len = p.payload_len;
		/* The kernel decided that this is CA, and which way it goes. */
		if (!classify_packet(&pl->cls, &p, &cl) || cl.dir != ri->dir) {
			cl.role = ROLE_SERVER;
			cl.dir = ri->dir;
			cl.key = ri->key;
		}
		handle_udp(pl, &p, &cl);
	}
}

void pipeline_fragment(struct pipeline *pl, const uint8_t *frame, uint32_t len, uint64_t ts_ns)
{
	const char *why;
	struct pkt p;

	flows_ready(pl);
	pl->cur.ts_ns = ts_ns;
	pl->cur.number++;
	pl->st.packets++;
	if (pkt_parse(DLT_EN10MB, frame, len, len, &p, &why) != PKT_FRAGMENT)
		return;
	pl->st.fragments++;
	reassemble(pl, &p, true);
}

void pipeline_record(struct pipeline *pl, const struct rec_info *ri, uint64_t ts_ns)
{
	if (!ri->packet)
		pipeline_segment(pl, ri, ts_ns);
	else if (ri->fragment)
		pipeline_fragment(pl, ri->pkt, ri->pkt_caplen, ts_ns);
}

void pipeline_finish(struct pipeline *pl)
{
	flows_ready(pl);
	flow_table_free(&pl->flows);
	/* The last lines may fail here: keep why, for the caller's report. */
	if (pl->fp && fflush(pl->fp) != 0 && !pl->out_errno)
		pl->out_errno = errno ? errno : EIO;
}

void pipeline_notes_start(struct pipeline *pl, struct pipeline_notes *n)
{
	n->out = pl->out;
	n->out.style = OUT_TEXT;
	n->out.ts = TS_NONE;
	n->out.tmpl = NULL;
	sbuf_init(&n->text);
	pl->notes = n;
}

void pipeline_notes_stop(struct pipeline *pl)
{
	if (!pl->notes)
		return;
	sbuf_free(&pl->notes->text);
	pl->notes = NULL;
}

struct flow_stamp pipeline_oldest_pending(const struct pipeline *pl)
{
	struct flow_stamp m = flow_oldest_pending(&pl->flows);
	struct midstream_oldest mo = midstream_oldest_kept(&pl->mid);
	unsigned i;

	if (mo.frame < m.frame)
		m.frame = mo.frame;
	if (mo.ts_ns < m.ts_ns)
		m.ts_ns = mo.ts_ns;
	for (i = 0; i < pl->n_early; i++) {
		if (pl->early[i].f.number < m.frame)
			m.frame = pl->early[i].f.number;
		if (pl->early[i].f.ts_ns < m.ts_ns)
			m.ts_ns = pl->early[i].f.ts_ns;
	}
	{
		/* Fragments held for the rest of their datagram. */
		struct ipfrag_piece_of f = ipfrag_oldest_held(&pl->frags);

		if (f.frame < m.frame)
			m.frame = f.frame;
		if (f.ts_ns < m.ts_ns)
			m.ts_ns = f.ts_ns;
	}
	return m;
}

uint64_t pipeline_resyncs(const struct pipeline *pl)
{
	return flow_table_resyncs(&pl->flows);
}

bool pipeline_census_start(struct pipeline *pl, unsigned pv_capacity, bool follow_activity)
{
	if (!pl->census) {
		pl->census = malloc(sizeof(*pl->census));
		if (!pl->census)
			return false;
		census_init(pl->census, pv_capacity);
	}
	pl->census->follow_activity |= follow_activity;
	return true;
}

void pipeline_print_limits(const struct pipeline *pl, FILE *f, bool always)
{
	const struct flow_stats *fs = &pl->flows.stats;
	const struct track_stats *ts = &pl->track.stats;
	uint64_t denied = pl->flows.stream_mem.denied;

	if (!always && !fs->evicted && !fs->holes_given_up && !denied && !fs->queue_full &&
	    !ts->circuits_evicted && !ts->chans_evicted && !ts->ids_untracked &&
	    !ts->searches_forgotten)
		return;
	fprintf(f, "table bounds: %llu flows evicted, %llu circuits evicted, "
		"%llu channels evicted, %llu request ids untracked, "
		"%llu UDP searches forgotten, %llu holes given up, "
		"%llu payload buffers denied, %llu times messages left out of time order "
		"(waiting room full)\n",
		(unsigned long long)fs->evicted, (unsigned long long)ts->circuits_evicted,
		(unsigned long long)ts->chans_evicted, (unsigned long long)ts->ids_untracked,
		(unsigned long long)ts->searches_forgotten,
		(unsigned long long)fs->holes_given_up, (unsigned long long)denied,
		(unsigned long long)fs->queue_full);
}

void pipeline_free(struct pipeline *pl)
{
	if (pl->census) {
		census_free(pl->census);
		free(pl->census);
		pl->census = NULL;
	}
	track_free(&pl->track);
	ipfrag_free(&pl->frags);
	segmap_free(&pl->segs);
	classify_free(&pl->cls);
	midstream_free(&pl->mid);
	pipeline_notes_stop(pl);
	while (pl->n_early)
		free((void *)pl->early[--pl->n_early].f.data);
	sbuf_free(&pl->line);
}
