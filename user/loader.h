/* loader: the only place that opens, loads, attaches and detaches the BPF
 * programs.  XDP on ingress (native, else generic), tc on egress through
 * tcx links; with --no-xdp, tc on ingress too.  Links are owned by this
 * process, so the kernel detaches them whenever it exits, SIGKILL too. */
#ifndef CATRACE_LOADER_H
#define CATRACE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catrace_record.h"
#include "sock_owner.h"

#define LOADER_MAX_IFACES 16

enum xdp_mode { XDP_MODE_AUTO, XDP_MODE_NATIVE, XDP_MODE_GENERIC };

struct loader_opts {
	const char *ifaces[LOADER_MAX_IFACES];
	unsigned n_ifaces;
	bool no_xdp;
	enum xdp_mode xdp_mode;
	uint16_t server_port, repeater_port;
	uint16_t user_ports[CATRACE_MAX_USER_PORTS];
	unsigned n_user_ports;
	uint32_t value_bytes;      /* 0: headers (and names) only */
	uint32_t ringbuf_bytes;    /* power of two */
	uint32_t snaplen;          /* -w: packet bytes the kernel sends (0: none) */
	bool verbose;              /* libbpf's messages, verifier log */
};

struct loader;

/* Bits of the programs' port array (bpf/catrace.bpf.c PORT_*). */
#define LOADER_PORT_SERVER   0x01
#define LOADER_PORT_REPEATER 0x02

/* Open, configure and load.  On failure: NULL and a one-line reason. */
struct loader *loader_load(const struct loader_opts *o, char *err, size_t errlen);
/* Attach to every interface; notices (XDP fallback) go to stderr. */
int loader_attach(struct loader *l, char *err, size_t errlen);
int loader_ringbuf_fd(const struct loader *l);
/* What is attached where: "eth0 (XDP native, tc egress), lo (XDP generic)". */
const char *loader_describe(const struct loader *l, char *buf, size_t n);
/* Sum the per-CPU counters. */
int loader_counters(const struct loader *l, struct ca_counters *sum);
/* A map of the loaded object by name ("counters", "servers"...), or a
 * negative errno. */
/* TCP stream states the kernel's LRU table pushed out to make room
 * (counted from what it took in, let go and holds); -1 if unknown. */
long long loader_flows_evicted(const struct loader *l, const struct ca_counters *c);
int loader_map_fd(const struct loader *l, const char *name);
/* Process attribution's programs (bpf/sockowner.bpf.c): they record the
 * owner of each CA socket as its process uses it.  Load and attach them
 * (before privileges are dropped); 0, or -1 and a one-line reason: then
 * nothing of them stays and attribution uses /proc alone. */
int loader_attach_sock_owners(struct loader *l, char *err, size_t errlen);
/* The owner recorded for a local socket: true and *o filled, or false
 * (not recorded, or the programs are not attached).  `l` is a struct
 * loader, as procattr's kernel_owner hook wants it. */
bool loader_sock_owner(void *l, const struct sock_owner_key *k, struct sock_owner *o);
/* Detach everything and free. */
void loader_close(struct loader *l);
/* Whether detaching will need privileges: true when tc programs hang off
 * netlink filters (kernels without tcx), which only CAP_NET_ADMIN can
 * remove; links of any kind go away when their fds close. */
bool loader_detach_needs_privileges(const struct loader *l);

/* Which of CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON this process lacks, as a
 * comma-separated list ("" when it has them all). */
const char *loader_missing_caps(void);

#endif
