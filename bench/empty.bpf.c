// SPDX-License-Identifier: GPL-2.0
/* The baseline for the kernel benchmark: programs that do nothing, of the
 * same types and section flavours as catrace's (XDP with frags, tc), so
 * that BPF_PROG_TEST_RUN's own per-run overhead is measured the same way
 * and a ratio against them is the cost catrace adds. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp.frags")
int empty_xdp(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

SEC("tc")
int empty_tc(struct __sk_buff *skb)
{
	(void)skb;
	return -1;  /* TC_ACT_UNSPEC, like catrace */
}

char LICENSE[] SEC("license") = "GPL";
