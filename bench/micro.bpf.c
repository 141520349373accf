// SPDX-License-Identifier: GPL-2.0
/* Micro programs for the kernel benchmark: each does one kind of
 * operation that catrace's programs do, OPS times over, so that
 * (its run time - the empty program's) / OPS is what one such operation
 * costs on this machine.  They explain where catrace's nanoseconds go:
 * helper calls to read packet bytes, map look-ups, the clock, the ring
 * buffer, bpf_loop.  All are XDP (with frags, as catrace's) and run on the
 * non-CA UDP packet of kbench. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define OPS 16

struct ep_key {
	__u32 ip;
	__u16 port;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} m_pcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} m_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ep_key);
	__type(value, __u8);
} m_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ep_key);
	__type(value, __u8);
} m_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} m_ring SEC(".maps");

/* Keeps results alive so the compiler cannot drop the operations. */
__u64 sink;

/* bpf_xdp_load_bytes of an IPv4 header (20 bytes at offset 14). */
SEC("xdp.frags")
int micro_load_bytes(struct xdp_md *ctx)
{
	__u8 b[20];
	int i;

#pragma unroll
	for (i = 0; i < OPS; i++) {
		if (bpf_xdp_load_bytes(ctx, 14, b, sizeof(b)))
			return XDP_PASS;
		sink += b[i & 15];
	}
	return XDP_PASS;
}

/* The same bytes through direct packet access (bounds check + loads). */
SEC("xdp.frags")
int micro_direct(struct xdp_md *ctx)
{
	int i;

#pragma unroll
	for (i = 0; i < OPS; i++) {
		void *data = (void *)(long)ctx->data;
		void *end = (void *)(long)ctx->data_end;
		volatile __u32 *ip = data + 14;

		if ((void *)(ip + 5) > end)
			return XDP_PASS;
		sink += ip[0] + ip[3] + ip[4];
	}
	return XDP_PASS;
}

/* A per-CPU counter look-up and increment (catrace's cnt()). */
SEC("xdp.frags")
int micro_pcpu_lookup(struct xdp_md *ctx)
{
	__u32 zero = 0;
	int i;

	(void)ctx;
#pragma unroll
	for (i = 0; i < OPS; i++) {
		__u64 *v = bpf_map_lookup_elem(&m_pcpu, &zero);

		if (v)
			(*v)++;
	}
	return XDP_PASS;
}

/* An array look-up by port (catrace's server_ports). */
SEC("xdp.frags")
int micro_array_lookup(struct xdp_md *ctx)
{
	int i;

	(void)ctx;
#pragma unroll
	for (i = 0; i < OPS; i++) {
		__u32 k = 5064 + i;
		__u8 *v = bpf_map_lookup_elem(&m_array, &k);

		if (v)
			sink += *v;
	}
	return XDP_PASS;
}

/* A hash look-up that misses (an 8-byte endpoint key). */
SEC("xdp.frags")
int micro_hash_lookup(struct xdp_md *ctx)
{
	int i;

	(void)ctx;
#pragma unroll
	for (i = 0; i < OPS; i++) {
		struct ep_key k = { .ip = 0x0a000001 + i, .port = 5064 };

		if (bpf_map_lookup_elem(&m_hash, &k))
			sink++;
	}
	return XDP_PASS;
}

/* The same on an LRU hash (catrace's servers, rep_clients, flows). */
SEC("xdp.frags")
int micro_lru_lookup(struct xdp_md *ctx)
{
	int i;

	(void)ctx;
#pragma unroll
	for (i = 0; i < OPS; i++) {
		struct ep_key k = { .ip = 0x0a000001 + i, .port = 5064 };

		if (bpf_map_lookup_elem(&m_lru, &k))
			sink++;
	}
	return XDP_PASS;
}

/* bpf_ktime_get_ns (one per record in catrace). */
SEC("xdp.frags")
int micro_ktime(struct xdp_md *ctx)
{
	int i;

	(void)ctx;
#pragma unroll
	for (i = 0; i < OPS; i++)
		sink += bpf_ktime_get_ns();
	return XDP_PASS;
}

/* bpf_ringbuf_query of the waiting bytes (the wake-up decision). */
SEC("xdp.frags")
int micro_ringbuf_query(struct xdp_md *ctx)
{
	int i;

	(void)ctx;
#pragma unroll
	for (i = 0; i < OPS; i++)
		sink += bpf_ringbuf_query(&m_ring, BPF_RB_AVAIL_DATA);
	return XDP_PASS;
}

/* bpf_ringbuf_reserve + a few stores + submit without wake-up: one
 * message record (64 + 24 bytes, as a TIME_DOUBLE update). */
SEC("xdp.frags")
int micro_ringbuf_record(struct xdp_md *ctx)
{
	int i;

	(void)ctx;
#pragma unroll
	for (i = 0; i < OPS; i++) {
		__u64 *r = bpf_ringbuf_reserve(&m_ring, 88, 0);

		if (!r)
			return XDP_PASS;
		r[0] = i;
		r[1] = 2;
		r[10] = 3;
		bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	}
	return XDP_PASS;
}

/* A record built in map memory, then copied into the ring buffer by
 * bpf_ringbuf_output without wake-up, as catrace's per-packet records
 * (issue 12) are sent: 1504 bytes is the record of a full 1448-byte
 * segment of monitor updates (48-byte header, one 8-byte span header). */
struct scratch {
	__u8 d[2048];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} m_scratch SEC(".maps");

static __always_inline int ringbuf_output_n(__u32 n)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&m_scratch, &zero);
	int i;

	if (!s)
		return XDP_PASS;
#pragma unroll
	for (i = 0; i < OPS; i++)
		if (bpf_ringbuf_output(&m_ring, s->d, n, BPF_RB_NO_WAKEUP))
			return XDP_PASS;
	return XDP_PASS;
}

SEC("xdp.frags")
int micro_ringbuf_output88(struct xdp_md *ctx)
{
	(void)ctx;
	return ringbuf_output_n(88);
}

SEC("xdp.frags")
int micro_ringbuf_output1504(struct xdp_md *ctx)
{
	(void)ctx;
	return ringbuf_output_n(1504);
}

static long loop_step(__u32 idx, void *ctx)
{
	*(__u64 *)ctx += idx;
	return 0;
}

/* bpf_loop: the call, and OPS callback invocations (catrace walks the
 * messages of a packet with it). */
SEC("xdp.frags")
int micro_bpf_loop(struct xdp_md *ctx)
{
	__u64 acc = 0;

	(void)ctx;
	bpf_loop(OPS, loop_step, &acc, 0);
	sink += acc;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
