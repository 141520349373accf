// SPDX-License-Identifier: GPL-2.0
/* catrace sockowner: which process owns a local CA socket, recorded at the
 * moment the process uses it, for process attribution (user/procattr.c).
 *
 * Why in the kernel: /proc shows a socket's owner only while the socket
 * is open, and a caget is over in a few milliseconds, before any look
 * through /proc (rate-limited, issue 15).  Here the owner is written down
 * in its own context:
 *  - a TCP client when it connects: TCP_SYN_SENT is set inside connect(),
 *    but the local port is chosen just after, so the owner waits, by
 *    socket, until the circuit is established (in softirq, no process),
 *    and is filed under the circuit's four-tuple then;
 *  - a UDP client when it sends from a port the packet programs learned
 *    as a CA client's (a search, seen by tc egress during that very send)
 *    or a repeater client's (a registration).
 * Servers are not recorded: their circuits are established in softirq,
 * and a server is long-lived, which /proc handles well.
 *
 * Raw tracepoints (inet_sock_set_state, sock_send_length): they need no
 * tracefs, no kprobes and no BPF trampolines (the test VM's kernel has
 * neither kprobes nor fentry), and take any number of programs, so any
 * number of catraces run side by side, each with its own map.  The
 * socket fields are read with CO-RE, so the object needs the running
 * kernel's BTF; a separate object from the packet programs, so that when
 * it cannot load or attach catrace goes on with /proc alone.
 *
 * sock_send_length fires for every send of every socket: the program
 * leaves at once unless the socket is UDP and its port is a CA client's
 * (one read of the socket, one array look-up).  Owners are kept in an
 * LRU hash, bounded, keyed with the socket's network namespace: these
 * tracepoints see every namespace, and namespaces reuse addresses.
 * Observing only: nothing here changes anything.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "catrace_record.h"
#include "ca_ports.bpf.h"
#include "sock_owner.h"

/* TCP states (include/net/tcp_states.h, kernel-internal but fixed). */
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT    2

/* The kernel fields read, by name: CO-RE finds them in the running
 * kernel's layout (libbpf looks through its anonymous unions). */
struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common ns;
} __attribute__((preserve_access_index));

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	struct {
		struct net *net;
	} skc_net;   /* possible_net_t */
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
} __attribute__((preserve_access_index));

struct task_struct {
	struct task_struct *group_leader;
	char comm[16];
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SOCK_OWNER_MAX);
	__type(key, struct sock_owner_key);
	__type(value, struct sock_owner);
} sock_owners SEC(".maps");

/* Connecting TCP sockets (by address) and who connects them, until
 * established.  LRU: a connect that never ends costs a slot for a while,
 * never the map. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct sock_owner);
} connecting SEC(".maps");

/* The current process: its tgid, and its main thread's name (libca's
 * threads rename themselves, "CAC-UDP"...; /proc/PID/comm is the main
 * thread's, and a name must not depend on which thread was looked at). */
static __always_inline bool current_owner(struct sock_owner *o)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	o->tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	return BPF_CORE_READ_INTO(&o->comm, t, group_leader, comm) == 0;
}

static __always_inline __u32 sock_netns(const struct sock *sk)
{
	struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);

	return BPF_CORE_READ(net, ns.inum);
}

static __always_inline void tcp_key(struct sock_owner_key *k, const struct sock *sk)
{
	k->netns = sock_netns(sk);
	k->local_ip = bpf_ntohl(BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
	k->remote_ip = bpf_ntohl(BPF_CORE_READ(sk, __sk_common.skc_daddr));
	k->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	k->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	k->proto = IPPROTO_TCP;
}

/* connect() to a CA server: remember who, by socket. */
static __always_inline void tcp_connecting(const struct sock *sk)
{
	__u16 dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	__u64 key = (__u64)sk;
	struct sock_owner o = {};

	if (!(port_bits(dport) & (PORT_SERVER | PORT_LEARNED)) || !current_owner(&o))
		return;
	bpf_map_update_elem(&connecting, &key, &o, BPF_ANY);
}

/* Out of SYN_SENT: established (file the owner under the four-tuple) or
 * failed (forget it). */
static __always_inline void tcp_connect_done(const struct sock *sk, int newstate)
{
	__u64 key = (__u64)sk;
	struct sock_owner_key k = {};
	struct sock_owner *p = bpf_map_lookup_elem(&connecting, &key), o;

	if (!p)
		return;
	o = *p;
	bpf_map_delete_elem(&connecting, &key);
	if (newstate != TCP_ESTABLISHED)
		return;
	tcp_key(&k, sk);
	bpf_map_update_elem(&sock_owners, &k, &o, BPF_ANY);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(catrace_owner_tcp, const struct sock *sk, int oldstate, int newstate)
{
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_SYN_SENT)
		tcp_connecting(sk);
	else if (oldstate == TCP_SYN_SENT)
		tcp_connect_done(sk, newstate);
	return 0;
}

/* A datagram sent from a CA client's port (an empty one registers with
 * the repeater, so `len` 0 counts): the socket is the local end of the
 * exchange, whatever its peer. */
SEC("raw_tp/sock_send_length")
int BPF_PROG(catrace_owner_udp, const struct sock *sk, int len)
{
	struct sock_owner_key k = {};
	struct sock_owner o = {};

	if (len < 0 || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	k.local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (!(port_bits(k.local_port) & PORT_REP_CLIENT)) {
		struct ep_key ck = { .ip = 0, .port = k.local_port };

		if (!bpf_map_lookup_elem(&udp_clients, &ck))
			return 0;
	}
	k.local_ip = bpf_ntohl(BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
	k.netns = sock_netns(sk);
	k.proto = IPPROTO_UDP;
	if (current_owner(&o))
		bpf_map_update_elem(&sock_owners, &k, &o, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
