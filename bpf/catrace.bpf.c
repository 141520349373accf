// SPDX-License-Identifier: GPL-2.0
/* catrace kernel side: find Channel Access messages in packets and send
 * one compact record per message to user space.
 *
 * XDP sees ingress, tc (clsact/tcx) egress, or ingress with --no-xdp; all
 * share the parsing below.  catrace only observes: every program returns
 * XDP_PASS / TC_ACT_UNSPEC whatever happens.
 *
 * Packet bytes are read with bpf_{xdp,skb}_load_bytes into the stack or
 * the ring buffer, never through direct packet pointers: one code path for
 * both hooks, safe with non-linear buffers, and simple for the verifier.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ca_proto.h"
#include "catrace_record.h"

#define ETH_P_IP      0x0800
#define ETH_P_8021Q   0x8100
#define ETH_P_8021AD  0x88A8
#define IPPROTO_TCP_  6
#define IPPROTO_UDP_  17
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TC_ACT_UNSPEC_ (-1)

/* tc egress sees a GSO packet before the stack cuts it into segments: up
 * to 64 KB, which is over 4000 of the smallest (16-byte) messages. */
#define MAX_MSGS_PER_PACKET 8192

/* Set by the loader before load. */
const volatile __u16 cfg_server_port = CA_SERVER_PORT_DEFAULT;
const volatile __u16 cfg_repeater_port = CA_REPEATER_PORT_DEFAULT;
const volatile __u16 cfg_user_ports[CATRACE_MAX_USER_PORTS] = {};
const volatile __u32 cfg_value_bytes = 64;  /* 0: headers (and names) only */
const volatile __u32 cfg_snaplen = 0;       /* -w: packet bytes to send (0: none) */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ep_key);
	__type(value, __u8);
} servers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ep_key);
	__type(value, __u8);
} rep_clients SEC(".maps");

/* Ports some learned server uses: a cheap array look-up that spares most
 * non-CA packets the hash look-ups of `servers`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} server_ports SEC(".maps");

/* Ports clients search from (ip 0): libca wakes its UDP thread at exit
 * with a VERSION sent from that port to itself. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ep_key);
	__type(value, __u8);
} udp_clients SEC(".maps");

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

/* Owner of pinned maps (user space only). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct catrace_meta);
} meta SEC(".maps");

/* Where a record that waited for its PV name is put together. */
struct rec_scratch {
	struct ca_record r;
	__u8 d[2 * REC_NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec_scratch);
} scratch SEC(".maps");

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

/* ---- parsed packet ---- */

struct l4 {
	__u32 saddr, daddr;   /* host order */
	__u16 sport, dport;
	__u8 proto;
	__u8 tcp_flags;
	__u32 seq;
	__u32 off;            /* payload offset in the packet */
	__u32 len;            /* payload bytes per the IP/UDP length */
};

/* ---- which packets are CA ---- */

static __always_inline bool is_server_port(__u16 port)
{
	int i;

	if (port == cfg_server_port)
		return true;
#pragma unroll
	for (i = 0; i < CATRACE_MAX_USER_PORTS; i++)
		if (cfg_user_ports[i] && cfg_user_ports[i] == port)
			return true;
	return false;
}

static __always_inline bool port_has_server(__u16 port)
{
	__u32 k = port;
	__u8 *v = bpf_map_lookup_elem(&server_ports, &k);

	return v && *v;
}

static __always_inline bool is_learned(void *map, __u32 ip, __u16 port)
{
	struct ep_key k = { .ip = ip, .port = port };

	return bpf_map_lookup_elem(map, &k) != NULL;
}

static __always_inline void learn(void *map, __u32 ip, __u16 port)
{
	struct ep_key k = { .ip = ip, .port = port };
	struct ca_counters *c;
	__u8 one = 1;

	if (!port || !ip || ip == 0xFFFFFFFF)
		return;
	if (bpf_map_lookup_elem(map, &k))
		return;
	if (bpf_map_update_elem(map, &k, &one, BPF_NOEXIST) == 0) {
		c = cnt();
		if (c)
			c->learned++;
	}
	if (map == (void *)&servers) {
		__u32 pk = port;

		bpf_map_update_elem(&server_ports, &pk, &one, BPF_ANY);
	}
}

/* Like learn(), for keys that are a port alone. */
static __always_inline void learn_port(void *map, __u16 port)
{
	struct ep_key k = { .ip = 0, .port = port };
	__u8 one = 1;

	if (port && !bpf_map_lookup_elem(map, &k))
		bpf_map_update_elem(map, &k, &one, BPF_NOEXIST);
}

/* Returns 1 and the direction when the packet is CA. */
static __always_inline int classify(const struct l4 *l, __u8 *dir)
{
	if (l->proto == IPPROTO_UDP_) {
		if (is_server_port(l->dport) || l->dport == cfg_repeater_port) {
			*dir = REC_DIR_REQUEST;
			return 1;
		}
		if (is_server_port(l->sport) || l->sport == cfg_repeater_port ||
		    is_learned(&rep_clients, l->daddr, l->dport)) {
			*dir = REC_DIR_RESPONSE;
			return 1;
		}
		if (l->sport == l->dport && is_learned(&udp_clients, 0, l->dport)) {
			*dir = REC_DIR_REQUEST;
			return 1;
		}
		return 0;
	}
	if (is_server_port(l->dport) ||
	    (port_has_server(l->dport) && is_learned(&servers, l->daddr, l->dport))) {
		*dir = REC_DIR_REQUEST;
		return 1;
	}
	if (is_server_port(l->sport) ||
	    (port_has_server(l->sport) && is_learned(&servers, l->saddr, l->sport))) {
		*dir = REC_DIR_RESPONSE;
		return 1;
	}
	return 0;
}

/* ---- CA headers ---- */

struct ca_raw_hdr {
	__be16 cmd, size, dtype, count;
	__be32 p1, p2;
	__be32 xsize, xcount;
};

struct hdr {
	__u16 cmd, dtype;
	__u32 size, count, p1, p2;
	__u8 len;
};

/* Decode raw bytes; `have` bytes are valid (16 or 24).  Returns 0 when
 * complete, 1 when the extended form needs 8 more bytes. */
static __always_inline int decode_hdr(const struct ca_raw_hdr *r, __u32 have,
				      struct hdr *h)
{
	h->cmd = bpf_ntohs(r->cmd);
	h->dtype = bpf_ntohs(r->dtype);
	h->p1 = bpf_ntohl(r->p1);
	h->p2 = bpf_ntohl(r->p2);
	if (bpf_ntohs(r->size) == CA_EXT_SIZE_MARK) {
		if (have < CA_EXT_HDR_LEN)
			return 1;
		h->size = bpf_ntohl(r->xsize);
		h->count = bpf_ntohl(r->xcount);
		h->len = CA_EXT_HDR_LEN;
	} else {
		h->size = bpf_ntohs(r->size);
		h->count = bpf_ntohs(r->count);
		h->len = CA_HDR_LEN;
	}
	return 0;
}

/* A believable message start after lost sync (a subset of the user-space
 * check: command known for the direction, 8-byte padding, sane sizes). */
static __always_inline bool plausible(const struct hdr *h, __u8 dir)
{
	bool req = dir == REC_DIR_REQUEST;

	if (h->size & 7 || h->size > (1u << 30))
		return false;
	switch (h->cmd) {
	case CA_PROTO_VERSION:
		return h->size == 0 && h->count >= 1 && h->count < 64 && h->dtype < 100;
	case CA_PROTO_EVENT_ADD:
		return req ? h->size == 16 : h->dtype <= DBR_LAST_TYPE;
	case CA_PROTO_READ_NOTIFY:
	case CA_PROTO_READ:
		return h->dtype <= DBR_LAST_TYPE && (!req || h->size == 0);
	case CA_PROTO_WRITE:
		return req && h->size > 0 && h->dtype <= DBR_LAST_TYPE;
	case CA_PROTO_WRITE_NOTIFY:
		return h->dtype <= DBR_LAST_TYPE && (req ? h->size > 0 : h->size == 0);
	case CA_PROTO_EVENT_CANCEL:
	case CA_PROTO_EVENTS_OFF:
	case CA_PROTO_EVENTS_ON:
		return req && h->size == 0;
	case CA_PROTO_CREATE_CHAN:
		return req ? h->size >= 8 && h->size <= CA_MAX_NAME_LEN + 8 : h->size == 0;
	case CA_PROTO_CLIENT_NAME:
	case CA_PROTO_HOST_NAME:
		return req && h->size >= 8 && h->size <= 1024;
	case CA_PROTO_SEARCH:
		return req ? h->size >= 8 && h->size <= 1024 && h->p1 == h->p2 : h->size <= 8;
	case CA_PROTO_ERROR:
		return !req && h->size >= CA_HDR_LEN && h->size <= 2048;
	case CA_PROTO_ACCESS_RIGHTS:
		return !req && h->size == 0 && h->p2 <= 3;
	case CA_PROTO_READ_SYNC:
	case CA_PROTO_ECHO:
	case CA_PROTO_CLEAR_CHANNEL:
		return h->size == 0;
	case CA_PROTO_NOT_FOUND:
	case CA_PROTO_CREATE_CH_FAIL:
	case CA_PROTO_SERVER_DISCONN:
		return !req && h->size == 0;
	default:
		return false;
	}
}

/* ---- records ---- */

/* Waking the reader costs microseconds per record: wake it only when the
 * data waiting crosses WAKE_BYTES, i.e. once per batch, never again while
 * it stays above (the reader is behind then, and busy anyway).  The reader
 * also polls every 100 ms, so a lone record, or a crossing two CPUs made
 * together without either seeing it, still comes out. */
#define WAKE_BYTES (256 * 1024)

/* After bpf_ringbuf_reserve: the waiting data already counts the record. */
static __always_inline __u64 wake_after_reserve(__u64 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	return avail >= WAKE_BYTES && avail - size < WAKE_BYTES ?
	       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Before bpf_ringbuf_output of `size` bytes. */
static __always_inline __u64 wake_before_output(__u64 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	return avail < WAKE_BYTES && avail + size >= WAKE_BYTES ?
	       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* How many payload bytes a record of this message should carry. */
static __always_inline __u32 data_wanted(const struct hdr *h, __u8 dir)
{
	__u32 want;

	if ((h->cmd == CA_PROTO_SEARCH || h->cmd == CA_PROTO_CREATE_CHAN) &&
	    dir == REC_DIR_REQUEST)
		want = REC_NAME_MAX;  /* the PV name: always, it names the rest */
	else
		want = cfg_value_bytes;
	if (h->cmd == CA_PROTO_SEARCH && dir == REC_DIR_RESPONSE)
		want = 8;  /* the server's minor version */
	if (want > h->size)
		want = h->size;
	if (want > REC_DATA_MAX)
		want = REC_DATA_MAX;
	return want;
}

static __always_inline bool names_channel(const struct hdr *h, __u8 dir)
{
	return dir == REC_DIR_REQUEST &&
	       (h->cmd == CA_PROTO_SEARCH || h->cmd == CA_PROTO_CREATE_CHAN);
}

/* Send a message that waited in the flow state for the rest of its name. */
static __noinline int emit_pending(struct tcp_dir_state *st, const struct l4 *l,
				   __u8 egress, __u32 ifindex)
{
	struct rec_scratch *e;
	struct ca_raw_hdr raw;
	struct ca_counters *c;
	struct hdr h = {};
	__u32 zero = 0;
	__u64 n;

	if (!st || !l || !st->name_pending)
		return 0;
	st->name_pending = 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	__builtin_memcpy(&raw, st->pend_hdr, sizeof(raw));
	decode_hdr(&raw, CA_EXT_HDR_LEN, &h);
	__builtin_memcpy(e->d, st->name, REC_NAME_MAX);
	n = st->name_have;
	if (n > REC_NAME_MAX)
		n = REC_NAME_MAX;
	e->r.version = CATRACE_REC_VERSION;
	e->r.kind = REC_KIND_MSG;
	e->r.dir = REC_DIR_REQUEST;
	e->r.proto = l->proto;
	e->r.flags = st->pend_flags | (egress ? REC_F_EGRESS : 0) |
		     (n < st->name_want ? REC_F_DATA_PARTIAL : 0);
	e->r.ts_ns = bpf_ktime_get_ns();
	e->r.ifindex = ifindex;
	e->r.saddr = l->saddr;
	e->r.daddr = l->daddr;
	e->r.sport = l->sport;
	e->r.dport = l->dport;
	e->r.cmd = h.cmd;
	e->r.dtype = h.dtype;
	e->r.size = h.size;
	e->r.count = h.count;
	e->r.p1 = h.p1;
	e->r.p2 = h.p2;
	e->r.seq = st->pend_seq;
	e->r.hdr_len = h.len;
	e->r.pad0[0] = e->r.pad0[1] = e->r.pad0[2] = 0;
	e->r.pad1 = 0;
	e->r.data_len = n;
	e->r.rec_len = sizeof(e->r) + n;
	if (bpf_ringbuf_output(&events, e, sizeof(e->r) + n,
			       wake_before_output(sizeof(e->r) + n))) {
		c = cnt();
		if (c)
			c->ringbuf_drops++;
	}
	return 0;
}

struct emit_args {
	const struct pkt *p;
	const struct l4 *l;
	const struct hdr *h;
	__u8 dir;
	__u8 flags;
	__u32 seq;
	__u32 data_off;    /* where the payload starts in the packet */
	__u32 data_avail;  /* payload bytes of this message in the packet */
};

static __always_inline void count_msg(const struct hdr *h, __u8 dir)
{
	struct ca_counters *c = cnt();
	__u32 i = h->cmd < CNT_CMDS ? h->cmd : CNT_CMDS - 1;

	if (!c)
		return;
	i &= CNT_CMDS - 1;
	dir &= 1;
	c->msgs[i][dir]++;
	c->bytes[i][dir] += h->len + (__u64)h->size;
}

#define FILL_RECORD(r, a, dlen)                                         \
	do {                                                            \
		(r)->version = CATRACE_REC_VERSION;                     \
		(r)->kind = REC_KIND_MSG;                               \
		(r)->dir = (a)->dir;                                    \
		(r)->proto = (a)->l->proto;                             \
		(r)->flags = (a)->flags | ((a)->p->egress ? REC_F_EGRESS : 0); \
		(r)->ts_ns = bpf_ktime_get_ns();                        \
		(r)->ifindex = (a)->p->ifindex;                         \
		(r)->saddr = (a)->l->saddr;                             \
		(r)->daddr = (a)->l->daddr;                             \
		(r)->sport = (a)->l->sport;                             \
		(r)->dport = (a)->l->dport;                             \
		(r)->cmd = (a)->h->cmd;                                 \
		(r)->dtype = (a)->h->dtype;                             \
		(r)->size = (a)->h->size;                               \
		(r)->count = (a)->h->count;                             \
		(r)->p1 = (a)->h->p1;                                   \
		(r)->p2 = (a)->h->p2;                                   \
		(r)->seq = (a)->seq;                                    \
		(r)->hdr_len = (a)->h->len;                             \
		(r)->pad0[0] = (r)->pad0[1] = (r)->pad0[2] = 0;         \
		(r)->pad1 = 0;                                          \
		(r)->data_len = (dlen);                                 \
	} while (0)

/* One size class of record: reserve CAP data bytes, copy `take` (1..CAP)
 * of them.  The mask form keeps the length provably within 1..CAP for the
 * verifier without changing its value. */
#define EMIT_CLASS(CAP)                                                      \
	do {                                                                 \
		struct rec_##CAP {                                           \
			struct ca_record r;                                  \
			__u8 d[CAP];                                         \
		} *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);          \
		__u32 n = ((take - 1) & (CAP - 1)) + 1;                      \
		if (!e)                                                      \
			goto drop;                                           \
		if (load(a->p, a->data_off, e->d, n))                        \
			n = 0;                                               \
		FILL_RECORD(&e->r, a, n);                                    \
		e->r.rec_len = sizeof(e->r) + n;                             \
		bpf_ringbuf_submit(e, wake_after_reserve(sizeof(*e)));                                    \
	} while (0)

/* A TCP circuit direction ended: user space frees what it tracks for it. */
static __noinline int emit_close(const struct l4 *l, __u8 dir, __u8 egress,
				 __u32 ifindex)
{
	struct ca_record *r;
	struct ca_counters *c;

	if (!l)
		return 0;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		c = cnt();
		if (c)
			c->ringbuf_drops++;
		return 0;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->version = CATRACE_REC_VERSION;
	r->rec_len = sizeof(*r);
	r->kind = REC_KIND_CLOSE;
	r->dir = dir;
	r->proto = l->proto;
	r->flags = (egress ? REC_F_EGRESS : 0) |
		   ((l->tcp_flags & TCP_RST) ? REC_F_RST : REC_F_FIN);
	r->ts_ns = bpf_ktime_get_ns();
	r->ifindex = ifindex;
	r->saddr = l->saddr;
	r->daddr = l->daddr;
	r->sport = l->sport;
	r->dport = l->dport;
	r->seq = l->seq;
	bpf_ringbuf_submit(r, wake_after_reserve(sizeof(*r)));
	return 0;
}

/* What the traffic teaches: servers announce their TCP ports in search
 * replies (before the client's SYN) and beacons. */
static __always_inline void learn_from(const struct l4 *l, const struct hdr *h,
				       __u8 dir)
{
	if (l->proto != IPPROTO_UDP_)
		return;
	if (h->cmd == CA_PROTO_SEARCH && dir == REC_DIR_RESPONSE)
		learn(&servers, (h->p1 == 0xFFFFFFFF || h->p1 == 0) ? l->saddr : h->p1,
		      h->dtype);
	else if (h->cmd == CA_PROTO_RSRV_IS_UP)
		learn(&servers, h->p2 ? h->p2 : l->saddr, (__u16)h->count);
}

/* ---- walking the messages of one packet ---- */

struct walk {
	const struct pkt *p;
	const struct l4 *l;
	struct tcp_dir_state *st;   /* TCP only */
	__u32 off;                  /* next header */
	__u32 end;                  /* end of the payload in the packet */
	__u32 seq;                  /* TCP seq at off */
	__u8 dir;
	__u8 flags;                 /* for the next record (RESYNC) */
	__u8 done;                  /* the walk ended by itself (not the limit) */
};

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
	return TC_ACT_UNSPEC_;
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
