/* Hook-specific half of the catrace BPF programs, included twice by
 * catrace.bpf.c: once with XDP 1 (names suffixed _xdp), once with XDP 0
 * (_skb).  Every packet read below goes through load(), whose hook is
 * then a compile-time constant in each copy, as the verifier requires. */

#define load(p, off, to, n) load_x(XDP, p, off, to, n)
#if XDP
#define CTX_T struct xdp_md
#define loadc(ctx, off, to, n) bpf_xdp_load_bytes((CTX_T *)(ctx), off, to, n)
#else
#define CTX_T struct __sk_buff
#define loadc(ctx, off, to, n) bpf_skb_load_bytes((CTX_T *)(ctx), off, to, n)
#endif

/* Header bytes near the start of the packet: straight from the linear
 * data when they are there (a bounds check and a few loads, against
 * about 5 ns for a load_bytes helper call), else through load().  Every
 * packet's Ethernet, IP and UDP/TCP headers are read this way. */
#define HEAD_MAX_OFF 128
static __always_inline long F(load_head)(const struct pkt *p, __u32 off, void *to,
					 __u32 n)
{
	void *data, *end, *at;

#if XDP
	data = (void *)(long)((struct xdp_md *)p->ctx)->data;
	end = (void *)(long)((struct xdp_md *)p->ctx)->data_end;
#else
	data = (void *)(long)((struct __sk_buff *)p->ctx)->data;
	end = (void *)(long)((struct __sk_buff *)p->ctx)->data_end;
#endif
	if (off > HEAD_MAX_OFF)
		return load(p, off, to, n);
	at = data + off;
	if (at + n > end)
		return load(p, off, to, n);
	__builtin_memcpy(to, at, n);
	return 0;
}

/* ---- headers: one parser each, a cursor between them ---- */

/* One VLAN tag at the cursor: returns the EtherType it encloses. */
static __always_inline int F(parse_vlan)(const struct pkt *p, struct hdr_cursor *c)
{
	__be16 proto;

	if (F(load_head)(p, c->off + offsetof(struct vlan_tag, inner_proto), &proto,
			 sizeof(proto)))
		return PARSE_BROKEN;
	c->off += sizeof(struct vlan_tag);
	return bpf_ntohs(proto);
}

/* Ethernet, then its VLAN tags (up to VLAN_MAX_DEPTH of the TPIDs
 * ca_rules.h names, as user/pkt.c walks them): returns the EtherType
 * after them. */
static __always_inline int F(parse_ethhdr)(const struct pkt *p, struct hdr_cursor *c)
{
	__be16 proto;
	int type, i;

	/* The type alone: nothing reads the addresses. */
	if (F(load_head)(p, c->off + offsetof(struct ethhdr, h_proto), &proto, sizeof(proto)))
		return PARSE_BROKEN;
	c->off += sizeof(struct ethhdr);
	type = bpf_ntohs(proto);
#pragma unroll
	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		if (!ca_rule_is_vlan_tpid(type))
			break;
		type = F(parse_vlan)(p, c);
		if (type < 0)
			return type;
	}
	if (ca_rule_is_vlan_tpid(type))
		return PARSE_BROKEN;
	return type;
}

/* IPv4, options included: returns the protocol that follows when it is
 * one catrace reads (TCP, UDP), the cursor past the options and its end at
 * the datagram's.  A packet shorter than the total length says is parsed
 * as far as it goes, and marked (ip_len_lies) to be counted if the rest
 * of its headers are whole.  Other protocols and fragments are skipped
 * before that check, so a lying length counts only in a packet catrace
 * reads (and the verifier has fewer paths to walk: about 1,600
 * instructions fewer than filtering the protocol after it). */
static __always_inline int F(parse_iphdr)(const struct pkt *p, struct hdr_cursor *c,
					  struct l4 *l)
{
	struct iphdr ip;
	__u32 ihl, tot;

	if (F(load_head)(p, c->off, &ip, sizeof(ip)))
		return PARSE_BROKEN;
	if (ip.version != 4)
		return PARSE_SKIP;
	ihl = ip.ihl * 4;
	tot = bpf_ntohs(ip.tot_len);
	if (ihl < sizeof(ip) || tot < ihl)
		return PARSE_BROKEN;
	if (ip.protocol != IPPROTO_TCP && ip.protocol != IPPROTO_UDP)
		return PARSE_SKIP;
	/* Fragments are not decodable alone: user space puts the datagram
	 * back together.  Later ones carry no ports to tell CA by; the first
	 * one does. */
	l->proto = ip.protocol;
	l->saddr = bpf_ntohl(ip.saddr);
	l->daddr = bpf_ntohl(ip.daddr);
	l->ip_id = bpf_ntohs(ip.id);
	if (ip.frag_off & bpf_htons(IP_OFFSET))
		return PARSE_FRAG_LATER;
	l->fragment = !!(ip.frag_off & bpf_htons(IP_MF));
	c->end = c->off + tot;
	if (c->end > p->len) {
		c->end = p->len;
		l->ip_len_lies = 1;
	}
	c->off += ihl;
	if (c->off > c->end)
		return PARSE_BROKEN;  /* the packet ends inside the options */
	return ip.protocol;
}

/* UDP: returns the payload length its header gives, the cursor at the
 * payload. */
static __always_inline int F(parse_udphdr)(const struct pkt *p, struct hdr_cursor *c,
					   struct l4 *l)
{
	struct udphdr u;
	__u32 ulen;

	if (F(load_head)(p, c->off, &u, sizeof(u)))
		return PARSE_BROKEN;
	l->sport = bpf_ntohs(u.source);
	l->dport = bpf_ntohs(u.dest);
	ulen = bpf_ntohs(u.len);
	if (ulen < sizeof(u) || ulen > c->end - c->off)
		return PARSE_BROKEN;
	c->off += sizeof(u);
	return ulen - sizeof(u);
}

/* TCP, options included: returns the payload length (what the datagram
 * holds past the header), the cursor at the payload. */
static __always_inline int F(parse_tcphdr)(const struct pkt *p, struct hdr_cursor *c,
					   struct l4 *l)
{
	struct tcphdr t;
	__u32 doff;

	if (F(load_head)(p, c->off, &t, sizeof(t)))
		return PARSE_BROKEN;
	l->sport = bpf_ntohs(t.source);
	l->dport = bpf_ntohs(t.dest);
	l->seq = bpf_ntohl(t.seq);
	/* The flags byte whole, as records carry it (struct tcphdr has
	 * them as bit-fields). */
	l->tcp_flags = ((__u8 *)&t)[13];
	l->csum_field = (__u16)t.check;
	l->l4_off = c->off;
	doff = t.doff * 4;
	if (doff < sizeof(t) || doff > c->end - c->off)
		return PARSE_BROKEN;
	c->off += doff;
	return c->end - c->off;
}

/* Ethernet to TCP or UDP: 0 with `l` filled in, PARSE_BROKEN or
 * PARSE_SKIP.  The payload it gives ends inside the packet (the cursor's
 * end never passes the packet's), so its users need not clip it. */
static __always_inline int F(parse_packet)(const struct pkt *p, struct l4 *l)
{
	struct hdr_cursor c = { .off = 0, .end = p->len };
	int r;

	r = F(parse_ethhdr)(p, &c);
	if (r < 0)
		return r;
	if (r != ETH_P_IP)
		return PARSE_SKIP;
	r = F(parse_iphdr)(p, &c, l);
	if (r >= 0 && l->fragment) {
		__be16 ports[2];

		if (F(load_head)(p, c.off, ports, sizeof(ports)))
			return PARSE_SKIP;
		l->sport = bpf_ntohs(ports[0]);
		l->dport = bpf_ntohs(ports[1]);
		return PARSE_FRAGMENT;
	}
	if (r == IPPROTO_UDP)
		r = F(parse_udphdr)(p, &c, l);
	else if (r == IPPROTO_TCP)
		r = F(parse_tcphdr)(p, &c, l);
	else if (r >= 0)
		r = PARSE_SKIP;  /* parse_iphdr returns no other protocol */
	if (r < 0)
		return r;
	l->off = c.off;
	l->len = r;
	return 0;
}

/* ---- spans: the bytes a record carries ---- */

/* Copy the open span into the record (a new record first when this one is
 * full).  Span data is padded to 8 bytes, so every span header is
 * aligned.  A global function, checked once by the verifier. */
__noinline int F(flush_span)(CTX_T *ctx, struct seg_scratch *e)
{
	struct ca_span *sp;
	__u64 n, at;
	long r;

	if (!ctx || !e || !e->b.open)
		return 0;
	e->b.open = 0;
	n = e->b.s_end - e->b.s_start;
	if (n == 0)
		return 0;
	if (e->b.nspans >= REC_SPANS_MAX ||
	    (__u64)e->b.dpos + sizeof(*sp) + ((n + 7) & ~7ull) > REC_SEG_DATA_MAX) {
		/* A record that the packet's next one follows: its FIN or
		 * RST belongs to the last. */
		__u8 tf = e->r.tcp_flags;

		e->r.tcp_flags = tf & ~(TCP_FIN | TCP_RST);
		submit_seg(e, e->b.s_start);
		e->r.tcp_flags = tf;
	}
	at = e->b.dpos & ~7u;
	barrier_var(at);
	barrier_var(n);
	if (at > REC_SEG_DATA_MAX - sizeof(*sp) || n < 1 || n > REC_SPAN_MAX_LEN)
		return 0;
	sp = (struct ca_span *)(e->d + at);
	sp->off = e->b.s_start - e->b.base;
	sp->len = n;
	r = loadc(ctx, e->b.s_start, e->d + at + sizeof(*sp), n);
	if (r) {
		/* Beyond the packet: cannot happen with sane offsets. */
		e->b.lost_next = 1;
		return 0;
	}
	if (e->b.nspans == 0 && e->b.lost_next) {
		/* A record of this packet was refused: this one says so. */
		e->b.flags |= REC_F_LOST;
		if (e->b.open_at_hdr)
			e->b.flags |= REC_F_BOUNDARY;
		e->b.lost_next = 0;
	}
	e->b.dpos = at + sizeof(*sp) + ((n + 7) & ~7ull);
	e->b.nspans++;
	return 0;
}

#define flush_span_w(w) F(flush_span)((CTX_T *)(w)->ctx, (w)->e)

/* Bytes [from, to) of the packet go into the record: the open span
 * grows when they follow it, else a new one starts. */
static __always_inline void F(add_bytes)(struct walk *w, __u32 from, __u32 to,
					 __u8 at_hdr)
{
	if (from >= to)
		return;
	if (w->e->b.open && w->e->b.s_end == from) {
		w->e->b.s_end = to;
		return;
	}
	flush_span_w(w);
	w->e->b.open = 1;
	w->e->b.open_at_hdr = at_hdr;
	w->e->b.s_start = from;
	w->e->b.s_end = to;
}

/* ---- framing one packet's messages ---- */

/* The copied part of a message ends inside this segment at w->off, and
 * more of it is to be skipped than the segment holds. */
static __always_inline void F(account_skip_from)(struct walk *w)
{
	__u64 end = (__u64)w->off + w->st->skip;

	if (end < (1ull << 31))
		w->e->b.acct_end = (__u32)end;
}

/* The current message's copied part is complete and the rest of it,
 * st->skip bytes from the segment's end, will be skipped: the record says
 * so now. */
static __always_inline void F(account_skip)(struct walk *w)
{
	__u64 end = (__u64)w->e->b.seg_end + w->st->skip;

	if (w->st->skip && end < (1ull << 31))
		w->e->b.acct_end = (__u32)end;
}

/* A message's header is complete and its payload starts at `pstart` in
 * the packet: copy its budget, skip the rest.  Returns 1 when the
 * message runs past the packet (the walk is over). */
static __always_inline int F(take_message)(struct walk *w, const struct hdr *h,
					   __u32 pstart)
{
	__u32 avail = w->end > pstart ? w->end - pstart : 0;
	__u32 budget = ca_rule_copy_budget(h->r.cmd, w->dir == REC_DIR_REQUEST,
					   h->r.size, cfg_value_bytes, REC_META_BYTES);

	count_msg(h, w->dir);
	learn_from(w->l, h, w->dir);
	w->e->b.nmsgs++;
	if (!w->st) {
		/* UDP: the datagram is one span already. */
		if (h->r.size > avail) {
			w->done = 1;
			return 1;
		}
		w->off = pstart + h->r.size;
		return 0;
	}
	F(add_bytes)(w, pstart, pstart + (budget < avail ? budget : avail), 0);
	if (h->r.size > avail) {
		w->st->copy = budget > avail ? budget - avail : 0;
		w->st->skip = (__u64)h->r.size - avail - w->st->copy;
		if (w->st->copy == 0)
			F(account_skip)(w);
		w->off = w->end;
		w->done = 1;
		return 1;
	}
	w->off = pstart + h->r.size;
	return 0;
}

/* Keep the first `have` (1..23) bytes of a header the segment ends in. */
static __always_inline void F(keep_partial)(struct walk *w, __u32 have)
{
	/* 64-bit on purpose: with a u32, clang checks a zero-extended copy
	 * and passes the unextended register to the helper. */
	__u64 n = have > 23 ? 23 : have;

	barrier_var(n);
	if (n < 1 || n > 23)
		return;
	if (loadc(w->ctx, w->off, w->st->hdr, n) == 0)
		w->st->hdr_have = n;
}

/* In sync, a code no peer sends: the boundaries are lost, the rest of
 * the segment goes unframed (user space's framer sees the same bytes and
 * says what happened). */
static __always_inline void F(lose_sync_here)(struct walk *w)
{
	if (w->st) {
		forget_boundaries(w->st);
		w->resync = 1;
	}
	w->done = 1;
}

static __always_inline long F(walk_one)(struct walk *w)
{
	struct ca_raw_hdr raw = {};
	struct hdr h = {};
	__u32 left, have;

	if (w->off >= w->end) {
		w->done = 1;
		return 1;
	}
	left = w->end - w->off;
	have = left < CA_EXT_HDR_LEN ? left : CA_EXT_HDR_LEN;
	if (have < CA_HDR_LEN) {
		if (w->st) {
			F(add_bytes)(w, w->off, w->end, 1);
			F(keep_partial)(w, have);
		} else {
			/* A datagram that ends inside a header: counted, as
			 * there is no message to flag. */
			struct ca_counters *c = cnt();

			if (c)
				c->parse_errors++;
		}
		w->done = 1;
		return 1;
	}
	if (loadc(w->ctx, w->off, &raw, have >= CA_EXT_HDR_LEN ? CA_EXT_HDR_LEN : CA_HDR_LEN)) {
		w->done = 1;
		return 1;
	}
	if (decode_hdr(&raw, have, &h)) {
		/* Extended header cut by the segment end. */
		if (w->st) {
			F(add_bytes)(w, w->off, w->end, 1);
			F(keep_partial)(w, have);
		} else {
			/* The datagram ends inside it: counted, like a
			 * datagram that ends inside a short header. */
			struct ca_counters *c = cnt();

			if (c)
				c->parse_errors++;
		}
		w->done = 1;
		return 1;
	}
	/* In a datagram the sizes hold whatever the code (the decoder goes
	 * on): only a stream loses its boundaries at a code no peer sends. */
	if (w->st && ca_rule_breaks_sync(h.r.cmd)) {
		F(lose_sync_here)(w);
		return 1;
	}
	if (w->st)
		F(add_bytes)(w, w->off, w->off + h.len, 1);
	return F(take_message)(w, &h, w->off + h.len);
}

/* One message of the walk, as a global function: the verifier checks it
 * once, and the loop around it (bpf_loop's callback below) holds nothing
 * that changes from one message to the next but map memory, so it has
 * nothing to tell apart between iterations either.  The walk's position
 * lives in e->b; `st` is the flow's state for TCP (e->b.w_tcp), unused
 * for UDP. */
__noinline int F(walk_step)(CTX_T *ctx, struct seg_scratch *e,
			    struct tcp_dir_state *st, struct l4 *l)
{
	struct walk w = {};
	long r;

	if (!ctx || !e || !st || !l)
		return 1;
	w.ctx = ctx;
	w.e = e;
	w.l = l;
	w.st = e->b.w_tcp ? st : NULL;
	w.off = e->b.w_off;
	w.end = e->b.w_end;
	w.dir = e->b.w_dir;
	r = F(walk_one)(&w);
	e->b.w_off = w.off;
	e->b.w_done |= w.done;
	e->b.w_resync |= w.resync;
	return r ? 1 : 0;
}

struct F(walk_cb_ctx) {
	CTX_T *ctx;
	struct seg_scratch *e;
	struct tcp_dir_state *st;
	struct l4 *l;
};

static long F(walk_cb)(__u32 idx, void *cbctx)
{
	struct F(walk_cb_ctx) *c = cbctx;

	if (!c)
		return 1;
	/* bpf_loop wants 0 or 1, and a global function's result is any int. */
	return F(walk_step)(c->ctx, c->e, c->st, c->l) ? 1 : 0;
}

/* Walk the messages from w->off: every one, or MAX_MSGS_PER_PACKET. */
static __always_inline void F(walk_messages)(struct walk *w, struct tcp_dir_state *st)
{
	struct F(walk_cb_ctx) c = {
		.ctx = (CTX_T *)w->ctx, .e = w->e, .st = st, .l = (struct l4 *)w->l,
	};

	w->e->b.w_off = w->off;
	w->e->b.w_end = w->end;
	w->e->b.w_dir = w->dir;
	w->e->b.w_tcp = w->st != NULL;
	w->e->b.w_done = 0;
	w->e->b.w_resync = 0;
	bpf_loop(MAX_MSGS_PER_PACKET, F(walk_cb), &c, 0);
	w->off = w->e->b.w_off;
	w->done = w->e->b.w_done;
	w->resync |= w->e->b.w_resync;
}

/* Finish a header whose first bytes came in the previous segment.
 * Returns 1 when the segment is used up. */
static __noinline int F(complete_split_header)(struct walk *w)
{
	struct tcp_dir_state *st;
	struct ca_raw_hdr raw = {};
	struct hdr h = {};
	__u64 have, need, left, total, used;

	if (!w || !w->st)
		return 1;
	st = w->st;
	have = st->hdr_have;
	if (have == 0)
		return 0;
	if (have > 23 || w->off >= w->end)
		return 1;
	left = w->end - w->off;
	need = CA_EXT_HDR_LEN - have;   /* what an extended header could need */
	if (need > left)
		need = left;
	barrier_var(need);
	barrier_var(have);
	if (need < 1 || need > 24 || have > 23)
		return 1;
	/* Append straight after the kept bytes (hdr[] has room for it). */
	if (loadc(w->ctx, w->off, st->hdr + have, need))
		return 1;
	total = have + need;
	__builtin_memcpy(&raw, st->hdr, sizeof(raw));
	if (total < CA_HDR_LEN || decode_hdr(&raw, total, &h)) {
		/* Still not a whole header: keep collecting. */
		F(add_bytes)(w, w->off, w->end, 0);
		st->hdr_have = total;
		w->off = w->end;
		return 1;
	}
	st->hdr_have = 0;
	used = h.len - have;
	if (st->hdr_lost) {
		/* Its first bytes went with a refused record: counted, as
		 * dropped, and skipped whole, so that the record starts at
		 * the next boundary. */
		struct ca_counters *c = cnt();
		__u64 avail = w->end - w->off - used;

		st->hdr_lost = 0;
		count_msg(&h, w->dir);
		learn_from(w->l, &h, w->dir);
		if (c)
			c->msgs_dropped++;
		if (h.r.size > avail) {
			st->copy = 0;
			st->skip = h.r.size - avail;
			w->off = w->end;
			return 1;
		}
		w->off += used + h.r.size;
		return 0;
	}
	if (ca_rule_breaks_sync(h.r.cmd)) {
		F(add_bytes)(w, w->off, w->end, 0);
		F(lose_sync_here)(w);
		w->off = w->end;
		return 1;
	}
	F(add_bytes)(w, w->off, w->off + used, 0);
	return F(take_message)(w, &h, w->off + used);
}

/* Is there a believable message boundary at `off`?  Up to three headers
 * in a row must be believable, as user space's search wants; a chain
 * that ends exactly with the segment counts from two on, and a header
 * whose message runs past the segment only when its size fits its type
 * and count exactly.  The kernel cannot wait for the next segment: what
 * it is not sure of now, it tries again at the next segment's start. */
static __noinline bool F(boundary_at)(void *ctx, __u32 off, __u32 end, __u8 dir)
{
	bool req = dir == REC_DIR_REQUEST, first_strict = false;
	int i;

	if (!ctx)
		return false;
	for (i = 0; i < 3; i++) {
		struct ca_raw_hdr raw = {};
		struct hdr h = {};
		__u32 left;
		__u64 e;

		if (off >= end)
			return i >= 2 || first_strict;
		left = end - off;
		if (left < CA_HDR_LEN)
			return false;
		if (loadc(ctx, off, &raw, left >= CA_EXT_HDR_LEN ? CA_EXT_HDR_LEN : CA_HDR_LEN))
			return false;
		if (decode_hdr(&raw, left, &h))
			return false;
		if (!plausible(&h.r, req, 0))
			return false;
		if (i == 0)
			first_strict = plausible(&h.r, req, 1);
		e = (__u64)off + h.len + h.r.size;
		if (e > end)
			return i > 0 || plausible(&h.r, req, 1);
		off = e;
	}
	return true;
}

static __always_inline struct seg_scratch *F(scratch)(const struct pkt *p)
{
	__u32 slot = bpf_get_smp_processor_id() * 2 + (p->egress ? 1 : 0);

	return bpf_map_lookup_elem(&seg_scratch, &slot);
}

/* Frame one datagram: the whole of it in one record, its messages
 * counted and learned from.  A global function, so the verifier checks
 * the message walk once, whatever path led here. */
__noinline int F(frame_datagram)(CTX_T *ctx, struct seg_scratch *e, struct l4 *l,
				 __u32 end, __u32 dir)
{
	struct tcp_dir_state *udp_st;
	struct walk w = {};
	__u32 zero = 0;

	if (!ctx || !e || !l)
		return 0;
	/* The walk takes a flow state; a datagram has none (unused). */
	udp_st = bpf_map_lookup_elem(&state_tmpl, &zero);
	if (!udp_st)
		return 0;
	w.ctx = ctx;
	w.e = e;
	w.l = l;
	w.off = l->off;
	w.end = end;
	w.dir = dir;
	/* The whole datagram: user space frames it as `catrace -r` does. */
	F(add_bytes)(&w, w.off, w.end, 1);
	F(walk_messages)(&w, udp_st);
	flush_span_w(&w);
	submit_seg(e, w.end);
	return 0;
}

static __always_inline void F(process_udp)(const struct pkt *p, struct l4 *l,
					__u8 dir)
{
	struct seg_scratch *e;
	__u16 first = 0;

	/* Registration with a repeater: libca sends an empty datagram,
	 * caproto a REPEATER_REGISTER; the repeater answers from a port of
	 * its own, so remember who registered. */
	if (port_bits(l->dport) & PORT_REPEATER) {
		if (l->len >= 2)
			load(p, l->off, &first, 2);
		if (l->len == 0 || bpf_ntohs(first) == CA_PROTO_REPEATER_REGISTER)
			learn(&rep_clients, l->saddr, l->sport);
	}
	if (dir == REC_DIR_REQUEST && (port_bits(l->dport) & PORT_SERVER) &&
	    l->sport != l->dport)
		learn_port(&udp_clients, l->sport);
	e = F(scratch)(p);
	if (!e)
		return;
	seg_start(e, p, l, dir, l->off, 0);
	F(frame_datagram)((CTX_T *)p->ctx, e, l, l->off + l->len, dir);
}

/* The flow lost its message boundaries at this segment (joined midway,
 * a hole, a code no peer sends): look for them at the segment's start,
 * else send the segment unframed for user space's search, up to its
 * window. */
static __always_inline void F(seek_sync)(struct walk *w)
{
	struct tcp_dir_state *st = w->st;
	struct ca_counters *c;
	__u32 n;

	if (F(boundary_at)(w->ctx, w->off, w->end, w->dir)) {
		st->synced = 1;
		st->copy = 0;
		st->skip = 0;
		st->hdr_have = 0;
		st->unsynced_sent = 0;
		/* The first span of this record starts here. */
		flush_span_w(w);
		if (w->e->b.nspans == 0)
			w->e->b.flags |= REC_F_BOUNDARY;
		c = cnt();
		if (c)
			c->resyncs++;
		return;
	}
	n = w->end - w->off;
	if (st->unsynced_sent < REC_UNSYNCED_MAX) {
		F(add_bytes)(w, w->off, w->end, 0);
		st->unsynced_sent += n;
		w->e->b.flags |= REC_F_UNSYNCED;
		c = cnt();
		if (c)
			c->unsynced_bytes += n;
	} else {
		/* Past user space's window: these bytes are not sent, and
		 * the next record says so. */
		st->lost = 1;
	}
	w->off = w->end;
}

static __always_inline void F(walk_synced)(struct walk *w)
{
	struct tcp_dir_state *st = w->st;
	struct ca_counters *c;
	__u32 n;

	/* The rest of a message begun earlier: bytes to copy, then to skip. */
	if (st->copy && w->off < w->end) {
		n = w->end - w->off;
		if (n > st->copy)
			n = st->copy;
		F(add_bytes)(w, w->off, w->off + n, 0);
		st->copy -= n;
		w->off += n;
		if (st->copy == 0 && st->skip > w->end - w->off)
			F(account_skip_from)(w);
	}
	if (st->skip && w->off < w->end) {
		n = w->end - w->off;
		if ((__u64)n > st->skip)
			n = (__u32)st->skip;
		st->skip -= n;
		w->off += n;
	}
	if (w->off >= w->end)
		return;
	if (F(complete_split_header)(w))
		return;
	w->done = 0;
	F(walk_messages)(w, st);
	if (!w->done && w->off < w->end) {
		/* More messages than one walk takes: the boundaries of the
		 * rest are lost (it goes unframed). */
		forget_boundaries(st);
		w->resync = 1;
		c = cnt();
		if (c)
			c->walk_limit++;
	}
}

/* Frame one TCP segment's bytes [off, end) from where the flow state says
 * the stream is, into the record e holds, and send it.  A global
 * function: the verifier checks the message walk once, not once for
 * every way the sequence checks before it can end. */
__noinline int F(frame_segment)(CTX_T *ctx, struct seg_scratch *e,
				struct tcp_dir_state *st, struct l4 *l, __u32 dir)
{
	struct walk w = {};
	__u32 off, end;
	bool fin;

	if (!ctx || !e || !st || !l)
		return 0;
	off = e->b.base;
	end = e->b.seg_end;
	fin = l->tcp_flags & (TCP_FIN | TCP_RST);
	w.ctx = ctx;
	w.l = l;
	w.st = st;
	w.e = e;
	w.off = off;
	w.end = end;
	w.dir = dir;
	e->b.flags = (st->lost ? REC_F_LOST : 0) | (st->boundary ? REC_F_BOUNDARY : 0) |
		     (st->late ? REC_F_LATE : 0);
	if (off < end) {
		if (st->synced) {
			F(walk_synced)(&w);
			if (w.resync && w.off < w.end) {
				/* Lost inside this segment: the rest unframed. */
				F(add_bytes)(&w, w.off, w.end, 0);
				st->unsynced_sent = w.end - w.off;
				e->b.flags |= REC_F_UNSYNCED;
				w.off = w.end;
			}
		} else {
			F(seek_sync)(&w);
			if (st->synced)
				F(walk_synced)(&w);
		}
		flush_span_w(&w);
	}
	if (e->b.nspans || fin) {
		submit_seg(e, w.end);
		tcp_stream_sent(st, e->b.lost_next);
	}
	return 0;
}

/* ---- TCP checksums of segments coming in (ca_rule_csum_verdict) ---- */

#define CSUM_CHUNK 512  /* bpf_csum_diff sums at most 512 bytes a call */

struct F(csum_walk) {
	void *ctx;
	__u8 *buf;      /* CSUM_CHUNK bytes of scratch */
	__u32 off, end;
	__u64 sum;
	__u8 failed;
};

/* Sum the next chunk: loaded into the scratch (the packet may be in
 * fragments), its last word zero-padded, summed by the kernel's helper. */
static long F(csum_cb)(__u32 idx, void *arg)
{
	struct F(csum_walk) *w = arg;
	__s64 r;
	__u32 n;

	if (w->off >= w->end)
		return 1;
	n = w->end - w->off;
	if (n > CSUM_CHUNK)
		n = CSUM_CHUNK;
	barrier_var(n);
	n &= 2 * CSUM_CHUNK - 1;  /* a no-op the verifier can follow */
	if (n == 0)
		return 1;
	if (n & 3)
		*(__u32 *)(w->buf + (n & (CSUM_CHUNK - 4))) = 0;
	if (loadc(w->ctx, w->off, w->buf, n)) {
		w->failed = 1;
		return 1;
	}
	r = bpf_csum_diff(NULL, 0, (__be32 *)w->buf, (n + 3) & ~3u, 0);
	if (r < 0) {
		w->failed = 1;
		return 1;
	}
	w->sum += (__u32)r;
	w->off += n;
	return 0;
}

/* Does the segment hold only payload bytes the stream skips (the middle of
 * a big value, past its copy budget)?  Then what it says is never read,
 * and summing it is not worth its cost: a decoy there changes nothing (the
 * real segment's bytes at the same places are skipped alike, and any of
 * its bytes past the decoy's are taken as new). */
static __always_inline bool F(only_skipped)(const struct tcp_dir_state *st,
					    const struct l4 *l)
{
	return st->synced && !st->hdr_have && !st->copy && l->seq == st->next_seq &&
	       l->len > 0 && l->len <= st->skip &&
	       !(l->tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST));
}

/* The verdict on a segment coming in.  Going out it comes from this
 * host's own stack: not summed.  A global function: checked once. */
__noinline int F(tcp_csum)(CTX_T *ctx, struct seg_scratch *e, struct l4 *l)
{
	struct F(csum_walk) w = {};
	__u32 tcp_len;

	if (!ctx || !e || !l)
		return CA_CSUM_UNCHECKED;
#if !XDP
	/* The NIC checked it already (CHECKSUM_UNNECESSARY). */
	if (bpf_csum_level((struct __sk_buff *)ctx, BPF_CSUM_LEVEL_QUERY) >= 0)
		return CA_CSUM_VALID;
#endif
	tcp_len = l->off + l->len - l->l4_off;
	if (tcp_len < 20 || tcp_len > CA_CSUM_MAX_LEN)
		return CA_CSUM_UNCHECKED;
	w.ctx = ctx;
	w.buf = e->d;
	w.off = l->l4_off;
	w.end = l->off + l->len;
	bpf_loop(CA_CSUM_MAX_LEN / CSUM_CHUNK + 1, F(csum_cb), &w, 0);
	if (w.failed || w.off != w.end)
		return CA_CSUM_UNCHECKED;
	return ca_rule_csum_verdict(w.sum, ca_rule_csum_pseudo(l->saddr, l->daddr, tcp_len),
				    l->csum_field);
}

/* One TCP segment: the stream's state and sequence first (tcp_stream_*),
 * then its new bytes framed into records (frame_segment). */
static __always_inline void F(process_tcp)(const struct pkt *p, struct l4 *l,
					__u8 dir)
{
	struct tcp_dir_key k = {
		.saddr = l->saddr, .daddr = l->daddr,
		.sport = l->sport, .dport = l->dport,
	};
	struct seg_new s = { .seq = l->seq, .off = l->off, .len = l->len };
	bool fin = l->tcp_flags & (TCP_FIN | TCP_RST);
	int csum = CA_CSUM_UNCHECKED;
	struct tcp_dir_state *st;
	struct seg_scratch *e;

	/* A segment the stack drops says nothing: not even a SYN, FIN or
	 * RST of it counts (a decoy at the real segment's sequence number
	 * would otherwise hide the real one as a retransmission). */
	if (!p->egress && !(p->gso_segs > 1)) {
		st = bpf_map_lookup_elem(&flows, &k);
		if (st && F(only_skipped)(st, l))
			goto judged;
		e = F(scratch)(p);
		if (!e)
			return;
		csum = F(tcp_csum)((CTX_T *)p->ctx, e, l);
		if (st && ca_rule_csum_drops(csum, st->csum_run)) {
			struct ca_counters *c = cnt();

			if (c)
				c->bad_checksum++;
			return;
		}
	}
judged:
	if (l->tcp_flags & TCP_SYN) {
		tcp_stream_open(&k, s.seq);
		s.seq++;  /* the SYN takes a sequence number */
	}
	st = tcp_stream_state(&k, s.seq, s.len > 0 || fin);
	if (!st)
		return;
	st->csum_run = ca_rule_csum_track(st->csum_run, csum);
	if (tcp_late_fill(st, &s)) {
		/* Framed with a state of its own, from scratch: sent whole
		 * for user space to frame apart from the stream. */
		__u32 zero = 0;
		struct tcp_dir_state *ls = bpf_map_lookup_elem(&late_state, &zero);

		if (!ls)
			return;
		__builtin_memset(ls, 0, sizeof(*ls));
		ls->next_seq = s.seq + s.len;
		ls->late = 1;
		e = F(scratch)(p);
		if (!e)
			return;
		seg_start(e, p, l, dir, s.off, s.seq);
		e->b.seg_end = s.off + s.len;
		F(frame_segment)((CTX_T *)p->ctx, e, ls, l, dir);
		return;
	}
	tcp_stream_advance(st, &s);
	e = F(scratch)(p);
	if (!e)
		return;
	seg_start(e, p, l, dir, s.off, s.seq);
	e->b.seg_end = s.off + s.len;
	F(frame_segment)((CTX_T *)p->ctx, e, st, l, dir);
	if (fin)
		tcp_stream_end(&k, st);
}

/* ---- flows of a pending learned server ---- */

/* Does the segment's payload start with a VERSION header believable going
 * this way?  Every CA circuit opens with one: libca's client sends it
 * first (CLIENT_NAME, HOST_NAME, CREATE_CHAN follow), and rsrv may send
 * its own as soon as it accepts, so either may be the flow's first. */
static __always_inline bool F(starts_with_version)(const struct pkt *p,
						   const struct l4 *l, __u8 dir)
{
	struct ca_raw_hdr raw = {};
	struct hdr h = {};

	if (l->len < CA_HDR_LEN || load(p, l->off, &raw, CA_HDR_LEN))
		return false;
	if (decode_hdr(&raw, CA_HDR_LEN, &h))
		return false;  /* the long form: never a VERSION */
	return h.r.cmd == CA_PROTO_VERSION && plausible(&h.r, dir == REC_DIR_REQUEST, 0);
}

/* A flow of a pending server: CA only when it starts like CA, judged
 * for this flow alone (an attacker who opens a CA-like connection to the
 * forged port changes nothing for anybody else's flows).  Its SYN and
 * SYN-ACK are remembered (CLS_PENDING: no bytes, no record); its first
 * payload, at its stream's start, must begin with a VERSION.  Then both
 * directions are followed from their starts as for any circuit seen
 * opening; otherwise the flow is refused (counted once) and the rest of
 * it costs a few map look-ups a packet, nothing copied.  A flow not seen
 * opening stays unjudged: not CA.  Not inlined: its stack would add to
 * the deepest call chain's, which the verifier limits. */
static __noinline int F(judge_pending_flow)(const struct pkt *p,
						 const struct l4 *l, __u8 dir)
{
	bool req = dir == REC_DIR_REQUEST;
	struct tcp_dir_key ck = {
		.saddr = req ? l->saddr : l->daddr, .daddr = req ? l->daddr : l->saddr,
		.sport = req ? l->sport : l->dport, .dport = req ? l->dport : l->sport,
	};
	struct tcp_dir_key sk = {
		.saddr = ck.daddr, .daddr = ck.saddr, .sport = ck.dport, .dport = ck.sport,
	};
	struct pending_flow fresh = {}, *pf;
	struct ca_counters *c;
	__u32 start, cli_next, srv_next;
	bool srv_seen, ok;

	if ((l->tcp_flags & TCP_SYN) && req) {
		fresh.cli_next = l->seq + 1;
		bpf_map_update_elem(&pending_flows, &ck, &fresh, BPF_ANY);
		return CLS_PENDING;
	}
	pf = bpf_map_lookup_elem(&pending_flows, &ck);
	if (!pf)
		return CLS_NOT_CA;
	if (l->tcp_flags & TCP_SYN) {
		pf->srv_next = l->seq + 1;
		pf->srv_seen = 1;
		return CLS_PENDING;
	}
	if (l->len == 0) {
		if (l->tcp_flags & (TCP_FIN | TCP_RST))
			bpf_map_delete_elem(&pending_flows, &ck);
		return CLS_NOT_CA;
	}
	cli_next = pf->cli_next;
	srv_next = pf->srv_next;
	srv_seen = pf->srv_seen;
	start = req ? cli_next : srv_next;
	ok = (req || srv_seen) && l->seq == start && F(starts_with_version)(p, l, dir);
	bpf_map_delete_elem(&pending_flows, &ck);
	c = cnt();
	if (!ok) {
		if (c)
			c->learned_refused++;
		return CLS_NOT_CA;
	}
	if (c)
		c->learned_admitted++;
	tcp_stream_open(&ck, cli_next - 1);
	if (srv_seen)
		tcp_stream_open(&sk, srv_next - 1);
	return CLS_CA;
}

/* -w: the whole packet, up to the snap length. */
static __noinline int F(emit_packet)(const struct pkt *p, const struct l4 *l, __u8 dir)
{
	struct pkt_scratch *e;
	struct ca_counters *c;
	__u32 slot;
	__u64 n;

	if (!p || !l)
		return 0;
	slot = bpf_get_smp_processor_id() * 2 + (p->egress ? 1 : 0);
	e = bpf_map_lookup_elem(&pkt_scratch, &slot);
	if (!e)
		return 0;
	n = p->len;
	if (n > cfg_snaplen)
		n = cfg_snaplen;
	if (n > REC_PKT_MAX)
		n = REC_PKT_MAX;
	barrier_var(n);
	if (n < 1 || n > REC_PKT_MAX)
		return 0;
	if (load(p, 0, e->d, n))
		return 0;
	e->r.version = CATRACE_REC_VERSION;
	e->r.rec_len = sizeof(e->r) + n;
	e->r.kind = REC_KIND_PACKET;
	e->r.dir = dir;
	e->r.flags = p->egress ? REC_F_EGRESS : 0;
	e->r.ts_ns = l->ts_ns;
	e->r.ifindex = p->ifindex;
	e->r.wire_len = p->len;
	e->r.cap_len = n;
	e->r.gso_size = p->gso_size;
	e->r.gso_segs = p->gso_segs;
	if (bpf_ringbuf_output(&events, e, sizeof(e->r) + n,
			       wake_before_output(sizeof(e->r) + n))) {
		c = cnt();
		if (c)
			c->pkt_drops++;
	}
	return 0;
}

/* A fragment as a packet record, whole whatever the snap length, built in
 * the segment scratch (sized on every run, unlike -w's): the record's
 * header, then the packet. */
static __noinline int F(emit_fragment)(const struct pkt *p, const struct l4 *l, __u8 dir)
{
	struct ca_pkt_record *r;
	struct seg_scratch *e;
	struct ca_counters *c;
	__u64 n;

	if (!p || !l)
		return 0;
	e = F(scratch)(p);
	if (!e)
		return 0;
	n = p->len;
	if (n > REC_SEG_DATA_MAX)
		n = REC_SEG_DATA_MAX;  /* an IPv4 packet is at most 64 KiB */
	barrier_var(n);
	if (n < 1 || n > REC_SEG_DATA_MAX)
		return 0;
	if (load(p, 0, e->d + sizeof(*r), n))
		return 0;
	r = (struct ca_pkt_record *)e->d;
	__builtin_memset(r, 0, sizeof(*r));
	r->version = CATRACE_REC_VERSION;
	r->rec_len = sizeof(*r) + n;
	r->kind = REC_KIND_PACKET;
	r->dir = dir;
	r->flags = (p->egress ? REC_F_EGRESS : 0) | REC_F_FRAGMENT;
	r->ts_ns = l->ts_ns;
	r->ifindex = p->ifindex;
	r->wire_len = p->len;
	r->cap_len = n;
	if (bpf_ringbuf_output(&events, e->d, sizeof(*r) + n,
			       wake_before_output(sizeof(*r) + n))) {
		c = cnt();
		if (c)
			c->pkt_drops++;
	}
	return 0;
}

/* A fragment of a CA datagram goes to user space whole, to be put back
 * together with the others as the receiver does: the first (it has the
 * ports) when they are CA's, the later ones when their first came. */
static __always_inline void F(fragment)(const struct pkt *p, struct l4 *l, bool first)
{
	struct frag_key k = {
		.saddr = l->saddr, .daddr = l->daddr, .id = l->ip_id, .proto = l->proto,
	};
	struct ca_counters *c = cnt();
	__u8 dir = 0, one = 1;

	if (first) {
		if (!classify(l, &dir))
			return;
		if (c)
			c->ca_fragments++;
		bpf_map_update_elem(&frag_ids, &k, &one, BPF_ANY);
	} else if (!bpf_map_lookup_elem(&frag_ids, &k)) {
		return;
	}
	l->ts_ns = bpf_ktime_get_ns();
	F(emit_fragment)(p, l, dir);
}

static __always_inline void F(handle)(struct pkt *p)
{
	struct ca_counters *c = cnt();
	struct l4 l = {};
	__u8 dir;
	int r;

	if (c)
		c->pkts_seen++;
	r = F(parse_packet)(p, &l);
	if (r == PARSE_FRAGMENT || r == PARSE_FRAG_LATER) {
		F(fragment)(p, &l, r == PARSE_FRAGMENT);
		return;
	}
	if (r == PARSE_BROKEN && c)
		c->parse_errors++;
	if (r != 0)
		return;
	r = classify(&l, &dir);
	if (r == CLS_PENDING) {
		r = F(judge_pending_flow)(p, &l, dir);
		/* A remembered SYN goes into -w's file, so that `catrace -r`
		 * of it judges the flow as the kernel did. */
		if (r == CLS_PENDING && cfg_snaplen) {
			l.ts_ns = bpf_ktime_get_ns();
			F(emit_packet)(p, &l, dir);
		}
	}
	if (r != CLS_CA)
		return;
	/* Cut shorter than its IPv4 length: the receiver's stack drops it,
	 * so what it seems to say never happened (the offline decoder does
	 * not decode it either). */
	if (l.ip_len_lies) {
		if (c)
			c->ip_len_short++;
		return;
	}
	if (c)
		c->pkts_ca++;
	l.ts_ns = bpf_ktime_get_ns();
	if (cfg_snaplen)
		F(emit_packet)(p, &l, dir);
	if (l.proto == IPPROTO_UDP)
		F(process_udp)(p, &l, dir);
	else
		F(process_tcp)(p, &l, dir);
}

#undef load
#undef CTX_T
#undef loadc
#undef flush_span_w
