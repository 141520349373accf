/* Hook-specific half of the catrace BPF programs, included twice by
 * catrace.bpf.c: once with XDP 1 (names suffixed _xdp), once with XDP 0
 * (_skb).  Every packet read below goes through load(), whose hook is
 * then a compile-time constant in each copy, as the verifier requires. */

#define load(p, off, to, n) load_x(XDP, p, off, to, n)

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

static __always_inline int F(parse_eth)(const struct pkt *p, __u32 *off)
{
	__u16 type;
	int i;

	if (F(load_head)(p, 12, &type, 2))
		return -1;
	*off = 14;
#pragma unroll
	for (i = 0; i < 2; i++) {
		if (type != bpf_htons(ETH_P_8021Q) && type != bpf_htons(ETH_P_8021AD))
			break;
		if (F(load_head)(p, *off + 2, &type, 2))
			return -1;
		*off += 4;
	}
	/* A third tag: a chain no CA network uses, counted as broken. */
	if (type == bpf_htons(ETH_P_8021Q) || type == bpf_htons(ETH_P_8021AD))
		return -1;
	return type == bpf_htons(ETH_P_IP) ? 0 : 1;
}

static __always_inline int F(parse_ipv4)(const struct pkt *p, __u32 off, struct l4 *l)
{
	struct iphdr ip;
	__u32 ihl, tot, l4off;

	if (F(load_head)(p, off, &ip, sizeof(ip)))
		return -1;
	if (ip.version != 4)
		return 1;
	ihl = ip.ihl * 4;
	tot = bpf_ntohs(ip.tot_len);
	if (ihl < 20 || tot < ihl)
		return -1;
	if (ip.protocol != IPPROTO_TCP_ && ip.protocol != IPPROTO_UDP_)
		return 1;
	if (ip.frag_off & bpf_htons(0x3fff))
		return 1;  /* fragments: not decodable alone */
	l->proto = ip.protocol;
	l->saddr = bpf_ntohl(ip.saddr);
	l->daddr = bpf_ntohl(ip.daddr);
	l4off = off + ihl;
	if (off + tot > p->len) {
		/* The packet is shorter than IP says: parse what is there,
		 * and count the header as broken. */
		tot = p->len - off;
		l->ip_len_lies = 1;
	}
	if (tot < ihl)
		return -1;
	if (l->proto == IPPROTO_UDP_) {
		struct udphdr u;
		__u32 ulen;

		if (F(load_head)(p, l4off, &u, sizeof(u)))
			return -1;
		l->sport = bpf_ntohs(u.source);
		l->dport = bpf_ntohs(u.dest);
		ulen = bpf_ntohs(u.len);
		if (ulen < 8 || ulen > tot - ihl)
			return -1;
		l->off = l4off + 8;
		l->len = ulen - 8;
	} else {
		struct tcphdr t;
		__u32 doff;

		if (F(load_head)(p, l4off, &t, sizeof(t)))
			return -1;
		l->sport = bpf_ntohs(t.source);
		l->dport = bpf_ntohs(t.dest);
		l->seq = bpf_ntohl(t.seq);
		doff = t.doff * 4;
		l->tcp_flags = ((__u8 *)&t)[13];
		if (doff < 20 || doff > tot - ihl)
			return -1;
		l->off = l4off + doff;
		l->len = tot - ihl - doff;
	}
	return 0;
}


/* A SEARCH/CREATE_CHAN request whose name runs into the next segment:
 * count it now, send it once the name is complete.  Returns 1 if parked. */
static __always_inline int F(park_for_name)(struct tcp_dir_state *st,
					    const struct emit_args *a,
					    const struct ca_raw_hdr *raw)
{
	__u64 n;
	__u32 want;

	if (!st || !names_channel(a->h, a->dir))
		return 0;
	want = a->h->size < REC_NAME_MAX ? a->h->size : REC_NAME_MAX;
	if (a->data_avail >= want)
		return 0;
	count_msg(a->h, a->dir);
	__builtin_memcpy(st->pend_hdr, raw, sizeof(st->pend_hdr));
	st->pend_seq = a->seq;
	st->pend_flags = a->flags;
	st->name_want = want;
	st->name_have = 0;
	n = a->data_avail;
	barrier_var(n);
	if (n >= 1 && n <= REC_NAME_MAX &&
	    load(a->p, a->data_off, st->name, n) == 0)
		st->name_have = n;
	st->name_pending = 1;
	return 1;
}

/* The continuation of a parked name is at the start of this segment. */
static __always_inline void F(feed_pending_name)(struct walk *w)
{
	struct tcp_dir_state *st = w->st;
	__u64 have, n, left;

	if (!st || !st->name_pending)
		return;
	have = st->name_have;
	n = st->name_want > have ? st->name_want - have : 0;
	left = w->end - w->off;
	if (n > left)
		n = left;
	barrier_var(n);
	barrier_var(have);
	if (have <= REC_NAME_MAX && n >= 1 && n <= REC_NAME_MAX &&
	    load(w->p, w->off, st->name + have, n) == 0)
		st->name_have = have + n;
	/* Send it now unless a later segment still holds more of it. */
	if (st->name_have >= st->name_want || st->skip <= left)
		emit_pending(st, w->l, w->p->egress, w->p->ifindex);
}

static __noinline int F(emit)(struct emit_args *a)
{
	struct ca_counters *c;
	__u32 take;

	if (!a || !a->h || !a->p || !a->l)
		return 0;
	take = data_wanted(a->h, a->dir);
	if (take > a->data_avail) {
		take = a->data_avail;
		a->flags |= REC_F_DATA_PARTIAL;
	}
	count_msg(a->h, a->dir);
	if (take == 0) {
		struct ca_record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

		if (!r)
			goto drop;
		FILL_RECORD(r, a, 0);
		r->rec_len = sizeof(*r);
		bpf_ringbuf_submit(r, wake_after_reserve(sizeof(*r)));
	} else if (take <= 64) {
		EMIT_CLASS(64);
	} else if (take <= 128) {
		EMIT_CLASS(128);
	} else {
		EMIT_CLASS(256);
	}
	return 0;
drop:
	c = cnt();
	if (c)
		c->ringbuf_drops++;
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
	if (load(w->p, w->off, w->st->hdr, n) == 0)
		w->st->hdr_have = n;
}

static long F(walk_one)(__u32 idx, void *ctx)
{
	struct walk *w = ctx;
	struct ca_raw_hdr raw = {};
	struct emit_args a = {};
	struct hdr h = {};
	__u32 left, have, after;

	if (!w)
		return 1;
	if (w->off >= w->end) {
		w->done = 1;
		return 1;
	}
	left = w->end - w->off;
	have = left < CA_EXT_HDR_LEN ? left : CA_EXT_HDR_LEN;
	if (have < CA_HDR_LEN) {
		if (w->st) {
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
	if (load(w->p, w->off, &raw, have >= CA_EXT_HDR_LEN ? CA_EXT_HDR_LEN : CA_HDR_LEN)) {
		w->done = 1;
		return 1;
	}
	if (decode_hdr(&raw, have, &h)) {
		/* Extended header cut by the segment end. */
		if (w->st)
			F(keep_partial)(w, have);
		w->done = 1;
		return 1;
	}
	after = left - h.len;
	a.p = w->p;
	a.l = w->l;
	a.h = &h;
	a.dir = w->dir;
	a.flags = w->flags;
	a.seq = w->seq;
	a.data_off = w->off + h.len;
	a.data_avail = after < h.size ? after : h.size;
	if (!w->st && after < h.size)
		a.flags |= REC_F_TRUNCATED;
	w->flags = 0;
	if (!F(park_for_name)(w->st, &a, &raw))
		F(emit)(&a);
	learn_from(w->l, &h, w->dir);
	if (after < h.size) {
		if (w->st)
			w->st->skip = h.size - after;
		w->off = w->end;
		w->done = 1;
		return 1;
	}
	w->off += h.len + h.size;
	w->seq += h.len + h.size;
	return 0;
}

/* Finish a header whose first bytes came in the previous segment.
 * Returns 1 when the segment is used up. */
static __noinline int F(complete_split_header)(struct walk *w)
{
	struct tcp_dir_state *st;
	struct ca_raw_hdr raw = {};
	struct emit_args a = {};
	struct hdr h = {};
	__u64 have, need, left, total;

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
	if (load(w->p, w->off, st->hdr + have, need))
		return 1;
	total = have + need;
	__builtin_memcpy(&raw, st->hdr, sizeof(raw));
	if (total < CA_HDR_LEN || decode_hdr(&raw, total, &h)) {
		/* Still not a whole header: keep collecting. */
		st->hdr_have = total;
		w->off = w->end;
		return 1;
	}
	st->hdr_have = 0;
	/* The rest of the header came from this segment. */
	w->off += h.len - have;
	left = w->end - w->off;
	a.p = w->p;
	a.l = w->l;
	a.h = &h;
	a.dir = w->dir;
	a.flags = w->flags | REC_F_HDR_SPLIT;
	a.seq = w->seq - have;
	a.data_off = w->off;
	a.data_avail = left < h.size ? left : h.size;
	w->flags = 0;
	if (!F(park_for_name)(st, &a, &raw))
		F(emit)(&a);
	w->seq += h.len - have;
	if (left < h.size) {
		st->skip = h.size - left;
		w->off = w->end;
		return 1;
	}
	w->off += h.size;
	w->seq += h.size;
	return 0;
}

static __always_inline void F(process_udp)(const struct pkt *p, const struct l4 *l,
					__u8 dir)
{
	struct walk w = {};
	__u16 first = 0;

	/* Registration with a repeater: libca sends an empty datagram,
	 * caproto a REPEATER_REGISTER; the repeater answers from a port of
	 * its own, so remember who registered. */
	if (l->dport == cfg_repeater_port) {
		if (l->len >= 2)
			load(p, l->off, &first, 2);
		if (l->len == 0 || bpf_ntohs(first) == CA_PROTO_REPEATER_REGISTER)
			learn(&rep_clients, l->saddr, l->sport);
	}
	if (dir == REC_DIR_REQUEST && is_server_port(l->dport) && l->sport != l->dport)
		learn_port(&udp_clients, l->sport);
	w.p = p;
	w.l = l;
	w.off = l->off;
	w.end = l->off + l->len;
	if (w.end > p->len)
		w.end = p->len;
	w.dir = dir;
	bpf_loop(MAX_MSGS_PER_PACKET, F(walk_one), &w, 0);
}

static __always_inline void F(process_tcp)(const struct pkt *p, const struct l4 *l,
					__u8 dir)
{
	struct tcp_dir_key k = {
		.saddr = l->saddr, .daddr = l->daddr,
		.sport = l->sport, .dport = l->dport,
	};
	struct tcp_dir_state *st, *fresh;
	struct ca_counters *c;
	struct walk w = {};
	__u32 seq = l->seq, len = l->len, off = l->off;
	__s32 delta;

	if (l->tcp_flags & TCP_SYN) {
		fresh = new_state(seq + 1, 1);
		if (fresh)
			bpf_map_update_elem(&flows, &k, fresh, BPF_ANY);
		seq++;
	}
	if (off + len > p->len)
		len = off < p->len ? p->len - off : 0;
	st = bpf_map_lookup_elem(&flows, &k);
	if (len > 0) {
		if (!st) {
			/* Joined mid-connection: look for a boundary. */
			fresh = new_state(seq, 0);
			if (!fresh)
				return;
			bpf_map_update_elem(&flows, &k, fresh, BPF_ANY);
			st = bpf_map_lookup_elem(&flows, &k);
			if (!st)
				return;
		}
		delta = (__s32)(seq - st->next_seq);
		if (delta < 0) {
			__u32 old = (__u32)-delta;

			if (old >= len) {
				c = cnt();
				if (c)
					c->retransmits++;
				goto out;
			}
			off += old;
			len -= old;
			seq += old;
		} else if (delta > 0) {
			c = cnt();
			if (c)
				c->gaps++;
			/* The rest of a waiting name is lost: send what we have. */
			emit_pending(st, l, p->egress, p->ifindex);
			/* A hole inside a payload being skipped costs nothing. */
			if (st->synced && st->hdr_have == 0 && (__u64)delta <= st->skip) {
				st->skip -= (__u32)delta;
			} else {
				st->synced = 0;
				st->hdr_have = 0;
				st->skip = 0;
			}
		}
		st->next_seq = seq + len;

		w.p = p;
		w.l = l;
		w.st = st;
		w.off = off;
		w.end = off + len;
		w.seq = seq;
		w.dir = dir;

		F(feed_pending_name)(&w);
		if (st->skip >= len) {
			st->skip -= len;
			goto out;
		}
		w.off += (__u32)st->skip;
		w.seq += (__u32)st->skip;
		st->skip = 0;

		if (!st->synced) {
			struct ca_raw_hdr raw = {};
			struct hdr h = {};

			bool ok = w.end - w.off >= CA_HDR_LEN &&
				  load(p, w.off, &raw, CA_HDR_LEN) == 0 &&
				  decode_hdr(&raw, CA_HDR_LEN, &h) == 0 &&
				  plausible(&h, dir);

			if (!ok)
				goto out;  /* try again at the next segment */
			st->synced = 1;
			w.flags = REC_F_RESYNC;
			c = cnt();
			if (c)
				c->resyncs++;
		}
		if (F(complete_split_header)(&w) == 0) {
			bpf_loop(MAX_MSGS_PER_PACKET, F(walk_one), &w, 0);
			if (!w.done && w.off < w.end) {
				/* More messages than one walk takes: the rest
				 * of the packet is lost, and with it the
				 * message boundaries. */
				st->synced = 0;
				st->skip = 0;
				st->hdr_have = 0;
				c = cnt();
				if (c)
					c->walk_limit++;
			}
		}
	}
out:
	if (l->tcp_flags & (TCP_FIN | TCP_RST)) {
		st = bpf_map_lookup_elem(&flows, &k);
		if (st) {
			emit_pending(st, l, p->egress, p->ifindex);
			/* The stream ended inside a header: counted, as there
			 * is no message to flag. */
			if (st->hdr_have) {
				c = cnt();
				if (c)
					c->parse_errors++;
			}
		}
		bpf_map_delete_elem(&flows, &k);
		emit_close(l, dir, p->egress, p->ifindex);
	}
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
	e->r.rec_len = (__u16)(sizeof(e->r) + n);  /* informational: may wrap */
	e->r.kind = REC_KIND_PACKET;
	e->r.dir = dir;
	e->r.flags = p->egress ? REC_F_EGRESS : 0;
	e->r.pad0 = 0;
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

static __always_inline void F(handle)(struct pkt *p)
{
	struct ca_counters *c = cnt();
	struct l4 l = {};
	__u32 off;
	__u8 dir;
	int r;

	if (c)
		c->pkts_seen++;
	r = F(parse_eth)(p, &off);
	if (r == 0)
		r = F(parse_ipv4)(p, off, &l);
	if ((r < 0 || (r == 0 && l.ip_len_lies)) && c)
		c->parse_errors++;
	if (r != 0 || !classify(&l, &dir))
		return;
	if (c)
		c->pkts_ca++;
	l.ts_ns = bpf_ktime_get_ns();
	if (cfg_snaplen)
		F(emit_packet)(p, &l, dir);
	if (l.proto == IPPROTO_UDP_)
		F(process_udp)(p, &l, dir);
	else
		F(process_tcp)(p, &l, dir);
}

#undef load
