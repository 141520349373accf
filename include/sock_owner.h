/* The owner of a local CA socket, as bpf/sockowner.bpf.c records it at the
 * moment a process uses the socket (connect, accept, a datagram sent to a
 * CA port), for user space's process attribution (user/procattr.c) to
 * read before, or instead of, a look through /proc.  One definition for
 * both sides: fixed-width fields, explicit padding, sizes asserted.
 * Addresses and ports in host byte order, as user space's flow keys. */
#ifndef CATRACE_SOCK_OWNER_H
#define CATRACE_SOCK_OWNER_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* A TCP socket by its four-tuple; a UDP one by its local end only
 * (remote 0: it sends to any peer), its address 0 when bound to the
 * wildcard.  And its network namespace: the programs see every
 * namespace's sockets, and namespaces (containers, tests side by side)
 * reuse the same addresses. */
struct sock_owner_key {
	__u32 local_ip, remote_ip;
	__u32 netns;         /* the namespace's inode (/proc/self/ns/net) */
	__u16 local_port, remote_port;
	__u8 proto;          /* IPPROTO_TCP, IPPROTO_UDP */
	__u8 pad[3];
};

struct sock_owner {
	__u32 tgid;          /* the process (thread group) */
	char comm[16];       /* its main thread's name, as /proc/PID/comm */
};

#define SOCK_OWNER_MAX 16384  /* sockets remembered (LRU) */

_Static_assert(sizeof(struct sock_owner_key) == 20, "sock_owner_key layout");
_Static_assert(sizeof(struct sock_owner) == 20, "sock_owner layout");

#endif
