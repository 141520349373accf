// SPDX-License-Identifier: GPL-2.0
/* catrace kernel side: find Channel Access packets, keep each TCP
 * direction's message boundaries, and send one record per CA packet to
 * user space: its metadata once, then its CA bytes, each message's
 * payload up to its copy budget (the rest skipped, not copied).  User
 * space frames those bytes with the decoder `catrace -r` uses.
 *
 * XDP sees ingress, tc (clsact/tcx) egress, or ingress with --no-xdp; all
 * share the parsing below.  catrace only observes: every program returns
 * XDP_PASS / TC_ACT_UNSPEC whatever happens.
 *
 * Packet bytes are read with bpf_{xdp,skb}_load_bytes into the stack or
 * the ring buffer, never through direct packet pointers: one code path for
 * both hooks, safe with non-linear buffers, and simple for the verifier.
 */
/* UAPI headers, not vmlinux.h: the programs read their contexts and the
 * wire's headers, whose layouts are ABI, and no kernel-internal structure
 * (no CO-RE), so they need none of the running kernel's types. */
#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ca_proto.h"
#include "ca_rules.h"
#include "catrace_record.h"
#include "ca_ports.bpf.h"

/* The flags byte of the TCP header (byte 13), as the records carry it:
 * linux/tcp.h has them only as bits of a 32-bit word. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04

/* iphdr.frag_off's fragment bits (host order): kernel-internal names,
 * not in the UAPI headers. */
#define IP_MF     0x2000
#define IP_OFFSET 0x1fff

/* tc egress sees a GSO packet before the stack cuts it into segments: up
 * to 64 KB, which is over 4000 of the smallest (16-byte) messages. */
#define MAX_MSGS_PER_PACKET 8192

/* Set by the loader before load. */
const volatile __u32 cfg_value_bytes = REC_VALUE_BYTES_DEFAULT;  /* 0: none */
const volatile __u32 cfg_snaplen = 0;       /* -w: packet bytes to send (0: none) */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* Set by the loader (tests shorten it); 0: learned servers never expire. */
const volatile __u64 cfg_learn_ttl_ns = LEARNED_TTL_NS_DEFAULT;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ep_key);
	__type(value, struct learned_server);
} servers SEC(".maps");

/* Flows to pending servers seen opening, until their first payload says
 * whether they are CA (see judge_pending_flow). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tcp_dir_key);
	__type(value, struct pending_flow);
} pending_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ep_key);
	__type(value, __u8);
} rep_clients SEC(".maps");

/* Datagrams of CA traffic whose first fragment came (struct frag_key). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct frag_key);
	__type(value, __u8);
} frag_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tcp_dir_key);
	__type(value, struct tcp_dir_state);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ca_counters);
} counters SEC(".maps");

/* The state a late segment is framed with: its own, not the flow's
 * (which has moved on); per CPU, as a packet is handled on one. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcp_dir_state);
} late_state SEC(".maps");

/* Owner of pinned maps (user space only). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct catrace_meta);
} meta SEC(".maps");

/* A segment record is put together here, then sent at its own size
 * (bpf_ringbuf_reserve wants a constant size; bpf_ringbuf_output does
 * not).  The data area is twice the largest record so that the verifier
 * can bound every write at a variable offset.  One slot per CPU and
 * direction, like pkt_scratch (the loader sizes it). */
/* How far the record is built.  Kept in the map value, not on the stack,
 * on purpose: the verifier does not track what map memory holds, so the
 * message walk's iterations look alike to it and it need not explore
 * each one apart. */
struct seg_build {
	__u32 base;                 /* packet offset of the record's seq */
	__u32 base_seq;
	__u32 seg_end;              /* TCP: end of the segment's new bytes */
	__u32 acct_end;             /* TCP: where the last message's skipped
				     * bytes end, past seg_end (0: none) */
	__u32 s_start, s_end;       /* the open span */
	__u32 dpos;                 /* bytes of d used */
	__u32 nspans;
	__u32 nmsgs;                /* messages whose header the record holds */
	__u8 flags;                 /* of the record being built */
	__u8 open;                  /* a span is open */
	__u8 open_at_hdr;           /* ... and starts at a message header */
	__u8 lost_next;             /* a record was refused: the next says so */
	__u8 egress_flag;           /* REC_F_EGRESS or 0 */
	/* The message walk's position (see walk_step). */
	__u8 w_dir;
	__u8 w_tcp;
	__u8 w_done;
	__u32 w_off;
	__u32 w_end;
	__u8 w_resync;
	__u8 pad[3];
};

struct seg_scratch {
	struct seg_build b;
	struct ca_seg_record r;
	__u8 d[2 * REC_SEG_DATA_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct seg_scratch);
} seg_scratch SEC(".maps");

/* A new flow state is built here: it is too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcp_dir_state);
} state_tmpl SEC(".maps");

static __always_inline struct tcp_dir_state *new_state(__u32 next_seq, __u8 synced)
{
	__u32 zero = 0;
	struct tcp_dir_state *t = bpf_map_lookup_elem(&state_tmpl, &zero);

	if (!t)
		return NULL;
	__builtin_memset(t, 0, sizeof(*t));
	t->next_seq = next_seq;
	t->synced = synced;
	return t;
}

/* -w: a packet is copied here, then into the ring buffer at its own size
 * (bpf_ringbuf_reserve needs a constant size; this does not). */
struct pkt_scratch {
	struct ca_pkt_record r;
	__u8 d[REC_PKT_MAX];
};

/* Per-CPU values are limited to 32 KB, so this is a plain array with one
 * slot per CPU and direction (the loader sizes it to 2 x CPUs with -w,
 * leaves it at one entry otherwise). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pkt_scratch);
} pkt_scratch SEC(".maps");

/* ---- packet access ---- */

struct pkt {
	void *ctx;
	__u32 len;       /* bytes in the packet */
	__u8 xdp;
	__u8 egress;
	__u16 gso_size;  /* tc: skb's GSO segment size */
	__u16 gso_segs;
	__u32 ifindex;
};

/* `xdp` must be a compile-time constant at every call site: the verifier
 * rejects a helper the program type may not call even on a dead branch,
 * so every subprogram below exists once per hook. */
static __always_inline long load_x(bool xdp, const struct pkt *p, __u32 off,
				   void *to, __u32 n)
{
	if (xdp)
		return bpf_xdp_load_bytes(p->ctx, off, to, n);
	return bpf_skb_load_bytes(p->ctx, off, to, n);
}


static __always_inline struct ca_counters *cnt(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&counters, &zero);
}

/* ---- parsing ---- */

/* Where parsing is in the packet, as in xdp-tools: one parse function per
 * header checks it, moves the cursor past it and returns what follows,
 * so the caller chooses the next parser and each stays small. */
struct hdr_cursor {
	__u32 off;   /* the next header's first byte */
	__u32 end;   /* where the enclosing header's bytes end: the packet's
		      * end, then the IPv4 datagram's */
};

/* What a parse function returns when it is not a next protocol (>= 0). */
#define PARSE_BROKEN (-1)  /* cut short, or a length field lies: counted */
#define PARSE_FRAGMENT (-3)  /* the first fragment of a TCP or UDP datagram:
			      * its ports are known, its payload is not whole */
#define PARSE_SKIP   (-2)  /* well formed, nothing for catrace: not IPv4,
			    * neither TCP nor UDP */
#define PARSE_FRAG_LATER (-4)  /* a later fragment of a TCP or UDP datagram:
				* no ports, its identity in l (frag_key) */

/* An 802.1Q / 802.1ad tag, after the MAC addresses: the UAPI headers do
 * not have it. */
struct vlan_tag {
	__be16 tci;
	__be16 inner_proto;
};

/* Tags walked: one, or a QinQ pair.  A third is a chain no CA network
 * uses: counted as broken, like a header cut short. */
#define VLAN_MAX_DEPTH 2

struct l4 {
	__u32 saddr, daddr;   /* host order */
	__u16 sport, dport;
	__u8 proto;
	__u8 tcp_flags;
	__u32 seq;
	__u32 off;            /* payload offset in the packet */
	__u32 len;            /* payload bytes per the IP/UDP/TCP headers */
	__u8 ip_len_lies;     /* IPv4 total length past the packet's end */
	__u8 fragment;        /* the first fragment of a datagram (MF set) */
	__u16 ip_id;          /* fragments: the IPv4 identification */
	__u16 csum_field;     /* TCP: the checksum as it lies in the packet */
	__u32 l4_off;         /* TCP: where its header starts */
	__u64 ts_ns;          /* CA packets: when the hook saw it, for all its
			       * records (a clock read costs ~25 ns in a VM) */
};

/* ---- which packets are CA ---- */

static __always_inline bool is_learned(void *map, __u32 ip, __u16 port)
{
	struct ep_key k = { .ip = ip, .port = port };

	return bpf_map_lookup_elem(map, &k) != NULL;
}

static __always_inline void mark_port(__u16 port, bool server)
{
	__u32 k = port;
	struct port_info *v = bpf_map_lookup_elem(&port_flags, &k);

	if (!v)
		return;
	if (server)
		v->learned = 1;
	else
		v->rep_client = 1;
}

static __always_inline void count_learned(void)
{
	struct ca_counters *c = cnt();

	if (c)
		c->learned++;
}

/* Repeater clients (their registration is not forgeable into anything
 * worse than a few datagrams shown). */
static __always_inline void learn(void *map, __u32 ip, __u16 port)
{
	struct ep_key k = { .ip = ip, .port = port };
	__u8 one = 1;

	if (!port || !ip || ip == 0xFFFFFFFF)
		return;
	if (bpf_map_lookup_elem(map, &k))
		return;
	if (bpf_map_update_elem(map, &k, &one, BPF_NOEXIST) == 0)
		count_learned();
	mark_port(port, false);
}

/* An announced TCP server: pending until user space confirms it.  A new
 * announcement of a known one only keeps it from expiring: it changes
 * nothing of what its flows are. */
static __always_inline void learn_server(__u32 ip, __u16 port)
{
	struct ep_key k = { .ip = ip, .port = port };
	struct learned_server fresh = {}, *v;

	if (!port || !ip || ip == 0xFFFFFFFF)
		return;
	v = bpf_map_lookup_elem(&servers, &k);
	if (v) {
		v->seen_ns = bpf_ktime_get_ns();
		return;
	}
	fresh.seen_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&servers, &k, &fresh, BPF_NOEXIST) == 0)
		count_learned();
	mark_port(port, true);
}

/* Like learn(), for keys that are a port alone. */
static __always_inline void learn_port(void *map, __u16 port)
{
	struct ep_key k = { .ip = 0, .port = port };
	__u8 one = 1;

	if (port && !bpf_map_lookup_elem(map, &k))
		bpf_map_update_elem(map, &k, &one, BPF_NOEXIST);
}

/* What classify() says of a packet. */
#define CLS_NOT_CA  0
#define CLS_CA      1
#define CLS_PENDING 2   /* a flow of a pending learned server not yet
			 * judged: its opening decides (judge_pending_flow) */

/* A flow was admitted when the kernel follows either of its directions:
 * the state is created for a pending server's flow only when it opened
 * like CA, and it goes with the flow. */
static __always_inline bool flow_followed(const struct l4 *l)
{
	struct tcp_dir_key k = {
		.saddr = l->saddr, .daddr = l->daddr,
		.sport = l->sport, .dport = l->dport,
	};
	struct tcp_dir_key r = {
		.saddr = l->daddr, .daddr = l->saddr,
		.sport = l->dport, .dport = l->sport,
	};

	return bpf_map_lookup_elem(&flows, &k) || bpf_map_lookup_elem(&flows, &r);
}

/* A pending entry that neither an announcement nor an admitted flow kept
 * alive for the TTL is forgotten: a forged announcement costs a map slot
 * for a minute, not forever. */
static __always_inline bool expired(struct learned_server *v, const struct ep_key *k,
				    __u64 now)
{
	struct ca_counters *c;

	if (!cfg_learn_ttl_ns || now - v->seen_ns <= cfg_learn_ttl_ns)
		return false;
	if (bpf_map_delete_elem(&servers, k) == 0) {
		c = cnt();
		if (c)
			c->learned_expired++;
	}
	return true;
}

/* A TCP packet to or from the learned server (ip, port). */
static __always_inline int learned_verdict(const struct l4 *l, __u32 ip, __u16 port)
{
	struct ep_key k = { .ip = ip, .port = port };
	struct learned_server *v = bpf_map_lookup_elem(&servers, &k);
	__u64 now;

	if (!v)
		return CLS_NOT_CA;
	if (v->confirmed)
		return CLS_CA;
	now = bpf_ktime_get_ns();
	if (flow_followed(l)) {
		v->seen_ns = now;  /* a live circuit keeps its server known */
		return CLS_CA;
	}
	if (expired(v, &k, now))
		return CLS_NOT_CA;
	return CLS_PENDING;
}

/* CLS_* and the direction.  Ports the configuration names are CA whatever
 * their traffic; a learned server's flows only as learned_verdict says. */
static __always_inline int classify(const struct l4 *l, __u8 *dir)
{
	__u32 d = port_bits(l->dport), s = port_bits(l->sport);
	int v;

	if (l->proto == IPPROTO_UDP) {
		if (d & (PORT_SERVER | PORT_REPEATER)) {
			*dir = REC_DIR_REQUEST;
			return CLS_CA;
		}
		if ((s & (PORT_SERVER | PORT_REPEATER)) ||
		    ((d & PORT_REP_CLIENT) && is_learned(&rep_clients, l->daddr, l->dport))) {
			*dir = REC_DIR_RESPONSE;
			return CLS_CA;
		}
		if (l->sport == l->dport && is_learned(&udp_clients, 0, l->dport)) {
			*dir = REC_DIR_REQUEST;
			return CLS_CA;
		}
		return CLS_NOT_CA;
	}
	if (d & PORT_SERVER) {
		*dir = REC_DIR_REQUEST;
		return CLS_CA;
	}
	if (d & PORT_LEARNED) {
		v = learned_verdict(l, l->daddr, l->dport);
		if (v != CLS_NOT_CA) {
			*dir = REC_DIR_REQUEST;
			return v;
		}
	}
	if (s & PORT_SERVER) {
		*dir = REC_DIR_RESPONSE;
		return CLS_CA;
	}
	if (s & PORT_LEARNED) {
		v = learned_verdict(l, l->saddr, l->sport);
		if (v != CLS_NOT_CA) {
			*dir = REC_DIR_RESPONSE;
			return v;
		}
	}
	return CLS_NOT_CA;
}

/* ---- CA headers ---- */

struct ca_raw_hdr {
	__be16 cmd, size, dtype, count;
	__be32 p1, p2;
	__be32 xsize, xcount;
};

struct hdr {
	struct ca_rule_hdr r;
	__u8 len;
};

/* Decode raw bytes; `have` bytes are valid (16 or more).  Returns 0 when
 * complete, 1 when the extended form needs 8 more bytes. */
static __always_inline int decode_hdr(const struct ca_raw_hdr *r, __u32 have,
				      struct hdr *h)
{
	h->r.cmd = bpf_ntohs(r->cmd);
	h->r.dtype = bpf_ntohs(r->dtype);
	h->r.p1 = bpf_ntohl(r->p1);
	h->r.p2 = bpf_ntohl(r->p2);
	if (bpf_ntohs(r->size) == CA_EXT_SIZE_MARK) {
		if (have < CA_EXT_HDR_LEN)
			return 1;
		h->r.size = bpf_ntohl(r->xsize);
		h->r.count = bpf_ntohl(r->xcount);
		h->r.extended = 1;
		h->len = CA_EXT_HDR_LEN;
	} else {
		h->r.size = bpf_ntohs(r->size);
		h->r.count = bpf_ntohs(r->count);
		h->r.extended = 0;
		h->len = CA_HDR_LEN;
	}
	return 0;
}

/* The shared rule, as one subprogram: the verifier walks its switch once
 * per call site rather than once per path into it. */
static __noinline bool plausible(const struct ca_rule_hdr *h, int req, int strict)
{
	return h && ca_rule_plausible(h, req, 1, strict);
}

/* ---- records ---- */

/* Waking the reader costs microseconds per record: wake it once per
 * WAKE_BYTES of data that comes in while it does not consume, i.e. when
 * the data waiting crosses a multiple of WAKE_BYTES upwards.  Not only the
 * first multiple: a crossing two CPUs made together without either seeing
 * it is then made up for WAKE_BYTES later, not at the reader's next 100 ms
 * poll (at 1M messages/s the ring fills in about that time).  A record
 * takes its size plus an 8-byte header, rounded up to 8 bytes, in the
 * ring; counting only its size missed one crossing in every few. */
#define WAKE_BYTES (256 * 1024)

static __always_inline __u64 ring_footprint(__u64 size)
{
	return (size + 8 + 7) & ~7ull;
}

static __always_inline __u64 wake_if_crossed(__u64 before, __u64 after)
{
	return before / WAKE_BYTES != after / WAKE_BYTES ? BPF_RB_FORCE_WAKEUP
							 : BPF_RB_NO_WAKEUP;
}

/* Before bpf_ringbuf_output of `size` bytes. */
static __always_inline __u64 wake_before_output(__u64 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	return wake_if_crossed(avail, avail + ring_footprint(size));
}

static __always_inline void count_msg(const struct hdr *h, __u8 dir)
{
	struct ca_counters *c = cnt();
	__u32 i = h->r.cmd < CNT_CMDS ? h->r.cmd : CNT_CMDS - 1;

	if (!c)
		return;
	i &= CNT_CMDS - 1;
	dir &= 1;
	c->msgs[i][dir]++;
	c->bytes[i][dir] += h->len + (__u64)h->r.size;
}

/* What the traffic teaches: servers announce their TCP ports in search
 * replies (over UDP, or a name server's circuit) and beacons. */
static __always_inline void learn_from(const struct l4 *l, const struct hdr *h,
				       __u8 dir)
{
	__u32 ip;
	__u16 port;

	if (ca_rule_announced_server(&h->r, dir == REC_DIR_REQUEST,
				     l->proto == IPPROTO_TCP, l->saddr, &ip, &port))
		learn_server(ip, port);
}

/* The flow's message boundaries are no longer known: look for them. */
static __always_inline void forget_boundaries(struct tcp_dir_state *st)
{
	st->synced = 0;
	st->hdr_have = 0;
	st->copy = 0;
	st->skip = 0;
	st->unsynced_sent = 0;
}

/* ---- a TCP direction's stream: its state, its sequence ---- */

/* What a segment brings that the stream has not had: `len` bytes at
 * stream position `seq`, packet offset `off`. */
struct seg_new {
	__u32 seq;
	__u32 off;
	__u32 len;
};

/* The flows map takes a direction's state; the LRU map may push out
 * another to make room, which nothing tells: counting what comes and
 * goes lets user space count those (created - ended - held). */
static __always_inline void flows_take(const struct tcp_dir_key *k,
				       const struct tcp_dir_state *st)
{
	struct ca_counters *c;

	if (bpf_map_update_elem(&flows, k, st, BPF_NOEXIST) == 0) {
		c = cnt();
		if (c)
			c->flows_created++;
		return;
	}
	bpf_map_update_elem(&flows, k, st, BPF_ANY);
}

/* A SYN: the stream starts after it (ISN + 1) at a message boundary,
 * whatever an earlier connection on the same ports left. */
static __always_inline void tcp_stream_open(const struct tcp_dir_key *k, __u32 isn)
{
	struct tcp_dir_state *fresh = new_state(isn + 1, 1);

	if (!fresh)
		return;
	fresh->boundary = 1;  /* the stream starts here */
	flows_take(k, fresh);
}

/* The direction's state.  A stream catrace did not see open (joined
 * mid-connection, or its state evicted) gets one at `seq` that must look
 * for a boundary, what came before unknown; but only for a segment that
 * brings something (`brings`: bytes, FIN or RST), else NULL. */
static __always_inline struct tcp_dir_state *tcp_stream_state(const struct tcp_dir_key *k,
							      __u32 seq, bool brings)
{
	struct tcp_dir_state *st = bpf_map_lookup_elem(&flows, k), *fresh;

	if (st || !brings)
		return st;
	fresh = new_state(seq, 0);
	if (!fresh)
		return NULL;
	fresh->lost = 1;
	flows_take(k, fresh);
	return bpf_map_lookup_elem(&flows, k);
}

/* The segment's first `old` bytes are ones the stream had already: a
 * retransmission when that is all of them (counted, nothing left), else
 * only they are dropped. */
static __always_inline void tcp_drop_old(struct seg_new *s, __u32 old)
{
	struct ca_counters *c;

	if (old >= s->len) {
		c = cnt();
		if (c)
			c->retransmits++;
		s->len = 0;
		return;
	}
	s->off += old;
	s->len -= old;
	s->seq += old;
}

/* `hole` bytes before the segment never came (lost, or not captured):
 * counted, and the next record says so.  A hole inside a message's
 * payload costs nothing but its bytes; anywhere else the boundaries are
 * lost with it. */
static __always_inline void tcp_note_hole(struct tcp_dir_state *st, __u64 hole)
{
	struct ca_counters *c = cnt();

	if (c)
		c->gaps++;
	st->lost = 1;
	st->hole_start = st->next_seq;
	st->hole_end = st->next_seq + (__u32)hole;
	if (st->synced && st->hdr_have == 0 && hole <= st->copy + st->skip) {
		if (hole <= st->copy) {
			st->copy -= hole;
		} else {
			st->skip -= hole - st->copy;
			st->copy = 0;
		}
	} else {
		forget_boundaries(st);
	}
}

/* A segment whose bytes all lie in the latest hole came late (a later
 * one came first): its bytes were never delivered, so they are not a
 * retransmission.  The hole shrinks from the end it fills. */
static __always_inline bool tcp_late_fill(struct tcp_dir_state *st, const struct seg_new *s)
{
	if (st->hole_start == st->hole_end || s->len == 0 ||
	    (__s32)(s->seq - st->hole_start) < 0 ||
	    (__s32)(s->seq + s->len - st->hole_end) > 0)
		return false;
	if (s->seq == st->hole_start)
		st->hole_start += s->len;
	else if (s->seq + s->len == st->hole_end)
		st->hole_end = s->seq;
	return true;
}

/* Place the segment's bytes in the stream: what is old is dropped, a hole
 * before them noted, and the stream expects the byte after them next. */
static __always_inline void tcp_stream_advance(struct tcp_dir_state *st, struct seg_new *s)
{
	__s32 delta;

	if (s->len == 0)
		return;
	delta = (__s32)(s->seq - st->next_seq);
	if (delta < 0)
		tcp_drop_old(s, (__u32)-delta);
	else if (delta > 0)
		tcp_note_hole(st, (__u32)delta);
	if (s->len > 0)
		st->next_seq = s->seq + s->len;
}

/* After a segment's records: a refused one (ring buffer full) makes the
 * next say so, and start at a boundary if one is known; one sent clears
 * what the previous refusal left. */
static __always_inline void tcp_stream_sent(struct tcp_dir_state *st, bool refused)
{
	if (!refused) {
		st->lost = 0;
		st->boundary = 0;
		return;
	}
	st->lost = 1;
	if (st->synced) {
		/* The message in progress is lost with the record; so is one
		 * whose header it began. */
		st->skip += st->copy;
		st->copy = 0;
		st->boundary = 1;
		st->hdr_lost = st->hdr_have != 0;
	} else {
		forget_boundaries(st);
	}
}

/* FIN or RST: the direction's stream is over.  One that ended inside a
 * header is counted, as there is no message to flag. */
static __always_inline void tcp_stream_end(const struct tcp_dir_key *k,
					   const struct tcp_dir_state *st)
{
	struct ca_counters *c;

	c = cnt();
	if (st->hdr_have && c)
		c->parse_errors++;
	if (bpf_map_delete_elem(&flows, k) == 0 && c)
		c->flows_ended++;
}

/* ---- building a segment record ---- */

/* The record being built for one packet, and where the walk is. */
struct walk {
	void *ctx;                  /* the hook's context, for its load helper */
	const struct l4 *l;
	struct tcp_dir_state *st;   /* TCP only */
	struct seg_scratch *e;
	__u32 off;                  /* next header */
	__u32 end;                  /* end of the payload in the packet */
	__u8 dir;
	__u8 done;                  /* the walk ended by itself (not the limit) */
	__u8 resync;                /* out of sync: the rest goes unframed */
};

/* Send the record built so far, accounting for the stream up to packet
 * offset `upto`, and start the next one there.  The packet's metadata is
 * in e->r already.  A global function: the verifier checks it once, not
 * once per path that leads to it. */
__noinline int submit_seg(struct seg_scratch *e, __u32 upto)
{
	struct ca_counters *c;
	__u64 n;

	if (!e)
		return 0;
	n = e->b.dpos;
	if (n > REC_SEG_DATA_MAX)
		n = REC_SEG_DATA_MAX;
	e->r.flags = e->b.flags | e->b.egress_flag;
	e->r.rec_len = sizeof(e->r) + n;
	e->r.seq = e->b.base_seq;
	/* A message whose copied part is done: the record accounts for the
	 * rest of it too, skipped, so that user space can print it now
	 * rather than when the next record of the flow comes. */
	if (e->b.acct_end > upto && upto == e->b.seg_end)
		upto = e->b.acct_end;
	if (e->r.proto != IPPROTO_UDP)
		e->r.len = upto - e->b.base;
	e->r.n_spans = e->b.nspans;
	if (bpf_ringbuf_output(&events, &e->r, sizeof(e->r) + n,
			       wake_before_output(sizeof(e->r) + n))) {
		c = cnt();
		if (c) {
			c->ringbuf_drops++;
			c->msgs_dropped += e->b.nmsgs;
		}
		e->b.lost_next = 1;
	}
	e->b.base_seq += upto - e->b.base;
	e->b.base = upto;
	e->b.dpos = 0;
	e->b.nspans = 0;
	e->b.nmsgs = 0;
	e->b.flags = 0;
	return 0;
}

/* A new record for this packet: its metadata once, nothing built yet. */
static __always_inline void seg_start(struct seg_scratch *e, const struct pkt *p,
				      const struct l4 *l, __u8 dir, __u32 base,
				      __u32 base_seq)
{
	__builtin_memset(&e->b, 0, sizeof(e->b));
	e->b.base = base;
	e->b.base_seq = base_seq;
	e->b.egress_flag = p->egress ? REC_F_EGRESS : 0;
	e->r.version = CATRACE_REC_VERSION;
	e->r.kind = REC_KIND_SEG;
	e->r.ts_ns = l->ts_ns;
	e->r.ifindex = p->ifindex;
	e->r.saddr = l->saddr;
	e->r.daddr = l->daddr;
	e->r.sport = l->sport;
	e->r.dport = l->dport;
	e->r.len = l->len;
	e->r.proto = l->proto;
	e->r.dir = dir;
	e->r.tcp_flags = l->tcp_flags;
	e->r.pad0 = 0;
	e->r.pad1 = 0;
}

/* ---- the hook-specific half, once per hook ---- */

#define XDP 1
#define F(name) name##_xdp
#include "catrace_hook.bpf.h"
#undef F
#undef XDP

#define XDP 0
#define F(name) name##_skb
#include "catrace_hook.bpf.h"
#undef F
#undef XDP

SEC("xdp.frags")
int catrace_xdp(struct xdp_md *ctx)
{
	struct pkt p = {
		.ctx = ctx,
		.len = bpf_xdp_get_buff_len(ctx),
		.xdp = 1,
		.ifindex = ctx->ingress_ifindex,
	};

	handle_xdp(&p);
	return XDP_PASS;
}

static __always_inline int tc_common(struct __sk_buff *skb, __u8 egress)
{
	struct pkt p = {
		.ctx = skb,
		.len = skb->len,
		.xdp = 0,
		.egress = egress,
		.gso_size = (__u16)skb->gso_size,
		.gso_segs = (__u16)skb->gso_segs,
		.ifindex = skb->ifindex,
	};

	handle_skb(&p);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int catrace_tc_egress(struct __sk_buff *skb)
{
	return tc_common(skb, 1);
}

SEC("tc")
int catrace_tc_ingress(struct __sk_buff *skb)
{
	return tc_common(skb, 0);
}

char LICENSE[] SEC("license") = "GPL";
