/* loader: see loader.h. */
#include "loader.h"

#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "catrace.skel.h"
#include "kstats.h"
#include "sockowner.skel.h"

/* tcx attach points (Linux 6.6); libbpf 1.1's headers predate them. */
#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46
#define BPF_TCX_EGRESS 47
#endif

struct iface_links {
	int ifindex;
	const char *name;
	int xdp_fd;           /* link fds (-1: none); closing one detaches */
	int tc_egress_fd;
	int tc_ingress_fd;
	bool tc_netlink;      /* fell back to netlink tc (no tcx) */
	bool xdp_generic;     /* XDP in generic (skb) mode */
};

struct loader {
	struct catrace_bpf *skel;
	struct sockowner_bpf *owners;  /* NULL: not attached */
	struct loader_opts o;
	struct iface_links ifs[LOADER_MAX_IFACES];
	unsigned n;
};

static bool verbose_libbpf;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose_libbpf)
		return 0;
	if (level == LIBBPF_INFO && !verbose_libbpf)
		return 0;
	if (!verbose_libbpf)
		return 0;  /* warnings become our own one-line errors */
	return vfprintf(stderr, fmt, ap);
}

const char *loader_missing_caps(void)
{
	static char buf[64];
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	static const struct { int cap; const char *name; } need[] = {
		{ 39, "CAP_BPF" }, { 12, "CAP_NET_ADMIN" }, { 38, "CAP_PERFMON" },
	};
	size_t i;

	buf[0] = '\0';
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		return "";
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		int c = need[i].cap;

		if (!(d[c / 32].effective & (1u << (c % 32)))) {
			if (buf[0])
				strcat(buf, ", ");
			strcat(buf, need[i].name);
		}
	}
	return buf;
}

/* The ports that make a packet CA, in the programs' port array. */
static int mark_port(int fd, uint16_t port, uint8_t bit)
{
	uint32_t k = port;
	uint8_t v[4];   /* struct port_info: cfg, learned, rep_client, pad */

	if (!port)
		return 0;
	if (bpf_map_lookup_elem(fd, &k, v))
		return -1;
	v[0] |= bit;
	return bpf_map_update_elem(fd, &k, v, BPF_ANY);
}

static int set_ports(struct loader *l, const struct loader_opts *o)
{
	int fd = bpf_map__fd(l->skel->maps.port_flags);
	unsigned i;

	if (mark_port(fd, o->server_port, LOADER_PORT_SERVER) ||
	    mark_port(fd, o->repeater_port, LOADER_PORT_REPEATER))
		return -1;
	for (i = 0; i < o->n_user_ports && i < CATRACE_MAX_USER_PORTS; i++)
		if (mark_port(fd, o->user_ports[i], LOADER_PORT_SERVER))
			return -1;
	return 0;
}

struct loader *loader_load(const struct loader_opts *o, char *err, size_t errlen)
{
	struct loader *l = calloc(1, sizeof(*l));
	unsigned i;
	int r;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->o = *o;
	verbose_libbpf = o->verbose;
	libbpf_set_print(print_libbpf);

	l->skel = catrace_bpf__open();
	if (!l->skel) {
		snprintf(err, errlen, "opening the BPF object: %s", strerror(errno));
		goto fail;
	}
	l->skel->rodata->cfg_value_bytes = o->value_bytes;
	l->skel->rodata->cfg_snaplen = o->snaplen;
	if (o->snaplen &&
	    bpf_map__set_max_entries(l->skel->maps.pkt_scratch,
				     2 * (uint32_t)libbpf_num_possible_cpus())) {
		snprintf(err, errlen, "sizing the packet scratch map: %s", strerror(errno));
		goto fail;
	}
	/* A segment record is built in a slot per CPU and direction. */
	if (bpf_map__set_max_entries(l->skel->maps.seg_scratch,
				     2 * (uint32_t)libbpf_num_possible_cpus())) {
		snprintf(err, errlen, "sizing the segment scratch map: %s", strerror(errno));
		goto fail;
	}
	if (o->ringbuf_bytes &&
	    bpf_map__set_max_entries(l->skel->maps.events, o->ringbuf_bytes)) {
		snprintf(err, errlen, "ring buffer size %u: not accepted", o->ringbuf_bytes);
		goto fail;
	}
	r = catrace_bpf__load(l->skel);
	if (r) {
		const char *caps = loader_missing_caps();

		if ((r == -EPERM || errno == EPERM) && caps[0])
			snprintf(err, errlen, "loading the BPF programs: permission denied: "
				 "missing %s (run as root)", caps);
		else
			snprintf(err, errlen, "loading the BPF programs failed: %s%s",
				 strerror(-r), o->verbose ? "" : " (-v shows the verifier log)");
		goto fail;
	}
	for (i = 0; i < LOADER_MAX_IFACES; i++)
		l->ifs[i].xdp_fd = l->ifs[i].tc_egress_fd = l->ifs[i].tc_ingress_fd = -1;
	if (set_ports(l, o)) {
		snprintf(err, errlen, "setting the CA ports: %s", strerror(errno));
		loader_close(l);
		return NULL;
	}
	return l;
fail:
	catrace_bpf__destroy(l->skel);
	free(l);
	return NULL;
}

/* Another program holds the interface's XDP hook (another catrace, the
 * metrics service...): the kernel says EBUSY, older ones EEXIST. */
#define XDP_TAKEN 1

static bool xdp_taken(int e)
{
	return e == EBUSY || e == EEXIST;
}

/* 0, -1 with err set, or XDP_TAKEN (auto mode only: tc can stand in). */
static int attach_xdp(struct loader *l, struct iface_links *f, char *err, size_t errlen)
{
	int prog = bpf_program__fd(l->skel->progs.catrace_xdp);
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	int fd;

	if (l->o.xdp_mode != XDP_MODE_GENERIC) {
		opts.flags = XDP_FLAGS_DRV_MODE;
		fd = bpf_link_create(prog, f->ifindex, BPF_XDP, &opts);
		if (fd >= 0) {
			f->xdp_fd = fd;
			return 0;
		}
		if (xdp_taken(errno) && l->o.xdp_mode == XDP_MODE_AUTO)
			return XDP_TAKEN;
		if (l->o.xdp_mode == XDP_MODE_NATIVE) {
			snprintf(err, errlen, "%s: native XDP: %s", f->name, strerror(errno));
			return -1;
		}
		fprintf(stderr, "catrace: %s: native XDP unavailable (%s), using generic XDP\n",
			f->name, strerror(errno));
	}
	opts.flags = XDP_FLAGS_SKB_MODE;
	fd = bpf_link_create(prog, f->ifindex, BPF_XDP, &opts);
	if (fd < 0) {
		if (xdp_taken(errno) && l->o.xdp_mode == XDP_MODE_AUTO)
			return XDP_TAKEN;
		snprintf(err, errlen, "%s: attaching XDP: %s", f->name, strerror(errno));
		return -1;
	}
	f->xdp_fd = fd;
	f->xdp_generic = true;
	return 0;
}

/* Before tcx (Linux 6.6) tc programs hang off a clsact qdisc through
 * netlink, and outlive the process: catrace uses this handle/priority so
 * that the next start can find and remove a stale one. */
#define CATRACE_TC_HANDLE 0xca7
#define CATRACE_TC_PRIO   0xca7

static int tc_netlink(struct iface_links *f, int prog_fd, bool egress, bool attach)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f->ifindex,
		    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CATRACE_TC_HANDLE,
		    .priority = CATRACE_TC_PRIO);
	int r;

	r = bpf_tc_hook_create(&hook);
	if (r && r != -EEXIST)
		return r;
	/* A filter left by a catrace that died: remove it first. */
	bpf_tc_detach(&hook, &opts);
	if (!attach)
		return 0;
	opts.prog_fd = prog_fd;
	opts.flags = BPF_TC_F_REPLACE;
	return bpf_tc_attach(&hook, &opts);
}

static int attach_tc(struct loader *l, struct iface_links *f, bool egress,
		     char *err, size_t errlen)
{
	struct bpf_program *p = egress ? l->skel->progs.catrace_tc_egress
				       : l->skel->progs.catrace_tc_ingress;
	int prog = bpf_program__fd(p);
	int fd, r;

	fd = bpf_link_create(prog, f->ifindex, egress ? BPF_TCX_EGRESS : BPF_TCX_INGRESS,
			     NULL);
	if (fd >= 0) {
		if (egress)
			f->tc_egress_fd = fd;
		else
			f->tc_ingress_fd = fd;
		return 0;
	}
	/* No tcx: netlink tc, removed at exit (and at the next start). */
	r = tc_netlink(f, prog, egress, true);
	if (r) {
		snprintf(err, errlen, "%s: attaching tc %s: %s", f->name,
			 egress ? "egress" : "ingress", strerror(-r));
		return -1;
	}
	f->tc_netlink = true;
	return 0;
}

static bool is_loopback(const char *name)
{
	struct ifreq ifr;
	bool lo = false;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
		lo = ifr.ifr_flags & IFF_LOOPBACK;
	close(fd);
	return lo;
}

int loader_attach(struct loader *l, char *err, size_t errlen)
{
	unsigned i;
	int r;

	for (i = 0; i < l->o.n_ifaces; i++) {
		struct iface_links *f = &l->ifs[l->n];

		f->name = l->o.ifaces[i];
		f->ifindex = (int)if_nametoindex(f->name);
		if (!f->ifindex) {
			snprintf(err, errlen, "%s: no such interface", f->name);
			return -1;
		}
		l->n++;
		r = l->o.no_xdp ? XDP_TAKEN : attach_xdp(l, f, err, errlen);
		if (r < 0)
			return -1;
		if (r == XDP_TAKEN && !l->o.no_xdp)
			/* tcx takes any number of programs: each tracer sees
			 * every packet and detaches only its own. */
			fprintf(stderr, "catrace: %s: XDP is taken by another program, "
				"tracing ingress with tc\n", f->name);
		if (r == XDP_TAKEN && attach_tc(l, f, false, err, errlen))
			return -1;
		/* On a loopback device every packet leaves and comes back in:
		 * the ingress hook alone sees each one once. */
		if (!is_loopback(f->name) && attach_tc(l, f, true, err, errlen))
			return -1;
	}
	return 0;
}

const char *loader_describe(const struct loader *l, char *buf, size_t n)
{
	size_t used = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < l->n; i++) {
		const struct iface_links *f = &l->ifs[i];
		const char *hooks[3];
		unsigned k = 0, j;

		if (f->xdp_fd >= 0)
			hooks[k++] = f->xdp_generic ? "XDP generic" : "XDP native";
		if (f->tc_ingress_fd >= 0 || (f->tc_netlink && l->o.no_xdp))
			hooks[k++] = "tc ingress";
		if (f->tc_egress_fd >= 0 || f->tc_netlink)
			hooks[k++] = "tc egress";
		used += (size_t)snprintf(buf + used, used < n ? n - used : 0, "%s%s (",
					 i ? ", " : "", f->name);
		for (j = 0; j < k; j++)
			used += (size_t)snprintf(buf + used, used < n ? n - used : 0, "%s%s",
						 j ? ", " : "", hooks[j]);
		used += (size_t)snprintf(buf + used, used < n ? n - used : 0, ")");
	}
	return buf;
}

int loader_ringbuf_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.events);
}

int loader_counters(const struct loader *l, struct ca_counters *sum)
{
	return kstats_counters(bpf_map__fd(l->skel->maps.counters), sum);
}

long long loader_flows_evicted(const struct loader *l, const struct ca_counters *c)
{
	long held = kstats_count_entries(bpf_map__fd(l->skel->maps.flows));
	long long n;

	if (held < 0)
		return -1;
	/* Read one after the other while traffic goes on: a flow taken in
	 * between can make this a little off, never below 0. */
	n = (long long)c->flows_created - (long long)c->flows_ended - held;
	return n > 0 ? n : 0;
}

int loader_map_fd(const struct loader *l, const char *name)
{
	return bpf_object__find_map_fd_by_name(l->skel->obj, name);
}

/* Open, share the packet programs' port maps (one notion of which ports
 * are CA, learned servers and client ports included), load, attach: each
 * link is kept in the skeleton, so destroying it detaches them all. */
static struct sockowner_bpf *sock_owners_start(struct loader *l, char *err, size_t errlen)
{
	struct sockowner_bpf *so = sockowner_bpf__open();
	int r;

	if (!so) {
		snprintf(err, errlen, "opening: %s", strerror(errno));
		return NULL;
	}
	r = bpf_map__reuse_fd(so->maps.port_flags, bpf_map__fd(l->skel->maps.port_flags));
	if (!r)
		r = bpf_map__reuse_fd(so->maps.udp_clients, bpf_map__fd(l->skel->maps.udp_clients));
	if (r) {
		snprintf(err, errlen, "sharing the CA port maps: %s", strerror(-r));
		goto fail;
	}
	r = sockowner_bpf__load(so);
	if (r) {
		snprintf(err, errlen, "loading: %s%s", strerror(-r),
			 l->o.verbose ? "" : " (-v shows why)");
		goto fail;
	}
	r = sockowner_bpf__attach(so);
	if (r) {
		snprintf(err, errlen, "attaching: %s", strerror(-r));
		goto fail;
	}
	return so;
fail:
	sockowner_bpf__destroy(so);
	return NULL;
}

int loader_attach_sock_owners(struct loader *l, char *err, size_t errlen)
{
	char why[256];

	if (l->owners)
		return 0;
	l->owners = sock_owners_start(l, why, sizeof(why));
	if (!l->owners) {
		snprintf(err, errlen, "process names from the kernel: %s", why);
		return -1;
	}
	return 0;
}

bool loader_sock_owner(void *ctx, const struct sock_owner_key *k, struct sock_owner *o)
{
	const struct loader *l = ctx;

	return l->owners &&
	       bpf_map_lookup_elem(bpf_map__fd(l->owners->maps.sock_owners), k, o) == 0;
}

bool loader_detach_needs_privileges(const struct loader *l)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		if (l->ifs[i].tc_netlink)
			return true;
	return false;
}

void loader_close(struct loader *l)
{
	unsigned i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		struct iface_links *f = &l->ifs[i];

		if (f->xdp_fd >= 0)
			close(f->xdp_fd);
		if (f->tc_egress_fd >= 0)
			close(f->tc_egress_fd);
		if (f->tc_ingress_fd >= 0)
			close(f->tc_ingress_fd);
		if (f->tc_netlink) {
			tc_netlink(f, -1, true, false);
			tc_netlink(f, -1, false, false);
		}
	}
	sockowner_bpf__destroy(l->owners);
	catrace_bpf__destroy(l->skel);
	free(l);
}
